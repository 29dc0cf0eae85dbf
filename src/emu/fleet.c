/*
 * The fleet engine: addresses, profiles per device, listeners, connections, truth. See fleet.h.
 */
#include "emu/fleet.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "core/error.h"
#include "core/permute.h"
#include "core/scope.h"
#include "emu/serve.h"
#include "emu/ssh.h"

/* Why 256: profiles have at most EMU_MAX_SERVICES services; a mix lists a few dozen profiles. */
#define MIX_MAX 256
/* Why 128: connection bursts of a survey; the kernel queues them while the loop works. */
#define FLEET_BACKLOG 128

struct listener {
	struct fleet *fleet;
	const struct emu_device *dev;
	const struct emu_service *svc;
	uint16_t port;
};

struct fleet {
	const struct emu_fleet_config *cfg;
	struct emu_fleet_stats *stats;
	uv_loop_t loop;
	uv_timer_t stop_timer;
	struct emu_device *devices;
	unsigned ndevices;
	struct listener *listeners;
	size_t nlisteners;
	struct emu_serve *serve;
	struct emu_ssh *ssh;
	/* Counted by the observer every device carries; SSH sessions call it from their own threads. */
	_Atomic uint64_t logins, logins_ok;
	uint64_t stats_shown[4]; /* what the stats file holds now, to rewrite it only on a change */
	bool stats_valid;
	struct emu_ssh_stats ssh_last; /* SSH counters as last read: they outlive emu_ssh_stop */
};

static void
flog(struct fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
flog(struct fleet *f, const char *fmt, ...)
{
	if (f->cfg->log == NULL)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	f->cfg->log(line, f->cfg->log_arg);
}

/* Every connection is served by the device and service of the listener it came in on. */
static bool
fleet_open(void *arg, void *lctx, const struct sockaddr_storage *peer, const struct emu_device **dev,
           const struct emu_service **svc, void **sess)
{
	const struct listener *l = lctx;
	(void)arg;
	(void)peer;
	*dev = l->dev;
	*svc = l->svc;
	*sess = NULL;
	return true;
}

/* A listening socket on a device address. IPv4 lab nets live in 127.0.0.0/8, which Linux routes
 * to lo, so a plain bind works. An IPv6 lab net is made local with an AnyIP route ("ip -6 route add
 * local fd96::/112 dev lo" inside a namespace): the kernel then accepts packets for every address
 * of the prefix, but IPv6 bind() only accepts configured addresses, so the socket sets IP_FREEBIND
 * (honoured by IPv6 sockets too). Without the route the listeners simply receive nothing. */
static int
fleet_listen(const struct toride_addr *a, uint16_t port, int backlog, int *fd_out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int r = toride_addr_to_sockaddr(a, port, &ss, &sl);
	if (r != 0)
		return r;
	if (a->family != 6)
		return emu_listen_socket((struct sockaddr *)&ss, sl, backlog, fd_out);
	int one = 1;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return TORIDE_EIO;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, backlog) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return TORIDE_EIO;
	}
	*fd_out = fd;
	return 0;
}

/* "a:port" for IPv4, "[a]:port" for IPv6, for messages. */
static void
fleet_endpoint(const struct emu_device *d, uint16_t port, char *out, size_t outlen)
{
	snprintf(out, outlen, d->addr.family == 6 ? "[%s]:%u" : "%s:%u", d->addr_str, port);
}

/* Addresses no ordinary host has: x.x.x.0 and x.x.x.255 in IPv4; in IPv6 an interface id ending
 * in :0 (the subnet-router anycast address of a /112 and its like). */
static bool
fleet_addr_skipped(const struct toride_addr *a)
{
	if (a->family == 4)
		return a->b[3] == 0 || a->b[3] == 255;
	return a->b[14] == 0 && a->b[15] == 0;
}

static void
fleet_close(void *arg, void *sess, enum emu_end why)
{
	(void)arg;
	(void)sess;
	(void)why;
}

