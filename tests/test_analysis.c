/* test_analysis.c: the experiment report from hand-built event streams with
 * known answers (each metric's numerator and denominator, discovery, the
 * first play's position, the pre-experiment covariate), the scan order's
 * check, CUPED only where a covariate exists, the SRM alarm, interleaving's
 * share, the sequential view, the JSON's fields, the CSV, and a
 * recomputation of the whole report with scipy from the CSV export
 * (tests/golden/experiment_recompute.py). SEGUE_BENCH_ANALYSIS=N times the
 * analysis of N synthetic events. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "experiment/analysis.h"
#include "testutil.h"

#define T0 1735689600000LL /* 2025-01-01 00:00 UTC: the experiments start here */
#define HOUR 3600000LL
#define DAY (24 * HOUR)

/* ------------------------------------------------------------------------ */
/* Building events                                                           */

static experiment make_exp(size_t nvariants)
{
	experiment e;
	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof e.name, "exp1");
	snprintf(e.salt, sizeof e.salt, "salt1");
	const char *names[] = {"control", "treatment", "third"};
	for (size_t v = 0; v < nvariants; v++) {
		snprintf(e.variant[v].name, sizeof e.variant[v].name, "%s", names[v]);
		e.variant[v].weight = 1;
		snprintf(e.variant[v].config, sizeof e.variant[v].config, "model=hybrid");
	}
	e.nvariants = nvariants;
	snprintf(e.metric, sizeof e.metric, "play_rate");
	snprintf(e.guardrail[0], sizeof e.guardrail[0], "skip_rate");
	e.nguardrails = 1;
	e.state = EXP_RUNNING;
	e.created_ms = T0 - DAY;
	e.started_ms = T0;
	return e;
}

/* A feeder: hands events to the analysis with increasing seq. */
typedef struct feed {
	analysis *a;
	int64_t seq;
	int rc; /* the first nonzero return of analysis_add */
} feed;

static void put(feed *f, ev_event *ev)
{
	ev->seq = ++f->seq;
	int rc = analysis_add(f->a, ev);
	if (rc && f->rc == 0)
		f->rc = rc;
}

static void track_id(char *out, int i) { snprintf(out, EV_TRACK_LEN + 1, "t%021d", i); }

/* An impression of tracks[n] (track numbers), of the experiment in variant
 * `variant`, or of no experiment when variant is NULL. */
static void imp(feed *f, const char *user, const char *req, const char *variant, int64_t ms, const int *tracks,
                size_t n, const uint8_t *teams)
{
	ev_event ev;
	memset(&ev, 0, sizeof(ev));
	char(*t)[EV_TRACK_LEN + 1] = calloc(n + 1, sizeof(*t));
	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		track_id(t[i], tracks[i]);
	ev.type = EV_IMPRESSION;
	snprintf(ev.event_id, sizeof ev.event_id, "%s", req);
	snprintf(ev.user, sizeof ev.user, "%s", user);
	snprintf(ev.request, sizeof ev.request, "%s", req);
	ev.position = -1;
	ev.client_ms = ev.server_ms = ms;
	if (variant) {
		snprintf(ev.experiment, sizeof ev.experiment, "exp1");
		snprintf(ev.variant, sizeof ev.variant, "%s", variant);
	}
	snprintf(ev.model, sizeof ev.model, "hybrid");
	ev.ntracks = n;
	ev.tracks = t;
	ev.teams = (uint8_t *)teams;
	put(f, &ev);
	free(t);
}

static void act(feed *f, const char *user, int type, const char *req, int track, int pos, int64_t ms)
{
	ev_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	snprintf(ev.event_id, sizeof ev.event_id, "e%lld", (long long)f->seq + 1);
	snprintf(ev.user, sizeof ev.user, "%s", user);
	snprintf(ev.request, sizeof ev.request, "%s", req ? req : "");
	track_id(ev.track, track);
	ev.position = pos;
	ev.client_ms = ev.server_ms = ms;
	put(f, &ev);
}

/* ------------------------------------------------------------------------ */
/* Reading the outputs                                                       */

/* The value of column `col` in the CSV row of `user` (-1 when absent). */
static long csv_get(const char *csv, const char *user, const char *col)
{
	const char *nl = strchr(csv, '\n');
	assert_non_null(nl);
	int want = -1, k = 0;
	for (const char *p = csv; p < nl; k++) {
		const char *e = p;
		while (e < nl && *e != ',')
			e++;
		if ((size_t)(e - p) == strlen(col) && strncmp(p, col, (size_t)(e - p)) == 0)
			want = k;
		p = e + 1;
	}
	assert_true(want >= 0);
	size_t ul = strlen(user);
	for (const char *line = nl + 1; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, user, ul) == 0 && line[ul] == ',') {
			const char *p = line;
			for (int i = 0; i < want; i++)
				p = strchr(p, ',') + 1;
			return strtol(p, NULL, 10);
		}
		if (strchr(line, '\n') == NULL)
			break;
	}
	return -1;
}

static size_t csv_rows(const char *csv)
{
	size_t n = 0;
	for (const char *p = csv; *p; p++)
		n += *p == '\n';
	return n - 1; /* the header */
}

