/*
 * HTTP/1.x and RTSP/1.0 message parser and request builder. See http.h for the contract.
 *
 * The head is collected line by line into one capped buffer; when the empty line arrives it is
 * split in place into NUL-terminated start-line fields and header name/value pairs, so accessors
 * return pointers into that buffer. The first line is checked as soon as its first bytes arrive,
 * so a peer that is not HTTP/RTSP (an SSH banner, a telnet prompt) is refused at once.
 */
#include "proto/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

/* Longest request method we accept; real ones are <= 13 ("GET_PARAMETER"). */
#define HTTP_MAX_METHOD 32
/* Content-Length and chunk sizes above this are refused: no device sends 2^62 bytes and the
 * bound keeps every sum below UINT64_MAX. */
#define HTTP_MAX_LENGTH (UINT64_C(1) << 62)

enum http_state {
	ST_HEAD,
	ST_BODY_LENGTH,  /* Content-Length body: remaining bytes */
	ST_BODY_EOF,     /* body until the peer closes */
	ST_CHUNK_SIZE,   /* reading a chunk-size line */
	ST_CHUNK_DATA,   /* remaining bytes of the current chunk */
	ST_CHUNK_END,    /* the CRLF after chunk data */
	ST_TRAILER,      /* trailer lines after the last chunk */
	ST_DONE,
};

struct http_header {
	const char *name;
	const char *value;
};

struct toride_http_msg {
	int is_response;
	bool no_body;          /* set by expect_no_body (answer to HEAD) */
	enum http_state state;
	int error;             /* sticky error, 0 if none */
	bool any_bytes;        /* at least one byte was fed */

	/* head collection */
	struct toride_buf head;
	size_t line_start;     /* offset in head of the line being collected */
	size_t skipped;        /* bytes of empty lines before the start line (count toward the cap) */
	size_t head_lines;     /* header lines seen after the start line */
	bool start_line_done;
	bool head_done;

	/* parsed head (pointers into head.data) */
	const char *protocol;
	const char *reason;
	const char *method;
	const char *target;
	int status;
	bool rtsp;
	struct http_header hdr[TORIDE_HTTP_MAX_HEADERS];
	size_t nhdr;

	/* body */
	struct toride_buf body;
	uint64_t remaining;
	uint64_t body_total;
	bool truncated;
	char line[TORIDE_HTTP_MAX_CHUNK_LINE + 1]; /* chunk-size line */
	size_t line_len;       /* bytes in line (or, for CRLF/trailer lines, non-CR bytes seen) */
	size_t trailer_bytes;
	size_t trailer_lines;
};

static const char http_empty[] = "";

