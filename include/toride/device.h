/*
 * libtoride-device: the device side of the Terminal Equipment Regulations art. 34-10 (Japan),
 * JC-STAR star 1 and ETSI EN 303 645, built in by construction.
 *
 *   R1 access control   every remote operation passes toride_dev_session_check()
 *   R2 no factory creds  a unique per-device initial password derived from a factory secret, or a
 *                        factory default that only allows changing it (forced change)
 *   R3 updatable         signed A/B bundles, boot counting, automatic rollback, downgrade floor
 *   R4 survives power    every state change is one durable, checksummed, two-copy record write
 *
 * Depends only on libc and libsodium. Never prints, never exits; every function returns 0 or a
 * negative TORIDE_DEV_E* code. Secrets (passwords, the factory secret, keys) are wiped with
 * sodium_memzero() after use. Not thread-safe: one struct toride_dev per thread, or a lock around it.
 *
 * Storage goes through struct toride_dev_vfs so a device maker can put state on raw flash, UBI or
 * eMMC files, and so the test suite can cut the power at any write (tests/support/simdisk.c).
 * Design and data flow: docs/device.md.
 */
#ifndef TORIDE_DEVICE_H
#define TORIDE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Only what this header declares is exported from libtoride-device.so. */
#pragma GCC visibility push(default)

/* ---- errors (numbers are never reused) ----------------------------------------------------- */

enum toride_dev_error {
	TORIDE_DEV_OK = 0,
	TORIDE_DEV_EINVAL = -1,      /* bad argument */
	TORIDE_DEV_ENOMEM = -2,      /* allocation failed */
	TORIDE_DEV_EIO = -3,         /* storage read/write/sync failed */
	TORIDE_DEV_ENOENT = -4,      /* no such record, key, account or file */
	TORIDE_DEV_ECORRUPT = -5,    /* stored data fails its checksum or does not parse */
	TORIDE_DEV_EDENIED = -6,     /* wrong credentials, unknown session, or role not allowed */
	TORIDE_DEV_ETHROTTLED = -7,  /* too many failures: retry later (retry_after_ms says when) */
	TORIDE_DEV_EMUSTCHANGE = -8, /* the session may only change its own password */
	TORIDE_DEV_EPOLICY = -9,     /* password refused by the policy (a reason is given) */
	TORIDE_DEV_ESIGNATURE = -10, /* bundle signature missing or does not verify with a trusted key */
	TORIDE_DEV_ETARGET = -11,    /* bundle is for another device type */
	TORIDE_DEV_EDOWNGRADE = -12, /* bundle version not above the running version and the floor */
	TORIDE_DEV_EFORMAT = -13,    /* malformed bundle, manifest, key or configuration text */
	TORIDE_DEV_EHASH = -14,      /* image bytes do not match the signed manifest */
	TORIDE_DEV_EBUSY = -15,      /* an update is already being installed */
	TORIDE_DEV_ETOOBIG = -16,    /* a bounded quantity hit its cap */
	TORIDE_DEV_EEXIST = -17,     /* already exists (account, provisioning) */
	TORIDE_DEV_ECRYPTO = -18,    /* libsodium could not initialise or failed */
	TORIDE_DEV_ESTATE = -19,     /* not valid now (e.g. confirm with no trial boot, not provisioned) */
	TORIDE_DEV_EINCOMPLETE = -20, /* streaming parser needs more bytes (not a failure) */
};

/* Static English text for an error code; never NULL. */
const char *toride_dev_strerror(int err);

/* ---- storage ------------------------------------------------------------------------------- */

/*
 * A flat directory of named files. Names match [A-Za-z0-9._-]{1,64}. Semantics the library relies
 * on, and nothing more (the power-cut simulator gives exactly these):
 *   - write() data is durable only after sync() on that file returns 0;
 *   - rename() atomically replaces `to` (old or new name after a crash, never neither), but the
 *     directory change is durable only after sync_dir() returns 0;
 *   - a crash may tear the last unsynced write or drop any unsynced data.
 * Every callback returns 0 or a negative TORIDE_DEV_E* code (TORIDE_DEV_ENOENT for a missing file).
 */
