/*
 * The virtual filesystem of an emulated shell: a flat array of nodes named by absolute path,
 * a realistic read-only root with tmpfs mounts where a real device has them, and files that
 * clients create with caps on their number and bytes. Nothing here touches the host.
 */
#include "emu/vfs.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Mounts as /proc/mounts shows them. Writable ones are the tmpfs a busybox device has; the
 * root is squashfs (read-only), as on most DVRs and cameras. Later entries win for a path. */
const struct emu_vfs_mount emu_vfs_mounts[] = {
	{ "rootfs", "/", "rootfs", "rw", EMU_VFS_EROFS },
	{ "/dev/root", "/", "squashfs", "ro,relatime", EMU_VFS_EROFS },
	{ "proc", "/proc", "proc", "rw,relatime", EMU_VFS_ENOENT },
	{ "sysfs", "/sys", "sysfs", "rw,relatime", EMU_VFS_ENOENT },
	{ "tmpfs", "/dev", "tmpfs", "rw,relatime,mode=755", EMU_VFS_OK },
	{ "devpts", "/dev/pts", "devpts", "rw,relatime,mode=600", EMU_VFS_ENOENT },
	{ "tmpfs", "/tmp", "tmpfs", "rw,relatime", EMU_VFS_OK },
	{ "tmpfs", "/var", "tmpfs", "rw,relatime", EMU_VFS_OK },
	{ "tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev,relatime", EMU_VFS_OK },
};
const size_t emu_vfs_nmounts = sizeof(emu_vfs_mounts) / sizeof(emu_vfs_mounts[0]);

const char *
emu_vfs_strerror(int e)
{
	switch (e) {
	case EMU_VFS_OK: return "Success";
	case EMU_VFS_ENOENT: return "No such file or directory";
	case EMU_VFS_ENOTDIR: return "Not a directory";
	case EMU_VFS_EISDIR: return "Is a directory";
	case EMU_VFS_EROFS: return "Read-only file system";
	case EMU_VFS_ENOSPC: return "No space left on device";
	case EMU_VFS_EEXIST: return "File exists";
	case EMU_VFS_ENOTEMPTY: return "Directory not empty";
	case EMU_VFS_ENAMETOOLONG: return "File name too long";
	case EMU_VFS_EACCES: return "Permission denied";
	default: return "Input/output error";
	}
}

void
emu_vfs_init(struct emu_vfs *v)
{
	memset(v, 0, sizeof(*v));
}

void
emu_vfs_free(struct emu_vfs *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->nodes[i].path);
		free(v->nodes[i].data);
	}
	free(v->nodes);
	memset(v, 0, sizeof(*v));
}

int
emu_vfs_normalize(const char *cwd, const char *in, char *out, size_t outlen)
{
	/* Build "cwd/in" component by component; ".." stops at the root like the kernel's. */
	char tmp[EMU_VFS_PATH_MAX * 2 + 2];
	size_t il = strlen(in);
	size_t cl = in[0] == '/' ? 0 : strlen(cwd);
	if (cl + il + 2 > sizeof(tmp))
		return EMU_VFS_ENAMETOOLONG;
	if (cl > 0)
		memcpy(tmp, cwd, cl);
	tmp[cl] = '/';
	memcpy(tmp + cl + 1, in, il + 1);

	size_t o = 0;
	const char *p = tmp;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		const char *e = p;
		while (*e != '\0' && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + 1 + n + 1 > outlen || o + 1 + n >= EMU_VFS_PATH_MAX)
				return EMU_VFS_ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0) {
		if (outlen < 2)
			return EMU_VFS_ENAMETOOLONG;
		out[o++] = '/';
	}
	out[o] = '\0';
	return EMU_VFS_OK;
}

struct emu_vnode *
emu_vfs_find(struct emu_vfs *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->nodes[i].path, path) == 0)
			return &v->nodes[i];
	return NULL;
}

const struct emu_vfs_mount *
emu_vfs_mount_of(const char *path)
{
	const struct emu_vfs_mount *best = &emu_vfs_mounts[0];
	size_t bestlen = 0;
	for (size_t i = 0; i < emu_vfs_nmounts; i++) {
		const char *d = emu_vfs_mounts[i].dir;
		size_t dl = strlen(d);
		bool match = dl == 1 || (strncmp(path, d, dl) == 0 && (path[dl] == '\0' || path[dl] == '/'));
		if (match && dl >= bestlen) {
			best = &emu_vfs_mounts[i];
			bestlen = dl;
		}
	}
	return best;
}

int
emu_vfs_writable(const char *path)
{
	return emu_vfs_mount_of(path)->write_err;
}

/* The parent directory of an absolute path ("/" for "/x"). */
static void
parent_of(const char *path, char *out, size_t outlen)
{
	const char *s = strrchr(path, '/');
	size_t n = s == NULL || s == path ? 1 : (size_t)(s - path);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

int
emu_vfs_add(struct emu_vfs *v, const char *path, enum emu_vtype type, unsigned mode, bool user,
            struct emu_vnode **out)
{
	if (user && v->user_files >= EMU_VFS_FILES_MAX)
		return EMU_VFS_ENOSPC;
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 128;
		struct emu_vnode *p = realloc(v->nodes, ncap * sizeof(*p));
		if (p == NULL)
			return TORIDE_ENOMEM;
		v->nodes = p;
		v->cap = ncap;
	}
	char *dup = strdup(path);
	if (dup == NULL)
		return TORIDE_ENOMEM;
	struct emu_vnode *nd = &v->nodes[v->n++];
	memset(nd, 0, sizeof(*nd));
	nd->path = dup;
	nd->type = type;
	nd->mode = mode;
	nd->user = user;
	if (user)
		v->user_files++;
	if (out != NULL)
		*out = nd;
	return EMU_VFS_OK;
}

