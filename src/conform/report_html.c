/*
 * The conform report as one self-contained HTML page (docs/conform.md, "Report"): what a person
 * hands to a reviewer. Japanese and English side by side; inline CSS only, no script, and a
 * Content-Security-Policy that forbids every external resource, so even a missed escape could not
 * load or run anything.
 *
 * The input is a result document read back from a file that may have been hand-edited or made
 * hostile, so nothing in it is trusted: every member is looked up with its type checked, a missing
 * or mistyped one is shown as "—", every string goes through toride_escape_html with a cap, and
 * the number of items, steps and measurements rendered is bounded. Requirement titles and mapped
 * clauses come from the catalog (data/catalog.json) when it can be loaded, else from the items.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform.h"
#include "core/catalog.h"
#include "core/error.h"
#include "core/escape.h"

/* Bytes of one step's evidence shown: a login exchange or a banner fits many times over; the
 * whole transcript stays in result.json, and a page of megabytes is no use to a reviewer. */
#define REPORT_EVIDENCE_MAX 4096
/* Bytes of any other string (reason, action, observation, names): a sentence or a command. */
#define REPORT_TEXT_MAX 1024
/* Items (checks) rendered: a run has six; a hand-made document with thousands must not make a
 * page nobody can open. */
#define REPORT_ITEMS_MAX 64
/* Steps rendered per check: the brute-force check may log one per attempt; the first ones and
 * the count tell the story, the rest is in result.json. */
#define REPORT_STEPS_MAX 200
/* Measurements rendered per check, and clauses per mapped scheme. */
#define REPORT_MEASUREMENTS_MAX 32
#define REPORT_CLAUSES_MAX 16
/* Summary rows: the five requirements conform examines plus others found in the document. */
#define REPORT_ROWS_MAX 16

static const char dash[] = "—";

/* The requirements conform examines, in the order of the summary table: always shown, so a
 * requirement that was not examined is visible as such. */
static const char *const fixed_rows[] = {"JP-34-10-1", "JP-34-10-2", "JP-34-10-3", "JP-34-10-4",
                                         "TORIDE-BRUTE"};

/* Verdicts ordered by weight: the verdict of a group is its heaviest member's. */
enum rv {
	RV_NONE = 0, /* not examined (no item) or missing */
	RV_NA,
	RV_PASS,
	RV_UNKNOWN,
	RV_FAIL,
};

static const struct {
	const char *cls, *sym, *en, *ja;
} rv_text[] = {
	[RV_NONE] = {"none", "—", "NOT EXAMINED", "未実施"},
	[RV_NA] = {"na", "–", "N/A", "対象外"},
	[RV_PASS] = {"pass", "✓", "PASS", "適合"},
	[RV_UNKNOWN] = {"unknown", "?", "UNKNOWN", "判定不能"},
	[RV_FAIL] = {"fail", "✗", "FAIL", "不適合"},
};

/* A string member: pointer and length, or NULL when absent, not a string, or empty. */
static const char *
jstr(const json_t *obj, const char *key, size_t *len)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return NULL;
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

/* n bytes of s, at most cap of them (cut on a UTF-8 boundary), with a note of what was left out. */
static void
put_capped(FILE *out, const char *s, size_t n, size_t cap)
{
	size_t cut = n;
	if (n > cap) {
		cut = cap;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	toride_escape_html(out, s, cut);
	if (cut < n)
		fprintf(out, "<span class=\"cut\"> … (%zu more bytes in result.json / 残りは result.json)</span>",
		        n - cut);
}

static void
put_str(FILE *out, const char *s)
{
	toride_escape_html(out, s, strlen(s));
}

/* A string member escaped and capped, or "—". */
static void
put_field(FILE *out, const json_t *obj, const char *key)
{
	size_t n = 0;
	const char *s = jstr(obj, key, &n);
	if (s == NULL)
		fputs(dash, out);
	else
		put_capped(out, s, n, REPORT_TEXT_MAX);
}

static enum rv
rv_parse(const json_t *obj, bool *valid)
{
	const char *s = jstr(obj, "verdict", NULL);
	static const struct {
		const char *name;
		enum rv v;
	} names[] = {{"pass", RV_PASS}, {"fail", RV_FAIL}, {"unknown", RV_UNKNOWN}, {"n/a", RV_NA}};
	*valid = false;
	if (s != NULL) {
		size_t n = json_string_length(json_object_get(obj, "verdict"));
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (n == strlen(names[i].name) && strcmp(s, names[i].name) == 0) {
				*valid = true;
				return names[i].v;
			}
		}
	}
	return RV_NONE;
}

