/*
 * The event store: SQLite, one file, WAL journal. Every event a sensor emits can be stored here;
 * each row keeps the full event JSON (evidence is never lost) next to indexed columns for queries.
 * The schema is versioned (PRAGMA user_version) and documented in docs/schema.md.
 *
 * A store is used from one thread at a time. Several processes may open the same file (WAL lets
 * readers run during a survey); writers wait up to TORIDE_STORE_BUSY_MS for each other.
 */
#ifndef TORIDE_STORE_STORE_H
#define TORIDE_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Schema version this build writes; PRAGMA user_version of a current database. */
#define TORIDE_STORE_SCHEMA_VERSION 3
/* PRAGMA application_id of a toride database: "TORI" in ASCII. Lets us tell a toride database
 * from any other SQLite file. */
#define TORIDE_STORE_APPLICATION_ID 0x544f5249
/* How long a writer waits for a lock held by another process (a report reading during a
 * survey) before failing; long enough for any single commit, short enough to notice a hang. */
#define TORIDE_STORE_BUSY_MS 10000
/* Longest survey id, requirement id, protocol name or similar key we index. Ids are short
 * generated strings; a longer one is a corrupt or hostile event. */
#define TORIDE_STORE_KEY_MAX 128

struct toride_store;

/* Open flags for toride_store_open_ex. */
#define TORIDE_STORE_READONLY 0x1 /* never create, never migrate, never write */

/* Open (creating if needed) the database at path and bring its schema to the current version.
 * Sets journal_mode=WAL, synchronous=NORMAL (in WAL a commit survives a killed process; only an
 * OS crash can lose the last commits) and the busy timeout. Refuses, with a message in err, a file
 * that is not a toride database or whose schema version is newer than this build knows. Returns
 * 0, TORIDE_EDB (message in err) or TORIDE_ENOMEM. ":memory:" gives a private in-memory store. */
int toride_store_open(struct toride_store **out, const char *path, char *err, size_t errlen);
/* As toride_store_open, with TORIDE_STORE_* flags. With TORIDE_STORE_READONLY a missing file
 * gives TORIDE_ENOTFOUND and an empty or older-schema file gives TORIDE_EDB. */
int toride_store_open_ex(struct toride_store **out, const char *path, int flags, char *err, size_t errlen);
/* Close the store; an open batch is committed first. NULL is allowed. */
void toride_store_close(struct toride_store *st);
/* The message of the last SQLite error or validation failure on this store ("" if none). */
const char *toride_store_errmsg(const struct toride_store *st);

/* Store one event of type "survey", "observation", "finding", "probe_done", "discovery_checkpoint"
 * (docs/schema.md) or
 * "hp_session", "hp_sample" (docs/honeypot.md; these carry no "survey": an hp_session needs
 * "session", "start" and an IP literal "src", an hp_session with the same session replaces the
 * row; an hp_sample needs a lower-case hex "sha256" and is kept as first stored, a repeat is
 * ignored).
 * Idempotent on natural keys: survey(id); observation(survey, addr, port, kind, key) where key is
 * proto for service/fingerprint, user NUL password for login_attempt, empty otherwise;
 * finding(survey, addr, port, requirement); probe_done(survey, addr, port); discovery_checkpoint(survey),
 * which keeps the highest "position" (an integer >= 0) ever stored. A later event updates
 * the row, except that a finding never moves to a weaker verdict (fail > pass > unknown; within a
 * verdict, proof strong > weak > none), so evidence of a failure cannot be overwritten.
 * Outside a batch each call commits before it returns. Returns 0, TORIDE_EINVAL (event is not a
 * well-formed event of a known type: missing/mistyped field, addr not an IP literal, port out of
 * range, unknown enum value, key longer than TORIDE_STORE_KEY_MAX), TORIDE_EUNSUPPORTED (a
 * well-formed event of a type the store does not keep), TORIDE_ETOOBIG (event JSON longer than
 * TORIDE_EVENT_LINE_MAX), TORIDE_EDB or TORIDE_ENOMEM. A failed call changes nothing. */