static json_t *report_json(const analysis *a)
{
	strbuf sb = {0};
	analysis_json(a, &sb);
	assert_false(sb.oom);
	json_error_t je;
	json_t *j = json_loads(strbuf_cstr(&sb), 0, &je);
	if (j == NULL)
		fail_msg("report JSON does not parse: %s at %d: %.200s", je.text, je.position, strbuf_cstr(&sb));
	strbuf_free(&sb);
	return j;
}

/* The comparison of `variant` for `metric`. */
static json_t *comparison(json_t *j, const char *variant, const char *metric)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(j, "comparisons"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "variant")), variant) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "metric")), metric) == 0)
			return c;
	}
	fail_msg("no comparison %s %s", variant, metric);
	return NULL;
}

static double jd(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static analysis *start(const experiment *e, const an_options *o, feed *f)
{
	analysis *a = NULL;
	seg_error err = {0};
	assert_int_equal(analysis_create(e, o, &a, &err), 0);
	memset(f, 0, sizeof(*f));
	f->a = a;
	return a;
}

static void finish(feed *f)
{
	seg_error err = {0};
	assert_int_equal(f->rc, 0);
	int rc = analysis_finish(f->a, &err);
	if (rc)
		fail_msg("analysis_finish: %s", err.msg);
}

/* ------------------------------------------------------------------------ */
/* Counting                                                                  */

/* u1 (control): a list r0 before the experiment, then r1 and r2 of it; every
 * count below is worked out by hand in the comments. */
static void feed_u1(feed *f)
{
	const char *u = "u1";
	int r0[] = {9, 1}, r1[] = {1, 2, 3, 4}, r2[] = {4, 5};
	imp(f, u, "r0", NULL, T0 - 5 * HOUR, r0, 2, NULL);
	act(f, u, EV_PLAY, "r0", 9, 0, T0 - 4 * HOUR);          /* pre play: 1 of 2 */
	act(f, u, EV_LIKE, "r0", 1, 1, T0 + HOUR);              /* after the start: not in the covariate */
	imp(f, u, "r1", "control", T0 + HOUR, r1, 4, NULL);     /* 4 impressed tracks */
	act(f, u, EV_PLAY, "r1", 2, 1, T0 + HOUR + 1);          /* play, discovery, first play at position 2 */
	act(f, u, EV_PLAY, "r1", 2, 1, T0 + HOUR + 2);          /* again: counted once */
	act(f, u, EV_LIKE, "r1", 2, 1, T0 + HOUR + 3);          /* like */
	act(f, u, EV_SKIP, "r1", 1, 0, T0 + HOUR + 4);          /* skip */
	act(f, u, EV_PLAY, "r1", 1, 0, T0 + HOUR + 5);          /* play; t1 was shown in r0: no discovery */
	act(f, u, EV_SAVE, "r1", 3, -1, T0 + HOUR + 6);         /* save, position unknown: found in the list */
	act(f, u, EV_PLAY, "r1", 4, 7, T0 + HOUR + 7);          /* play, discovery (a wrong position is corrected) */
	act(f, u, EV_DISLIKE, "r1", 3, 2, T0 + HOUR + 8);       /* no metric */
	act(f, u, EV_PLAY, "r1", 77, 0, T0 + HOUR + 9);         /* not in the list: ignored */
	act(f, u, EV_PLAY, "nope", 2, 1, T0 + HOUR + 10);       /* not a list of u1: ignored */
	act(f, u, EV_PLAY, NULL, 2, 1, T0 + HOUR + 11);         /* no list: ignored */
	imp(f, u, "r2", "control", T0 + 2 * HOUR, r2, 2, NULL); /* 2 more impressed tracks */
	act(f, u, EV_PLAY, "r2", 4, 0, T0 + 2 * HOUR + 1); /* play, shown in r1 first: no discovery; first play 1 */
	act(f, u, EV_PLAY, "r2", 5, 1, T0 + 2 * HOUR + 2); /* play, discovery */
}

static void test_counts(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	feed f;
	analysis *a = start(&e, NULL, &f);
	int l[] = {1, 2, 3};
	/* u0: plays but never an impression: not exposed. */
	act(&f, "u0", EV_PLAY, "x", 1, 0, T0 + HOUR);
	feed_u1(&f);
	/* u2 (treatment): one list, one play; also a list of another experiment. */
	imp(&f, "u2", "q1", "treatment", T0 + HOUR, l, 3, NULL);
	act(&f, "u2", EV_PLAY, "q1", 3, 2, T0 + HOUR + 5);
	/* u3: only another experiment's impression: not exposed. */
	ev_event other;
	memset(&other, 0, sizeof(other));
	other.type = EV_IMPRESSION;
	snprintf(other.event_id, sizeof other.event_id, "o1");
	snprintf(other.user, sizeof other.user, "u3");
	snprintf(other.request, sizeof other.request, "o1");
	snprintf(other.experiment, sizeof other.experiment, "exp2");
	snprintf(other.variant, sizeof other.variant, "control");
	other.server_ms = T0 + HOUR;
	put(&f, &other);
	finish(&f);

	strbuf sb = {0};
	analysis_csv(a, &sb);
	const char *csv = strbuf_cstr(&sb);
	assert_int_equal(csv_rows(csv), 2);
	assert_int_equal(csv_get(csv, "u0", "impressions"), -1);
	assert_int_equal(csv_get(csv, "u3", "impressions"), -1);
	assert_int_equal(csv_get(csv, "u1", "impressions"), 2);
	assert_int_equal(csv_get(csv, "u1", "play_rate_num"), 5);
	assert_int_equal(csv_get(csv, "u1", "play_rate_den"), 6);
	assert_int_equal(csv_get(csv, "u1", "like_rate_num"), 1);
	assert_int_equal(csv_get(csv, "u1", "like_rate_den"), 6);
	assert_int_equal(csv_get(csv, "u1", "skip_rate_num"), 1);
	assert_int_equal(csv_get(csv, "u1", "save_rate_num"), 1);
	assert_int_equal(csv_get(csv, "u1", "save_rate_den"), 6);
	assert_int_equal(csv_get(csv, "u1", "discovery_rate_num"), 3);
	assert_int_equal(csv_get(csv, "u1", "discovery_rate_den"), 6);
	assert_int_equal(csv_get(csv, "u1", "first_play_position_num"), 3); /* 2 (r1) + 1 (r2) */
	assert_int_equal(csv_get(csv, "u1", "first_play_position_den"), 2);
	assert_int_equal(csv_get(csv, "u1", "play_rate_pre_num"), 1);
	assert_int_equal(csv_get(csv, "u1", "play_rate_pre_den"), 2);
	assert_int_equal(csv_get(csv, "u1", "like_rate_pre_num"), 0);
	assert_int_equal(csv_get(csv, "u1", "like_rate_pre_den"), 2);
	assert_int_equal(csv_get(csv, "u2", "play_rate_num"), 1);
	assert_int_equal(csv_get(csv, "u2", "play_rate_den"), 3);
	assert_int_equal(csv_get(csv, "u2", "first_play_position_num"), 3);
	assert_int_equal(csv_get(csv, "u2", "play_rate_pre_den"), 0);
	assert_non_null(strstr(csv, "\nu1,control,"));
	assert_non_null(strstr(csv, "\nu2,treatment,"));
	strbuf_free(&sb);
	analysis_free(a);
}

/* Events of a user in two runs, or out of seq order, are refused. */
static void test_order(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	int l[] = {1, 2};
	feed f;
	analysis *a = start(&e, NULL, &f);
	imp(&f, "a", "r1", "control", T0, l, 2, NULL);
	imp(&f, "b", "r2", "control", T0, l, 2, NULL);
	assert_int_equal(f.rc, 0);
	imp(&f, "a", "r3", "control", T0, l, 2, NULL);
	assert_int_equal(f.rc, SEG_EINVAL);
	seg_error err = {0};
	assert_int_equal(analysis_finish(a, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "order"));
	analysis_free(a);

	a = start(&e, NULL, &f);
	imp(&f, "a", "r1", "control", T0, l, 2, NULL);
	ev_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_PLAY;
	snprintf(ev.user, sizeof ev.user, "a");
	ev.seq = 1; /* not after the impression's 1 */
	assert_int_equal(analysis_add(a, &ev), SEG_EINVAL);
	assert_int_equal(analysis_add(a, &ev), SEG_EINVAL); /* sticky */
	analysis_free(a);
	analysis_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* Statistics on synthetic users                                             */

/* n users "sNNNNNN" with variant v for i % k == j of a pattern: each sees
 * `lists` lists of 10 tracks over `days` days from T0 and plays each with
 * probability p[v]; with `pre`, also two lists before T0 where their play
 * probability (the covariate) is correlated with their own. */
typedef struct synth {
	size_t users;
	double p[EXP_MAX_VARIANTS];       /* play probability per variant */
	unsigned share[EXP_MAX_VARIANTS]; /* users of variant v per cycle of sum(share) */
	int lists, days, pre;
	uint64_t seed;
} synth;

static void synth_feed(feed *f, const experiment *e, const synth *s)
{
	rng r;
	rng_seed(&r, s->seed);
	unsigned cycle = 0;
	for (size_t v = 0; v < e->nvariants; v++)
		cycle += s->share[v];
	char user[32], req[48];
	int tracks[10];
	for (size_t u = 0; u < s->users; u++) {
		snprintf(user, sizeof user, "s%07zu", u);
		unsigned c = (unsigned)(u % cycle), v = 0;
		while (c >= s->share[v])
			c -= s->share[v++];
		double taste = 0.5 + rng_u01(&r); /* the user's own propensity, 0.5 .. 1.5 */
		int tid = 0;
		if (s->pre)
			for (int l = 0; l < 2; l++) {
				snprintf(req, sizeof req, "%s-p%d", user, l);
				for (int k = 0; k < 10; k++)
					tracks[k] = tid++;
				imp(f, user, req, NULL, T0 - DAY + l * HOUR, tracks, 10, NULL);
				for (int k = 0; k < 10; k++)
					if (rng_u01(&r) < 0.1 * taste)
						act(f, user, EV_PLAY, req, tracks[k], k, T0 - DAY + l * HOUR + 1 + k);
			}
		for (int l = 0; l < s->lists; l++) {
			int64_t ms = T0 + (int64_t)((u * (size_t)s->days * DAY) / s->users) + l * 60000;
			snprintf(req, sizeof req, "%s-%d", user, l);
			for (int k = 0; k < 10; k++)
				tracks[k] = tid++;
			imp(f, user, req, e->variant[v].name, ms, tracks, 10, NULL);
			for (int k = 0; k < 10; k++) {
				double u01 = rng_u01(&r);
				if (u01 < s->p[v] * taste)
					act(f, user, EV_PLAY, req, tracks[k], k, ms + 1000 + k);
				else if (u01 > 0.9)
					act(f, user, EV_SKIP, req, tracks[k], k, ms + 1000 + k);
				if (rng_u01(&r) < 0.03)
					act(f, user, EV_LIKE, req, tracks[k], k, ms + 2000 + k);
				if (rng_u01(&r) < 0.02)
					act(f, user, EV_SAVE, req, tracks[k], k, ms + 3000 + k);
			}
		}
	}
}

static void test_srm(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	feed f;
	/* 2:1 split against 1:1 weights: an alarm. */
	analysis *a = start(&e, NULL, &f);
	synth s = {.users = 600, .p = {0.1, 0.1}, .share = {2, 1}, .lists = 1, .days = 1, .seed = 1};
	synth_feed(&f, &e, &s);
	finish(&f);
	json_t *j = report_json(a);
	json_t *srm = json_object_get(j, "srm");
	assert_true(json_is_true(json_object_get(srm, "alarm")));
	assert_true(jd(srm, "p") < 0.001);
	assert_near(json_number_value(json_array_get(json_object_get(srm, "observed"), 0)), 400, 0);
	assert_near(json_number_value(json_array_get(json_object_get(srm, "expected"), 1)), 300, 1e-9);
	assert_non_null(strstr(json_string_value(json_object_get(j, "verdict")), "sample-ratio mismatch"));
	strbuf sb = {0};
	analysis_text(a, &sb);
	assert_non_null(strstr(strbuf_cstr(&sb), "ALARM: sample-ratio mismatch"));
	strbuf_free(&sb);
	json_decref(j);
	analysis_free(a);

	/* An even split: no alarm. */
	a = start(&e, NULL, &f);
	s.share[0] = 1;
	synth_feed(&f, &e, &s);
	finish(&f);
	j = report_json(a);
	assert_true(json_is_false(json_object_get(json_object_get(j, "srm"), "alarm")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "verdict")), "no sample-ratio mismatch"));
	json_decref(j);
	analysis_free(a);
}

