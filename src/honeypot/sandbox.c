#include "honeypot/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/error.h"

/* Why 16 KiB: getpwnam_r's buffer for one passwd entry (name, gecos, home, shell); glibc asks for
 * about 1 KiB (_SC_GETPW_R_SIZE_MAX), directory services rarely need more. */
#define SB_PWBUF_SIZE 16384

static void sb_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
sb_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Clear every capability set of the calling thread (a non-root process started with file
 * capabilities such as cap_net_bind_service keeps none of them once the listeners are bound). */
static int
sb_clear_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof data);
	return (int)syscall(SYS_capset, &hdr, data);
}

/* True when the calling thread holds no capability in its effective or permitted set. */
static bool
sb_caps_empty(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return data[0].effective == 0 && data[1].effective == 0 && data[0].permitted == 0 &&
	       data[1].permitted == 0;
}

int
hp_drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	char *pwbuf = NULL;
	const char *name = user != NULL ? user : HP_SANDBOX_DEFAULT_USER;
	int r = 0, e;

	if (geteuid() != 0 && user == NULL) {
		/* Already unprivileged; drop any file capabilities too. A failure here only means there
		 * were none to drop in a way the kernel refuses, so it is checked below instead. */
		(void)sb_clear_caps();
		goto nnp;
	}
	pwbuf = malloc(SB_PWBUF_SIZE);
	if (pwbuf == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	e = getpwnam_r(name, &pw, pwbuf, SB_PWBUF_SIZE, &pwp);
	if (pwp == NULL) {
		if (e != 0)
			sb_err(err, errlen, "cannot look up user '%s': %s", name, strerror(e));
		else
			sb_err(err, errlen, "unknown user '%s': refusing to keep running as root", name);
		r = TORIDE_ENOTFOUND;
		goto out;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		sb_err(err, errlen, "user '%s' has uid or gid 0: it would keep root", name);
		r = TORIDE_EINVAL;
		goto out;
	}
	if (geteuid() != 0) {
		if (pw.pw_uid != getuid() || pw.pw_uid != geteuid()) {
			sb_err(err, errlen, "not root: cannot switch to user '%s'", name);
			r = TORIDE_EINVAL;
			goto out;
		}
		(void)sb_clear_caps();
		goto nnp;
	}
	/* Groups first: after setresuid we could no longer change them. */
	if (setgroups(1, &pw.pw_gid) != 0) {
		sb_err(err, errlen, "setgroups(%u) for user '%s': %s", (unsigned)pw.pw_gid, name, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0) {
		sb_err(err, errlen, "setresgid(%u) for user '%s': %s", (unsigned)pw.pw_gid, name, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
		sb_err(err, errlen, "setresuid(%u) for user '%s': %s", (unsigned)pw.pw_uid, name, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	/* Verify, as OpenSSH's permanently_set_uid does: the ids stuck and root cannot come back. */
	{
		uid_t ru, eu, su;
		gid_t rg, eg, sg;
		gid_t groups[2];
		int ng;

		if (getresuid(&ru, &eu, &su) != 0 || ru != pw.pw_uid || eu != pw.pw_uid || su != pw.pw_uid ||
		    getresgid(&rg, &eg, &sg) != 0 || rg != pw.pw_gid || eg != pw.pw_gid || sg != pw.pw_gid) {
			sb_err(err, errlen, "user '%s': ids did not change", name);
			r = TORIDE_EIO;
			goto out;
		}
		ng = getgroups(2, groups);
		if (ng != 1 || groups[0] != pw.pw_gid) {
			sb_err(err, errlen, "user '%s': supplementary groups did not change", name);
			r = TORIDE_EIO;
			goto out;
		}
		if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1) {
			sb_err(err, errlen, "user '%s': root could be regained after the switch", name);
			r = TORIDE_EIO;
			goto out;
		}
	}
nnp:
	if (!sb_caps_empty() && geteuid() != 0) {
		sb_err(err, errlen, "capabilities are still held after dropping privileges");
		r = TORIDE_EIO;
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		sb_err(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
out:
	free(pwbuf);
	return r;
}

/* ---------------------------------------------------------------- seccomp */

/* An argument condition of a rule: none, or one (or two) comparisons. */
struct sb_rule {
	const char *name;
	uint32_t action;
	unsigned ncmp;
	struct scmp_arg_cmp cmp[2];
};

/* Mask for int-sized arguments: the kernel hands seccomp the whole register, whose upper half is
 * not defined for an int, so only the low 32 bits are compared. */
#define SB_INT 0xffffffffu
/* libseccomp's SCMP_CMP is a compound literal, which is not a constant initializer. */
#define SB_CMP(a, o, x, y) {.arg = (a), .op = (o), .datum_a = (x), .datum_b = (y)}

#define SB_ANY(n) {.name = (n), .action = SCMP_ACT_ALLOW, .ncmp = 0}
#define SB_KILL(n) {.name = (n), .action = SCMP_ACT_KILL_PROCESS, .ncmp = 0}
/* Allowed when argument a (int-sized) equals v. */
#define SB_EQ(n, a, v) \
	{.name = (n), .action = SCMP_ACT_ALLOW, .ncmp = 1, .cmp = {SB_CMP((a), SCMP_CMP_MASKED_EQ, SB_INT, (v))}}
/* Allowed when the bits of mask m in argument a are clear. */
#define SB_CLEAR(n, a, m) \
	{.name = (n), .action = SCMP_ACT_ALLOW, .ncmp = 1, .cmp = {SB_CMP((a), SCMP_CMP_MASKED_EQ, (m), 0)}}

/* The argument of clone that holds the flags: the first everywhere but s390, where the stack
 * comes first. */
#if defined(__s390__) || defined(__s390x__)
#define SB_CLONE_FLAGS_ARG 1
#else
#define SB_CLONE_FLAGS_ARG 0
#endif

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

/* Rules that do not depend on the running process. Measured: `strace -f` of `toride lab` serving
 * a telnet login with a dropper, OpenSSH exec and shell sessions, a refused `ssh -W`, an HTTP
 * request and an MQTT publish, after its listeners were up, called: epoll_wait epoll_ctl accept4
 * read write close recvfrom sendto poll setsockopt getpid getrandom futex clone3 set_robust_list
 * rseq rt_sigprocmask rt_sigreturn mmap mprotect munmap madvise exit exit_group, plus an openat
 * of /etc/localtime from strftime (hence TZ=UTC0 below); the unit test's sandboxed libssh server
 * added glibc's openat of /proc/sys/vm/overcommit_memory (see sb_on_sigsys). The rest is what
 * libuv, libssh, glibc threads and sanitizer runtimes may call on paths those runs did not reach. */
static const struct sb_rule sb_rules[] = {
	/* descriptors the process already holds */
	SB_ANY("read"), SB_ANY("readv"), SB_ANY("write"), SB_ANY("writev"), SB_ANY("close"),
	SB_ANY("shutdown"), SB_ANY("lseek"), SB_ANY("fstat"),
	/* fstat() is newfstatat(fd, "", AT_EMPTY_PATH) in glibc 2.33+; a path lookup is not needed */
	{.name = "newfstatat", .action = SCMP_ACT_ALLOW, .ncmp = 1,
	 .cmp = {SB_CMP(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)}},
	SB_ANY("accept"), SB_ANY("accept4"), SB_ANY("recvfrom"), SB_ANY("recvmsg"),
	/* send() is sendto(fd, p, n, flags, NULL, 0): a destination address or MSG_FASTOPEN (which
	 * opens a TCP connection without connect()) would be relaying */
	{.name = "sendto", .action = SCMP_ACT_ALLOW, .ncmp = 2,
	 .cmp = {SB_CMP(4, SCMP_CMP_EQ, 0, 0), SB_CMP(3, SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, 0)}},
	SB_CLEAR("sendmsg", 2, MSG_FASTOPEN),
	SB_ANY("setsockopt"), SB_ANY("getsockopt"), SB_ANY("getpeername"), SB_ANY("getsockname"),
	SB_EQ("fcntl", 1, F_GETFD), SB_EQ("fcntl", 1, F_SETFD), SB_EQ("fcntl", 1, F_GETFL),
	SB_EQ("fcntl", 1, F_SETFL),
	/* libuv sets non-blocking and close-on-exec with ioctl; FIONREAD sizes a read */
	SB_EQ("ioctl", 1, FIONBIO), SB_EQ("ioctl", 1, FIONREAD), SB_EQ("ioctl", 1, FIOCLEX),
	SB_EQ("ioctl", 1, FIONCLEX),
	/* waiting */
	SB_ANY("epoll_create1"), SB_ANY("epoll_ctl"), SB_ANY("epoll_wait"), SB_ANY("epoll_pwait"),
	SB_ANY("epoll_pwait2"), SB_ANY("poll"), SB_ANY("ppoll"), SB_ANY("select"), SB_ANY("pselect6"),
	SB_ANY("eventfd2"), SB_ANY("pipe2"), SB_ANY("timerfd_create"), SB_ANY("timerfd_settime"),
	SB_ANY("timerfd_gettime"),
	/* time */
	SB_ANY("clock_gettime"), SB_ANY("clock_getres"), SB_ANY("gettimeofday"), SB_ANY("time"),
	SB_ANY("nanosleep"), SB_ANY("clock_nanosleep"), SB_ANY("restart_syscall"),
	/* memory: never executable (no code can be written and then run) */
	SB_ANY("brk"), SB_ANY("munmap"), SB_ANY("mremap"), SB_ANY("madvise"),
	SB_CLEAR("mmap", 2, PROT_EXEC), SB_CLEAR("mprotect", 2, PROT_EXEC),
	/* threads (libssh sessions): clone only with CLONE_THREAD, see below */
	SB_ANY("futex"), SB_ANY("set_robust_list"), SB_ANY("rseq"), SB_ANY("sched_yield"),
	SB_ANY("sched_getaffinity"), SB_ANY("exit"), SB_ANY("exit_group"),
	{.name = "clone", .action = SCMP_ACT_ALLOW, .ncmp = 1,
	 .cmp = {SB_CMP(SB_CLONE_FLAGS_ARG, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)}},
	{.name = "clone", .action = SCMP_ACT_KILL_PROCESS, .ncmp = 1,
	 .cmp = {SB_CMP(SB_CLONE_FLAGS_ARG, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)}},
	{.name = "clone3", .action = SCMP_ACT_ERRNO(ENOSYS), .ncmp = 0},
	SB_EQ("prctl", 0, PR_SET_NAME), SB_EQ("prctl", 0, PR_GET_NAME),
	/* signals (only to itself: tgkill is restricted to our pid in hp_sandbox_sensor) */
	SB_ANY("rt_sigaction"), SB_ANY("rt_sigprocmask"), SB_ANY("rt_sigreturn"), SB_ANY("sigaltstack"),
	/* identity and limits, read only */
	SB_ANY("getpid"), SB_ANY("gettid"), SB_ANY("getppid"), SB_ANY("getuid"), SB_ANY("geteuid"),
	SB_ANY("getgid"), SB_ANY("getegid"), SB_ANY("getresuid"), SB_ANY("getresgid"),
	SB_ANY("getgroups"), SB_ANY("getrlimit"), SB_EQ("prlimit64", 0, 0), SB_ANY("getrandom"),

	/* reaching anything outside: kill the whole process at once */
	SB_KILL("execve"), SB_KILL("execveat"), SB_KILL("socket"), SB_KILL("connect"), SB_KILL("bind"),
	SB_KILL("listen"), SB_KILL("openat2"), SB_KILL("creat"),
	SB_KILL("open_by_handle_at"), SB_KILL("ptrace"), SB_KILL("mount"), SB_KILL("umount2"),
	SB_KILL("chroot"), SB_KILL("pivot_root"), SB_KILL("unshare"), SB_KILL("setns"),
	SB_KILL("setuid"), SB_KILL("setgid"), SB_KILL("setreuid"), SB_KILL("setregid"),
	SB_KILL("setresuid"), SB_KILL("setresgid"), SB_KILL("setgroups"), SB_KILL("setfsuid"),
	SB_KILL("setfsgid"), SB_KILL("capset"), SB_KILL("fork"), SB_KILL("vfork"),
	SB_KILL("process_vm_readv"), SB_KILL("process_vm_writev"), SB_KILL("kexec_load"),
	SB_KILL("kexec_file_load"), SB_KILL("bpf"), SB_KILL("io_uring_setup"), SB_KILL("io_uring_enter"),
	SB_KILL("io_uring_register"), SB_KILL("init_module"), SB_KILL("finit_module"),
	SB_KILL("delete_module"),
};

/* ---------------------------------------------------------------- opens: trap, then kill */

/*
 * open and openat are trapped (SIGSYS to our handler) rather than killed outright, because glibc
 * itself opens a few files lazily on ordinary paths: measured, a session thread ending made
 * malloc's heap trim read /proc/sys/vm/overcommit_memory (glibc malloc-sysdep.h, once per process,
 * on the first shrink of a thread arena), and strftime's tzset reads /etc/localtime. Killing
 * there would let any client crash the sensor. The handler lets a read-only open of exactly these
 * files fail with EACCES (nothing is opened; glibc then uses its defaults) and kills the process
 * with SIGSYS for every other open, as KILL_PROCESS would. The system call itself never runs in
 * either case. A client that took over the sensor and replaced the handler still cannot open
 * anything; it can only avoid dying (ignoring or blocking SIGSYS makes the kernel kill anyway).
 * Only where the registers are known (x86-64, aarch64); elsewhere opens are killed directly.
 */
#if defined(__x86_64__) || defined(__aarch64__)
#define SB_TRAP_OPENS 1
#else
#define SB_TRAP_OPENS 0
#endif

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SECCOMP_RET_TRAP (linux/signal.h) */
#endif

/* Files libc reads lazily on its own (see above); compared exactly, or as a prefix when the entry
 * ends in '/'. */
static const char *const sb_lazy_files[] = {
	"/proc/sys/vm/overcommit_memory", /* glibc: first heap shrink of a thread arena */
	"/etc/localtime",                 /* glibc: tzset (TZ is pinned, kept for safety) */
	"/usr/share/zoneinfo/",           /* glibc: tzset with a TZ naming a zone file */
	"/sys/devices/system/cpu/",       /* glibc: get_nprocs (sysconf _SC_NPROCESSORS_*) */
};

/* Async-signal-safe: no libc calls that could allocate or lock. */
static bool
sb_is_lazy_file(const char *path, unsigned long flags)
{
	if ((flags & (unsigned long)O_ACCMODE) != (unsigned long)O_RDONLY || (flags & (unsigned long)O_CREAT) != 0)
		return false;
	for (size_t i = 0; i < sizeof sb_lazy_files / sizeof sb_lazy_files[0]; i++) {
		const char *a = sb_lazy_files[i], *b = path;

		while (*a != '\0' && *a == *b)
			a++, b++;
		if (*a == '\0' && (*b == '\0' || a[-1] == '/'))
			return true;
	}
	return false;
}

/* Die of SIGSYS like SECCOMP_RET_KILL_PROCESS would (default action, signal unblocked). */
static void
sb_die(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGSYS, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGSYS);
	(void)syscall(SYS_exit_group, 128 + SIGSYS);
}

static void
sb_on_sigsys(int sig, siginfo_t *si, void *vctx)
{
	const char *path = NULL;
	unsigned long flags = 0;
#if defined(__x86_64__)
	ucontext_t *uc = vctx;
	greg_t *g = uc->uc_mcontext.gregs;

	if (si->si_code == SYS_SECCOMP && si->si_syscall == __NR_openat) {
		path = (const char *)g[REG_RSI];
		flags = (unsigned long)g[REG_RDX];
	} else if (si->si_code == SYS_SECCOMP && si->si_syscall == __NR_open) {
		path = (const char *)g[REG_RDI];
		flags = (unsigned long)g[REG_RSI];
	}
	if (path != NULL && sb_is_lazy_file(path, flags)) {
		g[REG_RAX] = -EACCES;
		return;
	}
#elif defined(__aarch64__)
	ucontext_t *uc = vctx;

	if (si->si_code == SYS_SECCOMP && si->si_syscall == __NR_openat) {
		path = (const char *)uc->uc_mcontext.regs[1];
		flags = (unsigned long)uc->uc_mcontext.regs[2];
	}
	if (path != NULL && sb_is_lazy_file(path, flags)) {
		uc->uc_mcontext.regs[0] = (unsigned long long)-EACCES;
		return;
	}
#endif
	(void)sig;
	(void)si;
	(void)vctx;
	(void)path;
	(void)flags;
	sb_die();
}

/* Install the handler (SIGSYS unblocked in this thread; other threads inherit nothing, but the
 * kernel unblocks a forced SIGSYS, and a blocked one kills, which is the safe side). */
static int
sb_install_trap(char *err, size_t errlen)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sb_on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		sb_err(err, errlen, "sigaction(SIGSYS): %s", strerror(errno));
		return TORIDE_EIO;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	(void)pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

static int
sb_add(scmp_filter_ctx ctx, const char *name, uint32_t action, unsigned ncmp, const struct scmp_arg_cmp *cmp,
       char *err, size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	/* A name this libseccomp does not know (an older release) cannot be called through it
	 * either; the default action covers it. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	rc = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
	if (rc == -EDOM || rc == -EOPNOTSUPP)
		return 0; /* not a system call on this architecture (e.g. open on aarch64) */
	if (rc != 0) {
		sb_err(err, errlen, "seccomp rule for %s: %s", name, strerror(-rc));
		return rc == -ENOMEM ? TORIDE_ENOMEM : TORIDE_EIO;
	}
	return 0;
}

int
hp_sandbox_sensor(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	struct scmp_arg_cmp self;
	int r = 0, rc;

	/* glibc's strftime calls tzset(), which re-opens /etc/localtime each time unless TZ names a
	 * rule that needs no file. The sensor's timestamps are UTC anyway. */
	if (setenv("TZ", "UTC0", 1) != 0) {
		sb_err(err, errlen, "setenv(TZ): %s", strerror(errno));
		r = TORIDE_ENOMEM;
		goto out;
	}
	tzset();

	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL) {
		sb_err(err, errlen, "seccomp_init failed");
		r = TORIDE_ENOMEM;
		goto out;
	}
	/* A system call of another ABI (i386 int 0x80, x32) would bypass the numbers checked here. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc != 0) {
		sb_err(err, errlen, "seccomp attributes: %s", strerror(-rc));
		r = TORIDE_EUNSUPPORTED;
		goto out;
	}
	for (size_t i = 0; i < sizeof sb_rules / sizeof sb_rules[0]; i++) {
		const struct sb_rule *s = &sb_rules[i];

		r = sb_add(ctx, s->name, s->action, s->ncmp, s->cmp, err, errlen);
		if (r != 0)
			goto out;
	}
	/* open/openat: trapped and judged by sb_on_sigsys where it can read the arguments */
	{
		uint32_t open_action = SB_TRAP_OPENS ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;

		if (SB_TRAP_OPENS) {
			r = sb_install_trap(err, errlen);
			if (r != 0)
				goto out;
		}
		r = sb_add(ctx, "open", open_action, 0, NULL, err, errlen);
		if (r == 0)
			r = sb_add(ctx, "openat", open_action, 0, NULL, err, errlen);
		if (r != 0)
			goto out;
	}
	/* raise()/abort() signal the process itself; any other process (the collector runs as the
	 * same user) is out of reach. */
	self = SCMP_CMP(0, SCMP_CMP_MASKED_EQ, SB_INT, (scmp_datum_t)getpid());
	r = sb_add(ctx, "tgkill", SCMP_ACT_ALLOW, 1, &self, err, errlen);
	if (r != 0)
		goto out;
	rc = seccomp_load(ctx);
	if (rc != 0) {
		sb_err(err, errlen, "loading the seccomp filter: %s", strerror(-rc));
		r = (rc == -ENOMEM) ? TORIDE_ENOMEM : TORIDE_EUNSUPPORTED;
		goto out;
	}
out:
	seccomp_release(ctx);
	return r;
}
