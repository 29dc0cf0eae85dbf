/*
 * Emulated MQTT 3.1.1 broker (sans-IO): CONNECT with or without credentials, CONNACK, then
 * PINGREQ/PINGRESP, SUBACK for subscriptions, PUBACK for QoS 1 publishes, DISCONNECT. Nothing
 * is stored or forwarded: the emulator only has to look like the device's broker to a client.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "emu/emu.h"
#include "proto/mqtt.h"

/* Input kept while a packet is incomplete: one packet of the largest size the parser accepts
 * plus its fixed header (1 type byte + up to 4 length bytes). */
#define EMU_MQTT_MAX_INPUT (TORIDE_MQTT_MAX_PACKET + 5)
/* Topic filters answered in one SUBACK: mosquitto_sub sends one per -t; 64 covers any real
 * client and bounds the reply to a hostile SUBSCRIBE. */
#define EMU_MQTT_MAX_FILTERS 64
/* CONNACK return code 1 (3.1.1 3.2.2.3): unacceptable protocol level. */
#define EMU_MQTT_RC_BAD_PROTOCOL 0x01

struct mqtt_srv {
	const struct emu_device *dev;
	const struct emu_service *svc;
	struct toride_buf in;
	bool connected;
};

static void *
mqtt_open(const struct emu_device *dev, const struct emu_service *svc, struct toride_buf *out, unsigned *delay_ms)
{
	(void)out;
	(void)delay_ms;
	struct mqtt_srv *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->dev = dev;
	s->svc = svc;
	toride_buf_init(&s->in, EMU_MQTT_MAX_INPUT);
	return s; /* a broker says nothing until CONNECT */
}

/* Credentials checked against the device's policy. A forced-change device whose factory password
 * was never changed has no usable account on a protocol that cannot ask for a new password. */
static bool
mqtt_login_ok(const struct emu_device *dev, const struct toride_mqtt_packet *p)
{
	if (!p->has_user || p->fields_truncated)
		return false;
	if (dev->profile->policy == EMU_CRED_FORCED_CHANGE && !dev->pass_changed)
		return false;
	return emu_device_check_login(dev, p->user, p->has_pass ? p->pass : "");
}

static int
mqtt_connect(struct mqtt_srv *s, const struct toride_mqtt_packet *p, struct toride_buf *out)
{
	int r;
	if (p->protocol_level != 3 && p->protocol_level != 4) {
		/* A 3.1.1 broker answers an MQTT 5 CONNECT with the 3.1.1 refusal and hangs up. */
		r = toride_mqtt_build_connack(out, false, EMU_MQTT_RC_BAD_PROTOCOL);
		return r != 0 ? r : EMU_CLOSE;
	}
	bool open = s->svc->anonymous || s->dev->profile->policy == EMU_CRED_NO_AUTH;
	uint8_t rc;
	if (open)
		rc = TORIDE_MQTT_RC_ACCEPTED; /* allow_anonymous without a password file takes anything */
	else if (!p->has_user)
		rc = TORIDE_MQTT_RC_NOT_AUTHORIZED;
	else
		rc = mqtt_login_ok(s->dev, p) ? TORIDE_MQTT_RC_ACCEPTED : TORIDE_MQTT_RC_BAD_USER_PASS;
	r = toride_mqtt_build_connack(out, false, rc);
	if (r != 0)
		return r;
	if (rc != TORIDE_MQTT_RC_ACCEPTED)
		return EMU_CLOSE;
	s->connected = true;
	return EMU_CONTINUE;
}

/* SUBACK granting QoS 0 to each topic filter of a SUBSCRIBE body. */
static int
mqtt_suback(const struct toride_mqtt_packet *p, struct toride_buf *out)
{
	if (p->remaining < 2)
		return TORIDE_EPROTO;
	size_t nf = 0;
	size_t off = 2;
	while (off < p->remaining) {
		if (p->remaining - off < 2)
			return TORIDE_EPROTO;
		size_t tl = ((size_t)p->body[off] << 8) | p->body[off + 1];
		if (tl > p->remaining - off - 2 || p->remaining - off - 2 - tl < 1)
			return TORIDE_EPROTO;
		off += 2 + tl + 1;
		if (++nf > EMU_MQTT_MAX_FILTERS)
			return TORIDE_ETOOBIG;
	}
	if (nf == 0)
		return TORIDE_EPROTO; /* 3.1.1 3.8.3: at least one filter */
	uint8_t hdr[4] = { 0x90, (uint8_t)(2 + nf), p->body[0], p->body[1] };
	int r = toride_buf_append(out, hdr, sizeof(hdr));
	for (size_t i = 0; r == 0 && i < nf; i++)
		r = toride_buf_append(out, "\0", 1);
	return r;
}

