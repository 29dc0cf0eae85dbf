/*
 * Recog fingerprint database: XML loaded with libxml2, patterns compiled with PCRE2.
 *
 * Recog patterns are written for Ruby's Regexp. The differences that matter are handled here:
 * Ruby's ^ and $ are always line anchors (PCRE2_MULTILINE), Ruby's "multiline" (flag REG_MULTILINE,
 * inline (?m)) means dot-matches-newline (PCRE2_DOTALL / (?s)), \h is a hex digit, and {,n} is
 * {0,n}. Banners are arbitrary bytes, so patterns run in byte mode (PCRE2_NEVER_UTF): no UTF
 * validity checks can fail and no (*UTF) in the data can turn them on.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "survey/fingerprint.h"

#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "core/buf.h"
#include "core/error.h"

/*
 * Match-time limits, per pcre2_match() call. Recog patterns that identify a banner need a few
 * hundred backtracking steps at most; these limits are orders of magnitude above that yet stop a
 * catastrophic-backtracking pattern on hostile input after a few milliseconds.
 */
#define FP_MATCH_LIMIT 200000   /* internal match() calls (backtracking steps) */
#define FP_DEPTH_LIMIT 10000    /* nested backtracking frames: above TORIDE_FP_INPUT_MAX so a simple
                                   repeat over the whole input can still finish */
#define FP_HEAP_LIMIT_KIB 8192  /* backtracking frame memory */
/* JIT-compiled patterns run ~10x faster than the interpreter, which matters for the few Recog
 * patterns that are quadratic in the input (an unanchored "(?:\S)* :: Login" on 4 KiB of non-space
 * bytes: ~100 ms interpreted, ~10 ms JIT). The JIT stack replaces the interpreter's heap frames;
 * 32 KiB (PCRE2's default) is too small for a 4 KiB subject, 1 MiB is ample and is only reserved
 * per match call, not touched. */
#define FP_JIT_STACK_START (32 * 1024)
#define FP_JIT_STACK_MAX (1024 * 1024)

/* Longest pattern accepted from the XML; the longest in Recog today is ~300 bytes. */
#define FP_PATTERN_MAX 16384
/* Highest capture group a <param pos=""> may name; Recog uses single digits. */
#define FP_POS_MAX 99
/* Longest <description> kept; the result struct holds 160 bytes, the rest is never shown. */
#define FP_DESC_MAX 1024
/* A resolved param value: a capture (at most the input cap) plus fixed text around it. */
#define FP_VALUE_MAX (TORIDE_FP_INPUT_MAX + 512)
/* Nesting of "{param}" references resolved; Recog's data uses one level, the cap stops cycles. */
#define FP_INTERP_DEPTH 4
/* The protoversion of an SSH line ("2.0", "1.99") is short; look no further for its '-'. */
#define FP_SSH_PROTO_MAX 8
/* Longest path we build for one XML file. */
#define FP_PATH_MAX 4096

struct fp_param {
	char *name;
	char *value;   /* fixed value (pos 0), may hold {other.param}; NULL for captures */
	unsigned pos;  /* 0: fixed value; N: capture group N */
};

struct fp_entry {
	pcre2_code *code; /* NULL: pattern did not compile (kept so indices follow file order) */
	char *description;
	struct fp_param *params;
	size_t nparams;
	int certainty;    /* per-mille, or -1 when the fingerprint gives none */
	int may_assert;   /* has a vendor/product/device param: only these can win a match */
};

struct fp_file {
	struct fp_entry *v;
	size_t n;
	size_t usable;
	int preference;   /* per-mille from <fingerprints preference="">, or -1 */
	uint32_t max_pairs; /* largest capture count + 1 over the file, sizes match data */
};

struct toride_fpdb {
	struct fp_file kinds[TORIDE_FP_KIND_COUNT];
	char **skipped;   /* one line per skipped fingerprint */
	size_t nskipped;
	pcre2_match_context *mctx; /* limits; copied per call to attach a JIT stack */
	int use_jit;      /* try to JIT-compile patterns (PCRE2 built with JIT support) */
	int jit;          /* at least one pattern is JIT-compiled */
};

/* File names in enum order; these static strings are what toride_fp_match.source points at. */
static const char *const fp_sources[TORIDE_FP_KIND_COUNT] = {
	"telnet_banners.xml", "ssh_banners.xml", "http_servers.xml", "http_wwwauth.xml",
	"html_title.xml", "rtsp_servers.xml", "ftp_banners.xml",
};