int toride_store_put_event(struct toride_store *st, const json_t *event);
/* Group the following puts into one transaction (much faster for bulk import). Nothing is durable
 * until toride_store_commit. Returns TORIDE_ESTATE if a batch is already open. */
int toride_store_begin(struct toride_store *st);
/* Commit the open batch. TORIDE_ESTATE if none is open. */
int toride_store_commit(struct toride_store *st);

/* Resume support: whether a probe_done for (survey, addr, port) is stored. */
int toride_store_probe_is_done(struct toride_store *st, const char *survey, const char *addr, uint16_t port,
			       bool *done);
/* SYN-path resume (docs/survey-scale.md): the highest "position" of the survey's
 * "discovery_checkpoint" events, 0 if none is stored. Returns 0 or TORIDE_EDB. */
int toride_store_discovery_checkpoint(struct toride_store *st, const char *survey, uint64_t *position);
/* SYN-path resume: call fn(addr, port, arg) for every pair of the survey with an "open" observation
 * and no probe_done row (discovered, checks not finished), in address (numeric, IPv4 before IPv6)
 * then port order. addr is the canonical literal, valid only during the call. fn may read the
 * store but should not write to it (the walk is one statement; rows it adds or removes may or may
 * not be seen). A non-zero return of fn stops the walk and is returned. Returns 0, fn's code or
 * TORIDE_EDB. */
int toride_store_foreach_pending_open(struct toride_store *st, const char *survey,
                                      int (*fn)(const char *addr, uint16_t port, void *arg), void *arg);
/* The "params" object of the survey (new reference in *params_out). TORIDE_ENOTFOUND if the
 * survey or its params are unknown. */
int toride_store_survey_params(struct toride_store *st, const char *survey, json_t **params_out);

/* ---- Read side (reports) ---- */

/* Id of the most recently started survey (malloc'd string in *id_out). TORIDE_ENOTFOUND if the
 * store holds none. */
int toride_store_latest_survey(struct toride_store *st, char **id_out);
/* One survey as a new object {id, status, started, ended, sensor, params, counts}; absent values
 * are JSON null. status is "unknown" if only findings/observations of it were stored.
 * TORIDE_ENOTFOUND if the survey is not in the store. */
int toride_store_survey_info(struct toride_store *st, const char *survey, json_t **out);
/* All surveys as a new array of survey_info objects, newest first. */
int toride_store_list_surveys(struct toride_store *st, json_t **out);
/* Probe tallies of a survey from probe_done rows: new object {total, open, closed, timeout, error}. */
int toride_store_probe_counts(struct toride_store *st, const char *survey, json_t **out);

/* Called once per row. event is the stored event; fingerprint is the newest "fingerprint"
 * observation of the same address (same port preferred) or NULL. Both are valid only during the
 * call. A non-zero return stops the iteration and is returned by the foreach function. */
typedef int (*toride_store_finding_cb)(void *arg, const json_t *event, const json_t *fingerprint);
/* Iterate the findings of a survey, ordered by address (numerically), port and requirement. verdict
 * NULL gives all, else only that verdict. */
int toride_store_foreach_finding(struct toride_store *st, const char *survey, const char *verdict,
				 toride_store_finding_cb cb, void *arg);
/* Number of observation rows of a kind ("service", "login_attempt", ...; NULL = all). */
int toride_store_count_observations(struct toride_store *st, const char *survey, const char *kind,
				    uint64_t *count);

/* ---- Honeypot (docs/honeypot.md) ---- */

/* Iterate the stored hp_session events (table "hp_session", ordered by start, then session id) or
 * hp_sample events ("hp_sample", ordered by first_seen, then sha256). since: NULL for all, else
 * only rows whose start / first_seen is at or after that ISO-8601 time (text comparison, so give
 * it in the events' form, e.g. "2026-11-22" or "2026-11-22T00:00:00.000Z"). event is a new object
 * released after cb returns (json_incref it to keep it). A non-zero return of cb stops the
 * iteration and is returned. Returns 0, TORIDE_EINVAL (unknown table), TORIDE_EDB or TORIDE_ENOMEM. */
int toride_store_foreach_hp(struct toride_store *st, const char *table, const char *since,
			    int (*cb)(void *arg, json_t *event), void *arg);

#endif
