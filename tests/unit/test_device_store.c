/* libtoride-device storage: kv text, two-copy durable records, the POSIX vfs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device/internal.h"

struct fixture {
	char dir[64];
	struct toride_dev_vfs vfs;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/toride-devstore-XXXXXX");
	if (mkdtemp(f->dir) == NULL || toride_dev_vfs_posix_open(&f->vfs, f->dir) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	toride_dev_vfs_posix_close(&f->vfs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
test_kv_round_trip_escapes_and_sorts(void **state)
{
	(void)state;
	struct dev_kv kv = { 0 }, back = { 0 };
	assert_int_equal(dev_kv_set(&kv, "wifi.ssid", "home net"), 0);
	assert_int_equal(dev_kv_set(&kv, "a.note", "line1\nline2 \\ back\x01slash \xe6\x97\xa5"), 0);
	assert_int_equal(dev_kv_set(&kv, "empty", ""), 0);
	uint8_t *text;
	size_t len;
	assert_int_equal(dev_kv_serialize(&kv, &text, &len), 0);
	const char *want = "a.note=line1\\nline2 \\\\ back\\x01slash \xe6\x97\xa5\nempty=\nwifi.ssid=home net\n";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(text, want, len);
	assert_int_equal(dev_kv_parse(text, len, &back, NULL), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(dev_kv_get(&back, "a.note"), "line1\nline2 \\ back\x01slash \xe6\x97\xa5");
	assert_string_equal(dev_kv_get(&back, "empty"), "");
	free(text);
	/* remove */
	assert_int_equal(dev_kv_set(&back, "empty", NULL), 0);
	assert_null(dev_kv_get(&back, "empty"));
	assert_int_equal(back.n, 2);
	dev_kv_free(&kv);
	dev_kv_free(&back);
}

static void
test_kv_refuses_hostile_text(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t line;
	} bad[] = {
		{ "a=1\nb=2", 2 },              /* missing final newline: torn write */
		{ "a=1\na=2\n", 2 },            /* duplicate key */
		{ "A=1\n", 1 },                 /* upper case key */
		{ ".a=1\n", 1 },                /* key must start alphanumeric */
		{ "=1\n", 1 },                  /* empty key */
		{ "noequals\n", 1 },
		{ "a=\\q\n", 1 },               /* unknown escape */
		{ "a=\\x0\n", 1 },              /* short hex escape */
		{ "a=\\x00\n", 1 },             /* NUL would cut the value */
		{ "a=tab\there\n", 1 },         /* raw control byte */
		{ "a=cr\r\n", 1 },
		{ "#ok\n\nb=2\nc=\\\n", 4 },    /* backslash at end of line */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dev_kv kv;
		size_t line = 0;
		int err = dev_kv_parse((const uint8_t *)bad[i].text, strlen(bad[i].text), &kv, &line);
		if (err != TORIDE_DEV_EFORMAT || line != bad[i].line)
			fail_msg("case %zu (%s): err %d line %zu", i, bad[i].text, err, line);
		assert_int_equal(kv.n, 0);
	}
	/* caps: a value over TORIDE_DEV_MAX_VALUE, a key over TORIDE_DEV_MAX_KEY, too many entries */
	char *big = malloc(DEV_KV_MAX_TEXT + 16);
	struct dev_kv kv;
	size_t n = (size_t)snprintf(big, 8, "v=");
	memset(big + n, 'x', TORIDE_DEV_MAX_VALUE + 1);
	n += TORIDE_DEV_MAX_VALUE + 1;
	big[n++] = '\n';
	assert_int_equal(dev_kv_parse((uint8_t *)big, n, &kv, NULL), TORIDE_DEV_ETOOBIG);
	memset(big, 'k', TORIDE_DEV_MAX_KEY + 1);
	memcpy(big + TORIDE_DEV_MAX_KEY + 1, "=1\n", 3);
	assert_int_equal(dev_kv_parse((uint8_t *)big, TORIDE_DEV_MAX_KEY + 4, &kv, NULL), TORIDE_DEV_EFORMAT);
	n = 0;
	for (int i = 0; i <= DEV_KV_MAX_ENTRIES; i++)
		n += (size_t)snprintf(big + n, 32, "k%d=1\n", i);
	assert_int_equal(dev_kv_parse((uint8_t *)big, n, &kv, NULL), TORIDE_DEV_ETOOBIG);
	assert_int_equal(dev_kv_parse((uint8_t *)big, DEV_KV_MAX_TEXT + 1, &kv, NULL), TORIDE_DEV_ETOOBIG);
	free(big);
}

