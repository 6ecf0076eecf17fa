/* quality.h: the quality prior: a gradient-boosted regressor (XGBoost's C API)
 * that predicts a track's popularity (0-100) from its features, the
 * cross-validation that compares it with a mean baseline and a ridge
 * regression, and the "hidden gems" query (tracks predicted well above their
 * actual popularity). It does not build the feature matrix (features.c) and
 * does not write files: a model is saved to bytes that the caller stores in
 * segue's own versioned artifact (container.h).
 *
 * Dimensions: N rows (tracks), D features, k folds.
 * X is [N][D] row-major float, NaN = missing; y is [N] float. A row whose
 * target is NaN is left out of training and of cross-validation. */
#ifndef SEGUE_QUALITY_H
#define SEGUE_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* ---- the boosted model ---- */

/* Training parameters (XGBoost names in brackets). Plain data. The objective
 * is squared error and the tree method "hist", always. */
typedef struct quality_params {
	int rounds;              /* boosting rounds = trees (num_boost_round), >= 1 */
	int max_depth;           /* [max_depth], >= 1 */
	double eta;              /* learning rate [eta], > 0 */
	double subsample;        /* row fraction per tree [subsample], (0, 1] */
	double colsample;        /* feature fraction per tree [colsample_bytree], (0, 1] */
	double min_child_weight; /* [min_child_weight], >= 0 */
	double base_score;       /* initial prediction [base_score]; NaN = mean of the training targets */
	int seed;                /* [seed]: with nthread = 1 training is reproducible bit for bit */
	int nthread;             /* [nthread], >= 1 */
} quality_params;

/* Defaults: 300 rounds, depth 6, eta 0.05, subsample 0.8, colsample 0.8,
 * min_child_weight 1, base_score = target mean, seed 0, nthread 2. */
void quality_params_default(quality_params *p);

/* A trained or loaded model (an XGBoost booster). Opaque; quality_model_free.
 * Calls on one model must not overlap (XGBoost keeps per-booster state during
 * prediction): use one model per thread, or a lock. Training reseeds
 * XGBoost's process-wide random generator, so train one model at a time when
 * runs must be reproducible. */
typedef struct quality_model quality_model;

/* Trains on X[N][D], y[N]. Rows with a NaN target are dropped (at least one
 * must remain); features may be NaN. Bad parameters are SEG_EINVAL with the
 * parameter named; an XGBoost failure is SEG_EINVAL with XGBoost's message.
 * On error *out is NULL. */
int quality_model_train(quality_model **out, const float *X, const float *y, size_t N, size_t D,
                        const quality_params *p, seg_error *err);

/* Predicts out[N] for X[N][D]. D must be the model's feature count. */
int quality_model_predict(quality_model *m, const float *X, size_t N, size_t D, float *out, seg_error *err);

/* Number of features the model expects. */
size_t quality_model_features(const quality_model *m);

/* Serialises the model (XGBoost's UBJSON format) into a malloc'd buffer that
 * the caller frees. On error *buf is NULL and *len 0. */
int quality_model_save(quality_model *m, void **buf, size_t *len, seg_error *err);

/* Loads a model from bytes written by quality_model_save; predictions then
 * run on `nthread` threads (>= 1). Bytes that are not a model are
 * SEG_EFORMAT. On error *out is NULL. */
int quality_model_load(quality_model **out, const void *buf, size_t len, int nthread, seg_error *err);

void quality_model_free(quality_model *m); /* NULL is a no-op */

/* ---- the linear baseline ---- */

/* Ridge regression on imputed, standardised features, as scikit-learn's
 * make_pipeline(SimpleImputer(strategy="mean"), StandardScaler(),
 * Ridge(alpha)) computes it: a missing value becomes its column's training
 * mean; each column is then centred and divided by its (population) standard
 * deviation over all rows, imputed ones included (1 for a constant column);
 * the intercept is not penalised. Solved in double precision with LAPACK
 * (Cholesky of Z'Z + alpha I). Plain struct; zero-initialise, free with
 * quality_ridge_free. */
typedef struct quality_ridge {
	size_t d;         /* D */
	double alpha;     /* L2 penalty */
	double intercept; /* prediction at the training means */
	double *mean;     /* [D] training column means (and imputation values); 0 for an all-NaN column */
	double *scale;    /* [D] training column standard deviations, 1 where 0 */
	double *w;        /* [D] coefficients on the standardised columns */
} quality_ridge;

