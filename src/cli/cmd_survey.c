/* toride survey: the command line around survey/survey.h. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/addr.h"
#include "core/error.h"
#include "core/event.h"
#include "core/log.h"
#include "core/order.h"
#include "core/scope.h"
#include "emu/serve.h"
#include "store/store.h"
#include "survey/creds.h"
#include "survey/fingerprint.h"
#include "survey/status.h"
#include "survey/survey.h"

/* Why 65535: a port list longer than every port is a typo. */
#define SURVEY_MAX_PORTS 65535
/* Why 64: scope/exclusion specs given on the command line; larger sets belong in files. */
#define SURVEY_MAX_SPECS 256
/* Longest --cooldown: an hour is far beyond any real reply delay; more is a typo. */
#define SURVEY_MAX_COOLDOWN_S 3600.0

static volatile int stop_requested;

static void
on_sigint(int sig)
{
	(void)sig;
	if (stop_requested) {
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	stop_requested = 1;
}

static void
survey_usage(FILE *out)
{
	fprintf(out,
	        "usage: toride survey --scope SPEC [options]\n"
	        "\n"
	        "Find devices that let anyone operate them without authentication (JP-34-10-1) or accept a\n"
	        "factory/default credential (JP-34-10-2), with evidence. Login checks only: nothing on a\n"
	        "device is changed; after a login toride echoes a random marker and logs out.\n"
	        "\n"
	        "scope (no scope, no survey):\n"
	        "  --scope SPEC           CIDR, range A-B or address, IPv4 or IPv6 (repeatable)\n"
	        "  --scope-file FILE      one SPEC per line ('#' comments)\n"
	        "  --exclude SPEC         never probe these (repeatable)\n"
	        "  --exclude-file FILE    opt-out list, one SPEC per line (repeatable)\n"
	        "  --allow-reserved SPEC  lift the default special-purpose exclusion for SPEC (e.g. a lab in\n"
	        "                         10.0.0.0/8 or 127.0.0.0/8); logged\n"
	        "order and pace:\n"
	        "  -p, --ports LIST       ports, e.g. 23,2323,22 (default 23,2323,22,80,8080,554,1883,21)\n"
	        "  --seed N               permutation seed (default 1); same seed, same order\n"
	        "  --shard I/N            probe shard I of N (1-based, default 1/1)\n"
	        "  --rate N               SYN discovery: probe packets per second; connect discovery: new\n"
	        "                         connections per second (default 1000; 0 = as fast as possible)\n"
	        "  --max-concurrency N    simultaneous connections (default 512)\n"
	        "  --connect-timeout MS   default 3000\n"
	        "  --read-timeout MS      silence after which a step gives up (default 5000)\n"
	        "  --retries N            extra connects after a timeout (default 1)\n"
	        "discovery (docs/survey-scale.md):\n"
	        "  --discovery MODE       auto (default: SYN with CAP_NET_RAW, else connect), syn, connect\n"
	        "  --discover-only        report open ports only: no identification, no checks\n"
	        "  --probes N             SYN packets per pair, 1..10 (default 1)\n"
	        "  --cooldown SECONDS     SYN: wait for late replies after the last probe (default 5; e.g. 0.5)\n"
	        "  --interface IF         SYN: capture interface (default: the one holding the source address)\n"
	        "  --source-ip ADDR       SYN: source address, once per family (default: from the route)\n"
	        "  --source-port LO-HI    SYN: source port range (default: 256 ports above ip_local_port_range)\n"
	        "credentials:\n"
	        "  --creds FILE           user:password per line (default: Mirai's table)\n"
	        "  --no-vendor-creds      do not add the fingerprinted vendor's defaults\n"
	        "  --max-attempts-per-host N  login budget per host (default 700)\n"
	        "  --attempt-delay MS     pause between logins on one host (default 0)\n"
	        "output:\n"
	        "  -o, --output FILE      JSON Lines events ('-' = stdout)\n"
	        "  --db FILE              SQLite database (resumes a survey of the same name)\n"
	        "  --name ID              survey name (default: derived from scope, ports, seed, shard)\n"
	        "  --dry-run              print the (address, port) pairs that would be probed, in order\n"
	        "  -q, --quiet            no progress line\n"
	        "  -v, --verbose          more log output (repeat for debug)\n"
	        "  --data-dir DIR         data files (default " TORIDE_DATA_DIR ", env TORIDE_DATA_DIR)\n"
	        "\n"
	        "exit status: 0 no failing device, 1 failing devices found, 2 usage error, 3 other error\n");
}

static int
parse_uint(const char *s, unsigned long long max, unsigned long long *out, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') {
		fprintf(stderr, "toride survey: %s: '%s' is not a number in 0..%llu\n", what, s, max);
		return TORIDE_EINVAL;
	}
	*out = v;
	return 0;
}

