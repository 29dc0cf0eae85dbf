#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/addr.h"
#include "core/error.h"
#include "core/order.h"
#include "core/permute.h"
#include "core/scope.h"

#define DEFAULTS TORIDE_SOURCE_DIR "/data/exclusions/special-purpose.txt"

static struct toride_scope *
make_scope(const char *const *inc, const char *const *exc, bool defaults, const char *const *lift)
{
	struct toride_scope *s;
	char err[512], note[512];
	assert_int_equal(toride_scope_new(&s), 0);
	if (defaults)
		assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	for (; inc != NULL && *inc != NULL; inc++)
		assert_int_equal(toride_scope_add(s, *inc, err, sizeof err), 0);
	for (; exc != NULL && *exc != NULL; exc++)
		assert_int_equal(toride_scope_exclude(s, *exc, "test", err, sizeof err), 0);
	for (; lift != NULL && *lift != NULL; lift++)
		assert_int_equal(toride_scope_allow_reserved(s, *lift, note, sizeof note, err,
		                                             sizeof err), 0);
	if (toride_scope_finalize(s, err, sizeof err) != 0)
		fail_msg("finalize: %s", err);
	return s;
}

/*
 * An independent model of a scope, so that the walk is not only checked against the scope code it
 * is built on: included ranges minus excluded ranges, compared with toride_addr_cmp alone. Specs
 * are "a", "a/len" or "a-b" and are expanded here, not by scope.c.
 */
struct range {
	struct toride_addr first, last;
};

struct model {
	struct range *inc, *exc;
	size_t ninc, nexc;
};

static struct range
range_of(const char *spec)
{
	char buf[TORIDE_SCOPE_SPEC_MAX + 1];
	struct range r;
	assert_true(strlen(spec) < sizeof buf);
	snprintf(buf, sizeof buf, "%s", spec);
	char *dash = strchr(buf, '-'), *slash = strchr(buf, '/');
	if (dash != NULL) {
		*dash = '\0';
		assert_int_equal(toride_addr_parse(buf, &r.first), 0);
		assert_int_equal(toride_addr_parse(dash + 1, &r.last), 0);
		return r;
	}
	unsigned len = 128;
	if (slash != NULL) {
		*slash = '\0';
		len = (unsigned)atoi(slash + 1);
	}
	assert_int_equal(toride_addr_parse(buf, &r.first), 0);
	unsigned bits = r.first.family == 4 ? 32 : 128;
	if (slash == NULL)
		len = bits;
	r.last = r.first;
	for (unsigned i = len; i < bits; i++)
		r.last.b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	return r;
}

static bool
in_ranges(const struct range *v, size_t n, const struct toride_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (toride_addr_cmp(&v[i].first, a) <= 0 && toride_addr_cmp(a, &v[i].last) <= 0)
			return true;
	return false;
}

static bool
model_contains(const struct model *m, const struct toride_addr *a)
{
	return in_ranges(m->inc, m->ninc, a) && !in_ranges(m->exc, m->nexc, a);
}

static struct model *
model_new(const char *const *inc, size_t ninc, const char *const *exc, size_t nexc)
{
	struct model *m = calloc(1, sizeof *m);
	assert_non_null(m);
	m->inc = calloc(ninc ? ninc : 1, sizeof *m->inc);
	m->exc = calloc(nexc ? nexc : 1, sizeof *m->exc);
	assert_non_null(m->inc);
	assert_non_null(m->exc);
	for (; m->ninc < ninc; m->ninc++)
		m->inc[m->ninc] = range_of(inc[m->ninc]);
	for (; m->nexc < nexc; m->nexc++)
		m->exc[m->nexc] = range_of(exc[m->nexc]);
	return m;
}

static void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	free(m->inc);
	free(m->exc);
	free(m);
}

