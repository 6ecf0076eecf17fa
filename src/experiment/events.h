/* events.h: a listener's event, as the server logs it (an impression: one
 * served list) or a client posts it (play, skip, like, dislike, save), and
 * the parser of POST /api/events' body, which checks every field and names
 * the first bad one. It does not store events: evstore.h does. */
#ifndef SEGUE_EVENTS_H
#define SEGUE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"

enum ev_type { EV_IMPRESSION, EV_PLAY, EV_SKIP, EV_LIKE, EV_DISLIKE, EV_SAVE, EV__COUNT };

/* "impression", "play", ...; NULL for a type out of range. */
const char *ev_type_name(int type);
/* The type named `name`, or -1. */
int ev_type_find(const char *name);

#define EV_ID_MAX 64                    /* event_id, user_id, request_id: 1..64 bytes of [A-Za-z0-9_.:-] */
#define EV_NAME_MAX 64                  /* experiment and variant names (experiment.h's rules) */
#define EV_MODEL_MAX 128                /* the model a list came from ("hybrid", "interleave:als,popular") */
#define EV_TRACK_LEN 22                 /* a Spotify track id */
#define EV_MAX_LIST 500                 /* tracks in one impression */
#define EV_MAX_BATCH 1000               /* events in one POST */
#define EV_MIN_CLIENT_MS 946684800000LL /* 2000-01-01: an earlier client time is refused */
#define EV_MAX_SKEW_MS 86400000LL       /* a client time more than a day ahead of the server is refused */

/* One event. Plain data; the strings are NUL-terminated, "" when absent. */
typedef struct ev_event {
	int type;                     /* enum ev_type */
	char event_id[EV_ID_MAX + 1]; /* the client's (or the server's) unique id: a retry is stored once */
	char user[EV_ID_MAX + 1];     /* the listener (the dashboard's anonymous id) */
	char request[EV_ID_MAX + 1];  /* the served list it is about (an impression's own id); "" none */
	char track[EV_TRACK_LEN + 1]; /* the track acted on; "" for an impression */
	int32_t position;             /* 0-based position of track in that list, -1 unknown */
	int64_t client_ms;            /* the client's clock, ms since the epoch (the server's for impressions) */
	int64_t server_ms;            /* when it was stored (set by evstore_append) */
	int64_t seq;                  /* the store's order of arrival (set by the store; 0 before) */
	/* Impressions only ("" / 0 / NULL otherwise): */
	char experiment[EV_NAME_MAX + 1]; /* the running experiment that chose the list, "" none */
	char variant[EV_NAME_MAX + 1];    /* its variant */
	char model[EV_MODEL_MAX + 1];     /* the recommender that served it, and after '@' the model
	                                   * version that answered when the server knows it ("hybrid@v7") */
	size_t ntracks;                   /* the ranked list, at most EV_MAX_LIST */
	char (*tracks)[EV_TRACK_LEN + 1]; /* [ntracks] Spotify ids, best first */
	uint8_t *teams;                   /* [ntracks] interleaving: 0 team A, 1 team B; NULL when not interleaved */
} ev_event;

/* A parsed body. ev[] and the lists it points to live in `mem`. */
typedef struct ev_batch {
	ev_event *ev;
	size_t n;
	void *mem; /* private */
} ev_batch;

/* Where a batch was refused: the index of the bad event (or -1 when the
 * body itself is wrong) and the field ("event_id", "type", ...; "" for the
 * event as a whole). */
typedef struct ev_fault {
	long index;
	char field[32];
} ev_fault;

/* Parses and checks POST /api/events' body:
 *   {"events": [{"event_id": "...", "type": "play", "user_id": "...",
 *                "track": "<Spotify id>", "request_id": "...", "position": 3,
 *                "client_ms": 1764892800000}, ...]}
 * event_id, type, user_id, track and client_ms are required; request_id and
 * position optional (position 0..EV_MAX_LIST-1). type is one of play, skip,
 * like, dislike, save: impressions are the server's to log, and a posted one
 * is refused. Unknown fields are refused. 1..EV_MAX_BATCH events, and an
 * event_id at most once per batch. client_ms is an integer from
 * EV_MIN_CLIENT_MS to now_ms + EV_MAX_SKEW_MS.
 * Returns 0 with *out filled (free with ev_batch_free), or SEG_EFORMAT
 * (not JSON) / SEG_EINVAL with a sentence naming the event and the field
 * ("events[3].track: ...") in err and the same in *fault; *out is then
 * empty. Never reads past len. */
int ev_batch_parse(const char *body, size_t len, int64_t now_ms, ev_batch *out, ev_fault *fault, seg_error *err);
void ev_batch_free(ev_batch *b); /* NULL or a zeroed batch is a no-op */

/* Whether s is a valid event_id / user_id / request_id (EV_ID_MAX rule). */
int ev_id_valid(const char *s);

/* Appends ev as one JSON object (the parse format, plus "seq",
 * "server_ms" and, for impressions, "experiment", "variant", "model",
 * "tracks" (an array of ids) and "teams" (a string of 'A'/'B' letters, one
 * per track, or null)) to sb. "track", "request_id" and "position" are left
 * out when absent ("" / -1). */
void ev_event_json(const ev_event *ev, strbuf *sb);

#endif
