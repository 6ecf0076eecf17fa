/* cf.c: collaborative filtering from playlists (see cf.h): CSR matrices,
 * item-to-item co-occurrence with top-M neighbours, and implicit ALS with a
 * warm-started conjugate-gradient solver. It does not map track ids to
 * indices, persist models, or blend with content similarity.
 *
 * Dimension legend: U playlists ("users"), I items (tracks), F factors,
 * M neighbours per item, K results, T worker threads. */
#include "models/cf.h"

#include "core/parallel.h"
#include "core/rng.h"
#include "core/topk.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------------------ */
/* Ranking: (item, score) pairs are core/topk's hits (row = item), in its
 * total order: a higher score first, equal scores by lower index. */

/* Copies the m hits h[m] (best first) to the caller's output arrays. */
static int32_t hits_out(const topk_hit *h, size_t m, int32_t *out_items, float *out_scores)
{
	for (size_t q = 0; q < m; q++) {
		out_items[q] = (int32_t)h[q].row;
		out_scores[q] = h[q].score;
	}
	return (int32_t)m;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Copies seeds into `out`, checks them against [0, nitems), sorts and
 * removes repeats; returns the number left, or SEG_EINVAL. */
static int64_t seeds_prepare(const int32_t *seeds, size_t nseeds, int32_t nitems, int32_t *out,
                             seg_error *err)
{
	for (size_t s = 0; s < nseeds; s++) {
		if (seeds[s] < 0 || seeds[s] >= nitems)
			return seg_error_set(err, SEG_EINVAL, "seed item %d is out of range [0, %d)",
			                     (int)seeds[s], (int)nitems);
		out[s] = seeds[s];
	}
	qsort(out, nseeds, sizeof *out, cmp_i32);
	size_t n = 0;
	for (size_t s = 0; s < nseeds; s++)
		if (n == 0 || out[n - 1] != out[s])
			out[n++] = out[s];
	return (int64_t)n;
}

static int seeds_contain(const int32_t *sorted, int64_t n, int32_t item)
{
	return n > 0 && bsearch(&item, sorted, (size_t)n, sizeof *sorted, cmp_i32) != NULL;
}

/* ======================================================================== */
/* CSR                                                                      */

typedef struct col_val {
	int32_t col;
	float val;
} col_val;

static int cmp_col_val(const void *a, const void *b)
{
	const col_val *x = a, *y = b;
	if (x->col != y->col)
		return (x->col > y->col) - (x->col < y->col);
	return (x->val > y->val) - (x->val < y->val); /* fixes the summation order */
}

void cf_csr_free(cf_csr *m)
{
	if (m == NULL)
		return;
	free(m->indptr);
	free(m->indices);
	free(m->data);
	memset(m, 0, sizeof *m);
}

int cf_csr_from_pairs(cf_csr *out, int32_t nrows, int32_t ncols, const int32_t *rows,
                      const int32_t *cols, const float *vals, size_t n, enum cf_dup dup,
                      seg_error *err)
{
	int rc = 0;
	col_val *tmp = NULL;   /* [n] entries grouped by row */
	int64_t *start = NULL; /* [nrows + 1] first entry of each row in tmp */
	memset(out, 0, sizeof *out);
	if (nrows < 0 || ncols < 0 || (n > 0 && (rows == NULL || cols == NULL)))
		return seg_error_set(err, SEG_EINVAL, "bad CSR dimensions or pair arrays");
	for (size_t t = 0; t < n; t++)
		if (rows[t] < 0 || rows[t] >= nrows || cols[t] < 0 || cols[t] >= ncols)
			return seg_error_set(err, SEG_EINVAL,
			                     "pair %zu (%d, %d) is outside a %d x %d matrix", t,
			                     (int)rows[t], (int)cols[t], (int)nrows, (int)ncols);

	start = calloc((size_t)nrows + 1, sizeof *start);
	tmp = malloc((n ? n : 1) * sizeof *tmp);
	out->indptr = calloc((size_t)nrows + 1, sizeof *out->indptr);
	if (start == NULL || tmp == NULL || out->indptr == NULL)
		goto nomem;

	/* Counting sort by row, then sort and merge each row. */
	for (size_t t = 0; t < n; t++)
		if (vals == NULL || vals[t] > 0)
			start[rows[t] + 1]++;
	for (int32_t r = 0; r < nrows; r++)
		start[r + 1] += start[r];
	int64_t *fill = out->indptr; /* borrowed as a cursor, rebuilt below */
	memcpy(fill, start, (size_t)nrows * sizeof *fill);
	for (size_t t = 0; t < n; t++) {
		float v = vals ? vals[t] : 1.0f;
		if (v > 0)
			tmp[fill[rows[t]]++] = (col_val){cols[t], v};
	}
	int64_t nnz = 0;
	out->indptr[0] = 0;
	for (int32_t r = 0; r < nrows; r++) {
		col_val *row = tmp + start[r];
		int64_t len = start[r + 1] - start[r];
		qsort(row, (size_t)len, sizeof *row, cmp_col_val);
		for (int64_t q = 0; q < len; q++) {
			if (q > 0 && row[q].col == tmp[nnz - 1].col) {
				if (dup == CF_DUP_SUM)
					tmp[nnz - 1].val += row[q].val;
				continue;
			}
			tmp[nnz++] = (col_val){row[q].col, dup == CF_DUP_SUM ? row[q].val : 1.0f};
		}
		out->indptr[r + 1] = nnz;
	}

	out->indices = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->indices);
	out->data = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->data);
	if (out->indices == NULL || out->data == NULL)
		goto nomem;
	for (int64_t q = 0; q < nnz; q++) {
		out->indices[q] = tmp[q].col;
		out->data[q] = tmp[q].val;
	}
	out->nrows = nrows;
	out->ncols = ncols;
	out->nnz = nnz;
	goto out;

