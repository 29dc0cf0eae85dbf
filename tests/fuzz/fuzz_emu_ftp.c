/* Fuzz the emulated FTP server: see emu_fuzz.h for the harness. */
#include "emu_fuzz.h"

static const struct emu_server_ops *
pick(uint8_t sel, enum emu_proto *proto)
{
	(void)sel;
	*proto = EMU_FTP;
	return &emu_ftp_server;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return emu_fuzz_server(pick, NULL, data, size);
}
