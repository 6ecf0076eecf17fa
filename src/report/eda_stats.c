/* eda_stats.c: quantiles, summary statistics, Pearson correlation and
 * equal-count bins for the EDA report (see eda_stats.h). */
#include "report/eda_stats.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double eda_stats_quantile(const double *x, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + (x[lo + 1] - x[lo]) * (pos - (double)lo);
}

double eda_stats_skewness(const double *x, size_t n, double mean)
{
	if (n < 3)
		return NAN;
	double m2 = 0, m3 = 0;
	for (size_t i = 0; i < n; i++) {
		double d = x[i] - mean;
		m2 += d * d;
		m3 += d * d * d;
	}
	m2 /= (double)n;
	m3 /= (double)n;
	/* Values that are all equal can leave a rounding residue in m2; treat a
	 * spread below 1e-14 of the mean's scale as none. */
	if (!(m2 > 1e-28 * (1 + mean * mean)))
		return NAN;
	double nn = (double)n;
	return sqrt(nn * (nn - 1)) / (nn - 2) * m3 / pow(m2, 1.5);
}

void eda_stats_summarize(double *x, size_t n, eda_summary *out)
{
	if (n > 0)
		qsort(x, n, sizeof(double), cmp_double);
	out->count = n;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	out->mean = n ? sum / (double)n : NAN;
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - out->mean) * (x[i] - out->mean);
	out->std = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
	out->min = n ? x[0] : NAN;
	out->max = n ? x[n - 1] : NAN;
	out->p25 = eda_stats_quantile(x, n, 0.25);
	out->median = eda_stats_quantile(x, n, 0.5);
	out->p75 = eda_stats_quantile(x, n, 0.75);
	out->p01 = eda_stats_quantile(x, n, 0.01);
	out->p99 = eda_stats_quantile(x, n, 0.99);
	out->skew = eda_stats_skewness(x, n, out->mean);
}

void eda_stats_pearson_add(eda_pearson *a, double x, double y)
{
	a->n += 1;
	double dx = x - a->mx;
	double dy = y - a->my;
	a->mx += dx / a->n;
	a->my += dy / a->n;
	a->cxx += dx * (x - a->mx);
	a->cyy += dy * (y - a->my);
	a->cxy += dx * (y - a->my);
}

double eda_stats_pearson(const eda_pearson *a)
{
	if (!(a->n >= 2 && a->cxx > 0 && a->cyy > 0))
		return NAN;
	double v = a->cxy / sqrt(a->cxx * a->cyy);
	return v > 1 ? 1 : v < -1 ? -1 : v;
}

/* A point of a scatter plot, sorted by x, then y. */
typedef struct xy_pair {
	double x, y;
} xy_pair;

static int cmp_pair(const void *a, const void *b)
{
	const xy_pair *p = a, *q = b;
	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	return (p->y > q->y) - (p->y < q->y);
}

int eda_stats_sort_pairs(double *x, double *y, size_t n)
{
	if (n == 0)
		return 0;
	xy_pair *pairs = malloc(n * sizeof(*pairs)); /* [n] */
	if (pairs == NULL)
		return SEG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		pairs[i] = (xy_pair){x[i], y[i]};
	qsort(pairs, n, sizeof(*pairs), cmp_pair);
	for (size_t i = 0; i < n; i++) {
		x[i] = pairs[i].x;
		y[i] = pairs[i].y;
	}
	free(pairs);
	return 0;
}

size_t eda_stats_equal_bins(const double *x, const double *y, size_t n, size_t max_bins, eda_bin *out)
{
	size_t nbin = 0;
	if (max_bins == 0)
		return 0;
	size_t target = (n + max_bins - 1) / max_bins;
	for (size_t start = 0; start < n && nbin < max_bins;) {
		size_t end = start + target;
		if (end >= n || nbin == max_bins - 1)
			end = n;
		while (end < n && x[end] == x[end - 1])
			end++;
		double sx = 0, sy = 0;
		for (size_t i = start; i < end; i++) {
			sx += x[i];
			sy += y[i];
		}
		out[nbin].start = start;
		out[nbin].end = end;
		out[nbin].x_mean = sx / (double)(end - start);
		out[nbin].y_mean = sy / (double)(end - start);
		nbin++;
		start = end;
	}
	return nbin;
}
