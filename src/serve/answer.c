/* answer.c: the JSON of tracks and of recommendation answers (see
 * answer.h). */
#include "serve/answer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/utf8.h"

/* ---- a track's fields, listed once ---- */

enum field_kind { F_TEXT, F_BOOL, F_INT_OR_NULL };

typedef struct track_field {
	const char *key;
	enum field_kind kind;
	const char *text; /* F_TEXT */
	long long num;    /* F_BOOL, F_INT_OR_NULL (< 0: null) */
} track_field;

enum { TRACK_FIELDS = 7 };

/* Fills f[TRACK_FIELDS] with h's fields, in answer order; url[64] holds
 * the link's text. */
static void track_fields(const lookup_hit *h, char url[64], track_field f[TRACK_FIELDS])
{
	snprintf(url, 64, "https://open.spotify.com/track/%s", h->spotify_id);
	f[0] = (track_field){"id", F_TEXT, h->spotify_id, 0};
	f[1] = (track_field){"name", F_TEXT, h->name, 0};
	f[2] = (track_field){"artists", F_TEXT, h->artists, 0};
	f[3] = (track_field){"genres", F_TEXT, h->genres, 0};
	f[4] = (track_field){"has_features", F_BOOL, NULL, h->has_features != 0};
	f[5] = (track_field){"url", F_TEXT, url, 0};
	f[6] = (track_field){"popularity", F_INT_OR_NULL, NULL, h->popularity};
}

