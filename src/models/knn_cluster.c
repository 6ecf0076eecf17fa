/* knn_cluster.c: the clustered index of the knn module and its exact
 * search (see knn_internal.h and the section "clusters" below). The
 * clusters come from the kmeans module (spherical k-means).
 *
 * Legend: N rows, M non-zero rows, D features, K results, C clusters, G
 * groups of four columns. */
#include "models/knn_internal.h"

#include "models/kmeans.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- clusters
 *
 * For large N, single queries skip most rows without approximating: the
 * non-zero rows are grouped around C centres (spherical k-means: centres of
 * unit length, each row with the centre of largest cosine), and within a
 * cluster sorted by their angle to its centre, largest first. Angles on the
 * sphere obey the triangle inequality, so for a query q, a row x of cluster
 * c and their angles a(q,c), a(x,c):
 *
 *   q.x = cos a(q,x) <= cos max(0, a(q,c) - a(x,c)).
 *
 * The search first visits the CLUSTER_FIRST clusters whose centres are
 * nearest q, which sets a k-th score close to the final one; then every
 * other cluster whose bound cos max(0, a(q,c) - amax_c) can still reach the
 * k-th score (tested without an arc cosine: cos a(q,c) against cos(reach +
 * amax_c) by the angle-sum formula). In a cluster it scores rows while
 * a(x,c) >= a(q,c) - reach, reach = acos(k-th score): the prefix of its
 * sorted rows that can still reach it. Every row it skips provably scores
 * below the k-th, so the result is the exact top k.
 *
 * Rows are scored on a byte copy in cluster order, coded and scored as in
 * the quantised scan (the query rounded to integers, I_x from the VNNI or
 * the portable kernel, the bound E), and those whose I_x can still reach
 * the k-th score are scored again on the float rows, so the scores returned
 * are the float ones. Each cluster has its own column ranges: they are
 * narrower than the whole index's, so are the residuals and the bound (on
 * the generated 1M catalogue, 119 rows rescored a search instead of 137).
 * The copy is in blocks of 16 rows as the quantised one is, each cluster
 * padded with zero rows to whole blocks. There a search reads about 600 KB
 * of the copy, from all over it, and waits on memory more than it
 * computes: the VNNI kernel replaced a float one (AVX2, the bytes weighted
 * by the float query) for a few per cent (A/B in one process, 2000 queries:
 * 128 against 130, 119 against 123, 142 against 147 us).
 *
 * C = sqrt(N). More clusters rule out more rows but cost more per query
 * (a dot product a centre, and a few cache misses a cluster visited): in
 * bench/serve_profile's requests (k = 10, seeds from the catalogue), 0.5,
 * 1 and 2 sqrt(N) took 46, 49 and 62 us on the real catalogue (8.8%, 7.4%
 * and 6.8% of the rows scored) and 139, 156 and 217 us on the generated 1M
 * one (2.8%, 2.3%, 1.9%); on bench/knn's tightly clustered 1M x 32 vectors
 * more clusters paid (sqrt(N): 6.9k queries/s, 2 sqrt(N): 9.9k, 4 sqrt(N):
 * 12.1k, against 243 for the float scan). Centres come from 5 rounds of spherical
 * k-means on 16 rows a centre; assigning every row to its centre is most of
 * the build. Memory: the byte copy (N x D bytes, D rounded up to 4, each
 * cluster to whole blocks), an angle and a row number a row. */

#define CLUSTER_MIN_ROWS 32768
/* C = KNN_CLUSTER_SCALE sqrt(M); a build-time knob for measuring other
 * counts (cc -DKNN_CLUSTER_SCALE=4 ...), not an option of the library. */
#ifndef KNN_CLUSTER_SCALE
#define KNN_CLUSTER_SCALE 1.0
#endif
#define CLUSTER_PAD UINT32_MAX /* crow of a padding row */
#define CLUSTER_MAX 4096
#define CLUSTER_ITERATIONS 5
/* Room for rounding. Angles between a row or the query and a centre are
 * taken from above (rows) or below (query) by this much; cosines computed in
 * float (the query against the centres; scores) may be off by up to about
 * D * FLT_EPSILON times the query's length, allowed for on top of this. */
