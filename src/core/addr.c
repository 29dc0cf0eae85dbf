#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/error.h"

/* Longest textual address we accept: a full IPv6 address with an embedded dotted quad is 45
 * characters. Anything longer is not an address, so it is refused before inet_pton sees it. */
#define ADDR_TEXT_MAX 45

int
toride_addr_parse(const char *s, struct toride_addr *out)
{
	memset(out, 0, sizeof *out);
	if (s == NULL)
		return TORIDE_EPARSE;
	size_t n = strnlen(s, ADDR_TEXT_MAX + 1);
	if (n == 0 || n > ADDR_TEXT_MAX)
		return TORIDE_EPARSE;
	/* glibc's inet_pton is strict: exactly four decimal parts without leading zeros for IPv4,
	 * no zone ids and no surrounding whitespace for IPv6. A ':' decides the family, so a string
	 * cannot be read as both. */
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, out->b) != 1)
			goto bad;
		out->family = 6;
		return 0;
	}
	if (inet_pton(AF_INET, s, out->b) != 1)
		goto bad;
	out->family = 4;
	return 0;
bad:
	memset(out, 0, sizeof *out);
	return TORIDE_EPARSE;
}

int
toride_addr_format(const struct toride_addr *a, char *out, size_t outlen)
{
	char tmp[TORIDE_ADDR_STRLEN];
	const char *r;

	if (a->family == 4)
		r = inet_ntop(AF_INET, a->b, tmp, sizeof tmp);
	else if (a->family == 6)
		r = inet_ntop(AF_INET6, a->b, tmp, sizeof tmp);
	else
		return TORIDE_EINVAL;
	if (r == NULL)
		return TORIDE_EINVAL;
	size_t n = strlen(tmp);
	if (n + 1 > outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return TORIDE_ETOOBIG;
	}
	memcpy(out, tmp, n + 1);
	return 0;
}

int
toride_addr_cmp(const struct toride_addr *a, const struct toride_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, a->family == 4 ? 4 : 16);
}

int
toride_addr_to_sockaddr(const struct toride_addr *a, uint16_t port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->b, 4);
		*len = sizeof *sin;
		return 0;
	}
	if (a->family == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->b, 16);
		*len = sizeof *sin6;
		return 0;
	}
	return TORIDE_EINVAL;
}

int
toride_addr_from_sockaddr(const struct sockaddr *sa, struct toride_addr *out, uint16_t *port)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->b, &sin->sin_addr, 4);
		if (port != NULL)
			*port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		out->family = 6;
		memcpy(out->b, &sin6->sin6_addr, 16);
		if (port != NULL)
			*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return TORIDE_EINVAL;
}