/* Params that make a match worth reporting; the three result fields are built from them. */
static const char *const fp_vendor_keys[] = { "hw.vendor", "os.vendor", "service.vendor" };
static const char *const fp_product_keys[] = { "hw.product", "os.product", "service.product" };
static const char *const fp_type_keys[] = { "hw.device", "os.device" };
static const char *const fp_version_keys[] = { "service.version", "os.version", "hw.version" };

#define FP_NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static void
fp_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fp_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "0.90", ".80", "1.0" -> 900, 800, 1000; -1 if s is NULL or not such a number. Hand-written so the
 * C locale's decimal separator cannot matter. */
static int
fp_parse_permille(const char *s)
{
	if (s == NULL)
		return -1;
	long ip = 0;
	int digits = 0;
	while (*s >= '0' && *s <= '9' && ip <= 1) {
		ip = ip * 10 + (*s - '0');
		s++;
		digits++;
	}
	long frac = 0;
	int scale = 100;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			frac += (*s - '0') * scale;
			scale /= 10;
			s++;
			digits++;
		}
	}
	if (digits == 0 || *s != '\0' || ip > 1)
		return -1;
	long v = ip * 1000 + frac;
	return v > 1000 ? 1000 : (int)v;
}

static int
fp_isspace(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Rewrite a Ruby Regexp source as PCRE2 syntax (see the file comment). Returns 0,
 * TORIDE_EUNSUPPORTED for a construct with no translation, TORIDE_ETOOBIG or TORIDE_ENOMEM. */
static int
fp_translate(const char *src, struct toride_buf *out)
{
	int r = 0;
	size_t n = strlen(src);
	int in_class = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char c = src[i];
		if (c == '\\') {
			if (i + 1 >= n) {
				r = toride_buf_append(out, "\\", 1); /* PCRE2 reports the error */
				continue;
			}
			char d = src[++i];
			if (d == 'h')
				r = toride_buf_append_str(out, in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]");
			else if (d == 'H' && !in_class)
				r = toride_buf_append_str(out, "[^0-9A-Fa-f]");
			else if (d == 'H')
				r = TORIDE_EUNSUPPORTED;
			else {
				char esc[2] = { '\\', d };
				r = toride_buf_append(out, esc, 2);
			}
			continue;
		}
		if (in_class) {
			if (c == '[' && i + 1 < n && src[i + 1] == ':') {
				/* POSIX [:name:] inside a class: copy through its closing ":]". */
				const char *end = strstr(src + i + 2, ":]");
				size_t stop = end ? (size_t)(end - src) + 2 : i + 1;
				r = toride_buf_append(out, src + i, stop - i);
				i = stop - 1;
				continue;
			}
			if (c == ']')
				in_class = 0;
			r = toride_buf_append(out, &c, 1);
			continue;
		}
		if (c == '[') {
			in_class = 1;
			r = toride_buf_append(out, &c, 1);
			/* A ']' right after '[' or '[^' is a literal member, not the end. */
			if (r == 0 && i + 1 < n && src[i + 1] == '^')
				r = toride_buf_append(out, &src[++i], 1);
			if (r == 0 && i + 1 < n && src[i + 1] == ']')
				r = toride_buf_append(out, &src[++i], 1);
			continue;
		}
		if (c == '(' && i + 2 < n && src[i + 1] == '?') {
			/* Inline options (?imx-imx) or (?imx-imx:...): Ruby's m is PCRE's s. */
			size_t j = i + 2;
			while (j < n && (src[j] == 'i' || src[j] == 'm' || src[j] == 'x' || src[j] == '-'))
				j++;
			if (j > i + 2 && j < n && (src[j] == ')' || src[j] == ':')) {
				for (size_t k = i; k <= j && r == 0; k++) {
					char o = src[k] == 'm' && k >= i + 2 ? 's' : src[k];
					r = toride_buf_append(out, &o, 1);
				}
				i = j;
				continue;
			}
		}
		if (c == '.' && (i + 1 >= n || strchr("*+?{", src[i + 1]) == NULL)) {
			/* Ruby matches UTF-8 text by character: a lone "." (as in "Sign in . GitLab" against
			 * "Sign in \xc2\xb7 GitLab") takes a whole multi-byte character. Byte mode needs the
			 * alternative spelled out; a repeated ".*" already covers the bytes one at a time. */
			r = toride_buf_append_str(out, "(?:[\\xc2-\\xf4][\\x80-\\xbf]{1,3}|.)");
			continue;
		}
		if (c == '{' && i + 1 < n && src[i + 1] == ',') {
			/* Ruby's {,n} is {0,n}; PCRE2 10.42 would read it as literal text. */
			size_t j = i + 2;
			while (j < n && src[j] >= '0' && src[j] <= '9')
				j++;
			if (j > i + 2 && j < n && src[j] == '}') {
				r = toride_buf_append_str(out, "{0");
				continue; /* the ',' and the rest are copied next */
			}
		}
		r = toride_buf_append(out, &c, 1);
	}
	return r;
}

