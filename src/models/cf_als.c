/* cf_als.c: implicit ALS (Hu, Koren & Volinsky 2008) with a warm-started
 * conjugate-gradient solver (see cf.h): training over core/parallel's
 * workers, the loss, folding in a new user, and recommending.
 *
 * Dimension legend: U playlists ("users"), I items (tracks), F factors,
 * K results, T worker threads. */
#include "models/cf_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "core/rng.h"
#include "models/knn.h"

/* openblas_config.h and lapacke.h pull in <complex.h>, whose macro `I`
 * would shadow the item dimension used throughout this file. */
#undef I

/* ======================================================================== */
/* Small helpers                                                            */

/* Dot product with eight running sums, so that the compiler can keep them in
 * one vector register (a single sum would force sequential adds). */
static float dotf(const float *a, const float *b, int n)
{
	float s[8] = {0};
	int f = 0;
	for (; f + 8 <= n; f += 8)
		for (int l = 0; l < 8; l++)
			s[l] += a[f + l] * b[f + l];
	float t = 0.0f;
	for (; f < n; f++)
		t += a[f] * b[f];
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

/* y += a x over n floats. */
static void axpyf(float a, const float *restrict x, float *restrict y, int n)
{
	int f = 0;
	for (; f + 8 <= n; f += 8)
		for (int l = 0; l < 8; l++)
			y[f + l] += a * x[f + l];
	for (; f < n; f++)
		y[f] += a * x[f];
}

/* ======================================================================== */
/* Implicit ALS                                                             */

void cf_als_opts_default(cf_als_opts *o)
{
	*o = (cf_als_opts){.factors = 64,
	                   .iterations = 15,
	                   .alpha = 40.0f,
	                   .lambda = 0.1f,
	                   .cg_steps = 3,
	                   .seed = 42,
	                   .threads = 0};
}

void cf_als_free(cf_als *m)
{
	if (m == NULL)
		return;
	free(m->user_factors);
	free(m->item_factors);
	free(m->item_norms);
	free(m->yty);
	free(m);
}

/* G = A^T A for A [n, F] row-major, into G [F, F] (both triangles). */
static void gram(const float *A, int32_t n, int F, float *G)
{
	if (n == 0) {
		memset(G, 0, (size_t)F * F * sizeof *G);
		return;
	}
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, F, n, 1.0f, A, F, 0.0f, G, F);
	for (int r = 0; r < F; r++)
		for (int c = 0; c < r; c++)
			G[(size_t)r * F + c] = G[(size_t)c * F + r];
}

static void als_refresh_items(cf_als *m)
{
	int F = m->factors;
	for (int32_t i = 0; i < m->nitems; i++) {
		const float *y = m->item_factors + (size_t)i * F;
		m->item_norms[i] = sqrtf(dotf(y, y, F));
	}
	gram(m->item_factors, m->nitems, F, m->yty);
}

static int als_check_opts(const cf_als_opts *o, seg_error *err)
{
	if (o->factors < 1 || o->factors > 4096 || o->iterations < 0 || !(o->alpha >= 0) || !(o->lambda > 0) ||
	    o->cg_steps < 0)
		return seg_error_set(err, SEG_EINVAL,
		                     "bad ALS options (factors %d, iterations %d, alpha %g, lambda %g, "
		                     "cg_steps %d)",
		                     (int)o->factors, o->iterations, o->alpha, o->lambda, o->cg_steps);
	return 0;
}

int cf_als_create(cf_als **out, int32_t nusers, int32_t nitems, const cf_als_opts *opts, seg_error *err)
{
	cf_als_opts o;
	if (opts)
		o = *opts;
	else
		cf_als_opts_default(&o);
	*out = NULL;
	int rc = als_check_opts(&o, err);
	if (rc < 0)
		return rc;
	if (nusers < 0 || nitems < 0)
		return seg_error_set(err, SEG_EINVAL, "bad ALS dimensions %d x %d", (int)nusers, (int)nitems);
	int F = o.factors;
	cf_als *m = calloc(1, sizeof *m);
	if (m == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory creating an ALS model");
	m->nusers = nusers;
	m->nitems = nitems;
	m->factors = F;
	m->opts = o;
	m->user_factors = malloc(((size_t)nusers * F + 1) * sizeof *m->user_factors);
	m->item_factors = malloc(((size_t)nitems * F + 1) * sizeof *m->item_factors);
	m->item_norms = malloc(((size_t)nitems + 1) * sizeof *m->item_norms);
	m->yty = malloc((size_t)F * F * sizeof *m->yty);
	if (!m->user_factors || !m->item_factors || !m->item_norms || !m->yty) {
		cf_als_free(m);
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %d x %d factors of %d", (int)nusers,
		                     (int)nitems, F);
	}
	uint64_t s = o.seed;
	for (size_t q = 0; q < (size_t)nusers * F; q++)
		m->user_factors[q] = rng_unit_float(rng_splitmix64(&s)) * 0.01f;
	for (size_t q = 0; q < (size_t)nitems * F; q++)
		m->item_factors[q] = rng_unit_float(rng_splitmix64(&s)) * 0.01f;
	als_refresh_items(m);
	*out = m;
	return 0;
}

