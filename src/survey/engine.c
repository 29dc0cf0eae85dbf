/*
 * The survey engine: probe order -> rate limiter -> non-blocking connects -> identification ->
 * checks, all on one libuv loop. See engine.h for the objects and docs/survey.md for the flow.
 */
#include "survey/engine.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/escape.h"
#include "core/event.h"
#include "core/order.h"
#include "proto/auth.h"
#include "store/store.h"
#include "survey/fingerprint.h"
#include "survey/syn.h"

/* Why 4096 buckets: a survey keeps hosts only while they have open services in flight, which
 * max_concurrency bounds; chains stay short for tens of thousands of live hosts. */
#define HOST_BUCKETS 4096
/* Why 10 ms: fine enough that --rate spreads connects evenly, coarse enough to cost nothing. */
#define RATE_TICK_MS 10
/* Why: a rate-limiter burst larger than this would defeat --rate after a pause. */
#define RATE_MAX_BURST 1000.0
/* SYN path: hits taken out of the discovery queue per pop; each is handled at once (the
 * checkpoint counts a popped hit as handed over). */
#define SYN_POP_BATCH 256
/* SYN path, resume: most discovered-but-unchecked pairs re-queued from the store; more than this
 * means the previous run stopped with a huge backlog, and the rest wait for the next resume. */
#define SYN_RESUME_MAX (4u * 1024u * 1024u)

const uint16_t toride_survey_default_ports[] = {23, 2323, 22, 80, 8080, 554, 1883, 21};
const size_t toride_survey_default_nports = sizeof toride_survey_default_ports / sizeof toride_survey_default_ports[0];

struct survey {
	const struct toride_survey_config *cfg;
	struct toride_survey_stats *stats;
	uv_loop_t loop;
	uv_timer_t tick;
	uv_timer_t progress_timer;
	struct toride_order *order;
	bool order_done;
	double tokens;
	double started;
	uint64_t in_flight; /* live conversations (all kinds) */
	uint64_t live_services;
	uint64_t done_pairs;
	struct host *hosts[HOST_BUCKETS];
	struct live_node live;     /* list head of live connections */
	int result;
	bool stopping;
	bool ended;                /* handles closed: the loop is winding down */
	double order_done_at;      /* connect path: when the last connect was started */
	uint64_t connect_replies;  /* connect path: connects answered (accepted or refused) */
	/* progress: send rate over the last interval */
	uint64_t last_sent;
	double last_sent_at, send_rate;
	/* SYN path (docs/survey-scale.md) */
	bool syn_path;
	struct syn_disc *syn;
	uv_async_t syn_async;
	bool syn_async_init;
	struct syn_hit *pending;   /* resume: open pairs with no probe_done, checked first */
	size_t npending, pending_next, pending_cap;
	uint64_t syn_start, checkpoint_emitted;
	struct syn_stats syn_final; /* counters once discovery is freed */
};

static double
now_seconds(void)
{
	return toride_time_now();
}

const char *
proto_name(enum proto p)
{
	switch (p) {
	case PROTO_TELNET: return "telnet";
	case PROTO_SSH: return "ssh";
	case PROTO_HTTP: return "http";
	case PROTO_RTSP: return "rtsp";
	case PROTO_MQTT: return "mqtt";
	case PROTO_FTP: return "ftp";
	case PROTO_UNKNOWN: break;
	}
	return "unknown";
}

void
random_hex(char *out, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < nhex; i++)
		out[i] = hex[randombytes_uniform(16)];
	out[nhex] = '\0';
}

struct survey *
conv_survey(struct conv *c)
{
	return c->survey;
}

const struct toride_survey_config *
survey_config(struct survey *s)
{
	return s->cfg;
}

uv_loop_t *
survey_loop(struct survey *s)
{
	return &s->loop;
}

static struct survey *
svc_survey(struct service *svc)
{
	return svc->host->survey;
}

/* ------------------------------------------------------------------ events */

static void
emit(struct survey *s, json_t *ev)
{
	if (ev == NULL) {
		s->result = TORIDE_ENOMEM;
		return;
	}
	int r = toride_sink_emit(s->cfg->sink, ev);
	if (r != 0 && s->result == 0)
		s->result = r;
	json_decref(ev);
}

static json_t *
svc_event(struct service *svc, const char *type)
{
	struct survey *s = svc_survey(svc);
	json_t *ev = toride_event_new(type, s->cfg->survey_id);
	if (ev == NULL)
		return NULL;
	json_object_set_new(ev, "addr", json_string(svc->host->addr_str));
	json_object_set_new(ev, "port", json_integer(svc->port));
	json_object_set_new(ev, "proto", svc->proto == PROTO_UNKNOWN ? json_null() : json_string(proto_name(svc->proto)));
	return ev;
}

void
svc_observe(struct service *svc, const char *kind, void *json_data)
{
	json_t *ev = svc_event(svc, "observation");
	if (ev != NULL) {
		json_object_set_new(ev, "kind", json_string(kind));
		json_object_set_new(ev, "data", json_data ? (json_t *)json_data : json_object());
	} else if (json_data != NULL) {
		json_decref((json_t *)json_data);
	}
	emit(svc_survey(svc), ev);
}

void
svc_login_attempt(struct service *svc, const struct toride_cred *cred, const char *result, const char *detail)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "user", cred->user, "password", cred->pass, "result", result,
	                      "detail", detail ? detail : "");
	svc_observe(svc, "login_attempt", d);
}

