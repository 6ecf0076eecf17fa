/* snapshot.c: writing and mapping the feature snapshot (see snapshot.h), a
 * container file of a few sections. */
#include "catalog/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/container.h"

/* clang-format off */
const char *const snapshot_col_names[SNAP__COLS] = {
	"danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
	"instrumentalness", "liveness", "valence", "tempo", "time_signature", "duration_ms",
	"popularity", "year",
};
/* clang-format on */

#define ID_STRIDE 24
#define SEC_SHAPE "snap.shape"
#define SEC_TRACK_ID "snap.track_id"
#define SEC_SPOTIFY_ID "snap.spotify_id"
#define SEC_X "snap.x"
/* the first 8 bytes of a version 1 file, which had a header of its own */
#define SNAPSHOT_V1_MAGIC "SEGSNAP\0"

typedef struct snap_shape {
	uint32_t version; /* SNAPSHOT_VERSION */
	uint32_t d;       /* columns */
	uint64_t n;       /* rows */
} snap_shape;

struct snapshot {
	container_file *m;
	size_t n, d;
	const catalog_origin *origin;
	const int64_t *ids; /* [N] */
	const char *sids;   /* [N][ID_STRIDE] */
	const float *x;     /* [N][D] */
};

/* Reads the rows and the origin; the caller holds a read transaction. */
static int read_rows(sqlite3 *db, catalog_origin *origin, int64_t **ids_out, char **sids_out, float **x_out,
                     sqlite3_int64 *n_out, seg_error *err)
{
	int rc = 0;
	sqlite3_stmt *q = NULL;
	int64_t *ids = NULL;
	char *sids = NULL;
	float *x = NULL;
	sqlite3_int64 n = 0;
	if ((rc = catalog_origin_now(db, origin, err)) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM tracks WHERE has_features", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		rc = seg_error_set(err, SEG_EDB, "cannot count tracks: %s", sqlite3_errmsg(db));
		goto out;
	}
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;

	const uint32_t D = SNAP__COLS;
	ids = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
	sids = calloc((size_t)(n ? n : 1), ID_STRIDE);
	x = malloc(sizeof(float) * (size_t)(n ? n : 1) * D);
	if (!ids || !sids || !x) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for a %lld-track snapshot", (long long)n);
		goto out;
	}
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, spotify_id, danceability, energy, key, loudness, mode, speechiness,"
	                       " acousticness, instrumentalness, liveness, valence, tempo, time_signature,"
	                       " duration_ms, popularity, year FROM tracks WHERE has_features ORDER BY id",
	                       -1, &q, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot read tracks: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_int64 i = 0;
	int step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW && i < n) {
		ids[i] = sqlite3_column_int64(q, 0);
		snprintf(sids + (size_t)i * ID_STRIDE, ID_STRIDE, "%s", (const char *)sqlite3_column_text(q, 1));
		for (uint32_t j = 0; j < D; j++)
			x[(size_t)i * D + j] = sqlite3_column_type(q, (int)j + 2) == SQLITE_NULL
			                               ? NAN
			                               : (float)sqlite3_column_double(q, (int)j + 2);
		i++;
	}
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		rc = seg_error_set(err, SEG_EDB, "cannot read tracks: %s", sqlite3_errmsg(db));
		goto out;
	}
	n = i;
out:
	sqlite3_finalize(q);
	if (rc < 0) {
		free(ids);
		free(sids);
		free(x);
		ids = NULL;
		sids = NULL;
		x = NULL;
	}
	*ids_out = ids;
	*sids_out = sids;
	*x_out = x;
	*n_out = n;
	return rc;
}

