/* test_stats.c: experiment/stats.c against hand-worked cases (the working
 * in the comments) and against scipy / numpy (tests/golden/stats_golden.py,
 * output in tests/golden/stats_golden.txt). Each golden comparison has an
 * explicit tolerance and prints its largest difference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "experiment/stats.h"
#include "testutil.h"

#define GOLDEN "stats_golden.txt"

/* |got - want| relative to |want| (absolute below `floor`). */
static double rel_diff(double got, double want, double floor)
{
	double d = fabs(got - want), s = fabs(want);
	return s > floor ? d / s : d;
}

/* Reads golden key `key`, checks it holds whole records of `width`. */
static double *records(const char *key, size_t width, size_t *count)
{
	size_t n;
	double *v = tu_golden_values(GOLDEN, key, &n);
	assert_true(n > 0 && n % width == 0);
	*count = n / width;
	return v;
}

static void report(const char *what, double worst, double tol)
{
	printf("# %-18s largest relative difference %.3g (tolerance %.3g)\n", what, worst, tol);
	assert_true(worst <= tol);
}

/* The per-user recipe stats_golden.py uses. */
static void users(stats_moments *m, int n, int seed)
{
	*m = (stats_moments){0};
	for (int i = 0; i < n; i++)
		stats_moments_add(m, ((37 * i + 3 * seed) % 101) / 10.0, 1.0 + (53 * i + seed) % 13);
}

/* ------------------------------------------------------------ distributions */

static void test_distributions_hand(void **state)
{
	(void)state;
	/* Phi(0) = 1/2; Phi(-x) = 1 - Phi(x). */
	assert_near(stats_norm_cdf(0.0), 0.5, 0);
	assert_near(stats_norm_cdf(-1.3) + stats_norm_cdf(1.3), 1.0, 1e-15);
	/* t with 1 df is Cauchy: F(t) = 1/2 + atan(t)/pi, so F(1) = 3/4. */
	assert_near(stats_t_cdf(1.0, 1.0), 0.75, 1e-15);
	assert_near(stats_t_quantile(0.75, 1.0), 1.0, 1e-14);
	/* t with 2 df: F(t) = 1/2 + t / (2 sqrt(2 + t^2)); F(2) = 1/2 + 2/(2 sqrt 6). */
	assert_near(stats_t_cdf(2.0, 2.0), 0.5 + 1.0 / sqrt(6.0), 1e-15);
	/* chi-square with 2 df is exponential with mean 2: P(X > x) = exp(-x/2). */
	assert_near(stats_chi2_sf(3.0, 2.0), exp(-1.5), 1e-15);
	assert_near(stats_chi2_sf(100.0, 2.0) / exp(-50.0), 1.0, 1e-13);
	/* 1 df: P(X > z^2) = 2 Phi(-z), so P(X > 1.96^2) = 2 Phi(-1.96). */
	assert_near(stats_chi2_sf(1.96 * 1.96, 1.0), 2.0 * stats_norm_cdf(-1.96), 1e-15);
	/* The quantile inverts the cdf, to the last digits, far into the tails
	 * (a relative error e in z moves Phi by about z^2 e relatively). */
	for (double p = 1e-300; p < 1.0; p = p < 1e-3 ? p * 1e7 : p + 0.0997) {
		double z = stats_norm_quantile(p);
		assert_near(stats_norm_cdf(z) / p, 1.0, 2e-16 * (2.0 + z * z));
	}
	/* df = +Inf is the normal; a df of 1e300 too. */
	assert_near(stats_t_cdf(-2.0, INFINITY), stats_norm_cdf(-2.0), 0);
	assert_near(stats_t_cdf(-2.0, 1e300) / stats_norm_cdf(-2.0), 1.0, 1e-13);
	assert_near(stats_t_quantile(0.975, INFINITY), stats_norm_quantile(0.975), 0);
	/* Bounds and bad arguments. */
	assert_true(isinf(stats_norm_quantile(0.0)) && stats_norm_quantile(0.0) < 0);
	assert_true(isinf(stats_norm_quantile(1.0)) && stats_norm_quantile(1.0) > 0);
	assert_true(isnan(stats_norm_quantile(1.5)) && isnan(stats_norm_quantile(NAN)));
	assert_true(isnan(stats_t_cdf(1.0, 0.0)) && isnan(stats_t_cdf(NAN, 3.0)) && isnan(stats_t_cdf(1.0, -2.0)));
	assert_true(isnan(stats_t_quantile(0.5, 0.0)) && isnan(stats_t_quantile(-0.1, 5.0)));
	assert_near(stats_t_quantile(0.5, 7.0), 0.0, 0);
	assert_near(stats_t_cdf(-INFINITY, 7.0), 0.0, 0);
	assert_near(stats_t_cdf(INFINITY, 7.0), 1.0, 0);
	assert_near(stats_chi2_sf(0.0, 3.0), 1.0, 0);
	assert_near(stats_chi2_sf(INFINITY, 3.0), 0.0, 0);
	assert_true(isnan(stats_chi2_sf(1.0, 0.0)) && isnan(stats_chi2_sf(NAN, 1.0)));
}

