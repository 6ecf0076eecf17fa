/* test_serve.c: the HTTP API against a real `segue serve` on a free loopback
 * port: every route, every bad-input case (malformed JSON, wrong types,
 * unknown ids, k out of bounds, a body over 64 KiB, an overlong URL, bytes
 * that are not UTF-8), the OpenAPI document against the route table,
 * metrics, the limits on clients, the security headers and checks, the
 * access log, and a clean shutdown on SIGTERM.
 *
 * Each test has its own fixture: a copy of a workspace built once for the
 * group and a server started on it, so that any test can run alone or in
 * any order (SEGUE_TEST_FILTER=test_eda_cache runs one). */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "synth/gen.h"
#include "ingest/ingest.h"
#include "serve/serve.h"
#include "engine/train.h"

static const char *dir;         /* the group's directory: base/ (built once), ws/ (each test's copy) */
static pid_t server_pid;
static int port;
static char first_id[32];       /* a track of the fixture's catalogue */
static char log_path[PATH_MAX]; /* the server's standard error */

/* Starts `segue serve` on the test's workspace, with the access log going
 * to log_path, and reads the port from its banner. */
static int start_server(void)
{
	char ws[PATH_MAX];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(log_path, sizeof log_path, "%s/serve.log", dir);
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	server_pid = fork();
	if (server_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (log >= 0)
			dup2(log, 2);
		const char *bin = getenv("SEGUE_BIN");
		execl(bin ? bin : "./build-san/segue", "segue", "serve", "--workspace", ws, "--port", "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[512];
	port = 0;
	while (port == 0 && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, "http://127.0.0.1:");
		if (p)
			port = atoi(p + 17);
	}
	fclose(f);
	return port > 0 ? 0 : -1;
}

/* SIGTERM, then the exit status once the server is gone (-1: still up
 * after 5 s). */
static int stop_server(void)
{
	kill(server_pid, SIGTERM);
	int status = -1;
	for (int i = 0; i < 100; i++) {
		if (waitpid(server_pid, &status, WNOHANG) == server_pid)
			break;
		usleep(50000);
	}
	server_pid = 0;
	return status;
}

/* Runs a shell command; its exit status, or -1. */
static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Builds the base workspace once: a synthetic catalogue, a model, and the
 * EDA cache a first start writes. */
static int group_setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	char ws[PATH_MAX], syn[PATH_MAX];
	snprintf(ws, sizeof ws, "%s/base", dir);
	snprintf(syn, sizeof syn, "%s/syn", dir);
	gen_options g;
	gen_options_init(&g);
	g.tracks = 3000;
	g.playlists = 300;
	g.out_dir = syn;
	gen_result gr;
	seg_error err = {0};
	char *paths[1] = {syn};
	ingest_options io = {.workspace = ws};
	ingest_summary sum;
	train_options to;
	train_options_default(&to);
	to.workspace = ws;
	to.verbose = 0;
	to.clusters = 5;
	to.factors = 8;
	to.als_iterations = 3;
	to.quality_rounds = 10;
	to.cv_folds = 3;
	char version[32];
	if (gen_write(&g, &gr, &err) < 0 || ingest_run(&io, paths, 1, &sum, &err) < 0 ||
	    train_run(&to, version, sizeof version, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	ingest_summary_free(&sum);
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s/ws'", ws, dir);
	if (run(cmd) != 0 || start_server() < 0 || stop_server() != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s/ws' '%s'", ws, dir, ws);
	return run(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	return 0;
}

static json_t *get_json(const char *target, int want_status);

/* Each test's fixture: a fresh copy of the base workspace, a server on it,
 * and first_id, the first hit of a search. */
static int fixture_up(void **state)
{
	(void)state;
	char cmd[4 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/ws' '%s' && cp -a '%s/base' '%s/ws'", dir, log_path, dir, dir);
	if (run(cmd) != 0 || start_server() < 0)
		return -1;
	json_t *j = get_json("/api/tracks?q=synthetic&limit=1", 200);
	json_t *t0 = json_array_get(json_object_get(j, "tracks"), 0);
	snprintf(first_id, sizeof first_id, "%s", json_string_value(json_object_get(t0, "id")));
	json_decref(j);
	return strlen(first_id) == 22 ? 0 : -1;
}

static int fixture_down(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	return 0;
}

static json_t *get_json(const char *target, int want_status)
{
	char *body;
	char ctype[128];
	int st = tu_http(port, "GET", target, NULL, 0, &body, ctype, sizeof ctype);
	if (st != want_status)
		fail_msg("GET %s: status %d, wanted %d: %s", target, st, want_status, body ? body : "");
	assert_non_null(strstr(ctype, "application/json"));
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	free(body);
	assert_non_null(j);
	return j;
}

/* POSTs a body and checks the status and, for errors, the error shape. */
static json_t *post(const char *body, size_t len, int want_status)
{
	char *resp;
	int st = tu_http(port, "POST", "/api/recommend", body, len, &resp, NULL, 0);
	if (st != want_status)
		fail_msg("POST %.60s: status %d, wanted %d: %.300s", body, st, want_status, resp ? resp : "");
	json_error_t je;
	json_t *j = json_loads(resp, 0, &je);
	free(resp);
	assert_non_null(j);
	if (want_status >= 400) {
		assert_true(json_is_string(json_object_get(j, "error")));
		assert_true(json_is_string(json_object_get(j, "detail")));
	}
	return j;
}

static void test_health_and_search(void **state)
{
	(void)state;
	json_t *j = get_json("/api/health", 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	assert_int_equal(json_integer_value(json_object_get(j, "tracks")), 3000);
	json_decref(j);
	j = get_json("/api/tracks?q=synthetic&limit=5", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 5);
	json_t *t0 = json_array_get(json_object_get(j, "tracks"), 0);
	snprintf(first_id, sizeof first_id, "%s", json_string_value(json_object_get(t0, "id")));
	assert_int_equal(strlen(first_id), 22);
	json_decref(j);
	j = get_json("/api/tracks?genre=jazz&limit=3", 200);
	assert_true(json_integer_value(json_object_get(j, "count")) > 0);
	json_decref(j);
	json_decref(get_json("/api/tracks", 400));
	json_decref(get_json("/api/tracks?q=x&limit=0", 400));
	json_decref(get_json("/api/tracks?q=x&limit=abc", 400));
	json_decref(get_json("/api/tracks?q=x&limit=101", 400));
}

static void test_track_and_similar(void **state)
{
	(void)state;
	char target[128];
	snprintf(target, sizeof target, "/api/tracks/%s", first_id);
	json_t *j = get_json(target, 200);
	assert_true(json_is_object(json_object_get(j, "features")));
	assert_true(json_is_object(json_object_get(j, "cluster")));
	json_decref(j);
	json_decref(get_json("/api/tracks/not-an-id", 400));
	json_decref(get_json("/api/tracks/0000000000000000000000", 404));
	snprintf(target, sizeof target, "/api/similar/%s?k=7", first_id);
	j = get_json(target, 200);
	assert_int_equal(json_array_size(json_object_get(j, "tracks")), 7);
	json_decref(j);
	snprintf(target, sizeof target, "/api/similar/%s?k=1000", first_id);
	json_decref(get_json(target, 400));
}

static void test_recommend(void **state)
{
	(void)state;
	char body[512];
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 6, \"diversity\": 0.5, \"mood\": {\"energy\": 0.7}}",
	         first_id);
	json_t *j = post(body, strlen(body), 200);
	json_t *tracks = json_object_get(j, "tracks");
	assert_int_equal(json_array_size(tracks), 6);
	assert_true(strlen(json_string_value(json_object_get(j, "request_id"))) > 8);
	for (size_t i = 0; i < json_array_size(tracks); i++) {
		json_t *t = json_array_get(tracks, i);
		assert_string_not_equal(json_string_value(json_object_get(t, "id")), first_id);
		assert_true(strlen(json_string_value(json_object_get(t, "reasons"))) > 0);
		assert_non_null(strstr(json_string_value(json_object_get(t, "url")), "open.spotify.com/track/"));
		/* The answer's fields, written by hand, are the track route's
		 * (written through jansson). */
		char target[128];
		snprintf(target, sizeof target, "/api/tracks/%s", json_string_value(json_object_get(t, "id")));
		json_t *one = get_json(target, 200);
		const char *keys[] = {"id", "name", "artists", "genres", "popularity", "has_features", "url"};
		for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
			if (!json_equal(json_object_get(t, keys[k]), json_object_get(one, keys[k])))
				fail_msg("%s differs between /api/recommend and %s", keys[k], target);
		json_decref(one);
	}
	json_decref(j);
	/* Mood alone and the popular baseline need no seeds. */
	const char *mood = "{\"mood\": {\"valence\": 0.9}}", *pop = "{\"model\": \"popular\", \"k\": 3}";
	json_decref(post(mood, strlen(mood), 200));
	json_decref(post(pop, strlen(pop), 200));
}

static void test_recommend_bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int status;
	} cases[] = {
		{"{\"seeds\": [", 400},                                  /* malformed */
		{"", 400},                                               /* empty */
		{"[1,2]", 400},                                          /* not an object */
		{"{\"seeds\": \"abc\"}", 400},                           /* wrong type */
		{"{\"seeds\": [42]}", 400},                              /* wrong element type */
		{"{\"seeds\": [\"nope\"]}", 400},                        /* not an id */
		{"{\"seeds\": [\"0000000000000000000000\"]}", 404},      /* unknown id */
		{"{\"mood\": {\"energy\": 0.5}, \"k\": 0}", 400},        /* k out of bounds */
		{"{\"mood\": {\"energy\": 0.5}, \"k\": 101}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"k\": \"ten\"}", 400},
		{"{\"mood\": {\"energy\": 1.5}}", 400},                  /* mood out of range */
		{"{\"mood\": {\"vibes\": 0.5}}", 400},                   /* unknown mood feature */
		{"{\"mood\": {\"energy\": \"high\"}}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"diversity\": 2}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"model\": \"magic\"}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"colour\": 1}", 400},   /* unknown field */
		{"{}", 400},                                             /* neither seeds nor mood */
		{"{\"seeds\": [], \"seeds\": []}", 400},                 /* duplicate key */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		json_decref(post(cases[i].body, strlen(cases[i].body), cases[i].status));
	/* A body over 64 KiB. */
	size_t n = 70 * 1024;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	json_decref(post(big, n, 413));
	free(big);
	/* The server is still there. */
	json_decref(get_json("/api/health", 200));
}

static void test_routes_and_errors(void **state)
{
	(void)state;
	json_t *j = get_json("/api/gems?limit=5", 200);
	assert_true(json_array_size(json_object_get(j, "tracks")) <= 5);
	json_decref(j);
	json_decref(get_json("/api/gems?genre=no-such-genre", 400));
	j = get_json("/api/clusters", 200);
	assert_int_equal(json_array_size(json_object_get(j, "clusters")), 5);
	json_decref(j);
	j = get_json("/api/map?limit=100", 200);
	size_t np = json_array_size(json_object_get(j, "points"));
	assert_true(np > 0 && np <= 100);
	assert_int_equal(json_array_size(json_object_get(j, "tracks")), np);
	json_decref(j);
	j = get_json("/api/models", 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "models"), 0), "version")),
	                    "v1");
	json_decref(j);
	j = get_json("/api/eda/summary", 200);
	json_t *charts = json_object_get(j, "charts");
	assert_true(json_array_size(charts) > 5);
	char target[256];
	snprintf(target, sizeof target, "/api/charts/%s.svg",
	         json_string_value(json_object_get(json_array_get(charts, 0), "name")));
	json_decref(j);
	char *body, ctype[128];
	assert_int_equal(tu_http(port, "GET", target, NULL, 0, &body, ctype, sizeof ctype), 200);
	assert_string_equal(ctype, "image/svg+xml");
	assert_int_equal(strncmp(body, "<svg", 4), 0);
	free(body);
	json_decref(get_json("/api/charts/nothing.svg", 404));
	json_decref(get_json("/api/nowhere", 404));
	/* Wrong method. */
	assert_int_equal(tu_http(port, "GET", "/api/recommend", NULL, 0, &body, NULL, 0), 405);
	free(body);
	assert_int_equal(tu_http(port, "POST", "/api/health", "{}", 2, &body, NULL, 0), 405);
	free(body);
	/* An overlong URL gets a 4xx, not a hang or a crash. */
	size_t n = 20000;
	char *url = malloc(n + 32);
	strcpy(url, "/api/tracks?q=");
	memset(url + 14, 'a', n);
	url[14 + n] = '\0';
	int st = tu_http(port, "GET", url, NULL, 0, &body, NULL, 0);
	assert_true(st == 414 || st == 431 || st == 400);
	free(body);
	free(url);
	json_decref(get_json("/api/health", 200));
}

