/* gen.h: writes segue's deterministic synthetic demo catalogue (tracks in the
 * native track CSV format) and synthetic playlists (in the Million Playlist
 * Dataset CSV pair format), so that a fresh clone runs end to end without the
 * real Kaggle data. It does not ingest what it writes: the files go through
 * the ordinary ingest path like any other export.
 *
 * Everything written is labelled synthetic: every name contains "Synthetic",
 * the track file has a `synthetic` column that is 1 on every row, and the
 * playlists have source_slice "synthetic". The same seed, track count and
 * playlist count give byte-identical files on every run (the playlist count
 * does not change the track file). */
#ifndef SEGUE_GEN_H
#define SEGUE_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Fixed file names, written into gen_options.out_dir. */
#define GEN_TRACKS_FILE "synthetic_tracks.csv"
#define GEN_PLAYLISTS_FILE "synthetic_playlists.csv"
#define GEN_PLAYLIST_TRACKS_FILE "synthetic_playlist_tracks.csv"

/* Upper limits that gen_write accepts (track indices are 32-bit). */
#define GEN_MAX_TRACKS 100000000u
#define GEN_MAX_PLAYLISTS 10000000u
#define GEN_MPD_ZIPF 0.9 /* the Zipf exponent of mpd_shape's track draws */

/* What to generate. Plain data: initialise with gen_options_init, then set
 * out_dir (required) and whatever else differs from the defaults. */
typedef struct gen_options {
	uint64_t seed;    /* PRNG seed, default 42 */
	size_t tracks;    /* tracks to write, 1..GEN_MAX_TRACKS, default 20000 */
	size_t playlists; /* playlists to write, default 2000; 0 = no playlist files */
	/* Playlist shapes. 0 (default): the demo's, lengths 10..120 around a
	 * median of 40, tracks drawn in proportion to ((popularity + 5) / 105)^2.
	 * 1: the Million Playlist Dataset's, lengths 5..250 with median ~51 and
	 * mean ~66, tracks drawn Zipf-like (weight 1 / rank^GEN_MPD_ZIPF by
	 * popularity within a genre), so a few tracks are in many playlists and
	 * most in a handful. The track file is the same either way. */
	int mpd_shape;
	const char *out_dir; /* output directory, created (with parents) if missing; default NULL */
	/* Called now and then from gen_write's thread with work done so far, and
	 * once with done == total at the end; NULL for none. Units are rows of
	 * the track file plus playlists, so total = tracks + playlists. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx; /* passed to progress unchanged */
} gen_options;

/* What gen_write wrote. Plain data, filled only on success. */
typedef struct gen_result {
	char tracks_path[4096];          /* out_dir/synthetic_tracks.csv */
	char playlists_path[4096];       /* out_dir/synthetic_playlists.csv, "" when playlists == 0 */
	char playlist_tracks_path[4096]; /* out_dir/synthetic_playlist_tracks.csv, "" likewise */
	uint64_t tracks;                 /* data rows in the track file */
	uint64_t artists;                /* distinct artists over all tracks */
	uint64_t playlists;              /* data rows in the playlists file */
	uint64_t playlist_tracks;        /* data rows in the playlist-tracks file */
	uint64_t bytes;                  /* bytes written over all files */
} gen_result;

/* Sets the defaults documented on gen_options. */
void gen_options_init(gen_options *o);

/* Generates the catalogue described by `o` and writes the files into
 * o->out_dir. Each file is written to a temporary of its own beside it
 * (NAME.tmp.XXXXXX, created new: never through a name or link that was
 * there; atomicfile.h), fsynced, and renamed into place only once all of
 * them are complete, so a failed call leaves no partial file under a final
 * name. The files' mode is 0666 less the umask, as fopen gives. With o->playlists == 0 the playlist files are not
 * written, and stale ones from an earlier run are removed (they would refer to
 * tracks that no longer exist).
 * Returns 0 and fills `res` (which may be NULL), or a negative SEG_E* code
 * with a message in `err` (which may be NULL): SEG_EINVAL for bad options
 * (no out_dir, tracks == 0, over the limits), SEG_EIO when the directory or
 * a file cannot be created or written, SEG_ENOMEM. On error `res` is left
 * untouched and the temporary files are removed. */
int gen_write(const gen_options *o, gen_result *res, seg_error *err);

/* The genres the generator uses, in a fixed order (lower case, e.g. "r&b").
 * gen_genre_name returns NULL for i >= gen_genre_count(). */
size_t gen_genre_count(void);
const char *gen_genre_name(size_t i);

#endif
