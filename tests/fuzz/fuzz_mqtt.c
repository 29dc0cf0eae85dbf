/*
 * Fuzz the MQTT packet parser over a stream: parse packet after packet until the bytes run out or
 * are refused. Checks that consumed packets lie inside the input and that CONNECT strings are
 * NUL-terminated within their fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/mqtt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct toride_mqtt_packet pkt;
		size_t used = 0;
		int r = toride_mqtt_parse(data + off, size - off, &used, &pkt);
		if (r != 0) {
			if (used != 0)
				abort();
			break;
		}
		if (used == 0 || used > size - off || pkt.body + pkt.remaining != data + off + used)
			abort();
		if (strnlen(pkt.client_id, sizeof pkt.client_id) == sizeof pkt.client_id ||
		    strnlen(pkt.user, sizeof pkt.user) == sizeof pkt.user ||
		    strnlen(pkt.pass, sizeof pkt.pass) == sizeof pkt.pass)
			abort();
		(void)toride_mqtt_rc_is_auth_failure(pkt.connack_rc);
		off += used;
	}
	return 0;
}
