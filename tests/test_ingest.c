/* test_ingest.c: whole ingests of small fixture files: several Kaggle variants
 * merging into one catalogue, every kind of bad row landing in rejects with
 * its file, line and column, check-only mode, unknown headers and --map, zstd
 * input and directories, all-or-nothing transactions, and a progress line
 * that is cleared once the ingest is done. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "ingest/ingest.h"

#define SONGS_HEADER                                                                                        \
	"track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"                \
	"track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability," \
	"energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms\n"

/* 30000 Spotify Songs: two playlists; track A appears in both. */
static const char SONGS[] =
	SONGS_HEADER "AAAAAAAAAAAAAAAAAAAAAA,Song A,Artist One,70,album1xxxxxxxxxxxxxxxx,Album,2019-06-14,Pop Mix,"
		     "pl1,pop,dance pop,0.7,0.8,6,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,200000\n"
		     "AAAAAAAAAAAAAAAAAAAAAA,Song A,Artist One,70,album1xxxxxxxxxxxxxxxx,Album,2019-06-14,Rock Mix,"
		     "pl2,rock,hard rock,0.7,0.8,6,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,200000\n"
		     "BBBBBBBBBBBBBBBBBBBBBB,\"Song B, with comma\",Artist Two,,album2xxxxxxxxxxxxxxxx,Album 2,2001,"
		     "Rock Mix,pl2,rock,hard rock,0.2,0.3,0,-12.5,0,0.04,0.9,0.5,0.2,0.1,0,180000\n"
		     /* Line 5: energy out of range. */
		     "CCCCCCCCCCCCCCCCCCCCCC,Song C,Artist Three,10,a,b,2001,Rock Mix,pl2,rock,hard rock,"
		     "0.2,1.3,0,-12.5,0,0.04,0.9,0.5,0.2,0.1,99,180000\n"
		     /* Line 6: too few fields. */
		     "DDDDDDDDDDDDDDDDDDDDDD,Song D,Artist Four\n"
		     /* Line 7: a bad id. */
		     "not-an-id,Song E,Artist Five,10,a,b,2001,Rock Mix,pl2,rock,hard rock,"
		     "0.2,0.3,0,-12.5,0,0.04,0.9,0.5,0.2,0.1,99,180000\n";

/* SpotifyFeatures: CRLF, a BOM, note names, damaged time signatures; track A
 * again (with other features: the first block must stay) under a new genre. */
static const char FEATURES[] =
	"\xEF\xBB\xBFgenre,artist_name,track_name,track_id,popularity,acousticness,danceability,duration_ms,"
	"energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,time_signature,valence\r\n"
	"Dance,Artist One,Song A,AAAAAAAAAAAAAAAAAAAAAA,65,0.5,0.5,200000,0.1,0,C#,0.1,-5,Minor,0.05,"
	"121,4-Apr,0.5\r\n"
	"Movie,Artist Six,Song F,FFFFFFFFFFFFFFFFFFFFFF,0,0.611,0.389,99373,0.91,0,F#,0.346,-1.828,Major,"
	"0.0525,166.969,4-Mar,0.814\r\n"
	/* Line 4: key is not a note. */
	"Movie,Artist Six,Song G,GGGGGGGGGGGGGGGGGGGGGG,0,0.6,0.3,99373,0.9,0,H,0.3,-1.8,Major,0.05,166,"
	"4-Apr,0.8\r\n";

/* tracks.csv 1921-2020: list-string artists, day-first dates, explicit. */
static const char TRACKS600K[] =
	"id,name,popularity,duration_ms,explicit,artists,id_artists,release_date,danceability,energy,key,"
	"loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature\n"
	"HHHHHHHHHHHHHHHHHHHHHH,Carve,6,126903,0,\"['Uli', \"\"Guns N' Roses\"\"]\",['x'],22-02-1922,"
	"0.645,0.445,0,-13.338,1,0.451,0.674,0.744,0.151,0.127,104.851,3\n"
	/* popularity out of range: value dropped, row kept. */
	"IIIIIIIIIIIIIIIIIIIIII,Other,101,126903,1,['Uli'],['x'],1922,"
	"0.645,0.445,0,-13.338,1,0.451,0.674,0.744,0.151,0.127,104.851,0\n";

