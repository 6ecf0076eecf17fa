/* analysis.c: an experiment's report from its events (see analysis.h). One
 * pass over the events, user by user: a user's lists (impressions), the
 * first time each track was shown to them and the counts of their metrics
 * live in per-user scratch that is reused for the next user; what stays is
 * one row of integer counts per exposed user (the CSV export) and, for the
 * sequential view, per-hour changes of the primary metric's per-variant sums.
 * analysis_finish then computes every figure from those rows with stats.h.
 * It does not read a store (evstore.h feeds it) nor format for HTTP.
 *
 * Legend: U exposed users, V variants (variant 0 the control), M metrics
 * (AN__COUNT), T treatments (V - 1), H hours with a change. */
#include "experiment/analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "core/array.h"
#include "core/strmap.h"
#include "report/svg.h"

/* The first NCOV metrics (play, like, skip, save rates) have a CUPED
 * covariate: the same ratio before the experiment started. */
enum { NCOV = 4 };

static const char *const METRIC_NAMES[AN__COUNT] = {"play_rate", "like_rate",      "skip_rate",
                                                    "save_rate", "discovery_rate", "first_play_position"};
/* Words for the verdict and the terminal. */
static const char *const METRIC_WORDS[AN__COUNT] = {"play rate", "like rate",      "skip rate",
                                                    "save rate", "discovery rate", "first-play position"};
/* +1: higher is better for listeners; -1: lower is better. */
static const int METRIC_GOOD[AN__COUNT] = {1, 1, -1, 1, 1, -1};

#define HOUR_MS 3600000LL

const char *an_metric_name(int m) { return m >= 0 && m < AN__COUNT ? METRIC_NAMES[m] : NULL; }

int an_metric_find(const char *name)
{
	for (int m = 0; name && m < AN__COUNT; m++)
		if (strcmp(name, METRIC_NAMES[m]) == 0)
			return m;
	return -1;
}

void an_options_default(an_options *o)
{
	memset(o, 0, sizeof(*o));
	o->alpha = 0.05;
	o->correction = 0;
	o->cuped = 1;
	o->tau2 = 0;
}

/* ------------------------------------------------------------------------ */
/* A small open-addressing table: 64-bit key hash -> int64 value            */

/* String keys are offsets into a caller's arena (compared there); integer
 * keys (hours) are their own hash (key_str NULL). Slots of an older
 * generation are empty, so the per-user tables are emptied in O(1). */
typedef struct hslot {
	uint64_t h;
	uint32_t gen; /* valid when == the table's gen */
	uint32_t key; /* offset of the key string in the arena */
	int64_t val;
} hslot;

typedef struct htab {
	hslot *slot; /* [cap], cap a power of two */
	size_t cap, n;
	uint32_t gen;
} htab;

static void htab_clear(htab *t)
{
	t->n = 0;
	if (++t->gen == 0) { /* wrapped: really clear */
		if (t->slot)
			memset(t->slot, 0, t->cap * sizeof(hslot));
		t->gen = 1;
	}
}

/* The slot of key (hash h, string key_str or NULL for integer keys) or the
 * empty slot where it would go. */
static hslot *htab_probe(const htab *t, uint64_t h, const char *key_str, const char *arena)
{
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		hslot *s = &t->slot[i];
		if (s->gen != t->gen)
			return s;
		if (s->h == h && (key_str == NULL || strcmp(arena + s->key, key_str) == 0))
			return s;
	}
}

/* Room for one more key. SEG_ENOMEM. */
static int htab_reserve(htab *t)
{
	if (t->cap && (t->n + 1) * 2 <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 64;
	hslot *ns = calloc(cap, sizeof(hslot));
	if (ns == NULL)
		return SEG_ENOMEM;
	uint32_t gen = t->gen ? t->gen : 1;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slot[i].gen != t->gen)
			continue;
		size_t j = (size_t)t->slot[i].h & (cap - 1);
		while (ns[j].gen == gen)
			j = (j + 1) & (cap - 1);
		ns[j] = t->slot[i];
		ns[j].gen = gen;
	}
	free(t->slot);
	t->slot = ns;
	t->cap = cap;
	t->gen = gen;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */

/* One exposed user: integer counts only, so that a recomputation from the
 * CSV is exact. */
typedef struct an_row {
	size_t uid;           /* offset of the user id in analysis.ids */
	uint8_t variant;      /* from the user's first impression of the experiment */
	uint8_t assigned;     /* exp_assign's */
	uint32_t impressions; /* the experiment's lists shown */
	uint32_t num[AN__COUNT], den[AN__COUNT];
	uint32_t pre_num[NCOV], pre_den[NCOV];
	uint32_t team[2]; /* plays credited to team A, B */
} an_row;

enum { LIST_EXP, LIST_PRE, LIST_OTHER };

/* One of the current user's lists. Its tracks are tid[off .. off + n). */
typedef struct u_list {
	size_t off, n;
	int kind;   /* LIST_* */
	int played; /* a play of it was counted (the first play's position is taken) */
	int teams;  /* interleaved: team[] holds its teams */
} u_list;

/* A change of the current user's primary metric in an hour. */
typedef struct seq_inc {
	int64_t hour;
	double dnum, dden;
} seq_inc;

typedef struct an_cmp {
	int variant, metric;
	int ok;                    /* c is computed */
	stats_compare c;           /* CUPED-adjusted when cuped */
	double control, treatment; /* the two estimates compared */
	double p_adj;
	int cuped;
	double theta, vr;
	int significant, harmful;
} an_cmp;

typedef struct an_point {
	int64_t period; /* hour or day number since the epoch */
	int64_t end_ms; /* the period's end */
	int variant;    /* the treatment */
	double users[EXP_MAX_VARIANTS];
	double diff, lo, hi, p;
} an_point;

struct analysis {
	experiment e;
	an_options o;
	int primary;          /* enum an_metric */
	int guard[AN__COUNT]; /* 1: a guardrail */
	int err;              /* sticky: the first error of analysis_add */
	int finished;

	strmap *seen; /* every user started so far: a user seen twice breaks the order */
	an_row *row;  /* [U] */
	size_t nrow, caprow;
	char *ids; /* user ids, NUL-terminated, of the rows */
	size_t nids, capids;

	/* The current user. */
	int have_cur;
	char cur[EV_ID_MAX + 1];
	int64_t last_seq;
	int exposed, mixed;
	an_row r;
	int64_t expo_hour;
	u_list *list;
	size_t nlist, caplist;
	uint32_t *tid; /* [ntid] the lists' tracks as per-user track numbers */
	uint8_t *flag; /* [ntid] bit (1 << type) once a type was counted */
	uint8_t *team; /* [ntid] 0 A, 1 B */
	size_t ntid, captid;
	uint32_t *first_list; /* [ntrack] index of the first of the user's lists that showed the track */
	size_t ntrack, captrack;
	char *str; /* the per-user arena of track and request ids */
	size_t nstr, capstr;
	htab tracks;   /* track id -> track number */
	htab requests; /* request id -> list index */
	seq_inc *inc;
	size_t ninc, capinc;

	/* Counters. */
	size_t mismatches, mixed_users, unknown_variant;
	int teamed[EXP_MAX_VARIANTS]; /* some impression of the variant carried teams */

	/* The sequential view's input: per hour with a change, the change of
	 * each variant's sums of (num, den) pairs of the primary metric. */
	htab hours;          /* hour -> index */
	int64_t *hour_key;   /* [H] */
	stats_moments *hmom; /* [H * V] */
	size_t nhour, caphour;

	/* Results (analysis_finish). */
	double users[EXP_MAX_VARIANTS], impressions[EXP_MAX_VARIANTS], ntracks_v[EXP_MAX_VARIANTS];
	stats_moments mom[EXP_MAX_VARIANTS][AN__COUNT];
	double pre_num[EXP_MAX_VARIANTS][NCOV], pre_den[EXP_MAX_VARIANTS][NCOV];
	stats_estimate est[EXP_MAX_VARIANTS][AN__COUNT];
	int est_ok[EXP_MAX_VARIANTS][AN__COUNT];
	an_cmp *cmp; /* [T * M] */
	size_t ncmp;
	int srm_ok;
	double srm_chi2, srm_p, srm_expected[EXP_MAX_VARIANTS];
	int by_hour;
	double tau2;
	an_point *pt;
	size_t npt;
	int iv; /* the interleaved variant, -1 none */
	double iv_users, wins_a, wins_b, ties, share_b, share_lo, share_hi, share_p;
	/* The credit test: d_u = B's credited plays - A's over every user of the
	 * interleaved variant; its mean with the one-sample t interval. */
	double credit_a, credit_b, credit_share_b; /* credited plays summed, and B / (A + B) */
	double credit_mean, credit_lo, credit_hi, credit_p, credit_df;
	strbuf verdict;
};

