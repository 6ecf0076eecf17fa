/* test_quality.c: the quality prior (quality.h) against references:
 * predictions of the C path against the Python xgboost package (same library
 * version, same data, same parameters, nthread = 1), the ridge baseline and
 * the cross-validation against scikit-learn, read from
 * tests/golden/quality_golden.txt (written by tests/golden/quality_golden.py);
 * plus folds, save/load, NaN targets, hidden gems and the errors.
 * Each comparison prints its largest difference. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/quality.h"

/* The golden data set (mirrors make_data() in quality_golden.py). */
#define N 1500
#define D 8
#define N_TRAIN 1200
#define DATA_SEED 20240601ull
#define MISSING 0.06
#define RIDGE_ALPHA 1.0
#define CV_K 5
#define CV_SEED 99

#define XGB_TOL 1e-4   /* predictions, C against Python */
#define RIDGE_TOL 1e-6 /* ridge R² and coefficients against scikit-learn */

static float X[N][D]; /* [N][D] features, NaN = missing */
static float Y[N];    /* [N] targets */
#define GOLDEN "quality_golden.txt"

/* ---------------------------------------------------------------- fixtures */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* 24 random bits in [0, 1): exact in float and double. */
static double uniform(uint64_t *s) { return (double)(splitmix64(s) >> 40) / 16777216.0; }

/* y = nonlinear function of the first six features + noise, clipped to
 * 0..100; 6% of feature values missing. The operations and their order are
 * those of the Python script, so both produce the same float32 values. */
static void make_data(void)
{
	static const double scale[D] = {1.0, 4.0, 2.0, 8.0, 1.0, 16.0, 0.5, 32.0};
	static const double offset[D] = {0.0, -2.0, 0.0, 10.0, 0.0, -8.0, 0.0, 100.0};
	uint64_t s = DATA_SEED;
	for (int i = 0; i < N; i++) {
		double u[D], e[4], miss[D];
		for (int j = 0; j < D; j++)
			u[j] = uniform(&s);
		for (int j = 0; j < 4; j++)
			e[j] = uniform(&s);
		for (int j = 0; j < D; j++)
			miss[j] = uniform(&s);
		for (int j = 0; j < D; j++)
			X[i][j] = miss[j] < MISSING ? NAN : (float)(u[j] * scale[j] + offset[j]);
		double v = 35.0 + 30.0 * u[0] * u[1] + (u[2] > 0.6 ? 12.0 : 0.0) - 80.0 * (u[3] - 0.5) * (u[3] - 0.5) +
		           10.0 * u[4] + ((u[5] < 0.3 && u[0] > 0.5) ? 6.0 : 0.0) +
		           6.0 * (e[0] + e[1] + e[2] + e[3] - 2.0);
		Y[i] = (float)fmin(fmax(v, 0.0), 100.0);
	}
}

/* Reads the values of line "key v1 v2 ..." of the golden file into out[max];
 * returns how many the line has. A missing key fails the test. */
static size_t gold(const char *key, double *out, size_t max)
{
	size_t n;
	double *v = tu_golden_values(GOLDEN, key, &n);
	memcpy(out, v, sizeof *v * (n < max ? n : max));
	free(v);
	return n;
}

static double gold1(const char *key) { return tu_golden_value(GOLDEN, key); }

static int setup(void **state)
{
	(void)state;
	make_data();
	char path[1024];
	if (tu_golden_path(GOLDEN, path, sizeof path) == NULL) {
		fprintf(stderr, "cannot find tests/golden/" GOLDEN " (set SEGUE_ROOT to the repository)\n");
		return -1;
	}
	return 0;
}

/* The parameters of the comparison (PARAMS in the Python script). */
static quality_params golden_params(void)
{
	quality_params p;
	quality_params_default(&p);
	p.rounds = 200;
	p.max_depth = 5;
	p.eta = 0.1;
	p.subsample = 0.8;
	p.colsample = 0.8;
	p.min_child_weight = 2.0;
	p.seed = 7;
	p.nthread = 1;
	return p; /* base_score stays NaN: the training mean, as the script computes it */
}

/* ---------------------------------------------------------------- against Python */

