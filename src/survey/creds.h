/*
 * Credential lists for the default-credential check (JP-34-10-2). A list is ordered: the most
 * likely pairs first, so a survey that stops at a host's first success spends few attempts.
 */
#ifndef TORIDE_SURVEY_CREDS_H
#define TORIDE_SURVEY_CREDS_H

#include <stddef.h>

/* Why: NOTICE tries ~600 pairs; vendor lists add a few thousand. 100,000 leaves room and still
 * bounds what a mistaken --creds (e.g. a password dump) can make us load. */
#define TORIDE_CREDS_MAX 100000
/* Why: real device user names and passwords are short; longer lines are data errors. */
#define TORIDE_CRED_FIELD_MAX 128

struct toride_cred {
	char *user;
	char *pass;
	const char *origin; /* static: "mirai", "file", "vendor" */
};

struct toride_creds {
	struct toride_cred *v;
	size_t n, cap;
};

void toride_creds_init(struct toride_creds *c);
void toride_creds_free(struct toride_creds *c);
/* Append a pair unless the same pair is already in the list. */
int toride_creds_add(struct toride_creds *c, const char *user, const char *pass, const char *origin);
/* Load Mirai's table (data/credentials/mirai.tsv: "user<TAB>password<TAB>weight", '#' comments,
 * a header line). Source order is kept (it is already by falling weight). */
int toride_creds_load_mirai(struct toride_creds *c, const char *path, char *err, size_t errlen);
/* Load a user list: lines "user:password" or "user<TAB>password"; '#' comments; "<blank>" or an
 * empty field means empty. Errors name file:line. */
int toride_creds_load_file(struct toride_creds *c, const char *path, char *err, size_t errlen);
/* Add the pairs of the vendor-default CSV ("productvendor,username,password") whose vendor's
 * first word equals that of `vendor`, ignoring case and punctuation ("D-Link" finds "Dlink (web)"). Returns the number added (>= 0) or an error. */
int toride_creds_load_vendor(struct toride_creds *c, const char *csv_path, const char *vendor, char *err, size_t errlen);

/* A service's walk over credentials: its own pairs (the fingerprinted vendor's defaults) first,
 * then the survey's shared base list without the pairs the own list already has, both in order.
 * The base list is referenced, never copied, so a service costs its own pairs plus a few words
 * however long the base list is (Mirai's 61 pairs, NOTICE's ~600). The base list must hold no
 * duplicate pairs (lists built with toride_creds_add never do), must not change while walks use
 * it, and must outlive them. */
struct toride_creds_walk {
	const struct toride_creds *base; /* shared, not owned; NULL = empty */
	struct toride_creds own;         /* owned: fill it between init and seal */
	size_t *skip;                    /* ascending indexes of base pairs that are also in own */
	size_t nskip;
};

/* Start a walk over `base` (may be NULL) with an empty own list. Allocates nothing. */
void toride_creds_walk_init(struct toride_creds_walk *w, const struct toride_creds *base);
/* Call once the own list is complete, before count/at: notes the base pairs the own list repeats
 * so that the walk skips them. Returns 0 or TORIDE_ENOMEM (the walk is then unchanged: own list
 * and the whole base list). */
int toride_creds_walk_seal(struct toride_creds_walk *w);
/* Number of distinct pairs in the walk: own + base - repeated. */
size_t toride_creds_walk_count(const struct toride_creds_walk *w);
/* Pair number i of the walk (0-based), or NULL when i >= count. The pointer stays valid until the
 * walk is freed (and, for a base pair, while the base list lives). O(repeated pairs). */
const struct toride_cred *toride_creds_walk_at(const struct toride_creds_walk *w, size_t i);
/* Free the own list and the skip index; the base list is not touched. */
void toride_creds_walk_free(struct toride_creds_walk *w);

#endif
