/* names.c: the mapped display fields of the catalogue's tracks (see names.h).
 *
 * Sections of the container:
 *   names.stamp   int64_t[5]   NAMES_VERSION, then catalog_stamp: the catalogue's
 *                              id, last ingest id, tracks, largest track id (L)
 *   names.offset  uint64_t[L+1] where each track's record starts in the text; 0: none
 *   names.by_sid  sid_entry[N] Spotify ids (NUL-padded) with their tracks, in
 *                              the ids' order
 *   origin        catalog_origin: the same state, and the segue that wrote it
 *                              (absent from files of segue 0.1.0 and before)
 *   names.text    bytes        byte 0 unused; then one record a track:
 *                              flags (bit 0: has features), popularity + 1
 *                              (0: unknown), then four NUL-terminated
 *                              strings: Spotify id, name, artists, genres.
 * A lookup is an array index and a few short copies; finding a Spotify id is
 * a binary search over by_sid, whose entries carry the ids themselves: one
 * cache miss a step instead of three through the records (8-10 us at 1M). */
#include "catalog/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "core/container.h"
#include "core/strbuf.h"

typedef struct sid_entry {
	char sid[24]; /* the Spotify id, NUL-padded */
	int64_t track;
} sid_entry;
_Static_assert(sizeof(sid_entry) == 32, "sid_entry is 32 bytes");

struct names {
	container_file *m;
	const int64_t *stamp;         /* [CATALOG_STAMP], past the version */
	const catalog_origin *origin; /* or NULL */
	const uint64_t *off;          /* [T] T = largest track id + 1 */
	size_t T;
	const sid_entry *by_sid; /* [N] */
	size_t N;
	const char *text; /* [text_size] */
	size_t text_size;
};

/* by_sid's order: the ids' bytes as lookups compare them, then the track
 * (ids longer than an entry holds may share their first bytes). */
static int sid_entry_cmp(const void *pa, const void *pb)
{
	const sid_entry *a = pa, *b = pb;
	int c = strncmp(a->sid, b->sid, sizeof a->sid);
	return c != 0 ? c : (a->track > b->track) - (a->track < b->track);
}

/* Appends, to the record being written, the names that `q` (track_id, name;
 * ordered by track) gives for `track`, joined by ", ", and a NUL; *step is
 * q's last sqlite3_step result, advanced past the track's rows. */
static void put_joined(strbuf *text, sqlite3_stmt *q, int *step, int64_t track)
{
	while (*step == SQLITE_ROW && sqlite3_column_int64(q, 0) < track)
		*step = sqlite3_step(q);
	for (int first = 1; *step == SQLITE_ROW && sqlite3_column_int64(q, 0) == track; first = 0) {
		if (!first)
			strbuf_puts(text, ", ");
		strbuf_puts(text, (const char *)sqlite3_column_text(q, 1));
		*step = sqlite3_step(q);
	}
	strbuf_putc(text, '\0');
}

