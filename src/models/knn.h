/* knn.h: exact top-k cosine similarity over the catalogue's track vectors.
 * One query goes, by the size of the index, through clusters whose angular
 * bounds rule out rows that cannot enter the top k (32768 rows and more), a
 * scan of a byte copy with a proven error bound (4096 and more, AVX-512
 * VNNI), or a scan of the float rows; rows the bounds cannot rule out are
 * scored on the float rows. A batch goes through BLAS sgemm. Results are the
 * exact top k every way, except through knn_search_probe with a budget of
 * clusters, which may return approximate neighbours and says when it did.
 * It does not build the vectors (featvec) or re-rank (artist caps, MMR and
 * novelty live in rerank).
 *
 * Dimensions: N tracks (rows of the index), D features, K results per query,
 * B queries in a batch.
 *
 * Thread safety: an index is read-only once created. Any number of threads may
 * search the same index at once; knn_search keeps all its state on the
 * caller's stack and in the caller's buffers. knn_search_batch splits the rows
 * among as many worker threads as OpenBLAS is configured for
 * (openblas_get_num_threads(): OPENBLAS_NUM_THREADS, or the number of CPUs),
 * the calling thread being one of them, when the batch is big enough to gain
 * from it; each worker calls cblas_sgemm on tiles small enough that OpenBLAS
 * runs them in that worker, and mallocs its own score tile. */
#ifndef SEGUE_KNN_H
#define SEGUE_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/topk.h"

typedef struct knn_index knn_index;

/* Flags of knn_index_create. */
enum {
	/* Use X as it is, without a copy: its rows must already be unit length (or
	 * all zero), which knn_index_create checks. X must outlive the index (an
	 * mmapped model file, for instance). Without this flag the index keeps its
	 * own normalised copy and X may be freed afterwards. */
	KNN_BORROW = 1u << 0,
	/* Use the portable C kernels even where AVX2 is available (for tests and
	 * for comparing kernels; results agree to float rounding). */
	KNN_PORTABLE = 1u << 1,
	/* Single queries scan the float rows only, never a quantised copy or
	 * the clusters. */
	KNN_FLOAT = 1u << 2,
	/* Single queries scan a quantised copy whatever N and the CPU (the
	 * portable integer kernel where AVX-512 VNNI is missing or with
	 * KNN_PORTABLE); for tests. By default the copy is made where the VNNI
	 * kernel runs for 4096 <= N and fewer non-zero rows than the clusters
	 * take (see KNN_CLUSTER). */
	KNN_QUANT = 1u << 3,
	/* Single queries visit the rows cluster by cluster, skipping those that
	 * provably cannot enter the top k, whatever N; for tests. Without
	 * KNN_FLOAT, KNN_QUANT or KNN_CLUSTER the clusters are built for 32768
	 * non-zero rows or more (about a second of k-means at 1M rows, and a
	 * copy of the rows). Results are exact top k either way. */
	KNN_CLUSTER = 1u << 4,
};

/* One result: core/topk's pair, whose fields are
 *	size_t row;   row of X
 *	float score;  cosine similarity, in [-1, 1]
 * Plain data. */
typedef topk_hit knn_hit;

/* Which rows may be returned. Plain data; a NULL filter (or a zeroed one)
 * admits every row. Filters are consulted only for rows whose score would
 * enter the current top k, so a filter that rejects many rows costs little. */
typedef struct knn_filter {
	/* Bit array [KNN_BITMAP_BYTES(N)]: row r is never returned when bit
	 * (r & 7) of exclude[r >> 3] is set (see knn_bitmap_set). NULL: none. */
	const uint8_t *exclude;
	/* Called with `ctx` for a candidate row; 0 rejects it. NULL: accept all.
	 * May be called several times for a row (once per query that reaches
	 * it) and, in knn_search_batch, from several worker threads at once: it
	 * must be thread-safe and give the same answer for a row every time. */
	int (*accept)(void *ctx, size_t row);
	void *ctx;
} knn_filter;

#define KNN_BITMAP_BYTES(N) (((N) + 7) / 8)

static inline void knn_bitmap_set(uint8_t *bits, size_t row) { bits[row >> 3] |= (uint8_t)(1u << (row & 7)); }

static inline int knn_bitmap_test(const uint8_t *bits, size_t row) { return (bits[row >> 3] >> (row & 7)) & 1; }

