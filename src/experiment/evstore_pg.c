/* evstore_pg.c: the event store in PostgreSQL through libpq (part of
 * evstore; see evstore.h and evstore_internal.h), for several replicas
 * writing one store. The same schema and guarantees as the SQLite file: a
 * writer connection used only by the group's leader (one transaction per
 * group, a savepoint per batch, one multi-row INSERT ... ON CONFLICT DO
 * NOTHING per batch, synchronous_commit on so that COMMIT returns once the
 * WAL is flushed); an auxiliary connection, behind a mutex, for counts and
 * experiments; and a connection per scan reading through a server-side
 * cursor, so that ten million events never sit in memory at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "experiment/evstore_internal.h"

#define NCOLS 13          /* the columns an INSERT writes (all but seq) */
#define NUM_CAP 24        /* room for one int64 in decimal */
#define SCAN_FETCH 5000   /* rows per FETCH of a scan */
#define SCHEMA_LOCK 72635 /* advisory lock id: two replicas creating the schema at once take turns */

typedef struct pg_store {
	char *conninfo;
	PGconn *w;   /* the writer: group commits only */
	PGconn *aux; /* counts and experiments, under mu */
	pthread_mutex_t mu;
	/* The writer's scratch for one batch's INSERT. */
	strbuf sql;               /* the statement */
	strbuf lists;             /* impressions' tracks and teams texts, NUL-separated */
	size_t *list_off;         /* [2 * EV_MAX_BATCH] offsets into lists, or SIZE_MAX for NULL */
	char (*nums)[4][NUM_CAP]; /* [EV_MAX_BATCH] type, position, client_ms, server_ms */
	const char **vals;        /* [NCOLS * EV_MAX_BATCH] parameters */
} pg_store;

/* Quiet: CREATE ... IF NOT EXISTS reports "already exists" as a notice. */
static void no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* SEG_EDB with PostgreSQL's message (r's, else the connection's). */
static int pg_fail(PGconn *c, PGresult *r, seg_error *err, const char *what)
{
	const char *m = r ? PQresultErrorMessage(r) : NULL;
	if (m == NULL || m[0] == '\0')
		m = c ? PQerrorMessage(c) : "out of memory";
	size_t n = strlen(m);
	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	return seg_error_set(err, SEG_EDB, "event store: %s: %.*s", what, (int)n, m);
}

/* Runs sql (no parameters) and checks it succeeded. */
static int pg_run(PGconn *c, const char *sql, seg_error *err, const char *what)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	int rc = ok ? 0 : pg_fail(c, r, err, what);
	PQclear(r);
	return rc;
}

