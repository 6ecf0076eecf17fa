/* eda.c: the exploratory report (see eda.h). Every figure is driven by one SQL
 * query from the QUERIES table below, and the page shows that SQL under the
 * figure so that an analyst can re-run it with `segue sql`. Binning, grouping
 * and averaging happen in SQL where SQL says it clearly; C computes what SQL
 * says badly (quartiles, Pearson correlations, equal-count bins). Where C needs
 * rows in order it sorts them itself: qsort of doubles is several times faster
 * than SQLite's general-purpose sorter on a million rows. */
#include "report/eda.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/container.h"
#include "report/svg.h"
#include "core/utf8.h"

/* ------------------------------------------------------------------------ */
/* Features                                                                  */

enum { SEC_OVERVIEW, SEC_FEATURES, SEC_CORR, SEC_PROFILES, SEC_POPULARITY, SEC_KEYS, SEC_TOP,
       SEC_QUALITY, NSECTIONS };

/* A numeric track column as the report treats it. */
typedef struct eda_feature {
	const char *name;  /* key in summary.json and the SQL alias */
	const char *label; /* axis label */
	const char *expr;  /* SQL expression over tracks */
	const char *bin;   /* SQL expression giving the histogram bin (an integer) */
	double origin;     /* bin b covers origin + b*width .. origin + (b+1)*width */
	double width;
	int unit;          /* 1: a 0..1 audio feature (genre profiles, fixed axes) */
	int fixed_bins;    /* > 0: the histogram always spans bins 0..fixed_bins-1 */
	int last_bin;      /* > 0: the bin expression's upper clamp (see note) */
	int hist_section;  /* section that shows its histogram */
	const char *note;  /* shown under the histogram, or NULL */
} eda_feature;

