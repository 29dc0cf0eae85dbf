#include "core/event.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

/* Host names are at most 255 bytes (POSIX HOST_NAME_MAX on Linux is 64); the rest is the
 * " toride/<version>" suffix. */
#define SENSOR_MAX 320

static char sensor_name[SENSOR_MAX];
static pthread_once_t sensor_once = PTHREAD_ONCE_INIT;

static void
sensor_init(void)
{
	char host[256];
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "%s", "unknown-host");
	host[sizeof host - 1] = '\0';
	snprintf(sensor_name, sizeof sensor_name, "%s toride/%s", host, TORIDE_VERSION);
}

const char *
toride_event_sensor(void)
{
	pthread_once(&sensor_once, sensor_init);
	return sensor_name;
}

double
toride_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
toride_time_iso8601(double unix_seconds, char out[32])
{
	/* Outside what gmtime and a 4-digit year can show: clamp rather than print garbage. */
	if (!(unix_seconds >= 0.0))
		unix_seconds = 0.0;
	if (unix_seconds > 253402300799.0)
		unix_seconds = 253402300799.0;
	/* Round to whole microseconds first (a double cannot hold .123 exactly), then truncate to
	 * milliseconds. Microseconds since the epoch stay below 2^53, so this is exact. */
	long long us = llround(unix_seconds * 1e6);
	int ms = (int)((us % 1000000) / 1000);
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, 32, "%s", "1970-01-01T00:00:00.000Z");
		return;
	}
	/* Years are clamped to 0000..9999 above, so the date part is always 19 characters. */
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)ms % 1000u);
}

json_t *
toride_event_new(const char *type, const char *survey_id)
{
	char when[32];
	json_t *ev = NULL, *res = NULL;

	if (type == NULL)
		goto out;
	ev = json_object();
	if (ev == NULL)
		goto out;
	toride_time_iso8601(toride_time_now(), when);
	if (json_object_set_new(ev, "type", json_string(type)) != 0 ||
	    (survey_id != NULL && json_object_set_new(ev, "survey", json_string(survey_id)) != 0) ||
	    json_object_set_new(ev, "time", json_string(when)) != 0 ||
	    json_object_set_new(ev, "sensor", json_string(toride_event_sensor())) != 0)
		goto out;
	res = ev;
	ev = NULL;
out:
	json_decref(ev);
	return res;
}

int
toride_event_parse_line(const char *line, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *ev = NULL;
	int rc;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > TORIDE_EVENT_LINE_MAX) {
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	/* Duplicate keys would make "which value counts" depend on the reader: refuse them. */
	ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (ev == NULL) {
		rc = json_error_code(&jerr) == json_error_out_of_memory ? TORIDE_ENOMEM : TORIDE_EPARSE;
		goto out;
	}
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (!json_is_object(ev) || type == NULL || type[0] == '\0') {
		rc = TORIDE_EPARSE;
		goto out;
	}
	*out = ev;
	ev = NULL;
	rc = 0;
out:
	json_decref(ev);
	return rc;
}
