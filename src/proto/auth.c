/*
 * WWW-Authenticate parsing, Basic and Digest credentials. See auth.h for the contract.
 *
 * The challenge grammar (RFC 9110 11.3) is ambiguous at commas: a comma separates both the
 * parameters of one challenge and the challenges themselves. After a comma, "token =" starts a
 * parameter and anything else starts a new challenge, which is how curl and browsers read it.
 */
#include "proto/auth.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/error.h"

/* Longest "user:pass" we encode: default credentials are a few dozen bytes; the cap bounds the
 * stack buffer. */
#define AUTH_MAX_CRED 1024

static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static size_t
token_len(const char *p)
{
	size_t n = 0;
	while (is_tchar((unsigned char)p[n]))
		n++;
	return n;
}

/* p starts "name BWS =": a parameter (not a token68 such as "abc==" at a scheme's start, unless
 * in_params, where "name=" with an empty value is a broken parameter). */
static bool
is_param_start(const char *p, bool in_params)
{
	size_t tl = token_len(p);
	if (tl == 0)
		return false;
	const char *q = skip_ws(p + tl);
	if (*q != '=')
		return false;
	if (in_params)
		return true;
	/* token68 = 1*tchar68 *"=": the '='s end the item. */
	if (q != p + tl)
		return true;
	while (*q == '=')
		q++;
	q = skip_ws(q);
	return *q != ',' && *q != '\0';
}

/* Skip one broken item up to the next comma outside quotes. */
static const char *
skip_item(const char *p)
{
	while (*p != '\0' && *p != ',') {
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			p++;
		}
	}
	return p;
}

static void
put_char(char *dst, size_t dstlen, size_t *len, char c, bool *trunc)
{
	if (*len + 1 < dstlen) {
		dst[(*len)++] = c;
		dst[*len] = '\0';
	} else {
		*trunc = true;
	}
}

/* Read a parameter value at p into dst (NUL-terminated); returns the position after it. */
static const char *
read_value(const char *p, char *dst, size_t dstlen, bool *trunc)
{
	size_t len = 0;
	dst[0] = '\0';
	if (*p == '"') {
		p++;
		while (*p != '\0' && *p != '"') {
			if (*p == '\\' && p[1] != '\0')
				p++; /* quoted-pair */
			put_char(dst, dstlen, &len, *p++, trunc);
		}
		if (*p == '"')
			p++;
		return p;
	}
	if (*p == '\'') {
		/* Not RFC syntax, but sent by devices (realm='/'): accept when it closes before a comma. */
		const char *q = p + 1;
		while (*q != '\0' && *q != '\'' && *q != ',')
			q++;
		if (*q == '\'') {
			for (p++; p < q; p++)
				put_char(dst, dstlen, &len, *p, trunc);
			return q + 1;
		}
	}
	while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
		put_char(dst, dstlen, &len, *p++, trunc);
	return p;
}

static void
start_challenge(struct toride_auth_challenge *c, const char *scheme, size_t len)
{
	memset(c, 0, sizeof(*c));
	size_t k = len < sizeof(c->raw_scheme) - 1 ? len : sizeof(c->raw_scheme) - 1;
	memcpy(c->raw_scheme, scheme, k);
	c->raw_scheme[k] = '\0';
	if (len == 5 && strncasecmp(scheme, "Basic", 5) == 0)
		c->scheme = TORIDE_AUTH_BASIC;
	else if (len == 6 && strncasecmp(scheme, "Digest", 6) == 0)
		c->scheme = TORIDE_AUTH_DIGEST;
	else
		c->scheme = TORIDE_AUTH_OTHER;
}

/* Parse "name = value" at p (is_param_start was true) into c. */
static const char *
read_param(const char *p, struct toride_auth_challenge *c)
{
	char discard[64];
	bool ignore = false;
	size_t nl = token_len(p);
	const char *name = p;
	char *dst = discard;
	size_t dstlen = sizeof(discard);
	bool *trunc = &c->truncated;

	if (nl == 5 && strncasecmp(name, "realm", 5) == 0) {
		dst = c->realm;
		dstlen = sizeof(c->realm);
		c->has_realm = true;
	} else if (nl == 5 && strncasecmp(name, "nonce", 5) == 0) {
		dst = c->nonce;
		dstlen = sizeof(c->nonce);
	} else if (nl == 6 && strncasecmp(name, "opaque", 6) == 0) {
		dst = c->opaque;
		dstlen = sizeof(c->opaque);
		c->has_opaque = true;
	} else if (nl == 3 && strncasecmp(name, "qop", 3) == 0) {
		dst = c->qop;
		dstlen = sizeof(c->qop);
	} else if (nl == 9 && strncasecmp(name, "algorithm", 9) == 0) {
		dst = c->algorithm;
		dstlen = sizeof(c->algorithm);
	} else {
		trunc = &ignore; /* other parameters (stale included) do not need to be exact */
	}
	p = skip_ws(p + nl);
	p = skip_ws(p + 1); /* the '=' */
	p = read_value(p, dst, dstlen, trunc);
	if (nl == 5 && strncasecmp(name, "stale", 5) == 0)
		c->stale = strcasecmp(discard, "true") == 0;
	return p;
}

