/* knn.c: exact top-k cosine similarity (see knn.h): the index (building
 * it, freeing it) and the single search, which goes through the clusters
 * (knn_cluster.c), the quantised copy (knn_quant.c) or the float scan
 * (knn_scan.c); the batch is knn_batch.c. A row is either scored on its
 * floats, or ruled out by a proven bound (clusters, a byte copy's error):
 * nothing here caches, and only knn_search_probe, when its budget runs out
 * first, returns approximate neighbours (and says so). What the parts
 * share is knn_internal.h.
 *
 * Legend: N rows of the index, D features, K results. */
#include "models/knn_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- index */

static int cpu_has_avx2(void)
{
#ifdef KNN_X86
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

float knn_vec_normalize(float *v, size_t D)
{
	double s = sumsq(v, D);
	if (!(s > 0))
		return 0;
	double len = sqrt(s);
	for (size_t j = 0; j < D; j++)
		v[j] = (float)(v[j] / len);
	return (float)len;
}

int knn_index_create(knn_index **out, const float *X, size_t N, size_t D, unsigned flags, seg_error *err)
{
	int rc = 0;
	knn_index *idx = NULL;

	if (out == NULL)
		return seg_error_set(err, SEG_EINVAL, "knn_index_create: out is NULL");
	*out = NULL;
	if (D == 0 || D > INT_MAX)
		return seg_error_set(err, SEG_EINVAL, "knn index: dimension %zu is out of range", D);
	if (N > 0 && X == NULL)
		return seg_error_set(err, SEG_EINVAL, "knn index: matrix is NULL");
	if (N > SIZE_MAX / sizeof(float) / D)
		return seg_error_set(err, SEG_EINVAL, "knn index: %zu x %zu is too large", N, D);

	idx = calloc(1, sizeof(*idx));
	if (idx == NULL)
		return seg_error_set(err, SEG_ENOMEM, "knn index: out of memory");
	idx->n = N;
	idx->d = D;
	idx->simd = !(flags & KNN_PORTABLE) && cpu_has_avx2();

	int borrow = (flags & KNN_BORROW) != 0;
	if (!borrow && N > 0) {
		size_t bytes = (N * D * sizeof(float) + 63) / 64 * 64;
		idx->own = aligned_alloc(64, bytes);
		if (idx->own == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "knn index: cannot allocate %zu bytes", bytes);
			goto fail;
		}
	}
	idx->x = borrow ? X : idx->own;

	for (size_t i = 0; i < N; i++) {
		const float *xi = X + i * D; /* [D] */
		double s = sumsq(xi, D);
		if (!isfinite(s)) {
			rc = seg_error_set(err, SEG_EINVAL, "knn index: row %zu has a NaN or infinite value", i);
			goto fail;
		}
		if (s == 0) {
			if (idx->zero == NULL) {
				idx->zero = calloc(KNN_BITMAP_BYTES(N), 1);
				if (idx->zero == NULL) {
					rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory");
					goto fail;
				}
			}
			knn_bitmap_set(idx->zero, i);
			idx->nzero++;
			if (!borrow)
				memset(idx->own + i * D, 0, D * sizeof(float));
			continue;
		}
		if (borrow) {
			/* |len - 1| <= 1e-3  <=>  len^2 within about 2e-3 of 1 */
			if (fabs(s - 1) > 2e-3) {
				rc = seg_error_set(err, SEG_EINVAL,
				                   "knn index: row %zu has length %.6g, not 1 (build the index "
				                   "without KNN_BORROW to normalise it)",
				                   i, sqrt(s));
				goto fail;
			}
		} else {
			double len = sqrt(s);
			float *oi = idx->own + i * D; /* [D] */
			for (size_t j = 0; j < D; j++)
				oi[j] = (float)(xi[j] / len);
		}
	}
	if (knn__cluster_wanted(N, N - idx->nzero, D, flags)) {
		idx->cvnni = !(flags & KNN_PORTABLE) && knn__cpu_has_vnni();
		if ((rc = knn__cluster_build(idx, err)) < 0)
			goto fail;
	} else if (knn__quant_wanted(N, D, flags) && (rc = knn__quant_build(idx, flags, err)) < 0)
		goto fail;
	*out = idx;
	return 0;

fail:
	knn_index_free(idx);
	return rc;
}

void knn_index_free(knn_index *idx)
{
	if (idx == NULL)
		return;
	free(idx->own);
	free(idx->zero);
	free(idx->q8);
	knn__bytecode_free(&idx->qcode);
	free(idx->cx);
	free(idx->ccode);
	free(idx->cspan);
	free(idx->crow);
	free(idx->cang);
	free(idx->ccen);
	free(idx->camax);
	free(idx->ccos);
	free(idx->csin);
	free(idx->cstart);
	free(idx);
}

size_t knn_index_rows(const knn_index *idx) { return idx->n; }
size_t knn_index_dims(const knn_index *idx) { return idx->d; }
const float *knn_index_matrix(const knn_index *idx) { return idx->x; }
size_t knn_index_zero_rows(const knn_index *idx) { return idx->nzero; }
size_t knn_index_clusters(const knn_index *idx) { return idx->cx ? idx->nc : 0; }

/* ---------------------------------------------------------------- search */

void knn_stats_get(knn_stats *st)
{
	st->quant_searches = knn__quant_searches;
	st->quant_rescans = knn__quant_rescans;
	st->cluster_searches = knn__cluster_searches;
	st->cluster_rows = knn__cluster_rows_scored;
	st->cluster_visits = knn__cluster_visits;
	st->cluster_rescored = knn__cluster_rescored;
}

/* ---------------------------------------------------------------- search */

/* knn_search and knn_search_probe: probe 0 is the exact search. */
static int search(const knn_index *idx, const float *q, size_t k, const knn_filter *f, size_t probe, knn_hit *out,
                  size_t *nout, int *exact)
{
	if (exact)
		*exact = 1;
	if (nout)
		*nout = 0;
	if (idx == NULL || q == NULL || nout == NULL || (out == NULL && k > 0))
		return SEG_EINVAL;
	int qc = query_check(q, idx->d);
	if (qc < 0)
		return qc;
	if (qc == 1 || k == 0 || idx->n == 0)
		return 0;
	if (idx->q8 && knn__quant_search(idx, q, k, f, out, nout))
		return 0;
	knn_sel t;
	sel_init(&t, out, k, idx, f);
	int proven = 1;
	if (idx->cx)
		proven = knn__cluster_search(idx, q, probe, &t);
	else if (idx->q8) /* k too large for it: scores in the order it gives them */
		knn__scan_rows_portable(idx->x, idx->d, 0, idx->n, q, &t);
	else
		knn__scan_rows(idx, q, &t);
	*nout = topk_finish(&t.top);
	if (exact)
		*exact = proven;
	return 0;
}

int knn_search(const knn_index *idx, const float *q, size_t k, const knn_filter *f, knn_hit *out, size_t *nout)
{
	return search(idx, q, k, f, 0, out, nout, NULL);
}

int knn_search_probe(const knn_index *idx, const float *q, size_t k, const knn_filter *f, size_t probe, knn_hit *out,
                     size_t *nout, int *exact)
{
	return search(idx, q, k, f, probe, out, nout, exact);
}
