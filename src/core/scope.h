/*
 * The survey scope: the set of addresses a survey may touch. It is built from included ranges
 * (CIDRs, ranges, single addresses, files of them) minus exclusions (the special-purpose default
 * list, user exclusions, opt-out files), then finalized into sorted disjoint intervals. This is the
 * safety core of the survey: nothing outside the finalized set may ever be probed, so the parser is
 * strict (anything ambiguous is refused with a message naming the input) and every exclusion wins
 * over every inclusion, except a default exclusion lifted explicitly by toride_scope_allow_reserved().
 *
 * Exclusions of IPv4 ranges also exclude the same addresses written in IPv6 forms that reach IPv4
 * hosts (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 and 6to4 2002::/16),
 * so an IPv6 spelling cannot route a probe around an IPv4 opt-out.
 *
 * Lifecycle: new -> add/exclude/load/allow (any order) -> finalize -> count/addr_at/contains. The
 * queries answer only after a successful finalize; the building calls fail with TORIDE_ESTATE after it.
 * Error texts go into err (if errlen > 0) and never contain raw control bytes.
 */
#ifndef TORIDE_CORE_SCOPE_H
#define TORIDE_CORE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

/* Longest spec accepted: two 45-character IPv6 texts joined by '-' plus a little; longer is junk. */
#define TORIDE_SCOPE_SPEC_MAX 100
/* Longest line in a scope, opt-out or exclusion file: a spec plus a generous comment or reason.
 * A longer line is not a scope line (maybe a binary file given by mistake) and is refused. */
#define TORIDE_SCOPE_LINE_MAX 1024
/* Included plus excluded entries per scope: two million lines covers a national hit-list of single
 * addresses while bounding memory to about 100 MB. */
#define TORIDE_SCOPE_MAX_ENTRIES (2u * 1024u * 1024u)
/* Lifted default exclusions: each is a deliberate operator decision on the command line. */
#define TORIDE_SCOPE_MAX_LIFTS 1024
/* Longest stored exclusion reason (longer ones are cut): a reason is a short note like an RFC. */
#define TORIDE_SCOPE_REASON_MAX 200
/* Most addresses a finalized scope may hold: 2^48 keeps address x 65535 ports below the 2^62 that
 * the permutation handles, and is far beyond any survey that could finish. */
#define TORIDE_SCOPE_MAX_ADDRESSES (UINT64_C(1) << 48)
/* Text of a range as written by toride_scope_range_format(): "a-b" with two IPv6 addresses. */
#define TORIDE_SCOPE_RANGE_STRLEN (2 * TORIDE_ADDR_STRLEN + 1)

struct toride_scope;

enum toride_scope_excl_kind {
	TORIDE_SCOPE_EXCL_DEFAULT = 1, /* special-purpose registry entry; may be lifted */
	TORIDE_SCOPE_EXCL_USER = 2,    /* toride_scope_exclude(); never lifted */
	TORIDE_SCOPE_EXCL_OPTOUT = 3,  /* opt-out file line; never lifted */
};

/* One exclusion entry as reported to the CLI's log. */
struct toride_scope_exclusion {
	enum toride_scope_excl_kind kind;
	struct toride_addr first, last;
	const char *reason; /* valid while the scope lives */
	unsigned long line; /* line in its file, 0 if it came from the command line */
	bool lifted;        /* a default entry with at least one allow_reserved() inside it */
	uint64_t removed;   /* after finalize: included addresses this entry removed (after lifts;
	                       saturates at UINT64_MAX; entries may overlap, so these need not sum) */
};

/* Allocate an empty scope. Returns 0 or TORIDE_ENOMEM. */
int toride_scope_new(struct toride_scope **out);
/* Free a scope (NULL is fine). Orders built on it must be freed first. */
void toride_scope_free(struct toride_scope *s);

/* Include spec: "10.0.0.0/8", "10.0.0.1-10.0.0.9", "10.0.0.5", "2001:db8::/120",
 * "2001:db8::1-2001:db8::ff". Refused with TORIDE_EPARSE and a message naming the input: anything
 * that is not exactly one of these forms (whitespace included), host bits set in a CIDR, a prefix
 * length beyond 32/128, a reversed range, a range mixing families. TORIDE_ETOOBIG past
 * TORIDE_SCOPE_MAX_ENTRIES, TORIDE_ESTATE after finalize. */
int toride_scope_add(struct toride_scope *s, const char *spec, char *err, size_t errlen);

/* Include every spec of a file: one spec per line, '#' starts a comment, blank lines and
 * surrounding whitespace are ignored, any other text on a line is an error. Errors name file:line.
 * Stops at the first bad line (entries before it stay added; the caller should give up). Returns
 * 0, TORIDE_EIO (cannot open/read), or the codes of toride_scope_add(). */
