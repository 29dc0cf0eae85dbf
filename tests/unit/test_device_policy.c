/*
 * Password policy (src/device/policy.c) and the unique initial password (initial.c): every rule
 * with real passwords from Mirai's credential table and the vendor default lists, values derived
 * from the device's MAC/serial/model, good passwords that must pass, and hostile blocklist files.
 * Runs on a struct toride_dev filled by hand: no storage needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/internal.h"

#define BANNED TORIDE_SOURCE_DIR "/data/device/banned-passwords.txt"

static struct toride_dev *
new_dev(void)
{
	struct toride_dev *dev = calloc(1, sizeof(*dev));
	assert_non_null(dev);
	dev->min_password_len = 10;
	snprintf(dev->model, sizeof(dev->model), "%s", "TR-100X");
	snprintf(dev->serial, sizeof(dev->serial), "%s", "SN2024-000731");
	snprintf(dev->mac, sizeof(dev->mac), "%s", "00:1A:2B:3C:4D:5E");
	return dev;
}

static void
free_dev(struct toride_dev *dev)
{
	dev_blocklist_free(dev);
	free(dev);
}

static int
setup(void **state)
{
	struct toride_dev *dev = new_dev();
	assert_int_equal(dev_blocklist_load(dev, BANNED), 0);
	*state = dev;
	return 0;
}

static int
teardown(void **state)
{
	free_dev(*state);
	return 0;
}

/* Refused, with a reason that contains `why` and reads as one sentence. */
static void
refused(struct toride_dev *dev, const char *user, const char *pw, const char *why)
{
	char reason[160];
	memset(reason, 'x', sizeof(reason));
	int rc = toride_dev_password_check(dev, user, pw, reason, sizeof(reason));
	if (rc != TORIDE_DEV_EPOLICY || strstr(reason, why) == NULL)
		fail_msg("password \"%s\": rc %d reason \"%s\", expected \"%s\"", pw, rc, reason, why);
	size_t n = strlen(reason);
	assert_true(n > 10 && reason[0] >= 'A' && reason[0] <= 'Z' && reason[n - 1] == '.');
}

static void
accepted(struct toride_dev *dev, const char *user, const char *pw)
{
	char reason[160] = "";
	int rc = toride_dev_password_check(dev, user, pw, reason, sizeof(reason));
	if (rc != 0)
		fail_msg("password \"%s\" refused: %d \"%s\"", pw, rc, reason);
	assert_string_equal(reason, "");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_shipped_blocklist(void **state)
{
	struct toride_dev *dev = *state;
	/* Generated from four lists; about 1,600 unique entries, sorted, lower case. */
	assert_true(dev->n_blocklist > 1500 && dev->n_blocklist < 3000);
	for (size_t i = 1; i < dev->n_blocklist; i++)
		assert_true(strcmp(dev->blocklist[i - 1], dev->blocklist[i]) < 0);
	for (size_t i = 0; i < dev->n_blocklist; i++)
		for (const char *p = dev->blocklist[i]; *p; p++)
			assert_false(*p >= 'A' && *p <= 'Z');
	/* Every password of Mirai's table is on it. */
	FILE *f = fopen(TORIDE_SOURCE_DIR "/data/credentials/mirai.tsv", "r");
	assert_non_null(f);
	char line[256];
	size_t checked = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || strncmp(line, "user\t", 5) == 0)
			continue;
		char *pw = strchr(line, '\t');
		assert_non_null(pw);
		pw++;
		char *end = strchr(pw, '\t');
		assert_non_null(end);
		*end = '\0';
		if (*pw == '\0')
			continue; /* empty password: refused by the length rule */
		for (char *p = pw; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		const char *k = pw;
		if (bsearch(&k, dev->blocklist, dev->n_blocklist, sizeof(char *), cmp_str) == NULL)
			fail_msg("mirai password %s missing from the blocklist", pw);
		checked++;
	}
	fclose(f);
	assert_true(checked >= 55);
}

