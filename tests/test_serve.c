/* test_serve.c: the HTTP API against a real `segue serve` on a free loopback
 * port: every route, every bad-input case (malformed JSON, wrong types,
 * unknown ids, k out of bounds, a body over 64 KiB, an overlong URL, bytes
 * that are not UTF-8), the OpenAPI document against the route table,
 * metrics, the limits on clients, the security headers and checks, the
 * access log, and a clean shutdown on SIGTERM; and, with serve_run on a
 * thread of this process, a model registered at run time offered by the
 * recommend route, /api/models and the OpenAPI document.
 *
 * Each test has its own fixture: a copy of a workspace built once for the
 * group and a server started on it, so that any test can run alone or in
 * any order (SEGUE_TEST_FILTER=test_eda_cache runs one). */
#include "testutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "core/strbuf.h"
#include "engine/recommender.h"
#include "experiment/events.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"
#include "pipeline/pipeline.h"
#include "pipeline/registry.h"
#include "pipeline/runs.h"
#include "serve/serve.h"
/* Last: OpenBLAS brings <complex.h>, whose macro I would clash with the
 * engine's field names. */
#include <cblas.h>

static const char *dir; /* the group's directory: base/ (built once), ws/ (each test's copy) */
static pid_t server_pid;
static int port;
static char first_id[32];       /* a track of the fixture's catalogue */
static char song_ids[3][32];    /* a song and two versions of it that sound the same (group_setup) */
static char song_title[256];    /* the song's title */
static char log_path[PATH_MAX]; /* the server's standard error */
static char banner[2048];       /* its standard output up to the line with its port */

/* Starts `segue serve` on the test's workspace, with the access log going
 * to log_path and the options extra[] (NULL-terminated, may be NULL), and
 * reads the port from its banner. */
static int start_server_with(const char *const *extra)
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
		const char *argv[16] = {"segue", "serve", "--workspace", ws, "--port", "0"};
		for (int i = 0; extra != NULL && extra[i] != NULL && i < 9; i++)
			argv[6 + i] = extra[i];
		execv(bin ? bin : "./build-san/segue", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[512];
	port = 0;
	banner[0] = '\0';
	while (port == 0 && fgets(line, sizeof line, f)) {
		size_t len = strlen(banner);
		snprintf(banner + len, sizeof banner - len, "%s", line);
		const char *p = strstr(line, "http://127.0.0.1:");
		if (p)
			port = atoi(p + 17);
	}
	fclose(f);
	return port > 0 ? 0 : -1;
}

static int start_server(void) { return start_server_with(NULL); }

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
	char ws[PATH_MAX];
	snprintf(ws, sizeof ws, "%s/base", dir);
	tu_train_sizes sizes = {.clusters = 5, .factors = 8, .als_iterations = 3, .quality_rounds = 10, .cv_folds = 3};
	if (tu_build_workspace(dir, ws, 3000, 300, 42, NULL) < 0)
		return -1;
	/* Two versions of one song that sound exactly like it: a remaster and
	 * a live take of the first track with features. */
	long seed = 1000, v1 = 1001, v2 = 1002;
	tu_make_version(ws, v1, seed, " - 2011 Remaster", 1);
	tu_make_version(ws, v2, seed, " (Live at the BBC)", 1);
	char q[128];
	long ids[3] = {seed, v1, v2};
	for (int i = 0; i < 3; i++) {
		snprintf(q, sizeof q, "SELECT spotify_id FROM tracks WHERE id = %ld", ids[i]);
		snprintf(song_ids[i], sizeof song_ids[i], "%s", tu_ws_text(ws, q));
	}
	snprintf(q, sizeof q, "SELECT name FROM tracks WHERE id = %ld", seed);
	snprintf(song_title, sizeof song_title, "%s", tu_ws_text(ws, q));
	/* A track without audio features, in a few playlists, at their ends. */
	char dbp[PATH_MAX + 32];
	snprintf(dbp, sizeof dbp, "%s/catalog.db", ws);
	sqlite3 *db = NULL;
	seg_error err = {0};
	if (sqlite3_open_v2(dbp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db,
	                 "INSERT INTO tracks(id, spotify_id, name, has_features) VALUES"
	                 " ((SELECT max(id) + 1 FROM tracks), 'NoFeatures000000000001', 'Unplugged Memory', 0);"
	                 "INSERT INTO track_artists VALUES((SELECT max(id) FROM tracks), 1, 0);"
	                 "INSERT INTO playlist_tracks SELECT playlist_id, max(pos) + 1, (SELECT max(id) FROM tracks)"
	                 " FROM playlist_tracks WHERE playlist_id <= 30 GROUP BY playlist_id;"
	                 "INSERT INTO track_search(rowid, name, artists) SELECT max(id), 'Unplugged Memory', '' FROM "
	                 "tracks;",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    workspace_derived_refresh(ws, db, 1, NULL, &err) < 0) {
		fprintf(stderr, "setup: %s %s\n", db ? sqlite3_errmsg(db) : "", err.msg);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_close(db);
	if (tu_train(ws, &sizes) < 0)
		return -1;
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s/ws'", ws, dir);
	if (run(cmd) != 0 || start_server() < 0) {
		fprintf(stderr, "setup: the first start failed\n");
		return -1;
	}
	int st = stop_server();
	if (st != 0) {
		fprintf(stderr, "setup: the first server stopped with status %d\n", st);
		return -1;
	}
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
	/* A title alone, for the model that reads one: its picks come from
	 * training playlists titled alike. */
	const char *titled = "{\"model\": \"title\", \"title\": \"Synthetic: rock\", \"k\": 5}";
	j = post(titled, strlen(titled), 200);
	json_t *first = json_array_get(json_object_get(j, "tracks"), 0);
	assert_non_null(first);
	json_t *codes = json_object_get(first, "reason_codes");
	int titled_reason = 0;
	for (size_t i = 0; i < json_array_size(codes); i++)
		titled_reason |= strcmp(json_string_value(json_array_get(codes, i)), "title") == 0;
	assert_true(titled_reason);
	json_decref(j);
}

static void test_recommend_bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int status;
	} cases[] = {
		{"{\"seeds\": [", 400},                             /* malformed */
		{"", 400},                                          /* empty */
		{"[1,2]", 400},                                     /* not an object */
		{"{\"seeds\": \"abc\"}", 400},                      /* wrong type */
		{"{\"seeds\": [42]}", 400},                         /* wrong element type */
		{"{\"seeds\": [\"nope\"]}", 400},                   /* not an id */
		{"{\"seeds\": [\"0000000000000000000000\"]}", 404}, /* unknown id */
		{"{\"mood\": {\"energy\": 0.5}, \"k\": 0}", 400},   /* k out of bounds */
		{"{\"mood\": {\"energy\": 0.5}, \"k\": 101}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"k\": \"ten\"}", 400},
		{"{\"mood\": {\"energy\": 1.5}}", 400}, /* mood out of range */
		{"{\"mood\": {\"vibes\": 0.5}}", 400},  /* unknown mood feature */
		{"{\"mood\": {\"energy\": \"high\"}}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"diversity\": 2}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"model\": \"magic\"}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"colour\": 1}", 400},      /* unknown field */
		{"{}", 400},                                                /* neither seeds nor mood */
		{"{\"model\": \"title\"}", 400},                            /* nor a title */
		{"{\"model\": \"title\", \"title\": 7}", 400},              /* a title that is not text */
		{"{\"title\": \"rock\"}", 400},                             /* a title, for a model that reads none */
		{"{\"seeds\": [], \"seeds\": []}", 400},                    /* duplicate key */
		{"{\"mood\": {\"energy\": 0.5}, \"knn_probe\": -1}", 400},  /* a budget below 0 */
		{"{\"mood\": {\"energy\": 0.5}, \"knn_probe\": 2.5}", 400}, /* not whole */
		{"{\"mood\": {\"energy\": 0.5}, \"knn_probe\": 100001}", 400},
		{"{\"mood\": {\"energy\": 0.5}, \"knn_probe\": 8}", 200}, /* a budget: answered */
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

/* Any printable character, alone or next to a word, is something to
 * search for: 200 (the dashboard showed "HTTP 400" for a lone quote,
 * percent sign, underscore, star or backslash). */
static void test_search_any_character(void **state)
{
	(void)state;
	for (int c = 0x20; c < 0x7f; c++) {
		char target[96];
		snprintf(target, sizeof target, "/api/tracks?q=%%%02X", c);
		json_t *j = get_json(target, 200);
		assert_true(json_is_array(json_object_get(j, "tracks")));
		json_decref(j);
		snprintf(target, sizeof target, "/api/tracks?q=synthetic%%%02X", c);
		json_decref(get_json(target, 200));
		snprintf(target, sizeof target, "/api/tracks?q=%%%02X%%20synthetic&limit=3", c);
		j = get_json(target, 200);
		if (!isalnum(c)) /* punctuation alone is left out */
			assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
		json_decref(j);
	}
}

/* The ids of an answer's tracks, in order, as one string. */
static void answer_ids(json_t *j, char *out, size_t cap)
{
	json_t *tracks = json_object_get(j, "tracks");
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(tracks) && len + 24 < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s ",
		                        json_string_value(json_object_get(json_array_get(tracks, i), "id")));
}

/* An unknown seed among known ones is skipped, with a warning that names
 * it; the answer is the known seed's. Unknown seeds alone are a 404. */
static void test_recommend_unknown_seed(void **state)
{
	(void)state;
	const char *unknown = "0000000000000000000000";
	char body[256], want[2600], got[2600];
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 8}", first_id);
	json_t *j = post(body, strlen(body), 200);
	assert_null(json_object_get(j, "warnings")); /* none when nothing was skipped */
	answer_ids(j, want, sizeof want);
	json_decref(j);
	assert_true(strlen(want) > 0);
	const char *orders[] = {"{\"seeds\": [\"%s\", \"%s\"], \"k\": 8}",
	                        "{\"seeds\": [\"%2$s\", \"%1$s\"], \"k\": 8}"};
	for (size_t o = 0; o < 2; o++) {
		snprintf(body, sizeof body, orders[o], first_id, unknown);
		j = post(body, strlen(body), 200);
		answer_ids(j, got, sizeof got);
		assert_string_equal(got, want);
		json_t *w = json_object_get(j, "warnings");
		assert_int_equal(json_array_size(w), 1);
		const char *says = json_string_value(json_array_get(w, 0));
		assert_non_null(says);
		assert_non_null(strstr(says, unknown));
		assert_non_null(strstr(says, "not in the catalogue"));
		assert_null(strstr(says, first_id));
		json_decref(j);
	}
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\", \"%s\"], \"k\": 8}", unknown, "1111111111111111111111");
	json_decref(post(body, strlen(body), 404));
}

/* 1 when the answer j lists a track with id `id`. */
static int answer_has(json_t *j, const char *id)
{
	json_t *tracks = json_object_get(j, "tracks");
	for (size_t i = 0; i < json_array_size(tracks); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(tracks, i), "id")), id) == 0)
			return 1;
	return 0;
}

/* The first note of an answer, or "" (and checks notes is an array when
 * present). */
static const char *first_note(json_t *j)
{
	json_t *notes = json_object_get(j, "notes");
	if (notes == NULL)
		return "";
	assert_true(json_is_array(notes) && json_array_size(notes) > 0);
	return json_string_value(json_array_get(notes, 0));
}

/* No recommendation, similar track or search row is another version of a
 * seed's song (issue 10 item 3); a misspelt search finds the song (item 9). */
static void test_versions_and_typos(void **state)
{
	(void)state;
	char target[512], body[512];
	/* Similar: the versions sound exactly like the seed, yet never come. */
	for (int s = 0; s < 3; s++) {
		snprintf(target, sizeof target, "/api/similar/%s?k=30", song_ids[s]);
		json_t *j = get_json(target, 200);
		assert_int_equal(json_array_size(json_object_get(j, "tracks")), 30);
		for (int v = 0; v < 3; v++)
			if (answer_has(j, song_ids[v]))
				fail_msg("similar to %s lists its version %s", song_ids[s], song_ids[v]);
		json_decref(j);
	}
	/* Recommend, by the default model and by content. */
	static const char *const models[] = {"hybrid", "content", "cooc", "als"};
	for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
		snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 30, \"model\": \"%s\"}", song_ids[0],
		         models[m]);
		json_t *j = post(body, strlen(body), 200);
		for (int v = 1; v < 3; v++)
			if (answer_has(j, song_ids[v]))
				fail_msg("%s recommends %s, a version of the seed", models[m], song_ids[v]);
		json_decref(j);
	}
	/* Search: the three are one row. */
	char q[300];
	size_t n = 0;
	for (const char *c = song_title; *c && n + 4 < sizeof q; c++)
		n += (size_t)snprintf(q + n, sizeof q - n, isalnum((unsigned char)*c) ? "%c" : "%%20", *c);
	snprintf(target, sizeof target, "/api/tracks?q=%s&limit=50", q);
	json_t *j = get_json(target, 200);
	int rows = 0;
	for (int v = 0; v < 3; v++)
		rows += answer_has(j, song_ids[v]);
	if (rows != 1)
		fail_msg("searching '%s' gives %d rows of the song", song_title, rows);
	json_decref(j);
	/* A typo: the last word of 5 letters or more with its third letter
	 * left out. */
	char typo[256];
	snprintf(typo, sizeof typo, "%s", song_title);
	char *word = NULL;
	for (char *c = typo; *c; c++) {
		size_t len = 0;
		while (isalpha((unsigned char)c[len]))
			len++;
		if (len >= 5 && (c == typo || !isalnum((unsigned char)c[-1])))
			word = c;
		if (len > 0)
			c += len - 1;
	}
	if (word == NULL)
		fail_msg("no word to misspell in '%s'", song_title);
	memmove(word + 2, word + 3, strlen(word + 3) + 1);
	n = 0;
	for (const char *c = typo; *c && n + 4 < sizeof q; c++)
		n += (size_t)snprintf(q + n, sizeof q - n, isalnum((unsigned char)*c) ? "%c" : "%%20", *c);
	snprintf(target, sizeof target, "/api/tracks?q=%s&limit=50", q);
	j = get_json(target, 200);
	rows = 0;
	for (int v = 0; v < 3; v++)
		rows += answer_has(j, song_ids[v]);
	if (rows != 1)
		fail_msg("searching '%s' (for '%s') gives %d rows of the song", typo, song_title, rows);
	json_decref(j);
}

