/* kmeans.h: k-means clustering of a feature matrix for the "sonic map" (k-means++
 * seeding, Lloyd iterations, several restarts), assignment of new points to the
 * nearest centroid, and a short description of a cluster in words. It does not
 * standardise features or choose K: the caller passes standardised rows.
 *
 * Dimensions: N points (rows), D features (columns), K clusters.
 *
 * Threads: kmeans_fit and kmeans_assign split the rows into a fixed set of
 * partitions (a function of N only) that segue's own pthreads work through; each
 * partition calls cblas_sgemm on row blocks small enough that OpenBLAS runs them
 * on the calling thread (for K*D up to 32768), so the two thread pools do not
 * oversubscribe the cores. Partial sums are reduced in partition order, so on one
 * machine and BLAS build the results are bit-identical for any thread count. */
#ifndef SEGUE_KMEANS_H
#define SEGUE_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Settings of kmeans_fit. Plain data: fill with kmeans_params_default, then
 * change what you need. */
typedef struct kmeans_params {
	int k;             /* K clusters, 1 <= K <= N */
	int n_init;        /* independent k-means++ restarts; the lowest inertia is kept */
	int max_iter;      /* Lloyd iterations per restart, at most */
	double tol;        /* stop when |inertia change| <= tol * previous inertia (1e-6 on
	                    z-scores is about as tight as scikit-learn's default) */
	uint64_t seed;     /* PRNG seed: equal seeds give equal results */
	int n_threads;     /* worker threads, 0 = one per online CPU */
	const float *init; /* [K][D] starting centroids instead of k-means++ (a warm
	                      start), or NULL; when set, one run is made (n_init unused) */
	int spherical;     /* 1: spherical k-means, for directions (rows of unit length):
	                    every centroid is scaled to unit length (the seeds or init,
	                    then each update: the direction of its rows' sum), so that
	                    the nearest centroid of a unit row is the one of largest
	                    cosine; a centroid whose rows sum to zero keeps its place.
	                    0 (default): Euclidean k-means */
} kmeans_params;

/* What kmeans_fit found, besides centroids and labels. */
typedef struct kmeans_info {
	double inertia; /* sum over points of the squared distance to their centroid */
	int iterations; /* Lloyd iterations (centroid updates) of the kept restart */
	int converged;  /* 1 when the kept restart met tol or stopped changing, 0 on max_iter */
	int best_run;   /* index (0-based) of the kept restart */
	long reseeds;   /* empty clusters re-seeded during the kept restart */
} kmeans_info;

/* k = 8, n_init = 10, max_iter = 300, tol = 1e-6, seed = 0, n_threads = 0, init = NULL,
 * spherical = 0. */
void kmeans_params_default(kmeans_params *p);

/* Clusters x [N][D] (row-major, finite values) into p->k clusters.
 * Writes centroids [K][D] and labels [N] (values 0..K-1), both caller-allocated,
 * and *info (may be NULL). Each label is the nearest centroid (ties: lowest index)
 * and info->inertia is computed exactly in double from those labels.
 * A cluster left empty during the iterations is re-seeded at the point farthest
 * from its centroid. Returns 0, SEG_EINVAL (bad sizes or parameters, NaN or Inf
 * in x or init) or SEG_ENOMEM; on error the outputs are unspecified. */
int kmeans_fit(const float *x, size_t n, int d, const kmeans_params *p, float *centroids, int32_t *labels,
               kmeans_info *info, seg_error *err);

/* Assigns each row of x [N][D] to its nearest centroid of centroids [K][D]
 * (with unit centroids, from a spherical fit, the one of largest cosine):
 * labels [N] receives the index (ties: lowest), dist2 [N] (may be NULL) the squared
 * Euclidean distance, computed as ||x||^2 + ||c||^2 - 2 x.c in float (absolute
 * error about 1e-7 * (||x||^2 + ||c||^2)). Both are caller-allocated. n_threads as
 * in kmeans_params. Returns 0, SEG_EINVAL or SEG_ENOMEM. */
int kmeans_assign(const float *centroids, int k, int d, const float *x, size_t n, int32_t *labels, float *dist2,
                  int n_threads, seg_error *err);

/* Describes a cluster in words from its centroid z [D] in standardised units
 * (z-scores) and the feature names [D]: the features whose |z| >= threshold,
 * largest |z| first, at most max_terms of them, each in words that say the
 * direction ("high energy, low acousticness, fast"). Known Spotify features get
 * their own words (tempo: fast/slow, loudness: loud/quiet, mode: major/minor-leaning,
 * valence: happy/sad-sounding, ...); any other name X reads "high X" / "low X".
 * When no feature reaches the threshold the text is "close to the average".
 * Names match without regard to case; a threshold of 0.5 and max_terms of 2 to 4
 * read well on a map. Writes a NUL-terminated string into buf [cap]. Returns the
 * number of features described (0..max_terms), or SEG_EINVAL for bad arguments or
 * a buffer too small for the text (buf then holds "" when cap > 0). */
int kmeans_describe(const float *z, const char *const *names, int d, double threshold, int max_terms, char *buf,
                    size_t cap, seg_error *err);

#endif
