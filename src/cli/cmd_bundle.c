/*
 * toride sign / toride bundle: the vendor side of signed firmware updates (docs/bundle.md).
 *
 *   toride sign keygen -o NAME          NAME.key (secret, 0600) and NAME.pub
 *   toride sign --key NAME.key BUNDLE   re-sign a bundle in place (temp file + rename)
 *   toride bundle create ...            header + image, image streamed twice (hash, then copy)
 *   toride bundle verify ...            signature, target, exact size and image hash
 *   toride bundle info ...              the manifest, and whether a given key signed it
 *
 * Images are never loaded whole: a firmware image may be larger than the vendor's build box
 * wants to hold in memory, and the device side streams too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "device/internal.h"
#include "toride/device.h"

#define BUNDLE_EXIT_FAIL 1 /* verification failed or the operation could not be done */
#define SECRET_KEY_TAG "toride-ed25519-secret-v1"
#define PUBLIC_KEY_TAG "toride-ed25519-public-v1"
/* A key file is one short line; anything longer is not one of ours. */
#define KEY_FILE_MAX 512
/* Image copy/hash buffer: large enough for full-speed sequential I/O, small enough for any host. */
#define COPY_CHUNK (64u * 1024u)
#define HEADER_MAX (12u + TORIDE_DEV_MAX_MANIFEST + crypto_sign_BYTES)

/* Vendor-facing wording of the library's verdicts (the device's own strings speak to owners). */
static const char *
bundle_strerror(int err)
{
	switch (err) {
	case TORIDE_DEV_ESIGNATURE: return "signature does not verify with the given public key(s)";
	case TORIDE_DEV_EFORMAT: return "malformed bundle or manifest";
	case TORIDE_DEV_EINCOMPLETE: return "truncated header";
	case TORIDE_DEV_ETOOBIG: return "manifest too large (description too long?)";
	case TORIDE_DEV_ENOMEM: return "out of memory";
	case TORIDE_DEV_ECRYPTO: return "libsodium failed";
	case TORIDE_DEV_EINVAL: return "invalid argument";
	default: return "error";
	}
}

/* ---- key files ------------------------------------------------------------------------------ */

/* Reads "<tag> <hex>\n" into out (n bytes). Wipes what it read. */
static int
key_read(const char *path, const char *tag, uint8_t *out, size_t n)
{
	char text[KEY_FILE_MAX + 1];
	size_t len, tag_len = strlen(tag);
	int ret = -1;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "toride: %s: %s\n", path, strerror(errno));
		return -1;
	}
	len = fread(text, 1, KEY_FILE_MAX, f);
	fclose(f);
	text[len] = '\0';
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (len <= tag_len || strncmp(text, tag, tag_len) != 0 || text[tag_len] != ' ' ||
	    dev_unhex(text + tag_len + 1, out, n) != 0) {
		fprintf(stderr, "toride: %s: not a %s key file (expected '%s <hex>')\n", path,
			strcmp(tag, SECRET_KEY_TAG) == 0 ? "secret" : "public", tag);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(text, sizeof(text));
	return ret;
}

