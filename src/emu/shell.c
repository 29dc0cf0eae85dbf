/*
 * A busybox ash look-alike for emulated devices. One command line is tokenised, checked for
 * syntax, then interpreted by a recursive-descent walker that parses and runs in the same pass
 * (loops re-walk their body), against the virtual filesystem in vfs.c. Every command is an
 * emulation written here: nothing is executed or read on the host, downloads are recorded and
 * fail as they would without a route, uploaded programs are recorded and not run.
 */
#include "emu/shell.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/permute.h"
#include "emu/vfs.h"

/* Tokens of one line (or one $(...)): a line of EMU_SHELL_LINE_MAX has fewer words than this
 * unless it is hostile, and then it gets a syntax error. */
#define SH_TOKENS_MAX 2048
/* Arguments of one command after expansion (busybox would take more; no device script needs). */
#define SH_ARGS_MAX 256
/* One expanded word, and one variable value: the longest Mirai echo argument is ~600 bytes. */
#define SH_WORD_MAX 4096
#define SH_VAR_NAME_MAX 64
#define SH_VAR_VALUE_MAX 1024
/* Output of one $(...), as a real shell would keep far more; enough for `cat` of a small file. */
#define SH_SUBST_MAX 4096
/* Parser recursion (lists inside commands inside lists ...) over all nested $(...): bounds the
 * C stack (a level is < 2 KiB) whatever the line holds. */
#define EMU_SHELL_NEST_MAX 64

static const char DEFAULT_BUSYBOX[] = "BusyBox v1.19.4 (2014-02-18 11:43:50 CST) multi-call binary.";
static const char DEFAULT_UNAME[] = "Linux %h 3.10.0 #1 SMP PREEMPT Mon Jul 4 10:39:26 CST 2016 armv7l GNU/Linux";

struct sh_var {
	char name[SH_VAR_NAME_MAX];
	char *value;
};

/* /var/tmp files whose contents are numbers made per instance (see VAR_TMP). */
#define SH_VARTMP_MAX 4

struct emu_shell {
	const struct emu_device *dev;
	char vartmp[SH_VARTMP_MAX][16];
	size_t nvartmp;
	struct emu_vfs fs;
	char cwd[EMU_VFS_PATH_MAX];
	char user[64];
	char hostname[64];
	char prompt[EMU_STR_MAX];
	struct sh_var vars[EMU_SHELL_VARS_MAX];
	size_t nvars;
	int status;             /* $? */
	unsigned sh_level;      /* nested `sh` sessions: exit leaves one */
	unsigned pid;           /* our "process id" */
	uint8_t elf[64];        /* fake program header for /bin/busybox */
	size_t elflen;
	emu_shell_event_cb cb;
	void *cbarg;
	struct toride_buf scratch; /* generated file contents (/proc) */
	/* State of the line being run. */
	struct toride_buf term;    /* terminal output, '\n' line ends */
	struct toride_buf *out;    /* where stdout of the current command goes */
	const uint8_t *in;         /* stdin of the current command (pipe), NULL = terminal */
	size_t inlen;
	unsigned loops, cmds, depth;
	unsigned nest;             /* parser nesting across all $(...) levels */
	bool abort;                /* stop running the rest of the line (budget, exit) */
	bool exhausted;            /* the line's loop or command budget ran out */
	unsigned in_script;        /* scripts being run (sh FILE, sh -c, ./script): exit ends one */
	bool script_exit;          /* `exit` inside a script: unwind to its runner */
	bool close;
	uint64_t now;
};

/* ---------------------------------------------------------------------------------------- */
/* Output helpers: output beyond a buffer's cap is dropped silently (a terminal scrolls). */

static int
bput(struct toride_buf *b, const void *p, size_t n)
{
	size_t room = b->max - b->len;
	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	return toride_buf_append(b, p, n);
}

static int
bputs(struct toride_buf *b, const char *s)
{
	return bput(b, s, strlen(s));
}

