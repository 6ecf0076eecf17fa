/* cf.c: collaborative filtering from playlists (see cf.h): CSR matrices
 * and what the co-occurrence (cf_cooc.c) and ALS (cf_als.c) parts share
 * (cf_internal.h). It does not map track ids to indices, persist models, or
 * blend with content similarity.
 *
 * Dimension legend: U playlists ("users"), I items (tracks), K results. */
#include "models/cf_internal.h"

#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Shared by the parts                                                      */

/* Results are core/topk's hits (row = item), in its total order: a higher
 * score first, equal scores by lower index. */
int32_t cf__hits_out(const topk_hit *h, size_t m, int32_t *out_items, float *out_scores)
{
	for (size_t q = 0; q < m; q++) {
		out_items[q] = (int32_t)h[q].row;
		out_scores[q] = h[q].score;
	}
	return (int32_t)m;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Copies seeds into `out`, checks them against [0, nitems), sorts and
 * removes repeats; returns the number left, or SEG_EINVAL. */
int64_t cf__seeds_prepare(const int32_t *seeds, size_t nseeds, int32_t nitems, int32_t *out, seg_error *err)
{
	for (size_t s = 0; s < nseeds; s++) {
		if (seeds[s] < 0 || seeds[s] >= nitems)
			return seg_error_set(err, SEG_EINVAL, "seed item %d is out of range [0, %d)", (int)seeds[s],
			                     (int)nitems);
		out[s] = seeds[s];
	}
	qsort(out, nseeds, sizeof *out, cmp_i32);
	size_t n = 0;
	for (size_t s = 0; s < nseeds; s++)
		if (n == 0 || out[n - 1] != out[s])
			out[n++] = out[s];
	return (int64_t)n;
}

int cf__seeds_contain(const int32_t *sorted, int64_t n, int32_t item)
{
	return n > 0 && bsearch(&item, sorted, (size_t)n, sizeof *sorted, cmp_i32) != NULL;
}

/* The start of cf_cooc_recommend and cf_als_recommend: checks the arguments
 * and points *scratch at the caller's buffer or at a new one of `size` bytes
 * (then also *own, for the caller to free). Returns 1 to go on, 0 when there
 * is nothing to recommend (no seeds, k = 0), or an error. */
int cf__recommend_begin(const int32_t *seeds, size_t nseeds, int32_t k, size_t size, void **scratch, void **own,
                        int32_t *n_out, seg_error *err)
{
	*n_out = 0;
	*own = NULL;
	if (k < 0 || (nseeds > 0 && seeds == NULL))
		return seg_error_set(err, SEG_EINVAL, "bad recommendation arguments (k %d)", (int)k);
	if (nseeds == 0 || k == 0)
		return 0;
	if (*scratch == NULL) {
		*own = *scratch = malloc(size);
		if (*own == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory scoring %zu seeds", nseeds);
	}
	return 1;
}
/* ======================================================================== */
/* CSR                                                                      */

typedef struct col_val {
	int32_t col;
	float val;
} col_val;

static int cmp_col_val(const void *a, const void *b)
{
	const col_val *x = a, *y = b;
	if (x->col != y->col)
		return (x->col > y->col) - (x->col < y->col);
	return (x->val > y->val) - (x->val < y->val); /* fixes the summation order */
}

void cf_csr_free(cf_csr *m)
{
	if (m == NULL)
		return;
	free(m->indptr);
	free(m->indices);
	free(m->data);
	memset(m, 0, sizeof *m);
}

int cf_csr_from_pairs(cf_csr *out, int32_t nrows, int32_t ncols, const int32_t *rows, const int32_t *cols,
                      const float *vals, size_t n, enum cf_dup dup, seg_error *err)
{
	int rc = 0;
	col_val *tmp = NULL;   /* [n] entries grouped by row */
	int64_t *start = NULL; /* [nrows + 1] first entry of each row in tmp */
	memset(out, 0, sizeof *out);
	if (nrows < 0 || ncols < 0 || (n > 0 && (rows == NULL || cols == NULL)))
		return seg_error_set(err, SEG_EINVAL, "bad CSR dimensions or pair arrays");
	for (size_t t = 0; t < n; t++)
		if (rows[t] < 0 || rows[t] >= nrows || cols[t] < 0 || cols[t] >= ncols)
			return seg_error_set(err, SEG_EINVAL, "pair %zu (%d, %d) is outside a %d x %d matrix", t,
			                     (int)rows[t], (int)cols[t], (int)nrows, (int)ncols);

	start = calloc((size_t)nrows + 1, sizeof *start);
	tmp = malloc((n ? n : 1) * sizeof *tmp);
	out->indptr = calloc((size_t)nrows + 1, sizeof *out->indptr);
	if (start == NULL || tmp == NULL || out->indptr == NULL)
		goto nomem;

	/* Counting sort by row, then sort and merge each row. */
	for (size_t t = 0; t < n; t++)
		if (vals == NULL || vals[t] > 0)
			start[rows[t] + 1]++;
	for (int32_t r = 0; r < nrows; r++)
		start[r + 1] += start[r];
	int64_t *fill = out->indptr; /* borrowed as a cursor, rebuilt below */
	memcpy(fill, start, (size_t)nrows * sizeof *fill);
	for (size_t t = 0; t < n; t++) {
		float v = vals ? vals[t] : 1.0f;
		if (v > 0)
			tmp[fill[rows[t]]++] = (col_val){cols[t], v};
	}
	int64_t nnz = 0;
	out->indptr[0] = 0;
	for (int32_t r = 0; r < nrows; r++) {
		col_val *row = tmp + start[r];
		int64_t len = start[r + 1] - start[r];
		qsort(row, (size_t)len, sizeof *row, cmp_col_val);
		for (int64_t q = 0; q < len; q++) {
			if (q > 0 && row[q].col == tmp[nnz - 1].col) {
				if (dup == CF_DUP_SUM)
					tmp[nnz - 1].val += row[q].val;
				continue;
			}
			tmp[nnz++] = (col_val){row[q].col, dup == CF_DUP_SUM ? row[q].val : 1.0f};
		}
		out->indptr[r + 1] = nnz;
	}

	out->indices = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->indices);
	out->data = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->data);
	if (out->indices == NULL || out->data == NULL)
		goto nomem;
	for (int64_t q = 0; q < nnz; q++) {
		out->indices[q] = tmp[q].col;
		out->data[q] = tmp[q].val;
	}
	out->nrows = nrows;
	out->ncols = ncols;
	out->nnz = nnz;
	goto out;

nomem:
	cf_csr_free(out);
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory building a %d x %d CSR matrix", (int)nrows, (int)ncols);
out:
	free(tmp);
	free(start);
	return rc;
}

