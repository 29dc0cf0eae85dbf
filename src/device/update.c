/*
 * A/B firmware update: streaming install into the inactive slot, boot counting, automatic
 * rollback, confirm, downgrade floor (docs/bundle.md, docs/device.md).
 *
 * Slots are the vfs files "slot-a" and "slot-b". Everything the boot loader needs is in the
 * durable record "boot" (one key=value text, written with dev_record_write_kv), so every state
 * change is one atomic record write:
 *   active=a|b  trial=a|b (absent: none)  tries=N  floor=VERSION  rolled-back=VERSION (optional)
 *   slot.X.version  slot.X.size  slot.X.sha256  slot.X.floor (optional); no slot.X.* = no image.
 * Install order, so that a power cut at any point leaves a bootable, truthful state:
 *   1. header verified (signature, target, version above running and floor) - nothing written;
 *   2. the inactive slot is recorded as absent (durable) before its file is touched;
 *   3. the image is written and hashed, then synced;
 *   4. one record write makes the slot present and the next boot's trial.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/internal.h"

/* Largest bundle header: magic, length, biggest manifest, signature (layout in bundle.c). */
#define UPDATE_PREFIX_LEN 12
#define UPDATE_MAX_HEADER (UPDATE_PREFIX_LEN + TORIDE_DEV_MAX_MANIFEST + crypto_sign_BYTES)
/* Same cap as bundle.c's manifest check: a record may not claim a larger image either. */
#define UPDATE_MAX_IMAGE (4ull << 30)
/* Read size when hashing a slot at boot: small enough for a device's stack budget elsewhere
 * (it is heap allocated), large enough that the vfs call overhead does not matter. */
#define UPDATE_HASH_CHUNK 16384
/* Boot tries stored in the record: up to 9 digits, so a hostile value cannot overflow. */
#define UPDATE_MAX_TRIES_DIGITS 9

struct toride_dev_update {
	struct toride_dev *dev;
	uint8_t hdr[UPDATE_MAX_HEADER]; /* only the header is ever buffered */
	size_t hdr_len;
	size_t hdr_need;                /* header bytes to collect before the next parse */
	bool header_done;
	struct toride_dev_bundle_info info;
	int slot;                       /* 0 = a, 1 = b: the slot being written */
	void *file;
	uint64_t written;
	crypto_hash_sha256_state sha;
	int err;                        /* sticky: every later call returns it */
};

static int
slot_index(char s)
{
	return s == 'a' ? 0 : s == 'b' ? 1 : -1;
}

static char
slot_char(int i)
{
	return i == 0 ? 'a' : 'b';
}

static const char *
slot_file(int i)
{
	return i == 0 ? "slot-a" : "slot-b";
}

/* Valid dotted version: malformed versions sort below "0" (toride_dev_version_cmp contract). */
static bool
version_ok(const char *v)
{
	return toride_dev_version_cmp(v, "0") >= 0;
}

static bool
boot_loaded(const struct toride_dev *dev)
{
	return slot_index(dev->boot.active) >= 0;
}

/* ---- record "boot" -------------------------------------------------------------------------- */