static size_t
count_specs(const char *const *v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* Index of a in the scope's canonical order (binary search over addr_at). */
static uint64_t
addr_index(const struct toride_scope *s, const struct toride_addr *a)
{
	uint64_t lo = 0, hi = toride_scope_count(s);
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct toride_addr m;
		assert_int_equal(toride_scope_addr_at(s, mid, &m), 0);
		int c = toride_addr_cmp(&m, a);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	fail_msg("address not in the scope's canonical order");
	return UINT64_MAX;
}

static size_t
port_index(const uint16_t *ports, size_t nports, uint16_t p)
{
	for (size_t i = 0; i < nports; i++)
		if (ports[i] == p)
			return i;
	fail_msg("port %u was not asked for", p);
	return SIZE_MAX;
}

/*
 * Walk every shard of (s, ports, seed) split n ways and check: each pair exactly once over all
 * shards, every address in scope, totals match. Returns the pair sequence of shard 0 as pair
 * numbers (address index * nports + port index) in *seq0 (malloc'd) when seq0 is not NULL.
 */
static void
check_complete_m(const struct toride_scope *s, const uint16_t *ports, size_t nports, uint64_t seed,
                 uint32_t nshards, uint64_t **seq0, const struct model *m)
{
	uint64_t count = toride_scope_count(s);
	uint64_t npairs = count * nports;
	uint8_t *seen = calloc(npairs, 1);
	assert_non_null(seen);
	uint64_t sum = 0;
	for (uint32_t sh = 0; sh < nshards; sh++) {
		struct toride_order *o;
		assert_int_equal(toride_order_new(&o, s, ports, nports, seed, sh, nshards), 0);
		uint64_t total = toride_order_total(o);
		uint64_t *seq = NULL;
		if (sh == 0 && seq0 != NULL) {
			seq = malloc((total ? total : 1) * sizeof *seq);
			assert_non_null(seq);
		}
		struct toride_addr a;
		uint16_t port;
		uint64_t got = 0;
		int r;
		while ((r = toride_order_next(o, &a, &port)) == 1) {
			assert_true(toride_scope_contains(s, &a));
			if (m != NULL && !model_contains(m, &a)) {
				char t[TORIDE_ADDR_STRLEN];
				toride_addr_format(&a, t, sizeof t);
				fail_msg("%s is outside the scope's model", t);
			}
			uint64_t pair = addr_index(s, &a) * nports + port_index(ports, nports, port);
			if (seen[pair])
				fail_msg("pair %llu visited twice (shard %u/%u)", (unsigned long long)pair,
				         sh + 1, nshards);
			seen[pair] = 1;
			if (seq != NULL)
				seq[got] = pair;
			got++;
			assert_int_equal(toride_order_position(o), got);
		}
		assert_int_equal(r, 0);
		assert_int_equal(got, total);
		/* done stays done */
		assert_int_equal(toride_order_next(o, &a, &port), 0);
		sum += total;
		if (seq != NULL)
			*seq0 = seq;
		toride_order_free(o);
	}
	assert_int_equal(sum, npairs);
	for (uint64_t i = 0; i < npairs; i++)
		if (!seen[i])
			fail_msg("pair %llu never visited", (unsigned long long)i);
	free(seen);
}

static void
check_complete(const struct toride_scope *s, const uint16_t *ports, size_t nports, uint64_t seed,
               uint32_t nshards, uint64_t **seq0)
{
	check_complete_m(s, ports, nports, seed, nshards, seq0, NULL);
}

static void
test_every_pair_once(void **state)
{
	(void)state;
	static const uint16_t p3[] = { 22, 23, 80 };
	static const uint16_t p1[] = { 23 };
	static const uint16_t pmix[] = { 23, 80, 2323, 8080, 554 };

	/* non-power-of-two v4 scope with a hole */
	static const char *const inc1[] = { "10.0.0.0/24", "10.0.1.0-10.0.1.99", NULL };
	static const char *const exc1[] = { "10.0.0.64/28", NULL };
	struct toride_scope *s = make_scope(inc1, exc1, false, NULL);
	assert_int_equal(toride_scope_count(s), 256 + 100 - 16);
	check_complete(s, p3, 3, 1, 1, NULL);
	check_complete(s, p3, 3, 0xdeadbeef, 1, NULL);
	check_complete(s, p1, 1, 7, 1, NULL);
	toride_scope_free(s);

	/* a single address and a single port */
	static const char *const inc2[] = { "127.0.0.1", NULL };
	static const char *const lift2[] = { "127.0.0.0/8", NULL };
	s = make_scope(inc2, NULL, true, lift2);
	check_complete(s, p1, 1, 5, 1, NULL);
	check_complete(s, pmix, 5, 5, 1, NULL);
	toride_scope_free(s);

	/* IPv4 and IPv6 mixed */
	static const char *const inc3[] = { "198.51.100.0/28", "2001:db8::/124", "2001:db8:1::5",
		                            "192.0.2.200-192.0.2.210", NULL };
	s = make_scope(inc3, NULL, false, NULL);
	assert_int_equal(toride_scope_count(s), 16 + 16 + 1 + 11);
	check_complete(s, pmix, 5, 99, 1, NULL);
	toride_scope_free(s);

	/* about 100k pairs, with default exclusions, a lift and a user exclusion */
	static const char *const inc4[] = { "10.1.0.0/17", "192.168.0.0/24", NULL };
	static const char *const exc4[] = { "10.1.5.0/24", NULL };
	static const char *const lift4[] = { "10.1.0.0/16", NULL };
	s = make_scope(inc4, exc4, true, lift4);
	assert_int_equal(toride_scope_count(s), 32768 - 256); /* 192.168/16 stays excluded */
	check_complete(s, p3, 3, 2024, 1, NULL);
	toride_scope_free(s);
}

static void
test_shards_disjoint_and_complete(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 23, 2323, 80 };
	static const char *const inc[] = { "10.0.0.0/23", "2001:db8::/122", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	for (uint32_t n = 1; n <= 7; n++)
		check_complete(s, ports, 3, 31337, n, NULL);
	check_complete(s, ports, 3, 31337, 1000, NULL);
	toride_scope_free(s);

	/* more shards than pairs: the first take one pair each, the rest nothing */
	static const char *const one[] = { "192.0.2.1", NULL };
	s = make_scope(one, NULL, false, NULL);
	uint64_t totals[3];
	for (uint32_t i = 0; i < 3; i++) {
		struct toride_order *o;
		assert_int_equal(toride_order_new(&o, s, ports, 2, 1, i, 3), 0);
		totals[i] = toride_order_total(o);
		toride_order_free(o);
	}
	assert_int_equal(totals[0], 1);
	assert_int_equal(totals[1], 1);
	assert_int_equal(totals[2], 0);
	toride_scope_free(s);
}

static void
test_seed_changes_order_and_order_is_scattered(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 23, 80, 8080 };
	static const char *const inc[] = { "10.2.0.0/17", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	uint64_t *a = NULL, *b = NULL, *c = NULL;
	check_complete(s, ports, 3, 1, 1, &a);
	check_complete(s, ports, 3, 2, 1, &b);
	check_complete(s, ports, 3, 1, 1, &c);
	uint64_t n = toride_scope_count(s) * 3, same = 0, adjacent = 0;
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(a[i], c[i]); /* same seed, same order */
		if (a[i] == b[i])
			same++;
		if (i > 0) {
			/* same port and neighbouring addresses (pair numbers differ by nports) */
			uint64_t d = a[i] > a[i - 1] ? a[i] - a[i - 1] : a[i - 1] - a[i];
			if (d == 3)
				adjacent++;
		}
	}
	assert_true(same < n / 100);
	assert_true(adjacent < n / 20);
	free(a);
	free(b);
	free(c);
	toride_scope_free(s);
}