nomem:
	cf_csr_free(out);
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory building a %d x %d CSR matrix",
	                   (int)nrows, (int)ncols);
out:
	free(tmp);
	free(start);
	return rc;
}

int cf_csr_transpose(const cf_csr *a, cf_csr *out, seg_error *err)
{
	memset(out, 0, sizeof *out);
	int64_t nnz = a->nnz;
	out->indptr = calloc((size_t)a->ncols + 1, sizeof *out->indptr);
	out->indices = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->indices);
	out->data = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->data);
	int64_t *fill = malloc(((size_t)a->ncols + 1) * sizeof *fill);
	if (out->indptr == NULL || out->indices == NULL || out->data == NULL || fill == NULL) {
		free(fill);
		cf_csr_free(out);
		return seg_error_set(err, SEG_ENOMEM, "out of memory transposing a CSR matrix");
	}
	for (int64_t q = 0; q < nnz; q++)
		out->indptr[a->indices[q] + 1]++;
	for (int32_t c = 0; c < a->ncols; c++)
		out->indptr[c + 1] += out->indptr[c];
	memcpy(fill, out->indptr, ((size_t)a->ncols + 1) * sizeof *fill);
	/* Visiting rows in order leaves each new row's columns ascending. */
	for (int32_t r = 0; r < a->nrows; r++)
		for (int64_t q = a->indptr[r]; q < a->indptr[r + 1]; q++) {
			int64_t at = fill[a->indices[q]]++;
			out->indices[at] = r;
			out->data[at] = a->data[q];
		}
	free(fill);
	out->nrows = a->ncols;
	out->ncols = a->nrows;
	out->nnz = nnz;
	return 0;
}

static int csr_check_pair(const cf_csr *ui, const cf_csr *iu, seg_error *err)
{
	if (ui == NULL || iu == NULL || ui->nrows != iu->ncols || ui->ncols != iu->nrows ||
	    ui->nnz != iu->nnz)
		return seg_error_set(err, SEG_EINVAL,
		                     "the item x playlist matrix is not the transpose of the "
		                     "playlist x item matrix");
	return 0;
}

/* ======================================================================== */
/* Item-to-item co-occurrence                                               */

void cf_cooc_opts_default(cf_cooc_opts *o)
{
	*o = (cf_cooc_opts){.weighting = CF_WEIGHT_COSINE, .k1 = 100.0f, .b = 0.8f,
	                    .shrink = 0.0f, .topm = 100, .threads = 0};
}

