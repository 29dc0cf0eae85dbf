/*
 * The sans-IO emulated servers against scripted client dialogues: what curl, mosquitto_pub and an
 * FTP client send, and our own survey client's Digest answer (toride_auth_digest), which proves
 * the emulator and the survey interoperate. Hostile inputs must stay bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "emu/emu.h"
#include "proto/auth.h"
#include "proto/ftp.h"
#include "proto/http.h"
#include "proto/mqtt.h"

/* Output cap of a test connection: far above any reply, small enough to catch runaway output. */
#define OUT_MAX (1024 * 1024)

struct fixture {
	struct emu_profile prof;
	struct emu_device dev;
	struct emu_service *svc;
	struct toride_buf out;
	unsigned delay;
	const struct emu_server_ops *ops;
	void *st;
};

static void
fx_init(struct fixture *f, enum emu_cred_policy pol, enum emu_proto proto)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->prof.id, sizeof(f->prof.id), "test-cam");
	snprintf(f->prof.vendor, sizeof(f->prof.vendor), "Hikvision");
	snprintf(f->prof.product, sizeof(f->prof.product), "DS-2CD2032");
	f->prof.policy = pol;
	snprintf(f->prof.user, sizeof(f->prof.user), "admin");
	snprintf(f->prof.pass, sizeof(f->prof.pass), "12345");
	f->prof.nservices = 1;
	f->svc = &f->prof.services[0];
	f->svc->proto = proto;
	f->dev.profile = &f->prof;
	snprintf(f->dev.addr_str, sizeof(f->dev.addr_str), "127.0.0.1");
	snprintf(f->dev.hostname, sizeof(f->dev.hostname), "cam");
	snprintf(f->dev.pass, sizeof(f->dev.pass), "%s", pol == EMU_CRED_UNIQUE ? "Xq7pLm2vRt9wKz4a" : "12345");
	f->dev.seed = 0x1234567890abcdefULL;
	toride_buf_init(&f->out, OUT_MAX);
}

static void
fx_open(struct fixture *f, const struct emu_server_ops *ops)
{
	f->ops = ops;
	f->st = ops->open(&f->dev, f->svc, &f->out, &f->delay);
	assert_non_null(f->st);
}

static int
fx_send(struct fixture *f, const void *p, size_t n)
{
	toride_buf_reset(&f->out);
	return f->ops->input(f->st, p, n, &f->out, &f->delay);
}

static const char *
fx_text(struct fixture *f)
{
	const char *s;
	assert_int_equal(toride_buf_cstr(&f->out, &s), 0);
	return s;
}

static void
fx_done(struct fixture *f)
{
	if (f->st != NULL)
		f->ops->close(f->st);
	toride_buf_free(&f->out);
}

/* Parse the whole output as one HTTP/RTSP response. */
static struct toride_http_msg *
parse_resp(struct fixture *f)
{
	struct toride_http_msg *m;
	size_t used;
	assert_int_equal(toride_http_msg_new(&m, 1), 0);
	assert_int_equal(toride_http_msg_parse(m, f->out.data, f->out.len, &used), 0);
	assert_int_equal(used, f->out.len);
	return m;
}

static int
send_str(struct fixture *f, const char *s)
{
	return fx_send(f, s, strlen(s));
}

/* ---- HTTP ---- */

