/*
 * Network helpers of the conform checks: a scope of exactly the description's address guards
 * every connection; the survey engine is reused as a black box for scanning, identification,
 * no-auth detection and list logins; a small blocking telnet session (proto/telnet negotiation and
 * the survey's screen classifier, proven by the survey's marker echo) and a one-request HTTP
 * client serve the interactive steps (forced change, adapters).
 */
#include "conform/conform_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/error.h"
#include "core/escape.h"
#include "core/event.h"
#include "core/scope.h"
#include "survey/fingerprint.h"
#include "survey/survey.h"

/* Why 300 ms: same settle time as the survey's telnet module (prompts arrive in pieces). */
#define CONFORM_TN_SETTLE_MS 300
/* Why 8 KiB: the classifier window (TORIDE_TELNET_CLASSIFY_WINDOW). */
#define CONFORM_TN_APP_MAX (8 * 1024)
/* Why 16 KiB: a whole login + change transcript is < 2 KiB on real devices. */
#define CONFORM_TN_TRANSCRIPT_MAX (16 * 1024)
/* Why 1 KiB: negotiation replies per read are a few bytes. */
#define CONFORM_TN_REPLY_MAX 1024
/* Why 16 KiB / 1 MiB: an admin API's head and JSON answers; larger is not an admin answer. */
#define CONFORM_HTTP_HEAD_MAX (16 * 1024)
#define CONFORM_HTTP_BODY_MAX (1024 * 1024)
/* Why 10 s: a login answer after the device's own failure delay (busybox login sleeps ~3 s). */
#define CONFORM_TN_STEP_MS 10000

static double
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
scope_of_run(const struct conform_run *run, struct toride_scope **out)
{
	char err[256];
	struct toride_scope *s = NULL;
	int r = toride_scope_new(&s);
	if (r == 0)
		r = toride_scope_add(s, run->desc->address_text, err, sizeof err);
	if (r == 0)
		r = toride_scope_finalize(s, err, sizeof err);
	if (r != 0) {
		toride_scope_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int
conform_connect(struct conform_run *run, uint16_t port, unsigned timeout_ms)
{
	struct toride_scope *scope = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = -1, r;
	if ((r = scope_of_run(run, &scope)) != 0)
		return r;
	if (!toride_scope_contains(scope, &run->desc->address)) {
		r = TORIDE_ESCOPE;
		goto out;
	}
	if ((r = toride_addr_to_sockaddr(&run->desc->address, port, &ss, &sl)) != 0)
		goto out;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		r = TORIDE_EIO;
		goto out;
	}
	struct pollfd pf = {fd, POLLOUT, 0};
	int pr = poll(&pf, 1, (int)timeout_ms);
	if (pr == 0) {
		r = TORIDE_ETIMEOUT;
		goto out;
	}
	int soerr = 0;
	socklen_t el = sizeof soerr;
	if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0) {
		r = TORIDE_EIO;
		goto out;
	}
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	toride_scope_free(scope);
	return r;
}

/* ---------------------------------------------------------------- survey engine */

struct survey_stop {
	double max_seconds;
	volatile int flag;
	struct conform_run *run;
	uint64_t last_done;
};

static void
survey_progress(const struct toride_survey_progress *p, void *arg)
{
	struct survey_stop *st = arg;
	if (st->max_seconds > 0 && p->elapsed >= st->max_seconds)
		st->flag = 1;
	if (p->total > 1000 && p->done / 10000 != st->last_done / 10000)
		conform_progress(st->run, "scan", "%llu of %llu ports, %llu open",
		                 (unsigned long long)p->done, (unsigned long long)p->total, (unsigned long long)p->open);
	st->last_done = p->done;
}