static void test_variants_merge(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char a[1100], b[1100], c[1100];
	snprintf(a, sizeof a, "%s", tu_write(dir, "spotify_songs.csv", SONGS));
	snprintf(b, sizeof b, "%s", tu_write(dir, "SpotifyFeatures.csv", FEATURES));
	snprintf(c, sizeof c, "%s", tu_write(dir, "tracks.csv", TRACKS600K));
	char *paths[3] = {a, b, c};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	tu_ingest(ws, paths, 3, &sum);

	assert_string_equal(sum.files[0].variant, "spotify_songs");
	assert_string_equal(sum.files[1].variant, "spotify_features");
	assert_string_equal(sum.files[2].variant, "tracks_1921_2020");
	/* spotify_songs: 6 rows, 3 accepted (A twice, B), 3 rejected. */
	assert_int_equal(sum.files[0].n.rows_read, 6);
	assert_int_equal(sum.files[0].n.rows_accepted, 3);
	assert_int_equal(sum.files[0].n.rows_rejected, 3);
	assert_int_equal(sum.files[0].n.merged, 1);
	assert_int_equal(sum.files[0].n.values_dropped, 1); /* B's tempo 0 */
	/* SpotifyFeatures: A merges, F is new, G rejected. */
	assert_int_equal(sum.files[1].n.merged, 1);
	assert_int_equal(sum.files[1].n.new_tracks, 1);
	assert_int_equal(sum.files[1].n.rows_rejected, 1);
	assert_int_equal(sum.total.merged, 2);

	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 5); /* A B F H I */
	/* Track A: features from its first row (energy 0.8, key 6, major), genres from all. */
	assert_int_equal(tu_ws_long(ws, "SELECT round(energy*10) FROM tracks WHERE spotify_id LIKE 'AAAA%'"), 8);
	assert_int_equal(tu_ws_long(ws, "SELECT key FROM tracks WHERE spotify_id LIKE 'AAAA%'"), 6);
	assert_int_equal(tu_ws_long(ws, "SELECT popularity FROM tracks WHERE spotify_id LIKE 'AAAA%'"), 70);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM track_genres tg JOIN tracks t ON t.id=tg.track_id"
	                                " WHERE t.spotify_id LIKE 'AAAA%'"),
	                 5); /* pop, dance pop, rock, hard rock, dance */
	assert_string_equal(tu_ws_text(ws, "SELECT group_concat(g.name, '|') FROM (SELECT g.name FROM genres g"
	                                   " ORDER BY g.name) g"),
	                    "dance|dance pop|hard rock|movie|pop|rock");
	/* Track A sits in both playlists; B in one. */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists WHERE source='spotify_songs'"), 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlist_tracks"), 3);
	/* B: release year only, popularity empty, tempo 0 -> NULL, name with a comma. */
	assert_string_equal(tu_ws_text(ws, "SELECT release_date FROM tracks WHERE spotify_id LIKE 'BBBB%'"), "2001");
	assert_int_equal(
		tu_ws_long(ws, "SELECT popularity IS NULL AND tempo IS NULL FROM tracks WHERE spotify_id LIKE 'BBBB%'"),
		1);
	assert_string_equal(tu_ws_text(ws, "SELECT name FROM tracks WHERE spotify_id LIKE 'BBBB%'"),
	                    "Song B, with comma");
	/* F: note names, Major, "4-Mar" = 3/4. */
	assert_int_equal(tu_ws_long(ws, "SELECT key*10 + mode FROM tracks WHERE spotify_id LIKE 'FFFF%'"), 61);
	assert_int_equal(tu_ws_long(ws, "SELECT time_signature FROM tracks WHERE spotify_id LIKE 'FFFF%'"), 3);
	/* A gets its time signature filled from SpotifyFeatures ("4-Apr"). */
	assert_int_equal(tu_ws_long(ws, "SELECT time_signature FROM tracks WHERE spotify_id LIKE 'AAAA%'"), 4);
	/* H: list-string artists including an apostrophe; day-first date. */
	assert_string_equal(tu_ws_text(ws, "SELECT group_concat(a.name, '|') FROM track_artists ta JOIN artists a"
	                                   " ON a.id=ta.artist_id JOIN tracks t ON t.id=ta.track_id"
	                                   " WHERE t.spotify_id LIKE 'HHHH%' ORDER BY ta.position"),
	                    "Uli|Guns N' Roses");
	assert_string_equal(tu_ws_text(ws, "SELECT release_date FROM tracks WHERE spotify_id LIKE 'HHHH%'"),
	                    "1922-02-22");
	/* I: popularity 101 and time signature 0 dropped as values. */
	assert_int_equal(tu_ws_long(ws, "SELECT popularity IS NULL AND time_signature IS NULL AND explicit = 1"
	                                " FROM tracks WHERE spotify_id LIKE 'IIII%'"),
	                 1);

	/* Every reject names file, line, column and reason. */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE file LIKE '%spotify_songs.csv' AND line=5"
	                                " AND column_name='energy' AND reason='out_of_range' AND value='1.3'"),
	                 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE line=6 AND reason='field_count'"), 1);
	assert_int_equal(
		tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE line=7 AND reason='bad_id' AND column_name='id'"),
		1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE file LIKE '%SpotifyFeatures.csv' AND line=4"
	                                " AND column_name='key' AND reason='unparseable' AND value='H'"),
	                 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE action='value' AND column_name='popularity'"
	                                " AND value='101' AND line=3"),
	                 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM ingests"), 3);
	ingest_summary_free(&sum);

	/* Ingesting the first file again: every accepted row is a merge, nothing new. */
	char *again[1] = {a};
	tu_ingest(ws, again, 1, &sum);
	assert_int_equal(sum.total.merged, 3);
	assert_int_equal(sum.total.new_tracks, 0);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 5);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlist_tracks"), 3);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

