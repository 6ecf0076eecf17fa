/* schema.h: recognises which Kaggle Spotify export a CSV header belongs to and
 * maps its rows to canonical track records (track.h). A user-supplied mapping
 * ("canonical=column,...") covers headers it does not know. It does not read
 * files or write the catalogue. */
#ifndef SEGUE_SCHEMA_H
#define SEGUE_SCHEMA_H

#include <stddef.h>

#include "ingest/csv.h"
#include "core/error.h"
#include "ingest/track.h"

/* Canonical columns. The audio features come first, in track_feature order. */
/* clang-format off */
enum schema_col {
	SC_DANCEABILITY, SC_ENERGY, SC_KEY, SC_LOUDNESS, SC_MODE, SC_SPEECHINESS,
	SC_ACOUSTICNESS, SC_INSTRUMENTALNESS, SC_LIVENESS, SC_VALENCE, SC_TEMPO,
	SC_ID, SC_NAME, SC_ARTISTS, SC_ALBUM, SC_ALBUM_ID, SC_RELEASE_DATE, SC_YEAR,
	SC_POPULARITY, SC_DURATION_MS, SC_EXPLICIT, SC_TIME_SIGNATURE, SC_GENRE,
	SC_SUBGENRE, SC_GENRES, SC_PLAYLIST_ID, SC_PLAYLIST_NAME, SC_HIT, SC_SYNTHETIC,
	SC__COUNT
};
/* clang-format on */

/* Canonical column names, as --map takes them ("id", "danceability", ...). */
extern const char *const schema_col_names[SC__COUNT];

/* How one file's columns map to canonical ones. Plain data. */
typedef struct schema {
	const char *variant;         /* short name: "spotify_songs", ..., "custom" */
	const char *title;           /* the export's name for humans */
	size_t nfields;              /* columns in the header */
	int col[SC__COUNT];          /* field index of each canonical column, -1 if absent */
	enum artist_style artists;   /* how the artists field lists names */
	const char *playlist_source; /* playlists.source for rows that name a playlist */
	/* 1 for a column that describes the row's playlist rather than the track
	 * (its header starts with "playlist_": spotify_songs' playlist_genre);
	 * genres from such a column are marked genre_from_playlist. */
	unsigned char of_playlist[SC__COUNT];
} schema;

/* Recognises `header` (n fields). `map_spec` (may be NULL) is a user mapping
 * "canonical=column,..." applied on top of the detected variant, or used alone
 * for an unknown header. On failure err says what was expected and how to
 * map the columns. */
int schema_detect(schema *s, char *const *header, size_t n, const char *map_spec, seg_error *err);

/* Prints the known variants, one per line, to `out` (for --help). */
void schema_list_variants(void *file);

/* Maps one data row into *t; artist and genre fields are modified in place.
 * Returns 0 when the row is usable (value problems, at most `maxv`, are in vp
 * with their count in *nv: those values were dropped), or 1 when it is not
 * (the reason in *rowp). A record over a CSV limit is "too_long"; one with a
 * NUL byte in any field is "nul_byte", its column the canonical one the field
 * maps to (NULL for a column segue does not read; the detail gives its
 * number). */
int schema_map_row(const schema *s, const csv_record *rec, track_rec *t, track_problem *rowp, track_problem *vp,
                   int maxv, int *nv);

#endif
