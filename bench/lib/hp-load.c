/*
 * hp-load: load generator for `toride honeypot run` (tests/integration/test_hp_load.sh) and for
 * the comparison with Cowrie (bench/honeypot-vs-cowrie.sh). One libuv loop drives up to
 * --sessions concurrent TCP sessions to one telnet address (and, in hostile mode, one SSH
 * address), each bound to its own loopback source address of --src-net (round-robin), so a
 * honeypot's per-source caps are not what gets measured.
 *
 *   mirai    the Mirai bot scanner's telnet login (IAC answers, user, password, enable, system,
 *            shell, sh, /bin/busybox MIRAI) followed on the same connection by the loader's
 *            dialogue (ECCHI probes, ps, mounts, the .nippon write check, dvrHelper, cpuinfo,
 *            wget/tftp probe, an echo upload of a ~1 KiB dropper in 128-byte lines, running it,
 *            cleanup), after data/credentials/mirai_telnet_sequences.tsv. A session is complete
 *            when it saw "MIRAI: applet not found" and the final "ECCHI: applet not found".
 *   hold     log in, then keep the session open sending one byte every --hold-interval seconds
 *            (slow-loris) until the run ends.
 *   hostile  malformed telnet (truncated and unterminated IAC SB, IAC floods, NUL/0xff runs, a
 *            100 KB line without newline before and after login, half-open connections that
 *            never send) and, with --ssh, hostile SSH (bad version lines, a huge packet length,
 *            random binary, half-open); the variants are used round-robin.
 *
 * Memory is bounded: at most --sessions sessions of fixed size exist, every payload is built once
 * at start and shared by all sessions, and latencies go into a fixed histogram.
 * It only connects to the address(es) given; tests give loopback addresses only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Received bytes a session keeps to look for the token it waits for. Why 512: the longest token
 * ("MIRAI: applet not found") is 23 bytes and prompts are checked at the end of what arrived;
 * when the window fills, its last HPL_WIN_KEEP bytes are kept so a token split across reads is
 * still found. */
#define HPL_WIN_MAX 512
#define HPL_WIN_KEEP 64
/* The dropper uploaded in mirai mode. Why 1 KiB in 128-byte lines: the brief's "~1 KiB dropper";
 * Mirai's loader writes 128 bytes per echo line (BINARY_BYTES_PER_ECHOLINE in loader/src). */
#define HPL_DROPPER_BYTES 1024
#define HPL_ECHO_LINE_BYTES 128
/* Latency histogram: bucket i holds times in [1.02^i, 1.02^(i+1)) microseconds, so p50/p99 are
 * within 2 %; 1400 buckets reach past 10^12 us. */
#define HPL_HIST_BUCKETS 1400
#define HPL_HIST_BASE 1.02
/* Hostile payload sizes: large enough to cross every line and option cap the brief names
 * (100 KB line), small enough that building them once costs nothing. */
#define HPL_LONG_LINE_BYTES (100u * 1000u)
#define HPL_FLOOD_BYTES (64u * 1024u)
#define HPL_NULFF_BYTES (32u * 1024u)
#define HPL_SSH_RANDOM_BYTES (16u * 1024u)

enum hpl_mode { MODE_MIRAI, MODE_HOLD, MODE_HOSTILE };

enum hpl_expect {
	EXP_NONE,         /* send the next step at once */
	EXP_LOGIN_PROMPT, /* "ogin" / "enter" or a prompt character at the end */
	EXP_PASS_PROMPT,  /* "assword" or a prompt character at the end */
	EXP_PROMPT,       /* a prompt character (: > $ # %) at the end, "ncorrect" fails */
	EXP_TOKEN,        /* a fixed string anywhere */
};

struct hpl_step {
	char *send; /* with CR LF; NULL for the first step (wait for the login prompt) */
	size_t len;
	enum hpl_expect expect;
	const char *token;
	bool marks_mirai; /* the bot scanner's success */
	bool final;       /* the loader's last answer: session complete */
};

enum hpl_variant {
	V_SB_TRUNCATED,  /* IAC SB TTYPE then hang up */
	V_SB_OPEN,       /* IAC SB TTYPE IS + 64 KiB, never IAC SE */
	V_IAC_FLOOD,     /* 64 KiB of random IAC commands */
	V_NUL_FF,        /* runs of NUL and 0xff bytes */
	V_LONG_LINE,     /* 100 KB without newline at the login prompt */
	V_LONG_SHELL,    /* log in, then 100 KB without newline */
	V_HALF_OPEN,     /* connect, send nothing */
	V_SSH_BAD_VERSION,
	V_SSH_HUGE_LEN,
	V_SSH_RANDOM,
	V_SSH_HALF_OPEN,
	V_COUNT,
};

static const char *const variant_names[V_COUNT] = {
	"telnet-sb-truncated", "telnet-sb-unterminated", "telnet-iac-flood", "telnet-nul-ff",
	"telnet-long-line",    "telnet-long-shell-line", "telnet-half-open", "ssh-bad-version",
	"ssh-huge-length",     "ssh-random",             "ssh-half-open",
};

struct hpl_opts {
	struct sockaddr_in dst;
	struct sockaddr_in ssh;
	bool have_ssh;
	unsigned sessions;
	uint64_t total;
	double duration;
	enum hpl_mode mode;
	uint32_t src_first, src_count; /* host order; count 0 = kernel's choice */
	double rate;
	const char *user, *pass;
	bool json, progress;
	double hold_interval, step_timeout, hostile_wait;
	const char *ready_file;
	uint64_t seed;
	unsigned max_pending;
	const char *variants; /* hostile: comma-separated names, NULL = all */
};

struct hpl_run;

struct hpl_sess {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t creq;
	struct hpl_run *run;
	struct hpl_sess *prev, *next;
	uint64_t t_start;
	enum hpl_variant variant;
	unsigned step;
	int closing;     /* handles still to close */
	bool connected, logged_in, mirai_seen, done, payload_sent, server_closed;
	bool in_pending; /* counted in run->pending: connecting, or connected and not yet greeted */
	uint8_t tstate; /* telnet parser state */
	uint8_t tcmd;
	size_t win_len;
	char win[HPL_WIN_MAX];
};

