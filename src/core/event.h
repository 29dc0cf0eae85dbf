/*
 * Events: the one schema every sensor emits and every consumer reads (design.md §3). An event is a
 * jansson object with at least "type", "survey", "time" and "sensor"; the types and their fields
 * are documented in docs/schema.md. On the wire and on disk an event is one line of JSON (JSON
 * Lines); in the database it is a row (src/store/store.h).
 */
#ifndef TORIDE_CORE_EVENT_H
#define TORIDE_CORE_EVENT_H

#include <jansson.h>
#include <stddef.h>

/* An event line longer than this is refused by toride_event_parse_line. Transcripts are capped by
 * the survey well below (tens of KiB); 1 MiB leaves ample room while keeping a hostile or corrupt
 * line from making us allocate without bound. */
#define TORIDE_EVENT_LINE_MAX (1024u * 1024u)

/* New event object with "type", "survey" (id), "time" (UTC ISO-8601 with milliseconds, e.g.
 * "2026-11-22T00:12:43.123Z") and "sensor" ("<hostname> toride/<version>") set. survey_id may be
 * NULL for events outside a survey (the member is then omitted). NULL on ENOMEM or if type is
 * NULL. The caller owns the returned reference. */
json_t *toride_event_new(const char *type, const char *survey_id);

/* Format unix_seconds as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (always NUL-terminated).
 * Milliseconds are truncated, not rounded, so a time never moves into the next second. */
void toride_time_iso8601(double unix_seconds, char out[32]);

/* Current wall-clock time in seconds since the epoch, with sub-second precision. */
double toride_time_now(void);

/* The sensor string used by toride_event_new: "<hostname> toride/<version>". Never NULL. */
const char *toride_event_sensor(void);

/* Parse one JSON Lines record (len bytes, need not be NUL-terminated; a trailing "\n" or "\r\n"
 * is allowed) into a new event object. Returns 0 and sets *out, TORIDE_ETOOBIG if the line is
 * longer than TORIDE_EVENT_LINE_MAX, TORIDE_EPARSE if it is not a JSON object with a non-empty
 * string "type", or TORIDE_ENOMEM. */
int toride_event_parse_line(const char *line, size_t len, json_t **out);

/* ---- Sinks: where events go is configuration, not the sensor's business (design.md §3). ---- */

struct toride_sink;
struct toride_store;

/* Open a sink. jsonl_path: NULL = none, "-" = stdout, else a file opened for append (one compact
 * JSON object per line, flushed after each event so a killed process loses no finished line).
 * db_path: NULL = none, else a store (src/store/store.h) opened or created there. Both NULL is
 * allowed (events are dropped). Returns 0, TORIDE_EIO (file), TORIDE_EDB (store) or TORIDE_ENOMEM
 * with a message in err (errlen bytes). Implemented in src/store/sink.c. */
int toride_sink_open(struct toride_sink **out, const char *jsonl_path, const char *db_path, char *err,
		     size_t errlen);
/* Write one event to every configured destination. Does NOT steal the reference. Event types the
 * store does not keep are still written to JSON Lines and are not an error. Returns 0 or the first
 * failure (TORIDE_EIO, or a toride_store_put_event code); a failure in one destination does not
 * stop the write to the other. */
int toride_sink_emit(struct toride_sink *s, json_t *event);
/* The sink's store, for resume lookups; NULL if the sink has no database. */
struct toride_store *toride_sink_store(struct toride_sink *s);
/* Flush and close everything; NULL is allowed. */
void toride_sink_close(struct toride_sink *s);

#endif
