/* test_evaluate.c: `segue evaluate` on a catalogue small enough to score by
 * hand: twelve tracks by twelve artists, five training playlists and two
 * held-out ones, and a registered test model ("constant") that recommends
 * the known tracks in id order. Its row of the table must hold the
 * R-precision, NDCG, clicks and recall worked out below; every registered
 * model gets a row, and the hybrid re-ranked one more. The table is kept
 * whole (evaluation.json replaced, not rewritten), and a stale feature
 * snapshot is refused. */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "catalog/catalog.h"
#include "engine/dataset.h"
#include "engine/evaluate.h"
#include "engine/recommender.h"
#include "ingest/ingest.h"

static char ws[PATH_MAX];
static const char *dir;

/* Playlist ids: the first ones >= `from` that are (or are not) held out. */
static int pick_pid(int from, int held_out)
{
	for (int p = from;; p++) {
		char id[16];
		snprintf(id, sizeof id, "%d", p);
		if ((catalog_playlist_split("mpd", id) == CATALOG_SPLIT_TEST) == held_out)
			return p;
	}
}

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(ws, sizeof ws, "%s/ws", dir);
	/* Tracks 1..12, one artist each, two genres. */
	char tracks[8192];
	size_t n = (size_t)snprintf(tracks, sizeof tracks,
	                            "track_id,track_name,artists,album_name,release_date,popularity,duration_ms,"
	                            "explicit,genres,danceability,energy,key,loudness,mode,speechiness,acousticness,"
	                            "instrumentalness,liveness,valence,tempo,time_signature,synthetic\n");
	for (int t = 1; t <= 12; t++)
		n += (size_t)snprintf(
			tracks + n, sizeof tracks - n,
			"%022d,Song %02d,Artist %02d,Album %02d,2001-01-01,%d,%d,0,%s,%.2f,%.2f,%d,%.1f,%d,"
			"0.05,%.2f,0.01,0.1,%.2f,%d,4,1\n",
			t, t, t, t, 20 + 5 * t, 180000 + 1000 * t, t % 2 ? "pop" : "rock", 0.3 + 0.05 * t,
			0.9 - 0.06 * t, t % 12, -12.0 + 0.5 * t, t % 2, 0.05 * t, 0.2 + 0.05 * (t % 5), 90 + 5 * t);
	/* Five training playlists, then the held-out H1 = 5 2 9 3 and H2 = 12 11. */
	static const int train_pl[5][4] = {{1, 2, 3, 4}, {2, 3, 5, 6}, {7, 8, 9, 0}, {10, 11, 12, 1}, {4, 6, 8, 10}};
	char entries[4096];
	n = (size_t)snprintf(entries, sizeof entries, "pid,pos,track_id\n");
	int pid = 0;
	for (int p = 0; p < 5; p++) {
		pid = pick_pid(pid + 1, 0);
		for (int j = 0; j < 4 && train_pl[p][j]; j++)
			n += (size_t)snprintf(entries + n, sizeof entries - n, "%d,%d,%022d\n", pid, j, train_pl[p][j]);
	}
	static const int h1[] = {5, 2, 9, 3}, h2[] = {12, 11};
	pid = pick_pid(pid + 1, 1);
	for (int j = 0; j < 4; j++)
		n += (size_t)snprintf(entries + n, sizeof entries - n, "%d,%d,%022d\n", pid, j, h1[j]);
	pid = pick_pid(pid + 1, 1);
	for (int j = 0; j < 2; j++)
		n += (size_t)snprintf(entries + n, sizeof entries - n, "%d,%d,%022d\n", pid, j, h2[j]);
	char *paths[2];
	char p0[PATH_MAX], p1[PATH_MAX];
	snprintf(p0, sizeof p0, "%s", tu_write(dir, "tracks.csv", tracks));
	snprintf(p1, sizeof p1, "%s", tu_write(dir, "entries.csv", entries));
	paths[0] = p0;
	paths[1] = p1;
	ingest_summary sum;
	tu_ingest(ws, paths, 2, &sum);
	ingest_summary_free(&sum);
	tu_train_sizes sizes = {.clusters = 2, .factors = 2, .als_iterations = 2, .quality_rounds = 5, .cv_folds = 2};
	if (tu_train(ws, &sizes) < 0)
		return -1;
	tu_register_constant();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	return 0;
}

/* Runs the evaluation and returns evaluation.json, parsed. */
static json_t *evaluate(size_t max_playlists, char **text)
{
	eval_options o;
	eval_options_default(&o);
	o.workspace = ws;
	o.k = 10;
	o.max_playlists = max_playlists;
	size_t len;
	o.out = open_memstream(text, &len);
	assert_non_null(o.out);
	seg_error err = {0};
	int rc = evaluate_run(&o, &err);
	fclose(o.out);
	if (rc != 0)
		fail_msg("evaluate_run: %d %s", rc, err.msg);
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/models/v1/evaluation.json", ws);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	return root;
}

