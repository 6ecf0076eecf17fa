/* cf.h: collaborative filtering from playlists: a small CSR matrix type, an
 * item-to-item co-occurrence model (cosine or BM25 + cosine, top-M neighbours
 * per item) and implicit-feedback ALS (Hu, Koren & Volinsky 2008) solved with
 * conjugate gradient. Everything is keyed by dense item index only, so it works
 * for tracks without audio features; mapping track ids to indices, saving
 * models and blending with content similarity are left to the callers.
 *
 * Dimensions: U playlists ("users"), I items (tracks), F latent factors,
 * M neighbours kept per item, K results. */
#ifndef SEGUE_CF_H
#define SEGUE_CF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* ======================================================================== */
/* Sparse matrices                                                          */

/* A compressed-sparse-row matrix. Plain data: fields are read directly; a
 * matrix made by cf_csr_* owns its arrays and is released by cf_csr_free. */
typedef struct cf_csr {
	int32_t nrows; /* U for playlist x track, I for its transpose */
	int32_t ncols;
	int64_t nnz;      /* stored entries */
	int64_t *indptr;  /* [nrows + 1] row r is indptr[r] .. indptr[r+1]-1 */
	int32_t *indices; /* [nnz] column of each entry, ascending within a row */
	float *data;      /* [nnz] value of each entry (1 or a count), > 0 */
} cf_csr;

/* How cf_csr_from_pairs treats a (row, col) pair given more than once. */
enum cf_dup {
	CF_DUP_ONE = 0, /* the entry is 1, however often the pair occurs */
	CF_DUP_SUM = 1, /* the entry is the sum of the pair's values (a count) */
};

/* Builds an nrows x ncols CSR matrix from n (rows[t], cols[t]) pairs, with
 * values vals[t] (NULL means 1 each); pairs repeated within a row are merged
 * by `dup`. Pairs with a value <= 0 are dropped. On success fills *out (which
 * the caller releases with cf_csr_free); on error (SEG_EINVAL for an index out
 * of range, SEG_ENOMEM) *out is zeroed and nothing is allocated. */
int cf_csr_from_pairs(cf_csr *out, int32_t nrows, int32_t ncols, const int32_t *rows, const int32_t *cols,
                      const float *vals, size_t n, enum cf_dup dup, seg_error *err);

/* Fills *out with the transpose of `a` (ncols x nrows, columns ascending).
 * On error *out is zeroed. */
int cf_csr_transpose(const cf_csr *a, cf_csr *out, seg_error *err);

/* Releases the arrays of `m` and zeroes it; NULL is a no-op. */
void cf_csr_free(cf_csr *m);

/* ======================================================================== */
/* Item-to-item co-occurrence                                               */

/* How the playlist x track entries are weighted before the cosine. */
enum cf_weighting {
	CF_WEIGHT_COSINE = 0, /* raw values: s_ij = c_ij / sqrt(n_i n_j) for 0/1 data */
	CF_WEIGHT_BM25 = 1,   /* Okapi BM25 weights, then cosine (see cf_cooc_opts) */
};

/* Options of cf_cooc_build. Plain data; cf_cooc_opts_default fills it.
 *
 * With item columns w_i of the weighted U x I matrix W, the similarity is
 *     s_ij = (w_i . w_j) / (|w_i| |w_j| + shrink)        for i != j.
 * BM25 follows the implicit library's bm25_weight applied to the item x
 * playlist matrix, as implicit's BM25 recommenders and examples do: the items
 * are the "documents" and the playlists the "terms", so
 *     w_ui = r_ui (K1 + 1) / (K1 L_i + r_ui) * idf_u,
 *     idf_u = log(I) - log(1 + n_u),     n_u = entries in playlist u,
 *     L_i = (1 - B) + B * (sum_u r_ui) / mean over items of (sum_u r_ui).
 * A playlist's idf falls with its length: co-occurring in a 250-track playlist
 * says less than co-occurring in a 10-track one. (The other orientation gives
 * per-item idf, which the cosine cancels.) Unlike implicit's BM25Recommender,
 * which ranks by the raw dot products, the weighted columns are then compared
 * by cosine. */
