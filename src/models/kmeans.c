/* kmeans.c: k-means++ seeding and Lloyd iterations on BLAS row blocks, spread over
 * core/parallel threads (see kmeans.h). It does not implement Elkan's or mini-batch k-means:
 * Lloyd's algorithm with sgemm is fast enough for catalogue sizes and simple to
 * keep deterministic.
 *
 * Legend: N points, D features, K clusters, T k-means++ candidates per step,
 * P row partitions, B rows per sgemm block. */
#include "models/kmeans.h"

#include "core/parallel.h"
#include "core/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Layout and threads                                                       */
/* ------------------------------------------------------------------------ */

/* The rows are cut into at most KMEANS_MAX_PARTS partitions of at least
 * KMEANS_MIN_PART_ROWS rows. Every partition keeps its own partial sums, which are
 * added in partition order; the partitions depend on N alone, so the result does
 * not depend on how many threads did the work. */
#define KMEANS_MAX_PARTS 32
#define KMEANS_MIN_PART_ROWS 512

/* OpenBLAS (0.3.x, interface/gemm.c) runs an sgemm on the calling thread when
 * M*N*K <= 65536 * GEMM_MULTITHREAD_THRESHOLD (4 by default). Blocks of B rows are
 * sized to stay under that, so our threads are the only ones. */
#define KMEANS_BLAS_SERIAL_MNK 262144
#define KMEANS_MAX_BLOCK 256
#define KMEANS_MIN_BLOCK 8

/* Rows whose sums are accumulated in float before they are added to the
 * partition's double sums (see assign_part). */
#define KMEANS_FLUSH_ROWS 256

/* T = 2 + floor(ln K) candidates per k-means++ step; at most 23 for an int K. */
#define KMEANS_MAX_CAND 32

typedef struct km_layout {
	size_t n;         /* N rows */
	int d;            /* D columns */
	int parts;        /* P partitions */
	size_t part_rows; /* rows per partition; the last may have fewer */
	int block;        /* B rows per sgemm call */
	int threads;      /* worker threads, 1..P */
} km_layout;

static void layout_init(km_layout *l, size_t n, int d, int k, int n_threads)
{
	size_t parts = (n + KMEANS_MIN_PART_ROWS - 1) / KMEANS_MIN_PART_ROWS;
	if (parts > KMEANS_MAX_PARTS)
		parts = KMEANS_MAX_PARTS;
	if (parts < 1)
		parts = 1;
	l->n = n;
	l->d = d;
	l->parts = (int)parts;
	l->part_rows = (n + parts - 1) / parts;
	long b = KMEANS_BLAS_SERIAL_MNK / ((long)k * d > 0 ? (long)k * d : 1);
	l->block = (int)(b < KMEANS_MIN_BLOCK ? KMEANS_MIN_BLOCK : b > KMEANS_MAX_BLOCK ? KMEANS_MAX_BLOCK : b);
	int t = parallel_workers(n_threads);
	l->threads = t < l->parts ? t : l->parts;
}

static void part_range(const km_layout *l, int part, size_t *lo, size_t *hi)
{
	*lo = (size_t)part * l->part_rows;
	*hi = *lo + l->part_rows < l->n ? *lo + l->part_rows : l->n;
	if (*lo > l->n)
		*lo = l->n;
}

/* A job runs over every partition once; `scratch` is the calling worker's own. */
typedef void (*km_part_fn)(void *ctx, int part, float *scratch);

/* One pool_run: the job and the workers' scratch. */
typedef struct km_pool {
	km_part_fn fn;      /* the job */
	void *ctx;          /* its argument */
	float *scratch;     /* [threads][scratch_len] */
	size_t scratch_len; /* floats per worker */
} km_pool;

static void pool_part(void *arg, int worker, int64_t chunk, int64_t begin, int64_t end)
{
	(void)chunk;
	(void)end;
	km_pool *pool = arg;
	pool->fn(pool->ctx, (int)begin, pool->scratch + (size_t)worker * pool->scratch_len);
}

/* Runs fn over all partitions, one at a time to each of l->threads workers
 * (core/parallel; the caller is one of them). */
