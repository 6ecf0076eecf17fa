/* train.h: `segue train`: fits every model on a workspace's catalogue and
 * writes one versioned artifact, WORKSPACE/models/vN/model.seg (see container.h),
 * with WORKSPACE/models/latest naming the newest. The models: the content
 * feature pipeline and its vectors, the sonic map (k-means clusters described
 * in words, a 2-D PCA projection), the quality prior (XGBoost, cross-validated
 * against a mean and a ridge baseline), and collaborative filtering from the
 * training playlists (item co-occurrence and implicit ALS). Playlists of the
 * held-out split (dataset.h) are never seen by training. */
#ifndef SEGUE_TRAIN_H
#define SEGUE_TRAIN_H

#include <stdio.h>

#include "core/error.h"
#include "engine/recommend.h"

typedef struct dataset dataset;

/* Section names of the artifact, shared with the engine that reads it. */
#define MS_META "meta"                 /* JSON: version, parameters, figures */
#define MS_FEAT_SPEC "feat_spec"       /* feat_spec */
#define MS_TRACK_ID "content_track"    /* int64 [N] track id of each content row */
#define MS_VECTORS "content_vec"       /* float [N][D] unit-length content vectors */
#define MS_VECTOR_NORM "content_norm"  /* float [N] vector lengths before normalising */
#define MS_POPULARITY "content_pop"    /* float [N] catalogue popularity, NaN unknown */
#define MS_KM_CENTROIDS "km_centroids" /* float [K][D] in feature space */
#define MS_KM_LABELS "km_labels"       /* int32 [N] */
#define MS_KM_WORDS "km_words"         /* K NUL-terminated descriptions, back to back */
#define MS_MAP_XY "map_xy"             /* float [N][2] PCA projection */
#define MS_PCA "pca"                   /* float [D] mean then [2][D] components */
#define MS_QUALITY_PRED "quality_pred" /* float [N] predicted popularity */
#define MS_QUALITY_XGB "quality_xgb"   /* XGBoost model bytes */
#define MS_TRACK_ARTIST "track_artist" /* int32 [T] main artist per track id */
#define MS_TRACK_POP "track_pop"       /* uint32 [T] training playlists per track id */
#define MS_CF_TRACK "cf_track"         /* int64 [I] track id of each CF item */
#define MS_COOC_PTR "cooc_ptr"         /* int64 [I+1] */
#define MS_COOC_NBR "cooc_nbr"         /* int32 [nnz] */
#define MS_COOC_SIM "cooc_sim"         /* float [nnz] */
#define MS_ALS_OPTS "als_opts"         /* cf_als_opts */
#define MS_ALS_ITEMS "als_items"       /* float [I][F] */
#define MS_ALS_NORMS "als_norms"       /* float [I] */
#define MS_ALS_YTY "als_yty"           /* float [F][F] */

typedef struct train_options {
	const char *workspace;
	int clusters;       /* k-means K (default 12) */
	int factors;        /* ALS F (default 64) */
	int als_iterations; /* default 15 */
	int quality_rounds; /* XGBoost rounds (default 120) */
	int cv_folds;       /* default 5 */
	int verbose;        /* print progress and figures to `out` */
	FILE *out;
	uint64_t seed;         /* random seed of ALS's initial factors and k-means (default 42) */
	float als_alpha;       /* ALS confidence slope (default 40) */
	float als_lambda;      /* ALS L2 regularisation (default 0.1) */
	int cooc_neighbours;   /* co-occurrence neighbours kept per item (default 100) */
	int skip_quality_cv;   /* train the quality prior without cross-validating it (tuning) */
	hybrid_weights hybrid; /* the hybrid's blend (default content 0.15, cooc 0.425, als 0.425) */
} train_options;

void train_options_default(train_options *o);

/* Trains every model on the loaded dataset `ds` with options `o` and writes
 * the artifact to `path` (a model.seg file, replaced atomically), without
 * publishing it as a model version: for tuning and for evaluating several
 * training seeds. o->workspace is not read. On failure nothing is written. */
int train_to_path(const dataset *ds, const train_options *o, const char *path, seg_error *err);

/* Trains and writes the artifact; the version id ("v3") is copied to
 * version[cap]. */
int train_run(const train_options *o, char *version, size_t cap, seg_error *err);

/* Resolves a model path into path[cap]: `name` may be NULL (the version
 * models/latest names: SEG_ENOTFOUND, or SEG_EFORMAT when latest is
 * damaged, each naming `segue train`), a version ("v3", parsed strictly by
 * workspace_version_parse: anything else is SEG_EINVAL; one that is not
 * published is SEG_ENOTFOUND) or a path to a model.seg file (any name with a
 * '/', taken as it is). */
int train_model_path(const char *workspace, const char *name, char *path, size_t cap, seg_error *err);

#endif
