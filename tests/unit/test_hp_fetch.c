/*
 * hp_fetch_url against servers this test runs on loopback (raw sockets, one thread each):
 * an HTTP server on 127.0.0.1 (a file, a redirect, an over-size answer with and without a
 * length, a 404, an answer that never comes), a second HTTP server on 127.0.0.2 that must never
 * see a connection, and a tiny TFTP responder (RRQ -> DATA blocks -> ACKs) on 127.0.0.1.
 * The scope is the guarantee: out-of-scope addresses (literal, by name, or as a redirect target)
 * are not contacted at all. Only 127.0.0.0/8 is used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/scope.h"
#include "honeypot/hp.h"

#define SAMPLE_LEN (100u * 1024u)
#define TFTP_LEN 1300u /* three blocks: 512, 512, 276 */
#define MAX_HELD 16

static uint8_t sample[SAMPLE_LEN];
static uint8_t tftp_file[TFTP_LEN];

struct server {
	const char *addr;
	int lfd;
	uint16_t port;
	int stop[2];
	pthread_t th;
	atomic_int connections;
	int held[MAX_HELD]; /* connections of /slow, kept open without an answer */
	int nheld;
	char last_request[2048];
	uint16_t redirect_port; /* where /redirect points (on 127.0.0.2) */
};

static struct server srv1 = { .addr = "127.0.0.1" }, srv2 = { .addr = "127.0.0.2" };

static int
listen_on(const char *addr, int type, uint16_t *port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || (type == SOCK_STREAM && listen(fd, 16) != 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the client gave up (over-size answers): fine */
		b += w;
		n -= (size_t)w;
	}
}

static void
serve_one(struct server *s, int fd)
{
	char req[2048];
	size_t n = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (n < sizeof req - 1 && poll(&pfd, 1, 2000) > 0) {
		ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[n] = '\0';
	snprintf(s->last_request, sizeof s->last_request, "%s", req);
	char hdr[512];
	if (strncmp(req, "GET /sample.bin ", 16) == 0) {
		snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\nConnection: close\r\n\r\n",
		         SAMPLE_LEN);
		send_all(fd, hdr, strlen(hdr));
		send_all(fd, sample, SAMPLE_LEN);
	} else if (strncmp(req, "GET /redirect ", 14) == 0) {
		snprintf(hdr, sizeof hdr,
		         "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%u/sample.bin\r\nContent-Length: 0\r\n"
		         "Connection: close\r\n\r\n",
		         (unsigned)s->redirect_port);
		send_all(fd, hdr, strlen(hdr));
	} else if (strncmp(req, "GET /big-nolength ", 18) == 0) {
		/* no Content-Length: only the write-callback cap can stop it */
		snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		send_all(fd, hdr, strlen(hdr));
		send_all(fd, sample, SAMPLE_LEN);
	} else if (strncmp(req, "GET /slow ", 10) == 0) {
		if (s->nheld < MAX_HELD) {
			s->held[s->nheld++] = fd;
			return;
		}
	} else {
		snprintf(hdr, sizeof hdr, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		send_all(fd, hdr, strlen(hdr));
	}
	close(fd);
}

static void *
server_main(void *arg)
{
	struct server *s = arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->lfd, .events = POLLIN }, { .fd = s->stop[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			atomic_fetch_add(&s->connections, 1);
			serve_one(s, fd);
		}
	}
	for (int i = 0; i < s->nheld; i++)
		close(s->held[i]);
	return NULL;
}

static int
server_start(struct server *s)
{
	s->lfd = listen_on(s->addr, SOCK_STREAM, &s->port);
	if (s->lfd < 0 || pipe(s->stop) != 0)
		return -1;
	return pthread_create(&s->th, NULL, server_main, s) == 0 ? 0 : -1;
}

static void
server_stop(struct server *s)
{
	if (write(s->stop[1], "x", 1) != 1)
		return;
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
}

/* ---- TFTP (RFC 1350): RRQ -> DATA 1..n from a fresh port (the transfer ID), each ACKed ---- */

