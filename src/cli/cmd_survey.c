#include <stdio.h>
#include "cli/cli.h"
int cmd_survey(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "survey: not yet built\n"); return TORIDE_EXIT_ERROR; }
