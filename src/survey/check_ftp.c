/*
 * FTP checks. JP-34-10-1: anonymous login ("USER anonymous" / "PASS" an e-mail address answered
 * 230). JP-34-10-2: a listed pair answered 230. Several pairs per connection while the server
 * keeps answering 530 (vsftpd allows 3); QUIT after a success. Nothing but USER/PASS/QUIT is sent.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/ftp.h"
#include "survey/engine.h"
#include "survey/fingerprint.h"

/* The anonymous password identifies the survey, as FTP etiquette (RFC 1635) suggests. */
#define FTP_ANON_PASS "survey@toride.invalid"

enum fstate { F_BANNER, F_USER, F_PASS, F_DONE };

struct fm {
	bool ident;       /* anonymous check */
	enum fstate st;
	const struct toride_cred *cred;
	struct toride_buf in;
};

static void
fm_destroy(struct fm *m)
{
	if (m != NULL)
		toride_buf_free(&m->in);
	free(m);
}

static void
fm_free(struct conv *c)
{
	fm_destroy(c->mod);
	c->mod = NULL;
}

static void
fm_cmd(struct conv *c, const char *verb, const char *arg)
{
	char line[300];
	if (strpbrk(arg, "\r\n") != NULL) {
		conv_close(c); /* a pair with CR/LF would inject a command: never sent */
		return;
	}
	int n = snprintf(line, sizeof line, "%s %s\r\n", verb, arg);
	if (n < 0 || (size_t)n >= sizeof line) {
		conv_close(c);
		return;
	}
	conv_write(c, line, (size_t)n);
	conv_set_timeout(c, survey_config(conv_survey(c))->read_timeout_ms);
}

static void
fm_next_pair(struct conv *c)
{
	struct fm *m = c->mod;
	struct service *svc = c->svc;
	if (m->ident) {
		m->st = F_USER;
		fm_cmd(c, "USER", "anonymous");
		return;
	}
	if (!service_may_attempt(svc) || (m->cred = service_next_cred(svc)) == NULL) {
		conv_write(c, "QUIT\r\n", 6);
		conv_close(c);
		return;
	}
	service_count_attempt(svc);
	m->st = F_USER;
	fm_cmd(c, "USER", m->cred->user);
}

static void
fm_reply(struct conv *c, int code, const char *text)
{
	struct fm *m = c->mod;
	struct service *svc = c->svc;
	switch (m->st) {
	case F_BANNER:
		if (code != 220) {
			snprintf(svc->unknown_note, sizeof svc->unknown_note, "FTP greeting %d", code);
			conv_close(c);
			return;
		}
		if (m->ident) {
			svc_identified(svc, PROTO_FTP, text, strlen(text));
			svc_fingerprint(svc, TORIDE_FP_FTP_BANNER, text, strlen(text));
		}
		fm_next_pair(c);
		return;
	case F_USER:
		if (code == 230)
			goto accepted; /* no password needed at all */
		if (code == 331 || code == 332) {
			m->st = F_PASS;
			fm_cmd(c, "PASS", m->ident ? FTP_ANON_PASS : m->cred->pass);
			return;
		}
		goto rejected;
	case F_PASS:
		if (code == 230)
			goto accepted;
		goto rejected;
	case F_DONE:
		return;
	}
	return;
accepted:
	m->st = F_DONE;
	if (m->ident) {
		svc->noauth_fail = true;
		svc_finding(svc, "JP-34-10-1", VERDICT_FAIL, "strong", "FTP server allows anonymous login", NULL, c, NULL,
		            "USER anonymous answered 230");
	} else {
		svc->found_cred = true;
		svc_login_attempt(svc, m->cred, "accepted", "230");
		svc_finding(svc, "JP-34-10-2", VERDICT_FAIL, "strong", "FTP server accepts a default credential", m->cred, c,
		            NULL, "USER/PASS answered 230");
	}
	conv_write(c, "QUIT\r\n", 6);
	conv_close(c);
	return;
rejected:
	if (m->ident) {
		svc->needs_auth = true;
		conv_write(c, "QUIT\r\n", 6);
		conv_close(c);
		return;
	}
	svc_login_attempt(svc, m->cred, "rejected", text);
	m->cred = NULL;
	if (code == 421) {
		conv_close(c);
		return;
	}
	fm_next_pair(c);
}

static void
fm_on_data(struct conv *c, const uint8_t *p, size_t n)
{
	struct fm *m = c->mod;
	if (toride_buf_append(&m->in, p, n) != 0) {
		c->svc->inconclusive = true;
		conv_close(c);
		return;
	}
	while (m->in.len > 0 && !c->closing) {
		size_t used = 0;
		int code = 0;
		char text[TORIDE_FTP_MAX_REPLY];
		int r = toride_ftp_parse_reply(m->in.data, m->in.len, &used, &code, text, sizeof text);
		if (r == TORIDE_EINCOMPLETE)
			return;
		if (r != 0) {
			c->svc->inconclusive = true;
			conv_close(c);
			return;
		}
		toride_buf_consume(&m->in, used);
		if (code >= 100 && code < 200)
			continue; /* preliminary reply: wait for the final one */
		fm_reply(c, code, text);
	}
}

static void
fm_on_timeout(struct conv *c)
{
	struct fm *m = c->mod;
	if (m->cred != NULL)
		svc_login_attempt(c->svc, m->cred, "error", "timeout");
	c->svc->inconclusive = true;
	conv_close(c);
}

static void
fm_on_eof(struct conv *c)
{
	struct fm *m = c->mod;
	if (m->cred != NULL && !service_retry_cred(c->svc, m->cred)) {
		svc_login_attempt(c->svc, m->cred, "error", "connection closed");
		c->svc->inconclusive = true;
	}
	conv_close(c);
}

static void
fm_on_connect(struct conv *c)
{
	conv_set_timeout(c, survey_config(conv_survey(c))->read_timeout_ms);
}

const struct conv_ops ftp_ops = {
	.name = "ftp",
	.on_connect = fm_on_connect,
	.on_data = fm_on_data,
	.on_timeout = fm_on_timeout,
	.on_eof = fm_on_eof,
	.on_free = fm_free,
};

static struct fm *
fm_new(bool ident)
{
	struct fm *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->ident = ident;
	m->st = F_BANNER;
	toride_buf_init(&m->in, TORIDE_FTP_MAX_REPLY * 2);
	return m;
}

void
ftp_take_over(struct conv *c, const uint8_t *p, size_t n)
{
	struct fm *m = fm_new(true);
	if (m == NULL) {
		conv_close(c);
		return;
	}
	conv_switch(c, &ftp_ops, m);
	c->svc->proto = PROTO_FTP;
	fm_on_data(c, p, n);
}

void
ftp_next(struct service *svc)
{
	if (!service_ready_for_login(svc))
		return;
	struct fm *m = fm_new(false);
	if (m == NULL)
		return;
	if (service_conv_start(svc, &ftp_ops, m, true) == NULL)
		fm_destroy(m);
}
