/* test_experiment.c: experiments (experiment.h) and `segue experiment`.
 * The library: exp_bucket against XXH3 computed by another program,
 * assignment (deterministic, stable, in proportion to the weights by a
 * chi-square test over 100,000 users, reshuffled by a new salt), the
 * variant configuration (every key, its range and its errors), exp_check,
 * the JSON form both ways, and team-draft interleaving (balanced teams, no
 * duplicate, each team's order kept, deterministic in its seed, a fair
 * coin). The command line: create, list, start, stop, show, report, export
 * and power, run in-process (cli_run), with their errors and exit codes. */
#include "testutil.h"

#include <jansson.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "engine/recommender.h"
#include "experiment/events.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"

/* A valid two-variant experiment, 50/50. */
static experiment two_way(const char *salt)
{
	experiment e = {0};
	strcpy(e.name, "exp1");
	strcpy(e.salt, salt);
	e.nvariants = 2;
	strcpy(e.variant[0].name, "control");
	strcpy(e.variant[0].config, "model=hybrid");
	e.variant[0].weight = 50;
	strcpy(e.variant[1].name, "treatment");
	strcpy(e.variant[1].config, "model=hybrid,diversity=0.6");
	e.variant[1].weight = 50;
	strcpy(e.metric, "play_rate");
	return e;
}

/* ---- names ---- */

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(exp_state_name(EXP_DRAFT), "draft");
	assert_string_equal(exp_state_name(EXP_RUNNING), "running");
	assert_string_equal(exp_state_name(EXP_STOPPED), "stopped");
	assert_null(exp_state_name(3));
	assert_null(exp_state_name(-1));
	assert_int_equal(exp_state_find("running"), EXP_RUNNING);
	assert_int_equal(exp_state_find("Running"), -1);
	static const char *const ok[] = {"play_rate", "like_rate",      "skip_rate",
	                                 "save_rate", "discovery_rate", "first_play_position"};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		assert_true(exp_metric_valid(ok[i]));
	assert_false(exp_metric_valid("play"));
	assert_false(exp_metric_valid(""));
	assert_false(exp_metric_valid(NULL));
	char a[EXP_NAME_MAX + 1], b[EXP_NAME_MAX + 1];
	exp_salt_new(a);
	exp_salt_new(b);
	assert_int_equal(strlen(a), 16);
	assert_string_not_equal(a, b);
}

/* ---- assignment ---- */

/* XXH3_64bits of salt, a 0 byte and user, from Debian's xxhash 0.8.1:
 *   printf '%s\0%s' "$salt" "$user" > in; xxhsum -H3 in
 * and the bucket is that number mod 10000 (python3 int(h, 16) % 10000). */
static void test_bucket_golden(void **state)
{
	(void)state;
	char longuser[301];
	memset(longuser, 'x', 300);
	longuser[300] = '\0';
	static const struct {
		const char *salt, *user;
		unsigned long long xxh3;
		unsigned bucket;
	} g[] = {
		{"salt", "user1", 0xfa4c36512fc18742ull, 6962},
		{"abc", "u", 0x781f07c058d7776full, 3743},
		{"exp1", "", 0x01ce44eb89cc48d0ull, 2976},
		{"3f2a9c0d1e4b5a6c", "anon-7f3c2a", 0x5f4921f384a1f445ull, 7685},
		{"salt", NULL /* 300 x: past exp_bucket's stack buffer */, 0xc5067c59d7b4cf10ull, 1824},
	};
	for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
		assert_int_equal(g[i].xxh3 % EXP_BUCKETS, g[i].bucket); /* the table agrees with itself */
		assert_int_equal(exp_bucket(g[i].salt, g[i].user ? g[i].user : longuser), g[i].bucket);
	}
}

/* Pearson's chi-square of counts[k] against shares w[k]/sum(w) of n. */
static double chi2(const size_t *counts, const unsigned *w, size_t k, size_t n)
{
	double total = 0, x = 0;
	for (size_t i = 0; i < k; i++)
		total += w[i];
	for (size_t i = 0; i < k; i++) {
		double want = (double)n * w[i] / total;
		x += ((double)counts[i] - want) * ((double)counts[i] - want) / want;
	}
	return x;
}

static void test_assign_weights(void **state)
{
	(void)state;
	/* Upper 0.1% points of chi-square with 1 and 2 degrees of freedom
	 * (scipy.stats.chi2.ppf(0.999, [1, 2])): a sound assignment passes with
	 * probability 0.999, and the users are fixed, so it passes always. */
	const double crit[] = {0, 10.828, 13.816};
	const size_t N = 100000;
	experiment e = two_way("s1");
	size_t c2[2] = {0}, c3[3] = {0};
	char user[32];
	for (size_t u = 0; u < N; u++) {
		snprintf(user, sizeof user, "user-%zu", u);
		size_t v = exp_assign(&e, user);
		assert_true(v < 2);
		c2[v]++;
	}
	const unsigned w2[] = {50, 50};
	assert_true(chi2(c2, w2, 2, N) < crit[1]);
	/* Three variants 20/30/50 (weights on any scale). */
	e.nvariants = 3;
	strcpy(e.variant[2].name, "third");
	const unsigned w3[] = {2, 3, 5};
	for (size_t i = 0; i < 3; i++)
		e.variant[i].weight = w3[i];
	for (size_t u = 0; u < N; u++) {
		snprintf(user, sizeof user, "user-%zu", u);
		c3[exp_assign(&e, user)]++;
	}
	assert_true(chi2(c3, w3, 3, N) < crit[2]);
	assert_true(c3[0] < c3[1] && c3[1] < c3[2]);
	/* Exactly the buckets the cuts give: 2000 | 3000 | 5000. */
	for (size_t u = 0; u < 2000; u++) {
		snprintf(user, sizeof user, "u%zu", u);
		unsigned b = exp_bucket(e.salt, user);
		size_t want = b < 2000 ? 0 : b < 5000 ? 1 : 2;
		assert_int_equal(exp_assign(&e, user), want);
	}
}

static void test_assign_deterministic(void **state)
{
	(void)state;
	experiment e = two_way("s1"), copy = two_way("s1"), other = two_way("s2");
	char user[32];
	size_t same_salt2 = 0;
	const size_t N = 20000;
	for (size_t u = 0; u < N; u++) {
		snprintf(user, sizeof user, "anon-%zu", u * 7919);
		size_t v = exp_assign(&e, user);
		/* Stable across calls and copies: a user sees one variant for the
		 * life of the experiment, on every replica. */
		assert_int_equal(exp_assign(&e, user), v);
		assert_int_equal(exp_assign(&copy, user), v);
		same_salt2 += exp_assign(&other, user) == v;
	}
	/* A new salt reshuffles: about half the users keep their variant
	 * (independent halves), far from all of them. sd = sqrt(N/4) = 71. */
	assert_true(fabs((double)same_salt2 - N / 2.0) < 5 * sqrt(N / 4.0));
	/* The same salt in another experiment name assigns the same way: the
	 * name is not hashed, only the salt. */
	strcpy(copy.name, "renamed");
	assert_int_equal(exp_assign(&copy, "anon-1"), exp_assign(&e, "anon-1"));
}