static void
test_seek_resumes_exactly(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 21, 22, 23, 80 };
	static const char *const inc[] = { "10.3.0.0/22", "2001:db8::/120", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	struct toride_order *o;
	assert_int_equal(toride_order_new(&o, s, ports, 4, 77, 1, 3), 0);
	uint64_t total = toride_order_total(o);
	struct toride_addr *as = malloc(total * sizeof *as);
	uint16_t *ps = malloc(total * sizeof *ps);
	assert_non_null(as);
	assert_non_null(ps);
	for (uint64_t i = 0; i < total; i++)
		assert_int_equal(toride_order_next(o, &as[i], &ps[i]), 1);
	toride_order_free(o);

	static const uint64_t at[] = { 0, 1, 2, 100, 1234 };
	for (size_t k = 0; k < sizeof at / sizeof at[0] + 1; k++) {
		uint64_t p = k < sizeof at / sizeof at[0] ? at[k] : total - 1;
		assert_int_equal(toride_order_new(&o, s, ports, 4, 77, 1, 3), 0);
		assert_int_equal(toride_order_seek(o, p), 0);
		assert_int_equal(toride_order_position(o), p);
		for (uint64_t i = p; i < total; i++) {
			struct toride_addr a;
			uint16_t port;
			assert_int_equal(toride_order_next(o, &a, &port), 1);
			assert_int_equal(toride_addr_cmp(&a, &as[i]), 0);
			assert_int_equal(port, ps[i]);
		}
		struct toride_addr a;
		uint16_t port;
		assert_int_equal(toride_order_next(o, &a, &port), 0);
		/* seek to the end is allowed (nothing left), past it is not */
		assert_int_equal(toride_order_seek(o, total), 0);
		assert_int_equal(toride_order_next(o, &a, &port), 0);
		assert_int_equal(toride_order_seek(o, total + 1), TORIDE_ERANGE);
		/* and back again */
		assert_int_equal(toride_order_seek(o, 0), 0);
		assert_int_equal(toride_order_next(o, &a, &port), 1);
		assert_int_equal(toride_addr_cmp(&a, &as[0]), 0);
		toride_order_free(o);
	}
	free(as);
	free(ps);
	toride_scope_free(s);
}

