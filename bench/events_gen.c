/* events_gen.c: writes a synthetic A/B experiment's events into an event
 * store, for bench/events' report timing: USERS listeners split by the
 * experiment's assignment, a pre-period of sessions before it starts (the
 * CUPED covariate), then sessions of the experiment: one impression of 10
 * tracks each, and the listener's plays, likes, saves and skips on it from
 * a position-based click model (a skip follows the play of a track left
 * early), with the treatment's play probability 10% higher. Deterministic in the seed; not a test.
 *
 *   events_gen STORE EVENTS [SEED]
 *     STORE   a SQLite file or a postgresql:// URL (evstore_open)
 *     EVENTS  how many events to write (about; whole sessions)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "experiment/evstore.h"

#define LIST 10    /* tracks per impression */
#define POOL 50000 /* distinct tracks */
#define BATCH 1000

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* A Spotify-shaped id for track number i. */
static void track_id(uint64_t i, char out[EV_TRACK_LEN + 1])
{
	uint64_t x = rng_mix64(i + 1);
	for (int c = 0; c < EV_TRACK_LEN; c++) {
		out[c] = B62[x % 62];
		x = c % 10 == 9 ? rng_mix64(x + (uint64_t)c) : x / 62;
	}
	out[EV_TRACK_LEN] = '\0';
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct gen {
	evstore *st;
	ev_event buf[BATCH];
	char (*lists)[LIST][EV_TRACK_LEN + 1]; /* [BATCH] the impressions' track lists */
	size_t n;
	uint64_t written, next_id;
	seg_error err;
} gen;

static void flush(gen *g)
{
	if (g->n == 0)
		return;
	if (evstore_append(g->st, g->buf, g->n, NULL, &g->err) < 0) {
		fprintf(stderr, "events_gen: %s\n", g->err.msg);
		exit(1);
	}
	g->written += g->n;
	g->n = 0;
}

static ev_event *next(gen *g, int type, const char *user, const char *request)
{
	if (g->n == BATCH)
		flush(g);
	ev_event *ev = &g->buf[g->n];
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	snprintf(ev->event_id, sizeof ev->event_id, "e%" PRIu64, g->next_id++);
	snprintf(ev->user, sizeof ev->user, "%s", user);
	snprintf(ev->request, sizeof ev->request, "%s", request);
	ev->position = -1;
	ev->client_ms = now_ms();
	if (type == EV_IMPRESSION) {
		ev->tracks = g->lists[g->n];
		ev->ntracks = LIST;
	}
	g->n++;
	return ev;
}

/* One session: an impression and what the listener did with it. */
static void session(gen *g, rng *r, const char *user, const experiment *e, size_t v, double play_p)
{
	char request[EV_ID_MAX + 1];
	snprintf(request, sizeof request, "r%" PRIu64, g->next_id);
	ev_event *imp = next(g, EV_IMPRESSION, user, request);
	snprintf(imp->event_id, sizeof imp->event_id, "%s", request);
	snprintf(imp->model, sizeof imp->model, "hybrid");
	if (e != NULL) {
		snprintf(imp->experiment, sizeof imp->experiment, "%s", e->name);
		snprintf(imp->variant, sizeof imp->variant, "%s", e->variant[v].name);
	}
	char ids[LIST][EV_TRACK_LEN + 1];
	for (int p = 0; p < LIST; p++) {
		/* Popular tracks come up more often, so lists repeat tracks. */
		double u = rng_u01(r);
		track_id((uint64_t)(u * u * POOL), ids[p]);
		memcpy(imp->tracks[p], ids[p], sizeof ids[p]);
	}
	double exam = 1.0;
	for (int p = 0; p < LIST; p++, exam *= 0.8) {
		if (rng_u01(r) >= exam)
			break;
		if (rng_u01(r) >= play_p)
			continue;
		ev_event *ev = next(g, EV_PLAY, user, request);
		memcpy(ev->track, ids[p], sizeof ids[p]);
		ev->position = p;
		/* A skip is a started track left early (as the dashboard and the
		 * simulator mean it): it follows its play. */
		if (rng_u01(r) < 0.4) {
			ev = next(g, EV_SKIP, user, request);
			memcpy(ev->track, ids[p], sizeof ids[p]);
			ev->position = p;
			continue;
		}
		if (rng_u01(r) < 0.3) {
			ev = next(g, EV_LIKE, user, request);
			memcpy(ev->track, ids[p], sizeof ids[p]);
			ev->position = p;
		}
		if (rng_u01(r) < 0.1) {
			ev = next(g, EV_SAVE, user, request);
			memcpy(ev->track, ids[p], sizeof ids[p]);
			ev->position = p;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: events_gen STORE EVENTS [SEED]\n");
		return 2;
	}
	uint64_t target = strtoull(argv[2], NULL, 10);
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	/* About 18 events per listener: 2 pre-period sessions and 8 in the
	 * experiment, of 11 events or so each at these probabilities. */
	size_t users = (size_t)(target / 18) + 1;
	static gen g;
	g.lists = calloc(BATCH, sizeof *g.lists);
	if (g.lists == NULL || evstore_open(argv[1], &g.st, &g.err) < 0) {
		fprintf(stderr, "events_gen: %s\n", g.err.msg);
		return 1;
	}
	experiment e;
	memset(&e, 0, sizeof e);
	snprintf(e.name, sizeof e.name, "bench");
	snprintf(e.salt, sizeof e.salt, "s%" PRIu64, seed);
	e.nvariants = 2;
	snprintf(e.variant[0].name, sizeof e.variant[0].name, "control");
	snprintf(e.variant[0].config, sizeof e.variant[0].config, "model=hybrid");
	snprintf(e.variant[1].name, sizeof e.variant[1].name, "treatment");
	snprintf(e.variant[1].config, sizeof e.variant[1].config, "model=hybrid,diversity=0.6");
	e.variant[0].weight = e.variant[1].weight = 1;
	snprintf(e.metric, sizeof e.metric, "play_rate");
	snprintf(e.guardrail[0], sizeof e.guardrail[0], "skip_rate");
	e.nguardrails = 1;
	e.state = EXP_DRAFT;
	e.created_ms = now_ms();
	if (evstore_experiment_create(g.st, &e, &g.err) < 0) {
		fprintf(stderr, "events_gen: %s\n", g.err.msg);
		return 1;
	}
	rng r;
	rng_seed(&r, seed);
	char user[EV_ID_MAX + 1];
	/* Each listener's own taste: a play probability that the pre-period
	 * shows too (what CUPED uses). */
	double *taste = malloc(sizeof(double) * users);
	for (size_t u = 0; u < users; u++) {
		taste[u] = 0.05 + 0.25 * rng_u01(&r);
		snprintf(user, sizeof user, "u%08zu", u);
		for (int s = 0; s < 2; s++)
			session(&g, &r, user, NULL, 0, taste[u]);
	}
	flush(&g);
	e.state = EXP_RUNNING;
	e.started_ms = now_ms() + 1;
	if (evstore_experiment_update(g.st, &e, &g.err) < 0) {
		fprintf(stderr, "events_gen: %s\n", g.err.msg);
		return 1;
	}
	while (now_ms() <= e.started_ms)
		;
	for (size_t u = 0; u < users && g.written + g.n < target; u++) {
		snprintf(user, sizeof user, "u%08zu", u);
		size_t v = exp_assign(&e, user);
		for (int s = 0; s < 8; s++)
			session(&g, &r, user, &e, v, taste[u] * (v == 1 ? 1.10 : 1.0));
	}
	flush(&g);
	e.state = EXP_STOPPED;
	e.stopped_ms = now_ms();
	evstore_experiment_update(g.st, &e, &g.err);
	printf("%" PRIu64 " events, %zu listeners\n", g.written, users);
	free(taste);
	free(g.lists);
	evstore_close(g.st);
	return 0;
}