int
conform_survey(struct conform_run *run, const struct conform_survey_opts *o, json_t **events, bool *stopped)
{
	int r;
	struct toride_scope *scope = NULL;
	struct toride_sink *sink = NULL;
	struct toride_fpdb *fpdb = NULL;
	struct toride_creds empty;
	char path[4096], err[256], vpath[4096];
	int fd = -1;
	FILE *f = NULL;
	char *line = NULL;
	size_t line_cap = 0;
	json_t *arr = NULL;
	bool made = false;
	toride_creds_init(&empty);
	*events = NULL;
	if (stopped != NULL)
		*stopped = false;
	if ((r = scope_of_run(run, &scope)) != 0)
		goto out;
	const char *dir = run->work_dir ? run->work_dir : getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/conform-survey-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	close(fd);
	fd = -1;
	made = true;
	if ((r = toride_sink_open(&sink, path, NULL, err, sizeof err)) != 0)
		goto out;
	snprintf(vpath, sizeof vpath, "%s/fingerprints/recog", conform_data_dir());
	if (toride_fpdb_load_dir(&fpdb, vpath, err, sizeof err) != 0)
		fpdb = NULL; /* identification still works without names */
	snprintf(vpath, sizeof vpath, "%s/credentials/vendor-defaults.csv", conform_data_dir());
	struct survey_stop st = {.max_seconds = o->max_seconds, .flag = 0, .run = run};
	struct toride_survey_config cfg = {
		.survey_id = "conform",
		.scope = scope,
		.ports = o->ports,
		.nports = o->nports,
		.seed = 1,
		.shard_index = 0,
		.shard_count = 1,
		.rate = o->rate > 0 ? o->rate : CONFORM_DEFAULT_SCAN_RATE,
		.max_concurrency = 512,
		.connect_timeout_ms = 2000,
		.read_timeout_ms = o->read_timeout_ms ? o->read_timeout_ms : 4000,
		.retries = 1,
		.max_attempts_per_host = o->max_attempts,
		.attempt_delay_ms = o->attempt_delay_ms,
		.creds = o->creds ? o->creds : &empty,
		.vendor_creds_path = o->vendor_defaults ? vpath : NULL,
		.fpdb = fpdb,
		.sink = sink,
		.user_agent = "toride-conform/" TORIDE_VERSION,
		.progress = survey_progress,
		.progress_arg = &st,
		.stop_flag = &st.flag,
	};
	struct toride_survey_stats stats;
	r = toride_survey_run(&cfg, &stats);
	toride_sink_close(sink);
	sink = NULL;
	if (stopped != NULL)
		*stopped = stats.interrupted;
	if (r != 0)
		goto out;
	arr = json_array();
	f = fopen(path, "r");
	if (arr == NULL || f == NULL) {
		r = arr == NULL ? TORIDE_ENOMEM : TORIDE_EIO;
		goto out;
	}
	ssize_t got;
	while ((got = getline(&line, &line_cap, f)) > 0) {
		json_t *ev = NULL;
		if (toride_event_parse_line(line, (size_t)got, &ev) != 0)
			continue;
		/* A full port scan writes one probe_done per closed port: only open ones matter. */
		const char *state = json_string_value(json_object_get(ev, "state"));
		if (strcmp(json_string_value(json_object_get(ev, "type")), "probe_done") == 0 &&
		    (state == NULL || strcmp(state, "open") != 0)) {
			json_decref(ev);
			continue;
		}
		json_array_append_new(arr, ev);
	}
	*events = arr;
	arr = NULL;
out:
	if (f != NULL)
		fclose(f);
	free(line);
	json_decref(arr);
	toride_sink_close(sink);
	if (made)
		unlink(path);
	toride_fpdb_free(fpdb);
	toride_scope_free(scope);
	return r;
}

/* ---------------------------------------------------------------- telnet */

struct conform_tn {
	int fd;
	struct toride_telnet *t;
	struct toride_buf app, wire, transcript;
	bool closed;
};

static void
tn_flush(struct conform_tn *t)
{
	size_t off = 0;
	while (off < t->wire.len) {
		ssize_t w = send(t->fd, t->wire.data + off, t->wire.len - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = {t->fd, POLLOUT, 0};
			if (poll(&pf, 1, 2000) <= 0)
				break;
			continue;
		}
		if (w <= 0) {
			t->closed = true;
			break;
		}
		off += (size_t)w;
	}
	toride_buf_reset(&t->wire);
}

static void
transcript_add(struct conform_tn *t, const void *p, size_t n)
{
	size_t room = t->transcript.max - t->transcript.len;
	toride_buf_append(&t->transcript, p, n < room ? n : room);
}

