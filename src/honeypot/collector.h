/*
 * The collector: the honeypot's parent process after the fork (docs/honeypot.md). It reads the
 * sensor's frames, classifies sessions and files with YARA, stores samples by hash, fetches
 * download URLs when allowed, and writes hp_session / hp_sample events to the sink.
 */
#ifndef TORIDE_HONEYPOT_COLLECTOR_H
#define TORIDE_HONEYPOT_COLLECTOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/event.h"
#include "honeypot/hp.h"

struct hp_collector_config {
	int in_fd;                     /* the sensor's pipe (read end, blocking) */
	pid_t sensor_pid;              /* told to stop (SIGTERM) when *stop is set */
	volatile sig_atomic_t *stop;
	struct toride_sink *sink;
	struct hp_yara *yara;          /* NULL: no classification */
	struct hp_samples *samples;    /* NULL: files are hashed in the records, not kept */
	bool fetch_samples;            /* needs samples and fetch.scope */
	struct hp_fetch_config fetch;
	int stats_fd;                  /* counters rewritten in place every second (opened before
	                                * privileges were dropped); -1 = none */
	void (*log)(const char *line, void *arg);
	void *log_arg;
};

struct hp_collector_stats {
	uint64_t sessions, samples, fetched, fetch_failed, fetch_skipped, bad_frames, stats_frames;
	uint64_t write_errors, classify_errors;
};

/* Read frames until the sensor closes its end. Returns 0, or TORIDE_EPROTO when the sensor broke
 * the framing (it is killed), or another TORIDE_E* code. */
int hp_collector_run(const struct hp_collector_config *cfg, struct hp_collector_stats *st);

#endif