/* CUPED applies to the four rates with a covariate, only when some user has
 * pre-experiment lists; it reduces the variance when the covariate
 * predicts the metric. */
static void test_cuped(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	feed f;
	analysis *a = start(&e, NULL, &f);
	synth s = {.users = 2000, .p = {0.1, 0.11}, .share = {1, 1}, .lists = 3, .days = 1, .pre = 1, .seed = 2};
	synth_feed(&f, &e, &s);
	finish(&f);
	json_t *j = report_json(a);
	json_t *c = comparison(j, "treatment", "play_rate");
	assert_true(json_is_true(json_object_get(c, "cuped")));
	assert_true(jd(c, "variance_reduction") > 0.02);
	assert_true(isfinite(jd(c, "theta")));
	assert_true(json_is_true(json_object_get(comparison(j, "treatment", "like_rate"), "cuped")));
	assert_true(json_is_false(json_object_get(comparison(j, "treatment", "discovery_rate"), "cuped")));
	assert_true(json_is_false(json_object_get(comparison(j, "treatment", "first_play_position"), "cuped")));
	json_decref(j);
	analysis_free(a);

	/* Without any pre-experiment list: no CUPED. */
	a = start(&e, NULL, &f);
	s.pre = 0;
	synth_feed(&f, &e, &s);
	finish(&f);
	j = report_json(a);
	c = comparison(j, "treatment", "play_rate");
	assert_true(json_is_false(json_object_get(c, "cuped")));
	assert_true(json_is_null(json_object_get(c, "theta")));
	json_decref(j);
	analysis_free(a);

	/* The option off: none either. */
	an_options o;
	an_options_default(&o);
	o.cuped = 0;
	a = start(&e, &o, &f);
	s.pre = 1;
	synth_feed(&f, &e, &s);
	finish(&f);
	j = report_json(a);
	assert_true(json_is_false(json_object_get(comparison(j, "treatment", "play_rate"), "cuped")));
	assert_true(json_is_false(json_object_get(j, "cuped")));
	json_decref(j);
	analysis_free(a);
}

