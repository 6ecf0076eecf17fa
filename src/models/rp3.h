/* rp3.h: RP3beta, the random-walk item similarity of Paudel, Christoffel,
 * Newell & Bernstein (2017): a walk of length two from item i to a playlist
 * holding it and on to another item j of that playlist, each step's
 * transition probability raised to the power alpha, and the arrival
 * penalised by j's popularity to the power beta:
 *     W_ij = sum over u holding i and j of (1/deg_i)^alpha (1/deg_u)^alpha / deg_j^beta,   W_ii = 0,
 * with deg_i the playlists holding item i and deg_u the items of playlist u
 * (entries count as 1 whatever their value). Each row keeps its K largest
 * weights, in the neighbour-list form of co-occurrence (cf_cooc, cf.h), so
 * cf_cooc_recommend scores a seed set by summing its seeds' lists: a
 * listener holding items S scores j as sum over i in S of W_ij.
 *
 * It does not map track ids, persist the model, or blend it with anything.
 *
 * Legend: U playlists, I items, K neighbours kept per item. */
#ifndef SEGUE_RP3_H
#define SEGUE_RP3_H

#include <stdint.h>

#include "core/error.h"
#include "models/cf.h"

/* Options of rp3_fit. Plain data; rp3_opts_default fills it. */
typedef struct rp3_opts {
	float alpha;        /* power of the transition probabilities, > 0 (default 0.5) */
	float beta;         /* popularity penalty, >= 0 (default 0.1; 0 is plain P^3 with alpha 1) */
	int32_t neighbours; /* K kept per item, >= 1 (default 500) */
	int threads;        /* worker threads; 0 = online CPUs (default) */
} rp3_opts;

void rp3_opts_default(rp3_opts *o);

/* Builds W from `ui` (U x I) and its transpose `iu` (cf_csr_transpose). Item
 * i is computed by accumulating over its playlists, so memory is O(I K) plus
 * O(I) per thread, and the result does not depend on the number of threads.
 * Each list holds the positive weights, largest first (ties to the lower
 * index), never i itself. On success *out is a new model (cf_cooc_free; its
 * topm is K); on error (SEG_EINVAL for bad options or a mismatched pair,
 * SEG_ENOMEM) *out is NULL. */
int rp3_fit(const cf_csr *ui, const cf_csr *iu, const rp3_opts *o, cf_cooc **out, seg_error *err);

/* Bytes rp3_fit holds at its peak for I items, K neighbours and T threads
 * when every item fills its K, or its I - 1 when fewer (the lists, 8 bytes
 * a neighbour, and each thread's scratch over the items). */
uint64_t rp3_bytes(int32_t I, int32_t K, int T);

/* The most neighbours, at most `wanted`, whose rp3_bytes fits in `budget`
 * bytes; 0 when not even one does. */
int32_t rp3_neighbours_within(int32_t wanted, int32_t I, int T, uint64_t budget);

#endif
