/*
 * Check "power" (JP-34-10-4): the power is cut (a) right after a password change was
 * acknowledged, (b) during a change (a few cuts a few ms apart around the commit), (c) during an
 * update upload and (d) right after an update was confirmed. After each restore (and the declared
 * settle time) the device must hold the credential set before the cut (exactly one of old/new
 * during a change, never back to factory credentials), still refuse access without
 * authentication, run the firmware it had before an interrupted update (and still take the update
 * afterwards), and the updated firmware after a confirmed one. Every cut is a step with its time.
 *
 * Power is the description's power.cut / power.restore hooks (a smart plug; for an emulated
 * device kill -9 and a restart with the same state). The device is driven with the helpers of
 * check_update.c (adapter or hooks).
 */
#include "conform/conform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conform/conform_int.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/event.h"

/* Why 60 s: after power returns (and the settle time) a device's admin port comes back in seconds. */
#define PWR_UP_WAIT_MS (60 * 1000)
/* Why 16 KiB: the head of a request sent by hand (login cookie, JSON type, length). */
#define PWR_HEAD_MAX (16 * 1024)
/* Why 256 MiB: the largest bundle we upload (same bound as the update check). */
#define PWR_MAX_BUNDLE (256u * 1024 * 1024)
#define PWR_VERSION_MAX 64
/* Delays between starting a change and the cut, cycled over the repeats: before the request is
 * read, while the old password is checked (Argon2id takes tens of ms), around the commit. */
static const unsigned pwr_change_delays_ms[] = {2, 30, 60, 10, 45, 90, 20, 75};

struct pwr {
	struct conform_run *run;
	json_t *item;
	json_t *cuts; /* measurements.cuts: one object per cut */
	bool violation, inconclusive;
};

static void
cut_record(struct pwr *p, const char *phase, int64_t after_ms)
{
	char at[32];
	toride_time_iso8601(toride_time_now(), at);
	json_t *o = json_pack("{s:s, s:s}", "phase", phase, "cut_at", at);
	if (o != NULL && after_ms >= 0)
		json_object_set_new(o, "after_ms", json_integer(after_ms));
	json_array_append_new(p->cuts, o);
}

/* Cut the power (hook), recording when and how long after the event it happened. */
static int
power_cut(struct pwr *p, const char *phase, uint64_t event_ms)
{
	int64_t after = event_ms != 0 ? (int64_t)(conform_now_ms() - event_ms) : -1;
	int r = conform_hook_run(p->run, NULL, &p->run->desc->power_cut, NULL, NULL, 0, NULL, 0);
	cut_record(p, phase, after);
	if (after >= 0)
		conform_step(p->run, p->item, r == 0 ? "info" : "error", "power cut", NULL, "%s: power cut %lld ms after %s%s",
		             phase, (long long)after, "the event", r == 0 ? "" : " (the cut hook failed)");
	else
		conform_step(p->run, p->item, r == 0 ? "info" : "error", "power cut", NULL, "%s: power cut%s", phase,
		             r == 0 ? "" : " (the cut hook failed)");
	if (r != 0)
		p->inconclusive = true;
	return r;
}

static int
power_restore(struct pwr *p)
{
	const struct conform_description *d = p->run->desc;
	int r = conform_hook_run(p->run, p->item, &d->power_restore, NULL, NULL, 0, NULL, 0);
	if (r != 0) {
		p->inconclusive = true;
		return r < 0 ? r : TORIDE_EIO;
	}
	conform_sleep_ms(d->settle_s * 1000);
	bool up = conform_dev_wait_up(p->run, PWR_UP_WAIT_MS);
	conform_step(p->run, p->item, up ? "info" : "error", "power restored", NULL,
	             "power back; waited the settle time of %u s%s", d->settle_s,
	             up ? "; the admin interface answers" : "; the admin interface does NOT answer");
	if (!up)
		p->inconclusive = true;
	return up ? 0 : TORIDE_ETIMEOUT;
}

/* Sends a request by hand and keeps the connection open (the cut comes while the device works on
 * it): the head and the first send_len bytes of the body. Returns the socket or < 0. */
