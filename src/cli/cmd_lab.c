/* toride lab: a fleet of emulated IoT devices with known truth (src/emu/fleet.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/error.h"
#include "emu/emu.h"
#include "emu/fleet.h"

/* Why 100,000: one process serves the fleet; beyond this the descriptor limit and memory of a
 * 2-core machine, not the code, are the bound. */
#define LAB_MAX_DEVICES 100000

static volatile int lab_stop;

static void
lab_on_signal(int sig)
{
	(void)sig;
	lab_stop = 1;
}

static void
lab_usage(FILE *out)
{
	fprintf(out,
	        "usage: toride lab [options]\n"
	        "\n"
	        "Start a fleet of emulated IoT devices (DVRs, cameras, routers, NAS, ...) built from real device\n"
	        "profiles, each on its own loopback address, and run until stopped (Ctrl-C). Writes the ground\n"
	        "truth (address, profile, services, which credential works) as JSON. Nothing a client sends is\n"
	        "ever executed: the shells and services are emulated.\n"
	        "\n"
	        "  --devices N          number of devices (default 50)\n"
	        "  --net CIDR           addresses to use (default 127.16.0.0/16; no root needed). An IPv6\n"
	        "                       prefix needs a local route to lo first, e.g. in a namespace:\n"
	        "                       ip -6 route add local fd96::/112 dev lo\n"
	        "  --mix SPEC           'all' (every profile in turn, default) or 'id=weight,id=weight'\n"
	        "  --seed N             per-device passwords, host names, MACs (default 1)\n"
	        "  --truth FILE         write the ground truth here (default lab-truth.json)\n"
	        "  --ready-file FILE    create FILE when every device listens (for scripts)\n"
	        "  --stats-file FILE    keep the counters (sessions, login attempts) here as JSON, updated\n"
	        "                       within 0.1 s of a change (for benchmarks)\n"
	        "  --port-offset N      add N to ports below 1024 (default: 10000 unless run as root)\n"
	        "  --max-sessions N     simultaneous client sessions (default %d)\n"
	        "  --idle-timeout MS    hang up idle clients (default %d)\n"
	        "  --profiles DIR       device profiles (default " TORIDE_DATA_DIR "/profiles)\n"
	        "  --hostkeys DIR       SSH host keys, generated if missing (default ./lab-hostkeys)\n"
	        "  --no-ssh             do not start the SSH services\n"
	        "  --no-delays          answer at once (devices normally pause after a wrong password)\n"
	        "  --list-profiles      print the profiles and exit\n",
	        EMU_FLEET_MAX_SESSIONS_DEFAULT, EMU_FLEET_IDLE_TIMEOUT_MS_DEFAULT);
}

static void
lab_log(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "toride lab: %s\n", line);
}

