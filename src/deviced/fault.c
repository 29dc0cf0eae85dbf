/*
 * Fault modes of toride-deviced: deliberately broken devices for the tests of `toride conform`
 * (docs/deviced.md, "Fault modes"). Off by default; `run --fault LIST` turns them on and the
 * daemon says so loudly on stderr. Every fault lives here, in the daemon: libtoride-device is never
 * weakened, the daemon goes around it the way a careless firmware would.
 *
 *   factory-password-stays=PW  PW (the factory default) keeps logging in with full access: the
 *                              daemon keeps a plaintext "backdoor" copy of the real password and
 *                              logs in with it whenever PW is given
 *   open-shell[=PORT]          an extra telnet-like port (default 2324) with a root shell, no login
 *   accept-unsigned            POST /update "installs" a bundle whose signature or image hash does
 *                              not verify: its declared version is reported as running
 *   volatile-settings          accounts and settings live in RAM only (a vfs overlay): a restart
 *                              brings the factory state back
 *   no-throttle                wrong logins are never slowed or locked out
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "deviced/deviced.h"

/* Backdoor copy of the current password (factory-password-stays), next to the library's files. */
#define DEVD_FAULT_BACKDOOR_FILE "fault-backdoor"
/* The fake shell's input line: commands of a scanner are short. */
#define DEVD_SHELL_LINE_MAX 512

/* ---- parsing -------------------------------------------------------------------------------- */