static char *
fp_xml_attr(xmlNode *node, const char *name)
{
	return (char *)xmlGetProp(node, (const xmlChar *)name);
}

/* Recog normalises descriptions: runs of whitespace become one space, ends are trimmed. */
static char *
fp_collapse(const char *s)
{
	size_t n = strlen(s);
	if (n > FP_DESC_MAX)
		n = FP_DESC_MAX;
	char *d = malloc(n + 1);
	if (d == NULL)
		return NULL;
	size_t o = 0;
	int pending = 0;
	for (size_t i = 0; i < n; i++) {
		if (fp_isspace((unsigned char)s[i])) {
			pending = o > 0;
			continue;
		}
		if (pending)
			d[o++] = ' ';
		pending = 0;
		d[o++] = s[i];
	}
	d[o] = '\0';
	return d;
}

static void
fp_entry_clear(struct fp_entry *e)
{
	pcre2_code_free(e->code);
	free(e->description);
	for (size_t i = 0; i < e->nparams; i++) {
		free(e->params[i].name);
		free(e->params[i].value);
	}
	free(e->params);
	memset(e, 0, sizeof(*e));
}

static int
fp_key_in(const char *name, const char *const *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(name, keys[i]) == 0)
			return 1;
	return 0;
}

static int
fp_note_skip(struct toride_fpdb *db, const char *source, size_t index, const char *why, const char *pattern)
{
	char **v = realloc(db->skipped, (db->nskipped + 1) * sizeof(*v));
	if (v == NULL)
		return TORIDE_ENOMEM;
	db->skipped = v;
	char line[768];
	snprintf(line, sizeof(line), "%s #%zu: %s: %s", source, index, why, pattern ? pattern : "(none)");
	char *s = strdup(line);
	if (s == NULL)
		return TORIDE_ENOMEM;
	db->skipped[db->nskipped++] = s;
	return 0;
}

/* Parse the <param> children; returns 0, TORIDE_EPARSE (bad param: skip the fingerprint) or ENOMEM. */
static int
fp_load_params(struct fp_entry *e, xmlNode *fp, const char **why)
{
	size_t n = 0;
	for (xmlNode *c = fp->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)"param") == 0)
			n++;
	if (n == 0)
		return 0;
	e->params = calloc(n, sizeof(*e->params));
	if (e->params == NULL)
		return TORIDE_ENOMEM;
	int r = 0;
	char *pos = NULL, *name = NULL, *value = NULL;
	for (xmlNode *c = fp->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, (const xmlChar *)"param") != 0)
			continue;
		pos = fp_xml_attr(c, "pos");
		name = fp_xml_attr(c, "name");
		value = fp_xml_attr(c, "value");
		char *end = NULL;
		unsigned long p = pos ? strtoul(pos, &end, 10) : 0;
		if (pos == NULL || end == pos || *end != '\0' || p > FP_POS_MAX || name == NULL || name[0] == '\0') {
			*why = "bad <param> (pos or name)";
			r = TORIDE_EPARSE;
			goto out;
		}
		struct fp_param *pp = &e->params[e->nparams];
		pp->pos = (unsigned)p;
		pp->name = strdup(name);
		if (pp->name == NULL) {
			r = TORIDE_ENOMEM;
			goto out;
		}
		e->nparams++;
		if (p == 0) {
			pp->value = strdup(value ? value : "");
			if (pp->value == NULL) {
				r = TORIDE_ENOMEM;
				goto out;
			}
		}
		if (fp_key_in(name, fp_vendor_keys, FP_NKEYS(fp_vendor_keys)) ||
		    fp_key_in(name, fp_product_keys, FP_NKEYS(fp_product_keys)) ||
		    fp_key_in(name, fp_type_keys, FP_NKEYS(fp_type_keys)))
			e->may_assert = 1;
		xmlFree(pos);
		xmlFree(name);
		xmlFree(value);
		pos = name = value = NULL;
	}