void
svc_finding(struct service *svc, const char *requirement, enum verdict v, const char *proof, const char *summary,
            const struct toride_cred *cred, struct conv *evidence, const char *marker, const char *note)
{
	struct survey *s = svc_survey(svc);
	json_t *ev = svc_event(svc, "finding");
	if (ev == NULL) {
		s->result = TORIDE_ENOMEM;
		return;
	}
	const char *vs = v == VERDICT_FAIL ? "fail" : v == VERDICT_PASS ? "pass" : "unknown";
	json_object_set_new(ev, "requirement", json_string(requirement));
	json_object_set_new(ev, "verdict", json_string(vs));
	json_object_set_new(ev, "proof", json_string(proof ? proof : "none"));
	json_object_set_new(ev, "summary", json_string(summary ? summary : ""));
	if (cred != NULL)
		json_object_set_new(ev, "credential", json_pack("{s:s, s:s}", "user", cred->user, "password", cred->pass));
	json_object_set_new(ev, "device", json_pack("{s:s, s:s, s:s}", "vendor", svc->fp_vendor, "product",
	                                            svc->fp_product, "type", svc->fp_type));
	json_t *evd = json_object();
	if (evidence != NULL) {
		char *t = toride_escape_bytes(evidence->transcript.data, evidence->transcript.len);
		char started[32], ended[32];
		toride_time_iso8601(evidence->started, started);
		toride_time_iso8601(now_seconds(), ended);
		json_object_set_new(evd, "transcript", json_string(t ? t : ""));
		json_object_set_new(evd, "started", json_string(started));
		json_object_set_new(evd, "ended", json_string(ended));
		free(t);
	}
	if (marker != NULL)
		json_object_set_new(evd, "marker", json_string(marker));
	if (note != NULL)
		json_object_set_new(evd, "note", json_string(note));
	if (svc->banner[0] != '\0')
		json_object_set_new(evd, "banner", json_string(svc->banner));
	json_object_set_new(ev, "evidence", evd);
	emit(s, ev);
	if (v == VERDICT_FAIL)
		s->stats->findings_fail++;
	else if (v == VERDICT_PASS)
		s->stats->findings_pass++;
	else
		s->stats->findings_unknown++;
}

void
svc_fingerprint(struct service *svc, int fp_kind, const char *text, size_t len)
{
	struct survey *s = svc_survey(svc);
	if (s->cfg->fpdb == NULL || svc->fp_vendor[0] != '\0' || len == 0)
		return;
	struct toride_fp_match m;
	if (toride_fpdb_match(s->cfg->fpdb, (enum toride_fp_kind)fp_kind, text, len, &m) != 0)
		return;
	snprintf(svc->fp_vendor, sizeof svc->fp_vendor, "%s", m.vendor);
	snprintf(svc->fp_product, sizeof svc->fp_product, "%s", m.product);
	snprintf(svc->fp_type, sizeof svc->fp_type, "%s", m.type);
	svc_observe(svc, "fingerprint",
	            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "vendor", m.vendor, "product", m.product, "type",
	                      m.type, "version", m.version, "description", m.description, "source",
	                      m.source ? m.source : ""));
}

void
svc_detail(struct service *svc, const char *key, void *json_value)
{
	json_t *v = json_value;
	if (svc->service_data == NULL)
		svc->service_data = json_object();
	if (svc->service_data == NULL || v == NULL) {
		json_decref(v);
		return;
	}
	json_object_set_new(svc->service_data, key, v);
	/* The store keys "service" observations by (address, port, protocol): each update replaces
	 * the row, so the database holds the latest, complete picture. */
	svc_observe(svc, "service", json_deep_copy(svc->service_data));
}

void
svc_identified(struct service *svc, enum proto p, const char *banner_text, size_t banner_len)
{
	svc->proto = p;
	if (banner_text != NULL && banner_len > 0) {
		char *e = toride_escape_bytes((const uint8_t *)banner_text, banner_len > 400 ? 400 : banner_len);
		if (e != NULL) {
			snprintf(svc->banner, sizeof svc->banner, "%s", e);
			free(e);
		}
	}
	svc_detail(svc, "banner", json_string(svc->banner));
}

static void service_continue(struct service *svc);

/* ------------------------------------------------------------------ hosts */

static unsigned
host_hash(const struct toride_addr *a)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h % HOST_BUCKETS;
}

static struct host *
host_get(struct survey *s, const struct toride_addr *a)
{
	unsigned b = host_hash(a);
	for (struct host *h = s->hosts[b]; h != NULL; h = h->hnext)
		if (toride_addr_cmp(&h->addr, a) == 0)
			return h;
	struct host *h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	h->addr = *a;
	toride_addr_format(a, h->addr_str, sizeof h->addr_str);
	h->survey = s;
	h->hnext = s->hosts[b];
	s->hosts[b] = h;
	return h;
}

static void
host_pace_cb(uv_timer_t *t);

static void
host_free_cb(uv_handle_t *handle)
{
	free(handle->data);
}

static void
host_put(struct survey *s, struct host *h)
{
	if (h->refs > 0 || h->pace_armed)
		return;
	unsigned b = host_hash(&h->addr);
	for (struct host **pp = &s->hosts[b]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == h) {
			*pp = h->hnext;
			break;
		}
	}
	if (h->pace_init) {
		/* The timer must be closed before the host memory goes. */
		h->pace_init = false;
		h->dead = true;
		uv_close((uv_handle_t *)&h->pace, host_free_cb);
		return;
	}
	free(h);
}

/* ------------------------------------------------------------------ conversations */

static void
live_add(struct survey *s, struct live_node *n)
{
	n->next = s->live.next;
	n->prev = &s->live;
	s->live.next->prev = n;
	s->live.next = n;
}

static void
live_del(struct live_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static void
conv_abort(struct live_node *n)
{
	conv_close((struct conv *)n);
}

static void conv_free_cb(uv_handle_t *handle);

static void
conv_timer_cb(uv_timer_t *t)
{
	struct conv *c = t->data;
	if (c->closing)
		return;
	if (!c->connected) {
		/* connect timed out: closing cancels the connect request */
		c->timed_out = true;
		conv_close(c);
		return;
	}
	c->ops->on_timeout(c);
}

void
conv_set_timeout(struct conv *c, unsigned ms)
{
	if (c->closing)
		return;
	uv_timer_start(&c->timer, conv_timer_cb, ms, 0);
}

static void
transcript_add(struct conv *c, const char *dir, const void *p, size_t n)
{
	/* Record direction changes as "\n> " / "\n< " markers; bytes beyond the cap are dropped and
	 * the transcript says so once. */
	if (c->last_dir != dir[0]) {
		toride_buf_append_str(&c->transcript, c->transcript.len ? "\n" : "");
		toride_buf_append_str(&c->transcript, dir);
		c->last_dir = dir[0];
	}
	if (toride_buf_append(&c->transcript, p, n) == TORIDE_ETOOBIG && !c->transcript_full) {
		c->transcript_full = true;
		size_t room = c->transcript.max - c->transcript.len;
		toride_buf_append(&c->transcript, p, n < room ? n : room);
	}
}

static void
write_cb(uv_write_t *req, int status)
{
	free(req->data);
	free(req);
}

void
conv_write(struct conv *c, const void *p, size_t n)
{
	if (c->closing || n == 0)
		return;
	transcript_add(c, "> ", p, n);
	uv_write_t *req = malloc(sizeof *req);
	char *copy = malloc(n);
	if (req == NULL || copy == NULL) {
		free(req);
		free(copy);
		conv_close(c);
		return;
	}
	memcpy(copy, p, n);
	req->data = copy;
	uv_buf_t b = uv_buf_init(copy, (unsigned)n);
	if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
		free(copy);
		free(req);
		conv_close(c);
	}
}

