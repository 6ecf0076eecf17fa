/* eda_sql.h: what the EDA report asks the catalogue: the numeric features it
 * studies, the SQL of every figure and table (in page order), the sections of
 * the page, and small helpers to run that SQL. It draws nothing and computes
 * no statistics (eda_html.h and eda_stats.h do); it is internal to the report
 * (eda.h is the public API). */
#ifndef SEGUE_EDA_SQL_H
#define SEGUE_EDA_SQL_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/error.h"
#include "core/strbuf.h"

/* The sections of the page, in page order. */
enum {
	EDA_SEC_OVERVIEW,
	EDA_SEC_FINDINGS, /* written last (it reads the other sections' figures),
	                   * shown second; it has no query of the table */
	EDA_SEC_FEATURES,
	EDA_SEC_CORR,
	EDA_SEC_PROFILES,
	EDA_SEC_POPULARITY,
	EDA_SEC_KEYS,
	EDA_SEC_TOP,
	EDA_SEC_QUALITY,
	EDA_NSECTIONS
};

/* A numeric track column as the report treats it. Plain data. */
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
	const char *word;  /* the feature in a sentence ("duration") */
	const char *high;  /* tracks at its high end, for a sentence ("instrumental tracks") */
	const char *low;   /* tracks at its low end ("quiet tracks") */
	const char *units; /* after a value in a sentence (" dB"), or NULL */
} eda_feature;

/* The features, in the order of the correlation query's columns: the first
 * EDA_NUNIT are the 0..1 audio features, the last one is popularity. */
#define EDA_NFEAT 11
#define EDA_NUNIT 7
#define EDA_FEAT_POPULARITY (EDA_NFEAT - 1)
extern const eda_feature eda_features[EDA_NFEAT];

/* How a query's rows become a figure or a table. */
typedef enum eda_kind {
	EDA_K_COUNTS,  /* one row of counts: the overview cards */
	EDA_K_TABLE,   /* any rows, shown as a table */
	EDA_K_STATS,   /* per feature: its sorted values -> summary statistics */
	EDA_K_HIST,    /* per feature: (bin, tracks) -> histogram */
	EDA_K_CORR,    /* all features per track -> Pearson matrix */
	EDA_K_PROFILE, /* (genre, tracks, mean per unit feature) -> lines */
	EDA_K_SCATTER, /* per feature: sorted (x, popularity) -> density + decile means */
	EDA_K_KEYMODE, /* (key, mode, tracks) -> grouped columns */
	EDA_K_TIMESIG, /* (time_signature, tracks) -> columns */
	EDA_K_BARS,    /* (label, value) -> horizontal bars */
	EDA_K_GENRES,  /* (genre, tracks) for every genre -> bars of the first rows */
	EDA_K_REJECTS, /* (reason, action, rejects) -> bars */
	EDA_K_MISSING, /* one row: tracks, then missing values per column -> table */
	EDA_K_NOFEAT,  /* one row about tracks without features -> table */
	EDA_K_MERGED,  /* the totals of merged duplicates, then a table */
} eda_kind;

/* One figure or table of the report. The SQL may hold placeholders: {x} (the
 * feature's expression), {bin} (its bin expression), {name} (its name) for
 * the per-feature kinds, and {limit}. Plain data. */
typedef struct eda_query {
	const char *name;  /* key in summary.json's "queries" */
	const char *title; /* figure title ({label} = the feature's label) */
	int section;       /* EDA_SEC_* */
	eda_kind kind;
	const char *sql;
	const char *empty; /* tables: what to say when there are no rows */
} eda_query;

/* Every query of the report, in page order within each section. */
extern const eda_query eda_queries[];
extern const size_t eda_nqueries;

/* The SQL of the overview's totals of merged duplicates (EDA_K_MERGED). */
extern const char eda_sql_merged_total[];

/* ---- the findings' own queries (eda_findings.h) ---- */

/* Speechiness above which Spotify's documentation of its audio features says
 * a track is "probably made entirely of spoken words" (audiobooks, talk
 * shows, poetry): the findings count such tracks as probably not music. */
#define EDA_SPOKEN_SPEECHINESS 0.66
#define EDA_STR_(x) #x
#define EDA_STR(x) EDA_STR_(x)

/* (value, tracks) for every popularity value of tracks with features, most
 * frequent first. */
extern const char eda_sql_popularity_values[];
/* One row: tracks with features whose speechiness is above
 * EDA_SPOKEN_SPEECHINESS. */
extern const char eda_sql_spoken_total[];
/* (artist, tracks, example) for the first-listed artists of those tracks,
 * most tracks first, {limit} rows; example is the artist's most speechy one. */
extern const char eda_sql_spoken_examples[];
/* One row: the track rows ingest accepted (those that made a new track or
 * were merged into one; playlist rows are not counted), and how many of them
 * were merged into a track already catalogued. */
extern const char eda_sql_ingest_totals[];

/* One section of the page. Plain data. */
typedef struct eda_section {
	const char *id;      /* HTML anchor */
	const char *heading; /* <h2> text */
	const char *intro;   /* one sentence under the heading, or NULL */
	const char *grid;    /* class of a grid around the section's figures, or NULL
	                      * (then per-feature figures get a grid of their own) */
	int chart_w;         /* viewBox width of the section's small charts */
} eda_section;

extern const eda_section eda_sections[EDA_NSECTIONS];

/* The names of the twelve pitch classes, C to B (key 0 to 11). */
extern const char *const eda_key_names[12];

/* Expands the placeholders of tmpl ({x}, {bin}, {name}, {label}, {limit}) into
 * sb (reset first); an unknown placeholder, or a feature placeholder when f is
 * NULL, is copied as it is. Out of memory shows as sb->oom. */
void eda_sql_expand(strbuf *sb, const char *tmpl, const eda_feature *f, int limit);

/* Prepares sql on db. Returns 0, or SEG_EDB with err (may be NULL) naming the
 * query `name` and *st set to NULL. */
int eda_sql_prepare(sqlite3 *db, const char *name, const char *sql, sqlite3_stmt **st, seg_error *err);

/* Finishes stepping query `name`: step_rc SQLITE_DONE is 0, anything else
 * SEG_EDB with err filled. */
int eda_sql_done(sqlite3 *db, const char *name, int step_rc, seg_error *err);

/* Column i of the current row as a double, NAN for NULL. */
double eda_sql_double(sqlite3_stmt *st, int i);

/* Prepares and steps q->sql once. Returns 0 with *st positioned on its first
 * row (*has_row 1) or after its end (*has_row 0); the caller finalizes *st.
 * On error returns SEG_EDB with *st NULL. */
int eda_sql_one_row(sqlite3 *db, const eda_query *q, sqlite3_stmt **st, int *has_row, seg_error *err);

/* Checks that db looks like a segue catalogue: 0, or SEG_EFORMAT naming the
 * first missing table. */
int eda_sql_check_schema(sqlite3 *db, seg_error *err);

#endif
