/*
 * Fetching samples (hp.h "fetching samples"): the collector downloads a dropper's URL only when
 * the operator asked (--fetch-samples) and only from addresses inside the sample scope.
 *
 * The scope is enforced where libcurl creates sockets (CURLOPT_OPENSOCKETFUNCTION): every
 * connection of the transfer, after name resolution, for every address tried (a second A record,
 * IPv6 after IPv4, an FTP data connection), is checked against cfg->scope and refused before a
 * socket exists. A host name therefore cannot lead anywhere the scope does not allow, whatever
 * DNS answers. A second check (CURLOPT_PREREQFUNCTION) looks at the connected peer again before
 * any request byte is sent. Redirects are never followed (a 3xx answer is an error naming the
 * target), proxies and .netrc are off, and only http, https, ftp and tftp are spoken.
 *
 * The URL handed to libcurl is rebuilt from hp_url_parse's result (scheme, host, port, a path with
 * unusual bytes percent-encoded), so libcurl never sees a dropper's raw text.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>

#include "core/addr.h"
#include "core/error.h"
#include "honeypot/hp.h"

#ifndef TORIDE_VERSION
#define TORIDE_VERSION "0"
#endif

/* The user agent says who fetches and why, so a server operator reading logs can tell. */
#define HP_FETCH_USER_AGENT "toride/" TORIDE_VERSION " honeypot sample fetch"
/* Rebuilt URL: scheme + "://[" + host + "]:" + port + a path where every byte may become %XX. */
#define HP_FETCH_URL_MAX (16 + 4 + HP_URL_HOST_MAX + 8 + 3 * HP_URL_PATH_MAX)
/* FTP user names and passwords in droppers are short ("anonymous"); longer ones are cut. */
#define HP_FETCH_CRED_MAX 128

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static CURLcode fetch_init_result = CURLE_FAILED_INIT;

static void
fetch_init_once(void)
{
	fetch_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct fetch_ctx {
	const struct toride_scope *scope;
	struct toride_buf *body;
	size_t limit;      /* bytes this fetch may append to body */
	size_t got;
	bool too_big;
	unsigned opened;   /* sockets made (each for an address inside the scope) */
	bool refused;      /* a connection was refused for the scope */
	char refused_addr[TORIDE_ADDR_STRLEN];
};

static bool
fetch_addr_allowed(struct fetch_ctx *c, const struct sockaddr *sa)
{
	struct toride_addr a;
	if (toride_addr_from_sockaddr(sa, &a, NULL) != 0)
		return false;
	if (toride_scope_contains(c->scope, &a))
		return true;
	c->refused = true;
	if (toride_addr_format(&a, c->refused_addr, sizeof c->refused_addr) != 0)
		snprintf(c->refused_addr, sizeof c->refused_addr, "?");
	return false;
}

/*
 * TFTP answers from a new port and libcurl sends its ACKs to wherever the first DATA came from,
 * so a datagram with a forged source could aim our ACKs outside the scope. A UDP socket therefore
 * gets a socket filter that drops every datagram not from the address it was made for: what it
 * receives, and so where it answers, stays that address.
 */
static int
fetch_pin_udp_source(int fd, const struct curl_sockaddr *ca)
{
	struct sock_filter code[12];
	unsigned n = 0, words;
	uint32_t want[4];
	if (ca->family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)&ca->addr;
		want[0] = ntohl(sin->sin_addr.s_addr);
		words = 1;
		code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)&ca->addr;
		for (int i = 0; i < 4; i++) {
			const uint8_t *b = sin6->sin6_addr.s6_addr + 4 * i;
			want[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		}
		words = 4;
	}
	for (unsigned i = 0; i < words; i++) {
		if (ca->family == AF_INET6)
			code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			                                         (uint32_t)SKF_NET_OFF + 8 + 4 * i);
		/* equal: go on to the next word; else jump to the final "drop" */
		unsigned left = words - i - 1;
		uint8_t to_drop = (uint8_t)(left * (ca->family == AF_INET6 ? 2 : 1) + 1);
		code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, want[i], 0, to_drop);
	}
	code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = code };
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* Every socket of the transfer is made here, and only for an address inside the scope. */
static curl_socket_t
fetch_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *ca)
{
	struct fetch_ctx *c = arg;
	if (purpose != CURLSOCKTYPE_IPCXN || (ca->family != AF_INET && ca->family != AF_INET6))
		return CURL_SOCKET_BAD;
	if (!fetch_addr_allowed(c, &ca->addr))
		return CURL_SOCKET_BAD;
	curl_socket_t fd = socket(ca->family, ca->socktype | SOCK_CLOEXEC, ca->protocol);
	if (fd == CURL_SOCKET_BAD)
		return fd;
	if (ca->socktype == SOCK_DGRAM && fetch_pin_udp_source(fd, ca) != 0) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	c->opened++;
	return fd;
}

