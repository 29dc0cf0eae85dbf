/*
 * YARA classification with the shipped rules (data/yara): every rule has a positive case (typed
 * sessions from tests/data/honeypot/samples, synthetic ELF files holding a family's strings as
 * its binary stores them, Mirai's table XOR 0x22 computed here from the decoded strings), and
 * negatives must match nothing: the machine's real /bin/busybox, random bytes, a busybox-like
 * ELF, ELFs with a single weak string, plain (unencoded) Mirai strings, an owner's ordinary
 * session. Also: a rule only counts for its target, loading refuses broken or meta-less rules
 * with file:line or the rule's name, and results have no duplicates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/escape.h"
#include "honeypot/hp.h"

#define RULES_DIR TORIDE_SOURCE_DIR "/data/yara"
#define FIXTURES TORIDE_TEST_DATA "/honeypot/samples"

static struct hp_yara *Y;
/* every rule that matched in a positive case, to check that no shipped rule goes untested */
static json_t *seen_rules;

static int
group_setup(void **state)
{
	(void)state;
	char err[512];
	if (hp_yara_load(&Y, RULES_DIR, err, sizeof err) != 0) {
		fprintf(stderr, "load: %s\n", err);
		return -1;
	}
	seen_rules = json_array();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	hp_yara_free(Y);
	json_decref(seen_rules);
	return 0;
}

static bool
has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* Scan and return the families (new reference); rules matched go to *rules_out if not NULL. */
static json_t *
scan(const uint8_t *p, size_t n, bool is_session, json_t **rules_out)
{
	json_t *rules = json_array(), *fams = json_array();
	assert_int_equal(hp_yara_scan(Y, p, n, is_session, rules, fams), 0);
	size_t i;
	json_t *v;
	json_array_foreach(rules, i, v)
	{
		if (!has(seen_rules, json_string_value(v)))
			json_array_append(seen_rules, v);
	}
	if (rules_out != NULL)
		*rules_out = rules;
	else
		json_decref(rules);
	return fams;
}

static void
expect_families(const uint8_t *p, size_t n, bool is_session, const char *want, const char *rule)
{
	json_t *rules = NULL;
	json_t *fams = scan(p, n, is_session, &rules);
	char *fs = json_dumps(fams, 0), *rs = json_dumps(rules, 0);
	if (want == NULL) {
		if (json_array_size(fams) != 0 || json_array_size(rules) != 0)
			fail_msg("expected no match, got %s %s", fs, rs);
	} else {
		if (json_array_size(fams) != 1 || !has(fams, want))
			fail_msg("expected [%s], got %s %s", want, fs, rs);
		if (rule != NULL && !has(rules, rule))
			fail_msg("expected rule %s, got %s", rule, rs);
	}
	free(fs);
	free(rs);
	json_decref(fams);
	json_decref(rules);
}

static uint8_t *
read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	static const size_t cap = 4u * 1024u * 1024u;
	uint8_t *b = malloc(cap);
	assert_non_null(b);
	*n = fread(b, 1, cap, f);
	fclose(f);
	return b;
}

static void
check_session(const char *name, const char *want, const char *rule)
{
	char path[512];
	size_t n;
	snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
	uint8_t *raw = read_file(path, &n);
	/* raw bytes, and the escaped text the records hold: same answer */
	expect_families(raw, n, true, want, rule);
	char *esc = toride_escape_bytes(raw, n);
	assert_non_null(esc);
	expect_families((const uint8_t *)esc, strlen(esc), true, want, rule);
	/* a session transcript is not a sample: session rules do not count there */
	expect_families(raw, n, false, NULL, NULL);
	free(esc);
	free(raw);
}

static void
test_sessions(void **state)
{
	(void)state;
	check_session("session_mirai_scanner.txt", "mirai", "mirai_scanner_session");
	check_session("session_mirai_loader.txt", "mirai", "mirai_loader_session");
	check_session("session_mirai_variant.txt", "mirai", "mirai_variant_session");
	check_session("session_gafgyt.txt", "gafgyt", "gafgyt_dropper_session");
	check_session("session_hajime.txt", "hajime", "hajime_loader_session");
	check_session("session_hide_and_seek.txt", "hide-and-seek", "hide_and_seek_peer_download_session");
	check_session("session_mozi.txt", "mozi", "mozi_download_session");
	check_session("session_benign_admin.txt", NULL, NULL);
}

/* ---- synthetic ELF samples ---- */

struct elf {
	uint8_t b[64 * 1024];
	size_t n;
};

/* A 32-bit ELF executable header (e_machine 40 ARM little-endian, 8 MIPS big-endian), then
 * code-like filler; strings are appended with filler between them as a linker would. */