static void
test_order_new_refuses_bad_input(void **state)
{
	(void)state;
	struct toride_order *o = (struct toride_order *)1;
	struct toride_scope *raw;
	char err[256];
	static const uint16_t ok[] = { 23, 80 };
	static const uint16_t dup[] = { 23, 80, 23 };
	static const uint16_t zero[] = { 0 };

	/* not finalized: no order at all */
	assert_int_equal(toride_scope_new(&raw), 0);
	assert_int_equal(toride_scope_add(raw, "192.0.2.0/24", err, sizeof err), 0);
	assert_int_equal(toride_order_new(&o, raw, ok, 2, 1, 0, 1), TORIDE_ESTATE);
	assert_null(o);
	toride_scope_free(raw);

	static const char *const inc[] = { "192.0.2.0/24", NULL };
	struct toride_scope *s = make_scope(inc, NULL, false, NULL);
	assert_int_equal(toride_order_new(&o, s, dup, 3, 1, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, zero, 1, 1, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 0, 1, 0, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 1, 1), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 0, 0), TORIDE_EINVAL);
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 0, 65536), TORIDE_EINVAL);
	toride_scope_free(s);

	/* 2^48 addresses x 65535 ports is beyond the permutation */
	static const char *const huge[] = { "2001:db8::/80", NULL };
	s = make_scope(huge, NULL, false, NULL);
	uint16_t *all = malloc(65535 * sizeof *all);
	assert_non_null(all);
	for (uint32_t i = 0; i < 65535; i++)
		all[i] = (uint16_t)(i + 1);
	assert_int_equal(toride_order_new(&o, s, all, 65535, 1, 0, 1), TORIDE_ETOOBIG);
	/* but 2^48 x 3 ports works, and its first pairs are in scope */
	assert_int_equal(toride_order_new(&o, s, ok, 2, 1, 0, 1), 0);
	assert_true(toride_order_total(o) == (UINT64_C(1) << 49));
	for (int i = 0; i < 1000; i++) {
		struct toride_addr a;
		uint16_t port;
		assert_int_equal(toride_order_next(o, &a, &port), 1);
		assert_true(toride_scope_contains(s, &a));
		assert_true(port == 23 || port == 80);
	}
	toride_order_free(o);
	free(all);
	toride_scope_free(s);
}

/* Walk (inc - exc) with the model, n shards; the scope must hold exactly want addresses. */
static void
check_v6_scope(const char *const *inc, const char *const *exc, bool defaults, const char *const *lift,
               uint64_t want, const uint16_t *ports, size_t nports, uint64_t seed, const uint32_t *shards,
               size_t nshards)
{
	struct toride_scope *s = make_scope(inc, exc, defaults, lift);
	struct model *m = model_new(inc, count_specs(inc), exc, count_specs(exc));
	assert_int_equal(toride_scope_count(s), want);
	for (size_t i = 0; i < nshards; i++)
		check_complete_m(s, ports, nports, seed, shards[i], NULL, m);
	model_free(m);
	toride_scope_free(s);
}

