#include "survey/creds.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

void
toride_creds_init(struct toride_creds *c)
{
	memset(c, 0, sizeof *c);
}

void
toride_creds_free(struct toride_creds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].user);
		free(c->v[i].pass);
	}
	free(c->v);
	toride_creds_init(c);
}

int
toride_creds_add(struct toride_creds *c, const char *user, const char *pass, const char *origin)
{
	if (strlen(user) > TORIDE_CRED_FIELD_MAX || strlen(pass) > TORIDE_CRED_FIELD_MAX)
		return TORIDE_ETOOBIG;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].user, user) == 0 && strcmp(c->v[i].pass, pass) == 0)
			return 0;
	if (c->n >= TORIDE_CREDS_MAX)
		return TORIDE_ETOOBIG;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct toride_cred *v = realloc(c->v, cap * sizeof *v);
		if (v == NULL)
			return TORIDE_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	char *u = strdup(user), *p = strdup(pass);
	if (u == NULL || p == NULL) {
		free(u);
		free(p);
		return TORIDE_ENOMEM;
	}
	c->v[c->n++] = (struct toride_cred){u, p, origin};
	return 0;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static const char *
blank_to_empty(const char *s)
{
	return strcasecmp(s, "<blank>") == 0 ? "" : s;
}

int
toride_creds_load_mirai(struct toride_creds *c, const char *path, char *err, size_t errlen)
{
	int r = 0;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TORIDE_EIO;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		chomp(line);
		if (line[0] == '#' || line[0] == '\0' || strcmp(line, "user\tpassword\tweight") == 0)
			continue;
		char *tab1 = strchr(line, '\t');
		char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		if (tab1 == NULL || tab2 == NULL) {
			snprintf(err, errlen, "%s:%u: expected user<TAB>password<TAB>weight", path, lineno);
			r = TORIDE_EPARSE;
			goto out;
		}
		*tab1 = '\0';
		*tab2 = '\0';
		if ((r = toride_creds_add(c, line, tab1 + 1, "mirai")) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, toride_strerror(r));
			goto out;
		}
	}
out:
	free(line);
	fclose(f);
	return r;
}

int
toride_creds_load_file(struct toride_creds *c, const char *path, char *err, size_t errlen)
{
	int r = 0;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TORIDE_EIO;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		chomp(line);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *sep = strchr(line, '\t');
		if (sep == NULL)
			sep = strchr(line, ':');
		if (sep == NULL) {
			snprintf(err, errlen, "%s:%u: expected user:password or user<TAB>password", path, lineno);
			r = TORIDE_EPARSE;
			goto out;
		}
		*sep = '\0';
		if ((r = toride_creds_add(c, blank_to_empty(line), blank_to_empty(sep + 1), "file")) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, toride_strerror(r));
			goto out;
		}
	}
	if (c->n == 0) {
		snprintf(err, errlen, "%s: no credentials in file", path);
		r = TORIDE_EINVAL;
	}
out:
	free(line);
	fclose(f);
	return r;
}

/* A vendor's key: its first word, lower case, letters and digits only, so that the fingerprint's
 * "D-Link" finds the list's "D-Link DIR300", "Dlink (web)" and "dlink". */
static void
vendor_key(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *s == ' '; s++)
		;
	for (; *s != '\0' && *s != ' ' && *s != '(' && o + 1 < outlen; s++) {
		char ch = *s;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			out[o++] = ch;
	}
	out[o] = '\0';
}

int
toride_creds_load_vendor(struct toride_creds *c, const char *csv_path, const char *vendor, char *err, size_t errlen)
{
	int r = 0, added = 0;
	char *line = NULL;
	size_t cap = 0;
	char want[64], have[64];
	vendor_key(vendor, want, sizeof want);
	if (want[0] == '\0')
		return 0;
	FILE *f = fopen(csv_path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", csv_path, strerror(errno));
		return TORIDE_EIO;
	}
	while (getline(&line, &cap, f) > 0) {
		chomp(line);
		/* The file has no quoted fields with commas in vendor or user; a password may contain
		 * commas, so split on the first two only. */
		char *c1 = strchr(line, ',');
		char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (c1 == NULL || c2 == NULL)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		vendor_key(line, have, sizeof have);
		if (strcmp(have, want) != 0)
			continue;
		size_t before = c->n;
		r = toride_creds_add(c, blank_to_empty(c1 + 1), blank_to_empty(c2 + 1), "vendor");
		if (r == TORIDE_ETOOBIG) { /* one over-long row is a data oddity, not a reason to stop */
			r = 0;
			continue;
		}
		if (r != 0)
			goto out;
		added += c->n > before;
	}
	r = added;
out:
	free(line);
	fclose(f);
	return r;
}

void
toride_creds_walk_init(struct toride_creds_walk *w, const struct toride_creds *base)
{
	memset(w, 0, sizeof *w);
	w->base = base;
	toride_creds_init(&w->own);
}

void
toride_creds_walk_free(struct toride_creds_walk *w)
{
	toride_creds_free(&w->own);
	free(w->skip);
	w->skip = NULL;
	w->nskip = 0;
}

static bool
creds_has(const struct toride_creds *c, const struct toride_cred *p)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].user, p->user) == 0 && strcmp(c->v[i].pass, p->pass) == 0)
			return true;
	return false;
}

int
toride_creds_walk_seal(struct toride_creds_walk *w)
{
	free(w->skip);
	w->skip = NULL;
	w->nskip = 0;
	if (w->base == NULL || w->own.n == 0)
		return 0;
	/* Scan the base list once, in order, so that the index comes out ascending; the own list is
	 * short (a vendor's defaults), so this is base x own string compares, once per service. */
	size_t *skip = NULL, n = 0;
	for (size_t j = 0; j < w->base->n; j++) {
		if (!creds_has(&w->own, &w->base->v[j]))
			continue;
		if (skip == NULL && (skip = malloc(w->own.n * sizeof *skip)) == NULL)
			return TORIDE_ENOMEM;
		skip[n++] = j; /* n <= own.n: the base list has no duplicates */
	}
	w->skip = skip;
	w->nskip = n;
	return 0;
}

size_t
toride_creds_walk_count(const struct toride_creds_walk *w)
{
	return w->own.n + (w->base != NULL ? w->base->n : 0) - w->nskip;
}

const struct toride_cred *
toride_creds_walk_at(const struct toride_creds_walk *w, size_t i)
{
	if (i < w->own.n)
		return &w->own.v[i];
	if (w->base == NULL)
		return NULL;
	/* The (i - own.n)-th base pair that is not skipped: every skipped index at or before the
	 * candidate pushes it one further. */
	size_t j = i - w->own.n;
	for (size_t k = 0; k < w->nskip && w->skip[k] <= j; k++)
		j++;
	return j < w->base->n ? &w->base->v[j] : NULL;
}