struct hpl_counts {
	uint64_t attempted, completed, failed, unfinished;
	uint64_t f_connect, f_login, f_closed, f_timeout, f_error;
	uint64_t mirai_seen, server_closed, logged_in;
	uint64_t v_attempted[V_COUNT], v_server_closed[V_COUNT];
};

struct hpl_run {
	uv_loop_t *loop;
	struct hpl_opts o;
	uv_timer_t ticker;
	uv_signal_t sigint, sigterm;
	bool stopping;
	uint64_t t0, t_end;
	uint64_t started, open, pending, established, held;
	uint64_t peak_established, peak_held;
	uint32_t src_next;
	struct hpl_sess *live;
	struct hpl_counts c;
	uint32_t hist[HPL_HIST_BUCKETS];
	uint64_t hist_n;
	uint64_t rng;
	bool ready_written;
	uint64_t last_progress;
	/* shared payloads */
	struct hpl_step *steps;
	size_t nsteps, login_steps;
	uint8_t *p_sb_open, *p_flood, *p_nulff, *p_long, *p_ssh_huge, *p_ssh_random;
	size_t n_sb_open, n_flood, n_nulff, n_long, n_ssh_huge, n_ssh_random;
	enum hpl_variant variants[V_COUNT];
	size_t nvariants;
};

static bool debug; /* HP_LOAD_DEBUG=1: steps and received bytes on stderr */
static uint8_t rdbuf[64 * 1024]; /* one loop thread: alloc_cb and read_cb run back to back */

static const uint8_t sb_truncated[] = { 255, 250, 24 };
static const char ssh_bad_version[] =
	"SSH-1.0-\xff\xfe\x01\x02 not really ssh\r\n"
	"SSH-2.0-\r\n"
	"SSH-99.99-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64*: reproducible hostile payloads for a given --seed. */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "hp-load: out of memory\n");
		exit(1);
	}
	return p;
}

/* ------------------------------------------------------------------ payloads */

static void
add_step(struct hpl_run *r, const char *line, enum hpl_expect e, const char *token)
{
	struct hpl_step *s;

	r->steps = realloc(r->steps, (r->nsteps + 1) * sizeof(*r->steps));
	if (r->steps == NULL) {
		fprintf(stderr, "hp-load: out of memory\n");
		exit(1);
	}
	s = &r->steps[r->nsteps++];
	memset(s, 0, sizeof(*s));
	if (line != NULL) {
		size_t n = strlen(line);
		s->send = xmalloc(n + 3);
		memcpy(s->send, line, n);
		memcpy(s->send + n, "\r\n", 3);
		s->len = n + 2;
	}
	s->expect = e;
	s->token = token;
}

/* A deterministic stand-in for Mirai's dropper ("dlr"): an ELF32 little-endian ARM header and the
 * strings a dlr binary carries, padded to HPL_DROPPER_BYTES with pseudo-random bytes. It is never
 * a working program. */