static void test_distributions_golden(void **state)
{
	(void)state;
	size_t n;
	double worst = 0;
	double *v = records("norm_cdf", 2, &n);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, rel_diff(stats_norm_cdf(v[2 * i]), v[2 * i + 1], 1e-300));
	free(v);
	report("norm_cdf", worst, 5e-14);

	worst = 0;
	v = records("norm_quantile", 2, &n);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, rel_diff(stats_norm_quantile(v[2 * i]), v[2 * i + 1], 1e-300));
	free(v);
	report("norm_quantile", worst, 1e-14);

	/* The t tail: to 1e-13 up to df 1e3 (4.7e-13 measured at 1e4); beyond, the continued fraction
	 * (below df 5e5) and the asymptotic expansion (above) each lose digits
	 * as df grows, to about 4e-11 at worst (measured against mpmath). */
	double worst_small = 0, worst_big = 0;
	v = records("t_cdf", 3, &n);
	for (size_t i = 0; i < n; i++) {
		double t = v[3 * i], df = v[3 * i + 1];
		double d = rel_diff(stats_t_cdf(t, df), v[3 * i + 2], 1e-300);
		if (df <= 1e3)
			worst_small = fmax(worst_small, d);
		else
			worst_big = fmax(worst_big, d);
	}
	free(v);
	report("t_cdf df <= 1e3", worst_small, 1e-13);
	report("t_cdf df > 1e3", worst_big, 1e-10);

	/* Quantiles: relative, absolute near 0 (scipy's t.ppf(0.5) is 8e-17). */
	worst = 0;
	v = records("t_quantile", 3, &n);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, rel_diff(stats_t_quantile(v[3 * i], v[3 * i + 1]), v[3 * i + 2], 1e-12));
	free(v);
	report("t_quantile", worst, 1e-11);

	worst = 0;
	v = records("chi2_sf", 3, &n);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, rel_diff(stats_chi2_sf(v[3 * i], v[3 * i + 1]), v[3 * i + 2], 1e-300));
	free(v);
	report("chi2_sf", worst, 1e-12);
}

/* ------------------------------------------------------------- estimates */

