/*
 * Stateless SYN discovery, sans-IO part: build a TCP SYN probe (IPv4 or IPv6), parse a captured
 * reply frame, and recognise our own replies by a keyed check, with no per-target table.
 *
 * The check (ZMap's idea, keyed with SipHash-2-4 from libsodium's crypto_shorthash): for a probe
 * from (src, sport) to (dst, dport), h = SipHash(key, family | src | dst | dport). The probe's
 * sequence number is the low 32 bits of h and its source port is sport_base + (h >> 32) % sport_count.
 * A reply from (dst, dport) to (src, sport) is ours iff its destination port is that source port
 * and its acknowledgement number is seq + 1 (a SYN-ACK from an open port, or the RST-ACK a closed
 * port sends). Anyone who does not know the 128-bit key cannot forge a reply that passes, and a
 * reply for a pair we never probed fails (the caller also checks the scope).
 *
 * Nothing here does I/O; survey/syn.c owns the sockets.
 */
#ifndef TORIDE_SURVEY_SYNPKT_H
#define TORIDE_SURVEY_SYNPKT_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

/* SipHash-2-4 key size (libsodium crypto_shorthash_KEYBYTES). */
#define SYNPKT_KEY_BYTES 16
/* Largest probe built: IPv6 header (40) + TCP header with the MSS option (24). */
#define SYNPKT_MAX_PROBE 64
/* Largest Ethernet header the parser accepts: 14 bytes + two 802.1Q/802.1ad tags. */
#define SYNPKT_MAX_L2 22
/* IPv6 extension headers the parser walks before giving up: real replies carry none; a chain
 * longer than this is hostile or broken. */
#define SYNPKT_MAX_EXTHDRS 8

/* Link-layer framing of a captured frame (what the capture handle reports). */
enum synpkt_link {
	SYNPKT_LINK_RAW = 0,      /* starts at the IP header (DLT_RAW, SOCK_DGRAM packet sockets) */
	SYNPKT_LINK_ETHERNET = 1, /* Ethernet II, optionally 802.1Q/802.1ad tagged (DLT_EN10MB) */
	SYNPKT_LINK_SLL = 2,      /* Linux cooked capture v1, 16 bytes (DLT_LINUX_SLL, "any") */
	SYNPKT_LINK_SLL2 = 3,     /* Linux cooked capture v2, 20 bytes (DLT_LINUX_SLL2) */
};

/* TCP flag bits as on the wire. */
#define SYNPKT_FIN 0x01
#define SYNPKT_SYN 0x02
#define SYNPKT_RST 0x04
#define SYNPKT_ACK 0x10

struct synpkt_key {
	uint8_t k[SYNPKT_KEY_BYTES];
};

/* The source ports probes use: [base, base + count), count >= 1, base + count - 1 <= 65535. */
struct synpkt_ports {
	uint16_t base;
	uint16_t count;
};

/* A fully described probe. */
struct synpkt_probe {
	struct toride_addr src, dst; /* same family */
	uint16_t sport, dport;       /* host byte order */
	uint32_t seq;
};

/* What the parser read from a reply frame (host byte order). */
struct synpkt_reply {
	struct toride_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;  /* SYNPKT_* bits */
	uint8_t ttl;    /* IPv4 TTL or IPv6 hop limit */
	uint16_t window;
};

enum synpkt_kind {
	SYNPKT_NOT_OURS = 0, /* not a reply to one of our probes (or forged) */
	SYNPKT_OPEN = 1,     /* SYN-ACK with the right acknowledgement: the port is open */
	SYNPKT_CLOSED = 2,   /* RST with the right acknowledgement: the address is live, the port closed */
};

/* A fresh random key (libsodium randombytes). Each run has its own key; a resumed run may use a
 * new one (replies to probes of the earlier run are then simply not ours). */
void synpkt_key_random(struct synpkt_key *key);

/* Fill p->sport and p->seq for the probe from src to (dst, dport) under key and ports. src and dst
 * must be of the same family. Returns 0 or TORIDE_EINVAL (family mismatch, bad ports). */
int synpkt_probe_init(struct synpkt_probe *p, const struct synpkt_key *key, const struct synpkt_ports *ports,
                      const struct toride_addr *src, const struct toride_addr *dst, uint16_t dport);

/* Write the probe as an IP packet (IPv4 header with DF, TTL 64, or IPv6 header with hop limit 64)
 * followed by a TCP SYN with window 65535 and one MSS option of 1460, both checksums filled in.
 * Returns the length written (44 for IPv4, 64 for IPv6) or TORIDE_ETOOBIG if cap is too small,
 * TORIDE_EINVAL for a bad family. ip_id is the IPv4 identification field (ignored for IPv6). */
int synpkt_build(uint8_t *out, size_t cap, const struct synpkt_probe *p, uint16_t ip_id);

/* Parse one captured frame of the given link type into r. Accepts IPv4 (any header options, not a
 * fragment) and IPv6 (walks at most SYNPKT_MAX_EXTHDRS extension headers; a fragment header refuses)
 * carrying TCP; every length is checked against n and against the IP total/payload length.
 * Returns 0, TORIDE_EPARSE (truncated, malformed, not IP, not TCP), never reads beyond p + n. */
int synpkt_parse(const uint8_t *p, size_t n, enum synpkt_link link, struct synpkt_reply *r);

/* Is r a reply to one of our probes under key and ports, and what does it say? Checks the
 * destination port against the source port the key gives for (r->dst, r->src, r->sport), and
 * r->ack against that probe's seq + 1. SYN+ACK -> SYNPKT_OPEN; RST (with or without ACK, as long
 * as the acknowledgement matches; RST wins over SYN) -> SYNPKT_CLOSED; anything else (a SYN
 * without ACK, a bare ACK) -> SYNPKT_NOT_OURS. Also NOT_OURS for invalid ports or families. */
enum synpkt_kind synpkt_classify(const struct synpkt_key *key, const struct synpkt_ports *ports,
                                 const struct synpkt_reply *r);

/* Internet checksum (RFC 1071) of data, continuing from a partial sum; fold with synpkt_csum_fold.
 * When chaining, every piece but the last must have an even length (an odd last byte is padded
 * with a zero byte). Exposed for the tests. */
uint32_t synpkt_csum_add(uint32_t sum, const void *data, size_t n);
uint16_t synpkt_csum_fold(uint32_t sum);

#endif