static void
elf_init(struct elf *e, uint16_t machine, bool big_endian)
{
	memset(e, 0, sizeof *e);
	memcpy(e->b, "\x7f" "ELF", 4);
	e->b[4] = 1;
	e->b[5] = big_endian ? 2 : 1;
	e->b[6] = 1;
	e->b[16] = 2;
	e->b[18] = big_endian ? 0 : (uint8_t)machine;
	e->b[19] = big_endian ? (uint8_t)machine : 0;
	e->b[20] = big_endian ? 0 : 1;
	e->b[23] = big_endian ? 1 : 0;
	e->n = 52;
	/* deterministic pseudo-code: not text, no accidental strings of interest */
	uint32_t x = 0x12345678u ^ machine;
	for (int i = 0; i < 2048; i++) {
		x = x * 1103515245u + 12345u;
		e->b[e->n++] = (uint8_t)(x >> 24) | 0x80;
	}
}

static void
elf_bytes(struct elf *e, const void *p, size_t n)
{
	assert_true(e->n + n + 8 < sizeof e->b);
	memcpy(e->b + e->n, p, n);
	e->n += n;
	memset(e->b + e->n, 0, 4); /* alignment padding */
	e->n += 4;
}

static void
elf_str(struct elf *e, const char *s)
{
	elf_bytes(e, s, strlen(s) + 1);
}

/* Mirai's table.c: strings stored XOR 0x22 (table_key 0xdeadbeef folded), NUL included. */
static void
elf_mirai_str(struct elf *e, const char *s, bool with_nul)
{
	uint8_t enc[256];
	size_t n = strlen(s) + (with_nul ? 1 : 0);
	assert_true(n <= sizeof enc);
	for (size_t i = 0; i < n; i++)
		enc[i] = (uint8_t)((uint8_t)s[i] ^ 0x22);
	elf_bytes(e, enc, n);
}

static void
test_sample_mirai(void **state)
{
	(void)state;
	static struct elf e;
	/* decoded strings of mirai/bot/table.c and scanner.c (data/credentials/mirai_table_strings.tsv) */
	static const char *const table[] = {
		"cnc.changeme.com", "listening tun0", "https://youtu.be/dQw4w9WgXcQ", "/proc/", "/exe",
		"REPORT %s:%s", "HTTPFLOOD", "LOLNOGTFO", "GETLOCALIP", "shell", "enable", "system", "sh",
		"/bin/busybox MIRAI", "MIRAI: applet not found", "ncorrect", "/bin/busybox ps",
		"/bin/busybox kill -9 ", "TSource Engine Query", "/etc/resolv.conf",
	};
	elf_init(&e, 40, false);
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		elf_mirai_str(&e, table[i], true);
	elf_mirai_str(&e, "root", false);
	elf_mirai_str(&e, "xc3511", false);
	elf_mirai_str(&e, "admin", false);
	elf_mirai_str(&e, "7ujMko0admin", false);
	expect_families(e.b, e.n, false, "mirai", "mirai_table_xor22");

	/* MIPS big-endian build with only the scanner's part of the table */
	elf_init(&e, 8, true);
	elf_mirai_str(&e, "/bin/busybox MIRAI", true);
	elf_mirai_str(&e, "MIRAI: applet not found", true);
	elf_mirai_str(&e, "ncorrect", true);
	expect_families(e.b, e.n, false, "mirai", "mirai_table_xor22");

	/* the same strings in plain text are not Mirai's binary (the encoding is the evidence) */
	elf_init(&e, 40, false);
	elf_str(&e, "/bin/busybox kill -9 ");
	elf_str(&e, "listening tun0");
	elf_str(&e, "ncorrect");
	elf_str(&e, "https://youtu.be/dQw4w9WgXcQ");
	json_t *fams = scan(e.b, e.n, false, NULL);
	assert_false(has(fams, "mirai"));
	json_decref(fams);

	/* one weak encoded string (a credential) is not enough */
	elf_init(&e, 40, false);
	elf_mirai_str(&e, "xc3511", false);
	elf_mirai_str(&e, "/proc/", true);
	expect_families(e.b, e.n, false, NULL, NULL);
}

