/* Test fixtures in JSON Lines (the .jsonl files of tests/data/honeypot). */
#ifndef TORIDE_TEST_JSONL_H
#define TORIDE_TEST_JSONL_H

#include <jansson.h>

/* Every line of path parsed with the bounded event parser, as a new array; NULL if the file
 * cannot be read or a line is not an event. */
json_t *test_load_jsonl(const char *path);

#endif
