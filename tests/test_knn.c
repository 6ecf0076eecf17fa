/* test_knn.c: exact top-k cosine search against scikit-learn's brute-force
 * NearestNeighbors on the golden data (tests/golden/knn_golden.py), against a
 * double-precision brute force in C on random data of many shapes, and on
 * hand-checkable cases: ties, filters, k > N, N = 0, zero rows and queries,
 * borrowed matrices, bad input, single == batch, and two threads at once;
 * and the AVX-512 kernels of the byte code against their portable twins.
 *
 * Legend: N rows, D features, K results, B queries. */
#include "testutil.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/knn.h"
#include "models/knn_internal.h"

/* Every index in these tests is built with each kernel: the float scan
 * (AVX2 where the CPU has it, and portable), the quantised scan (AVX-512
 * VNNI where the CPU has it, and portable) and the clustered search (AVX2
 * scores, and portable). */
static const unsigned kernel_flags[] = {KNN_FLOAT,   KNN_FLOAT | KNN_PORTABLE,  KNN_QUANT, KNN_QUANT | KNN_PORTABLE,
                                        KNN_CLUSTER, KNN_CLUSTER | KNN_PORTABLE};
#define NKERNELS (sizeof kernel_flags / sizeof kernel_flags[0])

/* ---- helpers ------------------------------------------------------------ */

/* Deterministic uniform floats in [-1, 1) (xorshift64). */
static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 2654435761u + 1; }

static float rng_uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *random_matrix(size_t rows, size_t D)
{
	float *m = malloc((rows * D + 1) * sizeof(float)); /* [rows][D] */
	assert_non_null(m);
	for (size_t i = 0; i < rows * D; i++)
		m[i] = rng_uniform();
	return m;
}

/* A filter in plain terms, applied by the brute-force reference. */
typedef struct ref_filter {
	const uint8_t *exclude; /* bit array [N] or NULL */
	int mod;                /* when > 0, rows with row % mod == 0 are rejected */
} ref_filter;

static int accept_not_multiple(void *ctx, size_t row)
{
	const ref_filter *rf = ctx;
	return row % (size_t)rf->mod != 0;
}

static int cmp_hit(const void *pa, const void *pb)
{
	const knn_hit *a = pa, *b = pb;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->row < b->row ? -1 : a->row > b->row;
}

/* Brute force in double: cosines of q[D] with the rows of raw X[N][D] (not
 * normalised), zero rows and filtered rows left out, best K first. Returns
 * how many hits were written to out[K]. */
static size_t ref_search(const float *X, size_t N, size_t D, const float *q, size_t K, const ref_filter *rf,
                         knn_hit *out)
{
	knn_hit *all = malloc((N + 1) * sizeof(*all)); /* [N] */
	assert_non_null(all);
	double qq = 0;
	for (size_t j = 0; j < D; j++)
		qq += (double)q[j] * q[j];
	size_t n = 0;
	for (size_t i = 0; i < N && qq > 0; i++) {
		double xx = 0, xq = 0;
		for (size_t j = 0; j < D; j++) {
			xx += (double)X[i * D + j] * X[i * D + j];
			xq += (double)X[i * D + j] * q[j];
		}
		if (xx == 0)
			continue;
		if (rf && rf->exclude && knn_bitmap_test(rf->exclude, i))
			continue;
		if (rf && rf->mod > 0 && i % (size_t)rf->mod == 0)
			continue;
		all[n].row = i;
		all[n].score = (float)(xq / sqrt(xx) / sqrt(qq));
		n++;
	}
	qsort(all, n, sizeof(*all), cmp_hit);
	size_t m = n < K ? n : K;
	memcpy(out, all, m * sizeof(*out));
	free(all);
	return m;
}

/* Asserts that hits are ordered by descending score, then ascending row. */
static void assert_sorted(const knn_hit *h, size_t n)
{
	for (size_t j = 1; j < n; j++) {
		int ok = h[j - 1].score > h[j].score || (h[j - 1].score == h[j].score && h[j - 1].row < h[j].row);
		if (!ok)
			fail_msg("hits %zu and %zu out of order: (%zu, %.9g) then (%zu, %.9g)", j - 1, j, h[j - 1].row,
			         h[j - 1].score, h[j].row, h[j].score);
	}
}

static int has_row(const knn_hit *h, size_t n, size_t row)
{
	for (size_t j = 0; j < n; j++)
		if (h[j].row == row)
			return 1;
	return 0;
}

/* Compares two top-K lists that may differ only by float rounding: the
 * scores rank by rank within tol, and a row in one list but not the other
 * must score within tol of the other list's last (boundary) score, that is,
 * be a tie that rounding may break either way. When fewer than K were found
 * the lists hold every eligible row and must be the same set. Returns the
 * largest score difference. */
static double assert_same_hits(const knn_hit *a, size_t na, const knn_hit *b, size_t nb, size_t K, double tol)
{
	double maxdiff = 0;
	assert_int_equal(na, nb);
	for (size_t j = 0; j < na; j++) {
		double d = fabs((double)a[j].score - b[j].score);
		if (d > maxdiff)
			maxdiff = d;
		if (d > tol)
			fail_msg("rank %zu: score %.9g (row %zu) vs %.9g (row %zu)", j, a[j].score, a[j].row,
			         b[j].score, b[j].row);
	}
	for (int side = 0; side < 2; side++) {
		const knn_hit *x = side ? b : a, *y = side ? a : b;
		for (size_t j = 0; j < na; j++) {
			if (has_row(y, na, x[j].row))
				continue;
			if (na < K)
				fail_msg("row %zu found by one search only, with fewer than k results", x[j].row);
			if (x[j].score > y[na - 1].score + tol)
				fail_msg("row %zu (score %.9g) missing from the other list, whose last score is %.9g",
				         x[j].row, x[j].score, y[na - 1].score);
		}
	}
	return maxdiff;
}

static knn_index *make_index(const float *X, size_t N, size_t D, unsigned flags)
{
	knn_index *idx = NULL;
	seg_error err;
	int rc = knn_index_create(&idx, X, N, D, flags, &err);
	if (rc != 0)
		fail_msg("knn_index_create: %s", err.msg);
	assert_non_null(idx);
	return idx;
}

/* ---- golden: scikit-learn ------------------------------------------------ */

typedef struct golden {
	size_t N, D, B, K;
	float *X;      /* [N][D] raw */
	float *Q;      /* [B][D] raw */
	knn_hit *want; /* [B][K] sklearn's rows, score = 1 - distance */
} golden;