static int pg_connect(const char *conninfo, PGconn **out, seg_error *err)
{
	PGconn *c = PQconnectdb(conninfo);
	*out = NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		int rc = pg_fail(c, NULL, err, "cannot connect");
		PQfinish(c);
		return rc;
	}
	PQsetNoticeProcessor(c, no_notice, NULL);
	/* Durable commits even where the database's default says otherwise. */
	int rc = pg_run(c, "SET synchronous_commit TO on", err, "settings");
	if (rc < 0) {
		PQfinish(c);
		return rc;
	}
	*out = c;
	return 0;
}

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value text NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events("
	" seq bigserial PRIMARY KEY,"
	" event_id text COLLATE \"C\" NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 64),"
	" type smallint NOT NULL CHECK (type BETWEEN 0 AND 5),"
	/* Byte order, as SQLite sorts: the scan's order is the same on both. */
	" user_id text COLLATE \"C\" NOT NULL CHECK (length(user_id) BETWEEN 1 AND 64),"
	" request_id text COLLATE \"C\", track text, position integer,"
	" client_ms bigint NOT NULL, server_ms bigint NOT NULL,"
	" experiment text, variant text, model text, tracks text, teams text);"
	"CREATE INDEX IF NOT EXISTS events_user ON events(user_id, seq);"
	"CREATE INDEX IF NOT EXISTS events_experiment ON events(experiment) WHERE type = 0;"
	"CREATE INDEX IF NOT EXISTS events_request ON events(request_id);"
	"CREATE TABLE IF NOT EXISTS experiments(name text PRIMARY KEY, spec text NOT NULL,"
	" state text NOT NULL, created_ms bigint NOT NULL);";

static int pg_schema(PGconn *c, seg_error *err)
{
	char sql[160];
	int rc = pg_run(c, "BEGIN", err, "begin");
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)", SCHEMA_LOCK);
	if ((rc = pg_run(c, sql, err, "schema lock")) < 0 ||
	    (rc = pg_run(c, schema_sql, err, "creating the schema")) < 0)
		goto out;
	PGresult *r = PQexec(c, "SELECT value FROM meta WHERE key = 'schema_version'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_fail(c, r, err, "reading the schema version");
	} else if (PQntuples(r) > 0) {
		int v = atoi(PQgetvalue(r, 0, 0));
		if (v != EVSTORE_SCHEMA_VERSION)
			rc = seg_error_set(err, SEG_EVERSION,
			                   "event store %s has schema version %d; this segue reads version %d", PQdb(c),
			                   v, EVSTORE_SCHEMA_VERSION);
	} else {
		snprintf(sql, sizeof sql, "INSERT INTO meta VALUES('schema_version', '%d')", EVSTORE_SCHEMA_VERSION);
		rc = pg_run(c, sql, err, "writing the schema version");
	}
	PQclear(r);
out:
	if (rc < 0) {
		pg_run(c, "ROLLBACK", NULL, "rollback");
		return rc;
	}
	return pg_run(c, "COMMIT", err, "commit");
}

static void pgs_close(void *impl)
{
	pg_store *p = impl;
	if (p == NULL)
		return;
	PQfinish(p->w);
	PQfinish(p->aux);
	pthread_mutex_destroy(&p->mu);
	strbuf_free(&p->sql);
	strbuf_free(&p->lists);
	free(p->list_off);
	free(p->nums);
	free(p->vals);
	free(p->conninfo);
	free(p);
}

int evstore__pg_open(const char *conninfo, void **impl, seg_error *err)
{
	*impl = NULL;
	pg_store *p = calloc(1, sizeof *p);
	if (p == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	pthread_mutex_init(&p->mu, NULL);
	p->conninfo = strdup(conninfo);
	p->list_off = calloc(2 * EV_MAX_BATCH, sizeof *p->list_off);
	p->nums = calloc(EV_MAX_BATCH, sizeof *p->nums);
	p->vals = calloc((size_t)NCOLS * EV_MAX_BATCH, sizeof *p->vals);
	int rc = 0;
	if (p->conninfo == NULL || p->list_off == NULL || p->nums == NULL || p->vals == NULL)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	if (rc == 0)
		rc = pg_connect(conninfo, &p->w, err);
	if (rc == 0)
		rc = pg_schema(p->w, err);
	if (rc == 0)
		rc = pg_connect(conninfo, &p->aux, err);
	if (rc < 0) {
		pgs_close(p);
		return rc;
	}
	*impl = p;
	return 0;
}

/* ---- appends ------------------------------------------------------------ */

static const char *text_or_null(const char *s) { return s[0] ? s : NULL; }

/* Appends s to an array literal as a quoted element. */
static void array_elem(strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *s);
	}
	strbuf_putc(sb, '"');
}

/* Fills seq and server_ms of the batch's events that were stored already
 * (seq still 0 after the INSERT): a retry reports the stored ones. */
static int lookup_stored(pg_store *p, evstore_item *it)
{
	strbuf *sb = &p->sql;
	strbuf_reset(sb);
	strbuf_putc(sb, '{');
	int any = 0;
	for (size_t i = 0; i < it->n; i++)
		if (it->ev[i].seq == 0) {
			if (any++)
				strbuf_putc(sb, ',');
			array_elem(sb, it->ev[i].event_id);
		}
	strbuf_putc(sb, '}');
	if (!any)
		return 0;
	if (sb->oom)
		return seg_error_set(&it->err, SEG_ENOMEM, "out of memory");
	const char *param = strbuf_cstr(sb);
	PGresult *r = PQexecParams(p->w, "SELECT event_id, seq, server_ms FROM events WHERE event_id = ANY($1::text[])",
	                           1, NULL, &param, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = pg_fail(p->w, r, &it->err, "looking up stored events");
		PQclear(r);
		return rc;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		const char *id = PQgetvalue(r, row, 0);
		for (size_t i = 0; i < it->n; i++)
			if (it->ev[i].seq == 0 && strcmp(it->ev[i].event_id, id) == 0) {
				it->ev[i].seq = strtoll(PQgetvalue(r, row, 1), NULL, 10);
				it->ev[i].server_ms = strtoll(PQgetvalue(r, row, 2), NULL, 10);
			}
	}
	PQclear(r);
	return 0;
}

