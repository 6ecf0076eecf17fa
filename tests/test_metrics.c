/* test_metrics.c: every metric of metrics.h on small cases worked out by hand
 * from the definitions (the arithmetic is in the comments), with the edge
 * cases: empty ground truth, no hits, duplicates in the list, k > K. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/metrics.h"

#define EPS 1e-12
#define N_(a) (sizeof(a) / sizeof *(a))

/* 1/log2(3) and 1/log2(5), the challenge discounts of positions 3 and 5. */
#define D3 0.63092975357145743710
#define D5 0.43067655807339306

static void truth(metrics_truth *t, const uint32_t *item, const int64_t *artist, size_t n)
{
	seg_error err;
	assert_int_equal(metrics_truth_set(t, item, artist, n, &err), 0);
}

/* ---------------------------------------------------------------- truth set */

static void test_truth_dedup_and_find(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {7, 3, 7, 1};
	const int64_t a[] = {70, 30, 71, 10};
	truth(&t, g, a, N_(g));
	assert_int_equal(t.n, 3); /* {1, 3, 7} */
	assert_int_equal(metrics_truth_find(&t, 1), 0);
	assert_int_equal(metrics_truth_find(&t, 7), 2);
	assert_int_equal(t.artist[2], 70); /* the first artist given for 7 */
	assert_int_equal(metrics_truth_find(&t, 4), -1);
	/* Reuse with fewer items, then with none. */
	truth(&t, g, NULL, 1);
	assert_int_equal(t.n, 1);
	assert_false(t.has_artist);
	truth(&t, NULL, NULL, 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(metrics_truth_find(&t, 7), -1);
	metrics_truth_free(&t);
	metrics_truth_free(&t); /* freed struct is empty: again is fine */
	metrics_truth_free(NULL);
}

/* ---------------------------------------------------------------- R-precision */

static void test_r_precision_tracks(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {1, 2, 3, 5, 8, 99}; /* |G| = 6 */
	truth(&t, g, NULL, N_(g));

	/* R = [5 8 13 3]: shorter than |G|; hits 5, 8, 3 -> 3/6. */
	const uint32_t r1[] = {5, 8, 13, 3};
	assert_near(metrics_r_precision(&t, r1, NULL, N_(r1)), 0.5, EPS);

	/* R = [5 8 13 3 99 87 | 2 150]: only the first 6 count: 5 8 3 99 -> 4/6
	 * (2 at position 7 is outside R_{1:|G|}). */
	const uint32_t r2[] = {5, 8, 13, 3, 99, 87, 2, 150};
	assert_near(metrics_r_precision(&t, r2, NULL, N_(r2)), 4.0 / 6.0, EPS);

	/* No hits -> 0; empty list -> 0. */
	const uint32_t r3[] = {40, 41, 42};
	assert_near(metrics_r_precision(&t, r3, NULL, N_(r3)), 0.0, EPS);
	assert_near(metrics_r_precision(&t, r3, NULL, 0), 0.0, EPS);

	/* Duplicates: G = {1, 2}, R = [1 1 2]: R_{1:2} = [1 1] holds one distinct
	 * hit -> 1/2 (a repeat uses a slot and earns nothing). */
	const uint32_t g2[] = {1, 2};
	const uint32_t r4[] = {1, 1, 2};
	truth(&t, g2, NULL, N_(g2));
	assert_near(metrics_r_precision(&t, r4, NULL, N_(r4)), 0.5, EPS);

	/* Duplicates in the ground truth are one track: G = [1 1 2] is {1, 2}. */
	const uint32_t g3[] = {1, 1, 2};
	const uint32_t r5[] = {2, 1};
	truth(&t, g3, NULL, N_(g3));
	assert_near(metrics_r_precision(&t, r5, NULL, N_(r5)), 1.0, EPS);

	/* Empty ground truth: undefined. */
	truth(&t, NULL, NULL, 0);
	assert_true(isnan(metrics_r_precision(&t, r1, NULL, N_(r1))));
	metrics_truth_free(&t);
}

static void test_r_precision_artist_credit(void **state)
{
	(void)state;
	metrics_truth t = {0};
	/* G: 1 and 2 by artist 10, 3 by 20, 4 by 30; |G| = 4. */
	const uint32_t g[] = {1, 2, 3, 4};
	const int64_t ga[] = {10, 10, 20, 30};
	truth(&t, g, ga, N_(g));

	/* R = [1 9 8 2 | 3], artists [10 10 20 10 | 20]. Top 4: 1 and 2 match.
	 * Unmatched hidden: 3 (20), 4 (30) -> G_A = {20, 30}.
	 * Unmatched recommended: 9 (10), 8 (20) -> S_A = {10, 20}.
	 * |S_A ∩ G_A| = |{20}| = 1 -> (2 + 0.25) / 4 = 0.5625. Artist 10 earns
	 * nothing: both its hidden tracks were already found. */
	const uint32_t r[] = {1, 9, 8, 2, 3};
	const int64_t ra[] = {10, 10, 20, 10, 20};
	assert_near(metrics_r_precision(&t, r, ra, N_(r)), 0.5625, EPS);
	/* Without artists on either side it is the plain 2/4. */
	assert_near(metrics_r_precision(&t, r, NULL, N_(r)), 0.5, EPS);

	/* G = {1 (10), 2 (10)}; R = [1 5] by [10 10]: 1 matches; 2 is missing and
	 * 5 is a wrong track by its artist -> (1 + 0.25) / 2 = 0.625. */
	const uint32_t g2[] = {1, 2};
	const int64_t ga2[] = {10, 10};
	const uint32_t r2[] = {1, 5};
	const int64_t ra2[] = {10, 10};
	truth(&t, g2, ga2, N_(g2));
	assert_near(metrics_r_precision(&t, r2, ra2, N_(r2)), 0.625, EPS);

	/* R = [5 6] by [10 10]: no track; artists are a set, so two wrong tracks by
	 * artist 10 earn one credit -> 0.25 / 2 = 0.125. */
	const uint32_t r3[] = {5, 6};
	assert_near(metrics_r_precision(&t, r3, ra2, N_(r3)), 0.125, EPS);

	/* All tracks found: no artist term at all -> 1 (never above 1). */
	const uint32_t r4[] = {2, 1};
	assert_near(metrics_r_precision(&t, r4, ra2, N_(r4)), 1.0, EPS);

	/* Truth without artists gives no artist credit even if R has artists. */
	truth(&t, g2, NULL, N_(g2));
	assert_near(metrics_r_precision(&t, r3, ra2, N_(r3)), 0.0, EPS);
	metrics_truth_free(&t);
}

/* ---------------------------------------------------------------- NDCG */

static void test_ndcg(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {1, 2, 3};
	truth(&t, g, NULL, N_(g));

	/* R = [1 9 2 8]: hits at ranks 1 and 3: DCG = 1 + 1/log2(3) = 1.63093.
	 * Challenge IDCG over |G ∩ R| = 2: 1 + 1/log2(2) = 2 -> 0.815465.
	 * Truth IDCG over min(|G|, K) = 3: 1 + 1 + 1/log2(3) = 2.63093 -> 0.619907. */
	const uint32_t r1[] = {1, 9, 2, 8};
	assert_near(metrics_ndcg(&t, r1, N_(r1), METRICS_IDCG_CHALLENGE), (1 + D3) / 2.0, EPS);
	assert_near(metrics_ndcg(&t, r1, N_(r1), METRICS_IDCG_TRUTH), (1 + D3) / (2 + D3), EPS);

	/* A perfect list -> 1 under both. */
	const uint32_t r2[] = {3, 1, 2, 7};
	assert_near(metrics_ndcg(&t, r2, N_(r2), METRICS_IDCG_CHALLENGE), 1.0, EPS);
	assert_near(metrics_ndcg(&t, r2, N_(r2), METRICS_IDCG_TRUTH), 1.0, EPS);

	/* No hits -> 0 (the challenge's IDCG = 0 case). */
	const uint32_t r3[] = {7, 8};
	assert_near(metrics_ndcg(&t, r3, N_(r3), METRICS_IDCG_CHALLENGE), 0.0, EPS);
	assert_near(metrics_ndcg(&t, r3, 0, METRICS_IDCG_TRUTH), 0.0, EPS);

	/* The challenge discount: one hit at rank 2 weighs 1/log2(2) = 1, as much
	 * as rank 1 -> NDCG 1 (challenge). At rank 5: 1/log2(5) = 0.430677.
	 * Truth IDCG over 3: 1/log2(5) / 2.63093. */
	const uint32_t r4[] = {9, 2};
	assert_near(metrics_ndcg(&t, r4, N_(r4), METRICS_IDCG_CHALLENGE), 1.0, EPS);
	const uint32_t r5[] = {9, 8, 7, 6, 3};
	assert_near(metrics_ndcg(&t, r5, N_(r5), METRICS_IDCG_CHALLENGE), D5, 1e-15);
	assert_near(metrics_ndcg(&t, r5, N_(r5), METRICS_IDCG_TRUTH), D5 / (2 + D3), 1e-15);

	/* Duplicates: R = [1 1 2]: the repeat at rank 2 is not relevant again.
	 * DCG = 1 + 0 + 1/log2(3); challenge IDCG (2 hits) = 2 -> 0.815465, not
	 * (1 + 1 + 0.63)/2 > 1. */
	const uint32_t r6[] = {1, 1, 2};
	assert_near(metrics_ndcg(&t, r6, N_(r6), METRICS_IDCG_CHALLENGE), (1 + D3) / 2.0, EPS);

	/* Truth IDCG is capped by the list length: |G| = 3, K = 2, both hits ->
	 * IDCG over min(3, 2) = 2 -> 1. */
	const uint32_t r7[] = {2, 3};
	assert_near(metrics_ndcg(&t, r7, N_(r7), METRICS_IDCG_TRUTH), 1.0, EPS);

	/* Empty ground truth: undefined. */
	truth(&t, NULL, NULL, 0);
	assert_true(isnan(metrics_ndcg(&t, r1, N_(r1), METRICS_IDCG_CHALLENGE)));
	assert_true(isnan(metrics_ndcg(&t, r1, N_(r1), METRICS_IDCG_TRUTH)));
	metrics_truth_free(&t);
}

/* ---------------------------------------------------------------- clicks */

static void test_clicks(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {1000};
	truth(&t, g, NULL, N_(g));
	uint32_t r[600];
	for (uint32_t i = 0; i < 600; i++)
		r[i] = i; /* never 1000 */

	/* The first relevant at rank q gives floor((q - 1) / 10):
	 * q = 1 -> 0, q = 10 -> 0, q = 11 -> 1, q = 25 -> 2, q = 500 -> 49. */
	const size_t ranks[] = {1, 10, 11, 25, 500};
	const double want[] = {0, 0, 1, 2, 49};
	for (size_t c = 0; c < N_(ranks); c++) {
		r[ranks[c] - 1] = 1000;
		assert_near(metrics_clicks(&t, r, 600), want[c], EPS);
		r[ranks[c] - 1] = (uint32_t)(ranks[c] - 1);
	}
	/* None relevant -> 51; relevant only at rank 501 (beyond the challenge's
	 * 500) -> 51; an empty list -> 51. */
	assert_near(metrics_clicks(&t, r, 600), 51.0, EPS);
	r[500] = 1000;
	assert_near(metrics_clicks(&t, r, 600), 51.0, EPS);
	assert_near(metrics_clicks(&t, r, 0), 51.0, EPS);
	/* Only the first relevant counts, duplicates included: [5 1000 1000] -> 0. */
	const uint32_t r2[] = {5, 1000, 1000};
	assert_near(metrics_clicks(&t, r2, N_(r2)), 0.0, EPS);
	/* Empty ground truth: nothing can be relevant -> 51. */
	truth(&t, NULL, NULL, 0);
	assert_near(metrics_clicks(&t, r2, N_(r2)), 51.0, EPS);
	metrics_truth_free(&t);
}

/* ---------------------------------------------------------------- top-k */

static void test_top_k(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {1, 2, 3, 4};
	truth(&t, g, NULL, N_(g));
	const uint32_t r[] = {9, 1, 8, 2, 2, 3}; /* K = 6, 2 repeated */
	const size_t K = N_(r);

	/* k = 3: [9 1 8]: one hit at rank 2.
	 * recall 1/4, precision 1/3, hit 1, rr 1/2. */
	assert_near(metrics_recall_at(&t, r, K, 3), 0.25, EPS);
	assert_near(metrics_precision_at(&t, r, K, 3), 1.0 / 3.0, EPS);
	assert_near(metrics_hit_at(&t, r, K, 3), 1.0, EPS);
	assert_near(metrics_rr_at(&t, r, K, 3), 0.5, EPS);

	/* k = 5: [9 1 8 2 2]: distinct hits {1, 2} (the repeat counts once).
	 * recall 2/4, precision 2/5. */
	assert_near(metrics_recall_at(&t, r, K, 5), 0.5, EPS);
	assert_near(metrics_precision_at(&t, r, K, 5), 0.4, EPS);

	/* k = 10 > K = 6: hits {1, 2, 3}; the 4 missing slots are misses.
	 * recall 3/4, precision 3/10, hit 1, rr 1/2. */
	assert_near(metrics_recall_at(&t, r, K, 10), 0.75, EPS);
	assert_near(metrics_precision_at(&t, r, K, 10), 0.3, EPS);
	assert_near(metrics_hit_at(&t, r, K, 10), 1.0, EPS);
	assert_near(metrics_rr_at(&t, r, K, 10), 0.5, EPS);

	/* k = 0 means the whole list: precision 3/6. */
	assert_near(metrics_precision_at(&t, r, K, 0), 0.5, EPS);
	assert_near(metrics_recall_at(&t, r, K, 0), 0.75, EPS);

	/* k = 1: [9]: no hit anywhere -> 0, 0, 0, 0. */
	assert_near(metrics_recall_at(&t, r, K, 1), 0.0, EPS);
	assert_near(metrics_precision_at(&t, r, K, 1), 0.0, EPS);
	assert_near(metrics_hit_at(&t, r, K, 1), 0.0, EPS);
	assert_near(metrics_rr_at(&t, r, K, 1), 0.0, EPS);

	/* First relevant at rank 1 -> rr 1. */
	const uint32_t r2[] = {4, 9};
	assert_near(metrics_rr_at(&t, r2, N_(r2), 2), 1.0, EPS);

	/* Empty list: precision@0 is 0/0 -> NaN; precision@5 = 0/5. */
	assert_true(isnan(metrics_precision_at(&t, r, 0, 0)));
	assert_near(metrics_precision_at(&t, r, 0, 5), 0.0, EPS);
	assert_near(metrics_recall_at(&t, r, 0, 5), 0.0, EPS);

	/* Empty ground truth: recall undefined; the others are simply 0. */
	truth(&t, NULL, NULL, 0);
	assert_true(isnan(metrics_recall_at(&t, r, K, 3)));
	assert_near(metrics_precision_at(&t, r, K, 3), 0.0, EPS);
	assert_near(metrics_hit_at(&t, r, K, 3), 0.0, EPS);
	assert_near(metrics_rr_at(&t, r, K, 3), 0.0, EPS);
	metrics_truth_free(&t);
}

/* Many calls on one truth: the stamp-based marks must not leak matches from
 * one call into the next (including when the stamp wraps around). */
static void test_marks_reset_between_calls(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {1, 2};
	truth(&t, g, NULL, N_(g));
	const uint32_t r[] = {1, 2};
	for (int i = 0; i < 5; i++)
		assert_near(metrics_recall_at(&t, r, 2, 2), 1.0, EPS);
	t.stamp = UINT32_MAX - 1; /* the next calls wrap to 0 and must reset */
	for (int i = 0; i < 4; i++)
		assert_near(metrics_recall_at(&t, r, 2, 2), 1.0, EPS);
	metrics_truth_free(&t);
}

/* ---------------------------------------------------------------- novelty, popularity bias */

static void test_novelty_and_popularity_bias(void **state)
{
	(void)state;
	seg_error err;
	metrics_popularity p;
	const uint32_t count[] = {4, 2, 1, 1, 0}; /* N = 5, total 8, mean 8/5 = 1.6 */
	assert_int_equal(metrics_popularity_init(&p, count, N_(count), &err), 0);
	assert_near(p.total, 8.0, EPS);
	assert_near(p.mean, 1.6, EPS);

	double v;
	/* rec [0 2]: -log2(4/8) = 1, -log2(1/8) = 3 -> mean 2 bits. */
	const uint32_t r1[] = {0, 2};
	assert_int_equal(metrics_novelty(&p, r1, N_(r1), &v, &err), 0);
	assert_near(v, 2.0, EPS);
	/* rec [4]: never seen, treated as seen once -> -log2(1/8) = 3. */
	const uint32_t r2[] = {4};
	assert_int_equal(metrics_novelty(&p, r2, N_(r2), &v, &err), 0);
	assert_near(v, 3.0, EPS);
	/* rec [0 0] (a duplicate counts per slot): 1. */
	const uint32_t r3[] = {0, 0};
	assert_int_equal(metrics_novelty(&p, r3, N_(r3), &v, &err), 0);
	assert_near(v, 1.0, EPS);
	assert_int_equal(metrics_novelty(&p, r3, 0, &v, &err), 0);
	assert_true(isnan(v));

	/* Popularity bias: rec [0 1] -> mean count 3 / 1.6 = 1.875;
	 * rec [2 3] -> 1 / 1.6 = 0.625. */
	const uint32_t r4[] = {0, 1};
	assert_int_equal(metrics_popularity_bias(&p, r4, N_(r4), &v, &err), 0);
	assert_near(v, 1.875, EPS);
	const uint32_t r5[] = {2, 3};
	assert_int_equal(metrics_popularity_bias(&p, r5, N_(r5), &v, &err), 0);
	assert_near(v, 0.625, EPS);
	assert_int_equal(metrics_popularity_bias(&p, r5, 0, &v, &err), 0);
	assert_true(isnan(v));

	/* Errors: an item outside the catalogue; a catalogue with no counts. */
	const uint32_t bad[] = {1, 5};
	assert_int_equal(metrics_novelty(&p, bad, N_(bad), &v, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "position 2"));
	assert_int_equal(metrics_popularity_bias(&p, bad, N_(bad), &v, &err), SEG_EINVAL);
	const uint32_t zero[] = {0, 0};
	assert_int_equal(metrics_popularity_init(&p, zero, N_(zero), &err), SEG_EINVAL);
	assert_int_equal(metrics_popularity_init(&p, count, 0, &err), SEG_EINVAL);
}

/* ---------------------------------------------------------------- diversity */

static double id_distance(uint32_t a, uint32_t b, void *ctx)
{
	int *calls = ctx;
	(*calls)++;
	return a > b ? (double)(a - b) : (double)(b - a);
}

static void test_intra_list_diversity(void **state)
{
	(void)state;
	/* X = (1,0), (0,1), (1,1): distances 1 - 0 = 1, and 1 - 1/sqrt(2) twice:
	 * mean (1 + 2 (1 - 0.707107)) / 3 = 0.528595. */
	const float X[3][2] = {{1, 0}, {0, 1}, {1, 1}};
	double want = (1.0 + 2.0 * (1.0 - 1.0 / sqrt(2.0))) / 3.0;
	assert_near(metrics_ild(&X[0][0], 3, 2), want, 1e-7);
	/* Identical directions -> 0 (scale does not matter). */
	const float Y[2][2] = {{1, 2}, {3, 6}};
	assert_near(metrics_ild(&Y[0][0], 2, 2), 0.0, 1e-7);
	/* A zero vector counts as orthogonal: distance 1. */
	const float Z[2][2] = {{0, 0}, {3, 6}};
	assert_near(metrics_ild(&Z[0][0], 2, 2), 1.0, EPS);
	/* Fewer than two items: undefined. */
	assert_true(isnan(metrics_ild(&X[0][0], 1, 2)));
	assert_true(isnan(metrics_ild(&X[0][0], 0, 2)));

	/* Rows of a catalogue: rec [2 0] is the pair (1,1), (1,0): 1 - 1/sqrt(2). */
	const uint32_t rec[] = {2, 0};
	assert_near(metrics_ild_rows(&X[0][0], 2, rec, 2), 1.0 - 1.0 / sqrt(2.0), 1e-7);
	/* All three rows through rec = the [K][D] result. */
	const uint32_t all[] = {0, 1, 2};
	assert_near(metrics_ild_rows(&X[0][0], 2, all, 3), want, 1e-7);

	/* A distance function: |a - b| over rec [1 4 6]: (3 + 5 + 2) / 3. */
	int calls = 0;
	const uint32_t r2[] = {1, 4, 6};
	assert_near(metrics_ild_fn(r2, 3, id_distance, &calls), 10.0 / 3.0, EPS);
	assert_int_equal(calls, 3);
	assert_true(isnan(metrics_ild_fn(r2, 1, id_distance, &calls)));
}

/* ---------------------------------------------------------------- exposure */

static void test_exposure_coverage_gini(void **state)
{
	(void)state;
	seg_error err;
	metrics_exposure e;
	double gini;
	assert_int_equal(metrics_exposure_init(&e, 4, &err), 0);
	/* Nothing recommended yet: coverage 0, Gini undefined. */
	assert_near(metrics_exposure_coverage(&e), 0.0, EPS);
	assert_int_equal(metrics_exposure_gini(&e, &gini, &err), 0);
	assert_true(isnan(gini));

	/* Lists [0 1] and [0 2]: counts [2 1 1 0]; coverage 3/4.
	 * Gini: sorted [0 1 1 2], Σ (2i - 5) x_i = -3·0 - 1·1 + 1·1 + 3·2 = 6,
	 * over N Σx = 4 · 4 -> 0.375. */
	const uint32_t a[] = {0, 1}, b[] = {0, 2};
	assert_int_equal(metrics_exposure_add(&e, a, 2, &err), 0);
	assert_int_equal(metrics_exposure_add(&e, b, 2, &err), 0);
	assert_near(metrics_exposure_coverage(&e), 0.75, EPS);
	assert_int_equal(metrics_exposure_gini(&e, &gini, &err), 0);
	assert_near(gini, 0.375, EPS);
	assert_int_equal(e.lists, 2);

	/* An item outside the catalogue: refused, nothing counted. */
	const uint32_t bad[] = {3, 4};
	assert_int_equal(metrics_exposure_add(&e, bad, 2, &err), SEG_EINVAL);
	assert_int_equal(e.count[3], 0);
	assert_int_equal(e.total, 4);
	metrics_exposure_free(&e);

	/* All exposure on one item of four: (N - 1)/N = 0.75; coverage 1/4. */
	assert_int_equal(metrics_exposure_init(&e, 4, &err), 0);
	const uint32_t one[] = {2, 2, 2, 2};
	assert_int_equal(metrics_exposure_add(&e, one, 4, &err), 0);
	assert_int_equal(metrics_exposure_gini(&e, &gini, &err), 0);
	assert_near(gini, 0.75, EPS);
	assert_near(metrics_exposure_coverage(&e), 0.25, EPS);
	metrics_exposure_free(&e);

	/* Every item equally often: 0; counts [1 2 3 4] (lists spread unevenly):
	 * Σ (2i - 5) x_i = -3 - 2 + 3 + 12 = 10, / (4 · 10) = 0.25. */
	assert_int_equal(metrics_exposure_init(&e, 4, &err), 0);
	const uint32_t even[] = {0, 1, 2, 3};
	assert_int_equal(metrics_exposure_add(&e, even, 4, &err), 0);
	assert_int_equal(metrics_exposure_gini(&e, &gini, &err), 0);
	assert_near(gini, 0.0, EPS);
	const uint32_t more[] = {1, 2, 2, 3, 3, 3};
	assert_int_equal(metrics_exposure_add(&e, more, 6, &err), 0);
	assert_int_equal(metrics_exposure_gini(&e, &gini, &err), 0);
	assert_near(gini, 0.25, EPS);
	assert_near(metrics_exposure_coverage(&e), 1.0, EPS);
	metrics_exposure_free(&e);
	metrics_exposure_free(NULL);

	assert_int_equal(metrics_exposure_init(&e, 0, &err), SEG_EINVAL);
}

/* ---------------------------------------------------------------- accumulator */

static void test_stat_mean_se_merge(void **state)
{
	(void)state;
	metrics_stat s = {0};
	assert_true(isnan(metrics_stat_mean(&s)));
	assert_true(isnan(metrics_stat_se(&s)));
	/* 1 2 3 4 and a NaN: mean 2.5; sample variance (2.25+0.25+0.25+2.25)/3 =
	 * 5/3; SE = sqrt(5/3 / 4) = 0.645497; one undefined. */
	const double x[] = {1, 2, NAN, 3, 4};
	for (size_t i = 0; i < N_(x); i++)
		metrics_stat_add(&s, x[i]);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.undefined, 1);
	assert_near(metrics_stat_mean(&s), 2.5, EPS);
	assert_near(metrics_stat_se(&s), sqrt(5.0 / 12.0), EPS);

	/* Merging halves [1 2] + [NaN 3 4] equals adding all. */
	metrics_stat a = {0}, b = {0}, empty = {0};
	metrics_stat_add(&a, 1);
	metrics_stat_add(&a, 2);
	metrics_stat_add(&b, NAN);
	metrics_stat_add(&b, 3);
	metrics_stat_add(&b, 4);
	metrics_stat_merge(&a, &b);
	metrics_stat_merge(&a, &empty);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.undefined, 1);
	assert_near(a.mean, s.mean, EPS);
	assert_near(a.m2, s.m2, EPS);
	metrics_stat_merge(&empty, &a); /* into an empty one: a copy */
	assert_near(empty.m2, s.m2, EPS);
	assert_int_equal(empty.n, 4);

	/* One value: mean defined, SE not. */
	metrics_stat one = {0};
	metrics_stat_add(&one, 0.3);
	assert_near(metrics_stat_mean(&one), 0.3, EPS);
	assert_true(isnan(metrics_stat_se(&one)));
}

