/*
 * MQTT packet builders and parser. See mqtt.h for the contract. Section numbers refer to the
 * OASIS MQTT 3.1.1 standard unless they say 5.0.
 */
#include "proto/mqtt.h"

#include <string.h>

#include "core/error.h"

/* Variable byte integers have at most 4 bytes (2.2.3). */
#define MQTT_VARINT_MAX 4

/* Decode a variable byte integer at p (n bytes available). Returns its size, 0 if more bytes are
 * needed, or -1 if it runs past 4 bytes. */
static int
varint_decode(const uint8_t *p, size_t n, uint32_t *value)
{
	uint32_t v = 0;
	for (size_t i = 0; i < MQTT_VARINT_MAX; i++) {
		if (i >= n)
			return 0;
		v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*value = v;
			return (int)i + 1;
		}
	}
	return -1;
}

static size_t
varint_encode(uint32_t v, uint8_t *out)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		out[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v != 0);
	return n;
}

/* Flags fixed by 2.2.2 (Table 2.2) for every type but PUBLISH; -1 for PUBLISH. */
static int
fixed_flags(uint8_t type)
{
	switch (type) {
	case TORIDE_MQTT_PUBLISH:
		return -1;
	case TORIDE_MQTT_PUBREL:
	case TORIDE_MQTT_SUBSCRIBE:
	case TORIDE_MQTT_UNSUBSCRIBE:
		return 2;
	default:
		return 0;
	}
}

static int
put_string(struct toride_buf *out, const char *s)
{
	size_t n = strlen(s);
	uint8_t len[2] = { (uint8_t)(n >> 8), (uint8_t)n };
	int r = toride_buf_append(out, len, 2);
	return r != 0 ? r : toride_buf_append(out, s, n);
}

int
toride_mqtt_build_connect(struct toride_buf *out, const char *client_id, const char *user, const char *pass,
                          uint16_t keepalive)
{
	size_t start = out->len;
	uint8_t hdr[1 + MQTT_VARINT_MAX];
	size_t remaining, hl;
	int r;

	if (client_id == NULL)
		client_id = "";
	if (pass != NULL && user == NULL)
		return TORIDE_EINVAL; /* 3.1.2.9: password flag needs the user name flag */
	if (strlen(client_id) > UINT16_MAX || (user != NULL && strlen(user) > UINT16_MAX) ||
	    (pass != NULL && strlen(pass) > UINT16_MAX))
		return TORIDE_EINVAL;
	remaining = 10 + 2 + strlen(client_id);
	if (user != NULL)
		remaining += 2 + strlen(user);
	if (pass != NULL)
		remaining += 2 + strlen(pass);

	hdr[0] = TORIDE_MQTT_CONNECT << 4;
	hl = 1 + varint_encode((uint32_t)remaining, hdr + 1);
	uint8_t flags = 0x02; /* clean session */
	if (user != NULL)
		flags |= 0x80;
	if (pass != NULL)
		flags |= 0x40;
	const uint8_t vh[10] = { 0, 4, 'M', 'Q', 'T', 'T', 4, flags, (uint8_t)(keepalive >> 8), (uint8_t)keepalive };

	r = toride_buf_append(out, hdr, hl);
	if (r == 0)
		r = toride_buf_append(out, vh, sizeof(vh));
	if (r == 0)
		r = put_string(out, client_id);
	if (r == 0 && user != NULL)
		r = put_string(out, user);
	if (r == 0 && pass != NULL)
		r = put_string(out, pass);
	if (r != 0)
		out->len = start;
	return r;
}

int
toride_mqtt_build_disconnect(struct toride_buf *out)
{
	static const uint8_t pkt[2] = { TORIDE_MQTT_DISCONNECT << 4, 0 };
	return toride_buf_append(out, pkt, sizeof(pkt));
}

int
toride_mqtt_build_connack(struct toride_buf *out, bool session_present, uint8_t rc)
{
	const uint8_t pkt[4] = { TORIDE_MQTT_CONNACK << 4, 2, session_present ? 1 : 0, rc };
	return toride_buf_append(out, pkt, sizeof(pkt));
}

/* Bounded reader over a packet body. */
struct rd {
	const uint8_t *p;
	size_t n;
	size_t off;
};

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->n - r->off < 1)
		return TORIDE_EPARSE;
	*v = r->p[r->off++];
	return 0;
}

static int
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->n - r->off < 2)
		return TORIDE_EPARSE;
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}

/* A length-prefixed string or binary (1.5.3); copied into dst (cut to fit) when dst != NULL. */
static int
rd_string(struct rd *r, char *dst, size_t dstlen, bool *trunc)
{
	uint16_t n;
	if (rd_u16(r, &n) != 0 || r->n - r->off < n)
		return TORIDE_EPARSE;
	if (dst != NULL) {
		size_t k = n < dstlen - 1 ? n : dstlen - 1;
		if (k < n)
			*trunc = true;
		memcpy(dst, r->p + r->off, k);
		dst[k] = '\0';
	}
	r->off += n;
	return 0;
}