static int
raw_start(struct conform_run *run, const char *path, const struct conform_dev_session *s, const char *ctype,
          const void *body, size_t len, size_t send_len)
{
	uint16_t port;
	struct toride_buf head;
	int r = conform_url_port(run, run->desc->admin_url, &port);
	if (r != 0)
		return r;
	toride_buf_init(&head, PWR_HEAD_MAX);
	r = toride_buf_printf(&head,
	                      "POST %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: toride-conform/%s\r\nConnection: close\r\n"
	                      "%s%s%sContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
	                      path, run->desc->address_text, port, TORIDE_VERSION, s->cookie[0] ? "Cookie: " : "", s->cookie,
	                      s->cookie[0] ? "\r\n" : "", ctype, len);
	int fd = r == 0 ? conform_connect(run, port, 5000) : r;
	if (fd >= 0) {
		const uint8_t *parts[2] = {head.data, body};
		size_t lens[2] = {head.len, send_len};
		for (int k = 0; k < 2; k++) {
			size_t off = 0;
			uint64_t end = conform_now_ms() + 5000;
			while (off < lens[k] && conform_now_ms() < end) {
				ssize_t w = send(fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
				if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
					conform_sleep_ms(1);
					continue;
				}
				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
	}
	toride_buf_free(&head);
	return fd;
}

/* Runs a hook in a child process (the cut comes while it runs). Returns the pid or < 0. */
static pid_t
hook_background(struct conform_run *run, const struct conform_hook *h, const char *const *names,
                const char *const *values, size_t n)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int r = conform_hook_run(run, NULL, h, names, values, n, NULL, 0);
		_exit(r < 0 ? 125 : r);
	}
	return pid;
}

