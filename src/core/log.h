/*
 * Logging for programs (not for libraries of outside use: those return errors). Messages go to
 * stderr with a level prefix; the level is set once by the CLI.
 */
#ifndef TORIDE_CORE_LOG_H
#define TORIDE_CORE_LOG_H

enum toride_log_level { TORIDE_LOG_ERROR = 0, TORIDE_LOG_WARN, TORIDE_LOG_INFO, TORIDE_LOG_DEBUG };

void toride_log_set_level(enum toride_log_level level);
enum toride_log_level toride_log_get_level(void);
void toride_log(enum toride_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) toride_log(TORIDE_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) toride_log(TORIDE_LOG_WARN, __VA_ARGS__)
#define log_info(...) toride_log(TORIDE_LOG_INFO, __VA_ARGS__)
#define log_debug(...) toride_log(TORIDE_LOG_DEBUG, __VA_ARGS__)

#endif
