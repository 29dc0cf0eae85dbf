/*
 * SSH service of the emulated fleet (see ssh.h for the threading contract). One acceptor thread
 * waits (epoll) on plain listening sockets; each accepted connection gets a libssh session from one shared
 * ssh_bind (keys and version text are copied into the session by ssh_bind_accept_fd) and its own
 * small thread that runs key exchange, authentication and the emulated shell in blocking libssh
 * calls. Caps: sessions per fleet, auth tries, login grace, idle time, bytes per session.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "core/error.h"
#include "emu/serve.h"
#include "emu/shell.h"
#include "emu/ssh.h"

/* Version text after "SSH-2.0-" when a profile gives none: the most common embedded server. */
#define EMU_SSH_DEFAULT_VERSION "dropbear_2014.63"
/* Why 64: connection bursts from a scanner; the kernel queues them while the acceptor works. */
#define EMU_SSH_BACKLOG 64
/* Why 512 KiB: libssh's crypto and the shell use little stack; the default 8 MiB per thread
 * would reserve gigabytes of address space at the session cap. */
#define EMU_SSH_THREAD_STACK (512 * 1024)
/* Why 4096: longer than any command line a scanner, loader or human types; more is dropped. */
#define EMU_SSH_LINE_MAX 4096
/* Why: the shell caps one command's output at EMU_SHELL_OUT_MAX; 1 KiB more for the prompt. */
#define EMU_SSH_CMD_OUT_MAX (EMU_SHELL_OUT_MAX + 1024)
/* Why 250 ms: how often a session thread looks at the stop flag and its idle clock. */
#define EMU_SSH_POLL_MS 250
/* Why 3 s: dropbear and busybox login pause ~1-3 s after a failed login; a profile asking for
 * more would only hold threads. */
#define EMU_SSH_FAIL_DELAY_MAX_MS 3000
/* Why 2 s: a client closes its side within a round trip after exit-status; a silent one is
 * not waited for longer. */
#define EMU_SSH_LINGER_MS 2000
/* Why 2048: the RSA host key size of embedded dropbear builds; enough for OpenSSH clients. */
#define EMU_SSH_RSA_BITS 2048
/* Why 16: connections accepted per listener per poll round, so one busy address cannot starve
 * the others. */
#define EMU_SSH_ACCEPT_BURST 16
/* Why 64: ready listeners taken per epoll_wait; more wait for the next round. */
#define EMU_SSH_EPOLL_BATCH 64

struct emu_ssh_listener {
	int fd;
	const struct emu_device *dev;
	const struct emu_service *svc;
	char version[EMU_STR_MAX];
};

struct emu_ssh {
	ssh_bind bind;
	struct emu_ssh_listener *l;
	size_t nl, capl;
	unsigned max_sessions, idle_ms;
	bool no_delays;  /* tests: skip the devices' fail delays */
	int wake[2];
	pthread_t acceptor;
	bool started;
	atomic_bool stopping;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *slots;      /* socket of each running session, -1 = free; under mu */
	unsigned active; /* under mu */
	atomic_uint_fast64_t sessions, refused, auth_ok, auth_fail;
	struct emu_ssh_hooks hooks;
};

struct emu_ssh_conn {
	struct emu_ssh *s;
	const struct emu_ssh_listener *l;
	const struct emu_device *dev;   /* the listener's, or the one the open hook chose */
	const struct emu_service *svc;
	void *sess;                     /* the hooks' session context */
	ssh_session ss;
	unsigned slot;
	uint64_t bytes;
	uint64_t start_ms, last_ms;
	bool pty;
	bool changing; /* keyboard-interactive: the forced-change round was sent */
	char user[128];
};

static pthread_once_t emu_ssh_once = PTHREAD_ONCE_INIT;

