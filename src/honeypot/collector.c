/*
 * The collector (collector.h): the honeypot's parent process after the fork. It trusts nothing
 * the sensor sends: frames are length-checked (ipc.c), every record is parsed again with the
 * bounded event parser and checked before it reaches the database.
 */
#include "honeypot/collector.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/escape.h"
#include "core/event.h"
#include "store/store.h"

/* Why 256: a file frame arrives before the record of its session (the shell hands files over
 * as they run or when it ends); the families found in a session's files wait here for the
 * record. Sessions that end at the same time are far fewer. */
#define FILE_MEMO 256
/* Why 64 and 4,096: URLs waiting to be fetched (a burst of bots announces the same few); URLs
 * fetched recently are not fetched again. */
#define FETCH_QUEUE 64
#define FETCH_SEEN 4096
#define READ_CHUNK 65536

struct memo {
	char session[17];
	json_t *families, *rules;
};

struct collector {
	const struct hp_collector_config *cfg;
	struct hp_collector_stats *st;
	pthread_mutex_t sink_mu; /* the sink and the samples dir: main thread and fetcher */
	struct memo memo[FILE_MEMO];
	size_t memo_next;
	/* fetcher */
	pthread_t fetcher;
	bool fetcher_on;
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;
	struct {
		char *url, *session;
	} q[FETCH_QUEUE];
	size_t q_head, q_len;
	bool q_done;
	uint64_t seen[FETCH_SEEN];
	size_t seen_next;
};

