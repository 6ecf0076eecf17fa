/* test_simulate.c: the simulator. The click model's frequencies against
 * its formulas over many draws; the listeners come only from the held-out
 * splits, with their playlists' tracks; event ids are deterministic and
 * distinct; the HTTP client against a scripted server of this file
 * (keep-alive, a dropped idle connection, chunked answers, retries after
 * 503 and refused connections, timeouts, oversized answers) and against a
 * real `segue serve`; and, once the server has the event and experiment
 * routes, the whole machinery end to end: a replayed simulation stored
 * once, and a few A/A runs with the other parts of the study. */
#include "testutil.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "experiment/simulate.h"

/* ---- the click model ---- */

/* |got - want| within 5 binomial standard errors of n draws. */
static void assert_rate(size_t count, size_t n, double want, const char *what, size_t rank)
{
	double got = (double)count / (double)n, se = sqrt(want * (1 - want) / (double)n);
	if (fabs(got - want) > 5 * se + 1e-12)
		fail_msg("%s at rank %zu: %.5f over %zu draws, the formula says %.5f (5 s.e. = %.5f)", what, rank, got,
		         n, want, 5 * se);
}

static void click_frequencies(double boost)
{
	sim_behaviour b;
	sim_behaviour_default(&b);
	b.eta = 0.9;
	/* Parameters away from the defaults and from each other, so that a
	 * swapped pair (skip_liked for skip_other, like for skip) shows. */
	b.play_liked = 0.6;
	b.skip_liked = 0.12;
	b.play_other = 0.25;
	b.skip_other = 0.65;
	enum { N = 8, DRAWS = 100000 };
	uint8_t liked[N] = {1, 0, 1, 0, 0, 1, 1, 0}, act[N];
	size_t cnt[N][6] = {{0}}, skip_and_like[N] = {0}, skip_and_dislike[N] = {0};
	rng r;
	rng_seed(&r, 7);
	for (int d = 0; d < DRAWS; d++) {
		sim_click(&b, boost, liked, N, &r, act);
		for (int i = 0; i < N; i++) {
			for (int k = 0; k < 6; k++)
				cnt[i][k] += (act[i] >> k) & 1;
			skip_and_like[i] += (act[i] & (SIM_SKIP | SIM_LIKE)) == (SIM_SKIP | SIM_LIKE);
			skip_and_dislike[i] += (act[i] & (SIM_SKIP | SIM_DISLIKE)) == (SIM_SKIP | SIM_DISLIKE);
			/* Nothing without examination; every other event of a
			 * track (the skip first: a started track left early) only
			 * with a play of it in the same list. */
			if (!(act[i] & SIM_EXAMINED))
				assert_int_equal(act[i], 0);
			if (!(act[i] & SIM_PLAY))
				assert_int_equal(act[i] & (SIM_SKIP | SIM_LIKE | SIM_SAVE | SIM_DISLIKE), 0);
			if (act[i] & SIM_SKIP)
				assert_true(act[i] & SIM_PLAY);
			if (liked[i])
				assert_int_equal(act[i] & SIM_DISLIKE, 0);
			else
				assert_int_equal(act[i] & (SIM_LIKE | SIM_SAVE), 0);
		}
	}
	for (size_t i = 0; i < N; i++) {
		double e = pow(1.0 + (double)i, -0.9);
		assert_near(sim_examine_prob(&b, i), e, 1e-15);
		double p = liked[i] ? fmin(1.0, b.play_liked * boost) : b.play_other;
		double q = liked[i] ? b.skip_liked : b.skip_other;
		assert_rate(cnt[i][0], DRAWS, e, "examined", i);
		assert_rate(cnt[i][1], DRAWS, e * p, "played", i);
		assert_rate(cnt[i][2], DRAWS, e * p * q, "skipped", i);
		assert_rate(cnt[i][3], DRAWS, liked[i] ? e * p * b.like : 0, "liked", i);
		assert_rate(cnt[i][4], DRAWS, liked[i] ? e * p * b.save : 0, "saved", i);
		assert_rate(cnt[i][5], DRAWS, liked[i] ? 0 : e * p * b.dislike, "disliked", i);
		/* Given a play, skip and like (dislike) are drawn independently. */
		assert_rate(skip_and_like[i], DRAWS, liked[i] ? e * p * q * b.like : 0, "skipped and liked", i);
		assert_rate(skip_and_dislike[i], DRAWS, liked[i] ? 0 : e * p * q * b.dislike, "skipped and disliked",
		            i);
		/* The skip probability given a play, over the plays drawn (the
		 * quantity the dashboard's skips / plays estimates). */
		assert_rate(cnt[i][2], cnt[i][1], q, "skipped given played", i);
	}
}

