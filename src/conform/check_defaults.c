/* Placeholder until the check is written: never a pass. */
#include "conform/conform_int.h"

int
conform_check_defaults(struct conform_run *run, json_t *item)
{
	(void)run;
	conform_verdict_set(item, CONFORM_UNKNOWN, "Not examined yet.", "未検査です。");
	return 0;
}