out:
	xmlFree(pos);
	xmlFree(name);
	xmlFree(value);
	return r;
}

/* Compile the pattern of fingerprint fp into e->code. Returns 0 (compiled, or skipped and noted in
 * db with e->code left NULL) or TORIDE_ENOMEM. */
static int
fp_load_one(struct toride_fpdb *db, const char *source, size_t index, xmlNode *fp, struct fp_entry *e,
            pcre2_compile_context *cctx)
{
	int r = 0;
	const char *why = NULL;
	char whybuf[256];
	struct toride_buf pat;
	toride_buf_init(&pat, FP_PATTERN_MAX);
	char *pattern = fp_xml_attr(fp, "pattern");
	char *flags = fp_xml_attr(fp, "flags");
	char *certainty = fp_xml_attr(fp, "certainty");

	e->certainty = fp_parse_permille(certainty);
	for (xmlNode *c = fp->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)"description") == 0) {
			xmlChar *txt = xmlNodeGetContent(c);
			e->description = fp_collapse(txt ? (const char *)txt : "");
			xmlFree(txt);
			if (e->description == NULL) {
				r = TORIDE_ENOMEM;
				goto out;
			}
			break;
		}
	}
	r = fp_load_params(e, fp, &why);
	if (r != 0) {
		if (r != TORIDE_ENOMEM)
			r = 0; /* why is set: skip this fingerprint */
		goto out;
	}
	if (pattern == NULL) {
		why = "no pattern attribute";
		goto out;
	}

	uint32_t opts = PCRE2_MULTILINE | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C;
	if (flags != NULL) {
		char *save = NULL;
		for (char *f = strtok_r(flags, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
			while (fp_isspace((unsigned char)*f))
				f++;
			if (strcmp(f, "REG_ICASE") == 0)
				opts |= PCRE2_CASELESS;
			else if (strcmp(f, "REG_MULTILINE") == 0 || strcmp(f, "REG_DOT_NEWLINE") == 0 ||
			         strcmp(f, "REG_LINE_ANY_CRLF") == 0)
				opts |= PCRE2_DOTALL;
			else if (f[0] != '\0') {
				why = "unsupported flag";
				goto out;
			}
		}
	}
	r = fp_translate(pattern, &pat);
	if (r == TORIDE_ENOMEM)
		goto out;
	if (r != 0) {
		why = r == TORIDE_ETOOBIG ? "pattern too long" : "untranslatable Ruby syntax";
		r = 0;
		goto out;
	}
	int errcode = 0;
	PCRE2_SIZE erroff = 0;
	e->code = pcre2_compile(pat.data ? pat.data : (const uint8_t *)"", pat.len, opts, &errcode, &erroff, cctx);
	if (e->code == NULL) {
		if (errcode == PCRE2_ERROR_HEAPLIMIT || errcode == PCRE2_ERROR_NOMEMORY) {
			r = TORIDE_ENOMEM;
			goto out;
		}
		char msg[160];
		pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, sizeof(msg));
		snprintf(whybuf, sizeof(whybuf), "PCRE2: %s at offset %zu", msg, (size_t)erroff);
		why = whybuf;
		goto out;
	}
	/* No JIT on this platform or build: the interpreter, under the same limits, is the fallback. */
	if (db->use_jit && pcre2_jit_compile(e->code, PCRE2_JIT_COMPLETE) == 0)
		db->jit = 1;
out:
	if (r == 0 && why != NULL)
		r = fp_note_skip(db, source, index, why, pattern);
	toride_buf_free(&pat);
	xmlFree(pattern);
	xmlFree(flags);
	xmlFree(certainty);
	return r;
}

