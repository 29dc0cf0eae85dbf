/*
 * The honeypot sensor's sandbox (src/honeypot/sandbox.c). Every check runs in a forked child that
 * applies the filter and then tries one thing: what reaches outside (socket, connect, open,
 * execve, fork, a TCP Fast Open "send") must kill or be refused, and what the sensor needs (threads,
 * a libuv loop echoing on an accepted loopback connection, libssh's server with a real key exchange
 * and login) must still work. Privilege drop: as root, to "nobody" and back is impossible.
 * Network: loopback only (127.0.0.1 and 127.0.95.1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <uv.h>

#include "core/addr.h"
#include "core/error.h"
#include "emu/emu.h"
#include "emu/ssh.h"
#include "honeypot/sandbox.h"

/* Exit codes of children: 0 = every check passed; these name what went wrong. */
#define CHILD_SANDBOX_FAILED 90
#define CHILD_CHECK_FAILED 91
#define CHILD_SETUP_FAILED 92
/* Why 20 s: the slowest child (SSH key exchange under ASan) needs about one second. */
#define CHILD_ALARM_S 20

#define SSH_ADDR "127.0.95.1"
#define SSH_PORT 2622
#define SSH_USER "root"
#define SSH_PASS "xc3511"

/* Print why a child failed (write(2) still works inside the sandbox) and return code. */
static int
child_fail(int code, const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof line, "# child: %s (errno %d)\n", what, errno);

	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	return code;
}

static int
child_sandbox(void)
{
	char err[256] = "";

	if (hp_sandbox_sensor(err, sizeof err) != 0) {
		fprintf(stderr, "# hp_sandbox_sensor: %s\n", err);
		return CHILD_SANDBOX_FAILED;
	}
	return 0;
}

/* Fork, run fn(arg) in the child (which leaves with _exit: no atexit handlers, no leak checker,
 * whose ptrace-based stop-the-world the sandbox rightly kills) and return the wait status. */
static int
run_child(int (*fn)(void *), void *arg)
{
	int st = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
assert_killed_by_sigsys(int st)
{
	if (!WIFSIGNALED(st))
		fail_msg("child was not killed: exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void
assert_exit_ok(int st)
{
	if (WIFSIGNALED(st))
		fail_msg("child killed by signal %d", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A loopback listener on an ephemeral port in the test process. */
static int
listener(struct sockaddr_in *sa)
{
	socklen_t sl = sizeof *sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof *sa), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &sl), 0);
	return fd;
}

/* True when a connection reached the listener (waits up to ms). */
static bool
listener_got_connection(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int c;

	if (poll(&p, 1, ms) != 1)
		return false;
	c = accept(lfd, NULL, NULL);
	if (c < 0)
		return false;
	close(c);
	return true;
}

/* ---------------------------------------------------------------- what must kill */

static int
child_socket(void *arg)
{
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return child_fail(CHILD_CHECK_FAILED, "socket() returned");
}

static void
test_socket_killed(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(child_socket, NULL));
}

static int
child_openat(void *arg)
{
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	(void)openat(AT_FDCWD, "/etc/passwd", O_RDONLY);
	return child_fail(CHILD_CHECK_FAILED, "openat() returned");
}

static int
child_fopen(void *arg)
{
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	(void)fopen("/etc/hostname", "r");
	return child_fail(CHILD_CHECK_FAILED, "fopen() returned");
}

static int
child_create(void *arg)
{
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	(void)creat("/tmp/toride-sandbox-must-not-exist", 0600);
	return child_fail(CHILD_CHECK_FAILED, "creat() returned");
}

/* The files libc may read lazily are refused only for reading: writing one kills, and so does a
 * name that merely starts like one. */
static int
child_lazy_write(void *arg)
{
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	(void)openat(AT_FDCWD, "/proc/sys/vm/overcommit_memory", O_WRONLY);
	return child_fail(CHILD_CHECK_FAILED, "openat(O_WRONLY) returned");
}

static int
child_lazy_prefix(void *arg)
{
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	(void)openat(AT_FDCWD, "/etc/localtime.d/../../passwd", O_RDONLY);
	return child_fail(CHILD_CHECK_FAILED, "openat(lookalike) returned");
}

/* A SIGSYS handler of the attacker's own, or SIGSYS ignored, does not open anything either. */
static int
child_sigsys_ignored(void *arg)
{
	int r = child_sandbox(), fd;

	(void)arg;
	if (r != 0)
		return r;
	signal(SIGSYS, SIG_IGN);
	fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY);
	return child_fail(CHILD_CHECK_FAILED, fd >= 0 ? "/etc/passwd opened" : "openat returned");
}

