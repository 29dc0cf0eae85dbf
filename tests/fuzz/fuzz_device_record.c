/*
 * Fuzz target: libtoride-device's durable-record reader and key=value parser against hostile
 * state files (R4: whatever is on the flash, toride_dev_open returns an error or a working
 * device, never a crash, a leak or a hang).
 *
 * Input: flags (1 byte) | split (u16 BE) | copy A (split bytes) | copy B (the rest).
 *   flags bits 0-1  record under attack: factory, accounts, config, boot
 *         bit 2     copy A is a payload: wrapped in a valid record envelope (so the fuzzer gets
 *                   past the BLAKE2b check into the kv parser and the record loaders); else it
 *                   is the raw bytes of name.0
 *         bit 3     the same for copy B (name.1)
 *         bit 4     no copy B
 *         bit 5     no other records (else the other three come from a real provisioned device)
 *         bit 6     copy A has the higher generation
 *         bit 7     slot-b holds an image too
 * Each input also goes to dev_kv_parse directly. When open succeeds the device is booted and
 * read (status, settings, slot bytes); every file handle must be closed afterwards.
 *
 * The storage is the power-cut simulator (tests/support/simdisk.c), compiled in here because fuzz
 * targets link only toride_core.
 *
 * Seeds (tests/fuzz/corpus/fuzz_device_record/) are real records written by the library plus a
 * few hostile texts; regenerate the real ones with
 *   cc -DFUZZ_DEVICE_RECORD_SEEDS -Isrc -Iinclude -Itests/support tests/fuzz/fuzz_device_record.c \
 *      build/libtoride_device.a -lsodium -o /tmp/gen && /tmp/gen tests/fuzz/corpus/fuzz_device_record
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"

#include "../support/simdisk.c"

#define FZ_TARGET "fuzz-cam"
#define FZ_IMAGE_LEN 1500 /* a small factory image: three sectors, hashing stays cheap */
#define FZ_MAX_FILES 12   /* two copies of four records, two slots, spare */

static const char *const fz_records[4] = { "factory", "accounts", "config", "boot" };

struct fz_file {
	char name[SIMDISK_MAX_NAME + 1];
	uint8_t *data;
	size_t len;
};

/* Files of a real provisioned device (with settings, a password change and a confirmed update),
 * written by the library itself on first use. */
static struct fz_file fz_base[FZ_MAX_FILES];
static size_t fz_n_base;
static uint8_t fz_image[FZ_IMAGE_LEN], fz_image_b[FZ_IMAGE_LEN];

static uint64_t
fz_clock(void *ctx)
{
	(void)ctx;
	return 1000000;
}

static void
fz_options(struct toride_dev_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->target = FZ_TARGET;
	opt->pwhash_ops = crypto_pwhash_OPSLIMIT_MIN;
	opt->pwhash_mem = crypto_pwhash_MEMLIMIT_MIN;
	opt->now_ms = fz_clock;
}

static void
fz_die(const char *what, int err)
{
	fprintf(stderr, "fuzz_device_record: baseline %s: %s\n", what, toride_dev_strerror(err));
	abort();
}