int
dev_boot_save(struct toride_dev *dev)
{
	struct dev_kv kv = { 0 };
	const struct dev_boot *b = &dev->boot;
	char num[24], hex[65], key[32], s[2] = { 0, 0 };
	int err;

	s[0] = b->active;
	if ((err = dev_kv_set(&kv, "active", s)) != 0)
		goto out;
	if (b->trial != 0) {
		s[0] = b->trial;
		if ((err = dev_kv_set(&kv, "trial", s)) != 0)
			goto out;
	}
	snprintf(num, sizeof(num), "%u", b->tries_left);
	if ((err = dev_kv_set(&kv, "tries", num)) != 0 || (err = dev_kv_set(&kv, "floor", b->floor)) != 0)
		goto out;
	if (b->rolled_back[0] != '\0' && (err = dev_kv_set(&kv, "rolled-back", b->rolled_back)) != 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		const struct dev_slot *sl = &b->slot[i];
		if (!sl->present)
			continue;
		snprintf(key, sizeof(key), "slot.%c.version", slot_char(i));
		if ((err = dev_kv_set(&kv, key, sl->version)) != 0)
			goto out;
		snprintf(key, sizeof(key), "slot.%c.size", slot_char(i));
		snprintf(num, sizeof(num), "%llu", (unsigned long long)sl->size);
		if ((err = dev_kv_set(&kv, key, num)) != 0)
			goto out;
		snprintf(key, sizeof(key), "slot.%c.sha256", slot_char(i));
		dev_hex(sl->sha256, 32, hex);
		if ((err = dev_kv_set(&kv, key, hex)) != 0)
			goto out;
		if (sl->security_floor[0] != '\0') {
			snprintf(key, sizeof(key), "slot.%c.floor", slot_char(i));
			if ((err = dev_kv_set(&kv, key, sl->security_floor)) != 0)
				goto out;
		}
	}
	err = dev_record_write_kv(dev->vfs, "boot", &dev->rec_boot, &kv);
out:
	dev_kv_free(&kv);
	return err;
}

static int
parse_decimal(const char *s, size_t max_digits, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t v = 0;
	if (n == 0 || n > max_digits)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool
boot_key_known(const char *k)
{
	static const char *const top[] = { "active", "trial", "tries", "floor", "rolled-back" };
	static const char *const per_slot[] = { "version", "size", "sha256", "floor" };
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (strcmp(k, top[i]) == 0)
			return true;
	if (strncmp(k, "slot.", 5) != 0 || (k[5] != 'a' && k[5] != 'b') || k[6] != '.')
		return false;
	for (size_t i = 0; i < sizeof(per_slot) / sizeof(per_slot[0]); i++)
		if (strcmp(k + 7, per_slot[i]) == 0)
			return true;
	return false;
}

static int
slot_load(const struct dev_kv *kv, int i, struct dev_slot *sl)
{
	char key[32];
	const char *version, *size, *sha, *sfloor;
	uint64_t v;

	memset(sl, 0, sizeof(*sl));
	snprintf(key, sizeof(key), "slot.%c.version", slot_char(i));
	version = dev_kv_get(kv, key);
	snprintf(key, sizeof(key), "slot.%c.size", slot_char(i));
	size = dev_kv_get(kv, key);
	snprintf(key, sizeof(key), "slot.%c.sha256", slot_char(i));
	sha = dev_kv_get(kv, key);
	snprintf(key, sizeof(key), "slot.%c.floor", slot_char(i));
	sfloor = dev_kv_get(kv, key);
	if (version == NULL && size == NULL && sha == NULL && sfloor == NULL)
		return 0; /* no image */
	if (version == NULL || size == NULL || sha == NULL || !version_ok(version) ||
	    dev_copy_str(sl->version, sizeof(sl->version), version) != 0 ||
	    parse_decimal(size, 11, &v) != 0 || v == 0 || v > UPDATE_MAX_IMAGE ||
	    dev_unhex(sha, sl->sha256, 32) != 0)
		return TORIDE_DEV_ECORRUPT;
	if (sfloor != NULL && (!version_ok(sfloor) ||
	                       dev_copy_str(sl->security_floor, sizeof(sl->security_floor), sfloor) != 0))
		return TORIDE_DEV_ECORRUPT;
	sl->size = v;
	sl->present = true;
	return 0;
}

int
dev_boot_load(struct toride_dev *dev, const struct dev_kv *kv)
{
	struct dev_boot b;
	const char *active, *trial, *tries, *bfloor, *rolled;
	uint64_t v = 0;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < kv->n; i++)
		if (!boot_key_known(kv->e[i].key))
			return TORIDE_DEV_ECORRUPT;
	active = dev_kv_get(kv, "active");
	trial = dev_kv_get(kv, "trial");
	tries = dev_kv_get(kv, "tries");
	bfloor = dev_kv_get(kv, "floor");
	rolled = dev_kv_get(kv, "rolled-back");
	for (int i = 0; i < 2; i++)
		if (slot_load(kv, i, &b.slot[i]) != 0)
			return TORIDE_DEV_ECORRUPT;
	if (active == NULL || strlen(active) != 1 || slot_index(active[0]) < 0 ||
	    !b.slot[slot_index(active[0])].present)
		return TORIDE_DEV_ECORRUPT;
	b.active = active[0];
	if (trial != NULL) {
		if (strlen(trial) != 1 || slot_index(trial[0]) < 0 || trial[0] == b.active ||
		    !b.slot[slot_index(trial[0])].present)
			return TORIDE_DEV_ECORRUPT;
		b.trial = trial[0];
	}
	if (tries != NULL && parse_decimal(tries, UPDATE_MAX_TRIES_DIGITS, &v) != 0)
		return TORIDE_DEV_ECORRUPT;
	b.tries_left = (unsigned)v;
	if (bfloor == NULL || !version_ok(bfloor) || dev_copy_str(b.floor, sizeof(b.floor), bfloor) != 0)
		return TORIDE_DEV_ECORRUPT;
	if (rolled != NULL &&
	    (!version_ok(rolled) || dev_copy_str(b.rolled_back, sizeof(b.rolled_back), rolled) != 0))
		return TORIDE_DEV_ECORRUPT;
	dev->boot = b;
	return 0;
}

