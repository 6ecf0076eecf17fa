/* test_kmeans.c: k-means against scikit-learn's inertia on the golden data
 * (tests/golden/kmeans_pca_golden.py), determinism, nearest-centroid labels,
 * hand-checkable small cases (two clusters, k = 1, k = N, duplicates, an empty
 * cluster), assignment of new points, and the wording of kmeans_describe. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kmeans.h"

/* ---- reference checks -------------------------------------------------- */

static double dist2_exact(const float *a, const float *b, int d)
{
	double s = 0;
	for (int j = 0; j < d; j++) {
		double t = (double)a[j] - b[j];
		s += t * t;
	}
	return s;
}

/* Every label is a nearest centroid (up to float rounding of the BLAS form);
 * returns the exact inertia of the labels. Prints the largest excess. */
static double check_nearest(const float *x, size_t n, int d, const float *c, int k, const int32_t *labels)
{
	double inertia = 0, worst = 0;
	for (size_t i = 0; i < n; i++) {
		assert_in_range(labels[i], 0, k - 1);
		double own = dist2_exact(x + i * d, c + (size_t)labels[i] * d, d), best = own;
		for (int j = 0; j < k; j++) {
			double t = dist2_exact(x + i * d, c + (size_t)j * d, d);
			if (t < best)
				best = t;
		}
		double excess = own - best;
		if (excess > worst)
			worst = excess;
		assert_true(excess <= 1e-4 * (1 + best));
		inertia += own;
	}
	if (worst > 0)
		printf("# nearest-centroid check: largest excess of own over nearest distance %.3g\n", worst);
	return inertia;
}

/* ---- golden comparisons -------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Like scikit-learn (n_init = 10), one fit lands within 1% of the best known
 * inertia for about 95-98% of seeds on these sets, depending on where
 * k-means++ starts. So that the check does not hang on one seed's luck, five
 * seeds are fitted: the median must be within 1% of scikit-learn's inertia
 * (random_state = 0) and every one within 5%. */
static void golden_case(const char *set, const char *bin)
{
	size_t n;
	int d;
	float *x = tu_golden_matrix(bin, &n, &d);
	char key[64];
	snprintf(key, sizeof key, "%s.n", set);
	assert_int_equal((size_t)tu_golden_value("kmeans_golden.txt", key), n);
	snprintf(key, sizeof key, "%s.k", set);
	int k = (int)tu_golden_value("kmeans_golden.txt", key);
	snprintf(key, sizeof key, "%s.inertia", set);
	double sk = tu_golden_value("kmeans_golden.txt", key);

	enum { SEEDS = 5 };
	double inertia[SEEDS];
	float *c = malloc(sizeof(float) * (size_t)k * d); /* [K][D] */
	int32_t *labels = malloc(sizeof(int32_t) * n);    /* [N] */
	for (int seed = 0; seed < SEEDS; seed++) {
		kmeans_params p;
		kmeans_params_default(&p);
		p.k = k;
		p.n_init = 10;
		p.seed = (uint64_t)seed;
		kmeans_info info;
		seg_error err;
		assert_int_equal(kmeans_fit(x, n, d, &p, c, labels, &info, &err), 0);
		double exact = check_nearest(x, n, d, c, k, labels);
		assert_true(fabs(exact - info.inertia) <= 1e-9 * exact);
		printf("# %s (%zu x %d, k=%d, seed %d): segue inertia %.6f (run %d, %d iterations%s, "
		       "%ld reseeds), scikit-learn %.6f, ratio %.6f\n",
		       set, n, d, k, seed, info.inertia, info.best_run, info.iterations,
		       info.converged ? "" : ", not converged", info.reseeds, sk, info.inertia / sk);
		assert_true(info.inertia <= 1.05 * sk);
		assert_true(info.inertia >= 0.95 * sk); /* far lower would mean a wrong inertia */
		inertia[seed] = info.inertia;
	}
	qsort(inertia, SEEDS, sizeof inertia[0], cmp_double);
	printf("# %s: median over %d seeds %.6f, ratio to scikit-learn %.6f\n", set, SEEDS, inertia[SEEDS / 2],
	       inertia[SEEDS / 2] / sk);
	assert_true(inertia[SEEDS / 2] <= 1.01 * sk);
	free(x);
	free(c);
	free(labels);
}

