/*
 * Bytes from the network are not text. Before they go into JSON, SQLite or a report they are
 * escaped to printable ASCII: \\ \r \n \t stay readable, any other byte outside 0x20..0x7e
 * becomes \xHH. The escaping is reversible (toride_unescape_bytes) so evidence is never lost.
 */
#ifndef TORIDE_CORE_ESCAPE_H
#define TORIDE_CORE_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *toride_escape_bytes(const uint8_t *p, size_t n);
/* Reverses toride_escape_bytes into out (at most outcap bytes); returns the length or a negative
 * TORIDE_E* code (TORIDE_EPARSE on a malformed escape, TORIDE_ETOOBIG if out is too small). */
long toride_unescape_bytes(const char *s, uint8_t *out, size_t outcap);

/* Value of one hex digit (either case), or -1. */
int toride_hexval(char c);

/* Writes n bytes of s to out as HTML text, safe both as element content and inside a quoted
 * attribute value: & < > " ' become entities; C0 controls other than \n and \t, DEL and NUL
 * become \xHH, C1 controls and the Unicode bidirectional controls (U+202A..U+202E,
 * U+2066..U+2069, which could make evidence read differently from what it is) become \u{HHHH},
 * and bytes that are not valid UTF-8 become \xHH. Nothing of s can open a tag or an entity.
 * The caller checks ferror(out). */
void toride_escape_html(FILE *out, const char *s, size_t n);

#endif