#define TORIDE_DEV_VFS_READ 1
#define TORIDE_DEV_VFS_WRITE 2 /* create if missing, truncate to empty */

struct toride_dev_vfs {
	void *ctx;
	int (*open)(void *ctx, const char *name, int flags, void **file);
	int (*read)(void *ctx, void *file, uint64_t off, void *buf, size_t len, size_t *got);
	int (*write)(void *ctx, void *file, uint64_t off, const void *buf, size_t len);
	int (*size)(void *ctx, void *file, uint64_t *size);
	int (*sync)(void *ctx, void *file);
	int (*close)(void *ctx, void *file);
	int (*rename)(void *ctx, const char *from, const char *to);
	int (*remove)(void *ctx, const char *name);
	int (*sync_dir)(void *ctx);
};

/* A vfs over a POSIX directory (openat/fsync/renameat). The directory must exist. Release with
 * toride_dev_vfs_posix_close(). */
int toride_dev_vfs_posix_open(struct toride_dev_vfs *vfs, const char *dir);
void toride_dev_vfs_posix_close(struct toride_dev_vfs *vfs);

/* ---- device ------------------------------------------------------------------------------- */

struct toride_dev;

#define TORIDE_DEV_MAX_KEYS 4 /* trusted update signers; room for a rotation plus a spare */

struct toride_dev_throttle_policy {
	unsigned free_failures;     /* failures allowed before any delay (per account and source) */
	uint32_t base_delay_ms;     /* first delay; doubles with every further failure */
	uint32_t max_account_delay_ms; /* cap of the per-account delay: the owner is never locked out
	                                  for longer than this, whatever an attacker does */
	unsigned lockout_failures;  /* failures from one source that lock that source out */
	uint32_t lockout_ms;        /* how long a source lockout lasts (always finite) */
};

struct toride_dev_options {
	const char *target;   /* hardware target name; update bundles must name it (required) */
	const char *model;    /* public identifiers a password must not be derived from */
	const char *serial;
	const char *mac;      /* any common spelling: 00:11:22:aa:bb:cc, 001122AABBCC, ... */
	const char *blocklist_path; /* banned passwords, one per line (data/device/banned-passwords.txt);
	                               NULL = only the built-in rules */
	unsigned long long pwhash_ops; /* Argon2id opslimit; 0 = crypto_pwhash_OPSLIMIT_INTERACTIVE */
	size_t pwhash_mem;             /* Argon2id memlimit in bytes; 0 = 16 MiB (fits small devices) */
	size_t min_password_len;       /* 0 = 10 */
	unsigned boot_tries;           /* trial boots before rollback; 0 = 3 */
	uint32_t session_ttl_ms;       /* idle session lifetime; 0 = 15 minutes */
	const struct toride_dev_throttle_policy *throttle; /* NULL = defaults (docs/device.md) */
	uint64_t (*now_ms)(void *ctx); /* monotonic clock; NULL = CLOCK_MONOTONIC */
	void *clock_ctx;
};

/* Opens the device state on `vfs` (which must outlive the device). Reads and checks every record;
 * a record whose two copies are both corrupt gives TORIDE_DEV_ECORRUPT. An empty store opens as
 * "not provisioned". */
int toride_dev_open(struct toride_dev **out, const struct toride_dev_vfs *vfs,
                    const struct toride_dev_options *opt);
void toride_dev_close(struct toride_dev *dev);

/* ---- factory provisioning and initial credentials (R2) ------------------------------------ */

enum toride_dev_initial_mode {
	TORIDE_DEV_INITIAL_UNIQUE = 1,  /* password derived from a per-device secret, printed on a label */
	TORIDE_DEV_INITIAL_DEFAULT = 2, /* a shared factory default that must be changed before use */
};

