/* cmd_simulate.c: `segue simulate`: simulated listeners against a running
 * server (experiment/simulate.h), for one running experiment, for the A/A
 * check, an injected effect, or the whole study. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "cli/cli_internal.h"
#include "experiment/simulate.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void simulate_help(FILE *out)
{
	fprintf(out,
	        "usage: segue simulate --experiment NAME --users N [--server URL] [--seed S] [--workspace DIR] "
	        "[--threads T]\n"
	        "       segue simulate --aa [--runs 200] [--users 200] [options]\n"
	        "       segue simulate --effect DELTA [--runs 100] [--users 400] [options]\n"
	        "       segue simulate --study [--parts aa,hp,effect,ladder] [options]\n"
	        "\n"
	        "Simulated listeners, each a held-out playlist of the workspace (validation or test split, never\n"
	        "seen by training), ask the server at URL for recommendations from their first tracks, scan the\n"
	        "list with a position-based click model, play, like and save the hidden tracks they like, start\n"
	        "some others and skip most of those, sometimes come back, and post everything through\n"
	        "POST /api/events, with retries.\n"
	        "\n"
	        "  --experiment NAME  simulate against this running experiment, then print its report\n"
	        "  --aa               A/A: --runs experiments, both variants the same configuration, each with a\n"
	        "                     new salt; prints the rejection rate at p < 0.05 with its 95%% interval\n"
	        "  --effect DELTA     with --experiment: the listeners served by --effect-variant (default the\n"
	        "                     experiment's second variant) play liked tracks with probability x (1 + DELTA);\n"
	        "                     alone: --runs experiments with that effect, the detection rate against the\n"
	        "                     power stats_power_proportion promises\n"
	        "  --study            all of it: A/A, hybrid vs popular, the injected effect, interleaving vs A/B\n"
	        "  --parts LIST       the study's parts to run (aa,hp,effect,ladder)\n"
	        "  --users N          listeners (per run)\n"
	        "  --runs R           experiments (--aa 200, --effect 100; the study's A/A and effect runs)\n"
	        "  --server URL       http://HOST:PORT of `segue serve` (default http://127.0.0.1:8080)\n"
	        "  --token T          bearer token for the experiment routes (default $SEGUE_TOKEN)\n"
	        "  --seed S           the first run's seed (default: the clock; printed). Users are\n"
	        "                     sim-<seed>-<playlist>: a new seed is a new set of listeners\n"
	        "  -w, --workspace DIR  where the listeners come from (default $SEGUE_HOME, else ./segue-data)\n"
	        "  --threads T        listener threads, one connection each (default 4)\n"
	        "  --json             --experiment: print the report's JSON\n"
	        "  --quiet            no progress lines\n"
	        "Study sizes: --aa-users N (200) --hp-users N (1000) --effect-users N (300) --effect-runs R (100)\n"
	        "  --effect-size DELTA (0.5)\n"
	        "  --ladder N,N,... (300,150,75,40,20,10) --ladder-runs R (20) --model-a popular --model-b hybrid\n"
	        "  --aa-model hybrid\n"
	        "Click model: --k 10 --seeds 5 --eta 0.8 --play-liked 0.5 --skip-liked 0.1 --play-other 0.15\n"
	        "  --skip-other 0.7 --like 0.3 --save 0.15 --dislike 0.2 --come-back 0.5 --max-sessions 3\n"
	        "  examined with probability 1/(1+rank)^eta; a liked track examined is played (started) with\n"
	        "  probability play-liked, then, each on its own, skipped (left early) with skip-liked, liked\n"
	        "  with like, saved with save; another is played with play-other, then skipped with skip-other,\n"
	        "  disliked with dislike. A skip is always of a played track, as the dashboard counts it; a\n"
	        "  track examined and not played leaves no event.\n");
}

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "segue simulate: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'segue simulate --help'.\n");
	return EXIT_USAGE;
}

static int parse_size(const char *s, size_t *out)
{
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	if (e == s || *e != '\0' || s[0] == '-' || v > 10000000ull)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s || *e != '\0' || v != v)
		return -1;
	*out = v;
	return 0;
}

/* The experiment NAME's second variant (the first treatment), for
 * --effect with --experiment. */
