/* test_events.c: the event body parser refuses every bad field of the
 * schema (missing, wrong type, out of range, bad characters, too long) with
 * the event's index and the field's name, refuses bad batches as a whole,
 * and good batches survive a trip through ev_event_json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "experiment/events.h"
#include "testutil.h"

#define NOW 1764892800000LL /* the server's clock in these tests */
#define TRACK "4uLU6hMCjMI75M1A2tKUQC"
#define GOOD                                                                            \
	"{\"event_id\":\"e-0\",\"type\":\"play\",\"user_id\":\"u1\",\"track\":\"" TRACK \
	"\",\"client_ms\":1764892800000}"

/* Parses {"events": [GOOD, ev]} and expects a refusal of event 1's `field`
 * whose sentence starts "events[1].field: " and contains `part`. */
static void refused_at(const char *ev, const char *field, const char *part)
{
	char body[8192];
	snprintf(body, sizeof body, "{\"events\":[" GOOD ",%s]}", ev);
	ev_batch b = {0};
	ev_fault f;
	seg_error err = {0};
	int rc = ev_batch_parse(body, strlen(body), NOW, &b, &f, &err);
	if (rc != SEG_EINVAL)
		fail_msg("%s: expected SEG_EINVAL, got %d (%s)", ev, rc, err.msg);
	assert_int_equal(f.index, 1);
	assert_string_equal(f.field, field);
	char prefix[64];
	snprintf(prefix, sizeof prefix, "events[1].%s: ", field);
	if (field[0] == '\0')
		snprintf(prefix, sizeof prefix, "events[1]: ");
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || strstr(err.msg, part) == NULL)
		fail_msg("%s: message '%s' lacks '%s' / '%s'", ev, err.msg, prefix, part);
	assert_null(b.ev);
	assert_int_equal(b.n, 0);
	ev_batch_free(&b);
}

/* Parses a whole body and expects code with fault index -1. */
static void refused_body(const char *body, int code, const char *part)
{
	ev_batch b = {0};
	ev_fault f;
	seg_error err = {0};
	int rc = ev_batch_parse(body, strlen(body), NOW, &b, &f, &err);
	if (rc != code)
		fail_msg("%.80s: expected %d, got %d (%s)", body, code, rc, err.msg);
	assert_int_equal(f.index, -1);
	if (strstr(err.msg, part) == NULL)
		fail_msg("%.80s: message '%s' lacks '%s'", body, err.msg, part);
	assert_null(b.ev);
}

/* Parses {"events": [ev]} and expects it to pass; returns the batch. */
static ev_batch accepted(const char *ev)
{
	char body[8192];
	snprintf(body, sizeof body, "{\"events\":[%s]}", ev);
	ev_batch b = {0};
	ev_fault f;
	seg_error err = {0};
	int rc = ev_batch_parse(body, strlen(body), NOW, &b, &f, &err);
	if (rc != 0)
		fail_msg("%s: refused (%d): %s", ev, rc, err.msg);
	assert_int_equal(b.n, 1);
	return b;
}

#define EVF(id, type, user, track, ms) \
	"{\"event_id\":" id ",\"type\":" type ",\"user_id\":" user ",\"track\":" track ",\"client_ms\":" ms "}"
#define ID65 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
#define ID64 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

