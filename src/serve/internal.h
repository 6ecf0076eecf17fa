/* internal.h: what the parts of the server share and nothing outside it
 * sees: the server and request records, the route table's ids, and the
 * functions of each part (named serve__*). The parts are
 *   serve.c     start-up: the model, the catalogue's names file and EDA cache,
 *               the daemon's life (serve_run)
 *   http.c      HTTP plumbing: the daemon and its limits, the request
 *               checks made before any route (Host, Content-Type, UTF-8),
 *               responses, the access log
 *   handlers.c  the routes and the request body parser
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
#include "report/eda.h"

/* clang-format off */
enum route_id {
	R_HEALTH, R_TRACKS, R_TRACK, R_RECOMMEND, R_SIMILAR, R_GEMS, R_CLUSTERS, R_MAP, R_GENRES, R_EDA,
	R_CHART, R_MODELS, R_OPENAPI, R_METRICS, R_DASHBOARD, R_STATIC, R_NOTFOUND, R__COUNT
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

typedef struct server {
	const serve_options *o;
	engine *eng;
	names *names; /* display fields without SQL; NULL: they come from SQLite */
	char dbpath[PATH_MAX];
	char model_path[PATH_MAX];
	char version[64];
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
} server;

/* Per-request state, from the first call of the request handler to the
 * completion callback. */
typedef struct req {
	double t0;
	int route;
	unsigned status;
	strbuf body;
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
/* A 405 with the Allow header naming `allow`. */
enum MHD_Result serve__send_405(struct MHD_Connection *c, req *r, const char *path, const char *allow);
/* Writes s into sb for the access log: printable ASCII and well-formed
 * UTF-8 as they are, every other byte as \xHH: control characters (C0,
 * DEL, and the C1 controls U+0080-U+009F, each byte of them), the line and
 * paragraph separators U+2028 and U+2029, the bidirectional controls,
 * anything not UTF-8, and backslash; so that one request is one line, shown
 * as it was sent, whatever its URL holds. */
void serve__log_escape(strbuf *sb, const char *s);

/* ---- handlers.c ---- */

enum MHD_Result serve__dispatch(server *s, struct MHD_Connection *c, req *r, const char *url, const char *method);
/* The cluster table as a JSON array. */
json_t *serve__clusters_array(server *s);
/* Builds s->openapi from the embedded web/openapi.json, its enums of model
 * names and reason codes filled in from the engine's registry (where the
 * document marks them with "x-segue-enum"), so that the document offers the
 * models this server serves. Leaves it NULL in a build without the file.
 * SEG_EFORMAT when the embedded document is not JSON or marks a list the
 * server does not have, SEG_ENOMEM. */
int serve__openapi_build(server *s, seg_error *err);
/* Closes the per-thread catalogue connections. */
void serve__close_dbs(server *s);

/* ---- metrics.c ---- */

/* Counts a finished request of `secs` seconds. */
void serve__metrics_record(server *s, const req *r, double secs);
/* Writes the Prometheus text exposition. */
void serve__metrics_text(server *s, strbuf *sb);

#endif
