/*
 * The emulated SSH service against real clients on loopback only (127.0.88.0/30): OpenSSH `ssh`
 * through sshpass (password and keyboard-interactive), libssh's client (try cap, interactive
 * shell), raw sockets (version line, session cap) and toride's own survey, which must find
 * exactly the weak device. Three devices: factory default (weak), unique password, key-only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "core/error.h"
#include "emu/emu.h"
#include "emu/ssh.h"

#define PORT 2222
#define WEAK_USER "root"
#define WEAK_PASS "xc3511"          /* in Mirai's table (data/credentials/mirai.tsv) */
#define UNIQUE_USER "admin"
#define UNIQUE_PASS "q7Rt2mXw9KpL4sVz" /* a per-device password no list holds */
#define SSH_OPTS "-p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null " \
                 "-o PubkeyAuthentication=no -o ConnectTimeout=10 -o LogLevel=ERROR"

static struct emu_profile profiles[4];
static struct emu_device devices[4];
static struct emu_ssh *fleet; /* stopped by teardown too, so one failed test does not hold the ports */

static void
stop_fleet(void)
{
	emu_ssh_stop(fleet);
	fleet = NULL;
}

static int
teardown(void **state)
{
	(void)state;
	stop_fleet();
	return 0;
}

static void
make_device(int i, enum emu_cred_policy pol, const char *user, const char *factory, const char *pass,
            bool pw, bool kbd, bool pk, const char *banner)
{
	struct emu_profile *p = &profiles[i];
	struct emu_device *d = &devices[i];
	struct emu_service *s = &p->services[0];
	char a[32];

	memset(p, 0, sizeof *p);
	memset(d, 0, sizeof *d);
	snprintf(p->id, sizeof p->id, "test-%d", i);
	snprintf(p->vendor, sizeof p->vendor, "Test");
	p->policy = pol;
	snprintf(p->busybox, sizeof p->busybox, "BusyBox v1.19.4 (2014-03-04 10:52:16 CST) multi-call binary.");
	snprintf(p->user, sizeof p->user, "%s", user);
	snprintf(p->pass, sizeof p->pass, "%s", factory);
	p->nservices = 1;
	s->proto = EMU_SSH;
	s->port = 22;
	s->ssh_password = pw;
	s->ssh_kbdint = kbd;
	s->ssh_publickey = pk;
	snprintf(s->banner, sizeof s->banner, "%s", banner);
	snprintf(s->shell_prompt, sizeof s->shell_prompt, "[%%h]# ");
	d->profile = p;
	snprintf(a, sizeof a, "127.0.88.%d", i + 1);
	assert_int_equal(toride_addr_parse(a, &d->addr), 0);
	snprintf(d->addr_str, sizeof d->addr_str, "%s", a);
	snprintf(d->hostname, sizeof d->hostname, "dev%d", i + 1);
	snprintf(d->pass, sizeof d->pass, "%s", pass);
}