static void test_types_and_ids(void **state)
{
	(void)state;
	for (int t = 0; t < EV__COUNT; t++)
		assert_int_equal(ev_type_find(ev_type_name(t)), t);
	assert_string_equal(ev_type_name(EV_IMPRESSION), "impression");
	assert_string_equal(ev_type_name(EV_SAVE), "save");
	assert_null(ev_type_name(-1));
	assert_null(ev_type_name(EV__COUNT));
	assert_int_equal(ev_type_find("Play"), -1);
	assert_int_equal(ev_type_find(NULL), -1);
	assert_true(ev_id_valid("a"));
	assert_true(ev_id_valid("u_1.2:3-X"));
	assert_true(ev_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 64 */
	assert_false(ev_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
	assert_false(ev_id_valid(""));
	assert_false(ev_id_valid(NULL));
	assert_false(ev_id_valid("a b"));
	assert_false(ev_id_valid("a/b"));
	assert_false(ev_id_valid("caf\xc3\xa9"));
}

static void test_event_id(void **state)
{
	(void)state;
	refused_at(EVF("1", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "event_id", "must be a string");
	refused_at("{\"type\":\"play\",\"user_id\":\"u\",\"track\":\"" TRACK "\",\"client_ms\":1764892800000}",
	           "event_id", "missing");
	refused_at(EVF("null", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "event_id", "must be a string");
	refused_at(EVF("\"\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "event_id", "empty");
	refused_at(EVF(ID65, "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "event_id", "too long (65 bytes");
	refused_at(EVF("\"a b\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "event_id", "character");
	refused_at(EVF("\"caf\\u00e9\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "event_id",
	           "character");
	ev_batch b = accepted(EVF(ID64, "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000"));
	assert_int_equal(strlen(b.ev[0].event_id), 64);
	ev_batch_free(&b);
}

static void test_type(void **state)
{
	(void)state;
	refused_at("{\"event_id\":\"x\",\"user_id\":\"u\",\"track\":\"" TRACK "\",\"client_ms\":1764892800000}", "type",
	           "missing");
	refused_at(EVF("\"x\"", "1", "\"u\"", "\"" TRACK "\"", "1764892800000"), "type", "must be a string");
	refused_at(EVF("\"x\"", "\"listen\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "type",
	           "one of play, skip, like, dislike, save");
	refused_at(EVF("\"x\"", "\"PLAY\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "type", "one of");
	refused_at(EVF("\"x\"", "\"impression\"", "\"u\"", "\"" TRACK "\"", "1764892800000"), "type",
	           "impressions are logged by the server");
	static const char *const ok[] = {"play", "skip", "like", "dislike", "save"};
	for (int t = 0; t < 5; t++) {
		char ev[512];
		snprintf(ev, sizeof ev,
		         "{\"event_id\":\"x\",\"type\":\"%s\",\"user_id\":\"u\",\"track\":\"" TRACK
		         "\",\"client_ms\":1764892800000}",
		         ok[t]);
		ev_batch b = accepted(ev);
		assert_int_equal(b.ev[0].type, t + 1);
		ev_batch_free(&b);
	}
}

static void test_user_id(void **state)
{
	(void)state;
	refused_at("{\"event_id\":\"x\",\"type\":\"play\",\"track\":\"" TRACK "\",\"client_ms\":1764892800000}",
	           "user_id", "missing");
	refused_at(EVF("\"x\"", "\"play\"", "7", "\"" TRACK "\"", "1764892800000"), "user_id", "must be a string");
	refused_at(EVF("\"x\"", "\"play\"", "[\"u\"]", "\"" TRACK "\"", "1764892800000"), "user_id",
	           "must be a string");
	refused_at(EVF("\"x\"", "\"play\"", "\"\"", "\"" TRACK "\"", "1764892800000"), "user_id", "empty");
	refused_at(EVF("\"x\"", "\"play\"", ID65, "\"" TRACK "\"", "1764892800000"), "user_id", "too long");
	refused_at(EVF("\"x\"", "\"play\"", "\"a/b\"", "\"" TRACK "\"", "1764892800000"), "user_id", "character");
	refused_at(EVF("\"x\"", "\"play\"", "\"<script>\"", "\"" TRACK "\"", "1764892800000"), "user_id", "character");
}

static void test_track(void **state)
{
	(void)state;
	const char *why = "not a Spotify track id (22 base-62 characters)";
	refused_at("{\"event_id\":\"x\",\"type\":\"play\",\"user_id\":\"u\",\"client_ms\":1764892800000}", "track",
	           "missing");
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "12", "1764892800000"), "track", why);
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "null", "1764892800000"), "track", why);
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"\"", "1764892800000"), "track", why);
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"4uLU6hMCjMI75M1A2tKUQ\"", "1764892800000"), "track", why);
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"4uLU6hMCjMI75M1A2tKUQCC\"", "1764892800000"), "track", why);
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"4uLU6hMCjMI75M1A2tKUQ!\"", "1764892800000"), "track", why);
	/* The URI form is the same track. */
	ev_batch b = accepted(EVF("\"x\"", "\"play\"", "\"u\"", "\"spotify:track:" TRACK "\"", "1764892800000"));
	assert_string_equal(b.ev[0].track, TRACK);
	ev_batch_free(&b);
}

#define EVX(extra)                                                                                       \
	"{\"event_id\":\"x\",\"type\":\"skip\",\"user_id\":\"u\",\"track\":\"" TRACK "\",\"client_ms\":" \
	"1764892800000," extra "}"

static void test_request_id(void **state)
{
	(void)state;
	refused_at(EVX("\"request_id\":5"), "request_id", "must be a string");
	refused_at(EVX("\"request_id\":\"\""), "request_id", "empty");
	refused_at(EVX("\"request_id\":" ID65), "request_id", "too long");
	refused_at(EVX("\"request_id\":\"r 1\""), "request_id", "character");
	ev_batch b = accepted(EVX("\"request_id\":\"r-1\""));
	assert_string_equal(b.ev[0].request, "r-1");
	ev_batch_free(&b);
	b = accepted(EVX("\"request_id\":null"));
	assert_string_equal(b.ev[0].request, "");
	ev_batch_free(&b);
}

static void test_position(void **state)
{
	(void)state;
	refused_at(EVX("\"position\":\"3\""), "position", "whole number");
	refused_at(EVX("\"position\":1.5"), "position", "whole number");
	refused_at(EVX("\"position\":true"), "position", "whole number");
	refused_at(EVX("\"position\":-1"), "position", "from 0 to 499");
	refused_at(EVX("\"position\":500"), "position", "from 0 to 499");
	refused_at(EVX("\"position\":9223372036854775807"), "position", "from 0 to 499");
	ev_batch b = accepted(EVX("\"position\":499"));
	assert_int_equal(b.ev[0].position, 499);
	ev_batch_free(&b);
	b = accepted(EVX("\"position\":0"));
	assert_int_equal(b.ev[0].position, 0);
	ev_batch_free(&b);
	b = accepted(EVX("\"position\":null"));
	assert_int_equal(b.ev[0].position, -1);
	ev_batch_free(&b);
}

static void test_client_ms(void **state)
{
	(void)state;
	refused_at("{\"event_id\":\"x\",\"type\":\"play\",\"user_id\":\"u\",\"track\":\"" TRACK "\"}", "client_ms",
	           "missing");
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "\"1764892800000\""), "client_ms",
	           "whole number");
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764892800000.5"), "client_ms", "whole number");
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "946684799999"), "client_ms",
	           "before the year 2000");
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "-5"), "client_ms", "before the year 2000");
	/* NOW + one day + 1 ms is refused; NOW + one day is not. */
	refused_at(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764979200001"), "client_ms", "ahead");
	ev_batch b = accepted(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "1764979200000"));
	assert_int_equal(b.ev[0].client_ms, 1764979200000LL);
	ev_batch_free(&b);
	b = accepted(EVF("\"x\"", "\"play\"", "\"u\"", "\"" TRACK "\"", "946684800000"));
	ev_batch_free(&b);
}

