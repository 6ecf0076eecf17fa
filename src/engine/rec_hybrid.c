/* rec_hybrid.c: the hybrid of content similarity and collaborative
 * filtering, the default model: the candidates of content and of every
 * collaborative model in the artifact (cooc, als, ease, rp3beta) together,
 * each scored as a weighted blend of its (normalised) evidence. The weights
 * are the request's (rec_request.hybrid), else those `segue train` wrote into
 * the artifact's "hybrid" section (tuned on validation), else the defaults
 * below. When no seed is in the training playlists, collaborative filtering
 * has nothing to go on and the hybrid is content similarity. */
#include <math.h>
#include <stdlib.h>

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

static int hybrid_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	if (q->r->hybrid != NULL && !hybrid_weights_valid(q->r->hybrid))
		return seg_error_set(err, SEG_EINVAL, "the hybrid's weights must be >= 0 with a positive sum");
	const hybrid_weights *w = weights_of(q, state);
	int cf = q->nseed_items > 0; /* otherwise content alone */
	int rc = 0;
	/* A model whose evidence has no weight is not asked: it would cost time
	 * and add candidates ranked by the others' evidence alone. */
	if ((!cf || w->content > 0) && (rc = rec_query_propose(q, "content", want, pool, err)) < 0)
		return rc;
	if (cf && ((w->cooc > 0 && (rc = rec_query_propose(q, "cooc", want, pool, err)) < 0) ||
	           (w->als > 0 && (rc = rec_query_propose(q, "als", want, pool, err)) < 0) ||
	           (w->ease > 0 && (rc = rec_query_propose(q, "ease", want, pool, err)) < 0) ||
	           (w->rp3 > 0 && (rc = rec_query_propose(q, "rp3beta", want, pool, err)) < 0)))
		return rc;
	/* Content scores for CF candidates that have vectors, so both parts are
	 * known wherever they can be. */
	const rec_artifact *a = q->a;
	if (q->query != NULL && w->content > 0)
		for (size_t i = 0; i < pool->n; i++) {
			rec_cand *c = &pool->c[i];
			if (isnan(c->content) && c->row >= 0) {
				const float *v = a->vec + (size_t)c->row * a->D;
				float dot = 0;
				for (size_t d = 0; d < a->D; d++)
					dot += v[d] * q->query[d];
				c->content = dot;
			}
		}
	return 0;
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