static int bprintf(struct toride_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bprintf(struct toride_buf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	size_t len = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
	return bput(b, tmp, len);
}

static void
event(struct emu_shell *sh, const char *kind, const char *detail)
{
	if (sh->cb != NULL)
		sh->cb(sh->cbarg, kind, detail);
}

/* ---------------------------------------------------------------------------------------- */
/* Device facts. */

static const char *
dev_arch(const struct emu_shell *sh)
{
	const struct emu_profile *p = sh->dev != NULL ? sh->dev->profile : NULL;
	return p != NULL && p->arch[0] != '\0' ? p->arch : "armv7l";
}

static bool
has_busybox(const struct emu_shell *sh)
{
	const struct emu_profile *p = sh->dev != NULL ? sh->dev->profile : NULL;
	return p == NULL || p->busybox[0] != '\0';
}

static const char *
busybox_banner(const struct emu_shell *sh)
{
	const struct emu_profile *p = sh->dev != NULL ? sh->dev->profile : NULL;
	return p != NULL && p->busybox[0] != '\0' ? p->busybox : DEFAULT_BUSYBOX;
}

static uint64_t
dev_seed(const struct emu_shell *sh)
{
	return sh->dev != NULL ? sh->dev->seed : 0;
}

/*
 * Per-instance randomisation: every detail a honeypot check might compare across sensors (memory,
 * BogoMIPS, process ids and set, extra accounts, /var/tmp, dmesg) is drawn from a splitmix64 stream
 * keyed by dev->seed and a per-purpose salt, so one device is stable and two devices differ, and
 * the lab (deterministic seeds) stays reproducible. Values stay within what the class of device
 * shows (sh_class below).
 */
/* A number in [lo, hi] for purpose `salt` (and index k within it). */
static uint64_t
rnd(const struct emu_shell *sh, uint64_t salt, uint64_t k, uint64_t lo, uint64_t hi)
{
	uint64_t v = toride_splitmix64(dev_seed(sh) ^ toride_splitmix64(salt * 0x100000001b3ULL + k));
	return hi > lo ? lo + v % (hi - lo + 1) : lo;
}

enum { R_MEM = 1, R_MEMFREE, R_BOGO, R_PS, R_PSSET, R_USERS, R_VARTMP, R_DMESG, R_BUSYBOX, R_NET, R_LOAD, R_PID };

/* Device classes with their RAM sizes (MiB of the board; MemTotal is that minus what the kernel
 * reserves). From vendor data sheets of the profiles' models: DVR/NVR/cameras 64-256 MiB, home
 * routers 32-128 MiB, NAS 256-1024 MiB. */
enum sh_class { C_CAMERA, C_ROUTER, C_NAS, C_OTHER };

static enum sh_class
sh_class(const struct emu_shell *sh)
{
	const struct emu_profile *p = sh->dev != NULL ? sh->dev->profile : NULL;
	const char *t = p != NULL ? p->type : "";
	if (strstr(t, "DVR") != NULL || strstr(t, "NVR") != NULL || strstr(t, "Camera") != NULL)
		return C_CAMERA;
	if (strstr(t, "Router") != NULL || strstr(t, "WAP") != NULL || strstr(t, "Gateway") != NULL)
		return C_ROUTER;
	if (strstr(t, "NAS") != NULL)
		return C_NAS;
	return C_OTHER;
}

static uint64_t
uptime_secs(const struct emu_shell *sh)
{
	uint64_t boot = sh->dev != NULL ? sh->dev->boot_time : 0;
	if (boot == 0 || boot > sh->now)
		return 3600 * 27 + 60 * 13 + (dev_seed(sh) % 600);
	return sh->now - boot;
}

/* MemTotal in KiB: a board size of the device's class minus 3-9 MiB the kernel keeps. */
static unsigned
mem_total_kb(const struct emu_shell *sh)
{
	static const unsigned camera[] = { 64, 128, 128, 256 }, router[] = { 32, 64, 64, 128 },
	                      nas[] = { 256, 512, 512, 1024 }, other[] = { 64, 128, 256 };
	const unsigned *v = camera;
	size_t n = 4;
	switch (sh_class(sh)) {
	case C_ROUTER: v = router; break;
	case C_NAS: v = nas; break;
	case C_OTHER: v = other, n = 3; break;
	case C_CAMERA: break;
	}
	unsigned mib = v[rnd(sh, R_MEM, 0, 0, n - 1)];
	return mib * 1024 - (unsigned)rnd(sh, R_MEM, 1, 3 * 1024, (mib >= 64 ? 9 : 5) * 1024);
}

/* Free memory: 15-55 % of the total (the device's own programs hold the rest). */
static unsigned
mem_free_kb(const struct emu_shell *sh)
{
	unsigned tot = mem_total_kb(sh);
	return (unsigned)((uint64_t)tot * rnd(sh, R_MEMFREE, 0, 15, 55) / 100) + (unsigned)rnd(sh, R_MEMFREE, 1, 0, 1023);
}

/* BogoMIPS times 100, in the range the kernel reports for this CPU family's clocks. */
static unsigned
bogomips_x100(const struct emu_shell *sh, unsigned lo, unsigned hi)
{
	return (unsigned)rnd(sh, R_BOGO, 0, lo * 100, hi * 100);
}

/* uname -a fields from the profile's uname line: "Linux host release version... machine OS". */
struct uname_parts {
	char sysname[32], release[96], version[256], machine[32];
};

static void
uname_split(const struct emu_shell *sh, struct uname_parts *u)
{
	const struct emu_profile *p = sh->dev != NULL ? sh->dev->profile : NULL;
	const char *s = p != NULL && p->uname[0] != '\0' ? p->uname : DEFAULT_UNAME;
	char tmp[EMU_STR_MAX];
	snprintf(tmp, sizeof(tmp), "%s", s);
	char *w[64];
	size_t nw = 0;
	char *save = NULL;
	for (char *t = strtok_r(tmp, " \t", &save); t != NULL && nw < 64; t = strtok_r(NULL, " \t", &save))
		w[nw++] = t;
	snprintf(u->sysname, sizeof(u->sysname), "%s", nw > 0 ? w[0] : "Linux");
	snprintf(u->release, sizeof(u->release), "%s", nw > 2 ? w[2] : "3.10.0");
	snprintf(u->machine, sizeof(u->machine), "%s", dev_arch(sh));
	/* version: words 3 .. up to the machine word (or before the trailing OS name). */
	size_t end = nw;
	if (end > 3 && strcmp(w[end - 1], "GNU/Linux") == 0)
		end--;
	if (end > 3 && strcmp(w[end - 1], u->machine) == 0)
		end--;
	u->version[0] = '\0';
	size_t o = 0;
	for (size_t i = 3; i < end; i++) {
		int n = snprintf(u->version + o, sizeof(u->version) - o, "%s%s", i > 3 ? " " : "", w[i]);
		if (n < 0 || (size_t)n >= sizeof(u->version) - o)
			break;
		o += (size_t)n;
	}
	if (u->version[0] == '\0')
		snprintf(u->version, sizeof(u->version), "#1 SMP");
}

/* ELF header of the device's programs, so a loader that reads /bin/echo learns the CPU. */
static void
build_elf(struct emu_shell *sh)
{
	const char *a = dev_arch(sh);
	unsigned machine = 40; /* EM_ARM */
	bool be = false, is64 = false;
	if (strncmp(a, "mipsel", 6) == 0 || strncmp(a, "mipsle", 6) == 0)
		machine = 8;
	else if (strncmp(a, "mips64", 6) == 0)
		machine = 8, be = true, is64 = true;
	else if (strncmp(a, "mips", 4) == 0)
		machine = 8, be = true;
	else if (strcmp(a, "x86_64") == 0 || strcmp(a, "amd64") == 0)
		machine = 62, is64 = true;
	else if (a[0] == 'i' && strstr(a, "86") != NULL)
		machine = 3;
	else if (strncmp(a, "aarch64", 7) == 0 || strncmp(a, "arm64", 5) == 0)
		machine = 183, is64 = true;
	else if (strncmp(a, "ppc", 3) == 0 || strncmp(a, "powerpc", 7) == 0)
		machine = 20, be = true;
	else if (strncmp(a, "sh", 2) == 0)
		machine = 42;
	else if (strncmp(a, "m68k", 4) == 0)
		machine = 4, be = true;
	else if (strncmp(a, "sparc", 5) == 0)
		machine = 2, be = true;
	memset(sh->elf, 0, sizeof(sh->elf));
	uint8_t *e = sh->elf;
	e[0] = 0x7f, e[1] = 'E', e[2] = 'L', e[3] = 'F';
	e[4] = is64 ? 2 : 1;
	e[5] = be ? 2 : 1;
	e[6] = 1;
	/* e_type = ET_EXEC (2), e_machine, e_version = 1 */
	uint8_t half[2][2] = { { 2, 0 }, { (uint8_t)machine, (uint8_t)(machine >> 8) } };
	for (int i = 0; i < 2; i++) {
		e[16 + 2 * i] = be ? half[i][1] : half[i][0];
		e[17 + 2 * i] = be ? half[i][0] : half[i][1];
	}
	e[be ? 23 : 20] = 1;
	size_t ehsize = is64 ? 64 : 52;
	size_t off = is64 ? 52 : 40;
	e[be ? off + 1 : off] = (uint8_t)ehsize;
	sh->elflen = ehsize;
}

/* ---------------------------------------------------------------------------------------- */
/* Variables. */

static struct sh_var *
var_find(struct emu_shell *sh, const char *name)
{
	for (size_t i = 0; i < sh->nvars; i++)
		if (strcmp(sh->vars[i].name, name) == 0)
			return &sh->vars[i];
	return NULL;
}

static const char *
var_get(struct emu_shell *sh, const char *name)
{
	if (strcmp(name, "PWD") == 0)
		return sh->cwd;
	if (strcmp(name, "USER") == 0 || strcmp(name, "LOGNAME") == 0)
		return sh->user;
	if (strcmp(name, "HOSTNAME") == 0)
		return sh->hostname;
	struct sh_var *v = var_find(sh, name);
	return v != NULL ? v->value : "";
}

/* Set a variable; returns 0, TORIDE_ENOMEM, or TORIDE_ETOOBIG (too many, name too long). */
static int
var_set(struct emu_shell *sh, const char *name, const char *value)
{
	if (strlen(name) >= SH_VAR_NAME_MAX)
		return TORIDE_ETOOBIG;
	size_t vl = strnlen(value, SH_VAR_VALUE_MAX);
	char *dup = malloc(vl + 1);
	if (dup == NULL)
		return TORIDE_ENOMEM;
	memcpy(dup, value, vl);
	dup[vl] = '\0';
	struct sh_var *v = var_find(sh, name);
	if (v == NULL) {
		if (sh->nvars >= EMU_SHELL_VARS_MAX) {
			free(dup);
			return TORIDE_ETOOBIG;
		}
		v = &sh->vars[sh->nvars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
		v->value = NULL;
	}
	free(v->value);
	v->value = dup;
	return 0;
}

static void
var_unset(struct emu_shell *sh, const char *name)
{
	struct sh_var *v = var_find(sh, name);
	if (v == NULL)
		return;
	free(v->value);
	*v = sh->vars[--sh->nvars];
}

static bool
is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* ---------------------------------------------------------------------------------------- */
/* Filesystem setup and generated files. */

struct applet;
typedef int (*applet_fn)(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out,
                         struct toride_buf *err);

struct applet {
	const char *name;
	applet_fn fn;
	const char *dir; /* where the link lives; NULL = shell builtin only */
};

static const struct applet *applet_find(const char *name);
extern const struct applet sh_applets[];
extern const size_t sh_napplets;

static const char ETC_GROUP[] = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n";
static const char ETC_HOSTS[] = "127.0.0.1\tlocalhost\n";
static const char ETC_RESOLV[] = "nameserver 192.168.1.1\n";
static const char ETC_INITTAB[] =
	"::sysinit:/etc/init.d/rcS\n::respawn:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\n";
static const char ETC_PROFILE[] = "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='# '\n";
static const char RCS[] = "#!/bin/sh\nmount -a\n/sbin/ifconfig lo 127.0.0.1\n";

/* Accounts firmware images ship besides root (each instance shows about a third of them). */
static const char *const EXTRA_USERS[] = {
	"bin:x:2:2:bin:/bin:/bin/false",
	"sys:x:3:3:sys:/dev:/bin/false",
	"admin:x:0:0:admin:/root:/bin/sh",
	"support:x:0:0:support:/root:/bin/sh",
	"mail:x:8:8:mail:/var/mail:/bin/false",
	"ftp:x:55:55:ftp:/home/ftp:/bin/false",
	"sshd:x:22:22:sshd:/var/empty:/bin/false",
	"www-data:x:33:33:www-data:/var/www:/bin/false",
	"operator:x:37:37:Operator:/var:/bin/false",
	"user:x:1000:1000:user:/home/user:/bin/sh",
	"guest:x:1001:1001:guest:/home/guest:/bin/sh",
};

/* Run-time state files a device keeps in /var/tmp (a random subset per instance). */
static const struct {
	const char *name, *text;
} VAR_TMP[] = {
	{ "resolv.conf.auto", "nameserver 192.168.1.1\n" },
	{ "wan_status", "up\n" },
	{ "led_status", "0\n" },
	{ "ntp_sync", "1\n" },
	{ "dhcpc.pid", NULL },
	{ "syslogd.pid", NULL },
	{ "boot_count", NULL },
	{ "upgrade", NULL },
	{ "dropbear", NULL },
};

static int
fs_dir(struct emu_shell *sh, const char *path, unsigned mode)
{
	return emu_vfs_add(&sh->fs, path, EMU_V_DIR, mode, false, NULL);
}

static int
fs_static(struct emu_shell *sh, const char *path, const char *text, enum emu_vgen gen)
{
	struct emu_vnode *nd;
	int r = emu_vfs_add(&sh->fs, path, EMU_V_FILE, 0644, false, &nd);
	if (r != 0)
		return r;
	if (text != NULL) {
		nd->sdata = (const uint8_t *)text;
		nd->slen = strlen(text);
	}
	nd->gen = gen;
	if (strncmp(path, "/proc/", 6) == 0)
		nd->mode = 0444;
	return 0;
}

static int
fs_build(struct emu_shell *sh)
{
	static const char *const dirs[] = {
		"/", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/lib", "/etc", "/etc/init.d",
		"/proc", "/proc/net", "/sys", "/dev", "/dev/pts", "/dev/shm", "/tmp", "/var", "/var/run",
		"/var/log", "/var/tmp", "/mnt", "/root", "/home",
	};
	int r;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((r = fs_dir(sh, dirs[i], strcmp(dirs[i], "/tmp") == 0 ? 01777 : 0755)) != 0)
			return r;
	struct emu_vnode *nd;
	if (has_busybox(sh)) {
		if ((r = emu_vfs_add(&sh->fs, "/bin/busybox", EMU_V_FILE, 0755, false, &nd)) != 0)
			return r;
		nd->sdata = sh->elf;
		nd->slen = sh->elflen;
		nd->shown_size = (size_t)rnd(sh, R_BUSYBOX, 0, 480000, 1100000) & ~(size_t)3;
		nd->applet = "busybox";
	}
	for (size_t i = 0; i < sh_napplets; i++) {
		const struct applet *a = &sh_applets[i];
		if (a->dir == NULL)
			continue;
		char path[EMU_VFS_PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", a->dir, a->name);
		if (emu_vfs_find(&sh->fs, path) != NULL)
			continue;
		if ((r = emu_vfs_add(&sh->fs, path, EMU_V_FILE, 0777, false, &nd)) != 0)
			return r;
		nd->sdata = sh->elf;
		nd->slen = sh->elflen;
		nd->applet = a->name;
		if (has_busybox(sh)) {
			nd->link = strcmp(a->dir, "/bin") == 0 ? "busybox" : "../../bin/busybox";
			if (strcmp(a->dir, "/sbin") == 0)
				nd->link = "../bin/busybox";
			nd->shown_size = strlen(nd->link);
		} else {
			nd->mode = 0755;
			nd->shown_size = 20000 + (size_t)(strlen(a->name) * 1237);
		}
	}
	if ((r = fs_static(sh, "/etc/passwd", NULL, EMU_GEN_PASSWD)) != 0 ||
	    (r = fs_static(sh, "/etc/group", ETC_GROUP, EMU_GEN_NONE)) != 0 ||
	    (r = fs_static(sh, "/etc/hosts", ETC_HOSTS, EMU_GEN_NONE)) != 0 ||
	    (r = fs_static(sh, "/etc/hostname", NULL, EMU_GEN_HOSTNAME)) != 0 ||
	    (r = fs_static(sh, "/etc/resolv.conf", ETC_RESOLV, EMU_GEN_NONE)) != 0 ||
	    (r = fs_static(sh, "/etc/inittab", ETC_INITTAB, EMU_GEN_NONE)) != 0 ||
	    (r = fs_static(sh, "/etc/profile", ETC_PROFILE, EMU_GEN_NONE)) != 0 ||
	    (r = fs_static(sh, "/etc/init.d/rcS", RCS, EMU_GEN_NONE)) != 0 ||
	    (r = fs_static(sh, "/proc/mounts", NULL, EMU_GEN_MOUNTS)) != 0 ||
	    (r = fs_static(sh, "/proc/cpuinfo", NULL, EMU_GEN_CPUINFO)) != 0 ||
	    (r = fs_static(sh, "/proc/meminfo", NULL, EMU_GEN_MEMINFO)) != 0 ||
	    (r = fs_static(sh, "/proc/uptime", NULL, EMU_GEN_UPTIME)) != 0 ||
	    (r = fs_static(sh, "/proc/version", NULL, EMU_GEN_VERSION)) != 0 ||
	    (r = fs_static(sh, "/proc/loadavg", NULL, EMU_GEN_LOADAVG)) != 0)
		return r;
	nd = emu_vfs_find(&sh->fs, "/etc/init.d/rcS");
	nd->mode = 0755;
	for (size_t i = 0; i < sizeof(VAR_TMP) / sizeof(VAR_TMP[0]); i++) {
		if (rnd(sh, R_VARTMP, i, 0, 99) >= 45)
			continue;
		char path[EMU_VFS_PATH_MAX];
		snprintf(path, sizeof(path), "/var/tmp/%s", VAR_TMP[i].name);
		bool dir = strcmp(VAR_TMP[i].name, "upgrade") == 0 || strcmp(VAR_TMP[i].name, "dropbear") == 0;
		if ((r = emu_vfs_add(&sh->fs, path, dir ? EMU_V_DIR : EMU_V_FILE, dir ? 0755 : 0644, false, &nd)) != 0)
			return r;
		if (dir)
			continue;
		const char *text = VAR_TMP[i].text;
		if (text == NULL) {
			/* A pid or a counter: a number made when the shell starts, kept in the shell. */
			size_t k = sh->nvartmp < SH_VARTMP_MAX ? sh->nvartmp++ : SH_VARTMP_MAX - 1;
			snprintf(sh->vartmp[k], sizeof(sh->vartmp[k]), "%u\n",
			         (unsigned)rnd(sh, R_VARTMP, 100 + i, strstr(VAR_TMP[i].name, "pid") ? 150 : 1,
			                       strstr(VAR_TMP[i].name, "pid") ? 390 : 60));
			text = sh->vartmp[k];
		}
		nd->sdata = (const uint8_t *)text;
		nd->slen = strlen(text);
	}
	static const char *const chr[] = { "/dev/console", "/dev/ttyS0", "/dev/watchdog", "/dev/mtdblock0",
		                           "/dev/mtdblock1", "/dev/urandom", "/dev/zero" };
	for (size_t i = 0; i < sizeof(chr) / sizeof(chr[0]); i++)
		if ((r = emu_vfs_add(&sh->fs, chr[i], EMU_V_CHR, 0660, false, NULL)) != 0)
			return r;
	if ((r = emu_vfs_add(&sh->fs, "/dev/null", EMU_V_NULL, 0666, false, NULL)) != 0)
		return r;
	return 0;
}

static int
gen_mounts(struct toride_buf *b)
{
	int r = 0;
	for (size_t i = 0; i < emu_vfs_nmounts && r == 0; i++) {
		const struct emu_vfs_mount *m = &emu_vfs_mounts[i];
		r = bprintf(b, "%s %s %s %s 0 0\n", m->dev, m->dir, m->type, m->opts);
	}
	return r;
}

static int
gen_cpuinfo(struct emu_shell *sh, struct toride_buf *b)
{
	const char *a = dev_arch(sh);
	unsigned bogo, bogof;
	if (strncmp(a, "mips", 4) == 0) {
		bogo = bogomips_x100(sh, 250, 600);
		bogof = bogo % 100;
		bogo /= 100;
		const char *sys = strncmp(a, "mipsel", 6) == 0 ? "MT7628AN" : "Atheros AR9341 rev 1";
		const char *cpu = strncmp(a, "mipsel", 6) == 0 ? "MIPS 24KEc V5.5" : "MIPS 74Kc V5.0";
		return bprintf(b,
		               "system type\t\t: %s\nmachine\t\t\t: Unknown\nprocessor\t\t: 0\n"
		               "cpu model\t\t: %s\nBogoMIPS\t\t: %u.%02u\nwait instruction\t: yes\n"
		               "microsecond timers\t: yes\ntlb_entries\t\t: 32\nextra interrupt vector\t: yes\n"
		               "hardware watchpoint\t: yes, count: 4, address/irw mask: [0x0ffc, 0x0ffc, 0x0ffb, 0x0ffb]\n"
		               "isa\t\t\t: mips1 mips2 mips32r1 mips32r2\nASEs implemented\t: mips16 dsp\n"
		               "shadow register sets\t: 1\nkscratch registers\t: 0\ncore\t\t\t: 0\n"
		               "VCED exceptions\t\t: not available\nVCEI exceptions\t\t: not available\n\n",
		               sys, cpu, bogo, bogof);
	}
	bogo = bogomips_x100(sh, 2900, 2940);
	if (strcmp(a, "x86_64") == 0 || (a[0] == 'i' && strstr(a, "86") != NULL))
		return bprintf(b,
		               "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 55\n"
		               "model name\t: Intel(R) Atom(TM) CPU  E3815  @ 1.46GHz\nstepping\t: 8\n"
		               "cpu MHz\t\t: 1463.000\ncache size\t: 512 KB\nfpu\t\t: yes\n"
		               "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov\n"
		               "bogomips\t: %u.%02u\n\n",
		               bogo / 100, bogo % 100);
	if (strncmp(a, "aarch64", 7) == 0)
		return bprintf(b,
		               "processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
		               "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n"
		               "CPU part\t: 0xd03\nCPU revision\t: 4\n\n");
	const char *model = "ARMv7 Processor rev 5 (v7l)";
	const char *feat = "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae ";
	unsigned archv = 7;
	const char *part = "0xc07";
	bogo = bogomips_x100(sh, 790, 2000);
	if (strncmp(a, "armv6", 5) == 0) {
		bogo = bogomips_x100(sh, 300, 700);
		model = "ARMv6-compatible processor rev 7 (v6l)";
		feat = "swp half thumb fastmult vfp edsp java tls ";
		archv = 6;
		part = "0xb76";
	} else if (strncmp(a, "armv5", 5) == 0 || strncmp(a, "armv4", 5) == 0 || strcmp(a, "arm") == 0) {
		model = "ARM926EJ-S rev 5 (v5l)";
		feat = "swp half thumb fastmult edsp java ";
		archv = 5;
		part = "0x926";
		bogo = bogomips_x100(sh, 100, 300);
	}
	return bprintf(b,
	               "processor\t: 0\nmodel name\t: %s\nBogoMIPS\t: %u.%02u\nFeatures\t: %s\n"
	               "CPU implementer\t: 0x41\nCPU architecture: %u\nCPU variant\t: 0x0\nCPU part\t: %s\n"
	               "CPU revision\t: 5\n\nHardware\t: Generic DT based system\nRevision\t: 0000\n"
	               "Serial\t\t: 0000000000000000\n",
	               model, bogo / 100, bogo % 100, feat, archv, part);
}

static int
gen_file(struct emu_shell *sh, const struct emu_vnode *nd, struct toride_buf *b)
{
	uint64_t up = uptime_secs(sh);
	unsigned tot = mem_total_kb(sh), fr = mem_free_kb(sh);
	struct uname_parts u;
	switch (nd->gen) {
	case EMU_GEN_MOUNTS:
		return gen_mounts(b);
	case EMU_GEN_CPUINFO:
		return gen_cpuinfo(sh, b);
	case EMU_GEN_MEMINFO:
		return bprintf(b,
		               "MemTotal:       %8u kB\nMemFree:        %8u kB\nBuffers:        %8u kB\n"
		               "Cached:         %8u kB\nSwapCached:            0 kB\nActive:         %8u kB\n"
		               "Inactive:       %8u kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
		               tot, fr, tot / 30, tot / 4, tot / 3, tot / 6);
	case EMU_GEN_UPTIME:
		return bprintf(b, "%llu.%02u %llu.%02u\n", (unsigned long long)up, (unsigned)(up % 97),
		               (unsigned long long)(up * 9 / 10), (unsigned)(up % 89));
	case EMU_GEN_VERSION:
		uname_split(sh, &u);
		return bprintf(b, "%s version %s (root@localhost) (gcc version 4.9.4) %s\n", u.sysname, u.release,
		               u.version);
	case EMU_GEN_LOADAVG:
		return bprintf(b, "0.%02u 0.%02u 0.%02u 1/%u %u\n", (unsigned)rnd(sh, R_LOAD, 0, 0, 60),
		               (unsigned)rnd(sh, R_LOAD, 1, 0, 40), (unsigned)rnd(sh, R_LOAD, 2, 0, 30),
		               (unsigned)rnd(sh, R_LOAD, 3, 45, 90), sh->pid + 2);
	case EMU_GEN_PASSWD: {
		int r = bputs(b, "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n");
		if (r == 0 && strcmp(sh->user, "root") != 0)
			r = bprintf(b, "%s:x:0:0:%s:/root:/bin/sh\n", sh->user, sh->user);
		for (size_t i = 0; r == 0 && i < sizeof(EXTRA_USERS) / sizeof(EXTRA_USERS[0]); i++) {
			size_t nl = strcspn(EXTRA_USERS[i], ":");
			if (rnd(sh, R_USERS, i, 0, 99) >= 35 ||
			    (strlen(sh->user) == nl && strncmp(sh->user, EXTRA_USERS[i], nl) == 0))
				continue;
			r = bprintf(b, "%s\n", EXTRA_USERS[i]);
		}
		if (r == 0)
			r = bputs(b, "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
		return r;
	}
	case EMU_GEN_HOSTNAME:
		return bprintf(b, "%s\n", sh->hostname);
	case EMU_GEN_NONE:
		break;
	}
	return 0;
}

/* Contents of a file node: generated ones are made into sh->scratch. */
static int
file_contents(struct emu_shell *sh, const struct emu_vnode *nd, const uint8_t **p, size_t *n)
{
	if (nd->gen != EMU_GEN_NONE && nd->data == NULL) {
		toride_buf_reset(&sh->scratch);
		int r = gen_file(sh, nd, &sh->scratch);
		if (r != 0)
			return r;
		*p = sh->scratch.data != NULL ? sh->scratch.data : (const uint8_t *)"";
		*n = sh->scratch.len;
		return 0;
	}
	if (nd->data != NULL) {
		*p = nd->data;
		*n = nd->len;
	} else if (nd->sdata != NULL) {
		*p = nd->sdata;
		*n = nd->slen;
	} else {
		*p = (const uint8_t *)"";
		*n = 0;
	}
	return 0;
}

/* Normalise a client path against the working directory; false (message printed) if too long. */
static bool
resolve(struct emu_shell *sh, const char *in, char *out, size_t outlen)
{
	return emu_vfs_normalize(sh->cwd, in, out, outlen) == EMU_VFS_OK;
}

static struct emu_vnode *
lookup(struct emu_shell *sh, const char *in)
{
	char path[EMU_VFS_PATH_MAX];
	if (!resolve(sh, in, path, sizeof(path)))
		return NULL;
	return emu_vfs_find(&sh->fs, path);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s != NULL ? s + 1 : p;
}

/* Open path for writing as a redirection or cp target would: create or truncate (append keeps).
 * Returns 0 with *out set, an EMU_VFS_* code (> 0), or a negative TORIDE_E*. */
static int
open_write(struct emu_shell *sh, const char *in, bool append, struct emu_vnode **out)
{
	char path[EMU_VFS_PATH_MAX];
	if (emu_vfs_normalize(sh->cwd, in, path, sizeof(path)) != EMU_VFS_OK)
		return EMU_VFS_ENAMETOOLONG;
	struct emu_vnode *nd = NULL;
	int r = emu_vfs_create(&sh->fs, path, false, &nd);
	if (r < 0)
		return r;
	if (r == EMU_VFS_EEXIST) {
		if (nd->type == EMU_V_DIR)
			return EMU_VFS_EISDIR;
		if (nd->type == EMU_V_NULL) {
			*out = nd;
			return 0;
		}
		if (nd->type == EMU_V_CHR) {
			*out = nd;
			return 0;
		}
		int w = emu_vfs_writable(path);
		if (w != EMU_VFS_OK)
			return w == EMU_VFS_ENOENT ? EMU_VFS_EACCES : w;
		if (!append)
			emu_vfs_truncate(&sh->fs, nd);
	} else if (r != EMU_VFS_OK) {
		return r;
	}
	*out = nd;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Tokens and the parser-interpreter. */

enum tok_type { T_WORD, T_SEMI, T_AMP, T_AND, T_OR, T_PIPE, T_LPAREN, T_RPAREN, T_REDIR, T_END };
enum redir_op { R_OUT, R_APPEND, R_IN, R_DUP };

struct tok {
	enum tok_type t;
	const char *s;
	size_t n;
	int fd;         /* T_REDIR: the redirected descriptor */
	enum redir_op op;
};

struct parser {
	struct tok *t;
	size_t n;
	size_t pos;
	bool err;           /* syntax error seen (message printed once) */
	unsigned *depth;    /* nesting of lists and commands, shared by nested $(...) */
};

static void
syntax_error(struct emu_shell *sh, struct parser *p, const char *what)
{
	if (!p->err)
		(void)bprintf(&sh->term, "sh: syntax error: %s\n", what);
	p->err = true;
}

/* Length of a word's quoted or substituted part starting at s[i]; returns the index after it,
 * or n + 1 when unterminated. Handles nesting of $( ) with quotes inside. */
static size_t
skip_quoted(const char *s, size_t i, size_t n, unsigned level)
{
	if (level > EMU_SHELL_DEPTH_MAX * 4)
		return n + 1;
	char c = s[i];
	if (c == '\'') {
		const char *e = memchr(s + i + 1, '\'', n - i - 1);
		return e == NULL ? n + 1 : (size_t)(e - s) + 1;
	}
	if (c == '"' || c == '`') {
		for (size_t j = i + 1; j < n; j++) {
			if (s[j] == '\\') {
				j++;
				continue;
			}
			if (s[j] == c)
				return j + 1;
			if (c == '"' && s[j] == '$' && j + 1 < n && (s[j + 1] == '(' || s[j + 1] == '{')) {
				size_t k = skip_quoted(s, j + 1, n, level + 1);
				if (k > n)
					return n + 1;
				j = k - 1;
			}
		}
		return n + 1;
	}
	if (c == '(' || c == '{') {
		char close = c == '(' ? ')' : '}';
		unsigned d = 0;
		for (size_t j = i; j < n; j++) {
			char x = s[j];
			if (x == '\\') {
				j++;
				continue;
			}
			if (x == '\'' || x == '"' || x == '`') {
				size_t k = skip_quoted(s, j, n, level + 1);
				if (k > n)
					return n + 1;
				j = k - 1;
				continue;
			}
			if (x == c) {
				if (++d > EMU_SHELL_DEPTH_MAX * 4)
					return n + 1;
			} else if (x == close && --d == 0) {
				return j + 1;
			}
		}
		return n + 1;
	}
	return i + 1;
}

static bool
is_meta(char c)
{
	return c == ' ' || c == '\t' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' ||
	       c == '>' || c == '\n' || c == '\r';
}

static bool
tok_word_is(const struct tok *t, const char *w)
{
	return t->t == T_WORD && t->n == strlen(w) && memcmp(t->s, w, t->n) == 0;
}

/* Is token k at the start of a command (first, after an operator, or after a keyword that opens
 * a list)? */
static bool
is_sep_tok(const struct tok *t)
{
	return t->t == T_SEMI || t->t == T_AMP || t->t == T_AND || t->t == T_OR || t->t == T_PIPE || t->t == T_LPAREN;
}

static bool
is_open_kw(const struct tok *t)
{
	static const char *const kw[] = { "do", "then", "else", "elif", "{", "if", "while", "until", "!" };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (tok_word_is(t, kw[i]))
			return true;
	return false;
}

/* Is token k at the start of a command (first, after an operator, or after a keyword that opens
 * a list and is itself at the start of a command)? */
static bool
at_cmd_start(const struct parser *p, size_t k)
{
	while (k > 0) {
		const struct tok *t = &p->t[k - 1];
		if (is_sep_tok(t))
			return true;
		if (!is_open_kw(t))
			return false;
		k--;
	}
	return true;
}

/* A newline after an operator, a separator or a list-opening keyword separates nothing. */
static bool
nl_is_blank(const struct parser *p)
{
	const struct tok *t = &p->t[p->n - 1];
	if (is_sep_tok(t))
		return true;
	return is_open_kw(t) && at_cmd_start(p, p->n - 1);
}

/* Split s into tokens. Returns 0, TORIDE_EPARSE (message printed), or TORIDE_ENOMEM. */
static int
tokenize(struct emu_shell *sh, const char *s, size_t n, struct parser *p)
{
	p->t = calloc(SH_TOKENS_MAX, sizeof(*p->t));
	if (p->t == NULL)
		return TORIDE_ENOMEM;
	p->n = 0;
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		if (c == '\n') {
			/* A newline (scripts) ends a command like ';' unless nothing is open to end. */
			i++;
			if (p->n == 0 || nl_is_blank(p))
				continue;
			if (p->n + 1 >= SH_TOKENS_MAX) {
				syntax_error(sh, p, "line too complex");
				return TORIDE_EPARSE;
			}
			p->t[p->n] = (struct tok){ .t = T_SEMI, .s = s + i - 1, .n = 1, .fd = -1 };
			p->n++;
			continue;
		}
		if (c == '#') {
			/* A comment runs to the end of its line. */
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (p->n + 1 >= SH_TOKENS_MAX) {
			syntax_error(sh, p, "line too complex");
			return TORIDE_EPARSE;
		}
		struct tok *t = &p->t[p->n];
		t->s = s + i;
		t->fd = -1;
		size_t start = i;
		/* N> and N< redirections: a word of digits directly followed by < or > */
		size_t d = i;
		while (d < n && s[d] >= '0' && s[d] <= '9')
			d++;
		if (d > i && d < n && (s[d] == '>' || s[d] == '<') && d - i < 3) {
			t->fd = atoi(s + i);
			i = d;
			c = s[i];
		}
		if (c == '>' || c == '<') {
			t->t = T_REDIR;
			if (t->fd < 0)
				t->fd = c == '>' ? 1 : 0;
			if (c == '>' && i + 1 < n && s[i + 1] == '>') {
				t->op = R_APPEND;
				i += 2;
			} else if (i + 1 < n && s[i + 1] == '&') {
				t->op = R_DUP;
				i += 2;
			} else {
				t->op = c == '>' ? R_OUT : R_IN;
				i += 1;
				if (c == '>' && i < n && s[i] == '|')
					i++;
			}
		} else if (c == ';') {
			t->t = T_SEMI;
			i++;
		} else if (c == '&') {
			t->t = i + 1 < n && s[i + 1] == '&' ? T_AND : T_AMP;
			i += t->t == T_AND ? 2 : 1;
		} else if (c == '|') {
			t->t = i + 1 < n && s[i + 1] == '|' ? T_OR : T_PIPE;
			i += t->t == T_OR ? 2 : 1;
		} else if (c == '(') {
			t->t = T_LPAREN;
			i++;
		} else if (c == ')') {
			t->t = T_RPAREN;
			i++;
		} else {
			t->t = T_WORD;
			while (i < n && !is_meta(s[i])) {
				if (s[i] == '\\') {
					i += i + 1 < n ? 2 : 1;
				} else if (s[i] == '\'' || s[i] == '"' || s[i] == '`') {
					i = skip_quoted(s, i, n, 0);
				} else if (s[i] == '$' && i + 1 < n && (s[i + 1] == '(' || s[i + 1] == '{')) {
					i = skip_quoted(s, i + 1, n, 0);
				} else {
					i++;
				}
				if (i > n) {
					syntax_error(sh, p, "unterminated quoted string");
					return TORIDE_EPARSE;
				}
			}
		}
		t->n = i - start;
		p->n++;
	}
	p->t[p->n].t = T_END;
	p->t[p->n].s = s + n;
	return 0;
}

static bool
tok_is(const struct parser *p, const char *word)
{
	const struct tok *t = &p->t[p->pos];
	return t->t == T_WORD && t->n == strlen(word) && memcmp(t->s, word, t->n) == 0;
}

static bool
at_terminator(const struct parser *p)
{
	enum tok_type t = p->t[p->pos].t;
	if (t == T_END || t == T_RPAREN)
		return true;
	static const char *const kw[] = { "do", "done", "then", "else", "elif", "fi", "}", "esac" };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (tok_is(p, kw[i]))
			return true;
	return false;
}

static void
unexpected(struct emu_shell *sh, struct parser *p)
{
	const struct tok *t = &p->t[p->pos];
	char msg[96];
	if (t->t == T_END)
		snprintf(msg, sizeof(msg), "unexpected end of file");
	else
		snprintf(msg, sizeof(msg), "unexpected \"%.*s\"", (int)(t->n > 40 ? 40 : t->n), t->s);
	syntax_error(sh, p, msg);
}

static bool
expect_word(struct emu_shell *sh, struct parser *p, const char *w)
{
	if (p->err)
		return false;
	if (!tok_is(p, w)) {
		unexpected(sh, p);
		return false;
	}
	p->pos++;
	return true;
}

static int run_string(struct emu_shell *sh, const char *s, size_t n, struct toride_buf *capture);
static int p_list(struct emu_shell *sh, struct parser *p, bool run, int *status);

/* ---- word expansion ---- */

struct fields {
	char *v[SH_ARGS_MAX + 1];
	int n;
	char cur[SH_WORD_MAX];
	size_t len;
	bool active;
	bool over;    /* too many fields: later ones dropped */
	bool glob;    /* the word has an unquoted * ? or [ : expand it against the filesystem */
};

static void
fields_free(struct fields *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->v[i]);
	f->n = 0;
	f->v[0] = NULL;
}

static void
fb_add(struct fields *f, char c)
{
	if (f->len + 1 < sizeof(f->cur))
		f->cur[f->len++] = c;
	f->active = true;
}

static int
fb_push(struct fields *f)
{
	if (!f->active)
		return 0;
	f->active = false;
	f->glob = false;
	if (f->n >= SH_ARGS_MAX) {
		f->over = true;
		f->len = 0;
		return 0;
	}
	char *s = malloc(f->len + 1);
	if (s == NULL)
		return TORIDE_ENOMEM;
	memcpy(s, f->cur, f->len);
	s[f->len] = '\0';
	f->v[f->n++] = s;
	f->v[f->n] = NULL;
	f->len = 0;
	return 0;
}

/* Add expanded text: inside double quotes as is, else split on blanks into fields. */
static int
fb_text(struct fields *f, const char *s, size_t n, bool dq)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!dq && (c == ' ' || c == '\t' || c == '\n')) {
			int r = fb_push(f);
			if (r != 0)
				return r;
			continue;
		}
		fb_add(f, c);
	}
	return 0;
}

static int
subst(struct emu_shell *sh, const char *s, size_t n, struct fields *f, bool dq)
{
	struct toride_buf cap;
	toride_buf_init(&cap, SH_SUBST_MAX);
	int r = run_string(sh, s, n, &cap);
	if (r == 0) {
		size_t len = cap.len;
		while (len > 0 && cap.data[len - 1] == '\n')
			len--;
		if (!dq)
			f->active = f->active || len > 0;
		r = fb_text(f, (const char *)cap.data, len, dq);
	}
	toride_buf_free(&cap);
	return r;
}

/* Expand a $ form at s[i] (s[i] == '$'); returns index after it. */
static int
expand_dollar(struct emu_shell *sh, const char *s, size_t i, size_t n, struct fields *f, bool dq, size_t *next)
{
	char num[32];
	const char *val = NULL;
	size_t j = i + 1;
	if (j >= n) {
		fb_add(f, '$');
		*next = j;
		return 0;
	}
	char c = s[j];
	if (c == '(') {
		size_t e = skip_quoted(s, j, n, 0);
		if (e > n)
			e = n;
		*next = e;
		if (j + 1 < n && s[j + 1] == '(') {
			/* $((...)) arithmetic: not emulated; busybox would print a number. */
			return fb_text(f, "0", 1, dq);
		}
		return subst(sh, s + j + 1, e - j - 2 < n ? e - j - 2 : 0, f, dq);
	}
	char name[SH_VAR_NAME_MAX];
	size_t k = 0;
	if (c == '{') {
		size_t e = j + 1;
		while (e < n && s[e] != '}')
			e++;
		*next = e < n ? e + 1 : n;
		for (size_t q = j + 1; q < e && is_name_char(s[q]) && k + 1 < sizeof(name); q++)
			name[k++] = s[q];
		if (k == 0 && j + 1 < e && s[j + 1] == '?') {
			snprintf(num, sizeof(num), "%d", sh->status);
			return fb_text(f, num, strlen(num), dq);
		}
	} else if (c == '?' || c == '$' || c == '#' || c == '!' || c == '@' || c == '*' || c == '-' ||
	           (c >= '0' && c <= '9')) {
		*next = j + 1;
		if (c == '?')
			snprintf(num, sizeof(num), "%d", sh->status);
		else if (c == '$')
			snprintf(num, sizeof(num), "%u", sh->pid);
		else if (c == '#')
			snprintf(num, sizeof(num), "0");
		else if (c == '0')
			snprintf(num, sizeof(num), "sh");
		else if (c == '-')
			snprintf(num, sizeof(num), "i");
		else
			num[0] = '\0';
		return fb_text(f, num, strlen(num), dq);
	} else if (is_name_start(c)) {
		size_t e = j;
		while (e < n && is_name_char(s[e])) {
			if (k + 1 < sizeof(name))
				name[k++] = s[e];
			e++;
		}
		*next = e;
	} else {
		fb_add(f, '$');
		*next = j;
		return 0;
	}
	name[k] = '\0';
	val = var_get(sh, name);
	return fb_text(f, val, strlen(val), dq);
}

static int
cmp_base(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
	return strcmp(bx != NULL ? bx + 1 : x, by != NULL ? by + 1 : y);
}

/* Pathname expansion of the word being built (`rm -rf *`, `chmod 777 *.sh`): the last component
 * is matched against the directory's entries (names starting with '.' only by a pattern that
 * does); no match keeps the word as typed, as sh does. */
static int
glob_push(struct emu_shell *sh, struct fields *f)
{
	char pat[SH_WORD_MAX];
	memcpy(pat, f->cur, f->len);
	pat[f->len] = '\0';
	const char *slash = strrchr(pat, '/');
	size_t dl = slash != NULL ? (size_t)(slash - pat) + 1 : 0; /* prefix kept as typed, with its '/' */
	const char *bp = pat + dl;
	if (strpbrk(bp, "*?[") == NULL || memchr(pat, '*', dl) != NULL || memchr(pat, '?', dl) != NULL ||
	    memchr(pat, '[', dl) != NULL)
		return fb_push(f);
	char dir[EMU_VFS_PATH_MAX], tmp[EMU_VFS_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(dl > 0 ? dl : 1), dl > 0 ? pat : ".");
	if (!resolve(sh, tmp, dir, sizeof(dir)))
		return fb_push(f);
	const char **names = calloc(sh->fs.n + 1, sizeof(*names));
	if (names == NULL)
		return TORIDE_ENOMEM;
	size_t nn = 0;
	for (size_t i = 0; i < sh->fs.n; i++) {
		const char *np = sh->fs.nodes[i].path;
		if (emu_vfs_is_child(np, dir) && fnmatch(bp, base_name(np), FNM_PERIOD) == 0)
			names[nn++] = np;
	}
	int r = 0;
	if (nn == 0) {
		r = fb_push(f);
	} else {
		qsort(names, nn, sizeof(*names), cmp_base);
		for (size_t i = 0; i < nn && r == 0; i++) {
			const char *b = base_name(names[i]);
			size_t bl = strlen(b);
			if (dl + bl >= sizeof(f->cur))
				continue;
			memcpy(f->cur, pat, dl);
			memcpy(f->cur + dl, b, bl);
			f->len = dl + bl;
			f->active = true;
			r = fb_push(f);
		}
	}
	free(names);
	return r;
}

/* Expand one word into fields (quotes removed, $ and ` substituted). */
static int
expand_word(struct emu_shell *sh, const char *s, size_t n, struct fields *f)
{
	bool dq = false;
	size_t i = 0;
	int r = 0;
	while (i < n && r == 0) {
		char c = s[i];
		if (!dq && c == '\'') {
			size_t e = skip_quoted(s, i, n, 0);
			if (e > n)
				e = n + 1;
			for (size_t k = i + 1; k + 1 < e; k++)
				fb_add(f, s[k]);
			f->active = true;
			i = e > n ? n : e;
		} else if (c == '"') {
			dq = !dq;
			f->active = true;
			i++;
		} else if (c == '\\') {
			if (i + 1 >= n) {
				fb_add(f, '\\');
				i++;
			} else if (dq && strchr("$`\"\\", s[i + 1]) == NULL) {
				fb_add(f, '\\');
				fb_add(f, s[i + 1]);
				i += 2;
			} else {
				fb_add(f, s[i + 1]);
				i += 2;
			}
		} else if (c == '$') {
			size_t next = i + 1;
			r = expand_dollar(sh, s, i, n, f, dq, &next);
			i = next;
		} else if (c == '`') {
			size_t e = skip_quoted(s, i, n, 0);
			if (e > n)
				e = n;
			r = subst(sh, s + i + 1, e > i + 1 ? e - i - 2 : 0, f, dq);
			i = e;
		} else {
			if (!dq && (c == '*' || c == '?' || c == '['))
				f->glob = true;
			fb_add(f, c);
			i++;
		}
	}
	if (r == 0)
		r = f->glob ? glob_push(sh, f) : fb_push(f);
	f->glob = false;
	return r;
}

/* ---- simple commands ---- */

static int dispatch(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out, struct toride_buf *err);

struct redir {
	int fd;
	enum redir_op op;
	char target[SH_WORD_MAX];
};

/* Write collected output to its redirection target. */
static int
flush_to_file(struct emu_shell *sh, const char *target, bool append, const struct toride_buf *data,
              struct toride_buf *err)
{
	struct emu_vnode *nd = NULL;
	int r = open_write(sh, target, append, &nd);
	if (r < 0)
		return r;
	if (r > 0) {
		(void)bprintf(err, "sh: can't create %s: %s\n", target, emu_vfs_strerror(r));
		return 1;
	}
	if (nd->type == EMU_V_NULL || nd->type == EMU_V_CHR)
		return 0;
	r = emu_vfs_append(&sh->fs, nd, data->data, data->len);
	if (r < 0)
		return r;
	if (r > 0) {
		(void)bprintf(err, "sh: write error: %s\n", emu_vfs_strerror(r));
		return 1;
	}
	return 0;
}

/* `< target`: the file becomes the standard input of what runs next (held in cin). Returns 0,
 * 1 when the file cannot be opened (the shell's message is printed, *status is 1), or a negative
 * code. */
static int
stdin_from(struct emu_shell *sh, const char *target, struct toride_buf *cin, int *status)
{
	struct emu_vnode *nd = lookup(sh, target);
	if (nd == NULL || nd->type == EMU_V_DIR) {
		(void)bprintf(&sh->term, "sh: can't open %s: %s\n", target, nd == NULL ? "no such file" : "Is a directory");
		*status = 1;
		return 1;
	}
	const uint8_t *cp;
	size_t cn;
	int r = file_contents(sh, nd, &cp, &cn);
	if (r != 0)
		return r;
	toride_buf_reset(cin);
	if ((r = bput(cin, cp, cn)) != 0)
		return r;
	sh->in = cin->data != NULL ? cin->data : (const uint8_t *)"";
	sh->inlen = cin->len;
	return 0;
}

static int
run_simple(struct emu_shell *sh, struct parser *p, size_t first, size_t last, int *status)
{
	struct fields *f = calloc(1, sizeof(*f));
	struct redir *rd = NULL;
	size_t nrd = 0;
	struct toride_buf cout, cerr, cin;
	toride_buf_init(&cout, EMU_SHELL_OUT_MAX);
	toride_buf_init(&cerr, EMU_SHELL_OUT_MAX);
	toride_buf_init(&cin, EMU_SHELL_OUT_MAX);
	const uint8_t *save_in = sh->in;
	size_t save_inlen = sh->inlen;
	bool in_redirected = false; /* else `read` may consume the pipe's or loop's stdin */
	int r = 0;
	if (f == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	if (++sh->cmds > EMU_SHELL_CMDS_MAX) {
		sh->abort = sh->exhausted = true;
		goto out;
	}
	size_t nredir = 0;
	for (size_t i = first; i < last; i++)
		if (p->t[i].t == T_REDIR)
			nredir++;
	if (nredir > 0) {
		rd = calloc(nredir, sizeof(*rd));
		if (rd == NULL) {
			r = TORIDE_ENOMEM;
			goto out;
		}
	}
	/* Leading NAME=value words are assignments. */
	bool only_assign = true;
	size_t nassign = 0;
	for (size_t i = first; i < last; i++) {
		struct tok *t = &p->t[i];
		if (t->t == T_REDIR) {
			i++;
			struct tok *w = &p->t[i];
			/* Expand the target into f's tail, then take it out again. */
			int before = f->n;
			r = expand_word(sh, w->s, w->n, f);
			if (r != 0)
				goto out;
			rd[nrd].fd = t->fd;
			rd[nrd].op = t->op;
			if (f->n > before)
				snprintf(rd[nrd].target, sizeof(rd[nrd].target), "%s", f->v[before]);
			while (f->n > before) {
				free(f->v[--f->n]);
				f->v[f->n] = NULL;
			}
			nrd++;
			continue;
		}
		const char *eq = memchr(t->s, '=', t->n);
		if (only_assign && eq != NULL && eq > t->s && is_name_start(t->s[0])) {
			bool ok = true;
			for (const char *q = t->s; q < eq; q++)
				ok = ok && is_name_char(*q);
			if (ok) {
				nassign++;
				continue;
			}
		}
		only_assign = false;
		r = expand_word(sh, t->s, t->n, f);
		if (r != 0)
			goto out;
	}
	if (f->n == 0 && nassign > 0) {
		for (size_t i = first; i < last; i++) {
			struct tok *t = &p->t[i];
			if (t->t == T_REDIR) {
				i++;
				continue;
			}
			const char *eq = memchr(t->s, '=', t->n);
			if (eq == NULL)
				continue;
			char name[SH_VAR_NAME_MAX];
			size_t nl = (size_t)(eq - t->s);
			if (nl >= sizeof(name))
				continue;
			memcpy(name, t->s, nl);
			name[nl] = '\0';
			struct fields *vf = calloc(1, sizeof(*vf));
			if (vf == NULL) {
				r = TORIDE_ENOMEM;
				goto out;
			}
			/* Values are not split: expand as if double-quoted by joining fields. */
			r = expand_word(sh, eq + 1, t->n - nl - 1, vf);
			char val[SH_VAR_VALUE_MAX];
			size_t o = 0;
			val[0] = '\0';
			for (int k = 0; r == 0 && k < vf->n; k++) {
				int m = snprintf(val + o, sizeof(val) - o, "%s%s", k ? " " : "", vf->v[k]);
				if (m < 0 || (size_t)m >= sizeof(val) - o)
					break;
				o += (size_t)m;
			}
			fields_free(vf);
			free(vf);
			if (r != 0)
				goto out;
			r = var_set(sh, name, val);
			if (r == TORIDE_ETOOBIG) {
				(void)bprintf(&sh->term, "sh: %s: too many variables\n", name);
				r = 0;
			} else if (r != 0) {
				goto out;
			}
		}
	}

	/* Input redirection, then run, then route output. */
	struct toride_buf *err = &cerr;
	for (size_t k = 0; k < nrd; k++) {
		if (rd[k].op != R_IN)
			continue;
		if ((r = stdin_from(sh, rd[k].target, &cin, status)) != 0) {
			if (r > 0)
				r = 0;
			goto out;
		}
		in_redirected = true;
	}
	/* Files named in > redirections are created (and truncated) before the command runs. */
	for (size_t k = 0; k < nrd; k++) {
		if (rd[k].op != R_OUT && rd[k].op != R_APPEND)
			continue;
		struct emu_vnode *nd = NULL;
		r = open_write(sh, rd[k].target, rd[k].op == R_APPEND, &nd);
		if (r < 0)
			goto out;
		if (r > 0) {
			(void)bprintf(&sh->term, "sh: can't create %s: %s\n", rd[k].target, emu_vfs_strerror(r));
			*status = 1;
			r = 0;
			goto out;
		}
		if (nd->type == EMU_V_FILE)
			event(sh, "write", nd->path);
	}
	if (f->n > 0) {
		*status = dispatch(sh, f->n, f->v, &cout, err);
		if (*status < 0) {
			r = *status;
			goto out;
		}
	} else {
		*status = 0;
	}
	/* Route stdout (fd 1) and stderr (fd 2): the last redirection of each fd wins. */
	int out_to = -1, err_to = -1; /* index into rd, -2 = the other stream */
	for (size_t k = 0; k < nrd; k++) {
		if (rd[k].op == R_IN)
			continue;
		int to = rd[k].op == R_DUP ? -2 : (int)k;
		if (rd[k].op == R_DUP && !((rd[k].fd == 2 && strcmp(rd[k].target, "1") == 0) ||
		                           (rd[k].fd == 1 && strcmp(rd[k].target, "2") == 0)))
			continue;
		if (rd[k].fd == 1)
			out_to = to;
		else if (rd[k].fd == 2)
			err_to = to;
	}
	struct toride_buf *dst_out = sh->out;
	if (out_to == -2)
		dst_out = &sh->term;
	int fr;
	if (out_to >= 0) {
		if (err_to == -2 && (r = bput(&cout, cerr.data, cerr.len)) != 0)
			goto out;
		fr = flush_to_file(sh, rd[out_to].target, true, &cout, &sh->term);
		if (fr < 0) {
			r = fr;
			goto out;
		}
		if (fr > 0)
			*status = fr;
	} else if ((r = bput(dst_out, cout.data, cout.len)) != 0) {
		goto out;
	}
	if (err_to >= 0) {
		fr = flush_to_file(sh, rd[err_to].target, true, &cerr, &sh->term);
		if (fr < 0) {
			r = fr;
			goto out;
		}
	} else if (err_to == -2 && out_to < 0) {
		if ((r = bput(sh->out, cerr.data, cerr.len)) != 0)
			goto out;
	} else if (err_to != -2 && (r = bput(&sh->term, cerr.data, cerr.len)) != 0) {
		goto out;
	}
	r = 0;
out:
	if (in_redirected) {
		sh->in = save_in;
		sh->inlen = save_inlen;
	}
	if (f != NULL) {
		fields_free(f);
		free(f);
	}
	free(rd);
	toride_buf_free(&cout);
	toride_buf_free(&cerr);
	toride_buf_free(&cin);
	return r;
}

/* ---- grammar ---- */

static int p_command(struct emu_shell *sh, struct parser *p, bool run, int *status);

static bool
budget_left(struct emu_shell *sh)
{
	if (sh->abort)
		return false;
	if (sh->loops >= EMU_SHELL_LOOP_MAX) {
		sh->abort = sh->exhausted = true;
		return false;
	}
	sh->loops++;
	return true;
}

static int
p_for(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	p->pos++;
	struct tok *nt = &p->t[p->pos];
	if (nt->t != T_WORD || nt->n >= SH_VAR_NAME_MAX || !is_name_start(nt->s[0])) {
		unexpected(sh, p);
		return 0;
	}
	char name[SH_VAR_NAME_MAX];
	memcpy(name, nt->s, nt->n);
	name[nt->n] = '\0';
	p->pos++;
	size_t wfirst = p->pos, wlast = p->pos;
	if (tok_is(p, "in")) {
		p->pos++;
		wfirst = p->pos;
		while (p->t[p->pos].t == T_WORD && !tok_is(p, "do"))
			p->pos++;
		wlast = p->pos;
	}
	if (p->t[p->pos].t == T_SEMI)
		p->pos++;
	if (!expect_word(sh, p, "do"))
		return 0;
	size_t body = p->pos;
	int r = 0;
	struct fields *f = NULL;
	int st = 0;
	if (run && !sh->abort) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return TORIDE_ENOMEM;
		for (size_t i = wfirst; i < wlast && r == 0; i++)
			r = expand_word(sh, p->t[i].s, p->t[i].n, f);
		for (int k = 0; r == 0 && k < f->n && budget_left(sh); k++) {
			if ((r = var_set(sh, name, f->v[k])) == TORIDE_ETOOBIG)
				r = 0;
			if (r != 0)
				break;
			p->pos = body;
			r = p_list(sh, p, true, &st);
			if (r != 0 || p->err)
				break;
		}
		fields_free(f);
		free(f);
		if (r != 0)
			return r;
	}
	p->pos = body;
	if ((r = p_list(sh, p, false, &st)) != 0)
		return r;
	expect_word(sh, p, "done");
	if (run)
		*status = st;
	return 0;
}

static int
p_while(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	bool until = tok_is(p, "until");
	p->pos++;
	size_t cond = p->pos;
	int r, st = 0, cst = 0;
	bool go = run;
	while (go && !sh->abort && !p->err) {
		p->pos = cond;
		if ((r = p_list(sh, p, true, &cst)) != 0)
			return r;
		if (sh->abort || p->err || ((cst == 0) == until) || !budget_left(sh))
			break;
		if (!expect_word(sh, p, "do"))
			return 0;
		if ((r = p_list(sh, p, true, &st)) != 0)
			return r;
	}
	p->pos = cond;
	if ((r = p_list(sh, p, false, &cst)) != 0)
		return r;
	if (!expect_word(sh, p, "do"))
		return 0;
	if ((r = p_list(sh, p, false, &cst)) != 0)
		return r;
	expect_word(sh, p, "done");
	if (run)
		*status = st;
	return 0;
}

static int
p_if(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	bool done = !run; /* a branch has been taken (or nothing runs) */
	int r, cst = 0, st = 0;
	p->pos++;
	for (;;) {
		if ((r = p_list(sh, p, !done, &cst)) != 0)
			return r;
		if (!expect_word(sh, p, "then"))
			return 0;
		bool take = !done && cst == 0;
		if ((r = p_list(sh, p, take, &st)) != 0)
			return r;
		if (take)
			done = true;
		if (tok_is(p, "elif")) {
			p->pos++;
			continue;
		}
		if (tok_is(p, "else")) {
			p->pos++;
			bool take2 = !done;
			if ((r = p_list(sh, p, take2, &st)) != 0)
				return r;
			if (take2)
				done = true;
		}
		break;
	}
	expect_word(sh, p, "fi");
	if (run)
		*status = st;
	return 0;
}

static bool
at_compound(const struct parser *p)
{
	return tok_is(p, "for") || tok_is(p, "while") || tok_is(p, "until") || tok_is(p, "if") || tok_is(p, "{") ||
	       p->t[p->pos].t == T_LPAREN;
}

/* A compound command (for, while/until, if, { }, ( )) without its redirections. */
static int
p_compound(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	int r = 0;
	if (tok_is(p, "for")) {
		r = p_for(sh, p, run, status);
	} else if (tok_is(p, "while") || tok_is(p, "until")) {
		r = p_while(sh, p, run, status);
	} else if (tok_is(p, "if")) {
		r = p_if(sh, p, run, status);
	} else if (tok_is(p, "{")) {
		p->pos++;
		if ((r = p_list(sh, p, run, status)) == 0)
			expect_word(sh, p, "}");
	} else {
		p->pos++;
		char cwd[EMU_VFS_PATH_MAX];
		memcpy(cwd, sh->cwd, sizeof(cwd));
		if ((r = p_list(sh, p, run, status)) == 0 && !p->err) {
			if (p->t[p->pos].t == T_RPAREN)
				p->pos++;
			else
				unexpected(sh, p);
		}
		if (run)
			memcpy(sh->cwd, cwd, sizeof(cwd)); /* a subshell's cd does not stick */
	}
	return r;
}

/* Run a compound command with the redirections at tokens [rfirst, rlast) (`done < file`,
 * `} > file`): stdin from a file, stdout into a file; stderr stays on the terminal. */
static int
run_compound_redirected(struct emu_shell *sh, struct parser *p, size_t start, size_t rfirst, size_t rlast,
                        int *status)
{
	struct fields *f = calloc(1, sizeof(*f));
	struct toride_buf cin, cout;
	toride_buf_init(&cin, EMU_SHELL_OUT_MAX);
	toride_buf_init(&cout, EMU_SHELL_OUT_MAX);
	const uint8_t *save_in = sh->in;
	size_t save_inlen = sh->inlen;
	struct toride_buf *save_out = sh->out;
	char outfile[SH_WORD_MAX] = "";
	int r = 0;
	if (f == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	for (size_t k = rfirst; k + 1 < rlast; k += 2) {
		const struct tok *t = &p->t[k], *w = &p->t[k + 1];
		fields_free(f);
		if ((r = expand_word(sh, w->s, w->n, f)) != 0)
			goto out;
		const char *target = f->n > 0 ? f->v[0] : "";
		if (t->op == R_IN && t->fd == 0) {
			if ((r = stdin_from(sh, target, &cin, status)) != 0) {
				if (r > 0)
					r = 0;
				goto out;
			}
		} else if ((t->op == R_OUT || t->op == R_APPEND) && t->fd == 1) {
			struct emu_vnode *nd = NULL;
			int e = open_write(sh, target, t->op == R_APPEND, &nd);
			if (e < 0) {
				r = e;
				goto out;
			}
			if (e > 0) {
				(void)bprintf(&sh->term, "sh: can't create %s: %s\n", target, emu_vfs_strerror(e));
				*status = 1;
				goto out;
			}
			if (nd->type == EMU_V_FILE)
				event(sh, "write", nd->path);
			snprintf(outfile, sizeof(outfile), "%s", nd->path);
			sh->out = &cout;
		}
	}
	p->pos = start;
	r = p_compound(sh, p, true, status);
	sh->out = save_out;
	if (r == 0 && outfile[0] != '\0') {
		int fr = flush_to_file(sh, outfile, true, &cout, &sh->term);
		if (fr < 0)
			r = fr;
	}
out:
	sh->out = save_out;
	sh->in = save_in;
	sh->inlen = save_inlen;
	p->pos = rlast;
	if (f != NULL) {
		fields_free(f);
		free(f);
	}
	toride_buf_free(&cin);
	toride_buf_free(&cout);
	return r;
}

static int
p_command(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	if (p->err)
		return 0;
	if (++*p->depth > EMU_SHELL_NEST_MAX) {
		syntax_error(sh, p, "nesting too deep");
		--*p->depth;
		return 0;
	}
	int r = 0;
	struct tok *t = &p->t[p->pos];
	if (at_compound(p)) {
		size_t start = p->pos;
		/* Find the end (and the redirections after it) without running anything. */
		if ((r = p_compound(sh, p, false, status)) == 0 && !p->err) {
			size_t rfirst = p->pos;
			while (p->t[p->pos].t == T_REDIR) {
				p->pos++;
				if (p->t[p->pos].t != T_WORD) {
					unexpected(sh, p);
					break;
				}
				p->pos++;
			}
			size_t rlast = p->pos;
			if (!p->err && run && !sh->abort) {
				if (rlast > rfirst) {
					r = run_compound_redirected(sh, p, start, rfirst, rlast, status);
				} else {
					p->pos = start;
					r = p_compound(sh, p, true, status);
					p->pos = rlast;
				}
			}
		}
	} else if (t->t == T_WORD || t->t == T_REDIR) {
		if (at_terminator(p)) {
			unexpected(sh, p);
		} else {
			size_t first = p->pos;
			while (p->t[p->pos].t == T_WORD || p->t[p->pos].t == T_REDIR) {
				if (p->t[p->pos].t == T_REDIR) {
					p->pos++;
					if (p->t[p->pos].t != T_WORD) {
						unexpected(sh, p);
						break;
					}
				}
				p->pos++;
			}
			if (!p->err && p->t[p->pos].t == T_LPAREN) /* a function definition: not emulated */
				unexpected(sh, p);
			if (!p->err && run && !sh->abort)
				r = run_simple(sh, p, first, p->pos, status);
		}
	} else {
		unexpected(sh, p);
	}
	--*p->depth;
	return r;
}

static int
p_pipeline(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	bool bang = false;
	if (tok_is(p, "!")) {
		bang = true;
		p->pos++;
	}
	struct toride_buf bufs[2];
	toride_buf_init(&bufs[0], EMU_SHELL_OUT_MAX);
	toride_buf_init(&bufs[1], EMU_SHELL_OUT_MAX);
	struct toride_buf *save_out = sh->out;
	/* stdin after the first command: what a `read` there consumed stays consumed (while read). */
	const uint8_t *save_in = NULL;
	size_t save_inlen = 0;
	bool piped = false;
	int r = 0, cur = 0;
	int st = 0;
	for (;;) {
		toride_buf_reset(&bufs[cur]);
		sh->out = &bufs[cur];
		if (run) {
			/* The last command writes straight to the pipeline's stdout, so that its output
			 * and its messages on stderr reach the terminal in the order they were made. */
			size_t at = p->pos;
			int dummy = 0;
			if ((r = p_command(sh, p, false, &dummy)) != 0 || p->err)
				break;
			if (p->t[p->pos].t != T_PIPE)
				sh->out = save_out;
			p->pos = at;
		}
		if ((r = p_command(sh, p, run, &st)) != 0 || p->err)
			break;
		if (p->t[p->pos].t != T_PIPE)
			break;
		p->pos++;
		if (!piped) {
			save_in = sh->in;
			save_inlen = sh->inlen;
			piped = true;
		}
		sh->in = bufs[cur].data != NULL ? bufs[cur].data : (const uint8_t *)"";
		sh->inlen = bufs[cur].len;
		cur ^= 1;
	}
	sh->out = save_out;
	if (piped) {
		sh->in = save_in;
		sh->inlen = save_inlen;
	}
	toride_buf_free(&bufs[0]);
	toride_buf_free(&bufs[1]);
	if (run)
		*status = bang ? !st : st;
	return r;
}

static int
p_andor(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	int st = 0;
	int r = p_pipeline(sh, p, run, &st);
	while (r == 0 && !p->err) {
		enum tok_type t = p->t[p->pos].t;
		if (t != T_AND && t != T_OR)
			break;
		p->pos++;
		bool go = run && (t == T_AND ? st == 0 : st != 0);
		int s2 = st;
		r = p_pipeline(sh, p, go, &s2);
		if (go)
			st = s2;
	}
	if (run) {
		*status = st;
		sh->status = st;
	}
	return r;
}

static int
p_list(struct emu_shell *sh, struct parser *p, bool run, int *status)
{
	if (++*p->depth > EMU_SHELL_NEST_MAX) {
		syntax_error(sh, p, "nesting too deep");
		--*p->depth;
		return 0;
	}
	int r = 0;
	for (;;) {
		if (p->err)
			break;
		if (at_terminator(p)) {
			unexpected(sh, p);
			break;
		}
		if ((r = p_andor(sh, p, run && !sh->abort, status)) != 0)
			break;
		enum tok_type t = p->t[p->pos].t;
		if (t != T_SEMI && t != T_AMP)
			break;
		p->pos++;
		if (at_terminator(p))
			break;
	}
	--*p->depth;
	return r;
}

/* Check then run a command string; stdout goes to capture (NULL: the current stdout). */
static int
run_string(struct emu_shell *sh, const char *s, size_t n, struct toride_buf *capture)
{
	struct parser p;
	memset(&p, 0, sizeof(p));
	p.depth = &sh->nest;
	struct toride_buf *save_out = sh->out;
	int r = 0, st = 0;
	if (sh->depth >= EMU_SHELL_DEPTH_MAX || sh->abort)
		return 0;
	sh->depth++;
	r = tokenize(sh, s, n, &p);
	if (r == TORIDE_EPARSE) {
		sh->status = 2;
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if (p.t[0].t == T_END)
		goto out;
	/* First pass only parses: a syntax error anywhere means nothing runs, as in sh. */
	r = p_list(sh, &p, false, &st);
	if (r == 0 && !p.err && p.t[p.pos].t != T_END)
		unexpected(sh, &p);
	if (r != 0 || p.err) {
		sh->status = 2;
		goto out;
	}
	p.pos = 0;
	if (capture != NULL)
		sh->out = capture;
	r = p_list(sh, &p, true, &st);
out:
	sh->out = save_out;
	sh->depth--;
	free(p.t);
	return r;
}

/* Why 64 KiB: dropper scripts (bins.sh and the like) are a few KiB; the tokenizer takes at most
 * SH_TOKENS_MAX words of a script anyway, so more text would only be refused. */
#define SH_SCRIPT_MAX (64u * 1024u)

/* Run a script's text as sh does (sh FILE, sh -c, commands piped to sh, ./script, . FILE). A
 * child script (all but `.`) keeps its cd to itself; `exit` in any script ends only that script.
 * The text is copied first: the script may change or remove its own file. */
static int
run_script_in(struct emu_shell *sh, const char *text, size_t n, struct toride_buf *out, bool child)
{
	if (n > SH_SCRIPT_MAX)
		n = SH_SCRIPT_MAX;
	char *copy = malloc(n + 1);
	if (copy == NULL)
		return TORIDE_ENOMEM;
	memcpy(copy, text, n);
	copy[n] = '\0';
	char cwd[EMU_VFS_PATH_MAX];
	memcpy(cwd, sh->cwd, sizeof(cwd));
	sh->in_script++;
	int r = run_string(sh, copy, n, out);
	sh->in_script--;
	if (sh->script_exit) {
		sh->script_exit = false;
		if (!sh->exhausted)
			sh->abort = false;
	}
	if (child)
		memcpy(sh->cwd, cwd, sizeof(cwd));
	free(copy);
	return r;
}

static int
run_script(struct emu_shell *sh, const char *text, size_t n, struct toride_buf *out)
{
	return run_script_in(sh, text, n, out, true);
}

/* Hand a client-written file's contents to the observer (the honeypot keeps it as a sample):
 * once per version, i.e. again only after the file changed. */
static void
file_evidence(struct emu_shell *sh, struct emu_vnode *nd)
{
	const struct emu_observer *o = sh->dev != NULL ? sh->dev->obs : NULL;
	if (o == NULL || o->file == NULL || nd->type != EMU_V_FILE || nd->data == NULL || nd->len == 0 || nd->sent)
		return;
	nd->sent = true;
	o->file(sh->dev->obs_arg, nd->path, nd->data, nd->len);
}

/* The "execute" event: the program's absolute path and its arguments. */
static void
exec_event(struct emu_shell *sh, const char *path, int argc, char **argv)
{
	char detail[1024];
	size_t o = (size_t)snprintf(detail, sizeof(detail), "%s", path);
	for (int i = 0; i < argc && o < sizeof(detail); i++) {
		int m = snprintf(detail + o, sizeof(detail) - o, " %s", argv[i]);
		if (m < 0)
			break;
		o += (size_t)m;
	}
	event(sh, "execute", detail);
}

/* ---------------------------------------------------------------------------------------- */
/* Applets. Each returns the exit status (>= 0) or a negative TORIDE_E* (ENOMEM). */

#define APPLET(name) static int name(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out, \
                                     struct toride_buf *err)

static int
echo_escapes(const char *s, struct toride_buf *out, bool *stop)
{
	int r = 0;
	for (size_t i = 0; s[i] != '\0' && r == 0; i++) {
		char c = s[i];
		if (c != '\\' || s[i + 1] == '\0') {
			r = bput(out, &c, 1);
			continue;
		}
		char e = s[++i];
		unsigned v = 0;
		int k;
		switch (e) {
		case 'a': c = '\a'; break;
		case 'b': c = '\b'; break;
		case 'e': c = 0x1b; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'v': c = '\v'; break;
		case '\\': c = '\\'; break;
		case 'c': *stop = true; return 0;
		case 'x':
			for (k = 0; k < 2; k++) {
				char h = s[i + 1];
				unsigned d;
				if (h >= '0' && h <= '9')
					d = (unsigned)(h - '0');
				else if (h >= 'a' && h <= 'f')
					d = (unsigned)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					d = (unsigned)(h - 'A' + 10);
				else
					break;
				v = v * 16 + d;
				i++;
			}
			if (k == 0) {
				r = bput(out, "\\x", 2);
				continue;
			}
			c = (char)v;
			break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			/* \0NNN and \NNN (busybox accepts both): up to three octal digits */
			if (e != '0')
				v = (unsigned)(e - '0');
			for (k = 0; k < (e == '0' ? 3 : 2) && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
				v = v * 8 + (unsigned)(s[++i] - '0');
			c = (char)(v & 0xff);
			break;
		default:
			r = bput(out, "\\", 1);
			c = e;
			break;
		}
		if (r == 0)
			r = bput(out, &c, 1);
	}
	return r;
}

APPLET(ap_echo)
{
	(void)sh;
	(void)err;
	bool nl = true, esc = false;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0' || strspn(a + 1, "neE") != strlen(a + 1))
			break;
		for (const char *q = a + 1; *q; q++) {
			if (*q == 'n')
				nl = false;
			else if (*q == 'e')
				esc = true;
			else
				esc = false;
		}
	}
	int r = 0;
	bool stop = false;
	for (int k = i; k < argc && r == 0 && !stop; k++) {
		if (k > i)
			r = bput(out, " ", 1);
		if (r == 0)
			r = esc ? echo_escapes(argv[k], out, &stop) : bputs(out, argv[k]);
	}
	if (r == 0 && nl && !stop)
		r = bput(out, "\n", 1);
	return r;
}

static int
cat_one(struct emu_shell *sh, const char *name, struct toride_buf *out, struct toride_buf *err, const char *who)
{
	struct emu_vnode *nd = lookup(sh, name);
	if (nd == NULL) {
		int r = bprintf(err, "%s: can't open '%s': No such file or directory\n", who, name);
		return r != 0 ? r : 1;
	}
	if (nd->type == EMU_V_DIR) {
		int r = bprintf(err, "%s: read error: Is a directory\n", who);
		return r != 0 ? r : 1;
	}
	const uint8_t *p;
	size_t n;
	int r = file_contents(sh, nd, &p, &n);
	if (r == 0)
		r = bput(out, p, n);
	return r;
}

APPLET(ap_cat)
{
	int st = 0, r = 0;
	int nfiles = 0;
	for (int i = 1; i < argc && r >= 0; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			continue;
		nfiles++;
		if (strcmp(argv[i], "-") == 0) {
			r = sh->in != NULL ? bput(out, sh->in, sh->inlen) : 0;
			continue;
		}
		r = cat_one(sh, argv[i], out, err, "cat");
		if (r > 0)
			st = 1;
	}
	if (nfiles == 0 && sh->in != NULL && r >= 0)
		r = bput(out, sh->in, sh->inlen);
	return r < 0 ? r : st;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(base_name(*(char *const *)a), base_name(*(char *const *)b));
}

static void
mode_string(const struct emu_vnode *nd, char s[11])
{
	static const char rwx[] = "rwxrwxrwx";
	s[0] = nd->link != NULL ? 'l' : nd->type == EMU_V_DIR ? 'd' : nd->type == EMU_V_FILE ? '-' : 'c';
	unsigned m = nd->link != NULL ? 0777 : nd->mode;
	for (int i = 0; i < 9; i++)
		s[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (nd->mode & 01000)
		s[9] = 't';
	s[10] = '\0';
}

static int
ls_entry(struct emu_shell *sh, const struct emu_vnode *nd, const char *name, bool lng, struct toride_buf *out)
{
	if (!lng)
		return bprintf(out, "%s\n", name);
	char m[11];
	mode_string(nd, m);
	size_t size = emu_vfs_size(nd);
	if (nd->gen != EMU_GEN_NONE && nd->data == NULL && strncmp(nd->path, "/proc/", 6) == 0)
		size = 0;
	else if (nd->gen != EMU_GEN_NONE && nd->data == NULL) {
		const uint8_t *p;
		int r = file_contents(sh, nd, &p, &size);
		if (r != 0)
			return r;
	}
	const char *date = nd->user ? "" : "Jan  1  1970";
	char when[32];
	if (nd->user) {
		time_t t = (time_t)sh->now;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%b %e %H:%M", &tm);
		date = when;
	}
	int r = bprintf(out, "%s %4u root     root     %9zu %s %s", m, nd->type == EMU_V_DIR ? 2u : 1u, size, date,
	                name);
	if (r == 0 && nd->link != NULL)
		r = bprintf(out, " -> %s", nd->link);
	if (r == 0)
		r = bput(out, "\n", 1);
	return r;
}

APPLET(ap_ls)
{
	bool lng = false, all = false;
	int st = 0, r = 0;
	const char *targets[SH_ARGS_MAX];
	int nt = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			lng = lng || strchr(argv[i], 'l') != NULL;
			all = all || strchr(argv[i], 'a') != NULL;
		} else {
			targets[nt++] = argv[i];
		}
	}
	if (nt == 0)
		targets[nt++] = ".";
	const char **names = calloc(sh->fs.n + 4, sizeof(*names));
	if (names == NULL)
		return TORIDE_ENOMEM;
	for (int k = 0; k < nt && r == 0; k++) {
		char path[EMU_VFS_PATH_MAX];
		struct emu_vnode *nd = NULL;
		if (resolve(sh, targets[k], path, sizeof(path)))
			nd = emu_vfs_find(&sh->fs, path);
		if (nd == NULL) {
			r = bprintf(err, "ls: %s: No such file or directory\n", targets[k]);
			st = 1;
			continue;
		}
		if (nd->type != EMU_V_DIR) {
			r = ls_entry(sh, nd, targets[k], lng, out);
			continue;
		}
		if (nt > 1)
			r = bprintf(out, "%s%s:\n", k > 0 ? "\n" : "", targets[k]);
		size_t nn = 0;
		for (size_t i = 0; i < sh->fs.n; i++) {
			const char *np = sh->fs.nodes[i].path;
			if (emu_vfs_is_child(np, path) && (all || base_name(np)[0] != '.'))
				names[nn++] = np;
		}
		qsort(names, nn, sizeof(*names), cmp_str);
		if (all) {
			/* -a shows "." and ".." first, as every ls does. */
			memmove(names + 2, names, nn * sizeof(*names));
			names[0] = ".";
			names[1] = "..";
			nn += 2;
		}
		if (!lng) {
			/* Columns as busybox prints them on an 80-column terminal. */
			size_t col = 0;
			for (size_t i = 0; i < nn && r == 0; i++) {
				const char *b = base_name(names[i]);
				size_t w = strlen(b) + 2;
				if (col > 0 && col + w > 80) {
					r = bput(out, "\n", 1);
					col = 0;
				}
				if (r == 0)
					r = bprintf(out, "%s%s", b, i + 1 < nn ? "  " : "");
				col += w;
			}
			if (r == 0 && nn > 0)
				r = bput(out, "\n", 1);
		} else {
			if (r == 0)
				r = bprintf(out, "total %zu\n", nn);
			for (size_t i = 0; i < nn && r == 0; i++) {
				struct emu_vnode *cn = names[i][0] == '.' ? nd : emu_vfs_find(&sh->fs, names[i]);
				r = ls_entry(sh, cn, base_name(names[i]), true, out);
			}
		}
	}
	free(names);
	return r < 0 ? r : st;
}

APPLET(ap_cd)
{
	(void)out;
	const char *to = argc > 1 ? argv[1] : var_get(sh, "HOME");
	if (to[0] == '\0')
		to = "/";
	char path[EMU_VFS_PATH_MAX];
	struct emu_vnode *nd = NULL;
	if (resolve(sh, to, path, sizeof(path)))
		nd = emu_vfs_find(&sh->fs, path);
	if (nd == NULL || nd->type != EMU_V_DIR) {
		int r = bprintf(err, "sh: cd: can't cd to %s\n", to);
		return r != 0 ? r : 1;
	}
	memcpy(sh->cwd, path, strlen(path) + 1);
	return 0;
}

APPLET(ap_pwd)
{
	(void)argc, (void)argv, (void)err;
	return bprintf(out, "%s\n", sh->cwd);
}

/* Remove path (and everything under it when recursive). */
static int
rm_path(struct emu_shell *sh, const char *arg, bool rec, bool force, struct toride_buf *err)
{
	char path[EMU_VFS_PATH_MAX];
	struct emu_vnode *nd = NULL;
	if (resolve(sh, arg, path, sizeof(path)))
		nd = emu_vfs_find(&sh->fs, path);
	if (nd == NULL) {
		if (force)
			return 0;
		int r = bprintf(err, "rm: can't remove '%s': No such file or directory\n", arg);
		return r != 0 ? r : 1;
	}
	if (nd->type == EMU_V_DIR && !rec) {
		int r = bprintf(err, "rm: can't remove '%s': Is a directory\n", arg);
		return r != 0 ? r : 1;
	}
	int w = emu_vfs_writable(path);
	if (strcmp(emu_vfs_mount_of(path)->dir, path) == 0)
		w = EMU_VFS_EACCES; /* a mount point */
	if (w != EMU_VFS_OK) {
		if (w == EMU_VFS_ENOENT)
			w = EMU_VFS_EACCES;
		int r = bprintf(err, "rm: can't remove '%s': %s\n", arg, emu_vfs_strerror(w));
		return r != 0 ? r : 1;
	}
	for (size_t i = sh->fs.n; i-- > 0;) {
		const char *np = sh->fs.nodes[i].path;
		if (strcmp(np, path) == 0 || (rec && emu_vfs_is_under(np, path)))
			emu_vfs_remove_at(&sh->fs, i);
	}
	return 0;
}

APPLET(ap_rm)
{
	(void)out;
	bool rec = false, force = false;
	int st = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			rec = rec || strchr(argv[i], 'r') != NULL || strchr(argv[i], 'R') != NULL;
			force = force || strchr(argv[i], 'f') != NULL;
			continue;
		}
		int r = rm_path(sh, argv[i], rec, force, err);
		if (r < 0)
			return r;
		if (r > 0)
			st = 1;
	}
	return st;
}

