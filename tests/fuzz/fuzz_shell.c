/*
 * Fuzz target: hostile shell sessions. The input is split at '\n' into command lines run in
 * order against one emulated device's shell (byte 0 picks the CPU, so every /proc and ELF
 * variant is reached). Must never crash, hang, or grow past the shell's caps; the filesystem
 * caps are checked after every line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "emu/emu.h"
#include "emu/shell.h"

/* The shell caps one line's output at EMU_SHELL_OUT_MAX; "\r\n" can double it. */
#define FUZZ_OUT_MAX (2u * EMU_SHELL_OUT_MAX + 64u)
/* Lines per input: enough to build files, loops and nested shells, quick per run. */
#define FUZZ_LINES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_event(void *arg, const char *kind, const char *detail)
{
	size_t *n = arg;
	*n += strlen(kind) + strlen(detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const arch[] = { "armv7l", "armv6l", "armv5tejl", "mips", "mipsel", "x86_64",
		                            "i686", "aarch64", "powerpc", "sh4", "" };
	if (size < 1)
		return 0;
	static struct emu_profile prof;
	static struct emu_device dev;
	memset(&prof, 0, sizeof(prof));
	memset(&dev, 0, sizeof(dev));
	const char *a = arch[data[0] % (sizeof(arch) / sizeof(arch[0]))];
	snprintf(prof.arch, sizeof(prof.arch), "%s", a);
	if (data[0] & 0x80)
		snprintf(prof.busybox, sizeof(prof.busybox), "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	snprintf(prof.uname, sizeof(prof.uname), "Linux dvr 3.10.0 #1 SMP %s GNU/Linux", a);
	prof.nservices = 1;
	prof.services[0].proto = EMU_TELNET;
	snprintf(prof.services[0].shell_prompt, sizeof(prof.services[0].shell_prompt), "%s", "%h:%w%% ");
	dev.profile = &prof;
	snprintf(dev.hostname, sizeof(dev.hostname), "fuzz");
	dev.seed = data[0];
	dev.boot_time = 1;

	struct emu_shell *sh = NULL;
	if (emu_shell_new(&sh, &dev) != 0)
		return 0;
	size_t nev = 0;
	emu_shell_set_event_cb(sh, on_event, &nev);
	struct toride_buf out;
	toride_buf_init(&out, FUZZ_OUT_MAX);
	char *line = malloc(size + 1);
	if (line == NULL)
		goto out;
	size_t off = 1;
	for (unsigned k = 0; off < size && k < FUZZ_LINES_MAX; k++) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl != NULL ? (size_t)(nl - (data + off)) : size - off;
		memcpy(line, data + off, n);
		line[n] = '\0';
		off += n + 1;
		toride_buf_reset(&out);
		int r = emu_shell_exec(sh, line, &out);
		if (r < 0 || r == EMU_CLOSE)
			break;
		char prompt[64];
		emu_shell_prompt(sh, prompt, sizeof(prompt));
		const uint8_t *d;
		size_t dl;
		if (emu_shell_read_file(sh, "/tmp/x", &d, &dl) == 0 && dl > EMU_SHELL_FS_BYTES)
			abort();
	}
out:
	free(line);
	toride_buf_free(&out);
	emu_shell_free(sh);
	return 0;
}