static void pool_run(const km_layout *l, km_part_fn fn, void *ctx, float *scratch, size_t scratch_len)
{
	km_pool pool = {.fn = fn, .ctx = ctx, .scratch = scratch, .scratch_len = scratch_len};
	parallel_for(l->threads, l->parts, 1, pool_part, &pool);
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* Uniform in [0, 1) from the splitmix64 stream *s (core/rng); one stream
 * per restart. */
static double draw_unit(uint64_t *s) { return rng_unit(rng_splitmix64(s)); }

static size_t draw_index(uint64_t *s, size_t n) { return (size_t)(draw_unit(s) * (double)n) % n; }

static float sq_norm(const float *v, int d)
{
	double s = 0;
	for (int j = 0; j < d; j++)
		s += (double)v[j] * v[j];
	return (float)s;
}

/* Scales v[D] to unit length (in double); a zero vector stays zero. */
static void unit_scale(float *v, int d)
{
	double s = 0;
	for (int j = 0; j < d; j++)
		s += (double)v[j] * v[j];
	if (!(s > 0))
		return;
	double len = sqrt(s);
	for (int j = 0; j < d; j++)
		v[j] = (float)(v[j] / len);
}

static int check_finite(const float *x, size_t n, int d, const char *what, seg_error *err)
{
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			if (!isfinite(x[i * (size_t)d + j]))
				return seg_error_set(err, SEG_EINVAL, "%s has a non-finite value at row %zu, column %d",
				                     what, i, j);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Assignment: nearest centroid of every row, with per-partition sums       */
/* ------------------------------------------------------------------------ */

typedef struct km_assign {
	const km_layout *l;
	const float *x;    /* [N][D] */
	const float *x_sq; /* [N] squared row norms */
	const float *c;    /* [K][D] centroids */
	const float *c_sq; /* [K] squared centroid norms */
	int k;             /* K */
	int32_t *labels;   /* [N] in: previous labels (for `changed`), out: nearest */
	float *dist2;      /* [N] out: squared distance to the nearest, or NULL */
	/* Per-partition accumulators, or NULL when only labels are wanted. */
	double *sums;     /* [P][K][D] sum of the rows assigned to each cluster */
	int64_t *counts;  /* [P][K] rows per cluster */
	double *inertia;  /* [P] sum of dist2 (from the expanded form) */
	int64_t *changed; /* [P] labels that differ from the previous ones */
} km_assign;

/* Floats of scratch one worker needs for an assignment pass: g [K][B], best
 * value [B], best index [B] (int32 in float-sized slots), block sums [K][D]. */
static size_t assign_scratch_len(const km_layout *l, int k)
{
	return (size_t)k * l->block + 2 * (size_t)l->block + (size_t)k * l->d;
}

static void assign_part(void *arg, int part, float *scratch)
{
	km_assign *a = arg;
	const km_layout *l = a->l;
	const int D = l->d, K = a->k, B = l->block;
	float *g = scratch;                        /* [K][B] */
	float *best_v = g + (size_t)K * B;         /* [B] ||c||^2 - 2 x.c of the nearest c */
	int32_t *best_j = (int32_t *)(best_v + B); /* [B] index of the nearest c */
	float *fsum = best_v + 2 * (size_t)B;      /* [K][D] sums of recent rows, in float */
	size_t lo, hi;
	part_range(l, part, &lo, &hi);
	double *sums = a->sums ? a->sums + (size_t)part * K * D : NULL;    /* [K][D] */
	int64_t *counts = a->counts ? a->counts + (size_t)part * K : NULL; /* [K] */
	if (sums) {
		memset(sums, 0, sizeof(double) * (size_t)K * D);
		memset(counts, 0, sizeof(int64_t) * (size_t)K);
		memset(fsum, 0, sizeof(float) * (size_t)K * D);
	}
	/* Rows are summed in float (vectorised) and the float sums added to the
	 * double ones every KMEANS_FLUSH_ROWS rows, or every K rows if more, so
	 * that flushing costs at most about D additions per row. */
	const size_t flush = (size_t)K > KMEANS_FLUSH_ROWS ? (size_t)K : KMEANS_FLUSH_ROWS;
	size_t pending = 0;
	double inertia = 0;
	int64_t changed = 0;
	for (size_t b0 = lo; b0 < hi; b0 += (size_t)B) {
		int m = (int)(hi - b0 < (size_t)B ? hi - b0 : (size_t)B);
		const float *xb = a->x + b0 * D; /* [m][D] */
		/* ||x - c||^2 = ||x||^2 + ||c||^2 - 2 x.c; g [K][m] = -2 c . xb^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, m, D, -2.0f, a->c, D, xb, D, 0.0f, g, m);
		/* Nearest centroid, vectorised across rows; strict < keeps the lowest
		 * index on ties. */
		for (int i = 0; i < m; i++) {
			best_v[i] = g[i] + a->c_sq[0];
			best_j[i] = 0;
		}
		for (int j = 1; j < K; j++) {
			const float *restrict gj = g + (size_t)j * m;
			float *restrict bv = best_v;
			int32_t *restrict bj = best_j;
			const float cj = a->c_sq[j];
			for (int i = 0; i < m; i++) {
				float v = gj[i] + cj, b = bv[i];
				int32_t lt = -(int32_t)(v < b); /* a mask, so that GCC vectorises */
				bv[i] = v < b ? v : b;
				bj[i] = (j & lt) | (bj[i] & ~lt);
			}
		}
		for (int i = 0; i < m; i++) {
			size_t row = b0 + (size_t)i;
			int best = best_j[i];
			float d2 = a->x_sq[row] + best_v[i];
			if (d2 < 0) /* rounding in the expanded form */
				d2 = 0;
			if (a->dist2)
				a->dist2[row] = d2;
			changed += a->labels[row] != best;
			a->labels[row] = best;
			if (sums) {
				const float *xi = xb + (size_t)i * D;
				float *s = fsum + (size_t)best * D;
				for (int j = 0; j < D; j++)
					s[j] += xi[j];
				counts[best]++;
				inertia += d2;
			}
		}
		pending += (size_t)m;
		if (sums && (pending >= flush || b0 + (size_t)m >= hi)) {
			for (size_t j = 0; j < (size_t)K * D; j++)
				sums[j] += fsum[j];
			memset(fsum, 0, sizeof(float) * (size_t)K * D);
			pending = 0;
		}
	}
	if (a->inertia)
		a->inertia[part] = inertia;
	if (a->changed)
		a->changed[part] = changed;
}

/* Exact inertia of given labels: the expanded form loses digits when a point is
 * close to its centroid, so the reported value is summed from differences. */
typedef struct km_exact {
	const km_layout *l;
	const float *x;        /* [N][D] */
	const float *c;        /* [K][D] */
	const int32_t *labels; /* [N] */
	double *inertia;       /* [P] */
} km_exact;

static void exact_part(void *arg, int part, float *scratch)
{
	(void)scratch;
	km_exact *e = arg;
	const int D = e->l->d;
	size_t lo, hi;
	part_range(e->l, part, &lo, &hi);
	double s = 0;
	for (size_t i = lo; i < hi; i++) {
		const float *xi = e->x + i * D, *ci = e->c + (size_t)e->labels[i] * D;
		for (int j = 0; j < D; j++) {
			double diff = (double)xi[j] - ci[j];
			s += diff * diff;
		}
	}
	e->inertia[part] = s;
}

/* ------------------------------------------------------------------------ */
/* k-means++ seeding                                                        */
/* ------------------------------------------------------------------------ */

/* Greedy k-means++ works in two passes per centre. The candidate pass computes
 * the squared distance of every row to each of T candidates (kept in cand_d2)
 * and, per partition, the potential of each candidate: the sum over rows of
 * min(closest, distance to it). The update pass folds the chosen candidate's
 * column into closest and writes per-partition running sums of closest (cum),
 * which D^2 sampling searches. */
typedef struct km_seed {
	const km_layout *l;
	const float *x;       /* [N][D] */
	const float *x_sq;    /* [N] */
	const float *cand;    /* [T][D] */
	const float *cand_sq; /* [T] */
	int t;                /* T */
	int chosen;           /* update pass: the candidate (column of cand_d2) kept */
	float *cand_d2;       /* [N][T] squared distance of each row to each candidate */
	float *closest;       /* [N] squared distance to the nearest chosen centre */
	double *cum;          /* [N] running sum of closest, restarting at each partition */
	double *pot;          /* [P][T] candidate pass: potentials */
	double *part_sum;     /* [P] update pass: sum of closest over the partition */
} km_seed;

static void seed_candidates_part(void *arg, int part, float *scratch)
{
	(void)scratch;
	km_seed *s = arg;
	const km_layout *l = s->l;
	const int D = l->d, T = s->t;
	size_t lo, hi;
	part_range(l, part, &lo, &hi);
	double pot[KMEANS_MAX_CAND] = {0}; /* [T] */
	for (size_t b0 = lo; b0 < hi; b0 += (size_t)l->block) {
		int m = (int)(hi - b0 < (size_t)l->block ? hi - b0 : (size_t)l->block);
		float *g = s->cand_d2 + b0 * T; /* [m][T] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, T, D, -2.0f, s->x + b0 * D, D, s->cand, D, 0.0f,
		            g, T);
		for (int i = 0; i < m; i++) {
			size_t row = b0 + (size_t)i;
			float cl = s->closest[row];
			for (int t = 0; t < T; t++) {
				float d2 = s->x_sq[row] + s->cand_sq[t] + g[(size_t)i * T + t];
				d2 = d2 < 0 ? 0 : d2; /* rounding in the expanded form */
				g[(size_t)i * T + t] = d2;
				pot[t] += d2 < cl ? d2 : cl;
			}
		}
	}
	for (int t = 0; t < T; t++)
		s->pot[(size_t)part * T + t] = pot[t];
}