static void
test_http_none_admin_page(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_HTTP);
	snprintf(f.svc->server, sizeof(f.svc->server), "Boa/0.94.14rc21");
	snprintf(f.svc->title, sizeof(f.svc->title), "Web Client & Admin");
	fx_open(&f, &emu_http_server);
	assert_int_equal(f.out.len, 0);
	assert_int_equal(send_str(&f, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n\r\n"), EMU_CONTINUE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_string_equal(toride_http_msg_header(m, "Server", 0), "Boa/0.94.14rc21");
	char title[256];
	assert_int_equal(toride_http_msg_title(m, title, sizeof(title)), 0);
	assert_string_equal(title, "Web Client & Admin");
	assert_false(toride_http_msg_has_password_form(m));
	toride_http_msg_free(m);
	/* keep-alive: a second request on the same connection; HTTP/1.0 closes */
	assert_int_equal(send_str(&f, "GET /nothere HTTP/1.0\r\n\r\n"), EMU_CLOSE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 404);
	toride_http_msg_free(m);
	fx_done(&f);
}

static void
test_http_basic(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_HTTP);
	f.svc->http_auth = EMU_HTTP_AUTH_BASIC;
	snprintf(f.svc->realm, sizeof(f.svc->realm), "DVR \"Login\"");
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), EMU_CONTINUE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 401);
	struct toride_auth_challenge c;
	size_t nc;
	assert_int_equal(toride_auth_parse_challenges(toride_http_msg_header(m, "WWW-Authenticate", 0), &c, 1, &nc), 0);
	assert_int_equal(c.scheme, TORIDE_AUTH_BASIC);
	assert_string_equal(c.realm, "DVR \"Login\"");
	toride_http_msg_free(m);

	char auth[256], req[512];
	assert_int_equal(toride_auth_basic("admin", "wrong", auth, sizeof(auth)), 0);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", auth);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 401);
	toride_http_msg_free(m);

	assert_int_equal(toride_auth_basic("admin", "12345", auth, sizeof(auth)), 0);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", auth);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	toride_http_msg_free(m);
	fx_done(&f);
}

/* Digest round trip with the survey's own client computation; a wrong password and a forged
 * nonce are refused. */
static void
digest_round(enum emu_cred_policy pol, const char *user, const char *pass, int want_status)
{
	struct fixture f;
	fx_init(&f, pol, EMU_HTTP);
	f.svc->http_auth = EMU_HTTP_AUTH_DIGEST;
	snprintf(f.svc->realm, sizeof(f.svc->realm), "IP Camera(C1234)");
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: x\r\n\r\n"), EMU_CONTINUE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 401);
	struct toride_auth_challenge c;
	size_t nc;
	assert_int_equal(toride_auth_parse_challenges(toride_http_msg_header(m, "WWW-Authenticate", 0), &c, 1, &nc), 0);
	toride_http_msg_free(m);
	assert_int_equal(c.scheme, TORIDE_AUTH_DIGEST);
	assert_string_equal(c.qop, "auth");
	char auth[1024], req[1400];
	assert_int_equal(toride_auth_digest(&c, user, pass, "GET", "/", "0a4f113b", 1, auth, sizeof(auth)), 0);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", auth);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), want_status);
	toride_http_msg_free(m);
	/* the same answer with a forged nonce never passes */
	c.nonce[0] = c.nonce[0] == '0' ? '1' : '0';
	assert_int_equal(toride_auth_digest(&c, user, pass, "GET", "/", "0a4f113b", 1, auth, sizeof(auth)), 0);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", auth);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 401);
	toride_http_msg_free(m);
	fx_done(&f);
}

static void
test_http_digest(void **state)
{
	(void)state;
	digest_round(EMU_CRED_FACTORY_DEFAULT, "admin", "12345", 200);
	digest_round(EMU_CRED_FACTORY_DEFAULT, "admin", "54321", 401);
	digest_round(EMU_CRED_UNIQUE, "admin", "12345", 401);
	digest_round(EMU_CRED_UNIQUE, "admin", "Xq7pLm2vRt9wKz4a", 200);
	digest_round(EMU_CRED_FORCED_CHANGE, "admin", "12345", 401);
}

static void
test_http_no_auth_policy_overrides(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_NO_AUTH, EMU_HTTP);
	f.svc->http_auth = EMU_HTTP_AUTH_BASIC;
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), EMU_CONTINUE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	toride_http_msg_free(m);
	fx_done(&f);
}