/* Dislikes, genre and year filters, and the notes (issue 10 items 7, 9). */
static void test_recommend_dislikes_filters_notes(void **state)
{
	(void)state;
	char body[1024];
	/* Bad filters are 400s that say why. */
	static const char *const bad[] = {
		"{\"seeds\": [\"%s\"], \"genres\": [\"no such genre\"]}",
		"{\"seeds\": [\"%s\"], \"genres\": \"rock\"}",
		"{\"seeds\": [\"%s\"], \"genres\": [\"\"]}",
		"{\"seeds\": [\"%s\"], \"genres\": [3]}",
		"{\"seeds\": [\"%s\"], \"year_min\": 1899}",
		"{\"seeds\": [\"%s\"], \"year_max\": 2101}",
		"{\"seeds\": [\"%s\"], \"year_min\": 1999.5}",
		"{\"seeds\": [\"%s\"], \"year_min\": \"1990\"}",
		"{\"seeds\": [\"%s\"], \"year_min\": 2000, \"year_max\": 1990}",
		"{\"seeds\": [\"%s\"], \"dislikes\": [\"nope\"]}",
		"{\"seeds\": [\"%s\"], \"dislikes\": \"0000000000000000000000\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(body, sizeof body, bad[i], first_id);
		json_t *j = post(body, strlen(body), 400);
		if (i == 0)
			assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "vocabulary"));
		json_decref(j);
	}
	strbuf many = {0};
	strbuf_printf(&many, "{\"seeds\": [\"%s\"], \"dislikes\": [", first_id);
	for (int i = 0; i < SERVE_MAX_DISLIKES + 1; i++)
		strbuf_printf(&many, "%s\"%022d\"", i ? "," : "", i);
	strbuf_puts(&many, "]}");
	json_decref(post(strbuf_cstr(&many), many.len, 400));
	strbuf_free(&many);
	/* Dislikes: the top pick, disliked, is gone; an unknown one is
	 * skipped with a warning. */
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 10}", first_id);
	json_t *j = post(body, strlen(body), 200);
	char top[32];
	snprintf(top, sizeof top, "%s",
	         json_string_value(json_object_get(json_array_get(json_object_get(j, "tracks"), 0), "id")));
	assert_null(json_object_get(j, "notes")); /* nothing to say */
	json_decref(j);
	snprintf(body, sizeof body,
	         "{\"seeds\": [\"%s\"], \"k\": 10, \"dislikes\": [\"%s\", \"0000000000000000000000\"]}", first_id, top);
	j = post(body, strlen(body), 200);
	assert_int_equal(json_array_size(json_object_get(j, "tracks")), 10);
	assert_false(answer_has(j, top));
	json_t *w = json_object_get(j, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(json_string_value(json_array_get(w, 0)),
	                    "disliked track '0000000000000000000000' is not in the catalogue; it was skipped");
	json_decref(j);
	/* Genres: the vocabulary comes from /api/models; every pick has the
	 * genre. */
	j = get_json("/api/models", 200);
	json_t *voc = json_object_get(j, "genres");
	assert_true(json_array_size(voc) > 1);
	char genre[64];
	snprintf(genre, sizeof genre, "%s", json_string_value(json_array_get(voc, 0)));
	json_decref(j);
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 10, \"genres\": [\"%s\"]}", first_id, genre);
	j = post(body, strlen(body), 200);
	json_t *tracks = json_object_get(j, "tracks");
	assert_true(json_array_size(tracks) > 0);
	for (size_t i = 0; i < json_array_size(tracks); i++)
		assert_non_null(
			strcasestr(json_string_value(json_object_get(json_array_get(tracks, i), "genres")), genre));
	json_decref(j);
	/* Years: every pick's year is the one asked. */
	char target[128];
	snprintf(target, sizeof target, "/api/tracks/%s", first_id);
	j = get_json(target, 200);
	int year = (int)json_number_value(json_object_get(json_object_get(j, "features"), "year"));
	json_decref(j);
	assert_true(year >= 1900 && year <= 2100);
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 5, \"year_min\": %d, \"year_max\": %d}", first_id,
	         year, year);
	j = post(body, strlen(body), 200);
	tracks = json_object_get(j, "tracks");
	assert_true(json_array_size(tracks) > 0);
	for (size_t i = 0; i < json_array_size(tracks); i++) {
		snprintf(target, sizeof target, "/api/tracks/%s",
		         json_string_value(json_object_get(json_array_get(tracks, i), "id")));
		json_t *one = get_json(target, 200);
		assert_int_equal((int)json_number_value(json_object_get(json_object_get(one, "features"), "year")),
		                 year);
		json_decref(one);
	}
	json_decref(j);
	/* Filters that leave too few: a note says which. */
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 10, \"year_min\": 1900, \"year_max\": 1901}",
	         first_id);
	j = post(body, strlen(body), 200);
	assert_int_equal(json_array_size(json_object_get(j, "tracks")), 0);
	assert_non_null(strstr(first_note(j), "1900-1901"));
	assert_non_null(strstr(first_note(j), "widen"));
	json_decref(j);
	/* Seeds without audio features: the answer says the picks come from
	 * playlist co-occurrence only; one of two: it counts only there. */
	char bare[64], wsp[PATH_MAX];
	snprintf(wsp, sizeof wsp, "%s/ws", dir);
	snprintf(bare, sizeof bare, "%s",
	         tu_ws_text(wsp, "SELECT spotify_id FROM tracks WHERE has_features = 0 AND id IN"
	                         " (SELECT track_id FROM playlist_tracks) ORDER BY id LIMIT 1"));
	assert_int_equal(strlen(bare), 22);
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 5}", bare);
	j = post(body, strlen(body), 200);
	assert_string_equal(first_note(j),
	                    "your seed has no audio features: these picks come from playlist co-occurrence only");
	json_decref(j);
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\", \"%s\"], \"k\": 5}", bare, first_id);
	j = post(body, strlen(body), 200);
	assert_string_equal(first_note(j), "1 of your 2 seeds has no audio features: it counts only through playlist "
	                                   "co-occurrence, not through how it sounds");
	json_decref(j);
	/* The CLI says the same, and takes the same filters. */
	char cmd[2 * PATH_MAX];
	const char *bin = getenv("SEGUE_BIN");
	snprintf(cmd, sizeof cmd,
	         "'%s' recommend --workspace '%s/ws' --seed %s --seed %s --dislike %s --genre '%s' --year-min 1900"
	         " --year-max 2100 --k 5 --json",
	         bin ? bin : "./build-san/segue", dir, bare, first_id, top, genre);
	char *out = NULL;
	assert_int_equal(tu_run(cmd, &out), 0);
	json_t *cli = json_loads(out, 0, NULL);
	free(out);
	assert_non_null(cli);
	assert_non_null(strstr(first_note(cli), "1 of your 2 seeds has no audio features"));
	assert_false(answer_has(cli, top));
	tracks = json_object_get(cli, "tracks");
	assert_true(json_array_size(tracks) > 0);
	for (size_t i = 0; i < json_array_size(tracks); i++)
		assert_non_null(
			strcasestr(json_string_value(json_object_get(json_array_get(tracks, i), "genres")), genre));
	json_decref(cli);
	snprintf(cmd, sizeof cmd, "'%s' recommend --workspace '%s/ws' --seed %s --genre 'no such genre' 2>/dev/null",
	         bin ? bin : "./build-san/segue", dir, first_id);
	assert_true(tu_run(cmd, NULL) != 0);
	snprintf(cmd, sizeof cmd, "'%s' recommend --workspace '%s/ws' --seed %s --year-min 1800 2>/dev/null",
	         bin ? bin : "./build-san/segue", dir, first_id);
	assert_true(tu_run(cmd, NULL) != 0);
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
	size_t np = json_array_size(json_object_get(j, "x"));
	assert_true(np > 0 && np <= 100);
	assert_int_equal(json_array_size(json_object_get(j, "y")), np);
	assert_int_equal(json_array_size(json_object_get(j, "cluster")), np);
	json_decref(j);
	j = get_json("/api/models", 200);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "models"), 0), "version")), "v1");
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

/* The Runs page's routes: empty answers for a workspace that tracked
 * nothing, then a run written into the server's mlruns, read back by id
 * and by prefix; an unknown run is a 404; the pipeline's last run in its
 * stage order. */
static void test_runs_routes(void **state)
{
	(void)state;
	char mlruns[PATH_MAX], path[PATH_MAX];
	snprintf(mlruns, sizeof mlruns, "%s/ws/%s", dir, MLRUNS_DIR);
	json_t *j = get_json("/api/runs", 200);
	assert_int_equal(json_array_size(json_object_get(j, "runs")), 0);
	json_decref(j);
	j = get_json("/api/pipeline", 200);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	j = get_json("/api/registry", 200);
	assert_true(json_is_object(j));
	json_decref(j);
	json_decref(get_json("/api/runs/abc123", 404));
	json_decref(get_json("/api/runs/zz", 404));

	seg_error err = {0};
	mlrun *r = NULL;
	assert_int_equal(mlrun_start(mlruns, "segue train", "first", &r, &err), 0);
	char id[64];
	snprintf(id, sizeof id, "%s", mlrun_id(r));
	assert_int_equal(mlrun_param(r, "k", "50", &err), 0);
	assert_int_equal(mlrun_metric(r, "validation.r_precision", 0.25, 0, 0, &err), 0);
	assert_int_equal(mlrun_metric(r, "validation.r_precision", 0.5, 1, 0, &err), 0);
	assert_int_equal(mlrun_end(r, "FINISHED", &err), 0);

	j = get_json("/api/runs", 200);
	json_t *runs = json_object_get(j, "runs");
	assert_int_equal(json_array_size(runs), 1);
	json_t *r0 = json_array_get(runs, 0);
	assert_string_equal(json_string_value(json_object_get(r0, "run_id")), id);
	assert_string_equal(json_string_value(json_object_get(r0, "status")), "FINISHED");
	assert_true(json_number_value(json_object_get(json_object_get(r0, "metrics"), "validation.r_precision")) ==
	            0.5);
	json_decref(j);

	char target[128];
	snprintf(target, sizeof target, "/api/runs/%.8s", id); /* a unique prefix */
	j = get_json(target, 200);
	assert_string_equal(json_string_value(json_object_get(j, "run_id")), id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "k")), "50");
	json_t *m = json_object_get(json_object_get(j, "metrics"), "validation.r_precision");
	assert_int_equal(json_integer_value(json_object_get(m, "points")), 2);
	assert_true(json_number_value(json_object_get(m, "last")) == 0.5);
	json_decref(j);
	json_decref(get_json("/api/runs/ffffffffffffffffffffffffffffffff", 404));

	snprintf(path, sizeof path, "%s/ws/%s", dir, PIPELINE_DIR);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "%s/ws/%s/%s", dir, PIPELINE_DIR, PIPELINE_STATE_FILE);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"stages\":{},\"last_run\":{\"run_id\":\"\",\"status\":\"failed\",\"seconds\":1.5,\"message\":\"no\","
	      "\"stages\":{\"train\":{\"status\":\"failed\",\"seconds\":1.0,\"attempts\":2},"
	      "\"ingest\":{\"status\":\"cached\"}}}}",
	      f);
	fclose(f);
	j = get_json("/api/pipeline", 200);
	json_t *last = json_object_get(j, "last_run");
	assert_string_equal(json_string_value(json_object_get(last, "status")), "failed");
	json_t *stages = json_object_get(last, "stages");
	assert_int_equal(json_array_size(stages), PS__COUNT);
	json_t *st = json_array_get(stages, PS_TRAIN);
	assert_string_equal(json_string_value(json_object_get(st, "name")), "train");
	assert_int_equal(json_integer_value(json_object_get(st, "attempts")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(stages, PS_INGEST), "status")), "cached");
	assert_null(json_object_get(json_array_get(stages, PS_EDA), "status"));
	json_decref(j);
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
	/* The enums of model names and reason codes are the engine's, filled in
	 * at serve time (this server runs the built-ins only). */
	json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	/* "model" is a registered name (anyOf[0]) or interleave:A,B. */
	json_t *model = json_array_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(schemas, "RecommendRequest"), "properties"),
	                                "model"),
			"anyOf"),
		0);
	json_t *want = json_pack("[s,s,s,s,s,s,s,s,s]", "random", "popular", "content", "cooc", "als", "ease",
	                         "rp3beta", "hybrid", "title");
	assert_true(json_equal(json_object_get(model, "enum"), want));
	json_decref(want);
	assert_string_equal(json_string_value(json_object_get(model, "default")), "hybrid");
	json_t *codes = json_object_get(
		json_object_get(
			json_object_get(
				json_object_get(
					json_array_get(
						json_object_get(json_object_get(schemas, "Recommendation"), "allOf"),
						1),
					"properties"),
				"reason_codes"),
			"items"),
		"enum");
	assert_int_equal(json_array_size(codes), REASON__BITS);
	for (size_t b = 0; b < REASON__BITS; b++)
		assert_string_equal(json_string_value(json_array_get(codes, b)), rec_reason_codes[b]);
	char *text = json_dumps(doc, 0);
	assert_null(strstr(text, "\"x-segue-enum\"")); /* every marker was filled in */
	free(text);
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
	assert_non_null(strstr(body, "segue_requests_total{route=\"/api/recommend\",method=\"POST\",status=\"2xx\"}"));
	assert_non_null(strstr(body, "segue_requests_total{route=\"/api/recommend\",method=\"POST\",status=\"4xx\"}"));
	assert_non_null(strstr(
		body, "segue_request_duration_seconds_bucket{route=\"/api/health\",method=\"GET\",le=\"+Inf\"}"));
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

/* The genres of the track with this Spotify id in a JSON answer's tracks,
 * or NULL. */
static const char *genres_of(json_t *answer, const char *id)
{
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(answer, "tracks"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0)
			return json_string_value(json_object_get(t, "genres"));
	}
	return NULL;
}

/* A genre list longer than 95 characters (the longest real one is 179)
 * comes back whole, from the names file, by /api/tracks/{id} and in
 * recommend's answer; one longer than a lookup_hit keeps is cut after a
 * whole genre and says how many more there are (issue 10 item 6). */
static void test_long_genre_lists(void **state)
{
	(void)state;
	char body[256], target[128];
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 5}", first_id);
	json_t *j = post(body, strlen(body), 200);
	char rec_id[32];
	snprintf(rec_id, sizeof rec_id, "%s",
	         json_string_value(json_object_get(json_array_get(json_object_get(j, "tracks"), 0), "id")));
	json_decref(j);
	assert_int_equal(strlen(rec_id), 22);
	fixture_down(state);
	/* 9 genres of 19 letters: 9 * 19 + 8 * 2 = 187 characters; 20 such: 418. */
	char db_path[PATH_MAX], names_path[PATH_MAX], sql[2048];
	snprintf(db_path, sizeof db_path, "%s/ws/catalog.db", dir);
	snprintf(names_path, sizeof names_path, "%s/ws/names.seg", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	tu_sql_exec(db, "CREATE TEMP TABLE n(i INTEGER PRIMARY KEY);"
	                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20)"
	                " INSERT INTO n SELECT i FROM c;"
	                "INSERT INTO genres(id, name) SELECT 900000 + i, printf('longgenrename%06d', i) FROM n;");
	snprintf(sql, sizeof sql,
	         "DELETE FROM track_genres WHERE track_id IN (SELECT id FROM tracks WHERE spotify_id IN ('%s', '%s'));"
	         "INSERT INTO track_genres(track_id, genre_id) SELECT t.id, 900000 + n.i FROM tracks t, n"
	         " WHERE t.spotify_id = '%s' AND n.i <= 9;"
	         "INSERT INTO track_genres(track_id, genre_id) SELECT t.id, 900000 + n.i FROM tracks t, n"
	         " WHERE t.spotify_id = '%s';",
	         first_id, rec_id, first_id, rec_id);
	tu_sql_exec(db, sql);
	sqlite3_close(db);
	assert_int_equal(unlink(names_path), 0); /* the server writes it again */
	assert_int_equal(start_server(), 0);
	char whole[512] = "", cut[512] = "";
	for (int i = 1; i <= 9; i++)
		snprintf(whole + strlen(whole), sizeof whole - strlen(whole), "%slonggenrename%06d", i > 1 ? ", " : "",
		         i);
	assert_int_equal(strlen(whole), 187);
	/* 11 whole genres and the ending take 11 * 19 + 10 * 2 + 13 = 242 bytes;
	 * a 12th would make 263, more than a lookup_hit's 255. */
	for (int i = 1; i <= 11; i++)
		snprintf(cut + strlen(cut), sizeof cut - strlen(cut), "%slonggenrename%06d", i > 1 ? ", " : "", i);
	strcat(cut, ", \xe2\x80\xa6 +9 more");
	snprintf(target, sizeof target, "/api/tracks/%s", first_id);
	j = get_json(target, 200);
	assert_string_equal(json_string_value(json_object_get(j, "genres")), whole);
	json_decref(j);
	snprintf(target, sizeof target, "/api/tracks/%s", rec_id);
	j = get_json(target, 200);
	assert_string_equal(json_string_value(json_object_get(j, "genres")), cut);
	json_decref(j);
	j = post(body, strlen(body), 200);
	const char *g = genres_of(j, rec_id);
	assert_non_null(g);
	assert_string_equal(g, cut);
	json_decref(j);
	assert_int_equal(access(names_path, R_OK), 0);
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
	tu_sql_exec(
		db,
		"INSERT INTO tracks(spotify_id, name, popularity) VALUES('7NewTrack0AfterStart00', 'Late Song', 12)");
	sqlite3_close(db);
	json_t *j = get_json("/api/tracks/7NewTrack0AfterStart00", 200);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "Late Song");
	assert_int_equal(json_integer_value(json_object_get(j, "popularity")), 12);
	json_decref(j);
	json_decref(get_json("/api/tracks/7NewTrack0AfterStart01", 404));
	/* Started again on the grown catalogue, the server says that its model
	 * is older than the catalogue, and serves it; the first start did not. */
	char *log = tu_read(log_path, NULL);
	assert_non_null(log);
	assert_null(strstr(log, "older state of the catalogue"));
	free(log);
	fixture_down(state);
	assert_int_equal(start_server(), 0);
	json_decref(get_json("/api/health", 200));
	log = tu_read(log_path, NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "was trained on an older state of the catalogue"));
	free(log);
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

