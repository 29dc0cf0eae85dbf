#include "core/escape.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

char *
toride_escape_bytes(const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	/* Worst case every byte becomes \xHH. */
	if (n > (SIZE_MAX - 1) / 4)
		return NULL;
	char *out = malloc(n * 4 + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		switch (c) {
		case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
		case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
		case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
		case '\t': out[o++] = '\\'; out[o++] = 't'; break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				out[o++] = (char)c;
			} else {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			}
		}
	}
	out[o] = '\0';
	return out;
}

int
toride_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
toride_unescape_bytes(const char *s, uint8_t *out, size_t outcap)
{
	size_t o = 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '\\') {
			char e = s[++i];
			switch (e) {
			case '\\': c = '\\'; break;
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'x': {
				if (s[i + 1] == '\0' || s[i + 2] == '\0')
					return TORIDE_EPARSE;
				int h = toride_hexval(s[i + 1]), l = toride_hexval(s[i + 2]);
				if (h < 0 || l < 0)
					return TORIDE_EPARSE;
				c = (uint8_t)(h << 4 | l);
				i += 2;
				break;
			}
			default:
				return TORIDE_EPARSE;
			}
		}
		if (o >= outcap)
			return TORIDE_ETOOBIG;
		out[o++] = c;
	}
	return (long)o;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes available) and its code point, or 0
 * if the bytes there are not one (overlong forms, surrogates and values above U+10FFFF are not). */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void
toride_escape_html(FILE *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_seq(p + i, n - i, &cp);
		if (len == 0) {
			fprintf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		switch (cp) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		case '\n':
		case '\t': fputc((int)cp, out); break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				fprintf(out, "\\x%02x", (unsigned)cp);
			else if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
			         (cp >= 0x2066 && cp <= 0x2069))
				fprintf(out, "\\u{%04x}", (unsigned)cp);
			else
				fwrite(p + i, 1, len, out);
		}
		i += len;
	}
}
