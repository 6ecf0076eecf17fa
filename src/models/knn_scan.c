/* knn_scan.c: the float scan of the knn module (see knn_internal.h): the
 * single search over every float row, and the scan of a batch's score
 * tiles. It fuses scoring and selection: a kernel computes the scores of 8
 * rows at once and only rows that beat the current k-th score reach the
 * heap (and the filters). The kernel is hand-written AVX2 + FMA, chosen at
 * run time, with a portable C fallback, which GCC cannot vectorise without
 * -ffast-math (bench/knn measures both).
 *
 * Legend: N rows, D features. */
#include "models/knn_internal.h"

#include <string.h>

/* ---------------------------------------------------------------- kernels */

/* Scores rows x[n][D] (the first being row `row0`) against q[D] and offers
 * those that beat the threshold. */
void knn__scan_rows_portable(const float *x, size_t D, size_t row0, size_t n, const float *q, knn_sel *t)
{
	for (size_t i = 0; i < n; i++) {
		float s = dot_portable(x + i * D, q, D);
		if (s > t->top.thr)
			sel_offer(t, row0 + i, s);
	}
}

/* Offers the entries of scores s[n] (for rows row0...) that beat the threshold. */
static void scan_scores_portable(const float *s, size_t row0, size_t n, knn_sel *t)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] > t->top.thr)
			sel_offer(t, row0 + i, s[i]);
}

#ifdef KNN_X86

/* Adds up each of the 8 accumulators a[0..7] across its lanes: lane r of the
 * result is the sum of the lanes of a[r]. */
__attribute__((target("avx2,fma"))) static inline __m256 hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4,
                                                               __m256 a5, __m256 a6, __m256 a7)
{
	/* hadd works within 128-bit halves; after two rounds each half holds
	 * the partial sums of 4 rows, and the halves are then added. */
	__m256 t0 = _mm256_hadd_ps(a0, a1);
	__m256 t1 = _mm256_hadd_ps(a2, a3);
	__m256 t2 = _mm256_hadd_ps(a4, a5);
	__m256 t3 = _mm256_hadd_ps(a6, a7);
	__m256 u0 = _mm256_hadd_ps(t0, t1); /* rows 0-3, low and high halves */
	__m256 u1 = _mm256_hadd_ps(t2, t3); /* rows 4-7 */
	__m256 lo = _mm256_permute2f128_ps(u0, u1, 0x20);
	__m256 hi = _mm256_permute2f128_ps(u0, u1, 0x31);
	return _mm256_add_ps(lo, hi);
}

/* The scores of the 8 rows r[8] against q[D]: full = D / 8 whole lanes, then
 * the first rem = D % 8 columns through the mask `tail` (qt: the query's
 * last rem columns, masked). */
__attribute__((target("avx2,fma"))) static inline __m256 score8_avx2(const float *const *r, const float *q, size_t full,
                                                                     size_t rem, __m256i tail, __m256 qt)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	__m256 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
	for (size_t c = 0; c < 8 * full; c += 8) {
		__m256 qv = _mm256_loadu_ps(q + c);
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r[0] + c), qv, a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r[1] + c), qv, a1);
		a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r[2] + c), qv, a2);
		a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r[3] + c), qv, a3);
		a4 = _mm256_fmadd_ps(_mm256_loadu_ps(r[4] + c), qv, a4);
		a5 = _mm256_fmadd_ps(_mm256_loadu_ps(r[5] + c), qv, a5);
		a6 = _mm256_fmadd_ps(_mm256_loadu_ps(r[6] + c), qv, a6);
		a7 = _mm256_fmadd_ps(_mm256_loadu_ps(r[7] + c), qv, a7);
	}
	if (rem) {
		size_t c = 8 * full;
		a0 = _mm256_fmadd_ps(_mm256_maskload_ps(r[0] + c, tail), qt, a0);
		a1 = _mm256_fmadd_ps(_mm256_maskload_ps(r[1] + c, tail), qt, a1);
		a2 = _mm256_fmadd_ps(_mm256_maskload_ps(r[2] + c, tail), qt, a2);
		a3 = _mm256_fmadd_ps(_mm256_maskload_ps(r[3] + c, tail), qt, a3);
		a4 = _mm256_fmadd_ps(_mm256_maskload_ps(r[4] + c, tail), qt, a4);
		a5 = _mm256_fmadd_ps(_mm256_maskload_ps(r[5] + c, tail), qt, a5);
		a6 = _mm256_fmadd_ps(_mm256_maskload_ps(r[6] + c, tail), qt, a6);
		a7 = _mm256_fmadd_ps(_mm256_maskload_ps(r[7] + c, tail), qt, a7);
	}
	return hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
}

static const int32_t tail_lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* scan_rows_portable, 8 rows at a time. Each row's score is computed the
 * same way wherever it falls in a group: a short last group repeats the last
 * row in its unused slots and ignores them. */