/* The entries of directory `dir` whose name starts with `prefix`. */
static int dir_count(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (d == NULL)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void test_check_only_writes_nothing(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char *paths[1] = {(char *)tu_write(dir, "s.csv", SONGS)};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_options o = {.workspace = ws, .check_only = 1};
	ingest_summary sum;
	seg_error err = {0};
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), 0);
	assert_int_equal(sum.total.rows_read, 6);
	assert_int_equal(sum.total.rows_rejected, 3);
	assert_int_equal(sum.row_reasons[RR_OUT_OF_RANGE], 1);
	assert_int_equal(sum.row_reasons[RR_FIELD_COUNT], 1);
	assert_int_equal(sum.row_reasons[RR_BAD_ID], 1);
	char db[1200];
	snprintf(db, sizeof db, "%s/catalog.db", ws);
	assert_int_not_equal(access(db, F_OK), 0);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static void test_unknown_header_and_map(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	const char *csv = "TrackID,Title,Who,dance,energy,key,loudness,mode,speechiness,acousticness,"
			  "instrumentalness,liveness,valence,tempo\n"
			  "JJJJJJJJJJJJJJJJJJJJJJ,Mine,Me,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100\n";
	char good[1100];
	snprintf(good, sizeof good, "%s", tu_write(dir, "songs.csv", SONGS));
	char *paths[2] = {good, (char *)tu_write(dir, "mine.csv", csv)};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_options o = {.workspace = ws};
	ingest_summary sum;
	seg_error err = {0};
	/* The unknown header fails the whole call: the good file is not kept either. */
	assert_int_equal(ingest_run(&o, paths, 2, &sum, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "--map"));
	assert_non_null(strstr(err.file, "mine.csv"));
	assert_int_equal(err.line, 1);
	ingest_summary_free(&sum);
	/* The workspace had no catalogue: it still has none, nor the
	 * temporary the catalogue was being built in. */
	assert_int_equal(dir_count(ws, "catalog.db"), 0);
	/* With a mapping it goes in. */
	o.map_spec = "id=TrackID,name=Title,artists=Who,danceability=dance";
	assert_int_equal(ingest_run(&o, paths + 1, 1, &sum, &err), 0);
	assert_string_equal(sum.files[0].variant, "custom");
	assert_string_equal(tu_ws_text(ws, "SELECT name FROM tracks"), "Mine");
	assert_string_equal(tu_ws_text(ws, "SELECT name FROM artists"), "Me");
	/* Built in a temporary and renamed into place: the catalogue alone,
	 * with its search index, and the derived files of that catalogue. */
	assert_int_equal(dir_count(ws, "catalog.db"), 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM track_search WHERE track_search MATCH 'mine'"), 1);
	assert_int_equal(sum.tracks_with_features, 1);
	assert_int_equal(sum.snapshot_rows, 1);
	ingest_summary_free(&sum);
	/* The snapshot and names, written on the second thread from the
	 * temporary, are those of the catalogue now in place. */
	catalog *c = NULL;
	assert_int_equal(catalog_open(&c, ws, 0, &err), 0);
	assert_int_equal(workspace_features_state(ws, catalog_db(c), &err), WS_CURRENT);
	assert_int_equal(workspace_names_state(ws, catalog_db(c), &err), WS_CURRENT);
	catalog_close(c);
	/* Into the existing catalogue, the file again: merged in place. */
	assert_int_equal(ingest_run(&o, paths + 1, 1, &sum, &err), 0);
	assert_int_equal(sum.total.merged, 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM ingests"), 2);
	assert_int_equal(dir_count(ws, "catalog.db"), 1);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static void test_zstd_and_directory(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char sub[1100];
	snprintf(sub, sizeof sub, "%s/in", dir);
	assert_int_equal(mkdir(sub, 0777), 0);
	size_t n = sizeof FEATURES - 1, cap = ZSTD_compressBound(n);
	char *z = malloc(cap);
	size_t zn = ZSTD_compress(z, cap, FEATURES, n, 3);
	assert_false(ZSTD_isError(zn));
	char path[1200];
	snprintf(path, sizeof path, "%s/features.csv.zst", sub);
	FILE *f = fopen(path, "wb");
	fwrite(z, 1, zn, f);
	fclose(f);
	free(z);
	tu_write(sub, "tracks.csv", TRACKS600K);
	tu_write(sub, "notes.txt", "not data");
	char *paths[1] = {sub};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	tu_ingest(ws, paths, 1, &sum);
	assert_int_equal(sum.nfiles, 2); /* notes.txt is not a data file */
	assert_string_equal(sum.files[0].variant, "spotify_features");
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 4);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static void test_missing_file_and_empty_file(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[1100], missing[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(missing, sizeof missing, "%s/nope.csv", dir);
	char *paths[1] = {missing};
	ingest_options o = {.workspace = ws};
	ingest_summary sum;
	seg_error err = {0};
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_ENOTFOUND);
	ingest_summary_free(&sum);
	paths[0] = (char *)tu_write(dir, "empty.csv", "");
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "empty"));
	ingest_summary_free(&sum);
	/* A quoted field left open is an error with the line it opened on. */
	char bad[2048];
	snprintf(bad, sizeof bad, "%s%s", TRACKS600K,
	         "KKKKKKKKKKKKKKKKKKKKKK,\"never "
	         "closed,6,1,0,['x'],['x'],1922,0.6,0.4,0,-13,1,0.4,0.6,0.7,0.1,0.1,104,3\n");
	paths[0] = (char *)tu_write(dir, "bad.csv", bad);
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_EFORMAT);
	assert_int_equal(err.line, 4);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

/* Writes len bytes (NULs allowed) to dir/name; returns the path (static). */
static const char *write_bin(const char *dir, const char *name, const char *buf, size_t len)
{
	static char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Appends len bytes to a growing buffer. */
static void put(char **buf, size_t *len, const void *p, size_t n)
{
	*buf = realloc(*buf, *len + n);
	assert_non_null(*buf);
	memcpy(*buf + *len, p, n);
	*len += n;
}

static void test_long_line_and_nul_byte_rejected(void **state)
{
	(void)state;
	/* tracks.csv with, between its good rows, a 20 MB line (line 3) and a row
	 * whose id is valid up to a NUL byte followed by junk (line 4). Both go to
	 * rejects with their line and reason; the rows after them are read. */
	static const char nul_row[] = "5KY6tpydrnMqDLytakBoRx\0junk,Nul,6,126903,0,['Uli'],['x'],1922,"
				      "0.645,0.445,0,-13.338,1,0.451,0.674,0.744,0.151,0.127,104.851,3\n";
	const char *nl1 = strchr(TRACKS600K, '\n'); /* end of the header */
	const char *nl2 = strchr(nl1 + 1, '\n');    /* end of row H */
	char *buf = NULL;
	size_t len = 0;
	put(&buf, &len, TRACKS600K, (size_t)(nl2 + 1 - TRACKS600K));
	size_t big = 20 * 1000 * 1000;
	buf = realloc(buf, len + big);
	assert_non_null(buf);
	memset(buf + len, 'z', big);
	len += big;
	put(&buf, &len, "\n", 1);
	put(&buf, &len, nul_row, sizeof nul_row - 1);
	put(&buf, &len, nl2 + 1, strlen(nl2 + 1)); /* row I */

	const char *dir = tu_tmpdir();
	char *paths[1] = {(char *)write_bin(dir, "tracks.csv", buf, len)};
	free(buf);
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	tu_ingest(ws, paths, 1, &sum);
	assert_int_equal(sum.total.rows_read, 4);
	assert_int_equal(sum.total.rows_accepted, 2);
	assert_int_equal(sum.total.rows_rejected, 2);
	assert_int_equal(sum.row_reasons[RR_TOO_LONG], 1);
	assert_int_equal(sum.row_reasons[RR_NUL_BYTE], 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE file LIKE '%tracks.csv' AND line=3"
	                                " AND reason='too_long' AND action='row' AND detail LIKE '%4194304 bytes%'"),
	                 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE line=4 AND reason='nul_byte'"
	                                " AND column_name='id' AND detail LIKE 'field 1 of 20 (id)%'"),
	                 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks WHERE spotify_id='5KY6tpydrnMqDLytakBoRx'"), 0);
	ingest_summary_free(&sum);

	/* The playlist entries CSV: a NUL in the track id is a reject too. */
	static const char entries[] = "pid,pos,track_id,artist_name,track_name\n"
				      "1,0,5KY6tpydrnMqDLytakBoRx\0junk,A,S\n"
				      "1,1,5KY6tpydrnMqDLytakBoRx,A,S\n";
	paths[0] = (char *)write_bin(dir, "entries.csv", entries, sizeof entries - 1);
	tu_ingest(ws, paths, 1, &sum);
	assert_int_equal(sum.total.rows_rejected, 1);
	assert_int_equal(sum.total.playlist_entries, 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE file LIKE '%entries.csv' AND line=2"
	                                " AND reason='nul_byte' AND column_name='track_id'"),
	                 1);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static void test_endless_input_stops(void **state)
{
	(void)state;
	/* `segue ingest /dev/zero`: an error naming the file and line, soon, and
	 * nothing committed. */
	const char *dir = tu_tmpdir();
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	char *paths[1] = {"/dev/zero"};
	ingest_options o = {.workspace = ws};
	ingest_summary sum;
	seg_error err = {0};
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_EFORMAT);
	assert_string_equal(err.file, "/dev/zero");
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.msg, "CSV"));
	ingest_summary_free(&sum);
	assert_int_equal(dir_count(ws, "catalog.db"), 0); /* no catalogue, nor its temporary */

	/* A header line over the limits (9 MiB of names) stops the file at once. */
	size_t n = 9u << 20;
	char *hdr = malloc(n + 1);
	assert_non_null(hdr);
	memset(hdr, 'h', n);
	hdr[n] = '\n';
	paths[0] = (char *)write_bin(dir, "wide.csv", hdr, n + 1);
	free(hdr);
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_EFORMAT);
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.msg, "header"));
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