static void seed_update_part(void *arg, int part, float *scratch)
{
	(void)scratch;
	km_seed *s = arg;
	size_t lo, hi;
	part_range(s->l, part, &lo, &hi);
	double sum = 0;
	for (size_t i = lo; i < hi; i++) {
		float d2 = s->cand_d2[i * s->t + s->chosen];
		if (d2 < s->closest[i])
			s->closest[i] = d2;
		sum += s->closest[i];
		s->cum[i] = sum;
	}
	s->part_sum[part] = sum;
}

/* ------------------------------------------------------------------------ */
/* kmeans_fit                                                               */
/* ------------------------------------------------------------------------ */

/* Working memory of one fit, reused by every restart. */
typedef struct km_work {
	km_layout l;
	int k;              /* K */
	int t;              /* T candidates per k-means++ step */
	float *x_sq;        /* [N] squared row norms */
	float *dist2;       /* [N] closest centre (seeding), then distance to own centroid */
	double *cum;        /* [N] per-partition running sums of dist2, for D^2 sampling */
	float *cand_d2;     /* [N][T] distance of each row to each k-means++ candidate */
	double *part_sum;   /* [P] sum of dist2 per partition */
	int32_t *labels;    /* [N] labels of the current restart */
	float *c;           /* [K][D] centroids of the current restart */
	float *c_sq;        /* [K] */
	float *cand;        /* [T][D] k-means++ candidates */
	float *cand_sq;     /* [T] */
	double *psums;      /* [P][K][D] */
	int64_t *pcounts;   /* [P][K] */
	double *pinertia;   /* [P] */
	int64_t *pchanged;  /* [P] */
	double *pot;        /* [P][T] */
	double *sums;       /* [K][D] reduced sums */
	int64_t *counts;    /* [K] reduced counts */
	float *scratch;     /* [threads][scratch_len] see assign_scratch_len */
	size_t scratch_len; /* floats per thread */
} km_work;

