/*
 * HTTP and RTSP checks (same message syntax, same Basic/Digest authentication).
 *
 * HTTP, JP-34-10-1: "GET /" (following up to three same-host redirects) that serves a page
 * without asking for credentials and without a login form is an interface open to anyone.
 * RTSP, JP-34-10-1: OPTIONS, then DESCRIBE on stream routes cameras use (data/credentials/
 * rtsp-routes.txt); a stream description served without credentials fails.
 * JP-34-10-2: where the server answered 401, each pair is sent as Basic or Digest (whichever the
 * challenge asks; Digest uses the fresh nonce of the previous 401) on a keep-alive connection;
 * a 2xx/3xx answer proves the pair (proof "strong": the same request was refused without it).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "proto/auth.h"
#include "proto/http.h"
#include "survey/engine.h"
#include "survey/fingerprint.h"

/* Why 3: device UIs redirect "/" to a login or frame page once or twice; more is a loop. */
#define HTTP_MAX_REDIRECTS 3
/* Why 24: the most common camera routes come first in the list; trying all 197 on every RTSP
 * port costs more than it finds, and each try is a request to the device. */
#define RTSP_MAX_ROUTES 24
/* Why 8: challenges per WWW-Authenticate value on real devices are 1-2. */
#define HTTP_MAX_CHALLENGES 8

static char *rtsp_routes[RTSP_MAX_ROUTES];
static size_t rtsp_nroutes;
static bool rtsp_routes_loaded;

static void
rtsp_add_route(const char *r)
{
	for (size_t i = 0; i < rtsp_nroutes; i++)
		if (strcmp(rtsp_routes[i], r) == 0)
			return;
	if (rtsp_nroutes < RTSP_MAX_ROUTES) {
		char *d = strdup(r);
		if (d != NULL)
			rtsp_routes[rtsp_nroutes++] = d;
	}
}

static void
rtsp_load_file(const char *name)
{
	const char *dir = getenv("TORIDE_DATA_DIR");
	char path[1024], line[256];
	snprintf(path, sizeof path, "%s/credentials/%s", dir && *dir ? dir : TORIDE_DATA_DIR, name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || strchr(line, ' ') != NULL)
			continue;
		rtsp_add_route(line);
	}
	fclose(f);
}

/* Routes: the common ones first (toride's ordering), then cameradar's list; "/" always first. */
static void
rtsp_load_routes(void)
{
	if (rtsp_routes_loaded)
		return;
	rtsp_routes_loaded = true;
	rtsp_add_route("");
	rtsp_load_file("rtsp-routes-common.txt");
	rtsp_load_file("rtsp-routes.txt");
}

enum hstep { HS_GET, HS_OPTIONS, HS_DESCRIBE, HS_LOGIN_PROBE, HS_LOGIN };

struct hm {
	struct toride_http_msg *msg;
	enum proto proto;
	bool ident;
	enum hstep step;
	char path[256];
	unsigned cseq;
	size_t route;
	const struct toride_cred *cred;
	struct toride_auth_challenge chal;
	bool have_chal;
	unsigned nc;
	bool server_closes;
};

static void hm_request(struct conv *c, const char *method, const char *path, const char *auth);

static void
hm_destroy(struct hm *m)
{
	if (m == NULL)
		return;
	toride_http_msg_free(m->msg);
	free(m);
}

static struct hm *
hm_new(enum proto p, bool ident)
{
	struct hm *m = calloc(1, sizeof *m);
	if (m == NULL || toride_http_msg_new(&m->msg, 1) != 0) {
		free(m);
		return NULL;
	}
	m->proto = p;
	m->ident = ident;
	snprintf(m->path, sizeof m->path, "/");
	return m;
}

static void
hm_free(struct conv *c)
{
	hm_destroy(c->mod);
	c->mod = NULL;
}

static void
hm_host(struct conv *c, char *out, size_t outlen)
{
	struct host *h = c->svc->host;
	snprintf(out, outlen, h->addr.family == 6 ? "[%s]:%u" : "%s:%u", h->addr_str, c->port);
}