static void golden_load(golden *g)
{
	FILE *f = tu_golden_open("knn_data.bin", "rb");
	char magic[8];
	uint32_t hdr[4];
	assert_int_equal(fread(magic, 8, 1, f), 1);
	assert_memory_equal(magic, "SEGKNNG1", 8);
	assert_int_equal(fread(hdr, sizeof hdr, 1, f), 1);
	g->N = hdr[0], g->D = hdr[1], g->B = hdr[2], g->K = hdr[3];
	g->X = malloc(g->N * g->D * sizeof(float));
	g->Q = malloc(g->B * g->D * sizeof(float));
	g->want = malloc(g->B * g->K * sizeof(knn_hit));
	assert_true(g->X && g->Q && g->want);
	assert_int_equal(fread(g->X, sizeof(float), g->N * g->D, f), g->N * g->D);
	assert_int_equal(fread(g->Q, sizeof(float), g->B * g->D, f), g->B * g->D);
	fclose(f);

	f = tu_golden_open("knn_expected.txt", "rb");
	char line[4096];
	size_t b = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		assert_true(b < g->B);
		char *p = line;
		for (size_t j = 0; j < g->K; j++) {
			char *end;
			unsigned long row = strtoul(p, &end, 10);
			assert_true(end != p);
			double dist = strtod(end, &p);
			assert_true(p != end);
			g->want[b * g->K + j].row = row;
			g->want[b * g->K + j].score = (float)(1.0 - dist);
		}
		b++;
	}
	fclose(f);
	assert_int_equal(b, g->B);
}

static void golden_free(golden *g)
{
	free(g->X);
	free(g->Q);
	free(g->want);
}

static void test_golden_sklearn(void **state)
{
	(void)state;
	golden g;
	golden_load(&g);
	const size_t K = g.K, B = g.B, D = g.D;

	/* Queries normalised as the API asks; a borrowed, pre-normalised copy of X. */
	float *Qn = malloc(B * D * sizeof(float));   /* [B][D] */
	float *Xn = malloc(g.N * D * sizeof(float)); /* [N][D] */
	memcpy(Qn, g.Q, B * D * sizeof(float));
	memcpy(Xn, g.X, g.N * D * sizeof(float));
	for (size_t b = 0; b < B; b++)
		knn_vec_normalize(Qn + b * D, D);
	for (size_t i = 0; i < g.N; i++)
		knn_vec_normalize(Xn + i * D, D);

	knn_hit *got = malloc(B * K * sizeof(knn_hit)); /* [B][K] */
	size_t *nout = malloc(B * sizeof(size_t));      /* [B] */
	const char *names[] = {"float/simd",         "float/portable", "quantised/simd",
	                       "quantised/portable", "clustered/simd", "clustered/portable"};
	for (size_t v = 0; v < 2 * NKERNELS; v++) {
		int borrow = v >= NKERNELS;
		unsigned flags = kernel_flags[v % NKERNELS] | (borrow ? KNN_BORROW : 0);
		knn_index *idx = make_index(borrow ? Xn : g.X, g.N, D, flags);
		double single = 0, batch = 0;
		for (size_t b = 0; b < B; b++) {
			size_t n;
			assert_int_equal(knn_search(idx, Qn + b * D, K, NULL, got + b * K, &n), 0);
			assert_sorted(got + b * K, n);
			double d = assert_same_hits(got + b * K, n, g.want + b * K, K, K, 1e-5);
			single = d > single ? d : single;
		}
		seg_error err;
		assert_int_equal(knn_search_batch(idx, Qn, B, K, NULL, got, nout, &err), 0);
		for (size_t b = 0; b < B; b++) {
			assert_sorted(got + b * K, nout[b]);
			double d = assert_same_hits(got + b * K, nout[b], g.want + b * K, K, K, 1e-5);
			batch = d > batch ? d : batch;
		}
		print_message("knn golden (%s/%s, N=%zu D=%zu B=%zu K=%zu): largest score difference "
		              "to sklearn: single %.3g, batch %.3g\n",
		              borrow ? "borrow" : "copy", names[v % NKERNELS], g.N, D, B, K, single, batch);
		knn_index_free(idx);
	}
	free(got);
	free(nout);
	free(Qn);
	free(Xn);
	golden_free(&g);
}

/* ---- exact small cases --------------------------------------------------- */

