/* cmd_runs.c: `segue runs` (not written yet; its helper replaces this file). */
#include <stdio.h>

#include "cli/cli_internal.h"

int cli__runs(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "segue runs: not available in this build yet\n");
	return 2;
}
