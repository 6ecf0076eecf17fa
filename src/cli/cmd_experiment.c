/* cmd_experiment.c: `segue experiment create|list|start|stop|show|report|
 * export|power`: defines A/B experiments in the event store, moves them
 * through their states (draft -> running -> stopped), and prints their
 * analysis and the sample size a test needs. A thin layer: the definition
 * and its checks are experiment.h's, the storage evstore.h's, the figures
 * analysis.h's and stats.h's. Exit codes: 0 ok, 1 failed, 2 bad usage. */
#include "cli/cli_internal.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/atomicfile.h"
#include "core/strbuf.h"
#include "experiment/analysis.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"
#include "experiment/stats.h"
#include "pipeline/registry.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Options every subcommand that reads the store shares. */
enum { O_EVENTS = 256, O_JSON, O_BH, O_NO_CUPED, O_ALPHA, O_POWER, O_SD, O_BASELINE, O_MDE, O_SALT, O_WEIGHTS };
/* clang-format off */
#define STORE_OPTIONS \
	{"workspace", required_argument, NULL, 'w'}, {"events", required_argument, NULL, O_EVENTS}, \
	{"help", no_argument, NULL, 'h'}
/* clang-format on */

#define STORE_HELP                                                                                \
	"  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data)\n"             \
	"      --events URL     the event store: a postgresql:// URL or a SQLite file (default\n" \
	"                       WORKSPACE/" EVSTORE_FILE ")\n"                                    \
	"  -h, --help           this text\n"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2025-12-05 10:00:00 UTC", or "-" for 0 (not yet). */
static const char *utc(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0)
		return "-";
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

/* The store's location: --events, else the workspace's SQLite file
 * (WS_EVENTS). *is_file says whether it is a SQLite path. */
static const char *store_where(const char *ws, const char *events, char *buf, size_t cap, int *is_file, seg_error *err)
{
	*is_file = !(events && (strncmp(events, "postgresql://", 13) == 0 || strncmp(events, "postgres://", 11) == 0));
	if (events)
		return events;
	char wsbuf[PATH_MAX];
	return workspace_path(catalog_workspace(ws, wsbuf, sizeof wsbuf), WS_EVENTS, buf, cap, err) < 0 ? NULL : buf;
}

/* Opens the store. With `create` a missing SQLite file (and its workspace
 * directory) is made; without, a missing one is SEG_ENOTFOUND, so that a
 * command that only reads never leaves an empty store behind. */
static int store_open(const char *ws, const char *events, int create, evstore **s, seg_error *err)
{
	char buf[PATH_MAX + 32];
	int is_file;
	const char *where = store_where(ws, events, buf, sizeof buf, &is_file, err);
	*s = NULL;
	if (where == NULL)
		return err->code;
	if (is_file && access(where, F_OK) != 0) {
		if (!create)
			return seg_error_set(err, SEG_ENOTFOUND,
			                     "no event store at %s (`segue experiment create` makes one; --events "
			                     "names another)",
			                     where);
		if (events == NULL) {
			char wsbuf[PATH_MAX];
			const char *dir = catalog_workspace(ws, wsbuf, sizeof wsbuf);
			if (mkdir(dir, 0777) != 0 && errno != EEXIST)
				return seg_error_set(err, SEG_EIO, "cannot create the workspace %s: %s", dir,
				                     strerror(errno));
		}
	}
	return evstore_open(where, s, err);
}

/* The one NAME argument of a subcommand. */
static int one_name(const char *cmd, int argc, char **argv, const char **name)
{
	if (optind >= argc)
		return cli__usage_error(cmd, "%s", "give the experiment's NAME");
	if (optind + 1 < argc)
		return cli__usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	*name = argv[optind];
	return 0;
}

