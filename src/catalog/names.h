/* names.h: the display fields of every catalogued track (Spotify id, name,
 * artists, genres, popularity) as one mapped file beside the catalogue, so
 * that the server answers a request without SQL. The catalogue stays the
 * source of truth: the file records which state of it it was written from,
 * and a file that no longer matches (names_current) is not to be used. It
 * does not search by name: that is the full-text index's (lookup.h). */
#ifndef SEGUE_NAMES_H
#define SEGUE_NAMES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/error.h"
#include "catalog/lookup.h"

#define NAMES_FILE_NAME "names.seg"
#define NAMES_VERSION 3

typedef struct names names;

/* Writes the display fields of every track of `db` to `path`, in segue's
 * model container (container.h: magic, version, checksum), through a temporary
 * file and a rename, so readers never see half a file. *tracks (may be NULL)
 * receives the number of tracks written. Fields are the ones lookup_track
 * reads, built the same way (artists in credit order, genres by id). The
 * file records its origin (catalog.h). Workspaces write it through
 * workspace_names_write, under their lock. */
int names_write(sqlite3 *db, const char *path, uint64_t *tracks, seg_error *err);

/* Maps `path` and checks it (container checksum, sections, sizes); a file
 * that fails is refused with a message that says why. */
int names_open(names **out, const char *path, seg_error *err);
void names_close(names *n);

/* 1 when the file was written from the catalogue `db` as it is now (the same
 * last ingest, number of tracks and largest track id), 0 when it was not,
 * SEG_EDB when the catalogue cannot be read. */
int names_current(const names *n, sqlite3 *db, seg_error *err);

/* Display fields of a track into *hit, as lookup_track gives them: 1 when
 * the track exists, 0 when not (hit untouched). */
int names_get(const names *n, int64_t track, lookup_hit *hit);

/* The track of a Spotify id as stored (22 characters): 1 and *track when
 * found, 0 when not. */
int names_find(const names *n, const char *spotify_id, int64_t *track);

size_t names_count(const names *n);

/* The catalogue state and segue version the file was written by, or NULL for
 * a file from before segue recorded the version (names_current still says
 * whether it is current). */
const catalog_origin *names_origin(const names *n);

#endif
