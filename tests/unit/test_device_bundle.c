/*
 * Update bundle headers (src/device/bundle.c): versions, build/verify round trip, the checked-in
 * good and hostile bundles (tests/data/device), truncation at every byte, every single-byte
 * corruption of the header, and signed-but-hostile manifests built here from the TEST-ONLY key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"
#include "toride/device.h"

#define DATA TORIDE_TEST_DATA "/device/"
#define HDR_MAX (12 + TORIDE_DEV_MAX_MANIFEST + 64)

static uint8_t vendor_sk[64], vendor_pk[32], other_sk[64], other_pk[32];

static void
read_key(const char *name, const char *tag, uint8_t *out, size_t n)
{
	char path[512], line[512], hex[300];
	snprintf(path, sizeof(path), DATA "%s", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	char t[64];
	assert_int_equal(sscanf(line, "%63s %299s", t, hex), 2);
	assert_string_equal(t, tag);
	assert_int_equal(dev_unhex(hex, out, n), 0);
}

static uint8_t *
read_file(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), DATA "%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	read_key("test-vendor.key", "toride-ed25519-secret-v1", vendor_sk, 64);
	read_key("test-vendor.pub", "toride-ed25519-public-v1", vendor_pk, 32);
	read_key("test-other.key", "toride-ed25519-secret-v1", other_sk, 64);
	read_key("test-other.pub", "toride-ed25519-public-v1", other_pk, 32);
	return 0;
}

static int
verify(const uint8_t *buf, size_t len, const uint8_t pk[32], struct toride_dev_bundle_info *info,
       size_t *hlen)
{
	return toride_dev_bundle_verify_header(buf, len, (const uint8_t(*)[32])pk, 1, info, hlen);
}

/* A header around arbitrary manifest text, signed as the format says (domain | len | manifest). */
static size_t
signed_header(const char *manifest, const uint8_t sk[64], uint8_t *out)
{
	size_t mlen = strlen(manifest);
	uint8_t msg[17 + 4 + TORIDE_DEV_MAX_MANIFEST + 64];
	memcpy(out, "TORIDEB1", 8);
	out[8] = (uint8_t)(mlen >> 24);
	out[9] = (uint8_t)(mlen >> 16);
	out[10] = (uint8_t)(mlen >> 8);
	out[11] = (uint8_t)mlen;
	memcpy(out + 12, manifest, mlen);
	memcpy(msg, "toride-bundle-v1", 17);
	memcpy(msg + 17, out + 8, 4);
	memcpy(msg + 21, manifest, mlen);
	crypto_sign_detached(out + 12 + mlen, NULL, msg, 21 + mlen, sk);
	return 12 + mlen + 64;
}

/* A valid manifest with `line` appended or with key `drop` removed (NULL: none). */
static void
manifest_text(char *out, size_t cap, const char *drop, const char *extra)
{
	char kid[17];
	dev_hex(vendor_pk, 8, kid);
	const char *lines[][2] = {
		{"format", "1"}, {"target", "board"}, {"version", "2.0"}, {"image-size", "100"},
		{"image-sha256", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
		{"key-id", kid},
	};
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (drop != NULL && strcmp(drop, lines[i][0]) == 0)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s=%s\n", lines[i][0], lines[i][1]);
	}
	if (extra != NULL)
		snprintf(out + n, cap - n, "%s", extra);
}

static void
test_version_cmp(void **state)
{
	(void)state;
	assert_true(toride_dev_version_cmp("1.10.2", "1.9") > 0);
	assert_true(toride_dev_version_cmp("1.9", "1.10.2") < 0);
	assert_int_equal(toride_dev_version_cmp("1.2", "1.2.0"), 0);
	assert_int_equal(toride_dev_version_cmp("1.2.0.0", "1.2"), 0);
	assert_true(toride_dev_version_cmp("2", "1.999999999.9.9") > 0);
	assert_true(toride_dev_version_cmp("999999999", "999999998") > 0);
	assert_true(toride_dev_version_cmp("0.0.0.1", "0") > 0);
	/* Malformed: below every valid version, equal to each other. */
	static const char *bad[] = {
		"", "1.", ".1", "1..2", "a", "1.2.3.4.5", "1234567890", "-1", "1.2 ", " 1", "1,2",
		"+1", "1.2a", "0x10", "1.2.3.4.",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(toride_dev_version_cmp(bad[i], "0") < 0);
		assert_true(toride_dev_version_cmp("0", bad[i]) > 0);
		assert_int_equal(toride_dev_version_cmp(bad[i], "x"), 0);
	}
	assert_true(toride_dev_version_cmp(NULL, "0") < 0);
	assert_true(toride_dev_version_cmp("123456789.123456789.123456789.12", "0") < 0); /* 32 chars: no room for NUL */
	assert_true(toride_dev_version_cmp("123456789.123456789.123456789.1", "0") > 0);  /* 31 chars */
}

