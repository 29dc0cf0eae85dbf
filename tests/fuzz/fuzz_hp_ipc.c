/*
 * Fuzz the collector's reading of the sensor's pipe (src/honeypot/ipc.c): a subverted sensor can
 * write any bytes. The input is fed in pieces whose sizes come from its first byte, every frame
 * is parsed the way the collector parses it (file frames split, session and stats frames through
 * the bounded event parser), and the invariants of the frame reader are checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/event.h"
#include "honeypot/hp.h"

static int
on_frame(void *arg, enum hp_frame_type type, const uint8_t *p, size_t n)
{
	(void)arg;
	if (n > HP_FRAME_MAX)
		abort();
	if (type == HP_FRAME_FILE) {
		const char *session, *path;
		const uint8_t *data;
		size_t len;
		if (hp_file_frame_parse(p, n, &session, &path, &data, &len) == 0) {
			if (strlen(session) != 16 || path[0] != '/' || data + len != p + n)
				abort();
		}
	} else {
		json_t *ev = NULL;
		if (toride_event_parse_line((const char *)p, n, &ev) == 0)
			json_decref(ev);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	struct hp_frame_reader r;
	hp_frame_reader_init(&r);
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		int e = hp_frame_feed(&r, data + off, n, on_frame, NULL);
		if (e == TORIDE_EPARSE)
			break;
		if (e != 0)
			abort();
		if (r.buf.len > HP_FRAME_MAX + 8)
			abort();
	}
	hp_frame_reader_free(&r);
	/* What the sensor writes must read back as the same frame. */
	struct toride_buf out;
	toride_buf_init(&out, HP_FRAME_MAX + 64);
	if (hp_frame_put(&out, HP_FRAME_SESSION, data, size) == 0) {
		struct hp_frame_reader r2;
		hp_frame_reader_init(&r2);
		if (hp_frame_feed(&r2, out.data, out.len, on_frame, NULL) != 0 || r2.buf.len != 0)
			abort();
		hp_frame_reader_free(&r2);
	}
	toride_buf_free(&out);
	return 0;
}
