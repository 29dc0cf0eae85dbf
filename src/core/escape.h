/*
 * Bytes from the network are not text. Before they go into JSON, SQLite or a report they are
 * escaped to printable ASCII: \\ \r \n \t stay readable, any other byte outside 0x20..0x7e
 * becomes \xHH. The escaping is reversible (toride_unescape_bytes) so evidence is never lost.
 */
#ifndef TORIDE_CORE_ESCAPE_H
#define TORIDE_CORE_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *toride_escape_bytes(const uint8_t *p, size_t n);
/* Reverses toride_escape_bytes into out (at most outcap bytes); returns the length or a negative
 * TORIDE_E* code (TORIDE_EPARSE on a malformed escape, TORIDE_ETOOBIG if out is too small). */
long toride_unescape_bytes(const char *s, uint8_t *out, size_t outcap);

#endif
