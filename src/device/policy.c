/*
 * Password policy (R2, ETSI EN 303 645 5.1, JC-STAR star 1): refuses passwords that an attacker
 * would try early: known factory defaults and botnet dictionaries (the blocklist), short, repetitive,
 * sequential or keyboard-walk values, the user name, and values derived from the public
 * identifiers printed on the device (model, serial number, MAC address).
 * Every refusal comes with one short English sentence for the user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/internal.h"

#define DEV_PASSWORD_MAX 128        /* bytes; room for long passphrases, bounds every check's cost */
#define DEV_PASSWORD_MIN_DEFAULT 10 /* characters; ETSI/NIST guidance for device passwords */
#define DEV_MIN_DISTINCT 5          /* fewer different characters is a pattern, not a password */
#define DEV_IDENT_MIN 4             /* shorter model/serial fragments are too common to refuse */
#define DEV_USER_MIN 3              /* shorter user names are only refused as the whole password */
#define DEV_RUN_MIN 3               /* shorter sequences or walks occur by chance in good passwords */
#define DEV_MAC_TAIL 6              /* hex digits vendors print or use as "unique" suffixes */
#define DEV_BLOCKLIST_MAX_LINE DEV_PASSWORD_MAX /* a longer line could never match */
/* Entries kept from one file: the shipped list has ~1,700; a leaked-password top-100k list fits
 * too; a hostile or wrong file cannot use more than ~ 200k * (8 + 129) bytes. */
#define DEV_BLOCKLIST_MAX_ENTRIES 200000

/* ---- small text helpers ---------------------------------------------------------------- */

static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Characters stripped around a blocklisted word: "admin123!" and " admin" are "admin". */
static bool
is_strippable(char c)
{
	return is_digit(c) || (c >= 0x20 && c < 0x7f && !is_alnum(c));
}

/*
 * Decodes strict UTF-8 (no overlongs, surrogates or values above U+10FFFF) into cp[] (at most
 * cap code points). Returns the number of code points, -1 if invalid, -2 if a C0/C1 control
 * character or DEL is present.
 */
static int
utf8_decode(const uint8_t *s, size_t n, uint32_t *cp, size_t cap)
{
	size_t i = 0, k = 0;
	bool control = false;
	while (i < n) {
		uint32_t c = s[i];
		size_t len;
		uint32_t min;
		if (c < 0x80) {
			len = 1;
			min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			c &= 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			c &= 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			c &= 0x07;
			min = 0x10000;
		} else {
			return -1;
		}
		if (n - i < len)
			return -1;
		for (size_t j = 1; j < len; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (s[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f))
			control = true;
		if (k == cap)
			return -1;
		cp[k++] = c;
		i += len;
	}
	return control ? -2 : (int)k;
}

static void
set_reason(char *reason, size_t cap, const char *msg)
{
	if (reason != NULL && cap > 0)
		snprintf(reason, cap, "%s", msg);
}

/* Case-insensitive (ASCII) substring test over explicit lengths. */
static bool
contains(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0 || nn > hn)
		return false;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t j = 0;
		while (j < nn && lower(hay[i + j]) == lower(needle[j]))
			j++;
		if (j == nn)
			return true;
	}
	return false;
}

/* ASCII letters and digits of s, lower-cased: "00:11:22:AA:BB:CC" -> "001122aabbcc". */
static size_t
alnum_only(const char *s, char *out, size_t cap)
{
	size_t k = 0;
	for (; *s != '\0' && k + 1 < cap; s++)
		if (is_alnum(*s))
			out[k++] = lower(*s);
	out[k] = '\0';
	return k;
}

/* ---- blocklist ------------------------------------------------------------------------- */

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
blocklisted(const struct toride_dev *dev, const char *s, size_t n)
{
	char key[DEV_PASSWORD_MAX + 1];
	if (n == 0 || n > DEV_PASSWORD_MAX)
		return false;
	memcpy(key, s, n);
	key[n] = '\0';
	const char *k = key;
	bool hit = bsearch(&k, dev->blocklist, dev->n_blocklist, sizeof(char *), cmp_entry) != NULL;
	sodium_memzero(key, sizeof(key));
	return hit;
}

