/*
 * Accounts (record "accounts"), sessions and the access check (R1, R2).
 *
 * Record "accounts" (key=value, internal.h):
 *   format=1
 *   user.<name>.role=admin|viewer
 *   user.<name>.must-change=0|1
 *   user.<name>.hash=$argon2id$v=19$m=...,t=...,p=1$<salt>$<hash>
 * User names match [a-z0-9][a-z0-9._-]{0,31} so they fit a kv key as they are.
 *
 * Sessions live in memory only (a reboot logs everyone out): a token is 32 random bytes in hex,
 * compared in constant time; a session ends after session_ttl_ms without use, and when the table
 * is full the least recently used one gives way to a new login.
 */
#include <stdio.h>
#include <string.h>

#include "device/internal.h"

#define DEV_PWHASH_MEM_DEFAULT (16u * 1024u * 1024u) /* fits small devices, ~50 ms on a Cortex-A */
#define DEV_SESSION_TTL_DEFAULT (15u * 60u * 1000u)
/* Caps on the Argon2id parameters of a stored hash: a hostile record must not make every login
 * allocate gigabytes or spin for minutes. Far above what any device uses. */
#define DEV_PWHASH_MAX_MEM_KIB (1024u * 1024u) /* 1 GiB */
#define DEV_PWHASH_MAX_OPS 64u

static const char *const role_names[] = {[TORIDE_DEV_ROLE_ADMIN] = "admin",
                                          [TORIDE_DEV_ROLE_VIEWER] = "viewer"};

/* ---- accounts -------------------------------------------------------------------------- */