/* A single interleaved variant: users' credited plays decide wins and ties. */
static void test_interleaving(void **state)
{
	(void)state;
	experiment e = make_exp(1);
	snprintf(e.variant[0].config, sizeof e.variant[0].config, "model=interleave:popular+hybrid");
	feed f;
	analysis *a = start(&e, NULL, &f);
	int l[] = {1, 2, 3, 4};
	uint8_t teams[] = {0, 1, 0, 1};
	/* plays[u] lists the positions played: 3 users prefer B, 1 A, 1 ties, 1 none. */
	const int plays[6][3] = {{1, -1, -1}, {3, 1, -1}, {1, 2, 3}, {0, -1, -1}, {0, 1, -1}, {-1, -1, -1}};
	char user[8], req[8];
	for (int u = 0; u < 6; u++) {
		snprintf(user, sizeof user, "i%d", u);
		snprintf(req, sizeof req, "q%d", u);
		imp(&f, user, req, "control", T0 + HOUR, l, 4, teams);
		for (int k = 0; k < 3 && plays[u][k] >= 0; k++)
			act(&f, user, EV_PLAY, req, l[plays[u][k]], plays[u][k], T0 + HOUR + 1 + k);
	}
	finish(&f);
	json_t *j = report_json(a);
	json_t *iv = json_object_get(j, "interleaving");
	assert_true(json_is_object(iv));
	assert_near(jd(iv, "users"), 6, 0);
	assert_near(jd(iv, "wins_a"), 1, 0);
	assert_near(jd(iv, "wins_b"), 3, 0);
	assert_near(jd(iv, "ties"), 1, 0);
	assert_near(jd(iv, "share_b"), 0.75, 1e-12);
	/* Wilson at 95% for 3 of 4, and the score test's p = 2 (1 - Phi(1)). */
	double z = 1.959963984540054, m = 4, s = 0.75, z2 = z * z;
	double centre = (s + z2 / (2 * m)) / (1 + z2 / m),
	       half = z / (1 + z2 / m) * sqrt(s * (1 - s) / m + z2 / (4 * m * m));
	assert_near(jd(iv, "lo"), centre - half, 1e-9);
	assert_near(jd(iv, "hi"), centre + half, 1e-9);
	assert_near(jd(iv, "p"), 0.31731050786291410, 1e-9);
	assert_string_equal(json_string_value(json_object_get(iv, "method")), "wilson");
	assert_non_null(strstr(json_string_value(json_object_get(j, "verdict")), "prefer team B (hybrid) in 75.0%"));
	assert_int_equal(json_array_size(json_object_get(j, "comparisons")), 0);
	assert_true(json_is_null(json_object_get(j, "srm")));
	strbuf sb = {0};
	analysis_csv(a, &sb);
	assert_int_equal(csv_get(strbuf_cstr(&sb), "i2", "team_b_plays"), 2);
	assert_int_equal(csv_get(strbuf_cstr(&sb), "i2", "team_a_plays"), 1);
	strbuf_free(&sb);
	/* The credit test over all six users, i5's zero included: d = B - A =
	 * (1, 2, 1, -1, 0, 0), mean 0.5, sd 1.0488 / sqrt 6, t on 5 df. From
	 * /usr/bin/python3 -c "from scipy import stats; import numpy as np;
	 *   d=np.array([1,2,1,-1,0,0.]); se=d.std(ddof=1)/np.sqrt(6); q=stats.t.ppf(0.975,5);
	 *   print(d.mean()-q*se, d.mean()+q*se, stats.ttest_1samp(d,0).pvalue)" */
	json_t *cr = json_object_get(iv, "credit");
	assert_true(json_is_object(cr));
	assert_near(jd(cr, "users"), 6, 0);
	assert_near(jd(cr, "plays_a"), 3, 0);
	assert_near(jd(cr, "plays_b"), 6, 0);
	assert_near(jd(cr, "share_b"), 6.0 / 9.0, 1e-12);
	assert_near(jd(cr, "mean_diff"), 0.5, 1e-12);
	assert_near(jd(cr, "df"), 5, 0);
	assert_near(jd(cr, "lo"), -0.6006573851269499, 1e-9);
	assert_near(jd(cr, "hi"), 1.6006573851269499, 1e-9);
	assert_near(jd(cr, "p"), 0.2955586447345284, 1e-9);
	assert_string_equal(json_string_value(json_object_get(cr, "method")), "t");
	assert_string_equal(json_string_value(json_object_get(iv, "primary")), "credit");
	assert_non_null(strstr(json_string_value(json_object_get(j, "verdict")),
	                       "Interleaved listeners show no significant preference by the credit test"));
	json_decref(j);
	analysis_free(a);
}

