/* test_ease.c: EASE (ease.h) against numpy's closed form
 * (tests/golden/ease_golden.py, output in tests/golden/ease_golden.txt): the
 * dense B on every item and on the most frequent ones, the choice of those
 * items, the cut of each row to its K largest positive weights, scoring a
 * seed set through the lists, and the errors. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/ease.h"

/* float32 solve against float64 numpy on a 9 x 9 system. */
#define TOL 2e-5

/* Block `name` of tests/golden/ease_golden.txt. */
static double *golden(const char *name, int *rows, int *cols)
{
	return tu_golden_block("ease_golden.txt", name, rows, cols);
}

/* The golden X as a CSR matrix and its transpose. */
static void golden_x(cf_csr *ui, cf_csr *iu) { tu_golden_csr("ease_golden.txt", "X", ui, iu); }

static ease_opts opts(float lambda, int32_t min_count, int32_t max_items, int32_t k)
{
	ease_opts o;
	ease_opts_default(&o);
	o.lambda = lambda;
	o.min_count = min_count;
	o.max_items = max_items;
	o.neighbours = k;
	return o;
}

/* Largest |got - want| over E x E. */
static double max_diff(const float *got, const double *want, int E)
{
	double worst = 0;
	for (int q = 0; q < E * E; q++)
		worst = fmax(worst, fabs((double)got[q] - want[q]));
	return worst;
}

