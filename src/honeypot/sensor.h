/*
 * The sensor: the honeypot's process that talks to attackers (docs/honeypot.md). It serves
 * emulated devices on listening sockets the parent bound, records every session and sends the
 * records to the collector as frames (hp.h) down a pipe. It opens nothing itself, so it can run
 * under the seccomp filter of sandbox.h.
 */
#ifndef TORIDE_HONEYPOT_SENSOR_H
#define TORIDE_HONEYPOT_SENSOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "emu/emu.h"
#include "emu/ssh.h"
#include "survey/creds.h"

/* Why these defaults: docs/honeypot.md "Containment and caps". */
#define HP_MAX_SESSIONS_DEFAULT 20000
#define HP_PER_SOURCE_SESSIONS_DEFAULT 32
#define HP_PER_SOURCE_BYTES_DEFAULT (8u * 1024u * 1024u)
/* The per-source byte budget renews after this long. */
#define HP_SOURCE_WINDOW_MS (3600u * 1000u)
#define HP_SESSION_SECONDS_DEFAULT 600
#define HP_IDLE_SECONDS_DEFAULT 60
/* Why 64: a honeypot listens on a few addresses and ports; the sensor keeps one device per
 * listener and pool profile. */
#define HP_MAX_LISTENERS 64

/* Why 1,024: an SSH session is a thread (libssh), ~60 KiB plus its stack (as the lab). */
#define HP_SSH_MAX_SESSIONS 1024

enum hp_accept {
	HP_ACCEPT_LISTED,  /* pairs of the known lists (Mirai, vendor defaults) and the profile's own */
	HP_ACCEPT_PROFILE, /* only what the profile's policy lets in */
	HP_ACCEPT_ANY,     /* every pair */
};

struct hp_listener {
	struct toride_addr addr;
	char addr_str[TORIDE_ADDR_STRLEN];
	uint16_t port;
	enum emu_proto proto;
	const struct emu_profile *pin; /* NULL: drawn from the pool */
	int fd;                        /* bound and listening (the parent did it) */
};

struct hp_sensor_config {
	const struct emu_profile **pool; /* profiles a connection may meet */
	size_t npool;
	bool pick_per_address;           /* one profile per listener instead of per source */
	enum hp_accept accept;
	const struct toride_creds *listed; /* HP_ACCEPT_LISTED */
	struct hp_listener *listeners;
	size_t nlisteners;
	struct emu_ssh *ssh;             /* host keys loaded, not started; NULL = no SSH listener;
	                                  * hp_sensor_run stops and frees it */
	uint64_t seed;                   /* instance randomisation */
	unsigned max_sessions, per_source_sessions;
	uint64_t per_source_bytes;
	unsigned session_ms, idle_ms;
	bool no_delays;
	int out_fd;                      /* pipe to the collector (blocking) */
	volatile sig_atomic_t *stop;
	/* Called once everything is set up (event loop, listeners, the SSH acceptor thread; libuv
	 * opens /dev/null as it starts) and before the first client is served: the seccomp filter goes on here. A non-zero
	 * return ends the run with that code. NULL = none. */
	int (*confine)(void *arg);
	void *confine_arg;
};

/* Pick the profile the listener's clients meet, or NULL when no pool profile serves its protocol. */
const struct emu_profile *hp_profile_for(const struct hp_sensor_config *cfg, const struct hp_listener *l,
                                         const struct toride_addr *src);

/* Serve until *cfg->stop, then end every session (records sent) and return 0, or a TORIDE_E*
 * code. Runs in the sensor process after the sandbox is on. */
int hp_sensor_run(const struct hp_sensor_config *cfg);

#endif