/*
 * The lower-cased password, trimmed of spaces, then with its leading run of digits/symbols
 * removed or kept, and every cut of its trailing digits/symbols: "2024Admin123!" tries
 * "2024admin123!", "2024admin123", ..., "admin123!", ..., "admin".
 */
static bool
blocklisted_any(const struct toride_dev *dev, const char *low, size_t n)
{
	if (dev == NULL || dev->n_blocklist == 0)
		return false;
	size_t b = 0, e = n;
	while (b < e && low[b] == ' ')
		b++;
	while (e > b && low[e - 1] == ' ')
		e--;
	size_t head[2] = {b, b};
	while (head[1] < e && is_strippable(low[head[1]]))
		head[1]++;
	for (int h = 0; h < 2; h++) {
		if (h == 1 && (head[1] == head[0] || head[1] == e))
			break;
		for (size_t k = e; k > head[h]; k--) {
			if (blocklisted(dev, low + head[h], k - head[h]))
				return true;
			if (!is_strippable(low[k - 1]))
				break;
		}
	}
	return false;
}

void
dev_blocklist_free(struct toride_dev *dev)
{
	for (size_t i = 0; i < dev->n_blocklist; i++)
		free(dev->blocklist[i]);
	free(dev->blocklist);
	dev->blocklist = NULL;
	dev->n_blocklist = 0;
}

/* One line of the file (without its newline): a lower-cased entry in *out, or NULL to skip. */
static int
blocklist_line(char *line, size_t n, char **out)
{
	uint32_t cp[DEV_BLOCKLIST_MAX_LINE];
	*out = NULL;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == 1 && line[0] == '#')
		return 0;
	if (n >= 2 && line[0] == '#' && line[1] == ' ')
		return 0;
	size_t b = 0;
	while (b < n && line[b] == ' ')
		b++;
	while (n > b && line[n - 1] == ' ')
		n--;
	if (n == b || n - b > DEV_BLOCKLIST_MAX_LINE)
		return 0;
	if (utf8_decode((const uint8_t *)line + b, n - b, cp, DEV_BLOCKLIST_MAX_LINE) <= 0)
		return 0; /* invalid UTF-8, NUL or other control bytes: no password can match it */
	char *e = malloc(n - b + 1);
	if (e == NULL)
		return TORIDE_DEV_ENOMEM;
	for (size_t i = b; i < n; i++)
		e[i - b] = lower(line[i]);
	e[n - b] = '\0';
	*out = e;
	return 0;
}

int
dev_blocklist_load(struct toride_dev *dev, const char *path)
{
	int rc = 0;
	char **v = NULL;
	size_t n = 0, cap = 0;
	/* One spare byte tells a line of exactly the maximum from a longer one. */
	char line[DEV_BLOCKLIST_MAX_LINE + 2];
	size_t len = 0;
	bool too_long = false;
	if (dev == NULL || path == NULL)
		return TORIDE_DEV_EINVAL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return errno == ENOENT ? TORIDE_DEV_ENOENT : TORIDE_DEV_EIO;
	for (;;) {
		int c = getc(f);
		if (c != EOF && c != '\n') {
			if (len < sizeof(line))
				line[len++] = (char)c;
			else
				too_long = true;
			continue;
		}
		if (c == EOF && ferror(f)) {
			rc = TORIDE_DEV_EIO;
			goto out;
		}
		char *entry = NULL;
		if (!too_long && len < sizeof(line) && (rc = blocklist_line(line, len, &entry)) < 0)
			goto out;
		len = 0;
		too_long = false;
		if (entry != NULL) {
			if (n == DEV_BLOCKLIST_MAX_ENTRIES) {
				free(entry);
				rc = TORIDE_DEV_ETOOBIG;
				goto out;
			}
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				if (ncap > DEV_BLOCKLIST_MAX_ENTRIES)
					ncap = DEV_BLOCKLIST_MAX_ENTRIES;
				char **nv = realloc(v, ncap * sizeof(*v));
				if (nv == NULL) {
					free(entry);
					rc = TORIDE_DEV_ENOMEM;
					goto out;
				}
				v = nv;
				cap = ncap;
			}
			v[n++] = entry;
		}
		if (c == EOF)
			break;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_entry);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u > 0 && strcmp(v[u - 1], v[i]) == 0)
			free(v[i]);
		else
			v[u++] = v[i];
	}
	n = u;
	dev_blocklist_free(dev);
	dev->blocklist = v;
	dev->n_blocklist = n;
	v = NULL;
	n = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	fclose(f);
	return rc;
}