/* Hashes a slot file; TORIDE_DEV_EHASH if it is missing or its size is not `expect_size` (0 = any
 * size up to UPDATE_MAX_IMAGE, returned in *size_out). */
static int
slot_hash(struct toride_dev *dev, int i, uint64_t expect_size, uint8_t sha[32], uint64_t *size_out)
{
	const struct toride_dev_vfs *vfs = dev->vfs;
	crypto_hash_sha256_state st;
	uint8_t *chunk = NULL;
	void *f = NULL;
	uint64_t size = 0, off = 0;
	int err;

	err = vfs->open(vfs->ctx, slot_file(i), TORIDE_DEV_VFS_READ, &f);
	if (err != 0) {
		f = NULL;
		if (err == TORIDE_DEV_ENOENT)
			err = TORIDE_DEV_EHASH;
		goto out;
	}
	err = vfs->size(vfs->ctx, f, &size);
	if (err != 0)
		goto out;
	if ((expect_size != 0 && size != expect_size) || size == 0 || size > UPDATE_MAX_IMAGE) {
		err = TORIDE_DEV_EHASH;
		goto out;
	}
	chunk = malloc(UPDATE_HASH_CHUNK);
	if (chunk == NULL) {
		err = TORIDE_DEV_ENOMEM;
		goto out;
	}
	crypto_hash_sha256_init(&st);
	while (off < size) {
		size_t want = size - off < UPDATE_HASH_CHUNK ? (size_t)(size - off) : UPDATE_HASH_CHUNK;
		size_t got = 0;
		err = vfs->read(vfs->ctx, f, off, chunk, want, &got);
		if (err != 0)
			goto out;
		if (got == 0) {
			err = TORIDE_DEV_EHASH; /* shorter than its size said: torn */
			goto out;
		}
		crypto_hash_sha256_update(&st, chunk, got);
		off += got;
	}
	crypto_hash_sha256_final(&st, sha);
	if (size_out != NULL)
		*size_out = size;
out:
	free(chunk);
	if (f != NULL)
		vfs->close(vfs->ctx, f);
	return err;
}