/* Bins of the 0..1 features are 0.05 wide; MIN keeps 1.0 in the last bin. */
static const eda_feature FEATURES[] = {
	{.name = "danceability", .label = "danceability", .expr = "danceability",
	 .bin = "MIN(CAST(danceability * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "energy", .label = "energy", .expr = "energy",
	 .bin = "MIN(CAST(energy * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "valence", .label = "valence", .expr = "valence",
	 .bin = "MIN(CAST(valence * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "acousticness", .label = "acousticness", .expr = "acousticness",
	 .bin = "MIN(CAST(acousticness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "speechiness", .label = "speechiness", .expr = "speechiness",
	 .bin = "MIN(CAST(speechiness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "instrumentalness", .label = "instrumentalness", .expr = "instrumentalness",
	 .bin = "MIN(CAST(instrumentalness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "liveness", .label = "liveness", .expr = "liveness",
	 .bin = "MIN(CAST(liveness * 20 AS INT), 19)", .width = 0.05, .unit = 1, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
	{.name = "loudness", .label = "loudness (dB)", .expr = "loudness",
	 .bin = "CAST((MAX(loudness, -60) + 60) / 2 AS INT)", .origin = -60, .width = 2,
	 .hist_section = SEC_FEATURES},
	{.name = "tempo", .label = "tempo (BPM)", .expr = "tempo",
	 .bin = "MIN(CAST(tempo / 5 AS INT), 59)", .width = 5, .last_bin = 59,
	 .hist_section = SEC_KEYS, .note = "The last bin holds every tempo from 295 BPM up."},
	{.name = "duration_min", .label = "duration (minutes)", .expr = "duration_ms / 60000.0",
	 .bin = "MIN(CAST(duration_ms / 30000 AS INT), 23)", .width = 0.5, .last_bin = 23,
	 .hist_section = SEC_FEATURES,
	 .note = "The last bin holds every track of 11.5 minutes or longer."},
	{.name = "popularity", .label = "popularity (0-100)", .expr = "popularity",
	 .bin = "MIN(CAST(popularity / 5 AS INT), 19)", .width = 5, .fixed_bins = 20,
	 .hist_section = SEC_FEATURES},
};
#define NFEAT (sizeof(FEATURES) / sizeof(FEATURES[0]))
#define FEAT_POPULARITY (NFEAT - 1)
#define NUNIT 7 /* the first NUNIT features are the 0..1 ones */

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */

typedef enum eda_kind {
	K_COUNTS,   /* one row of counts: the overview cards */
	K_TABLE,    /* any rows, shown as a table */
	K_STATS,    /* per feature: its sorted values -> summary statistics */
	K_HIST,     /* per feature: (bin, tracks) -> histogram */
	K_CORR,     /* all features per track -> Pearson matrix */
	K_PROFILE,  /* (genre, tracks, mean per unit feature) -> lines */
	K_SCATTER,  /* per feature: sorted (x, popularity) -> density + decile means */
	K_KEYMODE,  /* (key, mode, tracks) -> grouped columns */
	K_TIMESIG,  /* (time_signature, tracks) -> columns */
	K_BARS,     /* (label, value) -> horizontal bars */
	K_GENRES,   /* (genre, tracks) for every genre -> bars of the first rows */
	K_REJECTS,  /* (reason, action, rejects) -> bars */
	K_MISSING,  /* one row: tracks, then missing values per column -> table */
	K_NOFEAT,   /* one row about tracks without features -> table */
} eda_kind;

/* One figure or table of the report. The SQL may hold placeholders: {x} (the
 * feature's expression), {bin} (its bin expression), {name} (its name) for
 * the per-feature kinds, and {limit}. */
typedef struct eda_query {
	const char *name;  /* key in summary.json's "queries" */
	const char *title; /* figure title ({label} = the feature's label) */
	int section;
	eda_kind kind;
	const char *sql;
	const char *empty; /* K_TABLE: what to say when there are no rows */
} eda_query;

static const eda_query QUERIES[] = {
	{"counts", "Catalogue", SEC_OVERVIEW, K_COUNTS,
	 "SELECT (SELECT COUNT(*) FROM tracks) AS tracks,\n"
	 "       (SELECT COUNT(*) FROM tracks WHERE has_features = 1) AS tracks_with_features,\n"
	 "       (SELECT COUNT(*) FROM artists) AS artists,\n"
	 "       (SELECT COUNT(*) FROM genres) AS genres,\n"
	 "       (SELECT COUNT(*) FROM playlists) AS playlists,\n"
	 "       (SELECT COUNT(*) FROM playlist_tracks) AS playlist_entries,\n"
	 "       (SELECT COUNT(*) FROM ingests) AS ingested_files,\n"
	 "       (SELECT COUNT(*) FROM tracks WHERE synthetic = 1) AS synthetic_tracks", NULL},
	{"ingests", "Ingested files", SEC_OVERVIEW, K_TABLE,
	 "SELECT file, variant, started_at, rows_read, rows_accepted, rows_rejected,\n"
	 "       ROUND(seconds, 1) AS seconds\n"
	 "FROM ingests\n"
	 "ORDER BY id",
	 "No files ingested yet."},
	{"feature_stats", "Summary statistics of tracks with audio features", SEC_FEATURES, K_STATS,
	 "SELECT {x} AS {name} FROM tracks WHERE has_features = 1 AND {x} IS NOT NULL", NULL},
	{"histogram", "{label}", SEC_FEATURES, K_HIST,
	 "SELECT {bin} AS bin, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND {x} IS NOT NULL\n"
	 "GROUP BY bin\n"
	 "ORDER BY bin", NULL},
	{"correlations", "Pearson correlation between features", SEC_CORR, K_CORR,
	 "SELECT danceability, energy, valence, acousticness, speechiness, instrumentalness,\n"
	 "       liveness, loudness, tempo, duration_ms / 60000.0 AS duration_min, popularity\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1", NULL},
	{"genre_profiles", "Mean audio features of the largest genres", SEC_PROFILES, K_PROFILE,
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
	{"popularity_vs", "Popularity by {label}", SEC_POPULARITY, K_SCATTER,
	 "SELECT {x} AS {name}, popularity\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND {x} IS NOT NULL AND popularity IS NOT NULL", NULL},
	{"key_mode", "Key and mode", SEC_KEYS, K_KEYMODE,
	 "SELECT key, mode, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND key IS NOT NULL\n"
	 "GROUP BY key, mode\n"
	 "ORDER BY key, mode", NULL},
	{"tempo_histogram", "{label}", SEC_KEYS, K_HIST,
	 "SELECT {bin} AS bin, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND {x} IS NOT NULL\n"
	 "GROUP BY bin\n"
	 "ORDER BY bin", NULL},
	{"time_signatures", "Time signature (beats per bar)", SEC_KEYS, K_TIMESIG,
	 "SELECT time_signature, COUNT(*) AS tracks\n"
	 "FROM tracks\n"
	 "WHERE has_features = 1 AND time_signature IS NOT NULL\n"
	 "GROUP BY time_signature\n"
	 "ORDER BY time_signature", NULL},
	{"top_artists", "Artists with the most tracks", SEC_TOP, K_BARS,
	 "SELECT a.name AS artist, COUNT(*) AS tracks\n"
	 "FROM track_artists ta\n"
	 "JOIN artists a ON a.id = ta.artist_id\n"
	 "GROUP BY a.id\n"
	 "ORDER BY tracks DESC, artist\n"
	 "LIMIT {limit}", NULL},
	{"genres", "Genres with the most tracks", SEC_TOP, K_GENRES,
	 "SELECT g.name AS genre, COUNT(tg.track_id) AS tracks\n"
	 "FROM genres g\n"
	 "LEFT JOIN track_genres tg ON tg.genre_id = g.id\n"
	 "GROUP BY g.id\n"
	 "ORDER BY tracks DESC, genre", NULL},
	{"rejects_by_reason", "Rejects by reason", SEC_QUALITY, K_REJECTS,
	 "SELECT reason, action, COUNT(*) AS rejects\n"
	 "FROM rejects\n"
	 "GROUP BY reason, action\n"
	 "ORDER BY rejects DESC, reason, action", NULL},
	{"rejects_by_file", "Rejects by file", SEC_QUALITY, K_TABLE,
	 "SELECT file, COUNT(*) AS rejects,\n"
	 "       SUM(action = 'row') AS rows_dropped, SUM(action = 'value') AS values_cleared\n"
	 "FROM rejects\n"
	 "GROUP BY file\n"
	 "ORDER BY rejects DESC, file",
	 "No rejects."},
	{"reject_examples", "Example rejects", SEC_QUALITY, K_TABLE,
	 "SELECT file, line, column_name, value, reason, detail, action\n"
	 "FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY reason ORDER BY id) AS k\n"
	 "      FROM rejects r)\n"
	 "WHERE k <= {limit}\n"
	 "ORDER BY reason, id",
	 "No rejects."},
	{"missing_values", "Missing values among tracks with audio features", SEC_QUALITY, K_MISSING,
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
	{"merged_duplicates", "Duplicate rows merged into existing tracks", SEC_QUALITY, K_TABLE,
	 "SELECT file, rows_accepted, new_tracks, merged, values_dropped\n"
	 "FROM ingests\n"
	 "ORDER BY id",
	 "No files ingested yet."},
	{"tracks_without_features", "Tracks without audio features", SEC_QUALITY, K_NOFEAT,
	 "SELECT COUNT(*) AS tracks_without_features,\n"
	 "       COALESCE(SUM(EXISTS (SELECT 1 FROM playlist_tracks pt\n"
	 "                            WHERE pt.track_id = t.id)), 0) AS in_playlists,\n"
	 "       (SELECT COUNT(*) FROM playlist_tracks pt\n"
	 "        JOIN tracks t2 ON t2.id = pt.track_id\n"
	 "        WHERE t2.has_features = 0) AS playlist_entries\n"
	 "FROM tracks t\n"
	 "WHERE t.has_features = 0", NULL},
};
#define NQUERIES (sizeof(QUERIES) / sizeof(QUERIES[0]))

typedef struct eda_section {
	const char *id;      /* HTML anchor */
	const char *heading; /* <h2> text */
	const char *intro;   /* one sentence under the heading, or NULL */
	const char *grid;    /* class of a grid around the section's figures, or NULL
	                      * (then per-feature figures get a grid of their own) */
	int chart_w;         /* viewBox width of the section's small charts */
} eda_section;

static const eda_section SECTIONS[NSECTIONS] = {
	{"overview", "Overview", NULL, NULL, 0},
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

static const char *const KEY_NAMES[12] = {"C", "C#", "D", "D#", "E", "F",
                                          "F#", "G", "G#", "A", "A#", "B"};

/* ------------------------------------------------------------------------ */
/* Context                                                                   */

/* Summary statistics of one feature. */
typedef struct feat_stats {
	long long count;   /* tracks with features where it is known */
	long long missing; /* tracks with features where it is NULL */
	double mean, std, min, p25, median, p75, max;
	double p01, p99; /* for axis ranges only */
} feat_stats;

typedef struct eda_ctx {
	sqlite3 *db;
	eda_opts o;
	strbuf *html;      /* the sections of the page being written */
	json_t *summary;   /* summary.json */
	json_t *queries;   /* summary["queries"]: name -> SQL */
	json_t *charts_json; /* summary["charts"]: [{name, title, sql}] in page order */
	eda_charts charts; /* copies of the charts with their SVG, when the caller
	                    * asked for them (want_charts) */
	size_t charts_cap; /* slots allocated in charts.v */
	int want_charts;
	seg_error *err;
	int oom;           /* a jansson allocation failed */
	long long counts[8]; /* the overview counts, in the order of the "counts" query */
	feat_stats stats[NFEAT];
	int have_stats;
} eda_ctx;

enum { C_TRACKS, C_WITH_FEATURES, C_ARTISTS, C_GENRES, C_PLAYLISTS, C_ENTRIES, C_INGESTS,
       C_SYNTHETIC };

static void jset(eda_ctx *c, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || obj == NULL || json_object_set_new(obj, key, v) < 0)
		c->oom = 1;
}

static void jappend(eda_ctx *c, json_t *arr, json_t *v)
{
	if (v == NULL || arr == NULL || json_array_append_new(arr, v) < 0)
		c->oom = 1;
}

/* A JSON string of s, made valid UTF-8 first. */
static json_t *jstr(const char *s)
{
	strbuf tmp = {0};
	json_t *j = json_string(utf8_clean(s, &tmp));
	strbuf_free(&tmp);
	return j;
}

/* A JSON number, or null for NaN and infinities (JSON has no such numbers). */
static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* ------------------------------------------------------------------------ */
/* SQL                                                                       */

/* Expands the placeholders of tmpl ({x}, {bin}, {name}, {label}, {limit}) into
 * sb (reset first). f may be NULL when tmpl names no feature. */
static void expand(strbuf *sb, const char *tmpl, const eda_feature *f, int limit)
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

/* Prepares sql; on failure fills the error with the query's name. */
static int prepare(eda_ctx *c, const char *name, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return seg_error_set(c->err, SEG_EDB, "EDA query %s failed: %s", name,
		                     sqlite3_errmsg(c->db));
	}
	return 0;
}

/* Finishes stepping: SQLITE_DONE is success, anything else an error. */
static int step_done(eda_ctx *c, const char *name, int rc)
{
	if (rc == SQLITE_DONE)
		return 0;
	return seg_error_set(c->err, SEG_EDB, "EDA query %s failed: %s", name, sqlite3_errmsg(c->db));
}

static double col_double(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Records the SQL of a figure in summary["queries"]. */
static void note_query(eda_ctx *c, const char *key, const char *sql)
{
	jset(c, c->queries, key, jstr(sql));
}

/* ------------------------------------------------------------------------ */
/* HTML helpers                                                              */

/* Formats an integer with thousands separators. */
static void fmt_int(char *buf, size_t cap, long long v)
{
	char digits[32];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int nd = snprintf(digits, sizeof digits, "%llu", u);
	size_t k = 0;
	if (v < 0 && k + 1 < cap)
		buf[k++] = '-';
	for (int i = 0; i < nd && k + 2 < cap; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
}

static void put_int(strbuf *sb, long long v)
{
	char buf[40];
	fmt_int(buf, sizeof buf, v);
	strbuf_puts(sb, buf);
}

static void put_double(strbuf *sb, double v, int sig)
{
	if (!isfinite(v)) {
		strbuf_puts(sb, "<span class=\"na\">&ndash;</span>");
		return;
	}
	char buf[48];
	snprintf(buf, sizeof buf, "%.*g", sig, v);
	strbuf_puts(sb, buf);
}

static void fig_open(eda_ctx *c, const char *cls)
{
	strbuf_printf(c->html, "<figure%s%s%s>", cls ? " class=\"" : "", cls ? cls : "",
	              cls ? "\"" : "");
}

/* Closes a figure with its SQL in a collapsed block. */
static void fig_close(eda_ctx *c, const char *sql)
{
	strbuf *h = c->html;
	strbuf_puts(h, "<details><summary>SQL</summary><pre><code>");
	strbuf_xml(h, sql);
	strbuf_puts(h, "</code></pre></details></figure>");
}

static void empty_note(eda_ctx *c, const char *text)
{
	strbuf_puts(c->html, "<p class=\"empty\">");
	strbuf_xml(c->html, text);
	strbuf_puts(c->html, "</p>");
}

static void fig_caption(eda_ctx *c, const char *text)
{
	strbuf_puts(c->html, "<figcaption>");
	strbuf_xml(c->html, text);
	strbuf_puts(c->html, "</figcaption>");
}

/* Appends a column name as a table heading ("rows_read" -> "rows read"). */
static void put_heading(strbuf *sb, const char *name)
{
	for (const char *p = name ? name : ""; *p; p++) {
		char s[2] = {*p == '_' ? ' ' : *p, '\0'};
		strbuf_xml(sb, s);
	}
}

enum { TABLE_MAX_ROWS = 50, CELL_MAX_CHARS = 80 };

/* Appends up to max UTF-8 characters of s, escaped, with an ellipsis when cut. */
static void put_cut(strbuf *sb, const char *s, size_t max)
{
	size_t n = 0;
	const char *p = s;
	while (*p && n < max) {
		p++;
		while ((*p & 0xC0) == 0x80)
			p++;
		n++;
	}
	if (*p == '\0') {
		strbuf_xml(sb, s);
		return;
	}
	char *tmp = strndup(s, (size_t)(p - s));
	if (tmp == NULL) {
		sb->oom = 1;
		return;
	}
	strbuf_xml(sb, tmp);
	strbuf_puts(sb, "\xE2\x80\xA6");
	free(tmp);
}

/* Runs sql and renders its rows as a table (at most TABLE_MAX_ROWS, then a note),
 * or the `empty` sentence without rows. *nrows receives the number of rows. */
static int render_table(eda_ctx *c, const char *name, const char *sql, const char *empty,
                        long long *nrows)
{
	sqlite3_stmt *st;
	int rc = prepare(c, name, sql, &st);
	if (rc < 0)
		return rc;
	strbuf *h = c->html;
	strbuf rows = {0};
	int ncol = sqlite3_column_count(st);
	long long n = 0;
	unsigned long long numeric = 0; /* bit i: column i is a number in the first row */
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		for (int i = 0; n == 1 && i < ncol && i < 64; i++) {
			int t = sqlite3_column_type(st, i);
			if (t == SQLITE_INTEGER || t == SQLITE_FLOAT)
				numeric |= 1ULL << i;
		}
		if (n > TABLE_MAX_ROWS)
			continue;
		strbuf_puts(&rows, "<tr>");
		for (int i = 0; i < ncol; i++) {
			int t = sqlite3_column_type(st, i);
			if (t == SQLITE_NULL) {
				strbuf_puts(&rows, "<td class=\"na\">&ndash;</td>");
			} else if (t == SQLITE_INTEGER) {
				strbuf_puts(&rows, "<td class=\"n\">");
				put_int(&rows, sqlite3_column_int64(st, i));
				strbuf_puts(&rows, "</td>");
			} else if (t == SQLITE_FLOAT) {
				strbuf_puts(&rows, "<td class=\"n\">");
				put_double(&rows, sqlite3_column_double(st, i), 6);
				strbuf_puts(&rows, "</td>");
			} else {
				const char *s = (const char *)sqlite3_column_text(st, i);
				strbuf_puts(&rows, "<td>");
				put_cut(&rows, s ? s : "", CELL_MAX_CHARS);
				strbuf_puts(&rows, "</td>");
			}
		}
		strbuf_puts(&rows, "</tr>");
	}
	rc = step_done(c, name, src);
	if (rc == 0) {
		if (n == 0) {
			empty_note(c, empty ? empty : "No rows.");
		} else {
			strbuf_puts(h, "<div class=\"tw\"><table><thead><tr>");
			for (int i = 0; i < ncol; i++) {
				strbuf_puts(h, i < 64 && (numeric >> i & 1) ? "<th class=\"n\">" : "<th>");
				put_heading(h, sqlite3_column_name(st, i));
				strbuf_puts(h, "</th>");
			}
			strbuf_puts(h, "</tr></thead><tbody>");
			strbuf_append(h, strbuf_cstr(&rows), rows.len);
			strbuf_puts(h, "</tbody></table></div>");
			if (n > TABLE_MAX_ROWS) {
				strbuf_puts(h, "<p class=\"note\">Showing ");
				put_int(h, TABLE_MAX_ROWS);
				strbuf_puts(h, " of ");
				put_int(h, n);
				strbuf_puts(h, " rows; run the SQL for all of them.</p>");
			}
		}
	}
	if (rows.oom)
		h->oom = 1;
	strbuf_free(&rows);
	sqlite3_finalize(st);
	if (nrows)
		*nrows = n;
	return rc;
}

/* Appends a chart; svg_* errors other than out-of-memory are bugs in the caller. */
static int chart_rc(eda_ctx *c, int rc)
{
	if (rc == SEG_ENOMEM)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory while drawing the report");
	if (rc < 0)
		return seg_error_set(c->err, rc, "internal error drawing a chart: %s", seg_strerror(rc));
	return 0;
}

/* Writes the name of a chart, prefix and suffix (may be NULL) joined by '-',
 * with the '_' of feature names turned into '-' as well, so that names read
 * alike in URLs ("hist-duration-min"). */
static void chart_name(char *out, size_t cap, const char *prefix, const char *suffix)
{
	snprintf(out, cap, "%s%s%s", prefix, suffix ? "-" : "", suffix ? suffix : "");
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* Records the chart that was just drawn into c->html from offset `start` on:
 * its entry in summary["charts"] and, when the caller wants them, a copy with
 * its SVG in c->charts. Returns 0 or SEG_ENOMEM; a name that is not URL-safe
 * or not unique is a bug here, reported as SEG_EINVAL. */
static int keep_chart(eda_ctx *c, const char *name, const char *title, const char *sql,
                      size_t start)
{
	eda_chart ch;
	memset(&ch, 0, sizeof(ch));
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen >= sizeof ch.name ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != nlen)
		return seg_error_set(c->err, SEG_EINVAL, "internal error: bad chart name %s", name);
	for (size_t i = 0; i < json_array_size(c->charts_json); i++) {
		const char *other = json_string_value(json_object_get(json_array_get(c->charts_json, i),
		                                                      "name"));
		if (other && strcmp(other, name) == 0)
			return seg_error_set(c->err, SEG_EINVAL, "internal error: two charts named %s",
			                     name);
	}
	snprintf(ch.name, sizeof ch.name, "%s", name);
	snprintf(ch.title, sizeof ch.title, "%s", title ? title : "");
	json_t *o = json_object();
	jset(c, o, "name", json_string(ch.name));
	jset(c, o, "title", jstr(ch.title));
	jset(c, o, "sql", jstr(sql));
	jappend(c, c->charts_json, o);
	if (!c->want_charts)
		return 0;

	assert(start <= c->html->len);
	if (c->charts.n == c->charts_cap) {
		size_t cap = c->charts_cap ? c->charts_cap * 2 : 32;
		eda_chart *v = realloc(c->charts.v, cap * sizeof(*v));
		if (v == NULL)
			return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
		c->charts.v = v;
		c->charts_cap = cap;
	}
	ch.sql = strdup(sql ? sql : "");
	ch.svg = strndup(strbuf_cstr(c->html) + start, c->html->len - start);
	if (ch.sql == NULL || ch.svg == NULL) {
		free(ch.sql);
		free(ch.svg);
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	}
	c->charts.v[c->charts.n++] = ch;
	return 0;
}

/* A growable array of doubles. */
typedef struct dvec {
	double *v;
	size_t n, cap;
} dvec;

static int dvec_push(dvec *a, double x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		double *p = realloc(a->v, cap * sizeof(*p));
		if (p == NULL)
			return SEG_ENOMEM;
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

static void dvec_free(dvec *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A point of a scatter plot, sorted by x, then y. */
typedef struct xy_pair {
	double x, y;
} xy_pair;

static int cmp_pair(const void *a, const void *b)
{
	const xy_pair *p = a, *q = b;
	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	return (p->y > q->y) - (p->y < q->y);
}

/* Quantile q of sorted x[n] with linear interpolation (numpy's default). */
static double quantile(const double *x, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + (x[lo + 1] - x[lo]) * (pos - (double)lo);
}

/* ------------------------------------------------------------------------ */
/* Overview                                                                  */

static const char *const COUNT_LABELS[8] = {
	"tracks", "tracks with audio features", "artists", "genres",
	"playlists", "playlist entries", "ingested files", "synthetic tracks",
};

static int sec_counts(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		for (int i = 0; i < 8; i++)
			c->counts[i] = sqlite3_column_int64(st, i);
		src = sqlite3_step(st);
	}
	rc = step_done(c, q->name, src);
	json_t *counts = json_object();
	for (int i = 0; i < 8; i++)
		jset(c, counts, sqlite3_column_name(st, i), json_integer(c->counts[i]));
	jset(c, c->summary, "counts", counts);
	jset(c, c->summary, "synthetic", json_boolean(c->counts[C_SYNTHETIC] > 0));
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	note_query(c, q->name, q->sql);

	strbuf *h = c->html;
	fig_open(c, "plain");
	strbuf_puts(h, "<div class=\"cards\">");
	for (int i = 0; i < 8; i++) {
		if (i == C_SYNTHETIC && c->counts[i] == 0)
			continue;
		strbuf_puts(h, "<div class=\"card\"><b>");
		put_int(h, c->counts[i]);
		strbuf_printf(h, "</b>%s</div>", COUNT_LABELS[i]);
	}
	strbuf_puts(h, "</div>");
	if (c->counts[C_TRACKS] == 0)
		empty_note(c, "The catalogue has no tracks yet; run `segue ingest` to add some.");
	fig_close(c, q->sql);
	return 0;
}

static int sec_table(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	expand(&sql, q->sql, NULL, c->o.reject_examples);
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	strbuf_puts(c->html, "<h3>");
	strbuf_xml(c->html, q->title);
	strbuf_puts(c->html, "</h3>");
	fig_open(c, "plain");
	long long n = 0;
	int rc = render_table(c, q->name, sql.data, q->empty, &n);
	if (rc == 0) {
		fig_close(c, sql.data);
		note_query(c, q->name, sql.data);
	}
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Feature statistics and histograms                                         */

static int sec_stats(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0}, all = {0};
	dvec x = {0};
	int rc = 0;
	json_t *features = json_object();
	for (size_t f = 0; f < NFEAT && rc == 0; f++) {
		const eda_feature *fe = &FEATURES[f];
		expand(&sql, q->sql, fe, 0);
		if (sql.oom) {
			rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory");
			break;
		}
		sqlite3_stmt *st;
		rc = prepare(c, q->name, sql.data, &st);
		if (rc < 0)
			break;
		x.n = 0;
		int src;
		while ((src = sqlite3_step(st)) == SQLITE_ROW) {
			if (dvec_push(&x, sqlite3_column_double(st, 0)) < 0) {
				src = SQLITE_NOMEM;
				break;
			}
		}
		if (src == SQLITE_NOMEM)
			rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory reading %s", fe->name);
		else
			rc = step_done(c, q->name, src);
		sqlite3_finalize(st);
		if (rc < 0)
			break;

		feat_stats *s = &c->stats[f];
		size_t n = x.n;
		if (n > 0)
			qsort(x.v, n, sizeof(double), cmp_double);
		s->count = (long long)n;
		s->missing = c->counts[C_WITH_FEATURES] - s->count;
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += x.v[i];
		s->mean = n ? sum / (double)n : NAN;
		double ss = 0;
		for (size_t i = 0; i < n; i++)
			ss += (x.v[i] - s->mean) * (x.v[i] - s->mean);
		s->std = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
		s->min = n ? x.v[0] : NAN;
		s->max = n ? x.v[n - 1] : NAN;
		s->p25 = quantile(x.v, n, 0.25);
		s->median = quantile(x.v, n, 0.5);
		s->p75 = quantile(x.v, n, 0.75);
		s->p01 = quantile(x.v, n, 0.01);
		s->p99 = quantile(x.v, n, 0.99);

		json_t *o = json_object();
		jset(c, o, "count", json_integer(s->count));
		jset(c, o, "missing", json_integer(s->missing));
		jset(c, o, "mean", jnum(s->mean));
		jset(c, o, "std", jnum(s->std));
		jset(c, o, "min", jnum(s->min));
		jset(c, o, "p25", jnum(s->p25));
		jset(c, o, "median", jnum(s->median));
		jset(c, o, "p75", jnum(s->p75));
		jset(c, o, "max", jnum(s->max));
		jset(c, features, fe->name, o);

		char key[64];
		snprintf(key, sizeof key, "%s.%s", q->name, fe->name);
		note_query(c, key, sql.data);
		strbuf_puts(&all, sql.data);
		strbuf_puts(&all, ";\n");
	}
	jset(c, c->summary, "features", features);
	if (rc == 0) {
		c->have_stats = 1;
		strbuf *h = c->html;
		strbuf_puts(h, "<h3>");
		strbuf_xml(h, q->title);
		strbuf_puts(h, "</h3>");
		fig_open(c, "plain");
		if (c->counts[C_WITH_FEATURES] == 0) {
			empty_note(c, "No tracks with audio features yet.");
		} else {
			strbuf_puts(h, "<div class=\"tw\"><table class=\"stats\"><thead><tr><th>feature</th>"
			               "<th>count</th><th>missing</th><th>mean</th><th>std</th><th>min</th>"
			               "<th>25%</th><th>median</th><th>75%</th><th>max</th></tr></thead><tbody>");
			for (size_t f = 0; f < NFEAT; f++) {
				const feat_stats *s = &c->stats[f];
				strbuf_puts(h, "<tr><td>");
				strbuf_xml(h, FEATURES[f].name);
				strbuf_puts(h, "</td><td class=\"n\">");
				put_int(h, s->count);
				strbuf_puts(h, "</td><td class=\"n\">");
				put_int(h, s->missing);
				const double v[7] = {s->mean, s->std, s->min, s->p25, s->median, s->p75, s->max};
				for (int i = 0; i < 7; i++) {
					strbuf_puts(h, "</td><td class=\"n\">");
					put_double(h, v[i], 4);
				}
				strbuf_puts(h, "</td></tr>");
			}
			strbuf_puts(h, "</tbody></table></div>");
		}
		fig_close(c, strbuf_cstr(&all));
	}
	strbuf_free(&sql);
	strbuf_free(&all);
	dvec_free(&x);
	return rc;
}

enum { HIST_MAX_BINS = 400 };

/* One histogram of feature f from query q. */
static int hist_one(eda_ctx *c, const eda_query *q, const eda_feature *fe, strbuf *sql)
{
	expand(sql, q->sql, fe, 0);
	if (sql->oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, sql->data, &st);
	if (rc < 0)
		return rc;
	/* Rows are (bin, tracks) in bin order; absent bins are empty. */
	long long first = 0;
	size_t nb = 0;
	double counts[HIST_MAX_BINS];
	if (fe->fixed_bins > 0) {
		nb = (size_t)fe->fixed_bins;
		for (size_t i = 0; i < nb; i++)
			counts[i] = 0;
	}
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			continue;
		long long b = sqlite3_column_int64(st, 0);
		double n = (double)sqlite3_column_int64(st, 1);
		if (nb == 0) {
			first = b;
			nb = 1;
			counts[0] = 0;
		}
		long long k = b - first;
		if (k >= HIST_MAX_BINS)
			k = HIST_MAX_BINS - 1; /* absurd values pile up in the end bins */
		if (k < 0)
			k = 0;
		while (nb <= (size_t)k)
			counts[nb++] = 0;
		counts[k] += n;
	}
	rc = step_done(c, q->name, src);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	double edges[HIST_MAX_BINS + 1];
	for (size_t i = 0; i <= nb; i++)
		edges[i] = fe->origin + fe->width * (double)(first + (long long)i);

	strbuf title = {0};
	expand(&title, q->title, fe, 0);
	svg_opts o = {0};
	o.title = strbuf_cstr(&title);
	o.x_label = fe->label;
	o.y_label = "tracks";
	o.width = SECTIONS[q->section].chart_w;
	o.height = o.width * 25 / 36;
	fig_open(c, NULL);
	size_t start = c->html->len;
	rc = chart_rc(c, svg_histogram(c->html, &o, edges, counts, nb));
	if (rc == 0) {
		char name[64];
		chart_name(name, sizeof name, "hist", fe->name);
		rc = keep_chart(c, name, o.title, sql->data, start);
	}
	strbuf_free(&title);
	if (rc < 0)
		return rc;
	if (fe->note && nb > 0 && first + (long long)nb - 1 >= fe->last_bin)
		fig_caption(c, fe->note);
	fig_close(c, sql->data);
	char key[64];
	snprintf(key, sizeof key, "%s.%s", "histogram", fe->name);
	note_query(c, key, sql->data);
	return 0;
}

static int sec_hist(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	int rc = 0;
	if (c->counts[C_WITH_FEATURES] == 0) {
		if (q->section == SEC_FEATURES)
			empty_note(c, "No tracks with audio features yet, so there is nothing to plot.");
		return 0;
	}
	int own_grid = SECTIONS[q->section].grid == NULL;
	if (own_grid)
		strbuf_puts(c->html, "<div class=\"grid\">");
	for (size_t f = 0; f < NFEAT && rc == 0; f++)
		if (FEATURES[f].hist_section == q->section)
			rc = hist_one(c, q, &FEATURES[f], &sql);
	if (own_grid)
		strbuf_puts(c->html, "</div>");
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Correlations                                                              */

/* Pairwise-complete Pearson correlation, accumulated one row at a time with
 * Welford's updates so that tempo and loudness do not lose precision. */
typedef struct pair_acc {
	double n, mx, my, cxx, cyy, cxy;
} pair_acc;

static int sec_corr(eda_ctx *c, const eda_query *q)
{
	enum { D = NFEAT };
	pair_acc acc[NFEAT][NFEAT]; /* [D][D], upper triangle used */
	memset(acc, 0, sizeof(acc));
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		double v[D];
		for (int i = 0; i < D; i++)
			v[i] = col_double(st, i);
		for (int i = 0; i < D; i++) {
			if (isnan(v[i]))
				continue;
			for (int j = i + 1; j < D; j++) {
				if (isnan(v[j]))
					continue;
				pair_acc *a = &acc[i][j];
				a->n += 1;
				double dx = v[i] - a->mx;
				double dy = v[j] - a->my;
				a->mx += dx / a->n;
				a->my += dy / a->n;
				a->cxx += dx * (v[i] - a->mx);
				a->cyy += dy * (v[j] - a->my);
				a->cxy += dx * (v[j] - a->my);
			}
		}
	}
	rc = step_done(c, q->name, src);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	note_query(c, q->name, q->sql);

	double r[D * D]; /* [D][D] */
	int any = 0;
	for (int i = 0; i < D; i++) {
		r[i * D + i] = NAN;
		for (int j = i + 1; j < D; j++) {
			const pair_acc *a = &acc[i][j];
			double v = NAN;
			if (a->n >= 2 && a->cxx > 0 && a->cyy > 0) {
				v = a->cxy / sqrt(a->cxx * a->cyy);
				v = v > 1 ? 1 : v < -1 ? -1 : v;
				any = 1;
			}
			r[i * D + j] = r[j * D + i] = v;
		}
	}
	/* The diagonal is 1 where the feature varies at all. */
	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			if (j != i && isfinite(r[i * D + j]))
				r[i * D + i] = 1;

	json_t *corr = json_object(), *names = json_array(), *matrix = json_array();
	const char *labels[D];
	for (int i = 0; i < D; i++) {
		labels[i] = FEATURES[i].name;
		jappend(c, names, json_string(FEATURES[i].name));
		json_t *row = json_array();
		for (int j = 0; j < D; j++)
			jappend(c, row, jnum(r[i * D + j]));
		jappend(c, matrix, row);
	}
	jset(c, corr, "features", names);
	jset(c, corr, "matrix", matrix);
	jset(c, c->summary, "correlations", corr);

	fig_open(c, "wide");
	if (!any) {
		empty_note(c, "Not enough tracks with audio features to correlate.");
	} else {
		svg_matrix m = {labels, NULL, D, D, r, -1, 1};
		svg_opts o = {0};
		o.title = q->title;
		o.width = 720;
		o.value_labels = 1;
		size_t start = c->html->len;
		rc = chart_rc(c, svg_heatmap(c->html, &o, &m));
		if (rc == 0)
			rc = keep_chart(c, "corr-heatmap", o.title, q->sql, start);
		if (rc < 0)
			return rc;
	}
	fig_close(c, q->sql);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Genre profiles                                                            */

enum { PROFILE_MAX = 32 };

static int sec_profile(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	int limit = c->o.profile_genres > PROFILE_MAX ? PROFILE_MAX : c->o.profile_genres;
	expand(&sql, q->sql, NULL, limit);
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, sql.data, &st);
	if (rc < 0) {
		strbuf_free(&sql);
		return rc;
	}
	char *names[PROFILE_MAX];
	double vals[PROFILE_MAX][NUNIT]; /* [genres][unit features] */
	size_t ng = 0;
	json_t *arr = json_array();
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW && ng < PROFILE_MAX) {
		const char *g = (const char *)sqlite3_column_text(st, 0);
		names[ng] = strdup(g ? g : "");
		if (names[ng] == NULL) {
			src = SQLITE_NOMEM;
			break;
		}
		json_t *o = json_object();
		jset(c, o, "genre", jstr(names[ng]));
		jset(c, o, "tracks", json_integer(sqlite3_column_int64(st, 1)));
		for (int k = 0; k < NUNIT; k++) {
			vals[ng][k] = col_double(st, 2 + k);
			jset(c, o, FEATURES[k].name, jnum(vals[ng][k]));
		}
		jappend(c, arr, o);
		ng++;
	}
	if (src == SQLITE_ROW)
		src = SQLITE_DONE; /* more rows than PROFILE_MAX cannot happen with the LIMIT */
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory")
	                         : step_done(c, q->name, src);
	sqlite3_finalize(st);
	jset(c, c->summary, "genre_profiles", arr);
	if (rc == 0) {
		note_query(c, q->name, sql.data);
		fig_open(c, "wide");
		if (ng == 0) {
			empty_note(c, "No genres with tracks that have audio features.");
		} else {
			/* Series are genres, categories the features: [genres][features] is
			 * already one row of values per series. */
			const char *cats[NUNIT];
			svg_series series[PROFILE_MAX];
			for (int k = 0; k < NUNIT; k++)
				cats[k] = FEATURES[k].name;
			for (size_t g = 0; g < ng; g++) {
				series[g].name = names[g];
				series[g].values = vals[g];
			}
			svg_opts o = {0};
			o.title = q->title;
			o.y_label = "mean (0-1)";
			o.width = 720;
			o.height = 400;
			o.y_fixed = 1;
			o.y_min = 0;
			o.y_max = 1;
			size_t start = c->html->len;
			rc = chart_rc(c, svg_lines(c->html, &o, cats, NUNIT, series, ng));
			if (rc == 0)
				rc = keep_chart(c, "profile-genres", o.title, sql.data, start);
			/* The same numbers as a table of colours, easier to read exactly. */
			svg_matrix m = {(const char *const *)names, cats, ng, NUNIT, &vals[0][0], 0, 1};
			svg_opts ho = {0};
			ho.title = "The same means, genre by feature";
			ho.width = 720;
			ho.value_labels = 1;
			start = c->html->len;
			if (rc == 0)
				rc = chart_rc(c, svg_heatmap(c->html, &ho, &m));
			if (rc == 0)
				rc = keep_chart(c, "profile-genres-heatmap", ho.title, sql.data, start);
		}
		if (rc == 0)
			fig_close(c, sql.data);
	}
	for (size_t g = 0; g < ng; g++)
		free(names[g]);
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Popularity against features                                               */

enum { NDECILES = 10 };

static int scatter_one(eda_ctx *c, const eda_query *q, size_t f, strbuf *sql, json_t *out)
{
	const eda_feature *fe = &FEATURES[f];
	expand(sql, q->sql, fe, 0);
	if (sql->oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, sql->data, &st);
	if (rc < 0)
		return rc;
	dvec x = {0}, y = {0}; /* [n] each; sorted by (x, y) below */
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (dvec_push(&x, sqlite3_column_double(st, 0)) < 0 ||
		    dvec_push(&y, sqlite3_column_double(st, 1)) < 0) {
			src = SQLITE_NOMEM;
			break;
		}
	}
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory")
	                         : step_done(c, q->name, src);
	sqlite3_finalize(st);
	if (rc < 0)
		goto out;
	if (x.n > 0) {
		xy_pair *pairs = malloc(x.n * sizeof(*pairs)); /* [n] */
		if (pairs == NULL) {
			rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < x.n; i++)
			pairs[i] = (xy_pair){x.v[i], y.v[i]};
		qsort(pairs, x.n, sizeof(*pairs), cmp_pair);
		for (size_t i = 0; i < x.n; i++) {
			x.v[i] = pairs[i].x;
			y.v[i] = pairs[i].y;
		}
		free(pairs);
	}

	/* Ten bins of about equal count; equal x values stay in one bin, so heavy
	 * ties (instrumentalness 0) give fewer, larger bins instead of arbitrary
	 * splits. */
	double mx[NDECILES], my[NDECILES];
	size_t nbin = 0, n = x.n;
	size_t target = (n + NDECILES - 1) / NDECILES;
	json_t *bins = json_array();
	for (size_t start = 0; start < n && nbin < NDECILES;) {
		size_t end = start + target;
		if (end >= n || nbin == NDECILES - 1)
			end = n;
		while (end < n && x.v[end] == x.v[end - 1])
			end++;
		double sx = 0, sy = 0;
		for (size_t i = start; i < end; i++) {
			sx += x.v[i];
			sy += y.v[i];
		}
		mx[nbin] = sx / (double)(end - start);
		my[nbin] = sy / (double)(end - start);
		json_t *b = json_object();
		jset(c, b, "tracks", json_integer((json_int_t)(end - start)));
		jset(c, b, "x_min", jnum(x.v[start]));
		jset(c, b, "x_max", jnum(x.v[end - 1]));
		jset(c, b, "x_mean", jnum(mx[nbin]));
		jset(c, b, "popularity_mean", jnum(my[nbin]));
		jappend(c, bins, b);
		nbin++;
		start = end;
	}
	jset(c, out, fe->name, bins);

	strbuf title = {0};
	expand(&title, q->title, fe, 0);
	svg_opts o = {0};
	o.title = strbuf_cstr(&title);
	o.x_label = fe->label;
	o.y_label = "popularity";
	o.width = SECTIONS[q->section].chart_w;
	o.height = o.width * 3 / 4;
	o.y_fixed = 1;
	o.y_min = 0;
	o.y_max = 100;
	const feat_stats *s = &c->stats[f];
	if (fe->unit) {
		o.x_fixed = 1;
		o.x_min = 0;
		o.x_max = 1;
	} else if (c->have_stats && s->count > 0 && s->p99 > s->p01) {
		/* Outliers (a 90-minute track) would squash the rest: show 1%..99%. */
		svg_ticks t;
		svg_nice_ticks(s->p01, s->p99, 5, &t);
		o.x_fixed = 1;
		o.x_min = t.lo;
		o.x_max = t.hi;
	}
	svg_xy pts = {"tracks", x.v, y.v, n};
	svg_xy line = {"mean popularity", mx, my, nbin};
	fig_open(c, NULL);
	size_t start = c->html->len;
	rc = chart_rc(c, svg_scatter(c->html, &o, &pts, &line));
	if (rc == 0) {
		char name[64];
		chart_name(name, sizeof name, "popularity-vs", fe->name);
		rc = keep_chart(c, name, o.title, sql->data, start);
	}
	strbuf_free(&title);
	if (rc < 0)
		goto out;
	if (!fe->unit && n > 0)
		fig_caption(c, "The x axis spans the 1st to 99th percentile.");
	fig_close(c, sql->data);
	char key[64];
	snprintf(key, sizeof key, "%s.%s", q->name, fe->name);
	note_query(c, key, sql->data);
out:
	dvec_free(&x);
	dvec_free(&y);
	return rc;
}

static int sec_scatter(eda_ctx *c, const eda_query *q)
{
	if (c->counts[C_WITH_FEATURES] == 0) {
		empty_note(c, "No tracks with audio features yet.");
		return 0;
	}
	if (c->have_stats && c->stats[FEAT_POPULARITY].count == 0) {
		empty_note(c, "No track with audio features has a popularity value in this catalogue.");
		return 0;
	}
	strbuf sql = {0};
	json_t *out = json_object();
	int rc = 0;
	strbuf_puts(c->html, "<div class=\"grid\">");
	for (size_t f = 0; f < NFEAT && rc == 0; f++)
		if (f != FEAT_POPULARITY)
			rc = scatter_one(c, q, f, &sql, out);
	strbuf_puts(c->html, "</div>");
	jset(c, c->summary, "popularity_by_feature", out);
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Key, mode, time signature                                                 */

static int sec_keymode(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	/* Columns 0..11 are the keys, 12 is "not detected" (key -1 or out of range);
	 * series are major, minor, and unknown mode. */
	double v[3][13];
	for (int s = 0; s < 3; s++)
		for (int k = 0; k < 13; k++)
			v[s][k] = 0;
	int src;
	long long total = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		long long key = sqlite3_column_int64(st, 0);
		int k = key >= 0 && key < 12 ? (int)key : 12;
		int s = sqlite3_column_type(st, 1) == SQLITE_NULL ? 2
		        : sqlite3_column_int64(st, 1) == 1        ? 0
		                                                  : 1;
		long long n = sqlite3_column_int64(st, 2);
		v[s][k] += (double)n;
		total += n;
	}
	rc = step_done(c, q->name, src);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	note_query(c, q->name, q->sql);

	int has_none = v[0][12] + v[1][12] + v[2][12] > 0;
	int has_unknown = 0;
	for (int k = 0; k < 13; k++)
		has_unknown |= v[2][k] > 0;
	size_t ncat = has_none ? 13 : 12;
	const char *cats[13];
	for (int k = 0; k < 12; k++)
		cats[k] = KEY_NAMES[k];
	cats[12] = "none";

	json_t *arr = json_array();
	for (size_t k = 0; k < ncat; k++) {
		json_t *o = json_object();
		jset(c, o, "key", json_string(cats[k]));
		jset(c, o, "major", json_integer((json_int_t)v[0][k]));
		jset(c, o, "minor", json_integer((json_int_t)v[1][k]));
		if (has_unknown)
			jset(c, o, "unknown_mode", json_integer((json_int_t)v[2][k]));
		jappend(c, arr, o);
	}
	jset(c, c->summary, "keys", arr);

	fig_open(c, NULL);
	if (total == 0) {
		empty_note(c, "No tracks with a known key.");
	} else {
		svg_series series[3] = {{"major", v[0]}, {"minor", v[1]}, {"mode unknown", v[2]}};
		svg_opts o = {0};
		o.title = q->title;
		o.y_label = "tracks";
		o.width = SECTIONS[q->section].chart_w;
		o.height = o.width * 25 / 36;
		size_t start = c->html->len;
		rc = chart_rc(c, svg_columns(c->html, &o, cats, ncat, series, has_unknown ? 3 : 2));
		if (rc == 0)
			rc = keep_chart(c, "key-mode", o.title, q->sql, start);
		if (rc < 0)
			return rc;
	}
	fig_close(c, q->sql);
	return 0;
}

enum { TIMESIG_MAX = 16 };

static int sec_timesig(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	char labels[TIMESIG_MAX][24];
	const char *cats[TIMESIG_MAX];
	double v[TIMESIG_MAX];
	size_t n = 0;
	json_t *obj = json_object();
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		long long ts = sqlite3_column_int64(st, 0);
		long long cnt = sqlite3_column_int64(st, 1);
		char key[24];
		snprintf(key, sizeof key, "%lld", ts);
		jset(c, obj, key, json_integer(cnt));
		if (n < TIMESIG_MAX) {
			snprintf(labels[n], sizeof labels[n], "%lld/4", ts);
			cats[n] = labels[n];
			v[n] = (double)cnt;
			n++;
		}
	}
	rc = step_done(c, q->name, src);
	sqlite3_finalize(st);
	jset(c, c->summary, "time_signatures", obj);
	if (rc < 0)
		return rc;
	note_query(c, q->name, q->sql);
	fig_open(c, NULL);
	if (n == 0) {
		empty_note(c, "No tracks with a known time signature.");
	} else {
		svg_series s = {"tracks", v};
		svg_opts o = {0};
		o.title = q->title;
		o.y_label = "tracks";
		o.width = SECTIONS[q->section].chart_w;
		o.height = o.width * 25 / 36;
		o.value_labels = 1;
		size_t start = c->html->len;
		rc = chart_rc(c, svg_columns(c->html, &o, cats, n, &s, 1));
		if (rc == 0)
			rc = keep_chart(c, "time-signatures", o.title, q->sql, start);
		if (rc < 0)
			return rc;
	}
	fig_close(c, q->sql);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Bars: top artists, genres, rejects                                        */

enum { BARS_MAX = 100 };

/* Runs a (label, value) query; draws the first `shown` rows as bars (the chart
 * called chart) and stores every row in summary[json_key] as a list of
 * {label_key: ..., value_key: ...}. */
static int bars_query(eda_ctx *c, const eda_query *q, const char *sql, size_t shown,
                      const char *json_key, const char *chart, const char *x_label,
                      const char *empty)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, sql, &st);
	if (rc < 0)
		return rc;
	char *labels[BARS_MAX];
	double v[BARS_MAX];
	size_t n = 0;
	if (shown > BARS_MAX)
		shown = BARS_MAX;
	json_t *arr = json_array();
	const char *lk = sqlite3_column_name(st, 0), *vk = sqlite3_column_name(st, 1);
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(st, 0);
		long long val = sqlite3_column_int64(st, 1);
		json_t *o = json_object();
		jset(c, o, lk, jstr(l));
		jset(c, o, vk, json_integer(val));
		jappend(c, arr, o);
		if (n < shown) {
			labels[n] = strdup(l ? l : "");
			if (labels[n] == NULL) {
				src = SQLITE_NOMEM;
				break;
			}
			v[n++] = (double)val;
		}
	}
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory")
	                         : step_done(c, q->name, src);
	sqlite3_finalize(st);
	jset(c, c->summary, json_key, arr);
	if (rc == 0) {
		note_query(c, q->name, sql);
		fig_open(c, NULL);
		if (n == 0) {
			empty_note(c, empty);
		} else {
			svg_opts o = {0};
			o.title = q->title;
			o.x_label = x_label;
			o.width = SECTIONS[q->section].chart_w;
			o.value_labels = 1;
			size_t start = c->html->len;
			rc = chart_rc(c, svg_bars(c->html, &o, (const char *const *)labels, v, n));
			if (rc == 0)
				rc = keep_chart(c, chart, o.title, sql, start);
		}
		if (rc == 0)
			fig_close(c, sql);
	}
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	return rc;
}

