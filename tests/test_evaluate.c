/* test_evaluate.c: `segue evaluate` under its protocol, on a catalogue small
 * enough to score by hand: 42 tracks by 42 artists; five training playlists
 * over tracks 1..12 (so the fill's popularity order is known: 10, then 1 2 3
 * 4 6 8, then 5 7 9 11 12); two test playlists long enough for 25 seeds,
 * H1 = 28 27 ... 1 and H2 = 40 39 ... 13; a short test playlist (4 tracks)
 * and a validation playlist that the protocol must leave out of the test
 * table. Two test models: "constant" (the known tracks in id order) and
 * "two" (tracks 41 and 42 only, so its lists are filled). Checked: the
 * metrics worked out below, the same-playlists rule, the fill, the CIs,
 * Holm over the comparisons, the split read, the title case skipped with its
 * reason, the Markdown of a committed fixture, and the table kept whole. */
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
#include "engine/train.h"
#include "engine/metrics.h"
#include "engine/recommender.h"
#include "ingest/ingest.h"

static char ws[PATH_MAX];
static const char *dir;

/* Playlist ids: the first one >= `from` in `split`. */
static int pick_pid(int from, enum catalog_split split)
{
	for (int p = from;; p++) {
		char id[16];
		snprintf(id, sizeof id, "%d", p);
		if (catalog_playlist_split("mpd", id) == split)
			return p;
	}
}

/* "two": tracks 41 and 42, whatever the seeds. */
static int two_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state, (void)want;
	for (int64_t t = 41; t <= 42 && t < q->a->T; t++) {
		if (q->blocked[t])
			continue;
		rec_cand *c = rec_pool_add(pool, t);
		if (c == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		c->score = 1.0f / (float)t;
	}
	return 0;
}
static const recommender two_model = {.name = "two", .description = "tracks 41 and 42", .propose = two_propose};

static size_t add_playlist(char *buf, size_t cap, size_t n, int pid, const int *t, size_t len)
{
	for (size_t j = 0; j < len; j++)
		n += (size_t)snprintf(buf + n, cap - n, "%d,%zu,%022d\n", pid, j, t[j]);
	return n;
}

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(ws, sizeof ws, "%s/ws", dir);
	static char tracks[16384];
	size_t n = (size_t)snprintf(tracks, sizeof tracks,
	                            "track_id,track_name,artists,album_name,release_date,popularity,duration_ms,"
	                            "explicit,genres,danceability,energy,key,loudness,mode,speechiness,acousticness,"
	                            "instrumentalness,liveness,valence,tempo,time_signature,synthetic\n");
	for (int t = 1; t <= 42; t++)
		n += (size_t)snprintf(
			tracks + n, sizeof tracks - n,
			"%022d,Song %02d,Artist %02d,Album %02d,2001-01-01,%d,%d,0,%s,%.2f,%.2f,%d,%.1f,%d,"
			"0.05,%.2f,0.01,0.1,%.2f,%d,4,1\n",
			t, t, t, t, 20 + t, 180000 + 1000 * t, t % 2 ? "pop" : "rock", 0.3 + 0.01 * t, 0.9 - 0.015 * t,
			t % 12, -12.0 + 0.2 * t, t % 2, 0.02 * t, 0.2 + 0.05 * (t % 5), 90 + 2 * t);
	static const int train_pl[5][4] = {{1, 2, 3, 4}, {2, 3, 5, 6}, {7, 8, 9, 10}, {10, 11, 12, 1}, {4, 6, 8, 10}};
	static char entries[16384];
	n = (size_t)snprintf(entries, sizeof entries, "pid,pos,track_id\n");
	int pid = 0;
	for (int p = 0; p < 5; p++) {
		pid = pick_pid(pid + 1, CATALOG_SPLIT_TRAIN);
		n = add_playlist(entries, sizeof entries, n, pid, train_pl[p], 4);
	}
	int h1[28], h2[28], v1[30];
	for (int j = 0; j < 28; j++) {
		h1[j] = 28 - j;
		h2[j] = 40 - j;
	}
	for (int j = 0; j < 30; j++)
		v1[j] = j + 1;
	static const int h3[] = {5, 2, 9, 3};
	pid = pick_pid(pid + 1, CATALOG_SPLIT_TEST);
	n = add_playlist(entries, sizeof entries, n, pid, h1, 28);
	pid = pick_pid(pid + 1, CATALOG_SPLIT_TEST);
	n = add_playlist(entries, sizeof entries, n, pid, h2, 28);
	pid = pick_pid(pid + 1, CATALOG_SPLIT_TEST);
	n = add_playlist(entries, sizeof entries, n, pid, h3, 4);
	pid = pick_pid(pid + 1, CATALOG_SPLIT_VALID);
	add_playlist(entries, sizeof entries, n, pid, v1, 30);
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
	if (recommender_find("two") < 0) {
		seg_error err = {0};
		if (recommender_register(&two_model, &err) < 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	return 0;
}

/* Runs the evaluation on `split` and returns evaluation.json, parsed. */
static json_t *evaluate_split(size_t max_playlists, int split, char **text)
{
	eval_options o;
	eval_options_default(&o);
	o.workspace = ws;
	o.k = 10;
	o.split = split;
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

static json_t *evaluate(size_t max_playlists, char **text)
{
	return evaluate_split(max_playlists, CATALOG_SPLIT_TEST, text);
}

/* The cell of (model, case) over all sources. */
static json_t *cell(json_t *root, const char *model, const char *cname)
{
	json_t *cells = json_object_get(root, "cells"), *c;
	size_t i;
	json_array_foreach(cells, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "model")), model) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "case")), cname) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "source")), "all") == 0)
			return c;
	}
	fail_msg("no cell for %s, %s", model, cname);
	return NULL;
}