/* ---- configuration ---- */

static void test_config_parse(void **state)
{
	(void)state;
	seg_error err = {0};
	exp_config c;
	assert_int_equal(exp_config_parse("", &c, &err), 0);
	assert_int_equal(c.model, -1);
	assert_int_equal(c.interleave[0], -1);
	assert_int_equal(c.interleave[1], -1);
	assert_false(c.has_diversity || c.has_novelty || c.has_quality || c.has_max_per_artist || c.has_rerank ||
	             c.has_hybrid);
	assert_int_equal(exp_config_parse("model=hybrid,diversity=0.6,novelty=2.5,quality=10,max_per_artist=3,"
	                                  "rerank=0,content=0.2,als=1,cooc=0.5,ease=0,rp3=7",
	                                  &c, &err),
	                 0);
	assert_int_equal(c.model, recommender_find("hybrid"));
	assert_true(c.has_diversity && c.has_novelty && c.has_quality && c.has_max_per_artist && c.has_rerank &&
	            c.has_hybrid);
	assert_near(c.diversity, 0.6, 1e-6);
	assert_near(c.novelty, 2.5, 1e-6);
	assert_near(c.quality, 10, 0);
	assert_int_equal(c.max_per_artist, 3);
	assert_int_equal(c.rerank, 0);
	assert_near(c.hybrid.content, 0.2, 1e-6);
	assert_near(c.hybrid.als, 1, 0);
	assert_near(c.hybrid.cooc, 0.5, 0);
	assert_near(c.hybrid.ease, 0, 0);
	assert_near(c.hybrid.rp3, 7, 0);
	/* Only the weights named are set. */
	assert_int_equal(exp_config_parse("als=2", &c, &err), 0);
	assert_true(c.has_hybrid);
	assert_true(isnan(c.hybrid.content) && isnan(c.hybrid.cooc) && isnan(c.hybrid.ease) && isnan(c.hybrid.rp3));
	assert_near(c.hybrid.als, 2, 0);
	/* Interleaving two registered models. */
	assert_int_equal(exp_config_parse("model=interleave:hybrid+popular,rerank=1", &c, &err), 0);
	assert_int_equal(c.model, -1);
	assert_int_equal(c.interleave[0], recommender_find("hybrid"));
	assert_int_equal(c.interleave[1], recommender_find("popular"));
	assert_int_equal(c.rerank, 1);
	/* The model version: an alias of the registry or a version number;
	 * unset by default. */
	assert_int_equal(exp_config_parse("", &c, &err), 0);
	assert_int_equal(c.version, EXP_VERSION_UNSET);
	assert_int_equal(exp_config_parse("version=champion", &c, &err), 0);
	assert_int_equal(c.version, EXP_VERSION_CHAMPION);
	assert_int_equal(exp_config_parse("model=hybrid,version=challenger,diversity=0.5", &c, &err), 0);
	assert_int_equal(c.version, EXP_VERSION_CHALLENGER);
	assert_int_equal(c.model, recommender_find("hybrid"));
	assert_true(c.has_diversity);
	assert_int_equal(exp_config_parse("version=7", &c, &err), 0);
	assert_int_equal(c.version, 7);
	assert_int_equal(exp_config_parse("version=2147483647", &c, &err), 0);
	assert_int_equal(c.version, 2147483647);
	/* Applying a config leaves the version to the server. */
	rec_request rq, before;
	rec_request_default(&rq);
	memcpy(&before, &rq, sizeof rq);
	hybrid_weights hw;
	assert_int_equal(exp_config_parse("version=challenger", &c, &err), 0);
	exp_config_apply(&c, &rq, &hw, NULL);
	assert_memory_equal(&rq, &before, sizeof rq);
	/* Every model of the registry is accepted. */
	for (size_t id = 0; id < recommender_count(); id++) {
		char text[128];
		snprintf(text, sizeof text, "model=%s", recommender_name((int)id));
		assert_int_equal(exp_config_parse(text, &c, &err), 0);
		assert_int_equal(c.model, (int)id);
	}
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *config, *says;
	} bad[] = {
		{"model=jazz", "unknown model 'jazz'"},
		{"model=", "unknown model ''"},
		{"model=hybrid,model=popular", "'model' is given twice"},
		{"model=interleave:hybrid", "interleave:A+B"},
		{"model=interleave:hybrid,popular", "interleave:A+B"},
		{"model=interleave:hybrid+jazz", "unknown model 'jazz'"},
		{"diversity=1.5", "diversity '1.5' must be 0..1"},
		{"diversity=-0.1", "diversity"},
		{"diversity=x", "diversity 'x'"},
		{"diversity=0.5x", "diversity"},
		{"novelty=11", "novelty '11' must be 0..10"},
		{"quality=-1", "quality '-1' must be 0..10"},
		{"max_per_artist=2.5", "max_per_artist '2.5'"},
		{"max_per_artist=101", "max_per_artist"},
		{"rerank=2", "rerank '2' must be 0 or 1"},
		{"rerank=yes", "rerank"},
		{"content=-1", "hybrid weight content '-1'"},
		{"als=nan", "hybrid weight als"},
		{"rp3=inf", "hybrid weight rp3"},
		{"content=0,cooc=0,als=0,ease=0,rp3=0", "must not all be 0"},
		{"colour=red", "unknown key 'colour'"},
		{"model=hybrid,", "is not KEY=VALUE"},
		{"model=hybrid,,diversity=1", "is not KEY=VALUE"},
		{"=3", "is not KEY=VALUE"},
		{"diversity", "is not KEY=VALUE"},
		{"version=", "version '' must be champion, challenger or a registry version number"},
		{"version=latest", "version 'latest' must be champion"},
		{"version=Champion", "version 'Champion'"},
		{"version=0", "version '0'"},
		{"version=-1", "version '-1'"},
		{"version=+3", "version '+3'"},
		{"version=03", "version '03'"},
		{"version=3x", "version '3x'"},
		{"version=v3", "version 'v3'"},
		{"version=2147483648", "version '2147483648'"},
		{"version=99999999999999999999", "version"},
		{"version=1,version=2", "'version' is given twice"},
		{"colour=red", "rp3, version)"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		seg_error err = {0};
		exp_config c;
		assert_int_equal(exp_config_check(bad[i].config, &err), SEG_EINVAL);
		if (strstr(err.msg, bad[i].says) == NULL)
			fail_msg("config '%s': message '%s' lacks '%s'", bad[i].config, err.msg, bad[i].says);
		assert_int_equal(exp_config_parse(bad[i].config, &c, NULL), SEG_EINVAL);
	}
	char longc[EXP_CONFIG_MAX + 8];
	memset(longc, 'a', sizeof longc - 1);
	longc[sizeof longc - 1] = '\0';
	seg_error err = {0};
	assert_int_equal(exp_config_check(longc, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "at most"));
}