static void print_experiment(const experiment *e)
{
	char t1[64], t2[64], t3[64];
	unsigned total = 0;
	for (size_t i = 0; i < e->nvariants; i++)
		total += e->variant[i].weight;
	printf("experiment %s: %s\n", e->name, exp_state_name(e->state));
	printf("  created %s, started %s, stopped %s\n", utc(e->created_ms, t1, sizeof t1),
	       utc(e->started_ms, t2, sizeof t2), utc(e->stopped_ms, t3, sizeof t3));
	printf("  salt %s, primary metric %s", e->salt, e->metric);
	for (size_t g = 0; g < e->nguardrails; g++)
		printf("%s%s", g ? ", " : ", guardrails ", e->guardrail[g]);
	printf("\n  variants (the first is the control):\n");
	for (size_t i = 0; i < e->nvariants; i++)
		printf("    %-16s %5.1f%%  %s\n", e->variant[i].name, 100.0 * e->variant[i].weight / total,
		       e->variant[i].config[0] ? e->variant[i].config : "(the request's own settings)");
}

/* ---- create ---- */

static void create_help(void)
{
	printf("usage: segue experiment create NAME --variant NAME:CONFIG --variant NAME:CONFIG...\n"
	       "                                [--weights W,W,...] [--metric M] [--guardrail M]...\n"
	       "                                [--salt S] [--workspace DIR] [--events URL]\n\n"
	       "Defines an experiment, in state draft (`segue experiment start NAME` starts it).\n"
	       "The first variant is the control. A listener is assigned a variant by XXH3 of\n"
	       "(salt, user id) into %d buckets, cut in proportion to the weights: the same\n"
	       "on every server, for the life of the experiment.\n\n"
	       "  -v, --variant NAME:CONFIG  2..%d variants (or one that interleaves); CONFIG is\n"
	       "                       comma-separated KEY=VALUE of:\n"
	       "                         model=NAME (a recommender, or interleave:A+B for a\n"
	       "                           team-draft interleaving of two)\n"
	       "                         diversity=0..1 novelty=0..10 quality=0..10\n"
	       "                         max_per_artist=0..100 rerank=0|1\n"
	       "                         content= cooc= als= ease= rp3= (the hybrid's weights, >= 0)\n"
	       "                         version=champion|challenger|N (the model version that\n"
	       "                           answers: the registry's alias, or registry version N;\n"
	       "                           default the champion). `segue serve` holds the\n"
	       "                           champion and the challenger, so the version must be\n"
	       "                           one of them now (`segue models promote N --alias\n"
	       "                           challenger` first), else create refuses it\n"
	       "                       what it does not name is the request's own\n"
	       "      --weights W,...  traffic weights, one per variant, 1..%d (default equal)\n"
	       "  -m, --metric M       primary metric (default play_rate): play_rate, like_rate,\n"
	       "                       skip_rate, save_rate, discovery_rate, first_play_position\n"
	       "  -g, --guardrail M    a metric that must not get worse (up to %d)\n"
	       "      --salt S         the assignment's salt, 1..%d of [A-Za-z0-9_.:-]\n"
	       "                       (default: a random one)\n" STORE_HELP "\n"
	       "Examples:\n"
	       "  segue experiment create diversity --variant control:model=hybrid \\\n"
	       "      --variant treatment:model=hybrid,diversity=0.6 --guardrail skip_rate\n"
	       "  segue experiment create new-model --variant control:version=champion \\\n"
	       "      --variant challenger:version=challenger --guardrail skip_rate\n",
	       EXP_BUCKETS, EXP_MAX_VARIANTS, EXP_BUCKETS, EXP_MAX_GUARDRAILS, EXP_NAME_MAX);
}

/* "50,50": one weight per variant into e. */
static int parse_weights(const char *s, experiment *e)
{
	size_t i = 0;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		unsigned long w = strtoul(p, &end, 10);
		if (end == p || *p == '-' || *p == '+' || errno || w < 1 || w > EXP_BUCKETS || i == e->nvariants ||
		    (*end != ',' && *end != '\0'))
			return -1;
		e->variant[i++].weight = (unsigned)w;
		p = *end ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return -1;
	}
	return i == e->nvariants ? 0 : -1;
}