static int
key_write(const char *path, const char *tag, const uint8_t *key, size_t n, mode_t mode)
{
	char hex[2 * 64 + 1];
	int ret = -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0) {
		fprintf(stderr, "toride: %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out;
	}
	dev_hex(key, n, hex);
	if (fprintf(f, "%s %s\n", tag, hex) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fprintf(stderr, "toride: %s: %s\n", path, strerror(errno));
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(hex, sizeof(hex));
	return ret;
}

/* ---- bundle files --------------------------------------------------------------------------- */

struct bundle_file {
	FILE *f;
	uint8_t hdr[HEADER_MAX];
	size_t hlen;
	struct toride_dev_bundle_info info;
	struct dev_kv manifest;
};

/* Opens a bundle and reads and parses its header (no signature check). Prints why on failure. */
static int
bundle_open(struct bundle_file *b, const char *path)
{
	size_t mlen = 0, moff = 0, got;
	uint32_t n;
	int err;

	memset(b, 0, sizeof(*b));
	b->f = fopen(path, "rb");
	if (b->f == NULL) {
		fprintf(stderr, "toride: %s: %s\n", path, strerror(errno));
		return -1;
	}
	got = fread(b->hdr, 1, 12, b->f);
	if (got < 12 || memcmp(b->hdr, TORIDE_DEV_BUNDLE_MAGIC, 8) != 0) {
		fprintf(stderr, "toride: %s: not a toride bundle (no %s header)\n", path,
			TORIDE_DEV_BUNDLE_MAGIC);
		return -1;
	}
	n = (uint32_t)b->hdr[8] << 24 | (uint32_t)b->hdr[9] << 16 | (uint32_t)b->hdr[10] << 8 | b->hdr[11];
	if (n == 0 || n > TORIDE_DEV_MAX_MANIFEST) {
		fprintf(stderr, "toride: %s: manifest length %u outside 1..%u\n", path, n,
			TORIDE_DEV_MAX_MANIFEST);
		return -1;
	}
	b->hlen = 12 + n + crypto_sign_BYTES;
	if (fread(b->hdr + 12, 1, b->hlen - 12, b->f) != b->hlen - 12) {
		fprintf(stderr, "toride: %s: truncated header\n", path);
		return -1;
	}
	err = dev_bundle_parse_header(b->hdr, b->hlen, &b->info, NULL, &moff, &mlen);
	if (err == 0)
		err = dev_kv_parse(b->hdr + moff, mlen, &b->manifest, NULL);
	if (err != 0) {
		fprintf(stderr, "toride: %s: malformed manifest: %s\n", path, bundle_strerror(err));
		return -1;
	}
	return 0;
}

static void
bundle_close(struct bundle_file *b)
{
	if (b->f != NULL)
		fclose(b->f);
	b->f = NULL;
	dev_kv_free(&b->manifest);
}

/* Reads `in` to its end, hashing; copies to `out` unless NULL. */
static int
stream_image(FILE *in, FILE *out, uint64_t *size, uint8_t sha[32])
{
	crypto_hash_sha256_state st;
	uint8_t *chunk = malloc(COPY_CHUNK);
	uint64_t total = 0;
	size_t n;
	int ret = -1;

	if (chunk == NULL)
		return -1;
	crypto_hash_sha256_init(&st);
	while ((n = fread(chunk, 1, COPY_CHUNK, in)) > 0) {
		crypto_hash_sha256_update(&st, chunk, n);
		total += n;
		if (out != NULL && fwrite(chunk, 1, n, out) != n)
			goto out;
	}
	if (ferror(in))
		goto out;
	crypto_hash_sha256_final(&st, sha);
	*size = total;
	ret = 0;
out:
	free(chunk);
	return ret;
}

/* A temp file next to `path`, for an atomic rename over it. */
static FILE *
temp_open(const char *path, char *tmp, size_t cap)
{
	if ((size_t)snprintf(tmp, cap, "%s.tmp.XXXXXX", path) >= cap)
		return NULL;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "wb");
	if (f == NULL) {
		close(fd);
		unlink(tmp);
	}
	return f;
}

