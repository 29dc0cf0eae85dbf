/*
 * Check "update" (JP-34-10-3, JC-STAR S1.1-06): a correctly signed newer firmware installs and
 * the reported version changes; a tampered (one image byte flipped after signing), an unsigned
 * (signature zeroed), a wrongly targeted and an older bundle are each refused and the running
 * version stays. Every attempt and the device's answer is a step.
 *
 * Also the device driver both c2 checks share (conform.h, "c2"): the built-in toride-deviced
 * adapter (HTTP admin: POST /login, /password, /update, /reboot; GET /status; JSON bodies, the
 * session cookie) or the description's hooks, and bundle building with `toride bundle create`.
 * Everything goes to the description's address only (conform_http / conform_connect check it).
 */
#include "conform/conform.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conform/conform_int.h"
#include "core/error.h"

/* Why 30 s: one admin request (login runs Argon2id, a status page) answers in well under a second;
 * a slow embedded device under test may take a few. */
#define UPD_REQ_TIMEOUT_MS 30000
/* Why 10 min: a bundle upload of up to UPD_MAX_BUNDLE over a slow lab link plus its install. */
#define UPD_UPLOAD_TIMEOUT_MS (10 * 60 * 1000)
/* Why 256 MiB: the largest bundle toride-deviced accepts; a camera firmware is tens of MiB. */
#define UPD_MAX_BUNDLE (256u * 1024 * 1024)
/* Why 960 s: the library's default source lockout is 15 minutes; an examiner that an earlier
 * check (brute-force, known-defaults) got locked out waits for it, no longer. */
#define UPD_MAX_THROTTLE_WAIT_S 960
/* Why 500 ms: polling a rebooting device for its new version; a boot takes seconds. */
#define UPD_POLL_MS 500
/* A version string: the library allows 1-4 parts of <= 9 digits; 64 covers other vendors. */
#define UPD_VERSION_MAX 64
/* Why 4 KiB: the device's answer kept as a step's evidence (JSON error and code). */
#define UPD_ANSWER_MAX 4096

/* A step, unless item is NULL (quiet polling). */
static void __attribute__((format(printf, 5, 6)))
step(struct conform_run *run, json_t *item, const char *outcome, const char *action, const char *fmt, ...)
{
	if (item == NULL)
		return;
	char observed[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(observed, sizeof observed, fmt, ap);
	va_end(ap);
	conform_step(run, item, outcome, action, NULL, "%s", observed);
}

static void
step_http(struct conform_run *run, json_t *item, const char *outcome, const char *action,
          const struct conform_http_resp *resp, const char *observed)
{
	if (item == NULL)
		return;
	char *body = resp->body.len > 0 ? conform_evidence(resp->body.data, resp->body.len) : NULL;
	char ev[UPD_ANSWER_MAX + 32];
	snprintf(ev, sizeof ev, "HTTP %d\n%.4000s", resp->status, body != NULL ? body : "");
	free(body);
	conform_step(run, item, outcome, action, ev, "%s", observed);
}

/* ---- description fields of this check ---------------------------------------------------------- */

static int
c2_uint(const json_t *o, const char *where, const char *key, unsigned lo, unsigned hi, unsigned *dst, char *err,
        size_t cap)
{
	json_t *v = o != NULL ? json_object_get(o, key) : NULL;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo || json_integer_value(v) > (json_int_t)hi) {
		snprintf(err, cap, "%s.%s: must be an integer %u..%u", where, key, lo, hi);
		return TORIDE_EPARSE;
	}
	*dst = (unsigned)json_integer_value(v);
	return 0;
}

int
conform_describe_c2(const json_t *update, const json_t *power, struct conform_description *d, char *err,
                    size_t err_cap)
{
	int r = c2_uint(update, "update", "boot_seconds", 1, CONFORM_MAX_BOOT_S, &d->update_boot_s, err, err_cap);
	if (r == 0)
		r = c2_uint(power, "power", "repeat", 1, CONFORM_MAX_POWER_REPEAT, &d->power_repeat, err, err_cap);
	return r;
}

/* ---- versions -------------------------------------------------------------------------------------- */

/* Next dotted part: value (saturating) and where the following part starts. */
static const char *
vpart(const char *p, unsigned long long *v)
{
	*v = 0;
	while (*p >= '0' && *p <= '9') {
		if (*v < 1000000000000ull)
			*v = *v * 10 + (unsigned)(*p - '0');
		p++;
	}
	while (*p != '\0' && *p != '.')
		p++; /* suffixes ("-rc1") do not order */
	return *p == '.' ? p + 1 : p;
}

