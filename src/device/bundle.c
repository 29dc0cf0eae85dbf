/*
 * Update bundles, sans-IO: build, parse and verify the header (docs/bundle.md).
 *
 *   "TORIDEB1" | u32 BE manifest length | manifest (key=value text) | Ed25519 signature | image
 *
 * The signature covers "toride-bundle-v1" NUL | u32 BE length | manifest, so a signature can never
 * be replayed as the signature of some other toride message. The manifest carries the image's
 * size and SHA-256, so the signature binds the image too; update.c checks the image as it streams.
 *
 * verify checks the signature with every trusted key (at most TORIDE_DEV_MAX_KEYS) BEFORE the
 * manifest is parsed, so no byte of an unauthenticated manifest reaches the key=value parser on
 * the device. key-id in the manifest names the signer for people and tools and must match the key
 * that verified it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"

#define BUNDLE_MAGIC_LEN 8
#define BUNDLE_LEN_BYTES 4
#define BUNDLE_SIG_LEN crypto_sign_BYTES
/* Signed-message domain: the string plus its NUL, so no other toride signature can be a prefix. */
#define BUNDLE_DOMAIN "toride-bundle-v1"
#define BUNDLE_DOMAIN_LEN (sizeof(BUNDLE_DOMAIN))
/* 4 GiB: above any firmware image of the devices this library targets, and it keeps a hostile
 * manifest from announcing a size that would overflow offsets or fill the flash forever. */
#define BUNDLE_MAX_IMAGE (4ull << 30)
/* Versions: up to 4 dotted components of at most 9 digits each (fits a uint32 without overflow). */
#define VERSION_MAX_PARTS 4
#define VERSION_MAX_DIGITS 9
/* "2025-01-31T12:00:00Z" and variants with fractions or offsets fit; longer is not a time. */
#define BUNDLE_MAX_CREATED 40

static const char *const manifest_keys[] = {
	"format", "target", "version", "image-size", "image-sha256", "created", "security-floor",
	"description", "key-id",
};

static void
put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Splits a version into numeric parts; -1 if malformed. */
static int
version_parse(const char *v, uint32_t parts[VERSION_MAX_PARTS], int *n_parts)
{
	int n = 0;
	const char *p = v;
	if (strlen(v) >= TORIDE_DEV_MAX_VERSION)
		return -1;
	for (;;) {
		uint32_t x = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (++digits > VERSION_MAX_DIGITS)
				return -1;
			x = x * 10 + (uint32_t)(*p - '0');
			p++;
		}
		if (digits == 0 || n >= VERSION_MAX_PARTS)
			return -1;
		parts[n++] = x;
		if (*p == '\0')
			break;
		if (*p != '.')
			return -1;
		p++;
	}
	*n_parts = n;
	return 0;
}

int
toride_dev_version_cmp(const char *a, const char *b)
{
	uint32_t pa[VERSION_MAX_PARTS] = { 0 }, pb[VERSION_MAX_PARTS] = { 0 };
	int na = 0, nb = 0;
	bool va = a != NULL && version_parse(a, pa, &na) == 0;
	bool vb = b != NULL && version_parse(b, pb, &nb) == 0;
	if (!va || !vb)
		return (int)va - (int)vb; /* malformed sorts below every valid version */
	/* Missing parts count as 0: "1.2" == "1.2.0". */
	for (int i = 0; i < VERSION_MAX_PARTS; i++) {
		uint32_t x = i < na ? pa[i] : 0, y = i < nb ? pb[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static bool
version_valid(const char *v)
{
	uint32_t parts[VERSION_MAX_PARTS];
	int n;
	return v != NULL && version_parse(v, parts, &n) == 0;
}

/* Target names are identifiers: [A-Za-z0-9._-], non-empty, fit the info struct. */
static bool
target_valid(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n >= sizeof(((struct toride_dev_bundle_info *)0)->target))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool
created_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > BUNDLE_MAX_CREATED)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || strchr("TZ:.+-", s[i]) != NULL))
			return false;
	return true;
}

