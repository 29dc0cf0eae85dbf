#include "core/permute.h"

#include <string.h>

#include "core/error.h"

/* splitmix64 (Steele, Lea, Flood 2014): a full-avalanche 64-bit mixer. */
static uint64_t
perm_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t
toride_splitmix64(uint64_t x)
{
	return perm_mix64(x + UINT64_C(0x9e3779b97f4a7c15));
}

int
toride_perm_init(struct toride_perm *p, uint64_t n, uint64_t seed)
{
	memset(p, 0, sizeof *p);
	if (n == 0)
		return TORIDE_EINVAL;
	if (n > TORIDE_PERM_MAX_N)
		return TORIDE_ERANGE;
	/* Smallest h >= 1 with 2^(2h) >= n. */
	unsigned h = 1;
	while (h < 31 && (UINT64_C(1) << (2 * h)) < n)
		h++;
	p->n = n;
	p->half_bits = h;
	p->half_mask = (UINT64_C(1) << h) - 1;
	/* Round keys: the splitmix64 sequence started at the seed. */
	uint64_t state = seed;
	for (int i = 0; i < TORIDE_PERM_ROUNDS; i++) {
		state += UINT64_C(0x9e3779b97f4a7c15);
		p->keys[i] = perm_mix64(state);
	}
	return 0;
}

/* One pass of the Feistel network over [0, 2^(2h)). */
static uint64_t
perm_feistel(const struct toride_perm *p, uint64_t x)
{
	uint64_t l = x >> p->half_bits;
	uint64_t r = x & p->half_mask;
	for (int i = 0; i < TORIDE_PERM_ROUNDS; i++) {
		uint64_t f = perm_mix64(r ^ p->keys[i]) & p->half_mask;
		uint64_t t = r;
		r = l ^ f;
		l = t;
	}
	return (l << p->half_bits) | r;
}

uint64_t
toride_perm_at(const struct toride_perm *p, uint64_t j)
{
	if (j >= p->n)
		return UINT64_MAX;
	/* Cycle-walking: j lies on a cycle of the network; following it from j must reach a value
	 * below n again (at worst j itself), so the loop ends, and distinct j < n end at distinct
	 * values because each value < n is reached from exactly one predecessor chain. */
	uint64_t x = j;
	do
		x = perm_feistel(p, x);
	while (x >= p->n);
	return x;
}
