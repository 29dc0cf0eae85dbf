/*
 * HTTP/RTSP authentication: WWW-Authenticate challenge parsing (RFC 7235 / RFC 9110 11), Basic
 * credentials (RFC 7617) and Digest responses (RFC 7616: MD5, MD5-sess, SHA-256, SHA-256-sess,
 * SHA-512-256, SHA-512-256-sess; qop "auth" or the RFC 2069 form without qop). RTSP uses the same
 * headers and computations.
 */
#ifndef TORIDE_PROTO_AUTH_H
#define TORIDE_PROTO_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest WWW-Authenticate value we look at; headers are capped far lower by the HTTP parser
 * anyway, this bounds callers that pass other strings. */
#define TORIDE_AUTH_MAX_VALUE (16 * 1024)

enum toride_auth_scheme {
	TORIDE_AUTH_NONE,
	TORIDE_AUTH_BASIC,
	TORIDE_AUTH_DIGEST,
	TORIDE_AUTH_OTHER, /* NTLM, Negotiate, Bearer, vendor schemes: see raw_scheme */
};

struct toride_auth_challenge {
	enum toride_auth_scheme scheme;
	char realm[256];
	char nonce[256];
	char opaque[256];
	char qop[64];        /* as sent, e.g. "auth,auth-int" */
	char algorithm[32];  /* as sent; "" means MD5 */
	bool stale;
	char raw_scheme[32]; /* scheme token as sent, e.g. "Digest", "NTLM" */
	bool has_realm;      /* a realm parameter was present (it may be empty) */
	bool has_opaque;     /* an opaque parameter was present: echo it even when empty */
	bool truncated;      /* a value did not fit its field: a Digest answer would be wrong */
};

/* Parse one WWW-Authenticate (or Proxy-Authenticate) value, which may hold several challenges
 * separated by commas (RFC 9110 11.6.1). Handles quoted strings with backslash escapes and
 * token68, and tolerates broken devices: unquoted or single-quoted values, missing or trailing
 * commas, spaces around '='. Unknown parameters are skipped. Fills up to max challenges and sets
 * *n. Returns 0; TORIDE_EPARSE if no challenge could be read; TORIDE_ETOOBIG if there were more
 * than max (the first max are filled) or value exceeds TORIDE_AUTH_MAX_VALUE. */
int toride_auth_parse_challenges(const char *value, struct toride_auth_challenge *out, size_t max, size_t *n);

/* Write the Authorization value "Basic base64(user:pass)" to out. Returns 0, TORIDE_EINVAL (user
 * contains ':' which RFC 7617 forbids, or a NULL argument), TORIDE_ETOOBIG (outlen too small). */
int toride_auth_basic(const char *user, const char *pass, char *out, size_t outlen);

/* Write the Authorization value for a Digest challenge c: username, realm, nonce, uri, algorithm,
 * response, opaque (when sent), and with qop=auth also qop, nc (8 hex digits) and cnonce. cnonce
 * is chosen by the caller (random hex); nc counts requests made with this nonce, from 1. Returns
 * 0; TORIDE_EINVAL (not a Digest challenge, NULL argument, nc 0 with qop, a control byte such as
 * CR/LF in a value that would be echoed, which could inject header lines); TORIDE_EUNSUPPORTED
 * (an algorithm we do not implement, or a qop list without "auth"); TORIDE_ETOOBIG (c was
 * truncated while parsing, or outlen too small); TORIDE_ENOMEM (libcrypto failure). */
int toride_auth_digest(const struct toride_auth_challenge *c, const char *user, const char *pass,
                       const char *method, const char *uri, const char *cnonce, unsigned nc, char *out,
                       size_t outlen);

#endif