/* The model versions e's variants name (version=) must be ones `segue
 * serve` holds now: the champion (always: it is the server's default), the
 * registry's challenger, or registry version N when the champion or the
 * challenger is N. Otherwise the server would answer that variant with the
 * champion (and count a fallback), and the experiment would compare the
 * champion with itself: an error here rather than a result that means
 * nothing. Reads the registry of workspace ws (NULL: the default one). */
static int variants_versions_held(const char *ws, const experiment *e, seg_error *err)
{
	char wsbuf[PATH_MAX];
	int aliases[2] = {0, 0}, read = 0; /* the champion's and the challenger's registry versions; 0: none */
	static const char *const alias[2] = {"champion", "challenger"};
	ws = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	for (size_t i = 0; i < e->nvariants; i++) {
		exp_config c;
		if (exp_config_parse(e->variant[i].config, &c, NULL) < 0 || c.version == EXP_VERSION_UNSET ||
		    c.version == EXP_VERSION_CHAMPION)
			continue;
		for (int a = 0; a < 2 && !read; a++) {
			int rc = registry_alias_get(ws, alias[a], &aliases[a], err);
			if (rc < 0 && rc != SEG_ENOTFOUND)
				return rc;
		}
		read = 1;
		seg_error_clear(err);
		if (c.version == EXP_VERSION_CHALLENGER && aliases[1] == 0)
			return seg_error_set(err, SEG_EINVAL,
			                     "variant %s names version=challenger, but the registry of %s names no "
			                     "challenger: promote one first (segue models promote VERSION --alias "
			                     "challenger)",
			                     e->variant[i].name, ws);
		if (c.version > 0 && c.version != aliases[0] && c.version != aliases[1])
			return seg_error_set(err, SEG_EINVAL,
			                     "variant %s names version=%d, which is neither the champion nor the "
			                     "challenger of the registry of %s: `segue serve` holds only those two "
			                     "(segue models promote %d --alias challenger)",
			                     e->variant[i].name, c.version, ws, c.version);
	}
	return 0;
}

static int exp_create(int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{"variant", required_argument, NULL, 'v'}, {"weights", required_argument, NULL, O_WEIGHTS},
		{"metric", required_argument, NULL, 'm'},  {"guardrail", required_argument, NULL, 'g'},
		{"salt", required_argument, NULL, O_SALT}, STORE_OPTIONS, {0},
	};
	/* clang-format on */
	const char *ws = NULL, *events = NULL, *weights = NULL, *salt = NULL, *name = NULL;
	experiment e = {0};
	seg_error err = {0};
	strcpy(e.metric, "play_rate");
	int c;
	while ((c = getopt_long(argc, argv, "w:v:m:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_EVENTS: events = optarg; break;
		case 'v':
			if (e.nvariants == EXP_MAX_VARIANTS)
				return cli__usage_error("experiment create", "at most %s variants", "8");
			if (exp_variant_parse(optarg, &e.variant[e.nvariants], &err) < 0)
				return cli__usage_error("experiment create", "--variant: %s", err.msg);
			e.nvariants++;
			break;
		case O_WEIGHTS: weights = optarg; break;
		case 'm':
			if (!exp_metric_valid(optarg))
				return cli__usage_error(
					"experiment create",
					"unknown metric '%s' (play_rate, like_rate, skip_rate, save_rate, "
					"discovery_rate, first_play_position)",
					optarg);
			strcpy(e.metric, optarg);
			break;
		case 'g':
			if (!exp_metric_valid(optarg))
				return cli__usage_error("experiment create", "unknown guardrail metric '%s'", optarg);
			if (e.nguardrails == EXP_MAX_GUARDRAILS)
				return cli__usage_error("experiment create", "at most %s guardrails", "8");
			strcpy(e.guardrail[e.nguardrails++], optarg);
			break;
		case O_SALT: salt = optarg; break;
		case 'h': create_help(); return EXIT_OK;
		default: return cli__usage_error("experiment create", "%s", "unknown option");
		}
	}
	int rc = one_name("experiment create", argc, argv, &name);
	if (rc)
		return rc;
	if (strlen(name) > EXP_NAME_MAX)
		return cli__usage_error("experiment create", "the name '%s' is longer than 64 bytes", name);
	strcpy(e.name, name);
	if (e.nvariants == 0)
		return cli__usage_error("experiment create", "%s",
		                        "give the variants: --variant control:model=hybrid --variant "
		                        "treatment:model=hybrid,diversity=0.6");
	for (size_t i = 0; i < e.nvariants; i++)
		e.variant[i].weight = 1;
	if (weights && parse_weights(weights, &e) < 0)
		return cli__usage_error("experiment create",
		                        "--weights '%s' must be one whole number 1..10000 per variant, comma-separated",
		                        weights);
	if (salt) {
		if (strlen(salt) > EXP_NAME_MAX)
			return cli__usage_error("experiment create", "--salt '%s' is longer than 64 bytes", salt);
		strcpy(e.salt, salt);
	} else
		exp_salt_new(e.salt);
	e.state = EXP_DRAFT;
	e.created_ms = now_ms();
	if (exp_check(&e, &err) < 0)
		return cli__usage_error("experiment create", "%s", err.msg);
	if (variants_versions_held(ws, &e, &err) < 0)
		return cli__fail(&err);
	evstore *s;
	if (store_open(ws, events, 1, &s, &err) < 0 || evstore_experiment_create(s, &e, &err) < 0) {
		evstore_close(s);
		return cli__fail(&err);
	}
	evstore_close(s);
	printf("created ");
	print_experiment(&e);
	printf("start it with: segue experiment start %s\n", e.name);
	return EXIT_OK;
}

