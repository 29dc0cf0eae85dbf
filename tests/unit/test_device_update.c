/*
 * A/B update (src/device/update.c) on a real directory (vfs_posix in a mkdtemp dir), with the
 * checked-in bundles of tests/data/device (TEST-ONLY keys): install, boot counting, rollback,
 * confirm and the floor, hostile bundles leaving the device untouched, the access check,
 * image hash checks at boot, hostile boot records, and state surviving a close/open (reboot).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/internal.h"
#include "toride/device.h"

#define DATA TORIDE_TEST_DATA "/device/"
#define TARGET "toride-test-board"
#define HDR_MAX (12 + TORIDE_DEV_MAX_MANIFEST + 64)

static uint8_t vendor_sk[64], vendor_pk[32];

struct fx {
	char dir[64];
	struct toride_dev_vfs vfs;
	struct toride_dev *dev;
	char password[32];
};

struct blob {
	uint8_t *data;
	size_t len;
};

static void
read_key(const char *name, const char *tag, uint8_t *out, size_t n)
{
	char path[512], line[512], t[64], hex[300];
	snprintf(path, sizeof(path), DATA "%s", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(sscanf(line, "%63s %299s", t, hex), 2);
	assert_string_equal(t, tag);
	assert_int_equal(dev_unhex(hex, out, n), 0);
}

static struct blob
load(const char *name)
{
	char path[512];
	struct blob b;
	snprintf(path, sizeof(path), DATA "%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	b.data = malloc(1 << 20);
	assert_non_null(b.data);
	b.len = fread(b.data, 1, 1 << 20, f);
	fclose(f);
	return b;
}

/* The image part of a good bundle. */
static struct blob
image_of(const struct blob *bundle)
{
	struct toride_dev_bundle_info info;
	size_t hlen = 0;
	assert_int_equal(toride_dev_bundle_verify_header(bundle->data, bundle->len,
	                                                 (const uint8_t(*)[32])vendor_pk, 1, &info, &hlen), 0);
	struct blob b = { malloc(bundle->len - hlen), bundle->len - hlen };
	memcpy(b.data, bundle->data + hlen, b.len);
	return b;
}

/* A bundle made here with the test key (for versions the checked-in set does not have). */
static struct blob
make_bundle(const char *target, const char *version, const char *floor, size_t image_len)
{
	struct blob b = { malloc(HDR_MAX + image_len), 0 };
	uint8_t sha[32];
	uint8_t *img = malloc(image_len);
	for (size_t i = 0; i < image_len; i++)
		img[i] = (uint8_t)(i * 31 + version[0]);
	crypto_hash_sha256(sha, img, image_len);
	struct toride_dev_bundle_params p = { .target = target, .version = version, .security_floor = floor };
	assert_int_equal(toride_dev_bundle_header(&p, image_len, sha, vendor_sk, b.data, HDR_MAX, &b.len), 0);
	memcpy(b.data + b.len, img, image_len);
	b.len += image_len;
	free(img);
	return b;
}

static void
dev_open(struct fx *f)
{
	struct toride_dev_options o = {
		.target = TARGET, .model = "TB-1", .serial = "SN0001", .mac = "00:11:22:33:44:55",
		.pwhash_ops = crypto_pwhash_OPSLIMIT_MIN, .pwhash_mem = crypto_pwhash_MEMLIMIT_MIN,
		.boot_tries = 3,
	};
	assert_int_equal(toride_dev_open(&f->dev, &f->vfs, &o), 0);
}