static int
parse_ports(const char *s, uint16_t *ports, size_t *n)
{
	char *copy = strdup(s), *save = NULL;
	int r = 0;
	*n = 0;
	if (copy == NULL)
		return TORIDE_ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		unsigned long long a, b;
		char *dash = strchr(tok, '-');
		if (dash != NULL)
			*dash = '\0';
		if (parse_uint(tok, 65535, &a, "--ports") != 0 || (dash && parse_uint(dash + 1, 65535, &b, "--ports") != 0)) {
			r = TORIDE_EINVAL;
			break;
		}
		if (dash == NULL)
			b = a;
		if (a == 0 || b < a) {
			fprintf(stderr, "toride survey: --ports: bad port or range '%s'\n", tok);
			r = TORIDE_EINVAL;
			break;
		}
		for (unsigned long long p = a; p <= b; p++) {
			bool dup = false;
			for (size_t i = 0; i < *n; i++)
				dup |= ports[i] == p;
			if (!dup && *n < SURVEY_MAX_PORTS)
				ports[(*n)++] = (uint16_t)p;
		}
	}
	free(copy);
	if (r == 0 && *n == 0) {
		fprintf(stderr, "toride survey: --ports: no port given\n");
		r = TORIDE_EINVAL;
	}
	return r;
}

/* Seconds between status lines when stderr is not a terminal (a log file or a pipe): often enough
 * to follow a survey, rare enough not to bury the log. */
#define SURVEY_LOG_PROGRESS_S 5.0
/* The engine's timer fires about once a second; a line due at 5 s that comes at 4.99 s is due. */
#define SURVEY_PROGRESS_SLACK_S 0.25

/* Descriptors kept for everything but check connections: the database and its WAL, the output,
 * the raw sockets and capture of SYN discovery, libuv's own, SSH's extra pipes. */
#define SURVEY_FD_RESERVE 64

/* Raise the soft descriptor limit to the hard one; return how many check connections fit. */
static unsigned long long
survey_fd_room(void)
{
	struct rlimit rl;
	emu_raise_fd_limit();
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return ULLONG_MAX;
	return rl.rlim_cur > 2 * SURVEY_FD_RESERVE ? (unsigned long long)rl.rlim_cur - SURVEY_FD_RESERVE
	                                           : (unsigned long long)rl.rlim_cur / 2;
}

struct progress_state {
	bool enabled;
	bool tty;
	bool printed;  /* a line went out (for the log cadence) */
	bool printed_complete; /* ... and it said 100 % */
	double last;   /* p->elapsed of that line */
};

/* The status line (survey/status.h) on stderr: on a terminal redrawn in place at every call (the
 * engine calls once a second and once at the end); elsewhere one line every
 * SURVEY_LOG_PROGRESS_S seconds, plus the first and the one that reaches 100 %. */
static void
print_progress(const struct toride_survey_progress *p, void *arg)
{
	struct progress_state *ps = arg;
	char line[TORIDE_SURVEY_STATUS_MAX];
	if (!ps->enabled)
		return;
	bool complete = p->done >= p->total;
	if (!ps->tty && ps->printed && !complete && p->elapsed - ps->last < SURVEY_LOG_PROGRESS_S - SURVEY_PROGRESS_SLACK_S)
		return;
	if (!ps->tty && ps->printed_complete)
		return; /* the final call after the last tick: no second 100 % line in a log */
	if (toride_survey_status_format(line, sizeof line, p) == TORIDE_EINVAL)
		return;
	/* \r and clear-to-end-of-line: a shorter line leaves nothing of the longer one behind. */
	fprintf(stderr, "%s%s%s", ps->tty ? "\r" : "", line, ps->tty ? "\033[K" : "\n");
	fflush(stderr);
	ps->printed = true;
	ps->printed_complete = complete;
	ps->last = p->elapsed;
}

