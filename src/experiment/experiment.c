/* experiment.c: an experiment's definition, its checks and JSON form, the
 * assignment of users to variants by a hash of (salt, user), and team-draft
 * interleaving (see experiment.h). It stores nothing and reads no events. */
#include "experiment/experiment.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack for long user ids */
#include <jansson.h>
#include <xxhash.h>

#include "core/rng.h"
#include "engine/recommender.h"

/* ---- names ---- */

static const char *const state_names[] = {"draft", "running", "stopped"};

const char *exp_state_name(int state)
{
	return state >= 0 && state < (int)(sizeof state_names / sizeof *state_names) ? state_names[state] : NULL;
}

int exp_state_find(const char *name)
{
	for (int s = 0; name && s < (int)(sizeof state_names / sizeof *state_names); s++)
		if (strcmp(name, state_names[s]) == 0)
			return s;
	return -1;
}

/* The same list as analysis.h's enum an_metric, spelled here because the
 * analysis depends on this module and not the other way round. */
static const char *const metric_names[] = {"play_rate", "like_rate",      "skip_rate",
                                           "save_rate", "discovery_rate", "first_play_position"};

int exp_metric_valid(const char *name)
{
	for (size_t m = 0; name && m < sizeof metric_names / sizeof *metric_names; m++)
		if (strcmp(name, metric_names[m]) == 0)
			return 1;
	return 0;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '-';
}

/* Experiment and variant names: 1..EXP_NAME_MAX of [A-Za-z0-9_.-],
 * starting with a letter or digit (so a name is never "." or "-x", which
 * read badly in a URL or on a command line). */
