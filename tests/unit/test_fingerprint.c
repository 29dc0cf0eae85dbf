/*
 * Recog fingerprint database tests. The test vectors are Recog's own <example> elements: each one
 * carries the params its fingerprint must produce as attributes (hw.product="...", service.version=
 * "..."), so every example is matched against its own fingerprint and every asserted attribute is
 * compared, as Recog's verifier does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/error.h"
#include "survey/fingerprint.h"

#define RECOG_DIR TORIDE_SOURCE_DIR "/data/fingerprints/recog"

/* Same order as enum toride_fp_kind: the file name decides the kind. */
static const char *const files[TORIDE_FP_KIND_COUNT] = {
	"telnet_banners.xml", "ssh_banners.xml", "http_servers.xml", "http_wwwauth.xml",
	"html_title.xml", "rtsp_servers.xml", "ftp_banners.xml",
};

/*
 * Examples known not to reproduce their attributes under PCRE2, with the reason. Empty today: keep
 * each entry as "file#index" and say why.
 */
static const char *const example_allow[] = { NULL };

static struct toride_fpdb *db;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size in KiB (JIT code is mmap'd, so malloc statistics alone miss it). */
static long
rss_kib(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int
load_db(struct toride_fpdb **out)
{
	char err[256] = "";
	struct mallinfo2 before = mallinfo2();
	long rss0 = rss_kib();
	double t0 = now_s();
	int r = toride_fpdb_load_dir(out, RECOG_DIR, err, sizeof(err));
	double t1 = now_s();
	struct mallinfo2 after = mallinfo2();
	if (r != 0) {
		fprintf(stderr, "load failed: %s (%s)\n", toride_strerror(r), err);
		return -1;
	}
	fprintf(stderr, "# fpdb load: %.1f ms, malloc in use +%zu KiB, RSS +%ld KiB\n", (t1 - t0) * 1000.0,
	        (after.uordblks - before.uordblks) / 1024, rss_kib() - rss0);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	return load_db(&db);
}

static int
teardown(void **state)
{
	(void)state;
	toride_fpdb_free(db);
	db = NULL;
	return 0;
}

/* ---- helpers ---- */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 (whitespace ignored) into out; returns the length. */
static size_t
b64_decode(const char *s, char *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (; *s && *s != '='; s++) {
		int v = b64val((unsigned char)*s);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < cap)
				out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

#define MAX_PARAMS 64

struct params {
	size_t n;
	struct {
		char name[64];
		char value[512];
		int set;
	} v[MAX_PARAMS];
};

static void
collect(void *ctx, const char *name, const char *value, size_t len)
{
	struct params *p = ctx;
	if (p->n >= MAX_PARAMS)
		return;
	snprintf(p->v[p->n].name, sizeof(p->v[p->n].name), "%s", name);
	p->v[p->n].set = value != NULL;
	if (value != NULL) {
		if (len >= sizeof(p->v[p->n].value))
			len = sizeof(p->v[p->n].value) - 1;
		memcpy(p->v[p->n].value, value, len);
		p->v[p->n].value[len] = '\0';
	}
	p->n++;
}

/* The value of param name (last one wins, like Recog's hash), or NULL when absent/unset. */
static const char *
param_get(const struct params *p, const char *name)
{
	for (size_t i = p->n; i-- > 0;)
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].set ? p->v[i].value : NULL;
	return NULL;
}

static int
allowed(const char *file, size_t index)
{
	char key[128];
	snprintf(key, sizeof(key), "%s#%zu", file, index);
	for (size_t i = 0; example_allow[i]; i++)
		if (strcmp(example_allow[i], key) == 0)
			return 1;
	return 0;
}

static int
fp_asserts(const struct toride_fp_match *m)
{
	return m->vendor[0] || m->product[0] || m->type[0];
}

/* ---- tests ---- */

static void
test_load_counts(void **state)
{
	(void)state;
	size_t total = 0;
	for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
		size_t c = toride_fpdb_count(db, (enum toride_fp_kind)k);
		fprintf(stderr, "# %-20s %zu usable of %zu\n", files[k], c, toride_fpdb_size(db, (enum toride_fp_kind)k));
		assert_true(c > 0);
		assert_true(c <= toride_fpdb_size(db, (enum toride_fp_kind)k));
		total += toride_fpdb_size(db, (enum toride_fp_kind)k);
	}
	/* The data has ~1450 fingerprints; a missing one would mean a loader bug. */
	assert_true(total > 1000);
	size_t skipped = toride_fpdb_skipped(db);
	for (size_t i = 0; i < skipped; i++) {
		char line[800];
		assert_int_equal(toride_fpdb_skipped_info(db, i, line, sizeof(line)), 0);
		fprintf(stderr, "# skipped: %s\n", line);
	}
	assert_int_equal(toride_fpdb_skipped_info(db, skipped, NULL, 0), TORIDE_ENOTFOUND);
	/* Under 2% of the patterns may fail to translate to PCRE2. */
	assert_true(skipped * 50 < total);
	assert_int_equal(toride_fpdb_count(db, TORIDE_FP_KIND_COUNT), 0);
}

struct tally {
	size_t examples, failures, skipped, unreached;
};

/* Check one <example> of fingerprint index of kind k against its own fingerprint. */
static void
check_example(enum toride_fp_kind k, size_t index, xmlNode *ex, const char *desc, struct tally *t)
{
	xmlChar *content = xmlNodeGetContent(ex);
	xmlChar *enc = xmlGetProp(ex, (const xmlChar *)"_encoding");
	static char text[65536];
	size_t len;
	if (enc != NULL && xmlStrcmp(enc, (const xmlChar *)"base64") == 0) {
		len = b64_decode((const char *)content, text, sizeof(text));
	} else {
		len = strlen((const char *)content);
		if (len > sizeof(text))
			len = sizeof(text);
		memcpy(text, content, len);
	}
	t->examples++;

	struct params p;
	memset(&p, 0, sizeof(p));
	struct toride_fp_match m;
	int r = toride_fpdb_match_one(db, k, index, text, len, &m, collect, &p);
	int bad = 0;
	if (r == TORIDE_EUNSUPPORTED) {
		t->skipped++;
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "FAIL %s#%zu (%s): example %.80s does not match (%s)\n", files[k], index, desc,
		        (const char *)content, toride_strerror(r));
		bad = 1;
	}
	for (xmlAttr *a = ex->properties; a && r == 0; a = a->next) {
		if (a->name[0] == '_')
			continue;
		xmlChar *want = xmlGetProp(ex, a->name);
		const char *got = param_get(&p, (const char *)a->name);
		if (got == NULL || strcmp(got, (const char *)want) != 0) {
			fprintf(stderr, "FAIL %s#%zu (%s): %s expected '%s' got '%s'\n", files[k], index, desc,
			        (const char *)a->name, (const char *)want, got ? got : "(unset)");
			bad = 1;
		}
		xmlFree(want);
	}
	if (r == 0) {
		/* The summary fields come from the same params. */
		const char *hv = param_get(&p, "hw.vendor");
		if (hv != NULL && hv[0] != '\0' && strlen(hv) < sizeof(m.vendor) && strcmp(m.vendor, hv) != 0) {
			fprintf(stderr, "FAIL %s#%zu: vendor '%s' != hw.vendor '%s'\n", files[k], index, m.vendor, hv);
			bad = 1;
		}
		const char *hd = param_get(&p, "hw.device");
		if (hd != NULL && hd[0] != '\0' && strcmp(m.type, hd) != 0) {
			fprintf(stderr, "FAIL %s#%zu: type '%s' != hw.device '%s'\n", files[k], index, m.type, hd);
			bad = 1;
		}
		assert_string_equal(m.source, files[k]);
		assert_true(m.certainty_permille > 0 && m.certainty_permille <= 1000);
	}
	/* Through the public entry point (with its normalisation) an example of a fingerprint that names
	 * a device must be named by some fingerprint: an earlier one may win, as in Recog. */
	if (r == 0 && fp_asserts(&m)) {
		struct toride_fp_match any;
		if (toride_fpdb_match(db, k, text, len, &any) != 0) {
			fprintf(stderr, "FAIL %s#%zu (%s): toride_fpdb_match finds nothing for %.80s\n", files[k],
			        index, desc, (const char *)content);
			t->unreached++;
		}
	}
	if (bad && !allowed(files[k], index))
		t->failures++;
out:
	xmlFree(content);
	xmlFree(enc);
}

