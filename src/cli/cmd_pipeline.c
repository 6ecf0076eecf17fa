/* cmd_pipeline.c: `segue pipeline` (not written yet; its helper replaces this file). */
#include <stdio.h>

#include "cli/cli_internal.h"

int cli__pipeline(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "segue pipeline: not available in this build yet\n");
	return 2;
}
