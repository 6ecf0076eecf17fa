/* search_load.c: a new catalogue's search index, built beside the load (see
 * search_load.h). Rows travel to the thread in chunks of packed records;
 * the thread indexes them in one transaction of a private temporary
 * database ("" as its file name: SQLite removes it on close). Nothing here
 * reads the catalogue: it is being written by another connection. */
#include "catalog/search_load.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* A record: rowid (8 bytes, native order), a flags byte (REC_NAME,
 * REC_ARTISTS: which strings are not NULL), then name and artists, each
 * NUL-terminated (empty when NULL). */
enum { REC_NAME = 1, REC_ARTISTS = 2 };
#define CHUNK_BYTES (256 * 1024)

typedef struct chunk {
	struct chunk *next;
	size_t len, cap; /* bytes of data used, allocated */
	char data[];
} chunk;

/* The FTS5 tables of track_search, copied whole by search_load_finish. */
static const char *const SHADOW[] = {"data", "idx", "content", "docsize", "config"};

struct search_load {
	pthread_t thread;
	int started;          /* the thread runs (joined by finish or free) */
	pthread_mutex_t mu;   /* guards head, tail, done, stop, rc */
	pthread_cond_t cv;    /* signalled when a chunk is queued, or done/stop set */
	chunk *head, *tail;   /* chunks handed and not yet indexed, oldest first */
	int done, stop;       /* no more rows / drop everything */
	chunk *cur;           /* the chunk being filled by search_load_put */
	sqlite3 *db;          /* the private database; the thread's until joined */
	sqlite3_stmt *insert; /* INSERT INTO track_search(rowid, name, artists) */
	char *create_sql;
	char analyze[512]; /* search_load_analyze_sql, filled by the thread's close_private */
	int rc;            /* the thread's error, or 0 */
	seg_error err;     /* its detail */
};

static int fail_db(search_load *s, const char *what)
{
	return seg_error_set(&s->err, SEG_EDB, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
}

/* Opens the private database, creates the table and starts the transaction. */
static int open_private(search_load *s)
{
	if (sqlite3_open_v2("", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return fail_db(s, "cannot open a temporary database for the search index");
	if (sqlite3_exec(s->db,
	                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;"
	                 " PRAGMA temp_store=MEMORY",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, s->create_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "INSERT INTO track_search(rowid, name, artists) VALUES(?1, ?2, ?3)", -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->insert, NULL) != SQLITE_OK)
		return fail_db(s, "cannot build the search index");
	return 0;
}

static int index_chunk(search_load *s, const chunk *k)
{
	size_t at = 0;
	while (at < k->len) {
		int64_t rowid;
		memcpy(&rowid, k->data + at, sizeof rowid);
		unsigned char flags = (unsigned char)k->data[at + sizeof rowid];
		const char *name = k->data + at + sizeof rowid + 1;
		size_t nlen = strlen(name);
		const char *artists = name + nlen + 1;
		size_t alen = strlen(artists);
		at += sizeof rowid + 1 + nlen + 1 + alen + 1;
		sqlite3_bind_int64(s->insert, 1, rowid);
		if (flags & REC_NAME)
			sqlite3_bind_text(s->insert, 2, name, (int)nlen, SQLITE_STATIC);
		else
			sqlite3_bind_null(s->insert, 2);
		if (flags & REC_ARTISTS)
			sqlite3_bind_text(s->insert, 3, artists, (int)alen, SQLITE_STATIC);
		else
			sqlite3_bind_null(s->insert, 3);
		int rc = sqlite3_step(s->insert);
		sqlite3_reset(s->insert);
		if (rc != SQLITE_DONE)
			return fail_db(s, "cannot index track");
	}
	return 0;
}

/* Once every row is indexed: commits, which flushes FTS5's pending terms.
 * PRAGMA optimize then analyzes the FTS5 tables that FTS5's own statements
 * used (which depends on how its segments were merged), as it would have
 * on the connection that built the index in the catalogue: the caller
 * analyzes the same tables there (search_load_analyze_sql). */
static int close_private(search_load *s)
{
	sqlite3_finalize(s->insert);
	s->insert = NULL;
	if (sqlite3_exec(s->db, "COMMIT; PRAGMA optimize", NULL, NULL, NULL) != SQLITE_OK)
		return fail_db(s, "cannot build the search index");
	sqlite3_stmt *q = NULL;
	size_t len = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT tbl FROM main.sqlite_stat1 ORDER BY tbl", -1, &q, NULL) ==
	    SQLITE_OK)
		while (sqlite3_step(q) == SQLITE_ROW && len < sizeof s->analyze) {
			const char *t = (const char *)sqlite3_column_text(q, 0);
			/* FTS5's tables are named as the schema names them: no quote */
			if (t != NULL && strchr(t, '"') == NULL)
				len += (size_t)snprintf(s->analyze + len, sizeof s->analyze - len, "ANALYZE \"%s\";",
				                        t);
		}
	sqlite3_finalize(q);
	if (len >= sizeof s->analyze)
		return seg_error_set(&s->err, SEG_EDB, "too many statistics of the search index");
	return 0;
}

static void *load_main(void *arg)
{
	search_load *s = arg;
	int rc = open_private(s);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->head == NULL && !s->done && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		chunk *k = NULL;
		if (!s->stop) { /* stopped: search_load_free frees what is queued */
			k = s->head;
			s->head = s->tail = NULL;
		}
		if (rc < 0)
			s->rc = rc;
		pthread_mutex_unlock(&s->mu);
		if (k == NULL)
			break; /* done (or stopped) and nothing left */
		while (k != NULL) {
			chunk *next = k->next;
			if (rc == 0)
				rc = index_chunk(s, k);
			free(k);
			k = next;
		}
	}
	pthread_mutex_lock(&s->mu);
	int stopped = s->stop;
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && !stopped)
		rc = close_private(s);
	pthread_mutex_lock(&s->mu);
	if (rc < 0)
		s->rc = rc;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int search_load_start(search_load **out, const char *create_sql, seg_error *err)
{
	*out = NULL;
	search_load *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->create_sql = strdup(create_sql)) == NULL) {
		free(s);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, load_main, s) != 0) {
		search_load_free(s);
		return seg_error_set(err, SEG_ENOMEM, "cannot start the search index's thread");
	}
	s->started = 1;
	*out = s;
	return 0;
}