static int second_variant(sim_http *h, const char *name, char *out, size_t cap, int *running, seg_error *err)
{
	strbuf resp = {0};
	char target[256];
	int st = 0;
	snprintf(target, sizeof target, "/api/experiments/%s", name);
	int rc = sim_http_call(h, "GET", target, NULL, 0, 3, &st, &resp, NULL, err);
	if (rc == 0 && st != 200)
		rc = seg_error_set(err, SEG_ENOTFOUND, "GET %s answered %d: %.200s", target, st, strbuf_cstr(&resp));
	if (rc == 0) {
		json_t *e = json_loadb(resp.data, resp.len, 0, NULL);
		json_t *v = json_array_get(json_object_get(e, "variants"), 1);
		const char *vn = json_string_value(json_object_get(v, "name"));
		snprintf(out, cap, "%s", vn ? vn : "");
		const char *state = json_string_value(json_object_get(e, "state"));
		*running = state != NULL && strcmp(state, "running") == 0;
		json_decref(e);
	}
	strbuf_free(&resp);
	return rc;
}

/* Mode (a): one running experiment. */
static int simulate_experiment(const sim_listeners *L, sim_options *so, const char *name, int has_effect,
                               const char *effect_variant, int json)
{
	seg_error err = {0};
	sim_http *h = NULL;
	strbuf report = {0};
	char second[EV_NAME_MAX + 1] = "";
	int running = 0, ret = EXIT_FAIL, st = 0;
	if (sim_http_open(so->server, so->token, so->timeout_ms, &h, &err) < 0 ||
	    second_variant(h, name, second, sizeof second, &running, &err) < 0)
		goto out;
	if (!running) {
		seg_error_set(&err, SEG_EINVAL, "experiment %s is not running: `segue experiment start %s` first", name,
		              name);
		goto out;
	}
	if (has_effect)
		so->effect_variant = effect_variant ? effect_variant : second;
	sim_result res;
	int rc = sim_run(L, so, &res, &err);
	sim_result_print(&res, json ? stderr : stdout);
	if (rc < 0)
		goto out;
	if (res.experiment[0] != '\0' && strcmp(res.experiment, name) != 0)
		fprintf(stderr,
		        "segue simulate: warning: the listeners were served by experiment %s (the oldest running)\n",
		        res.experiment);
	char target[256];
	snprintf(target, sizeof target, "/api/experiments/%s/report", name);
	if (sim_http_call(h, "GET", target, NULL, 0, 3, &st, &report, NULL, &err) < 0)
		goto out;
	if (st != 200) {
		seg_error_set(&err, SEG_EINVAL, "GET %s answered %d: %.200s", target, st, strbuf_cstr(&report));
		goto out;
	}
	if (json) {
		fwrite(report.data, 1, report.len, stdout);
		fputc('\n', stdout);
	} else {
		sim_report rep;
		if (sim_report_parse(report.data, report.len, &rep, &err) < 0)
			goto out;
		json_t *root = json_loadb(report.data, report.len, 0, NULL);
		const char *verdict = json_string_value(json_object_get(root, "verdict"));
		const char *metric = json_string_value(json_object_get(json_object_get(root, "experiment"), "metric"));
		printf("report of %s (primary metric %s):\n", name, metric ? metric : "?");
		printf("  users %zu / %zu, %.4f / %.4f, difference %+.4f (95%% CI %+.4f to %+.4f), p = %.3g%s\n",
		       rep.users[0], rep.users[1], rep.value[0], rep.value[1], rep.diff, rep.lo, rep.hi, rep.p,
		       rep.srm_alarm ? "; SAMPLE RATIO MISMATCH" : "");
		if (rep.has_interleaving) {
			printf("  interleaving, credit test (primary): B - A %+.4f credited plays per listener (95%% "
			       "CI "
			       "%+.4f to %+.4f), p = %.3g\n",
			       rep.cmean, rep.clo, rep.chi, rep.cp);
			printf("  interleaving, sign test: share of B %.3f (95%% CI %.3f to %.3f), p = %.3g\n",
			       rep.share_b, rep.ilo, rep.ihi, rep.ip);
		}
		if (verdict)
			printf("  %s\n", verdict);
		printf("(the whole report: segue experiment report %s, or GET %s)\n", name, target);
		json_decref(root);
	}
	ret = EXIT_OK;
out:
	if (ret != EXIT_OK)
		fprintf(stderr, "segue simulate: %s\n", err.msg);
	strbuf_free(&report);
	sim_http_close(h);
	return ret;
}