#define CLUSTER_ANGLE_SLACK 1e-6
#define CLUSTER_COS_SLACK 1e-5

int knn__cluster_wanted(size_t N, size_t M, size_t D, unsigned flags)
{
	/* (the row positions, padding included, are 32-bit) */
	if (flags & (KNN_FLOAT | KNN_QUANT) || M == 0 || N > UINT32_MAX - 16 * CLUSTER_MAX || D > QUANT_MAX_D)
		return 0;
	return (flags & KNN_CLUSTER) || M >= CLUSTER_MIN_ROWS;
}

/* acos(cosine) as a float no smaller than the angle (the search needs the
 * rows' angles from above). */
static float angle_up(double cosine)
{
	double a = acos(cosine > 1 ? 1 : cosine < -1 ? -1 : cosine) + CLUSTER_ANGLE_SLACK;
	float f = (float)a;
	return (double)f < a ? nextafterf(f, INFINITY) : f;
}

typedef struct angle_row {
	float ang;
	uint32_t row;
} angle_row;

static int cmp_angle_desc(const void *pa, const void *pb)
{
	const angle_row *a = pa, *b = pb;
	if (a->ang != b->ang)
		return a->ang < b->ang ? 1 : -1;
	return a->row < b->row ? -1 : a->row > b->row;
}