static void test_openapi_matches_routes(void **state)
{
	(void)state;
	json_t *doc = get_json("/openapi.json", 200);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	json_t *paths = json_object_get(doc, "paths");
	/* Every route is documented with its method... */
	for (size_t i = 0; i < serve_nroutes; i++) {
		json_t *p = json_object_get(paths, serve_routes[i].path);
		if (p == NULL)
			fail_msg("route %s is not in openapi.json", serve_routes[i].path);
		char m[8];
		snprintf(m, sizeof m, "%s", serve_routes[i].method);
		for (char *c = m; *c; c++)
			*c = (char)(*c - 'A' + 'a');
		if (json_object_get(p, m) == NULL)
			fail_msg("openapi.json has no %s for %s", m, serve_routes[i].path);
	}
	/* ...and every documented path is a route. */
	const char *key;
	json_t *v;
	json_object_foreach(paths, key, v)
	{
		int found = 0;
		for (size_t i = 0; i < serve_nroutes; i++)
			found |= strcmp(serve_routes[i].path, key) == 0;
		if (!found)
			fail_msg("openapi.json documents %s, which the server does not route", key);
	}
	json_decref(doc);
}

static void test_metrics_and_dashboard(void **state)
{
	(void)state;
	char *body, ctype[128];
	/* Requests for the counters to count. */
	const char *ok = "{\"model\": \"popular\", \"k\": 3}", *bad = "{}";
	json_decref(post(ok, strlen(ok), 200));
	json_decref(post(bad, strlen(bad), 400));
	json_decref(get_json("/api/health", 200));
	assert_int_equal(tu_http(port, "GET", "/metrics", NULL, 0, &body, ctype, sizeof ctype), 200);
	assert_non_null(strstr(ctype, "text/plain"));
	assert_non_null(strstr(body, "segue_requests_total{route=\"/api/recommend\",status=\"2xx\"}"));
	assert_non_null(strstr(body, "segue_requests_total{route=\"/api/recommend\",status=\"4xx\"}"));
	assert_non_null(strstr(body, "segue_request_duration_seconds_bucket{route=\"/api/health\",le=\"+Inf\"}"));
	assert_non_null(strstr(body, "segue_knn_searches_total{method=\"clusters\"} "));
	assert_non_null(strstr(body, "segue_knn_rows_scored_total "));
	free(body);
	int st = tu_http(port, "GET", "/", NULL, 0, &body, ctype, sizeof ctype);
	assert_int_equal(st, 200);
	assert_non_null(strstr(ctype, "text/html"));
	assert_non_null(strstr(body, "<html"));
	free(body);
}