static int
fp_load_file(struct toride_fpdb *db, enum toride_fp_kind kind, const char *path, pcre2_compile_context *cctx,
             char *err, size_t errlen)
{
	int r = 0;
	struct fp_file *f = &db->kinds[kind];
	xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *xe = xmlGetLastError();
		fp_err(err, errlen, "%s: not readable XML: %s", path, xe && xe->message ? xe->message : "unknown");
		/* libxml2 messages end in a newline; a one-line error reads better without it. */
		if (err != NULL && errlen > 0) {
			size_t l = strlen(err);
			while (l > 0 && fp_isspace((unsigned char)err[l - 1]))
				err[--l] = '\0';
		}
		r = TORIDE_EPARSE;
		goto out;
	}
	xmlNode *root = xmlDocGetRootElement(doc);
	if (root == NULL || xmlStrcmp(root->name, (const xmlChar *)"fingerprints") != 0) {
		fp_err(err, errlen, "%s: root element is not <fingerprints>", path);
		r = TORIDE_EPARSE;
		goto out;
	}
	char *pref = fp_xml_attr(root, "preference");
	f->preference = fp_parse_permille(pref);
	xmlFree(pref);

	size_t n = 0;
	for (xmlNode *c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)"fingerprint") == 0)
			n++;
	f->v = calloc(n ? n : 1, sizeof(*f->v));
	if (f->v == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	f->max_pairs = 1;
	for (xmlNode *c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, (const xmlChar *)"fingerprint") != 0)
			continue;
		struct fp_entry *e = &f->v[f->n++];
		r = fp_load_one(db, fp_sources[kind], f->n - 1, c, e, cctx);
		if (r != 0)
			goto out;
		if (e->code == NULL)
			continue;
		f->usable++;
		uint32_t caps = 0;
		pcre2_pattern_info(e->code, PCRE2_INFO_CAPTURECOUNT, &caps);
		if (caps + 1 > f->max_pairs)
			f->max_pairs = caps + 1;
	}
	if (r == TORIDE_ENOMEM)
		fp_err(err, errlen, "%s: out of memory", path);
out:
	xmlFreeDoc(doc);
	return r;
}

int
toride_fpdb_load_dir(struct toride_fpdb **out, const char *dir, char *err, size_t errlen)
{
	int r = 0;
	struct toride_fpdb *db = NULL;
	pcre2_compile_context *cctx = NULL;

	if (out == NULL || dir == NULL) {
		fp_err(err, errlen, "no fingerprint directory given");
		return TORIDE_EINVAL;
	}
	*out = NULL;
	struct stat st;
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fp_err(err, errlen, "%s: fingerprint directory not found: %s", dir,
		       errno ? strerror(errno) : "not a directory");
		return TORIDE_ENOTFOUND;
	}
	db = calloc(1, sizeof(*db));
	cctx = pcre2_compile_context_create(NULL);
	if (db == NULL || cctx == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	/* Ruby's line anchors and $ know only LF; do not depend on how PCRE2 was built. */
	pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
	db->mctx = pcre2_match_context_create(NULL);
	if (db->mctx == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	pcre2_set_match_limit(db->mctx, FP_MATCH_LIMIT);
	pcre2_set_depth_limit(db->mctx, FP_DEPTH_LIMIT);
	pcre2_set_heap_limit(db->mctx, FP_HEAP_LIMIT_KIB);
	uint32_t have_jit = 0;
	db->use_jit = pcre2_config(PCRE2_CONFIG_JIT, &have_jit) >= 0 && have_jit && getenv("TORIDE_FP_NO_JIT") == NULL;

	size_t files = 0;
	for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
		db->kinds[k].preference = -1;
		char path[FP_PATH_MAX];
		int pn = snprintf(path, sizeof(path), "%s/%s", dir, fp_sources[k]);
		if (pn < 0 || (size_t)pn >= sizeof(path)) {
			fp_err(err, errlen, "%s: path too long", dir);
			r = TORIDE_EINVAL;
			goto out;
		}
		if (stat(path, &st) != 0 && errno == ENOENT)
			continue;
		r = fp_load_file(db, (enum toride_fp_kind)k, path, cctx, err, errlen);
		if (r != 0)
			goto out;
		files++;
	}
	if (files == 0) {
		fp_err(err, errlen, "%s: no Recog fingerprint files (e.g. %s)", dir, fp_sources[0]);
		r = TORIDE_ENOTFOUND;
		goto out;
	}
	*out = db;
	db = NULL;
out:
	if (r == TORIDE_ENOMEM)
		fp_err(err, errlen, "out of memory loading fingerprints from %s", dir);
	pcre2_compile_context_free(cctx);
	toride_fpdb_free(db);
	return r;
}

void
toride_fpdb_free(struct toride_fpdb *db)
{
	if (db == NULL)
		return;
	for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
		struct fp_file *f = &db->kinds[k];
		for (size_t i = 0; i < f->n; i++)
			fp_entry_clear(&f->v[i]);
		free(f->v);
	}
	for (size_t i = 0; i < db->nskipped; i++)
		free(db->skipped[i]);
	free(db->skipped);
	pcre2_match_context_free(db->mctx);
	free(db);
}

size_t
toride_fpdb_count(const struct toride_fpdb *db, enum toride_fp_kind kind)
{
	if (db == NULL || (unsigned)kind >= TORIDE_FP_KIND_COUNT)
		return 0;
	return db->kinds[kind].usable;
}

