/*
 * Generator of the synpkt test data (not built by CMake; see README.md next to this file).
 *
 *   gen_probes ref OUT.pcap   write the two reference probes (IPv4 and IPv6, documentation
 *                             addresses) as a LINKTYPE_RAW pcap, for `tcpdump -vv -r` to check
 *   gen_probes send           send probes to 127.0.0.1 and ::1 ports 8080 and 8081 on raw
 *                             IPPROTO_RAW sockets (run it inside a private network namespace)
 *
 * Both use the test key 00 01 .. 0f and source ports [40000, 40256), the values test_synpkt.c uses.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "survey/synpkt.h"

static void
test_key(struct synpkt_key *k)
{
	for (int i = 0; i < SYNPKT_KEY_BYTES; i++)
		k->k[i] = (uint8_t)i;
}

static int
build(const char *src, const char *dst, uint16_t dport, uint8_t *out, size_t cap)
{
	struct synpkt_key key;
	struct synpkt_ports ports = {40000, 256};
	struct toride_addr s, d;
	struct synpkt_probe p;
	test_key(&key);
	if (toride_addr_parse(src, &s) != 0 || toride_addr_parse(dst, &d) != 0 ||
	    synpkt_probe_init(&p, &key, &ports, &s, &d, dport) != 0)
		return -1;
	return synpkt_build(out, cap, &p, 0x1234);
}

static void
put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f); /* little-endian host: the pcap is written in host order, magic says so */
}

static int
write_ref(const char *path)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return 1;
	put32(f, 0xa1b2c3d4);
	put32(f, 2 | 4u << 16); /* version 2.4 */
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 101); /* LINKTYPE_RAW */
	const char *pairs[2][2] = {{"192.0.2.1", "198.51.100.7"}, {"2001:db8::1", "2001:db8::7"}};
	for (int i = 0; i < 2; i++) {
		uint8_t pkt[SYNPKT_MAX_PROBE];
		int n = build(pairs[i][0], pairs[i][1], 23, pkt, sizeof pkt);
		if (n < 0)
			return 1;
		put32(f, 1700000000u + (uint32_t)i);
		put32(f, 0);
		put32(f, (uint32_t)n);
		put32(f, (uint32_t)n);
		fwrite(pkt, 1, (size_t)n, f);
	}
	return fclose(f) != 0;
}

static int
send_probes(void)
{
	static const uint16_t dports[2] = {8080, 8081};
	int s4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW), s6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (s4 < 0 || s6 < 0) {
		perror("socket");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		uint8_t pkt[SYNPKT_MAX_PROBE];
		struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int n = build("127.0.0.1", "127.0.0.1", dports[i], pkt, sizeof pkt);
		if (n < 0 || sendto(s4, pkt, (size_t)n, 0, (struct sockaddr *)&a4, sizeof a4) != n) {
			perror("sendto v4");
			return 1;
		}
		usleep(200000);
		/* For AF_INET6 the port of the address must be 0 on an IPPROTO_RAW socket. */
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		n = build("::1", "::1", dports[i], pkt, sizeof pkt);
		if (n < 0 || sendto(s6, pkt, (size_t)n, 0, (struct sockaddr *)&a6, sizeof a6) != n) {
			perror("sendto v6");
			return 1;
		}
		usleep(200000);
	}
	close(s4);
	close(s6);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "ref") == 0)
		return write_ref(argv[2]);
	if (argc == 2 && strcmp(argv[1], "send") == 0)
		return send_probes();
	fprintf(stderr, "usage: gen_probes ref OUT.pcap | gen_probes send\n");
	return 2;
}
