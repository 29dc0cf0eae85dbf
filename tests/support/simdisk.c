/* Power-cut storage simulator (contract in simdisk.h, model in docs/powercut.md). */
#include "simdisk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers -------------------------------------------------------------------------- */

static void *
sd_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL) {
		fprintf(stderr, "simdisk: out of memory\n");
		abort();
	}
	return q;
}

struct sd_bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
sd_bytes_reserve(struct sd_bytes *b, size_t n)
{
	if (n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < n)
		cap *= 2;
	b->p = sd_xrealloc(b->p, cap);
	b->cap = cap;
}

/* Writes `len` bytes at `off`, zero-filling any gap past the end (as a file system does). */
static void
sd_bytes_write(struct sd_bytes *b, uint64_t off, const uint8_t *src, size_t len)
{
	if (len == 0)
		return;
	size_t end = (size_t)off + len;
	sd_bytes_reserve(b, end);
	if (off > b->len)
		memset(b->p + b->len, 0, (size_t)off - b->len);
	memcpy(b->p + off, src, len);
	if (end > b->len)
		b->len = end;
}

static void
sd_bytes_copy(struct sd_bytes *dst, const struct sd_bytes *src)
{
	sd_bytes_reserve(dst, src->len);
	if (src->len)
		memcpy(dst->p, src->p, src->len);
	dst->len = src->len;
}

