/* quality.c: the quality prior (see quality.h): XGBoost training, prediction
 * and (de)serialisation through its C API, a ridge baseline solved with
 * LAPACK, k-fold cross-validation, and the hidden-gems query.
 *
 * Legend: N rows, M rows with a finite target, D features, k folds,
 * B rows per block of the ridge normal equations. */
#include "models/quality.h"

#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>
#include <xgboost/c_api.h>

/* ---------------------------------------------------------------- helpers */

/* Reports XGBoost's last error as `code`: its first line, without the
 * "[hh:mm:ss] " timestamp and the stack trace that follow. */
static int xgb_fail(seg_error *err, int code, const char *what)
{
	const char *m = XGBGetLastError();
	if (m == NULL)
		m = "";
	if (m[0] == '[') {
		const char *close = strchr(m, ']');
		if (close && close - m <= 12)
			m = close + 1 + (close[1] == ' ');
	}
	int len = (int)strcspn(m, "\n");
	return seg_error_set(err, code, "xgboost: %s failed: %.*s", what, len, m);
}

/* Counts the rows with a finite target. */
static size_t count_targets(const float *y, size_t N)
{
	size_t m = 0;
	for (size_t i = 0; i < N; i++)
		m += !isnan(y[i]);
	return m;
}

/* Copies the rows with a finite target into Xv[M][D], yv[M]. */
static void copy_targets(const float *X, const float *y, size_t N, size_t D, float *Xv, float *yv)
{
	size_t m = 0;
	for (size_t i = 0; i < N; i++) {
		if (isnan(y[i]))
			continue;
		memcpy(Xv + m * D, X + i * D, D * sizeof *X);
		yv[m++] = y[i];
	}
}

/* ---------------------------------------------------------------- params */

void quality_params_default(quality_params *p)
{
	*p = (quality_params){
		.rounds = 300,
		.max_depth = 6,
		.eta = 0.05,
		.subsample = 0.8,
		.colsample = 0.8,
		.min_child_weight = 1.0,
		.base_score = NAN,
		.seed = 0,
		.nthread = 2,
	};
}

static int params_check(const quality_params *p, seg_error *err)
{
	if (p->rounds < 1)
		return seg_error_set(err, SEG_EINVAL, "quality: rounds must be at least 1 (got %d)", p->rounds);
	if (p->max_depth < 1)
		return seg_error_set(err, SEG_EINVAL, "quality: max_depth must be at least 1 (got %d)", p->max_depth);
	if (!(p->eta > 0.0))
		return seg_error_set(err, SEG_EINVAL, "quality: eta must be positive (got %g)", p->eta);
	if (!(p->subsample > 0.0 && p->subsample <= 1.0))
		return seg_error_set(err, SEG_EINVAL, "quality: subsample must be in (0, 1] (got %g)", p->subsample);
	if (!(p->colsample > 0.0 && p->colsample <= 1.0))
		return seg_error_set(err, SEG_EINVAL, "quality: colsample must be in (0, 1] (got %g)", p->colsample);
	if (!(p->min_child_weight >= 0.0))
		return seg_error_set(err, SEG_EINVAL, "quality: min_child_weight must be >= 0 (got %g)",
		                     p->min_child_weight);
	if (isinf(p->base_score))
		return seg_error_set(err, SEG_EINVAL, "quality: base_score must be finite or NaN");
	if (p->nthread < 1)
		return seg_error_set(err, SEG_EINVAL, "quality: nthread must be at least 1 (got %d)", p->nthread);
	return 0;
}

/* ---------------------------------------------------------------- model */

struct quality_model {
	BoosterHandle booster; /* owned */
	size_t d;              /* features expected by predict */
};

static int set_param(BoosterHandle h, const char *name, const char *value, seg_error *err)
{
	if (XGBoosterSetParam(h, name, value) != 0) {
		char what[96];
		snprintf(what, sizeof what, "setting %s=%s", name, value);
		return xgb_fail(err, SEG_EINVAL, what);
	}
	return 0;
}

