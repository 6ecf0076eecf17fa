/* cli_internal.h: what the files of the command line share: each
 * subcommand that lives in a file of its own beside commands.c. Not
 * installed. */
#ifndef SEGUE_CLI_INTERNAL_H
#define SEGUE_CLI_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

/* commands.c's helpers that the subcommands in other files share. Exit
 * codes: 0 success, 1 failure, 2 bad usage. */
/* Prints err as "segue: file:line: message" to standard error; returns 1. */
int cli__fail(const seg_error *err);
/* Prints "segue CMD: " fmt (with arg) and a pointer to --help; returns 2. */
int cli__usage_error(const char *cmd, const char *fmt, const char *arg);
/* A number in [lo, hi] and nothing else: 0, or -1. */
int cli__number(const char *s, double lo, double hi, double *out);

/* `segue experiment create|list|start|stop|show|report|export|power`
 * (cmd_experiment.c). */
int cli__experiment(int argc, char **argv);
/* `segue simulate` (cmd_simulate.c). */
int cli__simulate(int argc, char **argv);
/* One subcommand of a command family: `segue experiment create`. */
typedef struct cli_sub {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
	const char *summary;               /* for the family's help, or NULL */
} cli_sub;
/* Runs the subcommand argv[1] of `family` found in subs[n]. No subcommand:
 * the family's help (help()) on stderr, EXIT_USAGE (2); -h, --help or help:
 * the help on stdout, 0; an unknown one: "segue FAMILY: unknown command"
 * and the help on stderr, 2. getopt starts afresh for the subcommand. */
int cli__dispatch(const char *family, const cli_sub *subs, size_t n, void (*help)(FILE *out), int argc, char **argv);

/* `segue pipeline run` (cmd_pipeline.c). */
int cli__pipeline(int argc, char **argv);
/* `segue runs list|show|compare` (cmd_runs.c). */
int cli__runs(int argc, char **argv);
/* What `segue train` records in WORKSPACE/mlruns (cmd_runs.c): the run
 * with the options as parameters, started before training (NULL when it
 * cannot be: a warning is printed, training goes on), and its end: the
 * model's figures as metrics and model.seg as an artifact when version is
 * the version trained, else FAILED. */
struct mlrun;
struct train_options;
struct mlrun *cli__train_track_start(const struct train_options *o);
void cli__train_track_end(struct mlrun *r, const struct train_options *o, const char *version);
/* What `segue evaluate` records (cmd_runs.c): a run in the experiment
 * "segue evaluate" with the evaluation's settings as parameters, started
 * before it (NULL when it cannot be: a warning, the evaluation goes on);
 * its end, given the evaluation.json written (NULL: the evaluation failed,
 * the run is FAILED): every model's mean per case and metric over all
 * playlists as metrics (MODEL.CASE.METRIC), the table as an artifact. */
struct eval_options;
struct mlrun *cli__evaluate_track_start(const struct eval_options *o);
void cli__evaluate_track_end(struct mlrun *r, const char *table);
/* `segue models list|show|promote|rollback` (cmd_models.c). */
int cli__models(int argc, char **argv);

#endif