static void
emu_ssh_lib_init(void)
{
	ssh_init();
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- session thread ------------------------------------------------------------------------- */

static bool
conn_expired(const struct emu_ssh_conn *c)
{
	return atomic_load(&c->s->stopping) || now_ms() - c->start_ms > EMU_SSH_LOGIN_GRACE_MS;
}

/* Channel bytes to the device's observer (the honeypot's transcript). */
static void
conn_tap(const struct emu_ssh_conn *c, char dir, const uint8_t *p, size_t n)
{
	const struct emu_observer *o = c->dev->obs;
	if (o != NULL && o->io != NULL && n > 0)
		o->io(c->dev->obs_arg, dir, p, n);
}

/* Write to the channel, counting bytes; without a pty, "\r\n" becomes "\n" as a real sshd's
 * command output would be. Returns 0 or a negative code (hang up). */
static int
conn_write(struct emu_ssh_conn *c, ssh_channel ch, const uint8_t *p, size_t n)
{
	uint8_t tmp[1024];
	size_t i = 0, o;

	while (i < n) {
		o = 0;
		while (i < n && o < sizeof tmp) {
			if (!c->pty && p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
				i++;
				continue;
			}
			tmp[o++] = p[i++];
		}
		c->bytes += o;
		if (c->bytes > EMU_SSH_MAX_SESSION_BYTES)
			return TORIDE_ETOOBIG;
		conn_tap(c, 'o', tmp, o);
		if (ssh_channel_write(ch, tmp, (uint32_t)o) != (int)o)
			return TORIDE_EIO;
	}
	return 0;
}

static int
conn_write_str(struct emu_ssh_conn *c, ssh_channel ch, const char *s)
{
	return conn_write(c, ch, (const uint8_t *)s, strlen(s));
}

static void
fail_pause(const struct emu_ssh_conn *c)
{
	unsigned ms = c->s->no_delays ? 0 : c->svc->fail_delay_ms;

	if (ms > EMU_SSH_FAIL_DELAY_MAX_MS)
		ms = EMU_SSH_FAIL_DELAY_MAX_MS;
	while (ms > 0 && !atomic_load(&c->s->stopping)) {
		unsigned step = ms > 100 ? 100 : ms;
		usleep(step * 1000u);
		ms -= step;
	}
}

static bool
login_ok(const struct emu_ssh_conn *c, const char *user, const char *pass)
{
	const struct emu_device *d = c->dev;

	if (user == NULL || pass == NULL)
		return false;
	if (d->profile && d->profile->policy == EMU_CRED_KEY_ONLY)
		return false;
	return emu_device_check_login(d, user, pass);
}

/* libssh 0.10 marks the message accessor deprecated in favour of server callbacks, but those
 * cannot count tries and hang up after EMU_SSH_MAX_AUTH_TRIES from a blocking loop; the accessor
 * is still the supported way for kbdint and works for passwords in every 0.x release. */
static const char *
message_password(ssh_message m)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	return ssh_message_auth_password(m);
#pragma GCC diagnostic pop
}

/* FORCED_CHANGE with the factory password still set: no session before a change. */
static bool
must_change(const struct emu_ssh_conn *c)
{
	const struct emu_device *d = c->dev;

	return d->profile && d->profile->policy == EMU_CRED_FORCED_CHANGE && !d->pass_changed;
}

/* The answers to the change round: two equal, non-empty passwords other than the current one.
 * The device is const (fleet data): the change holds for this connection only, as in the
 * telnet server; the next connection is asked again. */
static bool
new_password_ok(struct emu_ssh_conn *c)
{
	const char *a, *b;

	if (ssh_userauth_kbdint_getnanswers(c->ss) != 2)
		return false;
	a = ssh_userauth_kbdint_getanswer(c->ss, 0);
	b = ssh_userauth_kbdint_getanswer(c->ss, 1);
	return a && b && a[0] && strcmp(a, b) == 0 && strcmp(a, c->dev->pass) != 0;
}

