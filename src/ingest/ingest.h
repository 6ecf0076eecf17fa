/* ingest.h: `segue ingest`: reads track tables (every known Kaggle export, or
 * a user-mapped CSV) and playlist data into the workspace catalogue, records
 * every unusable row or value in rejects, and rewrites the feature snapshot.
 * All files of one call land in one transaction. */
#ifndef SEGUE_INGEST_H
#define SEGUE_INGEST_H

#include <stdint.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "core/error.h"
#include "ingest/playlist.h"

typedef struct ingest_options {
	const char *workspace; /* resolved workspace directory */
	const char *map_spec;  /* --map canonical=column,... or NULL */
	int check_only;        /* parse and validate only; write nothing */
	int progress;          /* draw progress bars (when stderr is a terminal) */
} ingest_options;

/* What happened to one input file. */
typedef struct ingest_file {
	char path[1024];
	char variant[40]; /* detected export or playlist format */
	catalog_counts n;
	uint64_t bytes; /* input bytes (compressed size for .zst) */
	double seconds;
} ingest_file;

typedef struct ingest_summary {
	ingest_file *files; /* [nfiles] */
	size_t nfiles;
	catalog_counts total;
	long row_reasons[RR__COUNT]; /* rows dropped, by reason */
	long value_columns[32];      /* values dropped, by schema column */
	double seconds;
	/* Catalogue totals after the ingest (not filled in check-only mode). */
	long tracks_with_features, tracks_without_features, artists, genres, playlists, entries;
	uint64_t snapshot_rows;
} ingest_summary;

/* Ingests `paths` (files, or directories whose .csv/.json/.zst files are
 * taken in name order). On error nothing is committed and err says which file
 * and line. The summary is filled as far as it got; free it with
 * ingest_summary_free. A track table is parsed on a second thread while the
 * calling thread writes (two threads per call; the catalogue's connection
 * is used by the calling thread only). */
int ingest_run(const ingest_options *o, char *const *paths, size_t npaths, ingest_summary *sum, seg_error *err);

/* Prints the summary for a human. */
void ingest_summary_print(const ingest_summary *sum, const ingest_options *o, FILE *out);

void ingest_summary_free(ingest_summary *sum);

#endif