static int set_param_num(BoosterHandle h, const char *name, double v, seg_error *err)
{
	char buf[40];
	snprintf(buf, sizeof buf, "%.17g", v);
	return set_param(h, name, buf, err);
}

/* Trains on M rows that all have a finite target. */
static int train_rows(quality_model **out, const float *X, const float *y, size_t M, size_t D, const quality_params *p,
                      seg_error *err)
{
	DMatrixHandle dtrain = NULL;
	quality_model *m = NULL;
	int rc = 0;

	m = calloc(1, sizeof *m);
	if (m == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	m->d = D;
	if (XGDMatrixCreateFromMat(X, (bst_ulong)M, (bst_ulong)D, NAN, &dtrain) != 0) {
		rc = xgb_fail(err, SEG_EINVAL, "creating the training matrix");
		goto fail;
	}
	if (XGDMatrixSetFloatInfo(dtrain, "label", y, (bst_ulong)M) != 0) {
		rc = xgb_fail(err, SEG_EINVAL, "setting the labels");
		goto fail;
	}
	if (XGBoosterCreate(&dtrain, 1, &m->booster) != 0) {
		rc = xgb_fail(err, SEG_EINVAL, "creating the booster");
		goto fail;
	}

	/* The base score goes through float, which is what XGBoost stores, and is
	 * printed so that it parses back to exactly that float. */
	double base = p->base_score;
	if (isnan(base)) {
		double sum = 0.0;
		for (size_t i = 0; i < M; i++)
			sum += (double)y[i];
		base = sum / (double)M;
	}
	char base_s[40];
	snprintf(base_s, sizeof base_s, "%.9g", (double)(float)base);

	if ((rc = set_param(m->booster, "objective", "reg:squarederror", err)) ||
	    (rc = set_param(m->booster, "tree_method", "hist", err)) ||
	    (rc = set_param_num(m->booster, "max_depth", p->max_depth, err)) ||
	    (rc = set_param_num(m->booster, "eta", p->eta, err)) ||
	    (rc = set_param_num(m->booster, "subsample", p->subsample, err)) ||
	    (rc = set_param_num(m->booster, "colsample_bytree", p->colsample, err)) ||
	    (rc = set_param_num(m->booster, "min_child_weight", p->min_child_weight, err)) ||
	    (rc = set_param(m->booster, "base_score", base_s, err)) ||
	    (rc = set_param_num(m->booster, "seed", p->seed, err)) ||
	    (rc = set_param_num(m->booster, "nthread", p->nthread, err)))
		goto fail;

	for (int iter = 0; iter < p->rounds; iter++) {
		if (XGBoosterUpdateOneIter(m->booster, iter, dtrain) != 0) {
			char what[64];
			snprintf(what, sizeof what, "training round %d", iter + 1);
			rc = xgb_fail(err, SEG_EINVAL, what);
			goto fail;
		}
	}
	XGDMatrixFree(dtrain);
	*out = m;
	return 0;

fail:
	if (dtrain)
		XGDMatrixFree(dtrain);
	quality_model_free(m);
	return rc;
}

int quality_model_train(quality_model **out, const float *X, const float *y, size_t N, size_t D,
                        const quality_params *p, seg_error *err)
{
	*out = NULL;
	int rc = params_check(p, err);
	if (rc)
		return rc;
	if (D == 0)
		return seg_error_set(err, SEG_EINVAL, "quality: no features (D = 0)");
	size_t M = count_targets(y, N);
	if (M == 0)
		return seg_error_set(err, SEG_EINVAL, "quality: none of the %zu rows has a target (all NaN or no rows)",
		                     N);
	if (M == N)
		return train_rows(out, X, y, N, D, p, err);

	float *Xv = malloc(M * D * sizeof *Xv); /* [M][D] rows with a target */
	float *yv = malloc(M * sizeof *yv);     /* [M] */
	if (Xv == NULL || yv == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory copying %zu training rows", M);
	} else {
		copy_targets(X, y, N, D, Xv, yv);
		rc = train_rows(out, Xv, yv, M, D, p, err);
	}
	free(Xv);
	free(yv);
	return rc;
}

int quality_model_predict(quality_model *m, const float *X, size_t N, size_t D, float *out, seg_error *err)
{
	if (D != m->d)
		return seg_error_set(err, SEG_EINVAL, "quality: the model expects %zu features, got %zu", m->d, D);
	if (N == 0)
		return 0;
	DMatrixHandle d = NULL;
	bst_ulong len = 0;
	const float *res = NULL;
	if (XGDMatrixCreateFromMat(X, (bst_ulong)N, (bst_ulong)D, NAN, &d) != 0)
		return xgb_fail(err, SEG_EINVAL, "creating the prediction matrix");
	int rc = 0;
	if (XGBoosterPredict(m->booster, d, 0, 0, 0, &len, &res) != 0)
		rc = xgb_fail(err, SEG_EINVAL, "predicting");
	else if (len != (bst_ulong)N)
		rc = seg_error_set(err, SEG_EINVAL, "xgboost: predicted %llu values for %zu rows",
		                   (unsigned long long)len, N);
	else
		memcpy(out, res, N * sizeof *out); /* res belongs to the booster */
	XGDMatrixFree(d);
	return rc;
}

size_t quality_model_features(const quality_model *m) { return m->d; }

int quality_model_save(quality_model *m, void **buf, size_t *len, seg_error *err)
{
	*buf = NULL;
	*len = 0;
	bst_ulong n = 0;
	const char *bytes = NULL;
	if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"ubj\"}", &n, &bytes) != 0)
		return xgb_fail(err, SEG_EINVAL, "saving the model");
	void *copy = malloc(n ? (size_t)n : 1);
	if (copy == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for a %llu-byte model", (unsigned long long)n);
	memcpy(copy, bytes, (size_t)n); /* bytes are valid only until the next XGBoost call */
	*buf = copy;
	*len = (size_t)n;
	return 0;
}