static int
read_config(struct fixture *f, struct dev_record *rec, char *out, size_t cap)
{
	struct dev_kv kv = { 0 };
	int err = dev_record_read_kv(&f->vfs, "config", rec, &kv);
	if (err == 0) {
		const char *v = dev_kv_get(&kv, "v");
		snprintf(out, cap, "%s", v ? v : "");
	}
	dev_kv_free(&kv);
	return err;
}

static int
write_config(struct fixture *f, struct dev_record *rec, const char *v)
{
	struct dev_kv kv = { 0 };
	int err = dev_kv_set(&kv, "v", v);
	if (err == 0)
		err = dev_record_write_kv(&f->vfs, "config", rec, &kv);
	dev_kv_free(&kv);
	return err;
}

static void
corrupt_byte(struct fixture *f, const char *name, off_t off)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void
test_record_alternates_copies_and_keeps_newest(void **state)
{
	struct fixture *f = *state;
	struct dev_record rec = { .gen = 0, .newest = -1 }, back;
	char v[64];
	assert_int_equal(read_config(f, &back, v, sizeof(v)), TORIDE_DEV_ENOENT);
	assert_int_equal(write_config(f, &rec, "one"), 0);
	assert_int_equal(rec.gen, 1);
	assert_int_equal(write_config(f, &rec, "two"), 0);
	assert_int_equal(write_config(f, &rec, "three"), 0);
	assert_int_equal(rec.gen, 3);
	/* both copies exist, the newest wins */
	struct stat st;
	char path[128];
	snprintf(path, sizeof(path), "%s/config.0", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/config.1", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(read_config(f, &back, v, sizeof(v)), 0);
	assert_string_equal(v, "three");
	assert_int_equal(back.gen, 3);
	/* a flipped bit in the newest copy: the previous generation is still there */
	corrupt_byte(f, back.newest == 0 ? "config.0" : "config.1", 17);
	assert_int_equal(read_config(f, &back, v, sizeof(v)), 0);
	assert_string_equal(v, "two");
	assert_int_equal(back.gen, 2);
	/* the next write replaces the corrupt copy, not the good one */
	assert_int_equal(write_config(f, &back, "four"), 0);
	assert_int_equal(back.gen, 3);
	assert_int_equal(read_config(f, &rec, v, sizeof(v)), 0);
	assert_string_equal(v, "four");
	/* both copies bad: corrupt, never a silent empty config */
	corrupt_byte(f, "config.0", 5);
	corrupt_byte(f, "config.1", 30);
	assert_int_equal(read_config(f, &rec, v, sizeof(v)), TORIDE_DEV_ECORRUPT);
}

static void
test_record_refuses_torn_and_foreign_files(void **state)
{
	struct fixture *f = *state;
	struct dev_record rec = { .gen = 0, .newest = -1 };
	char v[64];
	assert_int_equal(write_config(f, &rec, "kept"), 0);
	/* a torn second copy (truncated mid-write) and garbage: the good copy is read */
	char path[128];
	snprintf(path, sizeof(path), "%s/config.1", f->dir);
	FILE *fp = fopen(path, "wb");
	fwrite("TDR1\0\0\0\x10\0\0\0\0\0\0\0\x09" "abc", 1, 19, fp);
	fclose(fp);
	assert_int_equal(read_config(f, &rec, v, sizeof(v)), 0);
	assert_string_equal(v, "kept");
	/* a valid checksum over text that is not kv is still corrupt */
	struct dev_record r2 = { .gen = 0, .newest = -1 };
	assert_int_equal(dev_record_write(&f->vfs, "other", &r2, (const uint8_t *)"no equals\n", 10), 0);
	struct dev_kv kv;
	assert_int_equal(dev_record_read_kv(&f->vfs, "other", &r2, &kv), TORIDE_DEV_ECORRUPT);
	/* oversized payload is refused before writing */
	uint8_t *big = calloc(1, DEV_RECORD_MAX_PAYLOAD + 1);
	assert_int_equal(dev_record_write(&f->vfs, "big", &r2, big, DEV_RECORD_MAX_PAYLOAD + 1), TORIDE_DEV_ETOOBIG);
	free(big);
}

/* A forged copy claiming generation 2^64-1 must not win over the real one, and the next write
 * must not wrap to generation 0 (which the reader would refuse, losing the setting). */
static void
test_record_forged_generation_cannot_win(void **state)
{
	struct fixture *f = *state;
	struct dev_record rec = { .gen = 0, .newest = -1 };
	char v[64];
	assert_int_equal(write_config(f, &rec, "real"), 0);
	/* build a well-formed copy with a huge generation in config.1 */
	static const char payload[] = "v=forged\n";
	uint8_t file[16 + 9 + 32];
	memcpy(file, "TDR1\0\0\0\x09", 8);
	memset(file + 8, 0xff, 8);
	memcpy(file + 16, payload, 9);
	crypto_generichash(file + 25, 32, file, 25, NULL, 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/config.1", f->dir);
	FILE *fp = fopen(path, "wb");
	assert_int_equal(fwrite(file, 1, sizeof(file), fp), sizeof(file));
	fclose(fp);
	assert_int_equal(read_config(f, &rec, v, sizeof(v)), 0);
	assert_string_equal(v, "real");
	assert_int_equal(write_config(f, &rec, "next"), 0);
	assert_int_equal(read_config(f, &rec, v, sizeof(v)), 0);
	assert_string_equal(v, "next");
}

static void
test_vfs_confines_names_to_the_directory(void **state)
{
	struct fixture *f = *state;
	void *fh;
	const char *bad[] = { "../escape", "a/b", "", ".", "..", "x y", "semi;colon" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(f->vfs.open(f->vfs.ctx, bad[i], TORIDE_DEV_VFS_WRITE, &fh), TORIDE_DEV_EINVAL);
	assert_int_equal(f->vfs.open(f->vfs.ctx, "missing", TORIDE_DEV_VFS_READ, &fh), TORIDE_DEV_ENOENT);
	assert_int_equal(f->vfs.rename(f->vfs.ctx, "missing", "../x"), TORIDE_DEV_EINVAL);
	assert_int_equal(f->vfs.remove(f->vfs.ctx, "missing"), TORIDE_DEV_ENOENT);
	/* a symlink planted in the state directory is not followed */
	char path[128];
	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(f->vfs.open(f->vfs.ctx, "link", TORIDE_DEV_VFS_READ, &fh), TORIDE_DEV_EIO);
	/* write, size, read back */
	assert_int_equal(dev_vfs_write_file(&f->vfs, "blob", "hello", 5), 0);
	assert_int_equal(f->vfs.open(f->vfs.ctx, "blob", TORIDE_DEV_VFS_READ, &fh), 0);
	uint64_t size;
	char buf[8];
	size_t got;
	assert_int_equal(f->vfs.size(f->vfs.ctx, fh, &size), 0);
	assert_int_equal(size, 5);
	assert_int_equal(f->vfs.read(f->vfs.ctx, fh, 1, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 4);
	assert_memory_equal(buf, "ello", 4);
	assert_int_equal(f->vfs.close(f->vfs.ctx, fh), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_round_trip_escapes_and_sorts),
		cmocka_unit_test(test_kv_refuses_hostile_text),
		cmocka_unit_test_setup_teardown(test_record_alternates_copies_and_keeps_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_refuses_torn_and_foreign_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_forged_generation_cannot_win, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vfs_confines_names_to_the_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
