/* rec_rp3.c: the "rp3beta" recommender (models/rp3.h): the items a two-step
 * random walk from the seeds through the training playlists reaches most,
 * popular arrivals discounted. Served from its stored neighbour lists like
 * EASE (rec_internal.h). */
#include <stdlib.h>

#include "engine/rec_internal.h"
#include "engine/train.h"

static int rp3_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	return rec__lists_open(a, f, MS_RP3_PTR, MS_RP3_NBR, MS_RP3_W, state, err);
}

/* The lists are views into the mapped file: only the struct is ours. */
static void rp3_close(void *state) { free(state); }

static int rp3_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	return rec__lists_propose(q, state, REC__RP3, want, pool, err);
}

const recommender rec_rp3beta = {
	.name = "rp3beta",
	.description = "tracks a random walk from the seeds through the training playlists reaches, "
		       "popular ones discounted (RP3beta)",
	.flags = REC_NEEDS_QUERY,
	.open = rp3_open,
	.close = rp3_close,
	.propose = rp3_propose,
};