/* The credit test keeps the size of a preference where the sign test
 * cannot: six users play three of B's tracks and none of A's, five play
 * one of A's, three play nothing. 6 wins to 5 is no preference for the
 * sign test; a mean of +0.93 credited plays is one for the t test at
 * alpha 0.1. */
static void test_interleaving_credit(void **state)
{
	(void)state;
	experiment e = make_exp(1);
	snprintf(e.variant[0].config, sizeof e.variant[0].config, "model=interleave:popular+hybrid");
	an_options o;
	an_options_default(&o);
	o.alpha = 0.1;
	feed f;
	analysis *a = start(&e, &o, &f);
	int l[] = {1, 2, 3, 4, 5, 6};
	uint8_t teams[] = {0, 1, 0, 1, 0, 1};
	char user[8], req[8];
	for (int u = 0; u < 14; u++) {
		snprintf(user, sizeof user, "c%d", u);
		snprintf(req, sizeof req, "r%d", u);
		imp(&f, user, req, "control", T0 + HOUR, l, 6, teams);
		if (u < 6) /* B's three tracks */
			for (int k = 0; k < 3; k++)
				act(&f, user, EV_PLAY, req, l[2 * k + 1], 2 * k + 1, T0 + HOUR + 1 + k);
		else if (u < 11) /* one of A's */
			act(&f, user, EV_PLAY, req, l[2], 2, T0 + HOUR + 1);
	}
	finish(&f);
	json_t *j = report_json(a);
	json_t *iv = json_object_get(j, "interleaving"), *cr = json_object_get(iv, "credit");
	assert_near(jd(iv, "wins_b"), 6, 0);
	assert_near(jd(iv, "wins_a"), 5, 0);
	/* The score test: 2 (1 - Phi(0.5 / sqrt(11 / 4))). */
	assert_near(jd(iv, "p"), 0.763024600552995, 1e-9);
	assert_near(jd(cr, "users"), 14, 0);
	assert_near(jd(cr, "plays_b"), 18, 0);
	assert_near(jd(cr, "plays_a"), 5, 0);
	/* d = (3 x6, -1 x5, 0 x3); /usr/bin/python3 -c "from scipy import stats; import numpy as np;
	 *   d=np.array([3]*6+[-1]*5+[0]*3,dtype=float); se=d.std(ddof=1)/np.sqrt(14); q=stats.t.ppf(0.95,13);
	 *   print(d.mean(), d.mean()-q*se, d.mean()+q*se, stats.ttest_1samp(d,0).pvalue)" */
	assert_near(jd(cr, "mean_diff"), 0.9285714285714286, 1e-12);
	assert_near(jd(cr, "lo"), 0.02931158419603841, 1e-9);
	assert_near(jd(cr, "hi"), 1.8278312729468187, 1e-9);
	assert_near(jd(cr, "p"), 0.09047849034190042, 1e-9);
	const char *verdict = json_string_value(json_object_get(j, "verdict"));
	assert_non_null(strstr(verdict, "Interleaved listeners prefer team B (hybrid) by the credit test"));
	assert_non_null(strstr(verdict, "; by the sign test listeners prefer team B (hybrid) in 54.5%"));
	strbuf sb = {0};
	analysis_text(a, &sb);
	assert_non_null(strstr(strbuf_cstr(&sb), "Credit test (primary): credited plays A 5, B 18"));
	strbuf_free(&sb);
	json_decref(j);
	analysis_free(a);
}

