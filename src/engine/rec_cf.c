/* rec_cf.c: the two collaborative-filtering recommenders, trained on the
 * training playlists (models/cf.h): item co-occurrence ("cooc": tracks often
 * in playlists with the seeds) and implicit ALS ("als": tracks whose latent
 * factors suit a listener folded in from the seeds). Each reads its own
 * sections; both index tracks by the shared CF item vocabulary (cf_track).
 * Seeds that are in no training playlist give them nothing to go on.
 *
 * Legend: I CF items, F factors. */
#include <stdlib.h>

#include <pthread.h>
#include <stdatomic.h>

#include "core/topk.h"
#include "engine/rec_internal.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "models/cf.h"

/* ---- co-occurrence ---- */

static int cooc_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	if (a->I == 0)
		return 0; /* no collaborative model in this artifact */
	size_t I = (size_t)a->I;
	const void *p;
	int rc;
	cf_cooc *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if ((rc = container_file_require(f, MS_COOC_PTR, sizeof(int64_t) * (I + 1), &p, err)) < 0)
		goto fail;
	m->indptr = (int64_t *)p; /* a view into the mapped file, never written */
	size_t nnz = (size_t)m->indptr[I];
	if ((rc = container_file_require(f, MS_COOC_NBR, sizeof(int32_t) * nnz, &p, err)) < 0)
		goto fail;
	m->nbr = (int32_t *)p;
	if ((rc = container_file_require(f, MS_COOC_SIM, sizeof(float) * nnz, &p, err)) < 0)
		goto fail;
	m->sim = (float *)p;
	m->nitems = a->I;
	/* The longest neighbour list sizes the scoring scratch. */
	int64_t topm = 0;
	for (size_t i = 0; i < I; i++)
		if (m->indptr[i + 1] - m->indptr[i] > topm)
			topm = m->indptr[i + 1] - m->indptr[i];
	m->topm = (int32_t)topm;
	*state = m;
	return 0;
fail:
	free(m);
	return rc;
}

/* The ALS candidates come through the exact index (cf_als_index) instead
 * of a scan of every item once the model has ALS_INDEX_MIN_ITEMS items (a
 * scan of fewer is cheap) and the engine has been asked ALS_INDEX_AFTER
 * times for candidates the index can find. Building the index (a k-means
 * and a pass over the items) costs as much as hundreds of scans, which a
 * one-off `segue recommend` would pay for one request; a server pays it
 * once. It is built in a
 * thread of its own, started by the request that reaches the count, while
 * requests go on with the scan; they take the index once it is published.
 * Results are the same either way (cf_als_recommend_indexed). */
#define ALS_INDEX_MIN_ITEMS 32768
#define ALS_INDEX_AFTER 8

/* The ALS model (views into the file; no user factors) and its index. The
 * only parts that change after open are atomics: the index pointer and the
 * count of requests, which propose updates from many threads at once. */
typedef struct als_state {
	cf_als m;
	_Atomic(cf_als_index *) ix; /* NULL until built (and published) */
	atomic_int asks;            /* requests that could have used the index */
	int builder_started;        /* set once, by the request that started it */
	pthread_t builder;
} als_state;

static void *als_index_build(void *arg)
{
	als_state *st = arg;
	cf_als_index *ix = NULL;
	/* On failure (out of memory) the requests keep the scan: nothing is
	 * lost but speed, and a request could not report it anyway. */
	if (cf_als_index_create(&st->m, &ix, NULL) == 0)
		atomic_store(&st->ix, ix);
	return NULL;
}

/* The index, or NULL (then the scan); counts the request and starts the
 * build when this is the ALS_INDEX_AFTER-th. */
static const cf_als_index *als_index_get(const als_state *cst, int32_t k)
{
	als_state *st = (als_state *)cst; /* the atomics only (see als_state) */
	cf_als_index *ix = atomic_load(&st->ix);
	if (ix != NULL || st->m.nitems < ALS_INDEX_MIN_ITEMS || k > CF_ALS_INDEX_MAX_K)
		return ix;
	if (atomic_fetch_add(&st->asks, 1) + 1 == ALS_INDEX_AFTER)
		st->builder_started = pthread_create(&st->builder, NULL, als_index_build, st) == 0;
	return NULL;
}

static void als_close(void *state)
{
	als_state *st = state;
	if (st == NULL)
		return;
	if (st->builder_started)
		pthread_join(st->builder, NULL);
	cf_als_index_free(atomic_load(&st->ix));
	free(st);
}

