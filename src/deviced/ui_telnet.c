/*
 * Telnet admin interface of toride-deviced. "login:" / "Password:" like a Linux device; the
 * library decides everything: toride_dev_login (throttle, Argon2id), the forced change of a
 * factory default (nothing else until it is changed), and toride_dev_session_check before every
 * command. Negotiation and IAC handling: src/proto/telnet.h (libtelnet, hardened).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "deviced/deviced.h"
#include "proto/form.h"
#include "proto/telnet.h"

/* Longest input line: commands, user names and passwords (the policy caps passwords at 128). */
#define TUI_LINE_MAX 512
/* Decoded bytes handled per slice of input: bounds the app buffer however big a read is. */
#define TUI_SLICE 4096
/* Negotiation replies per slice: a few bytes per option; 16 KiB is far above a real client. */
#define TUI_REPLY_MAX (16 * 1024)
/* Output produced by one input slice (status text, config listing, prompts). */
#define TUI_OUT_MAX (64 * 1024)
/* Failed logins per connection before hanging up (like login(1)). */
#define TUI_MAX_TRIES 3
/* Refused new passwords before hanging up during a forced change. */
#define TUI_MAX_CHANGE_TRIES 3
/* Shortest answer to a failed login: scripts cannot try faster than this on one connection. */
#define TUI_FAIL_DELAY_MS 500
/* Idle connections are dropped (a console left open is someone else's console). */
#define TUI_IDLE_MS (5 * 60 * 1000)
/* Longest password kept between prompts (the policy refuses longer). */
#define TUI_PW_MAX 129

enum tui_state {
	T_LOGIN,
	T_PASSWORD,
	T_WAIT,       /* failed login: the answer is delayed */
	T_NEWPASS,    /* forced change, or passwd: new password */
	T_RETYPE,
	T_OLDPASS,    /* passwd: current password */
	T_SHELL,
	T_BUSY,       /* update download running */
	T_CLOSED,     /* hung up: waiting for the close */
};

struct tui {
	struct toride_telnet *tn;
	struct toride_buf app, reply, out;
	enum tui_state state;
	unsigned fails, change_fails;
	bool forced;                   /* changing the factory default: nothing else allowed */
	bool last_cr, overlong;
	size_t linelen;
	char line[TUI_LINE_MAX + 1];
	char user[TORIDE_DEV_MAX_USER + 1];
	char token[TORIDE_DEV_TOKEN_LEN + 1];
	char oldpw[TUI_PW_MAX];
	char newpw[TUI_PW_MAX];
};

static struct tui *
ui(struct devd_conn *c)
{
	return c->ui;
}

static void
say(struct devd_conn *c, const char *s)
{
	struct tui *t = ui(c);
	toride_telnet_send_data(t->tn, (const uint8_t *)s, strlen(s), &t->out);
}

