/* snapshot.c: writing and mapping the feature snapshot (see snapshot.h). */
#include "catalog/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

_Static_assert(sizeof(snapshot_header) == 64, "snapshot header is 64 bytes");

const char *const snapshot_col_names[SNAP__COLS] = {
	"danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
	"instrumentalness", "liveness", "valence", "tempo", "time_signature", "duration_ms",
	"popularity", "year",
};

#define ID_STRIDE 24

struct snapshot {
	void *map;          /* the whole file */
	size_t map_size;
	const snapshot_header *h;
	const int64_t *ids; /* [N] */
	const char *sids;   /* [N][ID_STRIDE] */
	const float *x;     /* [N][D] */
};

static size_t payload_bytes(uint64_t n, uint32_t d)
{
	return (size_t)n * (sizeof(int64_t) + ID_STRIDE + (size_t)d * sizeof(float));
}

int snapshot_write(sqlite3 *db, const char *path, uint64_t *rows, seg_error *err)
{
	int rc = 0;
	sqlite3_stmt *q = NULL;
	FILE *f = NULL;
	int64_t *ids = NULL;
	char *sids = NULL;
	float *x = NULL;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);

	sqlite3_int64 n = 0;
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

	snapshot_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, SNAPSHOT_MAGIC, 8);
	h.version = SNAPSHOT_VERSION;
	h.header_size = sizeof h;
	h.n = (uint64_t)n;
	h.d = D;
	h.payload_size = payload_bytes(h.n, D);
	XXH64_state_t *st = XXH64_createState();
	XXH64_reset(st, 0);
	XXH64_update(st, ids, sizeof(int64_t) * (size_t)n);
	XXH64_update(st, sids, ID_STRIDE * (size_t)n);
	XXH64_update(st, x, sizeof(float) * (size_t)n * D);
	h.checksum = XXH64_digest(st);
	XXH64_freeState(st);

	f = fopen(tmp, "wb");
	if (f == NULL) {
		rc = seg_error_set(err, SEG_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(&h, sizeof h, 1, f) != 1 || fwrite(ids, sizeof(int64_t), (size_t)n, f) != (size_t)n ||
	    fwrite(sids, ID_STRIDE, (size_t)n, f) != (size_t)n ||
	    fwrite(x, sizeof(float) * D, (size_t)n, f) != (size_t)n || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fclose(f);
	f = NULL;
	if (rename(tmp, path) < 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	if (rows)
		*rows = (uint64_t)n;
out:
	if (f != NULL) {
		fclose(f);
		unlink(tmp);
	}
	sqlite3_finalize(q);
	free(ids);
	free(sids);
	free(x);
	return rc;
}

int snapshot_open(snapshot **out, const char *path, seg_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return seg_error_set(err, errno == ENOENT ? SEG_ENOTFOUND : SEG_EIO, "cannot open %s: %s", path,
		                     strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return seg_error_set(err, SEG_EIO, "cannot stat %s: %s", path, strerror(errno));
	}
	size_t size = (size_t)st.st_size;
	if (size < sizeof(snapshot_header)) {
		close(fd);
		return seg_error_set(err, SEG_EFORMAT, "%s is too short to be a segue snapshot (%zu bytes)", path, size);
	}
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return seg_error_set(err, SEG_EIO, "cannot map %s: %s", path, strerror(errno));
	const snapshot_header *h = map;
	int rc = 0;
	if (memcmp(h->magic, SNAPSHOT_MAGIC, 8) != 0)
		rc = seg_error_set(err, SEG_EFORMAT, "%s is not a segue feature snapshot (bad magic)", path);
	else if (h->version != SNAPSHOT_VERSION)
		rc = seg_error_set(err, SEG_EVERSION, "%s has snapshot format version %u; this segue reads version %d", path,
		                   h->version, SNAPSHOT_VERSION);
	else if (h->header_size != sizeof(snapshot_header) || h->d != SNAP__COLS ||
	         h->payload_size != payload_bytes(h->n, h->d) || size != sizeof(snapshot_header) + h->payload_size)
		rc = seg_error_set(err, SEG_EFORMAT, "%s is truncated or has an inconsistent header", path);
	else if (XXH64((const char *)map + sizeof(snapshot_header), h->payload_size, 0) != h->checksum)
		rc = seg_error_set(err, SEG_ECHECKSUM, "%s is corrupt: checksum mismatch; run `segue ingest` again", path);
	if (rc < 0) {
		munmap(map, size);
		return rc;
	}
	snapshot *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		munmap(map, size);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	s->map = map;
	s->map_size = size;
	s->h = h;
	const char *p = (const char *)map + sizeof(snapshot_header);
	s->ids = (const int64_t *)p;
	s->sids = p + sizeof(int64_t) * h->n;
	s->x = (const float *)(s->sids + ID_STRIDE * h->n);
	*out = s;
	return 0;
}

void snapshot_close(snapshot *s)
{
	if (s == NULL)
		return;
	munmap(s->map, s->map_size);
	free(s);
}

size_t snapshot_rows(const snapshot *s) { return (size_t)s->h->n; }
size_t snapshot_cols(const snapshot *s) { return s->h->d; }
const int64_t *snapshot_track_ids(const snapshot *s) { return s->ids; }
const char *snapshot_spotify_id(const snapshot *s, size_t row) { return s->sids + row * ID_STRIDE; }
const float *snapshot_matrix(const snapshot *s) { return s->x; }