struct toride_dev_provision {
	enum toride_dev_initial_mode mode;
	const char *user;             /* first administrator, e.g. "admin" */
	const uint8_t *secret;        /* 32 bytes for UNIQUE; NULL = fresh random secret */
	const char *default_password; /* DEFAULT mode only */
	const uint8_t (*keys)[32];    /* trusted Ed25519 public keys for updates */
	size_t n_keys;                /* 1..TORIDE_DEV_MAX_KEYS */
	const char *firmware_version; /* version of the factory image in slot A */
};

#define TORIDE_DEV_INITIAL_PASSWORD_LEN 17 /* "xxxxx-xxxxx-xxxxx", 75 bits */

/* Factory step, once per device: stores the secret, the trusted keys, the first account and the
 * boot state. For UNIQUE, writes the initial password (NUL-terminated) to `password_out` so the
 * factory can print the label. TORIDE_DEV_EEXIST if already provisioned. */
int toride_dev_provision(struct toride_dev *dev, const struct toride_dev_provision *p,
                         char *password_out, size_t cap);

/* Deterministic derivation used by provisioning: 15 characters from an alphabet without look-alike
 * characters (no 0/o, 1/l/i), in three groups of five. */
int toride_dev_initial_password(const uint8_t secret[32], char *out, size_t cap);

/* The text of the label to print (model, serial, MAC, user, initial password; English and
 * Japanese). Does not include the password for DEFAULT mode. */
int toride_dev_label(struct toride_dev *dev, const char *initial_password, char *out, size_t cap);

/* Owner's reset (e.g. a held button): accounts and settings back to the factory state (unique
 * password or forced-change default again); firmware, keys and the downgrade floor are kept. */
int toride_dev_factory_reset(struct toride_dev *dev);

/* ---- accounts, sessions and access control (R1, R2) -------------------------------------- */

enum toride_dev_role {
	TORIDE_DEV_ROLE_ADMIN = 1,
	TORIDE_DEV_ROLE_VIEWER = 2,
};

enum toride_dev_op {
	TORIDE_DEV_OP_STATUS = 1,          /* read status, versions */
	TORIDE_DEV_OP_CHANGE_OWN_PASSWORD, /* the only op a must-change session may do */
	TORIDE_DEV_OP_CONFIG_READ,
	TORIDE_DEV_OP_CONFIG_WRITE,
	TORIDE_DEV_OP_UPDATE,
	TORIDE_DEV_OP_ACCOUNTS,
	TORIDE_DEV_OP_REBOOT,
};

#define TORIDE_DEV_TOKEN_LEN 64 /* hex of 32 random bytes */
#define TORIDE_DEV_MAX_USER 32

struct toride_dev_login_result {
	char token[TORIDE_DEV_TOKEN_LEN + 1]; /* session token (on success) */
	int must_change;                      /* session allows only TORIDE_DEV_OP_CHANGE_OWN_PASSWORD */
	uint32_t retry_after_ms;              /* with TORIDE_DEV_ETHROTTLED or TORIDE_DEV_EDENIED:
	                                         earliest next attempt that will be considered */
};

/*
 * Checks user/password from `source` (an address or "console"). Throttling is checked before the
 * password, and an unknown user costs the same Argon2id work as a known one. Returns 0 with a
 * session token, TORIDE_DEV_EDENIED (wrong credentials), or TORIDE_DEV_ETHROTTLED (not checked;
 * res->retry_after_ms). The caller should not answer before retry_after_ms has passed.
 */
int toride_dev_login(struct toride_dev *dev, const char *source, const char *user,
                     const char *password, struct toride_dev_login_result *res);

/* The access check every remote operation goes through: 0, TORIDE_DEV_EDENIED (unknown or expired
 * token, or the role may not do `op`), or TORIDE_DEV_EMUSTCHANGE. Refreshes the session's idle
 * timer. `user_out` (may be NULL) receives the session's user name. */
int toride_dev_session_check(struct toride_dev *dev, const char *token, enum toride_dev_op op,
                             char user_out[TORIDE_DEV_MAX_USER + 1]);
int toride_dev_session_end(struct toride_dev *dev, const char *token);

