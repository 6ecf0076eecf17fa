/* serve.h: `segue serve`: the HTTP JSON API and the dashboard, on
 * libmicrohttpd. The model artifact and the catalogue are opened read-only
 * (the artifact is mapped, so several server processes share one copy); the
 * process keeps no state of its own beyond counters. It does not train. */
#ifndef SEGUE_SERVE_H
#define SEGUE_SERVE_H

#include <stdio.h>

#include "core/error.h"
#include "catalog/lookup.h"
#include "engine/recommend.h"
#include "core/strbuf.h"

#define SERVE_MAX_BODY (64 * 1024)   /* larger request bodies get 413 */
#define SERVE_MAX_URL 4096           /* longer request targets get 414 */

typedef struct serve_options {
	const char *workspace;
	const char *artifact;   /* model version or NULL for the latest */
	const char *bind;       /* address, default 127.0.0.1 */
	int port;               /* 0 = any free port (printed on start) */
	int threads;            /* worker threads (default 2) */
	FILE *access_log;       /* one line per request, or NULL */
	int quiet;              /* no start-up banner */
} serve_options;

void serve_options_default(serve_options *o);

/* Serves until SIGTERM or SIGINT, then shuts down cleanly. */
int serve_run(const serve_options *o, seg_error *err);

/* A POST /api/recommend body, checked for shape, types and ranges but not
 * yet resolved against the catalogue. Plain data. */
#define SERVE_MAX_SEEDS 64
#define SERVE_MAX_EXCLUDE 1000
typedef struct serve_recommend_body {
	char seeds[SERVE_MAX_SEEDS][23];     /* normalised Spotify ids */
	size_t nseeds;
	char exclude[SERVE_MAX_EXCLUDE][23];
	size_t nexclude;
	char mood[512];                      /* "energy=0.8,..." or "" */
	size_t k;
	int model;                           /* enum rec_model */
	float diversity, novelty, quality;
	int max_per_artist;
	int rerank;
} serve_recommend_body;

/* Parses and checks a request body (the part of request handling that sees
 * untrusted bytes; fuzzed by fuzz/fuzz_request.c). Returns 0, or SEG_EINVAL
 * with a sentence for the client in err. */
int serve_parse_recommend(const char *body, size_t len, serve_recommend_body *out, seg_error *err);

/* Writes the answer of POST /api/recommend: request id, model, the tracks
 * items[n] with their display fields hits[n] (those with found[i] = 0 are
 * left out; ranks stay those of items), scores, reasons in words and codes,
 * and the shortfall sentence. The handler and bench/serve_profile use it. */
void serve_write_recommend(strbuf *sb, const engine *e, const char *request_id, const char *model,
                           const rec_item *items, size_t n, const lookup_hit *hits, const uint8_t *found,
                           const char *const *seed_names, size_t nseeds, const char *shortfall);

/* The routes, as the OpenAPI document names them (for tests that check the
 * one against the other). */
typedef struct serve_route {
	const char *method;
	const char *path;       /* "/api/tracks/{id}" */
} serve_route;
extern const serve_route serve_routes[];
extern const size_t serve_nroutes;

#endif
