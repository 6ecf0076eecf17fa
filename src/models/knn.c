/* knn.c: exact top-k cosine similarity (see knn.h). A row is either scored
 * on its floats, or ruled out by a proven bound (clusters, a byte copy's
 * error): nothing here returns approximate neighbours or caches. Sections:
 * the float scan (below), the quantised copy and scan, the clusters and the
 * clustered search, the batch.
 *
 * Legend: N rows of the index, D features, K results, B queries in a batch,
 * NT rows per score block, QT queries per score tile.
 *
 * The float scan for single queries fuses scoring and selection: a kernel computes the
 * scores of 8 rows at once and only rows that beat the current k-th score
 * reach the heap (and the filters). The kernel is hand-written AVX2 + FMA,
 * chosen at run time, with a portable C fallback: at D = 32 it ran 5800
 * queries/s on 100k rows and 189 on 1M (memory bound, ~24 GB/s), against
 * 1340 and 65 for cblas_sgemv over 1024-row blocks (scoring alone) and 765
 * and 74 for the portable loop, which GCC cannot vectorise without
 * -ffast-math. The batched path multiplies a tile of queries by a block of
 * rows with cblas_sgemm into a score tile small enough to stay in cache,
 * then scans each tile row the same way. */
#include "models/knn.h"

#include "core/parallel.h"
#include "core/topk.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KNN_X86 1
#endif

/* Tiles of the batched path. A product of QT queries by NT rows fills a
 * [QT][NT] score tile that is scanned while it is still in cache; a block of
 * rows ([NT][D]) stays in cache across the query tiles.
 *
 * Threads: the batch splits the rows among worker threads, each calling
 * cblas_sgemm on its own tiles. OpenBLAS runs a product in the calling thread
 * when M*N*K <= 65536 * 4 (its multithreading threshold); above it, every
 * product wakes OpenBLAS's own pool, whose threads then spin while the
 * caller scans, and concurrent callers queue for that pool. So when OpenBLAS
 * has more than one thread, the workers use tiles under the threshold
 * (KNN_SMALL_MNK: 64 x 128 at D = 32); when it has one, a single worker uses
 * the larger KNN_QT x KNN_NT tiles. Measured at 1M x 32, B = 1000 on 2
 * cores: one call on OpenBLAS's 2 threads with large tiles ran at 290-540
 * queries/s; one thread with large tiles at 1220-1260 and two workers with
 * small tiles at 1340-1560 when the machine was otherwise idle (850 against
 * 700-750 while other processes kept both cores busy). */
#ifndef KNN_NT
#define KNN_NT 512
#endif
#ifndef KNN_QT
#define KNN_QT 256
#endif
#define KNN_SMALL_NT 128
#define KNN_SMALL_MNK (65536 * 4)
/* A batch gets a second thread only for at least this many dot products
 * (about a millisecond of work). */
#define KNN_MIN_WORK ((size_t)1 << 22)
#define KNN_MAX_THREADS PARALLEL_MAX_WORKERS

/* Rows stored as bytes, by the quantised copy and the clusters alike: column
 * j as u = round((x_j - lo_j) / step_j), step_j = (max_j - lo_j) / 255 over
 * the rows coded, and residual e_j = x_j - (lo_j + step_j u). A query q scores
 * sum_j q_j lo_j + sum_j (q_j step_j) u_j, off from q.x by sum_j q_j e_j:
 * at most min(|q| enorm, sum_j |q_j| emax_j) (bytecode_residual). */
typedef struct bytecode {
	float *lo;        /* [D] smallest value of each column (one allocation with step) */
	float *step;      /* [D] value of one step of a byte, per column */
	double *emax;     /* [D] largest |residual| per column */
	double enorm;     /* largest Euclidean norm of a row's residuals */
} bytecode;

struct knn_index {
	const float *x;   /* [N][D] unit rows: `own`, or the borrowed X */
	float *own;       /* [N][D] the normalised copy; NULL when borrowed or N = 0 */
	uint8_t *zero;    /* bit array [N]: all-zero rows; NULL when there are none */
	size_t n;         /* N */
	size_t d;         /* D */
	size_t nzero;     /* number of bits set in `zero` */
	int simd;         /* 1: use the AVX2 + FMA kernels */
	/* The quantised copy for single queries (see "quantised scan" below);
	 * q8 is NULL when single queries scan the float rows. */
	uint8_t *q8;      /* [ceil(N/16)][G][16][4] rows as bytes, blocks of 16 rows */
	bytecode qcode;   /* how its bytes code the rows */
	double qlmax;     /* longest row */
	size_t qg;        /* G = ceil(D / 4) groups of four columns */
	int qvnni;        /* 1: AVX-512 VNNI kernel; 0: portable */
	/* The clustered copy for single queries (see "clusters" below); cx is
	 * NULL without it. M = N - (zero rows), C clusters. */
	uint8_t *cx;      /* [MP/16][G][16][4] the non-zero rows as bytes, cluster by cluster,
	                   * in blocks of 16 rows as in q8; each cluster padded with zero
	                   * rows to whole blocks (MP rows in all) */
	size_t cg;        /* G = ceil(D / 4) */
	int cvnni;        /* 1: AVX-512 VNNI kernel; 0: portable */
	bytecode *ccode;  /* [C] how its bytes code the rows, each cluster its own
	                   * ranges (narrower than the whole index's: smaller residuals) */
	char *cspan;      /* [C][CS] their lo, step (D floats each) and emax (D doubles), one
	                   * record a cluster, so that a visit fetches them together */
	size_t cs;        /* CS: bytes a record, a multiple of 64 */
	double clmin, clmax; /* shortest and longest non-zero row (1 within 1e-3 when borrowed) */
	uint32_t *crow;   /* [MP] their rows; CLUSTER_PAD for a padding row */
	float *cang;      /* [MP] each one's angle to its cluster's centre, descending in a
	                   * cluster (0 for padding) */
	float *ccen;      /* [C][D] the clusters' centres, unit length */
	float *camax;     /* [C] the largest angle in each cluster */
	float *ccos;      /* [C] cos(camax) */
	float *csin;      /* [C] sin(camax) */
	uint32_t *cstart; /* [C + 1] where each cluster starts in cx, a multiple of 16 */
	size_t nc;        /* C */
};

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

