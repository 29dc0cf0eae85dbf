#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void
toride_buf_init(struct toride_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int
buf_reserve(struct toride_buf *b, size_t need)
{
	/* need includes one spare byte for the NUL of toride_buf_cstr(). */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	uint8_t *p = realloc(b->data, cap);
	if (p == NULL)
		return TORIDE_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
toride_buf_append(struct toride_buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len)
		return TORIDE_ETOOBIG;
	int r = buf_reserve(b, b->len + n + 1);
	if (r != 0)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
toride_buf_append_str(struct toride_buf *b, const char *s)
{
	return toride_buf_append(b, s, strlen(s));
}

int
toride_buf_printf(struct toride_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return TORIDE_EINVAL;
	size_t want = (size_t)n;
	int trunc = 0;
	if (want > b->max - b->len) {
		want = b->max - b->len;
		trunc = 1;
	}
	int r = buf_reserve(b, b->len + (size_t)n + 1 > b->max + 1 ? b->max + 1 : b->len + (size_t)n + 1);
	if (r != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, want + 1, fmt, ap);
	va_end(ap);
	b->len += want;
	return trunc ? TORIDE_ETOOBIG : 0;
}

void
toride_buf_consume(struct toride_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

int
toride_buf_cstr(struct toride_buf *b, const char **out)
{
	int r = buf_reserve(b, b->len + 1);
	if (r != 0)
		return r;
	b->data[b->len] = '\0';
	*out = (const char *)b->data;
	return 0;
}

void
toride_buf_reset(struct toride_buf *b)
{
	b->len = 0;
}

void
toride_buf_free(struct toride_buf *b)
{
	free(b->data);
	toride_buf_init(b, b->max);
}
