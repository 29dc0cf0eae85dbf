/*
 * Fuzz the FTP reply parser over a stream of replies. Checks the contract: a reply's code is
 * 100..599, consumed lies inside the input, text is NUL-terminated within its buffer, and any
 * prefix of a parsed reply that ends before its final line is incomplete rather than an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/ftp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[512];
	size_t off = 0;
	while (off < size) {
		size_t used = 0;
		int code = 0;
		int r = toride_ftp_parse_reply(data + off, size - off, &used, &code, text, sizeof text);
		if (r != 0) {
			if (used != 0)
				abort();
			break;
		}
		if (used == 0 || used > size - off || code < 100 || code > 599 || strlen(text) >= sizeof text)
			abort();
		/* Cutting off the final LF must make it incomplete. */
		r = toride_ftp_parse_reply(data + off, used - 1, &used, &code, NULL, 0);
		if (r != TORIDE_EINCOMPLETE)
			abort();
		r = toride_ftp_parse_reply(data + off, size - off, &used, &code, text, 3);
		if (r != 0 || strlen(text) > 2)
			abort();
		off += used;
	}
	return 0;
}