void
conv_close(struct conv *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conv_free_cb);
	uv_close((uv_handle_t *)&c->tcp, conv_free_cb);
}

void
conv_switch(struct conv *c, const struct conv_ops *ops, void *mod)
{
	c->ops = ops;
	c->mod = mod;
}

static void
alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	/* One buffer per loop thread (see CONV_READ_BUF): a survey runs its loop on one thread. */
	static _Thread_local uint8_t rbuf[CONV_READ_BUF];
	buf->base = (char *)rbuf;
	buf->len = sizeof rbuf;
}

static void
read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conv *c = stream->data;
	if (c->closing)
		return;
	if (nread > 0) {
		transcript_add(c, "< ", buf->base, (size_t)nread);
		c->ops->on_data(c, (const uint8_t *)buf->base, (size_t)nread);
		return;
	}
	if (nread < 0) {
		uv_read_stop(stream);
		c->eof = true;
		c->ops->on_eof(c);
	}
}

static void probe_finished(struct survey *s, struct service *svc, const struct toride_addr *a, uint16_t port,
                           const char *state);
static void emit_open(struct survey *s, const struct toride_addr *a, uint16_t port);
static struct service *service_new(struct survey *s, const struct toride_addr *a, uint16_t port);
static int conv_connect(struct conv *c);

static void
connect_cb(uv_connect_t *req, int status)
{
	struct conv *c = req->data;
	struct survey *s = c->survey;
	if (c->closing)
		return; /* timed out and closed meanwhile */
	if (status != 0) {
		c->connect_status = status;
		if (c->svc == NULL && status == UV_ECONNREFUSED)
			s->connect_replies++;
		conv_close(c);
		return;
	}
	c->connected = true;
	if (c->svc == NULL)
		s->connect_replies++;
	else if (c->svc->probe_state < 0)
		c->svc->probe_state = 0; /* SYN hit: the check's connect succeeded too */
	uv_timer_stop(&c->timer);
	if (c->svc == NULL && s->cfg->discover_only) {
		/* --discover-only: the port is open, and that is all we wanted to know. */
		s->stats->open++;
		emit_open(s, &c->target, c->port);
		probe_finished(s, NULL, &c->target, c->port, "open");
		conv_close(c);
		return;
	}
	if (c->svc == NULL) {
		/* A discovery probe: the port is open; a service is born. */
		struct service *svc = service_new(s, &c->target, c->port);
		if (svc == NULL) {
			s->result = TORIDE_ENOMEM;
			conv_close(c);
			return;
		}
		c->svc = svc;
		svc->convs++;
		svc->live_convs++;
		s->stats->open++;
		svc_observe(svc, "open", NULL);
	}
	c->started = now_seconds();
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
	c->ops->on_connect(c);
}

static int
conv_connect(struct conv *c)
{
	struct survey *s = c->survey;
	struct sockaddr_storage ss;
	socklen_t sl;
	int r = toride_addr_to_sockaddr(&c->target, c->port, &ss, &sl);
	if (r != 0)
		return r;
	/* Safety net: nothing leaves the engine for an address outside the finalized scope. */
	if (!toride_scope_contains(s->cfg->scope, &c->target))
		return TORIDE_ESCOPE;
	uv_tcp_init(&s->loop, &c->tcp);
	uv_timer_init(&s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->open_handles = 2;
	c->connect_req.data = c;
	c->tries++;
	s->in_flight++;
	if (s->in_flight > s->stats->peak_in_flight)
		s->stats->peak_in_flight = s->in_flight;
	c->live.abort = conv_abort;
	live_add(s, &c->live);
	uv_tcp_nodelay(&c->tcp, 1);
	int cr = uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&ss, connect_cb);
	if (cr != 0) {
		/* Failed before a packet left (no descriptor, no local port, no memory): the target said
		 * nothing, so this must never read as "closed" (conv_free_cb). */
		c->connect_status = cr;
		c->local_failure = true;
		conv_close(c);
		return 0;
	}
	uv_timer_start(&c->timer, conv_timer_cb, s->cfg->connect_timeout_ms, 0);
	return 0;
}

static struct conv *
conv_new(struct survey *s, const struct toride_addr *a, uint16_t port)
{
	struct conv *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->survey = s;
	c->target = *a;
	c->port = port;
	toride_buf_init(&c->transcript, CONV_TRANSCRIPT_MAX);
	return c;
}

static void
conv_free_cb(uv_handle_t *handle)
{
	struct conv *c = handle->data;
	if (--c->open_handles > 0)
		return;
	struct survey *s = c->survey;
	s->in_flight--;
	live_del(&c->live);
	struct service *svc = c->svc;
	if (svc == NULL && c->connected) {
		/* --discover-only probe: its probe_done is written already. */
		toride_buf_free(&c->transcript);
		free(c);
		return;
	}
	if (svc == NULL) {
		/* Discovery probe that never connected. Retry a timeout a bounded number of times. */
		bool timeout = c->timed_out;
		if (timeout && c->tries <= s->cfg->retries && !s->stopping) {
			struct conv *again = conv_new(s, &c->target, c->port);
			if (again != NULL) {
				again->ops = c->ops;
				again->tries = c->tries;
				free(c);
				if (conv_connect(again) == 0)
					return;
				c = again;
			}
		}
		if (c->local_failure) {
			/* Not probed at all: leave the pair undone, and end the run as interrupted so the
			 * operator resumes it (with --db) instead of trusting a silent gap. */
			s->stats->interrupted = true;
			s->stats->local_failures++;
			probe_finished(s, NULL, &c->target, c->port, "interrupted");
		} else {
			probe_finished(s, NULL, &c->target, c->port, timeout ? "timeout" : "closed");
		}
		toride_buf_free(&c->transcript);
		free(c);
		return;
	}
	if (c->ops != NULL && c->ops->on_free != NULL)
		c->ops->on_free(c);
	if (svc->probe_state < 0 && !c->connected)
		svc->probe_state = c->timed_out ? 2 : 1; /* a SYN hit that no longer accepts */
	if (c->is_login)
		svc->stalls = svc->next_cred == c->cred_mark ? svc->stalls + 1 : 0;
	svc->live_convs--;
	toride_buf_free(&c->transcript);
	free(c);
	service_continue(svc);
}

