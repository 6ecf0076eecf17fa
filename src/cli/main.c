/* main.c: the `segue` executable; the commands are in cli/commands.c. */
#include "cli/commands.h"

int main(int argc, char **argv) { return cli_run(argc, argv); }
