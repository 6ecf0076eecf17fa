/* test_topk.c: the heap and the selection of core/topk return exactly the
 * first k of a full sort by (score descending, row ascending), ties
 * included, whatever order the pairs come in; compared with qsort on
 * random inputs full of equal scores. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/topk.h"

static int cmp_ref(const void *pa, const void *pb)
{
	const topk_hit *a = pa, *b = pb;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->row > b->row) - (a->row < b->row);
}

/* n pairs with rows 0..n-1 in a shuffled order and scores drawn from
 * `levels` values (few levels: many ties). */
static void fill(topk_hit *a, size_t n, unsigned levels, uint64_t seed)
{
	rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		a[i] = (topk_hit){i, (float)rng_below(&r, levels) * 0.25f - 3.0f};
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(&r, i);
		topk_hit t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void assert_same(const topk_hit *got, const topk_hit *want, size_t m)
{
	for (size_t i = 0; i < m; i++)
		if (got[i].row != want[i].row || got[i].score != want[i].score)
			fail_msg("position %zu: got (%zu, %g), want (%zu, %g)", i, got[i].row, got[i].score,
			         want[i].row, want[i].score);
}

static void test_heap_and_select_match_sort(void **state)
{
	(void)state;
	const size_t sizes[] = {0, 1, 2, 3, 10, 100, 1000, 5000};
	const size_t ks[] = {0, 1, 2, 5, 10, 99, 100, 101, 4000, 6000};
	const unsigned levels[] = {1, 2, 7, 1000000};
	uint64_t seed = 1;
	for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
		for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
			for (size_t c = 0; c < sizeof levels / sizeof *levels; c++) {
				size_t n = sizes[a], k = ks[b], m = k < n ? k : n;
				topk_hit *in = malloc((n + 1) * sizeof *in);
				topk_hit *ref = malloc((n + 1) * sizeof *ref);
				topk_hit *sel = malloc((n + 1) * sizeof *sel);
				topk_hit *heap = malloc((k + 1) * sizeof *heap);
				fill(in, n, levels[c], seed++);
				memcpy(ref, in, n * sizeof *in);
				memcpy(sel, in, n * sizeof *in);
				qsort(ref, n, sizeof *ref, cmp_ref);

				assert_int_equal(topk_select(sel, n, k), m);
				assert_same(sel, ref, m);
				/* the rest is a permutation of what was not selected */
				size_t rows = 0;
				for (size_t i = 0; i < n; i++)
					rows += sel[i].row;
				assert_true(rows == (n ? n * (n - 1) / 2 : 0));

				topk t;
				topk_init(&t, heap, k);
				for (size_t i = 0; i < n; i++) {
					int admits = topk_admits(&t, in[i].row, in[i].score);
					size_t before = t.len;
					topk_hit root = before ? heap[0] : (topk_hit){0, 0};
					topk_push(&t, in[i].row, in[i].score);
					/* admitted exactly when the heap changed */
					int changed =
						t.len != before ||
						(before && (heap[0].row != root.row || heap[0].score != root.score));
					assert_int_equal(admits, changed);
					if (t.len == k && k > 0)
						assert_true(t.thr == heap[0].score);
					else
						assert_true(isinf(t.thr) && t.thr < 0);
				}
				assert_int_equal(topk_finish(&t), m);
				assert_same(heap, ref, m);
				free(in);
				free(ref);
				free(sel);
				free(heap);
			}
}

/* Pairs offered in row order, the way a scan offers them: an equal score
 * later never displaces an earlier row. */
static void test_ties_keep_lower_rows(void **state)
{
	(void)state;
	topk_hit h[3];
	topk t;
	topk_init(&t, h, 3);
	for (size_t r = 0; r < 10; r++)
		topk_push(&t, r, 1.0f);
	topk_push(&t, 11, 0.5f);
	topk_push(&t, 12, 2.0f);
	assert_int_equal(topk_finish(&t), 3);
	assert_int_equal(h[0].row, 12);
	assert_int_equal(h[1].row, 0);
	assert_int_equal(h[2].row, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_and_select_match_sort),
		cmocka_unit_test(test_ties_keep_lower_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
