/* serve_profile.c: where one POST /api/recommend {"seeds": [id], "k": 10,
 * "model": "content", "rerank": false} spends its time inside segue, without
 * HTTP: each step that the request handler takes, timed on its own over the
 * same seeds bench/serve sends, in one thread, then engine_recommend in two
 * threads at once (the server runs two).
 *
 *   serve_profile WORKSPACE SEEDS_CSV [REPEATS]
 *
 * SEEDS_CSV: "track_id,spotify_id" lines (bench/serve writes it). Steps:
 *   parse         serve_parse_recommend of the body (jansson)
 *   resolve seed  names_find and names_get of the seed's Spotify id: track
 *                 and name from the mapped names file, as the server does;
 *                 for comparison lookup_spotify_id (SQLite; not in the sum)
 *   recommend     engine_recommend (content, k 10, no re-ranking), of which
 *     knn_search  the exact search over all N rows (an index borrowing the
 *                 same vectors, the seed's row excluded; clustered, as the
 *                 server's), and
 *     the rest    engine_recommend with the "popular" model: the same
 *                 per-request work (calloc of T bytes, N/8 bytes and T
 *                 int64 with T the track id limit, a pass over the T bytes,
 *                 reasons) without the scan
 *   lookups       names_get of the 10 results, as the server does, and for
 *                 comparison lookup_tracks (one SQLite query; not in the sum)
 *   reasons+JSON  serve_write_recommend: the answer's JSON text, reasons
 *                 in words included
 * Times are per request: mean, p50 and p99 in microseconds of wall time, and
 * mean thread CPU time (the machine may be shared). The loop runs in a
 * thread of its own, as a server worker does (malloc arenas differ from the
 * main thread's). */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/knn.h"
#include "catalog/lookup.h"
#include "catalog/names.h"
#include "catalog/query.h"
#include "engine/recommend.h"
#include "engine/recommender.h"
#include "serve/serve.h"
#include "engine/train.h"

enum { S_PARSE, S_RESOLVE, S_RESOLVE_SQL, S_RECOMMEND, S_KNN, S_BUFFERS, S_LOOKUPS, S_LOOKUPS_SQL, S_JSON, S__N };
/* clang-format off */
static const char *const step_name[S__N] = {
	"parse body",   "resolve seed (names)", "  (by SQLite)",           "engine_recommend", "  knn_search",
	"  rest (popular model)", "10 track names (names)", "  (lookup_tracks, SQLite)", "reasons + JSON"};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
/* clang-format on */

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef struct seed {
	int64_t track;
	char sid[23];
} seed;

static const engine *E;
static seed *seeds;
static size_t nseeds;