struct conv *
service_conv_start(struct service *svc, const struct conv_ops *ops, void *mod, bool is_login)
{
	struct survey *s = svc_survey(svc);
	if (svc->convs >= SERVICE_MAX_CONVS || s->stopping)
		return NULL;
	struct conv *c = conv_new(s, &svc->host->addr, svc->port);
	if (c == NULL)
		return NULL;
	c->svc = svc;
	c->ops = ops;
	c->mod = mod;
	c->is_login = is_login;
	c->cred_mark = svc->next_cred;
	svc->convs++;
	svc->live_convs++;
	if (conv_connect(c) != 0) {
		svc->live_convs--;
		free(c);
		return NULL;
	}
	return c;
}

/* ------------------------------------------------------------------ login slot and budget */

static void
host_pace_cb(uv_timer_t *t)
{
	struct host *h = t->data;
	h->pace_armed = false;
	struct service *svc = h->wait_head;
	if (svc != NULL) {
		h->wait_head = svc->next_waiting;
		if (h->wait_head == NULL)
			h->wait_tail = NULL;
		svc->waiting_login = false;
		service_continue(svc);
	}
	host_put(h->survey, h);
}

bool
service_take_login(struct service *svc)
{
	struct host *h = svc->host;
	struct survey *s = svc_survey(svc);
	if (!svc->has_slot && (h->login_busy || h->pace_armed)) {
		if (!svc->waiting_login) {
			svc->waiting_login = true;
			svc->next_waiting = NULL;
			if (h->wait_tail)
				h->wait_tail->next_waiting = svc;
			else
				h->wait_head = svc;
			h->wait_tail = svc;
		}
		return false;
	}
	if (!svc->has_slot) {
		h->login_busy = true;
		svc->has_slot = true;
	}
	double since = (now_seconds() - h->last_attempt) * 1000.0;
	if (s->cfg->attempt_delay_ms > 0 && h->last_attempt > 0 && since < s->cfg->attempt_delay_ms) {
		/* Pacing: keep the slot, come back when the delay has passed. */
		if (!h->pace_init) {
			uv_timer_init(&s->loop, &h->pace);
			h->pace.data = h;
			h->pace_init = true;
		}
		h->pace_armed = true;
		svc->waiting_login = true;
		svc->next_waiting = h->wait_head;
		h->wait_head = svc;
		if (h->wait_tail == NULL)
			h->wait_tail = svc;
		uv_timer_start(&h->pace, host_pace_cb, (uint64_t)(s->cfg->attempt_delay_ms - since) + 1, 0);
		return false;
	}
	return true;
}

void
host_login_release(struct host *h)
{
	h->login_busy = false;
	for (struct service *svc = h->services; svc != NULL; svc = svc->next_in_host)
		svc->has_slot = false;
	/* Wake waiters until one takes the slot: a woken service may find it needs no login any more
	 * (and finish), and the next one must not starve. The host stays alive meanwhile: the caller
	 * still holds a reference to it. */
	while (h->wait_head != NULL && !h->login_busy && !h->pace_armed) {
		struct service *next = h->wait_head;
		h->wait_head = next->next_waiting;
		if (h->wait_head == NULL)
			h->wait_tail = NULL;
		next->waiting_login = false;
		service_continue(next);
	}
}

bool
service_ready_for_login(struct service *svc)
{
	if (svc->noauth_fail || svc->found_cred || !svc->needs_auth)
		return false;
	if (!service_may_attempt(svc) || !service_creds_left(svc))
		return false;
	return service_take_login(svc);
}

bool
service_may_attempt(struct service *svc)
{
	struct survey *s = svc_survey(svc);
	if (svc->found_cred || s->stopping)
		return false;
	if (s->cfg->max_attempts_per_host > 0 && svc->host->attempts >= s->cfg->max_attempts_per_host) {
		svc->budget_exhausted = true;
		return false;
	}
	return true;
}

void
service_count_attempt(struct service *svc)
{
	struct survey *s = svc_survey(svc);
	svc->attempts++;
	svc->host->attempts++;
	svc->host->last_attempt = now_seconds();
	s->stats->attempts++;
}

static void
service_prepare_creds(struct service *svc)
{
	struct survey *s = svc_survey(svc);
	if (svc->creds_ready)
		return;
	svc->creds_ready = true;
	/* Vendor defaults first: the fingerprint says which vendor, and its defaults are the
	 * likeliest pairs. Then the survey's base list, walked in place (never copied per service). */
	toride_creds_walk_init(&svc->creds, s->cfg->creds);
	if (s->cfg->vendor_creds_path != NULL && svc->fp_vendor[0] != '\0') {
		char err[256];
		int n = toride_creds_load_vendor(&svc->creds.own, s->cfg->vendor_creds_path, svc->fp_vendor, err,
		                                 sizeof err);
		if (n > 0)
			svc_detail(svc, "vendor_credentials", json_pack("{s:s, s:i}", "vendor", svc->fp_vendor, "pairs", n));
	}
	if (toride_creds_walk_seal(&svc->creds) != 0)
		toride_creds_free(&svc->creds.own); /* out of memory: the base list alone, still in order */
}

const struct toride_cred *
service_next_cred(struct service *svc)
{
	service_prepare_creds(svc);
	const struct toride_cred *cred = toride_creds_walk_at(&svc->creds, svc->next_cred);
	if (cred != NULL)
		svc->next_cred++;
	return cred;
}

const struct toride_cred *
service_peek_cred(struct service *svc)
{
	service_prepare_creds(svc);
	return toride_creds_walk_at(&svc->creds, svc->next_cred);
}

