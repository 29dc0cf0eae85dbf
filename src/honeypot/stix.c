/*
 * STIX 2.1 bundle of honeypot sessions, samples and campaigns (docs/honeypot.md "Outputs"). Every
 * id is a UUIDv5: SDOs and SROs in toride's namespace from a stable key ("indicator:url:<url>"),
 * SCOs in the STIX namespace from their id-contributing properties (STIX 2.1 §2.9), so the same
 * input always gives the same bundle and the same address or URL gets the id other producers give
 * it. Attacker strings arrive escaped to printable ASCII (core/escape.h) and are kept as they are;
 * only URL values are percent-encoded where RFC 3986 needs it, so they are valid "uri" values.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "honeypot/export_int.h"
#include "honeypot/hp.h"

/* Longest URL we put into a bundle after percent-encoding: an escaped dropper URL is at most a
 * few hundred bytes; three times HP_URL_PATH_MAX plus a host covers any encoding of one. */
#define STIX_URL_MAX (3u * HP_URL_PATH_MAX + HP_URL_HOST_MAX + 64u)
/* Longest stable key we derive an id from (a URL plus a prefix). */
#define STIX_KEY_MAX (STIX_URL_MAX + 128u)

struct stix {
	const struct hp_export_opts *o;
	char now[32];
	char identity[64];
	json_t *objects;  /* id -> object, in insertion order */
	json_t *sessions; /* session id -> hp_session event */
	json_t *samples;  /* sha256 -> hp_sample event */
	json_t *url_first; /* url -> earliest time (ms) it was given to a downloader */
	json_t *url_samples; /* url -> [hp_sample events fetched from it] */
};

/* ---------------------------------------------------------------- URLs */

/* RFC 3986 characters allowed in a path, query or fragment besides pct-encoded ones. */
static bool
uri_pchar(unsigned char c)
{
	return isalnum(c) || strchr("-._~!$&'()*+,;=:@/?", c) != NULL;
}

/* Append c, percent-encoded unless allowed. */
static void
put_uri_char(char *out, size_t cap, size_t *o, unsigned char c, bool allowed)
{
	static const char hex[] = "0123456789ABCDEF";
	if (*o + 4 > cap)
		return;
	if (allowed) {
		out[(*o)++] = (char)c;
	} else {
		out[(*o)++] = '%';
		out[(*o)++] = hex[c >> 4];
		out[(*o)++] = hex[c & 15];
	}
}

/* Append s[0..n) allowing only unreserved, sub-delims and the extra characters. */
static void
put_uri_part(char *out, size_t cap, size_t *o, const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = isalnum(c) || strchr("-._~!$&'()*+,;=", c) != NULL || (extra != NULL && strchr(extra, c) != NULL);
		if (c == '%')
			ok = i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2]);
		put_uri_char(out, cap, o, c, ok && c != '\0');
	}
}

/* A URL as a valid RFC 3986 URI: a missing scheme becomes http (as droppers mean it); the
 * authority is rebuilt as [userinfo@]host[:port] with only an IPv6 literal in brackets and only
 * digits as a port; every byte a URI cannot hold is percent-encoded. A URL that already is a URI
 * comes out unchanged apart from the scheme's case. */