int snapshot_write(sqlite3 *db, const char *path, uint64_t *rows, seg_error *err)
{
	int64_t *ids = NULL;
	char *sids = NULL;
	float *x = NULL;
	sqlite3_int64 n = 0;
	catalog_origin origin;
	container_writer *w = NULL;
	/* One read transaction (the caller's, if it has one open): the stamp
	 * and the rows see one catalogue. */
	int own_txn = sqlite3_get_autocommit(db) != 0;
	if (own_txn && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return seg_error_set(err, SEG_EDB, "cannot read the catalogue: %s", sqlite3_errmsg(db));
	int rc = read_rows(db, &origin, &ids, &sids, &x, &n, err);
	if (own_txn)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc < 0)
		goto out;
	const size_t N = (size_t)n, D = SNAP__COLS;
	snap_shape shape = {.version = SNAPSHOT_VERSION, .d = (uint32_t)D, .n = (uint64_t)N};
	w = container_writer_create();
	if (w == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = container_writer_add(w, SEC_SHAPE, &shape, sizeof shape, err)) < 0 ||
	    (rc = container_writer_add(w, CATALOG_ORIGIN_SECTION, &origin, sizeof origin, err)) < 0 ||
	    (rc = container_writer_add(w, SEC_TRACK_ID, ids, sizeof(int64_t) * N, err)) < 0 ||
	    (rc = container_writer_add(w, SEC_SPOTIFY_ID, sids, ID_STRIDE * N, err)) < 0 ||
	    (rc = container_writer_add(w, SEC_X, x, sizeof(float) * N * D, err)) < 0 ||
	    (rc = container_writer_save(w, path, err)) < 0)
		goto out;
	if (rows)
		*rows = (uint64_t)N;
out:
	container_writer_free(w);
	free(ids);
	free(sids);
	free(x);
	return rc;
}

/* 1 when `path` starts as a version 1 snapshot did. */
static int is_v1(const char *path)
{
	char magic[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int yes = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && memcmp(magic, SNAPSHOT_V1_MAGIC, 8) == 0;
	close(fd);
	return yes;
}

int snapshot_open(snapshot **out, const char *path, seg_error *err)
{
	*out = NULL;
	if (is_v1(path))
		return seg_error_set(err, SEG_EVERSION,
		                     "%s has snapshot format version 1 (an older segue); this segue reads version %d",
		                     path, SNAPSHOT_VERSION);
	container_file *m = NULL;
	int rc = container_file_open(&m, path, err);
	if (rc < 0)
		return rc;
	snapshot *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		container_file_close(m);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	s->m = m;
	const snap_shape *shape = NULL;
	const void *p;
	if (container_file_require(m, SEC_SHAPE, sizeof(snap_shape), &p, NULL) < 0) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s is not a segue feature snapshot (no %s section)", path,
		                   SEC_SHAPE);
		goto fail;
	}
	shape = p;
	if (shape->version != SNAPSHOT_VERSION) {
		rc = seg_error_set(err, SEG_EVERSION, "%s has snapshot format version %u; this segue reads version %d",
		                   path, shape->version, SNAPSHOT_VERSION);
		goto fail;
	}
	/* N is bounded by the file's size, so the products below do not overflow */
	size_t n = (size_t)shape->n, d = shape->d;
	if (shape->d != SNAP__COLS || shape->n > SIZE_MAX / (sizeof(float) * SNAP__COLS + ID_STRIDE + 8)) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s has an inconsistent shape (%llu x %u)", path,
		                   (unsigned long long)shape->n, shape->d);
		goto fail;
	}
	if ((rc = container_file_require(m, CATALOG_ORIGIN_SECTION, sizeof(catalog_origin), &p, err)) < 0)
		goto fail;
	s->origin = p;
	if ((rc = container_file_require(m, SEC_TRACK_ID, sizeof(int64_t) * n, &p, err)) < 0)
		goto fail;
	s->ids = p;
	if ((rc = container_file_require(m, SEC_SPOTIFY_ID, ID_STRIDE * n, &p, err)) < 0)
		goto fail;
	s->sids = p;
	if ((rc = container_file_require(m, SEC_X, sizeof(float) * n * d, &p, err)) < 0)
		goto fail;
	s->x = p;
	int terminated = s->origin->code[sizeof s->origin->code - 1] == '\0';
	for (size_t i = 0; terminated && i < n; i++)
		terminated = s->sids[i * ID_STRIDE + ID_STRIDE - 1] == '\0';
	if (!terminated) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s has an unterminated string", path);
		goto fail;
	}
	s->n = n;
	s->d = d;
	*out = s;
	return 0;
fail:
	snapshot_close(s);
	return rc;
}

void snapshot_close(snapshot *s)
{
	if (s == NULL)
		return;
	container_file_close(s->m);
	free(s);
}

size_t snapshot_rows(const snapshot *s) { return s->n; }
size_t snapshot_cols(const snapshot *s) { return s->d; }
const int64_t *snapshot_track_ids(const snapshot *s) { return s->ids; }
const char *snapshot_spotify_id(const snapshot *s, size_t row) { return s->sids + row * ID_STRIDE; }
const float *snapshot_matrix(const snapshot *s) { return s->x; }
const catalog_origin *snapshot_origin(const snapshot *s) { return s->origin; }