static void test_golden_blobs(void **state)
{
	(void)state;
	golden_case("blobs", "kmeans_blobs.bin");
}

static void test_golden_features(void **state)
{
	(void)state;
	golden_case("features", "kmeans_features.bin");
}

/* Equal seeds give bit-identical results, whatever the number of threads. */
static void test_determinism(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = tu_golden_matrix("kmeans_blobs.bin", &n, &d);
	const int k = 8;
	float *c[3];
	int32_t *lab[3];
	kmeans_info info[3];
	int threads[3] = {2, 2, 1};
	for (int r = 0; r < 3; r++) {
		kmeans_params p;
		kmeans_params_default(&p);
		p.k = k;
		p.n_init = 3;
		p.seed = 42;
		p.n_threads = threads[r];
		c[r] = malloc(sizeof(float) * k * d);
		lab[r] = malloc(sizeof(int32_t) * n);
		assert_int_equal(kmeans_fit(x, n, d, &p, c[r], lab[r], &info[r], NULL), 0);
	}
	for (int r = 1; r < 3; r++) {
		assert_memory_equal(c[0], c[r], sizeof(float) * k * d);
		assert_memory_equal(lab[0], lab[r], sizeof(int32_t) * n);
		assert_true(info[0].inertia == info[r].inertia);
		assert_int_equal(info[0].iterations, info[r].iterations);
	}
	/* A different seed starts elsewhere (the result may or may not coincide). */
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = k;
	p.n_init = 1;
	p.seed = 43;
	kmeans_info other;
	assert_int_equal(kmeans_fit(x, n, d, &p, c[1], lab[1], &other, NULL), 0);
	printf("# seed 42: inertia %.6f; seed 43 (one run): %.6f\n", info[0].inertia, other.inertia);
	for (int r = 0; r < 3; r++) {
		free(c[r]);
		free(lab[r]);
	}
	free(x);
}

/* ---- hand-checkable cases ------------------------------------------------ */

static void test_two_clusters(void **state)
{
	(void)state;
	/* x [4][2]: two pairs, 10 apart. */
	const float x[] = {0, 0, 0, 1, 10, 0, 10, 1};
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = 2;
	float c[4];
	int32_t labels[4];
	kmeans_info info;
	assert_int_equal(kmeans_fit(x, 4, 2, &p, c, labels, &info, NULL), 0);
	assert_int_equal(labels[0], labels[1]);
	assert_int_equal(labels[2], labels[3]);
	assert_int_not_equal(labels[0], labels[2]);
	const float *left = c + 2 * labels[0], *right = c + 2 * labels[2];
	assert_float_equal(left[0], 0.0, 1e-6);
	assert_float_equal(left[1], 0.5, 1e-6);
	assert_float_equal(right[0], 10.0, 1e-6);
	assert_float_equal(right[1], 0.5, 1e-6);
	assert_float_equal(info.inertia, 1.0, 1e-9); /* four points, each 0.5 away */
	assert_true(info.converged);
}

/* Spherical mode: unit rows around two directions; each centroid is the
 * unit direction of its rows' sum (worked out by hand below), and a row
 * goes to the centroid of largest cosine even where a Euclidean mean
 * would be nearer. */
