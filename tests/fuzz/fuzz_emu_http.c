/* Fuzz the emulated HTTP admin and RTSP servers: see emu_fuzz.h for the harness. */
#include "emu_fuzz.h"

static const struct emu_server_ops *
pick(uint8_t sel, enum emu_proto *proto)
{
	*proto = (sel & 0x40) ? EMU_RTSP : EMU_HTTP;
	return (sel & 0x40) ? &emu_rtsp_server : &emu_http_server;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return emu_fuzz_server(pick, NULL, data, size);
}
