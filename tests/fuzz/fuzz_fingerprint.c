/*
 * Fuzz toride_fpdb_match: arbitrary banner bytes against the real Recog database must not crash,
 * read out of bounds or hang (the PCRE2 limits and the input cap bound each call). The first input
 * byte picks the banner kind, the rest is the banner.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "survey/fingerprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct toride_fpdb *db;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (db == NULL) {
		char err[256];
		/* Loaded once and kept: the database is read-only while matching. */
		if (toride_fpdb_load_dir(&db, TORIDE_DATA_DIR "/fingerprints/recog", err, sizeof(err)) != 0)
			abort();
	}
	if (size < 1)
		return 0;
	enum toride_fp_kind kind = (enum toride_fp_kind)(data[0] % TORIDE_FP_KIND_COUNT);
	struct toride_fp_match m;
	int r = toride_fpdb_match(db, kind, (const char *)data + 1, size - 1, &m);
	if (r != 0 && r != TORIDE_ENOTFOUND)
		abort();
	if (r == 0) {
		/* The contract: a win names something, every field is a terminated string. */
		if (strnlen(m.vendor, sizeof(m.vendor)) == sizeof(m.vendor) ||
		    strnlen(m.product, sizeof(m.product)) == sizeof(m.product) ||
		    strnlen(m.type, sizeof(m.type)) == sizeof(m.type) ||
		    strnlen(m.version, sizeof(m.version)) == sizeof(m.version) ||
		    strnlen(m.description, sizeof(m.description)) == sizeof(m.description) || m.source == NULL)
			abort();
		if (m.vendor[0] == '\0' && m.product[0] == '\0' && m.type[0] == '\0')
			abort();
		if (m.certainty_permille < 0 || m.certainty_permille > 1000)
			abort();
	}
	return 0;
}
