/*
 * Accounts, login, sessions and the access check (src/device/auth.c) on a real device (vfs_posix
 * in a mkdtemp dir, cheap Argon2id, injected clock): login right/wrong/unknown, throttling that
 * slows an attacker but lets the owner in, the forced change of a factory default, durable
 * password changes across close/open, session expiry and eviction, the role matrix, account
 * management, factory reset, and hostile "accounts" records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device/internal.h"
#include "toride/device.h"

#define BANNED TORIDE_SOURCE_DIR "/data/device/banned-passwords.txt"
#define DEFAULT_PW "Shared-Factory-77"
#define OWNER_PW "Kiso-gawa 7 Nagoya!"

struct fx {
	char dir[64];
	struct toride_dev_vfs vfs;
	struct toride_dev *dev;
	struct toride_dev_options opt;
	uint64_t now;
	char password[TORIDE_DEV_INITIAL_PASSWORD_LEN + 1]; /* UNIQUE mode initial password */
};

static uint64_t
fx_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void
fx_open(struct fx *f)
{
	assert_int_equal(toride_dev_open(&f->dev, &f->vfs, &f->opt), 0);
}

static void
fx_reopen(struct fx *f)
{
	toride_dev_close(f->dev);
	f->dev = NULL;
	fx_open(f);
}

static struct fx *
fx_new(enum toride_dev_initial_mode mode, bool cheap)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/toride-auth-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(toride_dev_vfs_posix_open(&f->vfs, f->dir), 0);
	static const char image[] = "factory image v1.0.0";
	assert_int_equal(dev_vfs_write_file(&f->vfs, "slot-a", image, sizeof(image)), 0);
	f->now = 5000000;
	f->opt.target = "toride-test-board";
	f->opt.model = "TR-100X";
	f->opt.serial = "SN2024-000731";
	f->opt.mac = "00:1A:2B:3C:4D:5E";
	f->opt.blocklist_path = BANNED;
	if (cheap) {
		f->opt.pwhash_ops = crypto_pwhash_OPSLIMIT_MIN;
		f->opt.pwhash_mem = crypto_pwhash_MEMLIMIT_MIN;
	}
	f->opt.now_ms = fx_now;
	f->opt.clock_ctx = f;
	fx_open(f);
	uint8_t secret[32], key[1][32];
	memset(secret, 0x5a, sizeof(secret));
	memset(key, 0x77, sizeof(key));
	struct toride_dev_provision p = {
		.mode = mode,
		.user = "admin",
		.secret = secret,
		.default_password = DEFAULT_PW,
		.keys = (const uint8_t(*)[32])key,
		.n_keys = 1,
		.firmware_version = "1.0.0",
	};
	assert_int_equal(toride_dev_provision(f->dev, &p, f->password, sizeof(f->password)), 0);
	return f;
}