/* ---- raw HTTP: custom headers, whole responses ---- */

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One response, read until the server closes. */
typedef struct raw_resp {
	int status; /* -1: no answer */
	char *head; /* status line and headers, NUL-terminated */
	char *body; /* body bytes (NUL-terminated, but may hold NULs) */
	size_t body_len;
} raw_resp;

/* Sends `request` as it is (it must ask for Connection: close). */
static raw_resp raw_http(const char *request, size_t len)
{
	raw_resp r = {-1, NULL, NULL, 0};
	int fd = connect_server();
	assert_true(fd >= 0);
	assert_int_equal(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t got;
	while ((got = recv(fd, buf + n, cap - n - 1, 0)) > 0) {
		n += (size_t)got;
		if (cap - n < 2)
			buf = realloc(buf, cap *= 2);
	}
	close(fd);
	buf[n] = '\0';
	char *sep = strstr(buf, "\r\n\r\n");
	if (n == 0 || sep == NULL) {
		free(buf);
		return r;
	}
	sscanf(buf, "HTTP/1.%*d %d", &r.status);
	r.head = strndup(buf, (size_t)(sep - buf));
	r.body_len = n - (size_t)(sep + 4 - buf);
	r.body = malloc(r.body_len + 1);
	memcpy(r.body, sep + 4, r.body_len);
	r.body[r.body_len] = '\0';
	free(buf);
	return r;
}

static void raw_free(raw_resp *r)
{
	free(r->head);
	free(r->body);
}

/* The value of header `name` in r (static buffer), or NULL. */
static const char *header(const raw_resp *r, const char *name)
{
	static char value[1024];
	char pat[128];
	snprintf(pat, sizeof pat, "\r\n%s:", name);
	const char *p = strcasestr(r->head, pat);
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	snprintf(value, sizeof value, "%.*s", (int)strcspn(p, "\r\n"), p);
	return value;
}

/* GET target with the given extra header lines ("" for none). */
static raw_resp raw_get(const char *target, const char *headers)
{
	char req[8192];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n%sConnection: close\r\n\r\n", target, headers);
	return raw_http(req, (size_t)n);
}

/* An error answer: status `want`, a JSON body without NUL bytes, with
 * "error" and a "detail" that contains `says` (may be NULL). */
static void assert_error_answer(raw_resp *r, int want, const char *says)
{
	if (r->status != want)
		fail_msg("status %d, wanted %d: %s", r->status, want, r->body ? r->body : "");
	assert_int_equal(strlen(r->body), r->body_len); /* no NUL inside */
	assert_non_null(strstr(header(r, "Content-Type"), "application/json"));
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, 0, &je);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	assert_true(json_is_string(json_object_get(j, "error")));
	const char *detail = json_string_value(json_object_get(j, "detail"));
	assert_non_null(detail);
	if (says && strstr(detail, says) == NULL)
		fail_msg("detail '%s' does not say '%s'", detail, says);
	json_decref(j);
	raw_free(r);
}

/* POST /api/recommend with a Content-Type line (NULL: none). */
static raw_resp raw_post(const char *body, const char *ctype)
{
	char req[8192];
	int n = snprintf(req, sizeof req,
	                 "POST /api/recommend HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", strlen(body), body);
	return raw_http(req, (size_t)n);
}

/* GET /api/map plots every mapped track (as many points as /api/health
 * counts tracks), as parallel arrays: x and y in 0..scale, a cluster the
 * cluster table knows, and one Spotify id per point, each of which
 * /api/tracks knows. The answer carries an ETag; asked again with it, the
 * server answers 304 with no body; a stale tag gets the whole answer. */
static void test_map_every_point_and_etag(void **state)
{
	(void)state;
	json_t *h = get_json("/api/health", 200);
	json_int_t tracks = json_integer_value(json_object_get(h, "tracks"));
	json_decref(h);
	assert_true(tracks > 100);
	json_t *j = get_json("/api/map", 200);
	json_t *x = json_object_get(j, "x"), *y = json_object_get(j, "y"), *cl = json_object_get(j, "cluster");
	size_t n = json_array_size(x);
	assert_int_equal(n, (size_t)tracks);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), tracks);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), tracks);
	assert_int_equal(json_array_size(y), n);
	assert_int_equal(json_array_size(cl), n);
	assert_int_equal(json_array_size(json_object_get(j, "bounds")), 4);
	json_int_t scale = json_integer_value(json_object_get(j, "scale"));
	size_t K = json_array_size(json_object_get(j, "clusters"));
	json_int_t lo = scale, hi = 0;
	for (size_t i = 0; i < n; i++) {
		json_int_t xi = json_integer_value(json_array_get(x, i)), yi = json_integer_value(json_array_get(y, i));
		assert_true(xi >= 0 && xi <= scale && yi >= 0 && yi <= scale);
		lo = xi < lo ? xi : lo;
		hi = xi > hi ? xi : hi;
		json_int_t k = json_integer_value(json_array_get(cl, i));
		assert_true(k >= 0 && (size_t)k < K);
	}
	assert_int_equal(lo, 0); /* the bounds are the points' own */
	assert_int_equal(hi, scale);
	const char *ids = json_string_value(json_object_get(j, "ids"));
	assert_non_null(ids);
	size_t words = 1;
	for (const char *p = ids; *p; p++)
		words += *p == ' ';
	assert_int_equal(words, n);
	/* The first and the last id name tracks. */
	char target[128];
	snprintf(target, sizeof target, "/api/tracks/%.*s", (int)strcspn(ids, " "), ids);
	json_decref(get_json(target, 200));
	snprintf(target, sizeof target, "/api/tracks/%s", strrchr(ids, ' ') + 1);
	json_decref(get_json(target, 200));
	json_decref(j);

	raw_resp r = raw_get("/api/map", "Host: 127.0.0.1\r\n");
	assert_int_equal(r.status, 200);
	char etag[256];
	assert_non_null(header(&r, "ETag"));
	snprintf(etag, sizeof etag, "%s", header(&r, "ETag"));
	assert_true(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
	assert_string_equal(header(&r, "Cache-Control"), "no-cache");
	assert_non_null(strstr(header(&r, "Content-Security-Policy"), "default-src 'none'"));
	size_t full = r.body_len;
	raw_free(&r);
	char hdr[512];
	snprintf(hdr, sizeof hdr, "Host: 127.0.0.1\r\nIf-None-Match: %s\r\n", etag);
	r = raw_get("/api/map", hdr);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(header(&r, "ETag"), etag);
	raw_free(&r);
	r = raw_get("/api/map", "Host: 127.0.0.1\r\nIf-None-Match: \"map-stale\"\r\n");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, full);
	raw_free(&r);
	/* A sample has its own tag. */
	r = raw_get("/api/map?limit=10", hdr);
	assert_int_equal(r.status, 200);
	raw_free(&r);
	/* Other answers are still never stored. */
	r = raw_get("/api/health", "Host: 127.0.0.1\r\n");
	assert_string_equal(header(&r, "Cache-Control"), "no-store");
	assert_null(header(&r, "ETag"));
	raw_free(&r);
	json_decref(get_json("/api/map?limit=-1", 400));
}

/* s percent-encoded for a query string (static buffer). */
static const char *url_escape(const char *s)
{
	static char out[256];
	size_t n = 0;
	for (; *s && n + 4 < sizeof out; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-')
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, sizeof out - n, "%%%02X", ch);
	}
	out[n] = '\0';
	return out;
}

/* GET /api/genres: the model's genre vocabulary (the genres the filters
 * take: /api/gems?genre= accepts each, and no other), most tracks first,
 * each count what /api/tracks?genre= finds (up to its limit of 100). */
static void test_genres(void **state)
{
	(void)state;
	json_t *j = get_json("/api/genres", 200);
	json_t *g = json_object_get(j, "genres");
	size_t n = json_array_size(g);
	assert_true(n >= 2);
	json_int_t prev = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(g, i);
		json_int_t t = json_integer_value(json_object_get(e, "tracks"));
		assert_true(t >= 1 && t <= prev);
		prev = t;
		assert_true(strlen(json_string_value(json_object_get(e, "name"))) > 0);
	}
	/* Every name is one the genre filter takes. */
	for (size_t i = 0; i < n; i++) {
		char gt[512];
		snprintf(gt, sizeof gt, "/api/gems?limit=1&genre=%s",
		         url_escape(json_string_value(json_object_get(json_array_get(g, i), "name"))));
		json_decref(get_json(gt, 200));
	}
	json_decref(get_json("/api/gems?limit=1&genre=no-such-genre", 400));
	/* The last genre (fewest tracks): /api/tracks finds exactly that many. */
	json_t *last = json_array_get(g, n - 1);
	json_int_t want = json_integer_value(json_object_get(last, "tracks"));
	char target[256];
	snprintf(target, sizeof target, "/api/tracks?genre=%s&limit=100",
	         url_escape(json_string_value(json_object_get(last, "name"))));
	json_t *t = get_json(target, 200);
	assert_int_equal(json_array_size(json_object_get(t, "tracks")), want < 100 ? want : 100);
	json_decref(t);
	json_decref(j);
	j = get_json("/api/genres?limit=1", 200);
	assert_int_equal(json_array_size(json_object_get(j, "genres")), 1);
	json_decref(j);
	json_decref(get_json("/api/genres?limit=0", 400));
}

/* ---- the defects' tests ---- */

/* A search of many words is refused at once rather than holding a worker
 * thread for most of a second. */