/* On a terminal, the note shown while the index, the snapshot and the names
 * are built is cleared at the end like the bar: the last thing on the line
 * is blanks over it, not the note (which the summary would be printed
 * over). The ingest runs in a child whose standard error is a pseudo
 * terminal. */
static void test_progress_note_cleared(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char *paths[1] = {(char *)tu_write(dir, "s.csv", SONGS)};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	const char *slave_name = ptsname(master);
	assert_non_null(slave_name);
	int slave = open(slave_name, O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(master);
		if (dup2(slave, STDERR_FILENO) < 0)
			_exit(2);
		ingest_options o = {.workspace = ws, .progress = 1};
		ingest_summary sum;
		seg_error err = {0};
		int rc = ingest_run(&o, paths, 1, &sum, &err);
		ingest_summary_free(&sum);
		fflush(stderr);
		_exit(rc == 0 ? 0 : 1);
	}
	close(slave);
	char out[65536];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(master, out + len, sizeof out - 1 - len);
		if (n > 0)
			len += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break; /* EIO once the child has closed the terminal */
	}
	out[len] = '\0';
	close(master);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	const char *note = "building the search index, feature snapshot and names...";
	const char *at = strstr(out, note);
	if (at == NULL)
		fail_msg("the note was not shown: \"%s\"", out);
	/* after the note: "\r", at least as many blanks, "\r", and nothing else */
	const char *p = at + strlen(note);
	while (*p == ' ')
		p++;
	if (*p != '\r')
		fail_msg("the note was not cleared: \"%s\"", at);
	size_t blanks = strspn(p + 1, " ");
	if (blanks < strlen(note) || strcmp(p + 1 + blanks, "\r") != 0)
		fail_msg("the note was not cleared: \"%s\"", at);
	tu_rmtree(dir);
}