/* Sum of squares of v[D], in double so that the length of a float row is
 * exact to float precision. */
static double sumsq(const float *v, size_t D)
{
	double s = 0;
	for (size_t j = 0; j < D; j++)
		s += (double)v[j] * v[j];
	return s;
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

/* ---------------------------------------------------------------- byte code */

/* Gives bc storage for D columns (two allocations, for bytecode_free).
 * Returns 0 or -1 when out of memory. */
static int bytecode_alloc(bytecode *bc, size_t D)
{
	bc->lo = malloc(2 * D * sizeof(float));
	bc->emax = calloc(D, sizeof(double));
	bc->step = bc->lo ? bc->lo + D : NULL;
	bc->enorm = 0;
	return bc->lo == NULL || bc->emax == NULL ? -1 : 0;
}

/* Fits lo and step to the rows X[rows[i]] (rows NULL: X[0..n)) and clears
 * the residuals; bc's arrays are the caller's. */
static void bytecode_fit(bytecode *bc, const float *X, const uint32_t *rows, size_t n, size_t D)
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
static void bytecode_put(bytecode *bc, const float *x, size_t D, uint8_t *u)
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
	double qe = 0;
	for (size_t j = 0; j < D; j++)
		qe += fabs((double)q[j]) * bc->emax[j];
	return qn * bc->enorm < qe ? qn * bc->enorm : qe;
}

static void bytecode_free(bytecode *bc)
{
	free(bc->lo);
	free(bc->emax);
}

/* Stores the bytes u[D] of row i in blocks of 16 rows ([G][16][4] bytes a
 * block, see "quantised copy"), at `base`. */
static void block_put(uint8_t *base, size_t G, size_t i, const uint8_t *u, size_t D)
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

/* Quantised scans are used for at least this many rows (below it the float
 * scan is as fast and needs no copy), up to this many columns (so that I_x
 * fits in 32 bits: 256 * 255 * 16383 < 2^31) and for k up to QUANT_MAX_K
 * (the candidates live on the stack). */
#define QUANT_MIN_ROWS 4096
#define QUANT_MAX_D 256
#define QUANT_MAX_K 448
#define QUANT_MAX_M 1024
#define QUANT_VMAX 16256 /* 127 * 128 */

static int cpu_has_vnni(void)
{
#ifdef KNN_X86
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vnni");
#else
	return 0;
#endif
}

/* Whether single queries go through the quantised copy: forced by
 * KNN_QUANT, refused by KNN_FLOAT; otherwise for large enough indexes where
 * the VNNI kernel runs (the portable integer kernel is slower than the AVX2
 * float one). */
static int quant_wanted(size_t N, size_t D, unsigned flags)
{
	if ((flags & KNN_FLOAT) || N == 0 || D > QUANT_MAX_D || N > UINT32_MAX)
		return 0;
	if (flags & KNN_QUANT)
		return 1;
	return N >= QUANT_MIN_ROWS && !(flags & KNN_PORTABLE) && cpu_has_vnni();
}

static int quant_build(knn_index *idx, unsigned flags, seg_error *err)
{
	const size_t N = idx->n, D = idx->d, G = (D + 3) / 4;
	const size_t nb = (N + 15) / 16;
	const float *X = idx->x;
	idx->qg = G;
	idx->qvnni = !(flags & KNN_PORTABLE) && cpu_has_vnni();
	idx->q8 = aligned_alloc(64, nb * G * 64);
	if (idx->q8 == NULL || bytecode_alloc(&idx->qcode, D) < 0)
		return seg_error_set(err, SEG_ENOMEM, "knn index: cannot allocate the quantised copy (%zu bytes)",
		                     nb * G * 64);
	bytecode_fit(&idx->qcode, X, NULL, N, D);
	memset(idx->q8, 0, nb * G * 64);
	idx->qlmax = 0;
	for (size_t i = 0; i < N; i++) {
		const float *xi = X + i * D; /* [D] */
		double len = sqrt(sumsq(xi, D));
		idx->qlmax = len > idx->qlmax ? len : idx->qlmax;
		uint8_t u[QUANT_MAX_D];
		bytecode_put(&idx->qcode, xi, D, u);
		block_put(idx->q8, G, i, u, D);
	}
	return 0;
}

/* ---------------------------------------------------------------- clusters
 *
 * For large N, single queries skip most rows without approximating: the
 * non-zero rows are grouped around C centres (spherical k-means: centres of
 * unit length, each row with the centre of largest cosine), and within a
 * cluster sorted by their angle to its centre, largest first. Angles on the
 * sphere obey the triangle inequality, so for a query q, a row x of cluster
 * c and their angles a(q,c), a(x,c):
 *
 *   q.x = cos a(q,x) <= cos max(0, a(q,c) - a(x,c)).
 *
 * The search first visits the CLUSTER_FIRST clusters whose centres are
 * nearest q, which sets a k-th score close to the final one; then every
 * other cluster whose bound cos max(0, a(q,c) - amax_c) can still reach the
 * k-th score (tested without an arc cosine: cos a(q,c) against cos(reach +
 * amax_c) by the angle-sum formula). In a cluster it scores rows while
 * a(x,c) >= a(q,c) - reach, reach = acos(k-th score): the prefix of its
 * sorted rows that can still reach it. Every row it skips provably scores
 * below the k-th, so the result is the exact top k.
 *
 * Rows are scored on a byte copy in cluster order, coded and scored as in
 * the quantised scan (the query rounded to integers, I_x from the VNNI or
 * the portable kernel, the bound E), and those whose I_x can still reach
 * the k-th score are scored again on the float rows, so the scores returned
 * are the float ones. Each cluster has its own column ranges: they are
 * narrower than the whole index's, so are the residuals and the bound (on
 * the generated 1M catalogue, 119 rows rescored a search instead of 137).
 * The copy is in blocks of 16 rows as the quantised one is, each cluster
 * padded with zero rows to whole blocks. There a search reads about 600 KB
 * of the copy, from all over it, and waits on memory more than it
 * computes: the VNNI kernel replaced a float one (AVX2, the bytes weighted
 * by the float query) for a few per cent (A/B in one process, 2000 queries:
 * 128 against 130, 119 against 123, 142 against 147 us).
 *
 * C = sqrt(N). More clusters rule out more rows but cost more per query
 * (a dot product a centre, and a few cache misses a cluster visited): in
 * bench/serve_profile's requests (k = 10, seeds from the catalogue), 0.5,
 * 1 and 2 sqrt(N) took 46, 49 and 62 us on the real catalogue (8.8%, 7.4%
 * and 6.8% of the rows scored) and 139, 156 and 217 us on the generated 1M
 * one (2.8%, 2.3%, 1.9%); on bench/knn's tightly clustered 1M x 32 vectors
 * more clusters paid (sqrt(N): 6.9k queries/s, 2 sqrt(N): 9.9k, 4 sqrt(N):
 * 12.1k, against 243 for the float scan). Centres come from 5 rounds of
 * k-means on 16 rows a centre; assigning every row to its centre is most of
 * the build. Memory: the byte copy (N x D bytes, D rounded up to 4, each
 * cluster to whole blocks), an angle and a row number a row. */

