/* stats.c: the statistics of an A/B test on per-user summaries (stats.h).
 * The t distribution's tail comes from engine/metrics.c (metrics_t_pvalue,
 * the one incomplete beta in the tree); the normal quantile, the t
 * quantile and the chi-square tail (an incomplete gamma) live here. It
 * does not aggregate events: analysis.c does. */
#include "experiment/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "engine/metrics.h"

/* ------------------------------------------------------------ distributions */

double stats_norm_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

/* Acklam's rational approximation (relative error < 1.2e-9) of the lower
 * half, p <= 1/2, then Halley steps on erfc, which is exact to a few ulps
 * in the lower tail, until the step is negligible (two at most in practice). */
static double norm_quantile_lower(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
	                           1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
	                           6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
	                           -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
	                           3.754408661907416e+00};
	double x;
	if (p < 0.02425) {
		double q = sqrt(-2.0 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	} else {
		double q = p - 0.5, r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
	}
	for (int it = 0; it < 4; it++) {
		/* f(x) = Phi(x) - p, f' = phi(x), f''/f' = -x: Halley's step. */
		double e = 0.5 * erfc(-x / sqrt(2.0)) - p;
		double u = e * sqrt(2.0 * M_PI) * exp(0.5 * x * x);
		double step = u / (1.0 + 0.5 * x * u);
		x -= step;
		if (fabs(step) <= 1e-15 * fabs(x))
			break;
	}
	return x;
}

double stats_norm_quantile(double p)
{
	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	/* 1 - p is exact for p >= 1/2, so the upper half keeps every digit of p. */
	return p <= 0.5 ? norm_quantile_lower(p) : -norm_quantile_lower(1.0 - p);
}

double stats_t_cdf(double t, double df)
{
	if (isnan(t) || isnan(df) || !(df > 0))
		return NAN;
	if (isinf(df))
		return stats_norm_cdf(t);
	if (t == 0.0)
		return 0.5;
	double tail = 0.5 * metrics_t_pvalue(t, df); /* P(T > |t|) */
	return t < 0 ? tail : 1.0 - tail;
}

/* log of the t density at t, for Newton's steps (its precision only sets
 * how fast they converge, not where). */
static double t_log_density(double t, double df)
{
	return lgamma(0.5 * (df + 1.0)) - lgamma(0.5 * df) - 0.5 * log(df * M_PI) -
	       0.5 * (df + 1.0) * log1p(t * t / df);
}

/* The t <= 0 with P(T <= t) = q, 0 < q <= 1/2: Newton's method on
 * log P(T <= t) (well scaled in the far tail), kept inside a bracket that
 * bisection shrinks when a step leaves it. */
static double t_quantile_lower(double q, double df)
{
	if (q == 0.5)
		return 0.0;
	double z = norm_quantile_lower(q);
	/* A start from the normal quantile (Cornish-Fisher's first correction);
	 * the bracket [lo, 0] is widened until it holds the root. */
	double x = z + (z * z * z + z) / (4.0 * df);
	double lo = x < -1.0 ? 2.0 * x : -2.0, hi = 0.0;
	while (stats_t_cdf(lo, df) > q && lo > -1e300)
		lo *= 4.0;
	if (!(x > lo && x < hi))
		x = 0.5 * (lo + hi);
	double lq = log(q);
	for (int it = 0; it < 200; it++) {
		double F = stats_t_cdf(x, df);
		if (F > q)
			hi = x;
		else
			lo = x;
		double g = log(F) - lq;
		double step = g / exp(t_log_density(x, df) - log(F)); /* g / (d log F / dt) */
		double next = x - step;
		if (!(next > lo && next < hi))
			next = 0.5 * (lo + hi);
		if (fabs(next - x) <= 4.0 * DBL_EPSILON * fabs(x) || hi - lo <= 4.0 * DBL_EPSILON * fabs(lo))
			return next;
		x = next;
	}
	return x;
}

double stats_t_quantile(double p, double df)
{
	if (isnan(p) || isnan(df) || !(df > 0) || p < 0.0 || p > 1.0)
		return NAN;
	if (isinf(df))
		return stats_norm_quantile(p);
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	return p <= 0.5 ? t_quantile_lower(p, df) : -t_quantile_lower(1.0 - p, df);
}

/* ln(x^a e^-x / Γ(a)); for a >= 10 by Stirling's form,
 *   a ln(x/a) + a - x - ln Γ(a) = a (log1p(d) - d) + ln √(a / 2π) - δ(a),  d = (x - a)/a,
 * whose terms are of the size of the result (lgamma(a) would cancel). */