int knn__cluster_build(knn_index *idx, seg_error *err)
{
	const size_t N = idx->n, D = idx->d, M = N - idx->nzero;
	size_t C = (size_t)lround(KNN_CLUSTER_SCALE * sqrt((double)M)); /* see "clusters" */
	C = C > M ? M : C > CLUSTER_MAX ? CLUSTER_MAX : C < 1 ? 1 : C;
	int rc = 0;
	uint32_t *rows = malloc(M * sizeof(uint32_t)); /* [M] the non-zero rows */
	uint32_t *lab = malloc(M * sizeof(uint32_t));  /* [M] their clusters */
	angle_row *ar = malloc(M * sizeof(angle_row)); /* [M] */
	idx->nc = C;
	idx->ccen = malloc(C * D * sizeof(float));
	idx->camax = calloc(C, sizeof(float));
	idx->ccos = calloc(C, sizeof(float));
	idx->csin = calloc(C, sizeof(float));
	idx->cstart = calloc(C + 1, sizeof(uint32_t));
	uint32_t *ustart = calloc(C + 1, sizeof(uint32_t)); /* [C + 1] the clusters in ar, unpadded */
	if (!rows || !lab || !ar || !idx->ccen || !idx->camax || !idx->ccos || !idx->csin || !idx->cstart || !ustart) {
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters (%zu rows)", M);
		goto out;
	}
	size_t m = 0;
	idx->clmin = INFINITY;
	idx->clmax = 0;
	for (size_t i = 0; i < N; i++)
		if (!(idx->zero && knn_bitmap_test(idx->zero, i))) {
			rows[m++] = (uint32_t)i;
			double len = sqrt(sumsq(idx->x + i * D, D));
			idx->clmin = len < idx->clmin ? len : idx->clmin;
			idx->clmax = len > idx->clmax ? len : idx->clmax;
		}

	/* Spherical k-means (the kmeans module) on an even sample of up to 16
	 * rows a centre, started from C rows spread through it: deterministic.
	 * Any assignment of rows to centres keeps the search exact (the bounds
	 * are taken from the rows a cluster holds), so a few rounds on a sample
	 * are enough. */
	size_t S = M < 16 * C ? M : 16 * C;
	float *xs = malloc(S * D * sizeof(float));   /* [S][D] the sample's rows */
	int32_t *slab = malloc(S * sizeof(int32_t)); /* [S] their clusters */
	int32_t *nlab = malloc(N * sizeof(int32_t)); /* [N] every row's cluster */
	if (xs == NULL || slab == NULL || nlab == NULL) {
		free(xs);
		free(slab);
		free(nlab);
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
		goto out;
	}
	for (size_t i = 0; i < S; i++)
		memcpy(xs + i * D, idx->x + (size_t)rows[(size_t)((double)i * (double)M / (double)S)] * D,
		       D * sizeof(float));
	for (size_t c = 0; c < C; c++) /* (kmeans scales them to unit length) */
		memcpy(idx->ccen + c * D, xs + (c * S / C) * D, D * sizeof(float));
	kmeans_params kp;
	kmeans_params_default(&kp);
	kp.k = (int)C;
	kp.max_iter = CLUSTER_ITERATIONS;
	kp.tol = 0;
	kp.init = idx->ccen;
	kp.spherical = 1;
	rc = kmeans_fit(xs, S, (int)D, &kp, idx->ccen, slab, NULL, err);
	/* Every row to its nearest centre (the zero rows' labels are unused). */
	if (rc == 0)
		rc = kmeans_assign(idx->ccen, (int)C, (int)D, idx->x, N, nlab, NULL, 0, err);
	for (size_t i = 0; rc == 0 && i < M; i++)
		lab[i] = (uint32_t)nlab[rows[i]];
	free(xs);
	free(slab);
	free(nlab);
	if (rc < 0)
		goto out;

	/* Cluster order, then angles, largest first. */
	for (size_t i = 0; i < M; i++)
		ustart[lab[i] + 1]++;
	for (size_t c = 0; c < C; c++)
		ustart[c + 1] += ustart[c];
	uint32_t *fill = lab; /* reused: lab[i] becomes row i's slot */
	{
		uint32_t *next = malloc(C * sizeof(uint32_t));
		if (next == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
			goto out;
		}
		memcpy(next, ustart, C * sizeof(uint32_t));
		for (size_t i = 0; i < M; i++) {
			uint32_t c = lab[i];
			const float *x = idx->x + (size_t)rows[i] * D, *cc = idx->ccen + (size_t)c * D;
			double dot = 0, xx = 0, cc2 = 0;
			for (size_t j = 0; j < D; j++) {
				dot += (double)x[j] * cc[j];
				xx += (double)x[j] * x[j];
				cc2 += (double)cc[j] * cc[j];
			}
			double cosine = dot / sqrt(xx * cc2);
			fill[i] = next[c]++;
			ar[fill[i]] = (angle_row){angle_up(cosine), rows[i]};
		}
		free(next);
	}
	for (size_t c = 0; c < C; c++) {
		size_t a = ustart[c], b = ustart[c + 1];
		qsort(ar + a, b - a, sizeof(angle_row), cmp_angle_desc);
		idx->camax[c] = b > a ? ar[a].ang : 0;
		idx->ccos[c] = (float)cos(idx->camax[c]);
		idx->csin[c] = (float)sin(idx->camax[c]);
		idx->cstart[c + 1] = idx->cstart[c] + (uint32_t)((b - a + 15) / 16 * 16);
	}
	/* The byte copy, in cluster order, each cluster coded on its own ranges. */
	const size_t MP = idx->cstart[C], G = (D + 3) / 4;
	idx->cg = G;
	idx->cx = aligned_alloc(64, MP / 16 * G * 64 + 64);
	idx->crow = malloc((MP + 1) * sizeof(uint32_t));
	idx->cang = calloc(MP + 1, sizeof(float));
	idx->ccode = malloc(C * sizeof(bytecode));
	idx->cs = (2 * D * sizeof(float) + D * sizeof(double) + 63) / 64 * 64;
	idx->cspan = aligned_alloc(64, C * idx->cs);
	if (!idx->cx || !idx->crow || !idx->cang || !idx->ccode || !idx->cspan) {
		rc = seg_error_set(err, SEG_ENOMEM, "knn index: out of memory for the clusters");
		goto out;
	}
	memset(idx->cx, 0, MP / 16 * G * 64);
	for (size_t c = 0; c < C; c++) {
		bytecode *bc = &idx->ccode[c];
		size_t a = idx->cstart[c], n = ustart[c + 1] - ustart[c];
		for (size_t i = 0; i < idx->cstart[c + 1] - a; i++) {
			idx->crow[a + i] = i < n ? ar[ustart[c] + i].row : CLUSTER_PAD;
			idx->cang[a + i] = i < n ? ar[ustart[c] + i].ang : 0;
		}
		bc->lo = (float *)(void *)(idx->cspan + c * idx->cs);
		bc->step = bc->lo + D;
		bc->emax = (double *)(void *)(bc->step + D); /* 8D bytes in: aligned */
		knn__bytecode_fit(bc, idx->x, idx->crow + a, n, D);
		for (size_t i = a; i < a + n; i++) {
			uint8_t u[QUANT_MAX_D];
			knn__bytecode_put(bc, idx->x + (size_t)idx->crow[i] * D, D, u);
			knn__block_put(idx->cx, G, i, u, D);
		}
	}
out:
	free(rows);
	free(lab);
	free(ar);
	free(ustart);
	return rc;
}