static int tftp_fd = -1;
static uint16_t tftp_port;
static pthread_t tftp_th;
static char tftp_filename[256];
static atomic_int tftp_requests;
/* ACKs that reached a forged sender on 127.0.0.2 (must stay 0) */
static atomic_int tftp_forged_acks;

static void *
tftp_main(void *arg)
{
	(void)arg;
	uint8_t pkt[1024];
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	struct pollfd p = { .fd = tftp_fd, .events = POLLIN };
	if (poll(&p, 1, 20000) <= 0)
		return NULL;
	ssize_t n = recvfrom(tftp_fd, pkt, sizeof pkt - 1, 0, (struct sockaddr *)&peer, &plen);
	if (n < 4 || pkt[0] != 0 || pkt[1] != 1)
		return NULL;
	pkt[n] = 0;
	snprintf(tftp_filename, sizeof tftp_filename, "%.255s", (char *)pkt + 2);
	atomic_fetch_add(&tftp_requests, 1);
	/* first a forged DATA 1 from another address: the client must not take it or answer it */
	uint16_t forged_port;
	int ffd = listen_on("127.0.0.2", SOCK_DGRAM, &forged_port);
	if (ffd >= 0) {
		uint8_t fake[4 + 16] = { 0, 3, 0, 1, 'f', 'o', 'r', 'g', 'e', 'd' };
		sendto(ffd, fake, sizeof fake, 0, (struct sockaddr *)&peer, sizeof peer);
		struct pollfd fp = { .fd = ffd, .events = POLLIN };
		if (poll(&fp, 1, 300) > 0)
			atomic_fetch_add(&tftp_forged_acks, 1);
		close(ffd);
	}
	uint16_t tid_port;
	int dfd = listen_on("127.0.0.1", SOCK_DGRAM, &tid_port);
	if (dfd < 0)
		return NULL;
	size_t off = 0;
	for (uint16_t block = 1;; block++) {
		size_t chunk = TFTP_LEN - off > 512 ? 512 : TFTP_LEN - off;
		uint8_t data[4 + 512] = { 0, 3, (uint8_t)(block >> 8), (uint8_t)block };
		memcpy(data + 4, tftp_file + off, chunk);
		bool acked = false;
		for (int tries = 0; tries < 5 && !acked; tries++) {
			sendto(dfd, data, 4 + chunk, 0, (struct sockaddr *)&peer, sizeof peer);
			struct pollfd dp = { .fd = dfd, .events = POLLIN };
			while (poll(&dp, 1, 1000) > 0) {
				uint8_t ack[64];
				ssize_t an = recv(dfd, ack, sizeof ack, 0);
				if (an >= 4 && ack[1] == 4 && (uint16_t)(ack[2] << 8 | ack[3]) == block) {
					acked = true;
					break;
				}
			}
		}
		if (!acked)
			break;
		off += chunk;
		if (chunk < 512)
			break;
	}
	close(dfd);
	return NULL;
}

/* ---- fixtures ---- */

static struct toride_scope *
scope_of(const char *spec)
{
	struct toride_scope *s = NULL;
	char err[256];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, spec, err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	return s;
}

static int
group_setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < SAMPLE_LEN; i++)
		sample[i] = (uint8_t)(i * 7 + (i >> 9));
	memcpy(sample, "\x7f" "ELF\x01\x01\x01", 7);
	for (size_t i = 0; i < TFTP_LEN; i++)
		tftp_file[i] = (uint8_t)(i ^ 0xa5);
	if (server_start(&srv2) != 0)
		return -1;
	srv1.redirect_port = srv2.port;
	if (server_start(&srv1) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	server_stop(&srv1);
	server_stop(&srv2);
	return 0;
}

static int
fetch(const char *scope, const char *url, size_t max, unsigned timeout_ms, struct toride_buf *body, char *err,
      size_t errlen)
{
	struct toride_scope *s = scope_of(scope);
	struct hp_fetch_config cfg = { .scope = s, .max_bytes = max, .timeout_ms = timeout_ms };
	int r = hp_fetch_url(&cfg, url, body, err, errlen);
	toride_scope_free(s);
	return r;
}