/* Second look at the connected peer before the request goes out. A TFTP (UDP) transfer has no
 * connected peer yet: its datagrams go to the address its socket was made for, which
 * fetch_opensocket checked. */
static int
fetch_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct fetch_ctx *c = arg;
	struct toride_addr a;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (primary_ip != NULL && primary_ip[0] == '\0' && c->opened > 0)
		return CURL_PREREQFUNC_OK;
	if (primary_ip == NULL || toride_addr_parse(primary_ip, &a) != 0 || !toride_scope_contains(c->scope, &a)) {
		c->refused = true;
		snprintf(c->refused_addr, sizeof c->refused_addr, "%s", primary_ip != NULL ? primary_ip : "?");
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

static size_t
fetch_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch_ctx *c = arg;
	size_t n = size * nmemb;
	if (n > c->limit - c->got) {
		c->too_big = true;
		return 0; /* CURLE_WRITE_ERROR ends the transfer */
	}
	if (toride_buf_append(c->body, p, n) != 0)
		return 0;
	c->got += n;
	return n;
}

static bool
fetch_path_plain(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("\"<>\\^`{|}", ch) == NULL;
}

/* scheme://host:port/path from a parsed URL; IPv6 literals in brackets, odd path bytes %XX. */
static int
fetch_build_url(const struct hp_url *u, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	bool v6 = strchr(u->host, ':') != NULL;
	int n = snprintf(out, cap, "%s://%s%s%s:%u", u->scheme, v6 ? "[" : "", u->host, v6 ? "]" : "",
	                 (unsigned)u->port);
	if (n < 0 || (size_t)n >= cap)
		return TORIDE_ETOOBIG;
	size_t len = (size_t)n;
	for (const char *p = u->path; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (len + 4 > cap)
			return TORIDE_ETOOBIG;
		if (fetch_path_plain(ch)) {
			out[len++] = (char)ch;
		} else {
			out[len++] = '%';
			out[len++] = hex[ch >> 4];
			out[len++] = hex[ch & 15];
		}
	}
	out[len] = '\0';
	return 0;
}

