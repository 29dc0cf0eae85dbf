/*
 * Telnet checks. JP-34-10-1: a shell without login. JP-34-10-2: a listed pair is accepted.
 *
 * Success is proven, not guessed: after a login (or on a shell offered without one) we send
 *     echo "tr"'<hex>'
 * and look for "tr<hex>" in what comes back. The terminal echo of our own line shows the quotes
 * between the two halves, so only a shell that ran the command prints the joined marker. Where a
 * restricted CLI cannot echo, an accepted login (no failure message, a prompt after our line) is
 * reported with proof "weak". Failure messages and re-prompts end an attempt at once; a banner
 * full of '#' and '$' is never taken for a shell (see proto/telnet.c's classifier).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/telnet.h"
#include "survey/engine.h"
#include "survey/fingerprint.h"

/* Why 300 ms: prompts arrive in pieces ("Pass" + "word: "); a real device finishes a prompt well
 * within this after its last byte, and waiting longer only slows every attempt. */
#define TN_SETTLE_MS 300
/* Why 8 KiB: decoded text since our last line; MOTDs are < 2 KiB; the classifier window is 8 KiB. */
#define TN_APP_MAX (8 * 1024)
/* Why 1 KiB: negotiation replies per read are a few bytes; the cap stops a negotiation storm. */
#define TN_REPLY_MAX 1024

enum tn_state { TN_WAIT_LOGIN, TN_WAIT_PASS, TN_WAIT_RESULT, TN_WAIT_MARKER, TN_DONE };

struct tn {
	struct toride_telnet *t;
	struct toride_buf app;
	struct toride_buf wire;
	bool ident;           /* first conversation: identify and check for a shell without login */
	enum tn_state st;
	const struct toride_cred *cred;
	char marker[16];      /* "tr" + 10 hex */
	double step_started;
	bool poked;
	bool identified;
	size_t marker_sent_len; /* app length right after the marker line was sent */
};