static void sayf(struct devd_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sayf(struct devd_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say(c, buf);
}

static void
flush(struct devd_conn *c)
{
	struct tui *t = ui(c);
	if (t == NULL || t->out.len == 0)
		return;
	devd_conn_write(c, t->out.data, t->out.len);
	if (c->ui != NULL)
		toride_buf_reset(&t->out);
}

static void
wipe_secrets(struct tui *t)
{
	sodium_memzero(t->oldpw, sizeof(t->oldpw));
	sodium_memzero(t->newpw, sizeof(t->newpw));
	sodium_memzero(t->line, sizeof(t->line));
}

static void
hang_up(struct devd_conn *c)
{
	struct tui *t = ui(c);
	if (t->state == T_CLOSED)
		return;
	if (t->token[0] != '\0')
		toride_dev_session_end(c->d->dev, t->token);
	t->token[0] = '\0';
	wipe_secrets(t);
	flush(c);
	t->state = T_CLOSED;
	devd_conn_close(c);
}

static void
login_prompt(struct devd_conn *c)
{
	char host[64];
	devd_setting_value(c->d, devd_setting_find("hostname"), host, sizeof(host));
	ui(c)->state = T_LOGIN;
	sayf(c, "%s login: ", host);
}

static void
shell_prompt(struct devd_conn *c)
{
	char host[64];
	devd_setting_value(c->d, devd_setting_find("hostname"), host, sizeof(host));
	ui(c)->state = T_SHELL;
	sayf(c, "%s@%s> ", ui(c)->user, host);
}

int
devd_telnet_open(struct devd_conn *c)
{
	struct tui *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	c->ui = t;
	toride_buf_init(&t->app, TUI_SLICE * 2);
	toride_buf_init(&t->reply, TUI_REPLY_MAX);
	toride_buf_init(&t->out, TUI_OUT_MAX);
	if (toride_telnet_server_new(&t->tn) != 0 || toride_telnet_server_start(t->tn, &t->out) != 0)
		return -1;
	sayf(c, "\r\ntoride reference device (%s), firmware %s\r\nAuthorized access only.\r\n\r\n", c->d->id.target,
	     c->d->boot.version);
	login_prompt(c);
	flush(c);
	devd_conn_timer(c, TUI_IDLE_MS, NULL);
	return 0;
}

void
devd_telnet_free(struct devd_conn *c)
{
	struct tui *t = ui(c);
	if (t == NULL)
		return;
	/* A dropped connection ends its session: a console is not left logged in. */
	if (t->token[0] != '\0' && c->d->dev != NULL)
		toride_dev_session_end(c->d->dev, t->token);
	toride_telnet_free(t->tn);
	toride_buf_free(&t->app);
	toride_buf_free(&t->reply);
	toride_buf_free(&t->out);
	sodium_memzero(t, sizeof(*t));
	free(t);
	c->ui = NULL;
}

/* ---- login -------------------------------------------------------------------------------- */

static void
fail_answer(struct devd_conn *c)
{
	struct tui *t = ui(c);
	say(c, "Login incorrect\r\n");
	if (++t->fails >= TUI_MAX_TRIES) {
		hang_up(c);
		return;
	}
	login_prompt(c);
	flush(c);
	devd_conn_resume(c);
	devd_conn_timer(c, TUI_IDLE_MS, NULL);
}

static void
do_login(struct devd_conn *c, const char *password)
{
	struct tui *t = ui(c);
	struct toride_dev_login_result res;
	say(c, "\r\n");
	int r = devd_fault_login(c->d, c->peer, t->user, password, &res);
	if (r == 0) {
		bool must = res.must_change;
		snprintf(t->token, sizeof(t->token), "%s", res.token);
		sodium_memzero(&res, sizeof(res));
		devd_log("telnet: %s logged in from %s%s", t->user, c->peer, must ? " (must change password)" : "");
		if (must || toride_dev_session_check(c->d->dev, t->token, TORIDE_DEV_OP_STATUS, NULL) ==
		                           TORIDE_DEV_EMUSTCHANGE) {
			t->forced = true;
			if (strlen(password) < sizeof(t->oldpw))
				memcpy(t->oldpw, password, strlen(password) + 1);
			say(c, "You are logged in with the factory default password.\r\n"
			       "It must be changed before this device can be used (nothing else is allowed).\r\n"
			       "New password: ");
			t->state = T_NEWPASS;
			return;
		}
		sayf(c, "Welcome, %s. Type 'help' for commands.\r\n", t->user);
		shell_prompt(c);
		return;
	}
	if (r == TORIDE_DEV_ETHROTTLED) {
		unsigned s = (res.retry_after_ms + 999) / 1000;
		devd_log("telnet: login for %s from %s throttled (%u s)", t->user, c->peer, s);
		sayf(c, "Too many failed logins. Try again in %u seconds.\r\n", s);
		hang_up(c);
		return;
	}
	if (r != TORIDE_DEV_EDENIED) {
		sayf(c, "Login unavailable: %s\r\n", toride_dev_strerror(r));
		hang_up(c);
		return;
	}
	devd_log("telnet: failed login for %s from %s", t->user, c->peer);
	/* The answer waits until the library would consider the next attempt anyway. */
	uint64_t delay = res.retry_after_ms > TUI_FAIL_DELAY_MS ? res.retry_after_ms : TUI_FAIL_DELAY_MS;
	t->state = T_WAIT;
	devd_conn_pause(c);
	devd_conn_timer(c, delay, fail_answer);
}

/* ---- password change ---------------------------------------------------------------------- */

static void
change_failed(struct devd_conn *c)
{
	struct tui *t = ui(c);
	sodium_memzero(t->newpw, sizeof(t->newpw));
	if (t->forced && ++t->change_fails >= TUI_MAX_CHANGE_TRIES) {
		say(c, "Password unchanged.\r\n");
		hang_up(c);
		return;
	}
	if (!t->forced) {
		say(c, "Password unchanged.\r\n");
		sodium_memzero(t->oldpw, sizeof(t->oldpw));
		shell_prompt(c);
		return;
	}
	say(c, "New password: ");
	t->state = T_NEWPASS;
}

static void
do_change(struct devd_conn *c, const char *retyped)
{
	struct tui *t = ui(c);
	char reason[256] = "";
	say(c, "\r\n");
	if (strcmp(retyped, t->newpw) != 0) {
		say(c, "Sorry, passwords do not match.\r\n");
		change_failed(c);
		return;
	}
	char real_old[DEVD_FAULT_PW_MAX];
	int r = toride_dev_change_password(c->d->dev, t->token,
	                                   devd_fault_old_password(c->d, t->oldpw, real_old, sizeof(real_old)), t->newpw,
	                                   reason, sizeof(reason));
	sodium_memzero(real_old, sizeof(real_old));
	if (r == 0) {
		devd_fault_password_changed(c->d, t->newpw);
		devd_log("telnet: %s changed the password from %s", t->user, c->peer);
		say(c, "Password changed.\r\n");
		wipe_secrets(t);
		if (t->forced)
			sayf(c, "Welcome, %s. Type 'help' for commands.\r\n", t->user);
		t->forced = false;
		shell_prompt(c);
		return;
	}
	if (r == TORIDE_DEV_EPOLICY) {
		sayf(c, "Password refused: %s\r\n", reason);
	} else if (r == TORIDE_DEV_EDENIED && !t->forced) {
		say(c, "Current password incorrect (or the session expired).\r\n");
	} else {
		sayf(c, "Password change failed: %s\r\n", toride_dev_strerror(r));
		if (r != TORIDE_DEV_EPOLICY) {
			hang_up(c);
			return;
		}
	}
	change_failed(c);
}

/* ---- commands ----------------------------------------------------------------------------- */

/* The access check before every command. Returns true when allowed; otherwise says why (and
 * hangs up when the session is gone). */
static bool
allowed(struct devd_conn *c, enum toride_dev_op op)
{
	struct tui *t = ui(c);
	int r = toride_dev_session_check(c->d->dev, t->token, op, NULL);
	if (r == 0)
		return true;
	if (r == TORIDE_DEV_EMUSTCHANGE) {
		t->forced = true;
		say(c, "The password must be changed first.\r\nNew password: ");
		t->state = T_NEWPASS;
		return false;
	}
	if (toride_dev_session_check(c->d->dev, t->token, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD, NULL) != 0) {
		say(c, "Session expired.\r\n");
		t->token[0] = '\0';
		hang_up(c);
		return false;
	}
	say(c, "Permission denied.\r\n");
	shell_prompt(c);
	return false;
}

static void
cmd_help(struct devd_conn *c)
{
	say(c, "Commands:\r\n"
	       "  status              firmware, slots, update state\r\n"
	       "  show config         settings\r\n"
	       "  set KEY VALUE       change a setting (saved durably at once)\r\n"
	       "  passwd              change your password\r\n"
	       "  update URL          download and install a signed firmware bundle (https)\r\n"
	       "  reboot              restart the device\r\n"
	       "  exit                log out\r\n");
}

static void
cmd_show_config(struct devd_conn *c)
{
	char v[TORIDE_DEV_MAX_VALUE + 1];
	for (const struct devd_setting *s = devd_settings; s->key != NULL; s++) {
		devd_setting_value(c->d, s, v, sizeof(v));
		sayf(c, "%-18s %s\r\n", s->key, v);
	}
}

static void
cmd_set(struct devd_conn *c, const char *key, const char *value)
{
	const struct devd_setting *s = devd_setting_find(key);
	if (s == NULL) {
		sayf(c, "Unknown setting '%s' (see 'show config').\r\n", key);
		return;
	}
	if (!s->valid(value)) {
		sayf(c, "Invalid value for %s: %s.\r\n", key, s->help);
		return;
	}
	const char *k[1] = { key }, *v[1] = { value };
	int r = toride_dev_config_set(c->d->dev, ui(c)->token, k, v, 1);
	if (r == 0)
		sayf(c, "%s = %s (saved)\r\n", key, value);
	else
		sayf(c, "Not saved: %s\r\n", toride_dev_strerror(r));
}

static void
shell_line(struct devd_conn *c, char *line)
{
	struct tui *t = ui(c);
	char *argv[3];
	say(c, "\r\n");
	size_t n = toride_cmd_split(line, argv, 3);
	if (n == 0) {
		shell_prompt(c);
		return;
	}
	const char *cmd = argv[0];
	if (strcmp(cmd, "exit") == 0 || strcmp(cmd, "logout") == 0 || strcmp(cmd, "quit") == 0) {
		say(c, "Bye.\r\n");
		hang_up(c);
		return;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0) {
		if (allowed(c, TORIDE_DEV_OP_STATUS)) {
			cmd_help(c);
			shell_prompt(c);
		}
		return;
	}
	if (strcmp(cmd, "status") == 0) {
		if (allowed(c, TORIDE_DEV_OP_STATUS)) {
			char *s = devd_status_text(c->d);
			say(c, s != NULL ? s : "status unavailable\r\n");
			free(s);
			shell_prompt(c);
		}
		return;
	}
	if (strcmp(cmd, "show") == 0 && n == 2 && strcmp(argv[1], "config") == 0) {
		if (allowed(c, TORIDE_DEV_OP_CONFIG_READ)) {
			cmd_show_config(c);
			shell_prompt(c);
		}
		return;
	}
	if (strcmp(cmd, "set") == 0) {
		if (n != 3) {
			say(c, "usage: set KEY VALUE\r\n");
			shell_prompt(c);
			return;
		}
		if (allowed(c, TORIDE_DEV_OP_CONFIG_WRITE)) {
			cmd_set(c, argv[1], argv[2]);
			shell_prompt(c);
		}
		return;
	}
	if (strcmp(cmd, "passwd") == 0) {
		if (allowed(c, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD)) {
			say(c, "Current password: ");
			t->state = T_OLDPASS;
		}
		return;
	}
	if (strcmp(cmd, "update") == 0) {
		if (n != 2) {
			say(c, "usage: update https://host/path/bundle\r\n");
			shell_prompt(c);
			return;
		}
		if (!allowed(c, TORIDE_DEV_OP_UPDATE))
			return;
		int r = devd_update_start(c->d, argv[1], false, t->token, c->id);
		if (r != 0) {
			sayf(c, "Cannot start the update: %s\r\n", toride_dev_strerror(r));
			shell_prompt(c);
			return;
		}
		sayf(c, "Downloading %s ...\r\n", argv[1]);
		t->state = T_BUSY;
		return;
	}
	if (strcmp(cmd, "reboot") == 0) {
		if (allowed(c, TORIDE_DEV_OP_REBOOT)) {
			devd_log("telnet: %s requested a reboot", t->user);
			say(c, "The device is rebooting.\r\n");
			devd_reboot_later(c->d, 200);
			hang_up(c);
		}
		return;
	}
	sayf(c, "Unknown command '%s'. Type 'help'.\r\n", cmd);
	shell_prompt(c);
}

void
devd_telnet_update_done(struct devd_conn *c, const char *msg)
{
	struct tui *t = ui(c);
	if (t == NULL || t->state != T_BUSY)
		return;
	sayf(c, "%s\r\n", msg);
	if (!c->d->reboot_pending)
		shell_prompt(c);
	flush(c);
}

/* ---- input -------------------------------------------------------------------------------- */

static void
on_line(struct devd_conn *c, char *line, bool overlong)
{
	struct tui *t = ui(c);
	switch (t->state) {
	case T_LOGIN:
		say(c, "\r\n");
		if (overlong || line[0] == '\0' || strlen(line) > TORIDE_DEV_MAX_USER) {
			if (line[0] == '\0' && !overlong) {
				login_prompt(c);
				return;
			}
			/* No such user can exist; still ask for the password (no user enumeration). */
			snprintf(t->user, sizeof(t->user), "%s", "?");
		} else {
			snprintf(t->user, sizeof(t->user), "%s", line);
		}
		say(c, "Password: ");
		t->state = T_PASSWORD;
		return;
	case T_PASSWORD:
		do_login(c, overlong ? "" : line);
		return;
	case T_OLDPASS:
		say(c, "\r\n");
		if (overlong || strlen(line) >= sizeof(t->oldpw))
			t->oldpw[0] = '\0'; /* no password is that long: the change will be refused */
		else
			memcpy(t->oldpw, line, strlen(line) + 1);
		say(c, "New password: ");
		t->state = T_NEWPASS;
		return;
	case T_NEWPASS:
		say(c, "\r\n");
		if (line[0] == '\0' || overlong || strlen(line) >= sizeof(t->newpw)) {
			say(c, line[0] == '\0' ? "Empty password.\r\n" : "Password too long.\r\n");
			change_failed(c);
			return;
		}
		memcpy(t->newpw, line, strlen(line) + 1);
		say(c, "Retype new password: ");
		t->state = T_RETYPE;
		return;
	case T_RETYPE:
		do_change(c, overlong ? "" : line);
		return;
	case T_SHELL:
		if (overlong) {
			say(c, "\r\nLine too long.\r\n");
			shell_prompt(c);
			return;
		}
		shell_line(c, line);
		return;
	case T_WAIT:
	case T_BUSY:
	case T_CLOSED:
		return; /* typed ahead while waiting: dropped */
	}
}

/* Echo like a telnetd that offered WILL ECHO: everything but passwords. */
static bool
echoes(const struct tui *t)
{
	return t->state == T_LOGIN || t->state == T_SHELL;
}

static void
on_bytes(struct devd_conn *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && c->ui != NULL && !c->closing && ui(c)->state != T_CLOSED; i++) {
		struct tui *t = ui(c);
		uint8_t ch = p[i];
		if (t->last_cr) {
			t->last_cr = false;
			if (ch == '\n' || ch == '\0')
				continue; /* CR LF and CR NUL end one line */
		}
		if (ch == '\r' || ch == '\n') {
			t->last_cr = ch == '\r';
			bool over = t->overlong;
			t->line[t->linelen] = '\0';
			t->linelen = 0;
			t->overlong = false;
			on_line(c, t->line, over);
			if (c->ui != NULL)
				sodium_memzero(ui(c)->line, sizeof(ui(c)->line));
			continue;
		}
		if (ch == 0x7f || ch == 0x08) {
			if (t->linelen > 0) {
				t->linelen--;
				if (echoes(t))
					say(c, "\b \b");
			}
			continue;
		}
		if (ch == 0x03 || ch == 0x04) {
			/* ^C / ^D: drop the line; at the login prompt hang up like getty. */
			t->linelen = 0;
			if (t->state == T_SHELL) {
				say(c, "^C\r\n");
				shell_prompt(c);
				continue;
			}
			hang_up(c);
			return;
		}
		if (ch < 0x20)
			continue;
		if (t->linelen >= TUI_LINE_MAX) {
			t->overlong = true;
			continue;
		}
		t->line[t->linelen++] = (char)ch;
		if (echoes(t))
			toride_telnet_send_data(t->tn, &ch, 1, &t->out);
	}
}

void
devd_telnet_input(struct devd_conn *c, const uint8_t *in, size_t n)
{
	struct tui *t = ui(c);
	if (t->state == T_CLOSED)
		return;
	if (t->state != T_WAIT)
		devd_conn_timer(c, TUI_IDLE_MS, NULL);
	for (size_t off = 0; off < n && c->ui != NULL && !c->closing && ui(c)->state != T_CLOSED;) {
		t = ui(c);
		size_t take = n - off < TUI_SLICE ? n - off : TUI_SLICE;
		toride_buf_reset(&t->app);
		toride_buf_reset(&t->reply);
		int r = toride_telnet_recv(t->tn, in + off, take, &t->app, &t->reply);
		off += take;
		if (r != 0) {
			hang_up(c); /* hostile or broken negotiation */
			return;
		}
		if (t->reply.len > 0)
			toride_buf_append(&t->out, t->reply.data, t->reply.len);
		on_bytes(c, t->app.data, t->app.len);
		if (c->ui != NULL && !c->closing)
			flush(c);
	}
}