json_t *serve_track_json(const lookup_hit *h)
{
	char url[64];
	track_field f[TRACK_FIELDS];
	track_fields(h, url, f);
	json_t *o = json_object();
	strbuf tmp = {0};
	for (size_t i = 0; o != NULL && i < TRACK_FIELDS; i++) {
		json_t *v = f[i].kind == F_TEXT   ? json_string(utf8_clean(f[i].text, &tmp)) /* jansson wants UTF-8 */
		            : f[i].kind == F_BOOL ? json_boolean(f[i].num)
		            : f[i].num >= 0       ? json_integer(f[i].num)
		                                  : json_null();
		if (json_object_set_new(o, f[i].key, v) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	strbuf_free(&tmp);
	return o;
}

/* The fields without their braces, so that callers can add their own. */
static void write_track_fields(strbuf *sb, const lookup_hit *h)
{
	char url[64];
	track_field f[TRACK_FIELDS];
	track_fields(h, url, f);
	for (size_t i = 0; i < TRACK_FIELDS; i++) {
		strbuf_puts(sb, i ? ",\"" : "\"");
		strbuf_puts(sb, f[i].key);
		strbuf_puts(sb, "\":");
		if (f[i].kind == F_TEXT)
			strbuf_json(sb, f[i].text); /* bytes that are not UTF-8 become U+FFFD */
		else if (f[i].kind == F_BOOL)
			strbuf_puts(sb, f[i].num ? "true" : "false");
		else if (f[i].num >= 0)
			strbuf_printf(sb, "%lld", f[i].num);
		else
			strbuf_puts(sb, "null");
	}
}

void serve_write_track(strbuf *sb, const lookup_hit *h)
{
	strbuf_putc(sb, '{');
	write_track_fields(sb, h);
	strbuf_putc(sb, '}');
}

/* ---- the recommend answer ---- */

void serve_write_recommend(strbuf *sb, const engine *e, const char *request_id, const char *model,
                           const rec_item *items, size_t n, const lookup_hit *hits, const uint8_t *found,
                           const char *const *seed_names, const lookup_hit *seed_hits, size_t nseeds,
                           const char *shortfall, const char *const *warnings, size_t nwarnings,
                           const char *const *notes, size_t nnotes, const serve_answer_ab *ab)
{
	strbuf_putc(sb, '{');
	if (request_id != NULL) {
		strbuf_puts(sb, "\"request_id\":");
		strbuf_json(sb, request_id);
		strbuf_putc(sb, ',');
	}
	strbuf_puts(sb, "\"model\":");
	strbuf_json(sb, model);
	if (ab != NULL && ab->model_version != NULL) {
		strbuf_puts(sb, ",\"model_version\":");
		strbuf_json(sb, ab->model_version);
	}
	if (ab != NULL && ab->experiment != NULL) {
		strbuf_puts(sb, ",\"experiment\":{\"name\":");
		strbuf_json(sb, ab->experiment);
		strbuf_puts(sb, ",\"variant\":");
		strbuf_json(sb, ab->variant ? ab->variant : "");
		strbuf_putc(sb, '}');
	}
	if (seed_hits != NULL) {
		strbuf_puts(sb, ",\"seeds\":[");
		for (size_t i = 0; i < nseeds; i++) {
			if (i)
				strbuf_putc(sb, ',');
			serve_write_track(sb, &seed_hits[i]);
		}
		strbuf_putc(sb, ']');
	}
	strbuf_puts(sb, ",\"tracks\":[");
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (!found[i])
			continue;
		char why[512];
		rec_reason_text(e, &items[i], seed_names, nseeds, why, sizeof why);
		strbuf_puts(sb, out++ ? ",{" : "{");
		write_track_fields(sb, &hits[i]);
		strbuf_printf(sb, ",\"rank\":%zu,\"score\":", i + 1);
		if (isfinite(items[i].score))
			strbuf_printf(sb, "%.9g", (double)items[i].score);
		else
			strbuf_puts(sb, "null");
		strbuf_puts(sb, ",\"reasons\":");
		strbuf_json(sb, why);
		strbuf_puts(sb, ",\"reason_codes\":[");
		const char *sep = "";
		for (size_t b = 0; b < REASON__BITS; b++)
			if (items[i].reasons & (1u << b)) {
				strbuf_puts(sb, sep);
				strbuf_json(sb, rec_reason_codes[b]);
				sep = ",";
			}
		strbuf_putc(sb, ']');
		if (ab != NULL && ab->teams != NULL)
			strbuf_puts(sb, ab->teams[i] ? ",\"team\":\"B\"" : ",\"team\":\"A\"");
		strbuf_putc(sb, '}');
	}
	strbuf_puts(sb, "],\"shortfall\":");
	strbuf_json(sb, shortfall ? shortfall : "");
	if (warnings != NULL && nwarnings > 0) {
		strbuf_puts(sb, ",\"warnings\":[");
		for (size_t i = 0; i < nwarnings; i++) {
			if (i)
				strbuf_putc(sb, ',');
			strbuf_json(sb, warnings[i]);
		}
		strbuf_putc(sb, ']');
	}
	if (notes != NULL && nnotes > 0) {
		strbuf_puts(sb, ",\"notes\":[");
		for (size_t i = 0; i < nnotes; i++) {
			if (i)
				strbuf_putc(sb, ',');
			strbuf_json(sb, notes[i]);
		}
		strbuf_putc(sb, ']');
	}
	strbuf_putc(sb, '}');
}

size_t serve_recommend_notes(const engine *e, const rec_request *r, size_t n, char note[][SERVE_NOTE_CAP])
{
	size_t nn = 0, bare = 0;
	for (size_t s = 0; s < r->nseeds; s++)
		bare += engine_row_of(e, r->seeds[s]) < 0;
	if (bare > 0 && bare == r->nseeds) {
		if (r->nseeds == 1)
			snprintf(note[nn++], SERVE_NOTE_CAP,
			         "your seed has no audio features: these picks come from playlist co-occurrence%s only",
			         r->mood ? " and the mood" : "");
		else
			snprintf(note[nn++], SERVE_NOTE_CAP,
			         "your %zu seeds have no audio features: these picks come from playlist "
			         "co-occurrence%s only",
			         r->nseeds, r->mood ? " and the mood" : "");
	} else if (bare > 0) {
		snprintf(note[nn++], SERVE_NOTE_CAP,
		         "%zu of your %zu seeds %s no audio features: %s only through playlist co-occurrence, not "
		         "through how %s",
		         bare, r->nseeds, bare == 1 ? "has" : "have", bare == 1 ? "it counts" : "they count",
		         bare == 1 ? "it sounds" : "they sound");
	}
	if (n < r->k && (r->ngenres > 0 || r->year_min || r->year_max)) {
		char what[160];
		size_t w = 0;
		what[0] = '\0';
		for (size_t g = 0; g < r->ngenres && w < sizeof what; g++) {
			int k = snprintf(what + w, sizeof what - w, "%s%s", g ? ", " : "the genres ", r->genres[g]);
			w += k > 0 ? (size_t)k : 0;
		}
		if ((r->year_min || r->year_max) && w < sizeof what) {
			const char *sep = w ? " and " : "";
			if (r->year_min && r->year_max)
				snprintf(what + w, sizeof what - w, "%sthe years %d-%d", sep, r->year_min, r->year_max);
			else if (r->year_min)
				snprintf(what + w, sizeof what - w, "%sthe years from %d", sep, r->year_min);
			else
				snprintf(what + w, sizeof what - w, "%sthe years up to %d", sep, r->year_max);
		}
		if (n == 0)
			snprintf(note[nn++], SERVE_NOTE_CAP, "no track fits %s among the candidates; widen the filters",
			         what);
		else
			snprintf(note[nn++], SERVE_NOTE_CAP,
			         "only %zu of the %zu tracks asked for fit %s among the candidates; widen the filters "
			         "for "
			         "more",
			         n, r->k, what);
	}
	return nn;
}