static void test_config_apply(void **state)
{
	(void)state;
	exp_config c;
	rec_request r;
	hybrid_weights hw, base = {.content = 0.1f, .cooc = 0.2f, .als = 0.3f, .ease = 0.4f, .rp3 = 0.5f};
	/* Nothing named: the request stays as it was. */
	rec_request_default(&r);
	rec_request before = r;
	assert_int_equal(exp_config_parse("", &c, NULL), 0);
	exp_config_apply(&c, &r, &hw, &base);
	assert_memory_equal(&r, &before, sizeof r);
	/* Knobs and a model. */
	assert_int_equal(exp_config_parse("model=popular,diversity=0.9,novelty=3,quality=0,max_per_artist=0,"
	                                  "rerank=0",
	                                  &c, NULL),
	                 0);
	exp_config_apply(&c, &r, &hw, &base);
	assert_int_equal(r.model, recommender_find("popular"));
	assert_near(r.diversity, 0.9, 1e-6);
	assert_near(r.novelty, 3, 0);
	assert_near(r.quality, 0, 0);
	assert_int_equal(r.max_per_artist, 0);
	assert_int_equal(r.rerank, 0);
	assert_null(r.hybrid);
	/* Weights: the named ones over the base's. */
	rec_request_default(&r);
	assert_int_equal(exp_config_parse("als=2,rp3=0", &c, NULL), 0);
	exp_config_apply(&c, &r, &hw, &base);
	assert_ptr_equal(r.hybrid, &hw);
	assert_near(hw.content, 0.1, 1e-6);
	assert_near(hw.cooc, 0.2, 1e-6);
	assert_near(hw.als, 2, 0);
	assert_near(hw.ease, 0.4, 1e-6);
	assert_near(hw.rp3, 0, 0);
	/* Without a base: the built-in default blend. */
	exp_config_apply(&c, &r, &hw, NULL);
	assert_near(hw.content, hybrid_weights_default.content, 0);
	assert_near(hw.cooc, hybrid_weights_default.cooc, 0);
	/* Interleaved: the model is the caller's to run, twice. */
	rec_request_default(&r);
	int model = r.model;
	assert_int_equal(exp_config_parse("model=interleave:als+popular", &c, NULL), 0);
	exp_config_apply(&c, &r, &hw, &base);
	assert_int_equal(r.model, model);
}

static void test_variant_parse(void **state)
{
	(void)state;
	exp_variant v;
	seg_error err = {0};
	assert_int_equal(exp_variant_parse("control:model=hybrid", &v, &err), 0);
	assert_string_equal(v.name, "control");
	assert_string_equal(v.config, "model=hybrid");
	assert_int_equal(v.weight, 1);
	assert_int_equal(exp_variant_parse("treatment:model=hybrid,diversity=0.6", &v, &err), 0);
	assert_string_equal(v.config, "model=hybrid,diversity=0.6");
	assert_int_equal(exp_variant_parse("B.2-x_y:", &v, &err), 0);
	assert_string_equal(v.name, "B.2-x_y");
	assert_string_equal(v.config, "");
	/* The interleave model's ':' is in the config, after the name's. */
	assert_int_equal(exp_variant_parse("il:model=interleave:als+popular", &v, &err), 0);
	assert_string_equal(v.name, "il");
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"control", "NAME:CONFIG"},
		{":model=hybrid", "variant name ''"},
		{"-x:model=hybrid", "starting with a letter"},
		{"a b:model=hybrid", "variant name 'a b'"},
		{"t:model=jazz", "variant t: configuration: unknown model 'jazz'"},
		{"t:diversity=2", "variant t: configuration: diversity"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(exp_variant_parse(bad[i].text, &v, &err), SEG_EINVAL);
		if (strstr(err.msg, bad[i].says) == NULL)
			fail_msg("variant '%s': message '%s' lacks '%s'", bad[i].text, err.msg, bad[i].says);
	}
	char longname[EXP_NAME_MAX + 16];
	memset(longname, 'n', EXP_NAME_MAX + 1);
	strcpy(longname + EXP_NAME_MAX + 1, ":");
	assert_int_equal(exp_variant_parse(longname, &v, &err), SEG_EINVAL);
	longname[EXP_NAME_MAX] = ':';
	longname[EXP_NAME_MAX + 1] = '\0';
	assert_int_equal(exp_variant_parse(longname, &v, &err), 0); /* exactly 64 */
}

/* ---- the experiment as a whole ---- */