/* The answers that show track names, as one JSON array (request ids
 * removed: they differ on purpose). */
static json_t *named_answers(void)
{
	char target[128], body[256];
	json_t *all = json_array();
	snprintf(target, sizeof target, "/api/tracks/%s", first_id);
	json_array_append_new(all, get_json(target, 200));
	snprintf(target, sizeof target, "/api/similar/%s?k=10", first_id);
	json_array_append_new(all, get_json(target, 200));
	json_array_append_new(all, get_json("/api/gems?limit=5", 200));
	json_array_append_new(all, get_json("/api/map?limit=50", 200));
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 8, \"exclude\": [\"%s\"]}", first_id, first_id);
	json_array_append_new(all, post(body, strlen(body), 200));
	json_array_append_new(all, get_json("/api/tracks/0000000000000000000000", 404));
	for (size_t i = 0; i < json_array_size(all); i++)
		json_object_del(json_array_get(all, i), "request_id");
	return all;
}

/* Display fields come from the names file that ingest wrote; where it
 * cannot be read or written they come from SQLite, and where it is missing
 * the server writes it: the answers are the same every way. */
static void test_names_file_and_sql_agree(void **state)
{
	(void)state;
	char names_path[PATH_MAX];
	snprintf(names_path, sizeof names_path, "%s/ws/names.seg", dir);
	assert_int_equal(access(names_path, R_OK), 0); /* written by ingest */
	json_t *mapped = named_answers();
	/* A directory in its place: it can be neither opened nor replaced. */
	assert_int_equal(stop_server(), 0);
	assert_int_equal(unlink(names_path), 0);
	assert_int_equal(mkdir(names_path, 0700), 0);
	assert_int_equal(start_server(), 0);
	json_t *sql = named_answers();
	assert_true(json_equal(mapped, sql));
	/* Missing: written at start. */
	assert_int_equal(stop_server(), 0);
	assert_int_equal(rmdir(names_path), 0);
	assert_int_equal(start_server(), 0);
	assert_int_equal(access(names_path, R_OK), 0);
	json_t *rewritten = named_answers();
	assert_true(json_equal(mapped, rewritten));
	json_decref(mapped);
	json_decref(sql);
	json_decref(rewritten);
}