/* Changes the session user's password after checking the old one and the policy. On
 * TORIDE_DEV_EPOLICY `reason` receives a short English sentence. Ends the forced-change state and
 * every other session of that user. */
int toride_dev_change_password(struct toride_dev *dev, const char *token, const char *old_password,
                               const char *new_password, char *reason, size_t reason_cap);

/* Account management (TORIDE_DEV_OP_ACCOUNTS). New passwords go through the policy. */
int toride_dev_account_add(struct toride_dev *dev, const char *token, const char *user,
                           const char *password, enum toride_dev_role role, char *reason,
                           size_t reason_cap);
int toride_dev_account_remove(struct toride_dev *dev, const char *token, const char *user);

/* Password policy on its own (for UIs that check as the user types): 0 or TORIDE_DEV_EPOLICY with
 * a reason. Refuses: shorter than min_password_len, longer than 128 bytes, on the blocklist
 * (case-insensitive, also with trailing digits/symbols stripped), repeated or sequential
 * characters, keyboard walks, the user name, and anything containing the model, serial or MAC. */
int toride_dev_password_check(struct toride_dev *dev, const char *user, const char *password,
                              char *reason, size_t reason_cap);

/* ---- durable configuration (R4) ----------------------------------------------------------- */

#define TORIDE_DEV_MAX_KEY 64
#define TORIDE_DEV_MAX_VALUE 1024

/* The device's own read of a setting: 0, TORIDE_DEV_ENOENT, or TORIDE_DEV_ETOOBIG if cap is short. */
int toride_dev_config_get(struct toride_dev *dev, const char *key, char *value, size_t cap);

/* Remote change of settings (TORIDE_DEV_OP_CONFIG_WRITE). All n pairs are committed together in one
 * durable write: when it returns 0 they survive any later power cut; if power is lost during the
 * call, the old or the new settings remain, never a mix. value NULL removes the key. */
int toride_dev_config_set(struct toride_dev *dev, const char *token, const char *const *keys,
                          const char *const *values, size_t n);

/* ---- firmware update (R3) ----------------------------------------------------------------- */

#define TORIDE_DEV_MAX_VERSION 32

struct toride_dev_bundle_info {
	char target[64];
	char version[TORIDE_DEV_MAX_VERSION];
	char security_floor[TORIDE_DEV_MAX_VERSION]; /* "" when the manifest sets none */
	uint64_t image_size;
	uint8_t image_sha256[32];
	uint8_t key_id[8];                           /* first 8 bytes of the signer's public key */
};

/* Streaming install into the inactive slot. The header, manifest and signature are checked before
 * a single image byte is written; the image is hashed as it is written and only a matching image
 * becomes the next boot's trial slot (one durable record write). */
struct toride_dev_update;
int toride_dev_update_begin(struct toride_dev *dev, const char *token,
                            struct toride_dev_update **out);
/* The device's own automatic update (no remote caller): the same checks minus the session. Never
 * route a remote request here; remote installs go through toride_dev_update_begin(). */
int toride_dev_update_begin_auto(struct toride_dev *dev, struct toride_dev_update **out);
/* begin: TORIDE_DEV_ESTATE if not provisioned, TORIDE_DEV_EBUSY if another install is open or a
 * trial boot awaits its confirm. feed takes any chunking; only the header is buffered. It returns
 * ESIGNATURE, EFORMAT (malformed, or bytes past the signed image size), ETARGET, EDOWNGRADE (not
 * above the confirmed version, or below the floor: covers replay), EBUSY, or a storage error; an
 * error is sticky. finish: EFORMAT if truncated, EHASH if the image does not match; 0 makes the
 * slot the next boot's trial. finish ALWAYS releases u (whatever it returns); abort releases u
 * without installing. Use exactly one of them per handle. */
int toride_dev_update_feed(struct toride_dev_update *u, const void *data, size_t len);
/* Feeds everything readable from fd (a downloaded or uploaded bundle file) until end of file, in
 * 64 KiB reads. Errors as toride_dev_update_feed, plus TORIDE_DEV_EIO for a failed read. */
