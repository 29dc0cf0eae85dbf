#include "core/catalog.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* A catalog lists tens of requirements; a file with more than this is not a catalog but a
 * mistake (or a hostile file), and the linear lookup stays trivially fast below it. */
#define TORIDE_CATALOG_MAX_ENTRIES 1024

struct toride_catalog {
	json_t *root; /* owns every string the requirements point to */
	struct toride_requirement *req;
	size_t n;
};

static const char *const severities[] = {"critical", "high", "medium", "low", "info"};

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

static void
strlist_free(struct toride_strlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
req_free(struct toride_requirement *r)
{
	strlist_free(&r->etsi_en_303_645);
	strlist_free(&r->jc_star_1);
	strlist_free(&r->uk_psti);
	strlist_free(&r->nistir_8259a);
	strlist_free(&r->nistir_8425);
	strlist_free(&r->sources);
}

void
toride_catalog_free(struct toride_catalog *cat)
{
	if (cat == NULL)
		return;
	for (size_t i = 0; i < cat->n; i++)
		req_free(&cat->req[i]);
	free(cat->req);
	json_decref(cat->root);
	free(cat);
}

/* Fill l from an array of strings. A missing member gives an empty list when optional. */
static int
get_strlist(const json_t *obj, const char *key, bool required, struct toride_strlist *l,
	    const char *path, const char *id, char *err, size_t errlen)
{
	const json_t *a = json_object_get(obj, key);
	if (a == NULL && !required)
		return 0;
	if (!json_is_array(a) || (required && json_array_size(a) == 0)) {
		seterr(err, errlen, "%s: requirement %s: \"%s\" must be a %sarray of strings", path, id, key,
		       required ? "non-empty " : "");
		return TORIDE_EPARSE;
	}
	size_t n = json_array_size(a);
	if (n == 0)
		return 0;
	l->v = calloc(n, sizeof *l->v);
	if (l->v == NULL)
		return TORIDE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s == NULL || s[0] == '\0') {
			seterr(err, errlen, "%s: requirement %s: \"%s\"[%zu] must be a non-empty string", path, id,
			       key, i);
			return TORIDE_EPARSE;
		}
		l->v[l->n++] = s;
	}
	return 0;
}

static int
get_str(const json_t *obj, const char *key, const char **out, const char *path, const char *id,
	char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (s == NULL || s[0] == '\0') {
		seterr(err, errlen, "%s: requirement %s: missing or empty \"%s\"", path, id, key);
		return TORIDE_EPARSE;
	}
	*out = s;
	return 0;
}