static void
test_mirai_passwords(void **state)
{
	struct toride_dev *dev = *state;
	/* As they are: too short for the default minimum. */
	refused(dev, "admin", "xc3511", "shorter than 10 characters");
	refused(dev, "admin", "vizxv", "shorter than 10 characters");
	refused(dev, "admin", "admin", "shorter than 10 characters");
	refused(dev, "root", "888888", "shorter than 10 characters");
	/* The 12-character one is long enough and is on the list (any case). */
	refused(dev, "root", "7ujMko0admin", "known default");
	refused(dev, "root", "7UJMKO0ADMIN", "known default");
	/* With a lower minimum the list itself refuses them. */
	dev->min_password_len = 4;
	refused(dev, "root", "xc3511", "known default");
	refused(dev, "root", "vizxv", "known default");
	refused(dev, "root", "Admin", "known default");
	refused(dev, "root", "juantech", "known default");
	refused(dev, "root", "888888", "known default");
	dev->min_password_len = 10;
	/* Padded with digits and symbols, before or after, and with spaces around. */
	refused(dev, "root", "xc3511!!!!", "known default");
	refused(dev, "root", "Admin12345!", "known default");
	refused(dev, "root", "vizxv2024!!", "known default");
	refused(dev, "root", "2024vizxv!!", "known default");
	refused(dev, "root", "  hikvision  ", "known default");
	refused(dev, "root", "Password123!", "known default");
}