/* A songs row: track letter (its id is 22 of it), playlist, artist. */
static void songs_row(char *buf, size_t cap, char track, const char *playlist, const char *energy)
{
	char id[23];
	memset(id, track, 22);
	id[22] = '\0';
	snprintf(buf, cap,
	         "%s,Song %c,Artist %c,50,album1xxxxxxxxxxxxxxxx,Album,2019-06-14,Mix %s,%s,pop,dance pop,"
	         "0.7,%s,6,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,200000\n",
	         id, track, track, playlist, playlist, energy);
}

/* The entries of all playlists as "playlist:pos:track letter|..." in order. */
static const char *entries(const char *ws)
{
	return tu_ws_text(ws, "SELECT group_concat(e, '|') FROM (SELECT p.external_id || ':' || pt.pos || ':' ||"
	                      " substr(t.spotify_id, 1, 1) AS e FROM playlist_tracks pt"
	                      " JOIN playlists p ON p.id = pt.playlist_id JOIN tracks t ON t.id = pt.track_id"
	                      " ORDER BY p.external_id, pt.pos)");
}

/* Track tables give playlists as sets in order of first appearance: a track
 * repeated in a playlist is kept once, at its first position; a later
 * ingest into the same catalogue appends after what is stored and skips
 * what is there. (The catalogue's content is the one the per-entry SQL
 * check gave before the membership moved into memory.) */
