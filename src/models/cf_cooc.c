/* cf_cooc.c: item-to-item co-occurrence with top-M neighbours (see cf.h):
 * building the model over core/parallel's workers, and recommending from
 * a seed set.
 *
 * Dimension legend: U playlists ("users"), I items (tracks), M neighbours
 * per item, K results, T worker threads. */
#include "models/cf_internal.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"

/* ======================================================================== */
/* Item-to-item co-occurrence                                               */

void cf_cooc_opts_default(cf_cooc_opts *o)
{
	*o = (cf_cooc_opts){
		.weighting = CF_WEIGHT_COSINE, .k1 = 100.0f, .b = 0.8f, .shrink = 0.0f, .topm = 100, .threads = 0};
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
	const float *w_ui; /* [nnz] weight of each entry of ui */
	const float *w_iu; /* [nnz] weight of each entry of iu */
	const float *norm; /* [I] |w_i| */
	float shrink;
	int32_t m;     /* M */
	int64_t chunk; /* items per chunk */
	/* per thread [T]: */
	cooc_slot **acc;   /* [T][I] dot products w_i . w_j being accumulated */
	int32_t **touched; /* [T][I] the j touched for the current item */
	topk_hit **cands;  /* [T][I] candidates of the current item */
	int32_t **stage_i; /* [T][chunk * M] results of the current chunk */
	float **stage_s;   /* [T][chunk * M] */
	/* results: */
	int32_t *count;    /* [I] neighbours kept per item */
	int32_t **chunk_i; /* [chunks] each chunk's neighbours, items in order */
	float **chunk_s;   /* [chunks] */
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
static void cooc_weights(const cf_csr *ui, const cf_csr *iu, const cf_cooc_opts *o, float *w_ui, float *w_iu,
                         float *norm, double *idf /* [U] */, double *lnorm /* [I] */)
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
				w_ui[q] = (float)(r * (o->k1 + 1.0) / (o->k1 * lnorm[ui->indices[q]] + r) * idf[u]);
			}
		for (int32_t i = 0; i < I; i++)
			for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++) {
				double r = iu->data[p];
				w_iu[p] = (float)(r * (o->k1 + 1.0) / (o->k1 * lnorm[i] + r) * idf[iu->indices[p]]);
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

/* The chunks are small blocks from malloc's heaps, which keeps what is
 * freed for later allocations: without giving it back, the copy's pages
 * and the freed chunks' were both resident, and the peak was the lists
 * twice. glibc's malloc_trim returns the free pages anywhere in its heaps
 * (every TRIM_BYTES copied here); elsewhere this is a no-op. */
#define TRIM_BYTES ((size_t)64 << 20)

static void memory_give_back(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

int cf_cooc_assemble(cf_cooc *m, int32_t I, int32_t topm, const int32_t *count, int64_t chunk, int32_t **chunk_i,
                     float **chunk_s)
{
	m->nitems = I;
	m->topm = topm;
	m->indptr = malloc(((size_t)I + 1) * sizeof *m->indptr);
	if (m->indptr == NULL)
		return SEG_ENOMEM;
	m->indptr[0] = 0;
	for (int32_t i = 0; i < I; i++)
		m->indptr[i + 1] = m->indptr[i] + count[i];
	size_t total = (size_t)m->indptr[I];
	m->nbr = malloc((total ? total : 1) * sizeof *m->nbr);
	m->sim = malloc((total ? total : 1) * sizeof *m->sim);
	if (m->nbr == NULL || m->sim == NULL)
		return SEG_ENOMEM;
	size_t freed = 0;
	for (int64_t first = 0, c = 0; first < I; first += chunk, c++) {
		int64_t last = first + chunk < I ? first + chunk : I;
		size_t len = (size_t)(m->indptr[last] - m->indptr[first]);
		memcpy(m->nbr + m->indptr[first], chunk_i[c], len * sizeof *m->nbr);
		memcpy(m->sim + m->indptr[first], chunk_s[c], len * sizeof *m->sim);
		free(chunk_i[c]);
		free(chunk_s[c]);
		chunk_i[c] = NULL;
		chunk_s[c] = NULL;
		freed += len * (sizeof *m->nbr + sizeof *m->sim);
		if (freed >= TRIM_BYTES) {
			memory_give_back();
			freed = 0;
		}
	}
	return 0;
}

int cf_cooc_build(const cf_csr *ui, const cf_csr *iu, const cf_cooc_opts *opts, cf_cooc **out, seg_error *err)
{
	cf_cooc_opts o;
	if (opts)
		o = *opts;
	else
		cf_cooc_opts_default(&o);
	*out = NULL;
	int rc = cf__csr_check_pair(ui, iu, err);
	if (rc < 0)
		return rc;
	if (o.topm < 1 || o.shrink < 0 || !(o.k1 >= 0) || !(o.b >= 0 && o.b <= 1) ||
	    (o.weighting != CF_WEIGHT_COSINE && o.weighting != CF_WEIGHT_BM25))
		return seg_error_set(err, SEG_EINVAL, "bad co-occurrence options (topm %d, shrink %g, K1 %g, B %g)",
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
	if (!w_ui || !w_iu || !norm || !idf || !lnorm || !m || !b.acc || !b.touched || !b.cands || !b.stage_i ||
	    !b.stage_s || !b.count || !b.chunk_i || !b.chunk_s)
		goto nomem;
	for (int t = 0; t < T; t++) {
		b.acc[t] = malloc(((size_t)I + 1) * sizeof **b.acc);
		b.touched[t] = malloc(((size_t)I + 1) * sizeof **b.touched);
		b.cands[t] = malloc(((size_t)I + 1) * sizeof **b.cands);
		b.stage_i[t] = malloc((size_t)b.chunk * M * sizeof **b.stage_i);
		b.stage_s[t] = malloc((size_t)b.chunk * M * sizeof **b.stage_s);
		if (!b.acc[t] || !b.touched[t] || !b.cands[t] || !b.stage_i[t] || !b.stage_s[t])
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

	if (cf_cooc_assemble(m, I, M, b.count, b.chunk, b.chunk_i, b.chunk_s) < 0)
		goto nomem;
	*out = m;
	m = NULL;
	goto out;

nomem:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory building co-occurrence of %d items", (int)I);
out:
	cf_cooc_free(m);
	for (int t = 0; t < T; t++) {
		if (b.acc)
			free(b.acc[t]);
		if (b.touched)
			free(b.touched[t]);
		if (b.cands)
			free(b.cands[t]);
		if (b.stage_i)
			free(b.stage_i[t]);
		if (b.stage_s)
			free(b.stage_s[t]);
	}
	for (int64_t c = 0; b.chunk_i && c < nchunks; c++) {
		free(b.chunk_i[c]);
		free(b.chunk_s[c]);
	}
	free(b.acc);
	free(b.touched);
	free(b.cands);
	free(b.stage_i);
	free(b.stage_s);
	free(b.count);
	free(b.chunk_i);
	free(b.chunk_s);
	free(w_ui);
	free(w_iu);
	free(norm);
	free(idf);
	free(lnorm);
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
static size_t cooc_seed_bytes(size_t nseeds) { return (nseeds * sizeof(int32_t) + 7) / 8 * 8; }

size_t cf_cooc_scratch_size(const cf_cooc *m, size_t nseeds)
{
	return cooc_seed_bytes(nseeds) + nseeds * (size_t)m->topm * sizeof(topk_hit) + 8;
}

int cf_cooc_recommend(const cf_cooc *m, const int32_t *seeds, size_t nseeds, int32_t k, int32_t *out_items,
                      float *out_scores, int32_t *n_out, void *scratch, seg_error *err)
{
	void *own = NULL;
	int go = cf__recommend_begin(seeds, nseeds, k, cf_cooc_scratch_size(m, nseeds), &scratch, &own, n_out, err);
	if (go <= 0)
		return go;
	int32_t *sorted = scratch;
	topk_hit *c = (topk_hit *)(void *)((char *)scratch + cooc_seed_bytes(nseeds)); /* [nseeds * M] */
	int64_t ns = cf__seeds_prepare(seeds, nseeds, m->nitems, sorted, err);
	if (ns < 0) {
		free(own);
		return (int)ns;
	}
	size_t nc = 0;
	for (int64_t s = 0; s < ns; s++)
		for (int64_t q = m->indptr[sorted[s]]; q < m->indptr[sorted[s] + 1]; q++)
			if (!cf__seeds_contain(sorted, ns, m->nbr[q]))
				c[nc++] = (topk_hit){(size_t)m->nbr[q], m->sim[q]};
	/* One seed: its list is already best first, ties to the lower index
	 * (see cf_cooc), and each sum is one similarity: the first k are the
	 * result, without the sort below (a sixth of a served request). */
	if (ns == 1) {
		*n_out = cf__hits_out(c, nc < (size_t)k ? nc : (size_t)k, out_items, out_scores);
		free(own);
		return 0;
	}
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
	*n_out = cf__hits_out(c, got, out_items, out_scores);
	free(own);
	return 0;
}