APPLET(ap_rmdir)
{
	(void)out;
	int st = 0;
	for (int i = 1; i < argc; i++) {
		char path[EMU_VFS_PATH_MAX];
		struct emu_vnode *nd = NULL;
		if (resolve(sh, argv[i], path, sizeof(path)))
			nd = emu_vfs_find(&sh->fs, path);
		int e = nd == NULL ? EMU_VFS_ENOENT : nd->type != EMU_V_DIR ? EMU_VFS_ENOTDIR : emu_vfs_writable(path);
		for (size_t k = 0; e == EMU_VFS_OK && k < sh->fs.n; k++)
			if (emu_vfs_is_under(sh->fs.nodes[k].path, path))
				e = EMU_VFS_ENOTEMPTY;
		if (e == EMU_VFS_OK && !nd->user)
			e = EMU_VFS_EACCES;
		if (e != EMU_VFS_OK) {
			int r = bprintf(err, "rmdir: '%s': %s\n", argv[i], emu_vfs_strerror(e));
			if (r != 0)
				return r;
			st = 1;
			continue;
		}
		for (size_t k = 0; k < sh->fs.n; k++)
			if (strcmp(sh->fs.nodes[k].path, path) == 0) {
				emu_vfs_remove_at(&sh->fs, k);
				break;
			}
	}
	return st;
}

