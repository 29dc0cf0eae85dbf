/*
 * Malware family classification with YARA (hp.h "classification"). The rules are ours, in
 * data/yara/ (*.yar files) (data/yara/README.md says what each keys on); every rule carries meta `family`
 * (lower-case name) and `target`: "sample" rules run on captured files, "session" rules on a
 * session's transcript text (what the client typed, with or without the device's answers),
 * "any" on both. The target is checked after the match, so one compiled rule set serves both.
 *
 * Loading is strict: every *.yar of the directory is compiled in name order into one namespace
 * (a rule name means one rule), the first compile error is reported as file:line, and a rule
 * without a valid family or target is refused, so a typo in data/ fails at start, not silently.
 *
 * Thread safety: yr_initialize runs once per process (pthread_once) and is never undone, so
 * loads and frees may happen from any thread. One loaded hp_yara may be scanned from several
 * threads at once (libyara allows up to YR_MAX_THREADS concurrent scans of one rule set); a scan
 * and hp_yara_free of the same set must not overlap.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yara.h>

#include "core/error.h"
#include "honeypot/hp.h"

/* Why 5 s: the largest input is one 8 MiB sample; our rules are plain strings and short regexes
 * that scan that in well under a second; a hostile input that makes a regex crawl is cut off
 * rather than stalling the collector. */
#define HP_YARA_TIMEOUT_S 5
/* Rule files per directory: data/yara has one per family; more than this is not a rule dir. */
#define HP_YARA_FILES_MAX 256
/* Longest rule file name taken from the directory (the path is built from dir + "/" + name). */
#define HP_YARA_NAME_MAX 255
/* Longest family name: STIX malware names and SQLite keys stay short and predictable. */
#define HP_YARA_FAMILY_MAX 48

struct hp_yara {
	YR_RULES *rules;
};

static pthread_once_t yara_once = PTHREAD_ONCE_INIT;
static int yara_init_result = ERROR_INTERNAL_FATAL_ERROR;

static void
yara_init_once(void)
{
	yara_init_result = yr_initialize();
}

struct yara_compile_ctx {
	char *err;
	size_t errlen;
	bool have_error;
};

static void
yara_compile_cb(int level, const char *file, int line, const YR_RULE *rule, const char *msg, void *arg)
{
	struct yara_compile_ctx *c = arg;
	(void)rule;
	if (level != YARA_ERROR_LEVEL_ERROR || c->have_error)
		return;
	c->have_error = true;
	snprintf(c->err, c->errlen, "%s:%d: %s", file != NULL ? file : "?", line, msg != NULL ? msg : "error");
}

static int
yara_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
yara_has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n > k && memcmp(s + n - k, suf, k) == 0;
}

static const char *
yara_meta_string(const YR_RULE *rule, const char *name)
{
	const YR_META *meta;
	yr_rule_metas_foreach(rule, meta)
	{
		if (meta->type == META_TYPE_STRING && strcmp(meta->identifier, name) == 0)
			return meta->string;
	}
	return NULL;
}

static bool
yara_family_ok(const char *f)
{
	size_t n = f != NULL ? strlen(f) : 0;
	if (n == 0 || n > HP_YARA_FAMILY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '0' && f[i] <= '9') || f[i] == '-'))
			return false;
	return true;
}

static bool
yara_target_ok(const char *t)
{
	return t != NULL && (strcmp(t, "sample") == 0 || strcmp(t, "session") == 0 || strcmp(t, "any") == 0);
}

/* Every public rule must say which family it names and what it is meant to scan. */
static int
yara_check_metas(YR_RULES *rules, char *err, size_t errlen)
{
	const YR_RULE *rule;
	yr_rules_foreach(rules, rule)
	{
		if (rule->flags & RULE_FLAGS_PRIVATE)
			continue;
		if (!yara_family_ok(yara_meta_string(rule, "family"))) {
			snprintf(err, errlen, "rule %s: meta family missing or not a lower-case name", rule->identifier);
			return TORIDE_EPARSE;
		}
		if (!yara_target_ok(yara_meta_string(rule, "target"))) {
			snprintf(err, errlen, "rule %s: meta target must be \"sample\", \"session\" or \"any\"",
			         rule->identifier);
			return TORIDE_EPARSE;
		}
	}
	return 0;
}

