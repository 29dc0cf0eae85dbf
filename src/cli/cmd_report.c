/* toride report: summarise a survey database as text, JSON, CSV or HTML. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/catalog.h"
#include "core/error.h"
#include "report/report.h"
#include "store/store.h"

static void
report_usage(FILE *out)
{
	fprintf(out,
		"usage: toride report --db FILE [--survey ID] [--format text|json|csv|html] [-o FILE]\n"
		"                     [--catalog FILE] [--list] [--help]\n"
		"\n"
		"Summarise one survey of a toride database: parameters, findings per requirement,\n"
		"protocol and device type, and every failing device with its evidence.\n"
		"\n"
		"  --db FILE        survey database written by 'toride survey --db' (required)\n"
		"  --survey ID      survey to report (default: the most recently started one)\n"
		"  --format FMT     text (default), json (full evidence), csv (one row per finding),\n"
		"                   html (one self-contained page)\n"
		"  -o, --output F   write to F instead of standard output\n"
		"  --catalog FILE   requirement catalog (default: $TORIDE_DATA_DIR/catalog.json,\n"
		"                   else %s/catalog.json)\n"
		"  --list           list the surveys in the database and exit\n"
		"\n"
		"exit status: 0 success, 2 usage error, 3 error (missing or foreign database, ...)\n",
		TORIDE_DATA_DIR);
}

static int
list_surveys(struct toride_store *st, FILE *out)
{
	json_t *arr = NULL;
	if (toride_store_list_surveys(st, &arr) != 0)
		return -1;
	size_t i;
	json_t *s;
	fprintf(out, "%-36s  %-11s  %-24s  %s\n", "survey", "status", "started", "ended");
	json_array_foreach(arr, i, s) {
		fprintf(out, "%-36s  %-11s  %-24s  %s\n", toride_report_str(s, "id"), toride_report_str(s, "status"),
			toride_report_str(s, "started"), toride_report_str(s, "ended"));
	}
	json_decref(arr);
	return 0;
}

int
cmd_report(int argc, char **argv)
{
	enum { OPT_DB = 256, OPT_SURVEY, OPT_FORMAT, OPT_CATALOG, OPT_LIST };
	static const struct option opts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"survey", required_argument, NULL, OPT_SURVEY},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"output", required_argument, NULL, 'o'},
		{"catalog", required_argument, NULL, OPT_CATALOG},
		{"list", no_argument, NULL, OPT_LIST},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *survey = NULL, *output = NULL, *catalog_path = NULL;
	enum toride_report_format fmt = TORIDE_REPORT_TEXT;
	bool list = false;
	char catalog_buf[4096], err[512];
	struct toride_store *st = NULL;
	struct toride_catalog *cat = NULL;
	char *latest = NULL;
	FILE *out = stdout;
	int c, ret, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DB: db = optarg; break;
		case OPT_SURVEY: survey = optarg; break;
		case OPT_FORMAT:
			if (toride_report_format_parse(optarg, &fmt) != 0) {
				fprintf(stderr, "toride report: unknown format '%s' (text, json, csv, html)\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			break;
		case 'o': output = optarg; break;
		case OPT_CATALOG: catalog_path = optarg; break;
		case OPT_LIST: list = true; break;
		case 'h': report_usage(stdout); return TORIDE_EXIT_OK;
		default: report_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "toride report: unexpected argument '%s'\n", argv[optind]);
		report_usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (db == NULL) {
		fprintf(stderr, "toride report: --db FILE is required\n");
		report_usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (catalog_path == NULL) {
		const char *dir = getenv("TORIDE_DATA_DIR");
		snprintf(catalog_buf, sizeof catalog_buf, "%s/catalog.json", dir != NULL && dir[0] ? dir : TORIDE_DATA_DIR);
		catalog_path = catalog_buf;
	}

	ret = TORIDE_EXIT_ERROR;
	if (toride_catalog_load(&cat, catalog_path, err, sizeof err) != 0) {
		fprintf(stderr, "toride report: %s\n", err);
		goto out;
	}
	if (toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err) != 0) {
		fprintf(stderr, "toride report: %s\n", err);
		goto out;
	}
	if (list) {
		if (list_surveys(st, stdout) != 0) {
			fprintf(stderr, "toride report: %s: %s\n", db, toride_store_errmsg(st));
			goto out;
		}
		ret = TORIDE_EXIT_OK;
		goto out;
	}
	if (survey == NULL) {
		rc = toride_store_latest_survey(st, &latest);
		if (rc == TORIDE_ENOTFOUND) {
			fprintf(stderr, "toride report: %s: the database holds no survey\n", db);
			goto out;
		} else if (rc != 0) {
			fprintf(stderr, "toride report: %s: %s\n", db, toride_store_errmsg(st));
			goto out;
		}
		survey = latest;
	}
	if (output != NULL) {
		out = fopen(output, "w");
		if (out == NULL) {
			fprintf(stderr, "toride report: %s: %s\n", output, strerror(errno));
			out = stdout;
			goto out;
		}
	}
	rc = toride_report_write(st, survey, cat, fmt, out);
	if (rc == TORIDE_ENOTFOUND) {
		fprintf(stderr, "toride report: %s: no survey '%s' (see --list)\n", db, survey);
	} else if (rc == TORIDE_EIO) {
		fprintf(stderr, "toride report: %s: write failed\n", output ? output : "standard output");
	} else if (rc != 0) {
		fprintf(stderr, "toride report: %s: %s (%s)\n", db, toride_strerror(rc), toride_store_errmsg(st));
	} else {
		ret = TORIDE_EXIT_OK;
	}
out:
	if (out != stdout) {
		if (fclose(out) != 0 && ret == TORIDE_EXIT_OK) {
			fprintf(stderr, "toride report: %s: %s\n", output, strerror(errno));
			ret = TORIDE_EXIT_ERROR;
		}
		if (ret != TORIDE_EXIT_OK)
			remove(output);
	}
	free(latest);
	toride_store_close(st);
	toride_catalog_free(cat);
	return ret;
}