static void test_spherical(void **state)
{
	(void)state;
	/* x [6][2]: three unit rows near (1, 0), three near (-1, 0) */
	const float a = 0.6f, b = 0.8f;
	const float x[] = {1, 0, b, a, b, -a, -1, 0, -b, a, -b, -a};
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = 2;
	p.spherical = 1;
	p.seed = 3;
	float c[4];
	int32_t labels[6];
	assert_int_equal(kmeans_fit(x, 6, 2, &p, c, labels, NULL, NULL), 0);
	assert_int_equal(labels[0], labels[1]);
	assert_int_equal(labels[0], labels[2]);
	assert_int_equal(labels[3], labels[4]);
	assert_int_equal(labels[3], labels[5]);
	assert_int_not_equal(labels[0], labels[3]);
	/* sums (1 + 2b, 0) and (-1 - 2b, 0): unit centroids (1, 0) and (-1, 0)
	 * (a Euclidean mean would be ((1 + 2b) / 3, 0), shorter) */
	const float *e1 = c + 2 * labels[0], *e2 = c + 2 * labels[3];
	assert_float_equal(e1[0], 1.0, 1e-6);
	assert_float_equal(e1[1], 0.0, 1e-6);
	assert_float_equal(e2[0], -1.0, 1e-6);
	assert_float_equal(e2[1], 0.0, 1e-6);

	/* An init is scaled to unit length first; a row of length 3 is
	 * assigned by direction. */
	const float init[] = {5, 0, 0, 0.5f};
	p.init = init;
	p.max_iter = 0;
	assert_int_equal(kmeans_fit(x, 6, 2, &p, c, labels, NULL, NULL), 0);
	assert_float_equal(c[0], 1.0, 1e-6);
	assert_float_equal(c[3], 1.0, 1e-6);
	const float far[] = {0.3f, 3.0f}; /* long: only its direction counts */
	int32_t lab;
	assert_int_equal(kmeans_assign(c, 2, 2, far, 1, &lab, NULL, 1, NULL), 0);
	assert_int_equal(lab, 1);
}

static void test_k1(void **state)
{
	(void)state;
	/* x [5][3]; the mean is (2, 0, -1). */
	const float x[] = {0, 1, -1, 4, -1, -1, 2, 2, 0, 1, -2, -3, 3, 0, 0};
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = 1;
	float c[3];
	int32_t labels[5];
	kmeans_info info;
	assert_int_equal(kmeans_fit(x, 5, 3, &p, c, labels, &info, NULL), 0);
	assert_float_equal(c[0], 2.0, 1e-6);
	assert_float_equal(c[1], 0.0, 1e-6);
	assert_float_equal(c[2], -1.0, 1e-6);
	for (int i = 0; i < 5; i++)
		assert_int_equal(labels[i], 0);
	/* squared deviations: 4+1+0, 4+1+0, 0+4+1, 1+4+4, 1+0+1 = 26 */
	assert_float_equal(info.inertia, 26.0, 1e-9);
}

static void test_k_equals_n(void **state)
{
	(void)state;
	enum { N = 7, D = 2 };
	const float x[N * D] = {0, 0, 1, 0, 0, 1, 5, 5, -3, 2, 2, -4, 8, 1};
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = N;
	float c[N * D];
	int32_t labels[N];
	kmeans_info info;
	assert_int_equal(kmeans_fit(x, N, D, &p, c, labels, &info, NULL), 0);
	int used[N] = {0};
	for (int i = 0; i < N; i++) {
		used[labels[i]]++;
		assert_memory_equal(c + D * labels[i], x + D * i, sizeof(float) * D);
	}
	for (int j = 0; j < N; j++)
		assert_int_equal(used[j], 1);
	assert_float_equal(info.inertia, 0.0, 1e-12);
}

/* Two distinct points, each five times, and K = 3: the third centre can only
 * duplicate one of the others, so a cluster goes empty and is re-seeded. */
static void test_duplicates(void **state)
{
	(void)state;
	enum { N = 10, D = 3 };
	float x[N * D];
	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++)
			x[i * D + j] = i % 2 ? 1.5f : -2.0f;
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = 3;
	p.n_init = 4;
	float c[3 * D];
	int32_t labels[N];
	kmeans_info info;
	assert_int_equal(kmeans_fit(x, N, D, &p, c, labels, &info, NULL), 0);
	assert_float_equal(info.inertia, 0.0, 1e-12);
	for (int i = 2; i < N; i++)
		assert_int_equal(labels[i], labels[i % 2]);
	assert_int_not_equal(labels[0], labels[1]);
	assert_true(info.reseeds > 0);
	for (int j = 0; j < 3 * D; j++)
		assert_true(c[j] == 1.5f || c[j] == -2.0f);

	/* All points equal: every centroid is that point. */
	for (int j = 0; j < N * D; j++)
		x[j] = 0.25f;
	assert_int_equal(kmeans_fit(x, N, D, &p, c, labels, &info, NULL), 0);
	assert_float_equal(info.inertia, 0.0, 1e-12);
	for (int j = 0; j < 3 * D; j++)
		assert_true(c[j] == 0.25f);
}

