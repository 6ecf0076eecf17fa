/* test_pairmap.c: the (int64, int64) -> int64 hash map (pairmap.h), checked
 * against a plain reference array for many keys, including keys that
 * differ only in one half or by their order. */
#include "testutil.h"

#include <stdlib.h>

#include "core/pairmap.h"

static void test_create_empty(void **state)
{
	(void)state;
	pairmap *m = pairmap_create();
	assert_non_null(m);
	assert_int_equal(pairmap_count(m), 0);
	int64_t v = 77;
	assert_int_equal(pairmap_get(m, 0, 0, &v), 0);
	assert_int_equal(v, 77); /* untouched when absent */
	pairmap_free(m);
	pairmap_free(NULL); /* a no-op */
}

static void test_put_get_replace(void **state)
{
	(void)state;
	pairmap *m = pairmap_create();
	assert_int_equal(pairmap_put(m, 1, 2, 10), 0);
	assert_int_equal(pairmap_put(m, 2, 1, 20), 0); /* the order of the halves matters */
	assert_int_equal(pairmap_put(m, 1, -1, INT64_MIN), 0);
	assert_int_equal(pairmap_put(m, INT64_MAX, INT64_MIN, INT64_MAX), 0);
	assert_int_equal(pairmap_put(m, 0, 0, -3), 0); /* a zero key is a key */
	assert_int_equal(pairmap_count(m), 5);
	int64_t v;
	assert_int_equal(pairmap_get(m, 1, 2, &v), 1);
	assert_int_equal(v, 10);
	assert_int_equal(pairmap_get(m, 2, 1, &v), 1);
	assert_int_equal(v, 20);
	assert_int_equal(pairmap_get(m, 1, -1, &v), 1);
	assert_true(v == INT64_MIN);
	assert_int_equal(pairmap_get(m, INT64_MAX, INT64_MIN, &v), 1);
	assert_true(v == INT64_MAX);
	assert_int_equal(pairmap_get(m, 0, 0, &v), 1);
	assert_int_equal(v, -3);
	assert_int_equal(pairmap_get(m, 1, 3, &v), 0);
	assert_int_equal(pairmap_put(m, 1, 2, 11), 0); /* replaces */
	assert_int_equal(pairmap_get(m, 1, 2, &v), 1);
	assert_int_equal(v, 11);
	assert_int_equal(pairmap_count(m), 5);
	pairmap_free(m);
}

static void test_add_keeps_the_first(void **state)
{
	(void)state;
	pairmap *m = pairmap_create();
	assert_int_equal(pairmap_add(m, 7, 8, 1), 1);
	assert_int_equal(pairmap_add(m, 7, 8, 2), 0);
	int64_t v;
	assert_int_equal(pairmap_get(m, 7, 8, &v), 1);
	assert_int_equal(v, 1);
	assert_int_equal(pairmap_count(m), 1);
	pairmap_free(m);
}

/* 300,000 pairs (playlist p, track t) in a grid whose halves repeat, put
 * and added in a scrambled order through many doublings of the table; every
 * value read back matches the reference, and absent pairs stay absent. */
static void test_many_keys_with_growth(void **state)
{
	(void)state;
	enum { P = 600, T = 500, N = P * T };
	int64_t *ref = malloc(N * sizeof(int64_t));
	assert_non_null(ref);
	pairmap *m = pairmap_create();
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int64_t i = 0; i < N; i++) {
		int64_t k = (int64_t)((uint64_t)(i * 7919) % N); /* 7919 is prime, so this visits all */
		x = x * 6364136223846793005u + 1442695040888963407u;
		ref[k] = (int64_t)(x >> 1);
		int rc = (i & 1) ? pairmap_add(m, k / T, k % T, ref[k]) : pairmap_put(m, k / T, k % T, ref[k]);
		assert_int_equal(rc, (i & 1) ? 1 : 0);
	}
	assert_int_equal(pairmap_count(m), N);
	long mismatches = 0;
	for (int64_t k = 0; k < N; k++) {
		int64_t v = 0;
		mismatches += !pairmap_get(m, k / T, k % T, &v) || v != ref[k];
		mismatches += pairmap_get(m, k / T, T + k % T, &v); /* absent */
		mismatches += pairmap_get(m, P + k / T, k % T, &v); /* absent */
	}
	assert_int_equal(mismatches, 0);
	pairmap_free(m);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_empty),
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_add_keeps_the_first),
		cmocka_unit_test(test_many_keys_with_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
