/* rec_hybrid.c: the hybrid of content similarity and collaborative
 * filtering, the default model: candidates from the collaborative models in
 * the artifact (cooc, als, ease, rp3beta) and, for seeds they cannot see,
 * from content, each scored as a weighted blend of its (normalised)
 * evidence. The weights are the request's (rec_request.hybrid), else those
 * `segue train` wrote into the artifact's "hybrid" section (tuned on
 * validation), else the defaults below. When no seed is in the training
 * playlists, collaborative filtering has nothing to go on and the hybrid is
 * content similarity.
 *
 * Served fast (issue 10): the list models (EASE, RP3beta, cooc) retrieve
 * by lookups in stored neighbour lists; ALS picks its candidates among the
 * items those lists reach (hybrid_als) instead of searching every item;
 * content retrieves only when some seed is in no training playlist, and
 * otherwise scores the CF candidates by one dot product each. On the
 * validation split this loses nothing against the search of every item
 * (bench/hybrid_eval.c; README "Measured"). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/rec_internal.h"
#include "engine/recommender.h"
#include "engine/train.h"

/* An artifact without a "hybrid" section: 0.85 of the score to
 * collaborative filtering, split evenly between co-occurrence and ALS, 0.15
 * to content (the blend before the weights were tuned). */
const hybrid_weights hybrid_weights_default = {
	.content = 0.15f, .cooc = 0.425f, .als = 0.425f, .ease = 0.0f, .rp3 = 0.0f};

int hybrid_weights_valid(const hybrid_weights *w)
{
	const float v[] = {w->content, w->cooc, w->als, w->ease, w->rp3};
	float sum = 0;
	for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
		if (!(v[k] >= 0 && v[k] <= 1e6f))
			return 0; /* negative, NaN or absurd */
		sum += v[k];
	}
	return sum > 0;
}

static int hybrid_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	(void)a;
	size_t sz;
	const void *p;
	if (container_file_section(f, MS_HYBRID, &sz) == NULL)
		return 0; /* an artifact from before tuning: the defaults */
	int rc = container_file_require(f, MS_HYBRID, sizeof(hybrid_weights), &p, err);
	if (rc < 0)
		return rc;
	if (!hybrid_weights_valid(p))
		return seg_error_set(err, SEG_EFORMAT,
		                     "section %s is damaged: its blend weights are not >= 0 with a "
		                     "positive sum",
		                     MS_HYBRID);
	*state = (void *)p; /* a view into the mapped file */
	return 0;
}

/* The request's weights (checked by propose), else the artifact's, else the
 * defaults. */
static const hybrid_weights *weights_of(const rec_query *q, const void *state)
{
	if (q->r->hybrid != NULL)
		return q->r->hybrid;
	return state != NULL ? state : &hybrid_weights_default;
}

/* Content's pool in the hybrid when some seed is in no training playlist:
 * this share of the pool (at least 10), the candidates near the seeds that
 * collaborative filtering cannot see. When every seed is in the training
 * playlists, content retrieves nothing and only scores the CF candidates:
 * its exact search cost more than all the rest of a request, and on
 * validation dropping it lost nothing (bench/hybrid_eval.c). */
#define HYBRID_CONTENT_DIV 4
/* ALS chooses its candidates among at least this many times as many items
 * as it picks, when the lists reach them (hybrid_als): at 8, the hybrid's
 * accuracy on validation is that with ALS's search over every item (at 4,
 * a little lower with one seed), at a sixth of the time. */
#define HYBRID_REACH 8

/* The list models whose candidates the hybrid asks for, with their weight. */
static const char *const LIST_MODELS[] = {"cooc", "ease", "rp3beta"};
static float list_weight(const hybrid_weights *w, size_t k) { return k == 0 ? w->cooc : k == 1 ? w->ease : w->rp3; }

/* Items gathered for ALS to choose from, each once (blocked ones too:
 * rec__als_propose_among leaves them out). With the engine's thread
 * buffers (q->work), seen and items are the thread's, kept between
 * requests: seen is all zero at the start and is left so (hybrid_als
 * clears the bits of the items it gathered), instead of a new bitmap over
 * every item per request; without, both are the request's own. */
typedef struct reach {
	const rec_query *q;
	uint8_t *seen; /* [I bits] */
	int32_t *items;
	size_t n, cap;
	void *own_seen, *own_items; /* what to free: without q->work */
} reach;