void cf_cooc_free(cf_cooc *m)
{
	if (m == NULL)
		return;
	free(m->indptr);
	free(m->nbr);
	free(m->sim);
	free(m);
}

/* Accumulator of one item j; the stamp (the item i being computed when j
 * was last touched) sits beside the sum so that one cache miss serves both. */
typedef struct cooc_slot {
	int32_t stamp;
	float dot;
} cooc_slot;

/* Shared state of one build. Entry weights are kept in both orientations so
 * that the inner loops read them contiguously. */
typedef struct cooc_build {
	const cf_csr *ui, *iu;
	const float *w_ui;   /* [nnz] weight of each entry of ui */
	const float *w_iu;   /* [nnz] weight of each entry of iu */
	const float *norm;   /* [I] |w_i| */
	float shrink;
	int32_t m;           /* M */
	int64_t chunk;       /* items per chunk */
	/* per thread [T]: */
	cooc_slot **acc;     /* [T][I] dot products w_i . w_j being accumulated */
	int32_t **touched;   /* [T][I] the j touched for the current item */
	topk_hit **cands;    /* [T][I] candidates of the current item */
	int32_t **stage_i;   /* [T][chunk * M] results of the current chunk */
	float **stage_s;     /* [T][chunk * M] */
	/* results: */
	int32_t *count;      /* [I] neighbours kept per item */
	int32_t **chunk_i;   /* [chunks] each chunk's neighbours, items in order */
	float **chunk_s;     /* [chunks] */
} cooc_build;

static void cooc_chunk(void *ctx, int tid, int64_t chunk, int64_t begin, int64_t end)
{
	cooc_build *b = ctx;
	const cf_csr *ui = b->ui, *iu = b->iu;
	cooc_slot *acc = b->acc[tid];
	int32_t *touched = b->touched[tid];
	int64_t staged = 0;
	for (int64_t i = begin; i < end; i++) {
		int32_t nt = 0;
		for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++) {
			int32_t u = iu->indices[p];
			float wui = b->w_iu[p];
			for (int64_t q = ui->indptr[u]; q < ui->indptr[u + 1]; q++) {
				int32_t j = ui->indices[q];
				if (acc[j].stamp != (int32_t)i) {
					acc[j].stamp = (int32_t)i;
					acc[j].dot = 0.0f;
					touched[nt++] = j;
				}
				acc[j].dot += wui * b->w_ui[q];
			}
		}
		topk_hit *c = b->cands[tid];
		int64_t nc = 0;
		float ni = b->norm[i];
		for (int32_t t = 0; t < nt; t++) {
			int32_t j = touched[t];
			if (j == (int32_t)i || ni <= 0.0f || b->norm[j] <= 0.0f)
				continue;
			float s = acc[j].dot / (ni * b->norm[j] + b->shrink);
			if (s > 0.0f)
				c[nc++] = (topk_hit){(size_t)j, s};
		}
		nc = (int64_t)topk_select(c, (size_t)nc, (size_t)b->m);
		for (int64_t q = 0; q < nc; q++) {
			b->stage_i[tid][staged + q] = (int32_t)c[q].row;
			b->stage_s[tid][staged + q] = c[q].score;
		}
		staged += nc;
		b->count[i] = (int32_t)nc;
	}
	int32_t *ci = malloc((staged ? (size_t)staged : 1) * sizeof *ci);
	float *cs = malloc((staged ? (size_t)staged : 1) * sizeof *cs);
	if (ci == NULL || cs == NULL) {
		free(ci);
		free(cs);
		return; /* the caller sees the missing chunk */
	}
	memcpy(ci, b->stage_i[tid], (size_t)staged * sizeof *ci);
	memcpy(cs, b->stage_s[tid], (size_t)staged * sizeof *cs);
	b->chunk_i[chunk] = ci;
	b->chunk_s[chunk] = cs;
}

/* Entry weights for the chosen weighting, in ui order (w_ui) and iu order
 * (w_iu), and the item norms. */