static void test_search_is_bounded(void **state)
{
	(void)state;
	char target[400] = "/api/tracks?q=";
	for (int i = 0; i < 60; i++)
		strcat(target, i ? "+a" : "a");
	raw_resp r = raw_get(target, "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "at most 16 words");
	/* Sixteen words are still a search. */
	json_decref(
		get_json("/api/tracks?q=synthetic+synthetic+synthetic+synthetic+synthetic+synthetic+synthetic+"
	                 "synthetic+synthetic+synthetic+synthetic+synthetic+synthetic+synthetic+synthetic+synthetic",
	                 200));
}

/* Whether fd's connection has been closed by the server (it sends these
 * tests nothing else): what recv says without waiting. */
static int closed_by_server(int fd)
{
	char b[64];
	ssize_t got = recv(fd, b, sizeof b, MSG_DONTWAIT);
	if (got > 0)
		fail_msg("the server answered a request that never ended: %.*s", (int)got, b);
	return got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

/* How many of fds[n] the server closes within `secs` seconds. */
static int count_closed(const int *fds, int n, double secs)
{
	int closed = 0;
	for (double waited = 0; waited <= secs; waited += 0.1) {
		closed = 0;
		for (int i = 0; i < n; i++) {
			struct pollfd p = {.fd = fds[i], .events = POLLIN};
			closed += poll(&p, 1, 0) == 1 && closed_by_server(fds[i]);
		}
		usleep(100000);
	}
	return closed;
}

/* On a loopback bind every client is 127.0.0.1, so there is no limit per
 * address below the limit for everyone (SERVE_MAX_CONNS): more than
 * SERVE_MAX_PER_IP idle connections are all held, and another client is
 * still answered. (test_client_limits_per_address: the limit where
 * addresses tell clients apart; test_slow_clients: the deadline.) */
static void test_client_limits(void **state)
{
	(void)state;
	enum { N = SERVE_MAX_PER_IP + 8 };
	int idle[N];
	for (int i = 0; i < N; i++)
		assert_true((idle[i] = connect_server()) >= 0);
	int closed = count_closed(idle, N, 1.0);
	if (closed > 0)
		fail_msg("%d of %d idle connections from 127.0.0.1 closed at once on a loopback bind", closed, N);
	json_decref(get_json("/api/health", 200));
	for (int i = 0; i < N; i++)
		close(idle[i]);
}

/* Bytes that are not UTF-8 in the path or the arguments are a 400 with
 * JSON that says so, never a 500 or a NUL in the body. */
static void test_bad_utf8(void **state)
{
	(void)state;
	raw_resp r = raw_get("/api/gems?genre=%FF", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "genre");
	r = raw_get("/api/tracks?q=%C3%28", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "UTF-8");
	r = raw_get("/api/tracks/%FF", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "UTF-8");
	r = raw_get("/%FF", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "UTF-8");
	/* A long mood key of two-byte characters, cut in a sentence. */
	strbuf body = {0};
	strbuf_puts(&body, "{\"mood\": {\"");
	for (int i = 0; i < 250; i++)
		strbuf_puts(&body, "\xC3\xA9");
	strbuf_puts(&body, "\": 0.5}}");
	r = raw_post(strbuf_cstr(&body), "application/json");
	assert_error_answer(&r, 400, "mood");
	strbuf_free(&body);
	json_decref(get_json("/api/health", 200));
}

/* The access log escapes what the URL decodes to, so that a request
 * cannot write a line of its own. */
static void test_access_log_escapes(void **state)
{
	(void)state;
	raw_resp r = raw_get("/x%0D%0AInjected:%20yes%1B%5B31m", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 404, NULL);
	json_decref(get_json("/api/health", 200));
	usleep(200000);
	size_t len;
	char *log = tu_read(log_path, &len);
	assert_non_null(log);
	assert_non_null(strstr(log, "GET /x\\x0D\\x0AInjected: yes\\x1B[31m 404 "));
	assert_null(strstr(log, "\nInjected"));
	assert_null(strchr(log, '\x1B'));
	assert_null(strchr(log, '\r'));
	free(log);
	/* Well-formed UTF-8 that acts rather than shows is escaped too, byte by
	 * byte: the C1 controls NEL (U+0085) and CSI (U+009B), the line and
	 * paragraph separators, a right-to-left override; a letter such as é
	 * stays as it is. */
	r = raw_get("/y%C2%85a%C2%9B31m%E2%80%A8b%E2%80%A9c%E2%80%AEd%C3%A9", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 404, NULL);
	json_decref(get_json("/api/health", 200));
	usleep(200000);
	log = tu_read(log_path, &len);
	assert_non_null(log);
	assert_non_null(strstr(
		log, "GET /y\\xC2\\x85a\\xC2\\x9B31m\\xE2\\x80\\xA8b\\xE2\\x80\\xA9c\\xE2\\x80\\xAEd\xC3\xA9 404 "));
	static const char *const raw[] = {"\xC2\x85", "\xC2\x9B", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAE"};
	for (size_t i = 0; i < sizeof raw / sizeof *raw; i++)
		assert_null(strstr(log, raw[i]));
	free(log);
}

/* Mood values are checked against the feature's real range. */
static void test_mood_ranges(void **state)
{
	(void)state;
	static const struct {
		const char *body, *says;
	} cases[] = {
		{"{\"mood\": {\"tempo\": 1e308}}", "mood tempo must be from 0 to 300 BPM"},
		{"{\"mood\": {\"loudness\": -1e308}}", "mood loudness must be from -60 to 5 dB"},
		{"{\"mood\": {\"duration\": 1e9}}", "mood duration must be from 0 to 120 minutes"},
		{"{\"mood\": {\"energy\": -0.1}}", "mood energy must be from 0 to 1"},
		{"{\"mood\": {\"tempo\": 1e400}}", "not valid JSON"}, /* inf */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		raw_resp r = raw_post(cases[i].body, "application/json");
		assert_error_answer(&r, 400, cases[i].says);
	}
	const char *ok = "{\"mood\": {\"tempo\": 120, \"loudness\": -8, \"energy\": 0.7}}";
	json_decref(post(ok, strlen(ok), 200));
	seg_error err = {0};
	assert_int_equal(serve_mood_check("tempo", NAN, &err), SEG_EINVAL);
	assert_int_equal(serve_mood_check("tempo", INFINITY, &err), SEG_EINVAL);
	assert_int_equal(serve_mood_check("valence", 0.5, &err), 0);
	assert_int_equal(serve_mood_check("vibes", 0.5, &err), SEG_EINVAL);
}

/* Mean energy of an answer's tracks, read from /api/tracks/{id}. */
static double answer_mean_energy(json_t *j)
{
	json_t *tracks = json_object_get(j, "tracks");
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(tracks); i++) {
		char target[128];
		snprintf(target, sizeof target, "/api/tracks/%s",
		         json_string_value(json_object_get(json_array_get(tracks, i), "id")));
		json_t *one = get_json(target, 200);
		json_t *e = json_object_get(json_object_get(one, "features"), "energy");
		if (json_is_number(e)) {
			sum += json_number_value(e);
			n++;
		}
		json_decref(one);
	}
	assert_true(n > 0);
	return sum / (double)n;
}

/* A mood with seeds moves the answer toward it (issue 10 item 1): the mean
 * energy of the top 10 falls when energy 0.05 is asked. */
static void test_recommend_mood_with_seed(void **state)
{
	(void)state;
	/* The default model, and ALS, which alone knows no mood. */
	const char *models[] = {"", "\"model\": \"als\", "};
	for (size_t m = 0; m < 2; m++) {
		char body[256];
		snprintf(body, sizeof body, "{%s\"seeds\": [\"%s\"], \"k\": 10}", models[m], first_id);
		json_t *j = post(body, strlen(body), 200);
		assert_int_equal(json_array_size(json_object_get(j, "tracks")), 10);
		double plain = answer_mean_energy(j);
		json_decref(j);
		snprintf(body, sizeof body, "{%s\"seeds\": [\"%s\"], \"k\": 10, \"mood\": {\"energy\": 0.05}}",
		         models[m], first_id);
		j = post(body, strlen(body), 200);
		assert_int_equal(json_array_size(json_object_get(j, "tracks")), 10);
		double mood = answer_mean_energy(j);
		json_decref(j);
		if (!(mood < plain - 0.05))
			fail_msg("%smean energy %.3f with energy 0.05 asked, %.3f without", models[m], mood, plain);
	}
}

/* More worker threads than the server keeps catalogue connections for are
 * refused, by the command and by the library. */
static void test_threads_bounded(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 128];
	const char *bin = getenv("SEGUE_BIN");
	snprintf(cmd, sizeof cmd, "'%s' serve --workspace '%s/ws' --port 0 --threads 65 2>/dev/null",
	         bin ? bin : "./build-san/segue", dir);
	assert_int_equal(run(cmd), 2);
	serve_options o;
	serve_options_default(&o);
	char ws[PATH_MAX];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	o.workspace = ws;
	o.threads = SERVE_MAX_THREADS + 1;
	seg_error err = {0};
	assert_int_equal(serve_run(&o, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "threads"));
}

/* /api/models names files inside the workspace only. */
static void test_models_hide_paths(void **state)
{
	(void)state;
	/* evaluation.json names the model it scored by its full path. */
	char path[PATH_MAX + 64], text[3 * PATH_MAX];
	snprintf(path, sizeof path, "%s/ws/models/v1/evaluation.json", dir);
	snprintf(text, sizeof text,
	         "{\"model\": \"%s/ws/models/v1/model.seg\", \"results\": [],"
	         " \"inputs\": [\"%s/ws/catalog.db\", \"kept as it is\", [\"%s/ws/models/v1/evaluation.json\"]]}",
	         dir, dir, dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	char *body;
	assert_int_equal(tu_http(port, "GET", "/api/models", NULL, 0, &body, NULL, 0), 200);
	assert_null(strstr(body, dir));
	assert_null(strstr(body, "\"/"));
	json_t *j = json_loads(body, 0, NULL);
	free(body);
	json_t *ev = json_object_get(json_array_get(json_object_get(j, "models"), 0), "evaluation");
	assert_string_equal(json_string_value(json_object_get(ev, "model")), "models/v1/model.seg");
	/* Strings inside arrays too, at any depth. */
	json_t *inputs = json_object_get(ev, "inputs");
	assert_string_equal(json_string_value(json_array_get(inputs, 0)), "catalog.db");
	assert_string_equal(json_string_value(json_array_get(inputs, 1)), "kept as it is");
	assert_string_equal(json_string_value(json_array_get(json_array_get(inputs, 2), 0)),
	                    "models/v1/evaluation.json");
	json_decref(j);
}

/* /api/models lists published versions only: not what a killed train left
 * (a version directory being written, a version without its model file, a
 * temporary model file) nor a directory whose name only looks like one. */
static void test_models_no_phantoms(void **state)
{
	(void)state;
	static const char *const dirs[] = {"v2.tmp.Ab12Cd", "v3", "v99999999999", "v01"};
	char path[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(path, sizeof path, "%s/ws/models/%s", dir, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	tu_write(dir, "ws/models/v2.tmp.Ab12Cd/model.seg", "half a model");
	tu_write(dir, "ws/models/v3/model.seg.tmp.XyZ123", "half a model");
	tu_write(dir, "ws/models/v99999999999/model.seg", "not a version");
	tu_write(dir, "ws/models/v01/model.seg", "not a version");
	json_t *j = get_json("/api/models", 200);
	json_t *models = json_object_get(j, "models");
	assert_int_equal(json_array_size(models), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(models, 0), "version")), "v1");
	json_decref(j);
}

/* A 405 names the methods the route takes. */
static void test_405_allow(void **state)
{
	(void)state;
	raw_resp r = raw_get("/api/recommend", "Host: 127.0.0.1\r\n");
	assert_non_null(header(&r, "Allow"));
	assert_string_equal(header(&r, "Allow"), "POST");
	assert_error_answer(&r, 405, "POST");
	const char *req = "POST /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			  "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
	r = raw_http(req, strlen(req));
	assert_non_null(header(&r, "Allow"));
	assert_string_equal(header(&r, "Allow"), "GET, HEAD");
	assert_error_answer(&r, 405, NULL);
	char target[64];
	snprintf(target, sizeof target, "/api/tracks/%s", first_id);
	char buf[256];
	int n = snprintf(buf, sizeof buf, "DELETE %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
	r = raw_http(buf, (size_t)n);
	assert_non_null(header(&r, "Allow"));
	assert_string_equal(header(&r, "Allow"), "GET, HEAD");
	assert_error_answer(&r, 405, NULL);
	/* The dashboard's files exist for GET and HEAD only: another method is a
	 * 405, not a 404. */
	static const char *const files[] = {"/app.js", "/style.css"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		n = snprintf(buf, sizeof buf,
		             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		             "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
		             files[i]);
		r = raw_http(buf, (size_t)n);
		assert_non_null(header(&r, "Allow"));
		assert_string_equal(header(&r, "Allow"), "GET, HEAD");
		assert_error_answer(&r, 405, files[i]);
	}
	r = raw_get("/app.js", "Host: 127.0.0.1\r\n");
	assert_int_equal(r.status, 200);
	raw_free(&r);
}

/* The dashboard and the API go out with a strict Content-Security-Policy,
 * nosniff and no referrer; the dashboard has nothing inline that the
 * policy would block. */
static void test_security_headers(void **state)
{
	(void)state;
	const char *targets[] = {"/", "/api/health", "/app.js"};
	for (size_t i = 0; i < 3; i++) {
		raw_resp r = raw_get(targets[i], "Host: 127.0.0.1\r\n");
		assert_int_equal(r.status, 200);
		const char *csp = header(&r, "Content-Security-Policy");
		assert_non_null(csp);
		assert_non_null(strstr(csp, "default-src 'none'"));
		assert_non_null(strstr(csp, "script-src 'self';"));
		assert_non_null(strstr(csp, "style-src 'self';"));
		assert_non_null(strstr(csp, "frame-ancestors 'none'"));
		assert_null(strstr(csp, "unsafe"));
		/* The one frame source: Spotify's embed player, nothing wider. */
		assert_non_null(strstr(csp, "frame-src https://open.spotify.com/embed/;"));
		assert_null(strstr(csp, "*"));
		assert_int_equal(strstr(csp, "https:") - strstr(csp, "frame-src ") == (ptrdiff_t)strlen("frame-src "),
		                 1);
		assert_null(strstr(strstr(csp, "https:") + 1, "https:"));
		assert_string_equal(header(&r, "X-Content-Type-Options"), "nosniff");
		assert_string_equal(header(&r, "Referrer-Policy"), "no-referrer");
		if (i == 0) {
			/* every script is a file, no style is inline */
			for (const char *p = strstr(r.body, "<script"); p; p = strstr(p + 1, "<script"))
				assert_true(strstr(p, "src=") != NULL && strstr(p, "src=") < strchr(p, '>'));
			assert_null(strstr(r.body, "<style"));
			assert_null(strstr(r.body, " style="));
			assert_null(strstr(r.body, " onclick="));
		}
		raw_free(&r);
	}
}

/* Bound to loopback, the server answers only to its own names: a page
 * whose name was made to resolve to 127.0.0.1 cannot read the API. */
static void test_host_check(void **state)
{
	(void)state;
	static const char *const good[] = {"localhost",   "localhost:8080", "127.0.0.1",
	                                   "127.0.0.1:1", "[::1]:8080",     "LOCALHOST"};
	static const char *const bad[] = {"evil.example",           "evil.example:8080", "127.0.0.1.evil.example",
	                                  "localhost.evil.example", "localhost:80x",     "[::2]"};
	char h[128];
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		snprintf(h, sizeof h, "Host: %s\r\n", good[i]);
		raw_resp r = raw_get("/api/health", h);
		if (r.status != 200)
			fail_msg("Host %s: status %d", good[i], r.status);
		raw_free(&r);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(h, sizeof h, "Host: %s\r\n", bad[i]);
		raw_resp r = raw_get("/api/health", h);
		assert_error_answer(&r, 421, "localhost");
	}
}

/* A Host header with each of `good` is answered, with each of `bad` is a
 * 421 that names what the server answers to. */
static void assert_hosts(const char *const *good, size_t ngood, const char *const *bad, size_t nbad)
{
	char h[300];
	for (size_t i = 0; i < ngood; i++) {
		snprintf(h, sizeof h, "Host: %s\r\n", good[i]);
		raw_resp r = raw_get("/api/health", h);
		if (r.status != 200)
			fail_msg("Host %s: status %d, wanted 200", good[i], r.status);
		raw_free(&r);
	}
	for (size_t i = 0; i < nbad; i++) {
		snprintf(h, sizeof h, "Host: %s\r\n", bad[i]);
		raw_resp r = raw_get("/api/health", h);
		if (r.status != 421)
			fail_msg("Host %s: status %d, wanted 421", bad[i], r.status);
		assert_error_answer(&r, 421, "--allow-host");
	}
}

/* `segue serve --allow-host NAME` answers to NAME as well (any case, any
 * port), and refuses a NAME with a port or odd characters. */
static void test_allow_host_option(void **state)
{
	(void)state;
	static const char *const extra[] = {"--allow-host", "segue.test", "--allow-host", "Music.Example", NULL};
	fixture_down(state);
	assert_int_equal(start_server_with(extra), 0);
	static const char *const good[] = {"segue.test", "SEGUE.test:8080", "music.example", "localhost:1"};
	static const char *const bad[] = {"evil.example", "segue.test.evil.example", "music.example.", "x.segue.test",
	                                  "10.1.2.3"};
	assert_hosts(good, sizeof good / sizeof *good, bad, sizeof bad / sizeof *bad);
	char cmd[PATH_MAX + 128];
	const char *bin = getenv("SEGUE_BIN");
	static const char *const refused[] = {"segue.test:8080", "", "a b", "[::1]", "x/y"};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		snprintf(cmd, sizeof cmd, "'%s' serve --workspace '%s/ws' --port 0 --allow-host '%s' 2>/dev/null",
		         bin ? bin : "./build-san/segue", dir, refused[i]);
		if (run(cmd) != 2)
			fail_msg("--allow-host '%s' was not refused", refused[i]);
	}
}

/* A body must be JSON, said so: a form on another site can post
 * text/plain without the browser asking first. */
static void test_post_needs_json(void **state)
{
	(void)state;
	const char *body = "{\"model\": \"popular\", \"k\": 3}";
	raw_resp r = raw_post(body, "text/plain");
	assert_error_answer(&r, 415, "application/json");
	r = raw_post(body, "application/x-www-form-urlencoded");
	assert_error_answer(&r, 415, NULL);
	r = raw_post(body, NULL);
	assert_error_answer(&r, 415, NULL);
	r = raw_post(body, "application/json; charset=utf-8");
	assert_int_equal(r.status, 200);
	raw_free(&r);
}

/* `segue recommend --json` writes the server's answer: the same fields
 * for every track, and the seeds. */
static void test_cli_recommend_json(void **state)
{
	(void)state;
	char cmd[2 * PATH_MAX];
	const char *bin = getenv("SEGUE_BIN");
	snprintf(cmd, sizeof cmd, "'%s' recommend --workspace '%s/ws' --seed %s --k 5 --json",
	         bin ? bin : "./build-san/segue", dir, first_id);
	char *out = NULL;
	assert_int_equal(tu_run(cmd, &out), 0);
	json_t *cli = json_loads(out, 0, NULL);
	free(out);
	assert_non_null(cli);
	assert_string_equal(json_string_value(json_object_get(cli, "model")), "hybrid");
	assert_true(json_is_string(json_object_get(cli, "shortfall")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(cli, "seeds"), 0), "id")),
	                    first_id);
	char body[256];
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 5}", first_id);
	json_t *srv = post(body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(cli, "model_version")), "v1");
	assert_string_equal(json_string_value(json_object_get(srv, "model_version")), "v1");
	json_t *ct = json_object_get(cli, "tracks"), *st = json_object_get(srv, "tracks");
	assert_int_equal(json_array_size(ct), 5);
	assert_int_equal(json_array_size(st), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *a = json_array_get(ct, i), *b = json_array_get(st, i);
		const char *key;
		json_t *v;
		json_object_foreach(b, key, v)
		{
			json_t *w = json_object_get(a, key);
			if (w == NULL)
				fail_msg("the CLI's track %zu has no '%s'", i, key);
			if (strcmp(key, "score") != 0 && !json_equal(v, w))
				fail_msg("'%s' of track %zu differs between the CLI and the server", key, i);
		}
	}
	assert_null(json_object_get(cli, "warnings"));
	json_decref(cli);
	/* A seed that matches nothing is skipped, as by the server, with the
	 * same warning; the other seed's tracks come back. */
	snprintf(cmd, sizeof cmd,
	         "'%s' recommend --workspace '%s/ws' --seed %s --seed 0000000000000000000000 --k 5 --json",
	         bin ? bin : "./build-san/segue", dir, first_id);
	assert_int_equal(tu_run(cmd, &out), 0);
	cli = json_loads(out, 0, NULL);
	free(out);
	assert_non_null(cli);
	assert_int_equal(json_array_size(json_object_get(cli, "seeds")), 1);
	json_t *w = json_object_get(cli, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(json_string_value(json_array_get(w, 0)),
	                    "seed '0000000000000000000000' is not in the catalogue; it was skipped");
	ct = json_object_get(cli, "tracks");
	assert_int_equal(json_array_size(ct), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(ct, i), "id")),
		                    json_string_value(json_object_get(json_array_get(st, i), "id")));
	json_decref(cli);
	json_decref(srv);
	/* With no seed found, the command fails. */
	snprintf(cmd, sizeof cmd,
	         "'%s' recommend --workspace '%s/ws' --seed 0000000000000000000000 --k 5 --json 2>/dev/null",
	         bin ? bin : "./build-san/segue", dir);
	assert_int_not_equal(tu_run(cmd, &out), 0);
	free(out);
}

/* ---- a model registered at run time, served in-process ---- */

/* serve_run on a thread of this process, so that it serves this process's
 * registry. */
static struct {
	pthread_t thread;
	int running; /* the thread was started and not joined */
	serve_options o;
	char ws[PATH_MAX];
	seg_error err;
	int rc;
	atomic_int done; /* serve_run returned */
} inproc;

static void *inproc_main(void *arg)
{
	(void)arg;
	inproc.rc = serve_run(&inproc.o, &inproc.err);
	atomic_store(&inproc.done, 1);
	return NULL;
}

/* A loopback port that nothing listens on now. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int p = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* Starts serve_run on the test's workspace in a thread, with the options
 * `tune` (may be NULL) sets beyond the defaults, and points port at it once
 * it answers. */
