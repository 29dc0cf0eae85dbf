/*
 * Telnet for toride: (1) option negotiation on top of libtelnet, hardened against hostile peers,
 * and (2) a pure classifier of what the server's screen currently asks for (login name, password,
 * a shell prompt candidate, a failure message, "press a key").
 *
 * The classifier never decides that a login succeeded: a SHELL_PROMPT is a candidate that the
 * survey engine proves by echoing a random marker. See docs/telnet-login.md for the rules.
 */
#ifndef TORIDE_PROTO_TELNET_H
#define TORIDE_PROTO_TELNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Longest line toride_telnet_send_line() accepts: user names, passwords and marker commands are
 * short; a longer line is a caller bug, not something to put on the wire. */
#define TORIDE_TELNET_LINE_MAX 1024

/* Terminal we claim to be: the size busybox, Mirai and PuTTY defaults use. */
#define TORIDE_TELNET_NAWS_WIDTH 80
#define TORIDE_TELNET_NAWS_HEIGHT 24

struct toride_telnet;

/* Client-side telnet session. Answers negotiation like a dumb terminal client: agrees to the
 * server's WILL ECHO and WILL SGA (answers DO), offers NAWS 80x24 and TTYPE ("xterm", then
 * "vt100", then "vt100" again to end the RFC 1091 list) when asked, refuses every other option
 * (DONT/WONT) and never answers a repeated request (RFC 1143 Q-method, done by libtelnet).
 * Subnegotiations of options libtelnet would parse but we never agree to (COMPRESS2, ENVIRON,
 * NEW-ENVIRON, MSSP, ZMP) are neutralised before libtelnet sees them (see telnet.c for why).
 * Returns 0 and sets *out, or TORIDE_EINVAL / TORIDE_ENOMEM. */
int toride_telnet_client_new(struct toride_telnet **out);

/* Server-side session for the device emulator: offers WILL ECHO and WILL SGA, asks DO NAWS and
 * DO TTYPE (toride_telnet_server_start() writes those requests), asks for the terminal type
 * when the client agrees, refuses everything else. Returns 0 or TORIDE_EINVAL / TORIDE_ENOMEM. */
int toride_telnet_server_new(struct toride_telnet **out);

/* Server only: append the opening negotiation (IAC WILL ECHO, IAC WILL SGA, IAC DO NAWS,
 * IAC DO TTYPE) to wire. Returns 0, TORIDE_ESTATE on a client session, or the buffer's error. */
int toride_telnet_server_start(struct toride_telnet *t, struct toride_buf *wire);

/* Server only: the opening negotiation busybox telnetd sends, byte for byte (IAC DO ECHO, IAC DO
 * NAWS, IAC WILL ECHO, IAC WILL SGA): what most IoT devices show, and what scanners such as
 * nmap -sV match to name "BusyBox telnetd". Returns as toride_telnet_server_start(). */
int toride_telnet_server_start_busybox(struct toride_telnet *t, struct toride_buf *wire);

/* Free a session; NULL is fine. */
void toride_telnet_free(struct toride_telnet *t);

/* Feed n received wire bytes (any split: an IAC sequence may straddle calls). Decoded
 * application data is appended to app exactly as received (CR LF, CR NUL and NUL bytes are kept:
 * they are evidence), negotiation replies to reply (the caller sends them). Returns 0,
 * TORIDE_EINVAL (NULL argument), TORIDE_ETOOBIG (app or reply hit its cap; the rest of this input
 * is dropped), TORIDE_ENOMEM, or TORIDE_EPROTO (libtelnet reported a fatal error). Errors are
 * sticky: once a call failed, every later call returns the same error; drop the session. */
int toride_telnet_recv(struct toride_telnet *t, const uint8_t *in, size_t n, struct toride_buf *app,
		       struct toride_buf *reply);

/* Encode one line for the wire: line is given WITHOUT a terminator and CR LF is appended (what
 * busybox telnetd, real devices and Mirai expect); IAC bytes are doubled. A line containing CR,
 * LF, or longer than TORIDE_TELNET_LINE_MAX is refused with TORIDE_EINVAL, so one credential can
 * never become two lines. Returns 0, TORIDE_EINVAL, or the buffer's error (sticky as above). */