/* Authenticate. Returns 1 when logged in, 0 to hang up. */
static int
conn_auth(struct emu_ssh_conn *c)
{
	const struct emu_service *svc = c->svc;
	unsigned tries = 0;
	ssh_message m;

	while (!conn_expired(c)) {
		int type, sub, ok = -1;

		if ((m = ssh_message_get(c->ss)) == NULL)
			return 0;
		type = ssh_message_type(m);
		sub = ssh_message_subtype(m);
		if (type != SSH_REQUEST_AUTH) {
			ssh_message_reply_default(m);
			ssh_message_free(m);
			continue;
		}
		if (sub == SSH_AUTH_METHOD_PASSWORD && svc->ssh_password) {
			const char *u = ssh_message_auth_user(m);
			snprintf(c->user, sizeof c->user, "%s", u ? u : "");
			/* A forced-change account is not usable until changed; the password method
			 * cannot carry the change here, so it fails like an expired account. */
			ok = !must_change(c) && login_ok(c, u, message_password(m));
		} else if (sub == SSH_AUTH_METHOD_INTERACTIVE && svc->ssh_kbdint) {
			if (!ssh_message_auth_kbdint_is_response(m)) {
				const char *prompts[1] = { "Password: " };
				char echo[1] = { 0 };
				const char *u = ssh_message_auth_user(m);
				snprintf(c->user, sizeof c->user, "%s", u ? u : "");
				c->changing = false;
				ssh_message_auth_interactive_request(m, "", "", 1, prompts, echo);
				ssh_message_free(m);
				continue;
			}
			if (c->changing) {
				ok = new_password_ok(c);
				c->changing = false;
			} else {
				ok = ssh_userauth_kbdint_getnanswers(c->ss) == 1 &&
				     login_ok(c, c->user, ssh_userauth_kbdint_getanswer(c->ss, 0));
				if (ok && must_change(c)) {
					/* As PAM does for an expired password: a second round asks
					 * for the new one; the login succeeds only with a real change. */
					const char *prompts[2] = { "New password: ", "Retype new password: " };
					char echo[2] = { 0, 0 };
					c->changing = true;
					ssh_message_auth_interactive_request(m, "Password change",
					        "You are required to change your password immediately "
					        "(administrator enforced)", 2, prompts, echo);
					ssh_message_free(m);
					continue;
				}
			}
		} else if (sub == SSH_AUTH_METHOD_PUBLICKEY) {
			/* No client key is ever authorised (we cannot know the owner's): a key-only
			 * device refuses everyone, which is what the survey must see. Each offered
			 * key counts as a try, as in sshd. */
			ok = 0;
		}
		if (ok == 1) {
			atomic_fetch_add(&c->s->auth_ok, 1);
			ssh_message_auth_reply_success(m, 0);
			ssh_message_free(m);
			return 1;
		}
		if (ok == 0) {
			tries++;
			atomic_fetch_add(&c->s->auth_fail, 1);
			if (sub != SSH_AUTH_METHOD_PUBLICKEY)
				fail_pause(c);
		}
		ssh_message_reply_default(m); /* USERAUTH_FAILURE with the device's methods */
		ssh_message_free(m);
		if (tries >= EMU_SSH_MAX_AUTH_TRIES)
			return 0;
	}
	return 0;
}

/* During the shell, requests that come in (window-change, a second pty-req) get the default
 * reply at once instead of piling up in libssh's message queue. */
static int
late_message_cb(ssh_session session, ssh_message msg, void *data)
{
	(void)session;
	(void)msg;
	(void)data;
	return 1;
}

/* Run one command line through the shell and send its output. Returns EMU_CONTINUE, EMU_CLOSE
 * or a negative code. */
static int
conn_run_line(struct emu_ssh_conn *c, ssh_channel ch, struct emu_shell *sh, const char *line,
              struct toride_buf *out)
{
	int r, w;

	toride_buf_reset(out);
	r = emu_shell_exec(sh, line, out);
	if (r == TORIDE_ETOOBIG) /* what fits was appended: a terminal shows that much */
		r = EMU_CONTINUE;
	if (out->len > 0 && (w = conn_write(c, ch, out->data, out->len)) != 0)
		return w;
	return r;
}

static int
conn_prompt(struct emu_ssh_conn *c, ssh_channel ch, const struct emu_shell *sh)
{
	char p[EMU_STR_MAX + 128];

	emu_shell_prompt(sh, p, sizeof p);
	return conn_write_str(c, ch, p);
}