static void
hm_request(struct conv *c, const char *method, const char *path, const char *auth)
{
	struct hm *m = c->mod;
	const struct toride_survey_config *cfg = survey_config(conv_survey(c));
	char host[96], target[512], extra[1024];
	hm_host(c, host, sizeof host);
	extra[0] = '\0';
	size_t o = 0;
	if (auth != NULL)
		o += (size_t)snprintf(extra + o, sizeof extra - o, "Authorization: %s\r\n", auth);
	struct toride_buf b;
	toride_buf_init(&b, 4096);
	int r;
	toride_http_msg_reset(m->msg);
	if (m->proto == PROTO_RTSP) {
		snprintf(target, sizeof target, "rtsp://%s%s", host, path);
		if (strcmp(method, "DESCRIBE") == 0 && o < sizeof extra)
			snprintf(extra + o, sizeof extra - o, "Accept: application/sdp\r\n");
		r = toride_http_build_request(&b, method, target, "RTSP/1.0", NULL, ++m->cseq, cfg->user_agent,
		                              extra[0] ? extra : NULL);
	} else {
		if (o < sizeof extra)
			snprintf(extra + o, sizeof extra - o, "Accept: */*\r\nConnection: %s\r\n",
			         m->ident ? "close" : "keep-alive");
		r = toride_http_build_request(&b, method, path, "HTTP/1.1", host, 0, cfg->user_agent, extra);
	}
	if (r == 0)
		conv_write(c, b.data, b.len);
	toride_buf_free(&b);
	if (r != 0) {
		c->svc->inconclusive = true;
		conv_close(c);
		return;
	}
	conv_set_timeout(c, cfg->read_timeout_ms);
}

/* Pick the challenge we can answer: Digest (stronger) before Basic. */
static bool
hm_take_challenge(struct hm *m)
{
	struct toride_auth_challenge ch[HTTP_MAX_CHALLENGES];
	bool found = false;
	for (size_t i = 0;; i++) {
		const char *v = toride_http_msg_header(m->msg, "WWW-Authenticate", i);
		if (v == NULL)
			break;
		size_t n = 0;
		if (toride_auth_parse_challenges(v, ch, HTTP_MAX_CHALLENGES, &n) != 0 && n == 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (ch[k].scheme == TORIDE_AUTH_DIGEST && !ch[k].truncated) {
				m->chal = ch[k];
				m->nc = 0;
				return true;
			}
			if (ch[k].scheme == TORIDE_AUTH_BASIC && !found) {
				m->chal = ch[k];
				found = true;
			}
		}
	}
	return found;
}

static void
hm_fingerprint_head(struct conv *c)
{
	struct hm *m = c->mod;
	struct service *svc = c->svc;
	const char *server = toride_http_msg_header(m->msg, "Server", 0);
	const char *auth = toride_http_msg_header(m->msg, "WWW-Authenticate", 0);
	char title[256] = "";
	toride_http_msg_title(m->msg, title, sizeof title);
	if (svc->banner[0] == '\0') {
		char line[512];
		snprintf(line, sizeof line, "%s %d %s%s%s", toride_http_msg_protocol(m->msg), toride_http_msg_status(m->msg),
		         server ? "Server: " : "", server ? server : "", title[0] ? " title: " : "");
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, "%s", title);
		svc_identified(svc, m->proto, line, strlen(line));
		svc_detail(svc, m->proto == PROTO_RTSP ? "rtsp" : "http",
		           json_pack("{s:i, s:s, s:s, s:s}", "status", toride_http_msg_status(m->msg), "server",
		                     server ? server : "", "www_authenticate", auth ? auth : "", "title", title));
	}
	if (m->proto == PROTO_RTSP) {
		if (server != NULL)
			svc_fingerprint(svc, TORIDE_FP_RTSP_SERVER, server, strlen(server));
		return;
	}
	if (auth != NULL)
		svc_fingerprint(svc, TORIDE_FP_HTTP_WWWAUTH, auth, strlen(auth));
	if (server != NULL)
		svc_fingerprint(svc, TORIDE_FP_HTTP_SERVER, server, strlen(server));
	if (title[0] != '\0')
		svc_fingerprint(svc, TORIDE_FP_HTML_TITLE, title, strlen(title));
}

