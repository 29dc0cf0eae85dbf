/*
 * SYN discovery packets (survey/synpkt.h). Real data in tests/data/synpkt (README.md there says how
 * each file was made and checked):
 * - ref-probes.pcap: two probes whose bytes tcpdump -vv checked ("cksum ... (correct)");
 * - probes-*.pcap: our probes sent on raw IPPROTO_RAW sockets in a private namespace and the Linux
 *   kernel's SYN-ACK / RST-ACK replies, captured on lo (Ethernet), and on "any" (SLL, SLL2);
 * - connect-lo.pcap: the kernel's own connect() handshakes (SYN-ACK with options, RST-ACK).
 * Variants (VLAN tags, IPv4 options, IPv6 extension headers, truncations) are built from those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/addr.h"
#include "core/error.h"
#include "survey/synpkt.h"

#define DATA TORIDE_TEST_DATA "/synpkt/"
#define MAX_FRAMES 32
#define MAX_FILE 8192
/* pcap link types */
#define LT_EN10MB 1
#define LT_RAW 101
#define LT_SLL 113
#define LT_SLL2 276

/* The key and port range the captures were made with (gen_probes.c). */
static const struct synpkt_ports test_ports = {40000, 256};

static void
test_key(struct synpkt_key *k)
{
	for (int i = 0; i < SYNPKT_KEY_BYTES; i++)
		k->k[i] = (uint8_t)i;
}

struct capture {
	uint8_t file[MAX_FILE];
	uint32_t linktype;
	size_t n;
	const uint8_t *frame[MAX_FRAMES];
	size_t len[MAX_FRAMES];
};

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A classic little-endian pcap: 24-byte global header, 16-byte record headers. */
static void
load(const char *name, struct capture *c)
{
	char path[512];
	snprintf(path, sizeof path, DATA "%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(c->file, 1, sizeof c->file, f);
	assert_true(feof(f));
	fclose(f);
	assert_true(n >= 24);
	assert_int_equal(le32(c->file), 0xa1b2c3d4);
	c->linktype = le32(c->file + 20);
	c->n = 0;
	size_t off = 24;
	while (off < n) {
		assert_true(n - off >= 16);
		size_t incl = le32(c->file + off + 8);
		assert_int_equal(incl, le32(c->file + off + 12)); /* not cut by the snap length */
		off += 16;
		assert_true(incl <= n - off);
		assert_true(c->n < MAX_FRAMES);
		c->frame[c->n] = c->file + off;
		c->len[c->n++] = incl;
		off += incl;
	}
}

static enum synpkt_link
link_of(uint32_t lt)
{
	switch (lt) {
	case LT_EN10MB:
		return SYNPKT_LINK_ETHERNET;
	case LT_SLL:
		return SYNPKT_LINK_SLL;
	case LT_SLL2:
		return SYNPKT_LINK_SLL2;
	default:
		assert_int_equal(lt, LT_RAW);
		return SYNPKT_LINK_RAW;
	}
}

/* Independent RFC 1071 sum (not the library's): 16-bit big-endian words, carries folded at the end. */
static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint16_t)s;
}

/* Both checksums of an IP packet carrying TCP verify (sum over the field included is 0xffff). */
static void
assert_checksums(const uint8_t *ip, size_t n)
{
	uint32_t s;
	size_t tcp, tlen;
	if ((ip[0] >> 4) == 4) {
		size_t ihl = (size_t)(ip[0] & 15) * 4;
		assert_int_equal(fold(sum16(0, ip, ihl)), 0xffff);
		tcp = ihl;
		tlen = n - ihl;
		s = sum16(0, ip + 12, 8) + 6 + (uint32_t)tlen;
	} else {
		tcp = 40;
		tlen = n - 40;
		s = sum16(0, ip + 8, 32) + 6 + (uint32_t)tlen;
	}
	assert_int_equal(fold(sum16(s, ip + tcp, tlen)), 0xffff);
}

static void
addr(const char *s, struct toride_addr *a)
{
	assert_int_equal(toride_addr_parse(s, a), 0);
}

static int
build(const char *src, const char *dst, uint16_t dport, uint16_t ip_id, uint8_t *out, struct synpkt_probe *pr)
{
	struct synpkt_key key;
	struct toride_addr s, d;
	struct synpkt_probe tmp;
	if (pr == NULL)
		pr = &tmp;
	test_key(&key);
	addr(src, &s);
	addr(dst, &d);
	assert_int_equal(synpkt_probe_init(pr, &key, &test_ports, &s, &d, dport), 0);
	return synpkt_build(out, SYNPKT_MAX_PROBE, pr, ip_id);
}

