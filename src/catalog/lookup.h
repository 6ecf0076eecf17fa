/* lookup.h: finding tracks in the catalogue for people: by Spotify id, by
 * name through the full-text index (an ambiguous name yields the candidates),
 * and the display fields of a track id. Read-only; it does not recommend. */
#ifndef SEGUE_LOOKUP_H
#define SEGUE_LOOKUP_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Room for a genre list in a lookup_hit, its NUL included. */
#define LOOKUP_GENRES_CAP 256

typedef struct lookup_hit {
	int64_t track; /* tracks.id */
	char spotify_id[23];
	char name[160];
	char artists[160]; /* "A, B" */
	int has_features;
	int popularity;                 /* -1 unknown */
	char genres[LOOKUP_GENRES_CAP]; /* "pop, dance pop": see lookup_genres_fit */
	int versions;                   /* lookup_search: versions of the song this hit stands for (>= 1); else 0 */
} lookup_hit;

/* ---- one song, several versions ----
 * Spotify lists one song many times: "Bohemian Rhapsody", "Bohemian Rhapsody
 * - Remastered 2011", "- 2011 Mix", "(Live at Wembley '86)", "- Mono
 * Version", "(feat. X)". A song key says which tracks are one song, for
 * search (one row per song) and for recommending (never a seed's other
 * versions). The rule, on the title:
 *   - a part in brackets, (...) or [...], and a part after " - " (hyphen,
 *     en or em dash between spaces) is a version tag, and is dropped, when
 *     its first or last word is a version word (remaster(ed), mix, remix,
 *     version, live, mono, stereo, edit, demo, acoustic, radio, extended,
 *     instrumental, karaoke, unplugged, deluxe, bonus, session(s),
 *     recorded, original, single, anniversary, reissue, sped, slowed,
 *     edition, take(s) is not one) or a year (1900..2099, also as '86 or
 *     86), or when it starts with "with", "from" or "prod", or when any of
 *     its words is feat/ft/featuring or starts with remaster, remix or
 *     rerecord;
 *   - outside brackets, "feat." / "ft." / "featuring" and what follows it
 *     in that part is dropped;
 *   - what is left is folded: letters lower case, Latin-1 accents dropped
 *     (é is e), anything that is not a letter or digit is a word break,
 *     words joined by one space. When nothing is left, the whole title is
 *     folded instead.
 * So a different song stays different: "Part 2", "Reprise", "Interlude",
 * medleys ("A / B") and "Symphony No. 5 - I. Allegro" keep their parts;
 * covers differ by artist. A remix counts as a version of its song. The
 * main artist (credit position 0) is folded the same way, without tags. */
#define LOOKUP_SONG_CAP 256

/* Writes the normalised title of `title` into out[cap] (cut to fit) and
 * returns its length. */
size_t lookup_title_normalise(const char *title, char *out, size_t cap);

/* The 64-bit song key of a title and its main artist (either may be NULL,
 * read as ""): a hash of the normalised title and the folded artist, never
 * 0; 0 when the normalised title is empty (no key: matches nothing). */
uint64_t lookup_song_key(const char *title, const char *main_artist);

/* How a track's genre list is shown: its genres joined with ", " in genre id
 * order. The longest list in the real catalogue (2024 data) is 179
 * characters; it and anything up to LOOKUP_GENRES_CAP - 1 bytes is kept
 * whole. A longer one is cut after the last whole genre that fits and ends
 * in ", ... +N more" (with a real ellipsis character; N is how many genres
 * were left out); when not even the first genre fits with that ending, the
 * text is "N genres". names.seg and the SQL paths both cut this way. */
void lookup_genres_fit(char *out, size_t cap, const char *list, size_t len);

/* The work one search may do, so that no query holds a server thread for
 * long: at most LOOKUP_MAX_WORDS words, and at most LOOKUP_MAX_STEPS SQLite
 * virtual-machine steps (a few tens of milliseconds). */
#define LOOKUP_MAX_WORDS 16
#define LOOKUP_MAX_STEPS 20000000

/* Full-text search over track and artist names; every word (text between
 * white space) must match (as a prefix for the last one). The versions of
 * one song (lookup_song_key) come as one hit, the best known of them (with
 * audio features first, then the most popular), placed where its best
 * ranked version was, with `versions` saying how many were merged (among
 * the first few hundred matches). When no track matches, the search is
 * tolerant of typos: each word that is no word (nor the start of one) in
 * the index is replaced by the index's words that begin with the same
 * letter and are at most 1 edit away (2 for words of 6 letters or more;
 * an edit inserts, deletes, changes or swaps adjacent letters), and the
 * search is run again with them; when that finds nothing either, every
 * word is searched with its near words too (a misspelling may be a word of
 * other titles: "rapsody" is one), so "bohemian rapsody" finds "Bohemian
 * Rhapsody". A typo in the first letter is not corrected. Matches as typed
 * that are few or weak are not widened. Any text is taken
 * as text, never as FTS5 syntax: quotes, operators (AND, NEAR, *, -, ...)
 * and punctuation are searched for as the names' punctuation is indexed,
 * that is, as separators. Words of punctuation alone are left out; text
 * with no other word has no hits (returns 0, *n = 0). Up to `limit` hits,
 * best first, into out[limit]. SEG_EINVAL, with a sentence saying why, for
 * text with more than LOOKUP_MAX_WORDS words, or whose search would take
 * more than LOOKUP_MAX_STEPS steps (then *n is 0). Uses, and afterwards
 * clears, the connection's progress handler. */
int lookup_search(sqlite3 *db, const char *text, size_t limit, lookup_hit *out, size_t *n, seg_error *err);
/* lookup_search with a budget of max_steps SQLite steps instead of
 * LOOKUP_MAX_STEPS (counted by the connection's progress handler, so it
 * holds to within about a hundredth of itself, or 10000 steps, per
 * statement the search runs); SEG_EINVAL for a budget under 1. */
int lookup_search_bounded(sqlite3 *db, const char *text, size_t limit, long max_steps, lookup_hit *out, size_t *n,
                          seg_error *err);

/* Resolves what a person typed: a Spotify id (or spotify: URI / open.spotify.com
 * link) or a name. A unique match fills *hit and returns 0. An ambiguous name
 * returns SEG_EINVAL with up to `cap` candidates in alts (*nalts); an unknown
 * one SEG_ENOTFOUND. err says which, in words. */
int lookup_resolve(sqlite3 *db, const char *text, lookup_hit *hit, lookup_hit *alts, size_t cap, size_t *nalts,
                   seg_error *err);

/* The track id and name (into name[cap], may be NULL) of a Spotify id as
 * it is stored (22 characters), without the other display fields: cheaper
 * than lookup_resolve. Returns 1 when found, 0 when not, or SEG_EDB. */
int lookup_spotify_id(sqlite3 *db, const char *spotify_id, int64_t *track, char *name, size_t cap, seg_error *err);

/* Display fields of n track ids at once (one query), into out[n] in the
 * order given; found[i] (may be NULL) says whether ids[i] exists. */
int lookup_tracks(sqlite3 *db, const int64_t *ids, size_t n, lookup_hit *out, uint8_t *found, seg_error *err);

/* Display fields of a track id (SEG_ENOTFOUND when absent). */
int lookup_track(sqlite3 *db, int64_t track, lookup_hit *hit, seg_error *err);

/* The functions above keep their statements prepared on the connection, to
 * be found again by their text. This finalises them (and nothing else: FTS5
 * keeps statements of its own there); call it before sqlite3_close, or use
 * query_close. */
void lookup_forget(sqlite3 *db);

#endif