static void
test_recog_examples(void **state)
{
	(void)state;
	struct tally t = { 0 };
	for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", RECOG_DIR, files[k]);
		xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
		assert_non_null(doc);
		size_t index = 0;
		for (xmlNode *fp = xmlDocGetRootElement(doc)->children; fp; fp = fp->next) {
			if (fp->type != XML_ELEMENT_NODE || xmlStrcmp(fp->name, (const xmlChar *)"fingerprint") != 0)
				continue;
			xmlChar *desc = NULL;
			for (xmlNode *c = fp->children; c; c = c->next)
				if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)"description") == 0)
					desc = xmlNodeGetContent(c);
			for (xmlNode *c = fp->children; c; c = c->next)
				if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)"example") == 0)
					check_example((enum toride_fp_kind)k, index, c, desc ? (const char *)desc : "", &t);
			xmlFree(desc);
			index++;
		}
		assert_int_equal(index, toride_fpdb_size(db, (enum toride_fp_kind)k));
		xmlFreeDoc(doc);
	}
	fprintf(stderr, "# examples: %zu, failures: %zu, on skipped fingerprints: %zu, unreached: %zu\n",
	        t.examples, t.failures, t.skipped, t.unreached);
	assert_true(t.examples > 2000);
	assert_int_equal(t.failures, 0);
	assert_int_equal(t.unreached, 0);
	assert_true(t.skipped * 50 < t.examples);
}

