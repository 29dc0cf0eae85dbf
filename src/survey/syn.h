/*
 * Stateless SYN discovery (docs/survey-scale.md): a sender thread walks the survey's address x port
 * order (same permutation, shard, scope and exclusions as the connect path), writes SYN probes
 * (survey/synpkt.h) in batches with sendmmsg(2) on raw IP sockets at --rate; a receiver thread reads
 * replies from a libpcap capture (a TPACKET_V3 ring), keeps the ones the keyed check says are ours,
 * drops duplicates, and puts each newly open (address, port) into a bounded queue that the survey
 * loop drains into identification and checks.
 *
 * Back-pressure: the sender pauses while queue length + probes still awaiting their reply window
 * could overflow the queue, so a reply is never dropped for want of room; the checks set the pace.
 *
 * Threads: syn_disc_start() starts the two threads; every other call is made from the survey loop's
 * thread. The notify callback runs on the receiver thread (use it for uv_async_send only).
 */
#ifndef TORIDE_SURVEY_SYN_H
#define TORIDE_SURVEY_SYN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/scope.h"

/* Most packets per pair (--probes): more than a few only adds load; loss is rarely that high. */
#define SYN_MAX_PROBES 10
/* Default queue of discovered pairs waiting for checks: 1 Mi entries (~24 MB) absorbs a burst of
 * opens at a million probes per second with a 1 % hit rate for 100 s of slow checks. */
#define SYN_QUEUE_DEFAULT (1u << 20)

struct syn_disc;

struct syn_config {
	const struct toride_scope *scope; /* finalized; outlives the discovery */
	const uint16_t *ports;
	size_t nports;
	uint64_t seed;
	uint32_t shard_index, shard_count;
	uint64_t start_position;          /* resume: order position to start from (0: beginning) */
	double rate;                      /* probe packets per second; 0 = as fast as possible */
	unsigned probes;                  /* packets per pair, 1..SYN_MAX_PROBES */
	unsigned cooldown_ms;             /* wait for late replies after the last probe */
	const char *interface;            /* capture interface; NULL: the one the route to the scope uses */
	const struct toride_addr *source4, *source6; /* NULL: the route's source address */
	uint16_t sport_base, sport_count; /* 0, 0: defaults (a range outside ip_local_port_range) */
	size_t queue_cap;                 /* 0: SYN_QUEUE_DEFAULT */
	void (*notify)(void *arg);        /* called on the receiver thread after queueing a hit */
	void *notify_arg;
};

struct syn_hit {
	struct toride_addr addr;
	uint16_t port;
};

struct syn_stats {
	uint64_t total;        /* pairs this shard visits */
	uint64_t position;     /* pairs whose probes are all sent */
	uint64_t packets;      /* probe packets sent (pairs x probes) */
	uint64_t replies;      /* replies that passed the keyed check (duplicates included) */
	uint64_t open, closed; /* distinct open pairs queued; RSTs seen (not deduplicated) */
	uint64_t duplicates;   /* open replies for a pair already queued */
	uint64_t not_ours;     /* captured TCP replies that failed the keyed check or the scope */
	uint64_t kernel_drops; /* packets the capture ring dropped (pcap_stats ps_drop) */
	uint64_t queued;       /* pairs waiting in the queue now */
	uint64_t send_errors;  /* probes the kernel refused for good (e.g. EHOSTUNREACH, a firewall) */
	int error;             /* 0, or the TORIDE_E* code that stopped discovery (TORIDE_ESCOPE) */
	double send_seconds;   /* time from the first to the last probe */
	bool sending_done;     /* every probe sent */
	bool finished;         /* sending done and the cool-down over: no more hits will come */
};

/* Open the raw sockets and the capture. Needs CAP_NET_RAW: without it returns TORIDE_EUNSUPPORTED
 * with a sentence in err saying why (the caller falls back to connect discovery and says so).
 * Other failures (no route to the scope, no source address, capture error) return TORIDE_EIO with
 * the reason in err. Nothing is sent before syn_disc_start(). */
int syn_disc_new(struct syn_disc **out, const struct syn_config *cfg, char *err, size_t errlen);

/* Start the sender and the receiver. Returns 0 or TORIDE_EIO. */
int syn_disc_start(struct syn_disc *d);

/* Take up to max hits out of the queue, in arrival order. Returns the number taken. */
size_t syn_disc_pop(struct syn_disc *d, struct syn_hit *out, size_t max);

/* A snapshot of the counters. */
void syn_disc_stats(struct syn_disc *d, struct syn_stats *st);

/* Highest order position P such that every reply to a probe before P has been taken out of the
 * queue by syn_disc_pop(): a run resumed at P with the same scope, ports, seed and shard repeats no
 * discovery that was handed over. Always <= position. */
uint64_t syn_disc_checkpoint(struct syn_disc *d);

/* One line for the log: capture interface, source addresses, source ports, e.g.
 * "capture on lo, source 127.0.0.1, source ports 61000-61255". */
void syn_disc_describe(struct syn_disc *d, char *out, size_t outlen);

/* Stop sending now (Ctrl-C); the receiver stops too. Hits already queued stay poppable. */
void syn_disc_stop(struct syn_disc *d);

/* Join the threads and free everything (NULL is fine). */
void syn_disc_free(struct syn_disc *d);

#endif
