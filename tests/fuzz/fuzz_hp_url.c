/*
 * Fuzz hp_url_parse (dropper download URLs). The input is one URL (cut at its first NUL). The
 * parser must either refuse with TORIDE_EPARSE and a zeroed result, or return a result that keeps
 * its contract: a known scheme, a non-empty host of host characters (or a valid IPv6 literal), a
 * non-zero port and a path starting with "/", all NUL-terminated inside their arrays. Any
 * violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/error.h"
#include "honeypot/hp.h"

/* Inputs longer than the parser's own input cap (8 KiB) plus a margin only test the cap. */
#define FUZZ_HP_URL_MAX 9000

static void
check_terminated(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

static void
check_ok(const struct hp_url *u)
{
	check_terminated(u->scheme, sizeof u->scheme);
	check_terminated(u->host, sizeof u->host);
	check_terminated(u->path, sizeof u->path);
	if (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0 &&
	    strcmp(u->scheme, "ftp") != 0 && strcmp(u->scheme, "tftp") != 0)
		abort();
	if (u->host[0] == '\0' || u->port == 0 || u->path[0] != '/')
		abort();
	struct toride_addr a;
	if (strchr(u->host, ':') != NULL) {
		if (toride_addr_parse(u->host, &a) != 0 || a.family != 6)
			abort();
	} else {
		for (const char *p = u->host; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
			      *p == '_'))
				abort();
	}
	for (const char *p = u->path; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char s[FUZZ_HP_URL_MAX + 1];
	static const struct hp_url zero;
	struct hp_url u;
	if (size > FUZZ_HP_URL_MAX)
		size = FUZZ_HP_URL_MAX;
	memcpy(s, data, size);
	s[size] = '\0';
	int r = hp_url_parse(s, &u);
	if (r == 0)
		check_ok(&u);
	else if (r != TORIDE_EPARSE || memcmp(&u, &zero, sizeof u) != 0)
		abort();
	return 0;
}