static json_t *row(json_t *root, const char *model, int seeds)
{
	json_t *rows = json_object_get(root, "results"), *r;
	size_t i;
	json_array_foreach(rows, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "model")), model) == 0 &&
		    json_integer_value(json_object_get(r, "seeds")) == seeds)
			return r;
	}
	fail_msg("no row for %s with %d seeds", model, seeds);
	return NULL;
}

static double num(json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key);
	if (!json_is_number(v))
		fail_msg("no number '%s'", key);
	return json_number_value(v);
}

static void test_catalogue_as_planned(void **state)
{
	(void)state;
	/* The ids the hand computation relies on. */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 12);
	assert_int_equal(tu_ws_long(ws, "SELECT id FROM tracks WHERE spotify_id='0000000000000000000009'"), 9);
	assert_int_equal(tu_ws_long(ws, "SELECT count(DISTINCT source) FROM playlists WHERE source='mpd'"), 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists"), 7);
}

/* H1 alone. Seed 5; hidden {2, 9, 3}; constant recommends
 * 1 2 3 4 6 7 8 9 10 11 (ten, 5 left out): hits at ranks 2, 3 and 8.
 *   R-precision: top 3 = {1, 2, 3} holds 2 of 3; the missing 9's artist is
 *                not among the top 3's other artists: 2/3.
 *   NDCG: DCG = 1/log2(2) + 1/log2(3) + 1/log2(8); IDCG over the 3 hits
 *         = 1 + 1/log2(2) + 1/log2(3).
 *   clicks: first hit at rank 2: page 0.  recall@50 = recall@500 = 3/3. */
static void test_one_playlist_by_hand(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(1, &text);
	assert_int_equal(json_integer_value(json_object_get(root, "playlists")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "k")), 10);
	json_t *r = row(root, "constant", 1);
	assert_int_equal(json_integer_value(json_object_get(r, "lists")), 1);
	double dcg = 1.0 + 1.0 / log2(3.0) + 1.0 / 3.0, idcg = 2.0 + 1.0 / log2(3.0);
	assert_near(num(r, "r_precision"), 2.0 / 3.0, 1e-9);
	assert_near(num(r, "ndcg"), dcg / idcg, 1e-9);
	assert_near(num(r, "clicks"), 0, 0);
	assert_near(num(r, "recall@50"), 1, 1e-12);
	assert_near(num(r, "recall@500"), 1, 1e-12);
	/* Ten distinct tracks in the one top-10 list. */
	assert_near(num(r, "coverage@10") * 13, 10, 1e-9);
	/* H1 has 4 tracks: no list with 5 seeds or more. */
	assert_int_equal(json_integer_value(json_object_get(row(root, "constant", 5), "lists")), 0);
	/* The table says the same. */
	assert_non_null(strstr(text, "playlist continuation on 1 held-out playlists"));
	const char *line = strstr(text, "  constant ");
	assert_non_null(line);
	double rp, nd, cl;
	assert_int_equal(sscanf(line, " constant %lf %lf %lf", &rp, &nd, &cl), 3);
	assert_near(rp, 0.6667, 5e-5);
	assert_near(nd, dcg / idcg, 5e-5);
	assert_near(cl, 0, 0);
	free(text);
	json_decref(root);
}

/* Both held-out playlists. H2: seed 12, hidden {11}; constant recommends
 * 1..10, so no hit: R-precision 0, NDCG 0, clicks 51, recall 0. The table
 * holds the means of H1 and H2. */
static void test_two_playlists_by_hand(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(0, &text);
	assert_int_equal(json_integer_value(json_object_get(root, "playlists")), 2);
	json_t *r = row(root, "constant", 1);
	assert_int_equal(json_integer_value(json_object_get(r, "lists")), 2);
	double ndcg1 = (1.0 + 1.0 / log2(3.0) + 1.0 / 3.0) / (2.0 + 1.0 / log2(3.0));
	assert_near(num(r, "r_precision"), (2.0 / 3.0 + 0) / 2, 1e-9);
	assert_near(num(r, "ndcg"), ndcg1 / 2, 1e-9);
	assert_near(num(r, "clicks"), (0 + 51) / 2.0, 1e-9);
	assert_near(num(r, "recall@50"), 0.5, 1e-12);
	/* Standard error of two values a, b: |a - b| / 2. */
	assert_near(num(r, "clicks_se"), 51 / 2.0, 1e-9);
	assert_near(num(r, "r_precision_se"), (2.0 / 3.0) / 2, 1e-9);
	free(text);
	json_decref(root);
}