/* ------------------------------------------------------------------------ */
/* Create, free                                                              */

int analysis_create(const experiment *e, const an_options *o, analysis **out, seg_error *err)
{
	*out = NULL;
	an_options def;
	an_options_default(&def);
	if (o == NULL)
		o = &def;
	if (e == NULL || e->nvariants < 1 || e->nvariants > EXP_MAX_VARIANTS)
		return seg_error_set(err, SEG_EINVAL, "an experiment needs 1 to %d variants", EXP_MAX_VARIANTS);
	if (!(o->alpha > 0 && o->alpha < 1))
		return seg_error_set(err, SEG_EINVAL, "alpha must be between 0 and 1, not %g", o->alpha);
	if (o->correction != 0 && o->correction != 1)
		return seg_error_set(err, SEG_EINVAL, "correction must be 0 (Holm) or 1 (Benjamini-Hochberg)");
	if (!(o->tau2 >= 0) || isinf(o->tau2))
		return seg_error_set(err, SEG_EINVAL, "tau2 must be 0 (automatic) or positive");
	analysis *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->seen = strmap_create()) == NULL) {
		free(a);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	a->e = *e;
	a->o = *o;
	a->o.cuped = o->cuped != 0;
	a->primary = an_metric_find(e->metric);
	if (a->primary < 0)
		a->primary = AN_PLAY_RATE;
	for (size_t g = 0; g < e->nguardrails && g < EXP_MAX_GUARDRAILS; g++) {
		int m = an_metric_find(e->guardrail[g]);
		if (m >= 0)
			a->guard[m] = 1;
	}
	a->tracks.gen = a->requests.gen = a->hours.gen = 1;
	a->iv = -1;
	*out = a;
	return 0;
}

void analysis_free(analysis *a)
{
	if (a == NULL)
		return;
	strmap_free(a->seen);
	free(a->row);
	free(a->ids);
	free(a->list);
	free(a->tid);
	free(a->flag);
	free(a->team);
	free(a->first_list);
	free(a->str);
	free(a->tracks.slot);
	free(a->requests.slot);
	free(a->inc);
	free(a->hours.slot);
	free(a->hour_key);
	free(a->hmom);
	free(a->cmp);
	free(a->pt);
	strbuf_free(&a->verdict);
	free(a);
}

/* ------------------------------------------------------------------------ */
/* Per-user scratch                                                          */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static int64_t hour_of(int64_t ms) { return floor_div(ms, HOUR_MS); }

/* Copies s into the per-user arena; its offset in *off. */
static int str_put(analysis *a, const char *s, uint32_t *off)
{
	size_t n = strlen(s) + 1;
	if (a->nstr + n > UINT32_MAX)
		return SEG_ENOMEM;
	char *p = array_grow(a->str, &a->capstr, a->nstr + n, 1, 4096);
	if (p == NULL)
		return SEG_ENOMEM;
	a->str = p;
	memcpy(a->str + a->nstr, s, n);
	*off = (uint32_t)a->nstr;
	a->nstr += n;
	return 0;
}

static uint64_t hash_str(const char *s) { return XXH3_64bits(s, strlen(s)); }

/* The user's number of track s, or -1 when no list of the user showed it. */
static int64_t track_find(const analysis *a, const char *s)
{
	if (a->tracks.n == 0)
		return -1;
	hslot *sl = htab_probe(&a->tracks, hash_str(s), s, a->str);
	return sl->gen == a->tracks.gen ? sl->val : -1;
}

/* The user's number of track s, a new one (first shown by the user's list
 * number `list`) when unknown. */
static int track_intern(analysis *a, const char *s, uint32_t list, uint32_t *id)
{
	uint64_t h = hash_str(s);
	if (htab_reserve(&a->tracks))
		return SEG_ENOMEM;
	hslot *sl = htab_probe(&a->tracks, h, s, a->str);
	if (sl->gen == a->tracks.gen) {
		*id = (uint32_t)sl->val;
		return 0;
	}
	uint32_t *fl = array_grow(a->first_list, &a->captrack, a->ntrack + 1, sizeof(uint32_t), 256);
	if (fl == NULL)
		return SEG_ENOMEM;
	a->first_list = fl;
	uint32_t off;
	if (str_put(a, s, &off))
		return SEG_ENOMEM;
	sl->h = h;
	sl->gen = a->tracks.gen;
	sl->key = off;
	sl->val = (int64_t)a->ntrack;
	a->tracks.n++;
	a->first_list[a->ntrack] = list;
	*id = (uint32_t)a->ntrack++;
	return 0;
}

static int inc_push(analysis *a, int64_t ms, double dnum, double dden)
{
	seq_inc *p = array_grow(a->inc, &a->capinc, a->ninc + 1, sizeof(seq_inc), 64);
	if (p == NULL)
		return SEG_ENOMEM;
	a->inc = p;
	a->inc[a->ninc++] = (seq_inc){hour_of(ms), dnum, dden};
	return 0;
}

/* The change of the hour's sums for variant v (a new hour starts at 0). */
static stats_moments *hour_slot(analysis *a, int64_t hour, int v)
{
	if (htab_reserve(&a->hours))
		return NULL;
	hslot *sl = htab_probe(&a->hours, (uint64_t)hour, NULL, NULL);
	if (sl->gen != a->hours.gen) {
		size_t V = a->e.nvariants, cap = a->caphour;
		int64_t *k = array_grow(a->hour_key, &a->caphour, a->nhour + 1, sizeof(int64_t), 64);
		if (k == NULL)
			return NULL;
		a->hour_key = k;
		if (a->caphour != cap) {
			stats_moments *m = realloc(a->hmom, a->caphour * V * sizeof(stats_moments));
			if (m == NULL) {
				a->caphour = cap; /* keep hour_key's larger block: harmless */
				return NULL;
			}
			a->hmom = m;
		}
		memset(&a->hmom[a->nhour * V], 0, V * sizeof(stats_moments));
		a->hour_key[a->nhour] = hour;
		sl->h = (uint64_t)hour;
		sl->gen = a->hours.gen;
		sl->val = (int64_t)a->nhour++;
		a->hours.n++;
	}
	return &a->hmom[(size_t)sl->val * a->e.nvariants + (size_t)v];
}

static int cmp_inc(const void *x, const void *y)
{
	int64_t a = ((const seq_inc *)x)->hour, b = ((const seq_inc *)y)->hour;
	return (a > b) - (a < b);
}

/* Adds the current user's path of the primary metric to the hourly
 * changes: the user joins its variant's sums in its exposure hour, and each
 * later change of its cumulative (num, den) changes the sums of x, y, x^2,
 * y^2, xy by the difference. Prefix sums over the hours then give, at the end
 * of every hour, the sums over the users exposed by then of their counts by
 * then. */
static int seq_flush(analysis *a)
{
	int v = a->r.variant;
	for (size_t i = 0; i < a->ninc; i++)
		if (a->inc[i].hour < a->expo_hour)
			a->inc[i].hour = a->expo_hour; /* a clock behind the list's: count it from the exposure */
	qsort(a->inc, a->ninc, sizeof(seq_inc), cmp_inc);
	stats_moments *d = hour_slot(a, a->expo_hour, v);
	if (d == NULL)
		return SEG_ENOMEM;
	d->n += 1;
	double x = 0, y = 0;
	for (size_t i = 0; i < a->ninc;) {
		int64_t h = a->inc[i].hour;
		double nx = x, ny = y;
		for (; i < a->ninc && a->inc[i].hour == h; i++) {
			nx += a->inc[i].dnum;
			ny += a->inc[i].dden;
		}
		if ((d = hour_slot(a, h, v)) == NULL)
			return SEG_ENOMEM;
		d->sx += nx - x;
		d->sy += ny - y;
		d->sxx += nx * nx - x * x;
		d->syy += ny * ny - y * y;
		d->sxy += nx * ny - x * y;
		x = nx;
		y = ny;
	}
	return 0;
}