static void
stix_url(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	const char *sep = strstr(in, "://"), *p = in;
	bool has_scheme = sep != NULL && sep > in && isalpha((unsigned char)in[0]);
	for (const char *q = in; has_scheme && q < sep; q++) {
		if (!isalnum((unsigned char)*q) && strchr("+-.", *q) == NULL)
			has_scheme = false;
	}
	out[0] = '\0';
	if (!has_scheme) {
		o = (size_t)snprintf(out, cap, "http://");
	} else {
		for (; p < sep && o + 4 < cap; p++)
			out[o++] = (char)tolower((unsigned char)*p);
		o += (size_t)snprintf(out + o, cap - o, "://");
		p = sep + 3;
	}
	/* Authority: up to the first '/', '?' or '#'. */
	size_t alen = strcspn(p, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++) {
		if (p[i] == '@')
			at = p + i;
	}
	const char *host = p;
	if (at != NULL) {
		put_uri_part(out, cap, &o, p, (size_t)(at - p), ":");
		put_uri_char(out, cap, &o, '@', true);
		host = at + 1;
	}
	size_t hlen = (size_t)(p + alen - host), plen = 0;
	const char *port = NULL;
	/* An IPv6 literal keeps its brackets when all that follows is ":digits". */
	const char *close = hlen > 0 && host[0] == '[' ? memchr(host, ']', hlen) : NULL;
	if (close != NULL && close - host > 1 &&
	    strspn(host + 1, "0123456789abcdefABCDEF:.") >= (size_t)(close - host - 1)) {
		size_t rest = (size_t)(host + hlen - close - 1);
		if (rest == 0 || (close[1] == ':' && strspn(close + 2, "0123456789") >= rest - 1)) {
			port = rest > 0 ? close + 2 : NULL;
			plen = rest > 0 ? rest - 1 : 0;
			for (const char *q = host; q <= close; q++)
				put_uri_char(out, cap, &o, (unsigned char)*q, true);
			hlen = 0;
		}
	}
	if (hlen > 0) {
		const char *colon = NULL;
		for (size_t i = 0; i < hlen; i++) {
			if (host[i] == ':')
				colon = host + i;
		}
		if (colon != NULL && strspn(colon + 1, "0123456789") >= (size_t)(host + hlen - colon - 1)) {
			port = colon + 1;
			plen = (size_t)(host + hlen - colon - 1);
			hlen = (size_t)(colon - host);
		}
		/* A reg-name: anything else (brackets, other colons) is percent-encoded. */
		put_uri_part(out, cap, &o, host, hlen, NULL);
	}
	if (port != NULL) {
		put_uri_char(out, cap, &o, ':', true);
		for (size_t i = 0; i < plen; i++)
			put_uri_char(out, cap, &o, (unsigned char)port[i], true);
	}
	/* Path, query, fragment: a second '#' cannot appear. */
	bool frag = false;
	for (p += alen; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		bool ok;
		if (c == '#') {
			ok = !frag;
			frag = true;
		} else if (c == '%') {
			ok = isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]);
		} else {
			ok = uri_pchar(c);
		}
		put_uri_char(out, cap, &o, c, ok);
	}
	out[o < cap ? o : cap - 1] = '\0';
}