static void
test_http_form_login(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_HTTP);
	f.svc->http_auth = EMU_HTTP_AUTH_FORM;
	snprintf(f.svc->title, sizeof(f.svc->title), "NETGEAR Router");
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), EMU_CONTINUE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_true(toride_http_msg_has_password_form(m));
	toride_http_msg_free(m);

	assert_int_equal(send_str(&f, "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 302);
	toride_http_msg_free(m);

	const char *bad = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	                  "Content-Length: 29\r\n\r\nusername=admin&password=nope1";
	assert_int_equal(send_str(&f, bad), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_null(toride_http_msg_header(m, "Set-Cookie", 0));
	toride_http_msg_free(m);

	const char *good = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	                   "Content-Length: 33\r\n\r\nusername=admin&password=%31%32345";
	assert_int_equal(send_str(&f, good), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 302);
	const char *cookie = toride_http_msg_header(m, "Set-Cookie", 0);
	assert_non_null(cookie);
	char sess[128];
	snprintf(sess, sizeof(sess), "%.*s", (int)strcspn(cookie, ";"), cookie);
	toride_http_msg_free(m);
	fx_done(&f);

	/* the cookie works on a new connection (stateless session) */
	fx_open(&f, &emu_http_server);
	char req[512];
	snprintf(req, sizeof(req), "GET /admin HTTP/1.1\r\nHost: x\r\nCookie: lang=en; %s\r\n\r\n", sess);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_false(toride_http_msg_has_password_form(m));
	toride_http_msg_free(m);
	fx_done(&f);
}

static void
test_http_hostile(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_HTTP);
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "\x16\x03\x01\x02\x00garbage\r\n\r\n"), EMU_CLOSE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 400);
	toride_http_msg_free(m);
	fx_done(&f);

	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_HTTP);
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "POST /login HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"), EMU_CLOSE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 413);
	toride_http_msg_free(m);
	fx_done(&f);

	/* an endless header is cut at the parser's cap */
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_HTTP);
	fx_open(&f, &emu_http_server);
	assert_int_equal(send_str(&f, "GET / HTTP/1.1\r\nX: "), EMU_CONTINUE);
	char junk[4096];
	memset(junk, 'a', sizeof(junk));
	int r = EMU_CONTINUE;
	for (int i = 0; i < 64 && r == EMU_CONTINUE; i++)
		r = fx_send(&f, junk, sizeof(junk));
	assert_int_equal(r, EMU_CLOSE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 431);
	toride_http_msg_free(m);
	fx_done(&f);
}

/* ---- RTSP ---- */

static void
test_rtsp(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_RTSP);
	f.svc->http_auth = EMU_HTTP_AUTH_BASIC;
	snprintf(f.svc->realm, sizeof(f.svc->realm), "IP Camera");
	snprintf(f.svc->route, sizeof(f.svc->route), "/Streaming/Channels/101");
	fx_open(&f, &emu_rtsp_server);
	assert_int_equal(send_str(&f, "OPTIONS rtsp://127.0.0.1:554/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"), EMU_CONTINUE);
	struct toride_http_msg *m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_string_equal(toride_http_msg_header(m, "CSeq", 0), "1");
	assert_non_null(strstr(toride_http_msg_header(m, "Public", 0), "DESCRIBE"));
	toride_http_msg_free(m);

	assert_int_equal(send_str(&f, "DESCRIBE rtsp://127.0.0.1:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 2\r\n"
	                              "Accept: application/sdp\r\n\r\n"),
	                 EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 401);
	assert_string_equal(toride_http_msg_header(m, "CSeq", 0), "2");
	toride_http_msg_free(m);

	char auth[256], req[512];
	assert_int_equal(toride_auth_basic("admin", "12345", auth, sizeof(auth)), 0);
	snprintf(req, sizeof(req), "DESCRIBE rtsp://127.0.0.1:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 3\r\n"
	                           "Authorization: %s\r\n\r\n", auth);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	assert_string_equal(toride_http_msg_header(m, "Content-Type", 0), "application/sdp");
	size_t bl;
	assert_non_null(strstr((const char *)toride_http_msg_body(m, &bl), "m=video"));
	toride_http_msg_free(m);

	snprintf(req, sizeof(req), "DESCRIBE rtsp://127.0.0.1:554/live RTSP/1.0\r\nCSeq: 4\r\nAuthorization: %s\r\n\r\n",
	         auth);
	assert_int_equal(send_str(&f, req), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 404);
	toride_http_msg_free(m);
	fx_done(&f);

	/* NO_AUTH camera: the stream is described without credentials */
	fx_init(&f, EMU_CRED_NO_AUTH, EMU_RTSP);
	f.svc->http_auth = EMU_HTTP_AUTH_DIGEST;
	snprintf(f.svc->route, sizeof(f.svc->route), "/live");
	fx_open(&f, &emu_rtsp_server);
	assert_int_equal(send_str(&f, "DESCRIBE rtsp://127.0.0.1/live/ RTSP/1.0\r\nCSeq: 7\r\n\r\n"), EMU_CONTINUE);
	m = parse_resp(&f);
	assert_int_equal(toride_http_msg_status(m), 200);
	toride_http_msg_free(m);
	fx_done(&f);
}

