/* catalog.h: the workspace's SQLite catalogue (schema in catalog_schema.sql.h):
 * opening it, and the write session that ingest uses to merge tracks, artists,
 * genres, playlists and rejects. Reading for analysis is plain SQL (query.c,
 * eda.c); this module does not parse input files. */
#ifndef SEGUE_CATALOG_H
#define SEGUE_CATALOG_H

#include <stdint.h>
#include <sqlite3.h>

#include "core/error.h"
#include "ingest/track.h"

#define CATALOG_DB_NAME "catalog.db"
#define CATALOG_SNAPSHOT_NAME "features.snap"

typedef struct catalog catalog;

/* Resolves the workspace directory: `dir` if given, else $SEGUE_HOME, else
 * "./segue-data". Writes into buf (cap bytes) and returns buf. */
const char *catalog_workspace(const char *dir, char *buf, size_t cap);

/* Opens the catalogue of `workspace`. With `writable` (1) the directory and
 * the database are created as needed and the schema is applied; without it
 * (0) the database is opened read-only and must exist (SEG_ENOTFOUND
 * otherwise, with a hint to run `segue ingest`).
 *
 * writable = CATALOG_OPEN_LOAD is writable for one write session that loads
 * files (ingest): where the workspace has no catalogue yet, it is built in a
 * temporary of its own beside it, CATALOG_DB_NAME ".tmp.XXXXXX" (the
 * workspace's leftover cleaning knows the name), with no rollback journal
 * and no syncs while it fills, then fsynced and renamed into place by
 * catalog_commit; closed without a commit, or after a crash, it leaves no
 * catalogue (the temporary is removed by close, or by the cleaning). An
 * existing catalogue is written as with writable = 1. */
#define CATALOG_OPEN_LOAD 2
int catalog_open(catalog **out, const char *workspace, int writable, seg_error *err);

/* Closes the catalogue, rolling back an open write session; NULL is a no-op.
 * A catalogue being built in a temporary and not committed is removed. */
void catalog_close(catalog *c);

/* What identifies the state of catalogue `db` for the files derived from
 * it (names, the EDA cache): the catalogue's random id (drawn when it is
 * created, so that a catalogue made again from scratch differs; 0 for one
 * made before segue drew it), its last ingest id, number of tracks and
 * largest track id, into stamp[CATALOG_STAMP]. Every change ingest makes
 * changes the second. Returns 0 or SEG_EDB. */
#define CATALOG_STAMP 4
int catalog_stamp(sqlite3 *db, int64_t stamp[CATALOG_STAMP], seg_error *err);

/* What every file derived from the catalogue records of where it came from
 * (the feature snapshot, the names file, a model), as the container section
 * CATALOG_ORIGIN_SECTION: the catalogue's state and the segue that wrote it.
 * A derived file is current when its catalogue state is the catalogue's now
 * (catalog_origin_same); the code version is there to be reported. 64 bytes. */
#define CATALOG_ORIGIN_SECTION "origin"
typedef struct catalog_origin {
	int64_t stamp[CATALOG_STAMP]; /* catalog_stamp() when the file was made */
	char code[32];                /* SEGUE_VERSION of the segue that made it, NUL-terminated */
} catalog_origin;

/* The origin a file made now from `db` records: catalog_stamp and this
 * build's version. Returns 0 or SEG_EDB. */
int catalog_origin_now(sqlite3 *db, catalog_origin *o, seg_error *err);
/* 1 when the two describe the same state of the same catalogue. */
int catalog_origin_same(const catalog_origin *a, const catalog_origin *b);

sqlite3 *catalog_db(const catalog *c);
const char *catalog_db_path(const catalog *c);
const char *catalog_dir(const catalog *c);

/* ---- the write session: everything between begin and commit is one SQLite
 * transaction, so an ingest either lands whole or not at all. ---- */

int catalog_begin(catalog *c, seg_error *err);
/* Writes what is queued, builds the full-text index of the tracks the
 * session catalogued or merged into, rebuilds any index begin dropped,
 * refreshes statistics and commits. */
int catalog_commit(catalog *c, seg_error *err);

/* What is derived from a committed catalogue (the feature snapshot, the
 * names file): `db` sees the committed catalogue and may only be read. */
typedef int (*catalog_after_fn)(sqlite3 *db, void *arg, seg_error *err);