static void test_hand_computed(void **state)
{
	(void)state;
	/* D = 2: angles are easy. Row 5 is zero. */
	const float X[] = {1, 0, 0, 1, 1, 1, -1, 0, 3, 4, 0, 0, 0.5f, -0.5f}; /* [7][2] */
	const float q[] = {1, 0};
	for (size_t v = 0; v < NKERNELS; v++) {
		knn_index *idx = make_index(X, 7, 2, kernel_flags[v]);
		assert_int_equal(knn_index_rows(idx), 7);
		assert_int_equal(knn_index_dims(idx), 2);
		assert_int_equal(knn_index_zero_rows(idx), 1);
		const float *M = knn_index_matrix(idx);
		assert_float_equal(M[4 * 2 + 0], 0.6f, 1e-7);
		assert_float_equal(M[4 * 2 + 1], 0.8f, 1e-7);

		knn_hit h[10];
		size_t n;
		assert_int_equal(knn_search(idx, q, 3, NULL, h, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(h[0].row, 0);
		assert_float_equal(h[0].score, 1.0f, 1e-7);
		/* rows 2 and 6 both score 1/sqrt(2): the lower row comes first */
		assert_int_equal(h[1].row, 2);
		assert_float_equal(h[1].score, (float)M_SQRT1_2, 1e-7);
		assert_int_equal(h[2].row, 6);
		assert_float_equal(h[2].score, (float)M_SQRT1_2, 1e-7);

		/* k > N: every non-zero row, the zero row never */
		assert_int_equal(knn_search(idx, q, 10, NULL, h, &n), 0);
		assert_int_equal(n, 6);
		const size_t order[] = {0, 2, 6, 4, 1, 3};
		const float score[] = {1, (float)M_SQRT1_2, (float)M_SQRT1_2, 0.6f, 0, -1};
		for (size_t j = 0; j < 6; j++) {
			assert_int_equal(h[j].row, order[j]);
			assert_float_equal(h[j].score, score[j], 1e-7);
		}

		/* the same through the batch path, with a second query (0, -2) */
		const float Q[] = {1, 0, 0, -1};
		knn_hit hb[2 * 4];
		size_t nb[2];
		seg_error err;
		assert_int_equal(knn_search_batch(idx, Q, 2, 4, NULL, hb, nb, &err), 0);
		assert_int_equal(nb[0], 4);
		assert_int_equal(nb[1], 4);
		for (size_t j = 0; j < 4; j++)
			assert_int_equal(hb[j].row, order[j]);
		/* (0,-1): row 6 0.7071, row 0 and 3 tie at 0 (lower first), then row 2 */
		const size_t order1[] = {6, 0, 3, 2};
		for (size_t j = 0; j < 4; j++)
			assert_int_equal(hb[4 + j].row, order1[j]);
		assert_float_equal(hb[4 + 3].score, -(float)M_SQRT1_2, 1e-7);
		knn_index_free(idx);
	}
}

/* Many exact duplicates: equal scores must come out lower row first, in
 * every path, whatever block or group of 8 the duplicates fall in. */
static void test_ties(void **state)
{
	(void)state;
	const size_t N = 5003, D = 19, K = 40, B = 1700; /* N * B: two batch workers */
	rng_seed(7);
	float *proto = random_matrix(4, D);       /* [4][D] */
	float *X = malloc(N * D * sizeof(float)); /* [N][D] */
	for (size_t i = 0; i < N; i++)
		memcpy(X + i * D, proto + ((i * 7 + i / 3) % 4) * D, D * sizeof(float));
	float q[19];
	memcpy(q, proto, D * sizeof(float)); /* the best rows are copies of proto 0 */
	knn_vec_normalize(q, D);
	knn_hit want[40], got[40];
	size_t nwant = ref_search(X, N, D, q, K, NULL, want);
	assert_int_equal(nwant, K);
	for (size_t v = 0; v < NKERNELS; v++) {
		knn_index *idx = make_index(X, N, D, kernel_flags[v]);
		size_t n;
		assert_int_equal(knn_search(idx, q, K, NULL, got, &n), 0);
		assert_int_equal(n, K);
		for (size_t j = 0; j < K; j++) {
			assert_int_equal(got[j].row, want[j].row);
			assert_true(got[j].score == got[0].score);
		}
		size_t nb;
		seg_error err;
		assert_int_equal(knn_search_batch(idx, q, 1, K, NULL, got, &nb, &err), 0);
		assert_int_equal(nb, K);
		for (size_t j = 0; j < K; j++)
			assert_int_equal(got[j].row, want[j].row);
		/* the same query B times, rows split between two workers */
		float *Q = malloc(B * D * sizeof(float)); /* [B][D] */
		knn_hit *hb = malloc(B * K * sizeof(knn_hit));
		size_t *nbs = malloc(B * sizeof(size_t));
		for (size_t b = 0; b < B; b++)
			memcpy(Q + b * D, q, D * sizeof(float));
		assert_int_equal(knn_search_batch(idx, Q, B, K, NULL, hb, nbs, &err), 0);
		for (size_t b = 0; b < B; b += 97) {
			assert_int_equal(nbs[b], K);
			for (size_t j = 0; j < K; j++)
				assert_int_equal(hb[b * K + j].row, want[j].row);
		}
		free(Q);
		free(hb);
		free(nbs);
		knn_index_free(idx);
	}
	free(X);
	free(proto);
}

/* ---- filters ------------------------------------------------------------- */

typedef struct count_ctx {
	ref_filter rf;
	size_t calls;
} count_ctx;

static int accept_counting(void *ctx, size_t row)
{
	count_ctx *c = ctx;
	c->calls++;
	return accept_not_multiple(&c->rf, row);
}

static void test_filters(void **state)
{
	(void)state;
	const size_t N = 1000, D = 12, K = 15;
	rng_seed(11);
	float *X = random_matrix(N, D);
	float *q = random_matrix(1, D);
	knn_vec_normalize(q, D);
	uint8_t ex[KNN_BITMAP_BYTES(1000)] = {0};
	for (size_t i = 0; i < N; i += 3)
		knn_bitmap_set(ex, i);

	for (size_t v = 0; v < NKERNELS; v++) {
		knn_index *idx = make_index(X, N, D, kernel_flags[v]);
		knn_hit got[15], want[15];
		size_t n, nw;
		seg_error err;

		/* exclude only */
		ref_filter rf = {ex, 0};
		knn_filter f = {ex, NULL, NULL};
		nw = ref_search(X, N, D, q, K, &rf, want);
		assert_int_equal(knn_search(idx, q, K, &f, got, &n), 0);
		assert_same_hits(got, n, want, nw, K, 1e-5);
		for (size_t j = 0; j < n; j++)
			assert_false(knn_bitmap_test(ex, got[j].row));

		/* callback only; it is consulted for candidates, not for every row */
		count_ctx cc = {{NULL, 5}, 0};
		f = (knn_filter){NULL, accept_counting, &cc};
		rf = (ref_filter){NULL, 5};
		nw = ref_search(X, N, D, q, K, &rf, want);
		assert_int_equal(knn_search(idx, q, K, &f, got, &n), 0);
		assert_same_hits(got, n, want, nw, K, 1e-5);
		/* (the quantised scan keeps 4K + 128 candidates, so it asks more) */
		assert_true(cc.calls >= K && cc.calls < ((kernel_flags[v] & KNN_QUANT) ? 3 * N / 4 : N / 4));
		for (size_t j = 0; j < n; j++)
			assert_true(got[j].row % 5 != 0);

		/* both, through both paths */
		f = (knn_filter){ex, accept_not_multiple, &rf};
		rf = (ref_filter){ex, 5};
		nw = ref_search(X, N, D, q, K, &rf, want);
		assert_int_equal(knn_search(idx, q, K, &f, got, &n), 0);
		assert_same_hits(got, n, want, nw, K, 1e-5);
		assert_int_equal(knn_search_batch(idx, q, 1, K, &f, got, &n, &err), 0);
		assert_same_hits(got, n, want, nw, K, 1e-5);

		/* a filter that leaves fewer than k rows: all of them, by score */
		uint8_t most[KNN_BITMAP_BYTES(1000)];
		memset(most, 0xff, sizeof most);
		most[10] = (uint8_t)~0x05u; /* rows 80 and 82 pass */
		most[100] = 0x80;           /* rows 800..806 pass (bit 7 set) */
		f = (knn_filter){most, NULL, NULL};
		rf = (ref_filter){most, 0};
		nw = ref_search(X, N, D, q, K, &rf, want);
		assert_int_equal(nw, 9);
		assert_int_equal(knn_search(idx, q, K, &f, got, &n), 0);
		assert_int_equal(n, 9);
		assert_same_hits(got, n, want, nw, K, 1e-5);
		assert_int_equal(knn_search_batch(idx, q, 1, K, &f, got, &n, &err), 0);
		assert_int_equal(n, 9);

		/* a filter that passes nothing */
		memset(most, 0xff, sizeof most);
		assert_int_equal(knn_search(idx, q, K, &f, got, &n), 0);
		assert_int_equal(n, 0);
		assert_int_equal(knn_search_batch(idx, q, 1, K, &f, got, &n, &err), 0);
		assert_int_equal(n, 0);
		knn_index_free(idx);
	}
	free(X);
	free(q);
}

/* ---- edges --------------------------------------------------------------- */

static void test_empty_and_k(void **state)
{
	(void)state;
	knn_index *idx = make_index(NULL, 0, 8, 0);
	assert_int_equal(knn_index_rows(idx), 0);
	const float q[8] = {1, 0, 0, 0, 0, 0, 0, 0};
	knn_hit h[4];
	size_t n = 99, nb[2] = {99, 99};
	seg_error err;
	assert_int_equal(knn_search(idx, q, 4, NULL, h, &n), 0);
	assert_int_equal(n, 0);
	const float Q[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	knn_hit hb[8];
	assert_int_equal(knn_search_batch(idx, Q, 2, 4, NULL, hb, nb, &err), 0);
	assert_int_equal(nb[0], 0);
	assert_int_equal(nb[1], 0);
	knn_index_free(idx);
	knn_index_free(NULL);

	/* k = 0, and k > N */
	const float X[] = {1, 2, 3, 4, 5, 6}; /* [3][2] */
	idx = make_index(X, 3, 2, 0);
	n = 99;
	assert_int_equal(knn_search(idx, q, 0, NULL, NULL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(knn_search_batch(idx, Q, 1, 0, NULL, NULL, nb, &err), 0);
	assert_int_equal(nb[0], 0);
	knn_hit big[50];
	assert_int_equal(knn_search(idx, q, 50, NULL, big, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(big[0].row, 2); /* (5,6) is closest to (1,0) */
	assert_int_equal(big[2].row, 0);
	const float Q2[] = {1, 0, 0, 1}; /* [2][2] */
	knn_hit hb2[2 * 50];
	assert_int_equal(knn_search_batch(idx, Q2, 2, 50, NULL, hb2, nb, &err), 0);
	assert_int_equal(nb[0], 3);
	assert_int_equal(nb[1], 3);
	assert_int_equal(hb2[0].row, 2);
	assert_int_equal(hb2[50].row, 0); /* (1,2) is closest to (0,1) */
	assert_int_equal(knn_search_batch(idx, Q2, 0, 5, NULL, NULL, NULL, &err), 0);
	knn_index_free(idx);
}

static void test_zero_vectors(void **state)
{
	(void)state;
	/* [6][3]: rows 0, 3 and 5 are zero */
	float X[] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0};
	for (int borrow = 0; borrow < 2; borrow++) {
		if (borrow)
			for (size_t i = 0; i < 6; i++)
				knn_vec_normalize(X + i * 3, 3);
		for (size_t v = 0; v < NKERNELS; v++) {
			knn_index *idx = make_index(X, 6, 3, kernel_flags[v] | (borrow ? KNN_BORROW : 0));
			assert_int_equal(knn_index_zero_rows(idx), 3);
			if (borrow)
				assert_ptr_equal(knn_index_matrix(idx), X); /* zero copy */
			else
				for (size_t j = 0; j < 3; j++)
					assert_true(knn_index_matrix(idx)[3 * 3 + j] == 0);
			/* q orthogonal to rows 1, 2 and with a negative score on 4: zero rows
			 * (score 0) would otherwise tie with 1 and 2 */
			const float q[] = {0, 0, 1};
			knn_hit h[6];
			size_t n;
			assert_int_equal(knn_search(idx, q, 6, NULL, h, &n), 0);
			assert_int_equal(n, 3);
			assert_int_equal(h[0].row, 1);
			assert_int_equal(h[1].row, 2);
			assert_int_equal(h[2].row, 4);
			/* an all-zero query has no neighbours; the other query is unaffected */
			const float Q[] = {0, 0, 0, 1, 0, 0}; /* [2][3] */
			assert_int_equal(knn_search(idx, Q, 6, NULL, h, &n), 0);
			assert_int_equal(n, 0);
			knn_hit hb[2 * 6];
			size_t nb[2];
			seg_error err;
			assert_int_equal(knn_search_batch(idx, Q, 2, 6, NULL, hb, nb, &err), 0);
			assert_int_equal(nb[0], 0);
			assert_int_equal(nb[1], 3);
			assert_int_equal(hb[6].row, 1);
			assert_int_equal(hb[6 + 2].row, 4);
			knn_index_free(idx);
		}
	}
	/* an index of zero rows only */
	const float Z[8] = {0};
	knn_index *idx = make_index(Z, 4, 2, 0);
	const float q[] = {1, 0};
	knn_hit h[4];
	size_t n;
	assert_int_equal(knn_search(idx, q, 4, NULL, h, &n), 0);
	assert_int_equal(n, 0);
	knn_index_free(idx);
}

static void test_bad_input(void **state)
{
	(void)state;
	knn_index *idx = (knn_index *)&idx; /* must be reset to NULL on error */
	seg_error err;
	const float X[] = {1, 0, 0, 1, 0.5f, 0.5f}; /* [3][2] */
	assert_int_equal(knn_index_create(&idx, X, 3, 0, 0, &err), SEG_EINVAL);
	assert_null(idx);
	assert_int_equal(knn_index_create(&idx, NULL, 3, 2, 0, &err), SEG_EINVAL);
	assert_int_equal(knn_index_create(&idx, X, SIZE_MAX / 2, 2, 0, &err), SEG_EINVAL);
	assert_int_equal(knn_index_create(NULL, X, 3, 2, 0, &err), SEG_EINVAL);

	/* a borrowed matrix must hold unit rows; row 2 is not */
	assert_int_equal(knn_index_create(&idx, X, 3, 2, KNN_BORROW, &err), SEG_EINVAL);
	assert_null(idx);
	assert_non_null(strstr(err.msg, "row 2"));
	assert_int_equal(err.code, SEG_EINVAL);

	float Y[] = {1, 0, 0, 1, 1, NAN}; /* [3][2] */
	for (int borrow = 0; borrow < 2; borrow++) {
		assert_int_equal(knn_index_create(&idx, Y, 3, 2, borrow ? KNN_BORROW : 0, &err), SEG_EINVAL);
		assert_null(idx);
		assert_non_null(strstr(err.msg, "row 2"));
	}
	Y[5] = INFINITY;
	assert_int_equal(knn_index_create(&idx, Y, 3, 2, 0, &err), SEG_EINVAL);

	idx = make_index(X, 3, 2, 0);
	knn_hit h[3];
	size_t n = 99, nb[2];
	const float qnan[] = {NAN, 1};
	assert_int_equal(knn_search(idx, qnan, 3, NULL, h, &n), SEG_EINVAL);
	assert_int_equal(n, 0);
	const float Q[] = {1, 0, INFINITY, 0}; /* [2][2] */
	assert_int_equal(knn_search_batch(idx, Q, 2, 3, NULL, h, nb, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "query 1"));
	assert_int_equal(knn_search(NULL, Q, 3, NULL, h, &n), SEG_EINVAL);
	assert_int_equal(knn_search(idx, NULL, 3, NULL, h, &n), SEG_EINVAL);
	assert_int_equal(knn_search(idx, Q, 3, NULL, NULL, &n), SEG_EINVAL);
	assert_int_equal(knn_search(idx, Q, 3, NULL, h, NULL), SEG_EINVAL);
	assert_int_equal(knn_search_batch(idx, NULL, 2, 3, NULL, h, nb, &err), SEG_EINVAL);
	assert_int_equal(knn_search_batch(NULL, Q, 2, 3, NULL, h, nb, NULL), SEG_EINVAL);
	knn_index_free(idx);
}

static void test_normalize(void **state)
{
	(void)state;
	float v[] = {3, 0, -4};
	assert_float_equal(knn_vec_normalize(v, 3), 5.0f, 1e-6);
	assert_float_equal(v[0], 0.6f, 1e-7);
	assert_float_equal(v[2], -0.8f, 1e-7);
	float z[] = {0, 0};
	assert_float_equal(knn_vec_normalize(z, 2), 0.0f, 0);
	assert_true(z[0] == 0 && z[1] == 0);
}

/* ---- against brute force, many shapes; single == batch ------------------- */

/* Every D around the kernel's lane width, N around its group of 8, and k
 * small, equal to and above N: both kernels and the batch path agree with a
 * double-precision brute force. */
static void test_shapes(void **state)
{
	(void)state;
	const size_t Ds[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 64};
	const size_t Ns[] = {1, 2, 7, 8, 9, 16, 17, 37, 200};
	rng_seed(3);
	for (size_t a = 0; a < sizeof Ds / sizeof Ds[0]; a++) {
		for (size_t b = 0; b < sizeof Ns / sizeof Ns[0]; b++) {
			size_t D = Ds[a], N = Ns[b], B = 3;
			float *X = random_matrix(N, D);
			float *Q = random_matrix(B, D);
			for (size_t i = 0; i < B; i++)
				knn_vec_normalize(Q + i * D, D);
			const size_t ks[] = {1, 5, N, N + 3};
			for (size_t v = 0; v < NKERNELS; v++) {
				knn_index *idx = make_index(X, N, D, kernel_flags[v]);
				for (size_t c = 0; c < 4; c++) {
					size_t K = ks[c];
					knn_hit *want = malloc(B * K * sizeof(knn_hit));
					knn_hit *got = malloc(B * K * sizeof(knn_hit));
					size_t nb[3], n;
					seg_error err;
					assert_int_equal(knn_search_batch(idx, Q, B, K, NULL, got, nb, &err), 0);
					for (size_t i = 0; i < B; i++) {
						size_t nw = ref_search(X, N, D, Q + i * D, K, NULL, want);
						assert_same_hits(got + i * K, nb[i], want, nw, K, 1e-5);
						assert_int_equal(knn_search(idx, Q + i * D, K, NULL, got, &n), 0);
						assert_sorted(got, n);
						assert_same_hits(got, n, want, nw, K, 1e-5);
					}
					free(want);
					free(got);
				}
				knn_index_free(idx);
			}
			free(X);
			free(Q);
		}
	}
}

/* Sizes that cross the batch path's row blocks, query tiles and the split
 * between two workers. */
static void test_single_equals_batch(void **state)
{
	(void)state;
	const size_t N = 30011, D = 37, B = 300, K = 25;
	rng_seed(5);
	float *X = random_matrix(N, D);
	float *Q = random_matrix(B, D);
	for (size_t i = 0; i < B; i++)
		knn_vec_normalize(Q + i * D, D);
	uint8_t ex[KNN_BITMAP_BYTES(30011)] = {0};
	for (size_t i = 0; i < N; i += 7)
		knn_bitmap_set(ex, i);
	ref_filter rf = {NULL, 4};
	knn_filter f = {ex, accept_not_multiple, &rf};

	knn_hit *batch = malloc(B * K * sizeof(knn_hit)); /* [B][K] */
	knn_hit *single = malloc(K * sizeof(knn_hit));
	knn_hit *portable = malloc(K * sizeof(knn_hit));
	size_t *nb = malloc(B * sizeof(size_t));
	knn_index *idx = make_index(X, N, D, 0);
	knn_index *pidx = make_index(X, N, D, KNN_PORTABLE);
	seg_error err;
	double maxdiff = 0;
	for (int run = 0; run < 4; run++) {
		/* with and without the filter; two workers with small tiles, then
		 * (OpenBLAS on one thread) one worker with large tiles */
		int filtered = run & 1;
		const knn_filter *fp = filtered ? &f : NULL;
		openblas_set_num_threads(run < 2 ? 2 : 1);
		assert_int_equal(knn_search_batch(idx, Q, B, K, fp, batch, nb, &err), 0);
		for (size_t i = 0; i < B; i++) {
			size_t n, np;
			assert_int_equal(knn_search(idx, Q + i * D, K, fp, single, &n), 0);
			assert_int_equal(knn_search(pidx, Q + i * D, K, fp, portable, &np), 0);
			assert_int_equal(n, K);
			double d1 = assert_same_hits(single, n, batch + i * K, nb[i], K, 1e-5);
			double d2 = assert_same_hits(single, n, portable, np, K, 1e-5);
			maxdiff = fmax(maxdiff, fmax(d1, d2));
			for (size_t j = 0; filtered && j < n; j++)
				assert_true(!knn_bitmap_test(ex, single[j].row) && single[j].row % 4 != 0);
		}
	}
	openblas_set_num_threads(2);
	print_message("knn single vs batch vs portable (N=%zu D=%zu B=%zu K=%zu): largest score "
	              "difference %.3g\n",
	              N, D, B, K, maxdiff);
	knn_index_free(idx);
	knn_index_free(pidx);
	free(batch);
	free(single);
	free(portable);
	free(nb);
	free(X);
	free(Q);
}

/* ---- threads ------------------------------------------------------------- */

typedef struct thread_job {
	const knn_index *idx;
	const float *Q; /* [B][D] */
	size_t B, D, K;
	knn_hit *single; /* [B][K] */
	size_t *nsingle; /* [B] */
	knn_hit *batch;  /* [B][K] */
	size_t *nbatch;  /* [B] */
	int rc;
} thread_job;

static void *thread_main(void *arg)
{
	thread_job *j = arg;
	for (int rep = 0; rep < 3; rep++) {
		for (size_t b = 0; b < j->B && j->rc == 0; b++)
			j->rc = knn_search(j->idx, j->Q + b * j->D, j->K, NULL, j->single + b * j->K, &j->nsingle[b]);
		if (j->rc == 0)
			j->rc = knn_search_batch(j->idx, j->Q, j->B, j->K, NULL, j->batch, j->nbatch, NULL);
	}
	return NULL;
}

static void job_alloc(thread_job *j, const knn_index *idx, const float *Q, size_t B, size_t D, size_t K)
{
	*j = (thread_job){idx,
	                  Q,
	                  B,
	                  D,
	                  K,
	                  malloc(B * K * sizeof(knn_hit)),
	                  malloc(B * sizeof(size_t)),
	                  malloc(B * K * sizeof(knn_hit)),
	                  malloc(B * sizeof(size_t)),
	                  0};
	assert_true(j->single && j->nsingle && j->batch && j->nbatch);
}

static void job_free(thread_job *j)
{
	free(j->single);
	free(j->nsingle);
	free(j->batch);
	free(j->nbatch);
}

static void assert_identical(const knn_hit *a, const size_t *na, const knn_hit *b, const size_t *nb, size_t B, size_t K)
{
	for (size_t i = 0; i < B; i++) {
		assert_int_equal(na[i], nb[i]);
		for (size_t j = 0; j < na[i]; j++) {
			assert_int_equal(a[i * K + j].row, b[i * K + j].row);
			assert_true(a[i * K + j].score == b[i * K + j].score);
		}
	}
}

/* Rows [N][D] around the centres c[nc][D] in turn: every `copy`-th row a copy
 * of its centre, every `zero`-th (when not 0) all zero, the others within
 * `noise` of it in each column. */
static float *near_centres(size_t N, size_t D, const float *c, size_t nc, float noise, size_t copy, size_t zero)
{
	float *X = malloc(N * D * sizeof(float)); /* [N][D] */
	assert_non_null(X);
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < D; j++)
			X[i * D + j] = zero && i % zero == 0
			                       ? 0
			                       : c[(i % nc) * D + j] + (i % copy ? noise * rng_uniform() : 0);
	return X;
}

/* Searches each query in Q[B][D] with each k and filter in `ref` (the
 * portable float scan) and `idx`: the same rows and bit-identical scores, or
 * with `tol` > 0 the same rows up to swaps of scores within tol. */
static void assert_same_as_scan(const knn_index *ref, const knn_index *idx, const float *Q, size_t B, size_t D,
                                const size_t *ks, size_t nk, const knn_filter *filters, size_t nf, double tol)
{
	size_t kmax = 0;
	for (size_t c = 0; c < nk; c++)
		kmax = ks[c] > kmax ? ks[c] : kmax;
	knn_hit *want = malloc(kmax * sizeof(knn_hit)), *got = malloc(kmax * sizeof(knn_hit));
	for (size_t c = 0; c < nk; c++)
		for (size_t fi = 0; fi < nf; fi++)
			for (size_t b = 0; b < B; b++) {
				size_t nw, ng;
				const float *q = Q + b * D;
				assert_int_equal(knn_search(ref, q, ks[c], &filters[fi], want, &nw), 0);
				assert_int_equal(knn_search(idx, q, ks[c], &filters[fi], got, &ng), 0);
				assert_int_equal(ng, nw);
				if (tol > 0) {
					assert_same_hits(got, ng, want, nw, ks[c], tol);
					continue;
				}
				for (size_t j = 0; j < nw; j++) {
					assert_int_equal(got[j].row, want[j].row);
					assert_true(got[j].score == want[j].score);
				}
			}
	free(want);
	free(got);
}

/* The quantised scan returns exactly what the portable float scan returns,
 * rows and bit-identical scores (it scores its candidates in the same
 * order), on data built to strain its error bound: tight clusters of
 * near-duplicates, exact duplicates, a constant column, k past its stack
 * limit. Both of its exits are taken: proven by the first scan alone, and
 * a second scan. */
static void test_quantised_exact(void **state)
{
	(void)state;
	const size_t N = 9001, D = 29, B = 60;
	rng_seed(13);
	float *centre = random_matrix(24, D); /* [24][D] */
	/* every 5th row a copy of its centre, the others within 2e-3 of it */
	float *X = near_centres(N, D, centre, 24, 2e-3f, 5, 0);
	for (size_t i = 0; i < N; i++)
		X[i * D + 3] = 0.25f;             /* a constant column */
	float *Q = malloc(B * D * sizeof(float)); /* [B][D] */
	for (size_t b = 0; b < B; b++) {
		/* half the queries at a centre, half random */
		for (size_t j = 0; j < D; j++)
			Q[b * D + j] = b % 2 ? centre[(b % 24) * D + j] : rng_uniform();
		knn_vec_normalize(Q + b * D, D);
	}
	uint8_t excl[KNN_BITMAP_BYTES(9001)] = {0};
	for (size_t i = 0; i < N; i += 3)
		knn_bitmap_set(excl, i);
	ref_filter rf = {.mod = 7};
	knn_filter filters[2] = {{0}, {.exclude = excl, .accept = accept_not_multiple, .ctx = &rf}};

	knn_index *ref = make_index(X, N, D, KNN_FLOAT | KNN_PORTABLE);
	const unsigned flags[] = {KNN_QUANT, KNN_QUANT | KNN_PORTABLE, KNN_QUANT};
	const size_t ks[] = {1, 10, 100, 448}, big[] = {600};
	knn_stats st0, st1;
	knn_stats_get(&st0);
	for (size_t v = 0; v < 3; v++) {
		knn_index *idx = make_index(X, N, D, flags[v]);
		assert_same_as_scan(ref, idx, Q, B, D, ks, 4, filters, 2, 0);
		/* past the stack limit: the float scan, with the same scores */
		assert_same_as_scan(ref, idx, Q, B, D, big, 1, filters, 2, 0);
		knn_index_free(idx);
	}
	knn_stats_get(&st1);
	uint64_t s0 = st0.quant_searches, s1 = st1.quant_searches, r0 = st0.quant_rescans, r1 = st1.quant_rescans;
	print_message("quantised scan: %llu searches, %llu needed a second scan\n", (unsigned long long)(s1 - s0),
	              (unsigned long long)(r1 - r0));
	/* k = 600 goes to the float scan; the rest through the quantised one */
	assert_true(s1 - s0 >= 2 * 4 * 2 * B);
	assert_true(r1 > r0);
	assert_true(r1 - r0 < s1 - s0);

	/* All rows equal: no column tells them apart, the float scan answers. */
	for (size_t i = 0; i < N; i++)
		memcpy(X + i * D, X, D * sizeof(float));
	knn_index *same = make_index(X, N, D, KNN_QUANT);
	knn_hit got[10];
	size_t n;
	assert_int_equal(knn_search(same, Q, 10, NULL, got, &n), 0);
	assert_int_equal(n, 10);
	for (size_t j = 0; j < 10; j++)
		assert_int_equal(got[j].row, j);
	knn_index_free(same);
	knn_index_free(ref);
	free(X);
	free(Q);
	free(centre);
}

/* The clustered search returns exactly what the portable float scan
 * returns, rows and bit-identical scores (the half-float kernel, AVX2 or
 * portable, only picks the rows to score on the floats), on tight clusters,
 * exact duplicates,
 * zero rows, filters, queries that are not unit length, queries in the
 * direction of rows that have many exact copies (angles of 0, where acos is
 * least precise) and k from 1 to past N; and on clustered data it scores a
 * small part of the rows. The default index at this N builds the clusters. */
static void test_clustered_exact(void **state)
{
	(void)state;
	const size_t N = 40000, D = 23, B = 40;
	rng_seed(17);
	float *centre = random_matrix(50, D); /* [50][D] */
	float *X = near_centres(N, D, centre, 50, 0.05f, 7, 997);
	float *Q = malloc(B * D * sizeof(float)); /* [B][D] */
	for (size_t b = 0; b < B; b++) {
		for (size_t j = 0; j < D; j++)
			Q[b * D + j] = b % 4 == 3 ? centre[(b % 50) * D + j] /* at copies of rows: angle 0 */
			               : b % 2    ? centre[(b % 50) * D + j] + 0.02f * rng_uniform()
			                          : rng_uniform();
		knn_vec_normalize(Q + b * D, D);
		if (b % 5 == 0) /* length 3: scores scale, the order does not */
			for (size_t j = 0; j < D; j++)
				Q[b * D + j] *= 3;
	}
	uint8_t *excl = calloc(KNN_BITMAP_BYTES(N), 1);
	for (size_t i = 0; i < N; i += 4)
		knn_bitmap_set(excl, i);
	ref_filter rf = {.mod = 3};
	knn_filter filters[2] = {{0}, {.exclude = excl, .accept = accept_not_multiple, .ctx = &rf}};

	knn_index *ref = make_index(X, N, D, KNN_FLOAT | KNN_PORTABLE);
	const unsigned flags[] = {KNN_CLUSTER | KNN_PORTABLE, KNN_CLUSTER, 0};
	const size_t ks[] = {1, 10, 100, 2000};
	knn_hit got[10];
	for (size_t v = 0; v < 3; v++) {
		knn_index *idx = make_index(X, N, D, flags[v]);
		knn_stats st0, st1;
		knn_stats_get(&st0);
		/* final scores are the float rows' in the portable order: identical */
		assert_same_as_scan(ref, idx, Q, B, D, ks, 4, filters, 2, 0);
		knn_stats_get(&st1);
		assert_int_equal(st1.cluster_searches - st0.cluster_searches, 4 * 2 * B);
		/* Pruning: k = 10 for the queries near a centre, no filter. */
		for (size_t b = 1; b < B; b += 2) {
			size_t ng;
			assert_int_equal(knn_search(idx, Q + b * D, 10, NULL, got, &ng), 0);
		}
		knn_stats_get(&st0);
		double rows = (double)(st0.cluster_rows - st1.cluster_rows) / (double)(B / 2);
		print_message("clustered search (%s): %.0f of %zu rows scored on average for k = 10\n",
		              v == 0   ? "portable"
		              : v == 1 ? "simd"
		                       : "default",
		              rows, N);
		assert_true(rows < N / 5.0); /* 12.6% when written; the float scan scores all */
		knn_index_free(idx);
	}
	knn_index_free(ref);

	/* Borrowed rows need be unit only within 1e-3: rows a little longer
	 * than 1 score above their cosine, and must not be ruled out by it. */
	for (size_t i = 0; i < N; i++) {
		float len = knn_vec_normalize(X + i * D, D);
		float f = len == 0 ? 0 : i % 2 ? 1.0009f : 0.9991f;
		for (size_t j = 0; j < D; j++)
			X[i * D + j] *= f;
	}
	/* and every 4th row one short copy, so that many of the first centres
	 * are that copy and get no rows of their own (they must still be taken
	 * to unit length); the first query points at it */
	for (size_t i = 4; i < N; i += 4)
		memcpy(X + i * D, X + 1 * D, D * sizeof(float));
	for (size_t i = 4; i < N; i += 4)
		for (size_t j = 0; j < D; j++)
			X[i * D + j] *= 0.9991f / 1.0009f;
	memcpy(Q, X + 1 * D, D * sizeof(float));
	ref = make_index(X, N, D, KNN_FLOAT | KNN_PORTABLE | KNN_BORROW);
	knn_index *lx = make_index(X, N, D, KNN_CLUSTER | KNN_BORROW);
	assert_same_as_scan(ref, lx, Q, B, D, ks, 3, filters, 2, 0);
	knn_index_free(lx);
	knn_index_free(ref);
	free(excl);
	free(X);
	free(Q);
	free(centre);
}

/* The approximate mode (knn_search_probe) on a fixed generated set of
 * overlapping clusters, queries near rows (as the server's seeds are),
 * where a small budget of clusters does miss neighbours. With no budget, or
 * one as large as the index's clusters, it is knn_search (rows and scores
 * identical, proven exact), and knn_search is the brute-force top k. With a
 * budget of PROBE_BUDGET of the 200 clusters its recall@10 against brute
 * force is at least PROBE_RECALL (0.949 measured here when written; a
 * looser bound so that another CPU's rounding in k-means cannot fail it),
 * answers that say they are exact are, and at least one says it is not
 * (the budget bites). Without clusters every answer is exact. */
#define PROBE_BUDGET 16
#define PROBE_RECALL 0.93
static void test_probe(void **state)
{
	(void)state;
	const size_t N = 40000, D = 24, B = 100, K = 10;
	rng_seed(29);
	float *centre = random_matrix(300, D);                     /* [300][D] */
	float *X = near_centres(N, D, centre, 300, 0.3f, 1000, 0); /* [N][D]: overlapping clusters */
	float *Q = malloc(B * D * sizeof(float));                  /* [B][D] */
	for (size_t b = 0; b < B; b++) {
		for (size_t j = 0; j < D; j++)
			Q[b * D + j] = X[(b * 397 % N) * D + j] + 0.1f * rng_uniform(); /* near a row, as seeds are */
		knn_vec_normalize(Q + b * D, D);
	}
	knn_index *idx = make_index(X, N, D, KNN_CLUSTER);
	size_t C = knn_index_clusters(idx);
	assert_int_equal(C, 200); /* sqrt(N) */
	knn_index *flat = make_index(X, N, D, KNN_FLOAT);
	assert_int_equal(knn_index_clusters(flat), 0);

	knn_hit want[10], exact_hits[10], got[10];
	size_t hit = 0, total = 0, proven = 0;
	for (size_t b = 0; b < B; b++) {
		const float *q = Q + b * D;
		size_t nw = ref_search(X, N, D, q, K, NULL, want), ne, ng;
		int ex = -1;
		/* the exact mode against brute force (double sums: within rounding) */
		assert_int_equal(knn_search(idx, q, K, NULL, exact_hits, &ne), 0);
		assert_same_hits(exact_hits, ne, want, nw, K, 1e-5);
		/* no budget, and a budget of every cluster: knn_search itself */
		const size_t whole[] = {0, C};
		for (size_t w = 0; w < 2; w++) {
			assert_int_equal(knn_search_probe(idx, q, K, NULL, whole[w], got, &ng, &ex), 0);
			assert_int_equal(ex, 1);
			assert_int_equal(ng, ne);
			for (size_t j = 0; j < ng; j++) {
				assert_int_equal(got[j].row, exact_hits[j].row);
				assert_true(got[j].score == exact_hits[j].score);
			}
		}
		/* the budget */
		assert_int_equal(knn_search_probe(idx, q, K, NULL, PROBE_BUDGET, got, &ng, &ex), 0);
		assert_int_equal(ng, K);
		assert_sorted(got, ng);
		for (size_t j = 0; j < nw; j++, total++)
			hit += (size_t)has_row(got, ng, want[j].row);
		if (ex == 1) {
			proven++;
			for (size_t j = 0; j < ng; j++)
				assert_int_equal(got[j].row, exact_hits[j].row);
		}
		/* no clusters: always exact, whatever the budget */
		assert_int_equal(knn_search_probe(flat, q, K, NULL, 1, got, &ng, &ex), 0);
		assert_int_equal(ex, 1);
		assert_same_hits(got, ng, want, nw, K, 1e-5);
	}
	double recall = (double)hit / (double)total;
	print_message("probe %d of %zu clusters: recall@10 %.4f, %zu of %zu answers proven exact\n", PROBE_BUDGET, C,
	              recall, proven, B);
	assert_true(recall >= PROBE_RECALL);
	assert_true(proven < B);

	/* bad input: as knn_search, and *exact = 1 */
	size_t ng = 7;
	int ex = 0;
	assert_int_equal(knn_search_probe(idx, NULL, K, NULL, 4, got, &ng, &ex), SEG_EINVAL);
	assert_int_equal(ng, 0);
	assert_int_equal(ex, 1);
	knn_index_free(idx);
	knn_index_free(flat);
	free(X);
	free(Q);
	free(centre);
}

/* The AVX-512 kernels against their portable twins, for every D from 1 to
 * 40 and a few wider (every tail of the 8-column and the 4-group steps):
 * the query fit gives the same tau and bytes a, b (identical: they are what
 * the scans multiply), and c and the bound within 1e-12 relative (summed in
 * another order, which any order allows); the VNNI block kernel gives
 * identical I_x, for the fitted bytes and for the extremes of their range.
 * Skipped where the CPU has no AVX-512 VNNI. */
static void test_kernels(void **state)
{
	(void)state;
#ifdef KNN_X86
	if (!knn__cpu_has_vnni()) {
		skip();
		return;
	}
	const size_t Ds[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,  22,
	                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 63, 64, 100, 256};
	const size_t R = 40, NB = 3; /* rows coded, blocks scanned */
	rng_seed(41);
	double dc = 0, db = 0; /* largest relative differences of c and the bound */
	size_t fits = 0;
	for (size_t di = 0; di < sizeof Ds / sizeof Ds[0]; di++) {
		const size_t D = Ds[di], G = (D + 3) / 4;
		float *X = random_matrix(R, D); /* [R][D] */
		for (size_t i = 0; i < R; i++)
			X[i * D] = 0.5f; /* a constant column: step 0 */
		bytecode bc;
		assert_int_equal(knn__bytecode_alloc(&bc, D), 0);
		knn__bytecode_fit(&bc, X, NULL, R, D);
		uint8_t u[QUANT_MAX_D];
		for (size_t i = 0; i < R; i++)
			knn__bytecode_put(&bc, X + i * D, D, u);
		uint8_t *p = aligned_alloc(64, NB * G * 64); /* [NB][G][16][4] */
		assert_non_null(p);
		for (size_t i = 0; i < NB * G * 64; i++)
			p[i] = (uint8_t)(rng_uniform() * 128 + 128);
		p[0] = 255;
		int32_t iv_p[NB * 16], iv_v[NB * 16]; /* [NB][16] */
		for (size_t t = 0; t < 6; t++) {
			float q[QUANT_MAX_D]; /* [D] */
			for (size_t j = 0; j < D; j++)
				q[j] = t == 0 ? 0 : t == 1 && j % 3 ? 0 : rng_uniform() * (t == 5 ? 1e-30f : 1);
			double qn = sqrt(sumsq(q, D));
			qquery want, got;
			memset(&want, 0x55, sizeof want);
			memset(&got, 0x55, sizeof got);
			int rw = knn__qquery_fit(&want, &bc, q, D, qn, 1.0);
			int rg = knn__qquery_fit_avx512(&got, &bc, q, D, qn, 1.0);
			assert_int_equal(rg, rw);
			assert_true(got.tau == want.tau);
			assert_memory_equal(got.a, want.a, 4 * G);
			assert_memory_equal(got.b, want.b, 4 * G);
			double ec = fabs(got.c - want.c) / (fabs(want.c) + 1e-300);
			double eb = fabs(got.bound - want.bound) / want.bound;
			assert_true(want.c == 0 ? got.c == 0 : ec <= 1e-12);
			assert_true(eb <= 1e-12);
			dc = want.c != 0 && ec > dc ? ec : dc;
			db = eb > db ? eb : db;
			fits++;
			knn__block_ints_portable(p, G, NB, want.a, want.b, iv_p);
			knn__block_ints_vnni(p, G, NB, want.a, want.b, iv_v);
			assert_memory_equal(iv_v, iv_p, sizeof iv_p);
		}
		/* the extremes: a_j = +-127, b_j = -64 or 63 */
		qquery ext;
		for (size_t j = 0; j < 4 * G; j++) {
			ext.a[j] = (int8_t)(j % 2 ? 127 : -127);
			ext.b[j] = (int8_t)(j % 3 ? 63 : -64);
		}
		knn__block_ints_portable(p, G, NB, ext.a, ext.b, iv_p);
		knn__block_ints_vnni(p, G, NB, ext.a, ext.b, iv_v);
		assert_memory_equal(iv_v, iv_p, sizeof iv_p);
		free(p);
		knn__bytecode_free(&bc);
		free(X);
	}
	print_message("AVX-512 query fit vs portable (%zu fits): a, b, tau identical; largest relative difference "
	              "of c %.3g, of the bound %.3g; VNNI block kernel identical\n",
	              fits, dc, db);
#else
	skip();
#endif
}

/* Two threads search one index at once (single and batch); each gets what a
 * search alone gets. */
static void test_threads(void **state)
{
	(void)state;
	const size_t N = 20000, D = 32, B = 64, K = 10;
	rng_seed(9);
	float *X = random_matrix(N, D);
	float *Q = random_matrix(B, D);
	for (size_t i = 0; i < B; i++)
		knn_vec_normalize(Q + i * D, D);
	knn_index *idx = make_index(X, N, D, 0);
	thread_job ref, jobs[2];
	job_alloc(&ref, idx, Q, B, D, K);
	thread_main(&ref);
	assert_int_equal(ref.rc, 0);
	pthread_t th[2];
	for (int t = 0; t < 2; t++) {
		job_alloc(&jobs[t], idx, Q, B, D, K);
		assert_int_equal(pthread_create(&th[t], NULL, thread_main, &jobs[t]), 0);
	}
	for (int t = 0; t < 2; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(jobs[t].rc, 0);
		assert_identical(jobs[t].single, jobs[t].nsingle, ref.single, ref.nsingle, B, K);
		assert_identical(jobs[t].batch, jobs[t].nbatch, ref.batch, ref.nbatch, B, K);
		job_free(&jobs[t]);
	}
	job_free(&ref);
	knn_index_free(idx);
	free(X);
	free(Q);
}

int main(void)
{
	/* Two batch workers wherever the batch is big enough, on any machine. */
	openblas_set_num_threads(2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_sklearn),
		cmocka_unit_test(test_hand_computed),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_empty_and_k),
		cmocka_unit_test(test_zero_vectors),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_single_equals_batch),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_quantised_exact),
		cmocka_unit_test(test_clustered_exact),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_kernels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