/* 1-D points 0 1 2 3 | 10 11 started from centroids 1, 11, 100: nobody is
 * nearest to 100, so that cluster is re-seeded at the row farthest from its
 * centroid (3, at distance 2 from 1). Then: {0,1,2} mean 1, {10,11} mean 10.5,
 * {3}; 2 is equidistant from 1 and 3 and goes to the lower index.
 * Inertia 1 + 0 + 1 + 0.25 + 0.25 + 0 = 2.5. */
static void test_empty_cluster(void **state)
{
	(void)state;
	const float x[] = {0, 1, 2, 3, 10, 11};
	const float init[] = {1, 11, 100};
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = 3;
	p.init = init;
	float c[3];
	int32_t labels[6];
	kmeans_info info;
	assert_int_equal(kmeans_fit(x, 6, 1, &p, c, labels, &info, NULL), 0);
	assert_int_equal(info.reseeds, 1);
	assert_float_equal(c[0], 1.0, 1e-6);
	assert_float_equal(c[1], 10.5, 1e-6);
	assert_float_equal(c[2], 3.0, 1e-6);
	const int32_t want[] = {0, 0, 0, 2, 1, 1};
	assert_memory_equal(labels, want, sizeof want);
	assert_float_equal(info.inertia, 2.5, 1e-9);
	assert_true(info.converged);
}

static void test_assign(void **state)
{
	(void)state;
	size_t n;
	int d;
	float *x = tu_golden_matrix("kmeans_features.bin", &n, &d);
	kmeans_params p;
	kmeans_params_default(&p);
	p.k = 5;
	p.n_init = 2;
	float *c = malloc(sizeof(float) * p.k * d);
	int32_t *labels = malloc(sizeof(int32_t) * n), *again = malloc(sizeof(int32_t) * n);
	float *dist2 = malloc(sizeof(float) * n);
	assert_int_equal(kmeans_fit(x, n, d, &p, c, labels, NULL, NULL), 0);
	/* Assigning the training rows reproduces the fitted labels... */
	assert_int_equal(kmeans_assign(c, p.k, d, x, n, again, dist2, 0, NULL), 0);
	assert_memory_equal(labels, again, sizeof(int32_t) * n);
	/* ...and new rows (the first 100, shifted) go to their nearest centroid. */
	for (size_t i = 0; i < 100 * (size_t)d; i++)
		x[i] += 0.75f * (float)((int)(i % 7) - 3);
	assert_int_equal(kmeans_assign(c, p.k, d, x, 100, again, dist2, 1, NULL), 0);
	double worst = 0;
	for (size_t i = 0; i < 100; i++) {
		double own = dist2_exact(x + i * d, c + (size_t)again[i] * d, d);
		worst = fmax(worst, fabs(own - dist2[i]) / (1 + own));
	}
	printf("# kmeans_assign: largest relative error of dist2 %.3g\n", worst);
	assert_true(worst < 1e-5);
	check_nearest(x, 100, d, c, p.k, again);
	free(x);
	free(c);
	free(labels);
	free(again);
	free(dist2);
}

static void test_bad_args(void **state)
{
	(void)state;
	float x[] = {0, 1, 2, 3};
	float c[4];
	int32_t labels[4];
	kmeans_params p;
	kmeans_params_default(&p);
	seg_error err;
	p.k = 0;
	assert_int_equal(kmeans_fit(x, 4, 1, &p, c, labels, NULL, &err), SEG_EINVAL);
	p.k = 5;
	assert_int_equal(kmeans_fit(x, 4, 1, &p, c, labels, NULL, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "k = 5"));
	p.k = 2;
	p.tol = -1;
	assert_int_equal(kmeans_fit(x, 4, 1, &p, c, labels, NULL, &err), SEG_EINVAL);
	p.tol = 1e-6;
	x[2] = NAN;
	assert_int_equal(kmeans_fit(x, 4, 1, &p, c, labels, NULL, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "row 2"));
	assert_int_equal(kmeans_assign(c, 2, 1, x, 4, labels, NULL, 0, &err), SEG_EINVAL);
	assert_int_equal(kmeans_fit(x, 0, 1, &p, c, labels, NULL, &err), SEG_EINVAL);
}