/* Same-host redirect target as a path, or false. */
static bool
hm_redirect_path(struct conv *c, const char *loc, char *out, size_t outlen)
{
	if (loc == NULL || *loc == '\0')
		return false;
	if (loc[0] == '/') {
		snprintf(out, outlen, "%s", loc);
		return true;
	}
	char host[96], prefix[128];
	hm_host(c, host, sizeof host);
	const char *rest = NULL;
	snprintf(prefix, sizeof prefix, "http://%s", host);
	if (strncasecmp(loc, prefix, strlen(prefix)) == 0)
		rest = loc + strlen(prefix);
	else if (c->port == 80) {
		/* the default port may be left out; an IPv6 literal keeps its brackets */
		snprintf(prefix, sizeof prefix, c->svc->host->addr.family == 6 ? "http://[%s]" : "http://%s",
		         c->svc->host->addr_str);
		if (strncasecmp(loc, prefix, strlen(prefix)) == 0)
			rest = loc + strlen(prefix);
	}
	/* the prefix must end the authority: "http://10.0.0.1" is not a prefix of 10.0.0.12 or :8080 */
	if (rest == NULL || (*rest != '\0' && *rest != '/'))
		return false; /* another host: never followed */
	snprintf(out, outlen, "%s", *rest ? rest : "/");
	return true;
}

static void
hm_ident_response(struct conv *c)
{
	struct hm *m = c->mod;
	struct service *svc = c->svc;
	int status = toride_http_msg_status(m->msg);
	hm_fingerprint_head(c);
	if (m->proto == PROTO_RTSP && m->step == HS_OPTIONS && status != 401) {
		rtsp_load_routes();
		m->step = HS_DESCRIBE;
		m->route = 0;
		snprintf(m->path, sizeof m->path, "/%.200s", rtsp_routes[0]);
		hm_request(c, "DESCRIBE", m->path, NULL);
		return;
	}
	if (status == 401) {
		svc->needs_auth = true;
		snprintf(svc->http_path, sizeof svc->http_path, "%s", m->path);
		svc->auth_scheme = hm_take_challenge(m) ? (int)m->chal.scheme : TORIDE_AUTH_OTHER;
		if (svc->auth_scheme == TORIDE_AUTH_OTHER)
			snprintf(svc->unknown_note, sizeof svc->unknown_note,
			         "the server asks for an authentication scheme toride does not test");
		conv_close(c);
		return;
	}
	if (m->proto == PROTO_RTSP) {
		if (status >= 200 && status < 300) {
			char summary[400];
			snprintf(summary, sizeof summary, "RTSP stream %s is described without authentication", m->path);
			svc->noauth_fail = true;
			svc_finding(svc, "JP-34-10-1", VERDICT_FAIL, "strong", summary, NULL, c, NULL,
			            "DESCRIBE answered 200 with a session description, no credentials sent");
			conv_close(c);
			return;
		}
		/* 404 and friends: try the next route */
		if (++m->route < rtsp_nroutes && !toride_http_msg_header(m->msg, "Connection", 0)) {
			snprintf(m->path, sizeof m->path, "/%.200s", rtsp_routes[m->route]);
			hm_request(c, "DESCRIBE", m->path, NULL);
			return;
		}
		snprintf(svc->unknown_note, sizeof svc->unknown_note, "no stream route answered (tried %zu)", m->route);
		conv_close(c);
		return;
	}
	/* HTTP */
	if (status >= 300 && status < 400) {
		char next[256];
		if (svc->redirects < HTTP_MAX_REDIRECTS &&
		    hm_redirect_path(c, toride_http_msg_header(m->msg, "Location", 0), next, sizeof next)) {
			svc->redirects++;
			snprintf(svc->http_path, sizeof svc->http_path, "%s", next);
			svc->follow_redirect = true;
		} else {
			snprintf(svc->unknown_note, sizeof svc->unknown_note, "/ redirects elsewhere (status %d)", status);
		}
		conv_close(c);
		return;
	}
	if (status >= 200 && status < 300) {
		if (toride_http_msg_has_password_form(m->msg)) {
			svc->form_login = true;
			snprintf(svc->unknown_note, sizeof svc->unknown_note,
			         "login form at %.100s (form logins are not tested)", m->path);
		} else {
			char title[256] = "", summary[512];
			toride_http_msg_title(m->msg, title, sizeof title);
			snprintf(summary, sizeof summary, "HTTP interface %.200s is served without authentication%s%.200s%s", m->path,
			         title[0] ? " (title \"" : "", title, title[0] ? "\")" : "");
			svc->noauth_fail = true;
			svc_finding(svc, "JP-34-10-1", VERDICT_FAIL, "weak", summary, NULL, c, NULL,
			            "status 2xx with no credentials and no login form; whether the page allows "
			            "operating the device is judged from the page, not proven");
		}
		conv_close(c);
		return;
	}
	snprintf(svc->unknown_note, sizeof svc->unknown_note, "%.100s answered status %d", m->path, status);
	conv_close(c);
}