/* The built probes equal the tcpdump-checked reference bytes, field by field and byte for byte. */
static void
test_build_reference(void **state)
{
	(void)state;
	static struct capture c;
	load("ref-probes.pcap", &c);
	assert_int_equal(c.linktype, LT_RAW);
	assert_int_equal(c.n, 2);
	uint8_t b[SYNPKT_MAX_PROBE];
	struct synpkt_probe pr;

	assert_int_equal(build("192.0.2.1", "198.51.100.7", 23, 0x1234, b, &pr), 44);
	assert_int_equal(c.len[0], 44);
	assert_memory_equal(b, c.frame[0], 44);
	assert_checksums(b, 44);
	/* tcpdump -vv: id 4660, flags [DF], ttl 64, 40183 > 23, seq 3121440660, win 65535, mss 1460 */
	assert_int_equal(pr.sport, 40183);
	assert_int_equal(pr.seq, 3121440660u);
	assert_int_equal(b[6], 0x40);  /* DF */
	assert_int_equal(b[8], 64);
	assert_int_equal(b[9], 6);
	assert_int_equal(b[32], 0x60); /* data offset 6 */
	assert_int_equal(b[33], SYNPKT_SYN);
	assert_memory_equal(b + 40, "\x02\x04\x05\xb4", 4);

	assert_int_equal(build("2001:db8::1", "2001:db8::7", 23, 0x1234, b, &pr), 64);
	assert_int_equal(c.len[1], 64);
	assert_memory_equal(b, c.frame[1], 64);
	assert_checksums(b, 64);
	assert_int_equal(pr.sport, 40150);
	assert_int_equal(pr.seq, 2980459912u);
	assert_int_equal(b[6], 6);
	assert_int_equal(b[7], 64);
	assert_int_equal(b[4] << 8 | b[5], 24);
}

/* The hash input is family | src | dst | dport (big endian), the output read little endian. */
static void
test_hash_definition(void **state)
{
	(void)state;
	struct synpkt_key key;
	test_key(&key);
	struct toride_addr s, d;
	addr("2001:db8::1", &s);
	addr("2001:db8::7", &d);
	uint8_t in[35], h[8];
	in[0] = 6;
	memcpy(in + 1, s.b, 16);
	memcpy(in + 17, d.b, 16);
	in[33] = 0x1f;
	in[34] = 0x90; /* 8080 */
	assert_int_equal(crypto_shorthash(h, in, sizeof in, key.k), 0);
	uint32_t lo = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	uint32_t hi = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
	struct synpkt_probe pr;
	assert_int_equal(synpkt_probe_init(&pr, &key, &test_ports, &s, &d, 8080), 0);
	assert_int_equal(pr.seq, lo);
	assert_int_equal(pr.sport, 40000 + hi % 256);
	assert_int_equal(pr.dport, 8080);

	addr("192.0.2.1", &s);
	addr("198.51.100.7", &d);
	in[0] = 4;
	memcpy(in + 1, s.b, 4);
	memcpy(in + 5, d.b, 4);
	in[9] = 0;
	in[10] = 23;
	assert_int_equal(crypto_shorthash(h, in, 11, key.k), 0);
	lo = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	assert_int_equal(synpkt_probe_init(&pr, &key, &test_ports, &s, &d, 23), 0);
	assert_int_equal(pr.seq, lo);
}

static void
test_build_errors(void **state)
{
	(void)state;
	struct synpkt_key key;
	test_key(&key);
	struct toride_addr s4, d4, s6;
	addr("192.0.2.1", &s4);
	addr("198.51.100.7", &d4);
	addr("2001:db8::1", &s6);
	struct synpkt_probe pr;
	struct synpkt_ports bad0 = {40000, 0}, bad1 = {65280, 257}, edge = {65280, 256};
	assert_int_equal(synpkt_probe_init(&pr, &key, &test_ports, &s6, &d4, 80), TORIDE_EINVAL);
	assert_int_equal(synpkt_probe_init(&pr, &key, &bad0, &s4, &d4, 80), TORIDE_EINVAL);
	assert_int_equal(synpkt_probe_init(&pr, &key, &bad1, &s4, &d4, 80), TORIDE_EINVAL);
	assert_int_equal(synpkt_probe_init(&pr, &key, &edge, &s4, &d4, 80), 0);
	assert_true(pr.sport >= 65280);

	uint8_t b[SYNPKT_MAX_PROBE + 1];
	memset(b, 0xee, sizeof b);
	assert_int_equal(synpkt_probe_init(&pr, &key, &test_ports, &s4, &d4, 80), 0);
	assert_int_equal(synpkt_build(b, 43, &pr, 1), TORIDE_ETOOBIG);
	assert_int_equal(synpkt_build(b, 44, &pr, 1), 44);
	assert_int_equal(b[44], 0xee); /* nothing past the length */
	pr.dst.family = 6;
	assert_int_equal(synpkt_build(b, sizeof b, &pr, 1), TORIDE_EINVAL);
	pr.src.family = 6;
	assert_int_equal(synpkt_build(b, 63, &pr, 1), TORIDE_ETOOBIG);
	assert_int_equal(synpkt_build(b, 64, &pr, 1), 64);
	assert_int_equal(b[64], 0xee);
	pr.src.family = pr.dst.family = 5;
	assert_int_equal(synpkt_build(b, sizeof b, &pr, 1), TORIDE_EINVAL);
}

