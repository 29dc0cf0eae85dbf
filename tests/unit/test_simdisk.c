/* The power-cut simulator itself: it must lose exactly what device.h says may be lost, and no more,
 * or the power-cut tests prove nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "simdisk.h"

#define SEEDS 300 /* enough seeds that every fate of a 1-3 way choice shows up (p miss < 1e-50) */

/* Writes a whole file through the vfs: open WRITE, write, optional sync, close, optional sync_dir. */
static void
vfs_put(const struct toride_dev_vfs *v, const char *name, const void *data, size_t len, int sync,
        int sync_dir)
{
	void *f = NULL;
	assert_int_equal(v->open(v->ctx, name, TORIDE_DEV_VFS_WRITE, &f), 0);
	assert_int_equal(v->write(v->ctx, f, 0, data, len), 0);
	if (sync)
		assert_int_equal(v->sync(v->ctx, f), 0);
	assert_int_equal(v->close(v->ctx, f), 0);
	if (sync_dir)
		assert_int_equal(v->sync_dir(v->ctx), 0);
}

/* Reads a whole file through the vfs; returns TORIDE_DEV_ENOENT if it is absent. */
static int
vfs_get(const struct toride_dev_vfs *v, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	void *f = NULL;
	int rc = v->open(v->ctx, name, TORIDE_DEV_VFS_READ, &f);
	if (rc != 0)
		return rc;
	uint64_t sz = 0;
	assert_int_equal(v->size(v->ctx, f, &sz), 0);
	assert_true(sz <= cap);
	assert_int_equal(v->read(v->ctx, f, 0, buf, cap, len), 0);
	assert_int_equal(*len, sz);
	assert_int_equal(v->close(v->ctx, f), 0);
	return 0;
}

static void
test_synced_data_survives(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "config.0", "durable", 7, 1, 1);
		/* later unsynced noise on another file must not disturb it */
		vfs_put(v, "other", "noise", 5, 0, 0);
		simdisk_crash(d);
		simdisk_reboot(d);
		uint8_t buf[64];
		size_t len = 0;
		assert_int_equal(vfs_get(v, "config.0", buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 7);
		assert_memory_equal(buf, "durable", 7);
		assert_int_equal(simdisk_open_handles(d), 0);
		simdisk_free(d);
	}
}

static void
test_unsynced_data_may_vanish(void **state)
{
	(void)state;
	int kept = 0, lost = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "f", "old!", 4, 1, 1);
		/* rewrite in place (open WRITE truncates), never synced */
		vfs_put(v, "f", "new!", 4, 0, 0);
		simdisk_reboot(d);
		uint8_t buf[64];
		size_t len = 0;
		assert_int_equal(vfs_get(v, "f", buf, sizeof(buf), &len), 0);
		if (len == 4 && memcmp(buf, "new!", 4) == 0)
			kept++;
		else
			lost++;
		simdisk_free(d);
	}
	assert_true(kept > 0);
	assert_true(lost > 0);

	/* the extremes are exact */
	struct simdisk *d = simdisk_new(7);
	const struct toride_dev_vfs *v = simdisk_vfs(d);
	simdisk_set_policy(d, SIMDISK_LOSE_ALL);
	vfs_put(v, "f", "old!", 4, 1, 1);
	vfs_put(v, "f", "new!", 4, 0, 0);
	simdisk_reboot(d);
	uint8_t buf[64];
	size_t len = 0;
	assert_int_equal(vfs_get(v, "f", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "old!", 4);
	simdisk_set_policy(d, SIMDISK_KEEP_ALL);
	vfs_put(v, "f", "newer", 5, 0, 0);
	simdisk_reboot(d);
	assert_int_equal(vfs_get(v, "f", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "newer", 5);
	simdisk_free(d);
}

/* sync(file) makes the bytes durable but not a new directory entry. */
static void
test_create_needs_sync_dir(void **state)
{
	(void)state;
	int present = 0, absent = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "fresh", "data", 4, 1, 0);
		simdisk_reboot(d);
		uint8_t buf[16];
		size_t len = 0;
		int rc = vfs_get(v, "fresh", buf, sizeof(buf), &len);
		if (rc == TORIDE_DEV_ENOENT) {
			absent++;
		} else {
			assert_int_equal(rc, 0);
			/* the data was synced: if the entry survived, so did the bytes */
			assert_int_equal(len, 4);
			assert_memory_equal(buf, "data", 4);
			present++;
		}
		simdisk_free(d);
	}
	assert_true(present > 0);
	assert_true(absent > 0);
}

