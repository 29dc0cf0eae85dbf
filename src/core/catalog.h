/*
 * The requirement catalog (design.md §2): every judgement toride makes names a requirement id
 * from data/catalog.json, which also carries its titles (English, Japanese), the source clause,
 * what evidence satisfies or violates it, and the mapped clauses of ETSI EN 303 645, JC-STAR ★1,
 * UK PSTI and NISTIR 8259A/8425. The catalog is data, loaded at run time with jansson.
 */
#ifndef TORIDE_CORE_CATALOG_H
#define TORIDE_CORE_CATALOG_H

#include <stddef.h>

/* A list of strings owned by the catalog. */
struct toride_strlist {
	const char **v;
	size_t n;
};

/* One requirement. All strings are owned by the catalog and live until toride_catalog_free. */
struct toride_requirement {
	const char *id;           /* "JP-34-10-2" */
	const char *short_name;   /* "R2"; may be "" */
	const char *title;        /* English title */
	const char *title_ja;     /* Japanese title */
	const char *clause;       /* source clause */
	const char *satisfied_by; /* evidence that satisfies it */
	const char *violated_by;  /* evidence that violates it */
	const char *severity;     /* "critical" | "high" | "medium" | "low" | "info" */
	struct toride_strlist etsi_en_303_645;
	struct toride_strlist jc_star_1;
	struct toride_strlist uk_psti;
	struct toride_strlist nistir_8259a;
	struct toride_strlist nistir_8425;
	struct toride_strlist sources; /* URLs the facts come from */
};

struct toride_catalog;

/* Load and validate the catalog at path. Validation: a JSON object with a "requirements" array;
 * every entry has non-empty string id, title, title_ja, clause, satisfied_by, violated_by, a known
 * severity, a "mappings" object whose present scheme lists are arrays of strings, a non-empty
 * "sources" array of strings; ids are unique. On failure returns TORIDE_EIO (unreadable),
 * TORIDE_EPARSE (not JSON or invalid) or TORIDE_ENOMEM, and writes a message naming the file and
 * the offending entry into err (errlen bytes, may be 0). *out is set only on success. */
int toride_catalog_load(struct toride_catalog **out, const char *path, char *err, size_t errlen);
/* Free a catalog; NULL is allowed. */
void toride_catalog_free(struct toride_catalog *cat);
/* The requirement with this id, or NULL. */
const struct toride_requirement *toride_catalog_get(const struct toride_catalog *cat, const char *id);
/* Number of requirements, and the i-th one in file order (NULL if i is out of range). */
size_t toride_catalog_count(const struct toride_catalog *cat);
const struct toride_requirement *toride_catalog_at(const struct toride_catalog *cat, size_t i);

#endif
