/* test_cf.c: collaborative filtering (cf.h). Co-occurrence against cosine
 * values worked out by hand and BM25 values from numpy/scipy
 * (tests/golden/cf_golden.py, output in tests/golden/cf_golden.txt); one ALS
 * iteration against numpy's closed-form update; the ALS loss going down; the
 * fold-in; recall on planted blocks; determinism; errors. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/cf.h"
#include "core/error.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* Block `name` of tests/golden/cf_golden.txt. */
static double *golden(const char *name, int *rows, int *cols)
{
	return tu_golden_block("cf_golden.txt", name, rows, cols);
}

/* Builds a CSR matrix (and its transpose) from a dense [rows, cols] array of
 * counts, as repeated pairs so that CF_DUP_SUM is exercised. */
static void csr_from_dense(const double *d, int rows, int cols, cf_csr *ui, cf_csr *iu)
{
	size_t n = 0, cap = 16;
	int32_t *r = malloc(cap * sizeof *r), *c = malloc(cap * sizeof *c);
	for (int u = 0; u < rows; u++)
		for (int i = 0; i < cols; i++)
			for (int t = 0; t < (int)d[u * cols + i]; t++) {
				if (n == cap) {
					cap *= 2;
					r = realloc(r, cap * sizeof *r);
					c = realloc(c, cap * sizeof *c);
				}
				r[n] = u;
				c[n++] = i;
			}
	assert_int_equal(cf_csr_from_pairs(ui, rows, cols, r, c, NULL, n, CF_DUP_SUM, NULL), 0);
	assert_int_equal(cf_csr_transpose(ui, iu, NULL), 0);
	free(r);
	free(c);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1p-53; }

/* A random U x I 0/1 matrix with about `density` of its cells set (every
 * playlist gets at least one item). */
static void random_matrix(int U, int I, double density, uint64_t seed, cf_csr *ui, cf_csr *iu)
{
	size_t cap = (size_t)U * I, n = 0;
	int32_t *r = malloc(cap * sizeof *r), *c = malloc(cap * sizeof *c);
	for (int u = 0; u < U; u++) {
		r[n] = u;
		c[n++] = (int32_t)(rng_next(&seed) % (uint64_t)I);
		for (int i = 0; i < I; i++)
			if (rng_unit(&seed) < density) {
				r[n] = u;
				c[n++] = i;
			}
	}
	assert_int_equal(cf_csr_from_pairs(ui, U, I, r, c, NULL, n, CF_DUP_ONE, NULL), 0);
	assert_int_equal(cf_csr_transpose(ui, iu, NULL), 0);
	free(r);
	free(c);
}

/* Similarity of i to j in a co-occurrence model (0 when not kept). */
static float cooc_sim(const cf_cooc *m, int32_t i, int32_t j)
{
	for (int64_t q = m->indptr[i]; q < m->indptr[i + 1]; q++)
		if (m->nbr[q] == j)
			return m->sim[q];
	return 0.0f;
}

/* ------------------------------------------------------------------------ */
/* CSR                                                                      */

static void test_csr_build_transpose(void **state)
{
	(void)state;
	/* Row 0 names item 2 twice and item 0 once; row 2 is empty. */
	int32_t r[] = {0, 0, 1, 0, 1, 3};
	int32_t c[] = {2, 0, 1, 2, 3, 2};
	float v[] = {1, 1, 1, 2, 1, 5};
	cf_csr a, t;
	assert_int_equal(cf_csr_from_pairs(&a, 4, 4, r, c, NULL, 6, CF_DUP_ONE, NULL), 0);
	assert_int_equal(a.nnz, 5);
	int64_t ip[] = {0, 2, 4, 4, 5};
	int32_t ix[] = {0, 2, 1, 3, 2};
	for (int q = 0; q < 5; q++) {
		assert_int_equal(a.indptr[q], ip[q]);
		assert_int_equal(a.indices[q], ix[q]);
		assert_float_equal(a.data[q], 1.0f, 0.0f);
	}
	cf_csr_free(&a);

	assert_int_equal(cf_csr_from_pairs(&a, 4, 4, r, c, v, 6, CF_DUP_SUM, NULL), 0);
	assert_float_equal(a.data[1], 3.0f, 0.0f); /* (0, 2): 1 + 2 */
	assert_float_equal(a.data[4], 5.0f, 0.0f);
	assert_int_equal(cf_csr_transpose(&a, &t, NULL), 0);
	assert_int_equal(t.nrows, 4);
	assert_int_equal(t.nnz, 5);
	/* Column 2 held rows 0 (3) and 3 (5), in row order. */
	assert_int_equal(t.indptr[3] - t.indptr[2], 2);
	assert_int_equal(t.indices[t.indptr[2]], 0);
	assert_int_equal(t.indices[t.indptr[2] + 1], 3);
	assert_float_equal(t.data[t.indptr[2] + 1], 5.0f, 0.0f);
	cf_csr_free(&a);
	cf_csr_free(&t);
	cf_csr_free(NULL);

	seg_error err;
	int32_t bad[] = {4};
	assert_int_equal(cf_csr_from_pairs(&a, 4, 4, bad, c, NULL, 1, CF_DUP_ONE, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "outside"));
	assert_null(a.indptr);
	assert_int_equal(cf_csr_from_pairs(&a, 3, 2, NULL, NULL, NULL, 0, CF_DUP_ONE, NULL), 0);
	assert_int_equal(a.nnz, 0);
	assert_int_equal(a.indptr[3], 0);
	cf_csr_free(&a);
}