typedef struct cf_cooc_opts {
	enum cf_weighting weighting; /* CF_WEIGHT_COSINE (default) or CF_WEIGHT_BM25 */
	float k1;                    /* BM25 K1, >= 0 (default 100, as implicit) */
	float b;                     /* BM25 B, in [0, 1] (default 0.8, as implicit) */
	float shrink;                /* added to the cosine's denominator, >= 0 (default 0) */
	int32_t topm;                /* neighbours kept per item, >= 1 (default 100) */
	int threads;                 /* worker threads; 0 = online CPUs (default) */
} cf_cooc_opts;

void cf_cooc_opts_default(cf_cooc_opts *o);

/* A sparse item x item similarity: for each item, at most M neighbours with a
 * positive similarity, by decreasing similarity (ties: lower index first).
 * Never contains i itself. Read-only after cf_cooc_build; safe to share
 * between threads. */
typedef struct cf_cooc {
	int32_t nitems;  /* I */
	int32_t topm;    /* M it was built with */
	int64_t *indptr; /* [I + 1] neighbours of i are indptr[i] .. indptr[i+1]-1 */
	int32_t *nbr;    /* [indptr[I]] neighbour item index */
	float *sim;      /* [indptr[I]] its similarity s_i,nbr */
} cf_cooc;

/* Builds the co-occurrence model from the U x I matrix `ui` and its transpose
 * `iu` (from cf_csr_transpose). Item i is computed by accumulating over the
 * playlists that contain it, so memory is O(I M) plus O(I) per thread. The
 * result does not depend on the number of threads. On success *out is a new
 * model (free with cf_cooc_free); on error *out is NULL. */
int cf_cooc_build(const cf_csr *ui, const cf_csr *iu, const cf_cooc_opts *o, cf_cooc **out, seg_error *err);

/* Frees a model; NULL is a no-op. */
void cf_cooc_free(cf_cooc *m);
/* Fills the lists of m (nitems, topm, indptr, nbr, sim; m's arrays must be
 * NULL) from per-chunk results of a parallel build over I items in chunks of
 * `chunk` items: count[i] neighbours of item i, found in chunk c's
 * chunk_i[c] / chunk_s[c] in item order (c = i / chunk). Frees each chunk
 * once it is copied and sets its pointers NULL, and gives the freed memory
 * back to the system as it goes, so that the peak is the lists plus a few
 * chunks rather than the lists twice (at 2M tracks RP3beta's lists are
 * gigabytes). SEG_ENOMEM (m's arrays may then be partly set: free
 * m with cf_cooc_free; the chunks not yet copied are left to the caller).
 * Shared by the builds of the neighbour-list models (co-occurrence here,
 * RP3beta in rp3.h). */
int cf_cooc_assemble(cf_cooc *m, int32_t I, int32_t topm, const int32_t *count, int64_t chunk, int32_t **chunk_i,
                     float **chunk_s);

/* Bytes of scratch cf_cooc_recommend needs for a seed set of `nseeds`
 * (caller scratch must be aligned like malloc's). */
size_t cf_cooc_scratch_size(const cf_cooc *m, size_t nseeds);

/* Scores every item for a seed set as the sum of the similarities from each
 * seed to it (only the seeds' top-M lists count) and writes the best
 * min(k, candidates) items to out_items/out_scores [k] by decreasing score
 * (ties: lower index first), their number to *n_out. Seeds (repeats allowed)
 * are never returned; an empty seed set gives no results. `scratch` is
 * cf_cooc_scratch_size bytes from the caller, or NULL to allocate one here.
 * Returns SEG_EINVAL for a seed out of range or k < 0. */
int cf_cooc_recommend(const cf_cooc *m, const int32_t *seeds, size_t nseeds, int32_t k, int32_t *out_items,
                      float *out_scores, int32_t *n_out, void *scratch, seg_error *err);

/* ======================================================================== */
/* Implicit ALS                                                             */

/* Options of ALS. Plain data; cf_als_opts_default fills it.
 * Confidence c_ui = 1 + alpha r_ui, preference p_ui = 1 for stored entries
 * (c = 1, p = 0 elsewhere). Training minimises
 *     L = sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + lambda (sum_u |x_u|^2 + sum_i |y_i|^2). */