static void
test_csum_helpers(void **state)
{
	(void)state;
	/* RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to ddf2. */
	static const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(synpkt_csum_fold(synpkt_csum_add(0, ex, sizeof ex)), (uint16_t)~0xddf2);
	/* Chained in even pieces = in one go; an odd tail is padded with a zero byte. */
	uint32_t s = synpkt_csum_add(synpkt_csum_add(0, ex, 4), ex + 4, 4);
	assert_int_equal(synpkt_csum_fold(s), (uint16_t)~0xddf2);
	static const uint8_t odd[] = {0x12, 0x34, 0x56};
	assert_int_equal(synpkt_csum_fold(synpkt_csum_add(0, odd, 3)), (uint16_t)~(0x1234 + 0x5600));
	/* A carry out of the 32-bit partial sum is folded back in, not lost. */
	assert_int_equal(synpkt_csum_fold(synpkt_csum_add(0xffffffffu, "\x00\x01", 2)), 0xfffe);
	/* No carry is lost on a long run of 0xff. */
	static uint8_t ff[70000];
	memset(ff, 0xff, sizeof ff);
	assert_int_equal(synpkt_csum_fold(synpkt_csum_add(0, ff, sizeof ff)), 0);
}

/* Many probes: checksums verify with the independent sum, sport stays in range. */
static void
test_build_many(void **state)
{
	(void)state;
	struct synpkt_key key;
	test_key(&key);
	struct synpkt_ports ports = {1024, 7};
	struct toride_addr s, d;
	uint8_t b[SYNPKT_MAX_PROBE];
	for (uint32_t i = 0; i < 2000; i++) {
		memset(&s, 0, sizeof s);
		memset(&d, 0, sizeof d);
		s.family = d.family = (i & 1) ? 6 : 4;
		randombytes_buf(s.b, s.family == 4 ? 4 : 16);
		randombytes_buf(d.b, d.family == 4 ? 4 : 16);
		struct synpkt_probe pr;
		assert_int_equal(synpkt_probe_init(&pr, &key, &ports, &s, &d, (uint16_t)i), 0);
		assert_true(pr.sport >= 1024 && pr.sport < 1031);
		int n = synpkt_build(b, sizeof b, &pr, (uint16_t)(i * 7));
		assert_int_equal(n, s.family == 4 ? 44 : 64);
		assert_checksums(b, (size_t)n);
	}
}

/* Our probes exactly as the kernel accepted them on raw sockets (probes-lo.pcap frames 0, 3, 6, 8). */
static void
test_kernel_accepted_probes(void **state)
{
	(void)state;
	static struct capture c;
	load("probes-lo.pcap", &c);
	assert_int_equal(c.n, 10);
	static const struct {
		size_t frame;
		const char *a;
		uint16_t dport;
	} sent[] = {{0, "127.0.0.1", 8080}, {3, "::1", 8080}, {6, "127.0.0.1", 8081}, {8, "::1", 8081}};
	for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++) {
		uint8_t b[SYNPKT_MAX_PROBE];
		int n = build(sent[i].a, sent[i].a, sent[i].dport, 0x1234, b, NULL);
		assert_int_equal(c.len[sent[i].frame], 14 + (size_t)n);
		assert_memory_equal(c.frame[sent[i].frame] + 14, b, (size_t)n);
	}
}