/* ------------------------------------------------------------------------ */
/* Co-occurrence                                                            */

/* Four playlists over five tracks (0/1):
 *   p0 {0, 1, 2}   p1 {0, 1}   p2 {1, 2, 3}   p3 {3, 4}
 * Item counts n = (2, 3, 2, 2, 1); co-occurrences c01 = 2 (p0, p1), c02 = 1,
 * c12 = 2 (p0, p2), c13 = 1, c23 = 1, c34 = 1, the rest 0. Cosine:
 *   s01 = 2/sqrt(6) = 0.816497  s02 = 1/2 = 0.5      s12 = 2/sqrt(6)
 *   s13 = 1/sqrt(6) = 0.408248  s23 = 1/2 = 0.5      s34 = 1/sqrt(2) = 0.707107
 * With shrink 1: s01 = 2/(sqrt(6) + 1) = 0.579796, s34 = 1/(sqrt(2) + 1) = 0.414214. */
static void tiny_matrix(cf_csr *ui, cf_csr *iu)
{
	int32_t r[] = {0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 1}; /* the last pair repeats (1, 0) */
	int32_t c[] = {0, 1, 2, 0, 1, 1, 2, 3, 3, 4, 0};
	assert_int_equal(cf_csr_from_pairs(ui, 4, 5, r, c, NULL, 11, CF_DUP_ONE, NULL), 0);
	assert_int_equal(cf_csr_transpose(ui, iu, NULL), 0);
}

static void test_cooc_cosine_by_hand(void **state)
{
	(void)state;
	cf_csr ui, iu;
	tiny_matrix(&ui, &iu);
	cf_cooc_opts o;
	cf_cooc_opts_default(&o);
	o.threads = 2;
	cf_cooc *m;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &m, NULL), 0);
	const double s6 = sqrt(6.0);
	assert_float_equal(cooc_sim(m, 0, 1), 2 / s6, 1e-6);
	assert_float_equal(cooc_sim(m, 1, 0), 2 / s6, 1e-6);
	assert_float_equal(cooc_sim(m, 0, 2), 0.5, 1e-6);
	assert_float_equal(cooc_sim(m, 1, 2), 2 / s6, 1e-6);
	assert_float_equal(cooc_sim(m, 1, 3), 1 / s6, 1e-6);
	assert_float_equal(cooc_sim(m, 2, 3), 0.5, 1e-6);
	assert_float_equal(cooc_sim(m, 4, 3), 1 / sqrt(2.0), 1e-6);
	assert_float_equal(cooc_sim(m, 0, 3), 0.0, 0.0); /* never together: not stored */
	/* Item 1's list: 0 and 2 tie at 2/sqrt(6), lower index first, then 3. */
	assert_int_equal(m->indptr[2] - m->indptr[1], 3);
	assert_int_equal(m->nbr[m->indptr[1]], 0);
	assert_int_equal(m->nbr[m->indptr[1] + 1], 2);
	assert_int_equal(m->nbr[m->indptr[1] + 2], 3);
	for (int32_t i = 0; i < 5; i++)
		assert_float_equal(cooc_sim(m, i, i), 0.0, 0.0);
	cf_cooc_free(m);

	o.shrink = 1.0f;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &m, NULL), 0);
	assert_float_equal(cooc_sim(m, 0, 1), 2 / (s6 + 1), 1e-6);
	assert_float_equal(cooc_sim(m, 3, 4), 1 / (sqrt(2.0) + 1), 1e-6);
	cf_cooc_free(m);

	/* Top-M truncation: M = 2 keeps 1's two best (0 and 2, not 3). */
	o.shrink = 0.0f;
	o.topm = 2;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &m, NULL), 0);
	assert_int_equal(m->indptr[2] - m->indptr[1], 2);
	assert_float_equal(cooc_sim(m, 1, 3), 0.0, 0.0);
	assert_float_equal(cooc_sim(m, 3, 1), 0.0, 0.0); /* 3 keeps 4 (0.71) and 2 (0.5) */
	assert_float_equal(cooc_sim(m, 3, 2), 0.5, 1e-6);
	assert_float_equal(cooc_sim(m, 4, 3), 1 / sqrt(2.0), 1e-6); /* 4's only one */
	for (int32_t i = 0; i < 5; i++)
		assert_true(m->indptr[i + 1] - m->indptr[i] <= 2);
	cf_cooc_free(m);
	cf_cooc_free(NULL);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* Compares every pair of a model built with M >= I against a golden block. */
static void check_cooc_golden(const cf_csr *ui, const cf_csr *iu, enum cf_weighting w, float k1, float b, float shrink,
                              const char *block)
{
	int rows, cols;
	double *want = golden(block, &rows, &cols);
	assert_int_equal(rows, ui->ncols);
	cf_cooc_opts o;
	cf_cooc_opts_default(&o);
	o.weighting = w;
	o.k1 = k1;
	o.b = b;
	o.shrink = shrink;
	o.topm = ui->ncols;
	o.threads = 2;
	cf_cooc *m;
	assert_int_equal(cf_cooc_build(ui, iu, &o, &m, NULL), 0);
	double maxdiff = 0.0;
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++) {
			double d = fabs(cooc_sim(m, i, j) - want[i * cols + j]);
			if (d > maxdiff)
				maxdiff = d;
		}
	printf("# %s: largest difference from numpy %.3g\n", block, maxdiff);
	assert_true(maxdiff < 1e-6);
	cf_cooc_free(m);
	free(want);
}

