/*
 * Telnet negotiation (libtelnet wrapper) and the login-screen classifier.
 *
 * Why a filter sits in front of libtelnet (Debian ships libtelnet 0.21):
 *  - libtelnet parses the subnegotiations of COMPRESS2, ZMP, TTYPE, ENVIRON, NEW-ENVIRON and MSSP
 *    whether or not the option was ever negotiated. An unsolicited IAC SB COMPRESS2 IAC SE makes it
 *    inflate the rest of the stream (a peer we never agreed MCCP with could feed us a zlib bomb).
 *  - In 0.21 _environ_telnet() returns 1 on success, which _process() takes as "compression
 *    started" and re-enters telnet_recv() for the rest of the buffer: every ENVIRON/NEW-ENVIRON SB
 *    adds a stack level (each with a 1 KiB inflate buffer). A peer sending thousands of 6-byte
 *    "IAC SB NEW-ENVIRON SEND IAC SE" crashes the process by stack overflow.
 *  - In 0.21 _mssp_telnet() reads one byte past the SB buffer when the SB fills it exactly.
 * So we track libtelnet's byte-level state machine in parallel (tn_filter_byte, a copy of the 0.21
 * _process() transitions) and rewrite the option byte of such a subnegotiation to an option
 * libtelnet treats as opaque (TN_TELOPT_NEUTRAL). We never agree to those options, so nothing of
 * value is lost. libtelnet buffers at most TN_LIBTELNET_SB_MAX bytes of one subnegotiation, then
 * reports a warning and treats the rest as data (bounded by the caller's app buffer cap).
 */
#include "proto/telnet.h"

#include <stddef.h> /* libtelnet.h uses size_t without including it */
#include <libtelnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* libtelnet 0.21's largest subnegotiation buffer (_buffer_sizes[] = 0, 512, 2048, 8192, 16384). */
#define TN_LIBTELNET_SB_MAX 16384

/* Option code libtelnet has no special parser for and that no real peer uses: replaces the
 * option byte of subnegotiations we must keep away from libtelnet's parsers. */
#define TN_TELOPT_NEUTRAL 0xEF

/* Input is copied (and filtered) in pieces of this size before libtelnet sees it; small enough for
 * the stack, large enough that a typical read is one piece. It also bounds any recursion inside
 * libtelnet to what one piece can hold (defence in depth behind the filter). */
#define TN_CHUNK 2048

enum tn_role { TN_CLIENT, TN_SERVER };

/* Mirror of libtelnet 0.21's TELNET_STATE_* (see tn_filter_byte). */
enum tn_fstate { TF_DATA, TF_IAC, TF_NEG, TF_SB, TF_SB_DATA, TF_SB_DATA_IAC };

/* Longest terminal type name a client may report to our server that we keep. */
#define TN_TTYPE_MAX 40

struct tn_seen {
	uint8_t cmd; /* TELNET_WILL/WONT/DO/DONT or TELNET_SB */
	uint8_t opt;
};

struct toride_telnet {
	telnet_t *tel;
	enum tn_role role;
	int err; /* sticky first error */
	/* Buffers of the call in progress; the event handler appends to them. */
	struct toride_buf *cur_app;
	struct toride_buf *cur_out;
	/* Filter state mirroring libtelnet's parser. */
	enum tn_fstate fstate;
	uint8_t neg_cmd;
	size_t sb_len;
	/* What the peer sent, for identification. */
	bool negotiated;
	struct tn_seen seen[TORIDE_TELNET_SUMMARY_MAX];
	size_t nseen;
	/* Client: options in effect on our side and the TTYPE answer cycle (RFC 1091). */
	bool naws_on;
	bool ttype_on;
	unsigned ttype_sent;
	/* Server: what the client told us. */
	char peer_ttype[TN_TTYPE_MAX + 1];
	unsigned peer_width, peer_height;
};

static const telnet_telopt_t tn_client_opts[] = {
	{TELNET_TELOPT_ECHO, TELNET_WONT, TELNET_DO},
	{TELNET_TELOPT_SGA, TELNET_WONT, TELNET_DO},
	{TELNET_TELOPT_NAWS, TELNET_WILL, TELNET_DONT},
	{TELNET_TELOPT_TTYPE, TELNET_WILL, TELNET_DONT},
	{-1, 0, 0},
};

static const telnet_telopt_t tn_server_opts[] = {
	{TELNET_TELOPT_ECHO, TELNET_WILL, TELNET_DONT},
	{TELNET_TELOPT_SGA, TELNET_WILL, TELNET_DONT},
	{TELNET_TELOPT_NAWS, TELNET_WONT, TELNET_DO},
	{TELNET_TELOPT_TTYPE, TELNET_WONT, TELNET_DO},
	{-1, 0, 0},
};