/* The kernel's replies to our probes, in each framing, classify as ours; nothing else does. */
static void
check_kernel_replies(const char *name, uint32_t lt)
{
	static struct capture c;
	load(name, &c);
	assert_int_equal(c.linktype, lt);
	assert_int_equal(c.n, 10);
	/* probe v4 8080, SYN-ACK, kernel RST for it; the same for v6; probe v4 8081, RST-ACK; v6 */
	static const enum synpkt_kind want[10] = {
		SYNPKT_NOT_OURS, SYNPKT_OPEN, SYNPKT_NOT_OURS, SYNPKT_NOT_OURS, SYNPKT_OPEN,
		SYNPKT_NOT_OURS, SYNPKT_NOT_OURS, SYNPKT_CLOSED, SYNPKT_NOT_OURS, SYNPKT_CLOSED,
	};
	struct synpkt_key key, other;
	test_key(&key);
	memcpy(&other, &key, sizeof other);
	other.k[15] ^= 1;
	struct synpkt_ports shifted = {40001, 256};
	for (size_t i = 0; i < c.n; i++) {
		struct synpkt_reply r;
		assert_int_equal(synpkt_parse(c.frame[i], c.len[i], link_of(lt), &r), 0);
		assert_int_equal(synpkt_classify(&key, &test_ports, &r), want[i]);
		assert_int_equal(synpkt_classify(&other, &test_ports, &r), SYNPKT_NOT_OURS);
		assert_int_equal(synpkt_classify(&key, &shifted, &r), SYNPKT_NOT_OURS);
		assert_int_equal(r.ttl, 64);
		if (want[i] == SYNPKT_OPEN)
			assert_int_equal(r.flags, SYNPKT_SYN | SYNPKT_ACK);
		if (want[i] == SYNPKT_CLOSED)
			assert_int_equal(r.flags, SYNPKT_RST | SYNPKT_ACK);
	}
	/* tcpdump: 127.0.0.1.8080 > 127.0.0.1.40074: Flags [S.], seq 73336738, ack 2123647355, win 65495 */
	struct synpkt_reply r;
	char a[TORIDE_ADDR_STRLEN];
	assert_int_equal(synpkt_parse(c.frame[1], c.len[1], link_of(lt), &r), 0);
	assert_int_equal(toride_addr_format(&r.src, a, sizeof a), 0);
	assert_string_equal(a, "127.0.0.1");
	assert_int_equal(r.sport, 8080);
	assert_int_equal(r.dport, 40074);
	assert_int_equal(r.seq, 73336738u);
	assert_int_equal(r.ack, 2123647355u);
	assert_int_equal(r.window, 65495);
	/* ::1.8081 > ::1.40019: Flags [R.], seq 0, ack 3897448093, win 0 */
	assert_int_equal(synpkt_parse(c.frame[9], c.len[9], link_of(lt), &r), 0);
	assert_int_equal(toride_addr_format(&r.dst, a, sizeof a), 0);
	assert_string_equal(a, "::1");
	assert_int_equal(r.src.family, 6);
	assert_int_equal(r.sport, 8081);
	assert_int_equal(r.dport, 40019);
	assert_int_equal(r.ack, 3897448093u);
	assert_int_equal(r.window, 0);
}

static void
test_replies_ethernet(void **state)
{
	(void)state;
	check_kernel_replies("probes-lo.pcap", LT_EN10MB);
}

static void
test_replies_sll(void **state)
{
	(void)state;
	check_kernel_replies("probes-any-sll.pcap", LT_SLL);
}

static void
test_replies_sll2(void **state)
{
	(void)state;
	check_kernel_replies("probes-any-sll2.pcap", LT_SLL2);
}

/* The kernel's own handshakes (options, timestamps) parse; every SYN-ACK acknowledges its SYN. */
static void
test_connect_capture(void **state)
{
	(void)state;
	static struct capture c;
	load("connect-lo.pcap", &c);
	assert_int_equal(c.n, 16);
	struct synpkt_reply r, syn = {0};
	int synacks = 0, rsts = 0;
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(synpkt_parse(c.frame[i], c.len[i], SYNPKT_LINK_ETHERNET, &r), 0);
		if (r.flags == SYNPKT_SYN)
			syn = r;
		if (r.flags == (SYNPKT_SYN | SYNPKT_ACK) || (r.flags == (SYNPKT_RST | SYNPKT_ACK) && r.seq == 0)) {
			assert_int_equal(r.ack, syn.seq + 1);
			assert_int_equal(r.dport, syn.sport);
			assert_int_equal(r.sport, syn.dport);
			assert_int_equal(toride_addr_cmp(&r.src, &syn.dst), 0);
			synacks += r.flags & SYNPKT_SYN ? 1 : 0;
			rsts += r.flags & SYNPKT_RST ? 1 : 0;
		}
	}
	assert_int_equal(synacks, 2);
	assert_int_equal(rsts, 2);
	/* tcpdump: 127.0.0.1.8080 > 127.0.0.1.39304: Flags [S.], seq 2090600192, ack 2464992256, win 65483 */
	assert_int_equal(synpkt_parse(c.frame[1], c.len[1], SYNPKT_LINK_ETHERNET, &r), 0);
	assert_int_equal(r.sport, 8080);
	assert_int_equal(r.dport, 39304);
	assert_int_equal(r.seq, 2090600192u);
	assert_int_equal(r.ack, 2464992256u);
	assert_int_equal(r.window, 65483);
	/* ::1.8080 > ::1.41396: Flags [S.], seq 1308474691, ack 2642285970, win 65464 */
	assert_int_equal(synpkt_parse(c.frame[8], c.len[8], SYNPKT_LINK_ETHERNET, &r), 0);
	assert_int_equal(r.src.family, 6);
	assert_int_equal(r.dport, 41396);
	assert_int_equal(r.seq, 1308474691u);
	assert_int_equal(r.ack, 2642285970u);
	assert_int_equal(r.window, 65464);
	/* ::1.8081 > ::1.60420: Flags [R.], seq 0, ack 1664523324 */
	assert_int_equal(synpkt_parse(c.frame[13], c.len[13], SYNPKT_LINK_ETHERNET, &r), 0);
	assert_int_equal(r.flags, SYNPKT_RST | SYNPKT_ACK);
	assert_int_equal(r.ack, 1664523324u);
}

