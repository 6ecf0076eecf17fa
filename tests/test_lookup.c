/* test_lookup.c: finding tracks for people on a small hand-made catalogue:
 * full-text search (every word, the last as a prefix, tracks with features
 * first, quotes and punctuation taken as text), resolving ids, links and
 * names (unique, exact among several, ambiguous, unknown), the brief Spotify
 * id lookup, and the display fields of one or many track ids. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "catalog/lookup.h"
#include "core/error.h"

/*   id  spotify_id                name               artists            feat pop  genres
 *   1   4uLU6hMCjMI75M1A2tKUQC    Never Gonna Give   Rick Astley        1    80   pop, dance pop
 *   2   0000000000000000000002    Yellow             Coldplay           1    70   rock
 *   3   0000000000000000000003    Yellow Submarine   The Beatles, Ringo 1    NULL rock
 *   4   0000000000000000000004    Yellow             Other Band         0    NULL -
 *   5   0000000000000000000005    "Quoted" (live)    Coldplay           1    10   -
 *   6   0000000000000000000006    Never Gonna Give You Up  Rick Astley 1   90   -
 *   7   0000000000000000000007    Don't Stop 50% a_b AC/DC            1    30   -
 * Genres: 1 rock, 2 pop, 3 dance pop (track_genres ordered by genre id). */
static const char ROWS[] =
	"INSERT INTO tracks(id, spotify_id, name, popularity, has_features) VALUES"
	" (1, '4uLU6hMCjMI75M1A2tKUQC', 'Never Gonna Give', 80, 1),"
	" (2, '0000000000000000000002', 'Yellow', 70, 1),"
	" (3, '0000000000000000000003', 'Yellow Submarine', NULL, 1),"
	" (4, '0000000000000000000004', 'Yellow', NULL, 0),"
	" (5, '0000000000000000000005', '\"Quoted\" (live)', 10, 1),"
	" (6, '0000000000000000000006', 'Never Gonna Give You Up', 90, 1),"
	" (7, '0000000000000000000007', 'Don''t Stop 50% a_b', 30, 1);"
	"INSERT INTO artists VALUES(1, 'Rick Astley'), (2, 'Coldplay'), (3, 'The Beatles'), (4, 'Ringo'),"
	" (5, 'Other Band'), (6, 'AC/DC');"
	"INSERT INTO track_artists VALUES(1, 1, 0), (2, 2, 0), (3, 4, 1), (3, 3, 0), (4, 5, 0), (5, 2, 0), (6, 1, 0), "
	"(7, 6, 0);"
	"INSERT INTO genres VALUES(1, 'rock'), (2, 'pop'), (3, 'dance pop');"
	"INSERT INTO track_genres(track_id, genre_id) VALUES(1, 3), (1, 2), (2, 1), (3, 1);"
	"INSERT INTO track_search(rowid, name, artists) SELECT t.id, t.name,"
	" (SELECT group_concat(a.name, ', ') FROM track_artists ta JOIN artists a ON a.id = ta.artist_id"
	"  WHERE ta.track_id = t.id ORDER BY ta.position) FROM tracks t;";

static const char *dir;
static sqlite3 *db;

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	char path[1100];
	snprintf(path, sizeof path, "%s/catalog.db", dir);
	db = tu_catalog_db(path, ROWS);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lookup_forget(db);
	assert_int_equal(sqlite3_close(db), SQLITE_OK); /* nothing left prepared */
	tu_rmtree(dir);
	return 0;
}

