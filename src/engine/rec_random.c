/* rec_random.c: the random baseline: tracks drawn uniformly from those the
 * model knows (with audio features or in training playlists). It reads no
 * section of its own and needs no seeds. */
#include <stdlib.h>

#include "engine/recommender.h"

/* TODO(core/rng): this seeds its own xorshift stream from the request's
 * seed. When core/rng lands, draw from it instead, keeping this exact stream
 * (seed * golden ratio + 1, xorshift 13/7/17): evaluate's random row depends
 * on it. */
static int random_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state;
	const rec_artifact *a = q->a;
	uint64_t s = q->r->seed * 0x9E3779B97F4A7C15ull + 1;
	size_t tries = 0, added = 0;
	while (added < want && tries++ < want * 20 && a->T > 1) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		int64_t t = 1 + (int64_t)(s % (uint64_t)(a->T - 1));
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