int quality_model_load(quality_model **out, const void *buf, size_t len, int nthread, seg_error *err)
{
	*out = NULL;
	if (nthread < 1)
		return seg_error_set(err, SEG_EINVAL, "quality: nthread must be at least 1 (got %d)", nthread);
	if (buf == NULL || len == 0)
		return seg_error_set(err, SEG_EFORMAT, "quality: the model is empty");
	quality_model *m = calloc(1, sizeof *m);
	if (m == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int rc = 0;
	bst_ulong d = 0;
	if (XGBoosterCreate(NULL, 0, &m->booster) != 0) {
		rc = xgb_fail(err, SEG_EINVAL, "creating the booster");
		goto fail;
	}
	if (XGBoosterLoadModelFromBuffer(m->booster, buf, (bst_ulong)len) != 0) {
		rc = xgb_fail(err, SEG_EFORMAT, "loading the model");
		goto fail;
	}
	if ((rc = set_param_num(m->booster, "nthread", nthread, err)))
		goto fail;
	if (XGBoosterGetNumFeature(m->booster, &d) != 0) {
		rc = xgb_fail(err, SEG_EFORMAT, "reading the feature count");
		goto fail;
	}
	if (d == 0) {
		rc = seg_error_set(err, SEG_EFORMAT, "quality: the loaded model has no features");
		goto fail;
	}
	m->d = (size_t)d;
	*out = m;
	return 0;

fail:
	quality_model_free(m);
	return rc;
}

void quality_model_free(quality_model *m)
{
	if (m == NULL)
		return;
	if (m->booster)
		XGBoosterFree(m->booster);
	free(m);
}

/* ---------------------------------------------------------------- ridge */

#define RIDGE_BLOCK 1024 /* B: rows standardised at a time */

void quality_ridge_free(quality_ridge *r)
{
	if (r == NULL)
		return;
	free(r->mean);
	free(r->scale);
	free(r->w);
	memset(r, 0, sizeof *r);
}

/* Standardised value of x in column j (a missing value is the mean: 0). */
static double ridge_z(const quality_ridge *r, float x, size_t j)
{
	return isnan(x) ? 0.0 : ((double)x - r->mean[j]) / r->scale[j];
}

int quality_ridge_fit(quality_ridge *r, const float *X, const float *y, size_t N, size_t D, double alpha,
                      seg_error *err)
{
	double *cnt = NULL, *A = NULL, *b = NULL, *Zb = NULL, *yb = NULL;
	int rc = 0;

	memset(r, 0, sizeof *r);
	if (!(alpha >= 0.0) || isinf(alpha))
		return seg_error_set(err, SEG_EINVAL, "ridge: alpha must be finite and >= 0 (got %g)", alpha);
	if (D == 0)
		return seg_error_set(err, SEG_EINVAL, "ridge: no features (D = 0)");
	size_t M = count_targets(y, N);
	if (M == 0)
		return seg_error_set(err, SEG_EINVAL, "ridge: none of the %zu rows has a target (all NaN or no rows)",
		                     N);

	r->d = D;
	r->alpha = alpha;
	r->mean = calloc(D, sizeof *r->mean);      /* [D] */
	r->scale = calloc(D, sizeof *r->scale);    /* [D] */
	r->w = calloc(D, sizeof *r->w);            /* [D] */
	cnt = calloc(D, sizeof *cnt);              /* [D] observed values per column */
	A = calloc(D * D, sizeof *A);              /* [D][D] Z'Z + alpha I, upper triangle */
	b = calloc(D, sizeof *b);                  /* [D] Z'(y - ȳ), then w */
	Zb = malloc(RIDGE_BLOCK * D * sizeof *Zb); /* [B][D] standardised block */
	yb = malloc(RIDGE_BLOCK * sizeof *yb);     /* [B] centred targets of the block */
	if (!r->mean || !r->scale || !r->w || !cnt || !A || !b || !Zb || !yb) {
		rc = seg_error_set(err, SEG_ENOMEM, "ridge: out of memory for %zu features", D);
		goto fail;
	}

	/* Column means over observed values, then the deviations over all M rows
	 * (an imputed value sits on the mean and adds nothing): two passes, as
	 * the deviations are then accurate. */
	double ysum = 0.0;
	for (size_t i = 0; i < N; i++) {
		if (isnan(y[i]))
			continue;
		ysum += (double)y[i];
		for (size_t j = 0; j < D; j++) {
			float x = X[i * D + j];
			if (!isnan(x)) {
				r->mean[j] += (double)x;
				cnt[j] += 1.0;
			}
		}
	}
	double ymean = ysum / (double)M;
	for (size_t j = 0; j < D; j++)
		r->mean[j] = cnt[j] > 0 ? r->mean[j] / cnt[j] : 0.0;
	for (size_t i = 0; i < N; i++) {
		if (isnan(y[i]))
			continue;
		for (size_t j = 0; j < D; j++) {
			float x = X[i * D + j];
			if (!isnan(x))
				r->scale[j] += ((double)x - r->mean[j]) * ((double)x - r->mean[j]);
		}
	}
	for (size_t j = 0; j < D; j++) {
		double sd = sqrt(r->scale[j] / (double)M);
		r->scale[j] = sd > 0.0 ? sd : 1.0;
	}

	/* Normal equations, block by block: A += Zb'Zb, b += Zb'yb. */
	size_t i = 0;
	while (i < N) {
		size_t nb = 0;
		for (; i < N && nb < RIDGE_BLOCK; i++) {
			if (isnan(y[i]))
				continue;
			for (size_t j = 0; j < D; j++)
				Zb[nb * D + j] = ridge_z(r, X[i * D + j], j);
			yb[nb] = (double)y[i] - ymean;
			nb++;
		}
		if (nb == 0)
			break;
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)nb, 1.0, Zb, (int)D, 1.0, A, (int)D);
		cblas_dgemv(CblasRowMajor, CblasTrans, (int)nb, (int)D, 1.0, Zb, (int)D, yb, 1, 1.0, b, 1);
	}
	for (size_t j = 0; j < D; j++)
		A[j * D + j] += alpha;

	lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)D, 1, A, (lapack_int)D, b, 1);
	if (info > 0) {
		rc = seg_error_set(err, SEG_EINVAL,
		                   "ridge: the features are collinear (Z'Z + alpha I is singular at column %d); "
		                   "use alpha > 0",
		                   (int)info);
		goto fail;
	}
	if (info < 0) {
		rc = seg_error_set(err, SEG_EINVAL, "ridge: LAPACKE_dposv rejected argument %d", (int)-info);
		goto fail;
	}
	memcpy(r->w, b, D * sizeof *b);
	r->intercept = ymean; /* the standardised columns have mean 0 */
	goto out;

