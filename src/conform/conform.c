/*
 * The conform engine: the check registry, steps and verdicts, hooks, and the result document
 * (schema: docs/conform.md). Checks live in check_*.c; network helpers in conform_net.c.
 */
#include "conform/conform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "conform/conform_int.h"
#include "core/catalog.h"
#include "core/error.h"
#include "core/escape.h"
#include "core/event.h"

/* Why 16: placeholders in one hook ({address} {user} {old} {new} {bundle} {key} {value} ...). */
#define CONFORM_HOOK_MAX_VARS 16
/* Why 64 KiB: a command of CONFORM_MAX_TEXT with every placeholder expanded to a long, quoted
 * value (a 4 KiB path quoted at worst 4x) still fits; longer expansions are refused. */
#define CONFORM_HOOK_CMD_MAX (64 * 1024)
/* Why 4 KiB: stderr of a hook is evidence of why it failed; the head of it says that. */
#define CONFORM_HOOK_ERR_MAX 4096

int conform_check_access(struct conform_run *run, json_t *item);
int conform_check_credentials(struct conform_run *run, json_t *item);
int conform_check_brute(struct conform_run *run, json_t *item);
int conform_check_defaults(struct conform_run *run, json_t *item);

/* Order matters: access fills run->services for the others; credentials sets
 * run->current_password, which brute-force uses to verify the real login still works. */
const struct conform_check conform_checks[] = {
	{"access", "JP-34-10-1", "S1.1-01", "Management access requires authentication",
	 "管理用インタフェースは認証なしに操作できないこと", conform_check_access},
	{"credentials", "JP-34-10-2", "S1.1-02, S1.1-03",
	 "Factory credential is changed before use or unique per unit",
	 "初期パスワードは使用前に変更させるか、機器ごとに異なること", conform_check_credentials},
	/* known-defaults before brute-force: the brute-force check deliberately provokes the
	 * device's throttle, which would then refuse the known pairs unchecked. */
	{"known-defaults", "JP-34-10-2", "S1.1-02", "No service accepts a known default credential",
	 "既知の初期認証情報でログインできるサービスがないこと", conform_check_defaults},
	{"brute-force", "TORIDE-BRUTE", "S1.1-04", "Repeated wrong logins are slowed or locked",
	 "繰り返しの誤ログインが遅延またはロックされること", conform_check_brute},
	{"update", "JP-34-10-3", "S1.1-06", "Only correctly signed newer firmware installs",
	 "正しく署名された新しいファームウェアのみ導入できること", conform_check_update},
	{"power", "JP-34-10-4", "", "Settings and firmware survive a power cut",
	 "電源遮断後も設定とファームウェアが維持されること", conform_check_power},
};
const size_t conform_n_checks = sizeof conform_checks / sizeof conform_checks[0];

const char *
conform_verdict_name(enum conform_verdict v)
{
	switch (v) {
	case CONFORM_PASS: return "pass";
	case CONFORM_FAIL: return "fail";
	case CONFORM_UNKNOWN: return "unknown";
	case CONFORM_NA: return "n/a";
	}
	return "unknown";
}

static void
now_iso(char out[32])
{
	toride_time_iso8601(toride_time_now(), out);
}

void
conform_progress(struct conform_run *run, const char *check, const char *fmt, ...)
{
	if (run == NULL || run->progress == NULL)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	run->progress(run->progress_ctx, check, msg);
}

void
conform_step(struct conform_run *run, json_t *item, const char *outcome, const char *action,
             const char *evidence, const char *observed_fmt, ...)
{
	char at[32], observed[1024];
	va_list ap;
	va_start(ap, observed_fmt);
	vsnprintf(observed, sizeof observed, observed_fmt, ap);
	va_end(ap);
	now_iso(at);
	json_t *steps = json_object_get(item, "steps");
	if (!json_is_array(steps)) {
		steps = json_array();
		json_object_set_new(item, "steps", steps);
	}
	json_t *st = json_pack("{s:s, s:s, s:s, s:s}", "at", at, "outcome", outcome ? outcome : "info",
	                       "action", action ? action : "", "observed", observed);
	if (st == NULL)
		return;
	if (evidence != NULL && evidence[0] != '\0') {
		/* Evidence arrives escaped from the helpers; cap it here too so no caller can grow the
		 * document without bound. */
		size_t n = strnlen(evidence, CONFORM_EVIDENCE_MAX + 1);
		json_object_set_new(st, "evidence", json_stringn(evidence, n > CONFORM_EVIDENCE_MAX ? CONFORM_EVIDENCE_MAX : n));
		if (json_object_get(st, "evidence") == NULL) {
			/* not UTF-8: escape it byte for byte */
			char *e = conform_evidence(evidence, n);
			if (e != NULL)
				json_object_set_new(st, "evidence", json_string(e));
			free(e);
		}
	}
	json_array_append_new(steps, st);
	const char *check = json_string_value(json_object_get(item, "check"));
	conform_progress(run, check ? check : "", "%s%s%s", action ? action : "", observed[0] ? ": " : "", observed);
}

