/*
 * MQTT checks. JP-34-10-1: the broker accepts a CONNECT without user name and password
 * (CONNACK 0). JP-34-10-2: a listed pair gets CONNACK 0 where the anonymous CONNECT was refused
 * with "bad user name or password" / "not authorised". One CONNECT per connection: brokers close
 * after a refusal (MQTT 3.1.1 section 3.2.2.3).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/mqtt.h"
#include "survey/engine.h"

/* Why 256 bytes: a CONNACK is 4 bytes (3.1.1) or a few dozen (5.0 with properties). */
#define MQTT_ACK_MAX 256

struct mq {
	bool ident;
	const struct toride_cred *cred;
	uint8_t buf[MQTT_ACK_MAX];
	size_t len;
};

static void
mq_free(struct conv *c)
{
	free(c->mod);
	c->mod = NULL;
}

static void
mq_send_connect(struct conv *c)
{
	struct mq *m = c->mod;
	struct toride_buf b;
	char id[24];
	memcpy(id, "toride-", 7);
	random_hex(id + 7, 12);
	toride_buf_init(&b, 1024);
	int r = toride_mqtt_build_connect(&b, id, m->cred ? m->cred->user : NULL, m->cred ? m->cred->pass : NULL, 30);
	if (r == 0)
		conv_write(c, b.data, b.len);
	toride_buf_free(&b);
	if (r != 0) {
		c->svc->inconclusive = true;
		conv_close(c);
		return;
	}
	conv_set_timeout(c, survey_config(conv_survey(c))->read_timeout_ms);
}

static void
mq_disconnect(struct conv *c)
{
	struct toride_buf b;
	toride_buf_init(&b, 16);
	if (toride_mqtt_build_disconnect(&b) == 0)
		conv_write(c, b.data, b.len);
	toride_buf_free(&b);
}

static void
mq_on_data(struct conv *c, const uint8_t *p, size_t n)
{
	struct mq *m = c->mod;
	struct service *svc = c->svc;
	size_t room = sizeof m->buf - m->len;
	if (n > room)
		n = room;
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	struct toride_mqtt_packet pkt;
	size_t used = 0;
	int r = toride_mqtt_parse(m->buf, m->len, &used, &pkt);
	if (r == TORIDE_EINCOMPLETE && m->len < sizeof m->buf)
		return;
	if (r != 0 || pkt.type != 2) {
		if (m->ident)
			svc_identified(svc, PROTO_UNKNOWN, (const char *)m->buf, m->len);
		svc->inconclusive = true;
		conv_close(c);
		return;
	}
	if (m->ident) {
		svc_identified(svc, PROTO_MQTT, (const char *)m->buf, m->len);
		svc_detail(svc, "mqtt_connack_anonymous", json_integer(pkt.connack_rc));
		if (pkt.connack_rc == TORIDE_MQTT_RC_ACCEPTED) {
			svc->noauth_fail = true;
			svc_finding(svc, "JP-34-10-1", VERDICT_FAIL, "strong",
			            "MQTT broker accepts clients without user name and password", NULL, c, NULL,
			            "CONNECT without credentials answered CONNACK 0 (accepted)");
			mq_disconnect(c);
		} else if (toride_mqtt_rc_is_auth_failure(pkt.connack_rc)) {
			svc->needs_auth = true;
		} else {
			snprintf(svc->unknown_note, sizeof svc->unknown_note, "anonymous CONNECT refused with code %d",
			         pkt.connack_rc);
		}
		conv_close(c);
		return;
	}
	if (pkt.connack_rc == TORIDE_MQTT_RC_ACCEPTED) {
		svc->found_cred = true;
		svc_login_attempt(svc, m->cred, "accepted", "CONNACK 0");
		svc_finding(svc, "JP-34-10-2", VERDICT_FAIL, "strong", "MQTT broker accepts a default credential", m->cred,
		            c, NULL, "CONNECT with the credential answered CONNACK 0; without it the broker refused");
		mq_disconnect(c);
	} else {
		svc_login_attempt(svc, m->cred, "rejected", toride_mqtt_rc_is_auth_failure(pkt.connack_rc)
		                                                ? "bad user name or password"
		                                                : "refused");
	}
	m->cred = NULL;
	conv_close(c);
}

static void
mq_on_timeout(struct conv *c)
{
	struct mq *m = c->mod;
	if (m->cred != NULL)
		svc_login_attempt(c->svc, m->cred, "error", "timeout");
	if (m->ident)
		svc_identified(c->svc, PROTO_UNKNOWN, NULL, 0);
	c->svc->inconclusive = true;
	conv_close(c);
}

static void
mq_on_eof(struct conv *c)
{
	struct mq *m = c->mod;
	if (m->cred != NULL && !service_retry_cred(c->svc, m->cred)) {
		svc_login_attempt(c->svc, m->cred, "error", "connection closed without CONNACK");
		c->svc->inconclusive = true;
	}
	conv_close(c);
}

static void
mq_on_connect(struct conv *c)
{
	struct mq *m = c->mod;
	struct service *svc = c->svc;
	if (!service_may_attempt(svc) || (m->cred = service_next_cred(svc)) == NULL) {
		conv_close(c);
		return;
	}
	service_count_attempt(svc);
	mq_send_connect(c);
}

const struct conv_ops mqtt_ops = {
	.name = "mqtt",
	.on_connect = mq_on_connect,
	.on_data = mq_on_data,
	.on_timeout = mq_on_timeout,
	.on_eof = mq_on_eof,
	.on_free = mq_free,
};

void
mqtt_take_over(struct conv *c, const uint8_t *p, size_t n)
{
	struct mq *m = calloc(1, sizeof *m);
	if (m == NULL) {
		conv_close(c);
		return;
	}
	m->ident = true;
	conv_switch(c, &mqtt_ops, m);
	c->svc->proto = PROTO_MQTT;
	mq_on_data(c, p, n);
}

void
mqtt_next(struct service *svc)
{
	if (!service_ready_for_login(svc))
		return;
	struct mq *m = calloc(1, sizeof *m);
	if (m == NULL)
		return;
	if (service_conv_start(svc, &mqtt_ops, m, true) == NULL)
		free(m);
}
