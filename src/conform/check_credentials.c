/*
 * credentials (JP-34-10-2 / S1.1-02, S1.1-03). After a factory reset, by the declared scheme:
 *  forced-change: the factory credential logs in on each password service but leads only to the
 *    change (telnet: the change prompt is observed and an `echo` marker sent there is NOT run;
 *    adapter toride-deviced: the login answers must_change and /status answers 403); then the
 *    examiner changes it to a fresh random strong password (adapter, change_password hook, or the
 *    telnet change prompt) and checks the old one fails and the new one works;
 *  unique: the two units' passwords differ, are on no known list, and the credential can be changed;
 *  key-only: no SSH service offers password or keyboard-interactive, no other password service;
 *  factory-default / none: non-compliant by declaration; fail with the evidence.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conform/conform_int.h"
#include "core/error.h"

/* Why 15 s: an admin API answers a login within its failure delay (deviced: <= 1 s with the lab
 * throttle, Argon2id ~50 ms); longer is a dead device. */
#define CRED_HTTP_TIMEOUT_MS 15000

struct cred_ctx {
	struct conform_run *run;
	json_t *item;
	bool violation, unknown;
	char why[512], why_ja[512];
};

static void
note_unknown(struct cred_ctx *c, const char *why, const char *why_ja)
{
	if (!c->unknown && !c->violation) {
		snprintf(c->why, sizeof c->why, "%s", why);
		snprintf(c->why_ja, sizeof c->why_ja, "%s", why_ja);
	}
	c->unknown = true;
}

static void
note_violation(struct cred_ctx *c, const char *why, const char *why_ja)
{
	if (!c->violation) {
		snprintf(c->why, sizeof c->why, "%s", why);
		snprintf(c->why_ja, sizeof c->why_ja, "%s", why_ja);
	}
	c->violation = true;
}

/* ---- toride-deviced HTTP adapter ---- */

/* POST /login (JSON). Returns the HTTP status (0 on no answer); fills the session cookie and
 * must_change. */
static int
adapter_login(struct cred_ctx *c, uint16_t port, const char *pass, char *cookie, size_t cookie_cap, bool *must_change,
              const char *label)
{
	struct conform_run *run = c->run;
	json_t *b = json_pack("{s:s, s:s}", "user", run->desc->user, "password", pass);
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	struct conform_http_resp resp;
	char action[256];
	snprintf(action, sizeof action, "HTTP POST http://%s:%u/login as %s with the %s password", run->desc->address_text,
	         port, run->desc->user, label);
	int r = conform_http(run, port, "POST", "/login", NULL, "application/json", body, body ? strlen(body) : 0,
	                     CRED_HTTP_TIMEOUT_MS, &resp);
	free(body);
	*must_change = false;
	if (cookie_cap > 0)
		cookie[0] = '\0';
	if (r != 0) {
		conform_step(run, c->item, "error", action, NULL, "no answer: %s", toride_strerror(r));
		conform_http_resp_free(&resp);
		return 0;
	}
	const char *bs = "";
	toride_buf_cstr(&resp.body, &bs);
	json_t *j = json_loadb((const char *)resp.body.data ? (const char *)resp.body.data : "", resp.body.len, 0, NULL);
	*must_change = json_is_true(json_object_get(j, "must_change"));
	json_decref(j);
	char sc[512];
	if (conform_http_header(&resp, "Set-Cookie", sc, sizeof sc) == 0) {
		size_t n = strcspn(sc, ";");
		if (n < cookie_cap) {
			memcpy(cookie, sc, n);
			cookie[n] = '\0';
		}
	}
	char *ev = conform_evidence(resp.body.data ? resp.body.data : (const uint8_t *)"", resp.body.len);
	conform_step(run, c->item, "info", action, ev, "HTTP %d%s", resp.status,
	             resp.status == 200 ? (*must_change ? ", must_change: true" : ", logged in") : "");
	free(ev);
	(void)bs;
	int st = resp.status;
	conform_http_resp_free(&resp);
	return st;
}

