/*
 * MISP feed directory of honeypot campaigns (docs/honeypot.md "Outputs"): the layout MISP pulls as
 * a feed and PyMISP's feed generator writes: manifest.json ({event uuid: event summary}),
 * hashes.csv ("md5 of an attribute value,event uuid" per line; composite values hashed per part)
 * and one <uuid>.json = {"Event": {...}} per campaign. The event uuid is the campaign's UUID, so
 * a STIX bundle and a feed of the same data name a campaign alike. Every file is written to a
 * temporary name, synced and renamed, so a MISP instance pulling meanwhile never reads half a file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/error.h"
#include "honeypot/export_int.h"
#include "honeypot/hp.h"

/* Longest path we build inside the feed directory. */
#define MISP_PATH_MAX 4096

/* misp-galaxy cluster names of families our YARA rules name (data/yara meta "family"); a family
 * not listed gets no galaxy tag, only its text attribute. */
static const struct {
	const char *family;
	const char *tag;
} galaxy[] = {
	{"mirai", "misp-galaxy:malpedia=\"Mirai\""},
	{"gafgyt", "misp-galaxy:malpedia=\"Bashlite\""},
	{"bashlite", "misp-galaxy:malpedia=\"Bashlite\""},
	{"hajime", "misp-galaxy:malpedia=\"Hajime\""},
	{"mozi", "misp-galaxy:malpedia=\"Mozi\""},
	{"tsunami", "misp-galaxy:malpedia=\"Tsunami\""},
	{"kaiten", "misp-galaxy:malpedia=\"Tsunami\""},
	{"hideandseek", "misp-galaxy:malpedia=\"Hide and Seek\""},
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
md5_hex(const char *s, size_t n, char out[33])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (EVP_Digest(s, n, md, &len, EVP_md5(), NULL) != 1 || len != 16)
		return TORIDE_ENOMEM;
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Write data to dir/name atomically: temp file in the same directory, fsync, rename. */
static int
write_atomic(const char *dir, const char *name, const char *data, size_t n, char *err, size_t errlen)
{
	char tmp[MISP_PATH_MAX], dst[MISP_PATH_MAX];
	int fd = -1, rc = TORIDE_EIO;
	if (snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp) {
		seterr(err, errlen, "%s: path too long", dir);
		return TORIDE_ETOOBIG;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		seterr(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
		return TORIDE_EIO;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			seterr(err, errlen, "%s: write: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	/* Readable by the web server that serves the feed. */
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		seterr(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) != 0) {
		seterr(err, errlen, "%s: rename: %s", dst, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
}

static int
write_json(const char *dir, const char *name, const json_t *v, char *err, size_t errlen)
{
	char *text = json_dumps(v, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return TORIDE_ENOMEM;
	int rc = write_atomic(dir, name, text, strlen(text), err, errlen);
	free(text);
	return rc;
}

struct misp_event {
	const char *uuid;
	char ts[24];
	json_t *attrs;
	json_t *seen;   /* "type\nvalue" -> true: an attribute is added once */
	json_t *hashes; /* "md5,uuid" lines */
};

/* Add one attribute (and its hashes.csv lines); a (type, value) pair is added once per event. */
static int
attribute(struct misp_event *ev, const char *type, const char *category, const char *value, bool to_ids,
	  const char *comment)
{
	char key[8192], uuid[37], md5[33];
	snprintf(key, sizeof key, "%s\n%s", type, value);
	if (json_object_get(ev->seen, key) != NULL)
		return 0;
	if (json_object_set_new(ev->seen, key, json_true()) != 0)
		return TORIDE_ENOMEM;
	int n = snprintf(key, sizeof key, "misp-attribute:%s|%s|%s", ev->uuid, type, value);
	int rc = hp_uuid5(hp_export_ns, key, n > 0 && (size_t)n < sizeof key ? (size_t)n : sizeof key - 1, uuid);
	if (rc != 0)
		return rc;
	json_t *attr = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "uuid", uuid, "type", type, "category", category,
				 "value", value, "to_ids", to_ids, "timestamp", ev->ts, "comment", comment != NULL ? comment : "");
	if (attr == NULL || json_array_append_new(ev->attrs, attr) != 0)
		return TORIDE_ENOMEM;
	/* As PyMISP's attribute hash_values: composite types ("a|b") hash every part. */
	const char *part = value;
	bool composite = strchr(type, '|') != NULL;
	for (;;) {
		size_t len = composite ? strcspn(part, "|") : strlen(part);
		if ((rc = md5_hex(part, len, md5)) != 0)
			return rc;
		char line[80];
		snprintf(line, sizeof line, "%s,%s", md5, ev->uuid);
		if (json_array_append_new(ev->hashes, json_string(line)) != 0)
			return TORIDE_ENOMEM;
		if (!composite || part[len] == '\0')
			break;
		part += len + 1;
	}
	return 0;
}

static json_t *
tags_of(const json_t *camp)
{
	json_t *tags = json_pack("[{s:s, s:s, s:b}]", "name", "tlp:amber", "colour", "#FFC000", "exportable", 1);
	size_t k;
	const json_t *f;
	json_array_foreach(json_object_get(camp, "families"), k, f) {
		for (size_t i = 0; tags != NULL && i < sizeof galaxy / sizeof galaxy[0]; i++) {
			if (!json_is_string(f) || strcmp(json_string_value(f), galaxy[i].family) != 0)
				continue;
			bool dup = false;
			size_t j;
			const json_t *t;
			json_array_foreach(tags, j, t) {
				dup = dup || strcmp(hp_json_str(t, "name"), galaxy[i].tag) == 0;
			}
			if (!dup && json_array_append_new(tags, json_pack("{s:s, s:s, s:b}", "name", galaxy[i].tag, "colour",
									  "#0088cc", "exportable", 1)) != 0) {
				json_decref(tags);
				return NULL;
			}
		}
	}
	return tags;
}

/* Build the event of one campaign; adds its manifest entry and hashes.csv lines. */
static int
campaign_event(const json_t *camp, const json_t *by_sha, const json_t *orgc, const struct hp_export_opts *o,
	       json_t *manifest, json_t *hashes, json_t **event_out, const char **uuid_out)
{
	const char *cid = hp_json_str(camp, "id");
	struct misp_event ev = {0};
	json_t *tags = NULL, *event = NULL;
	int64_t first, last;
	char info[512], date[16], pubts[24], comment[128];
	size_t k;
	const json_t *e, *s;
	int rc = TORIDE_ENOMEM;

	if (cid == NULL || strncmp(cid, "campaign--", 10) != 0 || strlen(cid) != 46 ||
	    hp_time_parse_ms(hp_json_str(camp, "first_seen"), &first) != 0 ||
	    hp_time_parse_ms(hp_json_str(camp, "last_seen"), &last) != 0)
		return TORIDE_EINVAL;
	ev.uuid = cid + 10;
	snprintf(ev.ts, sizeof ev.ts, "%lld", (long long)(last / 1000));
	snprintf(pubts, sizeof pubts, "%lld", (long long)o->now);
	char iso[32];
	hp_time_format_ms(first, iso);
	snprintf(date, sizeof date, "%.10s", iso);
	if ((ev.attrs = json_array()) == NULL || (ev.hashes = json_array()) == NULL || (ev.seen = json_object()) == NULL ||
	    (tags = tags_of(camp)) == NULL)
		goto out;

	size_t nsess = json_array_size(json_object_get(camp, "sessions"));
	json_array_foreach(json_object_get(camp, "sources"), k, e) {
		snprintf(comment, sizeof comment, "honeypot client (campaign of %zu session%s)", nsess, nsess == 1 ? "" : "s");
		if (json_is_string(e) &&
		    (rc = attribute(&ev, "ip-src", "Network activity", json_string_value(e), true, comment)) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(camp, "urls"), k, e) {
		if (json_is_string(e) && json_string_length(e) > 0 &&
		    (rc = attribute(&ev, "url", "Payload delivery", json_string_value(e), true,
				    "URL given to a downloader (wget/tftp/curl) on the honeypot")) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(camp, "download_hosts"), k, e) {
		struct in_addr v4;
		struct in6_addr v6;
		const char *h = json_string_value(e);
		if (h == NULL)
			continue;
		/* An address is an ip-dst; a name stays a hostname (the export never resolves). */
		bool ip = inet_pton(AF_INET, h, &v4) == 1 || inet_pton(AF_INET6, h, &v6) == 1;
		/* A host that is no DNS name (escaped bytes, spaces) stays only inside its URL. */
		if (!ip && (h[0] == '\0' || h[0] == '.' || strspn(h, "abcdefghijklmnopqrstuvwxyz"
								    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(h)))
			continue;
		if ((rc = attribute(&ev, ip ? "ip-dst" : "hostname", "Network activity", h, true,
				    "malware download host")) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(camp, "samples"), k, e) {
		const char *sha = json_string_value(e);
		if (sha == NULL)
			continue;
		if ((rc = attribute(&ev, "sha256", "Payload delivery", sha, true, "malware sample / dropper")) != 0)
			goto out;
		s = json_object_get(by_sha, sha);
		const char *md5 = hp_json_str(s, "md5"), *sha1 = hp_json_str(s, "sha1");
		if ((md5 != NULL && strlen(md5) == 32 &&
		     (rc = attribute(&ev, "md5", "Payload delivery", md5, true, "malware sample / dropper")) != 0) ||
		    (sha1 != NULL && strlen(sha1) == 40 &&
		     (rc = attribute(&ev, "sha1", "Payload delivery", sha1, true, "malware sample / dropper")) != 0))
			goto out;
	}
	json_array_foreach(json_object_get(camp, "families"), k, e) {
		if (json_is_string(e) &&
		    (rc = attribute(&ev, "text", "Attribution", json_string_value(e), false,
				    "malware family (YARA rules of the honeypot)")) != 0)
			goto out;
	}
	rc = TORIDE_ENOMEM;
	size_t nsrc = json_array_size(json_object_get(camp, "sources"));
	size_t nfam = json_array_size(json_object_get(camp, "families"));
	snprintf(info, sizeof info, "toride honeypot: campaign %.8s, %zu session%s from %zu source%s%s%s", ev.uuid, nsess,
		 nsess == 1 ? "" : "s", nsrc, nsrc == 1 ? "" : "s", nfam > 0 ? ", " : "",
		 nfam > 0 ? json_string_value(json_array_get(json_object_get(camp, "families"), 0)) : "");
	/* Medium threat when something was downloaded or classified, low for logins only. */
	bool payload = json_array_size(json_object_get(camp, "urls")) > 0 ||
		       json_array_size(json_object_get(camp, "samples")) > 0 || nfam > 0;
	const char *threat = payload ? "2" : "3";
	event = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:O, s:O, s:O}}", "Event", "uuid", ev.uuid, "info",
			  info, "date", date, "timestamp", ev.ts, "publish_timestamp", pubts, "published", 1, "analysis",
			  "2", "threat_level_id", threat, "Orgc", orgc, "Tag", tags, "Attribute", ev.attrs);
	if (event == NULL)
		goto out;
	json_t *m = json_pack("{s:O, s:O, s:s, s:s, s:i, s:i, s:I}", "Orgc", orgc, "Tag", tags, "info", info, "date", date,
			      "analysis", 2, "threat_level_id", payload ? 2 : 3, "timestamp", (json_int_t)(last / 1000));
	if (m == NULL || json_object_set_new(manifest, ev.uuid, m) != 0 || json_array_extend(hashes, ev.hashes) != 0)
		goto out;
	*event_out = event;
	*uuid_out = ev.uuid;
	event = NULL;
	rc = 0;
out:
	json_decref(event);
	json_decref(tags);
	json_decref(ev.attrs);
	json_decref(ev.seen);
	json_decref(ev.hashes);
	return rc;
}

/* Remove <uuid>.json files of an earlier export that the new manifest does not list (a campaign
 * whose earliest session changed got a new id), so the feed stays what the manifest says. */
static void
remove_stale(const char *dir, const json_t *manifest)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		char uuid[37], path[MISP_PATH_MAX];
		if (strlen(n) != 41 || strcmp(n + 36, ".json") != 0 || strspn(n, "0123456789abcdef-") != 36)
			continue;
		memcpy(uuid, n, 36);
		uuid[36] = '\0';
		if (json_object_get(manifest, uuid) == NULL && snprintf(path, sizeof path, "%s/%s", dir, n) < (int)sizeof path)
			unlink(path);
	}
	closedir(d);
}

int
hp_export_misp(const json_t *sessions, const json_t *samples, const json_t *campaigns,
	       const struct hp_export_opts *o, const char *dir, char *err, size_t errlen)
{
	json_t *built = NULL, *manifest = NULL, *hashes = NULL, *orgc = NULL, *by_sha = NULL;
	char *csv = NULL;
	char org_uuid[37], name[64];
	size_t k;
	const json_t *c;
	int rc = TORIDE_ENOMEM;

	seterr(err, errlen, "%s", "");
	if (!json_is_array(sessions) || o == NULL || dir == NULL || dir[0] == '\0') {
		seterr(err, errlen, "MISP export: bad arguments");
		return TORIDE_EINVAL;
	}
	if (campaigns == NULL) {
		if ((rc = hp_campaigns_build(sessions, samples, &built)) != 0) {
			seterr(err, errlen, "MISP export: cannot build campaigns: %s", toride_strerror(rc));
			return rc;
		}
		campaigns = built;
		rc = TORIDE_ENOMEM;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		seterr(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
		rc = TORIDE_EIO;
		goto out;
	}
	const char *sensor = o->sensor_name != NULL && o->sensor_name[0] != '\0' ? o->sensor_name : "toride honeypot";
	size_t sl = strlen(sensor);
	char *orgkey = malloc(sl + 16);
	if (orgkey == NULL)
		goto out;
	int kl = snprintf(orgkey, sl + 16, "misp-org:%s", sensor);
	rc = hp_uuid5(hp_export_ns, orgkey, (size_t)kl, org_uuid);
	free(orgkey);
	if (rc != 0)
		goto out;
	rc = TORIDE_ENOMEM;
	if ((orgc = json_pack("{s:s, s:s}", "name", sensor, "uuid", org_uuid)) == NULL ||
	    (manifest = json_object()) == NULL || (hashes = json_array()) == NULL || (by_sha = json_object()) == NULL)
		goto out;
	json_array_foreach(samples, k, c) {
		const char *sha = hp_json_str(c, "sha256");
		if (sha != NULL && json_object_get(by_sha, sha) == NULL && json_object_set(by_sha, sha, (json_t *)c) != 0)
			goto out;
	}
	json_array_foreach(campaigns, k, c) {
		json_t *event = NULL;
		const char *uuid = NULL;
		if ((rc = campaign_event(c, by_sha, orgc, o, manifest, hashes, &event, &uuid)) != 0) {
			seterr(err, errlen, "MISP export: campaign %zu: %s", k, toride_strerror(rc));
			goto out;
		}
		snprintf(name, sizeof name, "%s.json", uuid);
		rc = write_json(dir, name, event, err, errlen);
		json_decref(event);
		if (rc != 0)
			goto out;
	}
	/* hashes.csv, then the manifest last: a puller that sees the new manifest finds every
	 * event it lists. */
	size_t n = json_array_size(hashes), len = 0;
	if ((csv = malloc(n * 80 + 1)) == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	csv[0] = '\0';
	json_array_foreach(hashes, k, c) {
		len += (size_t)snprintf(csv + len, 80, "%s\n", json_string_value(c));
	}
	if ((rc = write_atomic(dir, "hashes.csv", csv, len, err, errlen)) != 0 ||
	    (rc = write_json(dir, "manifest.json", manifest, err, errlen)) != 0)
		goto out;
	remove_stale(dir, manifest);
	rc = 0;
out:
	free(csv);
	json_decref(built);
	json_decref(manifest);
	json_decref(hashes);
	json_decref(orgc);
	json_decref(by_sha);
	return rc;
}
