/* query.h: `segue sql`: read-only SQL over the catalogue, printed as an
 * aligned table, CSV or JSON. A statement that would write is refused before
 * it runs. It does not know the schema. */
#ifndef SEGUE_QUERY_H
#define SEGUE_QUERY_H

#include <sqlite3.h>
#include <stdio.h>

#include "core/error.h"

enum query_format { QUERY_TABLE, QUERY_CSV, QUERY_JSON };

/* Parses "table", "csv" or "json"; returns -1 for anything else. */
int query_format_parse(const char *s);

/* Runs every statement in `sql` against `db` (which the caller should have
 * opened read-only) and prints each result to `out`. A statement that is not
 * read-only gets SEG_EREADONLY before it runs; a syntax error gets SEG_EINVAL
 * with SQLite's message. *rows receives the rows printed (may be NULL). */
int query_run(sqlite3 *db, const char *sql, enum query_format fmt, FILE *out, long *rows, seg_error *err);

/* Opens `path` read-only for query_run and lookups (query_only is set as a
 * second guard). The connection is for one thread at a time (no SQLite
 * mutexes) and reads the file through a memory map, which processes and
 * connections share. */
int query_open(const char *path, sqlite3 **db, seg_error *err);

/* Finalises the statements lookup keeps prepared on db (lookup_forget),
 * then closes it. NULL is a no-op. */
void query_close(sqlite3 *db);

#endif