size_t
toride_fpdb_size(const struct toride_fpdb *db, enum toride_fp_kind kind)
{
	if (db == NULL || (unsigned)kind >= TORIDE_FP_KIND_COUNT)
		return 0;
	return db->kinds[kind].n;
}

size_t
toride_fpdb_skipped(const struct toride_fpdb *db)
{
	return db ? db->nskipped : 0;
}

int
toride_fpdb_skipped_info(const struct toride_fpdb *db, size_t i, char *buf, size_t buflen)
{
	if (db == NULL || i >= db->nskipped)
		return TORIDE_ENOTFOUND;
	if (buf != NULL && buflen > 0)
		snprintf(buf, buflen, "%s", db->skipped[i]);
	return 0;
}

/* ---- matching ---- */

/* One successful regex match: the subject and its capture offsets. */
struct fp_hit {
	const char *text;
	const PCRE2_SIZE *ov;
	uint32_t pairs;
};

/* The raw (uninterpolated) value of param i: fixed text or capture. Returns 0 when unset. */
static int
fp_param_raw(const struct fp_entry *e, size_t i, const struct fp_hit *h, const char **p, size_t *n)
{
	const struct fp_param *pp = &e->params[i];
	if (pp->pos == 0) {
		*p = pp->value;
		*n = strlen(pp->value);
		return 1;
	}
	if (pp->pos >= h->pairs || h->ov[2 * pp->pos] == PCRE2_UNSET)
		return 0;
	PCRE2_SIZE a = h->ov[2 * pp->pos], b = h->ov[2 * pp->pos + 1];
	*p = h->text + a;
	*n = b > a ? b - a : 0;
	return 1;
}

/* Index of the param called name (the last one wins, as in Recog's hash), or -1. */
static long
fp_param_find(const struct fp_entry *e, const char *name, size_t namelen)
{
	for (size_t i = e->nparams; i-- > 0;)
		if (strlen(e->params[i].name) == namelen && memcmp(e->params[i].name, name, namelen) == 0)
			return (long)i;
	return -1;
}

static size_t
fp_put(char *out, size_t cap, size_t o, const char *p, size_t n)
{
	size_t room = cap - 1 - o;
	if (n > room)
		n = room;
	memcpy(out + o, p, n);
	return o + n;
}

static int
fp_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);
	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

/*
 * Append the value of param i to out at offset *o (truncating at cap - 1), interpolating
 * "{other.param}" in fixed values; a referenced value is itself interpolated, up to
 * FP_INTERP_DEPTH levels (Recog resolves in param order, so "{hw.product} Firmware" sees an
 * already interpolated hw.product). An unresolved placeholder is dropped, except that a *.cpe23
 * value gets Recog's "-" for a missing *.version. Returns 0 when the param is unset.
 */
static int
fp_param_append(const struct fp_entry *e, size_t i, const struct fp_hit *h, char *out, size_t cap, size_t *o,
                int depth)
{
	const char *p;
	size_t n;
	if (!fp_param_raw(e, i, h, &p, &n))
		return 0;
	if (e->params[i].pos != 0 || depth >= FP_INTERP_DEPTH || memchr(p, '{', n) == NULL) {
		*o = fp_put(out, cap, *o, p, n);
		return 1;
	}
	for (size_t k = 0; k < n;) {
		size_t j = k + 1;
		if (p[k] == '{') {
			while (j < n && p[j] != '}' && p[j] != '{' && !fp_isspace((unsigned char)p[j]))
				j++;
		}
		if (p[k] != '{' || j >= n || p[j] != '}' || j == k + 1) {
			*o = fp_put(out, cap, *o, p + k, 1);
			k++;
			continue;
		}
		long ref = fp_param_find(e, p + k + 1, j - k - 1);
		if ((ref < 0 || (size_t)ref == i || !fp_param_append(e, (size_t)ref, h, out, cap, o, depth + 1)) &&
		    fp_ends_with(e->params[i].name, strlen(e->params[i].name), ".cpe23") &&
		    fp_ends_with(p + k + 1, j - k - 1, ".version"))
			*o = fp_put(out, cap, *o, "-", 1);
		k = j + 1;
	}
	return 1;
}

