/* ingest.c: `segue ingest` (see ingest.h).
 *
 * A track table is read on two threads: a parser (CSV records, mapping,
 * validation) hands batches of parsed rows through a small bounded ring to
 * the thread that owns the catalogue's SQLite connection and writes them, in
 * file order. The rows reach the catalogue exactly as a single loop would
 * put them; only the parsing of the next rows overlaps the writing. */
#include "ingest/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "ingest/csv.h"
#include "core/array.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "ingest/schema.h"
#include "catalog/names.h"
#include "catalog/snapshot.h"
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

/* ---- parsing on a second thread ---- */

#define BATCH_ROWS 1024 /* rows handed over at once */
#define RING 4          /* batches in flight: parsing runs at most RING - 1 ahead */
#define ROW_SLOTS (6 + TRACK_MAX_ARTISTS + TRACK_MAX_GENRES + MAX_VALUE_PROBLEMS)

/* One parsed row, its strings copied into its batch's text. */
typedef struct parsed_row {
	track_rec t;
	long line;
	int bad; /* 1: the row is unusable, why in rowp */
	int nv;  /* value problems in vp */
	track_problem rowp;
	track_problem vp[MAX_VALUE_PROBLEMS];
	size_t off[ROW_SLOTS]; /* while the batch fills: each string's offset in its text */
} parsed_row;

typedef struct batch {
	parsed_row rows[BATCH_ROWS];
	size_t n;
	char *text; /* the rows' strings, NUL-terminated one after another */
	size_t used, cap;
	uint64_t consumed; /* input bytes read up to the batch's last row */
	int end;           /* 1: the input ends after this batch (rc says how) */
	int rc;            /* csv_next's result at the end: 0, or a negative code with err */
	seg_error err;
} batch;

enum parser_state { PARSER_IDLE, PARSER_RUNNING, PARSER_TAKEN };

/* The ring between the parser and the writer, and the writer's job. Batch
 * number k (in b[k % RING]) is the parser's while k >= nfull and the
 * writer's while nfree <= k < nfull. */
typedef struct rowpipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	batch *b[RING];
	uint64_t nfull; /* batches handed to the writer so far */
	uint64_t nfree; /* batches the writer has given back */
	int stop;       /* the writer is done or failed: the parser ends */
	enum parser_state state;
	csv_reader *r;
	const schema *s;
	/* the writer's */
	catalog *c;
	ingest_file *f;
	int64_t ingest_id;
	ingest_summary *sum;
	progress *prog;
	seg_error *err;
	int rc;
} rowpipe;

/* The addresses of the row's string pointers, in a fixed order; returns how
 * many. */
static int row_slots(parsed_row *p, const char **sl[ROW_SLOTS])
{
	int n = 0;
	sl[n++] = &p->t.name;
	sl[n++] = &p->t.album;
	sl[n++] = &p->t.album_id;
	sl[n++] = &p->t.playlist_id;
	sl[n++] = &p->t.playlist_name;
	sl[n++] = &p->rowp.value;
	for (int i = 0; i < p->t.nartists; i++)
		sl[n++] = &p->t.artists[i];
	for (int i = 0; i < p->t.ngenres; i++)
		sl[n++] = &p->t.genres[i];
	for (int i = 0; i < p->nv; i++)
		sl[n++] = &p->vp[i].value;
	return n;
}

/* Copies the row's strings (pointing into the CSV record) into the batch's
 * text, as offsets: the text may move as it grows. */
static int row_keep(batch *b, parsed_row *p)
{
	const char **sl[ROW_SLOTS];
	int n = row_slots(p, sl);
	for (int k = 0; k < n; k++) {
		if (*sl[k] == NULL) {
			p->off[k] = SIZE_MAX;
			continue;
		}
		size_t len = strlen(*sl[k]) + 1;
		char *t = array_grow(b->text, &b->cap, b->used + len, 1, 256u << 10);
		if (t == NULL)
			return -1;
		b->text = t;
		memcpy(b->text + b->used, *sl[k], len);
		p->off[k] = b->used;
		b->used += len;
	}
	return 0;
}

/* Points the strings of a filled batch at its text. */
static void batch_fix(batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		parsed_row *p = &b->rows[i];
		const char **sl[ROW_SLOTS];
		int n = row_slots(p, sl);
		for (int k = 0; k < n; k++)
			*sl[k] = p->off[k] == SIZE_MAX ? NULL : b->text + p->off[k];
	}
}

/* A playlist's genre label given to a track by a held-out playlist is
 * evidence from validation or test: the catalogue keeps it for the
 * listener but marks it unusable for features. A row that names no
 * playlist joins no evaluation playlist, so its label is usable. Done
 * here, on the parser's thread: it needs nothing but the row. */
static void mark_heldout(const schema *s, track_rec *t)
{
	if (t->playlist_id != NULL && s->playlist_source != NULL &&
	    catalog_playlist_split(s->playlist_source, t->playlist_id) != CATALOG_SPLIT_TRAIN)
		for (int g = 0; g < t->ngenres; g++)
			t->genre_heldout[g] = t->genre_from_playlist[g];
}