int toride_dev_update_feed_fd(struct toride_dev_update *u, int fd);
int toride_dev_update_finish(struct toride_dev_update *u, struct toride_dev_bundle_info *info);
void toride_dev_update_abort(struct toride_dev_update *u);

struct toride_dev_boot_info {
	char slot;                              /* 'a' or 'b' */
	char version[TORIDE_DEV_MAX_VERSION];
	int trial;                              /* running an unconfirmed update: call confirm when healthy */
	unsigned tries_left;
	int rolled_back;                        /* this boot abandoned an update that never confirmed */
	char rolled_back_version[TORIDE_DEV_MAX_VERSION];
};

/* The boot-loader step, once per boot: picks the slot (trial slot while it has tries left, else
 * roll back to the last confirmed one), counts the try durably before returning, and checks the
 * chosen slot's image hash (falls back to the other slot if it does not match). */
int toride_dev_boot(struct toride_dev *dev, struct toride_dev_boot_info *info);

/* The running trial firmware declares itself healthy: it becomes the confirmed slot and the floor
 * rises to its version (and to its manifest's security floor). TORIDE_DEV_ESTATE if not on trial. */
int toride_dev_confirm(struct toride_dev *dev);

struct toride_dev_status {
	char running_slot;
	char running_version[TORIDE_DEV_MAX_VERSION];
	char floor[TORIDE_DEV_MAX_VERSION];
	char slot_version[2][TORIDE_DEV_MAX_VERSION]; /* [0] = a, [1] = b; "" if empty */
	int trial;
	unsigned tries_left;
	int provisioned;
	enum toride_dev_initial_mode initial_mode;
};
int toride_dev_status(struct toride_dev *dev, struct toride_dev_status *st);

/* Reads the running slot's image (so the device can start it). */
int toride_dev_slot_read(struct toride_dev *dev, char slot, uint64_t off, void *buf, size_t len,
                         size_t *got);

/* Dotted numeric versions ("1.10.2" > "1.9"): <0, 0, >0; TORIDE_DEV_EFORMAT never returned here,
 * malformed versions sort lowest. */
int toride_dev_version_cmp(const char *a, const char *b);

/* ---- bundles (vendor side and device side) ------------------------------------------------ */

/*
 * Bundle layout (docs/bundle.md):
 *   "TORIDEB1" | u32 big-endian manifest length | manifest (key=value lines) |
 *   64-byte Ed25519 signature over "toride-bundle-v1" NUL | u32 length | manifest | image
 * Manifest keys: format=1, target, version, image-size, image-sha256, key-id (first 8 bytes of
 * the signer's public key, hex); optional created, security-floor, description. Unknown keys are
 * refused. Versions: 1-4 dotted numbers of <= 9 digits; image size 1 byte..4 GiB.
 */
#define TORIDE_DEV_BUNDLE_MAGIC "TORIDEB1"
#define TORIDE_DEV_MAX_MANIFEST 4096

struct toride_dev_bundle_params {
	const char *target;
	const char *version;
	const char *security_floor; /* NULL = none */
	const char *description;    /* NULL = none */
	const char *created;        /* ISO 8601 UTC; NULL = none */
};

/* Builds the header (magic, manifest, signature) for an image whose size and SHA-256 are known.
 * The bundle is this header followed by the image bytes. `sk` is a libsodium Ed25519 secret key
 * (64 bytes). Writes at most cap bytes; *len receives the header length. */
int toride_dev_bundle_header(const struct toride_dev_bundle_params *p, uint64_t image_size,
                             const uint8_t image_sha256[32], const uint8_t sk[64], uint8_t *out,
                             size_t cap, size_t *len);

/* Parses and verifies a bundle header (magic, manifest, signature with one of keys[]). Returns
 * TORIDE_DEV_EINCOMPLETE until `len` holds the whole header, then 0 with *header_len and info. */
int toride_dev_bundle_verify_header(const uint8_t *buf, size_t len, const uint8_t (*keys)[32],
                                    size_t n_keys, struct toride_dev_bundle_info *info,
                                    size_t *header_len);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
