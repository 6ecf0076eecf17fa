/* cmd_models.c: `segue models list|show|register|promote|rollback`: the
 * workspace's model registry (pipeline/registry.h) from the command line.
 * A thin layer: the registry's file and its rules are registry.h's; this
 * file reads a version's lineage from what the workspace holds
 * (evaluation.json beside the model, the model's origin section) and, for
 * `promote --experiment`, asks the experiment's analysis (analysis.h)
 * whether its result allows the promotion. Exit codes: 0 ok, 1 failed,
 * 2 bad usage. */
#include "cli/cli_internal.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "core/strbuf.h"
#include "engine/recommender.h"
#include "experiment/analysis.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"
#include "pipeline/registry.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { O_JSON = 256, O_ALIAS, O_EXPERIMENT, O_EVENTS, O_RUN_ID };

#define WS_HELP                                                                       \
	"  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data)\n" \
	"  -h, --help           this text\n"

static void models_help(FILE *f)
{
	fprintf(f, "usage: segue models COMMAND [options]\n\n"
	           "The model registry of a workspace (WORKSPACE/" REGISTRY_FILE "): registered versions\n"
	           "of the published models (models/vN) with their lineage, and the aliases champion\n"
	           "(what `segue serve` serves) and challenger.\n\n"
	           "  list [--json]                   the registered versions and their aliases\n"
	           "  show VERSION [--json]           one version's lineage: model, run, data, params, metrics\n"
	           "  register [vN] [--run-id ID]     registers published model vN (default the latest)\n"
	           "  promote VERSION [--alias A]     points champion (or challenger) at VERSION\n"
	           "          [--experiment NAME]     ... only when that experiment's result allows it\n"
	           "  rollback                        champion back to the one before, a step at a time\n\n"
	           "VERSION is the registry's version number (the first column of `segue models list`),\n"
	           "not the model's vN. `segue models COMMAND --help` says more.\n");
}

static const char *workspace(const char *ws, char *buf, size_t cap) { return catalog_workspace(ws, buf, cap); }