static void test_device_banners(void **state);
static void test_hostile(void **state);

/* The same vectors through PCRE2's interpreter, the fallback where JIT is unavailable. */
static void
test_interpreter(void **state)
{
	struct toride_fpdb *jit_db = db;
	setenv("TORIDE_FP_NO_JIT", "1", 1);
	int r = load_db(&db);
	unsetenv("TORIDE_FP_NO_JIT");
	assert_int_equal(r, 0);
	test_recog_examples(state);
	test_device_banners(state);
	test_hostile(state);
	toride_fpdb_free(db);
	db = jit_db;
}

static void
expect(enum toride_fp_kind k, const char *banner, const char *vendor, const char *product, const char *type,
       const char *version)
{
	struct toride_fp_match m;
	int r = toride_fpdb_match(db, k, banner, strlen(banner), &m);
	if (r != 0)
		fprintf(stderr, "no match for %s\n", banner);
	assert_int_equal(r, 0);
	if (vendor)
		assert_string_equal(m.vendor, vendor);
	if (product)
		assert_string_equal(m.product, product);
	if (type)
		assert_string_equal(m.type, type);
	if (version)
		assert_string_equal(m.version, version);
	assert_string_equal(m.source, files[k]);
	assert_true(m.description[0] != '\0');
}

static void
test_device_banners(void **state)
{
	(void)state;
	/* Hikvision cameras' busybox login prompt, as sent (trailing space, CRLF before it). */
	expect(TORIDE_FP_TELNET_BANNER, "\r\n192.0.0.64 login: ", "Hikvision", NULL, "", NULL);
	/* Xiongmai DVR/NVR web server: Recog names the vendor and server, not a device type. */
	expect(TORIDE_FP_HTTP_SERVER, "uc-httpd 1.0.0", "Xiongmai Technology", "uc-httpd", "", "1.0.0");
	expect(TORIDE_FP_HTTP_WWWAUTH, "Basic realm=\"NETGEAR DGN1000\"", "Netgear", "DGN1000", "Router", NULL);
	expect(TORIDE_FP_HTTP_WWWAUTH, "Basic realm=\"NETGEAR Orbi-mini\"", "Netgear", "Orbi-mini", "WAP", NULL);
	/* Full identification line with CRLF: the "SSH-2.0-" prefix is stripped before matching. */
	expect(TORIDE_FP_SSH_BANNER, "SSH-2.0-dropbear_2019.78\r\n", "Dropbear SSH Project", "Dropbear SSH", "",
	       "2019.78");
	expect(TORIDE_FP_SSH_BANNER, "dropbear", "Dropbear SSH Project", "Dropbear SSH", "", "");
	expect(TORIDE_FP_RTSP_SERVER, "Dahua Rtsp Server", "Dahua", NULL, "IP Camera", NULL);
	expect(TORIDE_FP_HTTP_SERVER, "Hikvision-Webs", "Hikvision", NULL, NULL, NULL);
	expect(TORIDE_FP_HTML_TITLE, "NETSurveillance WEB", "Xiongmai Technology", "uc-httpd", NULL, NULL);
	/* FTP greeting with its reply code. */
	expect(TORIDE_FP_FTP_BANNER, "220 foo.bar Microsoft FTP Service (Version 3.0).\r\n", "Microsoft", "Windows NT",
	       NULL, "3.0");

	/* A few FTP entries were written against the whole line, reply code included. */
	expect(TORIDE_FP_FTP_BANNER, "220 ECOSYS P2135dn FTP server\r\n", "Kyocera", "P2135dn", NULL, NULL);
	/* A lone "." in a Ruby pattern matches one UTF-8 character ("\xc2\xb7" here), not one byte. */
	expect(TORIDE_FP_HTML_TITLE, "Sign in \xc2\xb7 GitLab", "GitLab", "GitLab", "", NULL);

	/* "Assert nothing" entries never count: a bare prompt names no device. */
	struct toride_fp_match m;
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_TELNET_BANNER, "login:", 6, &m), TORIDE_ENOTFOUND);
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_TELNET_BANNER, "\r\nPassword: ", 12, &m), TORIDE_ENOTFOUND);
	assert_int_equal(m.vendor[0], '\0');
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_HTTP_SERVER, "", 0, &m), TORIDE_ENOTFOUND);
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_HTTP_SERVER, NULL, 0, &m), TORIDE_ENOTFOUND);
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_HTTP_SERVER, NULL, 5, &m), TORIDE_EINVAL);
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_KIND_COUNT, "x", 1, &m), TORIDE_EINVAL);
	/* The bare-login fingerprint itself matches but asserts nothing. */
	assert_int_equal(toride_fpdb_match_one(db, TORIDE_FP_TELNET_BANNER, 0, "login:", 6, &m, NULL, NULL), 0);
	assert_int_equal(m.vendor[0] | m.product[0] | m.type[0], 0);
	assert_int_equal(toride_fpdb_match_one(db, TORIDE_FP_TELNET_BANNER, 100000, "x", 1, &m, NULL, NULL),
	                 TORIDE_ERANGE);
	/* Bytes after a NUL are still bytes: a banner is not a C string. */
	static const char nul_banner[] = "\0\0uc-httpd 1.0.0";
	assert_int_equal(toride_fpdb_match(db, TORIDE_FP_HTTP_SERVER, nul_banner, sizeof(nul_banner) - 1, &m), 0);
	assert_string_equal(m.product, "uc-httpd");
}

