/*
 * Virtual filesystem of the emulated shell (emu/shell.c): nodes named by normalised absolute
 * path in one array, a mount table that decides where clients may write, and caps on what
 * clients create. Internal to src/emu; nothing here touches host files.
 */
#ifndef TORIDE_EMU_VFS_H
#define TORIDE_EMU_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps: see emu/shell.h, which documents them for users of the shell. */
#define EMU_VFS_PATH_MAX 256
#define EMU_VFS_FILES_MAX 256
#define EMU_VFS_BYTES_MAX (1024u * 1024u)

/* errno-like results (positive, never mixed with TORIDE_E*, which are negative). */
enum {
	EMU_VFS_OK = 0,
	EMU_VFS_ENOENT,
	EMU_VFS_ENOTDIR,
	EMU_VFS_EISDIR,
	EMU_VFS_EROFS,
	EMU_VFS_ENOSPC,
	EMU_VFS_EEXIST,
	EMU_VFS_ENOTEMPTY,
	EMU_VFS_ENAMETOOLONG,
	EMU_VFS_EACCES,
};

enum emu_vtype { EMU_V_DIR, EMU_V_FILE, EMU_V_NULL, EMU_V_CHR };

/* Files whose contents are made when read (they depend on the device and the clock). */
enum emu_vgen {
	EMU_GEN_NONE,
	EMU_GEN_MOUNTS,
	EMU_GEN_CPUINFO,
	EMU_GEN_MEMINFO,
	EMU_GEN_UPTIME,
	EMU_GEN_VERSION,
	EMU_GEN_LOADAVG,
	EMU_GEN_PASSWD,
	EMU_GEN_HOSTNAME,
};

struct emu_vnode {
	char *path;                 /* owned, normalised absolute path */
	enum emu_vtype type;
	unsigned mode;              /* permission bits (07777) */
	uint8_t *data;              /* owned contents written by clients */
	size_t len;
	const uint8_t *sdata;       /* static contents (fake program headers, /etc files) */
	size_t slen;
	size_t shown_size;          /* size ls shows for a program whose bytes we do not hold */
	const char *applet;         /* busybox applet this file runs; "busybox" for the binary */
	const char *link;           /* symlink target ls -l shows */
	enum emu_vgen gen;
	bool user;                  /* created by a client: counts against EMU_VFS_FILES_MAX */
	bool sent;                  /* contents handed to the observer (file evidence) and unchanged
	                             * since: cleared by every truncate, append and copy */
};

struct emu_vfs {
	struct emu_vnode *nodes;
	size_t n, cap;
	size_t user_files;          /* nodes clients created */
	size_t user_bytes;          /* bytes of owned contents */
};

struct emu_vfs_mount {
	const char *dev, *dir, *type, *opts;
	int write_err;              /* EMU_VFS_OK where clients may create files */
};

extern const struct emu_vfs_mount emu_vfs_mounts[];
extern const size_t emu_vfs_nmounts;

void emu_vfs_init(struct emu_vfs *v);
void emu_vfs_free(struct emu_vfs *v);
/* Text like strerror() for an EMU_VFS_* code. */
const char *emu_vfs_strerror(int e);
/* Resolve in against cwd into an absolute path without ".", ".." or repeated '/'. Returns
 * EMU_VFS_OK or EMU_VFS_ENAMETOOLONG (result longer than EMU_VFS_PATH_MAX or outlen). */
int emu_vfs_normalize(const char *cwd, const char *in, char *out, size_t outlen);
struct emu_vnode *emu_vfs_find(struct emu_vfs *v, const char *path);
const struct emu_vfs_mount *emu_vfs_mount_of(const char *path);
/* EMU_VFS_OK if clients may create or change files at path, else the error they get. */
int emu_vfs_writable(const char *path);
/* Add a node without checks (building the base tree, or after emu_vfs_create's checks).
 * Returns EMU_VFS_OK, EMU_VFS_ENOSPC (user file cap) or TORIDE_ENOMEM. */
int emu_vfs_add(struct emu_vfs *v, const char *path, enum emu_vtype type, unsigned mode, bool user,
                struct emu_vnode **out);
/* Create a file or directory as a client: parent must exist and be writable. Returns
 * EMU_VFS_EEXIST with *out set when it already exists, other EMU_VFS_* codes, or TORIDE_ENOMEM. */
int emu_vfs_create(struct emu_vfs *v, const char *path, bool dir, struct emu_vnode **out);
void emu_vfs_truncate(struct emu_vfs *v, struct emu_vnode *nd);
/* Append bytes to a file within EMU_VFS_BYTES_MAX (EMU_VFS_ENOSPC beyond). */
int emu_vfs_append(struct emu_vfs *v, struct emu_vnode *nd, const uint8_t *p, size_t n);
int emu_vfs_copy_contents(struct emu_vfs *v, struct emu_vnode *dst, const struct emu_vnode *src);
/* Remove node i (the last node takes its place: node pointers are invalid afterwards). */
void emu_vfs_remove_at(struct emu_vfs *v, size_t i);
/* Is path strictly inside dir / a direct child of dir? */
bool emu_vfs_is_under(const char *path, const char *dir);
bool emu_vfs_is_child(const char *path, const char *dir);
/* Size ls shows. */
size_t emu_vfs_size(const struct emu_vnode *nd);

#endif
