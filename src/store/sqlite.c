/*
 * SQLite implementation of the event store (store.h). Schema: docs/schema.md. Every statement is
 * prepared once at open; every put runs inside a SAVEPOINT so that it is atomic both alone (where
 * RELEASE commits) and inside a batch.
 */
#include "store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/event.h"

/* Longest value of the small free-text columns we index besides keys (time, sensor, banner
 * product names). Anything longer stays in the event JSON only. */
#define STORE_TEXT_MAX 512
/* Longest ISO-8601 time we index ("2026-11-22T00:12:43.123456789+09:00" is 35). */
#define STORE_TIME_MAX 40
/* Credentials in default-credential lists are short; NOTICE's ~600 pairs and Mirai's are all
 * under 32 bytes. 128 leaves room and bounds the key column. */
#define STORE_CRED_MAX TORIDE_STORE_KEY_MAX

/* migrations[v] brings a database from user_version v to v + 1. Never edit a released entry:
 * add a new one and bump TORIDE_STORE_SCHEMA_VERSION. */
static const char *const migrations[] = {
	/* 0 -> 1: initial schema */
	"CREATE TABLE survey ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  status TEXT NOT NULL,"
	"  started TEXT, ended TEXT, sensor TEXT,"
	"  params TEXT, counts TEXT,"
	"  event TEXT"
	") STRICT;"
	"CREATE TABLE survey_log ("
	"  survey TEXT NOT NULL, status TEXT NOT NULL, time TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  PRIMARY KEY (survey, status, time)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE observation ("
	"  survey TEXT NOT NULL, addr TEXT NOT NULL, addr_key BLOB NOT NULL, port INTEGER NOT NULL,"
	"  kind TEXT NOT NULL, key BLOB NOT NULL, proto TEXT, time TEXT, sensor TEXT,"
	"  result TEXT, vendor TEXT, product TEXT, dev_type TEXT,"
	"  event TEXT NOT NULL,"
	"  PRIMARY KEY (survey, addr, port, kind, key)"
	") STRICT;"
	"CREATE INDEX observation_by_kind ON observation (survey, kind, addr_key, port);"
	"CREATE TABLE finding ("
	"  survey TEXT NOT NULL, addr TEXT NOT NULL, addr_key BLOB NOT NULL, port INTEGER NOT NULL,"
	"  requirement TEXT NOT NULL, proto TEXT, verdict TEXT NOT NULL, proof TEXT NOT NULL,"
	"  rank INTEGER NOT NULL, summary TEXT, cred_user TEXT, cred_password TEXT,"
	"  vendor TEXT, product TEXT, dev_type TEXT, time TEXT, sensor TEXT,"
	"  event TEXT NOT NULL,"
	"  PRIMARY KEY (survey, addr, port, requirement)"
	") STRICT;"
	"CREATE INDEX finding_by_order ON finding (survey, addr_key, port, requirement);"
	"CREATE INDEX finding_by_verdict ON finding (survey, verdict, requirement);"
	"CREATE TABLE probe_done ("
	"  survey TEXT NOT NULL, addr TEXT NOT NULL, port INTEGER NOT NULL, state TEXT NOT NULL,"
	"  time TEXT,"
	"  PRIMARY KEY (survey, addr, port)"
	") STRICT, WITHOUT ROWID;",
	/* 1 -> 2: honeypot sessions and samples (docs/honeypot.md) */
	"CREATE TABLE hp_session ("
	"  session TEXT PRIMARY KEY, start TEXT, \"end\" TEXT, src TEXT, dst_port INTEGER,"
	"  proto TEXT, profile TEXT,"
	"  event TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX hp_session_by_start ON hp_session (start);"
	"CREATE INDEX hp_session_by_src ON hp_session (src);"
	"CREATE TABLE hp_sample ("
	"  sha256 TEXT PRIMARY KEY, first_seen TEXT,"
	"  event TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX hp_sample_by_first_seen ON hp_sample (first_seen);",
	/* 2 -> 3: SYN-path resume (docs/survey-scale.md): the highest discovery checkpoint of each
	 * survey, and a covering index of the "open" observations in address order so that the walk
	 * of the pending ones reads no table row. */
	"CREATE TABLE discovery_checkpoint ("
	"  survey TEXT PRIMARY KEY, position INTEGER NOT NULL CHECK (position >= 0), time TEXT"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX observation_open ON observation (survey, addr_key, port, addr, kind) WHERE kind = 'open';",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == TORIDE_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

enum stmt_id {
	S_SURVEY_UPSERT,
	S_SURVEY_LOG,
	S_SURVEY_PLACEHOLDER,
	S_OBS_UPSERT,
	S_FINDING_UPSERT,
	S_PROBE_UPSERT,
	S_PROBE_GET,
	S_PARAMS_GET,
	S_LATEST,
	S_INFO,
	S_LIST,
	S_PROBE_COUNTS,
	S_FINDINGS_ALL,
	S_FINDINGS_VERDICT,
	S_OBS_COUNT,
	S_OBS_COUNT_KIND,
	S_HP_SESSION_PUT,
	S_HP_SAMPLE_PUT,
	S_HP_SESSIONS,
	S_HP_SESSIONS_SINCE,
	S_HP_SAMPLES,
	S_HP_SAMPLES_SINCE,
	S_CHECKPOINT_PUT,
	S_CHECKPOINT_GET,
	S_PENDING_OPEN,
	S_COUNT,
};

/* The newest fingerprint observation of finding f's address, same port first. (SQLite does not
 * let a subquery's ORDER BY see the outer row, hence the inner select computing "same".) */
#define FINGERPRINT_OF_F \
	"(SELECT e FROM (SELECT o.event AS e, o.port = f.port AS same, o.time AS t FROM observation o" \
	"  WHERE o.survey = f.survey AND o.addr = f.addr AND o.kind = 'fingerprint')" \
	" ORDER BY same DESC, t DESC LIMIT 1)"

static const char *const stmt_sql[S_COUNT] = {
	[S_SURVEY_UPSERT] =
		"INSERT INTO survey (id, status, started, ended, sensor, params, counts, event)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
		"  started = CASE WHEN survey.started IS NULL OR excluded.started < survey.started"
		"   THEN excluded.started ELSE survey.started END,"
		"  ended = COALESCE(excluded.ended, survey.ended),"
		"  sensor = COALESCE(excluded.sensor, survey.sensor),"
		"  params = COALESCE(excluded.params, survey.params),"
		"  counts = COALESCE(excluded.counts, survey.counts),"
		"  event = excluded.event",
	[S_SURVEY_LOG] =
		"INSERT INTO survey_log (survey, status, time, event) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT DO UPDATE SET event = excluded.event",
	[S_SURVEY_PLACEHOLDER] =
		"INSERT INTO survey (id, status, started) VALUES (?1, 'unknown', ?2)"
		" ON CONFLICT (id) DO UPDATE SET started = excluded.started"
		" WHERE survey.status = 'unknown' AND excluded.started IS NOT NULL"
		"  AND (survey.started IS NULL OR excluded.started < survey.started)",
	[S_OBS_UPSERT] =
		"INSERT INTO observation (survey, addr, addr_key, port, kind, key, proto, time, sensor,"
		"  result, vendor, product, dev_type, event)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
		" ON CONFLICT (survey, addr, port, kind, key) DO UPDATE SET proto = excluded.proto,"
		"  time = excluded.time, sensor = excluded.sensor, result = excluded.result,"
		"  vendor = excluded.vendor, product = excluded.product, dev_type = excluded.dev_type,"
		"  event = excluded.event",
	[S_FINDING_UPSERT] =
		"INSERT INTO finding (survey, addr, addr_key, port, requirement, proto, verdict, proof, rank,"
		"  summary, cred_user, cred_password, vendor, product, dev_type, time, sensor, event)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
		" ON CONFLICT (survey, addr, port, requirement) DO UPDATE SET proto = excluded.proto,"
		"  verdict = excluded.verdict, proof = excluded.proof, rank = excluded.rank,"
		"  summary = excluded.summary, cred_user = excluded.cred_user,"
		"  cred_password = excluded.cred_password, vendor = excluded.vendor,"
		"  product = excluded.product, dev_type = excluded.dev_type, time = excluded.time,"
		"  sensor = excluded.sensor, event = excluded.event"
		" WHERE excluded.rank >= finding.rank",
	[S_PROBE_UPSERT] =
		"INSERT INTO probe_done (survey, addr, port, state, time) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (survey, addr, port) DO UPDATE SET state = excluded.state, time = excluded.time",
	[S_PROBE_GET] = "SELECT 1 FROM probe_done WHERE survey = ?1 AND addr = ?2 AND port = ?3",
	[S_PARAMS_GET] = "SELECT params FROM survey WHERE id = ?1",
	[S_LATEST] = "SELECT id FROM survey ORDER BY started DESC NULLS LAST, seq DESC LIMIT 1",
	[S_INFO] = "SELECT id, status, started, ended, sensor, params, counts FROM survey WHERE id = ?1",
	[S_LIST] = "SELECT id, status, started, ended, sensor, params, counts FROM survey"
		   " ORDER BY started DESC NULLS LAST, seq DESC",
	[S_PROBE_COUNTS] = "SELECT state, count(*) FROM probe_done WHERE survey = ?1 GROUP BY state",
	[S_FINDINGS_ALL] =
		"SELECT f.event, " FINGERPRINT_OF_F
		" FROM finding f WHERE f.survey = ?1 ORDER BY f.addr_key, f.port, f.requirement",
	[S_FINDINGS_VERDICT] =
		"SELECT f.event, " FINGERPRINT_OF_F
		" FROM finding f WHERE f.survey = ?1 AND f.verdict = ?2"
		" ORDER BY f.addr_key, f.port, f.requirement",
	[S_OBS_COUNT] = "SELECT count(*) FROM observation WHERE survey = ?1",
	[S_OBS_COUNT_KIND] = "SELECT count(*) FROM observation WHERE survey = ?1 AND kind = ?2",
	/* A session is recorded once, when it ends; a repeat (collector restart, re-import)
	 * replaces it. A sample keeps its first sighting. */
	[S_HP_SESSION_PUT] =
		"INSERT OR REPLACE INTO hp_session (session, start, \"end\", src, dst_port, proto, profile, event)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_HP_SAMPLE_PUT] = "INSERT OR IGNORE INTO hp_sample (sha256, first_seen, event) VALUES (?1, ?2, ?3)",
	[S_HP_SESSIONS] = "SELECT event FROM hp_session ORDER BY start, session",
	[S_HP_SESSIONS_SINCE] = "SELECT event FROM hp_session WHERE start >= ?1 ORDER BY start, session",
	[S_HP_SAMPLES] = "SELECT event FROM hp_sample ORDER BY first_seen, sha256",
	[S_HP_SAMPLES_SINCE] = "SELECT event FROM hp_sample WHERE first_seen >= ?1 ORDER BY first_seen, sha256",
	/* The position only grows: a late or repeated checkpoint below the stored one changes
	 * nothing (not even the time), so the row always says when the maximum was reached. */
	[S_CHECKPOINT_PUT] =
		"INSERT INTO discovery_checkpoint (survey, position, time) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (survey) DO UPDATE SET position = excluded.position, time = excluded.time"
		" WHERE excluded.position > discovery_checkpoint.position",
	[S_CHECKPOINT_GET] = "SELECT position FROM discovery_checkpoint WHERE survey = ?1",
	/* observation_open (partial, covering) gives the order without reading table rows; probe_done's
	 * primary key answers NOT EXISTS with one seek per row. Without statistics the planner
	 * prefers observation_by_kind (same order, but a table lookup per row: ~25 % slower on 1M
	 * rows), hence INDEXED BY; "kind = 'open'" is spelled as in the index's WHERE so it applies. */
	[S_PENDING_OPEN] =
		"SELECT o.addr, o.port FROM observation o INDEXED BY observation_open"
		" WHERE o.survey = ?1 AND o.kind = 'open'"
		"  AND NOT EXISTS (SELECT 1 FROM probe_done p"
		"   WHERE p.survey = o.survey AND p.addr = o.addr AND p.port = o.port)"
		" ORDER BY o.addr_key, o.port",
};

struct toride_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	bool in_batch;
	bool readonly;
	char errmsg[256];
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

/* Remember the SQLite error of the last call and turn it into a toride code. */
static int
db_fail(struct toride_store *st, int sqlrc)
{
	snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
	return (sqlrc & 0xff) == SQLITE_NOMEM ? TORIDE_ENOMEM : TORIDE_EDB;
}

static int __attribute__((format(printf, 2, 3)))
bad_event(struct toride_store *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
	va_end(ap);
	return TORIDE_EINVAL;
}

const char *
toride_store_errmsg(const struct toride_store *st)
{
	return st != NULL ? st->errmsg : "";
}

static sqlite3_stmt *
stmt_get(struct toride_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int
exec_sql(struct toride_store *st, const char *sql)
{
	int r = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return r == SQLITE_OK ? 0 : db_fail(st, r);
}

/* Run a single-integer PRAGMA query. */
static int
pragma_int(struct toride_store *st, const char *sql, long long *val)
{
	sqlite3_stmt *s = NULL;
	int r = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (r != SQLITE_OK)
		return db_fail(st, r);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*val = sqlite3_column_int64(s, 0);
		r = SQLITE_OK;
	} else if (r == SQLITE_DONE) {
		*val = 0;
		r = SQLITE_OK;
	}
	int rc = r == SQLITE_OK ? 0 : db_fail(st, r);
	sqlite3_finalize(s);
	return rc;
}

static int
migrate(struct toride_store *st, long long from)
{
	char sql[96];
	int rc;
	if ((rc = exec_sql(st, "BEGIN IMMEDIATE")) != 0)
		return rc;
	for (long long v = from; v < TORIDE_STORE_SCHEMA_VERSION; v++) {
		if ((rc = exec_sql(st, migrations[v])) != 0)
			goto fail;
	}
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
		 TORIDE_STORE_APPLICATION_ID, TORIDE_STORE_SCHEMA_VERSION);
	if ((rc = exec_sql(st, sql)) != 0 || (rc = exec_sql(st, "COMMIT")) != 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Check that the file is a toride database we can use and bring it to the current schema. */
static int
check_schema(struct toride_store *st, const char *path, char *err, size_t errlen)
{
	long long appid = 0, version = 0, objects = 0;
	int rc;

	if ((rc = pragma_int(st, "PRAGMA application_id", &appid)) != 0) {
		/* The first read of a file that is not SQLite fails here (SQLITE_NOTADB). */
		seterr(err, errlen, "%s: not a toride database (%s)", path, st->errmsg);
		return rc;
	}
	if ((rc = pragma_int(st, "PRAGMA user_version", &version)) != 0 ||
	    (rc = pragma_int(st, "SELECT count(*) FROM sqlite_schema", &objects)) != 0) {
		seterr(err, errlen, "%s: %s", path, st->errmsg);
		return rc;
	}
	if (appid == 0 && version == 0 && objects == 0) {
		if (st->readonly) {
			seterr(err, errlen, "%s: empty database, not a toride database", path);
			return TORIDE_EDB;
		}
	} else if (appid != TORIDE_STORE_APPLICATION_ID) {
		seterr(err, errlen, "%s: not a toride database (SQLite application_id is 0x%llx, want 0x%x)", path,
		       (unsigned long long)appid, TORIDE_STORE_APPLICATION_ID);
		return TORIDE_EDB;
	}
	if (version > TORIDE_STORE_SCHEMA_VERSION) {
		seterr(err, errlen,
		       "%s: database schema version %lld is newer than this toride understands (%d); use a newer toride",
		       path, version, TORIDE_STORE_SCHEMA_VERSION);
		return TORIDE_EDB;
	}
	if (version < TORIDE_STORE_SCHEMA_VERSION) {
		if (st->readonly) {
			seterr(err, errlen, "%s: database schema version %lld is older than %d; open it once for writing to migrate",
			       path, version, TORIDE_STORE_SCHEMA_VERSION);
			return TORIDE_EDB;
		}
		if ((rc = migrate(st, version)) != 0) {
			seterr(err, errlen, "%s: cannot migrate schema from version %lld: %s", path, version, st->errmsg);
			return rc;
		}
	}
	return 0;
}

int
toride_store_open_ex(struct toride_store **out, const char *path, int flags, char *err, size_t errlen)
{
	struct toride_store *st = NULL;
	int rc;

	seterr(err, errlen, "%s", "");
	st = calloc(1, sizeof *st);
	if (st == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	st->readonly = (flags & TORIDE_STORE_READONLY) != 0;
	if (st->readonly) {
		struct stat sb;
		if (stat(path, &sb) != 0) {
			seterr(err, errlen, "%s: no such database (%s)", path, strerror(errno));
			rc = TORIDE_ENOTFOUND;
			goto out;
		}
	}
	int oflags = st->readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int r = sqlite3_open_v2(path, &st->db, oflags, NULL);
	if (r != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot open database: %s", path,
		       st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(r));
		rc = r == SQLITE_NOMEM ? TORIDE_ENOMEM : TORIDE_EDB;
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, TORIDE_STORE_BUSY_MS);
	if ((rc = check_schema(st, path, err, errlen)) != 0)
		goto out;
	if (!st->readonly) {
		/* WAL: readers (a report) never block the writer (a survey) and vice versa. NORMAL
		 * in WAL mode keeps every commit across a killed process. */
		if ((rc = exec_sql(st, "PRAGMA journal_mode = WAL")) != 0 ||
		    (rc = exec_sql(st, "PRAGMA synchronous = NORMAL")) != 0) {
			seterr(err, errlen, "%s: %s", path, st->errmsg);
			goto out;
		}
	}
	for (int i = 0; i < S_COUNT; i++) {
		r = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
		if (r != SQLITE_OK) {
			rc = db_fail(st, r);
			seterr(err, errlen, "%s: %s", path, st->errmsg);
			goto out;
		}
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	toride_store_close(st);
	return rc;
}

int
toride_store_open(struct toride_store **out, const char *path, char *err, size_t errlen)
{
	return toride_store_open_ex(out, path, 0, err, errlen);
}

void
toride_store_close(struct toride_store *st)
{
	if (st == NULL)
		return;
	if (st->in_batch)
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

int
toride_store_begin(struct toride_store *st)
{
	if (st->in_batch || st->readonly)
		return TORIDE_ESTATE;
	int rc = exec_sql(st, "BEGIN IMMEDIATE");
	if (rc == 0)
		st->in_batch = true;
	return rc;
}

int
toride_store_commit(struct toride_store *st)
{
	if (!st->in_batch)
		return TORIDE_ESTATE;
	int rc = exec_sql(st, "COMMIT");
	if (rc == 0)
		st->in_batch = false;
	return rc;
}

/* ---- event validation ---- */

/* A string member. Absent or null gives *out = NULL when optional. Strings with an embedded NUL
 * are refused: they would alias another key in the indexed columns. */
static int
ev_str(struct toride_store *st, const json_t *obj, const char *key, bool required, size_t max,
       const char **out)
{
	const json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return bad_event(st, "event: missing \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return bad_event(st, "event: \"%s\" is not a string", key);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return bad_event(st, "event: \"%s\" contains a NUL byte", key);
	if (n > max)
		return bad_event(st, "event: \"%s\" is longer than %zu bytes", key, max);
	if (required && n == 0)
		return bad_event(st, "event: \"%s\" is empty", key);
	*out = s;
	return 0;
}

/* A string member that must be one of a NULL-terminated list. */
static int
ev_enum(struct toride_store *st, const json_t *obj, const char *key, bool required,
	const char *const *allowed, const char **out)
{
	int rc = ev_str(st, obj, key, required, TORIDE_STORE_KEY_MAX, out);
	if (rc != 0 || *out == NULL)
		return rc;
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(*out, allowed[i]) == 0)
			return 0;
	}
	return bad_event(st, "event: \"%s\" has unknown value \"%s\"", key, *out);
}

/* addr as a canonical IP literal plus a 16-byte sort key (IPv4 mapped into ::ffff:0:0/96). */
struct ev_addr {
	char text[INET6_ADDRSTRLEN];
	uint8_t key[16];
};

static int
ev_addr_port(struct toride_store *st, const json_t *ev, struct ev_addr *a, int *port)
{
	const char *s;
	int rc = ev_str(st, ev, "addr", true, INET6_ADDRSTRLEN, &s);
	if (rc != 0)
		return rc;
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(a->key, 0, 10);
		a->key[10] = a->key[11] = 0xff;
		memcpy(a->key + 12, &v4, 4);
		inet_ntop(AF_INET, &v4, a->text, sizeof a->text);
	} else if (inet_pton(AF_INET6, s, &v6) == 1) {
		memcpy(a->key, &v6, 16);
		inet_ntop(AF_INET6, &v6, a->text, sizeof a->text);
	} else {
		return bad_event(st, "event: \"addr\" is not an IP address");
	}
	const json_t *p = json_object_get(ev, "port");
	if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
		return bad_event(st, "event: \"port\" is not an integer 0..65535");
	*port = (int)json_integer_value(p);
	return 0;
}

static int
bind_text(struct toride_store *st, sqlite3_stmt *s, int idx, const char *v)
{
	int r = v != NULL ? sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, idx);
	return r == SQLITE_OK ? 0 : db_fail(st, r);
}