static void cooc_weights(const cf_csr *ui, const cf_csr *iu, const cf_cooc_opts *o, float *w_ui,
                         float *w_iu, float *norm, double *idf /* [U] */,
                         double *lnorm /* [I] */)
{
	int32_t U = ui->nrows, I = ui->ncols;
	if (o->weighting == CF_WEIGHT_BM25) {
		double total = 0.0;
		for (int32_t i = 0; i < I; i++) {
			double s = 0.0;
			for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++)
				s += iu->data[p];
			lnorm[i] = s;
			total += s;
		}
		double mean = I > 0 ? total / I : 0.0;
		for (int32_t i = 0; i < I; i++)
			lnorm[i] = (1.0 - o->b) + (mean > 0 ? o->b * lnorm[i] / mean : 0.0);
		for (int32_t u = 0; u < U; u++)
			idf[u] = log((double)I) - log1p((double)(ui->indptr[u + 1] - ui->indptr[u]));
		for (int32_t u = 0; u < U; u++)
			for (int64_t q = ui->indptr[u]; q < ui->indptr[u + 1]; q++) {
				double r = ui->data[q];
				w_ui[q] = (float)(r * (o->k1 + 1.0) / (o->k1 * lnorm[ui->indices[q]] + r) *
				                  idf[u]);
			}
		for (int32_t i = 0; i < I; i++)
			for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++) {
				double r = iu->data[p];
				w_iu[p] = (float)(r * (o->k1 + 1.0) / (o->k1 * lnorm[i] + r) *
				                  idf[iu->indices[p]]);
			}
	} else {
		memcpy(w_ui, ui->data, (size_t)ui->nnz * sizeof *w_ui);
		memcpy(w_iu, iu->data, (size_t)iu->nnz * sizeof *w_iu);
	}
	for (int32_t i = 0; i < I; i++) {
		double s = 0.0;
		for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++)
			s += (double)w_iu[p] * w_iu[p];
		norm[i] = (float)sqrt(s);
	}
}