static void test_dense_all_items(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int r, c;
	double *want = golden("B_all_lambda2", &r, &c);
	ease_opts o = opts(2.0f, 1, 100, 5);
	int32_t *solved, E;
	float *B;
	seg_error err = {0};
	assert_int_equal(ease_fit_dense(&ui, &iu, &o, &solved, &E, &B, &err), 0);
	assert_int_equal(E, 9);
	for (int a = 0; a < E; a++)
		assert_int_equal(solved[a], a);
	double d = max_diff(B, want, E);
	printf("# dense B, all 9 items: largest difference from numpy %.2e\n", d);
	assert_true(d < TOL);
	free(solved);
	free(B);
	free(want);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

static void test_dense_frequent_items(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int r, c;
	double *items = golden("sub_items_min3_max5", &r, &c);
	double *want = golden("B_sub_lambda1.5", &r, &c);
	ease_opts o = opts(1.5f, 3, 5, 5);
	seg_error err = {0};
	int32_t chosen[5];
	/* The five most frequent, ties to the lower index, as numpy chose them. */
	assert_int_equal(ease_select_items(&iu, &o, chosen, &err), 5);
	for (int a = 0; a < 5; a++)
		assert_int_equal(chosen[a], (int)items[a]);
	int32_t *solved, E;
	float *B;
	assert_int_equal(ease_fit_dense(&ui, &iu, &o, &solved, &E, &B, &err), 0);
	assert_int_equal(E, 5);
	assert_memory_equal(solved, chosen, sizeof chosen);
	double d = max_diff(B, want, E);
	printf("# dense B, 5 most frequent items: largest difference from numpy %.2e\n", d);
	assert_true(d < TOL);
	/* Nothing qualifies: an empty solve. */
	o.min_count = 100;
	assert_int_equal(ease_select_items(&iu, &o, chosen, &err), 0);
	free(solved);
	free(B);
	free(items);
	free(want);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* Each row of the fitted lists is the K largest positive weights of the
 * golden row, largest first, over the global item indices; rows of items
 * outside the solve are empty. */
static void test_cut_to_k(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int r, c;
	double *items = golden("sub_items_min3_max5", &r, &c);
	double *B = golden("B_sub_lambda1.5", &r, &c);
	const int E = 5, K = 2;
	ease_opts o = opts(1.5f, 3, 5, K);
	cf_cooc *m;
	ease_info info;
	seg_error err = {0};
	assert_int_equal(ease_fit(&ui, &iu, &o, &m, &info, &err), 0);
	assert_int_equal(m->nitems, 9);
	assert_int_equal(m->topm, K);
	assert_int_equal(info.solved, 5);
	assert_int_equal(info.entries, ui.nnz);
	int64_t covered = 0, fewest = INT64_MAX;
	for (int a = 0; a < E; a++) {
		int64_t n = iu.indptr[(int)items[a] + 1] - iu.indptr[(int)items[a]];
		covered += n;
		fewest = n < fewest ? n : fewest;
	}
	assert_int_equal(info.entries_covered, covered);
	assert_int_equal(info.min_count, fewest);
	assert_true(covered < ui.nnz); /* items 4, 5, 7, 8 are left out */
	for (int a = 0, i = 0; i < 9; i++) {
		int64_t len = m->indptr[i + 1] - m->indptr[i];
		if (a >= E || (int)items[a] != i) {
			assert_int_equal(len, 0); /* outside the solve */
			continue;
		}
		/* The K best of golden row a by brute force. */
		int best[2] = {-1, -1};
		for (int j = 0; j < E; j++) {
			double w = B[a * E + j];
			if (j == a || w <= 0)
				continue;
			if (best[0] < 0 || w > B[a * E + best[0]]) {
				best[1] = best[0];
				best[0] = j;
			} else if (best[1] < 0 || w > B[a * E + best[1]]) {
				best[1] = j;
			}
		}
		int want_len = (best[0] >= 0) + (best[1] >= 0);
		assert_int_equal(len, want_len);
		for (int q = 0; q < want_len; q++) {
			assert_int_equal(m->nbr[m->indptr[i] + q], (int)items[best[q]]);
			assert_float_equal(m->sim[m->indptr[i] + q], B[a * E + best[q]], TOL);
		}
		a++;
	}
	cf_cooc_free(m);
	free(items);
	free(B);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

/* With every positive weight kept, a seed set's scores are the sums of the
 * seeds' positive golden weights. */
static void test_recommend_sums_rows(void **state)
{
	(void)state;
	cf_csr ui, iu;
	golden_x(&ui, &iu);
	int r, c;
	double *B = golden("B_all_lambda2", &r, &c);
	ease_opts o = opts(2.0f, 1, 100, 100);
	cf_cooc *m;
	seg_error err = {0};
	assert_int_equal(ease_fit(&ui, &iu, &o, &m, NULL, &err), 0);
	const int32_t seeds[] = {0, 3};
	int32_t items[9], n = 0;
	float scores[9];
	assert_int_equal(cf_cooc_recommend(m, seeds, 2, 9, items, scores, &n, NULL, &err), 0);
	assert_true(n > 0);
	double prev = INFINITY;
	for (int32_t q = 0; q < n; q++) {
		int j = items[q];
		assert_true(j != 0 && j != 3);
		double want = fmax(B[0 * 9 + j], 0) + fmax(B[3 * 9 + j], 0);
		assert_float_equal(scores[q], want, 2 * TOL);
		assert_true(scores[q] <= prev);
		prev = scores[q];
	}
	cf_cooc_free(m);
	free(B);
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
	ease_opts o = opts(0.0f, 1, 10, 5);
	assert_int_equal(ease_fit(&ui, &iu, &o, &m, NULL, &err), SEG_EINVAL);
	assert_null(m);
	o = opts(1.0f, 1, 10, 0);
	assert_int_equal(ease_fit(&ui, &iu, &o, &m, NULL, &err), SEG_EINVAL);
	o = opts(1.0f, 1, 10, 5);
	assert_int_equal(ease_fit(&ui, &ui, &o, &m, NULL, &err), SEG_EINVAL); /* not a transpose */
	assert_null(m);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dense_all_items), cmocka_unit_test(test_dense_frequent_items),
		cmocka_unit_test(test_cut_to_k),        cmocka_unit_test(test_recommend_sums_rows),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