static int
adapter_get(struct cred_ctx *c, uint16_t port, const char *path, const char *cookie)
{
	char hdr[600], action[256];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", cookie);
	snprintf(action, sizeof action, "HTTP GET http://%s:%u%s with the session", c->run->desc->address_text, port, path);
	struct conform_http_resp resp;
	int r = conform_http(c->run, port, "GET", path, hdr, NULL, NULL, 0, CRED_HTTP_TIMEOUT_MS, &resp);
	int st = r == 0 ? resp.status : 0;
	char *ev = r == 0 ? conform_evidence(resp.body.data ? resp.body.data : (const uint8_t *)"", resp.body.len) : NULL;
	conform_step(c->run, c->item, r == 0 ? "info" : "error", action, ev, r == 0 ? "HTTP %d" : "no answer (%d)",
	             r == 0 ? st : r);
	free(ev);
	conform_http_resp_free(&resp);
	return st;
}

static int
adapter_change(struct cred_ctx *c, uint16_t port, const char *cookie, const char *old, const char *new)
{
	char hdr[600], action[256];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", cookie);
	snprintf(action, sizeof action, "HTTP POST http://%s:%u/password (old -> a fresh random password)",
	         c->run->desc->address_text, port);
	json_t *b = json_pack("{s:s, s:s, s:s}", "old", old, "new", new, "new2", new);
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	struct conform_http_resp resp;
	int r = conform_http(c->run, port, "POST", "/password", hdr, "application/json", body, body ? strlen(body) : 0,
	                     CRED_HTTP_TIMEOUT_MS, &resp);
	free(body);
	int st = r == 0 ? resp.status : 0;
	char *ev = r == 0 ? conform_evidence(resp.body.data ? resp.body.data : (const uint8_t *)"", resp.body.len) : NULL;
	conform_step(c->run, c->item, st == 200 ? "ok" : "error", action, ev, r == 0 ? "HTTP %d" : "no answer (%d)",
	             r == 0 ? st : r);
	free(ev);
	conform_http_resp_free(&resp);
	return st == 200 ? 0 : TORIDE_EPROTO;
}

/* ---- telnet ---- */

/* Log in over telnet; record the step. Returns conform_telnet_login's result. */
static int
telnet_try(struct cred_ctx *c, uint16_t port, const char *pass, const char *label, bool expect_ok,
           struct conform_tn **keep)
{
	char action[256], detail[256];
	char *ev = NULL;
	snprintf(action, sizeof action, "telnet %s:%u login as %s with the %s password", c->run->desc->address_text, port,
	         c->run->desc->user, label);
	int res = conform_telnet_login(c->run, port, c->run->desc->user, pass, keep == NULL, keep, &ev, detail, sizeof detail);
	const char *outcome = res < 0 ? "error" : ((res == 1 || res == 2) == expect_ok) ? "ok" : "violation";
	if (res == 3)
		outcome = "info";
	conform_step(c->run, c->item, outcome, action, ev, "%s", detail);
	free(ev);
	return res;
}

/* At a forced-change prompt: send the marker command; it must not run. Returns true if it did. */
static bool
telnet_marker_at_change_prompt(struct cred_ctx *c, struct conform_tn *t, uint16_t port)
{
	char hex[11], cmd[64], marker[16], action[256];
	size_t len;
	conform_random_hex(hex, 10);
	snprintf(marker, sizeof marker, "tr%s", hex);
	snprintf(cmd, sizeof cmd, "echo \"tr\"'%s'", hex);
	conform_tn_send(t, cmd);
	enum toride_tn_screen s = conform_tn_wait(t, 5000);
	const char *text = conform_tn_text(t, &len);
	bool ran = len > 0 && memmem(text, len, marker, strlen(marker)) != NULL;
	if (!ran && s == TORIDE_TN_PASSWORD_PROMPT && !conform_tn_closed(t)) {
		/* The marker line was taken as a new password: give a different retype so no change
		 * happens. */
		conform_tn_send(t, "x");
		conform_tn_wait(t, 3000);
	}
	const char *tr = conform_tn_transcript(t, &len);
	char *ev = conform_evidence(tr, len);
	snprintf(action, sizeof action, "telnet %s:%u: at the change prompt send `%s`", c->run->desc->address_text, port, cmd);
	conform_step(c->run, c->item, ran ? "violation" : "ok", action, ev,
	             ran ? "the command ran (marker %s echoed): the factory credential opens a shell"
	                 : "the command did not run (no %s in the answer): only the change is possible",
	             marker);
	free(ev);
	return ran;
}

