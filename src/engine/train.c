/* train.c: `segue train` (see train.h).
 *
 * Legend: N content rows (tracks with audio features), D content dimensions,
 * K clusters, T track ids, I CF items (tracks in training playlists), F factors,
 * Q quality-model inputs. */
#include "engine/train.h"

#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "models/cf.h"
#include "core/array.h"
#include "core/parallel.h"
#include "core/strmap.h"
#include "models/ease.h"
#include "models/rp3.h"
#include "engine/recommender.h"
#include "engine/dataset.h"
#include "engine/recommender.h"
#include "models/featvec.h"
#include "models/kmeans.h"
#include "models/knn.h"
#include "core/container.h"
#include "models/pca.h"
#include "core/progress.h"
#include "models/quality.h"
#include "catalog/catalog.h"
#include "catalog/lookup.h"
#include "catalog/snapshot.h"
#include "catalog/workspace.h"

void train_options_default(train_options *o)
{
	memset(o, 0, sizeof(*o));
	o->clusters = 12;
	o->factors = 64;
	o->als_iterations = 15;
	o->quality_rounds = 120;
	o->cv_folds = 5;
	/* The modules' defaults, chosen on the validation split. */
	ease_opts eo;
	ease_opts_default(&eo);
	o->ease_lambda = eo.lambda;
	o->ease_items = eo.max_items;
	o->ease_neighbours = eo.neighbours;
	rp3_opts ro;
	rp3_opts_default(&ro);
	o->rp3_alpha = ro.alpha;
	o->rp3_beta = ro.beta;
	o->rp3_neighbours = ro.neighbours;
	/* The blend that scored best on the validation split: ALS and RP3beta,
	 * with a little content to order what they leave level. */
	o->hybrid = (hybrid_weights){.content = 0.1f, .cooc = 0, .als = 0.45f, .ease = 0, .rp3 = 0.45f};
	o->verbose = 1;
	o->out = stdout;
	o->seed = 42;
	o->als_alpha = 40.0f;
	o->als_lambda = 0.1f;
	o->cooc_neighbours = 100;
}

/* Raw snapshot columns the quality model reads, then the genre block. */
/* clang-format off */
static const int QUALITY_COLS[] = {
	SNAP_DANCEABILITY, SNAP_ENERGY, SNAP_KEY, SNAP_LOUDNESS, SNAP_MODE, SNAP_SPEECHINESS,
	SNAP_ACOUSTICNESS, SNAP_INSTRUMENTALNESS, SNAP_LIVENESS, SNAP_VALENCE, SNAP_TEMPO,
	SNAP_TIME_SIGNATURE, SNAP_DURATION_MS, SNAP_YEAR,
};
/* clang-format on */
#define NQCOLS (sizeof QUALITY_COLS / sizeof *QUALITY_COLS)