bool
service_retry_cred(struct service *svc, const struct toride_cred *cred)
{
	if (svc->next_cred == 0 || toride_creds_walk_at(&svc->creds, svc->next_cred - 1) != cred ||
	    svc->retried_cred == svc->next_cred)
		return false;
	svc->retried_cred = svc->next_cred;
	svc->next_cred--;
	return true;
}

bool
service_creds_left(struct service *svc)
{
	service_prepare_creds(svc);
	return svc->next_cred < toride_creds_walk_count(&svc->creds);
}

void
service_ext_begin(struct service *svc, struct live_node *n)
{
	struct survey *s = svc_survey(svc);
	svc->convs++;
	svc->live_convs++;
	s->in_flight++;
	live_add(s, n);
}

void
service_ext_end(struct service *svc, struct live_node *n)
{
	struct survey *s = svc_survey(svc);
	live_del(n);
	s->in_flight--;
	svc->live_convs--;
	service_continue(svc);
}

/* ------------------------------------------------------------------ services */

static struct service *
service_new(struct survey *s, const struct toride_addr *a, uint16_t port)
{
	struct host *h = host_get(s, a);
	if (h == NULL)
		return NULL;
	struct service *svc = calloc(1, sizeof *svc);
	if (svc == NULL) {
		host_put(s, h);
		return NULL;
	}
	svc->host = h;
	svc->port = port;
	svc->next_in_host = h->services;
	h->services = svc;
	h->refs++;
	s->live_services++;
	return svc;
}

static void
service_free(struct survey *s, struct service *svc)
{
	struct host *h = svc->host;
	for (struct service **pp = &h->services; *pp != NULL; pp = &(*pp)->next_in_host) {
		if (*pp == svc) {
			*pp = svc->next_in_host;
			break;
		}
	}
	h->refs--;
	s->live_services--;
	toride_creds_walk_free(&svc->creds);
	json_decref(svc->service_data);
	free(svc);
	host_put(s, h);
}

void
service_finish(struct service *svc)
{
	if (svc->done)
		return;
	svc->done = true;
}

/* Final verdicts of a service whose checks all ran. Fails were emitted as they were proven; this
 * adds the passes and the unknowns, each with the reason. */
static void
service_verdicts(struct service *svc)
{
	char why[256];
	if (svc->verdicts_done)
		return;
	svc->verdicts_done = true;
	if (svc->proto == PROTO_UNKNOWN)
		return;
	const char *note = svc->unknown_note[0] ? svc->unknown_note : NULL;
	if (!svc->noauth_fail) {
		if (svc->needs_auth || svc->form_login)
			svc_finding(svc, "JP-34-10-1", VERDICT_PASS, "none",
			            svc->form_login ? "a login form protects the interface"
			                            : "the service asks for credentials before any operation",
			            NULL, NULL, NULL, note);
		else
			svc_finding(svc, "JP-34-10-1", VERDICT_UNKNOWN, "none",
			            note ? note : "access control could not be determined", NULL, NULL, NULL, NULL);
	}
	if (svc->found_cred || svc->noauth_fail)
		return; /* failed already, or no credential is needed at all */
	bool no_password_method = svc->proto == PROTO_SSH && svc->needs_auth &&
	                          strstr(svc->ssh_methods, "password") == NULL &&
	                          strstr(svc->ssh_methods, "keyboard-interactive") == NULL;
	if (no_password_method) {
		snprintf(why, sizeof why, "no password login is offered (methods: %s)", svc->ssh_methods);
		svc_finding(svc, "JP-34-10-2", VERDICT_PASS, "none", why, NULL, NULL, NULL, NULL);
		return;
	}
	size_t ncreds = svc->creds_ready ? toride_creds_walk_count(&svc->creds) : 0;
	bool tested_all = svc->needs_auth && svc->creds_ready && svc->next_cred >= ncreds && !svc->inconclusive &&
	                  !svc->budget_exhausted && svc->auth_scheme != TORIDE_AUTH_OTHER;
	if (tested_all) {
		snprintf(why, sizeof why, "none of the %zu listed credentials was accepted", ncreds);
		svc_finding(svc, "JP-34-10-2", VERDICT_PASS, "none", why, NULL, NULL, NULL, NULL);
		return;
	}
	if (svc->budget_exhausted)
		snprintf(why, sizeof why, "attempt budget of the host used up after %u attempts", svc->attempts);
	else if (svc->inconclusive)
		snprintf(why, sizeof why, "some attempts could not be completed (%u of %zu tried)", svc->attempts,
		         ncreds);
	else
		snprintf(why, sizeof why, "%s", note ? note : "credentials could not be tested");
	svc_finding(svc, "JP-34-10-2", VERDICT_UNKNOWN, "none", why, NULL, NULL, NULL, NULL);
}

static void
service_continue(struct service *svc)
{
	struct survey *s = svc_survey(svc);
	if (svc->live_convs > 0 || svc->waiting_login)
		return;
	if (!svc->done && !s->stopping && svc->stalls >= SERVICE_MAX_STALLS) {
		/* Login conversations that end without using a single pair (no prompt, garbage, a
		 * tarpit) would repeat forever: give up, and say the result is not known. */
		svc->inconclusive = true;
		snprintf(svc->unknown_note, sizeof svc->unknown_note,
		         "%u login connections in a row ended before a credential could be tried", svc->stalls);
		svc->done = true;
	}
	if (!svc->done && !s->stopping) {
		switch (svc->proto) {
		case PROTO_TELNET: telnet_next(svc); break;
		case PROTO_SSH: ssh_next(svc); break;
		case PROTO_HTTP:
		case PROTO_RTSP: http_next(svc); break;
		case PROTO_MQTT: mqtt_next(svc); break;
		case PROTO_FTP: ftp_next(svc); break;
		case PROTO_UNKNOWN: svc->done = true; break;
		}
		/* A planner either started a conversation, queued for the login slot, or finished. */
		if (svc->live_convs > 0 || svc->waiting_login)
			return;
		svc->done = true;
	}
	if (svc->has_slot) {
		svc->has_slot = false;
		host_login_release(svc->host);
	}
	if (svc->waiting_login) {
		/* stopping: drop out of the queue */
		struct host *h = svc->host;
		struct service **pp = &h->wait_head, *prev = NULL;
		while (*pp != NULL && *pp != svc) {
			prev = *pp;
			pp = &(*pp)->next_waiting;
		}
		if (*pp == svc) {
			*pp = svc->next_waiting;
			if (h->wait_tail == svc)
				h->wait_tail = prev;
		}
		svc->waiting_login = false;
	}
	if (!s->stopping)
		service_verdicts(svc);
	const char *state = svc->verdicts_done ? "open" : "interrupted";
	if (svc->probe_state == 1 && !s->stopping)
		state = "closed";
	else if (svc->probe_state == 2 && !s->stopping)
		state = "timeout";
	probe_finished(s, svc, &svc->host->addr, svc->port, state);
	service_free(s, svc);
}