static void inproc_start(void (*tune)(serve_options *))
{
	serve_options_default(&inproc.o);
	snprintf(inproc.ws, sizeof inproc.ws, "%s/ws", dir);
	inproc.o.workspace = inproc.ws;
	inproc.o.quiet = 1;
	inproc.o.access_log = NULL;
	inproc.o.port = free_port();
	assert_true(inproc.o.port > 0);
	if (tune != NULL)
		tune(&inproc.o);
	atomic_store(&inproc.done, 0);
	assert_int_equal(pthread_create(&inproc.thread, NULL, inproc_main, NULL), 0);
	inproc.running = 1;
	for (int i = 0; i < 600; i++) {
		if (atomic_load(&inproc.done))
			fail_msg("serve_run returned %d: %s", inproc.rc, inproc.err.msg);
		char *body = NULL;
		int st = tu_http(inproc.o.port, "GET", "/api/health", NULL, 0, &body, NULL, 0);
		free(body);
		if (st == 200) {
			port = inproc.o.port;
			return;
		}
		usleep(50000);
	}
	fail_msg("the in-process server did not answer within 30 s");
}

/* Stops it (serve_stop, as SIGTERM would) and returns serve_run's code. */
static int inproc_stop(void)
{
	if (!inproc.running)
		return 0;
	if (!atomic_load(&inproc.done))
		serve_stop();
	pthread_join(inproc.thread, NULL);
	inproc.running = 0;
	return inproc.rc;
}

static int inproc_down(void **state)
{
	inproc_stop();
	return fixture_down(state);
}

/* A model registered at run time is offered by the server like a
 * built-in: POST /api/recommend takes it, GET /api/models lists it, the
 * OpenAPI document's model enum has it, and an unknown model's error names
 * it. (The acceptance of issue 9's "one model interface"; the CLI and
 * evaluate are test_cli's test_registered_model_offered.) */
static void test_registered_model_served(void **state)
{
	(void)state;
	int id = tu_register_constant();
	assert_int_equal(recommender_find("constant"), id);
	inproc_start(NULL);

	/* It recommends: with a seed, the next known tracks by id; it needs
	 * none (no REC_NEEDS_QUERY), which the server reads from the registry. */
	char ws[PATH_MAX], seed[32], body[256];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(seed, sizeof seed, "%s", tu_ws_text(ws, "SELECT spotify_id FROM tracks WHERE id = 1"));
	snprintf(body, sizeof body, "{\"model\": \"constant\", \"seeds\": [\"%s\"], \"k\": 2, \"rerank\": false}",
	         seed);
	json_t *j = post(body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(j, "model")), "constant");
	json_t *tracks = json_object_get(j, "tracks");
	assert_int_equal(json_array_size(tracks), 2);
	for (int t = 2; t <= 3; t++) {
		char q[128];
		snprintf(q, sizeof q, "SELECT spotify_id FROM tracks WHERE id = %d", t);
		json_t *tr = json_array_get(tracks, (size_t)(t - 2));
		assert_int_equal(json_integer_value(json_object_get(tr, "rank")), t - 1);
		assert_string_equal(json_string_value(json_object_get(tr, "id")), tu_ws_text(ws, q));
	}
	json_decref(j);
	const char *noseed = "{\"model\": \"constant\", \"k\": 4}";
	j = post(noseed, strlen(noseed), 200);
	assert_int_equal(json_array_size(json_object_get(j, "tracks")), 4);
	json_decref(j);
	/* The built-ins that need seeds or a mood still refuse to go without. */
	const char *content = "{\"model\": \"content\"}";
	json_decref(post(content, strlen(content), 400));

	/* An unknown model's error names every registered one. */
	const char *nope = "{\"model\": \"nope\"}";
	j = post(nope, strlen(nope), 400);
	assert_non_null(strstr(
		json_string_value(json_object_get(j, "detail")),
		"model must be one of random, popular, content, cooc, als, ease, rp3beta, hybrid, title, constant"));
	json_decref(j);

	/* GET /api/models lists the registry, in id order, with the default. */
	j = get_json("/api/models", 200);
	json_t *recs = json_object_get(j, "recommenders");
	assert_int_equal(json_array_size(recs), recommender_count());
	json_t *mine = json_array_get(recs, (size_t)id);
	assert_string_equal(json_string_value(json_object_get(mine, "name")), "constant");
	assert_string_equal(json_string_value(json_object_get(mine, "description")), tu_constant_model.description);
	assert_true(json_is_false(json_object_get(mine, "needs_query")));
	assert_string_equal(json_string_value(json_object_get(j, "default_recommender")), "hybrid");
	/* The re-ranking knobs a request gets when it sets none (no
	 * tuning.json here: the code's). */
	rec_request def;
	rec_request_default(&def);
	json_t *rd = json_object_get(j, "rerank_defaults");
	assert_true(fabs(json_number_value(json_object_get(rd, "diversity")) - def.diversity) < 1e-6);
	assert_true(fabs(json_number_value(json_object_get(rd, "novelty")) - def.novelty) < 1e-6);
	assert_int_equal(json_integer_value(json_object_get(rd, "max_per_artist")), def.max_per_artist);
	json_decref(j);

	/* The OpenAPI document's model enum is the registry's names (the
	 * first form of "model"; the other is interleave:A,B). */
	j = get_json("/openapi.json", 200);
	json_t *model = json_array_get(
		json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(json_object_get(json_object_get(j, "components"), "schemas"),
	                                                "RecommendRequest"),
					"properties"),
				"model"),
			"anyOf"),
		0);
	json_t *names = json_object_get(model, "enum");
	assert_int_equal(json_array_size(names), recommender_count());
	for (size_t i = 0; i < recommender_count(); i++)
		assert_string_equal(json_string_value(json_array_get(names, i)), recommender_name((int)i));
	assert_string_equal(json_string_value(json_array_get(names, (size_t)id)), "constant");
	json_decref(j);

	/* serve_stop ends it cleanly. */
	assert_int_equal(inproc_stop(), 0);
}

/* The server's requests run in parallel on its own threads, so BLAS runs
 * one thread inside each: with OpenBLAS's own threads as well, the default
 * model's throughput fell fourfold at 32 connections. */
static void test_blas_single_threaded(void **state)
{
	(void)state;
	openblas_set_num_threads(2);
	assert_int_equal(openblas_get_num_threads(), 2); /* the check can fail */
	inproc_start(NULL);
	json_decref(get_json("/api/health", 200));
	assert_int_equal(openblas_get_num_threads(), 1);
	assert_int_equal(inproc_stop(), 0);
}

/* ---- limits set through serve_options, on an in-process server ---- */

static void tune_search_steps(serve_options *o) { o->search_steps = 2; }

/* A search over the server's step budget answers 400, saying the search is
 * too broad, and the server goes on answering, searches included once the
 * budget allows them. */
static void test_search_budget(void **state)
{
	(void)state;
	inproc_start(tune_search_steps);
	raw_resp r = raw_get("/api/tracks?q=synthetic", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "too broad");
	r = raw_get("/api/tracks?q=synthetic&genre=pop", "Host: 127.0.0.1\r\n");
	assert_error_answer(&r, 400, "too broad");
	json_decref(get_json("/api/health", 200));
	assert_int_equal(inproc_stop(), 0);
	/* The default budget: the same search is answered. */
	inproc_start(NULL);
	json_t *j = get_json("/api/tracks?q=synthetic", 200);
	assert_true(json_integer_value(json_object_get(j, "count")) > 0);
	json_decref(j);
	assert_int_equal(inproc_stop(), 0);
	/* A negative budget is refused at start. */
	serve_options o;
	serve_options_default(&o);
	o.workspace = inproc.ws;
	o.search_steps = -1;
	seg_error err = {0};
	assert_int_equal(serve_run(&o, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "search_steps"));
}

static void tune_wildcard(serve_options *o) { o->bind = "0.0.0.0"; }

/* Bound to an address that is not loopback, one address holds at most
 * SERVE_MAX_PER_IP connections (127.0.0.1 reaches the wildcard address
 * here): those over it are closed at once, and the others still served. */
static void test_client_limits_per_address(void **state)
{
	(void)state;
	inproc_start(tune_wildcard);
	enum { N = SERVE_MAX_PER_IP + 8 };
	int idle[N];
	for (int i = 0; i < N; i++)
		assert_true((idle[i] = connect_server()) >= 0);
	int closed = count_closed(idle, N, 1.0);
	if (closed < N - SERVE_MAX_PER_IP)
		fail_msg("%d of %d connections from one address closed, wanted %d", closed, N, N - SERVE_MAX_PER_IP);
	for (int i = 0; i < N; i++)
		close(idle[i]);
	usleep(300000);
	json_decref(get_json("/api/health", 200));
	assert_int_equal(inproc_stop(), 0);
}

static const char *const wildcard_hosts[] = {"segue.test", "Music.Example"};

static void tune_wildcard_hosts(serve_options *o)
{
	o->bind = "0.0.0.0";
	o->allow_hosts = wildcard_hosts;
	o->nallow_hosts = 2;
}

static void tune_loopback_hosts(serve_options *o)
{
	o->allow_hosts = wildcard_hosts;
	o->nallow_hosts = 2;
}

/* Bound to 0.0.0.0 the server answers on 127.0.0.1 too, so the Host check
 * holds there as well: local names, IP addresses (no name to rebind), this
 * machine's hostname and the allowed names pass, any other name is a 421.
 * On loopback an IP address or the hostname is not one of its names. */