static int
bind_blob(struct toride_store *st, sqlite3_stmt *s, int idx, const void *p, size_t n)
{
	/* A zero-length blob must still be a blob, not NULL: the key column is NOT NULL. */
	int r = sqlite3_bind_blob(s, idx, n ? p : "", (int)n, SQLITE_TRANSIENT);
	return r == SQLITE_OK ? 0 : db_fail(st, r);
}

static int
bind_int(struct toride_store *st, sqlite3_stmt *s, int idx, long long v)
{
	int r = sqlite3_bind_int64(s, idx, v);
	return r == SQLITE_OK ? 0 : db_fail(st, r);
}

static int
bind_json(struct toride_store *st, sqlite3_stmt *s, int idx, const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return bind_text(st, s, idx, NULL);
	char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (txt == NULL)
		return TORIDE_ENOMEM;
	int rc = bind_text(st, s, idx, txt);
	free(txt);
	return rc;
}

static int
step_done(struct toride_store *st, sqlite3_stmt *s)
{
	int r = sqlite3_step(s);
	int rc = r == SQLITE_DONE ? 0 : db_fail(st, r);
	sqlite3_reset(s);
	return rc;
}

/* Fields every event has. */
struct ev_common {
	const char *survey;
	const char *time;
	const char *sensor;
	const char *json; /* the whole event, compact */
};

