/*
 * toride-deviced command line: provision, run, install, boot, confirm, status, fetch.
 * Exit codes: 0 ok, 1 refused by the device, 2 usage, 3 storage/state/system error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "deviced/deviced.h"

/* A public key file is one short line. */
#define DEVD_KEYFILE_MAX 512
#define DEVD_KEY_PREFIX "toride-ed25519-public-v1"
/* Label text: model, serial, MAC, user, password in two languages. */
#define DEVD_LABEL_MAX 4096
/* Default blocklist shipped with the project (data/device/). */
#define DEVD_BLOCKLIST TORIDE_DATA_DIR "/device/banned-passwords.txt"

void
devd_log(const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ld toride-deviced: %s\n", ts, now.tv_nsec / 1000000, line);
}

uint64_t
devd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "toride-deviced %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see toride-deviced %s --help)\n", cmd);
	return DEVD_EXIT_USAGE;
}

static int
dev_error(const char *what, int r)
{
	fprintf(stderr, "toride-deviced: %s: %s\n", what, toride_dev_strerror(r));
	switch (r) {
	case TORIDE_DEV_ESIGNATURE:
	case TORIDE_DEV_ETARGET:
	case TORIDE_DEV_EDOWNGRADE:
	case TORIDE_DEV_EFORMAT:
	case TORIDE_DEV_EHASH:
	case TORIDE_DEV_EBUSY:
	case TORIDE_DEV_ETOOBIG:
	case TORIDE_DEV_EEXIST:
	case TORIDE_DEV_ESTATE:
	case TORIDE_DEV_EPOLICY:
	case TORIDE_DEV_EDENIED:
		return DEVD_EXIT_REFUSED;
	default:
		return DEVD_EXIT_ERROR;
	}
}

/* Reads "toride-ed25519-public-v1 <64 hex>" (the `toride sign keygen` public half). */
static int
read_key(const char *path, uint8_t key[32])
{
	char buf[DEVD_KEYFILE_MAX];
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		fprintf(stderr, "toride-deviced: cannot open key %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *line = buf;
	/* Skip comment lines; the key is the first other line. */
	while (*line == '#') {
		char *nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	size_t plen = strlen(DEVD_KEY_PREFIX);
	char *hex = line + plen;
	if (strncmp(line, DEVD_KEY_PREFIX, plen) != 0 || (*hex != ' ' && *hex != '\t'))
		goto bad;
	while (*hex == ' ' || *hex == '\t')
		hex++;
	size_t hl = strcspn(hex, " \t\r\n");
	const char *end;
	if (hl != 64 || sodium_hex2bin(key, 32, hex, hl, NULL, NULL, &end) != 0 || end != hex + 64)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "toride-deviced: %s is not a public key file (want \"%s <64 hex digits>\")\n", path,
	        DEVD_KEY_PREFIX);
	return -1;
}

static int
state_open(struct devd *d, const char *dir, bool create)
{
	if (dir == NULL)
		return DEVD_EXIT_USAGE;
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "toride-deviced: cannot create %s: %s\n", dir, strerror(errno));
		return DEVD_EXIT_ERROR;
	}
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", dir);
	int r = toride_dev_vfs_posix_open(&d->vfs, dir);
	if (r != 0)
		return dev_error(dir, r);
	d->vfs_open = true;
	return 0;
}

void
devd_state_close(struct devd *d)
{
	if (d->dev != NULL)
		toride_dev_close(d->dev);
	d->dev = NULL;
	devd_fault_vfs_unwrap(d);
	if (d->vfs_open)
		toride_dev_vfs_posix_close(&d->vfs);
	d->vfs_open = false;
}

/* Opens an already provisioned device (state dir + identity). */
int
devd_device_open(struct devd *d, const char *dir)
{
	int r = state_open(d, dir, false);
	if (r != 0)
		return r;
	r = devd_identity_read(d);
	if (r != 0) {
		fprintf(stderr, "toride-deviced: %s is not a provisioned device (%s)\n", dir, toride_dev_strerror(r));
		return DEVD_EXIT_ERROR;
	}
	if (access(DEVD_BLOCKLIST, R_OK) == 0)
		d->blocklist = DEVD_BLOCKLIST;
	r = devd_dev_open(d);
	if (r != 0)
		return dev_error("open device state", r);
	return 0;
}