static void test_estimates_hand(void **state)
{
	(void)state;
	seg_error err;
	stats_estimate e;
	/* Users (x, y) = (1, 2), (3, 2), (2, 4): mean of x 2, sample variance
	 * ((1-2)^2 + (3-2)^2 + 0) / 2 = 1, var of the mean 1/3.
	 * Ratio r = 6/8 = 0.75; ybar = 8/3; s_x^2 = 1, s_y^2 = ((2-8/3)^2 * 2 +
	 * (4-8/3)^2) / 2 = (8/9 + 16/9) / 2 = 4/3, s_xy = ((-1)(-2/3) + (1)(-2/3)
	 * + 0) / 2 = 0; var = (1 - 0 + 0.5625 * 4/3) / (3 * 64/9) = 1.75 / (64/3)
	 * = 5.25 / 64 = 0.08203125. Check: sum (x - r y)^2 = (-0.5)^2 + 1.5^2 +
	 * (-1)^2 = 3.5, / (n - 1) = 1.75. */
	stats_moments m = {0};
	stats_moments_add(&m, 1, 2);
	stats_moments_add(&m, 3, 2);
	stats_moments_add(&m, 2, 4);
	assert_int_equal(stats_mean(&m, &e, &err), 0);
	assert_near(e.n, 3, 0);
	assert_near(e.value, 2.0, 1e-15);
	assert_near(e.var, 1.0 / 3.0, 1e-15);
	assert_int_equal(stats_ratio(&m, &e, &err), 0);
	assert_near(e.value, 0.75, 1e-15);
	assert_near(e.var, 0.08203125, 1e-15);

	/* n < 2 and sy = 0 are refused; a constant x has variance exactly 0. */
	stats_moments one = {0};
	stats_moments_add(&one, 5, 1);
	assert_int_equal(stats_mean(&one, &e, &err), SEG_EINVAL);
	assert_int_equal(stats_ratio(&one, &e, &err), SEG_EINVAL);
	stats_moments zero = {0};
	stats_moments_add(&zero, 1, 0);
	stats_moments_add(&zero, 2, 0);
	assert_int_equal(stats_ratio(&zero, &e, &err), SEG_EINVAL);
	stats_moments flat = {0};
	for (int i = 0; i < 10; i++)
		stats_moments_add(&flat, 0.1, 1);
	assert_int_equal(stats_mean(&flat, &e, &err), 0);
	/* From raw sums, rounding leaves a variance of the order of eps * 0.1^2
	 * (here never negative: clamped at 0). */
	assert_true(e.var >= 0.0 && e.var < 1e-17);
}

static void test_estimates_golden(void **state)
{
	(void)state;
	size_t n;
	double worst = 0;
	double *v = records("estimates", 6, &n);
	for (size_t i = 0; i < n; i++) {
		const double *r = v + 6 * i;
		stats_moments m;
		users(&m, (int)r[0], (int)r[1]);
		stats_estimate e;
		seg_error err;
		assert_int_equal(stats_mean(&m, &e, &err), 0);
		worst = fmax(worst, rel_diff(e.value, r[2], 0));
		worst = fmax(worst, rel_diff(e.var, r[3], 0));
		assert_int_equal(stats_ratio(&m, &e, &err), 0);
		worst = fmax(worst, rel_diff(e.value, r[4], 0));
		worst = fmax(worst, rel_diff(e.var, r[5], 0));
	}
	free(v);
	report("mean, ratio", worst, 1e-12);
}

/* ------------------------------------------------------------------ Welch */