static void
clog_(const struct collector *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
clog_(const struct collector *c, const char *fmt, ...)
{
	if (c->cfg->log == NULL)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	c->cfg->log(line, c->cfg->log_arg);
}

static bool
is_session_id(const char *s)
{
	if (s == NULL || strlen(s) != 16)
		return false;
	for (size_t i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void
merge_strings(json_t *dst, const json_t *src)
{
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v) {
		bool have = false;
		size_t k;
		json_t *w;
		json_array_foreach(dst, k, w) have = have || json_equal(v, w);
		if (!have)
			json_array_append(dst, v);
	}
}

static void
emit(struct collector *c, json_t *ev)
{
	pthread_mutex_lock(&c->sink_mu);
	if (toride_sink_emit(c->cfg->sink, ev) != 0)
		c->st->write_errors++;
	pthread_mutex_unlock(&c->sink_mu);
}

/* A sample (uploaded through the shell or fetched): stored by hash, classified, announced once. */
static void
take_sample(struct collector *c, const uint8_t *p, size_t n, const char *origin, const char *url,
            const char *session, json_t *families, json_t *rules)
{
	struct hp_sample_info info;
	bool is_new = true;
	memset(&info, 0, sizeof info);
	if (c->cfg->yara != NULL && hp_yara_scan(c->cfg->yara, p, n, false, rules, families) != 0)
		c->st->classify_errors++;
	pthread_mutex_lock(&c->sink_mu);
	int r = c->cfg->samples != NULL ? hp_samples_put(c->cfg->samples, p, n, &info, &is_new) : TORIDE_ENOTFOUND;
	pthread_mutex_unlock(&c->sink_mu);
	if (r != 0) {
		if (r != TORIDE_ENOTFOUND)
			c->st->write_errors++;
		return; /* no samples directory: the record keeps the hash */
	}
	if (!is_new)
		return;
	c->st->samples++;
	json_t *ev = toride_event_new("hp_sample", NULL);
	if (ev == NULL)
		return;
	char now[32];
	toride_time_iso8601(toride_time_now(), now);
	json_object_set_new(ev, "sha256", json_string(info.sha256));
	json_object_set_new(ev, "sha1", json_string(info.sha1));
	json_object_set_new(ev, "md5", json_string(info.md5));
	json_object_set_new(ev, "size", json_integer((json_int_t)info.size));
	json_object_set_new(ev, "first_seen", json_string(now));
	json_object_set_new(ev, "origin", json_string(origin));
	if (url != NULL)
		json_object_set_new(ev, "url", json_string(url));
	json_object_set_new(ev, "session", json_string(session));
	json_object_set_new(ev, "arch", json_string(info.arch));
	json_object_set_new(ev, "families", json_deep_copy(families));
	json_object_set_new(ev, "rules", json_deep_copy(rules));
	json_object_set_new(ev, "path", json_string(info.path));
	emit(c, ev);
	json_decref(ev);
}

/* ------------------------------------------------------------------ fetching samples */

static uint64_t
url_key(const char *url)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = url; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

static void
fetch_enqueue(struct collector *c, const char *url, const char *session)
{
	uint64_t k = url_key(url);
	pthread_mutex_lock(&c->q_mu);
	bool seen = false;
	for (size_t i = 0; i < FETCH_SEEN && !seen; i++)
		seen = c->seen[i] == k;
	if (!seen && c->q_len < FETCH_QUEUE) {
		size_t at = (c->q_head + c->q_len) % FETCH_QUEUE;
		c->q[at].url = strdup(url);
		c->q[at].session = strdup(session);
		if (c->q[at].url != NULL && c->q[at].session != NULL) {
			c->q_len++;
			c->seen[c->seen_next++ % FETCH_SEEN] = k;
			pthread_cond_signal(&c->q_cv);
		} else {
			free(c->q[at].url);
			free(c->q[at].session);
		}
	} else if (!seen) {
		c->st->fetch_skipped++;
	}
	pthread_mutex_unlock(&c->q_mu);
}

static void *
fetcher_main(void *arg)
{
	struct collector *c = arg;
	struct toride_buf body;
	toride_buf_init(&body, c->cfg->fetch.max_bytes + 1);
	for (;;) {
		pthread_mutex_lock(&c->q_mu);
		while (c->q_len == 0 && !c->q_done)
			pthread_cond_wait(&c->q_cv, &c->q_mu);
		if (c->q_len == 0) {
			pthread_mutex_unlock(&c->q_mu);
			break;
		}
		char *url = c->q[c->q_head].url, *session = c->q[c->q_head].session;
		c->q_head = (c->q_head + 1) % FETCH_QUEUE;
		c->q_len--;
		pthread_mutex_unlock(&c->q_mu);
		/* The record holds URLs escaped; what the bot typed is the unescaped text. */
		char raw[HP_URL_PATH_MAX + HP_URL_HOST_MAX + 64];
		long rl = toride_unescape_bytes(url, (uint8_t *)raw, sizeof raw - 1);
		char err[256] = "";
		toride_buf_reset(&body);
		int r = rl < 0 ? TORIDE_EPARSE : 0;
		if (r == 0) {
			raw[rl] = '\0';
			r = hp_fetch_url(&c->cfg->fetch, raw, &body, err, sizeof err);
		}
		if (r == 0) {
			c->st->fetched++;
			json_t *fam = json_array(), *rules = json_array();
			if (fam != NULL && rules != NULL)
				take_sample(c, body.data, body.len, "fetch", url, session, fam, rules);
			json_decref(fam);
			json_decref(rules);
			clog_(c, "fetched %s (%zu bytes)", url, body.len);
		} else {
			c->st->fetch_failed++;
			clog_(c, "not fetched %s: %s%s%s", url, toride_strerror(r), err[0] ? ": " : "", err);
		}
		free(url);
		free(session);
	}
	toride_buf_free(&body);
	return NULL;
}

/* ------------------------------------------------------------------ frames */

static struct memo *
memo_find(struct collector *c, const char *session)
{
	for (size_t i = 0; i < FILE_MEMO; i++)
		if (c->memo[i].families != NULL && strcmp(c->memo[i].session, session) == 0)
			return &c->memo[i];
	return NULL;
}

static int
on_file(struct collector *c, const uint8_t *p, size_t n)
{
	const char *session, *path;
	const uint8_t *data;
	size_t len;
	if (hp_file_frame_parse(p, n, &session, &path, &data, &len) != 0 || len == 0) {
		c->st->bad_frames++;
		return 0;
	}
	struct memo *m = memo_find(c, session);
	if (m == NULL) {
		m = &c->memo[c->memo_next++ % FILE_MEMO];
		json_decref(m->families);
		json_decref(m->rules);
		snprintf(m->session, sizeof m->session, "%s", session);
		m->families = json_array();
		m->rules = json_array();
		if (m->families == NULL || m->rules == NULL)
			return TORIDE_ENOMEM;
	}
	take_sample(c, data, len, "upload", NULL, session, m->families, m->rules);
	return 0;
}

/* What the client typed, unescaped, for the session rules (capped as the transcript is). */
static int
typed_text(const json_t *transcript, struct toride_buf *out)
{
	size_t i;
	json_t *e;
	uint8_t tmp[4096];
	json_array_foreach(transcript, i, e) {
		const char *dir = json_string_value(json_array_get(e, 1));
		const char *txt = json_string_value(json_array_get(e, 2));
		if (dir == NULL || txt == NULL || strcmp(dir, "i") != 0)
			continue;
		/* Chunks are at most what one read returns (4 KiB) unless the sensor lies. */
		long n = toride_unescape_bytes(txt, tmp, sizeof tmp);
		if (n > 0 && toride_buf_append(out, tmp, (size_t)n) != 0)
			break;
	}
	return 0;
}

static int
on_session(struct collector *c, const uint8_t *p, size_t n)
{
	json_t *ev = NULL;
	if (toride_event_parse_line((const char *)p, n, &ev) != 0) {
		c->st->bad_frames++;
		return 0;
	}
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *session = json_string_value(json_object_get(ev, "session"));
	if (type == NULL || strcmp(type, "hp_session") != 0 || !is_session_id(session) ||
	    !json_is_string(json_object_get(ev, "src")) || !json_is_array(json_object_get(ev, "transcript"))) {
		c->st->bad_frames++;
		json_decref(ev);
		return 0;
	}
	json_t *fam = json_array(), *rules = json_array();
	if (fam == NULL || rules == NULL) {
		json_decref(fam);
		json_decref(rules);
		json_decref(ev);
		return TORIDE_ENOMEM;
	}
	if (c->cfg->yara != NULL) {
		struct toride_buf typed;
		toride_buf_init(&typed, HP_TRANSCRIPT_MAX);
		typed_text(json_object_get(ev, "transcript"), &typed);
		if (typed.len > 0 && hp_yara_scan(c->cfg->yara, typed.data, typed.len, true, rules, fam) != 0)
			c->st->classify_errors++;
		toride_buf_free(&typed);
	}
	struct memo *m = memo_find(c, session);
	if (m != NULL) {
		merge_strings(fam, m->families);
		merge_strings(rules, m->rules);
	}
	json_object_set_new(ev, "families", fam);
	json_object_set_new(ev, "rules", rules);
	emit(c, ev);
	c->st->sessions++;
	if (c->fetcher_on) {
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(ev, "downloads"), i, d) {
			const char *url = json_string_value(json_object_get(d, "url"));
			if (url != NULL)
				fetch_enqueue(c, url, session);
		}
	}
	json_decref(ev);
	return 0;
}

/* The counters file is rewritten in place (it was opened before the collector gave up root, and
 * it may live in a directory that user cannot write); a reader that races a rewrite retries. */
static void
write_stats(struct collector *c, const uint8_t *p, size_t n)
{
	if (c->cfg->stats_fd < 0)
		return;
	json_t *st = json_loadb((const char *)p, n, 0, NULL);
	if (!json_is_object(st)) {
		json_decref(st);
		c->st->bad_frames++;
		return;
	}
	json_object_set_new(st, "collector_pid", json_integer((json_int_t)getpid()));
	json_object_set_new(st, "records_stored", json_integer((json_int_t)c->st->sessions));
	json_object_set_new(st, "samples", json_integer((json_int_t)c->st->samples));
	char *txt = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (txt == NULL)
		return;
	size_t len = strlen(txt);
	txt[len] = '\n';
	if (pwrite(c->cfg->stats_fd, txt, len + 1, 0) != (ssize_t)(len + 1) ||
	    ftruncate(c->cfg->stats_fd, (off_t)(len + 1)) != 0)
		c->st->write_errors++;
	free(txt);
}

static int
on_frame(void *arg, enum hp_frame_type type, const uint8_t *p, size_t n)
{
	struct collector *c = arg;
	switch (type) {
	case HP_FRAME_SESSION: return on_session(c, p, n);
	case HP_FRAME_FILE: return on_file(c, p, n);
	case HP_FRAME_STATS:
		c->st->stats_frames++;
		write_stats(c, p, n);
		return 0;
	}
	return TORIDE_EPARSE;
}

int
hp_collector_run(const struct hp_collector_config *cfg, struct hp_collector_stats *st)
{
	struct collector *c = calloc(1, sizeof *c);
	struct hp_frame_reader rd;
	uint8_t *buf = malloc(READ_CHUNK);
	int r = 0;
	bool asked = false;
	memset(st, 0, sizeof *st);
	if (c == NULL || buf == NULL) {
		free(c);
		free(buf);
		return TORIDE_ENOMEM;
	}
	c->cfg = cfg;
	c->st = st;
	pthread_mutex_init(&c->sink_mu, NULL);
	pthread_mutex_init(&c->q_mu, NULL);
	pthread_cond_init(&c->q_cv, NULL);
	hp_frame_reader_init(&rd);
	if (cfg->fetch_samples && cfg->samples != NULL)
		c->fetcher_on = pthread_create(&c->fetcher, NULL, fetcher_main, c) == 0;
	for (;;) {
		if (cfg->stop != NULL && *cfg->stop && !asked) {
			asked = true; /* the sensor ends its sessions, sends their records and exits */
			kill(cfg->sensor_pid, SIGTERM);
		}
		ssize_t n = read(cfg->in_fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the sensor is gone */
		/* One transaction per read: a burst of records is one commit, not hundreds. */
		struct toride_store *store = toride_sink_store(cfg->sink);
		pthread_mutex_lock(&c->sink_mu);
		if (store != NULL)
			toride_store_begin(store);
		pthread_mutex_unlock(&c->sink_mu);
		int e = hp_frame_feed(&rd, buf, (size_t)n, on_frame, c);
		pthread_mutex_lock(&c->sink_mu);
		if (store != NULL && toride_store_commit(store) != 0)
			st->write_errors++;
		pthread_mutex_unlock(&c->sink_mu);
		if (e == TORIDE_EPARSE) {
			/* A sensor that breaks the framing is not trusted further. */
			clog_(c, "the sensor sent a malformed frame: stopping it");
			st->bad_frames++;
			kill(cfg->sensor_pid, SIGKILL);
			r = TORIDE_EPROTO;
			break;
		}
		if (e != 0) {
			r = e;
			kill(cfg->sensor_pid, SIGTERM);
			break;
		}
	}
	if (c->fetcher_on) {
		pthread_mutex_lock(&c->q_mu);
		c->q_done = true;
		pthread_cond_signal(&c->q_cv);
		pthread_mutex_unlock(&c->q_mu);
		pthread_join(c->fetcher, NULL);
	}
	for (size_t i = 0; i < FILE_MEMO; i++) {
		json_decref(c->memo[i].families);
		json_decref(c->memo[i].rules);
	}
	hp_frame_reader_free(&rd);
	pthread_mutex_destroy(&c->sink_mu);
	pthread_mutex_destroy(&c->q_mu);
	pthread_cond_destroy(&c->q_cv);
	free(buf);
	free(c);
	return r;
}