/* ------------------------------------------------------------------ discovery */

static void
probe_finished(struct survey *s, struct service *svc, const struct toride_addr *a, uint16_t port, const char *state)
{
	s->done_pairs++;
	if (strcmp(state, "interrupted") == 0)
		return; /* not done: a resumed survey does this pair again */
	char addr[TORIDE_ADDR_STRLEN];
	toride_addr_format(a, addr, sizeof addr);
	json_t *ev = toride_event_new("probe_done", s->cfg->survey_id);
	if (ev != NULL) {
		json_object_set_new(ev, "addr", json_string(addr));
		json_object_set_new(ev, "port", json_integer(port));
		json_object_set_new(ev, "state", json_string(state));
	}
	emit(s, ev);
}

static bool
pair_already_done(struct survey *s, const struct toride_addr *a, uint16_t port)
{
	struct toride_store *st = s->cfg->resume ? toride_sink_store(s->cfg->sink) : NULL;
	if (st == NULL)
		return false;
	char addr[TORIDE_ADDR_STRLEN];
	toride_addr_format(a, addr, sizeof addr);
	bool done = false;
	if (toride_store_probe_is_done(st, s->cfg->survey_id, addr, port, &done) != 0)
		return false;
	return done;
}

static void
launch_probes(struct survey *s)
{
	unsigned maxc = s->cfg->max_concurrency ? s->cfg->max_concurrency : 256;
	while (!s->order_done && !s->stopping && s->in_flight < maxc) {
		if (s->cfg->rate > 0 && s->tokens < 1.0)
			return;
		struct toride_addr a;
		uint16_t port;
		int more = toride_order_next(s->order, &a, &port);
		if (more != 1) {
			s->order_done = true;
			s->order_done_at = now_seconds();
			if (more < 0) {
				/* The order refused an address outside the scope: a bug, never a probe. */
				s->result = more;
				s->stopping = true;
			}
			return;
		}
		if (pair_already_done(s, &a, port)) {
			s->stats->skipped++;
			s->done_pairs++;
			continue;
		}
		struct conv *c = conv_new(s, &a, port);
		if (c == NULL) {
			s->result = TORIDE_ENOMEM;
			s->stopping = true;
			return;
		}
		c->ops = &ident_ops;
		s->stats->probes++;
		if (s->cfg->rate > 0)
			s->tokens -= 1.0;
		int r = conv_connect(c);
		if (r != 0) {
			/* Only a scope violation or a bad address gets here: both are bugs. Stop. */
			free(c);
			s->result = r;
			s->stopping = true;
			return;
		}
	}
}

/* The "open" observation of a pair, once per pair on both paths (same shape as svc_observe's:
 * the protocol is not known yet). */
static void
emit_open(struct survey *s, const struct toride_addr *a, uint16_t port)
{
	char addr[TORIDE_ADDR_STRLEN];
	toride_addr_format(a, addr, sizeof addr);
	json_t *ev = toride_event_new("observation", s->cfg->survey_id);
	if (ev != NULL) {
		json_object_set_new(ev, "addr", json_string(addr));
		json_object_set_new(ev, "port", json_integer(port));
		json_object_set_new(ev, "proto", json_null());
		json_object_set_new(ev, "kind", json_string("open"));
		json_object_set_new(ev, "data", json_object());
	}
	emit(s, ev);
}

/* ------------------------------------------------------------------ SYN path */

static void
syn_notify(void *arg)
{
	/* Receiver thread: only wake the loop. */
	uv_async_send(arg);
}

static void
syn_stop(struct survey *s, int err)
{
	if (err != 0 && s->result == 0)
		s->result = err;
	s->stopping = true;
	if (s->syn != NULL)
		syn_disc_stop(s->syn);
}

/* A hit (popped from discovery, or re-queued by a resume): emit "open" and start the check
 * conversation at once, with the service already born. */
static void
syn_handle_hit(struct survey *s, const struct syn_hit *h, bool resumed)
{
	/* Safety net, as conv_connect: only pairs of the finalized scope become targets. */
	if (!toride_scope_contains(s->cfg->scope, &h->addr)) {
		syn_stop(s, TORIDE_ESCOPE);
		return;
	}
	if (pair_already_done(s, &h->addr, h->port)) {
		s->stats->skipped++;
		s->done_pairs++;
		return;
	}
	s->stats->open++;
	if (!resumed)
		emit_open(s, &h->addr, h->port); /* a resumed pair's "open" is stored already */
	if (s->cfg->discover_only) {
		probe_finished(s, NULL, &h->addr, h->port, "open");
		return;
	}
	struct service *svc = service_new(s, &h->addr, h->port);
	struct conv *c = svc != NULL ? conv_new(s, &h->addr, h->port) : NULL;
	if (c == NULL) {
		if (svc != NULL)
			service_free(s, svc);
		syn_stop(s, TORIDE_ENOMEM);
		return;
	}
	svc->probe_state = -1; /* until the check's own connect succeeds */
	c->svc = svc;
	c->ops = &ident_ops;
	svc->convs++;
	svc->live_convs++;
	int r = conv_connect(c);
	if (r != 0) {
		svc->live_convs--;
		toride_buf_free(&c->transcript);
		free(c);
		service_free(s, svc);
		syn_stop(s, r);
	}
}

/* Take hits while checks in flight are below --max-concurrency (no limit with --discover-only:
 * nothing is started). Resumed pairs go first. */