/* rename() without sync_dir() may revert after a crash; it is atomic: old or new, never neither. */
static void
test_rename_without_sync_dir_may_revert(void **state)
{
	(void)state;
	int old = 0, new = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "boot.0", "generation-1", 12, 1, 1);
		vfs_put(v, "boot.0.tmp", "generation-2", 12, 1, 0);
		assert_int_equal(v->rename(v->ctx, "boot.0.tmp", "boot.0"), 0);
		simdisk_reboot(d);
		uint8_t buf[16];
		size_t len = 0;
		assert_int_equal(vfs_get(v, "boot.0", buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 12);
		if (memcmp(buf, "generation-1", 12) == 0) {
			old++;
		} else {
			assert_memory_equal(buf, "generation-2", 12);
			assert_false(simdisk_exists(d, "boot.0.tmp"));
			new++;
		}
		simdisk_free(d);
	}
	assert_true(old > 0);
	assert_true(new > 0);

	/* with sync_dir the rename is durable under every seed */
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "boot.0", "generation-1", 12, 1, 1);
		vfs_put(v, "boot.0.tmp", "generation-2", 12, 1, 0);
		assert_int_equal(v->rename(v->ctx, "boot.0.tmp", "boot.0"), 0);
		assert_int_equal(v->sync_dir(v->ctx), 0);
		simdisk_reboot(d);
		uint8_t buf[16];
		size_t len = 0;
		assert_int_equal(vfs_get(v, "boot.0", buf, sizeof(buf), &len), 0);
		assert_memory_equal(buf, "generation-2", 12);
		assert_int_equal(simdisk_count(d), 1);
		simdisk_free(d);
	}
}

/* Namespace operations survive as an in-order prefix: if a later one survived, all earlier did. */
static void
test_namespace_prefix_order(void **state)
{
	(void)state;
	int seen[8] = {0};
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "a", "1", 1, 1, 0);
		vfs_put(v, "b", "2", 1, 1, 0);
		vfs_put(v, "c", "3", 1, 1, 0);
		simdisk_reboot(d);
		bool a = simdisk_exists(d, "a"), b = simdisk_exists(d, "b"), c = simdisk_exists(d, "c");
		if ((b && !a) || (c && !b))
			fail_msg("seed %llu: out-of-order namespace survival a=%d b=%d c=%d",
			         (unsigned long long)seed, a, b, c);
		seen[a + b + c]++;
		simdisk_free(d);
	}
	for (int k = 0; k <= 3; k++)
		assert_true(seen[k] > 0);
}

/* A torn write leaves new bytes for whole sectors from its start, then at most one garbage sector,
 * then the old bytes. */
static void
test_torn_write_is_sector_prefix(void **state)
{
	(void)state;
	enum { LEN = 8 * SIMDISK_SECTOR };
	static uint8_t oldb[LEN], newb[LEN];
	memset(oldb, 'o', sizeof(oldb));
	for (size_t i = 0; i < LEN; i++)
		newb[i] = (uint8_t)('A' + i % 26);
	int partial = 0, garbage = 0, whole = 0, none = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "slot-b", oldb, LEN, 1, 1);
		void *f = NULL;
		assert_int_equal(v->open(v->ctx, "slot-b", TORIDE_DEV_VFS_READ | TORIDE_DEV_VFS_WRITE, &f), 0);
		/* undo the truncation so only the overwrite is in question */
		assert_int_equal(v->write(v->ctx, f, 0, oldb, LEN), 0);
		assert_int_equal(v->sync(v->ctx, f), 0);
		assert_int_equal(v->write(v->ctx, f, 0, newb, LEN), 0);
		assert_int_equal(v->close(v->ctx, f), 0);
		simdisk_reboot(d);
		uint8_t *got = NULL;
		size_t len = 0;
		assert_int_equal(simdisk_get(d, "slot-b", &got, &len), 0);
		assert_int_equal(len, LEN);
		size_t p = 0;
		while (p < LEN && got[p] == newb[p])
			p++;
		if (p == LEN) {
			whole++;
		} else {
			assert_int_equal(p % SIMDISK_SECTOR, 0);
			size_t q = p + SIMDISK_SECTOR; /* end of the one sector that may hold garbage */
			if (memcmp(got + p, oldb + p, SIMDISK_SECTOR) != 0)
				garbage++;
			if (q < LEN)
				assert_memory_equal(got + q, oldb + q, LEN - q);
			if (p == 0 && memcmp(got, oldb, SIMDISK_SECTOR) == 0)
				none++;
			else if (p > 0)
				partial++;
		}
		free(got);
		simdisk_free(d);
	}
	assert_true(whole > 0);
	assert_true(partial > 0);
	assert_true(garbage > 0);
	assert_true(none > 0);
}