/* ---- list ---- */

static int exp_list(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, O_JSON}, STORE_OPTIONS, {0}};
	const char *ws = NULL, *events = NULL;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_EVENTS: events = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
			printf("usage: segue experiment list [--json] [--workspace DIR] [--events URL]\n\n"
			       "Lists the experiments, oldest first: name, state, variants, primary metric.\n\n"
			       "      --json           {\"experiments\": [...]} as GET /api/experiments "
			       "answers\n" STORE_HELP);
			return EXIT_OK;
		default: return cli__usage_error("experiment list", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return cli__usage_error("experiment list", "unexpected argument '%s'", argv[optind]);
	seg_error err = {0};
	evstore *s;
	experiment *list = NULL;
	size_t n = 0;
	int rc = store_open(ws, events, 0, &s, &err);
	if (rc == SEG_ENOTFOUND && events == NULL) {
		/* A workspace without a store has no experiments: not an error. */
		puts(json ? "{\"experiments\":[]}" : "no experiments yet (segue experiment create NAME ...)");
		return EXIT_OK;
	}
	if (rc < 0 || evstore_experiment_list(s, &list, &n, &err) < 0) {
		evstore_close(s);
		return cli__fail(&err);
	}
	evstore_close(s);
	strbuf sb = {0};
	if (json) {
		strbuf_puts(&sb, "{\"experiments\":[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				strbuf_putc(&sb, ',');
			exp_json(&list[i], &sb);
		}
		strbuf_puts(&sb, "]}\n");
	} else if (n == 0) {
		strbuf_puts(&sb, "no experiments yet (segue experiment create NAME ...)\n");
	} else {
		strbuf_printf(&sb, "%-24s %-8s %-9s %-20s %s\n", "NAME", "STATE", "VARIANTS", "METRIC", "CREATED");
		for (size_t i = 0; i < n; i++) {
			char t[64];
			strbuf_printf(&sb, "%-24s %-8s %-9zu %-20s %s\n", list[i].name, exp_state_name(list[i].state),
			              list[i].nvariants, list[i].metric, utc(list[i].created_ms, t, sizeof t));
		}
	}
	free(list);
	fputs(strbuf_cstr(&sb), stdout);
	rc = sb.oom ? cli__fail(&(seg_error){.code = SEG_ENOMEM, .msg = "out of memory"}) : EXIT_OK;
	strbuf_free(&sb);
	return rc;
}

/* ---- start, stop, show ---- */

