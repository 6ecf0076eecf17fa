/* test_strmap.c: the string -> int64 hash map (strmap.h), checked against a
 * plain reference array for many keys. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"

static void test_create_empty(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	assert_non_null(m);
	assert_int_equal(strmap_count(m), 0);
	int64_t v = 77;
	assert_int_equal(strmap_get(m, "anything", &v), 0);
	assert_int_equal(v, 77); /* untouched when absent */
	strmap_free(m);
}

static void test_free_null(void **state)
{
	(void)state;
	strmap_free(NULL); /* must not crash */
	strmap *m = strmap_create();
	assert_non_null(m);
	strmap_free(m);
}

static void test_put_get(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	assert_int_equal(strmap_put(m, "4uLU6hMCjMI75M1A2tKUQC", 1), 0);
	assert_int_equal(strmap_put(m, "Adele", -5), 0);
	assert_int_equal(strmap_put(m, "big", INT64_MAX), 0);
	assert_int_equal(strmap_put(m, "small", INT64_MIN), 0);
	assert_int_equal(strmap_count(m), 4);
	int64_t v;
	assert_int_equal(strmap_get(m, "4uLU6hMCjMI75M1A2tKUQC", &v), 1);
	assert_int_equal(v, 1);
	assert_int_equal(strmap_get(m, "Adele", &v), 1);
	assert_int_equal(v, -5);
	assert_int_equal(strmap_get(m, "big", &v), 1);
	assert_true(v == INT64_MAX);
	assert_int_equal(strmap_get(m, "small", &v), 1);
	assert_true(v == INT64_MIN);
	strmap_free(m);
}

static void test_key_is_copied(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	char key[16] = "volatile";
	assert_int_equal(strmap_put(m, key, 9), 0);
	strcpy(key, "changed!");
	int64_t v;
	assert_int_equal(strmap_get(m, "volatile", &v), 1);
	assert_int_equal(v, 9);
	assert_int_equal(strmap_get(m, "changed!", &v), 0);
	strmap_free(m);
}

static void test_replace(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	assert_int_equal(strmap_put(m, "k", 1), 0);
	assert_int_equal(strmap_put(m, "k", 2), 0);
	assert_int_equal(strmap_put(m, "k", 3), 0);
	assert_int_equal(strmap_count(m), 1);
	int64_t v;
	assert_int_equal(strmap_get(m, "k", &v), 1);
	assert_int_equal(v, 3);
	strmap_free(m);
}

static void test_absent_keys(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	strmap_put(m, "abc", 1);
	int64_t v = -1;
	assert_int_equal(strmap_get(m, "ab", &v), 0);
	assert_int_equal(strmap_get(m, "abcd", &v), 0);
	assert_int_equal(strmap_get(m, "ABC", &v), 0); /* case-sensitive */
	assert_int_equal(strmap_get(m, "", &v), 0);
	assert_int_equal(v, -1);
	strmap_free(m);
}

static void test_empty_string_key(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	assert_int_equal(strmap_put(m, "", 42), 0);
	assert_int_equal(strmap_count(m), 1);
	int64_t v = 0;
	assert_int_equal(strmap_get(m, "", &v), 1);
	assert_int_equal(v, 42);
	assert_int_equal(strmap_put(m, "", 43), 0);
	assert_int_equal(strmap_count(m), 1);
	assert_int_equal(strmap_get(m, "", &v), 1);
	assert_int_equal(v, 43);
	assert_int_equal(strmap_get(m, "x", &v), 0);
	strmap_free(m);
}

/* Keys longer than the 1 MiB arena block, and keys that fill a block exactly
 * to its end, must still be stored and found. */
static void test_long_keys(void **state)
{
	(void)state;
	strmap *m = strmap_create();
	const size_t lens[] = {1000, (1u << 20) - 1, 1u << 20, (1u << 20) + 1, 3u << 20, 5};
	const size_t n = sizeof lens / sizeof *lens;
	char *keys[sizeof lens / sizeof *lens];
	for (size_t i = 0; i < n; i++) {
		keys[i] = malloc(lens[i] + 1);
		assert_non_null(keys[i]);
		memset(keys[i], 'a' + (int)i, lens[i]);
		keys[i][lens[i]] = '\0';
		assert_int_equal(strmap_put(m, keys[i], (int64_t)i * 10), 0);
	}
	assert_int_equal(strmap_count(m), n);
	for (size_t i = 0; i < n; i++) {
		int64_t v = -1;
		assert_int_equal(strmap_get(m, keys[i], &v), 1);
		assert_int_equal(v, (int64_t)i * 10);
		/* A prefix of a long key is a different key. */
		keys[i][lens[i] - 1] = '\0';
		assert_int_equal(strmap_get(m, keys[i], &v), 0);
		free(keys[i]);
	}
	strmap_free(m);
}

/* 200k keys force many doublings of the table (1024 -> 512k slots) and
 * several arena blocks; every key must map to the value in the reference
 * array, also after replacing half of them. */
static void test_many_keys_with_growth(void **state)
{
	(void)state;
	enum { N = 200000 };
	int64_t *ref = malloc(N * sizeof *ref);
	assert_non_null(ref);
	strmap *m = strmap_create();
	char key[64];
	for (int i = 0; i < N; i++) {
		/* Ids of varying length that share long prefixes. */
		snprintf(key, sizeof key, "track:%0*d", 3 + i % 17, i);
		ref[i] = (int64_t)i * 2654435761LL;
		assert_int_equal(strmap_put(m, key, ref[i]), 0);
		if (i % 5000 == 0)
			assert_int_equal(strmap_count(m), (size_t)i + 1);
	}
	assert_int_equal(strmap_count(m), N);
	for (int i = 0; i < N; i += 2) {
		snprintf(key, sizeof key, "track:%0*d", 3 + i % 17, i);
		ref[i] = -ref[i] - 1;
		assert_int_equal(strmap_put(m, key, ref[i]), 0);
	}
	assert_int_equal(strmap_count(m), N);
	size_t mismatches = 0;
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "track:%0*d", 3 + i % 17, i);
		int64_t v;
		if (strmap_get(m, key, &v) != 1 || v != ref[i])
			mismatches++;
		/* Same number, different padding: absent unless the width matches. */
		snprintf(key, sizeof key, "track:%0*d", 21 + i % 3, i);
		if (strmap_get(m, key, &v) != 0)
			mismatches++;
	}
	assert_int_equal(mismatches, 0);
	strmap_free(m);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_empty),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_key_is_copied),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_absent_keys),
		cmocka_unit_test(test_empty_string_key),
		cmocka_unit_test(test_long_keys),
		cmocka_unit_test(test_many_keys_with_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