static int reach_add(reach *g, int32_t i)
{
	if (g->seen[i >> 3] & (1u << (i & 7)))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		int32_t *p;
		if (g->q->work != NULL) {
			void *own;
			p = rec__buf(g->q, REC__W_REACH_ITEMS, sizeof(int32_t) * cap, &own);
		} else {
			p = g->own_items = realloc(g->own_items, sizeof(int32_t) * cap);
		}
		if (p == NULL)
			return -1;
		g->items = p;
		g->cap = cap;
	}
	g->seen[i >> 3] |= (uint8_t)(1u << (i & 7));
	g->items[g->n++] = i;
	return 0;
}

/* Adds the neighbour lists of item i in every list model. */
static int reach_lists(reach *g, const cf_cooc *const *lists, size_t nlists, int32_t i)
{
	for (size_t k = 0; k < nlists; k++)
		for (int64_t j = lists[k] ? lists[k]->indptr[i] : 0; lists[k] && j < lists[k]->indptr[i + 1]; j++)
			if (reach_add(g, lists[k]->nbr[j]) < 0)
				return -1;
	return 0;
}

/* ALS's candidates: its `want` best among the items the seeds reach
 * through the neighbour lists of every list model the artifact has
 * (cooc, ease, rp3beta: all of each list, not only what the hybrid asked
 * for) and the candidates already in the pool, instead of its best among
 * every item: a fold-in and a dot product per item reached against a
 * search of every item. While fewer than HYBRID_REACH x `want` items are
 * reached, the lists of the items reached (in order: the seeds' nearest
 * first) are added too, a second step; if even then fewer than `want`
 * are reached (seeds in no list), ALS searches every item as before. The
 * same rule at any k: what evaluate measures at k 500 is what is served
 * at k 10. On validation it finds nearly all that the search would pick
 * (bench/hybrid_eval.c). */
static int hybrid_als(const rec_query *q, size_t want, rec_pool *pool, seg_error *err)
{
	const rec_artifact *a = q->a;
	const void *als = rec__state(q, "als");
	if (als == NULL)
		return 0;
	enum { NL = sizeof LIST_MODELS / sizeof *LIST_MODELS };
	const cf_cooc *lists[NL];
	for (size_t k = 0; k < NL; k++)
		lists[k] = rec__state(q, LIST_MODELS[k]);
	reach g = {.q = q};
	int rc = 0;
	if (q->work != NULL) {
		void *own;
		g.seen = rec__buf(q, REC__W_REACH_SEEN, (size_t)a->I / 8 + 1, &own);
		g.items = rec__buf(q, REC__W_REACH_ITEMS, sizeof(int32_t) * 1024, &own);
		if (g.items != NULL)
			g.cap = 1024;
	} else {
		g.seen = g.own_seen = calloc((size_t)a->I / 8 + 1, 1);
	}
	if (g.seen == NULL)
		goto oom;
	for (size_t s = 0; s < q->nseed_items; s++)
		if (reach_lists(&g, lists, NL, q->seed_items[s]) < 0)
			goto oom;
	for (size_t i = 0; i < pool->n; i++)
		if (a->track_item[pool->c[i].track] >= 0 && reach_add(&g, a->track_item[pool->c[i].track]) < 0)
			goto oom;
	for (size_t j = 0, first = g.n; j < first && g.n < HYBRID_REACH * want; j++)
		if (reach_lists(&g, lists, NL, g.items[j]) < 0)
			goto oom;
	if (g.n < want)
		rc = rec_query_propose(q, "als", want, pool, err);
	else
		rc = rec__als_propose_among(q, als, g.items, g.n, want, pool, err);
	goto out;
oom:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
out:
	if (g.seen != NULL && g.own_seen == NULL)
		for (size_t j = 0; j < g.n; j++) /* the thread's bitmap: zero again */
			g.seen[g.items[j] >> 3] = 0;
	free(g.own_seen);
	free(g.own_items);
	return rc;
}

/* Content's evidence for the candidates in the pool that have a content
 * row and none yet: the dot product of their vector with the query. The
 * products are taken HYBRID_LANES candidates at a time, each a running sum
 * over the dimensions in order (the same sums, bit for bit, as one at a
 * time), so that the processor overlaps their additions and the loads of
 * their rows, which are scattered over the vectors of every track. */
