/* toride honeypot: run | export | classify (docs/honeypot.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/event.h"
#include "core/scope.h"
#include "emu/emu.h"
#include "emu/serve.h"
#include "emu/ssh.h"
#include "honeypot/collector.h"
#include "honeypot/hp.h"
#include "honeypot/sandbox.h"
#include "honeypot/sensor.h"
#include "survey/creds.h"

#define HP_BACKLOG 512
/* Why 4: the loop thread and SSH session threads share them; more arenas only cost memory. */
#define HP_SENSOR_MALLOC_ARENAS 4

static volatile sig_atomic_t hp_stop;

static void
hp_on_signal(int sig)
{
	(void)sig;
	hp_stop = 1;
}

static void
hp_log(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "toride honeypot: %s\n", line);
}

static const char *
data_dir(void)
{
	const char *env = getenv("TORIDE_DATA_DIR");
	return env != NULL && *env ? env : TORIDE_DATA_DIR;
}

static void
run_usage(FILE *out)
{
	fprintf(out,
	        "usage: toride honeypot run [options]\n"
	        "\n"
	        "Answer telnet, SSH, HTTP, MQTT, FTP or RTSP as real IoT devices would (data/profiles), let bots\n"
	        "log in with the credentials bots use, interpret what they type in an emulated busybox shell\n"
	        "(nothing is ever executed) and record every session: credentials, commands, download URLs,\n"
	        "droppers, transcript, malware family (YARA). Attackers' bytes are parsed in a separate process\n"
	        "that runs as an unprivileged user under a seccomp filter and cannot open files or connections.\n"
	        "\n"
	        "  --listen ADDR:PORT/PROTO[=PROFILE]  listen (repeatable; PROTO telnet|ssh|http|mqtt|ftp|rtsp;\n"
	        "                       IPv6 as [::1]:2323/telnet). Default 127.0.0.1:2323/telnet, 127.0.0.1:2222/ssh\n"
	        "  --profiles DIR       device profiles (default %s/profiles)\n"
	        "  --profile ID[,ID..]  the pool of devices (default: every factory-default profile)\n"
	        "  --pick connection|address  a device per client source address (default) or per listener\n"
	        "  --accept listed|profile|any  logins that work: pairs of the known lists and the profile's\n"
	        "                       own (default), only the profile's policy, or every pair\n"
	        "  --events FILE        JSON Lines ('-' = stdout)\n"
	        "  --db FILE            SQLite database (tables hp_session, hp_sample)\n"
	        "  --samples-dir DIR    keep droppers (and fetched samples) by SHA-256\n"
	        "  --fetch-samples      download the URLs bots give to wget/tftp, only from --sample-scope\n"
	        "  --sample-scope CIDR  addresses samples may be fetched from (repeatable; required to fetch)\n"
	        "  --yara DIR           YARA rules (default %s/yara)\n"
	        "  --user NAME          run as NAME after binding (default %s when started as root)\n"
	        "  --max-sessions N     sessions at once (default %d)\n"
	        "  --per-source-sessions N  sessions at once per source address (default %d)\n"
	        "  --per-source-bytes N bytes a source may send per hour (default %u)\n"
	        "  --session-seconds S  longest session (default %d)\n"
	        "  --idle-seconds S     hang up idle clients (default %d)\n"
	        "  --seed N             randomisation of this instance (default: random)\n"
	        "  --hostkey-dir DIR    SSH host keys, generated if missing (default: new keys each run)\n"
	        "  --no-delays          no pause after a wrong password (tests)\n"
	        "  --duration S         stop after S seconds\n"
	        "  --ready-file F       create F when the sensor serves\n"
	        "  --stats F            counters as JSON, rewritten every second\n",
	        data_dir(), data_dir(), HP_SANDBOX_DEFAULT_USER, HP_MAX_SESSIONS_DEFAULT,
	        HP_PER_SOURCE_SESSIONS_DEFAULT, HP_PER_SOURCE_BYTES_DEFAULT, HP_SESSION_SECONDS_DEFAULT,
	        HP_IDLE_SECONDS_DEFAULT);
}