/* Resolve param i into out (cap > 0 bytes, NUL-terminated). Returns the length, or -1 when unset. */
static long
fp_param_resolve(const struct fp_entry *e, size_t i, const struct fp_hit *h, char *out, size_t cap)
{
	size_t o = 0;
	int set = fp_param_append(e, i, h, out, cap, &o, 0);
	out[o] = '\0';
	return set ? (long)o : -1;
}

/* Fill field from the first of keys whose resolved value is non-empty; stops at a NUL byte, since
 * the field is a C string. */
static void
fp_field(const struct fp_entry *e, const struct fp_hit *h, const char *const *keys, size_t nkeys, char *field,
         size_t fieldcap, char *tmp)
{
	field[0] = '\0';
	for (size_t k = 0; k < nkeys; k++) {
		long i = fp_param_find(e, keys[k], strlen(keys[k]));
		if (i < 0)
			continue;
		long n = fp_param_resolve(e, (size_t)i, h, tmp, FP_VALUE_MAX);
		if (n <= 0 || tmp[0] == '\0')
			continue;
		snprintf(field, fieldcap, "%s", tmp);
		return;
	}
}

static void
fp_fill(const struct toride_fpdb *db, enum toride_fp_kind kind, const struct fp_entry *e, const struct fp_hit *h,
        struct toride_fp_match *out)
{
	char tmp[FP_VALUE_MAX];
	memset(out, 0, sizeof(*out));
	fp_field(e, h, fp_vendor_keys, FP_NKEYS(fp_vendor_keys), out->vendor, sizeof(out->vendor), tmp);
	fp_field(e, h, fp_product_keys, FP_NKEYS(fp_product_keys), out->product, sizeof(out->product), tmp);
	fp_field(e, h, fp_type_keys, FP_NKEYS(fp_type_keys), out->type, sizeof(out->type), tmp);
	fp_field(e, h, fp_version_keys, FP_NKEYS(fp_version_keys), out->version, sizeof(out->version), tmp);
	snprintf(out->description, sizeof(out->description), "%s", e->description ? e->description : "");
	out->source = fp_sources[kind];
	if (e->certainty >= 0)
		out->certainty_permille = e->certainty;
	else if (db->kinds[kind].preference >= 0)
		out->certainty_permille = db->kinds[kind].preference;
	else
		out->certainty_permille = 1000;
}

/* Per-call match state: the db stays read-only, so threads can share it. */
struct fp_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *js;
};

static void
fp_scratch_free(struct fp_scratch *s)
{
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	pcre2_jit_stack_free(s->js);
}

static int
fp_scratch_init(const struct toride_fpdb *db, const struct fp_file *f, struct fp_scratch *s)
{
	int r = TORIDE_ENOMEM;
	memset(s, 0, sizeof(*s));
	s->md = pcre2_match_data_create(f->max_pairs, NULL);
	s->mctx = pcre2_match_context_copy(db->mctx);
	if (s->md == NULL || s->mctx == NULL)
		goto out;
	if (db->jit) {
		s->js = pcre2_jit_stack_create(FP_JIT_STACK_START, FP_JIT_STACK_MAX, NULL);
		if (s->js == NULL)
			goto out;
		pcre2_jit_stack_assign(s->mctx, NULL, s->js);
	}
	r = 0;
out:
	if (r != 0)
		fp_scratch_free(s);
	return r;
}

/* Run e's regex on text. Returns 1 on a match, 0 on no match (a hit limit counts as no match). */
static int
fp_run(const struct fp_entry *e, const char *text, size_t len, struct fp_scratch *s, struct fp_hit *h)
{
	int rc = pcre2_match(e->code, (PCRE2_SPTR)text, len, 0, 0, s->md, s->mctx);
	if (rc < 0)
		return 0;
	h->text = text;
	h->ov = pcre2_get_ovector_pointer(s->md);
	h->pairs = pcre2_get_ovector_count(s->md);
	return 1;
}

static int
fp_trim_byte(unsigned char c)
{
	return c == '\0' || fp_isspace(c);
}

/* Trim surrounding whitespace and NUL bytes, drop the per-kind prefix Recog's data expects
 * (when strip is set), then apply the input cap. */