static void
make_dropper(uint8_t *d, uint64_t seed)
{
	static const uint8_t elf[52] = {
		0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		2, 0, 40, 0, 1, 0, 0, 0, 0x54, 0x80, 0, 0, 52, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 5, 52, 0, 32, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	static const char strs[] = "GET /bins/mirai.arm7 HTTP/1.0\r\n\r\n\0dvrHelper\0FIN\0";
	uint64_t st = seed | 1;

	for (size_t i = 0; i < HPL_DROPPER_BYTES; i++)
		d[i] = (uint8_t)rng_next(&st);
	memcpy(d, elf, sizeof(elf));
	memcpy(d + 256, strs, sizeof(strs));
}

static void
build_login_steps(struct hpl_run *r)
{
	add_step(r, NULL, EXP_LOGIN_PROMPT, NULL);
	add_step(r, r->o.user, EXP_PASS_PROMPT, NULL);
	add_step(r, r->o.pass, EXP_PROMPT, NULL);
	r->login_steps = r->nsteps;
}

static void
build_mirai_steps(struct hpl_run *r)
{
	static const char ecchi[] = "ECCHI: applet not found";
	uint8_t dropper[HPL_DROPPER_BYTES];
	char line[64 + HPL_ECHO_LINE_BYTES * 4];

	build_login_steps(r);
	/* bot scanner (mirai/bot/scanner.c) */
	add_step(r, "enable", EXP_PROMPT, NULL);
	add_step(r, "system", EXP_PROMPT, NULL);
	add_step(r, "shell", EXP_PROMPT, NULL);
	add_step(r, "sh", EXP_PROMPT, NULL);
	add_step(r, "/bin/busybox MIRAI", EXP_TOKEN, "MIRAI: applet not found");
	r->steps[r->nsteps - 1].marks_mirai = true;
	/* loader (loader/src/server.c), same connection */
	add_step(r, "/bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r, "/bin/busybox ps; /bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r, "/bin/busybox cat /proc/mounts; /bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r,
	         "/bin/busybox echo -e '\\x6b\\x61\\x6d\\x69/dev' > /dev/.nippon; /bin/busybox cat "
	         "/dev/.nippon; /bin/busybox rm /dev/.nippon",
	         EXP_TOKEN, "kami/dev");
	add_step(r, "/bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r, "rm /dev/.t; rm /dev/.sh; rm /dev/.human", EXP_NONE, NULL);
	add_step(r, "cd /dev/", EXP_NONE, NULL);
	add_step(r, "/bin/busybox cp /bin/echo dvrHelper; >dvrHelper; /bin/busybox chmod 777 dvrHelper; "
	            "/bin/busybox ECCHI",
	         EXP_TOKEN, ecchi);
	add_step(r, "/bin/busybox cat /bin/echo", EXP_NONE, NULL);
	add_step(r, "/bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r, "cat /proc/cpuinfo; /bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r, "/bin/busybox wget; /bin/busybox tftp; /bin/busybox ECCHI", EXP_TOKEN, ecchi);
	add_step(r, "/bin/busybox cp dvrHelper upnp; > upnp; /bin/busybox chmod 777 upnp; /bin/busybox ECCHI",
	         EXP_TOKEN, ecchi);
	make_dropper(dropper, r->o.seed);
	for (size_t off = 0; off < HPL_DROPPER_BYTES; off += HPL_ECHO_LINE_BYTES) {
		size_t n = 0;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "echo -ne '");
		for (size_t i = 0; i < HPL_ECHO_LINE_BYTES; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "\\x%02x", dropper[off + i]);
		snprintf(line + n, sizeof(line) - n, "' %s upnp; /bin/busybox ECCHI", off == 0 ? ">" : ">>");
		add_step(r, line, EXP_TOKEN, ecchi);
	}
	add_step(r, "./upnp; ./dvrHelper dvr.arm7; /bin/busybox IHCCE", EXP_TOKEN, "IHCCE: applet not found");
	add_step(r, "rm -rf upnp; > dvrHelper; /bin/busybox ECCHI", EXP_TOKEN, ecchi);
	r->steps[r->nsteps - 1].final = true;
}

/* name is one of the comma-separated words of list */
static bool
name_in_list(const char *name, const char *list)
{
	size_t n = strlen(name);

	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t k = e != NULL ? (size_t)(e - p) : strlen(p);
		if (k == n && memcmp(p, name, n) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

static void
build_hostile_payloads(struct hpl_run *r)
{
	uint64_t st = r->o.seed ^ 0x686f7374696c65ULL;
	static const uint8_t iac_cmds[] = { 251, 252, 253, 254, 255, 241, 246, 249 };
	size_t i;

	/* Unterminated subnegotiation: IAC SB TTYPE IS, then bytes with no IAC SE. */
	r->n_sb_open = HPL_FLOOD_BYTES;
	r->p_sb_open = xmalloc(r->n_sb_open);
	memcpy(r->p_sb_open, "\xff\xfa\x18\x00", 4);
	for (i = 4; i < r->n_sb_open; i++)
		r->p_sb_open[i] = (uint8_t)('a' + rng_next(&st) % 26);

	r->n_flood = HPL_FLOOD_BYTES;
	r->p_flood = xmalloc(r->n_flood);
	for (i = 0; i + 3 <= r->n_flood; i += 3) {
		r->p_flood[i] = 255;
		r->p_flood[i + 1] = iac_cmds[rng_next(&st) % sizeof(iac_cmds)];
		r->p_flood[i + 2] = (uint8_t)rng_next(&st);
	}
	for (; i < r->n_flood; i++)
		r->p_flood[i] = 255;

	r->n_nulff = HPL_NULFF_BYTES;
	r->p_nulff = xmalloc(r->n_nulff);
	for (i = 0; i < r->n_nulff; i++)
		r->p_nulff[i] = ((i / 4096) % 2) ? 0xff : 0x00;
	memcpy(r->p_nulff + r->n_nulff - 2, "\r\n", 2);

	r->n_long = HPL_LONG_LINE_BYTES;
	r->p_long = xmalloc(r->n_long);
	for (i = 0; i < r->n_long; i++)
		r->p_long[i] = (uint8_t)('A' + rng_next(&st) % 26);

	/* A well-formed version line, then a binary packet claiming ~2 GiB. */
	static const char v[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
	r->n_ssh_huge = sizeof(v) - 1 + 4 + 1024;
	r->p_ssh_huge = xmalloc(r->n_ssh_huge);
	memcpy(r->p_ssh_huge, v, sizeof(v) - 1);
	memcpy(r->p_ssh_huge + sizeof(v) - 1, "\x7f\xff\xff\xf0", 4);
	for (i = sizeof(v) - 1 + 4; i < r->n_ssh_huge; i++)
		r->p_ssh_huge[i] = (uint8_t)rng_next(&st);

	r->n_ssh_random = HPL_SSH_RANDOM_BYTES;
	r->p_ssh_random = xmalloc(r->n_ssh_random);
	for (i = 0; i < r->n_ssh_random; i++)
		r->p_ssh_random[i] = (uint8_t)rng_next(&st);

	r->nvariants = 0;
	for (int v2 = 0; v2 < V_COUNT; v2++) {
		if (v2 >= V_SSH_BAD_VERSION && !r->o.have_ssh)
			continue;
		if (r->o.variants != NULL && !name_in_list(variant_names[v2], r->o.variants))
			continue;
		r->variants[r->nvariants++] = (enum hpl_variant)v2;
	}
	if (r->nvariants == 0) {
		fprintf(stderr, "hp-load: --variants selects nothing (SSH variants need --ssh)\n");
		exit(2);
	}
}

/* ------------------------------------------------------------------ helpers */

static uint64_t
now_ns(void)
{
	return uv_hrtime();
}

static void
hist_add(struct hpl_run *r, uint64_t ns)
{
	double us = (double)ns / 1000.0;
	int b = us < 1.0 ? 0 : (int)(log(us) / log(HPL_HIST_BASE));

	if (b >= HPL_HIST_BUCKETS)
		b = HPL_HIST_BUCKETS - 1;
	r->hist[b]++;
	r->hist_n++;
}

static double
hist_pct(const struct hpl_run *r, double q)
{
	uint64_t want, acc = 0;

	if (r->hist_n == 0)
		return 0.0;
	want = (uint64_t)ceil(q * (double)r->hist_n);
	if (want == 0)
		want = 1;
	for (int i = 0; i < HPL_HIST_BUCKETS; i++) {
		acc += r->hist[i];
		if (acc >= want) /* the bucket's middle, in seconds */
			return pow(HPL_HIST_BASE, (double)i + 0.5) / 1e6;
	}
	return 0.0;
}

static void start_sessions(struct hpl_run *r);
static void maybe_finish(struct hpl_run *r);

/* A session stops being pending when the server has shown it accepted the connection (its first
 * bytes), not when connect() completes: with a full accept queue the kernel completes the client's
 * handshake while the server has not accepted, and a client that kept opening would only fill
 * queues (and time out) instead of measuring the server. */
static void
pending_leave(struct hpl_sess *s)
{
	if (s->in_pending) {
		s->in_pending = false;
		s->run->pending--;
	}
}

static void
on_sess_closed(uv_handle_t *h)
{
	struct hpl_sess *s = h->data;
	struct hpl_run *r = s->run;

	if (--s->closing > 0)
		return;
	free(s);
	r->open--;
	if (!r->stopping)
		start_sessions(r);
	maybe_finish(r);
}

enum hpl_end { END_OK, END_CONNECT, END_LOGIN, END_CLOSED, END_TIMEOUT, END_ERROR, END_STOP };

/* Ends a session once: counts the outcome, unlinks it and closes both handles. */
static void
sess_end(struct hpl_sess *s, enum hpl_end how)
{
	struct hpl_run *r = s->run;
	struct hpl_counts *c = &r->c;

	if (s->done)
		return;
	s->done = true;
	switch (how) {
	case END_OK:
		c->completed++;
		if (r->o.mode == MODE_MIRAI)
			hist_add(r, now_ns() - s->t_start);
		break;
	case END_STOP:
		/* The run ended under it: a held session did its job; anything else was cut short. */
		if (r->o.mode == MODE_HOLD && s->logged_in)
			c->completed++;
		else if (r->o.mode == MODE_HOSTILE && s->connected)
			c->completed++;
		else
			c->unfinished++;
		break;
	case END_CONNECT: c->failed++; c->f_connect++; break;
	case END_LOGIN: c->failed++; c->f_login++; break;
	case END_CLOSED: c->failed++; c->f_closed++; break;
	case END_TIMEOUT: c->failed++; c->f_timeout++; break;
	case END_ERROR: c->failed++; c->f_error++; break;
	}
	if (s->mirai_seen)
		c->mirai_seen++;
	if (s->logged_in)
		c->logged_in++;
	if (s->server_closed) {
		c->server_closed++;
		c->v_server_closed[s->variant]++;
	}
	if (s->connected)
		r->established--;
	pending_leave(s);
	if (s->logged_in && r->o.mode == MODE_HOLD)
		r->held--;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		r->live = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->closing = 2;
	uv_close((uv_handle_t *)&s->tcp, on_sess_closed);
	uv_close((uv_handle_t *)&s->timer, on_sess_closed);
}

struct hpl_wreq {
	uv_write_t req;
	struct hpl_sess *sess;
	bool last; /* hostile: the payload is out */
	uint8_t data[];
};

static void on_timer(uv_timer_t *t);

static void
on_write(uv_write_t *req, int status)
{
	struct hpl_wreq *w = (struct hpl_wreq *)req;
	struct hpl_sess *s = w->sess;

	if (status == 0 && w->last && !s->done) {
		s->payload_sent = true;
		/* A truncated subnegotiation hangs up at once; other hostile clients wait for the
		 * server's reaction (close) up to --hostile-wait. */
		if (s->variant == V_SB_TRUNCATED)
			sess_end(s, END_STOP);
		else
			uv_timer_start(&s->timer, on_timer, (uint64_t)(s->run->o.hostile_wait * 1000.0), 0);
	} else if (status < 0 && status != UV_ECANCELED && !s->done) {
		/* A hostile payload cut by the server is the server defending itself. */
		if (s->run->o.mode == MODE_HOSTILE) {
			s->server_closed = true;
			sess_end(s, END_STOP);
		} else {
			sess_end(s, END_ERROR);
		}
	}
	free(w);
}

/* Queues bytes; copy=false for payloads that live for the whole run. */
static int
sess_write(struct hpl_sess *s, const void *p, size_t n, bool copy, bool last)
{
	struct hpl_wreq *w = xmalloc(sizeof(*w) + (copy ? n : 0));
	uv_buf_t b;
	int rc;

	w->sess = s;
	w->last = last;
	if (copy) {
		memcpy(w->data, p, n);
		b = uv_buf_init((char *)w->data, (unsigned)n);
	} else {
		b = uv_buf_init((char *)p, (unsigned)n);
	}
	rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);
	if (rc != 0)
		free(w);
	return rc;
}

/* ------------------------------------------------------------------ telnet + dialogue */

enum { TS_DATA, TS_IAC, TS_OPT, TS_SB, TS_SB_IAC };

/* Answers options as Mirai's scanner does (consume_iacs): DO NAWS -> WILL NAWS + SB NAWS 80x24,
 * other DO -> WONT, WILL -> DO, and like Mirai only before the login prompt (its SC_HANDLE_IACS
 * state, the loader's TELNET_READ_IACS); later option commands are dropped unanswered (Cowrie
 * waits for a DONT ECHO from clients that answered its WILL ECHO, which Mirai never sends).
 * Returns the data byte count left in p (IAC sequences removed). */
static size_t
telnet_strip(struct hpl_sess *s, uint8_t *p, size_t n)
{
	uint8_t ans[3 * 64 + 16];
	size_t na = 0, out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];
		switch (s->tstate) {
		case TS_DATA:
			if (b == 255)
				s->tstate = TS_IAC;
			else
				p[out++] = b;
			break;
		case TS_IAC:
			if (b >= 251 && b <= 254) {
				s->tcmd = b;
				s->tstate = TS_OPT;
			} else if (b == 250) {
				s->tstate = TS_SB;
			} else {
				if (b == 255)
					p[out++] = 255;
				s->tstate = TS_DATA;
			}
			break;
		case TS_OPT:
			s->tstate = TS_DATA;
			if (s->step != 0 || s->logged_in)
				break;
			if (na + 12 > sizeof(ans)) {
				sess_write(s, ans, na, true, false);
				na = 0;
			}
			if (s->tcmd == 253 && b == 31) {
				static const uint8_t naws[] = { 255, 251, 31, 255, 250, 31, 0, 80, 0, 24, 255, 240 };
				memcpy(ans + na, naws, sizeof(naws));
				na += sizeof(naws);
			} else if (s->tcmd == 253) {
				ans[na++] = 255, ans[na++] = 252, ans[na++] = b;
			} else if (s->tcmd == 251) {
				ans[na++] = 255, ans[na++] = 253, ans[na++] = b;
			}
			break;
		case TS_SB:
			if (b == 255)
				s->tstate = TS_SB_IAC;
			break;
		case TS_SB_IAC:
			s->tstate = b == 240 ? TS_DATA : TS_SB;
			break;
		}
	}
	if (na > 0 && !s->done)
		sess_write(s, ans, na, true, false);
	return out;
}

static bool
ends_with_prompt(const struct hpl_sess *s)
{
	size_t i = s->win_len;

	while (i > 0 && (s->win[i - 1] == ' ' || s->win[i - 1] == '\t'))
		i--;
	if (i == 0)
		return false;
	return strchr(":>$#%", s->win[i - 1]) != NULL;
}

static bool
win_has(const struct hpl_sess *s, const char *needle)
{
	return memmem(s->win, s->win_len, needle, strlen(needle)) != NULL;
}

static void step_send(struct hpl_sess *s);

static void
hold_tick(uv_timer_t *t)
{
	struct hpl_sess *s = t->data;

	if (s->done)
		return;
	if (sess_write(s, " ", 1, false, false) != 0)
		sess_end(s, END_ERROR);
}

/* The session reached its shell (login steps done). */
static void
logged_in(struct hpl_sess *s)
{
	struct hpl_run *r = s->run;
	uint64_t ms;

	s->logged_in = true;
	if (r->o.mode == MODE_HOLD) {
		r->held++;
		if (r->held > r->peak_held)
			r->peak_held = r->held;
		ms = (uint64_t)(r->o.hold_interval * 1000.0);
		uv_timer_start(&s->timer, hold_tick, ms, ms);
		if (!r->ready_written && r->o.ready_file != NULL && r->held >= r->o.sessions) {
			FILE *f = fopen(r->o.ready_file, "w");
			if (f != NULL) {
				fprintf(f, "%llu\n", (unsigned long long)r->held);
				fclose(f);
			}
			r->ready_written = true;
		}
	} else if (r->o.mode == MODE_HOSTILE) {
		uv_timer_stop(&s->timer);
		if (sess_write(s, r->p_long, r->n_long, false, true) != 0)
			sess_end(s, END_ERROR);
	}
}

/* Checks the window against the current step's expectation; advances when it is met. */
static void
step_check(struct hpl_sess *s, bool chunk_end)
{
	struct hpl_run *r = s->run;
	const struct hpl_step *st;
	bool met = false;

	if (s->done || (s->logged_in && r->o.mode != MODE_MIRAI))
		return;
	st = &r->steps[s->step];
	switch (st->expect) {
	case EXP_NONE:
		met = true;
		break;
	case EXP_LOGIN_PROMPT:
		met = chunk_end && (win_has(s, "ogin") || win_has(s, "enter") || ends_with_prompt(s));
		break;
	case EXP_PASS_PROMPT:
		met = chunk_end && (win_has(s, "assword") || ends_with_prompt(s));
		break;
	case EXP_PROMPT:
		if (win_has(s, "ncorrect") || win_has(s, "denied")) {
			sess_end(s, END_LOGIN);
			return;
		}
		met = chunk_end && ends_with_prompt(s);
		break;
	case EXP_TOKEN:
		met = win_has(s, st->token);
		break;
	}
	if (!met)
		return;
	if (st->marks_mirai)
		s->mirai_seen = true;
	if (debug)
		fprintf(stderr, "hp-load: session %p step %u met\n", (void *)s, s->step);
	if (st->final) {
		sess_end(s, s->mirai_seen ? END_OK : END_ERROR);
		return;
	}
	s->win_len = 0;
	s->step++;
	if (s->step == r->login_steps && r->o.mode != MODE_MIRAI) {
		logged_in(s);
		return;
	}
	if (s->step == r->login_steps)
		s->logged_in = true;
	step_send(s);
}

static void
step_send(struct hpl_sess *s)
{
	struct hpl_run *r = s->run;

	/* Sends this step and every EXP_NONE step after it, then waits for the first expectation. */
	for (;;) {
		const struct hpl_step *st = &r->steps[s->step];
		if (st->send != NULL && sess_write(s, st->send, st->len, false, false) != 0) {
			sess_end(s, END_ERROR);
			return;
		}
		if (st->expect != EXP_NONE)
			break;
		s->step++;
	}
	uv_timer_start(&s->timer, on_timer, (uint64_t)(r->o.step_timeout * 1000.0), 0);
}

static void
win_feed(struct hpl_sess *s, const uint8_t *p, size_t n)
{
	while (n > 0 && !s->done) {
		size_t room = HPL_WIN_MAX - s->win_len;
		size_t k = n < room ? n : room;
		memcpy(s->win + s->win_len, p, k);
		s->win_len += k;
		p += k;
		n -= k;
		if (s->win_len == HPL_WIN_MAX) {
			step_check(s, n == 0);
			if (s->done)
				return;
			if (s->win_len == HPL_WIN_MAX) {
				memmove(s->win, s->win + HPL_WIN_MAX - HPL_WIN_KEEP, HPL_WIN_KEEP);
				s->win_len = HPL_WIN_KEEP;
			}
		} else if (n == 0) {
			step_check(s, true);
		}
	}
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	*b = uv_buf_init((char *)rdbuf, sizeof(rdbuf));
}

static bool
is_ssh_variant(enum hpl_variant v)
{
	return v >= V_SSH_BAD_VERSION;
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct hpl_sess *s = st->data;
	struct hpl_run *r = s->run;
	size_t n;

	if (s->done)
		return;
	if (nread < 0) {
		s->server_closed = true;
		if (r->o.mode == MODE_HOSTILE)
			sess_end(s, END_STOP);
		else
			sess_end(s, nread == UV_EOF ? END_CLOSED : END_ERROR);
		return;
	}
	if (nread == 0)
		return;
	if (s->in_pending) {
		pending_leave(s);
		if (!r->stopping)
			start_sessions(r);
	}
	if (r->o.mode == MODE_HOSTILE && is_ssh_variant(s->variant))
		return; /* whatever the SSH server answers is ignored */
	if (debug) {
		fprintf(stderr, "hp-load: session %p step %u read %zd: ", (void *)s, s->step, nread);
		for (ssize_t i = 0; i < nread; i++) {
			uint8_t ch = (uint8_t)b->base[i];
			if (ch >= 32 && ch < 127 && ch != '\\')
				fputc(ch, stderr);
			else
				fprintf(stderr, "\\x%02x", ch);
		}
		fputc('\n', stderr);
	}
	n = telnet_strip(s, (uint8_t *)b->base, (size_t)nread);
	if (s->done || n == 0)
		return;
	if (r->o.mode == MODE_HOLD && s->logged_in)
		return;
	if (r->o.mode == MODE_HOSTILE && s->variant != V_LONG_SHELL)
		return;
	win_feed(s, (const uint8_t *)b->base, n);
}

static void
on_timer(uv_timer_t *t)
{
	struct hpl_sess *s = t->data;

	if (s->done)
		return;
	if (s->run->o.mode == MODE_HOSTILE && (s->payload_sent || s->variant == V_HALF_OPEN ||
	                                       s->variant == V_SSH_HALF_OPEN))
		sess_end(s, END_STOP); /* the server kept the connection: fine */
	else
		sess_end(s, END_TIMEOUT);
}

static void
hostile_begin(struct hpl_sess *s)
{
	struct hpl_run *r = s->run;
	const void *p = NULL;
	size_t n = 0;
	uint64_t wait_ms = (uint64_t)(r->o.hostile_wait * 1000.0);

	switch (s->variant) {
	case V_SB_TRUNCATED: p = sb_truncated, n = sizeof(sb_truncated); break;
	case V_SB_OPEN: p = r->p_sb_open, n = r->n_sb_open; break;
	case V_IAC_FLOOD: p = r->p_flood, n = r->n_flood; break;
	case V_NUL_FF: p = r->p_nulff, n = r->n_nulff; break;
	case V_LONG_LINE: p = r->p_long, n = r->n_long; break;
	case V_SSH_BAD_VERSION: p = ssh_bad_version, n = sizeof(ssh_bad_version) - 1; break;
	case V_SSH_HUGE_LEN: p = r->p_ssh_huge, n = r->n_ssh_huge; break;
	case V_SSH_RANDOM: p = r->p_ssh_random, n = r->n_ssh_random; break;
	case V_LONG_SHELL:
		/* log in first (the login steps), then the long line (logged_in) */
		uv_timer_start(&s->timer, on_timer, (uint64_t)(r->o.step_timeout * 1000.0), 0);
		return;
	case V_HALF_OPEN:
	case V_SSH_HALF_OPEN:
	case V_COUNT:
		uv_timer_start(&s->timer, on_timer, wait_ms, 0);
		return;
	}
	/* the time limit for the write itself; on_write restarts it for the wait */
	uv_timer_start(&s->timer, on_timer, wait_ms + (uint64_t)(r->o.step_timeout * 1000.0), 0);
	if (sess_write(s, p, n, false, true) != 0)
		sess_end(s, END_ERROR);
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct hpl_sess *s = req->data;
	struct hpl_run *r = s->run;

	if (s->done)
		return;
	if (status < 0) {
		sess_end(s, END_CONNECT);
		return;
	}
	s->connected = true;
	r->established++;
	/* hostile clients that do not wait for a greeting leave the pending window now */
	if (r->o.mode == MODE_HOSTILE && s->variant != V_LONG_SHELL)
		pending_leave(s);
	if (r->established > r->peak_established)
		r->peak_established = r->established;
	uv_tcp_nodelay(&s->tcp, 1);
	if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) != 0) {
		sess_end(s, END_ERROR);
		return;
	}
	if (r->o.mode == MODE_HOSTILE)
		hostile_begin(s);
	else
		uv_timer_start(&s->timer, on_timer, (uint64_t)(r->o.step_timeout * 1000.0), 0);
	if (!r->stopping)
		start_sessions(r);
}