int names_write(sqlite3 *db, const char *path, uint64_t *tracks, seg_error *err)
{
	int rc = 0, in_txn = 0;
	sqlite3_stmt *qt = NULL, *qa = NULL, *qg = NULL;
	uint64_t *off = NULL;
	sid_entry *by_sid = NULL;
	strbuf text = {0};
	container_writer *w = NULL;
	int64_t version_stamp[1 + CATALOG_STAMP] = {NAMES_VERSION}, *stamp = version_stamp + 1;

	/* One read transaction: the stamp and the records see one catalogue. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot read the catalogue: %s", sqlite3_errmsg(db));
		goto out;
	}
	in_txn = 1;
	catalog_origin origin;
	if ((rc = catalog_origin_now(db, &origin, err)) < 0)
		goto out;
	memcpy(stamp, origin.stamp, sizeof origin.stamp);
	const size_t T = (size_t)stamp[3] + 1, N = (size_t)stamp[2];
	off = calloc(T, sizeof(uint64_t));
	by_sid = calloc(N ? N : 1, sizeof(sid_entry));
	if (off == NULL || by_sid == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for the names of %zu tracks", N);
		goto out;
	}
	/* Three cursors in track order, merged: one pass each, no subqueries. */
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, spotify_id, coalesce(name, ''), has_features, coalesce(popularity, -1)"
	                       " FROM tracks ORDER BY id",
	                       -1, &qt, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT ta.track_id, a.name FROM track_artists ta JOIN artists a ON a.id = ta.artist_id"
	                       " ORDER BY ta.track_id, ta.position",
	                       -1, &qa, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT tg.track_id, g.name FROM track_genres tg JOIN genres g ON g.id = tg.genre_id"
	                       " ORDER BY tg.track_id, tg.genre_id",
	                       -1, &qg, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot read the catalogue: %s", sqlite3_errmsg(db));
		goto out;
	}
	strbuf_putc(&text, '\0'); /* offset 0 means "no track" */
	int sa = sqlite3_step(qa), sg = sqlite3_step(qg), st;
	size_t n = 0;
	while ((st = sqlite3_step(qt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(qt, 0);
		int pop = sqlite3_column_int(qt, 4);
		if (id <= 0 || (size_t)id >= T || n == N) {
			rc = seg_error_set(err, SEG_EDB, "track id %lld is outside the catalogue's range",
			                   (long long)id);
			goto out;
		}
		const char *sid = (const char *)sqlite3_column_text(qt, 1);
		off[id] = text.len;
		strbuf_putc(&text, (char)(sqlite3_column_int(qt, 3) ? 1 : 0));
		strbuf_putc(&text, (char)(uint8_t)(pop < 0 ? 0 : pop > 254 ? 255 : pop + 1));
		strbuf_puts(&text, sid);
		strbuf_putc(&text, '\0');
		strbuf_puts(&text, (const char *)sqlite3_column_text(qt, 2));
		strbuf_putc(&text, '\0');
		put_joined(&text, qa, &sa, id);
		put_joined(&text, qg, &sg, id);
		by_sid[n].track = id;
		snprintf(by_sid[n].sid, sizeof by_sid[n].sid, "%s", sid ? sid : "");
		n++;
	}
	if (st != SQLITE_DONE || (sa != SQLITE_DONE && sa != SQLITE_ROW) || (sg != SQLITE_DONE && sg != SQLITE_ROW)) {
		rc = seg_error_set(err, SEG_EDB, "cannot read the catalogue: %s", sqlite3_errmsg(db));
		goto out;
	}
	/* Everything is read: the read transaction ends before the sort and
	 * the file's writing, so that a writer waiting for it (a new
	 * catalogue's indexes) waits no longer than the reading. */
	sqlite3_finalize(qt);
	sqlite3_finalize(qa);
	sqlite3_finalize(qg);
	qt = qa = qg = NULL;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	in_txn = 0;
	/* Sorted here rather than read in the index's order: a new catalogue's
	 * names are written before its index on spotify_id exists. */
	qsort(by_sid, n, sizeof(sid_entry), sid_entry_cmp);
	if (n != N) {
		rc = seg_error_set(err, SEG_EDB, "the catalogue changed while its names were written");
		goto out;
	}
	if (text.oom) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for the names of %zu tracks", N);
		goto out;
	}
	w = container_writer_create();
	if (w == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = container_writer_add(w, "names.stamp", version_stamp, sizeof version_stamp, err)) < 0 ||
	    (rc = container_writer_add(w, CATALOG_ORIGIN_SECTION, &origin, sizeof origin, err)) < 0 ||
	    (rc = container_writer_add(w, "names.offset", off, T * sizeof(uint64_t), err)) < 0 ||
	    (rc = container_writer_add(w, "names.by_sid", by_sid, N * sizeof(sid_entry), err)) < 0 ||
	    (rc = container_writer_add(w, "names.text", text.data, text.len, err)) < 0 ||
	    (rc = container_writer_save(w, path, err)) < 0)
		goto out;
	if (tracks)
		*tracks = N;
out:
	sqlite3_finalize(qt);
	sqlite3_finalize(qa);
	sqlite3_finalize(qg);
	if (in_txn)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	container_writer_free(w);
	strbuf_free(&text);
	free(off);
	free(by_sid);
	return rc;
}