static void
test_sample_gafgyt(void **state)
{
	(void)state;
	static struct elf e;
	elf_init(&e, 8, true);
	static const char *const cmds[] = { "PING", "PONG!", "GETLOCALIP", "SCANNER", "HTTPFLOOD",
		                             "LOLNOGTFO", "KILLATTK", "UDP", "TCP", "JUNK", "HOLD",
		                             "REPORT %s:%s" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		elf_str(&e, cmds[i]);
	expect_families(e.b, e.n, false, "gafgyt", "gafgyt_commands_sample");

	/* an ELF with one weak string */
	elf_init(&e, 8, true);
	elf_str(&e, "PONG!");
	expect_families(e.b, e.n, false, NULL, NULL);
	/* the keywords in a shell script are not a binary */
	const char *script = "#!/bin/sh\necho PONG! GETLOCALIP HTTPFLOOD LOLNOGTFO\n";
	expect_families((const uint8_t *)script, strlen(script), false, NULL, NULL);
}

static void
test_sample_others(void **state)
{
	(void)state;
	static struct elf e;
	/* Hajime: the terminal message (Symantec 2017) */
	elf_init(&e, 40, false);
	elf_str(&e, "Just a white hat, securing some systems.\nImportant messages will be signed like "
	            "this!\nHajime Author.\nContact CLOSED\nStay sharp!");
	expect_families(e.b, e.n, false, "hajime", "hajime_message_sample");

	/* Tsunami/Kaiten: IRC NOTICE replies and command names */
	elf_init(&e, 8, true);
	elf_str(&e, "NOTICE %s :TSUNAMI <target> <secs>");
	elf_str(&e, "NOTICE %s :PAN <target> <port> <secs>");
	elf_str(&e, "NOTICE %s :GETSPOOFS");
	elf_str(&e, "NOTICE %s :SPOOFS <subnet>");
	elf_str(&e, "NOTICE %s :KILLALL");
	elf_str(&e, "PRIVMSG %s :%s");
	expect_families(e.b, e.n, false, "tsunami", "tsunami_irc_commands_sample");

	/* Mozi (unpacked): DHT bootstrap nodes and config tags */
	elf_init(&e, 40, false);
	elf_str(&e, "dht.transmissionbt.com:6881");
	elf_str(&e, "router.bittorrent.com:6881");
	elf_str(&e, "router.utorrent.com:6881");
	static const char *const tags[] = { "[ss]", "[ssx]", "[cpx]", "[hp]", "[cpu]", "[nd]", "[ud]",
		                             "[dr]", "[rn]", "[dip]", "[count]" };
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
		elf_str(&e, tags[i]);
	expect_families(e.b, e.n, false, "mozi", "mozi_dht_config_sample");

	/* a torrent client holds the bootstrap nodes but not Mozi's tags */
	elf_init(&e, 62, false);
	elf_str(&e, "dht.transmissionbt.com:6881");
	elf_str(&e, "router.bittorrent.com:6881");
	elf_str(&e, "router.utorrent.com:6881");
	elf_str(&e, "[%s] %s");
	expect_families(e.b, e.n, false, NULL, NULL);
}

static void
test_negatives(void **state)
{
	(void)state;
	/* the machine's own busybox: every applet name, "applet not found", wget, tftp */
	size_t n;
	uint8_t *bb = read_file("/bin/busybox", &n);
	assert_true(n > 100000);
	expect_families(bb, n, false, NULL, NULL);
	expect_families(bb, n, true, NULL, NULL);
	free(bb);

	/* a busybox-like ELF */
	static struct elf e;
	elf_init(&e, 40, false);
	static const char *const bbs[] = { "BusyBox v1.22.1 (2014-05-22 21:02:20 CST)", "%s: applet not found",
		                            "/bin/busybox", "wget", "tftp", "ftpget", "Usage: %s", "sh",
		                            "enable", "system", "shell", "/proc/mounts", "echo" };
	for (size_t i = 0; i < sizeof bbs / sizeof bbs[0]; i++)
		elf_str(&e, bbs[i]);
	expect_families(e.b, e.n, false, NULL, NULL);

	/* random bytes, with and without an ELF header */
	static uint8_t rnd[256 * 1024];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < sizeof rnd; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rnd[i] = (uint8_t)x;
	}
	expect_families(rnd, sizeof rnd, false, NULL, NULL);
	expect_families(rnd, sizeof rnd, true, NULL, NULL);
	memcpy(rnd, "\x7f" "ELF\x01\x01\x01", 7);
	expect_families(rnd, sizeof rnd, false, NULL, NULL);

	/* empty input */
	expect_families((const uint8_t *)"", 0, false, NULL, NULL);
	expect_families(NULL, 0, true, NULL, NULL);
}

