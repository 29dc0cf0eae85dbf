/*
 * The connection engine of the emulated servers. See serve.h.
 */
#include "emu/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/error.h"

/* Why 64 KiB: one answer of an emulated server is at most this (a `cat` of a large file). */
#define SERVE_MAX_OUT 65536
/* Why 128 KiB: a client that sends but never reads would otherwise queue our answers in memory
 * without bound; past this we stop reading it until it has taken what is queued. */
#define SERVE_WRITE_QUEUE_MAX (128u * 1024u)
/* Why 4 KiB: one read. All sessions share one buffer (reads are handled at once, on the loop's
 * thread), so an idle session costs no read buffer at all. */
#define SERVE_READ_BUF 4096

struct lst {
	uv_tcp_t tcp;
	struct emu_serve *s;
	const struct emu_server_ops *ops;
	void *lctx;
	struct lst *next;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct conn *prev, *next; /* live sessions */
	struct emu_serve *s;
	const struct emu_server_ops *ops;
	void *st;   /* the sans-IO server's state */
	void *sess; /* the owner's */
	struct toride_buf out;
	uint64_t deadline;   /* loop time (ms) when the session must end; 0 = none */
	enum emu_end why;
	bool opened, in_delay, closing, close_after_flush, throttled;
	int handles;
};

struct emu_serve {
	uv_loop_t *loop;
	struct emu_serve_config cfg;
	struct emu_serve_hooks hooks;
	struct emu_serve_stats stats;
	struct lst *listeners;
	struct conn live; /* list head */
	uint8_t rbuf[SERVE_READ_BUF];
	bool rbuf_busy;
};

const char *
emu_end_name(enum emu_end e)
{
	switch (e) {
	case EMU_END_CLOSED: return "closed";
	case EMU_END_SERVER: return "server-closed";
	case EMU_END_IDLE: return "idle";
	case EMU_END_TIME: return "session-time";
	case EMU_END_LIMIT: return "limit";
	case EMU_END_SHUTDOWN: return "shutdown";
	}
	return "?";
}

static const struct emu_server_ops *
server_for(enum emu_proto p)
{
	switch (p) {
	case EMU_TELNET: return &emu_telnet_server;
	case EMU_HTTP: return &emu_http_server;
	case EMU_RTSP: return &emu_rtsp_server;
	case EMU_MQTT: return &emu_mqtt_server;
	case EMU_FTP: return &emu_ftp_server;
	case EMU_SSH:
	case EMU_PROTO_COUNT: break;
	}
	return NULL;
}

int
emu_listen_socket(const struct sockaddr *sa, socklen_t sl, int backlog, int *fd_out)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return TORIDE_EIO;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, sa, sl) != 0 || listen(fd, backlog) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return TORIDE_EIO;
	}
	*fd_out = fd;
	return 0;
}

void
emu_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ------------------------------------------------------------------ sessions */

static void
conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles > 0)
		return;
	struct emu_serve *s = c->s;
	if (c->st != NULL)
		c->ops->close(c->st);
	if (c->opened)
		s->hooks.close(s->hooks.arg, c->sess, c->why);
	toride_buf_free(&c->out);
	s->stats.live--;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	free(c);
}

static void
conn_end(struct conn *c, enum emu_end why)
{
	if (c->closing)
		return;
	c->closing = true;
	c->why = why;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);
static void conn_timer(uv_timer_t *t);

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	/* libuv calls read right after alloc, on this thread: one buffer serves every session. */
	buf->base = c->s->rbuf_busy ? NULL : (char *)c->s->rbuf;
	buf->len = c->s->rbuf_busy ? 0 : sizeof c->s->rbuf;
	c->s->rbuf_busy = buf->base != NULL;
}

static void
arm_timer(struct conn *c)
{
	uint64_t now = uv_now(c->s->loop), wait = c->s->cfg.idle_timeout_ms;
	if (c->deadline != 0)
		wait = c->deadline <= now ? 1 : (c->deadline - now < wait ? c->deadline - now : wait);
	uv_timer_start(&c->timer, conn_timer, wait, 0);
}

static void
resume_reading(struct conn *c)
{
	if (!c->closing && !c->in_delay && !c->throttled)
		uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

static void
write_done(uv_write_t *req, int status)
{
	struct conn *c = req->handle->data;
	free(req->data);
	free(req);
	if (c->closing)
		return;
	if (status != 0) {
		conn_end(c, EMU_END_CLOSED);
		return;
	}
	if (c->close_after_flush && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
		conn_end(c, EMU_END_SERVER);
		return;
	}
	if (c->throttled && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < SERVE_WRITE_QUEUE_MAX / 2) {
		c->throttled = false;
		resume_reading(c);
	}
}

static void
conn_flush(struct conn *c)
{
	struct emu_serve *s = c->s;
	if (c->out.len == 0) {
		if (c->close_after_flush && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
			conn_end(c, EMU_END_SERVER);
		return;
	}
	if (s->hooks.io != NULL && !s->hooks.io(s->hooks.arg, c->sess, 'o', c->out.data, c->out.len)) {
		conn_end(c, EMU_END_LIMIT);
		return;
	}
	uv_write_t *req = malloc(sizeof *req);
	if (req == NULL) {
		conn_end(c, EMU_END_SERVER);
		return;
	}
	req->data = c->out.data; /* the write owns the bytes now */
	uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
	s->stats.bytes_out += c->out.len;
	toride_buf_init(&c->out, SERVE_MAX_OUT);
	if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, write_done) != 0) {
		free(req->data);
		free(req);
		conn_end(c, EMU_END_CLOSED);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > SERVE_WRITE_QUEUE_MAX) {
		c->throttled = true;
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
}

static void
conn_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->in_delay) {
		/* A device's pause (e.g. busybox login's fail delay) is over: say it and listen again. */
		c->in_delay = false;
		conn_flush(c);
		if (!c->closing) {
			resume_reading(c);
			arm_timer(c);
		}
		return;
	}
	if (c->deadline != 0 && uv_now(c->s->loop) >= c->deadline)
		conn_end(c, EMU_END_TIME);
	else
		conn_end(c, EMU_END_IDLE);
}