/* Strict decimal: digits only, no sign, no leading zero, at most BUNDLE_MAX_IMAGE. */
static int
parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 11 || (n > 1 && s[0] == '0'))
		return TORIDE_DEV_EFORMAT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TORIDE_DEV_EFORMAT;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > BUNDLE_MAX_IMAGE)
		return TORIDE_DEV_EFORMAT;
	*out = v;
	return 0;
}

static bool
lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Checks a parsed manifest and fills info. Every error is TORIDE_DEV_EFORMAT. */
static int
manifest_check(const struct dev_kv *kv, struct toride_dev_bundle_info *info)
{
	const char *format, *target, *version, *size, *sha, *created, *sec_floor, *key_id;

	for (size_t i = 0; i < kv->n; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof(manifest_keys) / sizeof(manifest_keys[0]); k++)
			if (strcmp(kv->e[i].key, manifest_keys[k]) == 0)
				known = true;
		if (!known)
			return TORIDE_DEV_EFORMAT; /* a newer format we cannot honour: refuse */
	}
	format = dev_kv_get(kv, "format");
	target = dev_kv_get(kv, "target");
	version = dev_kv_get(kv, "version");
	size = dev_kv_get(kv, "image-size");
	sha = dev_kv_get(kv, "image-sha256");
	created = dev_kv_get(kv, "created");
	sec_floor = dev_kv_get(kv, "security-floor");
	key_id = dev_kv_get(kv, "key-id");
	if (format == NULL || strcmp(format, "1") != 0 || target == NULL || !target_valid(target) ||
	    !version_valid(version) || size == NULL || sha == NULL || !lower_hex(sha, 64) ||
	    key_id == NULL || !lower_hex(key_id, 16))
		return TORIDE_DEV_EFORMAT;
	if (created != NULL && !created_valid(created))
		return TORIDE_DEV_EFORMAT;
	/* A security floor above the bundle's own version would make the bundle refuse itself. */
	if (sec_floor != NULL && (!version_valid(sec_floor) || toride_dev_version_cmp(sec_floor, version) > 0))
		return TORIDE_DEV_EFORMAT;

	memset(info, 0, sizeof(*info));
	if (parse_size(size, &info->image_size) != 0 || dev_unhex(sha, info->image_sha256, 32) != 0 ||
	    dev_unhex(key_id, info->key_id, 8) != 0 ||
	    dev_copy_str(info->target, sizeof(info->target), target) != 0 ||
	    dev_copy_str(info->version, sizeof(info->version), version) != 0 ||
	    (sec_floor != NULL &&
	     dev_copy_str(info->security_floor, sizeof(info->security_floor), sec_floor) != 0))
		return TORIDE_DEV_EFORMAT;
	return 0;
}

/* Structure only: magic, length, completeness. */
static int
header_frame(const uint8_t *buf, size_t len, size_t *manifest_len, size_t *header_len)
{
	size_t have = len < BUNDLE_MAGIC_LEN ? len : BUNDLE_MAGIC_LEN;
	if (len == 0)
		return TORIDE_DEV_EINCOMPLETE;
	if (memcmp(buf, TORIDE_DEV_BUNDLE_MAGIC, have) != 0)
		return TORIDE_DEV_EFORMAT; /* fail as early as the bytes allow */
	if (len < BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES)
		return TORIDE_DEV_EINCOMPLETE;
	uint32_t mlen = get_u32be(buf + BUNDLE_MAGIC_LEN);
	if (mlen == 0 || mlen > TORIDE_DEV_MAX_MANIFEST)
		return TORIDE_DEV_EFORMAT;
	size_t hlen = BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES + mlen + BUNDLE_SIG_LEN;
	if (len < hlen)
		return TORIDE_DEV_EINCOMPLETE;
	*manifest_len = mlen;
	*header_len = hlen;
	return 0;
}