APPLET(ap_mkdir)
{
	(void)out;
	bool parents = false;
	int st = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			parents = parents || strchr(argv[i], 'p') != NULL;
			continue;
		}
		char path[EMU_VFS_PATH_MAX];
		if (!resolve(sh, argv[i], path, sizeof(path))) {
			int r = bprintf(err, "mkdir: can't create directory '%s': File name too long\n", argv[i]);
			if (r != 0)
				return r;
			st = 1;
			continue;
		}
		/* With -p create each missing ancestor. */
		size_t len = strlen(path);
		for (size_t k = 1; k <= len; k++) {
			if (k < len && (!parents || path[k] != '/'))
				continue;
			char part[EMU_VFS_PATH_MAX];
			memcpy(part, path, k);
			part[k] = '\0';
			struct emu_vnode *nd = NULL;
			int e = emu_vfs_create(&sh->fs, part, true, &nd);
			if (e < 0)
				return e;
			if (e == EMU_VFS_EEXIST && (parents || k < len) && nd->type == EMU_V_DIR)
				continue;
			if (e != EMU_VFS_OK) {
				int r = bprintf(err, "mkdir: can't create directory '%s': %s\n", argv[i], emu_vfs_strerror(e));
				if (r != 0)
					return r;
				st = 1;
				break;
			}
		}
	}
	return st;
}

