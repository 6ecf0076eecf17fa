/* eda_sql.c: the features, queries and sections of the EDA report (see
 * eda_sql.h), and the helpers that run the queries. */
#include "report/eda_sql.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Features                                                                  */

/* Bins of the 0..1 features are 0.05 wide; MIN keeps 1.0 in the last bin. */
/* clang-format off */
const eda_feature eda_features[EDA_NFEAT] = {
	{.name = "danceability", .label = "danceability", .expr = "danceability",
	 .bin = "MIN(CAST(danceability * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "danceability", .high = "very danceable tracks", .low = "tracks hard to dance to"},
	{.name = "energy", .label = "energy", .expr = "energy",
	 .bin = "MIN(CAST(energy * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "energy", .high = "energetic tracks", .low = "calm tracks"},
	{.name = "valence", .label = "valence", .expr = "valence",
	 .bin = "MIN(CAST(valence * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "valence", .high = "cheerful-sounding tracks", .low = "sad-sounding tracks"},
	{.name = "acousticness", .label = "acousticness", .expr = "acousticness",
	 .bin = "MIN(CAST(acousticness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "acousticness", .high = "acoustic tracks", .low = "electric or electronic tracks"},
	{.name = "speechiness", .label = "speechiness", .expr = "speechiness",
	 .bin = "MIN(CAST(speechiness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "speechiness", .high = "spoken-word tracks", .low = "tracks without speech"},
	{.name = "instrumentalness", .label = "instrumentalness", .expr = "instrumentalness",
	 .bin = "MIN(CAST(instrumentalness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "instrumentalness", .high = "instrumental tracks", .low = "tracks with vocals"},
	{.name = "liveness", .label = "liveness", .expr = "liveness",
	 .bin = "MIN(CAST(liveness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "liveness", .high = "live recordings", .low = "studio recordings"},
	{.name = "loudness", .label = "loudness (dB)", .expr = "loudness",
	 .bin = "CAST((MAX(loudness, -60) + 60) / 2 AS INT)", .origin = -60, .width = 2,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "loudness", .high = "loud tracks", .low = "quiet tracks", .units = " dB"},
	{.name = "tempo", .label = "tempo (BPM)", .expr = "tempo",
	 .bin = "MIN(CAST(tempo / 5 AS INT), 59)", .width = 5, .last_bin = 59,
	 .hist_section = EDA_SEC_KEYS, .note = "The last bin holds every tempo from 295 BPM up.",
	 .word = "tempo", .high = "fast tracks", .low = "slow tracks", .units = " BPM"},
	{.name = "duration_min", .label = "duration (minutes)", .expr = "duration_ms / 60000.0",
	 .bin = "MIN(CAST(duration_ms / 30000 AS INT), 23)", .width = 0.5, .last_bin = 23,
	 .hist_section = EDA_SEC_FEATURES,
	 .note = "The last bin holds every track of 11.5 minutes or longer.",
	 .word = "duration", .high = "long tracks", .low = "short tracks", .units = " minutes"},
	{.name = "popularity", .label = "popularity (0-100)", .expr = "popularity",
	 .bin = "MIN(CAST(popularity / 5 AS INT), 19)", .width = 5, .fixed_bins = 20,
	 .hist_section = EDA_SEC_FEATURES,
	 .word = "popularity", .high = "popular tracks", .low = "unpopular tracks"},
};
/* clang-format on */
_Static_assert(sizeof(eda_features) / sizeof(eda_features[0]) == EDA_NFEAT, "one entry per feature");

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */

/* clang-format off */
const eda_query eda_queries[] = {
	{"counts", "Catalogue", EDA_SEC_OVERVIEW, EDA_K_COUNTS,
	 "SELECT (SELECT COUNT(*) FROM tracks) AS tracks,\n"
	 "       (SELECT COUNT(*) FROM tracks WHERE has_features = 1) AS tracks_with_features,\n"
	 "       (SELECT COUNT(*) FROM artists) AS artists,\n"
	 "       (SELECT COUNT(*) FROM genres) AS genres,\n"
	 "       (SELECT COUNT(*) FROM playlists) AS playlists,\n"
	 "       (SELECT COUNT(*) FROM playlist_tracks) AS playlist_entries,\n"
	 "       (SELECT COUNT(*) FROM ingests) AS ingested_files,\n"
	 "       (SELECT COUNT(*) FROM tracks WHERE synthetic = 1) AS synthetic_tracks", NULL},
	{"ingests", "Ingested files", EDA_SEC_OVERVIEW, EDA_K_TABLE,
	 "SELECT file, variant, started_at, rows_read, rows_accepted, rows_rejected,\n"
	 "       ROUND(seconds, 1) AS seconds\n"
	 "FROM ingests\n"
	 "ORDER BY id",
	 "No files ingested yet."},
	{"feature_stats", "Summary statistics of tracks with audio features", EDA_SEC_FEATURES, EDA_K_STATS,
	 "SELECT {x} AS {name} FROM tracks WHERE has_features = 1 AND {x} IS NOT NULL", NULL},
	{"histogram", "{label}", EDA_SEC_FEATURES, EDA_K_HIST,
	 "SELECT {bin} AS bin, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND {x} IS NOT NULL\n"
	 "GROUP BY bin\n"
	 "ORDER BY bin", NULL},
	{"correlations", "Pearson correlation between features", EDA_SEC_CORR, EDA_K_CORR,
	 "SELECT danceability, energy, valence, acousticness, speechiness, instrumentalness,\n"
	 "       liveness, loudness, tempo, duration_ms / 60000.0 AS duration_min, popularity\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1", NULL},
	{"genre_profiles", "Mean audio features of the largest genres", EDA_SEC_PROFILES, EDA_K_PROFILE,
	 "SELECT g.name AS genre, COUNT(*) AS tracks,\n"
	 "       AVG(t.danceability) AS danceability, AVG(t.energy) AS energy,\n"
	 "       AVG(t.valence) AS valence, AVG(t.acousticness) AS acousticness,\n"
	 "       AVG(t.speechiness) AS speechiness, AVG(t.instrumentalness) AS instrumentalness,\n"
	 "       AVG(t.liveness) AS liveness\n"
	 "FROM track_genres tg\n"
	 "JOIN genres g ON g.id = tg.genre_id\n"
	 "JOIN tracks t ON t.id = tg.track_id\n"
	 "WHERE t.has_features = 1\n"
	 "GROUP BY g.id\n"
	 "ORDER BY tracks DESC, genre\n"
	 "LIMIT {limit}", NULL},
	{"popularity_vs", "Popularity by {label}", EDA_SEC_POPULARITY, EDA_K_SCATTER,
	 "SELECT {x} AS {name}, popularity\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND {x} IS NOT NULL AND popularity IS NOT NULL", NULL},
	{"key_mode", "Key and mode", EDA_SEC_KEYS, EDA_K_KEYMODE,
	 "SELECT key, mode, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND key IS NOT NULL\n"
	 "GROUP BY key, mode\n"
	 "ORDER BY key, mode", NULL},
	{"tempo_histogram", "{label}", EDA_SEC_KEYS, EDA_K_HIST,
	 "SELECT {bin} AS bin, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND {x} IS NOT NULL\n"
	 "GROUP BY bin\n"
	 "ORDER BY bin", NULL},
	{"time_signatures", "Time signature (beats per bar)", EDA_SEC_KEYS, EDA_K_TIMESIG,
	 "SELECT time_signature, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND time_signature IS NOT NULL\n"
	 "GROUP BY time_signature\n"
	 "ORDER BY time_signature", NULL},
	{"top_artists", "Artists with the most tracks", EDA_SEC_TOP, EDA_K_BARS,
	 "SELECT a.name AS artist, COUNT(*) AS tracks\n"
	 "FROM track_artists ta\n"
	 "JOIN artists a ON a.id = ta.artist_id\n"
	 "GROUP BY a.id\n"
	 "ORDER BY tracks DESC, artist\n"
	 "LIMIT {limit}", NULL},
	{"genres", "Genres with the most tracks", EDA_SEC_TOP, EDA_K_GENRES,
	 "SELECT g.name AS genre, COUNT(tg.track_id) AS tracks\n"
	 "FROM genres g\n"
	 "LEFT JOIN track_genres tg ON tg.genre_id = g.id\n"
	 "GROUP BY g.id\n"
	 "ORDER BY tracks DESC, genre", NULL},
	{"rejects_by_reason", "Rejects by reason", EDA_SEC_QUALITY, EDA_K_REJECTS,
	 "SELECT reason, action, COUNT(*) AS rejects\n"
	 "FROM rejects\n"
	 "GROUP BY reason, action\n"
	 "ORDER BY rejects DESC, reason, action", NULL},
	{"rejects_by_file", "Rejects by file", EDA_SEC_QUALITY, EDA_K_TABLE,
	 "SELECT file, COUNT(*) AS rejects,\n"
	 "       SUM(action = 'row') AS rows_dropped, SUM(action = 'value') AS values_cleared\n"
	 "FROM rejects\n"
	 "GROUP BY file\n"
	 "ORDER BY rejects DESC, file",
	 "No rejects."},
	{"reject_examples", "Example rejects", EDA_SEC_QUALITY, EDA_K_TABLE,
	 "SELECT file, line, column_name, value, reason, detail, action\n"
	 "FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY reason ORDER BY id) AS k\n"
	 "      FROM rejects r)\n"
	 "WHERE k <= {limit}\n"
	 "ORDER BY reason, id",
	 "No rejects."},
	{"missing_values", "Missing values among tracks with audio features", EDA_SEC_QUALITY, EDA_K_MISSING,
	 "SELECT COUNT(*) AS tracks,\n"
	 "       COUNT(*) - COUNT(name) AS name, COUNT(*) - COUNT(album) AS album,\n"
	 "       COUNT(*) - COUNT(release_date) AS release_date, COUNT(*) - COUNT(year) AS year,\n"
	 "       COUNT(*) - COUNT(popularity) AS popularity,\n"
	 "       COUNT(*) - COUNT(duration_ms) AS duration_ms,\n"
	 "       COUNT(*) - COUNT(explicit) AS explicit,\n"
	 "       COUNT(*) - COUNT(danceability) AS danceability,\n"
	 "       COUNT(*) - COUNT(energy) AS energy, COUNT(*) - COUNT(key) AS key,\n"
	 "       COUNT(*) - COUNT(loudness) AS loudness, COUNT(*) - COUNT(mode) AS mode,\n"
	 "       COUNT(*) - COUNT(speechiness) AS speechiness,\n"
	 "       COUNT(*) - COUNT(acousticness) AS acousticness,\n"
	 "       COUNT(*) - COUNT(instrumentalness) AS instrumentalness,\n"
	 "       COUNT(*) - COUNT(liveness) AS liveness, COUNT(*) - COUNT(valence) AS valence,\n"
	 "       COUNT(*) - COUNT(tempo) AS tempo,\n"
	 "       COUNT(*) - COUNT(time_signature) AS time_signature\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1", NULL},
	{"merged_duplicates", "Duplicate rows merged into existing tracks", EDA_SEC_QUALITY, EDA_K_MERGED,
	 "SELECT file, rows_accepted, new_tracks, merged, values_dropped\n"
	 "FROM ingests\n"
	 "ORDER BY id",
	 "No files ingested yet."},
	{"tracks_without_features", "Tracks without audio features", EDA_SEC_QUALITY, EDA_K_NOFEAT,
	 "SELECT COUNT(*) AS tracks_without_features,\n"
	 "       COALESCE(SUM(EXISTS (SELECT 1 FROM playlist_tracks pt\n"
	 "                            WHERE pt.track_id = t.id)), 0) AS in_playlists,\n"
	 "       (SELECT COUNT(*) FROM playlist_tracks pt\n"
	 "        JOIN tracks t2 ON t2.id = pt.track_id\n"
	 "        WHERE t2.has_features = 0) AS playlist_entries\n"
	 "FROM tracks t\n"
	 "WHERE t.has_features = 0", NULL},
};
/* clang-format on */
const size_t eda_nqueries = sizeof(eda_queries) / sizeof(eda_queries[0]);

const char eda_sql_merged_total[] = "SELECT COALESCE(SUM(merged), 0) FROM ingests";

const char eda_sql_popularity_values[] = "SELECT popularity AS value, COUNT(*) AS tracks\n"
					 "FROM tracks\n"
					 "WHERE has_features = 1 AND popularity IS NOT NULL\n"
					 "GROUP BY popularity\n"
					 "ORDER BY tracks DESC, value";

const char eda_sql_spoken_total[] = "SELECT COUNT(*) AS spoken_word_tracks\n"
				    "FROM tracks\n"
				    "WHERE has_features = 1 AND speechiness > " EDA_STR(EDA_SPOKEN_SPEECHINESS);

const char eda_sql_spoken_examples[] =
	"SELECT a.name AS artist, COUNT(*) AS tracks,\n"
	"       (SELECT t2.name FROM tracks t2\n"
	"        JOIN track_artists ta2 ON ta2.track_id = t2.id AND ta2.position = 0\n"
	"        WHERE ta2.artist_id = a.id AND t2.has_features = 1\n"
	"          AND t2.speechiness > " EDA_STR(
		EDA_SPOKEN_SPEECHINESS) "\n"
					"        ORDER BY t2.speechiness DESC, t2.id LIMIT 1) AS example\n"
					"FROM tracks t\n"
					"JOIN track_artists ta ON ta.track_id = t.id AND ta.position = 0\n"
					"JOIN artists a ON a.id = ta.artist_id\n"
					"WHERE t.has_features = 1 AND t.speechiness > " EDA_STR(
						EDA_SPOKEN_SPEECHINESS) "\n"
									"GROUP BY a.id\n"
									"ORDER BY tracks DESC, artist\n"
									"LIMIT {limit}";

const char eda_sql_ingest_totals[] = "SELECT COALESCE(SUM(new_tracks + merged), 0) AS track_rows,\n"
				     "       COALESCE(SUM(merged), 0) AS merged\n"
				     "FROM ingests";

/* ------------------------------------------------------------------------ */
/* Sections                                                                  */

/* clang-format off */
const eda_section eda_sections[EDA_NSECTIONS] = {
	{"overview", "Overview", NULL, NULL, 0},
	{"findings", "Findings",
	 "What the figures below say, in sentences computed from the data; each names the "
	 "numbers it rests on.", NULL, 0},
	{"features", "Feature distributions",
	 "Audio features of the tracks that have them; the 0-1 features use bins of 0.05.", NULL,
	 360},
	{"correlations", "Correlations",
	 "Pearson correlation of each pair of features, over the tracks where both are known.", NULL,
	 0},
	{"profiles", "Feature profiles by genre",
	 "Mean of each 0-1 audio feature for the genres with the most tracks.", NULL, 0},
	{"popularity", "Popularity and features",
	 "Each panel shades tracks by density; the line joins the mean popularity of ten "
	 "equal-count bins of the feature.", NULL, 360},
	{"keys", "Key, mode, tempo and time signature", NULL, "grid g2", 480},
	{"top", "Top artists and genres", "Counted by tracks; a track with two artists counts for both.",
	 "grid g2", 480},
	{"quality", "Data quality",
	 "What ingest could not use, and what is missing from what it kept.", "grid g2", 480},
};
/* clang-format on */

const char *const eda_key_names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

/* ------------------------------------------------------------------------ */
/* Running the SQL                                                           */

void eda_sql_expand(strbuf *sb, const char *tmpl, const eda_feature *f, int limit)
{
	strbuf_reset(sb);
	for (const char *p = tmpl; *p;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			if (e) {
				size_t n = (size_t)(e - p - 1);
				const char *rep = NULL;
				char num[24];
				if (f && n == 1 && strncmp(p + 1, "x", 1) == 0)
					rep = f->expr;
				else if (f && n == 3 && strncmp(p + 1, "bin", 3) == 0)
					rep = f->bin;
				else if (f && n == 4 && strncmp(p + 1, "name", 4) == 0)
					rep = f->name;
				else if (f && n == 5 && strncmp(p + 1, "label", 5) == 0)
					rep = f->label;
				else if (n == 5 && strncmp(p + 1, "limit", 5) == 0) {
					snprintf(num, sizeof num, "%d", limit);
					rep = num;
				}
				if (rep) {
					strbuf_puts(sb, rep);
					p = e + 1;
					continue;
				}
			}
		}
		strbuf_putc(sb, *p++);
	}
}

int eda_sql_prepare(sqlite3 *db, const char *name, const char *sql, sqlite3_stmt **st, seg_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return seg_error_set(err, SEG_EDB, "EDA query %s failed: %s", name, sqlite3_errmsg(db));
	}
	return 0;
}

int eda_sql_done(sqlite3 *db, const char *name, int step_rc, seg_error *err)
{
	if (step_rc == SQLITE_DONE)
		return 0;
	return seg_error_set(err, SEG_EDB, "EDA query %s failed: %s", name, sqlite3_errmsg(db));
}

double eda_sql_double(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

int eda_sql_one_row(sqlite3 *db, const eda_query *q, sqlite3_stmt **st, int *has_row, seg_error *err)
{
	int rc = eda_sql_prepare(db, q->name, q->sql, st, err);
	if (rc < 0)
		return rc;
	int src = sqlite3_step(*st);
	*has_row = src == SQLITE_ROW;
	if (!*has_row) {
		rc = eda_sql_done(db, q->name, src, err);
		if (rc < 0) {
			sqlite3_finalize(*st);
			*st = NULL;
		}
	}
	return rc;
}

int eda_sql_check_schema(sqlite3 *db, seg_error *err)
{
	static const char *const need[] = {"ingests",      "tracks",    "artists",         "track_artists", "genres",
	                                   "track_genres", "playlists", "playlist_tracks", "rejects"};
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return seg_error_set(err, SEG_EFORMAT, "not a segue catalogue: %s", sqlite3_errmsg(db));
	int rc = 0;
	for (size_t i = 0; i < sizeof need / sizeof need[0] && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, need[i], -1, SQLITE_STATIC);
		int s = sqlite3_step(st);
		if (s == SQLITE_DONE)
			rc = seg_error_set(err, SEG_EFORMAT, "not a segue catalogue: it has no table %s", need[i]);
		else if (s != SQLITE_ROW)
			rc = seg_error_set(err, SEG_EFORMAT, "not a segue catalogue: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}
