/* knn_batch.c: knn_search_batch (see knn.h): B queries at once through
 * cblas_sgemm, the rows split among core/parallel's workers. Each worker
 * multiplies a tile of queries by a block of rows into a score tile small
 * enough to stay in cache, then scans each tile row as the float scan does
 * (knn_scan.c); the workers' selections are merged at the end.
 *
 * Legend: N rows, D features, K results, B queries, NT rows per score
 * block, QT queries per score tile, T workers. */
#include "models/knn_internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"

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

/* One worker's share of a batch: rows [r0, r1) against every query. */
typedef struct batch_job {
	const knn_index *idx;
	const float *Q; /* [B][D] */
	size_t B;
	size_t r0, r1; /* rows of X */
	size_t qt, nt; /* QT, NT */
	float *S;      /* [QT][NT] score tile */
	knn_sel *tk;   /* [B] one selection per query */
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
					knn__scan_scores(j->idx, j->S + i * nb, n0, nb, &j->tk[b0 + i]);
		}
	}
}

/* Worker w of a batch: jobs[w]. */
static void batch_worker(void *ctx, int worker, int nworkers)
{
	(void)nworkers;
	batch_run((const batch_job *)ctx + worker);
}

int knn_search_batch(const knn_index *idx, const float *Q, size_t B, size_t k, const knn_filter *f, knn_hit *out,
                     size_t *nout, seg_error *err)
{
	int rc = 0;
	batch_job *jobs = NULL; /* [T] */
	knn_sel *tk = NULL;     /* [T][B] */
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
	size_t share = (N + T - 1) / T; /* rows per worker, whole blocks */
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
			rc = seg_error_set(err, SEG_EINVAL, "knn_search_batch: query %zu has a NaN or infinite value",
			                   b);
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
