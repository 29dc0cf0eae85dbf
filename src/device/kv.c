/*
 * key=value text: the one format of settings, accounts, boot state and bundle manifests. Bounded
 * (DEV_KV_MAX_TEXT, DEV_KV_MAX_ENTRIES, TORIDE_DEV_MAX_KEY, TORIDE_DEV_MAX_VALUE); every input is
 * hostile until parsed. Format in internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"

bool
dev_kv_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > TORIDE_DEV_MAX_KEY)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* A byte that may stand for itself in a value. */
static bool
value_byte_plain(uint8_t c)
{
	return (c >= 0x20 && c <= 0x7e && c != '\\') || c >= 0x80;
}

static int
value_valid(const char *value)
{
	size_t n = strlen(value);
	/* Every byte but NUL can be stored (escaped when needed); only the length is bounded. */
	return n > TORIDE_DEV_MAX_VALUE ? TORIDE_DEV_ETOOBIG : 0;
}

static size_t
kv_find(const struct dev_kv *kv, const char *key, bool *found)
{
	/* Entries are kept sorted: binary search for the position. */
	size_t lo = 0, hi = kv->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(kv->e[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const char *
dev_kv_get(const struct dev_kv *kv, const char *key)
{
	bool found;
	size_t i = kv_find(kv, key, &found);
	return found ? kv->e[i].value : NULL;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

int
dev_kv_set(struct dev_kv *kv, const char *key, const char *value)
{
	if (!dev_kv_key_valid(key))
		return TORIDE_DEV_EINVAL;
	bool found;
	size_t i = kv_find(kv, key, &found);
	if (value == NULL) {
		if (found) {
			free(kv->e[i].key);
			wipe_free(kv->e[i].value);
			memmove(&kv->e[i], &kv->e[i + 1], (kv->n - i - 1) * sizeof(kv->e[0]));
			kv->n--;
		}
		return 0;
	}
	int err = value_valid(value);
	if (err != 0)
		return err;
	char *v = strdup(value);
	if (v == NULL)
		return TORIDE_DEV_ENOMEM;
	if (found) {
		wipe_free(kv->e[i].value);
		kv->e[i].value = v;
		return 0;
	}
	if (kv->n >= DEV_KV_MAX_ENTRIES) {
		wipe_free(v);
		return TORIDE_DEV_ETOOBIG;
	}
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 16;
		struct dev_kv_entry *e = realloc(kv->e, cap * sizeof(*e));
		if (e == NULL) {
			wipe_free(v);
			return TORIDE_DEV_ENOMEM;
		}
		kv->e = e;
		kv->cap = cap;
	}
	char *k = strdup(key);
	if (k == NULL) {
		wipe_free(v);
		return TORIDE_DEV_ENOMEM;
	}
	memmove(&kv->e[i + 1], &kv->e[i], (kv->n - i) * sizeof(kv->e[0]));
	kv->e[i].key = k;
	kv->e[i].value = v;
	kv->n++;
	return 0;
}

void
dev_kv_free(struct dev_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->e[i].key);
		wipe_free(kv->e[i].value);
	}
	free(kv->e);
	memset(kv, 0, sizeof(*kv));
}

int
dev_kv_copy(struct dev_kv *dst, const struct dev_kv *src)
{
	struct dev_kv out = { 0 };
	for (size_t i = 0; i < src->n; i++) {
		int err = dev_kv_set(&out, src->e[i].key, src->e[i].value);
		if (err != 0) {
			dev_kv_free(&out);
			return err;
		}
	}
	*dst = out;
	return 0;
}

/* Decodes one value [p, end) into out (cap TORIDE_DEV_MAX_VALUE + 1). */
static int
decode_value(const uint8_t *p, const uint8_t *end, char *out)
{
	size_t n = 0;
	while (p < end) {
		uint8_t c = *p++;
		if (c == '\\') {
			if (p >= end)
				return TORIDE_DEV_EFORMAT;
			uint8_t e = *p++;
			if (e == '\\')
				c = '\\';
			else if (e == 'n')
				c = '\n';
			else if (e == 'x') {
				if (end - p < 2)
					return TORIDE_DEV_EFORMAT;
				int hi = dev_hexval((char)p[0]), lo = dev_hexval((char)p[1]);
				if (hi < 0 || lo < 0)
					return TORIDE_DEV_EFORMAT;
				c = (uint8_t)(hi << 4 | lo);
				p += 2;
				/* NUL would truncate the C string silently: refuse it. */
				if (c == 0)
					return TORIDE_DEV_EFORMAT;
			} else
				return TORIDE_DEV_EFORMAT;
		} else if (!value_byte_plain(c))
			return TORIDE_DEV_EFORMAT;
		if (n >= TORIDE_DEV_MAX_VALUE)
			return TORIDE_DEV_ETOOBIG;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int
dev_kv_parse(const uint8_t *buf, size_t len, struct dev_kv *kv, size_t *line)
{
	struct dev_kv out = { 0 };
	char key[TORIDE_DEV_MAX_KEY + 1];
	char *value = NULL;
	size_t lineno = 0;
	int err = 0;

	memset(kv, 0, sizeof(*kv));
	if (len > DEV_KV_MAX_TEXT)
		return TORIDE_DEV_ETOOBIG;
	value = malloc(TORIDE_DEV_MAX_VALUE + 1);
	if (value == NULL)
		return TORIDE_DEV_ENOMEM;

	const uint8_t *p = buf, *end = buf + len;
	while (p < end) {
		lineno++;
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			/* Every line ends with \n: a missing one means a torn or truncated text. */
			err = TORIDE_DEV_EFORMAT;
			goto out;
		}
		const uint8_t *ln = p;
		p = nl + 1;
		if (ln == nl || *ln == '#')
			continue;
		const uint8_t *eq = memchr(ln, '=', (size_t)(nl - ln));
		if (eq == NULL || eq == ln || (size_t)(eq - ln) > TORIDE_DEV_MAX_KEY) {
			err = TORIDE_DEV_EFORMAT;
			goto out;
		}
		memcpy(key, ln, (size_t)(eq - ln));
		key[eq - ln] = '\0';
		if (!dev_kv_key_valid(key)) {
			err = TORIDE_DEV_EFORMAT;
			goto out;
		}
		err = decode_value(eq + 1, nl, value);
		if (err != 0)
			goto out;
		if (dev_kv_get(&out, key) != NULL) {
			err = TORIDE_DEV_EFORMAT;
			goto out;
		}
		err = dev_kv_set(&out, key, value);
		if (err != 0)
			goto out;
	}
	*kv = out;
	memset(&out, 0, sizeof(out));
out:
	if (err != 0 && line != NULL)
		*line = lineno;
	sodium_memzero(value, TORIDE_DEV_MAX_VALUE + 1);
	free(value);
	dev_kv_free(&out);
	return err;
}

int
dev_kv_serialize(const struct dev_kv *kv, uint8_t **out, size_t *len)
{
	/* Worst case every value byte becomes \xHH. */
	size_t cap = 1;
	for (size_t i = 0; i < kv->n; i++)
		cap += strlen(kv->e[i].key) + 2 + 4 * strlen(kv->e[i].value);
	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return TORIDE_DEV_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < kv->n; i++) {
		size_t kl = strlen(kv->e[i].key);
		memcpy(buf + n, kv->e[i].key, kl);
		n += kl;
		buf[n++] = '=';
		for (const uint8_t *v = (const uint8_t *)kv->e[i].value; *v != '\0'; v++) {
			if (*v == '\\') {
				buf[n++] = '\\';
				buf[n++] = '\\';
			} else if (*v == '\n') {
				buf[n++] = '\\';
				buf[n++] = 'n';
			} else if (value_byte_plain(*v)) {
				buf[n++] = *v;
			} else {
				static const char hex[] = "0123456789abcdef";
				buf[n++] = '\\';
				buf[n++] = 'x';
				buf[n++] = (uint8_t)hex[*v >> 4];
				buf[n++] = (uint8_t)hex[*v & 15];
			}
		}
		buf[n++] = '\n';
	}
	if (n > DEV_KV_MAX_TEXT) {
		sodium_memzero(buf, n);
		free(buf);
		return TORIDE_DEV_ETOOBIG;
	}
	*out = buf;
	*len = n;
	return 0;
}
