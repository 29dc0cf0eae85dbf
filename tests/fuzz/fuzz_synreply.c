/*
 * Fuzz the SYN reply parser and the keyed check. The first byte picks the link type (mod 4), the
 * rest is the captured frame. Checks the contract: a parsed reply has one family for both
 * addresses, and anything classified as ours really acknowledges the probe the key gives for it.
 * The seeds are real frames (tests/data/synpkt), the kernel's replies to probes under this key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "survey/synpkt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct synpkt_key key;
	for (int i = 0; i < SYNPKT_KEY_BYTES; i++)
		key.k[i] = (uint8_t)i; /* the key of the captures */
	const struct synpkt_ports ports = {40000, 256};
	enum synpkt_link link = (enum synpkt_link)(data[0] % 4);
	/* a copy of exactly the frame's size, so ASan sees any read past n */
	size_t n = size - 1;
	uint8_t *frame = malloc(n ? n : 1);
	if (frame == NULL)
		return 0;
	memcpy(frame, data + 1, n);
	struct synpkt_reply r;
	int rc = synpkt_parse(frame, n, link, &r);
	free(frame);
	if (rc != 0) {
		if (rc != TORIDE_EPARSE)
			abort();
		return 0;
	}
	if ((r.src.family != 4 && r.src.family != 6) || r.src.family != r.dst.family)
		abort();
	enum synpkt_kind k = synpkt_classify(&key, &ports, &r);
	if (k == SYNPKT_NOT_OURS)
		return 0;
	if (k == SYNPKT_OPEN && (r.flags & (SYNPKT_SYN | SYNPKT_ACK)) != (SYNPKT_SYN | SYNPKT_ACK))
		abort();
	if (k == SYNPKT_CLOSED && !(r.flags & SYNPKT_RST))
		abort();
	/* The probe we would have sent to the replying (address, port) must match the reply. */
	struct synpkt_probe pr;
	if (synpkt_probe_init(&pr, &key, &ports, &r.dst, &r.src, r.sport) != 0)
		abort();
	if (pr.sport != r.dport || pr.seq + 1 != r.ack || pr.sport < ports.base ||
	    pr.sport >= ports.base + ports.count)
		abort();
	/* and the probe builds */
	uint8_t out[SYNPKT_MAX_PROBE];
	int len = synpkt_build(out, sizeof out, &pr, 1);
	if (len != (r.src.family == 4 ? 44 : 64))
		abort();
	return 0;
}
