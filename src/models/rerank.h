/* rerank.h: re-ranking for discovery. Takes scored candidates from the models
 * and picks the final list: maximal marginal relevance (MMR) trades relevance
 * for diversity, with bonuses for novelty and predicted quality and a cap on
 * tracks per artist. Candidate generation, seed exclusion and reasons in
 * words are recommend.c's. */
#ifndef SEGUE_RERANK_H
#define SEGUE_RERANK_H

#include <stddef.h>
#include <stdint.h>

/* One candidate. Plain data. */
typedef struct rerank_cand {
	int64_t track;   /* tracks.id */
	int32_t row;     /* row in the content vectors, -1 when it has no audio features */
	int32_t artist;  /* main artist id, -1 when unknown */
	float relevance; /* the models' blended score, 0..1, higher is better */
	float novelty;   /* 0..1, 1 = rarely played (self-information, normalised) */
	float quality;   /* 0..1 predicted appeal, NaN when unknown */
	float final;     /* set by rerank_run: the score it was picked with */
} rerank_cand;

typedef struct rerank_opts {
	size_t k;             /* results wanted */
	float diversity;      /* MMR λ in 0..1: 0 = by relevance only */
	float novelty;        /* weight of the novelty bonus, >= 0 */
	float quality;        /* weight of the quality bonus, >= 0 */
	int max_per_artist;   /* 0 = no cap */
	const float *vectors; /* [rows][dim] L2-normalised content vectors, or NULL */
	size_t dim;
} rerank_opts;

/* Why a list came out shorter than k. */
/* clang-format off */
enum rerank_shortfall {
	RERANK_FULL = 0,         /* k results */
	RERANK_FEW_CANDIDATES,   /* fewer candidates than k */
	RERANK_ARTIST_CAP,       /* the per-artist cap ruled out the rest */
};
/* clang-format on */

/* Picks up to o->k candidates in order and writes their indices into
 * order[o->k]; *nout receives the count. Candidates keep their fields; `final`
 * is set on the picked ones. Returns the shortfall reason. Does not allocate
 * beyond an O(n) scratch it frees (RERANK_FEW_CANDIDATES and no picks when
 * that fails). */
enum rerank_shortfall rerank_run(rerank_cand *c, size_t n, const rerank_opts *o, size_t *order, size_t *nout);
/* rerank_run with its O(n) working memory in scratch[rerank_scratch_size(n)]
 * (any alignment a float takes, e.g. from malloc), so that a caller that
 * keeps a buffer (the engine's per-thread scratch) does not allocate. */
enum rerank_shortfall rerank_run_in(rerank_cand *c, size_t n, const rerank_opts *o, size_t *order, size_t *nout,
                                    void *scratch);
size_t rerank_scratch_size(size_t n);

/* A sentence for a shortfall ("only 7 candidates passed the filters"). */
const char *rerank_shortfall_text(enum rerank_shortfall s);

#endif
