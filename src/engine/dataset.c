/* dataset.c: loading a workspace for the models (see dataset.h). */
#include "engine/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "catalog/catalog.h"
#include "catalog/workspace.h"

static int db_fail(sqlite3 *db, seg_error *err)
{
	return seg_error_set(err, SEG_EDB, "cannot read the catalogue: %s", sqlite3_errmsg(db));
}

void dataset_free(dataset *d)
{
	if (d == NULL)
		return;
	snapshot_close(d->snap);
	free(d->track_row);
	free(d->track_artist);
	free(d->track_pop);
	free(d->genre_ptr);
	free(d->genre_idx);
	for (size_t g = 0; g < d->G; g++)
		free(d->genre_names[g]);
	free(d->genre_names);
	free(d->pl_id);
	free(d->pl_ptr);
	free(d->pl_tracks);
	free(d->pl_split);
	free(d->pl_source);
	if (d->pl_name != NULL)
		for (size_t p = 0; p < d->P; p++)
			free(d->pl_name[p]);
	free(d->pl_name);
	for (size_t s = 0; s < d->n_sources; s++)
		free(d->source_names[s]);
	free(d);
}

/* The index of `source` in d->source_names, adding it; sources beyond the
 * table share the last slot, named "other". -1 when out of memory. */
static int source_index(dataset *d, const char *source)
{
	if (source == NULL)
		source = "";
	for (size_t s = 0; s < d->n_sources; s++)
		if (strcmp(d->source_names[s], source) == 0)
			return (int)s;
	if (d->n_sources == DATASET_SOURCES_MAX)
		return DATASET_SOURCES_MAX - 1;
	const char *name = d->n_sources == DATASET_SOURCES_MAX - 1 ? "other" : source;
	if ((d->source_names[d->n_sources] = strdup(name)) == NULL)
		return -1;
	return (int)d->n_sources++;
}

