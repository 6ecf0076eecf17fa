/* internal.h: what the parts of the server share and nothing outside it
 * sees: the server and request records, the route table's ids, and the
 * functions of each part (named serve__*). The parts are
 *   serve.c     start-up: the model (and its reload: a new champion), the
 *               catalogue's names file and EDA cache, the daemon's life
 *               (serve_run)
 *   http.c      HTTP plumbing: the daemon and its limits, the request
 *               checks made before any route (Host, Content-Type, UTF-8),
 *               responses, the access log
 *   handlers.c  the routes and the request body parser
 *   experiments.c  the event store's side: the running experiments' cache,
 *               the request ids, POST /api/events, the experiment routes
 *               and their token, GET /api/power
 *   answer.c    the JSON of tracks and of the recommend answer (answer.h)
 *   metrics.c   the Prometheus counters and their text
 * Not installed, not stable: the public API is serve.h. */
#ifndef SEGUE_SERVE_INTERNAL_H
#define SEGUE_SERVE_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "serve/serve.h"
#include "catalog/names.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"
#include "report/eda.h"

/* clang-format off */
enum route_id {
	R_HEALTH, R_TRACKS, R_TRACK, R_RECOMMEND, R_SIMILAR, R_GEMS, R_CLUSTERS, R_MAP, R_GENRES, R_EDA,
	R_CHART, R_MODELS, R_OPENAPI, R_METRICS,
	R_EVENTS, R_EXPERIMENTS, R_EXP_CREATE, R_EXPERIMENT, R_EXP_START, R_EXP_STOP, R_EXP_REPORT,
	R_EXP_EXPORT, R_EXP_LIFT, R_EXP_SEQUENTIAL, R_POWER,
	R_RUNS, R_RUN, R_REGISTRY, R_PIPELINE,
	R_DASHBOARD, R_STATIC, R_NOTFOUND, R__COUNT
};
/* clang-format on */

/* Latency histogram of one route (metrics.c). */
#define SERVE_NBUCKETS 12
typedef struct route_stats {
	atomic_ulong status[6];                  /* by status class 1xx..5xx (index 1..5) */
	atomic_ulong bucket[SERVE_NBUCKETS + 1]; /* last = +Inf */
	atomic_ulong micros;                     /* sum of latencies */
} route_stats;

/* One open connection, as the request deadline sees it (http.c): from
 * MHD's notice that it started to its notice that it closed. Guarded by
 * server.watch_lock. */
typedef struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;       /* its socket, open until the closed notice */
	double since; /* progress_now() when it started, or when its last answer was done */
	int waiting;  /* its next request has not arrived whole yet: the deadline runs */
} conn_watch;

/* The model a server answers with, and what is derived from it. Shared by
 * the requests that use it: the server holds one reference while it is the
 * current model, and every request in flight one (serve__model_acquire); a
 * reload (SIGHUP, or the registry naming another champion) puts a new one
 * in place for the requests that start after it, and the old one is freed
 * when its last reference goes. Read-only once published. */
typedef struct serve_model {
	engine *eng;
	char path[PATH_MAX];  /* its model.seg */
	char version[64];     /* "v3": its directory's name */
	int registry_version; /* the registry version it was opened as (champion or challenger); 0: none */
	char *clusters_json;
	hybrid_weights base_hybrid; /* the artifact's blend: what a variant's config starts from */
	atomic_int refs;
} serve_model;

/* The model of the request this thread is handling: serve__dispatch pins
 * it (one reference) for the handler's call, so a reload never changes it
 * in the middle of a request, and releases it after. NULL outside one. */
extern _Thread_local serve_model *serve__cur;