/* Terminal types the client offers, in order; the last is repeated to end the list (RFC 1091). */
static const char *const tn_ttypes[] = {"xterm", "vt100"};

static void
tn_fail(struct toride_telnet *t, int err)
{
	if (t->err == 0)
		t->err = err;
}

static void
tn_append(struct toride_telnet *t, struct toride_buf *b, const void *p, size_t n)
{
	if (t->err != 0 || b == NULL || n == 0)
		return;
	int r = toride_buf_append(b, p, n);
	if (r != 0)
		tn_fail(t, r);
}

static void
tn_remember(struct toride_telnet *t, uint8_t cmd, uint8_t opt)
{
	t->negotiated = true;
	for (size_t i = 0; i < t->nseen; i++)
		if (t->seen[i].cmd == cmd && t->seen[i].opt == opt)
			return;
	if (t->nseen < TORIDE_TELNET_SUMMARY_MAX) {
		t->seen[t->nseen].cmd = cmd;
		t->seen[t->nseen].opt = opt;
		t->nseen++;
	}
}

static bool
tn_quarantined_opt(uint8_t opt)
{
	switch (opt) {
	case TELNET_TELOPT_COMPRESS2:
	case TELNET_TELOPT_ZMP:
	case TELNET_TELOPT_ENVIRON:
	case TELNET_TELOPT_NEW_ENVIRON:
	case TELNET_TELOPT_MSSP:
		return true;
	default:
		return false;
	}
}

/* State after libtelnet's TELNET_STATE_IAC sees byte b. */
static enum tn_fstate
tn_after_iac(struct toride_telnet *t, uint8_t b)
{
	switch (b) {
	case TELNET_SB:
		return TF_SB;
	case TELNET_WILL:
	case TELNET_WONT:
	case TELNET_DO:
	case TELNET_DONT:
		t->neg_cmd = b;
		return TF_NEG;
	default:
		return TF_DATA;
	}
}

/* Advance the mirror of libtelnet 0.21's _process() by one byte and return the byte libtelnet
 * should see (the option byte of a quarantined subnegotiation is rewritten). */
static uint8_t
tn_filter_byte(struct toride_telnet *t, uint8_t b)
{
	switch (t->fstate) {
	case TF_DATA:
		if (b == TELNET_IAC)
			t->fstate = TF_IAC;
		break;
	case TF_IAC:
		t->fstate = tn_after_iac(t, b);
		break;
	case TF_NEG:
		tn_remember(t, t->neg_cmd, b);
		t->fstate = TF_DATA;
		break;
	case TF_SB:
		tn_remember(t, TELNET_SB, b);
		t->sb_len = 0;
		t->fstate = TF_SB_DATA;
		if (tn_quarantined_opt(b))
			b = TN_TELOPT_NEUTRAL;
		break;
	case TF_SB_DATA:
		if (b == TELNET_IAC)
			t->fstate = TF_SB_DATA_IAC;
		else if (t->sb_len >= TN_LIBTELNET_SB_MAX)
			t->fstate = TF_DATA; /* libtelnet: overflow warning, back to data */
		else
			t->sb_len++;
		break;
	case TF_SB_DATA_IAC:
		if (b == TELNET_SE) {
			t->fstate = TF_DATA;
		} else if (b == TELNET_IAC) {
			if (t->sb_len >= TN_LIBTELNET_SB_MAX) {
				t->fstate = TF_DATA;
			} else {
				t->sb_len++;
				t->fstate = TF_SB_DATA;
			}
		} else {
			/* libtelnet ends the SB and handles b as the byte after an IAC. */
			t->fstate = tn_after_iac(t, b);
		}
		break;
	}
	return b;
}

static void
tn_client_on_do(struct toride_telnet *t, telnet_t *tel, uint8_t opt)
{
	if (opt == TELNET_TELOPT_NAWS) {
		t->naws_on = true;
		const unsigned char naws[4] = {
			0, TORIDE_TELNET_NAWS_WIDTH, 0, TORIDE_TELNET_NAWS_HEIGHT,
		};
		telnet_subnegotiation(tel, TELNET_TELOPT_NAWS, (const char *)naws, sizeof naws);
	} else if (opt == TELNET_TELOPT_TTYPE) {
		t->ttype_on = true;
	}
}

