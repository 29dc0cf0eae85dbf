/*
 * toride-deviced: the reference compliant device (docs/deviced.md). Every security decision
 * (accounts, sessions, access checks, password policy, throttling, updates, settings) is made by
 * libtoride-device; this program is the device's "firmware": a boot step, a telnet and an HTTP
 * admin interface on libuv, an automatic update check, and in-process reboots.
 *
 * Single-threaded: the device object is touched only on the loop thread (the library is not
 * thread-safe). Downloads run on libuv's thread pool and never touch the device.
 */
#ifndef TORIDE_DEVICED_H
#define TORIDE_DEVICED_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "toride/device-fetch.h"
#include "toride/device.h"

/* Exit codes of every subcommand (scripts rely on them). */
#define DEVD_EXIT_OK 0
#define DEVD_EXIT_REFUSED 1 /* the device refused (bad signature, downgrade, not on trial, ...) */
#define DEVD_EXIT_USAGE 2   /* bad command line */
#define DEVD_EXIT_ERROR 3   /* storage, state or system error */

/* Connections over both interfaces: a handful of admins; more is a flood, refused at accept. */
#define DEVD_MAX_CONNS 64
/* Identity file in the state directory (hardware straps: target, model, serial, MAC). */
#define DEVD_IDENTITY_FILE "deviced-identity"
/* Part file of the automatic/telnet download and the URL it belongs to. */
#define DEVD_PART_FILE "download.part"
#define DEVD_PART_URL_FILE "download.url"
/* First line of a demo firmware image: "toride-demo-firmware version=V selftest=ok|fail". */
#define DEVD_FW_MAGIC "toride-demo-firmware"
#define DEVD_FW_HEAD_MAX 256
/* Longest URL accepted from an announcement or a command: URLs of bundles are short. */
#define DEVD_URL_MAX 1024
/* A bundle sent to POST /update or downloaded: a demo image is small, a real camera firmware
 * is tens of MiB; 256 MiB bounds a hostile sender and the slot. */
#define DEVD_MAX_BUNDLE (256ull * 1024 * 1024)

struct devd_conn;

/* Fault modes (fault.c; docs/deviced.md "Fault modes"): deliberately broken devices for the tests
 * of `toride conform`. Off unless `run --fault LIST`. */
#define DEVD_FAULT_FACTORY_PASSWORD_STAYS 0x01u
#define DEVD_FAULT_OPEN_SHELL 0x02u
#define DEVD_FAULT_ACCEPT_UNSIGNED 0x04u
#define DEVD_FAULT_VOLATILE_SETTINGS 0x08u
#define DEVD_FAULT_NO_THROTTLE 0x10u
/* Default port of the open-shell fault (next to the usual lab telnet port 2323). */
#define DEVD_FAULT_SHELL_PORT 2324
/* Passwords the faults keep (the library's policy caps passwords at 128 bytes). */
#define DEVD_FAULT_PW_MAX 160
/* Bundle bytes kept to read a declared version: magic, length, the largest manifest. */
#define DEVD_FAULT_HEAD_MAX (8 + 4 + TORIDE_DEV_MAX_MANIFEST)

struct vram;

struct devd_faults {
	unsigned mask;                           /* DEVD_FAULT_* */
	char factory_password[DEVD_FAULT_PW_MAX]; /* factory-password-stays */
	int shell_port;                          /* open-shell */
	char fw_override[TORIDE_DEV_MAX_VERSION]; /* accept-unsigned: "running" unverified version */
	struct vram *vram;                       /* volatile-settings: the RAM overlay, once wrapped */
};

struct devd_identity {
	char target[65], model[65], serial[65], mac[65];
	unsigned boot_tries;
};

struct devd {
	uv_loop_t *loop;
	char state_dir[PATH_MAX];
	struct toride_dev_vfs vfs;
	bool vfs_open;
	struct devd_identity id;
	const char *blocklist;
	struct toride_dev_throttle_policy throttle;
	bool have_throttle;
	struct toride_dev *dev;

	/* this boot */
	unsigned boots;                 /* boots since the process started */
	uint64_t boot_gen;              /* bumps at every reboot: stale async results are dropped */
	struct toride_dev_boot_info boot;
	char fw_version[TORIDE_DEV_MAX_VERSION];
	bool fw_selftest_ok;
	bool confirmed_this_boot;
	uint64_t started_ms;
	uint32_t health_ms, watchdog_ms;
	uv_timer_t health_timer;
	uv_timer_t reboot_timer;
	bool reboot_pending;

	/* interfaces */
	const char *listen;
	int telnet_port, http_port;
	uv_tcp_t telnet_srv, http_srv;
	struct devd_conn *conns;
	unsigned n_conns;
	uint64_t next_conn_id;

	/* updates */
	bool fetch_busy;                /* one download at a time */
	char update_url[DEVD_URL_MAX];  /* automatic check base URL, "" = off */
	unsigned update_interval_s;
	const char *ca_file;
	bool allow_http;
	uv_timer_t update_timer;
	char last_update[DEVD_URL_MAX + 128]; /* result of the last install attempt, for status */

	bool stopping;
	int exit_code;
	uv_signal_t sigint, sigterm;

	struct devd_faults fault;       /* deliberate faults (tests of toride conform); mask 0 = none */
	uv_tcp_t shell_srv;             /* open-shell fault */
};

