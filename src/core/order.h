/*
 * The probe order: every (address, port) pair of a finalized scope exactly once, in a keyed
 * pseudo-random order, optionally split into shards for several machines.
 *
 * Pair index k in [0, count * nports) stands for address index k % count (toride_scope_addr_at)
 * and port index k / count. The walk visits pi(j) for permutation positions j (toride_perm over
 * all pairs with the seed). Shard i of n (0-based here, "i+1/n" on the command line) takes the
 * positions j with j % n == i, in increasing j: shards of the same (scope, ports, seed) are
 * disjoint and together complete, and a shard's position (pairs already returned) is all that is
 * needed to resume it. Every machine must use the same scope, ports and seed.
 */
#ifndef TORIDE_CORE_ORDER_H
#define TORIDE_CORE_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/scope.h"

/* Most ports per survey: every TCP port once. */
#define TORIDE_ORDER_MAX_PORTS 65535
/* Most shards: the command line takes "i/n" with n <= 65535. */
#define TORIDE_ORDER_MAX_SHARDS 65535

struct toride_order;

/* Build the order over scope s (finalized; it must outlive the order) and the given ports (copied;
 * each in 1..65535, no duplicates, 1..TORIDE_ORDER_MAX_PORTS of them). Returns 0, TORIDE_ESTATE if
 * s is not finalized, TORIDE_EINVAL for bad ports or shard_index >= shard_count or
 * shard_count == 0 or > TORIDE_ORDER_MAX_SHARDS, TORIDE_ETOOBIG if count * nports exceeds the
 * permutation's 2^62, or TORIDE_ENOMEM. */
int toride_order_new(struct toride_order **out, const struct toride_scope *s,
                     const uint16_t *ports, size_t nports, uint64_t seed, uint32_t shard_index,
                     uint32_t shard_count);
void toride_order_free(struct toride_order *o);

/* Pairs this shard visits in total (0 is possible when there are more shards than pairs). */
uint64_t toride_order_total(const struct toride_order *o);
/* Pairs already returned by toride_order_next(): save it to resume later. */
uint64_t toride_order_position(const struct toride_order *o);
/* Resume: the next toride_order_next() returns the pair at this position, as if position pairs
 * had been returned. Returns 0 or TORIDE_ERANGE if position > total. */
int toride_order_seek(struct toride_order *o, uint64_t position);

/* Return 1 and fill addr and port with the next pair, or 0 when the shard is done. Every returned
 * address is re-checked with toride_scope_contains() before it leaves this function; a failure
 * there (a bug, never expected) returns TORIDE_ESCOPE and the order stops for good. */
int toride_order_next(struct toride_order *o, struct toride_addr *addr, uint16_t *port);

/* Parse "i/n" (1-based, decimal, 1 <= i <= n <= 65535, nothing else) into 0-based *index0 and
 * *count. Returns 0 or TORIDE_EPARSE. */
int toride_shard_parse(const char *s, uint32_t *index0, uint32_t *count);

#endif