APPLET(ap_touch)
{
	(void)out;
	int st = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (lookup(sh, argv[i]) != NULL)
			continue;
		struct emu_vnode *nd = NULL;
		int e = open_write(sh, argv[i], true, &nd);
		if (e < 0)
			return e;
		if (e > 0) {
			int r = bprintf(err, "touch: %s: %s\n", argv[i], emu_vfs_strerror(e));
			if (r != 0)
				return r;
			st = 1;
			continue;
		}
		event(sh, "write", nd->path);
	}
	return st;
}

/* cp and mv of one file. */
static int
copy_file(struct emu_shell *sh, const char *src, const char *dst, bool move, struct toride_buf *err)
{
	const char *who = move ? "mv" : "cp";
	char spath[EMU_VFS_PATH_MAX], dpath[EMU_VFS_PATH_MAX];
	struct emu_vnode *sn = NULL;
	if (resolve(sh, src, spath, sizeof(spath)))
		sn = emu_vfs_find(&sh->fs, spath);
	if (sn == NULL) {
		int r = bprintf(err, "%s: can't stat '%s': No such file or directory\n", who, src);
		return r != 0 ? r : 1;
	}
	if (sn->type == EMU_V_DIR) {
		int r = bprintf(err, "%s: omitting directory '%s'\n", who, src);
		return r != 0 ? r : 1;
	}
	if (!resolve(sh, dst, dpath, sizeof(dpath))) {
		int r = bprintf(err, "%s: can't create '%s': File name too long\n", who, dst);
		return r != 0 ? r : 1;
	}
	struct emu_vnode *dn = emu_vfs_find(&sh->fs, dpath);
	if (dn != NULL && dn->type == EMU_V_DIR) {
		size_t dl = strlen(dpath);
		int m = snprintf(dpath + dl, sizeof(dpath) - dl, "%s%s", dl > 1 ? "/" : "", base_name(spath));
		if (m < 0 || (size_t)m >= sizeof(dpath) - dl) {
			int r = bprintf(err, "%s: can't create '%s': File name too long\n", who, dst);
			return r != 0 ? r : 1;
		}
	}
	if (strcmp(spath, dpath) == 0) {
		int r = bprintf(err, "%s: '%s' and '%s' are the same file\n", who, src, dst);
		return r != 0 ? r : 1;
	}
	if (move && emu_vfs_writable(spath) != EMU_VFS_OK) {
		int r = bprintf(err, "mv: can't remove '%s': Read-only file system\n", src);
		return r != 0 ? r : 1;
	}
	struct emu_vnode *nd = NULL;
	int e = open_write(sh, dpath, false, &nd);
	if (e < 0)
		return e;
	if (e > 0) {
		int r = bprintf(err, "%s: can't create '%s': %s\n", who, dst, emu_vfs_strerror(e));
		return r != 0 ? r : 1;
	}
	if (nd->type != EMU_V_FILE)
		return 0;
	/* The node array may have grown: find the source again. */
	sn = emu_vfs_find(&sh->fs, spath);
	if (sn == NULL)
		return 1;
	if (sn->gen != EMU_GEN_NONE && sn->data == NULL) {
		const uint8_t *p;
		size_t n;
		if ((e = file_contents(sh, sn, &p, &n)) != 0)
			return e;
		e = emu_vfs_append(&sh->fs, nd, p, n);
	} else {
		e = emu_vfs_copy_contents(&sh->fs, nd, sn);
	}
	if (e < 0)
		return e;
	if (e > 0) {
		int r = bprintf(err, "%s: write error: %s\n", who, emu_vfs_strerror(e));
		return r != 0 ? r : 1;
	}
	event(sh, "write", nd->path);
	if (move) {
		for (size_t i = 0; i < sh->fs.n; i++)
			if (strcmp(sh->fs.nodes[i].path, spath) == 0) {
				emu_vfs_remove_at(&sh->fs, i);
				break;
			}
	}
	return 0;
}

static int
cp_mv(struct emu_shell *sh, int argc, char **argv, struct toride_buf *err, bool move)
{
	const char *files[SH_ARGS_MAX];
	int n = 0;
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			files[n++] = argv[i];
	if (n < 2) {
		int r = bprintf(err, "BusyBox v1 multi-call binary.\n\nUsage: %s [OPTIONS] SOURCE... DEST\n", move ? "mv" : "cp");
		return r != 0 ? r : 1;
	}
	int st = 0;
	for (int i = 0; i + 1 < n; i++) {
		int r = copy_file(sh, files[i], files[n - 1], move, err);
		if (r < 0)
			return r;
		if (r > 0)
			st = 1;
	}
	return st;
}

APPLET(ap_cp)
{
	(void)out;
	return cp_mv(sh, argc, argv, err, false);
}

APPLET(ap_mv)
{
	(void)out;
	return cp_mv(sh, argc, argv, err, true);
}

APPLET(ap_chmod)
{
	(void)out;
	if (argc < 3) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: chmod [-Rcvf] MODE[,MODE]... FILE...\n");
		return r != 0 ? r : 1;
	}
	int st = 0;
	int mi = 1;
	while (mi < argc - 1 && argv[mi][0] == '-' && strchr("Rcvf", argv[mi][1]) != NULL && argv[mi][1] != '\0')
		mi++;
	const char *mode = argv[mi];
	for (int i = mi + 1; i < argc; i++) {
		char path[EMU_VFS_PATH_MAX];
		struct emu_vnode *nd = NULL;
		if (resolve(sh, argv[i], path, sizeof(path)))
			nd = emu_vfs_find(&sh->fs, path);
		if (nd == NULL) {
			int r = bprintf(err, "chmod: %s: No such file or directory\n", argv[i]);
			if (r != 0)
				return r;
			st = 1;
			continue;
		}
		int w = emu_vfs_writable(path);
		if (w != EMU_VFS_OK && nd->type != EMU_V_NULL) {
			int r = bprintf(err, "chmod: %s: %s\n", argv[i], emu_vfs_strerror(w == EMU_VFS_ENOENT ? EMU_VFS_EACCES : w));
			if (r != 0)
				return r;
			st = 1;
			continue;
		}
		if (mode[0] >= '0' && mode[0] <= '7') {
			nd->mode = (unsigned)strtoul(mode, NULL, 8) & 07777;
			continue;
		}
		/* Symbolic: [ugoa]*[+-=][rwx]* (the forms scripts use). */
		unsigned who = 0, bits = 0;
		const char *q = mode;
		for (; *q && strchr("ugoa", *q); q++)
			who |= *q == 'u' ? 0700u : *q == 'g' ? 0070u : *q == 'o' ? 0007u : 0777u;
		if (who == 0)
			who = 0777;
		char op = *q ? *q++ : '+';
		for (; *q; q++)
			bits |= *q == 'r' ? 0444u : *q == 'w' ? 0222u : *q == 'x' ? 0111u : 0u;
		bits &= who;
		if (op == '+')
			nd->mode |= bits;
		else if (op == '-')
			nd->mode &= ~bits;
		else if (op == '=')
			nd->mode = (nd->mode & ~who) | bits;
	}
	return st;
}

APPLET(ap_uname)
{
	(void)err;
	struct uname_parts u;
	uname_split(sh, &u);
	bool s = false, n = false, r = false, v = false, m = false, o = false;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			continue;
		for (const char *q = argv[i] + 1; *q; q++) {
			if (*q == 'a')
				s = n = r = v = m = o = true;
			s = s || *q == 's';
			n = n || *q == 'n';
			r = r || *q == 'r';
			v = v || *q == 'v';
			m = m || *q == 'm' || *q == 'p';
			o = o || *q == 'o';
		}
	}
	if (!(s || n || r || v || m || o))
		s = true;
	const char *parts[6] = { s ? u.sysname : NULL, n ? sh->hostname : NULL, r ? u.release : NULL,
		                 v ? u.version : NULL, m ? u.machine : NULL, o ? "GNU/Linux" : NULL };
	int rr = 0;
	bool first = true;
	for (int i = 0; i < 6 && rr == 0; i++) {
		if (parts[i] == NULL)
			continue;
		rr = bprintf(out, "%s%s", first ? "" : " ", parts[i]);
		first = false;
	}
	return rr != 0 ? rr : bput(out, "\n", 1);
}

static bool
has_service(const struct emu_shell *sh, enum emu_proto pr)
{
	const struct emu_profile *p = sh->dev != NULL ? sh->dev->profile : NULL;
	if (p == NULL)
		return pr == EMU_TELNET;
	for (size_t i = 0; i < p->nservices && i < EMU_MAX_SERVICES; i++)
		if (p->services[i].proto == pr)
			return true;
	return false;
}

/* Lines of `ps`: kernel threads, daemons, services and the shell (< 32 on these devices). */
#define SH_PROCS_MAX 40

struct proc {
	unsigned pid;
	unsigned vsz;
	const char *stat;
	const char *cmd;
};

/* Daemons a device of each class may run besides its services (a random subset per instance). */
static const char *const PS_CAMERA[] = { "/usr/sbin/crond", "/sbin/udhcpc -i eth0 -b", "/usr/sbin/ntpd -n -p pool.ntp.org",
	                                 "/sbin/watchdog -t 5 /dev/watchdog", "[jffs2_gcd_mtd4]", "/usr/sbin/inetd",
	                                 "/sbin/getty -L ttyS0 115200 vt100" };
static const char *const PS_ROUTER[] = { "/usr/sbin/dnsmasq", "/usr/sbin/udhcpd /var/udhcpd.conf", "/sbin/hotplug2 --persistent",
	                                 "/usr/sbin/crond", "/usr/sbin/igmpproxy", "/usr/sbin/miniupnpd", "[jffs2_gcd_mtd3]",
	                                 "/usr/sbin/ntpclient -s -h pool.ntp.org" };
static const char *const PS_OTHER[] = { "/usr/sbin/crond", "/sbin/udhcpc -i eth0", "/usr/sbin/ntpd -n", "[jffs2_gcd_mtd3]",
	                                "/sbin/watchdog /dev/watchdog" };