static void test_welch_hand(void **state)
{
	(void)state;
	seg_error err;
	stats_compare c;
	/* a: value 10, var 1, n 5; b: value 12, var 1, n 5. se = sqrt 2; df =
	 * (1 + 1)^2 / (1/4 + 1/4) = 8; t = 2 / sqrt 2 = sqrt 2. lift = 2/10 =
	 * 0.2, its se = sqrt(1 + 1.44 * 1) / 10 = sqrt(2.44) / 10. */
	stats_estimate a = {5, 10, 1}, b = {5, 12, 1};
	assert_int_equal(stats_welch(&a, &b, 0.05, &c, &err), 0);
	assert_near(c.df, 8.0, 1e-12);
	assert_near(c.diff, 2.0, 0);
	double q = stats_t_quantile(0.975, 8.0); /* 2.306004135204166 (tables: 2.306) */
	assert_near(q, 2.306004135204166, 1e-12);
	assert_near(c.diff_lo, 2.0 - q * sqrt(2.0), 1e-12);
	assert_near(c.diff_hi, 2.0 + q * sqrt(2.0), 1e-12);
	assert_near(c.p, 2.0 * stats_t_cdf(-sqrt(2.0), 8.0), 1e-15);
	assert_near(c.lift, 0.2, 1e-15);
	assert_near(c.lift_hi - c.lift, q * sqrt(2.44) / 10.0, 1e-12);
	/* One variance 0: df falls back to the other's n - 1 (Welch's limit). */
	stats_estimate z = {9, 10, 0};
	assert_int_equal(stats_welch(&z, &b, 0.05, &c, &err), 0);
	assert_near(c.df, 4.0, 1e-12);
	/* Both 0: the difference is known exactly. */
	stats_estimate z2 = {9, 11, 0};
	assert_int_equal(stats_welch(&z, &z2, 0.05, &c, &err), 0);
	assert_near(c.p, 0.0, 0);
	assert_near(c.diff_lo, 1.0, 0);
	assert_near(c.diff_hi, 1.0, 0);
	assert_int_equal(stats_welch(&z, &z, 0.05, &c, &err), 0);
	assert_near(c.p, 1.0, 0);
	/* Control 0: no lift. */
	stats_estimate a0 = {5, 0, 1};
	assert_int_equal(stats_welch(&a0, &b, 0.05, &c, &err), 0);
	assert_true(isnan(c.lift) && isnan(c.lift_lo) && isnan(c.lift_hi));
	/* Refusals: alpha bounds, n < 2, negative or NaN var. */
	assert_int_equal(stats_welch(&a, &b, 0.0, &c, &err), SEG_EINVAL);
	assert_int_equal(stats_welch(&a, &b, 1.0, &c, &err), SEG_EINVAL);
	assert_int_equal(stats_welch(&a, &b, NAN, &c, &err), SEG_EINVAL);
	stats_estimate small = {1, 3, 1}, neg = {5, 3, -1}, nan = {5, 3, NAN};
	assert_int_equal(stats_welch(&small, &b, 0.05, &c, &err), SEG_EINVAL);
	assert_int_equal(stats_welch(&a, &neg, 0.05, &c, &err), SEG_EINVAL);
	assert_int_equal(stats_welch(&nan, &b, 0.05, &c, &err), SEG_EINVAL);
	/* Huge samples: df in the millions stays finite and p sensible. */
	stats_estimate ha = {5e6, 0.1, 1e-8}, hb = {5e6, 0.1002, 1e-8};
	assert_int_equal(stats_welch(&ha, &hb, 0.05, &c, &err), 0);
	assert_near(c.df, 1e7 - 2.0, 1e-3);
	assert_near(c.p / (2.0 * stats_norm_cdf(-0.0002 / sqrt(2e-8))), 1.0, 1e-6);
}

static void test_welch_golden(void **state)
{
	(void)state;
	size_t n;
	double worst = 0;
	double *v = records("welch", 10, &n);
	for (size_t i = 0; i < n; i++) {
		const double *r = v + 10 * i;
		stats_moments ma, mb;
		stats_estimate a, b;
		seg_error err;
		int kind = (int)r[0];
		users(&ma, kind == 0 ? 400 : 30, kind == 0 ? 4 : 6);
		users(&mb, kind == 0 ? 300 : 45, kind == 0 ? 5 : 7);
		if (kind == 0) {
			assert_int_equal(stats_ratio(&ma, &a, &err), 0);
			assert_int_equal(stats_ratio(&mb, &b, &err), 0);
		} else {
			assert_int_equal(stats_mean(&ma, &a, &err), 0);
			assert_int_equal(stats_mean(&mb, &b, &err), 0);
		}
		stats_compare c;
		assert_int_equal(stats_welch(&a, &b, r[1], &c, &err), 0);
		double got[8] = {c.diff, c.diff_lo, c.diff_hi, c.lift, c.lift_lo, c.lift_hi, c.p, c.df};
		for (int k = 0; k < 8; k++)
			worst = fmax(worst, rel_diff(got[k], r[2 + k], 1e-3));
	}
	free(v);
	report("welch", worst, 1e-11);
}

/* ---------------------------------------------------------------- SRM */