/* ---------------------------------------------------------------- clustered search */

_Atomic uint64_t knn__cluster_searches, knn__cluster_rows_scored, knn__cluster_visits, knn__cluster_rescored;

/* The widest angle between q and a row that can still enter, given the k-th
 * score so far: a score is computed within `err` (times the query's length
 * qn) of q.x, and rows are unit length within it too. */
static double reach_angle(const knn_index *idx, const knn_sel *t, double qn, double err)
{
	if (t->top.len < t->top.k)
		return M_PI + 1; /* not full: everything can enter */
	/* q.x = qn |x| cos(q,x): a row's length can lift its score above its
	 * cosine's (borrowed rows are unit only within 1e-3) */
	double thr = (double)t->top.thr;
	double c = thr / (qn * (thr >= 0 ? idx->clmax : idx->clmin)) - err;
	return c <= -1 ? M_PI + 1 : c >= 1 ? 0 : acos(c) + CLUSTER_ANGLE_SLACK;
}

#define CLUSTER_CHUNK 32
/* Clusters searched first, those whose centres are nearest q: they set a
 * k-th score that rules most others out. */
#define CLUSTER_FIRST 4

/* The I_x a row needs to possibly enter, given the k-th score so far: q.x
 * is within qq->bound of c + tau I_x (see "quantised copy"). INT32_MIN
 * while the top k is not full. */
static int32_t cluster_int_threshold(const knn_sel *t, const qquery *qq)
{
	if (t->top.len < t->top.k || !isfinite(t->top.thr))
		return INT32_MIN;
	double x = ((double)t->top.thr - qq->bound - qq->c) / qq->tau - 2; /* the 2: below its floor, less 1 */
	return x < INT32_MIN ? INT32_MIN : x > INT32_MAX ? INT32_MAX : (int32_t)x;
}

/* Scores the rows pend[np] on their floats and offers them. */
static void rescore_rows(const knn_index *idx, const uint32_t *pend, size_t np, const float *q, knn_sel *t)
{
	for (size_t r = 0; r < np; r++) {
		float e = exact_score(idx, pend[r], q);
		if (e >= t->top.thr) /* rows come in any order: ties go to topk_push */
			sel_offer(t, pend[r], e);
	}
}

/* Searches the rows of cluster c that can still reach the k-th score.
 *
 * Rows are scored first on their bytes, as in the quantised scan, with the
 * query rounded to integers against the cluster's own ranges (its lo and
 * step); only rows whose I_x can still reach the k-th score are scored again
 * on their floats. The integer kernels (VNNI or portable) give the same
 * I_x, so which rows are rescored does not depend on the CPU. A row that
 * passes is scored on its floats one chunk later: its float row, somewhere
 * in the whole matrix, is fetched while the next chunk's bytes are scored,
 * instead of stalling the search; the k-th score then rises a chunk later,
 * which lets a few more rows through (on the generated 1M catalogue, about
 * 138 rescored a search instead of 115, for 7-16% less time a search). */