__attribute__((target("avx2,fma"))) static void scan_rows_avx2(const float *x, size_t D, size_t row0, size_t n,
                                                               const float *q, knn_sel *t)
{
	size_t full = D / 8, rem = D % 8;
	__m256i tail = _mm256_loadu_si256((const __m256i *)(tail_lanes + 8 - rem)); /* first rem lanes */
	__m256 qt = _mm256_maskload_ps(q + 8 * full, tail);

	for (size_t i = 0; i < n; i += 8) {
		const float *r[8]; /* [8] row pointers */
		for (size_t j = 0; j < 8; j++)
			r[j] = x + (i + j < n ? i + j : n - 1) * D;
		__m256 s = score8_avx2(r, q, full, rem, tail, qt); /* [8] scores */
		int m = _mm256_movemask_ps(_mm256_cmp_ps(s, _mm256_set1_ps(t->top.thr), _CMP_GT_OQ));
		if (m == 0)
			continue;
		float sv[8];
		_mm256_storeu_ps(sv, s);
		size_t ng = n - i < 8 ? n - i : 8;
		for (size_t j = 0; j < ng; j++)
			if ((m >> j) & 1 && sv[j] > t->top.thr) /* thr may have risen */
				sel_offer(t, row0 + i + j, sv[j]);
	}
}

/* Stores the scores s of rows i..i+7 into out[n], as many as there are. */
__attribute__((target("avx2"))) static inline void store_scores8(float *out, size_t i, size_t n, __m256 s)
{
	if (n - i >= 8) {
		_mm256_storeu_ps(out + i, s);
	} else {
		float sv[8];
		_mm256_storeu_ps(sv, s);
		memcpy(out + i, sv, (n - i) * sizeof(float));
	}
}

/* The scores of rows x[n][D] against q[D] into out[n], 8 at a time (as
 * scan_rows_avx2 computes them). */
__attribute__((target("avx2,fma"))) static void score_rows_avx2(const float *x, size_t D, size_t n, const float *q,
                                                                float *out)
{
	size_t full = D / 8, rem = D % 8;
	__m256i tail = _mm256_loadu_si256((const __m256i *)(tail_lanes + 8 - rem));
	__m256 qt = _mm256_maskload_ps(q + 8 * full, tail);
	for (size_t i = 0; i < n; i += 8) {
		const float *r[8];
		for (size_t j = 0; j < 8; j++)
			r[j] = x + (i + j < n ? i + j : n - 1) * D;
		__m256 s = score8_avx2(r, q, full, rem, tail, qt);
		store_scores8(out, i, n, s);
	}
}

/* scan_scores_portable, 32 scores per comparison round. */
__attribute__((target("avx2"))) static void scan_scores_avx2(const float *s, size_t row0, size_t n, knn_sel *t)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256 th = _mm256_set1_ps(t->top.thr);
		__m256 c0 = _mm256_cmp_ps(_mm256_loadu_ps(s + i), th, _CMP_GT_OQ);
		__m256 c1 = _mm256_cmp_ps(_mm256_loadu_ps(s + i + 8), th, _CMP_GT_OQ);
		__m256 c2 = _mm256_cmp_ps(_mm256_loadu_ps(s + i + 16), th, _CMP_GT_OQ);
		__m256 c3 = _mm256_cmp_ps(_mm256_loadu_ps(s + i + 24), th, _CMP_GT_OQ);
		__m256 any = _mm256_or_ps(_mm256_or_ps(c0, c1), _mm256_or_ps(c2, c3));
		if (_mm256_movemask_ps(any) == 0)
			continue;
		scan_scores_portable(s + i, row0 + i, 32, t);
	}
	scan_scores_portable(s + i, row0 + i, n - i, t);
}

#endif /* KNN_X86 */

void knn__scan_rows(const knn_index *idx, const float *q, knn_sel *t)
{
#ifdef KNN_X86
	if (idx->simd) {
		scan_rows_avx2(idx->x, idx->d, 0, idx->n, q, t);
		return;
	}
#endif
	knn__scan_rows_portable(idx->x, idx->d, 0, idx->n, q, t);
}

void knn__scan_scores(const knn_index *idx, const float *s, size_t row0, size_t n, knn_sel *t)
{
#ifdef KNN_X86
	if (idx->simd) {
		scan_scores_avx2(s, row0, n, t);
		return;
	}
#endif
	scan_scores_portable(s, row0, n, t);
}

/* Scores rows x[n][D] against q into out[n]: the AVX2 kernel, or the
 * portable sum (exact_score's order). */
void knn__score_rows(const knn_index *idx, const float *x, size_t n, const float *q, float *out)
{
#ifdef KNN_X86
	if (idx->simd) {
		score_rows_avx2(x, idx->d, n, q, out);
		return;
	}
#endif
	for (size_t i = 0; i < n; i++)
		out[i] = dot_portable(x + i * idx->d, q, idx->d);
}