/* Op N does not complete; after it every call fails with EIO; close still frees the handle. */
static void
test_cut_point_and_reads_after_cut(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct simdisk *d = simdisk_new(seed);
		const struct toride_dev_vfs *v = simdisk_vfs(d);
		vfs_put(v, "keep", "k", 1, 1, 1); /* ops 1..3: open-write, write, sync; 4: sync_dir */
		assert_int_equal(simdisk_ops(d), 4);
		simdisk_set_cut(d, 6);
		void *f = NULL;
		assert_int_equal(v->open(v->ctx, "x", TORIDE_DEV_VFS_WRITE, &f), 0); /* op 5 */
		assert_false(simdisk_is_cut(d));
		assert_int_equal(v->write(v->ctx, f, 0, "abc", 3), TORIDE_DEV_EIO); /* op 6 */
		assert_true(simdisk_is_cut(d));
		assert_int_equal(simdisk_ops(d), 6);
		size_t got = 99;
		uint8_t buf[4];
		uint64_t sz;
		assert_int_equal(v->read(v->ctx, f, 0, buf, sizeof(buf), &got), TORIDE_DEV_EIO);
		assert_int_equal(got, 0);
		assert_int_equal(v->size(v->ctx, f, &sz), TORIDE_DEV_EIO);
		assert_int_equal(v->sync(v->ctx, f), TORIDE_DEV_EIO);
		void *g = NULL;
		assert_int_equal(v->open(v->ctx, "keep", TORIDE_DEV_VFS_READ, &g), TORIDE_DEV_EIO);
		assert_null(g);
		assert_int_equal(v->rename(v->ctx, "keep", "y"), TORIDE_DEV_EIO);
		assert_int_equal(v->remove(v->ctx, "keep"), TORIDE_DEV_EIO);
		assert_int_equal(v->sync_dir(v->ctx), TORIDE_DEV_EIO);
		assert_int_equal(simdisk_ops(d), 6); /* nothing counted after the cut */
		assert_int_equal(simdisk_open_handles(d), 1);
		assert_int_equal(v->close(v->ctx, f), TORIDE_DEV_EIO);
		assert_int_equal(simdisk_open_handles(d), 0);
		simdisk_reboot(d);
		assert_false(simdisk_is_cut(d));
		size_t len = 0;
		assert_int_equal(vfs_get(v, "keep", buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 1);
		simdisk_free(d);
	}
}

/* A handle opened before a reboot is stale afterwards. */
static void
test_stale_handle_after_reboot(void **state)
{
	(void)state;
	struct simdisk *d = simdisk_new(3);
	const struct toride_dev_vfs *v = simdisk_vfs(d);
	vfs_put(v, "f", "abc", 3, 1, 1);
	void *f = NULL;
	assert_int_equal(v->open(v->ctx, "f", TORIDE_DEV_VFS_READ, &f), 0);
	simdisk_reboot(d);
	uint8_t buf[4];
	size_t got;
	assert_int_equal(v->read(v->ctx, f, 0, buf, sizeof(buf), &got), TORIDE_DEV_EIO);
	assert_int_equal(v->close(v->ctx, f), TORIDE_DEV_EIO);
	assert_int_equal(simdisk_open_handles(d), 0);
	/* the file itself is fine */
	size_t len;
	assert_int_equal(vfs_get(v, "f", buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "abc", 3);
	simdisk_free(d);
}

/* A scenario with everything unsynced in flight, run on a fresh disk. */
static void
run_scenario(struct simdisk *d, uint64_t cut)
{
	const struct toride_dev_vfs *v = simdisk_vfs(d);
	static uint8_t img[3000];
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7);
	simdisk_set_cut(d, cut);
	for (int round = 0; round < 4; round++) {
		void *f = NULL;
		if (v->open(v->ctx, "rec.tmp", TORIDE_DEV_VFS_WRITE, &f) != 0)
			break;
		int rc = v->write(v->ctx, f, 0, img, sizeof(img) - (size_t)round * 100);
		if (rc == 0 && round % 2 == 0)
			rc = v->sync(v->ctx, f);
		v->close(v->ctx, f);
		if (rc != 0 || v->rename(v->ctx, "rec.tmp", round % 2 ? "rec.1" : "rec.0") != 0)
			break;
		if (round == 1 && v->sync_dir(v->ctx) != 0)
			break;
	}
	simdisk_reboot(d);
}

static void
snapshot(struct simdisk *d, uint8_t **a, size_t *alen, uint8_t **b, size_t *blen)
{
	if (simdisk_get(d, "rec.0", a, alen) != 0) {
		*a = NULL;
		*alen = SIZE_MAX;
	}
	if (simdisk_get(d, "rec.1", b, blen) != 0) {
		*b = NULL;
		*blen = SIZE_MAX;
	}
}

