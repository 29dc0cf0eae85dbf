/*
 * MQTT: the real 3.1.1 session in tests/data/pcap/sv_mqtt311-pub-userpass.pcap (OISF
 * suricata-verify, MIT) is read with a tiny classic-pcap reader, its packets parsed, and our
 * CONNECT builder must reproduce the captured CONNECT byte for byte. Plus 5.0 CONNACKs and
 * hostile packets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "proto/mqtt.h"

/* TCP payloads of a classic little-endian pcap with Ethernet framing (IPv4 or IPv6), in order. */
struct payloads {
	uint8_t data[4096];
	size_t off[64];
	size_t len[64];
	size_t n;
};

static void
read_pcap_payloads(const char *path, struct payloads *out)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t file[65536];
	size_t size = fread(file, 1, sizeof file, f);
	fclose(f);
	assert_true(size > 24);
	assert_memory_equal(file, "\xd4\xc3\xb2\xa1", 4);
	assert_int_equal(file[20], 1); /* DLT_EN10MB */
	size_t pos = 24, used = 0;
	out->n = 0;
	while (pos + 16 <= size) {
		uint32_t incl = (uint32_t)file[pos + 8] | (uint32_t)file[pos + 9] << 8 | (uint32_t)file[pos + 10] << 16 |
		                (uint32_t)file[pos + 11] << 24;
		const uint8_t *p = file + pos + 16;
		pos += 16 + incl;
		assert_true(pos <= size);
		if (incl < 14)
			continue;
		uint16_t et = (uint16_t)(p[12] << 8 | p[13]);
		const uint8_t *ip = p + 14, *tcp;
		size_t iplen;
		if (et == 0x0800 && (ip[9] == 6)) {
			size_t ihl = (size_t)(ip[0] & 15) * 4;
			iplen = (size_t)(ip[2] << 8 | ip[3]);
			tcp = ip + ihl;
			iplen -= ihl;
		} else if (et == 0x86dd && ip[6] == 6) {
			iplen = (size_t)(ip[4] << 8 | ip[5]);
			tcp = ip + 40;
		} else {
			continue;
		}
		size_t doff = (size_t)(tcp[12] >> 4) * 4;
		if (iplen <= doff)
			continue;
		size_t plen = iplen - doff;
		assert_true(used + plen <= sizeof out->data && out->n < 64);
		memcpy(out->data + used, tcp + doff, plen);
		out->off[out->n] = used;
		out->len[out->n] = plen;
		out->n++;
		used += plen;
	}
}

static void
test_pcap_session(void **state)
{
	(void)state;
	static struct payloads pl;
	read_pcap_payloads(TORIDE_TEST_DATA "/pcap/sv_mqtt311-pub-userpass.pcap", &pl);
	assert_int_equal(pl.n, 4); /* CONNECT, CONNACK, PUBLISH, DISCONNECT */

	struct toride_mqtt_packet pkt;
	size_t used;
	const uint8_t *connect = pl.data + pl.off[0];
	assert_int_equal(toride_mqtt_parse(connect, pl.len[0], &used, &pkt), 0);
	assert_int_equal(used, pl.len[0]);
	assert_int_equal(pkt.type, TORIDE_MQTT_CONNECT);
	assert_int_equal(pkt.protocol_level, 4);
	assert_int_equal(pkt.keepalive, 60);
	assert_string_equal(pkt.client_id, "myvoiceismypassport");
	assert_true(pkt.has_user);
	assert_true(pkt.has_pass);
	assert_string_equal(pkt.user, "user");
	assert_string_equal(pkt.pass, "pass");
	assert_int_equal(pkt.connack_rc, -1);

	/* Every strict prefix is incomplete, never an error. */
	for (size_t i = 0; i < pl.len[0]; i++)
		assert_int_equal(toride_mqtt_parse(connect, i, &used, &pkt), TORIDE_EINCOMPLETE);

	assert_int_equal(toride_mqtt_parse(pl.data + pl.off[1], pl.len[1], &used, &pkt), 0);
	assert_int_equal(pkt.type, TORIDE_MQTT_CONNACK);
	assert_int_equal(pkt.connack_rc, TORIDE_MQTT_RC_ACCEPTED);
	assert_false(pkt.session_present);
	assert_false(toride_mqtt_rc_is_auth_failure(pkt.connack_rc));

	assert_int_equal(toride_mqtt_parse(pl.data + pl.off[2], pl.len[2], &used, &pkt), 0);
	assert_int_equal(pkt.type, TORIDE_MQTT_PUBLISH);
	assert_int_equal(pkt.remaining, 24);
	assert_memory_equal(pkt.body, "\x00\x06topicX", 8);

	assert_int_equal(toride_mqtt_parse(pl.data + pl.off[3], pl.len[3], &used, &pkt), 0);
	assert_int_equal(pkt.type, TORIDE_MQTT_DISCONNECT);

	/* Our builders reproduce the captured CONNECT and DISCONNECT exactly. */
	struct toride_buf b;
	toride_buf_init(&b, 1024);
	assert_int_equal(toride_mqtt_build_connect(&b, "myvoiceismypassport", "user", "pass", 60), 0);
	assert_int_equal(b.len, pl.len[0]);
	assert_memory_equal(b.data, connect, b.len);
	toride_buf_reset(&b);
	assert_int_equal(toride_mqtt_build_disconnect(&b), 0);
	assert_int_equal(b.len, pl.len[3]);
	assert_memory_equal(b.data, pl.data + pl.off[3], b.len);
	toride_buf_free(&b);
}

