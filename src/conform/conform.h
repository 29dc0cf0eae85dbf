/*
 * toride conform: examine ONE device against art. 34-10 (JP-34-10-1..4) and JC-STAR star 1
 * (S1.1-01..04), record every step as evidence, and produce the report (docs/conform.md).
 *
 * Data flow:
 *   description file (JSON, conform_describe_load) ─► struct conform_run
 *     ─► checks in registry order (conform_checks[]), each appends steps + a verdict to the
 *        result document (jansson, schema in docs/conform.md)
 *     ─► result JSON file ─► report renderers (HTML, PDF via Chromium) read only that file
 *
 * The examination talks to exactly one address (the description's), and only through the scope
 * machinery of the survey (src/core/scope.h): a description cannot make conform touch anything else.
 */
#ifndef TORIDE_CONFORM_H
#define TORIDE_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/addr.h"

/* ---- the device description ---------------------------------------------------------------- */

#define CONFORM_MAX_INTERFACES 32 /* declared interfaces; a device with more is a finding itself */
#define CONFORM_MAX_TEXT 4096     /* any one string in a description (commands, paths) */
#define CONFORM_MAX_FILE (256 * 1024) /* description file size */

enum conform_scheme {
	CONFORM_SCHEME_FORCED_CHANGE = 1, /* factory default usable only to change it */
	CONFORM_SCHEME_UNIQUE,            /* per-unit password (label) */
	CONFORM_SCHEME_KEY_ONLY,          /* no password login at all (e.g. SSH keys) */
	CONFORM_SCHEME_FACTORY_DEFAULT,   /* declared shared default that stays valid (non-compliant) */
	CONFORM_SCHEME_NONE,              /* declared: no authentication (non-compliant) */
};

struct conform_interface {
	char service[16];   /* telnet, ssh, http, https, mqtt, rtsp, ftp */
	uint16_t port;
	bool management;    /* operations possible through it (default true) */
};

/* An action the examiner cannot do over the protocol itself: a shell command run on the
 * examiner's host with placeholders ({address}, {user}, {old}, {new}, {bundle}, {key}, {value})
 * substituted shell-quoted. Empty = not declared. */
struct conform_hook {
	char command[CONFORM_MAX_TEXT];
	unsigned timeout_s; /* default 60 */
};

struct conform_description {
	int format;                 /* 1 */
	char name[256], vendor[256], model[256], firmware[64];
	char address_text[64];
	struct toride_addr address;
	char ports[64];             /* ports to scan, default "1-65535" */
	struct conform_interface interfaces[CONFORM_MAX_INTERFACES];
	size_t n_interfaces;

	/* credentials (JP-34-10-2) */
	enum conform_scheme scheme;
	char user[64];
	char factory_password[256];       /* FORCED_CHANGE / FACTORY_DEFAULT */
	char unit_passwords[2][256];      /* UNIQUE: two units' label passwords ("" if not given) */
	char adapter[32];                 /* "toride-deviced" (built-in HTTP adapter) or "" (hooks) */
	char admin_url[CONFORM_MAX_TEXT]; /* base URL of the HTTP admin (adapter) */
	struct conform_hook change_password; /* {user} {old} {new}; exit 0 = changed */
	struct conform_hook login_check;     /* {user} {old}: exit 0 = login works */

	/* update (JP-34-10-3) */
	struct conform_hook update;       /* {bundle}: install; exit 0 = accepted */
	struct conform_hook version;      /* prints the running firmware version on stdout */
	char bundle_newer[CONFORM_MAX_TEXT], bundle_older[CONFORM_MAX_TEXT],
	    bundle_unsigned[CONFORM_MAX_TEXT], bundle_wrong_target[CONFORM_MAX_TEXT];
	char bundle_key[CONFORM_MAX_TEXT]; /* vendor key to build bundles with (toride bundles) */
	char bundle_target[128];

	/* power and reset (JP-34-10-4, JP-34-10-2) */
	struct conform_hook power_cut, power_restore, factory_reset;
	unsigned settle_s;                /* wait after power restore, default 5 */

	/* examination options (optional in the file; compatible additions, see docs/conform.md) */
	unsigned brute_force_seconds;     /* wrong logins per password service, default 60 */
	unsigned known_defaults_max_pairs; /* pairs tried per service by known-defaults, 0 = all */
	unsigned scan_rate;               /* new connections per second of the port scan, default 2000 */
	bool freshly_provisioned;         /* declared: the unit is in factory state right now */

