/*
 * SSH identification line parser. See sshbanner.h for the contract.
 */
#include "proto/sshbanner.h"

#include <string.h>

#include "core/error.h"

/* Validate "SSH-proto-software[ SP comments]" (n bytes, no line end). */
static int
check_ident(const uint8_t *p, size_t n)
{
	size_t i = 4, s;
	s = i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f && p[i] != '-')
		i++;
	if (i == s || i >= n || p[i] != '-')
		return TORIDE_EPARSE;
	s = ++i;
	while (i < n && p[i] > 0x20 && p[i] != 0x7f)
		i++;
	if (i == s || (i < n && p[i] != ' '))
		return TORIDE_EPARSE;
	for (; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return TORIDE_EPARSE;
	return 0;
}

int
toride_ssh_parse_banner(const uint8_t *data, size_t len, size_t *consumed, char *out, size_t outlen)
{
	size_t off = 0;

	*consumed = 0;
	if (outlen > 0)
		out[0] = '\0'; /* callers may log out after a failure */
	for (;;) {
		const uint8_t *line = data + off;
		size_t avail = len - off;
		size_t lim = avail < TORIDE_SSH_MAX_LINE ? avail : TORIDE_SSH_MAX_LINE;
		const uint8_t *nl = memchr(line, '\n', lim);
		if (memchr(line, '\0', nl ? (size_t)(nl - line) : lim) != NULL)
			return TORIDE_EPARSE;
		if (nl == NULL)
			return avail >= TORIDE_SSH_MAX_LINE ? TORIDE_EPARSE : TORIDE_EINCOMPLETE;
		size_t with_lf = (size_t)(nl - line) + 1;
		size_t n = with_lf - 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n >= 4 && memcmp(line, "SSH-", 4) == 0) {
			int r = check_ident(line, n);
			if (r != 0)
				return r;
			if (outlen <= n)
				return TORIDE_ETOOBIG;
			memcpy(out, line, n);
			out[n] = '\0';
			*consumed = off + with_lf;
			return 0;
		}
		/* RFC 4253 4.2: other lines may come first; they must not start with "SSH-". */
		off += with_lf;
		if (off > TORIDE_SSH_MAX_PREAMBLE)
			return TORIDE_EPARSE;
	}
}

static int
copy_field(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (dst == NULL)
		return 0;
	if (dstlen == 0)
		return TORIDE_ETOOBIG;
	size_t k = n < dstlen - 1 ? n : dstlen - 1;
	memcpy(dst, s, k);
	dst[k] = '\0';
	return k < n ? TORIDE_ETOOBIG : 0;
}

int
toride_ssh_banner_fields(const char *line, char *proto, size_t protolen, char *software, size_t softlen,
                         char *comments, size_t commentslen)
{
	if (strncmp(line, "SSH-", 4) != 0 || check_ident((const uint8_t *)line, strlen(line)) != 0)
		return TORIDE_EPARSE;
	const char *p = line + 4;
	const char *dash = strchr(p, '-');
	const char *soft = dash + 1;
	size_t sl = strcspn(soft, " ");
	const char *com = soft[sl] == ' ' ? soft + sl + 1 : soft + sl;
	int r1 = copy_field(proto, protolen, p, (size_t)(dash - p));
	int r2 = copy_field(software, softlen, soft, sl);
	int r3 = copy_field(comments, commentslen, com, strlen(com));
	return r1 ? r1 : r2 ? r2 : r3;
}