static bool
is_tchar(unsigned char c)
{
	/* RFC 9110 5.6.2 token characters. */
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

int
toride_http_msg_new(struct toride_http_msg **out, int is_response)
{
	struct toride_http_msg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return TORIDE_ENOMEM;
	m->is_response = is_response ? 1 : 0;
	toride_buf_init(&m->head, TORIDE_HTTP_MAX_HEAD);
	toride_buf_init(&m->body, TORIDE_HTTP_MAX_BODY);
	toride_http_msg_reset(m);
	*out = m;
	return 0;
}

void
toride_http_msg_free(struct toride_http_msg *m)
{
	if (m == NULL)
		return;
	toride_buf_free(&m->head);
	toride_buf_free(&m->body);
	free(m);
}

void
toride_http_msg_reset(struct toride_http_msg *m)
{
	/* Keep direction and buffers; clear everything else. */
	struct toride_buf head = m->head, body = m->body;
	int is_response = m->is_response;
	memset(m, 0, sizeof(*m));
	m->is_response = is_response;
	m->head = head;
	m->body = body;
	toride_buf_reset(&m->head);
	toride_buf_reset(&m->body);
	m->state = ST_HEAD;
	m->status = -1;
	m->protocol = m->reason = m->method = m->target = http_empty;
}

void
toride_http_msg_expect_no_body(struct toride_http_msg *m)
{
	m->no_body = true;
}

/* Exact protocol names we accept (brief and RFCs: HTTP/1.0, HTTP/1.1, RTSP/1.0). */
static bool
proto_valid(const uint8_t *p, size_t n)
{
	return (n == 8 && (memcmp(p, "HTTP/1.0", 8) == 0 || memcmp(p, "HTTP/1.1", 8) == 0 ||
	                   memcmp(p, "RTSP/1.0", 8) == 0));
}

/* Check a partial first line: refuse non-HTTP bytes as early as possible. */
static int
check_start_prefix(const struct toride_http_msg *m, const uint8_t *p, size_t n)
{
	if (n == 1 && p[0] == '\r')
		return 0; /* maybe an empty CRLF line before the start line */
	if (m->is_response) {
		size_t k = n < 5 ? n : 5;
		if (memcmp(p, "HTTP/", k) != 0 && memcmp(p, "RTSP/", k) != 0)
			return TORIDE_EPARSE;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ')
			return i == 0 ? TORIDE_EPARSE : 0;
		if (!is_tchar(p[i]) || i >= HTTP_MAX_METHOD)
			return TORIDE_EPARSE;
	}
	return 0;
}

/* Validate a complete start line (without its line end). */
static int
check_start_line(const struct toride_http_msg *m, const uint8_t *p, size_t n)
{
	if (m->is_response) {
		/* status-line = HTTP-version SP status-code SP [ reason-phrase ]; the SP before an empty
		 * reason is often missing on devices, so it is optional. */
		if (n < 12 || !proto_valid(p, 8) || p[8] != ' ')
			return TORIDE_EPARSE;
		for (size_t i = 9; i < 12; i++)
			if (p[i] < '0' || p[i] > '9')
				return TORIDE_EPARSE;
		if (n > 12 && p[12] != ' ')
			return TORIDE_EPARSE;
		return 0;
	}
	/* request-line = method SP request-target SP HTTP-version */
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i > HTTP_MAX_METHOD || i >= n || p[i] != ' ')
		return TORIDE_EPARSE;
	size_t t = ++i;
	while (i < n && p[i] > ' ' && p[i] != 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ')
		return TORIDE_EPARSE;
	i++;
	if (!proto_valid(p + i, n - i))
		return TORIDE_EPARSE;
	return 0;
}

/* Length of a line's content: without the LF and one CR before it. */
static size_t
line_content_len(const uint8_t *line, size_t with_lf)
{
	size_t n = with_lf - 1;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	return n;
}

static const char *
find_header(const struct toride_http_msg *m, const char *name, size_t nth)
{
	for (size_t i = 0; i < m->nhdr; i++) {
		if (strcasecmp(m->hdr[i].name, name) == 0) {
			if (nth == 0)
				return m->hdr[i].value;
			nth--;
		}
	}
	return NULL;
}

/* Split the complete head in place into start-line fields and headers. */
static void
split_head(struct toride_http_msg *m)
{
	char *h = (char *)m->head.data;
	size_t n = m->head.len;

	/* Start line: NUL-terminate and cut into fields (validated by check_start_line). */
	char *nl = memchr(h, '\n', n);
	size_t r = (size_t)(nl - h) + 1;
	size_t sl = line_content_len((uint8_t *)h, r);
	h[sl] = '\0';
	if (m->is_response) {
		h[8] = '\0';
		m->protocol = h;
		m->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
		m->reason = sl > 12 ? h + 13 : http_empty;
		while (is_ws((unsigned char)*m->reason))
			m->reason++;
	} else {
		char *sp1 = strchr(h, ' ');
		char *sp2 = strchr(sp1 + 1, ' ');
		*sp1 = '\0';
		*sp2 = '\0';
		m->method = h;
		m->target = sp1 + 1;
		m->protocol = sp2 + 1;
	}
	m->rtsp = strncmp(m->protocol, "RTSP/", 5) == 0;

	/* Headers, compacted in place: writes never overtake reads (see below). */
	size_t w = r;
	bool open = false; /* a header value is being written at w, not yet NUL-terminated */
	while (r < n) {
		char *line = h + r;
		char *lf = memchr(line, '\n', n - r);
		size_t with_lf = (size_t)(lf - line) + 1;
		size_t len = line_content_len((uint8_t *)line, with_lf);
		r += with_lf;
		if (len == 0)
			break;
		if (is_ws((unsigned char)line[0])) {
			/* obs-fold continuation: join with one space (RFC 9112 5.2). */
			size_t a = 0, b = len;
			while (a < b && is_ws((unsigned char)line[a]))
				a++;
			while (b > a && is_ws((unsigned char)line[b - 1]))
				b--;
			if (open && a < b) {
				h[w++] = ' ';
				memmove(h + w, line + a, b - a);
				w += b - a;
			}
			continue;
		}
		if (open) {
			h[w++] = '\0';
			open = false;
		}
		char *colon = memchr(line, ':', len);
		if (colon == NULL)
			continue; /* tolerate junk lines from broken devices */
		size_t nl_len = (size_t)(colon - line);
		while (nl_len > 0 && is_ws((unsigned char)line[nl_len - 1]))
			nl_len--;
		bool ok = nl_len > 0;
		for (size_t i = 0; i < nl_len && ok; i++)
			ok = is_tchar((unsigned char)line[i]);
		if (!ok)
			continue;
		size_t a = (size_t)(colon - line) + 1, b = len;
		while (a < b && is_ws((unsigned char)line[a]))
			a++;
		while (b > a && is_ws((unsigned char)line[b - 1]))
			b--;
		/* name + NUL takes the place of name + ':'; the value is at most what follows. */
		memmove(h + w, line, nl_len);
		m->hdr[m->nhdr].name = h + w;
		w += nl_len;
		h[w++] = '\0';
		memmove(h + w, line + a, b - a);
		m->hdr[m->nhdr].value = h + w;
		m->nhdr++;
		w += b - a;
		open = true;
	}
	if (open)
		h[w++] = '\0';
}

/* Parse a Content-Length value ("12" or the repeated "12, 12"); 0 or TORIDE_EPARSE. */
static int
parse_content_length(const char *v, uint64_t *out, bool *have)
{
	while (*v != '\0') {
		while (is_ws((unsigned char)*v))
			v++;
		if (*v < '0' || *v > '9')
			return TORIDE_EPARSE;
		uint64_t x = 0;
		while (*v >= '0' && *v <= '9') {
			x = x * 10 + (uint64_t)(*v - '0');
			if (x > HTTP_MAX_LENGTH)
				return TORIDE_EPARSE;
			v++;
		}
		while (is_ws((unsigned char)*v))
			v++;
		if (*v == ',')
			v++;
		else if (*v != '\0')
			return TORIDE_EPARSE;
		if (*have && x != *out)
			return TORIDE_EPARSE; /* conflicting lengths: request smuggling shape */
		*out = x;
		*have = true;
	}
	return 0;
}

/* True if the last transfer coding of the last Transfer-Encoding header is chunked. */
static bool
te_is_chunked(const char *v)
{
	const char *last = strrchr(v, ',');
	last = last ? last + 1 : v;
	while (is_ws((unsigned char)*last))
		last++;
	size_t n = strlen(last);
	while (n > 0 && is_ws((unsigned char)last[n - 1]))
		n--;
	return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

/* The head is complete: split it and choose the body framing. */
static int
finish_head(struct toride_http_msg *m)
{
	split_head(m);
	m->head_done = true;

	if (m->is_response && (m->no_body || m->status / 100 == 1 || m->status == 204 || m->status == 304)) {
		m->state = ST_DONE;
		return 0;
	}
	const char *te = NULL;
	for (size_t i = 0; !m->rtsp && find_header(m, "Transfer-Encoding", i) != NULL; i++)
		te = find_header(m, "Transfer-Encoding", i);
	if (te != NULL) {
		/* RFC 9112 6.3: chunked wins over Content-Length; another final coding means
		 * until-EOF for a response and an unframeable request. */
		if (te_is_chunked(te))
			m->state = ST_CHUNK_SIZE;
		else if (m->is_response)
			m->state = ST_BODY_EOF;
		else
			return TORIDE_EPARSE;
		return 0;
	}
	uint64_t cl = 0;
	bool have = false;
	const char *v;
	for (size_t i = 0; (v = find_header(m, "Content-Length", i)) != NULL; i++) {
		int r = parse_content_length(v, &cl, &have);
		if (r != 0)
			return r;
	}
	if (have) {
		m->remaining = cl;
		m->state = cl > 0 ? ST_BODY_LENGTH : ST_DONE;
	} else if (!m->is_response || m->rtsp) {
		m->state = ST_DONE; /* requests and RTSP messages without a length have no body */
	} else {
		m->state = ST_BODY_EOF;
	}
	return 0;
}

static int
head_feed(struct toride_http_msg *m, const uint8_t *p, size_t n, size_t *used)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	*used = take;
	if (memchr(p, '\0', take) != NULL)
		return TORIDE_EPARSE;
	if (take > TORIDE_HTTP_MAX_HEAD - m->skipped - m->head.len)
		return TORIDE_ETOOBIG;
	int r = toride_buf_append(&m->head, p, take);
	if (r != 0)
		return r;
	const uint8_t *line = m->head.data + m->line_start;
	size_t line_len = m->head.len - m->line_start;
	if (!m->start_line_done) {
		if (nl == NULL)
			return check_start_prefix(m, line, line_len);
		size_t cl = line_content_len(line, line_len);
		if (cl == 0) {
			/* RFC 9112 2.2: ignore empty lines before the start line. */
			m->skipped += m->head.len;
			toride_buf_reset(&m->head);
			return 0;
		}
		r = check_start_prefix(m, line, cl);
		if (r == 0)
			r = check_start_line(m, line, cl);
		if (r != 0)
			return r;
		m->start_line_done = true;
		m->line_start = m->head.len;
		return 0;
	}
	if (nl == NULL)
		return 0;
	if (line_content_len(line, line_len) == 0)
		return finish_head(m);
	if (++m->head_lines > TORIDE_HTTP_MAX_HEADERS)
		return TORIDE_ETOOBIG;
	m->line_start = m->head.len;
	return 0;
}

static int
body_keep(struct toride_http_msg *m, const uint8_t *p, size_t n)
{
	m->body_total += n;
	size_t room = TORIDE_HTTP_MAX_BODY - m->body.len;
	size_t k = n < room ? n : room;
	if (k < n)
		m->truncated = true;
	return k > 0 ? toride_buf_append(&m->body, p, k) : 0;
}

/* Consume up to the end of a line without storing it; *done when the LF was seen. line_len counts
 * the bytes other than CR. */
static size_t
skip_line(struct toride_http_msg *m, const uint8_t *p, size_t n, bool *done)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	for (size_t i = 0; i < take; i++)
		if (p[i] != '\r' && p[i] != '\n')
			m->line_len++;
	*done = nl != NULL;
	return take;
}