static void test_list_eval_and_acc(void **state)
{
	(void)state;
	seg_error err;
	metrics_truth t = {0};
	const uint32_t g[] = {1, 2, 3, 4};
	const int64_t ga[] = {10, 10, 20, 30};
	truth(&t, g, ga, N_(g));
	const uint32_t r[] = {1, 9, 8, 2, 3};
	const int64_t ra[] = {10, 10, 20, 10, 20};
	const uint32_t count[10] = {5, 4, 3, 2, 1, 1, 1, 1, 1, 1}; /* total 20, mean 2 */
	metrics_popularity p;
	assert_int_equal(metrics_popularity_init(&p, count, 10, &err), 0);
	float feat[10][2];
	for (int i = 0; i < 10; i++) {
		feat[i][0] = (float)(i % 3);
		feat[i][1] = (float)(i % 2);
	}

	/* Zero options: k = K, challenge IDCG, no beyond-accuracy metrics. */
	double v[METRIC__COUNT];
	assert_int_equal(metrics_list_eval(&t, r, ra, N_(r), NULL, v, &err), 0);
	assert_near(v[METRIC_R_PRECISION], 0.5625, EPS);
	/* Hits at 1, 4, 5: DCG = 1 + 1/2 + 1/log2(5); 3 hits: IDCG = 1 + 1 + 1/log2(3). */
	assert_near(v[METRIC_NDCG], (1.5 + D5) / (2 + D3), EPS);
	assert_near(v[METRIC_CLICKS], 0.0, EPS);
	assert_near(v[METRIC_RECALL], 0.75, EPS);
	assert_near(v[METRIC_PRECISION], 0.6, EPS);
	assert_near(v[METRIC_HIT], 1.0, EPS);
	assert_near(v[METRIC_RR], 1.0, EPS);
	assert_true(isnan(v[METRIC_NOVELTY]));
	assert_true(isnan(v[METRIC_ILD]));
	assert_true(isnan(v[METRIC_POPULARITY_BIAS]));

	/* k = 3 with popularity and features: top 3 = [1 9 8].
	 * Novelty: -log2(4/20), -log2(1/20) twice; bias (4+1+1)/3 / 2 = 1. */
	metrics_list_opts o = {.k = 3,
	                       .idcg = METRICS_IDCG_TRUTH,
	                       .pop = &p,
	                       .features = &feat[0][0],
	                       .features_n = 10,
	                       .features_d = 2};
	assert_int_equal(metrics_list_eval(&t, r, ra, N_(r), &o, v, &err), 0);
	assert_near(v[METRIC_RECALL], 0.25, EPS);
	assert_near(v[METRIC_PRECISION], 1.0 / 3.0, EPS);
	assert_near(v[METRIC_NOVELTY], (-log2(0.2) - 2 * log2(0.05)) / 3.0, 1e-12);
	assert_near(v[METRIC_POPULARITY_BIAS], 1.0, EPS);
	assert_near(v[METRIC_ILD], metrics_ild_rows(&feat[0][0], 2, r, 3), EPS);
	/* NDCG is over the whole list either way: 3 hits of |G| = 4, K = 5. */
	assert_near(v[METRIC_NDCG], (1.5 + D5) / (2 + D3 + 0.5), EPS);

	/* An item outside the feature rows is an error. */
	o.features_n = 5;
	assert_int_equal(metrics_list_eval(&t, r, ra, N_(r), &o, v, &err), SEG_EINVAL);

	/* Accumulate two lists and one with an empty truth (recall NaN). */
	metrics_acc acc = {0};
	o.features_n = 10;
	assert_int_equal(metrics_list_eval(&t, r, ra, N_(r), &o, v, &err), 0);
	metrics_acc_add(&acc, v);
	const uint32_t r2[] = {7, 6, 5};
	assert_int_equal(metrics_list_eval(&t, r2, NULL, N_(r2), &o, v, &err), 0);
	assert_near(v[METRIC_RECALL], 0.0, EPS);
	assert_near(v[METRIC_CLICKS], 51.0, EPS);
	metrics_acc_add(&acc, v);
	truth(&t, NULL, NULL, 0);
	assert_int_equal(metrics_list_eval(&t, r2, NULL, N_(r2), &o, v, &err), 0);
	assert_true(isnan(v[METRIC_RECALL]));
	metrics_acc_add(&acc, v);

	/* recall@3 values 0.25 and 0: mean 0.125; sd = 0.176777, SE = 0.125. */
	const metrics_stat *s = &acc.stat[METRIC_RECALL];
	assert_int_equal(s->n, 2);
	assert_int_equal(s->undefined, 1);
	assert_near(metrics_stat_mean(s), 0.125, EPS);
	assert_near(metrics_stat_se(s), 0.125, EPS);

	strbuf sb = {0};
	metrics_acc_format(&acc, &sb);
	const char *text = strbuf_cstr(&sb);
	printf("# accumulator table:\n");
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		printf("#   %.*s\n", (int)(nl - l), l);
		l = nl + 1;
	}
	/* 1.96 · 0.125 = 0.245. */
	assert_non_null(strstr(text, "recall@k         0.1250 ± 0.2450  (n=2, undefined=1)\n"));
	assert_non_null(strstr(text, "clicks           34.0000 ± "));
	strbuf_free(&sb);

	/* Merging two accumulators equals one. */
	metrics_acc x = {0}, y = {0};
	metrics_acc_merge(&x, &acc);
	metrics_acc_merge(&x, &y);
	assert_int_equal(x.stat[METRIC_RECALL].n, 2);
	assert_near(x.stat[METRIC_RECALL].m2, s->m2, EPS);
	metrics_truth_free(&t);
}