/* ---- sequences and keyboard walks ------------------------------------------------------ */

/* US QWERTY rows; each row's horizontal offset in quarter keys (the usual stagger). */
static const char *const kbd_rows[4] = {"1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./"};
static const int kbd_off[4] = {0, 2, 3, 5};
static const char kbd_shift[] = "!@#$%^&*()_+{}:\"<>?";
static const char kbd_base[] = "1234567890-=[];',./";

/* Row and x position (quarter keys) of a key; false if not on the main block. */
static bool
kbd_pos(char c, int *row, int *x)
{
	const char *s = strchr(kbd_shift, c);
	if (c != '\0' && s != NULL)
		c = kbd_base[s - kbd_shift];
	c = lower(c);
	for (int r = 0; r < 4 && c != '\0'; r++) {
		const char *p = strchr(kbd_rows[r], c);
		if (p != NULL) {
			*row = r;
			*x = (int)(p - kbd_rows[r]) * 4 + kbd_off[r];
			return true;
		}
	}
	return false;
}

/* Neighbouring keys (same row, or the row above/below within a key's width), or neighbouring
 * letters/digits ("ab", "98"). */
static bool
linked(char a, char b)
{
	a = lower(a);
	b = lower(b);
	if (a == b)
		return false;
	bool both_digits = is_digit(a) && is_digit(b);
	bool both_letters = a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z';
	if ((both_digits || both_letters) && (a - b == 1 || b - a == 1))
		return true;
	int ra, xa, rb, xb;
	if (!kbd_pos(a, &ra, &xa) || !kbd_pos(b, &rb, &xb))
		return false;
	int dx = xa > xb ? xa - xb : xb - xa;
	if (ra == rb)
		return dx == 4;
	return (ra - rb == 1 || rb - ra == 1) && dx <= 3;
}

/* Bytes of pw that lie in runs of >= DEV_RUN_MIN linked characters ("abcd", "4321", "qwerty",
 * "1qaz2wsx"). */
static size_t
pattern_coverage(const char *pw, size_t n)
{
	size_t covered = 0, start = 0;
	for (size_t i = 1; i <= n; i++) {
		if (i < n && linked(pw[i - 1], pw[i]))
			continue;
		if (i - start >= DEV_RUN_MIN)
			covered += i - start;
		start = i;
	}
	return covered;
}

/* ---- identifiers ----------------------------------------------------------------------- */

/* Does the password contain identifier id (as written, or as its letters and digits only)? */
static bool
contains_ident(const char *pw, size_t n, const char *pw_alnum, size_t pw_alnum_n, const char *id)
{
	char id_alnum[DEV_MAX_IDENT + 1];
	size_t idn = strlen(id);
	if (idn >= DEV_IDENT_MIN && contains(pw, n, id, idn))
		return true;
	size_t an = alnum_only(id, id_alnum, sizeof(id_alnum));
	if (an >= DEV_IDENT_MIN && contains(pw_alnum, pw_alnum_n, id_alnum, an))
		return true;
	return false;
}

/* The MAC in any spelling (separators or none, any case) or its last DEV_MAC_TAIL hex digits. */
static bool
contains_mac(const char *pw, size_t n, const char *pw_alnum, size_t pw_alnum_n, const char *mac)
{
	char hex[DEV_MAX_IDENT + 1];
	size_t hn = alnum_only(mac, hex, sizeof(hex));
	bool is_hex = hn == 12;
	for (size_t i = 0; i < hn; i++)
		if (!is_digit(hex[i]) && !(hex[i] >= 'a' && hex[i] <= 'f'))
			is_hex = false;
	if (!is_hex)
		return contains_ident(pw, n, pw_alnum, pw_alnum_n, mac);
	return contains(pw_alnum, pw_alnum_n, hex + 12 - DEV_MAC_TAIL, DEV_MAC_TAIL);
}

/* ---- the check ------------------------------------------------------------------------- */

