/*
 * Campaigns (docs/honeypot.md "Campaigns"): sessions are linked with union-find over shared
 * values, each connected set is one campaign. Edges: the same download host, the same sample
 * sha256 (a file the client wrote, a sample fetched from one of the session's URLs, or a sample
 * first seen in the session), the same source address, and the same successful credential pair
 * within HP_CAMPAIGN_CRED_WINDOW_S. Every edge kind is found by sorting (key, session) pairs, so
 * the build is O(n log n) in the number of values and independent of the input order.
 *
 * Also the export helpers of export_int.h (UUIDv5, times, string sets).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "honeypot/export_int.h"
#include "honeypot/hp.h"

/* 6ad15da1-93d7-41ad-be85-80daa4b17167: generated once for toride's honeypot export. */
const uint8_t hp_export_ns[16] = {0x6a, 0xd1, 0x5d, 0xa1, 0x93, 0xd7, 0x41, 0xad,
				  0xbe, 0x85, 0x80, 0xda, 0xa4, 0xb1, 0x71, 0x67};
/* 00abedb4-aa42-466c-9c01-fed23315a9b7 (STIX 2.1 §2.9). */
const uint8_t hp_stix_sco_ns[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
				    0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};

/* Longest key we link on (host, sha256, address, user NUL password): values in events are
 * bounded (hosts HP_URL_HOST_MAX, credentials escaped from short inputs); a longer one is cut,
 * which can only merge two values that agree on their first KEY_MAX bytes. */
#define CAMPAIGN_KEY_MAX 1024

/* ---------------------------------------------------------------- helpers (export_int.h) */

int
hp_uuid5(const uint8_t ns[16], const char *name, size_t len, char out[37])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, ns, 16) == 1 && EVP_DigestUpdate(ctx, name, len) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return TORIDE_ENOMEM;
	md[6] = (uint8_t)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (uint8_t)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
		 md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14],
		 md[15]);
	return 0;
}

int
hp_stix_id(const uint8_t ns[16], const char *prefix, const char *name, char *out, size_t outlen)
{
	char u[37];
	int rc = hp_uuid5(ns, name, strlen(name), u);
	if (rc != 0)
		return rc;
	int n = snprintf(out, outlen, "%s--%s", prefix, u);
	return n > 0 && (size_t)n < outlen ? 0 : TORIDE_ETOOBIG;
}

int
hp_time_parse_ms(const char *iso, int64_t *ms)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, s, n = 0;
	if (iso == NULL || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19)
		return TORIDE_EPARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
		return TORIDE_EPARSE;
	const char *p = iso + n;
	int frac = 0, digits = 0;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		}
		if (digits == 0)
			return TORIDE_EPARSE;
		for (int i = digits; i < 3; i++)
			frac *= 10;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return TORIDE_EPARSE;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return TORIDE_EPARSE;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

void
hp_time_format_ms(int64_t ms, char out[32])
{
	/* Four-digit years only: 9999-12-31T23:59:59.999Z is the last time RFC 3339 can write. */
	const int64_t max = INT64_C(253402300799999);
	char buf[80];
	if (ms < 0)
		ms = 0;
	if (ms > max)
		ms = max;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	snprintf(out, 32, "%.31s", buf);
}

const char *
hp_json_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
hp_json_strset_finish(json_t *arr)
{
	size_t n = json_array_size(arr), k = 0;
	const char **v = NULL;
	json_t *copy = NULL;
	int rc = TORIDE_ENOMEM;
	if (n < 1)
		return 0;
	/* The strings stay alive in copy while arr is rebuilt. */
	if ((copy = json_copy(arr)) == NULL || (v = calloc(n, sizeof *v)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(copy, i);
		if (json_is_string(e))
			v[k++] = json_string_value(e);
	}
	qsort(v, k, sizeof *v, cmp_cstr);
	json_array_clear(arr);
	for (size_t i = 0; i < k; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (json_array_append_new(arr, json_string(v[i])) != 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	json_decref(copy);
	return rc;
}

/* ---------------------------------------------------------------- union-find */

static size_t
uf_find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]]; /* path halving */
		i = parent[i];
	}
	return i;
}