/* Builds the baseline device: provision, settings, password change, install + confirm 2.0. */
static void
fz_baseline(void)
{
	struct simdisk *d = simdisk_new(0);
	struct toride_dev *dev = NULL;
	struct toride_dev_options opt;
	uint8_t pk[32], sk[64], seed[32], secret[32];
	char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1], reason[128];
	struct toride_dev_login_result res;
	struct toride_dev_boot_info info;
	int err;

	if (sodium_init() < 0)
		fz_die("sodium_init", TORIDE_DEV_ECRYPTO);
	for (size_t i = 0; i < FZ_IMAGE_LEN; i++) {
		fz_image[i] = (uint8_t)(i * 13 + 7);
		fz_image_b[i] = (uint8_t)(i * 29 + 1);
	}
	memset(seed, 0x42, sizeof(seed));
	memset(secret, 0x24, sizeof(secret));
	crypto_sign_seed_keypair(pk, sk, seed);
	simdisk_put(d, "slot-a", fz_image, sizeof(fz_image));
	fz_options(&opt);
	if ((err = toride_dev_open(&dev, simdisk_vfs(d), &opt)) != 0)
		fz_die("open", err);
	struct toride_dev_provision p = {
		.mode = TORIDE_DEV_INITIAL_UNIQUE, .user = "admin", .secret = secret,
		.keys = (const uint8_t(*)[32])pk, .n_keys = 1, .firmware_version = "1.0",
	};
	if ((err = toride_dev_provision(dev, &p, pw, sizeof(pw))) != 0)
		fz_die("provision", err);
	if ((err = toride_dev_boot(dev, &info)) != 0)
		fz_die("boot", err);
	if ((err = toride_dev_login(dev, "console", "admin", pw, &res)) != 0)
		fz_die("login", err);
	const char *keys[] = { "net.hostname", "ui.motd" };
	const char *values[] = { "cam-fuzz", "caf\xc3\xa9 \\ back\nslash" };
	if ((err = toride_dev_config_set(dev, res.token, keys, values, 2)) != 0)
		fz_die("config_set", err);
	if ((err = toride_dev_change_password(dev, res.token, pw, "Kinkakuji-Hashira-61", reason,
	                                      sizeof(reason))) != 0)
		fz_die("change_password", err);
	/* one update so the boot record has two slots, a trial history and a raised floor */
	uint8_t sha[32], hdr[TORIDE_DEV_MAX_MANIFEST + 128];
	size_t hlen = 0;
	crypto_hash_sha256(sha, fz_image_b, sizeof(fz_image_b));
	struct toride_dev_bundle_params bp = { .target = FZ_TARGET, .version = "2.0",
		                               .security_floor = "1.5" };
	if ((err = toride_dev_bundle_header(&bp, sizeof(fz_image_b), sha, sk, hdr, sizeof(hdr), &hlen)) != 0)
		fz_die("bundle_header", err);
	struct toride_dev_update *u = NULL;
	if ((err = toride_dev_update_begin(dev, res.token, &u)) != 0 ||
	    (err = toride_dev_update_feed(u, hdr, hlen)) != 0 ||
	    (err = toride_dev_update_feed(u, fz_image_b, sizeof(fz_image_b))) != 0 ||
	    (err = toride_dev_update_finish(u, NULL)) != 0)
		fz_die("update", err);
	if ((err = toride_dev_boot(dev, &info)) != 0 || (err = toride_dev_confirm(dev)) != 0)
		fz_die("confirm", err);
	toride_dev_close(dev);

	static const char *const names[] = {
		"factory.0", "factory.1", "accounts.0", "accounts.1", "config.0", "config.1",
		"boot.0", "boot.1", "slot-a", "slot-b",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct fz_file *f = &fz_base[fz_n_base];
		if (simdisk_get(d, names[i], &f->data, &f->len) != 0)
			continue;
		snprintf(f->name, sizeof(f->name), "%s", names[i]);
		fz_n_base++;
	}
	simdisk_free(d);
}

