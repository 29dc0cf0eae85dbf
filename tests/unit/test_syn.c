/*
 * survey/syn.c on loopback: SYN discovery must find exactly the listening (address, port) pairs of
 * the scope, count the closed ones, keep the queue under its cap (back-pressure), and end with a
 * checkpoint at the end of the order once every hit is popped. Without CAP_NET_RAW it must refuse
 * with TORIDE_EUNSUPPORTED and say why. Traffic goes only to 127.70.200.0/28 (this helper's block).
 *
 * On lo the probes take the raw IP socket path. The packet socket path (ready Ethernet frames to the
 * scope's one next hop) is checked between two network namespaces this test creates and deletes
 * (tsyn-s<pid>, scanner, and tsyn-t<pid>, targets, joined by a veth pair; 10.98.0.0/30 link,
 * targets 10.98.128.0/26 behind the gateway 10.98.0.1; no default route): it must find exactly the
 * listeners too, start on the raw path until ARP resolves the gateway, then switch to frames; and a
 * route that sends part of the scope elsewhere must keep the raw path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/error.h"
#include "core/scope.h"
#include "survey/syn.h"
#include "survey/synroute.h"

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

/* ------------------------------------------------------------------ packet socket path (netns) */

#define PK_LINK_SCAN "10.98.0.2"
#define PK_GATEWAY "10.98.0.1"
#define PK_SCOPE "10.98.128.0/26"

static int
sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int
enter_ns(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

static int
listen4(const char *addr, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 64) != 0)
		return -1;
	return fd;
}

/* Runs in a child (no cmocka asserts: a failure returns its own exit code, explained on stderr). */
static int
packet_child(const char *sns, const char *tns, const char *scan_if)
{
	int fds[NLISTEN];
	uint16_t ports[NLISTEN];
	char a[64], desc[1024], err[256];
	/* Listeners live in the target namespace (a socket stays in the namespace it was made in). */
	if (enter_ns(tns) != 0)
		return 10;
	for (int i = 0; i < NLISTEN; i++) {
		ports[i] = (uint16_t)(7001 + i);
		snprintf(a, sizeof a, "10.98.128.%d", 1 + 2 * i);
		if ((fds[i] = listen4(a, ports[i])) < 0)
			return 11;
	}
	if (enter_ns(sns) != 0)
		return 12;
	struct toride_scope *s;
	if (toride_scope_new(&s) != 0 || toride_scope_add(s, PK_SCOPE, err, sizeof err) != 0 ||
	    toride_scope_finalize(s, err, sizeof err) != 0)
		return 13;
	/* 64 addresses x 8 ports = 512 probes at 5,000/s: ~0.1 s, long enough for ARP to resolve the
	 * gateway (no static neighbour here) and the sender to switch to frames. */
	struct syn_config cfg = {.scope = s, .ports = ports, .nports = NLISTEN, .seed = 9, .shard_count = 1,
	                         .probes = 1, .rate = 5000, .cooldown_ms = 300};
	struct syn_disc *d = NULL;
	if (syn_disc_new(&d, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "syn_disc_new: %s\n", err);
		return 14;
	}
	syn_disc_describe(d, desc, sizeof desc);
	if (strstr(desc, "raw IP socket until the next hop " PK_GATEWAY " resolves") == NULL) {
		fprintf(stderr, "before start: %s\n", desc);
		return 15;
	}
	if (syn_disc_start(d) != 0)
		return 16;
	struct syn_hit hits[4 * NLISTEN];
	size_t n = 0;
	struct syn_stats st;
	for (int waited = 0;; waited += 10) {
		struct syn_hit h[16];
		size_t k;
		while ((k = syn_disc_pop(d, h, 16)) > 0)
			for (size_t i = 0; i < k && n < 4 * NLISTEN; i++)
				hits[n++] = h[i];
		syn_disc_stats(d, &st);
		if (st.finished && st.queued == 0)
			break;
		if (waited > 20000)
			return 17;
		msleep(10);
	}
	bool seen[NLISTEN] = {0};
	for (size_t i = 0; i < n; i++) {
		char hs[TORIDE_ADDR_STRLEN];
		toride_addr_format(&hits[i].addr, hs, sizeof hs);
		int w = -1;
		for (int j = 0; j < NLISTEN; j++) {
			snprintf(a, sizeof a, "10.98.128.%d", 1 + 2 * j);
			if (strcmp(hs, a) == 0 && hits[i].port == ports[j])
				w = j;
		}
		if (w < 0 || seen[w]) {
			fprintf(stderr, "unexpected or repeated hit %s:%u\n", hs, hits[i].port);
			return 18;
		}
		seen[w] = true;
	}
	if (n != NLISTEN || st.open != NLISTEN || st.packets != st.total || st.total != 64u * NLISTEN ||
	    st.error != 0 || st.send_errors != 0) {
		fprintf(stderr, "found %zu, open %llu, packets %llu of %llu, error %d, send errors %llu\n", n,
		        (unsigned long long)st.open, (unsigned long long)st.packets, (unsigned long long)st.total, st.error,
		        (unsigned long long)st.send_errors);
		return 19;
	}
	syn_disc_describe(d, desc, sizeof desc);
	snprintf(a, sizeof a, "frames on a packet socket on %s", scan_if);
	if (strstr(desc, a) == NULL || strstr(desc, PK_GATEWAY ", the one next hop") == NULL) {
		fprintf(stderr, "after the run: %s\n", desc);
		return 20;
	}
	syn_disc_free(d);

	/* A more specific on-link route over part of the scope: no single next hop. */
	struct toride_addr first;
	struct synroute_hop hop;
	toride_addr_parse("10.98.128.0", &first);
	if (sh("ip route add 10.98.128.48/28 dev %s", scan_if) != 0)
		return 21;
	if (synroute_plan(s, 4, &first, &hop, err, sizeof err) != TORIDE_EUNSUPPORTED ||
	    strstr(err, "10.98.128.48/28") == NULL) {
		fprintf(stderr, "on-link route over part of the scope: %s\n", err);
		return 22;
	}
	/* The same next hop for a more specific route is fine; the MAC is known from the run. */
	if (sh("ip route del 10.98.128.48/28 dev %s && ip route add 10.98.128.32/27 via " PK_GATEWAY, scan_if) != 0)
		return 23;
	if (synroute_plan(s, 4, &first, &hop, err, sizeof err) != 0 || !hop.mac_known ||
	    memcmp(hop.dst_mac, "\x02\x98\x00\x00\x00\x01", 6) != 0) {
		fprintf(stderr, "same next hop: %s\n", err);
		return 24;
	}
	for (int i = 0; i < NLISTEN; i++)
		close(fds[i]);
	toride_scope_free(s);
	return 0;
}