/* Every login attempt of every service of every device passes here (emu_device_check_login). */
static void
fleet_login(void *arg, const char *user, const char *pass, bool ok)
{
	struct fleet *f = arg;
	(void)user;
	(void)pass;
	atomic_fetch_add_explicit(&f->logins, 1, memory_order_relaxed);
	if (ok)
		atomic_fetch_add_explicit(&f->logins_ok, 1, memory_order_relaxed);
}

static const struct emu_observer fleet_observer = {.login = fleet_login};

/* The counters now: sessions and refusals of the event loop and of SSH, logins of both. */
static void
fleet_counters(struct fleet *f, uint64_t v[4])
{
	struct emu_serve_stats ss = {0};
	if (f->serve != NULL)
		emu_serve_stats(f->serve, &ss);
	if (f->ssh != NULL)
		emu_ssh_stats(f->ssh, &f->ssh_last);
	v[0] = ss.sessions + f->ssh_last.sessions;
	v[1] = ss.refused + f->ssh_last.refused;
	v[2] = atomic_load_explicit(&f->logins, memory_order_relaxed);
	v[3] = atomic_load_explicit(&f->logins_ok, memory_order_relaxed);
}

/* Rewrite cfg->stats_path when a counter moved (temporary file + rename: readers see whole files).
 * Best effort: a full disk must not stop the fleet, so errors are logged once per failure. */
static void
write_stats(struct fleet *f, const uint64_t v[4])
{
	const char *path = f->cfg->stats_path;
	if (path == NULL || (f->stats_valid && memcmp(v, f->stats_shown, sizeof f->stats_shown) == 0))
		return;
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return;
	FILE *fp = fopen(tmp, "w");
	if (fp == NULL) {
		flog(f, "%s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(fp,
	        "{\"listeners\": %llu, \"sessions\": %llu, \"refused\": %llu, \"logins\": %llu, \"logins_ok\": %llu}\n",
	        (unsigned long long)f->nlisteners, (unsigned long long)v[0], (unsigned long long)v[1],
	        (unsigned long long)v[2], (unsigned long long)v[3]);
	if (fclose(fp) != 0 || rename(tmp, path) != 0) {
		flog(f, "%s: %s", path, strerror(errno));
		return;
	}
	memcpy(f->stats_shown, v, sizeof f->stats_shown);
	f->stats_valid = true;
}

/* ------------------------------------------------------------------ building the fleet */

struct mix_entry {
	const struct emu_profile *p;
	unsigned weight;
};

static int
parse_mix(const struct emu_fleet_config *cfg, struct mix_entry *mix, size_t *n, unsigned *total, char *err,
          size_t errlen)
{
	*n = 0;
	*total = 0;
	if (cfg->mix == NULL || strcmp(cfg->mix, "all") == 0) {
		for (size_t i = 0; i < cfg->profiles->n && *n < MIX_MAX; i++) {
			mix[(*n)++] = (struct mix_entry){&cfg->profiles->v[i], 1};
			(*total)++;
		}
		return 0;
	}
	char *copy = strdup(cfg->mix), *save = NULL;
	if (copy == NULL)
		return TORIDE_ENOMEM;
	int r = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned w = 1;
		if (eq != NULL) {
			*eq = '\0';
			char *end;
			unsigned long v = strtoul(eq + 1, &end, 10);
			if (*end != '\0' || v == 0 || v > 1000000) {
				snprintf(err, errlen, "--mix: bad weight for '%s'", tok);
				r = TORIDE_EINVAL;
				break;
			}
			w = (unsigned)v;
		}
		const struct emu_profile *p = emu_profiles_find(cfg->profiles, tok);
		if (p == NULL) {
			snprintf(err, errlen, "--mix: no profile '%s' (toride lab --list-profiles)", tok);
			r = TORIDE_EINVAL;
			break;
		}
		if (*n >= MIX_MAX) {
			snprintf(err, errlen, "--mix: more than %d entries", MIX_MAX);
			r = TORIDE_ETOOBIG;
			break;
		}
		mix[(*n)++] = (struct mix_entry){p, w};
		*total += w;
	}
	free(copy);
	if (r == 0 && *n == 0) {
		snprintf(err, errlen, "--mix: no profile given");
		r = TORIDE_EINVAL;
	}
	return r;
}