static void
test_build_roundtrip(void **state)
{
	(void)state;
	struct toride_buf b;
	struct toride_mqtt_packet pkt;
	size_t used;
	toride_buf_init(&b, 1 << 18);
	assert_int_equal(toride_mqtt_build_connect(&b, NULL, NULL, NULL, 30), 0);
	assert_int_equal(toride_mqtt_parse(b.data, b.len, &used, &pkt), 0);
	assert_int_equal(used, b.len);
	assert_string_equal(pkt.client_id, "");
	assert_false(pkt.has_user);
	assert_false(pkt.has_pass);
	assert_int_equal(pkt.keepalive, 30);

	/* A 300-byte user name needs a 2-byte remaining length and is cut to fit the field. */
	toride_buf_reset(&b);
	char user[301];
	memset(user, 'u', 300);
	user[300] = '\0';
	assert_int_equal(toride_mqtt_build_connect(&b, "toride", user, "", 10), 0);
	assert_true(b.data[1] & 0x80);
	assert_int_equal(toride_mqtt_parse(b.data, b.len, &used, &pkt), 0);
	assert_int_equal(used, b.len);
	assert_true(pkt.fields_truncated);
	assert_int_equal(strlen(pkt.user), sizeof(pkt.user) - 1);
	assert_true(pkt.has_pass);
	assert_string_equal(pkt.pass, "");

	/* Refusals leave out unchanged. */
	size_t before = b.len;
	assert_int_equal(toride_mqtt_build_connect(&b, "x", NULL, "pass", 10), TORIDE_EINVAL);
	char *huge = malloc(70000);
	assert_non_null(huge);
	memset(huge, 'h', 69999);
	huge[69999] = '\0';
	assert_int_equal(toride_mqtt_build_connect(&b, huge, NULL, NULL, 10), TORIDE_EINVAL);
	free(huge);
	assert_int_equal(b.len, before);

	/* CONNACK builder round trip */
	toride_buf_reset(&b);
	assert_int_equal(toride_mqtt_build_connack(&b, true, TORIDE_MQTT_RC_BAD_USER_PASS), 0);
	assert_int_equal(toride_mqtt_parse(b.data, b.len, &used, &pkt), 0);
	assert_true(pkt.session_present);
	assert_int_equal(pkt.connack_rc, 4);
	assert_true(toride_mqtt_rc_is_auth_failure(pkt.connack_rc));
	toride_buf_free(&b);
}

static void
test_connack_v5(void **state)
{
	(void)state;
	struct toride_mqtt_packet pkt;
	size_t used;
	/* 5.0 CONNACK, reason 0x86 (bad user name or password), properties: reason string "bad" */
	static const uint8_t v5[] = { 0x20, 0x09, 0x00, 0x86, 0x06, 0x1f, 0x00, 0x03, 'b', 'a', 'd' };
	assert_int_equal(toride_mqtt_parse(v5, sizeof v5, &used, &pkt), 0);
	assert_int_equal(used, sizeof v5);
	assert_int_equal(pkt.connack_rc, 0x86);
	assert_true(toride_mqtt_rc_is_auth_failure(pkt.connack_rc));
	/* 5.0 with empty properties */
	static const uint8_t v5e[] = { 0x20, 0x03, 0x00, 0x87, 0x00 };
	assert_int_equal(toride_mqtt_parse(v5e, sizeof v5e, &used, &pkt), 0);
	assert_int_equal(pkt.connack_rc, 0x87);
	/* property length disagreeing with the packet */
	static const uint8_t bad[] = { 0x20, 0x04, 0x00, 0x00, 0x05, 0x00 };
	assert_int_equal(toride_mqtt_parse(bad, sizeof bad, &used, &pkt), TORIDE_EPARSE);
	/* reserved acknowledge flags */
	static const uint8_t rsv[] = { 0x20, 0x02, 0x02, 0x00 };
	assert_int_equal(toride_mqtt_parse(rsv, sizeof rsv, &used, &pkt), TORIDE_EPARSE);
	/* too short */
	static const uint8_t shrt[] = { 0x20, 0x01, 0x00 };
	assert_int_equal(toride_mqtt_parse(shrt, sizeof shrt, &used, &pkt), TORIDE_EPARSE);
	/* 3.1.1 refusal codes */
	static const uint8_t r5[] = { 0x20, 0x02, 0x00, 0x05 };
	assert_int_equal(toride_mqtt_parse(r5, sizeof r5, &used, &pkt), 0);
	assert_true(toride_mqtt_rc_is_auth_failure(pkt.connack_rc));
	static const uint8_t r3[] = { 0x20, 0x02, 0x00, 0x03 };
	assert_int_equal(toride_mqtt_parse(r3, sizeof r3, &used, &pkt), 0);
	assert_false(toride_mqtt_rc_is_auth_failure(pkt.connack_rc));
}

