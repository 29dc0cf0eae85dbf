/*
 * Stateless SYN discovery, sans-IO part (see synpkt.h for the contracts and the keyed check).
 * The builder runs millions of times a second: no allocation, fixed-size stores, one SipHash per
 * probe. The parser reads outside bytes: every read is preceded by a length check against n.
 */
#include "survey/synpkt.h"

#include <string.h>

#include <sodium.h>

#include "core/error.h"

/* Fixed header sizes. */
#define IP4_HDR 20
#define IP6_HDR 40
#define TCP_HDR 20
/* Our probe's TCP header: 20 bytes + the 4-byte MSS option (data offset 6). */
#define TCP_PROBE_HDR 24
#define PROBE_MSS 1460
#define PROBE_TTL 64
#define PROBE_WINDOW 65535
#define IPPROTO_TCP_NUM 6
/* Link-layer sizes. */
#define ETH_HDR 14
#define VLAN_TAG 4
#define SLL_HDR 16
#define SLL_PROTO_OFF 14
#define SLL2_HDR 20
#define SLL2_PROTO_OFF 0
/* 802.1Q/802.1ad tags the Ethernet parser skips: SYNPKT_MAX_L2 = 14 + two tags. */
#define MAX_VLAN_TAGS ((SYNPKT_MAX_L2 - ETH_HDR) / VLAN_TAG)
/* EtherTypes. */
#define ETHERTYPE_IP4 0x0800
#define ETHERTYPE_IP6 0x86dd
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100 /* pre-802.1ad outer tag, still sent by some switches */
/* IPv6 extension headers walked; a fragment header refuses. */
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_DSTOPTS 60

/* Hash input: family byte | src | dst | dport. */
#define HASH_IN_MAX (1 + 16 + 16 + 2)

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline size_t
addr_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

