/* cmd_experiment.c: `segue experiment` (not written yet; its helper replaces this file). */
#include <stdio.h>

#include "cli/cli_internal.h"

int cli__experiment(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "segue experiment: not available in this build yet\n");
	return 2;
}
