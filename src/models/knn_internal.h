/* knn_internal.h: what the parts of the knn module share, private to
 * src/models/knn*.c (the public API is knn.h): the index's layout, the
 * selection behind the filters, the exact score, and the functions one part
 * calls in another. The parts: knn.c (the index, single search), knn_scan.c
 * (the float scan and its kernels), knn_quant.c (the byte code, the
 * quantised copy and its scan), knn_cluster.c (the clusters and the
 * clustered search), knn_batch.c (the batch through sgemm).
 *
 * Legend: N rows of the index, D features, K results, B queries in a batch,
 * G groups of four columns, C clusters. */
#ifndef SEGUE_KNN_INTERNAL_H
#define SEGUE_KNN_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/topk.h"
#include "models/knn.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KNN_X86 1
#endif

/* Quantised scans are used for at least this many rows (below it the float
 * scan is as fast and needs no copy), up to this many columns (so that I_x
 * fits in 32 bits: 256 * 255 * 16383 < 2^31) and for k up to QUANT_MAX_K
 * (the candidates live on the stack). */
#define QUANT_MIN_ROWS 4096
#define QUANT_MAX_D 256
#define QUANT_MAX_K 448
#define QUANT_MAX_M 1024
#define QUANT_VMAX 16256 /* 127 * 128 */

/* Rows stored as bytes, by the quantised copy and the clusters alike: column
 * j as u = round((x_j - lo_j) / step_j), step_j = (max_j - lo_j) / 255 over
 * the rows coded, and residual e_j = x_j - (lo_j + step_j u). A query q scores
 * sum_j q_j lo_j + sum_j (q_j step_j) u_j, off from q.x by sum_j q_j e_j:
 * at most min(|q| enorm, sum_j |q_j| emax_j) (bytecode_residual). */
typedef struct bytecode {
	float *lo;    /* [D] smallest value of each column (one allocation with step) */
	float *step;  /* [D] value of one step of a byte, per column */
	double *emax; /* [D] largest |residual| per column */
	double enorm; /* largest Euclidean norm of a row's residuals */
} bytecode;

struct knn_index {
	const float *x; /* [N][D] unit rows: `own`, or the borrowed X */
	float *own;     /* [N][D] the normalised copy; NULL when borrowed or N = 0 */
	uint8_t *zero;  /* bit array [N]: all-zero rows; NULL when there are none */
	size_t n;       /* N */
	size_t d;       /* D */
	size_t nzero;   /* number of bits set in `zero` */
	int simd;       /* 1: use the AVX2 + FMA kernels */
	/* The quantised copy for single queries (see "quantised scan" below);
	 * q8 is NULL when single queries scan the float rows. */
	uint8_t *q8;    /* [ceil(N/16)][G][16][4] rows as bytes, blocks of 16 rows */
	bytecode qcode; /* how its bytes code the rows */
	double qlmax;   /* longest row */
	size_t qg;      /* G = ceil(D / 4) groups of four columns */
	int qvnni;      /* 1: AVX-512 VNNI kernel; 0: portable */
	/* The clustered copy for single queries (see "clusters" below); cx is
	 * NULL without it. M = N - (zero rows), C clusters. */
	uint8_t *cx;         /* [MP/16][G][16][4] the non-zero rows as bytes, cluster by cluster,
	                   * in blocks of 16 rows as in q8; each cluster padded with zero
	                   * rows to whole blocks (MP rows in all) */
	size_t cg;           /* G = ceil(D / 4) */
	int cvnni;           /* 1: AVX-512 VNNI kernel; 0: portable */
	bytecode *ccode;     /* [C] how its bytes code the rows, each cluster its own
	                   * ranges (narrower than the whole index's: smaller residuals) */
	char *cspan;         /* [C][CS] their lo, step (D floats each) and emax (D doubles), one
	                   * record a cluster, so that a visit fetches them together */
	size_t cs;           /* CS: bytes a record, a multiple of 64 */
	double clmin, clmax; /* shortest and longest non-zero row (1 within 1e-3 when borrowed) */
	uint32_t *crow;      /* [MP] their rows; CLUSTER_PAD for a padding row */
	float *cang;         /* [MP] each one's angle to its cluster's centre, descending in a
	                   * cluster (0 for padding) */
	float *ccen;         /* [C][D] the clusters' centres, unit length */
	float *camax;        /* [C] the largest angle in each cluster */
	float *ccos;         /* [C] cos(camax) */
	float *csin;         /* [C] sin(camax) */
	uint32_t *cstart;    /* [C + 1] where each cluster starts in cx, a multiple of 16 */
	size_t nc;           /* C */
};

/* ---------------------------------------------------------------- selection */

/* The selection of one query: core/topk's heap, in the caller's output
 * buffer, behind the filters. A scan offers rows in increasing order, so a
 * candidate that only ties the k-th score is worse than it (its row is
 * higher) and `s > top.thr` is the whole admission test there; rows that
 * come in another order (rescored rows, the batch workers' heaps when they
 * are merged) go through topk_push's full comparison. */
typedef struct knn_sel {
	topk top;               /* the k best rows that passed the filters */
	const uint8_t *zero;    /* the index's zero rows, or NULL */
	const uint8_t *exclude; /* the filter's bit array, or NULL */
	const knn_filter *f;    /* for the callback; NULL when there is none */
} knn_sel;