static int
parse_chunk_size(const char *s, uint64_t *out)
{
	uint64_t x = 0;
	size_t digits = 0;
	while (is_ws((unsigned char)*s))
		s++;
	for (;; s++, digits++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		x = x * 16 + (uint64_t)d;
		if (x > HTTP_MAX_LENGTH)
			return TORIDE_EPARSE;
	}
	if (digits == 0)
		return TORIDE_EPARSE;
	while (is_ws((unsigned char)*s))
		s++;
	if (*s != '\0' && *s != ';')
		return TORIDE_EPARSE;
	*out = x;
	return 0;
}

static int
body_feed(struct toride_http_msg *m, const uint8_t *p, size_t n, size_t *used)
{
	bool done;
	switch (m->state) {
	case ST_BODY_LENGTH:
	case ST_CHUNK_DATA: {
		size_t k = (uint64_t)n < m->remaining ? n : (size_t)m->remaining;
		*used = k;
		m->remaining -= k;
		int r = body_keep(m, p, k);
		if (r == 0 && m->remaining == 0)
			m->state = m->state == ST_BODY_LENGTH ? ST_DONE : ST_CHUNK_END;
		return r;
	}
	case ST_BODY_EOF:
		*used = n;
		return body_keep(m, p, n);
	case ST_CHUNK_SIZE: {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) + 1 : n;
		*used = take;
		if (take > sizeof(m->line) - 1 - m->line_len)
			return TORIDE_ETOOBIG;
		memcpy(m->line + m->line_len, p, take);
		m->line_len += take;
		if (nl == NULL)
			return 0;
		size_t cl = line_content_len((uint8_t *)m->line, m->line_len);
		m->line[cl] = '\0';
		if (memchr(m->line, '\0', cl) != NULL)
			return TORIDE_EPARSE;
		m->line_len = 0;
		uint64_t size;
		int r = parse_chunk_size(m->line, &size);
		if (r != 0)
			return r;
		m->remaining = size;
		m->state = size > 0 ? ST_CHUNK_DATA : ST_TRAILER;
		return 0;
	}
	case ST_CHUNK_END:
		*used = skip_line(m, p, n, &done);
		if (done) {
			if (m->line_len != 0)
				return TORIDE_EPARSE; /* chunk data longer than its size said */
			m->state = ST_CHUNK_SIZE;
		}
		return 0;
	case ST_TRAILER:
		*used = skip_line(m, p, n, &done);
		m->trailer_bytes += *used;
		if (m->trailer_bytes > TORIDE_HTTP_MAX_HEAD)
			return TORIDE_ETOOBIG;
		if (done) {
			if (m->line_len == 0) {
				m->state = ST_DONE;
				return 0;
			}
			if (++m->trailer_lines > TORIDE_HTTP_MAX_HEADERS)
				return TORIDE_ETOOBIG;
			m->line_len = 0;
		}
		return 0;
	default:
		*used = 0;
		return TORIDE_ESTATE;
	}
}

