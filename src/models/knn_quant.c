/* knn_quant.c: the byte code that the quantised copy and the clusters
 * store rows in, and the quantised copy with its scan (see knn_internal.h
 * and the section "quantised copy" below).
 *
 * Legend: N rows, D features, K results, G = ceil(D / 4) groups of four
 * columns, M candidates of the first scan. */
#include "models/knn_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- byte code */

/* Gives bc storage for D columns (two allocations, for bytecode_free).
 * Returns 0 or -1 when out of memory. */
int knn__bytecode_alloc(bytecode *bc, size_t D)
{
	bc->lo = malloc(2 * D * sizeof(float));
	bc->emax = calloc(D, sizeof(double));
	bc->step = bc->lo ? bc->lo + D : NULL;
	bc->enorm = 0;
	return bc->lo == NULL || bc->emax == NULL ? -1 : 0;
}

/* Fits lo and step to the rows X[rows[i]] (rows NULL: X[0..n)) and clears
 * the residuals; bc's arrays are the caller's. */
void knn__bytecode_fit(bytecode *bc, const float *X, const uint32_t *rows, size_t n, size_t D)
{
	bc->enorm = 0;
	for (size_t j = 0; j < D; j++) {
		float lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < n; i++) {
			float v = X[(rows ? rows[i] : i) * D + j];
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		bc->lo[j] = n ? lo : 0;
		bc->step[j] = n ? (hi - lo) / 255.0f : 0;
		bc->emax[j] = 0;
	}
}

/* Codes row x[D] into u[D] and records its residuals. */
void knn__bytecode_put(bytecode *bc, const float *x, size_t D, uint8_t *u)
{
	double e2 = 0;
	for (size_t j = 0; j < D; j++) {
		double step = bc->step[j], r = (double)x[j] - bc->lo[j];
		long v = step > 0 ? lrint(r / step) : 0;
		v = v < 0 ? 0 : v > 255 ? 255 : v;
		u[j] = (uint8_t)v;
		double e = fabs((double)x[j] - ((double)bc->lo[j] + step * (double)v));
		bc->emax[j] = e > bc->emax[j] ? e : bc->emax[j];
		e2 += e * e;
	}
	bc->enorm = sqrt(e2) > bc->enorm ? sqrt(e2) : bc->enorm;
}

/* The bound on |sum_j q_j e_j| for a query q[D] of length qn. */
static double bytecode_residual(const bytecode *bc, const float *q, size_t D, double qn)
{
	/* four running sums: one chain of dependent adds would cost a few
	 * cycles a column, and the clustered search calls this for every
	 * cluster it visits */
	double qe[4] = {0, 0, 0, 0};
	size_t j = 0;
	for (; j + 4 <= D; j += 4)
		for (size_t l = 0; l < 4; l++)
			qe[l] += fabs((double)q[j + l]) * bc->emax[j + l];
	for (; j < D; j++)
		qe[0] += fabs((double)q[j]) * bc->emax[j];
	double sum = (qe[0] + qe[1]) + (qe[2] + qe[3]);
	return qn * bc->enorm < sum ? qn * bc->enorm : sum;
}

void knn__bytecode_free(bytecode *bc)
{
	free(bc->lo);
	free(bc->emax);
}

/* Stores the bytes u[D] of row i in blocks of 16 rows ([G][16][4] bytes a
 * block, see "quantised copy"), at `base`. */
void knn__block_put(uint8_t *base, size_t G, size_t i, const uint8_t *u, size_t D)
{
	uint8_t *blk = base + (i / 16) * G * 64 + (i % 16) * 4;
	for (size_t j = 0; j < D; j++)
		blk[(j / 4) * 64 + j % 4] = u[j];
}