	/* c2 (update, power): optional fields, parsed by conform_describe_c2(); 0 = default */
	unsigned update_boot_s;           /* "update": {"boot_seconds"}: how long an installed firmware
	                                     may take to reboot and report, default CONFORM_DEFAULT_BOOT_S */
	unsigned power_repeat;            /* "power": {"repeat"}: cuts during a password change,
	                                     default CONFORM_DEFAULT_POWER_REPEAT */
};

/* Parses a description (JSON text of at most CONFORM_MAX_FILE bytes). 0, TORIDE_EPARSE with a
 * message naming the field in err (always NUL-terminated), TORIDE_ETOOBIG. */
int conform_describe_parse(const char *text, size_t len, struct conform_description *d, char *err,
                           size_t err_cap);
int conform_describe_load(const char *path, struct conform_description *d, char *err,
                          size_t err_cap);

/* ---- verdicts and evidence ---------------------------------------------------------------- */

enum conform_verdict {
	CONFORM_PASS = 0,
	CONFORM_FAIL,
	CONFORM_UNKNOWN, /* could not be decided (device unreachable, hook missing): never a pass */
	CONFORM_NA,      /* does not apply to this device (declared and verified) */
};
const char *conform_verdict_name(enum conform_verdict v); /* "pass", "fail", "unknown", "n/a" */

struct conform_run;

/* One check: a catalog requirement examined one way. Registered in conform_checks[]. */
struct conform_check {
	const char *id;          /* stable id: "access", "credentials", "brute-force", "update",
	                            "power", "known-defaults" */
	const char *requirement; /* catalog id, e.g. "JP-34-10-1" */
	const char *jc_star;     /* e.g. "S1.1-01" ("" if none) */
	const char *title;       /* English, one line */
	const char *title_ja;
	int (*run)(struct conform_run *run, json_t *item); /* appends steps; sets the verdict */
};

extern const struct conform_check conform_checks[];
extern const size_t conform_n_checks;

/* What earlier checks learnt, for later ones. */
struct conform_service {
	uint16_t port;
	char service[16]; /* identified protocol */
	bool declared;
	/* compatible additions (c1): what the access check learnt about the service */
	bool needs_auth;    /* asked for credentials before any operation */
	bool noauth;        /* allowed an operation without authentication */
	char detail[128];   /* e.g. SSH auth methods offered ("publickey,password") */
};

#define CONFORM_MAX_SERVICES 256

struct conform_run {
	const struct conform_description *desc;
	json_t *result;           /* the whole result document */
	struct conform_service services[CONFORM_MAX_SERVICES]; /* found by the "access" check */
	size_t n_services;
	char current_password[256]; /* the credential in force after the credentials check */
	const char *only;         /* run only this check id (NULL = all) */
	void (*progress)(void *ctx, const char *check, const char *message);
	void *progress_ctx;
	const char *toride_bin;   /* this program, for hooks that call `toride bundle` */
	const char *work_dir;     /* scratch files (bundles made for the update check) */
};

/* Appends a step to item["steps"]: timestamp (UTC, ms), action, observation, optional evidence
 * (transcript; escaped and capped by the report), and the step's outcome ("ok", "violation",
 * "info", "error"). Printf-style for `observed`. */