int toride_scope_add_file(struct toride_scope *s, const char *path, char *err, size_t errlen);

/* toride_scope_add_file() over bytes in memory; name is used in messages. */
int toride_scope_add_buffer(struct toride_scope *s, const void *data, size_t len, const char *name,
                            char *err, size_t errlen);

/* Exclude spec (same syntax as toride_scope_add) for reason (NULL: "user exclusion"). A user
 * exclusion can never be lifted. */
int toride_scope_exclude(struct toride_scope *s, const char *spec, const char *reason, char *err,
                         size_t errlen);

/* Exclude every spec of an opt-out file (same format as toride_scope_add_file). Entries get the
 * reason "opt-out list <path>" and their line number; they can never be lifted. */
int toride_scope_exclude_file(struct toride_scope *s, const char *path, char *err, size_t errlen);
/* toride_scope_exclude_file() over bytes in memory; name is used in reasons and messages. */
int toride_scope_exclude_buffer(struct toride_scope *s, const void *data, size_t len,
                                const char *name, char *err, size_t errlen);

/* Load the default special-purpose exclusions (data/exclusions/special-purpose.txt): lines
 * "spec<whitespace>reason", '#' at the start of a line makes a comment, the reason is required.
 * Errors name file:line. Returns 0, TORIDE_EIO, TORIDE_EPARSE, TORIDE_ETOOBIG or TORIDE_ESTATE. */
int toride_scope_load_default_exclusions(struct toride_scope *s, const char *path, char *err,
                                         size_t errlen);

/* Lift the default exclusion(s) that contain spec, for spec only (a lab run may need
 * 127.0.0.0/8 or 10.77.0.0/16). spec must lie entirely inside at least one loaded default entry,
 * else TORIDE_EINVAL with a message; user exclusions and opt-out entries are never lifted, and a
 * default entry that does not contain spec entirely is not touched either. On success note gets a
 * sentence for the log, e.g. "default exclusion 10.0.0.0/8 (RFC 1918 private-use) lifted for
 * 10.77.0.0/16". Returns 0, TORIDE_EPARSE, TORIDE_EINVAL, TORIDE_ETOOBIG, TORIDE_ENOMEM or
 * TORIDE_ESTATE. */
int toride_scope_allow_reserved(struct toride_scope *s, const char *spec, char *note,
                                size_t notelen, char *err, size_t errlen);

/* Compute the effective set: included minus all exclusions (and their IPv6 mirrors), lifts
 * applied. Fails with TORIDE_EINVAL and a message if the set is empty ("no scope, no survey") or
 * holds more than TORIDE_SCOPE_MAX_ADDRESSES addresses ("IPv6 prefix too large to enumerate; give a
 * smaller prefix or a hit-list"); the scope then stays unfinalized. TORIDE_ESTATE if called twice. */
int toride_scope_finalize(struct toride_scope *s, char *err, size_t errlen);

/* True once toride_scope_finalize() succeeded. */
bool toride_scope_is_finalized(const struct toride_scope *s);

/* Number of effective addresses (0 before finalize). */
uint64_t toride_scope_count(const struct toride_scope *s);

/* The index-th effective address in canonical order (all IPv4 ascending, then IPv6 ascending),
 * O(log intervals). Returns 0, TORIDE_ERANGE if index >= count, TORIDE_ESTATE before finalize. */
int toride_scope_addr_at(const struct toride_scope *s, uint64_t index, struct toride_addr *out);

/* True iff a is in the effective set. False before finalize: an unfinished scope holds nothing. */
bool toride_scope_contains(const struct toride_scope *s, const struct toride_addr *a);

/* The effective set as sorted disjoint intervals, for display (0 before finalize). */
size_t toride_scope_nintervals(const struct toride_scope *s);
/* Interval i (first and last address, inclusive). Returns 0 or TORIDE_ERANGE. */
int toride_scope_interval(const struct toride_scope *s, size_t i, struct toride_addr *first,
                          struct toride_addr *last);

/* Exclusion entries in the order they were added, with what each removed (see the struct). */
size_t toride_scope_nexclusions(const struct toride_scope *s);
int toride_scope_exclusion(const struct toride_scope *s, size_t i,
                           struct toride_scope_exclusion *out);

/* Write the range first..last as "a/len" when it is exactly one prefix, "a" for one address,
 * else "a-b". Returns 0, TORIDE_EINVAL (bad or mixed families, first > last) or TORIDE_ETOOBIG.
 * TORIDE_SCOPE_RANGE_STRLEN bytes are always enough. */
int toride_scope_range_format(const struct toride_addr *first, const struct toride_addr *last,
                              char *out, size_t outlen);

#endif
