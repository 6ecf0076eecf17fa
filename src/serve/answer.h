/* answer.h: the JSON of a track and of a recommendation answer, built once
 * as jansson values and shared by the server's routes and by `segue
 * recommend --json`, so that both show the same fields. It does not look
 * anything up: the caller hands in the display fields. */
#ifndef SEGUE_SERVE_ANSWER_H
#define SEGUE_SERVE_ANSWER_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/lookup.h"
#include "core/strbuf.h"
#include "engine/recommend.h"

/* A track's fields in every answer: id, name, artists, genres,
 * has_features, url, popularity (null when unknown). Text that is not
 * UTF-8 (names are kept as they were ingested) has U+FFFD in place of the
 * bad bytes. Returns a new reference, or NULL when out of memory. */
json_t *serve_track_json(const lookup_hit *h);

/* The answer of a recommendation: request_id (left out when NULL), model,
 * tracks (items[n] with their display fields hits[n]; those with found[i]
 * = 0 are left out, ranks stay those of items; each with rank, score,
 * reasons in words and reason_codes) and shortfall (NULL is ""). Returns a
 * new reference, or NULL when out of memory. */
json_t *serve_recommend_json(const engine *e, const char *request_id, const char *model, const rec_item *items,
                             size_t n, const lookup_hit *hits, const uint8_t *found, const char *const *seed_names,
                             size_t nseeds, const char *shortfall);

/* serve_recommend_json written compactly into sb (scores to 9 significant
 * digits); on failure sb's out-of-memory flag is set. The handler and
 * bench/serve_profile use it. */
void serve_write_recommend(strbuf *sb, const engine *e, const char *request_id, const char *model,
                           const rec_item *items, size_t n, const lookup_hit *hits, const uint8_t *found,
                           const char *const *seed_names, size_t nseeds, const char *shortfall);

#endif