/* Rows solved together, so that the dense products A0 P of a block are one
 * sgemm. B F F stays at or below 64^3, under which OpenBLAS runs a product on
 * the calling thread: the workers here are the parallelism, and a BLAS that
 * spawned threads of its own inside each of them would oversubscribe. */
static int64_t als_block_rows(int F)
{
	int64_t b = 262144 / ((int64_t)F * F);
	return b < 1 ? 1 : b > 64 ? 64 : b;
}

/* Per-thread scratch of one half-iteration; B = als_block_rows(F). */
typedef struct als_scratch {
	float *r, *p, *ap; /* [B, F] CG residuals, directions, A p of a block */
	float *rs, *rs0;   /* [B] |r|^2 now and at the start */
	double *A, *b;     /* [F, F], [F] the exact system (cg_steps == 0) */
} als_scratch;

/* One half-iteration: solve the rows of `R` (rows x other) for `X` [rows, F]
 * given the fixed factors `Y` [other, F] and A0 = Y^T Y + lambda I. */
typedef struct als_half {
	const cf_csr *R;
	const float *Y;  /* [R->ncols, F] fixed side */
	float *X;        /* [R->nrows, F] side being solved */
	const float *A0; /* [F, F] Y^T Y + lambda I */
	float alpha;
	int F;
	int cg_steps;
	als_scratch *ts; /* [T] */
	atomic_int *bad; /* set when an exact solve fails */
} als_half;

/* Conjugate gradient on (A0 + Y^T (C_u - I) Y) x_u = Y^T C_u p_u for the
 * rows [begin, end) of one block, each started from its current x_u, as in
 * Takacs et al. and the implicit library: a few steps from a warm start track
 * the moving solution cheaply, and every step lowers the row's objective, so
 * the training loss never rises. The rows run in lockstep only so that their
 * A0 p products share one sgemm; each row's arithmetic is its own. A row
 * stops when its residual has fallen to float precision (its direction is
 * then zeroed, which keeps it out of the products). */
static void als_block_cg(const als_half *h, int64_t begin, int64_t end, als_scratch *s)
{
	const int F = h->F;
	const int B = (int)(end - begin);
	const cf_csr *R = h->R;
	const float *Y = h->Y;
	float *X = h->X + (size_t)begin * F; /* [B, F] the block's rows, solved in place */
	float *r = s->r, *p = s->p, *ap = s->ap, *rs = s->rs, *rs0 = s->rs0;

	/* r = b - A x = sum_i (c - (c - 1) y_i.x) y_i - A0 x (A0 is symmetric) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, F, F, -1.0f, X, F, h->A0, F, 0.0f, r, F);
	for (int u = 0; u < B; u++) {
		float *x = X + (size_t)u * F, *ru = r + (size_t)u * F;
		for (int64_t q = R->indptr[begin + u]; q < R->indptr[begin + u + 1]; q++) {
			const float *y = Y + (size_t)R->indices[q] * F;
			float c = 1.0f + h->alpha * R->data[q];
			axpyf(c - (c - 1.0f) * dotf(y, x, F), y, ru, F);
		}
		memcpy(p + (size_t)u * F, ru, (size_t)F * sizeof *p);
		rs[u] = rs0[u] = dotf(ru, ru, F);
		if (!(rs[u] > 1e-20f)) {
			rs[u] = 0.0f;
			memset(p + (size_t)u * F, 0, (size_t)F * sizeof *p);
		}
	}
	for (int it = 0; it < h->cg_steps; it++) {
		int active = 0;
		for (int u = 0; u < B; u++)
			active += rs[u] > 0.0f;
		if (active == 0)
			break;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, F, F, 1.0f, p, F, h->A0, F, 0.0f, ap, F);
		for (int u = 0; u < B; u++) {
			if (rs[u] == 0.0f)
				continue;
			float *x = X + (size_t)u * F, *ru = r + (size_t)u * F;
			float *pu = p + (size_t)u * F, *apu = ap + (size_t)u * F;
			for (int64_t q = R->indptr[begin + u]; q < R->indptr[begin + u + 1]; q++) {
				const float *y = Y + (size_t)R->indices[q] * F;
				float c = 1.0f + h->alpha * R->data[q];
				axpyf((c - 1.0f) * dotf(y, pu, F), y, apu, F);
			}
			float pap = dotf(pu, apu, F);
			float rsn = 0.0f;
			if (pap > 0.0f) {
				float a = rs[u] / pap;
				axpyf(a, pu, x, F);
				axpyf(-a, apu, ru, F);
				rsn = dotf(ru, ru, F);
			}
			if (!(rsn > rs0[u] * 1e-12f) || !(rsn > 1e-20f)) { /* converged */
				rs[u] = 0.0f;
				memset(pu, 0, (size_t)F * sizeof *pu);
				continue;
			}
			float beta = rsn / rs[u];
			for (int f = 0; f < F; f++)
				pu[f] = ru[f] + beta * pu[f];
			rs[u] = rsn;
		}
	}
}

