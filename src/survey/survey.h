/*
 * toride survey: from a scope of addresses to findings with evidence.
 *
 * Data flow (docs/survey.md): probe order (scope x ports, permuted, sharded) -> rate limiter ->
 * non-blocking connect (libuv) -> identification on the same connection -> checks (no-auth access,
 * then credentials, one login at a time per host, stop at the first success) -> events to a sink
 * (JSON Lines and/or SQLite). The library never prints; progress goes through a callback.
 */
#ifndef TORIDE_SURVEY_SURVEY_H
#define TORIDE_SURVEY_SURVEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/scope.h"
#include "survey/creds.h"

struct toride_sink;

enum toride_discovery {
	TORIDE_DISCOVERY_AUTO = 0,
	TORIDE_DISCOVERY_SYN,
	TORIDE_DISCOVERY_CONNECT,
};
struct toride_fpdb;

struct toride_survey_progress {
	uint64_t total, done, in_flight, open, findings_fail, attempts; /* done: pairs finished (connect
	                                                                   path), pairs probed (SYN path) */
	double elapsed, rate; /* pairs finished per second so far */
	/* Discovery, for the status line (docs/survey-scale.md). */
	bool syn;          /* SYN discovery runs (else connect discovery) */
	uint64_t sent;     /* SYN: probe packets sent; connect: connects started */
	double send_rate;  /* sent per second over the last interval */
	uint64_t replies;  /* SYN: replies that passed the keyed check; connect: connects that
	                      were answered (accepted or refused) */
	uint64_t queued;   /* discovered pairs waiting for checks */
	double eta;        /* seconds left, < 0 when not known yet */
};

struct toride_survey_config {
	const char *survey_id;
	const struct toride_scope *scope; /* finalized */
	const uint16_t *ports;
	size_t nports;
	uint64_t seed;
	uint32_t shard_index, shard_count; /* 0-based index */
	double rate;                       /* new connections per second; 0 = unlimited */
	unsigned max_concurrency;          /* simultaneous connections */
	unsigned connect_timeout_ms;
	unsigned read_timeout_ms;          /* silence after which a step gives up */
	unsigned retries;                  /* extra connect attempts after a timeout */
	unsigned max_attempts_per_host;    /* login attempts budget per host (all services) */
	unsigned attempt_delay_ms;         /* pacing between login attempts on one host */
	const struct toride_creds *creds;  /* base list (Mirai's table or --creds) */
	const char *vendor_creds_path;     /* vendor CSV, or NULL to not add vendor defaults */
	const struct toride_fpdb *fpdb;    /* may be NULL */
	struct toride_sink *sink;
	bool resume;                       /* skip pairs the sink's store already finished */
	const char *user_agent;
	void (*progress)(const struct toride_survey_progress *p, void *arg);
	void *progress_arg;
	volatile int *stop_flag;           /* set to 1 (e.g. from SIGINT) to stop cleanly */
	/* Discovery (docs/survey-scale.md). */
	enum toride_discovery discovery;   /* auto: SYN with CAP_NET_RAW, else connect */
	bool discover_only;                /* report open ports, run no identification or check */
	unsigned probes;                   /* SYN packets per pair (0: 1) */
	unsigned cooldown_ms;              /* SYN: wait for late replies after the last probe */
	const char *interface;             /* SYN: capture interface (NULL: from the route) */
	const struct toride_addr *source4, *source6; /* SYN: source addresses (NULL: from the route) */
	uint16_t sport_base, sport_count;  /* SYN: source port range (0, 0: default) */
	/* Filled by toride_survey_run before the first progress call: why auto chose connect discovery,
	 * or why SYN discovery could not start (the run then fails); "" otherwise. */
	char *fallback_note;
	size_t fallback_note_len;
	/* Filled at the end of a SYN-path run: how probes left (syn_disc_describe: interface, source
	 * addresses and ports, frames or raw IP per family and why). */
	char *send_note;
	size_t send_note_len;
};

struct toride_survey_stats {
	uint64_t probes, open, skipped, attempts, findings_fail, findings_pass, findings_unknown;
	bool interrupted;
	bool syn;                  /* discovery ran on the SYN path */
	uint64_t packets, replies, duplicates, kernel_drops; /* SYN path counters (survey/syn.h); connect
	                                                        path: connects started, connects answered */
	double discovery_seconds;  /* SYN path: first to last probe; connect: start to last connect */
	uint64_t peak_in_flight;   /* most check connections open at once */
	uint64_t local_failures;   /* connects that failed on our side (out of descriptors or local
	                              ports): those pairs stay undone and the run counts as interrupted */
};

/* Run a survey to completion (or until *stop_flag). Returns 0 or a negative TORIDE_E* code. */
int toride_survey_run(const struct toride_survey_config *cfg, struct toride_survey_stats *stats);

/* Ports surveyed when none are given: telnet, alt-telnet, SSH, HTTP, alt-HTTP, RTSP, MQTT, FTP. */
extern const uint16_t toride_survey_default_ports[];
extern const size_t toride_survey_default_nports;

#endif
