/* pca.c: PCA by eigen-decomposition of the covariance matrix (see pca.h). It
 * does not offer randomized or incremental PCA: D is the number of audio
 * features (tens), so the D x D covariance is small and exact.
 *
 * Legend: N points, D features, C components, B rows per block. */
#include "models/pca.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCA_BLOCK 1024 /* B: rows centred and widened to double per dsyrk call */

static int check_input(const float *x, size_t n, int d, seg_error *err)
{
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			if (!isfinite(x[i * (size_t)d + j]))
				return seg_error_set(err, SEG_EINVAL, "pca: non-finite value at row %zu, column %d", i,
				                     j);
	return 0;
}

/* Flips v [D] so that its first entry of (nearly) largest magnitude is positive. */
static void fix_sign(double *v, int d, int stride)
{
	double big = 0;
	for (int j = 0; j < d; j++)
		if (fabs(v[(size_t)j * stride]) > big)
			big = fabs(v[(size_t)j * stride]);
	for (int j = 0; j < d; j++) {
		double a = v[(size_t)j * stride];
		if (fabs(a) >= big * (1 - 1e-6)) {
			if (a < 0)
				for (int i = 0; i < d; i++)
					v[(size_t)i * stride] = -v[(size_t)i * stride];
			return;
		}
	}
}

void pca_model_free(pca_model *m)
{
	if (m == NULL)
		return;
	free(m->mean); /* the one allocation; the other arrays point into it */
	memset(m, 0, sizeof(*m));
}

int pca_fit(const float *x, size_t n, int d, int c, pca_model *out, seg_error *err)
{
	if (out == NULL || x == NULL)
		return seg_error_set(err, SEG_EINVAL, "pca_fit: NULL argument");
	memset(out, 0, sizeof(*out));
	if (n < 2 || d < 1)
		return seg_error_set(err, SEG_EINVAL, "pca_fit: need at least 2 rows and 1 column (got %zu x %d)", n,
		                     d);
	if (c < 1 || c > d)
		return seg_error_set(err, SEG_EINVAL, "pca_fit: components = %d must be between 1 and D = %d", c, d);
	int rc = check_input(x, n, d, err);
	if (rc < 0)
		return rc;

	const size_t D = (size_t)d, C = (size_t)c;
	/* The model: mean [D], explained variance [C], ratio [C], components [C][D]
	 * (doubles first so that every part stays aligned). */
	double *model = malloc(sizeof(double) * (D + 2 * C) + sizeof(float) * C * D);
	double *cov = calloc(D * D, sizeof(double));          /* [D][D], upper triangle */
	double *evals = malloc(sizeof(double) * D);           /* [D] ascending */
	double *blk = malloc(sizeof(double) * PCA_BLOCK * D); /* [B][D] centred rows */
	if (!model || !cov || !evals || !blk) {
		rc = seg_error_set(err, SEG_ENOMEM, "pca_fit: out of memory for D = %d", d);
		goto fail;
	}
	double *mean = model;
	double *var = mean + D;
	double *ratio = var + C;
	float *comp = (float *)(ratio + C);

	/* Column means in double: raw features such as duration_ms are large enough
	 * that a float sum over many rows would drift. */
	for (size_t j = 0; j < D; j++)
		mean[j] = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < D; j++)
			mean[j] += x[i * D + j];
	for (size_t j = 0; j < D; j++)
		mean[j] /= (double)n;

	/* cov = sum over blocks of blk^T blk, blk = centred rows in double. */
	for (size_t b0 = 0; b0 < n; b0 += PCA_BLOCK) {
		size_t m = n - b0 < PCA_BLOCK ? n - b0 : PCA_BLOCK;
		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < D; j++)
				blk[i * D + j] = (double)x[(b0 + i) * D + j] - mean[j];
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)m, 1.0, blk, d, 1.0, cov, d);
	}
	double total = 0;
	for (size_t j = 0; j < D; j++) {
		for (size_t k = j; k < D; k++)
			cov[j * D + k] /= (double)(n - 1);
		total += cov[j * D + j];
	}

	/* Eigenvectors end up in the columns of cov, eigenvalues ascending. */
	lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, cov, d, evals);
	if (info != 0) {
		rc = seg_error_set(err, SEG_EINVAL, "pca_fit: LAPACKE_dsyevd failed (info %d)", (int)info);
		goto fail;
	}
	for (size_t k = 0; k < C; k++) {
		size_t col = D - 1 - k; /* largest first */
		fix_sign(cov + col, d, d);
		for (size_t j = 0; j < D; j++)
			comp[k * D + j] = (float)cov[j * D + col];
		var[k] = evals[col] > 0 ? evals[col] : 0; /* rounding can leave -1e-17 */
		ratio[k] = total > 0 ? var[k] / total : 0;
	}

	out->d = d;
	out->c = c;
	out->n = n;
	out->total_variance = total;
	out->mean = mean;
	out->explained_variance = var;
	out->explained_variance_ratio = ratio;
	out->components = comp;
	model = NULL;
	rc = 0;
fail:
	free(model);
	free(cov);
	free(evals);
	free(blk);
	return rc;
}

int pca_transform(const pca_model *m, const float *x, size_t n, float *y, seg_error *err)
{
	if (m == NULL || m->mean == NULL || y == NULL || (x == NULL && n > 0))
		return seg_error_set(err, SEG_EINVAL, "pca_transform: NULL argument or unfitted model");
	if (n == 0)
		return 0;
	const size_t D = (size_t)m->d;
	float *blk = malloc(sizeof(float) * PCA_BLOCK * D); /* [B][D] centred rows */
	if (blk == NULL)
		return seg_error_set(err, SEG_ENOMEM, "pca_transform: out of memory");
	/* Centre before projecting: x.W^T - mean.W^T would cancel badly for raw
	 * features far from zero. */
	for (size_t b0 = 0; b0 < n; b0 += PCA_BLOCK) {
		size_t rows = n - b0 < PCA_BLOCK ? n - b0 : PCA_BLOCK;
		for (size_t i = 0; i < rows; i++)
			for (size_t j = 0; j < D; j++)
				blk[i * D + j] = (float)((double)x[(b0 + i) * D + j] - m->mean[j]);
		/* y [rows][C] = blk [rows][D] . components^T [D][C] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, m->c, m->d, 1.0f, blk, m->d,
		            m->components, m->d, 0.0f, y + b0 * (size_t)m->c, m->c);
	}
	free(blk);
	return 0;
}
