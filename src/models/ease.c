/* ease.c: EASE (see ease.h): choosing the items of the dense solve, the
 * Gram matrix X^T X from the sparse playlists, its inverse through LAPACK's
 * Cholesky routines, and the cut of each row of B to its K largest weights.
 *
 * Legend: U playlists, I items, E items in the solve, K weights kept per
 * item, T worker threads. Dense E x E matrices are symmetric and stored
 * column-major for LAPACK (so also row-major once both triangles are set). */
#include "models/ease.h"

#include <lapacke.h>
/* lapacke.h brings in complex.h, whose I would shadow the item count. */
#undef I
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "core/progress.h"
#include "core/topk.h"

void ease_opts_default(ease_opts *o)
{
	/* Chosen by R-precision and NDCG at 5 and 10 seeds on the validation split
	 * of the real data (README, "Models"); 15000 items take 900 MB to solve. */
	*o = (ease_opts){.lambda = 1500.0f, .min_count = 2, .max_items = 15000, .neighbours = 500};
}

/* SEG_EINVAL for bad options, or unless iu has the shape of ui's transpose. */
static int args_check(const cf_csr *ui, const cf_csr *iu, const ease_opts *o, seg_error *err)
{
	if (ui != NULL && (ui->ncols != iu->nrows || ui->nrows != iu->ncols || ui->nnz != iu->nnz))
		return seg_error_set(err, SEG_EINVAL,
		                     "EASE: the item x playlist matrix is not the transpose of the other");
	if (!(o->lambda > 0) || o->min_count < 1 || o->max_items < 1 || o->neighbours < 1)
		return seg_error_set(err, SEG_EINVAL,
		                     "bad EASE options (lambda %g, min count %d, items %d, neighbours %d)", o->lambda,
		                     (int)o->min_count, (int)o->max_items, (int)o->neighbours);
	return 0;
}

/* ---- the items of the solve ---- */

int32_t ease_select_items(const cf_csr *iu, const ease_opts *o, int32_t *solved, seg_error *err)
{
	int rc = args_check(NULL, iu, o, err);
	if (rc < 0)
		return rc;
	int32_t I = iu->nrows;
	/* The frequent items by count (ties to the lower index: topk's order),
	 * then back in index order. */
	topk_hit *h = malloc(((size_t)I + 1) * sizeof *h);
	if (h == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory choosing the EASE items");
	size_t n = 0;
	for (int32_t i = 0; i < I; i++) {
		int64_t c = iu->indptr[i + 1] - iu->indptr[i];
		if (c >= o->min_count)
			h[n++] = (topk_hit){(size_t)i, (float)c};
	}
	size_t E = topk_select(h, n, (size_t)o->max_items);
	for (size_t a = 0; a < E; a++)
		solved[a] = (int32_t)h[a].row;
	free(h);
	/* Back in index order by one pass over the items. */
	uint8_t *in = calloc((size_t)I + 1, 1);
	if (in == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory choosing the EASE items");
	for (size_t a = 0; a < E; a++)
		in[solved[a]] = 1;
	size_t e = 0;
	for (int32_t i = 0; i < I; i++)
		if (in[i])
			solved[e++] = i;
	free(in);
	return (int32_t)E;
}

/* ---- the solve ---- */

/* Copies the lower triangle of the column-major E x E matrix A onto its
 * upper one, in tiles so that both sides are read and written a cache line
 * at a time. */
static void symmetrise(float *A, size_t E)
{
	const size_t B = 64;
	for (size_t j0 = 0; j0 < E; j0 += B)
		for (size_t i0 = j0; i0 < E; i0 += B)
			for (size_t j = j0; j < j0 + B && j < E; j++)
				for (size_t i = i0 > j + 1 ? i0 : j + 1; i < i0 + B && i < E; i++)
					A[j + i * E] = A[i + j * E]; /* (j, i) = (i, j) */
}

/* P = (X^T X + lambda I)^-1 over the items solved[E], into a new symmetric
 * A[E][E] (both triangles set). */
static int ease_inverse(const cf_csr *ui, const cf_csr *iu, const ease_opts *o, const int32_t *solved, int32_t E,
                        float **A_out, ease_info *info, seg_error *err)
{
	int32_t I = iu->nrows, U = ui->nrows;
	size_t n = (size_t)E;
	int rc = 0;
	double t0 = progress_now();
	float *A = calloc(n > 0 ? n * n : 1, sizeof *A);          /* [E][E] */
	int32_t *local = malloc(((size_t)I + 1) * sizeof *local); /* [I] index in the solve, -1 */
	int32_t *row = malloc(((size_t)E + 1) * sizeof *row);     /* [E] one playlist's items in the solve */
	if (A == NULL || local == NULL || row == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for the EASE solve of %d items (%.1f GB)", (int)E,
		                   4.0 * (double)n * (double)n / 1e9);
		goto out;
	}
	for (int32_t i = 0; i < I; i++)
		local[i] = -1;
	for (int32_t a = 0; a < E; a++)
		local[solved[a]] = a;
	/* X^T X, lower triangle: every pair of solved items in a playlist adds 1.
	 * Columns of a row ascend, and so do their local indices. */
	for (int32_t u = 0; u < U; u++) {
		int32_t m = 0;
		for (int64_t p = ui->indptr[u]; p < ui->indptr[u + 1]; p++)
			if (local[ui->indices[p]] >= 0)
				row[m++] = local[ui->indices[p]];
		for (int32_t q = 0; q < m; q++) {
			float *col = A + (size_t)row[q] * n; /* column row[q]: entries (r, row[q]) with r >= row[q] */
			for (int32_t r = q; r < m; r++)
				col[row[r]] += 1.0f;
		}
	}
	for (size_t a = 0; a < n; a++)
		A[a + a * n] += o->lambda;
	double t1 = progress_now();
	lapack_int li = LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)E, A, (lapack_int)E);
	if (li == 0)
		li = LAPACKE_spotri_work(LAPACK_COL_MAJOR, 'L', (lapack_int)E, A, (lapack_int)E);
	if (li != 0) {
		rc = seg_error_set(err, SEG_EIO,
		                   "EASE: LAPACK could not invert X^T X + %g I over %d items (info %d); "
		                   "a larger lambda may help",
		                   o->lambda, (int)E, (int)li);
		goto out;
	}
	symmetrise(A, n);
	if (info) {
		info->gram_seconds = t1 - t0;
		info->solve_seconds = progress_now() - t1;
	}
	*A_out = A;
	A = NULL;