static int
sess_start(struct hpl_run *r)
{
	struct hpl_sess *s = calloc(1, sizeof(*s));
	const struct sockaddr_in *dst = &r->o.dst;
	int rc, fd;

	if (s == NULL)
		return UV_ENOMEM;
	s->run = r;
	s->t_start = now_ns();
	if (r->o.mode == MODE_HOSTILE) {
		s->variant = r->variants[r->started % r->nvariants];
		r->c.v_attempted[s->variant]++;
		if (is_ssh_variant(s->variant))
			dst = &r->o.ssh;
	}
	rc = uv_tcp_init_ex(r->loop, &s->tcp, AF_INET);
	if (rc != 0) {
		free(s);
		return rc;
	}
	uv_timer_init(r->loop, &s->timer);
	s->tcp.data = s->timer.data = s->creq.data = s;
	r->started++;
	r->c.attempted++;
	r->open++;
	r->pending++;
	s->in_pending = true;
	s->next = r->live;
	if (r->live != NULL)
		r->live->prev = s;
	r->live = s;
	if (r->o.src_count > 0) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		int one = 1;
		src.sin_addr.s_addr = htonl(r->o.src_first + r->src_next);
		r->src_next = (r->src_next + 1) % r->o.src_count;
		/* Distinct source addresses: the port is chosen at connect time, per 4-tuple. */
		if (uv_fileno((uv_handle_t *)&s->tcp, &fd) == 0)
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		rc = uv_tcp_bind(&s->tcp, (const struct sockaddr *)&src, 0);
		if (rc != 0) {
			sess_end(s, END_CONNECT);
			return 0;
		}
	}
	rc = uv_tcp_connect(&s->creq, &s->tcp, (const struct sockaddr *)dst, on_connect);
	if (rc != 0) {
		sess_end(s, END_CONNECT);
		return 0;
	}
	uv_timer_start(&s->timer, on_timer, (uint64_t)(r->o.step_timeout * 1000.0), 0);
	return 0;
}

