/*
 * survey/syn.c on loopback: SYN discovery must find exactly the listening (address, port) pairs of
 * the scope, count the closed ones, keep the queue under its cap (back-pressure), and end with a
 * checkpoint at the end of the order once every hit is popped. Without CAP_NET_RAW it must refuse
 * with TORIDE_EUNSUPPORTED and say why. Traffic goes only to 127.70.200.0/28 (this helper's block).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/error.h"
#include "core/scope.h"
#include "survey/syn.h"

#define SCOPE "127.70.200.0/28"
#define NLISTEN 8

static bool
have_raw(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static struct toride_scope *
make_scope(void)
{
	struct toride_scope *s;
	char err[256];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, SCOPE, err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), 0);
	return s;
}

/* A listener on 127.70.200.<host>:*port (0: ephemeral, written back). */
static int
listen_on(unsigned host, uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(*port)};
	char a[32];
	snprintf(a, sizeof a, "127.70.200.%u", host);
	inet_pton(AF_INET, a, &sin.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 64), 0);
	socklen_t sl = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void
test_no_capability(void **state)
{
	(void)state;
	if (have_raw())
		skip();
	struct toride_scope *s = make_scope();
	uint16_t ports[] = {80};
	struct syn_config cfg = {.scope = s, .ports = ports, .nports = 1, .shard_count = 1, .cooldown_ms = 100};
	struct syn_disc *d = (struct syn_disc *)1;
	char err[256];
	assert_int_equal(syn_disc_new(&d, &cfg, err, sizeof err), TORIDE_EUNSUPPORTED);
	assert_null(d);
	assert_non_null(strstr(err, "CAP_NET_RAW"));
	toride_scope_free(s);
}

/* Pop until discovery is finished and the queue is empty. */
static size_t
drain(struct syn_disc *d, struct syn_hit *hits, size_t max, unsigned timeout_ms)
{
	size_t n = 0;
	struct syn_stats st;
	for (unsigned waited = 0; waited < timeout_ms; waited += 10) {
		struct syn_hit h[16];
		size_t k;
		while ((k = syn_disc_pop(d, h, 16)) > 0) {
			for (size_t i = 0; i < k; i++) {
				assert_true(n < max);
				hits[n++] = h[i];
			}
		}
		syn_disc_stats(d, &st);
		if (st.finished && st.queued == 0)
			return n;
		msleep(10);
	}
	fail_msg("discovery did not finish in %u ms", timeout_ms);
	return n;
}

/* Which listener (index) is this hit? -1 if none. */
static int
which(const struct syn_hit *h, const uint16_t *ports)
{
	for (int i = 0; i < NLISTEN; i++) {
		char a[32];
		struct toride_addr x;
		snprintf(a, sizeof a, "127.70.200.%d", 1 + 2 * i);
		toride_addr_parse(a, &x);
		if (toride_addr_cmp(&x, &h->addr) == 0 && h->port == ports[i])
			return i;
	}
	return -1;
}

static void
run_discovery(unsigned probes, size_t queue_cap, unsigned cooldown_ms)
{
	struct toride_scope *s = make_scope();
	int fds[NLISTEN];
	uint16_t lports[NLISTEN];
	/* Listeners on the odd addresses .1 .. .15, listener i on port 7001 + i; the survey probes all
	 * 16 addresses on all 8 ports: 8 open pairs, 120 closed ones. */
	for (int i = 0; i < NLISTEN; i++) {
		lports[i] = (uint16_t)(7001 + i);
		fds[i] = listen_on(1 + 2 * (unsigned)i, &lports[i]);
	}
	uint16_t ports[NLISTEN];
	for (int i = 0; i < NLISTEN; i++)
		ports[i] = lports[i];
	struct syn_config cfg = {
		.scope = s, .ports = ports, .nports = NLISTEN, .seed = 7, .shard_count = 1,
		.probes = probes, .cooldown_ms = cooldown_ms, .queue_cap = queue_cap,
	};
	struct syn_disc *d = NULL;
	char err[256];
	int r = syn_disc_new(&d, &cfg, err, sizeof err);
	if (r != 0)
		fail_msg("syn_disc_new: %s", err);
	assert_int_equal(syn_disc_start(d), 0);
	struct syn_stats st;
	if (queue_cap > 0) {
		/* Nothing popped yet: the sender must pause with at most queue_cap hits queued. */
		msleep(250);
		syn_disc_stats(d, &st);
		assert_true(st.queued <= queue_cap);
		assert_true(st.position < st.total);
		assert_false(st.sending_done);
		assert_true(syn_disc_checkpoint(d) < st.total);
	}
	struct syn_hit hits[64];
	size_t n = drain(d, hits, 64, 20000);
	/* Every listener found on its own port, nothing else, each once. */
	assert_int_equal(n, NLISTEN);
	bool seen[NLISTEN] = {0};
	for (size_t i = 0; i < n; i++) {
		int w = which(&hits[i], lports);
		assert_true(w >= 0);
		assert_false(seen[w]);
		seen[w] = true;
	}
	syn_disc_stats(d, &st);
	assert_int_equal(st.total, 16u * NLISTEN);
	assert_int_equal(st.position, st.total);
	assert_int_equal(st.packets, (uint64_t)probes * st.total);
	assert_int_equal(st.open, NLISTEN);
	/* Every other pair is a local address with a closed port: it answers RST. */
	assert_true(st.closed >= st.total - NLISTEN);
	assert_true(st.replies >= st.total);
	assert_int_equal(st.error, 0);
	assert_true(st.sending_done && st.finished);
	assert_int_equal(syn_disc_checkpoint(d), st.total);
	syn_disc_free(d);
	for (int i = 0; i < NLISTEN; i++)
		close(fds[i]);
	toride_scope_free(s);
}

