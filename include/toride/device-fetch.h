/*
 * libtoride-device-fetch: the optional downloader of libtoride-device (libcurl). Kept out of the
 * core library so a device that receives its bundles another way stays libc + libsodium only.
 *
 * toride_dev_fetch() downloads a URL into a local "part" file and resumes from whatever that file
 * already holds (HTTP Range), so a device on a bad link never starts a large bundle over. A server
 * that ignores Range (answers 200 to a ranged request) is handled by starting the file over. HTTPS
 * only unless the caller allows plain HTTP; redirects stay within the allowed schemes. The file is
 * fsync'ed before a successful return, so an install that reads it afterwards reads durable bytes.
 * The bytes are NOT trusted: the caller verifies them (toride_dev_update_feed checks the signature
 * and the image hash). Returns 0 or a negative TORIDE_DEV_E* code like the rest of the library.
 */
#ifndef TORIDE_DEVICE_FETCH_H
#define TORIDE_DEVICE_FETCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TORIDE_DEV_FETCH_DEFAULT_MAX (256ull * 1024 * 1024) /* bundle cap when max_size is 0 */
#define TORIDE_DEV_FETCH_ERR_MAX 256                       /* size of the error text buffer */

struct toride_dev_fetch_options {
	const char *ca_file;     /* PEM bundle of trusted CAs; NULL = the system's store */
	int allow_http;          /* nonzero permits http:// (loopback labs); default HTTPS only */
	uint64_t max_size;       /* cap on the whole file in bytes; 0 = TORIDE_DEV_FETCH_DEFAULT_MAX */
	long connect_timeout_s;  /* 0 = 15 */
	long low_speed_bytes;    /* abort when slower than this many bytes/s ... (0 = 1) */
	long low_speed_time_s;   /* ... for this many seconds (0 = 30) */
	long total_timeout_s;    /* whole transfer; 0 = none (low-speed timeout still applies) */
	/* Called as bytes arrive: have = bytes in the file now, total = expected size or 0 when the
	 * server did not say. A nonzero return aborts the transfer (TORIDE_DEV_EIO, file kept). */
	int (*progress)(void *ctx, uint64_t have, uint64_t total);
	void *progress_ctx;
};

struct toride_dev_fetch_result {
	uint64_t resumed_from;  /* bytes the part file held when the transfer started (0 = fresh) */
	uint64_t size;          /* bytes in the file at the end */
	long http_status;       /* last HTTP status (206 for a resumed download) */
	int restarted;          /* the server ignored Range or refused it: the file was started over */
	char error[TORIDE_DEV_FETCH_ERR_MAX]; /* short English reason on failure, "" on success */
};

/* Once per process, before any thread starts (wraps curl_global_init). 0 or TORIDE_DEV_ECRYPTO. */
int toride_dev_fetch_global_init(void);
void toride_dev_fetch_global_cleanup(void);

/*
 * Downloads `url` into the file `path` (created if missing), resuming after the bytes it already
 * holds. Returns 0 when the whole resource is in the file (synced), TORIDE_DEV_EINVAL (NULL
 * argument, bad URL or a scheme that is not allowed), TORIDE_DEV_EIO (network, TLS or HTTP error,
 * or an abort from the progress callback; the partial file is kept for the next attempt),
 * TORIDE_DEV_ETOOBIG (the resource is larger than max_size; the file is truncated to empty),
 * TORIDE_DEV_ENOMEM. `res` (may be NULL) receives the details. Blocking: run it off the event loop.
 */
int toride_dev_fetch(const char *url, const char *path, const struct toride_dev_fetch_options *opt,
                     struct toride_dev_fetch_result *res);

/*
 * Downloads a small resource (an update announcement) into memory: at most cap - 1 bytes, then a
 * NUL. Returns 0 with *len, TORIDE_DEV_ETOOBIG if the resource does not fit, or the codes of
 * toride_dev_fetch(). Never resumes.
 */
int toride_dev_fetch_mem(const char *url, const struct toride_dev_fetch_options *opt, char *buf,
                         size_t cap, size_t *len, struct toride_dev_fetch_result *res);

#ifdef __cplusplus
}
#endif

#endif