void
conform_verdict_set(json_t *item, enum conform_verdict v, const char *reason, const char *reason_ja)
{
	json_object_set_new(item, "verdict", json_string(conform_verdict_name(v)));
	json_object_set_new(item, "reason", json_string(reason ? reason : ""));
	json_object_set_new(item, "reason_ja", json_string(reason_ja ? reason_ja : ""));
}

enum conform_verdict
conform_overall(const json_t *result)
{
	bool unknown = false, any = false;
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(result, "items"), i, it) {
		const char *v = json_string_value(json_object_get(it, "verdict"));
		any = true;
		if (v == NULL || strcmp(v, "unknown") == 0)
			unknown = true;
		else if (strcmp(v, "fail") == 0)
			return CONFORM_FAIL;
		else if (strcmp(v, "pass") != 0 && strcmp(v, "n/a") != 0)
			unknown = true;
	}
	/* A run that examined nothing decided nothing. */
	return unknown || !any ? CONFORM_UNKNOWN : CONFORM_PASS;
}

/* ---------------------------------------------------------------- small helpers */

const char *
conform_data_dir(void)
{
	const char *env = getenv("TORIDE_DATA_DIR");
	return env != NULL && *env ? env : TORIDE_DATA_DIR;
}

void
conform_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (sodium_init() < 0)
		abort(); /* no randomness: never invent markers or passwords from a weak source */
	for (size_t i = 0; i < n; i++)
		out[i] = hex[randombytes_uniform(16)];
	out[n] = '\0';
}

void
conform_random_password(char *out, size_t cap)
{
	static const char alpha[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	/* Why 20: far beyond any policy minimum; each class present so no policy refuses it. */
	size_t n = cap > 21 ? 20 : cap - 1;
	if (sodium_init() < 0)
		abort();
	for (size_t i = 0; i < n; i++)
		out[i] = alpha[randombytes_uniform(sizeof alpha - 1)];
	if (n >= 4) {
		out[0] = (char)('a' + randombytes_uniform(26));
		out[1] = (char)('A' + randombytes_uniform(26));
		out[2] = (char)('2' + randombytes_uniform(8));
		out[3] = "-_.+"[randombytes_uniform(4)];
	}
	out[n] = '\0';
}

char *
conform_evidence(const void *p, size_t n)
{
	if (n > CONFORM_EVIDENCE_MAX)
		n = CONFORM_EVIDENCE_MAX;
	return toride_escape_bytes(p, n);
}

int
conform_ports_parse(const char *spec, uint16_t **ports, size_t *n, char *err, size_t err_cap)
{
	int r = 0;
	uint8_t *seen = NULL;
	uint16_t *v = NULL;
	size_t cnt = 0;
	const char *s = spec;
	if (ports != NULL)
		*ports = NULL;
	*n = 0;
	if (s == NULL || *s == '\0') {
		snprintf(err, err_cap, "ports: empty");
		return TORIDE_EPARSE;
	}
	seen = calloc(65536, 1);
	if (seen == NULL)
		return TORIDE_ENOMEM;
	for (;;) {
		unsigned long a = 0, b;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 6) {
			a = a * 10 + (unsigned long)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 5 || a < 1 || a > 65535)
			goto bad;
		b = a;
		if (*s == '-') {
			s++;
			b = 0;
			digits = 0;
			while (*s >= '0' && *s <= '9' && digits < 6) {
				b = b * 10 + (unsigned long)(*s++ - '0');
				digits++;
			}
			if (digits == 0 || digits > 5 || b < a || b > 65535)
				goto bad;
		}
		for (unsigned long p = a; p <= b; p++) {
			if (!seen[p]) {
				seen[p] = 1;
				cnt++;
			}
		}
		if (*s == '\0')
			break;
		if (*s != ',')
			goto bad;
		s++;
	}
	if (ports != NULL) {
		v = malloc(cnt * sizeof *v);
		if (v == NULL) {
			r = TORIDE_ENOMEM;
			goto out;
		}
		size_t k = 0;
		for (unsigned p = 1; p <= 65535; p++)
			if (seen[p])
				v[k++] = (uint16_t)p;
		*ports = v;
		v = NULL;
	}
	*n = cnt;
	goto out;
bad:
	snprintf(err, err_cap,
	         "ports: expected \"N\", \"N-M\" or a comma-separated list of them within 1-65535 (near offset %zu)",
	         (size_t)(s - spec));
	r = TORIDE_EPARSE;
out:
	free(v);
	free(seen);
	return r;
}

