/* The device's state as the front ends see it: identity, opening the library, status, settings
 * schema, and installing a bundle file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "deviced/deviced.h"
#include "proto/form.h"

/* The identity file is a few short lines. */
#define DEVD_IDENTITY_MAX 1024
/* Read size when installing from a file: one slot write per chunk. */

static int
vfs_read_all(const struct toride_dev_vfs *vfs, const char *name, char *buf, size_t cap, size_t *len)
{
	void *f = NULL;
	uint64_t size = 0;
	int r = vfs->open(vfs->ctx, name, TORIDE_DEV_VFS_READ, &f);
	if (r != 0)
		return r;
	r = vfs->size(vfs->ctx, f, &size);
	if (r == 0 && size >= cap)
		r = TORIDE_DEV_ETOOBIG;
	size_t done = 0;
	while (r == 0 && done < size) {
		size_t got = 0;
		r = vfs->read(vfs->ctx, f, done, buf + done, (size_t)size - done, &got);
		if (r == 0 && got == 0)
			r = TORIDE_DEV_EIO;
		done += got;
	}
	vfs->close(vfs->ctx, f);
	if (r == 0) {
		buf[done] = '\0';
		*len = done;
	}
	return r;
}

int
devd_identity_read(struct devd *d)
{
	char buf[DEVD_IDENTITY_MAX], v[16];
	size_t len = 0;
	int r = vfs_read_all(&d->vfs, DEVD_IDENTITY_FILE, buf, sizeof(buf), &len);
	if (r != 0)
		return r;
	memset(&d->id, 0, sizeof(d->id));
	if (toride_kvtext_get(buf, len, "target", d->id.target, sizeof(d->id.target)) != 0)
		return TORIDE_DEV_ECORRUPT;
	toride_kvtext_get(buf, len, "model", d->id.model, sizeof(d->id.model));
	toride_kvtext_get(buf, len, "serial", d->id.serial, sizeof(d->id.serial));
	toride_kvtext_get(buf, len, "mac", d->id.mac, sizeof(d->id.mac));
	if (toride_kvtext_get(buf, len, "boot-tries", v, sizeof(v)) == 0)
		d->id.boot_tries = (unsigned)strtoul(v, NULL, 10);
	return 0;
}

/* Durable like the library's own files: temp, sync, rename, sync the directory. */
int
devd_identity_write(const struct toride_dev_vfs *vfs, const struct devd_identity *id)
{
	char buf[DEVD_IDENTITY_MAX];
	void *f = NULL;
	int n = snprintf(buf, sizeof(buf), "target=%s\nmodel=%s\nserial=%s\nmac=%s\nboot-tries=%u\n", id->target,
	                 id->model, id->serial, id->mac, id->boot_tries);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return TORIDE_DEV_ETOOBIG;
	int r = vfs->open(vfs->ctx, DEVD_IDENTITY_FILE ".tmp", TORIDE_DEV_VFS_WRITE, &f);
	if (r != 0)
		return r;
	r = vfs->write(vfs->ctx, f, 0, buf, (size_t)n);
	if (r == 0)
		r = vfs->sync(vfs->ctx, f);
	int rc = vfs->close(vfs->ctx, f);
	if (r == 0)
		r = rc;
	if (r == 0)
		r = vfs->rename(vfs->ctx, DEVD_IDENTITY_FILE ".tmp", DEVD_IDENTITY_FILE);
	if (r == 0)
		r = vfs->sync_dir(vfs->ctx);
	return r;
}

int
devd_dev_open(struct devd *d)
{
	if ((d->fault.mask & DEVD_FAULT_VOLATILE_SETTINGS) && devd_fault_vfs_wrap(d) != 0)
		return TORIDE_DEV_ENOMEM;
	struct toride_dev_options o = {
		.target = d->id.target,
		.model = d->id.model[0] != '\0' ? d->id.model : NULL,
		.serial = d->id.serial[0] != '\0' ? d->id.serial : NULL,
		.mac = d->id.mac[0] != '\0' ? d->id.mac : NULL,
		.blocklist_path = d->blocklist,
		.boot_tries = d->id.boot_tries,
		.throttle = d->have_throttle ? &d->throttle : NULL,
	};
	return toride_dev_open(&d->dev, &d->vfs, &o);
}

/* ---- settings ----------------------------------------------------------------------------- */

static bool
valid_text(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

static bool
valid_hostname(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 63 || v[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
		      v[i] == '-'))
			return false;
	return true;
}

static bool
valid_onoff(const char *v)
{
	return strcmp(v, "on") == 0 || strcmp(v, "off") == 0;
}