/* SipHash-2-4 of family | src | dst | dport; the 8-byte output read little endian. */
static uint64_t
keyed_hash(const struct synpkt_key *key, const struct toride_addr *src, const struct toride_addr *dst,
           uint16_t dport)
{
	uint8_t in[HASH_IN_MAX], out[crypto_shorthash_BYTES];
	size_t al = addr_len(src->family), n = 0;
	in[n++] = src->family;
	memcpy(in + n, src->b, al);
	n += al;
	memcpy(in + n, dst->b, al);
	n += al;
	wr16(in + n, dport);
	n += 2;
	crypto_shorthash(out, in, n, key->k);
	uint64_t h = 0;
	for (int i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

static inline int
ports_ok(const struct synpkt_ports *ports)
{
	return ports->count >= 1 && (uint32_t)ports->base + ports->count - 1 <= 65535;
}

void
synpkt_key_random(struct synpkt_key *key)
{
	/* sodium_init() is idempotent and thread-safe; randombytes_buf works even if it failed (it only
	 * picks the fastest implementations), so its result does not matter here. */
	if (sodium_init() < 0) {
		/* nothing to do: see above */
	}
	randombytes_buf(key->k, sizeof key->k);
}

int
synpkt_probe_init(struct synpkt_probe *p, const struct synpkt_key *key, const struct synpkt_ports *ports,
                  const struct toride_addr *src, const struct toride_addr *dst, uint16_t dport)
{
	if ((src->family != 4 && src->family != 6) || src->family != dst->family || !ports_ok(ports))
		return TORIDE_EINVAL;
	uint64_t h = keyed_hash(key, src, dst, dport);
	p->src = *src;
	p->dst = *dst;
	p->dport = dport;
	p->seq = (uint32_t)h;
	p->sport = (uint16_t)(ports->base + (uint32_t)((h >> 32) % ports->count));
	return 0;
}

uint32_t
synpkt_csum_add(uint32_t sum, const void *data, size_t n)
{
	/* 64-bit accumulator: no carry is lost however long data is; folded back to 32 bits so the
	 * result can be chained. Chained pieces must have even lengths except the last. */
	const uint8_t *p = data;
	uint64_t acc = sum;
	size_t i = 0;
	for (; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		acc += (uint32_t)p[i] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t
synpkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP SYN with the MSS option, checksum zero; returns nothing, writes TCP_PROBE_HDR bytes. */
static void
put_tcp_syn(uint8_t *t, const struct synpkt_probe *p)
{
	wr16(t, p->sport);
	wr16(t + 2, p->dport);
	wr32(t + 4, p->seq);
	wr32(t + 8, 0);                         /* ack */
	t[12] = (TCP_PROBE_HDR / 4) << 4;       /* data offset 6 */
	t[13] = SYNPKT_SYN;
	wr16(t + 14, PROBE_WINDOW);
	wr16(t + 16, 0);                        /* checksum, filled in below */
	wr16(t + 18, 0);                        /* urgent pointer */
	t[20] = 2;                              /* MSS option, length 4 */
	t[21] = 4;
	wr16(t + 22, PROBE_MSS);
}

int
synpkt_build(uint8_t *out, size_t cap, const struct synpkt_probe *p, uint16_t ip_id)
{
	if (p->src.family != p->dst.family || (p->src.family != 4 && p->src.family != 6))
		return TORIDE_EINVAL;
	if (p->src.family == 4) {
		if (cap < IP4_HDR + TCP_PROBE_HDR)
			return TORIDE_ETOOBIG;
		uint8_t *ip = out, *t = out + IP4_HDR;
		ip[0] = 0x45;
		ip[1] = 0;
		wr16(ip + 2, IP4_HDR + TCP_PROBE_HDR);
		wr16(ip + 4, ip_id);
		wr16(ip + 6, 0x4000); /* DF, offset 0 */
		ip[8] = PROBE_TTL;
		ip[9] = IPPROTO_TCP_NUM;
		wr16(ip + 10, 0);
		memcpy(ip + 12, p->src.b, 4);
		memcpy(ip + 16, p->dst.b, 4);
		wr16(ip + 10, synpkt_csum_fold(synpkt_csum_add(0, ip, IP4_HDR)));
		put_tcp_syn(t, p);
		/* Pseudo-header: src, dst (already in the IP header, contiguous), zero, proto, TCP length. */
		uint32_t s = synpkt_csum_add(0, ip + 12, 8);
		s += IPPROTO_TCP_NUM + TCP_PROBE_HDR;
		s = synpkt_csum_add(s, t, TCP_PROBE_HDR);
		wr16(t + 16, synpkt_csum_fold(s));
		return IP4_HDR + TCP_PROBE_HDR;
	}
	if (cap < IP6_HDR + TCP_PROBE_HDR)
		return TORIDE_ETOOBIG;
	uint8_t *ip = out, *t = out + IP6_HDR;
	wr32(ip, 0x60000000u); /* version 6, traffic class 0, flow label 0 */
	wr16(ip + 4, TCP_PROBE_HDR);
	ip[6] = IPPROTO_TCP_NUM;
	ip[7] = PROBE_TTL;
	memcpy(ip + 8, p->src.b, 16);
	memcpy(ip + 24, p->dst.b, 16);
	put_tcp_syn(t, p);
	/* Pseudo-header (RFC 8200 8.1): src, dst, 32-bit upper-layer length, zero, next header. */
	uint32_t s = synpkt_csum_add(0, ip + 8, 32);
	s += IPPROTO_TCP_NUM + TCP_PROBE_HDR;
	s = synpkt_csum_add(s, t, TCP_PROBE_HDR);
	wr16(t + 16, synpkt_csum_fold(s));
	return IP6_HDR + TCP_PROBE_HDR;
}

/* TCP header at t with len bytes of segment (bounded by the IP length). */
static int
parse_tcp(const uint8_t *t, size_t len, struct synpkt_reply *r)
{
	if (len < TCP_HDR)
		return TORIDE_EPARSE;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HDR || doff > len)
		return TORIDE_EPARSE;
	r->sport = rd16(t);
	r->dport = rd16(t + 2);
	r->seq = rd32(t + 4);
	r->ack = rd32(t + 8);
	r->flags = t[13];
	r->window = rd16(t + 14);
	return 0;
}

static int
parse_ip4(const uint8_t *p, size_t n, struct synpkt_reply *r)
{
	if (n < IP4_HDR || (p[0] >> 4) != 4)
		return TORIDE_EPARSE;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t tot = rd16(p + 2);
	/* The IP total length, not n: Ethernet pads short frames to 60 bytes. */
	if (ihl < IP4_HDR || tot < ihl || tot > n)
		return TORIDE_EPARSE;
	if ((rd16(p + 6) & 0x3fff) != 0) /* MF or a fragment offset */
		return TORIDE_EPARSE;
	if (p[9] != IPPROTO_TCP_NUM)
		return TORIDE_EPARSE;
	memset(&r->src, 0, sizeof r->src);
	memset(&r->dst, 0, sizeof r->dst);
	r->src.family = r->dst.family = 4;
	memcpy(r->src.b, p + 12, 4);
	memcpy(r->dst.b, p + 16, 4);
	r->ttl = p[8];
	return parse_tcp(p + ihl, tot - ihl, r);
}

static int
parse_ip6(const uint8_t *p, size_t n, struct synpkt_reply *r)
{
	if (n < IP6_HDR || (p[0] >> 4) != 6)
		return TORIDE_EPARSE;
	size_t plen = rd16(p + 4);
	if (plen > n - IP6_HDR) /* a jumbogram (payload length 0) has no TCP header and fails below */
		return TORIDE_EPARSE;
	const uint8_t *q = p + IP6_HDR;
	size_t left = plen;
	uint8_t nh = p[6];
	for (int i = 0; nh != IPPROTO_TCP_NUM; i++) {
		if (i >= SYNPKT_MAX_EXTHDRS)
			return TORIDE_EPARSE;
		if (nh != IP6_HOPOPTS && nh != IP6_ROUTING && nh != IP6_DSTOPTS)
			return TORIDE_EPARSE; /* fragment (44), no next header (59), not TCP */
		if (left < 2)
			return TORIDE_EPARSE;
		size_t hl = ((size_t)q[1] + 1) * 8;
		if (hl > left)
			return TORIDE_EPARSE;
		nh = q[0];
		q += hl;
		left -= hl;
	}
	memset(&r->src, 0, sizeof r->src);
	memset(&r->dst, 0, sizeof r->dst);
	r->src.family = r->dst.family = 6;
	memcpy(r->src.b, p + 8, 16);
	memcpy(r->dst.b, p + 24, 16);
	r->ttl = p[7];
	return parse_tcp(q, left, r);
}

/* IPv4 or IPv6 by EtherType; anything else refuses. */
static int
parse_ethertype(uint16_t type, const uint8_t *p, size_t n, struct synpkt_reply *r)
{
	if (type == ETHERTYPE_IP4)
		return parse_ip4(p, n, r);
	if (type == ETHERTYPE_IP6)
		return parse_ip6(p, n, r);
	return TORIDE_EPARSE;
}

int
synpkt_parse(const uint8_t *p, size_t n, enum synpkt_link link, struct synpkt_reply *r)
{
	switch (link) {
	case SYNPKT_LINK_RAW:
		if (n < 1)
			return TORIDE_EPARSE;
		return (p[0] >> 4) == 4 ? parse_ip4(p, n, r) : parse_ip6(p, n, r);
	case SYNPKT_LINK_ETHERNET: {
		if (n < ETH_HDR)
			return TORIDE_EPARSE;
		size_t off = ETH_HDR;
		uint16_t type = rd16(p + 12);
		for (int tags = 0; type == ETHERTYPE_8021Q || type == ETHERTYPE_8021AD || type == ETHERTYPE_QINQ_OLD;
		     tags++) {
			if (tags >= MAX_VLAN_TAGS || n - off < VLAN_TAG)
				return TORIDE_EPARSE;
			type = rd16(p + off + 2);
			off += VLAN_TAG;
		}
		return parse_ethertype(type, p + off, n - off, r);
	}
	case SYNPKT_LINK_SLL:
		if (n < SLL_HDR)
			return TORIDE_EPARSE;
		return parse_ethertype(rd16(p + SLL_PROTO_OFF), p + SLL_HDR, n - SLL_HDR, r);
	case SYNPKT_LINK_SLL2:
		if (n < SLL2_HDR)
			return TORIDE_EPARSE;
		return parse_ethertype(rd16(p + SLL2_PROTO_OFF), p + SLL2_HDR, n - SLL2_HDR, r);
	}
	return TORIDE_EPARSE;
}

enum synpkt_kind
synpkt_classify(const struct synpkt_key *key, const struct synpkt_ports *ports, const struct synpkt_reply *r)
{
	if (!ports_ok(ports) || (r->src.family != 4 && r->src.family != 6) || r->src.family != r->dst.family)
		return SYNPKT_NOT_OURS;
	uint8_t f = r->flags;
	enum synpkt_kind kind;
	if (f & SYNPKT_RST)
		kind = SYNPKT_CLOSED;
	else if ((f & (SYNPKT_SYN | SYNPKT_ACK)) == (SYNPKT_SYN | SYNPKT_ACK))
		kind = SYNPKT_OPEN;
	else
		return SYNPKT_NOT_OURS;
	/* The probe went from r->dst (us) to r->src (the target) port r->sport. */
	uint64_t h = keyed_hash(key, &r->dst, &r->src, r->sport);
	uint16_t sport = (uint16_t)(ports->base + (uint32_t)((h >> 32) % ports->count));
	if (r->dport != sport || r->ack != (uint32_t)h + 1)
		return SYNPKT_NOT_OURS;
	return kind;
}