static int name_valid(const char *s)
{
	size_t n = 0;
	if (s == NULL || !name_char(s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '-')
		return 0;
	for (; s[n]; n++)
		if (!name_char(s[n]) || n >= EXP_NAME_MAX)
			return 0;
	return 1;
}

static int salt_valid(const char *s)
{
	size_t n = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	for (; s[n]; n++)
		if ((!name_char(s[n]) && s[n] != ':') || n >= EXP_NAME_MAX)
			return 0;
	return 1;
}

void exp_salt_new(char *salt)
{
	uint64_t r = rng_entropy64();
	snprintf(salt, EXP_NAME_MAX + 1, "%016llx", (unsigned long long)r);
}

int exp_variant_find(const experiment *e, const char *name)
{
	for (size_t i = 0; name && i < e->nvariants; i++)
		if (strcmp(e->variant[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- configuration ---- */

/* A number in [lo, hi] and nothing else. */
static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* "A+B": two registered recommenders into ids[2]. */
static int parse_interleave(const char *spec, int ids[2], seg_error *err)
{
	const char *plus = strchr(spec, '+');
	char a[64], b[64];
	if (plus == NULL || (size_t)(plus - spec) >= sizeof a || strlen(plus + 1) >= sizeof b)
		return seg_error_set(err, SEG_EINVAL,
		                     "model=interleave:%s must name two models as interleave:A+B (e.g. "
		                     "interleave:hybrid+popular)",
		                     spec);
	memcpy(a, spec, (size_t)(plus - spec));
	a[plus - spec] = '\0';
	strcpy(b, plus + 1);
	const char *team[2] = {a, b};
	for (int t = 0; t < 2; t++) {
		ids[t] = recommender_find(team[t]);
		if (ids[t] < 0) {
			char names[512];
			recommender_names_join(", ", names, sizeof names);
			return seg_error_set(err, SEG_EINVAL, "model=interleave: unknown model '%s' (%s)", team[t],
			                     names);
		}
	}
	return 0;
}

/* version=: "champion", "challenger" or a registry version 1..INT_MAX
 * in plain digits; EXP_VERSION_UNSET for anything else. */
static int parse_version(const char *s)
{
	if (strcmp(s, "champion") == 0)
		return EXP_VERSION_CHAMPION;
	if (strcmp(s, "challenger") == 0)
		return EXP_VERSION_CHALLENGER;
	if (s[0] < '1' || s[0] > '9' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return EXP_VERSION_UNSET;
	long long v = strtoll(s, NULL, 10);
	return v <= INT_MAX ? (int)v : EXP_VERSION_UNSET;
}

enum {
	K_MODEL,
	K_DIVERSITY,
	K_NOVELTY,
	K_QUALITY,
	K_MAX_PER_ARTIST,
	K_RERANK,
	K_CONTENT,
	K_ALS,
	K_COOC,
	K_EASE,
	K_RP3,
	K_VERSION
};
static const char *const config_keys[] = {"model",          "diversity", "novelty", "quality",
                                          "max_per_artist", "rerank",    "content", "als",
                                          "cooc",           "ease",      "rp3",     "version"};
#define NKEYS (sizeof config_keys / sizeof *config_keys)

int exp_config_parse(const char *config, exp_config *out, seg_error *err)
{
	exp_config c = {.model = -1, .interleave = {-1, -1}};
	c.hybrid = (hybrid_weights){NAN, NAN, NAN, NAN, NAN};
	*out = c; /* on error too: a config that changes nothing */
	char buf[EXP_CONFIG_MAX + 1];
	unsigned seen = 0;
	if (config == NULL)
		config = "";
	if (strlen(config) > EXP_CONFIG_MAX)
		return seg_error_set(err, SEG_EINVAL, "a variant's configuration is at most %d bytes", EXP_CONFIG_MAX);
	strcpy(buf, config);
	/* Split by hand rather than with strtok, which would skip empty pairs
	 * ("model=x,,diversity=1") that are better refused as typos. */
	for (char *tok = buf; *buf != '\0';) {
		char *comma = strchr(tok, ',');
		if (comma)
			*comma = '\0';
		char *eq = strchr(tok, '=');
		if (eq == NULL || eq == tok)
			return seg_error_set(err, SEG_EINVAL, "configuration '%s': '%s' is not KEY=VALUE%s", config,
			                     tok,
			                     comma == NULL && strchr(config, ':') ? " (interleave two models as "
			                                                            "model=interleave:A+B)"
			                                                          : "");
		*eq = '\0';
		const char *key = tok, *val = eq + 1;
		size_t k = 0;
		while (k < NKEYS && strcmp(key, config_keys[k]) != 0)
			k++;
		if (k == NKEYS)
			return seg_error_set(err, SEG_EINVAL,
			                     "configuration: unknown key '%s' (model, diversity, novelty, quality, "
			                     "max_per_artist, rerank, content, als, cooc, ease, rp3, version)",
			                     key);
		if (seen & (1u << k))
			return seg_error_set(err, SEG_EINVAL, "configuration: '%s' is given twice", key);
		seen |= 1u << k;
		double v = 0;
		switch (k) {
		case K_MODEL:
			if (strncmp(val, "interleave:", 11) == 0) {
				int rc = parse_interleave(val + 11, c.interleave, err);
				if (rc < 0)
					return rc;
			} else if ((c.model = recommender_find(val)) < 0) {
				char names[512];
				recommender_names_join(", ", names, sizeof names);
				return seg_error_set(err, SEG_EINVAL,
				                     "configuration: unknown model '%s' (%s, or interleave:A+B)", val,
				                     names);
			}
			break;
		case K_DIVERSITY:
			if (parse_number(val, 0, 1, &v) < 0)
				return seg_error_set(err, SEG_EINVAL, "configuration: diversity '%s' must be 0..1",
				                     val);
			c.has_diversity = 1, c.diversity = (float)v;
			break;
		case K_NOVELTY:
		case K_QUALITY:
			if (parse_number(val, 0, 10, &v) < 0)
				return seg_error_set(err, SEG_EINVAL, "configuration: %s '%s' must be 0..10", key, val);
			if (k == K_NOVELTY)
				c.has_novelty = 1, c.novelty = (float)v;
			else
				c.has_quality = 1, c.quality = (float)v;
			break;
		case K_MAX_PER_ARTIST:
			if (parse_number(val, 0, 100, &v) < 0 || v != (int)v)
				return seg_error_set(err, SEG_EINVAL,
				                     "configuration: max_per_artist '%s' must be a whole number 0..100 "
				                     "(0: no cap)",
				                     val);
			c.has_max_per_artist = 1, c.max_per_artist = (int)v;
			break;
		case K_VERSION:
			if ((c.version = parse_version(val)) == EXP_VERSION_UNSET)
				return seg_error_set(err, SEG_EINVAL,
				                     "configuration: version '%s' must be champion, challenger or a "
				                     "registry version number (1, 2, ...)",
				                     val);
			break;
		case K_RERANK:
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
				return seg_error_set(err, SEG_EINVAL, "configuration: rerank '%s' must be 0 or 1", val);
			c.has_rerank = 1, c.rerank = val[0] == '1';
			break;
		default: /* a hybrid weight */
			if (parse_number(val, 0, 1e6, &v) < 0)
				return seg_error_set(err, SEG_EINVAL,
				                     "configuration: the hybrid weight %s '%s' must be a number 0..1e6",
				                     key, val);
			c.has_hybrid = 1;
			switch (k) {
			case K_CONTENT: c.hybrid.content = (float)v; break;
			case K_ALS: c.hybrid.als = (float)v; break;
			case K_COOC: c.hybrid.cooc = (float)v; break;
			case K_EASE: c.hybrid.ease = (float)v; break;
			default: c.hybrid.rp3 = (float)v; break;
			}
		}
		if (comma == NULL)
			break;
		tok = comma + 1;
	}
	/* All five weights named and all zero can never be served; with some
	 * left to the artifact it depends on the model, which the engine
	 * checks when it serves. */
	const hybrid_weights *h = &c.hybrid;
	if (!isnan(h->content) && !isnan(h->als) && !isnan(h->cooc) && !isnan(h->ease) && !isnan(h->rp3) &&
	    !hybrid_weights_valid(h))
		return seg_error_set(err, SEG_EINVAL, "configuration: the hybrid weights must not all be 0");
	*out = c;
	return 0;
}

int exp_config_check(const char *config, seg_error *err)
{
	exp_config c;
	return exp_config_parse(config, &c, err);
}

void exp_config_apply(const exp_config *c, rec_request *r, hybrid_weights *hw, const hybrid_weights *base)
{
	if (c->model >= 0 && c->interleave[0] < 0)
		r->model = c->model;
	if (c->has_diversity)
		r->diversity = c->diversity;
	if (c->has_novelty)
		r->novelty = c->novelty;
	if (c->has_quality)
		r->quality = c->quality;
	if (c->has_max_per_artist)
		r->max_per_artist = c->max_per_artist;
	if (c->has_rerank)
		r->rerank = c->rerank;
	if (c->has_hybrid) {
		*hw = base ? *base : hybrid_weights_default;
		const hybrid_weights *w = &c->hybrid;
		if (!isnan(w->content))
			hw->content = w->content;
		if (!isnan(w->cooc))
			hw->cooc = w->cooc;
		if (!isnan(w->als))
			hw->als = w->als;
		if (!isnan(w->ease))
			hw->ease = w->ease;
		if (!isnan(w->rp3))
			hw->rp3 = w->rp3;
		r->hybrid = hw;
	}
}

int exp_variant_parse(const char *text, exp_variant *v, seg_error *err)
{
	const char *colon = text ? strchr(text, ':') : NULL;
	if (colon == NULL)
		return seg_error_set(err, SEG_EINVAL, "variant '%s' must be NAME:CONFIG (e.g. control:model=hybrid)",
		                     text ? text : "");
	size_t n = (size_t)(colon - text);
	exp_variant out = {.weight = 1};
	if (n > EXP_NAME_MAX)
		return seg_error_set(err, SEG_EINVAL, "variant name '%.*s' is longer than %d bytes", (int)n, text,
		                     EXP_NAME_MAX);
	memcpy(out.name, text, n);
	out.name[n] = '\0';
	if (!name_valid(out.name))
		return seg_error_set(err, SEG_EINVAL,
		                     "variant name '%s' must be 1..%d of [A-Za-z0-9_.-], starting with a letter or "
		                     "digit",
		                     out.name, EXP_NAME_MAX);
	if (strlen(colon + 1) > EXP_CONFIG_MAX)
		return seg_error_set(err, SEG_EINVAL, "variant %s: its configuration is longer than %d bytes", out.name,
		                     EXP_CONFIG_MAX);
	strcpy(out.config, colon + 1);
	int rc = exp_config_check(out.config, err);
	if (rc < 0) {
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err ? err->msg : "");
		return seg_error_set(err, rc, "variant %s: %s", out.name, why);
	}
	*v = out;
	return 0;
}

/* ---- the experiment as a whole ---- */

/* Where the buckets are cut: cut[i] is the end (exclusive) of variant i's
 * buckets. */
static void bucket_cuts(const experiment *e, unsigned cut[EXP_MAX_VARIANTS])
{
	uint64_t total = 0, cum = 0;
	for (size_t i = 0; i < e->nvariants; i++)
		total += e->variant[i].weight;
	for (size_t i = 0; i < e->nvariants; i++) {
		cum += e->variant[i].weight;
		cut[i] = total ? (unsigned)((uint64_t)EXP_BUCKETS * cum / total) : EXP_BUCKETS;
	}
}

int exp_check(const experiment *e, seg_error *err)
{
	if (!name_valid(e->name))
		return seg_error_set(err, SEG_EINVAL,
		                     "experiment name '%.64s' must be 1..%d of [A-Za-z0-9_.-], starting with a letter "
		                     "or digit",
		                     e->name, EXP_NAME_MAX);
	if (!salt_valid(e->salt))
		return seg_error_set(err, SEG_EINVAL, "experiment %s: the salt must be 1..%d of [A-Za-z0-9_.:-]",
		                     e->name, EXP_NAME_MAX);
	if (e->nvariants < 1 || e->nvariants > EXP_MAX_VARIANTS)
		return seg_error_set(err, SEG_EINVAL, "experiment %s: it needs 2..%d variants (has %zu)", e->name,
		                     EXP_MAX_VARIANTS, e->nvariants);
	for (size_t i = 0; i < e->nvariants; i++) {
		const exp_variant *v = &e->variant[i];
		exp_config c;
		if (!name_valid(v->name))
			return seg_error_set(err, SEG_EINVAL,
			                     "experiment %s: variant name '%.64s' must be 1..%d of [A-Za-z0-9_.-], "
			                     "starting with a letter or digit",
			                     e->name, v->name, EXP_NAME_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(e->variant[j].name, v->name) == 0)
				return seg_error_set(err, SEG_EINVAL, "experiment %s: two variants are called %s",
				                     e->name, v->name);
		if (v->weight < 1 || v->weight > EXP_BUCKETS)
			return seg_error_set(err, SEG_EINVAL, "experiment %s: variant %s's weight %u must be 1..%d",
			                     e->name, v->name, v->weight, EXP_BUCKETS);
		if (memchr(v->config, '\0', sizeof v->config) == NULL)
			return seg_error_set(err, SEG_EINVAL, "experiment %s: variant %s's configuration is too long",
			                     e->name, v->name);
		int rc = exp_config_parse(v->config, &c, err);
		if (rc < 0) {
			char why[sizeof err->msg];
			snprintf(why, sizeof why, "%s", err ? err->msg : "");
			return seg_error_set(err, rc, "experiment %s: variant %s: %s", e->name, v->name, why);
		}
		if (e->nvariants == 1 && c.interleave[0] < 0)
			return seg_error_set(err, SEG_EINVAL,
			                     "experiment %s: it needs 2..%d variants, or one whose model is "
			                     "interleave:A+B",
			                     e->name, EXP_MAX_VARIANTS);
	}
	unsigned cut[EXP_MAX_VARIANTS];
	bucket_cuts(e, cut);
	for (size_t i = 0; i < e->nvariants; i++)
		if (cut[i] == (i ? cut[i - 1] : 0))
			return seg_error_set(err, SEG_EINVAL,
			                     "experiment %s: variant %s's weight is too small a share to get any of "
			                     "the %d buckets",
			                     e->name, e->variant[i].name, EXP_BUCKETS);
	if (!exp_metric_valid(e->metric))
		return seg_error_set(err, SEG_EINVAL,
		                     "experiment %s: unknown metric '%.32s' (play_rate, like_rate, skip_rate, "
		                     "save_rate, discovery_rate, first_play_position)",
		                     e->name, e->metric);
	if (e->nguardrails > EXP_MAX_GUARDRAILS)
		return seg_error_set(err, SEG_EINVAL, "experiment %s: at most %d guardrails", e->name,
		                     EXP_MAX_GUARDRAILS);
	for (size_t g = 0; g < e->nguardrails; g++) {
		if (!exp_metric_valid(e->guardrail[g]))
			return seg_error_set(err, SEG_EINVAL,
			                     "experiment %s: unknown guardrail metric '%.32s' (play_rate, like_rate, "
			                     "skip_rate, save_rate, discovery_rate, first_play_position)",
			                     e->name, e->guardrail[g]);
		for (size_t h = 0; h < g; h++)
			if (strcmp(e->guardrail[h], e->guardrail[g]) == 0)
				return seg_error_set(err, SEG_EINVAL, "experiment %s: guardrail %s is named twice",
				                     e->name, e->guardrail[g]);
	}
	if (exp_state_name(e->state) == NULL)
		return seg_error_set(err, SEG_EINVAL, "experiment %s: unknown state %d", e->name, e->state);
	if (e->created_ms < 0 || e->started_ms < 0 || e->stopped_ms < 0)
		return seg_error_set(err, SEG_EINVAL, "experiment %s: a time is negative", e->name);
	return 0;
}

/* ---- assignment ---- */

unsigned exp_bucket(const char *salt, const char *user)
{
	size_t ns = strlen(salt), nu = strlen(user);
	char buf[256];
	uint64_t h;
	if (ns + 1 + nu <= sizeof buf) {
		memcpy(buf, salt, ns);
		buf[ns] = '\0';
		memcpy(buf + ns + 1, user, nu);
		h = XXH3_64bits(buf, ns + 1 + nu);
	} else {
		/* The streaming form gives the same hash as the one-shot over
		 * the concatenation; it only serves ids too long for buf. */
		XXH3_state_t st;
		XXH3_64bits_reset(&st);
		XXH3_64bits_update(&st, salt, ns + 1);
		XXH3_64bits_update(&st, user, nu);
		h = XXH3_64bits_digest(&st);
	}
	return (unsigned)(h % EXP_BUCKETS);
}

size_t exp_assign(const experiment *e, const char *user)
{
	unsigned cut[EXP_MAX_VARIANTS], b = exp_bucket(e->salt, user);
	bucket_cuts(e, cut);
	for (size_t i = 0; i < e->nvariants; i++)
		if (b < cut[i])
			return i;
	return e->nvariants ? e->nvariants - 1 : 0;
}

/* ---- JSON ---- */

void exp_json(const experiment *e, strbuf *sb)
{
	strbuf_puts(sb, "{\"name\":");
	strbuf_json(sb, e->name);
	strbuf_puts(sb, ",\"salt\":");
	strbuf_json(sb, e->salt);
	strbuf_puts(sb, ",\"variants\":[");
	for (size_t i = 0; i < e->nvariants; i++) {
		strbuf_puts(sb, i ? ",{\"name\":" : "{\"name\":");
		strbuf_json(sb, e->variant[i].name);
		strbuf_printf(sb, ",\"weight\":%u,\"config\":", e->variant[i].weight);
		strbuf_json(sb, e->variant[i].config);
		strbuf_putc(sb, '}');
	}
	strbuf_puts(sb, "],\"metric\":");
	strbuf_json(sb, e->metric);
	strbuf_puts(sb, ",\"guardrails\":[");
	for (size_t g = 0; g < e->nguardrails; g++) {
		if (g)
			strbuf_putc(sb, ',');
		strbuf_json(sb, e->guardrail[g]);
	}
	const char *state = exp_state_name(e->state);
	strbuf_puts(sb, "],\"state\":");
	strbuf_json(sb, state ? state : "draft");
	strbuf_printf(sb, ",\"created_ms\":%lld,\"started_ms\":%lld,\"stopped_ms\":%lld}", (long long)e->created_ms,
	              (long long)e->started_ms, (long long)e->stopped_ms);
}

/* Copies the JSON string `v` of field `what` into dst[cap]; SEG_EINVAL for
 * another type or a string that does not fit. */
static int json_str(json_t *v, const char *what, char *dst, size_t cap, seg_error *err)
{
	if (!json_is_string(v))
		return seg_error_set(err, SEG_EINVAL, "%s must be a string", what);
	if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
		return seg_error_set(err, SEG_EINVAL, "%s must be at most %zu bytes (and no NUL)", what, cap - 1);
	strcpy(dst, json_string_value(v));
	return 0;
}

static int json_ms(json_t *v, const char *what, int64_t *out, seg_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return seg_error_set(err, SEG_EINVAL, "%s must be a whole number of ms >= 0", what);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int variant_from_json(json_t *o, size_t i, exp_variant *v, seg_error *err)
{
	char what[64];
	const char *key;
	json_t *val;
	int rc = 0;
	if (!json_is_object(o))
		return seg_error_set(err, SEG_EINVAL, "variants[%zu] must be an object", i);
	*v = (exp_variant){.weight = 1};
	if (json_object_get(o, "name") == NULL)
		return seg_error_set(err, SEG_EINVAL, "variants[%zu].name is missing", i);
	json_object_foreach(o, key, val)
	{
		snprintf(what, sizeof what, "variants[%zu].%.20s", i, key);
		if (strcmp(key, "name") == 0)
			rc = json_str(val, what, v->name, sizeof v->name, err);
		else if (strcmp(key, "config") == 0)
			rc = json_str(val, what, v->config, sizeof v->config, err);
		else if (strcmp(key, "weight") == 0) {
			if (!json_is_integer(val) || json_integer_value(val) < 1 ||
			    json_integer_value(val) > EXP_BUCKETS)
				return seg_error_set(err, SEG_EINVAL, "%s must be a whole number 1..%d", what,
				                     EXP_BUCKETS);
			v->weight = (unsigned)json_integer_value(val);
		} else
			return seg_error_set(err, SEG_EINVAL, "variants[%zu]: unknown field '%.40s'", i, key);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int from_object(json_t *root, experiment *e, seg_error *err)
{
	const char *key;
	json_t *val;
	int rc = 0, has_salt = 0;
	if (!json_is_object(root))
		return seg_error_set(err, SEG_EINVAL, "an experiment must be a JSON object");
	memset(e, 0, sizeof *e);
	strcpy(e->metric, "play_rate");
	if (json_object_get(root, "name") == NULL)
		return seg_error_set(err, SEG_EINVAL, "name is missing");
	if (json_object_get(root, "variants") == NULL)
		return seg_error_set(err, SEG_EINVAL, "variants is missing");
	json_object_foreach(root, key, val)
	{
		if (strcmp(key, "name") == 0)
			rc = json_str(val, "name", e->name, sizeof e->name, err);
		else if (strcmp(key, "salt") == 0)
			rc = json_str(val, "salt", e->salt, sizeof e->salt, err), has_salt = 1;
		else if (strcmp(key, "metric") == 0)
			rc = json_str(val, "metric", e->metric, sizeof e->metric, err);
		else if (strcmp(key, "variants") == 0) {
			if (!json_is_array(val) || json_array_size(val) < 1 || json_array_size(val) > EXP_MAX_VARIANTS)
				return seg_error_set(err, SEG_EINVAL, "variants must be an array of 1..%d objects",
				                     EXP_MAX_VARIANTS);
			for (size_t i = 0; rc == 0 && i < json_array_size(val); i++)
				rc = variant_from_json(json_array_get(val, i), i, &e->variant[i], err);
			e->nvariants = json_array_size(val);
		} else if (strcmp(key, "guardrails") == 0) {
			if (!json_is_array(val) || json_array_size(val) > EXP_MAX_GUARDRAILS)
				return seg_error_set(err, SEG_EINVAL, "guardrails must be an array of at most %d names",
				                     EXP_MAX_GUARDRAILS);
			for (size_t g = 0; rc == 0 && g < json_array_size(val); g++)
				rc = json_str(json_array_get(val, g), "guardrails[]", e->guardrail[g],
				              sizeof e->guardrail[g], err);
			e->nguardrails = json_array_size(val);
		} else if (strcmp(key, "state") == 0) {
			if (!json_is_string(val) || (e->state = exp_state_find(json_string_value(val))) < 0)
				return seg_error_set(err, SEG_EINVAL, "state must be draft, running or stopped");
		} else if (strcmp(key, "created_ms") == 0)
			rc = json_ms(val, key, &e->created_ms, err);
		else if (strcmp(key, "started_ms") == 0)
			rc = json_ms(val, key, &e->started_ms, err);
		else if (strcmp(key, "stopped_ms") == 0)
			rc = json_ms(val, key, &e->stopped_ms, err);
		else
			return seg_error_set(err, SEG_EINVAL, "unknown field '%.40s'", key);
		if (rc < 0)
			return rc;
	}
	if (!has_salt)
		exp_salt_new(e->salt);
	return exp_check(e, err);
}

int exp_from_json(const char *text, size_t len, experiment *e, seg_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return seg_error_set(err, SEG_EFORMAT, "not a JSON experiment: %s (at byte %d)", jerr.text,
		                     jerr.position);
	int rc = from_object(root, e, err);
	json_decref(root);
	return rc;
}

/* ---- team-draft interleaving ---- */

static int taken(const int64_t *out, size_t n, int64_t t)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] == t)
			return 1;
	return 0;
}

size_t exp_interleave(const int64_t *a, size_t na, const int64_t *b, size_t nb, size_t k, uint64_t seed, int64_t *out,
                      uint8_t *team)
{
	const int64_t *list[2] = {a, b};
	size_t len[2] = {na, nb}, next[2] = {0, 0}, picks[2] = {0, 0}, n = 0;
	uint64_t coin = seed;
	while (n < k) {
		/* Skip what the other team took already: each team's pointer
		 * only moves forward, so its picks keep its own order. */
		for (int t = 0; t < 2; t++)
			while (next[t] < len[t] && taken(out, n, list[t][next[t]]))
				next[t]++;
		int left[2] = {next[0] < len[0], next[1] < len[1]};
		if (!left[0] && !left[1])
			break;
		int t;
		if (picks[0] != picks[1])
			t = picks[0] < picks[1] ? 0 : 1;
		else
			t = (int)(rng_splitmix64(&coin) >> 63); /* a fair coin on each tie */
		if (!left[t])
			t = 1 - t; /* one list ran out: the other fills the rest */
		out[n] = list[t][next[t]++];
		team[n] = (uint8_t)t;
		picks[t]++;
		n++;
	}
	return n;
}