static void
conn_shell(struct emu_ssh_conn *c, ssh_channel ch, const char *cmd)
{
	struct emu_shell *sh = NULL;
	struct toride_buf out;
	char line[EMU_SSH_LINE_MAX + 1];
	size_t ll = 0;
	uint8_t in[1024];
	int r = EMU_CONTINUE;

	toride_buf_init(&out, EMU_SSH_CMD_OUT_MAX);
	ssh_set_message_callback(c->ss, late_message_cb, NULL);
	if ((r = emu_shell_new(&sh, c->dev)) != 0)
		goto out;
	if (c->svc->shell_prompt[0])
		emu_shell_set_prompt(sh, c->svc->shell_prompt);
	if (c->user[0])
		emu_shell_set_user(sh, c->user);
	if (cmd != NULL) {
		conn_tap(c, 'i', (const uint8_t *)cmd, strlen(cmd));
		r = conn_run_line(c, ch, sh, cmd, &out);
		goto out;
	}
	if (c->svc->motd[0] && conn_write_str(c, ch, c->svc->motd) != 0)
		goto out;
	if (conn_prompt(c, ch, sh) != 0)
		goto out;
	c->last_ms = now_ms();
	while (r == EMU_CONTINUE && !atomic_load(&c->s->stopping)) {
		int n = ssh_channel_read_timeout(ch, in, sizeof in, 0, EMU_SSH_POLL_MS);
		if (n == SSH_ERROR)
			break;
		if (n == 0) {
			if (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch))
				break;
			if (now_ms() - c->last_ms > c->s->idle_ms)
				break;
			continue;
		}
		c->last_ms = now_ms();
		c->bytes += (uint64_t)n;
		if (c->bytes > EMU_SSH_MAX_SESSION_BYTES)
			break;
		conn_tap(c, 'i', in, (size_t)n);
		for (int i = 0; i < n && r == EMU_CONTINUE; i++) {
			uint8_t b = in[i];
			if (b == '\r' || b == '\n') {
				/* A pty sends "\r" per Enter; a pipe "\n"; "\r\n" is one line end. */
				if (b == '\n' && i > 0 && in[i - 1] == '\r')
					continue;
				if (c->pty && conn_write_str(c, ch, "\r\n") != 0) {
					r = TORIDE_EIO;
					break;
				}
				line[ll] = '\0';
				ll = 0;
				r = conn_run_line(c, ch, sh, line, &out);
				if (r == EMU_CONTINUE && conn_prompt(c, ch, sh) != 0)
					r = TORIDE_EIO;
			} else if (b == 0x03) { /* ^C: drop the line */
				ll = 0;
				if (conn_write_str(c, ch, "^C\r\n") != 0 || conn_prompt(c, ch, sh) != 0)
					r = TORIDE_EIO;
			} else if (b == 0x04 && ll == 0) { /* ^D on an empty line: logout */
				r = EMU_CLOSE;
			} else if (b == 0x7f || b == 0x08) {
				if (ll > 0) {
					ll--;
					if (c->pty && conn_write_str(c, ch, "\b \b") != 0)
						r = TORIDE_EIO;
				}
			} else if (b >= 0x20 || b == '\t') {
				if (ll < EMU_SSH_LINE_MAX) {
					line[ll++] = (char)b;
					if (c->pty && conn_write(c, ch, &b, 1) != 0)
						r = TORIDE_EIO;
				}
			}
		}
	}
out:
	if (r == EMU_CONTINUE || r == EMU_CLOSE) {
		ssh_channel_request_send_exit_status(ch, 0);
		ssh_channel_send_eof(ch);
	}
	ssh_channel_close(ch);
	emu_shell_free(sh);
	toride_buf_free(&out);
}

/* After login: one session channel; pty/env accepted; shell or exec runs the emulated shell;
 * everything else (port forwarding, subsystems such as sftp, x11, agent) is refused. */