#define CLUSTER_MIN_ROWS 32768
#define CLUSTER_PAD UINT32_MAX /* crow of a padding row */
#define CLUSTER_MAX 4096
#define CLUSTER_ITERATIONS 5
/* Room for rounding. Angles between a row or the query and a centre are
 * taken from above (rows) or below (query) by this much; cosines computed in
 * float (the query against the centres; scores) may be off by up to about
 * D * FLT_EPSILON times the query's length, allowed for on top of this. */
#define CLUSTER_ANGLE_SLACK 1e-6
#define CLUSTER_COS_SLACK 1e-5

static int cluster_wanted(size_t N, size_t M, size_t D, unsigned flags)
{
	/* (the row positions, padding included, are 32-bit) */
	if (flags & (KNN_FLOAT | KNN_QUANT) || M == 0 || N > UINT32_MAX - 16 * CLUSTER_MAX || D > QUANT_MAX_D)
		return 0;
	return (flags & KNN_CLUSTER) || M >= CLUSTER_MIN_ROWS;
}

/* Unit rows `rows`[m] of the index, each assigned to its nearest centre in
 * cen[C][D] (largest cosine) into lab[m]; through knn_search_batch, in
 * slices that bound the scratch memory. */
static int cluster_assign(const knn_index *idx, const float *cen, size_t C, const uint32_t *rows, size_t m,
                          uint32_t *lab, seg_error *err)
{
	const size_t D = idx->d, SL = 8192;
	knn_index *ci = NULL;
	int rc = knn_index_create(&ci, cen, C, D, KNN_FLOAT, err);
	float *Q = malloc(SL * D * sizeof(float)); /* [SL][D] */
	knn_hit *h = malloc(SL * sizeof(knn_hit));
	size_t *nh = malloc(SL * sizeof(size_t));
	if (rc == 0 && (Q == NULL || h == NULL || nh == NULL))
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
	for (size_t a = 0; rc == 0 && a < m; a += SL) {
		size_t b = m - a < SL ? m - a : SL;
		for (size_t i = 0; i < b; i++)
			memcpy(Q + i * D, idx->x + (size_t)rows[a + i] * D, D * sizeof(float));
		rc = knn_search_batch(ci, Q, b, 1, NULL, h, nh, err);
		for (size_t i = 0; rc == 0 && i < b; i++)
			lab[a + i] = nh[i] ? (uint32_t)h[i].row : 0; /* a centre left at zero: any */
	}
	knn_index_free(ci);
	free(Q);
	free(h);
	free(nh);
	return rc;
}

/* acos(cosine) as a float no smaller than the angle (the search needs the
 * rows' angles from above). */
static float angle_up(double cosine)
{
	double a = acos(cosine > 1 ? 1 : cosine < -1 ? -1 : cosine) + CLUSTER_ANGLE_SLACK;
	float f = (float)a;
	return (double)f < a ? nextafterf(f, INFINITY) : f;
}

typedef struct angle_row {
	float ang;
	uint32_t row;
} angle_row;

static int cmp_angle_desc(const void *pa, const void *pb)
{
	const angle_row *a = pa, *b = pb;
	if (a->ang != b->ang)
		return a->ang < b->ang ? 1 : -1;
	return a->row < b->row ? -1 : a->row > b->row;
}