/* Reads up to BATCH_ROWS rows into b. */
static void batch_parse(batch *b, csv_reader *r, const schema *s)
{
	b->n = b->used = 0;
	b->end = b->rc = 0;
	csv_record rec;
	int rc = 0;
	while (b->n < BATCH_ROWS && (rc = csv_next(r, &rec, &b->err)) > 0) {
		parsed_row *p = &b->rows[b->n];
		p->line = rec.line;
		p->nv = 0;
		p->rowp.value = NULL;
		p->bad = schema_map_row(s, &rec, &p->t, &p->rowp, p->vp, MAX_VALUE_PROBLEMS, &p->nv);
		if (p->bad) /* only rowp counts */
			p->nv = 0;
		else
			mark_heldout(s, &p->t);
		if (row_keep(b, p) < 0) {
			rc = seg_error_set(&b->err, SEG_ENOMEM, "out of memory");
			break;
		}
		b->n++;
	}
	batch_fix(b);
	b->consumed = csv_consumed(r);
	if (rc <= 0) {
		b->end = 1;
		b->rc = rc;
	}
}

/* The parser: fills batches in ring order until the input ends or the
 * writer stops. */
static void parse_all(rowpipe *q)
{
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (!q->stop && q->nfull - q->nfree >= RING)
			pthread_cond_wait(&q->cv, &q->mu);
		batch *b = q->stop ? NULL : q->b[q->nfull % RING];
		pthread_mutex_unlock(&q->mu);
		if (b == NULL)
			return;
		batch_parse(b, q->r, q->s);
		pthread_mutex_lock(&q->mu);
		q->nfull++;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		if (b->end)
			return;
	}
}

/* What one accepted or rejected row does to the counts and the catalogue. */
static int ingest_row(catalog *c, const schema *s, parsed_row *p, ingest_file *f, int64_t ingest_id,
                      ingest_summary *sum, seg_error *err)
{
	catalog_counts *n = &f->n;
	track_rec *t = &p->t;
	int rc;
	n->rows_read++;
	if (p->bad) {
		n->rows_rejected++;
		sum->row_reasons[reject_reason_index(p->rowp.reason)]++;
		if (c && (rc = catalog_put_reject(c, ingest_id, f->path, p->line, &p->rowp, "row", err)) < 0)
			return rc;
		return 0;
	}
	n->rows_accepted++;
	n->synthetic_rows += t->synthetic;
	for (int k = 0; k < p->nv; k++) {
		n->values_dropped++;
		count_value_problem(sum, p->vp[k].column);
		if (c && (rc = catalog_put_reject(c, ingest_id, f->path, p->line, &p->vp[k], "value", err)) < 0)
			return rc;
	}
	if (c == NULL)
		return 0;
	int merged;
	int64_t tid;
	if ((rc = catalog_put_track(c, t, ingest_id, &merged, &tid, err)) < 0)
		return rc;
	n->merged += merged;
	n->new_tracks += !merged;
	if (t->playlist_id != NULL && s->playlist_source != NULL) {
		int64_t plid;
		int created, added;
		if ((rc = catalog_put_playlist(c, s->playlist_source, t->playlist_id, t->playlist_name, NULL, -1,
		                               t->synthetic, &plid, &created, err)) < 0 ||
		    (rc = catalog_add_playlist_track(c, plid, tid, &added, err)) < 0)
			return rc;
		n->playlists += created;
		n->playlist_entries += added;
	}
	return 0;
}

static int write_batch(rowpipe *q, batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		int rc = ingest_row(q->c, q->s, &b->rows[i], q->f, q->ingest_id, q->sum, q->err);
		if (rc < 0)
			return rc;
		if ((q->f->n.rows_read & 4095) == 0)
			progress_update(q->prog, b->consumed);
	}
	if (b->rc < 0 && q->err != NULL)
		*q->err = b->err;
	return b->rc;
}

/* The writer: takes the batches in order. When the parser's thread has not
 * started within a moment (parallel_run could not create it, and would run
 * its worker only after this one returns), it takes the parsing over and
 * reads each batch itself before writing it. */
static void write_all(rowpipe *q)
{
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->nfree == q->nfull && q->state != PARSER_TAKEN) {
			if (q->state == PARSER_RUNNING) {
				pthread_cond_wait(&q->cv, &q->mu);
				continue;
			}
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) != 0 && q->state == PARSER_IDLE)
				q->state = PARSER_TAKEN;
		}
		int self = q->nfree == q->nfull; /* then the parsing is this thread's */
		batch *b = q->b[q->nfree % RING];
		pthread_mutex_unlock(&q->mu);
		if (self)
			batch_parse(b, q->r, q->s);
		q->rc = write_batch(q, b);
		pthread_mutex_lock(&q->mu);
		if (self)
			q->nfull++;
		q->nfree++;
		if (q->rc < 0 || b->end)
			q->stop = 1;
		pthread_cond_broadcast(&q->cv);
		int done = q->stop;
		pthread_mutex_unlock(&q->mu);
		if (done)
			return;
	}
}

