#include "core/order.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/permute.h"

struct toride_order {
	const struct toride_scope *scope;
	uint16_t *ports;
	size_t nports;
	uint64_t count;       /* addresses in the scope */
	uint64_t npairs;      /* count * nports */
	struct toride_perm perm;
	uint32_t shard_index;
	uint32_t shard_count;
	uint64_t total;       /* pairs in this shard */
	uint64_t pos;         /* pairs returned */
	bool broken;          /* a scope check failed: never return anything again */
};

int
toride_order_new(struct toride_order **out, const struct toride_scope *s, const uint16_t *ports,
                 size_t nports, uint64_t seed, uint32_t shard_index, uint32_t shard_count)
{
	struct toride_order *o = NULL;
	bool *seen = NULL;
	int ret;

	*out = NULL;
	if (!toride_scope_is_finalized(s))
		return TORIDE_ESTATE;
	if (ports == NULL || nports == 0 || nports > TORIDE_ORDER_MAX_PORTS)
		return TORIDE_EINVAL;
	if (shard_count == 0 || shard_count > TORIDE_ORDER_MAX_SHARDS || shard_index >= shard_count)
		return TORIDE_EINVAL;
	uint64_t count = toride_scope_count(s);
	if (count == 0)
		return TORIDE_ESTATE;
	if (count > TORIDE_PERM_MAX_N / nports)
		return TORIDE_ETOOBIG;

	seen = calloc(65536, sizeof *seen);
	o = calloc(1, sizeof *o);
	if (seen == NULL || o == NULL) {
		ret = TORIDE_ENOMEM;
		goto out;
	}
	/* a duplicate port would visit pairs twice; port 0 cannot be probed */
	for (size_t i = 0; i < nports; i++) {
		if (ports[i] == 0 || seen[ports[i]]) {
			ret = TORIDE_EINVAL;
			goto out;
		}
		seen[ports[i]] = true;
	}
	o->ports = malloc(nports * sizeof *o->ports);
	if (o->ports == NULL) {
		ret = TORIDE_ENOMEM;
		goto out;
	}
	memcpy(o->ports, ports, nports * sizeof *o->ports);
	o->scope = s;
	o->nports = nports;
	o->count = count;
	o->npairs = count * nports;
	ret = toride_perm_init(&o->perm, o->npairs, seed);
	if (ret != 0)
		goto out;
	o->shard_index = shard_index;
	o->shard_count = shard_count;
	/* positions i, i+n, i+2n, ... below npairs */
	o->total = shard_index < o->npairs ? (o->npairs - shard_index - 1) / shard_count + 1 : 0;
	*out = o;
	o = NULL;
	ret = 0;
out:
	free(seen);
	toride_order_free(o);
	return ret;
}

void
toride_order_free(struct toride_order *o)
{
	if (o == NULL)
		return;
	free(o->ports);
	free(o);
}

uint64_t
toride_order_total(const struct toride_order *o)
{
	return o->total;
}

uint64_t
toride_order_position(const struct toride_order *o)
{
	return o->pos;
}

int
toride_order_seek(struct toride_order *o, uint64_t position)
{
	if (position > o->total)
		return TORIDE_ERANGE;
	o->pos = position;
	return 0;
}

int
toride_order_next(struct toride_order *o, struct toride_addr *addr, uint16_t *port)
{
	if (o->broken)
		return TORIDE_ESCOPE;
	if (o->pos >= o->total)
		return 0;
	/* j < npairs <= 2^62, so neither the product nor the sum overflows */
	uint64_t j = o->shard_index + o->pos * o->shard_count;
	uint64_t k = toride_perm_at(&o->perm, j);
	if (k >= o->npairs)
		goto broken;
	if (toride_scope_addr_at(o->scope, k % o->count, addr) != 0)
		goto broken;
	/* belt and braces: this is the last point before an address becomes a probe */
	if (!toride_scope_contains(o->scope, addr))
		goto broken;
	*port = o->ports[k / o->count];
	o->pos++;
	return 1;
broken:
	o->broken = true;
	memset(addr, 0, sizeof *addr);
	return TORIDE_ESCOPE;
}

/* Parse 1..5 decimal digits (no sign, no leading zero) ending at the terminator stop. */
static int
shard_number(const char **pp, char stop, uint32_t *out)
{
	const char *p = *pp;
	uint32_t v = 0;
	size_t n = 0;
	while (p[n] >= '0' && p[n] <= '9') {
		if (n == 5)
			return TORIDE_EPARSE;
		v = v * 10 + (uint32_t)(p[n] - '0');
		n++;
	}
	if (n == 0 || p[n] != stop || (p[0] == '0'))
		return TORIDE_EPARSE;
	*out = v;
	*pp = p + n;
	return 0;
}

int
toride_shard_parse(const char *s, uint32_t *index0, uint32_t *count)
{
	uint32_t i, n;
	const char *p = s;
	if (s == NULL || shard_number(&p, '/', &i) != 0)
		return TORIDE_EPARSE;
	p++;
	if (shard_number(&p, '\0', &n) != 0)
		return TORIDE_EPARSE;
	if (i < 1 || n > TORIDE_ORDER_MAX_SHARDS || i > n)
		return TORIDE_EPARSE;
	*index0 = i - 1;
	*count = n;
	return 0;
}