/* ------------------------------------------------- organisers' NDCG, stats */

/* NDCG as the organisers' tool computes it: discount 1/log2(i + 1) over the
 * deduplicated list, ideal over min(|G|, k). Expected values by hand, and
 * the same from tests/golden/evaluate_stats.py (evaluate_stats.txt). */
static void test_ndcg_organisers(void **state)
{
	(void)state;
	metrics_truth t = {0};
	const uint32_t g[] = {1, 2, 3};
	truth(&t, g, NULL, N_(g));
	/* [1 9 2 9 8] -> deduplicated [1 9 2 8]: hits at 1 and 3.
	 * DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4)
	 * = 2.130930 -> 0.703918 (golden 0.70391808903413466). The old
	 * normalisation over the 2 hits with the rules' discount gives
	 * (1 + 1/log2(3)) / 2: the two are different figures. */
	const uint32_t r1[] = {1, 9, 2, 9, 8};
	assert_near(metrics_ndcg_organisers(&t, r1, N_(r1), 500), 1.5 / (1.5 + D3), EPS);
	assert_near(metrics_ndcg_organisers(&t, r1, N_(r1), 500), 0.70391808903413466, EPS);
	assert_near(metrics_ndcg(&t, r1, N_(r1), METRICS_IDCG_CHALLENGE), (1 + D3) / 2.0, EPS);
	/* k = 2 cuts the list to [9 1] and the ideal to 2 positions:
	 * DCG = 1/log2(3); IDCG = 1 + 1/log2(3) -> 0.386853 (golden). */
	const uint32_t r2[] = {9, 1, 2, 3};
	assert_near(metrics_ndcg_organisers(&t, r2, N_(r2), 2), D3 / (1 + D3), EPS);
	assert_near(metrics_ndcg_organisers(&t, r2, N_(r2), 2), 0.38685280723454163, EPS);
	/* Every hidden track first: 1. No hit: 0. */
	const uint32_t r3[] = {3, 1, 2, 7};
	assert_near(metrics_ndcg_organisers(&t, r3, N_(r3), 500), 1.0, EPS);
	const uint32_t r4[] = {7, 8};
	assert_near(metrics_ndcg_organisers(&t, r4, N_(r4), 500), 0.0, EPS);
	/* A list shorter than k is not padded: the ideal still counts 3. */
	const uint32_t r5[] = {1};
	assert_near(metrics_ndcg_organisers(&t, r5, N_(r5), 500), 1.0 / (1.5 + D3), EPS);
	/* One hidden track at rank 3: 1/log2(4) = 0.5 (golden). */
	const uint32_t g1[] = {4}, r6[] = {5, 6, 4};
	truth(&t, g1, NULL, 1);
	assert_near(metrics_ndcg_organisers(&t, r6, N_(r6), 500), 0.5, EPS);
	truth(&t, g, NULL, 0);
	assert_true(isnan(metrics_ndcg_organisers(&t, r1, N_(r1), 500)));
	metrics_truth_free(&t);
}