static void test_search(void **state)
{
	(void)state;
	lookup_hit h[8];
	size_t n = 99;
	seg_error err = {0};
	/* Every word must match; the last one as a prefix ("Subm"). */
	assert_int_equal(lookup_search(db, "yellow subm", 8, h, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].track, 3);
	assert_string_equal(h[0].artists, "The Beatles, Ringo"); /* main artist first */
	assert_int_equal(h[0].popularity, -1);
	assert_string_equal(h[0].genres, "rock");
	/* Artists are searched too, and case does not matter. */
	assert_int_equal(lookup_search(db, "COLDPLAY yel", 8, h, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].track, 2);
	/* Tracks with features come before those without. */
	assert_int_equal(lookup_search(db, "yellow", 8, h, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(h[n - 1].track, 4);
	assert_int_equal(h[n - 1].has_features, 0);
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(h[i].has_features, 1);
	/* The limit holds. */
	assert_int_equal(lookup_search(db, "yellow", 2, h, &n, &err), 0);
	assert_int_equal(n, 2);
	/* Quotes and brackets are text, not FTS syntax. */
	assert_int_equal(lookup_search(db, "\"quoted\" (live", 8, h, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].track, 5);
	assert_string_equal(h[0].name, "\"Quoted\" (live)");
	assert_int_equal(lookup_search(db, "AND OR NOT", 8, h, &n, &err), 0);
	assert_int_equal(n, 0);
	/* No word at all: no hits, not an error. */
	n = 99;
	assert_int_equal(lookup_search(db, " ,;- ", 8, h, &n, &err), 0);
	assert_int_equal(n, 0);
}

/* Whatever a person types is text: every printable ASCII character, alone,
 * as a word's neighbour, and in the words of the catalogue's punctuated
 * names, gives hits or none, never an error (the dashboard answered 400
 * to a lone quote, percent sign, underscore, star or backslash). */
static void test_search_punctuation(void **state)
{
	(void)state;
	lookup_hit h[8];
	size_t n;
	seg_error err = {0};
	char text[64];
	for (int c = 0x20; c < 0x7f; c++) {
		const char *forms[] = {"%c", "%cyellow", "yellow%c", "yel%clow", "yellow %c", "%c%c coldplay"};
		for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
			snprintf(text, sizeof text, forms[f], c, c);
			n = 99;
			err = (seg_error){0};
			if (lookup_search(db, text, 8, h, &n, &err) != 0)
				fail_msg("'%s' failed: %s", text, err.msg);
			assert_true(n <= 8);
		}
	}
	/* A word of punctuation alone is left out; the others still match. */
	assert_int_equal(lookup_search(db, "yellow \" \\ % _ * ( - submarine", 8, h, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].track, 3);
	/* Words with punctuation match the names that have it. */
	const char *found7[] = {"don't",     "don't stop", "50%",    "a_b",   "AC/DC",    "ac/dc don't",
	                        "\"don't\"", "stop\"",     "(don't", "-stop", "50% a_b*", "DON'T STOP 50% A_B"};
	for (size_t i = 0; i < sizeof found7 / sizeof *found7; i++) {
		n = 99;
		if (lookup_search(db, found7[i], 8, h, &n, &err) != 0)
			fail_msg("'%s' failed: %s", found7[i], err.msg);
		if (n != 1 || h[0].track != 7)
			fail_msg("'%s' gave %zu hits, not track 7", found7[i], n);
	}
	/* FTS5's syntax is text like any other: operators are words (none of
	 * these names has them), column filters and anchors punctuation. */
	const struct {
		const char *text;
		size_t hits;
	} syntax[] = {{"NEAR", 0},
	              {"AND", 0},
	              {"OR", 0},
	              {"NOT", 0},
	              {"yellow NOT", 0},
	              {"NEAR(yellow)", 0},
	              {"yellow OR coldplay", 0},
	              {"name:yellow", 0},
	              {"^yellow", 3},
	              {"yellow:", 3},
	              {"{name} : yellow", 0},
	              {": yellow", 3},
	              {"\"\"", 0},
	              {"''", 0},
	              {"***", 0},
	              {"%_%", 0},
	              {"yellow -coldplay", 1}};
	for (size_t i = 0; i < sizeof syntax / sizeof *syntax; i++) {
		n = 99;
		if (lookup_search(db, syntax[i].text, 8, h, &n, &err) != 0)
			fail_msg("'%s' failed: %s", syntax[i].text, err.msg);
		if (n != syntax[i].hits)
			fail_msg("'%s' gave %zu hits, not %zu", syntax[i].text, n, syntax[i].hits);
	}
}

/* A search that would take more SQLite steps than its budget is stopped
 * and refused as too broad, with no hits; the connection is left fit for
 * the next search (its progress handler cleared, the statement reset). */
static void test_search_budget(void **state)
{
	(void)state;
	lookup_hit h[8];
	size_t n = 99;
	seg_error err = {0};
	/* Two steps cannot even open the full-text cursor. */
	assert_int_equal(lookup_search_bounded(db, "yellow", 8, 2, h, &n, &err), SEG_EINVAL);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, "too broad"));
	assert_non_null(strstr(err.msg, "'yellow'"));
	/* The same search with the default budget, on the same connection. */
	assert_int_equal(lookup_search(db, "yellow", 8, h, &n, &err), 0);
	assert_int_equal(n, 3);
	/* A budget it fits in gives the same hits, in the same order. */
	lookup_hit b[8];
	size_t nb = 0;
	assert_int_equal(lookup_search_bounded(db, "yellow", 8, 1000000, b, &nb, &err), 0);
	assert_int_equal(nb, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(b[i].track, h[i].track);
	/* No budget at all is a bad argument. */
	assert_int_equal(lookup_search_bounded(db, "yellow", 8, 0, b, &nb, &err), SEG_EINVAL);
	assert_int_equal(nb, 0);
}