static void
hm_login_send(struct conv *c)
{
	struct hm *m = c->mod;
	struct service *svc = c->svc;
	const char *method = m->proto == PROTO_RTSP ? "DESCRIBE" : "GET";
	if (!service_may_attempt(svc) || (m->cred = service_next_cred(svc)) == NULL) {
		conv_close(c);
		return;
	}
	char auth[1024];
	int r;
	if (m->chal.scheme == TORIDE_AUTH_DIGEST) {
		char cnonce[17], uri[512];
		random_hex(cnonce, 16);
		if (m->proto == PROTO_RTSP) {
			char host[96];
			hm_host(c, host, sizeof host);
			snprintf(uri, sizeof uri, "rtsp://%s%s", host, m->path);
		} else {
			snprintf(uri, sizeof uri, "%s", m->path);
		}
		r = toride_auth_digest(&m->chal, m->cred->user, m->cred->pass, method, uri, cnonce, ++m->nc, auth,
		                       sizeof auth);
	} else {
		r = toride_auth_basic(m->cred->user, m->cred->pass, auth, sizeof auth);
	}
	if (r != 0) {
		/* e.g. a user name with ':' cannot be sent as Basic: skip this pair */
		svc_login_attempt(svc, m->cred, "error", toride_strerror(r));
		hm_login_send(c);
		return;
	}
	service_count_attempt(svc);
	m->step = HS_LOGIN;
	hm_request(c, method, m->path, auth);
}

static void
hm_login_response(struct conv *c)
{
	struct hm *m = c->mod;
	struct service *svc = c->svc;
	int status = toride_http_msg_status(m->msg);
	const char *conn = toride_http_msg_header(m->msg, "Connection", 0);
	bool http10 = strcmp(toride_http_msg_protocol(m->msg), "HTTP/1.0") == 0;
	m->server_closes = (conn != NULL && strcasecmp(conn, "close") == 0) ||
	                   (http10 && !(conn != NULL && strcasecmp(conn, "keep-alive") == 0));
	if (m->step == HS_LOGIN_PROBE) {
		/* fresh challenge for Digest */
		if (status != 401 || !hm_take_challenge(m)) {
			svc->inconclusive = true;
			conv_close(c);
			return;
		}
		if (m->server_closes) {
			conv_close(c);
			return;
		}
		hm_login_send(c);
		return;
	}
	if (status == 401 || status == 403) {
		svc_login_attempt(svc, m->cred, "rejected", status == 401 ? "401" : "403");
		m->cred = NULL;
		if (status == 401)
			hm_take_challenge(m); /* the next Digest answer uses the newest nonce */
		if (m->server_closes) {
			conv_close(c);
			return;
		}
		hm_login_send(c);
		return;
	}
	if ((status >= 200 && status < 400) || (m->proto == PROTO_RTSP && status == 404)) {
		char summary[512];
		snprintf(summary, sizeof summary, "%s %s accepts a default credential (%s)",
		         m->proto == PROTO_RTSP ? "RTSP" : "HTTP", m->path,
		         m->chal.scheme == TORIDE_AUTH_DIGEST ? "Digest" : "Basic");
		svc->found_cred = true;
		svc_login_attempt(svc, m->cred, "accepted", "status");
		svc_finding(svc, "JP-34-10-2", VERDICT_FAIL, status == 404 ? "weak" : "strong", summary, m->cred, c, NULL,
		            status == 404 ? "the credential passed authentication (401 without it) but the stream route "
		                            "was not found"
		                          : "the same request was answered 401 without the credential");
		conv_close(c);
		return;
	}
	svc_login_attempt(svc, m->cred, "error", "unexpected status");
	svc->inconclusive = true;
	conv_close(c);
}

