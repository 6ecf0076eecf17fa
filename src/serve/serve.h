/* serve.h: `segue serve`: the HTTP JSON API and the dashboard, on
 * libmicrohttpd. The model artifact and the catalogue are opened read-only
 * (the artifact is mapped, so several server processes share one copy);
 * listeners' events and the experiments live in the event store
 * (experiment/evstore.h), which several servers may share; the process
 * keeps no state of its own beyond counters and a cache of the running
 * experiments. It does not train. */
#ifndef SEGUE_SERVE_H
#define SEGUE_SERVE_H

#include <stdio.h>

#include "core/error.h"
#include "catalog/lookup.h"
#include "engine/recommend.h"
#include "core/strbuf.h"
#include "experiment/events.h"
#include "serve/answer.h"

#define SERVE_MAX_BODY (64 * 1024) /* larger request bodies get 413 */
/* POST /api/events alone takes up to this: a batch of EV_MAX_BATCH events
 * of the longest fields (ids of EV_ID_MAX bytes) is about 330 KiB of
 * compact JSON, so a full batch fits with room for white space. */
#define SERVE_MAX_EVENTS_BODY (1024 * 1024)
#define SERVE_MAX_URL 4096   /* longer request targets get 414 */
#define SERVE_MAX_THREADS 64 /* --threads above this is refused */
/* What one client can hold, so that none can starve the others:
 * - the request deadline: a request (its line, headers and body) must have
 *   arrived whole SERVE_REQUEST_DEADLINE seconds (serve_options'
 *   request_deadline) after its connection opened, or after the answer
 *   before it on a kept-alive connection; otherwise the connection is closed
 *   without an answer. A client that trickles its headers a line at a time
 *   is closed then, however busy it keeps the connection.
 * - a connection that moves no byte for SERVE_CONN_TIMEOUT seconds (while
 *   its answer is sent, too) is closed;
 * - SERVE_MAX_CONNS connections at once, every client together, and
 *   SERVE_MAX_PER_IP from one address, except on a loopback bind: there
 *   every client is 127.0.0.1, so a limit per address would be a limit for
 *   everyone (32 slow clients would lock every other local client out until
 *   the deadline closed them), and only SERVE_MAX_CONNS and the deadline
 *   hold. */
#define SERVE_REQUEST_DEADLINE 10 /* seconds from connection (or last answer) to a request received whole */
#define SERVE_CONN_TIMEOUT 10     /* seconds a connection may move no byte */
#define SERVE_MAX_CONNS 256       /* connections at once, every client together */
#define SERVE_MAX_PER_IP 32       /* connections at once from one address, unless bound to loopback */

typedef struct serve_options {
	const char *workspace;
	const char *artifact; /* model version, or NULL: the registry's champion, else the latest */
	const char *bind;     /* address, default 127.0.0.1 */
	int port;             /* 0 = any free port (printed on start) */
	int threads;          /* worker threads (default 2, 1..SERVE_MAX_THREADS) */
	FILE *access_log;     /* one line per request, or NULL */
	int quiet;            /* no start-up banner */
	long search_steps;    /* SQLite steps one search may take (lookup_search_bounded); 0: LOOKUP_MAX_STEPS */
	int request_deadline; /* seconds, 1..3600 (default SERVE_REQUEST_DEADLINE); 0 also means the default */
	/* More names the Host check lets through (serve_run), without port:
	 * allow_hosts[nallow_hosts], at most SERVE_MAX_ALLOW_HOSTS. */
	const char *const *allow_hosts;
	size_t nallow_hosts;
	/* The event store (evstore_open's `where`: a postgresql:// URL or a
	 * SQLite file), or NULL for the workspace's events.db. */
	const char *events;
	/* The token of the state-changing experiment routes (Authorization:
	 * Bearer TOKEN) when bound to an address that is not loopback, or NULL:
	 * then those routes are refused there (403). On a loopback bind they
	 * need none. */
	const char *token;
} serve_options;

#define SERVE_MAX_ALLOW_HOSTS 16

/* Whether `name` can be an allow_hosts entry: 1 to 253 letters, digits,
 * dots and hyphens (a DNS name; IP addresses need no entry). Returns 0 or
 * SEG_EINVAL with a sentence. */
int serve_allow_host_check(const char *name, seg_error *err);

void serve_options_default(serve_options *o);