static void
assert_same_reply(const struct synpkt_reply *a, const struct synpkt_reply *b)
{
	assert_int_equal(toride_addr_cmp(&a->src, &b->src), 0);
	assert_int_equal(toride_addr_cmp(&a->dst, &b->dst), 0);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->window, b->window);
}

/* Every prefix of a valid frame is refused, read from a heap block of exactly that size (ASan). */
static void
assert_prefixes_refused(const uint8_t *f, size_t n, enum synpkt_link link)
{
	for (size_t k = 0; k < n; k++) {
		uint8_t *p = malloc(k ? k : 1);
		assert_non_null(p);
		memcpy(p, f, k);
		struct synpkt_reply r;
		assert_int_equal(synpkt_parse(p, k, link, &r), TORIDE_EPARSE);
		free(p);
	}
}

/* The IPv4 and IPv6 SYN-ACKs of probes-lo.pcap as raw IP, and their parsed form. */
static size_t
real_synack(int v6, uint8_t *ip, size_t cap, struct synpkt_reply *r)
{
	static struct capture c;
	load("probes-lo.pcap", &c);
	size_t i = v6 ? 4 : 1, n = c.len[i] - 14;
	assert_true(n <= cap);
	memcpy(ip, c.frame[i] + 14, n);
	assert_int_equal(synpkt_parse(ip, n, SYNPKT_LINK_RAW, r), 0);
	return n;
}

static void
test_vlan_tags(void **state)
{
	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		uint8_t ip[128], f[256];
		struct synpkt_reply want, r;
		size_t n = real_synack(v6, ip, sizeof ip, &want);
		static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
		uint8_t et[2] = {v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00};
		/* untagged, one 802.1Q tag, 802.1ad + 802.1Q, and the old 0x9100 outer tag */
		static const uint8_t tags[4][8] = {
			{0}, {0x81, 0x00, 0x00, 0x64}, {0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64},
			{0x91, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64},
		};
		static const size_t tlen[4] = {0, 4, 8, 8};
		for (int t = 0; t < 4; t++) {
			memcpy(f, macs, 12);
			memcpy(f + 12, tags[t], tlen[t]);
			memcpy(f + 12 + tlen[t], et, 2);
			memcpy(f + 14 + tlen[t], ip, n);
			size_t fl = 14 + tlen[t] + n;
			assert_int_equal(synpkt_parse(f, fl, SYNPKT_LINK_ETHERNET, &r), 0);
			assert_same_reply(&r, &want);
			assert_prefixes_refused(f, fl, SYNPKT_LINK_ETHERNET);
		}
		/* three tags: more than SYNPKT_MAX_L2 allows */
		memcpy(f, macs, 12);
		memcpy(f + 12, tags[2], 8);
		memcpy(f + 20, "\x81\x00\x00\x65", 4);
		memcpy(f + 24, et, 2);
		memcpy(f + 26, ip, n);
		assert_int_equal(synpkt_parse(f, 26 + n, SYNPKT_LINK_ETHERNET, &r), TORIDE_EPARSE);
		/* not IP (ARP's EtherType) */
		memcpy(f + 12, "\x08\x06", 2);
		memcpy(f + 14, ip, n);
		assert_int_equal(synpkt_parse(f, 14 + n, SYNPKT_LINK_ETHERNET, &r), TORIDE_EPARSE);
		/* the same with SLL / SLL2 headers carrying a wrong protocol */
		memset(f, 0, 20);
		memcpy(f + 20, ip, n);
		assert_int_equal(synpkt_parse(f, 20 + n, SYNPKT_LINK_SLL2, &r), TORIDE_EPARSE);
		assert_int_equal(synpkt_parse(f + 4, 16 + n, SYNPKT_LINK_SLL, &r), TORIDE_EPARSE);
	}
}

