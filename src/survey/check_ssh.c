/*
 * SSH checks through libssh in non-blocking mode, driven by the survey's libuv loop.
 *
 * JP-34-10-1: the server accepts the "none" authentication method (RFC 4252 5.2): no credential
 * at all. Otherwise the answer to "none" lists the methods the server accepts.
 * JP-34-10-2: each pair through "password" or, where only that is offered,
 * "keyboard-interactive" (the password answers the prompts that do not echo). A server ends the
 * connection when the user name changes (OpenSSH, dropbear), so one connection serves the
 * consecutive pairs of one user. Success is the server's USERAUTH_SUCCESS: proof "strong".
 * Nothing is run after a login: we disconnect.
 */
#include <jansson.h>
#include <libssh/libssh.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/event.h"
#include "survey/engine.h"
#include "survey/fingerprint.h"

/* Why 100 ms: libssh may hold a decoded packet without the socket being readable again; a
 * periodic nudge keeps such a session moving without a busy loop. */
#define SSH_KICK_MS 100
/* Why 4: keyboard-interactive rounds on real devices: one prompt round, sometimes an empty one. */
#define SSH_KBDINT_ROUNDS 4

enum sstate { SS_CONNECT, SS_NONE, SS_METHODS, SS_PASSWORD, SS_KBDINT, SS_CLOSE };

struct sshc {
	struct live_node live; /* first member */
	struct service *svc;
	ssh_session s;
	uv_poll_t poll;
	uv_timer_t timer;
	bool poll_init, closing;
	int handles;
	bool ident;
	enum sstate st;
	const struct toride_cred *cred;
	char user[TORIDE_CRED_FIELD_MAX + 1]; /* user of this connection */
	double step_started;
	unsigned kbd_rounds;
	struct toride_buf transcript;
	double started;
};

static void ssh_step(struct sshc *x);
static void ssh_close(struct sshc *x);

static void
ssh_note(struct sshc *x, const char *line)
{
	if (x->transcript.len > 0)
		toride_buf_append_str(&x->transcript, "\n");
	toride_buf_append_str(&x->transcript, line);
}

static void
ssh_handle_closed(uv_handle_t *h)
{
	struct sshc *x = h->data;
	if (--x->handles > 0)
		return;
	if (x->s != NULL) {
		ssh_disconnect(x->s);
		ssh_free(x->s);
	}
	struct service *svc = x->svc;
	toride_buf_free(&x->transcript);
	service_ext_end(svc, &x->live);
	free(x);
}

static void
ssh_close(struct sshc *x)
{
	if (x->closing)
		return;
	x->closing = true;
	x->st = SS_CLOSE;
	uv_timer_stop(&x->timer);
	uv_close((uv_handle_t *)&x->timer, ssh_handle_closed);
	if (x->poll_init) {
		uv_poll_stop(&x->poll);
		uv_close((uv_handle_t *)&x->poll, ssh_handle_closed);
	}
}

static void
ssh_abort(struct live_node *n)
{
	ssh_close((struct sshc *)n);
}

/* An evidence conversation for svc_finding: it only needs the transcript and the start time. */
static void
ssh_finding(struct sshc *x, const char *req, const char *summary, const char *note)
{
	struct conv *ev = calloc(1, sizeof *ev);
	if (ev == NULL)
		return;
	ev->transcript = x->transcript;
	ev->started = x->started;
	svc_finding(x->svc, req, VERDICT_FAIL, "strong", summary, x->cred, ev, NULL, note);
	free(ev);
}

static void
poll_cb(uv_poll_t *p, int status, int events)
{
	struct sshc *x = p->data;
	ssh_step(x);
}

static void
timer_cb(uv_timer_t *t)
{
	struct sshc *x = t->data;
	const struct toride_survey_config *cfg = survey_config(x->svc->host->survey);
	double waited = (toride_time_now() - x->step_started) * 1000.0;
	unsigned limit = x->st == SS_CONNECT ? cfg->connect_timeout_ms + cfg->read_timeout_ms : cfg->read_timeout_ms;
	if (waited > limit) {
		if (x->cred != NULL)
			svc_login_attempt(x->svc, x->cred, "error", "timeout");
		ssh_note(x, "timeout");
		x->svc->inconclusive = true;
		ssh_close(x);
		return;
	}
	ssh_step(x);
}

static void
ssh_watch(struct sshc *x)
{
	if (x->closing)
		return;
	if (!x->poll_init) {
		socket_t fd = ssh_get_fd(x->s);
		if (fd == SSH_INVALID_SOCKET)
			return; /* the kick timer tries again */
		if (uv_poll_init_socket(x->svc->host->survey ? survey_loop(x->svc->host->survey) : NULL, &x->poll, fd) != 0)
			return;
		x->poll.data = x;
		x->poll_init = true;
		x->handles++;
	}
	int ev = UV_READABLE;
	if (x->st == SS_CONNECT || (ssh_get_poll_flags(x->s) & SSH_WRITE_PENDING))
		ev |= UV_WRITABLE;
	uv_poll_start(&x->poll, ev, poll_cb);
}