static void test_data_matches_golden(void **state)
{
	(void)state;
	double xs = 0.0, ys = 0.0;
	int nans = 0;
	for (int i = 0; i < N; i++) {
		for (int j = 0; j < D; j++) {
			if (isnan(X[i][j]))
				nans++;
			else
				xs += (double)X[i][j];
		}
		ys += (double)Y[i];
	}
	/* Bit-identical inputs, or nothing below is a fair comparison. */
	assert_true(xs == gold1("data_x_sum"));
	assert_true(ys == gold1("data_y_sum"));
	assert_int_equal(nans, (int)gold1("data_nan_count"));
	double row0[D];
	assert_int_equal(gold("data_x_row0", row0, D), D);
	for (int j = 0; j < D; j++)
		assert_true((double)X[0][j] == row0[j]);
	printf("# data: %d x %d, %d missing values, identical to the Python generator\n", N, D, nans);
}

static void test_xgb_matches_python(void **state)
{
	(void)state;
	seg_error err;
	quality_params p = golden_params();
	quality_model *m = NULL;
	int rc = quality_model_train(&m, &X[0][0], Y, N_TRAIN, D, &p, &err);
	if (rc)
		fail_msg("train: %s", err.msg);
	assert_int_equal(quality_model_features(m), D);

	static float pred[N];
	static double want[N], pd[N - N_TRAIN];
	assert_int_equal(quality_model_predict(m, &X[0][0], N, D, pred, &err), 0);
	assert_int_equal(gold("xgb_pred", want, N), N);
	double worst = 0.0;
	int worst_i = 0;
	for (int i = 0; i < N; i++) {
		/* The file holds float32 values to 9 digits: back to float is exact. */
		double d = fabs((double)pred[i] - (double)(float)want[i]);
		if (d > worst) {
			worst = d;
			worst_i = i;
		}
	}
	for (int i = N_TRAIN; i < N; i++)
		pd[i - N_TRAIN] = pred[i];
	double r2 = quality_r2(Y + N_TRAIN, pd, N - N_TRAIN);
	printf("# xgboost C vs Python (%d rows, 200 rounds): largest |diff| %.3g (row %d)%s; "
	       "test R2 %.9f (python %.9f)\n",
	       N, worst, worst_i, worst == 0.0 ? ", bit-identical" : "", r2, gold1("xgb_r2_test"));
	assert_true(worst <= XGB_TOL);
	assert_near(r2, gold1("xgb_r2_test"), 1e-5);
	quality_model_free(m);
}

static void test_ridge_matches_sklearn(void **state)
{
	(void)state;
	seg_error err;
	quality_ridge r = {0};
	assert_int_equal(quality_ridge_fit(&r, &X[0][0], Y, N_TRAIN, D, RIDGE_ALPHA, &err), 0);
	static double pred[N];
	assert_int_equal(quality_ridge_predict(&r, &X[0][0], N, D, pred, &err), 0);

	double r2_test = quality_r2(Y + N_TRAIN, pred + N_TRAIN, N - N_TRAIN);
	double r2_train = quality_r2(Y, pred, N_TRAIN);
	double mae = quality_mae(Y + N_TRAIN, pred + N_TRAIN, N - N_TRAIN);
	double coef[D], head[10], worst = 0.0;
	assert_int_equal(gold("ridge_coef", coef, D), D);
	assert_int_equal(gold("ridge_pred_head", head, 10), 10);
	for (int j = 0; j < D; j++)
		worst = fmax(worst, fabs(r.w[j] - coef[j]));
	for (int i = 0; i < 10; i++)
		worst = fmax(worst, fabs(pred[i] - head[i]));
	double dr2 = fmax(fabs(r2_test - gold1("ridge_r2_test")), fabs(r2_train - gold1("ridge_r2_train")));
	printf("# ridge vs scikit-learn: test R2 %.9f (sklearn %.9f), |diff R2| %.3g, "
	       "largest |diff| coefficients/predictions %.3g\n",
	       r2_test, gold1("ridge_r2_test"), dr2, worst);
	assert_near(r2_test, gold1("ridge_r2_test"), RIDGE_TOL);
	assert_near(r2_train, gold1("ridge_r2_train"), RIDGE_TOL);
	assert_near(mae, gold1("ridge_mae_test"), RIDGE_TOL);
	assert_near(r.intercept, gold1("ridge_intercept"), RIDGE_TOL);
	assert_true(worst <= RIDGE_TOL);
	quality_ridge_free(&r);
	quality_ridge_free(&r);
	quality_ridge_free(NULL);
}