static void test_click_model(void **state)
{
	(void)state;
	click_frequencies(1.0);
	click_frequencies(1.3); /* the injected effect: liked plays x 1.3 */
	click_frequencies(3.0); /* capped at probability 1 */
}

static void test_click_same_stream(void **state)
{
	(void)state;
	/* A boost changes plays of liked tracks only: the examination draws
	 * are the same, so an effect run differs from its control by the
	 * effect alone. */
	sim_behaviour b;
	sim_behaviour_default(&b);
	uint8_t liked[10] = {1, 1, 0, 1, 0, 0, 1, 0, 1, 1}, a1[10], a2[10];
	for (uint64_t s = 0; s < 200; s++) {
		rng r1, r2;
		rng_seed(&r1, s);
		rng_seed(&r2, s);
		sim_click(&b, 1.0, liked, 10, &r1, a1);
		sim_click(&b, 1.5, liked, 10, &r2, a2);
		for (int i = 0; i < 10; i++) {
			assert_int_equal(a1[i] & SIM_EXAMINED, a2[i] & SIM_EXAMINED);
			if (!liked[i])
				assert_int_equal(a1[i], a2[i]);
			else if (a1[i] & SIM_PLAY)
				assert_int_equal(a1[i],
				                 a2[i]); /* a boost never takes a play, or what follows it, away */
		}
	}
}

static void test_behaviour_check(void **state)
{
	(void)state;
	sim_behaviour b;
	sim_behaviour_default(&b);
	seg_error err = {0};
	assert_int_equal(sim_behaviour_check(&b, &err), 0);
	b.play_liked = 1.2;
	assert_int_equal(sim_behaviour_check(&b, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "play_liked"));
	sim_behaviour_default(&b);
	b.skip_other = -0.1;
	assert_int_equal(sim_behaviour_check(&b, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "skip_other"));
	sim_behaviour_default(&b);
	b.skip_liked = 1.5;
	assert_int_equal(sim_behaviour_check(&b, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "skip_liked"));
	sim_behaviour_default(&b);
	b.k = 0;
	assert_int_equal(sim_behaviour_check(&b, &err), SEG_EINVAL);
	sim_behaviour_default(&b);
	b.come_back = NAN;
	assert_int_equal(sim_behaviour_check(&b, &err), SEG_EINVAL);
}