int names_open(names **out, const char *path, seg_error *err)
{
	*out = NULL;
	container_file *m = NULL;
	int rc = container_file_open(&m, path, err);
	if (rc < 0)
		return rc;
	names *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		container_file_close(m);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	n->m = m;
	size_t off_size = 0, sid_size = 0, stamp_size = 0;
	n->stamp = container_file_section(m, "names.stamp", &stamp_size);
	if (n->stamp == NULL) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s is not a segue names file (no names.stamp section)", path);
		goto fail;
	}
	/* version 1 had no version: a stamp of three */
	int64_t version = stamp_size == 3 * sizeof(int64_t) ? 1 : stamp_size >= sizeof(int64_t) ? n->stamp[0] : -1;
	if (version != NAMES_VERSION) {
		rc = seg_error_set(err, SEG_EVERSION, "%s has names format version %lld; this segue reads version %d",
		                   path, (long long)version, NAMES_VERSION);
		goto fail;
	}
	if (stamp_size != (1 + CATALOG_STAMP) * sizeof(int64_t)) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s has a names.stamp section of %zu bytes", path, stamp_size);
		goto fail;
	}
	n->stamp++; /* past the version */
	size_t origin_size = 0;
	n->origin = container_file_section(m, CATALOG_ORIGIN_SECTION, &origin_size);
	if (n->origin != NULL && (origin_size != sizeof(catalog_origin) ||
	                          memcmp(n->origin->stamp, n->stamp, sizeof n->origin->stamp) != 0 ||
	                          n->origin->code[sizeof n->origin->code - 1] != '\0')) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s has an inconsistent origin section", path);
		goto fail;
	}
	n->off = container_file_section(m, "names.offset", &off_size);
	n->by_sid = container_file_section(m, "names.by_sid", &sid_size);
	n->text = container_file_section(m, "names.text", &n->text_size);
	n->T = off_size / sizeof(uint64_t);
	n->N = sid_size / sizeof(sid_entry);
	if (n->off == NULL || n->by_sid == NULL || n->text == NULL || n->stamp[2] < 0 || n->stamp[3] < 0 ||
	    n->T != (size_t)n->stamp[3] + 1 || n->N != (size_t)n->stamp[2] || sid_size != n->N * sizeof(sid_entry) ||
	    n->text_size == 0 || n->text[n->text_size - 1] != '\0') {
		rc = seg_error_set(err, SEG_EFORMAT, "%s is not a segue names file, or an inconsistent one", path);
		goto fail;
	}
	*out = n;
	return 0;
fail:
	names_close(n);
	return rc;
}

void names_close(names *n)
{
	if (n == NULL)
		return;
	container_file_close(n->m);
	free(n);
}

int names_current(const names *n, sqlite3 *db, seg_error *err)
{
	int64_t stamp[CATALOG_STAMP];
	int rc = catalog_stamp(db, stamp, err);
	if (rc < 0)
		return rc;
	return memcmp(stamp, n->stamp, sizeof stamp) == 0;
}

size_t names_count(const names *n) { return n->N; }

const catalog_origin *names_origin(const names *n) { return n->origin; }

/* The record of a track, or NULL. */
static const char *record(const names *n, int64_t track)
{
	if (track <= 0 || (uint64_t)track >= n->T)
		return NULL;
	uint64_t o = n->off[track];
	/* a record is at least its two bytes and four NULs */
	return o == 0 || o >= n->text_size || n->text_size - o < 6 ? NULL : n->text + o;
}

/* Copies the string at p (up to end) into out[cap], cut like snprintf, and
 * returns where the next string starts. */
static const char *take(const char *p, const char *end, char *out, size_t cap)
{
	const char *z = memchr(p, '\0', (size_t)(end - p));
	size_t len = (size_t)((z ? z : end) - p);
	size_t k = len < cap - 1 ? len : cap - 1;
	memcpy(out, p, k);
	out[k] = '\0';
	return z ? z + 1 : end;
}

int names_get(const names *n, int64_t track, lookup_hit *hit)
{
	const char *p = record(n, track), *end = n->text + n->text_size;
	if (p == NULL)
		return 0;
	hit->track = track;
	hit->has_features = p[0] & 1;
	hit->popularity = (int)(uint8_t)p[1] - 1;
	p = take(p + 2, end, hit->spotify_id, sizeof hit->spotify_id);
	p = take(p, end, hit->name, sizeof hit->name);
	p = take(p, end, hit->artists, sizeof hit->artists);
	const char *z = memchr(p, '\0', (size_t)(end - p));
	lookup_genres_fit(hit->genres, sizeof hit->genres, p, (size_t)((z ? z : end) - p));
	return 1;
}

int names_find(const names *n, const char *spotify_id, int64_t *track)
{
	size_t lo = 0, hi = n->N;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(n->by_sid[mid].sid, spotify_id, sizeof n->by_sid[mid].sid);
		if (c == 0) {
			*track = n->by_sid[mid].track;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
