/*
 * MQTT 3.1.1 (OASIS, protocol level 4) packets, sans-IO: CONNECT/DISCONNECT/CONNACK builders and a
 * parser for any control packet that decodes CONNECT (levels 3, 4, 5) and CONNACK (3.1.1 and 5.0).
 */
#ifndef TORIDE_PROTO_MQTT_H
#define TORIDE_PROTO_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Largest remaining length we accept: a survey only sees CONNECT/CONNACK (tens of bytes) and a
 * few small packets; 64 KiB also fits a retained status message a broker may push. */
#define TORIDE_MQTT_MAX_PACKET (64 * 1024)

/* Control packet types (MQTT 3.1.1 2.2.1). */
enum toride_mqtt_type {
	TORIDE_MQTT_CONNECT = 1,
	TORIDE_MQTT_CONNACK = 2,
	TORIDE_MQTT_PUBLISH = 3,
	TORIDE_MQTT_PUBACK = 4,
	TORIDE_MQTT_PUBREC = 5,
	TORIDE_MQTT_PUBREL = 6,
	TORIDE_MQTT_PUBCOMP = 7,
	TORIDE_MQTT_SUBSCRIBE = 8,
	TORIDE_MQTT_SUBACK = 9,
	TORIDE_MQTT_UNSUBSCRIBE = 10,
	TORIDE_MQTT_UNSUBACK = 11,
	TORIDE_MQTT_PINGREQ = 12,
	TORIDE_MQTT_PINGRESP = 13,
	TORIDE_MQTT_DISCONNECT = 14,
	TORIDE_MQTT_AUTH = 15, /* MQTT 5.0 only */
};

/* CONNACK return codes: 3.1.1 3.2.2.3 and the 5.0 reason codes that mean the same. */
#define TORIDE_MQTT_RC_ACCEPTED 0x00
#define TORIDE_MQTT_RC_BAD_USER_PASS 0x04   /* 3.1.1: bad user name or password */
#define TORIDE_MQTT_RC_NOT_AUTHORIZED 0x05  /* 3.1.1: not authorised */
#define TORIDE_MQTT_RC5_BAD_USER_PASS 0x86  /* 5.0: bad user name or password */
#define TORIDE_MQTT_RC5_NOT_AUTHORIZED 0x87 /* 5.0: not authorized */

struct toride_mqtt_packet {
	uint8_t type, flags;
	uint32_t remaining;
	const uint8_t *body;   /* remaining bytes after the fixed header, inside the caller's data */
	int connack_rc;        /* CONNACK return/reason code, else -1 */
	bool session_present;  /* CONNACK */
	/* CONNECT fields for the detector/emulator (NUL-terminated, cut to fit): */
	char client_id[128];
	char user[128];
	char pass[128];
	bool has_user, has_pass;
	uint8_t protocol_level; /* 3 (MQIsdp), 4 (3.1.1), 5 (5.0) */
	uint16_t keepalive;
	bool fields_truncated;  /* a CONNECT string did not fit its field */
};

/* Append a CONNECT packet: protocol "MQTT" level 4, clean session, keepalive in seconds,
 * client_id (NULL means ""), user and pass (NULL: not sent; a password needs a user name in
 * 3.1.1). Returns 0, TORIDE_EINVAL (pass without user, a string over 65535 bytes), or a
 * toride_buf error (out unchanged then). */
int toride_mqtt_build_connect(struct toride_buf *out, const char *client_id, const char *user, const char *pass,
                              uint16_t keepalive);
/* Append a DISCONNECT packet (0xE0 0x00). */
int toride_mqtt_build_disconnect(struct toride_buf *out);
/* Append a 3.1.1 CONNACK with the given flag and return code (for the device emulator). */
int toride_mqtt_build_connack(struct toride_buf *out, bool session_present, uint8_t rc);

/* Parse the first control packet in data. Returns 0 with *pkt filled and *consumed = its length;
 * TORIDE_EINCOMPLETE (needs more bytes; *consumed 0); TORIDE_EPARSE (reserved type 0, flag bits
 * the spec fixes are wrong, a remaining length over 4 bytes, or a malformed CONNECT/CONNACK);
 * TORIDE_ETOOBIG (remaining length over TORIDE_MQTT_MAX_PACKET). The CONNACK return code is the
 * second byte for 3.1.1 and the reason code for 5.0 (properties are checked for length). */
int toride_mqtt_parse(const uint8_t *data, size_t len, size_t *consumed, struct toride_mqtt_packet *pkt);
/* True if a CONNACK code says the credentials were refused (3.1.1 4 or 5, 5.0 0x86 or 0x87). */
bool toride_mqtt_rc_is_auth_failure(int rc);

#endif