int
toride_auth_parse_challenges(const char *value, struct toride_auth_challenge *out, size_t max, size_t *n)
{
	struct toride_auth_challenge spare; /* parsed into when out is full */
	struct toride_auth_challenge *c = NULL;
	size_t count = 0;
	const char *p = value;

	*n = 0;
	if (value == NULL || strnlen(value, TORIDE_AUTH_MAX_VALUE + 1) > TORIDE_AUTH_MAX_VALUE)
		return value == NULL ? TORIDE_EINVAL : TORIDE_ETOOBIG;
	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t tl = token_len(p);
		if (tl == 0 || *skip_ws(p + tl) == '=') {
			/* Not a scheme: junk, or a parameter with no challenge before it. */
			p = skip_item(p);
			continue;
		}
		c = count < max ? &out[count] : &spare;
		count++;
		start_challenge(c, p, tl);
		p = skip_ws(p + tl);
		if (*p != '\0' && *p != ',' && !is_param_start(p, false)) {
			/* token68 (Negotiate/NTLM blobs); whatever follows up to a comma is junk. */
			p = skip_item(p);
			continue;
		}
		/* auth-param list */
		for (;;) {
			p = skip_ws(p);
			if (*p == ',') {
				while (*p == ',' || *p == ' ' || *p == '\t')
					p++;
				if (!is_param_start(p, true))
					break; /* a new challenge (or the end) */
			}
			if (*p == '\0')
				break;
			if (is_param_start(p, true)) {
				p = read_param(p, c);
				continue;
			}
			if (token_len(p) > 0 && *skip_ws(p + token_len(p)) != '=')
				break; /* missing comma before the next challenge */
			p = skip_item(p);
		}
	}
	if (count == 0)
		return TORIDE_EPARSE;
	*n = count < max ? count : max;
	return count > max ? TORIDE_ETOOBIG : 0;
}

int
toride_auth_basic(const char *user, const char *pass, char *out, size_t outlen)
{
	unsigned char cred[AUTH_MAX_CRED];
	int r = 0;
	size_t ul, pl, need;

	if (user == NULL || pass == NULL || out == NULL)
		return TORIDE_EINVAL;
	if (strchr(user, ':') != NULL)
		return TORIDE_EINVAL; /* RFC 7617 2: the user-id cannot contain a colon */
	ul = strlen(user);
	pl = strlen(pass);
	if (ul + pl + 1 > sizeof(cred))
		return TORIDE_ETOOBIG;
	need = 6 + 4 * ((ul + pl + 1 + 2) / 3) + 1;
	if (need > outlen) {
		r = TORIDE_ETOOBIG;
		goto out;
	}
	memcpy(cred, user, ul);
	cred[ul] = ':';
	memcpy(cred + ul + 1, pass, pl);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, cred, (int)(ul + pl + 1));
out:
	OPENSSL_cleanse(cred, sizeof(cred)); /* a password was here */
	return r;
}

/* Digest algorithm by its RFC 7616 name. */
static int
digest_algorithm(const char *name, const EVP_MD **md, bool *sess)
{
	static const struct {
		const char *name;
		const char *evp;
		bool sess;
	} algs[] = {
		{ "", "MD5", false },
		{ "MD5", "MD5", false },
		{ "MD5-sess", "MD5", true },
		{ "SHA-256", "SHA256", false },
		{ "SHA-256-sess", "SHA256", true },
		{ "SHA-512-256", "SHA512-256", false },
		{ "SHA-512-256-sess", "SHA512-256", true },
	};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcasecmp(name, algs[i].name) == 0) {
			*md = EVP_get_digestbyname(algs[i].evp);
			*sess = algs[i].sess;
			return *md != NULL ? 0 : TORIDE_EUNSUPPORTED;
		}
	}
	return TORIDE_EUNSUPPORTED;
}

/* Hex of H(parts[0] ":" parts[1] ":" ...) into hex (at least 2 * EVP_MAX_MD_SIZE + 1). */
static int
digest_hex(const EVP_MD *md, const char *const *parts, size_t nparts, char *hex)
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int blen = 0;
	int r = TORIDE_ENOMEM;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		if ((i > 0 && EVP_DigestUpdate(ctx, ":", 1) != 1) ||
		    EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, bin, &blen) != 1)
		goto out;
	for (unsigned int i = 0; i < blen; i++)
		snprintf(hex + 2 * i, 3, "%02x", bin[i]);
	hex[2 * blen] = '\0';
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* True if the comma-separated qop list holds "auth" (not only "auth-int"). */
static bool
qop_has_auth(const char *qop)
{
	const char *p = qop;
	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, ", \t");
		if (n == 4 && strncasecmp(p, "auth", 4) == 0)
			return true;
		p += n;
	}
	return false;
}