int
conform_tn_open(struct conform_run *run, uint16_t port, struct conform_tn **out)
{
	struct conform_tn *t = calloc(1, sizeof *t);
	if (t == NULL)
		return TORIDE_ENOMEM;
	toride_buf_init(&t->app, CONFORM_TN_APP_MAX);
	toride_buf_init(&t->wire, CONFORM_TN_REPLY_MAX);
	toride_buf_init(&t->transcript, CONFORM_TN_TRANSCRIPT_MAX);
	int r = toride_telnet_client_new(&t->t);
	if (r != 0) {
		t->fd = -1;
		conform_tn_close(t);
		return r;
	}
	t->fd = conform_connect(run, port, 3000);
	if (t->fd < 0) {
		r = t->fd;
		conform_tn_close(t);
		return r;
	}
	*out = t;
	return 0;
}

static void
tn_read(struct conform_tn *t)
{
	uint8_t buf[2048];
	ssize_t got = recv(t->fd, buf, sizeof buf, 0);
	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
		t->closed = true;
		return;
	}
	if (got < 0)
		return;
	size_t before = t->app.len;
	int r = toride_telnet_recv(t->t, buf, (size_t)got, &t->app, &t->wire);
	if (r == TORIDE_ETOOBIG && t->app.len > CONFORM_TN_APP_MAX / 2) {
		/* keep the newest text: prompts are at the end */
		toride_buf_consume(&t->app, t->app.len - CONFORM_TN_APP_MAX / 2);
		before = 0;
	} else if (r != 0 && r != TORIDE_ETOOBIG) {
		t->closed = true;
	}
	if (t->app.len > before)
		transcript_add(t, t->app.data + before, t->app.len - before);
	tn_flush(t);
}

enum toride_tn_screen
conform_tn_wait(struct conform_tn *t, unsigned timeout_ms)
{
	double deadline = mono_ms() + timeout_ms, last_data = mono_ms();
	while (!t->closed) {
		double now = mono_ms();
		if (now >= deadline)
			break;
		double quiet_at = last_data + CONFORM_TN_SETTLE_MS;
		double until = quiet_at < deadline ? quiet_at : deadline;
		if (until <= now)
			until = now + 1;
		struct pollfd pf = {t->fd, POLLIN, 0};
		int pr = poll(&pf, 1, (int)(until - now) + 1);
		if (pr > 0) {
			tn_read(t);
			last_data = mono_ms();
			continue;
		}
		if (mono_ms() >= quiet_at &&
		    toride_telnet_classify((const char *)t->app.data, t->app.len) != TORIDE_TN_NOTHING)
			break;
	}
	return toride_telnet_classify((const char *)t->app.data, t->app.len);
}

int
conform_tn_send(struct conform_tn *t, const char *line)
{
	if (t->closed)
		return TORIDE_ECLOSED;
	int r = toride_telnet_send_line(t->t, line, &t->wire);
	if (r != 0)
		return r;
	transcript_add(t, "\n>> ", 4);
	transcript_add(t, line, strlen(line));
	transcript_add(t, "\n", 1);
	tn_flush(t);
	toride_buf_reset(&t->app);
	return t->closed ? TORIDE_ECLOSED : 0;
}

const char *
conform_tn_text(struct conform_tn *t, size_t *len)
{
	const char *s = "";
	toride_buf_cstr(&t->app, &s);
	*len = t->app.len;
	return s ? s : "";
}

const char *
conform_tn_transcript(struct conform_tn *t, size_t *len)
{
	const char *s = "";
	toride_buf_cstr(&t->transcript, &s);
	*len = t->transcript.len;
	return s ? s : "";
}

bool
conform_tn_closed(const struct conform_tn *t)
{
	return t->closed;
}

void
conform_tn_close(struct conform_tn *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	toride_telnet_free(t->t);
	toride_buf_free(&t->app);
	toride_buf_free(&t->wire);
	toride_buf_free(&t->transcript);
	free(t);
}