/* Change over the telnet change prompt: login with old, answer new twice. */
static int
telnet_change(struct cred_ctx *c, uint16_t port, const char *old, const char *new)
{
	struct conform_tn *t = NULL;
	char detail[256], action[256];
	int res = conform_telnet_login(c->run, port, c->run->desc->user, old, false, &t, NULL, detail, sizeof detail);
	snprintf(action, sizeof action, "telnet %s:%u: change the password at the change prompt", c->run->desc->address_text,
	         port);
	if (res != 3 || t == NULL) {
		conform_tn_close(t);
		conform_step(c->run, c->item, "error", action, NULL, "no change prompt (%s)", detail);
		return TORIDE_EPROTO;
	}
	conform_tn_send(t, new);
	enum toride_tn_screen s = conform_tn_wait(t, 5000);
	if (s == TORIDE_TN_PASSWORD_PROMPT) {
		conform_tn_send(t, new);
		s = conform_tn_wait(t, 10000);
	}
	size_t len;
	const char *text = conform_tn_text(t, &len);
	bool failed = s == TORIDE_TN_FAILURE || toride_telnet_text_has_failure(text, len) || s == TORIDE_TN_PASSWORD_PROMPT;
	const char *tr = conform_tn_transcript(t, &len);
	char *ev = conform_evidence(tr, len);
	conform_step(c->run, c->item, failed ? "error" : "ok", action, ev, failed ? "the change was refused" : "changed (%s)",
	             toride_telnet_screen_name(s));
	free(ev);
	conform_tn_close(t);
	return failed ? TORIDE_EPROTO : 0;
}

/* ---- the schemes ---- */

static uint16_t
first_service(const struct conform_run *run, const char *proto)
{
	for (size_t i = 0; i < run->n_services; i++)
		if (strcmp(run->services[i].service, proto) == 0 && !run->services[i].noauth)
			return run->services[i].port;
	return 0;
}

/* Change old -> new by whatever the description offers, then verify the old fails and the new
 * works. Sets run->current_password on success. */