static void test_resolve(void **state)
{
	(void)state;
	lookup_hit hit, alts[4];
	size_t nalts = 99;
	seg_error err = {0};
	/* A Spotify id, a spotify: URI, an open.spotify.com link. */
	const char *ids[] = {"4uLU6hMCjMI75M1A2tKUQC", "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
	                     "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"};
	for (size_t i = 0; i < 3; i++) {
		memset(&hit, 0, sizeof hit);
		if (lookup_resolve(db, ids[i], &hit, alts, 4, &nalts, &err) != 0)
			fail_msg("%s: %s", ids[i], err.msg);
		assert_int_equal(hit.track, 1);
		assert_string_equal(hit.spotify_id, "4uLU6hMCjMI75M1A2tKUQC");
		assert_string_equal(hit.name, "Never Gonna Give");
		assert_string_equal(hit.genres, "pop, dance pop"); /* ordered by genre id */
		assert_int_equal(hit.popularity, 80);
		assert_int_equal(nalts, 0);
	}
	/* One hit by name. */
	assert_int_equal(lookup_resolve(db, "give you", &hit, alts, 4, &nalts, &err), 0);
	assert_int_equal(hit.track, 6);
	/* Two hits, one of them titled exactly as typed, or as "title artist". */
	assert_int_equal(lookup_resolve(db, "never gonna", &hit, alts, 4, &nalts, &err), SEG_EINVAL);
	assert_int_equal(nalts, 2);
	assert_int_equal(lookup_resolve(db, "NEVER GONNA GIVE", &hit, alts, 4, &nalts, &err), 0);
	assert_int_equal(hit.track, 1);
	assert_int_equal(nalts, 0);
	assert_int_equal(lookup_resolve(db, "Never Gonna Give You Up Rick Astley", &hit, alts, 4, &nalts, &err), 0);
	assert_int_equal(hit.track, 6);
	/* Three "yellow"s, none typed exactly with its artist: ambiguous. */
	assert_int_equal(lookup_resolve(db, "yel", &hit, alts, 2, &nalts, &err), SEG_EINVAL);
	assert_int_equal(nalts, 2); /* cut to cap */
	assert_non_null(strstr(err.msg, "matches 3 tracks"));
	/* "Yellow" is the exact title of two tracks: still ambiguous. */
	assert_int_equal(lookup_resolve(db, "Yellow", &hit, alts, 4, &nalts, &err), SEG_EINVAL);
	assert_int_equal(nalts, 3);
	/* Title and artist typed exactly: the one. */
	assert_int_equal(lookup_resolve(db, "yellow coldplay", &hit, alts, 4, &nalts, &err), 0);
	assert_int_equal(hit.track, 2);
	assert_int_equal(lookup_resolve(db, "yellow submarine", &hit, alts, 4, &nalts, &err), 0);
	assert_int_equal(hit.track, 3);
	/* Unknown, as a name and as an id that is not in the catalogue. */
	assert_int_equal(lookup_resolve(db, "nothing like it", &hit, alts, 4, &nalts, &err), SEG_ENOTFOUND);
	assert_int_equal(nalts, 0);
	assert_int_equal(lookup_resolve(db, "7zzzzzzzzzzzzzzzzzzzzz", &hit, alts, 4, &nalts, &err), SEG_ENOTFOUND);
}