/* Serves until SIGTERM or SIGINT, then shuts down cleanly.
 *
 * The model: o->artifact, else the registry's champion (pipeline/
 * registry.h) when it names one, else the latest version; a registry that
 * cannot be read fails the start. Without o->artifact the server follows
 * the champion: on SIGHUP, and when the registry's file changes (looked at
 * once a second), a new champion is mapped and checked, then answers every
 * request that starts after; requests already running finish on the old
 * model, which is freed when the last of them ends. A champion that cannot
 * be opened leaves the current model serving (a line on standard error).
 * No request fails for a reload.
 *
 * The challenger: without o->artifact the server also holds the registry's
 * challenger (when it names one), reloaded in the same way and at the same
 * moments (a challenger that cannot be opened leaves the previous one, with
 * a line on standard error; one that cannot be opened at start leaves none,
 * and the start goes on). A listener whose experiment variant says
 * version=challenger (experiment.h) is answered by it, version=N by the
 * champion or the challenger when either is registry version N, and
 * version=champion, like every other request, by the champion. Every
 * recommend answer says which model answered ("model_version": "v7"), so
 * that a client and the analysis can attribute it. A variant naming a
 * version the server does not hold (the registry names no challenger, it
 * could not be opened, version=N of neither alias, or a challenger or a
 * number under --artifact, where the served model stands for the champion) is answered by the champion rather than failed: a listener
 * expects a list, not an error about the experiment's set-up. The answer's
 * model_version then names the champion, and /metrics counts it in
 * segue_variant_model_fallback_total, which an operator watches (it stays 0
 * while every variant is served as configured). `segue experiment create`
 * refuses such a variant up front.
 *
 * Against DNS rebinding (a page elsewhere whose name was made to resolve to
 * this server's address), it answers a request only when its Host, port
 * aside, is localhost, 127.0.0.1, [::1], the bound address or one of
 * o->allow_hosts; bound to an address that is not loopback (0.0.0.0
 * included: it answers on 127.0.0.1 too), also when it is an IP address or
 * this machine's hostname. Others get 421. A request without Host (HTTP/1.0)
 * is answered.
 *
 * The event store is opened at start and closed at exit; one that cannot
 * be opened (a PostgreSQL server that does not answer, a file that cannot
 * be created) fails the start with its reason (SEG_EDB, SEG_EIO,
 * SEG_EVERSION).
 *
 * SEG_EINVAL when o->threads is outside 1..SERVE_MAX_THREADS, o->bind is
 * not an IPv4 address, o->search_steps is negative, o->request_deadline
 * outside 0..3600, or allow_hosts has more than SERVE_MAX_ALLOW_HOSTS
 * names or one serve_allow_host_check refuses. */
int serve_run(const serve_options *o, seg_error *err);
/* Asks the serve_run running in another thread of this process to shut
 * down, as SIGTERM does (for programs and tests that run the server
 * in-process). Call it only once that server answers: before its start-up
 * has made its signal pipe, or after serve_run returned, it does nothing. */
void serve_stop(void);

/* A POST /api/recommend body, checked for shape, types and ranges but not
 * yet resolved against the catalogue. Plain data. */
#define SERVE_MAX_SEEDS 64
#define SERVE_MAX_EXCLUDE 1000
#define SERVE_MAX_DISLIKES 64
#define SERVE_MAX_GENRES 32
#define SERVE_GENRE_CAP 64 /* bytes of one genre name, NUL included */
typedef struct serve_recommend_body {
	char seeds[SERVE_MAX_SEEDS][23]; /* normalised Spotify ids */
	size_t nseeds;
	char exclude[SERVE_MAX_EXCLUDE][23];
	size_t nexclude;
	char dislikes[SERVE_MAX_DISLIKES][23];
	size_t ndislikes;
	char genres[SERVE_MAX_GENRES][SERVE_GENRE_CAP]; /* as sent; the engine checks them against its vocabulary */
	size_t ngenres;
	int year_min, year_max; /* 0 = no bound */
	char mood[512];         /* "energy=0.8,..." or "" */
	char title[256];        /* the playlist's title (models flagged REC_USES_TITLE), or "" */
	size_t k;
	int model; /* registry id (recommender_find) */
	float diversity, novelty, quality;
	int max_per_artist;
	size_t knn_probe; /* 0: exact content search (rec_request.knn_probe) */
	int rerank;
	/* "model": "interleave:A,B": the registry ids of teams A and B (model
	 * is then A's), else -1 -1. */
	int interleave[2];
	char user[EV_ID_MAX + 1]; /* "user_id" (ev_id_valid), or "" */
} serve_recommend_body;

/* Parses and checks a request body (the part of request handling that sees
 * untrusted bytes; fuzzed by fuzz/fuzz_request.c). A user_id must be 1..64
 * bytes of [A-Za-z0-9_.:-] (ev_id_valid); "model" is a registered
 * recommender or "interleave:A,B" with A and B two of them. Returns 0, or SEG_EINVAL
 * with a sentence for the client in err; a body that is not JSON at all is
 * SEG_EFORMAT. Mood values are checked against the feature's range
 * (serve_mood_check). */
int serve_parse_recommend(const char *body, size_t len, serve_recommend_body *out, seg_error *err);

/* Checks one mood value of a request with feat_mood_check (models/featvec.h:
 * the key must be a mood feature and v finite and within the feature's real
 * range), its message made valid UTF-8 for the answer. Returns 0 or
 * SEG_EINVAL with a sentence naming the key and its range. */
int serve_mood_check(const char *key, double v, seg_error *err);

/* The routes, as the OpenAPI document names them (for tests that check the
 * one against the other). */
typedef struct serve_route {
	const char *method;
	const char *path; /* "/api/tracks/{id}" */
} serve_route;
extern const serve_route serve_routes[];
extern const size_t serve_nroutes;

#endif