static int sec_bars(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	expand(&sql, q->sql, NULL, c->o.top_n);
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	int rc = bars_query(c, q, sql.data, (size_t)c->o.top_n, q->name, "top-artists", "tracks",
	                    "No artists in the catalogue.");
	strbuf_free(&sql);
	return rc;
}

static int sec_genres(eda_ctx *c, const eda_query *q)
{
	return bars_query(c, q, q->sql, (size_t)c->o.top_n, "genres", "top-genres", "tracks",
	                  "No genres in the catalogue.");
}

static int sec_rejects(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	char *labels[BARS_MAX];
	double v[BARS_MAX];
	size_t n = 0;
	long long total = 0, rows = 0, values = 0;
	json_t *by = json_object();
	strbuf keybuf = {0};
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *reason = (const char *)sqlite3_column_text(st, 0);
		const char *action = (const char *)sqlite3_column_text(st, 1);
		long long cnt = sqlite3_column_int64(st, 2);
		reason = reason ? reason : "";
		int is_row = action && strcmp(action, "row") == 0;
		total += cnt;
		if (is_row)
			rows += cnt;
		else
			values += cnt;
		/* The same reason comes once per action; the summary adds them up. */
		const char *key = utf8_clean(reason, &keybuf);
		json_t *prev = json_object_get(by, key);
		jset(c, by, key, json_integer(cnt + (prev ? json_integer_value(prev) : 0)));
		if (n < BARS_MAX) {
			size_t len = strlen(reason) + 24;
			labels[n] = malloc(len);
			if (labels[n] == NULL) {
				src = SQLITE_NOMEM;
				break;
			}
			snprintf(labels[n], len, "%s (%s)", reason, is_row ? "row dropped" : "value cleared");
			v[n++] = (double)cnt;
		}
	}
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory")
	                         : step_done(c, q->name, src);
	sqlite3_finalize(st);
	strbuf_free(&keybuf);
	json_t *dq = json_object_get(c->summary, "data_quality");
	jset(c, dq, "rejects", json_integer(total));
	jset(c, dq, "rejected_rows", json_integer(rows));
	jset(c, dq, "cleared_values", json_integer(values));
	jset(c, dq, "rejects_by_reason", by);
	if (rc == 0) {
		note_query(c, q->name, q->sql);
		fig_open(c, NULL);
		if (n == 0) {
			empty_note(c, "No rejects: ingest used every row and value it read.");
		} else {
			svg_opts o = {0};
			o.title = q->title;
			o.x_label = "rejects";
			o.width = SECTIONS[q->section].chart_w;
			o.value_labels = 1;
			size_t start = c->html->len;
			rc = chart_rc(c, svg_bars(c->html, &o, (const char *const *)labels, v, n));
			if (rc == 0)
				rc = keep_chart(c, "rejects-by-reason", o.title, q->sql, start);
		}
		if (rc == 0)
			fig_close(c, q->sql);
	}
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Data quality tables                                                       */

