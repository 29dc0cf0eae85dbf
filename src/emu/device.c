/*
 * One emulated device: per-device state derived deterministically from (fleet seed, index), and
 * the policy-aware login check every emulated service uses, so that telnet, SSH, HTTP, MQTT, RTSP
 * and FTP of one device always agree on which credentials work.
 */
#include "emu/emu.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

/* Why 256 bytes: the stream feeds seed (8), MAC (3), uptime (6) and a 16-character password by
 * rejection sampling (62/64 of bytes accepted); 256 bytes run out with negligible probability,
 * and then the fallback is a modulo (slightly biased, still fine for a lab password). */
#define EMU_DEVICE_STREAM 256
/* Why 16: 16 characters of [A-Za-z0-9] is ~95 bits, beyond any brute force a survey tries. */
#define EMU_UNIQUE_PASS_LEN 16
/* Why 90 days: embedded devices run for months without reboot; 1..90 days looks like a fleet. */
#define EMU_UPTIME_DAYS_MAX 90

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Registered OUIs (IEEE MA-L) of vendors the profiles use, keyed by the vendor's first word in
 * lower-case letters and digits (as the survey matches vendors). Unknown vendors get a locally
 * administered address, which never collides with a real vendor's. */
static const struct {
	const char *key;
	uint8_t oui[3];
} ouis[] = {
	{"hikvision", {0x44, 0x19, 0xb6}}, {"dahua", {0x3c, 0xef, 0x8c}},  {"tplink", {0x50, 0xc7, 0xbf}},
	{"dlink", {0x1c, 0x7e, 0xe5}},     {"netgear", {0xa0, 0x40, 0xa0}}, {"zyxel", {0x00, 0xa0, 0xc5}},
	{"huawei", {0x00, 0xe0, 0xfc}},    {"mikrotik", {0x4c, 0x5e, 0x0c}}, {"axis", {0x00, 0x40, 0x8c}},
	{"ubiquiti", {0x24, 0xa4, 0x3c}},  {"synology", {0x00, 0x11, 0x32}}, {"qnap", {0x24, 0x5e, 0xbe}},
	{"hp", {0x3c, 0xd9, 0x2b}},        {"dream", {0x00, 0x09, 0x34}},   {"vivotek", {0x00, 0x02, 0xd1}},
	{"zte", {0x00, 0x15, 0xeb}},
};

/* First word of a vendor name: letters and digits up to the first space, lower-case, punctuation
 * dropped ("D-Link Systems" -> "dlink"). */
static void
vendor_key(const char *vendor, char *out, size_t outlen)
{
	size_t n = 0;
	for (const char *c = vendor; *c && *c != ' ' && n + 1 < outlen; c++) {
		char ch = *c;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			out[n++] = ch;
	}
	out[n] = '\0';
}

static void
fill_hostname(char *dst, size_t size, const char *tmpl, const uint8_t mac[6])
{
	size_t n = 0;
	for (const char *c = tmpl; *c && n + 1 < size; c++) {
		if (c[0] == '%' && c[1] == 'm') {
			char hex[7];
			snprintf(hex, sizeof hex, "%02x%02x%02x", mac[3], mac[4], mac[5]);
			for (size_t i = 0; i < 6 && n + 1 < size; i++)
				dst[n++] = hex[i];
			c++;
			continue;
		}
		dst[n++] = *c;
	}
	dst[n] = '\0';
}