static int cluster_build(knn_index *idx, seg_error *err)
{
	const size_t N = idx->n, D = idx->d, M = N - idx->nzero;
	size_t C = (size_t)lround(sqrt((double)M)); /* see "clusters" */
	C = C > M ? M : C > CLUSTER_MAX ? CLUSTER_MAX : C < 1 ? 1 : C;
	int rc = 0;
	uint32_t *rows = malloc(M * sizeof(uint32_t)); /* [M] the non-zero rows */
	uint32_t *lab = malloc(M * sizeof(uint32_t));  /* [M] their clusters */
	double *sum = malloc(C * D * sizeof(double));  /* [C][D] */
	angle_row *ar = malloc(M * sizeof(angle_row)); /* [M] */
	idx->nc = C;
	idx->ccen = malloc(C * D * sizeof(float));
	idx->camax = calloc(C, sizeof(float));
	idx->ccos = calloc(C, sizeof(float));
	idx->csin = calloc(C, sizeof(float));
	idx->cstart = calloc(C + 1, sizeof(uint32_t));
	uint32_t *ustart = calloc(C + 1, sizeof(uint32_t)); /* [C + 1] the clusters in ar, unpadded */
	if (!rows || !lab || !sum || !ar || !idx->ccen || !idx->camax || !idx->ccos || !idx->csin || !idx->cstart ||
	    !ustart) {
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters (%zu rows)", M);
		goto out;
	}
	size_t m = 0;
	idx->clmin = INFINITY;
	idx->clmax = 0;
	for (size_t i = 0; i < N; i++)
		if (!(idx->zero && knn_bitmap_test(idx->zero, i))) {
			rows[m++] = (uint32_t)i;
			double len = sqrt(sumsq(idx->x + i * D, D));
			idx->clmin = len < idx->clmin ? len : idx->clmin;
			idx->clmax = len > idx->clmax ? len : idx->clmax;
		}

	/* k-means on an even sample of up to 16 rows a centre, started from C
	 * rows spread through it: deterministic. */
	size_t S = M < 16 * C ? M : 16 * C;
	uint32_t *sample = malloc(S * sizeof(uint32_t));
	if (sample == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
		goto out;
	}
	for (size_t i = 0; i < S; i++)
		sample[i] = rows[(size_t)((double)i * (double)M / (double)S)];
	for (size_t c = 0; c < C; c++)
	{
		/* unit length even if no sample row joins it (borrowed rows are
		 * unit only within 1e-3; the search takes centres as unit) */
		memcpy(idx->ccen + c * D, idx->x + (size_t)sample[c * S / C] * D, D * sizeof(float));
		knn_vec_normalize(idx->ccen + c * D, D);
	}
	for (int it = 0; rc == 0 && it < CLUSTER_ITERATIONS; it++) {
		if ((rc = cluster_assign(idx, idx->ccen, C, sample, S, lab, err)) < 0)
			break;
		memset(sum, 0, C * D * sizeof(double));
		for (size_t i = 0; i < S; i++)
			for (size_t j = 0; j < D; j++)
				sum[lab[i] * D + j] += idx->x[(size_t)sample[i] * D + j];
		for (size_t c = 0; c < C; c++) {
			double n2 = 0;
			for (size_t j = 0; j < D; j++)
				n2 += sum[c * D + j] * sum[c * D + j];
			if (n2 > 0) /* else: an empty cluster keeps its centre */
				for (size_t j = 0; j < D; j++)
					idx->ccen[c * D + j] = (float)(sum[c * D + j] / sqrt(n2));
		}
	}
	free(sample);
	if (rc < 0 || (rc = cluster_assign(idx, idx->ccen, C, rows, M, lab, err)) < 0)
		goto out;

	/* Cluster order, then angles, largest first. */
	for (size_t i = 0; i < M; i++)
		ustart[lab[i] + 1]++;
	for (size_t c = 0; c < C; c++)
		ustart[c + 1] += ustart[c];
	uint32_t *fill = lab; /* reused: lab[i] becomes row i's slot */
	{
		uint32_t *next = malloc(C * sizeof(uint32_t));
		if (next == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
			goto out;
		}
		memcpy(next, ustart, C * sizeof(uint32_t));
		for (size_t i = 0; i < M; i++) {
			uint32_t c = lab[i];
			const float *x = idx->x + (size_t)rows[i] * D, *cc = idx->ccen + (size_t)c * D;
			double dot = 0, xx = 0, cc2 = 0;
			for (size_t j = 0; j < D; j++) {
				dot += (double)x[j] * cc[j];
				xx += (double)x[j] * x[j];
				cc2 += (double)cc[j] * cc[j];
			}
			double cosine = dot / sqrt(xx * cc2);
			fill[i] = next[c]++;
			ar[fill[i]] = (angle_row){angle_up(cosine), rows[i]};
		}
		free(next);
	}
	for (size_t c = 0; c < C; c++) {
		size_t a = ustart[c], b = ustart[c + 1];
		qsort(ar + a, b - a, sizeof(angle_row), cmp_angle_desc);
		idx->camax[c] = b > a ? ar[a].ang : 0;
		idx->ccos[c] = (float)cos(idx->camax[c]);
		idx->csin[c] = (float)sin(idx->camax[c]);
		idx->cstart[c + 1] = idx->cstart[c] + (uint32_t)((b - a + 15) / 16 * 16);
	}
	/* The byte copy, in cluster order, each cluster coded on its own ranges. */
	const size_t MP = idx->cstart[C], G = (D + 3) / 4;
	idx->cg = G;
	idx->cx = aligned_alloc(64, MP / 16 * G * 64 + 64);
	idx->crow = malloc((MP + 1) * sizeof(uint32_t));
	idx->cang = calloc(MP + 1, sizeof(float));
	idx->ccode = malloc(C * sizeof(bytecode));
	idx->cs = (2 * D * sizeof(float) + D * sizeof(double) + 63) / 64 * 64;
	idx->cspan = aligned_alloc(64, C * idx->cs);
	if (!idx->cx || !idx->crow || !idx->cang || !idx->ccode || !idx->cspan) {
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
		goto out;
	}
	memset(idx->cx, 0, MP / 16 * G * 64);
	for (size_t c = 0; c < C; c++) {
		bytecode *bc = &idx->ccode[c];
		size_t a = idx->cstart[c], n = ustart[c + 1] - ustart[c];
		for (size_t i = 0; i < idx->cstart[c + 1] - a; i++) {
			idx->crow[a + i] = i < n ? ar[ustart[c] + i].row : CLUSTER_PAD;
			idx->cang[a + i] = i < n ? ar[ustart[c] + i].ang : 0;
		}
		bc->lo = (float *)(void *)(idx->cspan + c * idx->cs);
		bc->step = bc->lo + D;
		bc->emax = (double *)(void *)(bc->step + D); /* 8D bytes in: aligned */
		bytecode_fit(bc, idx->x, idx->crow + a, n, D);
		for (size_t i = a; i < a + n; i++) {
			uint8_t u[QUANT_MAX_D];
			bytecode_put(bc, idx->x + (size_t)idx->crow[i] * D, D, u);
			block_put(idx->cx, G, i, u, D);
		}
	}
out:
	free(rows);
	free(lab);
	free(sum);
	free(ar);
	free(ustart);
	return rc;
}

int knn_index_create(knn_index **out, const float *X, size_t N, size_t D, unsigned flags,
                     seg_error *err)
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
	if (cluster_wanted(N, N - idx->nzero, D, flags)) {
		idx->cvnni = !(flags & KNN_PORTABLE) && cpu_has_vnni();
		if ((rc = cluster_build(idx, err)) < 0)
			goto fail;
	} else if (quant_wanted(N, D, flags) && (rc = quant_build(idx, flags, err)) < 0)
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
	bytecode_free(&idx->qcode);
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