/* ---- identities ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_event_ids(void **state)
{
	(void)state;
	char a[EV_ID_MAX + 1], b[EV_ID_MAX + 1];
	/* The longest one fits and is valid. */
	sim_event_id(a, UINT64_MAX, INT64_MAX, 99, 999, EV_DISLIKE);
	assert_true(strlen(a) <= EV_ID_MAX);
	assert_true(ev_id_valid(a));
	sim_user_id(a, UINT64_MAX, INT64_MAX);
	assert_true(ev_id_valid(a));
	assert_string_equal(a, "sim-18446744073709551615-9223372036854775807");
	/* Deterministic. */
	sim_event_id(a, 42, 1234, 1, 3, EV_LIKE);
	sim_event_id(b, 42, 1234, 1, 3, EV_LIKE);
	assert_string_equal(a, b);
	assert_string_equal(a, "sim-42-1234.1.3.l");
	/* Distinct over a grid in which naive concatenations would collide
	 * (seed 1 playlist 12 against seed 11 playlist 2, ...). */
	static const uint64_t seeds[] = {1, 11, 12, 112};
	static const int64_t pls[] = {2, 12, 21, 1};
	static const int types[] = {EV_PLAY, EV_SKIP, EV_LIKE, EV_DISLIKE, EV_SAVE};
	size_t n = 4 * 4 * 3 * 12 * 5, k = 0;
	char **ids = malloc(n * sizeof *ids);
	for (int s = 0; s < 4; s++)
		for (int p = 0; p < 4; p++)
			for (int se = 0; se < 3; se++)
				for (int pos = 0; pos < 12; pos++)
					for (int t = 0; t < 5; t++) {
						ids[k] = malloc(EV_ID_MAX + 1);
						sim_event_id(ids[k], seeds[s], pls[p], se, pos, types[t]);
						assert_true(ev_id_valid(ids[k]));
						k++;
					}
	qsort(ids, n, sizeof *ids, cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("two events share the id %s", ids[i]);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* ---- a scripted HTTP server ---- */

/* What the scripted server does with its i-th request (counted over all
 * connections from 0). */
enum script { S_OK, S_503, S_CHUNKED, S_OK_THEN_CLOSE, S_SILENT, S_HUGE, S_CLOSE_HEADER };

static struct {
	int fd, port;
	pthread_t thread;
	atomic_int requests, connections;
	enum script script[32];
	int nscript;
	char last_body[256];
	char last_auth[128];
} ts;

/* Reads one request (head and Content-Length body) from fd; -1 at EOF. */
static int ts_read_request(int fd, char *body, size_t cap, char *auth, size_t acap)
{
	char buf[8192];
	size_t len = 0;
	char *end;
	for (;;) {
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
	size_t clen = 0;
	const char *cl = strcasestr(buf, "Content-Length:");
	if (cl != NULL && cl < end)
		clen = (size_t)atol(cl + 15);
	auth[0] = '\0';
	const char *au = strcasestr(buf, "Authorization: ");
	if (au != NULL && au < end)
		sscanf(au + 15, "%127[^\r]", auth);
	(void)acap;
	size_t have = len - (size_t)(end + 4 - buf);
	char *b = malloc(clen + 1);
	memcpy(b, end + 4, have < clen ? have : clen);
	while (have < clen) {
		ssize_t r = recv(fd, b + have, clen - have, 0);
		if (r <= 0) {
			free(b);
			return -1;
		}
		have += (size_t)r;
	}
	b[clen] = '\0';
	snprintf(body, cap, "%s", b);
	free(b);
	return 0;
}

static void send_str(int fd, const char *s) { send(fd, s, strlen(s), MSG_NOSIGNAL); }

static void *ts_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(ts.fd, NULL, NULL);
		if (c < 0)
			return NULL;
		atomic_fetch_add(&ts.connections, 1);
		char body[256], auth[128];
		while (ts_read_request(c, body, sizeof body, auth, sizeof auth) == 0) {
			int i = atomic_fetch_add(&ts.requests, 1);
			snprintf(ts.last_body, sizeof ts.last_body, "%s", body);
			snprintf(ts.last_auth, sizeof ts.last_auth, "%s", auth);
			enum script s = i < ts.nscript ? ts.script[i] : S_OK;
			char out[512];
			int close_now = 0;
			switch (s) {
			case S_OK:
			case S_OK_THEN_CLOSE:
				snprintf(out, sizeof out,
				         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n{\"n\":%d,\"echo\":%zu}",
				         strlen("{\"n\":,\"echo\":}") +
				                 (size_t)snprintf(NULL, 0, "%d%zu", i, strlen(body)),
				         i, strlen(body));
				send_str(c, out);
				close_now = s == S_OK_THEN_CLOSE;
				break;
			case S_CLOSE_HEADER:
				send_str(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
				close_now = 1;
				break;
			case S_503:
				send_str(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
				break;
			case S_CHUNKED:
				send_str(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
				            "A\r\ndefghijklm\r\n0\r\n\r\n");
				break;
			case S_SILENT:
				usleep(450000);
				close_now = 1;
				break;
			case S_HUGE:
				send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n");
				close_now = 1;
				break;
			}
			if (close_now)
				break;
		}
		close(c);
	}
}

static void ts_start(const enum script *script, int n)
{
	memset(&ts, 0, sizeof ts);
	memcpy(ts.script, script, (size_t)n * sizeof *script);
	ts.nscript = n;
	ts.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	assert_int_equal(bind(ts.fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(ts.fd, 8), 0);
	assert_int_equal(getsockname(ts.fd, (struct sockaddr *)&a, &len), 0);
	ts.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&ts.thread, NULL, ts_main, NULL), 0);
}

static void ts_stop(void)
{
	shutdown(ts.fd, SHUT_RDWR);
	close(ts.fd);
	pthread_join(ts.thread, NULL);
}

static sim_http *ts_client(int timeout_ms)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ts.port);
	sim_http *h = NULL;
	seg_error err = {0};
	assert_int_equal(sim_http_open(url, "tok3n", timeout_ms, &h, &err), 0);
	return h;
}

