/*
 * Helpers shared by the honeypot export (campaign.c, stix.c, misp.c; implemented in campaign.c):
 * name-based UUIDs so that an export of the same data always has the same ids, and the events'
 * ISO-8601 times as integers.
 */
#ifndef TORIDE_HONEYPOT_EXPORT_INT_H
#define TORIDE_HONEYPOT_EXPORT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* toride's own UUIDv5 namespace for every id the export derives (campaigns, STIX SDOs/SROs, MISP
 * events and attributes). Fixed forever: changing it changes every exported id. */
extern const uint8_t hp_export_ns[16];
/* The STIX 2.1 namespace for cyber-observable ids (STIX 2.1 §2.9): SCO ids are UUIDv5 of the
 * canonical JSON of their id-contributing properties in this namespace, so that other producers
 * derive the same id for the same address, URL or file. */
extern const uint8_t hp_stix_sco_ns[16];

/* RFC 4122 version 5 UUID of (ns, name[0..len)) as 36 lower-case characters plus NUL.
 * Returns 0 or TORIDE_ENOMEM (digest failure). */
int hp_uuid5(const uint8_t ns[16], const char *name, size_t len, char out[37]);
/* As hp_uuid5 with a prefix: out = prefix "--" uuid (e.g. "indicator--..."), outlen bytes. */
int hp_stix_id(const uint8_t ns[16], const char *prefix, const char *name, char *out, size_t outlen);

/* Parse "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (the events' form) into milliseconds since the epoch.
 * Returns 0 or TORIDE_EPARSE. */
int hp_time_parse_ms(const char *iso, int64_t *ms);
/* Format milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (RFC 3339, UTC). */
void hp_time_format_ms(int64_t ms, char out[32]);

/* String member of obj or NULL (absent, not a string, or holding a NUL byte). */
const char *hp_json_str(const json_t *obj, const char *key);
/* Sort a JSON array of strings (byte order) and drop duplicates, in place. Non-strings are
 * dropped. Returns 0 or TORIDE_ENOMEM. */
int hp_json_strset_finish(json_t *arr);

#endif