/* Ends the current user: keeps its row when it was exposed. */
static int user_end(analysis *a)
{
	int rc = 0;
	if (a->have_cur && a->exposed) {
		a->r.assigned = (uint8_t)exp_assign(&a->e, a->cur);
		if (a->r.assigned != a->r.variant)
			a->mismatches++;
		if (a->mixed)
			a->mixed_users++;
		size_t n = strlen(a->cur) + 1;
		char *ids = array_grow(a->ids, &a->capids, a->nids + n, 1, 1 << 16);
		an_row *rows = ids ? array_grow(a->row, &a->caprow, a->nrow + 1, sizeof(an_row), 1024) : NULL;
		if (ids)
			a->ids = ids;
		if (rows == NULL)
			return SEG_ENOMEM;
		a->row = rows;
		memcpy(a->ids + a->nids, a->cur, n);
		a->r.uid = a->nids;
		a->nids += n;
		a->row[a->nrow++] = a->r;
		rc = seq_flush(a);
	}
	a->nlist = a->ntid = a->ntrack = a->nstr = a->ninc = 0;
	htab_clear(&a->tracks);
	htab_clear(&a->requests);
	a->exposed = a->mixed = 0;
	memset(&a->r, 0, sizeof(a->r));
	a->have_cur = 0;
	return rc;
}

static int user_begin(analysis *a, const char *user)
{
	int64_t dummy;
	if (strmap_get(a->seen, user, &dummy))
		return SEG_EINVAL; /* this user's events came in two runs: not the scan's order */
	if (strmap_put(a->seen, user, 1))
		return SEG_ENOMEM;
	snprintf(a->cur, sizeof a->cur, "%s", user);
	a->have_cur = 1;
	a->last_seq = 0;
	return 0;
}

