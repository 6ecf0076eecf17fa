/* rec_random.c: the random baseline: tracks drawn uniformly from those the
 * model knows (with audio features or in training playlists). It reads no
 * section of its own and needs no seeds. */
#include <stdlib.h>

#include "core/rng.h"
#include "engine/recommender.h"

/* Draws from the xorshift64 stream seeded by the request's seed, so that a
 * seed always gives the same list. */
static int random_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state;
	const rec_artifact *a = q->a;
	uint64_t s = q->r->seed * RNG_GOLDEN + 1;
	size_t tries = 0, added = 0;
	while (added < want && tries++ < want * 20 && a->T > 1) {
		int64_t t = 1 + (int64_t)(rng_xorshift64(&s) % (uint64_t)(a->T - 1));
		if (q->blocked[t] || (a->track_row[t] < 0 && a->track_item[t] < 0) || rec_pool_has(pool, t))
			continue;
		rec_cand *c = rec_pool_add(pool, t);
		if (c == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		added++;
		c->score = 1.0f - (float)added / (float)(want + 1);
	}
	return 0;
}

static uint32_t random_explain(const rec_query *q, const void *state, const rec_item *it)
{
	(void)q, (void)state, (void)it;
	return REASON_RANDOM;
}

const recommender rec_random = {
	.name = "random",
	.description = "tracks drawn at random (a baseline)",
	.propose = random_propose,
	.explain = random_explain,
};
