/* Report model (report.h): one pass over the survey's findings builds every count and list. */
#include "report/report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Version of the report model's layout (the "report" member); bumped when a member changes. */
#define REPORT_MODEL_VERSION 1

const char *
toride_report_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL ? s : "";
}

long long
toride_report_int(const json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

int
toride_report_format_parse(const char *name, enum toride_report_format *out)
{
	static const struct {
		const char *name;
		enum toride_report_format fmt;
	} formats[] = {
		{"text", TORIDE_REPORT_TEXT},
		{"json", TORIDE_REPORT_JSON},
		{"csv", TORIDE_REPORT_CSV},
		{"html", TORIDE_REPORT_HTML},
	};
	for (size_t i = 0; name != NULL && i < sizeof formats / sizeof formats[0]; i++) {
		if (strcmp(name, formats[i].name) == 0) {
			*out = formats[i].fmt;
			return 0;
		}
	}
	return TORIDE_EINVAL;
}

/* Length of the escape sequence or UTF-8 character starting at s (s is a valid UTF-8 string). */
static size_t
unit_len(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	if (c == '\\')
		return s[1] == 'x' ? (s[2] && s[3] ? 4 : 1 + (s[1] != '\0')) : 1 + (s[1] != '\0');
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

/* Bytes of s to keep so that at most max bytes are shown, cut between whole escapes/characters. */
static size_t
excerpt_len(const char *s, size_t len, size_t max)
{
	size_t i = 0;
	while (i < len) {
		size_t u = unit_len(s + i);
		if (i + u > len)
			u = len - i;
		if (i + u > max)
			break;
		i += u;
	}
	return i;
}

struct build_ctx {
	const struct toride_catalog *cat;
	size_t excerpt_max;
	json_t *findings;
	json_t *by_req;   /* id -> {fail, pass, unknown} */
	json_t *by_proto;
	json_t *by_type;
	json_t *failing;  /* addr -> true: the set of failing devices */
};

/* Count one verdict under key in an object of {fail, pass, unknown} tallies. */
static int
tally(json_t *agg, const char *key, const char *verdict)
{
	json_t *t = json_object_get(agg, key);
	if (t == NULL) {
		t = json_pack("{s:I, s:I, s:I}", "fail", (json_int_t)0, "pass", (json_int_t)0, "unknown", (json_int_t)0);
		if (t == NULL || json_object_set_new(agg, key, t) != 0)
			return TORIDE_ENOMEM;
	}
	json_t *n = json_object_get(t, verdict);
	if (n == NULL)
		return 0; /* the store only keeps the three verdicts */
	return json_integer_set(n, json_integer_value(n) + 1) == 0 ? 0 : TORIDE_EINVAL;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Pick the device: the finding's own if it names a type/vendor/product, else the fingerprint. */
static json_t *
device_of(const json_t *ev, const json_t *fingerprint)
{
	const json_t *d = json_object_get(ev, "device");
	const char *source = "finding";
	if (!(toride_report_str(d, "type")[0] || toride_report_str(d, "vendor")[0] || toride_report_str(d, "product")[0])) {
		d = json_object_get(fingerprint, "data");
		source = "fingerprint";
		if (!(toride_report_str(d, "type")[0] || toride_report_str(d, "vendor")[0] ||
		      toride_report_str(d, "product")[0])) {
			d = NULL;
			source = "none";
		}
	}
	return json_pack("{s:s, s:s, s:s, s:s}", "vendor", toride_report_str(d, "vendor"), "product",
			 toride_report_str(d, "product"), "type", toride_report_str(d, "type"), "source", source);
}

static json_t *
evidence_of(const json_t *ev, size_t excerpt_max)
{
	const json_t *e = json_object_get(ev, "evidence");
	json_t *out = json_is_object(e) ? json_deep_copy(e) : json_object();
	if (out == NULL)
		return NULL;
	const json_t *t = json_object_get(out, "transcript");
	if (json_is_string(t)) {
		size_t len = json_string_length(t);
		size_t keep = excerpt_max > 0 ? excerpt_len(json_string_value(t), len, excerpt_max) : len;
		if (json_object_set_new(out, "transcript_bytes", json_integer((json_int_t)len)) != 0 ||
		    json_object_set_new(out, "transcript_truncated", json_boolean(keep < len)) != 0 ||
		    (keep < len &&
		     json_object_set_new(out, "transcript", json_stringn(json_string_value(t), keep)) != 0)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static int
on_finding(void *arg, const json_t *ev, const json_t *fingerprint)
{
	struct build_ctx *c = arg;
	const char *req = toride_report_str(ev, "requirement");
	const char *verdict = toride_report_str(ev, "verdict");
	const char *proto = toride_report_str(ev, "proto");
	const struct toride_requirement *r = toride_catalog_get(c->cat, req);
	const json_t *cred = json_object_get(ev, "credential");
	json_t *f = NULL, *dev = NULL, *evid = NULL;
	int rc;

	dev = device_of(ev, fingerprint);
	evid = evidence_of(ev, c->excerpt_max);
	if (dev == NULL || evid == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	const char *dtype = toride_report_str(dev, "type");
	if ((rc = tally(c->by_req, req, verdict)) != 0 || (rc = tally(c->by_proto, proto[0] ? proto : "(none)", verdict)) != 0 ||
	    (rc = tally(c->by_type, dtype[0] ? dtype : "unknown", verdict)) != 0)
		goto out;
	if (strcmp(verdict, "fail") == 0 && json_object_set_new(c->failing, toride_report_str(ev, "addr"), json_true()) != 0) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	f = json_pack("{s:s, s:O, s:o, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:O, s:O, s:s, s:s}",
		      "addr", toride_report_str(ev, "addr"),
		      "port", json_object_get(ev, "port"),
		      "proto", proto[0] ? json_string(proto) : json_null(),
		      "requirement", req,
		      "title", str_or_null(r ? r->title : NULL),
		      "title_ja", str_or_null(r ? r->title_ja : NULL),
		      "verdict", verdict,
		      "proof", toride_report_str(ev, "proof")[0] ? toride_report_str(ev, "proof") : "none",
		      "summary", toride_report_str(ev, "summary"),
		      "credential", json_is_object(cred) ? json_pack("{s:s, s:s}", "user", toride_report_str(cred, "user"),
								   "password", toride_report_str(cred, "password"))
						       : json_null(),
		      "device", dev,
		      "evidence", evid,
		      "time", toride_report_str(ev, "time"),
		      "sensor", toride_report_str(ev, "sensor"));
	if (f == NULL || json_array_append_new(c->findings, f) != 0) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	rc = 0;
out:
	json_decref(dev);
	json_decref(evid);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Turn {key: {fail, pass, unknown}} into [{<label>: key, fail, pass, unknown}] sorted by key. */
static json_t *
agg_to_array(const json_t *agg, const char *label)
{
	size_t n = json_object_size(agg), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof *keys);
	json_t *arr = json_array();
	const char *k;
	const json_t *v;
	if (keys == NULL || arr == NULL)
		goto fail;
	json_object_foreach((json_t *)agg, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof *keys, cmp_str);
	for (i = 0; i < n; i++) {
		const json_t *t = json_object_get(agg, keys[i]);
		json_t *o = json_pack("{s:s, s:O, s:O, s:O}", label, keys[i], "fail", json_object_get(t, "fail"), "pass",
				      json_object_get(t, "pass"), "unknown", json_object_get(t, "unknown"));
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto fail;
	}
	free(keys);
	return arr;
fail:
	free(keys);
	json_decref(arr);
	return NULL;
}

static json_t *
strlist_json(const struct toride_strlist *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < l->n; i++) {
		if (json_array_append_new(a, json_string(l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int
append_requirement(json_t *arr, const struct toride_requirement *r, const char *id, const json_t *counts)
{
	json_t *maps = NULL;
	if (r != NULL) {
		maps = json_pack("{s:o, s:o, s:o, s:o, s:o}", "etsi_en_303_645", strlist_json(&r->etsi_en_303_645),
				 "jc_star_1", strlist_json(&r->jc_star_1), "uk_psti", strlist_json(&r->uk_psti),
				 "nistir_8259a", strlist_json(&r->nistir_8259a), "nistir_8425",
				 strlist_json(&r->nistir_8425));
		if (maps == NULL)
			return TORIDE_ENOMEM;
	}
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o}",
			      "id", id,
			      "short", str_or_null(r ? r->short_name : NULL),
			      "title", str_or_null(r ? r->title : NULL),
			      "title_ja", str_or_null(r ? r->title_ja : NULL),
			      "severity", str_or_null(r ? r->severity : NULL),
			      "clause", str_or_null(r ? r->clause : NULL),
			      "fail", (json_int_t)toride_report_int(counts, "fail"),
			      "pass", (json_int_t)toride_report_int(counts, "pass"),
			      "unknown", (json_int_t)toride_report_int(counts, "unknown"),
			      "mappings", maps ? maps : json_null());
	if (o == NULL || json_array_append_new(arr, o) != 0)
		return TORIDE_ENOMEM;
	return 0;
}

int
toride_report_build(struct toride_store *st, const char *survey, const struct toride_catalog *cat,
		    size_t excerpt_max, json_t **model_out)
{
	struct build_ctx c = {.cat = cat, .excerpt_max = excerpt_max};
	json_t *info = NULL, *probes = NULL, *model = NULL, *reqs = NULL;
	uint64_t n_service = 0, n_fp = 0, n_login = 0;
	int rc;

	if ((rc = toride_store_survey_info(st, survey, &info)) != 0 ||
	    (rc = toride_store_probe_counts(st, survey, &probes)) != 0 ||
	    (rc = toride_store_count_observations(st, survey, "service", &n_service)) != 0 ||
	    (rc = toride_store_count_observations(st, survey, "fingerprint", &n_fp)) != 0 ||
	    (rc = toride_store_count_observations(st, survey, "login_attempt", &n_login)) != 0)
		goto out;
	c.findings = json_array();
	c.by_req = json_object();
	c.by_proto = json_object();
	c.by_type = json_object();
	c.failing = json_object();
	reqs = json_array();
	if (c.findings == NULL || c.by_req == NULL || c.by_proto == NULL || c.by_type == NULL || c.failing == NULL ||
	    reqs == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	if ((rc = toride_store_foreach_finding(st, survey, NULL, on_finding, &c)) != 0)
		goto out;
	for (size_t i = 0; i < toride_catalog_count(cat); i++) {
		const struct toride_requirement *r = toride_catalog_at(cat, i);
		if ((rc = append_requirement(reqs, r, r->id, json_object_get(c.by_req, r->id))) != 0)
			goto out;
	}
	/* Requirements found in the store but unknown to the catalog are still reported. */
	json_t *extra = agg_to_array(c.by_req, "id");
	if (extra == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	size_t i;
	json_t *e;
	json_array_foreach(extra, i, e) {
		const char *id = toride_report_str(e, "id");
		if (toride_catalog_get(cat, id) == NULL && (rc = append_requirement(reqs, NULL, id, e)) != 0) {
			json_decref(extra);
			goto out;
		}
	}
	json_decref(extra);
	model = json_pack("{s:i, s:s, s:O, s:O, s:{s:I, s:I, s:I}, s:I, s:O, s:o, s:o, s:O}",
			  "report", REPORT_MODEL_VERSION,
			  "generator", "toride " TORIDE_VERSION,
			  "survey", info,
			  "probes", probes,
			  "observations", "services", (json_int_t)n_service, "fingerprints", (json_int_t)n_fp,
			  "login_attempts", (json_int_t)n_login,
			  "failing_devices", (json_int_t)json_object_size(c.failing),
			  "requirements", reqs,
			  "by_protocol", agg_to_array(c.by_proto, "proto"),
			  "by_device_type", agg_to_array(c.by_type, "type"),
			  "findings", c.findings);
	if (model == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	*model_out = model;
	rc = 0;
out:
	json_decref(info);
	json_decref(probes);
	json_decref(reqs);
	json_decref(c.findings);
	json_decref(c.by_req);
	json_decref(c.by_proto);
	json_decref(c.by_type);
	json_decref(c.failing);
	return rc;
}

static int
render_json(const json_t *model, FILE *out)
{
	if (json_dumpf(model, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF)
		return TORIDE_EIO;
	return 0;
}

int
toride_report_render(const json_t *model, enum toride_report_format fmt, FILE *out)
{
	int rc;
	switch (fmt) {
	case TORIDE_REPORT_TEXT: rc = toride_report_render_text(model, out); break;
	case TORIDE_REPORT_JSON: rc = render_json(model, out); break;
	case TORIDE_REPORT_CSV: rc = toride_report_render_csv(model, out); break;
	case TORIDE_REPORT_HTML: rc = toride_report_render_html(model, out); break;
	default: return TORIDE_EINVAL;
	}
	if (rc == 0 && (fflush(out) != 0 || ferror(out)))
		rc = TORIDE_EIO;
	return rc;
}

int
toride_report_write(struct toride_store *st, const char *survey, const struct toride_catalog *cat,
		    enum toride_report_format fmt, FILE *out)
{
	json_t *model = NULL;
	size_t excerpt = fmt == TORIDE_REPORT_JSON ? 0 : TORIDE_REPORT_EXCERPT_MAX;
	int rc = toride_report_build(st, survey, cat, excerpt, &model);
	if (rc == 0)
		rc = toride_report_render(model, fmt, out);
	json_decref(model);
	return rc;
}