static int variant_find(const analysis *a, const char *name)
{
	for (size_t v = 0; v < a->e.nvariants; v++)
		if (strcmp(a->e.variant[v].name, name) == 0)
			return (int)v;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */

static int on_impression(analysis *a, const ev_event *ev)
{
	int kind = LIST_OTHER, v = -1;
	if (ev->experiment[0] && strcmp(ev->experiment, a->e.name) == 0) {
		v = variant_find(a, ev->variant);
		if (v >= 0)
			kind = LIST_EXP;
		else
			a->unknown_variant++;
	}
	if (kind == LIST_OTHER && a->e.started_ms > 0 && ev->server_ms < a->e.started_ms)
		kind = LIST_PRE;
	const char *req = ev->request[0] ? ev->request : ev->event_id;
	size_t n = ev->ntracks <= EV_MAX_LIST ? ev->ntracks : EV_MAX_LIST;
	if (ev->tracks == NULL)
		n = 0;

	if (htab_reserve(&a->requests))
		return SEG_ENOMEM;
	uint64_t h = hash_str(req);
	hslot *sl = htab_probe(&a->requests, h, req, a->str);
	if (sl->gen == a->requests.gen)
		return 0; /* a second impression with the same id: the first one stands */
	uint32_t off;
	u_list *L = array_grow(a->list, &a->caplist, a->nlist + 1, sizeof(u_list), 16);
	if (L == NULL || str_put(a, req, &off))
		return SEG_ENOMEM;
	a->list = L;
	sl = htab_probe(&a->requests, h, req, a->str); /* the arena may have moved; the slot did not */
	sl->h = h;
	sl->gen = a->requests.gen;
	sl->key = off;
	sl->val = (int64_t)a->nlist;
	a->requests.n++;

	size_t need = a->ntid + n, cap = a->captid;
	uint32_t *t = array_grow(a->tid, &a->captid, need, sizeof(uint32_t), 256);
	if (t == NULL)
		return SEG_ENOMEM;
	a->tid = t;
	if (a->captid != cap) {
		uint8_t *f = realloc(a->flag, a->captid);
		if (f)
			a->flag = f;
		uint8_t *tm = f ? realloc(a->team, a->captid) : NULL;
		if (tm)
			a->team = tm;
		if (f == NULL || tm == NULL) {
			a->captid = cap;
			return SEG_ENOMEM;
		}
	}
	u_list *l = &a->list[a->nlist++];
	*l = (u_list){.off = a->ntid, .n = n, .kind = kind, .teams = ev->teams != NULL};
	for (size_t i = 0; i < n; i++) {
		uint32_t id;
		if (track_intern(a, ev->tracks[i], (uint32_t)(a->nlist - 1), &id))
			return SEG_ENOMEM;
		a->tid[a->ntid] = id;
		a->flag[a->ntid] = 0;
		a->team[a->ntid] = ev->teams ? (uint8_t)(ev->teams[i] != 0) : 0;
		a->ntid++;
	}

	if (kind == LIST_EXP) {
		if (!a->exposed) {
			a->exposed = 1;
			a->r.variant = (uint8_t)v;
			a->expo_hour = hour_of(ev->server_ms);
		} else if (v != a->r.variant) {
			a->mixed = 1;
		}
		if (ev->teams)
			a->teamed[a->r.variant] = 1;
		a->r.impressions++;
		for (int m = 0; m <= AN_DISCOVERY_RATE; m++)
			a->r.den[m] += (uint32_t)n;
		if (a->primary <= AN_DISCOVERY_RATE && n > 0 && inc_push(a, ev->server_ms, 0, (double)n))
			return SEG_ENOMEM;
	} else if (kind == LIST_PRE) {
		for (int m = 0; m < NCOV; m++)
			a->r.pre_den[m] += (uint32_t)n;
	}
	return 0;
}

/* The metric an action type counts in, -1 for none. */
static int type_metric(int type)
{
	switch (type) {
	case EV_PLAY: return AN_PLAY_RATE;
	case EV_LIKE: return AN_LIKE_RATE;
	case EV_SKIP: return AN_SKIP_RATE;
	case EV_SAVE: return AN_SAVE_RATE;
	default: return -1;
	}
}

static int count(analysis *a, int m, const ev_event *ev, double dnum, double dden)
{
	a->r.num[m] += (uint32_t)dnum;
	a->r.den[m] += (uint32_t)dden;
	if (m == a->primary)
		return inc_push(a, ev->server_ms, dnum, dden);
	return 0;
}

static int on_action(analysis *a, const ev_event *ev)
{
	int m = type_metric(ev->type);
	if (m < 0 || ev->request[0] == '\0' || a->requests.n == 0)
		return 0;
	hslot *sl = htab_probe(&a->requests, hash_str(ev->request), ev->request, a->str);
	if (sl->gen != a->requests.gen)
		return 0; /* not a list this user was shown */
	u_list *l = &a->list[sl->val];
	if (l->kind == LIST_OTHER)
		return 0;
	int64_t id = track_find(a, ev->track);
	if (id < 0)
		return 0;
	size_t pos = l->n;
	if (ev->position >= 0 && (size_t)ev->position < l->n && a->tid[l->off + (size_t)ev->position] == (uint32_t)id)
		pos = (size_t)ev->position;
	else
		for (size_t i = 0; i < l->n; i++)
			if (a->tid[l->off + i] == (uint32_t)id) {
				pos = i;
				break;
			}
	if (pos == l->n)
		return 0; /* the track is not in that list */
	uint8_t bit = (uint8_t)(1u << ev->type);
	uint8_t *flag = &a->flag[l->off + pos];
	if (*flag & bit)
		return 0; /* counted already: a (list, track, type) counts once */
	*flag |= bit;

	if (l->kind == LIST_PRE) {
		if (ev->server_ms < a->e.started_ms)
			a->r.pre_num[m]++;
		return 0;
	}
	int rc = count(a, m, ev, 1, 0);
	if (rc == 0 && ev->type == EV_PLAY) {
		if (a->first_list[id] == (uint32_t)sl->val)
			rc = count(a, AN_DISCOVERY_RATE, ev, 1, 0);
		if (rc == 0 && !l->played) {
			l->played = 1;
			rc = count(a, AN_FIRST_PLAY_POSITION, ev, (double)(pos + 1), 1);
		}
		if (l->teams)
			a->r.team[a->team[l->off + pos]]++;
	}
	return rc;
}

int analysis_add(void *ctx, const ev_event *ev)
{
	analysis *a = ctx;
	if (a->err)
		return a->err;
	if (a->finished || ev == NULL)
		return a->err = SEG_EINVAL;
	int rc = 0;
	if (!a->have_cur || strcmp(ev->user, a->cur) != 0) {
		rc = user_end(a);
		if (rc == 0)
			rc = user_begin(a, ev->user);
	} else if (ev->seq > 0 && a->last_seq > 0 && ev->seq <= a->last_seq) {
		rc = SEG_EINVAL; /* a user's events out of seq order */
	}
	if (rc == 0) {
		a->last_seq = ev->seq;
		rc = ev->type == EV_IMPRESSION ? on_impression(a, ev) : on_action(a, ev);
	}
	if (rc)
		a->err = rc;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Figures                                                                   */

/* CUPED for metric m of treatment t (see analysis.h): each user's metric
 * linearised within its variant, the pre-experiment ratio as covariate.
 * Leaves c as it is when CUPED cannot be computed. */
static void cuped(analysis *a, an_cmp *c, int t, int m)
{
	int vv[2] = {0, t};
	double R[2], dbar[2];
	for (int k = 0; k < 2; k++) {
		const stats_moments *mo = &a->mom[vv[k]][m];
		R[k] = mo->sx / mo->sy;
		dbar[k] = mo->sy / mo->n;
	}
	double pooled = (a->pre_num[0][m] + a->pre_num[t][m]) / (a->pre_den[0][m] + a->pre_den[t][m]);
	stats_cuped cu;
	memset(&cu, 0, sizeof(cu));
	for (size_t i = 0; i < a->nrow; i++) {
		const an_row *r = &a->row[i];
		int k = r->variant == 0 ? 0 : r->variant == t ? 1 : -1;
		if (k < 0)
			continue;
		double y = R[k] + ((double)r->num[m] - R[k] * (double)r->den[m]) / dbar[k];
		double x = r->pre_den[m] > 0 ? (double)r->pre_num[m] / (double)r->pre_den[m] : pooled;
		stats_cuped_add(&cu, k, y, x);
	}
	stats_estimate ce[2];
	double theta;
	stats_compare adj;
	if (stats_cuped_finish(&cu, ce, &theta, NULL) || stats_welch(&ce[0], &ce[1], a->o.alpha, &adj, NULL))
		return;
	double raw_var = a->est[0][m].var + a->est[t][m].var;
	c->c = adj;
	c->cuped = 1;
	c->theta = theta;
	c->control = ce[0].value;
	c->treatment = ce[1].value;
	c->vr = raw_var > 0 ? 1 - (ce[0].var + ce[1].var) / raw_var : NAN;
}

static int compare_all(analysis *a)
{
	size_t V = a->e.nvariants;
	a->cmp = calloc((V - 1) * AN__COUNT + 1, sizeof(an_cmp));
	if (a->cmp == NULL)
		return SEG_ENOMEM;
	for (size_t t = 1; t < V; t++)
		for (int m = 0; m < AN__COUNT; m++) {
			an_cmp *c = &a->cmp[a->ncmp++];
			c->variant = (int)t;
			c->metric = m;
			c->p_adj = c->theta = c->vr = c->control = c->treatment = NAN;
			if (!a->est_ok[0][m] || !a->est_ok[t][m] ||
			    stats_welch(&a->est[0][m], &a->est[t][m], a->o.alpha, &c->c, NULL))
				continue;
			c->ok = 1;
			c->control = a->est[0][m].value;
			c->treatment = a->est[t][m].value;
			if (a->o.cuped && m < NCOV && a->pre_den[0][m] + a->pre_den[t][m] > 0)
				cuped(a, c, (int)t, m);
		}
	/* One family: every (treatment, metric) with a p-value. */
	double *p = malloc((a->ncmp + 1) * sizeof(double));
	size_t *idx = malloc((a->ncmp + 1) * sizeof(size_t));
	int rc = p && idx ? 0 : SEG_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; rc == 0 && i < a->ncmp; i++)
		if (a->cmp[i].ok && a->cmp[i].c.p >= 0 && a->cmp[i].c.p <= 1) {
			p[k] = a->cmp[i].c.p;
			idx[k++] = i;
		}
	if (rc == 0 && k > 0 && (a->o.correction ? stats_bh(p, k, p, NULL) : stats_holm(p, k, p, NULL)) == 0) {
		for (size_t j = 0; j < k; j++) {
			an_cmp *c = &a->cmp[idx[j]];
			c->p_adj = p[j];
			c->significant = p[j] < a->o.alpha;
			c->harmful = c->significant && METRIC_GOOD[c->metric] * c->c.diff < 0;
		}
	}
	free(p);
	free(idx);
	return rc;
}

static void srm(analysis *a)
{
	size_t V = a->e.nvariants;
	if (V < 2 || a->nrow == 0)
		return;
	double w[EXP_MAX_VARIANTS], W = 0;
	for (size_t v = 0; v < V; v++)
		W += w[v] = a->e.variant[v].weight;
	if (stats_srm(a->users, w, V, &a->srm_chi2, &a->srm_p, NULL) != 0)
		return;
	a->srm_ok = 1;
	for (size_t v = 0; v < V; v++)
		a->srm_expected[v] = (double)a->nrow * w[v] / W;
}

/* An hour with a change and its index in hour_key/hmom, for sorting. */
typedef struct hour_ref {
	int64_t hour;
	size_t idx;
} hour_ref;

static int cmp_hour(const void *x, const void *y)
{
	int64_t a = ((const hour_ref *)x)->hour, b = ((const hour_ref *)y)->hour;
	return (a > b) - (a < b);
}

static int sequential(analysis *a)
{
	size_t V = a->e.nvariants, H = a->nhour, T = V - 1;
	int pm = a->primary;
	if (a->o.tau2 > 0) {
		a->tau2 = a->o.tau2;
	} else if (a->est_ok[0][pm] && a->est[0][pm].value != 0) {
		a->tau2 = pow(0.05 * a->est[0][pm].value, 2);
	} else {
		a->tau2 = V > 1 && a->est_ok[0][pm] && a->est_ok[1][pm] ? a->est[0][pm].var + a->est[1][pm].var : 0;
		if (!(a->tau2 > 0))
			a->tau2 = 1e-4;
	}
	if (V < 2 || H == 0)
		return 0;
	hour_ref *order = malloc(H * sizeof(hour_ref));
	a->pt = calloc(H * T, sizeof(an_point));
	if (order == NULL || a->pt == NULL) {
		free(order);
		return SEG_ENOMEM;
	}
	for (size_t i = 0; i < H; i++)
		order[i] = (hour_ref){a->hour_key[i], i};
	qsort(order, H, sizeof(hour_ref), cmp_hour);
	int64_t first = order[0].hour, last = order[H - 1].hour;
	a->by_hour = floor_div(first, 24) == floor_div(last, 24);
	int64_t per = a->by_hour ? 1 : 24;

	stats_moments cum[EXP_MAX_VARIANTS];
	memset(cum, 0, sizeof(cum));
	for (size_t i = 0; i < H;) {
		int64_t period = floor_div(order[i].hour, per);
		for (; i < H && floor_div(order[i].hour, per) == period; i++)
			for (size_t v = 0; v < V; v++) {
				const stats_moments *d = &a->hmom[order[i].idx * V + v];
				cum[v].n += d->n;
				cum[v].sx += d->sx;
				cum[v].sy += d->sy;
				cum[v].sxx += d->sxx;
				cum[v].syy += d->syy;
				cum[v].sxy += d->sxy;
			}
		for (size_t t = 1; t < V; t++) {
			an_point *p = &a->pt[a->npt++];
			p->period = period;
			p->end_ms = (period + 1) * per * HOUR_MS;
			p->variant = (int)t;
			for (size_t v = 0; v < V; v++)
				p->users[v] = cum[v].n;
			p->diff = p->lo = p->hi = p->p = NAN;
			stats_estimate ea, eb;
			stats_sequential sq;
			if (stats_ratio(&cum[0], &ea, NULL) || stats_ratio(&cum[t], &eb, NULL))
				continue;
			p->diff = eb.value - ea.value;
			if (stats_msprt(p->diff, ea.var + eb.var, a->tau2, a->o.alpha, &sq, NULL) == 0) {
				p->lo = sq.lo;
				p->hi = sq.hi;
				p->p = sq.p;
			}
		}
	}
	free(order);
	return 0;
}

/* The credit test: the mean of d_u = team_b - team_a over every user of
 * the interleaved variant (zeros included: a user without a credited play
 * was exposed and preferred neither), one-sample t against 0. Under no
 * preference the team-draft coin makes each contributed track equally
 * likely to be A's or B's, so E[d] = 0. Unlike the sign test it keeps the
 * size of a preference: 3-0 weighs three times 1-0. */
static void credit(analysis *a)
{
	stats_moments mo = {0};
	a->credit_mean = a->credit_lo = a->credit_hi = a->credit_p = a->credit_df = NAN;
	for (size_t i = 0; i < a->nrow; i++) {
		const an_row *r = &a->row[i];
		if (r->variant != a->iv)
			continue;
		a->credit_a += r->team[0];
		a->credit_b += r->team[1];
		stats_moments_add(&mo, (double)r->team[1] - (double)r->team[0], 1);
	}
	double plays = a->credit_a + a->credit_b;
	a->credit_share_b = plays > 0 ? a->credit_b / plays : NAN;
	stats_estimate est;
	if (stats_mean(&mo, &est, NULL) < 0)
		return; /* fewer than 2 users: everything stays NaN */
	a->credit_mean = est.value;
	a->credit_df = mo.n - 1;
	if (est.var <= 0) {
		/* Every user has the same d: the mean is exact. */
		a->credit_lo = a->credit_hi = est.value;
		a->credit_p = est.value == 0 ? 1 : 0;
		return;
	}
	double se = sqrt(est.var), q = stats_t_quantile(1 - a->o.alpha / 2, a->credit_df);
	a->credit_lo = est.value - q * se;
	a->credit_hi = est.value + q * se;
	a->credit_p = 2 * stats_t_cdf(-fabs(est.value) / se, a->credit_df);
}

static void interleaving(analysis *a)
{
	for (size_t v = 0; v < a->e.nvariants && a->iv < 0; v++)
		if (a->teamed[v])
			a->iv = (int)v;
	if (a->iv < 0)
		return;
	credit(a);
	for (size_t i = 0; i < a->nrow; i++) {
		const an_row *r = &a->row[i];
		if (r->variant != a->iv)
			continue;
		a->iv_users++;
		if (r->team[0] > r->team[1])
			a->wins_a++;
		else if (r->team[1] > r->team[0])
			a->wins_b++;
		else if (r->team[0] > 0)
			a->ties++;
	}
	double m = a->wins_a + a->wins_b;
	a->share_b = a->share_lo = a->share_hi = a->share_p = NAN;
	if (m == 0)
		return;
	double s = a->wins_b / m, z = stats_norm_quantile(1 - a->o.alpha / 2), z2 = z * z;
	double centre = (s + z2 / (2 * m)) / (1 + z2 / m);
	double half = z / (1 + z2 / m) * sqrt(s * (1 - s) / m + z2 / (4 * m * m));
	a->share_b = s;
	a->share_lo = centre - half;
	a->share_hi = centre + half;
	a->share_p = 2 * stats_norm_cdf(-fabs(a->wins_b - m / 2) / sqrt(m / 4));
}

static const an_cmp *find_cmp(const analysis *a, int t, int m)
{
	for (size_t i = 0; i < a->ncmp; i++)
		if (a->cmp[i].variant == t && a->cmp[i].metric == m)
			return &a->cmp[i];
	return NULL;
}

/* A percentage with its sign ("+4.1%"). */
static void put_pct(strbuf *sb, double v) { strbuf_printf(sb, "%+.1f%%", 100 * v); }

/* The model of team `k` (0 A, 1 B) of an interleaved variant's config
 * ("model=interleave:A+B,..."), or "A"/"B" when the config does not say. */
static void team_name(const char *config, int k, char *out, size_t cap)
{
	const char *p = strstr(config, "interleave:");
	snprintf(out, cap, "%s", k ? "B" : "A");
	if (p == NULL)
		return;
	p += strlen("interleave:");
	if (k) {
		p = strchr(p, '+');
		if (p == NULL)
			return;
		p++;
	}
	size_t n = strcspn(p, k ? "," : "+,");
	if (n > 0 && n < cap)
		snprintf(out, cap, "%.*s", (int)n, p);
}

static void verdict(analysis *a)
{
	strbuf *sb = &a->verdict;
	size_t V = a->e.nvariants;
	double level = 100 * (1 - a->o.alpha);
	const char *corr = a->o.correction ? "Benjamini-Hochberg" : "Holm";
	if (a->nrow == 0) {
		strbuf_puts(sb, "No listener has seen this experiment yet.");
		return;
	}
	int harmed = 0;
	for (size_t t = 1; t < V; t++) {
		const an_cmp *c = find_cmp(a, (int)t, a->primary);
		const char *name = a->e.variant[t].name, *words = METRIC_WORDS[a->primary];
		if (t > 1)
			strbuf_puts(sb, "; ");
		if (c == NULL || !c->ok) {
			strbuf_printf(sb, "%s: not enough listeners yet to compare %s", name, words);
			continue;
		}
		int rel = isfinite(c->c.lift) && isfinite(c->c.lift_lo) && isfinite(c->c.lift_hi);
		double est = rel ? c->c.lift : c->c.diff, lo = rel ? c->c.lift_lo : c->c.diff_lo,
		       hi = rel ? c->c.lift_hi : c->c.diff_hi;
		if (c->significant)
			strbuf_printf(sb, "%s %s %s by ", name, est > 0 ? "raises" : "lowers", words);
		else
			strbuf_printf(sb, "%s shows no significant change in %s (", name, words);
		if (rel)
			strbuf_printf(sb, "%s%.1f%%", !c->significant && est >= 0 ? "+" : "",
			              100 * (c->significant ? fabs(est) : est));
		else
			strbuf_printf(sb, "%+.4g", est);
		strbuf_printf(sb, "%s%g%% CI ", c->significant ? " (" : ", ", level);
		if (rel) {
			put_pct(sb, lo);
			strbuf_puts(sb, " to ");
			put_pct(sb, hi);
		} else {
			strbuf_printf(sb, "%+.4g to %+.4g", lo, hi);
		}
		strbuf_printf(sb, ")%s%s", c->significant ? ", significant after " : "", c->significant ? corr : "");
		int harms = 0;
		for (int m = 0; m < AN__COUNT; m++) {
			const an_cmp *g = find_cmp(a, (int)t, m);
			if (a->guard[m] && g && g->harmful) {
				strbuf_printf(sb, "%s%s", harms ? " and " : "; but it harms ", METRIC_WORDS[m]);
				harms = 1;
			}
		}
		harmed |= harms;
	}
	if (V > 1 && a->e.nguardrails > 0 && !harmed)
		strbuf_puts(sb, "; no guardrail harmed");
	if (a->iv >= 0) {
		char team_a[EXP_CONFIG_MAX + 1], team_b[EXP_CONFIG_MAX + 1];
		team_name(a->e.variant[a->iv].config, 0, team_a, sizeof team_a);
		team_name(a->e.variant[a->iv].config, 1, team_b, sizeof team_b);
		const char *lead = V > 1 ? "; interleaved" : "Interleaved";
		/* The credit test decides (analysis.h says why); the sign test's
		 * share follows for reading. */
		if (a->credit_a + a->credit_b == 0) {
			strbuf_printf(sb, "%s listener has played a track yet",
			              V > 1 ? "; no interleaved" : "No interleaved");
			lead = NULL;
		} else if (isfinite(a->credit_p)) {
			if (a->credit_p < a->o.alpha)
				strbuf_printf(sb, "%s listeners prefer team %s (%s) by the credit test", lead,
				              a->credit_mean > 0 ? "B" : "A", a->credit_mean > 0 ? team_b : team_a);
			else
				strbuf_printf(sb, "%s listeners show no significant preference by the credit test",
				              lead);
			strbuf_printf(
				sb,
				" (the verdict's test: B - A = %+.3g credited plays per listener, %g%% CI %+.3g to "
				"%+.3g, p = %.2g; B's share of credited plays %.1f%%)",
				a->credit_mean, level, a->credit_lo, a->credit_hi, a->credit_p,
				100 * a->credit_share_b);
			lead = "; by the sign test";
		}
		if (lead != NULL && isfinite(a->share_b))
			strbuf_printf(sb,
			              "%s listeners prefer team B (%s) in %.1f%% of decided cases (%g%% CI %.1f%% to "
			              "%.1f%%, p = %.2g)",
			              lead, team_b, 100 * a->share_b, level, 100 * a->share_lo, 100 * a->share_hi,
			              a->share_p);
		else if (lead != NULL)
			strbuf_printf(sb, "%s, no listener preferred one team", lead);
	}
	if (a->srm_ok) {
		if (a->srm_p < STATS_SRM_ALPHA)
			strbuf_printf(sb,
			              "; sample-ratio mismatch (p = %.2g): listeners are not split as the weights say, "
			              "so these "
			              "results cannot be trusted",
			              a->srm_p);
		else
			strbuf_puts(sb, "; no sample-ratio mismatch");
	}
	strbuf_putc(sb, '.');
}

int analysis_finish(analysis *a, seg_error *err)
{
	if (a->finished)
		return 0;
	int rc = a->err ? a->err : user_end(a);
	if (rc == SEG_EINVAL)
		return seg_error_set(err, rc,
		                     "the events are not in the scan's order: a user's events must come together, in "
		                     "the order they were stored");
	if (rc)
		return seg_error_set(err, rc, "out of memory");
	a->finished = 1;
	size_t V = a->e.nvariants;
	for (size_t i = 0; i < a->nrow; i++) {
		const an_row *r = &a->row[i];
		int v = r->variant;
		a->users[v] += 1;
		a->impressions[v] += r->impressions;
		a->ntracks_v[v] += r->den[AN_PLAY_RATE];
		for (int m = 0; m < AN__COUNT; m++)
			stats_moments_add(&a->mom[v][m], r->num[m], r->den[m]);
		for (int m = 0; m < NCOV; m++) {
			a->pre_num[v][m] += r->pre_num[m];
			a->pre_den[v][m] += r->pre_den[m];
		}
	}
	for (size_t v = 0; v < V; v++)
		for (int m = 0; m < AN__COUNT; m++)
			a->est_ok[v][m] = stats_ratio(&a->mom[v][m], &a->est[v][m], NULL) == 0;
	rc = compare_all(a);
	if (rc == 0) {
		srm(a);
		rc = sequential(a);
	}
	if (rc == 0) {
		interleaving(a);
		verdict(a);
		rc = a->verdict.oom ? SEG_ENOMEM : 0;
	}
	return rc ? seg_error_set(err, rc, "out of memory") : 0;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

/* A JSON number; NaN and infinities are null. */
static void jnum(strbuf *sb, double v)
{
	if (isfinite(v))
		strbuf_printf(sb, "%.17g", v);
	else
		strbuf_puts(sb, "null");
}

static void jkey(strbuf *sb, const char *k, double v)
{
	strbuf_printf(sb, "\"%s\":", k);
	jnum(sb, v);
}

static const char *jbool(int b) { return b ? "true" : "false"; }

/* The label of a sequential period: "YYYY-MM-DD" or "YYYY-MM-DDTHH:00Z". */
static void period_label(const analysis *a, int64_t period, char *buf, size_t cap)
{
	time_t t = (time_t)(period * (a->by_hour ? 3600 : 86400));
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, cap, "?");
		return;
	}
	strftime(buf, cap, a->by_hour ? "%Y-%m-%dT%H:00Z" : "%Y-%m-%d", &tm);
}