/* Builds (G + lambda I + Y^T (C - I) Y) and Y^T C p in double (A [F, F],
 * b [F]) and solves them with a Cholesky factorisation into x [F]. `val` NULL
 * means 1 each. Returns LAPACK's info (0 on success).
 *
 * Only the upper triangle is built, and in column-major order: element
 * (r, c), r <= c, at A[c F + r]. LAPACKE's row-major form copied the matrix
 * into that order and back on every call (a quarter of a served request's
 * time, issue 13); the numbers the solver reads are the same, so is x. */
static int als_solve_exact(const float *G, float lambda, const float *Y, const int32_t *idx, const float *val,
                           int64_t n, float alpha, int F, double *A, double *b, float *x)
{
	for (int cc = 0; cc < F; cc++)
		for (int r = 0; r <= cc; r++)
			A[(size_t)cc * F + r] = G[(size_t)r * F + cc];
	for (int f = 0; f < F; f++)
		A[(size_t)f * F + f] += lambda;
	memset(b, 0, (size_t)F * sizeof *b);
	for (int64_t q = 0; q < n; q++) {
		const float *y = Y + (size_t)idx[q] * F;
		double c = 1.0 + (double)alpha * (val ? val[q] : 1.0f);
		for (int r = 0; r < F; r++)
			b[r] += c * y[r];
		for (int cc = 0; cc < F; cc++)
			for (int r = 0; r <= cc; r++)
				A[(size_t)cc * F + r] += (c - 1.0) * y[r] * y[cc];
	}
	if (F == 0)
		return 0;
	int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', F, 1, A, F, b, F);
	if (info == 0)
		for (int f = 0; f < F; f++)
			x[f] = (float)b[f];
	return info;
}

static void als_half_chunk(void *ctx, int tid, int64_t chunk, int64_t begin, int64_t end)
{
	(void)chunk;
	als_half *h = ctx;
	const cf_csr *R = h->R;
	if (h->cg_steps > 0) {
		als_block_cg(h, begin, end, &h->ts[tid]);
		return;
	}
	for (int64_t u = begin; u < end; u++) {
		int64_t b = R->indptr[u], n = R->indptr[u + 1] - b;
		if (als_solve_exact(h->A0, 0.0f, h->Y, R->indices + b, R->data + b, n, h->alpha, h->F, h->ts[tid].A,
		                    h->ts[tid].b, h->X + (size_t)u * h->F) != 0)
			atomic_store(h->bad, 1);
	}
}

/* Loss contributions of rows: x^T G x + sum_i (c (1 - s)^2 - s^2), s = x.y_i,
 * summed per chunk so that the total is independent of the threads. */
typedef struct als_loss_job {
	const cf_csr *R;
	const float *X, *Y; /* [U, F], [I, F] */
	const float *G;     /* [F, F] Y^T Y */
	float alpha;
	int F;
	float **tmp;  /* [T][B, F] X G for a block of rows */
	double *part; /* [chunks] */
} als_loss_job;