static void
conn_channels(struct emu_ssh_conn *c)
{
	ssh_channel ch = NULL;
	ssh_message m;
	char cmd[EMU_SSH_LINE_MAX + 1];

	while (!conn_expired(c)) {
		int type, sub;

		if ((m = ssh_message_get(c->ss)) == NULL)
			break;
		type = ssh_message_type(m);
		sub = ssh_message_subtype(m);
		if (type == SSH_REQUEST_CHANNEL_OPEN && sub == SSH_CHANNEL_SESSION && ch == NULL) {
			ch = ssh_message_channel_request_open_reply_accept(m);
			ssh_message_free(m);
			if (ch == NULL)
				break;
			continue;
		}
		if (type == SSH_REQUEST_CHANNEL && ch != NULL && ssh_message_channel_request_channel(m) == ch) {
			if (sub == SSH_CHANNEL_REQUEST_PTY) {
				c->pty = true;
				ssh_message_channel_request_reply_success(m);
				ssh_message_free(m);
				continue;
			}
			if (sub == SSH_CHANNEL_REQUEST_ENV || sub == SSH_CHANNEL_REQUEST_WINDOW_CHANGE) {
				ssh_message_channel_request_reply_success(m);
				ssh_message_free(m);
				continue;
			}
			if (sub == SSH_CHANNEL_REQUEST_SHELL) {
				ssh_message_channel_request_reply_success(m);
				ssh_message_free(m);
				conn_shell(c, ch, NULL);
				break;
			}
			if (sub == SSH_CHANNEL_REQUEST_EXEC) {
				const char *x = ssh_message_channel_request_command(m);
				snprintf(cmd, sizeof cmd, "%s", x ? x : "");
				ssh_message_channel_request_reply_success(m);
				ssh_message_free(m);
				conn_shell(c, ch, cmd);
				break;
			}
		}
		ssh_message_reply_default(m);
		ssh_message_free(m);
	}
	if (ch != NULL)
		ssh_channel_free(ch);
}

/* After the channel is closed, let the client send its close and disconnect before the socket
 * goes: hanging up first makes OpenSSH report "Broken pipe" and exit 255 after a good command. */
