/*
 * libtoride-device internals shared by the library's files (src/device/ (every .c file there)). Not installed.
 *
 * Layering (docs/device.md):
 *   kv.c      key=value text: the one format of configuration, accounts, boot state and manifests
 *   record.c  durable named records: two checksummed copies, temp file + fsync + rename + dir fsync
 *   device.c  open/close, provisioning, factory reset, status, strerror
 *   config.c  settings (record "config")
 *   auth.c    accounts (record "accounts"), sessions, access check, login
 *   throttle.c per-source and per-account failure counters (memory only)
 *   policy.c  password policy and blocklist
 *   initial.c unique initial password and label
 *   bundle.c  bundle header build/parse/verify (sans-IO)
 *   update.c  streaming install into the inactive slot, boot counting, rollback, confirm
 */
#ifndef TORIDE_DEVICE_INTERNAL_H
#define TORIDE_DEVICE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "toride/device.h"

/* ---- key=value text ----------------------------------------------------------------------- */

/*
 * One entry per line: key=value\n. Keys match [a-z0-9][a-z0-9._-]{0,63}. Values are bytes
 * 0x20..0x7e and 0x80..0xff except backslash, which escapes: \\ \n \xHH. Blank lines and lines
 * starting with '#' are skipped. Duplicate keys are refused. Serialisation sorts keys, so equal
 * maps give equal bytes.
 */
#define DEV_KV_MAX_ENTRIES 256  /* settings + accounts + slots; far above a real device's needs */
#define DEV_KV_MAX_TEXT 65536   /* whole text; bounds a hostile file's cost */

struct dev_kv_entry {
	char *key;
	char *value;
};

struct dev_kv {
	struct dev_kv_entry *e;
	size_t n, cap;
};

/* 0, TORIDE_DEV_EFORMAT (with *line set to the 1-based bad line when line != NULL),
 * TORIDE_DEV_ETOOBIG, TORIDE_DEV_ENOMEM. On error kv is left empty. */
int dev_kv_parse(const uint8_t *buf, size_t len, struct dev_kv *kv, size_t *line);
/* Malloc'd text in *out (caller frees). */
int dev_kv_serialize(const struct dev_kv *kv, uint8_t **out, size_t *len);
const char *dev_kv_get(const struct dev_kv *kv, const char *key);
/* value NULL removes. Validates key and value (TORIDE_DEV_EINVAL, TORIDE_DEV_ETOOBIG). */
int dev_kv_set(struct dev_kv *kv, const char *key, const char *value);
int dev_kv_copy(struct dev_kv *dst, const struct dev_kv *src);
/* Frees and wipes the values (they may hold hashes or secrets). */
void dev_kv_free(struct dev_kv *kv);
bool dev_kv_key_valid(const char *key);

/* ---- durable records ---------------------------------------------------------------------- */

/*
 * Record `name` lives in files name.0 and name.1. File layout:
 *   "TDR1" | u32 BE payload length | u64 BE generation | payload | BLAKE2b-256 of all before it
 * A write goes to the copy that does not hold the newest generation, as name.N.tmp, sync, rename
 * to name.N, sync_dir; so a crash leaves the newest complete copy readable. A read returns the
 * valid copy with the highest generation.
 */
#define DEV_RECORD_MAX_PAYLOAD DEV_KV_MAX_TEXT

struct dev_record {
	uint64_t gen;  /* generation of the newest valid copy; 0 = none */
	int newest;    /* 0 or 1: which copy holds gen; -1 = none */
};

/* *data malloc'd (caller frees; dev_record_read wipes nothing). TORIDE_DEV_ENOENT if no copy
 * exists, TORIDE_DEV_ECORRUPT if copies exist but none is valid. */
int dev_record_read(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                    uint8_t **data, size_t *len);
/* Durable write; on 0 the data survives any later crash. Updates rec. */
int dev_record_write(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                     const uint8_t *data, size_t len);
/* Read/write a record as key=value text. */
int dev_record_read_kv(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                       struct dev_kv *kv);
int dev_record_write_kv(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec,
                        const struct dev_kv *kv);
/* Removes both copies (factory reset); durable on return. */
int dev_record_remove(const struct toride_dev_vfs *vfs, const char *name, struct dev_record *rec);

/* Whole small file helpers over the vfs (used for slots and tests). */
int dev_vfs_write_file(const struct toride_dev_vfs *vfs, const char *name, const void *data,
                       size_t len);

/* ---- the device --------------------------------------------------------------------------- */

#define DEV_MAX_ACCOUNTS 16       /* owner, a few users, service accounts */
#define DEV_MAX_SESSIONS 32       /* concurrent admin sessions over all interfaces */
#define DEV_MAX_THROTTLE 512      /* tracked sources + user names; oldest idle entry is reused */
#define DEV_MAX_SOURCE 64         /* "console", IPv6 text with zone */
#define DEV_MAX_IDENT 64          /* model / serial / mac / target */

struct dev_account {
	char user[TORIDE_DEV_MAX_USER + 1];
	enum toride_dev_role role;
	bool must_change;
	char hash[crypto_pwhash_STRBYTES]; /* Argon2id encoded string */
};

struct dev_session {
	bool in_use;
	char token[TORIDE_DEV_TOKEN_LEN + 1];
	char user[TORIDE_DEV_MAX_USER + 1];
	bool must_change;
	uint64_t last_used_ms;
};

