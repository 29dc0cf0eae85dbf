/*
 * Fuzz the admin-interface input helpers of toride-deviced (src/proto/form.h): form fields,
 * cookies, command lines, update announcements and URL resolution, with small and exact-size
 * output buffers. Checks the contracts: outputs are NUL-terminated within their buffer and a
 * decoded value never holds a control byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "proto/form.h"

static void
check_clean(const char *v, size_t cap)
{
	size_t n = strnlen(v, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "user", "password", "old", "new", "new2", "hostname", "session",
		                             "version", "url" };
	char out[64], tiny[4];
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (toride_form_get(s, size, names[i], out, sizeof(out)) == 0)
			check_clean(out, sizeof(out));
		if (toride_form_get(s, size, names[i], tiny, sizeof(tiny)) == 0)
			check_clean(tiny, sizeof(tiny));
		if (toride_cookie_get(s, names[i], out, sizeof(out)) == 0 && strnlen(out, sizeof(out)) == sizeof(out))
			abort();
		if (toride_kvtext_get(s, size, names[i], out, sizeof(out)) == 0)
			check_clean(out, sizeof(out));
	}
	char url[128];
	if (toride_url_resolve("https://updates.example/fw/latest", s, url, sizeof(url)) == 0)
		check_clean(url, sizeof(url));
	if (toride_url_resolve(s, "b.tbd", url, sizeof(url)) == 0)
		check_clean(url, sizeof(url));
	char *argv[3];
	size_t n = toride_cmd_split(s, argv, 3);
	if (n > 3)
		abort();
	for (size_t i = 0; i < n; i++)
		if (argv[i] < s || argv[i] > s + size || argv[i][0] == ' ' || argv[i][0] == '\0')
			abort();
	free(s);
	return 0;
}
