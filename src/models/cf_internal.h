/* cf_internal.h: what the parts of the cf module share, private to
 * src/models/cf*.c (the public API is cf.h): checks of the arguments and
 * seeds of a recommendation, and the copy of its results. The parts: cf.c
 * (CSR matrices and these helpers), cf_cooc.c (item-to-item
 * co-occurrence), cf_als.c (implicit ALS).
 *
 * Dimension legend: U playlists ("users"), I items (tracks), K results. */
#ifndef SEGUE_CF_INTERNAL_H
#define SEGUE_CF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/topk.h"
#include "models/cf.h"

/* Copies the m hits h[m] (best first, row = item) to the caller's output
 * arrays and returns m. */
int32_t cf__hits_out(const topk_hit *h, size_t m, int32_t *out_items, float *out_scores);

/* Copies seeds into `out`, checks them against [0, nitems), sorts and
 * removes repeats; returns the number left, or SEG_EINVAL. */
int64_t cf__seeds_prepare(const int32_t *seeds, size_t nseeds, int32_t nitems, int32_t *out, seg_error *err);

/* Whether the sorted[n] seeds (from cf__seeds_prepare) contain item. */
int cf__seeds_contain(const int32_t *sorted, int64_t n, int32_t item);

/* The start of cf_cooc_recommend and cf_als_recommend: checks the arguments
 * and points *scratch at the caller's buffer or at a new one of `size` bytes
 * (then also *own, for the caller to free). Returns 1 to go on, 0 when there
 * is nothing to recommend (no seeds, k = 0), or an error. */
int cf__recommend_begin(const int32_t *seeds, size_t nseeds, int32_t k, size_t size, void **scratch, void **own,
                        int32_t *n_out, seg_error *err);

/* SEG_EINVAL unless iu is the transpose of ui (by shape and entries). */
int cf__csr_check_pair(const cf_csr *ui, const cf_csr *iu, seg_error *err);

#endif