fail:
	quality_ridge_free(r);
out:
	free(cnt);
	free(A);
	free(b);
	free(Zb);
	free(yb);
	return rc;
}

int quality_ridge_predict(const quality_ridge *r, const float *X, size_t N, size_t D, double *out, seg_error *err)
{
	if (D != r->d)
		return seg_error_set(err, SEG_EINVAL, "ridge: the model expects %zu features, got %zu", r->d, D);
	for (size_t i = 0; i < N; i++) {
		double s = r->intercept;
		for (size_t j = 0; j < D; j++)
			s += r->w[j] * ridge_z(r, X[i * D + j], j);
		out[i] = s;
	}
	return 0;
}

/* ---------------------------------------------------------------- scores, folds */

double quality_r2(const float *y, const double *yhat, size_t n)
{
	double mean = 0.0;
	for (size_t i = 0; i < n; i++)
		mean += (double)y[i];
	mean /= (double)n;
	double ss_res = 0.0, ss_tot = 0.0;
	for (size_t i = 0; i < n; i++) {
		double e = (double)y[i] - yhat[i], t = (double)y[i] - mean;
		ss_res += e * e;
		ss_tot += t * t;
	}
	if (ss_tot == 0.0)
		return ss_res == 0.0 ? 1.0 : 0.0;
	return 1.0 - ss_res / ss_tot;
}

