/* events.c: the event types, the id rule, the parser of POST /api/events'
 * body and the JSON form of one event (see events.h). Every refusal names
 * the event and the field, because a client fixing its batch needs exactly
 * that; nothing here touches the store. */
#include "experiment/events.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#include "ingest/track.h"

static const char *const type_names[EV__COUNT] = {"impression", "play", "skip", "like", "dislike", "save"};

const char *ev_type_name(int type) { return type >= 0 && type < EV__COUNT ? type_names[type] : NULL; }

int ev_type_find(const char *name)
{
	if (name == NULL)
		return -1;
	for (int t = 0; t < EV__COUNT; t++)
		if (strcmp(name, type_names[t]) == 0)
			return t;
	return -1;
}

static int id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == ':' || c == '-';
}

int ev_id_valid(const char *s)
{
	if (s == NULL)
		return 0;
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (n >= EV_ID_MAX || !id_char((unsigned char)s[n]))
			return 0;
	return n > 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* The fields a posted event may have; anything else is refused, so that a
 * misspelt "positon" is not silently dropped. */
static const char *const known_fields[] = {"event_id",   "type",     "user_id",  "track",
                                           "request_id", "position", "client_ms"};

/* Records the fault and the sentence; returns SEG_EINVAL. */
static int refuse(seg_error *err, ev_fault *fault, long index, const char *field, const char *why)
{
	if (fault) {
		fault->index = index;
		snprintf(fault->field, sizeof fault->field, "%s", field);
	}
	if (index < 0)
		return seg_error_set(err, SEG_EINVAL, "%s", why);
	if (field[0] == '\0')
		return seg_error_set(err, SEG_EINVAL, "events[%ld]: %s", index, why);
	return seg_error_set(err, SEG_EINVAL, "events[%ld].%s: %s", index, field, why);
}

/* Copies an id field (event_id, user_id, request_id) of object o into
 * dst[EV_ID_MAX + 1]. Returns 0, or SEG_EINVAL with the fault. */
static int take_id(json_t *o, const char *field, int required, char *dst, long i, ev_fault *fault, seg_error *err)
{
	json_t *v = json_object_get(o, field);
	if (v == NULL || (!required && json_is_null(v))) {
		if (required)
			return refuse(err, fault, i, field, "missing (a required field)");
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return refuse(err, fault, i, field, "must be a string");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0)
		return refuse(err, fault, i, field, "must not be empty");
	if (n > EV_ID_MAX) {
		char why[96];
		snprintf(why, sizeof why, "too long (%zu bytes; at most %d)", n, EV_ID_MAX);
		return refuse(err, fault, i, field, why);
	}
	/* strlen catches an embedded \u0000, which ev_id_valid alone would not. */
	if (strlen(s) != n || !ev_id_valid(s))
		return refuse(err, fault, i, field, "has a character outside A-Z a-z 0-9 _ . : -");
	memcpy(dst, s, n + 1);
	return 0;
}

/* Fills e from the JSON object o (event i of the batch). */
static int parse_event(json_t *o, long i, int64_t now_ms, ev_event *e, ev_fault *fault, seg_error *err)
{
	if (!json_is_object(o))
		return refuse(err, fault, i, "", "an event must be a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		int ok = 0;
		for (size_t k = 0; k < sizeof known_fields / sizeof *known_fields; k++)
			ok |= strcmp(key, known_fields[k]) == 0;
		if (!ok) {
			/* fault->field gets the name as far as it fits. */
			if (fault) {
				fault->index = i;
				snprintf(fault->field, sizeof fault->field, "%s", key);
			}
			return seg_error_set(err, SEG_EINVAL,
			                     "events[%ld].%.40s: unknown field (an event has event_id, type, user_id, "
			                     "track, request_id, position, client_ms)",
			                     i, key);
		}
	}
	int rc;
	if ((rc = take_id(o, "event_id", 1, e->event_id, i, fault, err)) < 0)
		return rc;

	v = json_object_get(o, "type");
	if (v == NULL)
		return refuse(err, fault, i, "type", "missing (a required field)");
	if (!json_is_string(v))
		return refuse(err, fault, i, "type", "must be a string");
	e->type = ev_type_find(json_string_value(v));
	if (e->type == EV_IMPRESSION)
		return refuse(err, fault, i, "type", "impressions are logged by the server and cannot be posted");
	if (e->type < 0)
		return refuse(err, fault, i, "type", "must be one of play, skip, like, dislike, save");

	if ((rc = take_id(o, "user_id", 1, e->user, i, fault, err)) < 0)
		return rc;

	v = json_object_get(o, "track");
	if (v == NULL)
		return refuse(err, fault, i, "track", "missing (a required field)");
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    track_parse_id(json_string_value(v), e->track) < 0)
		return refuse(err, fault, i, "track", "not a Spotify track id (22 base-62 characters)");

	if ((rc = take_id(o, "request_id", 0, e->request, i, fault, err)) < 0)
		return rc;

	e->position = -1;
	v = json_object_get(o, "position");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v))
			return refuse(err, fault, i, "position", "must be a whole number");
		json_int_t p = json_integer_value(v);
		if (p < 0 || p >= EV_MAX_LIST) {
			char why[96];
			snprintf(why, sizeof why, "must be from 0 to %d", EV_MAX_LIST - 1);
			return refuse(err, fault, i, "position", why);
		}
		e->position = (int32_t)p;
	}

	v = json_object_get(o, "client_ms");
	if (v == NULL)
		return refuse(err, fault, i, "client_ms", "missing (a required field)");
	if (!json_is_integer(v))
		return refuse(err, fault, i, "client_ms", "must be a whole number of milliseconds since 1970");
	json_int_t ms = json_integer_value(v);
	if (ms < EV_MIN_CLIENT_MS)
		return refuse(err, fault, i, "client_ms", "is before the year 2000");
	if (ms > now_ms + EV_MAX_SKEW_MS)
		return refuse(err, fault, i, "client_ms", "is more than a day ahead of the server's clock");
	e->client_ms = ms;
	return 0;
}