static double mean(json_t *c, const char *metric)
{
	json_t *v = json_object_get(json_object_get(json_object_get(c, "metrics"), metric), "mean");
	if (!json_is_number(v))
		fail_msg("no mean of '%s'", metric);
	return json_number_value(v);
}

static double ci(json_t *c, const char *metric, size_t end)
{
	json_t *v = json_object_get(json_object_get(json_object_get(c, "metrics"), metric), "ci95");
	return json_number_value(json_array_get(v, end));
}

static void test_catalogue_as_planned(void **state)
{
	(void)state;
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 42);
	assert_int_equal(tu_ws_long(ws, "SELECT id FROM tracks WHERE spotify_id='0000000000000000000009'"), 9);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists"), 9);
}

/* Only H1 and H2 qualify: the short test playlist has too few distinct
 * tracks for 25 seeds, the validation one is another split. Every row is
 * over the same two playlists. */
static void test_same_playlists_rule(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(0, &text);
	json_t *proto = json_object_get(root, "protocol");
	assert_int_equal(json_integer_value(json_object_get(proto, "eligible")), 2);
	assert_int_equal(json_integer_value(json_object_get(proto, "playlists")), 2);
	assert_non_null(strstr(json_string_value(json_object_get(proto, "playlists_rule")), "more than 25"));
	json_t *cells = json_object_get(root, "cells"), *c;
	size_t i, rows = 0, title_rows = 0;
	json_array_foreach(cells, i, c)
	{
		assert_int_equal(json_integer_value(json_object_get(c, "lists")), 2);
		const char *cs = json_string_value(json_object_get(c, "case"));
		const char *model = json_string_value(json_object_get(c, "model"));
		if (strcmp(cs, "title") == 0) {
			/* Title-only: only the models that read a title, and the
			 * baselines that need no query. */
			const recommender *r = recommender_get(recommender_find(model));
			assert_non_null(r);
			assert_true((r->flags & REC_USES_TITLE) || !(r->flags & REC_NEEDS_QUERY));
			title_rows++;
		} else {
			/* The title model is not scored on seeds. */
			assert_string_not_equal(model, "title");
			rows++;
		}
	}
	/* Six seeded cases x (models but the title one + the re-ranked
	 * default), all from mpd: an "all" and an "mpd" row each, no editorial
	 * one. The fixture's playlists (an entries file, no playlist table)
	 * have no titles, so the title case scores none. */
	assert_int_equal(rows, 6 * recommender_count() * 2);
	assert_int_equal(title_rows, 0);
	json_t *read = json_object_get(root, "playlists_read");
	assert_int_equal(json_integer_value(json_object_get(read, "test")), 2);
	assert_int_equal(json_integer_value(json_object_get(read, "validation")), 0);
	assert_int_equal(json_integer_value(json_object_get(read, "train")), 0);
	/* A title model is registered: no case is skipped. */
	assert_int_equal(json_array_size(json_object_get(proto, "skipped_cases")), 0);
	free(text);
	json_decref(root);
}

