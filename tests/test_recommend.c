/* test_recommend.c: the engine's request stages on a small trained synthetic
 * workspace: every registered model returns candidates; seeds and excluded
 * tracks never come back; k is respected or the shortfall is said; requests
 * that cannot be served are refused; the baselines, content similarity and
 * the hybrid order their picks as they should; and a model registered at run
 * time is served by engines opened after it. */
#include "testutil.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "engine/dataset.h"
#include "engine/recommend.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "models/featvec.h"
#include "models/rerank.h"

static char ws[PATH_MAX];
static char model_path[PATH_MAX + 64];
static const char *dir;
static dataset *ds;
static engine *eng;
static int64_t cf_seeds[3]; /* the start of a training playlist: CF items with vectors */
static int64_t cf_known[2]; /* the two tracks after them */
static int64_t lone_seed;   /* a track with a vector in no training playlist */

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(ws, sizeof ws, "%s/ws", dir);
	tu_train_sizes sizes = {.clusters = 4, .factors = 8, .als_iterations = 3, .quality_rounds = 10, .cv_folds = 3};
	if (tu_build_workspace(dir, ws, 1500, 300, 11, &sizes) < 0)
		return -1;
	seg_error err = {0};
	if (train_model_path(ws, NULL, model_path, sizeof model_path, &err) < 0 ||
	    engine_open(&eng, model_path, &err) < 0 || dataset_load(&ds, ws, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	/* Seeds: the first training playlist of 6 tracks or more whose first
	 * three have vectors; a seed in no training playlist. */
	for (size_t p = 0; p < ds->P && cf_seeds[0] == 0; p++) {
		const int64_t *tr = ds->pl_tracks + ds->pl_ptr[p];
		if (ds->pl_split[p] != CATALOG_SPLIT_TRAIN || ds->pl_ptr[p + 1] - ds->pl_ptr[p] < 6)
			continue;
		if (engine_row_of(eng, tr[0]) < 0 || engine_row_of(eng, tr[1]) < 0 || engine_row_of(eng, tr[2]) < 0)
			continue;
		memcpy(cf_seeds, tr, sizeof cf_seeds);
		memcpy(cf_known, tr + 3, sizeof cf_known);
	}
	for (int64_t t = 1; t < engine_track_limit(eng) && lone_seed == 0; t++)
		if (engine_row_of(eng, t) >= 0 && engine_playlist_count(eng, t) == 0)
			lone_seed = t;
	return cf_seeds[0] > 0 && lone_seed > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	engine_free(eng);
	dataset_free(ds);
	tu_rmtree(dir);
	return 0;
}

/* The id of a built-in, looked up by name as every caller does. */
static int model_id(const char *name)
{
	int id = recommender_find(name);
	if (id < 0)
		fail_msg("no model called '%s' is registered", name);
	return id;
}

static rec_request request(int model, int rerank, size_t k)
{
	rec_request r;
	rec_request_default(&r);
	r.model = model;
	r.rerank = rerank;
	r.k = k;
	r.seeds = cf_seeds;
	r.nseeds = 3;
	r.exclude = cf_known;
	r.nexclude = 2;
	r.seed = 42;
	return r;
}

/* Runs a request that must succeed; returns the count. */
static size_t run(const engine *e, const rec_request *r, rec_item *items, const char **shortfall)
{
	size_t n = 99999;
	seg_error err = {0};
	int rc = engine_recommend(e, r, items, &n, shortfall, &err);
	if (rc != 0)
		fail_msg("engine_recommend(%s): %d %s", recommender_name(r->model), rc, err.msg);
	return n;
}

static void test_every_model_returns_candidates(void **state)
{
	(void)state;
	rec_item items[15];
	for (int m = 0; m < (int)recommender_count(); m++)
		for (int rr = 0; rr < 2; rr++) {
			rec_request r = request(m, rr, 15);
			const char *sf = NULL;
			size_t n = run(eng, &r, items, &sf);
			/* k picks, or fewer with the reason said. */
			if (n < r.k)
				fail_msg("%s (rerank %d): %zu of %zu, shortfall '%s'", recommender_name(m), rr, n, r.k,
				         sf);
			assert_int_equal(n, r.k);
			assert_string_equal(sf, "");
			for (size_t i = 0; i < n; i++) {
				assert_true(items[i].track > 0 && items[i].track < engine_track_limit(eng));
				for (size_t s = 0; s < r.nseeds; s++)
					assert_true(items[i].track != r.seeds[s]);
				for (size_t x = 0; x < r.nexclude; x++)
					assert_true(items[i].track != r.exclude[x]);
				for (size_t j = 0; j < i; j++)
					assert_true(items[i].track != items[j].track);
				assert_int_not_equal(items[i].reasons, 0);
				if (rr && r.max_per_artist > 0) {
					int same = 0;
					for (size_t j = 0; j < n; j++)
						same += engine_artist_of(eng, items[j].track) ==
						        engine_artist_of(eng, items[i].track);
					assert_true(same <= r.max_per_artist);
				}
			}
		}
}

static void test_k_and_shortfall(void **state)
{
	(void)state;
	static rec_item items[2000];
	const char *sf;
	/* One asked, one given. */
	rec_request r = request(model_id("hybrid"), 1, 1);
	assert_int_equal(run(eng, &r, items, &sf), 1);
	/* Nothing asked, nothing done. */
	r.k = 0;
	sf = NULL;
	assert_int_equal(run(eng, &r, items, &sf), 0);
	assert_string_equal(sf, "");
	/* Co-occurrence knows at most its top-M neighbours of one seed: 500
	 * cannot come out, and the sentence says why, ranked or re-ranked. */
	for (int rr = 0; rr < 2; rr++) {
		r = request(model_id("cooc"), rr, 500);
		r.nseeds = 1;
		r.max_per_artist = 0;
		size_t n = run(eng, &r, items, &sf);
		assert_true(n > 0 && n < 500);
		assert_string_equal(sf, rerank_shortfall_text(RERANK_FEW_CANDIDATES));
		/* The shortfall pointer may be NULL. */
		assert_int_equal(run(eng, &r, items, NULL), n);
	}
	/* One track per artist: asked for one more than there are artists with
	 * audio features, from every track, the cap stops it and says so. */
	size_t N = engine_rows(eng), A = 0;
	uint8_t *seen = calloc((size_t)engine_track_limit(eng), 1);
	assert_non_null(seen);
	for (size_t row = 0; row < N; row++) {
		int32_t a = engine_artist_of(eng, engine_track_of(eng, row));
		if (a >= 0 && a < engine_track_limit(eng) && !seen[a]) {
			seen[a] = 1;
			A++;
		}
	}
	free(seen);
	assert_true(A + 1 < N && A + 1 <= sizeof items / sizeof *items);
	r = request(model_id("content"), 1, A + 1);
	r.max_per_artist = 1;
	r.pool = N;
	size_t n = run(eng, &r, items, &sf);
	assert_true(n <= A);
	assert_string_equal(sf, rerank_shortfall_text(RERANK_ARTIST_CAP));
	assert_true(strlen(sf) > 10);
}

static void test_refusals(void **state)
{
	(void)state;
	rec_item items[10];
	size_t n = 7;
	seg_error err = {0};
	rec_request r = request(-1, 1, 10);
	assert_int_equal(engine_recommend(eng, &r, items, &n, NULL, &err), SEG_EINVAL);
	assert_int_equal(n, 0);
	r.model = (int)recommender_count();
	assert_int_equal(engine_recommend(eng, &r, items, &n, NULL, &err), SEG_EINVAL);
	/* Neither seeds nor mood: only the baselines can answer. */
	for (int m = 0; m < (int)recommender_count(); m++) {
		r = request(m, 1, 10);
		r.nseeds = 0;
		int rc = engine_recommend(eng, &r, items, &n, NULL, &err);
		if (recommender_get(m)->flags & REC_NEEDS_QUERY) {
			assert_int_equal(rc, SEG_EINVAL);
			assert_non_null(strstr(err.msg, "seed"));
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(n, 10);
		}
	}
	/* A mood outside its range. */
	r = request(model_id("content"), 1, 10);
	r.mood = "energy=7";
	assert_int_equal(engine_recommend(eng, &r, items, &n, NULL, &err), SEG_EINVAL);
	/* After refusals the thread's scratch is clean: the same request twice
	 * gives the same list. */
	rec_item again[10];
	r = request(model_id("hybrid"), 1, 10);
	size_t n1 = run(eng, &r, items, NULL), n2 = run(eng, &r, again, NULL);
	assert_int_equal(n1, n2);
	for (size_t i = 0; i < n1; i++)
		assert_int_equal(items[i].track, again[i].track);
}

static void test_baselines(void **state)
{
	(void)state;
	rec_item a[20], b[20];
	/* Popular: by playlist count, most first, starting with the most played
	 * track that is not a seed or known. */
	rec_request r = request(model_id("popular"), 0, 20);
	size_t n = run(eng, &r, a, NULL);
	assert_int_equal(n, 20);
	uint32_t most = 0;
	for (int64_t t = 1; t < engine_track_limit(eng); t++) {
		int blocked = 0;
		for (int s = 0; s < 3; s++)
			blocked |= t == cf_seeds[s] || (s < 2 && t == cf_known[s]);
		if (!blocked && engine_playlist_count(eng, t) > most)
			most = engine_playlist_count(eng, t);
	}
	assert_int_equal(engine_playlist_count(eng, a[0].track), most);
	for (size_t i = 0; i < n; i++) {
		assert_true(a[i].reasons & REASON_POPULAR);
		if (i > 0) {
			assert_true(engine_playlist_count(eng, a[i].track) <=
			            engine_playlist_count(eng, a[i - 1].track));
			assert_true(a[i].score <= a[i - 1].score);
		}
	}
	/* Random: the request's seed decides the list. */
	r = request(model_id("random"), 0, 20);
	assert_int_equal(run(eng, &r, a, NULL), 20);
	assert_int_equal(run(eng, &r, b, NULL), 20);
	int same = 1;
	for (size_t i = 0; i < 20; i++) {
		same &= a[i].track == b[i].track;
		assert_true(a[i].reasons & REASON_RANDOM);
	}
	assert_true(same);
	r.seed = 43;
	assert_int_equal(run(eng, &r, b, NULL), 20);
	int differ = 0;
	for (size_t i = 0; i < 20; i++)
		differ += a[i].track != b[i].track;
	assert_true(differ > 10);
}

static void test_content_and_hybrid(void **state)
{
	(void)state;
	rec_item a[20], b[20];
	/* Content for one seed: the first pick is the exact nearest track to it
	 * by cosine, found here by brute force. */
	rec_request r = request(model_id("content"), 0, 20);
	r.seeds = &lone_seed;
	r.nseeds = 1;
	r.nexclude = 0;
	size_t n = run(eng, &r, a, NULL);
	assert_int_equal(n, 20);
	const float *sv = engine_vector(eng, (size_t)engine_row_of(eng, lone_seed));
	size_t D = engine_spec(eng)->dim, best = 0;
	float best_dot = -2;
	for (size_t row = 0; row < engine_rows(eng); row++) {
		if (engine_track_of(eng, row) == lone_seed)
			continue;
		const float *v = engine_vector(eng, row);
		float dot = 0;
		for (size_t d = 0; d < D; d++)
			dot += v[d] * sv[d];
		if (dot > best_dot) {
			best_dot = dot;
			best = row;
		}
	}
	assert_int_equal(a[0].track, engine_track_of(eng, best));
	for (size_t i = 0; i < n; i++) {
		assert_true(a[i].reasons & REASON_CONTENT);
		assert_int_equal(a[i].near_seed, 0);
		assert_true(a[i].content >= 0 && a[i].content <= 1);
		if (i > 0)
			assert_true(a[i].score <= a[i - 1].score);
	}
	/* A seed in no training playlist leaves CF nothing: the hybrid is then
	 * content similarity, pick for pick. */
	r.model = model_id("hybrid");
	assert_int_equal(run(eng, &r, b, NULL), n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(b[i].track, a[i].track);
		assert_false(b[i].reasons & REASON_CF);
	}
	/* Seeds from a training playlist: CF speaks, and says so. */
	r = request(model_id("hybrid"), 0, 20);
	assert_int_equal(run(eng, &r, b, NULL), 20);
	int cf = 0;
	for (size_t i = 0; i < 20; i++)
		cf += (b[i].reasons & REASON_CF) != 0;
	assert_true(cf > 10);
	/* A mood alone: every pick fits it. */
	rec_request_default(&r);
	r.model = model_id("content");
	r.mood = "energy=0.9,danceability=0.8";
	assert_int_equal(run(eng, &r, a, NULL), 10);
	for (size_t i = 0; i < 10; i++)
		assert_true(a[i].reasons & REASON_MOOD);
}

/* ---- the mood with seeds, and the genres new to the seeds ---- */

/* Mean raw energy (0..1) of the picks. */
static double mean_energy(const rec_item *it, size_t n)
{
	double sum = 0;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t row = ds->track_row[it[i].track];
		if (row >= 0 && !isnan(ds->raw[(size_t)row * SNAP__COLS + SNAP_ENERGY])) {
			sum += ds->raw[(size_t)row * SNAP__COLS + SNAP_ENERGY];
			m++;
		}
	}
	assert_true(m > 0);
	return sum / (double)m;
}

