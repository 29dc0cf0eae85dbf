/*
 * The samples directory (hp.h "samples"): every captured file (a dropper written through the
 * shell, or a fetched binary) stored once under its SHA-256, never executable. A stored sample is
 * evidence, so it is written crash-safely: a temporary file in the same directory, fsync, rename
 * over the final name, fsync of the directory. The directory is 0700 and files are 0400, so the
 * sensor's user and other local users cannot read or replace them.
 *
 * Hashes: SHA-256 with libsodium (the name), SHA-1 and MD5 with OpenSSL EVP (for lookups in
 * public feeds, which still index IoT samples by them).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "honeypot/hp.h"

/* Why 64 MiB: the collector stores what the shell held (at most 1 MiB) or what a fetch returned
 * (at most HP_FETCH_MAX_BYTES_DEFAULT unless raised); anything larger is a caller's mistake. */
#define HP_SAMPLE_MAX_BYTES (64u * 1024u * 1024u)
/* Directory names beyond this do not fit the sample path (4096) with "/" + 64 hex + temp suffix. */
#define HP_SAMPLES_DIR_MAX 3900

struct hp_samples {
	char dir[HP_SAMPLES_DIR_MAX + 1];
	int dirfd;
	unsigned long seq; /* temporary name counter */
};

int
hp_samples_open(struct hp_samples **out, const char *dir, char *err, size_t errlen)
{
	int r = 0;
	struct hp_samples *s = NULL;
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > HP_SAMPLES_DIR_MAX) {
		snprintf(err, errlen, "samples directory name is empty or too long");
		r = TORIDE_EINVAL;
		goto out;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		r = TORIDE_EIO;
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	/* an existing directory may have been made with a looser mode: samples are not for others */
	if (fchmod(s->dirfd, 0700) != 0) {
		snprintf(err, errlen, "%s: cannot set mode 0700: %s", dir, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	*out = s;
	s = NULL;
out:
	if (s != NULL) {
		if (s->dirfd >= 0)
			close(s->dirfd);
		free(s);
	}
	return r;
}

void
hp_samples_close(struct hp_samples *s)
{
	if (s == NULL)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}

static void
samples_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
samples_evp(const EVP_MD *md, const uint8_t *p, size_t n, char *hex, size_t want)
{
	uint8_t dig[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	if (EVP_Digest(p, n, dig, &dlen, md, NULL) != 1 || dlen != want)
		return TORIDE_EIO;
	samples_hex(hex, dig, dlen);
	return 0;
}

static int
samples_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return TORIDE_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
hp_samples_put(struct hp_samples *s, const uint8_t *p, size_t n, struct hp_sample_info *info, bool *is_new)
{
	int r = 0, fd = -1;
	char tmp[96];
	bool tmp_made = false;
	memset(info, 0, sizeof *info);
	if (is_new != NULL)
		*is_new = false;
	if (s == NULL || (p == NULL && n > 0))
		return TORIDE_EINVAL;
	if (n > HP_SAMPLE_MAX_BYTES)
		return TORIDE_ETOOBIG;

	uint8_t sha[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(sha, p, n);
	samples_hex(info->sha256, sha, sizeof sha);
	if ((r = samples_evp(EVP_sha1(), p, n, info->sha1, 20)) != 0 ||
	    (r = samples_evp(EVP_md5(), p, n, info->md5, 16)) != 0)
		goto out;
	info->size = n;
	snprintf(info->arch, sizeof info->arch, "%s", hp_elf_arch(p, n));
	snprintf(info->path, sizeof info->path, "%s/%s", s->dir, info->sha256);

	/* same name, same bytes (SHA-256): an existing sample is never rewritten */
	struct stat st;
	if (fstatat(s->dirfd, info->sha256, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(st.st_mode) && (size_t)st.st_size == n)
			goto out;
		/* something else under a sample's name (a torn file cannot be: writes are renamed in) */
		r = TORIDE_EEXIST;
		goto out;
	} else if (errno != ENOENT) {
		r = TORIDE_EIO;
		goto out;
	}

	snprintf(tmp, sizeof tmp, ".tmp-%ld-%lu-%.16s", (long)getpid(), s->seq++, info->sha256);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
	if (fd < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	tmp_made = true;
	if ((r = samples_write_all(fd, p, n)) != 0)
		goto out;
	if (fchmod(fd, 0400) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		r = TORIDE_EIO;
		goto out;
	}
	fd = -1;
	if (renameat(s->dirfd, tmp, s->dirfd, info->sha256) != 0) {
		r = TORIDE_EIO;
		goto out;
	}
	tmp_made = false;
	if (fsync(s->dirfd) != 0) {
		r = TORIDE_EIO;
		goto out;
	}
	if (is_new != NULL)
		*is_new = true;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlinkat(s->dirfd, tmp, 0);
	return r;
}

/* ELF e_machine values (System V ABI, elf.h) and the names the records use. */
struct elf_machine {
	uint16_t id;
	const char *name;
};

static const struct elf_machine elf_machines[] = {
	{ 2, "SPARC" },      { 3, "x86" },         { 4, "m68k" },          { 8, "MIPS" },
	{ 10, "MIPS-RS3-LE" }, { 15, "PA-RISC" },   { 18, "SPARC32PLUS" },  { 20, "PowerPC" },
	{ 21, "PowerPC64" }, { 22, "S390" },       { 40, "ARM" },          { 42, "SuperH" },
	{ 43, "SPARCV9" },   { 50, "IA-64" },      { 62, "x86-64" },       { 83, "AVR" },
	{ 87, "V850" },      { 88, "M32R" },       { 92, "OpenRISC" },     { 93, "ARC" },
	{ 94, "Xtensa" },    { 106, "Blackfin" },  { 164, "Hexagon" },     { 183, "AArch64" },
	{ 189, "MicroBlaze" }, { 195, "ARCv2" },   { 243, "RISC-V" },      { 258, "LoongArch" },
	{ 0x9026, "Alpha" },
};

/* Smallest ELF header: e_ident (16) + e_type (2) + e_machine (2) + e_version (4). */
#define HP_ELF_MIN_HEADER 24

const char *
hp_elf_arch(const uint8_t *p, size_t n)
{
	if (p == NULL || n < HP_ELF_MIN_HEADER || memcmp(p, "\x7f" "ELF", 4) != 0)
		return "";
	/* EI_CLASS 1 (32-bit) or 2 (64-bit), EI_DATA 1 (LE) or 2 (BE), EI_VERSION 1: otherwise the
	 * header is not one a loader would take, and e_machine cannot be read with confidence */
	uint8_t cls = p[4], data = p[5], ver = p[6];
	if ((cls != 1 && cls != 2) || (data != 1 && data != 2) || ver != 1)
		return "";
	uint16_t m = data == 1 ? (uint16_t)(p[18] | p[19] << 8) : (uint16_t)(p[18] << 8 | p[19]);
	for (size_t i = 0; i < sizeof elf_machines / sizeof elf_machines[0]; i++)
		if (elf_machines[i].id == m)
			return elf_machines[i].name;
	return "";
}
