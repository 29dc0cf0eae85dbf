/*
 * Emulated telnet login (sans-IO): option negotiation (when the profile's device negotiates),
 * banner, login and password prompts as the device prints them, echo like a telnetd that said
 * WILL ECHO (the user name and commands are echoed, the password is not), failure message after
 * the profile's delay, hang-up after max_tries, then the busybox-like shell of src/emu/shell.h.
 *
 * FORCED_CHANGE: the factory pair is accepted only to set a new password ("New password:" /
 * "Retype new password:"); no shell before that. The device is const here, so the new password
 * lives in this connection only: the next connection asks for the change again (documented in
 * docs/emu.md). NO_AUTH goes straight to the shell. Profiles without a login prompt ask only for
 * the password and check it against the profile's user name.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "emu/emu.h"
#include "emu/shell.h"
#include "proto/telnet.h"

/* Longest input line: the shell's own cap (Mirai's echo -ne dropper lines are < 1 KiB). A longer
 * line is dropped whole, as busybox's line editor would refuse it. */
#define EMU_TN_LINE_MAX EMU_SHELL_LINE_MAX
/* Decoded bytes handled per slice of input: bounds the app buffer however big a chunk is. */
#define EMU_TN_SLICE 4096
/* Negotiation replies per slice: a few bytes per option; 64 KiB is far above any real client. */
#define EMU_TN_REPLY_MAX (64 * 1024)
/* Shell output of one command before escaping for the wire (the shell caps itself lower). */
#define EMU_TN_CMD_OUT_MAX (2 * EMU_SHELL_OUT_MAX)
/* Logins per connection when the profile says 0 (busybox login: 3). */
#define EMU_TN_DEFAULT_TRIES 3

enum tn_state { TN_LOGIN, TN_PASSWORD, TN_NEWPASS, TN_RETYPE, TN_SHELL };

struct tn_srv {
	const struct emu_device *dev;
	const struct emu_service *svc;
	struct toride_telnet *tn;       /* NULL when the device does not negotiate */
	struct toride_buf app, reply;
	enum tn_state state;
	unsigned fails;
	bool last_cr;                   /* previous byte ended a line with CR: skip a following LF/NUL */
	bool overlong;
	size_t linelen;
	char user[128];
	char newpass[128];
	struct emu_shell *sh;
	char line[EMU_TN_LINE_MAX + 1];
};

static int
tn_text(struct tn_srv *s, const void *p, size_t n, struct toride_buf *out)
{
	if (n == 0)
		return 0;
	if (s->tn != NULL)
		return toride_telnet_send_data(s->tn, p, n, out);
	return toride_buf_append(out, p, n);
}

static int
tn_str(struct tn_srv *s, const char *str, struct toride_buf *out)
{
	return tn_text(s, str, strlen(str), out);
}

/* The first prompt of a login round: login name, or the password on password-only devices. */
static int
tn_login_prompt(struct tn_srv *s, struct toride_buf *out)
{
	if (s->svc->login_prompt[0] != '\0') {
		s->state = TN_LOGIN;
		return tn_str(s, s->svc->login_prompt, out);
	}
	s->state = TN_PASSWORD;
	snprintf(s->user, sizeof(s->user), "%s", s->dev->profile->user);
	return tn_str(s, s->svc->password_prompt[0] != '\0' ? s->svc->password_prompt : "Password: ", out);
}

static int
tn_shell_prompt(struct tn_srv *s, struct toride_buf *out)
{
	char prompt[EMU_STR_MAX + 128];
	emu_shell_prompt(s->sh, prompt, sizeof(prompt));
	return tn_str(s, prompt, out);
}

static int
tn_start_shell(struct tn_srv *s, struct toride_buf *out)
{
	int r = emu_shell_new(&s->sh, s->dev);
	if (r != 0)
		return r;
	if (s->svc->shell_prompt[0] != '\0')
		emu_shell_set_prompt(s->sh, s->svc->shell_prompt);
	if (s->user[0] != '\0')
		emu_shell_set_user(s->sh, s->user);
	s->state = TN_SHELL;
	r = tn_str(s, s->svc->motd, out);
	if (r == 0)
		r = tn_shell_prompt(s, out);
	return r;
}

