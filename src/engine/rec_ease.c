/* rec_ease.c: the "ease" recommender (models/ease.h): the items with the
 * largest summed EASE weights from the seeds, over the most frequent
 * training items (those of the dense solve; the others get no score). Also
 * the neighbour-list serving that RP3beta shares (rec_internal.h): a
 * request sums its seeds' stored lists and never scores every item.
 *
 * Legend: I CF items, K weights kept per item. */
#include <stdlib.h>

#include "engine/rec_internal.h"
#include "engine/train.h"

int rec__lists_open(const rec_artifact *a, const container_file *f, const char *ptr, const char *nbr, const char *w,
                    void **state, seg_error *err)
{
	size_t sz;
	if (a->I == 0 || container_file_section(f, ptr, &sz) == NULL)
		return 0; /* not trained into this artifact: propose nothing */
	size_t I = (size_t)a->I;
	const void *p;
	int rc;
	cf_cooc *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if ((rc = container_file_require(f, ptr, sizeof(int64_t) * (I + 1), &p, err)) < 0)
		goto fail;
	m->indptr = (int64_t *)p; /* a view into the mapped file, never written */
	/* Offsets that start at 0 and never go back, so that every list lies
	 * within the arrays checked below. */
	int64_t top = 0;
	for (size_t i = 0; i < I && rc == 0; i++) {
		int64_t len = m->indptr[i + 1] - m->indptr[i];
		if (len < 0 || m->indptr[0] != 0)
			rc = seg_error_set(err, SEG_EFORMAT, "section %s is damaged: its offsets go backwards", ptr);
		top = len > top ? len : top;
	}
	if (rc < 0)
		goto fail;
	size_t nnz = (size_t)m->indptr[I];
	if ((rc = container_file_require(f, nbr, sizeof(int32_t) * nnz, &p, err)) < 0)
		goto fail;
	m->nbr = (int32_t *)p;
	for (size_t q = 0; q < nnz; q++)
		if (m->nbr[q] < 0 || (size_t)m->nbr[q] >= I) {
			rc = seg_error_set(err, SEG_EFORMAT, "section %s is damaged: item %d out of range", nbr,
			                   (int)m->nbr[q]);
			goto fail;
		}
	if ((rc = container_file_require(f, w, sizeof(float) * nnz, &p, err)) < 0)
		goto fail;
	m->sim = (float *)p;
	m->nitems = a->I;
	m->topm = (int32_t)top; /* sizes the scoring scratch */
	*state = m;
	return 0;
fail:
	free(m);
	return rc;
}

int rec__pool_take(const rec_query *q, const int32_t *items, const float *scores, size_t n, size_t want,
                   enum rec__evidence ev, rec_pool *pool, seg_error *err)
{
	size_t taken = 0;
	for (size_t j = 0; j < n && taken < want; j++) {
		int64_t t = q->a->cf_track[items[j]];
		if (q->blocked[t])
			continue;
		rec_cand *c = rec_pool_add(pool, t);
		if (c == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		switch (ev) {
		case REC__COOC: c->cooc = scores[j]; break;
		case REC__ALS: c->als = scores[j]; break;
		case REC__EASE: c->ease = scores[j]; break;
		case REC__RP3: c->rp3 = scores[j]; break;
		}
		c->score = scores[j];
		taken++;
	}
	return 0;
}

int rec__lists_propose(const rec_query *q, const cf_cooc *m, enum rec__evidence ev, size_t want, rec_pool *pool,
                       seg_error *err)
{
	const rec_artifact *a = q->a;
	if (q->nseed_items == 0 || m == NULL)
		return 0;
	/* Ask for extra: blocked tracks are filtered after. */
	int32_t k = (int32_t)(want + q->r->nexclude + 8);
	if (k > a->I)
		k = a->I;
	void *own_items, *own_scores;
	int32_t *items = rec__buf(q, REC__W_LIST_ITEMS, sizeof(int32_t) * (size_t)k, &own_items); /* [k] */
	float *scores = rec__buf(q, REC__W_LIST_SCORES, sizeof(float) * (size_t)k, &own_scores);  /* [k] */
	int32_t n = 0;
	int rc = 0;
	if (!items || !scores) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	rc = cf_cooc_recommend(m, q->seed_items, q->nseed_items, k, items, scores, &n, NULL, err);
	if (rc == 0)
		rc = rec__pool_take(q, items, scores, (size_t)n, want, ev, pool, err);
out:
	free(own_items);
	free(own_scores);
	return rc;
}

static int ease_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	return rec__lists_open(a, f, MS_EASE_PTR, MS_EASE_NBR, MS_EASE_W, state, err);
}

/* The lists are views into the mapped file: only the struct is ours. */
static void lists_close(void *state) { free(state); }

static int ease_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	return rec__lists_propose(q, state, REC__EASE, want, pool, err);
}

const recommender rec_ease = {
	.name = "ease",
	.description = "tracks a shallow linear autoencoder of the training playlists links to the seeds (EASE)",
	.flags = REC_NEEDS_QUERY,
	.open = ease_open,
	.close = lists_close,
	.propose = ease_propose,
};
