/* test_recommender.c: the registry of recommenders: the built-ins in their
 * order, lookups, registering a new one
 * (and what is refused), the JSON listing. */
#include "testutil.h"

#include <string.h>

#include "engine/recommender.h"

static int noop_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)q, (void)state, (void)want, (void)pool, (void)err;
	return 0;
}

static void test_builtins(void **state)
{
	(void)state;
	static const char *const want[] = {"random", "popular", "content", "cooc", "als",
	                                   "ease",   "rp3beta", "hybrid",  "title"};
	assert_int_equal(recommender_count(), 9);
	for (int i = 0; i < 9; i++) {
		assert_string_equal(recommender_get(i)->name, want[i]);
		assert_int_equal(recommender_find(want[i]), i);
		assert_string_equal(recommender_name(i), want[i]);
		assert_non_null(recommender_get(i)->description);
		assert_non_null(recommender_get(i)->propose);
	}
	assert_int_equal(recommender_find("HYBRID"), -1);
	assert_int_equal(recommender_find(""), -1);
	assert_int_equal(recommender_find(NULL), -1);
	assert_null(recommender_get(-1));
	assert_null(recommender_get((int)recommender_count()));
	assert_string_equal(recommender_name(99), "?");
	/* Only the baselines do without seeds or a mood. */
	for (int i = 0; i < 9; i++)
		assert_int_equal((recommender_get(i)->flags & REC_NEEDS_QUERY) != 0, i >= 2);
	/* Only the title model reads a title (then a title alone will do). */
	for (int i = 0; i < 9; i++)
		assert_int_equal((recommender_get(i)->flags & REC_USES_TITLE) != 0, i == 8);
	/* A request that names no model gets the default, the hybrid. */
	rec_request r;
	rec_request_default(&r);
	assert_string_equal(recommender_name(r.model), "hybrid");
	assert_string_equal(RECOMMENDER_DEFAULT, "hybrid");
}

static void test_register(void **state)
{
	(void)state;
	static const recommender mine = {.name = "mine-1", .description = "a test model", .propose = noop_propose};
	static const recommender dup = {.name = "cooc", .propose = noop_propose};
	static const recommender bad_name = {.name = "Bad Name", .propose = noop_propose};
	static const recommender no_propose = {.name = "lazy"};
	size_t before = recommender_count();
	seg_error err = {0};
	assert_int_equal(recommender_register(&dup, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "already registered"));
	assert_int_equal(recommender_register(&bad_name, &err), SEG_EINVAL);
	assert_int_equal(recommender_register(&no_propose, &err), SEG_EINVAL);
	assert_int_equal(recommender_register(NULL, &err), SEG_EINVAL);
	assert_int_equal(recommender_count(), before);
	int id = recommender_register(&mine, &err);
	assert_int_equal(id, (int)before);
	assert_int_equal(recommender_count(), before + 1);
	assert_ptr_equal(recommender_get(id), &mine);
	assert_int_equal(recommender_find("mine-1"), id);
	assert_string_equal(recommender_name(id), "mine-1");
	assert_int_equal(recommender_register(&mine, &err), SEG_EINVAL);
	char buf[256];
	int len = recommender_names_join(", ", buf, sizeof buf);
	assert_string_equal(buf, "random, popular, content, cooc, als, ease, rp3beta, hybrid, title, mine-1");
	assert_int_equal(len, (int)strlen(buf));
	/* Cut like snprintf, the full length returned. */
	char small[10];
	assert_int_equal(recommender_names_join(", ", small, sizeof small), len);
	assert_string_equal(small, "random, p");
	/* The registry fills up. */
	static recommender many[RECOMMENDER_MAX];
	static char names[RECOMMENDER_MAX][16];
	size_t i = 0;
	while (recommender_count() < RECOMMENDER_MAX) {
		snprintf(names[i], sizeof names[i], "filler%zu", i);
		many[i] = (recommender){.name = names[i], .propose = noop_propose};
		assert_true(recommender_register(&many[i], &err) >= 0);
		i++;
	}
	snprintf(names[i], sizeof names[i], "filler%zu", i);
	many[i] = (recommender){.name = names[i], .propose = noop_propose};
	/* A full registry is a bad request, said in words, not SEG_ENOMEM
	 * (which means an allocation failed). */
	assert_int_equal(recommender_register(&many[i], &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "registry is full"));
	assert_int_equal(recommender_find(names[i]), -1);
}

static void test_list_json(void **state)
{
	(void)state;
	json_t *list = recommender_list_json();
	assert_non_null(list);
	assert_int_equal(json_array_size(list), recommender_count());
	json_t *first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "name")), "random");
	assert_true(json_is_false(json_object_get(first, "needs_query")));
	json_t *hybrid = json_array_get(list, (size_t)recommender_find("hybrid"));
	assert_string_equal(json_string_value(json_object_get(hybrid, "name")), "hybrid");
	assert_true(json_is_true(json_object_get(hybrid, "needs_query")));
	assert_true(strlen(json_string_value(json_object_get(hybrid, "description"))) > 10);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_list_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