static int recommend_one(const seed *s, rec_item *items, size_t *n)
{
	rec_request rq;
	rec_request_default(&rq);
	rq.model = recommender_find("content");
	rq.rerank = 0;
	rq.k = 10;
	rq.seeds = &s->track;
	rq.nseeds = 1;
	seg_error err = {0};
	if (engine_recommend(E, &rq, items, n, NULL, &err) < 0) {
		fprintf(stderr, "serve_profile: engine_recommend: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* Two threads calling engine_recommend at once, as the server's two workers do. */
typedef struct par {
	size_t from, count;
	double secs;
} par;

static void *par_run(void *arg)
{
	par *p = arg;
	rec_item items[10];
	size_t n;
	double t0 = wall();
	for (size_t i = 0; i < p->count; i++)
		if (recommend_one(&seeds[(p->from + i) % nseeds], items, &n) < 0)
			break;
	p->secs = wall() - t0;
	return NULL;
}

static int run(int argc, char **argv);

typedef struct main_args {
	int argc;
	char **argv;
	int rc;
} main_args;

static void *main_thread(void *arg)
{
	main_args *a = arg;
	a->rc = run(a->argc, a->argv);
	return NULL;
}

int main(int argc, char **argv)
{
	main_args a = {argc, argv, 1};
	pthread_t t;
	if (pthread_create(&t, NULL, main_thread, &a) != 0)
		return 1;
	pthread_join(t, NULL);
	return a.rc;
}

static int run(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: serve_profile WORKSPACE SEEDS_CSV [REPEATS]\n");
		return 2;
	}
	size_t repeats = argc > 3 ? (size_t)atol(argv[3]) : 1;
	seg_error err = {0};
	char path[4096], dbpath[4096];
	engine *e;
	if (train_model_path(argv[1], NULL, path, sizeof path, &err) < 0 || engine_open(&e, path, &err) < 0) {
		fprintf(stderr, "serve_profile: %s\n", err.msg);
		return 1;
	}
	E = e;
	snprintf(dbpath, sizeof dbpath, "%s/catalog.db", argv[1]);
	sqlite3 *db;
	if (query_open(dbpath, &db, &err) < 0) {
		fprintf(stderr, "serve_profile: %s\n", err.msg);
		return 1;
	}
	/* The names file, written first where the server has not yet. */
	names *nm = NULL;
	snprintf(path, sizeof path, "%s/%s", argv[1], NAMES_FILE_NAME);
	if (names_open(&nm, path, &err) < 0 || names_current(nm, db, &err) != 1) {
		names_close(nm);
		nm = NULL;
		if (names_write(db, path, NULL, &err) < 0 || names_open(&nm, path, &err) < 0) {
			fprintf(stderr, "serve_profile: %s\n", err.msg);
			return 1;
		}
	}
	FILE *f = fopen(argv[2], "r");
	if (f == NULL) {
		perror(argv[2]);
		return 1;
	}
	size_t cap = 1024;
	seeds = malloc(cap * sizeof *seeds);
	long long tid;
	char sid[23];
	while (fscanf(f, "%lld,%22s", &tid, sid) == 2) {
		if (engine_row_of(e, tid) < 0)
			continue;
		if (nseeds == cap)
			seeds = realloc(seeds, (cap *= 2) * sizeof *seeds);
		seeds[nseeds].track = tid;
		snprintf(seeds[nseeds].sid, sizeof seeds[nseeds].sid, "%s", sid);
		nseeds++;
	}
	fclose(f);
	if (nseeds == 0) {
		fprintf(stderr, "serve_profile: no seeds with vectors in %s\n", argv[2]);
		return 1;
	}
	const size_t N = engine_rows(e), D = engine_spec(e)->dim;
	const long long T = (long long)engine_track_limit(e);
	knn_index *idx;
	if (knn_index_create(&idx, engine_vector(e, 0), N, D, KNN_BORROW, &err) < 0) {
		fprintf(stderr, "serve_profile: %s\n", err.msg);
		return 1;
	}
	uint8_t *bits = calloc(KNN_BITMAP_BYTES(N) + 1, 1);
	size_t total = nseeds * repeats;
	double *w[S__N], c[S__N] = {0};
	for (int s = 0; s < S__N; s++)
		w[s] = calloc(total, sizeof(double));
	size_t sink = 0;
	for (size_t i = 0; i < total; i++) {
		const seed *sd = &seeds[i % nseeds];
		double t0, c0;
#define TIME(step, ...)                   \
	do {                              \
		t0 = wall();              \
		c0 = cpu();               \
		__VA_ARGS__;              \
		c[step] += cpu() - c0;    \
		w[step][i] = wall() - t0; \
	} while (0)
		char body[160];
		int blen = snprintf(body, sizeof body,
		                    "{\"seeds\":[\"%s\"],\"k\":10,\"model\":\"content\",\"rerank\":false}", sd->sid);
		serve_recommend_body *b = malloc(sizeof *b);
		TIME(S_PARSE, serve_parse_recommend(body, (size_t)blen, b, &err));
		free(b);
		lookup_hit h;
		int64_t seed_track = 0;
		TIME(S_RESOLVE_SQL, lookup_spotify_id(db, sd->sid, &seed_track, h.name, sizeof h.name, NULL));
		TIME(S_RESOLVE, {
			if (names_find(nm, sd->sid, &seed_track))
				names_get(nm, seed_track, &h);
		});
		rec_item items[10];
		size_t n = 0;
		TIME(S_RECOMMEND, recommend_one(sd, items, &n));
		/* The scan alone. */
		size_t row = (size_t)engine_row_of(e, sd->track);
		knn_bitmap_set(bits, row);
		knn_filter flt = {.exclude = bits};
		knn_hit hits[10];
		size_t nh;
		TIME(S_KNN, knn_search(idx, engine_vector(e, row), 10, &flt, hits, &nh));
		bits[row >> 3] = 0;
		/* Everything engine_recommend does besides the scan: the same call
		 * with the "popular" model, which takes the same per-request [T]
		 * buffers and passes but picks from a ready list. */
		rec_item pitems[10];
		size_t pn;
		TIME(S_BUFFERS, {
			rec_request rq;
			rec_request_default(&rq);
			rq.model = recommender_find("popular");
			rq.rerank = 0;
			rq.k = 10;
			rq.seeds = &sd->track;
			rq.nseeds = 1;
			engine_recommend(E, &rq, pitems, &pn, NULL, NULL);
		});
		lookup_hit res[10];
		int64_t ids[10];
		for (size_t j = 0; j < n; j++)
			ids[j] = items[j].track;
		TIME(S_LOOKUPS_SQL, lookup_tracks(db, ids, n, res, NULL, NULL));
		TIME(S_LOOKUPS, for (size_t j = 0; j < n; j++) names_get(nm, ids[j], &res[j]));
		TIME(S_JSON, {
			const char *names[1] = {h.name};
			uint8_t found[10];
			memset(found, 1, sizeof found);
			strbuf sb = {0};
			serve_write_recommend(&sb, e, "0", "content", items, n, res, found, names, NULL, 1, "", NULL, 0,
			                      NULL, 0);
			sink += sb.len;
			strbuf_free(&sb);
		});
#undef TIME
	}
	knn_stats st;
	knn_stats_get(&st);
	printf("  segue per request, one thread, no HTTP (%zu requests; N=%zu, D=%zu, T=%lld; vectors %zu MB as "
	       "floats; "
	       "%.1f%% of the rows scored per search on average, in %.0f clusters, %.0f rows rescored):\n",
	       total, N, D, T, N * D * sizeof(float) >> 20,
	       st.cluster_searches ? 100.0 * (double)st.cluster_rows / (double)st.cluster_searches / (double)N : 100.0,
	       st.cluster_searches ? (double)st.cluster_visits / (double)st.cluster_searches : 0.0,
	       st.cluster_searches ? (double)st.cluster_rescored / (double)st.cluster_searches : 0.0);
	printf("    %-28s %9s %9s %9s %9s\n", "step", "mean us", "p50 us", "p99 us", "cpu us");
	double sum = 0;
	for (int s = 0; s < S__N; s++) {
		double m = 0;
		for (size_t i = 0; i < total; i++)
			m += w[s][i];
		m /= (double)total;
		if (s != S_KNN && s != S_BUFFERS && s != S_RESOLVE_SQL && s != S_LOOKUPS_SQL)
			sum += m;
		qsort(w[s], total, sizeof(double), cmp_double);
		printf("    %-28s %9.1f %9.1f %9.1f %9.1f\n", step_name[s], m * 1e6, w[s][total / 2] * 1e6,
		       w[s][(size_t)((double)total * 0.99)] * 1e6, c[s] / (double)total * 1e6);
	}
	printf("    %-28s %9.1f\n", "sum (without HTTP)", sum * 1e6);
	/* Two threads at once. */
	par p[2] = {{0, total, 0}, {nseeds / 2, total, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, par_run, &p[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("    engine_recommend in 2 threads at once: %.1f us per call per thread, %.0f calls/s in all\n",
	       (p[0].secs + p[1].secs) / 2 / (double)total * 1e6, 2.0 * (double)total / ((p[0].secs + p[1].secs) / 2));
	if (sink == 0)
		printf("    (no JSON written?)\n");
	knn_index_free(idx);
	free(bits);
	for (int s = 0; s < S__N; s++)
		free(w[s]);
	free(seeds);
	names_close(nm);
	query_close(db);
	engine_free(e);
	return 0;
}
