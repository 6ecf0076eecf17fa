/* cli_internal.h: what the files of the command line share: each
 * subcommand that lives in a file of its own beside commands.c. Not
 * installed. */
#ifndef SEGUE_CLI_INTERNAL_H
#define SEGUE_CLI_INTERNAL_H

/* `segue experiment create|list|start|stop|show|report|export|power`
 * (cmd_experiment.c). */
int cli__experiment(int argc, char **argv);
/* `segue simulate` (cmd_simulate.c). */
int cli__simulate(int argc, char **argv);

#endif
