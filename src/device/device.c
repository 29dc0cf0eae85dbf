/*
 * The device object: options, loading every record at open, factory provisioning and the owner's
 * factory reset. Records: "factory" (written last at provisioning: its presence means the device
 * is provisioned), "accounts", "config", "boot". docs/device.md.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/internal.h"

#define DEFAULT_PWHASH_MEM (16u * 1024u * 1024u) /* Argon2id memory that a small SoC can spare */
#define DEFAULT_MIN_PASSWORD 10                  /* NIST SP 800-63B asks >= 8; ETSI: "not guessable" */
#define DEFAULT_BOOT_TRIES 3                     /* a flaky first boot gets two more chances */
#define DEFAULT_SESSION_TTL_MS (15u * 60u * 1000u)

const char *
toride_dev_strerror(int err)
{
	switch (err) {
	case TORIDE_DEV_OK: return "success";
	case TORIDE_DEV_EINVAL: return "invalid argument";
	case TORIDE_DEV_ENOMEM: return "out of memory";
	case TORIDE_DEV_EIO: return "storage input/output error";
	case TORIDE_DEV_ENOENT: return "not found";
	case TORIDE_DEV_ECORRUPT: return "stored data is corrupt";
	case TORIDE_DEV_EDENIED: return "access denied";
	case TORIDE_DEV_ETHROTTLED: return "too many failed attempts; try again later";
	case TORIDE_DEV_EMUSTCHANGE: return "the factory password must be changed first";
	case TORIDE_DEV_EPOLICY: return "password refused by the password policy";
	case TORIDE_DEV_ESIGNATURE: return "bundle signature is missing or not trusted";
	case TORIDE_DEV_ETARGET: return "bundle is for another device type";
	case TORIDE_DEV_EDOWNGRADE: return "bundle version is not newer than the installed firmware";
	case TORIDE_DEV_EFORMAT: return "malformed input";
	case TORIDE_DEV_EHASH: return "image does not match the signed manifest";
	case TORIDE_DEV_EBUSY: return "an update is already in progress or waiting for confirmation";
	case TORIDE_DEV_ETOOBIG: return "size limit exceeded";
	case TORIDE_DEV_EEXIST: return "already exists";
	case TORIDE_DEV_ECRYPTO: return "cryptography library failure";
	case TORIDE_DEV_ESTATE: return "operation not valid in the current state";
	case TORIDE_DEV_EINCOMPLETE: return "more input needed";
	default: return "unknown error";
	}
}