/* ---------------------------------------------------------------- top k */

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

static void sel_init(knn_sel *t, knn_hit *h, size_t k, const knn_index *idx, const knn_filter *f)
{
	topk_init(&t->top, h, k);
	t->zero = idx->zero;
	t->exclude = f ? f->exclude : NULL;
	t->f = f && f->accept ? f : NULL;
}

/* Offers a row whose score beat top.thr: applies the filters, then keeps it. */
static void sel_offer(knn_sel *t, size_t row, float s)
{
	if (t->zero && knn_bitmap_test(t->zero, row))
		return;
	if (t->exclude && knn_bitmap_test(t->exclude, row))
		return;
	if (t->f && !t->f->accept(t->f->ctx, row))
		return;
	topk_push(&t->top, row, s);
}

/* ---------------------------------------------------------------- kernels */

/* x[D] . q[D] summed in order, in float: the portable kernels' score, and
 * the exact score every search returns. */
static inline float dot_portable(const float *x, const float *q, size_t D)
{
	float s = 0;
	for (size_t j = 0; j < D; j++)
		s += x[j] * q[j];
	return s;
}

/* Scores rows x[n][D] (the first being row `row0`) against q[D] and offers
 * those that beat the threshold. */
static void scan_rows_portable(const float *x, size_t D, size_t row0, size_t n, const float *q,
                               knn_sel *t)
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
__attribute__((target("avx2,fma"))) static inline __m256 hsum8(__m256 a0, __m256 a1, __m256 a2,
                                                               __m256 a3, __m256 a4, __m256 a5,
                                                               __m256 a6, __m256 a7)
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
__attribute__((target("avx2,fma"))) static inline __m256 score8_avx2(const float *const *r, const float *q,
                                                                     size_t full, size_t rem, __m256i tail,
                                                                     __m256 qt)
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
__attribute__((target("avx2,fma"))) static void scan_rows_avx2(const float *x, size_t D,
                                                               size_t row0, size_t n,
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
__attribute__((target("avx2,fma"))) static void score_rows_avx2(const float *x, size_t D, size_t n,
                                                                const float *q, float *out)
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
__attribute__((target("avx2"))) static void scan_scores_avx2(const float *s, size_t row0, size_t n,
                                                             knn_sel *t)
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

static void scan_rows(const knn_index *idx, const float *q, knn_sel *t)
{
#ifdef KNN_X86
	if (idx->simd) {
		scan_rows_avx2(idx->x, idx->d, 0, idx->n, q, t);
		return;
	}
#endif
	scan_rows_portable(idx->x, idx->d, 0, idx->n, q, t);
}

static void scan_scores(const knn_index *idx, const float *s, size_t row0, size_t n, knn_sel *t)
{
#ifdef KNN_X86
	if (idx->simd) {
		scan_scores_avx2(s, row0, n, t);
		return;
	}
#endif
	scan_scores_portable(s, row0, n, t);
}

/* ---------------------------------------------------------------- quantised scan */

/* A query prepared for the quantised scan (see "quantised copy" above). */
typedef struct qquery {
	int8_t a[QUANT_MAX_D];  /* v_j = 128 a_j + b_j; zero past D */
	int8_t b[QUANT_MAX_D];
	double tau;             /* scale of v */
	double c;               /* sum_j q_j lo_j */
	double bound;           /* E: |q.x - (c + tau I_x)| <= bound for every row */
} qquery;

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
	const float *q;          /* [D] */
	qcand *h;                /* [2M] */
	size_t m, len;
	int32_t thr;
	int pass2;
	knn_sel *t;                 /* the exact selection (second pass) */
	const uint8_t *exclude;  /* the filter's bit array, or NULL */
	const knn_filter *f;     /* for the callback; NULL when there is none */
} qscan;

static _Atomic uint64_t quant_searches, quant_rescans;



/* The exact score of a row, summed in the order of scan_rows_portable. */
static inline float exact_score(const knn_index *idx, size_t row, const float *q)
{
	return dot_portable(idx->x + row * idx->d, q, idx->d);
}

/* Fills qq for query q[D] of length qn against rows coded by bc, none
 * longer than lmax. Returns 1 when every w_j is zero: then I_x = 0 for
 * every row (tau is 1) and only the bound tells rows apart. */
static int qquery_fit(qquery *qq, const bytecode *bc, const float *q, size_t D, double qn, double lmax)
{
	double w[QUANT_MAX_D], wmax = 0;
	qq->c = 0;
	for (size_t j = 0; j < D; j++) {
		w[j] = (double)q[j] * bc->step[j];
		wmax = fabs(w[j]) > wmax ? fabs(w[j]) : wmax;
		qq->c += (double)q[j] * bc->lo[j];
	}
	size_t DG = (D + 3) / 4 * 4; /* the kernels read whole groups of four */
	memset(qq->a, 0, DG);
	memset(qq->b, 0, DG);
	qq->tau = wmax > 0 ? wmax / QUANT_VMAX : 1;
	const double inv = 1.0 / qq->tau;
	double fsum = 0;
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
		fsum += fabs(w[j] - qq->tau * (double)v);
	}
	/* the last terms: float rounding of an exact score (D products) */
	qq->bound = 255.0 * fsum + bytecode_residual(bc, q, D, qn) + 2.0 * (double)D * FLT_EPSILON * qn * lmax + 1e-7;
	return wmax > 0 ? 0 : 1;
}

/* qquery_fit for the quantised copy. */
static int quant_prepare(const knn_index *idx, const float *q, qquery *qq)
{
	return qquery_fit(qq, &idx->qcode, q, idx->d, sqrt(sumsq(q, idx->d)), idx->qlmax);
}

/* I_x = sum_j (128 a_j + b_j) u_j for the 16 rows of each of nb blocks
 * p[nb][G][16][4] into iv[nb][16]. */
static void block_ints_portable(const uint8_t *p, size_t G, size_t nb, const int8_t *a, const int8_t *b,
                                int32_t *iv)
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
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
block_ints_vnni(const uint8_t *p, size_t G, size_t nb, const int8_t *a, const int8_t *b, int32_t *iv)
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

