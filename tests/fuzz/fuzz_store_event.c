/*
 * Fuzz target: arbitrary bytes as one JSON Lines event into the store, then a report of that
 * survey in every format. Neither may crash, leak or hang, whatever the event holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/catalog.h"
#include "core/event.h"
#include "report/report.h"
#include "store/store.h"

/* The in-memory store is reused between inputs so that later events meet earlier rows (updates,
 * precedence, placeholders); it is recreated after this many inputs to bound its memory. */
#define FUZZ_STORE_REUSE 2000

static struct toride_store *st;
static struct toride_catalog *cat;
static FILE *sink;
static unsigned uses;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *ev = NULL;

	if (sink == NULL) {
		sink = fopen("/dev/null", "w");
		if (sink == NULL)
			abort();
		/* Titles make the renderers walk the catalog path too; run without if it is absent. */
		if (toride_catalog_load(&cat, TORIDE_DATA_DIR "/catalog.json", err, sizeof err) != 0)
			cat = NULL;
	}
	if (st == NULL || ++uses >= FUZZ_STORE_REUSE) {
		toride_store_close(st);
		st = NULL;
		uses = 0;
		if (toride_store_open(&st, ":memory:", err, sizeof err) != 0)
			abort();
	}
	if (toride_event_parse_line((const char *)data, size, &ev) != 0)
		return 0;
	int rc = toride_store_put_event(st, ev);
	const char *survey = json_string_value(json_object_get(ev, "survey"));
	const char *addr = json_string_value(json_object_get(ev, "addr"));
	if (rc == 0 && survey != NULL) {
		bool done;
		json_t *params = NULL;
		if (addr != NULL)
			(void)toride_store_probe_is_done(st, survey, addr, 23, &done);
		if (toride_store_survey_params(st, survey, &params) == 0)
			json_decref(params);
		for (int fmt = TORIDE_REPORT_TEXT; fmt <= TORIDE_REPORT_HTML; fmt++) {
			rc = toride_report_write(st, survey, cat, (enum toride_report_format)fmt, sink);
			/* The event was stored, so its survey exists: a report must succeed. */
			if (rc != 0)
				abort();
		}
	}
	json_decref(ev);
	return 0;
}