/* start and stop: one step of draft -> running -> stopped. */
static int exp_transition(int argc, char **argv, int to)
{
	static const struct option opts[] = {STORE_OPTIONS, {0}};
	const char *cmd = to == EXP_RUNNING ? "experiment start" : "experiment stop", *ws = NULL, *events = NULL;
	const char *name = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_EVENTS: events = optarg; break;
		case 'h':
			if (to == EXP_RUNNING)
				printf("usage: segue experiment start NAME [--workspace DIR] [--events URL]\n\n"
				       "Starts a draft experiment: from now on `segue serve` assigns listeners to its\n"
				       "variants and logs which one served them. Its start time separates the\n"
				       "events before it (the CUPED covariate) from those it is judged "
				       "on.\n\n" STORE_HELP);
			else
				printf("usage: segue experiment stop NAME [--workspace DIR] [--events URL]\n\n"
				       "Stops a running experiment: listeners get the default recommendations again.\n"
				       "Its events stay; `segue experiment report NAME` still analyses them. A "
				       "stopped\n"
				       "experiment cannot be started again (create a new one, with a new "
				       "salt).\n\n" STORE_HELP);
			return EXIT_OK;
		default: return cli__usage_error(cmd, "%s", "unknown option");
		}
	}
	int rc = one_name(cmd, argc, argv, &name);
	if (rc)
		return rc;
	seg_error err = {0};
	experiment e;
	evstore *s;
	if (store_open(ws, events, 0, &s, &err) < 0 || evstore_experiment_get(s, name, &e, &err) < 0)
		goto fail;
	if (to == EXP_RUNNING && e.state != EXP_DRAFT) {
		seg_error_set(&err, SEG_EINVAL, "experiment %s is %s: only a draft can start%s", name,
		              exp_state_name(e.state),
		              e.state == EXP_STOPPED ? " (create a new experiment to run it again)" : "");
		goto fail;
	}
	if (to == EXP_STOPPED && e.state != EXP_RUNNING) {
		seg_error_set(&err, SEG_EINVAL, "experiment %s is %s: only a running experiment can stop", name,
		              exp_state_name(e.state));
		goto fail;
	}
	e.state = to;
	*(to == EXP_RUNNING ? &e.started_ms : &e.stopped_ms) = now_ms();
	if (evstore_experiment_update(s, &e, &err) < 0)
		goto fail;
	evstore_close(s);
	char t[64];
	printf("experiment %s %s at %s\n", name, to == EXP_RUNNING ? "started" : "stopped",
	       utc(to == EXP_RUNNING ? e.started_ms : e.stopped_ms, t, sizeof t));
	return EXIT_OK;
fail:
	evstore_close(s);
	return cli__fail(&err);
}

static int exp_show(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, O_JSON}, STORE_OPTIONS, {0}};
	const char *ws = NULL, *events = NULL, *name = NULL;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_EVENTS: events = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
			printf("usage: segue experiment show NAME [--json] [--workspace DIR] [--events URL]\n\n"
			       "Prints an experiment's definition and state.\n\n"
			       "      --json           the object GET /api/experiments/NAME answers\n" STORE_HELP);
			return EXIT_OK;
		default: return cli__usage_error("experiment show", "%s", "unknown option");
		}
	}
	int rc = one_name("experiment show", argc, argv, &name);
	if (rc)
		return rc;
	seg_error err = {0};
	experiment e;
	evstore *s;
	if (store_open(ws, events, 0, &s, &err) < 0 || evstore_experiment_get(s, name, &e, &err) < 0) {
		evstore_close(s);
		return cli__fail(&err);
	}
	evstore_close(s);
	if (json) {
		strbuf sb = {0};
		exp_json(&e, &sb);
		puts(strbuf_cstr(&sb));
		strbuf_free(&sb);
	} else
		print_experiment(&e);
	return EXIT_OK;
}

/* ---- report and export ---- */

