/* snapshot.h: the catalogue's numeric feature matrix as one versioned binary
 * file that later stages (training, serving) map into memory instead of
 * querying SQLite. It holds the tracks that have audio features, in track-id
 * order. It does not standardise or weight anything: that is the models'. */
#ifndef SEGUE_SNAPSHOT_H
#define SEGUE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "core/error.h"

/* The snapshot's own layout version (section "snap.shape"); the file is a
 * container (container.h), whose magic, version and checksum come first.
 * Version 1 was a header format of its own. */
#define SNAPSHOT_VERSION 2

/* Columns of the matrix, in order. Missing values are NaN. */
/* clang-format off */
enum snapshot_col {
	SNAP_DANCEABILITY, SNAP_ENERGY, SNAP_KEY, SNAP_LOUDNESS, SNAP_MODE, SNAP_SPEECHINESS,
	SNAP_ACOUSTICNESS, SNAP_INSTRUMENTALNESS, SNAP_LIVENESS, SNAP_VALENCE, SNAP_TEMPO,
	SNAP_TIME_SIGNATURE, SNAP_DURATION_MS, SNAP_POPULARITY, SNAP_YEAR,
	SNAP__COLS
};
/* clang-format on */
extern const char *const snapshot_col_names[SNAP__COLS];

/* Sections of the container:
 *   snap.shape       uint32 version, uint32 D, uint64 N
 *   origin           catalog_origin: the catalogue state it was made from
 *   snap.track_id    int64_t [N]      tracks.id
 *   snap.spotify_id  char [N][24]     22 characters, NUL-padded
 *   snap.x           float [N][D]     D = SNAP__COLS, row-major */

typedef struct snapshot snapshot;

/* Writes the snapshot of `db` to `path` (container_writer_save: a temporary
 * file of its own, fsync, rename), stamped with the catalogue's origin; the
 * rows and the stamp are read in one transaction, so they agree. *rows
 * receives N (may be NULL). Workspaces write it through workspace.h, under
 * their lock. */
int snapshot_write(sqlite3 *db, const char *path, uint64_t *rows, seg_error *err);

/* Maps `path` read-only and verifies magic, version, size and checksum; a
 * file that fails any of them is refused with a message that says which
 * (SEG_ENOTFOUND when there is no file). It does not check that the file is
 * current: workspace_features_state does. */
int snapshot_open(snapshot **out, const char *path, seg_error *err);
void snapshot_close(snapshot *s);

size_t snapshot_rows(const snapshot *s);
size_t snapshot_cols(const snapshot *s);
const int64_t *snapshot_track_ids(const snapshot *s);           /* [N] */
const char *snapshot_spotify_id(const snapshot *s, size_t row); /* NUL-terminated */
const float *snapshot_matrix(const snapshot *s);                /* [N][D] */
/* The catalogue state the snapshot was made from. */
const catalog_origin *snapshot_origin(const snapshot *s);

#endif