static int
put_placeholder(struct toride_store *st, const struct ev_common *c)
{
	sqlite3_stmt *s = stmt_get(st, S_SURVEY_PLACEHOLDER);
	int rc;
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_text(st, s, 2, c->time)) != 0)
		return rc;
	return step_done(st, s);
}

static int
put_survey(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	/* "failed": the survey stopped on an error (cmd_survey); like the others, it ends the survey. */
	static const char *const statuses[] = {"started", "finished", "interrupted", "failed", NULL};
	const char *status;
	int rc;
	if ((rc = ev_enum(st, ev, "status", true, statuses, &status)) != 0)
		return rc;
	const json_t *params = json_object_get(ev, "params");
	const json_t *counts = json_object_get(ev, "counts");
	if (params != NULL && !json_is_object(params) && !json_is_null(params))
		return bad_event(st, "event: \"params\" is not an object");
	if (counts != NULL && !json_is_object(counts) && !json_is_null(counts))
		return bad_event(st, "event: \"counts\" is not an object");
	bool ended = strcmp(status, "started") != 0;
	sqlite3_stmt *s = stmt_get(st, S_SURVEY_UPSERT);
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_text(st, s, 2, status)) != 0 ||
	    (rc = bind_text(st, s, 3, c->time)) != 0 || (rc = bind_text(st, s, 4, ended ? c->time : NULL)) != 0 ||
	    (rc = bind_text(st, s, 5, c->sensor)) != 0 || (rc = bind_json(st, s, 6, params)) != 0 ||
	    (rc = bind_json(st, s, 7, counts)) != 0 || (rc = bind_text(st, s, 8, c->json)) != 0 ||
	    (rc = step_done(st, s)) != 0)
		return rc;
	s = stmt_get(st, S_SURVEY_LOG);
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_text(st, s, 2, status)) != 0 ||
	    (rc = bind_text(st, s, 3, c->time != NULL ? c->time : "")) != 0 ||
	    (rc = bind_text(st, s, 4, c->json)) != 0)
		return rc;
	return step_done(st, s);
}

