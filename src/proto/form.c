/* Bounded form, cookie, command-line, key=value and URL helpers (see form.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/escape.h"
#include "proto/form.h"

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Percent-decodes p[0..n) into out. */
static int
form_decode(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return TORIDE_EPARSE;
			int hi = toride_hexval(p[i + 1]), lo = toride_hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return TORIDE_EPARSE;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (is_ctl(c))
			return TORIDE_EPARSE;
		if (o + 1 >= cap)
			return TORIDE_ETOOBIG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
toride_form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
	if (body == NULL || name == NULL || out == NULL || cap == 0)
		return TORIDE_EINVAL;
	out[0] = '\0';
	size_t nlen = strlen(name);
	size_t pos = 0;
	for (unsigned field = 0; field < TORIDE_FORM_MAX_FIELDS && pos <= len; field++) {
		const char *start = body + pos;
		const char *amp = memchr(start, '&', len - pos);
		size_t flen = amp != NULL ? (size_t)(amp - start) : len - pos;
		const char *eq = memchr(start, '=', flen);
		size_t klen = eq != NULL ? (size_t)(eq - start) : flen;
		/* Field names in our forms are plain words: compare them undecoded. */
		if (klen == nlen && memcmp(start, name, nlen) == 0) {
			if (eq == NULL)
				return form_decode("", 0, out, cap);
			return form_decode(eq + 1, flen - klen - 1, out, cap);
		}
		if (amp == NULL)
			break;
		pos += flen + 1;
	}
	return TORIDE_ENOTFOUND;
}

int
toride_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
	if (header == NULL || name == NULL || out == NULL || cap == 0)
		return TORIDE_EINVAL;
	out[0] = '\0';
	size_t nlen = strlen(name);
	const char *p = header;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t plen = end != NULL ? (size_t)(end - p) : strlen(p);
		if (plen > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = plen - nlen - 1;
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (vlen + 1 > cap)
				return TORIDE_ETOOBIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return TORIDE_ENOTFOUND;
}

size_t
toride_cmd_split(char *line, char **argv, size_t max)
{
	size_t n = 0;
	char *p = line;
	if (line == NULL || argv == NULL || max == 0)
		return 0;
	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		argv[n++] = p;
		if (n == max) {
			/* The last word keeps the rest of the line; trim trailing blanks. */
			size_t l = strlen(p);
			while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
				p[--l] = '\0';
			break;
		}
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

int
toride_kvtext_get(const char *text, size_t len, const char *key, char *out, size_t cap)
{
	if (text == NULL || key == NULL || out == NULL || cap == 0)
		return TORIDE_EINVAL;
	out[0] = '\0';
	size_t klen = strlen(key);
	size_t pos = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl != NULL ? 1 : 0);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0 || line[0] == '#')
			continue;
		if (llen > klen && memcmp(line, key, klen) == 0 && line[klen] == '=') {
			const char *v = line + klen + 1;
			size_t vlen = llen - klen - 1;
			for (size_t i = 0; i < vlen; i++)
				if (is_ctl((unsigned char)v[i]))
					return TORIDE_EPARSE;
			if (vlen + 1 > cap)
				return TORIDE_ETOOBIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
	}
	return TORIDE_ENOTFOUND;
}

static bool
url_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if (is_ctl((unsigned char)*s) || *s == ' ')
			return false;
	return true;
}

int
toride_url_resolve(const char *base, const char *ref, char *out, size_t cap)
{
	if (base == NULL || ref == NULL || out == NULL || cap == 0)
		return TORIDE_EINVAL;
	out[0] = '\0';
	if (!url_clean(base) || !url_clean(ref))
		return TORIDE_EINVAL;
	const char *sep = strstr(ref, "://");
	if (sep != NULL && sep != ref) {
		size_t n = strlen(ref);
		if (n + 1 > cap)
			return TORIDE_ETOOBIG;
		memcpy(out, ref, n + 1);
		return 0;
	}
	sep = strstr(base, "://");
	if (sep == NULL || sep == base || sep[3] == '\0' || sep[3] == '/')
		return TORIDE_EINVAL;
	const char *host = sep + 3;
	const char *path = strchr(host, '/');
	size_t keep;
	if (ref[0] == '/')
		keep = path != NULL ? (size_t)(path - base) : strlen(base);
	else if (path == NULL)
		keep = strlen(base); /* "https://h" + "x" -> "https://h/x" below */
	else
		keep = (size_t)(strrchr(base, '/') - base) + 1;
	bool need_slash = ref[0] != '/' && (path == NULL);
	int w = snprintf(out, cap, "%.*s%s%s", (int)keep, base, need_slash ? "/" : "", ref);
	if (w < 0 || (size_t)w >= cap) {
		out[0] = '\0';
		return TORIDE_ETOOBIG;
	}
	return 0;
}
