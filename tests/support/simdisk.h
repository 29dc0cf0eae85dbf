/*
 * simdisk: an in-memory struct toride_dev_vfs that models a disk under a page cache, so tests can
 * cut the power at any storage operation and look at what survives (in the spirit of SQLite's
 * crash-test VFS, https://www.sqlite.org/testing.html "Crash testing"). Model: docs/powercut.md.
 *
 * Each file (inode) has durable bytes (what survives a power cut) and cached bytes (what reads
 * see), plus the ordered list of writes/truncations since its last sync(). The directory has a
 * durable name->inode map, the current map, and the ordered list of namespace operations (create
 * by open WRITE, rename, remove) since the last sync_dir(). Exactly the semantics of device.h:
 *   - sync(file) makes that file's bytes durable, not its directory entry;
 *   - sync_dir() makes every namespace operation durable;
 *   - rename() is atomic.
 *
 * Mutating operations are numbered from 1: open(WRITE), write, sync, rename, remove, sync_dir.
 * With a cut point N, op N does not complete: either it never happens or it happens without being
 * acknowledged (chosen by the PRNG), and from then on every callback fails with TORIDE_DEV_EIO
 * (close still releases the handle). simdisk_reboot() then builds the state after the power cut:
 * per file, each unsynced write is independently dropped, applied whole, or torn (a prefix of whole
 * 512-byte sectors, the next sector optionally garbage); the namespace operations since the last
 * sync_dir() are applied as an in-order prefix of random length. Every choice comes from a PRNG
 * seeded by the caller, so (seed, cut point) reproduces a failure exactly, provided the scenario
 * performs the same sequence of operations.
 *
 * Without a cut point the disk just counts ("count only" mode): run a scenario once, read
 * simdisk_ops(), then pick cut points across [1, ops].
 *
 * Not thread-safe. Test code: aborts on allocation failure.
 */
#ifndef TORIDE_TEST_SIMDISK_H
#define TORIDE_TEST_SIMDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "toride/device.h"

#define SIMDISK_SECTOR 512 /* torn writes keep whole sectors: the unit a disk writes atomically */
#define SIMDISK_MAX_NAME 64 /* device.h: names are [A-Za-z0-9._-]{1,64} */

struct simdisk;

/* How simdisk_reboot() treats unsynced state. RANDOM is the model; the other two are the extremes
 * (everything unsynced lost / everything unsynced kept), useful to make a test deterministic. */
enum simdisk_policy {
	SIMDISK_RANDOM = 0,
	SIMDISK_LOSE_ALL = 1,
	SIMDISK_KEEP_ALL = 2,
};

struct simdisk_stats {
	uint64_t ops;           /* numbered (mutating) operations so far, over all boots */
	uint64_t creates, writes, syncs, renames, removes, sync_dirs, reads;
	uint64_t bytes_written, bytes_read;
	uint64_t reboots;
	/* what all reboots so far did to unsynced state */
	uint64_t writes_dropped, writes_applied, writes_torn, writes_garbage;
	uint64_t ns_applied, ns_dropped;
};

/* A new empty disk whose random choices come from `seed`. */
struct simdisk *simdisk_new(uint64_t seed);
void simdisk_free(struct simdisk *d);

/* The vfs to hand to toride_dev_open(); valid until simdisk_free(). */
const struct toride_dev_vfs *simdisk_vfs(struct simdisk *d);

/* Cut the power at numbered operation `op` (absolute, counted over all boots; 0 = never). */
void simdisk_set_cut(struct simdisk *d, uint64_t op);
/* Cut the power now. */
void simdisk_crash(struct simdisk *d);
/* True once the power is off (until simdisk_reboot). */
bool simdisk_is_cut(const struct simdisk *d);

/* Power comes back: the durable state is rebuilt from the crash model (also when no cut happened:
 * then it is a power cut at this very moment), the cut point is cleared, handles opened before
 * become stale (their callbacks fail with TORIDE_DEV_EIO; close still frees them). */
void simdisk_reboot(struct simdisk *d);

void simdisk_set_policy(struct simdisk *d, enum simdisk_policy policy);
uint64_t simdisk_seed(const struct simdisk *d);
uint64_t simdisk_ops(const struct simdisk *d);
void simdisk_get_stats(const struct simdisk *d, struct simdisk_stats *st);
/* Handles opened and not yet closed (a library that leaks file handles shows here). */
size_t simdisk_open_handles(const struct simdisk *d);

/* Test access outside the vfs (no operation is counted, works while cut). */
/* Copy of the file's current (cached) bytes; malloc'd, caller frees. TORIDE_DEV_ENOENT if absent. */
int simdisk_get(struct simdisk *d, const char *name, uint8_t **data, size_t *len);
/* Creates or replaces `name` with `data`, durably (as if written, synced and dir-synced). */
int simdisk_put(struct simdisk *d, const char *name, const void *data, size_t len);
bool simdisk_exists(struct simdisk *d, const char *name);
/* Number of files in the current directory. */
size_t simdisk_count(const struct simdisk *d);

#endif