int
emu_device_init(struct emu_device *d, const struct emu_profile *p, const struct toride_addr *a,
		uint64_t fleet_seed, uint64_t index)
{
	uint8_t in[32], key[randombytes_SEEDBYTES], stream[EMU_DEVICE_STREAM];
	int rc;

	if (d == NULL || p == NULL || a == NULL) {
		rc = TORIDE_EINVAL;
		goto out;
	}
	memset(d, 0, sizeof *d);
	if (sodium_init() < 0) {
		rc = TORIDE_EIO;
		goto out;
	}
	d->profile = p;
	d->addr = *a;
	if ((rc = toride_addr_format(a, d->addr_str, sizeof d->addr_str)) != 0)
		goto out;

	/* One key per device: BLAKE2b of a domain label, the fleet seed and the index (little-endian),
	 * so devices are independent and the same (seed, index) always gives the same device. */
	static const char label[] = "toride-emu-device-v1";
	memset(in, 0, sizeof in);
	memcpy(in, label, sizeof label - 1);
	for (int i = 0; i < 8; i++) {
		in[16 + i] = (uint8_t)(fleet_seed >> (8 * i));
		in[24 + i] = (uint8_t)(index >> (8 * i));
	}
	crypto_generichash(key, sizeof key, in, sizeof in, NULL, 0);
	randombytes_buf_deterministic(stream, sizeof stream, key);

	size_t pos = 0;
	for (int i = 0; i < 8; i++)
		d->seed |= (uint64_t)stream[pos++] << (8 * i);

	char vk[64];
	vendor_key(p->vendor, vk, sizeof vk);
	bool known = false;
	for (size_t i = 0; i < sizeof ouis / sizeof ouis[0] && !known; i++) {
		if (strcmp(ouis[i].key, vk) == 0) {
			memcpy(d->mac, ouis[i].oui, 3);
			known = true;
		}
	}
	if (!known) {
		/* Locally administered, unicast: bit 1 set, bit 0 clear; 0x02 then two random bytes. */
		d->mac[0] = 0x02;
		d->mac[1] = stream[pos++];
		d->mac[2] = stream[pos++];
	}
	for (int i = 3; i < 6; i++)
		d->mac[i] = stream[pos++];
	fill_hostname(d->hostname, sizeof d->hostname, p->hostname, d->mac);

	uint32_t r = 0;
	for (int i = 0; i < 4; i++)
		r |= (uint32_t)stream[pos++] << (8 * i);
	uint64_t days = 1 + r % EMU_UPTIME_DAYS_MAX;
	uint64_t secs = ((uint32_t)stream[pos] | (uint32_t)stream[pos + 1] << 8) % 86400u;
	pos += 2;
	uint64_t now = (uint64_t)time(NULL);
	uint64_t up = days * 86400u + secs;
	d->boot_time = now > up ? now - up : 0;

	if (p->policy == EMU_CRED_UNIQUE || p->policy == EMU_CRED_KEY_ONLY) {
		size_t n = 0;
		while (n < EMU_UNIQUE_PASS_LEN && pos < sizeof stream) {
			uint8_t b = stream[pos++];
			if (b < 248) /* 248 = 4 * 62: keeps the choice uniform */
				d->pass[n++] = alnum[b % 62];
		}
		while (n < EMU_UNIQUE_PASS_LEN) {
			uint8_t b = stream[n];
			d->pass[n++] = alnum[b % 62];
		}
		d->pass[n] = '\0';
	} else {
		size_t len = strlen(p->pass);
		if (len >= sizeof d->pass) {
			rc = TORIDE_EINVAL;
			goto out;
		}
		memcpy(d->pass, p->pass, len + 1);
	}
	rc = 0;
out:
	sodium_memzero(key, sizeof key);
	sodium_memzero(stream, sizeof stream);
	return rc;
}

/* Equal strings, in time that depends on the lengths only, not on where they differ. */
static bool
ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la > lb ? la : lb;
	unsigned char diff = la != lb;
	for (size_t i = 0; i < n; i++) {
		unsigned char ca = i < la ? (unsigned char)a[i] : 0;
		unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
		diff |= (unsigned char)(ca ^ cb);
	}
	return diff == 0;
}

static bool
policy_login(const struct emu_device *d, const char *user, const char *pass)
{
	switch (d->profile->policy) {
	case EMU_CRED_NO_AUTH:
		return true; /* no login at all: whatever a client sends is let in */
	case EMU_CRED_KEY_ONLY:
		return false; /* no password ever works */
	case EMU_CRED_FACTORY_DEFAULT:
	case EMU_CRED_UNIQUE:
	case EMU_CRED_FORCED_CHANGE:
		break;
	}
	/* Both compared always, so the time does not say which one was wrong. */
	bool u = ct_streq(user, d->profile->user);
	bool p = ct_streq(pass, d->pass);
	return u & p;
}

bool
emu_device_check_login(const struct emu_device *d, const char *user, const char *pass)
{
	if (d == NULL || d->profile == NULL || user == NULL || pass == NULL)
		return false;
	const struct emu_observer *o = d->obs;
	bool ok = o != NULL && o->accept_login != NULL ? o->accept_login(d->obs_arg, d, user, pass)
	                                               : policy_login(d, user, pass);
	if (o != NULL && o->login != NULL)
		o->login(d->obs_arg, user, pass, ok);
	return ok;
}
