/*
 * access (JP-34-10-1 / S1.1-01): every TCP port of the description's ports (default all) of the one
 * address is scanned with the survey engine (connect scan, scope of exactly that address), every
 * open port identified, and each service probed for operation without authentication by the
 * survey's no-auth checks (telnet shell without login proven by a marker echo, HTTP admin page
 * without auth, MQTT CONNACK accepted anonymously, RTSP DESCRIBE without auth, anonymous FTP, SSH
 * "none" auth). Fills run->services for the later checks.
 */
#include <stdlib.h>
#include <string.h>

#include "conform/conform_int.h"
#include "core/error.h"

static const struct conform_interface *
declared(const struct conform_description *d, uint16_t port)
{
	for (size_t i = 0; i < d->n_interfaces; i++)
		if (d->interfaces[i].port == port)
			return &d->interfaces[i];
	return NULL;
}

static struct conform_service *
service_get(struct conform_run *run, uint16_t port)
{
	for (size_t i = 0; i < run->n_services; i++)
		if (run->services[i].port == port)
			return &run->services[i];
	if (run->n_services >= CONFORM_MAX_SERVICES)
		return NULL;
	struct conform_service *s = &run->services[run->n_services++];
	memset(s, 0, sizeof *s);
	s->port = port;
	snprintf(s->service, sizeof s->service, "unknown");
	s->declared = declared(run->desc, port) != NULL;
	return s;
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

int
conform_check_access(struct conform_run *run, json_t *item)
{
	const struct conform_description *d = run->desc;
	uint16_t *ports = NULL;
	size_t nports = 0;
	json_t *events = NULL;
	char err[256], action[512];
	int r = conform_ports_parse(d->ports, &ports, &nports, err, sizeof err);
	if (r != 0)
		goto out;
	run->n_services = 0;
	snprintf(action, sizeof action, "TCP connect scan of %s, ports %s (%zu ports, %u/s)", d->address_text, d->ports,
	         nports, d->scan_rate);
	conform_step(run, item, "info", action, NULL, "started");
	struct conform_survey_opts o = {.ports = ports, .nports = nports, .rate = d->scan_rate};
	bool stopped = false;
	if ((r = conform_survey(run, &o, &events, &stopped)) != 0) {
		conform_step(run, item, "error", action, NULL, "scan failed: %s", toride_strerror(r));
		conform_verdict_set(item, CONFORM_UNKNOWN, "The port scan could not be completed.",
		                    "ポートスキャンを完了できませんでした。");
		r = 0;
		goto out;
	}
	/* open ports and services */
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		const char *type = str(ev, "type");
		json_int_t port = json_integer_value(json_object_get(ev, "port"));
		if (port < 1 || port > 65535)
			continue;
		if (strcmp(type, "probe_done") == 0 || strcmp(type, "observation") == 0 || strcmp(type, "finding") == 0) {
			struct conform_service *s = service_get(run, (uint16_t)port);
			if (s == NULL)
				continue;
			const char *proto = json_string_value(json_object_get(ev, "proto"));
			if (proto != NULL && *proto)
				snprintf(s->service, sizeof s->service, "%s", proto);
			if (strcmp(type, "observation") == 0 && strcmp(str(ev, "kind"), "service") == 0) {
				const char *m = str(json_object_get(ev, "data"), "ssh_auth_methods");
				if (*m)
					snprintf(s->detail, sizeof s->detail, "%s", m);
			}
		}
	}
	snprintf(action, sizeof action, "TCP connect scan of %s, ports %s", d->address_text, d->ports);
	{
		char list[1024] = "";
		size_t off = 0;
		for (size_t k = 0; k < run->n_services && off < sizeof list - 32; k++)
			off += (size_t)snprintf(list + off, sizeof list - off, "%s%u/%s", k ? ", " : "", run->services[k].port,
			                        run->services[k].service);
		conform_step(run, item, "info", action, NULL, "%zu open port(s)%s%s%s", run->n_services,
		             run->n_services ? ": " : "", list, stopped ? " (scan interrupted)" : "");
	}
	for (size_t k = 0; k < run->n_services; k++) {
		struct conform_service *s = &run->services[k];
		if (!s->declared) {
			snprintf(action, sizeof action, "port %u/%s", s->port, s->service);
			conform_step(run, item, "info", action, NULL,
			             "open but not declared in the description's interfaces (examined like the others)");
		}
	}
	for (size_t k = 0; k < d->n_interfaces; k++) {
		bool found = false;
		for (size_t j = 0; j < run->n_services; j++)
			found |= run->services[j].port == d->interfaces[k].port;
		if (!found) {
			snprintf(action, sizeof action, "declared interface %u/%s", d->interfaces[k].port, d->interfaces[k].service);
			conform_step(run, item, "info", action, NULL, "not open");
		}
	}
	/* the no-auth verdicts the survey proved, each with its transcript */
	bool any_fail = false, any_unknown = false;
	char failed[512] = "";
	size_t foff = 0;
	json_array_foreach(events, i, ev) {
		if (strcmp(str(ev, "type"), "finding") != 0 || strcmp(str(ev, "requirement"), "JP-34-10-1") != 0)
			continue;
		json_int_t port = json_integer_value(json_object_get(ev, "port"));
		struct conform_service *s = port >= 1 && port <= 65535 ? service_get(run, (uint16_t)port) : NULL;
		const char *v = str(ev, "verdict");
		json_t *evd = json_object_get(ev, "evidence");
		const char *transcript = str(evd, "transcript");
		const char *banner = str(evd, "banner");
		const char *note = str(evd, "note");
		snprintf(action, sizeof action, "probe %s:%lld (%s) for operation without authentication", d->address_text,
		         (long long)port, s ? s->service : "?");
		if (strcmp(v, "fail") == 0) {
			any_fail = true;
			if (s != NULL)
				s->noauth = true;
			conform_step(run, item, "violation", action, *transcript ? transcript : banner, "%s (proof %s)%s%s",
			             str(ev, "summary"), str(ev, "proof"), *note ? "; " : "", note);
			if (foff < sizeof failed - 40)
				foff += (size_t)snprintf(failed + foff, sizeof failed - foff, "%s%lld/%s", foff ? ", " : "",
				                         (long long)port, s ? s->service : "?");
		} else if (strcmp(v, "pass") == 0) {
			if (s != NULL)
				s->needs_auth = true;
			conform_step(run, item, "ok", action, banner, "%s", str(ev, "summary"));
		} else {
			const struct conform_interface *di = declared(d, (uint16_t)port);
			if (di != NULL && !di->management) {
				conform_step(run, item, "info", action, banner, "%s (declared not a management interface)",
				             str(ev, "summary"));
			} else {
				any_unknown = true;
				conform_step(run, item, "error", action, banner, "undecided: %s", str(ev, "summary"));
			}
		}
	}
	for (size_t k = 0; k < run->n_services; k++) {
		struct conform_service *s = &run->services[k];
		if (strcmp(s->service, "unknown") == 0) {
			const struct conform_interface *di = declared(d, s->port);
			snprintf(action, sizeof action, "identify port %u", s->port);
			if (di != NULL && !di->management) {
				conform_step(run, item, "info", action, NULL,
				             "protocol not identified; declared not a management interface");
			} else {
				any_unknown = true;
				conform_step(run, item, "error", action, NULL,
				             "protocol not identified: access control could not be examined");
			}
		}
	}
	if (any_fail) {
		char reason[768];
		snprintf(reason, sizeof reason, "A management interface allows operation without authentication (%s).", failed);
		char reason_ja[768];
		snprintf(reason_ja, sizeof reason_ja, "認証なしで操作できる管理用インタフェースがあります（%s）。", failed);
		conform_verdict_set(item, CONFORM_FAIL, reason, reason_ja);
	} else if (run->n_services == 0) {
		conform_verdict_set(item, CONFORM_UNKNOWN, "No open port was found: the device did not answer.",
		                    "開いているポートが見つかりません（機器が応答しません）。");
	} else if (any_unknown || stopped) {
		conform_verdict_set(item, CONFORM_UNKNOWN, "Access control of some open port could not be decided.",
		                    "一部のポートのアクセス制御を判定できませんでした。");
	} else {
		char reason[256];
		if (run->n_services == 1)
			snprintf(reason, sizeof reason,
			         "The one open port asks for authentication before any operation.");
		else
			snprintf(reason, sizeof reason,
			         "Each of the %zu open ports asks for authentication before any operation.",
			         run->n_services);
		char reason_ja[256];
		snprintf(reason_ja, sizeof reason_ja, "開いている全 %zu ポートで、操作の前に認証が求められます。", run->n_services);
		conform_verdict_set(item, CONFORM_PASS, reason, reason_ja);
	}
	json_object_set_new(item, "measurements", json_pack("{s:I, s:I}", "ports_scanned", (json_int_t)nports,
	                                                    "open_ports", (json_int_t)run->n_services));
	r = 0;
out:
	json_decref(events);
	free(ports);
	return r;
}
