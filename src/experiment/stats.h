/* stats.h: the statistics of an A/B test, on summaries a caller has already
 * aggregated per user: Welch's t interval for a difference of means, the
 * delta method for ratio metrics, the sample-ratio-mismatch chi-square test,
 * CUPED, Holm and Benjamini-Hochberg adjustments, the sample size for a
 * target power, an always-valid confidence sequence (the normal-mixture
 * SPRT) and the distributions they need. Pure functions of their arguments:
 * no state, thread-safe, no allocation except stats_holm and stats_bh (a
 * temporary index of m entries: SEG_ENOMEM when it fails). It does not read
 * events: analysis.h does. The t tail is engine/metrics.h's
 * metrics_t_pvalue (one incomplete beta in the tree). Accuracy measured
 * against scipy and mpmath (tests/test_stats.c): normal cdf and quantile
 * ~1e-14 relative, t cdf ~1e-14 up to df 1e3 and within 4e-11 beyond, t
 * quantile ~1e-12, chi-square tail ~1e-13. */
#ifndef SEGUE_STATS_H
#define SEGUE_STATS_H

#include <stddef.h>

#include "core/error.h"

/* ---- distributions ---- */

double stats_norm_cdf(double z);
/* The z with stats_norm_cdf(z) = p, for 0 < p < 1 (relative error ~1e-15);
 * -Inf at 0, +Inf at 1, NaN outside [0, 1]. */
double stats_norm_quantile(double p);
/* Student's t with df > 0 degrees of freedom (df may be fractional, as
 * Welch's is); df = +Inf is the normal. NaN for df <= 0 or a NaN argument.
 * The quantile is good while |t| < 1e150 (p >= about 1e-150 at df 1). */
double stats_t_cdf(double t, double df);
double stats_t_quantile(double p, double df);
/* P(X > x) for X chi-square with df degrees of freedom. */
double stats_chi2_sf(double x, double df);

/* ---- one sample of per-user values ---- */

/* Sufficient statistics of per-user pairs (x_i, y_i): a ratio metric is
 * sum(x)/sum(y) (plays / impressions), a mean metric has y_i = 1 for
 * every user. Add users with stats_moments_add; plain data, zero it to
 * start. */
typedef struct stats_moments {
	double n;             /* users */
	double sx, sy;        /* sums of x and y */
	double sxx, syy, sxy; /* sums of squares and cross products */
} stats_moments;
void stats_moments_add(stats_moments *m, double x, double y);

/* A metric's estimate in one variant. */
typedef struct stats_estimate {
	double n;     /* users */
	double value; /* mean (sum x / n) or ratio (sum x / sum y) */
	double var;   /* variance of `value` as an estimate (the squared standard error) */
} stats_estimate;

/* Mean of x (y ignored): value = sx/n, var = sample variance / n.
 * SEG_EINVAL when n < 2. */
int stats_mean(const stats_moments *m, stats_estimate *out, seg_error *err);
/* Ratio sx/sy with its delta-method variance:
 *   var = (s_x^2 - 2 r s_xy + r^2 s_y^2) / (n * ybar^2),
 * s the sample (co)variances with n-1, r the ratio, ybar = sy/n.
 * SEG_EINVAL when n < 2 or sy is 0. */
int stats_ratio(const stats_moments *m, stats_estimate *out, seg_error *err);

/* ---- comparing two variants ---- */

/* Treatment b against control a. */
typedef struct stats_compare {
	double diff, diff_lo, diff_hi; /* b - a with its (1 - alpha) interval */
	double lift, lift_lo, lift_hi; /* (b - a) / a with its interval (delta method on the ratio of
	                                  two independent estimates); NaN when a's value is 0 */
	double p;                      /* two-sided p-value of diff = 0 */
	double df;                     /* degrees of freedom used (Welch-Satterthwaite; +Inf for z) */
} stats_compare;

/* Welch's t on two estimates whose var is value's squared standard error
 * from n users each (df by Welch-Satterthwaite on var and n - 1:
 * df = (va + vb)^2 / (va^2/(na - 1) + vb^2/(nb - 1))). For ratio estimates
 * the same formula with their delta-method var. Both intervals use the same
 * quantile q = t_{1 - alpha/2, df}: diff ± q sqrt(va + vb), and
 * lift ± q sqrt(vb + (b/a)^2 va) / |a|. When both vars are 0 the difference
 * is exact: p = 1 if it is 0 else 0, the interval [diff, diff], df = na +
 * nb - 2. SEG_EINVAL when alpha is not in (0, 1) or an n < 2 or a var is
 * negative, infinite or NaN. */