static inline int qcand_worse(qcand a, qcand b)
{
	return a.score < b.score || (a.score == b.score && a.row > b.row);
}

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
		block_ints_portable(idx->q8 + blk * G * 64, G, 1, qq->a, qq->b, iv);
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
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void qscan_vnni(qscan *s,
                                                                              const qquery *qq)
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
static int quant_search(const knn_index *idx, const float *q, size_t k, const knn_filter *f,
                        knn_hit *out, size_t *nout)
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
	quant_searches++;
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
		quant_rescans++;
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

/* ---------------------------------------------------------------- clustered search */

static _Atomic uint64_t cluster_searches, cluster_rows_scored, cluster_visits, cluster_rescored;

void knn_stats_get(knn_stats *st)
{
	st->quant_searches = quant_searches;
	st->quant_rescans = quant_rescans;
	st->cluster_searches = cluster_searches;
	st->cluster_rows = cluster_rows_scored;
	st->cluster_visits = cluster_visits;
	st->cluster_rescored = cluster_rescored;
}

/* Scores rows x[n][D] against q into out[n]: the AVX2 kernel, or the
 * portable sum (exact_score's order). */
static void score_rows(const knn_index *idx, const float *x, size_t n, const float *q, float *out)
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

/* The widest angle between q and a row that can still enter, given the k-th
 * score so far: a score is computed within `err` (times the query's length
 * qn) of q.x, and rows are unit length within it too. */
static double reach_angle(const knn_index *idx, const knn_sel *t, double qn, double err)
{
	if (t->top.len < t->top.k)
		return M_PI + 1; /* not full: everything can enter */
	/* q.x = qn |x| cos(q,x): a row's length can lift its score above its
	 * cosine's (borrowed rows are unit only within 1e-3) */
	double thr = (double)t->top.thr;
	double c = thr / (qn * (thr >= 0 ? idx->clmax : idx->clmin)) - err;
	return c <= -1 ? M_PI + 1 : c >= 1 ? 0 : acos(c) + CLUSTER_ANGLE_SLACK;
}

#define CLUSTER_CHUNK 32
/* Clusters searched first, those whose centres are nearest q: they set a
 * k-th score that rules most others out. */
#define CLUSTER_FIRST 4

/* The I_x a row needs to possibly enter, given the k-th score so far: q.x
 * is within qq->bound of c + tau I_x (see "quantised copy"). INT32_MIN
 * while the top k is not full. */
static int32_t cluster_int_threshold(const knn_sel *t, const qquery *qq)
{
	if (t->top.len < t->top.k || !isfinite(t->top.thr))
		return INT32_MIN;
	double x = ((double)t->top.thr - qq->bound - qq->c) / qq->tau - 2; /* the 2: below its floor, less 1 */
	return x < INT32_MIN ? INT32_MIN : x > INT32_MAX ? INT32_MAX : (int32_t)x;
}

/* Scores the rows pend[np] on their floats and offers them. */
static void rescore_rows(const knn_index *idx, const uint32_t *pend, size_t np, const float *q, knn_sel *t)
{
	for (size_t r = 0; r < np; r++) {
		float e = exact_score(idx, pend[r], q);
		if (e >= t->top.thr) /* rows come in any order: ties go to topk_push */
			sel_offer(t, pend[r], e);
	}
}

/* Searches the rows of cluster c that can still reach the k-th score.
 *
 * Rows are scored first on their bytes, as in the quantised scan, with the
 * query rounded to integers against the cluster's own ranges (its lo and
 * step); only rows whose I_x can still reach the k-th score are scored again
 * on their floats. The integer kernels (VNNI or portable) give the same
 * I_x, so which rows are rescored does not depend on the CPU. A row that
 * passes is scored on its floats one chunk later: its float row, somewhere
 * in the whole matrix, is fetched while the next chunk's bytes are scored,
 * instead of stalling the search; the k-th score then rises a chunk later,
 * which lets a few more rows through (on the generated 1M catalogue, about
 * 138 rescored a search instead of 115, for 7-16% less time a search). */
static uint64_t cluster_visit(const knn_index *idx, size_t c, const float *q, double qn, double err, float u,
                              double *reach, knn_sel *t, uint64_t *rescored)
{
	const size_t G = idx->cg;
	qquery qq;
	qquery_fit(&qq, &idx->ccode[c], q, idx->d, qn, idx->clmax);
	int32_t ithr = cluster_int_threshold(t, &qq);
	/* The angle between q and the centre, from below (u: its cosine, from above). */
	double aq = u >= 1 ? 0 : acos(u) - CLUSTER_ANGLE_SLACK;
	size_t a = idx->cstart[c], b = idx->cstart[c + 1];
	int32_t iv[CLUSTER_CHUNK];
	uint32_t pend[CLUSTER_CHUNK];
	size_t np = 0;
	uint64_t scored = 0;
	for (size_t i = a; i < b; i += CLUSTER_CHUNK) {
		/* rows from here on are no further from the centre than row i
		 * (never a padding row: those are under 16 at a cluster's end) */
		if ((double)idx->cang[i] < aq - *reach)
			break;
		size_t n = b - i < CLUSTER_CHUNK ? b - i : CLUSTER_CHUNK; /* a multiple of 16 */
		const uint8_t *blk = idx->cx + (i / 16) * G * 64;
#ifdef KNN_X86
		if (idx->cvnni)
			block_ints_vnni(blk, G, n / 16, qq.a, qq.b, iv);
		else
#endif
			block_ints_portable(blk, G, n / 16, qq.a, qq.b, iv);
		scored += n;
		float before = t->top.thr;
		/* The last chunk's rows that passed, fetched while this chunk was
		 * scored, and then this chunk's against the k-th score they make. */
		rescore_rows(idx, pend, np, q, t);
		*rescored += np;
		np = 0;
		ithr = cluster_int_threshold(t, &qq);
		for (size_t r = 0; r < n; r++) {
			if (iv[r] <= ithr) /* before reading crow: most rows stop here */
				continue;
			uint32_t row = idx->crow[i + r];
			if (row == CLUSTER_PAD)
				continue;
			__builtin_prefetch(idx->x + (size_t)row * idx->d);
			__builtin_prefetch(idx->x + (size_t)row * idx->d + idx->d - 1);
			pend[np++] = row;
		}
		if (t->top.thr != before || t->top.len < t->top.k)
			*reach = reach_angle(idx, t, qn, err);
	}
	if (np) {
		rescore_rows(idx, pend, np, q, t);
		*rescored += np;
		*reach = reach_angle(idx, t, qn, err);
	}
	return scored;
}