static void *
tn_open(const struct emu_device *dev, const struct emu_service *svc, struct toride_buf *out, unsigned *delay_ms)
{
	(void)delay_ms;
	struct tn_srv *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->dev = dev;
	s->svc = svc;
	toride_buf_init(&s->app, EMU_TN_SLICE * 2);
	toride_buf_init(&s->reply, EMU_TN_REPLY_MAX);
	int r = 0;
	if (svc->negotiate) {
		r = toride_telnet_server_new(&s->tn);
		if (r == 0)
			/* Devices with a busybox userland negotiate as busybox telnetd does. */
			r = dev->profile->busybox[0] != '\0' ? toride_telnet_server_start_busybox(s->tn, out)
			                                      : toride_telnet_server_start(s->tn, out);
	}
	if (r == 0)
		r = tn_str(s, svc->banner, out);
	if (r == 0)
		r = dev->profile->policy == EMU_CRED_NO_AUTH ? tn_start_shell(s, out) : tn_login_prompt(s, out);
	if (r != 0) {
		emu_shell_free(s->sh);
		toride_telnet_free(s->tn);
		toride_buf_free(&s->app);
		toride_buf_free(&s->reply);
		free(s);
		return NULL;
	}
	return s;
}

static int
tn_fail(struct tn_srv *s, struct toride_buf *out, unsigned *delay_ms)
{
	unsigned max = s->svc->max_tries != 0 ? s->svc->max_tries : EMU_TN_DEFAULT_TRIES;
	*delay_ms = s->svc->fail_delay_ms;
	int r = tn_str(s, s->svc->fail_message[0] != '\0' ? s->svc->fail_message : "\r\nLogin incorrect\r\n", out);
	if (r != 0)
		return r;
	if (++s->fails >= max)
		return EMU_CLOSE;
	return tn_login_prompt(s, out);
}

static int
tn_password(struct tn_srv *s, const char *pass, struct toride_buf *out, unsigned *delay_ms)
{
	const struct emu_device *d = s->dev;
	int r = tn_str(s, "\r\n", out); /* the Enter the terminal did not echo */
	if (r != 0)
		return r;
	if (!emu_device_check_login(d, s->user, pass))
		return tn_fail(s, out, delay_ms);
	if (d->profile->policy == EMU_CRED_FORCED_CHANGE && !d->pass_changed) {
		s->state = TN_NEWPASS;
		return tn_str(s, "You are required to change your password immediately (administrator enforced)\r\n"
		                 "New password: ", out);
	}
	return tn_start_shell(s, out);
}

static int
tn_line(struct tn_srv *s, const char *line, struct toride_buf *out, unsigned *delay_ms)
{
	int r;
	switch (s->state) {
	case TN_LOGIN:
		snprintf(s->user, sizeof(s->user), "%s", line);
		if (s->tn != NULL)
			r = tn_str(s, "\r\n", out);
		else
			r = 0;
		if (r != 0)
			return r;
		if (line[0] == '\0')
			return tn_str(s, s->svc->login_prompt, out); /* Enter alone: login asks again */
		s->state = TN_PASSWORD;
		return tn_str(s, s->svc->password_prompt[0] != '\0' ? s->svc->password_prompt : "Password: ", out);
	case TN_PASSWORD:
		return tn_password(s, line, out, delay_ms);
	case TN_NEWPASS:
		r = tn_str(s, "\r\n", out);
		if (r != 0)
			return r;
		if (line[0] == '\0') {
			r = tn_str(s, "passwd: password unchanged\r\n", out);
			return r != 0 ? r : EMU_CLOSE;
		}
		snprintf(s->newpass, sizeof(s->newpass), "%s", line);
		s->state = TN_RETYPE;
		return tn_str(s, "Retype new password: ", out);
	case TN_RETYPE: {
		r = tn_str(s, "\r\n", out);
		if (r != 0)
			return r;
		bool same = strlen(line) == strlen(s->newpass) && sodium_memcmp(line, s->newpass, strlen(line)) == 0;
		if (!same) {
			r = tn_str(s, "Sorry, passwords do not match.\r\npasswd: password unchanged\r\n", out);
			return r != 0 ? r : EMU_CLOSE;
		}
		/* Kept for this connection only: the device is shared and const here. */
		r = tn_str(s, "passwd: password updated successfully\r\n", out);
		return r != 0 ? r : tn_start_shell(s, out);
	}
	case TN_SHELL: {
		struct toride_buf cmd;
		toride_buf_init(&cmd, EMU_TN_CMD_OUT_MAX);
		if (s->tn != NULL)
			r = tn_str(s, "\r\n", out);
		else
			r = 0;
		int ret = r == 0 ? emu_shell_exec(s->sh, line, &cmd) : r;
		if (ret == TORIDE_ETOOBIG)
			ret = EMU_CONTINUE; /* what fit is shown, as a terminal would */
		r = ret < 0 ? ret : tn_text(s, cmd.data, cmd.len, out);
		toride_buf_free(&cmd);
		if (r != 0)
			return r;
		if (ret == EMU_CLOSE)
			return EMU_CLOSE;
		return tn_shell_prompt(s, out);
	}
	}
	return TORIDE_ESTATE;
}

