/* cmd_pipeline.c: `segue pipeline run|show` (pipeline/pipeline.h). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/cli_internal.h"
#include "pipeline/pipeline.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void pipeline_help(FILE *out)
{
	fprintf(out, "usage: segue pipeline run [--workspace DIR] [--config FILE] [--from STAGE] [--only STAGE]\n"
	             "                          [--force STAGE]\n"
	             "       segue pipeline show [--workspace DIR]\n"
	             "\n"
	             "Runs the workspace's stages, each skipped when its inputs, parameters and code are\n"
	             "unchanged since it last succeeded (records in WORKSPACE/pipeline/state.json):\n"
	             "  ingest    the configured files into the catalogue\n"
	             "  validate  gates: rejected share, too few playlists, a feature's distribution shifted\n"
	             "            (PSI over deciles against the last good ingest)\n"
	             "  eda       the exploratory report (WORKSPACE/eda)\n"
	             "  features  content vectors, track facts, the training matrix (after validate)\n"
	             "  map, quality, cf, ease, rp3, title\n"
	             "            one model each, from features; independent, so they run side by side\n"
	             "            ([train] parallel at once, default 2)\n"
	             "  train     a new model version assembled from the parts\n"
	             "  evaluate  on the validation split (evaluation.json beside the model)\n"
	             "  register  into the registry, unless its R-precision falls below the champion's by\n"
	             "            more than the margin (the evaluation gate); alias challenger\n"
	             "  promote   alias champion (when [promote] auto = 1)\n"
	             "Each stage runs in a child process with its retries, backoff and timeout; a killed run\n"
	             "resumes from the stages that finished. One pipeline per workspace at a time. Each run is\n"
	             "tracked as an MLflow run under WORKSPACE/mlruns (experiment \"pipeline\").\n"
	             "\n"
	             "  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data)\n"
	             "  -c, --config FILE    configuration (default WORKSPACE/pipeline.conf; see\n"
	             "                       docs/pipeline.conf.example for every key and its default)\n"
	             "      --from STAGE     rerun STAGE and every stage that depends on it\n"
	             "      --only STAGE     run only STAGE, from the records of the stages it depends on\n"
	             "      --force STAGE    rerun STAGE whatever the cache says\n"
	             "Exit: 0 every stage passed or was cached, 1 a stage or gate failed, 2 bad usage.\n");
}

static int stage_arg(const char *s, int *out)
{
	*out = pipeline_stage_parse(s);
	return *out < 0 ? cli__usage_error("pipeline", "unknown stage '%s'", s) : 0;
}

static int pipe_run(int argc, char **argv)
{
	enum { O_FROM = 256, O_ONLY, O_FORCE };
	/* clang-format off */
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'}, {"config", required_argument, NULL, 'c'},
		{"from", required_argument, NULL, O_FROM},   {"only", required_argument, NULL, O_ONLY},
		{"force", required_argument, NULL, O_FORCE}, {"help", no_argument, NULL, 'h'},
		{0},
	};
	/* clang-format on */
	pipeline_options o;
	pipeline_options_default(&o);
	const char *ws = NULL, *conf = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'c': conf = optarg; break;
		case O_FROM:
			if (stage_arg(optarg, &o.from))
				return EXIT_USAGE;
			break;
		case O_ONLY:
			if (stage_arg(optarg, &o.only))
				return EXIT_USAGE;
			break;
		case O_FORCE:
			if (stage_arg(optarg, &o.force))
				return EXIT_USAGE;
			break;
		case 'h': pipeline_help(stdout); return EXIT_OK;
		default: return cli__usage_error("pipeline", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return cli__usage_error("pipeline", "unexpected argument '%s'", argv[optind]);
	if (o.only >= 0 && (o.from >= 0 || o.force >= 0))
		return cli__usage_error("pipeline", "%s", "--only takes no --from or --force");
	char wsbuf[PATH_MAX], confbuf[PATH_MAX + 32];
	o.workspace = catalog_workspace(ws, wsbuf, sizeof wsbuf);
	if (conf == NULL) {
		snprintf(confbuf, sizeof confbuf, "%s/pipeline.conf", o.workspace);
		conf = confbuf;
	}
	seg_error err = {0};
	pipeline_config cfg;
	pipeline_config_default(&cfg);
	if (access(conf, F_OK) != 0) {
		seg_error_set(&err, SEG_ENOTFOUND,
		              "no pipeline configuration at %s: give --config FILE or copy docs/pipeline.conf.example "
		              "there",
		              conf);
		return cli__fail(&err);
	}
	if (pipeline_config_load(conf, &cfg, &err) < 0) {
		pipeline_config_free(&cfg);
		return cli__fail(&err);
	}
	o.conf = &cfg;
	o.out = stderr;
	pipeline_result r;
	fprintf(stderr, "pipeline on %s (configuration %s)\n", o.workspace, conf);
	int rc = pipeline_run(&o, &r, &err);
	pipeline_config_free(&cfg);
	if (rc < 0)
		return cli__fail(&err);
	int ran = 0, cached = 0;
	for (int s = 0; s < PS__COUNT; s++)
		ran += r.status[s] == PSS_RAN, cached += r.status[s] == PSS_CACHED;
	printf("pipeline finished in %.2f s: %d stage%s ran, %d cached%s%s\n", r.total_seconds, ran,
	       ran == 1 ? "" : "s", cached, r.run_id[0] ? "; run " : "", r.run_id);
	return EXIT_OK;
}

static int pipe_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"workspace", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *ws = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case 'h': pipeline_help(stdout); return EXIT_OK;
		default: return cli__usage_error("pipeline", "%s", "unknown option");
		}
	}
	if (optind != argc)
		return cli__usage_error("pipeline", "unexpected argument '%s'", argv[optind]);
	char wsbuf[PATH_MAX];
	catalog_workspace(ws, wsbuf, sizeof wsbuf);
	seg_error err = {0};
	return pipeline_show(wsbuf, stdout, &err) < 0 ? cli__fail(&err) : EXIT_OK;
}

int cli__pipeline(int argc, char **argv)
{
	static const cli_sub subs[] = {{"run", pipe_run, NULL}, {"show", pipe_show, NULL}};
	return cli__dispatch("pipeline", subs, sizeof subs / sizeof *subs, pipeline_help, argc, argv);
}
