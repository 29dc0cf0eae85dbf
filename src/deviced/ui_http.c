/*
 * HTTP admin interface of toride-deviced. One request per connection (Connection: close), heads
 * parsed by the project's bounded parser (src/proto/http.h), bodies only with Content-Length and
 * capped. Sessions are a same-origin cookie (HttpOnly, SameSite=Strict); POSTs carrying a foreign
 * Origin are refused. Access control comes first: every route but the login form and POST /login
 * passes toride_dev_session_check() before anything else happens, and POST /update streams the
 * body into toride_dev_update_feed() as it arrives (never buffered whole).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "deviced/deviced.h"
#include "proto/form.h"
#include "proto/http.h"

/* Login, password and settings forms are well under 1 KiB; 8 KiB caps a hostile body. */
#define HUI_MAX_FORM (8 * 1024)
/* Time to send a request (head and form body); reset by each read while a bundle streams. */
#define HUI_TIMEOUT_MS (15 * 1000)
/* Shortest answer to a failed login (the library's delay is added when it is longer). */
#define HUI_FAIL_DELAY_MS 300
/* Longest field values we accept from forms. */
#define HUI_MAX_PW 160

enum hui_state { H_HEAD, H_BODY, H_UPDATE, H_DRAIN, H_DONE };

enum hui_route {
	R_NONE,
	R_LOGIN,
	R_PASSWORD,
	R_CONFIG,
	R_REBOOT,
	R_LOGOUT,
	R_UPDATE,
};

struct hui {
	struct toride_http_msg *msg;
	struct toride_buf head, body;
	enum hui_state state;
	enum hui_route route;
	uint64_t clen, got;
	bool json;                          /* request body is JSON (else a form) */
	char token[TORIDE_DEV_TOKEN_LEN + 1];
	struct toride_dev_update *upd;
	int upd_err;                        /* first install error while draining */
	char *delayed;                      /* a response waiting for its delay */
	size_t delayed_len;
	uint8_t *fhead;                     /* accept-unsigned fault: the bundle's first bytes */
	size_t fhead_len;
};

static struct hui *
ui(struct devd_conn *c)
{
	return c->ui;
}

int
devd_http_open(struct devd_conn *c)
{
	struct hui *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -1;
	c->ui = h;
	toride_buf_init(&h->head, TORIDE_HTTP_MAX_HEAD);
	toride_buf_init(&h->body, HUI_MAX_FORM);
	if (toride_http_msg_new(&h->msg, 0) != 0)
		return -1;
	devd_conn_timer(c, HUI_TIMEOUT_MS, NULL);
	return 0;
}

void
devd_http_free(struct devd_conn *c)
{
	struct hui *h = ui(c);
	if (h == NULL)
		return;
	if (h->upd != NULL)
		toride_dev_update_abort(h->upd);
	toride_http_msg_free(h->msg);
	toride_buf_free(&h->head);
	if (h->body.data != NULL)
		sodium_memzero(h->body.data, h->body.cap);
	toride_buf_free(&h->body);
	free(h->delayed);
	free(h->fhead);
	sodium_memzero(h->token, sizeof(h->token));
	free(h);
	c->ui = NULL;
}

/* ---- responses ---------------------------------------------------------------------------- */

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* Builds a whole response; extra = complete header lines (CRLF each) or NULL. */
static char *
build(int status, const char *ctype, const char *body, const char *extra, size_t *len)
{
	char *out = NULL;
	size_t blen = body != NULL ? strlen(body) : 0;
	int n = asprintf(&out,
	                 "HTTP/1.1 %d %s\r\n"
	                 "Server: toride-deviced\r\n"
	                 "Content-Type: %s\r\n"
	                 "Content-Length: %zu\r\n"
	                 "Connection: close\r\n"
	                 "Cache-Control: no-store\r\n"
	                 "X-Content-Type-Options: nosniff\r\n"
	                 "X-Frame-Options: DENY\r\n"
	                 "Referrer-Policy: no-referrer\r\n"
	                 "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
	                 "form-action 'self'; frame-ancestors 'none'\r\n"
	                 "%s\r\n%s",
	                 status, reason(status), ctype, blen, extra != NULL ? extra : "", body != NULL ? body : "");
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

static void
respond(struct devd_conn *c, int status, const char *ctype, const char *body, const char *extra)
{
	struct hui *h = ui(c);
	size_t len = 0;
	char *out = build(status, ctype, body, extra, &len);
	h->state = H_DONE;
	if (out != NULL) {
		devd_conn_write(c, out, len);
		free(out);
	}
	devd_conn_close(c);
}

static void
respond_json(struct devd_conn *c, int status, json_t *o, const char *extra)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	respond(c, status, "application/json", s != NULL ? s : "{}", extra);
	free(s);
}