typedef struct cf_als_opts {
	int32_t factors; /* F, >= 1 (default 64) */
	int iterations;  /* full sweeps (users then items) by cf_als_fit (default 15) */
	float alpha;     /* confidence slope, >= 0 (default 40, as Hu et al.) */
	float lambda;    /* L2 regularisation, > 0 (default 0.1) */
	int cg_steps;    /* CG steps per row, warm-started (default 3); 0 = exact
	                    Cholesky solves (slow: for tests and small data) */
	uint64_t seed;   /* of the initial factors (default 42) */
	int threads;     /* worker threads; 0 = online CPUs (default) */
} cf_als_opts;

void cf_als_opts_default(cf_als_opts *o);

/* Factor model. The factor arrays are plain row-major floats that callers may
 * read (and, before training, overwrite); item_norms and yty are derived from
 * item_factors by cf_als_create and cf_als_iterate, so after overwriting
 * item_factors run an iteration before folding in or recommending. The
 * struct is freed by cf_als_free. Read-only after training; safe to share
 * between threads. */
typedef struct cf_als {
	int32_t nusers;      /* U */
	int32_t nitems;      /* I */
	int32_t factors;     /* F */
	cf_als_opts opts;    /* options it was created with */
	float *user_factors; /* [U, F] x_u */
	float *item_factors; /* [I, F] y_i */
	float *item_norms;   /* [I] |y_i|, refreshed by every iteration */
	float *yty;          /* [F, F] Y^T Y of the current item factors */
} cf_als;

/* Creates a model for U users and I items with factors drawn uniformly from
 * [0, 0.01) by a generator seeded with o->seed (as implicit initialises).
 * On error *out is NULL. */
int cf_als_create(cf_als **out, int32_t nusers, int32_t nitems, const cf_als_opts *o, seg_error *err);

/* Frees a model; NULL is a no-op. */
void cf_als_free(cf_als *m);

/* Runs one ALS iteration on `ui` (U x I) and its transpose `iu`: solves every
 * user's factors from the item factors, then every item's from the new user
 * factors (o->cg_steps CG steps per row from its current factors, or exact
 * solves). When `loss` is not NULL it receives L after the iteration.
 * Deterministic: rows are solved independently in fixed blocks, so the same
 * inputs give bit-identical factors whatever o->threads (only the BLAS
 * library's own threading of Y^T Y could move the last bits). On error the
 * factors may be partly updated. */
int cf_als_iterate(cf_als *m, const cf_csr *ui, const cf_csr *iu, double *loss, seg_error *err);

/* Creates a model with cf_als_create and runs o->iterations iterations.
 * `losses` is NULL or [o->iterations]: the loss after each iteration (which
 * adds about a fifth to an iteration's time). On error *out is NULL. */
int cf_als_fit(const cf_csr *ui, const cf_csr *iu, const cf_als_opts *o, cf_als **out, double *losses, seg_error *err);

/* The training loss L of the current factors on `ui`. */
int cf_als_loss(const cf_als *m, const cf_csr *ui, double *loss, seg_error *err);

/* Bytes of scratch that cf_als_fold_in and cf_als_recommend need for a seed
 * set of `nseeds` and k results (caller scratch must be aligned like
 * malloc's; fold-in alone needs no room for results: k = 0). */
size_t cf_als_scratch_size(const cf_als *m, size_t nseeds, size_t k);

/* Solves the factors of a new user who holds the distinct items[0..n-1]
 * (with values vals[t], NULL = 1, as in a CSR row) exactly, by a Cholesky
 * solve of
 *     (Y^T C Y + lambda I) x = Y^T C p
 * with the model's item factors, writing x to x_out [F]. `scratch` as in
 * cf_als_recommend. An empty set gives x = 0. SEG_EINVAL for an item out of
 * range. */
int cf_als_fold_in(const cf_als *m, const int32_t *items, const float *vals, size_t n, float *x_out, void *scratch,
                   seg_error *err);