static void
set16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
test_ipv4_fields(void **state)
{
	(void)state;
	uint8_t ip[128], f[256];
	struct synpkt_reply want, r;
	size_t n = real_synack(0, ip, sizeof ip, &want);
	assert_int_equal(n, 44);

	/* 12 bytes of options (record route, then end of list): IHL 8 */
	memcpy(f, ip, 20);
	memcpy(f + 20, "\x07\x0b\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12);
	memcpy(f + 32, ip + 20, n - 20);
	f[0] = 0x48;
	set16(f + 2, n + 12);
	assert_int_equal(synpkt_parse(f, n + 12, SYNPKT_LINK_RAW, &r), 0);
	assert_same_reply(&r, &want);
	assert_prefixes_refused(f, n + 12, SYNPKT_LINK_RAW);
	/* IHL 15 (60 bytes): the TCP header would start past the total length */
	f[0] = 0x4f;
	assert_int_equal(synpkt_parse(f, n + 12, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);

	/* trailing Ethernet padding: the IP total length decides */
	memset(f, 0, sizeof f);
	memcpy(f + 12, "\x08\x00", 2);
	memcpy(f + 14, ip, n);
	memset(f + 14 + n, 0xaa, 8);
	assert_int_equal(synpkt_parse(f, 14 + n + 8, SYNPKT_LINK_ETHERNET, &r), 0);
	assert_same_reply(&r, &want);
	/* a TCP header that needs the padding to fit refuses: data offset 7 (28 > 24 bytes) */
	f[14 + 32] = 0x70;
	assert_int_equal(synpkt_parse(f, 14 + n + 8, SYNPKT_LINK_ETHERNET, &r), TORIDE_EPARSE);

	struct {
		size_t off;
		uint8_t v;
	} bad[] = {
		{0, 0x44},              /* IHL 4 */
		{0, 0x35},              /* version 3 */
		{0, 0x65},              /* version 6 with an IPv4 header: too short for IPv6 */
		{2, 0x01},              /* total length 300 > frame */
		{3, 0x13},              /* total length 19 < IHL */
		{6, 0x60},              /* DF + MF */
		{6, 0x20},              /* MF */
		{7, 0x01},              /* fragment offset 1 */
		{6, 0x5f},              /* DF + large offset */
		{9, 17},                /* UDP */
		{32, 0x40},             /* TCP data offset 4 */
		{32, 0xf0},             /* TCP data offset 15: beyond the segment */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(f, ip, n);
		f[bad[i].off] = bad[i].v;
		assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	}
	/* total length exactly the headers: still a whole TCP header; one byte less is not */
	memcpy(f, ip, n);
	assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), 0);
	f[32] = 0x50;
	set16(f + 2, 40);
	assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), 0);
	set16(f + 2, 39);
	assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
}

/* Extension header of 8 bytes: next header nh, length 0, a PadN option. */
static size_t
put_ext(uint8_t *p, uint8_t nh)
{
	memcpy(p, "\x00\x00\x01\x04\x00\x00\x00\x00", 8);
	p[0] = nh;
	return 8;
}

