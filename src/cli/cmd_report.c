#include <stdio.h>
#include "cli/cli.h"
int cmd_report(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "report: not yet built\n"); return TORIDE_EXIT_ERROR; }
