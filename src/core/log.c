#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum toride_log_level current_level = TORIDE_LOG_WARN;

void
toride_log_set_level(enum toride_log_level level)
{
	current_level = level;
}

enum toride_log_level
toride_log_get_level(void)
{
	return current_level;
}

void
toride_log(enum toride_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "toride: %s: ", names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
