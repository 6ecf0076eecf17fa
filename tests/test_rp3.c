/* test_rp3.c: RP3beta (rp3.h) against the dense W of numpy/scipy
 * (tests/golden/rp3_golden.py, output in tests/golden/rp3_golden.txt) for
 * two (alpha, beta), the cut of each row to its K best, independence from
 * the number of threads, scoring through the lists, the errors, and the
 * memory arithmetic of the cut by available memory. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/rp3.h"

#define TOL 1e-6

/* Block `name` of tests/golden/rp3_golden.txt. */
static double *golden(const char *name, int *rows, int *cols)
{
	return tu_golden_block("rp3_golden.txt", name, rows, cols);
}

/* The golden X as a CSR matrix and its transpose. */
static void golden_x(cf_csr *ui, cf_csr *iu) { tu_golden_csr("rp3_golden.txt", "X", ui, iu); }

static rp3_opts opts(float alpha, float beta, int32_t k, int threads)
{
	rp3_opts o;
	rp3_opts_default(&o);
	o.alpha = alpha;
	o.beta = beta;
	o.neighbours = k;
	o.threads = threads;
	return o;
}

/* With K >= I, the lists hold exactly the positive entries of W. */
static void check_full(const char *block, float alpha, float beta)
{
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int I, c;
	double *W = golden(block, &I, &c);
	rp3_opts o = opts(alpha, beta, 100, 1);
	cf_cooc *m;
	seg_error err = {0};
	assert_int_equal(rp3_fit(&ui, &iu, &o, &m, &err), 0);
	assert_int_equal(m->nitems, I);
	double worst = 0;
	for (int i = 0; i < I; i++) {
		int positive = 0;
		for (int j = 0; j < I; j++)
			positive += W[i * I + j] > 0;
		assert_int_equal(m->indptr[i + 1] - m->indptr[i], positive);
		for (int64_t q = m->indptr[i]; q < m->indptr[i + 1]; q++) {
			int j = m->nbr[q];
			assert_true(j != i);
			double rel = fabs(m->sim[q] - W[i * I + j]) / W[i * I + j];
			worst = fmax(worst, rel);
			if (q > m->indptr[i])
				assert_true(m->sim[q] <= m->sim[q - 1]);
		}
	}
	printf("# %s: largest relative difference from numpy %.2e\n", block, worst);
	assert_true(worst < TOL);
	cf_cooc_free(m);
	free(W);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

static void test_golden(void **state)
{
	(void)state;
	check_full("W_a1_b0.5", 1.0f, 0.5f);
	check_full("W_a0.7_b0.3", 0.7f, 0.3f);
}

/* K = 2: each row's two largest golden weights (ties to the lower index). */
static void test_cut_to_k(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int I, c;
	double *W = golden("W_a1_b0.5", &I, &c);
	rp3_opts o = opts(1.0f, 0.5f, 2, 1);
	cf_cooc *m;
	seg_error err = {0};
	assert_int_equal(rp3_fit(&ui, &iu, &o, &m, &err), 0);
	for (int i = 0; i < I; i++) {
		int best[2] = {-1, -1};
		for (int j = 0; j < I; j++) {
			double w = W[i * I + j];
			if (w <= 0)
				continue;
			if (best[0] < 0 || w > W[i * I + best[0]] + TOL) {
				best[1] = best[0];
				best[0] = j;
			} else if (best[1] < 0 || w > W[i * I + best[1]] + TOL) {
				best[1] = j;
			}
		}
		int n = (best[0] >= 0) + (best[1] >= 0);
		assert_int_equal(m->indptr[i + 1] - m->indptr[i], n);
		for (int q = 0; q < n; q++)
			assert_int_equal(m->nbr[m->indptr[i] + q], best[q]);
	}
	cf_cooc_free(m);
	free(W);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* A larger random matrix: 1 and 3 threads give the same lists, bit for bit. */
static void test_threads_agree(void **state)
{
	(void)state;
	const int U = 300, I = 500;
	int32_t *r = malloc(6000 * sizeof *r), *c = malloc(6000 * sizeof *c);
	uint64_t x = 12345;
	size_t n = 0;
	for (int u = 0; u < U; u++)
		for (int t = 0; t < 20; t++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			r[n] = u;
			c[n++] = (int32_t)((x >> 33) % (uint64_t)(I / 2 + (u % 2) * (I / 2)));
		}
	cf_csr ui, iu;
	seg_error err = {0};
	assert_int_equal(cf_csr_from_pairs(&ui, U, I, r, c, NULL, n, CF_DUP_ONE, &err), 0);
	assert_int_equal(cf_csr_transpose(&ui, &iu, &err), 0);
	cf_cooc *a, *b;
	rp3_opts o1 = opts(0.8f, 0.4f, 25, 1), o3 = opts(0.8f, 0.4f, 25, 3);
	assert_int_equal(rp3_fit(&ui, &iu, &o1, &a, &err), 0);
	assert_int_equal(rp3_fit(&ui, &iu, &o3, &b, &err), 0);
	assert_memory_equal(a->indptr, b->indptr, sizeof(int64_t) * (I + 1));
	assert_true(a->indptr[I] > 0);
	assert_memory_equal(a->nbr, b->nbr, sizeof(int32_t) * (size_t)a->indptr[I]);
	assert_memory_equal(a->sim, b->sim, sizeof(float) * (size_t)a->indptr[I]);
	cf_cooc_free(a);
	cf_cooc_free(b);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
	free(r);
	free(c);
}

/* A seed set scores item j as the sum of the seeds' W rows. */
static void test_recommend_sums_rows(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int I, c;
	double *W = golden("W_a0.7_b0.3", &I, &c);
	rp3_opts o = opts(0.7f, 0.3f, 100, 0);
	cf_cooc *m;
	seg_error err = {0};
	assert_int_equal(rp3_fit(&ui, &iu, &o, &m, &err), 0);
	const int32_t seeds[] = {4, 6};
	int32_t items[8], n = 0;
	float scores[8];
	assert_int_equal(cf_cooc_recommend(m, seeds, 2, 8, items, scores, &n, NULL, &err), 0);
	assert_true(n >= 3);
	for (int32_t q = 0; q < n; q++) {
		int j = items[q];
		assert_true(j != 4 && j != 6);
		assert_float_equal(scores[q], W[4 * I + j] + W[6 * I + j], 1e-5);
	}
	cf_cooc_free(m);
	free(W);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

static void test_errors(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	seg_error err = {0};
	cf_cooc *m = (cf_cooc *)&err;
	rp3_opts o = opts(0.0f, 0.5f, 5, 1);
	assert_int_equal(rp3_fit(&ui, &iu, &o, &m, &err), SEG_EINVAL);
	assert_null(m);
	o = opts(1.0f, -0.1f, 5, 1);
	assert_int_equal(rp3_fit(&ui, &iu, &o, &m, &err), SEG_EINVAL);
	o = opts(1.0f, 0.5f, 0, 1);
	assert_int_equal(rp3_fit(&ui, &iu, &o, &m, &err), SEG_EINVAL);
	o = opts(1.0f, 0.5f, 5, 1);
	assert_int_equal(rp3_fit(&ui, &ui, &o, &m, &err), SEG_EINVAL);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* The memory arithmetic that train's cut by available memory rests on:
 * rp3_bytes against the sum written out here (lists of int32 + float per
 * neighbour; per thread float, two int32 and a 16-byte topk_hit per item;
 * four int64 per item), and rp3_neighbours_within as the largest K that
 * fits. */
static void test_memory_budget(void **state)
{
	(void)state;
	const uint64_t I = 2000000, T = 2;
	uint64_t fixed = T * (I + 1) * (4 + 4 + 4 + 16) + 4 * (I + 1) * 8;
	assert_true(rp3_bytes((int32_t)I, 500, (int)T) == I * 500 * 8 + fixed);
	assert_true(rp3_bytes((int32_t)I, 1, (int)T) == I * 8 + fixed);
	/* room for everything: what was asked */
	assert_int_equal(rp3_neighbours_within(500, (int32_t)I, (int)T, I * 500 * 8 + fixed), 500);
	assert_int_equal(rp3_neighbours_within(500, (int32_t)I, (int)T, UINT64_MAX), 500);
	/* room for exactly 250, and one byte short of it */
	assert_int_equal(rp3_neighbours_within(500, (int32_t)I, (int)T, I * 250 * 8 + fixed), 250);
	assert_int_equal(rp3_neighbours_within(500, (int32_t)I, (int)T, I * 250 * 8 + fixed - 1), 249);
	/* not even one */
	assert_int_equal(rp3_neighbours_within(500, (int32_t)I, (int)T, I * 8 + fixed - 1), 0);
	assert_int_equal(rp3_neighbours_within(500, (int32_t)I, (int)T, 0), 0);
	assert_int_equal(rp3_neighbours_within(0, (int32_t)I, (int)T, UINT64_MAX), 0);
	/* a small catalogue: no item has more than I - 1 neighbours */
	uint64_t small = 1 * (10 + 1) * (4 + 4 + 4 + 16) + 4 * (10 + 1) * 8;
	assert_true(rp3_bytes(10, 500, 1) == 10 * 9 * 8 + small);
	assert_int_equal(rp3_neighbours_within(500, 10, 1, 10 * 9 * 8 + small), 500);
	/* any budget: the answer fits and one more does not */
	for (uint64_t budget = fixed + I * 8; budget < I * 600 * 8; budget += I * 8 * 37 + 12345) {
		int32_t k = rp3_neighbours_within(500, (int32_t)I, (int)T, budget);
		assert_true(k >= 1 && k <= 500);
		assert_true(rp3_bytes((int32_t)I, k, (int)T) <= budget);
		assert_true(k == 500 || rp3_bytes((int32_t)I, k + 1, (int)T) > budget);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),        cmocka_unit_test(test_cut_to_k),
		cmocka_unit_test(test_threads_agree), cmocka_unit_test(test_recommend_sums_rows),
		cmocka_unit_test(test_errors),        cmocka_unit_test(test_memory_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
