/*
 * Shared harness of the emulated-server fuzz targets (fuzz_emu_*.c): arbitrary client bytes into
 * input() after open(). The first byte picks the credential policy and service options, the
 * second the chunk size, so splits and every policy path are exercised. Checks that output stays
 * within its cap and that a server never returns anything but EMU_CONTINUE, EMU_CLOSE or a
 * negative error.
 */
#ifndef TORIDE_TESTS_FUZZ_EMU_FUZZ_H
#define TORIDE_TESTS_FUZZ_EMU_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "emu/emu.h"

/* Output cap per connection: the fleet's own caps are of this order. */
#define FUZZ_OUT_MAX (256 * 1024)

/* pick: the server and protocol for a selector byte; tweak: protocol-specific service fields
 * (may be NULL). */
static inline int
emu_fuzz_server(const struct emu_server_ops *(*pick)(uint8_t sel, enum emu_proto *proto),
                void (*tweak)(struct emu_service *svc, uint8_t sel), const uint8_t *data, size_t size)
{
	static struct emu_profile prof;
	struct emu_device dev;
	if (size < 2)
		return 0;
	memset(&prof, 0, sizeof(prof));
	memset(&dev, 0, sizeof(dev));
	uint8_t sel = data[0];
	size_t chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	prof.policy = (enum emu_cred_policy)(sel % 5);
	snprintf(prof.user, sizeof(prof.user), "admin");
	snprintf(prof.pass, sizeof(prof.pass), "admin");
	snprintf(prof.product, sizeof(prof.product), "Fuzz Cam");
	prof.nservices = 1;
	struct emu_service *svc = &prof.services[0];
	const struct emu_server_ops *ops = pick(sel, &svc->proto);
	svc->anonymous = (sel & 0x08) != 0;
	svc->http_auth = (enum emu_http_auth)((sel >> 4) & 3);
	snprintf(svc->banner, sizeof(svc->banner), "Welcome\r\nto the device");
	snprintf(svc->realm, sizeof(svc->realm), "Login \"to\" device");
	snprintf(svc->title, sizeof(svc->title), "Fuzz <Cam>");
	snprintf(svc->server, sizeof(svc->server), "Boa/0.94.14rc21");
	snprintf(svc->route, sizeof(svc->route), "/live");
	if (tweak != NULL)
		tweak(svc, sel);

	dev.profile = &prof;
	snprintf(dev.addr_str, sizeof(dev.addr_str), "127.0.0.1");
	snprintf(dev.hostname, sizeof(dev.hostname), "fuzz");
	snprintf(dev.pass, sizeof(dev.pass), "%s", prof.policy == EMU_CRED_UNIQUE ? "Uniq9Pass" : "admin");
	dev.seed = 42;

	struct toride_buf out;
	unsigned delay = 0;
	toride_buf_init(&out, FUZZ_OUT_MAX);
	void *st = ops->open(&dev, svc, &out, &delay);
	if (st == NULL)
		abort();
	for (size_t off = 0; off < size;) {
		size_t n = size - off < chunk ? size - off : chunk;
		toride_buf_reset(&out);
		int r = ops->input(st, data + off, n, &out, &delay);
		if (out.len > FUZZ_OUT_MAX || (r != EMU_CONTINUE && r != EMU_CLOSE && r >= 0))
			abort();
		off += n;
		if (r != EMU_CONTINUE)
			break;
	}
	ops->close(st);
	toride_buf_free(&out);
	return 0;
}

#endif