static double gamma_log_prefix(double a, double x)
{
	if (a < 10.0)
		return a * log(x) - x - lgamma(a);
	double r = 1.0 / a, r2 = r * r;
	double corr = r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
	double d = (x - a) / a;
	return a * (log1p(d) - d) + 0.5 * log(a / (2.0 * M_PI)) - corr;
}

/* The regularised upper incomplete gamma Q(a, x), a > 0, x > 0: the series
 * of P when x < a + 1, Legendre's continued fraction (modified Lentz) for Q
 * otherwise, each where it converges fast and Q keeps its digits. */
static double gamma_q(double a, double x)
{
	double lp = gamma_log_prefix(a, x);
	if (x < a + 1.0) {
		double term = 1.0 / a, sum = term;
		for (int n = 1; n < 100000; n++) {
			term *= x / (a + n);
			sum += term;
			if (term < sum * 1e-17)
				break;
		}
		return 1.0 - exp(lp) * sum;
	}
	const double tiny = 1e-300;
	double bq = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / bq, h = d;
	for (int i = 1; i < 100000; i++) {
		double an = -i * (i - a);
		bq += 2.0;
		d = an * d + bq;
		d = 1.0 / (fabs(d) < tiny ? tiny : d);
		c = bq + an / c;
		c = fabs(c) < tiny ? tiny : c;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 1e-16)
			break;
	}
	return exp(lp) * h;
}