/* The same (seed, cut) gives the same disk; the op count is the same in count-only mode. */
static void
test_determinism_from_seed(void **state)
{
	(void)state;
	struct simdisk *c = simdisk_new(1);
	run_scenario(c, 0);
	uint64_t total = simdisk_ops(c);
	struct simdisk_stats st;
	simdisk_get_stats(c, &st);
	assert_int_equal(total, 4 * 3 + 2 + 1); /* open, write, rename per round; 2 syncs; 1 sync_dir */
	assert_int_equal(st.writes, 4);
	assert_int_equal(st.bytes_written, 3000 + 2900 + 2800 + 2700);
	simdisk_free(c);

	int differ = 0;
	for (uint64_t cut = 1; cut <= total; cut++) {
		for (uint64_t seed = 100; seed < 110; seed++) {
			struct simdisk *x = simdisk_new(seed), *y = simdisk_new(seed), *z = simdisk_new(seed + 1000);
			run_scenario(x, cut);
			run_scenario(y, cut);
			run_scenario(z, cut);
			uint8_t *xa, *xb, *ya, *yb, *za, *zb;
			size_t xal, xbl, yal, ybl, zal, zbl;
			snapshot(x, &xa, &xal, &xb, &xbl);
			snapshot(y, &ya, &yal, &yb, &ybl);
			snapshot(z, &za, &zal, &zb, &zbl);
			assert_int_equal(xal, yal);
			assert_int_equal(xbl, ybl);
			if (xa != NULL)
				assert_memory_equal(xa, ya, xal);
			if (xb != NULL)
				assert_memory_equal(xb, yb, xbl);
			struct simdisk_stats sx, sy;
			simdisk_get_stats(x, &sx);
			simdisk_get_stats(y, &sy);
			assert_memory_equal(&sx, &sy, sizeof(sx));
			if (xal != zal || xbl != zbl || (xa && memcmp(xa, za, xal)) || (xb && memcmp(xb, zb, xbl)))
				differ++;
			free(xa), free(xb), free(ya), free(yb), free(za), free(zb);
			simdisk_free(x), simdisk_free(y), simdisk_free(z);
		}
	}
	/* and the seed matters */
	assert_true(differ > 0);
}

static void
test_names_validated(void **state)
{
	(void)state;
	struct simdisk *d = simdisk_new(1);
	const struct toride_dev_vfs *v = simdisk_vfs(d);
	void *f = NULL;
	assert_int_equal(v->open(v->ctx, "../etc", TORIDE_DEV_VFS_WRITE, &f), TORIDE_DEV_EINVAL);
	assert_int_equal(v->open(v->ctx, "", TORIDE_DEV_VFS_WRITE, &f), TORIDE_DEV_EINVAL);
	char longname[80];
	memset(longname, 'a', 65);
	longname[65] = '\0';
	assert_int_equal(v->open(v->ctx, longname, TORIDE_DEV_VFS_WRITE, &f), TORIDE_DEV_EINVAL);
	longname[64] = '\0';
	assert_int_equal(v->open(v->ctx, longname, TORIDE_DEV_VFS_WRITE, &f), 0);
	assert_int_equal(v->close(v->ctx, f), 0);
	assert_int_equal(v->open(v->ctx, "missing", TORIDE_DEV_VFS_READ, &f), TORIDE_DEV_ENOENT);
	assert_int_equal(v->rename(v->ctx, "missing", "x"), TORIDE_DEV_ENOENT);
	assert_int_equal(v->remove(v->ctx, "missing"), TORIDE_DEV_ENOENT);
	/* a read-only handle cannot write */
	assert_int_equal(simdisk_put(d, "ro", "x", 1), 0);
	assert_int_equal(v->open(v->ctx, "ro", TORIDE_DEV_VFS_READ, &f), 0);
	assert_int_equal(v->write(v->ctx, f, 0, "y", 1), TORIDE_DEV_EINVAL);
	assert_int_equal(v->close(v->ctx, f), 0);
	simdisk_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synced_data_survives),
		cmocka_unit_test(test_unsynced_data_may_vanish),
		cmocka_unit_test(test_create_needs_sync_dir),
		cmocka_unit_test(test_rename_without_sync_dir_may_revert),
		cmocka_unit_test(test_namespace_prefix_order),
		cmocka_unit_test(test_torn_write_is_sector_prefix),
		cmocka_unit_test(test_cut_point_and_reads_after_cut),
		cmocka_unit_test(test_stale_handle_after_reboot),
		cmocka_unit_test(test_determinism_from_seed),
		cmocka_unit_test(test_names_validated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
