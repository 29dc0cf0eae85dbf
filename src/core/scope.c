#include "core/scope.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/*
 * Internally an address is an unsigned 128-bit number plus its family; an interval is [lo, hi]
 * inclusive. Ordering is (family, lo), which is the canonical order of the header: IPv4 first.
 */
typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)
#define V4_MAX ((u128)UINT32_MAX)

/* Quoted input in messages: at most this many input bytes, each up to 4 output characters. */
#define QUOTE_MAX 64
#define QUOTE_BUFLEN (QUOTE_MAX * 4 + 4)
/* Chunk size for reading scope files: a few pages, small enough for the stack. */
#define FILE_CHUNK 16384

struct scope_range {
	u128 lo, hi;
	uint8_t family;
};

struct scope_excl {
	struct scope_range r;
	uint8_t kind;       /* enum toride_scope_excl_kind */
	bool lifted;
	uint32_t reason;    /* index into reasons */
	unsigned long line;
	uint64_t removed;
};

struct range_vec {
	struct scope_range *v;
	size_t n, cap;
};

struct toride_scope {
	struct range_vec inc;
	struct scope_excl *ex;
	size_t nex, capex;
	struct range_vec lifts;
	char **reasons;
	size_t nreasons, capreasons;
	bool finalized;
	/* effective set, after finalize */
	struct scope_range *eff;
	uint64_t *cum; /* cum[i]: effective addresses before eff[i] */
	size_t neff;
	uint64_t count;
};

