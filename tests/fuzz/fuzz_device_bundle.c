/*
 * Fuzz target: update bundles on the device side. Each input is a whole bundle and goes
 *   1. to toride_dev_bundle_verify_header() with the fixed TEST-ONLY vendor key and to the
 *      unsigned dev_bundle_parse_header() (toride bundle info);
 *   2. through a full streaming install (begin_auto / feed / finish) on a provisioned device held
 *      in an in-memory vfs, followed by boot, confirm and status when the install succeeds.
 * The seeds are real bundles signed with tests/data/device/test-vendor.key, so the fuzzer starts
 * past the signature and reaches the image, hash, slot and boot-record paths.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"
#include "toride/device.h"

/* tests/data/device/test-vendor.pub (TEST-ONLY key). */
static const char vendor_pub_hex[] = "96d19d30a7b337f57f284643130014029627ad889458f8338eeafdfbaed5963f";

#define MEMFS_MAX_FILES 16            /* records (2 copies + temp) x 4, two slots, spare */
#define MEMFS_MAX_SIZE (1u << 20)     /* a fuzz input is far smaller; bounds a runaway write */

struct memfile {
	bool used;
	char name[65];
	uint8_t *data;
	size_t len;
};

struct memfs {
	struct memfile f[MEMFS_MAX_FILES];
};

static struct memfile *
mem_find(struct memfs *fs, const char *name)
{
	for (size_t i = 0; i < MEMFS_MAX_FILES; i++)
		if (fs->f[i].used && strcmp(fs->f[i].name, name) == 0)
			return &fs->f[i];
	return NULL;
}

static int
mem_open(void *ctx, const char *name, int flags, void **file)
{
	struct memfs *fs = ctx;
	struct memfile *m = mem_find(fs, name);
	if (strlen(name) > 64)
		return TORIDE_DEV_EINVAL;
	if (flags == TORIDE_DEV_VFS_READ) {
		if (m == NULL)
			return TORIDE_DEV_ENOENT;
		*file = m;
		return 0;
	}
	if (m == NULL) {
		for (size_t i = 0; i < MEMFS_MAX_FILES && m == NULL; i++)
			if (!fs->f[i].used)
				m = &fs->f[i];
		if (m == NULL)
			return TORIDE_DEV_ETOOBIG;
		memset(m, 0, sizeof(*m));
		m->used = true;
		memcpy(m->name, name, strlen(name) + 1);
	}
	m->len = 0;
	*file = m;
	return 0;
}

static int
mem_read(void *ctx, void *file, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct memfile *m = file;
	*got = 0;
	if (off >= m->len)
		return 0;
	size_t n = m->len - (size_t)off < len ? m->len - (size_t)off : len;
	memcpy(buf, m->data + off, n);
	*got = n;
	return 0;
}

static int
mem_write(void *ctx, void *file, uint64_t off, const void *buf, size_t len)
{
	struct memfile *m = file;
	if (off > MEMFS_MAX_SIZE || len > MEMFS_MAX_SIZE - off)
		return TORIDE_DEV_ETOOBIG;
	size_t end = (size_t)off + len;
	if (end > m->len) {
		uint8_t *p = realloc(m->data, end ? end : 1);
		if (p == NULL)
			return TORIDE_DEV_ENOMEM;
		memset(p + m->len, 0, end - m->len);
		m->data = p;
		m->len = end;
	}
	if (len > 0)
		memcpy(m->data + off, buf, len);
	return 0;
}

static int
mem_size(void *ctx, void *file, uint64_t *size)
{
	*size = ((struct memfile *)file)->len;
	return 0;
}

static int
mem_nop_file(void *ctx, void *file)
{
	return 0;
}

static int
mem_nop(void *ctx)
{
	return 0;
}

static int
mem_remove(void *ctx, const char *name)
{
	struct memfile *m = mem_find(ctx, name);
	if (m == NULL)
		return TORIDE_DEV_ENOENT;
	free(m->data);
	memset(m, 0, sizeof(*m));
	return 0;
}

static int
mem_rename(void *ctx, const char *from, const char *to)
{
	struct memfile *src = mem_find(ctx, from), *dst = mem_find(ctx, to);
	if (src == NULL)
		return TORIDE_DEV_ENOENT;
	if (dst != NULL && dst != src) {
		free(dst->data);
		memset(dst, 0, sizeof(*dst));
	}
	memcpy(src->name, to, strlen(to) + 1);
	return 0;
}

static void
memfs_free(struct memfs *fs)
{
	for (size_t i = 0; i < MEMFS_MAX_FILES; i++)
		free(fs->f[i].data);
	memset(fs, 0, sizeof(*fs));
}

static int
memfs_copy(struct memfs *dst, const struct memfs *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < MEMFS_MAX_FILES; i++) {
		dst->f[i] = src->f[i];
		dst->f[i].data = NULL;
		if (src->f[i].used && src->f[i].len > 0) {
			dst->f[i].data = malloc(src->f[i].len);
			if (dst->f[i].data == NULL)
				return -1;
			memcpy(dst->f[i].data, src->f[i].data, src->f[i].len);
		}
	}
	return 0;
}

