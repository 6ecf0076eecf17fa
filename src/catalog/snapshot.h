/* snapshot.h: the catalogue's numeric feature matrix as one versioned binary
 * file that later stages (training, serving) map into memory instead of
 * querying SQLite. It holds the tracks that have audio features, in track-id
 * order. It does not standardise or weight anything: that is the models'. */
#ifndef SEGUE_SNAPSHOT_H
#define SEGUE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "core/error.h"

#define SNAPSHOT_MAGIC "SEGSNAP\0"
#define SNAPSHOT_VERSION 1

/* Columns of the matrix, in order. Missing values are NaN. */
enum snapshot_col {
	SNAP_DANCEABILITY, SNAP_ENERGY, SNAP_KEY, SNAP_LOUDNESS, SNAP_MODE, SNAP_SPEECHINESS,
	SNAP_ACOUSTICNESS, SNAP_INSTRUMENTALNESS, SNAP_LIVENESS, SNAP_VALENCE, SNAP_TEMPO,
	SNAP_TIME_SIGNATURE, SNAP_DURATION_MS, SNAP_POPULARITY, SNAP_YEAR,
	SNAP__COLS
};
extern const char *const snapshot_col_names[SNAP__COLS];

/* On-disk header, 64 bytes, little-endian. The payload that follows is:
 *   int64_t track_id[N]          tracks.id
 *   char    spotify_id[N][24]    22 characters, NUL-padded
 *   float   x[N][D]              D = SNAP__COLS, row-major
 * and `checksum` is XXH64 (seed 0) of the payload. */
typedef struct snapshot_header {
	char magic[8];          /* SNAPSHOT_MAGIC */
	uint32_t version;       /* SNAPSHOT_VERSION */
	uint32_t header_size;   /* sizeof(snapshot_header) */
	uint64_t n;             /* rows */
	uint32_t d;             /* columns */
	uint32_t reserved;
	uint64_t payload_size;  /* bytes after the header */
	uint64_t checksum;      /* XXH64 of the payload */
	uint8_t pad[16];
} snapshot_header;

typedef struct snapshot snapshot;

/* Writes the snapshot of `db` to `path` (through a temporary file and a
 * rename, so readers never see half a file). *rows receives N (may be NULL). */
int snapshot_write(sqlite3 *db, const char *path, uint64_t *rows, seg_error *err);

/* Maps `path` read-only and verifies magic, version, size and checksum; a
 * file that fails any of them is refused with a message that says which. */
int snapshot_open(snapshot **out, const char *path, seg_error *err);
void snapshot_close(snapshot *s);

size_t snapshot_rows(const snapshot *s);
size_t snapshot_cols(const snapshot *s);
const int64_t *snapshot_track_ids(const snapshot *s);  /* [N] */
const char *snapshot_spotify_id(const snapshot *s, size_t row); /* NUL-terminated */
const float *snapshot_matrix(const snapshot *s);       /* [N][D] */

#endif
