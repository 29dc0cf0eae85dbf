/* toride honeypot export: campaigns, STIX 2.1 bundle and MISP feed from a honeypot database
 * (docs/honeypot.md "Campaigns" and "Outputs"). Reads the store read-only. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/event.h"
#include "honeypot/export_int.h"
#include "honeypot/hp.h"
#include "store/store.h"

static void
export_usage(FILE *out)
{
	fprintf(out,
		"usage: toride honeypot export --db FILE [--since TIME] [--stix FILE] [--misp DIR]\n"
		"                              [--campaigns FILE] [--sensor NAME] [--created TIME]\n"
		"Links the honeypot sessions of FILE (a database written by toride honeypot run --db) into\n"
		"campaigns and writes them out; at least one output is required.\n"
		"  --db FILE         honeypot database (opened read-only)\n"
		"  --since TIME      only sessions that started, and samples first seen, at or after TIME\n"
		"                    (ISO 8601 UTC as in the events, e.g. 2026-03-01 or 2026-03-01T10:00:00.000Z)\n"
		"  --stix FILE       STIX 2.1 bundle ('-' = stdout)\n"
		"  --misp DIR        MISP feed directory: manifest.json, hashes.csv, <uuid>.json per campaign\n"
		"  --campaigns FILE  the campaigns as a JSON array ('-' = stdout)\n"
		"  --sensor NAME     name of the sensor identity / MISP organisation (default: the sessions'\n"
		"                    \"sensor\" member)\n"
		"  --created TIME    created/modified time of generated objects (default: now); give it for\n"
		"                    byte-identical exports of the same data\n");
}

struct loaded {
	json_t *arr;
};

static int
collect(void *arg, json_t *event)
{
	struct loaded *l = arg;
	return json_array_append(l->arr, event) == 0 ? 0 : TORIDE_ENOMEM;
}

/* Write v as pretty JSON to path ('-' = stdout); files through a temporary name and rename. */
static int
write_json_out(const char *path, const json_t *v, const char *what)
{
	if (strcmp(path, "-") == 0) {
		if (json_dumpf(v, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', stdout) == EOF ||
		    fflush(stdout) != 0) {
			fprintf(stderr, "toride honeypot export: %s: cannot write to stdout\n", what);
			return -1;
		}
		return 0;
	}
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	if (tmp == NULL)
		return -1;
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	/* mkstemp makes 0600; the output gets the mode a plain create would give. */
	mode_t mask = umask(0);
	umask(mask);
	if (fd >= 0)
		(void)fchmod(fd, 0666 & ~mask);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		fprintf(stderr, "toride honeypot export: %s: cannot create %s: %s\n", what, tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return -1;
	}
	int bad = json_dumpf(v, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF ||
		  fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) {
		fprintf(stderr, "toride honeypot export: %s: cannot write %s: %s\n", what, path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* Accept "YYYY-MM-DD" or a full events-style time. */
static bool
time_arg_ok(const char *s, bool date_ok)
{
	int64_t ms;
	char buf[40];
	if (hp_time_parse_ms(s, &ms) == 0)
		return true;
	if (!date_ok || strlen(s) != 10)
		return false;
	snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
	return hp_time_parse_ms(buf, &ms) == 0;
}

int
hp_cli_export(int argc, char **argv)
{
	enum { OPT_DB = 256, OPT_SINCE, OPT_STIX, OPT_MISP, OPT_CAMPAIGNS, OPT_SENSOR, OPT_CREATED };
	static const struct option opts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"since", required_argument, NULL, OPT_SINCE},
		{"stix", required_argument, NULL, OPT_STIX},
		{"misp", required_argument, NULL, OPT_MISP},
		{"campaigns", required_argument, NULL, OPT_CAMPAIGNS},
		{"sensor", required_argument, NULL, OPT_SENSOR},
		{"created", required_argument, NULL, OPT_CREATED},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *since = NULL, *stix = NULL, *misp = NULL, *camp_out = NULL, *sensor = NULL;
	const char *created = NULL;
	struct loaded sessions = {0}, samples = {0};
	struct toride_store *st = NULL;
	json_t *campaigns = NULL, *bundle = NULL;
	char err[512];
	int c, rc, ret = TORIDE_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DB: db = optarg; break;
		case OPT_SINCE: since = optarg; break;
		case OPT_STIX: stix = optarg; break;
		case OPT_MISP: misp = optarg; break;
		case OPT_CAMPAIGNS: camp_out = optarg; break;
		case OPT_SENSOR: sensor = optarg; break;
		case OPT_CREATED: created = optarg; break;
		case 'h': export_usage(stdout); return TORIDE_EXIT_OK;
		default: export_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "toride honeypot export: unexpected argument '%s'\n", argv[optind]);
		export_usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (db == NULL) {
		fprintf(stderr, "toride honeypot export: --db FILE is required\n");
		export_usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (stix == NULL && misp == NULL && camp_out == NULL) {
		fprintf(stderr, "toride honeypot export: nothing to write: give --stix, --misp and/or --campaigns\n");
		return TORIDE_EXIT_USAGE;
	}
	if (stix != NULL && camp_out != NULL && strcmp(stix, "-") == 0 && strcmp(camp_out, "-") == 0) {
		fprintf(stderr, "toride honeypot export: --stix and --campaigns cannot both go to stdout\n");
		return TORIDE_EXIT_USAGE;
	}
	if (since != NULL && !time_arg_ok(since, true)) {
		fprintf(stderr, "toride honeypot export: --since '%s' is not a time like 2026-03-01 or "
				"2026-03-01T10:00:00.000Z\n", since);
		return TORIDE_EXIT_USAGE;
	}
	struct hp_export_opts o = {.now = toride_time_now()};
	if (created != NULL) {
		int64_t ms;
		if (hp_time_parse_ms(created, &ms) != 0) {
			fprintf(stderr, "toride honeypot export: --created '%s' is not a time like "
					"2026-03-01T10:00:00.000Z\n", created);
			return TORIDE_EXIT_USAGE;
		}
		o.now = (double)ms / 1000.0;
	}

	if (toride_store_open_ex(&st, db, TORIDE_STORE_READONLY, err, sizeof err) != 0) {
		fprintf(stderr, "toride honeypot export: %s\n", err);
		goto out;
	}
	if ((sessions.arr = json_array()) == NULL || (samples.arr = json_array()) == NULL)
		goto nomem;
	if ((rc = toride_store_foreach_hp(st, "hp_session", since, collect, &sessions)) != 0 ||
	    (rc = toride_store_foreach_hp(st, "hp_sample", since, collect, &samples)) != 0) {
		fprintf(stderr, "toride honeypot export: %s: reading sessions: %s %s\n", db, toride_strerror(rc),
			toride_store_errmsg(st));
		goto out;
	}
	o.sensor_name = sensor != NULL ? sensor : hp_json_str(json_array_get(sessions.arr, 0), "sensor");
	if (o.sensor_name == NULL)
		o.sensor_name = toride_event_sensor();
	if ((rc = hp_campaigns_build(sessions.arr, samples.arr, &campaigns)) != 0) {
		fprintf(stderr, "toride honeypot export: linking campaigns: %s\n", toride_strerror(rc));
		goto out;
	}
	if (camp_out != NULL && write_json_out(camp_out, campaigns, "campaigns") != 0)
		goto out;
	if (stix != NULL) {
		if ((rc = hp_export_stix(sessions.arr, samples.arr, campaigns, &o, &bundle)) != 0) {
			fprintf(stderr, "toride honeypot export: STIX bundle: %s\n", toride_strerror(rc));
			goto out;
		}
		if (write_json_out(stix, bundle, "STIX bundle") != 0)
			goto out;
	}
	if (misp != NULL && (rc = hp_export_misp(sessions.arr, samples.arr, campaigns, &o, misp, err, sizeof err)) != 0) {
		fprintf(stderr, "toride honeypot export: %s\n", err[0] ? err : toride_strerror(rc));
		goto out;
	}
	fprintf(stderr, "toride honeypot export: %zu sessions, %zu samples, %zu campaigns\n",
		json_array_size(sessions.arr), json_array_size(samples.arr), json_array_size(campaigns));
	ret = TORIDE_EXIT_OK;
	goto out;
nomem:
	fprintf(stderr, "toride honeypot export: out of memory\n");
out:
	json_decref(bundle);
	json_decref(campaigns);
	json_decref(sessions.arr);
	json_decref(samples.arr);
	toride_store_close(st);
	return ret;
}