/* Fits on X[N][D], y[N] (rows with a NaN target dropped). alpha >= 0; with
 * alpha = 0 collinear features are an error (SEG_EINVAL). */
int quality_ridge_fit(quality_ridge *r, const float *X, const float *y, size_t N, size_t D, double alpha,
                      seg_error *err);
/* out[N] = predictions for X[N][D] (D must match). */
int quality_ridge_predict(const quality_ridge *r, const float *X, size_t N, size_t D, double *out, seg_error *err);
void quality_ridge_free(quality_ridge *r); /* NULL is a no-op */

/* ---- scores and cross-validation ---- */

/* R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² (scikit-learn's r2_score: 1 when y is
 * constant and predicted exactly, 0 when y is constant and not), and the mean
 * absolute error. n >= 1. */
double quality_r2(const float *y, const double *yhat, size_t n);
double quality_mae(const float *y, const double *yhat, size_t n);

/* Deterministic fold of each of N rows: a Fisher-Yates shuffle of 0..N-1 by
 * a splitmix64 stream from `seed`; the row at shuffled position i goes to fold
 * i mod k. Folds are a partition, with sizes differing by at most one.
 * 2 <= k <= N, else SEG_EINVAL. */
int quality_cv_folds(uint32_t *fold, size_t N, unsigned k, uint64_t seed, seg_error *err);

#define QUALITY_CV_MAX_FOLDS 32

/* Cross-validation settings. */
typedef struct quality_cv_opts {
	unsigned k;         /* folds, 2..QUALITY_CV_MAX_FOLDS */
	uint64_t seed;      /* fold assignment */
	double ridge_alpha; /* penalty of the linear model, >= 0 */
} quality_cv_opts;

/* The models compared. */
enum quality_cv_model { QUALITY_CV_XGB, QUALITY_CV_MEAN, QUALITY_CV_RIDGE, QUALITY_CV__COUNT };
extern const char *const quality_cv_model_names[QUALITY_CV__COUNT]; /* "xgboost", "mean", "ridge" */

/* Scores of one model: per fold and mean ± standard deviation over folds
 * (population deviation, numpy's default, as in cross_val_score(...).std()). */
typedef struct quality_cv_score {
	double r2[QUALITY_CV_MAX_FOLDS];  /* [k] R² on each held-out fold */
	double mae[QUALITY_CV_MAX_FOLDS]; /* [k] MAE on each held-out fold */
	double r2_mean, r2_std;
	double mae_mean, mae_std;
} quality_cv_score;

typedef struct quality_cv_report {
	unsigned k;                                /* folds */
	size_t n;                                  /* rows used (finite target) */
	quality_cv_score model[QUALITY_CV__COUNT]; /* by enum quality_cv_model */
} quality_cv_report;

/* k-fold cross-validation of the boosted model (params p), the training-fold
 * mean and the ridge model. Rows with a NaN target are dropped first; folds
 * are quality_cv_folds over the remaining M rows in their order. Errors:
 * k out of range or M < k (SEG_EINVAL, saying how many rows were usable),
 * anything quality_model_train or quality_ridge_fit reports. */
int quality_cv_run(const float *X, const float *y, size_t N, size_t D, const quality_params *p,
                   const quality_cv_opts *o, quality_cv_report *out, seg_error *err);

/* ---- hidden gems ---- */

/* Which items count as hidden gems. */
typedef struct quality_gem_opts {
	double min_gap;       /* keep items with predicted - actual > min_gap (-INFINITY: any) */
	double min_predicted; /* and predicted >= min_predicted (-INFINITY: any) */
	size_t top_k;         /* keep at most this many, the largest gaps; 0 = all */
} quality_gem_opts;

typedef struct quality_gem {
	uint32_t item;   /* index into the pred/actual arrays */
	float predicted; /* predicted popularity */
	float actual;    /* actual popularity */
	float gap;       /* predicted - actual */
} quality_gem;

/* Finds the items i in [0, N) with pred[i] - actual[i] > min_gap and
 * pred[i] >= min_predicted (items with a NaN on either side are skipped),
 * sorted by gap descending, then predicted descending, then item ascending,
 * truncated to top_k. *out is a malloc'd array of *count gems that the caller
 * frees (NULL when none). */
int quality_gems_find(const float *pred, const float *actual, size_t N, const quality_gem_opts *o, quality_gem **out,
                      size_t *count, seg_error *err);

#endif
