/* rec_content.c: content similarity: the tracks whose audio-feature vectors
 * are nearest the seeds' (cosine, exact nearest-neighbour search), or, for a
 * mood alone, nearest the mood's target on the dimensions it names. It reads
 * the shared content vectors and builds its search index over them when the
 * engine opens; it has no section of its own.
 *
 * Legend: N content rows, D content dimensions. */
#include <stdlib.h>

#include "engine/rec_internal.h"
#include "engine/recommender.h"
#include "models/knn.h"

static int content_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	(void)f;
	knn_index *knn = NULL;
	int rc = knn_index_create(&knn, a->vec, a->N, a->D, KNN_BORROW, err);
	*state = knn;
	return rc < 0 ? rc : 0;
}

static void content_close(void *state) { knn_index_free(state); }

/* Mood only: the `want` tracks nearest the target on the named dimensions,
 * by squared distance in the model's (unnormalised) units. */
static int content_mood(const rec_query *q, size_t want, rec_pool *pool, seg_error *err)
{
	const rec_artifact *a = q->a;
	knn_hit *best = malloc(sizeof(knn_hit) * want); /* [want] by score, best first */
	size_t nb = 0;
	if (best == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	for (size_t i = 0; i < a->N; i++) {
		if (q->blocked[a->row_track[i]])
			continue;
		float d2 = 0;
		for (size_t d = 0; d < a->D; d++)
			if (q->mood_mask[d]) {
				float diff = a->vec[i * a->D + d] * a->norm[i] - q->mood[d];
				d2 += diff * diff;
			}
		float s = -d2;
		if (nb < want || s > best[nb - 1].score) {
			size_t j = nb < want ? nb++ : nb - 1;
			while (j > 0 && best[j - 1].score < s) {
				best[j] = best[j - 1];
				j--;
			}
			best[j].row = i;
			best[j].score = s;
		}
	}
	for (size_t j = 0; j < nb; j++) {
		rec_cand *c = rec_pool_add(pool, a->row_track[best[j].row]);
		if (c == NULL) {
			free(best);
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		}
		c->content = 1.0f / (1.0f - best[j].score); /* 1 at the target, falling with distance */
		c->score = c->content;
	}
	free(best);
	return 0;
}

static int content_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	const knn_index *knn = state;
	if (q->query == NULL && q->mood == NULL)
		return 0;
	if (q->query == NULL)
		return content_mood(q, want, pool, err);
	void *own;
	knn_hit *hits = rec__buf(q, REC__W_CONTENT, sizeof(knn_hit) * want, &own);
	if (hits == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	knn_filter flt = {.exclude = q->rowbits};
	size_t n = 0;
	int rc = knn_search_probe(knn, q->query, want, &flt, q->r->knn_probe, hits, &n, NULL);
	for (size_t j = 0; rc == 0 && j < n; j++) {
		rec_cand *c = rec_pool_add(pool, q->a->row_track[hits[j].row]);
		if (c == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			break;
		}
		c->content = hits[j].score;
		c->score = c->content;
	}
	free(own);
	return rc < 0 ? rc : 0;
}

const recommender rec_content = {
	.name = "content",
	.description = "tracks that sound like the seeds (audio features and genres), or fit the mood",
	.flags = REC_NEEDS_QUERY,
	.open = content_open,
	.close = content_close,
	.propose = content_propose,
};