static void
test_ipv6_prefixes(void **state)
{
	(void)state;
	static const uint16_t p3[] = { 23, 80, 554 };
	static const uint16_t p2[] = { 22, 1883 };
	static const uint32_t few[] = { 1, 3, 7 };
	static const uint32_t many[] = { 1, 2, 3, 4, 5, 6, 7, 1000 };

	/* a /112 in fc00::/7, as the IPv6 lab uses it: the default exclusion lifted for it */
	static const char *const v112[] = { "fd96::/112", NULL };
	static const char *const lift[] = { "fd96::/112", NULL };
	check_v6_scope(v112, NULL, true, lift, 65536, p3, 3, 96, few, 3);

	/* without the lift, the default list leaves nothing: no scope, no survey */
	struct toride_scope *s;
	char err[512];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_load_default_exclusions(s, DEFAULTS, err, sizeof err), 0);
	assert_int_equal(toride_scope_add(s, "fd96::/112", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "fc00::/7"));
	toride_scope_free(s);

	/* a /120; 1,000 shards of 512 pairs leave most shards empty */
	static const char *const v120[] = { "2001:db8:5::/120", NULL };
	check_v6_scope(v120, NULL, false, NULL, 256, p2, 2, 7, many, 8);
	/* a /120 ending at the top of the address space: no overflow past ffff...ffff */
	static const char *const top[] = { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", NULL };
	check_v6_scope(top, NULL, false, NULL, 256, p2, 2, 8, few, 3);
}

/* Deterministic scattered IPv6 text addresses: prefix (the first pfx_bytes bytes of base) plus
 * splitmix64 bits. */
static void
scattered_v6(const char *base, unsigned pfx_bytes, uint64_t seed, size_t n, char (*out)[TORIDE_ADDR_STRLEN])
{
	struct toride_addr b;
	assert_int_equal(toride_addr_parse(base, &b), 0);
	for (size_t i = 0; i < n; i++) {
		struct toride_addr a = b;
		uint64_t hi = toride_splitmix64(seed + 2 * i), lo = toride_splitmix64(seed + 2 * i + 1);
		for (unsigned k = pfx_bytes; k < 16; k++)
			a.b[k] = (uint8_t)(k < 8 ? hi >> (8 * (7 - k)) : lo >> (8 * (15 - k)));
		assert_int_equal(toride_addr_format(&a, out[i], TORIDE_ADDR_STRLEN), 0);
	}
}

static void
test_ipv6_hitlist(void **state)
{
	(void)state;
	enum { N = 1000 };
	static const uint16_t ports[] = { 23, 2323, 80, 8080 };
	static const uint32_t shards[] = { 1, 5 };
	char (*txt)[TORIDE_ADDR_STRLEN] = calloc(N, sizeof *txt);
	const char **inc = calloc(N + 2, sizeof *inc);
	assert_non_null(txt);
	assert_non_null(inc);
	/* scattered over 2001:db8::/32 */
	scattered_v6("2001:db8::", 4, 1234, N, txt);
	for (size_t i = 0; i < N; i++)
		inc[i] = txt[i];
	inc[N] = txt[17]; /* a duplicate line counts once */
	check_v6_scope(inc, NULL, false, NULL, N, ports, 4, 5, shards, 2);
	free(inc);
	free(txt);
}