/* Runs a query returning one row and returns the statement positioned on it
 * (or on nothing). The caller finalizes. */
static int one_row(eda_ctx *c, const eda_query *q, sqlite3_stmt **st, int *has_row)
{
	int rc = prepare(c, q->name, q->sql, st);
	if (rc < 0)
		return rc;
	int src = sqlite3_step(*st);
	*has_row = src == SQLITE_ROW;
	if (!*has_row) {
		rc = step_done(c, q->name, src);
		if (rc < 0) {
			sqlite3_finalize(*st);
			*st = NULL;
		}
	}
	return rc;
}

static int sec_missing(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int has;
	int rc = one_row(c, q, &st, &has);
	if (rc < 0)
		return rc;
	json_t *dq = json_object_get(c->summary, "data_quality");
	json_t *miss = json_object();
	strbuf *h = c->html;
	strbuf_puts(h, "<h3>");
	strbuf_xml(h, q->title);
	strbuf_puts(h, "</h3>");
	fig_open(c, "plain");
	long long tracks = has ? sqlite3_column_int64(st, 0) : 0;
	if (tracks == 0) {
		empty_note(c, "No tracks with audio features yet.");
	} else {
		strbuf_puts(h, "<div class=\"tw\"><table class=\"narrow\"><thead><tr><th>column</th>"
		               "<th>missing</th><th>share</th></tr></thead><tbody>");
		int ncol = sqlite3_column_count(st);
		for (int i = 1; i < ncol; i++) {
			long long m = sqlite3_column_int64(st, i);
			const char *name = sqlite3_column_name(st, i);
			jset(c, miss, name, json_integer(m));
			strbuf_printf(h, "<tr%s><td>", m > 0 ? " class=\"hl\"" : "");
			strbuf_xml(h, name);
			strbuf_puts(h, "</td><td class=\"n\">");
			put_int(h, m);
			double share = 100.0 * (double)m / (double)tracks;
			if (m > 0 && share < 0.05)
				strbuf_puts(h, "</td><td class=\"n\">&lt;0.1%</td></tr>");
			else
				strbuf_printf(h, "</td><td class=\"n\">%.1f%%</td></tr>", share);
		}
		strbuf_puts(h, "</tbody></table></div>");
	}
	jset(c, dq, "missing", miss);
	sqlite3_finalize(st);
	note_query(c, q->name, q->sql);
	fig_close(c, q->sql);
	return 0;
}

