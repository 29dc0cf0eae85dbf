/*
 * The device description (docs/conform.md): strict JSON. Every member is known (an unknown one is
 * refused, so a typo cannot silently skip a check), every string is bounded by its field and may
 * not hold NUL, numbers are range-checked, and the address is parsed strictly (toride_addr_parse):
 * the examination touches exactly this address and nothing else. Errors name the field.
 */
#include "conform/conform.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform_int.h"
#include "core/error.h"

/* Why 3600 s: a hook (an update, a smart plug) that takes longer than an hour is broken. */
#define DESC_MAX_HOOK_TIMEOUT 3600
/* Why 600 s: power settle time of a real device is seconds to a minute or two. */
#define DESC_MAX_SETTLE 600
/* Why 3600 s: an hour of wrong logins per service measures any throttle worth measuring. */
#define DESC_MAX_BRUTE_SECONDS 3600
/* Why 100000: the same cap as a credentials list (TORIDE_CREDS_MAX). */
#define DESC_MAX_PAIRS 100000
/* Why 100000/s: beyond that a lab link drops SYNs and the scan misses ports. */
#define DESC_MAX_SCAN_RATE 100000

struct dctx {
	char *err;
	size_t cap;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct dctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->cap, fmt, ap);
	va_end(ap);
	return TORIDE_EPARSE;
}

/* Refuse members not in allowed (NULL-terminated). */
static int
only_known(struct dctx *c, const json_t *o, const char *where, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok) {
			char shown[64];
			size_t n = strlen(k);
			/* never echo control bytes or a huge key into a message */
			for (size_t i = 0; i < sizeof shown - 1; i++)
				shown[i] = i < n ? ((unsigned char)k[i] >= 0x20 && (unsigned char)k[i] < 0x7f ? k[i] : '?') : '\0';
			shown[sizeof shown - 1] = '\0';
			return fail(c, "%s%s%s: unknown field (typo?)", where, *where ? "." : "", shown);
		}
	}
	(void)v;
	return 0;
}

/* Copy a string member (absent: leave dst as is unless required). */
static int
get_str(struct dctx *c, const json_t *o, const char *key, const char *where, char *dst, size_t cap, bool required)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL) {
		if (required)
			return fail(c, "%s%s%s: required", where, *where ? "." : "", key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(c, "%s%s%s: must be a string", where, *where ? "." : "", key);
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (strlen(s) != n)
		return fail(c, "%s%s%s: contains a NUL byte", where, *where ? "." : "", key);
	if (n >= cap)
		return fail(c, "%s%s%s: longer than %zu bytes", where, *where ? "." : "", key, cap - 1);
	if (required && n == 0)
		return fail(c, "%s%s%s: must not be empty", where, *where ? "." : "", key);
	memcpy(dst, s, n + 1);
	return 0;
}

static int
get_uint(struct dctx *c, const json_t *o, const char *key, const char *where, unsigned lo, unsigned hi, unsigned *dst)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo || json_integer_value(v) > (json_int_t)hi)
		return fail(c, "%s%s%s: must be an integer %u..%u", where, *where ? "." : "", key, lo, hi);
	*dst = (unsigned)json_integer_value(v);
	return 0;
}

/* A hook: "command" or {"command": "...", "timeout": N}. */
static int
get_hook(struct dctx *c, const json_t *o, const char *key, const char *where, struct conform_hook *h)
{
	json_t *v = json_object_get(o, key);
	char field[96];
	snprintf(field, sizeof field, "%s%s%s", where, *where ? "." : "", key);
	h->timeout_s = CONFORM_DEFAULT_HOOK_TIMEOUT;
	if (v == NULL)
		return 0;
	if (json_is_string(v))
		return get_str(c, o, key, where, h->command, sizeof h->command, true);
	if (!json_is_object(v))
		return fail(c, "%s: must be a command string or {\"command\", \"timeout\"}", field);
	static const char *const allowed[] = {"command", "timeout", NULL};
	int r = only_known(c, v, field, allowed);
	if (r == 0)
		r = get_str(c, v, "command", field, h->command, sizeof h->command, true);
	if (r == 0)
		r = get_uint(c, v, "timeout", field, 1, DESC_MAX_HOOK_TIMEOUT, &h->timeout_s);
	return r;
}

