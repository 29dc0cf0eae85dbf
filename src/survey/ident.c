/*
 * Identification: the first conversation on an open port decides the protocol.
 *
 * Server-first protocols (telnet, SSH, FTP) speak at once; for ports where the client speaks
 * first (HTTP, RTSP, MQTT by convention) we send that protocol's harmless opening request right
 * away. A silent server-first port gets an HTTP request after a short wait. The first bytes
 * decide: IAC -> telnet, "SSH-" -> SSH, "220" -> FTP, "HTTP/" / "RTSP/" -> HTTP / RTSP, a CONNACK
 * after our CONNECT -> MQTT, other text on a telnet port -> telnet without negotiation. The
 * conversation is then handed to that protocol's module with the bytes read so far.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/http.h"
#include "proto/mqtt.h"
#include "proto/sshbanner.h"
#include "survey/engine.h"
#include "survey/fingerprint.h"

/* Why 2.5 s: telnet and FTP daemons greet within a few hundred ms; busybox telnetd's login needs
 * a fork + exec; slower than this on a LAN means a tarpit or a client-first service. */
#define IDENT_BANNER_WAIT_MS 2500
/* Why 2 KiB: enough to classify any greeting; the protocol module gets these bytes. */
#define IDENT_BUF_MAX 2048

enum ident_probe { PROBE_NONE, PROBE_HTTP, PROBE_RTSP, PROBE_MQTT };

struct ident {
	enum ident_probe sent;
	uint8_t buf[IDENT_BUF_MAX];
	size_t len;
	bool tried_http;
};

static enum ident_probe
port_hint(uint16_t port)
{
	switch (port) {
	case 80: case 81: case 88: case 8000: case 8008: case 8080: case 8081: case 8088: case 8888:
		return PROBE_HTTP;
	case 554: case 8554: case 10554:
		return PROBE_RTSP;
	case 1883:
		return PROBE_MQTT;
	}
	return PROBE_NONE;
}

static void
ident_send(struct conv *c, enum ident_probe p)
{
	struct ident *m = c->mod;
	const struct toride_survey_config *cfg = survey_config(conv_survey(c));
	struct toride_buf b;
	toride_buf_init(&b, 1024);
	char host[96], target[160];
	snprintf(host, sizeof host, c->svc->host->addr.family == 6 ? "[%s]:%u" : "%s:%u", c->svc->host->addr_str,
	         c->port);
	int r = 0;
	switch (p) {
	case PROBE_HTTP:
		r = toride_http_build_request(&b, "GET", "/", "HTTP/1.1", host, 0, cfg->user_agent,
		                              "Accept: */*\r\nConnection: close\r\n");
		break;
	case PROBE_RTSP:
		snprintf(target, sizeof target, "rtsp://%s/", host);
		r = toride_http_build_request(&b, "OPTIONS", target, "RTSP/1.0", NULL, 1, cfg->user_agent, NULL);
		break;
	case PROBE_MQTT: {
		char id[24];
		memcpy(id, "toride-", 7);
		random_hex(id + 7, 12);
		r = toride_mqtt_build_connect(&b, id, NULL, NULL, 30);
		break;
	}
	case PROBE_NONE:
		break;
	}
	if (r == 0 && b.len > 0)
		conv_write(c, b.data, b.len);
	toride_buf_free(&b);
	m->sent = p;
	if (p == PROBE_HTTP)
		m->tried_http = true;
	conv_set_timeout(c, cfg->read_timeout_ms);
}

static bool
starts_with(const uint8_t *p, size_t n, const char *s)
{
	size_t l = strlen(s);
	return n >= l && memcmp(p, s, l) == 0;
}

static bool
is_telnet_port(uint16_t port)
{
	return port == 23 || port == 2323 || port == 992;
}

