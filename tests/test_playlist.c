/* test_playlist.c: MPD JSON slices and the MPD CSV pair, in either order,
 * through ingest_run, with bad entries going to rejects. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"

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
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM rejects WHERE reason='bad_id' AND value='spotify:track:tooShort'"), 1);
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
static const char ENTRIES[] =
	"pid,pos,track_id,artist_name,track_name\n"
	"0,0,0UaMYEvWZi0ZqiDOoHU3YI,Missy Elliott,Lose Control\n"
	"0,1,6I9VzXrHxO9rA9A5euc8Ak,Britney Spears,Toxic\n"
	"1,0,6I9VzXrHxO9rA9A5euc8Ak,Britney Spears,Toxic\n"
	"1,x,6I9VzXrHxO9rA9A5euc8Ak,Britney Spears,Toxic\n"
	"1,1,6I9VzXrHxO9rA9A5euc8Ak\n";

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mpd_json_slice),
		cmocka_unit_test(test_mpd_json_invalid),
		cmocka_unit_test(test_csv_pair_playlists_first),
		cmocka_unit_test(test_csv_pair_entries_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