static void test_http_keepalive_and_retries(void **state)
{
	(void)state;
	static const enum script script[] = {S_503,           S_503, S_OK,           S_OK, S_CHUNKED,
	                                     S_OK_THEN_CLOSE, S_OK,  S_CLOSE_HEADER, S_OK};
	ts_start(script, (int)(sizeof script / sizeof *script));
	sim_http *h = ts_client(2000);
	strbuf resp = {0};
	seg_error err = {0};
	int st = 0;
	size_t nretries = 0, reqs, conns;
	/* Two 503s, then 200: two retries, the body sent every time. */
	assert_int_equal(sim_http_call(h, "POST", "/x", "hello", 5, 3, &st, &resp, &nretries, &err), 0);
	assert_int_equal(st, 200);
	assert_int_equal(nretries, 2);
	assert_string_equal(resp.data, "{\"n\":2,\"echo\":5}");
	assert_string_equal(ts.last_body, "hello");
	assert_string_equal(ts.last_auth, "Bearer tok3n");
	/* Kept alive: the next request on the same connection. */
	sim_http_counts(h, &reqs, &conns);
	size_t conns_before = conns;
	assert_int_equal(sim_http_request(h, "GET", "/y", NULL, 0, &st, &resp, &err), 0);
	assert_string_equal(resp.data, "{\"n\":3,\"echo\":0}");
	assert_int_equal(sim_http_request(h, "GET", "/y", NULL, 0, &st, &resp, &err), 0);
	assert_int_equal(st, 200);
	assert_string_equal(resp.data, "abcdefghijklm"); /* chunked */
	sim_http_counts(h, &reqs, &conns);
	assert_int_equal(conns, conns_before);
	/* The server answers, then drops the idle connection: the next
	 * request reconnects silently. */
	assert_int_equal(sim_http_request(h, "GET", "/z", NULL, 0, &st, &resp, &err), 0);
	assert_string_equal(resp.data, "{\"n\":5,\"echo\":0}");
	usleep(50000);
	assert_int_equal(sim_http_request(h, "POST", "/z", "ab", 2, &st, &resp, &err), 0);
	assert_string_equal(resp.data, "{\"n\":6,\"echo\":2}");
	sim_http_counts(h, &reqs, &conns);
	assert_int_equal(conns, conns_before + 1);
	/* Connection: close is honoured. */
	assert_int_equal(sim_http_request(h, "GET", "/c", NULL, 0, &st, &resp, &err), 0);
	assert_string_equal(resp.data, "ok");
	assert_int_equal(sim_http_request(h, "GET", "/d", NULL, 0, &st, &resp, &err), 0);
	sim_http_counts(h, &reqs, &conns);
	assert_int_equal(conns, conns_before + 2);
	assert_int_equal(reqs, 9); /* the two 503s were answers too */
	sim_http_close(h);
	strbuf_free(&resp);
	ts_stop();
}

static void test_http_failures(void **state)
{
	(void)state;
	static const enum script script[] = {S_SILENT, S_HUGE};
	ts_start(script, 2);
	sim_http *h = ts_client(300);
	strbuf resp = {0};
	seg_error err = {0};
	int st = 0;
	/* A server that never answers: a timeout, not a hang. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sim_http_request(h, "GET", "/", NULL, 0, &st, &resp, &err), SEG_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
	assert_true(s < 0.44);
	assert_non_null(strstr(err.msg, "timed out"));
	/* An answer larger than the bound is refused before it is read. */
	if (sim_http_request(h, "GET", "/", NULL, 0, &st, &resp, &err) != SEG_EINVAL)
		fail_msg("%s", err.msg);
	sim_http_close(h);
	int port = ts.port;
	ts_stop();
	/* Nobody listens: connection refused, retried, then given up. */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	assert_int_equal(sim_http_open(url, NULL, 500, &h, &err), 0);
	size_t nretries = 0;
	assert_int_equal(sim_http_call(h, "GET", "/", NULL, 0, 2, &st, &resp, &nretries, &err), SEG_EIO);
	assert_int_equal(nretries, 2);
	assert_non_null(strstr(err.msg, "cannot connect"));
	sim_http_close(h);
	/* Bad URLs. */
	assert_int_equal(sim_http_open("https://x", NULL, 0, &h, &err), SEG_EINVAL);
	assert_null(h);
	assert_int_equal(sim_http_open("http://x:99999", NULL, 0, &h, &err), SEG_EINVAL);
	assert_int_equal(sim_http_open("http://x:80/api", NULL, 0, &h, &err), SEG_EINVAL);
	assert_int_equal(sim_http_open("http://:80", NULL, 0, &h, &err), SEG_EINVAL);
	assert_int_equal(sim_http_open("http://localhost", NULL, 0, &h, &err), 0);
	sim_http_close(h);
	sim_http_close(NULL);
	strbuf_free(&resp);
}