enum scope_mode {
	MODE_INCLUDE,
	MODE_OPTOUT,
	MODE_DEFAULT,
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void scope_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
scope_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copy n bytes of user input into out as printable ASCII (other bytes as \xHH), cut at
 * QUOTE_MAX bytes with "...", so that messages about hostile input stay one safe line. */
static void
scope_quote(const char *p, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t lim = n > QUOTE_MAX ? QUOTE_MAX : n;
	for (size_t i = 0; i < lim && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (n > lim && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (outlen > 0)
		out[o < outlen ? o : outlen - 1] = '\0';
}

static u128
addr_to_u128(const struct toride_addr *a)
{
	u128 v = 0;
	int n = a->family == 4 ? 4 : 16;
	for (int i = 0; i < n; i++)
		v = (v << 8) | a->b[i];
	return v;
}

static void
u128_to_addr(uint8_t family, u128 v, struct toride_addr *out)
{
	memset(out, 0, sizeof *out);
	out->family = family;
	int n = family == 4 ? 4 : 16;
	for (int i = n - 1; i >= 0; i--) {
		out->b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static u128
family_max(uint8_t family)
{
	return family == 4 ? V4_MAX : U128_MAX;
}

static uint64_t
u128_sat64(u128 v)
{
	return v > (u128)UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static int
range_cmp(const struct scope_range *a, const struct scope_range *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return 0;
}

static int
range_qsort_cmp(const void *a, const void *b)
{
	return range_cmp(a, b);
}

static int
range_vec_push(struct range_vec *rv, const struct scope_range *r)
{
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 16;
		struct scope_range *p = realloc(rv->v, cap * sizeof *p);
		if (p == NULL)
			return TORIDE_ENOMEM;
		rv->v = p;
		rv->cap = cap;
	}
	rv->v[rv->n++] = *r;
	return 0;
}

/* Sort and merge overlapping or touching ranges of the same family, in place. */
static void
range_vec_normalise(struct range_vec *rv)
{
	if (rv->n == 0)
		return;
	qsort(rv->v, rv->n, sizeof rv->v[0], range_qsort_cmp);
	size_t o = 0;
	for (size_t i = 1; i < rv->n; i++) {
		struct scope_range *cur = &rv->v[o];
		const struct scope_range *nx = &rv->v[i];
		if (nx->family == cur->family &&
		    (cur->hi == family_max(cur->family) || nx->lo <= cur->hi + 1)) {
			if (nx->hi > cur->hi)
				cur->hi = nx->hi;
		} else {
			rv->v[++o] = *nx;
		}
	}
	rv->n = o + 1;
}

/* out = a minus b; both sorted and merged. out is sorted and merged too. */
static int
range_vec_subtract(const struct range_vec *a, const struct range_vec *b, struct range_vec *out)
{
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++) {
		struct scope_range cur = a->v[i];
		bool alive = true;
		/* skip exclusions wholly before cur */
		while (j < b->n && (b->v[j].family < cur.family ||
		                    (b->v[j].family == cur.family && b->v[j].hi < cur.lo)))
			j++;
		size_t k = j;
		while (alive && k < b->n && b->v[k].family == cur.family && b->v[k].lo <= cur.hi) {
			const struct scope_range *x = &b->v[k];
			if (x->lo > cur.lo) {
				struct scope_range piece = { cur.lo, x->lo - 1, cur.family };
				int r = range_vec_push(out, &piece);
				if (r != 0)
					return r;
			}
			if (x->hi >= cur.hi)
				alive = false;
			else
				cur.lo = x->hi + 1;
			k++;
		}
		if (alive) {
			int r = range_vec_push(out, &cur);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

static size_t
scope_nentries(const struct toride_scope *s)
{
	return s->inc.n + s->nex;
}

static int
scope_add_reason(struct toride_scope *s, const char *text, size_t len, uint32_t *id)
{
	if (len > TORIDE_SCOPE_REASON_MAX)
		len = TORIDE_SCOPE_REASON_MAX;
	if (s->nreasons >= UINT32_MAX)
		return TORIDE_ETOOBIG;
	if (s->nreasons == s->capreasons) {
		size_t cap = s->capreasons ? s->capreasons * 2 : 16;
		char **p = realloc(s->reasons, cap * sizeof *p);
		if (p == NULL)
			return TORIDE_ENOMEM;
		s->reasons = p;
		s->capreasons = cap;
	}
	char *copy = malloc(len * 4 + 1); /* worst case every byte becomes \xHH */
	if (copy == NULL)
		return TORIDE_ENOMEM;
	/* reasons come from files and the command line: store them printable */
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x20 && c < 0x7f) {
			copy[o++] = (char)c;
		} else {
			copy[o++] = '\\';
			copy[o++] = 'x';
			copy[o++] = hex[c >> 4];
			copy[o++] = hex[c & 15];
		}
	}
	copy[o] = '\0';
	s->reasons[s->nreasons] = copy;
	*id = (uint32_t)s->nreasons++;
	return 0;
}

static int
scope_push_excl(struct toride_scope *s, const struct scope_range *r, uint8_t kind, uint32_t reason,
                unsigned long line)
{
	if (s->nex == s->capex) {
		size_t cap = s->capex ? s->capex * 2 : 16;
		struct scope_excl *p = realloc(s->ex, cap * sizeof *p);
		if (p == NULL)
			return TORIDE_ENOMEM;
		s->ex = p;
		s->capex = cap;
	}
	struct scope_excl *e = &s->ex[s->nex++];
	memset(e, 0, sizeof *e);
	e->r = *r;
	e->kind = kind;
	e->reason = reason;
	e->line = line;
	return 0;
}

/* Format an internal range like toride_scope_range_format(). */
static void
range_format(const struct scope_range *r, char *out, size_t outlen)
{
	struct toride_addr a, b;
	u128_to_addr(r->family, r->lo, &a);
	u128_to_addr(r->family, r->hi, &b);
	if (toride_scope_range_format(&a, &b, out, outlen) != 0 && outlen > 0)
		out[0] = '\0';
}

/* ---- spec parsing ----------------------------------------------------------------------- */

static bool
spec_char_ok(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == '.' || c == ':' || c == '/' || c == '-';
}

/* Parse one address out of p[0..n) (not NUL-terminated). */
static int
spec_addr(const char *p, size_t n, struct toride_addr *out)
{
	char tmp[TORIDE_SCOPE_SPEC_MAX + 1];
	if (n == 0 || n > TORIDE_SCOPE_SPEC_MAX)
		return TORIDE_EPARSE;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return toride_addr_parse(tmp, out);
}

/*
 * Parse the spec p[0..n) into one range. The accepted grammar is deliberately narrow:
 *   addr | addr "/" 1*3DIGIT | addr "-" addr
 * with addr as toride_addr_parse() takes it. Every rejection names the input.
 */
static int
spec_parse(const char *p, size_t n, struct scope_range *out, char *err, size_t errlen)
{
	char q[QUOTE_BUFLEN];
	scope_quote(p, n, q, sizeof q);
	if (n == 0) {
		scope_err(err, errlen, "empty address spec");
		return TORIDE_EPARSE;
	}
	if (n > TORIDE_SCOPE_SPEC_MAX) {
		scope_err(err, errlen, "address spec \"%s\" is too long (more than %d characters)", q,
		          TORIDE_SCOPE_SPEC_MAX);
		return TORIDE_EPARSE;
	}
	const char *slash = NULL, *dash = NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!spec_char_ok(c)) {
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
				scope_err(err, errlen, "address spec \"%s\" contains whitespace", q);
			else
				scope_err(err, errlen, "address spec \"%s\": unexpected character at offset %zu",
				          q, i);
			return TORIDE_EPARSE;
		}
		if (c == '/') {
			if (slash != NULL) {
				scope_err(err, errlen, "address spec \"%s\" has more than one '/'", q);
				return TORIDE_EPARSE;
			}
			slash = p + i;
		} else if (c == '-') {
			if (dash != NULL) {
				scope_err(err, errlen, "address spec \"%s\" has more than one '-'", q);
				return TORIDE_EPARSE;
			}
			dash = p + i;
		}
	}
	if (slash != NULL && dash != NULL) {
		scope_err(err, errlen, "address spec \"%s\" mixes a prefix '/' and a range '-'", q);
		return TORIDE_EPARSE;
	}

	struct toride_addr a, b;
	if (slash != NULL) {
		size_t alen = (size_t)(slash - p);
		const char *d = slash + 1;
		size_t dlen = n - alen - 1;
		if (spec_addr(p, alen, &a) != 0) {
			scope_err(err, errlen, "address spec \"%s\": not an IPv4 or IPv6 address before '/'", q);
			return TORIDE_EPARSE;
		}
		unsigned plen = 0;
		/* 1-3 digits, no leading zero: "/08" is refused like an octal-looking address */
		if (dlen == 0 || dlen > 3 || (dlen > 1 && d[0] == '0')) {
			scope_err(err, errlen, "address spec \"%s\": bad prefix length", q);
			return TORIDE_EPARSE;
		}
		for (size_t i = 0; i < dlen; i++) {
			if (d[i] < '0' || d[i] > '9') {
				scope_err(err, errlen, "address spec \"%s\": bad prefix length", q);
				return TORIDE_EPARSE;
			}
			plen = plen * 10 + (unsigned)(d[i] - '0');
		}
		unsigned bits = a.family == 4 ? 32 : 128;
		if (plen > bits) {
			scope_err(err, errlen, "address spec \"%s\": prefix length %u is larger than %u", q,
			          plen, bits);
			return TORIDE_EPARSE;
		}
		u128 v = addr_to_u128(&a);
		u128 hostmask = plen == bits ? 0 : (plen == 0 ? family_max(a.family)
		                                              : (((u128)1 << (bits - plen)) - 1));
		if ((v & hostmask) != 0) {
			struct scope_range net = { v & ~hostmask, (v & ~hostmask) | hostmask, a.family };
			char fixed[TORIDE_SCOPE_RANGE_STRLEN];
			range_format(&net, fixed, sizeof fixed);
			scope_err(err, errlen,
			          "address spec \"%s\": host bits set in CIDR (the network is %s; give "
			          "that, or a range)", q, fixed);
			return TORIDE_EPARSE;
		}
		out->family = a.family;
		out->lo = v;
		out->hi = v | hostmask;
		return 0;
	}
	if (dash != NULL) {
		size_t alen = (size_t)(dash - p);
		if (spec_addr(p, alen, &a) != 0 || spec_addr(dash + 1, n - alen - 1, &b) != 0) {
			scope_err(err, errlen, "address spec \"%s\": a range must be two full addresses "
			          "\"first-last\"", q);
			return TORIDE_EPARSE;
		}
		if (a.family != b.family) {
			scope_err(err, errlen, "address spec \"%s\": range mixes IPv4 and IPv6", q);
			return TORIDE_EPARSE;
		}
		u128 lo = addr_to_u128(&a), hi = addr_to_u128(&b);
		if (lo > hi) {
			scope_err(err, errlen, "address spec \"%s\": range is reversed (first > last)", q);
			return TORIDE_EPARSE;
		}
		out->family = a.family;
		out->lo = lo;
		out->hi = hi;
		return 0;
	}
	if (spec_addr(p, n, &a) != 0) {
		scope_err(err, errlen, "address spec \"%s\" is not an IPv4 or IPv6 address, CIDR or range",
		          q);
		return TORIDE_EPARSE;
	}
	out->family = a.family;
	out->lo = out->hi = addr_to_u128(&a);
	return 0;
}

static int
scope_check_room(const struct toride_scope *s, char *err, size_t errlen)
{
	if (s->finalized) {
		scope_err(err, errlen, "scope is already finalized");
		return TORIDE_ESTATE;
	}
	if (scope_nentries(s) >= TORIDE_SCOPE_MAX_ENTRIES) {
		scope_err(err, errlen, "too many scope entries (limit %u)", TORIDE_SCOPE_MAX_ENTRIES);
		return TORIDE_ETOOBIG;
	}
	return 0;
}

/* ---- public: building ------------------------------------------------------------------- */

int
toride_scope_new(struct toride_scope **out)
{
	*out = calloc(1, sizeof **out);
	return *out == NULL ? TORIDE_ENOMEM : 0;
}

void
toride_scope_free(struct toride_scope *s)
{
	if (s == NULL)
		return;
	free(s->inc.v);
	free(s->ex);
	free(s->lifts.v);
	for (size_t i = 0; i < s->nreasons; i++)
		free(s->reasons[i]);
	free(s->reasons);
	free(s->eff);
	free(s->cum);
	free(s);
}

int
toride_scope_add(struct toride_scope *s, const char *spec, char *err, size_t errlen)
{
	struct scope_range r;
	int ret = scope_check_room(s, err, errlen);
	if (ret != 0)
		return ret;
	ret = spec_parse(spec, strnlen(spec, TORIDE_SCOPE_SPEC_MAX + 1), &r, err, errlen);
	if (ret != 0)
		return ret;
	return range_vec_push(&s->inc, &r);
}

int
toride_scope_exclude(struct toride_scope *s, const char *spec, const char *reason, char *err,
                     size_t errlen)
{
	struct scope_range r;
	uint32_t rid;
	int ret = scope_check_room(s, err, errlen);
	if (ret != 0)
		return ret;
	ret = spec_parse(spec, strnlen(spec, TORIDE_SCOPE_SPEC_MAX + 1), &r, err, errlen);
	if (ret != 0)
		return ret;
	if (reason == NULL || reason[0] == '\0')
		reason = "user exclusion";
	ret = scope_add_reason(s, reason, strnlen(reason, TORIDE_SCOPE_REASON_MAX), &rid);
	if (ret != 0)
		return ret;
	return scope_push_excl(s, &r, TORIDE_SCOPE_EXCL_USER, rid, 0);
}

/* ---- files ------------------------------------------------------------------------------ */

struct line_reader {
	struct toride_scope *s;
	enum scope_mode mode;
	const char *name;
	uint32_t file_reason; /* opt-out lists: the reason shared by all lines */
	char *err;
	size_t errlen;
	unsigned long lineno;
	size_t len;
	bool too_long;
	bool has_nul;
	char line[TORIDE_SCOPE_LINE_MAX];
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Prefix a message already in lr->err with "name:line: ". */
static void
lr_prefix_err(struct line_reader *lr)
{
	if (lr->err == NULL || lr->errlen == 0)
		return;
	char msg[512], qn[QUOTE_BUFLEN];
	snprintf(msg, sizeof msg, "%s", lr->err);
	scope_quote(lr->name, strlen(lr->name), qn, sizeof qn);
	scope_err(lr->err, lr->errlen, "%s:%lu: %s", qn, lr->lineno, msg);
}

static int
lr_line(struct line_reader *lr)
{
	struct toride_scope *s = lr->s;
	char *p = lr->line;
	size_t n = lr->len;
	int ret;

	if (lr->too_long) {
		scope_err(lr->err, lr->errlen, "line longer than %d bytes", TORIDE_SCOPE_LINE_MAX);
		ret = TORIDE_EPARSE;
		goto out;
	}
	if (lr->has_nul) {
		scope_err(lr->err, lr->errlen, "line contains a NUL byte");
		ret = TORIDE_EPARSE;
		goto out;
	}
	/* trim leading whitespace */
	while (n > 0 && is_space(*p)) {
		p++;
		n--;
	}
	if (n == 0 || *p == '#')
		return 0;
	/* the spec runs to the first whitespace or '#' */
	size_t sl = 0;
	while (sl < n && !is_space(p[sl]) && p[sl] != '#')
		sl++;
	const char *rest = p + sl;
	size_t rn = n - sl;
	while (rn > 0 && is_space(*rest)) {
		rest++;
		rn--;
	}
	while (rn > 0 && is_space(rest[rn - 1]))
		rn--;

	ret = scope_check_room(s, lr->err, lr->errlen);
	if (ret != 0)
		goto out;
	struct scope_range r;
	ret = spec_parse(p, sl, &r, lr->err, lr->errlen);
	if (ret != 0)
		goto out;

	if (lr->mode == MODE_DEFAULT) {
		/* "spec<ws>reason": the reason is required, it is what the log shows */
		uint32_t rid;
		if (rn == 0 || rest == p + sl) {
			scope_err(lr->err, lr->errlen, "exclusion without a reason (want \"CIDR<TAB>reason\")");
			ret = TORIDE_EPARSE;
			goto out;
		}
		ret = scope_add_reason(s, rest, rn, &rid);
		if (ret != 0)
			goto out;
		ret = scope_push_excl(s, &r, TORIDE_SCOPE_EXCL_DEFAULT, rid, lr->lineno);
		goto out;
	}
	/* scope and opt-out lines: after the spec only a comment may follow, so that a typo like
	 * "10.0.0.0 /8" is refused instead of silently meaning something else */
	if (rn > 0 && rest[0] != '#') {
		char q[QUOTE_BUFLEN];
		scope_quote(rest, rn, q, sizeof q);
		scope_err(lr->err, lr->errlen, "unexpected text \"%s\" after the address spec "
		          "(one spec per line; comments start with '#')", q);
		ret = TORIDE_EPARSE;
		goto out;
	}
	if (lr->mode == MODE_INCLUDE)
		ret = range_vec_push(&s->inc, &r);
	else
		ret = scope_push_excl(s, &r, TORIDE_SCOPE_EXCL_OPTOUT, lr->file_reason, lr->lineno);
out:
	if (ret != 0 && ret != TORIDE_ENOMEM)
		lr_prefix_err(lr);
	return ret;
}

/* Feed bytes; complete lines are handled as they end. Streaming and bounded: a line longer than
 * the buffer is remembered as too long and refused when it ends. */
static int
lr_feed(struct line_reader *lr, const uint8_t *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = data[i];
		if (c == '\n') {
			lr->lineno++;
			int r = lr_line(lr);
			if (r != 0)
				return r;
			lr->len = 0;
			lr->too_long = false;
			lr->has_nul = false;
			continue;
		}
		if (c == '\0')
			lr->has_nul = true;
		else if (lr->len < sizeof lr->line)
			lr->line[lr->len++] = (char)c;
		else
			lr->too_long = true;
	}
	return 0;
}

static int
lr_finish(struct line_reader *lr)
{
	if (lr->len == 0 && !lr->too_long && !lr->has_nul)
		return 0;
	lr->lineno++;
	return lr_line(lr);
}

static int
lr_init(struct line_reader *lr, struct toride_scope *s, enum scope_mode mode, const char *name,
        char *err, size_t errlen)
{
	memset(lr, 0, offsetof(struct line_reader, line));
	lr->s = s;
	lr->mode = mode;
	lr->name = name != NULL ? name : "(buffer)";
	lr->err = err;
	lr->errlen = errlen;
	if (s->finalized) {
		scope_err(err, errlen, "scope is already finalized");
		return TORIDE_ESTATE;
	}
	if (mode == MODE_OPTOUT) {
		char reason[TORIDE_SCOPE_REASON_MAX + 1];
		int n = snprintf(reason, sizeof reason, "opt-out list %s", lr->name);
		if (n < 0)
			return TORIDE_EINVAL;
		size_t len = (size_t)n < sizeof reason ? (size_t)n : sizeof reason - 1;
		return scope_add_reason(s, reason, len, &lr->file_reason);
	}
	return 0;
}

static int
scope_parse_buffer(struct toride_scope *s, enum scope_mode mode, const void *data, size_t len,
                   const char *name, char *err, size_t errlen)
{
	struct line_reader *lr = malloc(sizeof *lr);
	int ret;
	if (lr == NULL)
		return TORIDE_ENOMEM;
	ret = lr_init(lr, s, mode, name, err, errlen);
	if (ret != 0)
		goto out;
	ret = lr_feed(lr, data, len);
	if (ret != 0)
		goto out;
	ret = lr_finish(lr);
out:
	free(lr);
	return ret;
}

static int
scope_parse_file(struct toride_scope *s, enum scope_mode mode, const char *path, char *err,
                 size_t errlen)
{
	struct line_reader *lr = NULL;
	uint8_t *chunk = NULL;
	FILE *f = NULL;
	char qn[QUOTE_BUFLEN], ebuf[128];
	int ret;

	scope_quote(path, strlen(path), qn, sizeof qn);
	if (s->finalized) {
		scope_err(err, errlen, "scope is already finalized");
		return TORIDE_ESTATE;
	}
	lr = malloc(sizeof *lr);
	chunk = malloc(FILE_CHUNK);
	if (lr == NULL || chunk == NULL) {
		ret = TORIDE_ENOMEM;
		goto out;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		scope_err(err, errlen, "%s: cannot open: %s", qn, strerror_r(errno, ebuf, sizeof ebuf));
		ret = TORIDE_EIO;
		goto out;
	}
	ret = lr_init(lr, s, mode, path, err, errlen);
	if (ret != 0)
		goto out;
	for (;;) {
		size_t n = fread(chunk, 1, FILE_CHUNK, f);
		if (n > 0) {
			ret = lr_feed(lr, chunk, n);
			if (ret != 0)
				goto out;
		}
		if (n < FILE_CHUNK) {
			if (ferror(f)) {
				scope_err(err, errlen, "%s: read error: %s", qn,
				          strerror_r(errno, ebuf, sizeof ebuf));
				ret = TORIDE_EIO;
				goto out;
			}
			break;
		}
	}
	ret = lr_finish(lr);
out:
	if (f != NULL)
		fclose(f);
	free(chunk);
	free(lr);
	return ret;
}

int
toride_scope_add_file(struct toride_scope *s, const char *path, char *err, size_t errlen)
{
	return scope_parse_file(s, MODE_INCLUDE, path, err, errlen);
}

int
toride_scope_add_buffer(struct toride_scope *s, const void *data, size_t len, const char *name,
                        char *err, size_t errlen)
{
	return scope_parse_buffer(s, MODE_INCLUDE, data, len, name, err, errlen);
}

int
toride_scope_exclude_file(struct toride_scope *s, const char *path, char *err, size_t errlen)
{
	return scope_parse_file(s, MODE_OPTOUT, path, err, errlen);
}

int
toride_scope_exclude_buffer(struct toride_scope *s, const void *data, size_t len,
                            const char *name, char *err, size_t errlen)
{
	return scope_parse_buffer(s, MODE_OPTOUT, data, len, name, err, errlen);
}

int
toride_scope_load_default_exclusions(struct toride_scope *s, const char *path, char *err,
                                     size_t errlen)
{
	return scope_parse_file(s, MODE_DEFAULT, path, err, errlen);
}

/* ---- lifting default exclusions --------------------------------------------------------- */

static bool
range_inside(const struct scope_range *in, const struct scope_range *outer)
{
	return in->family == outer->family && in->lo >= outer->lo && in->hi <= outer->hi;
}

static bool
range_overlaps(const struct scope_range *a, const struct scope_range *b)
{
	return a->family == b->family && a->lo <= b->hi && b->lo <= a->hi;
}

int
toride_scope_allow_reserved(struct toride_scope *s, const char *spec, char *note,
                            size_t notelen, char *err, size_t errlen)
{
	struct scope_range r;
	char rs[TORIDE_SCOPE_RANGE_STRLEN], es[TORIDE_SCOPE_RANGE_STRLEN];
	size_t ndefaults = 0, nhit = 0;
	bool still = false;
	int ret;

	if (note != NULL && notelen > 0)
		note[0] = '\0';
	if (s->finalized) {
		scope_err(err, errlen, "scope is already finalized");
		return TORIDE_ESTATE;
	}
	if (s->lifts.n >= TORIDE_SCOPE_MAX_LIFTS) {
		scope_err(err, errlen, "too many lifted exclusions (limit %d)", TORIDE_SCOPE_MAX_LIFTS);
		return TORIDE_ETOOBIG;
	}
	ret = spec_parse(spec, strnlen(spec, TORIDE_SCOPE_SPEC_MAX + 1), &r, err, errlen);
	if (ret != 0)
		return ret;
	range_format(&r, rs, sizeof rs);

	for (size_t i = 0; i < s->nex; i++) {
		const struct scope_excl *e = &s->ex[i];
		if (e->kind == TORIDE_SCOPE_EXCL_DEFAULT) {
			ndefaults++;
			if (range_inside(&r, &e->r))
				nhit++;
		} else if (range_overlaps(&r, &e->r)) {
			still = true;
		}
	}
	if (ndefaults == 0) {
		scope_err(err, errlen, "cannot lift %s: no default exclusions are loaded", rs);
		return TORIDE_EINVAL;
	}
	if (nhit == 0) {
		scope_err(err, errlen,
		          "cannot lift %s: it is not inside any default (special-purpose) exclusion; "
		          "only those can be lifted, never user exclusions or opt-out lists", rs);
		return TORIDE_EINVAL;
	}
	ret = range_vec_push(&s->lifts, &r);
	if (ret != 0)
		return ret;

	/* note: one clause per lifted entry, then a warning if other exclusions still apply */
	size_t o = 0;
	for (size_t i = 0; i < s->nex; i++) {
		struct scope_excl *e = &s->ex[i];
		if (e->kind != TORIDE_SCOPE_EXCL_DEFAULT || !range_inside(&r, &e->r))
			continue;
		e->lifted = true;
		if (note == NULL || notelen == 0 || o >= notelen)
			continue;
		range_format(&e->r, es, sizeof es);
		int n = snprintf(note + o, notelen - o, "%sdefault exclusion %s (%s) lifted for %s",
		                 o > 0 ? "; " : "", es, s->reasons[e->reason], rs);
		if (n > 0)
			o += (size_t)n;
	}
	if (still && note != NULL && notelen > 0 && o < notelen)
		snprintf(note + o, notelen - o,
		         " (parts of it stay excluded by user or opt-out exclusions)");
	return 0;
}

/* ---- finalize --------------------------------------------------------------------------- */

/*
 * Included addresses of family f that are <= x, modulo 2^128 (exact unless the whole IPv6 space
 * is included). inc is sorted and merged; icum[i] counts the addresses of inc[i]'s family before
 * inc[i].
 */
static u128
count_le(const struct range_vec *inc, const u128 *icum, uint8_t f, u128 x)
{
	/* last interval with (family, lo) <= (f, x) */
	size_t lo = 0, hi = inc->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct scope_range *m = &inc->v[mid];
		if (m->family < f || (m->family == f && m->lo <= x))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	const struct scope_range *m = &inc->v[lo - 1];
	if (m->family != f)
		return 0;
	u128 top = x < m->hi ? x : m->hi;
	return icum[lo - 1] + (top - m->lo) + 1;
}

/* How many included addresses lie in piece, saturated to 64 bits. */
static uint64_t
overlap_count(const struct range_vec *inc, const u128 *icum, const struct scope_range *piece)
{
	u128 fmax = family_max(piece->family);
	if (piece->lo == 0 && piece->hi == fmax) {
		/* a whole family: the modular count could wrap, so sum intervals directly */
		u128 total = 0;
		for (size_t i = 0; i < inc->n; i++) {
			if (inc->v[i].family != piece->family)
				continue;
			if (inc->v[i].hi - inc->v[i].lo == U128_MAX)
				return UINT64_MAX;
			total += inc->v[i].hi - inc->v[i].lo + 1;
		}
		return u128_sat64(total);
	}
	u128 upto = count_le(inc, icum, piece->family, piece->hi);
	u128 below = piece->lo == 0 ? 0 : count_le(inc, icum, piece->family, piece->lo - 1);
	return u128_sat64(upto - below);
}

/*
 * A prefix in which IPv6 addresses carry an IPv4 address at bit offset shift and reach that IPv4
 * host: a dual-stack socket sends ::ffff:a.b.c.d as IPv4, a NAT64 translates 64:ff9b::/96, a 6to4
 * relay unwraps 2002::/16. The deprecated IPv4-compatible ::/96 is not mirrored: no stack maps it
 * without an explicit tunnel, it is in the default list anyway, and mirroring 0.0.0.0/8 there
 * would swallow ::1, which a loopback lab lifts on its own.
 */
struct v4_embedding {
	u128 prefix;
	unsigned shift;
};

static int
mirror_v4(struct range_vec *ex)
{
	const struct v4_embedding emb[] = {
		{ (u128)0xffff << 32, 0 },    /* ::ffff:0:0/96, RFC 4291 */
		{ (u128)0x0064ff9b << 96, 0 }, /* 64:ff9b::/96, RFC 6052 */
		{ (u128)0x2002 << 112, 80 },   /* 2002::/16, RFC 3056 */
	};
	/* Mirrors are appended to ex itself: pushing can move ex->v, so copy the range first; the
	 * pushed mirrors are IPv6 and skipped when the loop reaches them. */
	for (size_t i = 0; i < ex->n; i++) {
		const struct scope_range r4 = ex->v[i];
		const struct scope_range *r = &r4;
		if (r->family != 4)
			continue;
		for (size_t k = 0; k < sizeof emb / sizeof emb[0]; k++) {
			u128 low_ones = emb[k].shift == 0 ? 0 : (((u128)1 << emb[k].shift) - 1);
			struct scope_range m = {
				emb[k].prefix | (r->lo << emb[k].shift),
				emb[k].prefix | (r->hi << emb[k].shift) | low_ones,
				6,
			};
			int ret = range_vec_push(ex, &m);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

/* Append the pieces of e->r left after removing the lifts (sorted) that lie inside it. */
static int
excl_pieces(const struct scope_excl *e, const struct range_vec *lifts, struct range_vec *out)
{
	if (!e->lifted || e->kind != TORIDE_SCOPE_EXCL_DEFAULT)
		return range_vec_push(out, &e->r);
	u128 cursor = e->r.lo;
	bool done = false;
	for (size_t i = 0; i < lifts->n && !done; i++) {
		const struct scope_range *l = &lifts->v[i];
		if (!range_inside(l, &e->r))
			continue;
		if (l->hi < cursor)
			continue;
		if (l->lo > cursor) {
			struct scope_range piece = { cursor, l->lo - 1, e->r.family };
			int ret = range_vec_push(out, &piece);
			if (ret != 0)
				return ret;
		}
		if (l->hi >= e->r.hi)
			done = true;
		else
			cursor = l->hi + 1;
	}
	if (!done) {
		struct scope_range piece = { cursor, e->r.hi, e->r.family };
		return range_vec_push(out, &piece);
	}
	return 0;
}

int
toride_scope_finalize(struct toride_scope *s, char *err, size_t errlen)
{
	struct range_vec inc = { 0 }, ex = { 0 }, eff = { 0 }, pieces = { 0 }, lifts = { 0 };
	u128 *icum = NULL;
	uint64_t *cum = NULL;
	int ret;

	if (s->finalized) {
		scope_err(err, errlen, "scope is already finalized");
		return TORIDE_ESTATE;
	}
	if (s->inc.n == 0) {
		scope_err(err, errlen, "no scope, no survey: no target addresses were given");
		return TORIDE_EINVAL;
	}

	/* 1. included set, sorted and merged: an address in two included CIDRs counts once */
	inc.v = malloc(s->inc.n * sizeof *inc.v);
	icum = malloc(s->inc.n * sizeof *icum);
	if (inc.v == NULL || icum == NULL) {
		ret = TORIDE_ENOMEM;
		goto out;
	}
	memcpy(inc.v, s->inc.v, s->inc.n * sizeof *inc.v);
	inc.n = inc.cap = s->inc.n;
	range_vec_normalise(&inc);
	for (size_t i = 0; i < inc.n; i++) {
		if (i == 0 || inc.v[i].family != inc.v[i - 1].family)
			icum[i] = 0;
		else
			icum[i] = icum[i - 1] + (inc.v[i - 1].hi - inc.v[i - 1].lo) + 1;
	}

	/* 2. exclusions: each entry minus the lifts inside it (defaults only), counted as we go */
	if (s->lifts.n > 0) {
		lifts.v = malloc(s->lifts.n * sizeof *lifts.v);
		if (lifts.v == NULL) {
			ret = TORIDE_ENOMEM;
			goto out;
		}
		memcpy(lifts.v, s->lifts.v, s->lifts.n * sizeof *lifts.v);
		lifts.n = lifts.cap = s->lifts.n;
		qsort(lifts.v, lifts.n, sizeof lifts.v[0], range_qsort_cmp);
	}
	for (size_t i = 0; i < s->nex; i++) {
		struct scope_excl *e = &s->ex[i];
		pieces.n = 0;
		ret = excl_pieces(e, &lifts, &pieces);
		if (ret != 0)
			goto out;
		uint64_t removed = 0;
		for (size_t k = 0; k < pieces.n; k++) {
			uint64_t c = overlap_count(&inc, icum, &pieces.v[k]);
			removed = c > UINT64_MAX - removed ? UINT64_MAX : removed + c;
			ret = range_vec_push(&ex, &pieces.v[k]);
			if (ret != 0)
				goto out;
		}
		e->removed = removed;
	}
	range_vec_normalise(&ex);
	/* 3. the IPv6 spellings of excluded IPv4 addresses are excluded too */
	ret = mirror_v4(&ex);
	if (ret != 0)
		goto out;
	range_vec_normalise(&ex);

	/* 4. effective = included minus excluded */
	ret = range_vec_subtract(&inc, &ex, &eff);
	if (ret != 0)
		goto out;
	if (eff.n == 0) {
		/* name the exclusion that removed most, so the operator knows what to do */
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < s->nex; i++)
			if (s->ex[i].removed > 0 && (best == SIZE_MAX || s->ex[i].removed > s->ex[best].removed))
				best = i;
		if (best == SIZE_MAX) {
			scope_err(err, errlen, "no scope, no survey: every included address is excluded");
		} else {
			char es[TORIDE_SCOPE_RANGE_STRLEN];
			const struct scope_excl *e = &s->ex[best];
			range_format(&e->r, es, sizeof es);
			scope_err(err, errlen,
			          "no scope, no survey: every included address is excluded (most by %s "
			          "exclusion %s: %s)%s",
			          e->kind == TORIDE_SCOPE_EXCL_DEFAULT ? "default special-purpose"
			          : e->kind == TORIDE_SCOPE_EXCL_USER ? "user" : "opt-out",
			          es, s->reasons[e->reason],
			          e->kind == TORIDE_SCOPE_EXCL_DEFAULT
			                  ? "; for a lab network lift it explicitly with --allow-reserved"
			                  : "");
		}
		ret = TORIDE_EINVAL;
		goto out;
	}

	/* 5. count and index, refusing what cannot be enumerated */
	cum = malloc(eff.n * sizeof *cum);
	if (cum == NULL) {
		ret = TORIDE_ENOMEM;
		goto out;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < eff.n; i++) {
		u128 span = eff.v[i].hi - eff.v[i].lo; /* size - 1 */
		if (span >= (u128)TORIDE_SCOPE_MAX_ADDRESSES ||
		    total + (uint64_t)span + 1 > TORIDE_SCOPE_MAX_ADDRESSES) {
			scope_err(err, errlen,
			          "IPv6 prefix too large to enumerate; give a smaller prefix or a hit-list "
			          "(the scope holds more than 2^48 addresses)");
			ret = TORIDE_EINVAL;
			goto out;
		}
		cum[i] = total;
		total += (uint64_t)span + 1;
	}

	s->eff = eff.v;
	eff.v = NULL;
	s->neff = eff.n;
	s->cum = cum;
	cum = NULL;
	s->count = total;
	s->finalized = true;
	ret = 0;
out:
	free(inc.v);
	free(icum);
	free(ex.v);
	free(eff.v);
	free(pieces.v);
	free(lifts.v);
	free(cum);
	return ret;
}

/* ---- queries ---------------------------------------------------------------------------- */

bool
toride_scope_is_finalized(const struct toride_scope *s)
{
	return s->finalized;
}

uint64_t
toride_scope_count(const struct toride_scope *s)
{
	return s->finalized ? s->count : 0;
}

int
toride_scope_addr_at(const struct toride_scope *s, uint64_t index, struct toride_addr *out)
{
	if (!s->finalized)
		return TORIDE_ESTATE;
	if (index >= s->count)
		return TORIDE_ERANGE;
	/* last interval with cum <= index */
	size_t lo = 0, hi = s->neff;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->cum[mid] <= index)
			lo = mid;
		else
			hi = mid;
	}
	const struct scope_range *r = &s->eff[lo];
	u128_to_addr(r->family, r->lo + (index - s->cum[lo]), out);
	return 0;
}

bool
toride_scope_contains(const struct toride_scope *s, const struct toride_addr *a)
{
	if (!s->finalized || (a->family != 4 && a->family != 6))
		return false;
	if (a->family == 4) {
		/* the struct contract: IPv4 keeps b[4..15] zero; anything else is not an address */
		for (int i = 4; i < 16; i++)
			if (a->b[i] != 0)
				return false;
	}
	u128 v = addr_to_u128(a);
	size_t lo = 0, hi = s->neff;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct scope_range *m = &s->eff[mid];
		if (m->family < a->family || (m->family == a->family && m->hi < v))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->neff)
		return false;
	const struct scope_range *m = &s->eff[lo];
	return m->family == a->family && m->lo <= v && v <= m->hi;
}

size_t
toride_scope_nintervals(const struct toride_scope *s)
{
	return s->finalized ? s->neff : 0;
}

int
toride_scope_interval(const struct toride_scope *s, size_t i, struct toride_addr *first,
                      struct toride_addr *last)
{
	if (!s->finalized || i >= s->neff)
		return TORIDE_ERANGE;
	u128_to_addr(s->eff[i].family, s->eff[i].lo, first);
	u128_to_addr(s->eff[i].family, s->eff[i].hi, last);
	return 0;
}

size_t
toride_scope_nexclusions(const struct toride_scope *s)
{
	return s->nex;
}

int
toride_scope_exclusion(const struct toride_scope *s, size_t i, struct toride_scope_exclusion *out)
{
	if (i >= s->nex)
		return TORIDE_ERANGE;
	const struct scope_excl *e = &s->ex[i];
	memset(out, 0, sizeof *out);
	out->kind = (enum toride_scope_excl_kind)e->kind;
	u128_to_addr(e->r.family, e->r.lo, &out->first);
	u128_to_addr(e->r.family, e->r.hi, &out->last);
	out->reason = s->reasons[e->reason];
	out->line = e->line;
	out->lifted = e->lifted;
	out->removed = e->removed;
	return 0;
}

int
toride_scope_range_format(const struct toride_addr *first, const struct toride_addr *last,
                          char *out, size_t outlen)
{
	char a[TORIDE_ADDR_STRLEN], b[TORIDE_ADDR_STRLEN];
	int n;

	if (outlen > 0)
		out[0] = '\0';
	if ((first->family != 4 && first->family != 6) || first->family != last->family)
		return TORIDE_EINVAL;
	u128 lo = addr_to_u128(first), hi = addr_to_u128(last);
	if (lo > hi)
		return TORIDE_EINVAL;
	if (toride_addr_format(first, a, sizeof a) != 0)
		return TORIDE_EINVAL;
	unsigned bits = first->family == 4 ? 32 : 128;
	u128 span = hi - lo; /* size - 1 */
	if (span == 0) {
		n = snprintf(out, outlen, "%s", a);
	} else if ((span & (span + 1)) == 0 && (lo & span) == 0) {
		/* size is a power of two and lo is aligned to it: exactly one prefix */
		unsigned host = 0;
		while (host < 128 && ((span >> host) & 1))
			host++;
		n = snprintf(out, outlen, "%s/%u", a, bits - host);
	} else {
		if (toride_addr_format(last, b, sizeof b) != 0)
			return TORIDE_EINVAL;
		n = snprintf(out, outlen, "%s-%s", a, b);
	}
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return TORIDE_ETOOBIG;
	}
	return 0;
}