/* ---- provision ---------------------------------------------------------------------------- */

static const char provision_help[] =
    "usage: toride-deviced provision --state DIR --target T --mode unique|default\n"
    "         --key VENDOR.pub [--key ...] --factory-image IMG --factory-version V\n"
    "         [--user admin] [--default-password P] [--model M] [--serial S] [--mac MAC]\n"
    "         [--label FILE] [--boot-tries N]\n"
    "The factory step: writes IMG to slot a, stores the trusted update keys and the first account.\n"
    "unique:  the initial password is derived from a fresh per-device secret and printed on the\n"
    "         label (stdout, and FILE with --label).\n"
    "default: the shared factory password P may only be used to set a new one (forced change).\n";

static int
write_slot_a(struct devd *d, const char *img)
{
	FILE *f = fopen(img, "rbe");
	void *out = NULL;
	uint8_t buf[65536];
	uint64_t off = 0;
	int r;
	if (f == NULL) {
		fprintf(stderr, "toride-deviced: cannot open %s: %s\n", img, strerror(errno));
		return DEVD_EXIT_ERROR;
	}
	r = d->vfs.open(d->vfs.ctx, "slot-a", TORIDE_DEV_VFS_WRITE, &out);
	if (r != 0) {
		fclose(f);
		return dev_error("slot a", r);
	}
	size_t n;
	while (r == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		r = d->vfs.write(d->vfs.ctx, out, off, buf, n);
		off += n;
	}
	if (r == 0 && ferror(f))
		r = TORIDE_DEV_EIO;
	if (r == 0)
		r = d->vfs.sync(d->vfs.ctx, out);
	int rc = d->vfs.close(d->vfs.ctx, out);
	if (r == 0)
		r = rc;
	if (r == 0)
		r = d->vfs.sync_dir(d->vfs.ctx);
	fclose(f);
	return r != 0 ? dev_error("write slot a", r) : 0;
}

