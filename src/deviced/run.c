/*
 * `toride-deviced run`: the boot step, the "firmware" start (self-test, confirm, watchdog), the
 * two admin interfaces on libuv, in-process reboots and the automatic update check.
 *
 * Reboot = everything a power cycle resets: every connection is dropped, in-progress installs
 * are aborted, the device object is closed (sessions and throttle counters are memory only) and
 * reopened from storage, then the boot step runs again. The listening sockets stay (the "network
 * stack" of this simulated device), so clients see connections refused by nothing but dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "deviced/deviced.h"
#include "proto/form.h"

/* Bytes queued to one slow reader before we drop it: pages and status are a few KiB. */
#define DEVD_MAX_WRITE_QUEUE (256 * 1024)
/* Connections from one address: a browser opens ~6, a script a few; the rest of the cap stays
 * free for everyone else (one flooding address cannot lock the owner out). */
#define DEVD_MAX_CONNS_PER_SOURCE 16
/* One read buffer for the loop: every read is handled before the next one. */
#define DEVD_READ_BUF (64 * 1024)
/* An update announcement (version=, url=) is a few lines. */
#define DEVD_ANNOUNCE_MAX 4096
/* Health check of a trial firmware before it confirms itself. */
#define DEVD_HEALTH_MS 300
/* How long a crashing firmware runs before the watchdog reboots the device. */
#define DEVD_WATCHDOG_MS 1500
/* Progress is logged in steps of this many bytes (plus start and end). */
#define DEVD_PROGRESS_STEP (256 * 1024)

static char read_buf[DEVD_READ_BUF];

/* ---- connections -------------------------------------------------------------------------- */

static void
conn_handle_closed(uv_handle_t *h)
{
	struct devd_conn *c = h->data;
	if (--c->handles == 0)
		free(c);
}

/* Drop at once: UI state is freed now (it may hold an install on the current device object),
 * the memory when libuv is done with the handles. */
static void
conn_destroy(struct devd_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->is_http)
		devd_http_free(c);
	else if (c->is_shell)
		devd_fault_shell_free(c);
	else
		devd_telnet_free(c);
	c->ui = NULL;
	struct devd *d = c->d;
	for (struct devd_conn **pp = &d->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	d->n_conns--;
	uv_timer_stop(&c->timer);
	c->handles = 2;
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void
after_write(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

int
devd_conn_write(struct devd_conn *c, const void *p, size_t n)
{
	if (c->closing || n == 0)
		return 0;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) + n > DEVD_MAX_WRITE_QUEUE) {
		conn_destroy(c);
		return UV_ENOBUFS;
	}
	uv_write_t *req = malloc(sizeof(*req) + n);
	if (req == NULL)
		return UV_ENOMEM;
	memcpy(req + 1, p, n);
	uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)n);
	int r = uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, after_write);
	if (r != 0)
		free(req);
	return r;
}

static void
after_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	struct devd_conn *c = req->data;
	free(req);
	if (c != NULL)
		conn_destroy(c);
}

void
devd_conn_close(struct devd_conn *c)
{
	if (c->closing)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_shutdown_t *req = malloc(sizeof(*req));
	if (req == NULL) {
		conn_destroy(c);
		return;
	}
	req->data = c;
	if (uv_shutdown(req, (uv_stream_t *)&c->tcp, after_shutdown) != 0) {
		free(req);
		conn_destroy(c);
	}
}

struct devd_conn *
devd_conn_find(struct devd *d, uint64_t id)
{
	for (struct devd_conn *c = d->conns; c != NULL; c = c->next)
		if (c->id == id && !c->closing)
			return c;
	return NULL;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(read_buf, sizeof(read_buf));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct devd_conn *c = s->data;
	if (n < 0) {
		conn_destroy(c);
		return;
	}
	if (n == 0 || c->closing)
		return;
	if (c->is_http)
		devd_http_input(c, (const uint8_t *)buf->base, (size_t)n);
	else if (c->is_shell)
		devd_fault_shell_input(c, (const uint8_t *)buf->base, (size_t)n);
	else
		devd_telnet_input(c, (const uint8_t *)buf->base, (size_t)n);
}