static void
tn_server_on_sub(struct toride_telnet *t, const telnet_event_t *ev)
{
	if (ev->sub.telopt == TELNET_TELOPT_NAWS && ev->sub.size == 4) {
		const unsigned char *p = (const unsigned char *)ev->sub.buffer;
		t->peer_width = (unsigned)p[0] << 8 | p[1];
		t->peer_height = (unsigned)p[2] << 8 | p[3];
	}
}

static void
tn_event(telnet_t *tel, telnet_event_t *ev, void *ud)
{
	struct toride_telnet *t = ud;

	switch (ev->type) {
	case TELNET_EV_DATA:
		tn_append(t, t->cur_app, ev->data.buffer, ev->data.size);
		break;
	case TELNET_EV_SEND:
		tn_append(t, t->cur_out, ev->data.buffer, ev->data.size);
		break;
	case TELNET_EV_DO:
		if (t->role == TN_CLIENT)
			tn_client_on_do(t, tel, ev->neg.telopt);
		break;
	case TELNET_EV_DONT:
		if (ev->neg.telopt == TELNET_TELOPT_NAWS)
			t->naws_on = false;
		else if (ev->neg.telopt == TELNET_TELOPT_TTYPE)
			t->ttype_on = false;
		break;
	case TELNET_EV_WILL:
		if (t->role == TN_SERVER && ev->neg.telopt == TELNET_TELOPT_TTYPE)
			telnet_ttype_send(tel);
		break;
	case TELNET_EV_SUBNEGOTIATION:
		if (t->role == TN_SERVER)
			tn_server_on_sub(t, ev);
		break;
	case TELNET_EV_TTYPE:
		if (t->role == TN_CLIENT && ev->ttype.cmd == TELNET_TTYPE_SEND && t->ttype_on) {
			size_t n = sizeof tn_ttypes / sizeof tn_ttypes[0];
			size_t i = t->ttype_sent < n ? t->ttype_sent : n - 1;
			telnet_ttype_is(tel, tn_ttypes[i]);
			if (t->ttype_sent < n)
				t->ttype_sent++;
		} else if (t->role == TN_SERVER && ev->ttype.cmd == TELNET_TTYPE_IS &&
			   ev->ttype.name != NULL) {
			snprintf(t->peer_ttype, sizeof t->peer_ttype, "%s", ev->ttype.name);
		}
		break;
	case TELNET_EV_COMPRESS:
		/* Cannot happen with the filter; if it does, the stream is no longer telnet to us. */
		if (ev->compress.state)
			tn_fail(t, TORIDE_EPROTO);
		break;
	case TELNET_EV_ERROR:
		tn_fail(t, TORIDE_EPROTO);
		break;
	default:
		/* IAC commands (NOP, GA, AYT, ...), warnings: nothing to do. */
		break;
	}
}

static int
tn_new(enum tn_role role, struct toride_telnet **out)
{
	if (out == NULL)
		return TORIDE_EINVAL;
	*out = NULL;
	struct toride_telnet *t = calloc(1, sizeof *t);
	if (t == NULL)
		return TORIDE_ENOMEM;
	t->role = role;
	t->fstate = TF_DATA;
	t->tel = telnet_init(role == TN_CLIENT ? tn_client_opts : tn_server_opts, tn_event, 0, t);
	if (t->tel == NULL) {
		free(t);
		return TORIDE_ENOMEM;
	}
	*out = t;
	return 0;
}

int
toride_telnet_client_new(struct toride_telnet **out)
{
	return tn_new(TN_CLIENT, out);
}

int
toride_telnet_server_new(struct toride_telnet **out)
{
	return tn_new(TN_SERVER, out);
}

struct tn_opening {
	unsigned char cmd, opt;
};

/* Write a server's opening negotiation (a fixed list of requests) to wire. */
static int
tn_server_open(struct toride_telnet *t, struct toride_buf *wire, const struct tn_opening *seq, size_t n)
{
	if (t == NULL || wire == NULL)
		return TORIDE_EINVAL;
	if (t->role != TN_SERVER)
		return TORIDE_ESTATE;
	if (t->err != 0)
		return t->err;
	t->cur_out = wire;
	for (size_t i = 0; i < n; i++)
		telnet_negotiate(t->tel, seq[i].cmd, seq[i].opt);
	t->cur_out = NULL;
	return t->err;
}

int
toride_telnet_server_start(struct toride_telnet *t, struct toride_buf *wire)
{
	static const struct tn_opening seq[] = {
		{TELNET_WILL, TELNET_TELOPT_ECHO},
		{TELNET_WILL, TELNET_TELOPT_SGA},
		{TELNET_DO, TELNET_TELOPT_NAWS},
		{TELNET_DO, TELNET_TELOPT_TTYPE},
	};
	return tn_server_open(t, wire, seq, sizeof seq / sizeof seq[0]);
}