static int
cmd_provision(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, 's' }, { "target", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' }, { "user", required_argument, NULL, 'u' },
		{ "default-password", required_argument, NULL, 'p' }, { "key", required_argument, NULL, 'k' },
		{ "model", required_argument, NULL, 'M' }, { "serial", required_argument, NULL, 'S' },
		{ "mac", required_argument, NULL, 'A' }, { "factory-image", required_argument, NULL, 'i' },
		{ "factory-version", required_argument, NULL, 'v' }, { "label", required_argument, NULL, 'l' },
		{ "boot-tries", required_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct devd d = { 0 };
	const char *state = NULL, *mode = NULL, *user = "admin", *defpw = NULL, *img = NULL, *ver = NULL,
		   *label = NULL;
	uint8_t keys[TORIDE_DEV_MAX_KEYS][32];
	size_t n_keys = 0;
	char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1] = "";
	char *text = NULL;
	int c, rc = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 't': snprintf(d.id.target, sizeof(d.id.target), "%s", optarg); break;
		case 'm': mode = optarg; break;
		case 'u': user = optarg; break;
		case 'p': defpw = optarg; break;
		case 'k':
			if (n_keys == TORIDE_DEV_MAX_KEYS)
				return usage_error("provision", "at most %d --key", TORIDE_DEV_MAX_KEYS);
			if (read_key(optarg, keys[n_keys]) != 0)
				return DEVD_EXIT_USAGE;
			n_keys++;
			break;
		case 'M': snprintf(d.id.model, sizeof(d.id.model), "%s", optarg); break;
		case 'S': snprintf(d.id.serial, sizeof(d.id.serial), "%s", optarg); break;
		case 'A': snprintf(d.id.mac, sizeof(d.id.mac), "%s", optarg); break;
		case 'i': img = optarg; break;
		case 'v': ver = optarg; break;
		case 'l': label = optarg; break;
		case 'b': d.id.boot_tries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': fputs(provision_help, stdout); return 0;
		default: return usage_error("provision", "bad option");
		}
	}
	if (optind < argc)
		return usage_error("provision", "unexpected argument '%s'", argv[optind]);
	if (state == NULL || d.id.target[0] == '\0' || mode == NULL || n_keys == 0 || img == NULL || ver == NULL)
		return usage_error("provision", "--state, --target, --mode, --key, --factory-image and "
		                                "--factory-version are required");
	struct toride_dev_provision p = {
		.user = user,
		.keys = (const uint8_t(*)[32])keys,
		.n_keys = n_keys,
		.firmware_version = ver,
	};
	if (strcmp(mode, "unique") == 0) {
		p.mode = TORIDE_DEV_INITIAL_UNIQUE;
		if (defpw != NULL)
			return usage_error("provision", "--default-password is for --mode default");
	} else if (strcmp(mode, "default") == 0) {
		p.mode = TORIDE_DEV_INITIAL_DEFAULT;
		if (defpw == NULL)
			return usage_error("provision", "--mode default needs --default-password");
		p.default_password = defpw;
	} else {
		return usage_error("provision", "--mode must be unique or default");
	}
	rc = state_open(&d, state, true);
	if (rc != 0)
		goto out;
	if (access(DEVD_BLOCKLIST, R_OK) == 0)
		d.blocklist = DEVD_BLOCKLIST;
	int r = devd_dev_open(&d);
	if (r != 0) {
		rc = dev_error("open device state", r);
		goto out;
	}
	struct toride_dev_status st;
	if (toride_dev_status(d.dev, &st) == 0 && st.provisioned) {
		rc = dev_error(state, TORIDE_DEV_EEXIST);
		goto out;
	}
	rc = write_slot_a(&d, img);
	if (rc != 0)
		goto out;
	r = devd_identity_write(&d.vfs, &d.id);
	if (r != 0) {
		rc = dev_error("write identity", r);
		goto out;
	}
	r = toride_dev_provision(d.dev, &p, pw, sizeof(pw));
	if (r != 0) {
		rc = dev_error("provision", r);
		goto out;
	}
	text = malloc(DEVD_LABEL_MAX);
	if (text == NULL) {
		rc = DEVD_EXIT_ERROR;
		goto out;
	}
	r = toride_dev_label(d.dev, p.mode == TORIDE_DEV_INITIAL_UNIQUE ? pw : NULL, text, DEVD_LABEL_MAX);
	if (r != 0) {
		rc = dev_error("label", r);
		goto out;
	}
	fputs(text, stdout);
	if (label != NULL) {
		FILE *f = fopen(label, "we");
		if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
			fprintf(stderr, "toride-deviced: cannot write %s\n", label);
			rc = DEVD_EXIT_ERROR;
			goto out;
		}
	}
	fprintf(stderr, "toride-deviced: provisioned %s (%s mode, firmware %s)\n", state, mode, ver);
out:
	if (text != NULL) {
		sodium_memzero(text, DEVD_LABEL_MAX);
		free(text);
	}
	sodium_memzero(pw, sizeof(pw));
	devd_state_close(&d);
	return rc;
}

/* ---- install / boot / confirm / status / reset ------------------------------------------------------- */

/* An offline command: open the device in --state DIR, do one thing, report. `arg_name` names the
 * one positional argument the command takes (NULL: none). Returns the exit code. */
struct offline_cmd {
	const char *name;
	const char *help;
	const char *arg_name;
	int (*act)(struct devd *d, const char *state, const char *arg); /* 0 or a TORIDE_DEV_E* code */
	const char *what;                                               /* names a failure */
};

static int
offline_run(const struct offline_cmd *oc, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL, *arg = NULL;
	struct devd d = { 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 's')
			state = optarg;
		else if (c == 'h') {
			fputs(oc->help, stdout);
			return 0;
		} else
			return usage_error(oc->name, "bad option");
	}
	if (state == NULL)
		return usage_error(oc->name, "--state DIR is required");
	if (oc->arg_name != NULL) {
		if (optind + 1 != argc)
			return usage_error(oc->name, "one %s expected", oc->arg_name);
		arg = argv[optind];
	} else if (optind != argc) {
		return usage_error(oc->name, "unexpected argument '%s'", argv[optind]);
	}
	int rc = devd_device_open(&d, state);
	if (rc == 0) {
		int r = oc->act(&d, state, arg);
		if (r != 0)
			rc = dev_error(oc->what != NULL ? oc->what : (arg != NULL ? arg : oc->name), r);
	}
	devd_state_close(&d);
	return rc;
}