static int
put_observation(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	static const char *const kinds[] = {"open", "closed", "timeout", "service", "fingerprint",
					    "login_attempt", NULL};
	static const char *const results[] = {"accepted", "rejected", "error", NULL};
	struct ev_addr a;
	int port, rc;
	const char *proto, *kind, *user = NULL, *pass = NULL, *result = NULL;
	const char *vendor = NULL, *product = NULL, *dtype = NULL;
	char key[2 * STORE_CRED_MAX + 1];
	size_t keylen = 0;

	if ((rc = ev_addr_port(st, ev, &a, &port)) != 0 ||
	    (rc = ev_str(st, ev, "proto", false, TORIDE_STORE_KEY_MAX, &proto)) != 0 ||
	    (rc = ev_enum(st, ev, "kind", true, kinds, &kind)) != 0)
		return rc;
	const json_t *data = json_object_get(ev, "data");
	if (data != NULL && !json_is_object(data) && !json_is_null(data))
		return bad_event(st, "event: \"data\" is not an object");
	if (strcmp(kind, "login_attempt") == 0) {
		if (!json_is_object(data))
			return bad_event(st, "event: login_attempt without \"data\"");
		if ((rc = ev_str(st, data, "user", false, STORE_CRED_MAX, &user)) != 0 ||
		    (rc = ev_str(st, data, "password", false, STORE_CRED_MAX, &pass)) != 0 ||
		    (rc = ev_enum(st, data, "result", true, results, &result)) != 0)
			return rc;
		/* user NUL password: neither may contain NUL (ev_str), so the key is unambiguous. */
		size_t ul = user ? strlen(user) : 0, pl = pass ? strlen(pass) : 0;
		if (ul)
			memcpy(key, user, ul);
		key[ul] = '\0';
		if (pl)
			memcpy(key + ul + 1, pass, pl);
		keylen = ul + 1 + pl;
	} else if (strcmp(kind, "service") == 0 || strcmp(kind, "fingerprint") == 0) {
		keylen = proto ? strlen(proto) : 0;
		if (keylen)
			memcpy(key, proto, keylen);
		if (strcmp(kind, "fingerprint") == 0 && json_is_object(data) &&
		    ((rc = ev_str(st, data, "vendor", false, STORE_TEXT_MAX, &vendor)) != 0 ||
		     (rc = ev_str(st, data, "product", false, STORE_TEXT_MAX, &product)) != 0 ||
		     (rc = ev_str(st, data, "type", false, STORE_TEXT_MAX, &dtype)) != 0))
			return rc;
	}
	if ((rc = put_placeholder(st, c)) != 0)
		return rc;
	sqlite3_stmt *s = stmt_get(st, S_OBS_UPSERT);
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_text(st, s, 2, a.text)) != 0 ||
	    (rc = bind_blob(st, s, 3, a.key, sizeof a.key)) != 0 || (rc = bind_int(st, s, 4, port)) != 0 ||
	    (rc = bind_text(st, s, 5, kind)) != 0 || (rc = bind_blob(st, s, 6, key, keylen)) != 0 ||
	    (rc = bind_text(st, s, 7, proto)) != 0 || (rc = bind_text(st, s, 8, c->time)) != 0 ||
	    (rc = bind_text(st, s, 9, c->sensor)) != 0 || (rc = bind_text(st, s, 10, result)) != 0 ||
	    (rc = bind_text(st, s, 11, vendor)) != 0 || (rc = bind_text(st, s, 12, product)) != 0 ||
	    (rc = bind_text(st, s, 13, dtype)) != 0 || (rc = bind_text(st, s, 14, c->json)) != 0)
		return rc;
	return step_done(st, s);
}