/* Inserts one batch with one statement; the caller wraps it in a savepoint. */
static int pg_insert_batch(pg_store *p, evstore_item *it)
{
	size_t n = it->n;
	strbuf *sb = &p->sql;
	strbuf_reset(sb);
	strbuf_reset(&p->lists);
	strbuf_puts(sb, "INSERT INTO events(event_id, type, user_id, request_id, track, position, client_ms,"
	                " server_ms, experiment, variant, model, tracks, teams) VALUES");
	strbuf tracks = {0}, teams = {0};
	for (size_t i = 0; i < n; i++) {
		ev_event *e = &it->ev[i];
		strbuf_puts(sb, i ? ",(" : "(");
		for (int c = 0; c < NCOLS; c++)
			strbuf_printf(sb, c ? ",$%zu" : "$%zu", i * NCOLS + (size_t)c + 1);
		strbuf_putc(sb, ')');
		/* Impressions' lists: stored in one buffer, pointed to once it
		 * has stopped growing. */
		p->list_off[2 * i] = p->list_off[2 * i + 1] = SIZE_MAX;
		if (e->ntracks > 0) {
			evstore__tracks_text(e, &tracks, &teams);
			p->list_off[2 * i] = p->lists.len;
			strbuf_append(&p->lists, strbuf_cstr(&tracks), tracks.len + 1);
			if (teams.len > 0) {
				p->list_off[2 * i + 1] = p->lists.len;
				strbuf_append(&p->lists, strbuf_cstr(&teams), teams.len + 1);
			}
		}
		snprintf(p->nums[i][0], NUM_CAP, "%d", e->type);
		snprintf(p->nums[i][1], NUM_CAP, "%d", (int)e->position);
		snprintf(p->nums[i][2], NUM_CAP, "%lld", (long long)e->client_ms);
		snprintf(p->nums[i][3], NUM_CAP, "%lld", (long long)e->server_ms);
		const char **v = &p->vals[i * NCOLS];
		v[0] = e->event_id;
		v[1] = p->nums[i][0];
		v[2] = e->user;
		v[3] = text_or_null(e->request);
		v[4] = text_or_null(e->track);
		v[5] = e->position >= 0 ? p->nums[i][1] : NULL;
		v[6] = p->nums[i][2];
		v[7] = p->nums[i][3];
		v[8] = text_or_null(e->experiment);
		v[9] = text_or_null(e->variant);
		v[10] = text_or_null(e->model);
	}
	strbuf_free(&tracks);
	strbuf_free(&teams);
	strbuf_puts(sb, " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, seq");
	if (sb->oom || p->lists.oom)
		return seg_error_set(&it->err, SEG_ENOMEM, "out of memory for a batch's statement");
	for (size_t i = 0; i < n; i++) {
		size_t t = p->list_off[2 * i], m = p->list_off[2 * i + 1];
		p->vals[i * NCOLS + 11] = t == SIZE_MAX ? NULL : p->lists.data + t;
		p->vals[i * NCOLS + 12] = m == SIZE_MAX ? NULL : p->lists.data + m;
	}
	PGresult *r = PQexecParams(p->w, strbuf_cstr(sb), (int)(n * NCOLS), NULL, p->vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = pg_fail(p->w, r, &it->err, "storing a batch");
		PQclear(r);
		return rc;
	}
	/* The rows come back in the order of VALUES, less the conflicts: a
	 * cursor over the batch finds each one, with a full search as the
	 * fallback should the order ever differ. */
	size_t j = 0;
	it->added = 0;
	for (int row = 0; row < PQntuples(r); row++) {
		const char *id = PQgetvalue(r, row, 0);
		while (j < n && strcmp(it->ev[j].event_id, id) != 0)
			j++;
		if (j == n)
			for (j = 0; j < n && strcmp(it->ev[j].event_id, id) != 0; j++)
				;
		if (j < n) {
			it->ev[j].seq = strtoll(PQgetvalue(r, row, 1), NULL, 10);
			it->added++;
		}
	}
	PQclear(r);
	return it->added < n ? lookup_stored(p, it) : 0;
}

