/*
 * Emulated HTTP admin interface and RTSP camera server (sans-IO; one file because both share the
 * message parser and the Basic/Digest authentication). Requests are parsed with
 * src/proto/http.h, answered from the service's profile fields (Server header, title, realm,
 * RTSP route) and the device's credential policy.
 *
 * Nonces and session cookies are stateless: "<8 hex counter><16 hex keyed hash>" over the device's
 * seed and address, so a client that opens a new connection with an old nonce or cookie (curl
 * with a cookie jar, hydra) is still recognised, and a connection holds no list of them.
 *
 * Policy mapping: NO_AUTH serves every page and stream without credentials whatever http_auth
 * says. FORCED_CHANGE refuses the factory pair on Basic/Digest/RTSP (the account is not
 * activated until its password is set, and these protocols cannot ask for a new one); the form
 * login answers it with a change-password page and no session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/error.h"
#include "core/escape.h"
#include "emu/emu.h"
#include "proto/http.h"

/* Request body we accept: login forms post < 200 bytes; a larger body is refused with 413. */
#define EMU_HTTP_MAX_BODY (8 * 1024)
/* Requests per connection (nginx's keepalive_requests default): bounds a client that keeps one
 * connection forever. */
#define EMU_HTTP_MAX_REQUESTS 1000
/* Longest credential field we look at (user names and passwords of devices are short; the
 * device's own fields are 128 bytes). */
#define EMU_HTTP_CRED_MAX 128
/* Longest Authorization parameter value we keep: nonces, URIs and responses are < 256 bytes. */
#define EMU_HTTP_PARAM_MAX 256
/* Token length: 8 hex counter digits + 16 hex digits of keyed hash. */
#define EMU_HTTP_TOKEN_LEN 24
/* Longest Basic credential in base64 (two 128-byte fields and a colon, encoded). */
#define EMU_HTTP_BASIC_B64_MAX 512

#define EMU_HTTP_COOKIE "SESSIONID"

struct http_srv {
	const struct emu_device *dev;
	const struct emu_service *svc;
	bool rtsp;
	struct toride_http_msg *msg;
	unsigned nreq;
	uint32_t ctr; /* next token counter; starts random per connection */
};

/* ---- tokens (nonces, session cookies) ---- */

static void
token_mac(const struct http_srv *s, char kind, uint32_t ctr, char hex[17])
{
	uint8_t h[8];
	crypto_generichash_state st;
	uint8_t seed[8], c[4];
	for (int i = 0; i < 8; i++)
		seed[i] = (uint8_t)(s->dev->seed >> (8 * i));
	for (int i = 0; i < 4; i++)
		c[i] = (uint8_t)(ctr >> (8 * i));
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)&kind, 1);
	crypto_generichash_update(&st, c, sizeof(c));
	crypto_generichash_update(&st, seed, sizeof(seed));
	crypto_generichash_update(&st, (const uint8_t *)s->dev->addr_str, strlen(s->dev->addr_str));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, 17, h, sizeof(h));
}

static void
token_new(struct http_srv *s, char kind, char out[EMU_HTTP_TOKEN_LEN + 1])
{
	char mac[17];
	uint32_t ctr = s->ctr++;
	token_mac(s, kind, ctr, mac);
	snprintf(out, EMU_HTTP_TOKEN_LEN + 1, "%08x%s", ctr, mac);
}

static bool
token_ok(const struct http_srv *s, char kind, const char *tok, size_t len)
{
	char want[EMU_HTTP_TOKEN_LEN + 1], mac[17];
	if (len != EMU_HTTP_TOKEN_LEN)
		return false;
	uint32_t ctr = 0;
	for (size_t i = 0; i < 8; i++) {
		char ch = tok[i];
		unsigned v;
		if (ch >= '0' && ch <= '9')
			v = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = (unsigned)(ch - 'a' + 10);
		else
			return false;
		ctr = (ctr << 4) | v;
	}
	token_mac(s, kind, ctr, mac);
	snprintf(want, sizeof(want), "%08x%s", ctr, mac);
	return sodium_memcmp(want, tok, EMU_HTTP_TOKEN_LEN) == 0;
}

/* ---- credentials ---- */

