/* Requirement catalog: the real data/catalog.json loads with every id; broken catalogs fail clearly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/catalog.h"
#include "core/error.h"

static bool
list_has(const struct toride_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) == 0)
			return true;
	}
	return false;
}

static void
test_real_catalog(void **state)
{
	(void)state;
	struct toride_catalog *cat = NULL;
	char err[256];
	assert_int_equal(toride_catalog_load(&cat, TORIDE_SOURCE_DIR "/data/catalog.json", err, sizeof err), 0);
	static const char *const ids[] = {"JP-34-10-1", "JP-34-10-2", "JP-34-10-3", "JP-34-10-4",
					  "TORIDE-BRUTE", "TORIDE-SURFACE", "TORIDE-VULNFW"};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		const struct toride_requirement *r = toride_catalog_get(cat, ids[i]);
		if (r == NULL)
			fail_msg("catalog lacks %s", ids[i]);
		assert_true(strlen(r->title) > 10);
		/* Japanese title: contains multi-byte UTF-8. */
		assert_true((unsigned char)r->title_ja[0] >= 0x80 || strchr(r->title_ja, 0xe3) != NULL);
		assert_true(r->sources.n >= 1);
		for (size_t j = 0; j < r->sources.n; j++)
			assert_int_equal(strncmp(r->sources.v[j], "http", 4), 0);
	}
	const struct toride_requirement *r2 = toride_catalog_get(cat, "JP-34-10-2");
	assert_true(list_has(&r2->etsi_en_303_645, "5.1-1"));
	assert_true(list_has(&r2->etsi_en_303_645, "5.1-2"));
	assert_true(list_has(&r2->jc_star_1, "S1.1-02"));
	assert_true(list_has(&r2->jc_star_1, "S1.1-03"));
	assert_true(r2->uk_psti.n >= 1);
	assert_string_equal(r2->severity, "critical");
	const struct toride_requirement *r1 = toride_catalog_get(cat, "JP-34-10-1");
	assert_true(list_has(&r1->jc_star_1, "S1.1-01"));
	assert_true(list_has(&r1->nistir_8259a, "Logical Access to Interfaces"));
	assert_true(list_has(&toride_catalog_get(cat, "JP-34-10-3")->nistir_8259a, "Software Update"));
	assert_true(list_has(&toride_catalog_get(cat, "JP-34-10-4")->etsi_en_303_645, "5.9"));
	assert_true(list_has(&toride_catalog_get(cat, "TORIDE-BRUTE")->jc_star_1, "S1.1-04"));
	assert_true(list_has(&toride_catalog_get(cat, "TORIDE-BRUTE")->etsi_en_303_645, "5.1-5"));
	assert_true(list_has(&toride_catalog_get(cat, "TORIDE-SURFACE")->etsi_en_303_645, "5.6"));
	assert_int_equal(toride_catalog_count(cat), 7);
	assert_string_equal(toride_catalog_at(cat, 0)->id, "JP-34-10-1");
	assert_null(toride_catalog_at(cat, 7));
	assert_null(toride_catalog_get(cat, "JP-34-10-9"));
	toride_catalog_free(cat);
}

/* Write text to a temporary file and try to load it; returns the load result, err filled. */
static int
load_text(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/toride-test-catalog-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct toride_catalog *cat = NULL;
	int rc = toride_catalog_load(&cat, path, err, errlen);
	if (rc == 0)
		toride_catalog_free(cat);
	else
		assert_null(cat);
	unlink(path);
	return rc;
}

#define ENTRY(id, extra)                                                                                  \
	"{\"id\":\"" id "\",\"title\":\"T\",\"title_ja\":\"題\",\"clause\":\"c\",\"satisfied_by\":\"s\","   \
	"\"violated_by\":\"v\",\"severity\":\"high\",\"mappings\":{\"etsi_en_303_645\":[\"5.1\"]},"          \
	"\"sources\":[\"https://example.org/\"]" extra "}"

static void
test_bad_catalogs(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(load_text("{\"requirements\":[" ENTRY("A-1", "") "," ENTRY("B-2", "") "]}", err, sizeof err), 0);

	assert_int_equal(load_text("{\"requirements\":[" ENTRY("A-1", "") "," ENTRY("A-1", "") "]}", err, sizeof err),
			 TORIDE_EPARSE);
	assert_non_null(strstr(err, "duplicate"));
	assert_non_null(strstr(err, "A-1"));

	assert_int_equal(load_text("{\"requirements\":[{\"id\":\"NO-TITLE\",\"title_ja\":\"x\"}]}", err, sizeof err),
			 TORIDE_EPARSE);
	assert_non_null(strstr(err, "NO-TITLE"));
	assert_non_null(strstr(err, "\"title\""));

	assert_int_equal(load_text("{\"requirements\": [", err, sizeof err), TORIDE_EPARSE);
	assert_non_null(strstr(err, "not valid JSON"));

	assert_int_equal(load_text("{\"requirements\":[" ENTRY("SEV", ",\"severity\":\"meh\"") "]}", err, sizeof err),
			 TORIDE_EPARSE); /* duplicate key "severity" is refused too */
	assert_int_equal(load_text("{\"requirements\":[" ENTRY("MAP", "") "]}", err, sizeof err), 0);
	assert_int_equal(load_text("{\"requirements\":[{\"id\":\"SEV\",\"title\":\"T\",\"title_ja\":\"t\",\"clause\":\"c\","
				   "\"satisfied_by\":\"s\",\"violated_by\":\"v\",\"severity\":\"meh\",\"mappings\":{},"
				   "\"sources\":[\"https://x\"]}]}", err, sizeof err),
			 TORIDE_EPARSE);
	assert_non_null(strstr(err, "severity"));
	assert_int_equal(load_text("{\"requirements\":[{\"id\":\"MAPBAD\",\"title\":\"T\",\"title_ja\":\"t\",\"clause\":\"c\","
				   "\"satisfied_by\":\"s\",\"violated_by\":\"v\",\"severity\":\"low\",\"mappings\":"
				   "{\"jc_star_1\":\"S1.1-01\"},\"sources\":[\"https://x\"]}]}", err, sizeof err),
			 TORIDE_EPARSE);
	assert_non_null(strstr(err, "MAPBAD"));
	assert_non_null(strstr(err, "jc_star_1"));
	assert_int_equal(load_text("{\"requirements\":[]}", err, sizeof err), TORIDE_EPARSE);
	assert_int_equal(load_text("[1,2]", err, sizeof err), TORIDE_EPARSE);

	struct toride_catalog *cat = NULL;
	assert_int_equal(toride_catalog_load(&cat, "/nonexistent/catalog.json", err, sizeof err), TORIDE_EIO);
	assert_non_null(strstr(err, "/nonexistent/catalog.json"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_catalog),
		cmocka_unit_test(test_bad_catalogs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