static void test_event_shape(void **state)
{
	(void)state;
	refused_at(EVX("\"positon\":3"), "positon", "unknown field (an event has");
	refused_at(EVX("\"seq\":3"), "seq", "unknown field");
	refused_at(EVX("\"tracks\":[]"), "tracks", "unknown field");
	refused_at("\"play\"", "", "must be a JSON object");
	refused_at("[]", "", "must be a JSON object");
	refused_at("null", "", "must be a JSON object");
}

static void test_batch_level(void **state)
{
	(void)state;
	refused_body("", SEG_EFORMAT, "not valid JSON");
	refused_body("{\"events\":[", SEG_EFORMAT, "not valid JSON");
	refused_body("events=1", SEG_EFORMAT, "not valid JSON");
	/* A key twice in one object is ambiguous: refused, not last-one-wins. */
	refused_body("{\"events\":[],\"events\":[]}", SEG_EFORMAT, "not valid JSON");
	/* A NUL inside a string is refused by the JSON reader itself. */
	refused_body("{\"events\":[{\"event_id\":\"a\\u0000b\"}]}", SEG_EFORMAT, "not valid JSON");
	refused_body("[" GOOD "]", SEG_EINVAL, "must be a JSON object");
	refused_body("42", SEG_EINVAL, "must be a JSON object");
	refused_body("{}", SEG_EINVAL, "events: missing");
	refused_body("{\"events\":{}}", SEG_EINVAL, "must be an array");
	refused_body("{\"events\":[]}", SEG_EINVAL, "1 to 1000 events (it holds 0)");
	refused_body("{\"events\":[" GOOD "],\"user\":1}", SEG_EINVAL, "unknown field 'user'");
	ev_fault f;
	ev_batch b;
	seg_error err;
	assert_int_equal(ev_batch_parse(NULL, 0, NOW, &b, &f, &err), SEG_EFORMAT);
	/* Duplicate keys inside an event are refused the same way. */
	const char *dup = "{\"events\":[{\"event_id\":\"a\",\"event_id\":\"b\",\"type\":\"play\",\"user_id\":\"u\","
			  "\"track\":\"" TRACK "\",\"client_ms\":1764892800000}]}";
	assert_int_equal(ev_batch_parse(dup, strlen(dup), NOW, &b, &f, &err), SEG_EFORMAT);
	/* The parser reads len bytes and no further: the same good body
	 * followed by garbage it is told not to read. */
	const char *body = "{\"events\":[" GOOD "]}GARBAGE";
	assert_int_equal(ev_batch_parse(body, strlen(body) - 7, NOW, &b, &f, &err), 0);
	assert_int_equal(b.n, 1);
	ev_batch_free(&b);
	assert_int_equal(ev_batch_parse(body, strlen(body), NOW, &b, &f, &err), SEG_EFORMAT);
	ev_batch_free(NULL);
	ev_batch zero = {0};
	ev_batch_free(&zero);
}

