/* answer.c: the JSON of tracks and of recommendation answers (see
 * answer.h). */
#include "serve/answer.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/utf8.h"

/* A JSON string of s, any byte that is not UTF-8 made U+FFFD (jansson
 * refuses such strings). */
static json_t *text_json(const char *s)
{
	strbuf tmp = {0};
	json_t *j = json_string(utf8_clean(s, &tmp));
	strbuf_free(&tmp);
	return j;
}

json_t *serve_track_json(const lookup_hit *h)
{
	char url[64];
	snprintf(url, sizeof url, "https://open.spotify.com/track/%s", h->spotify_id);
	return json_pack("{s:o,s:o,s:o,s:o,s:b,s:o,s:o}", "id", text_json(h->spotify_id), "name", text_json(h->name),
	                 "artists", text_json(h->artists), "genres", text_json(h->genres), "has_features",
	                 h->has_features, "url", text_json(url), "popularity",
	                 h->popularity >= 0 ? json_integer(h->popularity) : json_null());
}

json_t *serve_recommend_json(const engine *e, const char *request_id, const char *model, const rec_item *items,
                             size_t n, const lookup_hit *hits, const uint8_t *found, const char *const *seed_names,
                             size_t nseeds, const char *shortfall)
{
	json_t *answer = json_object(), *tracks = json_array();
	if (answer == NULL || tracks == NULL)
		goto fail;
	if (request_id != NULL && json_object_set_new(answer, "request_id", text_json(request_id)) < 0)
		goto fail;
	if (json_object_set_new(answer, "model", text_json(model)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!found[i])
			continue;
		char why[512];
		rec_reason_text(e, &items[i], seed_names, nseeds, why, sizeof why);
		json_t *t = serve_track_json(&hits[i]), *codes = json_array();
		if (t == NULL || codes == NULL) {
			json_decref(t);
			json_decref(codes);
			goto fail;
		}
		for (size_t b = 0; b < REASON__BITS; b++)
			if (items[i].reasons & (1u << b))
				json_array_append_new(codes, json_string(rec_reason_codes[b]));
		int rc = json_object_set_new(t, "rank", json_integer((json_int_t)(i + 1)));
		rc |= json_object_set_new(t, "score", json_real(items[i].score));
		rc |= json_object_set_new(t, "reasons", text_json(why));
		rc |= json_object_set_new(t, "reason_codes", codes);
		rc |= json_array_append_new(tracks, t);
		if (rc < 0)
			goto fail;
	}
	if (json_object_set_new(answer, "tracks", tracks) < 0) {
		tracks = NULL; /* consumed even on failure */
		goto fail;
	}
	tracks = NULL;
	if (json_object_set_new(answer, "shortfall", text_json(shortfall ? shortfall : "")) < 0)
		goto fail;
	return answer;
fail:
	json_decref(tracks);
	json_decref(answer);
	return NULL;
}

void serve_write_recommend(strbuf *sb, const engine *e, const char *request_id, const char *model,
                           const rec_item *items, size_t n, const lookup_hit *hits, const uint8_t *found,
                           const char *const *seed_names, size_t nseeds, const char *shortfall)
{
	json_t *j = serve_recommend_json(e, request_id, model, items, n, hits, found, seed_names, nseeds, shortfall);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(j);
	if (text == NULL) {
		sb->oom = 1;
		return;
	}
	strbuf_puts(sb, text);
	free(text);
}