/* The sequential view: by day over three days, its last point the whole
 * experiment's (unadjusted) difference; by hour within one day. */
static void test_sequential(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	an_options o;
	an_options_default(&o);
	o.cuped = 0;
	feed f;
	analysis *a = start(&e, &o, &f);
	synth s = {.users = 900, .p = {0.1, 0.13}, .share = {1, 1}, .lists = 2, .days = 3, .seed = 3};
	synth_feed(&f, &e, &s);
	finish(&f);
	json_t *j = report_json(a);
	assert_string_equal(json_string_value(json_object_get(j, "period")), "day");
	json_t *seq = json_object_get(j, "sequential");
	assert_int_equal(json_array_size(seq), 3);
	json_t *first = json_array_get(seq, 0), *last = json_array_get(seq, 2);
	assert_string_equal(json_string_value(json_object_get(first, "day")), "2025-01-01");
	assert_string_equal(json_string_value(json_object_get(last, "day")), "2025-01-03");
	json_t *c = comparison(j, "treatment", "play_rate");
	assert_near(jd(last, "diff"), jd(c, "diff"), 1e-12);
	assert_near(json_number_value(json_array_get(json_object_get(last, "users"), 0)) +
	                    json_number_value(json_array_get(json_object_get(last, "users"), 1)),
	            900, 0);
	/* The users grow, and the always-valid interval is wider than the fixed one. */
	assert_true(json_number_value(json_array_get(json_object_get(first, "users"), 0)) < 450);
	assert_true(jd(last, "lo") < jd(c, "diff_lo") && jd(last, "hi") > jd(c, "diff_hi"));
	assert_true(jd(last, "lo") <= jd(last, "diff") && jd(last, "diff") <= jd(last, "hi"));
	assert_true(jd(first, "hi") - jd(first, "lo") > jd(last, "hi") - jd(last, "lo"));
	assert_true(jd(j, "tau2") > 0);
	json_decref(j);
	analysis_free(a);

	a = start(&e, &o, &f);
	s.days = 0; /* every list at T0 + a few minutes: one day */
	s.users = 100;
	synth_feed(&f, &e, &s);
	finish(&f);
	j = report_json(a);
	assert_string_equal(json_string_value(json_object_get(j, "period")), "hour");
	seq = json_object_get(j, "sequential");
	assert_true(json_array_size(seq) >= 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(seq, 0), "day")), "2025-01-01T00:00Z");
	json_decref(j);
	analysis_free(a);
}