/* Hostile inputs: a 1 MiB banner and inputs built to make backtracking patterns work hard. Each call
 * must return (no crash, bounded time) with a sane result. */
static void
test_hostile(void **state)
{
	(void)state;
	size_t big = 1 << 20;
	char *buf = malloc(big);
	assert_non_null(buf);
	const char fills[] = { 'a', ' ', '\n', '0', '.', '"', '\0', '\xff' };
	double worst = 0;
	for (size_t f = 0; f < sizeof(fills); f++) {
		memset(buf, fills[f], big);
		/* Something that looks like a start of many patterns, then the long tail. */
		memcpy(buf, "Basic realm=\"NETGEAR ", 21);
		for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
			struct toride_fp_match m;
			double t0 = now_s();
			int r = toride_fpdb_match(db, (enum toride_fp_kind)k, buf, big, &m);
			double dt = now_s() - t0;
			if (dt > worst)
				worst = dt;
			assert_true(r == 0 || r == TORIDE_ENOTFOUND);
		}
	}
	/* Repeated words and separators: the shapes that make ".*X.*Y" and "(\S+ )+" patterns work. */
	for (size_t i = 0; i < TORIDE_FP_INPUT_MAX; i++)
		buf[i] = "Server login: Version 1.2 (\r\n"[i % 29];
	for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
		struct toride_fp_match m;
		double t0 = now_s();
		int r = toride_fpdb_match(db, (enum toride_fp_kind)k, buf, TORIDE_FP_INPUT_MAX, &m);
		double dt = now_s() - t0;
		if (dt > worst)
			worst = dt;
		assert_true(r == 0 || r == TORIDE_ENOTFOUND);
	}
	fprintf(stderr, "# hostile: slowest toride_fpdb_match %.1f ms\n", worst * 1000.0);
	free(buf);
}