static void
fx_free(struct fx *f)
{
	char cmd[128];
	toride_dev_close(f->dev);
	toride_dev_vfs_posix_close(&f->vfs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static int
setup_unique(void **state)
{
	*state = fx_new(TORIDE_DEV_INITIAL_UNIQUE, true);
	return 0;
}

static int
setup_default(void **state)
{
	*state = fx_new(TORIDE_DEV_INITIAL_DEFAULT, true);
	return 0;
}

static int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static int
login(struct fx *f, const char *src, const char *user, const char *pw,
      struct toride_dev_login_result *res)
{
	return toride_dev_login(f->dev, src, user, pw, res);
}

/* Logs in and returns the token (static storage per call site is not needed: copies out). */
static void
login_ok(struct fx *f, const char *user, const char *pw, char token[TORIDE_DEV_TOKEN_LEN + 1])
{
	struct toride_dev_login_result res;
	int rc = login(f, "console", user, pw, &res);
	if (rc != 0)
		fail_msg("login %s/%s: %d", user, pw, rc);
	memcpy(token, res.token, TORIDE_DEV_TOKEN_LEN + 1);
}

static const enum toride_dev_op all_ops[] = {
	TORIDE_DEV_OP_STATUS,      TORIDE_DEV_OP_CHANGE_OWN_PASSWORD, TORIDE_DEV_OP_CONFIG_READ,
	TORIDE_DEV_OP_CONFIG_WRITE, TORIDE_DEV_OP_UPDATE,             TORIDE_DEV_OP_ACCOUNTS,
	TORIDE_DEV_OP_REBOOT,
};
#define N_OPS (sizeof(all_ops) / sizeof(all_ops[0]))

static void
test_login(void **state)
{
	struct fx *f = *state;
	struct toride_dev_login_result res;
	char user[TORIDE_DEV_MAX_USER + 1];
	/* The label's password works, and gives a full session. */
	assert_int_equal(login(f, "192.0.2.1", "admin", f->password, &res), 0);
	assert_int_equal(strlen(res.token), TORIDE_DEV_TOKEN_LEN);
	assert_int_equal(strspn(res.token, "0123456789abcdef"), TORIDE_DEV_TOKEN_LEN);
	assert_int_equal(res.must_change, 0);
	assert_int_equal(toride_dev_session_check(f->dev, res.token, TORIDE_DEV_OP_UPDATE, user), 0);
	assert_string_equal(user, "admin");
	/* Two logins get different tokens. */
	struct toride_dev_login_result res2;
	assert_int_equal(login(f, "192.0.2.1", "admin", f->password, &res2), 0);
	assert_string_not_equal(res.token, res2.token);
	/* Wrong password, unknown user, and Mirai's pairs: denied alike. */
	assert_int_equal(login(f, "192.0.2.1", "admin", "admin", &res), TORIDE_DEV_EDENIED);
	assert_string_equal(res.token, "");
	assert_int_equal(login(f, "192.0.2.1", "root", "xc3511", &res), TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "192.0.2.1", "Admin", f->password, &res), TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "192.0.2.1", "", "", &res), TORIDE_DEV_EDENIED);
	/* A forged token, or one of the wrong length, is nothing. */
	char forged[TORIDE_DEV_TOKEN_LEN + 1];
	memcpy(forged, res2.token, sizeof(forged));
	forged[0] = forged[0] == 'a' ? 'b' : 'a';
	assert_int_equal(toride_dev_session_check(f->dev, forged, TORIDE_DEV_OP_STATUS, user),
	                 TORIDE_DEV_EDENIED);
	assert_string_equal(user, "");
	forged[TORIDE_DEV_TOKEN_LEN - 1] = '\0';
	assert_int_equal(toride_dev_session_check(f->dev, forged, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_session_check(f->dev, NULL, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_session_check(f->dev, res2.token, (enum toride_dev_op)99, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "x", NULL, "p", &res), TORIDE_DEV_EINVAL);
	/* Logout ends the session. */
	assert_int_equal(toride_dev_session_end(f->dev, res2.token), 0);
	assert_int_equal(toride_dev_session_check(f->dev, res2.token, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_session_end(f->dev, res2.token), TORIDE_DEV_EDENIED);
}

/* A known and an unknown name are throttled the same way (no enumeration), and a throttled
 * attempt is not even checked: the right password is refused until retry_after_ms. */
static void
test_throttle_no_oracle(void **state)
{
	struct fx *f = *state;
	struct toride_dev_login_result res;
	uint32_t known[6], unknown[6];
	for (int i = 0; i < 6; i++) {
		assert_int_equal(login(f, "192.0.2.2", "admin", "wrong-password-1", &res),
		                 TORIDE_DEV_EDENIED);
		known[i] = res.retry_after_ms;
		f->now += res.retry_after_ms;
		assert_int_equal(login(f, "192.0.2.3", "nobody", "wrong-password-1", &res),
		                 TORIDE_DEV_EDENIED);
		unknown[i] = res.retry_after_ms;
		f->now += res.retry_after_ms;
	}
	assert_memory_equal(known, unknown, sizeof(known));
	assert_int_equal(known[2], 0);
	assert_int_equal(known[3], 1000);
	assert_int_equal(known[5], 4000);
	/* Now fail once more and try the right password at once: throttled, not checked. */
	assert_int_equal(login(f, "192.0.2.2", "admin", "wrong-password-1", &res), TORIDE_DEV_EDENIED);
	uint32_t wait = res.retry_after_ms;
	assert_int_equal(wait, 8000);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(login(f, "192.0.2.4", "admin", f->password, &res),
		                 TORIDE_DEV_ETHROTTLED);
		assert_string_equal(res.token, "");
		f->now += 100;
	}
	/* Refused attempts did not extend the delay. */
	assert_int_equal(login(f, "192.0.2.4", "admin", f->password, &res), TORIDE_DEV_ETHROTTLED);
	assert_int_equal(res.retry_after_ms, wait - 2000);
	f->now += res.retry_after_ms;
	assert_int_equal(login(f, "192.0.2.4", "admin", f->password, &res), 0);
	/* The success reset the account: a typo now costs nothing. */
	assert_int_equal(login(f, "192.0.2.4", "admin", "typo", &res), TORIDE_DEV_EDENIED);
	assert_int_equal(res.retry_after_ms, 0);
}

/* A botnet guesses the owner's account from ever new addresses, each as fast as allowed. The
 * owner, from home, always gets in within max_account_delay_ms; the attackers never do. */
static void
test_owner_gets_in_during_attack(void **state)
{
	struct fx *f = *state;
	struct toride_dev_login_result res;
	char src[32];
	static const char *const guesses[] = {"xc3511", "vizxv", "admin", "888888", "xmhdipc",
	                                      "default", "juantech", "123456", "54321", "support"};
	uint32_t worst = 0;
	for (unsigned i = 0; i < 300; i++) {
		snprintf(src, sizeof(src), "203.0.113.%u", i / 9); /* 9 tries per address */
		int rc = login(f, src, "admin", guesses[i % 10], &res);
		assert_true(rc == TORIDE_DEV_EDENIED || rc == TORIDE_DEV_ETHROTTLED);
		assert_true(res.retry_after_ms <= 30000);
		if (rc == TORIDE_DEV_ETHROTTLED)
			f->now += res.retry_after_ms; /* the attacker comes back at the first chance */
		if (i % 37 == 36) {
			/* The owner arrives: at worst one delay away. */
			int o = login(f, "198.51.100.20", "admin", f->password, &res);
			if (o == TORIDE_DEV_ETHROTTLED) {
				assert_true(res.retry_after_ms > 0 && res.retry_after_ms <= 30000);
				if (res.retry_after_ms > worst)
					worst = res.retry_after_ms;
				f->now += res.retry_after_ms;
				o = login(f, "198.51.100.20", "admin", f->password, &res);
			}
			assert_int_equal(o, 0);
			assert_int_equal(toride_dev_session_end(f->dev, res.token), 0);
		}
	}
	assert_int_equal(worst, 30000); /* the attack did reach the cap, and no further */
}

/* One address hammering: locked out after 10 failures for 15 minutes, then it may try again. */
static void
test_source_lockout(void **state)
{
	struct fx *f = *state;
	struct toride_dev_login_result res;
	char user[16];
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "user%d", i); /* spread over names: only the source counts */
		assert_int_equal(login(f, "203.0.113.9", user, "wrong-password-1", &res),
		                 TORIDE_DEV_EDENIED);
		f->now += res.retry_after_ms < 60000 ? res.retry_after_ms : 0;
	}
	assert_int_equal(res.retry_after_ms, 15 * 60 * 1000);
	assert_int_equal(login(f, "203.0.113.9", "admin", f->password, &res), TORIDE_DEV_ETHROTTLED);
	assert_int_equal(login(f, "192.0.2.50", "admin", f->password, &res), 0);
	f->now += 15 * 60 * 1000;
	assert_int_equal(login(f, "203.0.113.9", "admin", f->password, &res), 0);
}

