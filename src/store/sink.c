/* Event sinks (declared in core/event.h): JSON Lines to a file or stdout, and/or the SQLite store. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/event.h"
#include "store/store.h"

struct toride_sink {
	FILE *jsonl;
	bool jsonl_is_stdout;
	struct toride_store *store;
};

int
toride_sink_open(struct toride_sink **out, const char *jsonl_path, const char *db_path, char *err,
		 size_t errlen)
{
	struct toride_sink *s = NULL;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	if (jsonl_path != NULL && strcmp(jsonl_path, "-") == 0) {
		s->jsonl = stdout;
		s->jsonl_is_stdout = true;
	} else if (jsonl_path != NULL) {
		s->jsonl = fopen(jsonl_path, "a");
		if (s->jsonl == NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: cannot open for append: %s", jsonl_path, strerror(errno));
			rc = TORIDE_EIO;
			goto out;
		}
	}
	if (s->jsonl != NULL)
		setvbuf(s->jsonl, NULL, _IOLBF, 0);
	if (db_path != NULL && (rc = toride_store_open(&s->store, db_path, err, errlen)) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	toride_sink_close(s);
	return rc;
}

int
toride_sink_emit(struct toride_sink *s, json_t *event)
{
	int rc = 0;
	if (s->jsonl != NULL) {
		/* Compact output never contains a raw newline (jansson escapes it in strings), so one
		 * event is exactly one line. */
		if (json_dumpf(event, s->jsonl, JSON_COMPACT) != 0 || fputc('\n', s->jsonl) == EOF ||
		    fflush(s->jsonl) != 0)
			rc = TORIDE_EIO;
	}
	if (s->store != NULL) {
		int r = toride_store_put_event(s->store, event);
		if (r != 0 && r != TORIDE_EUNSUPPORTED && rc == 0)
			rc = r;
	}
	return rc;
}

struct toride_store *
toride_sink_store(struct toride_sink *s)
{
	return s != NULL ? s->store : NULL;
}

void
toride_sink_close(struct toride_sink *s)
{
	if (s == NULL)
		return;
	if (s->jsonl != NULL) {
		if (s->jsonl_is_stdout)
			fflush(s->jsonl);
		else
			fclose(s->jsonl);
	}
	toride_store_close(s->store);
	free(s);
}
