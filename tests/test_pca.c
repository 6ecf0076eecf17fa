/* test_pca.c: PCA against scikit-learn (tests/golden/kmeans_pca_golden.py):
 * components up to sign, explained variance (ratio), transformed coordinates;
 * constant columns, N < D; plus the sign convention, orthonormality, a
 * hand-checkable line far from the origin, all-constant data and bad input. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/pca.h"

/* ---- golden values ----------------------------------------------------- */

/* The values of line "<set>.<field> v v v" of pca_golden.txt (malloc'd);
 * *count receives how many. Fails when the key is missing. */
static double *golden_array(const char *set, const char *field, size_t *count)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", set, field);
	return tu_golden_values("pca_golden.txt", key, count);
}

/* The one value of line "<set>.<field> v". */
static double golden_scalar(const char *set, const char *field)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", set, field);
	return tu_golden_value("pca_golden.txt", key);
}

/* ---- comparison against scikit-learn ------------------------------------- */

/* Fits 2 components to x [N][D] and compares with the golden set; prints the
 * largest differences. */
static void compare(const char *set, const float *x, size_t n, int d)
{
	assert_int_equal((size_t)golden_scalar(set, "n"), n);
	assert_int_equal((int)golden_scalar(set, "d"), d);
	const int C = 2;
	size_t cnt;
	double *mean = golden_array(set, "mean", &cnt); /* [D] */
	assert_int_equal(cnt, (size_t)d);
	double *comp = golden_array(set, "components", &cnt); /* [C][D] */
	assert_int_equal(cnt, (size_t)C * d);
	double *var = golden_array(set, "explained_variance", &cnt);         /* [C] */
	double *ratio = golden_array(set, "explained_variance_ratio", &cnt); /* [C] */
	assert_int_equal(cnt, (size_t)C);
	size_t rows = (size_t)golden_scalar(set, "transformed_rows");
	double *yref = golden_array(set, "transformed", &cnt); /* [rows][C] */
	assert_int_equal(cnt, rows * C);

	pca_model m;
	seg_error err;
	assert_int_equal(pca_fit(x, n, d, C, &m, &err), 0);
	assert_int_equal(m.c, C);
	assert_int_equal(m.d, d);

	double dmean = 0, dcomp = 0, dvar = 0, dratio = 0, dy = 0;
	for (int j = 0; j < d; j++)
		dmean = fmax(dmean, fabs(m.mean[j] - mean[j]));
	double sign[2];
	for (int c = 0; c < C; c++) {
		double dot = 0;
		for (int j = 0; j < d; j++)
			dot += m.components[c * d + j] * comp[c * d + j];
		sign[c] = dot < 0 ? -1 : 1; /* scikit-learn fixes signs its own way */
		for (int j = 0; j < d; j++)
			dcomp = fmax(dcomp, fabs(sign[c] * m.components[c * d + j] - comp[c * d + j]));
		dvar = fmax(dvar, fabs(m.explained_variance[c] - var[c]) / var[c]);
		dratio = fmax(dratio, fabs(m.explained_variance_ratio[c] - ratio[c]));
	}
	float *y = malloc(sizeof(float) * n * C); /* [N][C] */
	assert_int_equal(pca_transform(&m, x, n, y, &err), 0);
	double ymax = 0;
	for (size_t i = 0; i < rows; i++)
		for (int c = 0; c < C; c++) {
			dy = fmax(dy, fabs(sign[c] * y[i * C + c] - yref[i * C + c]));
			ymax = fmax(ymax, fabs(yref[i * C + c]));
		}
	printf("# %s (%zu x %d): ratio %.6f %.6f (sklearn %.6f %.6f); largest diff: mean %.2g, "
	       "components %.2g, variance (rel) %.2g, ratio %.2g, transformed %.2g (|y| <= %.2f)\n",
	       set, n, d, m.explained_variance_ratio[0], m.explained_variance_ratio[1], ratio[0], ratio[1], dmean,
	       dcomp, dvar, dratio, dy, ymax);
	assert_true(dmean < 1e-5);
	assert_true(dcomp < 1e-4);
	assert_true(dvar < 1e-5);
	assert_true(dratio < 1e-5);
	assert_true(dy < 1e-4 * (1 + ymax));

	free(y);
	free(mean);
	free(comp);
	free(var);
	free(ratio);
	free(yref);
	pca_model_free(&m);
}

static void test_golden_blobs(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = tu_golden_matrix("kmeans_blobs.bin", &n, &d);
	compare("blobs", x, n, d);
	free(x);
}

static void test_golden_features(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = tu_golden_matrix("kmeans_features.bin", &n, &d);
	compare("features", x, n, d);
	free(x);
}

/* Data inlined in the golden file as float32 values. */
static float *inline_matrix(const char *set, size_t *n, int *d)
{
	*n = (size_t)golden_scalar(set, "n");
	*d = (int)golden_scalar(set, "d");
	size_t cnt;
	double *v = golden_array(set, "x", &cnt);
	assert_int_equal(cnt, *n * (size_t)*d);
	float *x = malloc(sizeof(float) * cnt);
	for (size_t i = 0; i < cnt; i++)
		x[i] = (float)v[i];
	free(v);
	return x;
}

/* N < D: 6 rows in 12 dimensions (rank 5). */
static void test_small_n(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = inline_matrix("small_n", &n, &d);
	assert_true(n < (size_t)d);
	compare("small_n", x, n, d);
	/* All 12 components: only 5 carry variance; the rest are exactly zero. */
	pca_model m;
	assert_int_equal(pca_fit(x, n, d, d, &m, NULL), 0);
	double sum = 0;
	for (int c = 0; c < d; c++)
		sum += m.explained_variance_ratio[c];
	assert_float_equal(sum, 1.0, 1e-9);
	for (int c = (int)n - 1; c < d; c++)
		assert_true(m.explained_variance[c] < 1e-9 * m.explained_variance[0]);
	pca_model_free(&m);
	free(x);
}