int
toride_http_msg_parse(struct toride_http_msg *m, const uint8_t *data, size_t len, size_t *consumed)
{
	size_t off = 0;
	int r = 0;

	if (m->error != 0) {
		*consumed = 0;
		return m->error;
	}
	if (len > 0)
		m->any_bytes = true;
	while (off < len && m->state != ST_DONE) {
		size_t used = 0;
		if (m->state == ST_HEAD)
			r = head_feed(m, data + off, len - off, &used);
		else
			r = body_feed(m, data + off, len - off, &used);
		off += used;
		if (r != 0) {
			m->error = r;
			goto out;
		}
	}
	r = m->state == ST_DONE ? 0 : TORIDE_EINCOMPLETE;
out:
	*consumed = off;
	return r;
}

int
toride_http_msg_eof(struct toride_http_msg *m)
{
	if (m->state == ST_DONE)
		return 0;
	if (m->error != 0)
		return m->error;
	if (m->state == ST_BODY_EOF) {
		m->state = ST_DONE;
		return 0;
	}
	if (!m->any_bytes)
		return TORIDE_EINCOMPLETE;
	m->error = TORIDE_EPARSE;
	return TORIDE_EPARSE;
}

bool
toride_http_msg_head_done(const struct toride_http_msg *m)
{
	return m->head_done;
}