int
dev_bundle_parse_header(const uint8_t *buf, size_t len, struct toride_dev_bundle_info *info,
                        size_t *header_len, size_t *manifest_off, size_t *manifest_len)
{
	struct dev_kv kv = { 0 };
	size_t mlen = 0, hlen = 0;
	int err;

	if (buf == NULL && len > 0)
		return TORIDE_DEV_EINVAL;
	err = header_frame(buf, len, &mlen, &hlen);
	if (err != 0)
		return err;
	err = dev_kv_parse(buf + BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES, mlen, &kv, NULL);
	if (err == TORIDE_DEV_ENOMEM)
		goto out;
	if (err != 0) {
		err = TORIDE_DEV_EFORMAT;
		goto out;
	}
	err = manifest_check(&kv, info);
	if (err != 0)
		goto out;
	if (header_len != NULL)
		*header_len = hlen;
	if (manifest_off != NULL)
		*manifest_off = BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES;
	if (manifest_len != NULL)
		*manifest_len = mlen;
out:
	dev_kv_free(&kv);
	return err;
}

/* The signed message: domain | u32 BE length | manifest. */
static size_t
signed_message(uint8_t *msg, const uint8_t *manifest, size_t mlen)
{
	memcpy(msg, BUNDLE_DOMAIN, BUNDLE_DOMAIN_LEN);
	put_u32be(msg + BUNDLE_DOMAIN_LEN, (uint32_t)mlen);
	memcpy(msg + BUNDLE_DOMAIN_LEN + BUNDLE_LEN_BYTES, manifest, mlen);
	return BUNDLE_DOMAIN_LEN + BUNDLE_LEN_BYTES + mlen;
}

int
toride_dev_bundle_verify_header(const uint8_t *buf, size_t len, const uint8_t (*keys)[32],
                                size_t n_keys, struct toride_dev_bundle_info *info,
                                size_t *header_len)
{
	uint8_t msg[BUNDLE_DOMAIN_LEN + BUNDLE_LEN_BYTES + TORIDE_DEV_MAX_MANIFEST];
	struct toride_dev_bundle_info tmp;
	size_t mlen = 0, hlen = 0, msg_len;
	const uint8_t *signer = NULL;
	int err;

	if ((buf == NULL && len > 0) || (keys == NULL && n_keys > 0) || info == NULL ||
	    n_keys > TORIDE_DEV_MAX_KEYS)
		return TORIDE_DEV_EINVAL;
	if (sodium_init() < 0)
		return TORIDE_DEV_ECRYPTO;
	err = header_frame(buf, len, &mlen, &hlen);
	if (err != 0)
		return err;

	const uint8_t *manifest = buf + BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES;
	const uint8_t *sig = manifest + mlen;
	msg_len = signed_message(msg, manifest, mlen);
	for (size_t i = 0; i < n_keys && signer == NULL; i++)
		if (crypto_sign_verify_detached(sig, msg, msg_len, keys[i]) == 0)
			signer = keys[i];
	if (signer == NULL)
		return TORIDE_DEV_ESIGNATURE;

	err = dev_bundle_parse_header(buf, hlen, &tmp, NULL, NULL, NULL);
	if (err != 0)
		return err;
	/* key-id is signed, so a mismatch is the signer's mistake, not an attack: still refuse it. */
	if (memcmp(tmp.key_id, signer, sizeof(tmp.key_id)) != 0)
		return TORIDE_DEV_EFORMAT;
	*info = tmp;
	if (header_len != NULL)
		*header_len = hlen;
	return 0;
}