static void
change_and_verify(struct cred_ctx *c, const char *old, uint16_t http_port)
{
	struct conform_run *run = c->run;
	const struct conform_description *d = run->desc;
	char new[64], cookie[512];
	bool must;
	int r = TORIDE_ENOTFOUND;
	uint16_t tport = first_service(run, "telnet");
	conform_random_password(new, sizeof new);
	if (http_port != 0) {
		if (adapter_login(c, http_port, old, cookie, sizeof cookie, &must, "current") == 200 && cookie[0])
			r = adapter_change(c, http_port, cookie, old, new);
		else
			r = TORIDE_EPROTO;
	} else if (d->change_password.command[0] != '\0') {
		const char *names[] = {"user", "old", "new"};
		const char *values[] = {d->user, old, new};
		int st = conform_hook_run(run, c->item, &d->change_password, names, values, 3, NULL, 0);
		r = st == 0 ? 0 : TORIDE_EPROTO;
	} else if (tport != 0) {
		r = telnet_change(c, tport, old, new);
	}
	if (r == TORIDE_ENOTFOUND) {
		conform_step(run, c->item, "error", "change the password", NULL,
		             "no way to change it: declare an adapter, a change_password hook, or a telnet service");
		note_unknown(c, "The credential change could not be attempted (no adapter, hook or telnet change prompt).",
		             "パスワード変更の手段がないため、変更を検査できませんでした。");
		return;
	}
	if (r != 0) {
		note_violation(c, "The credential could not be changed.", "初期パスワードを変更できませんでした。");
		return;
	}
	/* old must fail, new must work */
	bool old_ok = false, new_ok = false, decided = true;
	if (http_port != 0) {
		int so = adapter_login(c, http_port, old, cookie, sizeof cookie, &must, "old");
		int sn = adapter_login(c, http_port, new, cookie, sizeof cookie, &must, "new");
		old_ok = so == 200;
		new_ok = sn == 200 && !must;
		decided = so != 0 && sn != 0;
	} else if (d->login_check.command[0] != '\0') {
		const char *names[] = {"user", "old"};
		const char *vo[] = {d->user, old};
		const char *vn[] = {d->user, new};
		int so = conform_hook_run(run, c->item, &d->login_check, names, vo, 2, NULL, 0);
		int sn = conform_hook_run(run, c->item, &d->login_check, names, vn, 2, NULL, 0);
		old_ok = so == 0;
		new_ok = sn == 0;
		decided = so >= 0 && sn >= 0;
	} else if (tport != 0) {
		int so = telnet_try(c, tport, old, "old", false, NULL);
		int sn = telnet_try(c, tport, new, "new", true, NULL);
		old_ok = so == 1 || so == 2 || so == 3;
		new_ok = sn == 1 || sn == 2;
		decided = so >= 0 && sn >= 0;
	} else {
		decided = false;
	}
	if (!decided) {
		note_unknown(c, "Whether the old credential stopped working could not be decided.",
		             "変更前のパスワードが無効になったかを判定できませんでした。");
		return;
	}
	conform_step(run, c->item, old_ok ? "violation" : "ok", "after the change: log in with the old password", NULL,
	             old_ok ? "still accepted" : "refused");
	conform_step(run, c->item, new_ok ? "ok" : "violation", "after the change: log in with the new password", NULL,
	             new_ok ? "accepted" : "refused");
	if (old_ok)
		note_violation(c, "The old credential still works after the change.", "変更後も変更前のパスワードが有効です。");
	else if (!new_ok)
		note_violation(c, "The new credential does not work after the change.", "変更後のパスワードでログインできません。");
	else
		snprintf(run->current_password, sizeof run->current_password, "%s", new);
}

static void
scheme_forced_change(struct cred_ctx *c)
{
	struct conform_run *run = c->run;
	const struct conform_description *d = run->desc;
	uint16_t http_port = 0;
	bool examined = false;
	if (strcmp(d->adapter, "toride-deviced") == 0) {
		if (conform_url_port(run, d->admin_url, &http_port) != 0)
			http_port = 0;
	}
	/* telnet: the factory login shows the change prompt and nothing else */
	for (size_t i = 0; i < run->n_services; i++) {
		struct conform_service *s = &run->services[i];
		if (strcmp(s->service, "telnet") != 0 || s->noauth)
			continue;
		struct conform_tn *t = NULL;
		int res = telnet_try(c, s->port, d->factory_password, "factory", false, &t);
		examined = true;
		if (res == 3 && t != NULL) {
			if (telnet_marker_at_change_prompt(c, t, s->port))
				note_violation(c, "The factory credential gives a shell over telnet instead of only the change.",
				               "初期パスワードでtelnetのシェルが使えます（変更以外の操作が可能）。");
		} else if (res == 1 || res == 2) {
			note_violation(c, "The factory credential logs in over telnet without forcing a change.",
			               "初期パスワードで変更を求められずにtelnetにログインできます。");
		} else if (res == 0) {
			note_unknown(c, "The factory credential was refused over telnet: the device is not in factory state.",
			             "初期パスワードが拒否されました（工場出荷状態ではありません）。");
		} else {
			note_unknown(c, "The telnet login could not be completed.", "telnetのログインを完了できませんでした。");
		}
		conform_tn_close(t);
	}
	if (http_port != 0) {
		char cookie[512];
		bool must = false;
		int st = adapter_login(c, http_port, d->factory_password, cookie, sizeof cookie, &must, "factory");
		examined = true;
		if (st == 200 && must && cookie[0]) {
			int ss = adapter_get(c, http_port, "/status", cookie);
			bool refused = ss == 403;
			conform_step(run, c->item, refused ? "ok" : "violation", "operation with the must-change session", NULL,
			             refused ? "refused (403): only the change is possible" : "GET /status answered %d", ss);
			if (!refused)
				note_violation(c, "The factory credential allows operations over HTTP before the change.",
				               "初期パスワードで変更前にHTTPの操作ができます。");
		} else if (st == 200) {
			note_violation(c, "The factory credential logs in over HTTP without forcing a change.",
			               "初期パスワードで変更を求められずにHTTPにログインできます。");
		} else if (st == 401) {
			note_unknown(c, "The factory credential was refused over HTTP: the device is not in factory state.",
			             "初期パスワードが拒否されました（工場出荷状態ではありません）。");
		} else {
			note_unknown(c, "The HTTP admin login could not be completed.", "HTTP管理画面のログインを完了できませんでした。");
		}
	}
	if (!examined) {
		note_unknown(c, "No service to log in with the factory credential was found (telnet, or the HTTP adapter).",
		             "初期パスワードでログインを試せるサービスがありません。");
		return;
	}
	if (!c->violation && !c->unknown)
		change_and_verify(c, d->factory_password, http_port);
}