int cf_csr_transpose(const cf_csr *a, cf_csr *out, seg_error *err)
{
	memset(out, 0, sizeof *out);
	int64_t nnz = a->nnz;
	out->indptr = calloc((size_t)a->ncols + 1, sizeof *out->indptr);
	out->indices = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->indices);
	out->data = malloc((nnz ? (size_t)nnz : 1) * sizeof *out->data);
	int64_t *fill = malloc(((size_t)a->ncols + 1) * sizeof *fill);
	if (out->indptr == NULL || out->indices == NULL || out->data == NULL || fill == NULL) {
		free(fill);
		cf_csr_free(out);
		return seg_error_set(err, SEG_ENOMEM, "out of memory transposing a CSR matrix");
	}
	for (int64_t q = 0; q < nnz; q++)
		out->indptr[a->indices[q] + 1]++;
	for (int32_t c = 0; c < a->ncols; c++)
		out->indptr[c + 1] += out->indptr[c];
	memcpy(fill, out->indptr, ((size_t)a->ncols + 1) * sizeof *fill);
	/* Visiting rows in order leaves each new row's columns ascending. */
	for (int32_t r = 0; r < a->nrows; r++)
		for (int64_t q = a->indptr[r]; q < a->indptr[r + 1]; q++) {
			int64_t at = fill[a->indices[q]]++;
			out->indices[at] = r;
			out->data[at] = a->data[q];
		}
	free(fill);
	out->nrows = a->ncols;
	out->ncols = a->nrows;
	out->nnz = nnz;
	return 0;
}

int cf__csr_check_pair(const cf_csr *ui, const cf_csr *iu, seg_error *err)
{
	if (ui == NULL || iu == NULL || ui->nrows != iu->ncols || ui->ncols != iu->nrows || ui->nnz != iu->nnz)
		return seg_error_set(err, SEG_EINVAL,
		                     "the item x playlist matrix is not the transpose of the "
		                     "playlist x item matrix");
	return 0;
}
