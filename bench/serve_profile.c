/* serve_profile.c: where one POST /api/recommend spends its time inside
 * segue, without HTTP, for the two paths bench/serve measures: the content
 * path {"seeds": [id], "k": 10, "model": "content", "rerank": false} and the
 * default path {"seeds": [id], "k": 10} (the default model, hybrid, with the
 * default re-ranking). Each step that the request handler takes is timed on
 * its own over the same seeds bench/serve sends, in one thread, then
 * engine_recommend in two threads at once (the server runs two).
 *
 *   serve_profile WORKSPACE SEEDS_CSV [REPEATS [DEFAULT_SEEDS_CSV [EVENTS_DB]]]
 *
 * SEEDS_CSV: "track_id,spotify_id" lines (bench/serve writes it); the
 * default path's table takes its seeds from DEFAULT_SEEDS_CSV when given
 * (bench/serve: the popular seeds of its default-path run). Steps:
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
 * The default path's table has the same parse, lookups and JSON steps, and
 * engine_recommend with the request the server builds from the body, then,
 * for comparison (not in the sum), the same request with each of the models
 * the hybrid draws on alone (content, rp3beta, als: each retrieves the same pool
 * of candidates and re-ranks it). With EVENTS_DB (a scratch SQLite file,
 * removed after), a third table: the user_id path, the default path's
 * body with a user_id assigned in an experiment (exp_assign and the
 * variant's configuration applied), and its impression queued in that
 * event store (evstore_log), as the handler does.
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
#include "core/container.h"
#include "engine/recommend.h"
#include "engine/recommender.h"
#include "serve/answer.h"
#include "serve/serve.h"
#include "engine/train.h"
#include "experiment/events.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"

enum { S_PARSE, S_RESOLVE, S_RESOLVE_SQL, S_RECOMMEND, S_KNN, S_BUFFERS, S_LOOKUPS, S_LOOKUPS_SQL, S_JSON, S__N };
/* clang-format off */
static const char *const step_name[S__N] = {
	"parse body",   "resolve seed (names)", "  (by SQLite)",           "engine_recommend", "  knn_search",
	"  rest (popular model)", "10 track names (names)", "  (lookup_tracks, SQLite)", "reasons + JSON"};

/* OpenBLAS's (cblas.h would bring complex.h's I, a field name here). */
void openblas_set_num_threads(int num_threads);

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

/* The request the server builds from a parsed body (handlers.c,
 * h_recommend), for the seed track. */
static void request_from_body(const serve_recommend_body *b, const int64_t *track, rec_request *rq)
{
	rec_request_default(rq);
	rq->seeds = track;
	rq->nseeds = 1;
	rq->k = b->k;
	rq->model = b->model;
	rq->diversity = b->diversity;
	rq->novelty = b->novelty;
	rq->quality = b->quality;
	rq->max_per_artist = b->max_per_artist;
	rq->rerank = b->rerank;
}

/* The bodies of the two paths for a seed, into body[cap]. */
static int body_of(int dflt, const seed *s, char *body, size_t cap)
{
	if (dflt)
		return snprintf(body, cap, "{\"seeds\":[\"%s\"],\"k\":10}", s->sid);
	return snprintf(body, cap, "{\"seeds\":[\"%s\"],\"k\":10,\"model\":\"content\",\"rerank\":false}", s->sid);
}

/* engine_recommend for the seed as the server runs it for the path's body
 * (dflt: the default path), or with `model` instead when it is >= 0. */