int
hp_yara_load(struct hp_yara **out, const char *dir, char *err, size_t errlen)
{
	int r = 0;
	DIR *d = NULL;
	char *names[HP_YARA_FILES_MAX];
	size_t nnames = 0;
	YR_COMPILER *comp = NULL;
	YR_RULES *rules = NULL;
	struct hp_yara *y = NULL;
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';

	pthread_once(&yara_once, yara_init_once);
	if (yara_init_result != ERROR_SUCCESS) {
		snprintf(err, errlen, "libyara failed to initialise (error %d)", yara_init_result);
		r = yara_init_result == ERROR_INSUFFICIENT_MEMORY ? TORIDE_ENOMEM : TORIDE_EIO;
		goto out;
	}

	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		r = TORIDE_EIO;
		goto out;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !yara_has_suffix(e->d_name, ".yar"))
			continue;
		if (strlen(e->d_name) > HP_YARA_NAME_MAX || nnames == HP_YARA_FILES_MAX) {
			snprintf(err, errlen, "%s: more than %d rule files or a name too long", dir, HP_YARA_FILES_MAX);
			r = TORIDE_EIO;
			goto out;
		}
		names[nnames] = strdup(e->d_name);
		if (names[nnames] == NULL) {
			r = TORIDE_ENOMEM;
			goto out;
		}
		nnames++;
	}
	if (nnames == 0) {
		snprintf(err, errlen, "%s: no *.yar rule files", dir);
		r = TORIDE_EIO;
		goto out;
	}
	qsort(names, nnames, sizeof names[0], yara_name_cmp);

	if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	struct yara_compile_ctx cc = { err, errlen, false };
	yr_compiler_set_callback(comp, yara_compile_cb, &cc);
	for (size_t i = 0; i < nnames; i++) {
		char path[4096 + HP_YARA_NAME_MAX + 2];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			r = TORIDE_EIO;
			goto out;
		}
		int nerr = yr_compiler_add_file(comp, f, NULL, path);
		fclose(f);
		if (nerr > 0) {
			if (!cc.have_error)
				snprintf(err, errlen, "%s: does not compile", path);
			r = TORIDE_EPARSE;
			goto out;
		}
	}
	int yr = yr_compiler_get_rules(comp, &rules);
	if (yr != ERROR_SUCCESS) {
		snprintf(err, errlen, "%s: cannot build the rule set (error %d)", dir, yr);
		r = yr == ERROR_INSUFFICIENT_MEMORY ? TORIDE_ENOMEM : TORIDE_EPARSE;
		goto out;
	}
	if ((r = yara_check_metas(rules, err, errlen)) != 0)
		goto out;
	y = calloc(1, sizeof *y);
	if (y == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	y->rules = rules;
	rules = NULL;
	*out = y;
out:
	if (rules != NULL)
		yr_rules_destroy(rules);
	if (comp != NULL)
		yr_compiler_destroy(comp);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	if (d != NULL)
		closedir(d);
	return r;
}

void
hp_yara_free(struct hp_yara *y)
{
	if (y == NULL)
		return;
	if (y->rules != NULL)
		yr_rules_destroy(y->rules);
	free(y);
}

struct yara_scan_ctx {
	bool is_session;
	json_t *rules, *families;
	int err;
};

/* Append s to the JSON array a unless it is already there. */
static int
yara_add_unique(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 0;
	}
	return json_array_append_new(a, json_string(s)) == 0 ? 0 : TORIDE_ENOMEM;
}

static int
yara_scan_cb(YR_SCAN_CONTEXT *sc, int message, void *data, void *arg)
{
	struct yara_scan_ctx *c = arg;
	(void)sc;
	if (message != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	const YR_RULE *rule = data;
	const char *target = yara_meta_string(rule, "target");
	const char *family = yara_meta_string(rule, "family");
	if (target == NULL || family == NULL)
		return CALLBACK_CONTINUE;
	if (strcmp(target, "any") != 0 && strcmp(target, c->is_session ? "session" : "sample") != 0)
		return CALLBACK_CONTINUE;
	int r = yara_add_unique(c->rules, rule->identifier);
	if (r == 0)
		r = yara_add_unique(c->families, family);
	if (r != 0) {
		c->err = r;
		return CALLBACK_ERROR;
	}
	return CALLBACK_CONTINUE;
}

int
hp_yara_scan(struct hp_yara *y, const uint8_t *p, size_t n, bool is_session, json_t *rules, json_t *families)
{
	static const uint8_t empty[1];
	if (y == NULL || y->rules == NULL || !json_is_array(rules) || !json_is_array(families) ||
	    (p == NULL && n > 0))
		return TORIDE_EINVAL;
	struct yara_scan_ctx c = { is_session, rules, families, 0 };
	/* flags 0: SCAN_FLAGS_FAST_MODE off, so every rule is evaluated on every string match */
	int yr = yr_rules_scan_mem(y->rules, p != NULL ? p : empty, n, 0, yara_scan_cb, &c, HP_YARA_TIMEOUT_S);
	switch (yr) {
	case ERROR_SUCCESS: return 0;
	case ERROR_CALLBACK_ERROR: return c.err != 0 ? c.err : TORIDE_EIO;
	case ERROR_SCAN_TIMEOUT: return TORIDE_ETIMEOUT;
	case ERROR_INSUFFICIENT_MEMORY: return TORIDE_ENOMEM;
	case ERROR_TOO_MANY_MATCHES: return TORIDE_ETOOBIG;
	default: return TORIDE_EIO;
	}
}
