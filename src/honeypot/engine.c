/*
 * The sensor (sensor.h): emulated devices on the parent's listening sockets, one recorder per
 * session, per-source caps, records to the collector as frames.
 *
 * Threads: the libuv loop serves telnet/HTTP/MQTT/FTP/RTSP; SSH sessions run on libssh threads
 * (emu/ssh.c). A session's recorder is touched only by the thread serving it; the source table,
 * the counters and the pipe are shared and locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/error.h"
#include "core/permute.h"
#include "core/escape.h"
#include "core/event.h"
#include "emu/serve.h"
#include "honeypot/hp.h"
#include "honeypot/sensor.h"

/* Why 65,536 buckets and 262,144 sources: a source is remembered for its byte window (an hour);
 * a busy sensor on the internet sees ~10^5 sources an hour. Past the cap new sources are refused
 * until the sweep frees entries (~50 bytes each: at most ~13 MiB). */
#define SRC_BUCKETS 65536u
#define SRC_MAX 262144u
/* Why 1 s: how often the stop flag is looked at (100 ms) and counters go to the collector. */
#define STOP_POLL_MS 100
#define STATS_EVERY_MS 1000
/* Why 8 MiB: the pipe to the collector; a burst of ending sessions is absorbed without blocking
 * the loop while the collector commits. */
#define PIPE_SIZE (8 << 20)

struct src_entry {
	struct src_entry *next;
	struct toride_addr addr;
	unsigned live;
	uint64_t bytes, window_start;
};

struct sensor {
	const struct hp_sensor_config *cfg;
	uv_loop_t loop;
	uv_timer_t tick;
	struct emu_serve *serve;
	/* device per (listener, pool profile): devices[l * npool + p] */
	struct emu_device *devices;
	uint64_t stats_due;
	pthread_mutex_t src_mu;
	struct src_entry **src_tab;
	size_t nsrc;
	pthread_mutex_t out_mu;
	struct toride_buf frame;  /* under out_mu */
	bool out_broken;          /* under out_mu */
	atomic_uint_fast64_t sessions, refused, live, ssh_live, records, frames_lost;
};

struct hp_sess {
	struct sensor *sn;
	struct emu_device dev;
	const struct hp_listener *l;
	struct src_entry *src;
	char id[17];
	char src_str[TORIDE_ADDR_STRLEN];
	uint16_t src_port;
	double start;
	uint64_t t0;
	json_t *logins, *commands, *downloads, *files, *execs;
	struct toride_buf tr; /* [u32 t_ms][u8 dir][u32 len][bytes]... */
	bool tr_trunc;
	uint64_t bytes_in, bytes_out;
	const char *limit; /* why the io hook ended it */
};

/* ------------------------------------------------------------------ helpers */

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t
addr_hash(const struct toride_addr *a)
{
	uint64_t h = (uint64_t)a->family;
	for (size_t i = 0; i < sizeof a->b; i++)
		h = toride_splitmix64(h ^ a->b[i]);
	return h;
}

static bool
serves(const struct emu_profile *p, enum emu_proto proto)
{
	for (size_t i = 0; i < p->nservices; i++) {
		const struct emu_service *s = &p->services[i];
		if (s->proto != proto)
			continue;
		if (proto == EMU_SSH && !s->ssh_password && !s->ssh_kbdint)
			continue; /* a key-only device: no bot gets in, nothing to see */
		return true;
	}
	return false;
}

static const struct emu_service *
service_of(const struct emu_profile *p, enum emu_proto proto)
{
	for (size_t i = 0; i < p->nservices; i++)
		if (p->services[i].proto == proto)
			return &p->services[i];
	return NULL;
}

const struct emu_profile *
hp_profile_for(const struct hp_sensor_config *cfg, const struct hp_listener *l, const struct toride_addr *src)
{
	if (l->pin != NULL)
		return serves(l->pin, l->proto) ? l->pin : NULL;
	size_t n = 0;
	for (size_t i = 0; i < cfg->npool; i++)
		n += serves(cfg->pool[i], l->proto);
	if (n == 0)
		return NULL;
	/* Per address: the listener always shows one device. Per connection: a client's source
	 * address picks the device, so a bot that comes back meets the same one. */
	uint64_t key = toride_splitmix64(cfg->seed ^ toride_splitmix64(addr_hash(&l->addr) + l->port));
	if (!cfg->pick_per_address && src != NULL)
		key = toride_splitmix64(key ^ addr_hash(src));
	size_t k = (size_t)(key % n);
	for (size_t i = 0; i < cfg->npool; i++)
		if (serves(cfg->pool[i], l->proto) && k-- == 0)
			return cfg->pool[i];
	return NULL;
}