/* 0 if slot i is present and its file matches the record, TORIDE_DEV_EHASH if not. */
static int
slot_verify(struct toride_dev *dev, int i)
{
	const struct dev_slot *sl = &dev->boot.slot[i];
	uint8_t sha[32];
	if (!sl->present)
		return TORIDE_DEV_EHASH;
	int err = slot_hash(dev, i, sl->size, sha, NULL);
	if (err != 0)
		return err;
	return sodium_memcmp(sha, sl->sha256, 32) == 0 ? 0 : TORIDE_DEV_EHASH;
}

int
dev_boot_init(struct toride_dev *dev, const char *factory_version)
{
	struct dev_boot saved = dev->boot;
	struct dev_slot *a = &dev->boot.slot[0];
	uint64_t size = 0;
	int err;

	if (factory_version == NULL || !version_ok(factory_version) ||
	    strlen(factory_version) >= TORIDE_DEV_MAX_VERSION)
		return TORIDE_DEV_EFORMAT;
	memset(&dev->boot, 0, sizeof(dev->boot));
	err = slot_hash(dev, 0, 0, a->sha256, &size);
	if (err == TORIDE_DEV_EHASH)
		err = TORIDE_DEV_ENOENT; /* the factory image must be in slot-a, non-empty */
	if (err != 0)
		goto out;
	a->size = size;
	a->present = true;
	memcpy(a->version, factory_version, strlen(factory_version) + 1);
	memcpy(dev->boot.floor, factory_version, strlen(factory_version) + 1);
	dev->boot.active = 'a';
	err = dev_boot_save(dev);
out:
	if (err != 0)
		dev->boot = saved;
	return err;
}

/* ---- streaming install ---------------------------------------------------------------------- */

static void
update_release(struct toride_dev_update *u)
{
	if (u->file != NULL)
		u->dev->vfs->close(u->dev->vfs->ctx, u->file);
	u->dev->update_busy = false;
	free(u);
}

int
toride_dev_update_begin_auto(struct toride_dev *dev, struct toride_dev_update **out)
{
	struct toride_dev_update *u;

	if (dev == NULL || out == NULL)
		return TORIDE_DEV_EINVAL;
	*out = NULL;
	if (!dev->provisioned || !boot_loaded(dev))
		return TORIDE_DEV_ESTATE;
	/* One install at a time, and none while a trial waits for its verdict: installing now
	 * would overwrite the only confirmed fallback or the image on trial. */
	if (dev->update_busy || dev->boot.trial != 0)
		return TORIDE_DEV_EBUSY;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return TORIDE_DEV_ENOMEM;
	u->dev = dev;
	u->hdr_need = UPDATE_PREFIX_LEN;
	u->slot = -1;
	dev->update_busy = true;
	*out = u;
	return 0;
}

int
toride_dev_update_begin(struct toride_dev *dev, const char *token, struct toride_dev_update **out)
{
	if (dev == NULL || token == NULL || out == NULL)
		return TORIDE_DEV_EINVAL;
	*out = NULL;
	int err = toride_dev_session_check(dev, token, TORIDE_DEV_OP_UPDATE, NULL);
	if (err != 0)
		return err;
	return toride_dev_update_begin_auto(dev, out);
}

/* The header verified: decide whether this bundle may be installed, then prepare the slot. */
static int
header_accept(struct toride_dev_update *u)
{
	struct toride_dev *dev = u->dev;
	struct dev_boot *b = &dev->boot;
	int act = slot_index(b->active), x;
	int err;

	if (strcmp(u->info.target, dev->target) != 0)
		return TORIDE_DEV_ETARGET;
	if (b->trial != 0)
		return TORIDE_DEV_EBUSY;
	/* Strictly above the confirmed firmware (no downgrade, no replay of the installed bundle)
	 * and not below the floor (no return to a version a confirmed update superseded). */
	if (toride_dev_version_cmp(u->info.version, b->slot[act].version) <= 0 ||
	    toride_dev_version_cmp(u->info.version, b->floor) < 0)
		return TORIDE_DEV_EDOWNGRADE;
	x = 1 - act;
	if (b->slot[x].present) {
		/* Durably forget the old image before overwriting it: a cut mid-write must never
		 * leave a record whose hash describes bytes that are half gone. */
		struct dev_slot old = b->slot[x];
		memset(&b->slot[x], 0, sizeof(b->slot[x]));
		err = dev_boot_save(dev);
		if (err != 0) {
			b->slot[x] = old;
			return err;
		}
	}
	err = dev->vfs->open(dev->vfs->ctx, slot_file(x), TORIDE_DEV_VFS_WRITE, &u->file);
	if (err != 0) {
		u->file = NULL;
		return err;
	}
	u->slot = x;
	crypto_hash_sha256_init(&u->sha);
	return 0;
}

