/* ease.h: EASE, the "embarrassingly shallow autoencoder" of Steck (2019):
 * an item x item weight matrix B with a zero diagonal, in closed form
 *     P = (X^T X + lambda I)^-1,    B_ij = -P_ij / P_jj  (i != j),  B_ii = 0,
 * where X is the binary playlist x track matrix. A listener holding items S
 * scores item j as sum over i in S of B_ij.
 *
 * The solve is dense (I_e x I_e floats, a Cholesky factorisation and inverse
 * through LAPACK), so it runs on the I_e most frequent items only: those in
 * at least `min_count` training playlists, at most `max_items` of them. Items
 * outside the solve get no weight and propose nothing. For serving, each row
 * of B is cut to its `neighbours` largest positive weights and kept in the
 * same sparse neighbour-list form as co-occurrence (cf_cooc, cf.h), so that
 * cf_cooc_recommend scores a seed set by summing the seeds' lists without
 * touching every item.
 *
 * It does not map track ids, persist the model, or blend it with anything.
 *
 * Legend: U playlists, I items (the whole vocabulary), E items in the solve
 * (I_e), K weights kept per item. */
#ifndef SEGUE_EASE_H
#define SEGUE_EASE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "models/cf.h"

/* Options of ease_fit. Plain data; ease_opts_default fills it. */
typedef struct ease_opts {
	float lambda;       /* L2 regularisation of B, > 0 (default 1500) */
	int32_t min_count;  /* items in fewer training playlists stay out of the solve, >= 1 (default 2) */
	int32_t max_items;  /* E at most: the most frequent first, ties to the lower index, >= 1 (default 15000) */
	int32_t neighbours; /* K largest positive weights kept per item, >= 1 (default 500) */
} ease_opts;

void ease_opts_default(ease_opts *o);

/* What ease_fit did, for the training report. Plain data. */
typedef struct ease_info {
	int32_t solved;          /* E */
	int64_t entries;         /* stored entries of X */
	int64_t entries_covered; /* of them, on items in the solve */
	int32_t min_count;       /* fewest playlists of an item in the solve (0 when E = 0) */
	double gram_seconds;     /* building X^T X */
	double solve_seconds;    /* Cholesky factorisation and inverse */
	double select_seconds;   /* cutting the rows of B to K */
} ease_info;

/* Chooses the items of the solve from `iu` (the I x U transpose of the
 * playlist x track matrix, cf_csr_transpose; entries count as 1 whatever
 * their value), into solved[max_items] ascending; returns E (0 when no item
 * qualifies), or SEG_EINVAL for bad options. */
int32_t ease_select_items(const cf_csr *iu, const ease_opts *o, int32_t *solved, seg_error *err);

/* Fits EASE on `ui` (U x I) and its transpose `iu`, and cuts each row of B
 * to its K largest positive weights. On success *out is a neighbour list
 * over all I items (rows of items outside the solve are empty; free it with
 * cf_cooc_free; its topm is K) and *info (may be NULL) says what was done.
 * The dense solve takes 4 E^2 bytes and runs on BLAS's own threads. Errors:
 * SEG_EINVAL for bad options or a mismatched pair, SEG_ENOMEM, SEG_EIO when
 * LAPACK fails (a matrix not positive definite: lambda too small for float).
 * On error *out is NULL. */
int ease_fit(const cf_csr *ui, const cf_csr *iu, const ease_opts *o, cf_cooc **out, ease_info *info, seg_error *err);

/* The dense B of the solve, for measuring what the cut to K loses: B[E][E]
 * row-major over the items solved[E] (from ease_select_items), B_ii = 0.
 * The caller frees *B_out with free(). Same errors as ease_fit. */
int ease_fit_dense(const cf_csr *ui, const cf_csr *iu, const ease_opts *o, int32_t **solved_out, int32_t *E_out,
                   float **B_out, seg_error *err);

#endif