static void work_free(km_work *w)
{
	free(w->x_sq);
	free(w->dist2);
	free(w->cum);
	free(w->cand_d2);
	free(w->part_sum);
	free(w->labels);
	free(w->c);
	free(w->c_sq);
	free(w->cand);
	free(w->cand_sq);
	free(w->psums);
	free(w->pcounts);
	free(w->pinertia);
	free(w->pchanged);
	free(w->pot);
	free(w->sums);
	free(w->counts);
	free(w->scratch);
}

static int work_alloc(km_work *w, size_t n, int d, int k, int n_threads)
{
	memset(w, 0, sizeof(*w));
	layout_init(&w->l, n, d, k, n_threads);
	w->k = k;
	w->t = 2 + (int)log((double)k); /* as in Arthur & Vassilvitskii, and scikit-learn */
	size_t P = (size_t)w->l.parts, K = (size_t)k, D = (size_t)d, T = (size_t)w->t;
	w->scratch_len = assign_scratch_len(&w->l, k);
	w->x_sq = calloc(n, sizeof(float));
	w->dist2 = calloc(n, sizeof(float));
	w->cum = calloc(n, sizeof(double));
	w->cand_d2 = calloc(n * T, sizeof(float));
	w->part_sum = calloc(P, sizeof(double));
	w->labels = calloc(n, sizeof(int32_t));
	w->c = calloc(K * D, sizeof(float));
	w->c_sq = calloc(K, sizeof(float));
	w->cand = calloc(T * D, sizeof(float));
	w->cand_sq = calloc(T, sizeof(float));
	w->psums = calloc(P * K * D, sizeof(double));
	w->pcounts = calloc(P * K, sizeof(int64_t));
	w->pinertia = calloc(P, sizeof(double));
	w->pchanged = calloc(P, sizeof(int64_t));
	w->pot = calloc(P * T, sizeof(double));
	w->sums = calloc(K * D, sizeof(double));
	w->counts = calloc(K, sizeof(int64_t));
	w->scratch = calloc((size_t)w->l.threads * w->scratch_len, sizeof(float));
	if (!w->x_sq || !w->dist2 || !w->cum || !w->cand_d2 || !w->part_sum || !w->labels || !w->c || !w->c_sq ||
	    !w->cand || !w->cand_sq || !w->psums || !w->pcounts || !w->pinertia || !w->pchanged || !w->pot ||
	    !w->sums || !w->counts || !w->scratch) {
		work_free(w);
		return SEG_ENOMEM;
	}
	return 0;
}