/* ---- kmeans_describe ---------------------------------------------------- */

static void test_describe(void **state)
{
	(void)state;
	const char *names[] = {"danceability", "energy", "loudness", "Tempo",
	                       "acousticness", "mode",   "valence",  "brightness"};
	char buf[128];
	seg_error err;

	const float a[] = {0.2f, 1.8f, 0.9f, 1.2f, -1.5f, -0.3f, 0.1f, 0.3f};
	assert_int_equal(kmeans_describe(a, names, 8, 0.5, 3, buf, sizeof buf, &err), 3);
	assert_string_equal(buf, "high energy, low acousticness, fast");
	assert_int_equal(kmeans_describe(a, names, 8, 0.5, 4, buf, sizeof buf, &err), 4);
	assert_string_equal(buf, "high energy, low acousticness, fast, loud");
	assert_int_equal(kmeans_describe(a, names, 8, 1.3, 4, buf, sizeof buf, &err), 2);
	assert_string_equal(buf, "high energy, low acousticness");

	/* Unknown names read "high X" / "low X"; ties keep feature order. */
	const float b[] = {-1.0f, 0.0f, -0.8f, -0.6f, 0.0f, -2.0f, -1.6f, 1.0f};
	assert_int_equal(kmeans_describe(b, names, 8, 0.5, 4, buf, sizeof buf, &err), 4);
	assert_string_equal(buf, "minor-leaning, sad-sounding, hard to dance to, high brightness");
	assert_int_equal(kmeans_describe(b, names, 8, 0.5, 6, buf, sizeof buf, &err), 6);
	assert_string_equal(buf, "minor-leaning, sad-sounding, hard to dance to, high brightness, "
	                         "quiet, slow");
	const float b2[] = {0, 0, 0, 0, 0, 0, 0, -0.9f};
	assert_int_equal(kmeans_describe(b2, names, 8, 0.5, 3, buf, sizeof buf, &err), 1);
	assert_string_equal(buf, "low brightness");

	/* Nothing stands out. */
	const float flat[] = {0.1f, -0.2f, 0.3f, 0.0f, 0.2f, -0.4f, 0.1f, NAN};
	assert_int_equal(kmeans_describe(flat, names, 8, 0.5, 3, buf, sizeof buf, &err), 0);
	assert_string_equal(buf, "close to the average");

	/* Other Spotify features. */
	const char *more[] = {"instrumentalness", "speechiness", "liveness", "duration_ms", "popularity"};
	const float m1[] = {2.0f, -1.5f, 1.2f, -1.1f, -0.9f};
	assert_int_equal(kmeans_describe(m1, more, 5, 0.5, 5, buf, sizeof buf, &err), 5);
	assert_string_equal(buf, "instrumental, little speech, live-sounding, short, little-known");
	const float m2[] = {-2.0f, 1.5f, -1.2f, 1.1f, 0.9f};
	assert_int_equal(kmeans_describe(m2, more, 5, 0.5, 5, buf, sizeof buf, &err), 5);
	assert_string_equal(buf, "vocal, speech-heavy, studio-sounding, long, popular");

	/* A buffer too small is an error and leaves "". */
	char tiny[12];
	assert_int_equal(kmeans_describe(a, names, 8, 0.5, 3, tiny, sizeof tiny, &err), SEG_EINVAL);
	assert_string_equal(tiny, "");
	assert_int_equal(kmeans_describe(a, names, 8, 0.5, 0, buf, sizeof buf, &err), SEG_EINVAL);
	assert_int_equal(kmeans_describe(a, names, 8, -1, 3, buf, sizeof buf, &err), SEG_EINVAL);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_blobs), cmocka_unit_test(test_golden_features),
		cmocka_unit_test(test_determinism),  cmocka_unit_test(test_two_clusters),
		cmocka_unit_test(test_spherical),
		cmocka_unit_test(test_k1),           cmocka_unit_test(test_k_equals_n),
		cmocka_unit_test(test_duplicates),   cmocka_unit_test(test_empty_cluster),
		cmocka_unit_test(test_assign),       cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_describe),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