static void
conn_linger(struct emu_ssh_conn *c)
{
	ssh_event ev = ssh_event_new();
	uint64_t end = now_ms() + EMU_SSH_LINGER_MS;

	if (ev == NULL)
		return;
	if (ssh_event_add_session(ev, c->ss) == SSH_OK) {
		while (now_ms() < end && !atomic_load(&c->s->stopping) &&
		       !(ssh_get_status(c->ss) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
			ssh_event_dopoll(ev, 100);
		ssh_event_remove_session(ev, c->ss);
	}
	ssh_event_free(ev);
}

static void
conn_serve(struct emu_ssh_conn *c)
{
	const struct emu_service *svc = c->svc;
	long secs = (long)(c->s->idle_ms / 1000u);
	int methods = 0;

	if (secs < 1)
		secs = 1;
	ssh_options_set(c->ss, SSH_OPTIONS_TIMEOUT, &secs);
	if (ssh_handle_key_exchange(c->ss) != SSH_OK)
		return;
	if (svc->ssh_password)
		methods |= SSH_AUTH_METHOD_PASSWORD;
	if (svc->ssh_kbdint)
		methods |= SSH_AUTH_METHOD_INTERACTIVE;
	if (svc->ssh_publickey || methods == 0)
		methods |= SSH_AUTH_METHOD_PUBLICKEY;
	ssh_set_auth_methods(c->ss, methods);
	if (conn_auth(c) != 1)
		return;
	conn_channels(c);
	conn_linger(c);
}

static void *
conn_main(void *arg)
{
	struct emu_ssh_conn *c = arg;
	struct emu_ssh *s = c->s;

	conn_serve(c);
	if (s->hooks.close != NULL)
		s->hooks.close(s->hooks.arg, c->sess, atomic_load(&s->stopping));
	/* Release the slot before libssh closes the socket, so stop() never shuts down a
	 * descriptor number that has been reused. */
	pthread_mutex_lock(&s->mu);
	s->slots[c->slot] = -1;
	pthread_mutex_unlock(&s->mu);
	ssh_disconnect(c->ss);
	ssh_free(c->ss);
	free(c);
	pthread_mutex_lock(&s->mu);
	s->active--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void version_text(const char *banner, char *out, size_t outlen);

/* ---- acceptor ------------------------------------------------------------------------------- */

static void
slot_release(struct emu_ssh *s, unsigned slot)
{
	pthread_mutex_lock(&s->mu);
	s->slots[slot] = -1;
	s->active--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
accept_one(struct emu_ssh *s, const struct emu_ssh_listener *l, int fd, const struct sockaddr_storage *peer)
{
	struct emu_ssh_conn *c = NULL;
	ssh_session ss = NULL;
	pthread_attr_t attr;
	pthread_t t;
	unsigned slot = 0;
	bool have_slot = false;
	const struct emu_device *dev = l->dev;
	const struct emu_service *svc = l->svc;
	void *sess = NULL;
	char version[EMU_STR_MAX];

	pthread_mutex_lock(&s->mu);
	if (s->active < s->max_sessions) {
		for (slot = 0; slot < s->max_sessions; slot++)
			if (s->slots[slot] < 0)
				break;
		if (slot < s->max_sessions) {
			s->slots[slot] = fd;
			s->active++;
			have_slot = true;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (have_slot && s->hooks.open != NULL &&
	    !s->hooks.open(s->hooks.arg, l->dev, l->svc, peer, &dev, &svc, &sess)) {
		slot_release(s, slot); /* the hooks' caps said no */
		have_slot = false;
	}
	if (!have_slot) {
		atomic_fetch_add(&s->refused, 1);
		close(fd);
		return;
	}
	if ((ss = ssh_new()) == NULL || (c = calloc(1, sizeof *c)) == NULL)
		goto fail_fd;
	/* One shared bind: the version text is set just before it is copied into the session
	 * (only this thread uses the bind). */
	if (svc == l->svc)
		snprintf(version, sizeof version, "%s", l->version);
	else
		version_text(svc->banner, version, sizeof version);
	if (ssh_bind_options_set(s->bind, SSH_BIND_OPTIONS_BANNER, version) != SSH_OK)
		goto fail_fd;
	if (ssh_bind_accept_fd(s->bind, ss, fd) != SSH_OK)
		goto fail_fd;
	c->s = s;
	c->l = l;
	c->dev = dev;
	c->svc = svc;
	c->sess = sess;
	c->ss = ss;
	c->slot = slot;
	c->start_ms = now_ms();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, EMU_SSH_THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, c) != 0) {
		pthread_attr_destroy(&attr);
		if (s->hooks.close != NULL)
			s->hooks.close(s->hooks.arg, sess, true);
		slot_release(s, slot);
		ssh_free(ss); /* owns fd now */
		free(c);
		atomic_fetch_add(&s->refused, 1);
		return;
	}
	pthread_attr_destroy(&attr);
	atomic_fetch_add(&s->sessions, 1);
	return;
fail_fd:
	if (s->hooks.close != NULL)
		s->hooks.close(s->hooks.arg, sess, true);
	slot_release(s, slot);
	if (ss != NULL)
		ssh_free(ss);
	free(c);
	close(fd);
	atomic_fetch_add(&s->refused, 1);
}

/* epoll, not poll(): with thousands of listeners a poll() round costs O(listeners) per
 * accepted connection. */
static void *
acceptor_main(void *arg)
{
	struct emu_ssh *s = arg;
	struct epoll_event ev[EMU_SSH_EPOLL_BATCH];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return NULL;
	ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->wake[0], &ev[0]) != 0)
		goto out;
	for (size_t i = 0; i < s->nl; i++) {
		ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &s->l[i] };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->l[i].fd, &ev[0]) != 0)
			goto out;
	}
	while (!atomic_load(&s->stopping)) {
		int n = epoll_wait(ep, ev, EMU_SSH_EPOLL_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n && !atomic_load(&s->stopping); i++) {
			const struct emu_ssh_listener *l = ev[i].data.ptr;
			if (l == NULL)
				goto out; /* woken by stop() */
			for (int k = 0; k < EMU_SSH_ACCEPT_BURST; k++) {
				struct sockaddr_storage peer;
				socklen_t pl = sizeof peer;
				int fd = accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
				if (fd < 0)
					break;
				accept_one(s, l, fd, &peer);
			}
		}
	}