void analysis_json(const analysis *a, strbuf *sb)
{
	size_t V = a->e.nvariants;
	strbuf_puts(sb, "{\"experiment\":");
	size_t before = sb->len;
	exp_json(&a->e, sb);
	if (sb->len == before)
		strbuf_puts(sb, "null");
	strbuf_puts(sb, ",");
	jkey(sb, "alpha", a->o.alpha);
	strbuf_printf(sb, ",\"correction\":\"%s\",\"cuped\":%s,", a->o.correction ? "bh" : "holm", jbool(a->o.cuped));
	jkey(sb, "users", (double)a->nrow);
	strbuf_printf(sb, ",\"assignment\":{\"mismatches\":%zu,\"mixed\":%zu,\"unknown_variant\":%zu}", a->mismatches,
	              a->mixed_users, a->unknown_variant);

	strbuf_puts(sb, ",\"srm\":");
	if (a->srm_ok) {
		strbuf_puts(sb, "{");
		jkey(sb, "chi2", a->srm_chi2);
		strbuf_puts(sb, ",");
		jkey(sb, "p", a->srm_p);
		strbuf_printf(sb, ",\"alarm\":%s,\"observed\":[", jbool(a->srm_p < STATS_SRM_ALPHA));
		for (size_t v = 0; v < V; v++) {
			strbuf_puts(sb, v ? "," : "");
			jnum(sb, a->users[v]);
		}
		strbuf_puts(sb, "],\"expected\":[");
		for (size_t v = 0; v < V; v++) {
			strbuf_puts(sb, v ? "," : "");
			jnum(sb, a->srm_expected[v]);
		}
		strbuf_puts(sb, "]}");
	} else {
		strbuf_puts(sb, "null");
	}

	strbuf_puts(sb, ",\"variants\":[");
	for (size_t v = 0; v < V; v++) {
		strbuf_puts(sb, v ? ",{\"name\":" : "{\"name\":");
		strbuf_json(sb, a->e.variant[v].name);
		strbuf_puts(sb, ",\"config\":");
		strbuf_json(sb, a->e.variant[v].config);
		strbuf_puts(sb, ",");
		jkey(sb, "users", a->users[v]);
		strbuf_puts(sb, ",");
		jkey(sb, "impressions", a->impressions[v]);
		strbuf_puts(sb, ",");
		jkey(sb, "impressed_tracks", a->ntracks_v[v]);
		strbuf_puts(sb, ",\"metrics\":{");
		for (int m = 0; m < AN__COUNT; m++) {
			const stats_estimate *e = &a->est[v][m];
			strbuf_printf(sb, "%s\"%s\":{", m ? "," : "", METRIC_NAMES[m]);
			jkey(sb, "value", a->est_ok[v][m] ? e->value : NAN);
			strbuf_puts(sb, ",");
			jkey(sb, "se", a->est_ok[v][m] ? sqrt(e->var) : NAN);
			strbuf_puts(sb, ",");
			jkey(sb, "num", a->mom[v][m].sx);
			strbuf_puts(sb, ",");
			jkey(sb, "den", a->mom[v][m].sy);
			if (m < NCOV) {
				strbuf_puts(sb, ",");
				jkey(sb, "pre_num", a->pre_num[v][m]);
				strbuf_puts(sb, ",");
				jkey(sb, "pre_den", a->pre_den[v][m]);
			}
			strbuf_puts(sb, "}");
		}
		strbuf_puts(sb, "}}");
	}

	strbuf_puts(sb, "],\"comparisons\":[");
	for (size_t i = 0; i < a->ncmp; i++) {
		const an_cmp *c = &a->cmp[i];
		int ok = c->ok;
		strbuf_puts(sb, i ? ",{\"variant\":" : "{\"variant\":");
		strbuf_json(sb, a->e.variant[c->variant].name);
		strbuf_printf(sb, ",\"metric\":\"%s\",\"primary\":%s,\"guardrail\":%s,", METRIC_NAMES[c->metric],
		              jbool(c->metric == a->primary), jbool(a->guard[c->metric]));
		const char *k[] = {"control", "treatment", "diff",    "diff_lo", "diff_hi",
		                   "lift",    "lift_lo",   "lift_hi", "p",       "df"};
		double val[] = {c->control, c->treatment, c->c.diff,    c->c.diff_lo, c->c.diff_hi,
		                c->c.lift,  c->c.lift_lo, c->c.lift_hi, c->c.p,       c->c.df};
		for (size_t j = 0; j < sizeof val / sizeof val[0]; j++) {
			jkey(sb, k[j], ok || j < 2 ? val[j] : NAN);
			strbuf_puts(sb, ",");
		}
		jkey(sb, "p_adjusted", c->p_adj);
		strbuf_printf(sb, ",\"cuped\":%s,", jbool(c->cuped));
		jkey(sb, "theta", c->theta);
		strbuf_puts(sb, ",");
		jkey(sb, "variance_reduction", c->vr);
		strbuf_printf(sb, ",\"significant\":%s,\"harmful\":%s}", jbool(c->significant), jbool(c->harmful));
	}

	strbuf_printf(sb, "],\"period\":\"%s\",", a->by_hour ? "hour" : "day");
	jkey(sb, "tau2", a->tau2);
	strbuf_puts(sb, ",\"sequential\":[");
	for (size_t i = 0; i < a->npt; i++) {
		const an_point *p = &a->pt[i];
		char label[32];
		period_label(a, p->period, label, sizeof label);
		strbuf_printf(sb, "%s{\"day\":\"%s\",\"period\":\"%s\",\"end_ms\":%lld,\"users\":[", i ? "," : "",
		              label, a->by_hour ? "hour" : "day", (long long)p->end_ms);
		for (size_t v = 0; v < V; v++) {
			strbuf_puts(sb, v ? "," : "");
			jnum(sb, p->users[v]);
		}
		strbuf_printf(sb, "],\"metric\":\"%s\",\"variant\":", METRIC_NAMES[a->primary]);
		strbuf_json(sb, a->e.variant[p->variant].name);
		strbuf_puts(sb, ",");
		jkey(sb, "diff", p->diff);
		strbuf_puts(sb, ",");
		jkey(sb, "lo", p->lo);
		strbuf_puts(sb, ",");
		jkey(sb, "hi", p->hi);
		strbuf_puts(sb, ",");
		jkey(sb, "p", p->p);
		strbuf_puts(sb, "}");
	}
	strbuf_puts(sb, "],\"interleaving\":");
	if (a->iv >= 0) {
		strbuf_puts(sb, "{\"variant\":");
		strbuf_json(sb, a->e.variant[a->iv].name);
		const char *k[] = {"users", "wins_a", "wins_b", "ties", "share_b", "lo", "hi", "p"};
		double val[] = {a->iv_users, a->wins_a,   a->wins_b,   a->ties,
		                a->share_b,  a->share_lo, a->share_hi, a->share_p};
		for (size_t j = 0; j < sizeof val / sizeof val[0]; j++) {
			strbuf_puts(sb, ",");
			jkey(sb, k[j], val[j]);
		}
		strbuf_puts(sb, ",\"method\":\"wilson\",\"primary\":\"credit\",\"credit\":{");
		const char *ck[] = {"users", "plays_a", "plays_b", "share_b", "mean_diff", "lo", "hi", "p", "df"};
		double cv[] = {a->iv_users,  a->credit_a,  a->credit_b, a->credit_share_b, a->credit_mean,
		               a->credit_lo, a->credit_hi, a->credit_p, a->credit_df};
		for (size_t j = 0; j < sizeof cv / sizeof cv[0]; j++) {
			if (j)
				strbuf_puts(sb, ",");
			jkey(sb, ck[j], cv[j]);
		}
		strbuf_puts(sb, ",\"method\":\"t\"}}");
	} else {
		strbuf_puts(sb, "null");
	}
	strbuf_puts(sb, ",\"verdict\":");
	strbuf_json(sb, strbuf_cstr(&a->verdict));
	strbuf_puts(sb, "}");
}