static void test_srm(void **state)
{
	(void)state;
	seg_error err;
	double chi2, p;
	/* 60 and 40 users against 1:1: expected 50 each, chi2 = (100 + 100) / 50
	 * = 4, p = P(X1 > 4) = 2 Phi(-2) = 0.0455. */
	double obs[] = {60, 40}, w[] = {1, 1};
	assert_int_equal(stats_srm(obs, w, 2, &chi2, &p, &err), 0);
	assert_near(chi2, 4.0, 1e-14);
	assert_near(p, 2.0 * stats_norm_cdf(-2.0), 1e-15);
	/* Weights on any scale. */
	double w2[] = {0.5, 0.5};
	double chi2b, pb;
	assert_int_equal(stats_srm(obs, w2, 2, &chi2b, &pb, &err), 0);
	assert_near(chi2b, chi2, 1e-14);
	/* Refusals. */
	double wz[] = {1, 0}, none[] = {0, 0}, negobs[] = {-1, 3};
	assert_int_equal(stats_srm(obs, wz, 2, &chi2, &p, &err), SEG_EINVAL);
	assert_int_equal(stats_srm(none, w, 2, &chi2, &p, &err), SEG_EINVAL);
	assert_int_equal(stats_srm(negobs, w, 2, &chi2, &p, &err), SEG_EINVAL);
	assert_int_equal(stats_srm(obs, w, 1, &chi2, &p, &err), SEG_EINVAL);
	assert_int_equal(stats_srm(obs, w, 65, &chi2, &p, &err), SEG_EINVAL);

	double worst = 0;
	size_t cnt;
	double *v = tu_golden_values(GOLDEN, "srm", &cnt);
	for (size_t at = 0; at < cnt;) {
		size_t k = (size_t)v[at];
		assert_int_equal(stats_srm(v + at + 1, v + at + 1 + k, k, &chi2, &p, &err), 0);
		worst = fmax(worst, rel_diff(chi2, v[at + 1 + 2 * k], 0));
		worst = fmax(worst, rel_diff(p, v[at + 2 + 2 * k], 0));
		at += 3 + 2 * k;
	}
	free(v);
	report("srm", worst, 1e-12);
}

/* ---------------------------------------------------------------- CUPED */

static void test_cuped(void **state)
{
	(void)state;
	seg_error err;
	stats_estimate out[2];
	double theta;
	/* y = 2 x exactly in both variants, shifted by 1 in variant 1: theta =
	 * 2, the adjusted values have no variance left, and their difference is
	 * the shift plus 2 x the covariate's imbalance (means 2 and 3 -> -2 + 1). */
	stats_cuped c = {0};
	for (int u = 1; u <= 3; u++)
		stats_cuped_add(&c, 0, 2.0 * u, u);
	for (int u = 2; u <= 4; u++)
		stats_cuped_add(&c, 1, 2.0 * u + 1.0, u);
	assert_int_equal(stats_cuped_finish(&c, out, &theta, &err), 0);
	assert_near(theta, 2.0, 1e-14);
	assert_near(out[0].var, 0.0, 1e-28);
	assert_near(out[1].var, 0.0, 1e-28);
	/* grand mean of x = 2.5; variant 0: 4 - 2 (2 - 2.5) = 5; variant 1: 7 -
	 * 2 (3 - 2.5) = 6. */
	assert_near(out[0].value, 5.0, 1e-14);
	assert_near(out[1].value, 6.0, 1e-14);
	/* No variance in x: theta 0, plain means. */
	stats_cuped f = {0};
	stats_cuped_add(&f, 0, 1, 7);
	stats_cuped_add(&f, 0, 3, 7);
	stats_cuped_add(&f, 1, 2, 7);
	stats_cuped_add(&f, 1, 6, 7);
	assert_int_equal(stats_cuped_finish(&f, out, &theta, &err), 0);
	assert_near(theta, 0.0, 0);
	assert_near(out[1].value, 4.0, 0);
	assert_near(out[1].var, 4.0, 1e-14); /* s^2 = 8, / n = 2 */
	/* One user in a variant is refused. */
	stats_cuped s = {0};
	stats_cuped_add(&s, 0, 1, 1);
	stats_cuped_add(&s, 1, 1, 1);
	stats_cuped_add(&s, 1, 2, 2);
	assert_int_equal(stats_cuped_finish(&s, out, &theta, &err), SEG_EINVAL);

	/* Golden: stats_golden.py's recipe. */
	stats_cuped g = {0};
	for (int v = 0; v < 2; v++)
		for (int u = 0; u < (v ? 80 : 60); u++) {
			double x = ((29 * u + 11 * v) % 17) / 4.0;
			stats_cuped_add(&g, v, 0.8 * x + ((41 * u + 5 * v) % 23) / 10.0 + 0.3 * v, x);
		}
	assert_int_equal(stats_cuped_finish(&g, out, &theta, &err), 0);
	size_t n;
	double *r = records("cuped", 7, &n);
	double worst = rel_diff(theta, r[0], 0);
	for (int v = 0; v < 2; v++) {
		worst = fmax(worst, rel_diff(out[v].n, r[1 + 3 * v], 0));
		worst = fmax(worst, rel_diff(out[v].value, r[2 + 3 * v], 0));
		worst = fmax(worst, rel_diff(out[v].var, r[3 + 3 * v], 0));
	}
	free(r);
	report("cuped", worst, 1e-12);
}

