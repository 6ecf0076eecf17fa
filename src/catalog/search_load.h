/* search_load.h: a new catalogue's full-text index (track_search), built on a
 * thread of its own while the catalogue fills, from the rows ingest hands it
 * in rowid order, into a private temporary database, and copied into the
 * catalogue's FTS5 tables when the catalogue is committed. The same table
 * definition given the same rows in the same order in one transaction makes
 * the same index (the same rows in every FTS5 table) as one INSERT ... SELECT
 * in the catalogue would. It does not decide whether the rows it was handed
 * are still the catalogue's: that is catalog.c's (a row merged later may
 * change a track's name or artists; then this index is dropped).
 *
 * Not thread-safe: one thread hands rows and finishes; the build runs on the
 * loader's own thread, over a connection of its own. */
#ifndef SEGUE_SEARCH_LOAD_H
#define SEGUE_SEARCH_LOAD_H

#include <stdint.h>

#include "core/error.h"

typedef struct search_load search_load;

/* Starts the loader and its thread: `create_sql` is the catalogue's
 * "CREATE VIRTUAL TABLE track_search USING fts5(...)" (its sqlite_schema
 * SQL), which the private database is given. On error *out is NULL. */
int search_load_start(search_load **out, const char *create_sql, seg_error *err);

/* Hands the search row of track `rowid` (larger than any handed before):
 * its name and its artists as the index stores them (NULL for SQL NULL).
 * The strings are copied. Returns 0, SEG_ENOMEM, or the error that stopped
 * the build (which puts it in err). */
int search_load_put(search_load *s, int64_t rowid, const char *name, const char *artists, seg_error *err);

/* Tells the loader that no more rows come (nothing may be handed after
 * this): its thread indexes what is queued and commits the private
 * database, while the caller goes on. Optional: search_load_finish does
 * the same when it was not called. Returns 0, or the error that stopped
 * the build (which puts it in err). */
int search_load_end(search_load *s, seg_error *err);

/* Waits for every handed row to be indexed, then replaces the rows of the
 * FTS5 tables of track_search in the database file `db_path` by the
 * loader's, in one transaction on the loader's connection (waiting, up to
 * ten minutes, for readers of the file to finish). The file's track_search
 * must have the same definition and must not be open for writing by
 * another connection. Returns 0 or SEG_EDB; the loader is spent either way
 * (search_load_free it). */
int search_load_finish(search_load *s, const char *db_path, seg_error *err);

/* After a search_load_finish that returned 0: the SQL ("ANALYZE ...;" for
 * each table, or "") that gives the catalogue the statistics of its FTS5
 * tables that a PRAGMA optimize would have gathered on a connection that
 * built the index itself (which depends on how FTS5 merged its segments).
 * It is the caller's to run, on its connection: statistics written by the
 * loader's would change the catalogue's schema under it, and a connection
 * that reads its schema again forgets what PRAGMA optimize is to analyze.
 * Owned by s. */
const char *search_load_analyze_sql(const search_load *s);

/* Stops the thread (dropping what it built) and frees the loader; NULL is
 * a no-op. */
void search_load_free(search_load *s);

#endif
