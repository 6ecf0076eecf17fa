/* track.h: the canonical track record every Kaggle export is mapped to, the
 * tolerant value parsers for the conventions the exports use (key as 0..11 or
 * "C#", mode as 0/1 or "Major", time signature as "4", "4/4" or a
 * spreadsheet-damaged "4-Apr", artists as a Python-list string...), and the
 * validation rules. It knows nothing about files or headers (schema.c does). */
#ifndef SEGUE_TRACK_H
#define SEGUE_TRACK_H

#include <stddef.h>
#include <stdint.h>

/* The audio features, in the order used everywhere (snapshot columns too). */
/* clang-format off */
enum track_feature {
	TF_DANCEABILITY,
	TF_ENERGY,
	TF_KEY,
	TF_LOUDNESS,
	TF_MODE,
	TF_SPEECHINESS,
	TF_ACOUSTICNESS,
	TF_INSTRUMENTALNESS,
	TF_LIVENESS,
	TF_VALENCE,
	TF_TEMPO,
	TF__AUDIO,              /* count of audio features */
};
/* clang-format on */

#define TRACK_MAX_ARTISTS 16
#define TRACK_MAX_GENRES 8
#define TRACK_ID_LEN 22 /* Spotify ids are 22 base-62 characters */

/* A canonical track as read from one row. Strings point into the row or the
 * caller's scratch; missing values are NULL (strings), NaN (features) or -1
 * (integers that cannot be negative). Plain data. */
typedef struct track_rec {
	char id[TRACK_ID_LEN + 1]; /* Spotify id */
	const char *name;
	const char *album;
	const char *album_id;
	char release_date[11];   /* "YYYY", "YYYY-MM" or "YYYY-MM-DD", or "" */
	int year;                /* -1 when unknown */
	int popularity;          /* 0..100, -1 when unknown */
	long duration_ms;        /* > 0, -1 when unknown */
	int explicit_;           /* 0/1, -1 when unknown */
	double audio[TF__AUDIO]; /* NaN when unknown; key and mode as numbers */
	int has_audio;           /* 1 when the row supplied the audio features (a tempo of 0,
	                                   "not detected", is then NaN) */
	int time_signature;      /* beats per bar, -1 when unknown */
	int hit;                 /* Hit Predictor target 0/1, -1 when absent */
	int synthetic;           /* 1 for generated demo data */
	const char *artists[TRACK_MAX_ARTISTS];
	int nartists;
	const char *genres[TRACK_MAX_GENRES]; /* lower case */
	int ngenres;
	/* Where genre i came from. A label of the row's playlist (spotify_songs'
	 * playlist_genre) says which playlist listed the track, so when that
	 * playlist is held out for evaluation the label must not reach the
	 * content features (catalog.h, track_genres.heldout_only). */
	unsigned char genre_from_playlist[TRACK_MAX_GENRES]; /* 1: a label of the row's playlist (set by schema) */
	unsigned char genre_heldout[TRACK_MAX_GENRES];       /* 1: ... of a validation or test playlist (set by
	                                                        ingest from catalog_playlist_split) */
	const char *playlist_id;                             /* playlist the row comes from, or NULL */
	const char *playlist_name;
} track_rec;

/* Feature names as they appear in headers and the catalogue ("danceability"). */
extern const char *const track_feature_names[TF__AUDIO];

/* Resets *t to "everything unknown". */
void track_rec_init(track_rec *t);

/* Value parsers. Each returns 0 on success, -1 when the text cannot be parsed
 * (leading/trailing blanks are ignored). They check form, not range. */
int track_parse_double(const char *s, double *out);
int track_parse_long(const char *s, long *out); /* also accepts "123.0" */
int track_parse_key(const char *s, int *out);   /* "0".."11", "-1", "C", "C#", "Db"... */
int track_parse_mode(const char *s, int *out);  /* "0"/"1", "Major"/"Minor" */
int track_parse_bool(const char *s, int *out);  /* 0/1, true/false, True/False */
/* "4", "4/4", "3/4", and the spreadsheet's date forms "4-Apr", "04-Apr", "4-Mar"
 * (the month is the beats per bar: Apr = 4 beats, Mar = 3...). */
int track_parse_time_signature(const char *s, int *out);
/* Release dates: "YYYY", "YYYY-MM", "YYYY-MM-DD", and the spreadsheet's
 * "DD-MM-YYYY" / "DD/MM/YYYY". Writes the normalised ISO form into out[11] and
 * the year. */
int track_parse_date(const char *s, char out[11], int *year);
/* Normalises a Spotify track id: strips "spotify:track:" or an
 * open.spotify.com URL prefix; requires 22 base-62 characters. */
int track_parse_id(const char *s, char out[TRACK_ID_LEN + 1]);

/* Artist list styles found in the exports. */
enum artist_style {
	ARTISTS_ONE,       /* the field is one name */
	ARTISTS_PYLIST,    /* "['A', 'B']" or ["Guns N' Roses"] */
	ARTISTS_SEMICOLON, /* "A;B" */
	ARTISTS_COMMA,     /* "A, B" */
};

/* Splits `field` (modified in place) into at most `max` names, trimmed, empty
 * names dropped. Returns the number of names. */
int track_split_artists(char *field, enum artist_style style, const char **names, int max);

/* ---- validation ---- */

/* What is wrong with a value, for the rejects table. */
typedef struct track_problem {
	const char *column; /* canonical column name */
	const char *reason; /* "missing", "unparseable", "out_of_range", "bad_id", "field_count",
	                        "too_long", "nul_byte" (reject_reason_names) */
	const char *value;  /* the offending text, or NULL */
	char detail[160];   /* one sentence for a human */
} track_problem;

/* Checks the audio features and metadata of a parsed record against the
 * documented ranges. Audio features out of range make the row unusable: the
 * first such problem is written to *row_problem and 1 is returned. Metadata
 * out of range (popularity, duration, year, tempo 0, time signature 0) is
 * cleared in *t and reported in value_problems (at most `max`, count in *nvalue).
 * Returns 0 when the row is usable. */
int track_validate(track_rec *t, track_problem *row_problem, track_problem *value_problems, int max, int *nvalue);

#endif