/* Folds the seed set in as a new user (each distinct seed once, value 1;
 * repeats allowed) and returns the k best items by x . y_i, seeds excluded,
 * into out_items/out_scores [k] (decreasing, ties to the lower index) and
 * their number in *n_out. An empty seed set gives no results. `scratch` is
 * cf_als_scratch_size(m, nseeds, k) bytes, or NULL to allocate here. */
int cf_als_recommend(const cf_als *m, const int32_t *seeds, size_t nseeds, int32_t k, int32_t *out_items,
                     float *out_scores, int32_t *n_out, void *scratch, seg_error *err);

/* Folds the seed set in as cf_als_recommend does and writes the score
 * x . y_i of each of items[0..n-1] to out_scores[n]: for an item that
 * cf_als_recommend returns, bit for bit the score it gives it. Seeds may be
 * among the items (they are scored like any other). Costs one fold-in and
 * n dot products of F floats, not a pass over every item: the way to score
 * candidates found by other means. An empty seed set scores every item 0.
 * `scratch` is cf_als_scratch_size(m, nseeds, 0) bytes, or NULL to
 * allocate here. SEG_EINVAL for an item or seed out of range. */
int cf_als_score(const cf_als *m, const int32_t *seeds, size_t nseeds, const int32_t *items, size_t n,
                 float *out_scores, void *scratch, seg_error *err);
/* An exact index for cf_als_recommend's top k: maximum inner product reduced
 * to cosine by one more dimension, then searched with the clustered exact
 * cosine index of the knn module. With M the largest item norm, item y_i
 * becomes the unit vector z_i = (y_i / M, sqrt(1 - |y_i|^2 / M^2)) and the
 * folded-in user x the unit vector q = (x / |x|, 0), so that
 *     q . z_i = x . y_i / (|x| M):
 * the same order as x . y_i. The clusters' bounds rule out items that
 * provably cannot enter the top k; the items the search returns are scored
 * again by x . y_i exactly as the full scan scores them, and more are
 * asked for while an item left out could still reach the k-th score within
 * the rounding that separates the two computations, so results (items,
 * order and scores, ties by the lower index) are those of
 * cf_als_recommend. Memory: [I, F + 1] floats and the knn index's byte
 * copy and clusters (about (F + 1) * 5 bytes an item). Building takes a
 * k-means over a sample and one pass over the items, far more than one
 * full scan: it pays only over many requests. Read-only after creation;
 * safe to share between threads. It borrows nothing from the model: the
 * model may be freed first. */
typedef struct cf_als_index cf_als_index;

/* Builds the index of the model's item factors into *out (NULL on error:
 * SEG_ENOMEM, or SEG_EINVAL for a non-finite factor). A model without items
 * gives an index that finds nothing. */
int cf_als_index_create(const cf_als *m, cf_als_index **out, seg_error *err);

/* Frees an index; NULL is a no-op. */
void cf_als_index_free(cf_als_index *ix);

/* cf_als_recommend through the index `ix` of the same model (NULL: the
 * full scan, exactly cf_als_recommend): the same arguments, the same
 * results (see cf_als_index). `scratch` is NULL (allocated here) or
 * cf_als_scratch_size(m, nseeds, k) bytes; the index search itself keeps
 * k + 8 hits, allocated here. Where the index cannot pay (k larger than
 * CF_ALS_INDEX_MAX_K, or a user whose factors are all zero) it runs the
 * full scan. Thread-safe as cf_als_recommend is. */
int cf_als_recommend_indexed(const cf_als *m, const cf_als_index *ix, const int32_t *seeds, size_t nseeds, int32_t k,
                             int32_t *out_items, float *out_scores, int32_t *n_out, void *scratch, seg_error *err);

/* The largest k cf_als_recommend_indexed takes the index for: for deeper
 * lists the clusters rule out too little to beat the plain scan. */
#define CF_ALS_INDEX_MAX_K 448

/* "Similar tracks": the k items whose factors have the highest cosine with
 * item `item`'s, the item itself excluded; items with zero factors score 0.
 * Same output conventions as cf_als_recommend; allocates k results of
 * scratch (SEG_ENOMEM when it cannot). */
int cf_als_similar_items(const cf_als *m, int32_t item, int32_t k, int32_t *out_items, float *out_scores,
                         int32_t *n_out, seg_error *err);

#endif
