/* Subcommands of the toride program: one file per subcommand, registered in main.c. */
#ifndef TORIDE_CLI_H
#define TORIDE_CLI_H

struct toride_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

int cmd_survey(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_sign(int argc, char **argv);   /* cmd_bundle.c */
int cmd_bundle(int argc, char **argv); /* cmd_bundle.c */
int cmd_conform(int argc, char **argv); /* cmd_conform.c */
int cmd_honeypot(int argc, char **argv); /* cmd_honeypot.c */
int hp_cli_export(int argc, char **argv); /* cmd_honeypot_export.c: toride honeypot export */

/* Exit codes shared by all subcommands. */
#define TORIDE_EXIT_OK 0
#define TORIDE_EXIT_FINDINGS 1 /* ran fine and found failing devices (survey) */
#define TORIDE_EXIT_USAGE 2
#define TORIDE_EXIT_ERROR 3

#endif