/* The paired t-test against scipy.stats.ttest_rel and Holm against its
 * definition, both from tests/golden/evaluate_stats.py. */
static void test_paired_ttest_and_holm(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		double mean, t, p;
	} want[] = {
		{2, -0.11999999999999998, -1.5000000000000002, 0.37433408362199755},
		{5, 0.012000000000000011, 0.060413740519811215, 0.95472411464638041},
		{30, 0.03333333333333334, 0.5038456403371373, 0.61817619642492139},
		{200, 0.021799999999999993, 0.77315469224810829, 0.44034822973404986},
	};
	double a[200], b[200];
	for (size_t i = 0; i < 200; i++) {
		a[i] = (double)((i * 37 + 3) % 101) / 100.0;
		b[i] = (double)((i * 53 + 7) % 97) / 100.0;
	}
	double worst = 0;
	for (size_t c = 0; c < N_(want); c++) {
		metrics_paired r;
		metrics_paired_ttest(a, b, want[c].n, &r);
		assert_int_equal(r.n, want[c].n);
		assert_near(r.mean, want[c].mean, 1e-12);
		assert_near(r.t, want[c].t, 1e-10);
		assert_near(r.p, want[c].p, 1e-9);
		assert_near(r.lo, r.mean - 1.96 * r.se, 1e-15);
		assert_near(r.hi, r.mean + 1.96 * r.se, 1e-15);
		if (fabs(r.p - want[c].p) > worst)
			worst = fabs(r.p - want[c].p);
	}
	print_message("# paired t-test: largest |p - scipy| = %.3g\n", worst);
	/* Identical series: no difference, p = 1. One list: undefined. */
	metrics_paired r;
	metrics_paired_ttest(a, a, 10, &r);
	assert_near(r.p, 1.0, 0);
	metrics_paired_ttest(a, b, 1, &r);
	assert_true(isnan(r.p));
	/* The t tail itself: t = 2.0, df = 10 -> 0.073388034770740 (scipy
	 * stats.t.sf(2, 10) * 2); large df tends to the normal's 0.0455. */
	assert_near(metrics_t_pvalue(2.0, 10), 0.07338803477074, 1e-10);
	assert_near(metrics_t_pvalue(2.0, 1e7), 0.0455002638, 1e-7);

	double p[] = {0.01, 0.04, 0.03, 0.005, 0.5, 0.04, NAN}, adj[N_(p)];
	const double hw[] = {0.05, 0.12, 0.12, 0.03, 0.5, 0.12};
	seg_error err;
	assert_int_equal(metrics_holm(p, N_(p), adj, &err), 0);
	for (size_t i = 0; i < N_(hw); i++)
		assert_near(adj[i], hw[i], 1e-15);
	assert_true(isnan(adj[6])); /* left out of the family: m = 6, not 7 */
	/* In place. */
	assert_int_equal(metrics_holm(p, N_(p), p, &err), 0);
	assert_near(p[0], 0.05, 1e-15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truth_dedup_and_find),
		cmocka_unit_test(test_r_precision_tracks),
		cmocka_unit_test(test_r_precision_artist_credit),
		cmocka_unit_test(test_ndcg),
		cmocka_unit_test(test_ndcg_organisers),
		cmocka_unit_test(test_paired_ttest_and_holm),
		cmocka_unit_test(test_clicks),
		cmocka_unit_test(test_top_k),
		cmocka_unit_test(test_marks_reset_between_calls),
		cmocka_unit_test(test_novelty_and_popularity_bias),
		cmocka_unit_test(test_intra_list_diversity),
		cmocka_unit_test(test_exposure_coverage_gini),
		cmocka_unit_test(test_stat_mean_se_merge),
		cmocka_unit_test(test_list_eval_and_acc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