/* The fallback note is filled when the survey starts: say it at the first progress call (even
 * with -q), not only at the end of a long run. */
struct progress_wrap {
	struct progress_state *ps;
	const char *note;
	bool said;
};

static void
progress_with_note(const struct toride_survey_progress *p, void *arg)
{
	struct progress_wrap *w = arg;
	if (!w->said && w->note[0] != '\0') {
		w->said = true;
		fprintf(stderr, "toride survey: %s\n", w->note);
	}
	print_progress(p, w->ps);
}

static const char *
data_dir(const char *opt)
{
	if (opt != NULL)
		return opt;
	const char *env = getenv("TORIDE_DATA_DIR");
	return env != NULL && *env ? env : TORIDE_DATA_DIR;
}

int
cmd_survey(int argc, char **argv)
{
	enum {
		O_SCOPE = 256, O_SCOPE_FILE, O_EXCLUDE, O_EXCLUDE_FILE, O_ALLOW_RESERVED, O_SEED, O_SHARD, O_RATE,
		O_MAXC, O_CTIMEOUT, O_RTIMEOUT, O_RETRIES, O_CREDS, O_NO_VENDOR, O_MAX_ATTEMPTS, O_ATTEMPT_DELAY,
		O_DB, O_NAME, O_DRY_RUN, O_DATA_DIR, O_DISCOVERY, O_DISCOVER_ONLY, O_PROBES, O_COOLDOWN, O_INTERFACE,
		O_SOURCE_IP, O_SOURCE_PORT,
	};
	static const struct option opts[] = {
		{"scope", required_argument, NULL, O_SCOPE},
		{"scope-file", required_argument, NULL, O_SCOPE_FILE},
		{"exclude", required_argument, NULL, O_EXCLUDE},
		{"exclude-file", required_argument, NULL, O_EXCLUDE_FILE},
		{"allow-reserved", required_argument, NULL, O_ALLOW_RESERVED},
		{"ports", required_argument, NULL, 'p'},
		{"seed", required_argument, NULL, O_SEED},
		{"shard", required_argument, NULL, O_SHARD},
		{"rate", required_argument, NULL, O_RATE},
		{"max-concurrency", required_argument, NULL, O_MAXC},
		{"connect-timeout", required_argument, NULL, O_CTIMEOUT},
		{"read-timeout", required_argument, NULL, O_RTIMEOUT},
		{"retries", required_argument, NULL, O_RETRIES},
		{"creds", required_argument, NULL, O_CREDS},
		{"no-vendor-creds", no_argument, NULL, O_NO_VENDOR},
		{"max-attempts-per-host", required_argument, NULL, O_MAX_ATTEMPTS},
		{"attempt-delay", required_argument, NULL, O_ATTEMPT_DELAY},
		{"output", required_argument, NULL, 'o'},
		{"db", required_argument, NULL, O_DB},
		{"name", required_argument, NULL, O_NAME},
		{"dry-run", no_argument, NULL, O_DRY_RUN},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"data-dir", required_argument, NULL, O_DATA_DIR},
		{"discovery", required_argument, NULL, O_DISCOVERY},
		{"discover-only", no_argument, NULL, O_DISCOVER_ONLY},
		{"probes", required_argument, NULL, O_PROBES},
		{"cooldown", required_argument, NULL, O_COOLDOWN},
		{"interface", required_argument, NULL, O_INTERFACE},
		{"source-ip", required_argument, NULL, O_SOURCE_IP},
		{"source-port", required_argument, NULL, O_SOURCE_PORT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int rc = TORIDE_EXIT_ERROR, r;
	char err[512];
	const char *scopes[SURVEY_MAX_SPECS], *scope_files[SURVEY_MAX_SPECS], *excludes[SURVEY_MAX_SPECS],
		*exclude_files[SURVEY_MAX_SPECS], *allows[SURVEY_MAX_SPECS];
	size_t nscopes = 0, nscope_files = 0, nexcludes = 0, nexclude_files = 0, nallows = 0;
	static uint16_t ports[SURVEY_MAX_PORTS];
	size_t nports = 0;
	unsigned long long seed = 1, rate = 1000, maxc = 512, ctimeout = 3000, rtimeout = 5000, retries = 1,
	                   max_attempts = 700, attempt_delay = 0;
	uint32_t shard_index = 0, shard_count = 1;
	const char *shard_text = "1/1", *creds_file = NULL, *output = NULL, *db = NULL, *name = NULL, *ddir = NULL;
	bool no_vendor = false, dry_run = false, quiet = false, discover_only = false;
	enum toride_discovery discovery = TORIDE_DISCOVERY_AUTO;
	const char *discovery_text = "auto", *iface = NULL;
	unsigned long long probes = 1;
	double cooldown = 5.0;
	struct toride_addr src4, src6;
	bool have_src4 = false, have_src6 = false;
	unsigned long long sport_lo = 0, sport_hi = 0;
	char fallback_note[512] = "";
	char send_note[1024] = "";
	int verbose = 0;
	struct toride_scope *scope = NULL;
	struct toride_creds creds;
	struct toride_fpdb *fpdb = NULL;
	struct toride_sink *sink = NULL;
	struct toride_order *order = NULL;
	toride_creds_init(&creds);

	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "p:o:qvh", opts, NULL)) != -1) {
		unsigned long long v;
		switch (c) {
		case O_SCOPE: case O_SCOPE_FILE: case O_EXCLUDE: case O_EXCLUDE_FILE: case O_ALLOW_RESERVED: {
			const char **arr = c == O_SCOPE ? scopes : c == O_SCOPE_FILE ? scope_files : c == O_EXCLUDE ? excludes
			                 : c == O_EXCLUDE_FILE ? exclude_files : allows;
			size_t *n = c == O_SCOPE ? &nscopes : c == O_SCOPE_FILE ? &nscope_files : c == O_EXCLUDE ? &nexcludes
			          : c == O_EXCLUDE_FILE ? &nexclude_files : &nallows;
			if (*n >= SURVEY_MAX_SPECS) {
				fprintf(stderr, "toride survey: too many such options; put them in a file\n");
				return TORIDE_EXIT_USAGE;
			}
			arr[(*n)++] = optarg;
			break;
		}
		case 'p':
			if (parse_ports(optarg, ports, &nports) != 0)
				return TORIDE_EXIT_USAGE;
			break;
		case O_SEED: if (parse_uint(optarg, UINT64_MAX, &seed, "--seed")) return TORIDE_EXIT_USAGE; break;
		case O_SHARD:
			if (toride_shard_parse(optarg, &shard_index, &shard_count) != 0) {
				fprintf(stderr, "toride survey: --shard: expected I/N with 1 <= I <= N, got '%s'\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			shard_text = optarg;
			break;
		case O_RATE: if (parse_uint(optarg, 100000000, &rate, "--rate")) return TORIDE_EXIT_USAGE; break;
		case O_MAXC: if (parse_uint(optarg, 1000000, &maxc, "--max-concurrency") || maxc == 0) return TORIDE_EXIT_USAGE; break;
		case O_CTIMEOUT: if (parse_uint(optarg, 600000, &ctimeout, "--connect-timeout") || ctimeout == 0) return TORIDE_EXIT_USAGE; break;
		case O_RTIMEOUT: if (parse_uint(optarg, 600000, &rtimeout, "--read-timeout") || rtimeout == 0) return TORIDE_EXIT_USAGE; break;
		case O_RETRIES: if (parse_uint(optarg, 10, &retries, "--retries")) return TORIDE_EXIT_USAGE; break;
		case O_CREDS: creds_file = optarg; break;
		case O_NO_VENDOR: no_vendor = true; break;
		case O_MAX_ATTEMPTS: if (parse_uint(optarg, UINT_MAX, &max_attempts, "--max-attempts-per-host")) return TORIDE_EXIT_USAGE; break;
		case O_ATTEMPT_DELAY: if (parse_uint(optarg, 600000, &attempt_delay, "--attempt-delay")) return TORIDE_EXIT_USAGE; break;
		case 'o': output = optarg; break;
		case O_DB: db = optarg; break;
		case O_NAME: name = optarg; break;
		case O_DRY_RUN: dry_run = true; break;
		case 'q': quiet = true; break;
		case 'v': verbose++; break;
		case O_DATA_DIR: ddir = optarg; break;
		case O_DISCOVERY:
			if (strcmp(optarg, "auto") == 0)
				discovery = TORIDE_DISCOVERY_AUTO;
			else if (strcmp(optarg, "syn") == 0)
				discovery = TORIDE_DISCOVERY_SYN;
			else if (strcmp(optarg, "connect") == 0)
				discovery = TORIDE_DISCOVERY_CONNECT;
			else {
				fprintf(stderr, "toride survey: --discovery: expected auto, syn or connect, got '%s'\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			discovery_text = optarg;
			break;
		case O_DISCOVER_ONLY: discover_only = true; break;
		case O_PROBES:
			if (parse_uint(optarg, 10, &probes, "--probes"))
				return TORIDE_EXIT_USAGE;
			if (probes == 0) {
				fprintf(stderr, "toride survey: --probes: at least 1\n");
				return TORIDE_EXIT_USAGE;
			}
			break;
		case O_COOLDOWN: {
			char *end;
			errno = 0;
			double cd = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(cd >= 0 && cd <= SURVEY_MAX_COOLDOWN_S) ||
			    optarg[0] == '-' || optarg[0] == '+' || optarg[0] == ' ') {
				fprintf(stderr, "toride survey: --cooldown: '%s' is not a number of seconds in 0..%.0f\n", optarg,
				        SURVEY_MAX_COOLDOWN_S);
				return TORIDE_EXIT_USAGE;
			}
			cooldown = cd;
			break;
		}
		case O_INTERFACE:
			if (optarg[0] == '\0' || strlen(optarg) >= 16) {
				fprintf(stderr, "toride survey: --interface: '%s' is not an interface name\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			iface = optarg;
			break;
		case O_SOURCE_IP: {
			struct toride_addr a;
			if (toride_addr_parse(optarg, &a) != 0) {
				fprintf(stderr, "toride survey: --source-ip: '%s' is not an IPv4 or IPv6 address\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			if ((a.family == 4 && have_src4) || (a.family == 6 && have_src6)) {
				fprintf(stderr, "toride survey: --source-ip: one address per family\n");
				return TORIDE_EXIT_USAGE;
			}
			if (a.family == 4) {
				src4 = a;
				have_src4 = true;
			} else {
				src6 = a;
				have_src6 = true;
			}
			break;
		}
		case O_SOURCE_PORT: {
			char *dash = strchr(optarg, '-');
			char lo_text[8];
			if (dash == NULL || (size_t)(dash - optarg) >= sizeof lo_text) {
				fprintf(stderr, "toride survey: --source-port: expected LO-HI, got '%s'\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			memcpy(lo_text, optarg, (size_t)(dash - optarg));
			lo_text[dash - optarg] = '\0';
			if (parse_uint(lo_text, 65535, &sport_lo, "--source-port") ||
			    parse_uint(dash + 1, 65535, &sport_hi, "--source-port"))
				return TORIDE_EXIT_USAGE;
			if (sport_lo == 0 || sport_hi < sport_lo) {
				fprintf(stderr, "toride survey: --source-port: expected 1 <= LO <= HI <= 65535, got '%s'\n", optarg);
				return TORIDE_EXIT_USAGE;
			}
			break;
		}
		case 'h': survey_usage(stdout); return TORIDE_EXIT_OK;
		default: survey_usage(stderr); return TORIDE_EXIT_USAGE;
		}
		(void)v;
	}
	if (optind < argc) {
		fprintf(stderr, "toride survey: unexpected argument '%s' (scopes go after --scope)\n", argv[optind]);
		return TORIDE_EXIT_USAGE;
	}
	if (nscopes == 0 && nscope_files == 0) {
		fprintf(stderr, "toride survey: no scope given: use --scope or --scope-file (no scope, no survey)\n");
		return TORIDE_EXIT_USAGE;
	}
	toride_log_set_level(verbose >= 2 ? TORIDE_LOG_DEBUG : verbose == 1 ? TORIDE_LOG_INFO : TORIDE_LOG_WARN);
	if (nports == 0) {
		memcpy(ports, toride_survey_default_ports, toride_survey_default_nports * sizeof ports[0]);
		nports = toride_survey_default_nports;
	}
	const char *dd = data_dir(ddir);
	char path[PATH_MAX];

	/* ---- scope ---- */
	if ((r = toride_scope_new(&scope)) != 0)
		goto fail;
	for (size_t i = 0; i < nscopes; i++)
		if ((r = toride_scope_add(scope, scopes[i], err, sizeof err)) != 0)
			goto usage_err;
	for (size_t i = 0; i < nscope_files; i++)
		if ((r = toride_scope_add_file(scope, scope_files[i], err, sizeof err)) != 0)
			goto usage_err;
	snprintf(path, sizeof path, "%s/exclusions/special-purpose.txt", dd);
	if ((r = toride_scope_load_default_exclusions(scope, path, err, sizeof err)) != 0)
		goto fail_msg;
	for (size_t i = 0; i < nallows; i++) {
		char note[512];
		if ((r = toride_scope_allow_reserved(scope, allows[i], note, sizeof note, err, sizeof err)) != 0)
			goto usage_err;
		log_warn("%s (--allow-reserved)", note);
	}
	for (size_t i = 0; i < nexcludes; i++)
		if ((r = toride_scope_exclude(scope, excludes[i], "--exclude", err, sizeof err)) != 0)
			goto usage_err;
	for (size_t i = 0; i < nexclude_files; i++)
		if ((r = toride_scope_exclude_file(scope, exclude_files[i], err, sizeof err)) != 0)
			goto usage_err;
	if ((r = toride_scope_finalize(scope, err, sizeof err)) != 0)
		goto usage_err;
	/* Say what each exclusion took out of the scope (-v), so an operator sees the opt-out lists
	 * and the default ranges at work. */
	for (size_t i = 0; i < toride_scope_nexclusions(scope); i++) {
		struct toride_scope_exclusion ex;
		char range[2 * TORIDE_ADDR_STRLEN + 8];
		if (toride_scope_exclusion(scope, i, &ex) != 0 || ex.removed == 0)
			continue;
		toride_scope_range_format(&ex.first, &ex.last, range, sizeof range);
		log_info("exclusion %s (%s) removed %llu addresses from the scope", range, ex.reason ? ex.reason : "",
		         (unsigned long long)ex.removed);
	}
	log_info("scope: %llu addresses in %zu ranges", (unsigned long long)toride_scope_count(scope),
	         toride_scope_nintervals(scope));

	if (dry_run) {
		if ((r = toride_order_new(&order, scope, ports, nports, seed, shard_index, shard_count)) != 0)
			goto fail;
		fprintf(stderr, "toride survey: dry run: %llu addresses x %zu ports, shard %s: %llu probes\n",
		        (unsigned long long)toride_scope_count(scope), nports, shard_text,
		        (unsigned long long)toride_order_total(order));
		struct toride_addr a;
		uint16_t port;
		char as[TORIDE_ADDR_STRLEN];
		while (toride_order_next(order, &a, &port) == 1) {
			toride_addr_format(&a, as, sizeof as);
			printf("%s %u\n", as, port);
		}
		rc = TORIDE_EXIT_OK;
		goto out;
	}

	/* ---- credentials and fingerprints ---- */
	if (creds_file != NULL) {
		if ((r = toride_creds_load_file(&creds, creds_file, err, sizeof err)) != 0)
			goto usage_err;
	} else {
		snprintf(path, sizeof path, "%s/credentials/mirai.tsv", dd);
		if ((r = toride_creds_load_mirai(&creds, path, err, sizeof err)) != 0)
			goto fail_msg;
	}
	snprintf(path, sizeof path, "%s/fingerprints/recog", dd);
	if (toride_fpdb_load_dir(&fpdb, path, err, sizeof err) != 0) {
		log_warn("fingerprints unavailable (%s): devices will not be named", err);
		fpdb = NULL;
	}
	char vendor_path[PATH_MAX];
	snprintf(vendor_path, sizeof vendor_path, "%s/credentials/vendor-defaults.csv", dd);

	/* ---- survey identity: same parameters, same name, so a re-run resumes ---- */
	json_t *params = json_object(), *jscope = json_array(), *jports = json_array(), *jexcl = json_array();
	for (size_t i = 0; i < nscopes; i++)
		json_array_append_new(jscope, json_string(scopes[i]));
	for (size_t i = 0; i < nscope_files; i++)
		json_array_append_new(jscope, json_sprintf("file:%s", scope_files[i]));
	for (size_t i = 0; i < nexcludes; i++)
		json_array_append_new(jexcl, json_string(excludes[i]));
	for (size_t i = 0; i < nexclude_files; i++)
		json_array_append_new(jexcl, json_sprintf("file:%s", exclude_files[i]));
	for (size_t i = 0; i < nports; i++)
		json_array_append_new(jports, json_integer(ports[i]));
	json_object_set_new(params, "scope", jscope);
	json_object_set_new(params, "exclude", jexcl);
	json_object_set_new(params, "ports", jports);
	json_object_set_new(params, "seed", json_integer((json_int_t)seed));
	json_object_set_new(params, "shard", json_string(shard_text));
	json_object_set_new(params, "creds", json_string(creds_file ? creds_file : "mirai"));
	char survey_id[64];
	if (name != NULL) {
		snprintf(survey_id, sizeof survey_id, "%s", name);
	} else {
		char *canon = json_dumps(params, JSON_SORT_KEYS | JSON_COMPACT);
		unsigned char h[16];
		crypto_generichash(h, sizeof h, (const unsigned char *)canon, canon ? strlen(canon) : 0, NULL, 0);
		free(canon);
		char hex[33];
		sodium_bin2hex(hex, sizeof hex, h, 6);
		snprintf(survey_id, sizeof survey_id, "s-%s", hex);
	}
	json_object_set_new(params, "rate", json_integer((json_int_t)rate));
	json_object_set_new(params, "discovery", json_string(discovery_text));
	if (discover_only)
		json_object_set_new(params, "discover_only", json_true());
	json_object_set_new(params, "max_concurrency", json_integer((json_int_t)maxc));
	json_object_set_new(params, "addresses", json_integer((json_int_t)toride_scope_count(scope)));

	if (output == NULL && db == NULL)
		output = "-"; /* events must go somewhere */
	if ((r = toride_sink_open(&sink, output, db, err, sizeof err)) != 0) {
		json_decref(params);
		goto fail_msg;
	}
	json_t *ev = toride_event_new("survey", survey_id);
	json_object_set_new(ev, "status", json_string("started"));
	json_object_set(ev, "params", params);
	toride_sink_emit(sink, ev);
	json_decref(ev);

	/* Every check connection is a descriptor: above the process's limit, connects fail with EMFILE.
	 * Take the hard limit, and keep --max-concurrency below it (the survey id keeps the asked
	 * value, so a resumed run on another machine is the same survey). */
	unsigned long long fd_room = survey_fd_room();
	if (maxc > fd_room) {
		fprintf(stderr, "toride survey: --max-concurrency %llu is more than this process may open "
		        "(file descriptor limit); using %llu\n", maxc, fd_room);
		maxc = fd_room;
	}

	struct progress_state ps = {.enabled = !quiet, .tty = isatty(STDERR_FILENO)};
	struct progress_wrap pw = {.ps = &ps, .note = fallback_note};
	struct toride_survey_config cfg = {
		.survey_id = survey_id,
		.scope = scope,
		.ports = ports,
		.nports = nports,
		.seed = seed,
		.shard_index = shard_index,
		.shard_count = shard_count,
		.rate = (double)rate,
		.max_concurrency = (unsigned)maxc,
		.connect_timeout_ms = (unsigned)ctimeout,
		.read_timeout_ms = (unsigned)rtimeout,
		.retries = (unsigned)retries,
		.max_attempts_per_host = (unsigned)max_attempts,
		.attempt_delay_ms = (unsigned)attempt_delay,
		.creds = &creds,
		.vendor_creds_path = no_vendor ? NULL : vendor_path,
		.fpdb = fpdb,
		.sink = sink,
		.resume = db != NULL,
		.user_agent = "toride/" TORIDE_VERSION " (IoT default-credential survey; login check only)",
		.progress = progress_with_note,
		.progress_arg = &pw,
		.stop_flag = &stop_requested,
		.discovery = discovery,
		.discover_only = discover_only,
		.probes = (unsigned)probes,
		.cooldown_ms = (unsigned)(cooldown * 1000.0 + 0.5),
		.interface = iface,
		.source4 = have_src4 ? &src4 : NULL,
		.source6 = have_src6 ? &src6 : NULL,
		.sport_base = (uint16_t)sport_lo,
		.sport_count = (uint16_t)(sport_lo ? sport_hi - sport_lo + 1 : 0),
		.fallback_note = fallback_note,
		.fallback_note_len = sizeof fallback_note,
		.send_note = send_note,
		.send_note_len = sizeof send_note,
	};
	struct toride_survey_stats st;
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	signal(SIGPIPE, SIG_IGN);
	r = toride_survey_run(&cfg, &st);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (ps.enabled && ps.tty)
		fputc('\n', stderr);
	/* Why connect discovery ran instead of SYN, or why SYN could not start: always said. */
	if (fallback_note[0] != '\0' && !pw.said)
		fprintf(stderr, "toride survey: %s\n", fallback_note);

	ev = toride_event_new("survey", survey_id);
	json_object_set_new(ev, "status", json_string(st.interrupted ? "interrupted" : r == 0 ? "finished" : "failed"));
	json_object_set_new(ev, "params", params);
	json_t *counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "probes", (json_int_t)st.probes, "open",
	                           (json_int_t)st.open, "skipped", (json_int_t)st.skipped, "attempts",
	                           (json_int_t)st.attempts, "fail", (json_int_t)st.findings_fail, "pass",
	                           (json_int_t)st.findings_pass, "unknown", (json_int_t)st.findings_unknown);
	if (counts != NULL) {
		json_object_set_new(counts, "discovery", json_string(st.syn ? "syn" : "connect"));
		json_object_set_new(counts, "packets", json_integer((json_int_t)st.packets));
		json_object_set_new(counts, "replies", json_integer((json_int_t)st.replies));
		json_object_set_new(counts, "duplicates", json_integer((json_int_t)st.duplicates));
		json_object_set_new(counts, "kernel_drops", json_integer((json_int_t)st.kernel_drops));
		json_object_set_new(counts, "discovery_seconds", json_real(st.discovery_seconds));
		json_object_set_new(counts, "peak_in_flight", json_integer((json_int_t)st.peak_in_flight));
		json_object_set_new(counts, "local_failures", json_integer((json_int_t)st.local_failures));
	}
	json_object_set_new(ev, "counts", counts);
	toride_sink_emit(sink, ev);
	json_decref(ev);
	if (r != 0) {
		struct toride_store *store = toride_sink_store(sink);
		fprintf(stderr, "toride survey: %s%s%s\n", toride_strerror(r), store ? ": " : "",
		        store ? toride_store_errmsg(store) : "");
		goto out;
	}
	if (!quiet && send_note[0] != '\0')
		fprintf(stderr, "toride survey: SYN discovery: %s\n", send_note);
	if (!quiet) {
		char synpart[160] = "";
		if (st.syn)
			snprintf(synpart, sizeof synpart, " (SYN: %llu packets in %.1f s, %llu replies, %llu duplicates, %llu dropped by the capture)",
			         (unsigned long long)st.packets, st.discovery_seconds, (unsigned long long)st.replies,
			         (unsigned long long)st.duplicates, (unsigned long long)st.kernel_drops);
		fprintf(stderr,
		        "toride survey %s: %llu probes%s (%llu skipped as done), %llu open, %llu login attempts, "
		        "%llu failing findings%s\n",
		        survey_id, (unsigned long long)st.probes, synpart, (unsigned long long)st.skipped,
		        (unsigned long long)st.open, (unsigned long long)st.attempts, (unsigned long long)st.findings_fail,
		        st.interrupted ? " (interrupted: run the same command again to resume)" : "");
	}
	if (st.local_failures > 0)
		fprintf(stderr, "toride survey: %llu connects failed on this machine (out of file descriptors or "
		        "local ports); those pairs were not probed%s\n", (unsigned long long)st.local_failures,
		        db != NULL ? ": run the same command again to do them" : "");
	rc = st.findings_fail > 0 ? TORIDE_EXIT_FINDINGS : TORIDE_EXIT_OK;
	if (st.interrupted)
		rc = TORIDE_EXIT_ERROR;
	goto out;

usage_err:
	fprintf(stderr, "toride survey: %s\n", err);
	rc = TORIDE_EXIT_USAGE;
	goto out;
fail_msg:
	fprintf(stderr, "toride survey: %s\n", err);
	rc = TORIDE_EXIT_ERROR;
	goto out;
fail:
	fprintf(stderr, "toride survey: %s\n", toride_strerror(r));
	rc = TORIDE_EXIT_ERROR;
out:
	toride_order_free(order);
	toride_sink_close(sink);
	toride_fpdb_free(fpdb);
	toride_creds_free(&creds);
	toride_scope_free(scope);
	return rc;
}
