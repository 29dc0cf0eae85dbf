/*
 * brute-force (TORIDE-BRUTE / S1.1-04): wrong logins on each password service for
 * brute_force_seconds, alternating a made-up user name and the real user (wrong passwords only).
 * The guess rate counts attempts the device actually evaluated (answered with a refusal) after the
 * first 10; delays, throttle messages, HTTP 429 and hang-ups are recorded. Fails if the rate stays
 * above 10 per minute with no lockout seen. Afterwards the real login must work again within
 * CONFORM_BRUTE_RECOVER_S (a lockout of the real user must be finite). n/a without password
 * services (key-only). telnet: the survey's login rules through conform_tn; the toride-deviced
 * HTTP admin through its JSON login; other protocols through the survey engine.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conform/conform_int.h"
#include "core/error.h"
#include "core/event.h"

/* S1.1-04 / TORIDE-BRUTE: more than 10 guesses a minute after the first 10 failures is a fail. */
#define BRUTE_MAX_RATE_PER_MIN 10.0
#define BRUTE_FREE_FAILURES 10
/* Why 180 s: a lockout of the real user longer than three minutes after a short attack is a
 * denial of service on the owner; the check says so rather than wait for ever. */
#define CONFORM_BRUTE_RECOVER_S 180
/* Why 4096: attempts recorded per service; at 10 ms each a minute stays below. */
#define BRUTE_MAX_ATTEMPTS 4096

struct brute_stats {
	double t[BRUTE_MAX_ATTEMPTS]; /* times of evaluated refusals */
	size_t n;
	unsigned sent, throttled, hangups, errors;
	char lockout_note[256];
	char sample[1024]; /* one transcript of a throttle message */
};

static double
now_s(void)
{
	return toride_time_now();
}

/* The time box is the shortest measurement. It is extended (up to BRUTE_EXTEND times) while the
 * result is still undecidable: no throttle or lockout answer yet and not more than the free
 * failures evaluated, so a slow link or a loaded examiner cannot turn "slowed" into a rate. */
#define BRUTE_EXTEND 4
static bool
keep_going(const struct brute_stats *b, double until, double hard_until)
{
	double now = now_s();
	if (now < until)
		return true;
	return now < hard_until && b->throttled == 0 && b->n <= BRUTE_FREE_FAILURES;
}

static bool
text_throttled(const char *text, size_t len)
{
	static const char *const words[] = {"too many", "try again", "locked", "lockout", "wait ", "blocked", "retry"};
	char low[1024];
	size_t n = len < sizeof low - 1 ? len : sizeof low - 1;
	const char *p = len > n ? text + len - n : text;
	for (size_t i = 0; i < n; i++)
		low[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : (p[i] ? p[i] : ' ');
	low[n] = '\0';
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(low, words[i]) != NULL)
			return true;
	return false;
}

static void
record(struct brute_stats *b)
{
	if (b->n < BRUTE_MAX_ATTEMPTS)
		b->t[b->n++] = now_s();
}

static const char *
pick_user(const struct conform_run *run, unsigned i, const char *fake)
{
	return (i % 2 == 1 && run->desc->user[0] != '\0') ? run->desc->user : fake;
}

static void
brute_telnet(struct conform_run *run, uint16_t port, double until, double hard_until, const char *fake,
             struct brute_stats *b)
{
	struct conform_tn *t = NULL;
	/* After a refusal the device usually prompts again on the same connection ("Login
	 * incorrect\r\nlogin: "); that prompt is used as it is, as an attacker would, instead of
	 * waiting for new text that will not come. */
	enum toride_tn_screen reprompt = TORIDE_TN_NOTHING;
	while (keep_going(b, until, hard_until)) {
		if (t == NULL || conform_tn_closed(t)) {
			conform_tn_close(t);
			t = NULL;
			reprompt = TORIDE_TN_NOTHING;
			if (conform_tn_open(run, port, &t) != 0) {
				b->errors++;
				usleep(200000);
				continue;
			}
		}
		size_t len;
		enum toride_tn_screen s = reprompt != TORIDE_TN_NOTHING ? reprompt : conform_tn_wait(t, 5000);
		reprompt = TORIDE_TN_NOTHING;
		const char *text = conform_tn_text(t, &len);
		if (text_throttled(text, len)) {
			b->throttled++;
			if (b->sample[0] == '\0')
				snprintf(b->sample, sizeof b->sample, "%.*s", (int)(len < 400 ? len : 400), text);
			conform_tn_close(t);
			t = NULL;
			continue;
		}
		char pw[24];
		conform_random_password(pw, sizeof pw);
		if (s == TORIDE_TN_LOGIN_PROMPT) {
			conform_tn_send(t, pick_user(run, b->sent, fake));
			s = conform_tn_wait(t, 5000);
		}
		if (s != TORIDE_TN_PASSWORD_PROMPT) {
			if (conform_tn_closed(t))
				b->hangups++;
			else
				b->errors++;
			conform_tn_close(t);
			t = NULL;
			continue;
		}
		b->sent++;
		conform_tn_send(t, pw);
		s = conform_tn_wait(t, 15000);
		text = conform_tn_text(t, &len);
		if (text_throttled(text, len)) {
			b->throttled++;
			if (b->sample[0] == '\0')
				snprintf(b->sample, sizeof b->sample, "%.*s", (int)(len < 400 ? len : 400), text);
		} else if (s == TORIDE_TN_FAILURE || s == TORIDE_TN_LOGIN_PROMPT || s == TORIDE_TN_PASSWORD_PROMPT ||
		           toride_telnet_text_has_failure(text, len)) {
			record(b);
			enum toride_tn_screen next = toride_telnet_classify_prompt(text, len);
			if (next == TORIDE_TN_LOGIN_PROMPT || next == TORIDE_TN_PASSWORD_PROMPT)
				reprompt = next;
		} else if (conform_tn_closed(t)) {
			b->hangups++;
		} else {
			b->errors++;
			conform_tn_close(t);
			t = NULL;
		}
	}
	conform_tn_close(t);
}

