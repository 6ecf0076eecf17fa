/* rec_internal.h: what the built-in recommenders share, private to
 * src/engine/rec_*.c (the interface is recommender.h): reading and serving
 * an item neighbour list (cf_cooc's form, models/cf.h) that an artifact
 * keeps in three sections, as EASE and RP3beta do. */
#ifndef SEGUE_REC_INTERNAL_H
#define SEGUE_REC_INTERNAL_H

#include "engine/recommender.h"
#include "models/cf.h"

/* The kind of evidence a neighbour-list model sets on its candidates. */
enum rec__evidence { REC__EASE, REC__RP3 };

/* Reads the neighbour lists of sections ptr (int64 [I+1]), nbr (int32 [nnz])
 * and w (float [nnz]) of `f` into a new cf_cooc viewing the mapped file, in
 * *state. No sections (or no CF items): *state stays NULL and 0 is
 * returned; damaged ones: SEG_EFORMAT. Free with free(). */
int rec__lists_open(const rec_artifact *a, const container_file *f, const char *ptr, const char *nbr, const char *w,
                    void **state, seg_error *err);

/* Adds up to `want` unblocked candidates: the items with the largest sums of
 * the seeds' lists in `m` (NULL: none), with that sum as their evidence of
 * kind `ev` and as score. */
int rec__lists_propose(const rec_query *q, const cf_cooc *m, enum rec__evidence ev, size_t want, rec_pool *pool,
                       seg_error *err);

#endif
