/* test_rerank.c: the re-ranker's guarantees (at most N per artist, k results or
 * a stated reason for fewer) and MMR's behaviour on hand-made cases. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "models/rerank.h"

static rerank_cand cand(int64_t track, int32_t row, int32_t artist, float rel)
{
	rerank_cand c = {.track = track, .row = row, .artist = artist, .relevance = rel, .quality = NAN};
	return c;
}

static void test_relevance_order_without_diversity(void **state)
{
	(void)state;
	rerank_cand c[4] = {cand(1, -1, 1, 0.2f), cand(2, -1, 2, 0.9f), cand(3, -1, 3, 0.5f), cand(4, -1, 4, 0.5f)};
	rerank_opts o = {.k = 4};
	size_t order[4], n;
	assert_int_equal(rerank_run(c, 4, &o, order, &n), RERANK_FULL);
	assert_int_equal(n, 4);
	assert_int_equal(c[order[0]].track, 2);
	assert_int_equal(c[order[1]].track, 3); /* tie broken by lower track id */
	assert_int_equal(c[order[2]].track, 4);
	assert_int_equal(c[order[3]].track, 1);
}

static void test_artist_cap(void **state)
{
	(void)state;
	/* Artist 7 has the five best candidates; a cap of 2 lets in others. */
	rerank_cand c[8];
	for (int i = 0; i < 5; i++)
		c[i] = cand(i + 1, -1, 7, 0.9f - 0.01f * (float)i);
	c[5] = cand(6, -1, 8, 0.5f);
	c[6] = cand(7, -1, 9, 0.4f);
	c[7] = cand(8, -1, 8, 0.3f);
	rerank_opts o = {.k = 5, .max_per_artist = 2};
	size_t order[5], n;
	assert_int_equal(rerank_run(c, 8, &o, order, &n), RERANK_FULL);
	assert_int_equal(n, 5);
	int per[10] = {0};
	for (size_t i = 0; i < n; i++)
		per[c[order[i]].artist]++;
	assert_int_equal(per[7], 2);
	assert_int_equal(per[8], 2);
	assert_int_equal(per[9], 1);
	/* Asking for more than the cap allows: fewer results, and the reason says so. */
	o.k = 8;
	size_t order8[8];
	assert_int_equal(rerank_run(c, 8, &o, order8, &n), RERANK_ARTIST_CAP);
	assert_int_equal(n, 5);
	assert_non_null(strstr(rerank_shortfall_text(RERANK_ARTIST_CAP), "artist"));
}

static void test_few_candidates(void **state)
{
	(void)state;
	rerank_cand c[2] = {cand(1, -1, 1, 0.5f), cand(2, -1, 2, 0.4f)};
	rerank_opts o = {.k = 10};
	size_t order[10], n;
	assert_int_equal(rerank_run(c, 2, &o, order, &n), RERANK_FEW_CANDIDATES);
	assert_int_equal(n, 2);
	assert_int_equal(rerank_run(c, 0, &o, order, &n), RERANK_FEW_CANDIDATES);
	assert_int_equal(n, 0);
}

static void test_mmr_prefers_diverse(void **state)
{
	(void)state;
	/* Rows 0 and 1 are the same direction; row 2 is orthogonal. */
	const float v[3 * 2] = {1, 0, 1, 0, 0, 1};
	rerank_cand c[3] = {cand(1, 0, 1, 1.0f), cand(2, 1, 2, 0.9f), cand(3, 2, 3, 0.6f)};
	size_t order[2], n;
	rerank_opts o = {.k = 2, .vectors = v, .dim = 2};
	rerank_run(c, 3, &o, order, &n);
	assert_int_equal(c[order[1]].track, 2); /* λ = 0: the near-duplicate comes second */
	o.diversity = 0.5f;
	/* Second pick: track 2 scores 0.5·0.9 − 0.5·1 = −0.05; track 3 scores 0.5·0.6 − 0 = 0.3. */
	rerank_run(c, 3, &o, order, &n);
	assert_int_equal(c[order[0]].track, 1);
	assert_int_equal(c[order[1]].track, 3);
	assert_float_equal(c[order[1]].final, 0.3f, 1e-6);
}

static void test_novelty_and_quality_bonus(void **state)
{
	(void)state;
	rerank_cand c[2] = {cand(1, -1, 1, 0.6f), cand(2, -1, 2, 0.5f)};
	c[1].novelty = 1.0f;
	size_t order[1], n;
	rerank_opts o = {.k = 1};
	rerank_run(c, 2, &o, order, &n);
	assert_int_equal(c[order[0]].track, 1);
	o.novelty = 0.2f; /* 0.5 + 0.2 > 0.6 */
	rerank_run(c, 2, &o, order, &n);
	assert_int_equal(c[order[0]].track, 2);
	o.novelty = 0;
	c[0].quality = 0.0f;
	c[1].quality = 1.0f;
	o.quality = 0.15f;
	rerank_run(c, 2, &o, order, &n);
	assert_int_equal(c[order[0]].track, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relevance_order_without_diversity),
		cmocka_unit_test(test_artist_cap),
		cmocka_unit_test(test_few_candidates),
		cmocka_unit_test(test_mmr_prefers_diverse),
		cmocka_unit_test(test_novelty_and_quality_bonus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