static void fail_batch(evstore_item *it, int rc, const seg_error *why)
{
	it->rc = rc;
	if (why != NULL)
		it->err = *why;
	it->added = 0;
	for (size_t i = 0; i < it->n; i++)
		it->ev[i].seq = 0;
}

static int pgs_commit(void *impl, evstore_item *group)
{
	pg_store *p = impl;
	seg_error err = {0};
	int rc;
	/* A connection lost by an earlier group is made again here. */
	if (PQstatus(p->w) != CONNECTION_OK) {
		PQreset(p->w);
		if (PQstatus(p->w) == CONNECTION_OK)
			pg_run(p->w, "SET synchronous_commit TO on", NULL, "settings");
	}
	if ((rc = pg_run(p->w, "BEGIN", &err, "begin")) < 0)
		goto fail_all;
	for (evstore_item *it = group; it != NULL; it = it->next) {
		if ((rc = pg_run(p->w, "SAVEPOINT batch", &err, "savepoint")) < 0)
			goto rollback;
		int brc = pg_insert_batch(p, it);
		if (brc == 0) {
			it->rc = 0;
			if ((rc = pg_run(p->w, "RELEASE SAVEPOINT batch", &err, "release")) < 0)
				goto rollback;
			continue;
		}
		fail_batch(it, brc, NULL);
		if ((rc = pg_run(p->w, "ROLLBACK TO SAVEPOINT batch", &err, "rollback to savepoint")) < 0 ||
		    (rc = pg_run(p->w, "RELEASE SAVEPOINT batch", &err, "release")) < 0)
			goto rollback;
	}
	/* COMMIT returns once the WAL is flushed (synchronous_commit on). */
	if ((rc = pg_run(p->w, "COMMIT", &err, "commit")) == 0)
		return 0;
rollback:
	pg_run(p->w, "ROLLBACK", NULL, "rollback");
fail_all:
	for (evstore_item *it = group; it != NULL; it = it->next)
		if (it->rc == 0)
			fail_batch(it, rc, &err);
	return rc;
}

/* ---- reads --------------------------------------------------------------- */