static int
parse_entry(const json_t *e, size_t idx, struct toride_requirement *r, const char *path, char *err,
	    size_t errlen)
{
	char label[64];
	int rc;
	if (!json_is_object(e)) {
		seterr(err, errlen, "%s: requirements[%zu] is not an object", path, idx);
		return TORIDE_EPARSE;
	}
	const char *id = json_string_value(json_object_get(e, "id"));
	if (id == NULL || id[0] == '\0') {
		seterr(err, errlen, "%s: requirements[%zu]: missing or empty \"id\"", path, idx);
		return TORIDE_EPARSE;
	}
	r->id = id;
	/* Name the entry by id in every further message: that is what the editor searches for. */
	snprintf(label, sizeof label, "%s", id);
	if ((rc = get_str(e, "title", &r->title, path, label, err, errlen)) != 0 ||
	    (rc = get_str(e, "title_ja", &r->title_ja, path, label, err, errlen)) != 0 ||
	    (rc = get_str(e, "clause", &r->clause, path, label, err, errlen)) != 0 ||
	    (rc = get_str(e, "satisfied_by", &r->satisfied_by, path, label, err, errlen)) != 0 ||
	    (rc = get_str(e, "violated_by", &r->violated_by, path, label, err, errlen)) != 0 ||
	    (rc = get_str(e, "severity", &r->severity, path, label, err, errlen)) != 0)
		return rc;
	const char *sh = json_string_value(json_object_get(e, "short"));
	r->short_name = sh != NULL ? sh : "";
	bool known = false;
	for (size_t i = 0; i < sizeof severities / sizeof severities[0]; i++)
		known = known || strcmp(r->severity, severities[i]) == 0;
	if (!known) {
		seterr(err, errlen, "%s: requirement %s: unknown severity \"%s\" (critical, high, medium, low, info)",
		       path, label, r->severity);
		return TORIDE_EPARSE;
	}
	const json_t *m = json_object_get(e, "mappings");
	if (!json_is_object(m)) {
		seterr(err, errlen, "%s: requirement %s: missing \"mappings\" object", path, label);
		return TORIDE_EPARSE;
	}
	if ((rc = get_strlist(m, "etsi_en_303_645", false, &r->etsi_en_303_645, path, label, err, errlen)) != 0 ||
	    (rc = get_strlist(m, "jc_star_1", false, &r->jc_star_1, path, label, err, errlen)) != 0 ||
	    (rc = get_strlist(m, "uk_psti", false, &r->uk_psti, path, label, err, errlen)) != 0 ||
	    (rc = get_strlist(m, "nistir_8259a", false, &r->nistir_8259a, path, label, err, errlen)) != 0 ||
	    (rc = get_strlist(m, "nistir_8425", false, &r->nistir_8425, path, label, err, errlen)) != 0 ||
	    (rc = get_strlist(e, "sources", true, &r->sources, path, label, err, errlen)) != 0)
		return rc;
	return 0;
}

int
toride_catalog_load(struct toride_catalog **out, const char *path, char *err, size_t errlen)
{
	struct toride_catalog *cat = NULL;
	json_error_t jerr;
	int rc;

	seterr(err, errlen, "%s", "");
	cat = calloc(1, sizeof *cat);
	if (cat == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		seterr(err, errlen, "%s: cannot open catalog", path);
		rc = TORIDE_EIO;
		goto out;
	}
	cat->root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (cat->root == NULL) {
		seterr(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
		rc = TORIDE_EPARSE;
		goto out;
	}
	const json_t *reqs = json_object_get(cat->root, "requirements");
	if (!json_is_array(reqs) || json_array_size(reqs) == 0) {
		seterr(err, errlen, "%s: no \"requirements\" array", path);
		rc = TORIDE_EPARSE;
		goto out;
	}
	size_t n = json_array_size(reqs);
	if (n > TORIDE_CATALOG_MAX_ENTRIES) {
		seterr(err, errlen, "%s: %zu requirements, more than the limit of %d", path, n,
		       TORIDE_CATALOG_MAX_ENTRIES);
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	cat->req = calloc(n, sizeof *cat->req);
	if (cat->req == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cat->n = i + 1; /* so that cleanup frees the lists of a half-parsed entry */
		rc = parse_entry(json_array_get(reqs, i), i, &cat->req[i], path, err, errlen);
		if (rc != 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cat->req[j].id, cat->req[i].id) == 0) {
				seterr(err, errlen, "%s: duplicate requirement id %s (entries %zu and %zu)", path,
				       cat->req[i].id, j, i);
				rc = TORIDE_EPARSE;
				goto out;
			}
		}
	}
	*out = cat;
	cat = NULL;
	rc = 0;
out:
	if (rc == TORIDE_ENOMEM)
		seterr(err, errlen, "%s: out of memory", path);
	toride_catalog_free(cat);
	return rc;
}

const struct toride_requirement *
toride_catalog_get(const struct toride_catalog *cat, const char *id)
{
	if (cat == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < cat->n; i++) {
		if (strcmp(cat->req[i].id, id) == 0)
			return &cat->req[i];
	}
	return NULL;
}

size_t
toride_catalog_count(const struct toride_catalog *cat)
{
	return cat != NULL ? cat->n : 0;
}

const struct toride_requirement *
toride_catalog_at(const struct toride_catalog *cat, size_t i)
{
	if (cat == NULL || i >= cat->n)
		return NULL;
	return &cat->req[i];
}