int
toride_http_msg_status(const struct toride_http_msg *m)
{
	return m->head_done && m->is_response ? m->status : -1;
}

const char *
toride_http_msg_protocol(const struct toride_http_msg *m)
{
	return m->head_done ? m->protocol : http_empty;
}

bool
toride_http_msg_is_rtsp(const struct toride_http_msg *m)
{
	return m->head_done && m->rtsp;
}

const char *
toride_http_msg_reason(const struct toride_http_msg *m)
{
	return m->head_done ? m->reason : http_empty;
}

const char *
toride_http_msg_method(const struct toride_http_msg *m)
{
	return m->head_done ? m->method : http_empty;
}

const char *
toride_http_msg_target(const struct toride_http_msg *m)
{
	return m->head_done ? m->target : http_empty;
}

const char *
toride_http_msg_header(const struct toride_http_msg *m, const char *name, size_t nth)
{
	return m->head_done ? find_header(m, name, nth) : NULL;
}

size_t
toride_http_msg_header_count(const struct toride_http_msg *m)
{
	return m->head_done ? m->nhdr : 0;
}

int
toride_http_msg_header_at(const struct toride_http_msg *m, size_t i, const char **name, const char **value)
{
	if (!m->head_done || i >= m->nhdr)
		return TORIDE_ENOTFOUND;
	*name = m->hdr[i].name;
	*value = m->hdr[i].value;
	return 0;
}

const uint8_t *
toride_http_msg_body(const struct toride_http_msg *m, size_t *len)
{
	*len = m->body.len;
	/* The buffer always reserves one spare byte; keep the promised NUL there. */
	if (m->body.data == NULL)
		return (const uint8_t *)http_empty;
	m->body.data[m->body.len] = '\0';
	return m->body.data;
}

bool
toride_http_msg_body_truncated(const struct toride_http_msg *m)
{
	return m->truncated;
}

uint64_t
toride_http_msg_body_total(const struct toride_http_msg *m)
{
	return m->body_total;
}

static uint8_t
ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Offset of the ASCII-case-insensitive needle (lower case) in hay[from..n), or n if absent. */
static size_t
ci_find(const uint8_t *hay, size_t n, size_t from, const char *needle)
{
	size_t k = strlen(needle);
	if (k > n)
		return n;
	for (size_t i = from; i + k <= n; i++) {
		size_t j = 0;
		while (j < k && ascii_lower(hay[i + j]) == (uint8_t)needle[j])
			j++;
		if (j == k)
			return i;
	}
	return n;
}

