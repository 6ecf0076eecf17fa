/* rp3.c: RP3beta (see rp3.h): the two-step walk accumulated item by item
 * over core/parallel's workers, each row cut to its K best.
 *
 * Legend: U playlists, I items, K neighbours kept per item, T worker
 * threads. */
#include "models/rp3.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "core/topk.h"

void rp3_opts_default(rp3_opts *o)
{
	/* Chosen by R-precision and NDCG at 5 and 10 seeds on the validation
	 * split of the real data (README, "Models"). */
	*o = (rp3_opts){.alpha = 0.5f, .beta = 0.1f, .neighbours = 500, .threads = 0};
}

/* Shared state of one build. */
typedef struct rp3_build {
	const cf_csr *ui, *iu;
	const float *step_u; /* [U] (1/deg_u)^alpha */
	const float *step_i; /* [I] (1/deg_i)^alpha */
	const float *pen;    /* [I] 1/deg_j^beta */
	size_t K;
	int64_t chunk;     /* items per chunk */
	float **acc;       /* [T][I] walk mass reaching each j, being accumulated */
	int32_t **stamp;   /* [T][I] the item i that last touched j */
	int32_t **touched; /* [T][I] the j touched for the current item */
	topk_hit **cands;  /* [T][I] candidates of the current item */
	int32_t *count;    /* [I] neighbours kept per item */
	int32_t **chunk_i; /* [chunks] each chunk's neighbours, items in order */
	float **chunk_w;   /* [chunks] */
} rp3_build;

static void rp3_chunk(void *ctx, int tid, int64_t chunk, int64_t begin, int64_t end)
{
	rp3_build *b = ctx;
	const cf_csr *ui = b->ui, *iu = b->iu;
	float *acc = b->acc[tid];
	int32_t *stamp = b->stamp[tid], *touched = b->touched[tid];
	topk_hit *c = b->cands[tid];
	size_t cap = (size_t)(end - begin) * b->K;
	int32_t *ci = malloc((cap ? cap : 1) * sizeof *ci);
	float *cw = malloc((cap ? cap : 1) * sizeof *cw);
	if (ci == NULL || cw == NULL) {
		free(ci);
		free(cw);
		return; /* the caller sees the missing chunk */
	}
	size_t staged = 0;
	for (int64_t i = begin; i < end; i++) {
		int32_t nt = 0;
		for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++) {
			int32_t u = iu->indices[p];
			float w = b->step_u[u];
			for (int64_t q = ui->indptr[u]; q < ui->indptr[u + 1]; q++) {
				int32_t j = ui->indices[q];
				if (stamp[j] != (int32_t)i) {
					stamp[j] = (int32_t)i;
					acc[j] = 0.0f;
					touched[nt++] = j;
				}
				acc[j] += w;
			}
		}
		size_t nc = 0;
		for (int32_t t = 0; t < nt; t++) {
			int32_t j = touched[t];
			float w = b->step_i[i] * acc[j] * b->pen[j];
			if (j != (int32_t)i && w > 0.0f)
				c[nc++] = (topk_hit){(size_t)j, w};
		}
		nc = topk_select(c, nc, b->K);
		for (size_t q = 0; q < nc; q++) {
			ci[staged + q] = (int32_t)c[q].row;
			cw[staged + q] = c[q].score;
		}
		staged += nc;
		b->count[i] = (int32_t)nc;
	}
	/* Give back what the chunk's items did not fill (most rare tracks have
	 * far fewer than K neighbours). */
	if (staged < cap && staged > 0) {
		int32_t *si = realloc(ci, staged * sizeof *ci);
		float *sw = realloc(cw, staged * sizeof *cw);
		ci = si ? si : ci;
		cw = sw ? sw : cw;
	}
	b->chunk_i[chunk] = ci;
	b->chunk_w[chunk] = cw;
}

uint64_t rp3_bytes(int32_t I, int32_t K, int T)
{
	uint64_t items = I > 0 ? (uint64_t)I : 0, threads = T > 0 ? (uint64_t)T : 1;
	uint64_t k = K > 0 ? (uint64_t)K : 0;
	if (items > 0 && k > items - 1)
		k = items - 1; /* an item has at most I - 1 neighbours */
	uint64_t lists = items * k * (sizeof(int32_t) + sizeof(float));
	uint64_t scratch = threads * (items + 1) * (sizeof(float) + 2 * sizeof(int32_t) + sizeof(topk_hit));
	uint64_t small = 4 * (items + 1) * sizeof(int64_t); /* degrees, counts, the list offsets */
	return lists + scratch + small;
}

int32_t rp3_neighbours_within(int32_t wanted, int32_t I, int T, uint64_t budget)
{
	if (wanted < 1 || rp3_bytes(I, 1, T) > budget)
		return 0;
	if (rp3_bytes(I, wanted, T) <= budget)
		return wanted;
	/* Fewer than wanted fit, so fewer than I - 1: the lists grow by 8
	 * bytes an item for each neighbour more. */
	return (int32_t)((budget - rp3_bytes(I, 0, T)) / ((uint64_t)I * (sizeof(int32_t) + sizeof(float))));
}