static void
test_length_and_encoding(void **state)
{
	struct toride_dev *dev = *state;
	char big[200];
	memset(big, 'k', sizeof(big));
	big[129] = '\0';
	for (int i = 0; i < 129; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	refused(dev, "root", big, "longer than 128 bytes");
	big[128] = '\0';
	accepted(dev, "root", big);
	refused(dev, "root", "correct\x01horse battery", "control characters");
	refused(dev, "root", "correct\x7fhorse battery", "control characters");
	refused(dev, "root", "correct horse \xc2\x85 battery", "control characters"); /* U+0085 */
	refused(dev, "root", "correct horse \xc3\x28 battery", "not valid UTF-8");
	refused(dev, "root", "correct horse \xc0\xaf battery", "not valid UTF-8"); /* overlong '/' */
	refused(dev, "root", "correct horse \xed\xa0\x80 battery", "not valid UTF-8"); /* surrogate */
	refused(dev, "root", "correct horse \xf4\x90\x80\x80 bat", "not valid UTF-8"); /* > U+10FFFF */
	refused(dev, "root", "correct horse \xe3\x81", "not valid UTF-8"); /* truncated */
	/* Length counts characters, not bytes: 5 kanji are 15 bytes but too short. */
	refused(dev, "root", "富士山登山", "shorter than 10");
	dev->min_password_len = 12;
	refused(dev, "root", "Kiso-gawa 7", "shorter than 12 characters");
	dev->min_password_len = 10;
	assert_int_equal(toride_dev_password_check(dev, "root", NULL, NULL, 0), TORIDE_DEV_EINVAL);
	/* A short reason buffer gets a truncated, terminated sentence. */
	char r[8];
	assert_int_equal(toride_dev_password_check(dev, "root", "xc3511", r, sizeof(r)),
	                 TORIDE_DEV_EPOLICY);
	assert_int_equal(strlen(r), 7);
	assert_int_equal(toride_dev_password_check(dev, "root", "xc3511", NULL, 0), TORIDE_DEV_EPOLICY);
}

static void
test_patterns(void **state)
{
	(void)state;
	/* Without a blocklist, so the pattern rules themselves must refuse. */
	struct toride_dev *dev = new_dev();
	refused(dev, "root", "aaaaaaaaaaaa", "single character");
	refused(dev, "root", "AaAaAaAaAaAa", "single character");
	refused(dev, "root", "abababababab", "fewer than 5");
	refused(dev, "root", "123123123123", "fewer than 5");
	refused(dev, "root", "1234567890", "sequence or keyboard");
	refused(dev, "root", "9876543210", "sequence or keyboard");
	refused(dev, "root", "abcdefghij", "sequence or keyboard");
	refused(dev, "root", "ZYXWVUTSRQ", "sequence or keyboard");
	refused(dev, "root", "qwertyuiop", "sequence or keyboard");
	refused(dev, "root", "asdfghjkl;", "sequence or keyboard");
	refused(dev, "root", "1qaz2wsx3edc", "sequence or keyboard");
	refused(dev, "root", "!QAZ@WSX#EDC", "sequence or keyboard");
	refused(dev, "root", "zaq12wsxcde", "sequence or keyboard");
	refused(dev, "root", "qazwsxedcrfv", "sequence or keyboard");
	refused(dev, "root", "1q2w3e4r5t", "sequence or keyboard");
	refused(dev, "root", "poiuytrewq", "sequence or keyboard");
	refused(dev, "root", "qwerty123456", "sequence or keyboard");
	refused(dev, "root", "Kyoto+qwertyuiop", "sequence or keyboard");
	free_dev(dev);
}

static void
test_user_name(void **state)
{
	struct toride_dev *dev = *state;
	refused(dev, "tanaka", "Tanaka-Kyoto-7!", "user name");
	refused(dev, "tanaka", "my+akanat+home", "user name"); /* backwards */
	refused(dev, "operator", "xOPERATORx#42", "user name");
	/* A two-letter user name is only refused as the whole password... */
	accepted(dev, "jo", "Joyful river 42");
	/* ...which the length rule catches anyway. */
	accepted(dev, NULL, "Tanaka-Kyoto-7!");
}

static void
test_identifiers(void **state)
{
	struct toride_dev *dev = *state;
	/* MAC 00:1A:2B:3C:4D:5E in every spelling, and its last six hex digits. */
	refused(dev, "root", "001a2b3c4d5e!Zq", "MAC address");
	refused(dev, "root", "00-1A-2B-3C-4D-5E", "MAC address");
	refused(dev, "root", "00:1a:2b:3c:4d:5e", "MAC address");
	refused(dev, "root", "001A.2B3C.4D5E", "MAC address");
	refused(dev, "root", "Home3C4D5E#Net", "MAC address");
	refused(dev, "root", "3c:4d:5e-kyoto-net", "MAC address");
	/* Serial SN2024-000731 as printed or without its separator. */
	refused(dev, "root", "SN2024-000731!", "serial number");
	refused(dev, "root", "wifi sn2024000731", "serial number");
	/* Model TR-100X. */
	refused(dev, "root", "MyTr100x!Home", "model name");
	refused(dev, "root", "tr-100x Kanazawa", "model name");
	/* The same passwords on a device with other identifiers are fine. */
	struct toride_dev *other = new_dev();
	snprintf(other->model, sizeof(other->model), "%s", "XB-7");
	snprintf(other->serial, sizeof(other->serial), "%s", "QQ99");
	snprintf(other->mac, sizeof(other->mac), "%s", "a4:5e:60:00:11:22");
	accepted(other, "root", "Home3C4D5E#Net");
	accepted(other, "root", "MyTr100x!Home");
	/* Dashed MAC, upper case, and the last six digits of this one. */
	refused(other, "root", "net-001122-home", "MAC address");
	refused(other, "root", "A45E60001122xyz", "MAC address");
	free_dev(other);
}

static void
test_good_passwords(void **state)
{
	struct toride_dev *dev = *state;
	accepted(dev, "admin", "correct horse battery staple");
	accepted(dev, "admin", "Kiso-gawa 7 Nagoya!");
	accepted(dev, "admin", "富士山に登ったのは2019年");
	accepted(dev, "admin", "tr7#Vq2m-Lp9x");
	/* Generated initial passwords pass, for many secrets. */
	for (unsigned i = 0; i < 200; i++) {
		uint8_t secret[32];
		char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
		for (size_t j = 0; j < sizeof(secret); j++)
			secret[j] = (uint8_t)(i * 31 + j * 7);
		assert_int_equal(toride_dev_initial_password(secret, pw, sizeof(pw)), 0);
		accepted(dev, "admin", pw);
	}
}

static void
test_initial_password(void **state)
{
	(void)state;
	uint8_t s1[32], s2[32];
	char a[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1], b[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1],
	    c[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
	memset(s1, 0x11, sizeof(s1));
	memcpy(s2, s1, sizeof(s2));
	s2[31] ^= 1;
	assert_int_equal(toride_dev_initial_password(s1, a, sizeof(a)), 0);
	assert_int_equal(toride_dev_initial_password(s1, b, sizeof(b)), 0);
	assert_int_equal(toride_dev_initial_password(s2, c, sizeof(c)), 0);
	assert_string_equal(a, b);          /* deterministic */
	assert_string_not_equal(a, c);      /* one secret bit changes it */
	assert_int_equal(strlen(a), TORIDE_DEV_INITIAL_PASSWORD_LEN);
	/* Shape xxxxx-xxxxx-xxxxx over the 32-character alphabet without look-alikes. */
	size_t used[256] = {0};
	for (unsigned i = 0; i < 2000; i++) {
		uint8_t s[32];
		char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
		randombytes_buf(s, sizeof(s));
		assert_int_equal(toride_dev_initial_password(s, pw, sizeof(pw)), 0);
		for (size_t k = 0; k < TORIDE_DEV_INITIAL_PASSWORD_LEN; k++) {
			if (k == 5 || k == 11) {
				assert_int_equal(pw[k], '-');
				continue;
			}
			assert_non_null(strchr("23456789abcdefghjkmnpqrstuvwxyz#", pw[k]));
			assert_null(strchr("01ilo", pw[k]));
			used[(unsigned char)pw[k]]++;
		}
	}
	size_t distinct = 0;
	for (size_t i = 0; i < 256; i++)
		distinct += used[i] > 0;
	assert_int_equal(distinct, 32); /* the whole alphabet is used: 5 bits per character */
	assert_int_equal(toride_dev_initial_password(s1, a, TORIDE_DEV_INITIAL_PASSWORD_LEN),
	                 TORIDE_DEV_ETOOBIG);
	assert_int_equal(toride_dev_initial_password(NULL, a, sizeof(a)), TORIDE_DEV_EINVAL);
}

static void
test_label(void **state)
{
	(void)state;
	struct toride_dev *dev = new_dev();
	char out[1024], pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
	assert_int_equal(toride_dev_label(dev, NULL, out, sizeof(out)), TORIDE_DEV_ESTATE);
	dev->provisioned = true;
	dev->initial_mode = TORIDE_DEV_INITIAL_UNIQUE;
	snprintf(dev->first_user, sizeof(dev->first_user), "%s", "admin");
	memset(dev->secret, 0x42, sizeof(dev->secret));
	assert_int_equal(toride_dev_initial_password(dev->secret, pw, sizeof(pw)), 0);
	assert_int_equal(toride_dev_label(dev, NULL, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "TR-100X"));
	assert_non_null(strstr(out, "SN2024-000731"));
	assert_non_null(strstr(out, "00:1A:2B:3C:4D:5E"));
	assert_non_null(strstr(out, "admin"));
	assert_non_null(strstr(out, "初期パスワード / Initial password: "));
	assert_non_null(strstr(out, pw));
	char given[1024];
	assert_int_equal(toride_dev_label(dev, pw, given, sizeof(given)), 0);
	assert_string_equal(out, given);
	/* Too small: an error and no partial label. */
	assert_int_equal(toride_dev_label(dev, NULL, out, 40), TORIDE_DEV_ETOOBIG);
	assert_int_equal(out[0], '\0');
	/* DEFAULT mode: no password, the forced change instead. */
	dev->initial_mode = TORIDE_DEV_INITIAL_DEFAULT;
	assert_int_equal(toride_dev_label(dev, "ignored-secret", out, sizeof(out)), 0);
	assert_null(strstr(out, "ignored-secret"));
	assert_null(strstr(out, "Initial password"));
	assert_non_null(strstr(out, "must be changed at first login"));
	assert_non_null(strstr(out, "初回ログイン時"));
	free_dev(dev);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_blocklist_hostile(void **state)
{
	(void)state;
	char path[] = "/tmp/toride-blocklist-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	static const char text[] =
	    "# comment line\n"
	    "#\n"
	    "#l@$ak#.lk;0@p\n"                  /* a real default password that starts with '#' */
	    "\n"
	    "   \n"
	    "Kyoto-Secret-1\r\n"                /* CRLF, upper case */
	    "kyoto-secret-1\n"                  /* duplicate after lower-casing */
	    "  spaced entry  \n"
	    "bad\x01" "control\n"
	    "nul\0inside\n"
	    "bad\xc3\x28utf8\n"
	    "\xe5\xaf\x8c\xe5\xa3\xab\xe5\xb1\xb1pass\n" /* 富士山pass */
	    "zzz-last-no-newline";
	struct toride_dev *dev = new_dev();
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(dev_blocklist_load(dev, path), 0);
	const char *want[] = {"#l@$ak#.lk;0@p", "kyoto-secret-1", "spaced entry", "zzz-last-no-newline",
	                      "\xe5\xaf\x8c\xe5\xa3\xab\xe5\xb1\xb1pass"};
	assert_int_equal(dev->n_blocklist, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(dev->blocklist[i], want[i]);
	refused(dev, "root", "KYOTO-SECRET-1!!", "known default");
	refused(dev, "root", "  Spaced Entry 99", "known default");
	refused(dev, "root", "富士山PASS2024!", "known default");

	/* Lines longer than 128 bytes are skipped whole, the next line still counts. */
	char longf[600];
	memset(longf, 'q', 300);
	memcpy(longf + 300, "\nnext-line-entry\n", 17);
	write_file(path, longf, 317);
	assert_int_equal(dev_blocklist_load(dev, path), 0);
	assert_int_equal(dev->n_blocklist, 1);
	assert_string_equal(dev->blocklist[0], "next-line-entry");

	/* Exactly 128 bytes is an entry; 129 is not. */
	char edge[300];
	memset(edge, 'w', 128);
	edge[128] = '\n';
	memset(edge + 129, 'v', 129);
	edge[258] = '\n';
	write_file(path, edge, 259);
	assert_int_equal(dev_blocklist_load(dev, path), 0);
	assert_int_equal(dev->n_blocklist, 1);
	assert_int_equal(strlen(dev->blocklist[0]), 128);

	/* Over the entry cap: refused, and the previous list stays. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (unsigned i = 0; i < 200001; i++)
		fprintf(f, "p%u\n", i);
	fclose(f);
	assert_int_equal(dev_blocklist_load(dev, path), TORIDE_DEV_ETOOBIG);
	assert_int_equal(dev->n_blocklist, 1);

	/* Empty file: an empty list. Missing file: ENOENT. */
	write_file(path, "", 0);
	assert_int_equal(dev_blocklist_load(dev, path), 0);
	assert_int_equal(dev->n_blocklist, 0);
	unlink(path);
	assert_int_equal(dev_blocklist_load(dev, path), TORIDE_DEV_ENOENT);
	free_dev(dev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shipped_blocklist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirai_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_length_and_encoding, setup, teardown),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test_setup_teardown(test_user_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identifiers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_passwords, setup, teardown),
		cmocka_unit_test(test_initial_password),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_blocklist_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