void
devd_conn_pause(struct devd_conn *c)
{
	if (!c->closing)
		uv_read_stop((uv_stream_t *)&c->tcp);
}

void
devd_conn_resume(struct devd_conn *c)
{
	if (!c->closing)
		uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void
conn_timer_cb(uv_timer_t *t)
{
	struct devd_conn *c = t->data;
	void (*cb)(struct devd_conn *) = c->timer_cb;
	c->timer_cb = NULL;
	if (cb != NULL)
		cb(c);
	else
		conn_destroy(c); /* idle timeout */
}

void
devd_conn_timer(struct devd_conn *c, uint64_t ms, void (*cb)(struct devd_conn *))
{
	if (c->closing)
		return;
	c->timer_cb = cb;
	uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

static void
on_connection(uv_stream_t *srv, int status, bool is_http, bool is_shell)
{
	struct devd *d = srv->data;
	if (status < 0)
		return;
	struct devd_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->d = d;
	c->is_http = is_http;
	c->is_shell = is_shell;
	c->id = ++d->next_conn_id;
	uv_tcp_init(d->loop, &c->tcp);
	uv_timer_init(d->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->next = d->conns;
	d->conns = c;
	d->n_conns++;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0 || d->n_conns > DEVD_MAX_CONNS || d->reboot_pending) {
		conn_destroy(c);
		return;
	}
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	snprintf(c->peer, sizeof(c->peer), "unknown");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
		else if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
	}
	unsigned same = 0;
	for (struct devd_conn *o = d->conns; o != NULL; o = o->next)
		if (!o->closing && strcmp(o->peer, c->peer) == 0)
			same++;
	if (same > DEVD_MAX_CONNS_PER_SOURCE) {
		conn_destroy(c);
		return;
	}
	int r = is_http ? devd_http_open(c) : is_shell ? devd_fault_shell_open(c) : devd_telnet_open(c);
	if (r != 0) {
		conn_destroy(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void
on_telnet(uv_stream_t *srv, int status)
{
	on_connection(srv, status, false, false);
}

static void
on_http(uv_stream_t *srv, int status)
{
	on_connection(srv, status, true, false);
}

static void
on_shell(uv_stream_t *srv, int status)
{
	on_connection(srv, status, false, true);
}

static int
listen_on(struct devd *d, uv_tcp_t *srv, int port, uv_connection_cb cb)
{
	struct sockaddr_storage ss;
	int r;
	if (strchr(d->listen, ':') != NULL)
		r = uv_ip6_addr(d->listen, port, (struct sockaddr_in6 *)&ss);
	else
		r = uv_ip4_addr(d->listen, port, (struct sockaddr_in *)&ss);
	if (r != 0) {
		devd_log("bad listen address %s", d->listen);
		return r;
	}
	uv_tcp_init(d->loop, srv);
	srv->data = d;
	r = uv_tcp_bind(srv, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)srv, 16, cb);
	if (r != 0)
		devd_log("cannot listen on %s port %d: %s", d->listen, port, uv_strerror(r));
	return r;
}

/* ---- boot and firmware -------------------------------------------------------------------- */

static void reboot_now(struct devd *d);

/* Parses "toride-demo-firmware version=V selftest=ok|fail" from the running slot. */
static void
firmware_start(struct devd *d)
{
	char head[DEVD_FW_HEAD_MAX + 1];
	size_t got = 0;
	d->fw_version[0] = '\0';
	d->fw_selftest_ok = false;
	int r = toride_dev_slot_read(d->dev, d->boot.slot, 0, head, DEVD_FW_HEAD_MAX, &got);
	head[r == 0 ? got : 0] = '\0';
	head[strcspn(head, "\r\n")] = '\0';
	char *argv[4];
	char line[DEVD_FW_HEAD_MAX + 1];
	snprintf(line, sizeof(line), "%s", head);
	size_t n = toride_cmd_split(line, argv, 4);
	if (n >= 3 && strcmp(argv[0], DEVD_FW_MAGIC) == 0 && strncmp(argv[1], "version=", 8) == 0 &&
	    strncmp(argv[2], "selftest=", 9) == 0) {
		snprintf(d->fw_version, sizeof(d->fw_version), "%s", argv[1] + 8);
		d->fw_selftest_ok = strcmp(argv[2] + 9, "ok") == 0;
	}
	if (d->fw_version[0] == '\0')
		devd_log("firmware in slot %c is not a demo firmware image: it cannot start", d->boot.slot);
	else
		devd_log("firmware %s started, self-test %s", d->fw_version, d->fw_selftest_ok ? "ok" : "FAILED");
}

static void
health_cb(uv_timer_t *t)
{
	struct devd *d = t->data;
	if (!d->fw_selftest_ok) {
		devd_log("watchdog: firmware %s never became healthy; rebooting", d->fw_version[0] ? d->fw_version : "?");
		reboot_now(d);
		return;
	}
	int r = toride_dev_confirm(d->dev);
	if (r == 0) {
		struct toride_dev_status st;
		toride_dev_status(d->dev, &st);
		d->confirmed_this_boot = true;
		d->boot.trial = 0;
		devd_log("health check passed: confirmed firmware %s in slot %c (downgrade floor now %s)",
		         d->boot.version, d->boot.slot, st.floor);
	} else {
		devd_log("confirm failed: %s", toride_dev_strerror(r));
	}
}

/* One boot: the library picks the slot (counting a trial try durably), then the firmware runs. */
static int
boot(struct devd *d)
{
	int r = toride_dev_boot(d->dev, &d->boot);
	if (r != 0) {
		devd_log("boot failed: %s", toride_dev_strerror(r));
		return r;
	}
	d->boots++;
	d->boot_gen++;
	d->confirmed_this_boot = false;
	devd_log("boot %u: slot %c, version %s, %s, tries left %u%s%s", d->boots, d->boot.slot, d->boot.version,
	         d->boot.trial ? "trial" : "confirmed", d->boot.tries_left,
	         d->boot.rolled_back ? ", rolled back from " : "",
	         d->boot.rolled_back ? d->boot.rolled_back_version : "");
	if (d->boot.rolled_back)
		devd_log("rollback: firmware %s never confirmed itself; back on %s", d->boot.rolled_back_version,
		         d->boot.version);
	firmware_start(d);
	if (!d->fw_selftest_ok)
		uv_timer_start(&d->health_timer, health_cb, d->watchdog_ms, 0);
	else if (d->boot.trial)
		uv_timer_start(&d->health_timer, health_cb, d->health_ms, 0);
	return 0;
}

static void
fatal_stop(struct devd *d)
{
	d->exit_code = DEVD_EXIT_ERROR;
	d->stopping = true;
	uv_stop(d->loop);
}

static void
reboot_now(struct devd *d)
{
	d->reboot_pending = false;
	devd_log("rebooting");
	while (d->conns != NULL)
		conn_destroy(d->conns);
	uv_timer_stop(&d->health_timer);
	uv_timer_stop(&d->update_timer);
	toride_dev_close(d->dev);
	d->dev = NULL;
	int r = devd_dev_open(d);
	if (r != 0) {
		devd_log("cannot open the device state after reboot: %s", toride_dev_strerror(r));
		fatal_stop(d);
		return;
	}
	if (boot(d) != 0) {
		fatal_stop(d);
		return;
	}
	devd_update_schedule(d, true);
}

static void
reboot_cb(uv_timer_t *t)
{
	reboot_now(t->data);
}

void
devd_reboot_later(struct devd *d, uint32_t delay_ms)
{
	if (d->reboot_pending)
		return;
	d->reboot_pending = true;
	uv_timer_start(&d->reboot_timer, reboot_cb, delay_ms, 0);
}

/* ---- downloads and the automatic update check ---------------------------------------------- */

struct devd_job {
	uv_work_t work;
	struct devd *d;
	uint64_t gen;
	bool announce;               /* automatic: read <base>/latest first */
	char base[DEVD_URL_MAX];
	char url[DEVD_URL_MAX];
	char running[TORIDE_DEV_MAX_VERSION];
	char version[TORIDE_DEV_MAX_VERSION];
	char part[PATH_MAX + 32], part_url[PATH_MAX + 32];
	char token[TORIDE_DEV_TOKEN_LEN + 1];
	uint64_t conn_id;
	const char *ca_file;
	bool allow_http;
	bool newer;
	int r;
	uint64_t logged;
	struct toride_dev_fetch_result res;
	char msg[DEVD_URL_MAX + 512];
};

static int
job_progress(void *ctx, uint64_t have, uint64_t total)
{
	struct devd_job *j = ctx;
	if (have >= j->logged + DEVD_PROGRESS_STEP) {
		j->logged = have;
		devd_log("download: %llu of %llu bytes", (unsigned long long)have, (unsigned long long)total);
	}
	return 0;
}

/* Binds the part file to the URL it holds bytes of: another URL starts it over. */
static void
job_bind_part(struct devd_job *j)
{
	char old[DEVD_URL_MAX] = "";
	FILE *f = fopen(j->part_url, "re");
	if (f != NULL) {
		if (fgets(old, sizeof(old), f) == NULL)
			old[0] = '\0';
		fclose(f);
		old[strcspn(old, "\n")] = '\0';
	}
	if (strcmp(old, j->url) != 0) {
		unlink(j->part);
		f = fopen(j->part_url, "we");
		if (f != NULL) {
			fprintf(f, "%s\n", j->url);
			fclose(f);
		}
	}
}

static void
job_work(uv_work_t *w)
{
	struct devd_job *j = w->data;
	struct toride_dev_fetch_options o = {
		.ca_file = j->ca_file,
		.allow_http = j->allow_http,
		.low_speed_time_s = 15,
		.connect_timeout_s = 10,
	};
	if (j->announce) {
		char latest[DEVD_URL_MAX], text[DEVD_ANNOUNCE_MAX], ref[DEVD_URL_MAX];
		size_t len = 0;
		if (toride_url_resolve(j->base, "latest", latest, sizeof(latest)) != 0) {
			j->r = TORIDE_DEV_EINVAL;
			snprintf(j->msg, sizeof(j->msg), "bad update URL %s", j->base);
			return;
		}
		j->r = toride_dev_fetch_mem(latest, &o, text, sizeof(text), &len, &j->res);
		if (j->r != 0) {
			snprintf(j->msg, sizeof(j->msg), "update check failed: %s", j->res.error);
			return;
		}
		if (toride_kvtext_get(text, len, "version", j->version, sizeof(j->version)) != 0 ||
		    toride_kvtext_get(text, len, "url", ref, sizeof(ref)) != 0 ||
		    toride_url_resolve(latest, ref, j->url, sizeof(j->url)) != 0) {
			j->r = TORIDE_DEV_EFORMAT;
			snprintf(j->msg, sizeof(j->msg), "update announcement %s is malformed", latest);
			return;
		}
		if (toride_dev_version_cmp(j->version, j->running) <= 0) {
			snprintf(j->msg, sizeof(j->msg), "up to date (running %s, latest %s)", j->running, j->version);
			return;
		}
	}
	j->newer = true;
	job_bind_part(j);
	struct stat st;
	uint64_t have = stat(j->part, &st) == 0 ? (uint64_t)st.st_size : 0;
	j->logged = have;
	if (have > 0)
		devd_log("download: resuming %s after %llu bytes", j->url, (unsigned long long)have);
	else
		devd_log("download: %s", j->url);
	o.max_size = DEVD_MAX_BUNDLE;
	o.progress = job_progress;
	o.progress_ctx = j;
	j->r = toride_dev_fetch(j->url, j->part, &o, &j->res);
	if (j->r != 0)
		snprintf(j->msg, sizeof(j->msg), "download interrupted at %llu bytes: %s (it resumes next time)",
		         (unsigned long long)j->res.size, j->res.error);
	else
		devd_log("download complete: %llu bytes (resumed from %llu%s, HTTP %ld)", (unsigned long long)j->res.size,
		         (unsigned long long)j->res.resumed_from, j->res.restarted ? ", restarted" : "",
		         j->res.http_status);
}

static void
job_done(uv_work_t *w, int status)
{
	struct devd_job *j = w->data;
	struct devd *d = j->d;
	struct toride_dev_update *u = NULL;
	struct toride_dev_bundle_info info;
	struct devd_conn *c = NULL;
	d->fetch_busy = false;
	if (d->stopping)
		goto out;
	if (j->conn_id != 0)
		c = devd_conn_find(d, j->conn_id);
	if (status != 0 || j->gen != d->boot_gen) {
		devd_log("download result dropped (the device rebooted meanwhile)");
		goto out;
	}
	if (j->r != 0 || !j->newer) {
		devd_log("%s", j->msg);
		goto report;
	}
	int r = j->token[0] != '\0' ? toride_dev_update_begin(d->dev, j->token, &u)
	                             : toride_dev_update_begin_auto(d->dev, &u);
	if (r == 0)
		r = devd_install_file(u, j->part, &info);
	if (r == 0) {
		unlink(j->part);
		unlink(j->part_url);
		snprintf(d->last_update, sizeof(d->last_update), "installed %s (%s)", info.version,
		         j->token[0] != '\0' ? "telnet" : "automatic");
		snprintf(j->msg, sizeof(j->msg), "installed %s; rebooting into it", info.version);
		devd_log("update: %s", j->msg);
		devd_reboot_later(d, 500);
	} else {
		/* Bytes the device refuses will not get better by resuming: start over next time. */
		if (r != TORIDE_DEV_EBUSY && r != TORIDE_DEV_EIO && r != TORIDE_DEV_ENOMEM) {
			unlink(j->part);
			unlink(j->part_url);
		}
		snprintf(d->last_update, sizeof(d->last_update), "refused %s: %s", j->url, toride_dev_strerror(r));
		snprintf(j->msg, sizeof(j->msg), "update refused: %s", toride_dev_strerror(r));
		devd_log("%s (%s)", j->msg, j->url);
	}
report:
	if (c != NULL && !c->is_http)
		devd_telnet_update_done(c, j->msg);
	if (j->announce && !d->reboot_pending)
		devd_update_schedule(d, false);
out:
	sodium_memzero(j->token, sizeof(j->token));
	free(j);
}

int
devd_update_start(struct devd *d, const char *url, bool announce, const char *token, uint64_t conn_id)
{
	if (d->fetch_busy)
		return TORIDE_DEV_EBUSY;
	struct devd_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return TORIDE_DEV_ENOMEM;
	j->d = d;
	j->gen = d->boot_gen;
	j->announce = announce;
	j->conn_id = conn_id;
	j->ca_file = d->ca_file;
	j->allow_http = d->allow_http;
	snprintf(announce ? j->base : j->url, sizeof(j->url), "%s", url);
	snprintf(j->running, sizeof(j->running), "%s", d->boot.version);
	snprintf(j->part, sizeof(j->part), "%s/%s", d->state_dir, DEVD_PART_FILE);
	snprintf(j->part_url, sizeof(j->part_url), "%s/%s", d->state_dir, DEVD_PART_URL_FILE);
	if (token != NULL)
		snprintf(j->token, sizeof(j->token), "%s", token);
	j->work.data = j;
	int r = uv_queue_work(d->loop, &j->work, job_work, job_done);
	if (r != 0) {
		free(j);
		return TORIDE_DEV_ENOMEM;
	}
	d->fetch_busy = true;
	return 0;
}

static void
update_timer_cb(uv_timer_t *t)
{
	struct devd *d = t->data;
	char v[8];
	const struct devd_setting *s = devd_setting_find("update.auto");
	devd_setting_value(d, s, v, sizeof(v));
	if (strcmp(v, "on") != 0 || d->boot.trial) {
		/* Off by the owner, or a trial is waiting for its verdict: look again later. */
		devd_update_schedule(d, false);
		return;
	}
	devd_log("update check: %s", d->update_url);
	if (devd_update_start(d, d->update_url, true, NULL, 0) != 0)
		devd_update_schedule(d, false);
}

void
devd_update_schedule(struct devd *d, bool first)
{
	if (d->update_url[0] == '\0' || d->stopping)
		return;
	uint64_t ms = (uint64_t)d->update_interval_s * 1000;
	/* Jitter (up to a quarter of the interval) spreads a fleet's checks over time. */
	uint64_t jitter = randombytes_uniform((uint32_t)(ms / 4 < UINT32_MAX ? ms / 4 + 1 : UINT32_MAX));
	if (first && ms > 5000)
		ms = 5000; /* soon after boot, then every interval */
	uv_timer_start(&d->update_timer, update_timer_cb, ms + jitter, 0);
}

/* ---- run ---------------------------------------------------------------------------------- */

static void
on_signal(uv_signal_t *s, int signum)
{
	struct devd *d = s->data;
	devd_log("signal %d: shutting down", signum);
	while (d->conns != NULL)
		conn_destroy(d->conns);
	d->stopping = true;
	uv_stop(d->loop);
}

static const char run_help[] =
    "usage: toride-deviced run --state DIR [--listen 127.0.0.1] [--telnet-port 2323] [--http-port 8080]\n"
    "         [--update-url https://.../ [--update-interval 3600] [--ca FILE] [--allow-http]]\n"
    "         [--throttle FREE,BASE_MS,ACCOUNT_CAP_MS,LOCKOUT_FAILURES,LOCKOUT_MS]\n"
    "         [--health-ms 300] [--watchdog-ms 1500] [--fault LIST]\n"
    "Boots (A/B slot choice, trial counting, rollback), starts the firmware (a trial confirms itself\n"
    "after its health check; a failing one is rebooted by the watchdog), serves the telnet and HTTP\n"
    "admin interfaces (port 0 = off) and checks <update-url>/latest for newer signed firmware.\n"
    "--throttle replaces the library's defaults (3,1000,30000,10,900000): for labs and tests.\n"
    "--fault makes a deliberately BROKEN device for tests of toride conform (docs/deviced.md):\n"
    "  factory-password-stays=PW, open-shell[=PORT], accept-unsigned, volatile-settings, no-throttle\n";

static int
parse_throttle(const char *s, struct toride_dev_throttle_policy *p)
{
	unsigned long v[5];
	char *end;
	for (int i = 0; i < 5; i++) {
		errno = 0;
		v[i] = strtoul(s, &end, 10);
		if (errno != 0 || end == s || v[i] > UINT32_MAX || (i < 4 ? *end != ',' : *end != '\0'))
			return -1;
		s = end + 1;
	}
	p->free_failures = (unsigned)v[0];
	p->base_delay_ms = (uint32_t)v[1];
	p->max_account_delay_ms = (uint32_t)v[2];
	p->lockout_failures = (unsigned)v[3];
	p->lockout_ms = (uint32_t)v[4];
	return 0;
}

static int
parse_port(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

int
devd_cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, 's' }, { "listen", required_argument, NULL, 'l' },
		{ "telnet-port", required_argument, NULL, 't' }, { "http-port", required_argument, NULL, 'p' },
		{ "update-url", required_argument, NULL, 'u' }, { "update-interval", required_argument, NULL, 'i' },
		{ "ca", required_argument, NULL, 'c' }, { "allow-http", no_argument, NULL, 'H' },
		{ "throttle", required_argument, NULL, 'T' }, { "health-ms", required_argument, NULL, 'e' },
		{ "watchdog-ms", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
		{ "fault", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	static struct devd d; /* lives as long as the loop; handles point into it */
	const char *state = NULL;
	int c;
	memset(&d, 0, sizeof(d));
	d.listen = "127.0.0.1";
	d.telnet_port = 2323;
	d.http_port = 8080;
	d.update_interval_s = 3600;
	d.health_ms = DEVD_HEALTH_MS;
	d.watchdog_ms = DEVD_WATCHDOG_MS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'l': d.listen = optarg; break;
		case 't':
			if (parse_port(optarg, &d.telnet_port) != 0)
				goto bad;
			break;
		case 'p':
			if (parse_port(optarg, &d.http_port) != 0)
				goto bad;
			break;
		case 'u':
			if (strlen(optarg) >= sizeof(d.update_url))
				goto bad;
			snprintf(d.update_url, sizeof(d.update_url), "%s", optarg);
			break;
		case 'i':
			d.update_interval_s = (unsigned)strtoul(optarg, NULL, 10);
			if (d.update_interval_s == 0)
				goto bad;
			break;
		case 'c': d.ca_file = optarg; break;
		case 'H': d.allow_http = true; break;
		case 'T':
			if (parse_throttle(optarg, &d.throttle) != 0)
				goto bad;
			d.have_throttle = true;
			break;
		case 'e': d.health_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': d.watchdog_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'F': {
			char err[256];
			if (devd_fault_parse(&d.fault, optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "toride-deviced run: --fault: %s\n", err);
				return DEVD_EXIT_USAGE;
			}
			break;
		}
		case 'h': fputs(run_help, stdout); return 0;
		default:
		bad:
			fprintf(stderr, "toride-deviced run: bad option or value (see toride-deviced run --help)\n");
			return DEVD_EXIT_USAGE;
		}
	}
	if (optind != argc || state == NULL) {
		fprintf(stderr, "toride-deviced run: --state DIR is required (see toride-deviced run --help)\n");
		return DEVD_EXIT_USAGE;
	}
	if (d.update_url[0] != '\0') {
		char probe[DEVD_URL_MAX];
		if (toride_url_resolve(d.update_url, "latest", probe, sizeof(probe)) != 0 ||
		    (strncmp(d.update_url, "https://", 8) != 0 && !(d.allow_http && strncmp(d.update_url, "http://", 7) == 0))) {
			fprintf(stderr, "toride-deviced run: --update-url must be https://host/... (or http:// with --allow-http)\n");
			return DEVD_EXIT_USAGE;
		}
	}
	if (d.fault.mask & DEVD_FAULT_NO_THROTTLE) {
		/* Every failure is free: no delay, no lockout (lockout_failures 0 = never). */
		d.throttle = (struct toride_dev_throttle_policy){ .free_failures = UINT_MAX };
		d.have_throttle = true;
	}
	devd_fault_warn(&d.fault);
	int rc = devd_device_open(&d, state);
	if (rc != 0) {
		devd_state_close(&d);
		return rc;
	}
	d.loop = uv_default_loop();
	d.started_ms = devd_now_ms();
	uv_timer_init(d.loop, &d.health_timer);
	uv_timer_init(d.loop, &d.reboot_timer);
	uv_timer_init(d.loop, &d.update_timer);
	d.health_timer.data = d.reboot_timer.data = d.update_timer.data = &d;
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sigterm);
	d.sigint.data = d.sigterm.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	devd_log("device %s (state %s)", d.id.target, d.state_dir);
	if (boot(&d) != 0) {
		devd_state_close(&d);
		return DEVD_EXIT_ERROR;
	}
	if ((d.telnet_port != 0 && listen_on(&d, &d.telnet_srv, d.telnet_port, on_telnet) != 0) ||
	    (d.http_port != 0 && listen_on(&d, &d.http_srv, d.http_port, on_http) != 0) ||
	    ((d.fault.mask & DEVD_FAULT_OPEN_SHELL) && listen_on(&d, &d.shell_srv, d.fault.shell_port, on_shell) != 0)) {
		devd_state_close(&d);
		return DEVD_EXIT_ERROR;
	}
	devd_log("listening on %s: telnet %d, http %d%s%s", d.listen, d.telnet_port, d.http_port,
	         d.update_url[0] ? ", update check " : "", d.update_url);
	devd_update_schedule(&d, true);
	uv_run(d.loop, UV_RUN_DEFAULT);
	devd_state_close(&d);
	return d.exit_code;
}
