/* test_train.c: the model pipeline end to end on a generated catalogue:
 * train writes a versioned artifact; the engine's guarantees hold for every
 * model (no seed or known track returned, at most N per artist, k results or
 * a stated reason, a reason for every pick); lookups by id and name; the
 * evaluation runs and ranks the hybrid above the baselines; a damaged
 * artifact is refused; model names resolve strictly to versions. Covers dataset, train, recommend, lookup, evaluate. */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "engine/dataset.h"
#include "engine/evaluate.h"
#include "catalog/lookup.h"
#include "catalog/query.h"
#include "engine/recommend.h"
#include "engine/recommender.h"
#include "engine/train.h"

static char ws[PATH_MAX];
static const char *dir;
static dataset *ds;
static engine *eng;

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(ws, sizeof ws, "%s/ws", dir);
	/* The first model of the fresh workspace is v1 (tu_build_workspace checks). */
	tu_train_sizes sizes = {.clusters = 6, .factors = 16, .als_iterations = 4, .quality_rounds = 20, .cv_folds = 3};
	if (tu_build_workspace(dir, ws, 4000, 600, 3, &sizes) < 0)
		return -1;
	seg_error err = {0};
	char path[PATH_MAX + 64];
	if (train_model_path(ws, NULL, path, sizeof path, &err) < 0 || engine_open(&eng, path, &err) < 0 ||
	    dataset_load(&ds, ws, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	engine_free(eng);
	dataset_free(ds);
	tu_rmtree(dir);
	return 0;
}

static void test_dataset_split(void **state)
{
	(void)state;
	assert_int_equal(ds->N, 4000);
	assert_true(ds->P >= 590 && ds->P <= 600);
	/* About one playlist in ten is held out, decided by its id alone. */
	assert_true(ds->P_test > 30 && ds->P_test < 100);
	char cat[PATH_MAX + 32];
	snprintf(cat, sizeof cat, "%s/catalog.db", ws);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(cat, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT source, external_id FROM playlists WHERE id = ?", -1, &q, NULL),
	                 SQLITE_OK);
	size_t held = 0, valid = 0;
	for (size_t p = 0; p < ds->P; p++) {
		sqlite3_bind_int64(q, 1, ds->pl_id[p]);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		int want = catalog_playlist_split((const char *)sqlite3_column_text(q, 0),
		                                  (const char *)sqlite3_column_text(q, 1));
		assert_int_equal(ds->pl_split[p], want);
		held += want == CATALOG_SPLIT_TEST;
		valid += want == CATALOG_SPLIT_VALID;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(held, ds->P_test);
	assert_int_equal(valid, ds->P_valid);
	assert_true(ds->P_valid > 30 && ds->P_valid < 100);
	/* Validation and test playlists do not count toward track popularity. */
	uint64_t pop = 0, train_entries = 0;
	for (int64_t t = 0; t < ds->T; t++)
		pop += ds->track_pop[t];
	for (size_t p = 0; p < ds->P; p++)
		if (ds->pl_split[p] == CATALOG_SPLIT_TRAIN)
			train_entries += ds->pl_ptr[p + 1] - ds->pl_ptr[p];
	assert_int_equal(pop, train_entries);
}

static void check_list(const rec_request *r, const rec_item *it, size_t n, const char *shortfall)
{
	/* k results, or fewer with a reason. */
	if (n < r->k)
		assert_true(shortfall != NULL && shortfall[0] != '\0');
	else
		assert_int_equal(n, r->k);
	for (size_t i = 0; i < n; i++) {
		for (size_t s = 0; s < r->nseeds; s++)
			assert_true(it[i].track != r->seeds[s]);
		for (size_t x = 0; x < r->nexclude; x++)
			assert_true(it[i].track != r->exclude[x]);
		for (size_t j = 0; j < i; j++)
			assert_true(it[i].track != it[j].track);
		assert_int_not_equal(it[i].reasons, 0);
		if (r->rerank && r->max_per_artist > 0) {
			int same = 0;
			int32_t a = engine_artist_of(eng, it[i].track);
			for (size_t j = 0; j < n; j++)
				same += a >= 0 && engine_artist_of(eng, it[j].track) == a;
			assert_true(same <= r->max_per_artist);
		}
	}
}

static void test_guarantees_every_model(void **state)
{
	(void)state;
	rec_item items[60];
	for (size_t p = 0; p < ds->P && p < 40; p++) {
		const int64_t *tr = ds->pl_tracks + ds->pl_ptr[p];
		size_t len = ds->pl_ptr[p + 1] - ds->pl_ptr[p];
		if (len < 6)
			continue;
		for (int m = 0; m < (int)recommender_count(); m++) {
			for (int rr = 0; rr < 2; rr++) {
				rec_request r;
				rec_request_default(&r);
				r.model = m;
				r.rerank = rr;
				r.k = 20 + p % 30;
				r.max_per_artist = 1 + (int)(p % 2);
				r.seeds = tr;
				r.nseeds = 3;
				r.exclude = tr + 3;
				r.nexclude = 2;
				r.seed = p;
				size_t n;
				const char *sf;
				seg_error err;
				assert_int_equal(engine_recommend(eng, &r, items, &n, &sf, &err), 0);
				check_list(&r, items, n, sf);
			}
		}
	}
}

static void test_reasons_and_shortfall(void **state)
{
	(void)state;
	const int64_t *tr = ds->pl_tracks + ds->pl_ptr[0];
	rec_request r;
	rec_request_default(&r);
	r.seeds = tr;
	r.nseeds = 2;
	r.k = 10;
	rec_item items[500];
	size_t n;
	const char *sf;
	seg_error err;
	assert_int_equal(engine_recommend(eng, &r, items, &n, &sf, &err), 0);
	int content = 0, cf = 0;
	for (size_t i = 0; i < n; i++) {
		content += (items[i].reasons & REASON_CONTENT) != 0;
		cf += (items[i].reasons & REASON_CF) != 0;
		char text[512];
		const char *names[2] = {"Seed A", "Seed B"};
		rec_reason_text(eng, &items[i], names, 2, text, sizeof text);
		assert_true(strlen(text) > 5);
		if (items[i].reasons & REASON_CONTENT)
			assert_non_null(strstr(text, "sounds like Seed"));
	}
	assert_true(content > 0 && cf > 0);
	/* The words, whole and cut like snprintf (the length is the whole one). */
	{
		const char *names[2] = {"Seed A", "Seed B"};
		rec_item it;
		memset(&it, 0, sizeof it);
		it.track = -1;
		it.near_seed = 1;
		it.match[0] = it.match[1] = it.match[2] = -1;
		it.reasons = REASON_CONTENT | REASON_CF | REASON_GEM | REASON_MOOD;
		it.predicted = 70.4f;
		it.popularity = 20;
		char text[512];
		const char *want = "sounds like Seed B; fits the mood; often in playlists with your seeds; "
				   "hidden gem: predicted popularity 70, actual 20";
		assert_int_equal(rec_reason_text(eng, &it, names, 2, text, sizeof text), (int)strlen(want));
		assert_string_equal(text, want);
		char small[12];
		assert_int_equal(rec_reason_text(eng, &it, names, 2, small, sizeof small), (int)strlen(want));
		assert_string_equal(small, "sounds like");
		it.reasons = REASON_RANDOM;
		rec_reason_text(eng, &it, names, 2, text, sizeof text);
		assert_string_equal(text, "picked at random");
	}
	/* A cap of one per artist with a huge k must stop short and say why. */
	r.k = 500;
	r.max_per_artist = 1;
	r.pool = 500;
	assert_int_equal(engine_recommend(eng, &r, items, &n, &sf, &err), 0);
	check_list(&r, items, n, sf);
	/* A mood alone. */
	rec_request_default(&r);
	r.mood = "energy=0.9,danceability=0.8";
	assert_int_equal(engine_recommend(eng, &r, items, &n, &sf, &err), 0);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_true(items[i].reasons & REASON_MOOD);
	r.mood = "energy=7";
	assert_int_equal(engine_recommend(eng, &r, items, &n, &sf, &err), SEG_EINVAL);
	/* Neither seeds nor mood. */
	rec_request_default(&r);
	assert_int_equal(engine_recommend(eng, &r, items, &n, &sf, &err), SEG_EINVAL);
}

static void test_lookup(void **state)
{
	(void)state;
	char db[PATH_MAX + 32];
	snprintf(db, sizeof db, "%s/%s", ws, CATALOG_DB_NAME);
	sqlite3 *h;
	seg_error err;
	assert_int_equal(query_open(db, &h, &err), 0);
	lookup_hit hit, alts[10];
	size_t na;
	assert_int_equal(lookup_track(h, ds->row_track[5], &hit, &err), 0);
	char id[64], uri[96];
	snprintf(id, sizeof id, "%s", hit.spotify_id);
	snprintf(uri, sizeof uri, "spotify:track:%s", id);
	assert_int_equal(lookup_resolve(h, uri, &hit, alts, 10, &na, &err), 0);
	assert_string_equal(hit.spotify_id, id);
	/* Every synthetic title contains "Synthetic": ambiguous, with candidates. */
	assert_int_equal(lookup_resolve(h, "synthetic", &hit, alts, 10, &na, &err), SEG_EINVAL);
	assert_int_equal(na, 10);
	assert_int_equal(lookup_resolve(h, "zzqqxx nothing", &hit, alts, 10, &na, &err), SEG_ENOTFOUND);
	assert_int_equal(lookup_track(h, 99999999, &hit, &err), SEG_ENOTFOUND);
	int64_t tid = 0;
	char name[160];
	assert_int_equal(lookup_spotify_id(h, id, &tid, name, sizeof name, &err), 1);
	assert_int_equal(tid, ds->row_track[5]);
	assert_string_equal(name, hit.name);
	assert_int_equal(lookup_spotify_id(h, "0000000000000000000000", &tid, NULL, 0, &err), 0);
	/* Several at once, in the order asked, an unknown id marked, the same
	 * statement used again (kept prepared on the connection). */
	for (int round = 0; round < 2; round++) {
		int64_t ids[4] = {ds->row_track[7], 99999999, ds->row_track[5], ds->row_track[7]};
		lookup_hit got[4];
		uint8_t found[4];
		assert_int_equal(lookup_tracks(h, ids, 4, got, found, &err), 0);
		assert_int_equal(found[0] + found[1] + found[2] + found[3], 3);
		assert_int_equal(found[1], 0);
		assert_int_equal(got[0].track, ds->row_track[7]);
		assert_int_equal(got[3].track, ds->row_track[7]);
		assert_string_equal(got[2].spotify_id, id);
	}
	query_close(h);
}

static double result(json_t *root, const char *model, int seeds, const char *metric)
{
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(root, "results"), i, row)
	{
		if (strcmp(json_string_value(json_object_get(row, "model")), model) == 0 &&
		    json_integer_value(json_object_get(row, "seeds")) == seeds)
			return json_real_value(json_object_get(row, metric));
	}
	return NAN;
}

static void test_evaluate(void **state)
{
	(void)state;
	eval_options o;
	eval_options_default(&o);
	o.workspace = ws;
	o.k = 100;
	char buf[16384];
	o.out = fmemopen(buf, sizeof buf, "w");
	seg_error err;
	assert_int_equal(evaluate_run(&o, &err), 0);
	fclose(o.out);
	assert_non_null(strstr(buf, "hybrid+rerank"));
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/models/v1/evaluation.json", ws);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	double hyb = result(root, "hybrid", 5, "r_precision"), pop = result(root, "popular", 5, "r_precision"),
	       rnd = result(root, "random", 5, "r_precision");
	printf("# synthetic R-precision, 5 seeds: hybrid %.4f, popular %.4f, random %.4f\n", hyb, pop, rnd);
	assert_true(hyb > pop);
	assert_true(hyb > rnd);
	/* Re-ranking raises intra-list diversity. */
	assert_true(result(root, "hybrid+rerank", 5, "ild@10") > result(root, "hybrid", 5, "ild@10"));
	json_decref(root);
}

/* train_to_path: an artifact the engine opens, trained with the given seed
 * and without the quality CV, never published (models/latest still names
 * v1, and no new version appears). Two seeds give two ALS models. */
static void test_train_to_path(void **state)
{
	(void)state;
	train_options o;
	train_options_default(&o);
	o.verbose = 0;
	o.clusters = 3;
	o.factors = 4;
	o.als_iterations = 2;
	o.quality_rounds = 5;
	o.skip_quality_cv = 1;
	char p1[PATH_MAX + 32], p2[PATH_MAX + 32];
	snprintf(p1, sizeof p1, "%s/seed1.seg", dir);
	snprintf(p2, sizeof p2, "%s/seed2.seg", dir);
	seg_error err = {0};
	o.seed = 1;
	assert_int_equal(train_to_path(ds, &o, p1, &err), 0);
	o.seed = 2;
	assert_int_equal(train_to_path(ds, &o, p2, &err), 0);
	engine *a = NULL, *b = NULL;
	assert_int_equal(engine_open(&a, p1, &err), 0);
	assert_int_equal(engine_open(&b, p2, &err), 0);
	json_error_t je;
	json_t *ma = json_loads(engine_meta_json(a), 0, &je);
	assert_non_null(ma);
	assert_int_equal(json_integer_value(json_object_get(ma, "seed")), 1);
	/* No CV figures when it was skipped. */
	assert_int_equal(json_object_size(json_object_get(json_object_get(ma, "quality"), "cv")), 0);
	json_decref(ma);
	/* Different seeds, different ALS recommendations for the same seeds. */
	int64_t seeds[3];
	size_t ns = 0;
	for (size_t p = 0; p < ds->P && ns < 3; p++)
		if (ds->pl_split[p] == CATALOG_SPLIT_TRAIN && ds->pl_ptr[p + 1] - ds->pl_ptr[p] >= 3)
			for (uint32_t j = ds->pl_ptr[p]; j < ds->pl_ptr[p] + 3; j++)
				seeds[ns++] = ds->pl_tracks[j];
	rec_request r;
	rec_request_default(&r);
	r.model = recommender_find("als");
	r.rerank = 0;
	r.k = 20;
	r.seeds = seeds;
	r.nseeds = ns;
	rec_item ia[20], ib[20];
	size_t na = 0, nb = 0;
	assert_int_equal(engine_recommend(a, &r, ia, &na, NULL, &err), 0);
	assert_int_equal(engine_recommend(b, &r, ib, &nb, NULL, &err), 0);
	int differ = na != nb;
	for (size_t i = 0; i < na && i < nb && !differ; i++)
		differ = ia[i].track != ib[i].track || ia[i].score != ib[i].score;
	assert_true(differ);
	engine_free(a);
	engine_free(b);
	/* Not published. */
	int *versions = NULL;
	size_t nv = 0;
	assert_int_equal(workspace_models_list(ws, &versions, &nv, &err), 0);
	assert_int_equal(nv, 1);
	free(versions);
	unlink(p1);
	unlink(p2);
}

static void test_damaged_artifact_refused(void **state)
{
	(void)state;
	char path[PATH_MAX + 64], copy[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/models/v1/model.seg", ws);
	snprintf(copy, sizeof copy, "%s/broken.seg", dir);
	size_t len;
	char *bytes = tu_read(path, &len);
	assert_non_null(bytes);
	bytes[len / 2] ^= 0x40;
	FILE *f = fopen(copy, "wb");
	fwrite(bytes, 1, len, f);
	fclose(f);
	free(bytes);
	engine *e2 = NULL;
	seg_error err;
	assert_int_equal(engine_open(&e2, copy, &err), SEG_ECHECKSUM);
	assert_null(e2);
	assert_int_equal(train_model_path(dir, NULL, path, sizeof path, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "segue train"));
}

static void put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Which model a name resolves to: the version models/latest names, a
 * published version by name, a path as it is; a name that is not strictly
 * a version is refused, not read as one. */
static void test_model_path(void **state)
{
	(void)state;
	char path[PATH_MAX + 64], want[PATH_MAX + 64], latest[PATH_MAX + 32], v7[PATH_MAX + 32];
	seg_error err = {0};
	snprintf(want, sizeof want, "%s/models/v1/model.seg", ws);
	assert_int_equal(train_model_path(ws, NULL, path, sizeof path, &err), 0);
	assert_string_equal(path, want);
	assert_int_equal(train_model_path(ws, "v1", path, sizeof path, &err), 0);
	assert_string_equal(path, want);
	assert_int_equal(train_model_path(ws, "/some/where/model.seg", path, sizeof path, &err), 0);
	assert_string_equal(path, "/some/where/model.seg");
	/* a newer version, published: latest names it */
	snprintf(v7, sizeof v7, "%s/models/v7", ws);
	assert_int_equal(mkdir(v7, 0777), 0);
	snprintf(path, sizeof path, "%s/model.seg", v7);
	put_text(path, "x");
	snprintf(latest, sizeof latest, "%s/models/latest", ws);
	put_text(latest, "v7\n");
	snprintf(want, sizeof want, "%s/models/v7/model.seg", ws);
	assert_int_equal(train_model_path(ws, NULL, path, sizeof path, &err), 0);
	assert_string_equal(path, want);
	assert_int_equal(train_model_path(ws, "v7", path, sizeof path, &err), 0);
	assert_string_equal(path, want);
	/* names that are not versions (the first overflows an int) */
	const char *bad[] = {"v99999999999", "v2147483648", "v01", "v0", "v7x", "latest", "..", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		memset(&err, 0, sizeof err);
		if (train_model_path(ws, bad[i], path, sizeof path, &err) != SEG_EINVAL)
			fail_msg("'%s' was taken for a version: %s", bad[i], path);
		assert_non_null(strstr(err.msg, "not a model version"));
	}
	/* a version that is not published */
	assert_int_equal(train_model_path(ws, "v3", path, sizeof path, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "v3"));
	/* latest naming something that is not a version */
	put_text(latest, "v99999999999\n");
	assert_int_equal(train_model_path(ws, NULL, path, sizeof path, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "segue train"));
	/* as it was */
	put_text(latest, "v1\n");
	snprintf(path, sizeof path, "%s/model.seg", v7);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(v7), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dataset_split),
		cmocka_unit_test(test_guarantees_every_model),
		cmocka_unit_test(test_reasons_and_shortfall),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_train_to_path),
		cmocka_unit_test(test_damaged_artifact_refused),
		cmocka_unit_test(test_model_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