/* An item's verdict for grouping: a missing or invalid one is undecided, never a pass. */
static enum rv
item_rv(const json_t *item)
{
	bool valid;
	enum rv v = rv_parse(item, &valid);
	return valid ? v : RV_UNKNOWN;
}

static void
put_badge(FILE *out, enum rv v, const char *extra_class)
{
	fprintf(out, "<span class=\"badge v-%s%s%s\" data-verdict=\"%s\"><span class=\"sym\" aria-hidden=\"true\">%s</span> "
	        "%s <span lang=\"ja\">%s</span></span>",
	        rv_text[v].cls, extra_class[0] ? " " : "", extra_class, rv_text[v].cls, rv_text[v].sym, rv_text[v].en,
	        rv_text[v].ja);
}

/* Items of the document, bounded. */
static size_t
n_items(const json_t *result)
{
	size_t n = json_array_size(json_object_get(result, "items"));
	return n < REPORT_ITEMS_MAX ? n : REPORT_ITEMS_MAX;
}

/* Does item's requirement equal id (NULL id: the item has no valid requirement)? */
static bool
item_is(const json_t *item, const char *id)
{
	size_t n = 0;
	const char *r = jstr(item, "requirement", &n);
	if (r == NULL || id == NULL)
		return r == NULL && id == NULL;
	return n == strlen(id) && strcmp(r, id) == 0;
}

/* The summary rows: the fixed requirements, then every other requirement id in the items (in
 * order of first appearance), then NULL for items without one if there are any. */
struct rows {
	const char *id[REPORT_ROWS_MAX];
	size_t n;
};

static void
rows_add(struct rows *rows, const char *id)
{
	for (size_t i = 0; i < rows->n; i++) {
		if ((id == NULL && rows->id[i] == NULL) ||
		    (id != NULL && rows->id[i] != NULL && strcmp(id, rows->id[i]) == 0))
			return;
	}
	if (rows->n < REPORT_ROWS_MAX)
		rows->id[rows->n++] = id;
}

static void
rows_build(const json_t *items, size_t n, struct rows *rows)
{
	rows->n = 0;
	for (size_t i = 0; i < sizeof fixed_rows / sizeof fixed_rows[0]; i++)
		rows_add(rows, fixed_rows[i]);
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		const char *r = jstr(json_array_get(items, i), "requirement", &len);
		/* An id with an embedded NUL would not compare as itself: group it with the invalid. */
		rows_add(rows, r != NULL && strlen(r) == len ? r : NULL);
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(items, i);
		size_t len = 0;
		const char *r = jstr(it, "requirement", &len);
		if (r == NULL || strlen(r) != len)
			rows_add(rows, NULL);
	}
}

static bool
item_in_row(const json_t *item, const char *id)
{
	size_t len = 0;
	const char *r = jstr(item, "requirement", &len);
	if (id == NULL)
		return r == NULL || strlen(r) != len;
	return item_is(item, id);
}

static enum rv
row_rv(const json_t *items, size_t n, const char *id)
{
	enum rv v = RV_NONE;
	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(items, i);
		if (item_in_row(it, id)) {
			enum rv iv = item_rv(it);
			if (iv > v)
				v = iv;
		}
	}
	return v;
}

/* Overall verdict from the items, as conform_overall defines it: fail if any failed, unknown if
 * any is unknown, else pass; RV_NONE when there is no item at all. */
static enum rv
items_overall(const json_t *items, size_t n)
{
	enum rv v = RV_NONE;
	for (size_t i = 0; i < n; i++) {
		enum rv iv = item_rv(json_array_get(items, i));
		if (iv == RV_NA)
			iv = RV_PASS;
		if (iv > v)
			v = iv;
	}
	return v;
}

/* One scheme's clauses: the union of the items' lists (strings only) when any item of the row
 * has the list, else the catalog's; "—" when empty. */