typedef struct server {
	const serve_options *o;
	/* The current model (see serve_model); model_lock guards the pointer
	 * and taking a reference to what it points at. */
	serve_model *model;
	/* The registry's challenger, held beside the champion for the
	 * experiments' variants that name it (version=challenger, or its
	 * registry version), reloaded with it; NULL when the registry names
	 * none or the server follows no registry (--artifact). The same
	 * object as `model` when both aliases name one version. Guarded by
	 * model_lock as `model` is. */
	serve_model *challenger;
	pthread_mutex_t model_lock;
	atomic_ulong reloads;           /* champions put in place after the first */
	atomic_ulong variant_fallbacks; /* requests whose variant named a version not held: the champion answered */
	names *names;                   /* display fields without SQL; NULL: they come from SQLite */
	char dbpath[PATH_MAX];
	char *summary; /* EDA summary JSON */
	size_t summary_len;
	eda_charts charts;
	char *clusters_json;
	char *openapi; /* GET /openapi.json: its lists filled in from the registry; NULL: none in this build */
	route_stats stats[R__COUNT];
	double started;
	atomic_ulong next_id;
	int loopback;       /* bound to a loopback address: only local names (and allow_hosts) pass the Host check */
	char hostname[256]; /* this machine's (gethostname), or "" */
	/* The request deadline (http.c): every open connection, and a thread
	 * that shuts down those whose request has not arrived whole within
	 * `deadline` seconds. */
	pthread_mutex_t watch_lock; /* guards the fields below */
	pthread_cond_t watch_wake;  /* the watchdog sleeps on it */
	conn_watch *watched;        /* the open connections, newest first */
	double deadline;            /* seconds (o->request_deadline) */
	int watch_idle;             /* the watchdog sleeps with no deadline to wait for */
	int watch_stop;             /* the watchdog is to end */
	int watch_running;          /* the watchdog thread was started and not joined */
	pthread_t watchdog;
	pthread_mutex_t lock;            /* guards dbs[] and the access log */
	sqlite3 *dbs[SERVE_MAX_THREADS]; /* every per-thread connection, closed at exit */
	size_t ndbs;
	/* The event store and what the recommend route keeps of it
	 * (experiments.c). */
	evstore *store;
	uint64_t rid_prefix; /* random per process: request ids are unique across replicas */
	atomic_ulong rid_counter;
	/* The running experiments, oldest started first, each with its
	 * variants' configurations parsed: read from the store at most once a
	 * second (and at once after this server starts or stops one), so
	 * that the recommend route reads no store. */
	pthread_mutex_t exp_lock; /* guards the four fields below */
	experiment *running;      /* [nrunning], malloc'd */
	exp_config (*running_cfg)[EXP_MAX_VARIANTS];
	size_t nrunning;
	double exp_loaded;          /* progress_now() of the last read; 0: read at the next request */
	pthread_mutex_t exp_reload; /* held by the one thread that reads the list again */
} server;

/* Per-request state, from the first call of the request handler to the
 * completion callback. */
typedef struct req {
	double t0;
	int route;
	unsigned status;
	strbuf body;
	size_t max_body; /* SERVE_MAX_BODY, or SERVE_MAX_EVENTS_BODY on POST /api/events */
	int too_big;
	char method[8];
	char url[256]; /* for the access log: escaped, cut */
} req;

/* ---- http.c ---- */

/* Starts the daemon on the address and port of s->o with its limits into
 * *d, and the port it listens on into *port, and the watchdog that holds
 * every request to the deadline. SEG_EINVAL for a bind address that is not
 * IPv4, SEG_EIO when it cannot listen, SEG_ENOMEM (*d is NULL then; call
 * serve__daemon_stop all the same). */
int serve__daemon_start(server *s, struct MHD_Daemon **d, int *port, seg_error *err);
/* Stops the daemon d (may be NULL) and the watchdog, if they were started.
 * Call it once, after serve__daemon_start whatever it returned, or without
 * it on a server that was zeroed. */
void serve__daemon_stop(server *s, struct MHD_Daemon *d);
enum MHD_Result serve__send_bytes(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                                  size_t len, int copy);
/* As serve__send_bytes, for an answer that only changes with the model:
 * it may be stored, revalidated with `etag` (a quoted ETag). */
enum MHD_Result serve__send_etag(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                                 size_t len, int copy, const char *etag);
/* Sends the JSON text in sb (and frees it); 500 when sb ran out of memory. */
enum MHD_Result serve__send_strbuf(struct MHD_Connection *c, req *r, unsigned status, strbuf *sb);
/* Sends j (consumed). */
enum MHD_Result serve__send_json(struct MHD_Connection *c, req *r, unsigned status, json_t *j);
/* {"error": error, "detail": the formatted sentence}. */
enum MHD_Result serve__send_error(struct MHD_Connection *c, req *r, unsigned status, const char *error, const char *fmt,
                                  ...) __attribute__((format(printf, 5, 6)));