/* Every field of the contract, with its type; the text, charts and verdict. */
static void test_json_fields(void **state)
{
	(void)state;
	experiment e = make_exp(3);
	feed f;
	analysis *a = start(&e, NULL, &f);
	synth s = {.users = 600, .p = {0.1, 0.15, 0.1}, .share = {1, 1, 1}, .lists = 2, .days = 2, .pre = 1, .seed = 4};
	synth_feed(&f, &e, &s);
	finish(&f);
	json_t *j = report_json(a);
	assert_true(json_is_object(json_object_get(j, "experiment")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "experiment"), "name")), "exp1");
	assert_true(json_is_number(json_object_get(j, "alpha")));
	assert_string_equal(json_string_value(json_object_get(j, "correction")), "holm");
	assert_near(jd(j, "users"), 600, 0);
	json_t *as = json_object_get(j, "assignment");
	assert_true(json_is_integer(json_object_get(as, "mismatches")));
	assert_true(json_is_integer(json_object_get(as, "mixed")));
	assert_true(json_is_integer(json_object_get(as, "unknown_variant")));
	json_t *srm = json_object_get(j, "srm");
	const char *srm_keys[] = {"chi2", "p"};
	for (size_t k = 0; k < 2; k++)
		assert_true(json_is_number(json_object_get(srm, srm_keys[k])));
	assert_true(json_is_boolean(json_object_get(srm, "alarm")));
	assert_int_equal(json_array_size(json_object_get(srm, "observed")), 3);
	assert_int_equal(json_array_size(json_object_get(srm, "expected")), 3);
	json_t *vs = json_object_get(j, "variants");
	assert_int_equal(json_array_size(vs), 3);
	for (size_t v = 0; v < 3; v++) {
		json_t *var = json_array_get(vs, v);
		assert_string_equal(json_string_value(json_object_get(var, "name")), e.variant[v].name);
		assert_true(json_is_string(json_object_get(var, "config")));
		assert_near(jd(var, "users"), 200, 0);
		assert_near(jd(var, "impressions"), 400, 0);
		assert_near(jd(var, "impressed_tracks"), 4000, 0);
		json_t *ms = json_object_get(var, "metrics");
		for (int m = 0; m < AN__COUNT; m++) {
			json_t *mm = json_object_get(ms, an_metric_name(m));
			assert_non_null(mm);
			const char *keys[] = {"value", "se", "num", "den"};
			for (size_t k = 0; k < 4; k++)
				assert_true(json_is_number(json_object_get(mm, keys[k])));
			assert_near(jd(mm, "value"), jd(mm, "num") / jd(mm, "den"), 1e-12);
			assert_int_equal(json_object_get(mm, "pre_num") != NULL, m < 4);
		}
	}
	json_t *cs = json_object_get(j, "comparisons");
	assert_int_equal(json_array_size(cs), 2 * AN__COUNT);
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		const char *nums[] = {"diff", "diff_lo",    "diff_hi", "lift",      "lift_lo", "lift_hi",
		                      "p",    "p_adjusted", "control", "treatment", "df"};
		for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
			if (!json_is_number(json_object_get(c, nums[k])))
				fail_msg("comparison %zu: %s is not a number", i, nums[k]);
		const char *bools[] = {"primary", "guardrail", "cuped", "significant", "harmful"};
		for (size_t k = 0; k < sizeof bools / sizeof bools[0]; k++)
			assert_true(json_is_boolean(json_object_get(c, bools[k])));
		assert_non_null(json_object_get(c, "theta"));
		assert_non_null(json_object_get(c, "variance_reduction"));
		assert_true(jd(c, "p_adjusted") >= jd(c, "p"));
		const char *metric = json_string_value(json_object_get(c, "metric"));
		assert_int_equal(json_is_true(json_object_get(c, "primary")), strcmp(metric, "play_rate") == 0);
		assert_int_equal(json_is_true(json_object_get(c, "guardrail")), strcmp(metric, "skip_rate") == 0);
	}
	/* treatment's 50% more plays is found. */
	assert_true(json_is_true(json_object_get(comparison(j, "treatment", "play_rate"), "significant")));
	assert_true(jd(comparison(j, "treatment", "play_rate"), "lift") > 0.3);
	json_t *seq = json_object_get(j, "sequential");
	assert_int_equal(json_array_size(seq), 2 * 2); /* two days, two treatments */
	json_array_foreach(seq, i, c)
	{
		assert_true(json_is_string(json_object_get(c, "day")));
		assert_int_equal(json_array_size(json_object_get(c, "users")), 3);
		assert_string_equal(json_string_value(json_object_get(c, "metric")), "play_rate");
		assert_true(json_is_string(json_object_get(c, "variant")));
		const char *nums[] = {"diff", "lo", "hi", "p"};
		for (size_t k = 0; k < 4; k++)
			assert_true(json_is_number(json_object_get(c, nums[k])));
	}
	assert_true(json_is_null(json_object_get(j, "interleaving")));
	const char *verdict = json_string_value(json_object_get(j, "verdict"));
	assert_non_null(strstr(verdict, "treatment raises play rate by"));
	assert_non_null(strstr(verdict, "significant after Holm"));

	strbuf sb = {0};
	char why[256];
	analysis_svg_lift(a, &sb);
	if (tu_xml_check(strbuf_cstr(&sb), why, sizeof why))
		fail_msg("lift svg: %s", why);
	assert_non_null(strstr(strbuf_cstr(&sb), "play_rate (primary)"));
	assert_non_null(strstr(strbuf_cstr(&sb), "skip_rate (guardrail)"));
	strbuf_reset(&sb);
	analysis_svg_sequential(a, &sb);
	if (tu_xml_check(strbuf_cstr(&sb), why, sizeof why))
		fail_msg("sequential svg: %s", why);
	assert_non_null(strstr(strbuf_cstr(&sb), "2025-01-02"));
	strbuf_reset(&sb);
	analysis_text(a, &sb);
	assert_non_null(strstr(strbuf_cstr(&sb), "Verdict: treatment raises play rate"));
	assert_non_null(strstr(strbuf_cstr(&sb), "Sample ratio: as the weights say"));
	strbuf_free(&sb);
	json_decref(j);
	analysis_free(a);
}

