/*
 * Login throttling (memory only): one entry per source (an address or "console") and one per user
 * name (known or not, so the throttle does not reveal which accounts exist).
 *
 * Per-user entries: after free_failures failures, each further failure delays the next attempt
 * for that name by base_delay_ms, doubling, capped at max_account_delay_ms. The cap is what keeps
 * the owner in: whatever an attacker does, the owner's next attempt is considered at most
 * max_account_delay_ms later. Attempts refused while throttled are not checked and not counted,
 * so flooding does not extend the delay.
 * Per-source entries: the same growing delay, and at lockout_failures failures the source alone
 * is locked out for lockout_ms (finite). Other sources, the owner's included, are unaffected.
 * A success resets the user's and the source's entry.
 */
#include <limits.h>
#include <string.h>

#include "device/internal.h"

/* Quiet time, counted from the end of an entry's last delay or lockout, after which the entry is
 * forgotten: a user who mistypes now and then is not punished for failures of long ago, while a
 * source that tries again as soon as its lockout ends is locked again at once. */
#define DEV_THROTTLE_FORGET_MS (15u * 60u * 1000u)
/* Doubling stops here so the shift cannot overflow; 2^20 * base is far above any cap. */
#define DEV_THROTTLE_MAX_SHIFT 20

void
dev_throttle_defaults(struct toride_dev_throttle_policy *p)
{
	p->free_failures = 3;
	p->base_delay_ms = 1000;
	p->max_account_delay_ms = 30000;
	p->lockout_failures = 10;
	p->lockout_ms = 15u * 60u * 1000u;
}

/* Entry keys are truncated to DEV_MAX_SOURCE bytes; two long keys sharing that prefix share an
 * entry, which only throttles more, never less. */
static bool
key_eq(const struct dev_throttle_entry *e, bool is_source, const char *key)
{
	return e->in_use && e->is_source == is_source &&
	       strncmp(e->key, key, DEV_MAX_SOURCE) == 0;
}

static struct dev_throttle_entry *
find(struct toride_dev *dev, bool is_source, const char *key)
{
	if (key == NULL)
		return NULL;
	for (size_t i = 0; i < DEV_MAX_THROTTLE; i++)
		if (key_eq(&dev->throttle_tab[i], is_source, key))
			return &dev->throttle_tab[i];
	return NULL;
}

static bool
active(const struct dev_throttle_entry *e, uint64_t now)
{
	return e->next_ms > now || e->locked_until_ms > now;
}

/* Forgets an entry's old failures once it has been quiet long enough (see DEV_THROTTLE_FORGET_MS). */
static void
expire(struct dev_throttle_entry *e, uint64_t now)
{
	uint64_t until = e->last_ms;
	if (e->next_ms > until)
		until = e->next_ms;
	if (e->locked_until_ms > until)
		until = e->locked_until_ms;
	if (e->in_use && now >= until && now - until >= DEV_THROTTLE_FORGET_MS)
		memset(e, 0, sizeof(*e));
}

/*
 * Finds or makes the entry for key. When the table is full, the least recently active entry that
 * is not delaying or locking anything is reused (forgetting it loses nothing that limits an
 * attacker now). If every entry is active, the oldest is reused. That is safe: filling the table
 * takes DEV_MAX_THROTTLE failures, each costing a full Argon2id verify, and an account under
 * attack keeps its own entry fresh with every guess, so it is the least likely to be reused; if
 * it is, the account's delay restarts from the free failures, which an attacker can only buy
 * again with another DEV_MAX_THROTTLE verified failures.
 */
static struct dev_throttle_entry *
get(struct toride_dev *dev, bool is_source, const char *key, uint64_t now)
{
	struct dev_throttle_entry *e = find(dev, is_source, key);
	if (e != NULL)
		return e;
	struct dev_throttle_entry *idle = NULL, *oldest = NULL;
	for (size_t i = 0; i < DEV_MAX_THROTTLE; i++) {
		struct dev_throttle_entry *c = &dev->throttle_tab[i];
		if (!c->in_use) {
			idle = c;
			break;
		}
		if (!active(c, now) && (idle == NULL || c->last_ms < idle->last_ms))
			idle = c;
		if (oldest == NULL || c->last_ms < oldest->last_ms)
			oldest = c;
	}
	e = idle != NULL ? idle : oldest;
	memset(e, 0, sizeof(*e));
	e->in_use = true;
	e->is_source = is_source;
	size_t n = strnlen(key, DEV_MAX_SOURCE);
	memcpy(e->key, key, n);
	e->key[n] = '\0';
	e->last_ms = now;
	return e;
}

static uint64_t
delay_ms(const struct toride_dev_throttle_policy *p, unsigned failures)
{
	if (failures <= p->free_failures)
		return 0;
	unsigned shift = failures - p->free_failures - 1;
	if (shift > DEV_THROTTLE_MAX_SHIFT)
		shift = DEV_THROTTLE_MAX_SHIFT;
	uint64_t d = (uint64_t)p->base_delay_ms << shift;
	return d > p->max_account_delay_ms ? p->max_account_delay_ms : d;
}

static uint64_t
wait_of(const struct dev_throttle_entry *e, uint64_t now)
{
	uint64_t until = e->next_ms > e->locked_until_ms ? e->next_ms : e->locked_until_ms;
	return until > now ? until - now : 0;
}

int
dev_throttle_check(struct toride_dev *dev, const char *source, const char *user,
                   uint32_t *retry_after_ms)
{
	uint64_t now = dev_now(dev), wait = 0;
	struct dev_throttle_entry *e[2] = {find(dev, true, source), find(dev, false, user)};
	for (int i = 0; i < 2; i++) {
		if (e[i] == NULL)
			continue;
		expire(e[i], now);
		if (!e[i]->in_use)
			continue;
		uint64_t w = wait_of(e[i], now);
		if (w > wait)
			wait = w;
	}
	if (retry_after_ms != NULL)
		*retry_after_ms = wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
	return wait > 0 ? TORIDE_DEV_ETHROTTLED : 0;
}

void
dev_throttle_failure(struct toride_dev *dev, const char *source, const char *user)
{
	const struct toride_dev_throttle_policy *p = &dev->throttle;
	uint64_t now = dev_now(dev);
	if (user != NULL) {
		struct dev_throttle_entry *u = find(dev, false, user);
		if (u != NULL)
			expire(u, now);
		u = get(dev, false, user, now);
		if (u->failures < UINT_MAX)
			u->failures++;
		u->last_ms = now;
		u->next_ms = now + delay_ms(p, u->failures);
	}
	if (source != NULL) {
		struct dev_throttle_entry *s = find(dev, true, source);
		if (s != NULL)
			expire(s, now);
		s = get(dev, true, source, now);
		if (s->failures < UINT_MAX)
			s->failures++;
		s->last_ms = now;
		s->next_ms = now + delay_ms(p, s->failures);
		/* Every failure at or past the threshold (e.g. the first try after a lockout ended)
		 * locks the source again: it gets one guess per lockout_ms, never more. */
		if (p->lockout_failures > 0 && s->failures >= p->lockout_failures)
			s->locked_until_ms = now + p->lockout_ms;
	}
}

void
dev_throttle_success(struct toride_dev *dev, const char *source, const char *user)
{
	struct dev_throttle_entry *e;
	if ((e = find(dev, false, user)) != NULL)
		memset(e, 0, sizeof(*e));
	if ((e = find(dev, true, source)) != NULL)
		memset(e, 0, sizeof(*e));
}
