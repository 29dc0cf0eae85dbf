/*
 * known-defaults (JP-34-10-2 / S1.1-02): the survey's credential lists (Mirai's table, plus vendor
 * defaults chosen by fingerprint and by the declared vendor) tried by the survey engine against
 * every password service found, one login at a time (the engine never overlaps logins on a host,
 * so a throttling device paces us). known_defaults_max_pairs caps the pairs per service; how many
 * were tried is recorded. Fails if any pair logs in.
 */
#include <stdlib.h>
#include <string.h>

#include "conform/conform_int.h"
#include "core/error.h"

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

int
conform_check_defaults(struct conform_run *run, json_t *item)
{
	const struct conform_description *d = run->desc;
	struct toride_creds creds;
	json_t *events = NULL;
	uint16_t ports[CONFORM_MAX_SERVICES];
	size_t nports = 0;
	char err[256], path[4096], list[512] = "";
	size_t loff = 0;
	int r = conform_services_ensure(run, item);
	toride_creds_init(&creds);
	if (r != 0)
		goto out;
	for (size_t i = 0; i < run->n_services; i++) {
		if (conform_service_takes_password(run, &run->services[i])) {
			ports[nports++] = run->services[i].port;
			if (loff < sizeof list - 32)
				loff += (size_t)snprintf(list + loff, sizeof list - loff, "%s%u/%s", loff ? ", " : "",
				                         run->services[i].port, run->services[i].service);
		}
	}
	if (nports == 0) {
		conform_step(run, item, "info", "password services", NULL, "none found: no credential can be tried");
		conform_verdict_set(item, CONFORM_NA, "No service takes a password.", "パスワードで認証するサービスはありません。");
		goto out;
	}
	snprintf(path, sizeof path, "%s/credentials/mirai.tsv", conform_data_dir());
	if ((r = toride_creds_load_mirai(&creds, path, err, sizeof err)) != 0) {
		conform_step(run, item, "error", "load Mirai's credential table", NULL, "%s", err);
		goto out;
	}
	if (d->vendor[0] != '\0') {
		snprintf(path, sizeof path, "%s/credentials/vendor-defaults.csv", conform_data_dir());
		int n = toride_creds_load_vendor(&creds, path, d->vendor, err, sizeof err);
		conform_step(run, item, "info", "vendor defaults for the declared vendor", NULL, "%s: %d pair(s) added", d->vendor,
		             n < 0 ? 0 : n);
	}
	unsigned cap = d->known_defaults_max_pairs;
	conform_step(run, item, "info", "known-default logins", NULL,
	             "%zu pair(s) (Mirai's table%s; vendor defaults by fingerprint are added per service) against %s%s", creds.n,
	             d->vendor[0] ? " + declared vendor" : "", list, cap ? "; capped per service by known_defaults_max_pairs" : "");
	/* one survey per service so the cap applies to each service on its own */
	bool accepted = false, incomplete = false;
	size_t tried_total = 0;
	for (size_t k = 0; k < nports; k++) {
		struct conform_survey_opts o = {.ports = &ports[k], .nports = 1, .creds = &creds, .vendor_defaults = true,
		                                .max_attempts = cap, .read_timeout_ms = 6000, .rate = 100};
		json_decref(events);
		events = NULL;
		if ((r = conform_survey(run, &o, &events, NULL)) != 0) {
			conform_step(run, item, "error", "known-default logins", NULL, "survey engine failed: %s", toride_strerror(r));
			goto out;
		}
		size_t i, tried = 0, rejected = 0, errors = 0;
		json_t *ev;
		json_array_foreach(events, i, ev) {
			json_t *data = json_object_get(ev, "data");
			if (strcmp(str(ev, "type"), "observation") == 0 && strcmp(str(ev, "kind"), "login_attempt") == 0) {
				const char *res = str(data, "result");
				tried++;
				if (strcmp(res, "rejected") == 0)
					rejected++;
				else if (strcmp(res, "error") == 0)
					errors++;
			} else if (strcmp(str(ev, "type"), "finding") == 0 && strcmp(str(ev, "requirement"), "JP-34-10-2") == 0) {
				const char *v = str(ev, "verdict");
				json_t *cr = json_object_get(ev, "credential");
				json_t *evd = json_object_get(ev, "evidence");
				char action[256];
				snprintf(action, sizeof action, "port %s:%lld (%s): known-default logins", d->address_text,
				         (long long)json_integer_value(json_object_get(ev, "port")), str(ev, "proto"));
				if (strcmp(v, "fail") == 0) {
					accepted = true;
					conform_step(run, item, "violation", action, str(evd, "transcript"),
					             "accepted %s / %s (proof %s): %s", str(cr, "user"), str(cr, "password"), str(ev, "proof"),
					             str(ev, "summary"));
				} else if (strcmp(v, "pass") == 0) {
					conform_step(run, item, "ok", action, NULL, "%s", str(ev, "summary"));
				} else {
					incomplete = true;
					conform_step(run, item, cap ? "info" : "error", action, NULL, "%s", str(ev, "summary"));
				}
			}
		}
		tried_total += tried;
		conform_step(run, item, "info", "attempts on this service", NULL,
		             "port %u: %zu pair(s) tried, %zu refused, %zu not completed", ports[k], tried, rejected, errors);
	}
	json_object_set_new(item, "measurements",
	                    json_pack("{s:I, s:I, s:I}", "pairs_listed", (json_int_t)creds.n, "pairs_tried",
	                              (json_int_t)tried_total, "max_pairs_per_service", (json_int_t)cap));
	if (accepted) {
		conform_verdict_set(item, CONFORM_FAIL, "A service accepts a known default credential.",
		                    "既知の初期認証情報でログインできるサービスがあります。");
	} else if (incomplete && cap == 0) {
		conform_verdict_set(item, CONFORM_UNKNOWN, "Not every listed pair could be tried.",
		                    "一覧のすべての組み合わせを試すことができませんでした。");
	} else {
		char reason[256], reason_ja[256];
		snprintf(reason, sizeof reason, "None of the %zu pair(s) tried was accepted%s.", tried_total,
		         cap ? " (capped per service by the description)" : "");
		snprintf(reason_ja, sizeof reason_ja, "試行した %zu 組のいずれでもログインできませんでした%s。", tried_total,
		         cap ? "（記述ファイルの上限による）" : "");
		conform_verdict_set(item, CONFORM_PASS, reason, reason_ja);
	}
	r = 0;
out:
	json_decref(events);
	toride_creds_free(&creds);
	return r;
}