static void
start_sessions(struct hpl_run *r)
{
	uint64_t allowed = UINT64_MAX;

	if (r->stopping)
		return;
	if (r->o.rate > 0) {
		double secs = (double)(now_ns() - r->t0) / 1e9;
		double a = r->o.rate * secs + 1.0;
		allowed = a > (double)r->started ? (uint64_t)a - r->started : 0;
	}
	while (allowed > 0 && r->open < r->o.sessions && r->pending < r->o.max_pending &&
	       (r->o.total == 0 || r->started < r->o.total)) {
		if (sess_start(r) != 0) {
			fprintf(stderr, "hp-load: cannot open a socket (descriptors?)\n");
			break;
		}
		allowed--;
	}
}

static void
write_result(struct hpl_run *r)
{
	const struct hpl_counts *c = &r->c;
	double el = (double)(r->t_end - r->t0) / 1e9;
	double sps = el > 0 ? (double)c->completed / el : 0.0;
	static const char *const modes[] = { "mirai", "hold", "hostile" };

	if (!r->o.json) {
		printf("mode %s: attempted %llu completed %llu failed %llu (connect %llu login %llu closed %llu "
		       "timeout %llu error %llu) unfinished %llu, %.1f s, %.1f sessions/s, p50 %.3f s p99 %.3f s, "
		       "max concurrent %llu, max held %llu\n",
		       modes[r->o.mode], (unsigned long long)c->attempted, (unsigned long long)c->completed,
		       (unsigned long long)c->failed, (unsigned long long)c->f_connect,
		       (unsigned long long)c->f_login, (unsigned long long)c->f_closed,
		       (unsigned long long)c->f_timeout, (unsigned long long)c->f_error,
		       (unsigned long long)c->unfinished, el, sps, hist_pct(r, 0.5), hist_pct(r, 0.99),
		       (unsigned long long)r->peak_established, (unsigned long long)r->peak_held);
		return;
	}
	printf("{\"mode\":\"%s\",\"attempted\":%llu,\"completed\":%llu,\"failed\":%llu,\"unfinished\":%llu,"
	       "\"failures\":{\"connect\":%llu,\"login\":%llu,\"closed\":%llu,\"timeout\":%llu,\"error\":%llu},"
	       "\"logged_in\":%llu,\"mirai_seen\":%llu,\"server_closed\":%llu,\"elapsed_s\":%.3f,\"sessions_per_s\":%.2f,"
	       "\"p50_s\":%.4f,\"p99_s\":%.4f,\"max_concurrent\":%llu,\"max_held\":%llu",
	       modes[r->o.mode], (unsigned long long)c->attempted, (unsigned long long)c->completed,
	       (unsigned long long)c->failed, (unsigned long long)c->unfinished,
	       (unsigned long long)c->f_connect, (unsigned long long)c->f_login,
	       (unsigned long long)c->f_closed, (unsigned long long)c->f_timeout,
	       (unsigned long long)c->f_error, (unsigned long long)c->logged_in, (unsigned long long)c->mirai_seen,
	       (unsigned long long)c->server_closed, el, sps, hist_pct(r, 0.5), hist_pct(r, 0.99),
	       (unsigned long long)r->peak_established, (unsigned long long)r->peak_held);
	if (r->o.mode == MODE_HOSTILE) {
		printf(",\"variants\":{");
		bool first = true;
		for (int v = 0; v < V_COUNT; v++) {
			if (c->v_attempted[v] == 0)
				continue;
			printf("%s\"%s\":{\"attempted\":%llu,\"server_closed\":%llu}", first ? "" : ",",
			       variant_names[v], (unsigned long long)c->v_attempted[v],
			       (unsigned long long)c->v_server_closed[v]);
			first = false;
		}
		printf("}");
	}
	printf("}\n");
	fflush(stdout);
}

