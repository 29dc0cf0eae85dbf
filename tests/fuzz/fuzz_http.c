/*
 * Fuzz the HTTP/RTSP message parser in both directions. The input is fed once whole and once split
 * at a point chosen by its first byte; both must agree (the parser is streaming), and every
 * accessor runs on the result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/http.h"

static int
run(struct toride_http_msg *m, const uint8_t *data, size_t size, size_t split, size_t *consumed)
{
	size_t used = 0, total = 0;
	int r = TORIDE_EINCOMPLETE;
	if (split > size)
		split = size;
	r = toride_http_msg_parse(m, data, split, &used);
	total = used;
	if (r == TORIDE_EINCOMPLETE) {
		if (used != split)
			abort(); /* EINCOMPLETE must use everything */
		r = toride_http_msg_parse(m, data + split, size - split, &used);
		total += used;
	}
	if (r == TORIDE_EINCOMPLETE)
		r = toride_http_msg_eof(m);
	*consumed = total;
	return r;
}

static void
touch(struct toride_http_msg *m)
{
	char title[TORIDE_HTTP_MAX_TITLE + 1];
	size_t blen;
	const char *n, *v;
	(void)toride_http_msg_status(m);
	(void)strlen(toride_http_msg_protocol(m));
	(void)strlen(toride_http_msg_reason(m));
	(void)strlen(toride_http_msg_method(m));
	(void)strlen(toride_http_msg_target(m));
	for (size_t i = 0; toride_http_msg_header_at(m, i, &n, &v) == 0; i++)
		(void)(strlen(n) + strlen(v));
	(void)toride_http_msg_header(m, "www-authenticate", 1);
	(void)toride_http_msg_body(m, &blen);
	if (toride_http_msg_title(m, title, sizeof title) == 0 && strlen(title) > TORIDE_HTTP_MAX_TITLE)
		abort();
	(void)toride_http_msg_title(m, title, 7);
	(void)toride_http_msg_has_password_form(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int dir = 0; dir < 2; dir++) {
		struct toride_http_msg *a = NULL, *b = NULL;
		if (toride_http_msg_new(&a, dir) != 0 || toride_http_msg_new(&b, dir) != 0)
			abort();
		size_t ca, cb;
		int ra = run(a, data, size, size, &ca);
		int rb = run(b, data, size, size ? data[0] % (size + 1) : 0, &cb);
		if (ra != rb || (ra == 0 && ca != cb))
			abort(); /* split feeding changed the outcome */
		if (ra == 0 && toride_http_msg_status(a) != toride_http_msg_status(b))
			abort();
		touch(a);
		touch(b);
		toride_http_msg_free(a);
		toride_http_msg_free(b);
	}
	return 0;
}