/* A password prompt that asks for a NEW password (forced change), not the login's again. */
static bool
is_change_prompt(const char *text, size_t len)
{
	static const char *const words[] = {"new password", "new passwd", "must be changed", "must change",
	                                    "change your password", "password has expired", "expired"};
	char low[CONFORM_TN_APP_MAX + 1];
	size_t n = len < CONFORM_TN_APP_MAX ? len : CONFORM_TN_APP_MAX;
	for (size_t i = 0; i < n; i++)
		low[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] + 32) : (text[i] ? text[i] : ' ');
	low[n] = '\0';
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(low, words[i]) != NULL)
			return true;
	return false;
}

int
conform_telnet_login(struct conform_run *run, uint16_t port, const char *user, const char *pass, bool send_marker,
                     struct conform_tn **keep, char **evidence, char *detail, size_t detail_cap)
{
	struct conform_tn *t = NULL;
	int result = -1;
	size_t len;
	const char *text;
	if (keep != NULL)
		*keep = NULL;
	if (evidence != NULL)
		*evidence = NULL;
	snprintf(detail, detail_cap, "no answer");
	int r = conform_tn_open(run, port, &t);
	if (r != 0) {
		snprintf(detail, detail_cap, "connect failed: %s", toride_strerror(r));
		return -1;
	}
	enum toride_tn_screen s = conform_tn_wait(t, CONFORM_TN_STEP_MS);
	text = conform_tn_text(t, &len);
	if (s == TORIDE_TN_PRESS_KEY || (s == TORIDE_TN_NOTHING && len == 0)) {
		conform_tn_send(t, "");
		s = conform_tn_wait(t, CONFORM_TN_STEP_MS);
	}
	if (s == TORIDE_TN_LOGIN_PROMPT) {
		conform_tn_send(t, user);
		s = conform_tn_wait(t, CONFORM_TN_STEP_MS);
		if (s == TORIDE_TN_PASSWORD_PROMPT) {
			conform_tn_send(t, pass);
			s = conform_tn_wait(t, CONFORM_TN_STEP_MS);
		} else if (s != TORIDE_TN_SHELL_PROMPT) {
			snprintf(detail, detail_cap, "no password prompt after the user name (%s)",
			         toride_telnet_screen_name(s));
			result = s == TORIDE_TN_FAILURE ? 0 : -1;
			goto out;
		}
	} else if (s == TORIDE_TN_PASSWORD_PROMPT) {
		conform_tn_send(t, pass);
		s = conform_tn_wait(t, CONFORM_TN_STEP_MS);
	} else if (s == TORIDE_TN_SHELL_PROMPT) {
		snprintf(detail, detail_cap, "a command prompt before any credential");
	} else {
		snprintf(detail, detail_cap, "no login prompt (%s)", toride_telnet_screen_name(s));
		goto out;
	}
	text = conform_tn_text(t, &len);
	enum toride_tn_screen prompt = toride_telnet_classify_prompt(text, len);
	if (s == TORIDE_TN_PASSWORD_PROMPT && is_change_prompt(text, len)) {
		snprintf(detail, detail_cap, "password change prompt shown");
		result = 3;
	} else if (s == TORIDE_TN_FAILURE || prompt == TORIDE_TN_LOGIN_PROMPT || prompt == TORIDE_TN_PASSWORD_PROMPT) {
		snprintf(detail, detail_cap, "refused (%s)", s == TORIDE_TN_FAILURE ? "failure message" : "re-prompted");
		result = 0;
	} else if (conform_tn_closed(t) && s != TORIDE_TN_SHELL_PROMPT) {
		snprintf(detail, detail_cap, "connection closed after the password");
		result = 0;
	} else if (!send_marker) {
		snprintf(detail, detail_cap, "logged in (%s)", toride_telnet_screen_name(s));
		result = s == TORIDE_TN_SHELL_PROMPT ? 2 : -1;
	} else {
		/* The survey's proof: only a shell that ran the command prints the joined marker. */
		char hex[11], cmd[64], marker[16];
		conform_random_hex(hex, 10);
		snprintf(marker, sizeof marker, "tr%s", hex);
		snprintf(cmd, sizeof cmd, "echo \"tr\"'%s'", hex);
		conform_tn_send(t, cmd);
		s = conform_tn_wait(t, CONFORM_TN_STEP_MS / 2);
		text = conform_tn_text(t, &len);
		if (len > 0 && memmem(text, len, marker, strlen(marker)) != NULL) {
			snprintf(detail, detail_cap, "shell: marker %s echoed", marker);
			result = 1;
		} else if (toride_telnet_classify_prompt(text, len) == TORIDE_TN_SHELL_PROMPT) {
			snprintf(detail, detail_cap, "logged in: a command prompt answered, marker not echoed");
			result = 2;
		} else {
			snprintf(detail, detail_cap, "no shell after login (%s)", toride_telnet_screen_name(s));
			result = 0;
		}
	}
out:
	if (evidence != NULL) {
		const char *tr = conform_tn_transcript(t, &len);
		*evidence = conform_evidence(tr, len);
	}
	if (keep != NULL && result > 0 && !conform_tn_closed(t)) {
		*keep = t;
		t = NULL;
	}
	conform_tn_close(t);
	return result;
}