int
conform_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		unsigned long long x, y;
		a = vpart(a, &x);
		b = vpart(b, &y);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

void
conform_version_next(const char *v, char *out, size_t cap)
{
	unsigned long long major;
	vpart(v, &major);
	snprintf(out, cap, "%llu.0", major + 1);
}

void
conform_version_prev(const char *v, char *out, size_t cap)
{
	unsigned long long major;
	vpart(v, &major);
	if (major > 0)
		snprintf(out, cap, "%llu.0", major - 1);
	else if (conform_version_cmp(v, "0") > 0)
		snprintf(out, cap, "0");
	else
		snprintf(out, cap, "%s", "");
}

/* ---- the device: adapter or hooks ------------------------------------------------------------------- */

static int
admin_port(struct conform_run *run, uint16_t *port)
{
	return conform_url_port(run, run->desc->admin_url, port);
}

static int
http_json(struct conform_run *run, const char *method, const char *path, const struct conform_dev_session *s,
          json_t *body, unsigned timeout_ms, struct conform_http_resp *resp)
{
	uint16_t port;
	char hdr[256] = "";
	int r = admin_port(run, &port);
	if (r != 0) {
		memset(resp, 0, sizeof *resp);
		return r;
	}
	if (s != NULL && s->cookie[0] != '\0')
		snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", s->cookie);
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	r = conform_http(run, port, method, path, hdr, text != NULL ? "application/json" : NULL, text,
	                 text != NULL ? strlen(text) : 0, timeout_ms, resp);
	if (text != NULL) {
		memset(text, 0, strlen(text)); /* it may hold passwords */
		free(text);
	}
	return r;
}

static json_t *
resp_json(const struct conform_http_resp *resp)
{
	if (resp->body.len == 0)
		return NULL;
	return json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
}

static int
login_once(struct conform_run *run, json_t *item, const char *password, const char *what,
           struct conform_dev_session *s, unsigned *retry_s)
{
	struct conform_http_resp resp;
	char action[256];
	*retry_s = 0;
	snprintf(action, sizeof action, "POST /login as %s with %s", run->desc->user, what);
	json_t *body = json_pack("{s:s, s:s}", "user", run->desc->user, "password", password);
	int r = body != NULL ? http_json(run, "POST", "/login", NULL, body, UPD_REQ_TIMEOUT_MS, &resp) : TORIDE_ENOMEM;
	json_decref(body);
	if (r != 0) {
		step(run, item, "error", action, "no answer: %s", toride_strerror(r));
		conform_http_resp_free(&resp);
		return r;
	}
	if (resp.status == 200) {
		char cookie[512];
		json_t *j = resp_json(&resp);
		bool must = json_is_true(json_object_get(j, "must_change"));
		json_decref(j);
		s->cookie[0] = '\0';
		if (conform_http_header(&resp, "Set-Cookie", cookie, sizeof cookie) == 0) {
			cookie[strcspn(cookie, ";")] = '\0';
			size_t n = strlen(cookie);
			if (n < sizeof s->cookie)
				memcpy(s->cookie, cookie, n + 1);
		}
		step_http(run, item, "info", action, &resp,
		          must ? "logged in; the device allows only the password change" : "logged in with full access");
		conform_http_resp_free(&resp);
		return must ? CONFORM_LOGIN_MUST_CHANGE : CONFORM_LOGIN_OK;
	}
	if (resp.status == 429) {
		char ra[32];
		*retry_s = conform_http_header(&resp, "Retry-After", ra, sizeof ra) == 0 ? (unsigned)strtoul(ra, NULL, 10) : 1;
		if (*retry_s == 0)
			*retry_s = 1;
		step_http(run, item, "info", action, &resp, "throttled by the device");
		conform_http_resp_free(&resp);
		return CONFORM_LOGIN_REFUSED;
	}
	step_http(run, item, "info", action, &resp, "login refused");
	conform_http_resp_free(&resp);
	return CONFORM_LOGIN_REFUSED;
}