typedef struct cluster_key {
	float u;
	uint16_t c;
} cluster_key;

static int cmp_cluster_key(const void *pa, const void *pb)
{
	const cluster_key *a = pa, *b = pb;
	if (a->u != b->u)
		return a->u < b->u ? 1 : -1;
	return (int)a->c - (int)b->c;
}

static void cluster_search(const knn_index *idx, const float *q, knn_sel *t)
{
	const size_t C = idx->nc, D = idx->d;
	float u[CLUSTER_MAX]; /* [C] cosine between q and each centre, from above */
	const double qn = sqrt(sumsq(q, D));
	const double err = CLUSTER_COS_SLACK + (double)D * FLT_EPSILON;
	score_rows(idx, idx->ccen, C, q, u); /* the dots, first */
	size_t first[CLUSTER_FIRST], nfirst = 0; /* the nearest centres, best first */
	for (size_t c = 0; c < C; c++) {
		u[c] = (float)((double)u[c] / qn + err);
		if (nfirst < CLUSTER_FIRST || u[c] > u[first[nfirst - 1]]) {
			size_t j = nfirst < CLUSTER_FIRST ? nfirst++ : nfirst - 1;
			for (; j > 0 && u[first[j - 1]] < u[c]; j--)
				first[j] = first[j - 1];
			first[j] = c;
		}
	}
	uint64_t scored = 0, rescored = 0;
	double reach = reach_angle(idx, t, qn, err);
	for (size_t j = 0; j < nfirst; j++)
		scored += cluster_visit(idx, first[j], q, qn, err, u[first[j]], &reach, t, &rescored);
	/* Then every other cluster that can hold a row within `reach` of q:
	 * angle(q, centre) - amax <= reach, that is cos angle(q, centre) >=
	 * cos(reach + amax) = cos reach cos amax - sin reach sin amax, tested
	 * on u (from above) and with room for the rounding of the right side. */
	cluster_key todo[CLUSTER_MAX]; /* the clusters that pass with the reach of now */
	size_t ntodo = 0, nvisit = 0;
	double cr = cos(reach), sr = sin(reach);
	for (size_t c = 0; c < C; c++) {
		int done = 0;
		for (size_t j = 0; j < nfirst; j++)
			done |= first[j] == c;
		if (done || idx->cstart[c] == idx->cstart[c + 1])
			continue;
		if (reach + idx->camax[c] < M_PI &&
		    (double)u[c] < cr * idx->ccos[c] - sr * idx->csin[c] - CLUSTER_COS_SLACK)
			continue;
		todo[ntodo++] = (cluster_key){u[c], (uint16_t)c};
	}
	/* by u, largest first, so that the k-th score rises early and the
	 * re-test below rules out more of the rest */
	qsort(todo, ntodo, sizeof(cluster_key), cmp_cluster_key);
	/* Visited in order, each tested again as reach shrinks, the next ones'
	 * first rows fetched ahead (each visit starts with cache misses). */
	for (size_t j = 0; j < ntodo; j++) {
		if (j + 2 < ntodo) {
			size_t a2 = idx->cstart[todo[j + 2].c];
			__builtin_prefetch(idx->cang + a2);
			__builtin_prefetch(idx->crow + a2);
			__builtin_prefetch(idx->cx + a2 / 16 * idx->cg * 64);
			__builtin_prefetch(idx->cx + a2 / 16 * idx->cg * 64 + 64);
			/* and its code, which the visit's query fit reads first */
			__builtin_prefetch(&idx->ccode[todo[j + 2].c]);
			const char *rec = idx->cspan + todo[j + 2].c * idx->cs;
			for (size_t o = 0; o < idx->cs; o += 64)
				__builtin_prefetch(rec + o);
		}
		size_t c = todo[j].c;
		if (reach + idx->camax[c] < M_PI &&
		    (double)u[c] < cr * idx->ccos[c] - sr * idx->csin[c] - CLUSTER_COS_SLACK)
			continue;
		double before = reach;
		nvisit++;
		scored += cluster_visit(idx, c, q, qn, err, u[c], &reach, t, &rescored);
		if (reach != before) {
			cr = cos(reach);
			sr = sin(reach);
		}
	}
	cluster_searches++;
	cluster_rows_scored += scored;
	cluster_visits += nfirst + nvisit;
	cluster_rescored += rescored;
}

/* ---------------------------------------------------------------- search */

/* Checks a query: 0 for a usable one, 1 for an all-zero one (no neighbours),
 * SEG_EINVAL for one with a NaN or infinite value. */
static int query_check(const float *q, size_t D)
{
	double s = sumsq(q, D);
	if (!isfinite(s))
		return SEG_EINVAL;
	return s == 0;
}

int knn_search(const knn_index *idx, const float *q, size_t k, const knn_filter *f, knn_hit *out,
               size_t *nout)
{
	if (nout)
		*nout = 0;
	if (idx == NULL || q == NULL || nout == NULL || (out == NULL && k > 0))
		return SEG_EINVAL;
	int qc = query_check(q, idx->d);
	if (qc < 0)
		return qc;
	if (qc == 1 || k == 0 || idx->n == 0)
		return 0;
	if (idx->q8 && quant_search(idx, q, k, f, out, nout))
		return 0;
	knn_sel t;
	sel_init(&t, out, k, idx, f);
	if (idx->cx)
		cluster_search(idx, q, &t);
	else if (idx->q8) /* k too large for it: scores in the order it gives them */
		scan_rows_portable(idx->x, idx->d, 0, idx->n, q, &t);
	else
		scan_rows(idx, q, &t);
	*nout = topk_finish(&t.top);
	return 0;
}