/* An open-addressing set of the batch's event ids, so that a duplicate is
 * found in O(n) rather than by comparing every pair. Slots hold index + 1. */
#define ID_SLOTS 2048 /* a power of two above 2 * EV_MAX_BATCH */

static int id_seen(uint16_t *slots, const ev_event *ev, size_t i, size_t *first)
{
	size_t mask = ID_SLOTS - 1;
	size_t h = (size_t)XXH3_64bits(ev[i].event_id, strlen(ev[i].event_id)) & mask;
	for (;; h = (h + 1) & mask) {
		if (slots[h] == 0) {
			slots[h] = (uint16_t)(i + 1);
			return 0;
		}
		if (strcmp(ev[slots[h] - 1].event_id, ev[i].event_id) == 0) {
			*first = slots[h] - 1u;
			return 1;
		}
	}
}

int ev_batch_parse(const char *body, size_t len, int64_t now_ms, ev_batch *out, ev_fault *fault, seg_error *err)
{
	memset(out, 0, sizeof *out);
	if (fault) {
		fault->index = -1;
		fault->field[0] = '\0';
	}
	json_error_t je;
	json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (doc == NULL) {
		return seg_error_set(err, SEG_EFORMAT, "the body is not valid JSON: %s (line %d, column %d)", je.text,
		                     je.line, je.column);
	}
	int rc = 0;
	ev_event *ev = NULL;
	if (!json_is_object(doc)) {
		rc = refuse(err, fault, -1, "", "the body must be a JSON object {\"events\": [...]}");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "events") != 0) {
			char why[96];
			snprintf(why, sizeof why, "unknown field '%.40s' (the body has only \"events\")", key);
			rc = refuse(err, fault, -1, "", why);
			goto out;
		}
	}
	json_t *arr = json_object_get(doc, "events");
	if (arr == NULL) {
		rc = refuse(err, fault, -1, "events", "events: missing (a required field)");
		goto out;
	}
	if (!json_is_array(arr)) {
		rc = refuse(err, fault, -1, "events", "events: must be an array of events");
		goto out;
	}
	size_t n = json_array_size(arr);
	if (n == 0 || n > EV_MAX_BATCH) {
		char why[96];
		snprintf(why, sizeof why, "events: must hold 1 to %d events (it holds %zu)", EV_MAX_BATCH, n);
		rc = refuse(err, fault, -1, "events", why);
		goto out;
	}
	/* The batch's one allocation: posted events have no lists, so the
	 * arena is the array itself. */
	ev = calloc(n, sizeof *ev);
	if (ev == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for %zu events", n);
		goto out;
	}
	uint16_t slots[ID_SLOTS] = {0};
	for (size_t i = 0; i < n; i++) {
		if ((rc = parse_event(json_array_get(arr, i), (long)i, now_ms, &ev[i], fault, err)) < 0)
			goto out;
		size_t first;
		if (id_seen(slots, ev, i, &first)) {
			char why[96];
			snprintf(why, sizeof why, "the same event_id as events[%zu]", first);
			rc = refuse(err, fault, (long)i, "event_id", why);
			goto out;
		}
	}
	out->ev = ev;
	out->n = n;
	out->mem = ev;
	ev = NULL;