/* PUBACK for a QoS 1 PUBLISH: the packet id follows the topic name. */
static int
mqtt_puback(const struct toride_mqtt_packet *p, struct toride_buf *out)
{
	unsigned qos = (p->flags >> 1) & 3u;
	if (qos == 0)
		return 0;
	if (p->remaining < 2)
		return TORIDE_EPROTO;
	size_t tl = ((size_t)p->body[0] << 8) | p->body[1];
	if (tl > p->remaining - 2 || p->remaining - 2 - tl < 2)
		return TORIDE_EPROTO;
	const uint8_t *id = p->body + 2 + tl;
	/* QoS 2 gets PUBREC; the client's PUBREL is then answered with PUBCOMP below. */
	uint8_t ack[4] = { qos == 1 ? 0x40 : 0x50, 0x02, id[0], id[1] };
	return toride_buf_append(out, ack, sizeof(ack));
}

static int
mqtt_packet(struct mqtt_srv *s, const struct toride_mqtt_packet *p, struct toride_buf *out)
{
	if (!s->connected) {
		if (p->type != TORIDE_MQTT_CONNECT)
			return TORIDE_EPROTO; /* 3.1.1 3.1: the first packet must be CONNECT */
		return mqtt_connect(s, p, out);
	}
	switch (p->type) {
	case TORIDE_MQTT_PINGREQ: {
		static const uint8_t resp[2] = { 0xD0, 0x00 };
		return toride_buf_append(out, resp, sizeof(resp));
	}
	case TORIDE_MQTT_DISCONNECT:
		return EMU_CLOSE;
	case TORIDE_MQTT_CONNECT:
		return TORIDE_EPROTO; /* 3.1.1 3.1.0: a second CONNECT is a violation */
	case TORIDE_MQTT_SUBSCRIBE:
		return mqtt_suback(p, out);
	case TORIDE_MQTT_UNSUBSCRIBE: {
		if (p->remaining < 2)
			return TORIDE_EPROTO;
		uint8_t ack[4] = { 0xB0, 0x02, p->body[0], p->body[1] };
		return toride_buf_append(out, ack, sizeof(ack));
	}
	case TORIDE_MQTT_PUBLISH:
		return mqtt_puback(p, out);
	case TORIDE_MQTT_PUBREL: {
		if (p->remaining < 2)
			return TORIDE_EPROTO;
		uint8_t comp[4] = { 0x70, 0x02, p->body[0], p->body[1] };
		return toride_buf_append(out, comp, sizeof(comp));
	}
	default:
		return EMU_CONTINUE; /* ignored: acks a broker never waits for */
	}
}

static int
mqtt_input(void *st, const uint8_t *in, size_t n, struct toride_buf *out, unsigned *delay_ms)
{
	struct mqtt_srv *s = st;
	(void)delay_ms;
	int r = toride_buf_append(&s->in, in, n);
	if (r != 0)
		return r;
	size_t off = 0;
	int ret = EMU_CONTINUE;
	while (off < s->in.len) {
		struct toride_mqtt_packet p;
		size_t used = 0;
		r = toride_mqtt_parse(s->in.data + off, s->in.len - off, &used, &p);
		if (r == TORIDE_EINCOMPLETE)
			break;
		if (r != 0)
			return r;
		off += used;
		r = mqtt_packet(s, &p, out);
		if (r < 0)
			return r;
		if (r == EMU_CLOSE) {
			ret = EMU_CLOSE;
			break;
		}
	}
	toride_buf_consume(&s->in, off);
	return ret;
}

static void
mqtt_close(void *st)
{
	struct mqtt_srv *s = st;
	if (s == NULL)
		return;
	toride_buf_free(&s->in);
	free(s);
}

const struct emu_server_ops emu_mqtt_server = {
	.proto = EMU_MQTT,
	.open = mqtt_open,
	.input = mqtt_input,
	.close = mqtt_close,
};