/* Index of a row drawn with probability proportional to closest (D^2
 * sampling), from the per-partition running sums of the last update pass. */
static size_t sample_d2(const km_work *w, double total, uint64_t *stream)
{
	const km_layout *l = &w->l;
	if (!(total > 0)) /* every row sits on a centre: any row will do */
		return draw_index(stream, l->n);
	double r = draw_unit(stream) * total;
	int part = 0;
	while (part < l->parts - 1 && r >= w->part_sum[part]) {
		r -= w->part_sum[part];
		part++;
	}
	size_t lo, hi, end;
	part_range(l, part, &lo, &hi);
	end = hi;
	/* first row i in the partition with cum[i] > r */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->cum[mid] > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo < end)
		return lo;
	/* r rounded up to the total: take the last row that has weight */
	for (size_t i = l->n; i-- > 0;)
		if (w->dist2[i] > 0)
			return i;
	return l->n - 1;
}

/* Greedy k-means++ (Arthur & Vassilvitskii; the variant scikit-learn uses):
 * each new centre is the best (lowest potential) of T rows drawn by D^2
 * sampling. Leaves the centres in w->c and w->c_sq. */
static void seed_kmeanspp(km_work *w, const float *x, uint64_t *stream)
{
	const km_layout *l = &w->l;
	const int D = l->d, K = w->k;
	km_seed s = {.l = l,
	             .x = x,
	             .x_sq = w->x_sq,
	             .cand = w->cand,
	             .cand_sq = w->cand_sq,
	             .cand_d2 = w->cand_d2,
	             .closest = w->dist2,
	             .cum = w->cum,
	             .pot = w->pot,
	             .part_sum = w->part_sum};

	/* The first centre is a uniformly drawn row. */
	size_t first = draw_index(stream, l->n);
	memcpy(w->cand, x + first * D, sizeof(float) * D);
	w->cand_sq[0] = w->x_sq[first];
	for (size_t i = 0; i < l->n; i++)
		w->dist2[i] = INFINITY;
	s.t = 1;
	pool_run(l, seed_candidates_part, &s, w->scratch, w->scratch_len);
	s.chosen = 0;
	pool_run(l, seed_update_part, &s, w->scratch, w->scratch_len);
	memcpy(w->c, w->cand, sizeof(float) * D);
	w->c_sq[0] = w->cand_sq[0];

	for (int c = 1; c < K; c++) {
		double total = 0;
		for (int p = 0; p < l->parts; p++)
			total += w->part_sum[p];
		s.t = w->t;
		for (int t = 0; t < s.t; t++) {
			size_t row = sample_d2(w, total, stream);
			memcpy(w->cand + (size_t)t * D, x + row * D, sizeof(float) * D);
			w->cand_sq[t] = w->x_sq[row];
		}
		pool_run(l, seed_candidates_part, &s, w->scratch, w->scratch_len);
		int best = 0;
		double best_pot = INFINITY;
		for (int t = 0; t < s.t; t++) {
			double pot = 0;
			for (int p = 0; p < l->parts; p++)
				pot += w->pot[(size_t)p * s.t + t];
			if (pot < best_pot) {
				best_pot = pot;
				best = t;
			}
		}
		s.chosen = best;
		pool_run(l, seed_update_part, &s, w->scratch, w->scratch_len);
		memcpy(w->c + (size_t)c * D, w->cand + (size_t)best * D, sizeof(float) * D);
		w->c_sq[c] = w->cand_sq[best];
	}
}

