/* evstore.h: the event store: listeners' events and the experiments'
 * definitions, in SQLite (WAL, its own file in the workspace: the default)
 * or PostgreSQL through libpq (for several replicas), with the same schema
 * and the same guarantees: a batch is stored all or nothing, an event_id
 * at most once, and evstore_append returns only once the batch is durable.
 * Concurrent appends share one commit (group commit), so durability does
 * not cost an fsync per event. evstore_log is the other way in, for the
 * server's own impressions: it queues the event and returns at once, and a
 * writer thread of the store commits the queue through the same group
 * commit. It does not parse events (events.h) nor analyse them
 * (analysis.h).
 *
 * Thread-safety: one evstore may be used by any number of threads at once. */
#ifndef SEGUE_EVSTORE_H
#define SEGUE_EVSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "experiment/events.h"
#include "experiment/experiment.h"

typedef struct evstore evstore;

/* The SQLite file's name in a workspace (catalog/workspace.h names the path). */
#define EVSTORE_FILE "events.db"

/* Opens (creating its tables when new) the store at `where`: a
 * postgresql:// or postgres:// URL (libpq's connection string) for
 * PostgreSQL, else the path of the SQLite file. SEG_EDB when the database
 * refuses (its message in err), SEG_EVERSION for a store of another schema
 * version, SEG_EIO, SEG_ENOMEM. *out is NULL on error. */
int evstore_open(const char *where, evstore **out, seg_error *err);
/* NULL is a no-op. Waits for appends in flight, then drains evstore_log's
 * queue (every logged event committed; while the database refuses, the
 * writer retries for up to EVSTORE_CLOSE_RETRY_MS and then says on stderr
 * how many logged events it could not store), then closes. */
void evstore_close(evstore *s);

/* "sqlite" or "postgresql". */
const char *evstore_kind(const evstore *s);

/* Stores ev[n] (1..EV_MAX_BATCH) as one unit: all of them or none.
 * Events whose event_id is stored already are left as they were (a retry
 * is stored once); *added (may be NULL) says how many were new. Sets each
 * event's server_ms and seq. Returns 0 only when the batch is committed
 * durably (SQLite: WAL with synchronous=FULL; PostgreSQL: its commit), so
 * that a SIGKILL of the process after 0 loses none of it. Batches appended
 * at once by several threads share one transaction and one sync. SEG_EDB
 * (nothing of this batch stored) on a database error. */
int evstore_append(evstore *s, ev_event *ev, size_t n, size_t *added, seg_error *err);

/* ---- logging without waiting for the sync ----------------------------------
 * evstore_log takes the server's own events (impressions) off the request
 * path: it deep-copies the event (its tracks and teams too) into a bounded
 * in-memory queue and returns without waiting for the disk. The store's
 * writer thread (started at the first evstore_log, stopped by
 * evstore_close) takes everything queued every EVSTORE_LOG_INTERVAL_MS, or
 * at once when EV_MAX_BATCH events wait, someone flushes or appends, and
 * commits it through evstore_append's group commit: one transaction and one
 * sync for the whole group (up to EVSTORE_LOG_GROUP events), shared with
 * the appends of that moment. Both backends take it unchanged.
 *
 * The contract:
 * - Order: logged events are committed in the order they were logged, and
 *   an evstore_append that starts after an evstore_log returned gets its
 *   events stored after that logged event (a play posted after its list was
 *   served has the larger seq, as the analysis needs). Only after a write
 *   error can a retried group land after events appended meanwhile.
 * - Idempotence: as for appends, an event_id is stored at most once (a
 *   retried group stores only what the failed attempt did not).
 * - SIGKILL (or a crash, or a power loss) loses at most what was queued and
 *   not yet committed: the impressions of the last few milliseconds
 *   (EVSTORE_LOG_INTERVAL_MS plus one commit), more only while the store
 *   falls behind or fails.
 * - SIGTERM, or any orderly evstore_close, loses nothing: close drains.
 * - A write error of the writer keeps the events queued and retries them
 *   with a backoff (EVSTORE_LOG_RETRY_MS doubling up to 1 s); it is said
 *   once on stderr, and while it lasts evstore_log and evstore_flush return
 *   it. Nothing queued is dropped while the process lives.
 * - Memory: at most EVSTORE_LOG_MAX events are queued (logged and not yet
 *   committed). One takes about 0.6 KB plus 24 bytes per track: 65,536
 *   impressions of 20 tracks are about 70 MB, of 100 tracks (the most the
 *   server serves) about 200 MB. */
#define EVSTORE_LOG_INTERVAL_MS 5
#define EVSTORE_LOG_MAX 65536
#define EVSTORE_LOG_GROUP (4 * EV_MAX_BATCH) /* events per writer's transaction, at most */
#define EVSTORE_LOG_WAIT_MS 1000             /* how long evstore_log waits for room */
#define EVSTORE_LOG_RETRY_MS 10              /* the first backoff after a write error */
#define EVSTORE_CLOSE_RETRY_MS 10000         /* how long close retries a failing write */

/* Queues a copy of *ev (ev itself is not changed and may go at once); its
 * server_ms is set now, its seq when committed. Returns 0 once queued.
 * SEG_EINVAL for a NULL event or a list longer than EV_MAX_LIST; when the
 * queue is full, waits up to EVSTORE_LOG_WAIT_MS for room and then fails
 * with SEG_EIO ("the event store is falling behind"); the writer's write
 * error (SEG_EDB...) while it lasts; SEG_ENOMEM. On error nothing is
 * queued. */
int evstore_log(evstore *s, const ev_event *ev, seg_error *err);

/* Returns 0 once every event logged before the call is committed durably,
 * at once when none waits. While the writer fails to write, returns its
 * error (the events stay queued; a later flush may succeed). */
int evstore_flush(evstore *s, seg_error *err);

/* Events in the store (for tests and the bench). */
int evstore_count(evstore *s, int64_t *n, seg_error *err);

/* Calls fn for every event of every user who has at least one impression
 * of the experiment `name`, ordered by user id and then by seq, so that each user's
 * events arrive together and in the order they were stored (the events
 * before the experiment started included: they are the CUPED covariate's).
 * The ev passed to fn is valid during the call only. A nonzero return of
 * fn stops the scan and is returned. SEG_EDB on a database error. */
typedef int (*evstore_scan_fn)(void *ctx, const ev_event *ev);
int evstore_scan_experiment(evstore *s, const char *name, evstore_scan_fn fn, void *ctx, seg_error *err);

/* Experiments, stored as exp_json's text. create and update check e with
 * exp_check first (SEG_EINVAL naming the problem).
 * evstore_experiment_create stores a new one (SEG_EINVAL with
 * "already exists" when the name is taken); _update replaces a stored one
 * (SEG_ENOTFOUND when there is none); _get reads one (SEG_ENOTFOUND);
 * _list gives all, oldest first, in a malloc'd array the caller frees. */
int evstore_experiment_create(evstore *s, const experiment *e, seg_error *err);
int evstore_experiment_update(evstore *s, const experiment *e, seg_error *err);
int evstore_experiment_get(evstore *s, const char *name, experiment *e, seg_error *err);
int evstore_experiment_list(evstore *s, experiment **out, size_t *n, seg_error *err);

#endif