static bool
html_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Title output with a byte limit; drops whole writes that do not fit. */
struct title_out {
	char *p;
	size_t len;
	size_t limit;
	bool full;
	bool space; /* a whitespace run is pending */
};

static void
title_put(struct title_out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->space && o->len > 0) {
		if (o->len + 1 > o->limit) {
			o->full = true;
			return;
		}
		o->p[o->len++] = ' ';
	}
	o->space = false;
	if (n > o->limit - o->len) {
		/* Copy what fits, then drop a cut UTF-8 sequence at the end. */
		size_t k = o->limit - o->len;
		memcpy(o->p + o->len, s, k);
		o->len += k;
		size_t i = o->len, back = 0;
		while (i > 0 && back < 4 && ((uint8_t)o->p[i - 1] & 0xc0) == 0x80) {
			i--;
			back++;
		}
		if (i > 0 && ((uint8_t)o->p[i - 1] & 0x80) != 0) {
			uint8_t lead = (uint8_t)o->p[i - 1];
			size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
			if (need > back + 1)
				o->len = i - 1;
		}
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the entity at p[0] == '&' (n bytes available). Returns bytes consumed (0: not an entity
 * we know, emit '&' literally); *cp the code point, or UINT32_MAX for "drop it". */
static size_t
html_entity(const uint8_t *p, size_t n, uint32_t *cp)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
		{ "nbsp;", ' ' },
	};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t k = strlen(named[i].name);
		if (n >= k + 1 && strncasecmp((const char *)p + 1, named[i].name, k) == 0) {
			*cp = named[i].cp;
			return k + 1;
		}
	}
	if (n < 4 || p[1] != '#')
		return 0;
	size_t i = 2;
	bool hex = ascii_lower(p[2]) == 'x';
	if (hex)
		i++;
	uint32_t v = 0;
	size_t digits = 0;
	/* At most 7 digits: enough for U+10FFFF in either base, no overflow. */
	for (; i < n && digits < 8; i++, digits++) {
		uint8_t c = p[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (hex && ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f')
			d = ascii_lower(c) - 'a' + 10;
		else
			break;
		v = v * (hex ? 16 : 10) + (uint32_t)d;
	}
	if (digits == 0 || digits > 7 || i >= n || p[i] != ';')
		return 0;
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || v < 0x20 || v == 0x7f)
		v = (v == '\t' || v == '\n' || v == '\r') ? ' ' : UINT32_MAX;
	*cp = v;
	return i + 1;
}

int
toride_http_msg_title(const struct toride_http_msg *m, char *out, size_t outlen)
{
	if (outlen == 0)
		return TORIDE_EINVAL;
	out[0] = '\0';
	const uint8_t *b = m->body.data;
	size_t n = m->body.len;
	if (b == NULL)
		return TORIDE_ENOTFOUND;
	size_t at = 0, start;
	for (;;) {
		at = ci_find(b, n, at, "<title");
		if (at == n)
			return TORIDE_ENOTFOUND;
		at += 6;
		if (at < n && (b[at] == '>' || html_space(b[at])))
			break;
	}
	while (at < n && b[at] != '>')
		at++;
	if (at == n)
		return TORIDE_ENOTFOUND;
	start = at + 1;
	size_t end = ci_find(b, n, start, "</title");

	struct title_out o = { .p = out, .limit = outlen - 1 < TORIDE_HTTP_MAX_TITLE ? outlen - 1 : TORIDE_HTTP_MAX_TITLE };
	for (size_t i = start; i < end && !o.full;) {
		uint8_t c = b[i];
		if (html_space(c)) {
			o.space = true;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			i++;
		} else if (c == '&') {
			uint32_t cp;
			size_t k = html_entity(b + i, end - i, &cp);
			if (k == 0) {
				title_put(&o, "&", 1);
				i++;
				continue;
			}
			i += k;
			if (cp == ' ')
				o.space = true;
			else if (cp != UINT32_MAX) {
				char u[4];
				title_put(&o, u, utf8_encode(cp, u));
			}
		} else {
			title_put(&o, (const char *)&c, 1);
			i++;
		}
	}
	while (o.len > 0 && out[o.len - 1] == ' ')
		o.len--; /* a cut can leave the pending space last */
	out[o.len] = '\0';
	return 0;
}