/* One worker's share of a batch: rows [r0, r1) against every query. */
typedef struct batch_job {
	const knn_index *idx;
	const float *Q;  /* [B][D] */
	size_t B;
	size_t r0, r1;   /* rows of X */
	size_t qt, nt;   /* QT, NT */
	float *S;        /* [QT][NT] score tile */
	knn_sel *tk;        /* [B] one selection per query */
} batch_job;

static void batch_run(const batch_job *j)
{
	const size_t D = j->idx->d;
	/* Rows outer, queries inner: each block of rows is read from memory once
	 * and multiplied by every query tile while it is in cache. */
	for (size_t n0 = j->r0; n0 < j->r1; n0 += j->nt) {
		size_t nb = j->r1 - n0 < j->nt ? j->r1 - n0 : j->nt;
		for (size_t b0 = 0; b0 < j->B; b0 += j->qt) {
			size_t qb = j->B - b0 < j->qt ? j->B - b0 : j->qt;
			/* S[qb][nb] = Q[b0:b0+qb][D] . X[n0:n0+nb][D]^T */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)nb, (int)D, 1.0f,
			            j->Q + b0 * D, (int)D, j->idx->x + n0 * D, (int)D, 0.0f, j->S, (int)nb);
			for (size_t i = 0; i < qb; i++)
				if (j->tk[b0 + i].top.k > 0)
					scan_scores(j->idx, j->S + i * nb, n0, nb, &j->tk[b0 + i]);
		}
	}
}

/* Worker w of a batch: jobs[w]. */
static void batch_worker(void *ctx, int worker, int nworkers)
{
	(void)nworkers;
	batch_run((const batch_job *)ctx + worker);
}

int knn_search_batch(const knn_index *idx, const float *Q, size_t B, size_t k,
                     const knn_filter *f, knn_hit *out, size_t *nout, seg_error *err)
{
	int rc = 0;
	batch_job *jobs = NULL; /* [T] */
	knn_sel *tk = NULL;        /* [T][B] */
	float *S = NULL;        /* [T][QT][NT] */
	knn_hit *heaps = NULL;  /* [T-1][B][K] the other workers' hits; worker 0 uses out */

	if (idx == NULL || (B > 0 && (Q == NULL || nout == NULL || (out == NULL && k > 0))))
		return seg_error_set(err, SEG_EINVAL, "knn_search_batch: NULL argument");
	if (B == 0)
		return 0;
	const size_t N = idx->n, D = idx->d;
	memset(nout, 0, B * sizeof(*nout));
	if (k == 0 || N == 0)
		return 0;
	if (k > SIZE_MAX / KNN_MAX_THREADS / 2 / sizeof(knn_hit) ||
	    B > SIZE_MAX / KNN_MAX_THREADS / (sizeof(knn_sel) + k * sizeof(knn_hit)))
		return seg_error_set(err, SEG_EINVAL, "knn_search_batch: %zu x %zu results is too many", B, k);

	/* As many workers as OpenBLAS is configured for, if the work is worth it. */
	int blas_threads = openblas_get_num_threads();
	size_t T = blas_threads > 1 ? (size_t)blas_threads : 1;
	size_t work = N > SIZE_MAX / B ? SIZE_MAX : N * B;
	if (T > work / KNN_MIN_WORK)
		T = work / KNN_MIN_WORK > 0 ? work / KNN_MIN_WORK : 1;
	if (T > KNN_MAX_THREADS)
		T = KNN_MAX_THREADS;
	size_t nt = KNN_NT, qt = KNN_QT;
	if (blas_threads > 1) { /* keep each product in its worker (see KNN_SMALL_MNK) */
		nt = KNN_SMALL_NT;
		qt = KNN_SMALL_MNK / nt / D;
		qt = qt < 8 ? 8 : qt > KNN_QT ? KNN_QT : qt;
	}
	nt = N < nt ? N : nt;
	qt = B < qt ? B : qt;
	size_t share = (N + T - 1) / T;          /* rows per worker, whole blocks */
	share = (share + nt - 1) / nt * nt;
	T = (N + share - 1) / share;

	jobs = calloc(T, sizeof(*jobs));
	tk = malloc(T * B * sizeof(*tk));
	S = malloc(T * qt * nt * sizeof(float));
	if (T > 1)
		heaps = malloc((T - 1) * B * k * sizeof(knn_hit));
	if (jobs == NULL || tk == NULL || S == NULL || (T > 1 && heaps == NULL)) {
		rc = seg_error_set(err, SEG_ENOMEM, "knn_search_batch: out of memory");
		goto out;
	}
	for (size_t b = 0; b < B; b++) {
		int qc = query_check(Q + b * D, D);
		if (qc < 0) {
			rc = seg_error_set(err, SEG_EINVAL, "knn_search_batch: query %zu has a NaN or infinite value", b);
			goto out;
		}
		for (size_t w = 0; w < T; w++) {
			knn_hit *h = w == 0 ? out + b * k : heaps + ((w - 1) * B + b) * k;
			sel_init(&tk[w * B + b], h, qc == 1 ? 0 : k, idx, f);
		}
	}
	for (size_t w = 0; w < T; w++) {
		size_t r0 = w * share, r1 = r0 + share < N ? r0 + share : N;
		jobs[w] = (batch_job){idx, Q, B, r0, r1, qt, nt, S + w * qt * nt, tk + w * B};
	}

	/* Worker 0 here, the others on threads of their own (core/parallel). */
	parallel_run((int)T, batch_worker, jobs);

	/* Merge: every worker's hits are already filtered; the full comparison
	 * in topk_push keeps ties in row order. */
	for (size_t b = 0; b < B; b++) {
		for (size_t w = 1; w < T; w++) {
			const knn_sel *o = &tk[w * B + b];
			for (size_t j = 0; j < o->top.len; j++)
				topk_push(&tk[b].top, o->top.h[j].row, o->top.h[j].score);
		}
		nout[b] = topk_finish(&tk[b].top);
	}

out:
	free(jobs);
	free(tk);
	free(S);
	free(heaps);
	return rc;
}