static void
stop_run(struct hpl_run *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	r->t_end = now_ns();
	while (r->live != NULL)
		sess_end(r->live, END_STOP);
	maybe_finish(r);
}

static void
maybe_finish(struct hpl_run *r)
{
	bool all_started = r->o.total != 0 && r->started >= r->o.total;

	if (!r->stopping && !(all_started && r->open == 0))
		return;
	if (!r->stopping) {
		r->stopping = true;
		r->t_end = now_ns();
	}
	if (r->open != 0)
		return;
	if (!uv_is_closing((uv_handle_t *)&r->ticker)) {
		uv_close((uv_handle_t *)&r->ticker, NULL);
		uv_close((uv_handle_t *)&r->sigint, NULL);
		uv_close((uv_handle_t *)&r->sigterm, NULL);
	}
}

static void
on_tick(uv_timer_t *t)
{
	struct hpl_run *r = t->data;
	uint64_t now = now_ns();

	if (r->o.duration > 0 && (double)(now - r->t0) / 1e9 >= r->o.duration) {
		stop_run(r);
		return;
	}
	if (r->o.progress && now - r->last_progress >= 1000000000ULL) {
		r->last_progress = now;
		fprintf(stderr, "hp-load: t=%.0fs open=%llu pending=%llu established=%llu held=%llu completed=%llu "
		                "failed=%llu\n",
		        (double)(now - r->t0) / 1e9, (unsigned long long)r->open, (unsigned long long)r->pending,
		        (unsigned long long)r->established, (unsigned long long)r->held,
		        (unsigned long long)r->c.completed, (unsigned long long)r->c.failed);
	}
	start_sessions(r);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	stop_run(h->data);
}