/* "constant", first-1. H1: seed 28, hidden {1..27}; the list is 1..10, all
 * hits: R-precision 10/27 (no wrong track, so no artist credit), NDCG 1
 * (the ideal over min(27, 10) = 10 positions is the list itself), clicks 0,
 * recall@10 10/27. H2: seed 40, hidden {13..39}: no hit, clicks 51. The
 * cell is their mean, its CI mean ± 1.96 |a - b| / 2. */
static void test_constant_by_hand(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(0, &text);
	json_t *c = cell(root, "constant", "first-1");
	assert_near(mean(c, "r_precision"), 5.0 / 27, 1e-9);
	assert_near(ci(c, "r_precision", 0), 5.0 / 27 - 1.96 * 5.0 / 27, 1e-9);
	assert_near(ci(c, "r_precision", 1), 5.0 / 27 + 1.96 * 5.0 / 27, 1e-9);
	assert_near(mean(c, "ndcg"), 0.5, 1e-9);
	assert_near(mean(c, "ndcg_hits"), 0.5, 1e-9);
	assert_near(mean(c, "clicks"), 51 / 2.0, 1e-9);
	assert_near(mean(c, "recall@k"), 5.0 / 27, 1e-9);
	assert_near(mean(c, "filled"), 0, 0);
	/* first-25 on H1: seeds 28..4, hidden {1, 2, 3}; the list starts 1 2 3:
	 * R-precision 1, NDCG 1. H2: seeds 40..16, hidden {13, 14, 15}; the
	 * list 1..10 misses them: 0. */
	c = cell(root, "constant", "first-25");
	assert_near(mean(c, "r_precision"), 0.5, 1e-9);
	assert_near(mean(c, "ndcg"), 0.5, 1e-9);
	/* The dashboard's flat rows carry the same figures. */
	json_t *rows = json_object_get(root, "results"), *r;
	size_t i;
	int seen = 0;
	json_array_foreach(rows, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "model")), "constant") == 0 &&
		    json_integer_value(json_object_get(r, "seeds")) == 1) {
			assert_near(json_number_value(json_object_get(r, "r_precision")), 5.0 / 27, 1e-9);
			assert_near(json_number_value(json_object_get(r, "r_precision_se")), 5.0 / 27, 1e-9);
			seen = 1;
		}
	}
	assert_true(seen);
	free(text);
	json_decref(root);
}

/* "two" returns 2 tracks; the rest of each list of 10 is filler, the most
 * popular training tracks not listed and not seeds: 41 42 | 10 1 2 3 4 6 8 5.
 * H1 first-1 (hidden 1..27): hits at ranks 3..10, NDCG = Σ_{i=3..10}
 * 1/log2(i+1) / Σ_{i=1..10} 1/log2(i+1), R-precision 8/27. H2: no hit.
 * first-25 on H1: seeds 28..4 take 10 4 6 8 5 7 9 11 12 out of the filler:
 * 41 42 1 2 3 (3 filled, hits at 3, 4, 5 of hidden {1, 2, 3}); on H2 the
 * seeds are 40..16: 8 filled. */
static void test_fill_to_k(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(0, &text);
	json_t *c = cell(root, "two", "first-1");
	double dcg = 0, idcg = 0;
	for (int i = 1; i <= 10; i++) {
		idcg += 1 / log2(i + 1.0);
		if (i >= 3)
			dcg += 1 / log2(i + 1.0);
	}
	assert_near(mean(c, "filled"), 8, 0);
	assert_near(mean(c, "ndcg"), dcg / idcg / 2, 1e-9);
	assert_near(mean(c, "r_precision"), 8.0 / 27 / 2, 1e-9);
	c = cell(root, "two", "first-25");
	assert_near(mean(c, "filled"), (3 + 8) / 2.0, 0);
	double d25 = 1 / log2(4.0) + 1 / log2(5.0) + 1 / log2(6.0), i25 = 1 + 1 / log2(3.0) + 1 / log2(4.0);
	assert_near(mean(c, "ndcg"), d25 / i25 / 2, 1e-9);
	/* The protocol says lists were filled, and how. */
	const char *fill = json_string_value(json_object_get(json_object_get(root, "protocol"), "fill"));
	assert_non_null(fill);
	assert_non_null(strstr(fill, "most popular training tracks"));
	free(text);
	json_decref(root);
}