static void test_spotify_id(void **state)
{
	(void)state;
	seg_error err = {0};
	int64_t track = 0;
	char name[8];
	assert_int_equal(lookup_spotify_id(db, "0000000000000000000003", &track, name, sizeof name, &err), 1);
	assert_int_equal(track, 3);
	assert_string_equal(name, "Yellow "); /* cut to the buffer */
	track = -7;
	assert_int_equal(lookup_spotify_id(db, "0000000000000000000002", &track, NULL, 0, &err), 1);
	assert_int_equal(track, 2);
	track = -7;
	assert_int_equal(lookup_spotify_id(db, "0000000000000000000009", &track, name, sizeof name, &err), 0);
	assert_int_equal(track, -7); /* untouched */
	/* As stored only: a URI is not an id here. */
	assert_int_equal(lookup_spotify_id(db, "spotify:track:0000000000000000000002", &track, NULL, 0, &err), 0);
}

static void test_tracks(void **state)
{
	(void)state;
	seg_error err = {0};
	const int64_t ids[5] = {5, 42, 1, 5, 0};
	lookup_hit out[5];
	uint8_t found[5];
	memset(found, 7, sizeof found);
	assert_int_equal(lookup_tracks(db, ids, 5, out, found, &err), 0);
	const uint8_t want[5] = {1, 0, 1, 1, 0};
	assert_memory_equal(found, want, 5);
	assert_int_equal(out[0].track, 5);
	assert_string_equal(out[0].artists, "Coldplay");
	assert_int_equal(out[2].track, 1);
	assert_string_equal(out[2].genres, "pop, dance pop");
	assert_int_equal(out[3].track, 5); /* asked twice, given twice */
	/* found may be NULL; n 0 is a no-op. */
	assert_int_equal(lookup_tracks(db, ids + 2, 1, out, NULL, &err), 0);
	assert_int_equal(out[0].track, 1);
	assert_int_equal(lookup_tracks(db, ids, 0, out, found, &err), 0);

	lookup_hit one;
	assert_int_equal(lookup_track(db, 4, &one, &err), 0);
	assert_string_equal(one.name, "Yellow");
	assert_string_equal(one.artists, "Other Band");
	assert_int_equal(one.has_features, 0);
	assert_int_equal(one.popularity, -1);
	assert_string_equal(one.genres, "");
	assert_int_equal(lookup_track(db, 99, &one, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "99"));
}

/* The normalised title: version tags in brackets and after dashes go, a
 * different song keeps its parts (lookup.h's rule). */
static void test_title_normalise(void **state)
{
	(void)state;
	static const char *const same[][2] = {
		{"Bohemian Rhapsody - Remastered 2011", "bohemian rhapsody"},
		{"Bohemian Rhapsody - 2011 Mix", "bohemian rhapsody"},
		{"Bohemian Rhapsody - 2011 Remaster", "bohemian rhapsody"},
		{"Bohemian Rhapsody (Live at Wembley '86)", "bohemian rhapsody"},
		{"Bohemian Rhapsody - Live Aid", "bohemian rhapsody"},
		{"BOHEMIAN RHAPSODY - Mono Version", "bohemian rhapsody"},
		{"Bohemian Rhapsody [Remastered]", "bohemian rhapsody"},
		{"Bohemian Rhapsody - From Sons of Anarchy", "bohemian rhapsody"},
		{"Bohemian Rhapsody (Glee Cast Version featuring Jonathan Groff)", "bohemian rhapsody"},
		{"Sorry feat. Someone", "sorry"},
		{"Sorry (with Someone) - Radio Edit", "sorry"},
		{"Sorry - David Guetta Remix", "sorry"},
		{"Love Story (Taylor\xe2\x80\x99s Version)", "love story"},
		{"Caf\xc3\xa9 del Mar \xe2\x80\x93 Energy 52 Remix", "cafe del mar"},
		{"Don't Stop Me Now - Remastered 2011", "don t stop me now"},
		{"Don\xe2\x80\x99t Stop Me Now", "don t stop me now"},
		/* different songs keep their parts */
		{"Another One Bites the Dust - Part 2", "another one bites the dust part 2"},
		{"Time (Reprise)", "time reprise"},
		{"(I Can't Get No) Satisfaction", "i can t get no satisfaction"},
		{"Bohemian Rhapsody / Somebody to Love", "bohemian rhapsody somebody to love"},
		{"Symphony No. 5 - I. Allegro con brio", "symphony no 5 i allegro con brio"},
		{"Live Forever - Remastered", "live forever"},
		{"(Live)", "live"},
		{"", ""},
	};
	char buf[LOOKUP_SONG_CAP];
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		size_t n = lookup_title_normalise(same[i][0], buf, sizeof buf);
		if (strcmp(buf, same[i][1]) != 0)
			fail_msg("'%s' -> '%s', expected '%s'", same[i][0], buf, same[i][1]);
		assert_int_equal(n, strlen(same[i][1]));
	}
	/* Keys: one song by one artist, versions included; another artist or
	 * title is another song; no title, no key. */
	uint64_t k = lookup_song_key("Bohemian Rhapsody", "Queen");
	assert_true(k != 0);
	assert_true(lookup_song_key("Bohemian Rhapsody - 2011 Mix", "QUEEN") == k);
	assert_true(lookup_song_key("Bohemian Rhapsody (Live at Wembley '86)", "Queen") == k);
	assert_true(lookup_song_key("Bohemian Rhapsody", "Panic! At The Disco") != k);
	assert_true(lookup_song_key("Bohemian Rhapsody Part 2", "Queen") != k);
	assert_true(lookup_song_key("", "Queen") == 0);
	assert_true(lookup_song_key(NULL, NULL) == 0);
	assert_true(lookup_song_key("Bohemian Rhapsody", NULL) == lookup_song_key("Bohemian Rhapsody", ""));
	/* A cut-short buffer holds a cut-short, terminated title. */
	char small[8];
	assert_int_equal(lookup_title_normalise("Bohemian Rhapsody", small, sizeof small), 0 + strlen("bohemia"));
	assert_string_equal(small, "bohemia");
}