static int
get_object(struct dctx *c, const json_t *o, const char *key, const char *where, json_t **out, bool required)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL)
		return required ? fail(c, "%s%s%s: required", where, *where ? "." : "", key) : 0;
	if (!json_is_object(v))
		return fail(c, "%s%s%s: must be an object", where, *where ? "." : "", key);
	*out = v;
	return 0;
}

static const char *const services[] = {"telnet", "ssh", "http", "https", "mqtt", "rtsp", "ftp", NULL};

static int
parse_interfaces(struct dctx *c, const json_t *root, struct conform_description *d)
{
	json_t *a = json_object_get(root, "interfaces");
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return fail(c, "interfaces: must be an array");
	if (json_array_size(a) > CONFORM_MAX_INTERFACES)
		return fail(c, "interfaces: more than %d entries", CONFORM_MAX_INTERFACES);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		char where[48];
		snprintf(where, sizeof where, "interfaces[%zu]", i);
		if (!json_is_object(e))
			return fail(c, "%s: must be an object", where);
		static const char *const allowed[] = {"service", "port", "management", NULL};
		struct conform_interface *f = &d->interfaces[i];
		int r = only_known(c, e, where, allowed);
		if (r == 0)
			r = get_str(c, e, "service", where, f->service, sizeof f->service, true);
		if (r != 0)
			return r;
		bool ok = false;
		for (size_t k = 0; services[k] != NULL && !ok; k++)
			ok = strcmp(services[k], f->service) == 0;
		if (!ok)
			return fail(c, "%s.service: one of telnet, ssh, http, https, mqtt, rtsp, ftp", where);
		unsigned port = 0;
		if (json_object_get(e, "port") == NULL)
			return fail(c, "%s.port: required", where);
		if ((r = get_uint(c, e, "port", where, 1, 65535, &port)) != 0)
			return r;
		f->port = (uint16_t)port;
		f->management = true;
		json_t *m = json_object_get(e, "management");
		if (m != NULL) {
			if (!json_is_boolean(m))
				return fail(c, "%s.management: must be true or false", where);
			f->management = json_is_true(m);
		}
		for (size_t k = 0; k < i; k++)
			if (d->interfaces[k].port == f->port)
				return fail(c, "%s.port: port %u declared twice", where, port);
		d->n_interfaces = i + 1;
	}
	return 0;
}

static int
check_url(struct dctx *c, const struct conform_description *d, const char *field, const char *url)
{
	/* Only plain http://ADDR[:PORT][/path] of the device itself: the admin adapter must not lead
	 * the examiner to another host. */
	struct conform_run tmp = {.desc = d};
	uint16_t port;
	int r = conform_url_port(&tmp, url, &port);
	if (r == TORIDE_ESCOPE)
		return fail(c, "%s: host must be the description's address %s", field, d->address_text);
	if (r != 0)
		return fail(c, "%s: expected http://%s[:PORT][/path]", field, d->address_text);
	return 0;
}