static void
test_http_fetch(void **state)
{
	(void)state;
	char url[128], err[512];
	struct toride_buf body;
	toride_buf_init(&body, 16u * 1024u * 1024u);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/sample.bin", (unsigned)srv1.port);
	int r = fetch("127.0.0.1/32", url, 0, 10000, &body, err, sizeof err);
	if (r != 0)
		fail_msg("fetch: %d %s", r, err);
	assert_int_equal(body.len, SAMPLE_LEN);
	assert_memory_equal(body.data, sample, SAMPLE_LEN);
	/* the server heard who fetched and why */
	assert_non_null(strstr(srv1.last_request, "User-Agent: toride/"));
	assert_non_null(strstr(srv1.last_request, "honeypot sample fetch"));

	/* dropper form without a scheme */
	toride_buf_reset(&body);
	snprintf(url, sizeof url, "127.0.0.1:%u/sample.bin", (unsigned)srv1.port);
	assert_int_equal(fetch("127.0.0.0/8", url, 0, 10000, &body, err, sizeof err), 0);
	assert_int_equal(body.len, SAMPLE_LEN);

	/* a 404 is an error, and leaves no bytes */
	toride_buf_reset(&body);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/missing", (unsigned)srv1.port);
	assert_int_equal(fetch("127.0.0.1/32", url, 0, 10000, &body, err, sizeof err), TORIDE_EIO);
	assert_non_null(strstr(err, "404"));
	assert_int_equal(body.len, 0);
	toride_buf_free(&body);
}

static void
test_out_of_scope_not_contacted(void **state)
{
	(void)state;
	char url[128], err[512];
	struct toride_buf body;
	toride_buf_init(&body, 1024u * 1024u);
	int before = atomic_load(&srv2.connections);
	snprintf(url, sizeof url, "http://127.0.0.2:%u/sample.bin", (unsigned)srv2.port);
	assert_int_equal(fetch("127.0.0.1/32", url, 0, 5000, &body, err, sizeof err), TORIDE_ESCOPE);
	assert_non_null(strstr(err, "127.0.0.2"));
	assert_int_equal(body.len, 0);

	/* a redirect to the out-of-scope server is not followed */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/redirect", (unsigned)srv1.port);
	assert_int_equal(fetch("127.0.0.1/32", url, 0, 5000, &body, err, sizeof err), TORIDE_EIO);
	assert_non_null(strstr(err, "302"));
	assert_non_null(strstr(err, "not followed"));
	/* even when the redirect target would be in scope */
	assert_int_equal(fetch("127.0.0.0/8", url, 0, 5000, &body, err, sizeof err), TORIDE_EIO);
	assert_int_equal(body.len, 0);

	/* nothing ever reached 127.0.0.2 */
	usleep(100 * 1000);
	assert_int_equal(atomic_load(&srv2.connections), before);
	toride_buf_free(&body);
}

static void
test_localhost_resolved_and_checked(void **state)
{
	(void)state;
	char url[128], err[512];
	struct toride_buf body;
	toride_buf_init(&body, 1024u * 1024u);
	snprintf(url, sizeof url, "http://localhost:%u/sample.bin", (unsigned)srv1.port);
	int r = fetch("127.0.0.1/32", url, 0, 10000, &body, err, sizeof err);
	if (r != 0)
		fail_msg("localhost fetch: %d %s", r, err);
	assert_int_equal(body.len, SAMPLE_LEN);

	/* the name resolves to 127.0.0.1 (and maybe ::1): outside a 127.0.0.2 scope, so no contact */
	toride_buf_reset(&body);
	int before = atomic_load(&srv1.connections);
	assert_int_equal(fetch("127.0.0.2/32", url, 0, 5000, &body, err, sizeof err), TORIDE_ESCOPE);
	usleep(100 * 1000);
	assert_int_equal(atomic_load(&srv1.connections), before);
	toride_buf_free(&body);
}