static void test_mood_with_seeds(void **state)
{
	(void)state;
	const char *models[] = {"hybrid", "content", "cooc", "als"};
	for (size_t mi = 0; mi < 4; mi++)
		for (int rerank = 0; rerank <= 1; rerank++) {
			rec_item a[10], b[10];
			rec_request r = request(model_id(models[mi]), rerank, 10);
			size_t na = run(eng, &r, a, NULL);
			r.mood = "energy=0.05";
			size_t nb = run(eng, &r, b, NULL);
			assert_int_equal(nb, 10);
			double ea = mean_energy(a, na), eb = mean_energy(b, nb);
			if (!(eb < ea - 0.05))
				fail_msg("%s rerank %d: mean energy %.3f with the mood, %.3f without", models[mi],
				         rerank, eb, ea);
			/* "Fits the mood" only for picks near it: within 0.5 sd of
			 * energy 0.05 (one named feature: RMS is the distance). */
			const feat_spec *sp = engine_spec(eng);
			for (size_t i = 0; i < nb; i++) {
				int32_t row = ds->track_row[b[i].track];
				double e = row >= 0 ? ds->raw[(size_t)row * SNAP__COLS + SNAP_ENERGY] : NAN;
				int close = !isnan(e) &&
				            fabs(e - 0.05) <= 0.5 * sp->sd[FD_ENERGY] / sp->w.audio[FD_ENERGY] + 1e-4;
				int far = isnan(e) ||
				          fabs(e - 0.05) > 0.5 * sp->sd[FD_ENERGY] / sp->w.audio[FD_ENERGY] - 1e-4;
				if (b[i].reasons & REASON_MOOD)
					assert_true(close);
				else
					assert_true(far);
			}
			/* Without a mood, no pick claims it. */
			for (size_t i = 0; i < na; i++)
				assert_false(a[i].reasons & REASON_MOOD);
		}
}