out:
	close(ep);
	return NULL;
}

/* ---- host keys ------------------------------------------------------------------------------ */

static int
hostkey_load(ssh_bind bind, const char *dir, const char *name, enum ssh_keytypes_e type, int bits)
{
	char path[4096];
	ssh_key k = NULL;
	int r = TORIDE_EIO, fd;

	if (dir == NULL) {
		if (ssh_pki_generate(type, bits, &k) != SSH_OK)
			goto out;
	} else {
		if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
			r = TORIDE_EINVAL;
			goto out;
		}
		if (access(path, R_OK) == 0) {
			if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &k) != SSH_OK)
				goto out;
		} else {
			if (ssh_pki_generate(type, bits, &k) != SSH_OK)
				goto out;
			/* Create it 0600 first: the export keeps the mode of an existing file. */
			if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
				goto out;
			close(fd);
			if (ssh_pki_export_privkey_file(k, NULL, NULL, NULL, path) != SSH_OK)
				goto out;
		}
	}
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, k) != SSH_OK)
		goto out;
	k = NULL; /* the bind owns it */
	r = 0;
out:
	if (k != NULL)
		ssh_key_free(k);
	return r;
}

/* ---- public --------------------------------------------------------------------------------- */

int
emu_ssh_new(struct emu_ssh **out, const char *hostkey_dir)
{
	struct emu_ssh *s = NULL;
	int r = TORIDE_ENOMEM, verbosity = SSH_LOG_NOLOG;
	bool process_config = false;

	*out = NULL;
	pthread_once(&emu_ssh_once, emu_ssh_lib_init);
	if ((s = calloc(1, sizeof *s)) == NULL)
		goto out;
	s->wake[0] = s->wake[1] = -1;
	s->max_sessions = EMU_SSH_MAX_SESSIONS_DEFAULT;
	s->idle_ms = EMU_SSH_IDLE_TIMEOUT_MS_DEFAULT;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if ((s->bind = ssh_bind_new()) == NULL)
		goto out;
	/* The host's /etc/ssh/libssh_server_config must not change what a device offers. */
	ssh_bind_options_set(s->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &process_config);
	ssh_bind_options_set(s->bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &verbosity);
	if ((r = hostkey_load(s->bind, hostkey_dir, "ssh_host_ed25519_key", SSH_KEYTYPE_ED25519, 0)) != 0)
		goto out;
	if ((r = hostkey_load(s->bind, hostkey_dir, "ssh_host_rsa_key", SSH_KEYTYPE_RSA, EMU_SSH_RSA_BITS)) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	emu_ssh_stop(s);
	return r;
}

int
emu_ssh_set_limits(struct emu_ssh *s, unsigned max_sessions, unsigned idle_timeout_ms)
{
	if (s->started)
		return TORIDE_ESTATE;
	if (max_sessions)
		s->max_sessions = max_sessions;
	if (idle_timeout_ms)
		s->idle_ms = idle_timeout_ms;
	return 0;
}

/* The text after "SSH-x.y-" of a profile's version line, without line end. */
static void
version_text(const char *banner, char *out, size_t outlen)
{
	const char *p = banner, *d;
	size_t n;

	if (strncmp(p, "SSH-", 4) == 0 && (d = strchr(p + 4, '-')) != NULL)
		p = d + 1;
	n = strcspn(p, "\r\n");
	if (n == 0) {
		p = EMU_SSH_DEFAULT_VERSION;
		n = strlen(p);
	}
	snprintf(out, outlen, "%.*s", (int)n, p);
}

int
emu_ssh_listen_fd(struct emu_ssh *s, const struct emu_device *dev, const struct emu_service *svc, int fd)
{
	struct emu_ssh_listener *l;

	int r = 0;

	if (fd < 0)
		return TORIDE_EINVAL;
	if (s->started)
		r = TORIDE_ESTATE;
	else if (svc->proto != EMU_SSH)
		r = TORIDE_EINVAL;
	else if (s->nl >= EMU_SSH_MAX_LISTENERS)
		r = TORIDE_ETOOBIG;
	if (r == 0 && s->nl == s->capl) {
		size_t nc = s->capl ? s->capl * 2 : 16;
		void *nv = realloc(s->l, nc * sizeof *s->l);
		if (nv == NULL)
			r = TORIDE_ENOMEM;
		else {
			s->l = nv;
			s->capl = nc;
		}
	}
	if (r != 0) {
		close(fd);
		return r;
	}
	l = &s->l[s->nl++];
	l->fd = fd;
	l->dev = dev;
	l->svc = svc;
	version_text(svc->banner, l->version, sizeof l->version);
	return 0;
}

int
emu_ssh_listen(struct emu_ssh *s, const struct emu_device *dev, const struct emu_service *svc, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = -1, r;

	if (s->started)
		return TORIDE_ESTATE;
	if (svc->proto != EMU_SSH)
		return TORIDE_EINVAL;
	if ((r = toride_addr_to_sockaddr(&dev->addr, port ? port : svc->port, &ss, &sl)) != 0)
		return r;
	if ((r = emu_listen_socket((struct sockaddr *)&ss, sl, EMU_SSH_BACKLOG, &fd)) != 0)
		return r;
	return emu_ssh_listen_fd(s, dev, svc, fd);
}

void
emu_ssh_set_hooks(struct emu_ssh *s, const struct emu_ssh_hooks *h)
{
	s->hooks = *h;
}

void
emu_ssh_set_no_delays(struct emu_ssh *s, bool on)
{
	s->no_delays = on;
}

int
emu_ssh_start(struct emu_ssh *s)
{
	pthread_attr_t attr;
	int r;

	if (s->started)
		return TORIDE_ESTATE;
	/* Made here, not in emu_ssh_new: a honeypot creates the server (keys) before it forks and
	 * starts it in the child, which closes every descriptor it did not ask for. */
	if (s->wake[0] < 0 && pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return TORIDE_EIO;
	if ((s->slots = malloc(s->max_sessions * sizeof *s->slots)) == NULL)
		return TORIDE_ENOMEM;
	for (unsigned i = 0; i < s->max_sessions; i++)
		s->slots[i] = -1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, EMU_SSH_THREAD_STACK);
	r = pthread_create(&s->acceptor, &attr, acceptor_main, s);
	pthread_attr_destroy(&attr);
	if (r != 0)
		return TORIDE_ENOMEM;
	s->started = true;
	return 0;
}

void
emu_ssh_stats(struct emu_ssh *s, struct emu_ssh_stats *st)
{
	memset(st, 0, sizeof *st);
	st->listeners = s->nl;
	st->sessions = atomic_load(&s->sessions);
	st->refused = atomic_load(&s->refused);
	st->auth_ok = atomic_load(&s->auth_ok);
	st->auth_fail = atomic_load(&s->auth_fail);
	pthread_mutex_lock(&s->mu);
	st->active = s->active;
	pthread_mutex_unlock(&s->mu);
}

void
emu_ssh_stop(struct emu_ssh *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stopping, true);
	if (s->started) {
		char b = 1;
		ssize_t w = write(s->wake[1], &b, 1);
		(void)w;
		pthread_join(s->acceptor, NULL);
		pthread_mutex_lock(&s->mu);
		for (unsigned i = 0; i < s->max_sessions; i++)
			if (s->slots[i] >= 0)
				shutdown(s->slots[i], SHUT_RDWR);
		while (s->active > 0)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
	}
	for (size_t i = 0; i < s->nl; i++)
		close(s->l[i].fd);
	free(s->l);
	free(s->slots);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	if (s->bind != NULL)
		ssh_bind_free(s->bind);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