int cli__simulate(int argc, char **argv)
{
	enum {
		O_EXP = 256,
		O_USERS,
		O_SERVER,
		O_SEED,
		O_THREADS,
		O_TOKEN,
		O_AA,
		O_RUNS,
		O_EFFECT,
		O_EFFVAR,
		O_STUDY,
		O_PARTS,
		O_JSON,
		O_QUIET,
		O_AAU,
		O_HPU,
		O_FXU,
		O_FXR,
		O_LADDER,
		O_LADR,
		O_MA,
		O_MB,
		O_AAM,
		O_K,
		O_SEEDS,
		O_ETA,
		O_PL,
		O_PO,
		O_SL,
		O_SO,
		O_LIKE,
		O_SAVE,
		O_DISLIKE,
		O_CB,
		O_MS,
		O_FXS
	};
	/* clang-format off */
	static const struct option opts[] = {
		{"experiment", required_argument, NULL, O_EXP}, {"users", required_argument, NULL, O_USERS},
		{"server", required_argument, NULL, O_SERVER},   {"seed", required_argument, NULL, O_SEED},
		{"workspace", required_argument, NULL, 'w'},     {"threads", required_argument, NULL, O_THREADS},
		{"token", required_argument, NULL, O_TOKEN},     {"aa", no_argument, NULL, O_AA},
		{"runs", required_argument, NULL, O_RUNS},       {"effect", required_argument, NULL, O_EFFECT},
		{"effect-variant", required_argument, NULL, O_EFFVAR}, {"study", no_argument, NULL, O_STUDY},
		{"parts", required_argument, NULL, O_PARTS},     {"json", no_argument, NULL, O_JSON},
		{"quiet", no_argument, NULL, O_QUIET},           {"aa-users", required_argument, NULL, O_AAU},
		{"hp-users", required_argument, NULL, O_HPU},    {"effect-users", required_argument, NULL, O_FXU},
		{"effect-runs", required_argument, NULL, O_FXR}, {"ladder", required_argument, NULL, O_LADDER},
		{"ladder-runs", required_argument, NULL, O_LADR}, {"model-a", required_argument, NULL, O_MA},
		{"model-b", required_argument, NULL, O_MB},      {"aa-model", required_argument, NULL, O_AAM},
		{"k", required_argument, NULL, O_K},             {"seeds", required_argument, NULL, O_SEEDS},
		{"eta", required_argument, NULL, O_ETA},         {"play-liked", required_argument, NULL, O_PL},
		{"play-other", required_argument, NULL, O_PO},   {"like", required_argument, NULL, O_LIKE},
		{"save", required_argument, NULL, O_SAVE},       {"dislike", required_argument, NULL, O_DISLIKE},
		{"skip-liked", required_argument, NULL, O_SL},   {"skip-other", required_argument, NULL, O_SO},
		{"come-back", required_argument, NULL, O_CB},    {"max-sessions", required_argument, NULL, O_MS},
		{"effect-size", required_argument, NULL, O_FXS}, {"help", no_argument, NULL, 'h'},                {0},
	};
	/* clang-format on */
	sim_study_options so;
	sim_study_options_default(&so);
	so.sim.token = getenv("SEGUE_TOKEN");
	const char *ws = NULL, *exp_name = NULL, *effect_variant = NULL, *parts = NULL;
	size_t users = 0, runs = 0, tmp;
	int aa = 0, study = 0, json = 0, has_seed = 0, has_effect = 0, c;
	double effect = 0, d;
	char prefix[64];
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case O_EXP: exp_name = optarg; break;
		case O_USERS:
			if (parse_size(optarg, &users) < 0 || users == 0)
				return usage("--users must be a positive count, not '%s'", optarg);
			break;
		case O_SERVER: so.sim.server = optarg; break;
		case O_SEED: {
			char *e;
			so.sim.seed = strtoull(optarg, &e, 10);
			if (e == optarg || *e != '\0' || optarg[0] == '-')
				return usage("--seed must be a non-negative integer, not '%s'", optarg);
			has_seed = 1;
			break;
		}
		case 'w': ws = optarg; break;
		case O_THREADS:
			if (parse_size(optarg, &tmp) < 0 || tmp < 1 || tmp > 64)
				return usage("--threads must be 1..64, not '%s'", optarg);
			so.sim.threads = (int)tmp;
			break;
		case O_TOKEN: so.sim.token = optarg; break;
		case O_AA: aa = 1; break;
		case O_RUNS:
			if (parse_size(optarg, &runs) < 0 || runs == 0 || runs > 100000)
				return usage("--runs must be 1..100000, not '%s'", optarg);
			break;
		case O_EFFECT:
			if (parse_double(optarg, &effect) < 0 || effect <= -1 || effect > 10)
				return usage("--effect must be a number above -1 (a relative change), not '%s'",
				             optarg);
			has_effect = 1;
			break;
		case O_EFFVAR: effect_variant = optarg; break;
		case O_FXS:
			if (parse_double(optarg, &so.effect) < 0 || so.effect <= -1 || so.effect > 10)
				return usage("--effect-size must be a number above -1, not '%s'", optarg);
			break;
		case O_STUDY: study = 1; break;
		case O_PARTS: parts = optarg; break;
		case O_JSON: json = 1; break;
		case O_QUIET: so.quiet = 1; break;
		case O_AAU:
		case O_HPU:
		case O_FXU:
			if (parse_size(optarg, &tmp) < 0)
				return usage("a listener count must be a non-negative integer, not '%s'", optarg);
			*(c == O_AAU ? &so.aa_users : c == O_HPU ? &so.hp_users : &so.effect_users) = tmp;
			break;
		case O_FXR:
		case O_LADR:
			if (parse_size(optarg, &tmp) < 0 || tmp > 100000)
				return usage("a run count must be 0..100000, not '%s'", optarg);
			*(c == O_FXR ? &so.effect_runs : &so.ladder_runs) = (int)tmp;
			break;
		case O_LADDER: {
			memset(so.ladder, 0, sizeof so.ladder);
			char buf[256];
			snprintf(buf, sizeof buf, "%s", optarg);
			size_t n = 0;
			for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (n == sizeof so.ladder / sizeof *so.ladder || parse_size(t, &so.ladder[n]) < 0 ||
				    so.ladder[n] < 4)
					return usage("--ladder takes up to 8 listener counts of at least 4, not '%s'",
					             optarg);
				n++;
			}
			break;
		}
		case O_MA: so.model_a = optarg; break;
		case O_MB: so.model_b = optarg; break;
		case O_AAM: so.aa_model = optarg; break;
		case O_K:
		case O_SEEDS:
		case O_MS:
			if (parse_size(optarg, &tmp) < 0 || tmp > 1000)
				return usage("a count option has a bad value '%s'", optarg);
			*(c == O_K ? &so.sim.b.k : c == O_SEEDS ? &so.sim.b.nseeds : &so.sim.b.max_sessions) = (int)tmp;
			break;
		case O_ETA:
		case O_PL:
		case O_PO:
		case O_SL:
		case O_SO:
		case O_LIKE:
		case O_SAVE:
		case O_DISLIKE:
		case O_CB:
			if (parse_double(optarg, &d) < 0)
				return usage("a click-model option has a bad value '%s'", optarg);
			*(c == O_ETA    ? &so.sim.b.eta
			  : c == O_PL   ? &so.sim.b.play_liked
			  : c == O_PO   ? &so.sim.b.play_other
			  : c == O_SL   ? &so.sim.b.skip_liked
			  : c == O_SO   ? &so.sim.b.skip_other
			  : c == O_LIKE ? &so.sim.b.like
			  : c == O_SAVE ? &so.sim.b.save
			  : c == O_CB   ? &so.sim.b.come_back
			                : &so.sim.b.dislike) = d;
			break;
		case 'h': simulate_help(stdout); return EXIT_OK;
		default: return usage("%s", "unknown option");
		}
	}
	if (optind < argc)
		return usage("unexpected argument '%s'", argv[optind]);
	int modes = (exp_name != NULL) + aa + study + (has_effect && exp_name == NULL);
	if (modes != 1)
		return usage("%s", "give exactly one of --experiment NAME, --aa, --effect DELTA, --study");
	if (exp_name != NULL && users == 0)
		return usage("%s", "--experiment needs --users N");
	seg_error err = {0};
	if (sim_behaviour_check(&so.sim.b, &err) < 0)
		return usage("%s", err.msg);
	if (!has_seed)
		so.sim.seed = (uint64_t)time(NULL);
	char wsbuf[PATH_MAX];
	const char *wsdir = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	sim_listeners L = {0};
	if (sim_listeners_load(wsdir, so.sim.b.nseeds, &L, &err) < 0) {
		fprintf(stderr, "segue simulate: %s\n", err.msg);
		return EXIT_FAIL;
	}
	int ret = EXIT_FAIL;
	if (exp_name != NULL) {
		so.sim.users = users;
		so.sim.effect = effect;
		fprintf(stderr, "segue simulate: seed %" PRIu64 ", %zu listeners of %zu held-out playlists\n",
		        so.sim.seed, users, L.n);
		ret = simulate_experiment(&L, &so.sim, exp_name, has_effect, effect_variant, json);
		goto out;
	}
	/* The study, whole or one part. */
	snprintf(prefix, sizeof prefix, "sim-%" PRIu64, so.sim.seed);
	so.prefix = prefix;
	if (aa || has_effect) {
		so.hp_users = 0;
		so.ladder_runs = 0;
		so.aa_runs = aa ? (runs ? (int)runs : 200) : 0;
		so.effect_runs = has_effect ? (runs ? (int)runs : 100) : 0;
		if (users)
			*(aa ? &so.aa_users : &so.effect_users) = users;
		if (has_effect)
			so.effect = effect;
	} else {
		if (runs)
			so.aa_runs = so.effect_runs = (int)runs;
		if (parts != NULL) {
			if (strstr(parts, "aa") == NULL)
				so.aa_runs = 0;
			if (strstr(parts, "hp") == NULL)
				so.hp_users = 0;
			if (strstr(parts, "effect") == NULL)
				so.effect_runs = 0;
			if (strstr(parts, "ladder") == NULL)
				so.ladder_runs = 0;
		}
	}
	if (sim_study_run(&L, &so, stdout, &err) < 0)
		fprintf(stderr, "segue simulate: %s\n", err.msg);
	else
		ret = EXIT_OK;
out:
	sim_listeners_free(&L);
	return ret;
}