int toride_telnet_send_line(struct toride_telnet *t, const char *line, struct toride_buf *wire);

/* Encode n bytes of application data for the wire with IAC doubled and nothing else changed
 * (for the emulator: banners and prompts are sent verbatim). Returns 0 or an error as above. */
int toride_telnet_send_data(struct toride_telnet *t, const uint8_t *p, size_t n, struct toride_buf *wire);

/* Did the peer send any negotiation (WILL/WONT/DO/DONT or a subnegotiation)? */
bool toride_telnet_negotiated(const struct toride_telnet *t);

/* Write a short summary of the peer's distinct negotiation commands, in the order first seen,
 * e.g. "DO SGA,WILL ECHO,DO NAWS" (unknown options by number: "DO 200"; subnegotiations as
 * "SB TTYPE"). At most TORIDE_TELNET_SUMMARY_MAX distinct commands are remembered. Always
 * NUL-terminates when outlen > 0. Returns 0, TORIDE_EINVAL (out NULL or outlen 0) or
 * TORIDE_ETOOBIG (summary truncated to fit). */
#define TORIDE_TELNET_SUMMARY_MAX 32
int toride_telnet_options_summary(const struct toride_telnet *t, char *out, size_t outlen);

/* Server only: the terminal type the client reported with SB TTYPE IS ("" if none yet) and the
 * window size from SB NAWS (0x0 if none). */
const char *toride_telnet_peer_ttype(const struct toride_telnet *t);
void toride_telnet_peer_window(const struct toride_telnet *t, unsigned *width, unsigned *height);

/* What the server's screen currently asks for. */
enum toride_tn_screen {
	TORIDE_TN_NOTHING = 0,     /* no actionable prompt (yet): banner text, MOTD, partial line */
	TORIDE_TN_LOGIN_PROMPT,    /* asks for a user name */
	TORIDE_TN_PASSWORD_PROMPT, /* asks for a password */
	TORIDE_TN_SHELL_PROMPT,    /* looks like a command prompt: a CANDIDATE only, prove with a marker */
	TORIDE_TN_FAILURE,         /* says the login failed ("Login incorrect", "Access denied", ...) */
	TORIDE_TN_PRESS_KEY,       /* "Press any key" / "press ENTER to continue" */
};

/* Longest text the classifiers look at: only the last this-many bytes of text are examined, so a
 * caller that re-classifies a growing buffer after every read stays linear, and a failure message
 * plus a re-prompt always fit. */
#define TORIDE_TELNET_CLASSIFY_WINDOW 8192

/* Classify the text received since the last thing we sent (decoded application data; may hold
 * ANSI escapes, NULs, CR/LF, UTF-8 or Shift_JIS/GBK bytes). Returns FAILURE when the text holds a
 * failure message (toride_telnet_text_has_failure), unless the last line is a shell prompt
 * candidate (a RHEL MOTD says "Last failed login: ..." right before a successful shell);
 * otherwise the class of the last non-empty line (toride_telnet_classify_prompt). */
enum toride_tn_screen toride_telnet_classify(const char *text, size_t len);

/* The class of the last non-empty line alone, ignoring failure messages: tells the caller which
 * prompt follows a failure ("Login incorrect\r\nlogin: " is FAILURE for toride_telnet_classify
 * and LOGIN_PROMPT here), so the next attempt can reuse the re-prompt. Never returns FAILURE. */
enum toride_tn_screen toride_telnet_classify_prompt(const char *text, size_t len);

/* True if any line of text says a login failed ("Login incorrect", "Access denied",
 * "Authentication failed", ...; the list is in docs/telnet-login.md). Meaningful on text
 * received after a credential was sent: legal banners may use the same words. */
bool toride_telnet_text_has_failure(const char *text, size_t len);

/* Static name of a screen class ("login-prompt", ...); never NULL. */
const char *toride_telnet_screen_name(enum toride_tn_screen s);

#endif
