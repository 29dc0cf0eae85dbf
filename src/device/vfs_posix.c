/*
 * The vfs over one POSIX directory: every name is resolved with openat()/renameat() relative to a
 * directory descriptor, so the state cannot escape the directory (names are also checked), and
 * sync_dir() is an fsync() of that descriptor (what makes a rename durable on Linux file systems).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device/internal.h"

struct posix_ctx {
	int dirfd;
};

struct posix_file {
	int fd;
};

static bool
name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
from_errno(int e)
{
	switch (e) {
	case ENOENT:
		return TORIDE_DEV_ENOENT;
	case ENOMEM:
		return TORIDE_DEV_ENOMEM;
	case EFBIG:
	case ENOSPC:
		return TORIDE_DEV_ETOOBIG;
	default:
		return TORIDE_DEV_EIO;
	}
}

static int
posix_open(void *vctx, const char *name, int flags, void **file)
{
	struct posix_ctx *ctx = vctx;
	if (!name_valid(name))
		return TORIDE_DEV_EINVAL;
	int oflags = O_CLOEXEC | O_NOFOLLOW;
	if (flags == TORIDE_DEV_VFS_READ)
		oflags |= O_RDONLY;
	else if (flags == TORIDE_DEV_VFS_WRITE)
		oflags |= O_RDWR | O_CREAT | O_TRUNC;
	else
		return TORIDE_DEV_EINVAL;
	struct posix_file *f = malloc(sizeof(*f));
	if (f == NULL)
		return TORIDE_DEV_ENOMEM;
	/* State files hold hashes and the factory secret: owner only. */
	f->fd = openat(ctx->dirfd, name, oflags, 0600);
	if (f->fd < 0) {
		int err = from_errno(errno);
		free(f);
		return err;
	}
	*file = f;
	return 0;
}

static int
posix_read(void *vctx, void *file, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct posix_file *f = file;
	for (;;) {
		ssize_t n = pread(f->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return from_errno(errno);
		*got = (size_t)n;
		return 0;
	}
}

static int
posix_write(void *vctx, void *file, uint64_t off, const void *buf, size_t len)
{
	struct posix_file *f = file;
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return from_errno(errno);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int
posix_size(void *vctx, void *file, uint64_t *size)
{
	struct posix_file *f = file;
	struct stat st;
	if (fstat(f->fd, &st) != 0)
		return from_errno(errno);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
posix_sync(void *vctx, void *file)
{
	struct posix_file *f = file;
	return fsync(f->fd) == 0 ? 0 : TORIDE_DEV_EIO;
}

static int
posix_close(void *vctx, void *file)
{
	struct posix_file *f = file;
	int rc = close(f->fd);
	free(f);
	return rc == 0 ? 0 : TORIDE_DEV_EIO;
}

static int
posix_rename(void *vctx, const char *from, const char *to)
{
	struct posix_ctx *ctx = vctx;
	if (!name_valid(from) || !name_valid(to))
		return TORIDE_DEV_EINVAL;
	return renameat(ctx->dirfd, from, ctx->dirfd, to) == 0 ? 0 : from_errno(errno);
}

static int
posix_remove(void *vctx, const char *name)
{
	struct posix_ctx *ctx = vctx;
	if (!name_valid(name))
		return TORIDE_DEV_EINVAL;
	return unlinkat(ctx->dirfd, name, 0) == 0 ? 0 : from_errno(errno);
}

static int
posix_sync_dir(void *vctx)
{
	struct posix_ctx *ctx = vctx;
	return fsync(ctx->dirfd) == 0 ? 0 : TORIDE_DEV_EIO;
}

int
toride_dev_vfs_posix_open(struct toride_dev_vfs *vfs, const char *dir)
{
	if (vfs == NULL || dir == NULL)
		return TORIDE_DEV_EINVAL;
	struct posix_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL)
		return TORIDE_DEV_ENOMEM;
	ctx->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->dirfd < 0) {
		int err = from_errno(errno);
		free(ctx);
		return err;
	}
	*vfs = (struct toride_dev_vfs){
		.ctx = ctx,
		.open = posix_open,
		.read = posix_read,
		.write = posix_write,
		.size = posix_size,
		.sync = posix_sync,
		.close = posix_close,
		.rename = posix_rename,
		.remove = posix_remove,
		.sync_dir = posix_sync_dir,
	};
	return 0;
}

void
toride_dev_vfs_posix_close(struct toride_dev_vfs *vfs)
{
	if (vfs == NULL || vfs->ctx == NULL)
		return;
	struct posix_ctx *ctx = vfs->ctx;
	close(ctx->dirfd);
	free(ctx);
	vfs->ctx = NULL;
}