static void
test_mixed_families(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 21, 23, 80 };
	static const uint32_t shards[] = { 1, 2, 4 };
	static const char *const inc[] = { "198.51.100.0/27", "2001:db8:a::/121", "203.0.113.7",
		                           "2001:db8:b::1-2001:db8:b::30", "192.0.2.250-192.0.2.255",
		                           "2001:db8:c::42", NULL };
	static const char *const exc[] = { "198.51.100.8/29", "2001:db8:a::40/122", "2001:db8:b::10", NULL };
	/* v4: 32 - 8 + 1 + 6; v6: 128 - 64 + 48 - 1 + 1 */
	check_v6_scope(inc, exc, false, NULL, 31 + 112, ports, 3, 11, shards, 3);

	/* the families interleave: the first pairs of the walk are not all IPv4 (canonical order
	 * puts IPv4 first, so a sequential walk would) */
	struct toride_scope *s = make_scope(inc, exc, false, NULL);
	struct toride_order *o;
	assert_int_equal(toride_order_new(&o, s, ports, 3, 11, 0, 1), 0);
	unsigned v4 = 0, v6 = 0;
	for (int i = 0; i < 60; i++) {
		struct toride_addr a;
		uint16_t port;
		assert_int_equal(toride_order_next(o, &a, &port), 1);
		if (a.family == 4)
			v4++;
		else
			v6++;
	}
	assert_true(v4 >= 3 && v6 >= 20);
	toride_order_free(o);
	toride_scope_free(s);
}

/* A /64 cannot be enumerated (2^64 > 2^48 addresses), but a hit-list of addresses anywhere in it
 * can: the walk's domain is the hit-list, so its cost follows the list, not the /64. */
static void
test_ipv6_sparse_space(void **state)
{
	(void)state;
	enum { N = 2000 };
	static const uint16_t ports[] = { 22, 23 };
	struct toride_scope *s;
	char err[512];
	assert_int_equal(toride_scope_new(&s), 0);
	assert_int_equal(toride_scope_add(s, "2001:db8:1:2::/64", err, sizeof err), 0);
	assert_int_equal(toride_scope_finalize(s, err, sizeof err), TORIDE_EINVAL);
	assert_non_null(strstr(err, "too large"));
	toride_scope_free(s);

	char (*txt)[TORIDE_ADDR_STRLEN] = calloc(N, sizeof *txt);
	const char **inc = calloc(N + 1, sizeof *inc);
	assert_non_null(txt);
	assert_non_null(inc);
	scattered_v6("2001:db8:1:2::", 8, 64, N, txt);
	/* the corners of the /64 too */
	snprintf(txt[0], TORIDE_ADDR_STRLEN, "2001:db8:1:2::");
	snprintf(txt[1], TORIDE_ADDR_STRLEN, "2001:db8:1:2:ffff:ffff:ffff:ffff");
	for (size_t i = 0; i < N; i++)
		inc[i] = txt[i];

	clock_t t0 = clock();
	s = make_scope(inc, NULL, false, NULL);
	assert_int_equal(toride_scope_count(s), N);
	assert_int_equal(toride_scope_nintervals(s), N);
	struct toride_order *o;
	assert_int_equal(toride_order_new(&o, s, ports, 2, 3, 0, 1), 0);
	assert_int_equal(toride_order_total(o), 2 * N);
	struct toride_addr a;
	uint16_t port;
	uint64_t got = 0;
	while (toride_order_next(o, &a, &port) == 1)
		got++;
	assert_int_equal(got, 2 * N);
	toride_order_free(o);
	double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* a few milliseconds in practice; anything proportional to the /64 would take years */
	if (cpu > 2.0)
		fail_msg("a %d-address hit-list in a /64 took %.2f s of CPU", N, cpu);
	toride_scope_free(s);

	/* with the model: every pair once, and an exclusion of the upper half of the /64 (2^63
	 * addresses, excluded against a sparse list) leaves exactly the hits in the lower half */
	struct model *m = model_new(inc, N, NULL, 0);
	s = make_scope(inc, NULL, false, NULL);
	check_complete_m(s, ports, 2, 3, 3, NULL, m);
	toride_scope_free(s);
	model_free(m);
	static const char *const upper[] = { "2001:db8:1:2:8000::/65", NULL };
	uint64_t lower = 0;
	for (size_t i = 0; i < N; i++) {
		struct toride_addr h;
		assert_int_equal(toride_addr_parse(txt[i], &h), 0);
		if (h.b[8] < 0x80)
			lower++;
	}
	assert_true(lower > N / 3 && lower < 2 * N / 3);
	s = make_scope(inc, upper, false, NULL);
	m = model_new(inc, N, upper, 1);
	assert_int_equal(toride_scope_count(s), lower);
	check_complete_m(s, ports, 2, 3, 1, NULL, m);
	model_free(m);
	toride_scope_free(s);
	free(inc);
	free(txt);
}