/* ---------------------------------------------------------------- HTTP */

void
conform_http_resp_free(struct conform_http_resp *r)
{
	toride_buf_free(&r->head);
	toride_buf_free(&r->body);
}

int
conform_http(struct conform_run *run, uint16_t port, const char *method, const char *path, const char *extra_headers,
             const char *ctype, const void *body, size_t body_len, unsigned timeout_ms, struct conform_http_resp *resp)
{
	int r = 0, fd = -1;
	struct toride_buf req, raw;
	memset(resp, 0, sizeof *resp);
	toride_buf_init(&resp->head, CONFORM_HTTP_HEAD_MAX);
	toride_buf_init(&resp->body, CONFORM_HTTP_BODY_MAX);
	toride_buf_init(&req, CONFORM_HTTP_HEAD_MAX);
	toride_buf_init(&raw, CONFORM_HTTP_HEAD_MAX + CONFORM_HTTP_BODY_MAX);
	char host[sizeof run->desc->address_text + 2];
	if (run->desc->address.family == 6)
		snprintf(host, sizeof host, "[%s]", run->desc->address_text);
	else
		snprintf(host, sizeof host, "%s", run->desc->address_text);
	r = toride_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: toride-conform/%s\r\nConnection: close\r\n"
	                      "Accept: application/json\r\n%s",
	                      method, path, host, port, TORIDE_VERSION, extra_headers ? extra_headers : "");
	if (r == 0 && body != NULL)
		r = toride_buf_printf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype ? ctype : "application/octet-stream",
		                      body_len);
	if (r == 0)
		r = toride_buf_append_str(&req, "\r\n");
	if (r != 0)
		goto out;
	fd = conform_connect(run, port, timeout_ms);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	double deadline = mono_ms() + timeout_ms;
	/* send head then body; read whatever arrives meanwhile (an early refusal) */
	const uint8_t *parts[2] = {req.data, body};
	size_t lens[2] = {req.len, body ? body_len : 0};
	for (int k = 0; k < 2 && r == 0; k++) {
		size_t off = 0;
		while (off < lens[k]) {
			ssize_t w = send(fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				struct pollfd pf = {fd, POLLOUT, 0};
				double left = deadline - mono_ms();
				if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
					r = TORIDE_ETIMEOUT;
					break;
				}
				continue;
			}
			if (w <= 0)
				break; /* the server may have answered and closed: read its answer */
			off += (size_t)w;
		}
	}
	if (r != 0)
		goto out;
	for (;;) {
		double left = deadline - mono_ms();
		if (left <= 0) {
			r = raw.len > 0 ? 0 : TORIDE_ETIMEOUT;
			break;
		}
		struct pollfd pf = {fd, POLLIN, 0};
		int pr = poll(&pf, 1, (int)left);
		if (pr <= 0)
			continue;
		uint8_t buf[8192];
		ssize_t got = recv(fd, buf, sizeof buf, 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0)
			break;
		if (toride_buf_append(&raw, buf, (size_t)got) != 0) {
			r = TORIDE_ETOOBIG;
			goto out;
		}
	}
	if (r != 0)
		goto out;
	const uint8_t *sep = raw.len >= 4 ? memmem(raw.data, raw.len, "\r\n\r\n", 4) : NULL;
	if (sep == NULL || raw.len < 12 || memcmp(raw.data, "HTTP/1.", 7) != 0) {
		r = TORIDE_EPROTO;
		goto out;
	}
	size_t hl = (size_t)(sep - raw.data);
	if ((r = toride_buf_append(&resp->head, raw.data, hl)) != 0 ||
	    (r = toride_buf_append(&resp->body, sep + 4, raw.len - hl - 4)) != 0)
		goto out;
	if (raw.data[8] != ' ' || raw.data[9] < '1' || raw.data[9] > '5' || raw.data[10] < '0' || raw.data[10] > '9' ||
	    raw.data[11] < '0' || raw.data[11] > '9') {
		r = TORIDE_EPROTO;
		goto out;
	}
	resp->status = (raw.data[9] - '0') * 100 + (raw.data[10] - '0') * 10 + (raw.data[11] - '0');
