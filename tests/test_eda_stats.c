/* test_eda_stats.c: quantiles, summary statistics, Pearson correlation and
 * equal-count bins of the EDA report, on small arrays whose answers are worked
 * out by hand in the comments (quantiles as numpy.quantile's default linear
 * interpolation, std with n - 1 as pandas.Series.std). */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "report/eda_stats.h"

/* numpy.quantile([1, 2, 3, 4], q): the rank is q * 3, interpolated. */
static void test_quantile(void **state)
{
	(void)state;
	const double x[4] = {1, 2, 3, 4};
	assert_near(eda_stats_quantile(x, 4, 0), 1, 1e-15);
	assert_near(eda_stats_quantile(x, 4, 0.25), 1.75, 1e-15);
	assert_near(eda_stats_quantile(x, 4, 0.5), 2.5, 1e-15);
	assert_near(eda_stats_quantile(x, 4, 0.75), 3.25, 1e-15);
	assert_near(eda_stats_quantile(x, 4, 0.99), 3.97, 1e-12);
	assert_near(eda_stats_quantile(x, 4, 1), 4, 1e-15);
	assert_near(eda_stats_quantile(x, 1, 0.3), 1, 0);
	assert_true(isnan(eda_stats_quantile(x, 0, 0.5)));
}

/* {4, 1, 3, 2}: sorted in place; mean 2.5, squared deviations 2.25 + 0.25 +
 * 0.25 + 2.25 = 5, so std sqrt(5 / 3). */
static void test_summarize(void **state)
{
	(void)state;
	double x[4] = {4, 1, 3, 2};
	eda_summary s;
	eda_stats_summarize(x, 4, &s);
	const double sorted[4] = {1, 2, 3, 4};
	assert_memory_equal(x, sorted, sizeof x);
	assert_int_equal(s.count, 4);
	assert_near(s.mean, 2.5, 1e-15);
	assert_near(s.std, sqrt(5.0 / 3.0), 1e-15);
	assert_near(s.min, 1, 0);
	assert_near(s.max, 4, 0);
	assert_near(s.p25, 1.75, 1e-15);
	assert_near(s.median, 2.5, 1e-15);
	assert_near(s.p75, 3.25, 1e-15);
	assert_near(s.p01, 1.03, 1e-12);
	assert_near(s.p99, 3.97, 1e-12);

	/* One value: no spread. None: nothing defined. */
	double one = 7;
	eda_stats_summarize(&one, 1, &s);
	assert_int_equal(s.count, 1);
	assert_near(s.mean, 7, 0);
	assert_near(s.median, 7, 0);
	assert_true(isnan(s.std));
	eda_stats_summarize(NULL, 0, &s);
	assert_int_equal(s.count, 0);
	assert_true(isnan(s.mean) && isnan(s.std) && isnan(s.min) && isnan(s.max) && isnan(s.median));
}

/* Skewness against scipy.stats.skew(x, bias=False) (and pandas' Series.skew,
 * which agrees): the values printed by
 *   /usr/bin/python3 -c "import scipy.stats as st; print(repr(st.skew(X, bias=False)))"
 * for each X below. */
static void test_skewness(void **state)
{
	(void)state;
	static const struct {
		double x[11];
		size_t n;
		double want;
	} cases[] = {
		{{0, 0, 0, 1, 5}, 5, 2.031531490021055},
		{{1, 2, 3}, 3, 0.0},
		{{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}, 11, 0.664049771572406},
		{{-60, -8, -7, -6, -5}, 5, -2.223897189363458},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double x[11];
		memcpy(x, cases[i].x, sizeof x);
		eda_summary s;
		eda_stats_summarize(x, cases[i].n, &s);
		assert_near(s.skew, cases[i].want, 1e-12);
	}
	/* Undefined: fewer than three values, or no spread at all. */
	const double two[2] = {1, 5}, flat[4] = {0.3, 0.3, 0.3, 0.3};
	assert_true(isnan(eda_stats_skewness(two, 2, 3)));
	assert_true(isnan(eda_stats_skewness(flat, 4, 0.3)));
}

static double pearson(const double *x, const double *y, size_t n)
{
	eda_pearson a;
	memset(&a, 0, sizeof a);
	for (size_t i = 0; i < n; i++)
		eda_stats_pearson_add(&a, x[i], y[i]);
	return eda_stats_pearson(&a);
}