/* Queues s->cur for the thread; returns the thread's error, if any. */
static int hand_over(search_load *s, seg_error *err)
{
	pthread_mutex_lock(&s->mu);
	if (s->cur != NULL) {
		if (s->tail != NULL)
			s->tail->next = s->cur;
		else
			s->head = s->cur;
		s->tail = s->cur;
		s->cur = NULL;
		pthread_cond_signal(&s->cv);
	}
	int rc = s->rc;
	if (rc < 0 && err != NULL)
		*err = s->err;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int search_load_put(search_load *s, int64_t rowid, const char *name, const char *artists, seg_error *err)
{
	size_t nlen = name ? strlen(name) : 0, alen = artists ? strlen(artists) : 0;
	size_t need = sizeof rowid + 1 + nlen + 1 + alen + 1;
	int rc;
	if (s->cur != NULL && s->cur->len + need > s->cur->cap && (rc = hand_over(s, err)) < 0)
		return rc;
	if (s->cur == NULL) {
		size_t cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;
		if ((s->cur = malloc(sizeof(chunk) + cap)) == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		s->cur->next = NULL;
		s->cur->len = 0;
		s->cur->cap = cap;
	}
	char *p = s->cur->data + s->cur->len;
	memcpy(p, &rowid, sizeof rowid);
	p[sizeof rowid] = (char)((name ? REC_NAME : 0) | (artists ? REC_ARTISTS : 0));
	p += sizeof rowid + 1;
	if (nlen)
		memcpy(p, name, nlen);
	p[nlen] = '\0';
	p += nlen + 1;
	if (alen)
		memcpy(p, artists, alen);
	p[alen] = '\0';
	s->cur->len += need;
	return 0;
}

/* Tells the thread that no more rows come: index what is queued, or, with
 * `drop`, nothing more. */
static void tell_end(search_load *s, int drop)
{
	pthread_mutex_lock(&s->mu);
	s->done = 1;
	s->stop |= drop;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int search_load_end(search_load *s, seg_error *err)
{
	int rc = hand_over(s, err);
	tell_end(s, 0);
	return rc;
}

/* Stops the thread (see tell_end) and waits for it. */
static void join(search_load *s, int drop)
{
	if (!s->started)
		return;
	tell_end(s, drop);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

int search_load_finish(search_load *s, const char *db_path, seg_error *err)
{
	int rc = hand_over(s, err);
	join(s, rc < 0);
	if (rc < 0 || (rc = s->rc) < 0) {
		if (err != NULL)
			*err = s->err;
		return rc;
	}
	/* The catalogue's file is written as its load connection writes it (no
	 * journal, no syncs: it is synced once before it is renamed into
	 * place), and no page before the commit (cache_spill off), so that
	 * readers of the committed tables are not locked out mid-read; the
	 * commit waits for them. */
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "ATTACH ?1 AS cat", -1, &q, NULL) != SQLITE_OK) {
		rc = fail_db(s, "cannot build the search index");
		goto out;
	}
	sqlite3_bind_text(q, 1, db_path, -1, SQLITE_STATIC);
	int step = sqlite3_step(q);
	sqlite3_finalize(q);
	sqlite3_busy_timeout(s->db, 600000);
	if (step != SQLITE_DONE ||
	    sqlite3_exec(s->db,
	                 "PRAGMA cat.journal_mode=OFF; PRAGMA cat.synchronous=OFF; PRAGMA cat.cache_size=-65536;"
	                 " PRAGMA cache_spill=OFF; BEGIN IMMEDIATE",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		rc = fail_db(s, "cannot open the catalogue for its search index");
		goto out;
	}
	for (size_t i = 0; i < sizeof SHADOW / sizeof SHADOW[0]; i++) {
		char sql[192];
		snprintf(sql, sizeof sql,
		         "DELETE FROM cat.track_search_%s; INSERT INTO cat.track_search_%s SELECT * FROM "
		         "main.track_search_%s",
		         SHADOW[i], SHADOW[i], SHADOW[i]);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = fail_db(s, "cannot store the search index");
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = fail_db(s, "cannot store the search index");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
out:
	if (rc < 0 && err != NULL)
		*err = s->err;
	return rc;
}

void search_load_free(search_load *s)
{
	if (s == NULL)
		return;
	join(s, 1);
	chunk *k = s->head;
	while (k != NULL) {
		chunk *next = k->next;
		free(k);
		k = next;
	}
	free(s->cur);
	sqlite3_finalize(s->insert);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->create_sql);
	free(s);
}

const char *search_load_analyze_sql(const search_load *s) { return s->analyze; }