static bool
next_pair_same_user(struct sshc *x)
{
	struct service *svc = x->svc;
	if (!service_may_attempt(svc) || !service_creds_left(svc))
		return false;
	const struct toride_cred *peek = service_peek_cred(svc);
	if (peek != NULL && strcmp(peek->user, x->user) != 0)
		return false; /* a new user name needs a new connection */
	x->cred = service_next_cred(svc);
	service_count_attempt(svc);
	return true;
}

static void
ssh_begin_attempt(struct sshc *x)
{
	bool kbd = strstr(x->svc->ssh_methods, "password") == NULL &&
	           strstr(x->svc->ssh_methods, "keyboard-interactive") != NULL;
	x->st = kbd ? SS_KBDINT : SS_PASSWORD;
	x->kbd_rounds = 0;
	x->step_started = toride_time_now();
}

static void
ssh_attempt_result(struct sshc *x, int rc)
{
	struct service *svc = x->svc;
	char line[512];
	snprintf(line, sizeof line, "%s %s / %s -> %s", x->st == SS_KBDINT ? "keyboard-interactive" : "password",
	         x->cred->user, x->cred->pass,
	         rc == SSH_AUTH_SUCCESS ? "SUCCESS" : rc == SSH_AUTH_PARTIAL ? "PARTIAL" : "DENIED");
	ssh_note(x, line);
	if (rc == SSH_AUTH_SUCCESS) {
		svc->found_cred = true;
		svc_login_attempt(svc, x->cred, "accepted", "USERAUTH_SUCCESS");
		ssh_finding(x, "JP-34-10-2", "SSH server accepts a default credential",
		            "the server answered USERAUTH_SUCCESS to the credential; nothing was run");
		ssh_close(x);
		return;
	}
	svc_login_attempt(svc, x->cred, "rejected", rc == SSH_AUTH_PARTIAL ? "partial" : "denied");
	x->cred = NULL;
	if (ssh_is_connected(x->s) && next_pair_same_user(x)) {
		ssh_begin_attempt(x);
		ssh_step(x);
		return;
	}
	ssh_close(x);
}

static void
ssh_step(struct sshc *x)
{
	struct service *svc = x->svc;
	int rc;
	if (x->closing)
		return;
	switch (x->st) {
	case SS_CONNECT:
		rc = ssh_connect(x->s);
		if (rc == SSH_AGAIN)
			break;
		if (rc != SSH_OK) {
			ssh_note(x, ssh_get_error(x->s));
			if (x->cred != NULL && !service_retry_cred(svc, x->cred))
				svc_login_attempt(svc, x->cred, "error", "connect failed");
			if (x->ident)
				svc->inconclusive = true;
			ssh_close(x);
			return;
		}
		{
			const char *b = ssh_get_serverbanner(x->s);
			char line[300];
			snprintf(line, sizeof line, "server: %s", b ? b : "?");
			ssh_note(x, line);
		}
		x->step_started = toride_time_now();
		if (x->ident) {
			x->st = SS_NONE;
		} else {
			ssh_begin_attempt(x);
		}
		ssh_step(x);
		return;
	case SS_NONE:
		rc = ssh_userauth_none(x->s, NULL);
		if (rc == SSH_AUTH_AGAIN)
			break;
		svc->ssh_none_done = true;
		if (rc == SSH_AUTH_SUCCESS) {
			ssh_note(x, "auth none -> SUCCESS");
			svc->noauth_fail = true;
			ssh_finding(x, "JP-34-10-1", "SSH server grants access without any authentication",
			            "the \"none\" method was accepted (RFC 4252 5.2)");
			ssh_close(x);
			return;
		}
		if (rc == SSH_AUTH_ERROR) {
			ssh_note(x, ssh_get_error(x->s));
			svc->inconclusive = true;
			ssh_close(x);
			return;
		}
		{
			int methods = ssh_userauth_list(x->s, NULL);
			char m[128], line[200];
			snprintf(m, sizeof m, "%s%s%s%s", methods & SSH_AUTH_METHOD_PUBLICKEY ? "publickey," : "",
			         methods & SSH_AUTH_METHOD_PASSWORD ? "password," : "",
			         methods & SSH_AUTH_METHOD_INTERACTIVE ? "keyboard-interactive," : "",
			         methods & SSH_AUTH_METHOD_HOSTBASED ? "hostbased," : "");
			if (m[0] != '\0')
				m[strlen(m) - 1] = '\0';
			snprintf(svc->ssh_methods, sizeof svc->ssh_methods, "%s", m);
			snprintf(line, sizeof line, "auth none -> denied, methods: %s", m);
			ssh_note(x, line);
			svc_detail(svc, "ssh_auth_methods", json_string(m));
			svc->needs_auth = true;
			if ((methods & (SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE)) == 0)
				snprintf(svc->unknown_note, sizeof svc->unknown_note,
				         "no password login offered (methods: %.80s): default passwords cannot apply", m);
		}
		ssh_close(x);
		return;
	case SS_PASSWORD:
		rc = ssh_userauth_password(x->s, x->cred->user, x->cred->pass);
		if (rc == SSH_AUTH_AGAIN)
			break;
		if (rc == SSH_AUTH_ERROR) {
			/* The server dropped us (too many tries): give the pair back for a new connection. */
			if (!service_retry_cred(svc, x->cred)) {
				svc_login_attempt(svc, x->cred, "error", ssh_get_error(x->s));
				svc->inconclusive = true;
			}
			ssh_close(x);
			return;
		}
		ssh_attempt_result(x, rc);
		return;
	case SS_KBDINT:
		rc = ssh_userauth_kbdint(x->s, x->cred->user, NULL);
		if (rc == SSH_AUTH_AGAIN)
			break;
		if (rc == SSH_AUTH_INFO && x->kbd_rounds++ < SSH_KBDINT_ROUNDS) {
			int n = ssh_userauth_kbdint_getnprompts(x->s);
			for (int i = 0; i < n; i++) {
				char echo = 0;
				const char *prompt = ssh_userauth_kbdint_getprompt(x->s, (unsigned)i, &echo);
				bool asks_user = echo && prompt != NULL && (strcasestr(prompt, "user") || strcasestr(prompt, "login"));
				ssh_userauth_kbdint_setanswer(x->s, (unsigned)i, asks_user ? x->cred->user : x->cred->pass);
			}
			ssh_step(x);
			return;
		}
		if (rc == SSH_AUTH_ERROR || rc == SSH_AUTH_INFO) {
			if (!service_retry_cred(svc, x->cred)) {
				svc_login_attempt(svc, x->cred, "error", "keyboard-interactive failed");
				svc->inconclusive = true;
			}
			ssh_close(x);
			return;
		}
		ssh_attempt_result(x, rc);
		return;
	case SS_METHODS:
	case SS_CLOSE:
		return;
	}
	ssh_watch(x);
}