static bool
auth_required(const struct http_srv *s)
{
	return s->svc->http_auth != EMU_HTTP_AUTH_NONE && s->dev->profile->policy != EMU_CRED_NO_AUTH;
}

static bool
login_ok(const struct http_srv *s, const char *user, const char *pass)
{
	const struct emu_device *d = s->dev;
	if (d->profile->policy == EMU_CRED_FORCED_CHANGE && !d->pass_changed)
		return false;
	return emu_device_check_login(d, user, pass);
}

static bool
basic_ok(const struct http_srv *s, const char *v)
{
	unsigned char dec[EMU_HTTP_BASIC_B64_MAX];
	char user[EMU_HTTP_CRED_MAX + 1], pass[EMU_HTTP_CRED_MAX + 1];
	if (strncasecmp(v, "Basic ", 6) != 0)
		return false;
	v += 6;
	while (*v == ' ')
		v++;
	size_t n = strcspn(v, " \t");
	if (n == 0 || n % 4 != 0 || n >= EMU_HTTP_BASIC_B64_MAX)
		return false;
	int dl = EVP_DecodeBlock(dec, (const unsigned char *)v, (int)n);
	if (dl < 0)
		return false;
	size_t len = (size_t)dl;
	for (size_t i = n; i > 0 && v[i - 1] == '=' && len > 0; i--)
		len--; /* EVP_DecodeBlock counts padding as zero bytes */
	const unsigned char *colon = memchr(dec, ':', len);
	if (colon == NULL)
		return false;
	size_t ul = (size_t)(colon - dec), pl = len - ul - 1;
	if (ul > EMU_HTTP_CRED_MAX || pl > EMU_HTTP_CRED_MAX || memchr(dec, '\0', len) != NULL)
		return false;
	memcpy(user, dec, ul);
	user[ul] = '\0';
	memcpy(pass, colon + 1, pl);
	pass[pl] = '\0';
	bool ok = login_ok(s, user, pass);
	sodium_memzero(pass, sizeof(pass));
	sodium_memzero(dec, sizeof(dec));
	return ok;
}

struct digest_params {
	char username[EMU_HTTP_PARAM_MAX], realm[EMU_HTTP_PARAM_MAX], nonce[EMU_HTTP_PARAM_MAX];
	char uri[EMU_HTTP_PARAM_MAX], response[EMU_HTTP_PARAM_MAX], qop[EMU_HTTP_PARAM_MAX];
	char nc[EMU_HTTP_PARAM_MAX], cnonce[EMU_HTTP_PARAM_MAX], algorithm[EMU_HTTP_PARAM_MAX];
};

/* Parse the auth-params of "Digest k=v, k="v", ..." (RFC 7616 3.4). false on malformed input or
 * a value longer than EMU_HTTP_PARAM_MAX - 1. */
static bool
digest_parse(const char *v, struct digest_params *p)
{
	memset(p, 0, sizeof(*p));
	if (strncasecmp(v, "Digest", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return false;
	v += 6;
	for (;;) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			return true;
		size_t nl = strcspn(v, "= \t,");
		const char *name = v;
		v += nl;
		while (*v == ' ' || *v == '\t')
			v++;
		if (nl == 0 || *v != '=')
			return false;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		char val[EMU_HTTP_PARAM_MAX];
		size_t vl = 0;
		if (*v == '"') {
			v++;
			while (*v != '"') {
				if (*v == '\\' && v[1] != '\0')
					v++;
				if (*v == '\0' || vl + 1 >= sizeof(val))
					return false;
				val[vl++] = *v++;
			}
			v++;
		} else {
			while (*v != '\0' && *v != ',' && *v != ' ' && *v != '\t') {
				if (vl + 1 >= sizeof(val))
					return false;
				val[vl++] = *v++;
			}
		}
		val[vl] = '\0';
		static const struct {
			const char *name;
			size_t off;
		} known[] = {
			{ "username", offsetof(struct digest_params, username) },
			{ "realm", offsetof(struct digest_params, realm) },
			{ "nonce", offsetof(struct digest_params, nonce) },
			{ "uri", offsetof(struct digest_params, uri) },
			{ "response", offsetof(struct digest_params, response) },
			{ "qop", offsetof(struct digest_params, qop) },
			{ "nc", offsetof(struct digest_params, nc) },
			{ "cnonce", offsetof(struct digest_params, cnonce) },
			{ "algorithm", offsetof(struct digest_params, algorithm) },
		};
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i].name) == nl && strncasecmp(name, known[i].name, nl) == 0)
				memcpy((char *)p + known[i].off, val, vl + 1);
	}
}

