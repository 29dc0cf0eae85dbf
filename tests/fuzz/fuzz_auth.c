/*
 * Fuzz WWW-Authenticate challenge parsing, then answer every challenge (Basic and Digest) so the
 * builders run on whatever the parser produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/auth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toride_auth_challenge c[4];
	char out[2048];
	size_t n = 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int r = toride_auth_parse_challenges(s, c, 4, &n);
	if (n > 4 || (r != 0 && r != TORIDE_ETOOBIG && n != 0))
		abort();
	for (size_t i = 0; i < n; i++) {
		/* Every field is NUL-terminated within its array. */
		if (strnlen(c[i].realm, sizeof c[i].realm) == sizeof c[i].realm ||
		    strnlen(c[i].nonce, sizeof c[i].nonce) == sizeof c[i].nonce ||
		    strnlen(c[i].opaque, sizeof c[i].opaque) == sizeof c[i].opaque ||
		    strnlen(c[i].qop, sizeof c[i].qop) == sizeof c[i].qop ||
		    strnlen(c[i].algorithm, sizeof c[i].algorithm) == sizeof c[i].algorithm ||
		    strnlen(c[i].raw_scheme, sizeof c[i].raw_scheme) == sizeof c[i].raw_scheme)
			abort();
		if (c[i].scheme == TORIDE_AUTH_DIGEST) {
			(void)toride_auth_digest(&c[i], "admin", "12345", "GET", "/", "0a4f113b", 1, out, sizeof out);
			(void)toride_auth_digest(&c[i], "admin", "12345", "DESCRIBE", "rtsp://127.0.0.1/", "0a4f113b", 1,
			                         out, 64);
		}
	}
	(void)toride_auth_basic(s, s, out, sizeof out);
	free(s);
	return 0;
}