static void say(const train_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const train_options *o, const char *fmt, ...)
{
	if (!o->verbose || o->out == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(o->out, fmt, ap);
	va_end(ap);
	fflush(o->out);
}

int train_model_path(const char *workspace, const char *name, char *path, size_t cap, seg_error *err)
{
	if (name != NULL && strchr(name, '/') != NULL) {
		if ((size_t)snprintf(path, cap, "%s", name) >= cap)
			return seg_error_set(err, SEG_EINVAL, "model path too long: %s", name);
		return 0;
	}
	int v;
	if (name == NULL) {
		if ((v = workspace_models_latest(workspace, err)) < 0)
			return v;
	} else if ((v = workspace_version_parse(name)) == 0) {
		return seg_error_set(err, SEG_EINVAL,
		                     "'%s' is not a model version (v1 to v%d) nor a path to a model file", name,
		                     WORKSPACE_VERSION_MAX);
	}
	int rc = workspace_model_file(workspace, v, path, cap, err);
	if (rc < 0)
		return rc;
	if (name != NULL && access(path, F_OK) != 0)
		return seg_error_set(err, SEG_ENOTFOUND, "there is no model %s in %s/%s; `segue train` makes a new one",
		                     name, workspace, workspace_file_name(WS_MODELS));
	return 0;
}

typedef struct built {
	feat_spec spec;
	size_t N, D;
	float *vec;  /* [N][D] content vectors before normalising */
	float *unit; /* [N][D] unit length */
	float *norm; /* [N] lengths before normalising */
	float *pop;  /* [N] */
	int K;
	float *centroids; /* [K][D] */
	int32_t *labels;  /* [N] */
	char *words;      /* K strings back to back */
	size_t words_len;
	float *xy;       /* [N][2] */
	float *pca_blob; /* [D] mean + [2][D] components */
	float *qpred;    /* [N] */
	void *xgb;       /* model bytes */
	size_t xgb_len;
	int64_t *cf_track; /* [I] */
	int32_t I;
	cf_cooc *cooc;
	cf_als *als;
	struct title_index *title; /* the title model's index, or NULL */
	cf_csr ui, iu;             /* [U][I] training playlists and the transpose, from build_cf */
	cf_cooc *ease;             /* EASE's top-K weights per item (its form is cf_cooc's) */
	cf_cooc *rp3;              /* RP3beta's top-K neighbours per item */
	json_t *meta;
	uint64_t *song; /* [T] song key per track id (build_track_facts) */
	uint16_t *year; /* [T] release year per track id, 0 unknown */
	/* Borrowed from the dataset, or from a mapped features part: */
	size_t T;                    /* track ids 0..T-1 */
	const int64_t *row_track;    /* [N] track id of each content row */
	const int32_t *track_artist; /* [T] */
	const uint32_t *track_pop;   /* [T] */
} built;

/* The title model's index (rec_title.c reads it; sections MS_TITLE_*).
 * Legend: V words, L training playlists with a titled word. */
typedef struct title_index {
	size_t V, L;
	char *vocab; /* V words, NUL-terminated, sorted, back to back */
	size_t vocab_len;
	uint32_t *word_off; /* [V] */
	float *idf;         /* [V] */
	uint32_t *word_ptr; /* [V+1] */
	uint32_t *word_pl;  /* [word_ptr[V]] */
	uint32_t *pl_ptr;   /* [L+1] */
	int32_t *pl_track;  /* [pl_ptr[L]] */
} title_index;

static void title_index_free(title_index *x)
{
	if (x == NULL)
		return;
	free(x->vocab);
	free(x->word_off);
	free(x->idf);
	free(x->word_ptr);
	free(x->word_pl);
	free(x->pl_ptr);
	free(x->pl_track);
	free(x);
}

static void built_free(built *b)
{
	free(b->vec);
	free(b->unit);
	free(b->norm);
	free(b->pop);
	free(b->centroids);
	free(b->labels);
	free(b->words);
	free(b->xy);
	free(b->pca_blob);
	free(b->qpred);
	free(b->xgb);
	free(b->cf_track);
	cf_cooc_free(b->cooc);
	cf_als_free(b->als);
	title_index_free(b->title);
	cf_csr_free(&b->ui);
	cf_csr_free(&b->iu);
	cf_cooc_free(b->ease);
	cf_cooc_free(b->rp3);
	json_decref(b->meta);
	free(b->song);
	free(b->year);
}

/* ---- content vectors ---- */

static int build_content(const dataset *ds, built *b, const train_options *o, seg_error *err)
{
	size_t G = ds->G < FEAT_MAX_GENRES ? ds->G : FEAT_MAX_GENRES;
	int rc = feat_fit(&b->spec, ds->raw, ds->N, (const char *const *)ds->genre_names, G, NULL, err);
	if (rc < 0)
		return rc;
	b->N = ds->N;
	b->D = b->spec.dim;
	b->T = (size_t)ds->T;
	b->row_track = ds->row_track;
	b->track_artist = ds->track_artist;
	b->track_pop = ds->track_pop;
	b->vec = malloc(sizeof(float) * b->N * b->D);
	b->unit = malloc(sizeof(float) * b->N * b->D);
	b->pop = malloc(sizeof(float) * (b->N ? b->N : 1));
	b->norm = malloc(sizeof(float) * (b->N ? b->N : 1));
	if (!b->vec || !b->unit || !b->pop || !b->norm)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %zu content vectors", b->N);
	for (size_t i = 0; i < b->N; i++) {
		const int32_t *g = ds->genre_idx + ds->genre_ptr[i];
		int ng = (int)(ds->genre_ptr[i + 1] - ds->genre_ptr[i]);
		feat_transform(&b->spec, ds->raw + i * SNAP__COLS, g, ng, b->vec + i * b->D);
		memcpy(b->unit + i * b->D, b->vec + i * b->D, sizeof(float) * b->D);
		b->norm[i] = knn_vec_normalize(b->unit + i * b->D, b->D);
		b->pop[i] = ds->raw[i * SNAP__COLS + SNAP_POPULARITY];
	}
	say(o, "content: %zu tracks x %zu dimensions (%u genres in the genre block)\n", b->N, b->D, b->spec.ngenres);
	json_object_set_new(b->meta, "content",
	                    json_pack("{s:I,s:I,s:I}", "tracks", (json_int_t)b->N, "dims", (json_int_t)b->D, "genres",
	                              (json_int_t)b->spec.ngenres));
	return 0;
}

/* ---- sonic map ---- */

static int build_map(built *b, const train_options *o, seg_error *err)
{
	double t0 = progress_now();
	int K = o->clusters;
	if ((size_t)K > b->N)
		K = (int)b->N;
	b->K = K;
	b->centroids = malloc(sizeof(float) * (size_t)K * b->D);
	b->labels = malloc(sizeof(int32_t) * b->N);
	if (!b->centroids || !b->labels)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	kmeans_params kp;
	kmeans_params_default(&kp);
	kp.k = K;
	kp.n_init = 4;
	kp.seed = o->seed;
	kmeans_info info;
	int rc = kmeans_fit(b->vec, b->N, (int)b->D, &kp, b->centroids, b->labels, &info, err);
	if (rc < 0)
		return rc;
	/* Describe each centroid: audio dimensions back in z units, then its genre. */
	size_t cap = (size_t)K * 256;
	b->words = calloc(cap, 1);
	if (b->words == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	json_t *clusters = json_array();
	size_t *sizes = calloc((size_t)K, sizeof(size_t));
	for (size_t i = 0; sizes && i < b->N; i++)
		sizes[b->labels[i]]++;
	for (int k = 0; k < K; k++) {
		const float *c = b->centroids + (size_t)k * b->D;
		float z[FD_GENRE0];
		const char *names[FD_GENRE0];
		int nz = 0;
		for (int d = 0; d < FD_GENRE0; d++) {
			if (d == FD_KEY_X || d == FD_KEY_Y)
				continue; /* a mean angle says little */
			float w = d < FD_KEY_X   ? b->spec.w.audio[d]
			          : d == FD_MODE ? b->spec.w.mode
			                         : b->spec.w.duration;
			z[nz] = w > 0 ? c[d] / w : 0;
			names[nz++] = feat_dim_names[d];
		}
		char text[200];
		kmeans_describe(z, names, nz, 0.5, 3, text, sizeof text, NULL);
		int gbest = -1;
		float gval = 0;
		for (uint32_t g = 0; g < b->spec.ngenres; g++)
			if (c[FD_GENRE0 + g] > gval) {
				gval = c[FD_GENRE0 + g];
				gbest = (int)g;
			}
		char full[256];
		if (gbest >= 0 && gval > 0.25f * b->spec.w.genre)
			snprintf(full, sizeof full, "%s; mostly %s", text, b->spec.genres[gbest]);
		else
			snprintf(full, sizeof full, "%s", text);
		size_t len = strlen(full);
		if (b->words_len + len + 1 <= cap) {
			memcpy(b->words + b->words_len, full, len + 1);
			b->words_len += len + 1;
		}
		json_array_append_new(clusters, json_pack("{s:i,s:I,s:s}", "cluster", k, "tracks",
		                                          (json_int_t)(sizes ? sizes[k] : 0), "description", full));
		say(o, "  cluster %2d (%6zu tracks): %s\n", k, sizes ? sizes[k] : 0, full);
	}
	free(sizes);
	/* The 2-D map. */
	pca_model pm;
	if ((rc = pca_fit(b->vec, b->N, (int)b->D, 2, &pm, err)) < 0)
		return rc;
	b->xy = malloc(sizeof(float) * b->N * 2);
	b->pca_blob = malloc(sizeof(float) * b->D * 3);
	if (!b->xy || !b->pca_blob) {
		pca_model_free(&pm);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	rc = pca_transform(&pm, b->vec, b->N, b->xy, err);
	for (size_t d = 0; d < b->D; d++)
		b->pca_blob[d] = (float)pm.mean[d];
	memcpy(b->pca_blob + b->D, pm.components, sizeof(float) * 2 * b->D);
	double evr0 = pm.explained_variance_ratio[0], evr1 = pm.explained_variance_ratio[1];
	pca_model_free(&pm);
	if (rc < 0)
		return rc;
	say(o, "sonic map: k-means K=%d inertia %.1f (%d iterations), PCA explains %.1f%% + %.1f%% (%.2f s)\n", K,
	    info.inertia, info.iterations, 100 * evr0, 100 * evr1, progress_now() - t0);
	json_object_set_new(b->meta, "map",
	                    json_pack("{s:i,s:f,s:i,s:[f,f],s:o}", "k", K, "inertia", info.inertia, "iterations",
	                              info.iterations, "pca_explained", evr0, evr1, "clusters", clusters));
	return 0;
}

/* ---- quality prior ---- */

static int build_quality(const dataset *ds, built *b, const train_options *o, seg_error *err)
{
	double t0 = progress_now();
	size_t G = b->spec.ngenres, Q = NQCOLS + G, N = b->N;
	float *X = malloc(sizeof(float) * N * Q);
	b->qpred = malloc(sizeof(float) * (N ? N : 1));
	if (!X || !b->qpred) {
		free(X);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	size_t known = 0;
	for (size_t i = 0; i < N; i++) {
		float *x = X + i * Q;
		for (size_t c = 0; c < NQCOLS; c++)
			x[c] = ds->raw[i * SNAP__COLS + (size_t)QUALITY_COLS[c]];
		for (size_t g = 0; g < G; g++)
			x[NQCOLS + g] = 0;
		for (uint32_t p = ds->genre_ptr[i]; p < ds->genre_ptr[i + 1]; p++)
			if (ds->genre_idx[p] >= 0 && (size_t)ds->genre_idx[p] < G)
				x[NQCOLS + (size_t)ds->genre_idx[p]] = 1;
		known += !isnan(b->pop[i]);
	}
	int rc = 0;
	quality_params qp;
	quality_params_default(&qp);
	qp.rounds = o->quality_rounds;
	qp.nthread = parallel_workers(0);
	if (known < 50) {
		say(o, "quality prior: skipped, only %zu tracks have a popularity\n", known);
		for (size_t i = 0; i < N; i++)
			b->qpred[i] = NAN;
		json_object_set_new(b->meta, "quality", json_pack("{s:b}", "trained", 0));
		free(X);
		return 0;
	}
	quality_cv_opts co = {.k = (unsigned)o->cv_folds, .seed = 7, .ridge_alpha = 1.0};
	quality_cv_report cv;
	memset(&cv, 0, sizeof cv);
	cv.n = known;
	if (!o->skip_quality_cv && (rc = quality_cv_run(X, b->pop, N, Q, &qp, &co, &cv, err)) < 0)
		goto out;
	quality_model *qm = NULL;
	if ((rc = quality_model_train(&qm, X, b->pop, N, Q, &qp, err)) < 0)
		goto out;
	if ((rc = quality_model_predict(qm, X, N, Q, b->qpred, err)) < 0 ||
	    (rc = quality_model_save(qm, &b->xgb, &b->xgb_len, err)) < 0) {
		quality_model_free(qm);
		goto out;
	}
	quality_model_free(qm);
	static const char *const names[QUALITY_CV__COUNT] = {"xgboost", "mean", "ridge"};
	json_t *jcv = json_object();
	say(o, "quality prior: %zu tracks with popularity, %u-fold CV%s\n", cv.n, cv.k,
	    o->skip_quality_cv ? " skipped" : ":");
	for (int m = 0; m < QUALITY_CV__COUNT && !o->skip_quality_cv; m++) {
		const quality_cv_score *s = &cv.model[m];
		say(o, "  %-8s R^2 %6.3f +- %.3f   MAE %6.2f +- %.2f\n", names[m], s->r2_mean, s->r2_std, s->mae_mean,
		    s->mae_std);
		json_object_set_new(jcv, names[m],
		                    json_pack("{s:f,s:f,s:f,s:f}", "r2", s->r2_mean, "r2_std", s->r2_std, "mae",
		                              s->mae_mean, "mae_std", s->mae_std));
	}
	say(o, "  (%.2f s)\n", progress_now() - t0);
	json_object_set_new(b->meta, "quality",
	                    json_pack("{s:b,s:I,s:i,s:i,s:o}", "trained", 1, "tracks", (json_int_t)cv.n, "folds", cv.k,
	                              "rounds", qp.rounds, "cv", jcv));
out:
	free(X);
	return rc;
}

/* ---- collaborative filtering ---- */

/* The training playlists as a U x I matrix (b->ui) and its transpose
 * (b->iu), and the track id of each CF item (b->cf_track, b->I): the input
 * of co-occurrence, ALS, EASE and RP3beta. No training playlist: b->I is 0
 * and the matrices are empty. */
static int build_cf_matrix(const dataset *ds, built *b, seg_error *err)
{
	int rc = 0;
	int32_t *item_of = malloc(sizeof(int32_t) * (size_t)ds->T);
	size_t ne = ds->pl_ptr[ds->P];
	int32_t *ru = malloc(sizeof(int32_t) * (ne ? ne : 1)), *ri = malloc(sizeof(int32_t) * (ne ? ne : 1));
	b->cf_track = malloc(sizeof(int64_t) * (size_t)(ds->T ? ds->T : 1));
	cf_csr ui = {0}, iu = {0};
	if (!item_of || !ru || !ri || !b->cf_track) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (int64_t t = 0; t < ds->T; t++)
		item_of[t] = -1;
	size_t n = 0;
	int32_t U = 0;
	for (size_t p = 0; p < ds->P; p++) {
		if (ds->pl_split[p] != CATALOG_SPLIT_TRAIN)
			continue;
		for (uint32_t e = ds->pl_ptr[p]; e < ds->pl_ptr[p + 1]; e++) {
			int64_t t = ds->pl_tracks[e];
			if (t <= 0 || t >= ds->T)
				continue;
			if (item_of[t] < 0) {
				item_of[t] = b->I;
				b->cf_track[b->I++] = t;
			}
			ru[n] = U;
			ri[n] = item_of[t];
			n++;
		}
		U++;
	}
	if (b->I == 0 || U == 0) {
		b->I = 0;
		goto out;
	}
	if ((rc = cf_csr_from_pairs(&ui, U, b->I, ru, ri, NULL, n, CF_DUP_ONE, err)) < 0 ||
	    (rc = cf_csr_transpose(&ui, &iu, err)) < 0)
		goto out;
	b->ui = ui;
	b->iu = iu;
	memset(&ui, 0, sizeof ui);
	memset(&iu, 0, sizeof iu);
out:
	cf_csr_free(&ui);
	cf_csr_free(&iu);
	free(item_of);
	free(ru);
	free(ri);
	return rc;
}

/* Item co-occurrence and implicit ALS on build_cf_matrix's matrices. */
static int build_cf(built *b, const train_options *o, seg_error *err)
{
	double t0 = progress_now();
	int rc = 0;
	if (b->I == 0 || b->ui.nnz == 0) {
		say(o, "collaborative filtering: skipped, no training playlists\n");
		json_object_set_new(b->meta, "cf", json_pack("{s:b}", "trained", 0));
		return 0;
	}
	const cf_csr *ui = &b->ui, *iu = &b->iu;
	int32_t U = ui->nrows;
	cf_cooc_opts co;
	cf_cooc_opts_default(&co);
	co.topm = o->cooc_neighbours;
	if ((rc = cf_cooc_build(ui, iu, &co, &b->cooc, err)) < 0)
		return rc;
	double t1 = progress_now();
	say(o, "co-occurrence: %d playlists x %d tracks, %lld entries, top-%d neighbours (%.2f s)\n", U, b->I,
	    (long long)ui->nnz, co.topm, t1 - t0);
	cf_als_opts ao;
	cf_als_opts_default(&ao);
	ao.factors = o->factors;
	ao.iterations = o->als_iterations;
	ao.alpha = o->als_alpha;
	ao.lambda = o->als_lambda;
	ao.seed = o->seed;
	double *losses = calloc((size_t)ao.iterations, sizeof(double));
	if (losses == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if ((rc = cf_als_fit(ui, iu, &ao, &b->als, losses, err)) < 0) {
		free(losses);
		return rc;
	}
	double secs = progress_now() - t1;
	say(o, "implicit ALS: %d factors, %d iterations, %.2f s per iteration, loss %.4g -> %.4g\n", ao.factors,
	    ao.iterations, secs / ao.iterations, losses[0], losses[ao.iterations - 1]);
	json_t *jl = json_array();
	for (int i = 0; i < ao.iterations; i++)
		json_array_append_new(jl, json_real(losses[i]));
	free(losses);
	json_object_set_new(b->meta, "cf",
	                    json_pack("{s:b,s:i,s:i,s:I,s:i,s:i,s:i,s:f,s:o}", "trained", 1, "playlists", U, "tracks",
	                              b->I, "entries", (json_int_t)ui->nnz, "cooc_topm", co.topm, "factors", ao.factors,
	                              "iterations", ao.iterations, "als_seconds_per_iteration", secs / ao.iterations,
	                              "als_loss", jl));
	return rc;
}

/* ---- the title model ---- */

static int cmp_word(const void *a, const void *b, void *ctx)
{
	const char(*text)[REC_TITLE_WORD_MAX] = ctx;
	return strcmp(text[*(const uint32_t *)a], text[*(const uint32_t *)b]);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* The word -> training playlists index of the title model, and the tracks
 * of those playlists (rec_title.c states the rule it serves). Only the
 * training split's titles and tracks go in. */
static int build_title(const dataset *ds, built *b, const train_options *o, seg_error *err)
{
	double t0 = progress_now();
	int rc = 0;
	title_index *x = calloc(1, sizeof(*x));
	strmap *ids = strmap_create();
	char(*text)[REC_TITLE_WORD_MAX] = NULL; /* [nw] the words as first met */
	uint32_t *pair_w = NULL, *pair_l = NULL, *lp = NULL, *order = NULL, *rank = NULL;
	size_t cap_text = 0, cap_pair = 0, cap_pair_l = 0, cap_lp = 0, npair = 0, nw = 0;
	if (x == NULL || ids == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t p = 0; p < ds->P; p++) {
		if (ds->pl_split[p] != CATALOG_SPLIT_TRAIN || ds->pl_name[p] == NULL)
			continue;
		char words[REC_TITLE_WORDS_MAX][REC_TITLE_WORD_MAX];
		size_t n = rec_title_words(ds->pl_name[p], words, REC_TITLE_WORDS_MAX);
		if (n == 0)
			continue;
		uint32_t *g = array_grow(lp, &cap_lp, x->L + 1, sizeof(uint32_t), 1024);
		if (g == NULL)
			goto oom;
		lp = g;
		lp[x->L] = (uint32_t)p;
		for (size_t i = 0; i < n; i++) {
			int64_t id;
			if (!strmap_get(ids, words[i], &id)) {
				void *t = array_grow(text, &cap_text, nw + 1, REC_TITLE_WORD_MAX, 1024);
				if (t == NULL)
					goto oom;
				text = t;
				memcpy(text[nw], words[i], REC_TITLE_WORD_MAX);
				id = (int64_t)nw++;
				if (strmap_put(ids, words[i], id) < 0)
					goto oom;
			}
			uint32_t *pw = array_grow(pair_w, &cap_pair, npair + 1, sizeof(uint32_t), 4096);
			if (pw == NULL)
				goto oom;
			pair_w = pw;
			uint32_t *pl = array_grow(pair_l, &cap_pair_l, npair + 1, sizeof(uint32_t), 4096);
			if (pl == NULL)
				goto oom;
			pair_l = pl;
			pair_w[npair] = (uint32_t)id;
			pair_l[npair++] = (uint32_t)x->L;
		}
		x->L++;
	}
	/* The vocabulary in strcmp order, for the binary search of a request. */
	x->V = nw;
	order = malloc(sizeof(uint32_t) * (nw ? nw : 1));
	rank = malloc(sizeof(uint32_t) * (nw ? nw : 1));
	x->word_off = malloc(sizeof(uint32_t) * (nw ? nw : 1));
	x->idf = malloc(sizeof(float) * (nw ? nw : 1));
	x->word_ptr = calloc(nw + 1, sizeof(uint32_t));
	x->word_pl = malloc(sizeof(uint32_t) * (npair ? npair : 1));
	x->vocab = malloc(nw * REC_TITLE_WORD_MAX + 1);
	x->pl_ptr = calloc(x->L + 1, sizeof(uint32_t));
	if (!order || !rank || !x->word_off || !x->idf || !x->word_ptr || !x->word_pl || !x->vocab || !x->pl_ptr)
		goto oom;
	for (size_t w = 0; w < nw; w++)
		order[w] = (uint32_t)w;
	qsort_r(order, nw, sizeof(uint32_t), cmp_word, text);
	for (size_t v = 0; v < nw; v++) {
		rank[order[v]] = (uint32_t)v;
		size_t len = strlen(text[order[v]]);
		x->word_off[v] = (uint32_t)x->vocab_len;
		memcpy(x->vocab + x->vocab_len, text[order[v]], len + 1);
		x->vocab_len += len + 1;
	}
	for (size_t i = 0; i < npair; i++)
		x->word_ptr[rank[pair_w[i]] + 1]++;
	for (size_t v = 0; v < nw; v++) {
		uint32_t df = x->word_ptr[v + 1];
		x->idf[v] = (float)log(1.0 + (double)x->L / (double)df);
		x->word_ptr[v + 1] += x->word_ptr[v];
	}
	{
		/* Fill in pair order, so each word's playlists are ascending. */
		uint32_t *fill = calloc(nw ? nw : 1, sizeof(uint32_t));
		if (fill == NULL)
			goto oom;
		for (size_t i = 0; i < npair; i++) {
			uint32_t v = rank[pair_w[i]];
			x->word_pl[x->word_ptr[v] + fill[v]++] = pair_l[i];
		}
		free(fill);
	}
	/* Each playlist's distinct tracks, ascending. */
	size_t ne = 0;
	for (size_t l = 0; l < x->L; l++)
		ne += ds->pl_ptr[lp[l] + 1] - ds->pl_ptr[lp[l]];
	x->pl_track = malloc(sizeof(int32_t) * (ne ? ne : 1));
	if (x->pl_track == NULL)
		goto oom;
	ne = 0;
	for (size_t l = 0; l < x->L; l++) {
		size_t start = ne;
		for (uint32_t e = ds->pl_ptr[lp[l]]; e < ds->pl_ptr[lp[l] + 1]; e++) {
			int64_t t = ds->pl_tracks[e];
			if (t > 0 && t < ds->T && t <= INT32_MAX)
				x->pl_track[ne++] = (int32_t)t;
		}
		qsort(x->pl_track + start, ne - start, sizeof(int32_t), cmp_i32);
		size_t w = start;
		for (size_t i = start; i < ne; i++)
			if (i == start || x->pl_track[i] != x->pl_track[w - 1])
				x->pl_track[w++] = x->pl_track[i];
		ne = w;
		x->pl_ptr[l + 1] = (uint32_t)ne;
	}
	say(o, "title model: %zu words from the titles of %zu training playlists, %zu entries (%.2f s)\n", x->V, x->L,
	    ne, progress_now() - t0);
	json_object_set_new(b->meta, "title",
	                    json_pack("{s:I,s:I,s:I}", "words", (json_int_t)x->V, "playlists", (json_int_t)x->L,
	                              "entries", (json_int_t)ne));
	b->title = x;
	x = NULL;
	goto out;
oom:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
fail:
out:
	title_index_free(x);
	strmap_free(ids);
	free(text);
	free(pair_w);
	free(pair_l);
	free(lp);
	free(order);
	free(rank);
	return rc;
}

/* ---- song keys and years ---- */

/* Reads, per track id, the song key of its title and main artist
 * (lookup_song_key: its versions share it) and its release year, so that
 * the engine can keep a seed's other versions out of its answers and
 * filter by year without asking the catalogue per request. */
static int build_track_facts(const dataset *ds, built *b, seg_error *err)
{
	size_t T = (size_t)ds->T;
	catalog *c = NULL;
	sqlite3_stmt *q = NULL;
	int rc;
	b->song = calloc(T ? T : 1, sizeof(uint64_t));
	b->year = calloc(T ? T : 1, sizeof(uint16_t));
	if (b->song == NULL || b->year == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if ((rc = catalog_open(&c, ds->workspace, 0, err)) < 0)
		return rc;
	sqlite3 *db = catalog_db(c);
	if (sqlite3_prepare_v2(db,
	                       "SELECT t.id, t.name, t.year, (SELECT a.name FROM track_artists ta JOIN artists a"
	                       " ON a.id = ta.artist_id WHERE ta.track_id = t.id AND ta.position = 0)"
	                       " FROM tracks t WHERE t.id > 0 AND t.id < ?1",
	                       -1, &q, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot read the tracks' names: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(q, 1, (sqlite3_int64)T);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(q, 0);
		b->song[t] = lookup_song_key((const char *)sqlite3_column_text(q, 1),
		                             (const char *)sqlite3_column_text(q, 3));
		int y = sqlite3_column_type(q, 2) == SQLITE_NULL ? 0 : sqlite3_column_int(q, 2);
		b->year[t] = (uint16_t)(y > 0 && y < 65536 ? y : 0);
	}
	rc = rc == SQLITE_DONE ? 0
	                       : seg_error_set(err, SEG_EDB, "cannot read the tracks' names: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(q);
	catalog_close(c);
	return rc;
}

/* ---- EASE and RP3beta ---- */

/* EASE on the most frequent training tracks (build_cf's matrices). */
static int build_ease(built *b, const train_options *o, seg_error *err)
{
	if (b->ui.nnz == 0 || o->ease_items <= 0) {
		json_object_set_new(b->meta, "ease", json_pack("{s:b}", "trained", 0));
		return 0;
	}
	ease_opts eo;
	ease_opts_default(&eo);
	eo.lambda = o->ease_lambda;
	eo.max_items = o->ease_items;
	eo.neighbours = o->ease_neighbours;
	ease_info info;
	int rc = ease_fit(&b->ui, &b->iu, &eo, &b->ease, &info, err);
	if (rc < 0)
		return rc;
	double covered = info.entries ? (double)info.entries_covered / (double)info.entries : 0;
	say(o,
	    "EASE: %d tracks in the solve (cap %d, in >= %d playlists), %.1f%% of training entries, lambda %g, "
	    "top-%d weights; X^T X %.2f s, inverse %.2f s, cut %.2f s\n",
	    info.solved, eo.max_items, info.min_count, 100 * covered, eo.lambda, eo.neighbours, info.gram_seconds,
	    info.solve_seconds, info.select_seconds);
	json_object_set_new(b->meta, "ease",
	                    json_pack("{s:b,s:f,s:i,s:i,s:i,s:i,s:f,s:I,s:f,s:f}", "trained", 1, "lambda", eo.lambda,
	                              "items_cap", eo.max_items, "neighbours", eo.neighbours, "items", info.solved,
	                              "min_playlists", info.min_count, "entries_covered", covered, "weights",
	                              (json_int_t)b->ease->indptr[b->ease->nitems], "solve_seconds",
	                              info.gram_seconds + info.solve_seconds, "cut_seconds", info.select_seconds));
	return 0;
}

/* Bytes of memory this process may use: the machine's (MemTotal), or a
 * cgroup v2 limit on its group or an ancestor when lower; 0 when none can
 * be read. A fixed figure, not what is free now: what train builds must not
 * depend on what else runs (a pipeline runs stages side by side, and caches
 * each by its output). */
static uint64_t memory_limit(void)
{
	uint64_t limit = 0;
	char line[PATH_MAX];
	FILE *f = fopen("/proc/meminfo", "r");
	if (f != NULL) {
		unsigned long long kb;
		while (fgets(line, sizeof line, f) != NULL)
			if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
				limit = (uint64_t)kb * 1024;
				break;
			}
		fclose(f);
	}
	/* "0::/a/b" names the group: its memory.max and its ancestors' */
	char group[PATH_MAX] = "";
	if ((f = fopen("/proc/self/cgroup", "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL)
			if (strncmp(line, "0::", 3) == 0) {
				snprintf(group, sizeof group, "%s", line + 3);
				group[strcspn(group, "\n")] = '\0';
				break;
			}
		fclose(f);
	}
	for (int more = group[0] == '/'; more;) {
		char path[PATH_MAX + 64];
		unsigned long long max;
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", strcmp(group, "/") == 0 ? "" : group);
		FILE *fm = fopen(path, "r");
		if (fm != NULL) {
			if (fscanf(fm, "%llu", &max) == 1 && (limit == 0 || max < limit))
				limit = max; /* "max" (no limit) does not scan */
			fclose(fm);
		}
		char *slash = strrchr(group, '/');
		more = slash != NULL && slash != group;
		if (more)
			*slash = '\0';
	}
	return limit;
}

/* RP3beta on build_cf's matrices. Its lists grow with tracks x neighbours
 * (8 GB for 500 neighbours of 2M tracks), the largest thing train holds:
 * they are cut to what half the memory this process may use can hold, and
 * the cut is said and recorded, rather than the build failing or the
 * machine swapping. */
static int build_rp3(built *b, const train_options *o, seg_error *err)
{
	if (b->ui.nnz == 0 || o->rp3_neighbours <= 0) {
		json_object_set_new(b->meta, "rp3", json_pack("{s:b}", "trained", 0));
		return 0;
	}
	double t0 = progress_now();
	rp3_opts ro;
	rp3_opts_default(&ro);
	ro.alpha = o->rp3_alpha;
	ro.beta = o->rp3_beta;
	ro.neighbours = o->rp3_neighbours;
	uint64_t limit = memory_limit(), budget = limit / 2;
	int T = parallel_workers(ro.threads);
	if (limit > 0 && rp3_bytes(b->iu.nrows, ro.neighbours, T) > budget) {
		int32_t k = rp3_neighbours_within(ro.neighbours, b->iu.nrows, T, budget);
		if (k < 1)
			return seg_error_set(err, SEG_ENOMEM,
			                     "RP3beta over %d tracks needs %.1f GB even with one neighbour each, more "
			                     "than half of the %.1f GB this machine has (--rp3-neighbours 0 trains "
			                     "without it)",
			                     (int)b->iu.nrows, (double)rp3_bytes(b->iu.nrows, 1, T) / 1e9,
			                     (double)limit / 1e9);
		say(o,
		    "RP3beta: top-%d neighbours of %d tracks would need %.1f GB, more than half of the %.1f GB this "
		    "machine has: keeping top-%d\n",
		    ro.neighbours, (int)b->iu.nrows, (double)rp3_bytes(b->iu.nrows, ro.neighbours, T) / 1e9,
		    (double)limit / 1e9, (int)k);
		ro.neighbours = k;
	}
	int rc = rp3_fit(&b->ui, &b->iu, &ro, &b->rp3, err);
	if (rc < 0)
		return rc;
	double secs = progress_now() - t0;
	say(o, "RP3beta: alpha %g, beta %g, top-%d neighbours (%.2f s)\n", ro.alpha, ro.beta, ro.neighbours, secs);
	json_object_set_new(b->meta, "rp3",
	                    json_pack("{s:b,s:f,s:f,s:i,s:i,s:I,s:f}", "trained", 1, "alpha", ro.alpha, "beta", ro.beta,
	                              "neighbours", ro.neighbours, "neighbours_asked", o->rp3_neighbours, "weights",
	                              (json_int_t)b->rp3->indptr[b->rp3->nitems], "seconds", secs));
	return 0;
}

/* ---- writing ---- */

/* Adds a section borrowed, not copied (container_writer_borrow): what the
 * writers below add lives until the file is saved (the built model, a
 * mapped part file), so a model is not held twice while it is written.
 * A temporary (a JSON text, an array on the stack that goes out of scope
 * before the save) goes in through add_copy. */
static int add(container_writer *w, const char *name, const void *p, size_t size, int *rc, seg_error *err)
{
	if (*rc == 0)
		*rc = container_writer_borrow(w, name, p, size, err);
	return *rc;
}

static int add_copy(container_writer *w, const char *name, const void *p, size_t size, int *rc, seg_error *err)
{
	if (*rc == 0)
		*rc = container_writer_add(w, name, p, size, err);
	return *rc;
}

/* The sections of each part of the model, shared by the whole artifact
 * (write_model) and by the pipeline's part files (train_part_run). Each
 * writes what b holds of its part; the first failure sticks in *rc. */
static void put_features(container_writer *w, const built *b, int *rc, seg_error *err)
{
	size_t N = b->N, D = b->D, T = b->T;
	add(w, MS_FEAT_SPEC, &b->spec, sizeof b->spec, rc, err);
	add(w, MS_TRACK_ID, b->row_track, sizeof(int64_t) * N, rc, err);
	add(w, MS_VECTORS, b->unit, sizeof(float) * N * D, rc, err);
	add(w, MS_VECTOR_NORM, b->norm, sizeof(float) * N, rc, err);
	add(w, MS_POPULARITY, b->pop, sizeof(float) * N, rc, err);
	add(w, MS_TRACK_ARTIST, b->track_artist, sizeof(int32_t) * T, rc, err);
	add(w, MS_TRACK_POP, b->track_pop, sizeof(uint32_t) * T, rc, err);
	add(w, MS_TRACK_SONG, b->song, sizeof(uint64_t) * T, rc, err);
	add(w, MS_TRACK_YEAR, b->year, sizeof(uint16_t) * T, rc, err);
	if (b->I > 0)
		add(w, MS_CF_TRACK, b->cf_track, sizeof(int64_t) * (size_t)b->I, rc, err);
}

static void put_map(container_writer *w, const built *b, int *rc, seg_error *err)
{
	size_t N = b->N, D = b->D;
	add(w, MS_KM_CENTROIDS, b->centroids, sizeof(float) * (size_t)b->K * D, rc, err);
	add(w, MS_KM_LABELS, b->labels, sizeof(int32_t) * N, rc, err);
	add(w, MS_KM_WORDS, b->words, b->words_len, rc, err);
	add(w, MS_MAP_XY, b->xy, sizeof(float) * N * 2, rc, err);
	add(w, MS_PCA, b->pca_blob, sizeof(float) * D * 3, rc, err);
}

static void put_quality(container_writer *w, const built *b, int *rc, seg_error *err)
{
	add(w, MS_QUALITY_PRED, b->qpred, sizeof(float) * b->N, rc, err);
	if (b->xgb)
		add(w, MS_QUALITY_XGB, b->xgb, b->xgb_len, rc, err);
}

static void put_cf(container_writer *w, const built *b, int *rc, seg_error *err)
{
	size_t I = (size_t)b->I;
	if (b->cooc != NULL) {
		size_t nnz = (size_t)b->cooc->indptr[I];
		add(w, MS_COOC_PTR, b->cooc->indptr, sizeof(int64_t) * (I + 1), rc, err);
		add(w, MS_COOC_NBR, b->cooc->nbr, sizeof(int32_t) * nnz, rc, err);
		add(w, MS_COOC_SIM, b->cooc->sim, sizeof(float) * nnz, rc, err);
	}
	if (b->als != NULL) {
		size_t F = (size_t)b->als->factors;
		add(w, MS_ALS_OPTS, &b->als->opts, sizeof b->als->opts, rc, err);
		add(w, MS_ALS_ITEMS, b->als->item_factors, sizeof(float) * I * F, rc, err);
		add(w, MS_ALS_NORMS, b->als->item_norms, sizeof(float) * I, rc, err);
		add(w, MS_ALS_YTY, b->als->yty, sizeof(float) * F * F, rc, err);
	}
}

static void put_title(container_writer *w, const built *b, int *rc, seg_error *err)
{
	const title_index *x = b->title;
	if (x == NULL || x->L == 0)
		return;
	add(w, MS_TITLE_VOCAB, x->vocab, x->vocab_len, rc, err);
	add(w, MS_TITLE_WORD_OFF, x->word_off, sizeof(uint32_t) * x->V, rc, err);
	add(w, MS_TITLE_WORD_IDF, x->idf, sizeof(float) * x->V, rc, err);
	add(w, MS_TITLE_WORD_PTR, x->word_ptr, sizeof(uint32_t) * (x->V + 1), rc, err);
	add(w, MS_TITLE_WORD_PL, x->word_pl, sizeof(uint32_t) * x->word_ptr[x->V], rc, err);
	add(w, MS_TITLE_PL_PTR, x->pl_ptr, sizeof(uint32_t) * (x->L + 1), rc, err);
	add(w, MS_TITLE_PL_TRACK, x->pl_track, sizeof(int32_t) * x->pl_ptr[x->L], rc, err);
}

/* EASE's or RP3beta's top-K weights per item, under the section names given. */
static void put_neighbours(container_writer *w, const built *b, const cf_cooc *m, const char *ptr, const char *nbr,
                           const char *wt, int *rc, seg_error *err)
{
	if (m == NULL)
		return;
	size_t I = (size_t)b->I, nnz = (size_t)m->indptr[I];
	add(w, ptr, m->indptr, sizeof(int64_t) * (I + 1), rc, err);
	add(w, nbr, m->nbr, sizeof(int32_t) * nnz, rc, err);
	add(w, wt, m->sim, sizeof(float) * nnz, rc, err);
}

static void put_ease(container_writer *w, const built *b, int *rc, seg_error *err)
{
	put_neighbours(w, b, b->ease, MS_EASE_PTR, MS_EASE_NBR, MS_EASE_W, rc, err);
}

static void put_rp3(container_writer *w, const built *b, int *rc, seg_error *err)
{
	put_neighbours(w, b, b->rp3, MS_RP3_PTR, MS_RP3_NBR, MS_RP3_W, rc, err);
}

typedef void (*put_fn)(container_writer *w, const built *b, int *rc, seg_error *err);
static const put_fn PUT[TP__COUNT] = {put_features, put_map, put_quality, put_cf, put_ease, put_rp3, put_title};

/* What workspace_model_publish hands back to fill the new version. */
typedef struct model_parts {
	built *b;
	double t0;             /* when training started */
	hybrid_weights hybrid; /* the hybrid's blend */
} model_parts;

/* Adds the model's sections to `w` (a workspace_model_fill): the version's
 * name goes into the metadata first. */
static int write_model(container_writer *w, const char *version, void *arg, seg_error *err)
{
	const model_parts *mp = arg;
	built *b = mp->b;
	json_object_set_new(b->meta, "version", json_string(version));
	json_object_set_new(b->meta, "train_seconds", json_real(progress_now() - mp->t0));
	int rc = 0;
	char *meta = json_dumps(b->meta, JSON_INDENT(2) | JSON_SORT_KEYS);
	add_copy(w, MS_META, meta, meta ? strlen(meta) + 1 : 0, &rc, err);
	free(meta);
	for (int p = 0; p < TP__COUNT; p++)
		PUT[p](w, b, &rc, err);
	add(w, MS_HYBRID, &mp->hybrid, sizeof mp->hybrid, &rc, err);
	return rc;
}

/* Fits every model of the artifact on `ds` into b (b->meta already made). */
static int train_build(const dataset *ds, built *b, const train_options *o, seg_error *err)
{
	int rc;
	if ((rc = build_content(ds, b, o, err)) < 0 || (rc = build_map(b, o, err)) < 0 ||
	    (rc = build_quality(ds, b, o, err)) < 0 || (rc = build_cf_matrix(ds, b, err)) < 0 ||
	    (rc = build_cf(b, o, err)) < 0 || (rc = build_ease(b, o, err)) < 0 || (rc = build_rp3(b, o, err)) < 0 ||
	    (rc = build_title(ds, b, o, err)) < 0 || (rc = build_track_facts(ds, b, err)) < 0)
		return rc;
	return 0;
}

int train_to_path(const dataset *ds, const train_options *o, const char *path, seg_error *err)
{
	if (ds->N == 0)
		return seg_error_set(err, SEG_EINVAL, "the catalogue has no tracks with audio features to train on");
	built b;
	memset(&b, 0, sizeof b);
	double t0 = progress_now();
	container_writer *w = NULL;
	b.meta = json_object();
	json_object_set_new(b.meta, "seed", json_integer((json_int_t)o->seed));
	int rc = train_build(ds, &b, o, err);
	if (rc < 0)
		goto out;
	if ((w = container_writer_create()) == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	model_parts parts = {&b, t0, o->hybrid};
	const catalog_origin *origin = snapshot_origin(ds->snap);
	if ((rc = write_model(w, "unpublished", &parts, err)) < 0 ||
	    (origin != NULL &&
	     (rc = container_writer_add(w, CATALOG_ORIGIN_SECTION, origin, sizeof *origin, err)) < 0) ||
	    (rc = container_writer_save(w, path, err)) < 0)
		goto out;
	rc = 0;
out:
	container_writer_free(w);
	built_free(&b);
	return rc;
}

int train_run(const train_options *o, char *version, size_t cap, seg_error *err)
{
	if (!hybrid_weights_valid(&o->hybrid))
		return seg_error_set(err, SEG_EINVAL, "the hybrid's weights must be >= 0 with a positive sum");
	dataset *ds = NULL;
	built b;
	memset(&b, 0, sizeof b);
	double t0 = progress_now();
	int rc = dataset_load(&ds, o->workspace, err);
	if (rc < 0)
		return rc;
	if (ds->N == 0) {
		dataset_free(ds);
		return seg_error_set(err, SEG_EINVAL, "the catalogue has no tracks with audio features to train on");
	}
	say(o, "training on %s: %zu tracks with features, %zu playlists (%zu held out for validation, %zu for test)\n",
	    o->workspace, ds->N, ds->P, ds->P_valid, ds->P_test);
	b.meta = json_object();
	time_t now = time(NULL);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_set_new(b.meta, "created_at", json_string(stamp));
	json_object_set_new(b.meta, "playlists",
	                    json_pack("{s:I,s:I,s:I}", "total", (json_int_t)ds->P, "validation",
	                              (json_int_t)ds->P_valid, "test", (json_int_t)ds->P_test));
	if ((rc = train_build(ds, &b, o, err)) < 0)
		goto out;
	const hybrid_weights *hw = &o->hybrid;
	json_object_set_new(b.meta, "hybrid",
	                    json_pack("{s:f,s:f,s:f,s:f,s:f}", "content", hw->content, "cooc", hw->cooc, "als", hw->als,
	                              "ease", hw->ease, "rp3", hw->rp3));
	char path[PATH_MAX + 32];
	model_parts parts = {&b, t0, o->hybrid};
	if ((rc = workspace_model_publish(o->workspace, snapshot_origin(ds->snap), write_model, &parts, version, cap,
	                                  path, sizeof path, err)) < 0)
		goto out;
	say(o, "wrote model %s (%s) in %.1f s\n", version, path, progress_now() - t0);
out:
	built_free(&b);
	dataset_free(ds);
	return rc;
}

/* ---- training in parts (the pipeline's model stages) ---- */

const char *const train_part_names[TP__COUNT] = {"features", "map", "quality", "cf", "ease", "rp3", "title"};

/* Sections a part file holds for the parts after it, never copied into the
 * model: the content vectors before normalising, the training matrix, the
 * part's figures and the seconds it took. */
#define PART_RAW "_content_raw"   /* float [N][D] */
#define PART_UI_PTR "_ui_ptr"     /* int64 [U+1] */
#define PART_UI_IDX "_ui_idx"     /* int32 [nnz] CF item of each entry */
#define PART_UI_SHAPE "_ui_shape" /* int64 [3]: U, I, nnz */

/* A features part, mapped: what the other parts read of it. */
typedef struct features_part {
	container_file *f;
	catalog_origin origin;
	json_t *meta; /* its TRAIN_PART_META object */
} features_part;

static void features_part_close(features_part *fp)
{
	container_file_close(fp->f);
	json_decref(fp->meta);
	memset(fp, 0, sizeof *fp);
}

/* Copies section `name` of f (exactly `size` bytes; size 0 = any) into a
 * new allocation at *out; its size into *got when given. */
static int section_copy(const container_file *f, const char *name, size_t size, void **out, size_t *got, seg_error *err)
{
	size_t n = 0;
	const void *p = container_file_section(f, name, &n);
	if (p == NULL || (size && n != size))
		return seg_error_set(err, SEG_EFORMAT, "the features part has no section %s of %zu bytes (it has %zu)",
		                     name, size, p ? n : 0);
	if ((*out = malloc(n ? n : 1)) == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	memcpy(*out, p, n);
	if (got)
		*got = n;
	return 0;
}

/* A part file's metadata (TRAIN_PART_META, NUL-terminated JSON), new reference. */
static json_t *part_meta(const container_file *f)
{
	size_t n = 0;
	const char *text = container_file_section(f, TRAIN_PART_META, &n);
	if (text == NULL || n == 0 || text[n - 1] != '\0')
		return NULL;
	json_error_t je;
	return json_loads(text, 0, &je);
}

/* Opens the features part at `path` and puts into b what every part reads:
 * the feature spec, N, D, T, the borrowed per-track arrays (b->row_track,
 * track_artist, track_pop point into the mapping, alive until
 * features_part_close) and the CF items. `need_raw`: also the content
 * vectors before normalising (b->vec) and the population (b->pop);
 * `need_ui`: the training matrix and its transpose (b->ui, b->iu). */
static int features_part_open(const char *path, built *b, int need_raw, int need_ui, features_part *fp, seg_error *err)
{
	memset(fp, 0, sizeof *fp);
	int rc = container_file_open(&fp->f, path, err);
	if (rc < 0)
		return rc;
	const void *p;
	size_t n = 0;
	if ((rc = container_file_require(fp->f, CATALOG_ORIGIN_SECTION, sizeof fp->origin, &p, err)) < 0)
		goto fail;
	memcpy(&fp->origin, p, sizeof fp->origin);
	if ((rc = container_file_require(fp->f, MS_FEAT_SPEC, sizeof b->spec, &p, err)) < 0)
		goto fail;
	memcpy(&b->spec, p, sizeof b->spec);
	if ((fp->meta = part_meta(fp->f)) == NULL) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s: no readable %s section", path, TRAIN_PART_META);
		goto fail;
	}
	b->D = b->spec.dim;
	b->row_track = container_file_section(fp->f, MS_TRACK_ID, &n);
	b->N = n / sizeof(int64_t);
	b->track_artist = container_file_section(fp->f, MS_TRACK_ARTIST, &n);
	b->T = n / sizeof(int32_t);
	if (b->row_track == NULL || b->track_artist == NULL) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s: no track sections", path);
		goto fail;
	}
	if ((rc = container_file_require(fp->f, MS_TRACK_POP, sizeof(uint32_t) * b->T, &p, err)) < 0)
		goto fail;
	b->track_pop = p;
	const void *cft = container_file_section(fp->f, MS_CF_TRACK, &n);
	if (cft != NULL) {
		b->I = (int32_t)(n / sizeof(int64_t));
		if ((rc = section_copy(fp->f, MS_CF_TRACK, n, (void **)&b->cf_track, NULL, err)) < 0)
			goto fail;
	}
	if (need_raw &&
	    ((rc = section_copy(fp->f, PART_RAW, sizeof(float) * b->N * b->D, (void **)&b->vec, NULL, err)) < 0 ||
	     (rc = section_copy(fp->f, MS_POPULARITY, sizeof(float) * b->N, (void **)&b->pop, NULL, err)) < 0))
		goto fail;
	if (need_ui && b->I > 0) {
		const int64_t *shape;
		if ((rc = container_file_require(fp->f, PART_UI_SHAPE, sizeof(int64_t) * 3, (const void **)&shape,
		                                 err)) < 0)
			goto fail;
		cf_csr *ui = &b->ui;
		ui->nrows = (int32_t)shape[0];
		ui->ncols = (int32_t)shape[1];
		ui->nnz = shape[2];
		if (ui->ncols != b->I) {
			rc = seg_error_set(err, SEG_EFORMAT, "%s: the training matrix has %d items, the CF tracks %d",
			                   path, ui->ncols, b->I);
			goto fail;
		}
		if ((rc = section_copy(fp->f, PART_UI_PTR, sizeof(int64_t) * ((size_t)ui->nrows + 1),
		                       (void **)&ui->indptr, NULL, err)) < 0 ||
		    (rc = section_copy(fp->f, PART_UI_IDX, sizeof(int32_t) * (size_t)ui->nnz, (void **)&ui->indices,
		                       NULL, err)) < 0)
			goto fail;
		if ((ui->data = malloc(sizeof(float) * (size_t)(ui->nnz ? ui->nnz : 1))) == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto fail;
		}
		for (int64_t e = 0; e < ui->nnz; e++)
			ui->data[e] = 1; /* CF_DUP_ONE: every entry is 1 */
		if ((rc = cf_csr_transpose(ui, &b->iu, err)) < 0)
			goto fail;
	}
	return 0;
fail:
	features_part_close(fp);
	return rc;
}

/* Loads the workspace's dataset for a part that reads more than the
 * features part, refusing a catalogue that changed since it was made. */
static int part_dataset(const train_options *o, const features_part *fp, dataset **ds, seg_error *err)
{
	int rc = dataset_load(ds, o->workspace, err);
	if (rc < 0)
		return rc;
	const catalog_origin *now = snapshot_origin((*ds)->snap);
	if (now == NULL || !catalog_origin_same(now, &fp->origin)) {
		dataset_free(*ds);
		*ds = NULL;
		return seg_error_set(
			err, SEG_ESTALE,
			"the catalogue changed since the features part was made: run the features stage again");
	}
	return 0;
}

int train_part_run(const train_options *o, int part, const char *features, const char *path, seg_error *err)
{
	if (part < 0 || part >= TP__COUNT)
		return seg_error_set(err, SEG_EINVAL, "no training part %d", part);
	built b;
	memset(&b, 0, sizeof b);
	dataset *ds = NULL;
	features_part fp = {0};
	container_writer *w = NULL;
	catalog_origin origin;
	double t0 = progress_now();
	int rc = 0;
	b.meta = json_object();
	if (part == TP_FEATURES) {
		if ((rc = dataset_load(&ds, o->workspace, err)) < 0)
			goto out;
		if (ds->N == 0) {
			rc = seg_error_set(err, SEG_EINVAL,
			                   "the catalogue has no tracks with audio features to train on");
			goto out;
		}
		memcpy(&origin, snapshot_origin(ds->snap), sizeof origin);
		json_object_set_new(b.meta, "seed", json_integer((json_int_t)o->seed));
		json_object_set_new(b.meta, "playlists",
		                    json_pack("{s:I,s:I,s:I}", "total", (json_int_t)ds->P, "validation",
		                              (json_int_t)ds->P_valid, "test", (json_int_t)ds->P_test));
		if ((rc = build_content(ds, &b, o, err)) < 0 || (rc = build_cf_matrix(ds, &b, err)) < 0 ||
		    (rc = build_track_facts(ds, &b, err)) < 0)
			goto out;
	} else {
		int raw = part == TP_MAP || part == TP_QUALITY;
		int ui = part == TP_CF || part == TP_EASE || part == TP_RP3;
		if ((rc = features_part_open(features, &b, raw, ui, &fp, err)) < 0)
			goto out;
		memcpy(&origin, &fp.origin, sizeof origin);
		if ((part == TP_QUALITY || part == TP_TITLE) && (rc = part_dataset(o, &fp, &ds, err)) < 0)
			goto out;
		switch (part) {
		case TP_MAP: rc = build_map(&b, o, err); break;
		case TP_QUALITY: rc = build_quality(ds, &b, o, err); break;
		case TP_CF: rc = build_cf(&b, o, err); break;
		case TP_EASE: rc = build_ease(&b, o, err); break;
		case TP_RP3: rc = build_rp3(&b, o, err); break;
		case TP_TITLE: rc = build_title(ds, &b, o, err); break;
		default: break;
		}
		if (rc < 0)
			goto out;
	}
	json_object_set_new(b.meta, "_seconds", json_real(progress_now() - t0));
	if ((w = container_writer_create()) == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	char *meta = json_dumps(b.meta, JSON_COMPACT | JSON_SORT_KEYS);
	add_copy(w, TRAIN_PART_META, meta, meta ? strlen(meta) + 1 : 0, &rc, err);
	free(meta);
	PUT[part](w, &b, &rc, err);
	if (part == TP_FEATURES) {
		int64_t shape[3] = {b.ui.nrows, b.ui.ncols, b.ui.nnz};
		add(w, PART_RAW, b.vec, sizeof(float) * b.N * b.D, &rc, err);
		if (b.I > 0) {
			add_copy(w, PART_UI_SHAPE, shape, sizeof shape, &rc, err);
			add(w, PART_UI_PTR, b.ui.indptr, sizeof(int64_t) * ((size_t)b.ui.nrows + 1), &rc, err);
			add(w, PART_UI_IDX, b.ui.indices, sizeof(int32_t) * (size_t)b.ui.nnz, &rc, err);
		}
	}
	add(w, CATALOG_ORIGIN_SECTION, &origin, sizeof origin, &rc, err);
	if (rc == 0)
		rc = container_writer_save(w, path, err);
out:
	container_writer_free(w);
	built_free(&b);
	features_part_close(&fp);
	dataset_free(ds);
	return rc;
}

/* What train_parts_publish hands workspace_model_publish. */
typedef struct parts_fill {
	container_file *f[TP__COUNT];
	json_t *meta;
	hybrid_weights hybrid;
} parts_fill;

/* Copies every model section of the parts, in part order; the metadata is
 * the parts' merged, with the version's name. */
static int fill_from_parts(container_writer *w, const char *version, void *arg, seg_error *err)
{
	parts_fill *pf = arg;
	json_object_set_new(pf->meta, "version", json_string(version));
	int rc = 0;
	char *meta = json_dumps(pf->meta, JSON_INDENT(2) | JSON_SORT_KEYS);
	add_copy(w, MS_META, meta, meta ? strlen(meta) + 1 : 0, &rc, err);
	free(meta);
	for (int p = 0; p < TP__COUNT && rc == 0; p++) {
		for (size_t i = 0; i < container_file_count(pf->f[p]); i++) {
			const char *name = container_file_name_at(pf->f[p], i);
			if (name == NULL || name[0] == '_' || strcmp(name, CATALOG_ORIGIN_SECTION) == 0)
				continue; /* the part's own, and the origin the publisher adds */
			size_t n = 0;
			const void *data = container_file_section(pf->f[p], name, &n);
			add(w, name, data, n, &rc, err);
		}
	}
	add(w, MS_HYBRID, &pf->hybrid, sizeof pf->hybrid, &rc, err);
	return rc;
}

int train_parts_publish(const train_options *o, const char *const paths[TP__COUNT], char *version, size_t cap,
                        seg_error *err)
{
	if (!hybrid_weights_valid(&o->hybrid))
		return seg_error_set(err, SEG_EINVAL, "the hybrid's weights must be >= 0 with a positive sum");
	parts_fill pf = {.hybrid = o->hybrid};
	catalog_origin origin[TP__COUNT];
	int rc = 0;
	double seconds = 0;
	pf.meta = json_object();
	for (int p = 0; p < TP__COUNT && rc == 0; p++) {
		const void *og;
		if ((rc = container_file_open(&pf.f[p], paths[p], err)) < 0 ||
		    (rc = container_file_require(pf.f[p], CATALOG_ORIGIN_SECTION, sizeof origin[p], &og, err)) < 0)
			break;
		memcpy(&origin[p], og, sizeof origin[p]);
		if (p > 0 && !catalog_origin_same(&origin[p], &origin[0])) {
			rc = seg_error_set(err, SEG_ESTALE,
			                   "the %s part was made from another state of the catalogue than the features "
			                   "part: run the pipeline's training stages again",
			                   train_part_names[p]);
			break;
		}
		json_t *m = part_meta(pf.f[p]);
		if (m == NULL) {
			rc = seg_error_set(err, SEG_EFORMAT, "%s: no readable %s section", paths[p], TRAIN_PART_META);
			break;
		}
		seconds += json_number_value(json_object_get(m, "_seconds"));
		json_object_del(m, "_seconds");
		json_object_update(pf.meta, m);
		json_decref(m);
	}
	if (rc == 0) {
		time_t now = time(NULL);
		char stamp[32];
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
		const hybrid_weights *hw = &o->hybrid;
		json_object_set_new(pf.meta, "created_at", json_string(stamp));
		json_object_set_new(pf.meta, "train_seconds", json_real(seconds));
		json_object_set_new(pf.meta, "hybrid",
		                    json_pack("{s:f,s:f,s:f,s:f,s:f}", "content", hw->content, "cooc", hw->cooc, "als",
		                              hw->als, "ease", hw->ease, "rp3", hw->rp3));
		char path[PATH_MAX + 32];
		rc = workspace_model_publish(o->workspace, &origin[0], fill_from_parts, &pf, version, cap, path,
		                             sizeof path, err);
	}
	for (int p = 0; p < TP__COUNT; p++)
		container_file_close(pf.f[p]);
	json_decref(pf.meta);
	return rc;
}