/* Lower-case hex MD5 of the parts joined with ':' (RFC 7616 3.4.1 KD/H with MD5). */
static bool
md5_hex(const char *const *parts, size_t n, char hex[33])
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned blen = 0;
	bool ok = false;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && EVP_DigestUpdate(ctx, ":", 1) != 1) || EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) != 1)
			goto out;
	if (EVP_DigestFinal_ex(ctx, bin, &blen) != 1 || blen != 16)
		goto out;
	sodium_bin2hex(hex, 33, bin, 16);
	ok = true;
out:
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Expected response for one candidate password (qop=auth or the RFC 2069 form). */
static bool
digest_match(const struct digest_params *p, const char *method, const char *pass)
{
	char ha1[33], ha2[33], resp[33], got[33];
	const char *a1[] = { p->username, p->realm, pass };
	const char *a2[] = { method, p->uri };
	if (!md5_hex(a1, 3, ha1) || !md5_hex(a2, 2, ha2))
		return false;
	bool ok;
	if (p->qop[0] != '\0') {
		const char *kd[] = { ha1, p->nonce, p->nc, p->cnonce, "auth", ha2 };
		ok = md5_hex(kd, 6, resp);
	} else {
		const char *kd[] = { ha1, p->nonce, ha2 };
		ok = md5_hex(kd, 3, resp);
	}
	sodium_memzero(ha1, sizeof(ha1));
	if (!ok || strlen(p->response) != 32)
		return false;
	for (size_t i = 0; i < 32; i++)
		got[i] = (p->response[i] >= 'A' && p->response[i] <= 'F') ? (char)(p->response[i] + 32) : p->response[i];
	got[32] = '\0';
	return sodium_memcmp(got, resp, 32) == 0;
}

static bool
digest_ok(const struct http_srv *s, const char *v, const char *method, const char *target)
{
	struct digest_params p;
	if (!digest_parse(v, &p))
		return false;
	if (p.algorithm[0] != '\0' && strcasecmp(p.algorithm, "MD5") != 0)
		return false;
	if (strcmp(p.realm, s->svc->realm) != 0 || strcmp(p.uri, target) != 0 ||
	    !token_ok(s, 'n', p.nonce, strlen(p.nonce)))
		return false;
	if (p.qop[0] != '\0' && (strcmp(p.qop, "auth") != 0 || p.nc[0] == '\0' || p.cnonce[0] == '\0'))
		return false;
	/* The password is not sent: try the device's current one and the factory one, then let the
	 * policy decide whether that pair logs in. */
	const char *cands[2] = { s->dev->pass, s->dev->profile->pass };
	for (size_t i = 0; i < 2; i++)
		if (digest_match(&p, method, cands[i]))
			return login_ok(s, p.username, cands[i]);
	return false;
}

/* Did the request carry valid Basic or Digest credentials for the service's scheme? */
static bool
request_authorised(const struct http_srv *s)
{
	const char *v = toride_http_msg_header(s->msg, "Authorization", 0);
	if (v == NULL)
		return false;
	if (s->svc->http_auth == EMU_HTTP_AUTH_BASIC)
		return basic_ok(s, v);
	if (s->svc->http_auth == EMU_HTTP_AUTH_DIGEST)
		return digest_ok(s, v, toride_http_msg_method(s->msg), toride_http_msg_target(s->msg));
	return false;
}

/* ---- responses ---- */

/* Append a profile string with CR, LF and other control bytes dropped (and '"' / '\' escaped
 * when quoted), so a data error can never split a header. */
static int
append_header_safe(struct toride_buf *out, const char *v, bool quoted)
{
	int r = 0;
	for (; r == 0 && *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (quoted && (c == '"' || c == '\\'))
			r = toride_buf_append(out, "\\", 1);
		if (r == 0)
			r = toride_buf_append(out, v, 1);
	}
	return r;
}