static int
update_feed(struct toride_dev_update *u, const uint8_t *p, size_t len)
{
	struct toride_dev *dev = u->dev;
	size_t hlen = 0;
	int err;

	while (len > 0 && !u->header_done) {
		size_t take = u->hdr_need - u->hdr_len;
		if (take > len)
			take = len;
		memcpy(u->hdr + u->hdr_len, p, take);
		u->hdr_len += take;
		p += take;
		len -= take;
		if (u->hdr_len < u->hdr_need)
			return 0;
		err = toride_dev_bundle_verify_header(u->hdr, u->hdr_len,
		                                      (const uint8_t(*)[32])dev->keys, dev->n_keys,
		                                      &u->info, &hlen);
		if (err == TORIDE_DEV_EINCOMPLETE) {
			/* The prefix is in and its length is within bounds (else EFORMAT): now the
			 * exact header size is known. */
			uint32_t mlen = (uint32_t)u->hdr[8] << 24 | (uint32_t)u->hdr[9] << 16 |
			                (uint32_t)u->hdr[10] << 8 | u->hdr[11];
			size_t need = UPDATE_PREFIX_LEN + (size_t)mlen + crypto_sign_BYTES;
			if (need > UPDATE_MAX_HEADER || need <= u->hdr_len)
				return TORIDE_DEV_EFORMAT;
			u->hdr_need = need;
			continue;
		}
		if (err != 0)
			return err;
		err = header_accept(u);
		if (err != 0)
			return err;
		u->header_done = true;
	}
	if (len == 0)
		return 0;
	if (len > u->info.image_size - u->written)
		return TORIDE_DEV_EFORMAT; /* bytes beyond the signed image size */
	err = dev->vfs->write(dev->vfs->ctx, u->file, u->written, p, len);
	if (err != 0)
		return err;
	crypto_hash_sha256_update(&u->sha, p, len);
	u->written += len;
	return 0;
}

int
toride_dev_update_feed(struct toride_dev_update *u, const void *data, size_t len)
{
	if (u == NULL || (data == NULL && len > 0))
		return TORIDE_DEV_EINVAL;
	if (u->err == 0)
		u->err = update_feed(u, data, len);
	return u->err;
}

/* Why 64 KiB: one slot write per read; small enough for a device's stack-less heap budget. */
#define UPDATE_FD_CHUNK (64u * 1024u)

int
toride_dev_update_feed_fd(struct toride_dev_update *u, int fd)
{
	if (u == NULL || fd < 0)
		return TORIDE_DEV_EINVAL;
	uint8_t *buf = malloc(UPDATE_FD_CHUNK);
	if (buf == NULL)
		return TORIDE_DEV_ENOMEM;
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, buf, UPDATE_FD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = TORIDE_DEV_EIO;
			break;
		}
		if (n == 0)
			break;
		r = toride_dev_update_feed(u, buf, (size_t)n);
		if (r != 0)
			break;
	}
	free(buf);
	return r;
}