static int
act_install(struct devd *d, const char *state, const char *bundle)
{
	struct toride_dev_update *u = NULL;
	struct toride_dev_bundle_info info;
	int r = toride_dev_update_begin_auto(d->dev, &u);
	if (r == 0)
		r = devd_install_file(u, bundle, &info);
	if (r == 0)
		printf("installed %s (target %s); it runs on trial at the next boot\n", info.version, info.target);
	return r;
}

static int
act_boot(struct devd *d, const char *state, const char *arg)
{
	struct toride_dev_boot_info bi;
	int r = toride_dev_boot(d->dev, &bi);
	if (r == 0)
		printf("slot=%c version=%s trial=%d tries_left=%u rolled_back=%d%s%s\n", bi.slot, bi.version,
		       bi.trial, bi.tries_left, bi.rolled_back, bi.rolled_back ? " rolled_back_version=" : "",
		       bi.rolled_back ? bi.rolled_back_version : "");
	return r;
}

static int
act_confirm(struct devd *d, const char *state, const char *arg)
{
	struct toride_dev_boot_info bi;
	/* The library confirms what this boot runs, so a separate process boots first: the try it
	 * counts is the one being confirmed. */
	int r = toride_dev_boot(d->dev, &bi);
	if (r == 0)
		r = toride_dev_confirm(d->dev);
	if (r == 0)
		printf("confirmed %s (slot %c)\n", bi.version, bi.slot);
	return r;
}

static int
act_status(struct devd *d, const char *state, const char *arg)
{
	struct toride_dev_status st;
	int r = toride_dev_status(d->dev, &st);
	if (r == 0)
		printf("target=%s provisioned=%d slot_a=%s slot_b=%s trial=%d tries_left=%u floor=%s\n",
		       d->id.target, st.provisioned, st.slot_version[0][0] ? st.slot_version[0] : "-",
		       st.slot_version[1][0] ? st.slot_version[1] : "-", st.trial, st.tries_left, st.floor);
	return r;
}

/* The owner's factory reset (a held button at power-on): accounts and settings back to the
 * factory state; firmware, keys and the downgrade floor stay. */
static int
act_reset(struct devd *d, const char *state, const char *arg)
{
	int r = toride_dev_factory_reset(d->dev);
	if (r == 0) {
		devd_fault_reset(state);
		printf("factory reset done: accounts and settings are in the factory state\n");
	}
	return r;
}

static const struct offline_cmd offline_cmds[] = {
	{ "install",
	  "usage: toride-deviced install --state DIR BUNDLE\n"
	  "Offline install (recovery, benchmarks): verifies BUNDLE and writes it to the\n"
	  "inactive slot as the next boot's trial. Prints the installed version.\n",
	  "bundle file", act_install, NULL },
	{ "boot",
	  "usage: toride-deviced boot --state DIR\n"
	  "One boot-loader step: picks the slot, counts a trial try, rolls back when a\n"
	  "trial never confirmed. Prints slot=, version=, trial=, tries_left=, rolled_back=.\n",
	  NULL, act_boot, "boot" },
	{ "confirm",
	  "usage: toride-deviced confirm --state DIR\n"
	  "Boots once and confirms the running trial firmware (exit 1 if not on trial).\n",
	  NULL, act_confirm, "confirm" },
	{ "status",
	  "usage: toride-deviced status --state DIR\n"
	  "Prints the firmware slots, trial state and downgrade floor (offline).\n",
	  NULL, act_status, "status" },
	{ "reset",
	  "usage: toride-deviced reset --state DIR\n"
	  "Factory reset (offline, the device stopped): accounts and settings back to the\n"
	  "factory state (unique password or forced-change default); firmware, keys and the\n"
	  "downgrade floor are kept.\n",
	  NULL, act_reset, "factory reset" },
};