static struct emu_ssh *
start_fleet(unsigned max_sessions)
{
	struct emu_ssh *s = NULL;

	make_device(0, EMU_CRED_FACTORY_DEFAULT, WEAK_USER, WEAK_PASS, WEAK_PASS, true, true, false,
	            "SSH-2.0-dropbear_2014.63");
	make_device(1, EMU_CRED_UNIQUE, UNIQUE_USER, "admin", UNIQUE_PASS, true, true, false,
	            "SSH-2.0-dropbear_2017.75");
	make_device(2, EMU_CRED_KEY_ONLY, WEAK_USER, WEAK_PASS, "unusedunusedunus", false, false, true,
	            "SSH-2.0-OpenSSH_7.4");
	assert_int_equal(emu_ssh_new(&s, NULL), 0);
	fleet = s;
	assert_int_equal(emu_ssh_set_limits(s, max_sessions, 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(emu_ssh_listen(s, &devices[i], &profiles[i].services[0], PORT), 0);
	assert_int_equal(emu_ssh_start(s), 0);
	assert_int_equal(emu_ssh_start(s), TORIDE_ESTATE);
	assert_int_equal(emu_ssh_listen(s, &devices[0], &profiles[0].services[0], PORT + 1), TORIDE_ESTATE);
	return s;
}

/* Run a shell command, capture stdout (bounded), return the exit status. */
static int
run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *f;
	size_t n = 0, r;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	assert_non_null(f = popen(cmd, "r"));
	while (n + 1 < outlen && (r = fread(out + n, 1, outlen - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(f);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (st != 0) /* shown when a test fails; expected for the refusals */
		fprintf(stderr, "# exit %d: %s\n# output: %.2000s\n", st, cmd, out);
	return st;
}

static bool
have_tools(void)
{
	char o[64];

	if (run(o, sizeof o, "command -v ssh && command -v sshpass") != 0) {
		fprintf(stderr, "ssh or sshpass missing\n");
		return false;
	}
	return true;
}

static void
test_openssh_password(void **state)
{
	start_fleet(0);
	struct emu_ssh_stats st;
	char o[4096];

	(void)state;
	if (!have_tools()) {
		stop_fleet();
		fail_msg("ssh and sshpass are needed (Debian: openssh-client sshpass)");
	}
	/* The weak pair logs in and the command runs in the emulated shell. */
	assert_int_equal(run(o, sizeof o, "sshpass -p %s ssh " SSH_OPTS " %s@127.0.88.1 'echo hello' 2>&1",
	                     WEAK_PASS, WEAK_USER), 0);
	assert_string_equal(o, "hello\n");
	/* A wrong password does not. */
	assert_int_not_equal(run(o, sizeof o, "sshpass -p wrong ssh " SSH_OPTS " %s@127.0.88.1 'echo hello' 2>/dev/null",
	                         WEAK_USER), 0);
	assert_null(strstr(o, "hello"));
	/* The unique device refuses the factory pair, takes its own password. */
	assert_int_not_equal(run(o, sizeof o, "sshpass -p admin ssh " SSH_OPTS " admin@127.0.88.2 'echo hello' 2>/dev/null"), 0);
	assert_null(strstr(o, "hello"));
	assert_int_equal(run(o, sizeof o, "sshpass -p %s ssh " SSH_OPTS " %s@127.0.88.2 'echo hello' 2>&1",
	                     UNIQUE_PASS, UNIQUE_USER), 0);
	assert_string_equal(o, "hello\n");
	/* Keyboard-interactive with the weak pair. */
	assert_int_equal(run(o, sizeof o, "sshpass -p %s ssh " SSH_OPTS " -o PreferredAuthentications=keyboard-interactive "
	                     "%s@127.0.88.1 'echo kbd' 2>&1", WEAK_PASS, WEAK_USER), 0);
	assert_string_equal(o, "kbd\n");
	assert_int_not_equal(run(o, sizeof o, "sshpass -p nope ssh " SSH_OPTS " -o PreferredAuthentications=keyboard-interactive "
	                         "%s@127.0.88.1 'echo kbd' 2>/dev/null", WEAK_USER), 0);
	/* Key-only: the device offers publickey alone, so no password is even asked for. */
	assert_int_not_equal(run(o, sizeof o, "sshpass -p %s ssh " SSH_OPTS " %s@127.0.88.3 'echo hello' 2>&1",
	                         WEAK_PASS, WEAK_USER), 0);
	assert_null(strstr(o, "hello"));
	assert_non_null(strstr(o, "Permission denied (publickey)"));
	/* An unknown command is "not found", never run on the host. */
	assert_int_equal(run(o, sizeof o, "sshpass -p %s ssh " SSH_OPTS " %s@127.0.88.1 'toride-no-such-cmd' 2>&1",
	                     WEAK_PASS, WEAK_USER), 0);
	assert_non_null(strstr(o, "toride-no-such-cmd: not found"));
	emu_ssh_stats(fleet, &st);
	assert_int_equal(st.listeners, 3);
	assert_true(st.auth_ok >= 4);
	assert_true(st.auth_fail >= 3);
	stop_fleet();
}

/* The first line a client reads is the device's version string. */
static void
test_version_line(void **state)
{
	start_fleet(0);
	const char *want[3] = { "SSH-2.0-dropbear_2014.63\r\n", "SSH-2.0-dropbear_2017.75\r\n", "SSH-2.0-OpenSSH_7.4\r\n" };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
		char b[256], a[32];
		size_t n = 0;
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		snprintf(a, sizeof a, "127.0.88.%d", i + 1);
		inet_pton(AF_INET, a, &sa.sin_addr);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
		while (n < strlen(want[i])) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t r;
			assert_int_equal(poll(&p, 1, 5000), 1);
			r = read(fd, b + n, strlen(want[i]) - n);
			assert_true(r > 0);
			n += (size_t)r;
		}
		b[n] = '\0';
		assert_string_equal(b, want[i]);
		close(fd);
	}
	stop_fleet();
}

static ssh_session
client(const char *host, const char *user)
{
	ssh_session c = ssh_new();
	int port = PORT;
	long timeout = 10;

	assert_non_null(c);
	ssh_options_set(c, SSH_OPTIONS_HOST, host);
	ssh_options_set(c, SSH_OPTIONS_PORT, &port);
	ssh_options_set(c, SSH_OPTIONS_USER, user);
	ssh_options_set(c, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_options_parse_config(c, "/dev/null");
	assert_int_equal(ssh_connect(c), SSH_OK);
	return c;
}

/* After EMU_SSH_MAX_AUTH_TRIES wrong passwords the device hangs up, like sshd's MaxAuthTries. */
static void
test_auth_try_cap(void **state)
{
	start_fleet(0);
	ssh_session c = client("127.0.88.1", WEAK_USER);
	int i, r = SSH_AUTH_DENIED;

	(void)state;
	for (i = 0; i < EMU_SSH_MAX_AUTH_TRIES; i++) {
		r = ssh_userauth_password(c, NULL, "wrong");
		assert_int_equal(r, SSH_AUTH_DENIED);
	}
	/* The 7th, even the right one, finds the connection gone. */
	r = ssh_userauth_password(c, NULL, WEAK_PASS);
	assert_int_equal(r, SSH_AUTH_ERROR);
	ssh_free(c);
	/* A new connection starts a new count; "none" is refused and lists the methods. */
	c = client("127.0.88.1", WEAK_USER);
	assert_int_equal(ssh_userauth_none(c, NULL), SSH_AUTH_DENIED);
	assert_true(ssh_userauth_list(c, NULL) & SSH_AUTH_METHOD_PASSWORD);
	assert_true(ssh_userauth_list(c, NULL) & SSH_AUTH_METHOD_INTERACTIVE);
	assert_int_equal(ssh_userauth_password(c, NULL, WEAK_PASS), SSH_AUTH_SUCCESS);
	ssh_disconnect(c);
	ssh_free(c);
	stop_fleet();
}

/* Read from the channel until want appears (or 5 s). */
static bool
read_until(ssh_channel ch, char *acc, size_t acclen, const char *want)
{
	size_t n = strlen(acc);
	time_t end = time(NULL) + 5;

	while (time(NULL) < end && strstr(acc, want) == NULL && n + 1 < acclen) {
		int r = ssh_channel_read_timeout(ch, acc + n, (uint32_t)(acclen - 1 - n), 0, 200);
		if (r < 0)
			break;
		n += (size_t)r;
		acc[n] = '\0';
	}
	if (strstr(acc, want) == NULL) {
		fprintf(stderr, "# wanted \"%s\", got: %s\n", want, acc);
		return false;
	}
	return true;
}

/* A pty shell as a human or a bot gets it: prompt, echo of typed keys, command output, exit. */
static void
test_interactive_shell(void **state)
{
	start_fleet(0);
	ssh_session c = client("127.0.88.1", WEAK_USER);
	ssh_channel ch;
	char acc[8192] = "";

	(void)state;
	assert_int_equal(ssh_userauth_password(c, NULL, WEAK_PASS), SSH_AUTH_SUCCESS);
	assert_non_null(ch = ssh_channel_new(c));
	assert_int_equal(ssh_channel_open_session(ch), SSH_OK);
	assert_int_equal(ssh_channel_request_pty(ch), SSH_OK);
	assert_int_equal(ssh_channel_request_shell(ch), SSH_OK);
	assert_true(read_until(ch, acc, sizeof acc, "[dev1]# "));
	/* A second channel is refused: one session channel per connection. */
	{
		ssh_channel ch2 = ssh_channel_new(c);
		assert_int_not_equal(ssh_channel_open_session(ch2), SSH_OK);
		ssh_channel_free(ch2);
	}
	acc[0] = '\0';
	assert_int_equal(ssh_channel_write(ch, "echo pty-ok\r", 12), 12);
	assert_true(read_until(ch, acc, sizeof acc, "pty-ok\r\n"));
	/* typed keys are echoed, then the output, then the prompt again */
	assert_non_null(strstr(acc, "echo pty-ok"));
	assert_true(read_until(ch, acc, sizeof acc, "[dev1]# "));
	/* The busybox-like shell answers what Mirai's scanner checks; nothing runs on the host. */
	acc[0] = '\0';
	assert_int_equal(ssh_channel_write(ch, "/bin/busybox MIRAI\r", 19), 19);
	assert_true(read_until(ch, acc, sizeof acc, "MIRAI: applet not found"));
	assert_true(read_until(ch, acc, sizeof acc, "[dev1]# "));
	acc[0] = '\0';
	assert_int_equal(ssh_channel_write(ch, "whoami\r", 8), 8);
	assert_true(read_until(ch, acc, sizeof acc, "whoami\r\nroot\r\n"));
	assert_int_equal(ssh_channel_write(ch, "exit\r", 5), 5);
	{
		time_t end = time(NULL) + 5;
		char b[256];
		while (time(NULL) < end && !ssh_channel_is_eof(ch) && ssh_channel_read_timeout(ch, b, sizeof b, 0, 200) >= 0)
			;
		assert_true(ssh_channel_is_eof(ch));
	}
	ssh_channel_free(ch);
	ssh_disconnect(c);
	ssh_free(c);
	stop_fleet();
}

/* Past the session cap a connection is closed at once, without a version line. Stop hangs up
 * sessions still in progress. */
static void
test_session_cap_and_stop(void **state)
{
	start_fleet(1);
	struct emu_ssh_stats st;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
	char buf[256];
	struct pollfd p;
	time_t t0;

	(void)state;
	inet_pton(AF_INET, "127.0.88.1", &sa.sin_addr);
	assert_int_equal(connect(a, (struct sockaddr *)&sa, sizeof sa), 0);
	p = (struct pollfd){ .fd = a, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(read(a, buf, sizeof buf) > 0); /* version line: the one session runs */
	assert_int_equal(connect(b, (struct sockaddr *)&sa, sizeof sa), 0);
	p = (struct pollfd){ .fd = b, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(b, buf, sizeof buf), 0); /* refused: closed without a byte */
	emu_ssh_stats(fleet, &st);
	assert_int_equal(st.active, 1);
	assert_int_equal(st.refused, 1);
	t0 = time(NULL);
	stop_fleet(); /* session a is silent in key exchange: stop must not wait for it */
	assert_true(time(NULL) - t0 <= 3);
	close(a);
	close(b);
}

/* toride survey over the three devices reports exactly the weak one, with the weak pair. */
static void
test_survey_finds_weak(void **state)
{
	char exe[PATH_MAX], bin[PATH_MAX + 16], creds[] = "/tmp/toride-e4-credsXXXXXX", o[262144];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	FILE *f;
	int fd, rc;
	size_t fails = 0;

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(bin, sizeof bin, "%s/../toride", dirname(exe));
	if (access(bin, X_OK) != 0)
		fail_msg("toride binary not found at %s", bin);
	assert_true((fd = mkstemp(creds)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fprintf(f, "admin:admin\nroot:12345\nroot:%s\nadmin:1234\n", WEAK_PASS);
	fclose(f);
	start_fleet(0);
	rc = run(o, sizeof o, "%s survey --scope 127.0.88.0/30 --allow-reserved 127.0.0.0/8 -p 2222 --creds %s "
	         "--no-vendor-creds -q -o - 2>/dev/null", bin, creds);
	stop_fleet();
	unlink(creds);
	assert_int_equal(rc, 1); /* failing devices found */
	for (char *line = strtok(o, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, "\"finding\"") || !strstr(line, "\"fail\""))
			continue;
		fails++;
		assert_non_null(strstr(line, "127.0.88.1"));
		assert_non_null(strstr(line, WEAK_PASS));
	}
	assert_int_equal(fails, 1);
}

/* Every real persona with SSH (data/profiles/): the version line is the profile's, the factory
 * pair logs in exactly when the policy says it must (factory default with password or kbdint
 * auth), and key-only devices offer publickey alone. */
static void
test_real_profiles(void **state)
{
	struct emu_profiles ps = { 0 };
	struct emu_device *devs;
	const struct emu_service **svcs;
	char err[256];
	size_t n = 0;

	(void)state;
	assert_int_equal(emu_profiles_load_dir(&ps, TORIDE_SOURCE_DIR "/data/profiles", err, sizeof err), 0);
	assert_non_null(devs = calloc(ps.n, sizeof *devs));
	assert_non_null(svcs = calloc(ps.n, sizeof *svcs));
	assert_int_equal(emu_ssh_new(&fleet, NULL), 0);
	for (size_t i = 0; i < ps.n; i++) {
		for (size_t k = 0; k < ps.v[i].nservices; k++) {
			struct toride_addr a;
			char as[32];
			if (ps.v[i].services[k].proto != EMU_SSH)
				continue;
			snprintf(as, sizeof as, "127.0.89.%zu", n + 1);
			assert_int_equal(toride_addr_parse(as, &a), 0);
			assert_int_equal(emu_device_init(&devs[n], &ps.v[i], &a, 7, n), 0);
			svcs[n] = &ps.v[i].services[k];
			assert_int_equal(emu_ssh_listen(fleet, &devs[n], svcs[n], PORT), 0);
			n++;
			break;
		}
	}
	assert_true(n >= 3);
	assert_int_equal(emu_ssh_start(fleet), 0);
	for (size_t i = 0; i < n; i++) {
		const struct emu_profile *p = devs[i].profile;
		ssh_session c = client(devs[i].addr_str, p->user);
		char want[EMU_STR_MAX];
		int methods, r;
		bool must = p->policy == EMU_CRED_FACTORY_DEFAULT && (svcs[i]->ssh_password || svcs[i]->ssh_kbdint);

		snprintf(want, sizeof want, "%s", svcs[i]->banner);
		want[strcspn(want, "\r\n")] = '\0';
		assert_string_equal(ssh_get_serverbanner(c), want);
		assert_int_equal(ssh_userauth_none(c, NULL), SSH_AUTH_DENIED);
		methods = ssh_userauth_list(c, NULL);
		if (p->policy == EMU_CRED_KEY_ONLY)
			assert_int_equal(methods, SSH_AUTH_METHOD_PUBLICKEY);
		if (methods & SSH_AUTH_METHOD_PASSWORD)
			r = ssh_userauth_password(c, NULL, p->pass);
		else if (methods & SSH_AUTH_METHOD_INTERACTIVE) {
			r = ssh_userauth_kbdint(c, NULL, NULL);
			if (r == SSH_AUTH_INFO) {
				assert_int_equal(ssh_userauth_kbdint_getnprompts(c), 1);
				assert_int_equal(ssh_userauth_kbdint_setanswer(c, 0, p->pass), 0);
				r = ssh_userauth_kbdint(c, NULL, NULL);
			}
		} else
			r = SSH_AUTH_DENIED;
		if ((r == SSH_AUTH_SUCCESS) != must)
			fail_msg("%s (%s): factory pair %s, expected %s", p->id, devs[i].addr_str,
			         r == SSH_AUTH_SUCCESS ? "accepted" : "refused", must ? "accepted" : "refused");
		ssh_disconnect(c);
		ssh_free(c);
	}
	stop_fleet();
	free(devs);
	free(svcs);
	emu_profiles_free(&ps);
}

/* FORCED_CHANGE: the factory pair never gives a session by password; keyboard-interactive asks
 * for a new password and logs in only after a real change (same password again is refused). */
static void
test_forced_change(void **state)
{
	ssh_session c;
	int r;

	(void)state;
	make_device(3, EMU_CRED_FORCED_CHANGE, "admin", "12345", "12345", true, true, false,
	            "SSH-2.0-dropbear_2015.67");
	assert_int_equal(emu_ssh_new(&fleet, NULL), 0);
	assert_int_equal(emu_ssh_listen(fleet, &devices[3], &profiles[3].services[0], PORT), 0);
	assert_int_equal(emu_ssh_start(fleet), 0);
	c = client("127.0.88.4", "admin");
	assert_int_equal(ssh_userauth_password(c, NULL, "12345"), SSH_AUTH_DENIED);
	/* kbdint: password round, then the change round; answering the old one is refused */
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_INFO);
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 0, "12345"), 0);
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_INFO);
	assert_int_equal(ssh_userauth_kbdint_getnprompts(c), 2);
	assert_non_null(strstr(ssh_userauth_kbdint_getinstruction(c), "change your password"));
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 0, "12345"), 0);
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 1, "12345"), 0);
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_DENIED);
	/* a wrong password never reaches the change round */
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_INFO);
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 0, "54321"), 0);
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_DENIED);
	/* a real change logs in */
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_INFO);
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 0, "12345"), 0);
	assert_int_equal(ssh_userauth_kbdint(c, NULL, NULL), SSH_AUTH_INFO);
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 0, "N3w-secret!"), 0);
	assert_int_equal(ssh_userauth_kbdint_setanswer(c, 1, "N3w-secret!"), 0);
	r = ssh_userauth_kbdint(c, NULL, NULL);
	assert_int_equal(r, SSH_AUTH_SUCCESS);
	ssh_disconnect(c);
	ssh_free(c);
	stop_fleet();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_version_line, teardown),
		cmocka_unit_test_teardown(test_openssh_password, teardown),
		cmocka_unit_test_teardown(test_auth_try_cap, teardown),
		cmocka_unit_test_teardown(test_interactive_shell, teardown),
		cmocka_unit_test_teardown(test_session_cap_and_stop, teardown),
		cmocka_unit_test_teardown(test_survey_finds_weak, teardown),
		cmocka_unit_test_teardown(test_forced_change, teardown),
		cmocka_unit_test_teardown(test_real_profiles, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
