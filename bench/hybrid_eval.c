/* hybrid_eval.c: what serving the hybrid fast costs in accuracy, on the
 * VALIDATION split (never the test split). The hybrid with re-ranking, as
 * `segue evaluate` asks for it (k 500, pool 600), in variants that differ
 * only in retrieval:
 *   search   the hybrid before issue 10 item 3: content, ALS and the list
 *            models each retrieve the full pool; ALS searches every item
 *   c0       the built-in's retrieval (rec__hybrid_propose: the list models
 *            retrieve, ALS picks its best among the items their lists reach,
 *            content scores), content retrieving nothing
 *   c4       the same with content retrieving a quarter of the pool
 *   hybrid   the built-in default model as compiled (content retrieves a
 *            quarter of the pool only when some seed is in no training
 *            playlist, nothing otherwise)
 * For 1, 5 and 10 seeds (the playlist's first tracks; hidden: the rest),
 * R-precision (with artist credit) and NDCG normalised over min(|G|, 500)
 * (the organisers' tool), the mean per variant and the per-playlist paired
 * difference from "search" with its 95% CI (normal, 1.96 se); and the mean
 * time of one request at k 500.
 *
 *   hybrid_eval WORKSPACE [MAX_PLAYLISTS [MODEL_VERSION [SEED_TRACK]]]
 *
 * MAX_PLAYLISTS 0 = all; MODEL_VERSION v1 by default; with SEED_TRACK (a track
 * id, or @CSV: the first column of each line, cycled through), only times the
 * default request {"seeds": [SEED_TRACK], "k": 10} of each variant
 * (REPS=3000 times; ONLY=i: variant i alone, for perf).
 * Build (from the source root, after a release build in build-rel):
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Isrc bench/hybrid_eval.c -o bench/out/hybrid_eval \
 *     -Wl,--start-group build-rel/libsegue.a $(pkg-config --libs sqlite3 libzstd jansson \
 *     libxxhash openblas lapacke libmicrohttpd) -lxgboost -lm -lpthread -Wl,--end-group */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "engine/dataset.h"
#include "engine/metrics.h"
#include "engine/rec_internal.h"
#include "engine/recommend.h"
#include "engine/recommender.h"

extern const recommender rec_hybrid;

static const hybrid_weights *weights(const rec_query *q)
{
	const hybrid_weights *w = rec__state(q, "hybrid");
	return w != NULL ? w : &hybrid_weights_default;
}

/* The hybrid as main had it before retrieval then scoring. */
static int search_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state;
	const hybrid_weights *w = weights(q);
	int cf = q->nseed_items > 0;
	int rc = 0;
	if ((!cf || w->content > 0) && (rc = rec_query_propose(q, "content", want, pool, err)) < 0)
		return rc;
	if (cf && ((w->cooc > 0 && (rc = rec_query_propose(q, "cooc", want, pool, err)) < 0) ||
	           (w->als > 0 && (rc = rec_query_propose(q, "als", want, pool, err)) < 0) ||
	           (w->ease > 0 && (rc = rec_query_propose(q, "ease", want, pool, err)) < 0) ||
	           (w->rp3 > 0 && (rc = rec_query_propose(q, "rp3beta", want, pool, err)) < 0)))
		return rc;
	const rec_artifact *a = q->a;
	if (q->query != NULL && w->content > 0)
		for (size_t i = 0; i < pool->n; i++) {
			rec_cand *c = &pool->c[i];
			if (isnan(c->content) && c->row >= 0) {
				const float *v = a->vec + (size_t)c->row * a->D;
				float dot = 0;
				for (size_t d = 0; d < a->D; d++)
					dot += v[d] * q->query[d];
				c->content = dot;
			}
		}
	return 0;
}

/* The built-in's retrieval with content's pool fixed at want/div (0: none)
 * whatever the seeds. */
#define FAST(div)                                                                                          \
	static int fast##div##_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, \
	                               seg_error *err)                                                     \
	{                                                                                                  \
		(void)state;                                                                               \
		size_t wc = div ? want / (div + !div) : 0;                                                 \
		return rec__hybrid_propose(q, weights(q), want, div && wc < 10 ? 10 : wc, pool, err);      \
	}
FAST(0)
FAST(4)