/* A track catalogued after the server started is not in its names file:
 * it is found in the catalogue itself. */
static void test_track_added_while_running(void **state)
{
	(void)state;
	char db_path[PATH_MAX];
	snprintf(db_path, sizeof db_path, "%s/ws/catalog.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	tu_sql_exec(db, "INSERT INTO tracks(spotify_id, name, popularity) VALUES('7NewTrack0AfterStart00', 'Late Song', 12)");
	sqlite3_close(db);
	json_t *j = get_json("/api/tracks/7NewTrack0AfterStart00", 200);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "Late Song");
	assert_int_equal(json_integer_value(json_object_get(j, "popularity")), 12);
	json_decref(j);
	json_decref(get_json("/api/tracks/7NewTrack0AfterStart01", 404));
}

/* The summary and the first chart, as one JSON array. */
static json_t *eda_answers(void)
{
	json_t *sum = get_json("/api/eda/summary", 200);
	char target[128], *svg = NULL;
	snprintf(target, sizeof target, "/api/charts/%s.svg",
	         json_string_value(json_object_get(json_array_get(json_object_get(sum, "charts"), 0), "name")));
	assert_int_equal(tu_http(port, "GET", target, NULL, 0, &svg, NULL, 0), 200);
	json_t *all = json_pack("[o,s]", sum, svg);
	free(svg);
	return all;
}