/* Moves each empty cluster onto the row farthest from its own centroid, taking
 * that row out of its old cluster (which keeps at least one row). Works on the
 * reduced sums/counts and the labels/dist2 of the last assignment. Returns the
 * number of clusters re-seeded. */
static int reseed_empty(km_work *w, const float *x)
{
	const int D = w->l.d, K = w->k;
	int moved = 0;
	for (int j = 0; j < K; j++) {
		if (w->counts[j] > 0)
			continue;
		size_t far = w->l.n;
		float far_d = -1;
		for (size_t i = 0; i < w->l.n; i++)
			if (w->dist2[i] > far_d && w->counts[w->labels[i]] > 1) {
				far_d = w->dist2[i];
				far = i;
			}
		if (far == w->l.n) /* cannot happen while K <= N, but stay safe */
			break;
		const float *xi = x + far * D;
		int old = w->labels[far];
		for (int c = 0; c < D; c++) {
			w->sums[(size_t)old * D + c] -= xi[c];
			w->sums[(size_t)j * D + c] = xi[c];
		}
		w->counts[old]--;
		w->counts[j] = 1;
		w->labels[far] = j;
		w->dist2[far] = -1; /* not a candidate again in this pass */
		moved++;
	}
	return moved;
}

/* One assignment pass over all rows against w->c; reduces the partition sums
 * into w->sums / w->counts and returns the expanded-form inertia. */
static double assign_reduce(km_work *w, const float *x, int64_t *changed)
{
	const km_layout *l = &w->l;
	const size_t KD = (size_t)w->k * l->d;
	km_assign a = {.l = l,
	               .x = x,
	               .x_sq = w->x_sq,
	               .c = w->c,
	               .c_sq = w->c_sq,
	               .k = w->k,
	               .labels = w->labels,
	               .dist2 = w->dist2,
	               .sums = w->psums,
	               .counts = w->pcounts,
	               .inertia = w->pinertia,
	               .changed = w->pchanged};
	pool_run(l, assign_part, &a, w->scratch, w->scratch_len);
	double inertia = 0;
	*changed = 0;
	memset(w->sums, 0, sizeof(double) * KD);
	memset(w->counts, 0, sizeof(int64_t) * (size_t)w->k);
	for (int p = 0; p < l->parts; p++) {
		const double *ps = w->psums + (size_t)p * KD;
		const int64_t *pc = w->pcounts + (size_t)p * w->k;
		for (size_t i = 0; i < KD; i++)
			w->sums[i] += ps[i];
		for (int j = 0; j < w->k; j++)
			w->counts[j] += pc[j];
		inertia += w->pinertia[p];
		*changed += w->pchanged[p];
	}
	return inertia;
}

/* One restart: seed, then Lloyd until tol, no label changes, or max_iter. */
static void lloyd_run(km_work *w, const float *x, const kmeans_params *p, uint64_t *stream, kmeans_info *info)
{
	const int D = w->l.d, K = w->k;
	if (p->init)
		memcpy(w->c, p->init, sizeof(float) * (size_t)K * D);
	else
		seed_kmeanspp(w, x, stream);
	for (int j = 0; j < K; j++) {
		if (p->spherical)
			unit_scale(w->c + (size_t)j * D, D);
		w->c_sq[j] = sq_norm(w->c + (size_t)j * D, D);
	}
	for (size_t i = 0; i < w->l.n; i++)
		w->labels[i] = -1;

	memset(info, 0, sizeof(*info));
	double prev = INFINITY;
	int it;
	for (it = 0;; it++) {
		int64_t changed;
		double inertia = assign_reduce(w, x, &changed);
		if (it == p->max_iter) {
			info->converged = changed == 0;
			break;
		}
		if (it > 0 && (changed == 0 || fabs(prev - inertia) <= p->tol * prev)) {
			info->converged = 1;
			break;
		}
		prev = inertia;
		info->reseeds += reseed_empty(w, x);
		for (int j = 0; j < K; j++) {
			float *c = w->c + (size_t)j * D;
			const double *s = w->sums + (size_t)j * D;
			if (w->counts[j] == 0) /* only when reseeding gave up; keep the old centroid */
				continue;
			/* spherical: the sum's direction (the mean's), scaled to unit
			 * length in double; a sum of zero keeps the old centroid */
			double scale = (double)w->counts[j];
			if (p->spherical) {
				double n2 = 0;
				for (int f = 0; f < D; f++)
					n2 += s[f] * s[f];
				if (!(n2 > 0))
					continue;
				scale = sqrt(n2);
			}
			for (int f = 0; f < D; f++)
				c[f] = (float)(s[f] / scale);
			w->c_sq[j] = sq_norm(c, D);
		}
	}
	info->iterations = it;

	km_exact e = {.l = &w->l, .x = x, .c = w->c, .labels = w->labels, .inertia = w->pinertia};
	pool_run(&w->l, exact_part, &e, w->scratch, w->scratch_len);
	info->inertia = 0;
	for (int part = 0; part < w->l.parts; part++)
		info->inertia += w->pinertia[part];
}