int rp3_fit(const cf_csr *ui, const cf_csr *iu, const rp3_opts *o, cf_cooc **out, seg_error *err)
{
	*out = NULL;
	if (!(o->alpha > 0) || !(o->beta >= 0) || o->neighbours < 1)
		return seg_error_set(err, SEG_EINVAL, "bad RP3beta options (alpha %g, beta %g, neighbours %d)",
		                     o->alpha, o->beta, (int)o->neighbours);
	if (ui->ncols != iu->nrows || ui->nrows != iu->ncols || ui->nnz != iu->nnz)
		return seg_error_set(err, SEG_EINVAL,
		                     "RP3beta: the item x playlist matrix is not the transpose of the other");
	int32_t U = ui->nrows, I = ui->ncols;
	int T = parallel_workers(o->threads);
	rp3_build b = {.ui = ui, .iu = iu, .K = (size_t)o->neighbours, .chunk = 64};
	int64_t nchunks = (I + b.chunk - 1) / b.chunk;
	int rc = 0;
	float *step_u = malloc(((size_t)U + 1) * sizeof *step_u);
	float *step_i = malloc(((size_t)I + 1) * sizeof *step_i);
	float *pen = malloc(((size_t)I + 1) * sizeof *pen);
	cf_cooc *m = calloc(1, sizeof *m);
	b.acc = calloc((size_t)T, sizeof *b.acc);
	b.stamp = calloc((size_t)T, sizeof *b.stamp);
	b.touched = calloc((size_t)T, sizeof *b.touched);
	b.cands = calloc((size_t)T, sizeof *b.cands);
	b.count = calloc((size_t)I + 1, sizeof *b.count);
	b.chunk_i = calloc((size_t)nchunks + 1, sizeof *b.chunk_i);
	b.chunk_w = calloc((size_t)nchunks + 1, sizeof *b.chunk_w);
	if (!step_u || !step_i || !pen || !m || !b.acc || !b.stamp || !b.touched || !b.cands || !b.count ||
	    !b.chunk_i || !b.chunk_w)
		goto nomem;
	for (int t = 0; t < T; t++) {
		b.acc[t] = malloc(((size_t)I + 1) * sizeof **b.acc);
		b.stamp[t] = malloc(((size_t)I + 1) * sizeof **b.stamp);
		b.touched[t] = malloc(((size_t)I + 1) * sizeof **b.touched);
		b.cands[t] = malloc(((size_t)I + 1) * sizeof **b.cands);
		if (!b.acc[t] || !b.stamp[t] || !b.touched[t] || !b.cands[t])
			goto nomem;
		for (int32_t i = 0; i < I; i++)
			b.stamp[t][i] = -1;
	}
	/* Degrees count entries: a playlist's tracks, a track's playlists. */
	for (int32_t u = 0; u < U; u++) {
		int64_t d = ui->indptr[u + 1] - ui->indptr[u];
		step_u[u] = d > 0 ? (float)pow((double)d, -(double)o->alpha) : 0.0f;
	}
	for (int32_t i = 0; i < I; i++) {
		int64_t d = iu->indptr[i + 1] - iu->indptr[i];
		step_i[i] = d > 0 ? (float)pow((double)d, -(double)o->alpha) : 0.0f;
		pen[i] = d > 0 ? (float)pow((double)d, -(double)o->beta) : 0.0f;
	}
	b.step_u = step_u;
	b.step_i = step_i;
	b.pen = pen;

	parallel_for(T, I, b.chunk, rp3_chunk, &b);
	for (int64_t c = 0; c < nchunks; c++)
		if (b.chunk_i[c] == NULL)
			goto nomem;

	if (cf_cooc_assemble(m, I, o->neighbours, b.count, b.chunk, b.chunk_i, b.chunk_w) < 0)
		goto nomem;
	*out = m;
	m = NULL;
	goto out;

nomem:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory building RP3beta over %d items", (int)I);
out:
	cf_cooc_free(m);
	for (int t = 0; t < T; t++) {
		if (b.acc)
			free(b.acc[t]);
		if (b.stamp)
			free(b.stamp[t]);
		if (b.touched)
			free(b.touched[t]);
		if (b.cands)
			free(b.cands[t]);
	}
	for (int64_t c = 0; b.chunk_i && c < nchunks; c++) {
		free(b.chunk_i[c]);
		free(b.chunk_w[c]);
	}
	free(b.acc);
	free(b.stamp);
	free(b.touched);
	free(b.cands);
	free(b.count);
	free(b.chunk_i);
	free(b.chunk_w);
	free(step_u);
	free(step_i);
	free(pen);
	return rc;
}