/* ---- MQTT ---- */

static int
mqtt_connack(struct fixture *f)
{
	struct toride_mqtt_packet p;
	size_t used;
	assert_int_equal(toride_mqtt_parse(f->out.data, f->out.len, &used, &p), 0);
	assert_int_equal(p.type, TORIDE_MQTT_CONNACK);
	return p.connack_rc;
}

static int
mqtt_try(enum emu_cred_policy pol, bool anonymous, const char *user, const char *pass, int *rc)
{
	struct fixture f;
	struct toride_buf pkt;
	fx_init(&f, pol, EMU_MQTT);
	f.svc->anonymous = anonymous;
	fx_open(&f, &emu_mqtt_server);
	assert_int_equal(f.out.len, 0);
	toride_buf_init(&pkt, 1024);
	assert_int_equal(toride_mqtt_build_connect(&pkt, "mosqpub|1234-host", user, pass, 60), 0);
	int r = fx_send(&f, pkt.data, pkt.len);
	*rc = mqtt_connack(&f);
	if (r == EMU_CONTINUE) {
		static const uint8_t ping[2] = { 0xC0, 0x00 }, disc[2] = { 0xE0, 0x00 };
		assert_int_equal(fx_send(&f, ping, 1), EMU_CONTINUE); /* split packet */
		assert_int_equal(f.out.len, 0);
		assert_int_equal(fx_send(&f, ping + 1, 1), EMU_CONTINUE);
		assert_int_equal(f.out.len, 2);
		assert_int_equal(f.out.data[0], 0xD0);
		assert_int_equal(fx_send(&f, disc, 2), EMU_CLOSE);
	}
	toride_buf_free(&pkt);
	fx_done(&f);
	return r;
}

static void
test_mqtt(void **state)
{
	(void)state;
	int rc;
	assert_int_equal(mqtt_try(EMU_CRED_FACTORY_DEFAULT, true, NULL, NULL, &rc), EMU_CONTINUE);
	assert_int_equal(rc, TORIDE_MQTT_RC_ACCEPTED);
	assert_int_equal(mqtt_try(EMU_CRED_NO_AUTH, false, NULL, NULL, &rc), EMU_CONTINUE);
	assert_int_equal(rc, TORIDE_MQTT_RC_ACCEPTED);
	assert_int_equal(mqtt_try(EMU_CRED_FACTORY_DEFAULT, false, NULL, NULL, &rc), EMU_CLOSE);
	assert_int_equal(rc, TORIDE_MQTT_RC_NOT_AUTHORIZED);
	assert_int_equal(mqtt_try(EMU_CRED_FACTORY_DEFAULT, false, "admin", "bad", &rc), EMU_CLOSE);
	assert_int_equal(rc, TORIDE_MQTT_RC_BAD_USER_PASS);
	assert_int_equal(mqtt_try(EMU_CRED_FACTORY_DEFAULT, false, "admin", "12345", &rc), EMU_CONTINUE);
	assert_int_equal(rc, TORIDE_MQTT_RC_ACCEPTED);
	assert_int_equal(mqtt_try(EMU_CRED_UNIQUE, false, "admin", "12345", &rc), EMU_CLOSE);
	assert_int_equal(rc, TORIDE_MQTT_RC_BAD_USER_PASS);
	assert_int_equal(mqtt_try(EMU_CRED_FORCED_CHANGE, false, "admin", "12345", &rc), EMU_CLOSE);
	assert_int_equal(rc, TORIDE_MQTT_RC_BAD_USER_PASS);
}