double quality_mae(const float *y, const double *yhat, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += fabs((double)y[i] - yhat[i]);
	return s / (double)n;
}

int quality_cv_folds(uint32_t *fold, size_t N, unsigned k, uint64_t seed, seg_error *err)
{
	if (k < 2)
		return seg_error_set(err, SEG_EINVAL, "cross-validation needs at least 2 folds (got %u)", k);
	if (N < k)
		return seg_error_set(err, SEG_EINVAL, "cross-validation with %u folds needs at least %u rows, got %zu",
		                     k, k, N);
	if (N > UINT32_MAX)
		return seg_error_set(err, SEG_EINVAL, "cross-validation: too many rows (%zu)", N);
	uint32_t *perm = malloc(N * sizeof *perm); /* [N] shuffled row indices */
	if (perm == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory shuffling %zu rows", N);
	for (size_t i = 0; i < N; i++)
		perm[i] = (uint32_t)i;
	uint64_t state = seed;
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = (size_t)(rng_splitmix64(&state) % (uint64_t)(i + 1));
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < N; i++)
		fold[perm[i]] = (uint32_t)(i % k);
	free(perm);
	return 0;
}

/* ---------------------------------------------------------------- cross-validation */

const char *const quality_cv_model_names[QUALITY_CV__COUNT] = {
	[QUALITY_CV_XGB] = "xgboost",
	[QUALITY_CV_MEAN] = "mean",
	[QUALITY_CV_RIDGE] = "ridge",
};