static uint64_t cluster_visit(const knn_index *idx, size_t c, const float *q, double qn, double err, float u,
                              double *reach, knn_sel *t, uint64_t *rescored)
{
	const size_t G = idx->cg;
	qquery qq;
#ifdef KNN_X86
	if (idx->cvnni)
		knn__qquery_fit_avx512(&qq, &idx->ccode[c], q, idx->d, qn, idx->clmax);
	else
#endif
		knn__qquery_fit(&qq, &idx->ccode[c], q, idx->d, qn, idx->clmax);
	int32_t ithr = cluster_int_threshold(t, &qq);
	/* The angle between q and the centre, from below (u: its cosine, from above). */
	double aq = u >= 1 ? 0 : acos(u) - CLUSTER_ANGLE_SLACK;
	size_t a = idx->cstart[c], b = idx->cstart[c + 1];
	int32_t iv[CLUSTER_CHUNK];
	uint32_t pend[CLUSTER_CHUNK];
	size_t np = 0;
	uint64_t scored = 0;
	for (size_t i = a; i < b; i += CLUSTER_CHUNK) {
		/* rows from here on are no further from the centre than row i
		 * (never a padding row: those are under 16 at a cluster's end) */
		if ((double)idx->cang[i] < aq - *reach)
			break;
		size_t n = b - i < CLUSTER_CHUNK ? b - i : CLUSTER_CHUNK; /* a multiple of 16 */
		const uint8_t *blk = idx->cx + (i / 16) * G * 64;
#ifdef KNN_X86
		if (idx->cvnni)
			knn__block_ints_vnni(blk, G, n / 16, qq.a, qq.b, iv);
		else
#endif
			knn__block_ints_portable(blk, G, n / 16, qq.a, qq.b, iv);
		scored += n;
		float before = t->top.thr;
		/* The last chunk's rows that passed, fetched while this chunk was
		 * scored, and then this chunk's against the k-th score they make. */
		rescore_rows(idx, pend, np, q, t);
		*rescored += np;
		np = 0;
		ithr = cluster_int_threshold(t, &qq);
		for (size_t r = 0; r < n; r++) {
			if (iv[r] <= ithr) /* before reading crow: most rows stop here */
				continue;
			uint32_t row = idx->crow[i + r];
			if (row == CLUSTER_PAD)
				continue;
			__builtin_prefetch(idx->x + (size_t)row * idx->d);
			__builtin_prefetch(idx->x + (size_t)row * idx->d + idx->d - 1);
			pend[np++] = row;
		}
		if (t->top.thr != before || t->top.len < t->top.k)
			*reach = reach_angle(idx, t, qn, err);
	}
	if (np) {
		rescore_rows(idx, pend, np, q, t);
		*rescored += np;
		*reach = reach_angle(idx, t, qn, err);
	}
	return scored;
}

/* Orders the clusters in[n] by u, largest first, into out[n]: a counting
 * sort on CLUSTER_BUCKETS even slices of u's range among them, in cluster
 * order within a slice. The order only makes the k-th score rise early (any
 * order gives the exact top k, and a budget of clusters takes the nearest
 * within a slice's width), and a full sort of a few hundred keys (Shell sort
 * on integer keys, after qsort) was a visible part of a search. */
#define CLUSTER_BUCKETS 256

static void cluster_order(const uint16_t *in, size_t n, const float *u, uint16_t *out)
{
	float hi = -INFINITY, lo = INFINITY;
	for (size_t i = 0; i < n; i++) {
		hi = u[in[i]] > hi ? u[in[i]] : hi;
		lo = u[in[i]] < lo ? u[in[i]] : lo;
	}
	const float scale = hi > lo ? (float)(CLUSTER_BUCKETS - 1) / (hi - lo) : 0;
	uint16_t cnt[CLUSTER_BUCKETS + 1] = {0};
	uint8_t slice[CLUSTER_MAX]; /* [n] */
	for (size_t i = 0; i < n; i++) {
		/* x >= 0; past the last slice by rounding, or infinite or NaN when
		 * hi - lo is so small that scale overflowed: the last slice */
		float x = (hi - u[in[i]]) * scale;
		slice[i] = (uint8_t)(x < CLUSTER_BUCKETS - 1 ? (int)x : CLUSTER_BUCKETS - 1);
		cnt[slice[i] + 1]++;
	}
	for (size_t b = 0; b < CLUSTER_BUCKETS; b++)
		cnt[b + 1] = (uint16_t)(cnt[b + 1] + cnt[b]);
	for (size_t i = 0; i < n; i++)
		out[cnt[slice[i]]++] = in[i];
}

/* A cluster that the bound cannot rule out with the reach of now (cr, sr:
 * its cosine and sine). */
static int cluster_reachable(const knn_index *idx, size_t c, const float *u, double reach, double cr, double sr)
{
	return reach + idx->camax[c] >= M_PI ||
	       (double)u[c] >= cr * idx->ccos[c] - sr * idx->csin[c] - CLUSTER_COS_SLACK;
}