static void
test_ipv6_exthdrs(void **state)
{
	(void)state;
	uint8_t ip[128], f[512];
	struct synpkt_reply want, r;
	size_t n = real_synack(1, ip, sizeof ip, &want);
	assert_int_equal(n, 64);
	size_t tcp = n - 40;

	/* hop-by-hop -> destination options -> routing (16 bytes, type 4 with segments left 0) -> TCP */
	memcpy(f, ip, 40);
	size_t o = 40;
	f[6] = 0;
	o += put_ext(f + o, 60);
	o += put_ext(f + o, 43);
	memset(f + o, 0, 16);
	f[o] = 6;
	f[o + 1] = 1; /* (1 + 1) * 8 bytes */
	f[o + 2] = 4;
	o += 16;
	memcpy(f + o, ip + 40, tcp);
	o += tcp;
	set16(f + 4, o - 40);
	assert_int_equal(synpkt_parse(f, o, SYNPKT_LINK_RAW, &r), 0);
	assert_same_reply(&r, &want);
	assert_prefixes_refused(f, o, SYNPKT_LINK_RAW);
	/* the routing header claims 24 bytes: TCP header cut short */
	f[40 + 16 + 1] = 2;
	assert_int_equal(synpkt_parse(f, o, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	/* claims more than the payload */
	f[40 + 16 + 1] = 200;
	assert_int_equal(synpkt_parse(f, o, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);

	/* a chain of exactly SYNPKT_MAX_EXTHDRS destination options headers passes; one more refuses */
	for (int k = SYNPKT_MAX_EXTHDRS; k <= SYNPKT_MAX_EXTHDRS + 1; k++) {
		memcpy(f, ip, 40);
		f[6] = 60;
		o = 40;
		for (int i = 0; i < k; i++)
			o += put_ext(f + o, i == k - 1 ? 6 : 60);
		memcpy(f + o, ip + 40, tcp);
		o += tcp;
		set16(f + 4, o - 40);
		int rc = synpkt_parse(f, o, SYNPKT_LINK_RAW, &r);
		assert_int_equal(rc, k <= SYNPKT_MAX_EXTHDRS ? 0 : TORIDE_EPARSE);
		if (rc == 0)
			assert_same_reply(&r, &want);
	}

	/* an atomic fragment header (offset 0, M 0: the whole TCP segment follows) refuses */
	memcpy(f, ip, 40);
	f[6] = 44;
	memcpy(f + 40, "\x06\x00\x00\x00\x12\x34\x56\x78", 8);
	memcpy(f + 48, ip + 40, tcp);
	set16(f + 4, 8 + tcp);
	assert_int_equal(synpkt_parse(f, 48 + tcp, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	f[6] = 60; /* the same 8 bytes as destination options: parses */
	assert_int_equal(synpkt_parse(f, 48 + tcp, SYNPKT_LINK_RAW, &r), 0);
	assert_same_reply(&r, &want);

	/* fragment header (44), no next header (59), UDP (17) directly or after a hop-by-hop header */
	static const uint8_t refuse[] = {44, 59, 17};
	for (size_t i = 0; i < sizeof refuse; i++) {
		memcpy(f, ip, n);
		f[6] = refuse[i];
		assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
		memcpy(f, ip, 40);
		f[6] = 0;
		put_ext(f + 40, refuse[i]);
		memcpy(f + 48, ip + 40, tcp);
		set16(f + 4, 8 + tcp);
		assert_int_equal(synpkt_parse(f, 48 + tcp, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	}
	/* payload length beyond the frame; smaller than a TCP header; trailing bytes after it are fine */
	memcpy(f, ip, n);
	set16(f + 4, tcp + 1);
	assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	set16(f + 4, 19);
	assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	set16(f + 4, 0); /* jumbogram: refused */
	assert_int_equal(synpkt_parse(f, n, SYNPKT_LINK_RAW, &r), TORIDE_EPARSE);
	set16(f + 4, tcp);
	memset(f + n, 0, 6);
	assert_int_equal(synpkt_parse(f, n + 6, SYNPKT_LINK_RAW, &r), 0);
	assert_same_reply(&r, &want);
}

/* Every prefix of every real frame (all framings) is refused; the whole frame parses. */
static void
test_truncation_real(void **state)
{
	(void)state;
	static const char *files[] = {"probes-lo.pcap", "probes-any-sll.pcap", "probes-any-sll2.pcap",
	                              "connect-lo.pcap", "ref-probes.pcap"};
	static struct capture c;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		load(files[i], &c);
		for (size_t j = 0; j < c.n; j++) {
			struct synpkt_reply r;
			assert_int_equal(synpkt_parse(c.frame[j], c.len[j], link_of(c.linktype), &r), 0);
			assert_prefixes_refused(c.frame[j], c.len[j], link_of(c.linktype));
			/* and wrong framings of the same bytes refuse or parse, never crash */
			for (int l = 0; l < 4; l++)
				(void)synpkt_parse(c.frame[j], c.len[j], (enum synpkt_link)l, &r);
		}
	}
}

/* A reply to our probe as the target would send it. */
static void
reply_for(const struct synpkt_probe *pr, uint8_t flags, struct synpkt_reply *r)
{
	memset(r, 0, sizeof *r);
	r->src = pr->dst;
	r->dst = pr->src;
	r->sport = pr->dport;
	r->dport = pr->sport;
	r->seq = 12345;
	r->ack = pr->seq + 1;
	r->flags = flags;
	r->ttl = 50;
	r->window = 29200;
}

static void
test_keyed_check(void **state)
{
	(void)state;
	struct synpkt_key key, other;
	test_key(&key);
	synpkt_key_random(&other);
	assert_memory_not_equal(&key, &other, sizeof key);
	const char *pairs[][2] = {{"192.0.2.1", "198.51.100.7"}, {"2001:db8::1", "2001:db8:ff::7"},
	                          {"10.0.0.1", "10.0.0.2"}, {"::ffff:192.0.2.1", "::ffff:198.51.100.7"}};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		struct toride_addr s, d;
		addr(pairs[i][0], &s);
		addr(pairs[i][1], &d);
		for (uint16_t dport = 1; dport < 200; dport += 13) {
			struct synpkt_probe pr;
			struct synpkt_reply r;
			assert_int_equal(synpkt_probe_init(&pr, &key, &test_ports, &s, &d, dport), 0);
			reply_for(&pr, SYNPKT_SYN | SYNPKT_ACK, &r);
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_OPEN);
			assert_int_equal(synpkt_classify(&other, &test_ports, &r), SYNPKT_NOT_OURS);
			r.flags = SYNPKT_SYN | SYNPKT_ACK | SYNPKT_FIN; /* odd but acknowledges our SYN */
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_OPEN);
			r.flags = SYNPKT_RST | SYNPKT_ACK;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_CLOSED);
			r.flags = SYNPKT_RST;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_CLOSED);
			r.flags = SYNPKT_SYN; /* a SYN without ACK is someone else's connection attempt */
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.flags = SYNPKT_ACK;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.flags = SYNPKT_ACK | SYNPKT_FIN;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);

			r.flags = SYNPKT_SYN | SYNPKT_ACK;
			r.ack = pr.seq;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.ack = pr.seq + 2;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.ack = pr.seq + 1;
			r.dport = (uint16_t)(test_ports.base + (pr.sport - test_ports.base + 1) % test_ports.count);
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.dport = pr.sport;
			r.sport = (uint16_t)(dport + 1); /* reply from another port of the target */
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.sport = dport;
			struct toride_addr t = r.src; /* swapped addresses */
			r.src = r.dst;
			r.dst = t;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.dst = r.src;
			r.src = t;
			r.src.b[r.src.family == 4 ? 3 : 15] ^= 1; /* another target */
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
			r.src = t;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_OPEN);
			r.src.family = 5;
			assert_int_equal(synpkt_classify(&key, &test_ports, &r), SYNPKT_NOT_OURS);
		}
	}
	/* bad port ranges never classify anything as ours */
	struct synpkt_ports zero = {40000, 0};
	struct synpkt_reply r = {0};
	r.src.family = r.dst.family = 4;
	r.flags = SYNPKT_SYN | SYNPKT_ACK;
	assert_int_equal(synpkt_classify(&key, &zero, &r), SYNPKT_NOT_OURS);
}