int
toride_telnet_server_start_busybox(struct toride_telnet *t, struct toride_buf *wire)
{
	/* busybox telnetd (networking/telnetd.c make_new_session) sends exactly these four. */
	static const struct tn_opening seq[] = {
		{TELNET_DO, TELNET_TELOPT_ECHO},
		{TELNET_DO, TELNET_TELOPT_NAWS},
		{TELNET_WILL, TELNET_TELOPT_ECHO},
		{TELNET_WILL, TELNET_TELOPT_SGA},
	};
	return tn_server_open(t, wire, seq, sizeof seq / sizeof seq[0]);
}

void
toride_telnet_free(struct toride_telnet *t)
{
	if (t == NULL)
		return;
	telnet_free(t->tel);
	free(t);
}

int
toride_telnet_recv(struct toride_telnet *t, const uint8_t *in, size_t n, struct toride_buf *app,
		   struct toride_buf *reply)
{
	if (t == NULL || app == NULL || reply == NULL || (in == NULL && n > 0))
		return TORIDE_EINVAL;
	if (t->err != 0)
		return t->err;
	uint8_t chunk[TN_CHUNK];
	t->cur_app = app;
	t->cur_out = reply;
	size_t off = 0;
	while (off < n && t->err == 0) {
		size_t k = n - off < sizeof chunk ? n - off : sizeof chunk;
		for (size_t i = 0; i < k; i++)
			chunk[i] = tn_filter_byte(t, in[off + i]);
		telnet_recv(t->tel, (const char *)chunk, k);
		off += k;
	}
	t->cur_app = NULL;
	t->cur_out = NULL;
	return t->err;
}

int
toride_telnet_send_data(struct toride_telnet *t, const uint8_t *p, size_t n, struct toride_buf *wire)
{
	if (t == NULL || wire == NULL || (p == NULL && n > 0))
		return TORIDE_EINVAL;
	if (t->err != 0)
		return t->err;
	t->cur_out = wire;
	if (n > 0)
		telnet_send(t->tel, (const char *)p, n);
	t->cur_out = NULL;
	return t->err;
}

int
toride_telnet_send_line(struct toride_telnet *t, const char *line, struct toride_buf *wire)
{
	if (t == NULL || line == NULL || wire == NULL)
		return TORIDE_EINVAL;
	size_t n = strnlen(line, TORIDE_TELNET_LINE_MAX + 1);
	if (n > TORIDE_TELNET_LINE_MAX || memchr(line, '\r', n) != NULL || memchr(line, '\n', n) != NULL)
		return TORIDE_EINVAL;
	if (t->err != 0)
		return t->err;
	/* Check room first so a full buffer never holds half a line. */
	size_t iacs = 0;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)line[i] == TELNET_IAC)
			iacs++;
	if (n + iacs + 2 > wire->max - wire->len)
		return TORIDE_ETOOBIG;
	t->cur_out = wire;
	if (n > 0)
		telnet_send(t->tel, line, n);
	telnet_send(t->tel, "\r\n", 2);
	t->cur_out = NULL;
	return t->err;
}

bool
toride_telnet_negotiated(const struct toride_telnet *t)
{
	return t != NULL && t->negotiated;
}

static const char *
tn_cmd_name(uint8_t cmd)
{
	switch (cmd) {
	case TELNET_WILL:
		return "WILL";
	case TELNET_WONT:
		return "WONT";
	case TELNET_DO:
		return "DO";
	case TELNET_DONT:
		return "DONT";
	default:
		return "SB";
	}
}

static const char *
tn_opt_name(uint8_t opt)
{
	switch (opt) {
	case TELNET_TELOPT_BINARY: return "BINARY";
	case TELNET_TELOPT_ECHO: return "ECHO";
	case TELNET_TELOPT_SGA: return "SGA";
	case TELNET_TELOPT_STATUS: return "STATUS";
	case TELNET_TELOPT_TM: return "TM";
	case TELNET_TELOPT_LOGOUT: return "LOGOUT";
	case TELNET_TELOPT_TTYPE: return "TTYPE";
	case TELNET_TELOPT_EOR: return "EOR";
	case TELNET_TELOPT_NAWS: return "NAWS";
	case TELNET_TELOPT_TSPEED: return "TSPEED";
	case TELNET_TELOPT_LFLOW: return "LFLOW";
	case TELNET_TELOPT_LINEMODE: return "LINEMODE";
	case TELNET_TELOPT_XDISPLOC: return "XDISPLOC";
	case TELNET_TELOPT_ENVIRON: return "ENVIRON";
	case TELNET_TELOPT_AUTHENTICATION: return "AUTHENTICATION";
	case TELNET_TELOPT_ENCRYPT: return "ENCRYPT";
	case TELNET_TELOPT_NEW_ENVIRON: return "NEW-ENVIRON";
	case TELNET_TELOPT_MSSP: return "MSSP";
	case TELNET_TELOPT_COMPRESS2: return "COMPRESS2";
	case TELNET_TELOPT_ZMP: return "ZMP";
	default: return NULL;
	}
}