static void test_playlist_sets_across_ingests(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char text[4096], row[400];
	snprintf(text, sizeof text, "%s", SONGS_HEADER);
	const struct {
		char track;
		const char *playlist;
	} first[] = {{'A', "p1"}, {'B', "p1"}, {'B', "p2"}, {'A', "p1"}, {'A', "p2"}, {'C', "p1"}, {'B', "p1"}},
	  second[] = {{'D', "p1"}, {'A', "p1"}, {'A', "p3"}, {'B', "p2"}};
	for (size_t i = 0; i < sizeof first / sizeof *first; i++) {
		songs_row(row, sizeof row, first[i].track, first[i].playlist, "0.8");
		strcat(text, row);
	}
	char a[1100], b[1100], ws[1100];
	snprintf(a, sizeof a, "%s", tu_write(dir, "one.csv", text));
	snprintf(text, sizeof text, "%s", SONGS_HEADER);
	for (size_t i = 0; i < sizeof second / sizeof *second; i++) {
		songs_row(row, sizeof row, second[i].track, second[i].playlist, "0.3");
		strcat(text, row);
	}
	snprintf(b, sizeof b, "%s", tu_write(dir, "two.csv", text));
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	char *one[1] = {a}, *two[1] = {b};
	tu_ingest(ws, one, 1, &sum);
	assert_int_equal(sum.total.playlist_entries, 5);
	assert_int_equal(sum.total.playlists, 2);
	assert_int_equal(sum.total.merged, 4);
	ingest_summary_free(&sum);
	assert_string_equal(entries(ws), "p1:0:A|p1:1:B|p1:2:C|p2:0:B|p2:1:A");
	tu_ingest(ws, two, 1, &sum); /* an existing catalogue: the incremental path */
	assert_int_equal(sum.total.playlist_entries, 2);
	assert_int_equal(sum.total.playlists, 1);
	ingest_summary_free(&sum);
	assert_string_equal(entries(ws), "p1:0:A|p1:1:B|p1:2:C|p1:3:D|p2:0:B|p2:1:A|p3:0:A");
	/* First values win across ingests; the search index has every track once. */
	assert_int_equal(tu_ws_long(ws, "SELECT round(energy*10) FROM tracks WHERE spotify_id LIKE 'D%'"), 3);
	assert_int_equal(tu_ws_long(ws, "SELECT round(energy*10) FROM tracks WHERE spotify_id LIKE 'A%'"), 8);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM track_search"), 4);
	assert_string_equal(tu_ws_text(ws, "SELECT artists FROM track_search WHERE track_search MATCH 'song d'"),
	                    "Artist D");
	tu_rmtree(dir);
}