static bool
user_valid(const char *u)
{
	size_t n = strnlen(u, TORIDE_DEV_MAX_USER + 1);
	if (n == 0 || n > TORIDE_DEV_MAX_USER)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = u[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		          (i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

static struct dev_account *
find_account(struct toride_dev *dev, const char *user)
{
	for (size_t i = 0; i < dev->n_accounts; i++)
		if (strcmp(dev->accounts[i].user, user) == 0)
			return &dev->accounts[i];
	return NULL;
}

static size_t
count_admins(const struct toride_dev *dev)
{
	size_t n = 0;
	for (size_t i = 0; i < dev->n_accounts; i++)
		n += dev->accounts[i].role == TORIDE_DEV_ROLE_ADMIN;
	return n;
}

/* An Argon2id encoded string libsodium can verify, with bounded cost. */
static bool
hash_valid(const char *h)
{
	unsigned v, m, t, p;
	char tail;
	if (strnlen(h, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return false;
	if (strncmp(h, crypto_pwhash_argon2id_STRPREFIX, strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
		return false;
	if (sscanf(h, "$argon2id$v=%u$m=%u,t=%u,p=%u%c", &v, &m, &t, &p, &tail) != 5 || tail != '$')
		return false;
	if (v != 19 || m == 0 || m > DEV_PWHASH_MAX_MEM_KIB || t == 0 || t > DEV_PWHASH_MAX_OPS ||
	    p != 1)
		return false;
	/* -1 = the string does not decode (bad salt/hash base64, lengths). */
	return crypto_pwhash_str_needs_rehash(h, crypto_pwhash_OPSLIMIT_MIN,
	                                      crypto_pwhash_MEMLIMIT_MIN) != -1;
}

int
dev_hash_password(struct toride_dev *dev, const char *password, char out[crypto_pwhash_STRBYTES])
{
	unsigned long long ops = dev->pwhash_ops ? dev->pwhash_ops : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = dev->pwhash_mem ? dev->pwhash_mem : DEV_PWHASH_MEM_DEFAULT;
	if (password == NULL)
		return TORIDE_DEV_EINVAL;
	if (sodium_init() < 0)
		return TORIDE_DEV_ECRYPTO;
	if (crypto_pwhash_str_alg(out, password, strlen(password), ops, mem,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0)
		return TORIDE_DEV_ECRYPTO; /* out of memory, or limits outside libsodium's range */
	return 0;
}

int
dev_accounts_save(struct toride_dev *dev)
{
	int rc;
	struct dev_kv kv = {0};
	char key[TORIDE_DEV_MAX_KEY + 1];
	static const char *const fields[] = {"role", "must-change", "hash"};
	if ((rc = dev_kv_set(&kv, "format", "1")) < 0)
		goto out;
	for (size_t i = 0; i < dev->n_accounts; i++) {
		const struct dev_account *a = &dev->accounts[i];
		const char *values[] = {role_names[a->role], a->must_change ? "1" : "0", a->hash};
		for (size_t f = 0; f < 3; f++) {
			int n = snprintf(key, sizeof(key), "user.%s.%s", a->user, fields[f]);
			if (n < 0 || (size_t)n >= sizeof(key)) {
				rc = TORIDE_DEV_EINVAL;
				goto out;
			}
			if ((rc = dev_kv_set(&kv, key, values[f])) < 0)
				goto out;
		}
	}
	rc = dev_record_write_kv(dev->vfs, "accounts", &dev->rec_accounts, &kv);
out:
	dev_kv_free(&kv);
	return rc;
}

#define FIELD_ROLE 1u
#define FIELD_MUST_CHANGE 2u
#define FIELD_HASH 4u

int
dev_accounts_load(struct toride_dev *dev, const struct dev_kv *kv)
{
	int rc = TORIDE_DEV_ECORRUPT;
	struct dev_account acc[DEV_MAX_ACCOUNTS];
	unsigned seen[DEV_MAX_ACCOUNTS];
	size_t n = 0;
	bool format = false;
	memset(acc, 0, sizeof(acc));
	memset(seen, 0, sizeof(seen));
	if (kv->n == 0) {
		sodium_memzero(dev->accounts, sizeof(dev->accounts));
		dev->n_accounts = 0;
		return 0;
	}
	for (size_t i = 0; i < kv->n; i++) {
		const char *k = kv->e[i].key, *v = kv->e[i].value;
		if (strcmp(k, "format") == 0) {
			if (strcmp(v, "1") != 0)
				goto out;
			format = true;
			continue;
		}
		if (strncmp(k, "user.", 5) != 0)
			goto out;
		const char *name = k + 5, *dot = strrchr(name, '.');
		if (dot == NULL || dot == name || (size_t)(dot - name) > TORIDE_DEV_MAX_USER)
			goto out;
		char user[TORIDE_DEV_MAX_USER + 1];
		memcpy(user, name, (size_t)(dot - name));
		user[dot - name] = '\0';
		if (!user_valid(user))
			goto out;
		size_t j = 0;
		while (j < n && strcmp(acc[j].user, user) != 0)
			j++;
		if (j == n) {
			if (n == DEV_MAX_ACCOUNTS)
				goto out;
			memcpy(acc[n].user, user, sizeof(user));
			n++;
		}
		const char *field = dot + 1;
		if (strcmp(field, "role") == 0) {
			if (strcmp(v, "admin") == 0)
				acc[j].role = TORIDE_DEV_ROLE_ADMIN;
			else if (strcmp(v, "viewer") == 0)
				acc[j].role = TORIDE_DEV_ROLE_VIEWER;
			else
				goto out;
			seen[j] |= FIELD_ROLE;
		} else if (strcmp(field, "must-change") == 0) {
			if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
				goto out;
			acc[j].must_change = v[0] == '1';
			seen[j] |= FIELD_MUST_CHANGE;
		} else if (strcmp(field, "hash") == 0) {
			if (!hash_valid(v))
				goto out;
			memcpy(acc[j].hash, v, strlen(v) + 1);
			seen[j] |= FIELD_HASH;
		} else {
			goto out;
		}
	}
	if (!format)
		goto out;
	bool admin = false;
	for (size_t j = 0; j < n; j++) {
		if (seen[j] != (FIELD_ROLE | FIELD_MUST_CHANGE | FIELD_HASH))
			goto out;
		admin |= acc[j].role == TORIDE_DEV_ROLE_ADMIN;
	}
	/* A device nobody can administer cannot be fixed remotely: treat it as damaged. */
	if (n > 0 && !admin)
		goto out;
	sodium_memzero(dev->accounts, sizeof(dev->accounts));
	memcpy(dev->accounts, acc, sizeof(acc));
	dev->n_accounts = n;
	rc = 0;
out:
	sodium_memzero(acc, sizeof(acc));
	return rc;
}

/* ---- sessions -------------------------------------------------------------------------- */

static uint32_t
session_ttl(const struct toride_dev *dev)
{
	return dev->session_ttl_ms ? dev->session_ttl_ms : DEV_SESSION_TTL_DEFAULT;
}

static bool
session_expired(const struct toride_dev *dev, const struct dev_session *s, uint64_t now)
{
	return now > s->last_used_ms && now - s->last_used_ms >= session_ttl(dev);
}

static void
session_clear(struct dev_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

/* The live session holding token, or NULL. Expired sessions found on the way are ended. */
static struct dev_session *
session_find(struct toride_dev *dev, const char *token)
{
	struct dev_session *found = NULL;
	if (token == NULL || strnlen(token, TORIDE_DEV_TOKEN_LEN + 1) != TORIDE_DEV_TOKEN_LEN)
		return NULL;
	uint64_t now = dev_now(dev);
	for (size_t i = 0; i < DEV_MAX_SESSIONS; i++) {
		struct dev_session *s = &dev->sessions[i];
		if (!s->in_use)
			continue;
		if (session_expired(dev, s, now)) {
			session_clear(s);
			continue;
		}
		/* Every live token is compared in full: timing does not depend on which one matches. */
		if (sodium_memcmp(s->token, token, TORIDE_DEV_TOKEN_LEN) == 0)
			found = s;
	}
	return found;
}

/* A free slot: unused, else expired, else the least recently used session (which ends). */
static struct dev_session *
session_slot(struct toride_dev *dev, uint64_t now)
{
	struct dev_session *lru = NULL;
	for (size_t i = 0; i < DEV_MAX_SESSIONS; i++) {
		struct dev_session *s = &dev->sessions[i];
		if (!s->in_use || session_expired(dev, s, now)) {
			session_clear(s);
			return s;
		}
		if (lru == NULL || s->last_used_ms < lru->last_used_ms)
			lru = s;
	}
	session_clear(lru);
	return lru;
}

void
dev_sessions_end_user(struct toride_dev *dev, const char *user, const char *keep_token)
{
	for (size_t i = 0; i < DEV_MAX_SESSIONS; i++) {
		struct dev_session *s = &dev->sessions[i];
		if (!s->in_use || strcmp(s->user, user) != 0)
			continue;
		if (keep_token != NULL &&
		    strnlen(keep_token, TORIDE_DEV_TOKEN_LEN + 1) == TORIDE_DEV_TOKEN_LEN &&
		    sodium_memcmp(s->token, keep_token, TORIDE_DEV_TOKEN_LEN) == 0)
			continue;
		session_clear(s);
	}
}

static void
sessions_end_all(struct toride_dev *dev)
{
	for (size_t i = 0; i < DEV_MAX_SESSIONS; i++)
		session_clear(&dev->sessions[i]);
}

/* The access matrix (R1): administrators may do everything; viewers may look and change their own
 * password. */
static bool
role_allows(enum toride_dev_role role, enum toride_dev_op op)
{
	switch (op) {
	case TORIDE_DEV_OP_STATUS:
	case TORIDE_DEV_OP_CONFIG_READ:
	case TORIDE_DEV_OP_CHANGE_OWN_PASSWORD:
		return role == TORIDE_DEV_ROLE_ADMIN || role == TORIDE_DEV_ROLE_VIEWER;
	case TORIDE_DEV_OP_CONFIG_WRITE:
	case TORIDE_DEV_OP_UPDATE:
	case TORIDE_DEV_OP_ACCOUNTS:
	case TORIDE_DEV_OP_REBOOT:
		return role == TORIDE_DEV_ROLE_ADMIN;
	}
	return false;
}

/*
 * Session + account + op. Returns the account and the session through the out parameters when
 * the result is 0 (or TORIDE_DEV_EMUSTCHANGE, so change_password can reach the account).
 */
static int
access_check(struct toride_dev *dev, const char *token, enum toride_dev_op op,
             struct dev_session **s_out, struct dev_account **a_out)
{
	struct dev_session *s = session_find(dev, token);
	if (s == NULL)
		return TORIDE_DEV_EDENIED;
	struct dev_account *a = find_account(dev, s->user);
	if (a == NULL) {
		/* The account was removed (or reset) under the session. */
		session_clear(s);
		return TORIDE_DEV_EDENIED;
	}
	s->last_used_ms = dev_now(dev);
	*s_out = s;
	*a_out = a;
	if ((s->must_change || a->must_change) && op != TORIDE_DEV_OP_CHANGE_OWN_PASSWORD)
		return TORIDE_DEV_EMUSTCHANGE;
	if (!role_allows(a->role, op))
		return TORIDE_DEV_EDENIED;
	return 0;
}

int
toride_dev_session_check(struct toride_dev *dev, const char *token, enum toride_dev_op op,
                         char user_out[TORIDE_DEV_MAX_USER + 1])
{
	struct dev_session *s = NULL;
	struct dev_account *a = NULL;
	if (user_out != NULL)
		user_out[0] = '\0';
	if (dev == NULL)
		return TORIDE_DEV_EINVAL;
	int rc = access_check(dev, token, op, &s, &a);
	if (s != NULL && user_out != NULL)
		memcpy(user_out, s->user, sizeof(s->user));
	return rc;
}

int
toride_dev_session_end(struct toride_dev *dev, const char *token)
{
	if (dev == NULL)
		return TORIDE_DEV_EINVAL;
	struct dev_session *s = session_find(dev, token);
	if (s == NULL)
		return TORIDE_DEV_EDENIED;
	session_clear(s);
	return 0;
}

/* ---- login ----------------------------------------------------------------------------- */

/*
 * The Argon2id work of a verify for a name that has no account, so the answer's timing does not
 * tell which accounts exist. It verifies against an existing account's stored hash (the result
 * is discarded), which has exactly the cost parameters of the real hashes; on a device with no
 * account yet it computes an Argon2id hash with the device's limits instead.
 */
static void
dummy_verify(struct toride_dev *dev, const char *password)
{
	if (dev->n_accounts > 0) {
		volatile int r = crypto_pwhash_str_verify(dev->accounts[0].hash, password,
		                                          strlen(password));
		(void)r;
		return;
	}
	char h[crypto_pwhash_STRBYTES];
	(void)dev_hash_password(dev, password, h);
	sodium_memzero(h, sizeof(h));
}

int
toride_dev_login(struct toride_dev *dev, const char *source, const char *user,
                 const char *password, struct toride_dev_login_result *res)
{
	uint32_t wait = 0;
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (dev == NULL || source == NULL || user == NULL || password == NULL || res == NULL)
		return TORIDE_DEV_EINVAL;
	if (sodium_init() < 0)
		return TORIDE_DEV_ECRYPTO;
	/* Before any password work: a throttled attempt is neither checked nor counted. */
	if (dev_throttle_check(dev, source, user, &wait) == TORIDE_DEV_ETHROTTLED) {
		res->retry_after_ms = wait;
		return TORIDE_DEV_ETHROTTLED;
	}
	struct dev_account *a = find_account(dev, user);
	bool ok = false;
	if (a != NULL)
		ok = crypto_pwhash_str_verify(a->hash, password, strlen(password)) == 0;
	else
		dummy_verify(dev, password);
	if (!ok) {
		dev_throttle_failure(dev, source, user);
		(void)dev_throttle_check(dev, source, user, &wait);
		res->retry_after_ms = wait;
		return TORIDE_DEV_EDENIED;
	}
	dev_throttle_success(dev, source, user);
	uint64_t now = dev_now(dev);
	struct dev_session *s = session_slot(dev, now);
	uint8_t raw[TORIDE_DEV_TOKEN_LEN / 2];
	randombytes_buf(raw, sizeof(raw));
	dev_hex(raw, sizeof(raw), s->token);
	sodium_memzero(raw, sizeof(raw));
	memcpy(s->user, a->user, sizeof(s->user));
	s->must_change = a->must_change;
	s->last_used_ms = now;
	s->in_use = true;
	memcpy(res->token, s->token, sizeof(res->token));
	res->must_change = a->must_change;
	return 0;
}

/* ---- password changes and account management ------------------------------------------- */

/* In DEFAULT mode the shared factory password may never come back once changed (R2). Costs one
 * Argon2id verify. */
static int
not_factory_default(struct toride_dev *dev, const char *password, char *reason, size_t cap)
{
	if (dev->initial_mode != TORIDE_DEV_INITIAL_DEFAULT || dev->default_hash[0] == '\0')
		return 0;
	if (crypto_pwhash_str_verify(dev->default_hash, password, strlen(password)) != 0)
		return 0;
	if (reason != NULL && cap > 0)
		snprintf(reason, cap, "%s", "The password is the factory default.");
	return TORIDE_DEV_EPOLICY;
}

int
toride_dev_change_password(struct toride_dev *dev, const char *token, const char *old_password,
                           const char *new_password, char *reason, size_t reason_cap)
{
	int rc;
	struct dev_session *s = NULL;
	struct dev_account *a = NULL, backup;
	char hash[crypto_pwhash_STRBYTES];
	char user[TORIDE_DEV_MAX_USER + 1];
	uint32_t wait;
	if (reason != NULL && reason_cap > 0)
		reason[0] = '\0';
	if (dev == NULL || old_password == NULL || new_password == NULL)
		return TORIDE_DEV_EINVAL;
	if ((rc = access_check(dev, token, TORIDE_DEV_OP_CHANGE_OWN_PASSWORD, &s, &a)) < 0)
		return rc;
	memcpy(user, a->user, sizeof(user));
	/* The old password is a guess like a login's: whoever holds a stolen token must not get an
	 * unthrottled oracle. No source here, so only the account's entry counts. */
	if (dev_throttle_check(dev, NULL, user, &wait) == TORIDE_DEV_ETHROTTLED)
		return TORIDE_DEV_ETHROTTLED;
	if (crypto_pwhash_str_verify(a->hash, old_password, strlen(old_password)) != 0) {
		dev_throttle_failure(dev, NULL, user);
		return TORIDE_DEV_EDENIED;
	}
	dev_throttle_success(dev, NULL, user);
	if (strcmp(old_password, new_password) == 0) {
		if (reason != NULL && reason_cap > 0)
			snprintf(reason, reason_cap, "%s", "The new password must differ from the old one.");
		return TORIDE_DEV_EPOLICY;
	}
	if ((rc = toride_dev_password_check(dev, user, new_password, reason, reason_cap)) < 0)
		return rc;
	if ((rc = not_factory_default(dev, new_password, reason, reason_cap)) < 0)
		return rc;
	if ((rc = dev_hash_password(dev, new_password, hash)) < 0)
		goto out;
	backup = *a;
	memcpy(a->hash, hash, sizeof(hash));
	a->must_change = false;
	/* Durable before we say so: after a power cut the new password works, the old does not. */
	if ((rc = dev_accounts_save(dev)) < 0) {
		*a = backup;
		goto out;
	}
	s->must_change = false;
	dev_sessions_end_user(dev, user, token);
	rc = 0;
out:
	sodium_memzero(&backup, sizeof(backup));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
toride_dev_account_add(struct toride_dev *dev, const char *token, const char *user,
                       const char *password, enum toride_dev_role role, char *reason,
                       size_t reason_cap)
{
	int rc;
	struct dev_session *s = NULL;
	struct dev_account *a = NULL;
	if (reason != NULL && reason_cap > 0)
		reason[0] = '\0';
	if (dev == NULL || user == NULL || password == NULL)
		return TORIDE_DEV_EINVAL;
	if ((rc = access_check(dev, token, TORIDE_DEV_OP_ACCOUNTS, &s, &a)) < 0)
		return rc;
	if (!user_valid(user) || (role != TORIDE_DEV_ROLE_ADMIN && role != TORIDE_DEV_ROLE_VIEWER))
		return TORIDE_DEV_EINVAL;
	if (find_account(dev, user) != NULL)
		return TORIDE_DEV_EEXIST;
	if (dev->n_accounts == DEV_MAX_ACCOUNTS)
		return TORIDE_DEV_ETOOBIG;
	if ((rc = toride_dev_password_check(dev, user, password, reason, reason_cap)) < 0)
		return rc;
	if ((rc = not_factory_default(dev, password, reason, reason_cap)) < 0)
		return rc;
	struct dev_account *n = &dev->accounts[dev->n_accounts];
	memset(n, 0, sizeof(*n));
	memcpy(n->user, user, strlen(user) + 1);
	n->role = role;
	/* The administrator chose this password and will hand it over; it is not a factory
	 * credential, so no forced change. */
	n->must_change = false;
	if ((rc = dev_hash_password(dev, password, n->hash)) < 0) {
		sodium_memzero(n, sizeof(*n));
		return rc;
	}
	dev->n_accounts++;
	if ((rc = dev_accounts_save(dev)) < 0) {
		dev->n_accounts--;
		sodium_memzero(n, sizeof(*n));
		return rc;
	}
	return 0;
}

int
toride_dev_account_remove(struct toride_dev *dev, const char *token, const char *user)
{
	int rc;
	struct dev_session *s = NULL;
	struct dev_account *a = NULL;
	struct dev_account saved[DEV_MAX_ACCOUNTS];
	char name[TORIDE_DEV_MAX_USER + 1];
	if (dev == NULL || user == NULL)
		return TORIDE_DEV_EINVAL;
	if ((rc = access_check(dev, token, TORIDE_DEV_OP_ACCOUNTS, &s, &a)) < 0)
		return rc;
	struct dev_account *victim = find_account(dev, user);
	if (victim == NULL)
		return TORIDE_DEV_ENOENT;
	/* Removing the last administrator would leave a device nobody can manage. */
	if (victim->role == TORIDE_DEV_ROLE_ADMIN && count_admins(dev) == 1)
		return TORIDE_DEV_ESTATE;
	memcpy(name, victim->user, sizeof(name));
	size_t n_saved = dev->n_accounts, idx = (size_t)(victim - dev->accounts);
	memcpy(saved, dev->accounts, sizeof(saved));
	memmove(&dev->accounts[idx], &dev->accounts[idx + 1],
	        (dev->n_accounts - idx - 1) * sizeof(dev->accounts[0]));
	dev->n_accounts--;
	sodium_memzero(&dev->accounts[dev->n_accounts], sizeof(dev->accounts[0]));
	if ((rc = dev_accounts_save(dev)) < 0) {
		memcpy(dev->accounts, saved, sizeof(saved));
		dev->n_accounts = n_saved;
		goto out;
	}
	dev_sessions_end_user(dev, name, NULL);
	rc = 0;
out:
	sodium_memzero(saved, sizeof(saved));
	return rc;
}

int
dev_accounts_factory(struct toride_dev *dev)
{
	int rc;
	struct dev_account a, saved[DEV_MAX_ACCOUNTS];
	char pw[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1];
	size_t n_saved = dev->n_accounts;
	memset(&a, 0, sizeof(a));
	memcpy(saved, dev->accounts, sizeof(saved));
	if (!user_valid(dev->first_user)) {
		rc = TORIDE_DEV_EINVAL;
		goto out;
	}
	memcpy(a.user, dev->first_user, sizeof(a.user));
	a.role = TORIDE_DEV_ROLE_ADMIN;
	if (dev->initial_mode == TORIDE_DEV_INITIAL_UNIQUE) {
		if ((rc = toride_dev_initial_password(dev->secret, pw, sizeof(pw))) < 0 ||
		    (rc = dev_hash_password(dev, pw, a.hash)) < 0)
			goto out;
		a.must_change = false;
	} else if (dev->initial_mode == TORIDE_DEV_INITIAL_DEFAULT && hash_valid(dev->default_hash)) {
		memcpy(a.hash, dev->default_hash, sizeof(a.hash));
		a.must_change = true;
	} else {
		rc = TORIDE_DEV_ESTATE;
		goto out;
	}
	sodium_memzero(dev->accounts, sizeof(dev->accounts));
	dev->accounts[0] = a;
	dev->n_accounts = 1;
	if ((rc = dev_accounts_save(dev)) < 0) {
		memcpy(dev->accounts, saved, sizeof(saved));
		dev->n_accounts = n_saved;
		goto out;
	}
	sessions_end_all(dev);
	rc = 0;
out:
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(saved, sizeof(saved));
	sodium_memzero(pw, sizeof(pw));
	return rc;
}