static size_t
proc_list(const struct emu_shell *sh, struct proc *v, size_t max)
{
	static const struct proc base[] = {
		{ 1, 1480, "S", "init" },          { 2, 0, "SW", "[kthreadd]" },
		{ 3, 0, "SW", "[ksoftirqd/0]" },   { 5, 0, "SW<", "[kworker/0:0H]" },
		{ 7, 0, "SW", "[rcu_preempt]" },   { 10, 0, "SW<", "[khelper]" },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]) && n < max; i++)
		v[n++] = base[i];
	/* Kernel threads of the storage and swap, then the daemons, at increasing pids with gaps. */
	unsigned pid = (unsigned)rnd(sh, R_PS, 0, 60, 90);
	if (n < max)
		v[n++] = (struct proc){ pid, 0, "SW", "[kswapd0]" };
	pid += (unsigned)rnd(sh, R_PS, 1, 20, 90);
	if (n < max)
		v[n++] = (struct proc){ pid, 0, "SW", "[mtdblock0]" };
	pid = (unsigned)rnd(sh, R_PS, 2, 180, 260);
	unsigned bb = 1400 + (unsigned)rnd(sh, R_PS, 3, 0, 40) * 4;
	if (n < max)
		v[n++] = (struct proc){ pid, bb, "S", "/sbin/syslogd -n" };
	pid += (unsigned)rnd(sh, R_PS, 4, 2, 9);
	if (n < max)
		v[n++] = (struct proc){ pid, bb, "S", "/sbin/klogd -n" };
	struct {
		enum emu_proto p;
		const char *cmd;
		unsigned vsz;
	} svc[] = {
		{ EMU_TELNET, "/usr/sbin/telnetd", 1476 }, { EMU_SSH, "/usr/sbin/dropbear -R", 1208 },
		{ EMU_HTTP, "/usr/sbin/httpd", 3120 },     { EMU_RTSP, "/usr/bin/rtspd", 8840 },
		{ EMU_MQTT, "/usr/bin/mqttd", 2404 },      { EMU_FTP, "/usr/sbin/ftpd", 1476 },
	};
	const char *const *extra = PS_OTHER;
	size_t nextra = sizeof(PS_OTHER) / sizeof(PS_OTHER[0]);
	if (sh_class(sh) == C_CAMERA)
		extra = PS_CAMERA, nextra = sizeof(PS_CAMERA) / sizeof(PS_CAMERA[0]);
	else if (sh_class(sh) == C_ROUTER)
		extra = PS_ROUTER, nextra = sizeof(PS_ROUTER) / sizeof(PS_ROUTER[0]);
	for (size_t i = 0; i < nextra && n < max; i++) {
		if (rnd(sh, R_PSSET, i, 0, 99) >= 50)
			continue;
		pid += (unsigned)rnd(sh, R_PS, 10 + i, 3, 40);
		v[n++] = (struct proc){ pid, extra[i][0] == '[' ? 0 : bb + (unsigned)rnd(sh, R_PS, 30 + i, 0, 600) * 4,
			                extra[i][0] == '[' ? "SW" : "S", extra[i] };
	}
	for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]) && n < max; i++) {
		if (!has_service(sh, svc[i].p))
			continue;
		pid += (unsigned)rnd(sh, R_PS, 50 + i, 3, 30);
		v[n++] = (struct proc){ pid, svc[i].vsz, "S", svc[i].cmd };
	}
	if (n < max)
		v[n++] = (struct proc){ sh->pid, bb + 8, "S", "-sh" };
	return n;
}

APPLET(ap_ps)
{
	(void)argc, (void)argv, (void)err;
	struct proc v[SH_PROCS_MAX];
	size_t n = proc_list(sh, v, SH_PROCS_MAX);
	int r = bputs(out, "  PID USER       VSZ STAT COMMAND\n");
	for (size_t i = 0; i < n && r == 0; i++)
		r = bprintf(out, "%5u root     %5u %-4s %s\n", v[i].pid, v[i].vsz, v[i].stat, v[i].cmd);
	if (r == 0)
		r = bprintf(out, "%5u root      1480 R    ps\n", sh->pid + 2 + (unsigned)(sh->cmds % 50));
	return r;
}

APPLET(ap_kill)
{
	(void)out;
	int st = 0;
	struct proc v[SH_PROCS_MAX];
	size_t n = proc_list(sh, v, SH_PROCS_MAX);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-')
			continue;
		if (a[0] == '%') {
			int r = bprintf(err, "sh: can't kill pid %s: No such process\n", a);
			if (r != 0)
				return r;
			st = 1;
			continue;
		}
		char *end;
		unsigned long pid = strtoul(a, &end, 10);
		bool found = false;
		for (size_t k = 0; k < n; k++)
			found = found || v[k].pid == pid;
		if (*end != '\0' || !found) {
			int r = bprintf(err, "sh: can't kill pid %s: No such process\n", a);
			if (r != 0)
				return r;
			st = 1;
		}
	}
	return st;
}

APPLET(ap_free)
{
	(void)argc, (void)argv, (void)err;
	unsigned tot = mem_total_kb(sh), fr = mem_free_kb(sh), used = tot - fr;
	unsigned buffers = tot / 30, cached = tot / 4;
	return bprintf(out,
	               "             total       used       free     shared    buffers     cached\n"
	               "Mem:    %10u %10u %10u %10u %10u %10u\n"
	               "-/+ buffers/cache: %10u %10u\n"
	               "Swap:   %10u %10u %10u\n",
	               tot, used, fr, 0u, buffers, cached, used - buffers - cached, fr + buffers + cached, 0u, 0u, 0u);
}

/* The kernel log of this boot: version, memory, the serial console and the Ethernet MAC (the
 * device's own), with per-instance timestamps. */
APPLET(ap_dmesg)
{
	(void)argc, (void)argv, (void)err;
	struct uname_parts u;
	uname_split(sh, &u);
	uint8_t mac[6] = { 0x00, 0x12, 0x16, 0x00, 0x00, 0x01 };
	if (sh->dev != NULL)
		memcpy(mac, sh->dev->mac, 6);
	unsigned tot = mem_total_kb(sh);
	unsigned phys = (tot / 1024 + 15) / 16 * 16 * 1024;
	uint64_t us = rnd(sh, R_DMESG, 0, 900000, 1400000); /* time of the serial driver, microseconds */
	int r = bprintf(out,
	                "[    0.000000] Booting Linux on physical CPU 0x0\n"
	                "[    0.000000] %s version %s (root@localhost) (gcc version 4.9.4) %s\n"
	                "[    0.000000] Memory: %uK/%uK available (%uK kernel code, %uK rwdata, %uK rodata, %uK init, %uK bss, %uK reserved)\n"
	                "[    0.000000] Kernel command line: console=ttyS0,115200 mem=%uM root=/dev/mtdblock%u rootfstype=squashfs\n",
	                u.sysname, u.release, u.version, tot, phys, (unsigned)rnd(sh, R_DMESG, 1, 2800, 4200),
	                (unsigned)rnd(sh, R_DMESG, 2, 150, 260), (unsigned)rnd(sh, R_DMESG, 3, 700, 1300),
	                (unsigned)rnd(sh, R_DMESG, 4, 150, 260), (unsigned)rnd(sh, R_DMESG, 5, 120, 400), phys - tot,
	                phys / 1024, (unsigned)rnd(sh, R_DMESG, 6, 1, 4));
	if (r == 0)
		r = bprintf(out,
		            "[%5u.%06u] Serial: 8250/16550 driver, %u ports, IRQ sharing disabled\n"
		            "[%5u.%06u] serial8250.0: ttyS0 at MMIO 0x%08x (irq = %u, base_baud = %u) is a 16550A\n"
		            "[%5u.%06u] console [ttyS0] enabled\n",
		            (unsigned)(us / 1000000), (unsigned)(us % 1000000), (unsigned)rnd(sh, R_DMESG, 7, 1, 4),
		            (unsigned)((us + 3211) / 1000000), (unsigned)((us + 3211) % 1000000),
		            0x10000000u + (unsigned)rnd(sh, R_DMESG, 8, 0, 255) * 0x1000u, (unsigned)rnd(sh, R_DMESG, 9, 20, 60),
		            (unsigned)rnd(sh, R_DMESG, 10, 0, 2) == 0 ? 7500000u : 1500000u,
		            (unsigned)((us + 4107) / 1000000), (unsigned)((us + 4107) % 1000000));
	us += rnd(sh, R_DMESG, 11, 400000, 1600000);
	if (r == 0)
		r = bprintf(out, "[%5u.%06u] eth0: MAC address %02x:%02x:%02x:%02x:%02x:%02x\n",
		            (unsigned)(us / 1000000), (unsigned)(us % 1000000), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	us += rnd(sh, R_DMESG, 12, 2000000, 9000000);
	if (r == 0)
		r = bprintf(out, "[%5u.%06u] eth0: link up (100Mbps/Full duplex)\n", (unsigned)(us / 1000000),
		            (unsigned)(us % 1000000));
	return r;
}

APPLET(ap_uptime)
{
	(void)argc, (void)argv, (void)err;
	uint64_t up = uptime_secs(sh);
	time_t t = (time_t)sh->now;
	struct tm tm;
	gmtime_r(&t, &tm);
	unsigned days = (unsigned)(up / 86400), hours = (unsigned)(up % 86400 / 3600), mins = (unsigned)(up % 3600 / 60);
	int r = bprintf(out, " %02d:%02d:%02d up ", tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (r == 0 && days > 0)
		r = bprintf(out, "%u day%s, ", days, days == 1 ? "" : "s");
	if (r == 0) {
		if (hours > 0)
			r = bprintf(out, "%2u:%02u, ", hours, mins);
		else
			r = bprintf(out, "%u min, ", mins);
	}
	if (r == 0)
		r = bprintf(out, " load average: 0.%02u, 0.%02u, 0.%02u\n", (unsigned)rnd(sh, R_LOAD, 0, 0, 60),
		            (unsigned)rnd(sh, R_LOAD, 1, 0, 40), (unsigned)rnd(sh, R_LOAD, 2, 0, 30));
	return r;
}

APPLET(ap_id)
{
	(void)argc, (void)argv, (void)err;
	return bprintf(out, "uid=0(%s) gid=0(root) groups=0(root)\n", sh->user);
}

APPLET(ap_whoami)
{
	(void)argc, (void)argv, (void)err;
	return bprintf(out, "%s\n", sh->user);
}

APPLET(ap_hostname)
{
	(void)err;
	if (argc > 1 && argv[1][0] != '-') {
		snprintf(sh->hostname, sizeof(sh->hostname), "%s", argv[1]);
		return 0;
	}
	return bprintf(out, "%s\n", sh->hostname);
}

APPLET(ap_ifconfig)
{
	(void)argc, (void)argv, (void)err;
	uint8_t mac[6] = { 0x00, 0x12, 0x16, 0x00, 0x00, 0x01 };
	if (sh->dev != NULL)
		memcpy(mac, sh->dev->mac, 6);
	uint64_t seed = dev_seed(sh);
	unsigned host = (unsigned)rnd(sh, R_NET, 0, 2, 250);
	/* Packet counters grow with the uptime (a few packets a second, per instance rate). */
	unsigned long long rxp = uptime_secs(sh) * rnd(sh, R_NET, 1, 2, 40) + rnd(sh, R_NET, 2, 0, 9999),
	                   txp = rxp * rnd(sh, R_NET, 3, 40, 90) / 100;
	return bprintf(out,
	               "eth0      Link encap:Ethernet  HWaddr %02X:%02X:%02X:%02X:%02X:%02X  \n"
	               "          inet addr:192.168.1.%u  Bcast:192.168.1.255  Mask:255.255.255.0\n"
	               "          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1\n"
	               "          RX packets:%llu errors:0 dropped:0 overruns:0 frame:0\n"
	               "          TX packets:%llu errors:0 dropped:0 overruns:0 carrier:0\n"
	               "          collisions:0 txqueuelen:1000 \n"
	               "          RX bytes:%llu  TX bytes:%llu \n"
	               "          Interrupt:%u \n\n"
	               "lo        Link encap:Local Loopback  \n"
	               "          inet addr:127.0.0.1  Mask:255.0.0.0\n"
	               "          UP LOOPBACK RUNNING  MTU:65536  Metric:1\n"
	               "          RX packets:%llu errors:0 dropped:0 overruns:0 frame:0\n"
	               "          TX packets:%llu errors:0 dropped:0 overruns:0 carrier:0\n"
	               "          collisions:0 txqueuelen:0 \n"
	               "          RX bytes:%llu  TX bytes:%llu \n\n",
	               mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], host, rxp, txp, rxp * 412, txp * 836,
	               20 + (unsigned)(seed % 40), rxp / 97, rxp / 97, rxp / 97 * 64, rxp / 97 * 64);
}

/* URL host and port as wget prints them. */
static void
url_host(const char *url, char *host, size_t hostlen, unsigned *port)
{
	const char *p = strstr(url, "://");
	*port = 80;
	if (p != NULL) {
		if (strncmp(url, "https", 5) == 0)
			*port = 443;
		else if (strncmp(url, "ftp", 3) == 0)
			*port = 21;
		p += 3;
	} else {
		p = url;
	}
	const char *at = strchr(p, '@');
	const char *slash = strchr(p, '/');
	if (at != NULL && (slash == NULL || at < slash))
		p = at + 1;
	size_t n = strcspn(p, "/:?#");
	if (p[n] == ':')
		*port = (unsigned)strtoul(p + n + 1, NULL, 10) & 0xffff;
	if (n >= hostlen)
		n = hostlen - 1;
	memcpy(host, p, n);
	host[n] = '\0';
}

APPLET(ap_wget)
{
	(void)out;
	bool quiet = false;
	int nurl = 0, r = 0;
	for (int i = 1; i < argc && r == 0; i++) {
		const char *a = argv[i];
		if (a[0] == '-') {
			quiet = quiet || (a[1] != '-' && strchr(a, 'q') != NULL) || strcmp(a, "--quiet") == 0;
			if ((strcmp(a, "-O") == 0 || strcmp(a, "-P") == 0 || strcmp(a, "-U") == 0 || strcmp(a, "-T") == 0 ||
			     strcmp(a, "-Y") == 0 || strcmp(a, "--header") == 0) && i + 1 < argc)
				i++;
			continue;
		}
		nurl++;
		event(sh, "download", a);
		if (strncmp(a, "http://", 7) != 0 && strncmp(a, "https://", 8) != 0 && strncmp(a, "ftp://", 6) != 0) {
			/* busybox wget takes only http:// and ftp:// (https:// in newer builds) */
			r = bprintf(err, "wget: not an http or ftp url: %s\n", a);
			break;
		}
		char host[256];
		unsigned port;
		url_host(a, host, sizeof(host), &port);
		if (!quiet)
			r = bprintf(err, "Connecting to %s (%s:%u)\n", host, host, port);
		if (r == 0)
			r = bprintf(err, "wget: can't connect to remote host (%s): Connection refused\n", host);
		break;
	}
	if (r == 0 && nurl == 0)
		r = bputs(err, "BusyBox v1 multi-call binary.\n\n"
		               "Usage: wget [-c|--continue] [-s|--spider] [-q|--quiet] [-O|--output-document FILE]\n"
		               "\t[--header 'header: value'] [-Y|--proxy on/off] [-P DIR]\n"
		               "\t[-U|--user-agent AGENT] [-T SEC] URL...\n\n"
		               "Retrieve files via HTTP or FTP\n");
	return r != 0 ? r : 1;
}

APPLET(ap_tftp)
{
	(void)out;
	const char *remote = NULL, *local = NULL, *host = NULL, *port = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0) {
			/* tftp-hpa's `tftp HOST -c get FILE` (Gafgyt droppers): busybox refuses the option,
			 * but the URL it names is evidence. */
			const char *h = NULL, *file = NULL;
			for (int k = 1; k < argc; k++) {
				if (strcmp(argv[k], "-c") == 0)
					continue;
				if (strcmp(argv[k], "get") == 0 && k + 1 < argc) {
					file = argv[++k];
					continue;
				}
				if (h == NULL && argv[k][0] != '-')
					h = argv[k];
			}
			if (h != NULL && file != NULL) {
				char url[SH_WORD_MAX];
				snprintf(url, sizeof(url), "tftp://%s/%s", h, file);
				event(sh, "download", url);
			}
			int r = bputs(err, "tftp: invalid option -- 'c'\nBusyBox v1 multi-call binary.\n\n"
			                   "Usage: tftp [OPTIONS] HOST [PORT]\n\n"
			                   "Transfer a file from/to tftp server\n");
			return r != 0 ? r : 1;
		}
		if ((strcmp(a, "-r") == 0 || strcmp(a, "-l") == 0 || strcmp(a, "-b") == 0) && i + 1 < argc) {
			if (a[1] == 'r')
				remote = argv[i + 1];
			else if (a[1] == 'l')
				local = argv[i + 1];
			i++;
		} else if (a[0] == '-') {
			if (strcmp(a, "-g") != 0 && strcmp(a, "-p") != 0) {
				int r = bprintf(err, "tftp: invalid option -- '%s'\n", a + 1);
				return r != 0 ? r : 1;
			}
		} else if (host == NULL) {
			host = a;
		} else if (port == NULL) {
			port = a;
		}
	}
	if (host == NULL) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\n"
		                   "Usage: tftp [OPTIONS] HOST [PORT]\n\n"
		                   "Transfer a file from/to tftp server\n\n"
		                   "\t-l FILE\tLocal FILE\n\t-r FILE\tRemote FILE\n\t-g\tGet file\n\t-p\tPut file\n");
		return r != 0 ? r : 1;
	}
	char url[SH_WORD_MAX];
	snprintf(url, sizeof(url), "tftp://%s%s%s/%s", host, port != NULL ? ":" : "", port != NULL ? port : "",
	         remote != NULL ? remote : (local != NULL ? local : ""));
	event(sh, "download", url);
	int r = bputs(err, "tftp: timeout\n");
	return r != 0 ? r : 1;
}

APPLET(ap_ftpget)
{
	(void)out;
	const char *pos[3] = { NULL, NULL, NULL };
	int np = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-') {
			if ((strcmp(a, "-u") == 0 || strcmp(a, "-p") == 0 || strcmp(a, "-P") == 0) && i + 1 < argc)
				i++;
			continue;
		}
		if (np < 3)
			pos[np++] = a;
	}
	if (np < 2) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\n"
		                   "Usage: ftpget [OPTIONS] HOST [LOCAL_FILE] REMOTE_FILE\n\n"
		                   "Download a file via FTP\n");
		return r != 0 ? r : 1;
	}
	char url[1024];
	snprintf(url, sizeof(url), "ftp://%s/%s", pos[0], pos[np - 1]);
	event(sh, "download", url);
	int r = bprintf(err, "ftpget: can't connect to remote host (%s): Connection refused\n", pos[0]);
	return r != 0 ? r : 1;
}

/* stdin or the named files, as one buffer (head/tail/grep/wc). */
static int
input_of(struct emu_shell *sh, const char *file, struct toride_buf *dst, struct toride_buf *err, const char *who)
{
	if (file == NULL)
		return sh->in != NULL ? bput(dst, sh->in, sh->inlen) : 0;
	return cat_one(sh, file, dst, err, who);
}

static long
count_opt(int argc, char **argv, int *i, long def)
{
	const char *a = argv[*i];
	if (strcmp(a, "-n") == 0 && *i + 1 < argc)
		return strtol(argv[++*i], NULL, 10);
	if (strncmp(a, "-n", 2) == 0)
		return strtol(a + 2, NULL, 10);
	if (a[1] >= '0' && a[1] <= '9')
		return strtol(a + 1, NULL, 10);
	return def;
}

static int
head_tail(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out, struct toride_buf *err, bool head)
{
	long lines = 10;
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			lines = count_opt(argc, argv, &i, lines);
		else
			file = argv[i];
	}
	struct toride_buf in;
	toride_buf_init(&in, EMU_SHELL_OUT_MAX);
	int r = input_of(sh, file, &in, err, head ? "head" : "tail");
	if (r != 0) {
		toride_buf_free(&in);
		return r;
	}
	size_t start = 0, end = in.len;
	if (lines < 0)
		lines = 0;
	if (head) {
		long k = 0;
		for (end = 0; end < in.len && k < lines; end++)
			if (in.data[end] == '\n')
				k++;
	} else {
		long k = 0;
		size_t i = in.len;
		if (i > 0 && in.data[i - 1] == '\n')
			i--;
		while (i > 0) {
			if (in.data[i - 1] == '\n' && ++k >= lines)
				break;
			i--;
		}
		start = lines == 0 ? in.len : i;
	}
	r = end > start ? bput(out, in.data + start, end - start) : 0;
	toride_buf_free(&in);
	return r;
}