static int sec_nofeat(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int has;
	int rc = one_row(c, q, &st, &has);
	if (rc < 0)
		return rc;
	long long v[3] = {0, 0, 0};
	for (int i = 0; has && i < 3; i++)
		v[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	json_t *dq = json_object_get(c->summary, "data_quality");
	jset(c, dq, "tracks_without_features", json_integer(v[0]));
	jset(c, dq, "tracks_without_features_in_playlists", json_integer(v[1]));
	jset(c, dq, "playlist_entries_without_features", json_integer(v[2]));
	note_query(c, q->name, q->sql);

	strbuf *h = c->html;
	strbuf_puts(h, "<h3>");
	strbuf_xml(h, q->title);
	strbuf_puts(h, "</h3>");
	fig_open(c, "plain");
	if (v[0] == 0) {
		empty_note(c, c->counts[C_TRACKS] ? "Every track has audio features." : "No tracks.");
	} else {
		strbuf_puts(h, "<p>");
		put_int(h, v[0]);
		strbuf_puts(h, " tracks have no audio features (they came from playlists only); ");
		put_int(h, v[1]);
		strbuf_puts(h, " of them appear in playlists, in ");
		put_int(h, v[2]);
		strbuf_puts(h, " playlist entries. Content-based models cannot recommend them; "
		               "collaborative filtering can.</p>");
	}
	fig_close(c, q->sql);
	return 0;
}

/* Totals of merged duplicates, then the per-file table. */
static int sec_merged(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, "SELECT COALESCE(SUM(merged), 0) FROM ingests", &st);
	if (rc < 0)
		return rc;
	long long merged = 0;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		merged = sqlite3_column_int64(st, 0);
		src = sqlite3_step(st);
	}
	rc = step_done(c, q->name, src);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	jset(c, json_object_get(c->summary, "data_quality"), "merged_duplicates",
	     json_integer(merged));
	return sec_table(c, q);
}