static void test_check(void **state)
{
	(void)state;
	seg_error err = {0};
	experiment e = two_way("s");
	assert_int_equal(exp_check(&e, &err), 0);
	assert_int_equal(exp_variant_find(&e, "treatment"), 1);
	assert_int_equal(exp_variant_find(&e, "nope"), -1);
	/* One variant is enough only when it interleaves. */
	e.nvariants = 1;
	assert_int_equal(exp_check(&e, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "interleave"));
	strcpy(e.variant[0].config, "model=interleave:hybrid+popular");
	assert_int_equal(exp_check(&e, &err), 0);

#define BAD(stmt, says)                                                                \
	do {                                                                           \
		experiment b = two_way("s");                                           \
		stmt;                                                                  \
		assert_int_equal(exp_check(&b, &err), SEG_EINVAL);                     \
		if (strstr(err.msg, says) == NULL)                                     \
			fail_msg("%s: message '%s' lacks '%s'", #stmt, err.msg, says); \
	} while (0)
	BAD(strcpy(b.name, ""), "experiment name ''");
	BAD(strcpy(b.name, "has space"), "experiment name");
	BAD(strcpy(b.name, ".hidden"), "starting with a letter");
	BAD(memset(b.name, 'a', EXP_NAME_MAX + 1), "experiment name");
	BAD(strcpy(b.salt, ""), "salt");
	BAD(strcpy(b.salt, "a/b"), "salt");
	BAD(b.nvariants = 0, "2..8 variants");
	BAD(b.nvariants = 9, "2..8 variants");
	BAD(strcpy(b.variant[1].name, "control"), "two variants are called control");
	BAD(strcpy(b.variant[1].name, "t*"), "variant name 't*'");
	BAD(b.variant[1].weight = 0, "weight 0 must be 1..10000");
	BAD(b.variant[1].weight = 10001, "weight 10001");
	/* 1 / 20001 of 10000 buckets is floor(0.49995) = none. */
	BAD((b.nvariants = 3, strcpy(b.variant[2].name, "c"), b.variant[0].weight = 1, b.variant[1].weight = 10000,
	     b.variant[2].weight = 10000),
	    "variant control's weight is too small a share");
	BAD(strcpy(b.variant[1].config, "diversity=7"), "variant treatment: configuration: diversity '7'");
	BAD(strcpy(b.metric, "revenue"), "unknown metric 'revenue'");
	BAD(strcpy(b.metric, ""), "unknown metric ''");
	BAD((b.nguardrails = 1, strcpy(b.guardrail[0], "skips")), "unknown guardrail metric 'skips'");
	BAD((b.nguardrails = 2, strcpy(b.guardrail[0], "skip_rate"), strcpy(b.guardrail[1], "skip_rate")),
	    "guardrail skip_rate is named twice");
	BAD(b.nguardrails = 9, "at most 8 guardrails");
	BAD(b.state = 5, "unknown state");
	BAD(b.started_ms = -1, "negative");
#undef BAD
	/* The guardrails and the weights it accepts. */
	e = two_way("s");
	e.nguardrails = 2;
	strcpy(e.guardrail[0], "skip_rate");
	strcpy(e.guardrail[1], "first_play_position");
	e.variant[0].weight = 9999;
	e.variant[1].weight = 1;
	assert_int_equal(exp_check(&e, &err), 0);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	seg_error err = {0};
	experiment e = two_way("3f2a9c0d1e4b5a6c"), back;
	e.nvariants = 3;
	strcpy(e.variant[2].name, "il");
	strcpy(e.variant[2].config, "model=interleave:hybrid+popular");
	e.variant[2].weight = 20;
	e.nguardrails = 2;
	strcpy(e.guardrail[0], "skip_rate");
	strcpy(e.guardrail[1], "like_rate");
	strcpy(e.metric, "discovery_rate");
	e.state = EXP_STOPPED;
	e.created_ms = 1764892800000LL;
	e.started_ms = 1764892900000LL;
	e.stopped_ms = 1765000000000LL;
	strbuf sb = {0};
	exp_json(&e, &sb);
	assert_false(sb.oom);
	/* The contract's object, field by field, read by another parser. */
	json_error_t jerr;
	json_t *o = json_loads(strbuf_cstr(&sb), 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "exp1");
	assert_string_equal(json_string_value(json_object_get(o, "salt")), "3f2a9c0d1e4b5a6c");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "stopped");
	assert_string_equal(json_string_value(json_object_get(o, "metric")), "discovery_rate");
	assert_int_equal(json_array_size(json_object_get(o, "variants")), 3);
	json_t *v2 = json_array_get(json_object_get(o, "variants"), 2);
	assert_string_equal(json_string_value(json_object_get(v2, "config")), "model=interleave:hybrid+popular");
	assert_int_equal(json_integer_value(json_object_get(v2, "weight")), 20);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "guardrails"), 1)), "like_rate");
	assert_int_equal(json_integer_value(json_object_get(o, "stopped_ms")), 1765000000000LL);
	assert_int_equal(json_object_size(o), 9);
	json_decref(o);
	/* And back, equal in every field. */
	memset(&back, 0x55, sizeof back);
	assert_int_equal(exp_from_json(sb.data, sb.len, &back, &err), 0);
	assert_string_equal(back.name, e.name);
	assert_string_equal(back.salt, e.salt);
	assert_int_equal(back.nvariants, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(back.variant[i].name, e.variant[i].name);
		assert_string_equal(back.variant[i].config, e.variant[i].config);
		assert_int_equal(back.variant[i].weight, e.variant[i].weight);
	}
	assert_string_equal(back.metric, e.metric);
	assert_int_equal(back.nguardrails, 2);
	assert_string_equal(back.guardrail[0], "skip_rate");
	assert_int_equal(back.state, EXP_STOPPED);
	assert_int_equal(back.created_ms, e.created_ms);
	assert_int_equal(back.started_ms, e.started_ms);
	assert_int_equal(back.stopped_ms, e.stopped_ms);
	/* Writing it again gives the same bytes. */
	strbuf sb2 = {0};
	exp_json(&back, &sb2);
	assert_string_equal(strbuf_cstr(&sb2), strbuf_cstr(&sb));
	strbuf_free(&sb);
	strbuf_free(&sb2);
}

static void test_from_json_defaults_and_errors(void **state)
{
	(void)state;
	seg_error err = {0};
	experiment e;
	/* The API's POST body: what it lacks takes the defaults. */
	const char *body = "{\"name\":\"e2\",\"variants\":[{\"name\":\"a\",\"config\":\"model=hybrid\"},"
			   "{\"name\":\"b\",\"weight\":3}]}";
	assert_int_equal(exp_from_json(body, strlen(body), &e, &err), 0);
	assert_int_equal(strlen(e.salt), 16);
	assert_int_equal(e.variant[0].weight, 1);
	assert_int_equal(e.variant[1].weight, 3);
	assert_string_equal(e.variant[1].config, "");
	assert_string_equal(e.metric, "play_rate");
	assert_int_equal(e.nguardrails, 0);
	assert_int_equal(e.state, EXP_DRAFT);
	assert_int_equal(e.created_ms, 0);
	experiment e2;
	assert_int_equal(exp_from_json(body, strlen(body), &e2, &err), 0);
	assert_string_not_equal(e.salt, e2.salt); /* a fresh salt each time */

	static const struct {
		const char *json, *says;
		int code;
	} bad[] = {
		{"{", "not a JSON experiment", SEG_EFORMAT},
		{"[]", "must be a JSON object", SEG_EINVAL},
		{"{\"variants\":[]}", "name is missing", SEG_EINVAL},
		{"{\"name\":\"x\"}", "variants is missing", SEG_EINVAL},
		{"{\"name\":7,\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "name must be a string", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":{}}", "variants must be an array", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[]}", "variants must be an array of 1..8", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},3]}", "variants[1] must be an object", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"weight\":1}]}", "variants[1].name is missing",
	         SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\",\"weight\":0}]}",
	         "variants[1].weight must be a whole number", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\",\"weight\":\"2\"}]}",
	         "variants[1].weight", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\",\"colour\":1}]}",
	         "variants[1]: unknown field 'colour'", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\",\"config\":\"diversity=3\"}]}",
	         "variant b: configuration: diversity '3'", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"state\":\"done\"}",
	         "state must be", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"created_ms\":-4}",
	         "created_ms must be", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"started_ms\":1.5}",
	         "started_ms must be", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"guardrails\":[\"x\"]}",
	         "unknown guardrail metric 'x'", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"guardrails\":\"skip_rate\"}",
	         "guardrails must be an array", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"metric\":\"m\"}",
	         "unknown metric 'm'", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"owner\":\"me\"}",
	         "unknown field 'owner'", SEG_EINVAL},
		{"{\"name\":\"x\",\"name\":\"y\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "duplicate",
	         SEG_EFORMAT},
		{"{\"name\":\"x\",\"salt\":\"\",\"variants\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "salt", SEG_EINVAL},
		{"{\"name\":\"x\",\"variants\":[{\"name\":\"a\"}]}", "interleave", SEG_EINVAL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = exp_from_json(bad[i].json, strlen(bad[i].json), &e, &err);
		if (rc != bad[i].code || strstr(err.msg, bad[i].says) == NULL)
			fail_msg("%s: rc %d, message '%s' (wanted %d, '%s')", bad[i].json, rc, err.msg, bad[i].code,
			         bad[i].says);
	}
	/* Never reads past len. */
	const char *cut = "{\"name\":\"x\"} trailing";
	assert_int_equal(exp_from_json(cut, 12, &e, &err), SEG_EINVAL); /* "variants is missing", not a parse error */
}

