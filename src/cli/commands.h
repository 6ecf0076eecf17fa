/* commands.h: the `segue` command line as library code, so that tests can run
 * a command in-process; src/cli/main.c is only main(). */
#ifndef SEGUE_COMMANDS_H
#define SEGUE_COMMANDS_H

/* Runs `segue argv[1] argv[2] ...` (argv[0] is the program name) and returns
 * its exit code: 0 success, 1 failure (the message went to standard error),
 * 2 bad usage. Output goes to stdout and stderr. Not thread-safe: options are
 * parsed with getopt. */
int cli_run(int argc, char **argv);

#endif