/* Source ports stay in [base, base + count) and spread over the whole range. */
static void
test_sport_distribution(void **state)
{
	(void)state;
	struct synpkt_key key;
	test_key(&key);
	static unsigned hits[256];
	memset(hits, 0, sizeof hits);
	struct toride_addr s, d;
	addr("192.0.2.1", &s);
	addr("198.51.100.0", &d);
	for (uint32_t i = 0; i < 100000; i++) {
		struct synpkt_probe pr;
		d.b[2] = (uint8_t)(i >> 8);
		d.b[3] = (uint8_t)i;
		assert_int_equal(synpkt_probe_init(&pr, &key, &test_ports, &s, &d, (uint16_t)(22 + (i >> 16))), 0);
		assert_true(pr.sport >= 40000 && pr.sport < 40256);
		hits[pr.sport - 40000]++;
	}
	/* expected 390.6 per port; a fair hash stays far inside [250, 550] (over 7 sigma) */
	for (int i = 0; i < 256; i++) {
		assert_true(hits[i] > 250);
		assert_true(hits[i] < 550);
	}
	/* count 1 pins the port; the top of the port space is reachable */
	struct synpkt_ports one = {65535, 1}, top = {65000, 536};
	int saw_top = 0;
	for (uint32_t i = 0; i < 20000; i++) {
		struct synpkt_probe pr;
		d.b[3] = (uint8_t)i;
		d.b[2] = (uint8_t)(i >> 8);
		assert_int_equal(synpkt_probe_init(&pr, &key, &one, &s, &d, 80), 0);
		assert_int_equal(pr.sport, 65535);
		assert_int_equal(synpkt_probe_init(&pr, &key, &top, &s, &d, 80), 0);
		assert_true(pr.sport >= 65000);
		saw_top |= pr.sport == 65535;
	}
	assert_true(saw_top);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_reference),
		cmocka_unit_test(test_hash_definition),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_csum_helpers),
		cmocka_unit_test(test_build_many),
		cmocka_unit_test(test_kernel_accepted_probes),
		cmocka_unit_test(test_replies_ethernet),
		cmocka_unit_test(test_replies_sll),
		cmocka_unit_test(test_replies_sll2),
		cmocka_unit_test(test_connect_capture),
		cmocka_unit_test(test_vlan_tags),
		cmocka_unit_test(test_ipv4_fields),
		cmocka_unit_test(test_ipv6_exthdrs),
		cmocka_unit_test(test_truncation_real),
		cmocka_unit_test(test_keyed_check),
		cmocka_unit_test(test_sport_distribution),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
