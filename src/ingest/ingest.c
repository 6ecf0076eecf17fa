/* ingest.c: `segue ingest` (see ingest.h). */
#include "ingest/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest/csv.h"
#include "core/array.h"
#include "core/progress.h"
#include "ingest/schema.h"
#include "catalog/workspace.h"

#define MAX_VALUE_PROBLEMS 8

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_json(const char *path) { return ends_with(path, ".json") || ends_with(path, ".json.zst"); }

static int wanted_in_dir(const char *name)
{
	return name[0] != '.' && (ends_with(name, ".csv") || ends_with(name, ".csv.zst") || is_json(name));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Expands directories into their data files; returns a malloc'd array of
 * malloc'd paths. */
static int expand(char *const *paths, size_t npaths, char ***out, size_t *nout, seg_error *err)
{
	size_t n = 0, cap = 16;
	char **v = malloc(cap * sizeof(char *));
	int rc = 0;
	if (v == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	for (size_t i = 0; i < npaths && rc == 0; i++) {
		struct stat st;
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(paths[i]);
			if (d == NULL) {
				rc = seg_error_set(err, SEG_EIO, "cannot read directory %s: %s", paths[i],
				                   strerror(errno));
				break;
			}
			size_t first = n;
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (!wanted_in_dir(e->d_name))
					continue;
				char **nv = array_grow(v, &cap, n + 1, sizeof(char *), 16);
				if (nv == NULL) {
					rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
					break;
				}
				v = nv;
				char buf[PATH_MAX];
				snprintf(buf, sizeof buf, "%s/%s", paths[i], e->d_name);
				v[n++] = strdup(buf);
			}
			closedir(d);
			qsort(v + first, n - first, sizeof(char *), cmp_str);
		} else {
			char **nv = array_grow(v, &cap, n + 1, sizeof(char *), 16);
			if (nv == NULL) {
				rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			v[n++] = strdup(paths[i]);
		}
	}
	*out = v;
	*nout = n;
	return rc;
}

static void count_value_problem(ingest_summary *sum, const char *column)
{
	for (int c = 0; c < SC__COUNT && c < 32; c++)
		if (strcmp(schema_col_names[c], column) == 0) {
			sum->value_columns[c]++;
			return;
		}
}

/* Ingests the rows of a track table whose header is already read. */
static int ingest_tracks(catalog *c, csv_reader *r, const schema *s, ingest_file *f, int64_t ingest_id,
                         ingest_summary *sum, progress *prog, seg_error *err)
{
	csv_record rec;
	track_rec t;
	track_problem rowp, vp[MAX_VALUE_PROBLEMS];
	int rc, nv;
	catalog_counts *n = &f->n;
	while ((rc = csv_next(r, &rec, err)) > 0) {
		n->rows_read++;
		if ((n->rows_read & 4095) == 0)
			progress_update(prog, csv_consumed(r));
		if (schema_map_row(s, &rec, &t, &rowp, vp, MAX_VALUE_PROBLEMS, &nv)) {
			n->rows_rejected++;
			sum->row_reasons[reject_reason_index(rowp.reason)]++;
			if (c && (rc = catalog_put_reject(c, ingest_id, f->path, rec.line, &rowp, "row", err)) < 0)
				return rc;
			continue;
		}
		n->rows_accepted++;
		n->synthetic_rows += t.synthetic;
		for (int k = 0; k < nv; k++) {
			n->values_dropped++;
			count_value_problem(sum, vp[k].column);
			if (c && (rc = catalog_put_reject(c, ingest_id, f->path, rec.line, &vp[k], "value", err)) < 0)
				return rc;
		}
		if (c == NULL)
			continue;
		/* A playlist's genre label given to a track by a held-out playlist
		 * is evidence from validation or test: the catalogue keeps it for
		 * the listener but marks it unusable for features. A row that names
		 * no playlist joins no evaluation playlist, so its label is usable. */
		if (t.playlist_id != NULL && s->playlist_source != NULL &&
		    catalog_playlist_split(s->playlist_source, t.playlist_id) != CATALOG_SPLIT_TRAIN)
			for (int g = 0; g < t.ngenres; g++)
				t.genre_heldout[g] = t.genre_from_playlist[g];
		int merged;
		int64_t tid;
		if ((rc = catalog_put_track(c, &t, ingest_id, &merged, &tid, err)) < 0)
			return rc;
		n->merged += merged;
		n->new_tracks += !merged;
		if (t.playlist_id != NULL && s->playlist_source != NULL) {
			int64_t plid;
			int created, added;
			if ((rc = catalog_put_playlist(c, s->playlist_source, t.playlist_id, t.playlist_name, NULL, -1,
			                               t.synthetic, &plid, &created, err)) < 0 ||
			    (rc = catalog_add_playlist_track(c, plid, tid, &added, err)) < 0)
				return rc;
			n->playlists += created;
			n->playlist_entries += added;
		}
	}
	return rc;
}

static int ingest_playlist_csv(catalog *c, csv_reader *r, playlist_csv *pc, ingest_file *f, int64_t ingest_id,
                               ingest_summary *sum, progress *prog, seg_error *err)
{
	csv_record rec;
	int rc;
	while ((rc = csv_next(r, &rec, err)) > 0) {
		if ((f->n.rows_read & 4095) == 0)
			progress_update(prog, csv_consumed(r));
		if ((rc = playlist_csv_row(c, pc, &rec, f->path, ingest_id, &f->n, sum->row_reasons, err)) < 0)
			return rc;
	}
	return rc;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int ingest_file_run(catalog *c, const ingest_options *o, ingest_file *f, ingest_summary *sum, seg_error *err)
{
	progress prog;
	progress_start(&prog, base_name(f->path), 0);
	prog.enabled &= o->progress;
	double t0 = progress_now();
	int64_t ingest_id = 0;
	int rc;
	csv_reader *r = NULL;

	if (is_json(f->path)) {
		snprintf(f->variant, sizeof f->variant, "mpd_json");
		if (c && (rc = catalog_ingest_start(c, f->path, f->variant, 0, &ingest_id, err)) < 0)
			goto out;
		rc = playlist_ingest_json(c, f->path, ingest_id, &f->n, sum->row_reasons, &prog, err);
		if (rc < 0)
			goto out;
		goto finish;
	}
	if ((rc = csv_open(&r, f->path, err)) < 0)
		goto out;
	prog.total = csv_size(r);
	csv_record header;
	rc = csv_next(r, &header, err);
	if (rc == 0) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s is empty: expected a CSV header", f->path);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (header.over_limit != CSV_LIMIT_NONE || header.nul_field >= 0) {
		/* Rows are rejected one by one for this; without a header nothing is usable. */
		char why[160];
		if (header.over_limit != CSV_LIMIT_NONE)
			csv_limit_describe(&header, why, sizeof why);
		else
			snprintf(why, sizeof why, "its field %d holds a NUL byte", header.nul_field + 1);
		rc = seg_error_set(err, SEG_EFORMAT, "%s: the header on line %ld is not a CSV header: %s", f->path,
		                   header.line, why);
		seg_error_at(err, f->path, header.line, 0);
		goto out;
	}
	playlist_csv pc;
	schema s;
	if (playlist_csv_detect(&pc, header.fields, header.nfields) != PLAYLIST_CSV_NONE) {
		/* segue's generated playlists are labelled by their file names. */
		pc.synthetic = strncmp(base_name(f->path), "synthetic_", 10) == 0;
		snprintf(f->variant, sizeof f->variant, "%s",
		         pc.kind == PLAYLIST_CSV_PLAYLISTS ? "mpd_csv_playlists" : "mpd_csv_tracks");
		if (c && (rc = catalog_ingest_start(c, f->path, f->variant, pc.synthetic, &ingest_id, err)) < 0)
			goto out;
		if (pc.synthetic)
			f->n.synthetic_rows = 1;
		rc = ingest_playlist_csv(c, r, &pc, f, ingest_id, sum, &prog, err);
	} else {
		if ((rc = schema_detect(&s, header.fields, header.nfields, o->map_spec, err)) < 0) {
			seg_error_at(err, f->path, header.line, 0);
			goto out;
		}
		snprintf(f->variant, sizeof f->variant, "%s", s.variant);
		if (c && (rc = catalog_ingest_start(c, f->path, f->variant, 0, &ingest_id, err)) < 0)
			goto out;
		rc = ingest_tracks(c, r, &s, f, ingest_id, sum, &prog, err);
	}
	if (rc < 0)
		goto out;
finish:
	f->seconds = progress_now() - t0;
	if (c && (rc = catalog_ingest_finish(c, ingest_id, &f->n, f->seconds, err)) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && err && err->file[0] == '\0')
		seg_error_at(err, f->path, err->line, err->column);
	csv_close(r);
	progress_finish(&prog);
	return rc;
}

static long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

int ingest_run(const ingest_options *o, char *const *paths, size_t npaths, ingest_summary *sum, seg_error *err)
{
	memset(sum, 0, sizeof(*sum));
	char **files = NULL;
	size_t nfiles = 0;
	catalog *c = NULL;
	double t0 = progress_now();
	int rc = expand(paths, npaths, &files, &nfiles, err);
	if (rc < 0)
		goto out;
	if (nfiles == 0) {
		rc = seg_error_set(err, SEG_EINVAL, "no input files (directories are searched for .csv, .json, .zst)");
		goto out;
	}
	sum->files = calloc(nfiles, sizeof(ingest_file));
	if (sum->files == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	/* Check every file opens before starting a long transaction. */
	for (size_t i = 0; i < nfiles; i++) {
		struct stat st;
		if (stat(files[i], &st) < 0) {
			rc = seg_error_set(err, SEG_ENOTFOUND, "cannot open %s: %s", files[i], strerror(errno));
			goto out;
		}
		sum->files[i].bytes = (uint64_t)st.st_size;
		snprintf(sum->files[i].path, sizeof sum->files[i].path, "%s", files[i]);
	}
	if (!o->check_only) {
		if ((rc = catalog_open(&c, o->workspace, 1, err)) < 0 || (rc = catalog_begin(c, err)) < 0)
			goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		ingest_file *f = &sum->files[i];
		sum->nfiles = i + 1;
		if ((rc = ingest_file_run(c, o, f, sum, err)) < 0)
			goto out;
		catalog_counts *t = &sum->total, *n = &f->n;
		t->rows_read += n->rows_read;
		t->rows_accepted += n->rows_accepted;
		t->new_tracks += n->new_tracks;
		t->merged += n->merged;
		t->rows_rejected += n->rows_rejected;
		t->values_dropped += n->values_dropped;
		t->playlists += n->playlists;
		t->playlist_entries += n->playlist_entries;
		t->synthetic_rows += n->synthetic_rows;
	}
	if (c != NULL) {
		progress prog;
		progress_start(&prog, "indexing", 0);
		prog.enabled &= o->progress;
		/* a note in the bar's place, cleared with it whatever follows */
		progress_note(&prog, "building the search index, feature snapshot and names...");
		if ((rc = catalog_commit(c, err)) < 0) {
			progress_finish(&prog);
			goto out;
		}
		sqlite3 *db = catalog_db(c);
		sum->tracks_with_features = count(db, "SELECT count(*) FROM tracks WHERE has_features");
		sum->tracks_without_features = count(db, "SELECT count(*) FROM tracks WHERE NOT has_features");
		sum->artists = count(db, "SELECT count(*) FROM artists");
		sum->genres = count(db, "SELECT count(*) FROM genres");
		sum->playlists = count(db, "SELECT count(*) FROM playlists");
		sum->entries = count(db, "SELECT count(*) FROM playlist_tracks");
		/* The catalogue is committed: what follows derives files from it,
		 * and a failure says that the catalogue was written. */
		const char *what = "feature snapshot";
		rc = workspace_features_write(o->workspace, db, &sum->snapshot_rows, err);
		if (rc == 0) {
			/* and the display fields the server reads instead of SQL */
			what = "names file";
			rc = workspace_names_write(o->workspace, db, NULL, err);
		}
		progress_finish(&prog);
		if (rc < 0) {
			char why[sizeof err->msg];
			snprintf(why, sizeof why, "%s", err ? err->msg : "?");
			seg_error_set(err, rc,
			              "the catalogue was written; the %s could not be: %s; once that is fixed, run "
			              "`segue ingest --refresh` to write it",
			              what, why);
			goto out;
		}
	}
	rc = 0;
out:
	sum->seconds = progress_now() - t0;
	catalog_close(c); /* rolls back if not committed */
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}

void ingest_summary_free(ingest_summary *sum)
{
	free(sum->files);
	memset(sum, 0, sizeof(*sum));
}

void ingest_summary_print(const ingest_summary *sum, const ingest_options *o, FILE *out)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < sum->nfiles; i++)
		bytes += sum->files[i].bytes;
	fprintf(out, "%s %zu file%s in %.2f s (%.1f MB read)%s\n", o->check_only ? "checked" : "ingested", sum->nfiles,
	        sum->nfiles == 1 ? "" : "s", sum->seconds, (double)bytes / 1e6,
	        o->check_only ? "; nothing was written" : "");
	fprintf(out, "  %-40s %-22s %9s %9s %9s %8s %8s %8s %9s\n", "file", "format", "rows", "accepted", "new",
	        "merged", "rejected", "dropped", "entries");
	for (size_t i = 0; i < sum->nfiles; i++) {
		const ingest_file *f = &sum->files[i];
		const char *name = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
		fprintf(out, "  %-40.40s %-22s %9ld %9ld %9ld %8ld %8ld %8ld %9ld\n", name, f->variant, f->n.rows_read,
		        f->n.rows_accepted, f->n.new_tracks, f->n.merged, f->n.rows_rejected, f->n.values_dropped,
		        f->n.playlist_entries);
	}
	const catalog_counts *t = &sum->total;
	fprintf(out, "  %-40s %-22s %9ld %9ld %9ld %8ld %8ld %8ld %9ld\n", "total", "", t->rows_read, t->rows_accepted,
	        t->new_tracks, t->merged, t->rows_rejected, t->values_dropped, t->playlist_entries);
	if (t->rows_rejected > 0) {
		fprintf(out, "rows rejected by reason:");
		for (int r = 0; r < RR__COUNT; r++)
			if (sum->row_reasons[r])
				fprintf(out, " %s %ld;", reject_reason_names[r], sum->row_reasons[r]);
		fputc('\n', out);
	}
	if (t->values_dropped > 0) {
		fprintf(out, "values stored as NULL, by column:");
		for (int c = 0; c < SC__COUNT && c < 32; c++)
			if (sum->value_columns[c])
				fprintf(out, " %s %ld;", schema_col_names[c], sum->value_columns[c]);
		fputc('\n', out);
	}
	if (!o->check_only) {
		fprintf(out,
		        "catalogue %s/%s: %ld tracks with audio features, %ld without (known from playlists only), "
		        "%ld artists, %ld genres, %ld playlists, %ld playlist entries\n",
		        o->workspace, CATALOG_DB_NAME, sum->tracks_with_features, sum->tracks_without_features,
		        sum->artists, sum->genres, sum->playlists, sum->entries);
		fprintf(out, "feature snapshot %s/%s: %llu rows\n", o->workspace, CATALOG_SNAPSHOT_NAME,
		        (unsigned long long)sum->snapshot_rows);
		if (t->rows_rejected + t->values_dropped > 0)
			fprintf(out, "see them with: segue sql \"SELECT file, line, column_name, value, reason, detail "
			             "FROM rejects LIMIT 20\"\n");
	}
}