/* The comparisons: each model against the cell's best baseline, p from the
 * paired t-test, Holm over all of them (checked here against metrics_holm
 * on the p values the file holds; metrics_holm itself is checked against
 * the golden script in test_metrics), and the difference's CI. Random seeds
 * are the same on every evaluation. */
static void test_tests_and_holm(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate(0, &text);
	json_t *cells = json_object_get(root, "cells"), *c;
	size_t i, m = 0;
	static double p[4096], holm[4096], adj[4096];
	json_array_foreach(cells, i, c)
	{
		json_t *vs = json_object_get(c, "vs_reference");
		const char *key;
		json_t *k;
		json_object_foreach(vs, key, k)
		{
			if (json_is_true(json_object_get(k, "is_reference")))
				continue;
			json_t *jp = json_object_get(k, "p");
			if (!json_is_number(jp))
				continue;
			assert_true(m < 4096);
			p[m] = json_number_value(jp);
			holm[m] = json_number_value(json_object_get(k, "p_holm"));
			assert_true(holm[m] >= p[m]);
			json_t *d = json_object_get(k, "diff_ci95");
			double lo = json_number_value(json_array_get(d, 0)),
			       hi = json_number_value(json_array_get(d, 1));
			assert_true(lo <= hi);
			assert_int_equal(json_is_true(json_object_get(k, "ci_includes_0")), lo <= 0 && hi >= 0);
			m++;
		}
	}
	assert_true(m > 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "protocol"), "comparisons")), m);
	seg_error err;
	assert_int_equal(metrics_holm(p, m, adj, &err), 0);
	for (size_t j = 0; j < m; j++)
		assert_near(holm[j], adj[j], 1e-12);
	/* The reference is a baseline, never the default or its re-ranked row. */
	json_array_foreach(cells, i, c)
	{
		json_t *k = json_object_get(json_object_get(c, "vs_reference"), "ndcg");
		const char *ref = json_string_value(json_object_get(k, "reference"));
		if (ref != NULL) {
			assert_string_not_equal(ref, "hybrid");
			assert_string_not_equal(ref, "hybrid+rerank");
		}
	}
	/* random-n: the same seeds on a second evaluation. */
	double r1 = mean(cell(root, "constant", "random-5"), "r_precision");
	free(text);
	json_decref(root);
	root = evaluate(0, &text);
	assert_near(mean(cell(root, "constant", "random-5"), "r_precision"), r1, 0);
	free(text);
	json_decref(root);
}

/* --split validation reads the validation playlist only (the
 * instrumentation counts what eval_score scored, by split), and eval_set_pick
 * gives only playlists of the split asked for. */
static void test_validation_split_only(void **state)
{
	(void)state;
	char *text = NULL;
	json_t *root = evaluate_split(0, CATALOG_SPLIT_VALID, &text);
	json_t *read = json_object_get(root, "playlists_read");
	assert_int_equal(json_integer_value(json_object_get(read, "validation")), 1);
	assert_int_equal(json_integer_value(json_object_get(read, "test")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "protocol"), "split")),
	                    "validation");
	free(text);
	json_decref(root);
	dataset *ds = NULL;
	seg_error err = {0};
	assert_int_equal(dataset_load(&ds, ws, &err), 0);
	eval_set set;
	assert_int_equal(eval_set_pick(ds, CATALOG_SPLIT_VALID, 25, 0, &set, &err), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(ds->pl_split[set.pl[0]], CATALOG_SPLIT_VALID);
	eval_set_free(&set);
	dataset_free(ds);
}

/* The README's table: --markdown of a committed evaluation.json gives the
 * committed Markdown (tests/golden/evaluation_small.{json,md}). */