static void
respond_error(struct devd_conn *c, int status, const char *msg, const char *extra)
{
	respond_json(c, status, json_pack("{s:s}", "error", msg), extra);
}

static void
delayed_cb(struct devd_conn *c)
{
	struct hui *h = ui(c);
	if (h == NULL || h->delayed == NULL)
		return;
	devd_conn_write(c, h->delayed, h->delayed_len);
	free(h->delayed);
	h->delayed = NULL;
	devd_conn_close(c);
}

/* A response sent only after delay_ms (a failed login is not answered faster). */
static void
respond_later(struct devd_conn *c, uint64_t delay_ms, int status, json_t *o, const char *extra)
{
	struct hui *h = ui(c);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	h->delayed = build(status, "application/json", s != NULL ? s : "{}", extra, &h->delayed_len);
	free(s);
	h->state = H_DONE;
	if (h->delayed == NULL) {
		devd_conn_close(c);
		return;
	}
	devd_conn_timer(c, delay_ms, delayed_cb);
}

/* ---- pages -------------------------------------------------------------------------------- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>"
    "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}label{display:block;margin:.5em 0}"
    "</style></head><body>\n<h1>%s</h1>\n";

static void
page_login(struct devd_conn *c)
{
	char *body = NULL;
	char host[64];
	devd_setting_value(c->d, devd_setting_find("hostname"), host, sizeof(host));
	char head[sizeof(page_head) + 160];
	snprintf(head, sizeof(head), page_head, "Device Login", "Device Login");
	if (asprintf(&body,
	             "%s<p>%s (%s). Authorized access only.</p>\n"
	             "<form method=\"post\" action=\"/login\">\n"
	             "<label>User name <input type=\"text\" name=\"user\" autocomplete=\"username\"></label>\n"
	             "<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\">"
	             "</label>\n<input type=\"submit\" value=\"Log in\">\n</form>\n</body></html>\n",
	             head, host, c->d->id.target) < 0)
		body = NULL;
	respond(c, 200, "text/html; charset=utf-8", body != NULL ? body : "", NULL);
	free(body);
}

static void
page_password(struct devd_conn *c, bool forced)
{
	char *body = NULL;
	char head[sizeof(page_head) + 160];
	snprintf(head, sizeof(head), page_head, "Change Password", "Change Password");
	if (asprintf(&body,
	             "%s%s<form method=\"post\" action=\"/password\">\n"
	             "<label>Current password <input type=\"password\" name=\"old\" autocomplete=\"current-password\">"
	             "</label>\n"
	             "<label>New password <input type=\"password\" name=\"new\" autocomplete=\"new-password\"></label>\n"
	             "<label>Retype new password <input type=\"password\" name=\"new2\" autocomplete=\"new-password\">"
	             "</label>\n<input type=\"submit\" value=\"Change\">\n</form>\n</body></html>\n",
	             head,
	             forced ? "<p>This device still uses its factory default password. It must be changed before "
	                      "anything else can be done.</p>\n"
	                    : "") < 0)
		body = NULL;
	respond(c, 200, "text/html; charset=utf-8", body != NULL ? body : "", NULL);
	free(body);
}

static void
page_home(struct devd_conn *c)
{
	char *status = devd_status_text(c->d);
	char *body = NULL;
	char head[sizeof(page_head) + 160];
	snprintf(head, sizeof(head), page_head, "Device Status", "Device Status");
	if (asprintf(&body,
	             "%s<pre>%s</pre>\n<p><a href=\"/status\">status (JSON)</a> | <a href=\"/config\">settings "
	             "(JSON)</a> | <a href=\"/password\">change password</a></p>\n"
	             "<form method=\"post\" action=\"/logout\"><input type=\"submit\" value=\"Log out\"></form>\n"
	             "</body></html>\n",
	             head, status != NULL ? status : "") < 0)
		body = NULL;
	free(status);
	respond(c, 200, "text/html; charset=utf-8", body != NULL ? body : "", NULL);
	free(body);
}

/* ---- access control ----------------------------------------------------------------------- */