static void als_loss_chunk(void *ctx, int tid, int64_t chunk, int64_t begin, int64_t end)
{
	als_loss_job *j = ctx;
	int F = j->F;
	double sum = 0.0;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(end - begin), F, F, 1.0f, j->X + (size_t)begin * F,
	            F, j->G, F, 0.0f, j->tmp[tid], F);
	for (int64_t u = begin; u < end; u++) {
		const float *x = j->X + (size_t)u * F;
		sum += dotf(x, j->tmp[tid] + (size_t)(u - begin) * F, F);
		for (int64_t q = j->R->indptr[u]; q < j->R->indptr[u + 1]; q++) {
			double s = dotf(x, j->Y + (size_t)j->R->indices[q] * F, F);
			double c = 1.0 + (double)j->alpha * j->R->data[q];
			sum += c * (1.0 - s) * (1.0 - s) - s * s;
		}
	}
	j->part[chunk] = sum;
}

static int als_loss_run(const cf_als *m, const cf_csr *ui, const float *G, double *loss, seg_error *err)
{
	int F = m->factors, T = parallel_workers(m->opts.threads);
	const int64_t chunk = als_block_rows(F);
	int64_t nchunks = (m->nusers + chunk - 1) / chunk;
	als_loss_job j = {.R = ui, .X = m->user_factors, .Y = m->item_factors, .G = G, .alpha = m->opts.alpha, .F = F};
	j.part = calloc((size_t)nchunks + 1, sizeof *j.part);
	j.tmp = calloc((size_t)T, sizeof *j.tmp);
	int rc = 0;
	if (j.part == NULL || j.tmp == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory computing the ALS loss");
		goto out;
	}
	for (int t = 0; t < T; t++)
		if ((j.tmp[t] = malloc((size_t)chunk * F * sizeof **j.tmp)) == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory computing the ALS loss");
			goto out;
		}
	parallel_for(T, m->nusers, chunk, als_loss_chunk, &j);
	double sum = 0.0, reg = 0.0;
	for (int64_t c = 0; c < nchunks; c++)
		sum += j.part[c];
	for (size_t q = 0; q < (size_t)m->nusers * F; q++)
		reg += (double)m->user_factors[q] * m->user_factors[q];
	for (size_t q = 0; q < (size_t)m->nitems * F; q++)
		reg += (double)m->item_factors[q] * m->item_factors[q];
	*loss = sum + m->opts.lambda * reg;
out:
	for (int t = 0; j.tmp && t < T; t++)
		free(j.tmp[t]);
	free(j.tmp);
	free(j.part);
	return rc;
}