/* Mean and population standard deviation of v[k]. */
static void mean_std(const double *v, unsigned k, double *mean, double *std)
{
	double s = 0.0, ss = 0.0;
	for (unsigned f = 0; f < k; f++)
		s += v[f];
	*mean = s / k;
	for (unsigned f = 0; f < k; f++)
		ss += (v[f] - *mean) * (v[f] - *mean);
	*std = sqrt(ss / k);
}

int quality_cv_run(const float *X, const float *y, size_t N, size_t D, const quality_params *p,
                   const quality_cv_opts *o, quality_cv_report *out, seg_error *err)
{
	float *Xv = NULL, *yv = NULL, *Xtr = NULL, *ytr = NULL, *Xte = NULL, *yte = NULL, *pf = NULL;
	double *pd = NULL;
	uint32_t *fold = NULL;
	quality_model *model = NULL;
	quality_ridge ridge = {0};
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (o->k < 2 || o->k > QUALITY_CV_MAX_FOLDS)
		return seg_error_set(err, SEG_EINVAL, "cross-validation: k must be in 2..%d (got %u)",
		                     QUALITY_CV_MAX_FOLDS, o->k);
	if ((rc = params_check(p, err)))
		return rc;
	if (D == 0)
		return seg_error_set(err, SEG_EINVAL, "cross-validation: no features (D = 0)");
	size_t M = count_targets(y, N);
	if (M == 0)
		return seg_error_set(err, SEG_EINVAL,
		                     "cross-validation: none of the %zu rows has a target (all NaN or no rows)", N);
	if (M < o->k)
		return seg_error_set(err, SEG_EINVAL,
		                     "cross-validation with %u folds needs at least %u rows with a target, got %zu "
		                     "(of %zu rows)",
		                     o->k, o->k, M, N);

	Xv = malloc(M * D * sizeof *Xv);   /* [M][D] rows with a target */
	yv = malloc(M * sizeof *yv);       /* [M] */
	Xtr = malloc(M * D * sizeof *Xtr); /* [M][D] training fold (first ntr rows used) */
	ytr = malloc(M * sizeof *ytr);     /* [M] */
	Xte = malloc(M * D * sizeof *Xte); /* [M][D] held-out fold (first nte rows used) */
	yte = malloc(M * sizeof *yte);     /* [M] */
	pf = malloc(M * sizeof *pf);       /* [M] float predictions of the booster */
	pd = malloc(M * sizeof *pd);       /* [M] predictions being scored */
	fold = malloc(M * sizeof *fold);   /* [M] fold of each row */
	if (!Xv || !yv || !Xtr || !ytr || !Xte || !yte || !pf || !pd || !fold) {
		rc = seg_error_set(err, SEG_ENOMEM, "cross-validation: out of memory for %zu rows", M);
		goto out;
	}
	copy_targets(X, y, N, D, Xv, yv);
	if ((rc = quality_cv_folds(fold, M, o->k, o->seed, err)))
		goto out;

	out->k = o->k;
	out->n = M;
	for (unsigned f = 0; f < o->k; f++) {
		size_t ntr = 0, nte = 0;
		double ysum = 0.0;
		for (size_t i = 0; i < M; i++) {
			if (fold[i] == f) {
				memcpy(Xte + nte * D, Xv + i * D, D * sizeof *Xv);
				yte[nte++] = yv[i];
			} else {
				memcpy(Xtr + ntr * D, Xv + i * D, D * sizeof *Xv);
				ytr[ntr++] = yv[i];
				ysum += (double)yv[i];
			}
		}

		/* Boosted trees. */
		if ((rc = train_rows(&model, Xtr, ytr, ntr, D, p, err)) ||
		    (rc = quality_model_predict(model, Xte, nte, D, pf, err)))
			goto out;
		quality_model_free(model);
		model = NULL;
		for (size_t i = 0; i < nte; i++)
			pd[i] = (double)pf[i];
		out->model[QUALITY_CV_XGB].r2[f] = quality_r2(yte, pd, nte);
		out->model[QUALITY_CV_XGB].mae[f] = quality_mae(yte, pd, nte);

		/* The training-fold mean. */
		for (size_t i = 0; i < nte; i++)
			pd[i] = ysum / (double)ntr;
		out->model[QUALITY_CV_MEAN].r2[f] = quality_r2(yte, pd, nte);
		out->model[QUALITY_CV_MEAN].mae[f] = quality_mae(yte, pd, nte);

		/* Ridge. */
		if ((rc = quality_ridge_fit(&ridge, Xtr, ytr, ntr, D, o->ridge_alpha, err)) ||
		    (rc = quality_ridge_predict(&ridge, Xte, nte, D, pd, err)))
			goto out;
		quality_ridge_free(&ridge);
		out->model[QUALITY_CV_RIDGE].r2[f] = quality_r2(yte, pd, nte);
		out->model[QUALITY_CV_RIDGE].mae[f] = quality_mae(yte, pd, nte);
	}
	for (int m = 0; m < QUALITY_CV__COUNT; m++) {
		quality_cv_score *s = &out->model[m];
		mean_std(s->r2, o->k, &s->r2_mean, &s->r2_std);
		mean_std(s->mae, o->k, &s->mae_mean, &s->mae_std);
	}

out:
	quality_model_free(model);
	quality_ridge_free(&ridge);
	free(Xv);
	free(yv);
	free(Xtr);
	free(ytr);
	free(Xte);
	free(yte);
	free(pf);
	free(pd);
	free(fold);
	return rc;
}

