/*
 * WWW-Authenticate parsing (every real example from rapid7/recog), Basic (RFC 7617) and Digest
 * (RFC 7616 3.9.1 MD5 and SHA-256, RFC 2617 3.5) against the RFCs' published values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "proto/auth.h"

static void
test_basic_rfc7617(void **state)
{
	(void)state;
	char out[128];
	/* RFC 7617 2: Aladdin / open sesame */
	assert_int_equal(toride_auth_basic("Aladdin", "open sesame", out, sizeof out), 0);
	assert_string_equal(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	assert_int_equal(toride_auth_basic("admin", "", out, sizeof out), 0);
	assert_string_equal(out, "Basic YWRtaW46");
	assert_int_equal(toride_auth_basic("a:b", "c", out, sizeof out), TORIDE_EINVAL);
	/* "Basic " + 4 base64 chars + NUL = 11 bytes */
	assert_int_equal(toride_auth_basic("ab", "", out, 10), TORIDE_ETOOBIG);
	assert_int_equal(toride_auth_basic("ab", "", out, 11), 0);
	assert_string_equal(out, "Basic YWI6");
}

static void
parse_one(const char *v, struct toride_auth_challenge *c)
{
	size_t n = 0;
	assert_int_equal(toride_auth_parse_challenges(v, c, 1, &n), 0);
	assert_int_equal(n, 1);
}