static void
syn_launch(struct survey *s)
{
	unsigned maxc = s->cfg->max_concurrency ? s->cfg->max_concurrency : 256;
	struct syn_hit hits[SYN_POP_BATCH];
	while (!s->stopping && s->syn != NULL) {
		size_t room = SYN_POP_BATCH;
		if (!s->cfg->discover_only) {
			if (s->in_flight >= maxc)
				return;
			if (maxc - s->in_flight < room)
				room = maxc - s->in_flight;
		}
		if (s->pending_next < s->npending) {
			syn_handle_hit(s, &s->pending[s->pending_next++], true);
			continue;
		}
		size_t n = syn_disc_pop(s->syn, hits, room);
		if (n == 0)
			return;
		for (size_t i = 0; i < n; i++)
			syn_handle_hit(s, &hits[i], false);
	}
}

static void
syn_checkpoint(struct survey *s)
{
	if (s->syn == NULL)
		return;
	uint64_t p = syn_disc_checkpoint(s->syn);
	if (p <= s->checkpoint_emitted)
		return;
	json_t *ev = toride_event_new("discovery_checkpoint", s->cfg->survey_id);
	if (ev != NULL)
		json_object_set_new(ev, "position", json_integer((json_int_t)p));
	emit(s, ev);
	s->checkpoint_emitted = p;
}

static void
syn_fill_stats(struct survey *s, const struct syn_stats *st)
{
	s->stats->packets = st->packets;
	s->stats->replies = st->replies;
	s->stats->duplicates = st->duplicates;
	s->stats->kernel_drops = st->kernel_drops;
	s->stats->discovery_seconds = st->send_seconds;
	s->stats->probes = st->position - s->syn_start;
}

static int
pending_cb(const char *addr, uint16_t port, void *arg)
{
	struct survey *s = arg;
	struct syn_hit h;
	memset(&h, 0, sizeof h);
	if (toride_addr_parse(addr, &h.addr) != 0 || !toride_scope_contains(s->cfg->scope, &h.addr))
		return 0; /* not this scope's any more: never a target */
	bool listed = false;
	for (size_t i = 0; i < s->cfg->nports; i++)
		listed |= s->cfg->ports[i] == port;
	if (!listed)
		return 0;
	if (s->npending >= SYN_RESUME_MAX)
		return 1;
	if (s->npending == s->pending_cap) {
		size_t ncap = s->pending_cap ? s->pending_cap * 2 : 256;
		struct syn_hit *np = realloc(s->pending, ncap * sizeof *np);
		if (np == NULL)
			return TORIDE_ENOMEM;
		s->pending = np;
		s->pending_cap = ncap;
	}
	h.port = port;
	s->pending[s->npending++] = h;
	return 0;
}

/* Open the SYN discovery (resume: from the stored checkpoint). TORIDE_EUNSUPPORTED when the
 * process lacks CAP_NET_RAW; err says why. */
