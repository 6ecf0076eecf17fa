/* evstore_sqlite.c: the event store in a SQLite file of its own (part of
 * evstore; see evstore.h and evstore_internal.h). WAL with
 * synchronous=FULL, so that a committed group is on disk before the
 * callers hear 0; one writer connection, used only by the group's leader;
 * an auxiliary connection, behind a mutex, for counts and experiments; and
 * a read-only connection per scan, so that a long report does not hold up
 * either. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "experiment/evstore_internal.h"

typedef struct sq_store {
	char *path;
	sqlite3 *w;           /* the writer: group commits only */
	sqlite3_stmt *insert; /* INSERT ... ON CONFLICT(event_id) DO NOTHING */
	sqlite3_stmt *lookup; /* seq, server_ms of a stored event_id (a retry's) */
	sqlite3 *aux;         /* counts and experiments, under mu */
	pthread_mutex_t mu;
	strbuf tracks, teams; /* the writer's scratch for impression lists */
} sq_store;

#define BUSY_MS 10000 /* how long a connection waits for another process's lock */

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
				 "CREATE TABLE IF NOT EXISTS events("
				 " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
				 " event_id TEXT NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 64),"
				 " type SMALLINT NOT NULL CHECK (type BETWEEN 0 AND 5),"
				 " user_id TEXT NOT NULL CHECK (length(user_id) BETWEEN 1 AND 64),"
				 " request_id TEXT, track TEXT, position INTEGER,"
				 " client_ms BIGINT NOT NULL, server_ms BIGINT NOT NULL,"
				 " experiment TEXT, variant TEXT, model TEXT, tracks TEXT, teams TEXT);"
				 "CREATE INDEX IF NOT EXISTS events_user ON events(user_id, seq);"
				 "CREATE INDEX IF NOT EXISTS events_experiment ON events(experiment) WHERE type = 0;"
				 "CREATE INDEX IF NOT EXISTS events_request ON events(request_id);"
				 "CREATE TABLE IF NOT EXISTS experiments(name TEXT PRIMARY KEY, spec TEXT NOT NULL,"
				 " state TEXT NOT NULL, created_ms BIGINT NOT NULL);";