static void test_cv_matches_reference(void **state)
{
	(void)state;
	seg_error err;
	quality_params p = golden_params();
	quality_cv_opts o = {.k = CV_K, .seed = CV_SEED, .ridge_alpha = RIDGE_ALPHA};
	quality_cv_report rep;
	int rc = quality_cv_run(&X[0][0], Y, N, D, &p, &o, &rep, &err);
	if (rc)
		fail_msg("cv: %s", err.msg);
	assert_int_equal(rep.k, CV_K);
	assert_int_equal(rep.n, N);

	/* The folds are the script's. */
	static uint32_t fold[N];
	assert_int_equal(quality_cv_folds(fold, N, CV_K, CV_SEED, &err), 0);
	double head[40];
	assert_int_equal(gold("cv_fold_head", head, 40), 40);
	for (int i = 0; i < 40; i++)
		assert_int_equal(fold[i], (uint32_t)head[i]);

	static const char *const key[QUALITY_CV__COUNT] = {"xgboost", "mean", "ridge"};
	const double tol[QUALITY_CV__COUNT] = {1e-4, 1e-9, RIDGE_TOL};
	for (int m = 0; m < QUALITY_CV__COUNT; m++) {
		char name[64];
		double r2[CV_K], mae[CV_K], sum[4], worst = 0.0;
		const quality_cv_score *s = &rep.model[m];
		snprintf(name, sizeof name, "cv_%s_r2", key[m]);
		assert_int_equal(gold(name, r2, CV_K), CV_K);
		snprintf(name, sizeof name, "cv_%s_mae", key[m]);
		assert_int_equal(gold(name, mae, CV_K), CV_K);
		snprintf(name, sizeof name, "cv_%s_summary", key[m]);
		assert_int_equal(gold(name, sum, 4), 4);
		for (int f = 0; f < CV_K; f++) {
			worst = fmax(worst, fabs(s->r2[f] - r2[f]));
			worst = fmax(worst, fabs(s->mae[f] - mae[f]));
		}
		worst = fmax(worst, fabs(s->r2_mean - sum[0]));
		worst = fmax(worst, fabs(s->r2_std - sum[1]));
		worst = fmax(worst, fabs(s->mae_mean - sum[2]));
		worst = fmax(worst, fabs(s->mae_std - sum[3]));
		printf("# cv %-7s R2 %.4f ± %.4f  MAE %.3f ± %.3f  (largest |diff| vs reference %.3g)\n",
		       quality_cv_model_names[m], s->r2_mean, s->r2_std, s->mae_mean, s->mae_std, worst);
		assert_true(worst <= tol[m]);
	}
	/* The ordering the prior is for: trees beat the line, which beats the mean. */
	assert_true(rep.model[QUALITY_CV_XGB].r2_mean > rep.model[QUALITY_CV_RIDGE].r2_mean);
	assert_true(rep.model[QUALITY_CV_RIDGE].r2_mean > rep.model[QUALITY_CV_MEAN].r2_mean);
}

/* ---------------------------------------------------------------- folds */

static void test_cv_folds_partition(void **state)
{
	(void)state;
	seg_error err;
	const size_t ns[] = {2, 7, 10, 101, 1000};
	const unsigned ks[] = {2, 3, 5, 10};
	static uint32_t fold[1000], again[1000];
	for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
		for (size_t b = 0; b < sizeof ks / sizeof *ks; b++) {
			size_t n = ns[a];
			unsigned k = ks[b];
			if (n < k) {
				assert_int_equal(quality_cv_folds(fold, n, k, 1, &err), SEG_EINVAL);
				continue;
			}
			memset(fold, 0xff, sizeof fold);
			assert_int_equal(quality_cv_folds(fold, n, k, 1, &err), 0);
			/* Every row in exactly one fold 0..k-1; sizes floor(n/k) or ceil(n/k). */
			size_t size[10] = {0};
			for (size_t i = 0; i < n; i++) {
				assert_true(fold[i] < k);
				size[fold[i]]++;
			}
			size_t total = 0;
			for (unsigned f = 0; f < k; f++) {
				assert_true(size[f] == n / k || size[f] == n / k + 1);
				total += size[f];
			}
			assert_int_equal(total, n);
			/* Same seed, same folds. */
			assert_int_equal(quality_cv_folds(again, n, k, 1, &err), 0);
			assert_memory_equal(fold, again, n * sizeof *fold);
		}
	}
	/* Another seed shuffles differently. */
	assert_int_equal(quality_cv_folds(fold, 1000, 5, 1, &err), 0);
	assert_int_equal(quality_cv_folds(again, 1000, 5, 2, &err), 0);
	assert_true(memcmp(fold, again, 1000 * sizeof *fold) != 0);
	/* k < 2, N < k. */
	assert_int_equal(quality_cv_folds(fold, 10, 1, 1, &err), SEG_EINVAL);
	assert_int_equal(quality_cv_folds(fold, 3, 5, 1, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "at least 5 rows"));
}

