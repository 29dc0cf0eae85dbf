/*
 * Resumable HTTPS download with libcurl (include/toride/device-fetch.h).
 *
 * Resume: the part file's length is the offset; CURLOPT_RESUME_FROM_LARGE asks for the rest and
 * libcurl itself checks that a 206's Content-Range starts there (CURLE_RANGE_ERROR otherwise, also
 * for a 200 to a ranged request). Those two, and 416 (the range is past the end: the file on the
 * server changed or shrank), start the file over once. Nothing here trusts the bytes: the install
 * verifies signature and hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "toride/device-fetch.h"
#include "toride/device.h"

/* Redirects followed: a CDN or mirror hop or two; more is a loop or an attack. */
#define FETCH_MAX_REDIRS 5
/* Defaults when the options say 0 (see the header). */
#define FETCH_CONNECT_TIMEOUT_S 15L
#define FETCH_LOW_SPEED_BYTES 1L
#define FETCH_LOW_SPEED_TIME_S 30L
#define FETCH_USER_AGENT "libtoride-device-fetch/1"

struct fetch_ctx {
	int fd;                 /* target file, or -1 for memory */
	char *mem;              /* memory target */
	size_t memcap;
	uint64_t base;          /* file offset where this response's body starts */
	uint64_t written;       /* body bytes stored by this transfer */
	uint64_t max;           /* cap on base + written */
	bool too_big;
	bool io_error;
	const struct toride_dev_fetch_options *opt;
};

int
toride_dev_fetch_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : TORIDE_DEV_ECRYPTO;
}

void
toride_dev_fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

static size_t
fetch_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct fetch_ctx *c = userdata;
	size_t n = size * nmemb;
	if (c->base + c->written + n > c->max) {
		c->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (c->fd < 0) {
		if (c->written + n >= c->memcap) {
			c->too_big = true;
			return 0;
		}
		memcpy(c->mem + c->written, p, n);
		c->written += n;
		return n;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = pwrite(c->fd, p + done, n - done, (off_t)(c->base + c->written + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->io_error = true;
			return 0;
		}
		done += (size_t)w;
	}
	c->written += n;
	return n;
}

static int
fetch_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)ultotal;
	(void)ulnow;
	struct fetch_ctx *c = userdata;
	if (c->opt == NULL || c->opt->progress == NULL)
		return 0;
	uint64_t total = dltotal > 0 ? c->base + (uint64_t)dltotal : 0;
	return c->opt->progress(c->opt->progress_ctx, c->base + (uint64_t)(dlnow > 0 ? dlnow : 0), total) != 0;
}

static bool
scheme_allowed(const char *url, bool allow_http)
{
	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] != '\0';
	return allow_http && strncasecmp(url, "http://", 7) == 0 && url[7] != '\0';
}

/* One transfer into c from offset c->base. Returns the curl code; *status the HTTP status. */
static CURLcode
fetch_once(const char *url, struct fetch_ctx *c, long *status, char *errbuf)
{
	const struct toride_dev_fetch_options *o = c->opt;
	CURL *h = curl_easy_init();
	if (h == NULL)
		return CURLE_OUT_OF_MEMORY;
	const char *protos = o->allow_http ? "https,http" : "https";
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protos);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, FETCH_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : FETCH_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes > 0 ? o->low_speed_bytes : FETCH_LOW_SPEED_BYTES);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s > 0 ? o->low_speed_time_s : FETCH_LOW_SPEED_TIME_S);
	if (o->total_timeout_s > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, o->total_timeout_s);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(c->max - c->base));
	if (c->base > 0)
		curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)c->base);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, fetch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	CURLcode cc = curl_easy_perform(h);
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	return cc;
}

static void
set_error(struct toride_dev_fetch_result *res, const char *what, const char *detail)
{
	snprintf(res->error, sizeof(res->error), "%s%s%s", what, detail[0] != '\0' ? ": " : "", detail);
}

