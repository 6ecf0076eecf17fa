/* dataset.h: everything training, evaluation and recommendation read from a
 * workspace, loaded once into flat arrays: the feature snapshot (mapped), each
 * track's content row, main artist and genres, and the playlists in order with
 * their train/test split. It does not train or score anything. */
#ifndef SEGUE_DATASET_H
#define SEGUE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "catalog/snapshot.h"

/* Distinct playlist sources (mpd, spotify_songs, ...) a dataset tells
 * apart; playlists of further sources share the last slot's name "other". */
#define DATASET_SOURCES_MAX 16

typedef struct dataset {
	snapshot *snap;           /* the mapped feature snapshot */
	size_t N;                 /* content rows (tracks with audio features) */
	const int64_t *row_track; /* [N] track id of each content row */
	const float *raw;         /* [N][SNAP__COLS] raw features */

	int64_t T;             /* track ids run 1..T-1 (dense SQLite rowids) */
	int32_t *track_row;    /* [T] content row, -1 when no audio features */
	int32_t *track_artist; /* [T] main artist id, -1 when unknown */
	uint32_t *track_pop;   /* [T] train-split playlists holding the track */

	uint32_t *genre_ptr; /* [N+1] CSR offsets into genre_idx */
	int32_t *genre_idx;  /* [genre_ptr[N]] genre vocabulary indices per row */
	char **genre_names;  /* [G] genre vocabulary, most tracks first */
	size_t G;

	size_t P;                                /* playlists with at least one entry */
	int64_t *pl_id;                          /* [P] playlists.id */
	uint32_t *pl_ptr;                        /* [P+1] CSR offsets into pl_tracks */
	int64_t *pl_tracks;                      /* [pl_ptr[P]] track ids in playlist order */
	uint8_t *pl_split;                       /* [P] enum catalog_split: train, validation or test */
	uint8_t *pl_source;                      /* [P] index into source_names */
	char **pl_name;                          /* [P] the playlist's title, NULL when it has none */
	char *source_names[DATASET_SOURCES_MAX]; /* [n_sources] playlists.source values */
	size_t n_sources;
	size_t P_valid; /* playlists in the validation split */
	size_t P_test;  /* playlists in the test split */

	char workspace[1024];
} dataset;

/* Loads the workspace's catalogue and its feature snapshot, which must have
 * been made from the catalogue as it is (workspace_features_open): a stale
 * snapshot is refused with SEG_ESTALE, a missing one with SEG_ENOTFOUND,
 * a damaged one with the code that says why, each with a message naming
 * the command that fixes it (`segue ingest --refresh`); a catalogue that
 * changes while it is read is refused with SEG_ESTALE. */
int dataset_load(dataset **out, const char *workspace, seg_error *err);
void dataset_free(dataset *d);

#endif