static void
fp_normalise(enum toride_fp_kind kind, int strip, const char **text, size_t *len)
{
	const char *p = *text;
	size_t n = *len;
	while (n > 0 && fp_trim_byte((unsigned char)p[0])) {
		p++;
		n--;
	}
	if (!strip) {
		/* whole line: nothing to drop */
	} else if (kind == TORIDE_FP_SSH_BANNER && n > 4 && memcmp(p, "SSH-", 4) == 0) {
		/* ssh_banners.xml matches the text after "SSH-protoversion-". */
		const char *dash = memchr(p + 4, '-', n - 4 < FP_SSH_PROTO_MAX ? n - 4 : FP_SSH_PROTO_MAX);
		if (dash != NULL) {
			n -= (size_t)(dash + 1 - p);
			p = dash + 1;
		}
	} else if (kind == TORIDE_FP_FTP_BANNER && n >= 4 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' &&
	           p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-')) {
		/* ftp_banners.xml matches the greeting after the reply code. */
		p += 4;
		n -= 4;
	}
	if (n > TORIDE_FP_INPUT_MAX)
		n = TORIDE_FP_INPUT_MAX;
	while (n > 0 && fp_trim_byte((unsigned char)p[n - 1]))
		n--;
	*text = p;
	*len = n;
}

/* The first fingerprint of kind, in file order, that matches and names something: 0 and *out
 * filled, or TORIDE_ENOTFOUND. */
static int
fp_first(const struct toride_fpdb *db, enum toride_fp_kind kind, const char *text, size_t len,
         struct fp_scratch *s, struct toride_fp_match *out)
{
	const struct fp_file *f = &db->kinds[kind];
	for (size_t i = 0; i < f->n; i++) {
		const struct fp_entry *e = &f->v[i];
		struct fp_hit h;
		if (e->code == NULL || !e->may_assert || !fp_run(e, text, len, s, &h))
			continue;
		fp_fill(db, kind, e, &h, out);
		if (out->vendor[0] || out->product[0] || out->type[0])
			return 0;
	}
	return TORIDE_ENOTFOUND;
}

int
toride_fpdb_match(const struct toride_fpdb *db, enum toride_fp_kind kind, const char *text, size_t len,
                  struct toride_fp_match *out)
{
	if (db == NULL || (unsigned)kind >= TORIDE_FP_KIND_COUNT || (text == NULL && len > 0) || out == NULL)
		return TORIDE_EINVAL;
	if (text == NULL)
		text = "";
	const struct fp_file *f = &db->kinds[kind];
	if (f->usable == 0)
		return TORIDE_ENOTFOUND;
	/* Recog's data mostly wants the normalised text, but a few entries (e.g. an FTP pattern that
	 * starts with "^220 ") were written against the whole line: those get a second pass. */
	const char *norm = text, *whole = text;
	size_t normlen = len, wholelen = len;
	fp_normalise(kind, 1, &norm, &normlen);
	fp_normalise(kind, 0, &whole, &wholelen);
	struct fp_scratch s;
	if (fp_scratch_init(db, f, &s) != 0)
		return TORIDE_ENOMEM;
	int r = fp_first(db, kind, norm, normlen, &s, out);
	if (r != 0 && (whole != norm || wholelen != normlen))
		r = fp_first(db, kind, whole, wholelen, &s, out);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	fp_scratch_free(&s);
	return r;
}

int
toride_fpdb_match_one(const struct toride_fpdb *db, enum toride_fp_kind kind, size_t index, const char *text,
                      size_t len, struct toride_fp_match *out, toride_fp_param_cb cb, void *ctx)
{
	if (db == NULL || (unsigned)kind >= TORIDE_FP_KIND_COUNT || (text == NULL && len > 0))
		return TORIDE_EINVAL;
	if (text == NULL)
		text = "";
	const struct fp_file *f = &db->kinds[kind];
	if (index >= f->n)
		return TORIDE_ERANGE;
	const struct fp_entry *e = &f->v[index];
	if (e->code == NULL)
		return TORIDE_EUNSUPPORTED;
	if (len > TORIDE_FP_INPUT_MAX)
		len = TORIDE_FP_INPUT_MAX;
	struct fp_scratch s;
	if (fp_scratch_init(db, f, &s) != 0)
		return TORIDE_ENOMEM;
	int r = TORIDE_ENOTFOUND;
	struct fp_hit h;
	if (!fp_run(e, text, len, &s, &h))
		goto out;
	r = 0;
	if (out != NULL)
		fp_fill(db, kind, e, &h, out);
	if (cb != NULL) {
		char tmp[FP_VALUE_MAX];
		for (size_t i = 0; i < e->nparams; i++) {
			long n = fp_param_resolve(e, i, &h, tmp, sizeof(tmp));
			cb(ctx, e->params[i].name, n < 0 ? NULL : tmp, n < 0 ? 0 : (size_t)n);
		}
	}
out:
	fp_scratch_free(&s);
	return r;
}