/* Power cycle: everything in memory is lost, only the storage remains. */
static void
reboot(struct fx *f)
{
	toride_dev_close(f->dev);
	f->dev = NULL;
	dev_open(f);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/toride-update-XXXXXX");
	if (mkdtemp(f->dir) == NULL || toride_dev_vfs_posix_open(&f->vfs, f->dir) != 0)
		return -1;
	struct blob factory = load("fw-1.0.tbd"), img = image_of(&factory);
	assert_int_equal(dev_vfs_write_file(&f->vfs, "slot-a", img.data, img.len), 0);
	free(factory.data);
	free(img.data);
	dev_open(f);
	uint8_t secret[32];
	memset(secret, 7, sizeof(secret));
	const struct toride_dev_provision p = {
		.mode = TORIDE_DEV_INITIAL_UNIQUE, .user = "admin", .secret = secret,
		.keys = (const uint8_t(*)[32])vendor_pk, .n_keys = 1, .firmware_version = "1.0",
	};
	assert_int_equal(toride_dev_provision(f->dev, &p, f->password, sizeof(f->password)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	toride_dev_close(f->dev);
	toride_dev_vfs_posix_close(&f->vfs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Streams a bundle in `chunk`-byte pieces; returns the first error (feed or finish). */
static int
install(struct toride_dev *dev, const struct blob *b, size_t chunk, struct toride_dev_bundle_info *info)
{
	struct toride_dev_update *u = NULL;
	int err = toride_dev_update_begin_auto(dev, &u);
	if (err != 0)
		return err;
	for (size_t off = 0; off < b->len; off += chunk) {
		size_t n = b->len - off < chunk ? b->len - off : chunk;
		err = toride_dev_update_feed(u, b->data + off, n);
		if (err != 0) {
			/* Sticky: the same error again, and nothing more is accepted. */
			assert_int_equal(toride_dev_update_feed(u, b->data, 1), err);
			toride_dev_update_abort(u);
			return err;
		}
	}
	return toride_dev_update_finish(u, info);
}

static int
install_file(struct toride_dev *dev, const char *name, size_t chunk)
{
	struct blob b = load(name);
	int err = install(dev, &b, chunk, NULL);
	free(b.data);
	return err;
}

static void
expect_boot(struct toride_dev *dev, char slot, const char *version, int trial, unsigned tries,
            int rolled_back)
{
	struct toride_dev_boot_info bi;
	assert_int_equal(toride_dev_boot(dev, &bi), 0);
	assert_int_equal(bi.slot, slot);
	assert_string_equal(bi.version, version);
	assert_int_equal(bi.trial, trial);
	assert_int_equal(bi.tries_left, tries);
	assert_int_equal(bi.rolled_back, rolled_back);
}

static void
test_factory_state(void **state)
{
	struct fx *f = *state;
	struct toride_dev_status st;
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_int_equal(st.provisioned, 1);
	assert_int_equal(st.running_slot, 0); /* not booted yet */
	assert_string_equal(st.floor, "1.0");
	assert_string_equal(st.slot_version[0], "1.0");
	assert_string_equal(st.slot_version[1], "");
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_int_equal(st.running_slot, 'a');
	assert_string_equal(st.running_version, "1.0");
	assert_int_equal(toride_dev_confirm(f->dev), TORIDE_DEV_ESTATE); /* nothing on trial */

	/* The device reads back exactly its factory image. */
	struct blob factory = load("fw-1.0.tbd"), img = image_of(&factory);
	uint8_t buf[4096];
	size_t got = 0;
	assert_int_equal(toride_dev_slot_read(f->dev, 'a', 0, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, img.len);
	assert_memory_equal(buf, img.data, img.len);
	assert_int_equal(toride_dev_slot_read(f->dev, 'a', 1000, buf, 10, &got), 0);
	assert_int_equal(got, 10);
	assert_memory_equal(buf, img.data + 1000, 10);
	assert_int_equal(toride_dev_slot_read(f->dev, 'a', img.len, buf, 10, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(toride_dev_slot_read(f->dev, 'b', 0, buf, 10, &got), TORIDE_DEV_ENOENT);
	assert_int_equal(toride_dev_slot_read(f->dev, 'c', 0, buf, 10, &got), TORIDE_DEV_EINVAL);
	free(factory.data);
	free(img.data);
}

static void
test_install_boot_confirm(void **state)
{
	struct fx *f = *state;
	struct blob b = load("fw-1.1.tbd"), img = image_of(&b);
	struct toride_dev_bundle_info info;
	struct toride_dev_status st;
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	/* Byte by byte: the header is assembled across calls. */
	assert_int_equal(install(f->dev, &b, 1, &info), 0);
	assert_string_equal(info.version, "1.1");
	assert_int_equal(info.image_size, img.len);
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_int_equal(st.trial, 1);
	assert_string_equal(st.slot_version[1], "1.1");
	assert_string_equal(st.running_version, "1.0"); /* still running the old one until reboot */
	assert_int_equal(toride_dev_confirm(f->dev), TORIDE_DEV_ESTATE); /* not running the trial */

	reboot(f);
	expect_boot(f->dev, 'b', "1.1", 1, 2, 0);
	uint8_t buf[4096];
	size_t got = 0;
	assert_int_equal(toride_dev_slot_read(f->dev, 'b', 0, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, img.len);
	assert_memory_equal(buf, img.data, img.len);
	assert_int_equal(toride_dev_confirm(f->dev), 0);
	assert_int_equal(toride_dev_confirm(f->dev), TORIDE_DEV_ESTATE);
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_string_equal(st.floor, "1.1");
	assert_int_equal(st.trial, 0);

	/* Confirmed state is durable; the old image stays as the other slot. */
	reboot(f);
	expect_boot(f->dev, 'b', "1.1", 0, 0, 0);
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_string_equal(st.slot_version[0], "1.0");
	assert_string_equal(st.floor, "1.1");
	free(b.data);
	free(img.data);
}

/* A bundle file fed through toride_dev_update_feed_fd installs like the in-memory feeds; a
 * tampered file is refused through the same path; a bad descriptor is an argument error. */
static void
test_install_from_fd(void **state)
{
	struct fx *f = *state;
	struct blob b = make_bundle(TARGET, "1.5", NULL, 200000); /* several 64 KiB reads */
	char path[96];
	snprintf(path, sizeof(path), "%s/in.tbd", f->dir);
	for (int tamper = 1; tamper >= 0; tamper--) {
		if (tamper)
			b.data[b.len - 1] ^= 0x40;
		FILE *fp = fopen(path, "wb");
		assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
		fclose(fp);
		if (tamper)
			b.data[b.len - 1] ^= 0x40;
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		struct toride_dev_update *u = NULL;
		struct toride_dev_bundle_info info;
		assert_int_equal(toride_dev_update_begin_auto(f->dev, &u), 0);
		assert_int_equal(toride_dev_update_feed_fd(u, fd), 0);
		close(fd);
		int r = toride_dev_update_finish(u, &info);
		if (tamper) {
			assert_int_equal(r, TORIDE_DEV_EHASH);
		} else {
			assert_int_equal(r, 0);
			assert_string_equal(info.version, "1.5");
			assert_int_equal(info.image_size, 200000);
		}
	}
	struct toride_dev_update *u = NULL;
	assert_int_equal(toride_dev_update_feed_fd(NULL, 0), TORIDE_DEV_EINVAL);
	assert_int_equal(toride_dev_update_begin_auto(f->dev, &u), TORIDE_DEV_EBUSY); /* 1.5 on trial */
	free(b.data);
}

static void
test_boot_counting_and_rollback(void **state)
{
	struct fx *f = *state;
	struct toride_dev_boot_info bi;
	struct toride_dev_status st;
	assert_int_equal(install_file(f->dev, "fw-1.1.tbd", 333), 0);
	/* Three trial boots, each counted durably (a power cycle between each), none confirmed. */
	for (unsigned left = 3; left-- > 0;) {
		reboot(f);
		expect_boot(f->dev, 'b', "1.1", 1, left, 0);
	}
	reboot(f);
	assert_int_equal(toride_dev_boot(f->dev, &bi), 0);
	assert_int_equal(bi.slot, 'a');
	assert_string_equal(bi.version, "1.0");
	assert_int_equal(bi.trial, 0);
	assert_int_equal(bi.rolled_back, 1);
	assert_string_equal(bi.rolled_back_version, "1.1");
	assert_int_equal(toride_dev_confirm(f->dev), TORIDE_DEV_ESTATE);
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_string_equal(st.floor, "1.0"); /* the floor never rose */
	assert_int_equal(st.trial, 0);
	/* The rollback is durable; later boots stay on the old firmware and say what was dropped. */
	reboot(f);
	assert_int_equal(toride_dev_boot(f->dev, &bi), 0);
	assert_int_equal(bi.slot, 'a');
	assert_int_equal(bi.rolled_back, 0);
	assert_string_equal(bi.rolled_back_version, "1.1");
	/* A fixed build may be installed again (above running, not below the floor). */
	assert_int_equal(install_file(f->dev, "fw-1.2-floor.tbd", 4096), 0);
	reboot(f);
	expect_boot(f->dev, 'b', "1.2", 1, 2, 0);
	assert_int_equal(toride_dev_confirm(f->dev), 0);
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_string_equal(st.floor, "1.2");
}

static void
test_floor_downgrade_replay(void **state)
{
	struct fx *f = *state;
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	assert_int_equal(install_file(f->dev, "fw-1.0.tbd", 100), TORIDE_DEV_EDOWNGRADE); /* replay */
	assert_int_equal(install_file(f->dev, "fw-0.9.tbd", 100), TORIDE_DEV_EDOWNGRADE); /* downgrade */
	assert_int_equal(install_file(f->dev, "fw-1.1.tbd", 100), 0);
	reboot(f);
	expect_boot(f->dev, 'b', "1.1", 1, 2, 0);
	assert_int_equal(toride_dev_confirm(f->dev), 0);
	/* After the confirm: the bundle just installed (replay) and the factory one are refused. */
	assert_int_equal(install_file(f->dev, "fw-1.1.tbd", 100), TORIDE_DEV_EDOWNGRADE);
	assert_int_equal(install_file(f->dev, "fw-1.0.tbd", 100), TORIDE_DEV_EDOWNGRADE);
	struct blob same = make_bundle(TARGET, "1.1.0", NULL, 500); /* equal version, other bytes */
	assert_int_equal(install(f->dev, &same, 100, NULL), TORIDE_DEV_EDOWNGRADE);
	free(same.data);
	/* 1.2 with security floor 1.2 goes into slot a (over the factory image). */
	assert_int_equal(install_file(f->dev, "fw-1.2-floor.tbd", 100), 0);
	reboot(f);
	expect_boot(f->dev, 'a', "1.2", 1, 2, 0);
	assert_int_equal(toride_dev_confirm(f->dev), 0);
	/* Damage the running slot: the next boot falls back to 1.1 (the only intact image)... */
	assert_int_equal(dev_vfs_write_file(&f->vfs, "slot-a", "garbage", 7), 0);
	reboot(f);
	expect_boot(f->dev, 'b', "1.1", 0, 0, 0);
	/* ...but the floor stays 1.2: a bundle above the running 1.1 yet below 1.2 is refused. */
	struct toride_dev_status st;
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_string_equal(st.floor, "1.2");
	assert_string_equal(st.slot_version[0], "");
	struct blob mid = make_bundle(TARGET, "1.1.5", NULL, 500), up = make_bundle(TARGET, "1.3", "1.3", 700);
	assert_int_equal(install(f->dev, &mid, 100, NULL), TORIDE_DEV_EDOWNGRADE);
	assert_int_equal(install(f->dev, &up, 64, NULL), 0);
	reboot(f);
	expect_boot(f->dev, 'a', "1.3", 1, 2, 0);
	free(mid.data);
	free(up.data);
}

static void
test_hostile_bundles_leave_device_untouched(void **state)
{
	struct fx *f = *state;
	static const struct { const char *file; int want; } bad[] = {
		{"bad-signature.tbd", TORIDE_DEV_ESIGNATURE},
		{"untrusted-signer.tbd", TORIDE_DEV_ESIGNATURE},
		{"wrong-target.tbd", TORIDE_DEV_ETARGET},
		{"huge-length.tbd", TORIDE_DEV_EFORMAT},
		{"truncated-magic.tbd", TORIDE_DEV_EFORMAT},
		{"truncated-manifest.tbd", TORIDE_DEV_EFORMAT},
		{"truncated-signature.tbd", TORIDE_DEV_EFORMAT},
		{"truncated-image.tbd", TORIDE_DEV_EFORMAT},
		{"trailing-bytes.tbd", TORIDE_DEV_EFORMAT},
		{"hash-mismatch.tbd", TORIDE_DEV_EHASH},
		{"fw-1.0.tbd", TORIDE_DEV_EDOWNGRADE},
		{"fw-0.9.tbd", TORIDE_DEV_EDOWNGRADE},
	};
	static const size_t chunks[] = { 1, 13, 4096, 1 << 20 };
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			int got = install_file(f->dev, bad[i].file, chunks[c]);
			if (got != bad[i].want)
				fail_msg("%s in %zu-byte chunks: got %d, want %d", bad[i].file, chunks[c], got,
				         bad[i].want);
			struct toride_dev_status st;
			assert_int_equal(toride_dev_status(f->dev, &st), 0);
			assert_int_equal(st.trial, 0);
			assert_string_equal(st.slot_version[1], "");
		}
	}
	reboot(f);
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	/* And a good bundle still installs afterwards. */
	assert_int_equal(install_file(f->dev, "fw-1.1.tbd", 4096), 0);
}

/* Bytes past the signed image size are refused as they arrive, never written to the slot. */
static void
test_extra_bytes_never_written(void **state)
{
	struct fx *f = *state;
	struct toride_dev_update *u = NULL;
	struct blob b = load("trailing-bytes.tbd");
	assert_int_equal(toride_dev_update_begin_auto(f->dev, &u), 0);
	assert_int_equal(toride_dev_update_feed(u, b.data, b.len), TORIDE_DEV_EFORMAT);
	toride_dev_update_abort(u);
	void *file = NULL;
	uint64_t size = 1;
	assert_int_equal(f->vfs.open(f->vfs.ctx, "slot-b", TORIDE_DEV_VFS_READ, &file), 0);
	assert_int_equal(f->vfs.size(f->vfs.ctx, file, &size), 0);
	assert_int_equal(size, 0);
	f->vfs.close(f->vfs.ctx, file);
	free(b.data);
}

static void
test_busy(void **state)
{
	struct fx *f = *state;
	struct toride_dev_update *u = NULL, *u2 = NULL;
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	assert_int_equal(toride_dev_update_begin_auto(f->dev, &u), 0);
	assert_int_equal(toride_dev_update_begin_auto(f->dev, &u2), TORIDE_DEV_EBUSY);
	assert_null(u2);
	toride_dev_update_abort(u);
	assert_int_equal(toride_dev_update_begin_auto(f->dev, &u), 0);
	assert_int_equal(toride_dev_update_finish(u, NULL), TORIDE_DEV_EFORMAT); /* empty bundle */
	/* A trial waiting for its verdict blocks installs (before boot and while running it). */
	assert_int_equal(install_file(f->dev, "fw-1.1.tbd", 4096), 0);
	struct blob next = make_bundle(TARGET, "1.5", NULL, 300);
	assert_int_equal(install(f->dev, &next, 4096, NULL), TORIDE_DEV_EBUSY);
	reboot(f);
	expect_boot(f->dev, 'b', "1.1", 1, 2, 0);
	assert_int_equal(install(f->dev, &next, 4096, NULL), TORIDE_DEV_EBUSY);
	assert_int_equal(toride_dev_confirm(f->dev), 0);
	assert_int_equal(install(f->dev, &next, 4096, NULL), 0);
	free(next.data);
}

/* An install cut off mid-image (power lost, connection dropped): the slot is recorded as absent
 * before it is overwritten, so the next boot runs the old firmware and the slot is free. */
static void
test_interrupted_install(void **state)
{
	struct fx *f = *state;
	struct toride_dev_update *u = NULL;
	struct blob b11 = load("fw-1.1.tbd"), b12 = load("fw-1.2-floor.tbd");
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	assert_int_equal(install(f->dev, &b11, 4096, NULL), 0);
	reboot(f);
	expect_boot(f->dev, 'b', "1.1", 1, 2, 0);
	assert_int_equal(toride_dev_confirm(f->dev), 0);
	/* Now slot a (1.0) is the fallback; start overwriting it with 1.2 and "lose power". */
	assert_int_equal(toride_dev_update_begin_auto(f->dev, &u), 0);
	assert_int_equal(toride_dev_update_feed(u, b12.data, b12.len / 2), 0);
	toride_dev_update_abort(u);
	reboot(f);
	struct toride_dev_status st;
	assert_int_equal(toride_dev_status(f->dev, &st), 0);
	assert_string_equal(st.slot_version[0], ""); /* no stale hash describing half-written bytes */
	assert_string_equal(st.slot_version[1], "1.1");
	expect_boot(f->dev, 'b', "1.1", 0, 0, 0);
	assert_int_equal(install(f->dev, &b12, 4096, NULL), 0);
	free(b11.data);
	free(b12.data);
}

static void
test_boot_checks_image_hash(void **state)
{
	struct fx *f = *state;
	struct toride_dev_boot_info bi;
	assert_int_equal(install_file(f->dev, "fw-1.1.tbd", 4096), 0);
	/* The trial image is damaged after install: boot abandons it and runs the old one. */
	struct blob b = load("fw-1.1.tbd"), img = image_of(&b);
	img.data[10] ^= 1;
	assert_int_equal(dev_vfs_write_file(&f->vfs, "slot-b", img.data, img.len), 0);
	reboot(f);
	assert_int_equal(toride_dev_boot(f->dev, &bi), 0);
	assert_int_equal(bi.slot, 'a');
	assert_int_equal(bi.rolled_back, 1);
	assert_string_equal(bi.rolled_back_version, "1.1");
	reboot(f);
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	/* Both images damaged: nothing safe to boot, said plainly. */
	assert_int_equal(dev_vfs_write_file(&f->vfs, "slot-a", "x", 1), 0);
	reboot(f);
	assert_int_equal(toride_dev_boot(f->dev, &bi), TORIDE_DEV_ECORRUPT);
	free(b.data);
	free(img.data);
}

static void
test_session_check(void **state)
{
	struct fx *f = *state;
	struct toride_dev_update *u = NULL;
	struct toride_dev_login_result res;
	char reason[128];
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
	assert_int_equal(toride_dev_update_begin(f->dev, "00", &u), TORIDE_DEV_EDENIED);
	assert_null(u);
	assert_int_equal(toride_dev_login(f->dev, "console", "admin", f->password, &res), 0);
	/* A must-change session (if the mode asks for one) may do nothing but change it. */
	if (res.must_change)
		assert_int_equal(toride_dev_update_begin(f->dev, res.token, &u), TORIDE_DEV_EMUSTCHANGE);
	assert_int_equal(toride_dev_change_password(f->dev, res.token, f->password, "Hydrangea-Velvet-Otter-91",
	                                            reason, sizeof(reason)), 0);
	assert_int_equal(toride_dev_update_begin(f->dev, res.token, &u), 0);
	struct blob b = load("fw-1.1.tbd");
	assert_int_equal(toride_dev_update_feed(u, b.data, b.len), 0);
	assert_int_equal(toride_dev_update_finish(u, NULL), 0);
	free(b.data);
	/* A viewer may not install. */
	assert_int_equal(toride_dev_account_add(f->dev, res.token, "viewer", "Marmalade-Quartz-Heron-37",
	                                        TORIDE_DEV_ROLE_VIEWER, reason, sizeof(reason)), 0);
	struct toride_dev_login_result vres;
	assert_int_equal(toride_dev_login(f->dev, "console", "viewer", "Marmalade-Quartz-Heron-37", &vres), 0);
	assert_int_equal(toride_dev_update_begin(f->dev, vres.token, &u), TORIDE_DEV_EDENIED);
}

/* Each hostile boot record must make open fail with ECORRUPT, never load a wrong state. */
static void
test_hostile_boot_records(void **state)
{
	struct fx *f = *state;
	static const struct { const char *key, *value; } cases[] = {
		{"active", "c"}, {"active", "b"} /* slot b absent */, {"active", "ab"}, {"active", NULL},
		{"trial", "a"} /* == active */, {"trial", "b"} /* absent */, {"trial", ""},
		{"tries", "x"}, {"tries", "-1"}, {"tries", "1234567890"},
		{"floor", "1.x"}, {"floor", NULL}, {"rolled-back", "v1"},
		{"slot.a.version", "1..0"}, {"slot.a.version", NULL}, {"slot.a.size", "0"},
		{"slot.a.size", "99999999999"}, {"slot.a.size", "12a"}, {"slot.a.sha256", "abcd"},
		{"slot.a.sha256", NULL}, {"slot.a.floor", "x"}, {"slot.b.floor", "1.0"} /* half a slot */,
		{"slot.c.version", "1.0"}, {"colour", "blue"},
	};
	struct dev_kv good = { 0 }, kv = { 0 };
	struct dev_record rec = { 0, -1 };
	assert_int_equal(dev_record_read_kv(&f->vfs, "boot", &rec, &good), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dev_kv_copy(&kv, &good), 0);
		assert_int_equal(dev_kv_set(&kv, cases[i].key, cases[i].value), 0);
		assert_int_equal(dev_record_write_kv(&f->vfs, "boot", &rec, &kv), 0);
		dev_kv_free(&kv);
		toride_dev_close(f->dev);
		f->dev = NULL;
		struct toride_dev_options o = {
			.target = TARGET, .pwhash_ops = crypto_pwhash_OPSLIMIT_MIN,
			.pwhash_mem = crypto_pwhash_MEMLIMIT_MIN,
		};
		int got = toride_dev_open(&f->dev, &f->vfs, &o);
		if (got != TORIDE_DEV_ECORRUPT)
			fail_msg("boot record with %s=%s: open gave %d", cases[i].key,
			         cases[i].value ? cases[i].value : "(removed)", got);
	}
	/* The untouched record opens again. */
	assert_int_equal(dev_record_write_kv(&f->vfs, "boot", &rec, &good), 0);
	dev_kv_free(&good);
	dev_open(f);
	expect_boot(f->dev, 'a', "1.0", 0, 0, 0);
}

static void
test_provisioning_needs_factory_image(void **state)
{
	(void)state;
	struct fx g = { 0 };
	char pw[32];
	snprintf(g.dir, sizeof(g.dir), "/tmp/toride-update-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	assert_int_equal(toride_dev_vfs_posix_open(&g.vfs, g.dir), 0);
	dev_open(&g);
	struct toride_dev_status st;
	assert_int_equal(toride_dev_status(g.dev, &st), 0);
	assert_int_equal(st.provisioned, 0);
	struct toride_dev_boot_info bi;
	struct toride_dev_update *u = NULL;
	assert_int_equal(toride_dev_boot(g.dev, &bi), TORIDE_DEV_ESTATE);
	assert_int_equal(toride_dev_update_begin_auto(g.dev, &u), TORIDE_DEV_ESTATE);
	struct toride_dev_provision p = {
		.mode = TORIDE_DEV_INITIAL_UNIQUE, .user = "admin",
		.keys = (const uint8_t(*)[32])vendor_pk, .n_keys = 1, .firmware_version = "1.0",
	};
	assert_int_equal(toride_dev_provision(g.dev, &p, pw, sizeof(pw)), TORIDE_DEV_ENOENT); /* no slot-a */
	assert_int_equal(dev_vfs_write_file(&g.vfs, "slot-a", "image", 5), 0);
	p.firmware_version = "one";
	assert_int_equal(toride_dev_provision(g.dev, &p, pw, sizeof(pw)), TORIDE_DEV_EFORMAT);
	p.firmware_version = "1.0";
	assert_int_equal(toride_dev_provision(g.dev, &p, pw, sizeof(pw)), 0);
	expect_boot(g.dev, 'a', "1.0", 0, 0, 0);
	void *heap = malloc(sizeof(g));
	memcpy(heap, &g, sizeof(g));
	assert_int_equal(teardown(&heap), 0);
}

int
main(void)
{
	read_key("test-vendor.key", "toride-ed25519-secret-v1", vendor_sk, 64);
	read_key("test-vendor.pub", "toride-ed25519-public-v1", vendor_pk, 32);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_factory_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_boot_confirm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_from_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_counting_and_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_floor_downgrade_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_bundles_leave_device_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_bytes_never_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_checks_image_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_boot_records, setup, teardown),
		cmocka_unit_test(test_provisioning_needs_factory_image),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
