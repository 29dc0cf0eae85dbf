#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/escape.h"
#include "proto/telnet.h"

#define IAC 255
#define DONT 254
#define DO 253
#define WONT 252
#define WILL 251
#define SB 250
#define SE 240
#define O_ECHO 1
#define O_SGA 3
#define O_TTYPE 24
#define O_NAWS 31
#define O_NEW_ENVIRON 39
#define O_COMPRESS2 86

/* ---------------------------------------------------------------------------------------- */
/* helpers */

static uint8_t *
read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long sz = ftell(f);
	assert_true(sz >= 0);
	rewind(f);
	uint8_t *p = malloc((size_t)sz + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	p[sz] = 0;
	*n = (size_t)sz;
	return p;
}

static enum toride_tn_screen
cls(const char *s)
{
	return toride_telnet_classify(s, strlen(s));
}

static enum toride_tn_screen
prompt(const char *s)
{
	return toride_telnet_classify_prompt(s, strlen(s));
}

#define assert_screen(got, want)                                                                   \
	do {                                                                                       \
		enum toride_tn_screen g_ = (got), w_ = (want);                                     \
		if (g_ != w_)                                                                      \
			fail_msg("%s: got %s, want %s", #got, toride_telnet_screen_name(g_),       \
				 toride_telnet_screen_name(w_));                                   \
	} while (0)

/* Feed bytes through a fresh client session in one call; app/reply caps generous. */
static void
feed_whole(const uint8_t *in, size_t n, struct toride_buf *app, struct toride_buf *reply)
{
	struct toride_telnet *t;
	assert_int_equal(toride_telnet_client_new(&t), 0);
	assert_int_equal(toride_telnet_recv(t, in, n, app, reply), 0);
	toride_telnet_free(t);
}

/* Count occurrences of a byte string. */
static size_t
count_mem(const uint8_t *h, size_t hn, const void *needle, size_t nn)
{
	size_t c = 0;
	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, needle, nn) == 0)
			c++;
	return c;
}

/* ---------------------------------------------------------------------------------------- */
/* real banners (rapid7 recog telnet_banners.xml examples) */

/* Last non-empty line of raw bytes (split on CR/LF, NULs dropped, spaces trimmed), lower-cased:
 * an independent, simple reading of what the screen ends with. */
static void
simple_last_line(const uint8_t *p, size_t n, char *out, size_t outcap)
{
	size_t end = n;
	while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' ' ||
			   p[end - 1] == 0 || p[end - 1] == '\t'))
		end--;
	size_t start = end;
	while (start > 0 && p[start - 1] != '\r' && p[start - 1] != '\n')
		start--;
	size_t o = 0;
	for (size_t i = start; i < end && o + 1 < outcap; i++)
		if (p[i] != 0)
			out[o++] = (char)tolower(p[i]);
	out[o] = 0;
	char *s = out;
	while (*s == ' ')
		s++;
	memmove(out, s, strlen(s) + 1);
}

static bool
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static bool
ends_like_login(const char *l)
{
	static const char *const suf[] = {
		"login:", "username:", "user:", "user name:", "user name :", "account:",
		"account name:", "login name:", NULL,
	};
	for (size_t i = 0; suf[i] != NULL; i++)
		if (ends_with(l, suf[i]))
			return true;
	return false;
}

static void
test_recog_banner_examples(void **state)
{
	(void)state;
	size_t n;
	char *tsv = (char *)read_file(TORIDE_TEST_DATA "/banners/telnet_banners.examples.tsv", &n);
	size_t counts[6] = {0}, want_login = 0, want_pass = 0, examples = 0, wrong = 0;
	char *save = NULL;
	for (char *line = strtok_r(tsv, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || strncmp(line, "example\t", 8) == 0)
			continue;
		char *tab = strchr(line, '\t');
		if (tab != NULL)
			*tab = 0;
		uint8_t raw[8192];
		long len = toride_unescape_bytes(line, raw, sizeof raw);
		assert_true(len >= 0);
		examples++;
		enum toride_tn_screen p = toride_telnet_classify_prompt((const char *)raw, (size_t)len);
		enum toride_tn_screen c = toride_telnet_classify((const char *)raw, (size_t)len);
		counts[p]++;
		char last[8192];
		simple_last_line(raw, (size_t)len, last, sizeof last);
		bool bad = false;
		if (ends_with(last, "password:")) {
			want_pass++;
			bad = p != TORIDE_TN_PASSWORD_PROMPT || c != TORIDE_TN_PASSWORD_PROMPT;
		} else if (ends_like_login(last)) {
			want_login++;
			bad = p != TORIDE_TN_LOGIN_PROMPT || c != TORIDE_TN_LOGIN_PROMPT;
		} else if (p == TORIDE_TN_SHELL_PROMPT) {
			/* Only a line that really is a bare prompt symbol line may be a shell. */
			size_t ll = strlen(last);
			bad = !(ll > 0 && ll <= 80 && strchr("#$>%", last[ll - 1]) != NULL);
		}
		if (bad) {
			wrong++;
			print_message("misclassified (%s): %s\n", toride_telnet_screen_name(p), line);
		}
	}
	print_message("%zu examples: login %zu (want >= %zu), password %zu (want >= %zu), shell %zu, "
		      "press-key %zu, nothing %zu\n",
		      examples, counts[TORIDE_TN_LOGIN_PROMPT], want_login, counts[TORIDE_TN_PASSWORD_PROMPT],
		      want_pass, counts[TORIDE_TN_SHELL_PROMPT], counts[TORIDE_TN_PRESS_KEY],
		      counts[TORIDE_TN_NOTHING]);
	assert_true(examples >= 170);
	assert_true(want_login >= 90);
	assert_true(want_pass >= 10);
	assert_int_equal(wrong, 0);
	free(tsv);
}