static void
brute_deviced_http(struct conform_run *run, uint16_t port, double until, double hard_until, const char *fake,
                   struct brute_stats *b)
{
	while (keep_going(b, until, hard_until)) {
		char pw[24];
		conform_random_password(pw, sizeof pw);
		json_t *j = json_pack("{s:s, s:s}", "user", pick_user(run, b->sent, fake), "password", pw);
		char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		struct conform_http_resp resp;
		b->sent++;
		int r = conform_http(run, port, "POST", "/login", NULL, "application/json", body, body ? strlen(body) : 0,
		                     15000, &resp);
		free(body);
		if (r == TORIDE_ETIMEOUT) {
			/* The device held its answer for the whole 15 s: a delay is slowing too (the
			 * reference device answers a lockout-triggering failure only when the lockout ends). */
			b->throttled++;
			if (b->sample[0] == '\0')
				snprintf(b->sample, sizeof b->sample, "no answer to a wrong login within 15 s (delayed)");
		} else if (r != 0) {
			b->errors++;
			usleep(100000);
		} else if (resp.status == 401) {
			record(b);
		} else if (resp.status == 429) {
			b->throttled++;
			if (b->sample[0] == '\0') {
				char ra[64] = "";
				conform_http_header(&resp, "Retry-After", ra, sizeof ra);
				snprintf(b->sample, sizeof b->sample, "HTTP 429, Retry-After: %s, %.*s", ra,
				         (int)(resp.body.len < 300 ? resp.body.len : 300), resp.body.data ? (const char *)resp.body.data : "");
			}
			usleep(200000); /* a throttled device is not hammered */
		} else {
			b->errors++;
		}
		conform_http_resp_free(&resp);
	}
}

static void
brute_survey(struct conform_run *run, uint16_t port, double seconds, const char *fake, struct brute_stats *b)
{
	struct toride_creds creds;
	json_t *events = NULL;
	toride_creds_init(&creds);
	/* enough pairs for a fast device: the time box ends the run */
	for (unsigned i = 0; i < BRUTE_MAX_ATTEMPTS; i++) {
		char pw[24];
		conform_random_password(pw, sizeof pw);
		toride_creds_add(&creds, pick_user(run, i, fake), pw, "file");
	}
	struct conform_survey_opts o = {.ports = &port, .nports = 1, .creds = &creds, .max_seconds = seconds,
	                                .read_timeout_ms = 5000, .rate = 100};
	if (conform_survey(run, &o, &events, NULL) != 0) {
		b->errors++;
		goto out;
	}
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		json_t *data = json_object_get(ev, "data");
		const char *kind = json_string_value(json_object_get(ev, "kind"));
		if (kind == NULL || strcmp(kind, "login_attempt") != 0)
			continue;
		const char *res = json_string_value(json_object_get(data, "result"));
		const char *detail = json_string_value(json_object_get(data, "detail"));
		b->sent++;
		if (res != NULL && strcmp(res, "rejected") == 0 && (detail == NULL || strcmp(detail, "connection closed") != 0)) {
			/* the event's own time: the survey wrote it when the refusal arrived */
			struct tm tm = {0};
			const char *ts = json_string_value(json_object_get(ev, "time"));
			int ms = 0;
			if (ts != NULL && b->n < BRUTE_MAX_ATTEMPTS &&
			    sscanf(ts, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			           &tm.tm_sec, &ms) == 7) {
				tm.tm_year -= 1900;
				tm.tm_mon -= 1;
				b->t[b->n++] = (double)timegm(&tm) + ms / 1000.0;
			}
		} else if (detail != NULL && strcmp(detail, "connection closed") == 0) {
			b->hangups++;
		} else {
			b->errors++;
		}
	}
