/*
 * IP addresses as plain values: one struct for IPv4 and IPv6 so that scope, order and probes do
 * not care about the family until they open a socket. Parsing is strict (no octal, no shorthand
 * like "10.1", no zone ids, no whitespace): an address that a human could read two ways is refused,
 * because the survey must probe exactly the address the operator meant.
 */
#ifndef TORIDE_CORE_ADDR_H
#define TORIDE_CORE_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text toride_addr_format() writes, NUL included (same as INET6_ADDRSTRLEN). */
#define TORIDE_ADDR_STRLEN 46

struct toride_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t b[16];  /* network byte order; IPv4 in b[0..3], the rest zero */
};

/* Parse a dotted-quad IPv4 address ("192.0.2.1") or an RFC 4291 text IPv6 address ("2001:db8::1",
 * "::ffff:192.0.2.1"). The whole string must be the address: no whitespace, prefix, port or zone id.
 * On success *out is fully written (unused bytes zero) and 0 is returned; otherwise TORIDE_EPARSE
 * and *out is zeroed. */
int toride_addr_parse(const char *s, struct toride_addr *out);

/* Write the canonical text form (inet_ntop style: RFC 5952 for IPv6) with its NUL into out.
 * Returns 0, TORIDE_EINVAL for a bad family, or TORIDE_ETOOBIG if outlen is too small (out then
 * holds an empty string if outlen > 0). TORIDE_ADDR_STRLEN bytes are always enough. */
int toride_addr_format(const struct toride_addr *a, char *out, size_t outlen);

/* Total order: every IPv4 address sorts before every IPv6 address, then numerically. Returns <0, 0
 * or >0 like memcmp. */
int toride_addr_cmp(const struct toride_addr *a, const struct toride_addr *b);

/* Fill a sockaddr_in or sockaddr_in6 for a and port (host byte order) and set *len to its size.
 * Returns 0 or TORIDE_EINVAL for a bad family. */
int toride_addr_to_sockaddr(const struct toride_addr *a, uint16_t port, struct sockaddr_storage *ss,
                            socklen_t *len);

/* Read an AF_INET or AF_INET6 socket address into *out and, if port is not NULL, its port in host
 * byte order. An IPv4-mapped IPv6 address stays IPv6 (::ffff:a.b.c.d): the scope excludes those
 * through its IPv4 exclusions' mirrors, so no information is lost. Returns 0 or TORIDE_EINVAL for
 * any other family. */
int toride_addr_from_sockaddr(const struct sockaddr *sa, struct toride_addr *out, uint16_t *port);

#endif
