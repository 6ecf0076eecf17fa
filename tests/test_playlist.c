/* test_playlist.c: MPD JSON slices and the MPD CSV pair, in either order,
 * through ingest_run, with bad entries going to rejects. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* clang-format off */
static const char SLICE[] =
	"{\"info\": {\"slice\": \"0-1\", \"version\": \"v1\"},\n"
	" \"playlists\": [\n"
	"  {\"name\": \"Throwbacks\", \"collaborative\": \"false\", \"pid\": 0, \"num_followers\": 3,\n"
	"   \"tracks\": [\n"
	"     {\"pos\": 0, \"artist_name\": \"Missy Elliott\", \"track_uri\": \"spotify:track:0UaMYEvWZi0ZqiDOoHU3YI\",\n"
	"      \"track_name\": \"Lose Control\"},\n"
	"     {\"pos\": 1, \"artist_name\": \"Britney Spears\", \"track_uri\": \"spotify:track:6I9VzXrHxO9rA9A5euc8Ak\",\n"
	"      \"track_name\": \"Toxic\"},\n"
	"     {\"pos\": 2, \"artist_name\": \"Nobody\", \"track_uri\": \"spotify:track:tooShort\", \"track_name\": \"x\"}\n"
	"   ]},\n"
	"  {\"name\": \"Chill\", \"pid\": 1, \"num_followers\": 1, \"description\": \"lazy days\",\n"
	"   \"tracks\": [\n"
	"     {\"pos\": 0, \"artist_name\": \"Britney Spears\", \"track_uri\": \"spotify:track:6I9VzXrHxO9rA9A5euc8Ak\",\n"
	"      \"track_name\": \"Toxic\"}\n"
	"   ]},\n"
	"  {\"name\": \"broken\", \"tracks\": []}\n"
	" ]}\n";
/* clang-format on */

static void test_mpd_json_slice(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char *paths[1] = {(char *)tu_write(dir, "mpd.slice.0-999.json", SLICE)};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	tu_ingest(ws, paths, 1, &sum);
	assert_string_equal(sum.files[0].variant, "mpd_json");
	assert_int_equal(sum.total.playlists, 2);
	assert_int_equal(sum.total.playlist_entries, 3);
	assert_int_equal(sum.total.rows_rejected, 2); /* the bad URI and the playlist without pid */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists"), 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlist_tracks"), 3);
	/* Tracks known only from playlists are catalogued without features. */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks WHERE NOT has_features"), 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks WHERE name='Toxic'"), 1);
	assert_int_equal(tu_ws_long(ws, "SELECT num_followers FROM playlists WHERE name='Throwbacks'"), 3);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists WHERE description='lazy days'"), 1);
	assert_int_equal(
		tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE reason='bad_id' AND value='spotify:track:tooShort'"),
		1);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static void test_mpd_json_invalid(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char *paths[1] = {(char *)tu_write(dir, "bad.json", "{\"playlists\": [ {\"pid\": 1,, } ]}")};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_options o = {.workspace = ws};
	ingest_summary sum;
	seg_error err = {0};
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_EFORMAT);
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.file, "bad.json"));
	ingest_summary_free(&sum);
	paths[0] = (char *)tu_write(dir, "notmpd.json", "{\"tracks\": []}");
	assert_int_equal(ingest_run(&o, paths, 1, &sum, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "Million Playlist"));
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static const char PLAYLISTS[] =
	"pid,source_slice,name,description,num_followers,num_tracks,num_edits,num_artists,duration_ms\n"
	"0,0-999,Road trip,,29,2,4,2,400000\n"
	"1,0-999,\"Rock, loud\",\"songs, \"\"loud\"\" ones\",10,1,1,1,200000\n";