/* ---- a private data dir exercising loader edge cases and the Ruby-to-PCRE2 translation ---- */

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
rm_tmpdir(void)
{
	for (int k = 0; k < TORIDE_FP_KIND_COUNT; k++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[k]);
		unlink(path);
	}
	rmdir(tmpdir);
}

static const char custom_xml[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<fingerprints protocol='telnet' preference='.80'>\n"
	/* 0: does not compile: skipped, counted, later entries still load */
	"<fingerprint pattern='^broken(('><description>bad</description>"
	"<param pos='0' name='hw.vendor' value='X'/></fingerprint>\n"
	/* 1: Ruby \\h is a hex digit, not horizontal space */
	"<fingerprint pattern='^HEX (\\h+)$'><description>  hex\n   dev  </description>"
	"<param pos='0' name='hw.vendor' value='HexCo'/><param pos='1' name='hw.version'/></fingerprint>\n"
	/* 2: REG_MULTILINE means dot matches newline; REG_ICASE */
	"<fingerprint pattern='^Start.*End$' flags='REG_ICASE,REG_MULTILINE'><description>ml</description>"
	"<param pos='0' name='hw.vendor' value='MlCo'/></fingerprint>\n"
	/* 3: inline (?m) is Ruby's dot-all too; interpolation; certainty attribute */
	"<fingerprint pattern='(?m)^Model (\\w+)\\s.*Serial (\\d+)' certainty='0.5'><description>interp</description>"
	"<param pos='0' name='hw.vendor' value='Acme'/><param pos='1' name='hw.model'/>"
	"<param pos='0' name='hw.product' value='Box {hw.model}'/>"
	"<param pos='0' name='os.product' value='{hw.product} Firmware {nope.name}'/>"
	"<param pos='0' name='hw.cpe23' value='cpe:/h:acme:box:{hw.version}'/>"
	"<param pos='2' name='hw.serial_number'/></fingerprint>\n"
	/* 4: Ruby {,n} is {0,n}; ^ and $ are line anchors in Ruby */
	"<fingerprint pattern='^Q\\d{,2}$'><description>q</description>"
	"<param pos='0' name='os.vendor' value='QCo'/><param pos='0' name='os.device' value='NAS'/></fingerprint>\n"
	/* 5: optional group unset -> product falls back to os.product */
	"<fingerprint pattern='^Opt(?: (\\S+))?$'><description>opt</description>"
	"<param pos='0' name='service.vendor' value='OptCo'/><param pos='1' name='hw.product'/>"
	"<param pos='0' name='os.product' value='OptOS'/></fingerprint>\n"
	/* 6: unknown flag: skipped */
	"<fingerprint pattern='^Z$' flags='REG_BOGUS'><description>z</description>"
	"<param pos='0' name='hw.vendor' value='Z'/></fingerprint>\n"
	"</fingerprints>\n";

static void
test_custom_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/toride-fp-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char err[256] = "";
	struct toride_fpdb *d = NULL;

	/* Empty dir: nothing to load. */
	assert_int_equal(toride_fpdb_load_dir(&d, tmpdir, err, sizeof(err)), TORIDE_ENOTFOUND);
	assert_null(d);
	assert_non_null(strstr(err, tmpdir));

	write_file("telnet_banners.xml", custom_xml);
	assert_int_equal(toride_fpdb_load_dir(&d, tmpdir, err, sizeof(err)), 0);
	assert_int_equal(toride_fpdb_size(d, TORIDE_FP_TELNET_BANNER), 7);
	assert_int_equal(toride_fpdb_count(d, TORIDE_FP_TELNET_BANNER), 5);
	assert_int_equal(toride_fpdb_skipped(d), 2);
	assert_int_equal(toride_fpdb_count(d, TORIDE_FP_SSH_BANNER), 0);
	char line[800];
	assert_int_equal(toride_fpdb_skipped_info(d, 0, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "telnet_banners.xml #0"));
	assert_int_equal(toride_fpdb_skipped_info(d, 1, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "REG_BOGUS") ? line : strstr(line, "flag"));

	struct toride_fp_match m;
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_SSH_BANNER, "x", 1, &m), TORIDE_ENOTFOUND);
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "HEX 00fF", 8, &m), 0);
	assert_string_equal(m.vendor, "HexCo");
	assert_string_equal(m.version, "00fF");
	assert_string_equal(m.description, "hex dev");
	assert_int_equal(m.certainty_permille, 800);
	/* PCRE's \h would accept a tab here; Ruby's does not. */
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "HEX \t", 5, &m), TORIDE_ENOTFOUND);
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "HEX xyz", 7, &m), TORIDE_ENOTFOUND);

	const char ml[] = "start of banner\r\nmore\r\nthe END";
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, ml, strlen(ml), &m), 0);
	assert_string_equal(m.vendor, "MlCo");

	const char in[] = "Welcome\nModel X100\nSerial 42\nlogin:";
	struct params p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(toride_fpdb_match_one(d, TORIDE_FP_TELNET_BANNER, 3, in, strlen(in), &m, collect, &p), 0);
	assert_string_equal(m.vendor, "Acme");
	assert_string_equal(m.product, "Box X100");
	assert_int_equal(m.certainty_permille, 500);
	assert_string_equal(param_get(&p, "hw.model"), "X100");
	assert_string_equal(param_get(&p, "hw.serial_number"), "42");
	/* {hw.product} is itself interpolated; an unknown placeholder is dropped. */
	assert_string_equal(param_get(&p, "os.product"), "Box X100 Firmware ");
	assert_string_equal(param_get(&p, "hw.cpe23"), "cpe:/h:acme:box:-");

	/* Q{,2}: zero to two digits, on any line. */
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "Q", 1, &m), 0);
	assert_string_equal(m.type, "NAS");
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "hello\nQ12\nbye", 13, &m), 0);
	assert_string_equal(m.vendor, "QCo");
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "Q123", 4, &m), TORIDE_ENOTFOUND);

	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "Opt", 3, &m), 0);
	assert_string_equal(m.vendor, "OptCo");
	assert_string_equal(m.product, "OptOS");
	assert_int_equal(toride_fpdb_match(d, TORIDE_FP_TELNET_BANNER, "Opt Thing", 9, &m), 0);
	assert_string_equal(m.product, "Thing");
	assert_int_equal(toride_fpdb_match_one(d, TORIDE_FP_TELNET_BANNER, 0, "broken", 6, &m, NULL, NULL),
	                 TORIDE_EUNSUPPORTED);
	toride_fpdb_free(d);
	d = NULL;

	/* A file that is not XML fails the load with an explanation naming it. */
	write_file("ssh_banners.xml", "<fingerprints><fingerprint pattern='x'>");
	err[0] = '\0';
	assert_int_equal(toride_fpdb_load_dir(&d, tmpdir, err, sizeof(err)), TORIDE_EPARSE);
	assert_null(d);
	assert_non_null(strstr(err, "ssh_banners.xml"));
	write_file("ssh_banners.xml", "<?xml version='1.0'?><other/>");
	assert_int_equal(toride_fpdb_load_dir(&d, tmpdir, err, sizeof(err)), TORIDE_EPARSE);
	assert_non_null(strstr(err, "fingerprints"));
	rm_tmpdir();

	assert_int_equal(toride_fpdb_load_dir(&d, "/nonexistent/toride-fp", err, sizeof(err)), TORIDE_ENOTFOUND);
	assert_non_null(strstr(err, "/nonexistent/toride-fp"));
	assert_int_equal(toride_fpdb_load_dir(&d, NULL, err, sizeof(err)), TORIDE_EINVAL);
	toride_fpdb_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_counts),
		cmocka_unit_test(test_recog_examples),
		cmocka_unit_test(test_device_banners),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_custom_dir),
		cmocka_unit_test(test_interpreter),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