/* Writes a batch of n events e-0 .. e-(n-1) into a malloc'd body. */
static char *batch_text(size_t n, size_t dup_of, size_t dup_at)
{
	strbuf sb = {0};
	strbuf_puts(&sb, "{\"events\":[");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&sb,
		              "%s{\"event_id\":\"e-%zu\",\"type\":\"like\",\"user_id\":\"user-%zu\",\"track\":\"" TRACK
		              "\",\"request_id\":\"r%zu\",\"position\":%zu,\"client_ms\":%lld}",
		              i ? "," : "", i == dup_at ? dup_of : i, i % 7, i % 3, i % EV_MAX_LIST,
		              (long long)(NOW - (long long)i));
	strbuf_puts(&sb, "]}");
	assert_false(sb.oom);
	return strbuf_detach(&sb);
}

static void test_batch_limits_and_duplicates(void **state)
{
	(void)state;
	ev_batch b;
	ev_fault f;
	seg_error err;
	char *t = batch_text(EV_MAX_BATCH, 0, (size_t)-1);
	assert_int_equal(ev_batch_parse(t, strlen(t), NOW, &b, &f, &err), 0);
	assert_int_equal(b.n, EV_MAX_BATCH);
	assert_string_equal(b.ev[999].event_id, "e-999");
	assert_int_equal(b.ev[999].position, 499);
	ev_batch_free(&b);
	free(t);

	t = batch_text(EV_MAX_BATCH + 1, 0, (size_t)-1);
	assert_int_equal(ev_batch_parse(t, strlen(t), NOW, &b, &f, &err), SEG_EINVAL);
	assert_int_equal(f.index, -1);
	assert_string_equal(f.field, "events");
	assert_non_null(strstr(err.msg, "1 to 1000 events (it holds 1001)"));
	free(t);

	/* events[7] repeats events[3]'s id. */
	t = batch_text(10, 3, 7);
	assert_int_equal(ev_batch_parse(t, strlen(t), NOW, &b, &f, &err), SEG_EINVAL);
	assert_int_equal(f.index, 7);
	assert_string_equal(f.field, "event_id");
	assert_string_equal(err.msg, "events[7].event_id: the same event_id as events[3]");
	assert_null(b.ev);
	free(t);

	/* The last of 1000 repeats the first: found at the end. */
	t = batch_text(EV_MAX_BATCH, 0, EV_MAX_BATCH - 1);
	assert_int_equal(ev_batch_parse(t, strlen(t), NOW, &b, &f, &err), SEG_EINVAL);
	assert_int_equal(f.index, 999);
	free(t);
}

/* The fault names the first bad event, not the first event. */
static void test_fault_index(void **state)
{
	(void)state;
	const char *body = "{\"events\":[" GOOD "," GOOD "," GOOD
			   ",{\"event_id\":\"e-3\",\"type\":\"play\",\"user_id\":\"u1\",\"track\":\"nope\","
			   "\"client_ms\":1764892800000}]}";
	ev_batch b;
	ev_fault f;
	seg_error err;
	/* GOOD three times is also a duplicate: the first fault found is
	 * events[1].event_id, so the bad track must come from ids first. */
	assert_int_equal(ev_batch_parse(body, strlen(body), NOW, &b, &f, &err), SEG_EINVAL);
	assert_int_equal(f.index, 1);
	assert_string_equal(f.field, "event_id");
	char *t = batch_text(5, 0, (size_t)-1);
	char *p = strstr(t, "\"e-3\"");
	p = strstr(p, TRACK);
	p[5] = '#';
	assert_int_equal(ev_batch_parse(t, strlen(t), NOW, &b, &f, &err), SEG_EINVAL);
	assert_int_equal(f.index, 3);
	assert_string_equal(f.field, "track");
	assert_string_equal(err.msg, "events[3].track: not a Spotify track id (22 base-62 characters)");
	free(t);
}