static void
test_ipv6_exclusion_inside_prefix(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 23, 80 };
	static const char *const inc[] = { "fd96::/112", NULL };
	static const char *const exc[] = { "fd96::1200/120", NULL };
	static const char *const lift[] = { "fd96::/112", NULL };
	static const uint32_t shards[] = { 1, 4 };
	check_v6_scope(inc, exc, true, lift, 65536 - 256, ports, 2, 2024, shards, 2);

	/* and directly: not one address of fd96::1200/120 in a whole walk */
	struct toride_scope *s = make_scope(inc, exc, true, lift);
	struct toride_order *o;
	assert_int_equal(toride_order_new(&o, s, ports, 2, 5, 0, 1), 0);
	struct toride_addr a;
	uint16_t port;
	uint64_t n = 0;
	while (toride_order_next(o, &a, &port) == 1) {
		assert_int_equal(a.family, 6);
		assert_false(a.b[14] == 0x12);
		assert_true(a.b[0] == 0xfd && a.b[1] == 0x96);
		for (int k = 2; k < 14; k++)
			assert_int_equal(a.b[k], 0);
		n++;
	}
	assert_int_equal(n, 2 * (65536 - 256));
	toride_order_free(o);
	toride_scope_free(s);
}

/* Resume over IPv6: a shard interrupted several times and resumed each time from its saved
 * position yields exactly the uninterrupted sequence. */
static void
test_ipv6_seek_resume(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 22, 23 };
	static const char *const inc[] = { "fd96::/112", NULL };
	static const char *const exc[] = { "fd96::1200/120", NULL };
	static const char *const lift[] = { "fd96::/112", NULL };
	struct toride_scope *s = make_scope(inc, exc, true, lift);
	struct toride_order *o;
	assert_int_equal(toride_order_new(&o, s, ports, 2, 9, 1, 3), 0);
	uint64_t total = toride_order_total(o);
	assert_int_equal(total, (2 * (65536 - 256) - 1 - 1) / 3 + 1);
	struct toride_addr *as = malloc(total * sizeof *as);
	uint16_t *ps = malloc(total * sizeof *ps);
	assert_non_null(as);
	assert_non_null(ps);
	for (uint64_t i = 0; i < total; i++)
		assert_int_equal(toride_order_next(o, &as[i], &ps[i]), 1);
	toride_order_free(o);

	/* runs stop at positions 1, 1000, 13345, 30000, 40000 and the end; each starts from the last
	 * saved position */
	static const uint64_t stops[] = { 1, 1000, 13345, 30000, 40000 };
	uint64_t saved = 0, i = 0;
	for (size_t k = 0; k <= sizeof stops / sizeof stops[0]; k++) {
		uint64_t stop = k < sizeof stops / sizeof stops[0] ? stops[k] : total;
		assert_int_equal(toride_order_new(&o, s, ports, 2, 9, 1, 3), 0);
		assert_int_equal(toride_order_seek(o, saved), 0);
		struct toride_addr a;
		uint16_t port;
		while (toride_order_position(o) < stop) {
			assert_int_equal(toride_order_next(o, &a, &port), 1);
			assert_int_equal(toride_addr_cmp(&a, &as[i]), 0);
			assert_int_equal(port, ps[i]);
			i++;
		}
		saved = toride_order_position(o);
		toride_order_free(o);
	}
	assert_int_equal(i, total);
	free(as);
	free(ps);
	toride_scope_free(s);
}

/* For a scope of n addresses and one port, how many of 1,000 consecutive positions (from start)
 * fall in the fullest block of 256 consecutive addresses, and in how many blocks. */
static void
window_spread(const struct toride_scope *s, uint64_t seed, uint64_t start, unsigned *worst, unsigned *distinct)
{
	static const uint16_t port[] = { 23 };
	struct toride_order *o;
	unsigned bins[256] = { 0 };
	assert_true(toride_scope_count(s) == 65536);
	assert_int_equal(toride_order_new(&o, s, port, 1, seed, 0, 1), 0);
	assert_int_equal(toride_order_seek(o, start), 0);
	*worst = *distinct = 0;
	for (int i = 0; i < 1000; i++) {
		struct toride_addr a;
		uint16_t p;
		assert_int_equal(toride_order_next(o, &a, &p), 1);
		/* the /24 of a /16 in IPv4, the /120 of a /112 in IPv6 */
		unsigned b = a.family == 4 ? a.b[2] : a.b[14];
		if (bins[b]++ == 0)
			(*distinct)++;
		if (bins[b] > *worst)
			*worst = bins[b];
	}
	toride_order_free(o);
}