/* Many batches through the parser thread: rows arrive in file order (the
 * positions follow it), rejects keep their line numbers. */
static void test_many_rows_in_order(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	enum { ROWS = 5000 };
	size_t cap = ROWS * 200 + 1000, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "%s", SONGS_HEADER);
	for (int i = 0; i < ROWS; i++) {
		/* track i / 2: each twice in a row; line i + 2 */
		int t = i / 2;
		const char *energy = i == 2999 ? "1.5" : "0.5"; /* line 3001 rejected */
		len += (size_t)snprintf(text + len, cap - len,
		                        "%06dxxxxxxxxxxxxxxxx,Song %d,Artist %d,50,a,b,2001,Big,big,pop,pop,0.5,%s,"
		                        "6,-5.0,1,0.05,0.1,0,0.1,0.5,120.0,200000\n",
		                        t, t, t % 97, energy);
	}
	char path[1100], ws[1100];
	snprintf(path, sizeof path, "%s", tu_write(dir, "big.csv", text));
	free(text);
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	char *paths[1] = {path};
	tu_ingest(ws, paths, 1, &sum);
	assert_int_equal(sum.total.rows_read, ROWS);
	assert_int_equal(sum.total.rows_rejected, 1);
	assert_int_equal(sum.total.playlist_entries, ROWS / 2);
	ingest_summary_free(&sum);
	assert_int_equal(tu_ws_long(ws, "SELECT line FROM rejects"), 3001);
	assert_string_equal(tu_ws_text(ws, "SELECT column_name FROM rejects"), "energy");
	/* entry k is track k: positions in file order, no gap */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlist_tracks pt JOIN tracks t ON t.id = pt.track_id"
	                                " WHERE CAST(substr(t.spotify_id, 1, 6) AS INTEGER) = pt.pos"),
	                 ROWS / 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM track_search WHERE track_search MATCH '\"song 2499\"'"),
	                 1);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variants_merge),
		cmocka_unit_test(test_check_only_writes_nothing),
		cmocka_unit_test(test_unknown_header_and_map),
		cmocka_unit_test(test_zstd_and_directory),
		cmocka_unit_test(test_missing_file_and_empty_file),
		cmocka_unit_test(test_long_line_and_nul_byte_rejected),
		cmocka_unit_test(test_endless_input_stops),
		cmocka_unit_test(test_progress_note_cleared),
		cmocka_unit_test(test_playlist_sets_across_ingests),
		cmocka_unit_test(test_many_rows_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