void kmeans_params_default(kmeans_params *p)
{
	memset(p, 0, sizeof(*p));
	p->k = 8;
	p->n_init = 10;
	p->max_iter = 300;
	p->tol = 1e-6;
	p->seed = 0;
	p->n_threads = 0;
}

int kmeans_fit(const float *x, size_t n, int d, const kmeans_params *p, float *centroids, int32_t *labels,
               kmeans_info *info, seg_error *err)
{
	if (x == NULL || p == NULL || centroids == NULL || labels == NULL)
		return seg_error_set(err, SEG_EINVAL, "kmeans_fit: NULL argument");
	if (n == 0 || d <= 0)
		return seg_error_set(err, SEG_EINVAL, "kmeans_fit: empty matrix (%zu x %d)", n, d);
	if (p->k < 1 || (size_t)p->k > n)
		return seg_error_set(err, SEG_EINVAL, "kmeans_fit: k = %d must be between 1 and N = %zu", p->k, n);
	if ((p->init == NULL && p->n_init < 1) || p->max_iter < 0 || !(p->tol >= 0))
		return seg_error_set(err, SEG_EINVAL,
		                     "kmeans_fit: need n_init >= 1, max_iter >= 0, tol >= 0 (got %d, %d, %g)",
		                     p->n_init, p->max_iter, p->tol);
	int rc = check_finite(x, n, d, "kmeans_fit: input", err);
	if (rc == 0 && p->init)
		rc = check_finite(p->init, (size_t)p->k, d, "kmeans_fit: init", err);
	if (rc < 0)
		return rc;

	km_work w;
	if (work_alloc(&w, n, d, p->k, p->n_threads) < 0)
		return seg_error_set(err, SEG_ENOMEM, "kmeans_fit: out of memory for %zu x %d, k = %d", n, d, p->k);
	for (size_t i = 0; i < n; i++)
		w.x_sq[i] = sq_norm(x + i * d, d);

	kmeans_info best = {.inertia = INFINITY};
	int runs = p->init ? 1 : p->n_init;
	uint64_t master = p->seed; /* each restart's PRNG state is drawn from this one */
	for (int run = 0; run < runs; run++) {
		uint64_t stream = rng_splitmix64(&master);
		kmeans_info cur;
		lloyd_run(&w, x, p, &stream, &cur);
		cur.best_run = run;
		if (run == 0 || cur.inertia < best.inertia) {
			best = cur;
			memcpy(centroids, w.c, sizeof(float) * (size_t)p->k * d);
			memcpy(labels, w.labels, sizeof(int32_t) * n);
		}
	}
	if (info)
		*info = best;
	work_free(&w);
	return 0;
}

