/*
 * Frames from the sensor to the collector (hp.h). The collector does not trust the sensor: a
 * sensor that a client managed to subvert can send anything down the pipe, so every frame is
 * length-checked before it is buffered and every payload is parsed again by the collector.
 */
#include <string.h>

#include "core/error.h"
#include "honeypot/hp.h"

#define FRAME_HDR 8

int
hp_frame_put(struct toride_buf *out, enum hp_frame_type type, const void *payload, size_t len)
{
	if (len > HP_FRAME_MAX)
		return TORIDE_ETOOBIG;
	uint8_t h[FRAME_HDR] = {'T', 'H', (uint8_t)(type & 0xff), (uint8_t)(type >> 8), (uint8_t)(len & 0xff),
	                        (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
	size_t before = out->len;
	int r = toride_buf_append(out, h, sizeof h);
	if (r == 0 && len > 0)
		r = toride_buf_append(out, payload, len);
	if (r != 0)
		out->len = before; /* all or nothing */
	return r;
}

void
hp_frame_reader_init(struct hp_frame_reader *r)
{
	toride_buf_init(&r->buf, HP_FRAME_MAX + FRAME_HDR);
}

void
hp_frame_reader_free(struct hp_frame_reader *r)
{
	toride_buf_free(&r->buf);
}

static bool
known_type(unsigned t)
{
	return t == HP_FRAME_SESSION || t == HP_FRAME_FILE || t == HP_FRAME_STATS;
}

int
hp_frame_feed(struct hp_frame_reader *r, const uint8_t *p, size_t n, hp_frame_cb cb, void *arg)
{
	while (n > 0) {
		/* Take only what completes the header or the current frame: the buffer never holds
		 * more than one frame. */
		size_t want = FRAME_HDR;
		if (r->buf.len >= FRAME_HDR) {
			const uint8_t *h = r->buf.data;
			want = FRAME_HDR + ((size_t)h[4] | (size_t)h[5] << 8 | (size_t)h[6] << 16 | (size_t)h[7] << 24);
		}
		size_t take = want - r->buf.len < n ? want - r->buf.len : n;
		int e = toride_buf_append(&r->buf, p, take);
		if (e != 0)
			return e;
		p += take;
		n -= take;
		if (r->buf.len < FRAME_HDR)
			continue;
		const uint8_t *h = r->buf.data;
		unsigned type = (unsigned)h[2] | (unsigned)h[3] << 8;
		size_t len = (size_t)h[4] | (size_t)h[5] << 8 | (size_t)h[6] << 16 | (size_t)h[7] << 24;
		if (h[0] != 'T' || h[1] != 'H' || !known_type(type) || len > HP_FRAME_MAX)
			return TORIDE_EPARSE;
		if (r->buf.len < FRAME_HDR + len)
			continue;
		e = cb(arg, (enum hp_frame_type)type, r->buf.data + FRAME_HDR, len);
		toride_buf_reset(&r->buf);
		if (e != 0)
			return e;
	}
	return 0;
}

int
hp_file_frame_parse(const uint8_t *payload, size_t len, const char **session, const char **path,
                    const uint8_t **data, size_t *datalen)
{
	const uint8_t *z1 = memchr(payload, '\0', len);
	if (z1 == NULL)
		return TORIDE_EPARSE;
	const uint8_t *z2 = memchr(z1 + 1, '\0', len - (size_t)(z1 + 1 - payload));
	if (z2 == NULL)
		return TORIDE_EPARSE;
	size_t slen = (size_t)(z1 - payload);
	if (slen != 16)
		return TORIDE_EPARSE;
	for (size_t i = 0; i < slen; i++)
		if (!((payload[i] >= '0' && payload[i] <= '9') || (payload[i] >= 'a' && payload[i] <= 'f')))
			return TORIDE_EPARSE;
	if (z2 == z1 + 1 || z1[1] != '/')
		return TORIDE_EPARSE; /* a path is absolute and not empty */
	*session = (const char *)payload;
	*path = (const char *)(z1 + 1);
	*data = z2 + 1;
	*datalen = len - (size_t)(z2 + 1 - payload);
	return 0;
}