static long long mtime_ns(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* A start keeps the EDA summary and charts for the next one, which reads
 * them back as they were; once the catalogue changes they are computed
 * again. */
static void test_eda_cache(void **state)
{
	(void)state;
	char cache[PATH_MAX], db_path[PATH_MAX];
	snprintf(cache, sizeof cache, "%s/ws/eda.seg", dir);
	snprintf(db_path, sizeof db_path, "%s/ws/catalog.db", dir);
	long long t0 = mtime_ns(cache);
	json_t *before = eda_answers();
	assert_int_equal(stop_server(), 0);
	assert_int_equal(start_server(), 0);
	assert_int_equal(mtime_ns(cache), t0); /* read, not written */
	json_t *cached = eda_answers();
	assert_true(json_equal(before, cached));
	assert_int_equal(stop_server(), 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	tu_sql_exec(db, "INSERT INTO ingests(file, variant, started_at) VALUES('x.csv', 'synthetic', '2026-11-26')");
	sqlite3_close(db);
	assert_int_equal(start_server(), 0);
	assert_true(mtime_ns(cache) != t0); /* computed again */
	json_t *after = eda_answers();
	/* the new ingest is counted: the figures are the catalogue's of now */
	json_int_t files0 = json_integer_value(
		json_object_get(json_object_get(json_array_get(before, 0), "counts"), "ingested_files"));
	json_int_t files1 = json_integer_value(
		json_object_get(json_object_get(json_array_get(after, 0), "counts"), "ingested_files"));
	assert_true(files0 > 0);
	assert_int_equal(files1, files0 + 1);
	json_decref(before);
	json_decref(cached);
	json_decref(after);
}

static void test_sigterm_shuts_down_cleanly(void **state)
{
	(void)state;
	int status = stop_server();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health_and_search, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_track_and_similar, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend_bad_input, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_routes_and_errors, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_openapi_matches_routes, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_metrics_and_dashboard, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_names_file_and_sql_agree, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_eda_cache, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_track_added_while_running, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_sigterm_shuts_down_cleanly, fixture_up, fixture_down),
	};
	/* One test, or those matching a pattern, e.g. SEGUE_TEST_FILTER=test_eda_cache. */
	const char *filter = getenv("SEGUE_TEST_FILTER");
	if (filter != NULL && *filter)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