/* ------------------------------------------------------- multiple tests */

static void test_adjust(void **state)
{
	(void)state;
	seg_error err;
	/* Hand: p = 0.01, 0.04, 0.03 (m = 3). Holm sorted: 0.01 x 3 = 0.03,
	 * 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06. BH from the
	 * top: 0.04 x 3/3 = 0.04, 0.03 x 3/2 = 0.045 -> min 0.04, 0.01 x 3 = 0.03. */
	double p[] = {0.01, 0.04, 0.03}, adj[3];
	assert_int_equal(stats_holm(p, 3, adj, &err), 0);
	assert_near(adj[0], 0.03, 1e-15);
	assert_near(adj[1], 0.06, 1e-15);
	assert_near(adj[2], 0.06, 1e-15);
	assert_int_equal(stats_bh(p, 3, adj, &err), 0);
	assert_near(adj[0], 0.03, 1e-15);
	assert_near(adj[1], 0.04, 1e-15);
	assert_near(adj[2], 0.04, 1e-15);
	/* In place, and m = 0. */
	double q[] = {0.2, 0.5};
	assert_int_equal(stats_bh(q, 2, q, &err), 0);
	assert_near(q[0], 0.4, 1e-15);
	assert_near(q[1], 0.5, 1e-15);
	assert_int_equal(stats_holm(p, 0, adj, &err), 0);
	assert_int_equal(stats_bh(p, 0, adj, &err), 0);
	/* NaN and out-of-range p are refused. */
	double bad[] = {0.1, NAN}, bad2[] = {0.1, 1.5}, bad3[] = {-0.1};
	assert_int_equal(stats_holm(bad, 2, adj, &err), SEG_EINVAL);
	assert_int_equal(stats_bh(bad, 2, adj, &err), SEG_EINVAL);
	assert_int_equal(stats_bh(bad2, 2, adj, &err), SEG_EINVAL);
	assert_int_equal(stats_holm(bad3, 1, adj, &err), SEG_EINVAL);

	size_t n;
	double worst = 0, got[8];
	double *v = records("holm", 16, &n);
	assert_int_equal(stats_holm(v, 8, got, &err), 0);
	for (int i = 0; i < 8; i++)
		worst = fmax(worst, fabs(got[i] - v[8 + i]));
	free(v);
	v = records("bh", 16, &n);
	assert_int_equal(stats_bh(v, 8, got, &err), 0);
	for (int i = 0; i < 8; i++)
		worst = fmax(worst, fabs(got[i] - v[8 + i]));
	free(v);
	report("holm, bh (abs)", worst, 1e-15);
}

/* ------------------------------------------------------------------ power */