static int pgs_count(void *impl, int64_t *n, seg_error *err)
{
	pg_store *p = impl;
	pthread_mutex_lock(&p->mu);
	PGresult *r = PQexec(p->aux, "SELECT count(*) FROM events");
	int rc = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		rc = pg_fail(p->aux, r, err, "count");
	else
		*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static const char *cell(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t cell_int(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int pgs_scan(void *impl, const char *name, evstore_scan_fn fn, void *ctx, seg_error *err)
{
	pg_store *p = impl;
	PGconn *c = NULL;
	PGresult *r = NULL;
	evstore_row row;
	if (evstore__row_init(&row) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int rc = pg_connect(p->conninfo, &c, err);
	if (rc < 0)
		goto out;
	/* One snapshot for the whole scan, read through a cursor. */
	if ((rc = pg_run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, "scan")) < 0)
		goto out;
	r = PQexecParams(c,
	                 "DECLARE scan NO SCROLL CURSOR FOR SELECT " EVSTORE_COLUMNS " FROM events WHERE user_id IN"
	                 " (SELECT user_id FROM events WHERE type = 0 AND experiment = $1)"
	                 " ORDER BY user_id, seq",
	                 1, NULL, &name, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = pg_fail(c, r, err, "scan");
		goto out;
	}
	for (;;) {
		PQclear(r);
		char fetch[64];
		snprintf(fetch, sizeof fetch, "FETCH %d FROM scan", SCAN_FETCH);
		r = PQexec(c, fetch);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = pg_fail(c, r, err, "scan");
			goto out;
		}
		int rows = PQntuples(r);
		for (int i = 0; i < rows; i++) {
			evstore__row_fill(&row, cell_int(r, i, 0), cell(r, i, 1), (int)cell_int(r, i, 2), cell(r, i, 3),
			                  cell(r, i, 4), cell(r, i, 5), !PQgetisnull(r, i, 6), cell_int(r, i, 6),
			                  cell_int(r, i, 7), cell_int(r, i, 8), cell(r, i, 9), cell(r, i, 10),
			                  cell(r, i, 11), cell(r, i, 12), cell(r, i, 13));
			if ((rc = fn(ctx, &row.ev)) != 0)
				goto out;
		}
		if (rows < SCAN_FETCH)
			break;
	}
out:
	PQclear(r);
	PQfinish(c); /* ends the read-only transaction with the connection */
	evstore__row_free(&row);
	return rc;
}

/* ---- experiments --------------------------------------------------------- */

static int pgs_exp_put(void *impl, int create, const char *name, const char *spec, const char *state,
                       int64_t created_ms, seg_error *err)
{
	pg_store *p = impl;
	char created[NUM_CAP];
	snprintf(created, sizeof created, "%lld", (long long)created_ms);
	const char *params[4] = {name, spec, state, created};
	pthread_mutex_lock(&p->mu);
	PGresult *r =
		PQexecParams(p->aux,
	                     create ? "INSERT INTO experiments(name, spec, state, created_ms)"
	                              " VALUES($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING"
	                            : "UPDATE experiments SET spec = $2, state = $3, created_ms = $4 WHERE name = $1",
	                     4, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(p->aux, r, err, "experiments");
	else if (strcmp(PQcmdTuples(r), "0") == 0)
		rc = create ? seg_error_set(err, SEG_EINVAL, "experiment '%s' already exists", name)
		            : seg_error_set(err, SEG_ENOTFOUND, "no experiment named '%s'", name);
	PQclear(r);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int pgs_exp_get(void *impl, const char *name, char **spec, seg_error *err)
{
	pg_store *p = impl;
	*spec = NULL;
	pthread_mutex_lock(&p->mu);
	PGresult *r =
		PQexecParams(p->aux, "SELECT spec FROM experiments WHERE name = $1", 1, NULL, &name, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(p->aux, r, err, "experiments");
	else if (PQntuples(r) == 0)
		rc = seg_error_set(err, SEG_ENOTFOUND, "no experiment named '%s'", name);
	else if ((*spec = strdup(PQgetvalue(r, 0, 0))) == NULL)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	PQclear(r);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int pgs_exp_list(void *impl, char ***specs, size_t *n, seg_error *err)
{
	pg_store *p = impl;
	*specs = NULL;
	*n = 0;
	pthread_mutex_lock(&p->mu);
	PGresult *r = PQexec(p->aux, "SELECT spec FROM experiments ORDER BY created_ms, name");
	int rc = 0;
	char **list = NULL;
	size_t rows = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_fail(p->aux, r, err, "experiments");
		goto out;
	}
	rows = (size_t)PQntuples(r);
	if (rows > 0 && (list = calloc(rows, sizeof *list)) == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rows; i++)
		if ((list[i] = strdup(PQgetvalue(r, (int)i, 0))) == NULL)
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
out:
	PQclear(r);
	pthread_mutex_unlock(&p->mu);
	if (rc < 0) {
		for (size_t i = 0; list != NULL && i < rows; i++)
			free(list[i]);
		free(list);
		return rc;
	}
	*specs = list;
	*n = rows;
	return 0;
}

const evstore_ops evstore__pg_ops = {
	.kind = "postgresql",
	.commit = pgs_commit,
	.count = pgs_count,
	.scan = pgs_scan,
	.exp_put = pgs_exp_put,
	.exp_get = pgs_exp_get,
	.exp_list = pgs_exp_list,
	.close = pgs_close,
};