static void test_wilson(void **state)
{
	(void)state;
	double lo, hi;
	/* Wilson's formula evaluated in Python with scipy.stats.norm.ppf(0.975)
	 * (what statsmodels' proportion_confint(method="wilson") gives). */
	sim_wilson(10, 200, &lo, &hi);
	assert_near(lo, 0.02738264560076393, 1e-12);
	assert_near(hi, 0.08957814813877599, 1e-12);
	sim_wilson(0, 20, &lo, &hi);
	assert_near(lo, 0.0, 1e-12);
	assert_near(hi, 0.16112515805281938, 1e-12);
}

static void test_report_parse(void **state)
{
	(void)state;
	const char *json =
		"{\"experiment\":{\"name\":\"e\",\"metric\":\"play_rate\"},\"srm\":{\"chi2\":0.1,\"p\":0.7,\"alarm\":"
		"false},"
		"\"variants\":[{\"name\":\"control\",\"users\":10,\"metrics\":{\"play_rate\":{\"value\":0.1}}},"
		"{\"name\":\"treatment\",\"users\":12,\"metrics\":{\"play_rate\":{\"value\":0.15}}}],"
		"\"comparisons\":[{\"variant\":\"treatment\",\"metric\":\"skip_rate\",\"primary\":false,\"p\":0.9},"
		"{\"variant\":\"treatment\",\"metric\":\"play_rate\",\"primary\":true,\"diff\":0.05,\"diff_lo\":0.01,"
		"\"diff_hi\":0.09,\"p\":0.02}],\"interleaving\":null}";
	sim_report r;
	seg_error err = {0};
	assert_int_equal(sim_report_parse(json, strlen(json), &r, &err), 0);
	assert_int_equal(r.users[0], 10);
	assert_int_equal(r.users[1], 12);
	assert_near(r.value[1], 0.15, 1e-15);
	assert_near(r.p, 0.02, 1e-15);
	assert_near(r.lo, 0.01, 1e-15);
	assert_false(r.has_interleaving);
	assert_true(isnan(r.cp));
	/* An interleaved report: the sign test's share and the credit test. */
	const char *il = "{\"variants\":[{\"name\":\"il\",\"users\":9}],\"comparisons\":[],"
			 "\"interleaving\":{\"share_b\":0.6,\"lo\":0.4,\"hi\":0.8,\"p\":0.3,"
			 "\"credit\":{\"mean_diff\":0.25,\"lo\":0.05,\"hi\":0.45,\"p\":0.01}}}";
	assert_int_equal(sim_report_parse(il, strlen(il), &r, &err), 0);
	assert_true(r.has_interleaving);
	assert_near(r.share_b, 0.6, 1e-15);
	assert_near(r.ip, 0.3, 1e-15);
	assert_near(r.cmean, 0.25, 1e-15);
	assert_near(r.clo, 0.05, 1e-15);
	assert_near(r.chi, 0.45, 1e-15);
	assert_near(r.cp, 0.01, 1e-15);
	assert_int_equal(sim_report_parse("{}", 2, &r, &err), SEG_EFORMAT);
}

/* ---- listeners from a generated workspace ---- */

static char ws[1100];

static int group_setup(void **state)
{
	(void)state;
	if (tu_group_tmpdir(state) < 0)
		return -1;
	snprintf(ws, sizeof ws, "%s/ws", tu_group_dir);
	tu_train_sizes sizes = {.clusters = 4, .factors = 8, .als_iterations = 3, .quality_rounds = 5, .cv_folds = 2};
	return tu_build_workspace(tu_group_dir, ws, 1500, 600, 7, &sizes);
}