/* 1 when the content row has the genre called `name` (any of its genres). */
static int row_has_genre(int32_t row, const char *name)
{
	for (uint32_t k = ds->genre_ptr[row]; k < ds->genre_ptr[row + 1]; k++)
		if (strcmp(ds->genre_names[ds->genre_idx[k]], name) == 0)
			return 1;
	return 0;
}

static void test_new_genre_only_when_new(void **state)
{
	(void)state;
	size_t claims = 0, sets = 0;
	for (size_t p = 0; p < ds->P && sets < 60; p++) {
		const int64_t *tr = ds->pl_tracks + ds->pl_ptr[p];
		if (ds->pl_ptr[p + 1] - ds->pl_ptr[p] < 2)
			continue;
		int64_t seeds[2] = {tr[0], tr[1]};
		if (seeds[0] == seeds[1])
			continue;
		sets++;
		for (int rerank = 0; rerank <= 1; rerank++) {
			rec_item it[20];
			rec_request r = request(model_id("hybrid"), rerank, 20);
			r.seeds = seeds;
			r.nseeds = 2;
			r.nexclude = 0;
			size_t n = run(eng, &r, it, NULL);
			const char *names[2] = {"A", "B"};
			for (size_t i = 0; i < n; i++) {
				if (!(it[i].reasons & REASON_NEW_GENRE))
					continue;
				claims++;
				char text[1024];
				rec_reason_text(eng, &it[i], names, 2, text, sizeof text);
				const char *g = strstr(text, "from a genre new to your seeds (");
				assert_non_null(g);
				g += strlen("from a genre new to your seeds (");
				const char *end = strchr(g, ')');
				assert_non_null(end);
				char genre[128];
				snprintf(genre, sizeof genre, "%.*s", (int)(end - g), g);
				/* The pick has it, and no seed does. */
				assert_true(row_has_genre(ds->track_row[it[i].track], genre));
				for (int s = 0; s < 2; s++) {
					int32_t row = ds->track_row[seeds[s]];
					assert_true(row >= 0);
					if (row_has_genre(row, genre))
						fail_msg("'%s' claimed new, but seed %" PRId64 " has it", genre,
						         seeds[s]);
				}
			}
		}
	}
	assert_true(sets > 10);
	assert_true(claims > 0);
}