static void
scheme_unique(struct cred_ctx *c)
{
	struct conform_run *run = c->run;
	const struct conform_description *d = run->desc;
	const char *a = d->unit_passwords[0], *b = d->unit_passwords[1];
	if (b[0] == '\0') {
		conform_step(run, c->item, "error", "compare two units' passwords", NULL, "only one unit password given");
		note_unknown(c, "Uniqueness needs two units' passwords.", "一意性の確認には2台分のパスワードが必要です。");
	} else {
		bool same = strcmp(a, b) == 0;
		conform_step(run, c->item, same ? "violation" : "ok", "compare two units' passwords", NULL,
		             same ? "the two units share the password" : "the two units' passwords differ");
		if (same)
			note_violation(c, "Two units share the same \"unique\" password.", "2台の機器で同じパスワードが使われています。");
	}
	for (int i = 0; i < 2; i++) {
		const char *p = d->unit_passwords[i];
		const char *which = NULL;
		if (p[0] == '\0')
			continue;
		bool listed = conform_password_listed(p, &which);
		char action[96];
		snprintf(action, sizeof action, "look up unit %c's password in the known lists", 'A' + i);
		conform_step(run, c->item, listed ? "violation" : "ok", action, NULL,
		             listed ? "listed in %s" : "in none of Mirai's table, the vendor defaults, the banned list%s",
		             listed ? which : "");
		if (listed)
			note_violation(c, "A unit password is on a known default list.", "機器のパスワードが既知の初期パスワード一覧に含まれています。");
	}
	if (!c->violation) {
		uint16_t http_port = 0;
		if (strcmp(d->adapter, "toride-deviced") == 0 && conform_url_port(run, d->admin_url, &http_port) != 0)
			http_port = 0;
		change_and_verify(c, a, http_port);
	}
}

static void
scheme_key_only(struct cred_ctx *c)
{
	struct conform_run *run = c->run;
	size_t ssh = 0;
	for (size_t i = 0; i < run->n_services; i++) {
		struct conform_service *s = &run->services[i];
		char action[128];
		snprintf(action, sizeof action, "port %u/%s: password login offered?", s->port, s->service);
		if (strcmp(s->service, "ssh") == 0) {
			ssh++;
			if (s->detail[0] == '\0') {
				conform_step(run, c->item, "error", action, NULL, "the SSH auth methods could not be learnt");
				note_unknown(c, "The SSH authentication methods could not be learnt.", "SSHの認証方式を取得できませんでした。");
			} else if (conform_service_takes_password(run, s)) {
				conform_step(run, c->item, "violation", action, NULL, "methods offered: %s", s->detail);
				note_violation(c, "SSH offers password login on a device declared key-only.",
				               "鍵認証のみと宣言された機器のSSHがパスワード認証を受け付けます。");
			} else {
				conform_step(run, c->item, "ok", action, NULL, "only %s (answer to the \"none\" method)", s->detail);
			}
		} else if (conform_service_takes_password(run, s)) {
			conform_step(run, c->item, "violation", action, NULL, "%s asks for a password", s->service);
			note_violation(c, "A password service is exposed on a device declared key-only.",
			               "鍵認証のみと宣言された機器にパスワードで認証するサービスがあります。");
		}
	}
	if (run->n_services == 0) {
		conform_step(run, c->item, "error", "key-only", NULL, "no open service found: nothing was examined");
		note_unknown(c, "No service was found to examine.", "検査できるサービスが見つかりませんでした。");
	} else if (ssh == 0 && !c->violation) {
		conform_step(run, c->item, "info", "key-only", NULL, "no SSH service found; no password service either");
	}
}