static int
index_of(const char *const *list, const char *v)
{
	for (int i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], v) == 0)
			return i;
	}
	return -1;
}

static int
put_finding(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	/* Listed weakest first: the index is the rank. */
	static const char *const verdicts[] = {"unknown", "pass", "fail", NULL};
	static const char *const proofs[] = {"none", "weak", "strong", NULL};
	struct ev_addr a;
	int port, rc;
	const char *req, *proto, *verdict, *proof, *summary;
	const char *cuser = NULL, *cpass = NULL, *vendor = NULL, *product = NULL, *dtype = NULL;

	if ((rc = ev_addr_port(st, ev, &a, &port)) != 0 ||
	    (rc = ev_str(st, ev, "requirement", true, TORIDE_STORE_KEY_MAX, &req)) != 0 ||
	    (rc = ev_str(st, ev, "proto", false, TORIDE_STORE_KEY_MAX, &proto)) != 0 ||
	    (rc = ev_enum(st, ev, "verdict", true, verdicts, &verdict)) != 0 ||
	    (rc = ev_enum(st, ev, "proof", false, proofs, &proof)) != 0 ||
	    (rc = ev_str(st, ev, "summary", false, TORIDE_EVENT_LINE_MAX, &summary)) != 0)
		return rc;
	if (proof == NULL)
		proof = "none";
	const json_t *cred = json_object_get(ev, "credential");
	if (cred != NULL && !json_is_null(cred)) {
		if (!json_is_object(cred))
			return bad_event(st, "event: \"credential\" is not an object");
		if ((rc = ev_str(st, cred, "user", false, STORE_CRED_MAX, &cuser)) != 0 ||
		    (rc = ev_str(st, cred, "password", false, STORE_CRED_MAX, &cpass)) != 0)
			return rc;
	}
	const json_t *dev = json_object_get(ev, "device");
	if (dev != NULL && !json_is_null(dev)) {
		if (!json_is_object(dev))
			return bad_event(st, "event: \"device\" is not an object");
		if ((rc = ev_str(st, dev, "vendor", false, STORE_TEXT_MAX, &vendor)) != 0 ||
		    (rc = ev_str(st, dev, "product", false, STORE_TEXT_MAX, &product)) != 0 ||
		    (rc = ev_str(st, dev, "type", false, STORE_TEXT_MAX, &dtype)) != 0)
			return rc;
	}
	const json_t *evid = json_object_get(ev, "evidence");
	if (evid != NULL && !json_is_object(evid) && !json_is_null(evid))
		return bad_event(st, "event: \"evidence\" is not an object");
	int rank = index_of(verdicts, verdict) * 4 + index_of(proofs, proof);

	if ((rc = put_placeholder(st, c)) != 0)
		return rc;
	sqlite3_stmt *s = stmt_get(st, S_FINDING_UPSERT);
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_text(st, s, 2, a.text)) != 0 ||
	    (rc = bind_blob(st, s, 3, a.key, sizeof a.key)) != 0 || (rc = bind_int(st, s, 4, port)) != 0 ||
	    (rc = bind_text(st, s, 5, req)) != 0 || (rc = bind_text(st, s, 6, proto)) != 0 ||
	    (rc = bind_text(st, s, 7, verdict)) != 0 || (rc = bind_text(st, s, 8, proof)) != 0 ||
	    (rc = bind_int(st, s, 9, rank)) != 0 || (rc = bind_text(st, s, 10, summary)) != 0 ||
	    (rc = bind_text(st, s, 11, cuser)) != 0 || (rc = bind_text(st, s, 12, cpass)) != 0 ||
	    (rc = bind_text(st, s, 13, vendor)) != 0 || (rc = bind_text(st, s, 14, product)) != 0 ||
	    (rc = bind_text(st, s, 15, dtype)) != 0 || (rc = bind_text(st, s, 16, c->time)) != 0 ||
	    (rc = bind_text(st, s, 17, c->sensor)) != 0 || (rc = bind_text(st, s, 18, c->json)) != 0)
		return rc;
	return step_done(st, s);
}