static void
memfs_vfs(struct memfs *fs, struct toride_dev_vfs *vfs)
{
	vfs->ctx = fs;
	vfs->open = mem_open;
	vfs->read = mem_read;
	vfs->write = mem_write;
	vfs->size = mem_size;
	vfs->sync = mem_nop_file;
	vfs->close = mem_nop_file;
	vfs->rename = mem_rename;
	vfs->remove = mem_remove;
	vfs->sync_dir = mem_nop;
}

static const struct toride_dev_options dev_opt = {
	.target = "toride-test-board",
	.pwhash_ops = crypto_pwhash_OPSLIMIT_MIN,
	.pwhash_mem = crypto_pwhash_MEMLIMIT_MIN,
	.boot_tries = 2,
};

static struct memfs base; /* a provisioned device: factory image 1.0 in slot a */
static uint8_t vendor_pk[32];

/* Provisions the base device once; each input then starts from a copy of its storage. */
static int
init_once(void)
{
	static int state; /* 0 = not yet, 1 = ok, -1 = failed */
	struct toride_dev_vfs vfs;
	struct toride_dev *dev = NULL;
	uint8_t secret[32];
	char pw[32];

	if (state != 0)
		return state;
	state = -1;
	if (sodium_init() < 0 || dev_unhex(vendor_pub_hex, vendor_pk, 32) != 0)
		return state;
	memfs_vfs(&base, &vfs);
	static const char factory[] = "\177ELF toride fuzz factory image 1.0\n";
	memset(secret, 3, sizeof(secret));
	const struct toride_dev_provision p = {
		.mode = TORIDE_DEV_INITIAL_UNIQUE, .user = "admin", .secret = secret,
		.keys = (const uint8_t(*)[32])vendor_pk, .n_keys = 1, .firmware_version = "1.0",
	};
	if (dev_vfs_write_file(&vfs, "slot-a", factory, sizeof(factory) - 1) != 0 ||
	    toride_dev_open(&dev, &vfs, &dev_opt) != 0 || toride_dev_provision(dev, &p, pw, sizeof(pw)) != 0) {
		toride_dev_close(dev);
		return state;
	}
	toride_dev_close(dev);
	state = 1;
	return state;
}

static void
install(const uint8_t *data, size_t size)
{
	struct memfs fs;
	struct toride_dev_vfs vfs;
	struct toride_dev *dev = NULL;
	struct toride_dev_update *u = NULL;
	struct toride_dev_boot_info bi;
	struct toride_dev_bundle_info info;
	struct toride_dev_status st;

	if (memfs_copy(&fs, &base) != 0)
		goto out;
	memfs_vfs(&fs, &vfs);
	if (toride_dev_open(&dev, &vfs, &dev_opt) != 0 || toride_dev_boot(dev, &bi) != 0 ||
	    toride_dev_update_begin_auto(dev, &u) != 0)
		goto out;
	/* Three uneven pieces, so the header and the image are both split across calls. */
	size_t a = size / 3, b = size / 2;
	if (toride_dev_update_feed(u, data, a) != 0 || toride_dev_update_feed(u, data + a, b - a) != 0 ||
	    toride_dev_update_feed(u, data + b, size - b) != 0) {
		toride_dev_update_abort(u);
		goto out;
	}
	if (toride_dev_update_finish(u, &info) != 0)
		goto out;
	/* Installed: reboot into it, count tries, confirm, and read the slot back. */
	toride_dev_close(dev);
	dev = NULL;
	if (toride_dev_open(&dev, &vfs, &dev_opt) != 0 || toride_dev_boot(dev, &bi) != 0)
		__builtin_trap(); /* an installed bundle must always leave a bootable device */
	if (bi.trial != 1 || toride_dev_confirm(dev) != 0 || toride_dev_status(dev, &st) != 0 ||
	    toride_dev_version_cmp(st.floor, info.version) < 0)
		__builtin_trap();
	uint8_t buf[256];
	size_t got = 0;
	if (toride_dev_slot_read(dev, bi.slot, 0, buf, sizeof(buf), &got) != 0)
		__builtin_trap();
out:
	toride_dev_close(dev);
	memfs_free(&fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toride_dev_bundle_info info;
	size_t hlen = 0, moff = 0, mlen = 0;

	if (init_once() != 1)
		__builtin_trap();
	if (toride_dev_bundle_verify_header(data, size, (const uint8_t(*)[32])vendor_pk, 1, &info, &hlen) == 0 &&
	    (hlen > size || info.image_size == 0))
		__builtin_trap();
	if (dev_bundle_parse_header(data, size, &info, &hlen, &moff, &mlen) == 0 &&
	    (moff + mlen > hlen || hlen > size))
		__builtin_trap();
	install(data, size);
	return 0;
}