static void test_listeners_heldout(void **state)
{
	(void)state;
	sim_listeners L = {0};
	seg_error err = {0};
	assert_int_equal(sim_listeners_load(ws, 3, &L, &err), 0);
	assert_true(L.n > 20);
	/* Every held-out playlist with more than 3 distinct tracks, and no
	 * other; each with its own split from the catalogue's hash. */
	char path[1200];
	snprintf(path, sizeof path, "%s/catalog.db", ws);
	sqlite3 *db = tu_open_ro(path);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT p.id, p.source, p.external_id, count(DISTINCT t.spotify_id) "
	                                    "FROM playlists p JOIN playlist_tracks pt ON pt.playlist_id = p.id "
	                                    "JOIN tracks t ON t.id = pt.track_id GROUP BY p.id ORDER BY p.id",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	size_t expect = 0, train = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		int split = catalog_playlist_split((const char *)sqlite3_column_text(st, 1),
		                                   (const char *)sqlite3_column_text(st, 2));
		long ntracks = sqlite3_column_int(st, 3);
		const sim_listener *found = NULL;
		for (size_t i = 0; i < L.n; i++)
			if (L.l[i].playlist == id)
				found = &L.l[i];
		if (split == CATALOG_SPLIT_TRAIN) {
			train++;
			assert_null(found);
			continue;
		}
		if (ntracks <= 3) {
			assert_null(found);
			continue;
		}
		expect++;
		assert_non_null(found);
		assert_int_equal(found->split, split);
		assert_int_equal(found->nseeds, 3);
		assert_int_equal(found->nseeds + found->nhidden, (size_t)ntracks);
	}
	sqlite3_finalize(st);
	assert_true(train > 0);
	assert_int_equal(L.n, expect);
	/* Seeds are the first distinct tracks in playlist order, the hidden
	 * tracks the rest, and the listener likes exactly those. */
	const sim_listener *l = &L.l[0];
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT t.spotify_id FROM playlist_tracks pt JOIN tracks t ON t.id = pt.track_id "
	         "WHERE pt.playlist_id = %lld ORDER BY pt.pos",
	         (long long)l->playlist);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	char distinct[64][EV_TRACK_LEN + 1];
	size_t nd = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *sid = (const char *)sqlite3_column_text(st, 0);
		int seen = 0, seed = 0;
		for (size_t i = 0; i < nd; i++)
			seen |= strcmp(distinct[i], sid) == 0;
		if (!seen && nd < l->nseeds)
			assert_string_equal(l->seeds[nd], sid);
		if (!seen && nd < 64)
			snprintf(distinct[nd++], sizeof distinct[0], "%s", sid);
		for (size_t i = 0; i < l->nseeds; i++)
			seed |= strcmp(l->seeds[i], sid) == 0;
		assert_true(seed != sim_listener_likes(l, sid));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_false(sim_listener_likes(l, "0000000000000000000000"));
	/* Picks: distinct, deterministic in the seed, different across seeds. */
	size_t a[20], b[20], c[20];
	assert_int_equal(sim_listeners_pick(&L, 5, 20, a, &err), 0);
	assert_int_equal(sim_listeners_pick(&L, 5, 20, b, &err), 0);
	assert_int_equal(sim_listeners_pick(&L, 6, 20, c, &err), 0);
	assert_memory_equal(a, b, sizeof a);
	assert_memory_not_equal(a, c, sizeof a);
	for (int i = 0; i < 20; i++)
		for (int j = 0; j < i; j++)
			assert_true(a[i] != a[j]);
	size_t *big = malloc((L.n + 1) * sizeof *big);
	assert_int_equal(sim_listeners_pick(&L, 5, L.n + 1, big, &err), SEG_EINVAL);
	free(big);
	sim_listeners_free(&L);
	sim_listeners_free(&L);
}

/* ---- against a real server ---- */

static pid_t server_pid;
static char server_url[64];

