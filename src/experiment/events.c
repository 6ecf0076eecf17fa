/* events.c: not written yet; the team's helper replaces this file. */
#include <math.h>
#include <stddef.h>
#include "experiment/events.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"

const char *ev_type_name(int type) { return NULL; }

int ev_type_find(const char *name) { return -3; }

int ev_batch_parse(const char *body, size_t len, int64_t now_ms, ev_batch *out, ev_fault *fault, seg_error *err)
{
	return -3;
}

void ev_batch_free(ev_batch *b) {}

int ev_id_valid(const char *s) { return -3; }

void ev_event_json(const ev_event *ev, strbuf *sb) {}
