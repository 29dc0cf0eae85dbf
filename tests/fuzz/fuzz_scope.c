/*
 * Fuzz the scope file parser and everything after it. Input layout: byte 0 holds flags (bit 0:
 * load the default exclusions, bit 1: lift the first included range), the rest is split at the
 * first 0xff byte: before it a scope file, after it an opt-out file. When the scope finalizes, the
 * invariants that keep a survey inside its scope are checked, and any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/order.h"
#include "core/scope.h"

/* Pairs walked per input: enough to exercise the order, few enough to keep the fuzzer fast. */
#define FUZZ_SCOPE_WALK 256

static void
check_finalized(struct toride_scope *s)
{
	uint64_t count = toride_scope_count(s);
	struct toride_addr a, f, l;
	if (count == 0 || toride_scope_nintervals(s) == 0)
		abort();
	/* first and last index are in the set, one past the end is refused */
	if (toride_scope_addr_at(s, 0, &a) != 0 || !toride_scope_contains(s, &a))
		abort();
	if (toride_scope_addr_at(s, count - 1, &a) != 0 || !toride_scope_contains(s, &a))
		abort();
	if (toride_scope_addr_at(s, count, &a) == 0)
		abort();
	/* intervals are sorted, disjoint, and their ends are members */
	struct toride_addr prev_last;
	memset(&prev_last, 0, sizeof prev_last);
	for (size_t i = 0; i < toride_scope_nintervals(s); i++) {
		if (toride_scope_interval(s, i, &f, &l) != 0)
			abort();
		if (toride_addr_cmp(&f, &l) > 0 || !toride_scope_contains(s, &f) ||
		    !toride_scope_contains(s, &l))
			abort();
		if (i > 0 && toride_addr_cmp(&prev_last, &f) >= 0)
			abort();
		prev_last = l;
	}
	/* the order returns only members, each at most once per seed */
	static const uint16_t ports[] = { 23, 80 };
	struct toride_order *o = NULL;
	if (toride_order_new(&o, s, ports, 2, count, 0, 1) != 0)
		abort();
	uint16_t port;
	for (int i = 0; i < FUZZ_SCOPE_WALK; i++) {
		int r = toride_order_next(o, &a, &port);
		if (r == 0)
			break;
		if (r != 1 || !toride_scope_contains(s, &a))
			abort();
	}
	toride_order_free(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toride_scope *s = NULL;
	char err[512], note[512];
	if (size == 0 || toride_scope_new(&s) != 0)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	const uint8_t *sep = memchr(data, 0xff, size);
	size_t inc_len = sep != NULL ? (size_t)(sep - data) : size;

	if ((flags & 1) &&
	    toride_scope_load_default_exclusions(s, TORIDE_DATA_DIR "/exclusions/special-purpose.txt",
	                                         err, sizeof err) != 0)
		abort(); /* our own data file must always load */
	if (toride_scope_add_buffer(s, data, inc_len, "fuzz", err, sizeof err) != 0)
		goto out;
	if (sep != NULL &&
	    toride_scope_exclude_buffer(s, sep + 1, size - inc_len - 1, "fuzz-optout", err,
	                                sizeof err) != 0)
		goto out;
	if (flags & 2) {
		/* lift the first line of the scope, whatever it is: must fail cleanly or succeed */
		char spec[TORIDE_SCOPE_SPEC_MAX + 1];
		size_t n = 0;
		while (n < inc_len && n < TORIDE_SCOPE_SPEC_MAX && data[n] != '\n' && data[n] != '\0')
			n++;
		memcpy(spec, data, n);
		spec[n] = '\0';
		(void)toride_scope_allow_reserved(s, spec, note, sizeof note, err, sizeof err);
	}
	if (toride_scope_finalize(s, err, sizeof err) == 0)
		check_finalized(s);
	for (size_t i = 0; i < toride_scope_nexclusions(s); i++) {
		struct toride_scope_exclusion e;
		char text[TORIDE_SCOPE_RANGE_STRLEN];
		if (toride_scope_exclusion(s, i, &e) != 0 ||
		    toride_scope_range_format(&e.first, &e.last, text, sizeof text) != 0)
			abort();
	}
out:
	toride_scope_free(s);
	return 0;
}