static void test_cooc_golden(void **state)
{
	(void)state;
	int rows, cols;
	double *R = golden("cooc_R", &rows, &cols);
	cf_csr ui, iu;
	csr_from_dense(R, rows, cols, &ui, &iu);
	check_cooc_golden(&ui, &iu, CF_WEIGHT_COSINE, 0, 0, 0, "cooc_cos_counts");
	check_cooc_golden(&ui, &iu, CF_WEIGHT_BM25, 1.2f, 0.75f, 0, "cooc_bm25_k1.2_b0.75");
	check_cooc_golden(&ui, &iu, CF_WEIGHT_BM25, 100.0f, 0.8f, 0.5f, "cooc_bm25_k100_b0.8_shrink0.5");

	/* Truncated to M = 2, each list is the two largest of the golden row. */
	double *want = golden("cooc_bm25_k1.2_b0.75", &rows, &cols);
	cf_cooc_opts o;
	cf_cooc_opts_default(&o);
	o.weighting = CF_WEIGHT_BM25;
	o.k1 = 1.2f;
	o.b = 0.75f;
	o.topm = 2;
	cf_cooc *m;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &m, NULL), 0);
	for (int i = 0; i < rows; i++) {
		assert_int_equal(m->indptr[i + 1] - m->indptr[i], 2);
		const float *s = m->sim + m->indptr[i];
		assert_true(s[0] >= s[1]);
		int larger = 0; /* golden entries above the second kept one */
		for (int j = 0; j < cols; j++)
			if (want[i * cols + j] > s[1] + 1e-6)
				larger++;
		assert_true(larger <= 1);
	}
	cf_cooc_free(m);
	free(want);
	free(R);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