static const struct emu_profile *
pick_profile(const struct mix_entry *mix, size_t n, unsigned total, uint64_t seed, unsigned i)
{
	/* Round-robin over the weighted list, started at a seeded offset: every profile of the mix
	 * appears (a fleet of >= n devices covers them all), in proportion to its weight. */
	unsigned k = (unsigned)((toride_splitmix64(seed) + i) % total);
	for (size_t j = 0; j < n; j++) {
		if (k < mix[j].weight)
			return mix[j].p;
		k -= mix[j].weight;
	}
	return mix[n - 1].p;
}

static json_t *
truth_device(const struct emu_device *d, const struct listener *ls, size_t nls)
{
	const struct emu_profile *p = d->profile;
	json_t *svcs = json_array();
	for (size_t i = 0; i < nls; i++) {
		if (ls[i].dev != d)
			continue;
		const struct emu_service *s = ls[i].svc;
		bool open = false;
		switch (s->proto) {
		case EMU_TELNET: open = p->policy == EMU_CRED_NO_AUTH; break;
		case EMU_SSH: open = p->policy == EMU_CRED_NO_AUTH; break;
		case EMU_HTTP:
		case EMU_RTSP: open = s->http_auth == EMU_HTTP_AUTH_NONE || p->policy == EMU_CRED_NO_AUTH; break;
		case EMU_MQTT:
		case EMU_FTP: open = s->anonymous || p->policy == EMU_CRED_NO_AUTH; break;
		case EMU_PROTO_COUNT: break;
		}
		/* Which pair logs in through this service, as a survey would try it. */
		bool pair_works = !open && (p->policy == EMU_CRED_FACTORY_DEFAULT || p->policy == EMU_CRED_UNIQUE);
		if (s->proto == EMU_SSH && !s->ssh_password && !s->ssh_kbdint)
			pair_works = false;
		if ((s->proto == EMU_HTTP || s->proto == EMU_RTSP) && s->http_auth == EMU_HTTP_AUTH_FORM)
			pair_works = false; /* form logins are a different test */
		json_t *js = json_pack("{s:s, s:i, s:b}", "proto", emu_proto_name(s->proto), "port", ls[i].port, "open", open);
		if (s->proto == EMU_HTTP || s->proto == EMU_RTSP)
			json_object_set_new(js, "http_auth",
			                    json_string(s->http_auth == EMU_HTTP_AUTH_NONE    ? "none"
			                                : s->http_auth == EMU_HTTP_AUTH_BASIC ? "basic"
			                                : s->http_auth == EMU_HTTP_AUTH_DIGEST ? "digest"
			                                                                        : "form"));
		if (pair_works)
			json_object_set_new(js, "login", json_pack("{s:s, s:s}", "user", p->user, "password", d->pass));
		json_array_append_new(svcs, js);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "addr", d->addr_str, "profile", p->id, "vendor",
	                 p->vendor, "product", p->product, "type", p->type, "policy", emu_cred_policy_name(p->policy),
	                 "hostname", d->hostname, "services", svcs);
}

static int
write_truth(struct fleet *f, char *err, size_t errlen)
{
	const struct emu_fleet_config *cfg = f->cfg;
	if (cfg->truth_path == NULL)
		return 0;
	json_t *devs = json_array();
	for (unsigned i = 0; i < f->ndevices; i++)
		json_array_append_new(devs, truth_device(&f->devices[i], f->listeners, f->nlisteners));
	json_t *root = json_pack("{s:s, s:i, s:I, s:s, s:i, s:o}", "net", cfg->net, "devices_count", (int)f->ndevices,
	                         "seed", (json_int_t)cfg->seed, "mix", cfg->mix ? cfg->mix : "all", "port_offset",
	                         (int)cfg->port_offset, "devices", devs);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", cfg->truth_path);
	int r = json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (r != 0 || rename(tmp, cfg->truth_path) != 0) {
		snprintf(err, errlen, "%s: cannot write the truth file: %s", cfg->truth_path, strerror(errno));
		return TORIDE_EIO;
	}
	return 0;
}