/* ------------------------------------------------------------------------ */
/* Page                                                                      */

static const char CSS[] =
	":root{--fg:#1f2328;--muted:#59636e;--line:#e1e4e8;--bg:#f6f7f9;--card:#fff;"
	"--accent:#3b6fb6}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--fg);"
	"font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}"
	"main{max-width:1160px;margin:0 auto;padding:20px 16px 48px}"
	"header h1{font-size:1.7rem;margin:0}"
	"header p{margin:.2rem 0 0;color:var(--muted)}"
	"nav{margin:14px 0 6px;display:flex;flex-wrap:wrap;gap:6px 8px}"
	"nav a{color:var(--accent);text-decoration:none;font-size:.9rem;padding:2px 10px;"
	"border:1px solid var(--line);border-radius:999px;background:var(--card)}"
	"h2{font-size:1.3rem;margin:2.2rem 0 .4rem;padding-bottom:.3rem;"
	"border-bottom:2px solid var(--line)}"
	"h3{font-size:1rem;margin:1.2rem 0 .5rem}"
	"section>p.intro{color:var(--muted);margin:.2rem 0 .8rem}"
	".banner{margin:14px 0;padding:12px 16px;border-radius:8px;background:#fff4e0;"
	"border:1px solid #f0b050;color:#6b4000;font-weight:600}"
	".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,340px),1fr));"
	"gap:14px;margin:.6rem 0}"
	"figure{margin:0 0 14px;background:var(--card);border:1px solid var(--line);"
	"border-radius:10px;padding:10px 12px;min-width:0}"
	".grid.g2{grid-template-columns:repeat(auto-fill,minmax(min(100%,460px),1fr))}"
	".grid figure{margin:0}"
	".grid>.plain,.grid>h3,.grid>.banner,.grid>.empty{grid-column:1/-1}"
	".grid>h3{margin:.6rem 0 -.4rem}"
	"figure.wide{overflow-x:auto}"
	"figure.wide svg{max-width:860px;min-width:600px}"
	"figure.plain{padding:12px}"
	"figure svg{display:block;width:100%;height:auto}"
	"figcaption{font-size:.8rem;color:var(--muted);margin-top:4px}"
	"details{margin-top:6px;font-size:.85rem}"
	"summary{cursor:pointer;color:var(--muted);user-select:none}"
	"pre{margin:6px 0 0;padding:8px 10px;background:#f3f4f6;border-radius:6px;"
	"overflow-x:auto;font-size:.78rem;line-height:1.4}"
	".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}"
	".card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;color:var(--muted);"
	"font-size:.85rem;background:#fbfbfc}"
	".card b{display:block;font-size:1.45rem;color:var(--fg);font-variant-numeric:tabular-nums}"
	".tw{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-size:.85rem}"
	"table.narrow{width:auto;min-width:50%}"
	"th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;"
	"vertical-align:top}"
	"th{font-weight:600;color:var(--muted);white-space:nowrap}"
	"th.n{text-align:right}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.na,.na{color:#9aa0a6}"
	"tr.hl td{background:#fff8e6}"
	".empty{color:var(--muted);font-style:italic;margin:.3rem 0}"
	".note{color:var(--muted);font-size:.8rem}"
	"footer{margin-top:3rem;color:var(--muted);font-size:.85rem}"
	"code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}";