/* ---- team-draft interleaving ---- */

static void check_interleave(const int64_t *a, size_t na, const int64_t *b, size_t nb, size_t k, uint64_t seed)
{
	int64_t out[64];
	uint8_t team[64];
	size_t n = exp_interleave(a, na, b, nb, k, seed, out, team);
	assert_true(n <= k);
	size_t picks[2] = {0};
	size_t pos[2] = {0}; /* where in its own list each team's last pick was + 1 */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			assert_true(out[j] != out[i]); /* no duplicates */
		assert_true(team[i] <= 1);
		const int64_t *l = team[i] ? b : a;
		size_t nl = team[i] ? nb : na, at = 0;
		while (at < nl && l[at] != out[i])
			at++;
		assert_true(at < nl);               /* a team picks from its own list */
		assert_true(at + 1 > pos[team[i]]); /* in its own order */
		/* ... and its highest track not taken yet. */
		for (size_t s = pos[team[i]]; s < at; s++) {
			int was_taken = 0;
			for (size_t j = 0; j < i; j++)
				was_taken |= out[j] == l[s];
			assert_true(was_taken);
		}
		pos[team[i]] = at + 1;
		picks[team[i]]++;
		/* While both lists can give, the teams stay within one pick. */
		assert_true(picks[0] <= picks[1] + 1 && picks[1] <= picks[0] + 1);
	}
}

