/*
 * A fleet of emulated devices in one process: every device of the fleet listens on its own
 * loopback address (127.0.0.0/8 is routed to `lo` on Linux, so no root and no set-up are needed)
 * with the services of its profile; connections are served by the sans-IO servers of emu.h on
 * one libuv loop (SSH through libssh on its own thread). The fleet writes the ground truth
 * (address, profile, services, credential facts) as JSON before it reports ready.
 */
#ifndef TORIDE_EMU_FLEET_H
#define TORIDE_EMU_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/emu.h"

/* Why 20,000: a survey keeps a few connections per device; 20k sessions x ~10 KiB stays within
 * a few hundred MiB, and the descriptor limit is raised to fit. */
#define EMU_FLEET_MAX_SESSIONS_DEFAULT 20000
/* Why 60 s: a client idle longer than a human typing is gone; bounds slow-loris sessions. */
#define EMU_FLEET_IDLE_TIMEOUT_MS_DEFAULT 60000
/* Why 1,024: an SSH session is a thread (libssh), ~60 KiB plus its stack; a survey keeps one
 * per host at a time, so a thousand covers a large fleet. */
#define EMU_FLEET_SSH_MAX_SESSIONS 1024
/* Why 64 KiB: a survey session is a few KiB; an emulated device never needs to buffer more. */
#define EMU_FLEET_MAX_OUT 65536

struct emu_fleet_config {
	const struct emu_profiles *profiles;
	const char *net;          /* CIDR inside 127.0.0.0/8 (or a netns lab range), e.g. "127.16.0.0/16" */
	unsigned ndevices;
	const char *mix;          /* "all" (uniform) or "id=weight,id=weight" */
	uint64_t seed;
	unsigned port_offset;     /* added to ports < 1024 when we may not bind them (0 = none) */
	unsigned max_sessions;
	unsigned idle_timeout_ms;
	const char *truth_path;   /* ground truth JSON, NULL = none */
	const char *ready_path;   /* touched when every listener is up, NULL = none */
	const char *hostkey_dir;  /* SSH host keys (generated if missing) */
	bool no_delays;           /* ignore the devices' fail delays (fast tests) */
	const char *stats_path;   /* counters as JSON, rewritten within 0.1 s of a change, NULL = none */
	volatile int *stop_flag;
	void (*log)(const char *line, void *arg);
	void *log_arg;
};

struct emu_fleet_stats {
	uint64_t listeners, sessions, refused, bytes_in, bytes_out;
	/* Login attempts the devices judged (every protocol, SSH included) and how many logged in:
	 * the server-side count a benchmark compares tools by, whatever each tool says it did. */
	uint64_t logins, logins_ok;
};

/* Build the fleet, write the truth, serve until *stop_flag. Returns 0 or a TORIDE_E* code with a
 * message in err. With cfg->stats_path the counters (listeners, sessions, refused, logins,
 * logins_ok) are written there as one JSON object (temporary file + rename, so a reader never sees
 * half of it) before "ready", within 0.1 s of any change while serving, and once more at the end. */
int emu_fleet_run(const struct emu_fleet_config *cfg, struct emu_fleet_stats *stats, char *err, size_t errlen);

#endif