/* The page head, heading, synthetic-data banner and navigation, into h. */
static void page_begin(eda_ctx *c, strbuf *h)
{
	strbuf_puts(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	               "<title>segue catalogue report</title><style>");
	strbuf_puts(h, CSS);
	strbuf_puts(h, "</style></head><body><main><header><h1>Catalogue report</h1><p>");
	if (c->o.source_name && *c->o.source_name) {
		strbuf_puts(h, "<code>");
		strbuf_xml(h, c->o.source_name);
		strbuf_puts(h, "</code> &middot; ");
	}
	strbuf_puts(h, "exploratory data analysis by segue</p></header>\n");
	if (c->counts[C_SYNTHETIC] > 0) {
		strbuf_puts(h, "<div class=\"banner\" role=\"alert\">SYNTHETIC DATA: ");
		put_int(h, c->counts[C_SYNTHETIC]);
		strbuf_puts(h, c->counts[C_SYNTHETIC] == c->counts[C_TRACKS] ? " (all)" : "");
		strbuf_puts(h, " of the tracks in this catalogue were generated by segue as demo data, "
		               "not taken from a real export. Do not draw conclusions about real music "
		               "from them.</div>\n");
	}
	strbuf_puts(h, "<nav>");
	for (int s = 0; s < NSECTIONS; s++) {
		strbuf_printf(h, "<a href=\"#%s\">", SECTIONS[s].id);
		strbuf_xml(h, SECTIONS[s].heading);
		strbuf_puts(h, "</a>");
	}
	strbuf_puts(h, "</nav>\n");
}

static void page_end(strbuf *h)
{
	strbuf_puts(h,
	            "<footer>Each figure shows the SQL it was drawn from; re-run it with "
	            "<code>segue sql \"&hellip;\"</code>. Machine-readable numbers are in "
	            "<code>summary.json</code>.</footer></main></body></html>\n");
}

static int run_query(eda_ctx *c, const eda_query *q)
{
	switch (q->kind) {
	case K_COUNTS: return sec_counts(c, q);
	case K_TABLE:
		return strcmp(q->name, "merged_duplicates") == 0 ? sec_merged(c, q) : sec_table(c, q);
	case K_STATS: return sec_stats(c, q);
	case K_HIST: return sec_hist(c, q);
	case K_CORR: return sec_corr(c, q);
	case K_PROFILE: return sec_profile(c, q);
	case K_SCATTER: return sec_scatter(c, q);
	case K_KEYMODE: return sec_keymode(c, q);
	case K_TIMESIG: return sec_timesig(c, q);
	case K_BARS: return sec_bars(c, q);
	case K_GENRES: return sec_genres(c, q);
	case K_REJECTS: return sec_rejects(c, q);
	case K_MISSING: return sec_missing(c, q);
	case K_NOFEAT: return sec_nofeat(c, q);
	}
	return SEG_EINVAL;
}