int
toride_telnet_options_summary(const struct toride_telnet *t, char *out, size_t outlen)
{
	if (t == NULL || out == NULL || outlen == 0)
		return TORIDE_EINVAL;
	out[0] = '\0';
	size_t len = 0;
	for (size_t i = 0; i < t->nseen; i++) {
		const char *name = tn_opt_name(t->seen[i].opt);
		char item[32];
		if (name != NULL)
			snprintf(item, sizeof item, "%s%s %s", i ? "," : "", tn_cmd_name(t->seen[i].cmd), name);
		else
			snprintf(item, sizeof item, "%s%s %u", i ? "," : "", tn_cmd_name(t->seen[i].cmd),
				 (unsigned)t->seen[i].opt);
		size_t k = strlen(item);
		if (k >= outlen - len)
			return TORIDE_ETOOBIG; /* keep only whole items */
		memcpy(out + len, item, k + 1);
		len += k;
	}
	return 0;
}

const char *
toride_telnet_peer_ttype(const struct toride_telnet *t)
{
	return t != NULL ? t->peer_ttype : "";
}

void
toride_telnet_peer_window(const struct toride_telnet *t, unsigned *width, unsigned *height)
{
	if (width != NULL)
		*width = t != NULL ? t->peer_width : 0;
	if (height != NULL)
		*height = t != NULL ? t->peer_height : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Screen classifier. Works on a cleaned copy of the last TORIDE_TELNET_CLASSIFY_WINDOW bytes:  */
/* ANSI escapes, NULs and other control bytes removed, CR treated as a line break, tab as a     */
/* space, ASCII folded to lower case (multibyte keywords are folded the same way when compared). */

/* A prompt keyword must sit in the last this-many bytes of the prompt line: "<long banner text
 * on one line> login:" is a prompt, a keyword far to the left of the colon is banner text. */
#define TN_PROMPT_TAIL 48
/* Longest line that may be a shell prompt; longer lines are text (a deep cwd still fits). */
#define TN_SHELL_LINE_MAX 80
/* Most whitespace-separated words before the prompt symbol ("C:\Documents and Settings\x>"). */
#define TN_SHELL_MAX_WORDS 4

struct tn_pat {
	const char *s;
	unsigned char word; /* 1: ASCII letters must not touch either end */
};

static const struct tn_pat tn_password_words[] = {
	{"password", 0}, {"passwd", 0}, {"passcode", 0}, {"passphrase", 0}, {"pass", 1}, {"pin", 1},
	{"\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89", 0}, /* パスワード UTF-8 */
	{"\x83\x70\x83\x58\x83\x8f\x81\x5b\x83\x68", 0},                     /* パスワード Shift_JIS */
	{"\xe5\xaf\x86\xe7\xa0\x81", 0},                                     /* 密码 UTF-8 */
	{"\xc3\xdc\xc2\xeb", 0},                                             /* 密码 GBK */
	{"\xe5\x8f\xa3\xe4\xbb\xa4", 0},                                     /* 口令 UTF-8 */
	{"\xbf\xda\xc1\xee", 0},                                             /* 口令 GBK */
	{NULL, 0},
};

static const struct tn_pat tn_login_words[] = {
	{"login", 0}, {"log in", 0}, {"logon", 0}, {"log on", 0}, {"user", 0}, {"account", 0},
	/* Longer forms only matter for '>' prompts, where the keyword must end the line. */
	{"username", 0}, {"user name", 0}, {"userid", 0}, {"user id", 0}, {"login name", 0},
	{"benutzer", 0}, {"usuario", 0}, {"utilisateur", 0},
	{"\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6", 0},             /* ユーザ UTF-8 */
	{"\x83\x86\x81\x5b\x83\x55", 0},                         /* ユーザ Shift_JIS */
	{"\xe3\x83\xad\xe3\x82\xb0\xe3\x82\xa4\xe3\x83\xb3", 0}, /* ログイン UTF-8 */
	{"\x83\x8d\x83\x4f\x83\x43\x83\x93", 0},                 /* ログイン Shift_JIS */
	{"\xe7\x94\xa8\xe6\x88\xb7", 0},                         /* 用户 UTF-8 */
	{"\xd3\xc3\xbb\xa7", 0},                                 /* 用户 GBK */
	{"\xe8\xb4\xa6\xe5\x8f\xb7", 0},                         /* 账号 UTF-8 */
	{"\xd5\xcb\xba\xc5", 0},                                 /* 账号 GBK */
	{"\xe5\xb8\x90\xe5\x8f\xb7", 0},                         /* 帐号 UTF-8 */
	{"\xd5\xca\xba\xc5", 0},                                 /* 帐号 GBK */
	{"\xe7\x99\xbb\xe5\xbd\x95", 0},                         /* 登录 UTF-8 */
	{"\xb5\xc7\xc2\xbc", 0},                                 /* 登录 GBK */
	{NULL, 0},
};

static const struct tn_pat tn_failure_words[] = {
	{"incorrect", 0}, {"invalid", 0}, {"failed", 0}, {"failure", 0}, {"denied", 0},
	{"bad password", 0}, {"wrong", 0}, {"not allowed", 0}, {"authentication error", 0},
	{"\xe5\xa4\xb1\xe6\x95\x97", 0}, /* 失敗 UTF-8 */
	{"\x8e\xb8\x94\x73", 0},         /* 失敗 Shift_JIS */
	{"\xe5\xa4\xb1\xe8\xb4\xa5", 0}, /* 失败 UTF-8 */
	{"\xca\xa7\xb0\xdc", 0},         /* 失败 GBK */
	{"\xe9\x94\x99\xe8\xaf\xaf", 0}, /* 错误 UTF-8 */
	{"\xb4\xed\xce\xf3", 0},         /* 错误 GBK */
	{NULL, 0},
};

static const struct tn_pat tn_press_key_words[] = {
	{"press any key", 0}, {"hit any key", 0}, {"press enter", 0}, {"hit enter", 0},
	{"press return", 0}, {"hit return", 0}, {"press <enter>", 0}, {"press [enter]", 0},
	{"press <return>", 0}, {"press the enter key", 0}, {"press the return key", 0},
	{NULL, 0},
};

/* Full-width colons end prompts on Japanese and Chinese devices. */
static const char *const tn_wide_colons[] = {
	"\xef\xbc\x9a", /* UTF-8 */
	"\x81\x46",     /* Shift_JIS */
	"\xa3\xba",     /* GBK */
	NULL,
};

static uint8_t
tn_lc(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool
tn_is_alpha(uint8_t c)
{
	c = tn_lc(c);
	return c >= 'a' && c <= 'z';
}

static bool
tn_is_alnum(uint8_t c)
{
	return tn_is_alpha(c) || (c >= '0' && c <= '9');
}

static bool
tn_match_at(const uint8_t *s, size_t n, size_t at, const char *pat, size_t pn)
{
	if (pn > n - at)
		return false;
	for (size_t i = 0; i < pn; i++)
		if (tn_lc(s[at + i]) != tn_lc((uint8_t)pat[i]))
			return false;
	return true;
}

/* Does s[0..n) contain one of pats? */
static bool
tn_contains_any(const uint8_t *s, size_t n, const struct tn_pat *pats)
{
	for (const struct tn_pat *p = pats; p->s != NULL; p++) {
		size_t pn = strlen(p->s);
		if (pn > n)
			continue;
		for (size_t at = 0; at + pn <= n; at++) {
			if (tn_lc(s[at]) != tn_lc((uint8_t)p->s[0]) || !tn_match_at(s, n, at, p->s, pn))
				continue;
			if (p->word && ((at > 0 && tn_is_alpha(s[at - 1])) ||
					(at + pn < n && tn_is_alpha(s[at + pn]))))
				continue;
			return true;
		}
	}
	return false;
}

/* Does s[0..n) end with one of pats (ignoring nothing: caller trims)? */
static bool
tn_ends_with_any(const uint8_t *s, size_t n, const struct tn_pat *pats)
{
	for (const struct tn_pat *p = pats; p->s != NULL; p++) {
		size_t pn = strlen(p->s);
		if (pn <= n && tn_match_at(s, n, n - pn, p->s, pn)) {
			if (p->word && n > pn && tn_is_alpha(s[n - pn - 1]))
				continue;
			return true;
		}
	}
	return false;
}

/* Copy the classified window of text into out (cap TORIDE_TELNET_CLASSIFY_WINDOW), cleaned as
 * described above; returns the cleaned length. */
static size_t
tn_clean(const char *text, size_t len, uint8_t *out)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t i = len > TORIDE_TELNET_CLASSIFY_WINDOW ? len - TORIDE_TELNET_CLASSIFY_WINDOW : 0;
	size_t o = 0;
	while (i < len) {
		uint8_t c = p[i];
		if (c == 0x1b) {
			i++;
			if (i >= len)
				break;
			if (p[i] == '[') {
				/* CSI: parameters and intermediates, then one final byte 0x40..0x7e. */
				i++;
				while (i < len && !(p[i] >= 0x40 && p[i] <= 0x7e))
					i++;
				i++;
			} else if (p[i] == ']') {
				/* OSC: up to BEL or ESC '\'. */
				i++;
				while (i < len && p[i] != 0x07 && p[i] != 0x1b)
					i++;
				if (i < len && p[i] == 0x1b)
					i++;
				i++;
			} else if (p[i] >= 0x20 && p[i] <= 0x2f) {
				/* ESC intermediate final, e.g. ESC ( B (charset). */
				i += 2;
			} else {
				i++; /* ESC 7, ESC M, ... */
			}
			continue;
		}
		i++;
		if (c == '\r' || c == '\n')
			out[o++] = '\n';
		else if (c == '\t')
			out[o++] = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue; /* NUL, BEL, backspace, ... */
		else
			out[o++] = tn_lc(c);
	}
	return o;
}

static bool
tn_space(uint8_t c)
{
	return c == ' ' || c == '\n';
}

/* Find the last non-empty line of s[0..n), trimmed of spaces both ends. */
static void
tn_last_line(const uint8_t *s, size_t n, const uint8_t **line, size_t *ll)
{
	size_t end = n;
	while (end > 0 && tn_space(s[end - 1]))
		end--;
	size_t start = end;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	while (start < end && s[start] == ' ')
		start++;
	*line = s + start;
	*ll = end - start;
}

static size_t
tn_rtrim(const uint8_t *s, size_t n)
{
	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

enum tn_term { TN_TERM_NONE, TN_TERM_COLON, TN_TERM_GT };

/* Is the line a question that ends with ':' (or a full-width colon) or '>'? Sets *body_len to
 * the length without the terminator and trailing spaces. */
static enum tn_term
tn_prompt_term(const uint8_t *l, size_t n, size_t *body_len)
{
	if (n == 0)
		return TN_TERM_NONE;
	if (l[n - 1] == ':' || l[n - 1] == '>') {
		*body_len = tn_rtrim(l, n - 1);
		return l[n - 1] == ':' ? TN_TERM_COLON : TN_TERM_GT;
	}
	for (size_t i = 0; tn_wide_colons[i] != NULL; i++) {
		size_t k = strlen(tn_wide_colons[i]);
		if (k <= n && tn_match_at(l, n, n - k, tn_wide_colons[i], k)) {
			*body_len = tn_rtrim(l, n - k);
			return TN_TERM_COLON;
		}
	}
	return TN_TERM_NONE;
}

/* Does the prompt body ask for this kind of thing? With ':' the keyword may be anywhere in the
 * tail ("Please keyin your password:", "User Name :"); with '>' it must end the body
 * ("Login>") because "user@host>" is a shell prompt. */
static bool
tn_asks_for(const uint8_t *body, size_t bn, enum tn_term term, const struct tn_pat *words)
{
	if (term == TN_TERM_GT)
		return tn_ends_with_any(body, bn, words);
	size_t from = bn > TN_PROMPT_TAIL ? bn - TN_PROMPT_TAIL : 0;
	return tn_contains_any(body + from, bn - from, words);
}

static bool
tn_is_decoration(uint8_t c)
{
	return c != '\0' && strchr("#$%>*=-_+|<@!.:", c) != NULL;
}

/* Shell prompt candidate: see docs/telnet-login.md. */
static bool
tn_is_shell_prompt(const uint8_t *l, size_t n)
{
	if (n == 0 || n > TN_SHELL_LINE_MAX)
		return false;
	uint8_t sym = l[n - 1];
	if (sym != '#' && sym != '$' && sym != '>' && sym != '%')
		return false;
	size_t bn = tn_rtrim(l, n - 1);
	if (bn == 0)
		return true; /* "#", "$ ", ">" */
	if (tn_is_decoration(l[bn - 1]) || l[0] == sym)
		return false; /* "#####", "#### Welcome ####", "# comment #" */
	bool meaningful = false;
	size_t words = 1;
	for (size_t i = 0; i < bn; i++) {
		uint8_t c = l[i];
		if (tn_is_alnum(c) || c == '/' || c == '~' || c >= 0x80)
			meaningful = true;
		if (c == ' ' && i > 0 && l[i - 1] != ' ')
			words++;
		/* Sentence punctuation followed by a space: prose, not a prompt. */
		if (i + 1 < bn && l[i + 1] == ' ' && strchr(".,!?;", c) != NULL)
			return false;
	}
	if (!meaningful || words > TN_SHELL_MAX_WORDS)
		return false;
	/* "<HUAWEI>" is a prompt, "Welcome to <Device>" is not. */
	if (sym == '>' && memchr(l, '<', bn) != NULL && (l[0] != '<' || words > 1))
		return false;
	/* "Loading 100%" is progress, "host%" is csh. */
	if (sym == '%') {
		size_t w = bn;
		while (w > 0 && l[w - 1] != ' ')
			w--;
		bool digits = true;
		for (size_t i = w; i < bn; i++)
			if (!((l[i] >= '0' && l[i] <= '9') || l[i] == '.'))
				digits = false;
		if (digits)
			return false;
	}
	return true;
}

static enum toride_tn_screen
tn_classify_line(const uint8_t *l, size_t n)
{
	if (n == 0)
		return TORIDE_TN_NOTHING;
	if (tn_contains_any(l, n, tn_press_key_words))
		return TORIDE_TN_PRESS_KEY;
	size_t bn = 0;
	enum tn_term term = tn_prompt_term(l, n, &bn);
	if (term != TN_TERM_NONE) {
		if (tn_asks_for(l, bn, term, tn_password_words))
			return TORIDE_TN_PASSWORD_PROMPT;
		if (tn_asks_for(l, bn, term, tn_login_words))
			return TORIDE_TN_LOGIN_PROMPT;
		/* A prompt that is only "Name:" asks for the user name (and nothing else does). */
		if (term == TN_TERM_COLON && bn == 4 && tn_match_at(l, bn, 0, "name", 4))
			return TORIDE_TN_LOGIN_PROMPT;
	}
	if (tn_is_shell_prompt(l, n))
		return TORIDE_TN_SHELL_PROMPT;
	return TORIDE_TN_NOTHING;
}

enum toride_tn_screen
toride_telnet_classify_prompt(const char *text, size_t len)
{
	if (text == NULL || len == 0)
		return TORIDE_TN_NOTHING;
	uint8_t clean[TORIDE_TELNET_CLASSIFY_WINDOW];
	size_t n = tn_clean(text, len, clean);
	const uint8_t *l;
	size_t ll;
	tn_last_line(clean, n, &l, &ll);
	return tn_classify_line(l, ll);
}

bool
toride_telnet_text_has_failure(const char *text, size_t len)
{
	if (text == NULL || len == 0)
		return false;
	uint8_t clean[TORIDE_TELNET_CLASSIFY_WINDOW];
	size_t n = tn_clean(text, len, clean);
	return tn_contains_any(clean, n, tn_failure_words);
}

enum toride_tn_screen
toride_telnet_classify(const char *text, size_t len)
{
	if (text == NULL || len == 0)
		return TORIDE_TN_NOTHING;
	uint8_t clean[TORIDE_TELNET_CLASSIFY_WINDOW];
	size_t n = tn_clean(text, len, clean);
	const uint8_t *l;
	size_t ll;
	tn_last_line(clean, n, &l, &ll);
	enum toride_tn_screen s = tn_classify_line(l, ll);
	if (s == TORIDE_TN_SHELL_PROMPT)
		return s; /* "Last failed login: ..." MOTD before a real shell */
	if (tn_contains_any(clean, n, tn_failure_words))
		return TORIDE_TN_FAILURE;
	return s;
}

const char *
toride_telnet_screen_name(enum toride_tn_screen s)
{
	switch (s) {
	case TORIDE_TN_NOTHING:
		return "nothing";
	case TORIDE_TN_LOGIN_PROMPT:
		return "login-prompt";
	case TORIDE_TN_PASSWORD_PROMPT:
		return "password-prompt";
	case TORIDE_TN_SHELL_PROMPT:
		return "shell-prompt";
	case TORIDE_TN_FAILURE:
		return "failure";
	case TORIDE_TN_PRESS_KEY:
		return "press-key";
	}
	return "unknown";
}