static int
parse_credentials(struct dctx *c, const json_t *root, struct conform_description *d)
{
	json_t *o;
	int r = get_object(c, root, "credentials", "", &o, true);
	if (r != 0)
		return r;
	static const char *const allowed[] = {"scheme", "user", "factory_password", "unit_passwords", "adapter",
	                                      "admin_url", "change_password", "login_check", NULL};
	char scheme[32] = "";
	if ((r = only_known(c, o, "credentials", allowed)) != 0 ||
	    (r = get_str(c, o, "scheme", "credentials", scheme, sizeof scheme, true)) != 0 ||
	    (r = get_str(c, o, "user", "credentials", d->user, sizeof d->user, false)) != 0 ||
	    (r = get_str(c, o, "factory_password", "credentials", d->factory_password, sizeof d->factory_password,
	                 false)) != 0 ||
	    (r = get_str(c, o, "adapter", "credentials", d->adapter, sizeof d->adapter, false)) != 0 ||
	    (r = get_str(c, o, "admin_url", "credentials", d->admin_url, sizeof d->admin_url, false)) != 0 ||
	    (r = get_hook(c, o, "change_password", "credentials", &d->change_password)) != 0 ||
	    (r = get_hook(c, o, "login_check", "credentials", &d->login_check)) != 0)
		return r;
	if (strcmp(scheme, "forced-change") == 0)
		d->scheme = CONFORM_SCHEME_FORCED_CHANGE;
	else if (strcmp(scheme, "unique") == 0)
		d->scheme = CONFORM_SCHEME_UNIQUE;
	else if (strcmp(scheme, "key-only") == 0)
		d->scheme = CONFORM_SCHEME_KEY_ONLY;
	else if (strcmp(scheme, "factory-default") == 0)
		d->scheme = CONFORM_SCHEME_FACTORY_DEFAULT;
	else if (strcmp(scheme, "none") == 0)
		d->scheme = CONFORM_SCHEME_NONE;
	else
		return fail(c, "credentials.scheme: one of forced-change, unique, key-only, factory-default, none");
	json_t *up = json_object_get(o, "unit_passwords");
	if (up != NULL) {
		if (!json_is_array(up) || json_array_size(up) != 2)
			return fail(c, "credentials.unit_passwords: must be an array of two passwords (two units)");
		for (size_t i = 0; i < 2; i++) {
			json_t *v = json_array_get(up, i);
			if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
			    json_string_length(v) == 0 || json_string_length(v) >= sizeof d->unit_passwords[i])
				return fail(c, "credentials.unit_passwords[%zu]: a non-empty string shorter than %zu bytes", i,
				            sizeof d->unit_passwords[i]);
			memcpy(d->unit_passwords[i], json_string_value(v), json_string_length(v) + 1);
		}
	}
	if ((d->scheme == CONFORM_SCHEME_FORCED_CHANGE || d->scheme == CONFORM_SCHEME_FACTORY_DEFAULT) &&
	    (d->user[0] == '\0' || d->factory_password[0] == '\0'))
		return fail(c, "credentials: scheme %s needs user and factory_password", scheme);
	if (d->scheme == CONFORM_SCHEME_UNIQUE && (d->user[0] == '\0' || d->unit_passwords[0][0] == '\0'))
		return fail(c, "credentials: scheme unique needs user and unit_passwords [unit A, unit B]");
	if (d->adapter[0] != '\0') {
		if (strcmp(d->adapter, "toride-deviced") != 0)
			return fail(c, "credentials.adapter: only \"toride-deviced\" is built in (or leave it out and use hooks)");
		if (d->admin_url[0] == '\0')
			return fail(c, "credentials.admin_url: required with an adapter");
	}
	if (d->admin_url[0] != '\0')
		return check_url(c, d, "credentials.admin_url", d->admin_url);
	return 0;
}