static void test_cooc_recommend(void **state)
{
	(void)state;
	cf_csr ui, iu;
	tiny_matrix(&ui, &iu);
	cf_cooc *m;
	assert_int_equal(cf_cooc_build(&ui, &iu, NULL, &m, NULL), 0);
	int32_t items[8];
	float scores[8];
	int32_t n;
	const double s6 = sqrt(6.0);

	int32_t s0[] = {0};
	assert_int_equal(cf_cooc_recommend(m, s0, 1, 8, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(items[0], 1);
	assert_float_equal(scores[0], 2 / s6, 1e-6);
	assert_int_equal(items[1], 2);
	assert_float_equal(scores[1], 0.5, 1e-6);

	/* {0, 3}: 1 = 2/sqrt(6) + 1/sqrt(6), 2 = 1/2 + 1/2, 4 = 1/sqrt(2); seeds
	 * excluded; repeats and order of seeds do not matter. Caller's scratch. */
	int32_t s03[] = {3, 0, 3};
	_Alignas(max_align_t) char scratch[8192];
	assert_true(cf_cooc_scratch_size(m, 3) <= sizeof scratch);
	assert_int_equal(cf_cooc_recommend(m, s03, 3, 8, items, scores, &n, scratch, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(items[0], 1);
	assert_float_equal(scores[0], 3 / s6, 1e-6);
	assert_int_equal(items[1], 2);
	assert_float_equal(scores[1], 1.0, 1e-6);
	assert_int_equal(items[2], 4);
	assert_float_equal(scores[2], 1 / sqrt(2.0), 1e-6);
	assert_int_equal(cf_cooc_recommend(m, s03, 3, 1, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(items[0], 1);

	/* {0, 1}: each is the other's neighbour but neither comes back. */
	int32_t s01[] = {0, 1};
	assert_int_equal(cf_cooc_recommend(m, s01, 2, 8, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(items[0], 2);
	assert_float_equal(scores[0], 0.5 + 2 / s6, 1e-6);
	assert_int_equal(items[1], 3);

	/* Empty seed set, k = 0, bad seed. */
	assert_int_equal(cf_cooc_recommend(m, NULL, 0, 8, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cf_cooc_recommend(m, s0, 1, 0, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(n, 0);
	seg_error err;
	int32_t bad[] = {0, 5};
	assert_int_equal(cf_cooc_recommend(m, bad, 2, 8, items, scores, &n, NULL, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(n, 0);
	cf_cooc_free(m);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

static void test_cooc_threads_agree(void **state)
{
	(void)state;
	cf_csr ui, iu;
	random_matrix(300, 500, 0.03, 7, &ui, &iu);
	cf_cooc_opts o;
	cf_cooc_opts_default(&o);
	o.weighting = CF_WEIGHT_BM25;
	o.topm = 20;
	o.threads = 1;
	cf_cooc *a, *b;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &a, NULL), 0);
	o.threads = 2;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &b, NULL), 0);
	assert_int_equal(a->indptr[500], b->indptr[500]);
	assert_memory_equal(a->indptr, b->indptr, 501 * sizeof *a->indptr);
	assert_memory_equal(a->nbr, b->nbr, (size_t)a->indptr[500] * sizeof *a->nbr);
	assert_memory_equal(a->sim, b->sim, (size_t)a->indptr[500] * sizeof *a->sim);
	cf_cooc_free(a);
	cf_cooc_free(b);

	seg_error err;
	o.topm = 0;
	assert_int_equal(cf_cooc_build(&ui, &iu, &o, &a, &err), SEG_EINVAL);
	assert_null(a);
	o.topm = 10;
	assert_int_equal(cf_cooc_build(&ui, &ui, &o, &a, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "transpose"));
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* ------------------------------------------------------------------------ */
/* ALS                                                                      */

static double max_diff(const float *a, const double *b, size_t n)
{
	double m = 0.0;
	for (size_t q = 0; q < n; q++)
		if (fabs(a[q] - b[q]) > m)
			m = fabs(a[q] - b[q]);
	return m;
}

/* One iteration from the golden starting factors, with exact Cholesky solves
 * and with enough CG steps to converge, against numpy's closed form. */
static void test_als_one_iteration_golden(void **state)
{
	(void)state;
	int rows, cols, U, I, F, r2, c2;
	double *par = golden("als_params", &r2, &c2);
	double *R = golden("als_R", &U, &I);
	double *X0 = golden("als_X0", &rows, &F);
	double *Y0 = golden("als_Y0", &rows, &cols);
	double *X1 = golden("als_X1", &rows, &cols);
	double *Y1 = golden("als_Y1", &rows, &cols);
	double *X2 = golden("als_X2", &rows, &cols);
	double *loss = golden("als_loss", &r2, &c2);
	assert_int_equal((int)par[0], F);
	cf_csr ui, iu;
	csr_from_dense(R, U, I, &ui, &iu);

	for (int variant = 0; variant < 2; variant++) {
		cf_als_opts o;
		cf_als_opts_default(&o);
		o.factors = F;
		o.alpha = (float)par[1];
		o.lambda = (float)par[2];
		o.cg_steps = variant == 0 ? 0 : 50;
		o.threads = 2;
		cf_als *m;
		assert_int_equal(cf_als_create(&m, U, I, &o, NULL), 0);
		for (int q = 0; q < U * F; q++)
			m->user_factors[q] = (float)X0[q];
		for (int q = 0; q < I * F; q++)
			m->item_factors[q] = (float)Y0[q];
		double l0, l1;
		assert_int_equal(cf_als_loss(m, &ui, &l0, NULL), 0);
		assert_int_equal(cf_als_iterate(m, &ui, &iu, &l1, NULL), 0);
		double dx = max_diff(m->user_factors, X1, (size_t)U * F);
		double dy = max_diff(m->item_factors, Y1, (size_t)I * F);
		printf("# %s: largest difference from numpy: X %.3g, Y %.3g; loss %.6f -> %.6f "
		       "(numpy %.6f -> %.6f)\n",
		       variant == 0 ? "exact" : "CG x50", dx, dy, l0, l1, loss[0], loss[1]);
		assert_true(dx < 1e-4);
		assert_true(dy < 1e-4);
		assert_float_equal(l0, loss[0], 1e-5 * loss[0]);
		assert_float_equal(l1, loss[1], 1e-4 * loss[1]);
		/* Folding each user in again (with its counts) is numpy's next user step. */
		double dfold = 0.0;
		for (int u = 0; u < U; u++) {
			float x[16];
			int64_t b = ui.indptr[u], n = ui.indptr[u + 1] - b;
			assert_int_equal(cf_als_fold_in(m, ui.indices + b, ui.data + b, (size_t)n, x, NULL, NULL), 0);
			double d = max_diff(x, X2 + (size_t)u * F, (size_t)F);
			dfold = d > dfold ? d : dfold;
		}
		printf("# fold-in: largest difference from numpy %.3g\n", dfold);
		assert_true(dfold < 1e-4);
		cf_als_free(m);
	}
	cf_als_free(NULL);
	free(par);
	free(R);
	free(X0);
	free(Y0);
	free(X1);
	free(Y1);
	free(X2);
	free(loss);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

static void test_als_loss_decreases(void **state)
{
	(void)state;
	cf_csr ui, iu;
	random_matrix(300, 200, 0.05, 11, &ui, &iu);
	cf_als_opts o;
	cf_als_opts_default(&o);
	o.factors = 16;
	o.alpha = 10.0f;
	o.iterations = 10;
	o.threads = 2;
	double losses[10], before;
	cf_als *m;
	assert_int_equal(cf_als_create(&m, 300, 200, &o, NULL), 0);
	assert_int_equal(cf_als_loss(m, &ui, &before, NULL), 0);
	cf_als_free(m);
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &m, losses, NULL), 0);
	printf("# loss: %.2f", before);
	for (int t = 0; t < 10; t++)
		printf(" %.2f", losses[t]);
	printf("\n");
	assert_true(losses[0] < before);
	for (int t = 1; t < 10; t++)
		assert_true(losses[t] <= losses[t - 1] * (1 + 1e-6));
	assert_true(losses[9] < 0.9 * losses[0]);
	double again;
	assert_int_equal(cf_als_loss(m, &ui, &again, NULL), 0);
	assert_float_equal(again, losses[9], 1e-6 * again);
	cf_als_free(m);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* Planted structure: B blocks of I/B items; each user draws most items from
 * its own block and two from anywhere. Four of its in-block items are held
 * out. */
enum { PB_U = 400, PB_I = 200, PB_B = 5, PB_IN = 16, PB_HOLD = 4, PB_NOISE = 2 };

typedef struct planted {
	cf_csr ui, iu;
	int32_t train[PB_U][PB_IN - PB_HOLD + PB_NOISE]; /* each user's training items */
	int32_t hold[PB_U][PB_HOLD];                     /* its held-out items */
} planted;

static planted *planted_make(uint64_t seed)
{
	planted *p = calloc(1, sizeof *p);
	assert_non_null(p);
	int per = PB_I / PB_B, ntrain = PB_IN - PB_HOLD + PB_NOISE;
	int32_t *r = malloc((size_t)PB_U * ntrain * sizeof *r);
	int32_t *c = malloc((size_t)PB_U * ntrain * sizeof *c);
	size_t n = 0;
	for (int u = 0; u < PB_U; u++) {
		int blk = u % PB_B;
		int32_t perm[PB_I / PB_B];
		for (int q = 0; q < per; q++)
			perm[q] = blk * per + q;
		for (int q = 0; q < PB_IN; q++) { /* partial Fisher-Yates */
			int s = q + (int)(rng_next(&seed) % (uint64_t)(per - q));
			int32_t t = perm[q];
			perm[q] = perm[s];
			perm[s] = t;
		}
		int t = 0;
		for (int q = 0; q < PB_IN - PB_HOLD; q++)
			p->train[u][t++] = perm[q];
		for (int q = 0; q < PB_HOLD; q++)
			p->hold[u][q] = perm[PB_IN - PB_HOLD + q];
		while (t < ntrain) { /* noise from other blocks */
			int32_t i = (int32_t)(rng_next(&seed) % PB_I);
			if (i / per != blk)
				p->train[u][t++] = i;
		}
		for (int q = 0; q < ntrain; q++) {
			r[n] = u;
			c[n++] = p->train[u][q];
		}
	}
	assert_int_equal(cf_csr_from_pairs(&p->ui, PB_U, PB_I, r, c, NULL, n, CF_DUP_ONE, NULL), 0);
	assert_int_equal(cf_csr_transpose(&p->ui, &p->iu, NULL), 0);
	free(r);
	free(c);
	return p;
}

static void planted_free(planted *p)
{
	cf_csr_free(&p->ui);
	cf_csr_free(&p->iu);
	free(p);
}

static double recall_of(const planted *p, int32_t u, const int32_t *items, int32_t n)
{
	int hits = 0;
	for (int32_t q = 0; q < n; q++)
		for (int h = 0; h < PB_HOLD; h++)
			hits += items[q] == p->hold[u][h];
	return (double)hits / PB_HOLD;
}

static void test_als_fold_in(void **state)
{
	(void)state;
	planted *p = planted_make(3);
	cf_als_opts o;
	cf_als_opts_default(&o);
	o.factors = 8;
	o.alpha = 5.0f;
	o.lambda = 1.0f;
	o.iterations = 20;
	o.threads = 2;
	cf_als *m;
	assert_int_equal(cf_als_fit(&p->ui, &p->iu, &o, &m, NULL, NULL), 0);
	int F = m->factors, ntrain = PB_IN - PB_HOLD + PB_NOISE;
	/* Not equal: x_u was solved (by 3 CG steps) against the previous item
	 * factors, and ALS closes that gap only as it converges. So compare the
	 * direction of the factors, and the top 10 they recommend. */
	double worst_cos = 1.0;
	int overlap = 0, lists = 0;
	float x[8];
	char *scratch = malloc(cf_als_scratch_size(m, (size_t)ntrain, 10));
	for (int32_t u = 0; u < PB_U; u += 7) {
		assert_int_equal(cf_als_fold_in(m, p->train[u], NULL, (size_t)ntrain, x, scratch, NULL), 0);
		const float *xu = m->user_factors + (size_t)u * F;
		double dot = 0, nx = 0, nu = 0;
		for (int f = 0; f < F; f++) {
			dot += x[f] * xu[f];
			nx += x[f] * x[f];
			nu += xu[f] * xu[f];
		}
		worst_cos = fmin(worst_cos, dot / sqrt(nx * nu));
		/* The trained factors' top 10 outside the training items, by selection. */
		float su[PB_I];
		for (int32_t i = 0; i < PB_I; i++) {
			su[i] = 0;
			for (int f = 0; f < F; f++)
				su[i] += xu[f] * m->item_factors[(size_t)i * F + f];
			for (int t = 0; t < ntrain; t++)
				if (p->train[u][t] == i)
					su[i] = -INFINITY;
		}
		int32_t want[10], got[10], n;
		float sc[10];
		for (int q = 0; q < 10; q++) {
			int32_t best = 0;
			for (int32_t i = 1; i < PB_I; i++)
				if (su[i] > su[best])
					best = i;
			want[q] = best;
			su[best] = -INFINITY;
		}
		assert_int_equal(cf_als_recommend(m, p->train[u], (size_t)ntrain, 10, got, sc, &n, scratch, NULL), 0);
		for (int q = 0; q < n; q++)
			for (int t = 0; t < 10; t++)
				overlap += got[q] == want[t];
		lists++;
	}
	printf("# fold-in vs trained users: lowest cosine %.4f, top-10 overlap %.2f\n", worst_cos,
	       (double)overlap / (10 * lists));
	assert_true(worst_cos > 0.99);
	assert_true(overlap >= 0.8 * 10 * lists);
	assert_int_equal(cf_als_fold_in(m, NULL, NULL, 0, x, NULL, NULL), 0);
	for (int f = 0; f < F; f++)
		assert_float_equal(x[f], 0.0f, 0.0f);
	int32_t bad = PB_I;
	assert_int_equal(cf_als_fold_in(m, &bad, NULL, 1, x, NULL, NULL), SEG_EINVAL);
	free(scratch);
	cf_als_free(m);
	planted_free(p);
}

static void test_recall_planted_blocks(void **state)
{
	(void)state;
	planted *p = planted_make(5);
	cf_als_opts o;
	cf_als_opts_default(&o);
	o.factors = 16;
	o.alpha = 10.0f;
	o.iterations = 10;
	o.threads = 2;
	cf_als *m;
	assert_int_equal(cf_als_fit(&p->ui, &p->iu, &o, &m, NULL, NULL), 0);
	cf_cooc_opts co;
	cf_cooc_opts_default(&co);
	co.weighting = CF_WEIGHT_BM25;
	co.topm = 50;
	cf_cooc *cm;
	assert_int_equal(cf_cooc_build(&p->ui, &p->iu, &co, &cm, NULL), 0);

	enum { K = 10 };
	int ntrain = PB_IN - PB_HOLD + PB_NOISE;
	double r_als = 0, r_cooc = 0, r_rand = 0;
	int32_t items[K];
	float scores[K];
	int32_t n;
	uint64_t seed = 99;
	char *scratch = malloc(cf_als_scratch_size(m, (size_t)ntrain, K));
	for (int32_t u = 0; u < PB_U; u++) {
		assert_int_equal(cf_als_recommend(m, p->train[u], (size_t)ntrain, K, items, scores, &n, scratch, NULL),
		                 0);
		assert_int_equal(n, K);
		for (int32_t q = 0; q < n; q++) {
			for (int t = 0; t < ntrain; t++)
				assert_int_not_equal(items[q], p->train[u][t]);
			if (q > 0)
				assert_true(scores[q] <= scores[q - 1]);
		}
		r_als += recall_of(p, u, items, n);
		assert_int_equal(cf_cooc_recommend(cm, p->train[u], (size_t)ntrain, K, items, scores, &n, NULL, NULL),
		                 0);
		r_cooc += recall_of(p, u, items, n);
		for (int q = 0; q < K; q++) /* random items (repeats allowed: a bound) */
			items[q] = (int32_t)(rng_next(&seed) % PB_I);
		r_rand += recall_of(p, u, items, K);
	}
	r_als /= PB_U;
	r_cooc /= PB_U;
	r_rand /= PB_U;
	printf("# recall@%d on planted blocks: ALS %.3f, co-occurrence %.3f, random %.3f\n", K, r_als, r_cooc, r_rand);
	assert_true(r_als > 0.25 && r_als > 5 * r_rand);
	assert_true(r_cooc > 0.25 && r_cooc > 5 * r_rand);

	/* One seed (a path of its own, without the sort): the first k of its
	 * own list, best first, with their similarities as scores. */
	for (int32_t i = 0; i < PB_I; i += 7) {
		int64_t len = cm->indptr[i + 1] - cm->indptr[i];
		assert_int_equal(cf_cooc_recommend(cm, &i, 1, K, items, scores, &n, NULL, NULL), 0);
		assert_int_equal(n, len < K ? len : K);
		for (int32_t q = 0; q < n; q++) {
			assert_int_equal(items[q], cm->nbr[cm->indptr[i] + q]);
			assert_true(scores[q] == cm->sim[cm->indptr[i] + q]);
		}
	}

	/* Similar items from factors stay mostly within the item's block. */
	int same = 0, per = PB_I / PB_B;
	for (int32_t i = 0; i < PB_I; i += 10) {
		assert_int_equal(cf_als_similar_items(m, i, K, items, scores, &n, NULL), 0);
		assert_int_equal(n, K);
		for (int32_t q = 0; q < n; q++) {
			assert_int_not_equal(items[q], i);
			same += items[q] / per == i / per;
		}
		assert_true(scores[0] <= 1.0f + 1e-5f);
	}
	printf("# ALS similar items in the same block: %d of %d\n", same, PB_I / 10 * K);
	assert_true(same > 0.8 * (PB_I / 10 * K));

	/* Repeated seeds are one seed each: {a, b, a} recommends as {a, b}. */
	int32_t s2[] = {p->train[0][0], p->train[0][1]}, s3[] = {s2[0], s2[1], s2[0]};
	int32_t items2[K];
	float scores2[K];
	int32_t n2;
	assert_int_equal(cf_als_recommend(m, s2, 2, K, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(cf_als_recommend(m, s3, 3, K, items2, scores2, &n2, NULL, NULL), 0);
	assert_int_equal(n, n2);
	assert_memory_equal(items, items2, (size_t)n * sizeof *items);

	/* Scoring given items (how the hybrid scores candidates found by the
	 * lists): every item's score is bit for bit the one the scan gives it,
	 * in any order, seeds included (they are scored, not left out). */
	{
		int32_t all = PB_I;
		int32_t *it = malloc(sizeof(int32_t) * (size_t)all), *rev = malloc(sizeof(int32_t) * (size_t)all);
		float *sc = malloc(sizeof(float) * (size_t)all), *sr = malloc(sizeof(float) * (size_t)all);
		int32_t na;
		assert_non_null(it);
		assert_non_null(rev);
		assert_non_null(sc);
		assert_non_null(sr);
		assert_int_equal(cf_als_recommend(m, s2, 2, all, it, sc, &na, NULL, NULL), 0);
		assert_int_equal(na, all - 2); /* every item but the two seeds */
		for (int32_t q = 0; q < na; q++)
			rev[q] = it[na - 1 - q];
		rev[na] = s2[0];
		assert_int_equal(cf_als_score(m, s2, 2, rev, (size_t)na + 1, sr, NULL, NULL), 0);
		for (int32_t q = 0; q < na; q++)
			assert_true(sr[q] == sc[na - 1 - q]);
		assert_false(isnan(sr[na]));
		/* Repeats of a seed fold in as one, as in cf_als_recommend. */
		assert_int_equal(cf_als_score(m, s3, 3, it, 5, sr, NULL, NULL), 0);
		for (int32_t q = 0; q < 5; q++)
			assert_true(sr[q] == sc[q]);
		/* No seeds: every score 0; an item out of range: refused. */
		assert_int_equal(cf_als_score(m, NULL, 0, it, 5, sr, NULL, NULL), 0);
		for (int32_t q = 0; q < 5; q++)
			assert_true(sr[q] == 0.0f);
		int32_t out_of_range = PB_I;
		assert_int_equal(cf_als_score(m, s2, 2, &out_of_range, 1, sr, NULL, NULL), SEG_EINVAL);
		free(it);
		free(rev);
		free(sc);
		free(sr);
	}

	assert_int_equal(cf_als_recommend(m, NULL, 0, K, items, scores, &n, NULL, NULL), 0);
	assert_int_equal(n, 0);
	int32_t bad = -1;
	assert_int_equal(cf_als_recommend(m, &bad, 1, K, items, scores, &n, NULL, NULL), SEG_EINVAL);
	assert_int_equal(cf_als_similar_items(m, PB_I, K, items, scores, &n, NULL), SEG_EINVAL);
	free(scratch);
	cf_cooc_free(cm);
	cf_als_free(m);
	planted_free(p);
}

static void test_als_deterministic(void **state)
{
	(void)state;
	cf_csr ui, iu;
	random_matrix(150, 120, 0.06, 21, &ui, &iu);
	cf_als_opts o;
	cf_als_opts_default(&o);
	o.factors = 12;
	o.iterations = 4;
	o.threads = 2;
	cf_als *a, *b, *c;
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &a, NULL, NULL), 0);
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &b, NULL, NULL), 0);
	o.threads = 1;
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &c, NULL, NULL), 0);
	assert_memory_equal(a->user_factors, b->user_factors, 150 * 12 * sizeof(float));
	assert_memory_equal(a->item_factors, b->item_factors, 120 * 12 * sizeof(float));
	/* Rows are solved independently, so the thread count does not matter either. */
	assert_memory_equal(a->item_factors, c->item_factors, 120 * 12 * sizeof(float));
	cf_als_free(c);
	o.threads = 2;
	o.seed = 43;
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &c, NULL, NULL), 0);
	assert_true(memcmp(a->item_factors, c->item_factors, 120 * 12 * sizeof(float)) != 0);
	cf_als_free(a);
	cf_als_free(b);
	cf_als_free(c);

	seg_error err;
	o.factors = 0;
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &a, NULL, &err), SEG_EINVAL);
	assert_null(a);
	assert_non_null(strstr(err.msg, "factors"));
	o.factors = 4;
	o.lambda = 0;
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &a, NULL, &err), SEG_EINVAL);
	o.lambda = 0.1f;
	assert_int_equal(cf_als_create(&a, 10, 10, &o, NULL), 0);
	assert_int_equal(cf_als_iterate(a, &ui, &iu, NULL, &err), SEG_EINVAL);
	cf_als_free(a);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* Recomputes the norms and Y^T Y after a test overwrote item factors. */
static void als_refresh(cf_als *m)
{
	int F = m->factors;
	for (int32_t i = 0; i < m->nitems; i++) {
		double s = 0;
		for (int f = 0; f < F; f++)
			s += (double)m->item_factors[(size_t)i * F + f] * m->item_factors[(size_t)i * F + f];
		m->item_norms[i] = (float)sqrt(s);
	}
	for (int r = 0; r < F; r++)
		for (int c = 0; c < F; c++) {
			double s = 0;
			for (int32_t i = 0; i < m->nitems; i++)
				s += (double)m->item_factors[(size_t)i * F + r] * m->item_factors[(size_t)i * F + c];
			m->yty[r * F + c] = (float)s;
		}
}

/* The index gives what the full scan gives: the same items in the same
 * order with the same scores, compared exactly (tolerance 0: the index's
 * hits are scored again by the scan's own dot product), for many seed sets
 * and k, on a model with groups of identical items (exact ties, which the
 * scan breaks by the lower index), a group of near-identical items and an
 * all-zero item. */
static void test_als_index_equals_scan(void **state)
{
	(void)state;
	enum { U = 300, I = 4000, MAXK = 600 };
	cf_csr ui, iu;
	random_matrix(U, I, 0.004, 23, &ui, &iu);
	cf_als_opts o;
	cf_als_opts_default(&o);
	o.factors = 16;
	o.iterations = 3;
	o.threads = 2;
	cf_als *m;
	assert_int_equal(cf_als_fit(&ui, &iu, &o, &m, NULL, NULL), 0);
	const int F = m->factors;
	/* Items 100..139 copy item 7 and 200..229 item 8: ties across the
	 * k-th place of many queries. Item 9 is all zero. */
	for (int32_t i = 100; i < 140; i++)
		memcpy(m->item_factors + (size_t)i * F, m->item_factors + 7 * (size_t)F, sizeof(float) * (size_t)F);
	for (int32_t i = 200; i < 230; i++)
		memcpy(m->item_factors + (size_t)i * F, m->item_factors + 8 * (size_t)F, sizeof(float) * (size_t)F);
	memset(m->item_factors + 9 * (size_t)F, 0, sizeof(float) * (size_t)F);
	/* Items 300..399 are item 11 with every factor moved by a few units in
	 * the last place: near-ties, which the index's float cosines and the
	 * scan's dot products can order differently. */
	uint64_t jit = 5;
	for (int32_t i = 300; i < 400; i++)
		for (int f = 0; f < F; f++) {
			float v = m->item_factors[11 * (size_t)F + f];
			for (int u = (int)(rng_next(&jit) % 4); u > 0; u--)
				v = nextafterf(v, rng_next(&jit) & 1 ? INFINITY : -INFINITY);
			m->item_factors[(size_t)i * F + f] = v;
		}
	als_refresh(m);
	cf_als_index *ix;
	assert_int_equal(cf_als_index_create(m, &ix, NULL), 0);
	int32_t *ia = malloc(sizeof(int32_t) * MAXK), *ib = malloc(sizeof(int32_t) * MAXK);
	float *sa = malloc(sizeof(float) * MAXK), *sb = malloc(sizeof(float) * MAXK);
	const int32_t ks[] = {1, 10, 40, 108, CF_ALS_INDEX_MAX_K, MAXK};
	uint64_t rng = 99;
	int lists = 0, ties = 0;
	for (int t = 0; t < 200; t++) {
		int32_t seeds[3];
		size_t ns = 1 + (size_t)(rng_next(&rng) % 3);
		for (size_t j = 0; j < ns; j++)
			seeds[j] = (int32_t)(rng_next(&rng) % I);
		if (t % 10 == 0)
			seeds[0] = 7; /* a query near the tied groups */
		if (t % 10 == 1)
			seeds[0] = 100 + (int32_t)(rng_next(&rng) % 40); /* a seed inside one */
		if (t % 10 == 2)
			seeds[0] = 11;
		for (size_t kk = 0; kk < sizeof ks / sizeof ks[0]; kk++) {
			int32_t na = -1, nb = -1;
			assert_int_equal(cf_als_recommend(m, seeds, ns, ks[kk], ia, sa, &na, NULL, NULL), 0);
			assert_int_equal(cf_als_recommend_indexed(m, ix, seeds, ns, ks[kk], ib, sb, &nb, NULL, NULL),
			                 0);
			assert_int_equal(na, nb);
			for (int32_t j = 0; j < na; j++) {
				assert_int_equal(ia[j], ib[j]);
				assert_true(sa[j] == sb[j]);
				ties += j > 0 && sa[j] == sa[j - 1];
			}
			lists++;
		}
	}
	printf("# ALS index against the full scan: %d lists identical (%d places tied with the one before)\n", lists,
	       ties);
	assert_true(ties > 0);
	/* NULL index: the scan; an index of another model: refused. */
	int32_t na, nb, seed = 3;
	assert_int_equal(cf_als_recommend_indexed(m, NULL, &seed, 1, 10, ib, sb, &nb, NULL, NULL), 0);
	assert_int_equal(cf_als_recommend(m, &seed, 1, 10, ia, sa, &na, NULL, NULL), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(ia, ib, sizeof(int32_t) * (size_t)na);
	cf_als *other;
	assert_int_equal(cf_als_create(&other, 5, 10, &o, NULL), 0);
	seg_error err = {0};
	assert_int_equal(cf_als_recommend_indexed(other, ix, &seed, 1, 10, ib, sb, &nb, NULL, &err), SEG_EINVAL);
	cf_als_free(other);
	cf_als_index_free(ix);
	cf_als_index_free(NULL);
	free(ia);
	free(ib);
	free(sa);
	free(sb);
	cf_als_free(m);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_build_transpose),
		cmocka_unit_test(test_cooc_cosine_by_hand),
		cmocka_unit_test(test_cooc_golden),
		cmocka_unit_test(test_cooc_recommend),
		cmocka_unit_test(test_cooc_threads_agree),
		cmocka_unit_test(test_als_one_iteration_golden),
		cmocka_unit_test(test_als_loss_decreases),
		cmocka_unit_test(test_als_fold_in),
		cmocka_unit_test(test_recall_planted_blocks),
		cmocka_unit_test(test_als_deterministic),
		cmocka_unit_test(test_als_index_equals_scan),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