/* Versions of one song are one search hit, the best known one, with their
 * count; and a misspelt word finds the song ("bohemian rapsody"). */
static void test_search_versions_typos(void **state)
{
	(void)state;
	static const char rows[] =
		"INSERT INTO tracks(id, spotify_id, name, popularity, has_features) VALUES"
		" (1, '0000000000000000000001', 'Bohemian Rhapsody', 29, 1),"
		" (2, '0000000000000000000002', 'Bohemian Rhapsody - 2011 Mix', 84, 1),"
		" (3, '0000000000000000000003', 'Bohemian Rhapsody - Remastered 2011', NULL, 0),"
		" (4, '0000000000000000000004', 'Bohemian Rhapsody (Live at Wembley ''86)', 40, 1),"
		" (5, '0000000000000000000005', 'Bohemian Rhapsody', 60, 1),"
		" (6, '0000000000000000000006', 'Bohemian Like You', 50, 1),"
		" (7, '0000000000000000000007', 'Rhapsody in Blue', 45, 1),"
		" (8, '0000000000000000000008', 'Bohemian Rhapsody', 99, 0),"
		" (9, '0000000000000000000009', 'Rapsody in Red', 10, 1);"
		"INSERT INTO artists VALUES(1, 'Queen'), (2, 'Panic! At The Disco'), (3, 'The Dandy Warhols'),"
		" (4, 'George Gershwin');"
		"INSERT INTO track_artists VALUES(1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 0), (5, 2, 0), (6, 3, 0),"
		" (7, 4, 0), (8, 1, 0), (9, 4, 0);"
		"INSERT INTO track_search(rowid, name, artists) SELECT t.id, t.name,"
		" (SELECT group_concat(a.name, ', ') FROM track_artists ta JOIN artists a ON a.id = ta.artist_id"
		"  WHERE ta.track_id = t.id ORDER BY ta.position) FROM tracks t;";
	char path[1100];
	snprintf(path, sizeof path, "%s/versions.db", dir);
	sqlite3 *vdb = tu_catalog_db(path, rows);
	lookup_hit h[8];
	size_t n = 0;
	seg_error err = {0};
	if (lookup_search(vdb, "bohemian rhapsody", 8, h, &n, &err) != 0)
		fail_msg("%s", err.msg);
	/* Queen's five versions are one hit: the most popular with features
	 * (2, the 2011 Mix); Panic!'s cover is another song. */
	assert_int_equal(n, 2);
	assert_int_equal(h[0].track, 2);
	assert_int_equal(h[0].versions, 5);
	assert_int_equal(h[1].track, 5);
	assert_int_equal(h[1].versions, 1);
	/* Typos: a letter left out (and the misspelling a word of another
	 * title, "Rapsody in Red"), one swapped, one changed; the last word as
	 * the start of a word. */
	static const char *const typos[] = {"bohemian rapsody", "bohemain rhapsody", "bohemian rhapsodu",
	                                    "queen bohemian rapso", "BOHEMIAN RAPSODY"};
	for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
		if (lookup_search(vdb, typos[i], 8, h, &n, &err) != 0)
			fail_msg("'%s': %s", typos[i], err.msg);
		if (n == 0)
			fail_msg("'%s' found nothing", typos[i]);
		assert_int_equal(h[0].track, 2);
		for (size_t j = 0; j < n; j++)
			assert_non_null(strstr(h[j].name, "Bohemian Rhapsody"));
	}
	/* Resolving a name: title and artist name one song, whichever version
	 * stands for it; the title alone is two songs (Queen's, Panic!'s). */
	lookup_hit one, alts[4];
	size_t nalts = 0;
	assert_int_equal(lookup_resolve(vdb, "Bohemian Rhapsody Queen", &one, alts, 4, &nalts, &err), 0);
	assert_int_equal(one.track, 2);
	assert_int_equal(lookup_resolve(vdb, "Bohemian Rhapsody", &one, alts, 4, &nalts, &err), SEG_EINVAL);
	assert_int_equal(nalts, 2);
	/* A word with nothing near it still finds nothing, and a word of the
	 * index is not corrected: "bohemian like" finds only that song. */
	assert_int_equal(lookup_search(vdb, "bohemian xqzwvk", 8, h, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lookup_search(vdb, "bohemian lik", 8, h, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].track, 6);
	/* The typo search holds to the budget as the plain one does. */
	assert_int_equal(lookup_search_bounded(vdb, "bohemian rapsody", 8, 1, h, &n, &err), SEG_EINVAL);
	assert_int_equal(n, 0);
	/* On a read-only connection with query_only set (as the server's). */
	sqlite3 *ro = tu_open_ro(path);
	sqlite3_exec(ro, "PRAGMA query_only=1", NULL, NULL, NULL);
	assert_int_equal(lookup_search(ro, "bohemian rapsody", 8, h, &n, &err), 0);
	assert_int_equal(n, 2);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(ro, "PRAGMA query_only", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1); /* put back */
	sqlite3_finalize(st);
	lookup_forget(ro);
	assert_int_equal(sqlite3_close(ro), SQLITE_OK);
	lookup_forget(vdb);
	assert_int_equal(sqlite3_close(vdb), SQLITE_OK);
}