/* ------------------------------------------------------------------ options */

static int
parse_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	return uv_ip4_addr(host, (int)port, out) == 0 ? 0 : -1;
}

static int
parse_cidr(const char *s, uint32_t *first, uint32_t *count)
{
	char host[32];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	char *end;
	long len;
	uint32_t base, size;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = '\0';
	len = strtol(slash + 1, &end, 10);
	if (*end != '\0' || len < 8 || len > 32 || uv_inet_pton(AF_INET, host, &a) != 0)
		return -1;
	size = len == 32 ? 1u : 1u << (32 - len);
	base = ntohl(a.s_addr) & (len == 32 ? 0xffffffffu : ~(size - 1));
	if (size >= 4) { /* leave out the network and broadcast addresses */
		*first = base + 1;
		*count = size - 2;
	} else {
		*first = base;
		*count = size;
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: hp-load --connect ADDR:PORT [options]\n"
	        "  --mode mirai|hold|hostile   dialogue (default mirai)\n"
	        "  --sessions N        concurrent sessions (default 100)\n"
	        "  --total N           sessions to start in all (default: --sessions for hold, else\n"
	        "                      unlimited with --duration, else --sessions)\n"
	        "  --duration S        stop after S seconds (0 = until --total done or SIGINT/SIGTERM)\n"
	        "  --src-net CIDR      bind each client to the next address of CIDR (round-robin)\n"
	        "  --rate R            new sessions per second (default unlimited)\n"
	        "  --max-pending N     sessions connecting or not yet greeted at once (default 64: below\n"
	        "                      the usual listen backlog of 128)\n"
	        "  --user U --pass P   login (default root / xc3511, a pair of data/credentials/mirai.tsv)\n"
	        "  --ssh ADDR:PORT     hostile mode: also send hostile bytes to this SSH server\n"
	        "  --hold-interval S   hold mode: one byte every S seconds (default 10)\n"
	        "  --step-timeout S    give up a session when an answer takes longer (default 30)\n"
	        "  --hostile-wait S    hostile mode: keep a session after its payload (default 5)\n"
	        "  --variants LIST     hostile mode: only these (telnet-sb-truncated, telnet-sb-unterminated,\n"
	        "                      telnet-iac-flood, telnet-nul-ff, telnet-long-line,\n"
	        "                      telnet-long-shell-line, telnet-half-open, ssh-bad-version,\n"
	        "                      ssh-huge-length, ssh-random, ssh-half-open)\n"
	        "  --ready-file F      hold mode: create F when --sessions sessions are logged in\n"
	        "  --seed N            hostile payloads and dropper bytes (default 1)\n"
	        "  --progress          counters on stderr every second\n"
	        "  --json              print the result as one JSON object\n");
}

