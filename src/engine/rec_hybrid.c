/* rec_hybrid.c: the hybrid of content similarity and collaborative
 * filtering, the default model: the candidates of content, cooc and als
 * together, each scored as a weighted blend of its (normalised) evidence.
 * Collaborative filtering gets most of the weight when any seed is in the
 * training playlists; otherwise the hybrid is content similarity. It reads no
 * section of its own: it draws on the other three through the engine. */
#include <math.h>

#include "engine/recommender.h"

/* Share of the score that collaborative filtering gets when the seeds are in
 * training playlists. */
#define HYBRID_CF_WEIGHT 0.85f

static int hybrid_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state;
	int rc;
	if ((rc = rec_query_propose(q, "content", want, pool, err)) < 0 ||
	    (rc = rec_query_propose(q, "cooc", want, pool, err)) < 0 ||
	    (rc = rec_query_propose(q, "als", want, pool, err)) < 0)
		return rc;
	/* Content scores for CF candidates that have vectors, so both parts are
	 * known wherever they can be. */
	const rec_artifact *a = q->a;
	if (q->query != NULL)
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

static void hybrid_blend(const rec_query *q, const void *state, rec_pool *pool)
{
	(void)state;
	float wcf = q->nseed_items > 0 ? HYBRID_CF_WEIGHT : 0;
	for (size_t i = 0; i < pool->n; i++) {
		rec_cand *c = &pool->c[i];
		float cf = (isnan(c->cooc) ? 0 : c->cooc) * 0.5f + (isnan(c->als) ? 0 : c->als) * 0.5f;
		float ct = isnan(c->content) ? 0 : c->content;
		c->score = wcf * cf + (1 - wcf) * ct;
	}
}

const recommender rec_hybrid = {
	.name = "hybrid",
	.description = "content similarity and collaborative filtering blended (the default)",
	.flags = REC_NEEDS_QUERY,
	.propose = hybrid_propose,
	.blend = hybrid_blend,
};
