/* evstore.h: the event store: listeners' events and the experiments'
 * definitions, in SQLite (WAL, its own file in the workspace: the default)
 * or PostgreSQL through libpq (for several replicas), with the same schema
 * and the same guarantees: a batch is stored all or nothing, an event_id
 * at most once, and evstore_append returns only once the batch is durable.
 * Concurrent appends share one commit (group commit), so durability does
 * not cost an fsync per event. It does not parse events (events.h) nor
 * analyse them (analysis.h).
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
void evstore_close(evstore *s); /* NULL is a no-op; waits for appends in flight */

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