static void
test_loopback(void **state)
{
	(void)state;
	if (!have_raw())
		skip();
	run_discovery(1, 0, 300);
}

static void
test_loopback_probes(void **state)
{
	(void)state;
	if (!have_raw())
		skip();
	run_discovery(3, 0, 300);
}

static void
test_backpressure(void **state)
{
	(void)state;
	if (!have_raw())
		skip();
	/* 3 pairs per 100 ms cool-down: the 128 pairs take ~4 s, and the queue never holds more. */
	run_discovery(1, 3, 100);
}

/* A zero cool-down with a tiny queue: the sender pauses right after each batch, and the pause
 * must end (the window of pairs "awaiting replies" empties), so discovery finishes. */
static void
test_backpressure_no_cooldown(void **state)
{
	(void)state;
	if (!have_raw())
		skip();
	struct toride_scope *s = make_scope();
	uint16_t ports[] = {9, 10, 11, 12};
	struct syn_config cfg = {.scope = s, .ports = ports, .nports = 4, .shard_count = 1, .cooldown_ms = 0,
	                         .queue_cap = 3};
	struct syn_disc *d = NULL;
	char err[256];
	assert_int_equal(syn_disc_new(&d, &cfg, err, sizeof err), 0);
	assert_int_equal(syn_disc_start(d), 0);
	struct syn_hit hits[4];
	assert_int_equal(drain(d, hits, 4, 10000), 0);
	struct syn_stats st;
	syn_disc_stats(d, &st);
	assert_int_equal(st.position, 64);
	assert_int_equal(st.packets, 64);
	assert_int_equal(syn_disc_checkpoint(d), 64);
	syn_disc_free(d);
	toride_scope_free(s);
}

static void
test_stop(void **state)
{
	(void)state;
	if (!have_raw())
		skip();
	struct toride_scope *s = make_scope();
	uint16_t ports[] = {9};
	struct syn_config cfg = {.scope = s, .ports = ports, .nports = 1, .shard_count = 1, .rate = 10,
	                         .cooldown_ms = 5000};
	struct syn_disc *d = NULL;
	char err[256];
	assert_int_equal(syn_disc_new(&d, &cfg, err, sizeof err), 0);
	assert_int_equal(syn_disc_start(d), 0);
	msleep(300);
	syn_disc_stop(d);
	struct syn_stats st;
	/* At 10 packets/s, 300 ms send a handful, far from the 16. */
	syn_disc_stats(d, &st);
	assert_true(st.packets >= 1 && st.packets < 16);
	time_t t0 = time(NULL);
	syn_disc_free(d); /* joins both threads: must not wait out the 5 s cool-down */
	assert_true(time(NULL) - t0 <= 1);
	toride_scope_free(s);
}

static void
test_resume_position(void **state)
{
	(void)state;
	if (!have_raw())
		skip();
	struct toride_scope *s = make_scope();
	uint16_t ports[] = {9, 10};
	struct syn_config cfg = {.scope = s, .ports = ports, .nports = 2, .shard_count = 1, .cooldown_ms = 100,
	                         .start_position = 20};
	struct syn_disc *d = NULL;
	char err[256];
	assert_int_equal(syn_disc_new(&d, &cfg, err, sizeof err), 0);
	assert_int_equal(syn_disc_checkpoint(d), 20);
	assert_int_equal(syn_disc_start(d), 0);
	struct syn_hit hits[4];
	assert_int_equal(drain(d, hits, 4, 10000), 0);
	struct syn_stats st;
	syn_disc_stats(d, &st);
	assert_int_equal(st.packets, 32 - 20);
	assert_int_equal(syn_disc_checkpoint(d), 32);
	syn_disc_free(d);
	cfg.start_position = 33;
	assert_int_not_equal(syn_disc_new(&d, &cfg, err, sizeof err), 0);
	assert_null(d);
	toride_scope_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_capability),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_loopback_probes),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_backpressure_no_cooldown),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_resume_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