int kmeans_assign(const float *centroids, int k, int d, const float *x, size_t n, int32_t *labels, float *dist2,
                  int n_threads, seg_error *err)
{
	if (centroids == NULL || labels == NULL || (x == NULL && n > 0))
		return seg_error_set(err, SEG_EINVAL, "kmeans_assign: NULL argument");
	if (k < 1 || d < 1)
		return seg_error_set(err, SEG_EINVAL, "kmeans_assign: need k >= 1 and d >= 1 (got %d, %d)", k, d);
	if (n == 0)
		return 0;
	int rc = check_finite(centroids, (size_t)k, d, "kmeans_assign: centroids", err);
	if (rc == 0)
		rc = check_finite(x, n, d, "kmeans_assign: input", err);
	if (rc < 0)
		return rc;

	km_layout l;
	layout_init(&l, n, d, k, n_threads);
	size_t scratch_len = assign_scratch_len(&l, k);
	float *x_sq = malloc(sizeof(float) * n);                          /* [N] */
	float *c_sq = malloc(sizeof(float) * (size_t)k);                  /* [K] */
	float *scratch = malloc(sizeof(float) * scratch_len * l.threads); /* [threads][scratch_len] */
	if (!x_sq || !c_sq || !scratch) {
		rc = seg_error_set(err, SEG_ENOMEM, "kmeans_assign: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		x_sq[i] = sq_norm(x + i * d, d);
	for (int j = 0; j < k; j++)
		c_sq[j] = sq_norm(centroids + (size_t)j * d, d);
	km_assign a = {
		.l = &l, .x = x, .x_sq = x_sq, .c = centroids, .c_sq = c_sq, .k = k, .labels = labels, .dist2 = dist2};
	pool_run(&l, assign_part, &a, scratch, scratch_len);
out:
	free(x_sq);
	free(c_sq);
	free(scratch);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* kmeans_describe                                                          */
/* ------------------------------------------------------------------------ */

/* Words for the features a listener knows. A name not listed reads "high X"/"low X". */
typedef struct km_words {
	const char *name; /* feature name, compared without regard to case */
	const char *high; /* the centroid is above the catalogue mean */
	const char *low;  /* ... below it */
} km_words;

static const km_words km_words_table[] = {
	{"danceability", "danceable", "hard to dance to"},
	{"energy", "high energy", "low energy"},
	{"loudness", "loud", "quiet"},
	{"tempo", "fast", "slow"},
	{"valence", "happy-sounding", "sad-sounding"},
	{"mode", "major-leaning", "minor-leaning"},
	{"acousticness", "acoustic", "low acousticness"},
	{"instrumentalness", "instrumental", "vocal"},
	{"speechiness", "speech-heavy", "little speech"},
	{"liveness", "live-sounding", "studio-sounding"},
	{"duration_ms", "long", "short"},
	{"duration", "long", "short"},
	{"popularity", "popular", "little-known"},
	{"year", "recent", "older"},
};

static const km_words *words_find(const char *name)
{
	for (size_t i = 0; i < sizeof km_words_table / sizeof km_words_table[0]; i++)
		if (strcasecmp(km_words_table[i].name, name) == 0)
			return &km_words_table[i];
	return NULL;
}

/* Whether feature i comes before feature j: larger |z| first, then lower index. */
static int describe_before(const float *z, int i, int j)
{
	float a = fabsf(z[i]), b = fabsf(z[j]);
	return a > b || (a == b && i < j);
}

int kmeans_describe(const float *z, const char *const *names, int d, double threshold, int max_terms, char *buf,
                    size_t cap, seg_error *err)
{
	if (buf && cap > 0)
		buf[0] = '\0';
	if (z == NULL || names == NULL || buf == NULL || cap == 0 || d < 0 || max_terms < 1 || !(threshold >= 0) ||
	    isinf(threshold))
		return seg_error_set(err, SEG_EINVAL, "kmeans_describe: bad argument");
	for (int i = 0; i < d; i++)
		if (names[i] == NULL)
			return seg_error_set(err, SEG_EINVAL, "kmeans_describe: feature %d has no name", i);

	size_t len = 0;
	int terms = 0, prev = -1;
	while (terms < max_terms) {
		/* The next feature in (|z| desc, index asc) order after `prev`. */
		int pick = -1;
		for (int i = 0; i < d; i++) {
			if (!isfinite(z[i]) || z[i] == 0 || fabsf(z[i]) < threshold)
				continue;
			if (prev >= 0 && !describe_before(z, prev, i))
				continue;
			if (pick < 0 || describe_before(z, i, pick))
				pick = i;
		}
		if (pick < 0)
			break;
		const km_words *w = words_find(names[pick]);
		int up = z[pick] > 0;
		int wrote = w ? snprintf(buf + len, cap - len, "%s%s", terms ? ", " : "", up ? w->high : w->low)
		              : snprintf(buf + len, cap - len, "%s%s %s", terms ? ", " : "", up ? "high" : "low",
		                         names[pick]);
		if (wrote < 0 || (size_t)wrote >= cap - len)
			goto too_small;
		len += (size_t)wrote;
		terms++;
		prev = pick;
	}
	if (terms == 0) {
		int wrote = snprintf(buf, cap, "close to the average");
		if (wrote < 0 || (size_t)wrote >= cap)
			goto too_small;
	}
	return terms;
too_small:
	buf[0] = '\0';
	return seg_error_set(err, SEG_EINVAL, "kmeans_describe: buffer of %zu bytes is too small", cap);
}
