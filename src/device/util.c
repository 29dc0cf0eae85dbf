/* Small helpers shared by the library's files. */
#include <string.h>

#include "device/internal.h"

int
dev_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (cap == 0 || n >= cap)
		return TORIDE_DEV_ETOOBIG;
	memcpy(dst, src, n + 1);
	return 0;
}

void
dev_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
dev_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
dev_unhex(const char *in, uint8_t *out, size_t n)
{
	if (strlen(in) != 2 * n)
		return TORIDE_DEV_EFORMAT;
	for (size_t i = 0; i < n; i++) {
		int hi = dev_hexval(in[2 * i]), lo = dev_hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return TORIDE_DEV_EFORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