static void
test_open_killed(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(child_openat, NULL));
	assert_killed_by_sigsys(run_child(child_lazy_write, NULL));
	assert_killed_by_sigsys(run_child(child_lazy_prefix, NULL));
	assert_killed_by_sigsys(run_child(child_sigsys_ignored, NULL));
	assert_killed_by_sigsys(run_child(child_fopen, NULL));
	assert_killed_by_sigsys(run_child(child_create, NULL));
	assert_int_equal(access("/tmp/toride-sandbox-must-not-exist", F_OK), -1);
}

static int
child_execve(void *arg)
{
	char *argv[] = {(char *)"/bin/true", NULL};
	char *envp[] = {NULL};
	int r = child_sandbox();

	(void)arg;
	if (r != 0)
		return r;
	execve("/bin/true", argv, envp);
	return child_fail(CHILD_CHECK_FAILED, "execve() returned");
}

static void
test_execve_killed(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(child_execve, NULL));
}

struct connect_arg {
	struct sockaddr_in sa;
};

/* A socket made before the sandbox cannot be connected after it: no relaying. */
static int
child_connect(void *arg)
{
	struct connect_arg *a = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	if (fd < 0)
		return child_fail(CHILD_SETUP_FAILED, "socket before the sandbox");
	r = child_sandbox();
	if (r != 0)
		return r;
	(void)connect(fd, (struct sockaddr *)&a->sa, sizeof a->sa);
	return child_fail(CHILD_CHECK_FAILED, "connect() returned");
}

static void
test_connect_killed(void **state)
{
	struct connect_arg a;
	int lfd = listener(&a.sa);

	(void)state;
	assert_killed_by_sigsys(run_child(child_connect, &a));
	assert_false(listener_got_connection(lfd, 100));
	close(lfd);
}

static int
child_fork(void *arg)
{
	int r = child_sandbox();
	pid_t pid;

	(void)arg;
	if (r != 0)
		return r;
	pid = fork(); /* glibc: clone(SIGCHLD) without CLONE_THREAD */
	if (pid == 0)
		_exit(0);
	return child_fail(CHILD_CHECK_FAILED, "fork() returned in the parent");
}

static void
test_fork_killed(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(child_fork, NULL));
}

/* ---------------------------------------------------------------- what is refused (EPERM) */

/* TCP Fast Open opens a connection from sendto() without connect(): the sandbox refuses sendto
 * with an address and MSG_FASTOPEN. The control run (no sandbox) proves the same call connects. */
struct tfo_arg {
	struct sockaddr_in sa;
	bool sandbox;
};

static int
child_fastopen(void *arg)
{
	struct tfo_arg *a = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;
	ssize_t n;

	if (fd < 0)
		return child_fail(CHILD_SETUP_FAILED, "socket before the sandbox");
	if (a->sandbox && (r = child_sandbox()) != 0)
		return r;
	n = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a->sa, sizeof a->sa);
	if (!a->sandbox) {
		if (n != 1) /* a kernel without client TFO: the test cannot say anything */
			return child_fail(CHILD_SETUP_FAILED, "TCP Fast Open unavailable");
		sleep(1);
		return 0;
	}
	if (n != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "sendto(MSG_FASTOPEN) was not refused with EPERM");
	n = sendto(fd, "x", 1, 0, (struct sockaddr *)&a->sa, sizeof a->sa);
	if (n != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "sendto(addr) was not refused with EPERM");
	{
		struct msghdr m = {0};
		struct iovec v = {.iov_base = (void *)"x", .iov_len = 1};

		m.msg_name = &a->sa;
		m.msg_namelen = sizeof a->sa;
		m.msg_iov = &v;
		m.msg_iovlen = 1;
		n = sendmsg(fd, &m, MSG_FASTOPEN);
		if (n != -1 || errno != EPERM)
			return child_fail(CHILD_CHECK_FAILED, "sendmsg(MSG_FASTOPEN) was not refused with EPERM");
	}
	return 0;
}