/* A library error as a 4xx/5xx, by its code. */
enum MHD_Result serve__send_seg_error(struct MHD_Connection *c, req *r, const seg_error *err);
/* A 401 {"error": "unauthorized", "detail"} with WWW-Authenticate: Bearer. */
enum MHD_Result serve__send_401(struct MHD_Connection *c, req *r, const char *detail);
/* A 405 with the Allow header naming `allow`. */
enum MHD_Result serve__send_405(struct MHD_Connection *c, req *r, const char *path, const char *allow);
/* Writes s into sb for the access log: printable ASCII and well-formed
 * UTF-8 as they are, every other byte as \xHH: control characters (C0,
 * DEL, and the C1 controls U+0080-U+009F, each byte of them), the line and
 * paragraph separators U+2028 and U+2029, the bidirectional controls,
 * anything not UTF-8, and backslash; so that one request is one line, shown
 * as it was sent, whatever its URL holds. */
void serve__log_escape(strbuf *sb, const char *s);

/* ---- serve.c ---- */

/* A reference to the current model (never NULL while the server runs);
 * release it with serve__model_release. */
serve_model *serve__model_acquire(server *s);
/* Drops one reference; the last frees the model. NULL is a no-op. */
void serve__model_release(serve_model *m);
/* Makes the model that cfg's version names (exp_config.version) the
 * request's: swaps serve__cur (pinned by serve__dispatch) for a reference
 * to the champion, the challenger, or whichever of the two is that
 * registry version, and releases the one it pinned. Call it on the request's
 * thread before anything reads serve__cur for the variant (its
 * base_hybrid). A version the server does not hold leaves serve__cur (the
 * champion) and counts one in s->variant_fallbacks. Returns 1 when the
 * request is answered by the version named (or cfg names none), 0 on a
 * fallback. */
int serve__model_pick(server *s, const exp_config *cfg);
/* 1 when the server holds the model that `version` (exp_config.version)
 * names (UNSET: the champion, always held), else 0: a variant naming it
 * would be answered by the champion. */
int serve__version_held(server *s, int version);

/* ---- handlers.c ---- */

enum MHD_Result serve__dispatch(server *s, struct MHD_Connection *c, req *r, const char *url, const char *method);
/* The cluster table of engine e as a JSON array. */
json_t *serve__clusters_array(engine *e);
/* Builds s->openapi from the embedded web/openapi.json, its enums of model
 * names and reason codes filled in from the engine's registry (where the
 * document marks them with "x-segue-enum"), so that the document offers the
 * models this server serves. Leaves it NULL in a build without the file.
 * SEG_EFORMAT when the embedded document is not JSON or marks a list the
 * server does not have, SEG_ENOMEM. */
int serve__openapi_build(server *s, seg_error *err);
/* Closes the per-thread catalogue connections. */
void serve__close_dbs(server *s);

/* ---- experiments.c ---- */

/* Opens the store of s->o (the workspace's events.db by default), draws the request ids'
 * prefix and reads the running experiments. SEG_EDB, SEG_EIO,
 * SEG_EVERSION, SEG_ENOMEM, with a sentence naming the store. */
int serve__store_open(server *s, seg_error *err);
/* Closes the store and frees the cache (a server never opened: no-op). */
void serve__store_close(server *s);
/* The wall clock, ms since the epoch (events' times). */
int64_t serve__now_ms(void);
/* A new request id into out[EV_ID_MAX + 1]: the process's prefix and a
 * counter, in hex. */
void serve__request_id(server *s, char *out);
/* The experiment that decides for `user` (the oldest started of the running
 * ones), its name into name[EXP_NAME_MAX + 1], the variant it assigns
 * into variant[EXP_NAME_MAX + 1] and that variant's parsed configuration
 * into *cfg. Returns 1, or 0 when none runs. Reads the store only when the
 * cache is a second old. */
int serve__assign(server *s, const char *user, char *name, char *variant, exp_config *cfg);
/* Routes (internal.h's R_EVENTS .. R_POWER); name is the {name} of the
 * path, or NULL. */
enum MHD_Result serve__experiment_route(server *s, struct MHD_Connection *c, req *r, const char *name);
/* The routes of runs.c (R_RUNS, R_RUN with its id, R_REGISTRY, R_PIPELINE):
 * the workspace's tracked runs, registry and last pipeline run, read-only. */
enum MHD_Result serve__runs_route(server *s, struct MHD_Connection *c, req *r, const char *id);

/* ---- metrics.c ---- */

/* Counts a finished request of `secs` seconds. */
void serve__metrics_record(server *s, const req *r, double secs);
/* Writes the Prometheus text exposition. */
void serve__metrics_text(server *s, strbuf *sb);

#endif