static void
test_digest_rfc7616(void **state)
{
	(void)state;
	struct toride_auth_challenge c;
	char out[1024];
	const char *md5 = "Digest\r\n    realm=\"http-auth@example.org\",\r\n    qop=\"auth, auth-int\",\r\n"
	                  "    algorithm=MD5,\r\n    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
	                  "    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	/* The HTTP parser joins folded lines with spaces; accept tabs/spaces as the parser sees them. */
	char joined[512];
	size_t j = 0;
	for (const char *p = md5; *p != '\0'; p++)
		if (*p != '\r' && *p != '\n')
			joined[j++] = *p;
	joined[j] = '\0';
	parse_one(joined, &c);
	assert_int_equal(c.scheme, TORIDE_AUTH_DIGEST);
	assert_string_equal(c.realm, "http-auth@example.org");
	assert_string_equal(c.qop, "auth, auth-int");
	assert_string_equal(c.algorithm, "MD5");
	assert_string_equal(c.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	assert_string_equal(c.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	assert_int_equal(toride_auth_digest(&c, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
	                                    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1, out, sizeof out),
	                 0);
	assert_string_equal(out, "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
	                         "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", "
	                         "algorithm=MD5, response=\"8ca523f5e9506fed4657c9700eebdbec\", "
	                         "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", qop=auth, nc=00000001, "
	                         "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\"");

	/* Same challenge with SHA-256 (RFC 7616 3.9.1, second response). */
	snprintf(c.algorithm, sizeof c.algorithm, "SHA-256");
	assert_int_equal(toride_auth_digest(&c, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
	                                    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1, out, sizeof out),
	                 0);
	assert_non_null(strstr(out, "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""));
	assert_non_null(strstr(out, "algorithm=SHA-256"));

	/* Output too small: refused, not cut. */
	assert_int_equal(toride_auth_digest(&c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "x", 1, out, 100),
	                 TORIDE_ETOOBIG);
	assert_string_equal(out, "");
}

static void
test_digest_rfc2617(void **state)
{
	(void)state;
	struct toride_auth_challenge c;
	char out[1024];
	parse_one("Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
	          "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
	          &c);
	assert_int_equal(toride_auth_digest(&c, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1, out,
	                                    sizeof out),
	                 0);
	assert_non_null(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\""));
	assert_null(strstr(out, "algorithm")); /* not sent, not echoed */

	/* MD5-sess: H(H(user:realm:pass):nonce:cnonce) as A1 (value computed with Python hashlib). */
	snprintf(c.algorithm, sizeof c.algorithm, "MD5-sess");
	assert_int_equal(toride_auth_digest(&c, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1, out,
	                                    sizeof out),
	                 0);
	assert_non_null(strstr(out, "algorithm=MD5-sess"));
	assert_non_null(strstr(out, "response=\"8e3825c57e897f5a0dec6c2d4e5059d0\""));
}

/* RFC 2069 form: no qop, response = H(HA1:nonce:HA2); opaque="" is echoed. */
static void
test_digest_no_qop(void **state)
{
	(void)state;
	struct toride_auth_challenge c;
	char out[1024];
	parse_one("Digest realm=\"Use 'live' as User Name\",nonce=\"18e62d241a5358a9650640fa72c1773c\",opaque=\"\","
	          "stale=FALSE,algorithm=MD5",
	          &c);
	assert_false(c.stale);
	assert_true(c.has_opaque);
	assert_int_equal(toride_auth_digest(&c, "live", "live", "DESCRIBE", "rtsp://127.0.0.1/", NULL, 0, out, sizeof out),
	                 0);
	assert_non_null(strstr(out, "opaque=\"\""));
	assert_null(strstr(out, "qop="));
	assert_null(strstr(out, "cnonce"));
	/* Expected response computed with Python hashlib from the same inputs. */
	assert_non_null(strstr(out, "response=\"06104d441d2ed9b524298eab627fc999\""));
}

static void
test_digest_refusals(void **state)
{
	(void)state;
	struct toride_auth_challenge c;
	char out[512];
	parse_one("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"", &c);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/", "c", 1, out, sizeof out), TORIDE_EUNSUPPORTED);
	parse_one("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1024", &c);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/", "c", 1, out, sizeof out), TORIDE_EUNSUPPORTED);
	parse_one("Digest realm=\"r\", nonce=\"n\", qop=auth", &c);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/", NULL, 1, out, sizeof out), TORIDE_EINVAL);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/", "c", 0, out, sizeof out), TORIDE_EINVAL);
	parse_one("Basic realm=\"r\"", &c);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/", "c", 1, out, sizeof out), TORIDE_EINVAL);
	/* A nonce longer than the field: refused rather than answered wrongly. */
	char v[600];
	int k = snprintf(v, sizeof v, "Digest realm=\"r\", nonce=\"");
	memset(v + k, 'n', 400);
	snprintf(v + k + 400, sizeof v - (size_t)k - 400, "\"");
	parse_one(v, &c);
	assert_true(c.truncated);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/", "c", 1, out, sizeof out), TORIDE_ETOOBIG);
	/* Quotes and backslashes in user and realm are escaped in the header. */
	parse_one("Digest realm=\"a\\\"b\\\\c\", nonce=\"n\"", &c);
	assert_string_equal(c.realm, "a\"b\\c");
	assert_int_equal(toride_auth_digest(&c, "u\"v", "p", "GET", "/", "c", 1, out, sizeof out), 0);
	assert_non_null(strstr(out, "username=\"u\\\"v\", realm=\"a\\\"b\\\\c\""));
	/* CR/LF in an echoed value would inject header lines: refused. */
	assert_int_equal(toride_auth_digest(&c, "u\r\nX-Evil: 1", "p", "GET", "/", "c", 1, out, sizeof out),
	                 TORIDE_EINVAL);
	assert_int_equal(toride_auth_digest(&c, "u", "p", "GET", "/\n", "c", 1, out, sizeof out), TORIDE_EINVAL);
}