static int
parse_opts(int argc, char **argv, struct hpl_opts *o)
{
	enum { O_CONNECT = 256, O_SESSIONS, O_TOTAL, O_DURATION, O_MODE, O_SRC, O_RATE, O_USER, O_PASS,
	       O_JSON, O_SSH, O_HOLD, O_STEP, O_HWAIT, O_READY, O_SEED, O_PENDING, O_PROGRESS, O_VARIANTS,
	       O_HELP };
	static const struct option lo[] = {
		{ "connect", 1, NULL, O_CONNECT },   { "sessions", 1, NULL, O_SESSIONS },
		{ "total", 1, NULL, O_TOTAL },       { "duration", 1, NULL, O_DURATION },
		{ "mode", 1, NULL, O_MODE },         { "src-net", 1, NULL, O_SRC },
		{ "rate", 1, NULL, O_RATE },         { "user", 1, NULL, O_USER },
		{ "pass", 1, NULL, O_PASS },         { "json", 0, NULL, O_JSON },
		{ "ssh", 1, NULL, O_SSH },           { "hold-interval", 1, NULL, O_HOLD },
		{ "step-timeout", 1, NULL, O_STEP }, { "hostile-wait", 1, NULL, O_HWAIT },
		{ "ready-file", 1, NULL, O_READY },  { "seed", 1, NULL, O_SEED },
		{ "max-pending", 1, NULL, O_PENDING }, { "progress", 0, NULL, O_PROGRESS },
		{ "variants", 1, NULL, O_VARIANTS }, { "help", 0, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_dst = false, have_total = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->sessions = 100;
	o->mode = MODE_MIRAI;
	o->user = "root";
	o->pass = "xc3511";
	o->hold_interval = 10;
	o->step_timeout = 30;
	o->hostile_wait = 5;
	o->seed = 1;
	o->max_pending = 64;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_CONNECT:
			if (parse_addr(optarg, &o->dst) != 0)
				goto bad;
			have_dst = true;
			break;
		case O_SSH:
			if (parse_addr(optarg, &o->ssh) != 0)
				goto bad;
			o->have_ssh = true;
			break;
		case O_SESSIONS: o->sessions = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_TOTAL: o->total = strtoull(optarg, NULL, 10); have_total = true; break;
		case O_DURATION: o->duration = strtod(optarg, NULL); break;
		case O_MODE:
			if (strcmp(optarg, "mirai") == 0)
				o->mode = MODE_MIRAI;
			else if (strcmp(optarg, "hold") == 0)
				o->mode = MODE_HOLD;
			else if (strcmp(optarg, "hostile") == 0)
				o->mode = MODE_HOSTILE;
			else
				goto bad;
			break;
		case O_SRC:
			if (parse_cidr(optarg, &o->src_first, &o->src_count) != 0)
				goto bad;
			break;
		case O_RATE: o->rate = strtod(optarg, NULL); break;
		case O_USER: o->user = optarg; break;
		case O_PASS: o->pass = optarg; break;
		case O_JSON: o->json = true; break;
		case O_HOLD: o->hold_interval = strtod(optarg, NULL); break;
		case O_STEP: o->step_timeout = strtod(optarg, NULL); break;
		case O_HWAIT: o->hostile_wait = strtod(optarg, NULL); break;
		case O_READY: o->ready_file = optarg; break;
		case O_SEED: o->seed = strtoull(optarg, NULL, 10); break;
		case O_PENDING: o->max_pending = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_PROGRESS: o->progress = true; break;
		case O_VARIANTS: o->variants = optarg; break;
		case O_HELP: usage(stdout); exit(0);
		default: goto bad;
		}
	}
	if (!have_dst || optind != argc || o->sessions == 0 || o->max_pending == 0 || o->hold_interval <= 0 ||
	    o->step_timeout <= 0 || o->hostile_wait < 0)
		goto bad;
	if (!have_total)
		o->total = (o->mode != MODE_HOLD && o->duration > 0) ? 0 : o->sessions;
	if (o->seed == 0)
		o->seed = 1;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* Enough descriptors for every session plus the loop's own. */
static void
raise_nofile(unsigned sessions)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)sessions + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need) {
		struct rlimit want = { need, need };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		fprintf(stderr, "hp-load: only %llu descriptors for %u sessions\n",
		        (unsigned long long)rl.rlim_cur, sessions);
}

int
main(int argc, char **argv)
{
	static struct hpl_run run;
	struct hpl_run *r = &run;

	if (parse_opts(argc, argv, &r->o) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	debug = getenv("HP_LOAD_DEBUG") != NULL;
	raise_nofile(r->o.sessions);
	r->loop = uv_default_loop();
	r->rng = r->o.seed;
	if (r->o.mode == MODE_MIRAI)
		build_mirai_steps(r);
	else
		build_login_steps(r);
	if (r->o.mode == MODE_HOSTILE)
		build_hostile_payloads(r);
	uv_timer_init(r->loop, &r->ticker);
	r->ticker.data = r;
	uv_signal_init(r->loop, &r->sigint);
	uv_signal_init(r->loop, &r->sigterm);
	r->sigint.data = r->sigterm.data = r;
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	r->t0 = r->last_progress = now_ns();
	/* 5 ms: fine enough for --rate and --duration, cheap with thousands of sessions */
	uv_timer_start(&r->ticker, on_tick, 5, 5);
	start_sessions(r);
	uv_run(r->loop, UV_RUN_DEFAULT);
	if (r->t_end == 0)
		r->t_end = now_ns();
	write_result(r);
	uv_loop_close(r->loop);
	for (size_t i = 0; i < r->nsteps; i++)
		free(r->steps[i].send);
	free(r->steps);
	free(r->p_sb_open);
	free(r->p_flood);
	free(r->p_nulff);
	free(r->p_long);
	free(r->p_ssh_huge);
	free(r->p_ssh_random);
	if (r->o.mode == MODE_HOLD)
		return r->c.failed == 0 && r->c.unfinished == 0 ? 0 : 1;
	return r->c.failed == 0 ? 0 : 1;
}