/* ---------------------------------------------------------------- persistence, NaN targets */

static void test_save_load_roundtrip(void **state)
{
	(void)state;
	seg_error err;
	quality_params p = golden_params();
	p.rounds = 40;
	quality_model *m = NULL, *back = NULL;
	assert_int_equal(quality_model_train(&m, &X[0][0], Y, N_TRAIN, D, &p, &err), 0);
	void *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	assert_int_equal(quality_model_save(m, &buf, &len, &err), 0);
	assert_true(len > 100);

	assert_int_equal(quality_model_load(&back, buf, len, 2, &err), 0);
	assert_int_equal(quality_model_features(back), D);
	static float a[N], b[N];
	assert_int_equal(quality_model_predict(m, &X[0][0], N, D, a, &err), 0);
	assert_int_equal(quality_model_predict(back, &X[0][0], N, D, b, &err), 0);
	assert_memory_equal(a, b, sizeof a); /* bit for bit */
	/* Saving the loaded model gives the same bytes. */
	assert_int_equal(quality_model_save(back, &buf2, &len2, &err), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	printf("# save/load: %zu-byte model, predictions identical on %d rows\n", len, N);

	/* A wrong feature count is refused. */
	assert_int_equal(quality_model_predict(back, &X[0][0], N, D - 1, b, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "expects 8 features"));
	/* Bytes that are not a model: XGBoost's own message, as SEG_EFORMAT. */
	quality_model *bad = (quality_model *)1;
	static const char junk[] = "this is not an xgboost model at all";
	assert_int_equal(quality_model_load(&bad, junk, sizeof junk, 1, &err), SEG_EFORMAT);
	assert_null(bad);
	assert_non_null(strstr(err.msg, "xgboost: loading the model failed"));
	printf("# garbage model: %s\n", err.msg);
	/* A truncated model. */
	assert_true(quality_model_load(&bad, buf, len / 2, 1, &err) < 0);
	assert_null(bad);
	assert_int_equal(quality_model_load(&bad, buf, 0, 1, &err), SEG_EFORMAT);
	assert_int_equal(quality_model_load(&bad, buf, len, 0, &err), SEG_EINVAL);

	free(buf);
	free(buf2);
	quality_model_free(m);
	quality_model_free(back);
	quality_model_free(NULL);
}

static void test_nan_targets_dropped(void **state)
{
	(void)state;
	seg_error err;
	enum { M = 400 };
	/* The first M rows, and the same rows with a NaN-target row after every
	 * fourth: training must see exactly the same data. */
	static float Xn[M + M / 4][D], yn[M + M / 4];
	size_t n = 0;
	for (int i = 0; i < M; i++) {
		memcpy(Xn[n], X[i], sizeof X[i]);
		yn[n++] = Y[i];
		if (i % 4 == 3) {
			memcpy(Xn[n], X[N - 1 - i], sizeof X[i]);
			yn[n++] = NAN;
		}
	}
	quality_params p = golden_params();
	p.rounds = 30;
	quality_model *a = NULL, *b = NULL;
	assert_int_equal(quality_model_train(&a, &X[0][0], Y, M, D, &p, &err), 0);
	assert_int_equal(quality_model_train(&b, &Xn[0][0], yn, n, D, &p, &err), 0);
	static float pa[N], pb[N];
	assert_int_equal(quality_model_predict(a, &X[0][0], N, D, pa, &err), 0);
	assert_int_equal(quality_model_predict(b, &X[0][0], N, D, pb, &err), 0);
	assert_memory_equal(pa, pb, sizeof pa);

	/* Ridge too. */
	quality_ridge ra = {0}, rb = {0};
	assert_int_equal(quality_ridge_fit(&ra, &X[0][0], Y, M, D, 1.0, &err), 0);
	assert_int_equal(quality_ridge_fit(&rb, &Xn[0][0], yn, n, D, 1.0, &err), 0);
	for (int j = 0; j < D; j++)
		assert_near(ra.w[j], rb.w[j], 1e-12);
	quality_ridge_free(&ra);
	quality_ridge_free(&rb);

	/* CV counts usable rows: 6 finite targets cannot make 7 folds. */
	float y7[10];
	for (int i = 0; i < 10; i++)
		y7[i] = i < 6 ? Y[i] : NAN;
	quality_cv_opts o = {.k = 7, .seed = 1, .ridge_alpha = 1.0};
	quality_cv_report rep;
	assert_int_equal(quality_cv_run(&X[0][0], y7, 10, D, &p, &o, &rep, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "got 6 (of 10 rows)"));
	quality_model_free(a);
	quality_model_free(b);
}

/* ---------------------------------------------------------------- errors */

static void test_errors(void **state)
{
	(void)state;
	seg_error err;
	quality_model *m = (quality_model *)1;
	quality_params p = golden_params();
	p.rounds = 5;

	/* All-NaN targets. */
	float ynan[20];
	for (int i = 0; i < 20; i++)
		ynan[i] = NAN;
	assert_int_equal(quality_model_train(&m, &X[0][0], ynan, 20, D, &p, &err), SEG_EINVAL);
	assert_null(m);
	assert_non_null(strstr(err.msg, "none of the 20 rows has a target"));
	quality_ridge r = {0};
	assert_int_equal(quality_ridge_fit(&r, &X[0][0], ynan, 20, D, 1.0, &err), SEG_EINVAL);
	quality_cv_opts o = {.k = 5, .seed = 1, .ridge_alpha = 1.0};
	quality_cv_report rep;
	assert_int_equal(quality_cv_run(&X[0][0], ynan, 20, D, &p, &o, &rep, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "none of the 20 rows"));

	/* N < k, k out of range. */
	assert_int_equal(quality_cv_run(&X[0][0], Y, 4, D, &p, &o, &rep, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "needs at least 5 rows"));
	o.k = 1;
	assert_int_equal(quality_cv_run(&X[0][0], Y, 100, D, &p, &o, &rep, &err), SEG_EINVAL);
	o.k = QUALITY_CV_MAX_FOLDS + 1;
	assert_int_equal(quality_cv_run(&X[0][0], Y, 100, D, &p, &o, &rep, &err), SEG_EINVAL);

	/* Parameters, each named in the message. */
	struct {
		const char *name;
		quality_params p;
	} bad[] = {
		{"rounds", p},    {"max_depth", p},        {"eta", p},     {"subsample", p},
		{"colsample", p}, {"min_child_weight", p}, {"nthread", p}, {"base_score", p},
	};
	bad[0].p.rounds = 0;
	bad[1].p.max_depth = 0;
	bad[2].p.eta = 0.0;
	bad[3].p.subsample = 1.5;
	bad[4].p.colsample = NAN;
	bad[5].p.min_child_weight = -1.0;
	bad[6].p.nthread = 0;
	bad[7].p.base_score = INFINITY;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(quality_model_train(&m, &X[0][0], Y, 100, D, &bad[i].p, &err), SEG_EINVAL);
		assert_null(m);
		assert_non_null(strstr(err.msg, bad[i].name));
	}
	assert_int_equal(quality_model_train(&m, &X[0][0], Y, 100, 0, &p, &err), SEG_EINVAL);
	assert_int_equal(quality_ridge_fit(&r, &X[0][0], Y, 100, D, -1.0, &err), SEG_EINVAL);

	/* An error inside XGBoost comes back with XGBoost's message: an infinite
	 * feature value. */
	static float Xinf[50][D];
	memcpy(Xinf, X, sizeof Xinf);
	Xinf[3][2] = INFINITY;
	int rc = quality_model_train(&m, &Xinf[0][0], Y, 50, D, &p, &err);
	printf("# infinite feature: rc %d, %s\n", rc, rc ? err.msg : "(accepted by xgboost)");
	if (rc) {
		assert_int_equal(rc, SEG_EINVAL);
		assert_non_null(strstr(err.msg, "xgboost:"));
		assert_null(strchr(err.msg, '\n'));
	} else {
		quality_model_free(m);
	}

	/* Ridge with alpha = 0 and a duplicated column: singular. */
	static float Xdup[100][2];
	for (int i = 0; i < 100; i++)
		Xdup[i][0] = Xdup[i][1] = (float)i;
	assert_int_equal(quality_ridge_fit(&r, &Xdup[0][0], Y, 100, 2, 0.0, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "collinear"));
	assert_null(r.w);
	/* ... but fine with a penalty, and a constant column gets scale 1. */
	for (int i = 0; i < 100; i++)
		Xdup[i][1] = 3.0f;
	assert_int_equal(quality_ridge_fit(&r, &Xdup[0][0], Y, 100, 2, 1.0, &err), 0);
	assert_near(r.scale[1], 1.0, 0.0);
	assert_near(r.w[1], 0.0, 0.0);
	double out[1];
	assert_int_equal(quality_ridge_predict(&r, &Xdup[0][0], 1, 3, out, &err), SEG_EINVAL);
	quality_ridge_free(&r);
}