static const struct emu_device *
device_for(struct sensor *sn, const struct hp_listener *l, const struct toride_addr *src)
{
	const struct emu_profile *p = hp_profile_for(sn->cfg, l, src);
	if (p == NULL)
		return NULL;
	size_t li = (size_t)(l - sn->cfg->listeners);
	if (l->pin != NULL)
		return &sn->devices[li * (sn->cfg->npool + 1) + sn->cfg->npool];
	for (size_t i = 0; i < sn->cfg->npool; i++)
		if (sn->cfg->pool[i] == p)
			return &sn->devices[li * (sn->cfg->npool + 1) + i];
	return NULL;
}

/* ------------------------------------------------------------------ frames to the collector */

static void
send_frame(struct sensor *sn, enum hp_frame_type type, const void *p, size_t n)
{
	pthread_mutex_lock(&sn->out_mu);
	toride_buf_reset(&sn->frame);
	if (sn->out_broken || hp_frame_put(&sn->frame, type, p, n) != 0) {
		atomic_fetch_add(&sn->frames_lost, 1);
		pthread_mutex_unlock(&sn->out_mu);
		return;
	}
	size_t off = 0;
	while (off < sn->frame.len) {
		ssize_t w = write(sn->cfg->out_fd, sn->frame.data + off, sn->frame.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			sn->out_broken = true; /* the collector is gone: keep serving, count the loss */
			atomic_fetch_add(&sn->frames_lost, 1);
			break;
		}
		off += (size_t)w;
	}
	pthread_mutex_unlock(&sn->out_mu);
}

/* ------------------------------------------------------------------ sources */