/* The image is complete and synced: one durable write makes it the next boot's trial. */
static int
update_commit(struct toride_dev_update *u, const uint8_t sha[32])
{
	struct toride_dev *dev = u->dev;
	struct dev_boot saved = dev->boot;
	struct dev_slot *sl = &dev->boot.slot[u->slot];
	int err;

	memset(sl, 0, sizeof(*sl));
	memcpy(sl->version, u->info.version, sizeof(sl->version));
	memcpy(sl->security_floor, u->info.security_floor, sizeof(sl->security_floor));
	sl->size = u->info.image_size;
	memcpy(sl->sha256, sha, 32);
	sl->present = true;
	dev->boot.trial = slot_char(u->slot);
	dev->boot.tries_left = dev->boot_tries ? dev->boot_tries : 3;
	err = dev_boot_save(dev);
	if (err != 0)
		dev->boot = saved;
	return err;
}

int
toride_dev_update_finish(struct toride_dev_update *u, struct toride_dev_bundle_info *info)
{
	uint8_t sha[32];
	int err;

	if (u == NULL)
		return TORIDE_DEV_EINVAL;
	err = u->err;
	if (err == 0 && (!u->header_done || u->written != u->info.image_size))
		err = TORIDE_DEV_EFORMAT; /* truncated bundle */
	if (err == 0) {
		crypto_hash_sha256_final(&u->sha, sha);
		if (sodium_memcmp(sha, u->info.image_sha256, 32) != 0)
			err = TORIDE_DEV_EHASH;
	}
	if (err == 0)
		err = u->dev->vfs->sync(u->dev->vfs->ctx, u->file);
	if (u->file != NULL) {
		int cerr = u->dev->vfs->close(u->dev->vfs->ctx, u->file);
		u->file = NULL;
		if (err == 0)
			err = cerr;
	}
	if (err == 0)
		err = update_commit(u, sha);
	if (err == 0 && info != NULL)
		*info = u->info;
	update_release(u);
	return err;
}

void
toride_dev_update_abort(struct toride_dev_update *u)
{
	/* The slot, if touched, is already recorded as absent: nothing else to undo. */
	if (u != NULL)
		update_release(u);
}

/* ---- boot, confirm, status ------------------------------------------------------------------ */

int
toride_dev_boot(struct toride_dev *dev, struct toride_dev_boot_info *info)
{
	struct dev_boot *b;
	struct dev_boot saved;
	bool rolled = false, dirty = false;
	int pick, other, err;

	if (dev == NULL || info == NULL)
		return TORIDE_DEV_EINVAL;
	if (!dev->provisioned || !boot_loaded(dev))
		return TORIDE_DEV_ESTATE;
	b = &dev->boot;
	saved = *b;
	if (b->trial != 0 && b->tries_left > 0) {
		b->tries_left--; /* counted before the trial firmware runs: a hang still uses a try */
		pick = slot_index(b->trial);
		dirty = true;
	} else if (b->trial != 0) {
		memcpy(b->rolled_back, b->slot[slot_index(b->trial)].version, sizeof(b->rolled_back));
		b->trial = 0;
		rolled = true;
		pick = slot_index(b->active);
		dirty = true;
	} else
		pick = slot_index(b->active);

	err = slot_verify(dev, pick);
	if (err == TORIDE_DEV_EHASH) {
		other = 1 - pick;
		err = slot_verify(dev, other);
		if (err == TORIDE_DEV_EHASH)
			err = TORIDE_DEV_ECORRUPT; /* neither image is intact: nothing safe to start */
		if (err != 0)
			goto out;
		if (slot_char(pick) == b->trial) {
			/* The trial image is damaged: abandon it as if it had never confirmed. */
			memcpy(b->rolled_back, b->slot[pick].version, sizeof(b->rolled_back));
			rolled = true;
		} else {
			/* The confirmed image is damaged: the other intact image is all there is. */
			b->active = slot_char(other);
		}
		b->trial = 0;
		memset(&b->slot[pick], 0, sizeof(b->slot[pick]));
		pick = other;
		dirty = true;
	} else if (err != 0)
		goto out;
	if (b->trial == 0)
		b->tries_left = 0;
	if (dirty) {
		err = dev_boot_save(dev);
		if (err != 0)
			goto out;
	}
	b->running = slot_char(pick);
	memset(info, 0, sizeof(*info));
	info->slot = b->running;
	memcpy(info->version, b->slot[pick].version, sizeof(info->version));
	info->trial = b->trial != 0 && b->trial == b->running;
	info->tries_left = b->tries_left;
	info->rolled_back = rolled;
	memcpy(info->rolled_back_version, b->rolled_back, sizeof(info->rolled_back_version));
	return 0;
out:
	*b = saved;
	return err;
}