/* A STIX pattern string literal: ' and \ escaped with a backslash. */
static void
pattern_literal(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in != '\0' && o + 3 < cap; in++) {
		if (*in == '\'' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
}

/* ---------------------------------------------------------------- objects */

/* Add obj (stolen) under its id unless an object with that id is already there. */
static int
add_object(struct stix *x, json_t *obj)
{
	if (obj == NULL)
		return TORIDE_ENOMEM;
	const char *id = hp_json_str(obj, "id");
	if (id == NULL) {
		json_decref(obj);
		return TORIDE_ENOMEM;
	}
	if (json_object_get(x->objects, id) != NULL) {
		json_decref(obj);
		return 0;
	}
	return json_object_set_new(x->objects, id, obj) == 0 ? 0 : TORIDE_ENOMEM;
}

/* A new SDO/SRO with the common properties. */
static json_t *
sdo(struct stix *x, const char *type, const char *id)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "spec_version", "2.1", "id", id, "created",
			      x->now, "modified", x->now);
	if (o != NULL && strcmp(type, "identity") != 0 &&
	    json_object_set_new(o, "created_by_ref", json_string(x->identity)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
sdo_id(const char *type, const char *key, char *out, size_t cap)
{
	char name[STIX_KEY_MAX];
	snprintf(name, sizeof name, "%s:%s", type, key);
	return hp_stix_id(hp_export_ns, type, name, out, cap);
}

/* SCO id from the canonical JSON of its id-contributing properties. */
static int
sco_id(const char *type, json_t *contrib, char *out, size_t cap)
{
	char *canon = json_dumps(contrib, JSON_COMPACT | JSON_SORT_KEYS);
	if (canon == NULL)
		return TORIDE_ENOMEM;
	int rc = hp_stix_id(hp_stix_sco_ns, type, canon, out, cap);
	free(canon);
	return rc;
}

static int
relationship(struct stix *x, const char *rtype, const char *src, const char *dst)
{
	char key[256], id[80];
	snprintf(key, sizeof key, "%s|%s|%s", src, rtype, dst);
	int rc = sdo_id("relationship", key, id, sizeof id);
	if (rc != 0)
		return rc;
	json_t *r = sdo(x, "relationship", id);
	if (r == NULL || json_object_set_new(r, "relationship_type", json_string(rtype)) != 0 ||
	    json_object_set_new(r, "source_ref", json_string(src)) != 0 ||
	    json_object_set_new(r, "target_ref", json_string(dst)) != 0) {
		json_decref(r);
		return TORIDE_ENOMEM;
	}
	return add_object(x, r);
}

static int
malware(struct stix *x, const char *family, char *id, size_t cap)
{
	int rc = sdo_id("malware", family, id, cap);
	if (rc != 0)
		return rc;
	json_t *m = sdo(x, "malware", id);
	if (m == NULL || json_object_set_new(m, "name", json_string(family)) != 0 ||
	    json_object_set_new(m, "is_family", json_true()) != 0) {
		json_decref(m);
		return TORIDE_ENOMEM;
	}
	return add_object(x, m);
}

static int
indicator(struct stix *x, const char *key, const char *name, const char *pattern, const char *valid_from, char *id,
	  size_t cap)
{
	int rc = sdo_id("indicator", key, id, cap);
	if (rc != 0)
		return rc;
	json_t *i = sdo(x, "indicator", id);
	if (i == NULL || json_object_set_new(i, "name", json_string(name)) != 0 ||
	    json_object_set_new(i, "indicator_types", json_pack("[s]", "malicious-activity")) != 0 ||
	    json_object_set_new(i, "pattern", json_string(pattern)) != 0 ||
	    json_object_set_new(i, "pattern_type", json_string("stix")) != 0 ||
	    json_object_set_new(i, "pattern_version", json_string("2.1")) != 0 ||
	    json_object_set_new(i, "valid_from", json_string(valid_from)) != 0) {
		json_decref(i);
		return TORIDE_ENOMEM;
	}
	return add_object(x, i);
}

/* Sighting of an indicator in a campaign's observed data, at this sensor. */
static int
sighting(struct stix *x, const char *ind, const char *obs, const char *campaign, const char *first, const char *last,
	 int count)
{
	char key[256], id[80];
	snprintf(key, sizeof key, "%s|%s", ind, campaign);
	int rc = sdo_id("sighting", key, id, sizeof id);
	if (rc != 0)
		return rc;
	json_t *s = sdo(x, "sighting", id);
	if (s == NULL || json_object_set_new(s, "sighting_of_ref", json_string(ind)) != 0 ||
	    json_object_set_new(s, "observed_data_refs", json_pack("[s]", obs)) != 0 ||
	    json_object_set_new(s, "where_sighted_refs", json_pack("[s]", x->identity)) != 0 ||
	    json_object_set_new(s, "first_seen", json_string(first)) != 0 ||
	    json_object_set_new(s, "last_seen", json_string(last)) != 0 ||
	    json_object_set_new(s, "count", json_integer(count > 0 ? count : 1)) != 0) {
		json_decref(s);
		return TORIDE_ENOMEM;
	}
	return add_object(x, s);
}

/* Append the strings of src, if it is an array (absent families are no families). */
static int
add_strings(json_t *dst, const json_t *src)
{
	size_t k;
	const json_t *e;
	json_array_foreach(src, k, e) {
		if (json_is_string(e) && json_array_append(dst, (json_t *)e) != 0)
			return TORIDE_ENOMEM;
	}
	return 0;
}

/* Index the campaign's sessions once: "u:<url>" and "s:<sha256>" -> {"n": sessions that used
 * the URL / wrote the file, "f": their families}. */
static int
index_uses(struct stix *x, const json_t *camp, json_t *uses)
{
	size_t k, j;
	const json_t *sid, *e;
	json_array_foreach(json_object_get(camp, "sessions"), k, sid) {
		const json_t *s = json_object_get(x->sessions, json_string_value(sid));
		json_t *seen = json_object();
		if (seen == NULL)
			return TORIDE_ENOMEM;
		for (int pass = 0; pass < 2; pass++) {
			json_array_foreach(json_object_get(s, pass == 0 ? "downloads" : "files"), j, e) {
				const char *v = hp_json_str(e, pass == 0 ? "url" : "sha256");
				if (v == NULL)
					continue;
				size_t n = strlen(v) + 3;
				char *key = malloc(n);
				if (key == NULL) {
					json_decref(seen);
					return TORIDE_ENOMEM;
				}
				snprintf(key, n, "%c:%s", pass == 0 ? 'u' : 's', v);
				json_t *u = json_object_get(uses, key);
				int rc = 0;
				if (json_object_get(seen, key) == NULL) {
					if (u == NULL && (json_object_set_new(uses, key, json_pack("{s:i, s:[]}", "n", 0, "f")) != 0 ||
							  (u = json_object_get(uses, key)) == NULL))
						rc = TORIDE_ENOMEM;
					if (rc == 0 && (json_object_set_new(seen, key, json_true()) != 0 ||
							json_object_set_new(u, "n", json_integer(json_integer_value(json_object_get(u, "n")) + 1)) != 0 ||
							add_strings(json_object_get(u, "f"), json_object_get(s, "families")) != 0))
						rc = TORIDE_ENOMEM;
				}
				free(key);
				if (rc != 0) {
					json_decref(seen);
					return rc;
				}
			}
		}
		json_decref(seen);
	}
	return 0;
}

/* Families of the campaign's sessions that used url (download) or wrote sha (file), and of the
 * samples fetched from url or with that sha, into fams; count = those sessions. */
static int
families_of(struct stix *x, const json_t *uses, const char *url, const char *sha, json_t *fams, int *count)
{
	size_t k;
	const json_t *e;
	const char *v = url != NULL ? url : sha;
	size_t n = strlen(v) + 3;
	char *key = malloc(n);
	if (key == NULL)
		return TORIDE_ENOMEM;
	snprintf(key, n, "%c:%s", url != NULL ? 'u' : 's', v);
	const json_t *u = json_object_get(uses, key);
	free(key);
	*count = (int)json_integer_value(json_object_get(u, "n"));
	if (add_strings(fams, json_object_get(u, "f")) != 0)
		return TORIDE_ENOMEM;
	if (sha != NULL && add_strings(fams, json_object_get(json_object_get(x->samples, sha), "families")) != 0)
		return TORIDE_ENOMEM;
	json_array_foreach(url != NULL ? json_object_get(x->url_samples, url) : NULL, k, e) {
		if (add_strings(fams, json_object_get(e, "families")) != 0)
			return TORIDE_ENOMEM;
	}
	return hp_json_strset_finish(fams);
}

/* indicator indicates campaign, and every family in fams. */
static int
indicates(struct stix *x, const char *ind, const char *campaign, const json_t *fams)
{
	size_t k;
	const json_t *f;
	char mid[80];
	int rc = relationship(x, "indicates", ind, campaign);
	json_array_foreach(fams, k, f) {
		if (rc == 0 && (rc = malware(x, json_string_value(f), mid, sizeof mid)) == 0)
			rc = relationship(x, "indicates", ind, mid);
	}
	return rc;
}

/* Earliest time a URL was given to a downloader, for valid_from; else fallback. */
static void
url_first_seen(struct stix *x, const char *url, const char *fallback, char out[32])
{
	const json_t *t = json_object_get(x->url_first, url);
	if (json_is_integer(t))
		hp_time_format_ms(json_integer_value(t), out);
	else
		snprintf(out, 32, "%s", fallback);
}

/* Fill url_first and url_samples. */
static int
index_urls(struct stix *x)
{
	const char *kk;
	const json_t *s, *e;
	size_t j;
	json_object_foreach(x->sessions, kk, s) {
		int64_t start;
		if (hp_time_parse_ms(hp_json_str(s, "start"), &start) != 0)
			continue;
		json_array_foreach(json_object_get(s, "downloads"), j, e) {
			const char *u = hp_json_str(e, "url");
			const json_t *t = json_object_get(e, "t_ms"), *old;
			int64_t at = start + (json_is_integer(t) && json_integer_value(t) > 0 ? json_integer_value(t) : 0);
			if (u == NULL)
				continue;
			old = json_object_get(x->url_first, u);
			if ((old == NULL || at < json_integer_value(old)) &&
			    json_object_set_new(x->url_first, u, json_integer(at)) != 0)
				return TORIDE_ENOMEM;
		}
	}
	json_object_foreach(x->samples, kk, s) {
		const char *u = hp_json_str(s, "url");
		json_t *list;
		if (u == NULL)
			continue;
		if ((list = json_object_get(x->url_samples, u)) == NULL) {
			if (json_object_set_new(x->url_samples, u, json_array()) != 0)
				return TORIDE_ENOMEM;
			list = json_object_get(x->url_samples, u);
		}
		if (json_array_append(list, (json_t *)s) != 0)
			return TORIDE_ENOMEM;
	}
	return 0;
}

static int
ip_sco(const char *addr, char *id, size_t cap, json_t **out)
{
	struct in6_addr v6;
	const char *type = inet_pton(AF_INET6, addr, &v6) == 1 ? "ipv6-addr" : "ipv4-addr";
	json_t *contrib = json_pack("{s:s}", "value", addr);
	int rc = contrib != NULL ? sco_id(type, contrib, id, cap) : TORIDE_ENOMEM;
	json_decref(contrib);
	if (rc != 0)
		return rc;
	*out = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "spec_version", "2.1", "id", id, "value", addr);
	return *out != NULL ? 0 : TORIDE_ENOMEM;
}

static int
export_campaign(struct stix *x, const json_t *camp)
{
	const char *cid = hp_json_str(camp, "id"), *first = hp_json_str(camp, "first_seen"),
		   *last = hp_json_str(camp, "last_seen");
	char first_n[32], last_n[32], obs_id[80], id[80], name[256], *url = NULL, *key = NULL, *pat = NULL;
	json_t *refs = NULL, *fams = NULL, *uses = NULL;
	size_t nsess = json_array_size(json_object_get(camp, "sessions")), k;
	const json_t *e;
	int64_t ms;
	int rc = TORIDE_ENOMEM, count;

	if (cid == NULL || strncmp(cid, "campaign--", 10) != 0 || nsess == 0)
		return TORIDE_EINVAL;
	/* Normalised times: RFC 3339 with milliseconds, whatever the campaign object held. */
	if (hp_time_parse_ms(first, &ms) != 0)
		return TORIDE_EINVAL;
	hp_time_format_ms(ms, first_n);
	if (hp_time_parse_ms(last, &ms) != 0)
		return TORIDE_EINVAL;
	hp_time_format_ms(ms, last_n);
	if ((url = malloc(STIX_URL_MAX)) == NULL || (key = malloc(STIX_KEY_MAX)) == NULL ||
	    (pat = malloc(2 * STIX_URL_MAX + 64)) == NULL || (refs = json_array()) == NULL ||
	    (uses = json_object()) == NULL)
		goto out;
	if ((rc = index_uses(x, camp, uses)) != 0)
		goto out;
	rc = TORIDE_ENOMEM;

	/* The campaign, and the malware families it used. */
	const json_t *cfams = json_object_get(camp, "families");
	size_t nsrc = json_array_size(json_object_get(camp, "sources"));
	snprintf(name, sizeof name, "Honeypot campaign %.8s (%zu session%s from %zu source%s)", cid + 10, nsess,
		 nsess == 1 ? "" : "s", nsrc, nsrc == 1 ? "" : "s");
	json_t *c = sdo(x, "campaign", cid);
	if (c == NULL || json_object_set_new(c, "name", json_string(name)) != 0 ||
	    json_object_set_new(c, "description",
				json_string("IoT devices' default-credential logins and malware downloads seen by a "
					    "toride honeypot, linked by shared download hosts, samples, source "
					    "addresses and credential pairs used within 120 s.")) != 0 ||
	    json_object_set_new(c, "first_seen", json_string(first_n)) != 0 ||
	    json_object_set_new(c, "last_seen", json_string(last_n)) != 0) {
		json_decref(c);
		goto out;
	}
	if ((rc = add_object(x, c)) != 0)
		goto out;
	json_array_foreach(cfams, k, e) {
		if (!json_is_string(e))
			continue;
		if ((rc = malware(x, json_string_value(e), id, sizeof id)) != 0 ||
		    (rc = relationship(x, "uses", cid, id)) != 0)
			goto out;
	}

	/* Observables: source addresses, download URLs, files. */
	json_array_foreach(json_object_get(camp, "sources"), k, e) {
		json_t *sco = NULL;
		if (!json_is_string(e))
			continue;
		if ((rc = ip_sco(json_string_value(e), id, sizeof id, &sco)) != 0 || (rc = add_object(x, sco)) != 0)
			goto out;
		rc = TORIDE_ENOMEM;
		if (json_array_append_new(refs, json_string(id)) != 0)
			goto out;
	}
	snprintf(key, STIX_KEY_MAX, "%s", cid);
	if ((rc = sdo_id("observed-data", key, obs_id, sizeof obs_id)) != 0)
		goto out;
	json_array_foreach(json_object_get(camp, "urls"), k, e) {
		char ind[80], vf[32];
		/* An empty URL (a bare "wget") names nothing to look for. */
		if (!json_is_string(e) || json_string_length(e) == 0)
			continue;
		stix_url(json_string_value(e), url, STIX_URL_MAX);
		json_t *contrib = json_pack("{s:s}", "value", url);
		rc = contrib != NULL ? sco_id("url", contrib, id, sizeof id) : TORIDE_ENOMEM;
		json_decref(contrib);
		if (rc != 0 || (rc = add_object(x, json_pack("{s:s, s:s, s:s, s:s}", "type", "url", "spec_version", "2.1",
							     "id", id, "value", url))) != 0)
			goto out;
		rc = TORIDE_ENOMEM;
		if (json_array_append_new(refs, json_string(id)) != 0)
			goto out;
		pattern_literal(url, key, STIX_KEY_MAX);
		snprintf(pat, 2 * STIX_URL_MAX + 64, "[url:value = '%s']", key);
		snprintf(key, STIX_KEY_MAX, "url:%s", url);
		url_first_seen(x, json_string_value(e), first_n, vf);
		if ((rc = indicator(x, key, "Malware download URL given to a downloader on a honeypot", pat, vf, ind,
				    sizeof ind)) != 0)
			goto out;
		json_decref(fams);
		if ((fams = json_array()) == NULL) {
			rc = TORIDE_ENOMEM;
			goto out;
		}
		if ((rc = families_of(x, uses, json_string_value(e), NULL, fams, &count)) != 0 ||
		    (rc = indicates(x, ind, cid, fams)) != 0 ||
		    (rc = sighting(x, ind, obs_id, cid, first_n, last_n, count)) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(camp, "samples"), k, e) {
		char ind[80], vf[32];
		const char *sha = json_string_value(e);
		if (sha == NULL || strlen(sha) != 64)
			continue;
		const json_t *smp = json_object_get(x->samples, sha);
		json_t *hashes = json_pack("{s:s}", "SHA-256", sha), *contrib = json_pack("{s:O}", "hashes", hashes);
		rc = contrib != NULL ? sco_id("file", contrib, id, sizeof id) : TORIDE_ENOMEM;
		json_decref(contrib);
		if (rc != 0) {
			json_decref(hashes);
			goto out;
		}
		const char *md5 = hp_json_str(smp, "md5"), *sha1 = hp_json_str(smp, "sha1");
		if ((md5 != NULL && strlen(md5) == 32 && json_object_set_new(hashes, "MD5", json_string(md5)) != 0) ||
		    (sha1 != NULL && strlen(sha1) == 40 && json_object_set_new(hashes, "SHA-1", json_string(sha1)) != 0)) {
			json_decref(hashes);
			rc = TORIDE_ENOMEM;
			goto out;
		}
		json_t *file = json_pack("{s:s, s:s, s:s, s:o}", "type", "file", "spec_version", "2.1", "id", id, "hashes",
					 hashes);
		const json_t *size = json_object_get(smp, "size");
		if (file != NULL && json_is_integer(size) && json_integer_value(size) >= 0 &&
		    json_object_set(file, "size", (json_t *)size) != 0) {
			json_decref(file);
			file = NULL;
		}
		if ((rc = add_object(x, file)) != 0)
			goto out;
		rc = TORIDE_ENOMEM;
		if (json_array_append_new(refs, json_string(id)) != 0)
			goto out;
		snprintf(pat, 2 * STIX_URL_MAX + 64, "[file:hashes.'SHA-256' = '%s']", sha);
		snprintf(key, STIX_KEY_MAX, "file:sha256:%s", sha);
		if (hp_time_parse_ms(hp_json_str(smp, "first_seen"), &ms) == 0)
			hp_time_format_ms(ms, vf);
		else
			snprintf(vf, sizeof vf, "%s", first_n);
		if ((rc = indicator(x, key, "Malware sample written to or fetched for a honeypot", pat, vf, ind,
				    sizeof ind)) != 0)
			goto out;
		json_decref(fams);
		if ((fams = json_array()) == NULL) {
			rc = TORIDE_ENOMEM;
			goto out;
		}
		if ((rc = families_of(x, uses, NULL, sha, fams, &count)) != 0 ||
		    (rc = indicates(x, ind, cid, fams)) != 0 ||
		    (rc = sighting(x, ind, obs_id, cid, first_n, last_n, count)) != 0)
			goto out;
	}
	/* What was observed: the campaign's sessions, with every observable. */
	json_t *od = sdo(x, "observed-data", obs_id);
	if (od == NULL || json_object_set_new(od, "first_observed", json_string(first_n)) != 0 ||
	    json_object_set_new(od, "last_observed", json_string(last_n)) != 0 ||
	    json_object_set_new(od, "number_observed", json_integer((json_int_t)nsess)) != 0 ||
	    json_object_set(od, "object_refs", refs) != 0) {
		json_decref(od);
		rc = TORIDE_ENOMEM;
		goto out;
	}
	rc = add_object(x, od);
out:
	free(url);
	free(key);
	free(pat);
	json_decref(refs);
	json_decref(fams);
	json_decref(uses);
	return rc;
}

/* id -> event maps of the inputs (first wins on a duplicate). */
static int
index_events(json_t *map, const json_t *arr, const char *key)
{
	size_t k;
	const json_t *e;
	json_array_foreach(arr, k, e) {
		const char *id = hp_json_str(e, key);
		if (id != NULL && json_object_get(map, id) == NULL && json_object_set(map, id, (json_t *)e) != 0)
			return TORIDE_ENOMEM;
	}
	return 0;
}

int
hp_export_stix(const json_t *sessions, const json_t *samples, const json_t *campaigns,
	       const struct hp_export_opts *o, json_t **bundle_out)
{
	struct stix x = {.o = o};
	json_t *built = NULL, *bundle = NULL, *objs = NULL;
	char bundle_id[80];
	int rc = TORIDE_ENOMEM;
	size_t k;
	const json_t *e;
	const char *kk;

	if (!json_is_array(sessions) || o == NULL || bundle_out == NULL)
		return TORIDE_EINVAL;
	if (campaigns == NULL) {
		if ((rc = hp_campaigns_build(sessions, samples, &built)) != 0)
			return rc;
		campaigns = built;
		rc = TORIDE_ENOMEM;
	}
	if (!json_is_array(campaigns)) {
		rc = TORIDE_EINVAL;
		goto out;
	}
	hp_time_format_ms((int64_t)(o->now * 1000.0), x.now);
	const char *sensor = o->sensor_name != NULL && o->sensor_name[0] != '\0' ? o->sensor_name : "toride honeypot";
	if ((x.objects = json_object()) == NULL || (x.sessions = json_object()) == NULL ||
	    (x.samples = json_object()) == NULL || (objs = json_array()) == NULL ||
	    (x.url_first = json_object()) == NULL || (x.url_samples = json_object()) == NULL)
		goto out;
	if ((rc = index_events(x.sessions, sessions, "session")) != 0 ||
	    (rc = index_events(x.samples, samples, "sha256")) != 0 || (rc = index_urls(&x)) != 0 ||
	    (rc = sdo_id("identity", sensor, x.identity, sizeof x.identity)) != 0)
		goto out;
	json_t *ident = sdo(&x, "identity", x.identity);
	if (ident == NULL || json_object_set_new(ident, "name", json_string(sensor)) != 0 ||
	    json_object_set_new(ident, "identity_class", json_string("system")) != 0 ||
	    json_object_set_new(ident, "description", json_string("toride honeypot sensor")) != 0) {
		json_decref(ident);
		rc = TORIDE_ENOMEM;
		goto out;
	}
	if ((rc = add_object(&x, ident)) != 0)
		goto out;
	json_array_foreach(campaigns, k, e) {
		if ((rc = export_campaign(&x, e)) != 0)
			goto out;
	}
	/* The bundle id covers every object id and the generation time. */
	size_t cap = 64 + 80 * json_object_size(x.objects), n = 0;
	char *all = malloc(cap);
	if (all == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	n += (size_t)snprintf(all, cap, "bundle:%s", x.now);
	json_object_foreach(x.objects, kk, e) {
		if (n < cap)
			n += (size_t)snprintf(all + n, cap - n, "|%s", kk);
		if (json_array_append(objs, (json_t *)e) != 0) {
			free(all);
			rc = TORIDE_ENOMEM;
			goto out;
		}
	}
	rc = hp_stix_id(hp_export_ns, "bundle", all, bundle_id, sizeof bundle_id);
	free(all);
	if (rc != 0)
		goto out;
	bundle = json_pack("{s:s, s:s, s:O}", "type", "bundle", "id", bundle_id, "objects", objs);
	if (bundle == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	*bundle_out = bundle;
	rc = 0;
out:
	json_decref(built);
	json_decref(objs);
	json_decref(x.objects);
	json_decref(x.sessions);
	json_decref(x.samples);
	json_decref(x.url_first);
	json_decref(x.url_samples);
	return rc;
}