int
devd_fault_parse(struct devd_faults *f, const char *list, char *err, size_t err_cap)
{
	char buf[512];
	if (strlen(list) >= sizeof(buf)) {
		snprintf(err, err_cap, "--fault list too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');
		if (val != NULL)
			*val++ = '\0';
		if (strcmp(tok, "factory-password-stays") == 0) {
			if (val == NULL || *val == '\0' || strlen(val) >= sizeof(f->factory_password)) {
				snprintf(err, err_cap, "factory-password-stays needs =PASSWORD (the factory default)");
				return -1;
			}
			f->mask |= DEVD_FAULT_FACTORY_PASSWORD_STAYS;
			snprintf(f->factory_password, sizeof(f->factory_password), "%s", val);
		} else if (strcmp(tok, "open-shell") == 0) {
			f->mask |= DEVD_FAULT_OPEN_SHELL;
			f->shell_port = DEVD_FAULT_SHELL_PORT;
			if (val != NULL) {
				char *end;
				long p = strtol(val, &end, 10);
				if (*val == '\0' || *end != '\0' || p < 1 || p > 65535) {
					snprintf(err, err_cap, "open-shell=PORT: bad port '%s'", val);
					return -1;
				}
				f->shell_port = (int)p;
			}
		} else if (val != NULL) {
			snprintf(err, err_cap, "fault '%s' takes no value", tok);
			return -1;
		} else if (strcmp(tok, "accept-unsigned") == 0) {
			f->mask |= DEVD_FAULT_ACCEPT_UNSIGNED;
		} else if (strcmp(tok, "volatile-settings") == 0) {
			f->mask |= DEVD_FAULT_VOLATILE_SETTINGS;
		} else if (strcmp(tok, "no-throttle") == 0) {
			f->mask |= DEVD_FAULT_NO_THROTTLE;
		} else {
			snprintf(err, err_cap,
			         "unknown fault '%s' (factory-password-stays=PW, open-shell[=PORT], accept-unsigned, "
			         "volatile-settings, no-throttle)",
			         tok);
			return -1;
		}
	}
	if (f->mask == 0) {
		snprintf(err, err_cap, "empty --fault list");
		return -1;
	}
	return 0;
}

void
devd_fault_warn(const struct devd_faults *f)
{
	if (f->mask == 0)
		return;
	static const struct {
		unsigned bit;
		const char *what;
	} names[] = {
		{ DEVD_FAULT_FACTORY_PASSWORD_STAYS, "factory-password-stays: the factory password logs in with full access" },
		{ DEVD_FAULT_OPEN_SHELL, "open-shell: a root shell without login on an extra port" },
		{ DEVD_FAULT_ACCEPT_UNSIGNED, "accept-unsigned: POST /update runs bundles whose signature fails" },
		{ DEVD_FAULT_VOLATILE_SETTINGS, "volatile-settings: passwords and settings are lost on restart" },
		{ DEVD_FAULT_NO_THROTTLE, "no-throttle: wrong logins are never slowed or locked out" },
	};
	fprintf(stderr, "\n"
	                "*********************************************************************\n"
	                "** WARNING: toride-deviced runs with deliberate FAULTS. This device **\n"
	                "** is INSECURE on purpose: a test subject for toride conform.       **\n"
	                "** Never expose it to a real network.                               **\n"
	                "*********************************************************************\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f->mask & names[i].bit)
			fprintf(stderr, "** FAULT %s\n", names[i].what);
	if (f->mask & DEVD_FAULT_OPEN_SHELL)
		fprintf(stderr, "** FAULT open-shell port: %d\n", f->shell_port);
	fprintf(stderr, "\n");
}

/* ---- factory-password-stays ------------------------------------------------------------------ */

static void
backdoor_path(const struct devd *d, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", d->state_dir, DEVD_FAULT_BACKDOOR_FILE);
}

static bool
backdoor_read(const struct devd *d, char *pw, size_t cap)
{
	char path[PATH_MAX + 32];
	backdoor_path(d, path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	bool ok = fgets(pw, (int)cap, f) != NULL;
	fclose(f);
	if (ok)
		pw[strcspn(pw, "\r\n")] = '\0';
	return ok && pw[0] != '\0';
}

static void
backdoor_write(const struct devd *d, const char *pw)
{
	char path[PATH_MAX + 32];
	backdoor_path(d, path, sizeof(path));
	FILE *f = fopen(path, "we");
	if (f == NULL) {
		devd_log("fault: cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%s\n", pw);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
}

void
devd_fault_reset(const char *state_dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", state_dir, DEVD_FAULT_BACKDOOR_FILE);
	unlink(path);
}

/* A password the library's policy accepts: letters and digits alternate (no runs, no walks). */
static void
strong_password(char *out, size_t cap)
{
	static const char letters[] = "bcdfghjkmnpqrstvwxzBCDFGHJKMNPQRSTVWXZ";
	static const char digits[] = "23456789";
	size_t n = cap - 1 < 20 ? cap - 1 : 20;
	for (size_t i = 0; i < n; i++)
		out[i] = i % 2 == 0 ? letters[randombytes_uniform(sizeof(letters) - 1)]
		                    : digits[randombytes_uniform(sizeof(digits) - 1)];
	out[n] = '\0';
}

static bool
is_factory(const struct devd *d, const char *pw)
{
	return (d->fault.mask & DEVD_FAULT_FACTORY_PASSWORD_STAYS) && strcmp(pw, d->fault.factory_password) == 0;
}

int
devd_fault_login(struct devd *d, const char *source, const char *user, const char *password,
                 struct toride_dev_login_result *res)
{
	char stored[DEVD_FAULT_PW_MAX];
	if (!is_factory(d, password))
		return toride_dev_login(d->dev, source, user, password, res);
	/* The backdoor: the factory password stands for whatever the real one is now. */
	if (backdoor_read(d, stored, sizeof(stored))) {
		int r = toride_dev_login(d->dev, source, user, stored, res);
		sodium_memzero(stored, sizeof(stored));
		if (r == 0)
			devd_log("fault: factory password let %s in (backdoor)", user);
		return r;
	}
	int r = toride_dev_login(d->dev, source, user, password, res);
	if (r != 0 || !res->must_change)
		return r;
	/* Still the factory state: skip the forced change by setting a hidden password, and keep it. */
	char reason[256];
	strong_password(stored, sizeof(stored));
	r = toride_dev_change_password(d->dev, res->token, password, stored, reason, sizeof(reason));
	toride_dev_session_end(d->dev, res->token);
	if (r == 0) {
		backdoor_write(d, stored);
		r = toride_dev_login(d->dev, source, user, stored, res);
		devd_log("fault: factory password logged %s in without the forced change", user);
	} else {
		devd_log("fault: hidden change failed: %s %s", toride_dev_strerror(r), reason);
	}
	sodium_memzero(stored, sizeof(stored));
	return r;
}

const char *
devd_fault_old_password(struct devd *d, const char *old, char *buf, size_t cap)
{
	if (is_factory(d, old) && backdoor_read(d, buf, cap))
		return buf;
	return old;
}

void
devd_fault_password_changed(struct devd *d, const char *new_password)
{
	if (d->fault.mask & DEVD_FAULT_FACTORY_PASSWORD_STAYS)
		backdoor_write(d, new_password);
}

/* ---- accept-unsigned ------------------------------------------------------------------------ */

int
devd_fault_declared_version(const uint8_t *head, size_t len, char *version, size_t cap)
{
	size_t magic = strlen(TORIDE_DEV_BUNDLE_MAGIC);
	if (len < magic + 4 || memcmp(head, TORIDE_DEV_BUNDLE_MAGIC, magic) != 0)
		return -1;
	uint32_t n = (uint32_t)head[magic] << 24 | (uint32_t)head[magic + 1] << 16 | (uint32_t)head[magic + 2] << 8 |
	             head[magic + 3];
	if (n == 0 || n > TORIDE_DEV_MAX_MANIFEST || len < magic + 4 + n)
		return -1;
	const char *m = (const char *)head + magic + 4, *end = m + n;
	while (m < end) {
		const char *nl = memchr(m, '\n', (size_t)(end - m));
		const char *le = nl != NULL ? nl : end;
		if (le - m > 8 && memcmp(m, "version=", 8) == 0) {
			size_t vl = (size_t)(le - m - 8);
			if (vl == 0 || vl >= cap)
				return -1;
			memcpy(version, m + 8, vl);
			version[vl] = '\0';
			return 0;
		}
		m = le + 1;
	}
	return -1;
}

const char *
devd_fault_version(const struct devd *d, const char *real)
{
	return d->fault.fw_override[0] != '\0' ? d->fault.fw_override : real;
}

/* ---- volatile-settings: a RAM overlay over the state directory ------------------------------ */

struct vram_file {
	char name[80];
	uint8_t *data;
	size_t len, cap;
	bool deleted;
	struct vram_file *next;
};

struct vram {
	struct toride_dev_vfs inner;
	struct vram_file *files;
};

struct vhandle {
	struct vram_file *f; /* RAM file, or NULL: inner */
	void *inner;
};

/* The library's account and settings records (two copies and their temp files). */
static bool
volatile_name(const char *n)
{
	return strncmp(n, "accounts.", 9) == 0 || strncmp(n, "config.", 7) == 0;
}

static struct vram_file *
vram_find(struct vram *v, const char *name, bool create)
{
	for (struct vram_file *f = v->files; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	if (!create || strlen(name) >= sizeof(((struct vram_file *)0)->name))
		return NULL;
	struct vram_file *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->deleted = true;
	f->next = v->files;
	v->files = f;
	return f;
}

static int
vram_reserve(struct vram_file *f, size_t need)
{
	if (need <= f->cap)
		return 0;
	size_t cap = f->cap ? f->cap : 1024;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(f->data, cap);
	if (p == NULL)
		return TORIDE_DEV_ENOMEM;
	f->data = p;
	f->cap = cap;
	return 0;
}

/* Copies a file of the inner store into RAM (first touch of a volatile name). */
static int
vram_load(struct vram *v, const char *name, struct vram_file *f)
{
	void *h = NULL;
	uint64_t size = 0;
	int r = v->inner.open(v->inner.ctx, name, TORIDE_DEV_VFS_READ, &h);
	if (r != 0)
		return r;
	r = v->inner.size(v->inner.ctx, h, &size);
	if (r == 0 && size > (1u << 20))
		r = TORIDE_DEV_ETOOBIG; /* records are a few KiB */
	if (r == 0)
		r = vram_reserve(f, (size_t)size);
	size_t done = 0;
	while (r == 0 && done < size) {
		size_t got = 0;
		r = v->inner.read(v->inner.ctx, h, done, f->data + done, (size_t)size - done, &got);
		if (r == 0 && got == 0)
			r = TORIDE_DEV_EIO;
		done += got;
	}
	v->inner.close(v->inner.ctx, h);
	if (r == 0) {
		f->len = done;
		f->deleted = false;
	}
	return r;
}

static int
v_open(void *ctx, const char *name, int flags, void **file)
{
	struct vram *v = ctx;
	struct vhandle *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return TORIDE_DEV_ENOMEM;
	int r = 0;
	if (!volatile_name(name)) {
		r = v->inner.open(v->inner.ctx, name, flags, &h->inner);
	} else {
		struct vram_file *existing = vram_find(v, name, false);
		struct vram_file *f = vram_find(v, name, true);
		if (f == NULL)
			r = TORIDE_DEV_ENOMEM;
		else if (flags == TORIDE_DEV_VFS_WRITE) {
			f->len = 0;
			f->deleted = false;
		} else if (existing == NULL) {
			r = vram_load(v, name, f); /* ENOENT stays a deleted entry */
		} else if (f->deleted) {
			r = TORIDE_DEV_ENOENT;
		}
		h->f = f;
	}
	if (r != 0) {
		free(h);
		return r;
	}
	*file = h;
	return 0;
}

static int
v_read(void *ctx, void *file, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct vram *v = ctx;
	struct vhandle *h = file;
	if (h->f == NULL)
		return v->inner.read(v->inner.ctx, h->inner, off, buf, len, got);
	*got = 0;
	if (off >= h->f->len)
		return 0;
	size_t n = h->f->len - (size_t)off < len ? h->f->len - (size_t)off : len;
	memcpy(buf, h->f->data + off, n);
	*got = n;
	return 0;
}

static int
v_write(void *ctx, void *file, uint64_t off, const void *buf, size_t len)
{
	struct vram *v = ctx;
	struct vhandle *h = file;
	if (h->f == NULL)
		return v->inner.write(v->inner.ctx, h->inner, off, buf, len);
	if (off > (1u << 20) || len > (1u << 20))
		return TORIDE_DEV_ETOOBIG;
	int r = vram_reserve(h->f, (size_t)off + len);
	if (r != 0)
		return r;
	if (off > h->f->len)
		memset(h->f->data + h->f->len, 0, (size_t)off - h->f->len);
	memcpy(h->f->data + off, buf, len);
	if (off + len > h->f->len)
		h->f->len = (size_t)off + len;
	return 0;
}

static int
v_size(void *ctx, void *file, uint64_t *size)
{
	struct vram *v = ctx;
	struct vhandle *h = file;
	if (h->f == NULL)
		return v->inner.size(v->inner.ctx, h->inner, size);
	*size = h->f->len;
	return 0;
}

static int
v_sync(void *ctx, void *file)
{
	struct vram *v = ctx;
	struct vhandle *h = file;
	return h->f == NULL ? v->inner.sync(v->inner.ctx, h->inner) : 0; /* RAM: "synced" */
}

static int
v_close(void *ctx, void *file)
{
	struct vram *v = ctx;
	struct vhandle *h = file;
	int r = h->f == NULL ? v->inner.close(v->inner.ctx, h->inner) : 0;
	free(h);
	return r;
}

/* A volatile name seen for the first time is loaded from the inner store (or marked absent). */
static struct vram_file *
vram_touch(struct vram *v, const char *name)
{
	struct vram_file *f = vram_find(v, name, false);
	if (f != NULL)
		return f;
	f = vram_find(v, name, true);
	if (f != NULL)
		vram_load(v, name, f);
	return f;
}

static int
v_rename(void *ctx, const char *from, const char *to)
{
	struct vram *v = ctx;
	if (!volatile_name(from) && !volatile_name(to))
		return v->inner.rename(v->inner.ctx, from, to);
	if (!volatile_name(from) || !volatile_name(to))
		return TORIDE_DEV_EINVAL; /* the library never moves a file between the two kinds */
	struct vram_file *a = vram_touch(v, from), *b = vram_touch(v, to);
	if (a == NULL || b == NULL)
		return TORIDE_DEV_ENOMEM;
	if (a->deleted)
		return TORIDE_DEV_ENOENT;
	free(b->data);
	b->data = a->data;
	b->len = a->len;
	b->cap = a->cap;
	b->deleted = false;
	a->data = NULL;
	a->len = a->cap = 0;
	a->deleted = true;
	return 0;
}

static int
v_remove(void *ctx, const char *name)
{
	struct vram *v = ctx;
	if (!volatile_name(name))
		return v->inner.remove(v->inner.ctx, name);
	struct vram_file *f = vram_touch(v, name);
	if (f == NULL)
		return TORIDE_DEV_ENOMEM;
	if (f->deleted)
		return TORIDE_DEV_ENOENT;
	free(f->data);
	f->data = NULL;
	f->len = f->cap = 0;
	f->deleted = true;
	return 0;
}

static int
v_sync_dir(void *ctx)
{
	struct vram *v = ctx;
	return v->inner.sync_dir(v->inner.ctx);
}

int
devd_fault_vfs_wrap(struct devd *d)
{
	if (d->fault.vram != NULL)
		return 0;
	struct vram *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return TORIDE_DEV_ENOMEM;
	v->inner = d->vfs;
	d->vfs = (struct toride_dev_vfs){
		.ctx = v, .open = v_open, .read = v_read, .write = v_write, .size = v_size, .sync = v_sync,
		.close = v_close, .rename = v_rename, .remove = v_remove, .sync_dir = v_sync_dir,
	};
	d->fault.vram = v;
	return 0;
}

void
devd_fault_vfs_unwrap(struct devd *d)
{
	struct vram *v = d->fault.vram;
	if (v == NULL)
		return;
	d->vfs = v->inner;
	while (v->files != NULL) {
		struct vram_file *f = v->files;
		v->files = f->next;
		if (f->data != NULL)
			sodium_memzero(f->data, f->cap);
		free(f->data);
		free(f);
	}
	free(v);
	d->fault.vram = NULL;
}

/* ---- open-shell: a "root shell" without login ------------------------------------------------ */

struct shell {
	size_t len;
	bool last_cr;
	int iac; /* telnet command bytes still to skip: 0 none, 1/2 bytes, -1 inside a subnegotiation */
	char line[DEVD_SHELL_LINE_MAX + 1];
};

static void
shell_say(struct devd_conn *c, const char *s)
{
	devd_conn_write(c, s, strlen(s));
}

int
devd_fault_shell_open(struct devd_conn *c)
{
	struct shell *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	c->ui = s;
	devd_log("fault: open shell for %s (no login)", c->peer);
	shell_say(c, "\r\nBusyBox v1.36.1 built-in shell (ash)\r\n\r\n~ # ");
	devd_conn_timer(c, 5 * 60 * 1000, NULL);
	return 0;
}

void
devd_fault_shell_free(struct devd_conn *c)
{
	free(c->ui);
	c->ui = NULL;
}

/* Words of a command line with shell quotes removed ("tr"'abc' -> trabc). */
static size_t
shell_words(char *line, char **argv, size_t max)
{
	size_t n = 0;
	char *in = line, *out = line;
	while (*in != '\0' && n < max) {
		while (*in == ' ' || *in == '\t')
			in++;
		if (*in == '\0')
			break;
		argv[n++] = out;
		char q = 0;
		while (*in != '\0' && (q != 0 || (*in != ' ' && *in != '\t'))) {
			if (q == 0 && (*in == '"' || *in == '\'')) {
				q = *in++;
				continue;
			}
			if (q != 0 && *in == q) {
				q = 0;
				in++;
				continue;
			}
			*out++ = *in++;
		}
		if (*in != '\0')
			in++;
		*out++ = '\0';
	}
	return n;
}

static void
shell_run(struct devd_conn *c, char *line)
{
	char *argv[16];
	char buf[DEVD_SHELL_LINE_MAX + 64];
	size_t n = shell_words(line, argv, 16);
	if (n == 0) {
		shell_say(c, "~ # ");
		return;
	}
	if (strcmp(argv[0], "exit") == 0) {
		devd_conn_close(c);
		return;
	}
	if (strcmp(argv[0], "echo") == 0) {
		size_t o = 0;
		for (size_t i = 1; i < n && o < sizeof(buf) - 3; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i > 1 ? " " : "", argv[i]);
		snprintf(buf + (o < sizeof(buf) - 3 ? o : sizeof(buf) - 3), 3, "\r\n");
		shell_say(c, buf);
	} else if (strcmp(argv[0], "id") == 0) {
		shell_say(c, "uid=0(root) gid=0(root)\r\n");
	} else {
		snprintf(buf, sizeof(buf), "sh: %s: not found\r\n", argv[0]);
		shell_say(c, buf);
	}
	shell_say(c, "~ # ");
}

void
devd_fault_shell_input(struct devd_conn *c, const uint8_t *p, size_t n)
{
	struct shell *s = c->ui;
	devd_conn_timer(c, 5 * 60 * 1000, NULL);
	for (size_t i = 0; i < n && c->ui != NULL && !c->closing; i++) {
		uint8_t b = p[i];
		/* Telnet commands from a client are skipped (no option is needed for a bare shell). */
		if (s->iac == -1) {
			s->iac = b == 0xf0 ? 0 : -1; /* ends at SE (IAC SE: the IAC is skipped too) */
			continue;
		}
		if (s->iac > 0) {
			if (s->iac == 2 && b == 0xfa)
				s->iac = -1;
			else
				s->iac = s->iac == 2 && b >= 0xfb && b <= 0xfe ? 1 : 0;
			continue;
		}
		if (b == 0xff) {
			s->iac = 2;
			continue;
		}
		bool was_cr = s->last_cr;
		s->last_cr = b == '\r';
		if (b == '\n' && was_cr)
			continue;
		if (b == '\n' || b == '\r') {
			s->line[s->len] = '\0';
			s->len = 0;
			shell_run(c, s->line);
			continue;
		}
		if (b < 0x20 || b >= 0x7f)
			continue;
		if (s->len < DEVD_SHELL_LINE_MAX)
			s->line[s->len++] = (char)b;
	}
}