static int
parse_update(struct dctx *c, const json_t *root, struct conform_description *d)
{
	json_t *o, *b;
	int r = get_object(c, root, "update", "", &o, false);
	if (r != 0 || o == NULL)
		return r;
	static const char *const allowed[] = {"command", "version", "bundles", "key", "target", "boot_seconds", NULL};
	static const char *const ballowed[] = {"newer", "older", "unsigned", "wrong_target", NULL};
	if ((r = only_known(c, o, "update", allowed)) != 0 || (r = get_hook(c, o, "command", "update", &d->update)) != 0 ||
	    (r = get_hook(c, o, "version", "update", &d->version)) != 0 ||
	    (r = get_str(c, o, "key", "update", d->bundle_key, sizeof d->bundle_key, false)) != 0 ||
	    (r = get_str(c, o, "target", "update", d->bundle_target, sizeof d->bundle_target, false)) != 0 ||
	    (r = get_object(c, o, "bundles", "update", &b, false)) != 0)
		return r;
	if (b != NULL &&
	    ((r = only_known(c, b, "update.bundles", ballowed)) != 0 ||
	     (r = get_str(c, b, "newer", "update.bundles", d->bundle_newer, sizeof d->bundle_newer, false)) != 0 ||
	     (r = get_str(c, b, "older", "update.bundles", d->bundle_older, sizeof d->bundle_older, false)) != 0 ||
	     (r = get_str(c, b, "unsigned", "update.bundles", d->bundle_unsigned, sizeof d->bundle_unsigned, false)) != 0 ||
	     (r = get_str(c, b, "wrong_target", "update.bundles", d->bundle_wrong_target, sizeof d->bundle_wrong_target,
	                  false)) != 0))
		return r;
	return 0;
}

static int
parse_power(struct dctx *c, const json_t *root, struct conform_description *d)
{
	json_t *o;
	int r = get_object(c, root, "power", "", &o, false);
	if (r != 0 || o == NULL)
		return r;
	static const char *const allowed[] = {"cut", "restore", "settle_seconds", "repeat", NULL};
	if ((r = only_known(c, o, "power", allowed)) != 0 || (r = get_hook(c, o, "cut", "power", &d->power_cut)) != 0 ||
	    (r = get_hook(c, o, "restore", "power", &d->power_restore)) != 0 ||
	    (r = get_uint(c, o, "settle_seconds", "power", 0, DESC_MAX_SETTLE, &d->settle_s)) != 0)
		return r;
	return 0;
}