/* Without the catalogue's tables every function says SEG_EDB. */
static void test_not_a_catalogue(void **state)
{
	(void)state;
	sqlite3 *mem;
	assert_int_equal(sqlite3_open(":memory:", &mem), SQLITE_OK);
	seg_error err = {0};
	lookup_hit h[2];
	size_t n = 0;
	int64_t t = 0;
	const int64_t ids[1] = {1};
	assert_int_equal(lookup_search(mem, "yellow", 2, h, &n, &err), SEG_EDB);
	assert_int_equal(lookup_resolve(mem, "yellow", h, h + 1, 1, &n, &err), SEG_EDB);
	assert_int_equal(lookup_resolve(mem, "0000000000000000000002", h, h + 1, 1, &n, &err), SEG_EDB);
	assert_int_equal(lookup_spotify_id(mem, "0000000000000000000002", &t, NULL, 0, &err), SEG_EDB);
	assert_int_equal(lookup_tracks(mem, ids, 1, h, NULL, &err), SEG_EDB);
	assert_int_equal(lookup_track(mem, 1, h, &err), SEG_EDB);
	lookup_forget(mem);
	assert_int_equal(sqlite3_close(mem), SQLITE_OK);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_search_punctuation),
		cmocka_unit_test(test_search_budget),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_spotify_id),
		cmocka_unit_test(test_tracks),
		cmocka_unit_test(test_not_a_catalogue),
		cmocka_unit_test(test_title_normalise),
		cmocka_unit_test(test_search_versions_typos),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, setup, teardown);
}