static inline void sel_init(knn_sel *t, knn_hit *h, size_t k, const knn_index *idx, const knn_filter *f)
{
	topk_init(&t->top, h, k);
	t->zero = idx->zero;
	t->exclude = f ? f->exclude : NULL;
	t->f = f && f->accept ? f : NULL;
}

/* Offers a row whose score beat top.thr: applies the filters, then keeps it. */
static inline void sel_offer(knn_sel *t, size_t row, float s)
{
	if (t->zero && knn_bitmap_test(t->zero, row))
		return;
	if (t->exclude && knn_bitmap_test(t->exclude, row))
		return;
	if (t->f && !t->f->accept(t->f->ctx, row))
		return;
	topk_push(&t->top, row, s);
}

/* ---------------------------------------------------------------- scores */

/* Sum of squares of v[D], in double so that the length of a float row is
 * exact to float precision. */
static inline double sumsq(const float *v, size_t D)
{
	double s = 0;
	for (size_t j = 0; j < D; j++)
		s += (double)v[j] * v[j];
	return s;
}

/* x[D] . q[D] summed in order, in float: the portable kernels' score, and
 * the exact score every search returns. */
static inline float dot_portable(const float *x, const float *q, size_t D)
{
	float s = 0;
	for (size_t j = 0; j < D; j++)
		s += x[j] * q[j];
	return s;
}

/* The exact score of a row, summed in the order of knn__scan_rows_portable. */
static inline float exact_score(const knn_index *idx, size_t row, const float *q)
{
	return dot_portable(idx->x + row * idx->d, q, idx->d);
}

/* Checks a query: 0 for a usable one, 1 for an all-zero one (no neighbours),
 * SEG_EINVAL for one with a NaN or infinite value. */
static inline int query_check(const float *q, size_t D)
{
	double s = sumsq(q, D);
	if (!isfinite(s))
		return SEG_EINVAL;
	return s == 0;
}

/* ---------------------------------------------------------------- the parts */

/* knn_scan.c: the float scan. Scores every row of the index against q and
 * offers those that beat the k-th score (AVX2 where the index uses it). */
void knn__scan_rows(const knn_index *idx, const float *q, knn_sel *t);
/* The portable scan of rows x[n][D], the first being row `row0`. */
void knn__scan_rows_portable(const float *x, size_t D, size_t row0, size_t n, const float *q, knn_sel *t);
/* Offers the entries of scores s[n] (rows row0...) that beat the k-th score. */
void knn__scan_scores(const knn_index *idx, const float *s, size_t row0, size_t n, knn_sel *t);
/* Scores rows x[n][D] against q into out[n]. */
void knn__score_rows(const knn_index *idx, const float *x, size_t n, const float *q, float *out);

/* knn_quant.c: the byte code (see there) */
int knn__cpu_has_vnni(void);
int knn__bytecode_alloc(bytecode *bc, size_t D);
void knn__bytecode_fit(bytecode *bc, const float *X, const uint32_t *rows, size_t n, size_t D);
void knn__bytecode_put(bytecode *bc, const float *x, size_t D, uint8_t *u);
void knn__bytecode_free(bytecode *bc);
void knn__block_put(uint8_t *base, size_t G, size_t i, const uint8_t *u, size_t D);
/* A query prepared for the quantised scan (see "quantised copy" above). */
typedef struct qquery {
	int8_t a[QUANT_MAX_D]; /* v_j = 128 a_j + b_j; zero past D */
	int8_t b[QUANT_MAX_D];
	double tau;   /* scale of v */
	double c;     /* sum_j q_j lo_j */
	double bound; /* E: |q.x - (c + tau I_x)| <= bound for every row */
} qquery;
int knn__qquery_fit(qquery *qq, const bytecode *bc, const float *q, size_t D, double qn, double lmax);
#ifdef KNN_X86
int knn__qquery_fit_avx512(qquery *qq, const bytecode *bc, const float *q, size_t D, double qn, double lmax);
#endif
void knn__block_ints_portable(const uint8_t *p, size_t G, size_t nb, const int8_t *a, const int8_t *b, int32_t *iv);
#ifdef KNN_X86
void knn__block_ints_vnni(const uint8_t *p, size_t G, size_t nb, const int8_t *a, const int8_t *b, int32_t *iv);
#endif
/* ... and the quantised copy: whether to build it, building it, and a
 * search through it (0 when it cannot answer and the float scan must) */
int knn__quant_wanted(size_t N, size_t D, unsigned flags);
int knn__quant_build(knn_index *idx, unsigned flags, seg_error *err);
int knn__quant_search(const knn_index *idx, const float *q, size_t k, const knn_filter *f, knn_hit *out, size_t *nout);
extern _Atomic uint64_t knn__quant_searches, knn__quant_rescans;

/* knn_cluster.c: the clusters: whether to build them, building them, and a
 * search through them into t, visiting at most `probe` clusters (0: as many
 * as the bounds leave), which returns 1 when the result is the exact top k
 * (always with probe 0) and 0 when the budget stopped it first. */
int knn__cluster_wanted(size_t N, size_t M, size_t D, unsigned flags);
int knn__cluster_build(knn_index *idx, seg_error *err);
int knn__cluster_search(const knn_index *idx, const float *q, size_t probe, knn_sel *t);
extern _Atomic uint64_t knn__cluster_searches, knn__cluster_rows_scored, knn__cluster_visits, knn__cluster_rescored;

#endif