static void pipe_worker(void *ctx, int worker, int nworkers)
{
	(void)nworkers;
	rowpipe *q = ctx;
	if (worker == 0) {
		write_all(q);
		return;
	}
	pthread_mutex_lock(&q->mu);
	int mine = q->state == PARSER_IDLE;
	if (mine)
		q->state = PARSER_RUNNING;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (mine)
		parse_all(q);
}

/* Ingests the rows of a track table whose header is already read, parsing
 * on a second thread (see the top of the file). */
static int ingest_tracks(catalog *c, csv_reader *r, const schema *s, ingest_file *f, int64_t ingest_id,
                         ingest_summary *sum, progress *prog, seg_error *err)
{
	rowpipe q = {.r = r,
	             .s = s,
	             .state = PARSER_IDLE,
	             .c = c,
	             .f = f,
	             .ingest_id = ingest_id,
	             .sum = sum,
	             .prog = prog,
	             .err = err};
	int rc = 0;
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	for (int i = 0; i < RING; i++)
		if ((q.b[i] = calloc(1, sizeof(batch))) == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
	parallel_run(2, pipe_worker, &q);
	rc = q.rc;
out:
	for (int i = 0; i < RING; i++) {
		if (q.b[i] != NULL)
			free(q.b[i]->text);
		free(q.b[i]);
	}
	pthread_cond_destroy(&q.cv);
	pthread_mutex_destroy(&q.mu);
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

/* What ingest derives from the committed catalogue (catalog_commit_then
 * runs it beside the search index's build for a new catalogue): the
 * summary's counts, the feature snapshot and the names file. */
typedef struct derived {
	const ingest_options *o;
	ingest_summary *sum;
	const char *what;        /* the file being written, for the message of a failure */
	char wrote[2][PATH_MAX]; /* the files written ("" for none): removed if the catalogue is not */
} derived;

static int derived_write(sqlite3 *db, void *arg, seg_error *err)
{
	derived *d = arg;
	ingest_summary *sum = d->sum;
	sum->artists = count(db, "SELECT count(*) FROM artists");
	sum->genres = count(db, "SELECT count(*) FROM genres");
	sum->playlists = count(db, "SELECT count(*) FROM playlists");
	sum->entries = count(db, "SELECT count(*) FROM playlist_tracks");
	/* What workspace_features_write and workspace_names_write do, but on
	 * a thread that is not the lock's holder: ingest_run holds the
	 * workspace lock for it. */
	char path[PATH_MAX];
	d->what = "feature snapshot";
	int rc = workspace_path(d->o->workspace, WS_FEATURES, path, sizeof path, err);
	if (rc < 0 || (rc = snapshot_write(db, path, &sum->snapshot_rows, err)) < 0)
		return rc;
	snprintf(d->wrote[0], sizeof d->wrote[0], "%s", path);
	/* and the display fields the server reads instead of SQL */
	d->what = "names file";
	uint64_t tracks = 0;
	if ((rc = workspace_path(d->o->workspace, WS_NAMES, path, sizeof path, err)) < 0 ||
	    (rc = names_write(db, path, &tracks, err)) < 0)
		return rc;
	snprintf(d->wrote[1], sizeof d->wrote[1], "%s", path);
	/* The snapshot holds the tracks with features, the names file every
	 * track: two scans of the tracks table fewer than counting them. */
	sum->tracks_with_features = (long)sum->snapshot_rows;
	sum->tracks_without_features = (long)(tracks - sum->snapshot_rows);
	return 0;
}

int ingest_run(const ingest_options *o, char *const *paths, size_t npaths, ingest_summary *sum, seg_error *err)
{
	/* SQLite's memory statistics take a global mutex on every allocation,
	 * several per row written; nothing here reads them. (Refused, harmlessly,
	 * if SQLite was already initialised; serve_run does the same.) */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	memset(sum, 0, sizeof(*sum));
	char **files = NULL;
	size_t nfiles = 0;
	catalog *c = NULL;
	int locked = 0;
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
		/* Held (again, when the command holds it) before the catalogue's
		 * temporary exists, so that the cleaning of leftovers that the
		 * first lock does never takes it; and for derived_write. */
		if ((rc = workspace_lock(o->workspace, WORKSPACE_LOCK_WAIT, err)) < 0)
			goto out;
		locked = 1;
		if ((rc = catalog_open(&c, o->workspace, CATALOG_OPEN_LOAD, err)) < 0 ||
		    (rc = catalog_begin(c, err)) < 0)
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
		/* A failure once the catalogue is committed says that it was
		 * written (derived_write's files come after it). */
		derived d = {.o = o, .sum = sum, .what = "catalogue"};
		int committed = 0;
		rc = catalog_commit_then(c, derived_write, &d, &committed, err);
		progress_finish(&prog);
		if (rc < 0 && !committed) {
			/* A new catalogue's derived files are written before it is
			 * published: without it they describe no catalogue. */
			for (int k = 0; k < 2; k++)
				if (d.wrote[k][0] != '\0')
					unlink(d.wrote[k]);
			goto out;
		}
		if (rc < 0) {
			const char *what = d.what;
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
	if (locked)
		workspace_unlock(o->workspace);
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