static void
conn_after_output(struct conn *c, int rc, unsigned delay)
{
	if (rc < 0) {
		conn_end(c, EMU_END_SERVER);
		return;
	}
	if (rc == EMU_CLOSE)
		c->close_after_flush = true;
	if (c->s->cfg.no_delays)
		delay = 0;
	if (delay > 0) {
		c->in_delay = true;
		uv_read_stop((uv_stream_t *)&c->tcp);
		uv_timer_start(&c->timer, conn_timer, delay, 0);
		return;
	}
	conn_flush(c);
	if (!c->closing)
		arm_timer(c);
}

static void
conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = st->data;
	struct emu_serve *s = c->s;
	if (buf->base == (char *)s->rbuf)
		s->rbuf_busy = false;
	if (c->closing)
		return;
	if (n < 0) {
		conn_end(c, n == UV_ENOBUFS ? EMU_END_SERVER : EMU_END_CLOSED);
		return;
	}
	if (n == 0)
		return;
	s->stats.bytes_in += (uint64_t)n;
	if (s->hooks.io != NULL && !s->hooks.io(s->hooks.arg, c->sess, 'i', (const uint8_t *)buf->base, (size_t)n)) {
		conn_end(c, EMU_END_LIMIT);
		return;
	}
	unsigned delay = 0;
	int rc = c->ops->input(c->st, (const uint8_t *)buf->base, (size_t)n, &c->out, &delay);
	conn_after_output(c, rc, delay);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct lst *l = server->data;
	struct emu_serve *s = l->s;
	if (status != 0)
		return;
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	c->s = s;
	c->ops = l->ops;
	toride_buf_init(&c->out, SERVE_MAX_OUT);
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	s->stats.live++;
	c->next = s->live.next;
	c->prev = &s->live;
	s->live.next->prev = c;
	s->live.next = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || s->stats.live > s->cfg.max_sessions) {
		/* Over the session cap: hang up at once (a real device's full accept queue). */
		s->stats.refused++;
		conn_end(c, EMU_END_SERVER);
		return;
	}
	struct sockaddr_storage peer;
	int pl = (int)sizeof peer;
	memset(&peer, 0, sizeof peer);
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &pl);
	const struct emu_device *dev = NULL;
	const struct emu_service *svc = NULL;
	if (!s->hooks.open(s->hooks.arg, l->lctx, &peer, &dev, &svc, &c->sess) || dev == NULL || svc == NULL) {
		s->stats.refused++;
		conn_end(c, EMU_END_SERVER);
		return;
	}
	c->opened = true;
	s->stats.sessions++;
	if (s->cfg.session_ms > 0)
		c->deadline = uv_now(s->loop) + s->cfg.session_ms;
	uv_tcp_nodelay(&c->tcp, 1);
	unsigned delay = 0;
	c->st = c->ops->open(dev, svc, &c->out, &delay);
	if (c->st == NULL) {
		conn_end(c, EMU_END_SERVER);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
	conn_after_output(c, EMU_CONTINUE, delay);
}

/* ------------------------------------------------------------------ the server */

int
emu_serve_new(struct emu_serve **out, uv_loop_t *loop, const struct emu_serve_config *cfg,
              const struct emu_serve_hooks *hooks)
{
	if (hooks == NULL || hooks->open == NULL || hooks->close == NULL || cfg->idle_timeout_ms == 0)
		return TORIDE_EINVAL;
	struct emu_serve *s = calloc(1, sizeof *s);
	if (s == NULL)
		return TORIDE_ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	s->hooks = *hooks;
	s->live.next = s->live.prev = &s->live;
	*out = s;
	return 0;
}

int
emu_serve_listen_fd(struct emu_serve *s, int fd, enum emu_proto proto, void *lctx)
{
	const struct emu_server_ops *ops = server_for(proto);
	struct lst *l = ops != NULL ? calloc(1, sizeof *l) : NULL;
	if (l == NULL) {
		close(fd);
		return ops == NULL ? TORIDE_EINVAL : TORIDE_ENOMEM;
	}
	l->s = s;
	l->ops = ops;
	l->lctx = lctx;
	uv_tcp_init(s->loop, &l->tcp);
	l->tcp.data = l;
	int e = uv_tcp_open(&l->tcp, fd);
	if (e == 0)
		e = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
	/* The handle is linked either way: shutdown closes it (and fd with it). */
	l->next = s->listeners;
	s->listeners = l;
	if (e != 0)
		return TORIDE_EIO;
	s->stats.listeners++;
	return 0;
}

void
emu_serve_stats(const struct emu_serve *s, struct emu_serve_stats *st)
{
	*st = s->stats;
}

void
emu_serve_shutdown(struct emu_serve *s)
{
	if (s == NULL)
		return;
	for (struct lst *l = s->listeners; l != NULL; l = l->next)
		if (!uv_is_closing((uv_handle_t *)&l->tcp))
			uv_close((uv_handle_t *)&l->tcp, NULL);
	for (struct conn *c = s->live.next; c != &s->live; c = c->next)
		conn_end(c, EMU_END_SHUTDOWN);
}

void
emu_serve_free(struct emu_serve *s)
{
	if (s == NULL)
		return;
	struct lst *l = s->listeners;
	while (l != NULL) {
		struct lst *n = l->next;
		free(l);
		l = n;
	}
	free(s);
}
