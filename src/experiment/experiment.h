/* experiment.h: an A/B experiment's definition (variants with their
 * recommender configuration and traffic weights, salt, primary metric,
 * guardrails, state) and the deterministic assignment of a user to a
 * variant: XXH3 of (salt, user) into EXP_BUCKETS buckets, the same on every
 * replica. It does not store experiments (evstore.h) nor analyse them
 * (analysis.h). */
#ifndef SEGUE_EXPERIMENT_H
#define SEGUE_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "engine/recommend.h"

#define EXP_BUCKETS 10000
#define EXP_MAX_VARIANTS 8
#define EXP_MAX_GUARDRAILS 8
#define EXP_NAME_MAX 64    /* experiment and variant names: 1..64 of [A-Za-z0-9_.-], starting with a letter or digit */
#define EXP_CONFIG_MAX 256 /* a variant's configuration text */

enum exp_state { EXP_DRAFT, EXP_RUNNING, EXP_STOPPED };
const char *exp_state_name(int state); /* "draft", "running", "stopped"; NULL out of range */
int exp_state_find(const char *name);  /* the state called name, or -1 */

/* The metrics an experiment can name as primary or guardrail (analysis.h
 * computes them): play_rate, like_rate, skip_rate, save_rate,
 * discovery_rate, first_play_position. */
int exp_metric_valid(const char *name);

typedef struct exp_variant {
	char name[EXP_NAME_MAX + 1];
	unsigned weight;                 /* traffic share, relative to the others' (1..10000) */
	char config[EXP_CONFIG_MAX + 1]; /* "model=hybrid,diversity=0.6": see exp_config_apply */
} exp_variant;

typedef struct experiment {
	char name[EXP_NAME_MAX + 1];
	char salt[EXP_NAME_MAX + 1]; /* drawn at creation (exp_salt_new); a new salt reshuffles users.
	                              * 1..64 of [A-Za-z0-9_.:-] */
	exp_variant variant[EXP_MAX_VARIANTS];
	size_t nvariants; /* 2..EXP_MAX_VARIANTS; variant[0] is the control */
	char metric[32];  /* primary metric (default play_rate) */
	char guardrail[EXP_MAX_GUARDRAILS][32];
	size_t nguardrails;
	int state;                                  /* enum exp_state */
	int64_t created_ms, started_ms, stopped_ms; /* 0 until it happens */
} experiment;

/* Writes a fresh random salt (16 hex digits from getrandom) into
 * salt[EXP_NAME_MAX + 1]. */
void exp_salt_new(char *salt);

/* The index of the variant called name in e, or -1. */
int exp_variant_find(const experiment *e, const char *name);

/* Parses "NAME:CONFIG" (the CLI's --variant) into v with weight 1.
 * SEG_EINVAL with a sentence for a bad name or a config exp_config_check
 * refuses. */
int exp_variant_parse(const char *text, exp_variant *v, seg_error *err);

/* A variant's configuration: comma-separated key=value pairs, any of
 *   model=NAME             a registered recommender (recommender_find), or
 *                          interleave:A,B with A and B registered ones (the
 *                          comma inside belongs to the model: write
 *                          model=interleave:A+B, '+' separating the two)
 *   diversity=0..1 novelty=0..10 quality=0..10 max_per_artist=0..100
 *   rerank=0|1 content=W als=W cooc=W ease=W rp3=W (hybrid weights, >= 0)
 *   version=champion|challenger|N  the model version that answers, by the
 *                          registry's alias or a registry version number N
 *                          (pipeline/registry.h): `segue serve` holds the
 *                          champion and the challenger and answers the
 *                          variant's users with the one named; without
 *                          version= they get the champion. The server answers
 *                          with the champion when it holds no such version
 *                          (serve.h says how that is counted).
 * Checks it without applying (whether the registry has the version is the
 * caller's to check: the registry changes while an experiment runs).
 * SEG_EINVAL naming the bad key or value. */