static void test_markdown_of_fixture(void **state)
{
	(void)state;
	char jpath[PATH_MAX];
	assert_non_null(tu_golden_path("evaluation_small.json", jpath, sizeof jpath));
	eval_options o;
	eval_options_default(&o);
	o.markdown = jpath;
	char *text = NULL;
	size_t len;
	o.out = open_memstream(&text, &len);
	seg_error err = {0};
	assert_int_equal(evaluate_run(&o, &err), 0);
	fclose(o.out);
	char *want = tu_golden_read("evaluation_small.md", &len);
	assert_string_equal(text, want);
	/* scripts/readme-tables puts exactly that between the README's markers,
	 * and leaves the rest alone. */
	const char *bin = getenv("SEGUE_BIN");
	char *script = strstr(jpath, "tests/golden/");
	if (bin != NULL && *bin && script != NULL) {
		char readme[PATH_MAX + 32], cmd[4 * PATH_MAX], *out = NULL;
		snprintf(readme, sizeof readme, "%s/README.md", dir);
		FILE *f = fopen(readme, "w");
		assert_non_null(f);
		fputs("before\n<!-- evaluation:begin -->\ntyped by hand\n<!-- evaluation:end -->\nafter\n", f);
		fclose(f);
		snprintf(cmd, sizeof cmd, "'%.*sscripts/readme-tables' --segue '%s' --readme '%s' '%s' 2>&1",
		         (int)(script - jpath), jpath, bin, readme, jpath);
		assert_int_equal(tu_run(cmd, &out), 0);
		free(out);
		size_t rlen;
		FILE *rf = fopen(readme, "r");
		assert_non_null(rf);
		static char got[131072];
		rlen = fread(got, 1, sizeof got - 1, rf);
		got[rlen] = '\0';
		fclose(rf);
		char expect[131072];
		snprintf(expect, sizeof expect, "before\n<!-- evaluation:begin -->\n%s<!-- evaluation:end -->\nafter\n",
		         want);
		assert_string_equal(got, expect);
	}
	free(want);
	free(text);
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

/* --runs trains one unpublished model per seed in a scratch directory of
 * the workspace, and removes it: the table says which seeds, and neither a
 * scratch directory nor a new model version is left. */
static void test_runs_leave_nothing(void **state)
{
	(void)state;
	train_options t;
	train_options_default(&t);
	t.clusters = 2;
	t.factors = 2;
	t.als_iterations = 2;
	t.quality_rounds = 5;
	t.cv_folds = 2;
	t.seed = 7;
	eval_options o;
	eval_options_default(&o);
	o.workspace = ws;
	o.k = 10;
	o.runs = 2;
	o.train = &t;
	char *text = NULL;
	size_t len;
	o.out = open_memstream(&text, &len);
	seg_error err = {0};
	int rc = evaluate_run(&o, &err);
	fclose(o.out);
	free(text);
	if (rc != 0)
		fail_msg("evaluate_run --runs 2: %d %s", rc, err.msg);
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/models/v1/evaluation.json", ws);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	json_t *proto = json_object_get(root, "protocol");
	assert_int_equal(json_integer_value(json_object_get(proto, "runs")), 2);
	json_t *seeds = json_object_get(proto, "train_seeds");
	assert_int_equal(json_array_size(seeds), 2);
	assert_int_equal(json_integer_value(json_array_get(seeds, 0)), 7);
	assert_int_equal(json_integer_value(json_array_get(seeds, 1)), 8);
	json_decref(root);
	assert_false(has_temporary(ws));
	snprintf(path, sizeof path, "%s/models/v2", ws);
	assert_int_equal(access(path, F_OK), -1);
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
		cmocka_unit_test(test_same_playlists_rule),
		cmocka_unit_test(test_constant_by_hand),
		cmocka_unit_test(test_fill_to_k),
		cmocka_unit_test(test_tests_and_holm),
		cmocka_unit_test(test_validation_split_only),
		cmocka_unit_test(test_markdown_of_fixture),
		cmocka_unit_test(test_table_replaced_whole),
		cmocka_unit_test(test_runs_leave_nothing),
		cmocka_unit_test(test_stale_snapshot_refused),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, setup, teardown);
}
