/* rerank.c: MMR re-ranking with novelty, quality and an artist cap (see rerank.h).
 *
 * At each step the next pick maximises
 *   (1 − λ)·(relevance + wn·novelty + wq·quality) − λ·max_{j picked} sim(i, j)
 * where sim is the cosine of content vectors (and 1 for the same artist when
 * a track has no vector), as in Carbonell & Goldstein's MMR. */
#include "models/rerank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float dot(const float *a, const float *b, size_t d)
{
	float s = 0;
	for (size_t i = 0; i < d; i++)
		s += a[i] * b[i];
	return s;
}

static float similarity(const rerank_cand *a, const rerank_cand *b, const rerank_opts *o)
{
	if (a->artist >= 0 && a->artist == b->artist)
		return 1.0f;
	if (o->vectors == NULL || a->row < 0 || b->row < 0)
		return 0.0f;
	float s = dot(o->vectors + (size_t)a->row * o->dim, o->vectors + (size_t)b->row * o->dim, o->dim);
	return s < 0 ? 0 : s;
}

enum rerank_shortfall rerank_run(rerank_cand *c, size_t n, const rerank_opts *o, size_t *order, size_t *nout)
{
	*nout = 0;
	if (o->k == 0)
		return RERANK_FULL;
	float lambda = o->diversity < 0 ? 0 : o->diversity > 1 ? 1 : o->diversity;
	/* base[i]: the candidate's own worth; maxsim[i]: its closeness to the picks. */
	float *base = malloc(sizeof(float) * (n ? n : 1));
	float *maxsim = calloc(n ? n : 1, sizeof(float));
	uint8_t *state = calloc(n ? n : 1, 1); /* 0 open, 1 picked, 2 capped */
	if (!base || !maxsim || !state) {
		free(base);
		free(maxsim);
		free(state);
		return RERANK_FEW_CANDIDATES;
	}
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
			for (size_t i = 0; i < n; i++)
				if (!state[i]) {
					float s = similarity(&c[i], &c[best], o);
					if (s > maxsim[i])
						maxsim[i] = s;
				}
	}
	free(base);
	free(maxsim);
	free(state);
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