/* ---------------------------------------------------------------- hidden gems */

static int cmp_gem(const void *a, const void *b)
{
	const quality_gem *x = a, *y = b;
	if (x->gap != y->gap)
		return x->gap < y->gap ? 1 : -1;
	if (x->predicted != y->predicted)
		return x->predicted < y->predicted ? 1 : -1;
	return (x->item > y->item) - (x->item < y->item);
}

int quality_gems_find(const float *pred, const float *actual, size_t N, const quality_gem_opts *o, quality_gem **out,
                      size_t *count, seg_error *err)
{
	*out = NULL;
	*count = 0;
	if (isnan(o->min_gap) || isnan(o->min_predicted))
		return seg_error_set(err, SEG_EINVAL, "hidden gems: min_gap and min_predicted must not be NaN");
	if (N > UINT32_MAX)
		return seg_error_set(err, SEG_EINVAL, "hidden gems: too many items (%zu)", N);
	size_t n = 0;
	quality_gem *g = NULL;
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0 counts, pass 1 fills: no over-allocation for a large catalogue. */
		size_t c = 0;
		for (size_t i = 0; i < N; i++) {
			if (isnan(pred[i]) || isnan(actual[i]))
				continue;
			double gap = (double)pred[i] - (double)actual[i];
			if (!(gap > o->min_gap) || !((double)pred[i] >= o->min_predicted))
				continue;
			if (pass == 1)
				g[c] = (quality_gem){.item = (uint32_t)i,
				                     .predicted = pred[i],
				                     .actual = actual[i],
				                     .gap = (float)gap};
			c++;
		}
		if (pass == 0) {
			if (c == 0)
				return 0;
			g = malloc(c * sizeof *g);
			if (g == NULL)
				return seg_error_set(err, SEG_ENOMEM, "hidden gems: out of memory for %zu items", c);
		}
		n = c;
	}
	qsort(g, n, sizeof *g, cmp_gem);
	if (o->top_k > 0 && n > o->top_k)
		n = o->top_k; /* the tail stays allocated; the caller frees the whole array */
	*out = g;
	*count = n;
	return 0;
}