/* Echo like a telnetd that offered WILL ECHO: everything but passwords. */
static bool
tn_echoes(const struct tn_srv *s)
{
	return s->tn != NULL && (s->state == TN_LOGIN || s->state == TN_SHELL);
}

static int
tn_bytes(struct tn_srv *s, const uint8_t *p, size_t n, struct toride_buf *out, unsigned *delay_ms)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (s->last_cr) {
			s->last_cr = false;
			if (c == '\n' || c == '\0')
				continue; /* CR LF and CR NUL end one line, not two */
		}
		if (c == '\r' || c == '\n') {
			s->last_cr = c == '\r';
			bool over = s->overlong;
			s->line[s->linelen] = '\0';
			s->linelen = 0;
			s->overlong = false;
			int r;
			if (!over) {
				r = tn_line(s, s->line, out, delay_ms);
			} else if (s->state == TN_SHELL) {
				r = tn_str(s, "\r\n", out);
				if (r == 0)
					r = tn_shell_prompt(s, out);
			} else {
				r = tn_fail(s, out, delay_ms); /* no credential is that long */
			}
			if (r != EMU_CONTINUE) {
				sodium_memzero(s->line, sizeof(s->line));
				return r;
			}
			continue;
		}
		if (c == 0x7f || c == 0x08) {
			if (s->linelen > 0) {
				s->linelen--;
				if (tn_echoes(s)) {
					int r = tn_str(s, "\b \b", out);
					if (r != 0)
						return r;
				}
			}
			continue;
		}
		if (c == 0x03 && s->state == TN_SHELL) {
			s->linelen = 0; /* ^C: drop the line, new prompt */
			int r = tn_str(s, "^C\r\n", out);
			if (r == 0)
				r = tn_shell_prompt(s, out);
			if (r != 0)
				return r;
			continue;
		}
		if (c == '\0')
			continue;
		if (s->linelen >= EMU_TN_LINE_MAX) {
			s->overlong = true;
			continue;
		}
		s->line[s->linelen++] = (char)c;
		if (tn_echoes(s)) {
			int r = tn_text(s, &c, 1, out);
			if (r != 0)
				return r;
		}
	}
	return EMU_CONTINUE;
}

static int
tn_input(void *st, const uint8_t *in, size_t n, struct toride_buf *out, unsigned *delay_ms)
{
	struct tn_srv *s = st;
	if (s->tn == NULL)
		return tn_bytes(s, in, n, out, delay_ms);
	for (size_t off = 0; off < n;) {
		size_t take = n - off < EMU_TN_SLICE ? n - off : EMU_TN_SLICE;
		toride_buf_reset(&s->app);
		toride_buf_reset(&s->reply);
		int r = toride_telnet_recv(s->tn, in + off, take, &s->app, &s->reply);
		if (r != 0)
			return r;
		off += take;
		if (s->reply.len > 0) {
			r = toride_buf_append(out, s->reply.data, s->reply.len);
			if (r != 0)
				return r;
		}
		r = tn_bytes(s, s->app.data, s->app.len, out, delay_ms);
		if (r != EMU_CONTINUE)
			return r;
	}
	return EMU_CONTINUE;
}

static void
tn_close(void *st)
{
	struct tn_srv *s = st;
	if (s == NULL)
		return;
	emu_shell_free(s->sh);
	toride_telnet_free(s->tn);
	toride_buf_free(&s->app);
	toride_buf_free(&s->reply);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

const struct emu_server_ops emu_telnet_server = {
	.proto = EMU_TELNET,
	.open = tn_open,
	.input = tn_input,
	.close = tn_close,
};
