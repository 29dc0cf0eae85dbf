/*
 * toride conform: examine one device against art. 34-10 and JC-STAR star 1 (docs/conform.md).
 *   toride conform run --describe FILE [-o result.json] [--html F] [--pdf F] [--only CHECK] [-q]
 *   toride conform report RESULT.json --html F [--pdf F]
 *   toride conform describe --check FILE
 * Exit: 0 pass, 1 fail, 4 unknown, 2 usage, 3 error.
 */

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "conform/conform.h"
#include "core/error.h"

#define CONFORM_EXIT_UNKNOWN 4

static void
usage_main(FILE *out)
{
	fprintf(out, "usage: toride conform <run|report|describe> [options]\n\n"
	             "  run       examine one device described by a description file; write result.json\n"
	             "  report    render a result.json as a self-contained HTML page (and PDF), offline\n"
	             "  describe  validate a description file (--check FILE)\n\n"
	             "Run 'toride conform <subcommand> --help' for its options. Format: docs/conform.md.\n");
}

static void
usage_run(FILE *out)
{
	fprintf(out, "usage: toride conform run --describe FILE [-o RESULT.json] [--html F] [--pdf F] [--only CHECK] [-q]\n\n"
	             "Examine the one device the description names (its address only), check by check:\n");
	for (size_t i = 0; i < conform_n_checks; i++)
		fprintf(out, "  %-15s %s (%s)\n", conform_checks[i].id, conform_checks[i].title,
		        conform_checks[i].requirement);
	fprintf(out, "\noptions:\n"
	             "  --describe FILE   device description (JSON, docs/conform.md)\n"
	             "  -o, --output FILE result document (JSON); default: standard output\n"
	             "  --html FILE       also write the report page (Japanese and English)\n"
	             "  --pdf FILE        also write the report as PDF (headless Chromium)\n"
	             "  --only CHECK      run only this check\n"
	             "  --work-dir DIR    scratch directory (default: a new one under $TMPDIR, removed after)\n"
	             "  -q, --quiet       no progress lines on standard error\n\n"
	             "exit status: 0 every item passed, 1 an item failed, 4 an item could not be decided,\n"
	             "2 usage error, 3 the examination could not run\n");
}

static void
usage_describe(FILE *out)
{
	fprintf(out, "usage: toride conform describe --check FILE\n\n"
	             "Validate a device description: every field is checked, unknown fields are refused.\n"
	             "exit status: 0 valid, 1 invalid, 2 usage error\n");
}

static void
progress(void *ctx, const char *check, const char *message)
{
	(void)ctx;
	fprintf(stderr, "conform [%s] %s\n", check, message);
	fflush(stderr);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int
write_result(const json_t *result, const char *path)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		if (json_dumpf(result, stdout, JSON_INDENT(2)) != 0)
			return TORIDE_EIO;
		fputc('\n', stdout);
		return fflush(stdout) == 0 ? 0 : TORIDE_EIO;
	}
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return TORIDE_ETOOBIG;
	if (json_dump_file(result, tmp, JSON_INDENT(2)) != 0)
		return TORIDE_EIO;
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return TORIDE_EIO;
	}
	return 0;
}

static void
usage_report(FILE *out)
{
	fprintf(out, "usage: toride conform report RESULT.json --html FILE [--pdf FILE]\n\n"
	             "Render a result document as a self-contained HTML page (no external resources; Japanese\n"
	             "and English) and, with --pdf, a PDF through headless Chromium. Offline: nothing is examined.\n"
	             "exit status: 0 written, 2 usage error, 3 error\n");
}

/* HTML to html_path (or a scratch file when only a PDF is wanted), then the PDF. 0 or -1 (message
 * printed). */