void analysis_csv(const analysis *a, strbuf *sb)
{
	strbuf_puts(sb, "user_id,variant,assigned,impressions");
	for (int m = 0; m < AN__COUNT; m++) {
		strbuf_printf(sb, ",%s_num,%s_den", METRIC_NAMES[m], METRIC_NAMES[m]);
		if (m < NCOV)
			strbuf_printf(sb, ",%s_pre_num,%s_pre_den", METRIC_NAMES[m], METRIC_NAMES[m]);
	}
	strbuf_puts(sb, ",team_a_plays,team_b_plays\n");
	for (size_t i = 0; i < a->nrow; i++) {
		const an_row *r = &a->row[i];
		strbuf_printf(sb, "%s,%s,%s,%u", a->ids + r->uid, a->e.variant[r->variant].name,
		              a->e.variant[r->assigned < a->e.nvariants ? r->assigned : 0].name, r->impressions);
		for (int m = 0; m < AN__COUNT; m++) {
			strbuf_printf(sb, ",%u,%u", r->num[m], r->den[m]);
			if (m < NCOV)
				strbuf_printf(sb, ",%u,%u", r->pre_num[m], r->pre_den[m]);
		}
		strbuf_printf(sb, ",%u,%u\n", r->team[0], r->team[1]);
	}
}