double stats_chi2_sf(double x, double df)
{
	if (isnan(x) || isnan(df) || !(df > 0))
		return NAN;
	if (x <= 0.0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	return gamma_q(0.5 * df, 0.5 * x);
}

/* ------------------------------------------------------------- one sample */

void stats_moments_add(stats_moments *m, double x, double y)
{
	m->n += 1.0;
	m->sx += x;
	m->sy += y;
	m->sxx += x * x;
	m->syy += y * y;
	m->sxy += x * y;
}

int stats_mean(const stats_moments *m, stats_estimate *out, seg_error *err)
{
	if (!(m->n >= 2.0))
		return seg_error_set(err, SEG_EINVAL, "a mean needs at least 2 users (have %g)", m->n);
	double mean = m->sx / m->n;
	double s2 = (m->sxx - m->sx * mean) / (m->n - 1.0);
	out->n = m->n;
	out->value = mean;
	out->var = (s2 > 0.0 ? s2 : 0.0) / m->n; /* rounding can leave a zero variance a hair below 0 */
	return 0;
}

int stats_ratio(const stats_moments *m, stats_estimate *out, seg_error *err)
{
	if (!(m->n >= 2.0))
		return seg_error_set(err, SEG_EINVAL, "a ratio needs at least 2 users (have %g)", m->n);
	if (m->sy == 0.0)
		return seg_error_set(err, SEG_EINVAL, "a ratio's denominator sums to 0");
	double r = m->sx / m->sy, ybar = m->sy / m->n;
	/* s_x^2 - 2 r s_xy + r^2 s_y^2 is the sample variance of x - r y, whose
	 * mean is 0 since r = sx/sy: one sum of squares, no centring term. */
	double s2 = (m->sxx - 2.0 * r * m->sxy + r * r * m->syy) / (m->n - 1.0);
	out->n = m->n;
	out->value = r;
	out->var = (s2 > 0.0 ? s2 : 0.0) / (m->n * ybar * ybar);
	return 0;
}

/* ---------------------------------------------------- comparing two variants */

int stats_welch(const stats_estimate *a, const stats_estimate *b, double alpha, stats_compare *out, seg_error *err)
{
	if (!(alpha > 0.0 && alpha < 1.0))
		return seg_error_set(err, SEG_EINVAL, "alpha %g is not in (0, 1)", alpha);
	if (!(a->n >= 2.0 && b->n >= 2.0))
		return seg_error_set(err, SEG_EINVAL,
		                     "a comparison needs at least 2 users per variant (have %g and %g)", a->n, b->n);
	if (!(a->var >= 0.0 && b->var >= 0.0) || isinf(a->var) || isinf(b->var))
		return seg_error_set(err, SEG_EINVAL, "an estimate's variance is negative or not finite (%g, %g)",
		                     a->var, b->var);
	double var = a->var + b->var;
	double den = a->var * a->var / (a->n - 1.0) + b->var * b->var / (b->n - 1.0);
	out->diff = b->value - a->value;
	out->df = den > 0.0 ? var * var / den : a->n + b->n - 2.0;
	double q = stats_t_quantile(1.0 - alpha / 2.0, out->df);
	double se = sqrt(var);
	out->diff_lo = out->diff - q * se;
	out->diff_hi = out->diff + q * se;
	if (se > 0.0)
		out->p = metrics_t_pvalue(out->diff / se, out->df);
	else
		out->p = out->diff == 0.0 ? 1.0 : 0.0;
	if (a->value == 0.0) {
		out->lift = out->lift_lo = out->lift_hi = NAN;
	} else {
		/* Var(b/a) by the delta method, a and b independent:
		 *   (1/a^2) var_b + (b^2/a^4) var_a = (var_b + (b/a)^2 var_a) / a^2. */
		double ratio = b->value / a->value;
		double lse = sqrt(b->var + ratio * ratio * a->var) / fabs(a->value);
		out->lift = out->diff / a->value;
		out->lift_lo = out->lift - q * lse;
		out->lift_hi = out->lift + q * lse;
	}
	return 0;
}

int stats_srm(const double *observed, const double *weight, size_t k, double *chi2, double *p, seg_error *err)
{
	if (k < 2 || k > 64)
		return seg_error_set(err, SEG_EINVAL, "the sample-ratio test needs 2 to 64 variants (have %zu)", k);
	double n = 0.0, w = 0.0;
	for (size_t i = 0; i < k; i++) {
		if (!(weight[i] > 0.0) || isinf(weight[i]))
			return seg_error_set(err, SEG_EINVAL, "variant %zu has weight %g; weights must be positive", i,
			                     weight[i]);
		if (!(observed[i] >= 0.0) || isinf(observed[i]))
			return seg_error_set(err, SEG_EINVAL, "variant %zu has %g users", i, observed[i]);
		n += observed[i];
		w += weight[i];
	}
	if (n == 0.0)
		return seg_error_set(err, SEG_EINVAL, "the sample-ratio test has no users");
	double x = 0.0;
	for (size_t i = 0; i < k; i++) {
		double e = n * weight[i] / w;
		x += (observed[i] - e) * (observed[i] - e) / e;
	}
	*chi2 = x;
	*p = stats_chi2_sf(x, (double)(k - 1));
	return 0;
}

void stats_cuped_add(stats_cuped *c, int variant, double y, double x)
{
	int v = variant ? 1 : 0;
	c->n[v] += 1.0;
	c->sy[v] += y;
	c->sx[v] += x;
	c->syy[v] += y * y;
	c->sxx[v] += x * x;
	c->sxy[v] += x * y;
}

int stats_cuped_finish(const stats_cuped *c, stats_estimate out[2], double *theta, seg_error *err)
{
	if (!(c->n[0] >= 2.0 && c->n[1] >= 2.0))
		return seg_error_set(err, SEG_EINVAL, "CUPED needs at least 2 users per variant (have %g and %g)",
		                     c->n[0], c->n[1]);
	/* Centred sums within each variant. */
	double Syy[2], Sxx[2], Sxy[2];
	for (int v = 0; v < 2; v++) {
		Syy[v] = c->syy[v] - c->sy[v] * c->sy[v] / c->n[v];
		Sxx[v] = c->sxx[v] - c->sx[v] * c->sx[v] / c->n[v];
		Sxy[v] = c->sxy[v] - c->sx[v] * c->sy[v] / c->n[v];
		if (Sxx[v] < 0.0)
			Sxx[v] = 0.0;
	}
	double sxx = Sxx[0] + Sxx[1];
	double th = sxx > 0.0 ? (Sxy[0] + Sxy[1]) / sxx : 0.0;
	double xbar = (c->sx[0] + c->sx[1]) / (c->n[0] + c->n[1]);
	for (int v = 0; v < 2; v++) {
		double n = c->n[v];
		double s2 = (Syy[v] - 2.0 * th * Sxy[v] + th * th * Sxx[v]) / (n - 1.0);
		out[v].n = n;
		out[v].value = c->sy[v] / n - th * (c->sx[v] / n - xbar);
		out[v].var = (s2 > 0.0 ? s2 : 0.0) / n;
	}
	*theta = th;
	return 0;
}

/* -------------------------------------------------------- multiple tests */

static int check_pvalues(const double *p, size_t m, seg_error *err)
{
	for (size_t i = 0; i < m; i++)
		if (!(p[i] >= 0.0 && p[i] <= 1.0))
			return seg_error_set(err, SEG_EINVAL, "p-value %zu is %g, not in [0, 1]", i, p[i]);
	return 0;
}

int stats_holm(const double *p, size_t m, double *adj, seg_error *err)
{
	int rc = check_pvalues(p, m, err);
	return rc ? rc : metrics_holm(p, m, adj, err);
}

typedef struct p_rank {
	double p;
	size_t i;
} p_rank;

static int cmp_p_rank(const void *x, const void *y)
{
	const p_rank *a = x, *b = y;
	return a->p < b->p ? -1 : a->p > b->p ? 1 : (a->i > b->i) - (a->i < b->i);
}

int stats_bh(const double *p, size_t m, double *adj, seg_error *err)
{
	int rc = check_pvalues(p, m, err);
	if (rc || m == 0)
		return rc;
	p_rank *ord = malloc(sizeof *ord * m);
	if (ord == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %zu p-values", m);
	for (size_t i = 0; i < m; i++)
		ord[i] = (p_rank){p[i], i};
	qsort(ord, m, sizeof *ord, cmp_p_rank);
	/* Step-up: adj_(j) = min over k >= j of min(1, m p_(k) / k), from the
	 * largest p down. Tied p get the same value (the min reaches the last
	 * of the ties). */
	double run = 1.0;
	for (size_t j = m; j-- > 0;) {
		double v = (double)m * ord[j].p / (double)(j + 1);
		if (v < run)
			run = v;
		adj[ord[j].i] = run;
	}
	free(ord);
	return 0;
}

/* ------------------------------------------------------------------- power */

static int check_level(double alpha, double power, seg_error *err)
{
	if (!(alpha > 0.0 && alpha < 1.0))
		return seg_error_set(err, SEG_EINVAL, "alpha %g is not in (0, 1)", alpha);
	if (!(power > 0.0 && power < 1.0))
		return seg_error_set(err, SEG_EINVAL, "power %g is not in (0, 1)", power);
	return 0;
}

int stats_power_proportion(double p0, double mde, double alpha, double power, double *n, seg_error *err)
{
	int rc = check_level(alpha, power, err);
	if (rc)
		return rc;
	double p1 = p0 + mde;
	if (!(p0 > 0.0 && p0 < 1.0) || !(p1 > 0.0 && p1 < 1.0) || mde == 0.0)
		return seg_error_set(err, SEG_EINVAL, "baseline %g and baseline + mde %g must differ and lie in (0, 1)",
		                     p0, p1);
	double pbar = 0.5 * (p0 + p1);
	double za = stats_norm_quantile(1.0 - alpha / 2.0), zb = stats_norm_quantile(power);
	double s = za * sqrt(2.0 * pbar * (1.0 - pbar)) + zb * sqrt(p0 * (1.0 - p0) + p1 * (1.0 - p1));
	*n = ceil(s * s / (mde * mde));
	return 0;
}

int stats_power_mean(double sd, double mde, double alpha, double power, double *n, seg_error *err)
{
	int rc = check_level(alpha, power, err);
	if (rc)
		return rc;
	if (!(sd > 0.0) || isinf(sd) || mde == 0.0 || !isfinite(mde))
		return seg_error_set(err, SEG_EINVAL, "sd %g must be positive and mde %g non-zero", sd, mde);
	double z = stats_norm_quantile(1.0 - alpha / 2.0) + stats_norm_quantile(power);
	*n = ceil(2.0 * sd * sd * z * z / (mde * mde));
	return 0;
}

/* -------------------------------------------------------------- sequential */

int stats_msprt(double diff, double var, double tau2, double alpha, stats_sequential *out, seg_error *err)
{
	if (!(var > 0.0) || !(tau2 > 0.0) || isinf(var) || isinf(tau2))
		return seg_error_set(err, SEG_EINVAL, "the sequential test needs var > 0 and tau2 > 0 (have %g, %g)",
		                     var, tau2);
	if (!(alpha > 0.0 && alpha < 1.0))
		return seg_error_set(err, SEG_EINVAL, "alpha %g is not in (0, 1)", alpha);
	double vt = var + tau2;
	double hw = sqrt(var * vt / tau2 * (2.0 * log(1.0 / alpha) + log(vt / var)));
	out->lo = diff - hw;
	out->hi = diff + hw;
	/* 1/Lambda, written so that a large Lambda underflows to 0 instead of
	 * overflowing. */
	double inv = sqrt(vt / var) * exp(-tau2 * diff * diff / (2.0 * var * vt));
	out->p = inv < 1.0 ? inv : 1.0;
	return 0;
}