static double
tn_now(void)
{
	uv_timeval64_t tv;
	uv_gettimeofday(&tv);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static struct tn *
tn_new(bool ident)
{
	struct tn *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	if (toride_telnet_client_new(&m->t) != 0) {
		free(m);
		return NULL;
	}
	toride_buf_init(&m->app, TN_APP_MAX);
	toride_buf_init(&m->wire, TN_REPLY_MAX);
	m->ident = ident;
	m->st = TN_WAIT_LOGIN;
	m->step_started = tn_now();
	return m;
}

static void
tn_destroy(struct tn *m)
{
	if (m == NULL)
		return;
	toride_telnet_free(m->t);
	toride_buf_free(&m->app);
	toride_buf_free(&m->wire);
	free(m);
}

static void
tn_free(struct conv *c)
{
	tn_destroy(c->mod);
	c->mod = NULL;
}

static void
tn_flush(struct conv *c)
{
	struct tn *m = c->mod;
	if (m->wire.len > 0) {
		conv_write(c, m->wire.data, m->wire.len);
		toride_buf_reset(&m->wire);
	}
}

static void
tn_send_line(struct conv *c, const char *line)
{
	struct tn *m = c->mod;
	if (toride_telnet_send_line(m->t, line, &m->wire) != 0) {
		/* A credential with CR/LF or an over-long one: never split it into two lines. */
		conv_close(c);
		return;
	}
	tn_flush(c);
	toride_buf_reset(&m->app);
	m->step_started = tn_now();
	m->poked = false;
}

static void
tn_identify(struct conv *c)
{
	struct tn *m = c->mod;
	struct service *svc = c->svc;
	if (m->identified)
		return;
	m->identified = true;
	if (svc->proto == PROTO_TELNET && svc->banner[0] != '\0')
		return; /* known from an earlier conversation */
	svc_identified(svc, PROTO_TELNET, (const char *)m->app.data, m->app.len);
	char opts[256] = "";
	toride_telnet_options_summary(m->t, opts, sizeof opts);
	svc_detail(svc, "telnet_options", json_string(opts));
	svc_fingerprint(svc, TORIDE_FP_TELNET_BANNER, (const char *)m->app.data, m->app.len);
}

static void
tn_send_marker(struct conv *c)
{
	struct tn *m = c->mod;
	char hex[11], cmd[64];
	random_hex(hex, 10);
	snprintf(m->marker, sizeof m->marker, "tr%s", hex);
	snprintf(cmd, sizeof cmd, "echo \"tr\"'%s'", hex);
	m->st = TN_WAIT_MARKER;
	tn_send_line(c, cmd);
}

static void
tn_success(struct conv *c, const char *proof, const char *note)
{
	struct tn *m = c->mod;
	struct service *svc = c->svc;
	if (m->cred == NULL) {
		svc->noauth_fail = true;
		svc_finding(svc, "JP-34-10-1", VERDICT_FAIL, proof,
		            "telnet offers a shell without any login", NULL, c, m->marker, note);
	} else {
		svc->found_cred = true;
		svc->needs_auth = true;
		svc_login_attempt(svc, m->cred, "accepted", proof);
		svc_finding(svc, "JP-34-10-2", VERDICT_FAIL, proof, "telnet accepts a default credential", m->cred, c,
		            m->marker, note);
	}
	m->st = TN_DONE;
	tn_send_line(c, "exit");
	conv_close(c);
}

/* The pending attempt was refused. Continue on this connection if the device re-prompts. */
static void
tn_rejected(struct conv *c, const char *detail)
{
	struct tn *m = c->mod;
	struct service *svc = c->svc;
	if (m->cred != NULL)
		svc_login_attempt(svc, m->cred, "rejected", detail);
	m->cred = NULL;
	m->st = TN_WAIT_LOGIN;
	enum toride_tn_screen p = toride_telnet_classify_prompt((const char *)m->app.data, m->app.len);
	if (p == TORIDE_TN_LOGIN_PROMPT || p == TORIDE_TN_PASSWORD_PROMPT) {
		/* re-prompted: the next pair can use this connection */
		m->step_started = tn_now();
		return;
	}
	/* wait for a re-prompt; the step timeout closes the connection otherwise */
}

static bool
tn_start_attempt(struct conv *c, bool password_only)
{
	struct tn *m = c->mod;
	struct service *svc = c->svc;
	if (m->ident) {
		/* The identifying conversation never sends credentials: it holds no login slot. */
		svc->needs_auth = true;
		conv_close(c);
		return false;
	}
	if (!service_may_attempt(svc) || (m->cred = service_next_cred(svc)) == NULL) {
		conv_close(c);
		return false;
	}
	service_count_attempt(svc);
	if (password_only) {
		m->st = TN_WAIT_RESULT;
		tn_send_line(c, m->cred->pass);
	} else {
		m->st = TN_WAIT_PASS;
		tn_send_line(c, m->cred->user);
	}
	return true;
}

static void
tn_evaluate(struct conv *c, bool quiet)
{
	struct tn *m = c->mod;
	struct service *svc = c->svc;
	const char *text = (const char *)m->app.data;
	size_t len = m->app.len;
	enum toride_tn_screen scr = toride_telnet_classify(text, len);
	enum toride_tn_screen prompt = toride_telnet_classify_prompt(text, len);

	switch (m->st) {
	case TN_WAIT_LOGIN:
		if (scr == TORIDE_TN_LOGIN_PROMPT || prompt == TORIDE_TN_LOGIN_PROMPT) {
			tn_identify(c);
			tn_start_attempt(c, false);
		} else if (scr == TORIDE_TN_PASSWORD_PROMPT) {
			tn_identify(c);
			svc->password_only = true;
			tn_start_attempt(c, true);
		} else if (scr == TORIDE_TN_SHELL_PROMPT && quiet) {
			tn_identify(c);
			tn_send_marker(c); /* a shell before any credential: JP-34-10-1 if the marker echoes */
		} else if (scr == TORIDE_TN_PRESS_KEY && quiet && !m->poked) {
			tn_send_line(c, "");
			m->poked = true;
		} else if (quiet && !m->poked && len == 0) {
			/* Some devices print nothing until a key is pressed. */
			tn_send_line(c, "");
			m->poked = true;
		}
		break;
	case TN_WAIT_PASS:
		if (scr == TORIDE_TN_PASSWORD_PROMPT) {
			m->st = TN_WAIT_RESULT;
			tn_send_line(c, m->cred->pass);
		} else if (scr == TORIDE_TN_FAILURE || prompt == TORIDE_TN_LOGIN_PROMPT) {
			tn_rejected(c, "user refused");
		} else if (scr == TORIDE_TN_SHELL_PROMPT && quiet) {
			/* logged in on the user name alone */
			tn_send_marker(c);
		}
		break;
	case TN_WAIT_RESULT:
		/* classify() already prefers a shell prompt over failure words in a MOTD ("Last failed
		 * login: ..." right before a working shell), so trust it rather than the raw word test. */
		if (scr == TORIDE_TN_FAILURE) {
			tn_rejected(c, "failure message");
		} else if (prompt == TORIDE_TN_LOGIN_PROMPT || prompt == TORIDE_TN_PASSWORD_PROMPT) {
			tn_rejected(c, "re-prompted");
		} else if (scr == TORIDE_TN_SHELL_PROMPT && quiet) {
			tn_send_marker(c);
		}
		break;
	case TN_WAIT_MARKER:
		if (len > 0 && memmem(text, len, m->marker, strlen(m->marker)) != NULL) {
			tn_success(c, "strong", "marker echoed by the device's shell");
		} else if (toride_telnet_text_has_failure(text, len) ||
		           prompt == TORIDE_TN_LOGIN_PROMPT || prompt == TORIDE_TN_PASSWORD_PROMPT) {
			/* The "shell" was not one: our marker line went to a login prompt. */
			tn_rejected(c, "no shell after login");
			conv_close(c);
		}
		break;
	case TN_DONE:
		break;
	}
}

static void
tn_on_data(struct conv *c, const uint8_t *p, size_t n)
{
	struct tn *m = c->mod;
	int r = toride_telnet_recv(m->t, p, n, &m->app, &m->wire);
	tn_flush(c);
	if (r == TORIDE_ETOOBIG) {
		/* Keep the newest text: prompts are at the end. */
		if (m->app.len > TN_APP_MAX / 2)
			toride_buf_consume(&m->app, m->app.len - TN_APP_MAX / 2);
	} else if (r != 0) {
		c->svc->inconclusive = true;
		conv_close(c);
		return;
	}
	if (c->closing)
		return;
	tn_evaluate(c, false);
	if (!c->closing)
		conv_set_timeout(c, TN_SETTLE_MS);
}

static void
tn_on_timeout(struct conv *c)
{
	struct tn *m = c->mod;
	const struct toride_survey_config *cfg = survey_config(conv_survey(c));
	double waited = (tn_now() - m->step_started) * 1000.0;
	tn_evaluate(c, true);
	if (c->closing)
		return;
	if (waited < cfg->read_timeout_ms) {
		double left = cfg->read_timeout_ms - waited;
		conv_set_timeout(c, left < TN_SETTLE_MS ? (unsigned)left + 1 : TN_SETTLE_MS);
		return;
	}
	/* The step timed out. */
	switch (m->st) {
	case TN_WAIT_RESULT:
		/* Silence after the password: prove or refute with the marker. */
		tn_send_marker(c);
		conv_set_timeout(c, TN_SETTLE_MS);
		return;
	case TN_WAIT_MARKER: {
		enum toride_tn_screen p = toride_telnet_classify_prompt((const char *)m->app.data, m->app.len);
		if (m->cred != NULL && p == TORIDE_TN_SHELL_PROMPT) {
			tn_success(c, "weak", "login accepted (no failure message, a command prompt answered) but the "
			                      "device's CLI did not echo the marker");
			return;
		}
		if (m->cred == NULL && p == TORIDE_TN_SHELL_PROMPT && m->app.len > 0) {
			tn_success(c, "weak", "a command prompt is offered without login, but the CLI did not echo the marker");
			return;
		}
		if (m->cred != NULL)
			svc_login_attempt(c->svc, m->cred, "error", "no answer to the marker");
		c->svc->inconclusive = true;
		break;
	}
	case TN_WAIT_LOGIN:
		tn_identify(c);
		if (m->ident && m->app.len > 0)
			c->svc->needs_auth = true; /* text but no prompt we know: try the login path */
		else if (m->ident)
			c->svc->inconclusive = true;
		break;
	case TN_WAIT_PASS:
		if (m->cred != NULL)
			svc_login_attempt(c->svc, m->cred, "error", "no password prompt");
		c->svc->inconclusive = true;
		break;
	case TN_DONE:
		break;
	}
	conv_close(c);
}

static void
tn_on_eof(struct conv *c)
{
	struct tn *m = c->mod;
	tn_evaluate(c, true);
	if (c->closing)
		return;
	if (m->st == TN_WAIT_RESULT || m->st == TN_WAIT_PASS) {
		/* Closed right after our credential without a word: most devices do that after their
		 * last allowed try. Count it as refused, never as success. */
		if (m->cred != NULL)
			svc_login_attempt(c->svc, m->cred, "rejected", "connection closed");
	} else if (m->st == TN_WAIT_MARKER && m->cred != NULL) {
		svc_login_attempt(c->svc, m->cred, "rejected", "connection closed before the marker");
	} else if (m->st == TN_WAIT_LOGIN && m->ident) {
		tn_identify(c);
		if (m->app.len == 0)
			c->svc->inconclusive = true;
	}
	conv_close(c);
}

static void
tn_on_connect(struct conv *c)
{
	conv_set_timeout(c, TN_SETTLE_MS);
}

const struct conv_ops telnet_ops = {
	.name = "telnet",
	.on_connect = tn_on_connect,
	.on_data = tn_on_data,
	.on_timeout = tn_on_timeout,
	.on_eof = tn_on_eof,
	.on_free = tn_free,
};

void
telnet_take_over(struct conv *c, const uint8_t *p, size_t n)
{
	struct tn *m = tn_new(true);
	if (m == NULL) {
		conv_close(c);
		return;
	}
	conv_switch(c, &telnet_ops, m);
	c->svc->proto = PROTO_TELNET;
	tn_on_data(c, p, n);
}

void
telnet_next(struct service *svc)
{
	if (!service_ready_for_login(svc))
		return;
	struct tn *m = tn_new(false);
	if (m == NULL)
		return;
	if (service_conv_start(svc, &telnet_ops, m, true) == NULL)
		tn_destroy(m);
}
