/* playlist.h: playlist data for the catalogue: the Million Playlist Dataset's
 * JSON slices (mpd.slice.*.json) and its CSV form (a playlists table and a
 * playlist_tracks table, as in ../shared/data and in segue's synthetic data).
 * Tracks a playlist names without audio features are catalogued without them.
 * Track tables that name a playlist per row (30000 Spotify Songs) are handled
 * by ingest.c with catalog_add_playlist_track. */
#ifndef SEGUE_PLAYLIST_H
#define SEGUE_PLAYLIST_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "ingest/csv.h"
#include "core/error.h"
#include "core/progress.h"

/* Which playlist CSV a header belongs to. */
enum playlist_csv_kind {
	PLAYLIST_CSV_NONE,      /* not a playlist file */
	PLAYLIST_CSV_PLAYLISTS, /* pid,name,description,num_followers,... */
	PLAYLIST_CSV_ENTRIES,   /* pid,pos,track_id,artist_name,track_name */
};

/* Column positions of a playlist CSV. Plain data. */
typedef struct playlist_csv {
	enum playlist_csv_kind kind;
	size_t nfields;
	int pid, name, description, followers, source_slice; /* PLAYLISTS; -1 if absent */
	int pos, track_id, artist_name, track_name;          /* ENTRIES; -1 if absent */
	int synthetic;                                       /* source_slice == "synthetic" */
} playlist_csv;

/* Recognises a playlist CSV header; returns its kind (also stored in *pc). */
enum playlist_csv_kind playlist_csv_detect(playlist_csv *pc, char *const *header, size_t n);

/* Ingests one row of a playlist CSV into `c` (NULL = check only). A row that
 * cannot be used (wrong field count, over a CSV limit, a NUL byte in a field,
 * an empty pid, a bad position or track id) is written to rejects and counted
 * in n->rows_rejected. */
int playlist_csv_row(catalog *c, const playlist_csv *pc, const csv_record *rec, const char *file, int64_t ingest_id,
                     catalog_counts *n, long reasons[], seg_error *err);

/* Ingests one MPD JSON slice (or a .json.zst). */
int playlist_ingest_json(catalog *c, const char *path, int64_t ingest_id, catalog_counts *n, long reasons[],
                         progress *prog, seg_error *err);

/* Reject reasons counted in the `reasons` arrays, in this order. */
/* clang-format off */
enum reject_reason {
	RR_FIELD_COUNT, RR_MISSING, RR_UNPARSEABLE, RR_OUT_OF_RANGE, RR_BAD_ID,
	RR_TOO_LONG,  /* the record broke a CSV limit (csv.h) */
	RR_NUL_BYTE,  /* a field holds a NUL byte */
	RR__COUNT
};
/* clang-format on */
extern const char *const reject_reason_names[RR__COUNT];
int reject_reason_index(const char *name);

#endif