static struct sshc *
ssh_start(struct service *svc, bool ident)
{
	struct survey *sv = svc->host->survey;
	const struct toride_survey_config *cfg = survey_config(sv);
	struct sshc *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->svc = svc;
	x->ident = ident;
	x->live.abort = ssh_abort;
	toride_buf_init(&x->transcript, CONV_TRANSCRIPT_MAX);
	x->s = ssh_new();
	if (x->s == NULL) {
		free(x);
		return NULL;
	}
	long timeout = (long)(cfg->connect_timeout_ms / 1000 + 1);
	unsigned port = svc->port;
	int no = 0;
	bool process_config = false;
	ssh_options_set(x->s, SSH_OPTIONS_HOST, svc->host->addr_str);
	ssh_options_set(x->s, SSH_OPTIONS_PORT, &port);
	ssh_options_set(x->s, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_options_set(x->s, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
	ssh_options_set(x->s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
	ssh_options_set(x->s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
	ssh_options_set(x->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	if (!ident) {
		if (!next_pair_same_user(x) && x->cred == NULL) {
			/* next_pair_same_user refuses a user change; a fresh connection takes any pair */
			if (!service_may_attempt(svc) || (x->cred = service_next_cred(svc)) == NULL) {
				ssh_free(x->s);
				free(x);
				return NULL;
			}
			service_count_attempt(svc);
		}
		snprintf(x->user, sizeof x->user, "%s", x->cred->user);
		ssh_options_set(x->s, SSH_OPTIONS_USER, x->user);
	} else {
		ssh_options_set(x->s, SSH_OPTIONS_USER, "root");
	}
	ssh_set_blocking(x->s, 0);
	uv_timer_init(survey_loop(sv), &x->timer);
	x->timer.data = x;
	x->handles = 1;
	x->st = SS_CONNECT;
	x->started = x->step_started = toride_time_now();
	service_ext_begin(svc, &x->live);
	uv_timer_start(&x->timer, timer_cb, SSH_KICK_MS, SSH_KICK_MS);
	ssh_step(x);
	return x;
}

void
ssh_next(struct service *svc)
{
	if (!svc->ssh_none_done) {
		if (svc->ssh_none_tried)
			return; /* the none check could not complete: nothing more to learn */
		svc->ssh_none_tried = true;
		ssh_start(svc, true);
		return;
	}
	if (strstr(svc->ssh_methods, "password") == NULL && strstr(svc->ssh_methods, "keyboard-interactive") == NULL)
		return;
	if (!service_ready_for_login(svc))
		return;
	ssh_start(svc, false);
}