/* A number for the terminal: "n/a" when not finite. */
static void tnum(char *buf, size_t cap, const char *fmt, double v)
{
	if (isfinite(v))
		snprintf(buf, cap, fmt, v);
	else
		snprintf(buf, cap, "n/a");
}

void analysis_text(const analysis *a, strbuf *sb)
{
	size_t V = a->e.nvariants;
	char b1[48], b2[48], b3[48], b4[48], b5[48];
	int level = (int)lround(100 * (1 - a->o.alpha));
	strbuf_printf(sb, "Experiment %s (%s): primary metric %s", a->e.name,
	              exp_state_name(a->e.state) ? exp_state_name(a->e.state) : "?", METRIC_NAMES[a->primary]);
	for (size_t g = 0, k = 0; g < AN__COUNT; g++)
		if (a->guard[g])
			strbuf_printf(sb, "%s%s", k++ ? ", " : "; guardrails ", METRIC_NAMES[g]);
	strbuf_printf(sb, "\n%zu listeners exposed", a->nrow);
	if (a->mismatches || a->mixed_users || a->unknown_variant)
		strbuf_printf(
			sb,
			" (%zu served another variant than their assignment, %zu saw several variants, %zu impressions "
			"named no variant of the experiment)",
			a->mismatches, a->mixed_users, a->unknown_variant);
	strbuf_puts(sb, "\n");
	if (a->srm_ok && a->srm_p < STATS_SRM_ALPHA)
		strbuf_printf(
			sb,
			"ALARM: sample-ratio mismatch (chi-square %.2f, p = %.2g). The listeners are not split as the "
			"weights say: assignment or logging is broken, and these results cannot be trusted.\n",
			a->srm_chi2, a->srm_p);
	else if (a->srm_ok)
		strbuf_printf(sb, "Sample ratio: as the weights say (chi-square %.2f, p = %.2g).\n", a->srm_chi2,
		              a->srm_p);

	/* Per variant. */
	int w = 8;
	for (size_t v = 0; v < V; v++)
		if ((int)strlen(a->e.variant[v].name) > w)
			w = (int)strlen(a->e.variant[v].name);
	strbuf_printf(sb, "\n%-*s %9s %11s", w, "variant", "users", "impressions");
	for (int m = 0; m < AN__COUNT; m++)
		strbuf_printf(sb, " %*s", m == AN_FIRST_PLAY_POSITION ? 19 : 14, METRIC_NAMES[m]);
	strbuf_puts(sb, "\n");
	for (size_t v = 0; v < V; v++) {
		strbuf_printf(sb, "%-*s %9.0f %11.0f", w, a->e.variant[v].name, a->users[v], a->impressions[v]);
		for (int m = 0; m < AN__COUNT; m++) {
			tnum(b1, sizeof b1, m == AN_FIRST_PLAY_POSITION ? "%.2f" : "%.4f",
			     a->est_ok[v][m] ? a->est[v][m].value : NAN);
			strbuf_printf(sb, " %*s", m == AN_FIRST_PLAY_POSITION ? 19 : 14, b1);
		}
		strbuf_puts(sb, "\n");
	}

	/* Comparisons. */
	if (a->ncmp) {
		strbuf_printf(sb, "\n%-*s %-20s %10s %23s %8s %19s %9s %9s\n", w, "treatment", "metric", "diff",
		              "interval", "lift", "interval", "p", "p adj");
		for (size_t i = 0; i < a->ncmp; i++) {
			const an_cmp *c = &a->cmp[i];
			char name[40];
			snprintf(name, sizeof name, "%s%s", METRIC_NAMES[c->metric],
			         c->metric == a->primary ? " *"
			         : a->guard[c->metric]   ? " (g)"
			                                 : "");
			int ok = c->ok;
			tnum(b1, sizeof b1, "%+.4f", ok ? c->c.diff : NAN);
			char ci[112], lci[112];
			tnum(b2, sizeof b2, "%+.4f", ok ? c->c.diff_lo : NAN);
			tnum(b3, sizeof b3, "%+.4f", ok ? c->c.diff_hi : NAN);
			snprintf(ci, sizeof ci, "[%s, %s]", b2, b3);
			tnum(b2, sizeof b2, "%+.1f%%", ok ? 100 * c->c.lift : NAN);
			tnum(b3, sizeof b3, "%+.1f%%", ok ? 100 * c->c.lift_lo : NAN);
			tnum(b4, sizeof b4, "%+.1f%%", ok ? 100 * c->c.lift_hi : NAN);
			snprintf(lci, sizeof lci, "[%s, %s]", b3, b4);
			tnum(b3, sizeof b3, "%.2g", ok ? c->c.p : NAN);
			tnum(b5, sizeof b5, "%.2g", c->p_adj);
			strbuf_printf(sb, "%-*s %-20s %10s %23s %8s %19s %9s %9s  %s%s%s\n", w,
			              a->e.variant[c->variant].name, name, b1, ci, b2, lci, b3, b5,
			              c->significant ? "significant" : "", c->harmful ? " HARMFUL" : "",
			              c->cuped ? " (CUPED)" : "");
		}
		strbuf_printf(sb, "%d%% intervals; p adj: %s across %zu tests; * primary, (g) guardrail.\n", level,
		              a->o.correction ? "Benjamini-Hochberg" : "Holm", a->ncmp);
	}

	/* The sequential view. */
	if (a->npt) {
		strbuf_printf(sb, "\nAlways-valid view of %s by %s (mixture SPRT, tau2 = %.3g):\n",
		              METRIC_NAMES[a->primary], a->by_hour ? "hour" : "day", a->tau2);
		strbuf_printf(sb, "%-17s %-*s %10s %10s %23s %9s\n", a->by_hour ? "hour" : "day", w, "treatment",
		              "users", "diff", "always-valid interval", "p");
		for (size_t i = 0; i < a->npt; i++) {
			const an_point *p = &a->pt[i];
			char label[32], ci[112];
			period_label(a, p->period, label, sizeof label);
			double users = 0;
			for (size_t v = 0; v < V; v++)
				users += p->users[v];
			tnum(b1, sizeof b1, "%+.4f", p->diff);
			tnum(b2, sizeof b2, "%+.4f", p->lo);
			tnum(b3, sizeof b3, "%+.4f", p->hi);
			snprintf(ci, sizeof ci, "[%s, %s]", b2, b3);
			tnum(b4, sizeof b4, "%.2g", p->p);
			strbuf_printf(sb, "%-17s %-*s %10.0f %10s %23s %9s\n", label, w, a->e.variant[p->variant].name,
			              users, b1, ci, b4);
		}
	}
	if (a->iv >= 0)
		strbuf_printf(sb,
		              "\nInterleaving (%s): %.0f listeners, team A wins %.0f, team B wins %.0f, ties %.0f; "
		              "share of B "
		              "%.1f%% (%d%% Wilson interval %.1f%% to %.1f%%), p = %.2g\n",
		              a->e.variant[a->iv].name, a->iv_users, a->wins_a, a->wins_b, a->ties, 100 * a->share_b,
		              level, 100 * a->share_lo, 100 * a->share_hi, a->share_p);
	if (a->iv >= 0)
		strbuf_printf(sb,
		              "Credit test (primary): credited plays A %.0f, B %.0f (B's share %.1f%%); B - A per "
		              "listener %+.4f (%d%% t interval %+.4f to %+.4f, df %.0f), p = %.2g\n",
		              a->credit_a, a->credit_b, 100 * a->credit_share_b, a->credit_mean, level, a->credit_lo,
		              a->credit_hi, a->credit_df, a->credit_p);
	strbuf_printf(sb, "\nVerdict: %s\n", strbuf_cstr(&a->verdict));
}