out:
	free(ev);
	json_decref(doc);
	return rc;
}

void ev_batch_free(ev_batch *b)
{
	if (b == NULL)
		return;
	free(b->mem);
	memset(b, 0, sizeof *b);
}

/* ---- JSON ---------------------------------------------------------------- */

void ev_event_json(const ev_event *ev, strbuf *sb)
{
	const char *type = ev_type_name(ev->type);
	strbuf_printf(sb, "{\"seq\":%" PRId64 ",\"event_id\":", ev->seq);
	strbuf_json(sb, ev->event_id);
	strbuf_puts(sb, ",\"type\":");
	strbuf_json(sb, type ? type : "unknown");
	strbuf_puts(sb, ",\"user_id\":");
	strbuf_json(sb, ev->user);
	if (ev->track[0]) {
		strbuf_puts(sb, ",\"track\":");
		strbuf_json(sb, ev->track);
	}
	if (ev->request[0]) {
		strbuf_puts(sb, ",\"request_id\":");
		strbuf_json(sb, ev->request);
	}
	if (ev->position >= 0)
		strbuf_printf(sb, ",\"position\":%" PRId32, ev->position);
	strbuf_printf(sb, ",\"client_ms\":%" PRId64 ",\"server_ms\":%" PRId64, ev->client_ms, ev->server_ms);
	if (ev->type == EV_IMPRESSION) {
		strbuf_puts(sb, ",\"experiment\":");
		strbuf_json(sb, ev->experiment);
		strbuf_puts(sb, ",\"variant\":");
		strbuf_json(sb, ev->variant);
		strbuf_puts(sb, ",\"model\":");
		strbuf_json(sb, ev->model);
		strbuf_puts(sb, ",\"tracks\":[");
		for (size_t i = 0; i < ev->ntracks; i++) {
			if (i)
				strbuf_putc(sb, ',');
			strbuf_json(sb, ev->tracks[i]);
		}
		strbuf_puts(sb, "],\"teams\":");
		if (ev->teams == NULL) {
			strbuf_puts(sb, "null");
		} else {
			strbuf_putc(sb, '"');
			for (size_t i = 0; i < ev->ntracks; i++)
				strbuf_putc(sb, ev->teams[i] ? 'B' : 'A');
			strbuf_putc(sb, '"');
		}
	}
	strbuf_putc(sb, '}');
}
