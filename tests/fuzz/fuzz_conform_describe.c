/* Fuzz target: the conform description parser (strict JSON, bounded strings, address, ports). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform.h"
#include "core/error.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conform_description d;
	char err[256];
	int r = conform_describe_parse((const char *)data, size, &d, err, sizeof err);
	if (r == 0) {
		/* a parsed description is always consistent: strings terminated, counts in range */
		if (strnlen(d.address_text, sizeof d.address_text) == sizeof d.address_text ||
		    d.n_interfaces > CONFORM_MAX_INTERFACES || d.format != 1 || d.scheme < CONFORM_SCHEME_FORCED_CHANGE ||
		    d.scheme > CONFORM_SCHEME_NONE)
			abort();
	} else if (strnlen(err, sizeof err) == sizeof err || err[0] == '\0') {
		abort(); /* every refusal says why */
	}
	return 0;
}
