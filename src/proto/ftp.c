/*
 * FTP reply parser. See ftp.h for the contract.
 */
#include "proto/ftp.h"

#include <stdbool.h>
#include <string.h>

#include "core/error.h"

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Check the first bytes of a reply as soon as they arrive: "ddd" then ' ', '-' or a line end. */
static int
check_reply_start(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && i < 4; i++) {
		if (i < 3 && !is_digit(p[i]))
			return TORIDE_EPARSE;
		if (i == 3 && p[i] != ' ' && p[i] != '-' && p[i] != '\r' && p[i] != '\n')
			return TORIDE_EPARSE;
	}
	return 0;
}

struct text_out {
	char *p;
	size_t len;
	size_t cap; /* bytes available for text, without the NUL */
};

static void
text_add(struct text_out *t, const uint8_t *s, size_t n, bool newline)
{
	if (t->p == NULL)
		return;
	if (newline && t->len < t->cap)
		t->p[t->len++] = '\n';
	size_t k = n < t->cap - t->len ? n : t->cap - t->len;
	memcpy(t->p + t->len, s, k);
	t->len += k;
	t->p[t->len] = '\0';
}

int
toride_ftp_parse_reply(const uint8_t *data, size_t len, size_t *consumed, int *code, char *text, size_t textlen)
{
	struct text_out t = { .p = textlen > 0 ? text : NULL, .cap = textlen > 0 ? textlen - 1 : 0 };
	size_t off = 0;
	int c = -1;
	bool first = true;

	*consumed = 0;
	if (t.p != NULL)
		t.p[0] = '\0';
	int r = check_reply_start(data, len);
	if (r != 0)
		return r;
	for (;;) {
		const uint8_t *line = data + off;
		size_t avail = len - off;
		size_t lim = avail < TORIDE_FTP_MAX_REPLY - off ? avail : TORIDE_FTP_MAX_REPLY - off;
		const uint8_t *nl = memchr(line, '\n', lim);
		if (memchr(line, '\0', nl ? (size_t)(nl - line) : lim) != NULL)
			return TORIDE_EPARSE;
		if (nl == NULL)
			return off + lim >= TORIDE_FTP_MAX_REPLY ? TORIDE_ETOOBIG : TORIDE_EINCOMPLETE;
		size_t with_lf = (size_t)(nl - line) + 1;
		size_t n = with_lf - 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		bool last = false;
		size_t skip = 0;
		if (first) {
			if (n < 3)
				return TORIDE_EPARSE;
			c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
			if (c < 100 || c > 599)
				return TORIDE_EPARSE;
			last = n == 3 || line[3] == ' ';
			skip = n > 3 ? 4 : 3;
		} else if (n >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
		           (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') == c &&
		           (n == 3 || line[3] == ' ' || line[3] == '-')) {
			last = n == 3 || line[3] == ' ';
			skip = n > 3 ? 4 : 3;
		}
		text_add(&t, line + skip, n - skip, !first);
		off += with_lf;
		first = false;
		if (last)
			break;
	}
	*consumed = off;
	*code = c;
	return 0;
}