static int start_server(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	server_pid = fork();
	if (server_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		const char *bin = getenv("SEGUE_BIN");
		const char *argv[] = {"segue", "serve", "--workspace", ws, "--port", "0", "--threads", "4", NULL};
		execv(bin ? bin : "./build-san/segue", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[512];
	int port = 0;
	while (port == 0 && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, "http://127.0.0.1:");
		if (p)
			port = atoi(p + 17);
	}
	fclose(f);
	snprintf(server_url, sizeof server_url, "http://127.0.0.1:%d", port);
	return port > 0 ? 0 : -1;
}

static void stop_server(void)
{
	if (server_pid <= 0)
		return;
	kill(server_pid, SIGTERM);
	int status;
	waitpid(server_pid, &status, 0);
	server_pid = 0;
}

static int server_up(void **state)
{
	(void)state;
	return start_server();
}

static int server_down(void **state)
{
	(void)state;
	stop_server();
	return 0;
}

static void test_http_real_server(void **state)
{
	(void)state;
	sim_http *h = NULL;
	seg_error err = {0};
	assert_int_equal(sim_http_open(server_url, NULL, 5000, &h, &err), 0);
	strbuf resp = {0};
	int st = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sim_http_call(h, "GET", "/api/health", NULL, 0, 2, &st, &resp, NULL, &err), 0);
		assert_int_equal(st, 200);
		assert_non_null(strstr(resp.data, "\"status\""));
	}
	assert_int_equal(sim_http_request(h, "GET", "/api/nothing-here", NULL, 0, &st, &resp, &err), 0);
	assert_int_equal(st, 404);
	size_t reqs, conns;
	sim_http_counts(h, &reqs, &conns);
	assert_int_equal(reqs, 6);
	assert_int_equal(conns, 1); /* keep-alive with libmicrohttpd */
	sim_http_close(h);
	strbuf_free(&resp);
}

/* Whether the server has the routes of issue 11 (the sibling branches
 * merged): POST /api/events answers something other than 404. */
static int has_event_routes(void)
{
	sim_http *h = NULL;
	seg_error err = {0};
	strbuf resp = {0};
	int st = 0;
	sim_http_open(server_url, NULL, 5000, &h, &err);
	sim_http_request(h, "POST", "/api/events", "{}", 2, &st, &resp, &err);
	sim_http_close(h);
	strbuf_free(&resp);
	return st != 404 && st != 0;
}