static int
put_probe_done(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	static const char *const states[] = {"open", "closed", "timeout", "error", NULL};
	struct ev_addr a;
	int port, rc;
	const char *state;
	if ((rc = ev_addr_port(st, ev, &a, &port)) != 0 ||
	    (rc = ev_enum(st, ev, "state", true, states, &state)) != 0)
		return rc;
	if ((rc = put_placeholder(st, c)) != 0)
		return rc;
	sqlite3_stmt *s = stmt_get(st, S_PROBE_UPSERT);
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_text(st, s, 2, a.text)) != 0 ||
	    (rc = bind_int(st, s, 3, port)) != 0 || (rc = bind_text(st, s, 4, state)) != 0 ||
	    (rc = bind_text(st, s, 5, c->time)) != 0)
		return rc;
	return step_done(st, s);
}

/* discovery_checkpoint: an order position (docs/survey-scale.md). JSON integers are signed 64-bit
 * (jansson) as are SQLite's, so the range is 0..INT64_MAX; a string, real, bool or negative
 * number is a malformed event. */
static int
put_discovery_checkpoint(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	const json_t *p = json_object_get(ev, "position");
	int rc;
	if (p == NULL || json_is_null(p))
		return bad_event(st, "event: missing \"position\"");
	if (!json_is_integer(p) || json_integer_value(p) < 0)
		return bad_event(st, "event: \"position\" is not an integer >= 0");
	if ((rc = put_placeholder(st, c)) != 0)
		return rc;
	sqlite3_stmt *s = stmt_get(st, S_CHECKPOINT_PUT);
	if ((rc = bind_text(st, s, 1, c->survey)) != 0 || (rc = bind_int(st, s, 2, json_integer_value(p))) != 0 ||
	    (rc = bind_text(st, s, 3, c->time)) != 0)
		return rc;
	return step_done(st, s);
}

/* An ISO-8601 time member as events carry it ("2026-11-22T00:12:43.123Z"): only the characters
 * such a time has, so that the text ordering of the indexed column is the time ordering. */
static int
ev_time(struct toride_store *st, const json_t *obj, const char *key, bool required, const char **out)
{
	int rc = ev_str(st, obj, key, required, STORE_TIME_MAX, out);
	if (rc != 0 || *out == NULL)
		return rc;
	for (const char *p = *out; *p != '\0'; p++) {
		if (strchr("0123456789-:.TZ+", *p) == NULL)
			return bad_event(st, "event: \"%s\" is not an ISO-8601 time", key);
	}
	return 0;
}

static int
put_hp_session(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	const char *session, *start, *end, *src, *proto, *profile;
	char srcbuf[INET6_ADDRSTRLEN];
	int rc, port = -1;

	if ((rc = ev_str(st, ev, "session", true, TORIDE_STORE_KEY_MAX, &session)) != 0 ||
	    (rc = ev_time(st, ev, "start", true, &start)) != 0 || (rc = ev_time(st, ev, "end", false, &end)) != 0 ||
	    (rc = ev_str(st, ev, "src", true, INET6_ADDRSTRLEN, &src)) != 0 ||
	    (rc = ev_str(st, ev, "proto", false, TORIDE_STORE_KEY_MAX, &proto)) != 0 ||
	    (rc = ev_str(st, ev, "profile", false, TORIDE_STORE_KEY_MAX, &profile)) != 0)
		return rc;
	/* Canonical address text, as for survey rows, so that one host is one value of src. */
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, src, &v4) == 1)
		inet_ntop(AF_INET, &v4, srcbuf, sizeof srcbuf);
	else if (inet_pton(AF_INET6, src, &v6) == 1)
		inet_ntop(AF_INET6, &v6, srcbuf, sizeof srcbuf);
	else
		return bad_event(st, "event: \"src\" is not an IP address");
	const json_t *p = json_object_get(ev, "dst_port");
	if (p != NULL && !json_is_null(p)) {
		if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
			return bad_event(st, "event: \"dst_port\" is not an integer 0..65535");
		port = (int)json_integer_value(p);
	}
	sqlite3_stmt *s = stmt_get(st, S_HP_SESSION_PUT);
	if ((rc = bind_text(st, s, 1, session)) != 0 || (rc = bind_text(st, s, 2, start)) != 0 ||
	    (rc = bind_text(st, s, 3, end)) != 0 || (rc = bind_text(st, s, 4, srcbuf)) != 0 ||
	    (rc = port >= 0 ? bind_int(st, s, 5, port) : bind_text(st, s, 5, NULL)) != 0 ||
	    (rc = bind_text(st, s, 6, proto)) != 0 || (rc = bind_text(st, s, 7, profile)) != 0 ||
	    (rc = bind_text(st, s, 8, c->json)) != 0)
		return rc;
	return step_done(st, s);
}