static int
num(const char *s, unsigned long long max, unsigned long long *out, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-') {
		fprintf(stderr, "toride honeypot: %s: '%s' is not a number in 0..%llu\n", what, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
proto_of(const char *s, enum emu_proto *p)
{
	for (int i = 0; i < EMU_PROTO_COUNT; i++)
		if (strcmp(s, emu_proto_name((enum emu_proto)i)) == 0) {
			*p = (enum emu_proto)i;
			return 0;
		}
	return -1;
}

/* ADDR:PORT/PROTO[=PROFILE], ADDR may be [v6]. */
static int
parse_listen(const char *spec, const struct emu_profiles *profiles, struct hp_listener *l)
{
	char tmp[512], *profile = NULL;
	if (snprintf(tmp, sizeof tmp, "%s", spec) >= (int)sizeof tmp)
		goto bad;
	char *eq = strchr(tmp, '=');
	if (eq != NULL) {
		*eq = '\0';
		profile = eq + 1;
	}
	char *slash = strrchr(tmp, '/');
	if (slash == NULL || proto_of(slash + 1, &l->proto) != 0) {
		fprintf(stderr, "toride honeypot: --listen %s: the protocol after '/' must be telnet, ssh, http, mqtt, ftp or rtsp\n", spec);
		return -1;
	}
	*slash = '\0';
	char *colon = strrchr(tmp, ':');
	if (colon == NULL)
		goto bad;
	*colon = '\0';
	char *host = tmp;
	if (host[0] == '[') {
		size_t hl = strlen(host);
		if (hl < 2 || host[hl - 1] != ']')
			goto bad;
		host[hl - 1] = '\0';
		host++;
	}
	unsigned long long port;
	if (num(colon + 1, 65535, &port, "--listen port") != 0 || port == 0)
		return -1;
	if (toride_addr_parse(host, &l->addr) != 0)
		goto bad;
	toride_addr_format(&l->addr, l->addr_str, sizeof l->addr_str);
	l->port = (uint16_t)port;
	l->pin = NULL;
	if (profile != NULL) {
		l->pin = emu_profiles_find(profiles, profile);
		if (l->pin == NULL) {
			fprintf(stderr, "toride honeypot: --listen %s: no profile '%s' (toride lab --list-profiles)\n", spec, profile);
			return -1;
		}
		bool has = false;
		for (size_t i = 0; i < l->pin->nservices; i++)
			has = has || l->pin->services[i].proto == l->proto;
		if (!has) {
			fprintf(stderr, "toride honeypot: --listen %s: profile '%s' has no %s service\n", spec, profile, emu_proto_name(l->proto));
			return -1;
		}
	}
	l->fd = -1;
	return 0;
bad:
	fprintf(stderr, "toride honeypot: --listen %s: expected ADDR:PORT/PROTO[=PROFILE], e.g. 0.0.0.0:23/telnet\n", spec);
	return -1;
}

static void
ready_touch(const char *path)
{
	if (path == NULL)
		return;
	FILE *f = fopen(path, "w");
	if (f != NULL)
		fclose(f);
}

struct run_opts {
	const char *profiles_dir, *pool, *pick, *accept, *events, *db, *samples_dir, *yara_dir, *user;
	const char *hostkey_dir, *ready, *stats;
	const char *listen[HP_MAX_LISTENERS];
	size_t nlisten;
	const char *scopes[64];
	size_t nscopes;
	bool fetch, no_delays, seed_set;
	unsigned long long max_sessions, per_src, per_src_bytes, session_s, idle_s, duration, seed;
};

static int
sensor_confine(void *arg)
{
	char err[512];
	(void)arg;
	if (hp_sandbox_sensor(err, sizeof err) != 0) {
		fprintf(stderr, "toride honeypot: sensor: %s\n", err);
		return TORIDE_EIO;
	}
	return 0;
}

/* The sensor: close what it must not hold, give up root, confine, serve. Never returns. */
static void
sensor_main(struct hp_sensor_config *scfg, const char *user, int keep_fd)
{
	char err[512];
	/* Everything the parent opened (database, event file, samples directory) is closed here: the
	 * sensor holds only its listeners and its end of the pipe. */
	long maxfd = sysconf(_SC_OPEN_MAX);
	for (long fd = 3; fd < maxfd && fd < 1 << 20; fd++) {
		bool keep = fd == keep_fd;
		for (size_t i = 0; i < scfg->nlisteners && !keep; i++)
			keep = scfg->listeners[i].fd == fd;
		if (!keep)
			close((int)fd);
	}
	if (hp_drop_privileges(user, err, sizeof err) != 0) {
		fprintf(stderr, "toride honeypot: sensor: %s\n", err);
		_exit(TORIDE_EXIT_ERROR);
	}
	/* glibc sizes its malloc arenas from /sys/devices/system/cpu/online the first time a thread
	 * needs a new one (the 9th on 2 cores: concurrent SSH sessions); under the filter that open
	 * kills the sensor. A fixed arena count is decided now and bounds memory too. */
	mallopt(M_ARENA_MAX, HP_SENSOR_MALLOC_ARENAS);
	scfg->confine = sensor_confine;
	int r = hp_sensor_run(scfg);
	_exit(r == 0 ? 0 : TORIDE_EXIT_ERROR);
}

static int
load_listed(struct toride_creds *listed, const struct emu_profile **pool, size_t npool, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/credentials/mirai.tsv", data_dir());
	int r = toride_creds_load_mirai(listed, path, err, errlen);
	snprintf(path, sizeof path, "%s/credentials/vendor-defaults.csv", data_dir());
	for (size_t i = 0; r == 0 && i < npool; i++) {
		int n = toride_creds_load_vendor(listed, path, pool[i]->vendor, err, errlen);
		if (n < 0)
			r = n;
	}
	return r;
}

static int
honeypot_run(const struct run_opts *o)
{
	char err[1024] = "";
	int rc = TORIDE_EXIT_ERROR, r;
	struct emu_profiles profiles = {0};
	const struct emu_profile **pool = NULL;
	size_t npool = 0;
	struct hp_listener listeners[HP_MAX_LISTENERS];
	size_t nl = 0;
	struct toride_creds listed;
	struct emu_ssh *ssh = NULL;
	struct toride_sink *sink = NULL;
	struct hp_yara *yara = NULL;
	struct hp_samples *samples = NULL;
	struct toride_scope *scope = NULL;
	int pfd[2] = {-1, -1}, stats_fd = -1;
	pid_t pid = -1;

	toride_creds_init(&listed);
	char pdir[4096];
	snprintf(pdir, sizeof pdir, "%s/profiles", data_dir());
	if (emu_profiles_load_dir(&profiles, o->profiles_dir ? o->profiles_dir : pdir, err, sizeof err) != 0)
		goto fail;
	if ((pool = calloc(profiles.n + 1, sizeof *pool)) == NULL)
		goto fail;
	if (o->pool != NULL) {
		char *copy = strdup(o->pool), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t != NULL; t = strtok_r(NULL, ",", &save)) {
			const struct emu_profile *p = emu_profiles_find(&profiles, t);
			if (p == NULL) {
				snprintf(err, sizeof err, "--profile: no profile '%s' (toride lab --list-profiles)", t);
				free(copy);
				goto fail;
			}
			pool[npool++] = p;
		}
		free(copy);
	} else {
		for (size_t i = 0; i < profiles.n; i++)
			if (profiles.v[i].policy == EMU_CRED_FACTORY_DEFAULT)
				pool[npool++] = &profiles.v[i];
	}
	const char *defaults[] = {"127.0.0.1:2323/telnet", "127.0.0.1:2222/ssh"};
	size_t nspec = o->nlisten ? o->nlisten : 2;
	for (size_t i = 0; i < nspec; i++) {
		if (parse_listen(o->nlisten ? o->listen[i] : defaults[i], &profiles, &listeners[nl]) != 0) {
			rc = TORIDE_EXIT_USAGE;
			goto out;
		}
		struct hp_sensor_config probe = {.pool = pool, .npool = npool, .seed = o->seed};
		if (hp_profile_for(&probe, &listeners[nl], NULL) == NULL) {
			snprintf(err, sizeof err, "--listen %s: no profile of the pool serves %s", listeners[nl].addr_str,
			         emu_proto_name(listeners[nl].proto));
			rc = TORIDE_EXIT_USAGE;
			goto fail;
		}
		nl++;
	}
	if ((r = load_listed(&listed, pool, npool, err, sizeof err)) != 0)
		goto fail;
	emu_raise_fd_limit();

	/* Everything that needs privilege or files happens now, before the fork. */
	for (size_t i = 0; i < nl; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		toride_addr_to_sockaddr(&listeners[i].addr, listeners[i].port, &ss, &sl);
		if (emu_listen_socket((struct sockaddr *)&ss, sl, HP_BACKLOG, &listeners[i].fd) != 0) {
			int e = errno;
			snprintf(err, sizeof err, "cannot listen on %s:%u: %s%s", listeners[i].addr_str, listeners[i].port,
			         strerror(e), e == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
			goto fail;
		}
		if (listeners[i].proto == EMU_SSH && ssh == NULL) {
			if (o->hostkey_dir != NULL && mkdir(o->hostkey_dir, 0700) != 0 && errno != EEXIST) {
				snprintf(err, sizeof err, "cannot create %s: %s", o->hostkey_dir, strerror(errno));
				goto fail;
			}
			if ((r = emu_ssh_new(&ssh, o->hostkey_dir)) != 0) {
				snprintf(err, sizeof err, "SSH host keys: %s", toride_strerror(r));
				goto fail;
			}
		}
	}
	if (toride_sink_open(&sink, o->events, o->db, err, sizeof err) != 0)
		goto fail;
	char ydir[4096];
	snprintf(ydir, sizeof ydir, "%s/yara", data_dir());
	if ((r = hp_yara_load(&yara, o->yara_dir ? o->yara_dir : ydir, err, sizeof err)) != 0)
		goto fail;
	if (o->samples_dir != NULL && hp_samples_open(&samples, o->samples_dir, err, sizeof err) != 0)
		goto fail;
	if (o->fetch) {
		if (o->nscopes == 0 || samples == NULL) {
			snprintf(err, sizeof err, "--fetch-samples needs --sample-scope CIDR and --samples-dir DIR");
			rc = TORIDE_EXIT_USAGE;
			goto fail;
		}
		if ((r = toride_scope_new(&scope)) != 0)
			goto fail;
		for (size_t i = 0; i < o->nscopes; i++)
			if ((r = toride_scope_add(scope, o->scopes[i], err, sizeof err)) != 0)
				goto fail;
		if ((r = toride_scope_finalize(scope, err, sizeof err)) != 0)
			goto fail;
	}
	const char *user = o->user;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, sizeof err, "pipe: %s", strerror(errno));
		goto fail;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = hp_on_signal; /* no SA_RESTART: a blocking read returns to look at the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint64_t seed = o->seed;
	if (!o->seed_set) {
		FILE *u = fopen("/dev/urandom", "rb");
		if (u == NULL || fread(&seed, sizeof seed, 1, u) != 1)
			seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
		if (u != NULL)
			fclose(u);
	}
	struct hp_sensor_config scfg = {
		.pool = pool,
		.npool = npool,
		.pick_per_address = o->pick != NULL && strcmp(o->pick, "address") == 0,
		.accept = o->accept == NULL || strcmp(o->accept, "listed") == 0 ? HP_ACCEPT_LISTED
		          : strcmp(o->accept, "any") == 0                       ? HP_ACCEPT_ANY
		                                                                : HP_ACCEPT_PROFILE,
		.listed = &listed,
		.listeners = listeners,
		.nlisteners = nl,
		.ssh = ssh,
		.seed = seed,
		.max_sessions = (unsigned)o->max_sessions,
		.per_source_sessions = (unsigned)o->per_src,
		.per_source_bytes = o->per_src_bytes,
		.session_ms = (unsigned)(o->session_s * 1000u),
		.idle_ms = (unsigned)(o->idle_s * 1000u),
		.no_delays = o->no_delays,
		.out_fd = pfd[1],
		.stop = &hp_stop,
	};
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, sizeof err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		sensor_main(&scfg, user, pfd[1]);
	/* The collector: the sensor has the listeners and the keys now (the parent's copy of the
	 * SSH server never listened or started: freeing it touches no descriptor). */
	emu_ssh_stop(ssh);
	ssh = NULL;
	close(pfd[1]);
	pfd[1] = -1;
	for (size_t i = 0; i < nl; i++) {
		close(listeners[i].fd);
		listeners[i].fd = -1;
	}
	/* Listening sockets queue clients from now on, and the sensor serves them as soon as its
	 * loop runs: ready. The files are made while we may still write where the caller asked. */
	ready_touch(o->ready);
	if (o->stats != NULL && (stats_fd = open(o->stats, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, sizeof err, "%s: %s", o->stats, strerror(errno));
		kill(pid, SIGKILL);
		goto fail;
	}
	/* The collector keeps the caller's rights: it writes the outputs where the caller asked (a
	 * database in a directory only root may write, its WAL files) and never reads a network byte;
	 * what it reads are the sensor's frames, checked as untrusted input. */
	fprintf(stderr, "toride honeypot: serving");
	for (size_t i = 0; i < nl; i++)
		fprintf(stderr, " %s%s%s:%u/%s", listeners[i].addr.family == 6 ? "[" : "", listeners[i].addr_str,
		        listeners[i].addr.family == 6 ? "]" : "", listeners[i].port, emu_proto_name(listeners[i].proto));
	fprintf(stderr, " (%zu device profiles, sensor pid %ld)\n", npool, (long)pid);
	if (o->duration > 0)
		alarm((unsigned)o->duration);
	struct hp_collector_config ccfg = {
		.in_fd = pfd[0],
		.sensor_pid = pid,
		.stop = &hp_stop,
		.sink = sink,
		.yara = yara,
		.samples = samples,
		.fetch_samples = o->fetch,
		.fetch = {.scope = scope, .max_bytes = HP_FETCH_MAX_BYTES_DEFAULT, .timeout_ms = HP_FETCH_TIMEOUT_MS_DEFAULT},
		.stats_fd = stats_fd,
		.log = hp_log,
	};
	struct hp_collector_stats cst;
	r = hp_collector_run(&ccfg, &cst);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, "toride honeypot: stopped: %llu sessions recorded, %llu samples, %llu fetched\n",
	        (unsigned long long)cst.sessions, (unsigned long long)cst.samples, (unsigned long long)cst.fetched);
	if (r != 0) {
		snprintf(err, sizeof err, "collector: %s", toride_strerror(r));
		goto fail;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			snprintf(err, sizeof err, "the sensor died of signal %d%s", WTERMSIG(status),
			         WTERMSIG(status) == SIGSYS ? " (a system call outside its seccomp allow-list)" : "");
		else
			snprintf(err, sizeof err, "the sensor failed (exit %d)", WEXITSTATUS(status));
		goto fail;
	}
	rc = cst.write_errors > 0 ? TORIDE_EXIT_ERROR : TORIDE_EXIT_OK;
	if (cst.write_errors > 0)
		fprintf(stderr, "toride honeypot: %llu events could not be written\n", (unsigned long long)cst.write_errors);
	goto out;
fail:
	if (err[0])
		fprintf(stderr, "toride honeypot: %s\n", err);
out:
	if (pid > 0 && rc != TORIDE_EXIT_OK && rc != TORIDE_EXIT_ERROR)
		kill(pid, SIGKILL);
	for (size_t i = 0; i < nl; i++)
		if (listeners[i].fd >= 0)
			close(listeners[i].fd);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (stats_fd >= 0)
		close(stats_fd);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (pid < 0 && ssh != NULL)
		emu_ssh_stop(ssh); /* the sensor owns it once forked */
	toride_sink_close(sink);
	hp_yara_free(yara);
	hp_samples_close(samples);
	toride_scope_free(scope);
	toride_creds_free(&listed);
	free(pool);
	emu_profiles_free(&profiles);
	return rc;
}

static int
cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.max_sessions = HP_MAX_SESSIONS_DEFAULT,
		.per_src = HP_PER_SOURCE_SESSIONS_DEFAULT,
		.per_src_bytes = HP_PER_SOURCE_BYTES_DEFAULT,
		.session_s = HP_SESSION_SECONDS_DEFAULT,
		.idle_s = HP_IDLE_SECONDS_DEFAULT,
	};
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"profiles", required_argument, NULL, 'P'},
		{"profile", required_argument, NULL, 'p'},
		{"pick", required_argument, NULL, 'k'},
		{"accept", required_argument, NULL, 'a'},
		{"events", required_argument, NULL, 'e'},
		{"db", required_argument, NULL, 'd'},
		{"samples-dir", required_argument, NULL, 'S'},
		{"fetch-samples", no_argument, NULL, 'F'},
		{"sample-scope", required_argument, NULL, 's'},
		{"yara", required_argument, NULL, 'y'},
		{"user", required_argument, NULL, 'u'},
		{"max-sessions", required_argument, NULL, 1},
		{"per-source-sessions", required_argument, NULL, 2},
		{"per-source-bytes", required_argument, NULL, 3},
		{"session-seconds", required_argument, NULL, 4},
		{"idle-seconds", required_argument, NULL, 5},
		{"seed", required_argument, NULL, 6},
		{"hostkey-dir", required_argument, NULL, 7},
		{"no-delays", no_argument, NULL, 8},
		{"duration", required_argument, NULL, 9},
		{"ready-file", required_argument, NULL, 10},
		{"stats", required_argument, NULL, 11},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'l':
			if (o.nlisten >= HP_MAX_LISTENERS) {
				fprintf(stderr, "toride honeypot: at most %d --listen\n", HP_MAX_LISTENERS);
				return TORIDE_EXIT_USAGE;
			}
			o.listen[o.nlisten++] = optarg;
			break;
		case 'P': o.profiles_dir = optarg; break;
		case 'p': o.pool = optarg; break;
		case 'k':
			if (strcmp(optarg, "connection") != 0 && strcmp(optarg, "address") != 0) {
				fprintf(stderr, "toride honeypot: --pick is 'connection' or 'address'\n");
				return TORIDE_EXIT_USAGE;
			}
			o.pick = optarg;
			break;
		case 'a':
			if (strcmp(optarg, "listed") != 0 && strcmp(optarg, "profile") != 0 && strcmp(optarg, "any") != 0) {
				fprintf(stderr, "toride honeypot: --accept is 'listed', 'profile' or 'any'\n");
				return TORIDE_EXIT_USAGE;
			}
			o.accept = optarg;
			break;
		case 'e': o.events = optarg; break;
		case 'd': o.db = optarg; break;
		case 'S': o.samples_dir = optarg; break;
		case 'F': o.fetch = true; break;
		case 's':
			if (o.nscopes >= 64) {
				fprintf(stderr, "toride honeypot: at most 64 --sample-scope\n");
				return TORIDE_EXIT_USAGE;
			}
			o.scopes[o.nscopes++] = optarg;
			break;
		case 'y': o.yara_dir = optarg; break;
		case 'u': o.user = optarg; break;
		case 1: bad = num(optarg, 1000000, &o.max_sessions, "--max-sessions") || o.max_sessions == 0; break;
		case 2: bad = num(optarg, 100000, &o.per_src, "--per-source-sessions") || o.per_src == 0; break;
		case 3: bad = num(optarg, 1ull << 40, &o.per_src_bytes, "--per-source-bytes"); break;
		case 4: bad = num(optarg, 86400, &o.session_s, "--session-seconds"); break;
		case 5: bad = num(optarg, 86400, &o.idle_s, "--idle-seconds") || o.idle_s == 0; break;
		case 6:
			bad = num(optarg, UINT64_MAX, &o.seed, "--seed");
			o.seed_set = true;
			break;
		case 7: o.hostkey_dir = optarg; break;
		case 8: o.no_delays = true; break;
		case 9: bad = num(optarg, 31536000, &o.duration, "--duration"); break;
		case 10: o.ready = optarg; break;
		case 11: o.stats = optarg; break;
		case 'h': run_usage(stdout); return TORIDE_EXIT_OK;
		default: run_usage(stderr); return TORIDE_EXIT_USAGE;
		}
		if (bad)
			return TORIDE_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "toride honeypot run: unexpected argument '%s'\n", argv[optind]);
		return TORIDE_EXIT_USAGE;
	}
	if (o.events == NULL && o.db == NULL)
		o.events = "-"; /* nothing is lost: without a destination the records go to stdout */
	return honeypot_run(&o);
}