/* Specific recog examples whose class is not just "ends with login:". */
static void
test_recog_special_cases(void **state)
{
	(void)state;
	/* Moxa: NVT CR NUL line ends, "keyin" wording. */
	assert_screen(prompt("Model name       : NPort IA-5250\r\x00\nMAC address      : 00:90:E8:AA:AA:AA"), TORIDE_TN_NOTHING);
	static const char moxa[] = "Firmware version : 1.6 Build 17060616\r\0\n\r\0\nPlease keyin your password:";
	assert_screen(toride_telnet_classify(moxa, sizeof moxa - 1), TORIDE_TN_PASSWORD_PROMPT);
	assert_screen(prompt("Model name       : NPort 5110A\r\n\r\nPlease keyin your username:\n"), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(prompt("HP JetDirect\r\n\r\nEnter username:\n"), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(prompt("Welcome to Gemadept Logistics RF Server\n\nlogin name: "), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(prompt("Account Name: "), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(prompt("+====+\n\nEnter Password: "), TORIDE_TN_PASSWORD_PROMPT);
	/* JetDirect without a password drops straight to its '>' command prompt. */
	assert_screen(prompt("HP JetDirect\r\nPassword is not set\r\n\r\nPlease type \"menu\" for the MENU system, \r\n"
			     "or \"?\" for help, or \"/\" for current settings.\r\n>\n"),
		      TORIDE_TN_SHELL_PROMPT);
	/* Not prompts. */
	assert_screen(prompt("Raptor Firewall Secure Gateway.\n\nHostname: "), TORIDE_TN_NOTHING);
	assert_screen(prompt("% Username:  timeout expired!"), TORIDE_TN_NOTHING);
	assert_screen(prompt("%connection closed by remote host!"), TORIDE_TN_NOTHING);
	assert_screen(prompt("Welcome. Type return, enter password at # prompt\n"), TORIDE_TN_NOTHING);
	assert_screen(prompt("BCM96318 Broadband Router\r\nPlease input the verification code:\n"), TORIDE_TN_NOTHING);
	assert_screen(prompt("Catalyst 1900 Management Console\r\nPower Supply S/N:   \n"), TORIDE_TN_NOTHING);
	/* Lantronix setup menus. */
	assert_screen(prompt("*** Lantronix UDS1100-IAP Device Server ***\n\nPress Enter for Setup Mode\n"), TORIDE_TN_PRESS_KEY);
	/* Lockouts and failures seen in banners. */
	assert_screen(cls("TD-W8960N 5.0 DSL Modem Router\r\nAuthorization failed after trying 5 times!!!.\r\n"
			  "Please login after 416 seconds!"),
		      TORIDE_TN_FAILURE);
	assert_screen(cls("BCM96328 Broadband Router\r\nMaximum number of incorrect account entries exceeded.\n"),
		      TORIDE_TN_FAILURE);
}

/* ---------------------------------------------------------------------------------------- */
/* transcripts written from busybox login / telnetd behaviour */

static void
test_busybox_transcripts(void **state)
{
	(void)state;
	assert_screen(cls("\r\n(none) login: "), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(cls("Password: "), TORIDE_TN_PASSWORD_PROMPT);
	const char *again = "\r\nLogin incorrect\r\n(none) login: ";
	assert_true(toride_telnet_text_has_failure(again, strlen(again)));
	assert_screen(cls(again), TORIDE_TN_FAILURE);
	assert_screen(prompt(again), TORIDE_TN_LOGIN_PROMPT);
	const char *shell = "\r\n\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+b1) built-in shell (ash)\r\n"
			    "Enter 'help' for a list of built-in commands.\r\n\r\n~ # ";
	assert_screen(cls(shell), TORIDE_TN_SHELL_PROMPT);
	assert_false(toride_telnet_text_has_failure(shell, strlen(shell)));
	/* getty-style console activation. */
	assert_screen(cls("\r\nPlease press Enter to activate this console. "), TORIDE_TN_PRESS_KEY);
}

static void
test_login_prompts(void **state)
{
	(void)state;
	static const char *const logins[] = {
		"192.0.0.64 login:", "(none) login:", "Username:", "User:", "Login:", "DVR login: ", "LOGIN:",
		"User Name :", "HiLinux login:", "dm500plus login:", "Please input username:", "login: \r\n",
		"Enter user name: ", "UserID:", "Name:", "Login>", "username> ",
		"\x1b[0;1mlogin:\x1b[0m ",                                  /* ANSI colours */
		"\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6\xe5\x90\x8d\xef\xbc\x9a", /* ユーザ名： UTF-8 */
		"\x83\x86\x81\x5b\x83\x55\x96\xbc\x81\x46",                     /* ユーザ名： Shift_JIS */
		"\xd3\xc3\xbb\xa7\xc3\xfb:",                                    /* 用户名: GBK */
		"\xe7\x99\xbb\xe5\xbd\x95\xe5\x90\x8d:",                        /* 登录名: UTF-8 */
		NULL,
	};
	for (size_t i = 0; logins[i] != NULL; i++) {
		if (prompt(logins[i]) != TORIDE_TN_LOGIN_PROMPT)
			fail_msg("not a login prompt: \"%s\" (%s)", logins[i],
				 toride_telnet_screen_name(prompt(logins[i])));
	}
}

static void
test_password_prompts(void **state)
{
	(void)state;
	static const char *const pw[] = {
		"Password:", "Password: ", "password:", "PASSWORD:", "Passwd:", "Enter PIN:", "Pass:",
		"Login password:", "admin's password: ", "Password>", "Passcode :",
		"\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89:", /* パスワード: UTF-8 */
		"\x83\x70\x83\x58\x83\x8f\x81\x5b\x83\x68\x81\x46",             /* パスワード： SJIS */
		"\xe5\xaf\x86\xe7\xa0\x81\xef\xbc\x9a",                         /* 密码： UTF-8 */
		"\xc3\xdc\xc2\xeb:",                                            /* 密码: GBK */
		NULL,
	};
	for (size_t i = 0; pw[i] != NULL; i++) {
		if (prompt(pw[i]) != TORIDE_TN_PASSWORD_PROMPT)
			fail_msg("not a password prompt: \"%s\" (%s)", pw[i],
				 toride_telnet_screen_name(prompt(pw[i])));
	}
	/* Word boundaries: "pin"/"pass" inside other words are not password prompts. */
	assert_screen(prompt("Spinning up:"), TORIDE_TN_NOTHING);
	assert_screen(prompt("Passport 8010:"), TORIDE_TN_NOTHING);
	/* A password mention that does not end in a prompt is not a prompt. */
	assert_screen(prompt("Password is not set"), TORIDE_TN_NOTHING);
}

static void
test_shell_prompts(void **state)
{
	(void)state;
	static const char *const shells[] = {
		"# ", "/ # ", "~ $ ", "$", "root@dvr:~# ", "[root@host ~]# ", "BusyBox v1.20\r\n# ", "admin> ",
		"Router#", "Router>", "DM500> ", "<HUAWEI>", "C:\\Documents and Settings\\Admin>", "host% ",
		"\x1b[1;32mroot@dvr\x1b[0m:\x1b[1;34m~\x1b[0m# ", "RP/0/RSP0/CPU0:ios#", "user@box:~>",
		NULL,
	};
	for (size_t i = 0; shells[i] != NULL; i++) {
		if (prompt(shells[i]) != TORIDE_TN_SHELL_PROMPT)
			fail_msg("not a shell prompt: \"%s\" (%s)", shells[i],
				 toride_telnet_screen_name(prompt(shells[i])));
	}
	static const char *const decor[] = {
		"##########", "$$$$", "#### Welcome ####", "# comment text with many words #",
		"*************** #", "Welcome to the device, have fun #", "Loading 100%",
		"Welcome to <Device>", "Press <Enter>", "=====>", "This is a long line of text that goes on "
		"and on about the device and what it does before ending with a symbol #",
		"Type help, then press Enter >", NULL,
	};
	for (size_t i = 0; decor[i] != NULL; i++) {
		if (prompt(decor[i]) == TORIDE_TN_SHELL_PROMPT)
			fail_msg("decoration taken for a shell: \"%s\"", decor[i]);
	}
	/* A banner full of '#' and '$' ending in a real login prompt is a login prompt. */
	assert_screen(prompt("################\r\n#   Welcome   #\r\n$$$$$$$$$$$$$$$$\r\nlogin: "), TORIDE_TN_LOGIN_PROMPT);
	/* RHEL MOTD after a successful login mentions failed logins: still a shell candidate. */
	const char *rhel = "Last failed login: Tue Jan  2 03:04:05 UTC 2024 from 10.0.0.9 on ssh:notty\r\n"
			   "There were 3 failed login attempts since the last successful login.\r\n"
			   "Last login: Mon Jan  1 10:00:00 2024\r\n[root@host ~]# ";
	assert_true(toride_telnet_text_has_failure(rhel, strlen(rhel)));
	assert_screen(cls(rhel), TORIDE_TN_SHELL_PROMPT);
}

static void
test_failures(void **state)
{
	(void)state;
	static const char *const fails[] = {
		"Login incorrect", "% Authentication failed", "Access denied", "Invalid password",
		"Bad password\r\n", "Wrong username or password", "Login failed!", "Permission denied, please try again.",
		"% Login invalid\r\n\r\nUsername: ", "authentication error", "root login not allowed",
		"Authentication failure", "\xe3\x83\xad\xe3\x82\xb0\xe3\x82\xa4\xe3\x83\xb3\xe5\xa4\xb1\xe6\x95\x97", /* ログイン失敗 */
		"\xb5\xc7\xc2\xbc\xca\xa7\xb0\xdc", /* 登录失败 GBK */
		NULL,
	};
	for (size_t i = 0; fails[i] != NULL; i++) {
		if (!toride_telnet_text_has_failure(fails[i], strlen(fails[i])))
			fail_msg("failure not seen: \"%s\"", fails[i]);
		assert_screen(cls(fails[i]), TORIDE_TN_FAILURE);
	}
	assert_false(toride_telnet_text_has_failure("Welcome\r\nlogin: ", 16));
	assert_screen(prompt("% Login invalid\r\n\r\nUsername: "), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(prompt("Login incorrect\r\nPassword: "), TORIDE_TN_PASSWORD_PROMPT);
	assert_screen(cls(""), TORIDE_TN_NOTHING);
	assert_screen(cls("\r\n\r\n   \r\n"), TORIDE_TN_NOTHING);
	assert_screen(cls("Welcome to the device"), TORIDE_TN_NOTHING);
	assert_string_equal(toride_telnet_screen_name(TORIDE_TN_FAILURE), "failure");
}

/* ---------------------------------------------------------------------------------------- */
/* real capture: OpenBSD 2.6 telnetd, 1999 (nDPI test pcap) */

/* Server->client TCP payload of a classic little-endian pcap with Ethernet/IPv4/TCP frames.
 * Asserts the stream is contiguous (this capture has no loss or retransmission). */
static uint8_t *
pcap_server_stream(size_t *outlen)
{
	size_t n;
	uint8_t *p = read_file(TORIDE_TEST_DATA "/pcap/ndpi_telnet.pcap", &n);
	assert_true(n >= 24);
	assert_int_equal(p[0], 0xd4); /* a1b2c3d4 little-endian */
	uint8_t *out = malloc(n);
	assert_non_null(out);
	size_t o = 0, off = 24;
	uint32_t next_seq = 0;
	bool have_seq = false;
	while (off + 16 <= n) {
		uint32_t cl = (uint32_t)p[off + 8] | (uint32_t)p[off + 9] << 8 | (uint32_t)p[off + 10] << 16 |
			      (uint32_t)p[off + 11] << 24;
		off += 16;
		assert_true(cl <= n - off);
		const uint8_t *f = p + off;
		off += cl;
		if (cl < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
			continue;
		const uint8_t *ip = f + 14;
		size_t ihl = (size_t)(ip[0] & 15) * 4;
		size_t iplen = (size_t)ip[2] << 8 | ip[3];
		if (ip[9] != 6 || 14 + iplen > cl || iplen < ihl + 20)
			continue;
		const uint8_t *tcp = ip + ihl;
		unsigned sport = (unsigned)tcp[0] << 8 | tcp[1];
		uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
		size_t doff = (size_t)(tcp[12] >> 4) * 4;
		size_t plen = iplen - ihl - doff;
		if (sport != 23 || plen == 0)
			continue;
		if (have_seq)
			assert_int_equal(seq, next_seq);
		memcpy(out + o, tcp + doff, plen);
		o += plen;
		next_seq = seq + (uint32_t)plen;
		have_seq = true;
	}
	free(p);
	*outlen = o;
	return out;
}

/* Walk a client reply stream: every negotiation must be one we allow; returns count of commands. */
static void
check_client_replies(const uint8_t *r, size_t n)
{
	size_t i = 0;
	while (i < n) {
		assert_int_equal(r[i], IAC);
		assert_true(i + 2 < n);
		uint8_t cmd = r[i + 1], opt = r[i + 2];
		if (cmd == SB) {
			/* Only our NAWS and TTYPE IS answers. */
			assert_true(opt == O_NAWS || opt == O_TTYPE);
			size_t j = i + 3;
			while (j + 1 < n && !(r[j] == IAC && r[j + 1] == SE))
				j++;
			assert_true(j + 1 < n);
			i = j + 2;
			continue;
		}
		if (cmd == DO)
			assert_true(opt == O_ECHO || opt == O_SGA);
		else if (cmd == WILL)
			assert_true(opt == O_NAWS || opt == O_TTYPE);
		else
			assert_true(cmd == DONT || cmd == WONT);
		i += 3;
	}
}

static void
test_pcap_openbsd_login(void **state)
{
	(void)state;
	size_t n;
	uint8_t *in = pcap_server_stream(&n);
	assert_int_equal(n, 1371);

	struct toride_buf app1, rep1, app2, rep2;
	toride_buf_init(&app1, 1 << 20);
	toride_buf_init(&rep1, 1 << 20);
	toride_buf_init(&app2, 1 << 20);
	toride_buf_init(&rep2, 1 << 20);

	struct toride_telnet *t;
	assert_int_equal(toride_telnet_client_new(&t), 0);
	assert_int_equal(toride_telnet_recv(t, in, n, &app1, &rep1), 0);
	assert_true(toride_telnet_negotiated(t));
	char sum[512];
	assert_int_equal(toride_telnet_options_summary(t, sum, sizeof sum), 0);
	assert_non_null(strstr(sum, "DO AUTHENTICATION"));
	assert_non_null(strstr(sum, "WILL SGA"));
	assert_non_null(strstr(sum, "DO NAWS"));
	assert_non_null(strstr(sum, "SB TTYPE"));
	assert_non_null(strstr(sum, "SB NEW-ENVIRON"));
	print_message("OpenBSD telnetd options: %s\n", sum);
	toride_telnet_free(t);

	/* Same bytes in random 1..7 byte pieces give the same text and the same replies. */
	assert_int_equal(toride_telnet_client_new(&t), 0);
	unsigned seed = 12345;
	for (size_t off = 0; off < n;) {
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 7;
		if (k > n - off)
			k = n - off;
		assert_int_equal(toride_telnet_recv(t, in + off, k, &app2, &rep2), 0);
		off += k;
	}
	toride_telnet_free(t);
	assert_int_equal(app1.len, app2.len);
	assert_memory_equal(app1.data, app2.data, app1.len);
	assert_int_equal(rep1.len, rep2.len);
	assert_memory_equal(rep1.data, rep2.data, rep1.len);

	/* Decoded text has no telnet commands left and holds the dialogue. */
	assert_null(memchr(app1.data, IAC, app1.len));
	const char *txt;
	assert_int_equal(toride_buf_cstr(&app1, &txt), 0);
	const char *login = strstr(txt, "login: ");
	assert_non_null(login);
	assert_screen(toride_telnet_classify(txt, (size_t)(login - txt) + 7), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(toride_telnet_classify(txt, (size_t)(login - txt) + 5), TORIDE_TN_NOTHING);
	const char *pw = strstr(txt, "Password:");
	assert_non_null(pw);
	assert_screen(toride_telnet_classify(pw, 9), TORIDE_TN_PASSWORD_PROMPT);
	/* After the password: MOTD, then the first "$ " is a shell candidate. */
	const char *motd_end = strstr(pw, "\r\n\r\n$ ");
	assert_non_null(motd_end);
	size_t seg = (size_t)(motd_end - (pw + 9)) + 6;
	assert_false(toride_telnet_text_has_failure(pw + 9, seg));
	assert_screen(toride_telnet_classify(pw + 9, seg), TORIDE_TN_SHELL_PROMPT);
	assert_screen(toride_telnet_classify(txt, app1.len), TORIDE_TN_SHELL_PROMPT);

	/* Replies: only allowed options, and the expected answers. */
	check_client_replies(rep1.data, rep1.len);
	static const uint8_t do_sga[] = {IAC, DO, O_SGA};
	static const uint8_t will_naws[] = {IAC, WILL, O_NAWS};
	static const uint8_t naws[] = {IAC, SB, O_NAWS, 0, 80, 0, 24, IAC, SE};
	static const uint8_t will_tt[] = {IAC, WILL, O_TTYPE};
	static const uint8_t tt_is[] = {IAC, SB, O_TTYPE, 0, 'x', 't', 'e', 'r', 'm', IAC, SE};
	static const uint8_t wont_auth[] = {IAC, WONT, 37};
	static const uint8_t wont_env[] = {IAC, WONT, O_NEW_ENVIRON};
	static const uint8_t wont_echo[] = {IAC, WONT, O_ECHO};
	static const uint8_t do_echo[] = {IAC, DO, O_ECHO};
	assert_int_equal(count_mem(rep1.data, rep1.len, do_sga, 3), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, will_naws, 3), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, naws, sizeof naws), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, will_tt, 3), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, tt_is, sizeof tt_is), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, wont_auth, 3), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, wont_env, 3), 1);
	assert_int_equal(count_mem(rep1.data, rep1.len, wont_echo, 3), 1); /* we never echo */
	assert_true(count_mem(rep1.data, rep1.len, do_echo, 3) >= 1);     /* server echoes */
	assert_true(rep1.len < 200);

	toride_buf_free(&app1);
	toride_buf_free(&rep1);
	toride_buf_free(&app2);
	toride_buf_free(&rep2);
	free(in);
}

/* ---------------------------------------------------------------------------------------- */
/* negotiation details */

static void
test_no_negotiation_loops(void **state)
{
	(void)state;
	/* 1000 identical DO NAWS / WILL ECHO / DO 200: answered once each (RFC 1143). */
	uint8_t in[9000];
	size_t n = 0;
	for (int i = 0; i < 1000; i++) {
		const uint8_t x[9] = {IAC, DO, O_NAWS, IAC, WILL, O_ECHO, IAC, DO, 200};
		memcpy(in + n, x, 9);
		n += 9;
	}
	struct toride_buf app, rep;
	toride_buf_init(&app, 4096);
	toride_buf_init(&rep, 4096);
	feed_whole(in, n, &app, &rep);
	assert_int_equal(app.len, 0);
	static const uint8_t will_naws[] = {IAC, WILL, O_NAWS};
	static const uint8_t do_echo[] = {IAC, DO, O_ECHO};
	static const uint8_t wont_200[] = {IAC, WONT, 200};
	assert_int_equal(count_mem(rep.data, rep.len, will_naws, 3), 1);
	assert_int_equal(count_mem(rep.data, rep.len, do_echo, 3), 1);
	/* A refused option stays refused; libtelnet re-answers WONT to each repeated DO for an
	 * option it never enabled, which is bounded by the input (3 bytes out per 3 bytes in). */
	assert_true(count_mem(rep.data, rep.len, wont_200, 3) >= 1);
	assert_true(rep.len <= n);
	check_client_replies(rep.data, rep.len);
	toride_buf_free(&app);
	toride_buf_free(&rep);
}

static void
test_ttype_cycle(void **state)
{
	(void)state;
	static const uint8_t send[] = {IAC, SB, O_TTYPE, 1, IAC, SE};
	struct toride_buf app, rep;
	toride_buf_init(&app, 4096);
	toride_buf_init(&rep, 4096);
	struct toride_telnet *t;
	assert_int_equal(toride_telnet_client_new(&t), 0);
	/* SEND before we agreed to TTYPE: no answer. */
	assert_int_equal(toride_telnet_recv(t, send, sizeof send, &app, &rep), 0);
	assert_int_equal(rep.len, 0);
	static const uint8_t do_tt[] = {IAC, DO, O_TTYPE};
	assert_int_equal(toride_telnet_recv(t, do_tt, 3, &app, &rep), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(toride_telnet_recv(t, send, sizeof send, &app, &rep), 0);
	static const uint8_t want[] = {
		IAC, WILL, O_TTYPE,
		IAC, SB, O_TTYPE, 0, 'x', 't', 'e', 'r', 'm', IAC, SE,
		IAC, SB, O_TTYPE, 0, 'v', 't', '1', '0', '0', IAC, SE,
		IAC, SB, O_TTYPE, 0, 'v', 't', '1', '0', '0', IAC, SE,
	};
	assert_int_equal(rep.len, sizeof want);
	assert_memory_equal(rep.data, want, sizeof want);
	toride_telnet_free(t);
	toride_buf_free(&app);
	toride_buf_free(&rep);
}

static void
test_iac_split_everywhere(void **state)
{
	(void)state;
	static const uint8_t in[] = {
		'a', IAC, DO, O_NAWS, 'b', IAC, IAC, 'c', IAC, SB, O_TTYPE, 1, IAC, SE, IAC, WILL, O_ECHO,
		IAC, SB, 200, 'x', IAC, IAC, 'y', IAC, SE, 'd', IAC, 241 /* NOP */, 'e', '\r', 0, '\n',
	};
	struct toride_buf app0, rep0;
	toride_buf_init(&app0, 4096);
	toride_buf_init(&rep0, 4096);
	feed_whole(in, sizeof in, &app0, &rep0);
	static const uint8_t want_app[] = {'a', 'b', IAC, 'c', 'd', 'e', '\r', 0, '\n'};
	assert_int_equal(app0.len, sizeof want_app);
	assert_memory_equal(app0.data, want_app, sizeof want_app);
	for (size_t cut1 = 0; cut1 <= sizeof in; cut1++) {
		for (size_t cut2 = cut1; cut2 <= sizeof in; cut2++) {
			struct toride_buf app, rep;
			toride_buf_init(&app, 4096);
			toride_buf_init(&rep, 4096);
			struct toride_telnet *t;
			assert_int_equal(toride_telnet_client_new(&t), 0);
			assert_int_equal(toride_telnet_recv(t, in, cut1, &app, &rep), 0);
			assert_int_equal(toride_telnet_recv(t, in + cut1, cut2 - cut1, &app, &rep), 0);
			assert_int_equal(toride_telnet_recv(t, in + cut2, sizeof in - cut2, &app, &rep), 0);
			assert_int_equal(app.len, app0.len);
			assert_memory_equal(app.data, app0.data, app.len);
			assert_int_equal(rep.len, rep0.len);
			assert_memory_equal(rep.data, rep0.data, rep.len);
			toride_telnet_free(t);
			toride_buf_free(&app);
			toride_buf_free(&rep);
		}
	}
	toride_buf_free(&app0);
	toride_buf_free(&rep0);
}

/* ---------------------------------------------------------------------------------------- */
/* hostile input */

static void
test_hostile_sb_without_se(void **state)
{
	(void)state;
	size_t n = 64 * 1024;
	static const uint8_t tail[] = {IAC, SB, O_NEW_ENVIRON, 1, IAC, SE, 'o', 'k'};
	uint8_t *in = malloc(n + sizeof tail);
	assert_non_null(in);
	in[0] = IAC;
	in[1] = SB;
	in[2] = O_TTYPE;
	memset(in + 3, 'A', n - 3);
	memcpy(in + n, tail, sizeof tail);
	struct toride_buf app, rep;
	toride_buf_init(&app, 1 << 20);
	toride_buf_init(&rep, 4096);
	struct toride_telnet *t;
	assert_int_equal(toride_telnet_client_new(&t), 0);
	assert_int_equal(toride_telnet_recv(t, in, n + sizeof tail, &app, &rep), 0);
	/* libtelnet keeps 16384 bytes of subnegotiation, drops the byte that overflows it and passes
	 * the rest on as data; the filter in front of it must stay in step (it still sees the
	 * NEW-ENVIRON subnegotiation after the overflow). */
	assert_int_equal(app.len, n - 3 - 16384 - 1 + 2);
	assert_memory_equal(app.data + app.len - 2, "ok", 2);
	assert_int_equal(rep.len, 0);
	char sum[64];
	assert_int_equal(toride_telnet_options_summary(t, sum, sizeof sum), 0);
	assert_string_equal(sum, "SB TTYPE,SB NEW-ENVIRON");
	toride_telnet_free(t);
	toride_buf_free(&app);
	toride_buf_free(&rep);

	/* With a small app cap the overflow is reported, and the error sticks. */
	toride_buf_init(&app, 1024);
	toride_buf_init(&rep, 4096);
	assert_int_equal(toride_telnet_client_new(&t), 0);
	assert_int_equal(toride_telnet_recv(t, in, n, &app, &rep), TORIDE_ETOOBIG);
	assert_true(app.len <= 1024);
	assert_int_equal(toride_telnet_recv(t, (const uint8_t *)"x", 1, &app, &rep), TORIDE_ETOOBIG);
	toride_telnet_free(t);
	toride_buf_free(&app);
	toride_buf_free(&rep);
	free(in);
}

static void
test_hostile_environ_recursion(void **state)
{
	(void)state;
	/* libtelnet 0.21 recursed once per ENVIRON/NEW-ENVIRON subnegotiation in one buffer; 200000
	 * of them would overflow the stack without the filter. */
	static const uint8_t one[] = {IAC, SB, O_NEW_ENVIRON, 1, IAC, SE};
	size_t count = 200000, n = count * sizeof one;
	uint8_t *in = malloc(n + 5);
	assert_non_null(in);
	for (size_t i = 0; i < count; i++)
		memcpy(in + i * sizeof one, one, sizeof one);
	memcpy(in + n, "login", 5);
	struct toride_buf app, rep;
	toride_buf_init(&app, 4096);
	toride_buf_init(&rep, 4096);
	feed_whole(in, n + 5, &app, &rep);
	assert_int_equal(app.len, 5);
	assert_memory_equal(app.data, "login", 5);
	assert_int_equal(rep.len, 0);
	toride_buf_free(&app);
	toride_buf_free(&rep);
	free(in);
}

static void
test_hostile_unsolicited_compress(void **state)
{
	(void)state;
	/* An unsolicited MCCP start must not make us inflate the stream. */
	static const uint8_t in[] = {IAC, SB, O_COMPRESS2, IAC, SE, 'l', 'o', 'g', 'i', 'n', ':', ' ',
				     IAC, SB, 70 /* MSSP */, 1, 'a', 2, 'b', IAC, SE,
				     IAC, SB, 93 /* ZMP */, 'x', IAC, SE};
	struct toride_buf app, rep;
	toride_buf_init(&app, 4096);
	toride_buf_init(&rep, 4096);
	feed_whole(in, sizeof in, &app, &rep);
	assert_int_equal(app.len, 7);
	assert_memory_equal(app.data, "login: ", 7);
	toride_buf_free(&app);
	toride_buf_free(&rep);
}

static void
test_hostile_classifier_inputs(void **state)
{
	(void)state;
	/* 1 MiB of '#': decoration, and the classifier only looks at the last window. */
	size_t n = 1 << 20;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	assert_screen(toride_telnet_classify(big, n), TORIDE_TN_NOTHING);
	/* ... unless the screen then ends in a real prompt. */
	memcpy(big + n - 10, "\r\nlogin: ", 9);
	big[n - 1] = ' ';
	assert_screen(toride_telnet_classify(big, n), TORIDE_TN_LOGIN_PROMPT);
	/* NULs everywhere. */
	memset(big, 0, n);
	assert_screen(toride_telnet_classify(big, n), TORIDE_TN_NOTHING);
	assert_false(toride_telnet_text_has_failure(big, n));
	/* Truncated and unterminated escapes at the end. */
	assert_screen(toride_telnet_classify("login: \x1b[", 9), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(toride_telnet_classify("login: \x1b]0;title", 15), TORIDE_TN_LOGIN_PROMPT);
	assert_screen(toride_telnet_classify("\x1b", 1), TORIDE_TN_NOTHING);
	assert_screen(toride_telnet_classify("#\x1b(B", 4), TORIDE_TN_SHELL_PROMPT);
	/* Clear screen + cursor moves around a prompt. */
	assert_screen(cls("\x1b[2J\x1b[H\x1b[1;1HWelcome\r\n\x1b[7mUsername:\x1b[0m "), TORIDE_TN_LOGIN_PROMPT);
	/* Random bytes never crash and give a valid class. */
	unsigned seed = 7;
	for (int round = 0; round < 200; round++) {
		char r[512];
		for (size_t i = 0; i < sizeof r; i++) {
			seed = seed * 1103515245u + 12345u;
			r[i] = (char)(seed >> 16);
		}
		enum toride_tn_screen s = toride_telnet_classify(r, sizeof r);
		assert_true(s <= TORIDE_TN_PRESS_KEY);
	}
	free(big);
}

/* ---------------------------------------------------------------------------------------- */
/* sending */

static void
test_send_line(void **state)
{
	(void)state;
	struct toride_telnet *t;
	assert_int_equal(toride_telnet_client_new(&t), 0);
	struct toride_buf w;
	toride_buf_init(&w, 64);
	assert_int_equal(toride_telnet_send_line(t, "admin", &w), 0);
	assert_int_equal(w.len, 7);
	assert_memory_equal(w.data, "admin\r\n", 7);
	toride_buf_reset(&w);
	assert_int_equal(toride_telnet_send_line(t, "", &w), 0);
	assert_memory_equal(w.data, "\r\n", 2);
	toride_buf_reset(&w);
	assert_int_equal(toride_telnet_send_line(t, "p\xff" "q", &w), 0);
	assert_int_equal(w.len, 6);
	assert_memory_equal(w.data, "p\xff\xffq\r\n", 6);
	toride_buf_reset(&w);
	/* One credential never becomes two lines. */
	assert_int_equal(toride_telnet_send_line(t, "a\r\nb", &w), TORIDE_EINVAL);
	assert_int_equal(toride_telnet_send_line(t, "a\nb", &w), TORIDE_EINVAL);
	assert_int_equal(toride_telnet_send_line(t, "a\rb", &w), TORIDE_EINVAL);
	assert_int_equal(w.len, 0);
	/* A full wire buffer gets nothing, not half a line; the session stays usable. */
	char longline[70];
	memset(longline, 'x', sizeof longline - 1);
	longline[sizeof longline - 1] = 0;
	assert_int_equal(toride_telnet_send_line(t, longline, &w), TORIDE_ETOOBIG);
	assert_int_equal(w.len, 0);
	assert_int_equal(toride_telnet_send_line(t, "root", &w), 0);
	assert_memory_equal(w.data, "root\r\n", 6);
	char *huge = malloc(TORIDE_TELNET_LINE_MAX + 2);
	assert_non_null(huge);
	memset(huge, 'y', TORIDE_TELNET_LINE_MAX + 1);
	huge[TORIDE_TELNET_LINE_MAX + 1] = 0;
	assert_int_equal(toride_telnet_send_line(t, huge, &w), TORIDE_EINVAL);
	free(huge);
	toride_buf_free(&w);
	toride_telnet_free(t);
}

/* Client and server sessions talk to each other in memory until both are quiet. */
static void
test_client_server_loopback(void **state)
{
	(void)state;
	struct toride_telnet *c, *s;
	assert_int_equal(toride_telnet_client_new(&c), 0);
	assert_int_equal(toride_telnet_server_new(&s), 0);
	assert_int_equal(toride_telnet_server_start(c, NULL), TORIDE_EINVAL);
	struct toride_buf c2s, s2c, capp, sapp, tmp;
	toride_buf_init(&c2s, 4096);
	toride_buf_init(&s2c, 4096);
	toride_buf_init(&capp, 4096);
	toride_buf_init(&sapp, 4096);
	toride_buf_init(&tmp, 4096);
	assert_int_equal(toride_telnet_server_start(c, &tmp), TORIDE_ESTATE);
	assert_int_equal(toride_telnet_server_start(s, &s2c), 0);
	static const uint8_t opening[] = {IAC, WILL, O_ECHO, IAC, WILL, O_SGA, IAC, DO, O_NAWS, IAC, DO, O_TTYPE};
	assert_int_equal(s2c.len, sizeof opening);
	assert_memory_equal(s2c.data, opening, sizeof opening);
	assert_int_equal(toride_telnet_send_data(s, (const uint8_t *)"\r\nDVR login: ", 13, &s2c), 0);
	for (int round = 0; round < 10 && (s2c.len > 0 || c2s.len > 0); round++) {
		toride_buf_reset(&tmp);
		assert_int_equal(toride_telnet_recv(c, s2c.data, s2c.len, &capp, &tmp), 0);
		toride_buf_reset(&s2c);
		assert_int_equal(toride_buf_append(&c2s, tmp.data, tmp.len), 0);
		toride_buf_reset(&tmp);
		assert_int_equal(toride_telnet_recv(s, c2s.data, c2s.len, &sapp, &tmp), 0);
		toride_buf_reset(&c2s);
		assert_int_equal(toride_buf_append(&s2c, tmp.data, tmp.len), 0);
	}
	assert_int_equal(s2c.len, 0);
	assert_int_equal(c2s.len, 0);
	assert_string_equal(toride_telnet_peer_ttype(s), "xterm");
	unsigned w, h;
	toride_telnet_peer_window(s, &w, &h);
	assert_int_equal(w, 80);
	assert_int_equal(h, 24);
	assert_int_equal(sapp.len, 0);
	assert_screen(toride_telnet_classify((const char *)capp.data, capp.len), TORIDE_TN_LOGIN_PROMPT);
	char sum[128];
	assert_int_equal(toride_telnet_options_summary(c, sum, sizeof sum), 0);
	assert_string_equal(sum, "WILL ECHO,WILL SGA,DO NAWS,DO TTYPE,SB TTYPE");
	/* Summary that does not fit: whole items only, reported. */
	assert_int_equal(toride_telnet_options_summary(c, sum, 20), TORIDE_ETOOBIG);
	assert_string_equal(sum, "WILL ECHO,WILL SGA");
	/* The client's credential reaches the server as typed. */
	assert_int_equal(toride_telnet_send_line(c, "admin", &c2s), 0);
	assert_int_equal(toride_telnet_recv(s, c2s.data, c2s.len, &sapp, &tmp), 0);
	assert_int_equal(sapp.len, 7);
	assert_memory_equal(sapp.data, "admin\r\n", 7);
	toride_telnet_free(c);
	toride_telnet_free(s);
	toride_telnet_free(NULL);
	toride_buf_free(&c2s);
	toride_buf_free(&s2c);
	toride_buf_free(&capp);
	toride_buf_free(&sapp);
	toride_buf_free(&tmp);
}

/* The busybox opening is byte for byte what busybox telnetd sends, and our client copes with it. */
static void
test_server_busybox_opening(void **state)
{
	(void)state;
	struct toride_telnet *c, *s;
	struct toride_buf w, app, reply;
	assert_int_equal(toride_telnet_client_new(&c), 0);
	assert_int_equal(toride_telnet_server_new(&s), 0);
	toride_buf_init(&w, 256);
	toride_buf_init(&app, 256);
	toride_buf_init(&reply, 256);
	assert_int_equal(toride_telnet_server_start_busybox(c, &w), TORIDE_ESTATE);
	assert_int_equal(toride_telnet_server_start_busybox(s, &w), 0);
	static const uint8_t opening[] = {IAC, DO, O_ECHO, IAC, DO, O_NAWS, IAC, WILL, O_ECHO, IAC, WILL, O_SGA};
	assert_int_equal(w.len, sizeof opening);
	assert_memory_equal(w.data, opening, sizeof opening);
	assert_int_equal(toride_telnet_recv(c, w.data, w.len, &app, &reply), 0);
	assert_true(reply.len > 0);
	assert_int_equal(app.len, 0);
	toride_telnet_free(c);
	toride_telnet_free(s);
	toride_buf_free(&w);
	toride_buf_free(&app);
	toride_buf_free(&reply);
}

static void
test_plain_server_not_negotiated(void **state)
{
	(void)state;
	struct toride_telnet *t;
	assert_int_equal(toride_telnet_client_new(&t), 0);
	struct toride_buf app, rep;
	toride_buf_init(&app, 4096);
	toride_buf_init(&rep, 4096);
	assert_int_equal(toride_telnet_recv(t, (const uint8_t *)"login: ", 7, &app, &rep), 0);
	assert_false(toride_telnet_negotiated(t));
	char sum[16];
	assert_int_equal(toride_telnet_options_summary(t, sum, sizeof sum), 0);
	assert_string_equal(sum, "");
	assert_int_equal(toride_telnet_recv(t, NULL, 0, &app, &rep), 0);
	assert_int_equal(toride_telnet_recv(t, (const uint8_t *)"x", 1, NULL, &rep), TORIDE_EINVAL);
	toride_telnet_free(t);
	toride_buf_free(&app);
	toride_buf_free(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recog_banner_examples),
		cmocka_unit_test(test_recog_special_cases),
		cmocka_unit_test(test_busybox_transcripts),
		cmocka_unit_test(test_login_prompts),
		cmocka_unit_test(test_password_prompts),
		cmocka_unit_test(test_shell_prompts),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_pcap_openbsd_login),
		cmocka_unit_test(test_no_negotiation_loops),
		cmocka_unit_test(test_ttype_cycle),
		cmocka_unit_test(test_iac_split_everywhere),
		cmocka_unit_test(test_hostile_sb_without_se),
		cmocka_unit_test(test_hostile_environ_recursion),
		cmocka_unit_test(test_hostile_unsolicited_compress),
		cmocka_unit_test(test_hostile_classifier_inputs),
		cmocka_unit_test(test_send_line),
		cmocka_unit_test(test_client_server_loopback),
		cmocka_unit_test(test_plain_server_not_negotiated),
		cmocka_unit_test(test_server_busybox_opening),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