static int
put_hp_sample(struct toride_store *st, const json_t *ev, const struct ev_common *c)
{
	const char *sha, *first;
	int rc;
	if ((rc = ev_str(st, ev, "sha256", true, 64, &sha)) != 0 ||
	    (rc = ev_time(st, ev, "first_seen", false, &first)) != 0)
		return rc;
	/* Lower-case hex only: the key must not have two spellings of one sample. */
	if (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
		return bad_event(st, "event: \"sha256\" is not 64 lower-case hex digits");
	if (first == NULL)
		first = c->time;
	sqlite3_stmt *s = stmt_get(st, S_HP_SAMPLE_PUT);
	if ((rc = bind_text(st, s, 1, sha)) != 0 || (rc = bind_text(st, s, 2, first)) != 0 ||
	    (rc = bind_text(st, s, 3, c->json)) != 0)
		return rc;
	return step_done(st, s);
}

int
toride_store_put_event(struct toride_store *st, const json_t *event)
{
	struct ev_common c = {0};
	char *json = NULL;
	const char *type;
	bool in_savepoint = false;
	int rc;

	st->errmsg[0] = '\0';
	if (st->readonly) {
		rc = TORIDE_ESTATE;
		goto out;
	}
	if (!json_is_object(event)) {
		rc = bad_event(st, "event: not a JSON object");
		goto out;
	}
	if ((rc = ev_str(st, event, "type", true, TORIDE_STORE_KEY_MAX, &type)) != 0)
		goto out;
	/* Honeypot events belong to no survey (docs/honeypot.md). */
	bool hp = strcmp(type, "hp_session") == 0 || strcmp(type, "hp_sample") == 0;
	if ((!hp && (rc = ev_str(st, event, "survey", true, TORIDE_STORE_KEY_MAX, &c.survey)) != 0) ||
	    (rc = ev_str(st, event, "time", false, TORIDE_STORE_KEY_MAX, &c.time)) != 0 ||
	    (rc = ev_str(st, event, "sensor", false, STORE_TEXT_MAX, &c.sensor)) != 0)
		goto out;
	int (*put)(struct toride_store *, const json_t *, const struct ev_common *) = NULL;
	if (strcmp(type, "hp_session") == 0)
		put = put_hp_session;
	else if (strcmp(type, "hp_sample") == 0)
		put = put_hp_sample;
	else if (strcmp(type, "survey") == 0)
		put = put_survey;
	else if (strcmp(type, "observation") == 0)
		put = put_observation;
	else if (strcmp(type, "finding") == 0)
		put = put_finding;
	else if (strcmp(type, "probe_done") == 0)
		put = put_probe_done;
	else if (strcmp(type, "discovery_checkpoint") == 0)
		put = put_discovery_checkpoint;
	if (put == NULL) {
		snprintf(st->errmsg, sizeof st->errmsg, "event: type \"%.64s\" is not stored", type);
		rc = TORIDE_EUNSUPPORTED;
		goto out;
	}
	json = json_dumps(event, JSON_COMPACT);
	if (json == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	if (strlen(json) > TORIDE_EVENT_LINE_MAX) {
		snprintf(st->errmsg, sizeof st->errmsg, "event: longer than %u bytes", TORIDE_EVENT_LINE_MAX);
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	c.json = json;
	if ((rc = exec_sql(st, "SAVEPOINT put")) != 0)
		goto out;
	in_savepoint = true;
	if ((rc = put(st, event, &c)) != 0)
		goto out;
	rc = exec_sql(st, "RELEASE put");
	if (rc == 0)
		in_savepoint = false;
out:
	if (in_savepoint) {
		/* Undo the partial put; keep the first error's message. */
		sqlite3_exec(st->db, "ROLLBACK TO put; RELEASE put", NULL, NULL, NULL);
	}
	free(json);
	return rc;
}

/* ---- read side ---- */

int
toride_store_probe_is_done(struct toride_store *st, const char *survey, const char *addr, uint16_t port,
			   bool *done)
{
	char canon[INET6_ADDRSTRLEN];
	struct in_addr v4;
	struct in6_addr v6;
	int rc;
	/* Look up the canonical form, as stored. */
	if (inet_pton(AF_INET, addr, &v4) == 1)
		inet_ntop(AF_INET, &v4, canon, sizeof canon);
	else if (inet_pton(AF_INET6, addr, &v6) == 1)
		inet_ntop(AF_INET6, &v6, canon, sizeof canon);
	else
		return TORIDE_EINVAL;
	sqlite3_stmt *s = stmt_get(st, S_PROBE_GET);
	if ((rc = bind_text(st, s, 1, survey)) != 0 || (rc = bind_text(st, s, 2, canon)) != 0 ||
	    (rc = bind_int(st, s, 3, port)) != 0)
		return rc;
	int r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = db_fail(st, r);
	else
		*done = r == SQLITE_ROW;
	sqlite3_reset(s);
	return rc;
}

int
toride_store_discovery_checkpoint(struct toride_store *st, const char *survey, uint64_t *position)
{
	int rc;
	sqlite3_stmt *s = stmt_get(st, S_CHECKPOINT_GET);
	if ((rc = bind_text(st, s, 1, survey)) != 0)
		return rc;
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(s, 0);
		*position = v > 0 ? (uint64_t)v : 0; /* CHECK (position >= 0) holds; be safe anyway */
	} else if (r == SQLITE_DONE) {
		*position = 0;
	} else {
		rc = db_fail(st, r);
	}
	sqlite3_reset(s);
	return rc;
}

int
toride_store_foreach_pending_open(struct toride_store *st, const char *survey,
                                  int (*fn)(const char *addr, uint16_t port, void *arg), void *arg)
{
	int rc, r;
	sqlite3_stmt *s = stmt_get(st, S_PENDING_OPEN);
	if ((rc = bind_text(st, s, 1, survey)) != 0)
		return rc;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(s, 0);
		sqlite3_int64 port = sqlite3_column_int64(s, 1);
		if (addr == NULL) {
			/* NOT NULL column: only a failed allocation gives NULL here. */
			rc = TORIDE_ENOMEM;
			goto out;
		}
		if ((rc = fn(addr, (uint16_t)port, arg)) != 0)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = db_fail(st, r);
out:
	sqlite3_reset(s);
	return rc;
}

/* Parse a JSON text column; NULL column gives json null. */
static json_t *
column_json(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	if (t == NULL)
		return json_null();
	return json_loads(t, JSON_DECODE_ANY, NULL);
}

static json_t *
column_str(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return t != NULL ? json_string(t) : json_null();
}

int
toride_store_survey_params(struct toride_store *st, const char *survey, json_t **params_out)
{
	int rc;
	sqlite3_stmt *s = stmt_get(st, S_PARAMS_GET);
	if ((rc = bind_text(st, s, 1, survey)) != 0)
		return rc;
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		json_t *p = column_json(s, 0);
		if (p == NULL)
			rc = TORIDE_ENOMEM;
		else
			*params_out = p;
	} else if (r == SQLITE_ROW || r == SQLITE_DONE) {
		rc = TORIDE_ENOTFOUND;
	} else {
		rc = db_fail(st, r);
	}
	sqlite3_reset(s);
	return rc;
}

int
toride_store_latest_survey(struct toride_store *st, char **id_out)
{
	int rc = 0;
	sqlite3_stmt *s = stmt_get(st, S_LATEST);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		char *id = strdup((const char *)sqlite3_column_text(s, 0));
		if (id == NULL)
			rc = TORIDE_ENOMEM;
		else
			*id_out = id;
	} else if (r == SQLITE_DONE) {
		rc = TORIDE_ENOTFOUND;
	} else {
		rc = db_fail(st, r);
	}
	sqlite3_reset(s);
	return rc;
}