out:
	json_decref(events);
	toride_creds_free(&creds);
}

/* The real password, if known. */
static const char *
real_password(const struct conform_run *run)
{
	const struct conform_description *d = run->desc;
	if (run->current_password[0] != '\0')
		return run->current_password;
	if (d->scheme == CONFORM_SCHEME_FACTORY_DEFAULT)
		return d->factory_password;
	if (d->scheme == CONFORM_SCHEME_UNIQUE)
		return d->unit_passwords[0];
	return NULL;
}

/* Does the real login work? 1 yes, 0 refused, -1 undecided. */
static int
real_login(struct conform_run *run, const struct conform_service *s, bool adapter_http, const char *pw)
{
	const struct conform_description *d = run->desc;
	if (strcmp(s->service, "telnet") == 0) {
		char detail[256];
		int r = conform_telnet_login(run, s->port, d->user, pw, true, NULL, NULL, detail, sizeof detail);
		return r == 1 || r == 2 ? 1 : r == 0 ? 0 : -1;
	}
	if (adapter_http) {
		json_t *j = json_pack("{s:s, s:s}", "user", d->user, "password", pw);
		char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		struct conform_http_resp resp;
		int r = conform_http(run, s->port, "POST", "/login", NULL, "application/json", body, body ? strlen(body) : 0,
		                     15000, &resp);
		free(body);
		int st = r == 0 ? resp.status : 0;
		conform_http_resp_free(&resp);
		return st == 200 ? 1 : st == 401 || st == 429 ? 0 : -1;
	}
	struct toride_creds creds;
	json_t *events = NULL;
	int res = -1;
	uint16_t port = s->port;
	toride_creds_init(&creds);
	toride_creds_add(&creds, d->user, pw, "file");
	struct conform_survey_opts o = {.ports = &port, .nports = 1, .creds = &creds, .read_timeout_ms = 5000, .rate = 100};
	if (conform_survey(run, &o, &events, NULL) == 0) {
		size_t i;
		json_t *ev;
		json_array_foreach(events, i, ev) {
			const char *rr = json_string_value(json_object_get(json_object_get(ev, "data"), "result"));
			if (rr != NULL && strcmp(rr, "accepted") == 0)
				res = 1;
			else if (rr != NULL && strcmp(rr, "rejected") == 0 && res < 0)
				res = 0;
		}
	}
	json_decref(events);
	toride_creds_free(&creds);
	return res;
}