/* ---------------------------------------------------------------- scores, gems */

static void test_r2_mae(void **state)
{
	(void)state;
	/* y = 1 2 3, ŷ = 1 2 4: SSres = 1, SStot = 2 -> R² 0.5; MAE 1/3. */
	const float y[] = {1, 2, 3};
	const double yh[] = {1, 2, 4};
	assert_near(quality_r2(y, yh, 3), 0.5, 1e-15);
	assert_near(quality_mae(y, yh, 3), 1.0 / 3.0, 1e-15);
	/* Constant y: 1 when predicted exactly, else 0 (scikit-learn). */
	const float c[] = {5, 5};
	const double ce[] = {5, 5}, cw[] = {5, 6};
	assert_near(quality_r2(c, ce, 2), 1.0, 0.0);
	assert_near(quality_r2(c, cw, 2), 0.0, 0.0);
	/* Predicting the mean: 0. */
	const double m[] = {2, 2, 2};
	assert_near(quality_r2(y, m, 3), 0.0, 1e-15);
}

static void test_hidden_gems(void **state)
{
	(void)state;
	seg_error err;
	/* item:      0   1   2   3   4    5    6   7   8
	 * predicted 50  80  30  70  NaN  60   90  65  80
	 * actual    40  20  35  10  5    NaN  30  5   20
	 * gap       10  60  -5  60  -    -    60  60  60
	 * Gap 60 ties, broken by predicted (90, 80, 80, 70, 65), then by item
	 * (1 before 8): 6 1 8 3 7, then 0 (gap 10); 2 has a negative gap; 4 and 5
	 * have a NaN. */
	const float pred[] = {50, 80, 30, 70, NAN, 60, 90, 65, 80};
	const float act[] = {40, 20, 35, 10, 5, NAN, 30, 5, 20};
	quality_gem *g = NULL;
	size_t n = 0;

	quality_gem_opts o = {.min_gap = 5, .min_predicted = -INFINITY, .top_k = 0};
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), 0);
	const uint32_t want[] = {6, 1, 8, 3, 7, 0};
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(g[i].item, want[i]);
	assert_float_equal(g[0].gap, 60.0f, 0.0f);
	assert_float_equal(g[0].predicted, 90.0f, 0.0f);
	assert_float_equal(g[0].actual, 30.0f, 0.0f);
	assert_float_equal(g[5].gap, 10.0f, 0.0f);
	free(g);

	/* Threshold 20 drops item 0; "exceeds" is strict: threshold 60 keeps none of the 60s. */
	o.min_gap = 20;
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), 0);
	assert_int_equal(n, 5);
	free(g);
	o.min_gap = 60;
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(g);

	/* Top 2 by gap, any gap. */
	o = (quality_gem_opts){.min_gap = -INFINITY, .min_predicted = -INFINITY, .top_k = 2};
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].item, 6);
	assert_int_equal(g[1].item, 1);
	free(g);
	/* All 7 with both values (item 2's negative gap last), top_k larger than that. */
	o.top_k = 100;
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), 0);
	assert_int_equal(n, 7);
	assert_int_equal(g[6].item, 2);
	free(g);

	/* Minimum predicted 75: 6 and 1 and 8 (predicted 90, 80, 80). */
	o = (quality_gem_opts){.min_gap = 0, .min_predicted = 75, .top_k = 0};
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(g[0].item, 6);
	assert_int_equal(g[1].item, 1);
	assert_int_equal(g[2].item, 8);
	free(g);

	/* Nothing in, nothing out; NaN options refused. */
	assert_int_equal(quality_gems_find(pred, act, 0, &o, &g, &n, &err), 0);
	assert_int_equal(n, 0);
	o.min_gap = NAN;
	assert_int_equal(quality_gems_find(pred, act, 9, &o, &g, &n, &err), SEG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_matches_golden),
		cmocka_unit_test(test_xgb_matches_python),
		cmocka_unit_test(test_ridge_matches_sklearn),
		cmocka_unit_test(test_cv_matches_reference),
		cmocka_unit_test(test_cv_folds_partition),
		cmocka_unit_test(test_save_load_roundtrip),
		cmocka_unit_test(test_nan_targets_dropped),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_r2_mae),
		cmocka_unit_test(test_hidden_gems),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