/* Reads experiment `name` and all its events into a finished analysis. */
static int analyse(const char *ws, const char *events, const char *name, const an_options *o, analysis **out,
                   seg_error *err)
{
	experiment e;
	evstore *s;
	analysis *a = NULL;
	int rc = store_open(ws, events, 0, &s, err);
	if (rc == 0)
		rc = evstore_experiment_get(s, name, &e, err);
	if (rc == 0)
		rc = analysis_create(&e, o, &a, err);
	if (rc == 0) {
		rc = evstore_scan_experiment(s, name, analysis_add, a, err);
		/* A code without a message is analysis_add's: the store broke
		 * the order it promises (each user's events together). */
		if (rc != 0 && err->msg[0] == '\0')
			rc = seg_error_set(err, rc < 0 ? rc : SEG_EINVAL,
			                   "the event store gave experiment %s's events out of order", name);
	}
	if (rc == 0)
		rc = analysis_finish(a, err);
	if (rc < 0 && err->msg[0] == '\0')
		seg_error_set(err, rc, "analysing experiment %s: %s", name, seg_strerror(rc));
	evstore_close(s);
	if (rc < 0) {
		analysis_free(a);
		a = NULL;
	}
	*out = a;
	return rc;
}

static int exp_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, O_JSON},
		{"bh", no_argument, NULL, O_BH},
		{"no-cuped", no_argument, NULL, O_NO_CUPED},
		{"alpha", required_argument, NULL, O_ALPHA},
		STORE_OPTIONS,
		{0},
	};
	const char *ws = NULL, *events = NULL, *name = NULL;
	an_options o;
	an_options_default(&o);
	int json = 0, c;
	double v;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_EVENTS: events = optarg; break;
		case O_JSON: json = 1; break;
		case O_BH: o.correction = 1; break;
		case O_NO_CUPED: o.cuped = 0; break;
		case O_ALPHA:
			if (cli__number(optarg, 1e-9, 0.5, &v) < 0)
				return cli__usage_error("experiment report", "--alpha '%s' must be in (0, 0.5]",
				                        optarg);
			o.alpha = v;
			break;
		case 'h':
			printf("usage: segue experiment report NAME [--json] [--bh] [--no-cuped] [--alpha 0.05]\n"
			       "                                [--workspace DIR] [--events URL]\n\n"
			       "Analyses an experiment from its events: per variant the users, impressions and\n"
			       "per-user metrics (play, like, skip, save and discovery rates, the position of\n"
			       "the first play); each treatment against the control with the difference and\n"
			       "relative lift, their confidence intervals (Welch's t; the delta method for the\n"
			       "ratios), p-values adjusted across metrics, CUPED with the listeners' events\n"
			       "before the start; the sample-ratio-mismatch test (alarm at p < 0.001); the\n"
			       "always-valid sequential view day by day; and for an interleaved variant the\n"
			       "share of listeners preferring team B.\n\n"
			       "      --json           the report as GET /api/experiments/NAME/report answers\n"
			       "      --bh             Benjamini-Hochberg across metrics (default Holm)\n"
			       "      --no-cuped       no CUPED adjustment\n"
			       "      --alpha A        the tests' level (default 0.05)\n" STORE_HELP);
			return EXIT_OK;
		default: return cli__usage_error("experiment report", "%s", "unknown option");
		}
	}
	int rc = one_name("experiment report", argc, argv, &name);
	if (rc)
		return rc;
	seg_error err = {0};
	analysis *a;
	if (analyse(ws, events, name, &o, &a, &err) < 0)
		return cli__fail(&err);
	strbuf sb = {0};
	if (json) {
		analysis_json(a, &sb);
		strbuf_putc(&sb, '\n');
	} else
		analysis_text(a, &sb);
	analysis_free(a);
	fputs(strbuf_cstr(&sb), stdout);
	rc = sb.oom ? cli__fail(&(seg_error){.code = SEG_ENOMEM, .msg = "out of memory"}) : EXIT_OK;
	strbuf_free(&sb);
	return rc;
}