static void
test_build_and_verify(void **state)
{
	(void)state;
	uint8_t hdr[HDR_MAX], sha[32];
	size_t len = 0, hlen = 0;
	struct toride_dev_bundle_info info;
	crypto_hash_sha256(sha, (const uint8_t *)"image", 5);
	struct toride_dev_bundle_params p = {
		.target = "acme-cam_v2.1", .version = "3.4.5", .security_floor = "3.0",
		.description = "line one\nback\\slash and \xe6\x97\xa5\xe6\x9c\xac", .created = "2025-01-31T12:00:00Z",
	};
	assert_int_equal(toride_dev_bundle_header(&p, 5, sha, vendor_sk, hdr, sizeof(hdr), &len), 0);
	assert_memory_equal(hdr, TORIDE_DEV_BUNDLE_MAGIC, 8);
	assert_int_equal(verify(hdr, len, vendor_pk, &info, &hlen), 0);
	assert_int_equal(hlen, len);
	assert_string_equal(info.target, "acme-cam_v2.1");
	assert_string_equal(info.version, "3.4.5");
	assert_string_equal(info.security_floor, "3.0");
	assert_int_equal(info.image_size, 5);
	assert_memory_equal(info.image_sha256, sha, 32);
	assert_memory_equal(info.key_id, vendor_pk, 8);
	/* Key rotation: any of the trusted keys may have signed it. */
	uint8_t keys[2][32];
	memcpy(keys[0], other_pk, 32);
	memcpy(keys[1], vendor_pk, 32);
	assert_int_equal(toride_dev_bundle_verify_header(hdr, len, (const uint8_t(*)[32])keys, 2, &info, NULL), 0);
	assert_int_equal(toride_dev_bundle_verify_header(hdr, len, (const uint8_t(*)[32])keys, 1, &info, NULL),
	                 TORIDE_DEV_ESIGNATURE);
	assert_int_equal(toride_dev_bundle_verify_header(hdr, len, (const uint8_t(*)[32])keys, 0, &info, NULL),
	                 TORIDE_DEV_ESIGNATURE);
	/* Trailing bytes (the image) do not matter to the header. */
	uint8_t big[HDR_MAX + 10];
	memcpy(big, hdr, len);
	memset(big + len, 'x', 10);
	assert_int_equal(verify(big, len + 10, vendor_pk, &info, &hlen), 0);
	assert_int_equal(hlen, len);
	/* The parse without signature gives the same view and the manifest's place. */
	size_t moff = 0, mlen = 0;
	assert_int_equal(dev_bundle_parse_header(hdr, len, &info, &hlen, &moff, &mlen), 0);
	assert_int_equal(moff, 12);
	assert_int_equal(mlen + 12 + 64, len);
}