static void test_pearson(void **state)
{
	(void)state;
	const double x[3] = {1, 2, 3}, up[3] = {2, 4, 6}, down[3] = {3, 2, 1}, flat[3] = {5, 5, 5};
	assert_near(pearson(x, up, 3), 1, 1e-15);
	assert_near(pearson(x, down, 3), -1, 1e-15);
	/* Deviations (-0.2, 0, 0.2) and (0, -20, 20): 4 / sqrt(0.08 * 800) = 0.5. */
	const double d[3] = {0.5, 0.7, 0.9}, p[3] = {60, 40, 80};
	assert_near(pearson(d, p, 3), 0.5, 1e-12);
	/* Undefined: no variation on one side, or fewer than two pairs. */
	assert_true(isnan(pearson(x, flat, 3)));
	assert_true(isnan(pearson(x, up, 1)));
	assert_true(isnan(pearson(x, up, 0)));
	/* (1, 2, 3, 4) against (1, 3, 2, 4): sum of products of deviations 4,
	 * sums of squares 5 and 5, so 0.8. Shifted by 1e9 the running update
	 * keeps it; sums of squares (x^2 ~ 1e18) would not. */
	double big[4], y[4] = {1, 3, 2, 4};
	for (int i = 0; i < 4; i++)
		big[i] = 1e9 + (i + 1);
	assert_near(pearson(big, y, 4), 0.8, 1e-9);
}

static void test_sort_pairs(void **state)
{
	(void)state;
	double x[5] = {2, 1, 2, 1, 0}, y[5] = {5, 7, 3, 6, 9};
	assert_int_equal(eda_stats_sort_pairs(x, y, 5), 0);
	const double wx[5] = {0, 1, 1, 2, 2}, wy[5] = {9, 6, 7, 3, 5};
	assert_memory_equal(x, wx, sizeof x);
	assert_memory_equal(y, wy, sizeof y);
	assert_int_equal(eda_stats_sort_pairs(NULL, NULL, 0), 0);
}

static void test_equal_bins(void **state)
{
	(void)state;
	double x[20], y[20];
	eda_bin b[10];
	/* 10 distinct values in 3 bins: ceil(10 / 3) = 4 each, the last gets the rest. */
	for (int i = 0; i < 10; i++) {
		x[i] = i;
		y[i] = 10 * i;
	}
	assert_int_equal(eda_stats_equal_bins(x, y, 10, 3, b), 3);
	assert_int_equal(b[0].start, 0);
	assert_int_equal(b[0].end, 4);
	assert_int_equal(b[1].end, 8);
	assert_int_equal(b[2].start, 8);
	assert_int_equal(b[2].end, 10);
	assert_near(b[0].x_mean, 1.5, 1e-15);
	assert_near(b[0].y_mean, 15, 1e-15);
	assert_near(b[2].x_mean, 8.5, 1e-15);

	/* Six ties at 0 stay together: bins [0, 6), [6, 8), [8, 10) instead of 5. */
	const double tx[10] = {0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
	assert_int_equal(eda_stats_equal_bins(tx, y, 10, 5, b), 3);
	assert_int_equal(b[0].end, 6);
	assert_int_equal(b[1].start, 6);
	assert_int_equal(b[1].end, 8);
	assert_int_equal(b[2].end, 10);
	assert_near(b[0].x_mean, 0, 0);
	assert_near(b[0].y_mean, 25, 1e-15); /* (0 + 10 + ... + 50) / 6 */

	/* 20 values in 3 bins of 7: the last bin takes the remaining 6. */
	for (int i = 0; i < 20; i++)
		x[i] = i;
	assert_int_equal(eda_stats_equal_bins(x, y, 20, 3, b), 3);
	assert_int_equal(b[1].end, 14);
	assert_int_equal(b[2].end, 20);
	/* Fewer values than bins: one per value. None: no bin. */
	assert_int_equal(eda_stats_equal_bins(x, y, 2, 10, b), 2);
	assert_int_equal(eda_stats_equal_bins(x, y, 0, 10, b), 0);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_summarize),
		cmocka_unit_test(test_skewness),
		cmocka_unit_test(test_pearson),
		cmocka_unit_test(test_sort_pairs),
		cmocka_unit_test(test_equal_bins),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