struct dev_throttle_entry {
	bool in_use;
	bool is_source;        /* else: a user name (known or not, so no enumeration) */
	char key[DEV_MAX_SOURCE + 1];
	unsigned failures;
	uint64_t next_ms;      /* earliest time the next attempt is considered */
	uint64_t locked_until_ms;
	uint64_t last_ms;
};

struct dev_slot {
	char version[TORIDE_DEV_MAX_VERSION];
	char security_floor[TORIDE_DEV_MAX_VERSION];
	uint64_t size;
	uint8_t sha256[32];
	bool present;
};

struct dev_boot {
	char active;           /* confirmed slot, 'a' or 'b' */
	char trial;            /* slot on trial, or 0 */
	unsigned tries_left;
	char running;          /* what toride_dev_boot chose this boot, or 0 before */
	struct dev_slot slot[2];
	char floor[TORIDE_DEV_MAX_VERSION];
	char rolled_back[TORIDE_DEV_MAX_VERSION]; /* last abandoned version, "" if none */
};

struct toride_dev {
	const struct toride_dev_vfs *vfs;

	/* options, copied */
	char target[DEV_MAX_IDENT + 1], model[DEV_MAX_IDENT + 1], serial[DEV_MAX_IDENT + 1],
	    mac[DEV_MAX_IDENT + 1];
	unsigned long long pwhash_ops;
	size_t pwhash_mem;
	size_t min_password_len;
	unsigned boot_tries;
	uint32_t session_ttl_ms;
	struct toride_dev_throttle_policy throttle;
	uint64_t (*now_ms)(void *ctx);
	void *clock_ctx;

	/* blocklist: sorted, lower-cased, unique */
	char **blocklist;
	size_t n_blocklist;

	/* record "factory" */
	struct dev_record rec_factory;
	bool provisioned;
	enum toride_dev_initial_mode initial_mode;
	char first_user[TORIDE_DEV_MAX_USER + 1];
	uint8_t secret[32];
	char default_hash[crypto_pwhash_STRBYTES]; /* DEFAULT mode */
	uint8_t keys[TORIDE_DEV_MAX_KEYS][32];
	size_t n_keys;

	/* record "accounts" */
	struct dev_record rec_accounts;
	struct dev_account accounts[DEV_MAX_ACCOUNTS];
	size_t n_accounts;

	/* record "config" */
	struct dev_record rec_config;
	struct dev_kv config;

	/* record "boot" */
	struct dev_record rec_boot;
	struct dev_boot boot;
	bool update_busy;

	/* memory only */
	struct dev_session sessions[DEV_MAX_SESSIONS];
	struct dev_throttle_entry throttle_tab[DEV_MAX_THROTTLE];
};

uint64_t dev_now(struct toride_dev *dev);

/* Persist the in-memory accounts / boot state (one durable record write each). */
int dev_accounts_save(struct toride_dev *dev);
int dev_accounts_load(struct toride_dev *dev, const struct dev_kv *kv);
int dev_boot_save(struct toride_dev *dev);
int dev_boot_load(struct toride_dev *dev, const struct dev_kv *kv);
/* Provisioning (update.c): slot-a already holds the factory image; hash it and write the first
 * boot record (active 'a', floor = factory_version). */
int dev_boot_init(struct toride_dev *dev, const char *factory_version);

/* Argon2id with the device's limits. */
int dev_hash_password(struct toride_dev *dev, const char *password,
                      char out[crypto_pwhash_STRBYTES]);

/* Throttle (throttle.c). Defaults: docs/device.md. */
void dev_throttle_defaults(struct toride_dev_throttle_policy *p);
/* check: 0 or TORIDE_DEV_ETHROTTLED with *retry_after_ms. */
int dev_throttle_check(struct toride_dev *dev, const char *source, const char *user,
                       uint32_t *retry_after_ms);
void dev_throttle_failure(struct toride_dev *dev, const char *source, const char *user);
void dev_throttle_success(struct toride_dev *dev, const char *source, const char *user);

/* Policy (policy.c). */
int dev_blocklist_load(struct toride_dev *dev, const char *path);
void dev_blocklist_free(struct toride_dev *dev);

/* Sessions (auth.c): end every session of `user` except `keep_token` (may be NULL). */
void dev_sessions_end_user(struct toride_dev *dev, const char *user, const char *keep_token);
/* Resets accounts to the factory state (factory record must be loaded). Durable. */
int dev_accounts_factory(struct toride_dev *dev);

/* Bundles (bundle.c): parse without verifying the signature (for `toride bundle info`). */
int dev_bundle_parse_header(const uint8_t *buf, size_t len, struct toride_dev_bundle_info *info,
                            size_t *header_len, size_t *manifest_off, size_t *manifest_len);

/* Small helpers */
int dev_copy_str(char *dst, size_t cap, const char *src); /* TORIDE_DEV_ETOOBIG if it does not fit */
void dev_hex(const uint8_t *in, size_t n, char *out);     /* out: 2n+1 */
int dev_unhex(const char *in, uint8_t *out, size_t n);    /* exactly 2n hex digits */
int dev_hexval(char c);                                   /* 0..15, or -1 */

#endif