uint64_t
dev_now(struct toride_dev *dev)
{
	if (dev->now_ms != NULL)
		return dev->now_ms(dev->clock_ctx);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
copy_opt(char *dst, size_t cap, const char *src)
{
	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	return dev_copy_str(dst, cap, src) == 0 ? 0 : TORIDE_DEV_EINVAL;
}

/* ---- record "factory" ---------------------------------------------------------------------- */

static int
factory_load(struct toride_dev *dev, const struct dev_kv *kv)
{
	const char *mode = dev_kv_get(kv, "mode");
	const char *user = dev_kv_get(kv, "user");
	const char *secret = dev_kv_get(kv, "secret");
	if (mode == NULL || user == NULL || secret == NULL ||
	    dev_copy_str(dev->first_user, sizeof(dev->first_user), user) != 0 ||
	    dev_unhex(secret, dev->secret, sizeof(dev->secret)) != 0)
		return TORIDE_DEV_ECORRUPT;
	if (strcmp(mode, "unique") == 0)
		dev->initial_mode = TORIDE_DEV_INITIAL_UNIQUE;
	else if (strcmp(mode, "default") == 0) {
		const char *h = dev_kv_get(kv, "default-hash");
		dev->initial_mode = TORIDE_DEV_INITIAL_DEFAULT;
		if (h == NULL || dev_copy_str(dev->default_hash, sizeof(dev->default_hash), h) != 0)
			return TORIDE_DEV_ECORRUPT;
	} else
		return TORIDE_DEV_ECORRUPT;
	dev->n_keys = 0;
	for (size_t i = 0; i < TORIDE_DEV_MAX_KEYS; i++) {
		char k[32];
		snprintf(k, sizeof(k), "key.%zu", i);
		const char *v = dev_kv_get(kv, k);
		if (v == NULL)
			break;
		if (dev_unhex(v, dev->keys[i], 32) != 0)
			return TORIDE_DEV_ECORRUPT;
		dev->n_keys++;
	}
	if (dev->n_keys == 0)
		return TORIDE_DEV_ECORRUPT;
	dev->provisioned = true;
	return 0;
}

static int
factory_save(struct toride_dev *dev)
{
	struct dev_kv kv = { 0 };
	char hex[2 * 32 + 1];
	int err = dev_kv_set(&kv, "mode",
	                     dev->initial_mode == TORIDE_DEV_INITIAL_UNIQUE ? "unique" : "default");
	if (err == 0)
		err = dev_kv_set(&kv, "user", dev->first_user);
	dev_hex(dev->secret, sizeof(dev->secret), hex);
	if (err == 0)
		err = dev_kv_set(&kv, "secret", hex);
	if (err == 0 && dev->initial_mode == TORIDE_DEV_INITIAL_DEFAULT)
		err = dev_kv_set(&kv, "default-hash", dev->default_hash);
	for (size_t i = 0; err == 0 && i < dev->n_keys; i++) {
		char k[32];
		snprintf(k, sizeof(k), "key.%zu", i);
		dev_hex(dev->keys[i], 32, hex);
		err = dev_kv_set(&kv, k, hex);
	}
	if (err == 0)
		err = dev_record_write_kv(dev->vfs, "factory", &dev->rec_factory, &kv);
	sodium_memzero(hex, sizeof(hex));
	dev_kv_free(&kv);
	return err;
}

/* ---- open / close -------------------------------------------------------------------------- */

/* Reads a kv record; a missing record is an empty map. */
static int
load_kv(struct toride_dev *dev, const char *name, struct dev_record *rec, struct dev_kv *kv,
        bool *present)
{
	int err = dev_record_read_kv(dev->vfs, name, rec, kv);
	*present = err == 0;
	if (err == TORIDE_DEV_ENOENT) {
		memset(kv, 0, sizeof(*kv));
		rec->gen = 0;
		rec->newest = -1;
		return 0;
	}
	return err;
}

int
toride_dev_open(struct toride_dev **out, const struct toride_dev_vfs *vfs,
                const struct toride_dev_options *opt)
{
	struct toride_dev *dev = NULL;
	struct dev_kv kv = { 0 };
	bool present;
	int err;

	if (out == NULL || vfs == NULL || opt == NULL || opt->target == NULL || opt->target[0] == '\0')
		return TORIDE_DEV_EINVAL;
	*out = NULL;
	if (sodium_init() < 0)
		return TORIDE_DEV_ECRYPTO;
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return TORIDE_DEV_ENOMEM;
	dev->vfs = vfs;
	err = copy_opt(dev->target, sizeof(dev->target), opt->target);
	if (err == 0)
		err = copy_opt(dev->model, sizeof(dev->model), opt->model);
	if (err == 0)
		err = copy_opt(dev->serial, sizeof(dev->serial), opt->serial);
	if (err == 0)
		err = copy_opt(dev->mac, sizeof(dev->mac), opt->mac);
	if (err != 0)
		goto out;
	dev->pwhash_ops = opt->pwhash_ops ? opt->pwhash_ops : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	dev->pwhash_mem = opt->pwhash_mem ? opt->pwhash_mem : DEFAULT_PWHASH_MEM;
	if (dev->pwhash_ops < crypto_pwhash_OPSLIMIT_MIN || dev->pwhash_mem < crypto_pwhash_MEMLIMIT_MIN) {
		err = TORIDE_DEV_EINVAL;
		goto out;
	}
	dev->min_password_len = opt->min_password_len ? opt->min_password_len : DEFAULT_MIN_PASSWORD;
	dev->boot_tries = opt->boot_tries ? opt->boot_tries : DEFAULT_BOOT_TRIES;
	dev->session_ttl_ms = opt->session_ttl_ms ? opt->session_ttl_ms : DEFAULT_SESSION_TTL_MS;
	if (opt->throttle != NULL)
		dev->throttle = *opt->throttle;
	else
		dev_throttle_defaults(&dev->throttle);
	dev->now_ms = opt->now_ms;
	dev->clock_ctx = opt->clock_ctx;
	dev->rec_factory.newest = dev->rec_accounts.newest = -1;
	dev->rec_config.newest = dev->rec_boot.newest = -1;

	if (opt->blocklist_path != NULL) {
		err = dev_blocklist_load(dev, opt->blocklist_path);
		if (err != 0)
			goto out;
	}

	err = load_kv(dev, "factory", &dev->rec_factory, &kv, &present);
	if (err == 0 && present)
		err = factory_load(dev, &kv);
	dev_kv_free(&kv);
	if (err != 0)
		goto out;

	err = load_kv(dev, "accounts", &dev->rec_accounts, &kv, &present);
	if (err == 0 && present)
		err = dev_accounts_load(dev, &kv);
	dev_kv_free(&kv);
	if (err != 0)
		goto out;

	err = load_kv(dev, "config", &dev->rec_config, &dev->config, &present);
	if (err != 0)
		goto out;

	err = load_kv(dev, "boot", &dev->rec_boot, &kv, &present);
	if (err == 0 && present)
		err = dev_boot_load(dev, &kv);
	dev_kv_free(&kv);
	if (err != 0)
		goto out;
	/* A provisioned device has accounts and a boot state; one without them was tampered with. */
	if (dev->provisioned && (dev->n_accounts == 0 || dev->rec_boot.gen == 0)) {
		err = TORIDE_DEV_ECORRUPT;
		goto out;
	}
	*out = dev;
	dev = NULL;
out:
	toride_dev_close(dev);
	return err;
}

void
toride_dev_close(struct toride_dev *dev)
{
	if (dev == NULL)
		return;
	dev_blocklist_free(dev);
	dev_kv_free(&dev->config);
	sodium_memzero(dev, sizeof(*dev));
	free(dev);
}

/* ---- provisioning and factory reset -------------------------------------------------------- */

int
toride_dev_provision(struct toride_dev *dev, const struct toride_dev_provision *p,
                     char *password_out, size_t cap)
{
	if (dev == NULL || p == NULL || p->user == NULL || p->firmware_version == NULL ||
	    p->keys == NULL || p->n_keys == 0 || p->n_keys > TORIDE_DEV_MAX_KEYS)
		return TORIDE_DEV_EINVAL;
	if (p->mode != TORIDE_DEV_INITIAL_UNIQUE && p->mode != TORIDE_DEV_INITIAL_DEFAULT)
		return TORIDE_DEV_EINVAL;
	if (p->mode == TORIDE_DEV_INITIAL_DEFAULT && (p->default_password == NULL || p->default_password[0] == '\0'))
		return TORIDE_DEV_EINVAL;
	if (p->mode == TORIDE_DEV_INITIAL_UNIQUE && (password_out == NULL || cap <= TORIDE_DEV_INITIAL_PASSWORD_LEN))
		return TORIDE_DEV_EINVAL;
	if (dev->provisioned)
		return TORIDE_DEV_EEXIST;
	int err = dev_copy_str(dev->first_user, sizeof(dev->first_user), p->user);
	if (err != 0)
		return TORIDE_DEV_EINVAL;

	dev->initial_mode = p->mode;
	if (p->secret != NULL)
		memcpy(dev->secret, p->secret, sizeof(dev->secret));
	else
		randombytes_buf(dev->secret, sizeof(dev->secret));
	memcpy(dev->keys, p->keys, p->n_keys * sizeof(dev->keys[0]));
	dev->n_keys = p->n_keys;
	if (p->mode == TORIDE_DEV_INITIAL_DEFAULT) {
		err = dev_hash_password(dev, p->default_password, dev->default_hash);
		if (err != 0)
			goto out;
	}

	/* Order matters for a power cut at the factory: everything else first, the factory record
	 * last, so a half-provisioned device is simply "not provisioned" and provisioning reruns. */
	err = dev_boot_init(dev, p->firmware_version);
	if (err == 0)
		err = dev_accounts_factory(dev);
	if (err == 0) {
		dev_kv_free(&dev->config);
		err = dev_record_write_kv(dev->vfs, "config", &dev->rec_config, &dev->config);
	}
	if (err == 0)
		err = factory_save(dev);
	if (err != 0)
		goto out;
	dev->provisioned = true;
	if (p->mode == TORIDE_DEV_INITIAL_UNIQUE)
		err = toride_dev_initial_password(dev->secret, password_out, cap);
out:
	if (err != 0 && !dev->provisioned)
		sodium_memzero(dev->secret, sizeof(dev->secret));
	return err;
}

int
toride_dev_factory_reset(struct toride_dev *dev)
{
	if (dev == NULL)
		return TORIDE_DEV_EINVAL;
	if (!dev->provisioned)
		return TORIDE_DEV_ESTATE;
	/* Settings first: a cut between the two writes leaves factory settings with the owner's
	 * password, which the owner can still use; the reverse order could not be worse either. */
	struct dev_kv empty = { 0 };
	int err = dev_record_write_kv(dev->vfs, "config", &dev->rec_config, &empty);
	if (err != 0)
		return err;
	dev_kv_free(&dev->config);
	err = dev_accounts_factory(dev);
	if (err != 0)
		return err;
	for (size_t i = 0; i < DEV_MAX_SESSIONS; i++)
		sodium_memzero(&dev->sessions[i], sizeof(dev->sessions[i]));
	return 0;
}