int
conform_dev_login(struct conform_run *run, json_t *item, const char *password, const char *what,
                  struct conform_dev_session *s)
{
	s->cookie[0] = '\0';
	if (!conform_use_adapter(run)) {
		const char *names[] = {"user", "old", "password"};
		const char *values[] = {run->desc->user, password, password};
		int r = conform_hook_run(run, item, &run->desc->login_check, names, values, 3, NULL, 0);
		if (r < 0)
			return r;
		step(run, item, "info", "login check hook", "%s: %s", what, r == 0 ? "login works" : "login refused");
		return r == 0 ? CONFORM_LOGIN_OK : CONFORM_LOGIN_REFUSED;
	}
	unsigned waited = 0;
	for (;;) {
		unsigned retry = 0;
		int r = login_once(run, item, password, what, s, &retry);
		if (r != CONFORM_LOGIN_REFUSED || retry == 0)
			return r;
		if (waited + retry > UPD_MAX_THROTTLE_WAIT_S) {
			step(run, item, "error", "login", "still throttled after %u s; giving up", waited);
			return TORIDE_ETIMEOUT;
		}
		conform_progress(run, json_string_value(json_object_get(item, "check")),
		                 "device throttles logins: waiting %u s as it asks", retry);
		step(run, item, "info", "wait", "waiting %u s (Retry-After) before logging in again", retry);
		conform_sleep_ms(retry * 1000 + 200);
		waited += retry;
	}
}

int
conform_dev_change_password(struct conform_run *run, json_t *item, struct conform_dev_session *s, const char *old_pw,
                            const char *new_pw)
{
	if (!conform_use_adapter(run)) {
		const char *names[] = {"user", "old", "new"};
		const char *values[] = {run->desc->user, old_pw, new_pw};
		int r = conform_hook_run(run, item, &run->desc->change_password, names, values, 3, NULL, 0);
		return r < 0 ? r : r == 0 ? 0 : 1;
	}
	struct conform_http_resp resp;
	json_t *body = json_pack("{s:s, s:s, s:s}", "old", old_pw, "new", new_pw, "new2", new_pw);
	int r = body != NULL ? http_json(run, "POST", "/password", s, body, UPD_REQ_TIMEOUT_MS, &resp) : TORIDE_ENOMEM;
	json_decref(body);
	if (r != 0) {
		step(run, item, "error", "POST /password", "no answer: %s", toride_strerror(r));
	} else {
		r = resp.status == 200 ? 0 : 1;
		step_http(run, item, "info", "POST /password (change to a fresh password)", &resp,
		          r == 0 ? "password changed" : "change refused");
	}
	conform_http_resp_free(&resp);
	return r;
}

int
conform_dev_session(struct conform_run *run, json_t *item, struct conform_dev_session *s)
{
	const struct conform_description *d = run->desc;
	if (!conform_use_adapter(run)) {
		s->cookie[0] = '\0';
		if (run->current_password[0] == '\0')
			snprintf(run->current_password, sizeof run->current_password, "%s", d->factory_password);
		return 0; /* hooks act on their own; nothing to open */
	}
	int r;
	if (run->current_password[0] != '\0') {
		r = conform_dev_login(run, item, run->current_password, "the current password", s);
		if (r == CONFORM_LOGIN_OK || r < 0)
			return r < 0 ? r : 0;
		if (r == CONFORM_LOGIN_MUST_CHANGE) {
			char fresh[64];
			conform_random_password(fresh, sizeof fresh);
			if (conform_dev_change_password(run, item, s, run->current_password, fresh) == 0) {
				snprintf(run->current_password, sizeof run->current_password, "%s", fresh);
				r = conform_dev_login(run, item, fresh, "the examiner's new password", s);
				return r == CONFORM_LOGIN_OK ? 0 : r < 0 ? r : 1;
			}
		}
	}
	if (d->factory_password[0] == '\0')
		return 1;
	r = conform_dev_login(run, item, d->factory_password, "the factory password", s);
	if (r < 0)
		return r;
	if (r != CONFORM_LOGIN_OK && r != CONFORM_LOGIN_MUST_CHANGE)
		return 1;
	/* Never examine with the factory password itself: a device where it stays valid would make
	 * every "old password" look alive. Change it (a compliant device insists anyway). */
	char fresh[64];
	conform_random_password(fresh, sizeof fresh);
	if (conform_dev_change_password(run, item, s, d->factory_password, fresh) != 0) {
		if (r != CONFORM_LOGIN_OK)
			return 1;
		snprintf(run->current_password, sizeof run->current_password, "%s", d->factory_password);
		return conform_dev_login(run, item, d->factory_password, "the factory password", s) == CONFORM_LOGIN_OK ? 0 : 1;
	}
	snprintf(run->current_password, sizeof run->current_password, "%s", fresh);
	r = conform_dev_login(run, item, fresh, "the examiner's new password", s);
	return r == CONFORM_LOGIN_OK ? 0 : r < 0 ? r : 1;
}

