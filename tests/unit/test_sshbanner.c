/*
 * SSH identification line (RFC 4253 4.2): the real banners in tests/data/pcap/sv_ssh-banner-only.pcap
 * (OISF suricata-verify, MIT), every software version from rapid7/recog's ssh_banners examples,
 * preamble lines, and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/sshbanner.h"

static int
parse(const char *s, size_t *used, char *out, size_t outlen)
{
	return toride_ssh_parse_banner((const uint8_t *)s, strlen(s), used, out, outlen);
}

/* TCP payloads from port 22 in a classic little-endian Ethernet/IPv4 pcap; returns how many. */
static size_t
pcap_port22_payloads(const char *path, char lines[][256], size_t max)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t file[65536];
	size_t size = fread(file, 1, sizeof file, f), pos = 24, n = 0;
	fclose(f);
	assert_memory_equal(file, "\xd4\xc3\xb2\xa1", 4);
	while (pos + 16 <= size && n < max) {
		size_t incl = (size_t)file[pos + 8] | (size_t)file[pos + 9] << 8 | (size_t)file[pos + 10] << 16;
		const uint8_t *p = file + pos + 16;
		pos += 16 + incl;
		if (incl < 34 || p[12] != 0x08 || p[13] != 0x00 || p[23] != 6)
			continue;
		const uint8_t *ip = p + 14;
		size_t ihl = (size_t)(ip[0] & 15) * 4, iplen = (size_t)(ip[2] << 8 | ip[3]);
		const uint8_t *tcp = ip + ihl;
		size_t doff = (size_t)(tcp[12] >> 4) * 4;
		unsigned sport = (unsigned)(tcp[0] << 8 | tcp[1]), dport = (unsigned)(tcp[2] << 8 | tcp[3]);
		if ((sport != 22 && dport != 22) || iplen <= ihl + doff || iplen - ihl - doff >= 256)
			continue;
		size_t plen = iplen - ihl - doff;
		memcpy(lines[n], tcp + doff, plen);
		lines[n][plen] = '\0';
		n++;
	}
	return n;
}

static void
test_pcap_banners(void **state)
{
	(void)state;
	char lines[4][256], out[256];
	size_t n = pcap_port22_payloads(TORIDE_TEST_DATA "/pcap/sv_ssh-banner-only.pcap", lines, 4);
	assert_int_equal(n, 2);
	size_t used;
	assert_int_equal(parse(lines[0], &used, out, sizeof out), 0);
	assert_string_equal(out, "SSH-2.0-OpenSSH_for_Windows_7.7");
	assert_int_equal(used, strlen(lines[0]));
	assert_int_equal(parse(lines[1], &used, out, sizeof out), 0);
	assert_string_equal(out, "SSH-2.0-OpenSSH_7.4");
	char proto[16], soft[64], comments[64];
	assert_int_equal(toride_ssh_banner_fields(out, proto, sizeof proto, soft, sizeof soft, comments, sizeof comments),
	                 0);
	assert_string_equal(proto, "2.0");
	assert_string_equal(soft, "OpenSSH_7.4");
	assert_string_equal(comments, "");
	/* Every prefix without the LF is incomplete. */
	for (size_t i = 0; i + 1 < strlen(lines[1]); i++)
		assert_int_equal(toride_ssh_parse_banner((const uint8_t *)lines[1], i, &used, out, sizeof out),
		                 TORIDE_EINCOMPLETE);
}

/* Every recog example is "softwareversion [comments]"; as a full line each must parse back. */
static void
test_recog_examples(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof path, "%s/banners/ssh_banners.examples.tsv", TORIDE_TEST_DATA);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[1024], msg[1200], out[256], soft[256], comments[256];
	size_t checked = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || strncmp(line, "example\t", 8) == 0)
			continue;
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		assert_null(strchr(line, '\\')); /* no escaped bytes in this file */
		int n = snprintf(msg, sizeof msg, "SSH-2.0-%s\r\n", line);
		size_t used;
		int r = parse(msg, &used, out, sizeof out);
		if (r != 0)
			fail_msg("%s -> %d", line, r);
		assert_int_equal(used, (size_t)n);
		assert_string_equal(out + 8, line);
		assert_int_equal(toride_ssh_banner_fields(out, NULL, 0, soft, sizeof soft, comments, sizeof comments), 0);
		size_t sl = strcspn(line, " ");
		assert_int_equal(strlen(soft), sl);
		assert_string_equal(comments, line[sl] ? line + sl + 1 : "");
		checked++;
	}
	fclose(f);
	assert_true(checked >= 220);
}