/* Skip MQTT 5.0 properties (a varint length and that many bytes). */
static int
rd_skip_props(struct rd *r)
{
	uint32_t plen;
	int k = varint_decode(r->p + r->off, r->n - r->off, &plen);
	if (k <= 0)
		return TORIDE_EPARSE;
	r->off += (size_t)k;
	if (r->n - r->off < plen)
		return TORIDE_EPARSE;
	r->off += plen;
	return 0;
}

static int
parse_connect(struct rd *r, struct toride_mqtt_packet *pkt)
{
	char name[8];
	bool trunc = false;
	uint8_t level, flags;

	if (rd_string(r, name, sizeof(name), &trunc) != 0 || trunc)
		return TORIDE_EPARSE;
	if (rd_u8(r, &level) != 0 || rd_u8(r, &flags) != 0 || rd_u16(r, &pkt->keepalive) != 0)
		return TORIDE_EPARSE;
	/* 3.1.2.1-2: "MQTT" for 3.1.1 and 5.0, "MQIsdp" for 3.1. */
	if (!((strcmp(name, "MQTT") == 0 && (level == 4 || level == 5)) || (strcmp(name, "MQIsdp") == 0 && level == 3)))
		return TORIDE_EPARSE;
	if ((flags & 0x01) != 0 || ((flags >> 3) & 3) == 3)
		return TORIDE_EPARSE; /* reserved bit (3.1.2.3), will QoS 3 */
	pkt->protocol_level = level;
	if (level == 5 && rd_skip_props(r) != 0)
		return TORIDE_EPARSE;
	if (rd_string(r, pkt->client_id, sizeof(pkt->client_id), &pkt->fields_truncated) != 0)
		return TORIDE_EPARSE;
	if (flags & 0x04) { /* will flag */
		if ((level == 5 && rd_skip_props(r) != 0) || rd_string(r, NULL, 0, NULL) != 0 ||
		    rd_string(r, NULL, 0, NULL) != 0)
			return TORIDE_EPARSE;
	}
	if (flags & 0x80) {
		if (rd_string(r, pkt->user, sizeof(pkt->user), &pkt->fields_truncated) != 0)
			return TORIDE_EPARSE;
		pkt->has_user = true;
	}
	if (flags & 0x40) {
		/* A password without a user name is a 3.1.1 violation, but it is evidence: keep it. */
		if (rd_string(r, pkt->pass, sizeof(pkt->pass), &pkt->fields_truncated) != 0)
			return TORIDE_EPARSE;
		pkt->has_pass = true;
	}
	return r->off == r->n ? 0 : TORIDE_EPARSE;
}

static int
parse_connack(struct rd *r, struct toride_mqtt_packet *pkt)
{
	uint8_t ack, rc;
	if (rd_u8(r, &ack) != 0 || rd_u8(r, &rc) != 0 || (ack & 0xfe) != 0)
		return TORIDE_EPARSE;
	pkt->session_present = ack & 1;
	pkt->connack_rc = rc;
	/* 3.1.1 ends here; 5.0 adds properties (3.2.2.3 of 5.0) that must fill the rest exactly. */
	if (r->off < r->n && (rd_skip_props(r) != 0 || r->off != r->n))
		return TORIDE_EPARSE;
	return 0;
}

int
toride_mqtt_parse(const uint8_t *data, size_t len, size_t *consumed, struct toride_mqtt_packet *pkt)
{
	uint32_t remaining = 0;
	int k, ff;

	*consumed = 0;
	memset(pkt, 0, sizeof(*pkt));
	pkt->connack_rc = -1;
	if (len < 1)
		return TORIDE_EINCOMPLETE;
	pkt->type = data[0] >> 4;
	pkt->flags = data[0] & 0x0f;
	ff = fixed_flags(pkt->type);
	if (pkt->type == 0 || (ff >= 0 && pkt->flags != ff) ||
	    (pkt->type == TORIDE_MQTT_PUBLISH && ((pkt->flags >> 1) & 3) == 3))
		return TORIDE_EPARSE;
	k = varint_decode(data + 1, len - 1, &remaining);
	if (k < 0)
		return TORIDE_EPARSE;
	if (k == 0)
		return TORIDE_EINCOMPLETE;
	if (remaining > TORIDE_MQTT_MAX_PACKET)
		return TORIDE_ETOOBIG;
	if (len - 1 - (size_t)k < remaining)
		return TORIDE_EINCOMPLETE;
	pkt->remaining = remaining;
	pkt->body = data + 1 + k;

	struct rd r = { .p = pkt->body, .n = remaining };
	int rc = 0;
	if (pkt->type == TORIDE_MQTT_CONNECT)
		rc = parse_connect(&r, pkt);
	else if (pkt->type == TORIDE_MQTT_CONNACK)
		rc = parse_connack(&r, pkt);
	if (rc != 0)
		return rc;
	*consumed = 1 + (size_t)k + remaining;
	return 0;
}

bool
toride_mqtt_rc_is_auth_failure(int rc)
{
	return rc == TORIDE_MQTT_RC_BAD_USER_PASS || rc == TORIDE_MQTT_RC_NOT_AUTHORIZED ||
	       rc == TORIDE_MQTT_RC5_BAD_USER_PASS || rc == TORIDE_MQTT_RC5_NOT_AUTHORIZED;
}