int cf_cooc_build(const cf_csr *ui, const cf_csr *iu, const cf_cooc_opts *opts, cf_cooc **out,
                  seg_error *err)
{
	cf_cooc_opts o;
	if (opts)
		o = *opts;
	else
		cf_cooc_opts_default(&o);
	*out = NULL;
	int rc = csr_check_pair(ui, iu, err);
	if (rc < 0)
		return rc;
	if (o.topm < 1 || o.shrink < 0 || !(o.k1 >= 0) || !(o.b >= 0 && o.b <= 1) ||
	    (o.weighting != CF_WEIGHT_COSINE && o.weighting != CF_WEIGHT_BM25))
		return seg_error_set(err, SEG_EINVAL,
		                     "bad co-occurrence options (topm %d, shrink %g, K1 %g, B %g)",
		                     (int)o.topm, o.shrink, o.k1, o.b);

	int32_t U = ui->nrows, I = ui->ncols, M = o.topm;
	int T = parallel_workers(o.threads);
	cooc_build b = {.ui = ui, .iu = iu, .shrink = o.shrink, .m = M, .chunk = 32};
	int64_t nchunks = (I + b.chunk - 1) / b.chunk;
	float *w_ui = malloc(((size_t)ui->nnz + 1) * sizeof *w_ui);
	float *w_iu = malloc(((size_t)iu->nnz + 1) * sizeof *w_iu);
	float *norm = malloc(((size_t)I + 1) * sizeof *norm);
	double *idf = malloc(((size_t)U + 1) * sizeof *idf);
	double *lnorm = malloc(((size_t)I + 1) * sizeof *lnorm);
	cf_cooc *m = calloc(1, sizeof *m);
	b.acc = calloc((size_t)T, sizeof *b.acc);
	b.touched = calloc((size_t)T, sizeof *b.touched);
	b.cands = calloc((size_t)T, sizeof *b.cands);
	b.stage_i = calloc((size_t)T, sizeof *b.stage_i);
	b.stage_s = calloc((size_t)T, sizeof *b.stage_s);
	b.count = calloc((size_t)I + 1, sizeof *b.count);
	b.chunk_i = calloc((size_t)nchunks + 1, sizeof *b.chunk_i);
	b.chunk_s = calloc((size_t)nchunks + 1, sizeof *b.chunk_s);
	if (!w_ui || !w_iu || !norm || !idf || !lnorm || !m || !b.acc || !b.touched ||
	    !b.cands || !b.stage_i || !b.stage_s || !b.count || !b.chunk_i ||
	    !b.chunk_s)
		goto nomem;
	for (int t = 0; t < T; t++) {
		b.acc[t] = malloc(((size_t)I + 1) * sizeof **b.acc);
		b.touched[t] = malloc(((size_t)I + 1) * sizeof **b.touched);
		b.cands[t] = malloc(((size_t)I + 1) * sizeof **b.cands);
		b.stage_i[t] = malloc((size_t)b.chunk * M * sizeof **b.stage_i);
		b.stage_s[t] = malloc((size_t)b.chunk * M * sizeof **b.stage_s);
		if (!b.acc[t] || !b.touched[t] || !b.cands[t] ||
		    !b.stage_i[t] || !b.stage_s[t])
			goto nomem;
		for (int32_t i = 0; i < I; i++)
			b.acc[t][i].stamp = -1;
	}
	cooc_weights(ui, iu, &o, w_ui, w_iu, norm, idf, lnorm);
	b.w_ui = w_ui;
	b.w_iu = w_iu;
	b.norm = norm;

	parallel_for(T, I, b.chunk, cooc_chunk, &b);
	for (int64_t c = 0; c < nchunks; c++)
		if (b.chunk_i[c] == NULL)
			goto nomem;

	/* Concatenate the chunks in item order. */
	m->nitems = I;
	m->topm = M;
	m->indptr = malloc(((size_t)I + 1) * sizeof *m->indptr);
	if (m->indptr == NULL)
		goto nomem;
	m->indptr[0] = 0;
	for (int32_t i = 0; i < I; i++)
		m->indptr[i + 1] = m->indptr[i] + b.count[i];
	size_t total = (size_t)m->indptr[I];
	m->nbr = malloc((total ? total : 1) * sizeof *m->nbr);
	m->sim = malloc((total ? total : 1) * sizeof *m->sim);
	if (m->nbr == NULL || m->sim == NULL)
		goto nomem;
	for (int64_t c = 0; c < nchunks; c++) {
		int64_t first = c * b.chunk, last = first + b.chunk < I ? first + b.chunk : I;
		size_t len = (size_t)(m->indptr[last] - m->indptr[first]);
		memcpy(m->nbr + m->indptr[first], b.chunk_i[c], len * sizeof *m->nbr);
		memcpy(m->sim + m->indptr[first], b.chunk_s[c], len * sizeof *m->sim);
	}
	*out = m;
	m = NULL;
	goto out;

nomem:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory building co-occurrence of %d items",
	                   (int)I);
out:
	cf_cooc_free(m);
	for (int t = 0; t < T; t++) {
		if (b.acc) free(b.acc[t]);
		if (b.touched) free(b.touched[t]);
		if (b.cands) free(b.cands[t]);
		if (b.stage_i) free(b.stage_i[t]);
		if (b.stage_s) free(b.stage_s[t]);
	}
	for (int64_t c = 0; b.chunk_i && c < nchunks; c++) {
		free(b.chunk_i[c]);
		free(b.chunk_s[c]);
	}
	free(b.acc); free(b.touched); free(b.cands);
	free(b.stage_i); free(b.stage_s); free(b.count); free(b.chunk_i); free(b.chunk_s);
	free(w_ui); free(w_iu); free(norm); free(idf); free(lnorm);
	return rc;
}

/* By item, then score (which fixes the summation order). */
static int cmp_hit_item(const void *a, const void *b)
{
	const topk_hit *x = a, *y = b;
	if (x->row != y->row)
		return (x->row > y->row) - (x->row < y->row);
	return (x->score > y->score) - (x->score < y->score);
}

/* Scratch layout: [nseeds] int32 sorted seeds, padded to 8 bytes, then
 * [nseeds * M] candidates. */
static size_t cooc_seed_bytes(size_t nseeds)
{
	return (nseeds * sizeof(int32_t) + 7) / 8 * 8;
}

size_t cf_cooc_scratch_size(const cf_cooc *m, size_t nseeds)
{
	return cooc_seed_bytes(nseeds) + nseeds * (size_t)m->topm * sizeof(topk_hit) + 8;
}

