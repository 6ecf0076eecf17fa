/* rec_internal.h: what the built-in recommenders share, private to
 * src/engine/rec_*.c (the interface is recommender.h): reading and serving
 * an item neighbour list (cf_cooc's form, models/cf.h) that an artifact
 * keeps in three sections, as co-occurrence, EASE and RP3beta do. */
#ifndef SEGUE_REC_INTERNAL_H
#define SEGUE_REC_INTERNAL_H

#include "engine/recommender.h"
#include "models/cf.h"

/* Working memory of a request that is kept between the requests of one
 * thread (the engine's thread scratch, recommend.c), so that the request
 * path does not allocate once its buffers have grown to their working size
 * (issue 13). One slot per use; uses that are live at the same time have
 * their own slots. */
enum rec__slot {
	REC__W_LIST_ITEMS,   /* rec__lists_propose */
	REC__W_LIST_SCORES,  /* */
	REC__W_ALS_ITEMS,    /* the "als" recommender's own search */
	REC__W_ALS_SCORES,   /* */
	REC__W_AMONG_SCORES, /* rec__als_propose_among */
	REC__W_AMONG_HITS,   /* */
	REC__W_REACH_ITEMS,  /* the hybrid's items for ALS */
	REC__W_REACH_SEEN,   /* its bitmap over CF items: all zero between requests */
	REC__W_CONTENT,      /* content's hits */
	REC__W_POOL,         /* the engine's: the candidate pool */
	REC__W_SEEDS,        /* seed rows and items */
	REC__W_QUERY,        /* the content query and the dislikes' mean */
	REC__W_KEEP,         /* selection: the candidates that stand for their song */
	REC__W_RERANK,       /* re-ranking's input */
	REC__W_RERANK_RUN,   /* rerank_run_in's working memory */
	REC__W_ORDER,        /* the picks */
	REC__W_TOPK,         /* selection without re-ranking */
	REC__W__N
};
struct rec_work {
	struct {
		void *p;
		size_t cap; /* bytes */
	} slot[REC__W__N];
};

/* A buffer of at least `bytes` (any object alignment) for slot s: with
 * q->work, the thread's buffer for that slot, grown when short (keeping
 * its contents, as realloc does; REC__W_REACH_SEEN's new bytes are zeroed)
 * and not to be freed; without (a rec_query built outside the engine), a
 * new allocation that is also stored in *own for the caller to free
 * (*own is NULL otherwise). NULL when out of memory. */
void *rec__buf(const rec_query *q, enum rec__slot s, size_t bytes, void **own);

/* The kind of evidence a neighbour-list model sets on its candidates. */
enum rec__evidence { REC__COOC, REC__ALS, REC__EASE, REC__RP3 };

/* Adds to `pool`, in order, up to `want` of items[0..n-1] (CF items, best
 * first) whose tracks are not blocked, each with scores[j] as its evidence
 * of kind `ev` and as its score. SEG_ENOMEM when the pool cannot grow. */
int rec__pool_take(const rec_query *q, const int32_t *items, const float *scores, size_t n, size_t want,
                   enum rec__evidence ev, rec_pool *pool, seg_error *err);

/* Reads the neighbour lists of sections ptr (int64 [I+1]), nbr (int32 [nnz])
 * and w (float [nnz]) of `f` into a new cf_cooc viewing the mapped file, in
 * *state. No sections (or no CF items): *state stays NULL and 0 is
 * returned; damaged ones: SEG_EFORMAT. Free with free(). */
int rec__lists_open(const rec_artifact *a, const container_file *f, const char *ptr, const char *nbr, const char *w,
                    void **state, seg_error *err);

/* Adds up to `want` unblocked candidates: the items with the largest sums of
 * the seeds' lists in `m` (NULL: none), with that sum as their evidence of
 * kind `ev` and as score. */
int rec__lists_propose(const rec_query *q, const cf_cooc *m, enum rec__evidence ev, size_t want, rec_pool *pool,
                       seg_error *err);

/* The state the engine holds for the recommender `name` (what its open
 * built), or NULL when it has none or is not registered in q->e. How one
 * recommender reaches another's model beyond its propose. */
const void *rec__state(const rec_query *q, const char *name);

/* ALS's own candidates among items[0..n-1] (distinct CF items): the
 * `want` best unblocked ones by the score the "als" recommender gives
 * (cf_als_score; ties to the lower item), added to `pool` with that score
 * as their ALS evidence and score, as the "als" recommender adds the best
 * of every item. `state` is rec__state(q, "als"); NULL, or no seed
 * items: nothing is added. */
int rec__als_propose_among(const rec_query *q, const void *state, const int32_t *items, size_t n, size_t want,
                           rec_pool *pool, seg_error *err);

/* The hybrid's propose (rec_hybrid.c) with the weights `w` in force and
 * content's pool `want_content` (0: content retrieves nothing, only
 * scores) given by the caller: what the built-in hybrid runs with its own
 * choice, open to bench/hybrid_eval.c, which compares choices. */
int rec__hybrid_propose(const rec_query *q, const hybrid_weights *w, size_t want, size_t want_content, rec_pool *pool,
                        seg_error *err);

#endif