void conform_step(struct conform_run *run, json_t *item, const char *outcome, const char *action,
                  const char *evidence, const char *observed_fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Sets item verdict and the one-sentence reason in English and Japanese. */
void conform_verdict_set(json_t *item, enum conform_verdict v, const char *reason,
                         const char *reason_ja);

/* Runs a hook with placeholders; captures stdout (bounded) into out (may be NULL). Returns the
 * exit status (0..255), or a negative TORIDE_E* (not declared: TORIDE_ENOTFOUND; timeout:
 * TORIDE_ETIMEOUT). Records the command and its result as a step of `item`. */
int conform_hook_run(struct conform_run *run, json_t *item, const struct conform_hook *hook,
                     const char *const *names, const char *const *values, size_t n, char *out,
                     size_t out_cap);

/* Runs every check and fills run->result (schema: docs/conform.md). Returns 0 if the run
 * completed (whatever the verdicts), negative on an internal error. */
int conform_run_all(struct conform_run *run);
/* Overall verdict: fail if any check failed, unknown if any is unknown, else pass. */
enum conform_verdict conform_overall(const json_t *result);

/* ---- c2: update (JP-34-10-3) and power (JP-34-10-4) checks ------------------------------------ */

#define CONFORM_DEFAULT_BOOT_S 120     /* a camera reboots into new firmware in a minute or two */
#define CONFORM_MAX_BOOT_S 3600
#define CONFORM_DEFAULT_POWER_REPEAT 3 /* cuts during a change: a few timings around the commit */
#define CONFORM_MAX_POWER_REPEAT 20

/* The optional members of "update" and "power" that belong to these checks ("update":
 * "boot_seconds"; "power": "repeat"). The description parser calls this with the two objects
 * (either may be NULL) after its own fields; it must list these names as known. 0, or
 * TORIDE_EPARSE with a message naming the field in err. */
int conform_describe_c2(const json_t *update, const json_t *power, struct conform_description *d, char *err,
                        size_t err_cap);

int conform_check_update(struct conform_run *run, json_t *item);
int conform_check_power(struct conform_run *run, json_t *item);

/* The device under examination as both checks drive it: through the built-in adapter
 * ("adapter": "toride-deviced": HTTP admin at admin_url, JSON login/password/status/update/reboot)
 * or through the hooks (login_check, change_password, version, update). Every call records its
 * request and the device's answer as a step of item. */
struct conform_dev_session {
	char cookie[160]; /* "session=<token>" (adapter), "" without a session */
};
enum conform_login {
	CONFORM_LOGIN_REFUSED = 0,
	CONFORM_LOGIN_OK = 1,          /* full access */
	CONFORM_LOGIN_MUST_CHANGE = 2, /* logged in, but only the password change is allowed */
};
/* Logs in as desc->user with password (what names it in the steps: "the factory password", ...).
 * Waits out a throttle answer (429 + Retry-After) up to a bound. enum conform_login or < 0. */
int conform_dev_login(struct conform_run *run, json_t *item, const char *password, const char *what,
                      struct conform_dev_session *s);
/* Changes old -> new: 0 changed, 1 refused, < 0 error. */
int conform_dev_change_password(struct conform_run *run, json_t *item, struct conform_dev_session *s,
                                const char *old_pw, const char *new_pw);
/* A session with full access using run->current_password; when that is unknown or refused,
 * the factory password, changing it to a fresh one if the device insists (run->current_password
 * follows). 0, 1 when no credential works, or < 0. */
int conform_dev_session(struct conform_run *run, json_t *item, struct conform_dev_session *s);
/* The running firmware version (status JSON "version", or the version hook's first line). */
int conform_dev_version(struct conform_run *run, json_t *item, struct conform_dev_session *s, char *out,
                        size_t cap);
/* Installs a bundle file: 0 accepted, 1 refused (the device's answer in answer), < 0 error. */
int conform_dev_install(struct conform_run *run, json_t *item, struct conform_dev_session *s, const char *path,
                        const char *what, char *answer, size_t answer_cap);
/* After an install (adapter: asks for the reboot), waits up to desc->update_boot_s until the
 * device answers again with expect (NULL: any version) running confirmed; version_out gets the
 * last version seen. 0, TORIDE_ETIMEOUT, or < 0. */
int conform_dev_reboot_wait(struct conform_run *run, json_t *item, struct conform_dev_session *s,
                            const char *expect, bool reboot, char *version_out, size_t cap);
/* Whether the admin interface answers an operation without a session (adapter: GET /status):
 * 1 open, 0 refused, < 0 could not tell. */
int conform_dev_open_access(struct conform_run *run, json_t *item);
/* Waits up to ms until the admin port accepts a connection again (adapter; true without one). */
bool conform_dev_wait_up(struct conform_run *run, unsigned ms);
/* Dotted numeric version comparison ("1.10" > "1.9"; missing parts are 0): <0, 0, >0. */
int conform_version_cmp(const char *a, const char *b);
/* A version strictly above v ("2.0" for "1.4.1") and one strictly below ("" if none). */
void conform_version_next(const char *v, char *out, size_t cap);
void conform_version_prev(const char *v, char *out, size_t cap);
/* Builds a signed bundle with `toride bundle create` (run->toride_bin, desc bundle_key) of a demo
 * firmware image (docs/deviced.md) in run->work_dir: 0 and the path in out, or < 0. */
int conform_bundle_build(struct conform_run *run, json_t *item, const char *target, const char *version,
                         char *out, size_t cap);

/* ---- report (report_html.c, report_pdf.c) -------------------------------------------------- */

/* Self-contained HTML page (no external resources; CSP forbids them) of a result document, in
 * Japanese and English, one row per requirement with its JC-STAR, ETSI and PSTI clauses, verdict,
 * reason and evidence. Everything from the device is escaped. */
int conform_report_html(const json_t *result, FILE *out);
/* PDF of an HTML report through headless Chromium (--print-to-pdf). err is NUL-terminated. */
int conform_report_pdf(const char *html_path, const char *pdf_path, char *err, size_t err_cap);

#endif
