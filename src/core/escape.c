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

static int
hexval(char c)
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
				int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
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
