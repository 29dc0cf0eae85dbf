/* Fuzz the emulated telnet login server: see emu_fuzz.h for the harness. */
#include "emu_fuzz.h"

static const struct emu_server_ops *
pick(uint8_t sel, enum emu_proto *proto)
{
	(void)sel;
	*proto = EMU_TELNET;
	return &emu_telnet_server;
}

static void
tweak(struct emu_service *svc, uint8_t sel)
{
	svc->negotiate = (sel & 0x40) != 0;
	snprintf(svc->login_prompt, sizeof(svc->login_prompt), (sel & 0x80) ? "" : "login: ");
	snprintf(svc->password_prompt, sizeof(svc->password_prompt), "Password: ");
	snprintf(svc->shell_prompt, sizeof(svc->shell_prompt), "%%h:%%w# ");
	svc->max_tries = 3;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return emu_fuzz_server(pick, tweak, data, size);
}