/* "2025-12-05 10:00:00 UTC". */
static const char *utc(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

/* A registry version number: 1..INT_MAX digits and nothing else. */
static int parse_version(const char *s, int *out)
{
	double d;
	if (s[0] == 'v' || cli__number(s, 1, INT_MAX, &d) < 0 || d != (double)(int)d)
		return -1;
	*out = (int)d;
	return 0;
}

static int fail_oom(void) { return cli__fail(&(seg_error){.code = SEG_ENOMEM, .msg = "out of memory"}); }

/* The whole registry, parsed. */
static int load_registry(const char *ws, json_t **root, seg_error *err)
{
	strbuf sb = {0};
	int rc = registry_json(ws, &sb, err);
	*root = rc < 0 ? NULL : json_loads(strbuf_cstr(&sb), 0, NULL);
	strbuf_free(&sb);
	if (rc == 0 && *root == NULL)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	return rc;
}

/* "champion, challenger": the aliases naming version v, or "". */
static void aliases_of(json_t *root, int v, char *buf, size_t cap)
{
	const char *key;
	json_t *a;
	buf[0] = '\0';
	json_object_foreach(json_object_get(root, "aliases"), key, a)
	{
		if (json_integer_value(a) == v) {
			size_t len = strlen(buf);
			snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", key);
		}
	}
}

static const char *metric_text(json_t *metrics, const char *name, char *buf, size_t cap)
{
	json_t *m = json_object_get(metrics, name);
	if (!json_is_number(m))
		return "-";
	snprintf(buf, cap, "%.4f", json_number_value(m));
	return buf;
}

/* ---- list ---- */

static int models_list(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
	                                     {"workspace", required_argument, NULL, 'w'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *ws = NULL;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
			printf("usage: segue models list [--json] [--workspace DIR]\n\n"
			       "Lists the registered versions, oldest first: the model (models/vN), the run\n"
			       "that made it, its R-precision and NDCG (when registered with an evaluation)\n"
			       "and the aliases naming it.\n\n"
			       "      --json           the registry as stored: {\"format\", \"versions\",\n"
			       "                       \"aliases\", \"champion_stack\", \"history\"}\n" WS_HELP);
			return EXIT_OK;
		default: return cli__usage_error("models list", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return cli__usage_error("models list", "unexpected argument '%s'", argv[optind]);
	char wsbuf[PATH_MAX];
	ws = workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	json_t *root;
	if (load_registry(ws, &root, &err) < 0)
		return cli__fail(&err);
	if (json) {
		char *text = json_dumps(root, JSON_INDENT(2));
		json_decref(root);
		if (text == NULL)
			return fail_oom();
		puts(text);
		free(text);
		return EXIT_OK;
	}
	json_t *versions = json_object_get(root, "versions");
	if (json_array_size(versions) == 0) {
		puts("no registered versions yet (segue models register)");
		json_decref(root);
		return EXIT_OK;
	}
	printf("%-8s %-8s %-24s %-9s %-9s %-24s %s\n", "VERSION", "MODEL", "RUN", "R-PREC", "NDCG", "CREATED",
	       "ALIASES");
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v)
	{
		int n = (int)json_integer_value(json_object_get(v, "version"));
		char model[16], al[64], t[64], m1[32], m2[32];
		snprintf(model, sizeof model, "v%d", (int)json_integer_value(json_object_get(v, "model")));
		aliases_of(root, n, al, sizeof al);
		const char *run = json_string_value(json_object_get(v, "run_id"));
		json_t *metrics = json_object_get(v, "metrics");
		printf("%-8d %-8s %-24s %-9s %-9s %-24s %s\n", n, model, run && run[0] ? run : "-",
		       metric_text(metrics, "r_precision", m1, sizeof m1), metric_text(metrics, "ndcg", m2, sizeof m2),
		       utc(json_integer_value(json_object_get(v, "created_ms")), t, sizeof t), al);
	}
	json_decref(root);
	return EXIT_OK;
}

/* ---- show ---- */

static int models_show(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
	                                     {"workspace", required_argument, NULL, 'w'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *ws = NULL;
	int json = 0, c, version;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
			printf("usage: segue models show VERSION [--json] [--workspace DIR]\n\n"
			       "Prints one registered version's lineage: the model (models/vN), the run that\n"
			       "made it, the catalogue state it was trained on, its parameters and metrics,\n"
			       "and the aliases naming it.\n\n"
			       "      --json           the version's entry of the registry, with "
			       "\"aliases\"\n" WS_HELP);
			return EXIT_OK;
		default: return cli__usage_error("models show", "%s", "unknown option");
		}
	}
	if (optind >= argc)
		return cli__usage_error("models show", "%s", "give the VERSION (segue models list)");
	if (optind + 1 < argc)
		return cli__usage_error("models show", "unexpected argument '%s'", argv[optind + 1]);
	if (parse_version(argv[optind], &version) < 0)
		return cli__usage_error("models show", "'%s' is not a registry version number (1, 2, ...)",
		                        argv[optind]);
	char wsbuf[PATH_MAX];
	ws = workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	strbuf sb = {0};
	if (registry_show(ws, version, &sb, &err) < 0) {
		strbuf_free(&sb);
		return cli__fail(&err);
	}
	if (json) {
		puts(strbuf_cstr(&sb));
		strbuf_free(&sb);
		return EXIT_OK;
	}
	json_t *v = json_loads(strbuf_cstr(&sb), 0, NULL);
	strbuf_free(&sb);
	if (v == NULL)
		return fail_oom();
	char t[64];
	const char *run = json_string_value(json_object_get(v, "run_id"));
	const char *data = json_string_value(json_object_get(v, "data_hash"));
	printf("version %d: model v%d\n", version, (int)json_integer_value(json_object_get(v, "model")));
	printf("  created  %s\n", utc(json_integer_value(json_object_get(v, "created_ms")), t, sizeof t));
	printf("  run      %s\n", run && run[0] ? run : "-");
	printf("  data     %s\n", data && data[0] ? data : "-");
	const char *section[] = {"params", "metrics"};
	for (size_t s = 0; s < 2; s++) {
		json_t *obj = json_object_get(v, section[s]);
		printf("  %s%s\n", section[s], json_object_size(obj) ? ":" : "  -");
		const char *key;
		json_t *val;
		json_object_foreach(obj, key, val)
		{
			char *text = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
			printf("    %-22s %s\n", key, text ? text : "?");
			free(text);
		}
	}
	printf("  aliases  ");
	size_t i;
	json_t *a;
	json_t *al = json_object_get(v, "aliases");
	json_array_foreach(al, i, a) printf("%s%s", i ? ", " : "", json_string_value(a));
	printf("%s\n", json_array_size(al) ? "" : "-");
	json_decref(v);
	return EXIT_OK;
}

/* ---- register ---- */

/* The lineage of model version `model` from what lies beside it: the
 * catalogue state from the model's origin section into data[cap], and from
 * evaluation.json (when present) the default recommender's R-precision and
 * NDCG into *metrics, with what was scored into *params. The evaluation's
 * row of the default recommender with the most playlists is taken. */
static int lineage(const char *ws, int model, char *data, size_t cap, json_t *params, json_t *metrics, seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_model_file(ws, model, path, sizeof path, err);
	if (rc < 0)
		return rc;
	container_file *m;
	data[0] = '\0';
	if (container_file_open(&m, path, err) == 0) {
		size_t size;
		const catalog_origin *o = container_file_section(m, CATALOG_ORIGIN_SECTION, &size);
		if (o != NULL && size == sizeof *o) {
			snprintf(data, cap, "%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64,
			         (uint64_t)o->stamp[0], (uint64_t)o->stamp[1], (uint64_t)o->stamp[2],
			         (uint64_t)o->stamp[3]);
			json_object_set_new(params, "code_version", json_string(o->code));
		}
		container_file_close(m);
	}
	seg_error_clear(err);
	char *slash = strrchr(path, '/');
	snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s", WORKSPACE_EVALUATION_FILE);
	json_t *ev = json_load_file(path, 0, NULL);
	if (ev == NULL)
		return 0; /* not evaluated: no metrics */
	size_t i;
	json_t *row, *best = NULL;
	json_array_foreach(json_object_get(ev, "results"), i, row)
	{
		const char *name = json_string_value(json_object_get(row, "model"));
		if (name && strcmp(name, RECOMMENDER_DEFAULT) == 0 &&
		    (best == NULL || json_integer_value(json_object_get(row, "lists")) >
		                             json_integer_value(json_object_get(best, "lists"))))
			best = row;
	}
	if (best != NULL) {
		const char *keys[] = {"r_precision", "ndcg"};
		for (size_t k = 0; k < 2; k++) {
			json_t *x = json_object_get(best, keys[k]);
			if (json_is_number(x))
				json_object_set_new(metrics, keys[k], json_real(json_number_value(x)));
		}
		json_object_set_new(params, "evaluated_recommender", json_string(RECOMMENDER_DEFAULT));
		json_t *split = json_object_get(json_object_get(ev, "protocol"), "split");
		if (json_is_string(split))
			json_object_set(params, "evaluation_split", split);
		json_object_set(params, "evaluation_playlists", json_object_get(best, "lists"));
	}
	json_decref(ev);
	return 0;
}

static int models_register(int argc, char **argv)
{
	static const struct option opts[] = {{"run-id", required_argument, NULL, O_RUN_ID},
	                                     {"workspace", required_argument, NULL, 'w'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *ws = NULL, *run_id = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_RUN_ID: run_id = optarg; break;
		case 'h':
			printf("usage: segue models register [vN] [--run-id ID] [--workspace DIR]\n\n"
			       "Registers the published model vN (default: the latest `segue train` wrote) as\n"
			       "the registry's next version, with its lineage: the catalogue state it was\n"
			       "trained on (the model's origin), and from models/vN/evaluation.json, when\n"
			       "`segue evaluate` wrote one, the default recommender's (" RECOMMENDER_DEFAULT
			       ") R-precision\n"
			       "and NDCG. It sets no alias (segue models promote).\n\n"
			       "      --run-id ID      the tracked run that made the model (segue runs "
			       "list)\n" WS_HELP);
			return EXIT_OK;
		default: return cli__usage_error("models register", "%s", "unknown option");
		}
	}
	if (optind + 1 < argc)
		return cli__usage_error("models register", "unexpected argument '%s'", argv[optind + 1]);
	char wsbuf[PATH_MAX];
	ws = workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	int model;
	if (optind < argc) {
		model = workspace_version_parse(argv[optind]);
		if (model <= 0)
			return cli__usage_error("models register", "'%s' is not a model version (v1, v2, ...)",
			                        argv[optind]);
	} else if ((model = workspace_models_latest(ws, &err)) < 0)
		return cli__fail(&err);
	char data[72];
	json_t *params = json_object(), *metrics = json_object();
	char *ptext = NULL, *mtext = NULL;
	int version = 0, rc = lineage(ws, model, data, sizeof data, params, metrics, &err);
	if (rc == 0) {
		ptext = json_dumps(params, JSON_COMPACT);
		mtext = json_dumps(metrics, JSON_COMPACT);
		rc = ptext && mtext ? registry_register(ws, model, run_id, data, ptext, mtext, &version, &err)
		                    : seg_error_set(&err, SEG_ENOMEM, "out of memory");
	}
	json_decref(params);
	json_decref(metrics);
	free(ptext);
	free(mtext);
	if (rc < 0)
		return cli__fail(&err);
	printf("registered model v%d as version %d\n", model, version);
	return EXIT_OK;
}

/* ---- promote ---- */

/* What the treatment's impressions say about the model version that
 * answered them (the server logs "hybrid@v7"), beside the analysis that
 * reads every event. */
typedef struct version_scan {
	analysis *a;
	const char *experiment, *treatment; /* the experiment and its variant */
	const char *want;                   /* the version's directory name ("v7") */
	size_t matched, other;              /* the treatment's impressions answered by `want`, by another version */
	char seen[64];                      /* the first other version seen */
} version_scan;

/* The directory name ("v7") of registry version `version`'s model into
 * buf; SEG_ENOTFOUND for an unknown version. */
static int version_dir(const char *ws, int version, char *buf, size_t cap, seg_error *err)
{
	registry_version *v = NULL;
	size_t n = 0;
	int rc = registry_list(ws, &v, &n, err);
	if (rc < 0)
		return rc;
	size_t i = 0;
	while (i < n && v[i].version != version)
		i++;
	if (i < n)
		snprintf(buf, cap, "v%d", v[i].model);
	else
		rc = seg_error_set(err, SEG_ENOTFOUND, "version %d is not registered (segue models list)", version);
	free(v);
	return rc;
}

static int version_scan_add(void *ctx, const ev_event *ev)
{
	version_scan *v = ctx;
	/* The scan also gives the listeners' events of other experiments. */
	if (ev->type == EV_IMPRESSION && strcmp(ev->experiment, v->experiment) == 0 &&
	    strcmp(ev->variant, v->treatment) == 0) {
		const char *at = strrchr(ev->model, '@');
		if (at != NULL && strcmp(at + 1, v->want) == 0)
			v->matched++;
		else if (at != NULL && v->other++ == 0)
			snprintf(v->seen, sizeof v->seen, "%s", at + 1);
	}
	return analysis_add(v->a, ev);
}

/* 0 when experiment `name` allows promoting registry version `version`: it
 * is stopped; its treatment variant (the one named "challenger", else the
 * only treatment) was answered by that version wherever its impressions
 * name one, and by it at least once when the variant's configuration names
 * a version (version=); and the treatment's primary metric comparison with
 * the control is significant and in the listeners' favour, and no
 * guardrail's is harmful. Else a negative code with the reason in err. */
static int experiment_allows(const char *ws, const char *events, const char *name, int version, seg_error *err)
{
	char where[PATH_MAX + 32];
	if (events == NULL) {
		if (workspace_path(ws, WS_EVENTS, where, sizeof where, err) < 0)
			return err->code;
		events = where;
	}
	evstore *s = NULL;
	analysis *a = NULL;
	experiment e;
	json_t *report = NULL;
	strbuf sb = {0};
	int rc = evstore_open(events, &s, err);
	if (rc == 0)
		rc = evstore_experiment_get(s, name, &e, err);
	if (rc < 0)
		goto out;
	if (e.state != EXP_STOPPED) {
		rc = seg_error_set(err, SEG_EINVAL,
		                   "experiment %s is %s: a promotion needs a finished (stopped) experiment "
		                   "(segue experiment stop %s)",
		                   name, exp_state_name(e.state), name);
		goto out;
	}
	const char *treatment = NULL, *config = "";
	for (size_t i = 1; i < e.nvariants; i++)
		if (strcmp(e.variant[i].name, "challenger") == 0) {
			treatment = e.variant[i].name;
			config = e.variant[i].config;
		}
	if (treatment == NULL && e.nvariants == 2) {
		treatment = e.variant[1].name;
		config = e.variant[1].config;
	}
	if (treatment == NULL) {
		rc = seg_error_set(err, SEG_EINVAL,
		                   "experiment %s has %zu variants and none named challenger: which one "
		                   "the promotion rests on is not clear",
		                   name, e.nvariants);
		goto out;
	}
	an_options o;
	an_options_default(&o);
	if ((rc = analysis_create(&e, &o, &a, err)) < 0)
		goto out;
	char want[32];
	if ((rc = version_dir(ws, version, want, sizeof want, err)) < 0)
		goto out;
	version_scan vs = {.a = a, .experiment = name, .treatment = treatment, .want = want};
	rc = evstore_scan_experiment(s, name, version_scan_add, &vs, err);
	if (rc != 0 && err->msg[0] == '\0')
		rc = seg_error_set(err, rc < 0 ? rc : SEG_EINVAL,
		                   "the event store gave experiment %s's events out of order", name);
	if (rc == 0)
		rc = analysis_finish(a, err);
	if (rc < 0)
		goto out;
	if (vs.other > 0) {
		rc = seg_error_set(err, SEG_EINVAL,
		                   "experiment %s is no evidence for version %d (%s): %zu of %s's lists were "
		                   "answered by another model (%s first)",
		                   name, version, want, vs.other, treatment, vs.seen);
		goto out;
	}
	exp_config cfg;
	if (vs.matched == 0 && exp_config_parse(config, &cfg, NULL) == 0 && cfg.version != EXP_VERSION_UNSET) {
		rc = seg_error_set(err, SEG_EINVAL,
		                   "experiment %s is no evidence for version %d (%s): none of %s's lists "
		                   "was answered by it",
		                   name, version, want, treatment);
		goto out;
	}
	analysis_json(a, &sb);
	report = sb.oom ? NULL : json_loads(strbuf_cstr(&sb), 0, NULL);
	if (report == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	int primary_ok = 0, seen = 0;
	const char *harmed = NULL;
	size_t i;
	json_t *cmp;
	json_array_foreach(json_object_get(report, "comparisons"), i, cmp)
	{
		const char *variant = json_string_value(json_object_get(cmp, "variant"));
		if (variant == NULL || strcmp(variant, treatment) != 0)
			continue;
		int significant = json_is_true(json_object_get(cmp, "significant"));
		int harmful = json_is_true(json_object_get(cmp, "harmful"));
		if (json_is_true(json_object_get(cmp, "primary"))) {
			seen = 1;
			/* harmful is significant in the direction that hurts
			 * listeners, so significant and not harmful helps them. */
			primary_ok = significant && !harmful;
		} else if (json_is_true(json_object_get(cmp, "guardrail")) && harmful && harmed == NULL)
			harmed = json_string_value(json_object_get(cmp, "metric"));
	}
	if (!seen || !primary_ok)
		rc = seg_error_set(err, SEG_EINVAL,
		                   "experiment %s does not favour %s: its primary metric %s is not significantly "
		                   "better than the control's (segue experiment report %s)",
		                   name, treatment, e.metric, name);
	else if (harmed != NULL)
		rc = seg_error_set(err, SEG_EINVAL,
		                   "experiment %s: %s harms the guardrail %s (segue experiment report %s)", name,
		                   treatment, harmed, name);
out:
	json_decref(report);
	strbuf_free(&sb);
	analysis_free(a);
	evstore_close(s);
	return rc;
}

static int models_promote(int argc, char **argv)
{
	static const struct option opts[] = {{"alias", required_argument, NULL, O_ALIAS},
	                                     {"experiment", required_argument, NULL, O_EXPERIMENT},
	                                     {"events", required_argument, NULL, O_EVENTS},
	                                     {"workspace", required_argument, NULL, 'w'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *ws = NULL, *alias = "champion", *exp = NULL, *events = NULL;
	int c, version;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_ALIAS: alias = optarg; break;
		case O_EXPERIMENT: exp = optarg; break;
		case O_EVENTS: events = optarg; break;
		case 'h':
			printf("usage: segue models promote VERSION [--alias champion|challenger]\n"
			       "                            [--experiment NAME [--events URL]] [--workspace DIR]\n\n"
			       "Points an alias (default champion) at registered VERSION. A new champion keeps\n"
			       "the one before it for `segue models rollback`; a running `segue serve` switches\n"
			       "to a new champion within a second (or at once on SIGHUP), without failing a\n"
			       "request.\n\n"
			       "      --alias A        champion or challenger\n"
			       "      --experiment NAME  promote only on that A/B experiment's result: it must be\n"
			       "                       stopped, and for its treatment (the variant named\n"
			       "                       challenger, else the only one beside the control) the\n"
			       "                       primary metric must be significantly better than the\n"
			       "                       control's (Holm-adjusted, as `segue experiment report`\n"
			       "                       says) with no guardrail significantly worse; and the\n"
			       "                       treatment's lists must have been answered by VERSION\n"
			       "                       (the impressions name the version that answered)\n"
			       "      --events URL     the experiment's event store (default WORKSPACE/" EVSTORE_FILE
			       ")\n" WS_HELP);
			return EXIT_OK;
		default: return cli__usage_error("models promote", "%s", "unknown option");
		}
	}
	if (optind >= argc)
		return cli__usage_error("models promote", "%s", "give the VERSION (segue models list)");
	if (optind + 1 < argc)
		return cli__usage_error("models promote", "unexpected argument '%s'", argv[optind + 1]);
	if (parse_version(argv[optind], &version) < 0)
		return cli__usage_error("models promote", "'%s' is not a registry version number (1, 2, ...)",
		                        argv[optind]);
	if (strcmp(alias, "champion") != 0 && strcmp(alias, "challenger") != 0)
		return cli__usage_error("models promote", "unknown alias '%s' (champion or challenger)", alias);
	if (events != NULL && exp == NULL)
		return cli__usage_error("models promote", "%s", "--events goes with --experiment");
	char wsbuf[PATH_MAX];
	ws = workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	if (exp != NULL && experiment_allows(ws, events, exp, version, &err) < 0)
		return cli__fail(&err);
	if (registry_alias_set(ws, alias, version, &err) < 0)
		return cli__fail(&err);
	printf("%s is now version %d\n", alias, version);
	return EXIT_OK;
}

/* ---- rollback ---- */

static int models_rollback(int argc, char **argv)
{
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *ws = NULL;
	int c, version;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'h':
			printf("usage: segue models rollback [--workspace DIR]\n\n"
			       "Points champion back at the version it named before the last promotion; again\n"
			       "goes one more step back. Fails when there is no earlier champion.\n\n" WS_HELP);
			return EXIT_OK;
		default: return cli__usage_error("models rollback", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return cli__usage_error("models rollback", "unexpected argument '%s'", argv[optind]);
	char wsbuf[PATH_MAX];
	ws = workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	if (registry_rollback(ws, &version, &err) < 0)
		return cli__fail(&err);
	printf("champion is back to version %d\n", version);
	return EXIT_OK;
}

int cli__models(int argc, char **argv)
{
	static const cli_sub subs[] = {{"list", models_list, NULL},
	                               {"show", models_show, NULL},
	                               {"register", models_register, NULL},
	                               {"promote", models_promote, NULL},
	                               {"rollback", models_rollback, NULL}};
	return cli__dispatch("models", subs, sizeof subs / sizeof *subs, models_help, argc, argv);
}