static void
put_clauses(FILE *out, const char *label, const json_t *items, size_t n, const char *id, const char *item_key,
            const struct toride_strlist *cat_list)
{
	const char *seen[REPORT_CLAUSES_MAX];
	size_t n_seen = 0;
	bool from_items = false;

	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(items, i);
		const json_t *arr = json_object_get(it, item_key);
		if (!item_in_row(it, id) || !json_is_array(arr))
			continue;
		from_items = true;
		size_t j;
		const json_t *e;
		json_array_foreach(arr, j, e) {
			const char *s = json_string_value(e);
			if (s == NULL || s[0] == '\0' || n_seen == REPORT_CLAUSES_MAX)
				continue;
			bool dup = false;
			for (size_t k = 0; k < n_seen; k++)
				dup = dup || strcmp(seen[k], s) == 0;
			if (!dup)
				seen[n_seen++] = s;
		}
	}
	if (!from_items && cat_list != NULL) {
		for (size_t j = 0; j < cat_list->n && n_seen < REPORT_CLAUSES_MAX; j++)
			seen[n_seen++] = cat_list->v[j];
	}
	fprintf(out, "<div class=\"map\"><span class=\"scheme\">%s</span> ", label);
	if (n_seen == 0)
		fputs(dash, out);
	for (size_t k = 0; k < n_seen; k++) {
		if (k > 0)
			fputs(", ", out);
		toride_escape_html(out, seen[k], strnlen(seen[k], REPORT_TEXT_MAX));
	}
	fputs("</div>", out);
}

/* The first item of a row that has a string member key (to fall back on for titles). */
static const json_t *
row_item_with(const json_t *items, size_t n, const char *id, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(items, i);
		if (item_in_row(it, id) && jstr(it, key, NULL) != NULL)
			return it;
	}
	return NULL;
}

static void
put_row(FILE *out, const json_t *items, size_t n, const char *id, const struct toride_catalog *cat)
{
	const struct toride_requirement *req = id != NULL ? toride_catalog_get(cat, id) : NULL;
	enum rv v = row_rv(items, n, id);

	fputs("<tr data-requirement=\"", out);
	put_str(out, id != NULL ? id : "invalid");
	fprintf(out, "\" data-verdict=\"%s\" class=\"row-%s\"><td class=\"req\">", rv_text[v].cls, rv_text[v].cls);
	if (id != NULL)
		toride_escape_html(out, id, strnlen(id, REPORT_TEXT_MAX));
	else
		fputs("— <span class=\"small\">(requirement missing or invalid / 要件IDなし)</span>", out);
	fputs("</td><td>", out);
	if (req != NULL) {
		fputs("<div lang=\"ja\">", out);
		put_str(out, req->title_ja);
		fputs("</div><div class=\"en\">", out);
		put_str(out, req->title);
		fputs("</div>", out);
	} else {
		/* Without the catalog: the requirement's titles the engine copied into the items, else
		 * the check's own. */
		const json_t *ja = row_item_with(items, n, id, "requirement_title_ja");
		const json_t *en = row_item_with(items, n, id, "requirement_title");
		fputs("<div lang=\"ja\">", out);
		if (ja != NULL)
			put_field(out, ja, "requirement_title_ja");
		else
			put_field(out, row_item_with(items, n, id, "title_ja"), "title_ja");
		fputs("</div><div class=\"en\">", out);
		if (en != NULL)
			put_field(out, en, "requirement_title");
		else
			put_field(out, row_item_with(items, n, id, "title"), "title");
		fputs("</div>", out);
	}
	fputs("</td><td>", out);
	put_clauses(out, "JC-STAR ★1", items, n, id, "jc_star", req ? &req->jc_star_1 : NULL);
	put_clauses(out, "ETSI EN 303 645", items, n, id, "etsi", req ? &req->etsi_en_303_645 : NULL);
	put_clauses(out, "UK PSTI", items, n, id, "uk_psti", req ? &req->uk_psti : NULL);
	fputs("</td><td class=\"verdict\">", out);
	put_badge(out, v, "");
	fputs("</td><td class=\"reason\">", out);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(items, i);
		if (!item_in_row(it, id))
			continue;
		any = true;
		enum rv iv = item_rv(it);
		fprintf(out, "<div class=\"why\"><a href=\"#item-%zu\" class=\"chk\">", i + 1);
		put_field(out, it, "check");
		fprintf(out, "</a> <span class=\"mini v-%s\">%s %s</span><div lang=\"ja\">", rv_text[iv].cls, rv_text[iv].sym,
		        rv_text[iv].en);
		put_field(out, it, "reason_ja");
		fputs("</div><div class=\"en\">", out);
		put_field(out, it, "reason");
		fputs("</div></div>", out);
	}
	if (!any)
		fputs("<span lang=\"ja\">この要件は今回の試験で確認していません。</span><br>Not examined in this run.", out);
	fputs("</td></tr>\n", out);
}