static int exp_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		STORE_OPTIONS,
		{0},
	};
	const char *ws = NULL, *events = NULL, *output = NULL, *name = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_EVENTS: events = optarg; break;
		case 'f':
			if (strcmp(optarg, "csv") != 0)
				return cli__usage_error("experiment export", "unknown format '%s' (csv)", optarg);
			break;
		case 'o': output = optarg; break;
		case 'h':
			printf("usage: segue experiment export NAME [--format csv] [--output FILE]\n"
			       "                                [--workspace DIR] [--events URL]\n\n"
			       "Writes one CSV row per exposed listener: user_id, variant, the variant\n"
			       "assignment gives, impressions, and each metric's numerator and denominator\n"
			       "(and those before the start, for CUPED), so that the report can be recomputed\n"
			       "exactly with scipy, R or pandas.\n\n"
			       "  -f, --format csv     the only format\n"
			       "  -o, --output FILE    write FILE (atomically) instead of standard "
			       "output\n" STORE_HELP);
			return EXIT_OK;
		default: return cli__usage_error("experiment export", "%s", "unknown option");
		}
	}
	int rc = one_name("experiment export", argc, argv, &name);
	if (rc)
		return rc;
	seg_error err = {0};
	an_options o;
	an_options_default(&o);
	analysis *a;
	if (analyse(ws, events, name, &o, &a, &err) < 0)
		return cli__fail(&err);
	strbuf sb = {0};
	analysis_csv(a, &sb);
	analysis_free(a);
	if (sb.oom) {
		strbuf_free(&sb);
		return cli__fail(&(seg_error){.code = SEG_ENOMEM, .msg = "out of memory"});
	}
	if (output == NULL) {
		fwrite(sb.data ? sb.data : "", 1, sb.len, stdout);
		strbuf_free(&sb);
		return EXIT_OK;
	}
	atomicfile *f;
	rc = atomicfile_open(&f, output, &err);
	if (rc == 0) {
		fwrite(sb.data ? sb.data : "", 1, sb.len, atomicfile_stream(f));
		rc = atomicfile_commit(f, &err);
	}
	strbuf_free(&sb);
	if (rc < 0)
		return cli__fail(&err);
	fprintf(stderr, "wrote %s\n", output);
	return EXIT_OK;
}

/* ---- power ---- */