/* Two constant columns: no loading on them, and they add no variance. */
static void test_constant_columns(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = inline_matrix("const", &n, &d);
	compare("const", x, n, d);
	pca_model m;
	assert_int_equal(pca_fit(x, n, d, 2, &m, NULL), 0);
	for (int c = 0; c < 2; c++) {
		assert_true(fabsf(m.components[c * d + 2]) < 1e-6f);
		assert_true(fabsf(m.components[c * d + 5]) < 1e-6f);
	}
	assert_float_equal(m.mean[2], 4.25, 1e-12);
	assert_float_equal(m.mean[5], -1.5, 1e-12);
	pca_model_free(&m);
	free(x);
}

/* Components are orthonormal, ordered by variance, and each has its entry of
 * largest magnitude positive. */
static void test_orthonormal_and_signs(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = tu_golden_matrix("kmeans_features.bin", &n, &d);
	pca_model m;
	assert_int_equal(pca_fit(x, n, d, d, &m, NULL), 0);
	double worst = 0, total = 0;
	for (int a = 0; a < d; a++) {
		for (int b = 0; b < d; b++) {
			double dot = 0;
			for (int j = 0; j < d; j++)
				dot += (double)m.components[a * d + j] * m.components[b * d + j];
			worst = fmax(worst, fabs(dot - (a == b)));
		}
		if (a > 0)
			assert_true(m.explained_variance[a] <= m.explained_variance[a - 1]);
		int big = 0;
		for (int j = 1; j < d; j++)
			if (fabsf(m.components[a * d + j]) > fabsf(m.components[a * d + big]))
				big = j;
		assert_true(m.components[a * d + big] > 0);
		total += m.explained_variance[a];
	}
	printf("# orthonormality: largest |W W^T - I| %.2g\n", worst);
	assert_true(worst < 1e-5);
	assert_float_equal(total, m.total_variance, 1e-9 * m.total_variance);
	pca_model_free(&m);
	free(x);
}

/* Points on the line y = 2x, far from the origin (like raw duration_ms): the
 * first axis is (1, 2)/sqrt(5), with all of the variance. */
static void test_line_far_from_origin(void **state)
{
	(void)state;
	enum { N = 101 };
	float x[N * 2];
	for (int i = 0; i < N; i++) {
		x[2 * i] = 100000.0f + (float)(i - 50);
		x[2 * i + 1] = 250000.0f + 2.0f * (float)(i - 50);
	}
	pca_model m;
	assert_int_equal(pca_fit(x, N, 2, 2, &m, NULL), 0);
	assert_float_equal(m.components[0], 1 / sqrt(5.0), 1e-6);
	assert_float_equal(m.components[1], 2 / sqrt(5.0), 1e-6);
	assert_float_equal(m.explained_variance_ratio[0], 1.0, 1e-12);
	assert_float_equal(m.explained_variance_ratio[1], 0.0, 1e-12);
	/* variance along the line: sum of |(i - 50) (1, 2)|^2, over N - 1 */
	double v = 0;
	for (int i = 0; i < N; i++)
		v += 5.0 * (i - 50) * (i - 50);
	assert_float_equal(m.explained_variance[0], v / (N - 1), 1e-9 * v);
	float y[N * 2];
	assert_int_equal(pca_transform(&m, x, N, y, NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_float_equal(y[2 * i], sqrt(5.0) * (i - 50), 1e-3);
		assert_float_equal(y[2 * i + 1], 0.0, 1e-3);
	}
	pca_model_free(&m);
}

/* Every column constant: no variance, ratios 0 (not NaN), projections 0. */
static void test_all_constant(void **state)
{
	(void)state;
	float x[4 * 3];
	for (int i = 0; i < 12; i++)
		x[i] = (float)(i % 3) - 7.0f;
	pca_model m;
	assert_int_equal(pca_fit(x, 4, 3, 2, &m, NULL), 0);
	assert_true(m.total_variance == 0);
	for (int c = 0; c < 2; c++) {
		assert_true(m.explained_variance[c] == 0);
		assert_true(m.explained_variance_ratio[c] == 0);
	}
	float y[4 * 2];
	assert_int_equal(pca_transform(&m, x, 4, y, NULL), 0);
	for (int i = 0; i < 8; i++)
		assert_true(y[i] == 0);
	pca_model_free(&m);
}

static void test_bad_args(void **state)
{
	(void)state;
	float x[] = {1, 2, 3, 4, 5, 6};
	pca_model m;
	seg_error err;
	assert_int_equal(pca_fit(x, 1, 6, 2, &m, &err), SEG_EINVAL); /* one row */
	assert_null(m.mean);
	assert_int_equal(pca_fit(x, 3, 2, 0, &m, &err), SEG_EINVAL);
	assert_int_equal(pca_fit(x, 3, 2, 3, &m, &err), SEG_EINVAL);
	x[3] = INFINITY;
	assert_int_equal(pca_fit(x, 3, 2, 1, &m, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "row 1, column 1"));
	pca_model_free(NULL);
	pca_model_free(&m); /* zeroed on error: a no-op */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_blobs),
		cmocka_unit_test(test_golden_features),
		cmocka_unit_test(test_small_n),
		cmocka_unit_test(test_constant_columns),
		cmocka_unit_test(test_orthonormal_and_signs),
		cmocka_unit_test(test_line_far_from_origin),
		cmocka_unit_test(test_all_constant),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