static void test_interleave(void **state)
{
	(void)state;
	const int64_t a[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	const int64_t b[] = {2, 11, 1, 12, 13, 3, 14, 15, 16, 17};
	const int64_t same[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	for (uint64_t seed = 0; seed < 200; seed++) {
		check_interleave(a, 10, b, 10, 10, seed);
		check_interleave(a, 10, same, 10, 10, seed);
		check_interleave(a, 10, b, 10, 7, seed);
	}
	/* Deterministic in seed. */
	int64_t o1[20], o2[20];
	uint8_t t1[20], t2[20];
	size_t n1 = exp_interleave(a, 10, b, 10, 20, 42, o1, t1);
	size_t n2 = exp_interleave(a, 10, b, 10, 20, 42, o2, t2);
	assert_int_equal(n1, n2);
	assert_memory_equal(o1, o2, n1 * sizeof *o1);
	assert_memory_equal(t1, t2, n1);
	/* Both lists run out: every distinct track once (1..17). */
	assert_int_equal(n1, 17);
	/* One list runs out: the other fills the rest. */
	const int64_t shorty[] = {100};
	size_t n = exp_interleave(shorty, 1, a, 10, 6, 3, o1, t1);
	assert_int_equal(n, 6);
	size_t ta = 0;
	for (size_t i = 0; i < n; i++)
		ta += t1[i] == 0;
	assert_int_equal(ta, 1);
	assert_int_equal(exp_interleave(NULL, 0, NULL, 0, 5, 1, o1, t1), 0);
	assert_int_equal(exp_interleave(a, 10, b, 10, 0, 1, o1, t1), 0);
	/* A worked case: seed 42's first coin decides who opens; the second
	 * round is the other team's. a = 1 2 3..., b = 2 11 1 ...: if A opens it
	 * takes 1 and B then 2; if B opens it takes 2 and A then 1. */
	n = exp_interleave(a, 10, b, 10, 2, 42, o1, t1);
	assert_int_equal(n, 2);
	assert_int_not_equal(t1[0], t1[1]);
	assert_int_equal(o1[0], t1[0] ? 2 : 1);
	assert_int_equal(o1[1], t1[0] ? 1 : 2);
}

static void test_interleave_coin_fair(void **state)
{
	(void)state;
	/* Who opens is the coin of the first tie: over 20,000 seeds team A
	 * opens about half the time (sd 71), and so does it open the second
	 * pair (the coin is drawn again at each tie, not once per list). */
	const int64_t a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
	int64_t out[4];
	uint8_t team[4];
	const size_t N = 20000;
	size_t first_a = 0, third_a = 0, agree = 0;
	for (uint64_t seed = 0; seed < N; seed++) {
		assert_int_equal(exp_interleave(a, 4, b, 4, 4, seed, out, team), 4);
		first_a += team[0] == 0;
		third_a += team[2] == 0;
		agree += team[0] == team[2];
		assert_int_not_equal(team[0], team[1]);
		assert_int_not_equal(team[2], team[3]);
	}
	double sd = sqrt(N / 4.0);
	assert_true(fabs((double)first_a - N / 2.0) < 5 * sd);
	assert_true(fabs((double)third_a - N / 2.0) < 5 * sd);
	assert_true(fabs((double)agree - N / 2.0) < 5 * sd); /* the two coins are independent */
}

/* ---- the command line ---- */

/* `segue ARGS` in-process, its exit code checked (tu_cli_expect). */
#define run(want, ...) tu_cli_expect(want, __VA_ARGS__, NULL)
#define RUN(want, ...) free(tu_cli_expect(want, __VA_ARGS__, NULL))

static void test_cli_help_and_usage(void **state)
{
	(void)state;
	char *out = run(0, "experiment", "--help");
	static const char *const subs[] = {"create", "list", "start", "stop", "show", "report", "export", "power"};
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
		assert_non_null(strstr(out, subs[i]));
	free(out);
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		out = run(0, "experiment", subs[i], "--help");
		char want[64];
		snprintf(want, sizeof want, "usage: segue experiment %s", subs[i]);
		assert_non_null(strstr(out, want));
		free(out);
	}
	RUN(2, "experiment");
	out = run(2, "experiment", "frobnicate");
	assert_non_null(strstr(out, "unknown command 'frobnicate'"));
	free(out);
	const char *ws = tu_tmpdir();
	/* Arguments are checked before any store is opened. */
	RUN(2, "experiment", "create", "-w", ws);
	RUN(2, "experiment", "create", "e", "-w", ws);
	out = run(2, "experiment", "create", "e", "-w", ws, "--variant", "a:model=jazz", "--variant", "b:");
	assert_non_null(strstr(out, "unknown model 'jazz'"));
	free(out);
	out = run(2, "experiment", "create", "e", "-w", ws, "--variant", "a:", "--variant", "a:model=popular");
	assert_non_null(strstr(out, "two variants are called a"));
	free(out);
	out = run(2, "experiment", "create", "e", "-w", ws, "--variant", "a:");
	assert_non_null(strstr(out, "interleave"));
	free(out);
	static const char *const bad_weights[] = {"50", "50,50,50", "0,100", "50,", "-5,5", "a,b", "1,10001"};
	for (size_t i = 0; i < sizeof bad_weights / sizeof *bad_weights; i++) {
		out = run(2, "experiment", "create", "e", "-w", ws, "--variant", "a:", "--variant", "b:", "--weights",
		          bad_weights[i]);
		assert_non_null(strstr(out, "--weights"));
		free(out);
	}
	RUN(2, "experiment", "create", "e", "-w", ws, "--variant", "a:", "--variant", "b:", "--metric", "revenue");
	RUN(2, "experiment", "create", "e", "-w", ws, "--variant", "a:", "--variant", "b:", "--guardrail", "x");
	RUN(2, "experiment", "create", "e", "-w", ws, "--variant", "a:", "--variant", "b:", "--salt", "a b");
	RUN(2, "experiment", "create", "bad name", "-w", ws, "--variant", "a:", "--variant", "b:");
	RUN(2, "experiment", "create", "e", "f", "-w", ws, "--variant", "a:", "--variant", "b:");
	RUN(2, "experiment", "create", "e", "-w", ws, "--frob");
	RUN(2, "experiment", "show", "-w", ws);
	RUN(2, "experiment", "export", "e", "-w", ws, "--format", "xml");
	RUN(2, "experiment", "report", "e", "-w", ws, "--alpha", "2");
	/* Nothing was written: no store, and list says there is nothing. */
	char path[1200];
	snprintf(path, sizeof path, "%s/events.db", ws);
	assert_int_not_equal(access(path, F_OK), 0);
	out = run(0, "experiment", "list", "-w", ws);
	assert_non_null(strstr(out, "no experiments"));
	free(out);
	out = run(0, "experiment", "list", "-w", ws, "--json");
	assert_non_null(strstr(out, "{\"experiments\":[]}"));
	free(out);
	out = run(1, "experiment", "show", "nope", "-w", ws);
	assert_non_null(strstr(out, "no event store"));
	free(out);
	assert_int_not_equal(access(path, F_OK), 0); /* reading never creates it */
	tu_rmtree(ws);
}

/* The experiment `segue experiment show NAME --json` prints, parsed. */
static experiment shown(const char *ws, const char *name)
{
	char *out = run(0, "experiment", "show", name, "-w", ws, "--json");
	experiment e;
	seg_error err = {0};
	if (exp_from_json(out, strlen(out), &e, &err) < 0)
		fail_msg("show --json: %s in %s", err.msg, out);
	free(out);
	return e;
}

/* A variant's version= must be a model `segue serve` holds: create refuses
 * version=challenger while the registry names no challenger, and a version
 * number that is neither the champion nor the challenger, with a sentence
 * saying how to make it one; version=champion is always held. */
static void test_cli_create_versions(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/models", ws);
	assert_int_equal(mkdir(path, 0777), 0);
	for (int v = 1; v <= 3; v++) {
		snprintf(path, sizeof path, "%s/models/v%d", ws, v);
		assert_int_equal(mkdir(path, 0777), 0);
		tu_write(path, "model.seg", "not read by the registry");
	}
	char *out = run(1, "experiment", "create", "nochall", "-w", ws, "--variant", "control:version=champion",
	                "--variant", "treatment:version=challenger");
	if (strstr(out, "variant treatment names version=challenger") == NULL ||
	    strstr(out, "names no challenger") == NULL || strstr(out, "--alias challenger") == NULL)
		fail_msg("unclear refusal: %s", out);
	free(out);
	snprintf(path, sizeof path, "%s/events.db", ws);
	assert_int_not_equal(access(path, F_OK), 0); /* nothing was stored */
	RUN(0, "models", "register", "v1", "-w", ws);
	RUN(0, "models", "register", "v2", "-w", ws);
	RUN(0, "models", "register", "v3", "-w", ws);
	RUN(0, "models", "promote", "1", "-w", ws);
	RUN(1, "experiment", "create", "nochall", "-w", ws, "--variant", "control:version=champion", "--variant",
	    "treatment:version=challenger");
	RUN(0, "models", "promote", "2", "--alias", "challenger", "-w", ws);
	out = run(0, "experiment", "create", "withchall", "-w", ws, "--variant", "control:version=champion",
	          "--variant", "treatment:version=challenger");
	assert_non_null(strstr(out, "version=challenger"));
	free(out);
	/* A number: the champion's and the challenger's are held, 3 is not. */
	RUN(0, "experiment", "create", "bynumber", "-w", ws, "--variant", "control:version=1", "--variant",
	    "treatment:version=2");
	out = run(1, "experiment", "create", "three", "-w", ws, "--variant", "control:", "--variant",
	          "treatment:version=3");
	if (strstr(out, "version=3, which is neither the champion nor the challenger") == NULL ||
	    strstr(out, "segue models promote 3 --alias challenger") == NULL)
		fail_msg("unclear refusal: %s", out);
	free(out);
	/* A bad value is a usage error, before any registry is read. */
	out = run(2, "experiment", "create", "bad", "-w", ws, "--variant", "control:", "--variant",
	          "treatment:version=newest");
	assert_non_null(strstr(out, "version 'newest'"));
	free(out);
	experiment e = shown(ws, "withchall");
	assert_string_equal(e.variant[1].config, "version=challenger");
	tu_rmtree(ws);
}

static void test_cli_lifecycle(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	char *out = run(0, "experiment", "create", "div", "-w", ws, "--variant", "control:model=hybrid", "--variant",
	                "treatment:model=hybrid,diversity=0.6", "--weights", "60,40", "--guardrail", "skip_rate",
	                "--guardrail", "like_rate", "--metric", "discovery_rate", "--salt", "s-1");
	assert_non_null(strstr(out, "60.0%"));
	assert_non_null(strstr(out, "segue experiment start div"));
	free(out);
	experiment e = shown(ws, "div");
	assert_string_equal(e.salt, "s-1");
	assert_int_equal(e.state, EXP_DRAFT);
	assert_int_equal(e.nvariants, 2);
	assert_string_equal(e.variant[1].name, "treatment");
	assert_string_equal(e.variant[1].config, "model=hybrid,diversity=0.6");
	assert_int_equal(e.variant[0].weight, 60);
	assert_int_equal(e.variant[1].weight, 40);
	assert_string_equal(e.metric, "discovery_rate");
	assert_int_equal(e.nguardrails, 2);
	assert_string_equal(e.guardrail[1], "like_rate");
	assert_true(e.created_ms > 1700000000000LL);
	assert_int_equal(e.started_ms, 0);
	/* A second experiment, equal weights and a drawn salt. */
	RUN(0, "experiment", "create", "il", "-w", ws, "--variant", "both:model=interleave:hybrid+popular");
	experiment il = shown(ws, "il");
	assert_int_equal(strlen(il.salt), 16);
	assert_int_equal(il.nvariants, 1);
	out = run(1, "experiment", "create", "div", "-w", ws, "--variant", "a:", "--variant", "b:");
	assert_non_null(strstr(out, "already exists"));
	free(out);
	/* list: oldest first. */
	out = run(0, "experiment", "list", "-w", ws);
	char *a = strstr(out, "div"), *b = strstr(out, "il ");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_non_null(strstr(out, "draft"));
	free(out);
	out = run(0, "experiment", "list", "-w", ws, "--json");
	json_error_t jerr;
	json_t *list = json_loads(out, 0, &jerr);
	assert_non_null(list);
	assert_int_equal(json_array_size(json_object_get(list, "experiments")), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(list, "experiments"), 0), "name")),
		"div");
	json_decref(list);
	free(out);
	/* draft -> running -> stopped, and no other way. */
	out = run(1, "experiment", "stop", "div", "-w", ws);
	assert_non_null(strstr(out, "only a running experiment can stop"));
	free(out);
	RUN(0, "experiment", "start", "div", "-w", ws);
	e = shown(ws, "div");
	assert_int_equal(e.state, EXP_RUNNING);
	assert_true(e.started_ms >= e.created_ms);
	assert_int_equal(e.stopped_ms, 0);
	out = run(1, "experiment", "start", "div", "-w", ws);
	assert_non_null(strstr(out, "is running: only a draft can start"));
	free(out);
	RUN(0, "experiment", "stop", "div", "-w", ws);
	e = shown(ws, "div");
	assert_int_equal(e.state, EXP_STOPPED);
	assert_true(e.stopped_ms >= e.started_ms && e.started_ms > 0);
	RUN(1, "experiment", "stop", "div", "-w", ws);
	out = run(1, "experiment", "start", "div", "-w", ws);
	assert_non_null(strstr(out, "create a new experiment"));
	free(out);
	RUN(1, "experiment", "start", "nope", "-w", ws);
	RUN(1, "experiment", "show", "nope", "-w", ws);
	/* The text form says the same. */
	out = run(0, "experiment", "show", "div", "-w", ws);
	assert_non_null(strstr(out, "experiment div: stopped"));
	assert_non_null(strstr(out, "guardrails skip_rate, like_rate"));
	assert_non_null(strstr(out, "40.0%  model=hybrid,diversity=0.6"));
	free(out);
	/* --events names another store; the workspace's does not see it. */
	char other[1200];
	snprintf(other, sizeof other, "%s/other.db", ws);
	RUN(0, "experiment", "create", "elsewhere", "--events", other, "--variant", "a:", "--variant", "b:");
	out = run(0, "experiment", "list", "--events", other);
	assert_non_null(strstr(out, "elsewhere"));
	assert_null(strstr(out, "div"));
	free(out);
	RUN(1, "experiment", "show", "elsewhere", "-w", ws);
	tu_rmtree(ws);
}