/* Union by smaller index: the root of a set is its lowest session index. */
static void
uf_union(size_t *parent, size_t a, size_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

/* ---------------------------------------------------------------- link keys */

struct link {
	char *key;   /* kind prefix + value, e.g. "h:198.51.100.7" */
	size_t klen; /* key bytes (credential keys hold a NUL) */
	int64_t t;   /* credential edges: time of the successful login (ms) */
	size_t sess; /* session index */
};

struct links {
	struct link *v;
	size_t n, cap;
};

static int
links_add(struct links *l, const char *kind, const char *a, const char *b, int64_t t, size_t sess)
{
	size_t kl = strlen(kind), al = strlen(a), bl = b != NULL ? strlen(b) + 1 : 0;
	if (al > CAMPAIGN_KEY_MAX)
		al = CAMPAIGN_KEY_MAX;
	if (bl > CAMPAIGN_KEY_MAX)
		bl = CAMPAIGN_KEY_MAX;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct link *nv = realloc(l->v, nc * sizeof *nv);
		if (nv == NULL)
			return TORIDE_ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	char *k = malloc(kl + al + bl + 1);
	if (k == NULL)
		return TORIDE_ENOMEM;
	memcpy(k, kind, kl);
	memcpy(k + kl, a, al);
	if (bl > 0) {
		k[kl + al] = '\0'; /* user NUL password: neither holds a NUL (hp_json_str) */
		memcpy(k + kl + al + 1, b, bl - 1);
	}
	k[kl + al + bl] = '\0';
	l->v[l->n++] = (struct link){.key = k, .klen = kl + al + bl, .t = t, .sess = sess};
	return 0;
}

static void
links_free(struct links *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
}

static int
cmp_key(const struct link *x, const struct link *y)
{
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	if (c != 0)
		return c;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static int
cmp_link(const void *a, const void *b)
{
	const struct link *x = a, *y = b;
	int c = cmp_key(x, y);
	if (c != 0)
		return c;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->sess < y->sess ? -1 : x->sess > y->sess;
}

/* ---------------------------------------------------------------- sessions */

struct sess {
	const json_t *ev;
	const char *id;
	const char *src; /* canonical */
	char srcbuf[INET6_ADDRSTRLEN];
	int64_t start, end;
};

/* Lower-case copy of a host name (DNS is case-insensitive; IP literals are unaffected). */
static void
lower_copy(char *out, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

/* Session order: start, then id (ids are unique per sensor). */
static int
sess_before(const struct sess *a, const struct sess *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	return strcmp(a->id, b->id) < 0;
}

static const struct sess *cmp_sess_base;

static int
cmp_sess_idx(const void *a, const void *b)
{
	const struct sess *x = &cmp_sess_base[*(const size_t *)a], *y = &cmp_sess_base[*(const size_t *)b];
	if (sess_before(x, y))
		return -1;
	if (sess_before(y, x))
		return 1;
	return 0;
}

/* Samples by URL, for the "fetched from one of the session's URLs" edge. */
struct url_sample {
	const char *url;
	const char *sha;
};

static int
cmp_url_sample(const void *a, const void *b)
{
	const struct url_sample *x = a, *y = b;
	int c = strcmp(x->url, y->url);
	return c != 0 ? c : strcmp(x->sha, y->sha);
}

/* Sessions by id, for the sample's first-session edge. */
struct id_index {
	const char *id;
	size_t sess;
};

static int
cmp_id_index(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c != 0 ? c : (x->sess < y->sess ? -1 : x->sess > y->sess);
}

static bool
valid_sha256(const char *s)
{
	return s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Add the link keys of session i. */
static int
session_links(struct links *l, const struct sess *s, size_t i, const struct url_sample *us, size_t nus)
{
	char host[HP_URL_HOST_MAX];
	int rc;
	const json_t *arr, *e;
	size_t k;

	if ((rc = links_add(l, "a:", s->src, NULL, 0, i)) != 0)
		return rc;
	arr = json_object_get(s->ev, "downloads");
	json_array_foreach(arr, k, e) {
		const char *h = hp_json_str(e, "host"), *url = hp_json_str(e, "url");
		if (h != NULL && h[0] != '\0') {
			lower_copy(host, sizeof host, h);
			if ((rc = links_add(l, "h:", host, NULL, 0, i)) != 0)
				return rc;
		}
		if (url == NULL || nus == 0)
			continue;
		struct url_sample key = {.url = url, .sha = ""};
		/* First entry with this URL (sha "" sorts before any hash), then all that follow. */
		size_t lo = 0, hi = nus;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_url_sample(&us[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nus && strcmp(us[lo].url, url) == 0; lo++) {
			if ((rc = links_add(l, "s:", us[lo].sha, NULL, 0, i)) != 0)
				return rc;
		}
	}
	arr = json_object_get(s->ev, "files");
	json_array_foreach(arr, k, e) {
		const char *sha = hp_json_str(e, "sha256");
		if (valid_sha256(sha) && (rc = links_add(l, "s:", sha, NULL, 0, i)) != 0)
			return rc;
	}
	arr = json_object_get(s->ev, "logins");
	json_array_foreach(arr, k, e) {
		const char *u = hp_json_str(e, "user"), *p = hp_json_str(e, "password");
		const json_t *t = json_object_get(e, "t_ms");
		if (!json_is_true(json_object_get(e, "ok")) || u == NULL || p == NULL)
			continue;
		int64_t at = s->start + (json_is_integer(t) && json_integer_value(t) > 0 ? json_integer_value(t) : 0);
		if ((rc = links_add(l, "c:", u, p, at, i)) != 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- campaign objects */

static int
arr_add_str(json_t *arr, const char *s)
{
	return json_array_append_new(arr, json_string(s)) == 0 ? 0 : TORIDE_ENOMEM;
}

/* Append every string of src (a JSON array) to dst. */
static int
arr_add_all(json_t *dst, const json_t *src)
{
	size_t k;
	const json_t *e;
	json_array_foreach(src, k, e) {
		if (json_is_string(e) && json_array_append(dst, (json_t *)e) != 0)
			return TORIDE_ENOMEM;
	}
	return 0;
}

static int
cmp_cred(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(hp_json_str(x, "user"), hp_json_str(y, "user"));
	return c != 0 ? c : strcmp(hp_json_str(x, "password"), hp_json_str(y, "password"));
}

/* Sorted unique {user, password} pairs. */
static int
creds_finish(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = NULL, *copy = NULL;
	int rc = TORIDE_ENOMEM;
	if (n < 2)
		return 0;
	if ((copy = json_copy(arr)) == NULL || (v = calloc(n, sizeof *v)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(copy, i);
	qsort(v, n, sizeof *v, cmp_cred);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && cmp_cred(&v[i], &v[i - 1]) == 0)
			continue;
		if (json_array_append(arr, v[i]) != 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	json_decref(copy);
	return rc;
}

/* A sample of a campaign: its sha256 and its hp_sample event, if there is one. */
struct camp_sha {
	size_t root;
	const char *sha;
	const json_t *sample;
};

static int
cmp_camp_sha(const void *a, const void *b)
{
	const struct camp_sha *x = a, *y = b;
	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	return strcmp(x->sha, y->sha);
}

/* One campaign object from its member sessions (indices in session order) and samples. */
static int
campaign_object(const struct sess *ss, const size_t *mem, size_t nm, const struct camp_sha *sha, size_t nsha,
		json_t **out)
{
	json_t *c = NULL, *sessions, *sources, *creds, *hosts, *urls, *shas, *fams;
	char id[64], t0[32], t1[32], host[HP_URL_HOST_MAX];
	int64_t last = ss[mem[0]].end;
	int rc = TORIDE_ENOMEM;
	size_t k;
	const json_t *e;

	c = json_pack("{s:[], s:[], s:[], s:[], s:[], s:[], s:[]}", "sessions", "sources", "credentials",
		      "download_hosts", "urls", "samples", "families");
	if (c == NULL)
		goto out;
	sessions = json_object_get(c, "sessions");
	sources = json_object_get(c, "sources");
	creds = json_object_get(c, "credentials");
	hosts = json_object_get(c, "download_hosts");
	urls = json_object_get(c, "urls");
	shas = json_object_get(c, "samples");
	fams = json_object_get(c, "families");
	for (size_t m = 0; m < nm; m++) {
		const struct sess *s = &ss[mem[m]];
		if (s->end > last)
			last = s->end;
		if ((rc = arr_add_str(sessions, s->id)) != 0 || (rc = arr_add_str(sources, s->src)) != 0 ||
		    (rc = arr_add_all(fams, json_object_get(s->ev, "families"))) != 0)
			goto out;
		rc = TORIDE_ENOMEM;
		json_array_foreach(json_object_get(s->ev, "logins"), k, e) {
			const char *u = hp_json_str(e, "user"), *p = hp_json_str(e, "password");
			if (json_is_true(json_object_get(e, "ok")) && u != NULL && p != NULL &&
			    json_array_append_new(creds, json_pack("{s:s, s:s}", "user", u, "password", p)) != 0)
				goto out;
		}
		json_array_foreach(json_object_get(s->ev, "downloads"), k, e) {
			const char *h = hp_json_str(e, "host"), *url = hp_json_str(e, "url");
			if (h != NULL && h[0] != '\0') {
				lower_copy(host, sizeof host, h);
				if (arr_add_str(hosts, host) != 0)
					goto out;
			}
			if (url != NULL && arr_add_str(urls, url) != 0)
				goto out;
		}
	}
	/* Samples of the campaign (every "s:" link of its sessions: files written, samples fetched
	 * from its URLs or first seen in it); their families are the campaign's too. */
	for (size_t i = 0; i < nsha; i++) {
		if ((rc = arr_add_str(shas, sha[i].sha)) != 0)
			goto out;
		if (sha[i].sample != NULL && (rc = arr_add_all(fams, json_object_get(sha[i].sample, "families"))) != 0)
			goto out;
	}
	if ((rc = hp_json_strset_finish(sources)) != 0 || (rc = hp_json_strset_finish(hosts)) != 0 ||
	    (rc = hp_json_strset_finish(urls)) != 0 ||
	    (rc = hp_json_strset_finish(shas)) != 0 || (rc = hp_json_strset_finish(fams)) != 0 ||
	    (rc = creds_finish(creds)) != 0)
		goto out;
	/* The id depends only on the earliest session: adding later sessions keeps it. */
	size_t nl = strlen("campaign:") + strlen(ss[mem[0]].id) + 1;
	char *name = malloc(nl);
	if (name == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	snprintf(name, nl, "campaign:%s", ss[mem[0]].id);
	rc = hp_stix_id(hp_export_ns, "campaign", name, id, sizeof id);
	free(name);
	if (rc != 0)
		goto out;
	hp_time_format_ms(ss[mem[0]].start, t0);
	hp_time_format_ms(last, t1);
	rc = TORIDE_ENOMEM;
	if (json_object_set_new(c, "id", json_string(id)) != 0 ||
	    json_object_set_new(c, "first_seen", json_string(t0)) != 0 ||
	    json_object_set_new(c, "last_seen", json_string(t1)) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	json_decref(c);
	return rc;
}

struct camp_sort {
	int64_t first;
	const char *id;
	json_t *obj;
};

static int
cmp_camp(const void *a, const void *b)
{
	const struct camp_sort *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
hp_campaigns_build(const json_t *sessions, const json_t *samples, json_t **campaigns_out)
{
	struct sess *ss = NULL;
	struct links l = {0};
	struct url_sample *us = NULL;
	struct id_index *ids = NULL;
	struct camp_sort *cs = NULL;
	struct camp_sha *csha = NULL, *by_sha = NULL;
	size_t *parent = NULL, *order = NULL, *mem = NULL, *root = NULL, *cnt = NULL, *fill = NULL;
	size_t n = 0, nus = 0, ncs = 0, ncsha = 0, nbs = 0, k;
	json_t *result = NULL;
	const json_t *e;
	int rc = TORIDE_ENOMEM;

	if (!json_is_array(sessions) || (samples != NULL && !json_is_null(samples) && !json_is_array(samples)) ||
	    campaigns_out == NULL)
		return TORIDE_EINVAL;
	size_t total = json_array_size(sessions), nsamp = json_array_size(samples);
	if ((ss = calloc(total + 1, sizeof *ss)) == NULL || (parent = calloc(total + 1, sizeof *parent)) == NULL ||
	    (order = calloc(total + 1, sizeof *order)) == NULL || (mem = calloc(total + 1, sizeof *mem)) == NULL ||
	    (ids = calloc(total + 1, sizeof *ids)) == NULL || (cs = calloc(total + 1, sizeof *cs)) == NULL ||
	    (us = calloc(nsamp + 1, sizeof *us)) == NULL || (root = calloc(total + 1, sizeof *root)) == NULL ||
	    (cnt = calloc(total + 2, sizeof *cnt)) == NULL || (fill = calloc(total + 1, sizeof *fill)) == NULL ||
	    (by_sha = calloc(nsamp + 1, sizeof *by_sha)) == NULL)
		goto out;
	/* Usable sessions: an id, a start time and an IP literal source. Others cannot be placed
	 * in time or linked and are left out. */
	json_array_foreach(sessions, k, e) {
		struct sess *s = &ss[n];
		struct in_addr v4;
		struct in6_addr v6;
		const char *src = hp_json_str(e, "src");
		s->ev = e;
		s->id = hp_json_str(e, "session");
		if (s->id == NULL || s->id[0] == '\0' || src == NULL ||
		    hp_time_parse_ms(hp_json_str(e, "start"), &s->start) != 0)
			continue;
		if (inet_pton(AF_INET, src, &v4) == 1)
			inet_ntop(AF_INET, &v4, s->srcbuf, sizeof s->srcbuf);
		else if (inet_pton(AF_INET6, src, &v6) == 1)
			inet_ntop(AF_INET6, &v6, s->srcbuf, sizeof s->srcbuf);
		else
			continue;
		s->src = s->srcbuf;
		if (hp_time_parse_ms(hp_json_str(e, "end"), &s->end) != 0 || s->end < s->start)
			s->end = s->start;
		n++;
	}
	/* Index by session order, so that "lowest index" means "earliest session". */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	cmp_sess_base = ss;
	qsort(order, n, sizeof *order, cmp_sess_idx);
	{
		struct sess *sorted = calloc(n + 1, sizeof *sorted);
		if (sorted == NULL)
			goto out;
		for (size_t i = 0; i < n; i++) {
			sorted[i] = ss[order[i]];
			if (sorted[i].src == ss[order[i]].srcbuf)
				sorted[i].src = sorted[i].srcbuf;
		}
		free(ss);
		ss = sorted;
	}
	for (size_t i = 0; i < n; i++) {
		parent[i] = i;
		ids[i] = (struct id_index){.id = ss[i].id, .sess = i};
	}
	qsort(ids, n, sizeof *ids, cmp_id_index);
	json_array_foreach(samples, k, e) {
		const char *url = hp_json_str(e, "url"), *sha = hp_json_str(e, "sha256");
		if (url != NULL && valid_sha256(sha))
			us[nus++] = (struct url_sample){.url = url, .sha = sha};
	}
	qsort(us, nus, sizeof *us, cmp_url_sample);
	/* Sample events by sha256 (root 0 for all, so cmp_camp_sha orders by sha; the first of
	 * duplicates wins, as in the store). */
	json_array_foreach(samples, k, e) {
		const char *sha = hp_json_str(e, "sha256");
		if (valid_sha256(sha))
			by_sha[nbs++] = (struct camp_sha){.root = 0, .sha = sha, .sample = e};
	}
	qsort(by_sha, nbs, sizeof *by_sha, cmp_camp_sha);

	for (size_t i = 0; i < n; i++) {
		if ((rc = session_links(&l, &ss[i], i, us, nus)) != 0)
			goto out;
	}
	/* A sample first seen in a session shares the session's campaign. */
	json_array_foreach(samples, k, e) {
		const char *sid = hp_json_str(e, "session"), *sha = hp_json_str(e, "sha256");
		if (sid == NULL || !valid_sha256(sha))
			continue;
		struct id_index key = {.id = sid, .sess = 0};
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_id_index(&ids[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && strcmp(ids[lo].id, sid) == 0 && (rc = links_add(&l, "s:", sha, NULL, 0, ids[lo].sess)) != 0)
			goto out;
	}
	if (l.n > 0)
		qsort(l.v, l.n, sizeof *l.v, cmp_link);
	if ((csha = calloc(l.n + 1, sizeof *csha)) == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	for (size_t i = 1; i < l.n; i++) {
		const struct link *a = &l.v[i - 1], *b = &l.v[i];
		if (cmp_key(a, b) != 0)
			continue;
		/* Credentials link only inside the window; sorted by time, linking neighbours gives
		 * the same sets as linking every pair within the window. */
		if (b->key[0] == 'c' && b->t - a->t > (int64_t)HP_CAMPAIGN_CRED_WINDOW_S * 1000)
			continue;
		uf_union(parent, a->sess, b->sess);
	}

	/* Members of each set, in session order (the root is the earliest session): bucket the
	 * sessions by root with a counting sort. */
	for (size_t i = 0; i < n; i++) {
		root[i] = uf_find(parent, i);
		cnt[root[i] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		cnt[i + 1] += cnt[i];
	for (size_t i = 0; i < n; i++)
		mem[cnt[root[i]] + fill[root[i]]++] = i;
	/* Samples of each set from the "s:" links, with their events looked up by sha256. */
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].key[0] != 's')
			continue;
		const char *h = l.v[i].key + 2;
		const json_t *ev = NULL;
		size_t lo = 0, hi = nbs;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(by_sha[mid].sha, h) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nbs && strcmp(by_sha[lo].sha, h) == 0)
			ev = by_sha[lo].sample;
		csha[ncsha++] = (struct camp_sha){.root = root[l.v[i].sess], .sha = h, .sample = ev};
	}
	qsort(csha, ncsha, sizeof *csha, cmp_camp_sha);
	size_t si = 0;
	for (size_t r = 0; r < n; r++) {
		if (root[r] != r)
			continue;
		while (si < ncsha && csha[si].root < r)
			si++;
		size_t s0 = si;
		while (si < ncsha && csha[si].root == r)
			si++;
		json_t *obj = NULL;
		if ((rc = campaign_object(ss, mem + cnt[r], cnt[r + 1] - cnt[r], csha + s0, si - s0, &obj)) != 0)
			goto out;
		cs[ncs++] = (struct camp_sort){.first = ss[r].start, .id = json_string_value(json_object_get(obj, "id")),
					       .obj = obj};
	}
	qsort(cs, ncs, sizeof *cs, cmp_camp);
	if ((result = json_array()) == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ncs; i++) {
		if (json_array_append(result, cs[i].obj) != 0) {
			rc = TORIDE_ENOMEM;
			goto out;
		}
	}
	*campaigns_out = result;
	result = NULL;
	rc = 0;
out:
	for (size_t i = 0; cs != NULL && i < ncs; i++)
		json_decref(cs[i].obj);
	json_decref(result);
	links_free(&l);
	free(ss);
	free(parent);
	free(order);
	free(mem);
	free(ids);
	free(us);
	free(cs);
	free(root);
	free(cnt);
	free(fill);
	free(csha);
	free(by_sha);
	return rc;
}