static void
test_challenge_lists(void **state)
{
	(void)state;
	struct toride_auth_challenge c[4];
	size_t n;
	/* Two challenges in one value (recog: SPIP) */
	assert_int_equal(toride_auth_parse_challenges("Basic realm=\"SPIP Configuration\", Digest realm=\"SPIP "
	                                              "Configuration\", nonce=\"116761147\", algorithm=\"MD5\"",
	                                              c, 4, &n),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].scheme, TORIDE_AUTH_BASIC);
	assert_int_equal(c[1].scheme, TORIDE_AUTH_DIGEST);
	assert_string_equal(c[1].nonce, "116761147");
	assert_string_equal(c[1].algorithm, "MD5");
	/* token68 challenges, parameters after them, missing commas, stale=true */
	assert_int_equal(toride_auth_parse_challenges("Negotiate YIIBhgYGKwYBBQUCoIIBejCC==, NTLM,, Digest realm=x "
	                                              "nonce=\"abc\" stale=TRUE Basic realm=y,",
	                                              c, 4, &n),
	                 0);
	assert_int_equal(n, 4);
	assert_string_equal(c[0].raw_scheme, "Negotiate");
	assert_int_equal(c[0].scheme, TORIDE_AUTH_OTHER);
	assert_string_equal(c[1].raw_scheme, "NTLM");
	assert_int_equal(c[2].scheme, TORIDE_AUTH_DIGEST);
	assert_string_equal(c[2].realm, "x");
	assert_string_equal(c[2].nonce, "abc");
	assert_true(c[2].stale);
	assert_int_equal(c[3].scheme, TORIDE_AUTH_BASIC);
	assert_string_equal(c[3].realm, "y");
	/* More challenges than room */
	assert_int_equal(toride_auth_parse_challenges("Basic realm=a, Basic realm=b, Basic realm=c", c, 2, &n),
	                 TORIDE_ETOOBIG);
	assert_int_equal(n, 2);
	assert_string_equal(c[1].realm, "b");
	/* Nothing usable */
	assert_int_equal(toride_auth_parse_challenges("", c, 4, &n), TORIDE_EPARSE);
	assert_int_equal(toride_auth_parse_challenges(" , ,", c, 4, &n), TORIDE_EPARSE);
	assert_int_equal(toride_auth_parse_challenges("realm=\"no scheme, here\"", c, 4, &n), TORIDE_EPARSE);
	assert_int_equal(n, 0);
	/* Unterminated quote: the value runs to the end, no overread. */
	assert_int_equal(toride_auth_parse_challenges("Basic realm=\"abc\\", c, 4, &n), 0);
	assert_string_equal(c[0].realm, "abc\\");
	/* Case-insensitive scheme and parameter names, spaces around '=' */
	assert_int_equal(toride_auth_parse_challenges("bAsIc REALM = \"Cam\"", c, 4, &n), 0);
	assert_int_equal(c[0].scheme, TORIDE_AUTH_BASIC);
	assert_string_equal(c[0].realm, "Cam");
}

static void
tsv_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == 't')
			*w++ = '\t';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == 'r')
			*w++ = '\r';
		else if (*r == 'x' && r[1] && r[2]) {
			char hex[3] = { r[1], r[2], 0 };
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

/* Every WWW-Authenticate example from recog parses; Basic/Digest ones yield their scheme with the
 * realm the example shows. */
static void
test_recog_wwwauth_examples(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof path, "%s/banners/http_wwwauth.examples.tsv", TORIDE_TEST_DATA);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4096];
	size_t checked = 0, with_realm = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || strncmp(line, "example\t", 8) == 0)
			continue;
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		tsv_unescape(line);
		struct toride_auth_challenge c[4];
		size_t n = 0;
		int r = toride_auth_parse_challenges(line, c, 4, &n);
		if (r != 0 || n == 0)
			fail_msg("%s -> %d", line, r);
		checked++;
		bool basic = strncasecmp(line, "Basic ", 6) == 0, digest = strncasecmp(line, "Digest ", 7) == 0;
		if (!basic && !digest) {
			assert_int_equal(c[0].scheme, TORIDE_AUTH_OTHER);
			continue;
		}
		assert_int_equal(c[0].scheme, basic ? TORIDE_AUTH_BASIC : TORIDE_AUTH_DIGEST);
		assert_true(c[0].has_realm);
		assert_false(c[0].truncated);
		/* The realm is what stands between the quotes after realm= in the example. */
		const char *rp = strstr(line, "realm=");
		assert_non_null(rp);
		char q = rp[6];
		const char *end = strchr(rp + 7, q);
		assert_non_null(end);
		assert_int_equal(strlen(c[0].realm), (size_t)(end - rp - 7));
		assert_memory_equal(c[0].realm, rp + 7, (size_t)(end - rp - 7));
		if (digest && strstr(line, "nonce=") != NULL)
			assert_true(c[0].nonce[0] != '\0');
		with_realm++;
	}
	fclose(f);
	assert_true(checked >= 130);
	assert_true(with_realm >= 120);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_rfc7617),
		cmocka_unit_test(test_digest_rfc7616),
		cmocka_unit_test(test_digest_rfc2617),
		cmocka_unit_test(test_digest_no_qop),
		cmocka_unit_test(test_digest_refusals),
		cmocka_unit_test(test_challenge_lists),
		cmocka_unit_test(test_recog_wwwauth_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