int dataset_load(dataset **out, const char *workspace, seg_error *err)
{
	*out = NULL;
	dataset *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	snprintf(d->workspace, sizeof d->workspace, "%s", workspace);
	catalog *c = NULL;
	sqlite3_stmt *q = NULL;
	int rc;
	/* Only a snapshot made from the catalogue as it is: a stale one is
	 * refused, with the command that rebuilds it. */
	if ((rc = catalog_open(&c, workspace, 0, err)) < 0 ||
	    (rc = workspace_features_open(workspace, catalog_db(c), &d->snap, err)) < 0)
		goto fail;
	sqlite3 *db = catalog_db(c);
	d->N = snapshot_rows(d->snap);
	d->row_track = snapshot_track_ids(d->snap);
	d->raw = snapshot_matrix(d->snap);

	/* Tracks: ids are dense rowids, so arrays indexed by id are compact. */
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) + 1 FROM tracks", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		rc = db_fail(db, err);
		goto fail;
	}
	d->T = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	d->track_row = malloc(sizeof(int32_t) * (size_t)d->T);
	d->track_artist = malloc(sizeof(int32_t) * (size_t)d->T);
	d->track_pop = calloc((size_t)d->T, sizeof(uint32_t));
	if (!d->track_row || !d->track_artist || !d->track_pop) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (int64_t t = 0; t < d->T; t++)
		d->track_row[t] = d->track_artist[t] = -1;
	for (size_t i = 0; i < d->N; i++)
		if (d->row_track[i] > 0 && d->row_track[i] < d->T)
			d->track_row[d->row_track[i]] = (int32_t)i;
	if (sqlite3_prepare_v2(db, "SELECT track_id, artist_id FROM track_artists WHERE position = 0", -1, &q, NULL) !=
	    SQLITE_OK) {
		rc = db_fail(db, err);
		goto fail;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(q, 0);
		if (t > 0 && t < d->T && d->track_artist[t] < 0)
			d->track_artist[t] = (int32_t)sqlite3_column_int64(q, 1);
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, err);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;

	/* Genres: the vocabulary by track count, then each content row's genres. */
	if (sqlite3_prepare_v2(db,
	                       "SELECT g.id, g.name FROM genres g JOIN track_genres tg ON tg.genre_id = g.id"
	                       " GROUP BY g.id ORDER BY count(*) DESC, g.name",
	                       -1, &q, NULL) != SQLITE_OK) {
		rc = db_fail(db, err);
		goto fail;
	}
	size_t cap = 64;
	int64_t *gids = malloc(sizeof(int64_t) * cap);
	d->genre_names = malloc(sizeof(char *) * cap);
	int step = SQLITE_DONE;
	if (gids == NULL || d->genre_names == NULL)
		goto genres_oom;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (d->G == cap) {
			cap *= 2;
			int64_t *ng = realloc(gids, sizeof(int64_t) * cap);
			if (ng == NULL)
				goto genres_oom;
			gids = ng;
			char **nn = realloc(d->genre_names, sizeof(char *) * cap);
			if (nn == NULL)
				goto genres_oom;
			d->genre_names = nn;
		}
		char *name = strdup((const char *)sqlite3_column_text(q, 1));
		if (name == NULL)
			goto genres_oom;
		gids[d->G] = sqlite3_column_int64(q, 0);
		d->genre_names[d->G++] = name;
	}
	if (step != SQLITE_DONE) {
		free(gids);
		rc = db_fail(db, err);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	/* genre id -> vocabulary index */
	int64_t maxg = 0;
	for (size_t g = 0; g < d->G; g++)
		if (gids[g] > maxg)
			maxg = gids[g];
	int32_t *gmap = malloc(sizeof(int32_t) * (size_t)(maxg + 1));
	d->genre_ptr = calloc(d->N + 1, sizeof(uint32_t));
	if (!gmap || !d->genre_ptr) {
		free(gids);
		free(gmap);
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (int64_t g = 0; g <= maxg; g++)
		gmap[g] = -1;
	for (size_t g = 0; g < d->G; g++)
		gmap[gids[g]] = (int32_t)g;
	free(gids);
	if (sqlite3_prepare_v2(db, "SELECT track_id, genre_id FROM track_genres ORDER BY track_id", -1, &q, NULL) !=
	    SQLITE_OK) {
		free(gmap);
		rc = db_fail(db, err);
		goto fail;
	}
	/* Two passes over the result: count per row, then fill. */
	size_t total = 0;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(q, 0);
		if (t > 0 && t < d->T && d->track_row[t] >= 0) {
			d->genre_ptr[d->track_row[t] + 1]++;
			total++;
		}
	}
	if (step != SQLITE_DONE) {
		free(gmap);
		rc = db_fail(db, err);
		goto fail;
	}
	for (size_t i = 0; i < d->N; i++)
		d->genre_ptr[i + 1] += d->genre_ptr[i];
	d->genre_idx = malloc(sizeof(int32_t) * (total ? total : 1));
	uint32_t *fill = calloc(d->N + 1, sizeof(uint32_t));
	if (!d->genre_idx || !fill) {
		free(fill);
		free(gmap);
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < total; i++)
		d->genre_idx[i] = -1;
	/* The second pass is a new read of the table: a row an ingest added
	 * meanwhile finds no room counted for it and is left out. */
	sqlite3_reset(q);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(q, 0), g = sqlite3_column_int64(q, 1);
		if (t > 0 && t < d->T && d->track_row[t] >= 0) {
			int32_t r = d->track_row[t];
			if (d->genre_ptr[r] + fill[r] < d->genre_ptr[r + 1])
				d->genre_idx[d->genre_ptr[r] + fill[r]++] = g >= 0 && g <= maxg ? gmap[g] : -1;
		}
	}
	free(fill);
	free(gmap);
	if (step != SQLITE_DONE) {
		rc = db_fail(db, err);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;

	/* Playlists in order, split by a hash of their identity. */
	if (sqlite3_prepare_v2(db,
	                       "SELECT p.id, p.source, p.external_id, pt.track_id, p.name FROM playlists p"
	                       " JOIN playlist_tracks pt ON pt.playlist_id = p.id ORDER BY p.id, pt.pos",
	                       -1, &q, NULL) != SQLITE_OK) {
		rc = db_fail(db, err);
		goto fail;
	}
	size_t pcap = 1024, ecap = 65536, ne = 0;
	d->pl_id = malloc(sizeof(int64_t) * pcap);
	d->pl_split = malloc(pcap);
	d->pl_source = malloc(pcap);
	d->pl_name = malloc(sizeof(char *) * pcap);
	d->pl_ptr = malloc(sizeof(uint32_t) * (pcap + 1));
	d->pl_tracks = malloc(sizeof(int64_t) * ecap);
	if (!d->pl_id || !d->pl_split || !d->pl_source || !d->pl_name || !d->pl_ptr || !d->pl_tracks) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	d->pl_ptr[0] = 0;
	int64_t cur = -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(q, 0), tid = sqlite3_column_int64(q, 3);
		if (pid != cur) {
			if (d->P + 1 >= pcap) {
				pcap *= 2;
				int64_t *a = realloc(d->pl_id, sizeof(int64_t) * pcap);
				uint8_t *b = realloc(d->pl_split, pcap);
				uint8_t *s = realloc(d->pl_source, pcap);
				char **nm = realloc(d->pl_name, sizeof(char *) * pcap);
				uint32_t *p = realloc(d->pl_ptr, sizeof(uint32_t) * (pcap + 1));
				if (a)
					d->pl_id = a;
				if (b)
					d->pl_split = b;
				if (s)
					d->pl_source = s;
				if (nm)
					d->pl_name = nm;
				if (p)
					d->pl_ptr = p;
				if (!a || !b || !s || !nm || !p) {
					rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
					goto fail;
				}
			}
			d->pl_id[d->P] = pid;
			enum catalog_split sp = catalog_playlist_split((const char *)sqlite3_column_text(q, 1),
			                                               (const char *)sqlite3_column_text(q, 2));
			d->pl_split[d->P] = (uint8_t)sp;
			const char *name = (const char *)sqlite3_column_text(q, 4);
			d->pl_name[d->P] = NULL;
			int si = source_index(d, (const char *)sqlite3_column_text(q, 1));
			if (si < 0 || (name != NULL && (d->pl_name[d->P] = strdup(name)) == NULL)) {
				d->P++; /* so that dataset_free sees the name slot */
				rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
				goto fail;
			}
			d->pl_source[d->P] = (uint8_t)si;
			d->P_valid += sp == CATALOG_SPLIT_VALID;
			d->P_test += sp == CATALOG_SPLIT_TEST;
			d->P++;
			d->pl_ptr[d->P] = (uint32_t)ne;
			cur = pid;
		}
		int64_t *e = array_grow(d->pl_tracks, &ecap, ne + 1, sizeof(int64_t), 1);
		if (e == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto fail;
		}
		d->pl_tracks = e;
		d->pl_tracks[ne++] = tid;
		d->pl_ptr[d->P] = (uint32_t)ne;
		if (d->pl_split[d->P - 1] == CATALOG_SPLIT_TRAIN && tid > 0 && tid < d->T)
			d->track_pop[tid]++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, err);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	/* An ingest that committed while the tables were read leaves rows of
	 * two states side by side: refused rather than mixed. */
	catalog_origin now;
	if ((rc = catalog_origin_now(db, &now, err)) < 0)
		goto fail;
	if (!catalog_origin_same(snapshot_origin(d->snap), &now)) {
		rc = seg_error_set(err, SEG_ESTALE,
		                   "the catalogue of %s changed while it was read; run the command again", workspace);
		goto fail;
	}
	catalog_close(c);
	*out = d;
	return 0;
genres_oom:
	free(gids);
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
fail:
	sqlite3_finalize(q);
	catalog_close(c);
	dataset_free(d);
	return rc < 0 ? rc : SEG_EDB;
}