/* Serves experiment `name` (running, in ws's store) to `users` listeners
 * as the server would: one impression of 5 tracks each, in the variant
 * exp_assign gives, and plays on the first list: one in the control, two
 * in a treatment. counts[variant] receives the users per variant. */
static void feed(const char *ws, const char *name, size_t users, size_t *counts)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/events.db", ws);
	evstore *s;
	seg_error err = {0};
	experiment e;
	if (evstore_open(path, &s, &err) < 0 || evstore_experiment_get(s, name, &e, &err) < 0)
		fail_msg("%s", err.msg);
	char tracks[5][EV_TRACK_LEN + 1];
	for (int t = 0; t < 5; t++)
		snprintf(tracks[t], sizeof tracks[t], "%022d", t + 1);
	int64_t now = (int64_t)time(NULL) * 1000;
	for (size_t u = 0; u < users; u++) {
		ev_event ev[3] = {0};
		char user[32];
		snprintf(user, sizeof user, "listener-%zu", u);
		size_t v = exp_assign(&e, user);
		counts[v]++;
		for (int i = 0; i < 3; i++) {
			strcpy(ev[i].user, user);
			snprintf(ev[i].request, sizeof ev[i].request, "req-%zu", u);
			ev[i].client_ms = now;
			ev[i].position = -1;
		}
		ev[0].type = EV_IMPRESSION;
		strcpy(ev[0].event_id, ev[0].request);
		strcpy(ev[0].experiment, name);
		strcpy(ev[0].variant, e.variant[v].name);
		strcpy(ev[0].model, "hybrid");
		ev[0].ntracks = 5;
		ev[0].tracks = tracks;
		size_t n = v == 0 ? 2 : 3;
		for (size_t i = 1; i < n; i++) {
			ev[i].type = EV_PLAY;
			snprintf(ev[i].event_id, sizeof ev[i].event_id, "play-%zu-%zu", u, i);
			strcpy(ev[i].track, tracks[i - 1]);
			ev[i].position = (int32_t)i - 1;
		}
		if (evstore_append(s, ev, n, NULL, &err) < 0)
			fail_msg("%s", err.msg);
	}
	evstore_close(s);
}