static void
hook_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	for (int i = 0; i < 600; i++) { /* the hook's own timeout ends it; wait at most a minute here */
		int ws;
		pid_t w = waitpid(pid, &ws, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			return;
		conform_sleep_ms(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int
read_all(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	*data = NULL;
	if (fd < 0)
		return TORIDE_EIO;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > PWR_MAX_BUNDLE || st.st_size == 0) {
		close(fd);
		return TORIDE_ETOOBIG;
	}
	uint8_t *p = malloc((size_t)st.st_size);
	size_t got = 0;
	while (p != NULL && got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (p == NULL || got != (size_t)st.st_size) {
		free(p);
		return p == NULL ? TORIDE_ENOMEM : TORIDE_EIO;
	}
	*data = p;
	*len = got;
	return 0;
}

static bool
session(struct pwr *p, struct conform_dev_session *s)
{
	int r = conform_dev_session(p->run, p->item, s);
	if (r != 0) {
		conform_step(p->run, p->item, "error", "log in", NULL, "no credential gives access (%s)",
		             r < 0 ? toride_strerror(r) : "refused");
		p->inconclusive = true;
	}
	return r == 0;
}

/* After a cut: which of the credentials work, and whether the device is open or back to factory. */
static void
after_cut_credentials(struct pwr *p, const char *phase, const char *old_pw, const char *new_pw, bool during)
{
	struct conform_run *run = p->run;
	struct conform_dev_session s;
	int rn = conform_dev_login(run, p->item, new_pw, "the new password", &s);
	int ro = conform_dev_login(run, p->item, old_pw, "the old password", &s);
	if (rn < 0 || ro < 0) {
		p->inconclusive = true;
		return;
	}
	bool okn = rn == CONFORM_LOGIN_OK, oko = ro == CONFORM_LOGIN_OK;
	int open = conform_dev_open_access(run, p->item);
	if (open == 1) {
		conform_step(run, p->item, "violation", phase, NULL, "after the power cut the device answers without "
		                                                     "authentication");
		p->violation = true;
	}
	if (okn && !oko) {
		conform_step(run, p->item, "ok", phase, NULL, "the new password works and the old one does not");
		snprintf(run->current_password, sizeof run->current_password, "%s", new_pw);
	} else if (oko && !okn && during) {
		conform_step(run, p->item, "ok", phase, NULL, "the old password works and the new one does not (the cut "
		                                              "came before the change was committed)");
		snprintf(run->current_password, sizeof run->current_password, "%s", old_pw);
	} else if (oko && okn) {
		conform_step(run, p->item, "violation", phase, NULL, "both the old and the new password work");
		p->violation = true;
		snprintf(run->current_password, sizeof run->current_password, "%s", new_pw);
	} else {
		/* Neither (or only the old one after an acknowledged change): lost, back to factory? */
		int rf = conform_dev_login(run, p->item, run->desc->factory_password, "the factory password", &s);
		bool factory = rf == CONFORM_LOGIN_OK || rf == CONFORM_LOGIN_MUST_CHANGE;
		if (oko)
			conform_step(run, p->item, "violation", phase, NULL, "the acknowledged change was lost: the old "
			                                                     "password works, the new one does not");
		else
			conform_step(run, p->item, "violation", phase, NULL, "%s",
			             factory ? "the device is back to its factory credentials: neither the old nor the new "
			                       "password works, the factory password does"
			                     : "neither the old nor the new password works (the owner is locked out)");
		p->violation = true;
		if (oko)
			snprintf(run->current_password, sizeof run->current_password, "%s", old_pw);
		else
			run->current_password[0] = '\0'; /* the next session starts from the factory password */
	}
}

/* (a) cut right after an acknowledged change. */
static void
part_after_change(struct pwr *p)
{
	struct conform_run *run = p->run;
	struct conform_dev_session s;
	char old_pw[256], new_pw[64];
	conform_step(run, p->item, "info", "(a) power cut right after a password change", NULL, "start");
	if (!session(p, &s))
		return;
	snprintf(old_pw, sizeof old_pw, "%s", run->current_password);
	conform_random_password(new_pw, sizeof new_pw);
	int r = conform_dev_change_password(run, p->item, &s, old_pw, new_pw);
	uint64_t ack = conform_now_ms();
	if (r != 0) {
		conform_step(run, p->item, "error", "(a) change the password", NULL, "the change was not acknowledged");
		p->inconclusive = true;
		return;
	}
	power_cut(p, "(a) after the change was acknowledged", ack);
	if (power_restore(p) != 0)
		return;
	after_cut_credentials(p, "(a) after the restore", old_pw, new_pw, false);
}

/* (b) cuts during a change, a few timings. */
static void
part_during_change(struct pwr *p)
{
	struct conform_run *run = p->run;
	unsigned repeat = run->desc->power_repeat ? run->desc->power_repeat : CONFORM_DEFAULT_POWER_REPEAT;
	for (unsigned i = 0; i < repeat; i++) {
		struct conform_dev_session s;
		char old_pw[256], new_pw[64], label[96];
		unsigned delay = pwr_change_delays_ms[i % (sizeof pwr_change_delays_ms / sizeof pwr_change_delays_ms[0])];
		snprintf(label, sizeof label, "(b) cut %u of %u during a password change", i + 1, repeat);
		conform_step(run, p->item, "info", label, NULL, "start; the cut comes about %u ms after the request", delay);
		if (!session(p, &s))
			return;
		snprintf(old_pw, sizeof old_pw, "%s", run->current_password);
		conform_random_password(new_pw, sizeof new_pw);
		uint64_t sent;
		if (conform_use_adapter(run)) {
			json_t *b = json_pack("{s:s, s:s, s:s}", "old", old_pw, "new", new_pw, "new2", new_pw);
			char *text = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
			json_decref(b);
			if (text == NULL) {
				p->inconclusive = true;
				return;
			}
			int fd = raw_start(run, "/password", &s, "application/json", text, strlen(text), strlen(text));
			sent = conform_now_ms();
			memset(text, 0, strlen(text));
			free(text);
			if (fd < 0) {
				conform_step(run, p->item, "error", label, NULL, "cannot send the change: %s", toride_strerror(fd));
				p->inconclusive = true;
				return;
			}
			conform_step(run, p->item, "info", label, NULL, "POST /password sent (change to a fresh password)");
			conform_sleep_ms(delay);
			power_cut(p, label, sent);
			close(fd);
		} else {
			const char *names[] = {"user", "old", "new"};
			const char *values[] = {run->desc->user, old_pw, new_pw};
			pid_t pid = hook_background(run, &run->desc->change_password, names, values, 3);
			sent = conform_now_ms();
			if (pid < 0) {
				p->inconclusive = true;
				return;
			}
			conform_step(run, p->item, "info", label, NULL, "change_password hook started");
			conform_sleep_ms(delay);
			power_cut(p, label, sent);
			hook_reap(pid);
		}
		if (power_restore(p) != 0)
			return;
		after_cut_credentials(p, label, old_pw, new_pw, true);
	}
}

/* (c) cut during an update upload; (d) cut right after the update was confirmed. */
static void
part_update(struct pwr *p)
{
	struct conform_run *run = p->run;
	const struct conform_description *d = run->desc;
	struct conform_dev_session s;
	char v0[PWR_VERSION_MAX], vn[PWR_VERSION_MAX], vnow[PWR_VERSION_MAX], bundle[4096] = "", answer[512];
	conform_step(run, p->item, "info", "(c) power cut during an update", NULL, "start");
	if (!conform_use_adapter(run) && (d->update.command[0] == '\0' || d->version.command[0] == '\0')) {
		conform_step(run, p->item, "error", "(c) power cut during an update", NULL,
		             "not examined: no way to install or read the version (adapter or update hooks)");
		p->inconclusive = true;
		return;
	}
	if (!session(p, &s))
		return;
	if (conform_dev_version(run, p->item, &s, v0, sizeof v0) != 0) {
		p->inconclusive = true;
		return;
	}
	conform_version_next(v0, vn, sizeof vn);
	if (d->bundle_key[0] == '\0' || d->bundle_target[0] == '\0' ||
	    conform_bundle_build(run, p->item, d->bundle_target, vn, bundle, sizeof bundle) != 0) {
		conform_step(run, p->item, "error", "(c) power cut during an update", NULL,
		             "not examined: a bundle newer than the running %s is needed (give update.key and "
		             "update.target so the examiner can build one)",
		             v0);
		p->inconclusive = true;
		return;
	}
	uint64_t started;
	if (conform_use_adapter(run)) {
		uint8_t *data = NULL;
		size_t len = 0;
		int r = read_all(bundle, &data, &len);
		if (r != 0) {
			p->inconclusive = true;
			return;
		}
		/* Half the bundle, then the cut while the device waits for the rest. */
		int fd = raw_start(run, "/update", &s, "application/octet-stream", data, len, len / 2);
		started = conform_now_ms();
		free(data);
		if (fd < 0) {
			conform_step(run, p->item, "error", "(c) upload", NULL, "cannot start the upload: %s", toride_strerror(fd));
			p->inconclusive = true;
			return;
		}
		conform_step(run, p->item, "info", "(c) upload", NULL, "POST /update of version %s: %zu of %zu bytes sent",
		             vn, len / 2, len);
		conform_sleep_ms(50);
		power_cut(p, "(c) during the update upload", started);
		close(fd);
	} else {
		const char *names[] = {"bundle"};
		const char *values[] = {bundle};
		pid_t pid = hook_background(run, &d->update, names, values, 1);
		started = conform_now_ms();
		if (pid < 0) {
			p->inconclusive = true;
			return;
		}
		conform_step(run, p->item, "info", "(c) update", NULL, "update hook started with version %s", vn);
		conform_sleep_ms(100);
		power_cut(p, "(c) during the update", started);
		hook_reap(pid);
	}
	if (power_restore(p) != 0 || !session(p, &s))
		return;
	if (conform_dev_version(run, p->item, &s, vnow, sizeof vnow) != 0) {
		p->inconclusive = true;
		return;
	}
	if (strcmp(vnow, v0) == 0)
		conform_step(run, p->item, "ok", "(c) after the restore", NULL, "the device runs the previous version %s", v0);
	else {
		conform_step(run, p->item, "violation", "(c) after the restore", NULL,
		             "the device runs %s, not the version %s it ran before the interrupted update", vnow, v0);
		p->violation = true;
	}
	int r = conform_dev_install(run, p->item, &s, bundle, "the same bundle again, whole", answer, sizeof answer);
	if (r == 1) {
		conform_step(run, p->item, "violation", "(c) update after the interrupted one", answer,
		             "the device no longer accepts the update");
		p->violation = true;
		return;
	}
	if (r != 0) {
		p->inconclusive = true;
		return;
	}
	conform_step(run, p->item, "ok", "(c) update after the interrupted one", answer, "accepted");

	/* (d): boot into it, wait for the confirm, then cut at once. */
	conform_step(run, p->item, "info", "(d) power cut right after an update was confirmed", NULL, "start");
	if (conform_dev_reboot_wait(run, p->item, &s, vn, true, vnow, sizeof vnow) != 0) {
		conform_step(run, p->item, "violation", "(d) the update", NULL,
		             "the accepted update %s did not start (the device reports %s)", vn, vnow[0] ? vnow : "nothing");
		p->violation = true;
		return;
	}
	power_cut(p, "(d) after the update was confirmed", conform_now_ms());
	if (power_restore(p) != 0 || !session(p, &s))
		return;
	if (conform_dev_version(run, p->item, &s, vnow, sizeof vnow) != 0) {
		p->inconclusive = true;
		return;
	}
	if (strcmp(vnow, vn) == 0)
		conform_step(run, p->item, "ok", "(d) after the restore", NULL, "the updated firmware %s still runs", vn);
	else {
		conform_step(run, p->item, "violation", "(d) after the restore", NULL,
		             "the device runs %s instead of the confirmed update %s", vnow, vn);
		p->violation = true;
	}
	if (conform_dev_open_access(run, p->item) == 1)
		p->violation = true;
}

int
conform_check_power(struct conform_run *run, json_t *item)
{
	const struct conform_description *d = run->desc;
	if (d->power_cut.command[0] == '\0' || d->power_restore.command[0] == '\0') {
		conform_step(run, item, "error", "description", NULL,
		             "no power.cut / power.restore hooks: the power cannot be cut");
		conform_verdict_set(item, CONFORM_UNKNOWN, "The description gives no way to cut and restore the power.",
		                    "電源を遮断・復旧する方法が記述されていません。");
		return 0;
	}
	if (!conform_use_adapter(run) && (d->change_password.command[0] == '\0' || d->login_check.command[0] == '\0')) {
		conform_step(run, item, "error", "description", NULL,
		             "no way to change the password or check a login: give the toride-deviced adapter, or the "
		             "change_password and login_check hooks");
		conform_verdict_set(item, CONFORM_UNKNOWN, "The description gives no way to change or check the password.",
		                    "パスワードの変更・確認方法が記述されていません。");
		return 0;
	}
	struct pwr p = {run, item, json_array(), false, false};
	json_t *meas = json_object();
	json_object_set_new(meas, "cuts", p.cuts);
	json_object_set_new(item, "measurements", meas);
	part_after_change(&p);
	part_during_change(&p);
	part_update(&p);
	json_object_set_new(meas, "n_cuts", json_integer((json_int_t)json_array_size(p.cuts)));
	if (p.violation)
		conform_verdict_set(item, CONFORM_FAIL,
		                    "After a power cut the device lost a setting or firmware it had, or lost access control.",
		                    "電源遮断後に設定・ファームウェアが失われた、またはアクセス制御が失われました。");
	else if (p.inconclusive)
		conform_verdict_set(item, CONFORM_UNKNOWN, "Not every power cut could be examined (see the steps).",
		                    "一部の電源遮断を検査できませんでした（手順を参照）。");
	else
		conform_verdict_set(item, CONFORM_PASS,
		                    "After every power cut the changed credential, access control and the firmware were "
		                    "in force.",
		                    "すべての電源遮断後も、変更した認証情報・アクセス制御・ファームウェアが維持されていました。");
	return 0;
}
