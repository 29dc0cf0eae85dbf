/*
 * Fuzz target: libtoride-device's password policy and blocklist loader on hostile bytes (a
 * password typed over telnet or HTTP is outside input; so is a blocklist file a device maker
 * ships).
 *
 * Input: the whole input, NUL-terminated, is the password (an embedded NUL ends it, as it would
 * for a C caller). If it contains '\n' within its first 40 bytes, the part before is also used
 * as the user name. The same bytes are then written to a file and loaded as a blocklist, and the
 * password is checked against that list too.
 * Checked properties: no crash or leak; an accepted password is at most 128 bytes of valid UTF-8
 * and not on the list; a refusal always has a one-sentence reason; a loaded list is sorted,
 * unique, lower-case, with entries of 1..128 bytes.
 *
 * The device is opened once on a POSIX directory in /tmp (not provisioned, so nothing is hashed)
 * with the shipped blocklist and the identifiers of a real-looking camera.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/internal.h"

#define FZ_MAX_INPUT 4096 /* far past the 128-byte password limit; bounds the temp file */
#define FZ_MAX_USER 40

static char fz_dir[64];
static char fz_list[128];
static struct toride_dev_vfs fz_vfs;
static struct toride_dev *fz_dev;
static struct toride_dev *fz_plain; /* hand-filled, carries the fuzzed blocklist */

static void
fz_cleanup(void)
{
	toride_dev_close(fz_dev);
	if (fz_plain != NULL) {
		dev_blocklist_free(fz_plain);
		free(fz_plain);
	}
	toride_dev_vfs_posix_close(&fz_vfs);
	unlink(fz_list);
	rmdir(fz_dir);
}

static void
fz_init(void)
{
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/toride-fuzz-pw-XXXXXX");
	if (mkdtemp(fz_dir) == NULL || toride_dev_vfs_posix_open(&fz_vfs, fz_dir) != 0)
		abort();
	snprintf(fz_list, sizeof(fz_list), "%s/list.txt", fz_dir);
	struct toride_dev_options opt = {
		.target = "fuzz-cam",
		.model = "DS-2CD2042WD",
		.serial = "DS-2CD2042WD-I20170101AAWR123456789",
		.mac = "44:19:b6:12:34:56",
		.blocklist_path = TORIDE_DATA_DIR "/device/banned-passwords.txt",
		.pwhash_ops = crypto_pwhash_OPSLIMIT_MIN,
		.pwhash_mem = crypto_pwhash_MEMLIMIT_MIN,
	};
	if (toride_dev_open(&fz_dev, &fz_vfs, &opt) != 0)
		abort();
	fz_plain = calloc(1, sizeof(*fz_plain));
	if (fz_plain == NULL)
		abort();
	fz_plain->min_password_len = 8;
	atexit(fz_cleanup);
}

static void
fz_check(struct toride_dev *dev, const char *user, const char *pw)
{
	char reason[96];
	memset(reason, 'x', sizeof(reason));
	int rc = toride_dev_password_check(dev, user, pw, reason, sizeof(reason));
	if (rc == 0) {
		if (strlen(pw) > 128 || reason[0] != '\0')
			abort();
		/* Accepted passwords are not on the list, in any case. */
		char low[129];
		size_t n = strlen(pw);
		for (size_t i = 0; i <= n; i++)
			low[i] = (char)(pw[i] >= 'A' && pw[i] <= 'Z' ? pw[i] - 'A' + 'a' : pw[i]);
		for (size_t i = 0; i < dev->n_blocklist; i++)
			if (strcmp(dev->blocklist[i], low) == 0)
				abort();
	} else if (rc == TORIDE_DEV_EPOLICY) {
		size_t n = strnlen(reason, sizeof(reason));
		if (n == 0 || n == sizeof(reason) || reason[0] < 'A' || reason[0] > 'Z')
			abort();
	} else {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char pw[FZ_MAX_INPUT + 1];
	char user[FZ_MAX_USER + 1];
	const char *u = "admin";
	if (fz_dev == NULL)
		fz_init();
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	memcpy(pw, data, size);
	pw[size] = '\0';
	const char *nl = memchr(pw, '\n', size < FZ_MAX_USER ? size : FZ_MAX_USER);
	if (nl != NULL) {
		memcpy(user, pw, (size_t)(nl - pw));
		user[nl - pw] = '\0';
		u = user;
	}
	fz_check(fz_dev, u, pw);
	fz_check(fz_dev, NULL, pw);
	if (nl != NULL)
		fz_check(fz_dev, u, nl + 1);

	/* The same bytes as a blocklist file. */
	FILE *f = fopen(fz_list, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	int rc = dev_blocklist_load(fz_plain, fz_list);
	if (rc != 0 && rc != TORIDE_DEV_ETOOBIG)
		abort();
	for (size_t i = 0; i < fz_plain->n_blocklist; i++) {
		const char *e = fz_plain->blocklist[i];
		size_t n = strlen(e);
		if (n == 0 || n > 128)
			abort();
		for (size_t j = 0; j < n; j++)
			if (e[j] >= 'A' && e[j] <= 'Z')
				abort();
		if (i > 0 && strcmp(fz_plain->blocklist[i - 1], e) >= 0)
			abort();
	}
	fz_check(fz_plain, u, pw);
	if (nl != NULL)
		fz_check(fz_plain, NULL, nl + 1);
	/* Every entry of a fuzzed list is refused as a password (when long enough to get there). */
	for (size_t i = 0; i < fz_plain->n_blocklist && i < 8; i++) {
		char reason[96];
		const char *e = fz_plain->blocklist[i];
		if (strlen(e) >= fz_plain->min_password_len &&
		    toride_dev_password_check(fz_plain, NULL, e, reason, sizeof(reason)) == 0)
			abort();
	}
	return 0;
}