static void test_cli_report_export(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	RUN(0, "experiment", "create", "rep", "-w", ws, "--variant", "control:model=hybrid", "--variant",
	    "treatment:model=hybrid,diversity=0.6", "--salt", "rep-salt", "--guardrail", "skip_rate");
	RUN(0, "experiment", "start", "rep", "-w", ws);
	size_t counts[2] = {0};
	const size_t U = 60;
	feed(ws, "rep", U, counts);
	assert_true(counts[0] > 0 && counts[1] > 0);
	/* The report in JSON: the users per variant are the assignment's, and
	 * the plays counted are the ones fed. */
	char *out = run(0, "experiment", "report", "rep", "-w", ws, "--json");
	json_error_t jerr;
	json_t *r = json_loads(out, 0, &jerr);
	if (r == NULL)
		fail_msg("report --json is not JSON (%s): %s", jerr.text, out);
	free(out);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "experiment"), "name")), "rep");
	assert_string_equal(json_string_value(json_object_get(r, "correction")), "holm");
	json_t *vars = json_object_get(r, "variants");
	assert_int_equal(json_array_size(vars), 2);
	for (size_t v = 0; v < 2; v++) {
		json_t *jv = json_array_get(vars, v);
		assert_int_equal(json_integer_value(json_object_get(jv, "users")), counts[v]);
		json_t *play = json_object_get(json_object_get(json_object_get(jv, "metrics"), "play_rate"), "num");
		assert_near(json_number_value(play), (double)(counts[v] * (v + 1)), 0);
	}
	json_decref(r);
	/* --bh and --no-cuped reach the analysis. */
	out = run(0, "experiment", "report", "rep", "-w", ws, "--json", "--bh", "--no-cuped");
	r = json_loads(out, 0, &jerr);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "correction")), "bh");
	assert_true(json_is_false(json_object_get(r, "cuped")));
	json_decref(r);
	free(out);
	/* The text form. */
	out = run(0, "experiment", "report", "rep", "-w", ws);
	assert_non_null(strstr(out, "treatment"));
	free(out);
	RUN(1, "experiment", "report", "nope", "-w", ws);
	/* Export: one row per listener, to standard output or a file. */
	out = run(0, "experiment", "export", "rep", "-w", ws, "--format", "csv");
	assert_true(strncmp(out, "user_id,variant,assigned,impressions,play_rate_num,play_rate_den,", 65) == 0);
	size_t lines = 0, plays[2] = {0}, users[2] = {0};
	for (const char *p = strchr(out, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
		char user[80], variant[80], assigned[80];
		unsigned imp, num, den;
		assert_int_equal(
			sscanf(p, "%79[^,],%79[^,],%79[^,],%u,%u,%u,", user, variant, assigned, &imp, &num, &den), 6);
		size_t v = strcmp(variant, "control") == 0 ? 0 : 1;
		assert_string_equal(variant, assigned);
		assert_int_equal(imp, 1);
		assert_int_equal(den, 5);
		plays[v] += num;
		users[v]++;
		lines++;
	}
	assert_int_equal(lines, U);
	for (size_t v = 0; v < 2; v++) {
		assert_int_equal(users[v], counts[v]);
		assert_int_equal(plays[v], counts[v] * (v + 1));
	}
	char file[1200];
	snprintf(file, sizeof file, "%s/rep.csv", ws);
	char *printed = out;
	out = run(0, "experiment", "export", "rep", "-w", ws, "--format", "csv", "--output", file);
	assert_non_null(strstr(out, "wrote"));
	free(out);
	char *written = tu_read(file, NULL);
	assert_string_equal(written, printed);
	free(written);
	free(printed);
	tu_rmtree(ws);
}

static void test_cli_power(void **state)
{
	(void)state;
	/* Golden values from scipy (/usr/bin/python3):
	 *   p1 = p0 + d; pb = (p0 + p1) / 2
	 *   n = (norm.ppf(1 - a/2) sqrt(2 pb (1 - pb)) + norm.ppf(power) sqrt(p0 q0 + p1 q1))^2 / d^2
	 *   p0 .12, d .01, a .05, power .8: 17168.25 -> 17169
	 *   p0 .3, d -.05, a .01, power .9: 2370.79 -> 2371
	 *   mean, sd 1, d .1: 2 sd^2 (norm.ppf(.975) + norm.ppf(.8))^2 / d^2 = 1569.78 -> 1570 */
	char *out = run(0, "experiment", "power", "--baseline", "0.12", "--mde", "0.01");
	assert_non_null(strstr(out, "17169 users per variant"));
	free(out);
	out = run(0, "experiment", "power", "--baseline", "0.3", "--mde", "-0.05", "--alpha", "0.01", "--power", "0.9",
	          "--json");
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_near(json_number_value(json_object_get(j, "users_per_variant")), 2371, 0);
	assert_near(json_number_value(json_object_get(j, "baseline")), 0.3, 0);
	assert_near(json_number_value(json_object_get(j, "alpha")), 0.01, 0);
	json_decref(j);
	free(out);
	out = run(0, "experiment", "power", "--sd", "1", "--mde", "0.1", "--json");
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_near(json_number_value(json_object_get(j, "users_per_variant")), 1570, 0);
	json_decref(j);
	free(out);
	RUN(2, "experiment", "power", "--baseline", "0.12");
	RUN(2, "experiment", "power", "--mde", "0.01");
	RUN(2, "experiment", "power", "--baseline", "1.5", "--mde", "0.01");
	RUN(2, "experiment", "power", "--baseline", "0.12", "--mde", "0");
	RUN(2, "experiment", "power", "--baseline", "0.12", "--mde", "0.01", "--alpha", "1");
	RUN(2, "experiment", "power", "--baseline", "0.12", "--mde", "0.01", "--sd", "1");
	RUN(2, "experiment", "power", "--sd", "-1", "--mde", "0.01");
	RUN(2, "experiment", "power", "--baseline", "x", "--mde", "0.01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bucket_golden),
		cmocka_unit_test(test_assign_weights),
		cmocka_unit_test(test_assign_deterministic),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_apply),
		cmocka_unit_test(test_variant_parse),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_from_json_defaults_and_errors),
		cmocka_unit_test(test_interleave),
		cmocka_unit_test(test_interleave_coin_fair),
		cmocka_unit_test(test_cli_help_and_usage),
		cmocka_unit_test(test_cli_lifecycle),
		cmocka_unit_test(test_cli_create_versions),
		cmocka_unit_test(test_cli_report_export),
		cmocka_unit_test(test_cli_power),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
