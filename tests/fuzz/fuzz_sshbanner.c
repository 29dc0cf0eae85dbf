/*
 * Fuzz the SSH identification line parser and the field splitter. Checks the contract: consumed
 * lies inside the input and ends with LF, the line fits the RFC 4253 bound, and the fields split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/sshbanner.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[TORIDE_SSH_MAX_LINE + 1], proto[16], soft[64], comments[256];
	size_t used = 0;
	int r = toride_ssh_parse_banner(data, size, &used, out, sizeof out);
	if (r != 0) {
		if (used != 0)
			abort();
		return 0;
	}
	if (used == 0 || used > size || data[used - 1] != '\n' || strncmp(out, "SSH-", 4) != 0 ||
	    strlen(out) >= TORIDE_SSH_MAX_LINE)
		abort();
	r = toride_ssh_banner_fields(out, proto, sizeof proto, soft, sizeof soft, comments, sizeof comments);
	if (r != 0 && r != TORIDE_ETOOBIG)
		abort();
	if (toride_ssh_parse_banner(data, used - 1, &used, out, sizeof out) == 0)
		abort(); /* without its LF the line cannot be complete */
	return 0;
}