/* Flushes, fsyncs, closes and renames the temp file over path, then fsyncs the directory. */
static int
temp_commit(FILE *f, const char *tmp, const char *path)
{
	char dir[4096];
	int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "toride: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Writes header + image (from `image`, which must hash to info's values) to `out_path`. */
static int
write_bundle(const char *out_path, const uint8_t *hdr, size_t hlen, FILE *image,
             const struct toride_dev_bundle_info *info)
{
	char tmp[4096];
	uint8_t sha[32];
	uint64_t size = 0;
	FILE *out = temp_open(out_path, tmp, sizeof(tmp));
	if (out == NULL) {
		fprintf(stderr, "toride: %s: cannot create a temporary file next to it: %s\n", out_path,
			strerror(errno));
		return -1;
	}
	if (fwrite(hdr, 1, hlen, out) != hlen || stream_image(image, out, &size, sha) != 0) {
		fprintf(stderr, "toride: %s: write failed: %s\n", out_path, strerror(errno));
		goto fail;
	}
	/* The image may have changed since it was hashed: never sign one thing and ship another. */
	if (size != info->image_size || sodium_memcmp(sha, info->image_sha256, 32) != 0) {
		fprintf(stderr, "toride: %s: the image changed while it was being bundled (or does not "
			"match its manifest); nothing written\n", out_path);
		goto fail;
	}
	return temp_commit(out, tmp, out_path);
fail:
	fclose(out);
	unlink(tmp);
	return -1;
}

/* ---- toride sign ---------------------------------------------------------------------------- */

static void
sign_usage(FILE *out)
{
	fprintf(out,
		"usage: toride sign keygen -o NAME\n"
		"       toride sign --key NAME.key BUNDLE\n"
		"\n"
		"keygen writes a new Ed25519 update-signing key pair: NAME.key (secret, mode 0600)\n"
		"and NAME.pub (give it to devices at provisioning). Existing files are never overwritten.\n"
		"With --key, re-signs an existing bundle in place with that secret key (after checking its\n"
		"image against its manifest); the file is replaced atomically.\n"
		"\n"
		"exit status: 0 success, 1 failure, 2 usage error\n");
}

static int
sign_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char path[4096];
	int c, ret = BUNDLE_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': name = optarg; break;
		case 'h': sign_usage(stdout); return TORIDE_EXIT_OK;
		default: sign_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (name == NULL || optind != argc) {
		fprintf(stderr, "toride sign keygen: -o NAME is required (and nothing else)\n");
		return TORIDE_EXIT_USAGE;
	}
	if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0) {
		fprintf(stderr, "toride: libsodium failed\n");
		return BUNDLE_EXIT_FAIL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s.key", name) >= sizeof(path) ||
	    key_write(path, SECRET_KEY_TAG, sk, sizeof(sk), 0600) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.pub", name);
	if (key_write(path, PUBLIC_KEY_TAG, pk, sizeof(pk), 0644) != 0)
		goto out;
	char kid[17];
	dev_hex(pk, 8, kid);
	printf("wrote %s.key (secret) and %s.pub; key-id %s\n", name, name, kid);
	ret = TORIDE_EXIT_OK;
out:
	sodium_memzero(sk, sizeof(sk));
	return ret;
}

static int
sign_resign(const char *key_path, const char *bundle_path)
{
	struct bundle_file b;
	uint8_t sk[crypto_sign_SECRETKEYBYTES], hdr[HEADER_MAX];
	size_t hlen = 0;
	int err, ret = BUNDLE_EXIT_FAIL;

	if (key_read(key_path, SECRET_KEY_TAG, sk, sizeof(sk)) != 0)
		return BUNDLE_EXIT_FAIL;
	if (bundle_open(&b, bundle_path) != 0)
		goto out;
	struct toride_dev_bundle_params p = {
		.target = b.info.target,
		.version = b.info.version,
		.security_floor = b.info.security_floor[0] ? b.info.security_floor : NULL,
		.description = dev_kv_get(&b.manifest, "description"),
		.created = dev_kv_get(&b.manifest, "created"),
	};
	err = toride_dev_bundle_header(&p, b.info.image_size, b.info.image_sha256, sk, hdr,
	                               sizeof(hdr), &hlen);
	if (err != 0) {
		fprintf(stderr, "toride: %s: cannot sign: %s\n", bundle_path, bundle_strerror(err));
		goto out;
	}
	if (write_bundle(bundle_path, hdr, hlen, b.f, &b.info) != 0)
		goto out;
	char kid[17];
	dev_hex(sk + 32, 8, kid);
	printf("%s: re-signed with key-id %s\n", bundle_path, kid);
	ret = TORIDE_EXIT_OK;
out:
	bundle_close(&b);
	sodium_memzero(sk, sizeof(sk));
	return ret;
}