/* ---------------------------------------------------------------- catalog */

static struct toride_catalog *g_catalog;
static bool g_catalog_tried;

const struct toride_catalog *
conform_catalog(void)
{
	if (!g_catalog_tried) {
		char path[4096], err[256];
		g_catalog_tried = true;
		snprintf(path, sizeof path, "%s/catalog.json", conform_data_dir());
		if (toride_catalog_load(&g_catalog, path, err, sizeof err) != 0)
			g_catalog = NULL;
	}
	return g_catalog;
}

static json_t *
strlist_json(const struct toride_strlist *l)
{
	json_t *a = json_array();
	for (size_t i = 0; l != NULL && a != NULL && i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

/* ---------------------------------------------------------------- hooks */

/* Append s shell-quoted ('...' with ' written as '\'') to b. */
static int
shell_quote(struct toride_buf *b, const char *s)
{
	int r = toride_buf_append_str(b, "'");
	for (const char *p = s; r == 0 && *p; p++)
		r = *p == '\'' ? toride_buf_append_str(b, "'\\''") : toride_buf_append(b, p, 1);
	if (r == 0)
		r = toride_buf_append_str(b, "'");
	return r;
}

/* Append s for a double-quoted context: \ $ ` " escaped, everything else literal. */
static int
dquote_escape(struct toride_buf *b, const char *s)
{
	int r = 0;
	for (const char *p = s; r == 0 && *p; p++) {
		if (*p == '\\' || *p == '$' || *p == '`' || *p == '"')
			r = toride_buf_append(b, "\\", 1);
		if (r == 0)
			r = toride_buf_append(b, p, 1);
	}
	return r;
}

/* Expand {name} placeholders of cmd for the given names (plus {address}); other braces are left
 * as written (jq filters, ${VAR}). The value always arrives as exactly one literal word part,
 * whatever quoting the author wrote around the placeholder: the shell's quote state is tracked,
 * so a value inside '...' closes and reopens the quote and inside "..." gets \-escapes. */
static int
hook_expand(const struct conform_run *run, const char *cmd, const char *const *names,
            const char *const *values, size_t n, struct toride_buf *out)
{
	enum { Q_NONE, Q_SINGLE, Q_DOUBLE } q = Q_NONE;
	int r = 0;
	const char *p = cmd;
	while (r == 0 && *p) {
		if (*p == '{') {
			const char *e = strchr(p + 1, '}');
			const char *val = NULL;
			if (e != NULL) {
				size_t len = (size_t)(e - p - 1);
				for (size_t i = 0; i < n && val == NULL; i++)
					if (names[i] != NULL && strlen(names[i]) == len && memcmp(names[i], p + 1, len) == 0)
						val = values[i] ? values[i] : "";
				if (val == NULL && len == 7 && memcmp(p + 1, "address", 7) == 0 && run->desc != NULL)
					val = run->desc->address_text;
			}
			if (val != NULL) {
				if (q == Q_DOUBLE) {
					r = dquote_escape(out, val);
				} else {
					if (q == Q_SINGLE)
						r = toride_buf_append_str(out, "'");
					if (r == 0)
						r = shell_quote(out, val);
					if (r == 0 && q == Q_SINGLE)
						r = toride_buf_append_str(out, "'");
				}
				p = e + 1;
				continue;
			}
		}
		/* track the author's quoting */
		if (q == Q_NONE && *p == '\\' && p[1] != '\0') {
			r = toride_buf_append(out, p, 2);
			p += 2;
			continue;
		}
		if (q == Q_DOUBLE && *p == '\\' && p[1] != '\0') {
			r = toride_buf_append(out, p, 2);
			p += 2;
			continue;
		}
		if (*p == '\'' && q != Q_DOUBLE)
			q = q == Q_SINGLE ? Q_NONE : Q_SINGLE;
		else if (*p == '"' && q != Q_SINGLE)
			q = q == Q_DOUBLE ? Q_NONE : Q_DOUBLE;
		r = toride_buf_append(out, p, 1);
		p++;
	}
	return r;
}

static double
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
conform_hook_run(struct conform_run *run, json_t *item, const struct conform_hook *hook,
                 const char *const *names, const char *const *values, size_t n, char *out, size_t out_cap)
{
	int r = 0, status = -1;
	pid_t pid = -1;
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	struct toride_buf cmd, so, se;
	const char *cmds = "";
	bool timed_out = false;
	toride_buf_init(&cmd, CONFORM_HOOK_CMD_MAX);
	toride_buf_init(&so, CONFORM_HOOK_OUT_MAX);
	toride_buf_init(&se, CONFORM_HOOK_ERR_MAX);
	if (out != NULL && out_cap > 0)
		out[0] = '\0';
	if (hook == NULL || hook->command[0] == '\0') {
		r = TORIDE_ENOTFOUND;
		goto out;
	}
	if (n > CONFORM_HOOK_MAX_VARS) {
		r = TORIDE_EINVAL;
		goto out;
	}
	if ((r = hook_expand(run, hook->command, names, values, n, &cmd)) != 0 ||
	    (r = toride_buf_cstr(&cmd, &cmds)) != 0)
		goto out;
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		r = TORIDE_EIO;
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = TORIDE_EIO;
		goto out;
	}
	if (pid == 0) {
		/* Own process group so a timeout kills the whole pipeline the hook started. */
		setpgid(0, 0);
		int dn = open("/dev/null", O_RDONLY);
		if (dn >= 0)
			dup2(dn, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execl("/bin/sh", "sh", "-c", cmds, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	unsigned tmo = hook->timeout_s ? hook->timeout_s : CONFORM_DEFAULT_HOOK_TIMEOUT;
	double deadline = mono_now() + tmo;
	while (po[0] >= 0 || pe[0] >= 0) {
		double left = deadline - mono_now();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
		int pr = poll(pf, 2, (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR) {
			r = TORIDE_EIO;
			break;
		}
		for (int k = 0; k < 2; k++) {
			int *fd = k == 0 ? &po[0] : &pe[0];
			struct toride_buf *b = k == 0 ? &so : &se;
			if (*fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[4096];
			ssize_t got = read(*fd, tmp, sizeof tmp);
			if (got <= 0) {
				close(*fd);
				*fd = -1;
			} else if (b->len < b->max) {
				size_t room = b->max - b->len;
				toride_buf_append(b, tmp, (size_t)got < room ? (size_t)got : room);
			} /* else: drain and drop what is beyond the cap */
		}
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	int ws = 0;
	for (;;) {
		pid_t w = waitpid(pid, &ws, timed_out ? 0 : WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (w == 0) {
			/* pipes closed but the shell lingers: wait until the deadline */
			if (mono_now() > deadline) {
				timed_out = true;
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
			} else {
				usleep(10000);
			}
		}
	}
	pid = -1;
	if (timed_out)
		r = TORIDE_ETIMEOUT;
	else if (r == 0)
		status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	if (out != NULL && out_cap > 0) {
		size_t k = so.len < out_cap - 1 ? so.len : out_cap - 1;
		if (k > 0)
			memcpy(out, so.data, k);
		out[k] = '\0';
	}
out:
	if (item != NULL) {
		char action[512];
		snprintf(action, sizeof action, "run hook: %.480s%s", cmds, strlen(cmds) > 480 ? "..." : "");
		struct toride_buf ev;
		toride_buf_init(&ev, CONFORM_EVIDENCE_MAX);
		if (so.len > 0) {
			char *e = conform_evidence(so.data, so.len);
			toride_buf_printf(&ev, "stdout: %s\n", e ? e : "");
			free(e);
		}
		if (se.len > 0) {
			char *e = conform_evidence(se.data, se.len);
			toride_buf_printf(&ev, "stderr: %s\n", e ? e : "");
			free(e);
		}
		const char *evs = NULL;
		toride_buf_cstr(&ev, &evs);
		if (r == TORIDE_ENOTFOUND)
			conform_step(run, item, "info", "hook", NULL, "hook not declared in the description");
		else if (r == TORIDE_ETIMEOUT)
			conform_step(run, item, "error", action, evs, "timed out after %u s; killed",
			             hook->timeout_s ? hook->timeout_s : CONFORM_DEFAULT_HOOK_TIMEOUT);
		else if (r < 0)
			conform_step(run, item, "error", action, evs, "could not run: %s", toride_strerror(r));
		else
			conform_step(run, item, "info", action, evs, "exit status %d", status);
		toride_buf_free(&ev);
	}
	if (po[0] >= 0) close(po[0]);
	if (po[1] >= 0) close(po[1]);
	if (pe[0] >= 0) close(pe[0]);
	if (pe[1] >= 0) close(pe[1]);
	toride_buf_free(&cmd);
	toride_buf_free(&so);
	toride_buf_free(&se);
	return r < 0 ? r : status;
}

/* ---------------------------------------------------------------- the run */

int
conform_services_ensure(struct conform_run *run, json_t *item)
{
	if (run->n_services > 0)
		return 0;
	/* The access check did not run (--only): scan the same way, its steps kept out of this item. */
	json_t *scratch = json_object();
	if (scratch == NULL)
		return TORIDE_ENOMEM;
	json_object_set_new(scratch, "check", json_string("access"));
	int r = conform_check_access(run, scratch);
	conform_step(run, item, "info", "find services (the access check's scan)", NULL, "%zu open port(s); access verdict %s",
	             run->n_services, json_string_value(json_object_get(scratch, "verdict")));
	json_decref(scratch);
	return r;
}

static json_t *
item_new(const struct conform_check *c)
{
	const struct toride_catalog *cat = conform_catalog();
	const struct toride_requirement *req = cat ? toride_catalog_get(cat, c->requirement) : NULL;
	json_t *item = json_object();
	if (item == NULL)
		return NULL;
	char at[32];
	now_iso(at);
	json_object_set_new(item, "check", json_string(c->id));
	json_object_set_new(item, "requirement", json_string(c->requirement));
	if (req != NULL) {
		json_object_set_new(item, "jc_star", strlist_json(&req->jc_star_1));
		json_object_set_new(item, "etsi", strlist_json(&req->etsi_en_303_645));
		json_object_set_new(item, "uk_psti", strlist_json(&req->uk_psti));
		json_object_set_new(item, "requirement_title", json_string(req->title));
		json_object_set_new(item, "requirement_title_ja", json_string(req->title_ja));
	} else {
		/* Catalog unreadable: keep the check's own JC-STAR id so the item still maps. */
		json_t *js = json_array();
		char buf[64];
		snprintf(buf, sizeof buf, "%s", c->jc_star ? c->jc_star : "");
		for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			json_array_append_new(js, json_string(t));
		json_object_set_new(item, "jc_star", js);
		json_object_set_new(item, "etsi", json_array());
		json_object_set_new(item, "uk_psti", json_array());
	}
	json_object_set_new(item, "title", json_string(c->title));
	json_object_set_new(item, "title_ja", json_string(c->title_ja));
	json_object_set_new(item, "verdict", json_string("unknown"));
	json_object_set_new(item, "reason", json_string(""));
	json_object_set_new(item, "reason_ja", json_string(""));
	json_object_set_new(item, "started", json_string(at));
	json_object_set_new(item, "steps", json_array());
	return item;
}

int
conform_run_all(struct conform_run *run)
{
	int r = 0;
	const struct conform_description *d = run->desc;
	char at[32];
	if (d == NULL)
		return TORIDE_EINVAL;
	if (run->only != NULL) {
		bool known = false;
		for (size_t i = 0; i < conform_n_checks; i++)
			known |= strcmp(conform_checks[i].id, run->only) == 0;
		if (!known)
			return TORIDE_ENOTFOUND;
	}
	json_decref(run->result);
	now_iso(at);
	run->result = json_pack("{s:i, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:[]}", "toride_conform", 1,
	                        "tool", "name", "toride", "version", TORIDE_VERSION, "device", "name", d->name,
	                        "vendor", d->vendor, "model", d->model, "firmware", d->firmware, "address",
	                        d->address_text, "started", at, "items");
	if (run->result == NULL)
		return TORIDE_ENOMEM;
	if (run->only != NULL)
		json_object_set_new(run->result, "only", json_string(run->only));
	json_t *items = json_object_get(run->result, "items");
	for (size_t i = 0; i < conform_n_checks; i++) {
		const struct conform_check *c = &conform_checks[i];
		if (run->only != NULL && strcmp(run->only, c->id) != 0)
			continue;
		json_t *item = item_new(c);
		if (item == NULL) {
			r = TORIDE_ENOMEM;
			break;
		}
		json_array_append_new(items, item);
		conform_progress(run, c->id, "start: %s (%s)", c->title, c->requirement);
		int cr = c->run(run, item);
		if (cr < 0) {
			/* The check could not finish: whatever it proved stays in its steps, but an
			 * internal error is never a pass. */
			const char *v = json_string_value(json_object_get(item, "verdict"));
			conform_step(run, item, "error", "check", NULL, "stopped on an internal error: %s", toride_strerror(cr));
			if (v == NULL || strcmp(v, "fail") != 0)
				conform_verdict_set(item, CONFORM_UNKNOWN, "The check stopped on an internal error.",
				                    "内部エラーにより検査が中断しました。");
		}
		now_iso(at);
		json_object_set_new(item, "finished", json_string(at));
		conform_progress(run, c->id, "verdict: %s", json_string_value(json_object_get(item, "verdict")));
	}
	now_iso(at);
	json_object_set_new(run->result, "finished", json_string(at));
	json_object_set_new(run->result, "verdict", json_string(conform_verdict_name(conform_overall(run->result))));
	return r;
}

/* ---------------------------------------------------------------- known lists */

/* Why 512: longest line of the lists we read (CSV rows, table rows) is well below. */
#define CONFORM_LIST_LINE_MAX 512

static bool
file_has_password(const char *path, const char *password, int kind)
{
	FILE *f = fopen(path, "r");
	char line[CONFORM_LIST_LINE_MAX];
	bool found = false;
	char low[CONFORM_LIST_LINE_MAX];
	size_t pl = strlen(password);
	if (f == NULL || pl >= sizeof low)
		goto out;
	for (size_t i = 0; i <= pl; i++)
		low[i] = (password[i] >= 'A' && password[i] <= 'Z') ? (char)(password[i] + 32) : password[i];
	while (!found && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#')
			continue;
		const char *field = line;
		if (kind == 0) { /* banned list: one lower-cased password a line */
			found = strcmp(field, low) == 0;
		} else if (kind == 1) { /* mirai.tsv: user TAB password TAB weight */
			char *t1 = strchr(line, '\t');
			char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			if (t1 && t2) {
				*t2 = '\0';
				found = strcmp(t1 + 1, password) == 0;
			}
		} else { /* vendor CSV: vendor,user,password (password is the last field) */
			char *c = strrchr(line, ',');
			found = c != NULL && strcmp(c + 1, password) == 0;
		}
	}
out:
	if (f != NULL)
		fclose(f);
	return found;
}

bool
conform_password_listed(const char *password, const char **which)
{
	char path[4096];
	static const struct {
		const char *file, *name;
		int kind;
	} lists[] = {
		{"credentials/mirai.tsv", "Mirai's credential table", 1},
		{"credentials/vendor-defaults.csv", "the vendor default credentials", 2},
		{"device/banned-passwords.txt", "the banned password list", 0},
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", conform_data_dir(), lists[i].file);
		if (file_has_password(path, password, lists[i].kind)) {
			if (which != NULL)
				*which = lists[i].name;
			return true;
		}
	}
	return false;
}

uint64_t
conform_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
conform_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

bool
conform_use_adapter(const struct conform_run *run)
{
	return strcmp(run->desc->adapter, "toride-deviced") == 0 && run->desc->admin_url[0] != '\0';
}