/* ---- a model registered at run time ---- */

/* "constant" is testutil's tu_constant_model. */

/* "delegate": asks another recommender by name, as the hybrid does. */
static int delegate_target_missing;
static int delegate_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state;
	return rec_query_propose(q, delegate_target_missing ? "no-such-model" : "content", want, pool, err);
}

static const recommender delegate = {
	.name = "delegate",
	.description = "content, by way of rec_query_propose (a test model)",
	.flags = REC_NEEDS_QUERY,
	.propose = delegate_propose,
};

/* ---- the hybrid's blend ---- */

/* The hybrid asked to weigh one kind of evidence only ranks as the model
 * that gives it (each model's own scores, scaled over the pool, keep their
 * order). */
static void check_hybrid_is(const engine *e, const rec_request *hr, const char *model)
{
	rec_item a[20], b[20];
	rec_request r = request(model_id(model), 0, 20);
	size_t n = run(e, &r, a, NULL);
	assert_true(n >= 5);
	assert_int_equal(run(e, hr, b, NULL), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(b[i].track, a[i].track);
}

static void test_hybrid_weights(void **state)
{
	(void)state;
	/* EASE and RP3beta were trained into the artifact and say so. */
	rec_item a[20];
	const char *meta = engine_meta_json(eng);
	assert_non_null(strstr(meta, "\"ease\""));
	assert_non_null(strstr(meta, "\"rp3\""));
	for (int m = 0; m < 2; m++) {
		rec_request r = request(model_id(m ? "rp3beta" : "ease"), 0, 20);
		size_t n = run(eng, &r, a, NULL);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++) {
			assert_true(isnan(a[i].content)); /* CF only: no content evidence */
			assert_true(a[i].reasons & REASON_CF);
		}
	}
	/* Per request: one kind of evidence at a time. */
	static const struct {
		hybrid_weights w;
		const char *model;
	} one[] = {
		{{.cooc = 1}, "cooc"},
		{{.als = 1}, "als"},
		{{.ease = 1}, "ease"},
		{{.rp3 = 2}, "rp3beta"},
	};
	for (size_t k = 0; k < sizeof one / sizeof *one; k++) {
		rec_request r = request(model_id("hybrid"), 0, 20);
		r.hybrid = &one[k].w;
		check_hybrid_is(eng, &r, one[k].model);
	}
	/* Weights that are not >= 0 with a positive sum are refused. */
	static const hybrid_weights negative = {.content = 1, .als = -0.5f}, zero = {0};
	rec_request bad = request(model_id("hybrid"), 0, 20);
	size_t nbad;
	seg_error berr = {0};
	bad.hybrid = &negative;
	assert_int_equal(engine_recommend(eng, &bad, a, &nbad, NULL, &berr), SEG_EINVAL);
	bad.hybrid = &zero;
	assert_int_equal(engine_recommend(eng, &bad, a, &nbad, NULL, &berr), SEG_EINVAL);
	assert_non_null(strstr(berr.msg, "hybrid's weights"));
	/* The artifact's: a model trained with the blend {als: 1} serves ALS's
	 * order when the request names no weights. */
	train_options o;
	train_options_default(&o);
	o.workspace = ws;
	o.verbose = 0;
	o.clusters = 4;
	o.factors = 8;
	o.als_iterations = 3;
	o.quality_rounds = 10;
	o.cv_folds = 3;
	o.ease_items = 0; /* no EASE: the hybrid must cope with its absence */
	o.hybrid = (hybrid_weights){.als = 1};
	char version[32], path[PATH_MAX + 64];
	seg_error err = {0};
	assert_int_equal(train_run(&o, version, sizeof version, &err), 0);
	assert_int_equal(train_model_path(ws, version, path, sizeof path, &err), 0);
	engine *e2 = NULL;
	assert_int_equal(engine_open(&e2, path, &err), 0);
	rec_request r = request(model_id("hybrid"), 0, 20);
	check_hybrid_is(e2, &r, "als");
	/* ...and a request's weights still win over the artifact's. */
	static const hybrid_weights cooc_only = {.cooc = 1};
	r.hybrid = &cooc_only;
	check_hybrid_is(e2, &r, "cooc");
	/* Without EASE in the artifact, "ease" proposes nothing. */
	r = request(model_id("ease"), 0, 20);
	const char *shortfall = NULL;
	assert_int_equal(run(e2, &r, a, &shortfall), 0);
	engine_free(e2);
	/* Weights that are not >= 0 with a positive sum are refused by train. */
	o.hybrid = (hybrid_weights){.content = -1, .als = 2};
	assert_int_equal(train_run(&o, version, sizeof version, &err), SEG_EINVAL);
}