static int
manifest_build(const struct toride_dev_bundle_params *p, uint64_t image_size,
               const uint8_t image_sha256[32], const uint8_t pk[32], uint8_t **text, size_t *text_len)
{
	struct dev_kv kv = { 0 };
	char size[24], sha[65], key_id[17];
	int err;

	snprintf(size, sizeof(size), "%llu", (unsigned long long)image_size);
	dev_hex(image_sha256, 32, sha);
	dev_hex(pk, 8, key_id);
	if ((err = dev_kv_set(&kv, "format", "1")) != 0 ||
	    (err = dev_kv_set(&kv, "target", p->target)) != 0 ||
	    (err = dev_kv_set(&kv, "version", p->version)) != 0 ||
	    (err = dev_kv_set(&kv, "image-size", size)) != 0 ||
	    (err = dev_kv_set(&kv, "image-sha256", sha)) != 0 ||
	    (err = dev_kv_set(&kv, "key-id", key_id)) != 0 ||
	    (p->created != NULL && (err = dev_kv_set(&kv, "created", p->created)) != 0) ||
	    (p->security_floor != NULL && (err = dev_kv_set(&kv, "security-floor", p->security_floor)) != 0) ||
	    (p->description != NULL && (err = dev_kv_set(&kv, "description", p->description)) != 0))
		goto out;
	err = dev_kv_serialize(&kv, text, text_len);
out:
	dev_kv_free(&kv);
	return err;
}

int
toride_dev_bundle_header(const struct toride_dev_bundle_params *p, uint64_t image_size,
                         const uint8_t image_sha256[32], const uint8_t sk[64], uint8_t *out,
                         size_t cap, size_t *len)
{
	uint8_t msg[BUNDLE_DOMAIN_LEN + BUNDLE_LEN_BYTES + TORIDE_DEV_MAX_MANIFEST];
	uint8_t pk[32];
	uint8_t *text = NULL;
	size_t text_len = 0, hlen, msg_len;
	struct toride_dev_bundle_info check;
	int err;

	if (p == NULL || image_sha256 == NULL || sk == NULL || out == NULL || len == NULL ||
	    p->target == NULL || p->version == NULL)
		return TORIDE_DEV_EINVAL;
	if (sodium_init() < 0)
		return TORIDE_DEV_ECRYPTO;
	/* Refuse here what every device would refuse, so a vendor never ships a dead bundle. */
	if (!target_valid(p->target) || !version_valid(p->version) || image_size == 0 ||
	    image_size > BUNDLE_MAX_IMAGE || (p->created != NULL && !created_valid(p->created)) ||
	    (p->security_floor != NULL && (!version_valid(p->security_floor) ||
	                                   toride_dev_version_cmp(p->security_floor, p->version) > 0)))
		return TORIDE_DEV_EFORMAT;
	if (crypto_sign_ed25519_sk_to_pk(pk, sk) != 0)
		return TORIDE_DEV_ECRYPTO;

	err = manifest_build(p, image_size, image_sha256, pk, &text, &text_len);
	if (err != 0) {
		if (err == TORIDE_DEV_EINVAL)
			err = TORIDE_DEV_EFORMAT;
		goto out;
	}
	if (text_len > TORIDE_DEV_MAX_MANIFEST) {
		err = TORIDE_DEV_ETOOBIG;
		goto out;
	}
	hlen = BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES + text_len + BUNDLE_SIG_LEN;
	if (cap < hlen) {
		err = TORIDE_DEV_ETOOBIG;
		goto out;
	}
	memcpy(out, TORIDE_DEV_BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	put_u32be(out + BUNDLE_MAGIC_LEN, (uint32_t)text_len);
	memcpy(out + BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES, text, text_len);
	msg_len = signed_message(msg, text, text_len);
	if (crypto_sign_detached(out + BUNDLE_MAGIC_LEN + BUNDLE_LEN_BYTES + text_len, NULL, msg,
	                         msg_len, sk) != 0) {
		err = TORIDE_DEV_ECRYPTO;
		goto out;
	}
	/* The description is free text: make sure what we wrote parses back as we mean it. */
	err = toride_dev_bundle_verify_header(out, hlen, (const uint8_t(*)[32])pk, 1, &check, NULL);
	if (err != 0)
		goto out;
	*len = hlen;
out:
	free(text);
	return err;
}
