/* cmd_models.c: `segue models` (not written yet; its helper replaces this file). */
#include <stdio.h>

#include "cli/cli_internal.h"

int cli__models(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "segue models: not available in this build yet\n");
	return 2;
}
