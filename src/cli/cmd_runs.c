/* cmd_runs.c: `segue runs list|show RUN|compare RUN RUN`: reads the tracked
 * runs that the pipeline and `segue train` write in MLflow's file-store
 * layout under WORKSPACE/mlruns (or --mlruns DIR). A thin layer: the layout,
 * the reader and the printed forms are runs.h's. Exit codes: 0 ok, 1
 * failed (an unknown or ambiguous run, an unreadable tree), 2 bad usage. */
#include "cli/cli_internal.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "core/strbuf.h"
#include "pipeline/runs.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { O_JSON = 256, O_MLRUNS };

static void runs_help(FILE *f)
{
	fprintf(f, "usage: segue runs list [--json] [--workspace DIR | --mlruns DIR]\n"
	           "       segue runs show RUN [--json] [--workspace DIR | --mlruns DIR]\n"
	           "       segue runs compare RUN RUN [--json] [--workspace DIR | --mlruns DIR]\n\n"
	           "Reads the tracked runs (MLflow's file-store layout, which `mlflow ui\n"
	           "--backend-store-uri WORKSPACE/" MLRUNS_DIR "` browses too).\n\n"
	           "  list                 every run, newest first: id, experiment, name, status,\n"
	           "                       start, duration, its first metrics\n"
	           "  show RUN             one run: parameters, metrics (last value, step, points),\n"
	           "                       tags, artifacts\n"
	           "  compare RUN RUN      parameters and metrics side by side, b - a, and '*'\n"
	           "                       where they differ\n"
	           "RUN is a run id or a prefix of one that names one run.\n\n"
	           "      --json           one JSON document instead of text\n"
	           "  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data); runs are\n"
	           "                       in WORKSPACE/" MLRUNS_DIR "\n"
	           "      --mlruns DIR     read runs from DIR instead\n"
	           "  -h, --help           this text\n\n"
	           "Example:\n"
	           "  segue runs compare 3f2a 9c1d\n");
}

int cli__runs(int argc, char **argv)
{
	if (argc < 2) {
		runs_help(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		runs_help(stdout);
		return EXIT_OK;
	}
	int want; /* RUN arguments the subcommand takes */
	if (strcmp(sub, "list") == 0)
		want = 0;
	else if (strcmp(sub, "show") == 0)
		want = 1;
	else if (strcmp(sub, "compare") == 0)
		want = 2;
	else {
		fprintf(stderr, "segue runs: unknown command '%s'\n\n", sub);
		runs_help(stderr);
		return EXIT_USAGE;
	}
	char cmd[32];
	snprintf(cmd, sizeof cmd, "runs %s", sub);
	static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
	                                     {"workspace", required_argument, NULL, 'w'},
	                                     {"mlruns", required_argument, NULL, O_MLRUNS},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *ws = NULL, *mlruns = NULL;
	int json = 0, c;
	optind = 0; /* the subcommand parses its own options afresh */
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_MLRUNS: mlruns = optarg; break;
		case O_JSON: json = 1; break;
		case 'h': runs_help(stdout); return EXIT_OK;
		default: return cli__usage_error(cmd, "%s", "unknown option");
		}
	}
	if (ws && mlruns)
		return cli__usage_error(cmd, "%s", "give --workspace or --mlruns, not both");
	if (argc - optind < want)
		return cli__usage_error(cmd, "%s", want == 1 ? "give the RUN to show" : "give two RUNs to compare");
	if (argc - optind > want)
		return cli__usage_error(cmd, "unexpected argument '%s'", argv[optind + want]);
	char dir[PATH_MAX];
	if (!mlruns) {
		char wsbuf[PATH_MAX];
		const char *w = catalog_workspace(ws, wsbuf, sizeof wsbuf);
		if ((size_t)snprintf(dir, sizeof dir, "%s/%s", w, MLRUNS_DIR) >= sizeof dir)
			return cli__usage_error(cmd, "%s", "the workspace's path is too long");
		mlruns = dir;
	}
	seg_error err = {0};
	strbuf sb = {0};
	mlrun_info a = {0}, b = {0}, *list = NULL;
	size_t n = 0;
	int rc;
	if (want == 0) {
		rc = mlrun_list(mlruns, &list, &n, &err);
		if (rc == 0)
			mlrun_format_list(&sb, list, n, json);
	} else {
		rc = mlrun_read(mlruns, argv[optind], &a, &err);
		if (rc == 0 && want == 2)
			rc = mlrun_read(mlruns, argv[optind + 1], &b, &err);
		if (rc == 0 && want == 1)
			mlrun_format_show(&sb, &a, json);
		else if (rc == 0)
			mlrun_format_compare(&sb, &a, &b, json);
	}
	int code = EXIT_OK;
	if (rc < 0) {
		code = cli__fail(&err);
	} else if (sb.oom) {
		seg_error_set(&err, SEG_ENOMEM, "out of memory printing the runs");
		code = cli__fail(&err);
	} else {
		fputs(strbuf_cstr(&sb), stdout);
	}
	strbuf_free(&sb);
	mlrun_info_free(&a);
	mlrun_info_free(&b);
	mlrun_list_free(list, n);
	return code;
}
