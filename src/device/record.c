/*
 * Durable named records (R4): two checksummed copies, each replaced by temp file + sync + rename +
 * sync_dir. Why both: the rename makes one copy's replacement atomic; the second copy keeps the
 * previous generation readable even if storage corrupts the newer file later (a bad block, a
 * torn page the file system did not journal). Layout in internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"

#define REC_MAGIC "TDR1"
#define REC_HEAD 16 /* magic 4 + length 4 + generation 8 */
#define REC_SUM 32  /* BLAKE2b-256 */
#define REC_NAME_MAX 64
/* Generations count writes from 1; no device writes 2^63 times, so anything above is a forged
 * or corrupt file, refused by the reader (and the writer never wraps to 0). */
#define REC_GEN_MAX (UINT64_C(1) << 63)

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static int
copy_name(char *out, size_t cap, const char *name, const char *suffix)
{
	int n = snprintf(out, cap, "%s%s", name, suffix);
	return n < 0 || (size_t)n >= cap ? TORIDE_DEV_EINVAL : 0;
}

/* Reads a whole small file (at most max bytes). */
static int
read_file(const struct toride_dev_vfs *vfs, const char *name, size_t max, uint8_t **data,
          size_t *len)
{
	void *f = NULL;
	uint8_t *buf = NULL;
	uint64_t size = 0;
	int err = vfs->open(vfs->ctx, name, TORIDE_DEV_VFS_READ, &f);
	if (err != 0)
		return err;
	err = vfs->size(vfs->ctx, f, &size);
	if (err != 0)
		goto out;
	if (size > max) {
		err = TORIDE_DEV_ECORRUPT;
		goto out;
	}
	buf = malloc(size ? (size_t)size : 1);
	if (buf == NULL) {
		err = TORIDE_DEV_ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		size_t n = 0;
		err = vfs->read(vfs->ctx, f, got, buf + got, (size_t)size - got, &n);
		if (err != 0)
			goto out;
		if (n == 0)
			break;
		got += n;
	}
	*data = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	vfs->close(vfs->ctx, f);
	return err;
}

/* Checks one copy; on success *payload points into buf. */
static int
check_copy(const uint8_t *buf, size_t len, uint64_t *gen, const uint8_t **payload, size_t *plen)
{
	if (len < REC_HEAD + REC_SUM || memcmp(buf, REC_MAGIC, 4) != 0)
		return TORIDE_DEV_ECORRUPT;
	uint32_t n = get_be32(buf + 4);
	if (n > DEV_RECORD_MAX_PAYLOAD || (size_t)n + REC_HEAD + REC_SUM != len)
		return TORIDE_DEV_ECORRUPT;
	uint8_t sum[REC_SUM];
	crypto_generichash(sum, sizeof(sum), buf, REC_HEAD + n, NULL, 0);
	if (sodium_memcmp(sum, buf + REC_HEAD + n, REC_SUM) != 0)
		return TORIDE_DEV_ECORRUPT;
	*gen = get_be64(buf + 8);
	if (*gen == 0 || *gen > REC_GEN_MAX)
		return TORIDE_DEV_ECORRUPT;
	*payload = buf + REC_HEAD;
	*plen = n;
	return 0;
}

int
dev_record_read(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                uint8_t **data, size_t *len)
{
	uint8_t *file[2] = { NULL, NULL };
	size_t flen[2] = { 0, 0 };
	bool exists = false;
	int best = -1, err = 0;
	uint64_t best_gen = 0;
	const uint8_t *best_payload = NULL;
	size_t best_len = 0;

	for (int i = 0; i < 2; i++) {
		char fname[REC_NAME_MAX + 8];
		err = copy_name(fname, sizeof(fname), name, i == 0 ? ".0" : ".1");
		if (err != 0)
			goto out;
		err = read_file(vfs, fname, REC_HEAD + DEV_RECORD_MAX_PAYLOAD + REC_SUM, &file[i],
		                &flen[i]);
		if (err == TORIDE_DEV_ENOENT)
			continue;
		exists = true;
		if (err == TORIDE_DEV_ECORRUPT) /* oversized: as good as unreadable */
			continue;
		if (err != 0)
			goto out;
		uint64_t gen;
		const uint8_t *payload;
		size_t plen;
		if (check_copy(file[i], flen[i], &gen, &payload, &plen) != 0)
			continue;
		if (best < 0 || gen > best_gen) {
			best = i;
			best_gen = gen;
			best_payload = payload;
			best_len = plen;
		}
	}
	err = 0;
	if (best < 0) {
		err = exists ? TORIDE_DEV_ECORRUPT : TORIDE_DEV_ENOENT;
		rec->gen = 0;
		rec->newest = -1;
		goto out;
	}
	uint8_t *copy = malloc(best_len ? best_len : 1);
	if (copy == NULL) {
		err = TORIDE_DEV_ENOMEM;
		goto out;
	}
	memcpy(copy, best_payload, best_len);
	*data = copy;
	*len = best_len;
	rec->gen = best_gen;
	rec->newest = best;
out:
	for (int i = 0; i < 2; i++) {
		if (file[i] != NULL) {
			sodium_memzero(file[i], flen[i]);
			free(file[i]);
		}
	}
	return err;
}