int
cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL;
	int c;

	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return sign_keygen(argc - 1, argv + 1);
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'h': sign_usage(stdout); return TORIDE_EXIT_OK;
		default: sign_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (key == NULL || optind != argc - 1) {
		sign_usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return BUNDLE_EXIT_FAIL;
	return sign_resign(key, argv[optind]);
}

/* ---- toride bundle -------------------------------------------------------------------------- */

static void
bundle_usage(FILE *out)
{
	fprintf(out,
		"usage: toride bundle create --key K.key --target T --version V [--security-floor F]\n"
		"                            [--description D] [--created TIME] --image IMG -o OUT\n"
		"       toride bundle verify --pub P.pub [--pub P2.pub ...] [--target T] BUNDLE\n"
		"       toride bundle info [--pub P.pub] [--json] BUNDLE\n"
		"\n"
		"create  signs a manifest (target, version, image size and SHA-256) and writes header +\n"
		"        image to OUT. Versions are dotted numbers (1 to 4 parts of up to 9 digits).\n"
		"        --security-floor: devices that confirm this version refuse anything older than F\n"
		"        afterwards. --created defaults to now (or SOURCE_DATE_EPOCH), ISO 8601 UTC.\n"
		"verify  checks the signature with the given public key(s), the target (if given), the\n"
		"        exact image size and the image SHA-256, as a device would before installing.\n"
		"info    prints the manifest (text or --json); with --pub, says whether that key signed it.\n"
		"\n"
		"exit status: 0 success (verify: bundle is good), 1 failure, 2 usage error\n");
}

static int
bundle_create(int argc, char **argv)
{
	enum { OPT_TARGET = 256, OPT_VERSION, OPT_FLOOR, OPT_DESC, OPT_CREATED, OPT_IMAGE };
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"target", required_argument, NULL, OPT_TARGET},
		{"version", required_argument, NULL, OPT_VERSION},
		{"security-floor", required_argument, NULL, OPT_FLOOR},
		{"description", required_argument, NULL, OPT_DESC},
		{"created", required_argument, NULL, OPT_CREATED},
		{"image", required_argument, NULL, OPT_IMAGE},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct toride_dev_bundle_params p = { 0 };
	struct toride_dev_bundle_info info = { 0 };
	const char *key = NULL, *image = NULL, *out = NULL;
	uint8_t sk[crypto_sign_SECRETKEYBYTES], hdr[HEADER_MAX];
	char created[64];
	size_t hlen = 0;
	FILE *img = NULL;
	int c, err, ret = BUNDLE_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case OPT_TARGET: p.target = optarg; break;
		case OPT_VERSION: p.version = optarg; break;
		case OPT_FLOOR: p.security_floor = optarg; break;
		case OPT_DESC: p.description = optarg; break;
		case OPT_CREATED: p.created = optarg; break;
		case OPT_IMAGE: image = optarg; break;
		case 'o': out = optarg; break;
		case 'h': bundle_usage(stdout); return TORIDE_EXIT_OK;
		default: bundle_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (key == NULL || p.target == NULL || p.version == NULL || image == NULL || out == NULL ||
	    optind != argc) {
		fprintf(stderr, "toride bundle create: --key, --target, --version, --image and -o are required\n");
		return TORIDE_EXIT_USAGE;
	}
	if (p.created == NULL) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		time_t now = sde != NULL ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
		struct tm tm;
		if (gmtime_r(&now, &tm) == NULL || strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
			fprintf(stderr, "toride: cannot format the creation time\n");
			return BUNDLE_EXIT_FAIL;
		}
		p.created = created;
	}
	if (sodium_init() < 0 || key_read(key, SECRET_KEY_TAG, sk, sizeof(sk)) != 0)
		return BUNDLE_EXIT_FAIL;

	/* Pass 1: size and hash. */
	img = fopen(image, "rb");
	if (img == NULL) {
		fprintf(stderr, "toride: %s: %s\n", image, strerror(errno));
		goto out;
	}
	if (stream_image(img, NULL, &info.image_size, info.image_sha256) != 0) {
		fprintf(stderr, "toride: %s: read failed: %s\n", image, strerror(errno));
		goto out;
	}
	err = toride_dev_bundle_header(&p, info.image_size, info.image_sha256, sk, hdr, sizeof(hdr), &hlen);
	if (err != 0) {
		fprintf(stderr, "toride bundle create: %s%s\n", bundle_strerror(err),
			err == TORIDE_DEV_EFORMAT ? " (target must be [A-Za-z0-9._-]{1,63}; versions dotted "
			"numbers, 1-4 parts of <= 9 digits; security floor <= version; image 1 byte..4 GiB)" : "");
		goto out;
	}
	/* Pass 2: copy, checking the hash again. */
	rewind(img);
	if (write_bundle(out, hdr, hlen, img, &info) != 0)
		goto out;
	char sha[65];
	dev_hex(info.image_sha256, 32, sha);
	printf("wrote %s: target %s version %s, image %llu bytes sha256 %s\n", out, p.target, p.version,
	       (unsigned long long)info.image_size, sha);
	ret = TORIDE_EXIT_OK;