struct out_str {
	char *p;
	size_t len;
	size_t cap;
	bool full;
	bool bad; /* a value held a control byte: it would break (or inject into) the header */
};

static void
out_raw(struct out_str *o, const char *s)
{
	size_t n = strlen(s);
	if (o->full || n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n + 1);
	o->len += n;
}

/* name="value" with '"' and '\' escaped (RFC 9110 5.6.4). */
static void
out_quoted(struct out_str *o, const char *name, const char *value)
{
	out_raw(o, name);
	out_raw(o, "=\"");
	for (const char *v = value; *v != '\0'; v++) {
		char esc[3] = { '\\', *v, '\0' };
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			o->bad = true;
		out_raw(o, (*v == '"' || *v == '\\') ? esc : esc + 1);
	}
	out_raw(o, "\"");
}

int
toride_auth_digest(const struct toride_auth_challenge *c, const char *user, const char *pass,
                   const char *method, const char *uri, const char *cnonce, unsigned nc, char *out,
                   size_t outlen)
{
	char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[2 * EVP_MAX_MD_SIZE + 1], resp[2 * EVP_MAX_MD_SIZE + 1];
	char ncs[9];
	const EVP_MD *md;
	bool sess, use_qop;
	int r;

	if (c == NULL || user == NULL || pass == NULL || method == NULL || uri == NULL || out == NULL ||
	    outlen == 0 || c->scheme != TORIDE_AUTH_DIGEST)
		return TORIDE_EINVAL;
	if (c->truncated)
		return TORIDE_ETOOBIG;
	r = digest_algorithm(c->algorithm, &md, &sess);
	if (r != 0)
		return r;
	use_qop = c->qop[0] != '\0';
	if (use_qop && !qop_has_auth(c->qop))
		return TORIDE_EUNSUPPORTED; /* auth-int would need the body hash */
	if ((use_qop || sess) && (cnonce == NULL || nc == 0))
		return TORIDE_EINVAL;
	snprintf(ncs, sizeof(ncs), "%08x", nc);

	/* RFC 7616 3.4.2: A1 = user:realm:pass, for -sess H(A1):nonce:cnonce. */
	const char *a1[] = { user, c->realm, pass };
	r = digest_hex(md, a1, 3, ha1);
	if (r == 0 && sess) {
		const char *s1[] = { ha1, c->nonce, cnonce };
		char tmp[sizeof(ha1)];
		r = digest_hex(md, s1, 3, tmp);
		memcpy(ha1, tmp, sizeof(ha1));
	}
	const char *a2[] = { method, uri };
	if (r == 0)
		r = digest_hex(md, a2, 2, ha2);
	if (r == 0 && use_qop) {
		const char *kd[] = { ha1, c->nonce, ncs, cnonce, "auth", ha2 };
		r = digest_hex(md, kd, 6, resp);
	} else if (r == 0) {
		const char *kd[] = { ha1, c->nonce, ha2 }; /* RFC 2069 compatibility */
		r = digest_hex(md, kd, 3, resp);
	}
	OPENSSL_cleanse(ha1, sizeof(ha1)); /* equivalent to the password for this realm */
	if (r != 0)
		return r;

	struct out_str o = { .p = out, .cap = outlen };
	out[0] = '\0';
	out_raw(&o, "Digest ");
	out_quoted(&o, "username", user);
	out_raw(&o, ", ");
	out_quoted(&o, "realm", c->realm);
	out_raw(&o, ", ");
	out_quoted(&o, "nonce", c->nonce);
	out_raw(&o, ", ");
	out_quoted(&o, "uri", uri);
	if (c->algorithm[0] != '\0') {
		out_raw(&o, ", algorithm=");
		out_raw(&o, c->algorithm);
	}
	out_raw(&o, ", response=\"");
	out_raw(&o, resp);
	out_raw(&o, "\"");
	if (c->has_opaque) {
		out_raw(&o, ", ");
		out_quoted(&o, "opaque", c->opaque);
	}
	if (use_qop) {
		out_raw(&o, ", qop=auth, nc=");
		out_raw(&o, ncs);
		out_raw(&o, ", ");
		out_quoted(&o, "cnonce", cnonce);
	}
	if (o.full || o.bad) {
		out[0] = '\0';
		return o.bad ? TORIDE_EINVAL : TORIDE_ETOOBIG;
	}
	return 0;
}