static void
test_no_duplicates(void **state)
{
	(void)state;
	/* the loader transcript twice: one family, each rule once, arrays appended to, not replaced */
	size_t n;
	char path[512];
	snprintf(path, sizeof path, "%s/session_mirai_loader.txt", FIXTURES);
	uint8_t *raw = read_file(path, &n);
	json_t *rules = json_array(), *fams = json_array();
	json_array_append_new(fams, json_string("earlier"));
	assert_int_equal(hp_yara_scan(Y, raw, n, true, rules, fams), 0);
	assert_int_equal(hp_yara_scan(Y, raw, n, true, rules, fams), 0);
	assert_int_equal(json_array_size(fams), 2);
	assert_true(has(fams, "earlier") && has(fams, "mirai"));
	assert_int_equal(json_array_size(rules), 1);
	assert_int_equal(hp_yara_scan(Y, raw, n, true, NULL, fams), TORIDE_EINVAL);
	json_decref(rules);
	json_decref(fams);
	free(raw);
}

/* Runs last: every rule shipped in data/yara matched at least one positive above. */
static void
test_every_rule_has_a_positive(void **state)
{
	(void)state;
	DIR *d = opendir(RULES_DIR);
	assert_non_null(d);
	struct dirent *de;
	size_t nrules = 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".yar") != 0)
			continue;
		char path[512], line[1024];
		snprintf(path, sizeof path, "%s/%s", RULES_DIR, de->d_name);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof line, f) != NULL) {
			char name[256];
			if (sscanf(line, "rule %255[A-Za-z0-9_]", name) == 1) {
				nrules++;
				if (!has(seen_rules, name))
					fail_msg("rule %s (%s) has no positive test", name, de->d_name);
			}
		}
		fclose(f);
	}
	closedir(d);
	assert_true(nrules >= 10);
}

/* ---- loading ---- */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_load_errors(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_hp_classify.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p1[256], p2[256], err[512];
	struct hp_yara *y = NULL;

	/* empty directory, missing directory */
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), TORIDE_EIO);
	assert_null(y);
	assert_int_equal(hp_yara_load(&y, "/nonexistent/toride/yara", err, sizeof err), TORIDE_EIO);
	assert_non_null(strstr(err, "/nonexistent/toride/yara"));

	/* a syntax error: named by file and line; files load in name order */
	snprintf(p1, sizeof p1, "%s/a.yar", dir);
	snprintf(p2, sizeof p2, "%s/b.yar", dir);
	write_file(p1, "rule ok_rule { meta: family = \"x\" target = \"any\" strings: $a = \"zz\" condition: $a }\n");
	write_file(p2, "rule fine { meta: family = \"x\" target = \"any\" condition: true }\n\nrule broken { condition: $nosuch }\n");
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), TORIDE_EPARSE);
	assert_null(y);
	char want[300];
	snprintf(want, sizeof want, "%s:3:", p2);
	if (strstr(err, want) == NULL)
		fail_msg("error does not name %s: %s", want, err);

	/* missing family meta, bad target meta */
	write_file(p2, "rule nofamily { meta: target = \"sample\" condition: false }\n");
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "nofamily"));
	write_file(p2, "rule badtarget { meta: family = \"x\" target = \"file\" condition: false }\n");
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "badtarget"));
	write_file(p2, "rule upper { meta: family = \"Mirai\" target = \"any\" condition: false }\n");
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), TORIDE_EPARSE);
	/* the same rule name in two files is one namespace's duplicate */
	write_file(p2, "rule ok_rule { meta: family = \"x\" target = \"any\" condition: false }\n");
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), TORIDE_EPARSE);

	/* a private helper rule needs no metas; "any" rules count for both targets */
	write_file(p2, "private rule helper { strings: $z = \"zz\" condition: $z }\n"
	               "rule uses_helper { meta: family = \"y\" target = \"any\" condition: helper }\n");
	write_file(p1, "rule ok_rule { meta: family = \"x\" target = \"sample\" strings: $a = \"zz\" condition: $a }\n");
	assert_int_equal(hp_yara_load(&y, dir, err, sizeof err), 0);
	json_t *r = json_array(), *f = json_array();
	assert_int_equal(hp_yara_scan(y, (const uint8_t *)"..zz..", 6, true, r, f), 0);
	assert_int_equal(json_array_size(f), 1);
	assert_true(has(f, "y") && has(r, "uses_helper"));
	assert_int_equal(hp_yara_scan(y, (const uint8_t *)"..zz..", 6, false, r, f), 0);
	assert_true(has(f, "x") && has(r, "ok_rule"));
	json_decref(r);
	json_decref(f);
	hp_yara_free(y);

	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_sample_mirai),
		cmocka_unit_test(test_sample_gafgyt),
		cmocka_unit_test(test_sample_others),
		cmocka_unit_test(test_negatives),
		cmocka_unit_test(test_no_duplicates),
		cmocka_unit_test(test_every_rule_has_a_positive),
		cmocka_unit_test(test_load_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