out:
	free(A);
	free(local);
	free(row);
	return rc;
}

/* ---- the cut to K ---- */

typedef struct cut_ctx {
	const float *P;        /* [E][E] the inverse */
	const float *inv_diag; /* [E] 1 / P_jj */
	const int32_t *solved; /* [E] item of each local index */
	size_t E, K;
	topk_hit **heap; /* [T][K] each worker's selection */
	int32_t *count;  /* [E] weights kept per row */
	int32_t *nbr;    /* [E][K] their items */
	float *w;        /* [E][K] their weights */
} cut_ctx;

static void cut_rows(void *ctx, int worker, int64_t chunk, int64_t begin, int64_t end)
{
	(void)chunk;
	cut_ctx *c = ctx;
	for (int64_t i = begin; i < end; i++) {
		const float *p = c->P + (size_t)i * c->E; /* row i of P (= column i) */
		topk t;
		topk_init(&t, c->heap[worker], c->K);
		for (size_t j = 0; j < c->E; j++) {
			float b = -p[j] * c->inv_diag[j]; /* B_ij */
			if (b > 0 && j != (size_t)i && topk_admits(&t, j, b))
				topk_push(&t, j, b);
		}
		size_t m = topk_finish(&t);
		for (size_t q = 0; q < m; q++) {
			c->nbr[(size_t)i * c->K + q] = c->solved[t.h[q].row];
			c->w[(size_t)i * c->K + q] = t.h[q].score;
		}
		c->count[i] = (int32_t)m;
	}
}