static void
test_forced_change(void **state)
{
	struct fx *f = *state;
	struct toride_dev_login_result res;
	char reason[160], other[TORIDE_DEV_TOKEN_LEN + 1];
	assert_int_equal(login(f, "console", "admin", DEFAULT_PW, &res), 0);
	assert_int_equal(res.must_change, 1);
	login_ok(f, "admin", DEFAULT_PW, other);
	/* Every operation but the password change is refused. */
	for (size_t i = 0; i < N_OPS; i++)
		assert_int_equal(toride_dev_session_check(f->dev, res.token, all_ops[i], NULL),
		                 all_ops[i] == TORIDE_DEV_OP_CHANGE_OWN_PASSWORD ? 0
		                                                                 : TORIDE_DEV_EMUSTCHANGE);
	assert_int_equal(toride_dev_account_add(f->dev, res.token, "eve", "Another-Good-Pass-9",
	                                        TORIDE_DEV_ROLE_ADMIN, NULL, 0),
	                 TORIDE_DEV_EMUSTCHANGE);
	assert_int_equal(toride_dev_account_remove(f->dev, res.token, "admin"), TORIDE_DEV_EMUSTCHANGE);
	/* Wrong old password, unchanged, or refused by the policy: still forced. */
	assert_int_equal(toride_dev_change_password(f->dev, res.token, "not-it", OWNER_PW, reason,
	                                            sizeof(reason)),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_change_password(f->dev, res.token, DEFAULT_PW, DEFAULT_PW, reason,
	                                            sizeof(reason)),
	                 TORIDE_DEV_EPOLICY);
	assert_non_null(strstr(reason, "differ"));
	assert_int_equal(toride_dev_change_password(f->dev, res.token, DEFAULT_PW, "7ujMko0admin",
	                                            reason, sizeof(reason)),
	                 TORIDE_DEV_EPOLICY);
	assert_non_null(strstr(reason, "known default"));
	assert_int_equal(toride_dev_change_password(f->dev, res.token, DEFAULT_PW, "home-3C4D5E-net",
	                                            reason, sizeof(reason)),
	                 TORIDE_DEV_EPOLICY);
	assert_non_null(strstr(reason, "MAC"));
	assert_int_equal(toride_dev_session_check(f->dev, res.token, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EMUSTCHANGE);
	/* A good one: full access at once, the other session of the same user is ended. */
	assert_int_equal(toride_dev_change_password(f->dev, res.token, DEFAULT_PW, OWNER_PW, reason,
	                                            sizeof(reason)),
	                 0);
	for (size_t i = 0; i < N_OPS; i++)
		assert_int_equal(toride_dev_session_check(f->dev, res.token, all_ops[i], NULL), 0);
	assert_int_equal(toride_dev_session_check(f->dev, other, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	/* The factory default is gone: it fails, the new one gives a normal session. */
	assert_int_equal(login(f, "console", "admin", DEFAULT_PW, &res), TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "console", "admin", OWNER_PW, &res), 0);
	assert_int_equal(res.must_change, 0);
	/* And it can never come back, neither by change nor as another account. */
	assert_int_equal(toride_dev_change_password(f->dev, res.token, OWNER_PW, DEFAULT_PW, reason,
	                                            sizeof(reason)),
	                 TORIDE_DEV_EPOLICY);
	assert_non_null(strstr(reason, "factory default"));
	assert_int_equal(toride_dev_account_add(f->dev, res.token, "eve", DEFAULT_PW,
	                                        TORIDE_DEV_ROLE_VIEWER, reason, sizeof(reason)),
	                 TORIDE_DEV_EPOLICY);
	assert_non_null(strstr(reason, "factory default"));
}

/* After toride_dev_change_password returns 0, a reboot keeps the new password. */
static void
test_change_durable(void **state)
{
	struct fx *f = *state;
	struct toride_dev_login_result res;
	char reason[160];
	assert_int_equal(login(f, "console", "admin", DEFAULT_PW, &res), 0);
	assert_int_equal(toride_dev_change_password(f->dev, res.token, DEFAULT_PW, OWNER_PW, reason,
	                                            sizeof(reason)),
	                 0);
	fx_reopen(f);
	/* Sessions do not survive a reboot. */
	assert_int_equal(toride_dev_session_check(f->dev, res.token, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "console", "admin", DEFAULT_PW, &res), TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "console", "admin", OWNER_PW, &res), 0);
	assert_int_equal(res.must_change, 0);
	/* A second change, and again after a reopen. */
	assert_int_equal(toride_dev_change_password(f->dev, res.token, OWNER_PW,
	                                            "Tenryu river 3 Hamamatsu", reason, sizeof(reason)),
	                 0);
	fx_reopen(f);
	assert_int_equal(login(f, "console", "admin", OWNER_PW, &res), TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "console", "admin", "Tenryu river 3 Hamamatsu", &res), 0);
	/* Factory reset brings the forced-change default back, durably. */
	assert_int_equal(toride_dev_factory_reset(f->dev), 0);
	assert_int_equal(toride_dev_session_check(f->dev, res.token, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	fx_reopen(f);
	assert_int_equal(login(f, "console", "admin", "Tenryu river 3 Hamamatsu", &res),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "console", "admin", DEFAULT_PW, &res), 0);
	assert_int_equal(res.must_change, 1);
}

/* Guessing the old password through a (stolen) session is throttled like a login. */
static void
test_change_throttled(void **state)
{
	struct fx *f = *state;
	char tok[TORIDE_DEV_TOKEN_LEN + 1];
	login_ok(f, "admin", f->password, tok);
	for (int i = 0; i < 4; i++)
		assert_int_equal(toride_dev_change_password(f->dev, tok, "guess-guess", OWNER_PW, NULL, 0),
		                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_change_password(f->dev, tok, f->password, OWNER_PW, NULL, 0),
	                 TORIDE_DEV_ETHROTTLED);
	f->now += 1000;
	assert_int_equal(toride_dev_change_password(f->dev, tok, f->password, OWNER_PW, NULL, 0), 0);
	/* In UNIQUE mode there is no forced change: after a reset, the label password again. */
	assert_int_equal(toride_dev_factory_reset(f->dev), 0);
	struct toride_dev_login_result res;
	assert_int_equal(login(f, "console", "admin", OWNER_PW, &res), TORIDE_DEV_EDENIED);
	assert_int_equal(login(f, "console", "admin", f->password, &res), 0);
	assert_int_equal(res.must_change, 0);
}

static void
test_session_expiry_and_eviction(void **state)
{
	struct fx *f = *state;
	char tok[TORIDE_DEV_TOKEN_LEN + 1];
	login_ok(f, "admin", f->password, tok);
	/* Idle for just under 15 minutes, twice: each use refreshes it. */
	f->now += 15 * 60 * 1000 - 1;
	assert_int_equal(toride_dev_session_check(f->dev, tok, TORIDE_DEV_OP_STATUS, NULL), 0);
	f->now += 15 * 60 * 1000 - 1;
	assert_int_equal(toride_dev_session_check(f->dev, tok, TORIDE_DEV_OP_STATUS, NULL), 0);
	f->now += 15 * 60 * 1000;
	assert_int_equal(toride_dev_session_check(f->dev, tok, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	/* The table holds DEV_MAX_SESSIONS; one more login evicts the least recently used. */
	static char toks[DEV_MAX_SESSIONS][TORIDE_DEV_TOKEN_LEN + 1];
	for (size_t i = 0; i < DEV_MAX_SESSIONS; i++) {
		login_ok(f, "admin", f->password, toks[i]);
		f->now += 10;
	}
	assert_int_equal(toride_dev_session_check(f->dev, toks[0], TORIDE_DEV_OP_STATUS, NULL), 0);
	login_ok(f, "admin", f->password, tok);
	assert_int_equal(toride_dev_session_check(f->dev, toks[1], TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_session_check(f->dev, toks[0], TORIDE_DEV_OP_STATUS, NULL), 0);
	for (size_t i = 2; i < DEV_MAX_SESSIONS; i++)
		assert_int_equal(toride_dev_session_check(f->dev, toks[i], TORIDE_DEV_OP_STATUS, NULL), 0);
	assert_int_equal(toride_dev_session_check(f->dev, tok, TORIDE_DEV_OP_STATUS, NULL), 0);
}

static void
test_roles_and_accounts(void **state)
{
	struct fx *f = *state;
	char adm[TORIDE_DEV_TOKEN_LEN + 1], view[TORIDE_DEV_TOKEN_LEN + 1],
	    view2[TORIDE_DEV_TOKEN_LEN + 1], reason[160], user[TORIDE_DEV_MAX_USER + 1];
	login_ok(f, "admin", f->password, adm);
	/* Adding: the policy applies, names are checked, duplicates refused. */
	assert_int_equal(toride_dev_account_add(f->dev, adm, "tanaka", "Tanaka-Kyoto-7!",
	                                        TORIDE_DEV_ROLE_VIEWER, reason, sizeof(reason)),
	                 TORIDE_DEV_EPOLICY);
	assert_non_null(strstr(reason, "user name"));
	assert_int_equal(toride_dev_account_add(f->dev, adm, "Tanaka", "Biwa lake 42 Otsu",
	                                        TORIDE_DEV_ROLE_VIEWER, reason, sizeof(reason)),
	                 TORIDE_DEV_EINVAL);
	assert_int_equal(toride_dev_account_add(f->dev, adm, "tanaka", "Biwa lake 42 Otsu",
	                                        (enum toride_dev_role)7, reason, sizeof(reason)),
	                 TORIDE_DEV_EINVAL);
	assert_int_equal(toride_dev_account_add(f->dev, adm, "tanaka", "Biwa lake 42 Otsu",
	                                        TORIDE_DEV_ROLE_VIEWER, reason, sizeof(reason)),
	                 0);
	assert_int_equal(toride_dev_account_add(f->dev, adm, "tanaka", "Biwa lake 43 Otsu",
	                                        TORIDE_DEV_ROLE_VIEWER, reason, sizeof(reason)),
	                 TORIDE_DEV_EEXIST);
	/* The viewer: status, config read, own password; nothing else. */
	struct toride_dev_login_result res;
	assert_int_equal(login(f, "192.0.2.8", "tanaka", "Biwa lake 42 Otsu", &res), 0);
	assert_int_equal(res.must_change, 0);
	memcpy(view, res.token, sizeof(view));
	login_ok(f, "tanaka", "Biwa lake 42 Otsu", view2);
	for (size_t i = 0; i < N_OPS; i++) {
		enum toride_dev_op op = all_ops[i];
		bool allowed = op == TORIDE_DEV_OP_STATUS || op == TORIDE_DEV_OP_CONFIG_READ ||
		               op == TORIDE_DEV_OP_CHANGE_OWN_PASSWORD;
		assert_int_equal(toride_dev_session_check(f->dev, view, op, user),
		                 allowed ? 0 : TORIDE_DEV_EDENIED);
		assert_string_equal(user, "tanaka");
		assert_int_equal(toride_dev_session_check(f->dev, adm, op, NULL), 0);
	}
	assert_int_equal(toride_dev_account_add(f->dev, view, "mallory", "Biwa lake 44 Otsu",
	                                        TORIDE_DEV_ROLE_ADMIN, reason, sizeof(reason)),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_account_remove(f->dev, view, "admin"), TORIDE_DEV_EDENIED);
	/* The viewer changes its own password; its other session ends, the admin's does not. */
	assert_int_equal(toride_dev_change_password(f->dev, view, "Biwa lake 42 Otsu",
	                                            "Seta bridge 9 Shiga", reason, sizeof(reason)),
	                 0);
	assert_int_equal(toride_dev_session_check(f->dev, view, TORIDE_DEV_OP_STATUS, NULL), 0);
	assert_int_equal(toride_dev_session_check(f->dev, view2, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	assert_int_equal(toride_dev_session_check(f->dev, adm, TORIDE_DEV_OP_STATUS, NULL), 0);
	/* The last administrator cannot be removed; the viewer can, its sessions end with it. */
	assert_int_equal(toride_dev_account_remove(f->dev, adm, "admin"), TORIDE_DEV_ESTATE);
	assert_int_equal(toride_dev_account_remove(f->dev, adm, "nobody"), TORIDE_DEV_ENOENT);
	assert_int_equal(toride_dev_account_add(f->dev, adm, "ops", "Second admin pass 5",
	                                        TORIDE_DEV_ROLE_ADMIN, reason, sizeof(reason)),
	                 0);
	assert_int_equal(toride_dev_account_remove(f->dev, adm, "tanaka"), 0);
	assert_int_equal(toride_dev_session_check(f->dev, view, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	/* Durable: after a reboot tanaka is gone and ops remains. */
	fx_reopen(f);
	assert_int_equal(login(f, "console", "tanaka", "Seta bridge 9 Shiga", &res),
	                 TORIDE_DEV_EDENIED);
	login_ok(f, "ops", "Second admin pass 5", adm);
	/* With two administrators one may remove the other, even itself. */
	assert_int_equal(toride_dev_account_remove(f->dev, adm, "ops"), 0);
	assert_int_equal(toride_dev_session_check(f->dev, adm, TORIDE_DEV_OP_STATUS, NULL),
	                 TORIDE_DEV_EDENIED);
	/* The table is bounded. */
	login_ok(f, "admin", f->password, adm);
	char name[16];
	for (size_t i = 1; i < DEV_MAX_ACCOUNTS; i++) {
		snprintf(name, sizeof(name), "user%zu", i);
		assert_int_equal(toride_dev_account_add(f->dev, adm, name, "Biwa lake 42 Otsu",
		                                        TORIDE_DEV_ROLE_VIEWER, NULL, 0),
		                 0);
	}
	assert_int_equal(toride_dev_account_add(f->dev, adm, "one-more", "Biwa lake 42 Otsu",
	                                        TORIDE_DEV_ROLE_VIEWER, NULL, 0),
	                 TORIDE_DEV_ETOOBIG);
}

/* Hostile "accounts" records are refused whole. */
/* Copies tmpl to out with "@H" (if present) replaced by hash. */
static void
subst(char *out, size_t cap, const char *tmpl, const char *hash)
{
	const char *at = strstr(tmpl, "@H");
	if (at == NULL)
		at = hash = "";
	int n = at[0] == '\0' ? snprintf(out, cap, "%s", tmpl)
	                       : snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, hash, at + 2);
	assert_true(n > 0 && (size_t)n < cap);
}

static void
test_hostile_records(void **state)
{
	struct fx *f = *state;
	char good_hash[crypto_pwhash_STRBYTES];
	assert_int_equal(dev_hash_password(f->dev, "Biwa lake 42 Otsu", good_hash), 0);
	char text[2048];
	const char *fmt_ok = "format=1\nuser.admin.role=admin\nuser.admin.must-change=0\n"
	                     "user.admin.hash=@H\n";
	const char *bad[] = {
		"format=1\nuser.admin.role=root\nuser.admin.must-change=0\nuser.admin.hash=@H\n",
		"format=1\nuser.admin.role=admin\nuser.admin.must-change=2\nuser.admin.hash=@H\n",
		"format=1\nuser.admin.role=admin\nuser.admin.must-change=0\nuser.admin.hash=x@H\n",
		"format=1\nuser.admin.role=admin\nuser.admin.hash=@H\n",
		"format=1\nuser.admin.role=admin\nuser.admin.must-change=0\nuser.admin.hash=@H\n"
		"user.admin.shell=/bin/sh\n",
		"format=2\nuser.admin.role=admin\nuser.admin.must-change=0\nuser.admin.hash=@H\n",
		"user.admin.role=admin\nuser.admin.must-change=0\nuser.admin.hash=@H\n",
		"format=1\nuser.admin.role=viewer\nuser.admin.must-change=0\nuser.admin.hash=@H\n",
		"format=1\nuser.-x.role=admin\nuser.-x.must-change=0\nuser.-x.hash=@H\n",
		"format=1\nuser..role=admin\nuser.admin.must-change=0\nuser.admin.hash=@H\n",
		"format=1\nsecret=1\nuser.admin.role=admin\nuser.admin.must-change=0\n"
		"user.admin.hash=@H\n",
		"format=1\nuser.admin.role=admin\nuser.admin.must-change=0\n"
		"user.admin.hash=$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$"
		"Rgw7Bdo6+6PzZL5DZa6QVJgpDLS8XQRUOZdZCXxsZ3I\n",
		/* The good hash with m= raised to 4 GiB (filled in below): every login would
		 * allocate that much. */
		"format=1\nuser.admin.role=admin\nuser.admin.must-change=0\nuser.admin.hash=@H\n",
	};
	struct dev_kv kv = {0};
	size_t line;
	char huge[crypto_pwhash_STRBYTES + 16];
	const char *m = strstr(good_hash, "$m=");
	const char *comma = strchr(m, ',');
	snprintf(huge, sizeof(huge), "%.*s$m=4194304%s", (int)(m - good_hash), good_hash, comma);
	const size_t n_bad = sizeof(bad) / sizeof(bad[0]);
	subst(text, sizeof(text), fmt_ok, good_hash);
	assert_int_equal(dev_kv_parse((const uint8_t *)text, strlen(text), &kv, &line), 0);
	assert_int_equal(dev_accounts_load(f->dev, &kv), 0);
	assert_int_equal(f->dev->n_accounts, 1);
	assert_string_equal(f->dev->accounts[0].hash, good_hash);
	dev_kv_free(&kv);
	for (size_t i = 0; i < n_bad; i++) {
		subst(text, sizeof(text), bad[i], i == n_bad - 1 ? huge : good_hash);
		memset(&kv, 0, sizeof(kv));
		assert_int_equal(dev_kv_parse((const uint8_t *)text, strlen(text), &kv, &line), 0);
		if (dev_accounts_load(f->dev, &kv) != TORIDE_DEV_ECORRUPT)
			fail_msg("record %zu accepted:\n%s", i, text);
		/* Refused whole: the accounts in memory are unchanged. */
		assert_int_equal(f->dev->n_accounts, 1);
		assert_string_equal(f->dev->accounts[0].hash, good_hash);
		dev_kv_free(&kv);
	}
	/* Too many accounts. */
	size_t off = (size_t)snprintf(text, sizeof(text), "format=1\n");
	static char big[16384];
	memcpy(big, text, off);
	for (int i = 0; i <= DEV_MAX_ACCOUNTS; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off,
		                        "user.u%d.role=admin\nuser.u%d.must-change=0\nuser.u%d.hash=%s\n",
		                        i, i, i, good_hash);
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(dev_kv_parse((const uint8_t *)big, off, &kv, &line), 0);
	assert_int_equal(dev_accounts_load(f->dev, &kv), TORIDE_DEV_ECORRUPT);
	/* Written to storage, a hostile record stops the device from opening. */
	dev_kv_free(&kv);
	memset(&kv, 0, sizeof(kv));
	subst(text, sizeof(text), bad[0], good_hash);
	assert_int_equal(dev_kv_parse((const uint8_t *)text, strlen(text), &kv, &line), 0);
	assert_int_equal(dev_record_write_kv(&f->vfs, "accounts", &f->dev->rec_accounts, &kv), 0);
	dev_kv_free(&kv);
	toride_dev_close(f->dev);
	f->dev = NULL;
	assert_int_equal(toride_dev_open(&f->dev, &f->vfs, &f->opt), TORIDE_DEV_ECORRUPT);
	assert_null(f->dev);
}

/* Without explicit limits the hashes use Argon2id INTERACTIVE ops and 16 MiB. */
static void
test_default_params(void **state)
{
	(void)state;
	struct fx *f = fx_new(TORIDE_DEV_INITIAL_UNIQUE, false);
	char want[64];
	snprintf(want, sizeof(want), "$argon2id$v=19$m=%u,t=%llu,p=1$", 16u * 1024u,
	         (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE);
	assert_int_equal(strncmp(f->dev->accounts[0].hash, want, strlen(want)), 0);
	struct toride_dev_login_result res;
	assert_int_equal(login(f, "console", "admin", f->password, &res), 0);
	/* An unknown name costs the same Argon2id work as a wrong password for a real one (a
	 * missing verify would make it ~1000 times faster). Loose bounds: CI machines are noisy. */
	double known = 0, unknown = 0;
	for (int i = 0; i < 3; i++) {
		struct timespec t0, t1, t2;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(login(f, "192.0.2.1", "admin", "wrong-password-1", &res),
		                 TORIDE_DEV_EDENIED);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_int_equal(login(f, "192.0.2.2", "nobody", "wrong-password-1", &res),
		                 TORIDE_DEV_EDENIED);
		clock_gettime(CLOCK_MONOTONIC, &t2);
		known += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		unknown += (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	}
	if (unknown < known / 3 || unknown > known * 3)
		fail_msg("known user %.1f ms, unknown user %.1f ms", known * 1e3 / 3, unknown * 1e3 / 3);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_no_oracle, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_owner_gets_in_during_attack, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_source_lockout, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_forced_change, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_change_durable, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_change_throttled, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_session_expiry_and_eviction, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_roles_and_accounts, setup_unique, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_records, setup_unique, teardown),
		cmocka_unit_test(test_default_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
