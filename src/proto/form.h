/*
 * Small bounded parsers for what an admin interface receives: HTML form bodies
 * (application/x-www-form-urlencoded), Cookie headers, console command lines, key=value
 * announcements, and relative URL resolution. Used by toride-deviced (src/deviced/); kept here in
 * toride_core so the unit tests exercise the same code. Every input is outside bytes: nothing is
 * trusted, every output is capped by the caller's buffer, and a decoded value never holds a NUL
 * or a control byte (so it cannot split a log line or a telnet line).
 */
#ifndef TORIDE_PROTO_FORM_H
#define TORIDE_PROTO_FORM_H

#include <stddef.h>

/* Fields looked at in one form body: a login or settings form has < 10; more is an attack on the
 * linear search, so the rest is ignored. */
#define TORIDE_FORM_MAX_FIELDS 64

/*
 * Value of the first field `name` in a urlencoded form body of len bytes ('+' is a space, %HH a
 * byte). Returns 0 with a NUL-terminated value, TORIDE_ENOTFOUND, TORIDE_EPARSE (a bad %-escape,
 * or a decoded byte below 0x20 or 0x7f: no legitimate login or setting holds one), TORIDE_ETOOBIG
 * (does not fit in cap), TORIDE_EINVAL (NULL argument or cap 0).
 */
int toride_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

/*
 * Value of cookie `name` in a Cookie header ("a=1; session=abc"). Returns 0, TORIDE_ENOTFOUND,
 * TORIDE_ETOOBIG, TORIDE_EINVAL. The value is returned as sent (no decoding).
 */
int toride_cookie_get(const char *header, const char *name, char *out, size_t cap);

/*
 * Splits a command line in place into at most max words separated by spaces or tabs; the last
 * word (argv[max - 1]) takes the rest of the line with its inner spaces ("set hostname My Cam"
 * with max 3 gives "set", "hostname", "My Cam"). Leading/trailing blanks are dropped. Returns the
 * number of words (0 for a blank line).
 */
size_t toride_cmd_split(char *line, char **argv, size_t max);

/*
 * Value of `key` in key=value lines (LF or CRLF; '#' comments and blank lines skipped; the first
 * match wins). Returns 0, TORIDE_ENOTFOUND, TORIDE_ETOOBIG, TORIDE_EPARSE (a control byte in the
 * value), TORIDE_EINVAL.
 */
int toride_kvtext_get(const char *text, size_t len, const char *key, char *out, size_t cap);

/*
 * Resolves ref against base the way an update announcement's url= is meant: an absolute
 * "scheme://..." ref is taken as is, "/path" replaces base's path, anything else is appended to
 * base's directory (base up to its last '/'). Returns 0, TORIDE_ETOOBIG, TORIDE_EINVAL (base has
 * no "scheme://host", or a control byte or space in either).
 */
int toride_url_resolve(const char *base, const char *ref, char *out, size_t cap);

#endif