out:
	if (img != NULL)
		fclose(img);
	sodium_memzero(sk, sizeof(sk));
	return ret;
}

#define MAX_PUBS TORIDE_DEV_MAX_KEYS

static int
bundle_verify(int argc, char **argv)
{
	enum { OPT_PUB = 256, OPT_TARGET };
	static const struct option opts[] = {
		{"pub", required_argument, NULL, OPT_PUB},
		{"target", required_argument, NULL, OPT_TARGET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pubs[MAX_PUBS], *target = NULL, *path;
	uint8_t keys[MAX_PUBS][32], sha[32];
	size_t n_pubs = 0, hlen = 0;
	struct toride_dev_bundle_info info;
	struct bundle_file b = { 0 };
	uint64_t size = 0;
	int c, err, ret = BUNDLE_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PUB:
			if (n_pubs == MAX_PUBS) {
				fprintf(stderr, "toride bundle verify: at most %d --pub\n", MAX_PUBS);
				return TORIDE_EXIT_USAGE;
			}
			pubs[n_pubs++] = optarg;
			break;
		case OPT_TARGET: target = optarg; break;
		case 'h': bundle_usage(stdout); return TORIDE_EXIT_OK;
		default: bundle_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (n_pubs == 0 || optind != argc - 1) {
		fprintf(stderr, "toride bundle verify: --pub KEY.pub and one BUNDLE are required\n");
		return TORIDE_EXIT_USAGE;
	}
	path = argv[optind];
	if (sodium_init() < 0)
		return BUNDLE_EXIT_FAIL;
	for (size_t i = 0; i < n_pubs; i++)
		if (key_read(pubs[i], PUBLIC_KEY_TAG, keys[i], 32) != 0)
			return BUNDLE_EXIT_FAIL;
	if (bundle_open(&b, path) != 0)
		goto fail;
	err = toride_dev_bundle_verify_header(b.hdr, b.hlen, (const uint8_t(*)[32])keys, n_pubs, &info, &hlen);
	if (err != 0) {
		fprintf(stderr, "%s: FAILED: %s\n", path, bundle_strerror(err));
		goto fail;
	}
	if (target != NULL && strcmp(target, info.target) != 0) {
		fprintf(stderr, "%s: FAILED: bundle is for target '%s', not '%s'\n", path, info.target, target);
		goto fail;
	}
	if (stream_image(b.f, NULL, &size, sha) != 0) {
		fprintf(stderr, "%s: FAILED: read error: %s\n", path, strerror(errno));
		goto fail;
	}
	if (size != info.image_size) {
		fprintf(stderr, "%s: FAILED: image is %llu bytes, the signed manifest says %llu (%s)\n", path,
			(unsigned long long)size, (unsigned long long)info.image_size,
			size < info.image_size ? "truncated" : "trailing bytes");
		goto fail;
	}
	if (sodium_memcmp(sha, info.image_sha256, 32) != 0) {
		fprintf(stderr, "%s: FAILED: image SHA-256 does not match the signed manifest\n", path);
		goto fail;
	}
	char kid[17];
	dev_hex(info.key_id, 8, kid);
	printf("%s: OK: target %s version %s, %llu-byte image, signed by key-id %s\n", path, info.target,
	       info.version, (unsigned long long)info.image_size, kid);
	ret = TORIDE_EXIT_OK;
fail:
	bundle_close(&b);
	return ret;
}

static int
bundle_info(int argc, char **argv)
{
	enum { OPT_PUB = 256, OPT_JSON };
	static const struct option opts[] = {
		{"pub", required_argument, NULL, OPT_PUB},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pub = NULL, *path, *sig = "not checked (give --pub)";
	bool json = false;
	uint8_t key[32];
	char sha[65], kid[17];
	struct bundle_file b = { 0 };
	struct toride_dev_bundle_info info;
	int c, ret = BUNDLE_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PUB: pub = optarg; break;
		case OPT_JSON: json = true; break;
		case 'h': bundle_usage(stdout); return TORIDE_EXIT_OK;
		default: bundle_usage(stderr); return TORIDE_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "toride bundle info: one BUNDLE is required\n");
		return TORIDE_EXIT_USAGE;
	}
	path = argv[optind];
	if (sodium_init() < 0)
		return BUNDLE_EXIT_FAIL;
	if (pub != NULL && key_read(pub, PUBLIC_KEY_TAG, key, 32) != 0)
		return BUNDLE_EXIT_FAIL;
	if (bundle_open(&b, path) != 0)
		goto out;
	if (pub != NULL)
		sig = toride_dev_bundle_verify_header(b.hdr, b.hlen, (const uint8_t(*)[32])key, 1, &info, NULL) == 0
		          ? "valid for the given key" : "NOT valid for the given key";
	dev_hex(b.info.image_sha256, 32, sha);
	dev_hex(b.info.key_id, 8, kid);
	if (json) {
		json_t *o = json_object();
		json_t *m = json_object();
		for (size_t i = 0; i < b.manifest.n; i++)
			json_object_set_new(m, b.manifest.e[i].key, json_string(b.manifest.e[i].value));
		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "header_size", json_integer((json_int_t)b.hlen));
		json_object_set_new(o, "manifest", m);
		json_object_set_new(o, "signature",
		                    json_string(pub == NULL ? "unchecked" : strncmp(sig, "valid", 5) == 0 ? "valid" : "invalid"));
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
		json_decref(o);
		if (s == NULL)
			goto out;
		printf("%s\n", s);
		free(s);
	} else {
		const char *desc = dev_kv_get(&b.manifest, "description");
		const char *created = dev_kv_get(&b.manifest, "created");
		printf("bundle:         %s\n", path);
		printf("target:         %s\n", b.info.target);
		printf("version:        %s\n", b.info.version);
		printf("security-floor: %s\n", b.info.security_floor[0] ? b.info.security_floor : "(none)");
		printf("image-size:     %llu\n", (unsigned long long)b.info.image_size);
		printf("image-sha256:   %s\n", sha);
		printf("created:        %s\n", created ? created : "(not given)");
		printf("description:    %s\n", desc ? desc : "(none)");
		printf("key-id:         %s\n", kid);
		printf("header:         %zu bytes\n", b.hlen);
		printf("signature:      %s\n", sig);
	}
	/* With --pub, the exit status tells whether that key signed the bundle. */
	ret = pub == NULL || strncmp(sig, "valid", 5) == 0 ? TORIDE_EXIT_OK : BUNDLE_EXIT_FAIL;
out:
	bundle_close(&b);
	return ret;
}

int
cmd_bundle(int argc, char **argv)
{
	if (argc < 2) {
		bundle_usage(stderr);
		return TORIDE_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		bundle_usage(stdout);
		return TORIDE_EXIT_OK;
	}
	if (strcmp(argv[1], "create") == 0)
		return bundle_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return bundle_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "info") == 0)
		return bundle_info(argc - 1, argv + 1);
	fprintf(stderr, "toride bundle: unknown subcommand '%s'\n\n", argv[1]);
	bundle_usage(stderr);
	return TORIDE_EXIT_USAGE;
}