/* ---------------------------------------------------------------- quantised copy
 *
 * Single queries are answered exactly from a byte copy of the rows: a scan
 * of the bytes ranks every row by an approximate score with a proven error
 * bound, and only the rows that the bound cannot rule out are scored on the
 * float rows. The bytes are a quarter of the floats, so the scan, which is
 * memory bound at large N, reads a quarter of the memory.
 *
 * Column j of row x is stored as u = round((x_j - lo_j) / step_j), a byte,
 * with step_j = (max_j - lo_j) / 255; the residual e_j = x_j - lo_j - step_j u
 * is at most step_j / 2. For a query q, w_j = q_j step_j is rounded to
 * integers v_j = round(w_j / tau), |v_j| <= 16256 (tau = max |w_j| / 16256),
 * stored as two signed bytes (v_j = 128 a_j + b_j) so that both halves go
 * through byte products. Then
 *
 *   q.x = C + tau I_x + sum_j f_j u_j + sum_j q_j e_j,
 *   C = sum_j q_j lo_j,   I_x = sum_j v_j u_j (integer),   f_j = w_j - tau v_j,
 *
 * and the last two terms are bounded by E = 255 sum_j |f_j| + min(|q| max_x
 * |e_x|, sum_j |q_j| max_x |e_xj|), computed per query. A row x can be in the
 * top k only if C + tau I_x + E >= t for any t at or below the k-th best true
 * score. The search (quant_search) keeps the M rows of largest I_x, scores
 * them exactly, takes t = their k-th best score, and is done when the M-th
 * I_x is too small to reach t; otherwise it scans again and scores every row
 * whose I_x could reach t. On the real catalogue (N = 95,529, D = 37) and a
 * generated one (N = 1M, D = 28), E was 0.006-0.009 and the rows within 2E of
 * the k-th best score numbered 23 and 31 at the median for k = 10 (175 and
 * 150 at most, over 20 queries), 160 and 171 for k = 100. The first
 * scan keeps M = 2k + 32 + N / 8192 candidates: on bench/knn's clustered
 * vectors (D = 32, k = 10, one thread) a second scan was needed for 6% of
 * queries at 100k rows (12.0k queries/s against 6.2k for the float scan),
 * 18% at 1M (932 against 200) and 14% at 5M (158 against 47); at 1M, M =
 * 2k + 32 needed it for 43% (738 queries/s), 4k + 128 for 19% (852).
 *
 * Layout: blocks of 16 rows; in a block, group g holds columns 4g..4g+3 of
 * its 16 rows, 4 bytes per row, so that one 64-byte load feeds one VNNI
 * instruction (vpdpbusd: 16 lanes of four byte products each). Columns past
 * D and rows past N are zero bytes. */

int knn__cpu_has_vnni(void)
{
#ifdef KNN_X86
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
	return 0;
#endif
}

/* Whether single queries go through the quantised copy: forced by
 * KNN_QUANT, refused by KNN_FLOAT; otherwise for large enough indexes where
 * the VNNI kernel runs (the portable integer kernel is slower than the AVX2
 * float one). */
int knn__quant_wanted(size_t N, size_t D, unsigned flags)
{
	if ((flags & KNN_FLOAT) || N == 0 || D > QUANT_MAX_D || N > UINT32_MAX)
		return 0;
	if (flags & KNN_QUANT)
		return 1;
	return N >= QUANT_MIN_ROWS && !(flags & KNN_PORTABLE) && knn__cpu_has_vnni();
}

int knn__quant_build(knn_index *idx, unsigned flags, seg_error *err)
{
	const size_t N = idx->n, D = idx->d, G = (D + 3) / 4;
	const size_t nb = (N + 15) / 16;
	const float *X = idx->x;
	idx->qg = G;
	idx->qvnni = !(flags & KNN_PORTABLE) && knn__cpu_has_vnni();
	idx->q8 = aligned_alloc(64, nb * G * 64);
	if (idx->q8 == NULL || knn__bytecode_alloc(&idx->qcode, D) < 0)
		return seg_error_set(err, SEG_ENOMEM, "knn index: cannot allocate the quantised copy (%zu bytes)",
		                     nb * G * 64);
	knn__bytecode_fit(&idx->qcode, X, NULL, N, D);
	memset(idx->q8, 0, nb * G * 64);
	idx->qlmax = 0;
	for (size_t i = 0; i < N; i++) {
		const float *xi = X + i * D; /* [D] */
		double len = sqrt(sumsq(xi, D));
		idx->qlmax = len > idx->qlmax ? len : idx->qlmax;
		uint8_t u[QUANT_MAX_D];
		knn__bytecode_put(&idx->qcode, xi, D, u);
		knn__block_put(idx->q8, G, i, u, D);
	}
	return 0;
}

/* ---------------------------------------------------------------- quantised scan */

/* One candidate of the first scan: I_x and its row. */
typedef struct qcand {
	int32_t score;
	uint32_t row;
} qcand;