/* The start of cf_cooc_recommend and cf_als_recommend: checks the arguments
 * and points *scratch at the caller's buffer or at a new one of `size` bytes
 * (then also *own, for the caller to free). Returns 1 to go on, 0 when there
 * is nothing to recommend (no seeds, k = 0), or an error. */
static int recommend_begin(const int32_t *seeds, size_t nseeds, int32_t k, size_t size, void **scratch,
                           void **own, int32_t *n_out, seg_error *err)
{
	*n_out = 0;
	*own = NULL;
	if (k < 0 || (nseeds > 0 && seeds == NULL))
		return seg_error_set(err, SEG_EINVAL, "bad recommendation arguments (k %d)", (int)k);
	if (nseeds == 0 || k == 0)
		return 0;
	if (*scratch == NULL) {
		*own = *scratch = malloc(size);
		if (*own == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory scoring %zu seeds", nseeds);
	}
	return 1;
}

int cf_cooc_recommend(const cf_cooc *m, const int32_t *seeds, size_t nseeds, int32_t k,
                      int32_t *out_items, float *out_scores, int32_t *n_out, void *scratch,
                      seg_error *err)
{
	void *own = NULL;
	int go = recommend_begin(seeds, nseeds, k, cf_cooc_scratch_size(m, nseeds), &scratch, &own, n_out, err);
	if (go <= 0)
		return go;
	int32_t *sorted = scratch;
	topk_hit *c = (topk_hit *)(void *)((char *)scratch + cooc_seed_bytes(nseeds)); /* [nseeds * M] */
	int64_t ns = seeds_prepare(seeds, nseeds, m->nitems, sorted, err);
	if (ns < 0) {
		free(own);
		return (int)ns;
	}
	size_t nc = 0;
	for (int64_t s = 0; s < ns; s++)
		for (int64_t q = m->indptr[sorted[s]]; q < m->indptr[sorted[s] + 1]; q++)
			if (!seeds_contain(sorted, ns, m->nbr[q]))
				c[nc++] = (topk_hit){(size_t)m->nbr[q], m->sim[q]};
	/* Each item's similarities summed, in place (the sum of item i lands at
	 * or before its first candidate), then the best k of the sums. */
	qsort(c, nc, sizeof *c, cmp_hit_item);
	size_t nd = 0;
	for (size_t q = 0; q < nc;) {
		size_t item = c[q].row;
		float sum = 0.0f;
		for (; q < nc && c[q].row == item; q++)
			sum += c[q].score;
		c[nd++] = (topk_hit){item, sum};
	}
	size_t got = topk_select(c, nd, (size_t)k);
	*n_out = hits_out(c, got, out_items, out_scores);
	free(own);
	return 0;
}

/* ======================================================================== */
/* Implicit ALS                                                             */

void cf_als_opts_default(cf_als_opts *o)
{
	*o = (cf_als_opts){.factors = 64, .iterations = 15, .alpha = 40.0f, .lambda = 0.1f,
	                   .cg_steps = 3, .seed = 42, .threads = 0};
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
	if (o->factors < 1 || o->factors > 4096 || o->iterations < 0 || !(o->alpha >= 0) ||
	    !(o->lambda > 0) || o->cg_steps < 0)
		return seg_error_set(err, SEG_EINVAL,
		                     "bad ALS options (factors %d, iterations %d, alpha %g, lambda %g, "
		                     "cg_steps %d)",
		                     (int)o->factors, o->iterations, o->alpha, o->lambda, o->cg_steps);
	return 0;
}

int cf_als_create(cf_als **out, int32_t nusers, int32_t nitems, const cf_als_opts *opts,
                  seg_error *err)
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
		return seg_error_set(err, SEG_EINVAL, "bad ALS dimensions %d x %d", (int)nusers,
		                     (int)nitems);
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
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %d x %d factors of %d",
		                     (int)nusers, (int)nitems, F);
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
	float *r, *p, *ap;  /* [B, F] CG residuals, directions, A p of a block */
	float *rs, *rs0;    /* [B] |r|^2 now and at the start */
	double *A, *b;      /* [F, F], [F] the exact system (cg_steps == 0) */
} als_scratch;

