/* stats.c: not written yet; the team's helper replaces this file. */
#include <math.h>
#include <stddef.h>
#include "experiment/stats.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"

double stats_norm_cdf(double z) { return NAN; }

double stats_norm_quantile(double p) { return NAN; }

double stats_t_cdf(double t, double df) { return NAN; }

double stats_t_quantile(double p, double df) { return NAN; }

double stats_chi2_sf(double x, double df) { return NAN; }

void stats_moments_add(stats_moments *m, double x, double y) {}

int stats_mean(const stats_moments *m, stats_estimate *out, seg_error *err) { return -3; }

int stats_ratio(const stats_moments *m, stats_estimate *out, seg_error *err) { return -3; }

int stats_welch(const stats_estimate *a, const stats_estimate *b, double alpha, stats_compare *out, seg_error *err)
{
	return -3;
}

int stats_srm(const double *observed, const double *weight, size_t k, double *chi2, double *p, seg_error *err)
{
	return -3;
}

void stats_cuped_add(stats_cuped *c, int variant, double y, double x) {}

int stats_cuped_finish(const stats_cuped *c, stats_estimate out[2], double *theta, seg_error *err) { return -3; }

int stats_holm(const double *p, size_t m, double *adj, seg_error *err) { return -3; }

int stats_bh(const double *p, size_t m, double *adj, seg_error *err) { return -3; }

int stats_power_proportion(double p0, double mde, double alpha, double power, double *n, seg_error *err) { return -3; }

int stats_power_mean(double sd, double mde, double alpha, double power, double *n, seg_error *err) { return -3; }

int stats_msprt(double diff, double var, double tau2, double alpha, stats_sequential *out, seg_error *err)
{
	return -3;
}
