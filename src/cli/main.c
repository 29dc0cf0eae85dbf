/* toride: one program, many subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct toride_command commands[] = {
	{"survey", "find devices that fail access-control and default-credential requirements", cmd_survey},
	{"report", "summarise a survey database as text, JSON, CSV or HTML", cmd_report},
	{"lab", "run a fleet of emulated IoT devices with known truth (no root needed)", cmd_lab},
	{"sign", "make an update-signing key pair, or re-sign a firmware bundle", cmd_sign},
	{"bundle", "create, verify or inspect a signed firmware update bundle", cmd_bundle},
	{"honeypot", "observe infection attempts on emulated IoT devices; STIX 2.1 and MISP export", cmd_honeypot},
	{"conform", "examine one device against art. 34-10 and JC-STAR star 1, with a report", cmd_conform},
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: toride [--version] [--help] <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'toride <command> --help' for the options of a command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return TORIDE_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("toride %s\n", TORIDE_VERSION);
		return TORIDE_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "toride: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return TORIDE_EXIT_USAGE;
}