/* Before any event: a report that says so, valid JSON, charts with no data. */
static void test_empty(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	feed f;
	analysis *a = start(&e, NULL, &f);
	finish(&f);
	json_t *j = report_json(a);
	assert_near(jd(j, "users"), 0, 0);
	assert_true(json_is_null(json_object_get(j, "srm")));
	assert_true(json_is_null(json_object_get(comparison(j, "treatment", "play_rate"), "p")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "verdict")), "No listener"));
	json_decref(j);
	strbuf sb = {0};
	analysis_svg_lift(a, &sb);
	assert_non_null(strstr(strbuf_cstr(&sb), "No data"));
	strbuf_reset(&sb);
	analysis_svg_sequential(a, &sb);
	assert_non_null(strstr(strbuf_cstr(&sb), "No data"));
	strbuf_reset(&sb);
	analysis_csv(a, &sb);
	assert_int_equal(csv_rows(strbuf_cstr(&sb)), 0);
	strbuf_free(&sb);
	analysis_free(a);

	an_options o;
	an_options_default(&o);
	o.alpha = 1.5;
	seg_error err = {0};
	assert_int_equal(analysis_create(&e, &o, &a, &err), SEG_EINVAL);
	assert_null(a);
	assert_int_equal(an_metric_find("discovery_rate"), AN_DISCOVERY_RATE);
	assert_int_equal(an_metric_find("nope"), -1);
	assert_string_equal(an_metric_name(AN_FIRST_PLAY_POSITION), "first_play_position");
}

/* Runs tests/golden/experiment_recompute.py on a's export and report;
 * 0 when it agrees, 1 when the script or scipy is missing (skip). */
static int recompute(const analysis *a)
{
	char script[1024];
	if (tu_golden_path("experiment_recompute.py", script, sizeof script) == NULL) {
		print_message("tests/golden/experiment_recompute.py is not there yet\n");
		return 1;
	}
	if (tu_run("/usr/bin/python3 -c 'import scipy, numpy' 2>/dev/null", NULL) != 0) {
		print_message("/usr/bin/python3 lacks scipy\n");
		return 1;
	}
	const char *dir = tu_tmpdir();
	strbuf sb = {0};
	analysis_csv(a, &sb);
	char csv[1100], js[1100];
	snprintf(csv, sizeof csv, "%s", tu_write(dir, "users.csv", strbuf_cstr(&sb)));
	strbuf_reset(&sb);
	analysis_json(a, &sb);
	snprintf(js, sizeof js, "%s", tu_write(dir, "report.json", strbuf_cstr(&sb)));
	strbuf_free(&sb);
	char cmd[4096], *out = NULL;
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s' 2>&1", script, csv, js);
	int rc = tu_run(cmd, &out);
	if (rc != 0)
		fail_msg("%s exited %d:\n%s", cmd, rc, out ? out : "");
	print_message("%s", out ? out : "");
	free(out);
	tu_rmtree(dir);
	return 0;
}

/* The whole report recomputed with scipy from the CSV export. */
static void test_recompute(void **state)
{
	(void)state;
	experiment e = make_exp(2);
	feed f;
	analysis *a = start(&e, NULL, &f);
	synth s = {.users = 3000, .p = {0.1, 0.108}, .share = {1, 1}, .lists = 3, .days = 4, .pre = 1, .seed = 5};
	synth_feed(&f, &e, &s);
	finish(&f);
	/* The known effect, an 8% relative lift in plays, is inside the interval. */
	json_t *j = report_json(a);
	json_t *c = comparison(j, "treatment", "play_rate");
	assert_true(jd(c, "lift_lo") < 0.08 && 0.08 < jd(c, "lift_hi"));
	json_decref(j);
	int skipped = recompute(a);
	analysis_free(a);
	if (skipped)
		skip();
}

/* An interleaved experiment's credit and sign tests recomputed the same
 * way: 400 users, two lists each, B's tracks played a little more often,
 * many users with no play. */
static void test_recompute_interleaving(void **state)
{
	(void)state;
	experiment e = make_exp(1);
	snprintf(e.variant[0].config, sizeof e.variant[0].config, "model=interleave:popular+hybrid");
	feed f;
	analysis *a = start(&e, NULL, &f);
	rng r;
	rng_seed(&r, 11);
	int l[] = {1, 2, 3, 4, 5, 6};
	uint8_t teams[] = {0, 1, 1, 0, 0, 1};
	char user[16], req[16];
	for (int u = 0; u < 400; u++) {
		snprintf(user, sizeof user, "w%d", u);
		for (int k = 0; k < 2; k++) {
			snprintf(req, sizeof req, "w%d-%d", u, k);
			imp(&f, user, req, "control", T0 + HOUR + 10 * k, l, 6, teams);
			for (int pos = 0; pos < 6; pos++)
				if (rng_u01(&r) < (teams[pos] ? 0.09 : 0.06) / (1 + 0.3 * pos))
					act(&f, user, EV_PLAY, req, l[pos], pos, T0 + HOUR + 10 * k + 1 + pos);
		}
	}
	finish(&f);
	json_t *j = report_json(a);
	json_t *cr = json_object_get(json_object_get(j, "interleaving"), "credit");
	assert_near(jd(cr, "users"), 400, 0);
	assert_true(jd(cr, "mean_diff") > 0);
	json_decref(j);
	int skipped = recompute(a);
	analysis_free(a);
	if (skipped)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_srm),
		cmocka_unit_test(test_cuped),
		cmocka_unit_test(test_interleaving),
		cmocka_unit_test(test_interleaving_credit),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_recompute_interleaving),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
