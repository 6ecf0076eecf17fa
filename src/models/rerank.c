/* rerank.c: MMR re-ranking with novelty, quality and an artist cap (see rerank.h).
 *
 * At each step the next pick maximises
 *   (1 − λ)·(relevance + wn·novelty + wq·quality) − λ·max_{j picked} sim(i, j)
 * where sim is 1 for the same artist, else the cosine of the content vectors
 * (0 when negative or when either has no vector), as in Carbonell &
 * Goldstein's MMR. */
#include "models/rerank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Raises maxsim[i] to the similarity of each open candidate i with the
 * pick b. The cosines are computed RERANK_LANES candidates at a time, each
 * with its own running sum over the dimensions in order: the same sums as
 * dot()'s, bit for bit, but independent of one another, so the processor
 * overlaps them instead of waiting on one chain of additions (the MMR step
 * was the largest part of re-ranking, issue 13). */
#define RERANK_LANES 8
static void maxsim_update(const rerank_cand *c, size_t n, const uint8_t *state, size_t b, const rerank_opts *o,
                          float *maxsim)
{
	const float *vb = o->vectors && c[b].row >= 0 ? o->vectors + (size_t)c[b].row * o->dim : NULL;
	size_t lane[RERANK_LANES];
	const float *v[RERANK_LANES];
	size_t m = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			if (state[i])
				continue;
			if (c[i].artist >= 0 && c[i].artist == c[b].artist) {
				maxsim[i] = maxsim[i] < 1.0f ? 1.0f : maxsim[i];
				continue;
			}
			if (vb == NULL || c[i].row < 0)
				continue; /* similarity 0: maxsim is already >= 0 */
			lane[m] = i;
			v[m++] = o->vectors + (size_t)c[i].row * o->dim;
			if (m < RERANK_LANES)
				continue;
		}
		if (m == 0)
			break;
		for (size_t j = m; j < RERANK_LANES; j++)
			v[j] = vb; /* unused lanes */
		float s[RERANK_LANES] = {0};
		for (size_t d = 0; d < o->dim; d++) {
			float bd = vb[d];
			for (size_t j = 0; j < RERANK_LANES; j++)
				s[j] += v[j][d] * bd;
		}
		for (size_t j = 0; j < m; j++) {
			float sim = s[j] < 0 ? 0 : s[j];
			if (sim > maxsim[lane[j]])
				maxsim[lane[j]] = sim;
		}
		m = 0;
	}
}

size_t rerank_scratch_size(size_t n)
{
	size_t f = sizeof(float) * (n ? n : 1);
	return 2 * f + (n ? n : 1);
}

enum rerank_shortfall rerank_run(rerank_cand *c, size_t n, const rerank_opts *o, size_t *order, size_t *nout)
{
	void *scratch = malloc(rerank_scratch_size(n));
	if (scratch == NULL) {
		*nout = 0;
		return RERANK_FEW_CANDIDATES;
	}
	enum rerank_shortfall sf = rerank_run_in(c, n, o, order, nout, scratch);
	free(scratch);
	return sf;
}

enum rerank_shortfall rerank_run_in(rerank_cand *c, size_t n, const rerank_opts *o, size_t *order, size_t *nout,
                                    void *scratch)
{
	*nout = 0;
	if (o->k == 0)
		return RERANK_FULL;
	float lambda = o->diversity < 0 ? 0 : o->diversity > 1 ? 1 : o->diversity;
	/* base[i]: the candidate's own worth; maxsim[i]: its closeness to the picks. */
	float *base = scratch;
	float *maxsim = base + (n ? n : 1);
	uint8_t *state = (uint8_t *)(maxsim + (n ? n : 1)); /* 0 open, 1 picked, 2 capped */
	memset(maxsim, 0, sizeof(float) * n);
	memset(state, 0, n);
	for (size_t i = 0; i < n; i++) {
		float q = isnan(c[i].quality) ? 0 : c[i].quality;
		base[i] = c[i].relevance + o->novelty * c[i].novelty + o->quality * q;
	}
	int capped_any = 0;
	while (*nout < o->k) {
		size_t best = n;
		float best_v = -INFINITY;
		for (size_t i = 0; i < n; i++) {
			if (state[i])
				continue;
			float v = (1 - lambda) * base[i] - lambda * maxsim[i];
			/* Ties go to the better relevance, then the lower track id. */
			if (v > best_v || (v == best_v && best < n &&
			                   (c[i].relevance > c[best].relevance ||
			                    (c[i].relevance == c[best].relevance && c[i].track < c[best].track)))) {
				best = i;
				best_v = v;
			}
		}
		if (best == n)
			break;
		state[best] = 1;
		c[best].final = best_v;
		order[(*nout)++] = best;
		/* The artist cap: close the artist once it has its share. */
		if (o->max_per_artist > 0 && c[best].artist >= 0) {
			int count = 0;
			for (size_t j = 0; j < *nout; j++)
				count += c[order[j]].artist == c[best].artist;
			if (count >= o->max_per_artist)
				for (size_t i = 0; i < n; i++)
					if (!state[i] && c[i].artist == c[best].artist) {
						state[i] = 2;
						capped_any = 1;
					}
		}
		if (lambda > 0)
			maxsim_update(c, n, state, best, o, maxsim);
	}
	if (*nout == o->k)
		return RERANK_FULL;
	return capped_any ? RERANK_ARTIST_CAP : RERANK_FEW_CANDIDATES;
}

const char *rerank_shortfall_text(enum rerank_shortfall s)
{
	switch (s) {
	case RERANK_FULL: return "";
	case RERANK_FEW_CANDIDATES: return "fewer candidates passed the filters than were asked for";
	case RERANK_ARTIST_CAP: return "the per-artist cap ruled out the remaining candidates";
	}
	return "";
}
