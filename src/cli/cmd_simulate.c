/* cmd_simulate.c: `segue simulate` (not written yet; its helper replaces this file). */
#include <stdio.h>

#include "cli/cli_internal.h"

int cli__simulate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "segue simulate: not available in this build yet\n");
	return 2;
}