/* The higher of two valid versions ("" counts lowest). */
static const char *
version_max(const char *a, const char *b)
{
	return toride_dev_version_cmp(a, b) >= 0 ? a : b;
}

int
toride_dev_confirm(struct toride_dev *dev)
{
	struct dev_boot *b;
	struct dev_boot saved;
	char nfloor[TORIDE_DEV_MAX_VERSION];
	int x, err;

	if (dev == NULL)
		return TORIDE_DEV_EINVAL;
	if (!dev->provisioned || !boot_loaded(dev))
		return TORIDE_DEV_ESTATE;
	b = &dev->boot;
	if (b->trial == 0 || b->running != b->trial)
		return TORIDE_DEV_ESTATE;
	saved = *b;
	x = slot_index(b->trial);
	snprintf(nfloor, sizeof(nfloor), "%s",
	         version_max(b->floor, version_max(b->slot[x].version, b->slot[x].security_floor)));
	memcpy(b->floor, nfloor, sizeof(b->floor));
	b->active = b->trial;
	b->trial = 0;
	b->tries_left = 0;
	err = dev_boot_save(dev);
	if (err != 0)
		*b = saved;
	return err;
}

int
toride_dev_status(struct toride_dev *dev, struct toride_dev_status *st)
{
	if (dev == NULL || st == NULL)
		return TORIDE_DEV_EINVAL;
	memset(st, 0, sizeof(*st));
	st->provisioned = dev->provisioned;
	st->initial_mode = dev->initial_mode;
	if (!boot_loaded(dev))
		return 0;
	const struct dev_boot *b = &dev->boot;
	st->running_slot = b->running;
	if (slot_index(b->running) >= 0)
		memcpy(st->running_version, b->slot[slot_index(b->running)].version,
		       sizeof(st->running_version));
	memcpy(st->floor, b->floor, sizeof(st->floor));
	for (int i = 0; i < 2; i++)
		if (b->slot[i].present)
			memcpy(st->slot_version[i], b->slot[i].version, sizeof(st->slot_version[i]));
	st->trial = b->trial != 0;
	st->tries_left = b->tries_left;
	return 0;
}

int
toride_dev_slot_read(struct toride_dev *dev, char slot, uint64_t off, void *buf, size_t len,
                     size_t *got)
{
	const struct toride_dev_vfs *vfs;
	void *f = NULL;
	size_t done = 0;
	int i, err;

	if (dev == NULL || got == NULL || (buf == NULL && len > 0) || (i = slot_index(slot)) < 0)
		return TORIDE_DEV_EINVAL;
	*got = 0;
	if (!boot_loaded(dev) || !dev->boot.slot[i].present)
		return TORIDE_DEV_ENOENT;
	if (off >= dev->boot.slot[i].size || len == 0)
		return 0;
	if (len > dev->boot.slot[i].size - off)
		len = (size_t)(dev->boot.slot[i].size - off);
	vfs = dev->vfs;
	err = vfs->open(vfs->ctx, slot_file(i), TORIDE_DEV_VFS_READ, &f);
	if (err != 0)
		return err;
	while (done < len) {
		size_t n = 0;
		err = vfs->read(vfs->ctx, f, off + done, (uint8_t *)buf + done, len - done, &n);
		if (err != 0 || n == 0)
			break;
		done += n;
	}
	vfs->close(vfs->ctx, f);
	*got = done;
	return err;
}