/* One half-iteration: solve the rows of `R` (rows x other) for `X` [rows, F]
 * given the fixed factors `Y` [other, F] and A0 = Y^T Y + lambda I. */
typedef struct als_half {
	const cf_csr *R;
	const float *Y;   /* [R->ncols, F] fixed side */
	float *X;         /* [R->nrows, F] side being solved */
	const float *A0;  /* [F, F] Y^T Y + lambda I */
	float alpha;
	int F;
	int cg_steps;
	als_scratch *ts;  /* [T] */
	atomic_int *bad;  /* set when an exact solve fails */
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
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, F, F, -1.0f, X, F, h->A0, F,
	            0.0f, r, F);
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
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, F, F, 1.0f, p, F, h->A0, F,
		            0.0f, ap, F);
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
 * means 1 each. Returns LAPACK's info (0 on success). */
static int als_solve_exact(const float *G, float lambda, const float *Y, const int32_t *idx,
                           const float *val, int64_t n, float alpha, int F, double *A, double *b,
                           float *x)
{
	for (int q = 0; q < F * F; q++)
		A[q] = G[q];
	for (int f = 0; f < F; f++)
		A[(size_t)f * F + f] += lambda;
	memset(b, 0, (size_t)F * sizeof *b);
	for (int64_t q = 0; q < n; q++) {
		const float *y = Y + (size_t)idx[q] * F;
		double c = 1.0 + (double)alpha * (val ? val[q] : 1.0f);
		for (int r = 0; r < F; r++) {
			b[r] += c * y[r];
			for (int cc = 0; cc < F; cc++)
				A[(size_t)r * F + cc] += (c - 1.0) * y[r] * y[cc];
		}
	}
	if (F == 0)
		return 0;
	int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', F, 1, A, F, b, 1);
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
		if (als_solve_exact(h->A0, 0.0f, h->Y, R->indices + b, R->data + b, n, h->alpha, h->F,
		                    h->ts[tid].A, h->ts[tid].b, h->X + (size_t)u * h->F) != 0)
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
	float **tmp;        /* [T][B, F] X G for a block of rows */
	double *part;       /* [chunks] */
} als_loss_job;

static void als_loss_chunk(void *ctx, int tid, int64_t chunk, int64_t begin, int64_t end)
{
	als_loss_job *j = ctx;
	int F = j->F;
	double sum = 0.0;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(end - begin), F, F, 1.0f,
	            j->X + (size_t)begin * F, F, j->G, F, 0.0f, j->tmp[tid], F);
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