static int
render(const json_t *result, const char *html_path, const char *pdf_path, const char *scratch_dir)
{
	char tmp[PATH_MAX] = "";
	const char *hp = html_path;
	if (hp == NULL && pdf_path != NULL) {
		snprintf(tmp, sizeof tmp, "%s/report.html", scratch_dir ? scratch_dir : "/tmp");
		hp = tmp;
	}
	if (hp == NULL)
		return 0;
	FILE *f = fopen(hp, "w");
	if (f == NULL) {
		fprintf(stderr, "toride conform: cannot write %s: %s\n", hp, strerror(errno));
		return -1;
	}
	int r = conform_report_html(result, f);
	if (fclose(f) != 0 && r == 0)
		r = TORIDE_EIO;
	if (r != 0) {
		fprintf(stderr, "toride conform: HTML report %s: %s\n", hp, toride_strerror(r));
		return -1;
	}
	if (pdf_path != NULL) {
		char err[1024];
		if ((r = conform_report_pdf(hp, pdf_path, err, sizeof err)) != 0) {
			fprintf(stderr, "toride conform: PDF report %s: %s\n", pdf_path, err);
			return -1;
		}
	}
	if (tmp[0] != '\0')
		unlink(tmp);
	return 0;
}

static int
conform_cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"html", required_argument, NULL, 'H'},
		{"pdf", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *html = NULL, *pdf = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': html = optarg; break;
		case 'P': pdf = optarg; break;
		case 'h': usage_report(stdout); return TORIDE_EXIT_OK;
		default: usage_report(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (html == NULL && pdf == NULL)) {
		usage_report(stderr);
		return TORIDE_EXIT_USAGE;
	}
	json_error_t je;
	/* Any JSON object is rendered (the renderer escapes and type-checks every member, NUL included):
	 * a damaged or hostile result must still be readable by a reviewer. */
	json_t *result = json_load_file(argv[optind], JSON_ALLOW_NUL, &je);
	if (result == NULL || !json_is_object(result)) {
		fprintf(stderr, "toride conform report: %s: not a result document (%s)\n", argv[optind],
		        result == NULL ? je.text : "not an object");
		json_decref(result);
		return TORIDE_EXIT_ERROR;
	}
	const char *t = getenv("TMPDIR");
	int r = render(result, html, pdf, t && *t ? t : "/tmp");
	json_decref(result);
	return r == 0 ? TORIDE_EXIT_OK : TORIDE_EXIT_ERROR;
}

