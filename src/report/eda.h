/* eda.h: the exploratory report of a catalogue: one self-contained HTML page
 * (inline CSS and SVG charts, each shown with the SQL that produced it) and a
 * machine-readable JSON summary. It only reads the catalogue; it trains nothing
 * and cleans nothing (what ingest rejected is reported, not repaired).
 *
 * It is built from parts internal to the report: eda_sql.h (the features,
 * queries and sections), eda_stats.h (quantiles, correlations, equal-count
 * bins), eda_html.h (tables, figures, the page) and eda_cache.c (the cache
 * below); eda.c turns each query's rows into its figure and summary entry. */
#ifndef SEGUE_EDA_H
#define SEGUE_EDA_H

#include <sqlite3.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"

/* Options of the report. Plain data; zero-initialise, zero fields take defaults. */
typedef struct eda_opts {
	int top_n;               /* rows in the top artists / genres charts; 0: 20 */
	int profile_genres;      /* genres in the feature-profile chart; 0: 8 */
	int reject_examples;     /* example rejects shown per reason; 0: 3 */
	const char *source_name; /* shown under the page heading (e.g. the catalogue's
	                          * file name); NULL: nothing */
} eda_opts;

/* Writes out_dir/report.html and out_dir/summary.json for the catalogue at
 * catalog_db_path, which is opened read-only. out_dir is created when missing
 * (its parent must exist). Returns 0, or SEG_ENOTFOUND when there is no catalogue
 * at the path, SEG_EFORMAT when the file is not a segue catalogue, SEG_EDB when a
 * query fails, SEG_EIO when an output file cannot be written, SEG_ENOMEM; err
 * (may be NULL) then says what happened. Files are written whole or not at all:
 * each goes through a temporary file of its own (PATH.tmp.XXXXXX), is fsynced
 * and renamed into place (container_write_atomic). The summary and charts are
 * also kept in the EDA cache of the workspace that holds the catalogue (the
 * directory of catalog_db_path; eda_cache_save). */
int eda_report(const char *catalog_db_path, const char *out_dir, seg_error *err);

/* eda_report with options (opts may be NULL). */
int eda_report_opts(const char *catalog_db_path, const char *out_dir, const eda_opts *opts, seg_error *err);

/* Renders the report of an open catalogue into memory: the HTML page is appended
 * to `html` and the JSON summary to `json` (either may be NULL to skip it), for
 * callers that serve the report instead of writing it (the dashboard). `db` is
 * only read. Returns as eda_report; on error the buffers hold partial output
 * that the caller should discard. */
int eda_render(sqlite3 *db, const eda_opts *opts, strbuf *html, strbuf *json, seg_error *err);

/* One chart of the report, for serving charts one by one. Plain data, owned by
 * the eda_charts that holds it. */
typedef struct eda_chart {
	char name[64];   /* [a-z0-9-]+, unique in the report and the same on every run,
	                  * e.g. "hist-danceability", "corr-heatmap", "key-mode" */
	char title[128]; /* the chart's title as drawn */
	char *sql;       /* the SQL shown under the chart in the report */
	char *svg;       /* the <svg> element, byte for byte as the report embeds it */
} eda_chart;

/* The charts of one report, in page order. Zero-initialise; release with
 * eda_charts_free. */
typedef struct eda_charts {
	eda_chart *v; /* [n] */
	size_t n;
} eda_charts;

/* The summary's "findings" are the sentences at the top of the page, each
 * {"kind", "sentence", "numbers": {...}} with the numbers it states; which
 * kinds there are, and when each is present, is in eda_findings.h. */

/* eda_render that also hands out every chart the page draws. The summary JSON
 * (of this function and of eda_render alike) lists the same charts, without
 * their SVG, as "charts": [{"name", "title", "sql"}]. A figure that has nothing
 * to draw on this catalogue (it shows a sentence instead) has no chart, so
 * which names are present depends on the data; a name, when present, always
 * means the same figure. `charts` may be NULL; otherwise it is overwritten (free a previous
 * list first) and, on error, left empty. html and json as eda_render. */
int eda_render_charts(sqlite3 *db, const eda_opts *opts, strbuf *html, strbuf *json, eda_charts *charts,
                      seg_error *err);

/* The chart called `name`, or NULL when there is none (or c or name is NULL).
 * The pointer is valid until c is freed. */
const eda_chart *eda_charts_find(const eda_charts *c, const char *name);

/* Releases the charts; c becomes empty. NULL and an empty list are no-ops. */
void eda_charts_free(eda_charts *c);

/* ---- the summary and charts kept between runs ----
 * Computing them reads the whole catalogue (seconds to tens of seconds on
 * a large one), so `segue eda` and the server keep them in the workspace's
 * EDA cache, WORKSPACE/eda.seg (workspace_path(ws, WS_EDA_CACHE, ...);
 * segue's model container, see container.h). The file is stamped with the
 * catalogue's state it was rendered from and the segue that rendered it
 * (a catalog_origin, see catalog.h), and keyed by the options that change
 * figures (top_n, profile_genres, reject_examples; opts may be NULL): it is
 * used only for the catalogue as it is, these options and this version of
 * segue (SEGUE_VERSION: another one may draw charts differently). */
#define EDA_CACHE_KEY 8

/* What the cache functions return besides 0 and the negative SEG_E* codes:
 * there is no usable cache (eda_cache_load), or the figures were not kept
 * (eda_cache_save: the catalogue changed while they were rendered, so they
 * may mix two states, or another segue holds the workspace's lock). Either
 * way the caller renders (again) and may save. */
#define EDA_CACHE_STALE 1

/* The key of the summary and charts of db with opts as it is now: take it
 * before rendering them and hand it to eda_cache_save. Returns 0, or
 * SEG_EDB when the catalogue's state cannot be read (then nothing should
 * be cached). */
int eda_cache_key(sqlite3 *db, const eda_opts *opts, int64_t key[EDA_CACHE_KEY]);

/* Writes json (the summary) and charts, rendered from db after its key was
 * taken into `before`, to `path` (WORKSPACE/eda.seg), through a temporary
 * file of its own, fsync and a rename, under the lock of the workspace that
 * holds it (the directory of `path`; workspace_lock, tried: a caller that
 * holds it already, as `segue eda` does, keeps it). Returns 0;
 * EDA_CACHE_STALE, writing nothing, when the catalogue changed in the
 * meantime or another segue holds the lock; or a negative code with err
 * (may be NULL) filled: as eda_cache_key, from the lock, or from writing
 * the file. */
int eda_cache_save(sqlite3 *db, const eda_opts *opts, const int64_t before[EDA_CACHE_KEY], const char *path,
                   const strbuf *json, const eda_charts *charts, seg_error *err);

/* Reads them back. Returns 0 when the file at `path` was written from db as
 * it is now (catalog_origin_same), by this version of segue, for these
 * options: the summary is appended to json and charts overwritten (free a
 * previous list first). Otherwise json and charts are left as they were,
 * and it returns EDA_CACHE_STALE when there is no usable file (missing,
 * unreadable, damaged, or written for another state of the catalogue,
 * another version of segue or other options), or a negative code: as
 * eda_cache_key, or SEG_ENOMEM. */
int eda_cache_load(sqlite3 *db, const eda_opts *opts, const char *path, strbuf *json, eda_charts *charts);

#endif