static int
lab_uint(const char *s, unsigned long max, unsigned long *out, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-') {
		fprintf(stderr, "toride lab: %s: '%s' is not a number in 0..%lu\n", what, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
cmd_lab(int argc, char **argv)
{
	enum { O_DEVICES = 256, O_NET, O_MIX, O_SEED, O_TRUTH, O_READY, O_OFFSET, O_MAXS, O_IDLE, O_PROFILES, O_HOSTKEYS,
	       O_NOSSH, O_LIST, O_NODELAYS, O_STATS };
	static const struct option opts[] = {
		{"devices", required_argument, NULL, O_DEVICES}, {"net", required_argument, NULL, O_NET},
		{"mix", required_argument, NULL, O_MIX},         {"seed", required_argument, NULL, O_SEED},
		{"truth", required_argument, NULL, O_TRUTH},     {"ready-file", required_argument, NULL, O_READY},
		{"port-offset", required_argument, NULL, O_OFFSET}, {"max-sessions", required_argument, NULL, O_MAXS},
		{"idle-timeout", required_argument, NULL, O_IDLE}, {"profiles", required_argument, NULL, O_PROFILES},
		{"hostkeys", required_argument, NULL, O_HOSTKEYS}, {"no-ssh", no_argument, NULL, O_NOSSH},
		{"list-profiles", no_argument, NULL, O_LIST},    {"no-delays", no_argument, NULL, O_NODELAYS},
		{"stats-file", required_argument, NULL, O_STATS},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long devices = 50, seed = 1, offset = geteuid() == 0 ? 0 : 10000, maxs = EMU_FLEET_MAX_SESSIONS_DEFAULT,
	              idle = EMU_FLEET_IDLE_TIMEOUT_MS_DEFAULT;
	const char *net = "127.16.0.0/16", *mix = "all", *truth = "lab-truth.json", *ready = NULL, *pdir = NULL, *stats = NULL,
	           *hostkeys = "lab-hostkeys";
	bool no_ssh = false, list = false, no_delays = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_DEVICES: if (lab_uint(optarg, LAB_MAX_DEVICES, &devices, "--devices") || devices == 0) return TORIDE_EXIT_USAGE; break;
		case O_NET: net = optarg; break;
		case O_MIX: mix = optarg; break;
		case O_SEED: if (lab_uint(optarg, ~0ul, &seed, "--seed")) return TORIDE_EXIT_USAGE; break;
		case O_TRUTH: truth = optarg; break;
		case O_READY: ready = optarg; break;
		case O_STATS: stats = optarg; break;
		case O_OFFSET: if (lab_uint(optarg, 64000, &offset, "--port-offset")) return TORIDE_EXIT_USAGE; break;
		case O_MAXS: if (lab_uint(optarg, 1000000, &maxs, "--max-sessions") || maxs == 0) return TORIDE_EXIT_USAGE; break;
		case O_IDLE: if (lab_uint(optarg, 3600000, &idle, "--idle-timeout") || idle == 0) return TORIDE_EXIT_USAGE; break;
		case O_PROFILES: pdir = optarg; break;
		case O_HOSTKEYS: hostkeys = optarg; break;
		case O_NOSSH: no_ssh = true; break;
		case O_LIST: list = true; break;
		case O_NODELAYS: no_delays = true; break;
		case 'h': lab_usage(stdout); return TORIDE_EXIT_OK;
		default: lab_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "toride lab: unexpected argument '%s'\n", argv[optind]);
		return TORIDE_EXIT_USAGE;
	}
	char dir[4096], err[512];
	if (pdir == NULL) {
		const char *env = getenv("TORIDE_DATA_DIR");
		snprintf(dir, sizeof dir, "%s/profiles", env && *env ? env : TORIDE_DATA_DIR);
		pdir = dir;
	}
	struct emu_profiles profiles = {0};
	if (emu_profiles_load_dir(&profiles, pdir, err, sizeof err) != 0) {
		fprintf(stderr, "toride lab: %s\n", err);
		return TORIDE_EXIT_ERROR;
	}
	if (list) {
		for (size_t i = 0; i < profiles.n; i++) {
			const struct emu_profile *p = &profiles.v[i];
			printf("%-28s %-14s %-12s %-16s", p->id, p->vendor, p->type, emu_cred_policy_name(p->policy));
			for (size_t k = 0; k < p->nservices; k++)
				printf(" %s/%u", emu_proto_name(p->services[k].proto), p->services[k].port);
			printf("\n");
		}
		emu_profiles_free(&profiles);
		return TORIDE_EXIT_OK;
	}
	struct emu_fleet_config cfg = {
		.profiles = &profiles,
		.net = net,
		.ndevices = (unsigned)devices,
		.mix = mix,
		.seed = seed,
		.port_offset = (unsigned)offset,
		.max_sessions = (unsigned)maxs,
		.idle_timeout_ms = (unsigned)idle,
		.truth_path = truth,
		.ready_path = ready,
		.stats_path = stats,
		.hostkey_dir = no_ssh ? NULL : hostkeys,
		.no_delays = no_delays,
		.stop_flag = &lab_stop,
		.log = lab_log,
	};
	if (!no_ssh && mkdir(hostkeys, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "toride lab: cannot create %s: %s\n", hostkeys, strerror(errno));
		emu_profiles_free(&profiles);
		return TORIDE_EXIT_ERROR;
	}
	signal(SIGINT, lab_on_signal);
	signal(SIGTERM, lab_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (offset > 0)
		fprintf(stderr, "toride lab: not root: ports below 1024 are served at port+%lu\n", offset);
	struct emu_fleet_stats st;
	int r = emu_fleet_run(&cfg, &st, err, sizeof err);
	emu_profiles_free(&profiles);
	if (r != 0) {
		fprintf(stderr, "toride lab: %s\n", err[0] ? err : toride_strerror(r));
		return TORIDE_EXIT_ERROR;
	}
	fprintf(stderr, "toride lab: stopped: %llu sessions served, %llu refused over the cap, %llu login attempts (%llu accepted)\n",
	        (unsigned long long)st.sessions, (unsigned long long)st.refused, (unsigned long long)st.logins,
	        (unsigned long long)st.logins_ok);
	return TORIDE_EXIT_OK;
}