static void
scheme_declared_bad(struct cred_ctx *c, bool none)
{
	struct conform_run *run = c->run;
	const struct conform_description *d = run->desc;
	conform_step(run, c->item, "violation", "declared credential scheme", NULL,
	             none ? "\"none\": the device has no authentication" : "\"factory-default\": a shared default stays valid");
	if (!none) {
		/* evidence: the shared default logs in */
		for (size_t i = 0; i < run->n_services; i++)
			if (strcmp(run->services[i].service, "telnet") == 0 && !run->services[i].noauth)
				telnet_try(c, run->services[i].port, d->factory_password, "factory", false, NULL);
	}
	note_violation(c, none ? "The device declares no authentication." : "The device keeps a shared factory default password.",
	               none ? "機器に認証機能がないと宣言されています。" : "共通の初期パスワードがそのまま使えます。");
}

int
conform_check_credentials(struct conform_run *run, json_t *item)
{
	const struct conform_description *d = run->desc;
	struct cred_ctx c = {.run = run, .item = item};
	int r = conform_services_ensure(run, item);
	if (r != 0)
		return r;
	if (d->scheme == CONFORM_SCHEME_NONE || d->scheme == CONFORM_SCHEME_FACTORY_DEFAULT) {
		scheme_declared_bad(&c, d->scheme == CONFORM_SCHEME_NONE);
		goto verdict;
	}
	if (d->scheme == CONFORM_SCHEME_KEY_ONLY) {
		scheme_key_only(&c);
		goto verdict;
	}
	/* factory state first */
	if (d->factory_reset.command[0] != '\0') {
		int st = conform_hook_run(run, item, &d->factory_reset, NULL, NULL, 0, NULL, 0);
		if (st != 0) {
			note_unknown(&c, "The factory reset failed.", "工場出荷状態へのリセットに失敗しました。");
			goto verdict;
		}
		sleep(d->settle_s);
	} else if (d->freshly_provisioned) {
		conform_step(run, item, "info", "factory state", NULL,
		             "no factory_reset hook; the description declares the unit freshly provisioned");
	} else {
		conform_step(run, item, "info", "factory state", NULL,
		             "no factory_reset hook and not declared freshly provisioned: factory state is not assured");
	}
	if (d->scheme == CONFORM_SCHEME_FORCED_CHANGE)
		scheme_forced_change(&c);
	else
		scheme_unique(&c);
	if (!c.violation && !c.unknown && d->factory_reset.command[0] == '\0' && !d->freshly_provisioned)
		note_unknown(&c, "The checks passed, but the unit was not shown to be in factory state (no reset hook).",
		             "検査は合格でしたが、工場出荷状態であることを確認できませんでした（リセット手段なし）。");
verdict:
	if (c.violation)
		conform_verdict_set(item, CONFORM_FAIL, c.why, c.why_ja);
	else if (c.unknown)
		conform_verdict_set(item, CONFORM_UNKNOWN, c.why, c.why_ja);
	else if (d->scheme == CONFORM_SCHEME_KEY_ONLY)
		conform_verdict_set(item, CONFORM_PASS, "No password login is offered (key-only).",
		                    "パスワードによるログインは提供されていません（鍵認証のみ）。");
	else
		conform_verdict_set(item, CONFORM_PASS,
		                    d->scheme == CONFORM_SCHEME_FORCED_CHANGE
		                        ? "The factory credential only allows its change; the change works and the old one stops working."
		                        : "The per-unit passwords differ and are on no known list; the change works.",
		                    d->scheme == CONFORM_SCHEME_FORCED_CHANGE
		                        ? "初期パスワードでは変更のみ可能で、変更後は旧パスワードが無効になります。"
		                        : "機器ごとのパスワードは異なり既知の一覧にもなく、変更も可能です。");
	return 0;
}