int stats_welch(const stats_estimate *a, const stats_estimate *b, double alpha, stats_compare *out, seg_error *err);

/* Sample-ratio mismatch: the chi-square goodness-of-fit test of the users
 * seen per variant, observed[k], against the traffic weights, weight[k]
 * (any positive scale), k = 2..64. *chi2 and *p out; an alarm is p <
 * STATS_SRM_ALPHA. SEG_EINVAL on a bad k, a weight <= 0 or no users. */
#define STATS_SRM_ALPHA 0.001
int stats_srm(const double *observed, const double *weight, size_t k, double *chi2, double *p, seg_error *err);

/* CUPED: theta = cov(y, x) / var(x) pooled over both variants, where y is
 * the metric and x the pre-experiment covariate of each user; the adjusted
 * metric is y - theta (x - mean x). Feed each variant's users (y, x) into
 * stats_cuped_add, then stats_cuped_finish gives each variant's adjusted
 * mean estimate (value and var) ready for stats_welch, and theta. The
 * variance reduction is 1 - corr(x, y)^2 within variants. Exactly:
 *   theta = (Sxy_0 + Sxy_1) / (Sxx_0 + Sxx_1), S the sums of centred
 *           products WITHIN each variant (pooled within variants, so a
 *           treatment effect on y does not enter theta);
 *   xbar  = the mean of x over both variants' users;
 *   value_v = mean_v(y) - theta (mean_v(x) - xbar);
 *   var_v   = sample variance (n_v - 1) of y - theta x within v / n_v
 *           (theta treated as known). */
typedef struct stats_cuped {
	double n[2], sy[2], sx[2], syy[2], sxx[2], sxy[2];
} stats_cuped;
void stats_cuped_add(stats_cuped *c, int variant /* 0 or 1 */, double y, double x);
/* SEG_EINVAL when a variant has fewer than 2 users; theta = 0 when x has no
 * variance. */
int stats_cuped_finish(const stats_cuped *c, stats_estimate out[2], double *theta, seg_error *err);

/* Adjusted p-values for m tests into adj[m] (may be p): Holm's step-down
 * (family-wise error) and Benjamini-Hochberg's step-up (false discovery
 * rate), each monotone and capped at 1. SEG_EINVAL on a p outside [0, 1]
 * or NaN. */
int stats_holm(const double *p, size_t m, double *adj, seg_error *err);
int stats_bh(const double *p, size_t m, double *adj, seg_error *err);

/* Users per variant (rounded up, both functions) for a two-sided test of two proportions, baseline p0
 * against p0 + mde, at level alpha with the given power, equal split:
 *   n = (z_{1-alpha/2} sqrt(2 pbar qbar) + z_{power} sqrt(p0 q0 + p1 q1))^2 / mde^2,
 * rounded up (pbar the mean of p0 and p1). SEG_EINVAL when p0 or p0 + mde
 * is outside (0, 1), mde is 0, or alpha or power outside (0, 1). */
int stats_power_proportion(double p0, double mde, double alpha, double power, double *n, seg_error *err);
/* The same for a mean metric with per-user standard deviation sd:
 *   n = 2 sd^2 (z_{1-alpha/2} + z_{power})^2 / mde^2. */
int stats_power_mean(double sd, double mde, double alpha, double power, double *n, seg_error *err);

/* The always-valid view: a confidence sequence for a difference d
 * estimated by `diff` with variance `var` (diff's squared standard error),
 * by the normal-mixture SPRT with mixing variance tau2 (in diff's units
 * squared: the prior spread of the effects one expects). Its interval at
 * level alpha holds
 * for every look at once:
 *   half-width = sqrt( (var (var + tau2) / tau2) * (2 log(1/alpha) + log((var + tau2) / var)) ),
 * and the always-valid p-value is min(1, 1 / Lambda) with
 *   Lambda = sqrt(var / (var + tau2)) exp(tau2 diff^2 / (2 var (var + tau2))).
 * SEG_EINVAL when var <= 0, tau2 <= 0 or alpha outside (0, 1). */
typedef struct stats_sequential {
	double lo, hi; /* the confidence sequence's interval for d */
	double p;      /* always-valid p-value */
} stats_sequential;
int stats_msprt(double diff, double var, double tau2, double alpha, stats_sequential *out, seg_error *err);

#endif