static void test_registered_model(void **state)
{
	(void)state;
	seg_error err = {0};
	int before = (int)recommender_count();
	int id = tu_register_constant();
	assert_int_equal(id, before);
	int did = recommender_register(&delegate, &err);
	assert_int_equal(did, id + 1);
	rec_item a[12], b[12];
	size_t n;
	/* The engine opened before does not know it. */
	rec_request r = request(id, 0, 12);
	assert_int_equal(engine_recommend(eng, &r, a, &n, NULL, &err), SEG_EINVAL);
	/* One opened after does: the first known tracks, seeds and known ones
	 * left out, with the model's own reason. */
	engine *e2 = NULL;
	assert_int_equal(engine_open(&e2, model_path, &err), 0);
	assert_int_equal(run(e2, &r, a, NULL), 12);
	int64_t t = 1;
	for (size_t i = 0; i < 12; i++, t++) {
		for (;;) {
			int skip = engine_row_of(e2, t) < 0 && engine_playlist_count(e2, t) == 0;
			for (int s = 0; s < 3; s++)
				skip |= t == cf_seeds[s] || (s < 2 && t == cf_known[s]);
			if (!skip)
				break;
			t++;
		}
		assert_int_equal(a[i].track, t);
		assert_true(a[i].reasons & REASON_POPULAR);
	}
	/* It needs no seed. */
	r.nseeds = 0;
	assert_int_equal(run(e2, &r, a, NULL), 12);
	/* Re-ranked, it still respects the engine's guarantees. */
	r = request(id, 1, 12);
	assert_int_equal(run(e2, &r, a, NULL), 12);
	for (size_t i = 0; i < 12; i++)
		for (int s = 0; s < 3; s++)
			assert_true(a[i].track != cf_seeds[s]);
	/* Delegating by name gives what the named model gives; an unknown name
	 * is refused. */
	r = request(did, 0, 12);
	rec_request rc = request(model_id("content"), 0, 12);
	assert_int_equal(run(e2, &r, a, NULL), 12);
	assert_int_equal(run(e2, &rc, b, NULL), 12);
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(a[i].track, b[i].track);
	delegate_target_missing = 1;
	assert_int_equal(engine_recommend(e2, &r, a, &n, NULL, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "no-such-model"));
	delegate_target_missing = 0;
	engine_free(e2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_model_returns_candidates),
		cmocka_unit_test(test_k_and_shortfall),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_baselines),
		cmocka_unit_test(test_content_and_hybrid),
		cmocka_unit_test(test_mood_with_seeds),
		cmocka_unit_test(test_new_genre_only_when_new),
		cmocka_unit_test(test_hybrid_weights),
		cmocka_unit_test(test_registered_model), /* last: it adds to the registry */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
