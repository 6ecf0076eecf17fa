/* query.h: `segue sql`: read-only SQL over the catalogue, printed as an
 * aligned table, CSV or JSON. A statement that would write is refused before
 * it runs. It does not know the schema. */
#ifndef SEGUE_QUERY_H
#define SEGUE_QUERY_H

#include <sqlite3.h>
#include <stdio.h>

#include "error.h"

enum query_format { QUERY_TABLE, QUERY_CSV, QUERY_JSON };

/* Parses "table", "csv" or "json"; returns -1 for anything else. */
int query_format_parse(const char *s);

/* Runs every statement in `sql` against `db` (which the caller should have
 * opened read-only) and prints each result to `out`. A statement that is not
 * read-only gets SEG_EREADONLY before it runs; a syntax error gets SEG_EINVAL
 * with SQLite's message. *rows receives the rows printed (may be NULL). */
int query_run(sqlite3 *db, const char *sql, enum query_format fmt, FILE *out, long *rows, seg_error *err);

/* Opens `path` read-only for query_run (query_only is set as a second guard). */
int query_open(const char *path, sqlite3 **db, seg_error *err);

#endif