/* The state of a quantised scan. First pass: the M candidates of largest
 * I_x (ties: lower row), gathered in a buffer of 2M: rows enter while their
 * I_x beats `thr`, in increasing row order; a full buffer is cut to its best
 * M by quickselect and thr becomes the worst of those, which costs O(1) a
 * row where a heap of M cost O(log M) and was the larger part of the search
 * at N = 100k. Second pass: every row with I_x > thr (fixed) is scored
 * exactly into `t`. */
typedef struct qscan {
	const knn_index *idx;
	const float *q; /* [D] */
	qcand *h;       /* [2M] */
	size_t m, len;
	int32_t thr;
	int pass2;
	knn_sel *t;             /* the exact selection (second pass) */
	const uint8_t *exclude; /* the filter's bit array, or NULL */
	const knn_filter *f;    /* for the callback; NULL when there is none */
} qscan;

_Atomic uint64_t knn__quant_searches, knn__quant_rescans;

/* Fills qq for query q[D] of length qn against rows coded by bc, none
 * longer than lmax. Returns 1 when every w_j is zero: then I_x = 0 for
 * every row (tau is 1) and only the bound tells rows apart. */
int knn__qquery_fit(qquery *qq, const bytecode *bc, const float *q, size_t D, double qn, double lmax)
{
	/* The sums run in four lanes (j mod 4), so that the adds do not wait on
	 * each other: the clustered search fits the query to every cluster it
	 * visits, hundreds a search. Any order of the adds gives a valid c and
	 * bound (their rounding is far inside the bound's last term). */
	double w[QUANT_MAX_D], wm[4] = {0, 0, 0, 0}, cs[4] = {0, 0, 0, 0};
	for (size_t j = 0; j < D; j++) {
		w[j] = (double)q[j] * bc->step[j];
		wm[j & 3] = fabs(w[j]) > wm[j & 3] ? fabs(w[j]) : wm[j & 3];
		cs[j & 3] += (double)q[j] * bc->lo[j];
	}
	double wmax = fmax(fmax(wm[0], wm[1]), fmax(wm[2], wm[3]));
	qq->c = (cs[0] + cs[1]) + (cs[2] + cs[3]);
	size_t DG = (D + 3) / 4 * 4; /* the kernels read whole groups of four */
	memset(qq->a, 0, DG);
	memset(qq->b, 0, DG);
	qq->tau = wmax > 0 ? wmax / QUANT_VMAX : 1;
	const double inv = 1.0 / qq->tau;
	double fs[4] = {0, 0, 0, 0};
	for (size_t j = 0; j < D && wmax > 0; j++) {
		/* rounded half away from zero by a cast (lrint is a call into
		 * libm here, once a column a cluster visited); any rounding will
		 * do, fsum takes the one made */
		double x = w[j] * inv; /* |x| <= QUANT_VMAX within rounding */
		int32_t v = (int32_t)(x + (x >= 0 ? 0.5 : -0.5));
		v = v < -QUANT_VMAX ? -QUANT_VMAX : v > QUANT_VMAX ? QUANT_VMAX : v;
		int32_t a = (v + 64 + 128 * 128) / 128 - 128; /* floor((v + 64) / 128): b = v - 128 a in [-64, 63] */
		qq->a[j] = (int8_t)a;
		qq->b[j] = (int8_t)(v - 128 * a);
		fs[j & 3] += fabs(w[j] - qq->tau * (double)v);
	}
	double fsum = (fs[0] + fs[1]) + (fs[2] + fs[3]);
	/* the last terms: float rounding of an exact score (D products) */
	qq->bound = 255.0 * fsum + bytecode_residual(bc, q, D, qn) + 2.0 * (double)D * FLT_EPSILON * qn * lmax + 1e-7;
	return wmax > 0 ? 0 : 1;
}