static void
test_too_big(void **state)
{
	(void)state;
	char url[128], err[512];
	struct toride_buf body;
	toride_buf_init(&body, 1024u * 1024u);
	/* announced length over the cap */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/sample.bin", (unsigned)srv1.port);
	assert_int_equal(fetch("127.0.0.1/32", url, 4096, 5000, &body, err, sizeof err), TORIDE_ETOOBIG);
	assert_int_equal(body.len, 0);
	/* no length: the write cap ends it */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big-nolength", (unsigned)srv1.port);
	assert_int_equal(fetch("127.0.0.1/32", url, 4096, 5000, &body, err, sizeof err), TORIDE_ETOOBIG);
	assert_int_equal(body.len, 0);
	/* the caller's buffer cap counts too */
	struct toride_buf small;
	toride_buf_init(&small, 1000);
	assert_int_equal(fetch("127.0.0.1/32", url, 0, 5000, &small, err, sizeof err), TORIDE_ETOOBIG);
	assert_int_equal(small.len, 0);
	toride_buf_free(&small);
	toride_buf_free(&body);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_timeout(void **state)
{
	(void)state;
	char url[128], err[512];
	struct toride_buf body;
	toride_buf_init(&body, 1024u * 1024u);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/slow", (unsigned)srv1.port);
	double t0 = now_s();
	assert_int_equal(fetch("127.0.0.1/32", url, 0, 400, &body, err, sizeof err), TORIDE_ETIMEOUT);
	double dt = now_s() - t0;
	assert_true(dt >= 0.3 && dt < 3.0);
	toride_buf_free(&body);
}

static void
test_tftp(void **state)
{
	(void)state;
	char url[128], err[512];
	tftp_fd = listen_on("127.0.0.1", SOCK_DGRAM, &tftp_port);
	assert_true(tftp_fd >= 0);
	assert_int_equal(pthread_create(&tftp_th, NULL, tftp_main, NULL), 0);
	struct toride_buf body;
	toride_buf_init(&body, 1024u * 1024u);
	snprintf(url, sizeof url, "tftp://127.0.0.1:%u/mips", (unsigned)tftp_port);
	int r = fetch("127.0.0.1/32", url, 0, 10000, &body, err, sizeof err);
	pthread_join(tftp_th, NULL);
	if (r != 0)
		fail_msg("tftp fetch: %d %s", r, err);
	assert_string_equal(tftp_filename, "mips");
	assert_int_equal(atomic_load(&tftp_forged_acks), 0);
	assert_int_equal(body.len, TFTP_LEN);
	assert_memory_equal(body.data, tftp_file, TFTP_LEN);

	/* out of scope over TFTP: not a single datagram */
	int before = atomic_load(&tftp_requests);
	toride_buf_reset(&body);
	assert_int_equal(fetch("127.0.0.2/32", url, 0, 2000, &body, err, sizeof err), TORIDE_ESCOPE);
	struct pollfd p = { .fd = tftp_fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 200), 0);
	assert_int_equal(atomic_load(&tftp_requests), before);
	close(tftp_fd);
	toride_buf_free(&body);
}

static void
test_bad_input(void **state)
{
	(void)state;
	char err[512];
	struct toride_buf body;
	toride_buf_init(&body, 1024);
	assert_int_equal(fetch("127.0.0.1/32", "gopher://127.0.0.1/x", 0, 1000, &body, err, sizeof err),
	                 TORIDE_EPARSE);
	assert_int_equal(fetch("127.0.0.1/32", "http://127.0.0.1/a b", 0, 1000, &body, err, sizeof err),
	                 TORIDE_EPARSE);
	/* an unfinished scope holds nothing: refused before anything */
	struct toride_scope *s = NULL;
	assert_int_equal(toride_scope_new(&s), 0);
	struct hp_fetch_config cfg = { .scope = s };
	assert_int_equal(hp_fetch_url(&cfg, "http://127.0.0.1/x", &body, err, sizeof err), TORIDE_EINVAL);
	cfg.scope = NULL;
	assert_int_equal(hp_fetch_url(&cfg, "http://127.0.0.1/x", &body, err, sizeof err), TORIDE_EINVAL);
	toride_scope_free(s);
	toride_buf_free(&body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_fetch),
		cmocka_unit_test(test_out_of_scope_not_contacted),
		cmocka_unit_test(test_localhost_resolved_and_checked),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_tftp),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