static void
trim(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	size_t k = strspn(s, " \t");
	if (k > 0)
		memmove(s, s + k, n - k + 1);
}

/* Status JSON of the adapter (caller frees), or NULL. */
static json_t *
status_json(struct conform_run *run, json_t *item, struct conform_dev_session *s)
{
	struct conform_http_resp resp;
	int r = http_json(run, "GET", "/status", s, NULL, UPD_REQ_TIMEOUT_MS, &resp);
	json_t *j = NULL;
	if (r != 0)
		step(run, item, "error", "GET /status", "no answer: %s", toride_strerror(r));
	else {
		j = resp.status == 200 ? resp_json(&resp) : NULL;
		const char *v = json_string_value(json_object_get(j, "version"));
		char obs[160];
		snprintf(obs, sizeof obs, "running version %s%s", v != NULL ? v : "(none reported)",
		         json_is_true(json_object_get(j, "trial")) ? " (on trial)" : "");
		step_http(run, item, "info", "GET /status", &resp, obs);
	}
	conform_http_resp_free(&resp);
	return j;
}

int
conform_dev_version(struct conform_run *run, json_t *item, struct conform_dev_session *s, char *out, size_t cap)
{
	out[0] = '\0';
	if (!conform_use_adapter(run)) {
		char buf[256];
		int r = conform_hook_run(run, item, &run->desc->version, NULL, NULL, 0, buf, sizeof buf);
		if (r < 0)
			return r;
		trim(buf);
		if (r != 0 || buf[0] == '\0')
			return TORIDE_EPROTO;
		snprintf(out, cap, "%s", buf);
		return 0;
	}
	json_t *j = status_json(run, item, s);
	const char *v = json_string_value(json_object_get(j, "version"));
	int r = v != NULL && strlen(v) < cap ? 0 : TORIDE_EPROTO;
	if (r == 0)
		snprintf(out, cap, "%s", v);
	json_decref(j);
	return r;
}

static int
read_file(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	*data = NULL;
	*len = 0;
	if (fd < 0)
		return TORIDE_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > UPD_MAX_BUNDLE) {
		close(fd);
		return TORIDE_ETOOBIG;
	}
	uint8_t *p = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (p != NULL && got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (p == NULL)
		return TORIDE_ENOMEM;
	if (got != (size_t)st.st_size) {
		free(p);
		return TORIDE_EIO;
	}
	*data = p;
	*len = got;
	return 0;
}

static int
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return TORIDE_EIO;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	return close(fd) == 0 && off == len ? 0 : TORIDE_EIO;
}