#ifdef KNN_X86
/* knn__qquery_fit eight columns a step in double (AVX-512; the VNNI kernel's
 * CPUs have it): the clustered search fits the query to every cluster it
 * visits, and the scalar fit was a large part of its time. The same v_j
 * (w_j is exact in double, the rounding the same half away from zero), so
 * the same a and b; c and the bound summed in another order, which any
 * order allows (test_kernels in tests/test_knn.c compares the two).
 * Columns past D, up to a multiple of 8, load as zero and get a_j = b_j = 0. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) int
knn__qquery_fit_avx512(qquery *qq, const bytecode *bc, const float *q, size_t D, double qn, double lmax)
{
	double w[QUANT_MAX_D];
	__m512d wm = _mm512_setzero_pd(), cs = wm, re = wm, fs = wm;
	for (size_t j = 0; j < D; j += 8) {
		__mmask8 m = D - j >= 8 ? 0xff : (__mmask8)((1u << (D - j)) - 1);
		__m512d qd = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, q + j));
		__m512d wj = _mm512_mul_pd(qd, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, bc->step + j)));
		_mm512_storeu_pd(w + j, wj);
		wm = _mm512_max_pd(wm, _mm512_abs_pd(wj));
		cs = _mm512_fmadd_pd(qd, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, bc->lo + j)), cs);
		re = _mm512_fmadd_pd(_mm512_abs_pd(qd), _mm512_maskz_loadu_pd(m, bc->emax + j), re);
	}
	double wmax = _mm512_reduce_max_pd(wm);
	qq->c = _mm512_reduce_add_pd(cs);
	qq->tau = wmax > 0 ? wmax / QUANT_VMAX : 1;
	const __m512d inv = _mm512_set1_pd(wmax > 0 ? 1.0 / qq->tau : 0), tau = _mm512_set1_pd(qq->tau);
	const __m512d half = _mm512_set1_pd(0.5);
	const __m256i vmax = _mm256_set1_epi32(QUANT_VMAX), vmin = _mm256_set1_epi32(-QUANT_VMAX);
	const __m256i off = _mm256_set1_epi32(64 + 128 * 128), c128 = _mm256_set1_epi32(128);
	for (size_t j = 0; j < D; j += 8) {
		__m512d wj = _mm512_loadu_pd(w + j); /* zero past D: the loads above were masked */
		__m512d x = _mm512_mul_pd(wj, inv);
		/* x + 0.5 sign(x), truncated: as the scalar cast */
		__m512d xh = _mm512_add_pd(x, _mm512_or_pd(half, _mm512_and_pd(x, _mm512_set1_pd(-0.0))));
		__m256i v = _mm512_cvttpd_epi32(xh);
		v = _mm256_min_epi32(_mm256_max_epi32(v, vmin), vmax);
		__m256i a = _mm256_sub_epi32(_mm256_srai_epi32(_mm256_add_epi32(v, off), 7), c128);
		__m256i b = _mm256_sub_epi32(v, _mm256_slli_epi32(a, 7));
		_mm_storel_epi64((__m128i *)(void *)(qq->a + j), _mm256_cvtepi32_epi8(a));
		_mm_storel_epi64((__m128i *)(void *)(qq->b + j), _mm256_cvtepi32_epi8(b));
		fs = _mm512_add_pd(fs, _mm512_abs_pd(_mm512_sub_pd(wj, _mm512_mul_pd(tau, _mm512_cvtepi32_pd(v)))));
	}
	double fsum = _mm512_reduce_add_pd(fs), res = _mm512_reduce_add_pd(re);
	res = qn * bc->enorm < res ? qn * bc->enorm : res;
	qq->bound = 255.0 * fsum + res + 2.0 * (double)D * FLT_EPSILON * qn * lmax + 1e-7;
	return wmax > 0 ? 0 : 1;
}
#endif

/* qquery_fit for the quantised copy. */
static int quant_prepare(const knn_index *idx, const float *q, qquery *qq)
{
	return knn__qquery_fit(qq, &idx->qcode, q, idx->d, sqrt(sumsq(q, idx->d)), idx->qlmax);
}

/* I_x = sum_j (128 a_j + b_j) u_j for the 16 rows of each of nb blocks
 * p[nb][G][16][4] into iv[nb][16]. */
void knn__block_ints_portable(const uint8_t *p, size_t G, size_t nb, const int8_t *a, const int8_t *b, int32_t *iv)
{
	for (size_t blk = 0; blk < nb; blk++, p += G * 64)
		for (size_t r = 0; r < 16; r++) {
			int32_t hi = 0, lo = 0;
			for (size_t g = 0; g < G; g++)
				for (size_t j = 0; j < 4; j++) {
					int32_t u = p[g * 64 + r * 4 + j];
					hi += u * a[4 * g + j];
					lo += u * b[4 * g + j];
				}
			iv[blk * 16 + r] = hi * 128 + lo;
		}
}