/* Builds an index over X[N][D] (row-major). Without KNN_BORROW the rows are
 * copied and scaled to unit length; with it X is used in place and must hold
 * unit rows. Either way an all-zero row stays zero and is never returned.
 * A row with a NaN or infinite value, or (with KNN_BORROW) a row whose length
 * is not 1 within 1e-3, is refused with SEG_EINVAL naming the row. N may be 0;
 * D must be at least 1. On error *out is NULL and nothing is left allocated. */
int knn_index_create(knn_index **out, const float *X, size_t N, size_t D, unsigned flags, seg_error *err);

/* Releases the index (not a borrowed X). NULL is a no-op. */
void knn_index_free(knn_index *idx);

size_t knn_index_rows(const knn_index *idx); /* N */
size_t knn_index_dims(const knn_index *idx); /* D */
/* The unit rows searched, [N][D]: the borrowed X or the index's own copy. */
const float *knn_index_matrix(const knn_index *idx);
/* Number of all-zero rows (never returned). */
size_t knn_index_zero_rows(const knn_index *idx);
/* Number of clusters single queries go through (C, about sqrt(non-zero
 * rows)); 0 when they scan instead. A budget of knn_search_probe is a
 * number of them. */
size_t knn_index_clusters(const knn_index *idx);

/* Scales v[D] to unit length in place and returns its former length; an
 * all-zero vector is left as it is and 0 is returned. */
float knn_vec_normalize(float *v, size_t D);

/* The k rows most similar to q[D], written to out[k] by descending score,
 * equal scores by ascending row; *nout receives how many were found, fewer
 * than k when fewer rows pass the filter (f may be NULL). q should be unit
 * length so that scores are cosines (the order does not depend on it); an
 * all-zero q has no neighbours (*nout = 0). Does not allocate (the quantised
 * scan keeps up to 2048 candidates, 16 KiB, on the stack). Returns 0, or
 * SEG_EINVAL for a NULL argument or a q with a NaN or infinite value. */
int knn_search(const knn_index *idx, const float *q, size_t k, const knn_filter *f, knn_hit *out, size_t *nout);

/* The approximate mode: knn_search, but over at most `probe` clusters, those
 * whose centres are nearest q first (probe 0: no limit, knn_search
 * itself). The visits stop early only when the clusters' bounds have not
 * yet ruled out every cluster left, so a result can still be exact: *exact
 * (may be NULL) is set to 1 when it is proven to be the exact top k, 0 when
 * the budget stopped the search first (the rows returned then are real rows
 * with their exact scores, but better ones may have been missed). An index
 * without clusters (fewer than 32768 non-zero rows, or built with
 * KNN_FLOAT or KNN_QUANT) always answers exactly. What a budget costs in
 * recall depends on the data: bench/knn measures recall@10 at several
 * budgets on its two sets, and tests/test_knn.c holds a bound on a
 * generated one. Thread-safe and allocation-free as knn_search; returns 0
 * or SEG_EINVAL as it does, with *nout = 0 and *exact = 1 on error. */
int knn_search_probe(const knn_index *idx, const float *q, size_t k, const knn_filter *f, size_t probe, knn_hit *out,
                     size_t *nout, int *exact);

/* Counters of single searches since the process started: those answered
 * through the quantised scan and those of them that needed a second scan
 * because the first one's candidates could not prove the top k; those
 * answered through the clusters and the rows they scored. Plain data. */
typedef struct knn_stats {
	uint64_t quant_searches, quant_rescans;
	uint64_t cluster_searches, cluster_rows;
	uint64_t cluster_visits;   /* clusters whose rows were looked at */
	uint64_t cluster_rescored; /* rows scored again on their floats */
} knn_stats;
void knn_stats_get(knn_stats *st);

/* knn_search for the B queries Q[B][D] at once, through cblas_sgemm: out is
 * [B][k] (query b's hits at out + b*k, by descending score), nout[B] the
 * number found for each. The same filter applies to every query. The results
 * are those of knn_search up to float rounding of the scores (BLAS sums in
 * another order), which can swap rows whose scores differ by ~1e-7. Uses
 * worker threads (see the top of this file) and allocates score tiles and,
 * with more than one worker, (workers - 1) * B * k hits of scratch. Returns
 * 0, SEG_EINVAL, or SEG_ENOMEM; on error out and nout are unspecified. */
int knn_search_batch(const knn_index *idx, const float *Q, size_t B, size_t k, const knn_filter *f, knn_hit *out,
                     size_t *nout, seg_error *err);

#endif