static bool
valid_resolution(const char *v)
{
	return strcmp(v, "640x480") == 0 || strcmp(v, "1280x720") == 0 || strcmp(v, "1920x1080") == 0;
}

const struct devd_setting devd_settings[] = {
	{ "hostname", "toride-camera", "device name (letters, digits, '-')", valid_hostname },
	{ "timezone", "Asia/Tokyo", "time zone name", valid_text },
	{ "ntp.server", "ntp.nict.jp", "time server", valid_text },
	{ "video.resolution", "1920x1080", "640x480, 1280x720 or 1920x1080", valid_resolution },
	{ "update.auto", "on", "automatic update check: on or off", valid_onoff },
	{ NULL, NULL, NULL, NULL },
};

const struct devd_setting *
devd_setting_find(const char *key)
{
	for (const struct devd_setting *s = devd_settings; s->key != NULL; s++)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

void
devd_setting_value(struct devd *d, const struct devd_setting *s, char *out, size_t cap)
{
	if (toride_dev_config_get(d->dev, s->key, out, cap) != 0)
		snprintf(out, cap, "%s", s->def);
}

/* ---- status ------------------------------------------------------------------------------- */

static const char *
mode_name(enum toride_dev_initial_mode m)
{
	return m == TORIDE_DEV_INITIAL_UNIQUE ? "unique" : m == TORIDE_DEV_INITIAL_DEFAULT ? "default" : "none";
}

char *
devd_status_text(struct devd *d)
{
	struct toride_dev_status st;
	char *out = NULL;
	if (toride_dev_status(d->dev, &st) != 0)
		return NULL;
	uint64_t up = (devd_now_ms() - d->started_ms) / 1000;
	if (asprintf(&out,
	             "target:          %s\r\n"
	             "firmware:        %s (slot %c)%s\r\n"
	             "trial:           %s (tries left %u)\r\n"
	             "slots:           a=%s b=%s\r\n"
	             "downgrade floor: %s\r\n"
	             "last rollback:   %s\r\n"
	             "last update:     %s\r\n"
	             "initial mode:    %s\r\n"
	             "boots:           %u, up %llu s\r\n",
	             d->id.target, devd_fault_version(d, st.running_version), st.running_slot ? st.running_slot : '-',
	             d->fw_selftest_ok ? "" : " [self-test failing]", st.trial ? "yes" : "no", st.tries_left,
	             st.slot_version[0][0] ? st.slot_version[0] : "-", st.slot_version[1][0] ? st.slot_version[1] : "-",
	             st.floor, d->boot.rolled_back_version[0] ? d->boot.rolled_back_version : "none",
	             d->last_update[0] ? d->last_update : "none", mode_name(st.initial_mode), d->boots,
	             (unsigned long long)up) < 0)
		return NULL;
	return out;
}

char *
devd_status_json(struct devd *d)
{
	struct toride_dev_status st;
	if (toride_dev_status(d->dev, &st) != 0)
		return NULL;
	char slot[2] = { st.running_slot, 0 };
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:s, s:{s:s?, s:s?}, s:s?, s:b, s:s?, s:s, s:i, s:I}",
	                      "target", d->id.target, "version", devd_fault_version(d, st.running_version), "slot", slot, "trial",
	                      st.trial, "confirmed", !st.trial, "tries_left", (int)st.tries_left, "floor", st.floor,
	                      "slots", "a", st.slot_version[0][0] ? st.slot_version[0] : NULL, "b",
	                      st.slot_version[1][0] ? st.slot_version[1] : NULL, "rolled_back_version",
	                      d->boot.rolled_back_version[0] ? d->boot.rolled_back_version : NULL,
	                      "rolled_back_this_boot", d->boot.rolled_back, "last_update",
	                      d->last_update[0] ? d->last_update : NULL, "initial_mode", mode_name(st.initial_mode),
	                      "boots", (int)d->boots, "uptime_s",
	                      (json_int_t)((devd_now_ms() - d->started_ms) / 1000));
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "selftest", json_string(d->fw_selftest_ok ? "ok" : "fail"));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* ---- install from a file ------------------------------------------------------------------ */

int
devd_install_file(struct toride_dev_update *u, const char *path, struct toride_dev_bundle_info *info)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		toride_dev_update_abort(u);
		return errno == ENOENT ? TORIDE_DEV_ENOENT : TORIDE_DEV_EIO;
	}
	int r = toride_dev_update_feed_fd(u, fd);
	close(fd);
	if (r != 0) {
		toride_dev_update_abort(u);
		return r;
	}
	return toride_dev_update_finish(u, info); /* finish releases the handle whatever it returns */
}
