/* eda_stats.h: the statistics of the EDA report that SQL says badly: summary
 * statistics with quantiles, pairwise-complete Pearson correlation, and
 * equal-count bins of a scatter plot. Pure numeric code over double arrays:
 * no SQL, no drawing; thread-safe, and nothing here allocates except
 * eda_stats_sort_pairs. Internal to the report (eda.h is the public API). */
#ifndef SEGUE_EDA_STATS_H
#define SEGUE_EDA_STATS_H

#include <stddef.h>

/* Summary statistics of n values. Plain data. Every field is NAN when it is
 * undefined (no values; std with fewer than two). */
typedef struct eda_summary {
	size_t count;
	double mean, std; /* std: the sample standard deviation (n - 1) */
	double min, p25, median, p75, max;
	double p01, p99; /* for axis ranges only */
	double skew;     /* the adjusted Fisher-Pearson sample skewness G1 (pandas'
	                  * Series.skew, scipy.stats.skew with bias=False); NAN with
	                  * fewer than three values or when they do not vary */
} eda_summary;

/* Quantile q (0..1) of the sorted values x[n], with linear interpolation
 * between the two nearest ranks (numpy's default); NAN when n is 0. */
double eda_stats_quantile(const double *x, size_t n, double q);

/* The adjusted Fisher-Pearson sample skewness of x[n] around its mean:
 * sqrt(n (n - 1)) / (n - 2) * m3 / m2^1.5, with m2 and m3 the central moments
 * (divided by n). NAN when n < 3 or every value is equal. */
double eda_stats_skewness(const double *x, size_t n, double mean);

/* Sorts x[n] ascending in place and computes its summary into *out. The
 * values must not be NaN. */
void eda_stats_summarize(double *x, size_t n, eda_summary *out);

/* A running Pearson correlation of pairs (x, y), updated one pair at a time
 * with Welford's formulas so that features on large scales (tempo, loudness)
 * do not lose precision. Zero-initialise. */
typedef struct eda_pearson {
	double n, mx, my, cxx, cyy, cxy;
} eda_pearson;

/* Adds the pair (x, y); the caller skips pairs where either is missing. */
void eda_stats_pearson_add(eda_pearson *a, double x, double y);

/* The correlation of the pairs added so far, clamped to -1..1; NAN when there
 * are fewer than two pairs or either side does not vary. */
double eda_stats_pearson(const eda_pearson *a);

/* Sorts the pairs (x[i], y[i]) by x, then y, in place. Returns 0, or
 * SEG_ENOMEM with the arrays unchanged. */
int eda_stats_sort_pairs(double *x, double *y, size_t n);

/* One bin of eda_stats_equal_bins: rows start..end-1 of the sorted arrays. */
typedef struct eda_bin {
	size_t start, end;
	double x_mean, y_mean;
} eda_bin;

/* Splits the pairs (x[i], y[i]), sorted by x, into at most max_bins bins of
 * about n / max_bins pairs each, in order; equal x values are never split
 * between two bins, so heavy ties give fewer, larger bins. Writes them into
 * out[max_bins] and returns how many there are (0 when n is 0). */
size_t eda_stats_equal_bins(const double *x, const double *y, size_t n, size_t max_bins, eda_bin *out);

#endif