APPLET(ap_head)
{
	return head_tail(sh, argc, argv, out, err, true);
}

APPLET(ap_tail)
{
	return head_tail(sh, argc, argv, out, err, false);
}

static bool
contains(const char *hay, size_t hn, const char *needle, bool icase)
{
	size_t nn = strlen(needle);
	if (nn == 0)
		return true;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t k = 0;
		for (; k < nn; k++) {
			char a = hay[i + k], b = needle[k];
			if (icase) {
				a = (char)(a >= 'A' && a <= 'Z' ? a + 32 : a);
				b = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
			}
			if (a != b)
				break;
		}
		if (k == nn)
			return true;
	}
	return false;
}

APPLET(ap_grep)
{
	bool inv = false, icase = false, count = false, quiet = false;
	const char *pat = NULL, *file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] != '\0' && pat == NULL) {
			if (strcmp(a, "-e") == 0 && i + 1 < argc) {
				pat = argv[++i];
				continue;
			}
			inv = inv || strchr(a, 'v') != NULL;
			icase = icase || strchr(a, 'i') != NULL;
			count = count || strchr(a, 'c') != NULL;
			quiet = quiet || strchr(a, 'q') != NULL;
		} else if (pat == NULL) {
			pat = a;
		} else if (file == NULL) {
			file = a;
		}
	}
	if (pat == NULL) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: grep [-HhnlLoqvsriwFE] [-m N] [-A/B/C N] PATTERN/-e PATTERN.../-f FILE [FILE]...\n");
		return r != 0 ? r : 2;
	}
	/* Patterns are matched as fixed strings; ^ and $ anchors are dropped (good enough for
	 * `grep -v grep` and `grep ^root` in interactive use). */
	char p2[SH_WORD_MAX];
	snprintf(p2, sizeof(p2), "%s", pat[0] == '^' ? pat + 1 : pat);
	size_t pl = strlen(p2);
	if (pl > 0 && p2[pl - 1] == '$')
		p2[pl - 1] = '\0';
	struct toride_buf in;
	toride_buf_init(&in, EMU_SHELL_OUT_MAX);
	int r = input_of(sh, file, &in, err, "grep");
	if (r != 0) {
		toride_buf_free(&in);
		return r < 0 ? r : 2;
	}
	unsigned matches = 0;
	size_t i = 0;
	while (i < in.len && r == 0) {
		const uint8_t *nl = memchr(in.data + i, '\n', in.len - i);
		size_t e = nl != NULL ? (size_t)(nl - in.data) : in.len;
		bool m = contains((const char *)in.data + i, e - i, p2, icase) != inv;
		if (m) {
			matches++;
			if (!count && !quiet) {
				r = bput(out, in.data + i, e - i);
				if (r == 0)
					r = bput(out, "\n", 1);
			}
		}
		i = e + 1;
	}
	if (r == 0 && count)
		r = bprintf(out, "%u\n", matches);
	toride_buf_free(&in);
	return r != 0 ? r : matches > 0 ? 0 : 1;
}

APPLET(ap_wc)
{
	bool l = false, w = false, c = false;
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			l = l || strchr(argv[i], 'l') != NULL;
			w = w || strchr(argv[i], 'w') != NULL;
			c = c || strchr(argv[i], 'c') != NULL;
		} else {
			file = argv[i];
		}
	}
	if (!l && !w && !c)
		l = w = c = true;
	struct toride_buf in;
	toride_buf_init(&in, EMU_SHELL_OUT_MAX);
	int r = input_of(sh, file, &in, err, "wc");
	if (r != 0) {
		toride_buf_free(&in);
		return r < 0 ? r : 1;
	}
	size_t nl = 0, nw = 0;
	bool inword = false;
	for (size_t i = 0; i < in.len; i++) {
		uint8_t ch = in.data[i];
		nl += ch == '\n';
		bool sp = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
		if (!sp && !inword)
			nw++;
		inword = !sp;
	}
	char line[128];
	size_t o = 0;
	line[0] = '\0';
	if (l)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%9zu", nl);
	if (w)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%9zu", o ? " " : "", nw);
	if (c)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%9zu", o ? " " : "", in.len);
	r = bprintf(out, "%s%s%s\n", line, file != NULL ? " " : "", file != NULL ? file : "");
	toride_buf_free(&in);
	return r;
}

/* test / [ : the forms scripts use. Returns 0 true, 1 false, 2 error. */
static int
test_eval(struct emu_shell *sh, int argc, char **argv)
{
	if (argc == 0)
		return 1;
	if (strcmp(argv[0], "!") == 0)
		return test_eval(sh, argc - 1, argv + 1) == 0 ? 1 : 0;
	if (argc == 1)
		return argv[0][0] != '\0' ? 0 : 1;
	if (argc == 2) {
		const char *op = argv[0], *a = argv[1];
		if (strcmp(op, "-z") == 0)
			return a[0] == '\0' ? 0 : 1;
		if (strcmp(op, "-n") == 0)
			return a[0] != '\0' ? 0 : 1;
		struct emu_vnode *nd = lookup(sh, a);
		if (strcmp(op, "-e") == 0)
			return nd != NULL ? 0 : 1;
		if (strcmp(op, "-f") == 0)
			return nd != NULL && nd->type == EMU_V_FILE ? 0 : 1;
		if (strcmp(op, "-d") == 0)
			return nd != NULL && nd->type == EMU_V_DIR ? 0 : 1;
		if (strcmp(op, "-x") == 0)
			return nd != NULL && (nd->mode & 0111) ? 0 : 1;
		if (strcmp(op, "-s") == 0)
			return nd != NULL && emu_vfs_size(nd) > 0 ? 0 : 1;
		if (strcmp(op, "-r") == 0 || strcmp(op, "-w") == 0)
			return nd != NULL ? 0 : 1;
		return 2;
	}
	const char *a = argv[0], *op = argv[1], *b = argv[2];
	if (strcmp(op, "=") == 0 || strcmp(op, "==") == 0)
		return strcmp(a, b) == 0 ? 0 : 1;
	if (strcmp(op, "!=") == 0)
		return strcmp(a, b) != 0 ? 0 : 1;
	long x = strtol(a, NULL, 10), y = strtol(b, NULL, 10);
	if (strcmp(op, "-eq") == 0)
		return x == y ? 0 : 1;
	if (strcmp(op, "-ne") == 0)
		return x != y ? 0 : 1;
	if (strcmp(op, "-lt") == 0)
		return x < y ? 0 : 1;
	if (strcmp(op, "-le") == 0)
		return x <= y ? 0 : 1;
	if (strcmp(op, "-gt") == 0)
		return x > y ? 0 : 1;
	if (strcmp(op, "-ge") == 0)
		return x >= y ? 0 : 1;
	return 2;
}

APPLET(ap_test)
{
	(void)out;
	if (strcmp(argv[0], "[") == 0) {
		if (argc < 2 || strcmp(argv[argc - 1], "]") != 0) {
			int r = bputs(err, "sh: missing ]\n");
			return r != 0 ? r : 2;
		}
		argc--;
	}
	return test_eval(sh, argc - 1, argv + 1);
}

APPLET(ap_true)
{
	(void)sh, (void)argc, (void)argv, (void)out, (void)err;
	return 0;
}

APPLET(ap_false)
{
	(void)sh, (void)argc, (void)argv, (void)out, (void)err;
	return 1;
}

APPLET(ap_date)
{
	(void)argc, (void)argv, (void)err;
	time_t t = (time_t)sh->now;
	struct tm tm;
	gmtime_r(&t, &tm);
	char s[64];
	strftime(s, sizeof(s), "%a %b %e %H:%M:%S UTC %Y", &tm);
	return bprintf(out, "%s\n", s);
}

APPLET(ap_df)
{
	(void)argc, (void)argv, (void)err;
	unsigned tot = mem_total_kb(sh) / 2;
	return bprintf(out,
	               "Filesystem           1K-blocks      Used Available Use%% Mounted on\n"
	               "/dev/root                 6912      6912         0 100%% /\n"
	               "tmpfs                %9u %9u %9u %3u%% /dev\n"
	               "tmpfs                %9u %9zu %9zu %3u%% /tmp\n",
	               tot, 0u, tot, 0u, tot, sh->fs.user_bytes / 1024, tot - sh->fs.user_bytes / 1024,
	               (unsigned)(sh->fs.user_bytes / 1024 * 100 / (tot ? tot : 1)));
}

APPLET(ap_mount)
{
	(void)err;
	if (argc > 1) {
		int r = bprintf(err, "mount: mounting %s on %s failed: Operation not permitted\n", argv[1],
		                argc > 2 ? argv[2] : argv[1]);
		return r != 0 ? r : 1;
	}
	(void)sh;
	return gen_mounts(out);
}

APPLET(ap_nop)
{
	(void)sh, (void)argc, (void)argv, (void)out, (void)err;
	return 0;
}

APPLET(ap_env)
{
	(void)argc, (void)argv, (void)err;
	int r = bprintf(out, "USER=%s\nHOSTNAME=%s\nPWD=%s\n", sh->user, sh->hostname, sh->cwd);
	for (size_t i = 0; i < sh->nvars && r == 0; i++)
		r = bprintf(out, "%s=%s\n", sh->vars[i].name, sh->vars[i].value);
	return r;
}

APPLET(ap_export)
{
	(void)out, (void)err;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i])
			continue;
		*eq = '\0';
		int r = var_set(sh, argv[i], eq + 1);
		*eq = '=';
		if (r == TORIDE_ENOMEM)
			return r;
	}
	return 0;
}

APPLET(ap_unset)
{
	(void)out, (void)err;
	for (int i = 1; i < argc; i++)
		var_unset(sh, argv[i]);
	return 0;
}

APPLET(ap_exit)
{
	(void)out, (void)err;
	int st = argc > 1 ? atoi(argv[1]) & 0xff : sh->status;
	if (sh->in_script > 0)
		sh->script_exit = true; /* ends the script, not the session */
	else if (sh->sh_level > 0)
		sh->sh_level--;
	else
		sh->close = true;
	sh->abort = true;
	return st;
}

/* `sh -c STRING`, `sh FILE [ARGS]`, commands piped into `sh`, or an interactive sh. */
APPLET(ap_sh)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			int r = run_script(sh, argv[i + 1], strlen(argv[i + 1]), out);
			return r != 0 ? r : sh->status;
		}
		if (argv[i][0] != '-') {
			char path[EMU_VFS_PATH_MAX];
			struct emu_vnode *nd = NULL;
			if (resolve(sh, argv[i], path, sizeof(path)))
				nd = emu_vfs_find(&sh->fs, path);
			if (nd == NULL || nd->type == EMU_V_DIR) {
				int r = bprintf(err, "sh: can't open '%s': %s\n", argv[i],
				                nd == NULL ? "No such file or directory" : "Is a directory");
				return r != 0 ? r : 2;
			}
			if (nd->data != NULL) {
				/* A script the client wrote: evidence first, then it runs (interpreted). */
				file_evidence(sh, nd);
				exec_event(sh, path, argc - i - 1, argv + i + 1);
			}
			const uint8_t *cp;
			size_t cn;
			int r = file_contents(sh, nd, &cp, &cn);
			if (r == 0)
				r = run_script(sh, (const char *)cp, cn, out);
			return r != 0 ? r : sh->status;
		}
	}
	if (sh->in != NULL) {
		/* `... | sh`: the commands come from stdin. */
		const uint8_t *in = sh->in;
		size_t inlen = sh->inlen;
		sh->in = NULL;
		sh->inlen = 0;
		int r = run_script(sh, (const char *)in, inlen, out);
		return r != 0 ? r : sh->status;
	}
	/* An interactive sh inside the session: `exit` leaves it. */
	if (sh->sh_level < EMU_SHELL_DEPTH_MAX)
		sh->sh_level++;
	return 0;
}

/* `. FILE` / `source FILE`: run a file's commands in this shell (cd sticks). */
APPLET(ap_source)
{
	if (argc < 2) {
		int r = bprintf(err, "sh: %s: filename argument required\n", argv[0]);
		return r != 0 ? r : 2;
	}
	char path[EMU_VFS_PATH_MAX];
	struct emu_vnode *nd = NULL;
	if (resolve(sh, argv[1], path, sizeof(path)))
		nd = emu_vfs_find(&sh->fs, path);
	if (nd == NULL || nd->type == EMU_V_DIR) {
		int r = bprintf(err, "sh: %s: can't open '%s'\n", argv[0], argv[1]);
		return r != 0 ? r : 2;
	}
	if (nd->data != NULL) {
		file_evidence(sh, nd);
		exec_event(sh, path, argc - 2, argv + 2);
	}
	const uint8_t *cp;
	size_t cn;
	int r = file_contents(sh, nd, &cp, &cn);
	if (r == 0)
		r = run_script_in(sh, (const char *)cp, cn, out, false);
	return r != 0 ? r : sh->status;
}

/* read [-r] [-p PROMPT] [NAME...]: one line of stdin (a pipe or `done < file`) into variables. */
APPLET(ap_read)
{
	(void)out;
	bool raw = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strchr(argv[i], 'r') != NULL)
			raw = true;
		if (strpbrk(argv[i], "ptnu") != NULL && i + 1 < argc)
			i++;
	}
	char line[SH_VAR_VALUE_MAX];
	size_t ll = 0;
	bool got_nl = false;
	if (sh->in != NULL) {
		size_t k = 0;
		while (k < sh->inlen) {
			char c = (char)sh->in[k++];
			if (c == '\n') {
				got_nl = true;
				break;
			}
			if (!raw && c == '\\' && k < sh->inlen) {
				c = (char)sh->in[k++];
				if (c == '\n')
					continue; /* a line continuation */
			}
			if (c != '\0' && ll + 1 < sizeof(line))
				line[ll++] = c;
		}
		sh->in += k;
		sh->inlen -= k;
	}
	line[ll] = '\0';
	const char *names[SH_ARGS_MAX];
	int nn = 0;
	for (; i < argc && nn < SH_ARGS_MAX; i++)
		names[nn++] = argv[i];
	if (nn == 0)
		names[nn++] = "REPLY";
	/* IFS splitting: each name takes a field, the last one the rest of the line. */
	char *q = line;
	for (int k = 0; k < nn; k++) {
		while (*q == ' ' || *q == '\t')
			q++;
		char *val = q;
		if (k + 1 < nn) {
			while (*q != '\0' && *q != ' ' && *q != '\t')
				q++;
			if (*q != '\0')
				*q++ = '\0';
		} else {
			size_t vl = strlen(val);
			while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
				val[--vl] = '\0';
		}
		int r = var_set(sh, names[k], val);
		if (r == TORIDE_ENOMEM)
			return r;
		if (r != 0 && bprintf(err, "sh: read: '%s': bad variable name\n", names[k]) != 0)
			return TORIDE_ENOMEM;
	}
	return got_nl ? 0 : 1;
}

APPLET(ap_which)
{
	(void)err;
	int st = 0;
	for (int i = 1; i < argc; i++) {
		const struct applet *a = applet_find(argv[i]);
		if (a == NULL || a->dir == NULL) {
			st = 1;
			continue;
		}
		int r = bprintf(out, "%s/%s\n", a->dir, a->name);
		if (r != 0)
			return r;
	}
	(void)sh;
	return st;
}

APPLET(ap_sleep)
{
	/* No real waiting: a session never blocks the fleet's event loop. */
	(void)sh, (void)out;
	if (argc < 2) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: sleep [N]...\n");
		return r != 0 ? r : 1;
	}
	return 0;
}

/* dd if= of= bs= count= skip=: what loaders use to read an ELF header (`dd bs=52 count=1 if=.s`)
 * and to write droppers. The statistics go to stderr as busybox prints them. */
APPLET(ap_dd)
{
	const char *ifile = NULL, *ofile = NULL;
	unsigned long long bs = 512, count = ~0ULL, skip = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end = NULL;
		if (strncmp(a, "if=", 3) == 0) {
			ifile = a + 3;
		} else if (strncmp(a, "of=", 3) == 0) {
			ofile = a + 3;
		} else if (strncmp(a, "bs=", 3) == 0 || strncmp(a, "count=", 6) == 0 || strncmp(a, "skip=", 5) == 0 ||
		           strncmp(a, "ibs=", 4) == 0 || strncmp(a, "obs=", 4) == 0) {
			const char *v = strchr(a, '=') + 1;
			unsigned long long x = strtoull(v, &end, 10);
			if (end == v || (*end != '\0' && strchr("kKMbc", *end) == NULL)) {
				int r = bprintf(err, "dd: invalid number '%s'\n", v);
				return r != 0 ? r : 1;
			}
			if (*end == 'k' || *end == 'K')
				x *= 1024;
			else if (*end == 'M')
				x *= 1024 * 1024;
			else if (*end == 'b')
				x *= 512;
			if (a[0] == 'c')
				count = x;
			else if (a[0] == 's')
				skip = x;
			else if (x > 0)
				bs = x;
		} else if (strncmp(a, "conv=", 5) != 0 && strncmp(a, "seek=", 5) != 0) {
			int r = bprintf(err, "dd: invalid argument '%s'\n", a);
			return r != 0 ? r : 1;
		}
	}
	struct toride_buf in;
	toride_buf_init(&in, EMU_SHELL_OUT_MAX);
	int r = 0;
	if (ifile != NULL) {
		r = cat_one(sh, ifile, &in, err, "dd");
		if (r != 0) {
			toride_buf_free(&in);
			return r < 0 ? r : 1;
		}
	} else if (sh->in != NULL) {
		r = bput(&in, sh->in, sh->inlen);
	}
	size_t start = skip * bs < in.len ? (size_t)(skip * bs) : in.len;
	size_t avail = in.len - start;
	unsigned long long want = count == ~0ULL || bs > ~0ULL / (count ? count : 1) ? ~0ULL : bs * count;
	size_t n = want < avail ? (size_t)want : avail;
	unsigned long long full = n / bs, part = n % bs ? 1 : 0;
	int st = 0;
	if (r == 0 && ofile != NULL) {
		struct emu_vnode *nd = NULL;
		int e = open_write(sh, ofile, false, &nd);
		if (e < 0) {
			r = e;
		} else if (e > 0) {
			r = bprintf(err, "dd: can't open '%s': %s\n", ofile, emu_vfs_strerror(e));
			st = 1;
		} else if (nd->type == EMU_V_FILE) {
			event(sh, "write", nd->path);
			e = emu_vfs_append(&sh->fs, nd, in.data != NULL ? in.data + start : NULL, n);
			if (e < 0)
				r = e;
			else if (e > 0)
				r = bprintf(err, "dd: error writing '%s': %s\n", ofile, emu_vfs_strerror(e)), st = 1;
		}
	} else if (r == 0 && n > 0) {
		r = bput(out, in.data + start, n);
	}
	toride_buf_free(&in);
	if (r == 0 && st == 0) {
		unsigned us = 40 + (unsigned)(n / 3000);
		r = bprintf(err, "%llu+%llu records in\n%llu+%llu records out\n", full, part, full, part);
		if (r == 0 && n < 1024)
			r = bprintf(err, "%zu bytes (%zuB) copied, 0.%06u seconds, %.1fKB/s\n", n, n, us,
			            (double)n / 1024.0 / ((double)us / 1e6));
		else if (r == 0)
			r = bprintf(err, "%zu bytes (%.1fKB) copied, 0.%06u seconds, %.1fMB/s\n", n, (double)n / 1024.0, us,
			            (double)n / 1048576.0 / ((double)us / 1e6));
	}
	return r != 0 ? r : st;
}

/* ln [-s] [-f] TARGET LINK: the link is made as a copy of the target (a program linked to a new
 * name runs as that name, as busybox's links do). A dangling symbolic link makes nothing. */