/* Within the tag attributes [i, end): does type=password appear? */
static bool
input_is_password(const uint8_t *b, size_t i, size_t end)
{
	while (i < end) {
		while (i < end && (html_space(b[i]) || b[i] == '/'))
			i++;
		size_t ns = i;
		while (i < end && !html_space(b[i]) && b[i] != '=' && b[i] != '/')
			i++;
		size_t nlen = i - ns;
		while (i < end && html_space(b[i]))
			i++;
		if (i >= end || b[i] != '=') {
			if (nlen == 0)
				i++;
			continue;
		}
		i++;
		while (i < end && html_space(b[i]))
			i++;
		size_t vs, ve;
		if (i < end && (b[i] == '"' || b[i] == '\'')) {
			uint8_t q = b[i++];
			vs = i;
			while (i < end && b[i] != q)
				i++;
			ve = i;
			if (i < end)
				i++;
		} else {
			vs = i;
			while (i < end && !html_space(b[i]))
				i++;
			ve = i;
		}
		if (nlen == 4 && strncasecmp((const char *)b + ns, "type", 4) == 0 && ve - vs == 8 &&
		    strncasecmp((const char *)b + vs, "password", 8) == 0)
			return true;
	}
	return false;
}

bool
toride_http_msg_has_password_form(const struct toride_http_msg *m)
{
	const uint8_t *b = m->body.data;
	size_t n = m->body.len;
	if (b == NULL)
		return false;
	size_t at = ci_find(b, n, 0, "<form");
	while (at < n) {
		at = ci_find(b, n, at, "<input");
		if (at == n)
			break;
		at += 6;
		if (at < n && !html_space(b[at]))
			continue;
		size_t end = at;
		while (end < n && b[end] != '>')
			end++;
		if (input_is_password(b, at, end))
			return true;
		at = end;
	}
	return false;
}

/* No byte below 0x20 (or DEL) in s; with no_space also no SP. */
static bool
field_ok(const char *s, bool no_space)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\t' && !no_space)
			continue;
		if (c < 0x20 || c == 0x7f || (no_space && c == ' '))
			return false;
	}
	return true;
}

static bool
extra_headers_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return true;
	if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n')
		return false;
	/* Every LF closes a non-empty CRLF line: no bare LF, no empty line ending the head early. */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return false;
		if (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
			return false;
		if (s[i] == '\n' && i + 2 < n && s[i + 1] == '\r')
			return false;
	}
	return s[0] != '\r';
}

int
toride_http_build_request(struct toride_buf *out, const char *method, const char *target, const char *proto,
                          const char *host, unsigned cseq, const char *user_agent, const char *extra_headers)
{
	int r;
	size_t start = out->len;
	bool rtsp;

	if (method == NULL || target == NULL || proto == NULL || method[0] == '\0' || target[0] == '\0' ||
	    proto[0] == '\0')
		return TORIDE_EINVAL;
	for (const char *c = method; *c != '\0'; c++)
		if (!is_tchar((unsigned char)*c))
			return TORIDE_EINVAL;
	if (!field_ok(target, true) || !field_ok(proto, true) || (host != NULL && !field_ok(host, true)) ||
	    (user_agent != NULL && !field_ok(user_agent, false)) ||
	    (extra_headers != NULL && !extra_headers_ok(extra_headers)))
		return TORIDE_EINVAL;
	rtsp = strncmp(proto, "RTSP/", 5) == 0;

	r = toride_buf_printf(out, "%s %s %s\r\n", method, target, proto);
	if (r == 0 && !rtsp && host != NULL)
		r = toride_buf_printf(out, "Host: %s\r\n", host);
	if (r == 0 && rtsp && cseq > 0)
		r = toride_buf_printf(out, "CSeq: %u\r\n", cseq);
	if (r == 0 && user_agent != NULL)
		r = toride_buf_printf(out, "User-Agent: %s\r\n", user_agent);
	if (r == 0 && extra_headers != NULL)
		r = toride_buf_append_str(out, extra_headers);
	if (r == 0)
		r = toride_buf_append(out, "\r\n", 2);
	if (r != 0)
		out->len = start; /* all or nothing */
	return r;
}