static int
syn_setup(struct survey *s, char *err, size_t errlen)
{
	const struct toride_survey_config *cfg = s->cfg;
	struct toride_store *st = cfg->resume ? toride_sink_store(cfg->sink) : NULL;
	uint64_t start = 0;
	int r;
	if (st != NULL && (r = toride_store_discovery_checkpoint(st, cfg->survey_id, &start)) != 0) {
		snprintf(err, errlen, "SYN discovery: cannot read the resume checkpoint: %s", toride_store_errmsg(st));
		return r;
	}
	struct syn_config sc = {
		.scope = cfg->scope,
		.ports = cfg->ports,
		.nports = cfg->nports,
		.seed = cfg->seed,
		.shard_index = cfg->shard_index,
		.shard_count = cfg->shard_count,
		.start_position = start,
		.rate = cfg->rate,
		.probes = cfg->probes ? cfg->probes : 1,
		.cooldown_ms = cfg->cooldown_ms,
		.interface = cfg->interface,
		.source4 = cfg->source4,
		.source6 = cfg->source6,
		.sport_base = cfg->sport_base,
		.sport_count = cfg->sport_count,
		.notify = syn_notify,
		.notify_arg = &s->syn_async,
	};
	if ((r = syn_disc_new(&s->syn, &sc, err, errlen)) != 0)
		return r;
	s->syn_start = start;
	s->checkpoint_emitted = start;
	if (st != NULL && (r = toride_store_foreach_pending_open(st, cfg->survey_id, pending_cb, s)) < 0) {
		snprintf(err, errlen, "SYN discovery: cannot read the pending open pairs: %s", toride_store_errmsg(st));
		return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ the loop */

static void
report_progress(struct survey *s)
{
	double now = now_seconds();
	struct toride_survey_progress p = {
		.total = toride_order_total(s->order),
		.done = s->done_pairs,
		.in_flight = s->in_flight,
		.open = s->stats->open,
		.findings_fail = s->stats->findings_fail,
		.attempts = s->stats->attempts,
		.elapsed = now - s->started,
		.syn = s->syn_path,
		.eta = -1,
	};
	p.rate = p.elapsed > 0 ? (double)p.done / p.elapsed : 0;
	struct syn_stats st = s->syn_final;
	if (s->syn_path && s->syn != NULL)
		syn_disc_stats(s->syn, &st);
	if (s->syn_path) {
		/* Discovery progress: pairs probed (the checks follow the queue). */
		p.done = st.position;
		p.sent = st.packets;
		p.replies = st.replies;
		p.queued = st.queued + (s->npending - s->pending_next);
	} else {
		p.sent = s->stats->probes;
		p.replies = s->connect_replies;
	}
	if (now - s->last_sent_at >= 0.5) {
		s->send_rate = s->last_sent_at > 0 ? (double)(p.sent - s->last_sent) / (now - s->last_sent_at) : 0;
		s->last_sent = p.sent;
		s->last_sent_at = now;
	}
	p.send_rate = s->send_rate;
	if (s->syn_path) {
		unsigned probes = s->cfg->probes ? s->cfg->probes : 1;
		if (st.sending_done)
			p.eta = 0;
		else if (p.send_rate > 0)
			p.eta = (double)(st.total - st.position) * probes / p.send_rate;
	} else if (p.total <= p.done) {
		p.eta = 0;
	} else if (p.rate > 0) {
		p.eta = (double)(p.total - p.done) / p.rate;
	}
	if (s->cfg->progress != NULL)
		s->cfg->progress(&p, s->cfg->progress_arg);
}

static void
progress_cb(uv_timer_t *t)
{
	struct survey *s = t->data;
	syn_checkpoint(s);
	report_progress(s);
}

static void
survey_step(struct survey *s)
{
	if (s->ended)
		return;
	if (s->cfg->stop_flag != NULL && *s->cfg->stop_flag && !s->stopping) {
		s->stopping = true;
		s->stats->interrupted = true;
		if (s->syn != NULL)
			syn_disc_stop(s->syn);
		/* Close every open conversation: work not finished is not marked done, so a resumed
		 * survey redoes it. Findings already emitted stay. */
		for (struct live_node *n = s->live.next, *next; n != &s->live; n = next) {
			next = n->next;
			n->abort(n);
		}
	}
	bool discovery_over;
	if (s->syn_path) {
		struct syn_stats st;
		syn_disc_stats(s->syn, &st);
		if (st.error != 0 && !s->stopping)
			syn_stop(s, st.error);
		syn_launch(s);
		/* Finished discovery, an empty queue (read again after the pops), nothing re-queued. */
		syn_disc_stats(s->syn, &st);
		discovery_over = s->stopping || (st.finished && st.queued == 0 && s->pending_next >= s->npending);
	} else {
		launch_probes(s);
		discovery_over = s->order_done || s->stopping;
	}
	if (discovery_over && s->in_flight == 0 && s->live_services == 0) {
		s->ended = true;
		if (s->syn != NULL) {
			/* Join the threads first: after this nothing calls uv_async_send. */
			syn_disc_stop(s->syn);
			syn_checkpoint(s);
			syn_disc_stats(s->syn, &s->syn_final);
			syn_fill_stats(s, &s->syn_final);
			if (s->cfg->send_note != NULL && s->cfg->send_note_len > 0)
				syn_disc_describe(s->syn, s->cfg->send_note, s->cfg->send_note_len);
			syn_disc_free(s->syn);
			s->syn = NULL;
		}
		if (s->syn_async_init)
			uv_close((uv_handle_t *)&s->syn_async, NULL);
		uv_timer_stop(&s->tick);
		uv_timer_stop(&s->progress_timer);
		uv_close((uv_handle_t *)&s->tick, NULL);
		uv_close((uv_handle_t *)&s->progress_timer, NULL);
	}
}

static void
tick_cb(uv_timer_t *t)
{
	struct survey *s = t->data;
	if (s->cfg->rate > 0 && !s->syn_path) {
		s->tokens += s->cfg->rate * RATE_TICK_MS / 1000.0;
		double burst = fmax(1.0, fmin(RATE_MAX_BURST, s->cfg->rate / 10.0));
		if (s->tokens > burst)
			s->tokens = burst;
	}
	survey_step(s);
}

static void
syn_async_cb(uv_async_t *a)
{
	survey_step(a->data);
}

/* Choose the discovery path: SYN when asked or (auto) when the capability is there. */
static int
choose_discovery(struct survey *s)
{
	const struct toride_survey_config *cfg = s->cfg;
	char err[512] = "";
	if (cfg->fallback_note != NULL && cfg->fallback_note_len > 0)
		cfg->fallback_note[0] = '\0';
	if (cfg->discovery == TORIDE_DISCOVERY_CONNECT)
		return 0;
	if (uv_async_init(&s->loop, &s->syn_async, syn_async_cb) != 0)
		return TORIDE_EIO;
	s->syn_async.data = s;
	s->syn_async_init = true;
	int r = syn_setup(s, err, sizeof err);
	if (r == 0) {
		s->syn_path = true;
		s->stats->syn = true;
		return 0;
	}
	syn_disc_free(s->syn);
	s->syn = NULL;
	free(s->pending);
	s->pending = NULL;
	s->npending = s->pending_cap = 0;
	/* Auto without the capability: connect discovery, and say why. Anything else is an error
	 * (the reason is in fallback_note). */
	if (cfg->fallback_note != NULL && cfg->fallback_note_len > 0)
		snprintf(cfg->fallback_note, cfg->fallback_note_len, "%s%s", err,
		         r == TORIDE_EUNSUPPORTED && cfg->discovery == TORIDE_DISCOVERY_AUTO ? "; using connect discovery"
		                                                                            : "");
	if (r == TORIDE_EUNSUPPORTED && cfg->discovery == TORIDE_DISCOVERY_AUTO)
		return 0;
	return r;
}

int
toride_survey_run(const struct toride_survey_config *cfg, struct toride_survey_stats *stats)
{
	int r;
	bool loop_ready = false;
	struct survey *s = calloc(1, sizeof *s);
	if (s == NULL)
		return TORIDE_ENOMEM;
	memset(stats, 0, sizeof *stats);
	s->cfg = cfg;
	s->stats = stats;
	s->started = now_seconds();
	if (sodium_init() < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	r = toride_order_new(&s->order, cfg->scope, cfg->ports, cfg->nports, cfg->seed, cfg->shard_index,
	                     cfg->shard_count);
	if (r != 0)
		goto out;
	if ((r = uv_loop_init(&s->loop)) != 0) {
		r = TORIDE_EIO;
		goto out;
	}
	loop_ready = true;
	s->loop.data = s;
	s->live.next = s->live.prev = &s->live;
	if ((r = choose_discovery(s)) != 0)
		goto out;
	if (s->syn_path && (r = syn_disc_start(s->syn)) != 0)
		goto out;
	uv_timer_init(&s->loop, &s->tick);
	uv_timer_init(&s->loop, &s->progress_timer);
	s->tick.data = s;
	s->progress_timer.data = s;
	s->tokens = cfg->rate > 0 ? 1.0 : 0;
	uv_timer_start(&s->tick, tick_cb, 0, RATE_TICK_MS);
	uv_timer_start(&s->progress_timer, progress_cb, 1000, 1000);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	if (!s->syn_path) {
		stats->packets = stats->probes;
		stats->replies = s->connect_replies;
		stats->discovery_seconds = (s->order_done_at > 0 ? s->order_done_at : now_seconds()) - s->started;
	}
	report_progress(s);
	r = s->result;
out:
	syn_disc_free(s->syn);
	if (loop_ready) {
		if (s->syn_async_init && !s->ended) {
			uv_close((uv_handle_t *)&s->syn_async, NULL);
			uv_run(&s->loop, UV_RUN_DEFAULT);
		}
		uv_loop_close(&s->loop);
	}
	toride_order_free(s->order);
	free(s->pending);
	free(s);
	return r;
}