#ifdef KNN_X86
/* block_ints_portable with one vpdpbusd per group of four columns and half
 * of the query; p is 64-byte aligned. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
knn__block_ints_vnni(const uint8_t *p, size_t G, size_t nb, const int8_t *a, const int8_t *b, int32_t *iv)
{
	int32_t qa[QUANT_MAX_D / 4], qb[QUANT_MAX_D / 4]; /* [G] four query bytes each */
	memcpy(qa, a, 4 * G);
	memcpy(qb, b, 4 * G);
	for (size_t blk = 0; blk < nb; blk++, p += G * 64) {
		__m512i h = _mm512_setzero_si512(), l = h;
		for (size_t g = 0; g < G; g++) {
			__m512i x = _mm512_load_si512((const void *)(p + g * 64));
			h = _mm512_dpbusd_epi32(h, x, _mm512_set1_epi32(qa[g]));
			l = _mm512_dpbusd_epi32(l, x, _mm512_set1_epi32(qb[g]));
		}
		_mm512_storeu_si512((void *)(iv + blk * 16), _mm512_add_epi32(_mm512_slli_epi32(h, 7), l));
	}
}
#endif

static inline int qcand_worse(qcand a, qcand b) { return a.score < b.score || (a.score == b.score && a.row > b.row); }

static inline void qcand_swap(qcand *a, qcand *b)
{
	qcand t = *a;
	*a = *b;
	*b = t;
}

/* Rearranges a[n] so that a[0..m) are its m best (0 < m < n), by quickselect
 * (median of three, Hoare partition). */
static void qcand_select(qcand *a, size_t n, size_t m)
{
	size_t lo = 0, hi = n - 1; /* the m-th best (index m - 1) lies in [lo, hi] */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (qcand_worse(a[lo], a[mid]))
			qcand_swap(&a[lo], &a[mid]);
		if (qcand_worse(a[lo], a[hi]))
			qcand_swap(&a[lo], &a[hi]);
		if (qcand_worse(a[mid], a[hi]))
			qcand_swap(&a[mid], &a[hi]);
		qcand pivot = a[mid]; /* best first: a[lo] >= pivot >= a[hi] */
		size_t i = lo, j = hi;
		for (;;) {
			while (qcand_worse(pivot, a[i]))
				i++;
			while (qcand_worse(a[j], pivot))
				j--;
			if (i >= j)
				break;
			qcand_swap(&a[i], &a[j]);
			i++;
			j--;
		}
		/* a[lo..j] are no worse than the pivot, a[j+1..hi] no better */
		if (m - 1 <= j)
			hi = j;
		else
			lo = j + 1;
	}
}

/* Cuts the buffer (of at least M) to its best M and sets thr to the worst of
 * them. */
static void qscan_cut(qscan *s)
{
	if (s->len > s->m)
		qcand_select(s->h, s->len, s->m);
	s->len = s->m;
	qcand w = s->h[0];
	for (size_t i = 1; i < s->m; i++)
		if (qcand_worse(s->h[i], w))
			w = s->h[i];
	s->thr = w.score;
}

/* A row whose I_x passed s->thr. Not inlined into the VNNI kernel, where
 * exact_score could be compiled with fused multiply-adds and round
 * differently from the float scan. */
__attribute__((noinline)) static void qscan_offer(qscan *s, size_t row, int32_t iv)
{
	const knn_index *idx = s->idx;
	if (row >= idx->n || (idx->zero && knn_bitmap_test(idx->zero, row)) ||
	    (s->exclude && knn_bitmap_test(s->exclude, row)))
		return;
	if (s->pass2) {
		float e = exact_score(idx, row, s->q);
		if (e > s->t->top.thr)
			sel_offer(s->t, row, e);
		return;
	}
	if (s->f && !s->f->accept(s->f->ctx, row))
		return;
	s->h[s->len++] = (qcand){iv, (uint32_t)row};
	if (s->len == 2 * s->m)
		qscan_cut(s);
}

static void qscan_portable(qscan *s, const qquery *qq)
{
	const knn_index *idx = s->idx;
	const size_t G = idx->qg, nb = (idx->n + 15) / 16;
	for (size_t blk = 0; blk < nb; blk++) {
		int32_t iv[16];
		knn__block_ints_portable(idx->q8 + blk * G * 64, G, 1, qq->a, qq->b, iv);
		for (size_t r = 0; r < 16; r++)
			if (iv[r] > s->thr)
				qscan_offer(s, blk * 16 + r, iv[r]);
	}
}