/* "TDR1" | u32 BE length | u64 BE generation | payload | BLAKE2b-256 of all before (record.c). */
static uint8_t *
fz_wrap(const uint8_t *payload, size_t len, uint64_t gen, size_t *out_len)
{
	size_t total = 16 + len + 32;
	uint8_t *b = malloc(total);
	if (b == NULL)
		abort();
	memcpy(b, "TDR1", 4);
	for (int i = 0; i < 4; i++)
		b[4 + i] = (uint8_t)(len >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(gen >> (56 - 8 * i));
	if (len)
		memcpy(b + 16, payload, len);
	crypto_generichash(b + 16 + len, 32, b, 16 + len, NULL, 0);
	*out_len = total;
	return b;
}

static void
fz_put_copy(struct simdisk *d, const char *rec, int copy, bool wrap, uint64_t gen, const uint8_t *p,
            size_t len)
{
	char name[SIMDISK_MAX_NAME + 1];
	snprintf(name, sizeof(name), "%s.%d", rec, copy);
	if (!wrap) {
		simdisk_put(d, name, p, len);
		return;
	}
	size_t wl = 0;
	uint8_t *w = fz_wrap(p, len, gen, &wl);
	simdisk_put(d, name, w, wl);
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_n_base == 0)
		fz_baseline();
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t split = (size_t)data[1] << 8 | data[2];
	const uint8_t *rest = data + 3;
	size_t rest_len = size - 3;
	if (split > rest_len)
		split = rest_len;
	const uint8_t *a = rest, *b = rest + split;
	size_t a_len = split, b_len = rest_len - split;
	const char *rec = fz_records[flags & 3];

	/* the parser on its own, on both pieces */
	struct dev_kv kv = { 0 };
	size_t line = 0;
	if (dev_kv_parse(a, a_len, &kv, &line) == 0) {
		/* what parses must serialise and parse back to the same map */
		uint8_t *text = NULL;
		size_t tlen = 0;
		if (dev_kv_serialize(&kv, &text, &tlen) == 0) {
			struct dev_kv again = { 0 };
			if (dev_kv_parse(text, tlen, &again, NULL) != 0 || again.n != kv.n)
				abort();
			for (size_t i = 0; i < kv.n; i++) {
				const char *v = dev_kv_get(&again, kv.e[i].key);
				if (v == NULL || strcmp(v, kv.e[i].value) != 0)
					abort();
			}
			dev_kv_free(&again);
			free(text);
		}
	}
	dev_kv_free(&kv);
	if (dev_kv_parse(b, b_len, &kv, NULL) == 0)
		dev_kv_free(&kv);

	/* the device on a store holding the hostile copies */
	struct simdisk *d = simdisk_new(1);
	char prefix[SIMDISK_MAX_NAME + 1];
	snprintf(prefix, sizeof(prefix), "%s.", rec);
	for (size_t i = 0; i < fz_n_base; i++) {
		const struct fz_file *f = &fz_base[i];
		bool slot = strncmp(f->name, "slot-", 5) == 0;
		if (strncmp(f->name, prefix, strlen(prefix)) == 0)
			continue;
		if (!slot && (flags & 0x20))
			continue;
		if (strcmp(f->name, "slot-b") == 0 && !(flags & 0x80))
			continue;
		simdisk_put(d, f->name, f->data, f->len);
	}
	fz_put_copy(d, rec, 0, flags & 0x04, (flags & 0x40) ? 7 : 6, a, a_len);
	if (!(flags & 0x10))
		fz_put_copy(d, rec, 1, flags & 0x08, (flags & 0x40) ? 6 : 7, b, b_len);

	struct toride_dev_options opt;
	struct toride_dev *dev = NULL;
	fz_options(&opt);
	int open_err = toride_dev_open(&dev, simdisk_vfs(d), &opt);
#ifdef FUZZ_DEVICE_RECORD_VERBOSE
	fprintf(stderr, "%s: open %s\n", rec, toride_dev_strerror(open_err));
#endif
	if (open_err == 0) {
		struct toride_dev_status st;
		struct toride_dev_boot_info info;
		char value[TORIDE_DEV_MAX_VALUE + 1];
		uint8_t buf[512];
		size_t got = 0;
		toride_dev_status(dev, &st);
		int boot_err = toride_dev_boot(dev, &info);
#ifdef FUZZ_DEVICE_RECORD_VERBOSE
		fprintf(stderr, "%s: boot %s\n", rec, toride_dev_strerror(boot_err));
#endif
		if (boot_err == 0) {
			toride_dev_slot_read(dev, info.slot, 0, buf, sizeof(buf), &got);
			toride_dev_status(dev, &st);
		}
		toride_dev_config_get(dev, "net.hostname", value, sizeof(value));
		toride_dev_config_get(dev, "ui.motd", value, sizeof(value));
		toride_dev_close(dev);
	}
	if (simdisk_open_handles(d) != 0)
		abort(); /* a file handle leaked on some path */
	simdisk_free(d);
	return 0;
}

#ifdef FUZZ_DEVICE_RECORD_SEEDS
/* Seed generator: real records written by the library, in this target's input format. */
static void
gen_write(const char *dir, const char *name, uint8_t flags, const uint8_t *a, size_t a_len,
          const uint8_t *b, size_t b_len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	uint8_t hdr[3] = { flags, (uint8_t)(a_len >> 8), (uint8_t)a_len };
	fwrite(hdr, 1, 3, f);
	fwrite(a, 1, a_len, f);
	fwrite(b, 1, b_len, f);
	fclose(f);
}

static const struct fz_file *
gen_find(const char *name)
{
	for (size_t i = 0; i < fz_n_base; i++)
		if (strcmp(fz_base[i].name, name) == 0)
			return &fz_base[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	fz_baseline();
	for (int r = 0; r < 4; r++) {
		char n0[32], n1[32], out[64];
		snprintf(n0, sizeof(n0), "%s.0", fz_records[r]);
		snprintf(n1, sizeof(n1), "%s.1", fz_records[r]);
		const struct fz_file *f0 = gen_find(n0), *f1 = gen_find(n1);
		/* raw: both real copies as the library wrote them */
		snprintf(out, sizeof(out), "real-%s-raw", fz_records[r]);
		gen_write(argv[1], out, (uint8_t)(r | (f1 ? 0 : 0x10)), f0->data, f0->len,
		          f1 ? f1->data : NULL, f1 ? f1->len : 0);
		/* wrapped: the newest payload as copy A (the harness re-wraps it) */
		const struct fz_file *nf = f0;
		if (f1 != NULL && f1->len >= 16 && memcmp(f1->data + 8, f0->data + 8, 8) > 0)
			nf = f1;
		snprintf(out, sizeof(out), "real-%s-payload", fz_records[r]);
		gen_write(argv[1], out, (uint8_t)(r | 0x04 | 0x10 | 0x40 | (r == 3 ? 0x80 : 0)),
		          nf->data + 16, nf->len - 48, NULL, 0);
	}
	return 0;
}
#endif