static void
test_hostile(void **state)
{
	(void)state;
	struct toride_mqtt_packet pkt;
	size_t used = 99;
	/* Remaining length with a fifth continuation byte */
	static const uint8_t longvar[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	assert_int_equal(toride_mqtt_parse(longvar, sizeof longvar, &used, &pkt), TORIDE_EPARSE);
	assert_int_equal(used, 0);
	/* Remaining length above the cap is refused before waiting for it. */
	static const uint8_t big[] = { 0x30, 0xff, 0xff, 0x7f };
	assert_int_equal(toride_mqtt_parse(big, sizeof big, &used, &pkt), TORIDE_ETOOBIG);
	/* Reserved type 0, wrong fixed flags, PUBLISH QoS 3 */
	static const uint8_t t0[] = { 0x00, 0x00 }, fl[] = { 0x82, 0x00 }, q3[] = { 0x36, 0x00 }, sub[] = { 0x80, 0 };
	assert_int_equal(toride_mqtt_parse(t0, 2, &used, &pkt), TORIDE_EPARSE);
	assert_int_equal(toride_mqtt_parse(fl, 2, &used, &pkt), 0); /* SUBSCRIBE has flags 0010 */
	assert_int_equal(toride_mqtt_parse(sub, 2, &used, &pkt), TORIDE_EPARSE);
	assert_int_equal(toride_mqtt_parse(q3, 2, &used, &pkt), TORIDE_EPARSE);
	/* Other protocols are refused from the first byte */
	assert_int_equal(toride_mqtt_parse((const uint8_t *)"SSH-2.0-", 8, &used, &pkt), TORIDE_EPARSE);
	assert_int_equal(toride_mqtt_parse((const uint8_t *)"HTTP/1.1", 8, &used, &pkt), TORIDE_EPARSE);
	/* CONNECT whose string length runs past the packet */
	static const uint8_t over[] = { 0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c,
		                        0x00, 0x40, 'a', 'b', 'c', 'd' };
	assert_int_equal(toride_mqtt_parse(over, sizeof over, &used, &pkt), TORIDE_EPARSE);
	/* CONNECT with an unknown protocol name, and with the reserved flag */
	static const uint8_t name[] = { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00 };
	assert_int_equal(toride_mqtt_parse(name, sizeof name, &used, &pkt), TORIDE_EPARSE);
	static const uint8_t rsv[] = { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x03, 0x00, 0x3c, 0x00, 0x00 };
	assert_int_equal(toride_mqtt_parse(rsv, sizeof rsv, &used, &pkt), TORIDE_EPARSE);
	/* CONNECT with trailing junk inside the packet */
	static const uint8_t junk[] = { 0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00, 'j' };
	assert_int_equal(toride_mqtt_parse(junk, sizeof junk, &used, &pkt), TORIDE_EPARSE);
	/* MQTT 3.1 (MQIsdp) with a will */
	static const uint8_t v31[] = { 0x10, 0x1a, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x06, 0x00, 0x0a,
		                       0x00, 0x01, 'c', 0x00, 0x01, 't', 0x00, 0x01, 'm', 0x00, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(toride_mqtt_parse(v31, sizeof v31, &used, &pkt), TORIDE_EPARSE); /* 5 bytes of junk */
	assert_int_equal(toride_mqtt_parse(v31, 2 + 0x14, &used, &pkt), TORIDE_EINCOMPLETE); /* cut mid-packet */
	static const uint8_t v31ok[] = { 0x10, 0x16, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x06, 0x00, 0x0a,
		                         0x00, 0x01, 'c', 0x00, 0x01, 't', 0x00, 0x02, 'm', 'm' };
	assert_int_equal(toride_mqtt_parse(v31ok, sizeof v31ok, &used, &pkt), 0);
	assert_int_equal(used, sizeof v31ok);
	assert_int_equal(pkt.protocol_level, 3);
	assert_string_equal(pkt.client_id, "c");
	/* MQTT 5.0 CONNECT with properties and user name */
	static const uint8_t v5[] = { 0x10, 0x17, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x82, 0x00, 0x3c, 0x03, 0x21,
		                      0x00, 0x0a, 0x00, 0x01, 'c', 0x00, 0x04, 'r', 'o', 'o', 't' };
	assert_int_equal(toride_mqtt_parse(v5, sizeof v5, &used, &pkt), 0);
	assert_int_equal(pkt.protocol_level, 5);
	assert_string_equal(pkt.user, "root");
	assert_false(pkt.has_pass);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_session),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_connack_v5),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