static int
cmd_classify(int argc, char **argv)
{
	const char *dir = NULL;
	int first = 1;
	if (argc > 2 && strcmp(argv[1], "--yara") == 0) {
		dir = argv[2];
		first = 3;
	}
	if (first >= argc || strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
		fprintf(first >= argc ? stderr : stdout,
		        "usage: toride honeypot classify [--yara DIR] FILE...\n"
		        "Run the YARA rules (default %s/yara) over files, e.g. captured samples, and print the\n"
		        "families and rules that match. Exit 0 if every file was read.\n", data_dir());
		return first >= argc ? TORIDE_EXIT_USAGE : TORIDE_EXIT_OK;
	}
	char ydir[4096], err[1024];
	snprintf(ydir, sizeof ydir, "%s/yara", data_dir());
	struct hp_yara *y = NULL;
	if (hp_yara_load(&y, dir ? dir : ydir, err, sizeof err) != 0) {
		fprintf(stderr, "toride honeypot: %s\n", err);
		return TORIDE_EXIT_ERROR;
	}
	int rc = TORIDE_EXIT_OK;
	for (int i = first; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		struct toride_buf b;
		toride_buf_init(&b, HP_FETCH_MAX_BYTES_DEFAULT * 4u);
		uint8_t chunk[65536];
		size_t n;
		int r = f == NULL ? TORIDE_EIO : 0;
		while (r == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
			r = toride_buf_append(&b, chunk, n);
		if (f != NULL && ferror(f))
			r = TORIDE_EIO;
		if (f != NULL)
			fclose(f);
		json_t *fam = json_array(), *rules = json_array();
		if (r == 0)
			r = hp_yara_scan(y, b.data, b.len, false, rules, fam);
		if (r != 0) {
			fprintf(stderr, "toride honeypot: %s: %s\n", argv[i], r == TORIDE_EIO ? strerror(errno) : toride_strerror(r));
			rc = TORIDE_EXIT_ERROR;
		} else {
			char *fs = json_dumps(fam, JSON_COMPACT), *rs = json_dumps(rules, JSON_COMPACT);
			printf("%s\tfamilies=%s\trules=%s\n", argv[i], fs ? fs : "[]", rs ? rs : "[]");
			free(fs);
			free(rs);
		}
		json_decref(fam);
		json_decref(rules);
		toride_buf_free(&b);
	}
	hp_yara_free(y);
	return rc;
}

int
cmd_honeypot(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout,
		        "usage: toride honeypot run [options]       serve emulated IoT devices and record infections\n"
		        "       toride honeypot export --db FILE ... campaigns, STIX 2.1 bundle, MISP feed\n"
		        "       toride honeypot classify FILE...     YARA rules over files\n"
		        "Each takes --help. docs/honeypot.md describes the data flow and the records.\n");
		return argc < 2 ? TORIDE_EXIT_USAGE : TORIDE_EXIT_OK;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return hp_cli_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "classify") == 0)
		return cmd_classify(argc - 1, argv + 1);
	fprintf(stderr, "toride honeypot: unknown command '%s' (run, export, classify)\n", argv[1]);
	return TORIDE_EXIT_USAGE;
}

