/* eda_findings.h: the "Findings" of the EDA report: a handful of sentences
 * that say what the figures show, each computed from the data and kept as a
 * structured record so that the dashboard and tests read the same numbers
 * the sentence states. It states; it does not clean or judge the catalogue
 * (a spoken-word track is flagged, not removed). Internal to the report
 * (eda.h is the public API).
 *
 * The findings, in this order, each present only when the data support it:
 *   correlation             the strongest pairs among the features (|r| large)
 *   popularity_correlation  popularity's strongest pair, when not listed above
 *   popularity_missing      tracks with features but no popularity value
 *   popularity_zero         a pile of tracks at popularity exactly 0
 *   skewed                  features whose sample skewness is beyond +-1
 *   spoken_word             tracks Spotify would call spoken word (speechiness)
 *   without_features        tracks known only from playlists
 *   merged_duplicates       rows that repeated a catalogued track
 * The thresholds are named constants in eda_findings.c, with their reasons. */
#ifndef SEGUE_EDA_FINDINGS_H
#define SEGUE_EDA_FINDINGS_H

#include <jansson.h>
#include <sqlite3.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "report/eda_sql.h"
#include "report/eda_stats.h"

/* What the other sections of the report computed, handed to the findings.
 * Plain data; the pointers are borrowed for the call. */
typedef struct eda_facts {
	long long tracks;         /* every track of the catalogue */
	long long with_features;  /* tracks with audio features */
	const eda_summary *stats; /* [EDA_NFEAT] per feature over the tracks with
	                               * features where it is known, or NULL */
	const double *corr_r;     /* [EDA_NFEAT][EDA_NFEAT] pairwise-complete
	                               * Pearson r, NAN where undefined, or NULL */
	const long long *corr_n;  /* [EDA_NFEAT][EDA_NFEAT] pairs behind each r */
	/* The popularity and speechiness of the n tracks with features (NAN for
	 * NULL), read once by the report; when NULL the findings run
	 * eda_sql_popularity_values and eda_sql_spoken_total themselves. Either
	 * way the numbers are those of the SQL. */
	const double *popularity;
	const double *speechiness;
	size_t n;
} eda_facts;

/* Builds the findings of db from `facts` and the queries of its own
 * (eda_sql_popularity_values, eda_sql_spoken_*, eda_sql_ingest_totals).
 * On success returns 0 and *out holds a new JSON array (the caller owns it)
 * of objects {"kind", "sentence", "numbers": {...}}; the SQL of the queries
 * is added to `queries` (name -> SQL; may be NULL). On error returns SEG_EDB
 * or SEG_ENOMEM with err (may be NULL) filled and *out NULL. db is only
 * read. */
int eda_findings_build(sqlite3 *db, const eda_facts *facts, json_t **out, json_t *queries, seg_error *err);

/* Appends the findings as an HTML list of their sentences (escaped), or a
 * sentence saying there are none. Out of memory shows as h->oom. */
void eda_findings_html(strbuf *h, const json_t *findings);

#endif
