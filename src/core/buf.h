/*
 * A growable byte buffer with a hard cap. Every buffer that holds bytes from the network has a
 * cap so that a hostile peer cannot grow our memory without bound.
 */
#ifndef TORIDE_CORE_BUF_H
#define TORIDE_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct toride_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len; appends beyond it fail with TORIDE_ETOOBIG */
};

/* Initialise an empty buffer that may hold at most max bytes. Allocates nothing yet. */
void toride_buf_init(struct toride_buf *b, size_t max);
/* Append n bytes; returns 0, TORIDE_ETOOBIG (nothing appended) or TORIDE_ENOMEM. */
int toride_buf_append(struct toride_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string (without its NUL). */
int toride_buf_append_str(struct toride_buf *b, const char *s);
/* printf-style append; output is truncated at the cap and TORIDE_ETOOBIG returned. */
int toride_buf_printf(struct toride_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). */
void toride_buf_consume(struct toride_buf *b, size_t n);
/* Keep the data as a C string: ensures a NUL after len (not counted in len). */
int toride_buf_cstr(struct toride_buf *b, const char **out);
void toride_buf_reset(struct toride_buf *b);
void toride_buf_free(struct toride_buf *b);

#endif