/* Decide on what we have. Returns true when the conversation was handed over or closed. */
static bool
ident_decide(struct conv *c, bool final)
{
	struct ident *m = c->mod;
	struct service *svc = c->svc;
	const uint8_t *p = m->buf;
	size_t n = m->len;
	if (n == 0)
		return false;
	if (p[0] == 0xff) {
		telnet_take_over(c, p, n);
		return true;
	}
	if (starts_with(p, n, "SSH-")) {
		char line[256];
		size_t used;
		if (toride_ssh_parse_banner(p, n, &used, line, sizeof line) != 0 && !final)
			return false;
		svc_identified(svc, PROTO_SSH, (const char *)p, used ? used : n);
		svc_fingerprint(svc, TORIDE_FP_SSH_BANNER, line, strlen(line));
		conv_close(c); /* SSH checks run through libssh on their own connections */
		return true;
	}
	if (starts_with(p, n, "HTTP/") || starts_with(p, n, "RTSP/")) {
		enum proto pr = starts_with(p, n, "RTSP/") ? PROTO_RTSP : PROTO_HTTP;
		http_take_over(c, pr, p, n, "/");
		return true;
	}
	if (m->sent == PROBE_MQTT && p[0] == 0x20) {
		mqtt_take_over(c, p, n);
		return true;
	}
	if (n >= 4 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    (p[3] == ' ' || p[3] == '-') && !is_telnet_port(c->port)) {
		ftp_take_over(c, p, n);
		return true;
	}
	if (is_telnet_port(c->port) || m->sent == PROBE_NONE) {
		/* Text on a telnet port, or any greeting on an unknown port: a telnet-style login
		 * without option negotiation (many cheap devices) or a raw shell. */
		telnet_take_over(c, p, n);
		return true;
	}
	if (final) {
		svc_identified(svc, PROTO_UNKNOWN, (const char *)p, n);
		conv_close(c);
		return true;
	}
	return false;
}

static void
ident_on_connect(struct conv *c)
{
	enum ident_probe hint = port_hint(c->port);
	if (hint != PROBE_NONE)
		ident_send(c, hint);
	else
		conv_set_timeout(c, IDENT_BANNER_WAIT_MS);
}

static void
ident_on_data(struct conv *c, const uint8_t *p, size_t n)
{
	struct ident *m = c->mod;
	size_t room = sizeof m->buf - m->len;
	size_t take = n < room ? n : room;
	memcpy(m->buf + m->len, p, take);
	m->len += take;
	ident_decide(c, m->len == sizeof m->buf);
	if (c->mod != m)
		free(m); /* handed over: the new module owns the conversation now */
}

static void
ident_on_timeout(struct conv *c)
{
	struct ident *m = c->mod;
	if (m->len > 0) {
		ident_decide(c, true);
		if (c->mod != m)
			free(m);
		return;
	}
	if (!m->tried_http) {
		/* A silent port: perhaps a client-first service on an unusual port. */
		ident_send(c, PROBE_HTTP);
		return;
	}
	svc_identified(c->svc, PROTO_UNKNOWN, NULL, 0);
	conv_close(c);
}

static void
ident_on_eof(struct conv *c)
{
	struct ident *m = c->mod;
	if (m->len > 0 && ident_decide(c, true)) {
		if (c->mod != m)
			free(m);
		return;
	}
	if (m->len == 0)
		svc_identified(c->svc, PROTO_UNKNOWN, NULL, 0);
	conv_close(c);
}

static void
ident_on_free(struct conv *c)
{
	free(c->mod);
	c->mod = NULL;
}

static void
ident_on_connect_alloc(struct conv *c)
{
	struct ident *m = calloc(1, sizeof *m);
	if (m == NULL) {
		conv_close(c);
		return;
	}
	c->mod = m;
	ident_on_connect(c);
}

const struct conv_ops ident_ops = {
	.name = "identify",
	.on_connect = ident_on_connect_alloc,
	.on_data = ident_on_data,
	.on_timeout = ident_on_timeout,
	.on_eof = ident_on_eof,
	.on_free = ident_on_free,
};