static void test_power(void **state)
{
	(void)state;
	seg_error err;
	double n;
	/* Hand: sd 1, mde 0.5, alpha 0.05, power 0.5 (z_power = 0): n = 2 *
	 * 1.959964^2 / 0.25 = 30.73 -> 31. */
	assert_int_equal(stats_power_mean(1.0, 0.5, 0.05, 0.5, &n, &err), 0);
	assert_near(n, 31.0, 0);
	/* Refusals. */
	assert_int_equal(stats_power_proportion(0.12, 0.0, 0.05, 0.8, &n, &err), SEG_EINVAL);
	assert_int_equal(stats_power_proportion(0.95, 0.06, 0.05, 0.8, &n, &err), SEG_EINVAL);
	assert_int_equal(stats_power_proportion(0.0, 0.01, 0.05, 0.8, &n, &err), SEG_EINVAL);
	assert_int_equal(stats_power_proportion(0.12, 0.01, 1.0, 0.8, &n, &err), SEG_EINVAL);
	assert_int_equal(stats_power_proportion(0.12, 0.01, 0.05, 0.0, &n, &err), SEG_EINVAL);
	assert_int_equal(stats_power_mean(0.0, 0.1, 0.05, 0.8, &n, &err), SEG_EINVAL);
	assert_int_equal(stats_power_mean(1.0, 0.1, 0.05, NAN, &n, &err), SEG_EINVAL);

	size_t cnt;
	double *v = records("power_proportion", 6, &cnt);
	for (size_t i = 0; i < cnt; i++) {
		const double *r = v + 6 * i;
		assert_int_equal(stats_power_proportion(r[0], r[1], r[2], r[3], &n, &err), 0);
		assert_near(n, r[5], 0);
	}
	free(v);
	v = records("power_mean", 6, &cnt);
	for (size_t i = 0; i < cnt; i++) {
		const double *r = v + 6 * i;
		assert_int_equal(stats_power_mean(r[0], r[1], r[2], r[3], &n, &err), 0);
		assert_near(n, r[5], 0);
	}
	free(v);
}

/* ------------------------------------------------------------- sequential */

static void test_msprt(void **state)
{
	(void)state;
	seg_error err;
	stats_sequential s;
	/* Hand: var = tau2 = 1, alpha = e^-1: half-width = sqrt(2 (2 + ln 2)) =
	 * sqrt(5.386...) ; at diff = 0, Lambda = sqrt(1/2), p = min(1, sqrt 2) = 1. */
	assert_int_equal(stats_msprt(0.0, 1.0, 1.0, exp(-1.0), &s, &err), 0);
	assert_near(s.hi, sqrt(2.0 * (2.0 + log(2.0))), 1e-15);
	assert_near(s.lo, -s.hi, 0);
	assert_near(s.p, 1.0, 0);
	/* The interval is exactly where 1/Lambda >= alpha: at its edge p = alpha. */
	assert_int_equal(stats_msprt(0.3, 0.01, 0.05, 0.05, &s, &err), 0);
	stats_sequential edge;
	double hw = s.hi - 0.3;
	assert_int_equal(stats_msprt(hw, 0.01, 0.05, 0.05, &edge, &err), 0);
	assert_near(edge.p, 0.05, 1e-14);
	/* It is wider than the fixed-horizon z interval at the same alpha. */
	assert_true(hw > stats_norm_quantile(0.975) * sqrt(0.01));
	/* A huge Lambda gives p = 0, not an overflow. */
	assert_int_equal(stats_msprt(100.0, 1e-4, 1.0, 0.05, &s, &err), 0);
	assert_near(s.p, 0.0, 0);
	assert_int_equal(stats_msprt(0.1, 0.0, 1.0, 0.05, &s, &err), SEG_EINVAL);
	assert_int_equal(stats_msprt(0.1, 1.0, 0.0, 0.05, &s, &err), SEG_EINVAL);
	assert_int_equal(stats_msprt(0.1, 1.0, 1.0, 1.0, &s, &err), SEG_EINVAL);

	size_t n;
	double worst = 0;
	double *v = records("msprt", 7, &n);
	for (size_t i = 0; i < n; i++) {
		const double *r = v + 7 * i;
		assert_int_equal(stats_msprt(r[0], r[1], r[2], r[3], &s, &err), 0);
		worst = fmax(worst, rel_diff(s.lo, r[4], 1e-300));
		worst = fmax(worst, rel_diff(s.hi, r[5], 1e-300));
		worst = fmax(worst, rel_diff(s.p, r[6], 1e-300));
	}
	free(v);
	report("msprt", worst, 1e-13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distributions_hand),
		cmocka_unit_test(test_distributions_golden),
		cmocka_unit_test(test_estimates_hand),
		cmocka_unit_test(test_estimates_golden),
		cmocka_unit_test(test_welch_hand),
		cmocka_unit_test(test_welch_golden),
		cmocka_unit_test(test_srm),
		cmocka_unit_test(test_cuped),
		cmocka_unit_test(test_adjust),
		cmocka_unit_test(test_power),
		cmocka_unit_test(test_msprt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