static void
test_mqtt_hostile(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_MQTT);
	fx_open(&f, &emu_mqtt_server);
	static const uint8_t pub_first[] = { 0x30, 0x02, 0x00, 0x00 };
	assert_true(fx_send(&f, pub_first, sizeof(pub_first)) < 0); /* must start with CONNECT */
	fx_done(&f);
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_MQTT);
	fx_open(&f, &emu_mqtt_server);
	static const uint8_t huge[] = { 0x10, 0xff, 0xff, 0xff, 0x7f };
	assert_true(fx_send(&f, huge, sizeof(huge)) < 0);
	fx_done(&f);
}

/* ---- FTP ---- */

static int
ftp_code(struct fixture *f)
{
	size_t used;
	int code;
	assert_int_equal(toride_ftp_parse_reply(f->out.data, f->out.len, &used, &code, NULL, 0), 0);
	return code;
}

static void
test_ftp(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_FTP);
	snprintf(f.svc->banner, sizeof(f.svc->banner), "(vsFTPd 2.0.7)");
	fx_open(&f, &emu_ftp_server);
	assert_string_equal(fx_text(&f), "220 (vsFTPd 2.0.7)\r\n");
	assert_int_equal(send_str(&f, "PWD\r\n"), EMU_CONTINUE);
	assert_int_equal(ftp_code(&f), 530);
	assert_int_equal(send_str(&f, "USER anonymous\r\n"), EMU_CONTINUE);
	assert_int_equal(ftp_code(&f), 331);
	assert_int_equal(send_str(&f, "PASS a@b\r\n"), EMU_CONTINUE);
	assert_int_equal(ftp_code(&f), 530); /* anonymous not enabled */
	assert_int_equal(send_str(&f, "USER admin\r\nPASS 12345\r\n"), EMU_CONTINUE);
	assert_non_null(strstr(fx_text(&f), "230 "));
	assert_int_equal(send_str(&f, "SYST\r\n"), EMU_CONTINUE);
	assert_int_equal(ftp_code(&f), 215);
	assert_int_equal(send_str(&f, "LIST\r\n"), EMU_CONTINUE);
	assert_int_equal(ftp_code(&f), 502);
	assert_int_equal(send_str(&f, "QUIT\r\n"), EMU_CLOSE);
	assert_int_equal(ftp_code(&f), 221);
	fx_done(&f);

	/* three failures then 421; multi-line banner */
	fx_init(&f, EMU_CRED_UNIQUE, EMU_FTP);
	snprintf(f.svc->banner, sizeof(f.svc->banner), "Welcome\r\nNAS FTP server ready");
	f.svc->anonymous = true;
	fx_open(&f, &emu_ftp_server);
	assert_string_equal(fx_text(&f), "220-Welcome\r\n220 NAS FTP server ready\r\n");
	assert_int_equal(send_str(&f, "USER ftp\r\nPASS x\r\n"), EMU_CONTINUE);
	assert_non_null(strstr(fx_text(&f), "230 "));
	fx_done(&f);
	fx_init(&f, EMU_CRED_UNIQUE, EMU_FTP);
	fx_open(&f, &emu_ftp_server);
	assert_int_equal(send_str(&f, "USER admin\r\nPASS 12345\r\nUSER admin\r\nPASS admin\r\n"), EMU_CONTINUE);
	assert_int_equal(send_str(&f, "USER root\nPASS root\n"), EMU_CLOSE);
	assert_non_null(strstr(fx_text(&f), "421 "));
	fx_done(&f);

	/* an endless line is refused and bounded */
	fx_init(&f, EMU_CRED_FACTORY_DEFAULT, EMU_FTP);
	fx_open(&f, &emu_ftp_server);
	char junk[8192];
	memset(junk, 'A', sizeof(junk));
	assert_int_equal(fx_send(&f, junk, sizeof(junk)), EMU_CLOSE);
	assert_int_equal(ftp_code(&f), 500);
	fx_done(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_none_admin_page),
		cmocka_unit_test(test_http_basic),
		cmocka_unit_test(test_http_digest),
		cmocka_unit_test(test_http_no_auth_policy_overrides),
		cmocka_unit_test(test_http_form_login),
		cmocka_unit_test(test_http_hostile),
		cmocka_unit_test(test_rtsp),
		cmocka_unit_test(test_mqtt),
		cmocka_unit_test(test_mqtt_hostile),
		cmocka_unit_test(test_ftp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