static int
conform_cmd_run(int argc, char **argv)
{
	enum { O_DESCRIBE = 256, O_ONLY, O_WORK, O_HTML, O_PDF };
	static const struct option opts[] = {
		{"describe", required_argument, NULL, O_DESCRIBE},
		{"html", required_argument, NULL, O_HTML},
		{"pdf", required_argument, NULL, O_PDF},
		{"output", required_argument, NULL, 'o'},
		{"only", required_argument, NULL, O_ONLY},
		{"work-dir", required_argument, NULL, O_WORK},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *describe = NULL, *output = NULL, *only = NULL, *work = NULL, *html = NULL, *pdf = NULL;
	bool quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case O_DESCRIBE: describe = optarg; break;
		case 'o': output = optarg; break;
		case O_ONLY: only = optarg; break;
		case O_WORK: work = optarg; break;
		case O_HTML: html = optarg; break;
		case O_PDF: pdf = optarg; break;
		case 'q': quiet = true; break;
		case 'h': usage_run(stdout); return TORIDE_EXIT_OK;
		default: usage_run(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (describe == NULL || optind != argc) {
		fprintf(stderr, "toride conform run: %s\n", describe == NULL ? "--describe FILE is required" : "unexpected argument");
		usage_run(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (only != NULL) {
		bool known = false;
		for (size_t i = 0; i < conform_n_checks; i++)
			known |= strcmp(conform_checks[i].id, only) == 0;
		if (!known) {
			fprintf(stderr, "toride conform run: --only: unknown check '%s'\n", only);
			usage_run(stderr);
			return TORIDE_EXIT_USAGE;
		}
	}
	struct conform_description *d = calloc(1, sizeof *d);
	if (d == NULL)
		return TORIDE_EXIT_ERROR;
	char err[1024];
	int rc = TORIDE_EXIT_ERROR;
	char tmpdir[PATH_MAX] = "";
	if (conform_describe_load(describe, d, err, sizeof err) != 0) {
		fprintf(stderr, "toride conform run: %s\n", err);
		free(d);
		return TORIDE_EXIT_USAGE;
	}
	if (work == NULL) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/toride-conform-XXXXXX", t && *t ? t : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			fprintf(stderr, "toride conform run: cannot make a scratch directory: %s\n", strerror(errno));
			free(d);
			return TORIDE_EXIT_ERROR;
		}
		work = tmpdir;
	}
	static char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	self[sl > 0 ? sl : 0] = '\0';
	struct conform_run run = {
		.desc = d,
		.only = only,
		.progress = quiet ? NULL : progress,
		.toride_bin = self[0] ? self : "toride",
		.work_dir = work,
	};
	if (!quiet)
		fprintf(stderr, "conform: examining %s (%s), address %s only\n", d->name, describe, d->address_text);
	int r = conform_run_all(&run);
	if (r != 0 || run.result == NULL) {
		fprintf(stderr, "toride conform run: %s\n", toride_strerror(r));
		goto out;
	}
	if ((r = write_result(run.result, output)) != 0) {
		fprintf(stderr, "toride conform run: cannot write %s: %s\n", output ? output : "stdout", toride_strerror(r));
		goto out;
	}
	if (render(run.result, html, pdf, work) != 0)
		goto out;
	enum conform_verdict v = conform_overall(run.result);
	if (!quiet) {
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(run.result, "items"), i, it)
			fprintf(stderr, "conform: %-15s %-8s %s\n", json_string_value(json_object_get(it, "check")),
			        json_string_value(json_object_get(it, "verdict")), json_string_value(json_object_get(it, "reason")));
		fprintf(stderr, "conform: overall %s\n", conform_verdict_name(v));
	}
	rc = v == CONFORM_PASS ? TORIDE_EXIT_OK : v == CONFORM_FAIL ? TORIDE_EXIT_FINDINGS : CONFORM_EXIT_UNKNOWN;
out:
	json_decref(run.result);
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
	return rc;
}

static int
conform_cmd_describe(int argc, char **argv)
{
	static const struct option opts[] = {
		{"check", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 'h': usage_describe(stdout); return TORIDE_EXIT_OK;
		default: usage_describe(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (file == NULL || optind != argc) {
		usage_describe(stderr);
		return TORIDE_EXIT_USAGE;
	}
	struct conform_description *d = calloc(1, sizeof *d);
	if (d == NULL)
		return TORIDE_EXIT_ERROR;
	char err[1024];
	int r = conform_describe_load(file, d, err, sizeof err);
	if (r != 0) {
		fprintf(stderr, "toride conform describe: %s\n", err);
		free(d);
		return r == TORIDE_EIO ? TORIDE_EXIT_ERROR : TORIDE_EXIT_FINDINGS;
	}
	static const char *const schemes[] = {"", "forced-change", "unique", "key-only", "factory-default", "none"};
	printf("%s: valid description of \"%s\" at %s (ports %s, %zu declared interface(s), scheme %s)\n", file, d->name,
	       d->address_text, d->ports, d->n_interfaces, schemes[d->scheme <= 5 ? d->scheme : 0]);
	free(d);
	return TORIDE_EXIT_OK;
}

int
cmd_conform(int argc, char **argv)
{
	if (argc < 2) {
		usage_main(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage_main(stdout);
		return TORIDE_EXIT_OK;
	}
	if (strcmp(argv[1], "run") == 0)
		return conform_cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return conform_cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "describe") == 0)
		return conform_cmd_describe(argc - 1, argv + 1);
	fprintf(stderr, "toride conform: unknown subcommand '%s'\n", argv[1]);
	usage_main(stderr);
	return TORIDE_EXIT_USAGE;
}
