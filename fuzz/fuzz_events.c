/* fuzz_events.c: libFuzzer target for POST /api/events' body parser
 * (ev_batch_parse): it must never crash nor read past the body, and what it
 * accepts must keep every promise of events.h; what it refuses must name
 * the place. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "experiment/events.h"

#define NOW 1764892800000LL

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(((const ev_event *)a)->event_id, ((const ev_event *)b)->event_id);
}

static int base62(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return n == EV_TRACK_LEN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so that ASan sees a read past it. */
	char *body = malloc(size ? size : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	ev_batch b;
	ev_fault f;
	seg_error err;
	int rc = ev_batch_parse(body, size, NOW, &b, &f, &err);
	if (rc == 0) {
		if (b.n < 1 || b.n > EV_MAX_BATCH || b.ev == NULL)
			__builtin_trap();
		for (size_t i = 0; i < b.n; i++) {
			const ev_event *e = &b.ev[i];
			if (!ev_id_valid(e->event_id) || !ev_id_valid(e->user) ||
			    (e->request[0] && !ev_id_valid(e->request)))
				__builtin_trap();
			if (e->type <= EV_IMPRESSION || e->type >= EV__COUNT || !base62(e->track))
				__builtin_trap();
			if (e->position < -1 || e->position >= EV_MAX_LIST || e->client_ms < EV_MIN_CLIENT_MS ||
			    e->client_ms > NOW + EV_MAX_SKEW_MS)
				__builtin_trap();
			if (e->experiment[0] || e->variant[0] || e->model[0] || e->ntracks || e->tracks || e->teams)
				__builtin_trap();
			/* Its JSON form is JSON. */
			strbuf sb = {0};
			ev_event_json(e, &sb);
			json_t *o = json_loadb(sb.data, sb.len, JSON_REJECT_DUPLICATES, NULL);
			if (o == NULL)
				__builtin_trap();
			json_decref(o);
			strbuf_free(&sb);
		}
		/* No event_id twice. */
		ev_event *copy = malloc(b.n * sizeof *copy);
		if (copy != NULL) {
			memcpy(copy, b.ev, b.n * sizeof *copy);
			qsort(copy, b.n, sizeof *copy, cmp_ids);
			for (size_t i = 1; i < b.n; i++)
				if (strcmp(copy[i].event_id, copy[i - 1].event_id) == 0)
					__builtin_trap();
			free(copy);
		}
		ev_batch_free(&b);
	} else {
		if ((rc != SEG_EINVAL && rc != SEG_EFORMAT && rc != SEG_ENOMEM) || err.msg[0] == '\0' || b.ev != NULL)
			__builtin_trap();
		if (f.index < -1 || f.index >= EV_MAX_BATCH)
			__builtin_trap();
		if (rc == SEG_EINVAL && f.index >= 0 && strncmp(err.msg, "events[", 7) != 0)
			__builtin_trap();
	}
	free(body);
	return 0;
}
