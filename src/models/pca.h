/* pca.h: principal component analysis of a feature matrix, for the 2-D "sonic
 * map": fit (mean, components, explained variance) and project rows onto the
 * components. It does not standardise, whiten or plot: the caller decides the
 * feature scaling, the SVG module draws.
 *
 * Dimensions: N points (rows), D features (columns), C components kept.
 *
 * Method: the covariance (divisor N - 1) is accumulated in double with
 * cblas_dsyrk over centred row blocks and decomposed by LAPACKE_dsyevd. BLAS and
 * LAPACK run on OpenBLAS's own threads; this module starts none.
 *
 * Sign convention: each component is flipped so that its entry of largest
 * absolute value is positive (among entries within a relative 1e-6 of the
 * largest, the first one counts). Components with equal variance (a degenerate
 * eigenvalue, for example several zero-variance directions) are any orthonormal
 * basis of their space, chosen deterministically by LAPACK. */
#ifndef SEGUE_PCA_H
#define SEGUE_PCA_H

#include <stddef.h>

#include "core/error.h"

/* A fitted projection. Plain data carved out of one allocation owned by the
 * struct: release with pca_model_free. */
typedef struct pca_model {
	int d;                            /* D input features */
	int c;                            /* C components kept */
	size_t n;                         /* N rows it was fitted on */
	double total_variance;            /* sum of the D feature variances (trace) */
	double *mean;                     /* [D] column means */
	float *components;                /* [C][D] unit principal axes, largest variance first */
	double *explained_variance;       /* [C] variance along each axis (divisor N - 1) */
	double *explained_variance_ratio; /* [C] share of total_variance, 0 when it is 0 */
} pca_model;

/* Fits C components (1 <= C <= D) to x [N][D] (N >= 2, finite values) and fills
 * *out. Components beyond the rank of the centred data (for example when
 * N - 1 < C) have zero variance. Returns 0, SEG_EINVAL (bad sizes, NaN or Inf in
 * x, or LAPACK failing to converge) or SEG_ENOMEM; on error *out is zeroed and
 * owns nothing. */
int pca_fit(const float *x, size_t n, int d, int c, pca_model *out, seg_error *err);

/* Projects x [N][D] onto the model's components: y [N][C] = (x - mean) . components^T
 * (caller-allocated). A row with NaN or Inf projects to non-finite values.
 * Returns 0, SEG_EINVAL or SEG_ENOMEM. */
int pca_transform(const pca_model *m, const float *x, size_t n, float *y, seg_error *err);

/* Releases what pca_fit allocated and zeroes *m; NULL is a no-op. */
void pca_model_free(pca_model *m);

#endif