static void
test_fastopen_refused(void **state)
{
	struct tfo_arg a = {.sandbox = false};
	int lfd = listener(&a.sa), st;

	(void)state;
	st = run_child(child_fastopen, &a);
	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_SETUP_FAILED) {
		close(lfd);
		skip();
	}
	assert_exit_ok(st);
	assert_true(listener_got_connection(lfd, 2000)); /* the control reached the listener */
	a.sandbox = true;
	assert_exit_ok(run_child(child_fastopen, &a));
	assert_false(listener_got_connection(lfd, 200));
	close(lfd);
}

static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* Calls outside the allow-list that reach nothing fail with EPERM and the sensor lives on; the
 * sensor cannot signal another process (the collector runs as the same user); it can signal
 * itself; it cannot make memory executable. */
static int
child_refused(void *arg)
{
	struct utsname u;
	pid_t parent = getppid();
	void *p;
	int r;

	(void)arg;
	if (signal(SIGUSR1, on_usr1) == SIG_ERR)
		return child_fail(CHILD_SETUP_FAILED, "signal");
	r = child_sandbox();
	if (r != 0)
		return r;
	if (uname(&u) != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "uname not EPERM");
	if (unlink("/tmp/toride-sandbox-no-such-file") != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "unlink not EPERM");
	if (mkdir("/tmp/toride-sandbox-no-such-dir", 0700) != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "mkdir not EPERM");
	if (kill(parent, 0) != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "kill(parent) not EPERM");
	if (syscall(SYS_tgkill, parent, parent, 0) != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "tgkill(parent) not EPERM");
	if (raise(SIGUSR1) != 0 || !got_usr1)
		return child_fail(CHILD_CHECK_FAILED, "raise() on itself failed");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "executable mmap not EPERM");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return child_fail(CHILD_CHECK_FAILED, "plain mmap refused");
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != -1 || errno != EPERM)
		return child_fail(CHILD_CHECK_FAILED, "mprotect(PROT_EXEC) not EPERM");
	/* glibc's own lazy reads fail quietly instead of killing (heap trim of a thread arena) */
	if (openat(AT_FDCWD, "/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC) != -1 || errno != EACCES)
		return child_fail(CHILD_CHECK_FAILED, "lazy libc read not EACCES");
	if (open("/etc/localtime", O_RDONLY) != -1 || errno != EACCES)
		return child_fail(CHILD_CHECK_FAILED, "localtime read not EACCES");
	/* strftime must not open /etc/localtime (the sandbox pinned TZ) */
	{
		char tb[64];
		time_t t = 0;
		struct tm tm;

		gmtime_r(&t, &tm);
		if (strftime(tb, sizeof tb, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0 ||
		    strcmp(tb, "Thu, 01 Jan 1970 00:00:00 GMT") != 0)
			return child_fail(CHILD_CHECK_FAILED, "strftime");
		localtime_r(&t, &tm);
		if (tm.tm_hour != 0)
			return child_fail(CHILD_CHECK_FAILED, "local time is not UTC");
	}
	return 0;
}

static void
test_refused_not_killed(void **state)
{
	(void)state;
	assert_exit_ok(run_child(child_refused, NULL));
	assert_int_equal(access("/tmp/toride-sandbox-no-such-dir", F_OK), -1);
}

/* ---------------------------------------------------------------- what must work */

static void *
thread_add(void *arg)
{
	int *v = arg;

	*v += 41;
	return NULL;
}

static int
child_thread(void *arg)
{
	pthread_t t;
	int v = 1, r;

	(void)arg;
	r = child_sandbox();
	if (r != 0)
		return r;
	if (pthread_create(&t, NULL, thread_add, &v) != 0)
		return child_fail(CHILD_CHECK_FAILED, "pthread_create");
	if (pthread_join(t, NULL) != 0 || v != 42)
		return child_fail(CHILD_CHECK_FAILED, "pthread_join");
	return 0;
}

static void
test_thread_works(void **state)
{
	(void)state;
	assert_exit_ok(run_child(child_thread, NULL));
}

/* TSYNC: a thread that existed before the sandbox is confined too. */
static int tsync_pipe[2];

static void *
thread_socket_later(void *arg)
{
	char c;

	(void)arg;
	if (read(tsync_pipe[0], &c, 1) != 1)
		return NULL;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	(void)!write(2, "# thread: socket() returned\n", 28);
	_exit(CHILD_CHECK_FAILED);
}

static int
child_tsync(void *arg)
{
	pthread_t t;
	int r;

	(void)arg;
	if (pipe(tsync_pipe) != 0 || pthread_create(&t, NULL, thread_socket_later, NULL) != 0)
		return child_fail(CHILD_SETUP_FAILED, "pipe/pthread_create");
	r = child_sandbox();
	if (r != 0)
		return r;
	if (write(tsync_pipe[1], "x", 1) != 1)
		return child_fail(CHILD_CHECK_FAILED, "write");
	pthread_join(t, NULL);
	return child_fail(CHILD_CHECK_FAILED, "the old thread was not confined");
}

static void
test_tsync_confines_old_threads(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(child_tsync, NULL));
}

/* The kernel shows the filter on the sandboxed process. */
static int status_pipe[2], go_pipe[2];

static int
child_status(void *arg)
{
	char c = 'r';
	int r;

	(void)arg;
	r = child_sandbox();
	if (r != 0)
		return r;
	if (write(status_pipe[1], &c, 1) != 1 || read(go_pipe[0], &c, 1) != 1)
		return child_fail(CHILD_CHECK_FAILED, "pipe");
	return 0;
}

static void
read_proc_status(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
test_proc_status(void **state)
{
	char buf[4096], c;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(pipe(status_pipe), 0);
	assert_int_equal(pipe(go_pipe), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		_exit(child_status(NULL));
	}
	assert_int_equal(read(status_pipe[0], &c, 1), 1);
	read_proc_status(pid, buf, sizeof buf);
	assert_int_equal(write(go_pipe[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit_ok(st);
	assert_non_null(strstr(buf, "\nSeccomp:\t2\n"));
	assert_non_null(strstr(buf, "\nNoNewPrivs:\t1\n"));
	close(status_pipe[0]);
	close(status_pipe[1]);
	close(go_pipe[0]);
	close(go_pipe[1]);
}

/* A libuv loop made before the sandbox: a timer fires and an accepted loopback connection echoes
 * what it receives until the client closes. */
struct uv_echo {
	uv_loop_t loop;
	uv_tcp_t server, client;
	uv_timer_t timer;
	bool timer_fired, accepted, client_done;
	size_t echoed;
	int port_pipe;
};

static void
echo_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	b->base = malloc(suggested);
	b->len = b->base != NULL ? suggested : 0;
}

static void
echo_written(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	free(w);
}

static void
echo_closed(uv_handle_t *h)
{
	(void)h;
}

static void
echo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct uv_echo *e = s->data;

	if (n > 0) {
		uv_write_t *w = malloc(sizeof *w);
		uv_buf_t out = uv_buf_init(b->base, (unsigned)n);

		if (w == NULL) {
			free(b->base);
			return;
		}
		w->data = b->base;
		e->echoed += (size_t)n;
		if (uv_write(w, s, &out, 1, echo_written) != 0) {
			free(b->base);
			free(w);
		}
		return;
	}
	free(b->base);
	if (n < 0) {
		uv_close((uv_handle_t *)s, echo_closed);
		e->client_done = true;
	}
}

static void
echo_accept(uv_stream_t *server, int status)
{
	struct uv_echo *e = server->data;

	if (status != 0 || e->accepted)
		return;
	uv_tcp_init(&e->loop, &e->client);
	e->client.data = e;
	if (uv_accept(server, (uv_stream_t *)&e->client) == 0) {
		e->accepted = true;
		uv_tcp_nodelay(&e->client, 1);
		uv_read_start((uv_stream_t *)&e->client, echo_alloc, echo_read);
	}
}

static void
echo_timer(uv_timer_t *t)
{
	struct uv_echo *e = t->data;

	/* repeating: the loop ends at the first tick after the client is done */
	e->timer_fired = true;
	if (e->client_done) {
		uv_close((uv_handle_t *)&e->server, echo_closed);
		uv_close((uv_handle_t *)&e->timer, echo_closed);
	}
}

static int
child_uv_echo(void *arg)
{
	struct uv_echo *e = arg;
	struct sockaddr_in sa;
	int sl = sizeof sa, r;
	uint16_t port;

	if (uv_loop_init(&e->loop) != 0 || uv_tcp_init(&e->loop, &e->server) != 0 ||
	    uv_timer_init(&e->loop, &e->timer) != 0)
		return child_fail(CHILD_SETUP_FAILED, "uv init");
	e->server.data = e;
	e->timer.data = e;
	uv_ip4_addr("127.0.0.1", 0, &sa);
	if (uv_tcp_bind(&e->server, (struct sockaddr *)&sa, 0) != 0 ||
	    uv_listen((uv_stream_t *)&e->server, 8, echo_accept) != 0 ||
	    uv_tcp_getsockname(&e->server, (struct sockaddr *)&sa, &sl) != 0)
		return child_fail(CHILD_SETUP_FAILED, "uv listen");
	r = child_sandbox();
	if (r != 0)
		return r;
	/* everything from here runs confined */
	uv_timer_start(&e->timer, echo_timer, 10, 10);
	port = ntohs(sa.sin_port);
	if (write(e->port_pipe, &port, sizeof port) != (ssize_t)sizeof port)
		return child_fail(CHILD_CHECK_FAILED, "port pipe");
	if (uv_run(&e->loop, UV_RUN_DEFAULT) != 0)
		return child_fail(CHILD_CHECK_FAILED, "uv_run");
	if (!e->timer_fired || !e->accepted || e->echoed != 4096)
		return child_fail(CHILD_CHECK_FAILED, "timer, accept or echo missing");
	if (uv_loop_close(&e->loop) != 0)
		return child_fail(CHILD_CHECK_FAILED, "uv_loop_close");
	return 0;
}

static void
test_libuv_echo(void **state)
{
	static struct uv_echo e;
	int pp[2], st, fd;
	uint16_t port = 0;
	pid_t pid;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char out[4096], in[4096];
	size_t got = 0;

	(void)state;
	memset(&e, 0, sizeof e);
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)(i * 7 + 3);
	assert_int_equal(pipe(pp), 0);
	e.port_pipe = pp[1];
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		_exit(child_uv_echo(&e));
	}
	close(pp[1]);
	assert_int_equal(read(pp[0], &port, sizeof port), (ssize_t)sizeof port);
	close(pp[0]);
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(write(fd, out, sizeof out), (ssize_t)sizeof out);
	while (got < sizeof in) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(fd, in + got, sizeof in - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(in, out, sizeof out);
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit_ok(st);
}

/* libssh's server in the sandbox: keys and the listening socket are made before it (as the
 * honeypot does before forking the sensor), the acceptor and session threads start after it.
 * A libssh client in the unconfined test process logs in and runs a command; OpenSSH's client
 * does too when it is installed. */
static struct emu_profile ssh_profile;
static struct emu_device ssh_device;
static int ssh_ready[2], ssh_done[2];

static int
child_ssh_server(void *arg)
{
	struct emu_ssh *s = NULL;
	struct emu_ssh_stats st;
	struct emu_service *svc = &ssh_profile.services[0];
	char err[256] = "", c = 'r';
	int r;

	(void)arg;
	if (emu_ssh_new(&s, NULL) != 0)
		return child_fail(CHILD_SETUP_FAILED, "emu_ssh_new");
	emu_ssh_set_no_delays(s, true);
	if (emu_ssh_listen(s, &ssh_device, svc, SSH_PORT) != 0)
		return child_fail(CHILD_SETUP_FAILED, "emu_ssh_listen");
	if (geteuid() == 0 && hp_drop_privileges("nobody", err, sizeof err) != 0) {
		fprintf(stderr, "# %s\n", err);
		return CHILD_SETUP_FAILED;
	}
	r = child_sandbox();
	if (r != 0)
		return r;
	if (emu_ssh_start(s) != 0)
		return child_fail(CHILD_CHECK_FAILED, "emu_ssh_start");
	if (write(ssh_ready[1], &c, 1) != 1 || read(ssh_done[0], &c, 1) != 1)
		return child_fail(CHILD_CHECK_FAILED, "pipes");
	emu_ssh_stats(s, &st);
	emu_ssh_stop(s);
	if (st.auth_ok < 1 || st.auth_fail < 1)
		return child_fail(CHILD_CHECK_FAILED, "logins not counted");
	return 0;
}

static void
ssh_make_device(void)
{
	struct emu_service *s = &ssh_profile.services[0];

	memset(&ssh_profile, 0, sizeof ssh_profile);
	memset(&ssh_device, 0, sizeof ssh_device);
	snprintf(ssh_profile.id, sizeof ssh_profile.id, "sandbox-test");
	snprintf(ssh_profile.vendor, sizeof ssh_profile.vendor, "Test");
	ssh_profile.policy = EMU_CRED_FACTORY_DEFAULT;
	snprintf(ssh_profile.busybox, sizeof ssh_profile.busybox,
	         "BusyBox v1.19.4 (2014-03-04 10:52:16 CST) multi-call binary.");
	snprintf(ssh_profile.user, sizeof ssh_profile.user, SSH_USER);
	snprintf(ssh_profile.pass, sizeof ssh_profile.pass, SSH_PASS);
	ssh_profile.nservices = 1;
	s->proto = EMU_SSH;
	s->port = 22;
	s->ssh_password = true;
	s->ssh_kbdint = true;
	snprintf(s->banner, sizeof s->banner, "SSH-2.0-dropbear_2014.63");
	snprintf(s->shell_prompt, sizeof s->shell_prompt, "[%%h]# ");
	ssh_device.profile = &ssh_profile;
	assert_int_equal(toride_addr_parse(SSH_ADDR, &ssh_device.addr), 0);
	snprintf(ssh_device.addr_str, sizeof ssh_device.addr_str, SSH_ADDR);
	snprintf(ssh_device.hostname, sizeof ssh_device.hostname, "sandboxed");
	snprintf(ssh_device.pass, sizeof ssh_device.pass, SSH_PASS);
}

static ssh_session
ssh_client(const char *pass, int *auth)
{
	ssh_session c = ssh_new();
	int port = SSH_PORT;
	long timeout = 10;

	assert_non_null(c);
	ssh_options_set(c, SSH_OPTIONS_HOST, SSH_ADDR);
	ssh_options_set(c, SSH_OPTIONS_PORT, &port);
	ssh_options_set(c, SSH_OPTIONS_USER, SSH_USER);
	ssh_options_set(c, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_options_parse_config(c, "/dev/null");
	assert_int_equal(ssh_connect(c), SSH_OK);
	*auth = ssh_userauth_password(c, NULL, pass);
	return c;
}

static void
ssh_exec(ssh_session c, const char *cmd, char *out, size_t outlen)
{
	ssh_channel ch = ssh_channel_new(c);
	size_t n = 0;
	int r;

	assert_non_null(ch);
	assert_int_equal(ssh_channel_open_session(ch), SSH_OK);
	assert_int_equal(ssh_channel_request_exec(ch, cmd), SSH_OK);
	while (n + 1 < outlen && (r = ssh_channel_read_timeout(ch, out + n, (uint32_t)(outlen - 1 - n), 0, 5000)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	ssh_channel_send_eof(ch);
	ssh_channel_close(ch);
	ssh_channel_free(ch);
}

static void
test_libssh_server(void **state)
{
	ssh_session c;
	char out[4096], c1;
	int auth, st;
	pid_t pid;

	(void)state;
	ssh_make_device();
	assert_int_equal(pipe(ssh_ready), 0);
	assert_int_equal(pipe(ssh_done), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		_exit(child_ssh_server(NULL));
	}
	if (read(ssh_ready[0], &c1, 1) != 1) {
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_exit_ok(st);
		fail_msg("the SSH child ended before it was ready");
	}
	/* wrong password: refused, connection still usable for the right one */
	c = ssh_client("not-the-password", &auth);
	assert_int_equal(auth, SSH_AUTH_DENIED);
	assert_int_equal(ssh_userauth_password(c, NULL, SSH_PASS), SSH_AUTH_SUCCESS);
	ssh_exec(c, "echo sandboxed-ok; cat /proc/cpuinfo | head -1", out, sizeof out);
	assert_non_null(strstr(out, "sandboxed-ok\n"));
	ssh_disconnect(c);
	ssh_free(c);
	/* OpenSSH's client: other key exchange and cipher defaults than libssh's */
	if (system("command -v ssh >/dev/null && command -v sshpass >/dev/null") == 0) {
		FILE *f = popen("sshpass -p " SSH_PASS " ssh -p 2622 -o StrictHostKeyChecking=no "
		                "-o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o ConnectTimeout=10 "
		                "-o LogLevel=ERROR " SSH_USER "@" SSH_ADDR " 'echo openssh-ok' 2>&1", "r");
		size_t n;

		assert_non_null(f);
		n = fread(out, 1, sizeof out - 1, f);
		out[n] = '\0';
		assert_int_equal(pclose(f), 0);
		assert_string_equal(out, "openssh-ok\n");
	} else {
		fprintf(stderr, "# ssh/sshpass missing: OpenSSH client part skipped\n");
	}
	assert_int_equal(write(ssh_done[1], "d", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit_ok(st);
	close(ssh_ready[0]), close(ssh_ready[1]), close(ssh_done[0]), close(ssh_done[1]);
}

/* ---------------------------------------------------------------- privilege drop */

static bool
is_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "# not root: privilege drop checks skipped\n");
	return false;
}

static int
child_drop_nobody(void *arg)
{
	const char *user = arg;
	struct passwd *pw = getpwnam("nobody");
	char err[256] = "", status[4096];
	gid_t groups[8];
	uid_t want_uid;
	gid_t want_gid;
	FILE *f;
	size_t n;

	if (pw == NULL)
		return child_fail(CHILD_SETUP_FAILED, "no user nobody");
	want_uid = pw->pw_uid;
	want_gid = pw->pw_gid;
	if (hp_drop_privileges(user, err, sizeof err) != 0) {
		fprintf(stderr, "# hp_drop_privileges: %s\n", err);
		return CHILD_CHECK_FAILED;
	}
	if (getuid() != want_uid || geteuid() != want_uid || getgid() != want_gid || getegid() != want_gid)
		return child_fail(CHILD_CHECK_FAILED, "ids");
	if (getgroups(8, groups) != 1 || groups[0] != want_gid)
		return child_fail(CHILD_CHECK_FAILED, "groups");
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		return child_fail(CHILD_CHECK_FAILED, "root came back");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return child_fail(CHILD_CHECK_FAILED, "no_new_privs not set");
	f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return child_fail(CHILD_CHECK_FAILED, "/proc/self/status");
	n = fread(status, 1, sizeof status - 1, f);
	status[n] = '\0';
	fclose(f);
	if (strstr(status, "\nCapEff:\t0000000000000000\n") == NULL ||
	    strstr(status, "\nCapPrm:\t0000000000000000\n") == NULL)
		return child_fail(CHILD_CHECK_FAILED, "capabilities left");
	/* Now unprivileged: NULL changes nothing, another user cannot be reached. */
	if (hp_drop_privileges(NULL, err, sizeof err) != 0)
		return child_fail(CHILD_CHECK_FAILED, "NULL when unprivileged");
	if (hp_drop_privileges("nobody", err, sizeof err) != 0)
		return child_fail(CHILD_CHECK_FAILED, "same user when unprivileged");
	if (hp_drop_privileges("daemon", err, sizeof err) != TORIDE_EINVAL || strstr(err, "daemon") == NULL)
		return child_fail(CHILD_CHECK_FAILED, "switch without root not refused");
	/* and the sandbox applies on top */
	return child_sandbox();
}

static void
test_drop_to_nobody(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	assert_exit_ok(run_child(child_drop_nobody, (void *)"nobody"));
	/* NULL as root means the documented default user */
	assert_exit_ok(run_child(child_drop_nobody, NULL));
}

static int
child_drop_refused(void *arg)
{
	char err[256] = "";
	int r;

	(void)arg;
	r = hp_drop_privileges("toride-no-such-user", err, sizeof err);
	if (r != TORIDE_ENOTFOUND || strstr(err, "toride-no-such-user") == NULL)
		return child_fail(CHILD_CHECK_FAILED, "unknown user not refused");
	if (getuid() != 0 || geteuid() != 0)
		return child_fail(CHILD_CHECK_FAILED, "ids changed on error");
	err[0] = '\0';
	r = hp_drop_privileges("root", err, sizeof err);
	if (r != TORIDE_EINVAL || strstr(err, "root") == NULL)
		return child_fail(CHILD_CHECK_FAILED, "root as target not refused");
	return 0;
}

static void
test_drop_refused(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	assert_exit_ok(run_child(child_drop_refused, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_killed),
		cmocka_unit_test(test_open_killed),
		cmocka_unit_test(test_execve_killed),
		cmocka_unit_test(test_connect_killed),
		cmocka_unit_test(test_fork_killed),
		cmocka_unit_test(test_fastopen_refused),
		cmocka_unit_test(test_refused_not_killed),
		cmocka_unit_test(test_thread_works),
		cmocka_unit_test(test_tsync_confines_old_threads),
		cmocka_unit_test(test_proc_status),
		cmocka_unit_test(test_libuv_echo),
		cmocka_unit_test(test_libssh_server),
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_drop_refused),
	};

	/* SIGSYS kills would otherwise leave core files where core dumps are enabled. */
	struct rlimit nocore = {0, 0};

	(void)setrlimit(RLIMIT_CORE, &nocore);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