static int als_loss_run(const cf_als *m, const cf_csr *ui, const float *G, double *loss,
                        seg_error *err)
{
	int F = m->factors, T = parallel_workers(m->opts.threads);
	const int64_t chunk = als_block_rows(F);
	int64_t nchunks = (m->nusers + chunk - 1) / chunk;
	als_loss_job j = {.R = ui, .X = m->user_factors, .Y = m->item_factors, .G = G,
	                  .alpha = m->opts.alpha, .F = F};
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
static int als_half_run(cf_als *m, const cf_csr *R, const float *Y, int32_t ny, float *X,
                        float *A0, als_scratch *ts, int T, seg_error *err)
{
	int F = m->factors;
	gram(Y, ny, F, A0);
	for (int f = 0; f < F; f++)
		A0[(size_t)f * F + f] += m->opts.lambda;
	atomic_int bad;
	atomic_init(&bad, 0);
	als_half h = {.R = R, .Y = Y, .X = X, .A0 = A0, .alpha = m->opts.alpha, .F = F,
	              .cg_steps = m->opts.cg_steps, .ts = ts, .bad = &bad};
	parallel_for(T, R->nrows, als_block_rows(F), als_half_chunk, &h);
	if (atomic_load(&bad))
		return seg_error_set(err, SEG_EINVAL, "an ALS system was not positive definite");
	return 0;
}

int cf_als_iterate(cf_als *m, const cf_csr *ui, const cf_csr *iu, double *loss, seg_error *err)
{
	int rc = csr_check_pair(ui, iu, err);
	if (rc < 0)
		return rc;
	if (ui->nrows != m->nusers || ui->ncols != m->nitems)
		return seg_error_set(err, SEG_EINVAL, "a %d x %d matrix does not match a %d x %d model",
		                     (int)ui->nrows, (int)ui->ncols, (int)m->nusers, (int)m->nitems);
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
		if (!ts[t].r || !ts[t].p || !ts[t].ap || !ts[t].rs || !ts[t].rs0 ||
		    (exact && (!ts[t].A || !ts[t].b)))
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

int cf_als_fit(const cf_csr *ui, const cf_csr *iu, const cf_als_opts *opts, cf_als **out,
               double *losses, seg_error *err)
{
	cf_als_opts o;
	if (opts)
		o = *opts;
	else
		cf_als_opts_default(&o);
	*out = NULL;
	int rc = csr_check_pair(ui, iu, err);
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
	return (F * F + F) * sizeof(double) + k * sizeof(topk_hit) + F * sizeof(float) +
	       nseeds * sizeof(int32_t) + 8;
}

static int als_fold_in(const cf_als *m, const int32_t *items, const float *vals, size_t n,
                       float *x, double *A, double *b, seg_error *err)
{
	int F = m->factors;
	for (size_t t = 0; t < n; t++)
		if (items[t] < 0 || items[t] >= m->nitems)
			return seg_error_set(err, SEG_EINVAL, "item %d is out of range [0, %d)",
			                     (int)items[t], (int)m->nitems);
	if (n == 0) {
		memset(x, 0, (size_t)F * sizeof *x);
		return 0;
	}
	if (als_solve_exact(m->yty, m->opts.lambda, m->item_factors, items, vals, (int64_t)n,
	                    m->opts.alpha, F, A, b, x) != 0)
		return seg_error_set(err, SEG_EINVAL, "fold-in system is not positive definite");
	return 0;
}

int cf_als_fold_in(const cf_als *m, const int32_t *items, const float *vals, size_t n,
                   float *x_out, void *scratch, seg_error *err)
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

int cf_als_recommend(const cf_als *m, const int32_t *seeds, size_t nseeds, int32_t k,
                     int32_t *out_items, float *out_scores, int32_t *n_out, void *scratch,
                     seg_error *err)
{
	void *own = NULL;
	int go = recommend_begin(seeds, nseeds, k, cf_als_scratch_size(m, nseeds, (size_t)k), &scratch, &own,
	                         n_out, err);
	if (go <= 0)
		return go;
	int F = m->factors;
	double *A = scratch, *b = A + (size_t)F * F;    /* [F, F], [F] */
	topk_hit *h = (topk_hit *)(void *)(b + F);      /* [K] */
	float *x = (float *)(h + k);                    /* [F] */
	int32_t *sorted = (int32_t *)(x + F);           /* [nseeds] */
	/* The seeds are a set: fold in each distinct one once, with r = 1. */
	int64_t ns = seeds_prepare(seeds, nseeds, m->nitems, sorted, err);
	int rc = ns < 0 ? (int)ns : als_fold_in(m, sorted, NULL, (size_t)ns, x, A, b, err);
	if (rc < 0) {
		free(own);
		return rc;
	}
	topk t;
	topk_init(&t, h, (size_t)k);
	for (int32_t i = 0; i < m->nitems; i++) {
		float s = dotf(x, m->item_factors + (size_t)i * F, F);
		if (!topk_admits(&t, (size_t)i, s))
			continue; /* cannot enter: skip the seed lookup */
		if (!seeds_contain(sorted, ns, i))
			topk_push(&t, (size_t)i, s);
	}
	*n_out = hits_out(h, topk_finish(&t), out_items, out_scores);
	free(own);
	return 0;
}

int cf_als_similar_items(const cf_als *m, int32_t item, int32_t k, int32_t *out_items,
                         float *out_scores, int32_t *n_out, seg_error *err)
{
	*n_out = 0;
	if (item < 0 || item >= m->nitems || k < 0)
		return seg_error_set(err, SEG_EINVAL, "item %d is out of range [0, %d) or k %d < 0",
		                     (int)item, (int)m->nitems, (int)k);
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
	*n_out = hits_out(h, topk_finish(&t), out_items, out_scores);
	free(h);
	return 0;
}