static void
sd_bytes_free(struct sd_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- the model ------------------------------------------------------------------------------ */

enum sd_data_kind { SD_WRITE, SD_TRUNC };

struct sd_data_op {
	enum sd_data_kind kind;
	uint64_t off;
	uint8_t *buf;
	size_t len;
};

struct sd_inode {
	struct sd_bytes durable;
	struct sd_bytes cache;
	struct sd_data_op *pend; /* unsynced writes and truncations, in order */
	size_t n_pend, cap_pend;
	unsigned opens;          /* live (this epoch) handles */
};

struct sd_dirent {
	char name[SIMDISK_MAX_NAME + 1];
	size_t ino;
};

struct sd_dir {
	struct sd_dirent *e;
	size_t n, cap;
};

enum sd_ns_kind { SD_CREATE, SD_RENAME, SD_REMOVE };

struct sd_ns_op {
	enum sd_ns_kind kind;
	char a[SIMDISK_MAX_NAME + 1];
	char b[SIMDISK_MAX_NAME + 1];
	size_t ino;
};

struct sd_handle {
	size_t ino;
	uint64_t epoch;
	int flags;
};

struct simdisk {
	struct toride_dev_vfs vfs;
	uint64_t seed;
	uint64_t rng;
	enum simdisk_policy policy;

	struct sd_inode **ino; /* NULL slots are free */
	size_t n_ino;

	struct sd_dir durable, current;
	struct sd_ns_op *ns;   /* namespace operations since the last sync_dir */
	size_t n_ns, cap_ns;

	uint64_t cut_at;
	bool cut;
	uint64_t epoch;
	size_t handles;
	struct simdisk_stats st;
};

/* splitmix64: tiny, good enough for test choices, and the same on every platform. */
static uint64_t
sd_rand(struct simdisk *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
sd_below(struct simdisk *d, uint64_t n)
{
	return n ? sd_rand(d) % n : 0;
}

static bool
sd_name_valid(const char *name)
{
	size_t n = 0;
	if (name == NULL)
		return false;
	for (; name[n] != '\0'; n++) {
		char c = name[n];
		if (n >= SIMDISK_MAX_NAME)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

static struct sd_dirent *
sd_dir_find(struct sd_dir *dir, const char *name)
{
	for (size_t i = 0; i < dir->n; i++)
		if (strcmp(dir->e[i].name, name) == 0)
			return &dir->e[i];
	return NULL;
}

static void
sd_dir_set(struct sd_dir *dir, const char *name, size_t ino)
{
	struct sd_dirent *e = sd_dir_find(dir, name);
	if (e == NULL) {
		if (dir->n == dir->cap) {
			dir->cap = dir->cap ? dir->cap * 2 : 16;
			dir->e = sd_xrealloc(dir->e, dir->cap * sizeof(*dir->e));
		}
		e = &dir->e[dir->n++];
		memcpy(e->name, name, strlen(name) + 1);
	}
	e->ino = ino;
}

static void
sd_dir_del(struct sd_dir *dir, const char *name)
{
	struct sd_dirent *e = sd_dir_find(dir, name);
	if (e != NULL)
		*e = dir->e[--dir->n];
}

static void
sd_dir_copy(struct sd_dir *dst, const struct sd_dir *src)
{
	if (dst->cap < src->n) {
		dst->cap = src->n;
		dst->e = sd_xrealloc(dst->e, dst->cap * sizeof(*dst->e));
	}
	if (src->n)
		memcpy(dst->e, src->e, src->n * sizeof(*src->e));
	dst->n = src->n;
}

/* Applies one namespace operation to a directory map. */
static void
sd_ns_apply(struct sd_dir *dir, const struct sd_ns_op *op)
{
	struct sd_dirent *e;
	switch (op->kind) {
	case SD_CREATE:
		sd_dir_set(dir, op->a, op->ino);
		break;
	case SD_RENAME:
		e = sd_dir_find(dir, op->a);
		if (e != NULL) {
			size_t ino = e->ino;
			sd_dir_del(dir, op->a);
			sd_dir_set(dir, op->b, ino);
		}
		break;
	case SD_REMOVE:
		sd_dir_del(dir, op->a);
		break;
	}
}

static void
sd_ns_push(struct simdisk *d, enum sd_ns_kind kind, const char *a, const char *b, size_t ino)
{
	if (d->n_ns == d->cap_ns) {
		d->cap_ns = d->cap_ns ? d->cap_ns * 2 : 16;
		d->ns = sd_xrealloc(d->ns, d->cap_ns * sizeof(*d->ns));
	}
	struct sd_ns_op *op = &d->ns[d->n_ns++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	memcpy(op->a, a, strlen(a) + 1);
	if (b != NULL)
		memcpy(op->b, b, strlen(b) + 1);
	op->ino = ino;
}

static void
sd_pend_clear(struct sd_inode *in)
{
	for (size_t i = 0; i < in->n_pend; i++)
		free(in->pend[i].buf);
	in->n_pend = 0;
}

static void
sd_pend_push(struct sd_inode *in, enum sd_data_kind kind, uint64_t off, const void *buf, size_t len)
{
	if (in->n_pend == in->cap_pend) {
		in->cap_pend = in->cap_pend ? in->cap_pend * 2 : 8;
		in->pend = sd_xrealloc(in->pend, in->cap_pend * sizeof(*in->pend));
	}
	struct sd_data_op *op = &in->pend[in->n_pend++];
	op->kind = kind;
	op->off = off;
	op->len = len;
	op->buf = NULL;
	if (len) {
		op->buf = sd_xrealloc(NULL, len);
		memcpy(op->buf, buf, len);
	}
}

static void
sd_inode_free(struct sd_inode *in)
{
	if (in == NULL)
		return;
	sd_pend_clear(in);
	free(in->pend);
	sd_bytes_free(&in->durable);
	sd_bytes_free(&in->cache);
	free(in);
}

static size_t
sd_inode_new(struct simdisk *d)
{
	size_t i;
	for (i = 0; i < d->n_ino; i++)
		if (d->ino[i] == NULL)
			break;
	if (i == d->n_ino) {
		d->ino = sd_xrealloc(d->ino, (d->n_ino + 1) * sizeof(*d->ino));
		d->n_ino++;
	}
	d->ino[i] = sd_xrealloc(NULL, sizeof(struct sd_inode));
	memset(d->ino[i], 0, sizeof(struct sd_inode));
	return i;
}

static bool
sd_dir_refs(const struct sd_dir *dir, size_t ino)
{
	for (size_t i = 0; i < dir->n; i++)
		if (dir->e[i].ino == ino)
			return true;
	return false;
}

/* Frees inodes that no directory map, pending namespace operation or open handle can reach. */
static void
sd_gc(struct simdisk *d)
{
	for (size_t i = 0; i < d->n_ino; i++) {
		struct sd_inode *in = d->ino[i];
		if (in == NULL || in->opens > 0 || sd_dir_refs(&d->durable, i) ||
		    sd_dir_refs(&d->current, i))
			continue;
		bool pending = false;
		for (size_t k = 0; k < d->n_ns && !pending; k++)
			pending = d->ns[k].kind == SD_CREATE && d->ns[k].ino == i;
		if (pending)
			continue;
		sd_inode_free(in);
		d->ino[i] = NULL;
	}
}

/*
 * Counts one mutating operation and decides whether the power dies here. Returns 0 to go on,
 * 1 when this op is the cut and it should still reach the pending lists (it happened but was never
 * acknowledged), TORIDE_DEV_EIO when it must not happen at all.
 */
static int
sd_tick(struct simdisk *d)
{
	if (d->cut)
		return TORIDE_DEV_EIO;
	d->st.ops++;
	if (d->cut_at == 0 || d->st.ops != d->cut_at)
		return 0;
	d->cut = true;
	return (sd_rand(d) & 1) ? 1 : TORIDE_DEV_EIO;
}

static struct sd_inode *
sd_handle_inode(struct simdisk *d, void *file)
{
	struct sd_handle *h = file;
	if (h == NULL || h->epoch != d->epoch || h->ino >= d->n_ino)
		return NULL;
	return d->ino[h->ino];
}

/* ---- vfs callbacks -------------------------------------------------------------------------- */

static int
sd_open(void *ctx, const char *name, int flags, void **file)
{
	struct simdisk *d = ctx;
	int during = 0;
	size_t ino;
	if (file == NULL || !sd_name_valid(name) ||
	    (flags != TORIDE_DEV_VFS_READ && flags != TORIDE_DEV_VFS_WRITE &&
	     flags != (TORIDE_DEV_VFS_READ | TORIDE_DEV_VFS_WRITE)))
		return TORIDE_DEV_EINVAL;
	*file = NULL;
	if (d->cut)
		return TORIDE_DEV_EIO;
	struct sd_dirent *e = sd_dir_find(&d->current, name);
	if (!(flags & TORIDE_DEV_VFS_WRITE)) {
		if (e == NULL)
			return TORIDE_DEV_ENOENT;
		ino = e->ino;
	} else {
		during = sd_tick(d);
		if (during < 0)
			return during;
		d->st.creates++;
		if (e != NULL) {
			/* Truncation of an existing file is a data operation on its inode. */
			ino = e->ino;
			struct sd_inode *in = d->ino[ino];
			in->cache.len = 0;
			sd_pend_push(in, SD_TRUNC, 0, NULL, 0);
		} else {
			ino = sd_inode_new(d);
			sd_dir_set(&d->current, name, ino);
			sd_ns_push(d, SD_CREATE, name, NULL, ino);
		}
		if (during)
			return TORIDE_DEV_EIO;
	}
	struct sd_handle *h = sd_xrealloc(NULL, sizeof(*h));
	h->ino = ino;
	h->epoch = d->epoch;
	h->flags = flags;
	d->ino[ino]->opens++;
	d->handles++;
	*file = h;
	return 0;
}

static int
sd_read(void *ctx, void *file, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct simdisk *d = ctx;
	if (got != NULL)
		*got = 0;
	if (buf == NULL && len > 0)
		return TORIDE_DEV_EINVAL;
	if (d->cut)
		return TORIDE_DEV_EIO;
	struct sd_inode *in = sd_handle_inode(d, file);
	if (in == NULL)
		return TORIDE_DEV_EIO;
	size_t n = 0;
	if (off < in->cache.len) {
		n = in->cache.len - (size_t)off;
		if (n > len)
			n = len;
		memcpy(buf, in->cache.p + off, n);
	}
	d->st.reads++;
	d->st.bytes_read += n;
	if (got != NULL)
		*got = n;
	return 0;
}

static int
sd_write(void *ctx, void *file, uint64_t off, const void *buf, size_t len)
{
	struct simdisk *d = ctx;
	struct sd_handle *h = file;
	if ((buf == NULL && len > 0) || h == NULL || off > (uint64_t)1 << 40)
		return TORIDE_DEV_EINVAL;
	if (d->cut)
		return TORIDE_DEV_EIO;
	struct sd_inode *in = sd_handle_inode(d, file);
	if (in == NULL)
		return TORIDE_DEV_EIO;
	if (!(h->flags & TORIDE_DEV_VFS_WRITE))
		return TORIDE_DEV_EINVAL;
	int during = sd_tick(d);
	if (during < 0)
		return during;
	sd_bytes_write(&in->cache, off, buf, len);
	sd_pend_push(in, SD_WRITE, off, buf, len);
	d->st.writes++;
	d->st.bytes_written += len;
	return during ? TORIDE_DEV_EIO : 0;
}

static int
sd_size(void *ctx, void *file, uint64_t *size)
{
	struct simdisk *d = ctx;
	if (size == NULL)
		return TORIDE_DEV_EINVAL;
	if (d->cut)
		return TORIDE_DEV_EIO;
	struct sd_inode *in = sd_handle_inode(d, file);
	if (in == NULL)
		return TORIDE_DEV_EIO;
	*size = in->cache.len;
	return 0;
}

static int
sd_sync(void *ctx, void *file)
{
	struct simdisk *d = ctx;
	if (d->cut)
		return TORIDE_DEV_EIO;
	struct sd_inode *in = sd_handle_inode(d, file);
	if (in == NULL)
		return TORIDE_DEV_EIO;
	/* A sync cut "during" may have flushed some writes: the reboot's random fates cover that. */
	int rc = sd_tick(d);
	if (rc != 0)
		return TORIDE_DEV_EIO;
	d->st.syncs++;
	sd_bytes_copy(&in->durable, &in->cache);
	sd_pend_clear(in);
	return 0;
}

static int
sd_close(void *ctx, void *file)
{
	struct simdisk *d = ctx;
	struct sd_handle *h = file;
	if (h == NULL)
		return TORIDE_DEV_EINVAL;
	int rc = d->cut ? TORIDE_DEV_EIO : 0;
	struct sd_inode *in = sd_handle_inode(d, file);
	if (in != NULL) {
		in->opens--;
	} else if (h->epoch == d->epoch) {
		rc = TORIDE_DEV_EINVAL;
	} else {
		rc = TORIDE_DEV_EIO; /* opened before the last reboot */
	}
	d->handles--;
	free(h);
	return rc;
}

static int
sd_rename(void *ctx, const char *from, const char *to)
{
	struct simdisk *d = ctx;
	if (!sd_name_valid(from) || !sd_name_valid(to))
		return TORIDE_DEV_EINVAL;
	if (d->cut)
		return TORIDE_DEV_EIO;
	struct sd_dirent *e = sd_dir_find(&d->current, from);
	if (e == NULL)
		return TORIDE_DEV_ENOENT;
	int during = sd_tick(d);
	if (during < 0)
		return during;
	d->st.renames++;
	if (strcmp(from, to) != 0) {
		size_t ino = e->ino;
		sd_dir_del(&d->current, from);
		sd_dir_set(&d->current, to, ino);
		sd_ns_push(d, SD_RENAME, from, to, ino);
	}
	return during ? TORIDE_DEV_EIO : 0;
}

static int
sd_remove(void *ctx, const char *name)
{
	struct simdisk *d = ctx;
	if (!sd_name_valid(name))
		return TORIDE_DEV_EINVAL;
	if (d->cut)
		return TORIDE_DEV_EIO;
	if (sd_dir_find(&d->current, name) == NULL)
		return TORIDE_DEV_ENOENT;
	int during = sd_tick(d);
	if (during < 0)
		return during;
	d->st.removes++;
	sd_dir_del(&d->current, name);
	sd_ns_push(d, SD_REMOVE, name, NULL, 0);
	return during ? TORIDE_DEV_EIO : 0;
}

static int
sd_sync_dir(void *ctx)
{
	struct simdisk *d = ctx;
	if (d->cut)
		return TORIDE_DEV_EIO;
	if (sd_tick(d) != 0)
		return TORIDE_DEV_EIO;
	d->st.sync_dirs++;
	for (size_t i = 0; i < d->n_ns; i++)
		sd_ns_apply(&d->durable, &d->ns[i]);
	d->n_ns = 0;
	sd_gc(d);
	return 0;
}

/* ---- power cut and reboot ------------------------------------------------------------------- */

/* One unsynced write reaching the platter in part: whole sectors from its start, then maybe one
 * sector of garbage where the head was when the power died. */
static void
sd_apply_torn(struct simdisk *d, struct sd_bytes *dst, const struct sd_data_op *op)
{
	uint64_t end = op->off + op->len;
	/* boundaries: op->off, then every sector boundary inside (off, end), then end */
	uint64_t first_b = (op->off / SIMDISK_SECTOR + 1) * SIMDISK_SECTOR;
	uint64_t n_sectors = 1 + (end > first_b ? (end - first_b + SIMDISK_SECTOR - 1) / SIMDISK_SECTOR : 0);
	uint64_t k = sd_below(d, n_sectors); /* whole sectors that made it: 0 .. n_sectors-1 */
	uint64_t keep_end = k == 0 ? op->off : first_b + (k - 1) * SIMDISK_SECTOR;
	if (keep_end > end)
		keep_end = end;
	if (keep_end > op->off)
		sd_bytes_write(dst, op->off, op->buf, (size_t)(keep_end - op->off));
	d->st.writes_torn++;
	if (sd_rand(d) & 1) {
		uint64_t g_end = keep_end - keep_end % SIMDISK_SECTOR + SIMDISK_SECTOR;
		if (g_end > end)
			g_end = end;
		if (g_end > keep_end) {
			uint8_t junk[SIMDISK_SECTOR];
			for (size_t i = 0; i < sizeof(junk); i++)
				junk[i] = (uint8_t)sd_rand(d);
			sd_bytes_write(dst, keep_end, junk, (size_t)(g_end - keep_end));
			d->st.writes_garbage++;
		}
	}
}

static void
sd_inode_crash(struct simdisk *d, struct sd_inode *in)
{
	for (size_t i = 0; i < in->n_pend; i++) {
		const struct sd_data_op *op = &in->pend[i];
		uint64_t fate = d->policy == SIMDISK_LOSE_ALL ? 0 :
		                d->policy == SIMDISK_KEEP_ALL ? 1 : sd_below(d, op->kind == SD_TRUNC ? 2 : 3);
		if (fate == 0) {
			d->st.writes_dropped++;
		} else if (fate == 1) {
			d->st.writes_applied++;
			if (op->kind == SD_TRUNC)
				in->durable.len = 0;
			else
				sd_bytes_write(&in->durable, op->off, op->buf, op->len);
		} else {
			sd_apply_torn(d, &in->durable, op);
		}
	}
	sd_pend_clear(in);
	sd_bytes_copy(&in->cache, &in->durable);
	in->opens = 0;
}

void
simdisk_reboot(struct simdisk *d)
{
	/* Data first, in inode order: each inode's fates are independent of the others. */
	for (size_t i = 0; i < d->n_ino; i++)
		if (d->ino[i] != NULL)
			sd_inode_crash(d, d->ino[i]);
	/* Metadata journaling keeps the order of namespace operations: an in-order prefix survives. */
	size_t keep = d->policy == SIMDISK_LOSE_ALL ? 0 :
	              d->policy == SIMDISK_KEEP_ALL ? d->n_ns : (size_t)sd_below(d, d->n_ns + 1);
	for (size_t i = 0; i < keep; i++)
		sd_ns_apply(&d->durable, &d->ns[i]);
	d->st.ns_applied += keep;
	d->st.ns_dropped += d->n_ns - keep;
	d->n_ns = 0;
	sd_dir_copy(&d->current, &d->durable);
	d->cut = false;
	d->cut_at = 0;
	d->epoch++;
	d->st.reboots++;
	sd_gc(d);
}

/* ---- public --------------------------------------------------------------------------------- */

struct simdisk *
simdisk_new(uint64_t seed)
{
	struct simdisk *d = sd_xrealloc(NULL, sizeof(*d));
	memset(d, 0, sizeof(*d));
	d->seed = seed;
	d->rng = seed;
	d->epoch = 1;
	d->vfs.ctx = d;
	d->vfs.open = sd_open;
	d->vfs.read = sd_read;
	d->vfs.write = sd_write;
	d->vfs.size = sd_size;
	d->vfs.sync = sd_sync;
	d->vfs.close = sd_close;
	d->vfs.rename = sd_rename;
	d->vfs.remove = sd_remove;
	d->vfs.sync_dir = sd_sync_dir;
	return d;
}

void
simdisk_free(struct simdisk *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_ino; i++)
		sd_inode_free(d->ino[i]);
	free(d->ino);
	free(d->durable.e);
	free(d->current.e);
	free(d->ns);
	free(d);
}

const struct toride_dev_vfs *
simdisk_vfs(struct simdisk *d)
{
	return &d->vfs;
}

void
simdisk_set_cut(struct simdisk *d, uint64_t op)
{
	d->cut_at = op;
}

void
simdisk_crash(struct simdisk *d)
{
	d->cut = true;
}

bool
simdisk_is_cut(const struct simdisk *d)
{
	return d->cut;
}

void
simdisk_set_policy(struct simdisk *d, enum simdisk_policy policy)
{
	d->policy = policy;
}

uint64_t
simdisk_seed(const struct simdisk *d)
{
	return d->seed;
}

uint64_t
simdisk_ops(const struct simdisk *d)
{
	return d->st.ops;
}

void
simdisk_get_stats(const struct simdisk *d, struct simdisk_stats *st)
{
	*st = d->st;
}

size_t
simdisk_open_handles(const struct simdisk *d)
{
	return d->handles;
}

int
simdisk_get(struct simdisk *d, const char *name, uint8_t **data, size_t *len)
{
	if (!sd_name_valid(name))
		return TORIDE_DEV_EINVAL;
	struct sd_dirent *e = sd_dir_find(&d->current, name);
	if (e == NULL)
		return TORIDE_DEV_ENOENT;
	const struct sd_bytes *b = &d->ino[e->ino]->cache;
	*data = sd_xrealloc(NULL, b->len);
	if (b->len)
		memcpy(*data, b->p, b->len);
	*len = b->len;
	return 0;
}

int
simdisk_put(struct simdisk *d, const char *name, const void *data, size_t len)
{
	if (!sd_name_valid(name) || (data == NULL && len > 0))
		return TORIDE_DEV_EINVAL;
	size_t ino = sd_inode_new(d);
	struct sd_inode *in = d->ino[ino];
	sd_bytes_write(&in->cache, 0, data, len);
	sd_bytes_copy(&in->durable, &in->cache);
	sd_dir_set(&d->current, name, ino);
	sd_dir_set(&d->durable, name, ino);
	sd_gc(d);
	return 0;
}

bool
simdisk_exists(struct simdisk *d, const char *name)
{
	return sd_name_valid(name) && sd_dir_find(&d->current, name) != NULL;
}

size_t
simdisk_count(const struct simdisk *d)
{
	return d->current.n;
}