static void blend(const rec_query *q, const void *state, rec_pool *pool)
{
	(void)state;
	rec_hybrid.blend(q, weights(q), pool);
}

#define NV 4
static const char *const NAMES[NV] = {"search", "c0", "c4", "hybrid"};
static const size_t SEEDS[3] = {1, 5, 10};
#define K 500

typedef struct acc {
	double sum, sum2;
	size_t n;
} acc;
static void acc_add(acc *a, double x)
{
	a->sum += x;
	a->sum2 += x * x;
	a->n++;
}
static double acc_mean(const acc *a) { return a->n ? a->sum / (double)a->n : NAN; }
static double acc_ci(const acc *a)
{
	if (a->n < 2)
		return NAN;
	double m = acc_mean(a), var = (a->sum2 - (double)a->n * m * m) / (double)(a->n - 1);
	return 1.96 * sqrt(var > 0 ? var : 0) / sqrt((double)a->n);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hybrid_eval WORKSPACE [MAX_PLAYLISTS]\n");
		return 2;
	}
	size_t maxp = argc > 2 ? (size_t)atol(argv[2]) : 0;
	seg_error err = {0};
	static recommender v[NV - 1];
	int (*props[NV - 1])(const rec_query *, const void *, size_t, rec_pool *,
	                     seg_error *) = {search_propose, fast0_propose, fast4_propose};
	static const char *const REG[NV - 1] = {"h-search", "h-c0", "h-c4"};
	int ids[NV];
	for (int i = 0; i < NV - 1; i++) {
		v[i] = (recommender){.name = REG[i],
		                     .description = "bench",
		                     .flags = REC_NEEDS_QUERY,
		                     .propose = props[i],
		                     .blend = blend};
		if ((ids[i] = recommender_register(&v[i], &err)) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
	}
	ids[NV - 1] = recommender_find("hybrid");
	dataset *ds = NULL;
	engine *e = NULL;
	char path[2048];
	snprintf(path, sizeof path, "%s/models/%s/model.seg", argv[1], argc > 3 ? argv[3] : "v1");
	if ((argc <= 4 && dataset_load(&ds, argv[1], &err) < 0) || engine_open(&e, path, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (argc > 4) { /* timing: argv[4] = a seed track id; k 10, default request */
		/* A track id, or @FILE: the first column of a CSV, cycled through. */
		int64_t seeds[1000];
		size_t ns = 0;
		if (argv[4][0] == '@') {
			FILE *f = fopen(argv[4] + 1, "r");
			char line[256];
			while (f != NULL && ns < 1000 && fgets(line, sizeof line, f))
				seeds[ns++] = atoll(line);
			if (f != NULL)
				fclose(f);
		} else
			seeds[ns++] = atoll(argv[4]);
		if (ns == 0)
			return 2;
		rec_item it[10];
		for (int vi = 0; vi < NV; vi++) {
			if (getenv("ONLY") && atoi(getenv("ONLY")) != vi)
				continue;
			double t0 = now();
			int reps = getenv("REPS") ? atoi(getenv("REPS")) : 3000;
			for (int i = 0; i < reps; i++) {
				rec_request r;
				rec_request_default(&r);
				r.model = ids[vi];
				r.seeds = &seeds[(size_t)i % ns];
				r.nseeds = 1;
				size_t got = 0;
				if (engine_recommend(e, &r, it, &got, NULL, &err) < 0) {
					fprintf(stderr, "%s\n", err.msg);
					return 1;
				}
			}
			printf("  %-8s %.1f us per default request (k 10)\n", NAMES[vi], 1e6 * (now() - t0) / reps);
		}
		return 0;
	}
	size_t total = 0;
	for (size_t p = 0; p < ds->P; p++)
		total += ds->pl_split[p] == CATALOG_SPLIT_VALID && ds->pl_ptr[p + 1] - ds->pl_ptr[p] >= 2;
	size_t step = maxp && total > maxp ? (total + maxp - 1) / maxp : 1;
	acc rp[3][NV] = {0}, nd[3][NV] = {0}, drp[3][NV] = {0}, dnd[3][NV] = {0};
	double secs[NV] = {0};
	size_t calls[NV] = {0};
	uint32_t *truth = malloc(sizeof(uint32_t) * 100000), *rec = malloc(sizeof(uint32_t) * K);
	int64_t *tart = malloc(sizeof(int64_t) * 100000), *rart = malloc(sizeof(int64_t) * K);
	rec_item *items = malloc(sizeof(rec_item) * K);
	metrics_truth mt = {0};
	size_t seen = 0, used = 0;
	for (size_t p = 0; p < ds->P; p++) {
		size_t len = ds->pl_ptr[p + 1] - ds->pl_ptr[p];
		if (ds->pl_split[p] != CATALOG_SPLIT_VALID || len < 2 || seen++ % step != 0)
			continue;
		used++;
		const int64_t *tracks = ds->pl_tracks + ds->pl_ptr[p];
		for (int si = 0; si < 3; si++) {
			size_t n = SEEDS[si];
			if (len <= n)
				continue;
			size_t nt = 0;
			for (size_t j = n; j < len && nt < 100000; j++) {
				int dup = 0;
				for (size_t q = 0; q < n && !dup; q++)
					dup = tracks[q] == tracks[j];
				if (!dup) {
					truth[nt] = (uint32_t)tracks[j];
					tart[nt++] = ds->track_artist[tracks[j]];
				}
			}
			if (nt == 0 || metrics_truth_set(&mt, truth, tart, nt, &err) < 0)
				continue;
			double r0 = 0, n0 = 0;
			for (int vi = 0; vi < NV; vi++) {
				rec_request r;
				rec_request_default(&r);
				r.model = ids[vi];
				r.k = K;
				r.pool = K + K / 5;
				r.seeds = tracks;
				r.nseeds = n;
				size_t got = 0;
				double t0 = now();
				if (engine_recommend(e, &r, items, &got, NULL, &err) < 0) {
					fprintf(stderr, "%s\n", err.msg);
					return 1;
				}
				secs[vi] += now() - t0;
				calls[vi]++;
				for (size_t j = 0; j < got; j++) {
					rec[j] = (uint32_t)items[j].track;
					rart[j] = ds->track_artist[items[j].track];
				}
				double rv = metrics_r_precision(&mt, rec, rart, got);
				double nv = metrics_ndcg(&mt, rec, got, METRICS_IDCG_TRUTH);
				acc_add(&rp[si][vi], rv);
				acc_add(&nd[si][vi], nv);
				if (vi == 0) {
					r0 = rv;
					n0 = nv;
				} else {
					acc_add(&drp[si][vi], rv - r0);
					acc_add(&dnd[si][vi], nv - n0);
				}
			}
		}
	}
	printf("hybrid+rerank on %zu validation playlists (every %zu-th of %zu), k %d, pool %d\n", used, step, total, K,
	       K + K / 5);
	printf("NDCG over min(|G|, 500); differences paired per playlist against \"search\", 95%% CI\n");
	for (int si = 0; si < 3; si++) {
		printf("\nseeds = %zu (%zu lists)\n  %-8s %8s %8s %22s %22s\n", SEEDS[si], rp[si][0].n, "variant",
		       "R-prec", "NDCG", "dR-prec [95% CI]", "dNDCG [95% CI]");
		for (int vi = 0; vi < NV; vi++) {
			printf("  %-8s %8.4f %8.4f", NAMES[vi], acc_mean(&rp[si][vi]), acc_mean(&nd[si][vi]));
			if (vi > 0)
				printf("  %+.4f [%+.4f, %+.4f]  %+.4f [%+.4f, %+.4f]", acc_mean(&drp[si][vi]),
				       acc_mean(&drp[si][vi]) - acc_ci(&drp[si][vi]),
				       acc_mean(&drp[si][vi]) + acc_ci(&drp[si][vi]), acc_mean(&dnd[si][vi]),
				       acc_mean(&dnd[si][vi]) - acc_ci(&dnd[si][vi]),
				       acc_mean(&dnd[si][vi]) + acc_ci(&dnd[si][vi]));
			printf("\n");
		}
	}
	printf("\nmean ms per request at k %d:", K);
	for (int vi = 0; vi < NV; vi++)
		printf(" %s %.2f", NAMES[vi], calls[vi] ? 1e3 * secs[vi] / (double)calls[vi] : NAN);
	printf("\n");
	metrics_truth_free(&mt);
	free(truth);
	free(rec);
	free(tart);
	free(rart);
	free(items);
	engine_free(e);
	dataset_free(ds);
	return 0;
}