static void test_replay_stored_once(void **state)
{
	(void)state;
	if (!has_event_routes())
		skip();
	sim_listeners L = {0};
	seg_error err = {0};
	assert_int_equal(sim_listeners_load(ws, 5, &L, &err), 0);
	sim_options o;
	sim_options_default(&o);
	o.server = server_url;
	o.seed = (uint64_t)time(NULL) * 1000 + 17;
	o.users = 30;
	o.threads = 3;
	sim_result a, b;
	if (sim_run(&L, &o, &a, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(a.users, 30);
	assert_true(a.sessions >= 30);
	/* Every event posted is one of the counted actions, and a skip
	 * always comes with a play of its track (sim_click), so no variant
	 * has more skips than plays. */
	size_t counted = 0;
	for (size_t i = 0; i < a.nv; i++) {
		const sim_variant_count *v = &a.v[i];
		counted += v->plays + v->skips + v->likes + v->saves + v->dislikes;
		assert_true(v->skips <= v->plays);
		assert_true(v->liked_plays <= v->plays);
	}
	assert_int_equal(counted, a.events);
	assert_true(a.events > 0);
	assert_int_equal(a.stored, a.events);
	assert_int_equal(a.duplicates, 0);
	/* The same seed again: the same listeners do the same things with the
	 * same event ids, so the store keeps none of it twice. */
	o.threads = 2;
	if (sim_run(&L, &o, &b, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(b.events, a.events);
	assert_int_equal(b.stored, 0);
	assert_int_equal(b.duplicates, a.events);
	sim_listeners_free(&L);
}

static void test_study_end_to_end(void **state)
{
	(void)state;
	if (!has_event_routes())
		skip();
	sim_listeners L = {0};
	seg_error err = {0};
	assert_int_equal(sim_listeners_load(ws, 5, &L, &err), 0);
	sim_study_options so;
	sim_study_options_default(&so);
	so.sim.server = server_url;
	so.sim.seed = (uint64_t)time(NULL) * 1000 + 500;
	so.sim.threads = 3;
	char prefix[64];
	snprintf(prefix, sizeof prefix, "t%llu", (unsigned long long)so.sim.seed);
	so.prefix = prefix;
	so.quiet = 1;
	so.aa_runs = 4;
	so.aa_users = 40;
	so.hp_users = 60;
	so.effect_runs = 2;
	so.effect_users = 40;
	so.effect = 0.5;
	so.ladder_runs = 1;
	memset(so.ladder, 0, sizeof so.ladder);
	so.ladder[0] = 40;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc = sim_study_run(&L, &so, out, &err);
	fclose(out);
	if (rc < 0)
		fail_msg("%s\n%s", err.msg, text);
	print_message("%s", text);
	assert_non_null(strstr(text, "rejected at p < 0.05 in "));
	assert_non_null(strstr(text, " of 4 runs"));
	assert_non_null(strstr(text, "popular (control) against hybrid (treatment), 60 listeners"));
	assert_non_null(strstr(text, "control   (popular) plays/shown "));
	assert_non_null(strstr(text, "treatment (hybrid) plays/shown "));
	assert_non_null(strstr(text, "detected (p < 0.05, right direction) in "));
	assert_non_null(strstr(text, "smallest size detected"));
	assert_non_null(strstr(text, "interleaving (credit) "));
	assert_non_null(strstr(text, "il. credit"));
	free(text);
	sim_listeners_free(&L);
}

/* `segue simulate --experiment NAME` against a running experiment, and the
 * command line's refusals. */
static void test_cli(void **state)
{
	(void)state;
	const char *bin = getenv("SEGUE_BIN");
	if (bin == NULL)
		bin = "./build-san/segue";
	char cmd[4096], *out = NULL;
	snprintf(cmd, sizeof cmd, "%s simulate --help", bin);
	assert_int_equal(tu_run(cmd, &out), 0);
	assert_non_null(strstr(out, "1/(1+rank)^eta"));
	free(out);
	snprintf(cmd, sizeof cmd, "%s simulate --aa --study 2>/dev/null", bin);
	assert_int_equal(tu_run(cmd, NULL), 2);
	snprintf(cmd, sizeof cmd, "%s simulate --experiment x 2>/dev/null", bin);
	assert_int_equal(tu_run(cmd, NULL), 2); /* no --users */
	snprintf(cmd, sizeof cmd, "%s simulate --aa --play-liked 2 2>/dev/null", bin);
	assert_int_equal(tu_run(cmd, NULL), 2);
	if (!has_event_routes())
		skip();
	/* A running experiment with an injected effect on its treatment. */
	sim_http *h = NULL;
	seg_error err = {0};
	assert_int_equal(sim_http_open(server_url, NULL, 5000, &h, &err), 0);
	char name[64];
	snprintf(name, sizeof name, "cli-%lld", (long long)time(NULL));
	const char *names[2] = {"control", "treatment"}, *configs[2] = {"model=hybrid", "model=popular"};
	if (sim_experiment_begin(h, name, 2, names, configs, "play_rate", &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(cmd, sizeof cmd,
	         "%s simulate --experiment %s --users 30 --server %s --workspace %s --seed %lld --threads 2 --effect "
	         "0.5",
	         bin, name, server_url, ws, (long long)time(NULL));
	assert_int_equal(tu_run(cmd, &out), 0);
	print_message("%s", out);
	assert_non_null(strstr(out, "30 listeners"));
	assert_non_null(strstr(out, "report of "));
	assert_non_null(strstr(out, "difference "));
	free(out);
	/* A stopped experiment is refused. */
	strbuf report = {0};
	assert_int_equal(sim_experiment_end(h, name, &report, &err), 0);
	sim_report rep;
	assert_int_equal(sim_report_parse(report.data, report.len, &rep, &err), 0);
	assert_int_equal(rep.users[0] + rep.users[1], 30);
	strbuf_free(&report);
	snprintf(cmd, sizeof cmd, "%s simulate --experiment %s --users 5 --server %s --workspace %s 2>&1", bin, name,
	         server_url, ws);
	assert_int_equal(tu_run(cmd, &out), 1);
	assert_non_null(strstr(out, "is not running"));
	free(out);
	sim_http_close(h);
}

int main(void)
{
	const struct CMUnitTest alone[] = {
		cmocka_unit_test(test_click_model),
		cmocka_unit_test(test_click_same_stream),
		cmocka_unit_test(test_behaviour_check),
		cmocka_unit_test(test_event_ids),
		cmocka_unit_test(test_http_keepalive_and_retries),
		cmocka_unit_test(test_http_failures),
		cmocka_unit_test(test_wilson),
		cmocka_unit_test(test_report_parse),
	};
	const struct CMUnitTest with_ws[] = {
		cmocka_unit_test(test_listeners_heldout),
		cmocka_unit_test_setup_teardown(test_http_real_server, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_replay_stored_once, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_study_end_to_end, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_cli, server_up, server_down),
	};
	int fails = cmocka_run_group_tests_name("simulate", alone, NULL, NULL);
	fails += cmocka_run_group_tests_name("simulate_workspace", with_ws, group_setup, tu_group_rmtree);
	return fails;
}
