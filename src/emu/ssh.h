/*
 * The SSH service of the emulated fleet. libssh owns its sockets and speaks a blocking protocol
 * state machine, so SSH is not one of the sans-IO servers of emu.h: this module runs its own
 * threads. One acceptor thread waits (epoll) on every listening socket (one per device
 * address:port, plain sockets, so an idle listener costs one descriptor and under 1 KiB; measured
 * 0.8 KiB) and hands each accepted connection to libssh through one shared ssh_bind (host keys
 * and the device's version string are copied into the session at accept time); each session then
 * runs on its own small thread (measured ~60 KiB RSS per logged-in shell session).
 *
 * Threading contract: after emu_ssh_start() the fleet must not change the emu_device and
 * emu_service structs it passed to emu_ssh_listen(), nor free them, until emu_ssh_stop() has
 * returned; the SSH threads read them and touch no other fleet data. emu_device_check_login() is
 * called on const devices only. Nothing a client sends is executed on the host: a shell or exec
 * request runs in the emulated busybox-like shell.
 */
#ifndef TORIDE_EMU_SSH_H
#define TORIDE_EMU_SSH_H

#include <stdint.h>
#include <sys/socket.h>

#include "emu/emu.h"

/* Why 256: a survey holds one SSH session per device at a time and a Mirai-like scanner a few;
 * 256 concurrent sessions x (~300 KiB libssh + thread) stays under 100 MiB. */
#define EMU_SSH_MAX_SESSIONS_DEFAULT 256
/* Why 6: OpenSSH's MaxAuthTries default; a client that has not logged in after 6 tries is
 * brute-forcing and the device hangs up like sshd does. */
#define EMU_SSH_MAX_AUTH_TRIES 6
/* Why 60 s: longer than a human pauses at a prompt, short enough to bound slow-loris clients. */
#define EMU_SSH_IDLE_TIMEOUT_MS_DEFAULT 60000
/* Why 60 s: key exchange plus authentication must finish within this (sshd LoginGraceTime is
 * 120 s; scanners finish in well under a second per attempt). */
#define EMU_SSH_LOGIN_GRACE_MS 60000
/* Why 1 MiB: bytes in plus out per session; a survey or a Mirai loader session is a few KiB, an
 * echo-dropper upload ~100 KiB. More is abuse and the session is closed. */
#define EMU_SSH_MAX_SESSION_BYTES (1024 * 1024)
/* Why 65536: enough listeners for a fleet of tens of thousands of devices where a share runs
 * SSH; the descriptor limit is the real bound and listen fails cleanly past it. */
#define EMU_SSH_MAX_LISTENERS 65536

struct emu_ssh;

struct emu_ssh_stats {
	uint64_t listeners;  /* listening sockets */
	uint64_t sessions;   /* connections accepted and served */
	uint64_t refused;    /* connections closed at once: session cap reached */
	uint64_t active;     /* sessions running now */
	uint64_t auth_ok, auth_fail;
};

/*
 * Create the SSH service with an ed25519 and an RSA host key. With hostkey_dir NULL both keys are
 * generated in memory (a new identity each run). Otherwise hostkey_dir/ssh_host_ed25519_key and
 * hostkey_dir/ssh_host_rsa_key are loaded (OpenSSH format) and generated and written (mode 0600)
 * when missing, so a lab keeps its identity across runs. Returns 0, TORIDE_ENOMEM or TORIDE_EIO.
 */
int emu_ssh_new(struct emu_ssh **out, const char *hostkey_dir);

/* Set the caps (0 keeps the default): concurrent sessions and idle timeout. Only before
 * emu_ssh_start(); TORIDE_ESTATE after. */
int emu_ssh_set_limits(struct emu_ssh *s, unsigned max_sessions, unsigned idle_timeout_ms);

/*
 * Listen for one device's SSH service on dev->addr and port (0 = svc->port). The socket is bound
 * at once so address errors are reported here: TORIDE_EIO (bind/listen failed, errno kept),
 * TORIDE_ETOOBIG (EMU_SSH_MAX_LISTENERS), TORIDE_EINVAL (svc not SSH), TORIDE_ESTATE (already
 * started). dev and svc must stay valid and unchanged until emu_ssh_stop() returns. The version
 * line sent is svc->banner ("SSH-2.0-dropbear_2014.63"); libssh always writes "SSH-2.0-" itself,
 * so only the text after the second '-' is taken from the banner.
 */
int emu_ssh_listen(struct emu_ssh *s, const struct emu_device *dev, const struct emu_service *svc,
                   uint16_t port);

/* Answer failed logins at once instead of after the service's fail delay (fast tests). Call
 * before emu_ssh_start(). */
void emu_ssh_set_no_delays(struct emu_ssh *s, bool on);

/* Like emu_ssh_listen, on a socket already bound and listening (non-blocking; e.g. made by a
 * privileged parent before it dropped root). The emu_ssh owns fd from now on, also on error. */
int emu_ssh_listen_fd(struct emu_ssh *s, const struct emu_device *dev, const struct emu_service *svc, int fd);

/* Per-session hooks (the honeypot). open runs on the acceptor thread for every accepted client,
 * after the session cap: it may pick another device and service for this session (*dev, *svc are
 * preset to the listener's), sets *sess, and returns false to refuse the client (its own caps).
 * close runs once per session whose open returned true, on the session's thread after the session
 * ended (shutdown = emu_ssh_stop is ending it); the device must stay valid until then. Set before
 * emu_ssh_start. */
struct emu_ssh_hooks {
	bool (*open)(void *arg, const struct emu_device *ldev, const struct emu_service *lsvc,
	             const struct sockaddr_storage *peer, const struct emu_device **dev,
	             const struct emu_service **svc, void **sess);
	void (*close)(void *arg, void *sess, bool shutdown);
	void *arg;
};
void emu_ssh_set_hooks(struct emu_ssh *s, const struct emu_ssh_hooks *h);

/* Start the acceptor thread. Returns 0, TORIDE_ESTATE (started twice) or TORIDE_ENOMEM. */
int emu_ssh_start(struct emu_ssh *s);

/* Counters, safe to call from any thread at any time. */
void emu_ssh_stats(struct emu_ssh *s, struct emu_ssh_stats *st);

/* Stop accepting, hang up every session, wait for all SSH threads, free everything. s may be
 * NULL; works whether or not emu_ssh_start() was called. */
void emu_ssh_stop(struct emu_ssh *s);

#endif