int
conform_dev_install(struct conform_run *run, json_t *item, struct conform_dev_session *s, const char *path,
                    const char *what, char *answer, size_t answer_cap)
{
	char action[512];
	snprintf(action, sizeof action, "install %s", what);
	if (answer_cap > 0)
		answer[0] = '\0';
	if (!conform_use_adapter(run)) {
		const char *names[] = {"bundle"};
		const char *values[] = {path};
		int r = conform_hook_run(run, item, &run->desc->update, names, values, 1, answer, answer_cap);
		if (r < 0)
			return r;
		step(run, item, "info", action, "update hook exit status %d: %s", r, r == 0 ? "accepted" : "refused");
		return r == 0 ? 0 : 1;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	uint16_t port;
	struct conform_http_resp resp;
	char hdr[256] = "";
	int r = read_file(path, &data, &len);
	if (r != 0) {
		step(run, item, "error", action, "cannot read %s: %s", path, toride_strerror(r));
		return r;
	}
	if ((r = admin_port(run, &port)) != 0) {
		free(data);
		return r;
	}
	if (s->cookie[0] != '\0')
		snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", s->cookie);
	snprintf(action, sizeof action, "POST /update: %s (%zu bytes)", what, len);
	r = conform_http(run, port, "POST", "/update", hdr, "application/octet-stream", data, len, UPD_UPLOAD_TIMEOUT_MS,
	                 &resp);
	free(data);
	if (r != 0) {
		step(run, item, "error", action, "no answer: %s", toride_strerror(r));
		conform_http_resp_free(&resp);
		return r;
	}
	json_t *j = resp_json(&resp);
	char obs[256];
	if (resp.status == 200)
		snprintf(obs, sizeof obs, "the device ACCEPTED it (installed %s)",
		         json_string_value(json_object_get(j, "installed")) ? json_string_value(json_object_get(j, "installed"))
		                                                              : "?");
	else
		snprintf(obs, sizeof obs, "the device refused it: HTTP %d, code %s", resp.status,
		         json_string_value(json_object_get(j, "code")) ? json_string_value(json_object_get(j, "code")) : "-");
	if (answer_cap > 0)
		snprintf(answer, answer_cap, "%s", obs);
	json_decref(j);
	step_http(run, item, "info", action, &resp, obs);
	r = resp.status == 200 ? 0 : resp.status >= 400 && resp.status < 500 ? 1 : TORIDE_EPROTO;
	conform_http_resp_free(&resp);
	return r;
}

bool
conform_dev_wait_up(struct conform_run *run, unsigned ms)
{
	uint16_t port;
	if (!conform_use_adapter(run))
		return true;
	if (admin_port(run, &port) != 0)
		return false;
	uint64_t end = conform_now_ms() + ms;
	do {
		int fd = conform_connect(run, port, 1000);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		conform_sleep_ms(200);
	} while (conform_now_ms() < end);
	return false;
}

int
conform_dev_reboot_wait(struct conform_run *run, json_t *item, struct conform_dev_session *s, const char *expect,
                        bool reboot, char *version_out, size_t cap)
{
	unsigned boot_s = run->desc->update_boot_s ? run->desc->update_boot_s : CONFORM_DEFAULT_BOOT_S;
	uint64_t start = conform_now_ms(), end = start + (uint64_t)boot_s * 1000;
	char v[UPD_VERSION_MAX] = "";
	bool confirmed = false;
	if (conform_use_adapter(run) && reboot) {
		struct conform_http_resp resp;
		int r = http_json(run, "POST", "/reboot", s, NULL, UPD_REQ_TIMEOUT_MS, &resp);
		if (r == 0)
			step_http(run, item, "info", "POST /reboot (run the installed firmware)", &resp,
			          resp.status == 202 || resp.status == 200 ? "rebooting" : "reboot refused");
		else
			step(run, item, "error", "POST /reboot", "no answer: %s", toride_strerror(r));
		conform_http_resp_free(&resp);
		conform_sleep_ms(1000);
	}
	while (conform_now_ms() < end) {
		if (!conform_use_adapter(run)) {
			if (conform_dev_version(run, NULL, s, v, sizeof v) == 0 && (expect == NULL || strcmp(v, expect) == 0)) {
				confirmed = true;
				break;
			}
		} else if (conform_dev_wait_up(run, 2000) && conform_dev_login(run, NULL, run->current_password, "", s) ==
		                                       CONFORM_LOGIN_OK) {
			json_t *j = status_json(run, NULL, s);
			const char *jv = json_string_value(json_object_get(j, "version"));
			snprintf(v, sizeof v, "%s", jv != NULL ? jv : "");
			confirmed = jv != NULL && !json_is_true(json_object_get(j, "trial")) &&
			            (expect == NULL || strcmp(v, expect) == 0);
			json_decref(j);
			if (confirmed)
				break;
		}
		conform_sleep_ms(UPD_POLL_MS);
	}
	if (cap > 0)
		snprintf(version_out, cap, "%s", v);
	unsigned took = (unsigned)((conform_now_ms() - start) / 1000);
	if (confirmed)
		step(run, item, "info", "wait for the device to boot", "after %u s it runs version %s (confirmed)", took, v);
	else
		step(run, item, "info", "wait for the device to boot", "after %u s: version %s%s", took,
		     v[0] ? v : "(no answer)", expect != NULL ? ", not the expected one" : " (not confirmed)");
	return confirmed ? 0 : TORIDE_ETIMEOUT;
}

int
conform_dev_open_access(struct conform_run *run, json_t *item)
{
	if (!conform_use_adapter(run)) {
		step(run, item, "info", "access without authentication", "not examined here (no adapter): the access "
		                                                            "check covers every service");
		return TORIDE_EUNSUPPORTED;
	}
	struct conform_http_resp resp;
	int r = http_json(run, "GET", "/status", NULL, NULL, UPD_REQ_TIMEOUT_MS, &resp);
	if (r != 0) {
		step(run, item, "error", "GET /status without a session", "no answer: %s", toride_strerror(r));
		conform_http_resp_free(&resp);
		return r;
	}
	bool open = resp.status >= 200 && resp.status < 300;
	step_http(run, item, open ? "violation" : "ok", "GET /status without a session", &resp,
	          open ? "answered without authentication" : "refused without authentication");
	conform_http_resp_free(&resp);
	return open ? 1 : 0;
}

/* ---- bundles ------------------------------------------------------------------------------------ */

static const char *
work_dir(const struct conform_run *run)
{
	if (run->work_dir != NULL && run->work_dir[0] != '\0')
		return run->work_dir;
	const char *t = getenv("TMPDIR");
	return t != NULL && t[0] != '\0' ? t : "/tmp";
}

static unsigned bundle_seq; /* unique names for the files of one process */

int
conform_bundle_build(struct conform_run *run, json_t *item, const char *target, const char *version, char *out,
                     size_t cap)
{
	char img[4096], num[32];
	unsigned seq = ++bundle_seq;
	snprintf(num, sizeof num, "%ld-%u", (long)getpid(), seq);
	int n = snprintf(img, sizeof img, "%s/conform-fw-%s-%s.img", work_dir(run), version, num);
	int m = snprintf(out, cap, "%s/conform-bundle-%s-%s.tbd", work_dir(run), version, num);
	if (n < 0 || (size_t)n >= sizeof img || m < 0 || (size_t)m >= cap)
		return TORIDE_ETOOBIG;
	char text[512];
	/* The demo firmware of toride-deviced (docs/deviced.md); any image does for other devices. */
	int tl = snprintf(text, sizeof text,
	                  "toride-demo-firmware version=%s selftest=ok\n"
	                  "firmware image built by toride conform for the update check (target %s)\n",
	                  version, target);
	int r = write_file(img, text, (size_t)tl);
	if (r != 0) {
		step(run, item, "error", "build a bundle", "cannot write %s", img);
		return r;
	}
	struct conform_hook h = {.timeout_s = 60};
	snprintf(h.command, sizeof h.command,
	         "{toride} bundle create --key {key} --target {target} --version {version} --image {image} -o {out}");
	const char *names[] = {"toride", "key", "target", "version", "image", "out"};
	const char *values[] = {run->toride_bin != NULL ? run->toride_bin : "toride", run->desc->bundle_key, target,
	                        version, img, out};
	r = conform_hook_run(run, item, &h, names, values, 6, NULL, 0);
	if (r != 0) {
		step(run, item, "error", "build a bundle", "toride bundle create failed (%d)", r);
		return r < 0 ? r : TORIDE_EIO;
	}
	return 0;
}

/* The version a toride bundle declares in its manifest ("" when it is not one). */
static void
bundle_version(const char *path, char *out, size_t cap)
{
	uint8_t head[12 + 4096];
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, head, sizeof head);
	close(fd);
	if (n < 12 || memcmp(head, "TORIDEB1", 8) != 0)
		return;
	uint32_t ml = (uint32_t)head[8] << 24 | (uint32_t)head[9] << 16 | (uint32_t)head[10] << 8 | head[11];
	if (ml == 0 || ml > 4096 || (size_t)n < 12 + ml)
		return;
	const char *m = (const char *)head + 12, *end = m + ml;
	while (m < end) {
		const char *nl = memchr(m, '\n', (size_t)(end - m));
		const char *le = nl != NULL ? nl : end;
		if (le - m > 8 && memcmp(m, "version=", 8) == 0) {
			size_t vl = (size_t)(le - m - 8);
			if (vl < cap) {
				memcpy(out, m + 8, vl);
				out[vl] = '\0';
			}
			return;
		}
		m = le + 1;
	}
}

