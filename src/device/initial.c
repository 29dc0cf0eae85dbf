/*
 * Unique initial password (R2, ETSI EN 303 645 5.1-1): derived from the device's factory secret, so
 * the factory prints it on the label and the device recomputes it after a factory reset without
 * storing it. Nothing public (MAC, serial) goes into it.
 */
#include <stdio.h>
#include <string.h>

#include "device/internal.h"

/* 32 characters, 5 bits each: digits 2-9, lower-case letters without i, l, o, and '#' (the same
 * key, Shift+3, on JIS and US keyboards). No 0/o, 1/l/i look-alikes on a printed label. */
static const char initial_alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz#";
#define DEV_INITIAL_CHARS 15 /* 75 bits: beyond online guessing, short enough to type */
#define DEV_INITIAL_GROUP 5
/* Fixed context: the password is BLAKE2b(key = secret, "toride initial password v1" | counter). */
static const char initial_context[] = "toride initial password v1";
/* Derivations tried until one passes the policy's built-in rules; one almost always does (a
 * random 75-bit value is rarely a pattern), the bound only keeps the loop finite. */
#define DEV_INITIAL_TRIES 64

_Static_assert(sizeof(initial_alphabet) - 1 == 32, "alphabet must have 32 characters");

int
toride_dev_initial_password(const uint8_t secret[32], char *out, size_t cap)
{
	int rc = TORIDE_DEV_ECRYPTO;
	uint8_t h[16];
	char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
	if (secret == NULL || out == NULL)
		return TORIDE_DEV_EINVAL;
	if (cap < sizeof(pw))
		return TORIDE_DEV_ETOOBIG;
	if (sodium_init() < 0)
		return TORIDE_DEV_ECRYPTO;
	for (uint8_t counter = 0; counter < DEV_INITIAL_TRIES; counter++) {
		crypto_generichash_state st;
		if (crypto_generichash_init(&st, secret, 32, sizeof(h)) != 0 ||
		    crypto_generichash_update(&st, (const uint8_t *)initial_context,
		                              sizeof(initial_context) - 1) != 0 ||
		    crypto_generichash_update(&st, &counter, 1) != 0 ||
		    crypto_generichash_final(&st, h, sizeof(h)) != 0) {
			sodium_memzero(&st, sizeof(st));
			goto out;
		}
		sodium_memzero(&st, sizeof(st));
		size_t k = 0;
		for (unsigned i = 0; i < DEV_INITIAL_CHARS; i++) {
			/* Bits 5i .. 5i+4 of h, big-endian. */
			unsigned bit = 5 * i, byte = bit / 8, shift = bit % 8;
			unsigned v = ((unsigned)h[byte] << 8 | h[byte + 1]) >> (11 - shift) & 31;
			if (i > 0 && i % DEV_INITIAL_GROUP == 0)
				pw[k++] = '-';
			pw[k++] = initial_alphabet[v];
		}
		pw[k] = '\0';
		if (toride_dev_password_check(NULL, NULL, pw, NULL, 0) == 0) {
			memcpy(out, pw, k + 1);
			rc = 0;
			goto out;
		}
	}
out:
	sodium_memzero(h, sizeof(h));
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

/* Appends formatted text at *len; TORIDE_DEV_ETOOBIG when it does not fit. */
static int
label_add(char *out, size_t cap, size_t *len, const char *label, const char *value)
{
	int n = snprintf(out + *len, cap - *len, "%s%s\n", label, value);
	if (n < 0 || (size_t)n >= cap - *len)
		return TORIDE_DEV_ETOOBIG;
	*len += (size_t)n;
	return 0;
}

int
toride_dev_label(struct toride_dev *dev, const char *initial_password, char *out, size_t cap)
{
	int rc;
	char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
	size_t len = 0;
	if (dev == NULL || out == NULL || cap == 0)
		return TORIDE_DEV_EINVAL;
	out[0] = '\0';
	if (!dev->provisioned)
		return TORIDE_DEV_ESTATE;
	pw[0] = '\0';
	if (dev->initial_mode == TORIDE_DEV_INITIAL_UNIQUE) {
		/* NULL: recompute from the stored secret, so a label can be printed again. */
		if (initial_password == NULL)
			rc = toride_dev_initial_password(dev->secret, pw, sizeof(pw));
		else
			rc = dev_copy_str(pw, sizeof(pw), initial_password);
		if (rc < 0)
			goto out;
	}
	if (dev->model[0] != '\0' && (rc = label_add(out, cap, &len, "型番 / Model: ", dev->model)) < 0)
		goto out;
	if (dev->serial[0] != '\0' &&
	    (rc = label_add(out, cap, &len, "製造番号 / Serial number: ", dev->serial)) < 0)
		goto out;
	if (dev->mac[0] != '\0' &&
	    (rc = label_add(out, cap, &len, "MACアドレス / MAC address: ", dev->mac)) < 0)
		goto out;
	if ((rc = label_add(out, cap, &len, "ユーザー名 / User name: ", dev->first_user)) < 0)
		goto out;
	if (dev->initial_mode == TORIDE_DEV_INITIAL_UNIQUE) {
		if ((rc = label_add(out, cap, &len, "初期パスワード / Initial password: ", pw)) < 0 ||
		    (rc = label_add(out, cap, &len,
		                    "この機器専用のパスワードです。 / This password is unique to this device.",
		                    "")) < 0)
			goto out;
	} else {
		rc = label_add(out, cap, &len,
		               "初回ログイン時にパスワードの変更が必要です。 / The password must be changed "
		               "at first login.",
		               "");
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sodium_memzero(out, cap);
	sodium_memzero(pw, sizeof(pw));
	return rc;
}