static void test_host_check_wildcard(void **state)
{
	(void)state;
	char host[256] = "", host_port[300];
	assert_int_equal(gethostname(host, sizeof host - 1), 0);
	snprintf(host_port, sizeof host_port, "%s:8080", host);
	inproc_start(tune_wildcard_hosts);
	const char *const good[] = {"localhost",     "127.0.0.1:1",      "[::1]:8080", "0.0.0.0",         "10.1.2.3",
	                            "10.1.2.3:8080", "[2001:db8::1]:80", "segue.test", "MUSIC.example:1", host,
	                            host_port};
	static const char *const bad[] = {"evil.example",
	                                  "evil.example:8080",
	                                  "127.0.0.1.evil.example",
	                                  "localhost.evil",
	                                  "10.1.2.3.evil",
	                                  "10.1.2",
	                                  "[::1",
	                                  "[evil]",
	                                  "segue.test.evil.example",
	                                  "localhost:80x",
	                                  "2001:db8::1"};
	assert_hosts(good, sizeof good / sizeof *good, bad, sizeof bad / sizeof *bad);
	assert_int_equal(inproc_stop(), 0);

	/* Loopback, with the same allowed names. */
	inproc_start(tune_loopback_hosts);
	static const char *const good_lo[] = {"localhost", "127.0.0.1:1", "segue.test:80", "music.example"};
	const char *const bad_lo[] = {"evil.example", "10.1.2.3", "[2001:db8::1]", "0.0.0.0", host};
	size_t nbad_lo = strcmp(host, "localhost") == 0 ? 4 : 5;
	assert_hosts(good_lo, sizeof good_lo / sizeof *good_lo, bad_lo, nbad_lo);
	assert_int_equal(inproc_stop(), 0);

	/* A name that cannot be one is refused at start. */
	static const char *const odd[] = {"segue.test:80"};
	serve_options o;
	serve_options_default(&o);
	o.workspace = inproc.ws;
	o.allow_hosts = odd;
	o.nallow_hosts = 1;
	seg_error err = {0};
	assert_int_equal(serve_run(&o, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "without port"));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One GET /api/health on a kept-alive connection: its status, once its
 * whole answer (Content-Length bytes of body) has come. */
static int keepalive_health(int fd)
{
	const char *req = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		return -1;
	char buf[8192];
	size_t n = 0;
	char *sep = NULL;
	long want = -1;
	while (n < sizeof buf - 1) {
		ssize_t got = recv(fd, buf + n, sizeof buf - 1 - n, 0);
		if (got <= 0)
			return -1;
		n += (size_t)got;
		buf[n] = '\0';
		if (sep == NULL && (sep = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			want = cl && cl < sep ? atol(cl + 17) : 0;
		}
		if (sep != NULL && (long)(n - (size_t)(sep + 4 - buf)) >= want)
			break;
	}
	int status = -1;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

static void tune_deadline(serve_options *o) { o->request_deadline = 2; }

/* Clients that trickle their request a header line at a time are closed at
 * the request deadline (2 s here), however busy they keep their
 * connections; while more of them are connected from 127.0.0.1 than one
 * address may hold on a bind that is not loopback, any other local client
 * is answered at once; and a kept-alive connection whose requests each
 * arrive in time outlives the deadline. */
static void test_slow_clients(void **state)
{
	(void)state;
	inproc_start(tune_deadline);
	enum { N = SERVE_MAX_PER_IP + 8 };
	const double deadline = 2;
	int fd[N];
	double opened[N], closed_at[N];
	const char *start = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	for (int i = 0; i < N; i++) {
		assert_true((fd[i] = connect_server()) >= 0);
		opened[i] = now();
		closed_at[i] = 0;
		assert_int_equal(send(fd[i], start, strlen(start), MSG_NOSIGNAL), (ssize_t)strlen(start));
	}
	int ka = connect_server();
	assert_true(ka >= 0);
	double t0 = now(), slowest = 0;
	int asked = 0;
	for (int tick = 0; now() - t0 < deadline + 2.5; tick++) {
		usleep(200000);
		/* One more header line on each open connection. */
		char line[64];
		int len = snprintf(line, sizeof line, "X-Slow-%d: still coming\r\n", tick);
		for (int i = 0; i < N; i++) {
			if (closed_at[i] > 0)
				continue;
			if (closed_by_server(fd[i]))
				closed_at[i] = now();
			else
				send(fd[i], line, (size_t)len, MSG_NOSIGNAL);
		}
		/* Another client is answered, and answered at once. */
		double t = now();
		char *body = NULL;
		int st = tu_http(port, "GET", "/api/health", NULL, 0, &body, NULL, 0);
		free(body);
		if (st != 200)
			fail_msg("GET /api/health at %.1f s with %d slow clients: status %d", t - t0, N, st);
		slowest = now() - t > slowest ? now() - t : slowest;
		/* The kept-alive connection asks again, whole requests each time. */
		if (keepalive_health(ka) != 200)
			fail_msg("the kept-alive connection got no answer at %.1f s", now() - t0);
		asked++;
	}
	for (int i = 0; i < N; i++) {
		if (closed_at[i] == 0)
			fail_msg("slow client %d still open %.1f s after it connected", i, now() - opened[i]);
		double held = closed_at[i] - opened[i];
		if (held < deadline - 0.3 || held > deadline + 1.5)
			fail_msg("slow client %d closed after %.2f s, wanted about %.0f s", i, held, deadline);
		close(fd[i]);
	}
	if (slowest > 1.0)
		fail_msg("GET /api/health took %.2f s while the slow clients were connected", slowest);
	/* It lived past the deadline, asking all the while. */
	assert_true(asked >= 10);
	assert_int_equal(keepalive_health(ka), 200);
	close(ka);
	/* A body that trickles is held to the same deadline as headers. */
	int slow_body = connect_server();
	const char *head = "POST /api/recommend HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			   "Content-Length: 100\r\n\r\n{";
	assert_int_equal(send(slow_body, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	double t1 = now();
	while (!closed_by_server(slow_body) && now() - t1 < deadline + 2) {
		send(slow_body, " ", 1, MSG_NOSIGNAL);
		usleep(200000);
	}
	double held = now() - t1;
	if (held < deadline - 0.3 || held > deadline + 1.5)
		fail_msg("a trickling body was closed after %.2f s, wanted about %.0f s", held, deadline);
	close(slow_body);
	json_decref(get_json("/api/health", 200));
	assert_int_equal(inproc_stop(), 0);
	/* The deadline is checked at start. */
	serve_options o;
	serve_options_default(&o);
	assert_int_equal(o.request_deadline, SERVE_REQUEST_DEADLINE);
	o.workspace = inproc.ws;
	o.request_deadline = -1;
	seg_error err = {0};
	assert_int_equal(serve_run(&o, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "request_deadline"));
}

/* ---- events and experiments (issue 11) ---- */

/* A request with a body to any route; checks the status and returns the
 * JSON answer (NULL for an answer that is not JSON). */
static json_t *call(const char *method, const char *target, const char *body, int want)
{
	char *resp = NULL;
	int st = tu_http(port, method, target, body, body ? strlen(body) : 0, &resp, NULL, 0);
	if (st != want)
		fail_msg("%s %s %.200s: status %d, wanted %d: %.400s", method, target, body ? body : "", st, want,
		         resp ? resp : "");
	json_error_t je;
	json_t *j = resp ? json_loads(resp, 0, &je) : NULL;
	free(resp);
	return j;
}

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The test workspace's event store, opened beside the server. */
static evstore *open_store(void)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/ws/%s", dir, EVSTORE_FILE);
	evstore *st = NULL;
	seg_error err = {0};
	if (evstore_open(path, &st, &err) < 0)
		fail_msg("evstore_open %s: %s", path, err.msg);
	return st;
}

static long long store_count(void)
{
	evstore *st = open_store();
	int64_t n = -1;
	seg_error err = {0};
	assert_int_equal(evstore_count(st, &n, &err), 0);
	evstore_close(st);
	return (long long)n;
}

/* One event's JSON with these fields, `extra` (may be "") appended. */
static void event_json(char *buf, size_t cap, const char *id, const char *type, const char *user, const char *track,
                       const char *extra)
{
	snprintf(buf, cap,
	         "{\"event_id\":\"%s\",\"type\":\"%s\",\"user_id\":\"%s\",\"track\":\"%s\",\"client_ms\":%lld%s}", id,
	         type, user, track, wall_ms(), extra);
}

/* POST /api/events with events[1] = `bad` (a good one before it): 400
 * naming index 1 and `field`, and nothing stored. */
static void assert_bad_event(const char *bad, const char *field)
{
	char good[512], body[2048];
	event_json(good, sizeof good, "good-1", "play", "u1", first_id, "");
	snprintf(body, sizeof body, "{\"events\":[%s,%s]}", good, bad);
	long long before = store_count();
	json_t *j = call("POST", "/api/events", body, 400);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "bad_event");
	assert_int_equal(json_integer_value(json_object_get(j, "index")), 1);
	const char *got = json_string_value(json_object_get(j, "field"));
	if (field != NULL && (got == NULL || strcmp(got, field) != 0))
		fail_msg("event %s: field '%s', wanted '%s' (%s)", bad, got ? got : "(none)", field,
		         json_string_value(json_object_get(j, "detail")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "events[1]"));
	json_decref(j);
	assert_int_equal(store_count(), before); /* all or nothing */
}

/* POST /api/events stores a batch once: a retry is all duplicates; every
 * field of the event schema has its 4xx, naming the event and the field,
 * and a batch with one bad event stores nothing; bodies that are not a
 * batch are 400, one over the route's limit 413, while a full batch of
 * the longest events fits. */
static void test_events_route(void **state)
{
	(void)state;
	char a[512], b[512], body[4096];
	event_json(a, sizeof a, "ev-1", "play", "listener-1", first_id, ",\"request_id\":\"r-1\",\"position\":0");
	event_json(b, sizeof b, "ev-2", "like", "listener-1", first_id, "");
	snprintf(body, sizeof body, "{\"events\":[%s,%s]}", a, b);
	long long before = store_count();
	json_t *j = call("POST", "/api/events", body, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "stored")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "duplicates")), 0);
	json_decref(j);
	assert_int_equal(store_count(), before + 2);
	j = call("POST", "/api/events", body, 200); /* a retry */
	assert_int_equal(json_integer_value(json_object_get(j, "stored")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "duplicates")), 2);
	json_decref(j);
	assert_int_equal(store_count(), before + 2);

	/* Every field, through HTTP. */
	char bad[1024], long_id[80];
	memset(long_id, 'x', 65);
	long_id[65] = '\0';
	long long now = wall_ms();
	const struct {
		const char *json;
		const char *field;
	} cases[] = {
		{"{\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}", "event_id"},
		{"{\"event_id\":\"has space\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}",
	         "event_id"},
		{"{\"event_id\":\"e9\",\"type\":\"jump\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}",
	         "type"},
		{"{\"event_id\":\"e9\",\"type\":\"impression\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}",
	         "type"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"\",\"track\":\"%s\",\"client_ms\":%lld}",
	         "user_id"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"track\":\"%s\",\"client_ms\":%lld}", "user_id"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"nope%.0s\",\"client_ms\":%lld}",
	         "track"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld,"
	         "\"request_id\":\"a b\"}",
	         "request_id"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld,"
	         "\"position\":-1}",
	         "position"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld,"
	         "\"position\":\"3\"}",
	         "position"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld,"
	         "\"position\":500}",
	         "position"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":\"%lld\"}",
	         "client_ms"},
		{"{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld,"
	         "\"color\":1}",
	         NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(bad, sizeof bad, cases[i].json, first_id, now);
		assert_bad_event(bad, cases[i].field);
	}
	/* Times: before 2000, more than a day ahead, not whole. */
	snprintf(bad, sizeof bad,
	         "{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}",
	         first_id, 900000000000LL);
	assert_bad_event(bad, "client_ms");
	snprintf(bad, sizeof bad,
	         "{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}",
	         first_id, now + 3 * 86400000LL);
	assert_bad_event(bad, "client_ms");
	snprintf(bad, sizeof bad,
	         "{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":1.5e12}",
	         first_id);
	assert_bad_event(bad, "client_ms");
	snprintf(bad, sizeof bad,
	         "{\"event_id\":\"%s\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"%s\",\"client_ms\":%lld}",
	         long_id, first_id, now);
	assert_bad_event(bad, "event_id");
	snprintf(bad, sizeof bad,
	         "{\"event_id\":\"e9\",\"type\":\"play\",\"user_id\":\"%s\",\"track\":\"%s\",\"client_ms\":%lld}",
	         long_id, first_id, now);
	assert_bad_event(bad, "user_id");
	/* The same event_id twice in one batch. */
	event_json(bad, sizeof bad, "good-1", "skip", "u2", first_id, "");
	assert_bad_event(bad, "event_id");

	/* Bodies that are no batch. */
	static const char *const no_batch[] = {"{\"events\":[]}", "{\"events\":\"x\"}", "{}", "[1]",
	                                       "{\"events\":[1]}"};
	for (size_t i = 0; i < sizeof no_batch / sizeof *no_batch; i++) {
		j = call("POST", "/api/events", no_batch[i], 400);
		assert_non_null(json_object_get(j, "index"));
		assert_non_null(json_object_get(j, "field"));
		json_decref(j);
	}
	j = call("POST", "/api/events", "{\"events\": [", 400);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "bad_json");
	json_decref(j);
	json_decref(call("GET", "/api/events", NULL, 405));

	/* A full batch of the longest events fits the route's limit (more than
	 * any other route takes), EV_MAX_BATCH + 1 events do not pass, and a
	 * body over the limit is 413. */
	strbuf sb = {0};
	char ev[1024], id64[EV_ID_MAX + 1];
	for (int n = EV_MAX_BATCH; n <= EV_MAX_BATCH + 1; n++) {
		strbuf_reset(&sb);
		strbuf_puts(&sb, "{\"events\":[");
		for (int i = 0; i < n; i++) {
			snprintf(id64, sizeof id64, "%0*d", EV_ID_MAX, i);
			snprintf(ev, sizeof ev,
			         "%s{\"event_id\":\"%s\",\"type\":\"dislike\",\"user_id\":\"%s\",\"track\":\"%s\","
			         "\"request_id\":\"%s\",\"position\":499,\"client_ms\":%lld}",
			         i ? "," : "", id64, id64, first_id, id64, now);
			strbuf_puts(&sb, ev);
		}
		strbuf_puts(&sb, "]}");
		assert_true(sb.len > SERVE_MAX_BODY && sb.len < SERVE_MAX_EVENTS_BODY);
		j = call("POST", "/api/events", strbuf_cstr(&sb), n == EV_MAX_BATCH ? 200 : 400);
		if (n == EV_MAX_BATCH)
			assert_int_equal(json_integer_value(json_object_get(j, "stored")), EV_MAX_BATCH);
		json_decref(j);
	}
	strbuf_reset(&sb);
	strbuf_puts(&sb, "{\"events\":[],\"pad\":\"");
	while (sb.len <= SERVE_MAX_EVENTS_BODY)
		strbuf_puts(&sb, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	strbuf_puts(&sb, "\"}");
	json_decref(call("POST", "/api/events", strbuf_cstr(&sb), 413));
	strbuf_free(&sb);
	/* Other routes keep their own limit. */
	char *big = malloc(SERVE_MAX_BODY + 64);
	memset(big, ' ', SERVE_MAX_BODY + 63);
	big[0] = '{';
	big[SERVE_MAX_BODY + 62] = '}';
	big[SERVE_MAX_BODY + 63] = '\0';
	json_decref(call("POST", "/api/recommend", big, 413));
	free(big);
}

/* Creates experiment `name` through the API with the variants' JSON and
 * starts it; returns it as GET gives it. */
static json_t *create_and_start(const char *name, const char *variants)
{
	char body[2048], target[256];
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"variants\":%s,\"guardrails\":[\"skip_rate\"]}", name, variants);
	json_t *j = call("POST", "/api/experiments", body, 201);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "draft");
	json_decref(j);
	snprintf(target, sizeof target, "/api/experiments/%s/start", name);
	j = call("POST", target, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
	assert_true(json_integer_value(json_object_get(j, "started_ms")) > 0);
	return j;
}

/* The experiment `j` (its API JSON) as the library reads it. */
static void experiment_of(json_t *j, experiment *e)
{
	char *text = json_dumps(j, JSON_COMPACT);
	seg_error err = {0};
	if (exp_from_json(text, strlen(text), e, &err) < 0)
		fail_msg("exp_from_json: %s", err.msg);
	free(text);
}

/* The impressions of experiment `name` in the store, by event_id. */
typedef struct seen_events {
	json_t *by_id; /* event_id -> ev_event_json's object */
} seen_events;

static int collect(void *ctx, const ev_event *ev)
{
	seen_events *s = ctx;
	strbuf sb = {0};
	ev_event_json(ev, &sb);
	json_error_t je;
	json_t *o = json_loads(strbuf_cstr(&sb), 0, &je);
	strbuf_free(&sb);
	if (o == NULL)
		return -1;
	json_object_set_new(s->by_id, ev->event_id, o);
	return 0;
}

/* The server logs impressions without waiting for the disk (evstore_log):
 * they reach the store a few milliseconds after the answer. So a reader
 * beside the server polls, for up to 5 s, until it sees `want` events. */
static json_t *experiment_events(const char *name, size_t want)
{
	json_t *by_id = NULL;
	for (int i = 0; i < 500; i++) {
		seen_events s = {json_object()};
		evstore *st = open_store();
		seg_error err = {0};
		if (evstore_scan_experiment(st, name, collect, &s, &err) < 0)
			fail_msg("scan %s: %s", name, err.msg);
		evstore_close(st);
		by_id = s.by_id;
		if (json_object_size(by_id) >= want)
			break;
		json_decref(by_id);
		by_id = NULL;
		usleep(10000);
	}
	if (by_id == NULL)
		fail_msg("experiment %s: fewer than %zu events stored after 5 s", name, want);
	return by_id;
}

/* store_count once it is `want`, polling for up to 5 s (then what it is). */
static long long store_count_reaches(long long want)
{
	long long n = store_count();
	for (int i = 0; i < 500 && n != want; i++) {
		usleep(10000);
		n = store_count();
	}
	return n;
}

/* GET an experiment's report: the server flushes the logged impressions
 * before it reads the store, so once it answers, every list served before
 * is in the store. */
static void flush_through_report(const char *name)
{
	char target[256], *body = NULL, ctype[128] = "";
	snprintf(target, sizeof target, "/api/experiments/%s/report", name);
	int st = tu_http(port, "GET", target, NULL, 0, &body, ctype, sizeof ctype);
	if (st != 200 && st != 409)
		fail_msg("GET %s: %d %s", target, st, body ? body : "");
	free(body);
}

/* A recommendation for `user` (NULL: none) from the first track; extra
 * is more body fields ("" for none). */
static json_t *recommend_for(const char *user, const char *extra, int want)
{
	char body[1024], u[128] = "";
	if (user)
		snprintf(u, sizeof u, ",\"user_id\":\"%s\"", user);
	snprintf(body, sizeof body, "{\"seeds\":[\"%s\"],\"k\":8%s%s}", first_id, u, extra);
	return call("POST", "/api/recommend", body, want);
}

/* With a user_id, the oldest running experiment assigns the listener a
 * variant (the one exp_assign computes from the salt, the same on every
 * request), its configuration decides the model, the answer says which
 * experiment and variant, and the impression is in the store, with this
 * answer's request id, variant, model and tracks in order. Without a user
 * there is no experiment and no event; request ids are unique. */
static void test_recommend_assigns_and_logs(void **state)
{
	(void)state;
	json_t *ej = create_and_start("popular-vs-content", "[{\"name\":\"control\",\"config\":\"model=popular\"},"
	                                                    "{\"name\":\"treatment\",\"config\":\"model=content\"}]");
	experiment e;
	experiment_of(ej, &e);
	json_decref(ej);
	/* A younger running experiment never decides while the older runs. */
	json_decref(create_and_start("younger", "[{\"name\":\"a\",\"config\":\"model=random\"},"
	                                        "{\"name\":\"b\",\"config\":\"model=random\"}]"));
	char user[32];
	int seen[2] = {0, 0};
	json_t *rids = json_object();
	for (int u = 0; u < 24; u++) {
		snprintf(user, sizeof user, "listener-%d", u);
		size_t want = exp_assign(&e, user);
		seen[want] = 1;
		for (int rep = 0; rep < 2; rep++) {
			json_t *j = recommend_for(user, rep ? ",\"model\":\"hybrid\"" : "", 200);
			json_t *x = json_object_get(j, "experiment");
			assert_string_equal(json_string_value(json_object_get(x, "name")), "popular-vs-content");
			assert_string_equal(json_string_value(json_object_get(x, "variant")), e.variant[want].name);
			/* The variant's model overrides the body's. */
			assert_string_equal(json_string_value(json_object_get(j, "model")),
			                    want ? "content" : "popular");
			const char *rid = json_string_value(json_object_get(j, "request_id"));
			assert_non_null(rid);
			assert_null(json_object_get(rids, rid)); /* unique */
			json_object_set(rids, rid, j);
			json_decref(j);
		}
	}
	assert_true(seen[0] && seen[1]);
	/* Every answer's impression is in the store: committed a few
	 * milliseconds after the answer (polled here), and at once as far as
	 * the report route can tell (it flushes before it reads). */
	json_t *evs = experiment_events("popular-vs-content", json_object_size(rids));
	assert_int_equal(json_object_size(evs), json_object_size(rids));
	const char *rid;
	json_t *ans;
	json_object_foreach(rids, rid, ans)
	{
		json_t *ev = json_object_get(evs, rid);
		if (ev == NULL)
			fail_msg("no impression for request %s", rid);
		assert_string_equal(json_string_value(json_object_get(ev, "type")), "impression");
		assert_string_equal(json_string_value(json_object_get(ev, "request_id")), rid);
		assert_string_equal(json_string_value(json_object_get(ev, "variant")),
		                    json_string_value(json_object_get(json_object_get(ans, "experiment"), "variant")));
		/* the model, and the version that answered ("hybrid@v1") */
		char model[160];
		assert_non_null(json_object_get(ans, "model_version"));
		snprintf(model, sizeof model, "%s@%s", json_string_value(json_object_get(ans, "model")),
		         json_string_value(json_object_get(ans, "model_version")));
		assert_string_equal(json_string_value(json_object_get(ev, "model")), model);
		json_t *tracks = json_object_get(ev, "tracks"), *shown = json_object_get(ans, "tracks");
		assert_int_equal(json_array_size(tracks), json_array_size(shown));
		assert_true(json_array_size(shown) > 0);
		for (size_t i = 0; i < json_array_size(shown); i++)
			assert_string_equal(json_string_value(json_array_get(tracks, i)),
			                    json_string_value(json_object_get(json_array_get(shown, i), "id")));
	}
	json_decref(evs);
	json_decref(rids);
	/* No user: a request id, no experiment, nothing logged (the report
	 * route's flush makes "nothing" certain rather than "not yet"). */
	long long before = store_count();
	json_t *j = recommend_for(NULL, "", 200);
	assert_non_null(json_string_value(json_object_get(j, "request_id")));
	assert_null(json_object_get(j, "experiment"));
	json_decref(j);
	flush_through_report("popular-vs-content");
	assert_int_equal(store_count(), before);
	/* A bad user id is the client's error. */
	json_decref(recommend_for("has space", "", 400));
	json_decref(recommend_for("", "", 400));
	char long_user[80];
	memset(long_user, 'u', 65);
	long_user[65] = '\0';
	json_decref(recommend_for(long_user, "", 400));
	json_decref(call("POST", "/api/recommend", "{\"seeds\":[],\"mood\":{\"energy\":0.5},\"user_id\":7}", 400));
	/* Once stopped, the next answer has no experiment: "younger" is the
	 * only one running, and decides. */
	json_decref(call("POST", "/api/experiments/popular-vs-content/stop", NULL, 200));
	j = recommend_for("listener-1", "", 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "experiment"), "name")), "younger");
	assert_string_equal(json_string_value(json_object_get(j, "model")), "random");
	json_decref(j);
	json_decref(call("POST", "/api/experiments/younger/stop", NULL, 200));
	before = store_count();
	j = recommend_for("listener-1", "", 200);
	assert_null(json_object_get(j, "experiment"));
	json_decref(j);
	assert_int_equal(store_count_reaches(before + 1), before + 1); /* a user's impression is logged all the same */
}

