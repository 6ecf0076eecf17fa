/* test_array.c: array_grow doubles, keeps what was there, refuses a size
 * past SIZE_MAX without touching the caller's array, and never shrinks. */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/array.h"

static void test_grows_by_doubling(void **state)
{
	(void)state;
	int *a = NULL;
	size_t cap = 0, n = 0;
	for (int i = 0; i < 1000; i++) {
		int *g = array_grow(a, &cap, n + 1, sizeof *a, 16);
		assert_non_null(g);
		a = g;
		a[n++] = i;
	}
	/* 16, 32, ..., 1024: doubling from the first capacity. */
	assert_int_equal(cap, 1024);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(a[i], i);
	/* Enough room: the same array, the same capacity. */
	assert_ptr_equal(array_grow(a, &cap, 10, sizeof *a, 16), a);
	assert_int_equal(cap, 1024);
	/* A jump past twice the capacity takes what is needed. */
	a = array_grow(a, &cap, 5000, sizeof *a, 16);
	assert_non_null(a);
	assert_int_equal(cap, 5000);
	assert_int_equal(a[999], 999);
	free(a);
}

static void test_overflow_leaves_array(void **state)
{
	(void)state;
	size_t cap = 0;
	double *a = array_grow(NULL, &cap, 4, sizeof *a, 4);
	assert_non_null(a);
	a[3] = 2.5;
	size_t before = cap;
	assert_null(array_grow(a, &cap, SIZE_MAX / 4, sizeof *a, 4)); /* bytes past SIZE_MAX */
	assert_int_equal(cap, before);
	assert_true(a[3] == 2.5);                  /* still ours, still whole */
	assert_null(array_grow(a, &cap, 8, 0, 4)); /* no element size */
	free(a);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_by_doubling),
	    cmocka_unit_test(test_overflow_leaves_array),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