#define HYBRID_LANES 8
static void content_scores(const rec_query *q, rec_pool *pool)
{
	const rec_artifact *a = q->a;
	rec_cand *lane[HYBRID_LANES];
	const float *v[HYBRID_LANES];
	size_t m = 0;
	for (size_t i = 0; i <= pool->n; i++) {
		if (i < pool->n) {
			rec_cand *c = &pool->c[i];
			if (!isnan(c->content) || c->row < 0)
				continue;
			lane[m] = c;
			v[m++] = a->vec + (size_t)c->row * a->D;
			if (m < HYBRID_LANES)
				continue;
		}
		if (m == 0)
			break;
		for (size_t j = m; j < HYBRID_LANES; j++)
			v[j] = q->query; /* unused lanes */
		float s[HYBRID_LANES] = {0};
		for (size_t d = 0; d < a->D; d++) {
			float qd = q->query[d];
			for (size_t j = 0; j < HYBRID_LANES; j++)
				s[j] += v[j][d] * qd;
		}
		for (size_t j = 0; j < m; j++)
			lane[j]->content = s[j];
		m = 0;
	}
}

int rec__hybrid_propose(const rec_query *q, const hybrid_weights *w, size_t want, size_t want_content, rec_pool *pool,
                        seg_error *err)
{
	int rc = 0;
	if (q->nseed_items == 0) /* collaborative filtering has nothing to go on */
		return rec_query_propose(q, "content", want, pool, err);
	/* A model whose evidence has no weight is not asked: it would cost time
	 * and add candidates ranked by the others' evidence alone. */
	if (w->content > 0 && want_content > 0 && (rc = rec_query_propose(q, "content", want_content, pool, err)) < 0)
		return rc;
	for (size_t k = 0; k < sizeof LIST_MODELS / sizeof *LIST_MODELS; k++)
		if (list_weight(w, k) > 0 && (rc = rec_query_propose(q, LIST_MODELS[k], want, pool, err)) < 0)
			return rc;
	/* With no list model weighted, ALS is the only collaborative source:
	 * its own search, as the "als" recommender's. */
	int lists = w->cooc > 0 || w->ease > 0 || w->rp3 > 0;
	if (w->als > 0 &&
	    (rc = lists ? hybrid_als(q, want, pool, err) : rec_query_propose(q, "als", want, pool, err)) < 0)
		return rc;
	/* Content scores for CF candidates that have vectors, so both parts are
	 * known wherever they can be. */
	if (q->query != NULL && w->content > 0)
		content_scores(q, pool);
	return 0;
}

static int hybrid_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	if (q->r->hybrid != NULL && !hybrid_weights_valid(q->r->hybrid))
		return seg_error_set(err, SEG_EINVAL, "the hybrid's weights must be >= 0 with a positive sum");
	const hybrid_weights *w = weights_of(q, state);
	/* Content retrieves the whole pool when no CF model is weighted, a
	 * share of it for seeds CF cannot see, else nothing (it scores). */
	size_t want_content = 0;
	if (w->cooc <= 0 && w->als <= 0 && w->ease <= 0 && w->rp3 <= 0)
		want_content = want;
	else if (q->nseed_items < q->r->nseeds)
		want_content = want / HYBRID_CONTENT_DIV > 10 ? want / HYBRID_CONTENT_DIV : 10;
	return rec__hybrid_propose(q, w, want, want_content, pool, err);
}

/* Evidence that is missing counts as 0. */
static float ev(float v) { return isnan(v) ? 0 : v; }

static void hybrid_blend(const rec_query *q, const void *state, rec_pool *pool)
{
	const hybrid_weights *w = weights_of(q, state);
	if (q->nseed_items == 0) {
		for (size_t i = 0; i < pool->n; i++)
			pool->c[i].score = ev(pool->c[i].content);
		return;
	}
	float sum = w->content + w->cooc + w->als + w->ease + w->rp3;
	for (size_t i = 0; i < pool->n; i++) {
		rec_cand *c = &pool->c[i];
		c->score = (w->content * ev(c->content) + w->cooc * ev(c->cooc) + w->als * ev(c->als) +
		            w->ease * ev(c->ease) + w->rp3 * ev(c->rp3)) /
		           sum;
	}
}

const recommender rec_hybrid = {
	.name = "hybrid",
	.description = "content similarity and collaborative filtering blended (the default)",
	.flags = REC_NEEDS_QUERY,
	.open = hybrid_open,
	.propose = hybrid_propose,
	.blend = hybrid_blend,
};