/* Build a survey_info object from a row of S_INFO / S_LIST. */
static json_t *
survey_row(sqlite3_stmt *s)
{
	static const char *const names[] = {"id", "status", "started", "ended", "sensor"};
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	for (int i = 0; i < 5; i++) {
		if (json_object_set_new(o, names[i], column_str(s, i)) != 0)
			goto fail;
	}
	json_t *params = column_json(s, 5), *counts = column_json(s, 6);
	if (json_object_set_new(o, "params", params ? params : json_null()) != 0 ||
	    json_object_set_new(o, "counts", counts ? counts : json_null()) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int
toride_store_survey_info(struct toride_store *st, const char *survey, json_t **out)
{
	int rc;
	sqlite3_stmt *s = stmt_get(st, S_INFO);
	if ((rc = bind_text(st, s, 1, survey)) != 0)
		return rc;
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		json_t *o = survey_row(s);
		if (o == NULL)
			rc = TORIDE_ENOMEM;
		else
			*out = o;
	} else if (r == SQLITE_DONE) {
		rc = TORIDE_ENOTFOUND;
	} else {
		rc = db_fail(st, r);
	}
	sqlite3_reset(s);
	return rc;
}

int
toride_store_list_surveys(struct toride_store *st, json_t **out)
{
	json_t *arr = json_array();
	int rc = 0, r;
	if (arr == NULL)
		return TORIDE_ENOMEM;
	sqlite3_stmt *s = stmt_get(st, S_LIST);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = survey_row(s);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rc = TORIDE_ENOMEM;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		rc = db_fail(st, r);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	sqlite3_reset(s);
	json_decref(arr);
	return rc;
}

int
toride_store_probe_counts(struct toride_store *st, const char *survey, json_t **out)
{
	static const char *const states[] = {"open", "closed", "timeout", "error"};
	long long n[4] = {0}, total = 0;
	json_t *o = NULL;
	int rc, r;
	sqlite3_stmt *s = stmt_get(st, S_PROBE_COUNTS);
	if ((rc = bind_text(st, s, 1, survey)) != 0)
		return rc;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		long long c = sqlite3_column_int64(s, 1);
		total += c;
		for (int i = 0; i < 4; i++) {
			if (state != NULL && strcmp(state, states[i]) == 0)
				n[i] = c;
		}
	}
	if (r != SQLITE_DONE) {
		rc = db_fail(st, r);
		goto out;
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)total, "open", (json_int_t)n[0],
		      "closed", (json_int_t)n[1], "timeout", (json_int_t)n[2], "error", (json_int_t)n[3]);
	if (o == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	*out = o;
out:
	sqlite3_reset(s);
	return rc;
}

int
toride_store_foreach_finding(struct toride_store *st, const char *survey, const char *verdict,
			     toride_store_finding_cb cb, void *arg)
{
	int rc, r;
	sqlite3_stmt *s = stmt_get(st, verdict != NULL ? S_FINDINGS_VERDICT : S_FINDINGS_ALL);
	if ((rc = bind_text(st, s, 1, survey)) != 0 ||
	    (verdict != NULL && (rc = bind_text(st, s, 2, verdict)) != 0))
		return rc;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *ev = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
		json_t *fp = NULL;
		if (sqlite3_column_type(s, 1) != SQLITE_NULL)
			fp = json_loads((const char *)sqlite3_column_text(s, 1), 0, NULL);
		if (ev == NULL) {
			/* We wrote this JSON ourselves; failing to read it back means no memory. */
			json_decref(fp);
			rc = TORIDE_ENOMEM;
			goto out;
		}
		rc = cb(arg, ev, fp);
		json_decref(ev);
		json_decref(fp);
		if (rc != 0)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = db_fail(st, r);
out:
	sqlite3_reset(s);
	return rc;
}

int
toride_store_count_observations(struct toride_store *st, const char *survey, const char *kind,
				uint64_t *count)
{
	int rc;
	sqlite3_stmt *s = stmt_get(st, kind != NULL ? S_OBS_COUNT_KIND : S_OBS_COUNT);
	if ((rc = bind_text(st, s, 1, survey)) != 0 || (kind != NULL && (rc = bind_text(st, s, 2, kind)) != 0))
		return rc;
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(s, 0);
	else
		rc = db_fail(st, r);
	sqlite3_reset(s);
	return rc;
}

int
toride_store_foreach_hp(struct toride_store *st, const char *table, const char *since,
			int (*cb)(void *arg, json_t *event), void *arg)
{
	enum stmt_id id;
	int rc, r;
	if (table != NULL && strcmp(table, "hp_session") == 0)
		id = since != NULL ? S_HP_SESSIONS_SINCE : S_HP_SESSIONS;
	else if (table != NULL && strcmp(table, "hp_sample") == 0)
		id = since != NULL ? S_HP_SAMPLES_SINCE : S_HP_SAMPLES;
	else
		return TORIDE_EINVAL;
	sqlite3_stmt *s = stmt_get(st, id);
	if (since != NULL && (rc = bind_text(st, s, 1, since)) != 0)
		return rc;
	rc = 0;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *ev = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
		if (ev == NULL) {
			/* We wrote this JSON ourselves; failing to read it back means no memory. */
			rc = TORIDE_ENOMEM;
			goto out;
		}
		rc = cb(arg, ev);
		json_decref(ev);
		if (rc != 0)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = db_fail(st, r);
out:
	sqlite3_reset(s);
	return rc;
}