static void
hm_complete(struct conv *c)
{
	struct hm *m = c->mod;
	if (m->ident)
		hm_ident_response(c);
	else
		hm_login_response(c);
}

static void
hm_on_data(struct conv *c, const uint8_t *p, size_t n)
{
	struct hm *m = c->mod;
	while (n > 0 && !c->closing) {
		size_t used = 0;
		int r = toride_http_msg_parse(m->msg, p, n, &used);
		if (r == TORIDE_EINCOMPLETE)
			return;
		if (r != 0) {
			if (m->ident)
				svc_identified(c->svc, m->proto, (const char *)p, n);
			c->svc->inconclusive = true;
			conv_close(c);
			return;
		}
		p += used;
		n -= used;
		hm_complete(c);
		if (used == 0)
			break;
	}
}

static void
hm_on_eof(struct conv *c)
{
	struct hm *m = c->mod;
	if (toride_http_msg_head_done(m->msg) && toride_http_msg_eof(m->msg) == 0) {
		hm_complete(c);
		if (!c->closing)
			conv_close(c);
		return;
	}
	if (m->cred != NULL) {
		/* Closed before answering this pair (an idle keep-alive the server dropped): give the
		 * pair back once so it is really tested on a new connection. */
		if (!service_retry_cred(c->svc, m->cred)) {
			svc_login_attempt(c->svc, m->cred, "error", "connection closed");
			c->svc->inconclusive = true;
		}
	} else if (m->ident) {
		c->svc->inconclusive = true;
	}
	conv_close(c);
}

static void
hm_on_timeout(struct conv *c)
{
	struct hm *m = c->mod;
	if (m->cred != NULL)
		svc_login_attempt(c->svc, m->cred, "error", "timeout");
	c->svc->inconclusive = true;
	conv_close(c);
}

static void
hm_on_connect(struct conv *c)
{
	struct hm *m = c->mod;
	struct service *svc = c->svc;
	if (m->ident) {
		/* a redirect being followed */
		hm_request(c, "GET", m->path, NULL);
		return;
	}
	snprintf(m->path, sizeof m->path, "%s", svc->http_path[0] ? svc->http_path : "/");
	if (svc->auth_scheme == TORIDE_AUTH_DIGEST) {
		m->step = HS_LOGIN_PROBE; /* get a fresh nonce first */
		hm_request(c, m->proto == PROTO_RTSP ? "DESCRIBE" : "GET", m->path, NULL);
		return;
	}
	m->chal.scheme = TORIDE_AUTH_BASIC;
	hm_login_send(c);
}

const struct conv_ops http_ops = {
	.name = "http",
	.on_connect = hm_on_connect,
	.on_data = hm_on_data,
	.on_timeout = hm_on_timeout,
	.on_eof = hm_on_eof,
	.on_free = hm_free,
};

void
http_take_over(struct conv *c, enum proto p, const uint8_t *data, size_t n, const char *path)
{
	struct hm *m = hm_new(p, true);
	if (m == NULL) {
		conv_close(c);
		return;
	}
	snprintf(m->path, sizeof m->path, "%s", path);
	m->step = p == PROTO_RTSP ? HS_OPTIONS : HS_GET;
	m->cseq = 1;
	conv_switch(c, &http_ops, m);
	c->svc->proto = p;
	const struct toride_survey_config *cfg = survey_config(conv_survey(c));
	conv_set_timeout(c, cfg->read_timeout_ms);
	hm_on_data(c, data, n);
}

void
http_next(struct service *svc)
{
	if (svc->follow_redirect) {
		svc->follow_redirect = false;
		struct hm *m = hm_new(svc->proto, true);
		if (m == NULL)
			return;
		snprintf(m->path, sizeof m->path, "%s", svc->http_path);
		if (service_conv_start(svc, &http_ops, m, false) == NULL)
			hm_destroy(m);
		return;
	}
	if (svc->auth_scheme == TORIDE_AUTH_OTHER || !service_ready_for_login(svc))
		return;
	struct hm *m = hm_new(svc->proto, false);
	if (m == NULL)
		return;
	if (service_conv_start(svc, &http_ops, m, true) == NULL)
		hm_destroy(m);
}