int knn__cluster_search(const knn_index *idx, const float *q, size_t probe, knn_sel *t)
{
	const size_t C = idx->nc, D = idx->d;
	float u[CLUSTER_MAX]; /* [C] cosine between q and each centre, from above */
	const double qn = sqrt(sumsq(q, D));
	const double err = CLUSTER_COS_SLACK + (double)D * FLT_EPSILON;
	knn__score_rows(idx, idx->ccen, C, q, u); /* the dots, first */
	/* the nearest centres, best first: CLUSTER_FIRST of them, fewer when
	 * the probe budget is smaller */
	const size_t NF = probe && probe < CLUSTER_FIRST ? probe : CLUSTER_FIRST;
	size_t first[CLUSTER_FIRST], nfirst = 0;
	for (size_t c = 0; c < C; c++) {
		u[c] = (float)((double)u[c] / qn + err);
		if (nfirst < NF || u[c] > u[first[nfirst - 1]]) {
			size_t j = nfirst < NF ? nfirst++ : nfirst - 1;
			for (; j > 0 && u[first[j - 1]] < u[c]; j--)
				first[j] = first[j - 1];
			first[j] = c;
		}
	}
	uint64_t scored = 0, rescored = 0;
	double reach = reach_angle(idx, t, qn, err);
	for (size_t j = 0; j < nfirst; j++)
		scored += cluster_visit(idx, first[j], q, qn, err, u[first[j]], &reach, t, &rescored);
	/* Then every other cluster that can hold a row within `reach` of q:
	 * angle(q, centre) - amax <= reach, that is cos angle(q, centre) >=
	 * cos(reach + amax) = cos reach cos amax - sin reach sin amax, tested
	 * on u (from above) and with room for the rounding of the right side. */
	uint16_t cand[CLUSTER_MAX], todo[CLUSTER_MAX]; /* the clusters that pass with the reach of now */
	size_t ntodo = 0, nvisit = 0;
	double cr = cos(reach), sr = sin(reach);
	for (size_t c = 0; c < C; c++) {
		int done = 0;
		for (size_t j = 0; j < nfirst; j++)
			done |= first[j] == c;
		if (done || idx->cstart[c] == idx->cstart[c + 1] || !cluster_reachable(idx, c, u, reach, cr, sr))
			continue;
		cand[ntodo++] = (uint16_t)c;
	}
	/* by u, largest first, so that the k-th score rises early and the
	 * re-test below rules out more of the rest */
	cluster_order(cand, ntodo, u, todo);
	/* Visited in order, each tested again as reach shrinks, the next ones'
	 * first rows fetched ahead (each visit starts with cache misses). With a
	 * probe budget, the visits stop at `probe` clusters; the result is
	 * still proven exact when no cluster left can reach the k-th score. */
	int proven = 1;
	for (size_t j = 0; j < ntodo; j++) {
		if (probe && nfirst + nvisit >= probe) {
			for (size_t r = j; proven && r < ntodo; r++)
				proven = !cluster_reachable(idx, todo[r], u, reach, cr, sr);
			break;
		}
		if (j + 2 < ntodo) {
			size_t c2 = todo[j + 2];
			size_t a2 = idx->cstart[c2];
			__builtin_prefetch(idx->cang + a2);
			__builtin_prefetch(idx->crow + a2);
			__builtin_prefetch(idx->cx + a2 / 16 * idx->cg * 64);
			__builtin_prefetch(idx->cx + a2 / 16 * idx->cg * 64 + 64);
			/* and its code, which the visit's query fit reads first */
			__builtin_prefetch(&idx->ccode[c2]);
			const char *rec = idx->cspan + c2 * idx->cs;
			for (size_t o = 0; o < idx->cs; o += 64)
				__builtin_prefetch(rec + o);
		}
		size_t c = todo[j];
		if (!cluster_reachable(idx, c, u, reach, cr, sr))
			continue;
		double before = reach;
		nvisit++;
		scored += cluster_visit(idx, c, q, qn, err, u[c], &reach, t, &rescored);
		if (reach != before) {
			cr = cos(reach);
			sr = sin(reach);
		}
	}
	knn__cluster_searches++;
	knn__cluster_rows_scored += scored;
	knn__cluster_visits += nfirst + nvisit;
	knn__cluster_rescored += rescored;
	return proven;
}
