/*
 * A keyed pseudo-random permutation of [0, n): the survey walks address x port pairs in this
 * order so that no network sees a burst of sequential probes, while every pair is still visited
 * exactly once and the walk needs no memory (ZMap's idea; here a Feistel network instead of a
 * cyclic group so that any n works and the key is just a 64-bit seed).
 *
 * Construction: a balanced Feistel network of TORIDE_PERM_ROUNDS rounds over the smallest even bit
 * width 2h with 2^(2h) >= n, round function splitmix64-mixed (right half, round key). A Feistel
 * network is a bijection whatever its round function. Outputs >= n are walked along their cycle
 * (apply the network again) until one falls below n; since 2^(2h) < 4n, the expected number of
 * steps is under 4. No cryptographic claim: the order must be unpredictable enough to spread load,
 * not secret.
 */
#ifndef TORIDE_CORE_PERMUTE_H
#define TORIDE_CORE_PERMUTE_H

#include <stdint.h>

/* Feistel rounds: four make a pseudo-random permutation from random round functions
 * (Luby-Rackoff); two more make up for splitmix64 being a cheap mixer. */
#define TORIDE_PERM_ROUNDS 6
/* Largest n: 2^62 keeps 2h <= 62, so every intermediate value fits in 64 bits with room. */
#define TORIDE_PERM_MAX_N (UINT64_C(1) << 62)

struct toride_perm {
	uint64_t n;
	unsigned half_bits;                   /* h: each Feistel half has h bits */
	uint64_t half_mask;                   /* 2^h - 1 */
	uint64_t keys[TORIDE_PERM_ROUNDS];    /* round keys derived from the seed */
};

/* Prepare the permutation of [0, n) for seed. Same (n, seed) => same permutation, on every host.
 * Returns 0, TORIDE_EINVAL if n == 0, or TORIDE_ERANGE if n > TORIDE_PERM_MAX_N. */
int toride_perm_init(struct toride_perm *p, uint64_t n, uint64_t seed);

/* pi(j) for j < n, a value in [0, n); distinct j give distinct values. For j >= n returns
 * UINT64_MAX (a caller bug, never a valid index). */
uint64_t toride_perm_at(const struct toride_perm *p, uint64_t j);

/* One step of splitmix64 (add the golden gamma, then mix): a full-avalanche 64-bit hash of x for
 * seeded choices (profiles of a fleet, devices of a honeypot, per-device randomisation). */
uint64_t toride_splitmix64(uint64_t x);

#endif
