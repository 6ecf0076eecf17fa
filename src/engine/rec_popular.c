/* rec_popular.c: the most-popular baseline: the tracks in the most training
 * playlists, the same for everyone. It reads the per-track playlist counts
 * (track_pop) when the engine opens and keeps them sorted; it needs no
 * seeds. */
#include <stdlib.h>

#include "engine/recommender.h"

typedef struct popular {
	int64_t *track; /* [n] track ids by playlist count, most first (ties: lower id) */
	size_t n;
	const uint32_t *count; /* [T] playlist count of each track id */
} popular;

static int cmp_count_desc(const void *a, const void *b, void *ctx)
{
	const uint32_t *count = ctx;
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (count[x] != count[y])
		return count[x] > count[y] ? -1 : 1;
	return (x > y) - (x < y);
}

static int popular_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	(void)f;
	popular *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->track = malloc(sizeof(int64_t) * (size_t)(a->T ? a->T : 1))) == NULL) {
		free(p);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	p->count = a->track_pop;
	for (int64_t t = 1; t < a->T; t++)
		if (a->track_pop[t] > 0)
			p->track[p->n++] = t;
	qsort_r(p->track, p->n, sizeof(int64_t), cmp_count_desc, (void *)a->track_pop);
	*state = p;
	return 0;
}

static void popular_close(void *state)
{
	popular *p = state;
	if (p == NULL)
		return;
	free(p->track);
	free(p);
}

static int popular_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	const popular *p = state;
	size_t added = 0;
	for (size_t i = 0; i < p->n && added < want; i++) {
		int64_t t = p->track[i];
		if (q->blocked[t])
			continue;
		rec_cand *c = rec_pool_add(pool, t);
		if (c == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		added++;
		c->score = (float)p->count[t] / (float)(p->count[p->track[0]] + 1);
	}
	return 0;
}

static uint32_t popular_explain(const rec_query *q, const void *state, const rec_item *it)
{
	(void)q, (void)state, (void)it;
	return REASON_POPULAR;
}

const recommender rec_popular = {
	.name = "popular",
	.description = "the tracks in the most training playlists (a baseline)",
	.open = popular_open,
	.close = popular_close,
	.propose = popular_propose,
	.explain = popular_explain,
};
