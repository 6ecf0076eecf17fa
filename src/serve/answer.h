/* answer.h: the JSON of a track and of a recommendation answer, shared by
 * the server's routes and by `segue recommend --json`, so that both show the
 * same fields. A track's fields are listed once (answer.c's track_fields)
 * and encoded either as a jansson value, for routes that build their answer
 * as one, or straight into a strbuf, for the recommend answer, which is on
 * the hot path. It does not look anything up: the caller hands in the
 * display fields. */
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

/* The same fields as one JSON object written into sb. */
void serve_write_track(strbuf *sb, const lookup_hit *h);

/* The answer of a recommendation, written compactly into sb: request_id
 * (left out when NULL), model, seeds (only when seed_hits is not NULL: the
 * seeds as resolved, seed_hits[nseeds], with the track fields), tracks
 * (items[n] with their display fields hits[n]; those with found[i] = 0 are
 * left out, ranks stay those of items; each with the track fields, rank,
 * score to 9 significant digits (null if not finite), reasons in words and
 * reason_codes), shortfall (NULL is "") and, only when nwarnings > 0,
 * warnings: the sentences warnings[nwarnings] (say, a seed that was
 * skipped; NULL and 0 for none). seed_names[nseeds] name the seeds in the
 * reasons; and, only when nnotes > 0, notes: the sentences notes[nnotes]
 * about how the answer was made (serve_recommend_notes); and what `ab`
 * (may be NULL) adds. On failure sb's out-of-memory flag is set. */
typedef struct serve_answer_ab {
	const char *experiment; /* the running experiment that chose the list: "experiment": {"name",
	                           "variant"} after "model"; NULL: none */
	const char *variant;
	const uint8_t *teams;      /* [n] an interleaved list's teams (0: "A", 1: "B"), each track's "team"; or NULL */
	const char *model_version; /* the model version that answered ("v7"): "model_version" after "model";
	                            * NULL: left out */
} serve_answer_ab;
void serve_write_recommend(strbuf *sb, const engine *e, const char *request_id, const char *model,
                           const rec_item *items, size_t n, const lookup_hit *hits, const uint8_t *found,
                           const char *const *seed_names, const lookup_hit *seed_hits, size_t nseeds,
                           const char *shortfall, const char *const *warnings, size_t nwarnings,
                           const char *const *notes, size_t nnotes, const serve_answer_ab *ab);

#define SERVE_MAX_NOTES 2
#define SERVE_NOTE_CAP 320

/* The notes of an answer of `r` with n picks, into note[SERVE_MAX_NOTES]
 * (returns how many), shared by the server and `segue recommend`:
 *   - when seeds have no audio features: "2 of your 3 seeds have no audio
 *     features: they count only through playlist co-occurrence, not through
 *     how they sound", or, when none has, "your 2 seeds have no audio
 *     features: these picks come from playlist co-occurrence only" (and the
 *     mood, when one was given);
 *   - when genre or year filters are set and fewer than r->k picks came:
 *     which filters left how many. */
size_t serve_recommend_notes(const engine *e, const rec_request *r, size_t n, char note[][SERVE_NOTE_CAP]);

#endif