#ifdef KNN_X86
/* Offers the rows of block `blk` whose lane of iv[16] beats s->thr. */
__attribute__((target("avx512f"))) static inline void qscan_block_offer(qscan *s, size_t blk, __m512i iv)
{
	__mmask16 m = _mm512_cmpgt_epi32_mask(iv, _mm512_set1_epi32(s->thr));
	if (m == 0)
		return;
	int32_t v[16];
	_mm512_storeu_si512((void *)v, iv);
	while (m) {
		unsigned r = (unsigned)__builtin_ctz(m);
		m &= (__mmask16)(m - 1);
		if (v[r] > s->thr) /* thr may have risen */
			qscan_offer(s, blk * 16 + r, v[r]);
	}
}

/* qscan_portable, 16 rows (a block) per step: one vpdpbusd per group of
 * four columns and half of the query. (Two blocks per step in four chains
 * ran at half the speed: the loads of two interleaved streams stalled.) */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void qscan_vnni(qscan *s, const qquery *qq)
{
	const size_t G = s->idx->qg, nb = (s->idx->n + 15) / 16;
	const uint8_t *q8 = s->idx->q8;
	int32_t qa[QUANT_MAX_D / 4], qb[QUANT_MAX_D / 4]; /* [G] four query bytes each */
	memcpy(qa, qq->a, 4 * G);
	memcpy(qb, qq->b, 4 * G);
	for (size_t blk = 0; blk < nb; blk++) {
		const uint8_t *p = q8 + blk * G * 64; /* [G][16][4] */
#ifdef KNN_PREFETCH
		_mm_prefetch((const char *)(p + KNN_PREFETCH), _MM_HINT_T0);
#endif
		__m512i h0 = _mm512_setzero_si512(), l0 = h0;
		for (size_t g = 0; g < G; g++) {
			__m512i x0 = _mm512_load_si512((const void *)(p + g * 64));
			h0 = _mm512_dpbusd_epi32(h0, x0, _mm512_set1_epi32(qa[g]));
			l0 = _mm512_dpbusd_epi32(l0, x0, _mm512_set1_epi32(qb[g]));
		}
		qscan_block_offer(s, blk, _mm512_add_epi32(_mm512_slli_epi32(h0, 7), l0));
	}
}
#endif

static void qscan_run(qscan *s, const qquery *qq)
{
#ifdef KNN_X86
	if (s->idx->qvnni) {
		qscan_vnni(s, qq);
		return;
	}
#endif
	qscan_portable(s, qq);
}

/* knn_search through the quantised copy; 0 when it cannot answer (k too
 * large, or a query that no column distinguishes) and the float scan must. */
int knn__quant_search(const knn_index *idx, const float *q, size_t k, const knn_filter *f, knn_hit *out, size_t *nout)
{
	qquery qq;
	if (k > QUANT_MAX_K || quant_prepare(idx, q, &qq) != 0)
		return 0;
	/* M: more candidates cost more exact scores and cuts, fewer cost more
	 * second scans, whose price grows with N (see "quantised copy"). */
	size_t m = 2 * k + 32 + idx->n / 8192;
	qcand cand[2 * QUANT_MAX_M];
	qscan s = {
		.idx = idx,
		.q = q,
		.h = cand,
		.m = m < QUANT_MAX_M ? m : QUANT_MAX_M,
		.thr = INT32_MIN,
		.exclude = f ? f->exclude : NULL,
		.f = f && f->accept ? f : NULL,
	};
	qscan_run(&s, &qq);
	knn__quant_searches++;
	if (s.len >= s.m)
		qscan_cut(&s);

	/* The candidates passed the filters already. */
	knn_sel t;
	sel_init(&t, out, k, idx, NULL);
	for (size_t i = 0; i < s.len; i++)
		topk_push(&t.top, cand[i].row, exact_score(idx, cand[i].row, q));
	/* With fewer than M candidates every admissible row was one. Else a row
	 * left out has I_x <= thr; if that cannot reach the k-th score, nothing
	 * left out can. */
	if (s.len == s.m && t.top.len == k && qq.c + qq.tau * s.thr + qq.bound >= t.top.h[0].score) {
		knn__quant_rescans++;
		double ithr = floor(((double)t.top.h[0].score - qq.bound - qq.c) / qq.tau) - 1;
		s.thr = ithr < INT32_MIN ? INT32_MIN : ithr > INT32_MAX ? INT32_MAX : (int32_t)ithr;
		s.pass2 = 1;
		s.t = &t;
		sel_init(&t, out, k, idx, f);
		qscan_run(&s, &qq);
	}
	*nout = topk_finish(&t.top);
	return 1;
}