static int exp_power(int argc, char **argv)
{
	static const struct option opts[] = {
		{"baseline", required_argument, NULL, O_BASELINE},
		{"mde", required_argument, NULL, O_MDE},
		{"alpha", required_argument, NULL, O_ALPHA},
		{"power", required_argument, NULL, O_POWER},
		{"sd", required_argument, NULL, O_SD},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	double baseline = NAN, mde = NAN, alpha = 0.05, power = 0.8, sd = NAN;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		double *to = NULL;
		const char *what = NULL;
		switch (c) {
		case O_BASELINE: to = &baseline, what = "--baseline '%s' must be a number"; break;
		case O_MDE: to = &mde, what = "--mde '%s' must be a number"; break;
		case O_ALPHA: to = &alpha, what = "--alpha '%s' must be a number"; break;
		case O_POWER: to = &power, what = "--power '%s' must be a number"; break;
		case O_SD: to = &sd, what = "--sd '%s' must be a number > 0"; break;
		case O_JSON: json = 1; break;
		case 'h':
			printf("usage: segue experiment power --baseline P --mde D [--alpha 0.05] [--power 0.8] "
			       "[--json]\n"
			       "       segue experiment power --sd S --mde D [--alpha 0.05] [--power 0.8] [--json]\n\n"
			       "The listeners each variant needs (two variants, equal split) for a two-sided test\n"
			       "at level alpha to detect an absolute difference D with the given power.\n\n"
			       "      --baseline P     the control's rate, 0 < P < 1 (a proportion: play_rate...)\n"
			       "      --mde D          the smallest difference worth detecting, absolute\n"
			       "                       (0.01 = one point: 0.12 -> 0.13)\n"
			       "      --sd S           for a mean metric: the per-listener standard deviation\n"
			       "                       (then --baseline is not needed)\n"
			       "      --alpha A        false-positive rate (default 0.05)\n"
			       "      --power B        chance to detect D when it is there (default 0.8)\n"
			       "      --json           {\"users_per_variant\": n, ...the inputs} as GET /api/power\n"
			       "  -h, --help           this text\n");
			return EXIT_OK;
		default: return cli__usage_error("experiment power", "%s", "unknown option");
		}
		if (to && cli__number(optarg, -1e12, 1e12, to) < 0)
			return cli__usage_error("experiment power", what, optarg);
	}
	if (optind != argc)
		return cli__usage_error("experiment power", "unexpected argument '%s'", argv[optind]);
	if (isnan(mde))
		return cli__usage_error("experiment power", "%s", "give --mde D (the absolute difference to detect)");
	if (isnan(sd) && isnan(baseline))
		return cli__usage_error("experiment power", "%s",
		                        "give --baseline P (a rate) or --sd S (a mean metric's standard deviation)");
	if (!isnan(sd) && !isnan(baseline))
		return cli__usage_error("experiment power", "%s",
		                        "give --baseline (a rate) or --sd (a mean), not both");
	if (!isnan(sd) && !(sd > 0))
		return cli__usage_error("experiment power", "%s", "--sd must be > 0");
	seg_error err = {0};
	double n;
	int rc = isnan(sd) ? stats_power_proportion(baseline, mde, alpha, power, &n, &err)
	                   : stats_power_mean(sd, mde, alpha, power, &n, &err);
	if (rc < 0)
		return cli__usage_error("experiment power", "%s", err.msg);
	if (json) {
		printf("{\"users_per_variant\":%.0f,", n);
		if (isnan(sd))
			printf("\"baseline\":%.17g,", baseline);
		else
			printf("\"sd\":%.17g,", sd);
		printf("\"mde\":%.17g,\"alpha\":%.17g,\"power\":%.17g}\n", mde, alpha, power);
	} else if (isnan(sd))
		printf("%.0f users per variant (%.0f in all) to detect %g -> %g (a %+.1f%% lift) at alpha %g with "
		       "power %g\n",
		       n, 2 * n, baseline, baseline + mde, 100 * mde / baseline, alpha, power);
	else
		printf("%.0f users per variant (%.0f in all) to detect a difference of %g in a mean with sd %g at "
		       "alpha %g with power %g\n",
		       n, 2 * n, mde, sd, alpha, power);
	return EXIT_OK;
}

/* ---- dispatch ---- */

static int exp_start(int argc, char **argv) { return exp_transition(argc, argv, EXP_RUNNING); }
static int exp_stop(int argc, char **argv) { return exp_transition(argc, argv, EXP_STOPPED); }

static const cli_sub SUBS[] = {
	{"create", exp_create, "define an experiment (draft): variants, weights, metric, guardrails"},
	{"list", exp_list, "list the experiments and their states"},
	{"start", exp_start, "start a draft experiment: listeners get assigned"},
	{"stop", exp_stop, "stop a running experiment"},
	{"show", exp_show, "print an experiment's definition"},
	{"report", exp_report, "analyse an experiment: lifts with CIs, SRM, CUPED, sequential view"},
	{"export", exp_export, "one CSV row per listener, to recompute the report elsewhere"},
	{"power", exp_power, "users per variant to detect a difference"},
};

static void experiment_help(FILE *out)
{
	fprintf(out, "usage: segue experiment COMMAND [OPTIONS]\n\n"
	             "A/B experiments over the recommenders, stored in the event store with the\n"
	             "listeners' events (WORKSPACE/" EVSTORE_FILE " unless --events names another).\n\n"
	             "commands:\n");
	for (size_t i = 0; i < sizeof SUBS / sizeof *SUBS; i++)
		fprintf(out, "  %-8s %s\n", SUBS[i].name, SUBS[i].summary);
	fprintf(out, "\n`segue experiment COMMAND --help` describes each.\n");
}

int cli__experiment(int argc, char **argv)
{
	return cli__dispatch("experiment", SUBS, sizeof SUBS / sizeof *SUBS, experiment_help, argc, argv);
}
