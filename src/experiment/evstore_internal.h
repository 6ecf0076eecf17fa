/* evstore_internal.h: what evstore.c (the public functions and the group
 * commit) shares with its backends, evstore_sqlite.c and evstore_pg.c, and
 * the hooks the tests use to watch the group commit. Not a public API. */
#ifndef SEGUE_EVSTORE_INTERNAL_H
#define SEGUE_EVSTORE_INTERNAL_H

#include <stdint.h>

#include "core/strbuf.h"
#include "experiment/evstore.h"

/* The schema both backends create and accept (meta.schema_version). */
#define EVSTORE_SCHEMA_VERSION 1

/* One caller's batch waiting for a group commit. It lives on the caller's
 * stack; the thread that commits the group fills the results. */
typedef struct evstore_item {
	ev_event *ev;              /* [n] the caller's events; seq and server_ms are filled */
	size_t n;                  /* 1..EV_MAX_BATCH */
	size_t added;              /* result: events that were new */
	int rc;                    /* result: 0 or SEG_E* (then nothing of the batch is stored) */
	seg_error err;             /* result: detail when rc < 0 */
	int done;                  /* set (under the store's mutex) once rc is final */
	struct evstore_item *next; /* the queue / the group, in arrival order */
} evstore_item;

/* A backend. Only one thread at a time calls commit (the group's leader);
 * the others may be called from any thread at once, and the backend
 * serialises them itself. */
typedef struct evstore_ops {
	const char *kind; /* "sqlite", "postgresql" */
	/* Stores every batch of the list `group` in one transaction, each under
	 * its own savepoint, so that a failing batch is rolled back alone;
	 * sets each item's rc, err and added, and its events' seq (0 for a
	 * batch that failed). Returns 0 when the transaction committed, or the
	 * error that made every batch fail (each item's rc says so too). */
	int (*commit)(void *impl, evstore_item *group);
	int (*count)(void *impl, int64_t *n, seg_error *err);
	int (*scan)(void *impl, const char *name, evstore_scan_fn fn, void *ctx, seg_error *err);
	/* create: insert, SEG_EINVAL "already exists" when taken; else replace,
	 * SEG_ENOTFOUND when absent. */
	int (*exp_put)(void *impl, int create, const char *name, const char *spec, const char *state,
	               int64_t created_ms, seg_error *err);
	int (*exp_get)(void *impl, const char *name, char **spec, seg_error *err); /* *spec malloc'd */
	/* Every spec, oldest first, in a malloc'd array of malloc'd strings. */
	int (*exp_list)(void *impl, char ***specs, size_t *n, seg_error *err);
	void (*close)(void *impl);
} evstore_ops;

extern const evstore_ops evstore__sqlite_ops;
extern const evstore_ops evstore__pg_ops;
int evstore__sqlite_open(const char *path, void **impl, seg_error *err);
int evstore__pg_open(const char *conninfo, void **impl, seg_error *err);

/* ---- helpers shared by the backends ---------------------------------------- */

/* An impression's list as stored: ids joined by ','; teams as 'A'/'B'
 * letters ("" when not interleaved). */
void evstore__tracks_text(const ev_event *e, strbuf *tracks, strbuf *teams);

/* A scan's reusable room for one event's lists. */
typedef struct evstore_row {
	ev_event ev;
	char (*tracks)[EV_TRACK_LEN + 1]; /* [EV_MAX_LIST] */
	uint8_t *teams;                   /* [EV_MAX_LIST] */
} evstore_row;
int evstore__row_init(evstore_row *r); /* SEG_ENOMEM */
void evstore__row_free(evstore_row *r);
/* Fills r->ev from a stored row's columns, in the schema's order (seq,
 * event_id, type, user_id, request_id, track, position, client_ms,
 * server_ms, experiment, variant, model, tracks, teams); NULL text is "",
 * a NULL position (has_position 0) is -1. Too long values are cut: the
 * store only holds what evstore_append wrote. */
void evstore__row_fill(evstore_row *r, int64_t seq, const char *event_id, int type, const char *user,
                       const char *request, const char *track, int has_position, int64_t position, int64_t client_ms,
                       int64_t server_ms, const char *exp_name, const char *variant, const char *model,
                       const char *tracks, const char *teams);

/* The columns in that order, for the backends' SELECTs. */
#define EVSTORE_COLUMNS                                                                                          \
	"seq, event_id, type, user_id, request_id, track, position, client_ms, server_ms, experiment, variant, " \
	"model, "                                                                                                \
	"tracks, teams"

/* ---- test hooks -------------------------------------------------------------- */

/* Transactions committed and batches appended since the store was opened. */
void evstore__stats(evstore *s, uint64_t *commits, uint64_t *batches);
/* While held, appends queue up and nobody commits them; releasing lets one
 * leader take the whole queue as one group. */
void evstore__hold(evstore *s, int on);
/* Batches queued and not yet taken by a leader. */
size_t evstore__queued(evstore *s);
/* The next n groups (appends' and the log writer's alike) fail with
 * SEG_EDB without reaching the backend, as a database's write error would. */
void evstore__fail_writes(evstore *s, int n);
/* Lowers evstore_log's bound to max events (0: back to EVSTORE_LOG_MAX). */
void evstore__log_max(evstore *s, size_t max);
/* Events logged and not yet committed. */
size_t evstore__log_queued(evstore *s);

#endif