/* Shared body of both entry points: fd >= 0 resumes into the file, else memory. */
static int
fetch_run(const char *url, int fd, char *mem, size_t memcap, const struct toride_dev_fetch_options *opt,
          struct toride_dev_fetch_result *res)
{
	char errbuf[CURL_ERROR_SIZE];
	struct fetch_ctx c = {
		.fd = fd,
		.mem = mem,
		.memcap = memcap,
		.opt = opt,
		.max = opt->max_size > 0 ? opt->max_size : TORIDE_DEV_FETCH_DEFAULT_MAX,
	};
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) != 0) {
			set_error(res, "cannot stat the part file", strerror(errno));
			return TORIDE_DEV_EIO;
		}
		c.base = (uint64_t)st.st_size;
		if (c.base >= c.max) {
			/* More than the cap already: not a download we want; start over. */
			if (ftruncate(fd, 0) != 0)
				return TORIDE_DEV_EIO;
			c.base = 0;
			res->restarted = 1;
		}
	}
	res->resumed_from = c.base;
	for (int attempt = 0; attempt < 2; attempt++) {
		c.written = 0;
		c.too_big = c.io_error = false;
		long status = 0;
		CURLcode cc = fetch_once(url, &c, &status, errbuf);
		res->http_status = status;
		if (cc == CURLE_OK) {
			res->size = c.base + c.written;
			return 0;
		}
		if (c.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			if (fd >= 0 && ftruncate(fd, 0) != 0)
				return TORIDE_DEV_EIO;
			set_error(res, "resource larger than the size cap", "");
			return TORIDE_DEV_ETOOBIG;
		}
		if (c.io_error) {
			set_error(res, "cannot write the part file", strerror(errno));
			return TORIDE_DEV_EIO;
		}
		bool range_refused = cc == CURLE_RANGE_ERROR ||
		                     (cc == CURLE_HTTP_RETURNED_ERROR && status == 416);
		if (fd >= 0 && c.base > 0 && range_refused && attempt == 0) {
			/* The server will not continue our part file: start it over, once. */
			if (ftruncate(fd, 0) != 0)
				return TORIDE_DEV_EIO;
			c.base = 0;
			res->restarted = 1;
			continue;
		}
		res->size = c.base + c.written;
		set_error(res, curl_easy_strerror(cc), errbuf);
		return cc == CURLE_OUT_OF_MEMORY ? TORIDE_DEV_ENOMEM : TORIDE_DEV_EIO;
	}
	return TORIDE_DEV_EIO;
}

int
toride_dev_fetch(const char *url, const char *path, const struct toride_dev_fetch_options *opt,
                 struct toride_dev_fetch_result *res)
{
	struct toride_dev_fetch_options defaults = { 0 };
	struct toride_dev_fetch_result scratch;
	int fd = -1, r;
	if (res == NULL)
		res = &scratch;
	memset(res, 0, sizeof(*res));
	if (opt == NULL)
		opt = &defaults;
	if (url == NULL || path == NULL)
		return TORIDE_DEV_EINVAL;
	if (!scheme_allowed(url, opt->allow_http)) {
		set_error(res, "URL scheme not allowed", opt->allow_http ? "want https:// or http://" : "want https://");
		return TORIDE_DEV_EINVAL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_error(res, "cannot open the part file", strerror(errno));
		return TORIDE_DEV_EIO;
	}
	r = fetch_run(url, fd, NULL, 0, opt, res);
	if (r != 0)
		goto out;
	/* The install reads this file next: make the bytes durable first (a power cut then cannot
	 * leave a file that looks complete but is not; the install would refuse it anyway). */
	if (ftruncate(fd, (off_t)res->size) != 0 || fsync(fd) != 0) {
		set_error(res, "cannot sync the part file", strerror(errno));
		r = TORIDE_DEV_EIO;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
toride_dev_fetch_mem(const char *url, const struct toride_dev_fetch_options *opt, char *buf, size_t cap,
                     size_t *len, struct toride_dev_fetch_result *res)
{
	struct toride_dev_fetch_options defaults = { 0 };
	struct toride_dev_fetch_result scratch;
	if (res == NULL)
		res = &scratch;
	memset(res, 0, sizeof(*res));
	if (opt == NULL)
		opt = &defaults;
	if (url == NULL || buf == NULL || cap == 0 || len == NULL)
		return TORIDE_DEV_EINVAL;
	*len = 0;
	buf[0] = '\0';
	if (!scheme_allowed(url, opt->allow_http)) {
		set_error(res, "URL scheme not allowed", opt->allow_http ? "want https:// or http://" : "want https://");
		return TORIDE_DEV_EINVAL;
	}
	int r = fetch_run(url, -1, buf, cap, opt, res);
	if (r != 0)
		return r;
	*len = (size_t)res->size;
	buf[*len] = '\0';
	return 0;
}