/* catalog_commit, then after(db, arg, err) (NULL: nothing). For a catalogue
 * built in a temporary (CATALOG_OPEN_LOAD), the tables are committed first,
 * and `after` runs on a second thread over a read-only connection of its
 * own while this one builds the indexes and stores the search index in
 * further transactions (nothing `after` may read changes there: not
 * catalog_stamp, not the tables; `after` may not rely on an index's order). The catalogue is renamed into place once the index is
 * committed, whatever `after` returned; a failure before that leaves no
 * catalogue. `after` runs on a thread that does not hold the workspace lock:
 * the caller holds it for it. Otherwise `after` runs once the commit is
 * done, on this connection. Returns 0, the commit's error, or after's
 * (which then comes after a commit: the catalogue is written). *committed
 * (may be NULL) says whether the catalogue was written. */
int catalog_commit_then(catalog *c, catalog_after_fn after, void *arg, int *committed, seg_error *err);
void catalog_rollback(catalog *c);

/* Counts for one ingested file. */
typedef struct catalog_counts {
	long rows_read, rows_accepted, new_tracks, merged, rows_rejected, values_dropped;
	long playlists, playlist_entries;
	long synthetic_rows; /* rows marked synthetic (generated demo data) */
} catalog_counts;

int catalog_ingest_start(catalog *c, const char *file, const char *variant, int synthetic, int64_t *ingest_id,
                         seg_error *err);
int catalog_ingest_finish(catalog *c, int64_t ingest_id, const catalog_counts *n, double seconds, seg_error *err);

/* Merges one track row. Merge rule: the first value catalogued for a field
 * wins; later rows only fill fields that are still NULL. The audio features
 * are one block taken from the first row that has them. Artists and genres
 * accumulate. *merged is set to 1 when the track already had features.
 * *rowid receives tracks.id. */
int catalog_put_track(catalog *c, const track_rec *t, int64_t ingest_id, int *merged, int64_t *rowid, seg_error *err);

/* Finds a track by Spotify id, cataloguing it without features (name and one
 * artist, which may be NULL) when unknown. */
int catalog_ref_track(catalog *c, const char *spotify_id, const char *name, const char *artist, int64_t ingest_id,
                      int64_t *rowid, seg_error *err);

/* Records a reject; action is "row" or "value". */
int catalog_put_reject(catalog *c, int64_t ingest_id, const char *file, long line, const track_problem *p,
                       const char *action, seg_error *err);

/* Finds or creates the playlist (source, external_id); fields that are NULL
 * (or followers < 0) leave stored values alone, others fill NULLs. *created
 * (may be NULL) says whether it is new. */
int catalog_put_playlist(catalog *c, const char *source, const char *external_id, const char *name,
                         const char *description, long followers, int synthetic, int64_t *rowid, int *created,
                         seg_error *err);

/* Stores the entry at `pos` (replacing what was there, so re-ingesting a file
 * is idempotent). */
int catalog_put_playlist_track(catalog *c, int64_t playlist, long pos, int64_t track, seg_error *err);

/* Appends `track` to a playlist given as a set (track tables name the
 * playlist each row came from); a track already in it is not added again.
 * *added says whether it was. Membership is answered from memory (the
 * playlist's stored entries are read once per session, on first use), so
 * the cost per entry does not grow with the playlist. The entry may be
 * written to the database later in the session (queued with others), but
 * always before anything in the session reads playlist_tracks. */
int catalog_add_playlist_track(catalog *c, int64_t playlist, int64_t track, int *added, seg_error *err);

/* ---- the evaluation split ----
 * Every playlist belongs to one of three disjoint splits, chosen by a hash of
 * its identity (source and external id), so that it is the same in every
 * workspace and on every machine: training sees only the train split, every
 * weight and hyperparameter is chosen on the validation split, and the test
 * split is read once per reported table. Ingest uses it too: a genre label
 * that only a held-out playlist gives a track must not reach the content
 * features. Bucket 0 of CATALOG_SPLIT_MODULUS is test, bucket 1 validation. */
enum catalog_split { CATALOG_SPLIT_TRAIN = 0, CATALOG_SPLIT_VALID = 1, CATALOG_SPLIT_TEST = 2 };
#define CATALOG_SPLIT_MODULUS 10

/* The split of the playlist (source, external_id); neither may be NULL. */
enum catalog_split catalog_playlist_split(const char *source, const char *external_id);

#endif