/* HTML text with &, <, > and " escaped (the survey decodes them back to the exact title). */
static int
append_html(struct toride_buf *out, const char *v)
{
	int r = 0;
	for (; r == 0 && *v != '\0'; v++) {
		switch (*v) {
		case '&': r = toride_buf_append_str(out, "&amp;"); break;
		case '<': r = toride_buf_append_str(out, "&lt;"); break;
		case '>': r = toride_buf_append_str(out, "&gt;"); break;
		case '"': r = toride_buf_append_str(out, "&quot;"); break;
		default: r = toride_buf_append(out, v, 1); break;
		}
	}
	return r;
}

static const char *
page_title(const struct http_srv *s)
{
	return s->svc->title[0] != '\0' ? s->svc->title : s->dev->profile->product;
}

enum page_kind { PAGE_ADMIN, PAGE_LOGIN, PAGE_LOGIN_FAILED, PAGE_CHANGE_PASSWORD, PAGE_401, PAGE_404 };

static int
build_page(const struct http_srv *s, enum page_kind k, struct toride_buf *b)
{
	int r = 0;
	if (k == PAGE_401)
		return toride_buf_append_str(b, "<html><head><title>401 Unauthorized</title></head>"
		                                "<body><h1>401 Unauthorized</h1></body></html>\n");
	if (k == PAGE_404)
		return toride_buf_append_str(b, "<html><head><title>404 Not Found</title></head>"
		                                "<body><h1>404 Not Found</h1>The requested URL was not found on "
		                                "this server.</body></html>\n");
	r = toride_buf_append_str(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	if (r == 0)
		r = append_html(b, page_title(s));
	if (r == 0)
		r = toride_buf_append_str(b, "</title></head>\n<body>\n<h1>");
	if (r == 0)
		r = append_html(b, page_title(s));
	if (r == 0)
		r = toride_buf_append_str(b, "</h1>\n");
	if (r != 0)
		return r;
	switch (k) {
	case PAGE_ADMIN:
		r = toride_buf_append_str(b, "<form method=\"post\" action=\"/\">\n<label>Device name <input type=\"text\" "
		                             "name=\"devname\" value=\"");
		if (r == 0)
			r = append_html(b, s->dev->hostname);
		if (r == 0)
			r = toride_buf_append_str(b, "\"></label>\n<label>DHCP <input type=\"checkbox\" name=\"dhcp\" "
			                             "checked></label>\n<input type=\"submit\" value=\"Save\">\n</form>\n");
		break;
	case PAGE_LOGIN_FAILED:
		r = toride_buf_append_str(b, "<p class=\"error\">Invalid user name or password.</p>\n");
		/* fall through */
	case PAGE_LOGIN:
		if (r == 0)
			r = toride_buf_append_str(b, "<form method=\"post\" action=\"/login\">\n"
			                             "<input type=\"text\" name=\"username\">\n"
			                             "<input type=\"password\" name=\"password\">\n"
			                             "<input type=\"submit\" value=\"Login\">\n</form>\n");
		break;
	case PAGE_CHANGE_PASSWORD:
		r = toride_buf_append_str(b, "<p>You are required to change the default password.</p>\n"
		                             "<form method=\"post\" action=\"/password\">\n"
		                             "<input type=\"password\" name=\"newpass\">\n"
		                             "<input type=\"password\" name=\"confirm\">\n"
		                             "<input type=\"submit\" value=\"Change\">\n</form>\n");
		break;
	default:
		break;
	}
	if (r == 0)
		r = toride_buf_append_str(b, "</body></html>\n");
	return r;
}

/* Write a whole response. extra: complete header lines or NULL; body may be NULL. */
static int
respond(struct http_srv *s, struct toride_buf *out, int code, const char *reason, const char *extra,
        const char *ctype, const uint8_t *body, size_t blen, bool close_conn)
{
	int r;
	if (s->rtsp) {
		r = toride_buf_printf(out, "RTSP/1.0 %d %s\r\n", code, reason);
		const char *cseq = s->msg != NULL ? toride_http_msg_header(s->msg, "CSeq", 0) : NULL;
		if (r == 0 && cseq != NULL && cseq[0] != '\0' && strspn(cseq, "0123456789") == strlen(cseq) &&
		    strlen(cseq) <= 10)
			r = toride_buf_printf(out, "CSeq: %s\r\n", cseq);
	} else {
		char date[64];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		r = toride_buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", code, reason, date);
	}
	if (r == 0 && s->svc->server[0] != '\0') {
		r = toride_buf_append_str(out, "Server: ");
		if (r == 0)
			r = append_header_safe(out, s->svc->server, false);
		if (r == 0)
			r = toride_buf_append_str(out, "\r\n");
	}
	if (r == 0 && extra != NULL)
		r = toride_buf_append_str(out, extra);
	if (r == 0 && (body != NULL || !s->rtsp)) {
		if (body != NULL && ctype != NULL)
			r = toride_buf_printf(out, "Content-Type: %s\r\n", ctype);
		if (r == 0)
			r = toride_buf_printf(out, "Content-Length: %zu\r\n", body != NULL ? blen : 0);
	}
	if (r == 0 && !s->rtsp)
		r = toride_buf_append_str(out, close_conn ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
	if (r == 0)
		r = toride_buf_append_str(out, "\r\n");
	bool head = s->msg != NULL && strcmp(toride_http_msg_method(s->msg), "HEAD") == 0;
	if (r == 0 && body != NULL && blen > 0 && !head)
		r = toride_buf_append(out, body, blen);
	if (r != 0)
		return r;
	return close_conn ? EMU_CLOSE : EMU_CONTINUE;
}

static int
respond_page(struct http_srv *s, struct toride_buf *out, int code, const char *reason, const char *extra,
             enum page_kind k, bool close_conn)
{
	struct toride_buf b;
	toride_buf_init(&b, EMU_HTTP_MAX_BODY);
	int r = build_page(s, k, &b);
	if (r == 0)
		r = respond(s, out, code, reason, extra, "text/html", b.data != NULL ? b.data : (const uint8_t *)"",
		            b.len, close_conn);
	toride_buf_free(&b);
	return r;
}

/* 401 with the service's challenge. */
static int
respond_401(struct http_srv *s, struct toride_buf *out, bool close_conn)
{
	struct toride_buf h;
	toride_buf_init(&h, 2 * EMU_STR_MAX + 256);
	int r = toride_buf_append_str(&h, s->svc->http_auth == EMU_HTTP_AUTH_DIGEST ? "WWW-Authenticate: Digest realm=\""
	                                                                            : "WWW-Authenticate: Basic realm=\"");
	if (r == 0)
		r = append_header_safe(&h, s->svc->realm, true);
	if (r == 0 && s->svc->http_auth == EMU_HTTP_AUTH_DIGEST) {
		char nonce[EMU_HTTP_TOKEN_LEN + 1], opaque[17];
		token_new(s, 'n', nonce);
		token_mac(s, 'o', 0, opaque);
		r = toride_buf_printf(&h, "\", qop=\"auth\", nonce=\"%s\", opaque=\"%s\", algorithm=MD5, stale=FALSE\r\n",
		                      nonce, opaque);
	} else if (r == 0) {
		r = toride_buf_append_str(&h, "\"\r\n");
	}
	const char *hs;
	if (r == 0)
		r = toride_buf_cstr(&h, &hs);
	if (r == 0) {
		if (s->rtsp)
			r = respond(s, out, 401, "Unauthorized", hs, NULL, NULL, 0, close_conn);
		else
			r = respond_page(s, out, 401, "Unauthorized", hs, PAGE_401, close_conn);
	}
	toride_buf_free(&h);
	return r;
}

/* ---- form login ---- */

/* Find field name in an application/x-www-form-urlencoded body and decode it into out. */
static bool
form_field(const char *body, size_t blen, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	size_t i = 0;
	while (i < blen) {
		size_t end = i;
		while (end < blen && body[end] != '&')
			end++;
		if (end - i > nl && memcmp(body + i, name, nl) == 0 && body[i + nl] == '=') {
			size_t o = 0;
			for (size_t j = i + nl + 1; j < end; j++) {
				char c = body[j];
				if (c == '+') {
					c = ' ';
				} else if (c == '%' && j + 2 < end &&
				           toride_hexval(body[j + 1]) >= 0 && toride_hexval(body[j + 2]) >= 0) {
					c = (char)(toride_hexval(body[j + 1]) * 16 + toride_hexval(body[j + 2]));
					j += 2;
				}
				if (c == '\0' || o + 1 >= outlen)
					return false;
				out[o++] = c;
			}
			out[o] = '\0';
			return true;
		}
		i = end + 1;
	}
	return false;
}

static bool
form_any_field(const char *body, size_t blen, const char *const *names, char *out, size_t outlen)
{
	for (size_t i = 0; names[i] != NULL; i++)
		if (form_field(body, blen, names[i], out, outlen))
			return true;
	return false;
}

static bool
has_session(const struct http_srv *s)
{
	static const size_t cl = sizeof(EMU_HTTP_COOKIE) - 1;
	const char *c;
	for (size_t i = 0; (c = toride_http_msg_header(s->msg, "Cookie", i)) != NULL; i++) {
		while (*c != '\0') {
			while (*c == ' ' || *c == ';')
				c++;
			size_t n = strcspn(c, ";");
			if (n > cl + 1 && strncmp(c, EMU_HTTP_COOKIE "=", cl + 1) == 0 &&
			    token_ok(s, 's', c + cl + 1, n - cl - 1))
				return true;
			c += n;
		}
	}
	return false;
}

static int
form_login(struct http_srv *s, struct toride_buf *out, bool close_conn)
{
	static const char *const users[] = { "username", "user", "usr", "name", "login", NULL };
	static const char *const passes[] = { "password", "pass", "pwd", "passwd", NULL };
	char user[EMU_HTTP_CRED_MAX + 1], pass[EMU_HTTP_CRED_MAX + 1];
	size_t blen;
	const char *body = (const char *)toride_http_msg_body(s->msg, &blen);
	if (!form_any_field(body, blen, users, user, sizeof(user)) ||
	    !form_any_field(body, blen, passes, pass, sizeof(pass)))
		return respond_page(s, out, 200, "OK", NULL, PAGE_LOGIN_FAILED, close_conn);
	const struct emu_device *d = s->dev;
	int r;
	if (d->profile->policy == EMU_CRED_FORCED_CHANGE && !d->pass_changed && emu_device_check_login(d, user, pass)) {
		r = respond_page(s, out, 200, "OK", NULL, PAGE_CHANGE_PASSWORD, close_conn);
	} else if (login_ok(s, user, pass)) {
		char tok[EMU_HTTP_TOKEN_LEN + 1], hdr[160];
		token_new(s, 's', tok);
		snprintf(hdr, sizeof(hdr), "Location: /admin\r\nSet-Cookie: " EMU_HTTP_COOKIE "=%s; Path=/; HttpOnly\r\n",
		         tok);
		r = respond_page(s, out, 302, "Found", hdr, PAGE_ADMIN, close_conn);
	} else {
		r = respond_page(s, out, 200, "OK", NULL, PAGE_LOGIN_FAILED, close_conn);
	}
	sodium_memzero(pass, sizeof(pass));
	return r;
}

/* ---- request dispatch ---- */

/* The path of a target without query or fragment, bounded into out. */
static void
target_path(const char *target, char *out, size_t outlen)
{
	const char *p = target;
	if (strncasecmp(p, "rtsp://", 7) == 0 || strncasecmp(p, "http://", 7) == 0) {
		p += 7;
		p += strcspn(p, "/");
	}
	size_t n = strcspn(p, "?#");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	if (n == 0)
		snprintf(out, outlen, "/");
}

static bool
is_index(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 || strcmp(path, "/index.htm") == 0 ||
	       strcmp(path, "/admin") == 0;
}

static int
http_request(struct http_srv *s, struct toride_buf *out)
{
	const char *method = toride_http_msg_method(s->msg);
	const char *proto = toride_http_msg_protocol(s->msg);
	const char *conn = toride_http_msg_header(s->msg, "Connection", 0);
	char path[EMU_STR_MAX];
	bool close_conn = (conn != NULL && strcasecmp(conn, "close") == 0) ||
	                  (strcmp(proto, "HTTP/1.0") == 0 && !(conn != NULL && strcasecmp(conn, "keep-alive") == 0)) ||
	                  s->nreq >= EMU_HTTP_MAX_REQUESTS;
	if (toride_http_msg_is_rtsp(s->msg))
		return respond_page(s, out, 400, "Bad Request", NULL, PAGE_404, true);
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	if (!get && !post)
		return respond(s, out, 501, "Not Implemented", "Allow: GET, HEAD, POST\r\n", NULL, NULL, 0, close_conn);
	target_path(toride_http_msg_target(s->msg), path, sizeof(path));

	if (auth_required(s) && s->svc->http_auth == EMU_HTTP_AUTH_FORM) {
		if (post && strcmp(path, "/login") == 0)
			return form_login(s, out, close_conn);
		bool sess = has_session(s);
		if (strcmp(path, "/admin") == 0 || (sess && is_index(path)))
			return sess ? respond_page(s, out, 200, "OK", NULL, PAGE_ADMIN, close_conn)
			            : respond_page(s, out, 302, "Found", "Location: /\r\n", PAGE_404, close_conn);
		if (is_index(path) || strcmp(path, "/login") == 0)
			return respond_page(s, out, 200, "OK", NULL, PAGE_LOGIN, close_conn);
		return respond_page(s, out, 404, "Not Found", NULL, PAGE_404, close_conn);
	}
	if (auth_required(s) && !request_authorised(s))
		return respond_401(s, out, close_conn);
	if (is_index(path))
		return respond_page(s, out, 200, "OK", NULL, PAGE_ADMIN, close_conn);
	return respond_page(s, out, 404, "Not Found", NULL, PAGE_404, close_conn);
}

static int
rtsp_describe(struct http_srv *s, struct toride_buf *out)
{
	char path[EMU_STR_MAX], route[EMU_STR_MAX];
	target_path(toride_http_msg_target(s->msg), path, sizeof(path));
	target_path(s->svc->route, route, sizeof(route));
	if (strcmp(path, route) != 0)
		return respond(s, out, 404, "Stream Not Found", NULL, NULL, NULL, 0, false);
	struct toride_buf sdp, hdr;
	toride_buf_init(&sdp, 2048);
	toride_buf_init(&hdr, EMU_STR_MAX + 64);
	const char *a = s->dev->addr_str;
	int r = toride_buf_printf(&sdp,
	                          "v=0\r\no=- %llu 1 IN %s %s\r\ns=Media Presentation\r\ne=NONE\r\nb=AS:5050\r\n"
	                          "t=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\nb=AS:5000\r\na=control:trackID=1\r\n"
	                          "a=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=420029; packetization-mode=1\r\n",
	                          (unsigned long long)(s->dev->seed % 10000000000ULL), strchr(a, ':') ? "IP6" : "IP4",
	                          a[0] != '\0' ? a : "0.0.0.0");
	const char *t = toride_http_msg_target(s->msg);
	if (r == 0)
		r = toride_buf_append_str(&hdr, "Content-Base: ");
	if (r == 0)
		r = append_header_safe(&hdr, t, false);
	if (r == 0)
		r = toride_buf_append_str(&hdr, t[0] != '\0' && t[strlen(t) - 1] == '/' ? "\r\n" : "/\r\n");
	const char *hs;
	if (r == 0)
		r = toride_buf_cstr(&hdr, &hs);
	if (r == 0)
		r = respond(s, out, 200, "OK", hs, "application/sdp", sdp.data, sdp.len, false);
	toride_buf_free(&sdp);
	toride_buf_free(&hdr);
	return r;
}

static int
rtsp_request(struct http_srv *s, struct toride_buf *out)
{
	if (!toride_http_msg_is_rtsp(s->msg))
		return respond(s, out, 400, "Bad Request", NULL, NULL, NULL, 0, true); /* HTTP on the RTSP port */
	const char *m = toride_http_msg_method(s->msg);
	if (strcmp(m, "OPTIONS") == 0)
		return respond(s, out, 200, "OK",
		               "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER\r\n",
		               NULL, NULL, 0, false);
	bool known = strcmp(m, "DESCRIBE") == 0 || strcmp(m, "SETUP") == 0 || strcmp(m, "PLAY") == 0 ||
	             strcmp(m, "PAUSE") == 0 || strcmp(m, "TEARDOWN") == 0 || strcmp(m, "GET_PARAMETER") == 0 ||
	             strcmp(m, "SET_PARAMETER") == 0;
	if (!known)
		return respond(s, out, 501, "Not Implemented", NULL, NULL, NULL, 0, false);
	if (auth_required(s) && s->svc->http_auth != EMU_HTTP_AUTH_FORM && !request_authorised(s))
		return respond_401(s, out, false);
	if (strcmp(m, "DESCRIBE") == 0)
		return rtsp_describe(s, out);
	if (strcmp(m, "SETUP") == 0)
		return respond(s, out, 461, "Unsupported Transport", NULL, NULL, NULL, 0, false); /* no media here */
	return respond(s, out, 454, "Session Not Found", NULL, NULL, NULL, 0, false);
}

static void *
srv_open(const struct emu_device *dev, const struct emu_service *svc, bool rtsp)
{
	struct http_srv *s = calloc(1, sizeof(*s));
	if (s == NULL || sodium_init() < 0 || toride_http_msg_new(&s->msg, 0) != 0) {
		free(s);
		return NULL;
	}
	s->dev = dev;
	s->svc = svc;
	s->rtsp = rtsp;
	randombytes_buf(&s->ctr, sizeof(s->ctr));
	return s;
}

static void *
http_open(const struct emu_device *dev, const struct emu_service *svc, struct toride_buf *out, unsigned *delay_ms)
{
	(void)out;
	(void)delay_ms;
	return srv_open(dev, svc, false);
}

static void *
rtsp_open(const struct emu_device *dev, const struct emu_service *svc, struct toride_buf *out, unsigned *delay_ms)
{
	(void)out;
	(void)delay_ms;
	return srv_open(dev, svc, true);
}

/* Content-Length or chunked body over EMU_HTTP_MAX_BODY: refuse before reading it. */
static bool
body_too_big(const struct http_srv *s)
{
	if (!toride_http_msg_head_done(s->msg))
		return false;
	const char *cl = toride_http_msg_header(s->msg, "Content-Length", 0);
	if (cl != NULL && (strlen(cl) > 9 || strtoul(cl, NULL, 10) > EMU_HTTP_MAX_BODY))
		return true;
	return toride_http_msg_body_total(s->msg) > EMU_HTTP_MAX_BODY;
}

static int
srv_input(void *st, const uint8_t *in, size_t n, struct toride_buf *out, unsigned *delay_ms)
{
	struct http_srv *s = st;
	(void)delay_ms;
	size_t off = 0;
	while (off < n) {
		size_t used = 0;
		int r = toride_http_msg_parse(s->msg, in + off, n - off, &used);
		off += used;
		if (r == TORIDE_EINCOMPLETE) {
			if (body_too_big(s))
				return respond(s, out, 413, s->rtsp ? "Request Entity Too Large" : "Payload Too Large", NULL,
				               NULL, NULL, 0, true);
			break;
		}
		if (r == TORIDE_ETOOBIG)
			return respond(s, out, s->rtsp ? 400 : 431,
			               s->rtsp ? "Bad Request" : "Request Header Fields Too Large", NULL, NULL, NULL, 0, true);
		if (r != 0)
			return respond(s, out, 400, "Bad Request", NULL, NULL, NULL, 0, true);
		if (body_too_big(s))
			return respond(s, out, 413, s->rtsp ? "Request Entity Too Large" : "Payload Too Large", NULL, NULL,
			               NULL, 0, true);
		s->nreq++;
		r = s->rtsp ? rtsp_request(s, out) : http_request(s, out);
		toride_http_msg_reset(s->msg);
		if (r != EMU_CONTINUE)
			return r;
		if (s->rtsp && s->nreq >= EMU_HTTP_MAX_REQUESTS)
			return EMU_CLOSE;
		if (used == 0)
			return TORIDE_EPROTO; /* cannot happen: a message takes at least one byte */
	}
	return EMU_CONTINUE;
}

static void
srv_close(void *st)
{
	struct http_srv *s = st;
	if (s == NULL)
		return;
	toride_http_msg_free(s->msg);
	free(s);
}

const struct emu_server_ops emu_http_server = {
	.proto = EMU_HTTP,
	.open = http_open,
	.input = srv_input,
	.close = srv_close,
};

const struct emu_server_ops emu_rtsp_server = {
	.proto = EMU_RTSP,
	.open = rtsp_open,
	.input = srv_input,
	.close = srv_close,
};