/* ---- fetch (the downloader on its own, for labs and checks) ---------------------------------- */

static int
fetch_progress(void *ctx, uint64_t have, uint64_t total)
{
	(void)ctx;
	(void)have;
	(void)total;
	return 0;
}

static int
cmd_fetch(int argc, char **argv)
{
	static const char help[] =
	    "usage: toride-deviced fetch [--ca FILE] [--allow-http] [--max-size BYTES] URL FILE\n"
	    "Downloads URL into FILE, resuming after the bytes FILE already holds.\n";
	static const struct option lo[] = {
		{ "ca", required_argument, NULL, 'c' }, { "allow-http", no_argument, NULL, 'H' },
		{ "max-size", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct toride_dev_fetch_options o = { .progress = fetch_progress };
	struct toride_dev_fetch_result res;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.ca_file = optarg; break;
		case 'H': o.allow_http = 1; break;
		case 'm': o.max_size = strtoull(optarg, NULL, 10); break;
		case 'h': fputs(help, stdout); return 0;
		default: return usage_error("fetch", "bad option");
		}
	}
	if (optind + 2 != argc)
		return usage_error("fetch", "URL and FILE expected");
	int r = toride_dev_fetch(argv[optind], argv[optind + 1], &o, &res);
	printf("status=%ld resumed_from=%llu size=%llu restarted=%d\n", res.http_status,
	       (unsigned long long)res.resumed_from, (unsigned long long)res.size, res.restarted);
	if (r != 0) {
		fprintf(stderr, "toride-deviced: fetch: %s (%s)\n", toride_dev_strerror(r), res.error);
		return r == TORIDE_DEV_EINVAL ? DEVD_EXIT_USAGE : DEVD_EXIT_ERROR;
	}
	return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static const char main_help[] =
    "usage: toride-deviced COMMAND [options]   (COMMAND --help for details)\n"
    "The reference compliant IoT device, built on libtoride-device.\n"
    "  provision  factory step: firmware, trusted keys, first account (unique or default password)\n"
    "  run        boot and serve the telnet and HTTP admin interfaces, check for updates\n"
    "  install    offline install of a signed bundle into the inactive slot\n"
    "  boot       one boot-loader step (prints the choice)\n"
    "  confirm    boot and confirm the running trial firmware\n"
    "  status     firmware slots, trial state and downgrade floor\n"
    "  reset      factory reset of accounts and settings (firmware stays)\n"
    "  fetch      resumable HTTPS download (the update downloader on its own)\n"
    "Exit codes: 0 ok, 1 refused by the device, 2 usage, 3 error.\n";

int
main(int argc, char **argv)
{
	/* A peer that closes while an answer is being written must cost an EPIPE on that one
	 * connection, not the whole device (libuv writes with write(2), which raises SIGPIPE). */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "toride-deviced: libsodium failed to initialise\n");
		return DEVD_EXIT_ERROR;
	}
	if (argc < 2) {
		fputs(main_help, stderr);
		return DEVD_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(main_help, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("toride-deviced %s\n", TORIDE_VERSION);
		return 0;
	}
	if (toride_dev_fetch_global_init() != 0) {
		fprintf(stderr, "toride-deviced: libcurl failed to initialise\n");
		return DEVD_EXIT_ERROR;
	}
	int rc;
	argc--;
	argv++;
	if (strcmp(cmd, "provision") == 0)
		rc = cmd_provision(argc, argv);
	else if (strcmp(cmd, "run") == 0)
		rc = devd_cmd_run(argc, argv);
	else if (strcmp(cmd, "fetch") == 0)
		rc = cmd_fetch(argc, argv);
	else {
		for (size_t i = 0; i < sizeof(offline_cmds) / sizeof(offline_cmds[0]); i++)
			if (strcmp(cmd, offline_cmds[i].name) == 0) {
				rc = offline_run(&offline_cmds[i], argc, argv);
				goto done;
			}
		fprintf(stderr, "toride-deviced: unknown command '%s'\n", cmd);
		fputs(main_help, stderr);
		rc = DEVD_EXIT_USAGE;
	}
done:
	toride_dev_fetch_global_cleanup();
	return rc;
}
