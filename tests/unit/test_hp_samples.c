/*
 * The samples directory: samples stored once under their SHA-256 (checked against known
 * digests), never executable (0400 in a 0700 directory), no temporary files left behind, and
 * hp_elf_arch naming e_machine of real binaries and hand-built headers of IoT architectures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "honeypot/hp.h"

static char tmpdir[64];
static char sdir[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_hp_samples.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sdir, sizeof sdir, "%s/samples", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' && rm -rf '%s'", tmpdir, tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_put_hashes_and_modes(void **state)
{
	(void)state;
	struct hp_samples *s = NULL;
	char err[256];
	assert_int_equal(hp_samples_open(&s, sdir, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(sdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* "abc": the FIPS 180 / RFC 1321 test vector, digests known independently */
	struct hp_sample_info info;
	bool is_new = false;
	assert_int_equal(hp_samples_put(s, (const uint8_t *)"abc", 3, &info, &is_new), 0);
	assert_true(is_new);
	assert_string_equal(info.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(info.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_string_equal(info.md5, "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(info.size, 3);
	assert_string_equal(info.arch, "");
	char want[256];
	snprintf(want, sizeof want, "%s/%s", sdir, info.sha256);
	assert_string_equal(info.path, want);

	assert_int_equal(stat(info.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0400); /* never executable, never writable */
	assert_int_equal(st.st_size, 3);
	FILE *f = fopen(info.path, "rb");
	char got[8] = { 0 };
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof got, f), 3);
	fclose(f);
	assert_memory_equal(got, "abc", 3);

	/* the same bytes again: not new, nothing rewritten, no second file */
	assert_int_equal(hp_samples_put(s, (const uint8_t *)"abc", 3, &info, &is_new), 0);
	assert_false(is_new);
	assert_int_equal(count_entries(sdir), 1);

	/* empty sample is a sample too (a dropper that wrote nothing) */
	assert_int_equal(hp_samples_put(s, NULL, 0, &info, &is_new), 0);
	assert_true(is_new);
	assert_string_equal(info.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(count_entries(sdir), 2); /* no temporary files left */
	hp_samples_close(s);
}

static void
test_existing_dir_is_tightened(void **state)
{
	(void)state;
	char d[160];
	snprintf(d, sizeof d, "%s/loose", tmpdir);
	assert_int_equal(mkdir(d, 0755), 0);
	struct hp_samples *s = NULL;
	char err[256];
	assert_int_equal(hp_samples_open(&s, d, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	hp_samples_close(s);

	/* a path under a regular file cannot be a samples directory */
	snprintf(d, sizeof d, "%s/file", tmpdir);
	FILE *f = fopen(d, "w");
	assert_non_null(f);
	fclose(f);
	char sub[200];
	snprintf(sub, sizeof sub, "%s/x", d);
	assert_int_equal(hp_samples_open(&s, sub, err, sizeof err), TORIDE_EIO);
	assert_null(s);
	assert_non_null(strstr(err, sub));
}

/* An ELF header: class, data encoding and e_machine; the rest zero. */
static void
elf_header(uint8_t *h, size_t n, uint8_t cls, uint8_t data, uint16_t machine)
{
	memset(h, 0, n);
	memcpy(h, "\x7f" "ELF", 4);
	h[4] = cls;
	h[5] = data;
	h[6] = 1;
	h[16] = 2; /* ET_EXEC */
	if (data == 1) {
		h[18] = (uint8_t)(machine & 0xff);
		h[19] = (uint8_t)(machine >> 8);
	} else {
		h[18] = (uint8_t)(machine >> 8);
		h[19] = (uint8_t)(machine & 0xff);
	}
}

static void
test_elf_arch(void **state)
{
	(void)state;
	uint8_t h[64];
	static const struct {
		uint8_t cls, data;
		uint16_t machine;
		const char *name;
	} cases[] = {
		{ 1, 1, 40, "ARM" },      { 1, 2, 8, "MIPS" },     { 1, 1, 8, "MIPS" },
		{ 2, 1, 183, "AArch64" }, { 1, 2, 20, "PowerPC" }, { 1, 2, 2, "SPARC" },
		{ 1, 1, 3, "x86" },       { 2, 1, 62, "x86-64" },  { 1, 1, 42, "SuperH" },
		{ 1, 2, 4, "m68k" },      { 1, 1, 93, "ARC" },     { 2, 1, 243, "RISC-V" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		elf_header(h, sizeof h, cases[i].cls, cases[i].data, cases[i].machine);
		assert_string_equal(hp_elf_arch(h, sizeof h), cases[i].name);
	}
	/* bad class, bad data encoding, bad version, unknown machine, short, not ELF */
	elf_header(h, sizeof h, 3, 1, 40);
	assert_string_equal(hp_elf_arch(h, sizeof h), "");
	elf_header(h, sizeof h, 1, 0, 40);
	assert_string_equal(hp_elf_arch(h, sizeof h), "");
	elf_header(h, sizeof h, 1, 1, 40);
	h[6] = 2;
	assert_string_equal(hp_elf_arch(h, sizeof h), "");
	elf_header(h, sizeof h, 1, 1, 0x7777);
	assert_string_equal(hp_elf_arch(h, sizeof h), "");
	elf_header(h, sizeof h, 1, 1, 40);
	assert_string_equal(hp_elf_arch(h, 19), "");
	assert_string_equal(hp_elf_arch((const uint8_t *)"#!/bin/sh\nwget x\n", 17), "");
	assert_string_equal(hp_elf_arch(NULL, 0), "");
}

static void
test_real_binary(void **state)
{
	(void)state;
	/* the machine's own busybox: a real ELF of the build architecture */
	FILE *f = fopen("/bin/busybox", "rb");
	if (f == NULL)
		skip();
	uint8_t h[64];
	size_t n = fread(h, 1, sizeof h, f);
	fclose(f);
	assert_int_equal(n, sizeof h);
#if defined(__x86_64__)
	assert_string_equal(hp_elf_arch(h, n), "x86-64");
#elif defined(__aarch64__)
	assert_string_equal(hp_elf_arch(h, n), "AArch64");
#else
	assert_string_not_equal(hp_elf_arch(h, n), "");
#endif

	/* stored with its arch recorded */
	struct hp_samples *s = NULL;
	char err[256];
	struct hp_sample_info info;
	bool is_new;
	assert_int_equal(hp_samples_open(&s, sdir, err, sizeof err), 0);
	assert_int_equal(hp_samples_put(s, h, n, &info, &is_new), 0);
	assert_string_equal(info.arch, hp_elf_arch(h, n));
	hp_samples_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_hashes_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_dir_is_tightened, setup, teardown),
		cmocka_unit_test(test_elf_arch),
		cmocka_unit_test_setup_teardown(test_real_binary, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