enum derive { DERIVE_TAMPER, DERIVE_UNSIGN };

/* A bad copy of a good bundle: one image byte (the last) flipped after signing, or the signature
 * bytes zeroed (toride bundles only). */
static int
derive(struct conform_run *run, json_t *item, const char *src, enum derive how, char *out, size_t cap)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r = read_file(src, &data, &len);
	if (r != 0)
		return r;
	int m = snprintf(out, cap, "%s/conform-%s-%ld-%u.tbd", work_dir(run), how == DERIVE_TAMPER ? "tampered" : "unsigned",
	                 (long)getpid(), ++bundle_seq);
	if (m < 0 || (size_t)m >= cap || len < 1) {
		free(data);
		return TORIDE_ETOOBIG;
	}
	if (how == DERIVE_TAMPER) {
		data[len - 1] ^= 0x01;
		step(run, item, "info", "prepare a tampered bundle", "copy of the newer bundle with its last image byte "
		                                                      "flipped after signing");
	} else {
		uint32_t ml = len >= 12 ? (uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 | (uint32_t)data[10] << 8 | data[11]
		                        : 0;
		if (len < 12 || memcmp(data, "TORIDEB1", 8) != 0 || ml == 0 || ml > 4096 || len < 12 + (size_t)ml + 64) {
			free(data);
			out[0] = '\0';
			return TORIDE_EUNSUPPORTED;
		}
		memset(data + 12 + ml, 0, 64);
		step(run, item, "info", "prepare an unsigned bundle", "copy of the newer bundle with its 64 signature "
		                                                       "bytes zeroed");
	}
	r = write_file(out, data, len);
	free(data);
	return r;
}