int
conform_describe_parse(const char *text, size_t len, struct conform_description *d, char *err, size_t err_cap)
{
	char dummy[1];
	struct dctx c = {err_cap > 0 ? err : dummy, err_cap > 0 ? err_cap : sizeof dummy};
	json_t *root = NULL;
	json_t *dev;
	int r;
	c.err[0] = '\0';
	memset(d, 0, sizeof *d);
	if (len > CONFORM_MAX_FILE) {
		snprintf(c.err, c.cap, "description larger than %d bytes", CONFORM_MAX_FILE);
		return TORIDE_ETOOBIG;
	}
	json_error_t je;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		r = fail(&c, "not valid JSON (line %d, column %d): %.120s", je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(root)) {
		r = fail(&c, "the description must be a JSON object");
		goto out;
	}
	static const char *const allowed[] = {"format", "comment", "device", "address", "ports", "interfaces",
	                                      "credentials", "update", "power", "factory_reset", "brute_force_seconds",
	                                      "known_defaults_max_pairs", "scan_rate", "freshly_provisioned", NULL};
	if ((r = only_known(&c, root, "", allowed)) != 0)
		goto out;
	json_t *fmt = json_object_get(root, "format");
	if (!json_is_integer(fmt) || json_integer_value(fmt) != 1) {
		r = fail(&c, "format: required, must be 1");
		goto out;
	}
	d->format = 1;
	json_t *cm = json_object_get(root, "comment");
	if (cm != NULL && !json_is_string(cm) && !json_is_array(cm)) {
		r = fail(&c, "comment: must be a string or an array of strings");
		goto out;
	}
	d->settle_s = CONFORM_DEFAULT_SETTLE;
	d->brute_force_seconds = CONFORM_DEFAULT_BRUTE_SECONDS;
	d->scan_rate = CONFORM_DEFAULT_SCAN_RATE;
	snprintf(d->ports, sizeof d->ports, "%s", CONFORM_DEFAULT_PORTS);
	if ((r = get_object(&c, root, "device", "", &dev, true)) != 0)
		goto out;
	static const char *const dallowed[] = {"name", "vendor", "model", "firmware", NULL};
	if ((r = only_known(&c, dev, "device", dallowed)) != 0 ||
	    (r = get_str(&c, dev, "name", "device", d->name, sizeof d->name, true)) != 0 ||
	    (r = get_str(&c, dev, "vendor", "device", d->vendor, sizeof d->vendor, false)) != 0 ||
	    (r = get_str(&c, dev, "model", "device", d->model, sizeof d->model, false)) != 0 ||
	    (r = get_str(&c, dev, "firmware", "device", d->firmware, sizeof d->firmware, false)) != 0)
		goto out;
	if ((r = get_str(&c, root, "address", "", d->address_text, sizeof d->address_text, true)) != 0)
		goto out;
	if (toride_addr_parse(d->address_text, &d->address) != 0) {
		r = fail(&c, "address: not one IPv4 or IPv6 address (no names, prefixes, ports or spaces)");
		goto out;
	}
	/* canonical form, so every step names the address the same way */
	toride_addr_format(&d->address, d->address_text, sizeof d->address_text);
	if ((r = get_str(&c, root, "ports", "", d->ports, sizeof d->ports, false)) != 0)
		goto out;
	size_t np;
	if ((r = conform_ports_parse(d->ports, NULL, &np, c.err, c.cap)) != 0)
		goto out;
	if ((r = parse_interfaces(&c, root, d)) != 0 || (r = parse_credentials(&c, root, d)) != 0 ||
	    (r = parse_update(&c, root, d)) != 0 || (r = parse_power(&c, root, d)) != 0 ||
	    (r = get_hook(&c, root, "factory_reset", "", &d->factory_reset)) != 0 ||
	    (r = get_uint(&c, root, "brute_force_seconds", "", 1, DESC_MAX_BRUTE_SECONDS, &d->brute_force_seconds)) != 0 ||
	    (r = get_uint(&c, root, "known_defaults_max_pairs", "", 0, DESC_MAX_PAIRS, &d->known_defaults_max_pairs)) !=
	        0 ||
	    (r = get_uint(&c, root, "scan_rate", "", 1, DESC_MAX_SCAN_RATE, &d->scan_rate)) != 0)
		goto out;
	/* the update and power checks' own optional members (check_update.c) */
	if ((r = conform_describe_c2(json_object_get(root, "update"), json_object_get(root, "power"), d, c.err, c.cap)) != 0)
		goto out;
	json_t *fp = json_object_get(root, "freshly_provisioned");
	if (fp != NULL) {
		if (!json_is_boolean(fp)) {
			r = fail(&c, "freshly_provisioned: must be true or false");
			goto out;
		}
		d->freshly_provisioned = json_is_true(fp);
	}
	r = 0;
out:
	json_decref(root);
	if (r != 0) {
		/* never hand back a half-filled description */
		memset(d, 0, sizeof *d);
	}
	return r;
}

int
conform_describe_load(const char *path, struct conform_description *d, char *err, size_t err_cap)
{
	int r = 0;
	char *buf = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, err_cap, "%s: %s", path, strerror(errno));
		return TORIDE_EIO;
	}
	buf = malloc(CONFORM_MAX_FILE + 1);
	if (buf == NULL) {
		r = TORIDE_ENOMEM;
		goto out;
	}
	size_t n = fread(buf, 1, CONFORM_MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(err, err_cap, "%s: read error", path);
		r = TORIDE_EIO;
		goto out;
	}
	if (n > CONFORM_MAX_FILE) {
		snprintf(err, err_cap, "%s: larger than %d bytes", path, CONFORM_MAX_FILE);
		r = TORIDE_ETOOBIG;
		goto out;
	}
	char msg[512];
	r = conform_describe_parse(buf, n, d, msg, sizeof msg);
	if (r != 0)
		snprintf(err, err_cap, "%s: %s", path, msg);
out:
	free(buf);
	fclose(f);
	return r;
}