/* ev_event_json of parsed events, less "seq" and "server_ms", parses back
 * to the same events. */
static void test_round_trip(void **state)
{
	(void)state;
	char *t = batch_text(50, 0, (size_t)-1);
	ev_batch b;
	ev_fault f;
	seg_error err;
	assert_int_equal(ev_batch_parse(t, strlen(t), NOW, &b, &f, &err), 0);
	free(t);
	/* One without the optional fields. */
	memset(b.ev[10].request, 0, sizeof b.ev[10].request);
	b.ev[10].position = -1;
	strbuf sb = {0};
	strbuf_puts(&sb, "{\"events\":[");
	for (size_t i = 0; i < b.n; i++) {
		if (i)
			strbuf_putc(&sb, ',');
		b.ev[i].seq = (int64_t)i + 1;
		b.ev[i].server_ms = NOW + 5;
		strbuf one = {0};
		ev_event_json(&b.ev[i], &one);
		json_error_t je;
		json_t *o = json_loads(strbuf_cstr(&one), 0, &je);
		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "seq")), (long long)i + 1);
		assert_int_equal(json_integer_value(json_object_get(o, "server_ms")), NOW + 5);
		assert_null(json_object_get(o, "experiment")); /* not an impression */
		json_object_del(o, "seq");
		json_object_del(o, "server_ms");
		char *s = json_dumps(o, 0);
		strbuf_puts(&sb, s);
		free(s);
		json_decref(o);
		strbuf_free(&one);
	}
	strbuf_puts(&sb, "]}");
	ev_batch b2;
	assert_int_equal(ev_batch_parse(strbuf_cstr(&sb), sb.len, NOW, &b2, &f, &err), 0);
	assert_int_equal(b2.n, b.n);
	for (size_t i = 0; i < b.n; i++) {
		b2.ev[i].seq = b.ev[i].seq;
		b2.ev[i].server_ms = b.ev[i].server_ms;
		assert_memory_equal(&b.ev[i], &b2.ev[i], sizeof(ev_event));
	}
	strbuf_free(&sb);
	ev_batch_free(&b);
	ev_batch_free(&b2);
}

static void test_impression_json(void **state)
{
	(void)state;
	char tracks[3][EV_TRACK_LEN + 1] = {TRACK, "40riOy7x9W7GXjyGp4pjAv", "0000000000000000000000"};
	uint8_t teams[3] = {0, 1, 1};
	ev_event e = {.type = EV_IMPRESSION, .position = -1, .client_ms = NOW, .server_ms = NOW, .seq = 9};
	strcpy(e.event_id, "req-1");
	strcpy(e.user, "u\"1");
	strcpy(e.request, "req-1");
	strcpy(e.experiment, "exp1");
	strcpy(e.variant, "treatment");
	strcpy(e.model, "interleave:als,popular");
	e.ntracks = 3;
	e.tracks = tracks;
	e.teams = teams;
	strbuf sb = {0};
	ev_event_json(&e, &sb);
	json_error_t je;
	json_t *o = json_loads(strbuf_cstr(&sb), JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		fail_msg("not JSON: %s: %s", strbuf_cstr(&sb), je.text);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "impression");
	assert_string_equal(json_string_value(json_object_get(o, "user_id")), "u\"1");
	assert_null(json_object_get(o, "track"));
	assert_null(json_object_get(o, "position"));
	assert_string_equal(json_string_value(json_object_get(o, "model")), "interleave:als,popular");
	json_t *jt = json_object_get(o, "tracks");
	assert_int_equal(json_array_size(jt), 3);
	assert_string_equal(json_string_value(json_array_get(jt, 1)), "40riOy7x9W7GXjyGp4pjAv");
	assert_string_equal(json_string_value(json_object_get(o, "teams")), "ABB");
	json_decref(o);
	strbuf_reset(&sb);
	e.teams = NULL;
	ev_event_json(&e, &sb);
	assert_non_null(strstr(strbuf_cstr(&sb), "\"teams\":null"));
	strbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_and_ids),
		cmocka_unit_test(test_event_id),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_user_id),
		cmocka_unit_test(test_track),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_position),
		cmocka_unit_test(test_client_ms),
		cmocka_unit_test(test_event_shape),
		cmocka_unit_test(test_batch_level),
		cmocka_unit_test(test_batch_limits_and_duplicates),
		cmocka_unit_test(test_fault_index),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_impression_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