int
conform_check_brute(struct conform_run *run, json_t *item)
{
	const struct conform_description *d = run->desc;
	int r = conform_services_ensure(run, item);
	if (r != 0)
		return r;
	uint16_t admin_port = 0;
	if (strcmp(d->adapter, "toride-deviced") == 0 && conform_url_port(run, d->admin_url, &admin_port) != 0)
		admin_port = 0;
	char fake[32], hex[9];
	conform_random_hex(hex, 8);
	snprintf(fake, sizeof fake, "toride-nouser-%s", hex);
	bool any = false, failed = false, unknown = false, lockout_any = false;
	double worst = 0;
	json_t *per = json_array();
	struct brute_stats *b = malloc(sizeof *b);
	if (b == NULL || per == NULL) {
		free(b);
		json_decref(per);
		return TORIDE_ENOMEM;
	}
	for (size_t k = 0; k < run->n_services; k++) {
		const struct conform_service *s = &run->services[k];
		bool adapter_http = admin_port != 0 && s->port == admin_port;
		if (!conform_service_takes_password(run, s) && !adapter_http)
			continue;
		any = true;
		memset(b, 0, sizeof *b);
		char action[256];
		snprintf(action, sizeof action, "%s:%u (%s): wrong logins for %u s as \"%s\" and \"%s\"", d->address_text, s->port,
		         s->service, d->brute_force_seconds, fake, d->user[0] ? d->user : fake);
		conform_step(run, item, "info", action, NULL, "started");
		double t0 = now_s(), until = t0 + d->brute_force_seconds;
		double hard_until = t0 + (double)d->brute_force_seconds * BRUTE_EXTEND;
		if (strcmp(s->service, "telnet") == 0)
			brute_telnet(run, s->port, until, hard_until, fake, b);
		else if (adapter_http)
			brute_deviced_http(run, s->port, until, hard_until, fake, b);
		else
			brute_survey(run, s->port, d->brute_force_seconds, fake, b);
		double t1 = now_s();
		double window = t1 - t0 > d->brute_force_seconds ? t1 - t0 : d->brute_force_seconds;
		double rate;
		const char *basis;
		if (b->n > BRUTE_FREE_FAILURES) {
			double span = t1 - b->t[BRUTE_FREE_FAILURES - 1];
			rate = span > 0 ? (double)(b->n - BRUTE_FREE_FAILURES) * 60.0 / span : 0;
			basis = "after the first 10 refusals";
		} else {
			rate = (double)b->n * 60.0 / window;
			basis = "fewer than 10 refusals in the window: over all of them";
		}
		bool lockout = b->throttled > 0;
		lockout_any |= lockout;
		if (rate > worst)
			worst = rate;
		bool bad = rate > BRUTE_MAX_RATE_PER_MIN && !lockout;
		if (b->n == 0 && !lockout) {
			unknown = true;
			conform_step(run, item, "error", action, NULL,
			             "no wrong login was evaluated (%u sent, %u hang-ups, %u errors): rate not measured", b->sent,
			             b->hangups, b->errors);
		} else {
			conform_step(run, item, bad ? "violation" : "ok", action, b->sample[0] ? b->sample : NULL,
			             "%zu refusals evaluated in %.1f s (%u sent); %.1f guesses/min %s; %u throttle/lockout answers, "
			             "%u hang-ups, %u errors",
			             b->n, t1 - t0, b->sent, rate, basis, b->throttled, b->hangups, b->errors);
			failed |= bad;
		}
		json_array_append_new(per, json_pack("{s:i, s:s, s:f, s:I, s:I, s:I, s:I}", "port", s->port, "service", s->service,
		                                     "guess_rate_per_min", rate, "evaluated", (json_int_t)b->n, "sent",
		                                     (json_int_t)b->sent, "throttled", (json_int_t)b->throttled, "hangups",
		                                     (json_int_t)b->hangups));
		/* the real user must get in again: any lockout is finite */
		const char *pw = real_password(run);
		if (pw == NULL) {
			conform_step(run, item, "info", "real login afterwards", NULL,
			             "the current password is not known (the credentials check did not set one): not verified");
		} else {
			double deadline = now_s() + CONFORM_BRUTE_RECOVER_S;
			int ok = -1;
			double start = now_s();
			while (now_s() < deadline && (ok = real_login(run, s, adapter_http, pw)) != 1)
				sleep(3);
			char a2[256];
			snprintf(a2, sizeof a2, "%s:%u: log in as %s with the real password", d->address_text, s->port, d->user);
			if (ok == 1) {
				conform_step(run, item, "ok", a2, NULL, "accepted %.0f s after the attack", now_s() - start);
			} else {
				unknown = true;
				conform_step(run, item, "error", a2, NULL,
				             "still refused %d s after the attack: the owner is locked out (or the password is not "
				             "the current one)",
				             CONFORM_BRUTE_RECOVER_S);
			}
		}
	}
	free(b);
	if (!any) {
		json_decref(per);
		conform_step(run, item, "info", "password services", NULL, "none: nothing to guess");
		conform_verdict_set(item, CONFORM_NA, "No service takes a password (nothing to guess).",
		                    "パスワードで認証するサービスがないため対象外です。");
		return 0;
	}
	json_object_set_new(item, "measurements", json_pack("{s:f, s:b, s:o}", "guess_rate_per_min", worst, "lockout_seen",
	                                                    lockout_any, "services", per));
	char reason[256], reason_ja[256];
	if (failed) {
		snprintf(reason, sizeof reason, "Wrong logins are neither slowed nor locked: %.1f guesses per minute.", worst);
		snprintf(reason_ja, sizeof reason_ja, "誤ログインが遅延もロックもされません（毎分 %.1f 回）。", worst);
		conform_verdict_set(item, CONFORM_FAIL, reason, reason_ja);
	} else if (unknown) {
		conform_verdict_set(item, CONFORM_UNKNOWN, "The guess rate or the owner's access afterwards could not be established.",
		                    "推測速度または攻撃後の正規ログインを確認できませんでした。");
	} else {
		snprintf(reason, sizeof reason, "Wrong logins are slowed or locked (at most %.1f guesses per minute%s).", worst,
		         lockout_any ? ", lockout seen" : "");
		snprintf(reason_ja, sizeof reason_ja, "誤ログインは遅延またはロックされます（最大 毎分 %.1f 回%s）。", worst,
		         lockout_any ? "、ロックあり" : "");
		conform_verdict_set(item, CONFORM_PASS, reason, reason_ja);
	}
	return 0;
}