/* "interleave:A,B" in the body: every track has a team, both teams
 * contribute, the model says so, and the same request id never repeats;
 * in an experiment whose variant interleaves, the impression carries the
 * teams as the answer showed them. */
static void test_interleaved_answer(void **state)
{
	(void)state;
	json_t *j = recommend_for(NULL, ",\"model\":\"interleave:popular,content\"", 200);
	assert_string_equal(json_string_value(json_object_get(j, "model")), "interleave:popular,content");
	json_t *tracks = json_object_get(j, "tracks");
	int teams[2] = {0, 0};
	for (size_t i = 0; i < json_array_size(tracks); i++) {
		const char *t = json_string_value(json_object_get(json_array_get(tracks, i), "team"));
		assert_non_null(t);
		assert_true(strcmp(t, "A") == 0 || strcmp(t, "B") == 0);
		teams[t[0] - 'A']++;
	}
	assert_int_equal(json_array_size(tracks), 8);
	/* Team draft: neither team is ahead by more than one pick. */
	assert_true(abs(teams[0] - teams[1]) <= 1);
	json_decref(j);
	/* Bad interleavings. */
	json_decref(recommend_for(NULL, ",\"model\":\"interleave:popular\"", 400));
	json_decref(recommend_for(NULL, ",\"model\":\"interleave:popular,nope\"", 400));
	json_decref(recommend_for(NULL, ",\"model\":\"interleave:,content\"", 400));
	json_decref(recommend_for(NULL, ",\"model\":\"interleave:a,b,c\"", 400));
	/* An experiment of one interleaved variant. */
	json_decref(create_and_start("il", "[{\"name\":\"il\",\"config\":\"model=interleave:popular+content\"}]"));
	j = recommend_for("listener-7", "", 200);
	assert_string_equal(json_string_value(json_object_get(j, "model")), "interleave:popular,content");
	const char *rid = json_string_value(json_object_get(j, "request_id"));
	json_t *evs = experiment_events("il", 1);
	json_t *ev = json_object_get(evs, rid);
	assert_non_null(ev);
	/* ev_event_json writes the teams as one letter per track. */
	const char *ev_teams = json_string_value(json_object_get(ev, "teams"));
	tracks = json_object_get(j, "tracks");
	assert_non_null(ev_teams);
	assert_int_equal(strlen(ev_teams), json_array_size(tracks));
	for (size_t i = 0; i < json_array_size(tracks); i++)
		assert_int_equal(ev_teams[i], json_string_value(json_object_get(json_array_get(tracks, i), "team"))[0]);
	json_decref(evs);
	json_decref(j);
}

/* SIGTERM right after answers: the impressions are logged without waiting
 * for the disk, and the shutdown drains them, so every answered list with
 * a user is in the store once the server has exited, each exactly once. */
static void test_sigterm_keeps_impressions(void **state)
{
	(void)state;
	json_decref(create_and_start("drain", "[{\"name\":\"a\",\"config\":\"model=popular\"},"
	                                      "{\"name\":\"b\",\"config\":\"model=content\"}]"));
	enum { N = 60 };
	json_t *rids = json_object();
	char user[32];
	for (int i = 0; i < N; i++) {
		snprintf(user, sizeof user, "leaving-%d", i % 17);
		json_t *j = recommend_for(user, "", 200);
		const char *rid = json_string_value(json_object_get(j, "request_id"));
		assert_non_null(rid);
		json_object_set_new(rids, rid, json_true());
		json_decref(j);
	}
	int status = stop_server();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The server is gone: nothing more can arrive, so no polling. */
	json_t *evs = experiment_events("drain", 0);
	assert_int_equal(json_object_size(evs), N);
	const char *rid;
	json_t *v;
	json_object_foreach(rids, rid, v)
	{
		if (json_object_get(evs, rid) == NULL)
			fail_msg("the impression of %s was lost at SIGTERM", rid);
	}
	assert_int_equal(store_count(), N);
	json_decref(evs);
	json_decref(rids);
}

/* The experiment routes: list, one, create (defaults, bad bodies, a taken
 * name), the state machine (start a draft, stop a running one, nothing
 * else), the analysis routes answering with their types, 404s, and
 * /api/power against the formula. */
static void test_experiment_routes(void **state)
{
	(void)state;
	json_t *j = call("GET", "/api/experiments", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "experiments")), 0);
	json_decref(j);
	j = call("POST", "/api/experiments",
	         "{\"name\":\"e1\",\"variants\":[{\"name\":\"c\",\"config\":\"model=hybrid\"},"
	         "{\"name\":\"t\",\"weight\":3,\"config\":\"model=hybrid,diversity=0.6\"}]}",
	         201);
	assert_string_equal(json_string_value(json_object_get(j, "metric")), "play_rate");
	assert_true(json_string_length(json_object_get(j, "salt")) > 0);
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(json_object_get(j, "variants"), 1), "weight")), 3);
	json_decref(j);
	j = call("GET", "/api/experiments/e1", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "draft");
	json_decref(j);
	j = call("GET", "/api/experiments", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "experiments")), 1);
	json_decref(j);
	/* A taken name; bad bodies. */
	json_decref(call("POST", "/api/experiments",
	                 "{\"name\":\"e1\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", 409));
	static const char *const bad[] = {
		"{\"name\":\"e2\"}",
		"{\"name\":\"e2\",\"variants\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
		"{\"name\":\"e2\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\",\"config\":\"model=nope\"}]}",
		"{\"name\":\"e2\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\",\"weight\":0}]}",
		"{\"name\":\"bad name\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
		"{\"name\":\"e2\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"metric\":\"nope\"}",
		"{\"name\":\"e2\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"state\":\"running\"}",
		"{\"name\":\"e2\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"color\":1}",
		"[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		json_decref(call("POST", "/api/experiments", bad[i], 400));
	json_decref(call("POST", "/api/experiments", "{\"name\":", 400));
	/* The state machine. */
	json_decref(call("POST", "/api/experiments/e1/stop", NULL, 409));
	json_decref(call("POST", "/api/experiments/e1/start", NULL, 200));
	json_decref(call("POST", "/api/experiments/e1/start", NULL, 409));
	j = call("POST", "/api/experiments/e1/stop", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "stopped");
	assert_true(json_integer_value(json_object_get(j, "stopped_ms")) >=
	            json_integer_value(json_object_get(j, "started_ms")));
	json_decref(j);
	json_decref(call("POST", "/api/experiments/e1/start", NULL, 409));
	json_decref(call("GET", "/api/experiments/nope", NULL, 404));
	json_decref(call("POST", "/api/experiments/nope/start", NULL, 404));
	json_decref(call("GET", "/api/experiments/nope/report", NULL, 404));
	json_decref(call("GET", "/api/experiments/e1/start", NULL, 405));
	json_decref(call("DELETE", "/api/experiments", NULL, 405));
	/* The analysis routes: a report, or 409 when there is too little to
	 * analyse, never a 5xx. */
	static const char *const an[] = {"report", "export", "lift.svg", "sequential.svg"};
	for (size_t i = 0; i < sizeof an / sizeof *an; i++) {
		char target[128], *body = NULL, ctype[128] = "";
		snprintf(target, sizeof target, "/api/experiments/e1/%s", an[i]);
		int st = tu_http(port, "GET", target, NULL, 0, &body, ctype, sizeof ctype);
		if (st != 200 && st != 409)
			fail_msg("GET %s: %d %s", target, st, body ? body : "");
		if (st == 200)
			assert_non_null(strstr(ctype, i == 0   ? "application/json"
			                              : i == 1 ? "text/csv"
			                                       : "image/svg+xml"));
		free(body);
	}
	/* Power: the two-proportion formula (scipy: 0.12 vs 0.13 at 5%, 80%). */
	j = call("GET", "/api/power?baseline=0.12&mde=0.01&alpha=0.05&power=0.8", NULL, 200);
	long long n = json_integer_value(json_object_get(j, "users_per_variant"));
	double p0 = 0.12, p1 = 0.13, pb = 0.125, za = 1.959963984540054, zb = 0.8416212335729143;
	double want = pow(za * sqrt(2 * pb * (1 - pb)) + zb * sqrt(p0 * (1 - p0) + p1 * (1 - p1)), 2) / (0.01 * 0.01);
	assert_int_equal(n, (long long)ceil(want));
	assert_near(json_real_value(json_object_get(j, "baseline")), 0.12, 1e-12);
	json_decref(j);
	j = call("GET", "/api/power?baseline=0.12&mde=0.01", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "users_per_variant")), n);
	json_decref(j);
	static const char *const bad_power[] = {"/api/power",
	                                        "/api/power?baseline=0.12",
	                                        "/api/power?baseline=2&mde=0.01",
	                                        "/api/power?baseline=0.12&mde=x",
	                                        "/api/power?baseline=0.12&mde=0",
	                                        "/api/power?baseline=0.12&mde=0.01&alpha=1"};
	for (size_t i = 0; i < sizeof bad_power / sizeof *bad_power; i++)
		json_decref(call("GET", bad_power[i], NULL, 400));
}

/* A server whose event store cannot be reached does not start, and says
 * which store and why. */
static void test_store_unreachable(void **state)
{
	(void)state;
	char cmd[PATH_MAX * 2], *out = NULL;
	snprintf(cmd, sizeof cmd,
	         "'%s' serve --workspace '%s/ws' --port 0 --events 'postgresql://segue:secret@127.0.0.1:1/none' 2>&1",
	         getenv("SEGUE_BIN") ? getenv("SEGUE_BIN") : "./build-san/segue", dir);
	int st = tu_run(cmd, &out);
	assert_true(st != 0);
	assert_non_null(out);
	if (strstr(out, "cannot open the event store") == NULL || strstr(out, "127.0.0.1:1") == NULL)
		fail_msg("unclear message: %s", out);
	assert_null(strstr(out, "secret")); /* the password is not shown */
	free(out);
	snprintf(cmd, sizeof cmd, "'%s' serve --workspace '%s/ws' --port 0 --events '/nonexistent/dir/events.db' 2>&1",
	         getenv("SEGUE_BIN") ? getenv("SEGUE_BIN") : "./build-san/segue", dir);
	st = tu_run(cmd, &out);
	assert_true(st != 0);
	assert_non_null(strstr(out, "cannot open the event store /nonexistent/dir/events.db"));
	free(out);
}

static void tune_wildcard_token(serve_options *o)
{
	o->bind = "0.0.0.0";
	o->token = "s3cret-token";
}

/* POST to target with an Authorization header line (NULL: none). */
static raw_resp post_auth(const char *target, const char *body, const char *auth)
{
	char req[4096];
	int n = snprintf(req, sizeof req,
	                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                 target, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "", strlen(body),
	                 body);
	return raw_http(req, (size_t)n);
}

/* On a bind that is not loopback the state-changing experiment routes need
 * the token: 401 (with WWW-Authenticate) without it or with another, 403
 * when the server has none; reading and posting events need none. */
static void test_token_rules(void **state)
{
	(void)state;
	const char *body = "{\"name\":\"tok\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}]}";
	inproc_start(tune_wildcard);
	raw_resp r = post_auth("/api/experiments", body, NULL);
	assert_error_answer(&r, 403, "--token");
	r = post_auth("/api/experiments", body, "Bearer anything");
	assert_error_answer(&r, 403, NULL);
	json_decref(call("GET", "/api/experiments", NULL, 200));
	assert_int_equal(inproc_stop(), 0);

	inproc_start(tune_wildcard_token);
	r = post_auth("/api/experiments", body, NULL);
	assert_string_equal(header(&r, "WWW-Authenticate"), "Bearer realm=\"segue\"");
	assert_error_answer(&r, 401, "Bearer");
	static const char *const wrong[] = {"Bearer s3cret-tokeN", "Bearer s3cret-token2", "Bearer s3cret", "Bearer ",
	                                    "Basic s3cret-token",  "s3cret-token"};
	for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
		r = post_auth("/api/experiments", body, wrong[i]);
		assert_error_answer(&r, 401, NULL);
	}
	r = post_auth("/api/experiments", body, "Bearer s3cret-token");
	assert_int_equal(r.status, 201);
	raw_free(&r);
	r = post_auth("/api/experiments/tok/start", "", NULL);
	assert_error_answer(&r, 401, NULL);
	r = post_auth("/api/experiments/tok/start", "", "Bearer s3cret-token");
	assert_int_equal(r.status, 200);
	raw_free(&r);
	r = post_auth("/api/experiments/tok/stop", "", "Bearer nope");
	assert_error_answer(&r, 401, NULL);
	r = post_auth("/api/experiments/tok/stop", "", "bearer s3cret-token");
	assert_int_equal(r.status, 200);
	raw_free(&r);
	/* Reading and events need no token. */
	json_decref(call("GET", "/api/experiments/tok", NULL, 200));
	char ev[512], batch[600];
	event_json(ev, sizeof ev, "tok-1", "save", "u", first_id, "");
	snprintf(batch, sizeof batch, "{\"events\":[%s]}", ev);
	json_decref(call("POST", "/api/events", batch, 200));
	assert_int_equal(inproc_stop(), 0);
}

/* With no --artifact the server serves the registry's champion, not the
 * latest version: a workspace with v1 and v2 (latest) and champion v1
 * serves v1, and serves v2 once v2 is promoted and the server restarted. */
static void test_serves_champion(void **state)
{
	fixture_down(state);
	char ws[PATH_MAX], cmd[3 * PATH_MAX + 64];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(cmd, sizeof cmd, "cp -a '%s/models/v1' '%s/models/v2' && echo v2 > '%s/models/latest'", ws, ws, ws);
	assert_int_equal(run(cmd), 0);
	seg_error err = {0};
	int r1, r2;
	assert_int_equal(registry_register(ws, 1, NULL, NULL, NULL, NULL, &r1, &err), 0);
	assert_int_equal(registry_register(ws, 2, NULL, NULL, NULL, NULL, &r2, &err), 0);
	assert_int_equal(registry_alias_set(ws, "champion", r1, &err), 0);
	for (int round = 0; round < 2; round++) {
		const char *want = round == 0 ? "v1" : "v2";
		assert_int_equal(start_server(), 0);
		char line[64];
		snprintf(line, sizeof line, "serving champion %s (registry version %d)", want, round == 0 ? r1 : r2);
		if (strstr(banner, line) == NULL)
			fail_msg("the banner does not say \"%s\":\n%s", line, banner);
		json_t *j = get_json("/api/models", 200);
		size_t i, serving = 0;
		json_t *m;
		json_array_foreach(json_object_get(j, "models"), i, m)
		{
			if (json_is_true(json_object_get(m, "serving"))) {
				serving++;
				assert_string_equal(json_string_value(json_object_get(m, "version")), want);
			}
		}
		assert_int_equal(json_array_size(json_object_get(j, "models")), 2);
		assert_int_equal(serving, 1);
		json_decref(j);
		j = get_json("/api/health", 200);
		assert_string_equal(json_string_value(json_object_get(j, "model")), want);
		json_decref(j);
		fixture_down(state);
		assert_int_equal(registry_alias_set(ws, "champion", r2, &err), 0);
	}
	/* --artifact still chooses */
	const char *const extra[] = {"--artifact", "v1", NULL};
	assert_int_equal(start_server_with(extra), 0);
	assert_null(strstr(banner, "serving champion"));
	json_t *j = get_json("/api/health", 200);
	assert_string_equal(json_string_value(json_object_get(j, "model")), "v1");
	json_decref(j);
	/* a registry this build cannot read stops the start */
	fixture_down(state);
	tu_write(ws, "registry.json", "{\"format\": \"segue-registry/9\"}");
	assert_int_not_equal(start_server(), 0);
	fixture_down(state);
}