int
dev_vfs_write_file(const struct toride_dev_vfs *vfs, const char *name, const void *data,
                   size_t len)
{
	void *f = NULL;
	int err = vfs->open(vfs->ctx, name, TORIDE_DEV_VFS_WRITE, &f);
	if (err != 0)
		return err;
	if (len > 0)
		err = vfs->write(vfs->ctx, f, 0, data, len);
	if (err == 0)
		err = vfs->sync(vfs->ctx, f);
	int cerr = vfs->close(vfs->ctx, f);
	return err != 0 ? err : cerr;
}

int
dev_record_write(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                 const uint8_t *data, size_t len)
{
	if (len > DEV_RECORD_MAX_PAYLOAD)
		return TORIDE_DEV_ETOOBIG;
	if (rec->gen >= REC_GEN_MAX)
		return TORIDE_DEV_ECORRUPT;
	/* Overwrite the copy that does not hold the newest generation, so the newest stays intact
	 * until the new one is complete. */
	int target = rec->newest == 0 ? 1 : 0;
	uint64_t gen = rec->gen + 1;
	char tmp[REC_NAME_MAX + 8], fname[REC_NAME_MAX + 8];
	int err = copy_name(fname, sizeof(fname), name, target == 0 ? ".0" : ".1");
	if (err == 0)
		err = copy_name(tmp, sizeof(tmp), fname, ".tmp");
	if (err != 0)
		return err;

	size_t total = REC_HEAD + len + REC_SUM;
	uint8_t *buf = malloc(total);
	if (buf == NULL)
		return TORIDE_DEV_ENOMEM;
	memcpy(buf, REC_MAGIC, 4);
	put_be32(buf + 4, (uint32_t)len);
	put_be64(buf + 8, gen);
	if (len > 0)
		memcpy(buf + REC_HEAD, data, len);
	crypto_generichash(buf + REC_HEAD + len, REC_SUM, buf, REC_HEAD + len, NULL, 0);

	err = dev_vfs_write_file(vfs, tmp, buf, total);
	if (err == 0)
		err = vfs->rename(vfs->ctx, tmp, fname);
	if (err == 0)
		err = vfs->sync_dir(vfs->ctx);
	if (err == 0) {
		rec->gen = gen;
		rec->newest = target;
	}
	sodium_memzero(buf, total);
	free(buf);
	return err;
}

int
dev_record_read_kv(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                   struct dev_kv *kv)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int err = dev_record_read(vfs, name, rec, &data, &len);
	if (err != 0)
		return err;
	err = dev_kv_parse(data, len, kv, NULL);
	/* The checksum matched, so a text that does not parse was written by someone else. */
	if (err == TORIDE_DEV_EFORMAT || err == TORIDE_DEV_ETOOBIG)
		err = TORIDE_DEV_ECORRUPT;
	sodium_memzero(data, len);
	free(data);
	return err;
}

int
dev_record_write_kv(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                    const struct dev_kv *kv)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int err = dev_kv_serialize(kv, &data, &len);
	if (err != 0)
		return err;
	err = dev_record_write(vfs, name, rec, data, len);
	sodium_memzero(data, len);
	free(data);
	return err;
}

int
dev_record_remove(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec)
{
	/* The older copy goes first and durably, so a cut between the two removals leaves the
	 * newest generation or nothing; never the older generation coming back. */
	int order[2] = { rec->newest == 0 ? 1 : 0, rec->newest == 0 ? 0 : 1 };
	for (int i = 0; i < 2; i++) {
		char fname[REC_NAME_MAX + 8];
		int err = copy_name(fname, sizeof(fname), name, order[i] == 0 ? ".0" : ".1");
		if (err != 0)
			return err;
		err = vfs->remove(vfs->ctx, fname);
		if (err != 0 && err != TORIDE_DEV_ENOENT)
			return err;
		err = vfs->sync_dir(vfs->ctx);
		if (err != 0)
			return err;
	}
	rec->gen = 0;
	rec->newest = -1;
	return 0;
}