/* ------------------------------------------------------------------------ */
/* Charts                                                                    */

void analysis_svg_lift(const analysis *a, strbuf *sb)
{
	size_t n = 0;
	svg_interval *rows = calloc(a->ncmp + 1, sizeof(svg_interval));
	char(*labels)[160] = calloc(a->ncmp + 1, sizeof(*labels));
	if (rows && labels) {
		for (size_t t = 1; t < a->e.nvariants; t++)
			for (int pass = 0; pass < 3; pass++) /* the primary metric, the guardrails, the others */
				for (int m = 0; m < AN__COUNT; m++) {
					int kind = m == a->primary ? 0 : a->guard[m] ? 1 : 2;
					const an_cmp *c = find_cmp(a, (int)t, m);
					if (kind != pass || c == NULL)
						continue;
					snprintf(labels[n], sizeof labels[n], "%s%s%s%s",
					         a->e.nvariants > 2 ? a->e.variant[t].name : "",
					         a->e.nvariants > 2 ? ": " : "", METRIC_NAMES[m],
					         kind == 0   ? " (primary)"
					         : kind == 1 ? " (guardrail)"
					                     : "");
					rows[n] = (svg_interval){labels[n], c->ok ? 100 * c->c.lift : NAN,
					                         c->ok ? 100 * c->c.lift_lo : NAN,
					                         c->ok ? 100 * c->c.lift_hi : NAN,
					                         kind == 0   ? 0
					                         : kind == 1 ? 3
					                                     : 7};
					n++;
				}
	}
	char title[160];
	snprintf(title, sizeof title, "Relative lift against %s, %g%% intervals", a->e.variant[0].name,
	         100 * (1 - a->o.alpha));
	svg_opts o = {.title = title, .x_label = "lift (%)"};
	svg_intervals(sb, &o, rows, n, 0);
	free(rows);
	free(labels);
}

void analysis_svg_sequential(const analysis *a, strbuf *sb)
{
	size_t T = a->e.nvariants > 1 ? a->e.nvariants - 1 : 0, P = T ? a->npt / T : 0;
	char(*labels)[32] = calloc(P + 1, sizeof(*labels));
	const char **cats = calloc(P + 1, sizeof(char *));
	double *val = calloc(3 * T * P + 1, sizeof(double));
	svg_series *ser = calloc(3 * T + 1, sizeof(svg_series));
	char(*names)[96] = calloc(3 * T + 1, sizeof(*names));
	size_t ns = 0;
	if (labels && cats && val && ser && names) {
		for (size_t i = 0; i < P; i++) {
			period_label(a, a->pt[i * T].period, labels[i], sizeof labels[i]);
			cats[i] = labels[i];
		}
		static const char *const what[3] = {"difference", "lower bound", "upper bound"};
		for (size_t t = 0; t < T; t++)
			for (int k = 0; k < 3; k++, ns++) {
				double *v = &val[ns * P];
				for (size_t i = 0; i < P; i++) {
					const an_point *p = &a->pt[i * T + t];
					v[i] = k == 0 ? p->diff : k == 1 ? p->lo : p->hi;
				}
				snprintf(names[ns], sizeof names[ns], "%s%s%s", T > 1 ? a->e.variant[t + 1].name : "",
				         T > 1 ? ": " : "", what[k]);
				ser[ns] = (svg_series){names[ns], v};
			}
	}
	char title[256], ylab[96];
	snprintf(title, sizeof title, "%s, %s minus %s, always-valid %g%% interval by %s", METRIC_NAMES[a->primary],
	         T == 1 ? a->e.variant[1].name : "treatment", a->e.variant[0].name, 100 * (1 - a->o.alpha),
	         a->by_hour ? "hour" : "day");
	snprintf(ylab, sizeof ylab, "difference in %s", METRIC_NAMES[a->primary]);
	svg_opts o = {.title = title, .y_label = ylab, .x_label = a->by_hour ? "hour (UTC)" : "day (UTC)"};
	svg_lines(sb, &o, cats, ns ? P : 0, ser, ns);
	free(labels);
	free(cats);
	free(val);
	free(ser);
	free(names);
}