static void
test_build_refuses_what_devices_refuse(void **state)
{
	(void)state;
	uint8_t hdr[HDR_MAX], sha[32] = { 0 };
	size_t len;
	struct toride_dev_bundle_params p = { .target = "board", .version = "1.0" };
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), 0);
	assert_int_equal(toride_dev_bundle_header(&p, 0, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EFORMAT);
	assert_int_equal(toride_dev_bundle_header(&p, (4ull << 30) + 1, sha, vendor_sk, hdr, sizeof(hdr), &len),
	                 TORIDE_DEV_EFORMAT);
	assert_int_equal(toride_dev_bundle_header(&p, 4ull << 30, sha, vendor_sk, hdr, sizeof(hdr), &len), 0);
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, 100, &len), TORIDE_DEV_ETOOBIG);
	p.version = "1.x";
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EFORMAT);
	p.version = "1.0";
	p.security_floor = "1.1"; /* above its own version */
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EFORMAT);
	p.security_floor = NULL;
	p.target = "bad target";
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EFORMAT);
	p.target = "";
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EFORMAT);
	p.target = "board";
	p.created = "yesterday";
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EFORMAT);
	p.created = NULL;
	char desc[TORIDE_DEV_MAX_VALUE + 1];
	memset(desc, 'd', TORIDE_DEV_MAX_VALUE);
	desc[TORIDE_DEV_MAX_VALUE] = '\0';
	p.description = desc; /* fits a kv value; with escapes it would not fit the manifest */
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), 0);
	memset(desc, 0x01, TORIDE_DEV_MAX_VALUE); /* each control byte is written as an escape: too big */
	desc[TORIDE_DEV_MAX_VALUE] = '\0';
	assert_int_equal(toride_dev_bundle_header(&p, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_ETOOBIG);
	desc[0] = '\0';
	p.description = NULL;
	assert_int_equal(toride_dev_bundle_header(NULL, 1, sha, vendor_sk, hdr, sizeof(hdr), &len), TORIDE_DEV_EINVAL);
}

static void
test_checked_in_good_bundles(void **state)
{
	(void)state;
	static const struct { const char *file, *version, *floor; uint64_t size; } good[] = {
		{"fw-0.9.tbd", "0.9", "", 1024},
		{"fw-1.0.tbd", "1.0", "", 1500},
		{"fw-1.1.tbd", "1.1", "", 2048},
		{"fw-1.2-floor.tbd", "1.2", "1.2", 3000},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len, hlen = 0;
		uint8_t *b = read_file(good[i].file, &len);
		struct toride_dev_bundle_info info;
		assert_int_equal(verify(b, len, vendor_pk, &info, &hlen), 0);
		assert_string_equal(info.target, "toride-test-board");
		assert_string_equal(info.version, good[i].version);
		assert_string_equal(info.security_floor, good[i].floor);
		assert_int_equal(info.image_size, good[i].size);
		assert_int_equal(len, hlen + good[i].size);
		uint8_t sha[32];
		crypto_hash_sha256(sha, b + hlen, len - hlen);
		assert_memory_equal(sha, info.image_sha256, 32);
		assert_int_equal(verify(b, len, other_pk, &info, &hlen), TORIDE_DEV_ESIGNATURE);
		free(b);
	}
}