static void
test_packet_path(void **state)
{
	(void)state;
	if (!have_raw() || sh("command -v ip >/dev/null 2>&1") != 0)
		skip();
	char sns[32], tns[32], sif[16], tif[16];
	int pid = (int)getpid();
	snprintf(sns, sizeof sns, "tsyn-s%d", pid);
	snprintf(tns, sizeof tns, "tsyn-t%d", pid);
	snprintf(sif, sizeof sif, "tsyn%da", pid % 1000000);
	snprintf(tif, sizeof tif, "tsyn%db", pid % 1000000);
	int rc = sh("ip netns add %s && ip netns add %s && "
	            "ip link add %s address 02:98:00:00:00:02 netns %s type veth peer name %s "
	            "address 02:98:00:00:00:01 netns %s && "
	            "ip -n %s link set lo up && ip -n %s addr add " PK_LINK_SCAN "/30 dev %s && ip -n %s link set %s up && "
	            "ip -n %s route add " PK_SCOPE " via " PK_GATEWAY " && "
	            "ip -n %s link set lo up && ip -n %s addr add " PK_GATEWAY "/30 dev %s && ip -n %s link set %s up && "
	            "ip -n %s route add local " PK_SCOPE " dev lo",
	            sns, tns, sif, sns, tif, tns, sns, sns, sif, sns, sif, sns, tns, tns, tif, tns, tif, tns);
	int status = -1;
	if (rc == 0) {
		fflush(NULL);
		pid_t child = fork();
		if (child == 0)
			_exit(packet_child(sns, tns, sif));
		if (child > 0)
			waitpid(child, &status, 0);
	}
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", sns, tns);
	assert_int_equal(rc, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
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
		cmocka_unit_test(test_packet_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
