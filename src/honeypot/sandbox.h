/*
 * Containment of the honeypot's processes (docs/honeypot.md, "Containment"): dropping root after
 * the listeners are bound, and the seccomp allow-list of the sensor, the process that parses
 * attackers' bytes. Modelled on OpenSSH's sandbox-seccomp-filter.c: default deny, a short list of
 * what an event loop serving already-accepted TCP connections really calls (measured with strace
 * on `toride lab`, the same engine), and an explicit kill for everything that could reach outside.
 *
 * Order in a process: open every file, bind every listener, load keys and rules, then
 * hp_drop_privileges(), then hp_sandbox_sensor() (sensor only), then serve.
 */
#ifndef TORIDE_HONEYPOT_SANDBOX_H
#define TORIDE_HONEYPOT_SANDBOX_H

#include <stddef.h>

/* The account a root-started honeypot runs as when no user is named (docs: --user). */
#define HP_SANDBOX_DEFAULT_USER "nobody"

/*
 * Give up root for good. When the effective uid is 0: look up `user` (NULL means
 * HP_SANDBOX_DEFAULT_USER) with getpwnam, refuse a user that does not exist or whose uid or gid is
 * 0 (no silent fallback to staying root), set the supplementary groups to just the user's group,
 * then setresgid and setresuid (real, effective and saved), and verify the result: ids are the
 * user's and setuid(0)/setgid(0) now fail. When not root: with user NULL nothing changes; with a
 * user that is not the current uid, TORIDE_EINVAL (a non-root process cannot switch). In every
 * successful case PR_SET_NO_NEW_PRIVS is set, so no later execve can gain privileges. Looks up
 * the user through NSS (opens /etc/passwd): call before hp_sandbox_sensor(), and preferably before
 * other threads exist. Returns 0, TORIDE_ENOTFOUND (unknown user), TORIDE_EINVAL (user is root,
 * or a switch without root) or TORIDE_EIO (a set*id call failed or did not stick); err names the
 * user and the failing step.
 */
int hp_drop_privileges(const char *user, char *err, size_t errlen);

/*
 * Confine the calling process (all its threads: SCMP_FLTATR_CTL_TSYNC) to the sensor's
 * allow-list: reading, writing, accepting and closing descriptors it already holds, poll/epoll,
 * timers, memory (no executable mappings), futexes, signals to itself and new threads. Killed at
 * once (SIGSYS, whole process): execve/execveat, socket, connect, bind, listen, open/openat/
 * openat2/creat, ptrace, mount, chroot, the set*id family, fork/vfork and clone without
 * CLONE_THREAD, process_vm_*, kexec, bpf, io_uring and module loading. open and openat go
 * through a SIGSYS handler first (x86-64, aarch64): the few files glibc reads lazily on its own
 * (/proc/sys/vm/overcommit_memory on a heap trim, time zone files) fail with EACCES instead, so
 * the sandbox owns SIGSYS from now on. clone3 answers ENOSYS
 * (its flags cannot be inspected; libc falls back to clone, whose flags are checked). sendto with
 * an address and MSG_FASTOPEN (a connect in disguise) are refused. Any other system call fails
 * with EPERM instead of killing: a harmless call nobody measured degrades one feature rather
 * than crashing the sensor, while everything that could open, run or reach anything is in the
 * kill list. Before loading, the time zone is pinned to UTC (TZ=UTC0, tzset), because glibc's
 * strftime would otherwise open /etc/localtime on every call. Sets PR_SET_NO_NEW_PRIVS.
 * Irreversible. Returns 0, TORIDE_EUNSUPPORTED (the kernel or libseccomp cannot load the filter
 * or synchronise it over threads) or TORIDE_ENOMEM / TORIDE_EIO; err says which step failed.
 */
int hp_sandbox_sensor(char *err, size_t errlen);

#endif