static void
test_checked_in_hostile_bundles(void **state)
{
	(void)state;
	static const struct { const char *file; int want; } bad[] = {
		{"bad-signature.tbd", TORIDE_DEV_ESIGNATURE},
		{"untrusted-signer.tbd", TORIDE_DEV_ESIGNATURE},
		{"huge-length.tbd", TORIDE_DEV_EFORMAT},
		{"truncated-magic.tbd", TORIDE_DEV_EINCOMPLETE},
		{"truncated-manifest.tbd", TORIDE_DEV_EINCOMPLETE},
		{"truncated-signature.tbd", TORIDE_DEV_EINCOMPLETE},
		/* These have a good header: the image checks belong to the installer (update tests). */
		{"truncated-image.tbd", 0},
		{"hash-mismatch.tbd", 0},
		{"trailing-bytes.tbd", 0},
		{"wrong-target.tbd", 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len;
		uint8_t *b = read_file(bad[i].file, &len);
		struct toride_dev_bundle_info info;
		int got = verify(b, len, vendor_pk, &info, NULL);
		if (got != bad[i].want)
			fail_msg("%s: got %d, want %d", bad[i].file, got, bad[i].want);
		free(b);
	}
	size_t len;
	uint8_t *b = read_file("wrong-target.tbd", &len);
	struct toride_dev_bundle_info info;
	assert_int_equal(verify(b, len, vendor_pk, &info, NULL), 0);
	assert_string_equal(info.target, "other-board");
	free(b);
	/* The untrusted signer's bundle is well-formed: only the trust decision fails. */
	b = read_file("untrusted-signer.tbd", &len);
	assert_int_equal(verify(b, len, other_pk, &info, NULL), 0);
	assert_int_equal(dev_bundle_parse_header(b, len, &info, NULL, NULL, NULL), 0);
	assert_memory_equal(info.key_id, other_pk, 8);
	free(b);
}

/* Every prefix of the header is "need more", never an error and never a success. */
static void
test_truncated_at_every_byte(void **state)
{
	(void)state;
	size_t len, hlen = 0;
	uint8_t *b = read_file("fw-1.1.tbd", &len);
	struct toride_dev_bundle_info info;
	assert_int_equal(verify(b, len, vendor_pk, &info, &hlen), 0);
	for (size_t n = 0; n < hlen; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan catches any over-read */
		memcpy(copy, b, n);
		assert_int_equal(verify(copy, n, vendor_pk, &info, NULL), TORIDE_DEV_EINCOMPLETE);
		free(copy);
	}
	uint8_t *copy = malloc(hlen);
	memcpy(copy, b, hlen);
	assert_int_equal(verify(copy, hlen, vendor_pk, &info, NULL), 0);
	free(copy);
	free(b);
	/* Wrong magic fails at the first wrong byte. */
	assert_int_equal(verify((const uint8_t *)"TORIDEB2", 8, vendor_pk, &info, NULL), TORIDE_DEV_EFORMAT);
	assert_int_equal(verify((const uint8_t *)"X", 1, vendor_pk, &info, NULL), TORIDE_DEV_EFORMAT);
}

/* Flipping any single bit of the header must make it fail. */
static void
test_every_header_bit_matters(void **state)
{
	(void)state;
	size_t len, hlen = 0;
	uint8_t *b = read_file("fw-1.1.tbd", &len);
	struct toride_dev_bundle_info info;
	assert_int_equal(verify(b, len, vendor_pk, &info, &hlen), 0);
	for (size_t i = 0; i < hlen; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			int r = verify(b, len, vendor_pk, &info, NULL);
			if (r == 0)
				fail_msg("bit %d of byte %zu flipped and the header still verifies", bit, i);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(b);
}

static void
test_signed_hostile_manifests(void **state)
{
	(void)state;
	uint8_t hdr[HDR_MAX + 8192];
	char m[TORIDE_DEV_MAX_MANIFEST * 2];
	struct toride_dev_bundle_info info;
	size_t n;

	manifest_text(m, sizeof(m), NULL, NULL);
	n = signed_header(m, vendor_sk, hdr);
	assert_int_equal(verify(hdr, n, vendor_pk, &info, NULL), 0); /* the helper makes good ones */
	assert_string_equal(info.version, "2.0");

	static const struct { const char *drop, *extra; } cases[] = {
		{NULL, "color=blue\n"},            /* unknown key */
		{NULL, "version=3.0\n"},           /* duplicate key */
		{NULL, "target=other\n"},          /* duplicate key */
		{"version", "version=1.x\n"},      /* bad version */
		{"version", "version=1.2.3.4.5\n"},
		{"version", "version=\n"},
		{"version", NULL},                 /* missing version */
		{"target", NULL},
		{"target", "target=a/b\n"},
		{"format", "format=2\n"},          /* a newer format */
		{"format", NULL},
		{"image-size", "image-size=0\n"},
		{"image-size", "image-size=0100\n"},
		{"image-size", "image-size=4294967297\n"},
		{"image-size", "image-size=-1\n"},
		{"image-size", "image-size=99999999999999999999\n"},
		{"image-size", NULL},
		{"image-sha256", "image-sha256=00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n"},
		{"image-sha256", "image-sha256=0011\n"},
		{"key-id", NULL},
		{"key-id", "key-id=0000000000000000\n"}, /* names a key that did not sign it */
		{NULL, "security-floor=2.1\n"},    /* above its own version */
		{NULL, "security-floor=x\n"},
		{NULL, "created=not a time\n"},
		{NULL, "description=bad \\q escape\n"},
		{NULL, "description=no newline"},  /* torn last line */
		{NULL, "NoUpper=1\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		manifest_text(m, sizeof(m), cases[i].drop, cases[i].extra);
		n = signed_header(m, vendor_sk, hdr);
		int r = verify(hdr, n, vendor_pk, &info, NULL);
		if (r != TORIDE_DEV_EFORMAT)
			fail_msg("case %zu (%s): got %d, want EFORMAT", i, m, r);
		/* The unsigned parse refuses them too (toride bundle info), except the key-id that
		 * only a signature check can find wrong. */
		if (strstr(m, "key-id=0000") == NULL)
			assert_int_equal(dev_bundle_parse_header(hdr, n, &info, NULL, NULL, NULL), TORIDE_DEV_EFORMAT);
	}
	/* Optional keys are accepted. */
	manifest_text(m, sizeof(m), NULL, "created=2025-01-01T00:00:00Z\ndescription=ok\nsecurity-floor=2.0\n# comment\n");
	n = signed_header(m, vendor_sk, hdr);
	assert_int_equal(verify(hdr, n, vendor_pk, &info, NULL), 0);
	assert_string_equal(info.security_floor, "2.0");

	/* Manifest length: 0, exactly the cap (padded with comments), over the cap. */
	n = signed_header("", vendor_sk, hdr);
	assert_int_equal(verify(hdr, n, vendor_pk, &info, NULL), TORIDE_DEV_EFORMAT);
	manifest_text(m, sizeof(m), NULL, NULL);
	size_t l = strlen(m);
	memset(m + l, '#', TORIDE_DEV_MAX_MANIFEST - l - 1);
	m[TORIDE_DEV_MAX_MANIFEST - 1] = '\n';
	m[TORIDE_DEV_MAX_MANIFEST] = '\0';
	n = signed_header(m, vendor_sk, hdr);
	assert_int_equal(verify(hdr, n, vendor_pk, &info, NULL), 0);
	m[TORIDE_DEV_MAX_MANIFEST - 1] = '#';
	m[TORIDE_DEV_MAX_MANIFEST] = '\n';
	m[TORIDE_DEV_MAX_MANIFEST + 1] = '\0';
	n = signed_header(m, vendor_sk, hdr);
	assert_int_equal(verify(hdr, n, vendor_pk, &info, NULL), TORIDE_DEV_EFORMAT);
}

/* The signature covers the domain string and the length: a bare Ed25519 signature of the manifest
 * (what another tool might produce) is not a bundle signature. */
static void
test_signature_domain(void **state)
{
	(void)state;
	uint8_t hdr[HDR_MAX];
	char m[TORIDE_DEV_MAX_MANIFEST];
	struct toride_dev_bundle_info info;
	manifest_text(m, sizeof(m), NULL, NULL);
	size_t n = signed_header(m, vendor_sk, hdr), mlen = strlen(m);
	crypto_sign_detached(hdr + 12 + mlen, NULL, (const uint8_t *)m, mlen, vendor_sk);
	assert_int_equal(verify(hdr, n, vendor_pk, &info, NULL), TORIDE_DEV_ESIGNATURE);
	/* Invalid arguments. */
	assert_int_equal(toride_dev_bundle_verify_header(NULL, 5, (const uint8_t(*)[32])vendor_pk, 1, &info, NULL),
	                 TORIDE_DEV_EINVAL);
	assert_int_equal(toride_dev_bundle_verify_header(hdr, n, (const uint8_t(*)[32])vendor_pk, 1, NULL, NULL),
	                 TORIDE_DEV_EINVAL);
	assert_int_equal(toride_dev_bundle_verify_header(hdr, n, (const uint8_t(*)[32])vendor_pk,
	                                                 TORIDE_DEV_MAX_KEYS + 1, &info, NULL),
	                 TORIDE_DEV_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_build_and_verify),
		cmocka_unit_test(test_build_refuses_what_devices_refuse),
		cmocka_unit_test(test_checked_in_good_bundles),
		cmocka_unit_test(test_checked_in_hostile_bundles),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_every_header_bit_matters),
		cmocka_unit_test(test_signed_hostile_manifests),
		cmocka_unit_test(test_signature_domain),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