int cf_als_loss(const cf_als *m, const cf_csr *ui, double *loss, seg_error *err)
{
	if (ui == NULL || ui->nrows != m->nusers || ui->ncols != m->nitems)
		return seg_error_set(err, SEG_EINVAL, "matrix does not match the ALS model");
	int F = m->factors;
	float *G = malloc((size_t)F * F * sizeof *G); /* [F, F] Y^T Y */
	if (G == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory computing the ALS loss");
	gram(m->item_factors, m->nitems, F, G);
	int rc = als_loss_run(m, ui, G, loss, err);
	free(G);
	return rc;
}

/* Solves every row of R for X given Y. */
static int als_half_run(cf_als *m, const cf_csr *R, const float *Y, int32_t ny, float *X, float *A0, als_scratch *ts,
                        int T, seg_error *err)
{
	int F = m->factors;
	gram(Y, ny, F, A0);
	for (int f = 0; f < F; f++)
		A0[(size_t)f * F + f] += m->opts.lambda;
	atomic_int bad;
	atomic_init(&bad, 0);
	als_half h = {.R = R,
	              .Y = Y,
	              .X = X,
	              .A0 = A0,
	              .alpha = m->opts.alpha,
	              .F = F,
	              .cg_steps = m->opts.cg_steps,
	              .ts = ts,
	              .bad = &bad};
	parallel_for(T, R->nrows, als_block_rows(F), als_half_chunk, &h);
	if (atomic_load(&bad))
		return seg_error_set(err, SEG_EINVAL, "an ALS system was not positive definite");
	return 0;
}

int cf_als_iterate(cf_als *m, const cf_csr *ui, const cf_csr *iu, double *loss, seg_error *err)
{
	int rc = cf__csr_check_pair(ui, iu, err);
	if (rc < 0)
		return rc;
	if (ui->nrows != m->nusers || ui->ncols != m->nitems)
		return seg_error_set(err, SEG_EINVAL, "a %d x %d matrix does not match a %d x %d model", (int)ui->nrows,
		                     (int)ui->ncols, (int)m->nusers, (int)m->nitems);
	int F = m->factors, T = parallel_workers(m->opts.threads);
	int exact = m->opts.cg_steps == 0;
	float *A0 = malloc((size_t)F * F * sizeof *A0); /* [F, F] */
	als_scratch *ts = calloc((size_t)T, sizeof *ts);
	if (A0 == NULL || ts == NULL)
		goto nomem;
	size_t BF = (size_t)als_block_rows(F) * F;
	for (int t = 0; t < T; t++) {
		ts[t].r = malloc(BF * sizeof *ts[t].r);
		ts[t].p = malloc(BF * sizeof *ts[t].p);
		ts[t].ap = malloc(BF * sizeof *ts[t].ap);
		ts[t].rs = malloc((size_t)als_block_rows(F) * sizeof *ts[t].rs);
		ts[t].rs0 = malloc((size_t)als_block_rows(F) * sizeof *ts[t].rs0);
		if (exact) {
			ts[t].A = malloc((size_t)F * F * sizeof *ts[t].A);
			ts[t].b = malloc((size_t)F * sizeof *ts[t].b);
		}
		if (!ts[t].r || !ts[t].p || !ts[t].ap || !ts[t].rs || !ts[t].rs0 || (exact && (!ts[t].A || !ts[t].b)))
			goto nomem;
	}
	rc = als_half_run(m, ui, m->item_factors, m->nitems, m->user_factors, A0, ts, T, err);
	if (rc == 0)
		rc = als_half_run(m, iu, m->user_factors, m->nusers, m->item_factors, A0, ts, T, err);
	als_refresh_items(m);
	if (rc == 0 && loss != NULL)
		rc = als_loss_run(m, ui, m->yty, loss, err);
	goto out;
nomem:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory in an ALS iteration");
out:
	for (int t = 0; ts && t < T; t++) {
		free(ts[t].r);
		free(ts[t].p);
		free(ts[t].ap);
		free(ts[t].rs);
		free(ts[t].rs0);
		free(ts[t].A);
		free(ts[t].b);
	}
	free(ts);
	free(A0);
	return rc;
}

int cf_als_fit(const cf_csr *ui, const cf_csr *iu, const cf_als_opts *opts, cf_als **out, double *losses,
               seg_error *err)
{
	cf_als_opts o;
	if (opts)
		o = *opts;
	else
		cf_als_opts_default(&o);
	*out = NULL;
	int rc = cf__csr_check_pair(ui, iu, err);
	if (rc < 0)
		return rc;
	cf_als *m;
	rc = cf_als_create(&m, ui->nrows, ui->ncols, &o, err);
	for (int it = 0; rc == 0 && it < o.iterations; it++)
		rc = cf_als_iterate(m, ui, iu, losses ? &losses[it] : NULL, err);
	if (rc < 0) {
		cf_als_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* Scratch layout: [F, F] + [F] doubles for the exact solve, [K] hits of
 * the selection, [F] floats for x, then [nseeds] int32 sorted seeds. */
size_t cf_als_scratch_size(const cf_als *m, size_t nseeds, size_t k)
{
	size_t F = (size_t)m->factors;
	return (F * F + F) * sizeof(double) + k * sizeof(topk_hit) + F * sizeof(float) + nseeds * sizeof(int32_t) + 8;
}

static int als_fold_in(const cf_als *m, const int32_t *items, const float *vals, size_t n, float *x, double *A,
                       double *b, seg_error *err)
{
	int F = m->factors;
	for (size_t t = 0; t < n; t++)
		if (items[t] < 0 || items[t] >= m->nitems)
			return seg_error_set(err, SEG_EINVAL, "item %d is out of range [0, %d)", (int)items[t],
			                     (int)m->nitems);
	if (n == 0) {
		memset(x, 0, (size_t)F * sizeof *x);
		return 0;
	}
	if (als_solve_exact(m->yty, m->opts.lambda, m->item_factors, items, vals, (int64_t)n, m->opts.alpha, F, A, b,
	                    x) != 0)
		return seg_error_set(err, SEG_EINVAL, "fold-in system is not positive definite");
	return 0;
}

int cf_als_fold_in(const cf_als *m, const int32_t *items, const float *vals, size_t n, float *x_out, void *scratch,
                   seg_error *err)
{
	if (n > 0 && items == NULL)
		return seg_error_set(err, SEG_EINVAL, "no items to fold in");
	void *own = NULL;
	if (scratch == NULL) {
		own = scratch = malloc(cf_als_scratch_size(m, 0, 0));
		if (own == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory folding in a user");
	}
	size_t F = (size_t)m->factors;
	double *A = scratch, *b = A + F * F;
	int rc = als_fold_in(m, items, vals, n, x_out, A, b, err);
	free(own);
	return rc;
}

/* The start of a recommendation: folds the seed set in (each distinct seed
 * once, r = 1) into the scratch's x, with the sorted distinct seeds after
 * it. The scratch is cf_als_scratch_size(m, nseeds, k). */
typedef struct als_user {
	float *x;              /* [F] the folded-in user */
	const int32_t *sorted; /* [ns] distinct seeds, ascending */
	int64_t ns;
	topk_hit *h; /* [K] room for the full scan's selection */
} als_user;

static int als_user_fold(const cf_als *m, const int32_t *seeds, size_t nseeds, int32_t k, void *scratch, als_user *u,
                         seg_error *err)
{
	int F = m->factors;
	double *A = scratch, *b = A + (size_t)F * F; /* [F, F], [F] */
	u->h = (topk_hit *)(void *)(b + F);          /* [K] */
	u->x = (float *)(u->h + k);                  /* [F] */
	int32_t *sorted = (int32_t *)(u->x + F);     /* [nseeds] */
	u->sorted = sorted;
	u->ns = cf__seeds_prepare(seeds, nseeds, m->nitems, sorted, err);
	return u->ns < 0 ? (int)u->ns : als_fold_in(m, sorted, NULL, (size_t)u->ns, u->x, A, b, err);
}

/* The full scan: scores every item, keeps the k best that are not seeds in
 * u->h, best first; returns how many. */
static size_t als_scan(const cf_als *m, const als_user *u, int32_t k)
{
	int F = m->factors;
	topk t;
	topk_init(&t, u->h, (size_t)k);
	for (int32_t i = 0; i < m->nitems; i++) {
		float s = dotf(u->x, m->item_factors + (size_t)i * F, F);
		if (!topk_admits(&t, (size_t)i, s))
			continue; /* cannot enter: skip the seed lookup */
		if (!cf__seeds_contain(u->sorted, u->ns, i))
			topk_push(&t, (size_t)i, s);
	}
	return topk_finish(&t);
}

int cf_als_recommend(const cf_als *m, const int32_t *seeds, size_t nseeds, int32_t k, int32_t *out_items,
                     float *out_scores, int32_t *n_out, void *scratch, seg_error *err)
{
	void *own = NULL;
	int go = cf__recommend_begin(seeds, nseeds, k, cf_als_scratch_size(m, nseeds, (size_t)k), &scratch, &own, n_out,
	                             err);
	if (go <= 0)
		return go;
	als_user u;
	int rc = als_user_fold(m, seeds, nseeds, k, scratch, &u, err);
	if (rc == 0)
		*n_out = cf__hits_out(u.h, als_scan(m, &u, k), out_items, out_scores);
	free(own);
	return rc;
}

int cf_als_score(const cf_als *m, const int32_t *seeds, size_t nseeds, const int32_t *items, size_t n,
                 float *out_scores, void *scratch, seg_error *err)
{
	for (size_t j = 0; j < n; j++)
		if (items[j] < 0 || items[j] >= m->nitems)
			return seg_error_set(err, SEG_EINVAL, "item %d is out of range [0, %d)", (int)items[j],
			                     (int)m->nitems);
	if (nseeds == 0) {
		/* The user of an empty set has zero factors (cf_als_fold_in). */
		for (size_t j = 0; j < n; j++)
			out_scores[j] = 0.0f;
		return 0;
	}
	void *own = NULL;
	int32_t n_out;
	/* k = 1 only to pass the check: the scratch has no room for results. */
	int go = cf__recommend_begin(seeds, nseeds, 1, cf_als_scratch_size(m, nseeds, 0), &scratch, &own, &n_out, err);
	if (go <= 0)
		return go;
	als_user u;
	int rc = als_user_fold(m, seeds, nseeds, 0, scratch, &u, err);
	/* dotf as als_scan calls it: the same floats as the full scan's. The
	 * items are scattered over the factors of every item: their rows are
	 * fetched a few items ahead (serving asks for thousands, issue 13). */
	size_t F = (size_t)m->factors, ahead = 4;
	for (size_t j = 0; rc == 0 && j < n; j++) {
		if (j + ahead < n) {
			const char *next = (const char *)(m->item_factors + (size_t)items[j + ahead] * F);
			for (size_t b = 0; b < F * sizeof(float); b += 64)
				__builtin_prefetch(next + b);
		}
		out_scores[j] = dotf(u.x, m->item_factors + (size_t)items[j] * F, m->factors);
	}
	free(own);
	return rc;
}

/* ======================================================================== */
/* Exact top k through an index (see cf_als_index in cf.h)                  */

/* Hits the index search returns beyond k at first, all scored again
 * exactly; more are asked for while they may not hold every item that
 * scores as high as the k-th (see cf_als_recommend_indexed). */
#define ALS_INDEX_EXTRA 8
/* delta, how far apart the float cosine of an item in the index and its
 * float score x . y_i divided by |x| M can be, in FLT_EPSILON per dimension
 * (F + 1): the knn dot product of unit vectors is within (F + 1) epsilon of
 * the exact one, the scan's within F epsilon of |x| M, the float |x| within
 * F epsilon of its value, and q and z_i within an epsilon or two of x / |x|
 * and y_i / M; together under 4 (F + 1) epsilon. */
#define ALS_INDEX_SLACK_EPS 4.0

struct cf_als_index {
	int32_t nitems;  /* I of the model it was built from */
	int32_t factors; /* F */
	double mx;       /* M, the largest item norm */
	float *z;        /* [I, F + 1] the unit items, borrowed by knn */
	knn_index *knn;
};

void cf_als_index_free(cf_als_index *ix)
{
	if (ix == NULL)
		return;
	knn_index_free(ix->knn);
	free(ix->z);
	free(ix);
}

int cf_als_index_create(const cf_als *m, cf_als_index **out, seg_error *err)
{
	*out = NULL;
	const size_t I = (size_t)m->nitems, F = (size_t)m->factors, D = F + 1;
	cf_als_index *ix = calloc(1, sizeof *ix);
	if (ix == NULL || (ix->z = malloc((I ? I : 1) * D * sizeof(float))) == NULL) {
		cf_als_index_free(ix);
		return seg_error_set(err, SEG_ENOMEM, "out of memory for the ALS index (%zu items)", I);
	}
	ix->nitems = m->nitems;
	ix->factors = m->factors;
	/* M^2: the largest squared item norm, in double. */
	double mx2 = 0;
	for (size_t i = 0; i < I; i++) {
		const float *y = m->item_factors + i * F;
		double s = 0;
		for (size_t f = 0; f < F; f++)
			s += (double)y[f] * y[f];
		if (!isfinite(s)) {
			cf_als_index_free(ix);
			return seg_error_set(err, SEG_EINVAL, "item %zu has a factor that is not finite", i);
		}
		mx2 = s > mx2 ? s : mx2;
	}
	ix->mx = sqrt(mx2);
	const double scale = mx2 > 0 ? 1.0 / ix->mx : 0;
	for (size_t i = 0; i < I; i++) {
		const float *y = m->item_factors + i * F;
		float *z = ix->z + i * D; /* [D] */
		double s = 0;
		for (size_t f = 0; f < F; f++) {
			z[f] = (float)(y[f] * scale);
			s += (double)z[f] * z[f];
		}
		/* the extra coordinate from the stored floats, so that the row is
		 * unit length as knn's borrowed rows must be */
		z[F] = (float)sqrt(s < 1 ? 1 - s : 0);
	}
	int rc = knn_index_create(&ix->knn, ix->z, I, D, KNN_BORROW | KNN_CLUSTER, err);
	if (rc < 0) {
		cf_als_index_free(ix);
		return rc;
	}
	*out = ix;
	return 0;
}

/* knn's filter: the seeds are never returned. */
static int als_not_seed(void *ctx, size_t row)
{
	const als_user *u = ctx;
	return !cf__seeds_contain(u->sorted, u->ns, (int32_t)row);
}

int cf_als_recommend_indexed(const cf_als *m, const cf_als_index *ix, const int32_t *seeds, size_t nseeds, int32_t k,
                             int32_t *out_items, float *out_scores, int32_t *n_out, void *scratch, seg_error *err)
{
	if (ix == NULL || k > CF_ALS_INDEX_MAX_K)
		return cf_als_recommend(m, seeds, nseeds, k, out_items, out_scores, n_out, scratch, err);
	if (ix->nitems != m->nitems || ix->factors != m->factors)
		return seg_error_set(err, SEG_EINVAL, "the ALS index is of another model (%d x %d, not %d x %d)",
		                     (int)ix->nitems, (int)ix->factors, (int)m->nitems, (int)m->factors);
	void *own = NULL;
	int go = cf__recommend_begin(seeds, nseeds, k, cf_als_scratch_size(m, nseeds, (size_t)k), &scratch, &own, n_out,
	                             err);
	if (go <= 0)
		return go;
	const int F = m->factors;
	const size_t D = (size_t)F + 1, I = (size_t)m->nitems;
	size_t kk = (size_t)k + ALS_INDEX_EXTRA;
	als_user u;
	knn_hit *hits = NULL; /* [kk] then the query [D] */
	float *q;
	int rc = als_user_fold(m, seeds, nseeds, k, scratch, &u, err);
	if (rc < 0)
		goto out;
	const double delta = ALS_INDEX_SLACK_EPS * (double)D * FLT_EPSILON;
	for (;;) {
		kk = kk < I ? kk : I;
		free(hits);
		hits = malloc(kk * sizeof(knn_hit) + D * sizeof(float));
		if (hits == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory for %zu ALS hits", kk);
			goto out;
		}
		q = (float *)(void *)(hits + kk); /* [D] (x / |x|, 0) */
		memcpy(q, u.x, (size_t)F * sizeof(float));
		q[F] = 0;
		double xn = knn_vec_normalize(q, D);
		if (xn == 0) {
			/* x = 0 scores every item 0: the full scan's order (by index) */
			*n_out = cf__hits_out(u.h, als_scan(m, &u, k), out_items, out_scores);
			goto out;
		}
		knn_filter flt = {.accept = als_not_seed, .ctx = &u};
		size_t nh = 0;
		if (knn_search(ix->knn, q, kk, &flt, hits, &nh) < 0) {
			rc = seg_error_set(err, SEG_EINVAL, "the ALS index search failed");
			goto out;
		}
		/* Every item left out has a cosine no higher than the last one
		 * returned, so a score x . y_i at most (last + 2 delta) |x| M as
		 * the full scan computes it. */
		double reach = nh > 0 ? ((double)hits[nh - 1].score + 2 * delta) * xn * ix->mx : -INFINITY;
		/* The scores as the full scan computes them, and its order. */
		for (size_t j = 0; j < nh; j++)
			hits[j].score = dotf(u.x, m->item_factors + hits[j].row * (size_t)F, F);
		size_t got = topk_select(hits, nh, (size_t)k);
		/* Done when every item was returned or none left out can reach the
		 * k-th score (ties included: they go to the lower index, which may
		 * be one left out); otherwise ask for more. */
		if (nh < kk || kk == I || got < (size_t)k || reach < (double)hits[got - 1].score) {
			*n_out = cf__hits_out(hits, got, out_items, out_scores);
			goto out;
		}
		kk = (size_t)k + 4 * (kk - (size_t)k);
	}
out:
	free(hits);
	free(own);
	return rc;
}

int cf_als_similar_items(const cf_als *m, int32_t item, int32_t k, int32_t *out_items, float *out_scores,
                         int32_t *n_out, seg_error *err)
{
	*n_out = 0;
	if (item < 0 || item >= m->nitems || k < 0)
		return seg_error_set(err, SEG_EINVAL, "item %d is out of range [0, %d) or k %d < 0", (int)item,
		                     (int)m->nitems, (int)k);
	int F = m->factors;
	const float *y = m->item_factors + (size_t)item * F;
	float ny = m->item_norms[item];
	topk_hit *h = malloc(((size_t)k + 1) * sizeof *h); /* [K] */
	if (h == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %d similar items", (int)k);
	topk t;
	topk_init(&t, h, (size_t)k);
	for (int32_t j = 0; j < m->nitems; j++) {
		if (j == item)
			continue;
		float d = ny * m->item_norms[j];
		float s = d > 0.0f ? dotf(y, m->item_factors + (size_t)j * F, F) / d : 0.0f;
		topk_push(&t, (size_t)j, s);
	}
	*n_out = cf__hits_out(h, topk_finish(&t), out_items, out_scores);
	free(h);
	return 0;
}