/* clang-format off */
static const char ENTRIES[] =
	"pid,pos,track_id,artist_name,track_name\n"
	"0,0,0UaMYEvWZi0ZqiDOoHU3YI,Missy Elliott,Lose Control\n"
	"0,1,6I9VzXrHxO9rA9A5euc8Ak,Britney Spears,Toxic\n"
	"1,0,6I9VzXrHxO9rA9A5euc8Ak,Britney Spears,Toxic\n"
	"1,x,6I9VzXrHxO9rA9A5euc8Ak,Britney Spears,Toxic\n"
	"1,1,6I9VzXrHxO9rA9A5euc8Ak\n";
/* clang-format on */

static void run_pair(int entries_first)
{
	const char *dir = tu_tmpdir();
	char p1[1100], p2[1100];
	snprintf(p1, sizeof p1, "%s", tu_write(dir, "mpd_subset_playlists.csv", PLAYLISTS));
	snprintf(p2, sizeof p2, "%s", tu_write(dir, "mpd_subset_playlist_tracks.csv", ENTRIES));
	char *paths[2] = {entries_first ? p2 : p1, entries_first ? p1 : p2};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	tu_ingest(ws, paths, 2, &sum);
	assert_int_equal(sum.total.playlist_entries, 3);
	assert_int_equal(sum.total.rows_rejected, 2); /* bad position, short row */
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists"), 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists WHERE name IS NULL"), 0);
	assert_int_equal(tu_ws_long(ws, "SELECT num_followers FROM playlists WHERE external_id='0'"), 29);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists WHERE description='songs, \"loud\" ones'"), 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlist_tracks"), 3);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE reason='field_count' AND line=6"), 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE column_name='pos' AND line=5"), 1);
	/* Ingesting the same files again changes nothing but the log. */
	ingest_summary_free(&sum);
	tu_ingest(ws, paths, 2, &sum);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlists"), 2);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM playlist_tracks"), 3);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 2);
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

static void test_csv_pair_playlists_first(void **state)
{
	(void)state;
	run_pair(0);
}

static void test_csv_pair_entries_first(void **state)
{
	(void)state;
	run_pair(1);
}

static void test_csv_rows_over_limit_or_with_nul(void **state)
{
	(void)state;
	/* The playlists table: a name with a NUL byte (line 2), a description
	 * longer than CSV_MAX_FIELD (line 3), then a good row (line 4). */
	static const char head[] =
		"pid,source_slice,name,description,num_followers,num_tracks,num_edits,num_artists,duration_ms\n"
		"0,0-999,Road\0trip,,29,2,4,2,400000\n"
		"1,0-999,Long,\"";
	static const char tail[] = "\",10,1,1,1,200000\n"
				   "2,0-999,Fine,,3,1,1,1,200000\n";
	size_t big = CSV_MAX_FIELD + 1, n = sizeof head - 1 + big + sizeof tail - 1;
	char *buf = malloc(n);
	assert_non_null(buf);
	memcpy(buf, head, sizeof head - 1);
	memset(buf + sizeof head - 1, 'd', big);
	memcpy(buf + sizeof head - 1 + big, tail, sizeof tail - 1);
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/playlists.csv", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(buf);
	char *paths[1] = {path};
	char ws[1100];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	ingest_summary sum;
	tu_ingest(ws, paths, 1, &sum);
	assert_int_equal(sum.total.rows_read, 3);
	assert_int_equal(sum.total.rows_rejected, 2);
	assert_int_equal(sum.row_reasons[RR_NUL_BYTE], 1);
	assert_int_equal(sum.row_reasons[RR_TOO_LONG], 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE line=2 AND reason='nul_byte'"
	                                " AND column_name='name' AND value='Road'"),
	                 1);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE line=3 AND reason='too_long'"
	                                " AND column_name IS NULL"),
	                 1);
	assert_string_equal(tu_ws_text(ws, "SELECT group_concat(name) FROM playlists"), "Fine");
	ingest_summary_free(&sum);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mpd_json_slice),
		cmocka_unit_test(test_mpd_json_invalid),
		cmocka_unit_test(test_csv_pair_playlists_first),
		cmocka_unit_test(test_csv_pair_entries_first),
		cmocka_unit_test(test_csv_rows_over_limit_or_with_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