static void
test_ipv6_seed_and_spread(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 80 };
	static const char *const v6[] = { "fd96::/112", NULL };
	static const char *const v4[] = { "10.4.0.0/16", NULL };
	static const char *const lift6[] = { "fd96::/112", NULL };
	static const char *const lift4[] = { "10.4.0.0/16", NULL };
	struct toride_scope *s6 = make_scope(v6, NULL, true, lift6);
	struct toride_scope *s4 = make_scope(v4, NULL, true, lift4);

	/* same seed, same order; another seed, another order */
	uint64_t *a = NULL, *b = NULL, *c = NULL;
	check_complete(s6, ports, 1, 1, 1, &a);
	check_complete(s6, ports, 1, 2, 1, &b);
	check_complete(s6, ports, 1, 1, 1, &c);
	uint64_t same = 0;
	for (uint64_t i = 0; i < 65536; i++) {
		assert_int_equal(a[i], c[i]);
		if (a[i] == b[i])
			same++;
	}
	assert_true(same < 65536 / 100);
	free(a);
	free(b);
	free(c);

	/* consecutive probes spread: 1,000 in a row put at most a few in one /24 (/120); a sweep would
	 * put 256 (see test_permute for the bound) */
	static const uint64_t seeds[] = { 1, 77, 0xfeedface };
	static const uint64_t starts[] = { 0, 31337, 64536 };
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			unsigned worst, distinct;
			window_spread(s4, seeds[i], starts[j], &worst, &distinct);
			if (worst > 20 || distinct < 230)
				fail_msg("IPv4 seed %zu start %zu: %u in one /24, %u /24s", i, j, worst, distinct);
			window_spread(s6, seeds[i], starts[j], &worst, &distinct);
			if (worst > 20 || distinct < 230)
				fail_msg("IPv6 seed %zu start %zu: %u in one /120, %u /120s", i, j, worst, distinct);
		}
	toride_scope_free(s4);
	toride_scope_free(s6);
}

static void
test_shard_parse(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint32_t i, n;
	} good[] = {
		{ "1/1", 0, 1 }, { "3/4", 2, 4 }, { "4/4", 3, 4 }, { "65535/65535", 65534, 65535 },
		{ "1/65535", 0, 65535 }, { "10/12", 9, 12 },
	};
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
		uint32_t i = 99, n = 99;
		assert_int_equal(toride_shard_parse(good[k].s, &i, &n), 0);
		assert_int_equal(i, good[k].i);
		assert_int_equal(n, good[k].n);
	}
	static const char *const bad[] = {
		"", "0/4", "5/4", "1/0", "1/65536", "a/b", "1/", "/1", " 1/2", "1/2 ", "+1/2", "01/2",
		"1/02", "1//2", "1/2/3", "-1/2", "1", "100000/100000", "1/99999999999", "1:2",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		uint32_t i, n;
		if (toride_shard_parse(bad[k], &i, &n) != TORIDE_EPARSE)
			fail_msg("shard \"%s\" must be refused", bad[k]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair_once),
		cmocka_unit_test(test_shards_disjoint_and_complete),
		cmocka_unit_test(test_seed_changes_order_and_order_is_scattered),
		cmocka_unit_test(test_seek_resumes_exactly),
		cmocka_unit_test(test_order_new_refuses_bad_input),
		cmocka_unit_test(test_ipv6_prefixes),
		cmocka_unit_test(test_ipv6_hitlist),
		cmocka_unit_test(test_mixed_families),
		cmocka_unit_test(test_ipv6_sparse_space),
		cmocka_unit_test(test_ipv6_exclusion_inside_prefix),
		cmocka_unit_test(test_ipv6_seek_resume),
		cmocka_unit_test(test_ipv6_seed_and_spread),
		cmocka_unit_test(test_shard_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