/* ---- the check ------------------------------------------------------------------------------------ */

struct bad {
	const char *kind, *what;
	char path[4096];
};

int
conform_check_update(struct conform_run *run, json_t *item)
{
	const struct conform_description *d = run->desc;
	struct conform_dev_session s = {{0}};
	char v0[UPD_VERSION_MAX], vnew[UPD_VERSION_MAX] = "", vprev[UPD_VERSION_MAX], vnow[UPD_VERSION_MAX];
	char newer[4096] = "", answer[UPD_ANSWER_MAX];
	bool violation = false, missing = false, inconclusive = false;
	struct bad bad[4] = {
		{"tampered", "a tampered bundle (one image byte flipped after signing)", ""},
		{"unsigned", "an unsigned bundle (signature missing or zeroed)", ""},
		{"wrong_target", "a bundle signed for another target", ""},
		{"older", "an older bundle (version below the running one)", ""},
	};
	if (!conform_use_adapter(run) && (d->update.command[0] == '\0' || d->version.command[0] == '\0')) {
		conform_step(run, item, "error", "description", NULL,
		             "no way to install or to read the version: give the toride-deviced adapter, or the "
		             "update.command and update.version hooks");
		conform_verdict_set(item, CONFORM_UNKNOWN, "The description gives no way to install firmware or read its version.",
		                    "ファームウェアの導入方法またはバージョンの読み取り方法が記述されていません。");
		return 0;
	}
	int r = conform_dev_session(run, item, &s);
	if (r != 0) {
		conform_step(run, item, "error", "log in", NULL, "no credential gives access (%s)",
		             r < 0 ? toride_strerror(r) : "refused");
		conform_verdict_set(item, CONFORM_UNKNOWN, "The examiner could not log in to install firmware.",
		                    "ファームウェア導入のためにログインできませんでした。");
		return 0;
	}
	if ((r = conform_dev_version(run, item, &s, v0, sizeof v0)) != 0) {
		conform_step(run, item, "error", "read the running version", NULL, "%s", toride_strerror(r));
		conform_verdict_set(item, CONFORM_UNKNOWN, "The running firmware version could not be read.",
		                    "稼働中のファームウェアのバージョンを読み取れませんでした。");
		return 0;
	}
	conform_step(run, item, "info", "read the running version", NULL, "version %s", v0);
	json_t *meas = json_object();
	json_object_set_new(meas, "version_before", json_string(v0));
	json_object_set_new(item, "measurements", meas);

	/* The bundles: given in the description, or built with the vendor key. */
	bool can_build = d->bundle_key[0] != '\0' && d->bundle_target[0] != '\0';
	if (d->bundle_newer[0] != '\0') {
		snprintf(newer, sizeof newer, "%s", d->bundle_newer);
		bundle_version(newer, vnew, sizeof vnew);
	} else if (can_build) {
		conform_version_next(v0, vnew, sizeof vnew);
		if (conform_bundle_build(run, item, d->bundle_target, vnew, newer, sizeof newer) != 0)
			newer[0] = '\0';
	}
	if (newer[0] != '\0') {
		if (derive(run, item, newer, DERIVE_TAMPER, bad[0].path, sizeof bad[0].path) != 0)
			bad[0].path[0] = '\0';
		if (d->bundle_unsigned[0] != '\0')
			snprintf(bad[1].path, sizeof bad[1].path, "%s", d->bundle_unsigned);
		else if (derive(run, item, newer, DERIVE_UNSIGN, bad[1].path, sizeof bad[1].path) != 0)
			bad[1].path[0] = '\0';
	}
	if (d->bundle_wrong_target[0] != '\0')
		snprintf(bad[2].path, sizeof bad[2].path, "%s", d->bundle_wrong_target);
	else if (can_build && vnew[0] != '\0') {
		char other[160];
		snprintf(other, sizeof other, "%.120s-other", d->bundle_target);
		if (conform_bundle_build(run, item, other, vnew, bad[2].path, sizeof bad[2].path) != 0)
			bad[2].path[0] = '\0';
	}
	if (d->bundle_older[0] != '\0')
		snprintf(bad[3].path, sizeof bad[3].path, "%s", d->bundle_older);
	else if (can_build) {
		conform_version_prev(v0, vprev, sizeof vprev);
		if (vprev[0] == '\0' || conform_bundle_build(run, item, d->bundle_target, vprev, bad[3].path,
		                                               sizeof bad[3].path) != 0)
			bad[3].path[0] = '\0';
	}

	/* Each bad bundle: refused, and the version stays. */
	for (size_t i = 0; i < 4; i++) {
		if (bad[i].path[0] == '\0') {
			conform_step(run, item, "error", bad[i].what, NULL,
			             "not examined: no %s bundle (give update.bundles.%s, or update.key and update.target)",
			             bad[i].kind, bad[i].kind);
			missing = true;
			continue;
		}
		r = conform_dev_install(run, item, &s, bad[i].path, bad[i].what, answer, sizeof answer);
		if (r == 1) {
			r = conform_dev_version(run, item, &s, vnow, sizeof vnow);
			if (r == 0 && strcmp(vnow, v0) == 0)
				conform_step(run, item, "ok", bad[i].what, answer, "refused; the running version stays %s", vnow);
			else if (r == 0) {
				conform_step(run, item, "violation", bad[i].what, answer,
				             "refused, but the running version changed from %s to %s", v0, vnow);
				violation = true;
			} else {
				inconclusive = true;
			}
		} else if (r == 0) {
			conform_step(run, item, "violation", bad[i].what, answer, "ACCEPTED by the device");
			violation = true;
			/* Let it "run" the way a real install would, and record what the device then reports. */
			conform_dev_reboot_wait(run, item, &s, NULL, true, vnow, sizeof vnow);
			conform_step(run, item, strcmp(vnow, v0) != 0 ? "violation" : "info", bad[i].what, NULL,
			             "after the reboot the device reports version %s (was %s)", vnow[0] ? vnow : "?", v0);
			if (conform_dev_session(run, item, &s) != 0)
				inconclusive = true;
		} else {
			inconclusive = true;
		}
	}

	/* The correctly signed newer one installs, and after the reboot the version is the new one. */
	if (newer[0] == '\0') {
		conform_step(run, item, "error", "install a correctly signed newer bundle", NULL,
		             "not examined: no newer bundle (give update.bundles.newer, or update.key and update.target)");
		missing = true;
	} else {
		r = conform_dev_install(run, item, &s, newer, "the correctly signed newer bundle", answer, sizeof answer);
		if (r == 0) {
			r = conform_dev_reboot_wait(run, item, &s, vnew[0] ? vnew : NULL, true, vnow, sizeof vnow);
			bool changed = vnew[0] ? strcmp(vnow, vnew) == 0 : vnow[0] != '\0' && strcmp(vnow, v0) != 0;
			if (r == 0 && changed) {
				conform_step(run, item, "ok", "the correctly signed newer bundle", answer,
				             "installed; the device now reports version %s (was %s)", vnow, v0);
			} else {
				conform_step(run, item, "violation", "the correctly signed newer bundle", answer,
				             "accepted, but the device reports version %s after the reboot (expected %s)",
				             vnow[0] ? vnow : "?", vnew[0] ? vnew : "a new one");
				violation = true;
			}
			json_object_set_new(meas, "version_after", json_string(vnow));
		} else if (r == 1) {
			conform_step(run, item, "violation", "the correctly signed newer bundle", answer,
			             "REFUSED: a correctly signed newer firmware cannot be installed");
			violation = true;
		} else {
			inconclusive = true;
		}
	}
	if (violation)
		conform_verdict_set(item, CONFORM_FAIL,
		                    "A bad firmware bundle was accepted, or the correctly signed newer one did not install.",
		                    "不正なファームウェアが受け入れられた、または正しく署名された新しいファームウェアを導入できませんでした。");
	else if (missing || inconclusive)
		conform_verdict_set(item, CONFORM_UNKNOWN,
		                    "Not every bundle could be examined (see the steps).",
		                    "一部のファームウェアを検査できませんでした（手順を参照）。");
	else
		conform_verdict_set(item, CONFORM_PASS,
		                    "The signed newer firmware installed and the version changed; tampered, unsigned, "
		                    "wrongly targeted and older bundles were refused.",
		                    "正しく署名された新しいファームウェアが導入されバージョンが変わり、改ざん・無署名・対象違い・"
		                    "旧版は拒否されました。");
	return 0;
}