int exp_config_check(const char *config, seg_error *err);

/* exp_config's version: a registry version number (1, 2, ...), or one of
 * these. */
#define EXP_VERSION_UNSET 0         /* no version=: the server's default (the champion) */
#define EXP_VERSION_CHAMPION (-1)   /* version=champion */
#define EXP_VERSION_CHALLENGER (-2) /* version=challenger */

/* What a configuration sets, parsed. Fields the config does not name keep
 * the values of the request they are applied to. */
typedef struct exp_config {
	int model;         /* registry id, -1 when not set or when interleaved */
	int version;       /* the model version that answers (EXP_VERSION_*, or a registry version >= 1);
	                    * exp_config_apply leaves it to the server, which holds the models */
	int interleave[2]; /* registry ids of teams A and B, -1 -1 when not interleaved */
	int has_diversity, has_novelty, has_quality, has_max_per_artist, has_rerank, has_hybrid;
	float diversity, novelty, quality;
	int max_per_artist, rerank;
	hybrid_weights hybrid; /* NaN for a weight the config does not name: the artifact's then
	                        * (see exp_config_apply) */
} exp_config;
/* On error *out is the empty configuration (nothing set). */
int exp_config_parse(const char *config, exp_config *out, seg_error *err);
/* Applies c to r: r's model (unless interleaved: then the caller runs
 * c->interleave[0] and [1] and merges them with exp_interleave), knobs, and
 * hybrid weights into *hw (which r->hybrid then points to), starting from
 * `base` (the artifact's weights) for those c does not name. */
void exp_config_apply(const exp_config *c, rec_request *r, hybrid_weights *hw, const hybrid_weights *base);

/* Checks e as a whole (names, salt, 2..EXP_MAX_VARIANTS variants with
 * distinct names, or a single one whose model is interleaved; weights,
 * each of which must give its variant at least one bucket; configs; the
 * metric and distinct guardrails; the state; times not negative).
 * SEG_EINVAL naming the first problem. */
int exp_check(const experiment *e, seg_error *err);

/* The bucket of user in 0..EXP_BUCKETS-1: XXH3_64bits of salt, a 0 byte,
 * and user, modulo EXP_BUCKETS. */
unsigned exp_bucket(const char *salt, const char *user);
/* The variant index (0..nvariants-1) that user sees: the buckets are cut in
 * variant order in proportion to the weights (variant i gets
 * floor(EXP_BUCKETS * cumulative weight / total) - the previous cut). */
size_t exp_assign(const experiment *e, const char *user);

/* JSON object of e (every field; the API's and the store's form), and its
 * inverse, which checks with exp_check. The inverse also reads the body of
 * POST /api/experiments: fields it lacks take defaults (salt: a fresh one
 * from exp_salt_new; a variant's weight 1 and config ""; metric play_rate;
 * no guardrails; state draft; times 0). An unknown field, a value of the
 * wrong JSON type and anything exp_check refuses is SEG_EINVAL naming the
 * field; text that is not JSON is SEG_EFORMAT. On error *e is
 * unspecified. */
void exp_json(const experiment *e, strbuf *sb);
int exp_from_json(const char *text, size_t len, experiment *e, seg_error *err);

/* Team-draft interleaving (Radlinski et al. 2008, as Chapelle et al. 2012
 * evaluate it) of two ranked lists a[na] and b[nb] (track ids; a track may
 * be in both) into out[k] with team[k] (0 a, 1 b): in each round the team
 * with fewer picks so far (a coin from `seed` on a tie) takes its highest
 * track not already taken. Returns the length written (<= k; less when both
 * lists run out). Deterministic in seed. */
size_t exp_interleave(const int64_t *a, size_t na, const int64_t *b, size_t nb, size_t k, uint64_t seed, int64_t *out,
                      uint8_t *team);

#endif