int ease_fit(const cf_csr *ui, const cf_csr *iu, const ease_opts *o, cf_cooc **out, ease_info *info, seg_error *err)
{
	*out = NULL;
	if (info)
		memset(info, 0, sizeof *info);
	int rc = args_check(ui, iu, o, err);
	if (rc < 0)
		return rc;
	int32_t I = iu->nrows;
	int32_t *solved = malloc(((size_t)(o->max_items < I ? o->max_items : I) + 1) * sizeof *solved); /* [E] */
	float *P = NULL, *inv_diag = NULL;
	cut_ctx c = {0};
	int T = parallel_workers(0);
	cf_cooc *m = calloc(1, sizeof *m);
	if (solved == NULL || m == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory fitting EASE");
		goto out;
	}
	int32_t E = ease_select_items(iu, o, solved, err);
	if (E < 0) {
		rc = E;
		goto out;
	}
	if (E > 0 && (rc = ease_inverse(ui, iu, o, solved, E, &P, info, err)) < 0)
		goto out;
	double t0 = progress_now();
	size_t K = (size_t)o->neighbours < (size_t)E ? (size_t)o->neighbours : (size_t)(E > 1 ? E - 1 : 1);
	inv_diag = malloc(((size_t)E + 1) * sizeof *inv_diag);
	c = (cut_ctx){.P = P, .inv_diag = inv_diag, .solved = solved, .E = (size_t)E, .K = K};
	c.heap = calloc((size_t)T, sizeof *c.heap);
	c.count = calloc((size_t)E + 1, sizeof *c.count);
	c.nbr = malloc(((size_t)E * K + 1) * sizeof *c.nbr);
	c.w = malloc(((size_t)E * K + 1) * sizeof *c.w);
	m->indptr = calloc((size_t)I + 1, sizeof *m->indptr);
	if (!inv_diag || !c.heap || !c.count || !c.nbr || !c.w || !m->indptr) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory fitting EASE");
		goto out;
	}
	for (int t = 0; t < T; t++)
		if ((c.heap[t] = malloc(K * sizeof **c.heap)) == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory fitting EASE");
			goto out;
		}
	for (int32_t a = 0; a < E; a++)
		inv_diag[a] = 1.0f / P[(size_t)a * (size_t)E + (size_t)a];
	parallel_for(T, E, 64, cut_rows, &c);
	/* Rows over the whole vocabulary: items outside the solve are empty. */
	m->nitems = I;
	m->topm = (int32_t)K;
	for (int32_t a = 0, i = 0; i < I; i++) {
		int32_t cnt = a < E && solved[a] == i ? c.count[a++] : 0;
		m->indptr[i + 1] = m->indptr[i] + cnt;
	}
	size_t total = (size_t)m->indptr[I];
	m->nbr = malloc((total + 1) * sizeof *m->nbr);
	m->sim = malloc((total + 1) * sizeof *m->sim);
	if (m->nbr == NULL || m->sim == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory fitting EASE");
		goto out;
	}
	for (int32_t a = 0; a < E; a++) {
		int64_t at = m->indptr[solved[a]];
		memcpy(m->nbr + at, c.nbr + (size_t)a * K, (size_t)c.count[a] * sizeof *m->nbr);
		memcpy(m->sim + at, c.w + (size_t)a * K, (size_t)c.count[a] * sizeof *m->sim);
	}
	if (info) {
		info->solved = E;
		info->entries = ui->nnz;
		for (int32_t a = 0; a < E; a++) {
			int64_t cnt = iu->indptr[solved[a] + 1] - iu->indptr[solved[a]];
			info->entries_covered += cnt;
			if (a == 0 || cnt < info->min_count)
				info->min_count = (int32_t)cnt;
		}
		info->select_seconds = progress_now() - t0;
	}
	*out = m;
	m = NULL;
out:
	cf_cooc_free(m);
	for (int t = 0; c.heap && t < T; t++)
		free(c.heap[t]);
	free(c.heap);
	free(c.count);
	free(c.nbr);
	free(c.w);
	free(inv_diag);
	free(P);
	free(solved);
	return rc;
}

int ease_fit_dense(const cf_csr *ui, const cf_csr *iu, const ease_opts *o, int32_t **solved_out, int32_t *E_out,
                   float **B_out, seg_error *err)
{
	*solved_out = NULL;
	*B_out = NULL;
	*E_out = 0;
	int rc = args_check(ui, iu, o, err);
	if (rc < 0)
		return rc;
	int32_t I = iu->nrows;
	int32_t *solved = malloc(((size_t)(o->max_items < I ? o->max_items : I) + 1) * sizeof *solved);
	float *P = NULL, *inv_diag = NULL;
	if (solved == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory fitting EASE");
	int32_t E = ease_select_items(iu, o, solved, err);
	if (E < 0) {
		rc = E;
		goto out;
	}
	if (E > 0 && (rc = ease_inverse(ui, iu, o, solved, E, &P, NULL, err)) < 0)
		goto out;
	size_t n = (size_t)E;
	inv_diag = malloc((n + 1) * sizeof *inv_diag);
	if (inv_diag == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory fitting EASE");
		goto out;
	}
	for (size_t j = 0; j < n; j++)
		inv_diag[j] = 1.0f / P[j * n + j];
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			P[i * n + j] = i == j ? 0.0f : -P[i * n + j] * inv_diag[j];
	*solved_out = solved;
	*E_out = E;
	*B_out = P;
	solved = NULL;
	P = NULL;
out:
	free(inv_diag);
	free(P);
	free(solved);
	return rc;
}