static int db_fail(sqlite3 *db, seg_error *err, const char *what)
{
	return seg_error_set(err, SEG_EDB, "event store: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* Opens a connection with the store's settings. */
static int sq_connect(const char *path, int flags, sqlite3 **out, seg_error *err)
{
	*out = NULL;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		int rc = seg_error_set(err, SEG_EDB, "event store %s: %s", path,
		                       db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	/* synchronous=FULL: in WAL mode NORMAL would skip the sync at commit
	 * and a power cut could lose acknowledged events. */
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = db_fail(db, err, path);
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* Creates the schema when the file is new, and refuses another version. */
static int sq_schema(sqlite3 *db, const char *path, seg_error *err)
{
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, "WAL mode");
	/* IMMEDIATE: two processes opening a new store at once must not both
	 * decide to create it. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, "begin");
	int rc = 0;
	sqlite3_stmt *st = NULL;
	if (sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(db, err, "creating the schema");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(db, err, "reading the schema version");
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		int v = sqlite3_column_int(st, 0);
		if (v != EVSTORE_SCHEMA_VERSION) {
			rc = seg_error_set(err, SEG_EVERSION,
			                   "event store %s has schema version %d; this segue reads version %d", path, v,
			                   EVSTORE_SCHEMA_VERSION);
			goto out;
		}
	} else {
		char sql[128];
		snprintf(sql, sizeof sql, "INSERT INTO meta VALUES('schema_version', '%d')", EVSTORE_SCHEMA_VERSION);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = db_fail(db, err, "writing the schema version");
			goto out;
		}
	}
out:
	sqlite3_finalize(st);
	if (sqlite3_exec(db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
		rc = db_fail(db, err, "commit");
	return rc;
}

static void sq_close(void *impl)
{
	sq_store *q = impl;
	if (q == NULL)
		return;
	sqlite3_finalize(q->insert);
	sqlite3_finalize(q->lookup);
	sqlite3_close(q->w);
	sqlite3_close(q->aux);
	pthread_mutex_destroy(&q->mu);
	strbuf_free(&q->tracks);
	strbuf_free(&q->teams);
	free(q->path);
	free(q);
}

int evstore__sqlite_open(const char *path, void **impl, seg_error *err)
{
	*impl = NULL;
	sq_store *q = calloc(1, sizeof *q);
	if (q == NULL || (q->path = strdup(path)) == NULL) {
		free(q);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&q->mu, NULL);
	int rc = sq_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &q->w, err);
	if (rc == 0)
		rc = sq_schema(q->w, path, err);
	if (rc == 0)
		rc = sq_connect(path, SQLITE_OPEN_READWRITE, &q->aux, err);
	if (rc == 0 &&
	    (sqlite3_prepare_v3(q->w,
	                        "INSERT INTO events(event_id, type, user_id, request_id, track, position, client_ms,"
	                        " server_ms, experiment, variant, model, tracks, teams)"
	                        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
	                        " ON CONFLICT(event_id) DO NOTHING",
	                        -1, SQLITE_PREPARE_PERSISTENT, &q->insert, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v3(q->w, "SELECT seq, server_ms FROM events WHERE event_id = ?1", -1,
	                        SQLITE_PREPARE_PERSISTENT, &q->lookup, NULL) != SQLITE_OK))
		rc = db_fail(q->w, err, "preparing the statements");
	if (rc < 0) {
		sq_close(q);
		return rc;
	}
	*impl = q;
	return 0;
}

/* Binds s as text, or NULL when empty. */
static void bind_text(sqlite3_stmt *st, int i, const char *s, size_t n)
{
	if (n == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
}

/* Inserts one batch; the caller wraps it in a savepoint. */
static int sq_insert_batch(sq_store *q, evstore_item *it)
{
	sqlite3_stmt *st = q->insert;
	it->added = 0;
	for (size_t i = 0; i < it->n; i++) {
		ev_event *e = &it->ev[i];
		sqlite3_reset(st);
		bind_text(st, 1, e->event_id, strlen(e->event_id));
		sqlite3_bind_int(st, 2, e->type);
		bind_text(st, 3, e->user, strlen(e->user));
		bind_text(st, 4, e->request, strlen(e->request));
		bind_text(st, 5, e->track, strlen(e->track));
		if (e->position >= 0)
			sqlite3_bind_int(st, 6, e->position);
		else
			sqlite3_bind_null(st, 6);
		sqlite3_bind_int64(st, 7, e->client_ms);
		sqlite3_bind_int64(st, 8, e->server_ms);
		bind_text(st, 9, e->experiment, strlen(e->experiment));
		bind_text(st, 10, e->variant, strlen(e->variant));
		bind_text(st, 11, e->model, strlen(e->model));
		evstore__tracks_text(e, &q->tracks, &q->teams);
		if (q->tracks.oom || q->teams.oom)
			return seg_error_set(&it->err, SEG_ENOMEM, "out of memory for an impression's list");
		bind_text(st, 12, strbuf_cstr(&q->tracks), q->tracks.len);
		bind_text(st, 13, strbuf_cstr(&q->teams), q->teams.len);
		if (sqlite3_step(st) != SQLITE_DONE) {
			int rc = seg_error_set(&it->err, SEG_EDB, "event store: events[%zu] (%s): %s", i, e->event_id,
			                       sqlite3_errmsg(q->w));
			sqlite3_reset(st);
			return rc;
		}
		if (sqlite3_changes(q->w) == 1) {
			e->seq = sqlite3_last_insert_rowid(q->w);
			it->added++;
			continue;
		}
		/* Stored already (a retry): report the stored one's order. */
		sqlite3_reset(q->lookup);
		bind_text(q->lookup, 1, e->event_id, strlen(e->event_id));
		if (sqlite3_step(q->lookup) == SQLITE_ROW) {
			e->seq = sqlite3_column_int64(q->lookup, 0);
			e->server_ms = sqlite3_column_int64(q->lookup, 1);
		}
		sqlite3_reset(q->lookup);
	}
	sqlite3_reset(st);
	return 0;
}

static void fail_batch(evstore_item *it, int rc, const seg_error *why)
{
	it->rc = rc;
	if (why != &it->err && why != NULL)
		it->err = *why;
	it->added = 0;
	for (size_t i = 0; i < it->n; i++)
		it->ev[i].seq = 0;
}

static int sq_commit(void *impl, evstore_item *group)
{
	sq_store *q = impl;
	seg_error err = {0};
	int rc = 0;
	if (sqlite3_exec(q->w, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(q->w, &err, "begin");
		goto fail_all;
	}
	for (evstore_item *it = group; it != NULL; it = it->next) {
		if (sqlite3_exec(q->w, "SAVEPOINT batch", NULL, NULL, NULL) != SQLITE_OK) {
			rc = db_fail(q->w, &err, "savepoint");
			goto rollback;
		}
		int brc = sq_insert_batch(q, it);
		if (brc == 0) {
			it->rc = 0;
			if (sqlite3_exec(q->w, "RELEASE batch", NULL, NULL, NULL) != SQLITE_OK) {
				rc = db_fail(q->w, &err, "release");
				goto rollback;
			}
			continue;
		}
		fail_batch(it, brc, NULL);
		/* Some errors (a full disk, I/O) end the whole transaction; then
		 * nothing of the group can be committed. */
		if (sqlite3_get_autocommit(q->w)) {
			rc = db_fail(q->w, &err, "the transaction was rolled back");
			goto fail_all;
		}
		if (sqlite3_exec(q->w, "ROLLBACK TO batch; RELEASE batch", NULL, NULL, NULL) != SQLITE_OK) {
			rc = db_fail(q->w, &err, "rollback to savepoint");
			goto rollback;
		}
	}
	if (sqlite3_exec(q->w, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	rc = db_fail(q->w, &err, "commit");
rollback:
	sqlite3_exec(q->w, "ROLLBACK", NULL, NULL, NULL);
fail_all:
	for (evstore_item *it = group; it != NULL; it = it->next)
		if (it->rc == 0)
			fail_batch(it, rc, &err);
	return rc;
}

static int sq_count(void *impl, int64_t *n, seg_error *err)
{
	sq_store *q = impl;
	pthread_mutex_lock(&q->mu);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(q->aux, "SELECT count(*) FROM events", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		rc = db_fail(q->aux, err, "count");
	else
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

static int sq_scan(void *impl, const char *name, evstore_scan_fn fn, void *ctx, seg_error *err)
{
	sq_store *q = impl;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	evstore_row row;
	if (evstore__row_init(&row) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int rc = sq_connect(q->path, SQLITE_OPEN_READONLY, &db, err);
	if (rc < 0)
		goto out;
	/* One read transaction: the scan sees one state of the store. */
	if (sqlite3_prepare_v2(db,
	                       "SELECT " EVSTORE_COLUMNS " FROM events WHERE user_id IN"
	                       " (SELECT user_id FROM events WHERE type = 0 AND experiment = ?1)"
	                       " ORDER BY user_id, seq",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(db, err, "scan");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		evstore__row_fill(&row, sqlite3_column_int64(st, 0), col_text(st, 1), sqlite3_column_int(st, 2),
		                  col_text(st, 3), col_text(st, 4), col_text(st, 5),
		                  sqlite3_column_type(st, 6) != SQLITE_NULL, sqlite3_column_int64(st, 6),
		                  sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 8), col_text(st, 9),
		                  col_text(st, 10), col_text(st, 11), col_text(st, 12), col_text(st, 13));
		if ((rc = fn(ctx, &row.ev)) != 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(db, err, "scan");
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	evstore__row_free(&row);
	return rc;
}

static int sq_exp_put(void *impl, int create, const char *name, const char *spec, const char *state, int64_t created_ms,
                      seg_error *err)
{
	sq_store *q = impl;
	pthread_mutex_lock(&q->mu);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	const char *sql = create ? "INSERT INTO experiments(name, spec, state, created_ms) VALUES(?1, ?2, ?3, ?4)"
	                           " ON CONFLICT(name) DO NOTHING"
	                         : "UPDATE experiments SET spec = ?2, state = ?3, created_ms = ?4 WHERE name = ?1";
	if (sqlite3_prepare_v2(q->aux, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(q->aux, err, "experiments");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, created_ms);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_fail(q->aux, err, "experiments");
		goto out;
	}
	if (sqlite3_changes(q->aux) == 0)
		rc = create ? seg_error_set(err, SEG_EINVAL, "experiment '%s' already exists", name)
		            : seg_error_set(err, SEG_ENOTFOUND, "no experiment named '%s'", name);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

static int sq_exp_get(void *impl, const char *name, char **spec, seg_error *err)
{
	sq_store *q = impl;
	*spec = NULL;
	pthread_mutex_lock(&q->mu);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(q->aux, "SELECT spec FROM experiments WHERE name = ?1", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(q->aux, err, "experiments");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if ((*spec = strdup(col_text(st, 0) ? col_text(st, 0) : "")) == NULL)
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "no experiment named '%s'", name);
	} else {
		rc = db_fail(q->aux, err, "experiments");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

static int sq_exp_list(void *impl, char ***specs, size_t *n, seg_error *err)
{
	sq_store *q = impl;
	*specs = NULL;
	*n = 0;
	pthread_mutex_lock(&q->mu);
	sqlite3_stmt *st = NULL;
	char **list = NULL;
	size_t count = 0, cap = 0;
	int rc = 0, step;
	if (sqlite3_prepare_v2(q->aux, "SELECT spec FROM experiments ORDER BY created_ms, name", -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = db_fail(q->aux, err, "experiments");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			char **grown = realloc(list, ncap * sizeof *grown);
			if (grown == NULL) {
				rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
				goto out;
			}
			list = grown;
			cap = ncap;
		}
		if ((list[count] = strdup(col_text(st, 0) ? col_text(st, 0) : "")) == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		count++;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(q->aux, err, "experiments");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mu);
	if (rc < 0) {
		for (size_t i = 0; i < count; i++)
			free(list[i]);
		free(list);
		return rc;
	}
	*specs = list;
	*n = count;
	return 0;
}

const evstore_ops evstore__sqlite_ops = {
	.kind = "sqlite",
	.commit = sq_commit,
	.count = sq_count,
	.scan = sq_scan,
	.exp_put = sq_exp_put,
	.exp_get = sq_exp_get,
	.exp_list = sq_exp_list,
	.close = sq_close,
};
