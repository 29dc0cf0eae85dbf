#include "jsonl.h"

#include <stdio.h>
#include <string.h>

#include "core/event.h"

json_t *
test_load_jsonl(const char *path)
{
	FILE *f = fopen(path, "r");
	json_t *arr = f != NULL ? json_array() : NULL;
	char line[65536];
	while (arr != NULL && fgets(line, sizeof line, f) != NULL) {
		json_t *ev = NULL;
		if (toride_event_parse_line(line, strlen(line), &ev) != 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		json_array_append_new(arr, ev);
	}
	if (f != NULL)
		fclose(f);
	return arr;
}