static struct src_entry **
src_slot(struct sensor *sn, const struct toride_addr *a)
{
	struct src_entry **pp = &sn->src_tab[addr_hash(a) % SRC_BUCKETS];
	while (*pp != NULL && toride_addr_cmp(&(*pp)->addr, a) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Drop sources with no session whose byte window is over. Caller holds src_mu. */
static void
src_sweep(struct sensor *sn, uint64_t now)
{
	for (size_t b = 0; b < SRC_BUCKETS; b++) {
		struct src_entry **pp = &sn->src_tab[b];
		while (*pp != NULL) {
			struct src_entry *e = *pp;
			if (e->live == 0 && now - e->window_start >= HP_SOURCE_WINDOW_MS) {
				*pp = e->next;
				free(e);
				sn->nsrc--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* A new session from a: within the per-source caps? Returns the entry (live counted) or NULL. */
static struct src_entry *
src_enter(struct sensor *sn, const struct toride_addr *a)
{
	const struct hp_sensor_config *cfg = sn->cfg;
	uint64_t now = mono_ms();
	struct src_entry *e = NULL;
	pthread_mutex_lock(&sn->src_mu);
	struct src_entry **pp = src_slot(sn, a);
	if (*pp == NULL) {
		if (sn->nsrc >= SRC_MAX)
			src_sweep(sn, now);
		if (sn->nsrc < SRC_MAX && (e = calloc(1, sizeof *e)) != NULL) {
			e->addr = *a;
			e->window_start = now;
			pp = src_slot(sn, a);
			*pp = e;
			sn->nsrc++;
		}
	} else {
		e = *pp;
	}
	if (e != NULL && now - e->window_start >= HP_SOURCE_WINDOW_MS) {
		e->window_start = now;
		e->bytes = 0;
	}
	if (e != NULL && (e->live >= cfg->per_source_sessions || e->bytes >= cfg->per_source_bytes))
		e = NULL;
	if (e != NULL)
		e->live++;
	pthread_mutex_unlock(&sn->src_mu);
	return e;
}

static void
src_leave(struct sensor *sn, struct src_entry *e)
{
	pthread_mutex_lock(&sn->src_mu);
	e->live--;
	pthread_mutex_unlock(&sn->src_mu);
}

/* Count n bytes from the source; false when its budget is spent. */
static bool
src_bytes(struct sensor *sn, struct src_entry *e, size_t n)
{
	pthread_mutex_lock(&sn->src_mu);
	e->bytes += n;
	bool ok = e->bytes <= sn->cfg->per_source_bytes;
	pthread_mutex_unlock(&sn->src_mu);
	return ok;
}

/* ------------------------------------------------------------------ the recorder */

static uint64_t
sess_t(const struct hp_sess *s)
{
	return mono_ms() - s->t0;
}

static json_t *
lazy(json_t **a)
{
	if (*a == NULL)
		*a = json_array();
	return *a;
}

/* Append an item unless the array is full (a hostile client cannot grow a record forever). */
static void
add_item(json_t **a, json_t *item)
{
	json_t *arr = lazy(a);
	if (arr == NULL || item == NULL || json_array_size(arr) >= HP_RECORD_ITEMS_MAX) {
		json_decref(item);
		return;
	}
	json_array_append_new(arr, item);
}

static json_t *
escaped(const char *s)
{
	char *e = toride_escape_bytes((const uint8_t *)s, strlen(s));
	json_t *j = e != NULL ? json_string(e) : NULL;
	free(e);
	return j;
}

static void
tap(struct hp_sess *s, char dir, const uint8_t *p, size_t n)
{
	if (dir == 'i')
		s->bytes_in += n;
	else
		s->bytes_out += n;
	if (s->tr_trunc)
		return;
	size_t take = n;
	size_t room = HP_TRANSCRIPT_MAX > s->tr.len + 9 ? HP_TRANSCRIPT_MAX - s->tr.len - 9 : 0;
	if (take > room) {
		take = room;
		s->tr_trunc = true;
	}
	if (take == 0)
		return;
	uint32_t t = (uint32_t)sess_t(s), len = (uint32_t)take;
	uint8_t h[9] = {(uint8_t)t, (uint8_t)(t >> 8), (uint8_t)(t >> 16), (uint8_t)(t >> 24), (uint8_t)dir,
	                (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
	if (toride_buf_append(&s->tr, h, sizeof h) != 0 || toride_buf_append(&s->tr, p, take) != 0)
		s->tr_trunc = true;
}

static bool
obs_accept(void *arg, const struct emu_device *d, const char *user, const char *pass)
{
	struct hp_sess *s = arg;
	const struct hp_sensor_config *cfg = s->sn->cfg;
	const struct emu_profile *p = d->profile;
	switch (cfg->accept) {
	case HP_ACCEPT_ANY:
		return true;
	case HP_ACCEPT_PROFILE:
		break;
	case HP_ACCEPT_LISTED:
		if (p->policy != EMU_CRED_KEY_ONLY && strcmp(user, p->user) == 0 && strcmp(pass, p->pass) == 0)
			return true;
		for (size_t i = 0; cfg->listed != NULL && i < cfg->listed->n; i++)
			if (strcmp(cfg->listed->v[i].user, user) == 0 && strcmp(cfg->listed->v[i].pass, pass) == 0)
				return true;
		return false;
	}
	/* The profile's own policy, as in the lab. */
	struct emu_device plain = *d;
	plain.obs = NULL;
	return emu_device_check_login(&plain, user, pass);
}

static void
obs_login(void *arg, const char *user, const char *pass, bool ok)
{
	struct hp_sess *s = arg;
	json_t *u = escaped(user), *pw = escaped(pass);
	if (u == NULL || pw == NULL) {
		json_decref(u);
		json_decref(pw);
		return;
	}
	add_item(&s->logins, json_pack("{s:I, s:o, s:o, s:b}", "t_ms", (json_int_t)sess_t(s), "user", u, "password", pw,
	                               "ok", ok));
}

static void
obs_shell(void *arg, const char *kind, const char *detail)
{
	struct hp_sess *s = arg;
	json_int_t t = (json_int_t)sess_t(s);
	json_t *d = escaped(detail);
	if (d == NULL)
		return;
	if (strcmp(kind, "command") == 0) {
		add_item(&s->commands, json_pack("{s:I, s:o}", "t_ms", t, "line", d));
	} else if (strcmp(kind, "download") == 0) {
		struct hp_url u;
		json_t *o = json_pack("{s:I, s:o}", "t_ms", t, "url", d);
		if (o != NULL && hp_url_parse(detail, &u) == 0) {
			json_t *host = escaped(u.host), *path = escaped(u.path);
			json_object_set_new(o, "scheme", json_string(u.scheme));
			if (host != NULL)
				json_object_set_new(o, "host", host);
			json_object_set_new(o, "port", json_integer(u.port));
			if (path != NULL)
				json_object_set_new(o, "path", path);
		}
		add_item(&s->downloads, o);
	} else if (strcmp(kind, "execute") == 0) {
		add_item(&s->execs, json_pack("{s:I, s:o}", "t_ms", t, "detail", d));
	} else {
		json_decref(d); /* "write": the file itself arrives through obs_file */
	}
}

static void
obs_file(void *arg, const char *path, const uint8_t *data, size_t len)
{
	struct hp_sess *s = arg;
	if (len == 0 || len > HP_FRAME_MAX - 1024)
		return;
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof h + 1];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	json_t *p = escaped(path);
	if (p == NULL)
		return;
	add_item(&s->files, json_pack("{s:I, s:o, s:I, s:s}", "t_ms", (json_int_t)sess_t(s), "path", p, "size",
	                              (json_int_t)len, "sha256", hex));
	/* session id NUL path NUL bytes */
	size_t plen = strlen(path), n = 17 + plen + 1 + len;
	uint8_t *buf = malloc(n);
	if (buf == NULL)
		return;
	memcpy(buf, s->id, 16);
	buf[16] = '\0';
	memcpy(buf + 17, path, plen + 1);
	memcpy(buf + 17 + plen + 1, data, len);
	send_frame(s->sn, HP_FRAME_FILE, buf, n);
	free(buf);
}

static void
obs_io(void *arg, char dir, const uint8_t *p, size_t n)
{
	struct hp_sess *s = arg;
	if (dir == 'i')
		src_bytes(s->sn, s->src, n); /* SSH caps its own session bytes; the budget still counts */
	tap(s, dir, p, n);
}

static const struct emu_observer hp_observer = {
	.accept_login = obs_accept,
	.login = obs_login,
	.shell_event = obs_shell,
	.file = obs_file,
	.io = obs_io,
};

static struct hp_sess *
sess_new(struct sensor *sn, const struct hp_listener *l, const struct sockaddr_storage *peer,
         const struct emu_device *tmpl, struct src_entry *src)
{
	struct hp_sess *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->sn = sn;
	s->l = l;
	s->src = src;
	s->dev = *tmpl;
	s->dev.obs = &hp_observer;
	s->dev.obs_arg = s;
	uint8_t rnd[8];
	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(s->id, sizeof s->id, rnd, sizeof rnd);
	struct toride_addr a;
	if (toride_addr_from_sockaddr((const struct sockaddr *)peer, &a, &s->src_port) == 0)
		toride_addr_format(&a, s->src_str, sizeof s->src_str);
	s->start = toride_time_now();
	s->t0 = mono_ms();
	toride_buf_init(&s->tr, HP_TRANSCRIPT_MAX);
	return s;
}

static json_t *
transcript_json(const struct hp_sess *s)
{
	json_t *a = json_array();
	size_t o = 0;
	while (a != NULL && o + 9 <= s->tr.len) {
		const uint8_t *h = s->tr.data + o;
		uint32_t t = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
		uint32_t len = (uint32_t)h[5] | (uint32_t)h[6] << 8 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 24;
		char dir[2] = {(char)h[4], '\0'};
		o += 9;
		if (len > s->tr.len - o)
			break;
		char *e = toride_escape_bytes(s->tr.data + o, len);
		if (e != NULL)
			json_array_append_new(a, json_pack("[I, s, s]", (json_int_t)t, dir, e));
		free(e);
		o += len;
	}
	return a;
}

static void
set_array(json_t *ev, const char *key, json_t **a)
{
	json_object_set_new(ev, key, *a != NULL ? *a : json_array());
	*a = NULL;
}

/* The session ended: its record goes to the collector and the session is freed. */
static void
sess_end(struct hp_sess *s, const char *why)
{
	struct sensor *sn = s->sn;
	const struct hp_listener *l = s->l;
	json_t *ev = toride_event_new("hp_session", NULL);
	if (ev != NULL) {
		char start[32], end[32];
		double now = toride_time_now();
		toride_time_iso8601(s->start, start);
		toride_time_iso8601(now, end);
		json_object_set_new(ev, "session", json_string(s->id));
		json_object_set_new(ev, "start", json_string(start));
		json_object_set_new(ev, "end", json_string(end));
		json_object_set_new(ev, "duration_ms", json_integer((json_int_t)sess_t(s)));
		json_object_set_new(ev, "src", json_string(s->src_str));
		json_object_set_new(ev, "src_port", json_integer(s->src_port));
		json_object_set_new(ev, "dst", json_string(l->addr_str));
		json_object_set_new(ev, "dst_port", json_integer(l->port));
		json_object_set_new(ev, "proto", json_string(emu_proto_name(l->proto)));
		json_object_set_new(ev, "profile", json_string(s->dev.profile->id));
		json_object_set_new(ev, "hostname", json_string(s->dev.hostname));
		json_object_set_new(ev, "end_reason", json_string(why));
		json_object_set_new(ev, "bytes_in", json_integer((json_int_t)s->bytes_in));
		json_object_set_new(ev, "bytes_out", json_integer((json_int_t)s->bytes_out));
		set_array(ev, "logins", &s->logins);
		set_array(ev, "commands", &s->commands);
		set_array(ev, "downloads", &s->downloads);
		set_array(ev, "files", &s->files);
		set_array(ev, "executions", &s->execs);
		json_object_set_new(ev, "transcript", transcript_json(s));
		json_object_set_new(ev, "transcript_truncated", json_boolean(s->tr_trunc));
		char *txt = json_dumps(ev, JSON_COMPACT);
		if (txt != NULL)
			send_frame(sn, HP_FRAME_SESSION, txt, strlen(txt));
		else
			atomic_fetch_add(&sn->frames_lost, 1);
		free(txt);
		json_decref(ev);
		atomic_fetch_add(&sn->records, 1);
	}
	json_decref(s->logins);
	json_decref(s->commands);
	json_decref(s->downloads);
	json_decref(s->files);
	json_decref(s->execs);
	toride_buf_free(&s->tr);
	src_leave(sn, s->src);
	atomic_fetch_sub(&sn->live, 1);
	free(s);
}

/* ------------------------------------------------------------------ hooks: libuv servers */

static struct hp_sess *
admit(struct sensor *sn, const struct hp_listener *l, const struct sockaddr_storage *peer)
{
	struct toride_addr a;
	uint16_t port;
	if (toride_addr_from_sockaddr((const struct sockaddr *)peer, &a, &port) != 0)
		return NULL;
	const struct emu_device *tmpl = device_for(sn, l, &a);
	if (tmpl == NULL)
		return NULL;
	if (atomic_load(&sn->live) >= sn->cfg->max_sessions)
		return NULL;
	struct src_entry *src = src_enter(sn, &a);
	if (src == NULL)
		return NULL;
	struct hp_sess *s = sess_new(sn, l, peer, tmpl, src);
	if (s == NULL) {
		src_leave(sn, src);
		return NULL;
	}
	atomic_fetch_add(&sn->live, 1);
	atomic_fetch_add(&sn->sessions, 1);
	return s;
}

static bool
uv_open(void *arg, void *lctx, const struct sockaddr_storage *peer, const struct emu_device **dev,
        const struct emu_service **svc, void **sessp)
{
	struct sensor *sn = arg;
	const struct hp_listener *l = lctx;
	struct hp_sess *s = admit(sn, l, peer);
	if (s == NULL) {
		atomic_fetch_add(&sn->refused, 1);
		return false;
	}
	*dev = &s->dev;
	*svc = service_of(s->dev.profile, l->proto);
	*sessp = s;
	return *svc != NULL;
}

static bool
uv_io(void *arg, void *sessp, char dir, const uint8_t *p, size_t n)
{
	struct hp_sess *s = sessp;
	(void)arg;
	tap(s, dir, p, n);
	if (dir == 'i' && !src_bytes(s->sn, s->src, n)) {
		s->limit = "source-bytes";
		return false;
	}
	return true;
}

static void
uv_close_sess(void *arg, void *sessp, enum emu_end why)
{
	struct hp_sess *s = sessp;
	(void)arg;
	const char *reason = why == EMU_END_LIMIT && s->limit != NULL ? s->limit
	                     : why == EMU_END_SERVER                 ? "closed"
	                                                             : emu_end_name(why);
	sess_end(s, reason);
}

/* ------------------------------------------------------------------ hooks: SSH threads */

static bool
ssh_open(void *arg, const struct emu_device *ldev, const struct emu_service *lsvc, const struct sockaddr_storage *peer,
         const struct emu_device **dev, const struct emu_service **svc, void **sessp)
{
	struct sensor *sn = arg;
	/* The listener's device is the template of its listener (obs_arg names it). */
	const struct hp_listener *l = ldev->obs_arg;
	(void)lsvc;
	struct hp_sess *s = admit(sn, l, peer);
	if (s == NULL) {
		atomic_fetch_add(&sn->refused, 1);
		return false;
	}
	*dev = &s->dev;
	*svc = service_of(s->dev.profile, EMU_SSH);
	*sessp = s;
	if (*svc == NULL) {
		sess_end(s, "closed");
		return false;
	}
	atomic_fetch_add(&sn->ssh_live, 1);
	return true;
}

static void
ssh_close(void *arg, void *sessp, bool shutdown)
{
	struct sensor *sn = arg;
	atomic_fetch_sub(&sn->ssh_live, 1);
	sess_end(sessp, shutdown ? "shutdown" : "closed");
}

/* ------------------------------------------------------------------ the loop */

static void
send_stats(struct sensor *sn)
{
	char txt[512];
	struct emu_serve_stats st;
	emu_serve_stats(sn->serve, &st);
	snprintf(txt, sizeof txt,
	         "{\"sensor_pid\":%ld,\"live\":%llu,\"ssh_live\":%llu,\"sessions\":%llu,\"refused\":%llu,"
	         "\"records\":%llu,\"frames_lost\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu}",
	         (long)getpid(), (unsigned long long)atomic_load(&sn->live),
	         (unsigned long long)atomic_load(&sn->ssh_live), (unsigned long long)atomic_load(&sn->sessions),
	         (unsigned long long)(atomic_load(&sn->refused) + st.refused),
	         (unsigned long long)atomic_load(&sn->records), (unsigned long long)atomic_load(&sn->frames_lost),
	         (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
	send_frame(sn, HP_FRAME_STATS, txt, strlen(txt));
}

static void
on_tick(uv_timer_t *t)
{
	struct sensor *sn = t->data;
	if (*sn->cfg->stop) {
		uv_stop(&sn->loop);
		return;
	}
	uint64_t now = uv_now(&sn->loop);
	if (now >= sn->stats_due) {
		sn->stats_due = now + STATS_EVERY_MS;
		send_stats(sn);
		pthread_mutex_lock(&sn->src_mu);
		if (sn->nsrc > SRC_MAX / 2)
			src_sweep(sn, mono_ms());
		pthread_mutex_unlock(&sn->src_mu);
	}
}

static void
close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
hp_sensor_run(const struct hp_sensor_config *cfg)
{
	int r = 0;
	struct sensor *sn = calloc(1, sizeof *sn);
	size_t per = cfg->npool + 1;
	if (sn == NULL)
		return TORIDE_ENOMEM;
	sn->cfg = cfg;
	(void)toride_event_sensor(); /* its lazy initialisation is not for threads racing */
	pthread_mutex_init(&sn->src_mu, NULL);
	pthread_mutex_init(&sn->out_mu, NULL);
	toride_buf_init(&sn->frame, HP_FRAME_MAX + 64);
	sn->src_tab = calloc(SRC_BUCKETS, sizeof *sn->src_tab);
	sn->devices = calloc(cfg->nlisteners * per, sizeof *sn->devices);
	if (sn->src_tab == NULL || sn->devices == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	/* Every device a listener can show: one per pool profile (and its pinned one). The seed
	 * makes host name, MAC, uptime and passwords differ between honeypot instances. */
	for (size_t li = 0; li < cfg->nlisteners; li++) {
		struct hp_listener *l = &cfg->listeners[li];
		for (size_t k = 0; k < per; k++) {
			const struct emu_profile *p = k < cfg->npool ? cfg->pool[k] : l->pin;
			if (p == NULL)
				continue;
			struct emu_device *d = &sn->devices[li * per + k];
			if ((r = emu_device_init(d, p, &l->addr, cfg->seed, li * per + k)) != 0)
				goto out;
			d->obs_arg = l; /* lets the SSH open hook find the listener */
		}
	}
	fcntl(cfg->out_fd, F_SETPIPE_SZ, PIPE_SIZE);
	uv_loop_init(&sn->loop);
	struct emu_serve_config scfg = {
		.max_sessions = cfg->max_sessions,
		.idle_timeout_ms = cfg->idle_ms,
		.session_ms = cfg->session_ms,
		.no_delays = cfg->no_delays,
	};
	struct emu_serve_hooks hooks = {.open = uv_open, .io = uv_io, .close = uv_close_sess, .arg = sn};
	if ((r = emu_serve_new(&sn->serve, &sn->loop, &scfg, &hooks)) != 0)
		goto out_loop;
	for (size_t li = 0; li < cfg->nlisteners; li++) {
		struct hp_listener *l = &cfg->listeners[li];
		if (l->proto == EMU_SSH) {
			const struct emu_device *d = device_for(sn, l, NULL);
			if (cfg->ssh == NULL || d == NULL) {
				r = TORIDE_EINVAL;
				goto out_loop;
			}
			if ((r = emu_ssh_listen_fd(cfg->ssh, d, service_of(d->profile, EMU_SSH), l->fd)) != 0)
				goto out_loop;
		} else if ((r = emu_serve_listen_fd(sn->serve, l->fd, l->proto, l)) != 0) {
			goto out_loop;
		}
		l->fd = -1; /* owned by the server now */
	}
	if (cfg->ssh != NULL) {
		struct emu_ssh_hooks sh = {.open = ssh_open, .close = ssh_close, .arg = sn};
		emu_ssh_set_hooks(cfg->ssh, &sh);
		emu_ssh_set_limits(cfg->ssh, cfg->max_sessions < HP_SSH_MAX_SESSIONS ? cfg->max_sessions
		                                                                       : HP_SSH_MAX_SESSIONS,
		                   cfg->idle_ms);
		emu_ssh_set_no_delays(cfg->ssh, cfg->no_delays);
		if ((r = emu_ssh_start(cfg->ssh)) != 0)
			goto out_loop;
	}
	/* The filter covers the SSH acceptor thread too (TSYNC) and every thread made later. */
	if (cfg->confine != NULL && (r = cfg->confine(cfg->confine_arg)) != 0)
		goto out_loop;
	uv_timer_init(&sn->loop, &sn->tick);
	sn->tick.data = sn;
	uv_timer_start(&sn->tick, on_tick, STOP_POLL_MS, STOP_POLL_MS);
	send_stats(sn);
	uv_run(&sn->loop, UV_RUN_DEFAULT);
out_loop:
	/* Stop: SSH sessions end on their threads (records sent), then the loop's sessions. */
	if (cfg->ssh != NULL)
		emu_ssh_stop(cfg->ssh);
	emu_serve_shutdown(sn->serve);
	uv_walk(&sn->loop, close_any, NULL);
	uv_run(&sn->loop, UV_RUN_DEFAULT);
	if (sn->serve != NULL)
		send_stats(sn);
	emu_serve_free(sn->serve);
	uv_loop_close(&sn->loop);
out:
	if (sn->src_tab != NULL) {
		for (size_t b = 0; b < SRC_BUCKETS; b++)
			while (sn->src_tab[b] != NULL) {
				struct src_entry *e = sn->src_tab[b];
				sn->src_tab[b] = e->next;
				free(e);
			}
	}
	free(sn->src_tab);
	free(sn->devices);
	toride_buf_free(&sn->frame);
	pthread_mutex_destroy(&sn->src_mu);
	pthread_mutex_destroy(&sn->out_mu);
	free(sn);
	return r;
}