static void
test_preamble_and_compat(void **state)
{
	(void)state;
	char out[256];
	size_t used;
	/* RFC 4253 4.2: other lines first; what follows the line is the key exchange. */
	const char *s = "Welcome to the router\r\n\r\nAuthorized use only\nSSH-1.99-dropbear_0.52 comment here\n"
	                "\x00\x00\x01\x14\x0a\x14";
	assert_int_equal(toride_ssh_parse_banner((const uint8_t *)s, strlen(s) + 6, &used, out, sizeof out), 0);
	assert_string_equal(out, "SSH-1.99-dropbear_0.52 comment here");
	assert_int_equal(used, strlen(s));
	char proto[8], soft[8], comments[64];
	assert_int_equal(toride_ssh_banner_fields(out, proto, sizeof proto, soft, sizeof soft, comments, sizeof comments),
	                 TORIDE_ETOOBIG); /* "dropbear_0.52" does not fit 8 */
	assert_string_equal(proto, "1.99");
	assert_string_equal(soft, "dropbea");
	assert_string_equal(comments, "comment here");
	assert_int_equal(toride_ssh_banner_fields("HTTP/1.1 200", NULL, 0, NULL, 0, NULL, 0), TORIDE_EPARSE);
	/* A software version with '-' (WS_FTP-SSH) is accepted. */
	assert_int_equal(parse("SSH-2.0-WS_FTP-SSH_6.1.1\r\n", &used, out, sizeof out), 0);
	/* Output buffer too small */
	assert_int_equal(parse("SSH-2.0-OpenSSH_7.4\r\n", &used, out, 19), TORIDE_ETOOBIG);
	assert_int_equal(parse("SSH-2.0-OpenSSH_7.4\r\n", &used, out, 20), 0);
}

static void
test_hostile(void **state)
{
	(void)state;
	char out[256];
	size_t used;
	snprintf(out, sizeof out, "stale");
	assert_int_equal(parse("SSH-2.0-\r\n", &used, out, sizeof out), TORIDE_EPARSE);   /* no software */
	assert_string_equal(out, "");
	assert_int_equal(parse("SSH--OpenSSH\r\n", &used, out, sizeof out), TORIDE_EPARSE); /* no protoversion */
	assert_int_equal(parse("SSH-2.0\r\n", &used, out, sizeof out), TORIDE_EPARSE);
	assert_int_equal(parse("SSH-2 0-x\r\n", &used, out, sizeof out), TORIDE_EPARSE);
	assert_int_equal(parse("SSH-2.0-a\x01" "b\r\n", &used, out, sizeof out), TORIDE_EPARSE);
	assert_int_equal(parse("SSH-2.0-a b\x1b[2J\r\n", &used, out, sizeof out), TORIDE_EPARSE);
	static const uint8_t nul[] = "SSH-2.0-a\0b\r\n";
	assert_int_equal(toride_ssh_parse_banner(nul, sizeof nul - 1, &used, out, sizeof out), TORIDE_EPARSE);
	/* NUL in a preamble line, even before its LF arrives */
	static const uint8_t pnul[] = "hello\0";
	assert_int_equal(toride_ssh_parse_banner(pnul, sizeof pnul - 1, &used, out, sizeof out), TORIDE_EPARSE);
	/* A line longer than 255 bytes (identification or preamble), with or without LF */
	char big[600];
	memset(big, 'x', sizeof big);
	memcpy(big, "SSH-2.0-", 8);
	big[299] = '\n';
	assert_int_equal(toride_ssh_parse_banner((const uint8_t *)big, 300, &used, out, sizeof out), TORIDE_EPARSE);
	assert_int_equal(toride_ssh_parse_banner((const uint8_t *)big, 256, &used, out, sizeof out), TORIDE_EPARSE);
	assert_int_equal(toride_ssh_parse_banner((const uint8_t *)big, 254, &used, out, sizeof out), TORIDE_EINCOMPLETE);
	/* Exactly 255 bytes including CR LF is the longest allowed line. */
	big[253] = '\r';
	big[254] = '\n';
	assert_int_equal(toride_ssh_parse_banner((const uint8_t *)big, 255, &used, out, sizeof out), 0);
	assert_int_equal(strlen(out), 253);
	/* Endless preamble lines */
	static uint8_t pre[TORIDE_SSH_MAX_PREAMBLE + 200];
	for (size_t i = 0; i < sizeof pre; i++)
		pre[i] = (i % 50 == 49) ? '\n' : 'p';
	assert_int_equal(toride_ssh_parse_banner(pre, sizeof pre, &used, out, sizeof out), TORIDE_EPARSE);
	assert_int_equal(toride_ssh_parse_banner(pre, 4000, &used, out, sizeof out), TORIDE_EINCOMPLETE);
	assert_int_equal(used, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_banners),
		cmocka_unit_test(test_recog_examples),
		cmocka_unit_test(test_preamble_and_compat),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