/* "2026-11-22T03:30:01.002Z" shows as its time of day; anything else as given. */
static void
put_time(FILE *out, const json_t *obj, const char *key)
{
	size_t n = 0;
	const char *s = jstr(obj, key, &n);
	if (s != NULL && n >= 19 && n <= 40 && s[10] == 'T' && s[4] == '-' && s[13] == ':') {
		fputs("<time>", out);
		toride_escape_html(out, s + 11, n - 11);
		fputs("</time>", out);
	} else if (s != NULL) {
		put_capped(out, s, n, REPORT_TEXT_MAX);
	} else {
		fputs(dash, out);
	}
}

static void
put_number(FILE *out, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(out, "%lld", (long long)json_integer_value(v));
	else
		fprintf(out, "%.6g", json_real_value(v));
}

static void
put_measurements(FILE *out, const json_t *m)
{
	if (!json_is_object(m) || json_object_size(m) == 0)
		return;
	const char *k;
	const json_t *v;
	size_t shown = 0;
	fputs("<h4>Measurements <span lang=\"ja\">測定値</span></h4>\n<table class=\"kv\">\n", out);
	json_object_foreach((json_t *)m, k, v) {
		if (shown++ == REPORT_MEASUREMENTS_MAX)
			break;
		fputs("<tr><th>", out);
		toride_escape_html(out, k, strnlen(k, REPORT_TEXT_MAX));
		fputs("</th><td>", out);
		if (json_is_number(v)) {
			put_number(out, v);
		} else if (json_is_string(v)) {
			put_capped(out, json_string_value(v), json_string_length(v), REPORT_TEXT_MAX);
		} else if (json_is_boolean(v)) {
			fputs(json_is_true(v) ? "true" : "false", out);
		} else {
			char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			if (t != NULL)
				put_capped(out, t, strlen(t), REPORT_TEXT_MAX);
			else
				fputs(dash, out);
			free(t);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
	if (json_object_size(m) > REPORT_MEASUREMENTS_MAX)
		fprintf(out, "<p class=\"small\">%zu more measurements in result.json.</p>\n",
		        json_object_size(m) - REPORT_MEASUREMENTS_MAX);
}

static const struct {
	const char *name, *sym, *ja;
} outcomes[] = {
	{"ok", "✓", "正常"},
	{"violation", "✗", "違反"},
	{"info", "i", "情報"},
	{"error", "!", "エラー"},
};

static void
put_outcome(FILE *out, const json_t *step)
{
	size_t n = 0;
	const char *s = jstr(step, "outcome", &n);
	for (size_t i = 0; s != NULL && i < sizeof outcomes / sizeof outcomes[0]; i++) {
		if (n == strlen(outcomes[i].name) && strcmp(s, outcomes[i].name) == 0) {
			fprintf(out, "<span class=\"o o-%s\">%s %s <span lang=\"ja\">%s</span></span>", outcomes[i].name,
			        outcomes[i].sym, outcomes[i].name, outcomes[i].ja);
			return;
		}
	}
	fputs(dash, out);
}

/* Decodes the run of \\xHH escapes at s[i..cut) into bytes (at most cap); returns how many
 * bytes of s it covered (0 if there is no \\xHH at i). */
static size_t
hex_run(const char *s, size_t i, size_t cut, unsigned char *bytes, size_t cap, size_t *nb)
{
	size_t j = i;
	*nb = 0;
	while (j + 4 <= cut) {
		if (*nb == cap || s[j] != '\\' || s[j + 1] != 'x')
			break;
		int h = toride_hexval(s[j + 2]), l = toride_hexval(s[j + 3]);
		if (h < 0 || l < 0)
			break;
		bytes[(*nb)++] = (unsigned char)(h << 4 | l);
		j += 4;
	}
	return j - i;
}

/* Evidence is escaped text (toride_escape_bytes: \\n, \\r, \\xHH): each "\\n" escape also
 * breaks the line so a transcript reads as the session did, and runs of \\xHH that form valid,
 * printable UTF-8 (a Japanese banner) show as the characters; any other byte of such a run shows
 * as the same \\xHH again (toride_escape_html), so nothing hidden becomes visible differently.
 * Capped like any text. */
static void
put_evidence(FILE *out, const char *s, size_t n)
{
	size_t cut = n, run = 0;
	unsigned char bytes[256];
	if (n > REPORT_EVIDENCE_MAX) {
		cut = REPORT_EVIDENCE_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	for (size_t i = 0; i < cut; i++) {
		if (s[i] != '\\' || i + 1 >= cut)
			continue;
		if (s[i + 1] == 'n') {
			toride_escape_html(out, s + run, i + 2 - run);
			fputc('\n', out);
			run = i + 2;
		} else if (s[i + 1] == 'x') {
			size_t nb, len = hex_run(s, i, cut, bytes, sizeof bytes, &nb);
			if (len > 0) {
				toride_escape_html(out, s + run, i - run);
				toride_escape_html(out, (const char *)bytes, nb);
				run = i + len;
				i += len - 1;
				continue;
			}
		}
		i++; /* the escaped character is never the start of another escape */
	}
	toride_escape_html(out, s + run, cut - run);
	if (cut < n)
		fprintf(out, "<span class=\"cut\"> … (%zu more bytes in result.json / 残りは result.json)</span>",
		        n - cut);
}

static void
put_steps(FILE *out, const json_t *steps)
{
	size_t n = json_array_size(steps);
	if (n == 0) {
		fputs("<p class=\"small\">No steps recorded. <span lang=\"ja\">記録された手順はありません。</span></p>\n", out);
		return;
	}
	fputs("<h4>Steps <span lang=\"ja\">手順と証跡</span></h4>\n<table class=\"steps\">"
	      "<colgroup><col class=\"c-n\"><col class=\"c-t\"><col class=\"c-o\"><col class=\"c-a\"><col class=\"c-e\">"
	      "</colgroup>\n<thead><tr><th>#</th><th>time (UTC)<br><span lang=\"ja\">時刻</span></th>"
	      "<th>outcome<br><span lang=\"ja\">結果</span></th><th>action<br><span lang=\"ja\">操作</span></th>"
	      "<th>observation, evidence<br><span lang=\"ja\">観測・証跡</span></th></tr></thead>\n<tbody>\n",
	      out);
	for (size_t i = 0; i < n && i < REPORT_STEPS_MAX; i++) {
		const json_t *st = json_array_get(steps, i);
		fprintf(out, "<tr class=\"step\"><td class=\"n\">%zu</td><td>", i + 1);
		put_time(out, st, "at");
		fputs("</td><td>", out);
		put_outcome(out, st);
		fputs("</td><td class=\"action\">", out);
		put_field(out, st, "action");
		fputs("</td><td>", out);
		put_field(out, st, "observed");
		size_t en = 0;
		const char *ev = jstr(st, "evidence", &en);
		if (ev != NULL) {
			fputs("<pre class=\"evidence\">", out);
			put_evidence(out, ev, en);
			fputs("</pre>", out);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
	if (n > REPORT_STEPS_MAX)
		fprintf(out, "<p class=\"small\">%zu more steps in result.json. <span lang=\"ja\">残り %zu 手順は "
		        "result.json に記録されています。</span></p>\n", n - REPORT_STEPS_MAX, n - REPORT_STEPS_MAX);
}

static void
put_list_inline(FILE *out, const json_t *arr)
{
	size_t shown = 0, i;
	const json_t *e;
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(e);
		if (s == NULL || s[0] == '\0' || shown == REPORT_CLAUSES_MAX)
			continue;
		if (shown++ > 0)
			fputs(", ", out);
		put_capped(out, s, json_string_length(e), REPORT_TEXT_MAX);
	}
	if (shown == 0)
		fputs(dash, out);
}

static void
put_item(FILE *out, const json_t *item, size_t idx)
{
	enum rv v = item_rv(item);
	bool valid;
	(void)rv_parse(item, &valid);

	fprintf(out, "<section class=\"check\" id=\"item-%zu\" data-check=\"", idx + 1);
	put_field(out, item, "check");
	fprintf(out, "\" data-verdict=\"%s\">\n<h3>", rv_text[v].cls);
	put_field(out, item, "requirement");
	fputs(" · <code>", out);
	put_field(out, item, "check");
	fputs("</code> ", out);
	put_badge(out, v, "");
	fputs("</h3>\n<p class=\"title\"><span lang=\"ja\">", out);
	put_field(out, item, "title_ja");
	fputs("</span><br>", out);
	put_field(out, item, "title");
	fputs("</p>\n<table class=\"kv\">\n<tr><th>verdict <span lang=\"ja\">判定</span></th><td>", out);
	put_badge(out, v, "");
	if (!valid)
		fputs(" <span class=\"small\">(verdict missing or invalid in the result; never counted as a pass / "
		      "<span lang=\"ja\">判定が欠落又は不正のため適合とはみなさない</span>)</span>", out);
	fputs("</td></tr>\n<tr><th>reason <span lang=\"ja\">理由</span></th><td><div lang=\"ja\">", out);
	put_field(out, item, "reason_ja");
	fputs("</div><div class=\"en\">", out);
	put_field(out, item, "reason");
	fputs("</div></td></tr>\n<tr><th>clauses <span lang=\"ja\">対応条項</span></th><td>JC-STAR ★1: ", out);
	put_list_inline(out, json_object_get(item, "jc_star"));
	fputs("; ETSI EN 303 645: ", out);
	put_list_inline(out, json_object_get(item, "etsi"));
	fputs("; UK PSTI: ", out);
	put_list_inline(out, json_object_get(item, "uk_psti"));
	fputs("</td></tr>\n<tr><th>started <span lang=\"ja\">開始</span></th><td>", out);
	put_field(out, item, "started");
	fputs("</td></tr>\n<tr><th>finished <span lang=\"ja\">終了</span></th><td>", out);
	put_field(out, item, "finished");
	fputs("</td></tr>\n</table>\n", out);
	put_measurements(out, json_object_get(item, "measurements"));
	put_steps(out, json_object_get(item, "steps"));
	fputs("</section>\n", out);
}

static void
put_dd(FILE *out, const char *en, const char *ja, const json_t *obj, const char *key)
{
	fprintf(out, "<tr><th>%s <span lang=\"ja\">%s</span></th><td>", en, ja);
	put_field(out, obj, key);
	fputs("</td></tr>\n", out);
}

static const char style[] =
	"body{font-family:'Noto Sans CJK JP','Noto Sans JP','Hiragino Sans','Yu Gothic',system-ui,sans-serif;"
	"margin:1.5em auto;max-width:72em;color:#1b1b1b;padding:0 1em;line-height:1.45}"
	"h1{border-bottom:3px solid #333;font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #999;"
	"font-size:1.3em}h3{font-size:1.1em;margin:.2em 0}h4{margin:.8em 0 .3em}"
	"table{border-collapse:collapse;margin:.5em 0;width:100%;table-layout:fixed}"
	"th,td{border:1px solid #bbb;padding:.3em .45em;text-align:left;vertical-align:top;"
	"overflow-wrap:anywhere;word-break:normal}th{background:#f0f0f0}"
	"table.kv th{width:13em}td.n{text-align:right}"
	"code,pre,.action{font-family:'Noto Sans Mono CJK JP','DejaVu Sans Mono',monospace;font-size:.88em}"
	"pre.evidence{background:#f6f6f6;border:1px solid #ddd;padding:.35em;margin:.35em 0 0;"
	"white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%}"
	".en{color:#333}.small,.cut{font-size:.85em;color:#555}"
	".badge{display:inline-block;border-radius:4px;padding:.05em .5em;font-weight:bold;color:#fff;"
	"white-space:nowrap;border:2px solid transparent}"
	".v-pass{background:#1e7b34}.v-fail{background:#b3261e}.v-unknown{background:#8a5a00}"
	".v-na{background:#5f6368}.v-none{background:#fff;color:#333;border-color:#777}"
	".mini{font-size:.8em;border-radius:3px;padding:0 .3em;color:#fff;white-space:nowrap}"
	".mini.v-none{color:#333}"
	".overall{margin:1em 0;padding:.6em 1em;border-radius:6px;font-size:1.5em}"
	".overall .badge{font-size:1.3em;border:3px solid #fff}"
	".overall.v-none{border:3px solid #777}"
	".warn{border:2px solid #b3261e;padding:.4em .8em;background:#fdf0ef}"
	"table.summary col.c-req{width:9em}table.summary col.c-title{width:26%}"
	"table.summary col.c-map{width:17%}table.summary col.c-v{width:8.5em}"
	"table.summary td.verdict .badge{white-space:normal;text-align:center}"
	".map{font-size:.85em}.map .scheme{color:#555;display:block}"
	".why{margin-bottom:.4em}.why .chk{font-family:monospace;font-weight:bold}"
	"table.steps col.c-n{width:2.5em}table.steps col.c-t{width:7.5em}table.steps col.c-o{width:7em}"
	"table.steps col.c-a{width:28%}"
	".o{font-size:.85em}.o-violation{color:#b3261e;font-weight:bold}"
	".o-error{color:#8a5a00;font-weight:bold}.o-ok{color:#1e7b34}"
	"section.check{border-left:5px solid #999;padding-left:.8em;margin:1.5em 0}"
	"section.check[data-verdict=fail]{border-left-color:#b3261e}"
	"section.check[data-verdict=pass]{border-left-color:#1e7b34}"
	"section.check[data-verdict=unknown]{border-left-color:#8a5a00}"
	"dl.legend dt{margin-top:.3em}dl.legend dd{margin-left:1.5em}"
	"footer{margin-top:2em;border-top:1px solid #999}"
	"@page{size:A4;margin:14mm 12mm}"
	"@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"section.check{break-before:page}h2,h3,h4{break-after:avoid}"
	"tr,.overall,.why{break-inside:avoid}thead{display:table-header-group}"
	"a{color:inherit;text-decoration:none}}";

int
conform_report_html(const json_t *result, FILE *out)
{
	const json_t *items = json_object_get(result, "items");
	const json_t *dev = json_object_get(result, "device");
	const json_t *tool = json_object_get(result, "tool");
	size_t n = n_items(result);
	struct toride_catalog *cat = NULL;
	struct rows rows;
	bool doc_valid;
	char path[4096], err[256];

	if (out == NULL)
		return TORIDE_EINVAL;
	/* The catalog only adds titles and clauses; the report is still whole without it. */
	const char *dir = getenv("TORIDE_DATA_DIR");
	snprintf(path, sizeof path, "%s/catalog.json", dir != NULL && dir[0] ? dir : TORIDE_DATA_DIR);
	if (toride_catalog_load(&cat, path, err, sizeof err) != 0)
		cat = NULL;

	enum rv doc = rv_parse(result, &doc_valid);
	enum rv computed = items_overall(items, n);
	if (computed == RV_NONE)
		computed = RV_UNKNOWN; /* a run that examined nothing decided nothing */
	enum rv overall = doc > computed ? doc : computed;
	if (overall == RV_NA)
		overall = RV_PASS;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
	      "img-src data:; form-action 'none'; base-uri 'none'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"toride " TORIDE_VERSION "\">\n<title>", out);
	fprintf(out, "%s: ", rv_text[overall].en);
	put_field(out, dev, "name");
	fprintf(out, " — toride conform report / 適合性試験報告書</title>\n<style>%s</style>\n</head>\n<body>\n", style);

	fputs("<header>\n<h1><span lang=\"ja\">適合性試験報告書</span><br>Conformity examination report</h1>\n"
	      "<p class=\"small\"><span lang=\"ja\">端末設備等規則 第34条の10 及び JC-STAR ★1</span> / "
	      "Terminal Equipment Regulations art. 34-10 and JC-STAR ★1</p>\n", out);
	fprintf(out, "<div class=\"overall v-%s\" id=\"overall\" data-verdict=\"%s\">", rv_text[overall].cls,
	        rv_text[overall].cls);
	fputs("<span lang=\"ja\">総合判定</span> / Overall verdict: ", out);
	put_badge(out, overall, "");
	fputs("</div>\n", out);
	if (doc_valid && doc != computed)
		fprintf(out, "<p class=\"warn\">The document states the overall verdict &quot;%s&quot;, but its items give "
		        "&quot;%s&quot;; the stricter one is shown. <span lang=\"ja\">文書の総合判定と各項目の判定が一致しないため、"
		        "厳しい方を表示しています。</span></p>\n", rv_text[doc].en, rv_text[computed].en);
	else if (!doc_valid)
		fputs("<p class=\"warn\">The document has no valid overall verdict; it is derived from the items. "
		      "<span lang=\"ja\">文書に有効な総合判定がないため、各項目から導出しています。</span></p>\n", out);
	fputs("</header>\n", out);

	fputs("<h2>Device and examination <span lang=\"ja\">試験対象と試験</span></h2>\n<table class=\"kv\">\n", out);
	put_dd(out, "device", "機器", dev, "name");
	put_dd(out, "vendor", "製造者", dev, "vendor");
	put_dd(out, "model", "型式", dev, "model");
	put_dd(out, "firmware", "ファームウェア", dev, "firmware");
	put_dd(out, "address", "アドレス", dev, "address");
	if (jstr(result, "only", NULL) != NULL)
		put_dd(out, "only check", "実施した項目のみ", result, "only");
	put_dd(out, "started", "開始日時", result, "started");
	put_dd(out, "finished", "終了日時", result, "finished");
	fputs("<tr><th>tool <span lang=\"ja\">試験ツール</span></th><td>", out);
	put_field(out, tool, "name");
	fputs(" ", out);
	put_field(out, tool, "version");
	fputs("</td></tr>\n</table>\n", out);

	fputs("<h2>Summary by requirement <span lang=\"ja\">要件別の結果</span></h2>\n<table class=\"summary\">"
	      "<colgroup><col class=\"c-req\"><col class=\"c-title\"><col class=\"c-map\"><col class=\"c-v\"><col>"
	      "</colgroup>\n<thead><tr><th>requirement<br><span lang=\"ja\">要件</span></th>"
	      "<th>title<br><span lang=\"ja\">名称</span></th><th>mapped clauses<br><span lang=\"ja\">対応条項</span></th>"
	      "<th>verdict<br><span lang=\"ja\">判定</span></th><th>reason<br><span lang=\"ja\">理由</span></th></tr>"
	      "</thead>\n<tbody>\n", out);
	rows_build(items, n, &rows);
	for (size_t i = 0; i < rows.n; i++)
		put_row(out, items, n, rows.id[i], cat);
	fputs("</tbody></table>\n", out);
	if (json_array_size(items) > REPORT_ITEMS_MAX)
		fprintf(out, "<p class=\"warn\">The document has %zu items; the first %d are shown.</p>\n",
		        json_array_size(items), REPORT_ITEMS_MAX);

	fputs("<h2>Verdicts <span lang=\"ja\">判定の意味</span></h2>\n<dl class=\"legend\">\n", out);
	static const char *const legend[][2] = {
		{"the device meets the requirement; every step and its evidence is below.",
		 "要件を満たしている。手順と証跡は下記のとおり。"},
		{"the device does not meet the requirement; the violating step is marked ✗.",
		 "要件を満たしていない。違反した手順に ✗ を付す。"},
		{"could not be decided (a hook is missing or the device did not answer); never counted as a pass.",
		 "判定できなかった（フック未定義、機器無応答など）。適合とはみなさない。"},
		{"does not apply to this device (declared and verified).", "この機器には適用されない（申告し確認済み）。"},
		{"no check of this requirement was run.", "今回の試験でこの要件は確認していない。"},
	};
	static const enum rv legend_v[] = {RV_PASS, RV_FAIL, RV_UNKNOWN, RV_NA, RV_NONE};
	for (size_t i = 0; i < sizeof legend_v / sizeof legend_v[0]; i++) {
		fputs("<dt>", out);
		put_badge(out, legend_v[i], "");
		fprintf(out, "</dt><dd><span lang=\"ja\">%s</span><br>%s</dd>\n", legend[i][1], legend[i][0]);
	}
	fputs("</dl>\n", out);

	fputs("<h2>Checks and evidence <span lang=\"ja\">試験項目と証跡</span></h2>\n", out);
	for (size_t i = 0; i < n; i++)
		put_item(out, json_array_get(items, i), i);
	if (n == 0)
		fputs("<p>No checks in this document. <span lang=\"ja\">試験項目がありません。</span></p>\n", out);

	fputs("<footer class=\"small\"><p>Rendered by toride " TORIDE_VERSION " from the result document. Evidence is "
	      "shown as text: control bytes as \\xHH, at most ", out);
	fprintf(out, "%d bytes per step; the complete record is result.json. <span lang=\"ja\">証跡は制御文字を \\xHH "
	        "として表示し、1手順あたり %d バイトまでを示す。完全な記録は result.json にある。</span></p></footer>\n"
	        "</body>\n</html>\n", REPORT_EVIDENCE_MAX, REPORT_EVIDENCE_MAX);

	toride_catalog_free(cat);
	return ferror(out) ? TORIDE_EIO : 0;
}
