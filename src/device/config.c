/*
 * Settings (R4): one kv record, "config". A change of any number of keys is one durable record
 * write, so a power cut leaves all of the old settings or all of the new ones.
 */
#include <string.h>

#include "device/internal.h"

int
toride_dev_config_get(struct toride_dev *dev, const char *key, char *value, size_t cap)
{
	if (dev == NULL || key == NULL || value == NULL)
		return TORIDE_DEV_EINVAL;
	const char *v = dev_kv_get(&dev->config, key);
	if (v == NULL)
		return TORIDE_DEV_ENOENT;
	return dev_copy_str(value, cap, v);
}

int
toride_dev_config_set(struct toride_dev *dev, const char *token, const char *const *keys,
                      const char *const *values, size_t n)
{
	struct dev_kv next = { 0 };
	if (dev == NULL || token == NULL || (n > 0 && (keys == NULL || values == NULL)))
		return TORIDE_DEV_EINVAL;
	int err = toride_dev_session_check(dev, token, TORIDE_DEV_OP_CONFIG_WRITE, NULL);
	if (err != 0)
		return err;
	/* Build the new map aside: the live one changes only after the write is durable. */
	err = dev_kv_copy(&next, &dev->config);
	for (size_t i = 0; err == 0 && i < n; i++) {
		if (keys[i] == NULL)
			err = TORIDE_DEV_EINVAL;
		else
			err = dev_kv_set(&next, keys[i], values[i]);
	}
	if (err == 0)
		err = dev_record_write_kv(dev->vfs, "config", &dev->rec_config, &next);
	if (err == 0) {
		struct dev_kv old = dev->config;
		dev->config = next;
		memset(&next, 0, sizeof(next));
		dev_kv_free(&old);
	}
	dev_kv_free(&next);
	return err;
}