/* Per connection (both interfaces). */
struct devd_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;               /* idle timeout, and delayed answers */
	struct devd *d;
	struct devd_conn *next;
	uint64_t id;
	bool is_http;
	bool is_shell;                  /* open-shell fault connection */
	bool closing;
	int handles;                    /* uv handles still to close */
	char peer[64];
	void *ui;                       /* telnet or HTTP state */
	void (*timer_cb)(struct devd_conn *c); /* NULL: the timer is the idle timeout */
};

/* ---- main.c / run.c --------------------------------------------------------------------- */
int devd_cmd_run(int argc, char **argv);
/* Opens a provisioned device in dir (prints errors); returns a DEVD_EXIT_* code. */
int devd_device_open(struct devd *d, const char *dir);
void devd_state_close(struct devd *d);
void devd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t devd_now_ms(void);
/* Schedule an in-process reboot after `delay_ms` (lets pending answers go out first). */
void devd_reboot_later(struct devd *d, uint32_t delay_ms);
/* Writes bytes to a connection (copied). Returns 0 or a libuv error. */
int devd_conn_write(struct devd_conn *c, const void *p, size_t n);
/* Close after pending writes are flushed. */
void devd_conn_close(struct devd_conn *c);
/* Stop / restart reading (while an answer is delayed). */
void devd_conn_pause(struct devd_conn *c);
void devd_conn_resume(struct devd_conn *c);
/* One-shot timer: cb after ms, or with cb NULL an idle timeout that drops the connection.
 * Restarting replaces the previous one. */
void devd_conn_timer(struct devd_conn *c, uint64_t ms, void (*cb)(struct devd_conn *c));
struct devd_conn *devd_conn_find(struct devd *d, uint64_t id);

/* ---- ui_telnet.c / ui_http.c -------------------------------------------------------------- */
int devd_telnet_open(struct devd_conn *c);
void devd_telnet_input(struct devd_conn *c, const uint8_t *p, size_t n);
void devd_telnet_free(struct devd_conn *c);
/* Async download+install finished for a telnet "update URL" command. */
void devd_telnet_update_done(struct devd_conn *c, const char *msg);

int devd_http_open(struct devd_conn *c);
void devd_http_input(struct devd_conn *c, const uint8_t *p, size_t n);
void devd_http_free(struct devd_conn *c);

/* ---- device.c: device state shared by the front ends -------------------------------------- */
int devd_identity_read(struct devd *d);
int devd_identity_write(const struct toride_dev_vfs *vfs, const struct devd_identity *id);
int devd_dev_open(struct devd *d);
/* Human status text (telnet, CLI) and JSON (HTTP); malloc'd, caller frees. */
char *devd_status_text(struct devd *d);
char *devd_status_json(struct devd *d);

/* The settings this device has (the library stores any key; a device has a schema). */
struct devd_setting {
	const char *key;
	const char *def;
	const char *help;
	bool (*valid)(const char *v);
};
extern const struct devd_setting devd_settings[];
const struct devd_setting *devd_setting_find(const char *key);
/* Current value (stored or default) into out. */
void devd_setting_value(struct devd *d, const struct devd_setting *s, char *out, size_t cap);

/* Installs a bundle file with an open update handle (remote: update_begin(token); local:
 * update_begin_auto). Returns 0 or TORIDE_DEV_E*; info filled on success. */
int devd_install_file(struct toride_dev_update *u, const char *path, struct toride_dev_bundle_info *info);

/* Download + install job (automatic check, or telnet "update URL" with a token). */
int devd_update_start(struct devd *d, const char *url, bool announce, const char *token, uint64_t conn_id);
void devd_update_schedule(struct devd *d, bool first);

/* ---- fault.c: deliberate faults (never in libtoride-device) ------------------------------ */
/* Parses "name[=value],..." into f (mask OR-ed). -1 with a message in err. */
int devd_fault_parse(struct devd_faults *f, const char *list, char *err, size_t err_cap);
/* The loud warning on stderr (nothing when no fault is on). */
void devd_fault_warn(const struct devd_faults *f);
/* toride_dev_login, except that with factory-password-stays the factory password logs in with
 * full access (through the backdoor copy of the real password). Same contract otherwise. */
int devd_fault_login(struct devd *d, const char *source, const char *user, const char *password,
                     struct toride_dev_login_result *res);
/* factory-password-stays: the factory password given as the "old" one stands for the real one
 * (returns buf then); otherwise returns old. */
const char *devd_fault_old_password(struct devd *d, const char *old, char *buf, size_t cap);
/* After a successful change: the backdoor follows the new password. */
void devd_fault_password_changed(struct devd *d, const char *new_password);
/* Factory reset of the state directory: the backdoor copy goes too. */
void devd_fault_reset(const char *state_dir);
/* The version a bundle head declares in its (unverified) manifest: 0 or -1. */
int devd_fault_declared_version(const uint8_t *head, size_t len, char *version, size_t cap);
/* The running version to report: the accept-unsigned override when set, else real. */
const char *devd_fault_version(const struct devd *d, const char *real);
/* volatile-settings: puts a RAM overlay for the account and settings records over d->vfs
 * (idempotent); unwrap frees it and restores the inner vfs. */
int devd_fault_vfs_wrap(struct devd *d);
void devd_fault_vfs_unwrap(struct devd *d);
/* open-shell: a shell without login on its own port. */
int devd_fault_shell_open(struct devd_conn *c);
void devd_fault_shell_input(struct devd_conn *c, const uint8_t *p, size_t n);
void devd_fault_shell_free(struct devd_conn *c);

#endif
