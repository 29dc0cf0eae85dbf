/*
 * Download URLs as droppers write them (hp.h "download URLs"). Bots type URLs for busybox wget,
 * tftp and ftpget, so the parser accepts what those tools accept rather than strict RFC 3986:
 * the scheme may be missing ("1.2.3.4:8080/x.sh" is http), userinfo is dropped, the port may be
 * empty. It is total and bounded: it reads at most HP_URL_INPUT_MAX bytes, never allocates, and
 * either fills *out completely or refuses with TORIDE_EPARSE (then *out is zeroed).
 *
 * What is refused and why: a URL with bytes outside printable ASCII or with spaces is not one
 * argument of a dropper command; a host with anything but letters, digits, '.', '-' and '_' (or a
 * bracketed IPv6 literal) is not a host a fetch could ever contact exactly; schemes other than
 * http, https, ftp and tftp are not download schemes of the tools bots use.
 */
#include <string.h>

#include "core/addr.h"
#include "core/error.h"
#include "honeypot/hp.h"

/* Why 8 KiB: busybox wget and tftp take URLs from a shell line of at most a few KiB (the shell
 * caps its line); past that the input is not a URL a dropper typed, and bounding the scan keeps
 * a hostile string from costing more than one pass over 8 KiB. */
#define HP_URL_INPUT_MAX 8192
/* Longest IPv6 literal inside brackets (45 characters, TORIDE_ADDR_STRLEN with its NUL). */
#define HP_URL_IPV6_MAX (TORIDE_ADDR_STRLEN - 1)

struct url_scheme {
	const char *name;
	uint16_t port;
};

static const struct url_scheme url_schemes[] = {
	{ "http", 80 },
	{ "https", 443 },
	{ "ftp", 21 },
	{ "tftp", 69 },
};

static int
url_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool
url_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
url_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
url_host_char(int c)
{
	return url_is_alpha(c) || url_is_digit(c) || c == '.' || c == '-' || c == '_';
}

/* Copy n bytes of s into dst (capacity cap), cutting at cap - 1, lower-casing if asked. */
static void
url_copy(char *dst, size_t cap, const char *s, size_t n, bool lower)
{
	if (n > cap - 1)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)(lower ? url_lower((unsigned char)s[i]) : s[i]);
	dst[n] = '\0';
}

/* Length of a scheme at s ("http" of "http://..."), or 0 if s does not start with one. */
static size_t
url_scheme_len(const char *s, size_t n)
{
	if (n == 0 || !url_is_alpha((unsigned char)s[0]))
		return 0;
	size_t i = 1;
	while (i < n && (url_is_alpha((unsigned char)s[i]) || url_is_digit((unsigned char)s[i]) ||
	                 s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (n - i >= 3 && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
		return i;
	return 0;
}

/* Port text p[0..n): empty means the default; else 1..5 digits, 1..65535. */
static int
url_port(const char *p, size_t n, uint16_t dflt, uint16_t *out)
{
	if (n == 0) {
		*out = dflt;
		return 0;
	}
	if (n > 5)
		return TORIDE_EPARSE;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!url_is_digit((unsigned char)p[i]))
			return TORIDE_EPARSE;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return TORIDE_EPARSE;
	*out = (uint16_t)v;
	return 0;
}

int
hp_url_parse(const char *url, struct hp_url *out)
{
	int r = TORIDE_EPARSE;
	memset(out, 0, sizeof *out);
	if (url == NULL)
		goto out;
	size_t n = strnlen(url, HP_URL_INPUT_MAX + 1);
	if (n == 0 || n > HP_URL_INPUT_MAX)
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f)
			goto out;
	}

	/* scheme (optional: busybox wget and droppers' own downloaders default to http) */
	const char *p = url;
	size_t sl = url_scheme_len(p, n);
	const struct url_scheme *scheme = &url_schemes[0];
	if (sl > 0) {
		scheme = NULL;
		for (size_t i = 0; i < sizeof url_schemes / sizeof url_schemes[0]; i++) {
			const char *name = url_schemes[i].name;
			if (strlen(name) != sl)
				continue;
			size_t k = 0;
			while (k < sl && url_lower((unsigned char)p[k]) == name[k])
				k++;
			if (k == sl) {
				scheme = &url_schemes[i];
				break;
			}
		}
		if (scheme == NULL)
			goto out;
		p += sl + 3;
		n -= sl + 3;
	} else if (n >= 2 && p[0] == '/' && p[1] == '/') {
		/* scheme-relative "//host/path" */
		p += 2;
		n -= 2;
	}

	/* authority: up to the first '/', '?' or '#' */
	size_t alen = 0;
	while (alen < n && p[alen] != '/' && p[alen] != '?' && p[alen] != '#')
		alen++;
	const size_t auth_total = alen; /* the path starts after the whole authority */
	const char *auth = p;
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (at != NULL) {
		/* userinfo ("ftp://user:pw@host/") is dropped: it is not where the file is */
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}

	const char *host, *port;
	size_t hlen, plen;
	if (alen > 0 && auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		if (close == NULL)
			goto out;
		host = auth + 1;
		hlen = (size_t)(close - host);
		if (hlen == 0 || hlen > HP_URL_IPV6_MAX)
			goto out;
		char lit[HP_URL_IPV6_MAX + 1];
		memcpy(lit, host, hlen);
		lit[hlen] = '\0';
		struct toride_addr a;
		if (toride_addr_parse(lit, &a) != 0 || a.family != 6)
			goto out;
		size_t rest = alen - (size_t)(close + 1 - auth);
		const char *after = close + 1;
		if (rest > 0 && after[0] != ':')
			goto out;
		port = rest > 0 ? after + 1 : after;
		plen = rest > 0 ? rest - 1 : 0;
	} else {
		const char *colon = memchr(auth, ':', alen);
		host = auth;
		hlen = colon != NULL ? (size_t)(colon - auth) : alen;
		port = colon != NULL ? colon + 1 : auth + alen;
		plen = colon != NULL ? alen - hlen - 1 : 0;
		if (hlen == 0)
			goto out;
		for (size_t i = 0; i < hlen; i++)
			if (!url_host_char((unsigned char)host[i]))
				goto out;
	}
	if (url_port(port, plen, scheme->port, &out->port) != 0)
		goto out;

	/* path: the rest without a fragment; a query stays (it names the file on some servers) */
	const char *path = p + auth_total;
	size_t rlen = n - auth_total;
	const char *hash = memchr(path, '#', rlen);
	if (hash != NULL)
		rlen = (size_t)(hash - path);

	url_copy(out->scheme, sizeof out->scheme, scheme->name, strlen(scheme->name), false);
	url_copy(out->host, sizeof out->host, host, hlen, true);
	if (rlen > 0 && path[0] == '/') {
		url_copy(out->path, sizeof out->path, path, rlen, false);
	} else {
		out->path[0] = '/';
		url_copy(out->path + 1, sizeof out->path - 1, path, rlen, false);
	}
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof *out);
	return r;
}