static int als_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	if (a->I == 0)
		return 0;
	size_t I = (size_t)a->I;
	const void *p;
	int rc;
	als_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	cf_als *m = &st->m;
	if ((rc = container_file_require(f, MS_ALS_OPTS, sizeof(cf_als_opts), &p, err)) < 0)
		goto fail;
	m->opts = *(const cf_als_opts *)p;
	m->nitems = a->I;
	m->factors = m->opts.factors;
	size_t F = (size_t)m->factors;
	if ((rc = container_file_require(f, MS_ALS_ITEMS, sizeof(float) * I * F, &p, err)) < 0)
		goto fail;
	m->item_factors = (float *)p;
	if ((rc = container_file_require(f, MS_ALS_NORMS, sizeof(float) * I, &p, err)) < 0)
		goto fail;
	m->item_norms = (float *)p;
	if ((rc = container_file_require(f, MS_ALS_YTY, sizeof(float) * F * F, &p, err)) < 0)
		goto fail;
	m->yty = (float *)p;
	*state = st;
	return 0;
fail:
	als_close(st);
	return rc;
}

/* The co-occurrence model is views into the mapped file: only the struct is
 * ours. */
static void cooc_close(void *state) { free(state); }

/* ---- proposing ---- */

enum cf_kind { CF_COOC, CF_ALS };

/* Asks the model for its best items for the seeds' items, then adds up to
 * `want` of them that are not blocked, with their raw score as evidence and
 * as score. */
static int cf_propose(enum cf_kind kind, const rec_query *q, const void *model, size_t want, rec_pool *pool,
                      seg_error *err)
{
	/* Co-occurrence is a neighbour list model like EASE and RP3beta. */
	if (kind == CF_COOC)
		return rec__lists_propose(q, model, REC__COOC, want, pool, err);
	const rec_artifact *a = q->a;
	if (q->nseed_items == 0 || model == NULL)
		return 0;
	/* Ask for extra: blocked tracks are filtered after. */
	int32_t k = (int32_t)(want + q->r->nexclude + 8);
	if (k > a->I)
		k = a->I;
	void *own_items, *own_scores;
	int32_t *items = rec__buf(q, REC__W_ALS_ITEMS, sizeof(int32_t) * (size_t)k, &own_items); /* [k] */
	float *scores = rec__buf(q, REC__W_ALS_SCORES, sizeof(float) * (size_t)k, &own_scores);  /* [k] */
	int32_t n = 0;
	int rc = 0;
	if (!items || !scores) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	rc = cf_als_recommend_indexed(&((const als_state *)model)->m, als_index_get(model, k), q->seed_items,
	                              q->nseed_items, k, items, scores, &n, NULL, err);
	if (rc == 0)
		rc = rec__pool_take(q, items, scores, (size_t)n, want, REC__ALS, pool, err);
out:
	free(own_items);
	free(own_scores);
	return rc;
}

int rec__als_propose_among(const rec_query *q, const void *state, const int32_t *items, size_t n, size_t want,
                           rec_pool *pool, seg_error *err)
{
	const rec_artifact *a = q->a;
	if (q->nseed_items == 0 || state == NULL || n == 0 || want == 0)
		return 0;
	const cf_als *m = &((const als_state *)state)->m;
	void *own_scores, *own_h;
	float *scores = rec__buf(q, REC__W_AMONG_SCORES, sizeof(float) * n, &own_scores); /* [n] */
	topk_hit *h = rec__buf(q, REC__W_AMONG_HITS, sizeof(topk_hit) * n, &own_h);       /* [n] the unblocked ones */
	int rc = 0;
	if (!scores || !h) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = cf_als_score(m, q->seed_items, q->nseed_items, items, n, scores, NULL, err)) < 0)
		goto out;
	size_t nh = 0;
	for (size_t j = 0; j < n; j++)
		if (!q->blocked[a->cf_track[items[j]]])
			h[nh++] = (topk_hit){.row = (size_t)items[j], .score = scores[j]};
	/* Rows are item indices: ties go to the lower item, as in the scan. */
	size_t got = topk_select(h, nh, want);
	for (size_t j = 0; j < got; j++) {
		rec_cand *c = rec_pool_add(pool, a->cf_track[h[j].row]);
		if (c == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			break;
		}
		c->als = c->score = h[j].score;
	}
out:
	free(own_scores);
	free(own_h);
	return rc;
}

static int cooc_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	return cf_propose(CF_COOC, q, state, want, pool, err);
}

static int als_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	return cf_propose(CF_ALS, q, state, want, pool, err);
}

const recommender rec_cooc = {
	.name = "cooc",
	.description = "tracks often in training playlists with the seeds (item co-occurrence)",
	.flags = REC_NEEDS_QUERY,
	.open = cooc_open,
	.close = cooc_close,
	.propose = cooc_propose,
};

const recommender rec_als = {
	.name = "als",
	.description = "tracks the seeds' listener would like by implicit ALS (latent factors)",
	.flags = REC_NEEDS_QUERY,
	.open = als_open,
	.close = als_close,
	.propose = als_propose,
};