/* Every registered model has its rows, in registry order, then the hybrid
 * re-ranked. */
static void test_every_model_scored(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(0, &text);
	json_t *rows = json_object_get(root, "results");
	size_t M = recommender_count() + 1;
	assert_int_equal(json_array_size(rows), M * 4); /* four seed counts */
	for (size_t v = 0; v < M; v++) {
		const char *want = v < M - 1 ? recommender_name((int)v) : "hybrid+rerank";
		assert_string_equal(json_string_value(json_object_get(json_array_get(rows, v), "model")), want);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, v), "lists")), 2);
		char name[64];
		snprintf(name, sizeof name, "\n  %s ", want);
		assert_non_null(strstr(text, name));
	}
	free(text);
	json_decref(root);
}

/* 1 when directory `d` holds a name with ".tmp" in it. */
static int has_temporary(const char *d)
{
	DIR *dd = opendir(d);
	assert_non_null(dd);
	struct dirent *e;
	int yes = 0;
	while ((e = readdir(dd)) != NULL)
		yes |= strstr(e->d_name, ".tmp") != NULL;
	closedir(dd);
	return yes;
}

/* The table is replaced whole (a new file renamed over the old one), never
 * rewritten in place where a reader could find half of it; no temporary is
 * left beside it. */
static void test_table_replaced_whole(void **state)
{
	(void)state;
	char path[PATH_MAX + 64], kept[PATH_MAX + 64], vdir[PATH_MAX + 32];
	snprintf(vdir, sizeof vdir, "%s/models/v1", ws);
	snprintf(path, sizeof path, "%s/evaluation.json", vdir);
	snprintf(kept, sizeof kept, "%s/kept.json", dir);
	char *text = NULL;
	json_decref(evaluate(1, &text));
	free(text);
	/* a second name keeps the old file's inode from being reused */
	unlink(kept);
	assert_int_equal(link(path, kept), 0);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	json_t *root = evaluate(0, &text);
	free(text);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	/* the old file is as it was: one playlist; the new one has two */
	json_error_t je;
	json_t *old = json_load_file(kept, 0, &je);
	assert_non_null(old);
	assert_int_equal(json_integer_value(json_object_get(old, "playlists")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "playlists")), 2);
	json_decref(old);
	json_decref(root);
	assert_false(has_temporary(vdir));
	unlink(kept);
}

/* A feature snapshot older than the catalogue (an ingest killed between its
 * commit and its snapshot) is not evaluated on: refused with the command
 * that rebuilds it, through the library and through the binary. */
static void test_stale_snapshot_refused(void **state)
{
	(void)state;
	char db_path[PATH_MAX + 32];
	snprintf(db_path, sizeof db_path, "%s/catalog.db", ws);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	tu_sql_exec(db, "INSERT INTO ingests(file, variant, started_at) VALUES('late.csv', 'x', '2026-01-01')");
	eval_options o;
	eval_options_default(&o);
	o.workspace = ws;
	o.k = 10;
	char *text = NULL;
	size_t len;
	o.out = open_memstream(&text, &len);
	seg_error err = {0};
	assert_int_equal(evaluate_run(&o, &err), SEG_ESTALE);
	fclose(o.out);
	free(text);
	assert_non_null(strstr(err.msg, "older than the catalogue"));
	assert_non_null(strstr(err.msg, "segue ingest --refresh"));
	const char *bin = getenv("SEGUE_BIN");
	if (bin != NULL && *bin) {
		char cmd[2 * PATH_MAX], *out = NULL;
		snprintf(cmd, sizeof cmd, "'%s' evaluate -w '%s' --k 10 2>&1", bin, ws);
		assert_int_not_equal(tu_run(cmd, &out), 0);
		assert_non_null(out);
		if (strstr(out, "segue ingest --refresh") == NULL)
			fail_msg("the refusal does not name the fix: %s", out);
		free(out);
	}
	/* rebuilt, it is evaluated on again */
	assert_int_equal(workspace_features_write(ws, db, NULL, &err), 0);
	sqlite3_close(db);
	json_decref(evaluate(0, &text));
	free(text);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_as_planned),
		cmocka_unit_test(test_one_playlist_by_hand),
		cmocka_unit_test(test_two_playlists_by_hand),
		cmocka_unit_test(test_every_model_scored),
		cmocka_unit_test(test_table_replaced_whole),
		cmocka_unit_test(test_stale_snapshot_refused),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, setup, teardown);
}