static int
fetch_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (cut at cap - 1). */
static void
fetch_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = fetch_hexval(s[i + 1])) >= 0 &&
		    (lo = fetch_hexval(s[i + 2])) >= 0 && (hi | lo) != 0) {
			out[k++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
}

/* The userinfo of "ftp://user:pw@host/..." that hp_url_parse drops: an FTP dropper's login. */
static bool
fetch_userinfo(const char *url, char *user, char *pass)
{
	const char *p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	size_t alen = strcspn(p, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (p[i] == '@')
			at = p + i;
	if (at == NULL)
		return false;
	size_t ulen = (size_t)(at - p);
	const char *colon = memchr(p, ':', ulen);
	size_t nlen = colon != NULL ? (size_t)(colon - p) : ulen;
	fetch_decode(p, nlen, user, HP_FETCH_CRED_MAX);
	if (colon != NULL)
		fetch_decode(colon + 1, ulen - nlen - 1, pass, HP_FETCH_CRED_MAX);
	else
		pass[0] = '\0';
	return true;
}

int
hp_fetch_url(const struct hp_fetch_config *cfg, const char *url, struct toride_buf *body, char *err,
             size_t errlen)
{
	int r = 0;
	CURL *h = NULL;
	struct hp_url u;
	char curl_url[HP_FETCH_URL_MAX];
	char cerr[CURL_ERROR_SIZE];
	char user[HP_FETCH_CRED_MAX], pass[HP_FETCH_CRED_MAX];
	size_t start_len = body != NULL ? body->len : 0;
	if (errlen > 0)
		err[0] = '\0';
	cerr[0] = '\0';
	if (cfg == NULL || cfg->scope == NULL || body == NULL || url == NULL) {
		snprintf(err, errlen, "fetch needs a scope, a URL and a buffer");
		return TORIDE_EINVAL;
	}
	if (!toride_scope_is_finalized(cfg->scope)) {
		snprintf(err, errlen, "sample scope is not finalized: nothing may be fetched");
		return TORIDE_EINVAL;
	}
	if (hp_url_parse(url, &u) != 0) {
		snprintf(err, errlen, "not a download URL");
		return TORIDE_EPARSE;
	}
	/* a cut host or path would fetch something else than the dropper named */
	if (strlen(u.host) >= HP_URL_HOST_MAX - 1 || strlen(u.path) >= HP_URL_PATH_MAX - 1) {
		snprintf(err, errlen, "URL too long to fetch exactly");
		return TORIDE_EPARSE;
	}
	if ((r = fetch_build_url(&u, curl_url, sizeof curl_url)) != 0) {
		snprintf(err, errlen, "URL too long to fetch exactly");
		return TORIDE_EPARSE;
	}

	pthread_once(&fetch_once, fetch_init_once);
	if (fetch_init_result != CURLE_OK) {
		snprintf(err, errlen, "libcurl failed to initialise");
		return TORIDE_EIO;
	}
	h = curl_easy_init();
	if (h == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	size_t max = cfg->max_bytes ? cfg->max_bytes : HP_FETCH_MAX_BYTES_DEFAULT;
	size_t room = body->max - body->len;
	struct fetch_ctx c = {
		.scope = cfg->scope,
		.body = body,
		.limit = max < room ? max : room,
	};
	long timeout = cfg->timeout_ms ? (long)cfg->timeout_ms : HP_FETCH_TIMEOUT_MS_DEFAULT;
	bool set_ok =
	    curl_easy_setopt(h, CURLOPT_URL, curl_url) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp,tftp") == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp,tftp") == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, fetch_opensocket) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, fetch_prereq) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_PREREQDATA, &c) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c.limit) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_USERAGENT, HP_FETCH_USER_AGENT) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_FTP_SKIP_PASV_IP, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr) == CURLE_OK;
	if (set_ok && strcmp(u.scheme, "ftp") == 0 && fetch_userinfo(url, user, pass))
		set_ok = curl_easy_setopt(h, CURLOPT_USERNAME, user) == CURLE_OK &&
		         curl_easy_setopt(h, CURLOPT_PASSWORD, pass) == CURLE_OK;
	if (!set_ok) {
		snprintf(err, errlen, "libcurl refused an option (built without a needed feature)");
		r = TORIDE_EIO;
		goto out;
	}

	CURLcode cc = curl_easy_perform(h);
	if (c.refused) {
		/* whatever else happened, an address outside the scope was asked for and not contacted */
		if (cc != CURLE_OK) {
			snprintf(err, errlen, "%s resolves to %s, outside the sample scope: not contacted", u.host,
			         c.refused_addr);
			r = TORIDE_ESCOPE;
			goto out;
		}
	}
	if (cc != CURLE_OK) {
		const char *why = cerr[0] ? cerr : curl_easy_strerror(cc);
		switch (cc) {
		case CURLE_OPERATION_TIMEDOUT: r = TORIDE_ETIMEOUT; break;
		case CURLE_FILESIZE_EXCEEDED: r = TORIDE_ETOOBIG; break;
		case CURLE_WRITE_ERROR: r = c.too_big ? TORIDE_ETOOBIG : TORIDE_EIO; break;
		case CURLE_OUT_OF_MEMORY: r = TORIDE_ENOMEM; break;
		case CURLE_URL_MALFORMAT: r = TORIDE_EPARSE; break;
		default: r = TORIDE_EIO; break;
		}
		if (r == TORIDE_ETOOBIG)
			snprintf(err, errlen, "answer larger than %zu bytes", c.limit);
		else
			snprintf(err, errlen, "%s", why);
		goto out;
	}
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (strncmp(u.scheme, "http", 4) == 0 && (code < 200 || code > 299)) {
		char *loc = NULL;
		curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		if (code >= 300 && code <= 399)
			snprintf(err, errlen, "HTTP %ld redirect%s%.200s not followed", code, loc ? " to " : "",
			         loc ? loc : "");
		else
			snprintf(err, errlen, "HTTP status %ld", code);
		r = TORIDE_EIO;
		goto out;
	}
	r = 0;
out:
	/* err may quote the server (a Location header): keep it printable for logs */
	for (size_t i = 0; i < errlen && err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e)
			err[i] = '?';
	if (r != 0 && body->len > start_len)
		body->len = start_len; /* a failed fetch leaves no partial bytes behind */
	if (h != NULL)
		curl_easy_cleanup(h);
	return r;
}