static int recommend_one(int dflt, int model, const seed *s, rec_item *items, size_t *n)
{
	char body[160];
	int blen = body_of(dflt, s, body, sizeof body);
	serve_recommend_body b;
	seg_error err = {0};
	if (serve_parse_recommend(body, (size_t)blen, &b, &err) < 0) {
		fprintf(stderr, "serve_profile: %s\n", err.msg);
		return -1;
	}
	rec_request rq;
	request_from_body(&b, &s->track, &rq);
	if (model >= 0)
		rq.model = model;
	if (engine_recommend(E, &rq, items, n, NULL, &err) < 0) {
		fprintf(stderr, "serve_profile: engine_recommend: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* Two threads calling engine_recommend at once, as the server's two workers do. */
typedef struct par {
	int dflt; /* the default path */
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
		if (recommend_one(p->dflt, -1, &seeds[(p->from + i) % nseeds], items, &n) < 0)
			break;
	p->secs = wall() - t0;
	return NULL;
}

static int run(int argc, char **argv);

/* Reads the seeds with content vectors from a "track_id,spotify_id" file
 * into seeds[nseeds] (replacing any read before); -1 when none. */
static int read_seeds(const engine *e, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	size_t cap = 1024;
	free(seeds);
	nseeds = 0;
	seeds = malloc(cap * sizeof *seeds);
	long long tid;
	char sid[23];
	while (seeds != NULL && fscanf(f, "%lld,%22s", &tid, sid) == 2) {
		if (engine_row_of(e, tid) < 0)
			continue;
		if (nseeds == cap)
			seeds = realloc(seeds, (cap *= 2) * sizeof *seeds);
		if (seeds == NULL)
			break;
		seeds[nseeds].track = tid;
		snprintf(seeds[nseeds].sid, sizeof seeds[nseeds].sid, "%s", sid);
		nseeds++;
	}
	fclose(f);
	if (nseeds == 0) {
		fprintf(stderr, "serve_profile: no seeds with vectors in %s\n", path);
		return -1;
	}
	return 0;
}

/* Prints one table row: mean, p50, p99 of w[total] (sorted here) and the
 * mean CPU time; returns the mean. */
static double row_print(const char *name, double *w, size_t total, double cpu_sum)
{
	double m = 0;
	for (size_t i = 0; i < total; i++)
		m += w[i];
	m /= (double)total;
	qsort(w, total, sizeof(double), cmp_double);
	printf("    %-28s %9.1f %9.1f %9.1f %9.1f\n", name, m * 1e6, w[total / 2] * 1e6,
	       w[(size_t)((double)total * 0.99)] * 1e6, cpu_sum / (double)total * 1e6);
	return m;
}

enum { P_PARSE, P_RECOMMEND, P_CONTENT, P_RP3, P_ALS, P_LOOKUPS, P_JSON, P__N };
/* clang-format off */
static const char *const pstep_name[P__N] = {
	"parse body", "engine_recommend", "  (content alone, re-ranked)", "  (rp3beta alone, re-ranked)",
	"  (als alone, re-ranked)", "10 track names (names)", "reasons + JSON"};
/* clang-format on */

/* The default path's table (see the top of the file): the body
 * {"seeds":[id],"k":10}, total requests over the seeds. */
static void profile_default(const names *nm, size_t total)
{
	double *w[P__N], c[P__N] = {0};
	for (int s = 0; s < P__N; s++)
		w[s] = calloc(total, sizeof(double));
	const int alone[3] = {recommender_find("content"), recommender_find("rp3beta"), recommender_find("als")};
	/* Warm-up: the engine builds its ALS index in the background after its
	 * first ALS requests (src/engine/rec_cf.c), as a server has long done
	 * before it is measured. Requests go on until an ALS one takes under a
	 * millisecond of CPU (the scan of every item takes several), for at most
	 * 60 s. */
	rec_item warm[10];
	size_t nw;
	int ready = 0;
	for (double t0 = wall(); !ready && wall() - t0 < 60.0;)
		for (size_t i = 0; i < nseeds && !ready; i++) {
			double c1 = cpu();
			recommend_one(1, alone[2], &seeds[i], warm, &nw);
			ready = cpu() - c1 < 1e-3;
		}
	if (!ready)
		printf("  (the ALS requests were still slow after 60 s of warm-up: no index?)\n");
	size_t sink = 0, full = 0;
	char model[64] = "?";
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
		int blen = body_of(1, sd, body, sizeof body);
		serve_recommend_body *b = malloc(sizeof *b);
		seg_error err = {0};
		TIME(P_PARSE, serve_parse_recommend(body, (size_t)blen, b, &err));
		snprintf(model, sizeof model, "%s", recommender_name(b->model));
		free(b);
		rec_item items[10], other[10];
		size_t n = 0, no;
		TIME(P_RECOMMEND, recommend_one(1, -1, sd, items, &n));
		full += n == 10;
		for (int m = 0; m < 3; m++)
			TIME(P_CONTENT + m, recommend_one(1, alone[m], sd, other, &no));
		lookup_hit res[10];
		TIME(P_LOOKUPS, for (size_t j = 0; j < n; j++) names_get(nm, items[j].track, &res[j]));
		TIME(P_JSON, {
			const char *names[1] = {"seed"};
			uint8_t found[10];
			memset(found, 1, sizeof found);
			strbuf sb = {0};
			serve_write_recommend(&sb, E, "0", model, items, n, res, found, names, NULL, 1, "", NULL, 0,
			                      NULL, 0, NULL);
			sink += sb.len;
			strbuf_free(&sb);
		});
#undef TIME
	}
	printf("  the default path {\"seeds\":[id],\"k\":10} (model %s, re-ranked; %zu of %zu requests gave 10 "
	       "results), per request, one thread, no HTTP:\n",
	       model, full, total);
	printf("    %-28s %9s %9s %9s %9s\n", "step", "mean us", "p50 us", "p99 us", "cpu us");
	double sum = 0;
	for (int s = 0; s < P__N; s++) {
		double m = row_print(pstep_name[s], w[s], total, c[s]);
		if (s != P_CONTENT && s != P_RP3 && s != P_ALS)
			sum += m;
		free(w[s]);
	}
	printf("    %-28s %9.1f\n", "sum (without HTTP)", sum * 1e6);
	par p[2] = {{1, 0, total, 0}, {1, nseeds / 2, total, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, par_run, &p[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("    engine_recommend in 2 threads at once: %.1f us per call per thread, %.0f calls/s in all\n",
	       (p[0].secs + p[1].secs) / 2 / (double)total * 1e6, 2.0 * (double)total / ((p[0].secs + p[1].secs) / 2));
	if (sink == 0)
		printf("    (no JSON written?)\n");
}

enum { U_PARSE, U_ASSIGN, U_RECOMMEND, U_LOOKUPS, U_LOG, U_JSON, U__N };
/* clang-format off */
static const char *const ustep_name[U__N] = {
	"parse body", "assign (exp_assign+apply)", "engine_recommend", "10 track names (names)",
	"impression (evstore_log)", "reasons + JSON"};
/* clang-format on */

/* The user_id path's table: the default path's body with a user_id (one of
 * 1,000 listeners), assigned in the experiment bench serves (control:
 * model=hybrid; treatment: model=hybrid,diversity=0.6), its variant's
 * configuration applied, and the impression queued in an event store (a
 * fresh SQLite file, `events` path) as the handler does; total requests. */
static void profile_user(const names *nm, size_t total, const char *events, const hybrid_weights *base)
{
	experiment ex;
	memset(&ex, 0, sizeof ex);
	snprintf(ex.name, sizeof ex.name, "bench-ab");
	snprintf(ex.salt, sizeof ex.salt, "bench");
	exp_config cfg[2];
	seg_error err = {0};
	static const char *const config[2] = {"model=hybrid", "model=hybrid,diversity=0.6"};
	for (int v = 0; v < 2; v++) {
		snprintf(ex.variant[v].name, sizeof ex.variant[v].name, "%s", v ? "treatment" : "control");
		snprintf(ex.variant[v].config, sizeof ex.variant[v].config, "%s", config[v]);
		ex.variant[v].weight = 1;
		if (exp_config_parse(config[v], &cfg[v], &err) < 0) {
			fprintf(stderr, "serve_profile: %s\n", err.msg);
			return;
		}
	}
	ex.nvariants = 2;
	remove(events);
	evstore *st = NULL;
	if (evstore_open(events, &st, &err) < 0) {
		fprintf(stderr, "serve_profile: %s\n", err.msg);
		return;
	}
	double *w[U__N], c[U__N] = {0};
	for (int s = 0; s < U__N; s++)
		w[s] = calloc(total, sizeof(double));
	size_t sink = 0, full = 0;
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
		char body[200];
		int blen = snprintf(body, sizeof body, "{\"seeds\":[\"%s\"],\"k\":10,\"user_id\":\"bench-user-%zu\"}",
		                    sd->sid, (i + 1) * 7919 % 1000);
		serve_recommend_body *b = malloc(sizeof *b);
		TIME(U_PARSE, serve_parse_recommend(body, (size_t)blen, b, &err));
		rec_request rq;
		request_from_body(b, &sd->track, &rq);
		hybrid_weights hw;
		size_t v = 0;
		TIME(U_ASSIGN, {
			v = exp_assign(&ex, b->user);
			exp_config_apply(&cfg[v], &rq, &hw, base);
		});
		rec_item items[10];
		size_t n = 0;
		TIME(U_RECOMMEND, {
			if (engine_recommend(E, &rq, items, &n, NULL, &err) < 0)
				n = 0;
		});
		full += n == 10;
		lookup_hit res[10];
		TIME(U_LOOKUPS, for (size_t j = 0; j < n; j++) names_get(nm, items[j].track, &res[j]));
		TIME(U_LOG, {
			ev_event ev;
			char tracks[10][EV_TRACK_LEN + 1];
			memset(&ev, 0, sizeof ev);
			ev.type = EV_IMPRESSION;
			snprintf(ev.event_id, sizeof ev.event_id, "r%zu", i);
			snprintf(ev.request, sizeof ev.request, "r%zu", i);
			snprintf(ev.user, sizeof ev.user, "%s", b->user);
			snprintf(ev.experiment, sizeof ev.experiment, "%s", ex.name);
			snprintf(ev.variant, sizeof ev.variant, "%s", ex.variant[v].name);
			snprintf(ev.model, sizeof ev.model, "hybrid");
			ev.position = -1;
			for (size_t j = 0; j < n; j++)
				snprintf(tracks[ev.ntracks++], sizeof tracks[0], "%s", res[j].spotify_id);
			ev.tracks = tracks;
			if (evstore_log(st, &ev, &err) < 0)
				fprintf(stderr, "serve_profile: evstore_log: %s\n", err.msg);
		});
		TIME(U_JSON, {
			const char *names[1] = {"seed"};
			uint8_t found[10];
			memset(found, 1, sizeof found);
			serve_answer_ab extra = {.experiment = ex.name, .variant = ex.variant[v].name};
			strbuf sb = {0};
			serve_write_recommend(&sb, E, "0", "hybrid", items, n, res, found, names, NULL, 1, "", NULL, 0,
			                      NULL, 0, &extra);
			sink += sb.len;
			strbuf_free(&sb);
		});
		free(b);
#undef TIME
	}
	printf("  the user_id path {\"seeds\":[id],\"k\":10,\"user_id\":u} in the experiment (control hybrid, "
	       "treatment diversity 0.6; %zu of %zu requests gave 10 results), per request, one thread, no HTTP:\n",
	       full, total);
	printf("    %-28s %9s %9s %9s %9s\n", "step", "mean us", "p50 us", "p99 us", "cpu us");
	double sum = 0;
	for (int s = 0; s < U__N; s++) {
		sum += row_print(ustep_name[s], w[s], total, c[s]);
		free(w[s]);
	}
	printf("    %-28s %9.1f\n", "sum (without HTTP)", sum * 1e6);
	int64_t stored = 0;
	evstore_close(st); /* drains the queue */
	if (evstore_open(events, &st, &err) == 0 && evstore_count(st, &stored, &err) == 0)
		printf("    impressions stored after the store closed: %lld of %zu\n", (long long)stored, total);
	evstore_close(st);
	remove(events);
	if (sink == 0)
		printf("    (no JSON written?)\n");
}

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
	/* One BLAS thread per request thread, as the server runs (serve.c):
	 * the ALS fold-in's solve would otherwise wake BLAS threads that spin
	 * and yield, which showed as wall time many times the CPU time. */
	openblas_set_num_threads(1);
	seg_error err = {0};
	char path[4096], dbpath[4096];
	engine *e;
	if (train_model_path(argv[1], NULL, path, sizeof path, &err) < 0 || engine_open(&e, path, &err) < 0) {
		fprintf(stderr, "serve_profile: %s\n", err.msg);
		return 1;
	}
	E = e;
	/* The variants' hybrid weights start from the artifact's, as the
	 * server's (serve.c). */
	hybrid_weights base = hybrid_weights_default;
	container_file *cf = NULL;
	if (container_file_open(&cf, path, &err) == 0) {
		size_t hsz = 0;
		const void *hw = container_file_section(cf, MS_HYBRID, &hsz);
		if (hw != NULL && hsz == sizeof base)
			memcpy(&base, hw, sizeof base);
		container_file_close(cf);
	}
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
	if (read_seeds(e, argv[2]) < 0)
		return 1;
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
		int blen = body_of(0, sd, body, sizeof body);
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
		TIME(S_RECOMMEND, recommend_one(0, -1, sd, items, &n));
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
			                      NULL, 0, NULL);
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
	par p[2] = {{0, 0, total, 0}, {0, nseeds / 2, total, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, par_run, &p[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("    engine_recommend in 2 threads at once: %.1f us per call per thread, %.0f calls/s in all\n",
	       (p[0].secs + p[1].secs) / 2 / (double)total * 1e6, 2.0 * (double)total / ((p[0].secs + p[1].secs) / 2));
	if (sink == 0)
		printf("    (no JSON written?)\n");
	if (argc > 4 && read_seeds(e, argv[4]) < 0)
		return 1;
	profile_default(nm, nseeds * repeats);
	if (argc > 5)
		profile_user(nm, nseeds * repeats, argv[5], &base);
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