APPLET(ap_ln)
{
	(void)out;
	const char *files[3] = { NULL, NULL, NULL };
	int n = 0;
	bool sym = false;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			sym = sym || strchr(argv[i], 's') != NULL;
		else if (n < 3)
			files[n++] = argv[i];
	}
	if (n < 1) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: ln [OPTIONS] TARGET... LINK|DIR\n");
		return r != 0 ? r : 1;
	}
	const char *dst = n > 1 ? files[1] : base_name(files[0]);
	if (lookup(sh, files[0]) == NULL)
		return sym ? 0 : (bprintf(err, "ln: %s: No such file or directory\n", files[0]) != 0 ? TORIDE_ENOMEM : 1);
	struct toride_buf e2;
	toride_buf_init(&e2, 1024);
	int r = copy_file(sh, files[0], dst, false, &e2);
	if (r > 0 && e2.len > 4) {
		/* cp's complaint ("cp: ...") as ln's. */
		int w = bputs(err, "ln: ");
		if (w == 0)
			w = bput(err, e2.data + 4, e2.len - 4);
		if (w != 0)
			r = w;
	}
	toride_buf_free(&e2);
	return r;
}

/* nc HOST PORT: a connection attempt, recorded as "tcp://HOST:PORT" and refused (the sensor never
 * connects anywhere). Listening (-l) is accepted and returns at once. */
APPLET(ap_nc)
{
	(void)out;
	const char *pos[2] = { NULL, NULL };
	int np = 0;
	bool listen = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] != '\0') {
			listen = listen || strchr(a, 'l') != NULL;
			if ((strcmp(a, "-p") == 0 || strcmp(a, "-e") == 0 || strcmp(a, "-w") == 0 || strcmp(a, "-i") == 0 ||
			     strcmp(a, "-s") == 0) && i + 1 < argc)
				i++;
			continue;
		}
		if (np < 2)
			pos[np++] = a;
	}
	if (listen)
		return 0;
	if (np < 2) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT  - connect\n"
		                   "nc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen\n");
		return r != 0 ? r : 1;
	}
	char url[SH_WORD_MAX];
	snprintf(url, sizeof(url), "tcp://%s:%s", pos[0], pos[1]);
	event(sh, "download", url);
	int r = bprintf(err, "nc: can't connect to remote host (%s): Connection refused\n", pos[0]);
	return r != 0 ? r : 1;
}

/* nohup CMD ARGS: CMD runs (emulated), its output goes to nohup.out as on a terminal. */
APPLET(ap_nohup)
{
	if (argc < 2) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: nohup PROG ARGS\n");
		return r != 0 ? r : 1;
	}
	struct toride_buf o2;
	toride_buf_init(&o2, EMU_SHELL_OUT_MAX);
	int st = dispatch(sh, argc - 1, argv + 1, &o2, err);
	(void)out;
	if (st >= 0 && o2.len > 0) {
		int fr = flush_to_file(sh, "nohup.out", true, &o2, err);
		if (fr < 0)
			st = fr;
	}
	toride_buf_free(&o2);
	if (st >= 0) {
		int r = bputs(err, "nohup: appending output to nohup.out\n");
		if (r != 0)
			st = r;
	}
	return st;
}

/* seq [FIRST [INC]] LAST (integers): output stops when the line's output cap is full. */
APPLET(ap_seq)
{
	(void)err;
	long long v[3] = { 1, 1, 0 };
	int n = 0;
	for (int i = 1; i < argc && n < 3; i++) {
		char *end;
		long long x = strtoll(argv[i], &end, 10);
		if (end == argv[i] || *end != '\0') {
			int r = bprintf(err, "seq: invalid number '%s'\n", argv[i]);
			return r != 0 ? r : 1;
		}
		v[n++] = x;
	}
	if (n == 0) {
		int r = bputs(err, "BusyBox v1 multi-call binary.\n\nUsage: seq [-w] [-s SEP] [FIRST [INC]] LAST\n");
		return r != 0 ? r : 1;
	}
	long long first = n == 1 ? 1 : v[0], inc = n == 3 ? v[1] : 1, last = v[n - 1];
	if (inc == 0)
		return 0;
	int r = 0;
	for (long long x = first; r == 0 && out->len < out->max && (inc > 0 ? x <= last : x >= last); x += inc) {
		r = bprintf(out, "%lld\n", x);
		if ((inc > 0 && x > LLONG_MAX - inc) || (inc < 0 && x < LLONG_MIN - inc))
			break;
	}
	return r;
}

static int busybox_main(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out, struct toride_buf *err);

APPLET(ap_busybox)
{
	return busybox_main(sh, argc, argv, out, err);
}

/* Sorted by name: `busybox --help` lists them in this order. */
const struct applet sh_applets[] = {
	{ ".", ap_source, NULL },
	{ ":", ap_true, NULL },
	{ "[", ap_test, "/usr/bin" },
	{ "ash", ap_sh, "/bin" },
	{ "busybox", ap_busybox, NULL },
	{ "cat", ap_cat, "/bin" },
	{ "cd", ap_cd, NULL },
	{ "chmod", ap_chmod, "/bin" },
	{ "chown", ap_nop, "/bin" },
	{ "cp", ap_cp, "/bin" },
	{ "date", ap_date, "/bin" },
	{ "dd", ap_dd, "/bin" },
	{ "df", ap_df, "/bin" },
	{ "dmesg", ap_dmesg, "/bin" },
	{ "echo", ap_echo, "/bin" },
	{ "env", ap_env, "/usr/bin" },
	{ "exit", ap_exit, NULL },
	{ "export", ap_export, NULL },
	{ "false", ap_false, "/bin" },
	{ "free", ap_free, "/usr/bin" },
	{ "ftpget", ap_ftpget, "/usr/bin" },
	{ "grep", ap_grep, "/bin" },
	{ "head", ap_head, "/usr/bin" },
	{ "hostname", ap_hostname, "/bin" },
	{ "id", ap_id, "/usr/bin" },
	{ "ifconfig", ap_ifconfig, "/sbin" },
	{ "kill", ap_kill, "/bin" },
	{ "killall", ap_nop, "/usr/bin" },
	{ "ln", ap_ln, "/bin" },
	{ "logout", ap_exit, NULL },
	{ "ls", ap_ls, "/bin" },
	{ "mkdir", ap_mkdir, "/bin" },
	{ "mount", ap_mount, "/bin" },
	{ "mv", ap_mv, "/bin" },
	{ "nc", ap_nc, "/usr/bin" },
	{ "nohup", ap_nohup, "/usr/bin" },
	{ "ps", ap_ps, "/bin" },
	{ "pwd", ap_pwd, "/bin" },
	{ "read", ap_read, NULL },
	{ "reboot", ap_nop, "/sbin" },
	{ "rm", ap_rm, "/bin" },
	{ "rmdir", ap_rmdir, "/bin" },
	{ "seq", ap_seq, "/usr/bin" },
	{ "sh", ap_sh, "/bin" },
	{ "sleep", ap_sleep, "/bin" },
	{ "source", ap_source, NULL },
	{ "sync", ap_nop, "/bin" },
	{ "tail", ap_tail, "/usr/bin" },
	{ "test", ap_test, "/usr/bin" },
	{ "tftp", ap_tftp, "/usr/bin" },
	{ "touch", ap_touch, "/bin" },
	{ "true", ap_true, "/bin" },
	{ "uname", ap_uname, "/bin" },
	{ "unset", ap_unset, NULL },
	{ "uptime", ap_uptime, "/usr/bin" },
	{ "wc", ap_wc, "/usr/bin" },
	{ "wget", ap_wget, "/usr/bin" },
	{ "which", ap_which, "/usr/bin" },
	{ "whoami", ap_whoami, "/usr/bin" },
};
const size_t sh_napplets = sizeof(sh_applets) / sizeof(sh_applets[0]);

static const struct applet *
applet_find(const char *name)
{
	for (size_t i = 0; i < sh_napplets; i++)
		if (strcmp(sh_applets[i].name, name) == 0)
			return &sh_applets[i];
	return NULL;
}

/* Shell builtins work without busybox; applets (a->dir != NULL) run through it. */
static bool
is_builtin(const struct applet *a)
{
	static const char *const b[] = { "cd", "exit", "logout", "export", "unset", "echo", "pwd", "true",
		                         "false", "test", "[", "kill", "sh", "ash", ":", ".", "source", "read" };
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (strcmp(a->name, b[i]) == 0)
			return true;
	return false;
}

static int
busybox_main(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out, struct toride_buf *err)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		int r = bprintf(out,
		                "%s\nBusyBox is copyrighted by many authors between 1998-2012.\n"
		                "Licensed under GPLv2. See source distribution for detailed\n"
		                "copyright notices.\n\n"
		                "Usage: busybox [function [arguments]...]\n"
		                "   or: busybox --list[-full]\n"
		                "   or: function [arguments]...\n\n"
		                "\tBusyBox is a multi-call binary that combines many common Unix\n"
		                "\tutilities into a single executable.  Most people will create a\n"
		                "\tlink to busybox for each function they wish to use and BusyBox\n"
		                "\twill act like whatever it was invoked as.\n\n"
		                "Currently defined functions:\n",
		                busybox_banner(sh));
		size_t col = 0;
		bool first = true;
		for (size_t i = 0; i < sh_napplets && r == 0; i++) {
			if (sh_applets[i].dir == NULL)
				continue;
			size_t w = strlen(sh_applets[i].name) + 2;
			if (first || col + w > 78) {
				r = bputs(out, first ? "\t" : ",\n\t");
				col = 8;
			} else {
				r = bputs(out, ", ");
			}
			if (r == 0)
				r = bputs(out, sh_applets[i].name);
			col += w;
			first = false;
		}
		if (r == 0)
			r = bputs(out, "\n\n");
		return r != 0 ? r : 0;
	}
	if (strcmp(argv[1], "--list") == 0 || strcmp(argv[1], "--list-full") == 0) {
		bool full = argv[1][6] == '-';
		int r = 0;
		for (size_t i = 0; i < sh_napplets && r == 0; i++)
			if (sh_applets[i].dir != NULL)
				r = bprintf(out, "%s%s%s\n", full ? sh_applets[i].dir + 1 : "", full ? "/" : "",
				            sh_applets[i].name);
		return r;
	}
	const struct applet *a = applet_find(argv[1]);
	if (a == NULL || a->dir == NULL || strcmp(a->name, "busybox") == 0) {
		int r = bprintf(err, "%s: applet not found\n", argv[1]);
		return r != 0 ? r : 127;
	}
	return a->fn(sh, argc - 1, argv + 1, out, err);
}

/* Run argv: builtins, applets by name, or a program named by path. */
static int
dispatch(struct emu_shell *sh, int argc, char **argv, struct toride_buf *out, struct toride_buf *err)
{
	const char *name = argv[0];
	if (strchr(name, '/') == NULL) {
		const struct applet *a = applet_find(name);
		if (a != NULL && strcmp(name, "busybox") == 0 && !has_busybox(sh))
			a = NULL;
		if (a != NULL && (is_builtin(a) || has_busybox(sh) || a->dir != NULL))
			return a->fn(sh, argc, argv, out, err);
		if (strcmp(name, "curl") == 0) {
			/* Not on the device, but the attempt is evidence: every URL argument (not the
			 * values of curl's options that take one). */
			static const char *const takes[] = { "-o", "-H", "-A", "-u", "-X", "-d", "-e", "-m", "-x", "-T",
				                             "-b", "-c", "-F", "-K", "-r", "-w", "-y", "-Y", "-z",
				                             "--output", "--user-agent", "--header", "--data", "--proxy",
				                             "--connect-timeout", "--max-time", "--retry", "--user" };
			for (int i = 1; i < argc; i++) {
				bool val = false;
				for (size_t k = 0; k < sizeof(takes) / sizeof(takes[0]); k++)
					val = val || strcmp(argv[i], takes[k]) == 0;
				if (val) {
					i++;
					continue;
				}
				if (argv[i][0] != '-' && argv[i][0] != '\0')
					event(sh, "download", argv[i]);
			}
		}
		int r = bprintf(err, "sh: %s: not found\n", name);
		return r != 0 ? r : 127;
	}
	char path[EMU_VFS_PATH_MAX];
	struct emu_vnode *nd = NULL;
	if (resolve(sh, name, path, sizeof(path)))
		nd = emu_vfs_find(&sh->fs, path);
	if (nd == NULL) {
		int r = bprintf(err, "sh: %s: not found\n", name);
		return r != 0 ? r : 127;
	}
	if (nd->type != EMU_V_FILE || (nd->mode & 0111) == 0) {
		int r = bprintf(err, "sh: %s: Permission denied\n", name);
		return r != 0 ? r : 126;
	}
	if (nd->applet != NULL) {
		/* A busybox link runs its applet; the binary itself (or a copy) runs by its own name. */
		const char *an = strcmp(nd->applet, "busybox") == 0 ? base_name(path) : nd->applet;
		if (strcmp(an, "busybox") == 0)
			return busybox_main(sh, argc, argv, out, err);
		const struct applet *a = applet_find(an);
		if (a == NULL || a->dir == NULL) {
			int r = bprintf(err, "%s: applet not found\n", an);
			return r != 0 ? r : 127;
		}
		return a->fn(sh, argc, argv, out, err);
	}
	/* A file a client wrote: its contents go to the observer, the run is recorded. A program
	 * (ELF) is never run; anything else is a script, as the kernel's ENOEXEC makes sh run it,
	 * and is interpreted here. An empty file is an empty script. */
	file_evidence(sh, nd);
	exec_event(sh, path, argc - 1, argv + 1);
	const uint8_t *cp;
	size_t cn;
	int r = file_contents(sh, nd, &cp, &cn);
	if (r != 0)
		return r;
	if (cn == 0 || (cn >= 4 && memcmp(cp, "\x7f" "ELF", 4) == 0))
		return 0;
	r = run_script(sh, (const char *)cp, cn, out);
	return r != 0 ? r : sh->status;
}

/* ---------------------------------------------------------------------------------------- */
/* Public API. */

int
emu_shell_new(struct emu_shell **out, const struct emu_device *dev)
{
	int r = TORIDE_ENOMEM;
	struct emu_shell *sh = calloc(1, sizeof(*sh));
	if (sh == NULL)
		goto out;
	sh->dev = dev;
	if (dev != NULL && dev->obs != NULL && dev->obs->shell_event != NULL) {
		sh->cb = dev->obs->shell_event; /* the honeypot's recorder hears every shell */
		sh->cbarg = dev->obs_arg;
	}
	emu_vfs_init(&sh->fs);
	toride_buf_init(&sh->scratch, EMU_SHELL_OUT_MAX);
	toride_buf_init(&sh->term, EMU_SHELL_OUT_MAX);
	snprintf(sh->cwd, sizeof(sh->cwd), "/");
	snprintf(sh->user, sizeof(sh->user), "root");
	const char *hn = dev != NULL && dev->hostname[0] != '\0' ? dev->hostname
	                 : dev != NULL && dev->profile != NULL && dev->profile->hostname[0] != '\0' ? dev->profile->hostname
	                                                                                         : "localhost";
	snprintf(sh->hostname, sizeof(sh->hostname), "%s", hn);
	sh->pid = (unsigned)rnd(sh, R_PID, 0, 800, 2400);
	const struct emu_profile *p = dev != NULL ? dev->profile : NULL;
	for (size_t i = 0; p != NULL && i < p->nservices && i < EMU_MAX_SERVICES && sh->prompt[0] == '\0'; i++) {
		const struct emu_service *s = &p->services[i];
		if ((s->proto == EMU_TELNET || s->proto == EMU_SSH) && s->shell_prompt[0] != '\0')
			snprintf(sh->prompt, sizeof(sh->prompt), "%s", s->shell_prompt);
	}
	build_elf(sh);
	if ((r = fs_build(sh)) != 0)
		goto out;
	if ((r = var_set(sh, "PATH", "/bin:/sbin:/usr/bin:/usr/sbin")) != 0 || (r = var_set(sh, "HOME", "/root")) != 0 ||
	    (r = var_set(sh, "SHELL", "/bin/sh")) != 0 || (r = var_set(sh, "TERM", "vt102")) != 0)
		goto out;
	*out = sh;
	sh = NULL;
	r = 0;
out:
	emu_shell_free(sh);
	return r;
}

void
emu_shell_free(struct emu_shell *sh)
{
	if (sh == NULL)
		return;
	/* Every client-written file still here is evidence (those already sent and unchanged are not
	 * sent again). */
	for (size_t i = 0; i < sh->fs.n; i++)
		file_evidence(sh, &sh->fs.nodes[i]);
	emu_vfs_free(&sh->fs);
	for (size_t i = 0; i < sh->nvars; i++)
		free(sh->vars[i].value);
	toride_buf_free(&sh->scratch);
	toride_buf_free(&sh->term);
	free(sh);
}

void
emu_shell_set_event_cb(struct emu_shell *sh, emu_shell_event_cb cb, void *arg)
{
	sh->cb = cb;
	sh->cbarg = arg;
}

void
emu_shell_set_prompt(struct emu_shell *sh, const char *tmpl)
{
	snprintf(sh->prompt, sizeof(sh->prompt), "%s", tmpl != NULL ? tmpl : "");
}

void
emu_shell_set_user(struct emu_shell *sh, const char *user)
{
	snprintf(sh->user, sizeof(sh->user), "%s", user != NULL && user[0] != '\0' ? user : "root");
}

void
emu_shell_prompt(const struct emu_shell *sh, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	const char *t = sh->prompt[0] != '\0' ? sh->prompt : "# ";
	size_t o = 0;
	for (size_t i = 0; t[i] != '\0' && o + 1 < outlen; i++) {
		const char *ins = NULL;
		char one[2] = { t[i], '\0' };
		if (t[i] == '%' && t[i + 1] == 'h')
			ins = sh->hostname, i++;
		else if (t[i] == '%' && t[i + 1] == 'w')
			ins = sh->cwd, i++;
		else if (t[i] == '%' && t[i + 1] == '%')
			ins = "%", i++;
		else
			ins = one;
		size_t n = strlen(ins);
		if (n > outlen - 1 - o)
			n = outlen - 1 - o;
		memcpy(out + o, ins, n);
		o += n;
	}
	out[o] = '\0';
}

int
emu_shell_read_file(struct emu_shell *sh, const char *path, const uint8_t **data, size_t *len)
{
	struct emu_vnode *nd = lookup(sh, path);
	if (nd == NULL)
		return TORIDE_ENOTFOUND;
	if (nd->type == EMU_V_DIR)
		return TORIDE_EINVAL;
	return file_contents(sh, nd, data, len);
}

int
emu_shell_exec(struct emu_shell *sh, const char *line, struct toride_buf *out)
{
	int r = 0;
	/* A ^C discards what was typed before it; ^Z is job control we do not have. */
	const char *cc = strrchr(line, 0x03);
	if (cc != NULL)
		line = cc + 1;
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	toride_buf_reset(&sh->term);
	sh->out = &sh->term;
	sh->in = NULL;
	sh->inlen = 0;
	sh->loops = sh->cmds = sh->depth = sh->nest = 0;
	sh->abort = sh->close = false;
	sh->now = (uint64_t)time(NULL);
	if (n > EMU_SHELL_LINE_MAX) {
		r = bputs(&sh->term, "sh: line too long\n");
		sh->status = 2;
	} else {
		char *copy = malloc(n + 1);
		if (copy == NULL)
			return TORIDE_ENOMEM;
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (line[i] != 0x1a)
				copy[k++] = line[i];
		copy[k] = '\0';
		size_t b = 0;
		while (b < k && (copy[b] == ' ' || copy[b] == '\t'))
			b++;
		if (b < k)
			event(sh, "command", copy);
		r = run_string(sh, copy, k, NULL);
		free(copy);
	}
	if (r != 0)
		return r;
	/* The terminal turns "\n" into "\r\n" (onlcr). */
	const uint8_t *p = sh->term.data;
	size_t len = sh->term.len;
	size_t start = 0;
	for (size_t i = 0; i < len && r == 0; i++) {
		if (p[i] != '\n')
			continue;
		r = toride_buf_append(out, p + start, i - start);
		if (r == 0)
			r = toride_buf_append(out, "\r\n", 2);
		start = i + 1;
	}
	if (r == 0 && start < len)
		r = toride_buf_append(out, p + start, len - start);
	toride_buf_reset(&sh->term);
	if (r != 0)
		return r;
	return sh->close ? EMU_CLOSE : EMU_CONTINUE;
}