int
toride_dev_password_check(struct toride_dev *dev, const char *user, const char *password,
                          char *reason, size_t reason_cap)
{
	int rc = TORIDE_DEV_EPOLICY;
	uint32_t cp[DEV_PASSWORD_MAX];
	char low[DEV_PASSWORD_MAX + 1];
	char pw_alnum[DEV_PASSWORD_MAX + 1];
	char msg[128];
	if (reason != NULL && reason_cap > 0)
		reason[0] = '\0';
	if (password == NULL)
		return TORIDE_DEV_EINVAL;
	size_t n = strnlen(password, DEV_PASSWORD_MAX + 1);
	size_t min = dev != NULL && dev->min_password_len > 0 ? dev->min_password_len
	                                                      : DEV_PASSWORD_MIN_DEFAULT;
	if (n > DEV_PASSWORD_MAX) {
		set_reason(reason, reason_cap, "The password is longer than 128 bytes.");
		return TORIDE_DEV_EPOLICY;
	}
	int ncp = utf8_decode((const uint8_t *)password, n, cp, DEV_PASSWORD_MAX);
	if (ncp == -1) {
		set_reason(reason, reason_cap, "The password is not valid UTF-8 text.");
		goto out;
	}
	if (ncp == -2) {
		set_reason(reason, reason_cap, "The password contains control characters.");
		goto out;
	}
	if ((size_t)ncp < min) {
		snprintf(msg, sizeof(msg), "The password is shorter than %zu characters.", min);
		set_reason(reason, reason_cap, msg);
		goto out;
	}
	/* First, as its reason is the most useful: the known lists. */
	for (size_t i = 0; i < n; i++)
		low[i] = lower(password[i]);
	low[n] = '\0';
	if (blocklisted_any(dev, low, n)) {
		set_reason(reason, reason_cap,
		           "The password is a known default or botnet password (or one with digits or symbols added).");
		goto out;
	}
	/* Distinct characters, ASCII case folded (at most 128 code points, so quadratic is fine). */
	size_t distinct = 0;
	for (int i = 0; i < ncp; i++) {
		uint32_t c = cp[i] < 0x80 ? (uint32_t)lower((char)cp[i]) : cp[i];
		cp[i] = c;
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = cp[j] == c;
		distinct += !seen;
	}
	if (distinct == 1) {
		set_reason(reason, reason_cap, "The password repeats a single character.");
		goto out;
	}
	if (distinct < DEV_MIN_DISTINCT) {
		set_reason(reason, reason_cap, "The password uses fewer than 5 different characters.");
		goto out;
	}
	if (user != NULL && user[0] != '\0') {
		size_t un = strlen(user);
		bool hit = un >= DEV_USER_MIN ? contains(low, n, user, un)
		                              : (un == n && contains(low, n, user, un));
		/* The user name backwards ("nimda") is as guessable as forwards. */
		char rev[TORIDE_DEV_MAX_USER + 1];
		if (!hit && un >= DEV_USER_MIN && un <= TORIDE_DEV_MAX_USER) {
			for (size_t i = 0; i < un; i++)
				rev[i] = user[un - 1 - i];
			hit = contains(low, n, rev, un);
		}
		if (hit) {
			set_reason(reason, reason_cap, "The password contains the user name.");
			goto out;
		}
	}
	size_t an = alnum_only(low, pw_alnum, sizeof(pw_alnum));
	if (dev != NULL) {
		if (dev->model[0] != '\0' && contains_ident(low, n, pw_alnum, an, dev->model)) {
			set_reason(reason, reason_cap, "The password contains the device's model name.");
			goto out;
		}
		if (dev->serial[0] != '\0' && contains_ident(low, n, pw_alnum, an, dev->serial)) {
			set_reason(reason, reason_cap, "The password contains the device's serial number.");
			goto out;
		}
		if (dev->mac[0] != '\0' && contains_mac(low, n, pw_alnum, an, dev->mac)) {
			set_reason(reason, reason_cap,
			           "The password contains the device's MAC address (or its last digits).");
			goto out;
		}
	}
	if (pattern_coverage(low, n) * 2 >= n) {
		set_reason(reason, reason_cap,
		           "The password is mostly a sequence or keyboard pattern (like abcd, 4321 or qwerty).");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(cp, sizeof(cp));
	sodium_memzero(low, sizeof(low));
	sodium_memzero(pw_alnum, sizeof(pw_alnum));
	return rc;
}