out:
	if (fd >= 0)
		close(fd);
	toride_buf_free(&req);
	toride_buf_free(&raw);
	return r;
}

int
conform_http_header(const struct conform_http_resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = (const char *)r->head.data;
	size_t len = r->head.len;
	if (p == NULL || cap == 0)
		return TORIDE_ENOTFOUND;
	size_t i = 0;
	while (i < len) {
		const char *e = memchr(p + i, '\n', len - i);
		size_t ll = e ? (size_t)(e - (p + i)) : len - i;
		if (ll > nl && p[i + nl] == ':' && strncasecmp(p + i, name, nl) == 0) {
			size_t s = i + nl + 1;
			while (s < i + ll && (p[s] == ' ' || p[s] == '\t'))
				s++;
			size_t vl = i + ll - s;
			while (vl > 0 && (p[s + vl - 1] == '\r' || p[s + vl - 1] == ' '))
				vl--;
			if (vl >= cap)
				vl = cap - 1;
			memcpy(out, p + s, vl);
			out[vl] = '\0';
			return 0;
		}
		i += ll + 1;
	}
	return TORIDE_ENOTFOUND;
}

int
conform_url_port(const struct conform_run *run, const char *url, uint16_t *port)
{
	const char *p;
	if (strncmp(url, "http://", 7) != 0)
		return TORIDE_EUNSUPPORTED;
	p = url + 7;
	char host[TORIDE_ADDR_STRLEN + 2];
	size_t hl;
	if (*p == '[') {
		const char *e = strchr(p, ']');
		if (e == NULL || (size_t)(e - p - 1) >= sizeof host)
			return TORIDE_EPARSE;
		hl = (size_t)(e - p - 1);
		memcpy(host, p + 1, hl);
		p = e + 1;
	} else {
		hl = strcspn(p, ":/");
		if (hl >= sizeof host)
			return TORIDE_EPARSE;
		memcpy(host, p, hl);
		p += hl;
	}
	host[hl] = '\0';
	struct toride_addr a;
	if (toride_addr_parse(host, &a) != 0 || toride_addr_cmp(&a, &run->desc->address) != 0)
		return TORIDE_ESCOPE; /* an admin URL elsewhere would make us touch another host */
	unsigned long v = 80;
	if (*p == ':') {
		char *end;
		errno = 0;
		v = strtoul(p + 1, &end, 10);
		if (end == p + 1 || v == 0 || v > 65535 || (*end != '\0' && *end != '/'))
			return TORIDE_EPARSE;
	} else if (*p != '\0' && *p != '/') {
		return TORIDE_EPARSE;
	}
	*port = (uint16_t)v;
	return 0;
}

bool
conform_service_takes_password(const struct conform_run *run, const struct conform_service *s)
{
	(void)run;
	if (s->noauth || !s->needs_auth)
		return false;
	if (strcmp(s->service, "ssh") == 0)
		return strstr(s->detail, "password") != NULL || strstr(s->detail, "keyboard-interactive") != NULL;
	return strcmp(s->service, "telnet") == 0 || strcmp(s->service, "ftp") == 0 || strcmp(s->service, "http") == 0 ||
	       strcmp(s->service, "rtsp") == 0 || strcmp(s->service, "mqtt") == 0;
}
