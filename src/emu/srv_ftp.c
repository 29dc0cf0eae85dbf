/*
 * Emulated FTP control connection (sans-IO, RFC 959): greeting, USER/PASS with the device's
 * credential policy or anonymous login, SYST, PWD, FEAT, NOOP, QUIT. No data connections: a
 * client that asks for one gets 502, which is what a survey or a scanner needs to see.
 * Replies use vsftpd's wording, the daemon most embedded devices ship.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "emu/emu.h"

/* Longest command line: RFC 959 commands are a verb and a path; vsftpd refuses lines over
 * 4 KiB, so do we ("500 Input line too long.") and hang up. */
#define EMU_FTP_LINE_MAX 4096
/* Failed logins before "421" and hang-up: vsftpd's max_login_fails default. */
#define EMU_FTP_MAX_FAILS 3

enum ftp_state { FTP_WANT_USER, FTP_WANT_PASS, FTP_LOGGED_IN };

struct ftp_srv {
	const struct emu_device *dev;
	const struct emu_service *svc;
	enum ftp_state state;
	bool anon;                 /* USER named the anonymous account */
	unsigned fails;
	char user[128];
	size_t linelen;
	bool overlong;
	char line[EMU_FTP_LINE_MAX + 1];
};

/* Greeting: "220 text"; a banner of several lines becomes a multi-line 220 reply. */
static int
ftp_greet(const struct emu_service *svc, struct toride_buf *out)
{
	const char *b = svc->banner[0] != '\0' ? svc->banner : "(vsFTPd 2.3.4)";
	int r = 0;
	while (r == 0) {
		size_t n = strcspn(b, "\r\n");
		const char *next = b + n;
		while (*next == '\r' || *next == '\n')
			next++;
		bool last = *next == '\0';
		r = toride_buf_printf(out, "220%c%.*s\r\n", last ? ' ' : '-', (int)n, b);
		if (last)
			break;
		b = next;
	}
	return r;
}

static void *
ftp_open(const struct emu_device *dev, const struct emu_service *svc, struct toride_buf *out, unsigned *delay_ms)
{
	(void)delay_ms;
	struct ftp_srv *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->dev = dev;
	s->svc = svc;
	if (ftp_greet(svc, out) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static bool
ftp_login_ok(const struct ftp_srv *s, const char *pass)
{
	const struct emu_device *d = s->dev;
	if (d->profile->policy == EMU_CRED_NO_AUTH)
		return true;
	/* A forced-change account cannot be used before its password is changed, and FTP has no
	 * way to change it. */
	if (d->profile->policy == EMU_CRED_FORCED_CHANGE && !d->pass_changed)
		return false;
	return emu_device_check_login(d, s->user, pass);
}

static int
ftp_command(struct ftp_srv *s, char *line, struct toride_buf *out)
{
	char *arg = line + strcspn(line, " ");
	if (*arg != '\0')
		*arg++ = '\0';
	const char *verb = line;

	if (strcasecmp(verb, "QUIT") == 0) {
		int r = toride_buf_append_str(out, "221 Goodbye.\r\n");
		return r != 0 ? r : EMU_CLOSE;
	}
	if (strcasecmp(verb, "USER") == 0) {
		if (s->state == FTP_LOGGED_IN)
			return toride_buf_append_str(out, "530 Can't change to another user.\r\n");
		size_t n = strlen(arg);
		if (n >= sizeof(s->user))
			n = sizeof(s->user) - 1;
		memcpy(s->user, arg, n);
		s->user[n] = '\0';
		s->anon = s->svc->anonymous && (strcasecmp(arg, "anonymous") == 0 || strcasecmp(arg, "ftp") == 0);
		s->state = FTP_WANT_PASS;
		return toride_buf_append_str(out, "331 Please specify the password.\r\n");
	}
	if (strcasecmp(verb, "PASS") == 0) {
		if (s->state == FTP_LOGGED_IN)
			return toride_buf_append_str(out, "230 Already logged in.\r\n");
		if (s->state != FTP_WANT_PASS)
			return toride_buf_append_str(out, "503 Login with USER first.\r\n");
		if (s->anon || ftp_login_ok(s, arg)) {
			s->state = FTP_LOGGED_IN;
			return toride_buf_append_str(out, "230 Login successful.\r\n");
		}
		s->state = FTP_WANT_USER;
		if (++s->fails >= EMU_FTP_MAX_FAILS) {
			int r = toride_buf_append_str(out, "530 Login incorrect.\r\n421 Too many login failures.\r\n");
			return r != 0 ? r : EMU_CLOSE;
		}
		return toride_buf_append_str(out, "530 Login incorrect.\r\n");
	}
	if (strcasecmp(verb, "SYST") == 0)
		return toride_buf_append_str(out, "215 UNIX Type: L8\r\n");
	if (strcasecmp(verb, "FEAT") == 0)
		return toride_buf_append_str(out, "211-Features:\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n"
		                                  " SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n");
	if (strcasecmp(verb, "NOOP") == 0)
		return toride_buf_append_str(out, "200 NOOP ok.\r\n");
	if (s->state != FTP_LOGGED_IN)
		return toride_buf_append_str(out, "530 Please login with USER and PASS.\r\n");
	if (strcasecmp(verb, "PWD") == 0 || strcasecmp(verb, "XPWD") == 0)
		return toride_buf_append_str(out, "257 \"/\" is the current directory\r\n");
	return toride_buf_append_str(out, "502 Command not implemented.\r\n");
}

static int
ftp_input(void *st, const uint8_t *in, size_t n, struct toride_buf *out, unsigned *delay_ms)
{
	struct ftp_srv *s = st;
	(void)delay_ms;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (c == '\n') {
			if (s->overlong) {
				int r = toride_buf_append_str(out, "500 Input line too long.\r\n");
				return r != 0 ? r : EMU_CLOSE;
			}
			if (s->linelen > 0 && s->line[s->linelen - 1] == '\r')
				s->linelen--;
			s->line[s->linelen] = '\0';
			s->linelen = 0;
			if (s->line[0] == '\0')
				continue; /* vsftpd ignores empty lines */
			int r = ftp_command(s, s->line, out);
			if (r != EMU_CONTINUE)
				return r;
			continue;
		}
		if (c == '\0')
			c = ' '; /* a NUL would cut the C string short; the verb check then fails cleanly */
		if (s->linelen >= EMU_FTP_LINE_MAX) {
			s->overlong = true;
			continue;
		}
		s->line[s->linelen++] = (char)c;
	}
	if (s->overlong) {
		int r = toride_buf_append_str(out, "500 Input line too long.\r\n");
		return r != 0 ? r : EMU_CLOSE;
	}
	return EMU_CONTINUE;
}

static void
ftp_close(void *st)
{
	free(st);
}

const struct emu_server_ops emu_ftp_server = {
	.proto = EMU_FTP,
	.open = ftp_open,
	.input = ftp_input,
	.close = ftp_close,
};