int
emu_vfs_create(struct emu_vfs *v, const char *path, bool dir, struct emu_vnode **out)
{
	struct emu_vnode *nd = emu_vfs_find(v, path);
	if (nd != NULL) {
		*out = nd;
		return EMU_VFS_EEXIST;
	}
	char parent[EMU_VFS_PATH_MAX];
	parent_of(path, parent, sizeof(parent));
	struct emu_vnode *pn = emu_vfs_find(v, parent);
	if (pn == NULL)
		return EMU_VFS_ENOENT;
	if (pn->type != EMU_V_DIR)
		return EMU_VFS_ENOTDIR;
	int w = emu_vfs_writable(path);
	if (w != EMU_VFS_OK)
		return w;
	return emu_vfs_add(v, path, dir ? EMU_V_DIR : EMU_V_FILE, dir ? 0755 : 0644, true, out);
}

/* Give a node owned contents (copy of its static contents) before it is changed. */
static int
own_contents(struct emu_vfs *v, struct emu_vnode *nd)
{
	if (nd->sdata == NULL)
		return EMU_VFS_OK;
	if (nd->slen > EMU_VFS_BYTES_MAX - v->user_bytes)
		return EMU_VFS_ENOSPC;
	uint8_t *p = malloc(nd->slen ? nd->slen : 1);
	if (p == NULL)
		return TORIDE_ENOMEM;
	memcpy(p, nd->sdata, nd->slen);
	nd->data = p;
	nd->len = nd->slen;
	v->user_bytes += nd->slen;
	nd->sdata = NULL;
	nd->slen = 0;
	nd->shown_size = 0;
	return EMU_VFS_OK;
}

void
emu_vfs_truncate(struct emu_vfs *v, struct emu_vnode *nd)
{
	v->user_bytes -= nd->len;
	free(nd->data);
	nd->data = NULL;
	nd->len = 0;
	nd->sent = false;
	nd->sdata = NULL;
	nd->slen = 0;
	nd->shown_size = 0;
	nd->applet = NULL;
	nd->link = NULL;
	nd->gen = EMU_GEN_NONE;
}

int
emu_vfs_append(struct emu_vfs *v, struct emu_vnode *nd, const uint8_t *p, size_t n)
{
	if (nd->type == EMU_V_DIR)
		return EMU_VFS_EISDIR;
	if (nd->type == EMU_V_NULL || n == 0)
		return EMU_VFS_OK;
	int r = own_contents(v, nd);
	if (r != EMU_VFS_OK)
		return r;
	if (n > EMU_VFS_BYTES_MAX - v->user_bytes)
		return EMU_VFS_ENOSPC;
	uint8_t *q = realloc(nd->data, nd->len + n);
	if (q == NULL)
		return TORIDE_ENOMEM;
	memcpy(q + nd->len, p, n);
	nd->data = q;
	nd->len += n;
	nd->sent = false;
	v->user_bytes += n;
	/* A written file is no longer the program it was copied from. */
	nd->applet = NULL;
	nd->link = NULL;
	return EMU_VFS_OK;
}

int
emu_vfs_copy_contents(struct emu_vfs *v, struct emu_vnode *dst, const struct emu_vnode *src)
{
	emu_vfs_truncate(v, dst);
	if (src->data != NULL && src->len > 0) {
		if (src->len > EMU_VFS_BYTES_MAX - v->user_bytes)
			return EMU_VFS_ENOSPC;
		dst->data = malloc(src->len);
		if (dst->data == NULL)
			return TORIDE_ENOMEM;
		memcpy(dst->data, src->data, src->len);
		dst->len = src->len;
		v->user_bytes += src->len;
	}
	dst->sdata = src->sdata;
	dst->slen = src->slen;
	dst->shown_size = src->shown_size;
	/* cp follows links: a copy of /bin/echo is the busybox binary (run as its own name). */
	dst->applet = src->applet != NULL ? "busybox" : NULL;
	dst->gen = src->gen;
	dst->mode = src->mode;
	return EMU_VFS_OK;
}

void
emu_vfs_remove_at(struct emu_vfs *v, size_t i)
{
	struct emu_vnode *nd = &v->nodes[i];
	v->user_bytes -= nd->len;
	if (nd->user)
		v->user_files--;
	free(nd->path);
	free(nd->data);
	v->nodes[i] = v->nodes[v->n - 1];
	v->n--;
}

bool
emu_vfs_is_under(const char *path, const char *dir)
{
	size_t dl = strlen(dir);
	if (dl == 1)
		return path[1] != '\0';
	return strncmp(path, dir, dl) == 0 && path[dl] == '/';
}

bool
emu_vfs_is_child(const char *path, const char *dir)
{
	if (!emu_vfs_is_under(path, dir))
		return false;
	size_t dl = strlen(dir);
	const char *rest = path + (dl == 1 ? 1 : dl + 1);
	return strchr(rest, '/') == NULL;
}

size_t
emu_vfs_size(const struct emu_vnode *nd)
{
	if (nd->shown_size != 0)
		return nd->shown_size;
	return nd->data != NULL ? nd->len : nd->slen;
}
