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
#define MS_TRACK_SONG "track_song"     /* uint64 [T] song key (lookup_song_key), 0 unknown; optional */
#define MS_TRACK_YEAR "track_year"     /* uint16 [T] release year, 0 unknown; optional */
#define MS_CF_TRACK "cf_track"         /* int64 [I] track id of each CF item */
#define MS_COOC_PTR "cooc_ptr"         /* int64 [I+1] */
#define MS_COOC_NBR "cooc_nbr"         /* int32 [nnz] */
#define MS_COOC_SIM "cooc_sim"         /* float [nnz] */
#define MS_ALS_OPTS "als_opts"         /* cf_als_opts */
#define MS_ALS_ITEMS "als_items"       /* float [I][F] */
#define MS_ALS_NORMS "als_norms"       /* float [I] */
#define MS_ALS_YTY "als_yty"           /* float [F][F] */
/* The title model (rec_title.c): V title words of L training playlists. */
#define MS_TITLE_VOCAB "title_vocab"       /* V NUL-terminated words, sorted by strcmp, back to back */
#define MS_TITLE_WORD_OFF "title_word_off" /* uint32 [V] offset of each word in title_vocab */
#define MS_TITLE_WORD_IDF "title_word_idf" /* float [V] ln(1 + L / playlists with the word) */
#define MS_TITLE_WORD_PTR "title_word_ptr" /* uint32 [V+1] offsets into title_word_pl */
#define MS_TITLE_WORD_PL "title_word_pl"   /* uint32 [..] playlists (0..L-1) whose title has the word */
#define MS_TITLE_PL_PTR "title_pl_ptr"     /* uint32 [L+1] offsets into title_pl_track */
#define MS_TITLE_PL_TRACK "title_pl_track" /* int32 [..] each playlist's distinct track ids, ascending */
#define MS_EASE_PTR "ease_ptr"             /* int64 [I+1] EASE's top-K weights per item (ease.h) */
#define MS_EASE_NBR "ease_nbr"             /* int32 [nnz] */
#define MS_EASE_W "ease_w"                 /* float [nnz] */
#define MS_RP3_PTR "rp3_ptr"               /* int64 [I+1] RP3beta's top-K neighbours per item (rp3.h) */
#define MS_RP3_NBR "rp3_nbr"               /* int32 [nnz] */
#define MS_RP3_W "rp3_w"                   /* float [nnz] */
#define MS_HYBRID "hybrid"                 /* hybrid_weights: the hybrid's blend (recommend.h) */

typedef struct train_options {
	const char *workspace;
	int clusters;       /* k-means K (default 12) */
	int factors;        /* ALS F (default 64) */
	int als_iterations; /* default 15 */
	int quality_rounds; /* XGBoost rounds (default 120) */
	int cv_folds;       /* default 5 */
	/* EASE (ease.h) on the ease_items most frequent training tracks (those
	 * in >= 2 playlists), 0 = no EASE */
	float ease_lambda;   /* L2 regularisation (default 1500) */
	int ease_items;      /* I_e cap of the dense solve (default 15000: 900 MB) */
	int ease_neighbours; /* weights kept per item (default 500) */
	/* RP3beta (rp3.h); rp3_neighbours 0 = no RP3beta */
	float rp3_alpha;       /* power of the transition probabilities (default 0.5) */
	float rp3_beta;        /* popularity penalty (default 0.1) */
	int rp3_neighbours;    /* neighbours kept per item (default 500) */
	hybrid_weights hybrid; /* the hybrid's blend, written into the artifact (default
	                        * content 0.1, als 0.45, rp3 0.45) */
	int verbose;           /* print progress and figures to `out` */
	FILE *out;
	uint64_t seed;       /* random seed of ALS's initial factors and k-means (default 42) */
	float als_alpha;     /* ALS confidence slope (default 40) */
	float als_lambda;    /* ALS L2 regularisation (default 0.1) */
	int cooc_neighbours; /* co-occurrence neighbours kept per item (default 100) */
	int skip_quality_cv; /* train the quality prior without cross-validating it (tuning) */
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

/* ---- training in parts ----
 * The pipeline (pipeline.h) trains the artifact as separate stages, each in
 * its own process, so that the independent models run at once and a
 * changed parameter retrains only its model. The parts:
 *   features  the content vectors (feature spec, unit vectors, norms,
 *             popularity), the per-track facts (artist, playlists, song key,
 *             year) and the training playlists as a matrix: read from the
 *             workspace's catalogue (its snapshot must be current)
 *   map       k-means clusters and the 2-D PCA map       (reads features)
 *   quality   the XGBoost quality prior                  (features + catalogue)
 *   cf        item co-occurrence and implicit ALS        (features)
 *   ease      EASE's top-K weights                       (features)
 *   rp3       RP3beta's top-K neighbours                 (features)
 *   title     the playlist-title model                   (features + catalogue)
 * Each part file is a container (container.h) holding the part's sections
 * of the model under their model names, its figures (TRAIN_PART_META: the
 * same JSON keys `segue train` writes into MS_META, plus "_seconds"),
 * sections named "_..." that later parts read (never copied into a model),
 * and the catalogue state it was made from (CATALOG_ORIGIN_SECTION).
 * Parts and the whole artifact share the code that fits each model and
 * writes its sections, so a model published from parts holds the same
 * sections as `segue train`'s with the same options. */
enum train_part { TP_FEATURES, TP_MAP, TP_QUALITY, TP_CF, TP_EASE, TP_RP3, TP_TITLE, TP__COUNT };
extern const char *const train_part_names[TP__COUNT];
#define TRAIN_PART_META "_meta"

/* Fits part `part` with options o and writes its part file to `path`
 * (replaced atomically). `features` is the features part's file (read by
 * every other part; ignored for TP_FEATURES). A part that reads the
 * catalogue refuses one that changed since the features part was made
 * (SEG_ESTALE). Threads: as many as parallel_workers(0) gives (a caller
 * running parts side by side lowers it with parallel_set_default).
 * On failure nothing is written. */
int train_part_run(const train_options *o, int part, const char *features, const char *path, seg_error *err);

/* Publishes a new model version (workspace_model_publish) made of the part
 * files paths[TP__COUNT], with o->hybrid as its blend; its version id is
 * copied to version[cap]. Parts made from different states of the
 * catalogue are refused (SEG_ESTALE); an unreadable one is its
 * container_file_open code. */
int train_parts_publish(const train_options *o, const char *const paths[TP__COUNT], char *version, size_t cap,
                        seg_error *err);

/* Resolves a model path into path[cap]: `name` may be NULL (the version
 * models/latest names: SEG_ENOTFOUND, or SEG_EFORMAT when latest is
 * damaged, each naming `segue train`), a version ("v3", parsed strictly by
 * workspace_version_parse: anything else is SEG_EINVAL; one that is not
 * published is SEG_ENOTFOUND) or a path to a model.seg file (any name with a
 * '/', taken as it is). */
int train_model_path(const char *workspace, const char *name, char *path, size_t cap, seg_error *err);

#endif