/* Checks that db looks like a segue catalogue, naming the first missing table. */
static int check_schema(sqlite3 *db, seg_error *err)
{
	static const char *const need[] = {"ingests", "tracks", "artists", "track_artists",
	                                   "genres", "track_genres", "playlists",
	                                   "playlist_tracks", "rejects"};
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return seg_error_set(err, SEG_EFORMAT, "not a segue catalogue: %s", sqlite3_errmsg(db));
	int rc = 0;
	for (size_t i = 0; i < sizeof need / sizeof need[0] && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, need[i], -1, SQLITE_STATIC);
		int s = sqlite3_step(st);
		if (s == SQLITE_DONE)
			rc = seg_error_set(err, SEG_EFORMAT, "not a segue catalogue: it has no table %s",
			                   need[i]);
		else if (s != SQLITE_ROW)
			rc = seg_error_set(err, SEG_EFORMAT, "not a segue catalogue: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

int eda_render_charts(sqlite3 *db, const eda_opts *opts, strbuf *html, strbuf *json,
                      eda_charts *charts, seg_error *err)
{
	if (charts)
		memset(charts, 0, sizeof(*charts));
	if (db == NULL)
		return seg_error_set(err, SEG_EINVAL, "eda_render: no database");
	int rc = check_schema(db, err);
	if (rc < 0)
		return rc;
	eda_ctx c;
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.err = err;
	c.want_charts = charts != NULL;
	if (opts)
		c.o = *opts;
	if (c.o.top_n <= 0)
		c.o.top_n = 20;
	if (c.o.top_n > BARS_MAX)
		c.o.top_n = BARS_MAX;
	if (c.o.profile_genres <= 0)
		c.o.profile_genres = 8;
	if (c.o.reject_examples <= 0)
		c.o.reject_examples = 3;
	/* Sections go into `body` first: the banner at the top of the page depends
	 * on the counts that the first section reads. */
	strbuf body = {0};
	c.html = &body;
	c.summary = json_object();
	c.queries = json_object();
	c.charts_json = json_array();
	jset(&c, c.summary, "format", json_string("segue-eda-summary"));
	jset(&c, c.summary, "version", json_integer(1));
	jset(&c, c.summary, "data_quality", json_object());

	for (int s = 0; s < NSECTIONS && rc == 0; s++) {
		strbuf_printf(c.html, "<section id=\"%s\"><h2>", SECTIONS[s].id);
		strbuf_xml(c.html, SECTIONS[s].heading);
		strbuf_puts(c.html, "</h2>");
		if (SECTIONS[s].intro) {
			strbuf_puts(c.html, "<p class=\"intro\">");
			strbuf_xml(c.html, SECTIONS[s].intro);
			strbuf_puts(c.html, "</p>");
		}
		if (SECTIONS[s].grid)
			strbuf_printf(c.html, "<div class=\"%s\">", SECTIONS[s].grid);
		for (size_t i = 0; i < NQUERIES && rc == 0; i++) {
			if (QUERIES[i].section != s)
				continue;
			rc = run_query(&c, &QUERIES[i]);
		}
		if (SECTIONS[s].grid)
			strbuf_puts(c.html, "</div>");
		strbuf_puts(c.html, "</section>\n");
	}
	jset(&c, c.summary, "queries", c.queries);
	jset(&c, c.summary, "charts", c.charts_json);
	if (rc == 0 && html) {
		page_begin(&c, html);
		strbuf_append(html, strbuf_cstr(&body), body.len);
		page_end(html);
	}

	if (rc == 0 && (c.oom || body.oom || (html && html->oom)))
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory while building the report");
	if (rc == 0 && json) {
		char *text = json_dumps(c.summary, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
		if (text == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory while writing the summary");
		} else {
			strbuf_puts(json, text);
			strbuf_putc(json, '\n');
			free(text);
			if (json->oom)
				rc = seg_error_set(err, SEG_ENOMEM, "out of memory while writing the summary");
		}
	}
	json_decref(c.summary);
	strbuf_free(&body);
	if (rc == 0 && charts)
		*charts = c.charts;
	else
		eda_charts_free(&c.charts);
	return rc;
}

int eda_render(sqlite3 *db, const eda_opts *opts, strbuf *html, strbuf *json, seg_error *err)
{
	return eda_render_charts(db, opts, html, json, NULL, err);
}

const eda_chart *eda_charts_find(const eda_charts *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

void eda_charts_free(eda_charts *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].sql);
		free(c->v[i].svg);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------ */
/* The cache of summary and charts                                           */
/*
 * Sections: "key" int64_t[EDA_CACHE_KEY], "summary" (the JSON text),
 * "charts" (name, title, SQL and SVG of each chart, each NUL-terminated, in
 * page order). The key: CACHE_VERSION, catalog_stamp, the binary's size and
 * modification time, the three options. */

#define CACHE_VERSION 2
_Static_assert(EDA_CACHE_KEY == 1 + CATALOG_STAMP + 2 + 3, "the cache key's parts");

int eda_cache_key(sqlite3 *db, const eda_opts *opts, int64_t key[EDA_CACHE_KEY])
{
	struct stat st;
	if (catalog_stamp(db, key + 1, NULL) < 0 || stat("/proc/self/exe", &st) < 0)
		return -1;
	int64_t *k = key + 1 + CATALOG_STAMP;
	key[0] = CACHE_VERSION;
	k[0] = (int64_t)st.st_size;
	k[1] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	k[2] = opts ? opts->top_n : 0;
	k[3] = opts ? opts->profile_genres : 0;
	k[4] = opts ? opts->reject_examples : 0;
	return 0;
}

int eda_cache_save(sqlite3 *db, const eda_opts *opts, const int64_t before[EDA_CACHE_KEY], const char *path,
                   const strbuf *json, const eda_charts *charts, seg_error *err)
{
	int64_t key[EDA_CACHE_KEY];
	if (eda_cache_key(db, opts, key) < 0)
		return seg_error_set(err, SEG_EDB, "eda: cannot read the catalogue's state for %s", path);
	if (memcmp(key, before, sizeof key) != 0)
		return 1;
	strbuf text = {0};
	for (size_t i = 0; charts && i < charts->n; i++) {
		const eda_chart *c = &charts->v[i];
		const char *f[4] = {c->name, c->title, c->sql ? c->sql : "", c->svg ? c->svg : ""};
		for (int j = 0; j < 4; j++) {
			strbuf_puts(&text, f[j]);
			strbuf_putc(&text, '\0');
		}
	}
	int rc;
	container_writer *w = container_writer_create();
	if (w == NULL || text.oom)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	else if ((rc = container_writer_add(w, "key", key, sizeof key, err)) == 0 &&
	         (rc = container_writer_add(w, "summary", json->data, json->len, err)) == 0 &&
	         (rc = container_writer_add(w, "charts", text.data, text.len, err)) == 0)
		rc = container_writer_save(w, path, err);
	container_writer_free(w);
	strbuf_free(&text);
	return rc;
}

int eda_cache_load(sqlite3 *db, const eda_opts *opts, const char *path, strbuf *json, eda_charts *charts)
{
	int64_t key[EDA_CACHE_KEY];
	container_file *m = NULL;
	if (eda_cache_key(db, opts, key) < 0 || container_file_open(&m, path, NULL) < 0)
		return -1;
	size_t ksize = 0, jsize = 0, csize = 0;
	const int64_t *k = container_file_section(m, "key", &ksize);
	const char *sum = container_file_section(m, "summary", &jsize);
	const char *text = container_file_section(m, "charts", &csize);
	eda_charts ch = {0};
	int rc = -1;
	if (k == NULL || ksize != sizeof key || memcmp(k, key, sizeof key) != 0 || sum == NULL || text == NULL ||
	    (csize > 0 && text[csize - 1] != '\0'))
		goto out;
	size_t nul = 0;
	for (size_t i = 0; i < csize; i++)
		nul += text[i] == '\0';
	if (nul % 4 != 0 || (nul > 0 && (ch.v = calloc(nul / 4, sizeof(eda_chart))) == NULL))
		goto out;
	const char *p = text;
	for (; ch.n < nul / 4; ch.n++) {
		eda_chart *c = &ch.v[ch.n];
		const char *f[4];
		for (int j = 0; j < 4; j++) {
			f[j] = p;
			p += strlen(p) + 1;
		}
		snprintf(c->name, sizeof c->name, "%s", f[0]);
		snprintf(c->title, sizeof c->title, "%s", f[1]);
		c->sql = strdup(f[2]);
		c->svg = strdup(f[3]);
		if (c->sql == NULL || c->svg == NULL) {
			ch.n++; /* so that eda_charts_free releases it too */
			goto out;
		}
	}
	size_t len0 = json->len;
	strbuf_append(json, sum, jsize);
	if (json->oom) {
		json->len = len0;
		goto out;
	}
	*charts = ch;
	ch = (eda_charts){0};
	rc = 0;
out:
	eda_charts_free(&ch);
	container_file_close(m);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* Writes data to dir/name through dir/name.tmp and a rename. */
static int write_file(const char *dir, const char *name, const strbuf *data, seg_error *err)
{
	char path[4096], tmp[4200];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return seg_error_set(err, SEG_EINVAL, "output path too long: %s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (f == NULL)
		return seg_error_set(err, SEG_EIO, "cannot write %s: %s", tmp, strerror(errno));
	int ok = fwrite(strbuf_cstr(data), 1, data->len, f) == data->len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return seg_error_set(err, SEG_EIO, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

int eda_report_opts(const char *catalog_db_path, const char *out_dir, const eda_opts *opts,
                    seg_error *err)
{
	if (catalog_db_path == NULL || out_dir == NULL || *catalog_db_path == '\0' || *out_dir == '\0')
		return seg_error_set(err, SEG_EINVAL, "eda: catalogue path and output directory are required");
	struct stat sst;
	if (stat(catalog_db_path, &sst) != 0 || !S_ISREG(sst.st_mode))
		return seg_error_set(err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first",
		                     catalog_db_path);
	if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create %s: %s", out_dir, strerror(errno));
	if (stat(out_dir, &sst) != 0 || !S_ISDIR(sst.st_mode))
		return seg_error_set(err, SEG_EIO, "%s is not a directory", out_dir);

	sqlite3 *db = NULL;
	strbuf html = {0}, json = {0};
	int rc = 0;
	if (sqlite3_open_v2(catalog_db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot open catalogue %s: %s", catalog_db_path,
		                   db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	eda_opts o = {0};
	if (opts)
		o = *opts;
	if (o.source_name == NULL) {
		const char *slash = strrchr(catalog_db_path, '/');
		o.source_name = slash ? slash + 1 : catalog_db_path;
	}
	eda_charts charts = {0};
	int64_t key[EDA_CACHE_KEY];
	int keyed = eda_cache_key(db, &o, key) == 0;
	rc = eda_render_charts(db, &o, &html, &json, &charts, err);
	if (rc == SEG_EFORMAT && err) {
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err->msg);
		seg_error_set(err, SEG_EFORMAT, "%s is %s", catalog_db_path, why);
	}
	if (rc < 0)
		goto out;
	rc = write_file(out_dir, "report.html", &html, err);
	if (rc == 0)
		rc = write_file(out_dir, "summary.json", &json, err);
	if (rc == 0) {
		/* and for the server, beside the catalogue; the report stands without it */
		char cache[4096];
		const char *slash = strrchr(catalog_db_path, '/');
		snprintf(cache, sizeof cache, "%.*s%s", slash ? (int)(slash - catalog_db_path + 1) : 0, catalog_db_path,
		         EDA_CACHE_NAME);
		if (keyed)
			eda_cache_save(db, &o, key, cache, &json, &charts, NULL);
	}
	eda_charts_free(&charts);
out:
	sqlite3_close(db);
	strbuf_free(&html);
	strbuf_free(&json);
	return rc;
}

int eda_report(const char *catalog_db_path, const char *out_dir, seg_error *err)
{
	return eda_report_opts(catalog_db_path, out_dir, NULL, err);
}