/* Returns true when the session may do op; otherwise answers 401/403 and returns false. */
static bool
allowed(struct devd_conn *c, enum toride_dev_op op)
{
	struct hui *h = ui(c);
	if (h->token[0] == '\0') {
		respond_json(c, 401, json_pack("{s:s, s:s}", "error", "login required", "login", "/"), NULL);
		return false;
	}
	int r = toride_dev_session_check(c->d->dev, h->token, op, NULL);
	if (r == 0)
		return true;
	if (r == TORIDE_DEV_EMUSTCHANGE) {
		respond_json(c, 403,
		             json_pack("{s:s, s:s}", "error", "the factory password must be changed first",
		                       "change_password", "/password"),
		             "Link: </password>; rel=\"password-change\"\r\n");
		return false;
	}
	/* Distinguish an expired/unknown session from a role that may not do op. */
	if (toride_dev_session_check(c->d->dev, h->token, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD, NULL) != 0) {
		respond_json(c, 401, json_pack("{s:s, s:s}", "error", "session expired or unknown", "login", "/"),
		             NULL);
		return false;
	}
	respond_error(c, 403, "permission denied", NULL);
	return false;
}

/* A field of the request body (form or JSON) into out; false if missing or malformed. */
static bool
field(struct hui *h, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	if (!h->json)
		return toride_form_get((const char *)h->body.data, h->body.len, name, out, cap) == 0;
	json_error_t err;
	json_t *o = json_loadb((const char *)h->body.data, h->body.len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL)
		return false;
	const char *v = json_string_value(json_object_get(o, name));
	bool ok = v != NULL && strlen(v) < cap && strlen(v) == json_string_length(json_object_get(o, name));
	if (ok) {
		for (const char *p = v; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				ok = false;
	}
	if (ok)
		snprintf(out, cap, "%s", v);
	json_decref(o);
	return ok;
}

/* ---- handlers ----------------------------------------------------------------------------- */

static void
do_login(struct devd_conn *c)
{
	struct hui *h = ui(c);
	char user[TORIDE_DEV_MAX_USER + 1], pw[HUI_MAX_PW];
	struct toride_dev_login_result res;
	if (!field(h, "user", user, sizeof(user)) || !field(h, "password", pw, sizeof(pw))) {
		sodium_memzero(pw, sizeof(pw));
		respond_error(c, 400, "user and password required", NULL);
		return;
	}
	int r = devd_fault_login(c->d, c->peer, user, pw, &res);
	sodium_memzero(pw, sizeof(pw));
	if (r == 0) {
		char extra[256];
		devd_log("http: %s logged in from %s%s", user, c->peer, res.must_change ? " (must change password)" : "");
		snprintf(extra, sizeof(extra), "Set-Cookie: session=%s; HttpOnly; SameSite=Strict; Path=/\r\n%s", res.token,
		         h->json ? "" : res.must_change ? "Location: /password\r\n" : "Location: /\r\n");
		bool must = res.must_change;
		sodium_memzero(&res, sizeof(res));
		if (h->json)
			respond_json(c, 200, json_pack("{s:b, s:b}", "ok", 1, "must_change", must), extra);
		else
			respond(c, 303, "text/plain", must ? "password change required\n" : "logged in\n", extra);
		sodium_memzero(extra, sizeof(extra));
		return;
	}
	char extra[64] = "";
	if (res.retry_after_ms > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", (res.retry_after_ms + 999) / 1000);
	if (r == TORIDE_DEV_ETHROTTLED) {
		devd_log("http: login for %s from %s throttled (%u ms)", user, c->peer, res.retry_after_ms);
		respond_json(c, 429,
		             json_pack("{s:s, s:i}", "error", "too many failed logins", "retry_after_ms",
		                       (int)res.retry_after_ms),
		             extra);
		return;
	}
	if (r == TORIDE_DEV_EDENIED) {
		devd_log("http: failed login for %s from %s", user, c->peer);
		uint64_t delay = res.retry_after_ms > HUI_FAIL_DELAY_MS ? res.retry_after_ms : HUI_FAIL_DELAY_MS;
		respond_later(c, delay, 401, json_pack("{s:s}", "error", "login incorrect"), extra);
		return;
	}
	respond_error(c, 503, toride_dev_strerror(r), NULL);
}

static void
do_password(struct devd_conn *c)
{
	struct hui *h = ui(c);
	char oldpw[HUI_MAX_PW], newpw[HUI_MAX_PW], new2[HUI_MAX_PW], why[256] = "";
	if (!allowed(c, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD))
		return;
	if (!field(h, "old", oldpw, sizeof(oldpw)) || !field(h, "new", newpw, sizeof(newpw))) {
		respond_error(c, 400, "old and new password required", NULL);
		goto out;
	}
	if (field(h, "new2", new2, sizeof(new2)) && strcmp(new2, newpw) != 0) {
		respond_error(c, 400, "the new passwords do not match", NULL);
		goto out;
	}
	char real_old[DEVD_FAULT_PW_MAX];
	int r = toride_dev_change_password(c->d->dev, h->token,
	                                   devd_fault_old_password(c->d, oldpw, real_old, sizeof(real_old)), newpw, why,
	                                   sizeof(why));
	sodium_memzero(real_old, sizeof(real_old));
	if (r == 0) {
		devd_fault_password_changed(c->d, newpw);
		devd_log("http: password changed from %s", c->peer);
		if (h->json)
			respond_json(c, 200, json_pack("{s:b}", "ok", 1), NULL);
		else
			respond(c, 303, "text/plain", "password changed\n", "Location: /\r\n");
	} else if (r == TORIDE_DEV_EPOLICY) {
		respond_json(c, 400, json_pack("{s:s, s:s}", "error", "password refused by the policy", "reason", why),
		             NULL);
	} else if (r == TORIDE_DEV_EDENIED) {
		respond_error(c, 403, "current password incorrect", NULL);
	} else if (r == TORIDE_DEV_ETHROTTLED) {
		respond_error(c, 429, toride_dev_strerror(r), NULL);
	} else {
		respond_error(c, 500, toride_dev_strerror(r), NULL);
	}
out:
	sodium_memzero(oldpw, sizeof(oldpw));
	sodium_memzero(newpw, sizeof(newpw));
	sodium_memzero(new2, sizeof(new2));
}

static json_t *
config_json(struct devd_conn *c)
{
	json_t *o = json_object();
	char v[TORIDE_DEV_MAX_VALUE + 1];
	for (const struct devd_setting *s = devd_settings; s->key != NULL && o != NULL; s++) {
		devd_setting_value(c->d, s, v, sizeof(v));
		json_object_set_new(o, s->key, json_string(v));
	}
	return o;
}

static void
do_config_set(struct devd_conn *c)
{
	struct hui *h = ui(c);
	const char *keys[16], *vals[16];
	char store[16][TORIDE_DEV_MAX_VALUE + 1];
	size_t n = 0;
	if (!allowed(c, TORIDE_DEV_OP_CONFIG_WRITE))
		return;
	for (const struct devd_setting *s = devd_settings; s->key != NULL && n < 16; s++) {
		if (!field(h, s->key, store[n], sizeof(store[n])))
			continue;
		if (!s->valid(store[n])) {
			char msg[160];
			snprintf(msg, sizeof(msg), "invalid value for %s: %s", s->key, s->help);
			respond_error(c, 400, msg, NULL);
			return;
		}
		keys[n] = s->key;
		vals[n] = store[n];
		n++;
	}
	if (n == 0) {
		respond_error(c, 400, "no known setting in the request (see GET /config)", NULL);
		return;
	}
	/* One durable write for the whole form: after a power cut, all of it or none of it. */
	int r = toride_dev_config_set(c->d->dev, h->token, keys, vals, n);
	if (r != 0) {
		respond_error(c, 500, toride_dev_strerror(r), NULL);
		return;
	}
	devd_log("http: %zu setting(s) changed from %s", n, c->peer);
	respond_json(c, 200, config_json(c), NULL);
}

static const char *
update_code(int r)
{
	switch (r) {
	case TORIDE_DEV_ESIGNATURE: return "signature";
	case TORIDE_DEV_ETARGET: return "target";
	case TORIDE_DEV_EDOWNGRADE: return "downgrade";
	case TORIDE_DEV_EFORMAT: return "format";
	case TORIDE_DEV_EHASH: return "hash";
	case TORIDE_DEV_EBUSY: return "busy";
	case TORIDE_DEV_ETOOBIG: return "too-big";
	default: return "error";
	}
}

static void
update_result(struct devd_conn *c, int r, const struct toride_dev_bundle_info *info)
{
	if (r == 0) {
		devd_log("http: installed %s from %s; reboot to run it", info->version, c->peer);
		snprintf(c->d->last_update, sizeof(c->d->last_update), "installed %s (web)", info->version);
		respond_json(c, 200,
		             json_pack("{s:s, s:s, s:b}", "installed", info->version, "next",
		                       "POST /reboot to run it on trial", "reboot_required", 1),
		             NULL);
		return;
	}
	devd_log("http: update from %s refused: %s", c->peer, toride_dev_strerror(r));
	snprintf(c->d->last_update, sizeof(c->d->last_update), "refused: %s", toride_dev_strerror(r));
	int status = r == TORIDE_DEV_EDOWNGRADE || r == TORIDE_DEV_EBUSY ? 409 : r == TORIDE_DEV_ETOOBIG ? 413
	             : r == TORIDE_DEV_EIO || r == TORIDE_DEV_ENOMEM                                  ? 500
	                                                                                               : 400;
	respond_json(c, status,
	             json_pack("{s:s, s:s}", "error", toride_dev_strerror(r), "code", update_code(r)), NULL);
}

/* Bundle bytes as they arrive; after a refusal the rest is read and dropped so the client
 * gets the answer instead of a reset. */
static void
update_bytes(struct devd_conn *c, const uint8_t *p, size_t n)
{
	struct hui *h = ui(c);
	if (n > h->clen - h->got)
		n = (size_t)(h->clen - h->got); /* bytes past the body: ignored (one request) */
	h->got += n;
	if ((c->d->fault.mask & DEVD_FAULT_ACCEPT_UNSIGNED) && h->fhead != NULL && h->fhead_len < DEVD_FAULT_HEAD_MAX) {
		size_t k = DEVD_FAULT_HEAD_MAX - h->fhead_len < n ? DEVD_FAULT_HEAD_MAX - h->fhead_len : n;
		memcpy(h->fhead + h->fhead_len, p, k);
		h->fhead_len += k;
	}
	if (h->state == H_UPDATE && n > 0) {
		int r = toride_dev_update_feed(h->upd, p, n);
		if (r != 0) {
			toride_dev_update_abort(h->upd);
			h->upd = NULL;
			h->upd_err = r;
			h->state = H_DRAIN;
		}
	}
	if (h->got < h->clen)
		return;
	struct toride_dev_bundle_info info;
	int r = h->upd_err;
	if (h->state != H_DRAIN) {
		r = toride_dev_update_finish(h->upd, &info);
		h->upd = NULL;
		if (r == 0)
			c->d->fault.fw_override[0] = '\0'; /* verified firmware replaces what ran before */
	}
	if ((r == TORIDE_DEV_ESIGNATURE || r == TORIDE_DEV_EHASH) && (c->d->fault.mask & DEVD_FAULT_ACCEPT_UNSIGNED) &&
	    devd_fault_declared_version(h->fhead, h->fhead_len, info.version, sizeof(info.version)) == 0) {
		/* The fault: a bundle that does not verify "runs" anyway (what the manifest claims). */
		devd_log("fault: accepting an unverified bundle (%s) as firmware %s", toride_dev_strerror(r), info.version);
		snprintf(c->d->fault.fw_override, sizeof(c->d->fault.fw_override), "%s", info.version);
		r = 0;
	}
	update_result(c, r, r == 0 ? &info : NULL);
}

static void
start_update(struct devd_conn *c)
{
	struct hui *h = ui(c);
	if (!allowed(c, TORIDE_DEV_OP_UPDATE))
		return;
	int r = toride_dev_update_begin(c->d->dev, h->token, &h->upd);
	if (r != 0) {
		h->upd = NULL;
		update_result(c, r, NULL);
		return;
	}
	h->state = H_UPDATE;
	if (c->d->fault.mask & DEVD_FAULT_ACCEPT_UNSIGNED)
		h->fhead = malloc(DEVD_FAULT_HEAD_MAX);
	devd_log("http: receiving a %llu-byte bundle from %s", (unsigned long long)h->clen, c->peer);
}

/* ---- request dispatch --------------------------------------------------------------------- */

static bool
same_origin(struct hui *h)
{
	const char *origin = toride_http_msg_header(h->msg, "Origin", 0);
	const char *host = toride_http_msg_header(h->msg, "Host", 0);
	if (origin == NULL)
		return true; /* non-browser clients; browsers send Origin on POST */
	if (host == NULL)
		return false;
	const char *o = origin;
	if (strncasecmp(o, "http://", 7) == 0)
		o += 7;
	else if (strncasecmp(o, "https://", 8) == 0)
		o += 8;
	else
		return false;
	return strcasecmp(o, host) == 0;
}

/* Body complete (or none): run the route. */
static void
run_route(struct devd_conn *c)
{
	struct hui *h = ui(c);
	switch (h->route) {
	case R_LOGIN: do_login(c); break;
	case R_PASSWORD: do_password(c); break;
	case R_CONFIG: do_config_set(c); break;
	case R_REBOOT:
		if (allowed(c, TORIDE_DEV_OP_REBOOT)) {
			devd_log("http: reboot requested from %s", c->peer);
			respond_json(c, 202, json_pack("{s:b}", "rebooting", 1), NULL);
			devd_reboot_later(c->d, 300);
		}
		break;
	case R_LOGOUT:
		if (h->token[0] != '\0')
			toride_dev_session_end(c->d->dev, h->token);
		respond_json(c, 200, json_pack("{s:b}", "ok", 1),
		             "Set-Cookie: session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\r\n");
		break;
	default: respond_error(c, 404, "not found", NULL); break;
	}
}

static bool
parse_length(const char *s, uint64_t *out)
{
	if (s == NULL || *s == '\0')
		return false;
	uint64_t v = 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || v > UINT64_MAX / 10 - 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static void
on_head(struct devd_conn *c, const uint8_t *rest, size_t rest_len)
{
	struct hui *h = ui(c);
	const char *method = toride_http_msg_method(h->msg);
	char path[256];
	snprintf(path, sizeof(path), "%s", toride_http_msg_target(h->msg));
	path[strcspn(path, "?#")] = '\0';
	const char *cookie = toride_http_msg_header(h->msg, "Cookie", 0);
	if (cookie == NULL || toride_cookie_get(cookie, "session", h->token, sizeof(h->token)) != 0)
		h->token[0] = '\0';
	const char *ctype = toride_http_msg_header(h->msg, "Content-Type", 0);
	h->json = ctype != NULL && strncasecmp(ctype, "application/json", 16) == 0;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;

	if (get) {
		if (strcmp(path, "/") == 0) {
			if (h->token[0] == '\0' ||
			    toride_dev_session_check(c->d->dev, h->token, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD, NULL) != 0) {
				page_login(c);
				return;
			}
			int r = toride_dev_session_check(c->d->dev, h->token, TORIDE_DEV_OP_STATUS, NULL);
			if (r == TORIDE_DEV_EMUSTCHANGE)
				page_password(c, true);
			else if (r == 0)
				page_home(c);
			else
				respond_error(c, 403, "permission denied", NULL);
			return;
		}
		if (strcmp(path, "/password") == 0) {
			if (allowed(c, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD))
				page_password(c, toride_dev_session_check(c->d->dev, h->token, TORIDE_DEV_OP_STATUS, NULL) ==
				                     TORIDE_DEV_EMUSTCHANGE);
			return;
		}
		if (strcmp(path, "/status") == 0) {
			if (allowed(c, TORIDE_DEV_OP_STATUS)) {
				char *s = devd_status_json(c->d);
				respond(c, s != NULL ? 200 : 500, "application/json", s != NULL ? s : "{}", NULL);
				free(s);
			}
			return;
		}
		if (strcmp(path, "/config") == 0) {
			if (allowed(c, TORIDE_DEV_OP_CONFIG_READ))
				respond_json(c, 200, config_json(c), NULL);
			return;
		}
		if (strcmp(path, "/login") == 0) {
			page_login(c);
			return;
		}
		respond_error(c, 404, "not found", NULL);
		return;
	}
	static const struct {
		const char *path;
		enum hui_route route;
	} posts[] = {
		{ "/login", R_LOGIN }, { "/password", R_PASSWORD }, { "/config", R_CONFIG },
		{ "/reboot", R_REBOOT }, { "/logout", R_LOGOUT }, { "/update", R_UPDATE },
	};
	h->route = R_NONE;
	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
		if (strcmp(path, posts[i].path) == 0)
			h->route = posts[i].route;
	if (h->route == R_NONE) {
		respond_error(c, 404, "not found", NULL);
		return;
	}
	if (!post) {
		respond_error(c, 405, "method not allowed", "Allow: POST\r\n");
		return;
	}
	if (!same_origin(h)) {
		respond_error(c, 403, "cross-origin request refused", NULL);
		return;
	}
	if (toride_http_msg_header(h->msg, "Transfer-Encoding", 0) != NULL) {
		respond_error(c, 411, "Content-Length required (no chunked bodies)", NULL);
		return;
	}
	const char *cl = toride_http_msg_header(h->msg, "Content-Length", 0);
	if (cl == NULL) {
		h->clen = 0;
		if (h->route == R_UPDATE) {
			respond_error(c, 411, "Content-Length required", NULL);
			return;
		}
	} else if (!parse_length(cl, &h->clen)) {
		respond_error(c, 400, "bad Content-Length", NULL);
		return;
	}
	if (h->route == R_UPDATE) {
		if (h->clen > DEVD_MAX_BUNDLE) {
			respond_error(c, 413, "bundle larger than this device accepts", NULL);
			return;
		}
		start_update(c); /* access check before a single body byte is looked at */
		if (h->state == H_UPDATE)
			update_bytes(c, rest, rest_len);
		return;
	}
	if (h->clen > HUI_MAX_FORM) {
		respond_error(c, 413, "request body too large", NULL);
		return;
	}
	h->state = H_BODY;
	size_t take = rest_len < h->clen ? rest_len : (size_t)h->clen;
	if (toride_buf_append(&h->body, rest, take) != 0) {
		respond_error(c, 413, "request body too large", NULL);
		return;
	}
	if (h->body.len == h->clen)
		run_route(c);
}

/* Finds the end of the head (CRLF CRLF, or LF LF as the parser also accepts). */
static size_t
head_end(const uint8_t *p, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i >= 1 && p[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

void
devd_http_input(struct devd_conn *c, const uint8_t *p, size_t n)
{
	struct hui *h = ui(c);
	switch (h->state) {
	case H_HEAD: {
		size_t before = h->head.len;
		if (toride_buf_append(&h->head, p, n) != 0) {
			respond_error(c, 431, "request head too large", NULL);
			return;
		}
		size_t end = head_end(h->head.data, h->head.len, before > 3 ? before - 3 : 0);
		if (end == 0)
			return;
		size_t used = 0;
		int r = toride_http_msg_parse(h->msg, h->head.data, end, &used);
		if ((r != 0 && r != TORIDE_EINCOMPLETE) || !toride_http_msg_head_done(h->msg) ||
		    toride_http_msg_is_rtsp(h->msg)) {
			respond_error(c, 400, "malformed request", NULL);
			return;
		}
		on_head(c, h->head.data + end, h->head.len - end);
		return;
	}
	case H_BODY: {
		size_t take = n < h->clen - h->body.len ? n : (size_t)(h->clen - h->body.len);
		if (toride_buf_append(&h->body, p, take) != 0) {
			respond_error(c, 413, "request body too large", NULL);
			return;
		}
		if (h->body.len == h->clen)
			run_route(c);
		return;
	}
	case H_UPDATE:
	case H_DRAIN:
		devd_conn_timer(c, HUI_TIMEOUT_MS, NULL);
		update_bytes(c, p, n);
		return;
	case H_DONE:
		return;
	}
}