/* ---- a new champion while serving ---- */

/* Clients that keep the server busy (recommend and health, each on a new
 * connection) and count what they get. */
static struct {
	atomic_int stop;
	atomic_long ok, failed;
} load;

static void *load_main(void *arg)
{
	(void)arg;
	char body[128];
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 10}", first_id);
	for (int i = 0; !atomic_load(&load.stop); i++) {
		char *resp = NULL;
		int st = i % 2 ? tu_http(port, "POST", "/api/recommend", body, strlen(body), &resp, NULL, 0)
		               : tu_http(port, "GET", "/api/health", NULL, 0, &resp, NULL, 0);
		free(resp);
		atomic_fetch_add(st == 200 ? &load.ok : &load.failed, 1);
	}
	return NULL;
}

/* The model /api/health names, into out[cap]. */
static void health_model(char *out, size_t cap)
{
	json_t *j = get_json("/api/health", 200);
	snprintf(out, cap, "%s", json_string_value(json_object_get(j, "model")));
	json_decref(j);
}

/* The fixture's server stopped; models v2 and v3 copies of v1 (so only
 * the version tells their answers apart), all three registered (registry
 * versions r[1..3]), r[1] champion, and the server started again on them.
 * The workspace's path into ws[PATH_MAX]. */
static void three_versions(void **state, char *ws, int r[4])
{
	fixture_down(state);
	char cmd[4 * PATH_MAX + 96];
	snprintf(ws, PATH_MAX, "%s/ws", dir);
	snprintf(cmd, sizeof cmd, "cp -a '%s/models/v1' '%s/models/v2' && cp -a '%s/models/v1' '%s/models/v3'", ws, ws,
	         ws, ws);
	assert_int_equal(run(cmd), 0);
	seg_error err = {0};
	for (int v = 1; v <= 3; v++)
		assert_int_equal(registry_register(ws, v, NULL, NULL, NULL, NULL, &r[v], &err), 0);
	assert_int_equal(registry_alias_set(ws, "champion", r[1], &err), 0);
	assert_int_equal(start_server(), 0);
}

/* Ten promotions in a row under load, picked up on SIGHUP (even rounds) and
 * by the server watching the registry (odd ones): every request answers
 * 200, and the answers switch to each new champion. Then a champion whose
 * model fails its checks is refused and the current one keeps serving. */
static void test_hot_reload(void **state)
{
	char ws[PATH_MAX];
	seg_error err = {0};
	int r[4];
	three_versions(state, ws, r);
	char model[64];
	health_model(model, sizeof model);
	assert_string_equal(model, "v1");
	atomic_store(&load.stop, 0);
	atomic_store(&load.ok, 0);
	atomic_store(&load.failed, 0);
	enum { CLIENTS = 4, PROMOTIONS = 10 };
	pthread_t th[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, load_main, NULL), 0);
	usleep(300000);
	for (int p = 0; p < PROMOTIONS; p++) {
		int v = p % 2 == 0 ? 2 : 1;
		char want[8];
		snprintf(want, sizeof want, "v%d", v);
		long before = atomic_load(&load.ok);
		assert_int_equal(registry_alias_set(ws, "champion", r[v], &err), 0);
		if (p % 2 == 0)
			kill(server_pid, SIGHUP);
		int switched = 0;
		for (int t = 0; t < 200 && !switched; t++) {
			health_model(model, sizeof model);
			switched = strcmp(model, want) == 0;
			if (!switched)
				usleep(50000);
		}
		if (!switched)
			fail_msg("promotion %d: still serving %s, not %s", p + 1, model, want);
		/* requests went on meanwhile */
		for (int t = 0; t < 100 && atomic_load(&load.ok) < before + 4; t++)
			usleep(20000);
	}
	usleep(300000);
	atomic_store(&load.stop, 1);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	long ok = atomic_load(&load.ok), failed = atomic_load(&load.failed);
	print_message("hot reload: %d promotions, %ld requests answered 200, %ld failed\n", PROMOTIONS, ok, failed);
	assert_int_equal(failed, 0);
	assert_true(ok >= 4 * PROMOTIONS);
	char *text = NULL;
	assert_int_equal(tu_http(port, "GET", "/metrics", NULL, 0, &text, NULL, 0), 200);
	assert_non_null(strstr(text, "segue_model_reloads_total 10\n"));
	free(text);
	/* v3 is damaged after its registration: promoted, it is refused, and
	 * v1 goes on serving */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/models/v3/model.seg", ws);
	tu_put_byte(path, -9, 0x5a);
	assert_int_equal(registry_alias_set(ws, "champion", r[3], &err), 0);
	kill(server_pid, SIGHUP);
	text = NULL;
	for (int t = 0; t < 100; t++) {
		free(text);
		text = tu_read(log_path, NULL);
		if (strstr(text, "champion v3 cannot be served") != NULL)
			break;
		usleep(50000);
	}
	if (strstr(text, "champion v3 cannot be served") == NULL)
		fail_msg("no refusal of the damaged v3 in the log:\n%s", text);
	free(text);
	health_model(model, sizeof model);
	assert_string_equal(model, "v1");
	assert_int_equal(stop_server(), 0);
}

/* ---- the champion and the challenger as variants ---- */

/* The model_version of the answer to `user`, into out[cap]. */
static void version_for(const char *user, char *out, size_t cap)
{
	json_t *j = recommend_for(user, "", 200);
	const char *v = json_string_value(json_object_get(j, "model_version"));
	if (v == NULL)
		fail_msg("an answer for %s without model_version", user ? user : "(no user)");
	snprintf(out, cap, "%s", v);
	json_decref(j);
}

/* Asks for `user` until its answers come from `want` (5 s at most). */
static void wait_version(const char *user, const char *want)
{
	char got[64] = "";
	for (int t = 0; t < 100; t++) {
		version_for(user, got, sizeof got);
		if (strcmp(got, want) == 0)
			return;
		usleep(50000);
	}
	fail_msg("%s is still answered by %s, not %s", user, got, want);
}

/* segue_variant_model_fallback_total in /metrics. */
static long fallbacks(void)
{
	char *text = NULL;
	assert_int_equal(tu_http(port, "GET", "/metrics", NULL, 0, &text, NULL, 0), 200);
	const char *p = strstr(text, "\nsegue_variant_model_fallback_total ");
	if (p == NULL)
		fail_msg("no segue_variant_model_fallback_total in /metrics:\n%s", text);
	long n = atol(p + 36);
	free(text);
	return n;
}

/* Whether /metrics says the server holds `sample` (a segue_model_held
 * sample, without its value). */
static int holds(const char *sample)
{
	char *text = NULL, want[256];
	assert_int_equal(tu_http(port, "GET", "/metrics", NULL, 0, &text, NULL, 0), 200);
	snprintf(want, sizeof want, "\n%s 1\n", sample);
	int yes = strstr(text, want) != NULL;
	free(text);
	return yes;
}

/* How many mappings of models/NAME/model.seg the server process has. */
static int count_mappings(const char *name)
{
	char path[64], want[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)server_pid);
	snprintf(want, sizeof want, "/models/%s/model.seg", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

/* How many mappings of models/NAME/model.seg the server process has, once it
 * is `want` (2 s at most: the main thread releases an old model just
 * after it puts the new one in place). */
static int mappings_of(const char *name, int want)
{
	int n = -1;
	for (int t = 0; t < 40 && n != want; t++) {
		if (n >= 0)
			usleep(50000);
		n = count_mappings(name);
	}
	return n;
}

/* Clients of one variant's user (arg), each request checked for 200. */
static void *variant_load_main(void *arg)
{
	const char *user = arg;
	char body[256];
	snprintf(body, sizeof body, "{\"seeds\": [\"%s\"], \"k\": 10, \"user_id\": \"%s\"}", first_id, user);
	while (!atomic_load(&load.stop)) {
		char *resp = NULL;
		int st = tu_http(port, "POST", "/api/recommend", body, strlen(body), &resp, NULL, 0);
		free(resp);
		atomic_fetch_add(st == 200 ? &load.ok : &load.failed, 1);
	}
	return NULL;
}

/* An experiment whose variants are version=champion, version=challenger
 * and version=N (a registry version): each variant's listeners are
 * answered by that model, and the answer names it (model_version). With
 * no challenger in the registry, and for a version the server does not
 * hold, the champion answers and /metrics counts it. A challenger
 * promoted while serving (on SIGHUP, and by the registry watch under
 * load) switches that variant's answers, with no request failing; a
 * challenger that cannot be opened leaves the previous one. /metrics says
 * which versions the server holds; a model no alias names any more is
 * unmapped, and both aliases on one version map it once. */
static void test_variants_name_versions(void **state)
{
	char ws[PATH_MAX];
	seg_error err = {0};
	int r[4];
	three_versions(state, ws, r);
	char variants[512];
	snprintf(variants, sizeof variants,
	         "[{\"name\":\"control\",\"config\":\"version=champion\"},"
	         "{\"name\":\"challenger\",\"config\":\"version=challenger\"},"
	         "{\"name\":\"pinned\",\"config\":\"version=%d\"}]",
	         r[3]);
	/* The API refuses variants naming versions the server does not hold
	 * (no challenger yet, r[3] neither alias)... */
	char body[1024];
	snprintf(body, sizeof body, "{\"name\":\"champion-vs-challenger\",\"variants\":%s}", variants);
	json_t *ej = call("POST", "/api/experiments", body, 400);
	assert_non_null(strstr(json_string_value(json_object_get(ej, "detail")), "does not hold"));
	json_decref(ej);
	/* ...but the registry may change after an experiment was made: written
	 * straight into the store here, as when its versions were held then. */
	experiment e;
	if (exp_from_json(body, strlen(body), &e, &err) < 0)
		fail_msg("exp_from_json: %s", err.msg);
	e.state = EXP_RUNNING;
	e.created_ms = e.started_ms = wall_ms();
	evstore *st = open_store();
	assert_int_equal(evstore_experiment_create(st, &e, &err), 0);
	evstore_close(st);
	/* A listener of each variant. */
	char user[3][32];
	int found = 0;
	for (int u = 0; u < 1000 && found != 7; u++) {
		char name[32];
		snprintf(name, sizeof name, "listener-%d", u);
		size_t v = exp_assign(&e, name);
		if (!(found & (1 << v)))
			snprintf(user[v], sizeof user[v], "%s", name);
		found |= 1 << v;
	}
	assert_int_equal(found, 7);
	/* The server reads the running experiments again within a second. */
	int seen = 0;
	for (int t = 0; t < 100 && !seen; t++) {
		json_t *j = recommend_for(user[0], "", 200);
		seen = json_object_get(j, "experiment") != NULL;
		json_decref(j);
		if (!seen)
			usleep(50000);
	}
	assert_true(seen);
	char got[64];
	/* No challenger yet, and registry version r[3] not held: the champion
	 * answers all three, and two are counted as fallbacks. */
	assert_int_equal(fallbacks(), 0);
	assert_true(holds("segue_model_held{alias=\"champion\",version=\"v1\",registry_version=\"1\"}"));
	for (int v = 0; v < 3; v++) {
		version_for(user[v], got, sizeof got);
		assert_string_equal(got, "v1");
	}
	version_for(NULL, got, sizeof got);
	assert_string_equal(got, "v1");
	assert_int_equal(fallbacks(), 2);
	/* v2 becomes the challenger (picked up on SIGHUP): the challenger
	 * variant's answers come from it, the others' do not move. */
	assert_int_equal(registry_alias_set(ws, "challenger", r[2], &err), 0);
	kill(server_pid, SIGHUP);
	wait_version(user[1], "v2");
	assert_true(holds("segue_model_held{alias=\"challenger\",version=\"v2\",registry_version=\"2\"}"));
	assert_true(holds("segue_model_held{alias=\"champion\",version=\"v1\",registry_version=\"1\"}"));
	version_for(user[0], got, sizeof got);
	assert_string_equal(got, "v1");
	version_for(user[2], got, sizeof got);
	assert_string_equal(got, "v1");
	long before = fallbacks();
	version_for(user[2], got, sizeof got);
	assert_int_equal(fallbacks(), before + 1);
	/* v3 becomes the challenger while both variants are under load, found
	 * by the registry watch: no request fails, the challenger variant and
	 * the one pinned to v3's registry version switch to v3, the control
	 * stays on the champion. */
	atomic_store(&load.stop, 0);
	atomic_store(&load.ok, 0);
	atomic_store(&load.failed, 0);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, variant_load_main, user[i]), 0);
	usleep(300000);
	assert_int_equal(registry_alias_set(ws, "challenger", r[3], &err), 0);
	wait_version(user[1], "v3");
	wait_version(user[2], "v3");
	usleep(300000);
	atomic_store(&load.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	print_message("challenger promoted under load: %ld requests answered 200, %ld failed\n", atomic_load(&load.ok),
	              atomic_load(&load.failed));
	assert_int_equal(atomic_load(&load.failed), 0);
	assert_true(atomic_load(&load.ok) > 0);
	version_for(user[0], got, sizeof got);
	assert_string_equal(got, "v1");
	before = fallbacks();
	version_for(user[2], got, sizeof got);
	assert_int_equal(fallbacks(), before); /* held now */
	/* v2, no longer named, is unmapped once its last request ended. */
	assert_int_equal(mappings_of("v2", 0), 0);
	assert_int_equal(mappings_of("v3", 1), 1);
	/* The champion promoted to v3 as well: both aliases share one model,
	 * mapped once; v1 is let go. */
	assert_int_equal(registry_alias_set(ws, "champion", r[3], &err), 0);
	kill(server_pid, SIGHUP);
	wait_version(user[0], "v3");
	version_for(user[1], got, sizeof got);
	assert_string_equal(got, "v3");
	assert_true(holds("segue_model_held{alias=\"champion\",version=\"v3\",registry_version=\"3\"}"));
	assert_true(holds("segue_model_held{alias=\"challenger\",version=\"v3\",registry_version=\"3\"}"));
	assert_int_equal(mappings_of("v3", 1), 1);
	assert_int_equal(mappings_of("v1", 0), 0);
	/* A damaged v2 named challenger is refused: v3 goes on answering. */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/models/v2/model.seg", ws);
	tu_put_byte(path, -9, 0x5a);
	assert_int_equal(registry_alias_set(ws, "challenger", r[2], &err), 0);
	kill(server_pid, SIGHUP);
	char *text = NULL;
	for (int t = 0; t < 100; t++) {
		free(text);
		text = tu_read(log_path, NULL);
		if (strstr(text, "challenger v2 cannot be served") != NULL)
			break;
		usleep(50000);
	}
	if (strstr(text, "challenger v2 cannot be served") == NULL)
		fail_msg("no refusal of the damaged v2 in the log:\n%s", text);
	free(text);
	version_for(user[1], got, sizeof got);
	assert_string_equal(got, "v3");
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health_and_search, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_track_and_similar, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend_bad_input, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_search_any_character, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend_unknown_seed, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_versions_and_typos, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend_dislikes_filters_notes, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend_mood_with_seed, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_routes_and_errors, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_map_every_point_and_etag, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_genres, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_openapi_matches_routes, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_runs_routes, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_metrics_and_dashboard, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_names_file_and_sql_agree, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_eda_cache, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_track_added_while_running, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_sigterm_shuts_down_cleanly, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_search_is_bounded, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_client_limits, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_bad_utf8, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_access_log_escapes, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_mood_ranges, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_threads_bounded, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_models_hide_paths, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_models_no_phantoms, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_405_allow, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_security_headers, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_host_check, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_allow_host_option, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_post_needs_json, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_cli_recommend_json, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_registered_model_served, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_blas_single_threaded, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_search_budget, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_client_limits_per_address, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_slow_clients, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_host_check_wildcard, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_long_genre_lists, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_events_route, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_recommend_assigns_and_logs, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_interleaved_answer, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_sigterm_keeps_impressions, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_experiment_routes, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_store_unreachable, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_token_rules, fixture_up, inproc_down),
		cmocka_unit_test_setup_teardown(test_serves_champion, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_hot_reload, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(test_variants_name_versions, fixture_up, fixture_down),
	};
	/* One test, or those matching a pattern, e.g. SEGUE_TEST_FILTER=test_eda_cache. */
	const char *filter = getenv("SEGUE_TEST_FILTER");
	if (filter != NULL && *filter)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