static void
stop_check(uv_timer_t *t)
{
	struct fleet *f = t->data;
	if (f->cfg->stats_path != NULL) {
		uint64_t v[4];
		fleet_counters(f, v);
		write_stats(f, v);
	}
	if (f->cfg->stop_flag != NULL && *f->cfg->stop_flag)
		uv_stop(&f->loop);
}

static void
close_any(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
emu_fleet_run(const struct emu_fleet_config *cfg, struct emu_fleet_stats *stats, char *err, size_t errlen)
{
	int r = 0;
	struct toride_scope *net = NULL;
	struct mix_entry mix[MIX_MAX];
	size_t nmix;
	unsigned total;
	struct fleet *f = calloc(1, sizeof *f);
	if (f == NULL)
		return TORIDE_ENOMEM;
	memset(stats, 0, sizeof *stats);
	f->cfg = cfg;
	f->stats = stats;
	if (sodium_init() < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	if (cfg->profiles->n == 0) {
		snprintf(err, errlen, "no device profiles loaded");
		r = TORIDE_EINVAL;
		goto out;
	}
	if ((r = parse_mix(cfg, mix, &nmix, &total, err, errlen)) != 0)
		goto out;
	if ((r = toride_scope_new(&net)) != 0 || (r = toride_scope_add(net, cfg->net, err, errlen)) != 0 ||
	    (r = toride_scope_finalize(net, err, errlen)) != 0)
		goto out;
	emu_raise_fd_limit();

	f->devices = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof *f->devices);
	size_t max_listeners = (size_t)cfg->ndevices * EMU_MAX_SERVICES;
	f->listeners = calloc(max_listeners ? max_listeners : 1, sizeof *f->listeners);
	if (f->devices == NULL || f->listeners == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	uv_loop_init(&f->loop);
	f->loop.data = f;
	struct emu_serve_config scfg = {
		.max_sessions = cfg->max_sessions,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.no_delays = cfg->no_delays,
	};
	struct emu_serve_hooks hooks = {.open = fleet_open, .close = fleet_close, .arg = f};
	if ((r = emu_serve_new(&f->serve, &f->loop, &scfg, &hooks)) != 0)
		goto out_loop;
	if (cfg->hostkey_dir != NULL && (r = emu_ssh_new(&f->ssh, cfg->hostkey_dir)) != 0) {
		snprintf(err, errlen, "SSH host keys in %s: %s", cfg->hostkey_dir, toride_strerror(r));
		goto out_loop;
	}
	if (f->ssh != NULL) {
		/* SSH sessions run a thread each (libssh): cap them lower than the event-loop services. */
		unsigned ssh_cap = cfg->max_sessions < EMU_FLEET_SSH_MAX_SESSIONS ? cfg->max_sessions : EMU_FLEET_SSH_MAX_SESSIONS;
		emu_ssh_set_limits(f->ssh, ssh_cap, cfg->idle_timeout_ms);
		emu_ssh_set_no_delays(f->ssh, cfg->no_delays);
	}

	/* Addresses: the net's addresses in order, skipping those no ordinary host has (see
	 * fleet_addr_skipped) so every device looks like an ordinary host. */
	uint64_t idx = 0, count = toride_scope_count(net);
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct toride_addr a;
		do {
			if (idx >= count) {
				snprintf(err, errlen, "%s holds fewer than %u usable addresses", cfg->net, cfg->ndevices);
				r = TORIDE_EINVAL;
				goto out_loop;
			}
			toride_scope_addr_at(net, idx++, &a);
		} while (fleet_addr_skipped(&a));
		const struct emu_profile *p = pick_profile(mix, nmix, total, cfg->seed, i);
		struct emu_device *d = &f->devices[f->ndevices++];
		if ((r = emu_device_init(d, p, &a, cfg->seed, i)) != 0) {
			snprintf(err, errlen, "device %u: %s", i, toride_strerror(r));
			goto out_loop;
		}
		d->obs = &fleet_observer;
		d->obs_arg = f;
		for (size_t k = 0; k < p->nservices; k++) {
			const struct emu_service *s = &p->services[k];
			uint16_t port = s->port;
			char ep[TORIDE_ADDR_STRLEN + 8];
			if (port < 1024 && cfg->port_offset > 0)
				port = (uint16_t)(port + cfg->port_offset);
			fleet_endpoint(d, port, ep, sizeof ep);
			if (s->proto == EMU_SSH && f->ssh == NULL)
				continue;
			int fd = -1;
			if (fleet_listen(&a, port, FLEET_BACKLOG, &fd) != 0) {
				int e = errno;
				snprintf(err, errlen, "cannot listen on %s: %s%s", ep, strerror(e),
				         e == EACCES ? " (ports below 1024 need root: use --port-offset)" : "");
				r = TORIDE_EIO;
				goto out_loop;
			}
			if (s->proto == EMU_SSH) {
				/* emu_ssh_listen_fd owns fd from here, even when it fails */
				if ((r = emu_ssh_listen_fd(f->ssh, d, s, fd)) != 0) {
					snprintf(err, errlen, "SSH on %s: %s", ep, toride_strerror(r));
					goto out_loop;
				}
				f->listeners[f->nlisteners++] = (struct listener){.fleet = f, .dev = d, .svc = s, .port = port};
				stats->listeners++;
				continue;
			}
			struct listener *l = &f->listeners[f->nlisteners];
			*l = (struct listener){.fleet = f, .dev = d, .svc = s, .port = port};
			if ((r = emu_serve_listen_fd(f->serve, fd, s->proto, l)) != 0) {
				snprintf(err, errlen, "cannot serve %s: %s", ep, toride_strerror(r));
				goto out_loop;
			}
			f->nlisteners++;
			stats->listeners++;
		}
	}
	if (f->ssh != NULL && (r = emu_ssh_start(f->ssh)) != 0) {
		snprintf(err, errlen, "SSH server: %s", toride_strerror(r));
		goto out_loop;
	}
	if ((r = write_truth(f, err, errlen)) != 0)
		goto out_loop;
	if (cfg->stats_path != NULL) {
		uint64_t v[4];
		fleet_counters(f, v);
		write_stats(f, v);
	}
	flog(f, "%u devices, %llu listeners on %s", f->ndevices, (unsigned long long)stats->listeners, cfg->net);
	if (cfg->ready_path != NULL) {
		FILE *rf = fopen(cfg->ready_path, "w");
		if (rf != NULL)
			fclose(rf);
	}
	uv_timer_init(&f->loop, &f->stop_timer);
	f->stop_timer.data = f;
	uv_timer_start(&f->stop_timer, stop_check, 100, 100);
	uv_run(&f->loop, UV_RUN_DEFAULT);
out_loop:
	if (f->ssh != NULL) {
		/* Its counters go with it: take the final ones first. */
		uint64_t v[4];
		fleet_counters(f, v);
		write_stats(f, v);
		emu_ssh_stop(f->ssh);
		f->ssh = NULL;
	}
	emu_serve_shutdown(f->serve);
	uv_walk(&f->loop, close_any, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	if (f->serve != NULL) {
		struct emu_serve_stats ss;
		emu_serve_stats(f->serve, &ss);
		stats->sessions += ss.sessions;
		stats->refused += ss.refused;
		stats->bytes_in += ss.bytes_in;
		stats->bytes_out += ss.bytes_out;
	}
	stats->logins = atomic_load(&f->logins);
	stats->logins_ok = atomic_load(&f->logins_ok);
	if (f->serve != NULL) {
		uint64_t v[4];
		fleet_counters(f, v);
		write_stats(f, v);
	}
	emu_serve_free(f->serve);
	uv_loop_close(&f->loop);
out:
	toride_scope_free(net);
	free(f->devices);
	free(f->listeners);
	free(f);
	return r;
}
