/*
 * Device profiles: data/profiles/NAME.json, one profile per file (schema in docs/emu.md).
 *
 * The loader is strict because a profile is the ground truth of the lab: a typo in a field name,
 * a policy that contradicts a service (an anonymous FTP on a "unique password" device) or a banner
 * cut short would make the survey's expected results wrong without anyone noticing. Every refusal
 * names the file and the field.
 */
#include "emu/emu.h"

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

/* Why 4096: the lab ships ~50 personas; thousands of profile files is a wrong directory, and the
 * duplicate-id check is quadratic. */
#define EMU_PROFILES_MAX 4096
/* Why 64 KiB: a profile is a few KiB of banners; a bigger file is not a profile. */
#define EMU_PROFILE_FILE_MAX (64 * 1024)
/* Why 10: busybox login allows 3, some CPE 5; more than 10 tries per connection is no real device. */
#define EMU_MAX_TRIES_MAX 10
/* Why 10 s: real devices pause 1..3 s after a failed login; longer only stalls the fleet. */
#define EMU_FAIL_DELAY_MAX_MS 10000

static const char *const proto_names[EMU_PROTO_COUNT] = {"telnet", "ssh", "http", "mqtt", "rtsp", "ftp"};
static const char *const policy_names[] = {"factory-default", "unique", "forced-change", "no-auth", "key-only"};
#define EMU_POLICY_COUNT (sizeof policy_names / sizeof policy_names[0])
static const char *const http_auth_names[] = {"none", "basic", "digest", "form"};
#define EMU_HTTP_AUTH_COUNT (sizeof http_auth_names / sizeof http_auth_names[0])

const char *
emu_proto_name(enum emu_proto p)
{
	if ((unsigned)p >= EMU_PROTO_COUNT)
		return "unknown";
	return proto_names[p];
}

const char *
emu_cred_policy_name(enum emu_cred_policy p)
{
	if ((unsigned)p >= EMU_POLICY_COUNT)
		return "unknown";
	return policy_names[p];
}

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Field tables: one row per JSON member, so that unknown members can be refused and every field
 * is checked the same way. */
enum ftype { F_STR, F_BOOL, F_UINT, F_U16, F_PROTO, F_POLICY, F_HTTPAUTH, F_SERVICES };

struct field {
	const char *name;
	enum ftype type;
	size_t off;
	size_t size;     /* F_STR: buffer size (NUL included) */
	unsigned max;    /* F_UINT: largest value */
	bool required;
};

#define PF(n, t, req) {#n, t, offsetof(struct emu_profile, n), sizeof(((struct emu_profile *)0)->n), 0, req}
static const struct field profile_fields[] = {
	PF(id, F_STR, true),
	PF(vendor, F_STR, true),
	PF(product, F_STR, true),
	PF(type, F_STR, true),
	PF(source, F_STR, true),
	PF(policy, F_POLICY, true),
	PF(user, F_STR, false),
	PF(pass, F_STR, false),
	PF(hostname, F_STR, false),
	PF(uname, F_STR, false),
	PF(busybox, F_STR, false),
	PF(arch, F_STR, false),
	PF(default_in_mirai, F_BOOL, true),
	{"services", F_SERVICES, 0, 0, 0, true},
	{"comment", F_STR, 0, 0, 0, false}, /* free text for editors; not stored */
};
#undef PF

#define SF(n, t, m) {#n, t, offsetof(struct emu_service, n), sizeof(((struct emu_service *)0)->n), m, false}
static const struct field service_fields[] = {
	{"proto", F_PROTO, offsetof(struct emu_service, proto), sizeof(enum emu_proto), 0, true},
	{"port", F_U16, offsetof(struct emu_service, port), sizeof(uint16_t), 65535, true},
	SF(negotiate, F_BOOL, 0),
	SF(banner, F_STR, 0),
	SF(login_prompt, F_STR, 0),
	SF(password_prompt, F_STR, 0),
	SF(fail_message, F_STR, 0),
	SF(motd, F_STR, 0),
	SF(shell_prompt, F_STR, 0),
	SF(max_tries, F_UINT, EMU_MAX_TRIES_MAX),
	SF(fail_delay_ms, F_UINT, EMU_FAIL_DELAY_MAX_MS),
	SF(server, F_STR, 0),
	SF(http_auth, F_HTTPAUTH, 0),
	SF(realm, F_STR, 0),
	SF(title, F_STR, 0),
	SF(route, F_STR, 0),
	SF(anonymous, F_BOOL, 0),
	SF(ssh_password, F_BOOL, 0),
	SF(ssh_kbdint, F_BOOL, 0),
	SF(ssh_publickey, F_BOOL, 0),
	{"comment", F_STR, 0, 0, 0, false},
};
#undef SF

static int
name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* Store one JSON value into base+f->off. where names the object for messages. */
static int
set_field(void *base, const struct field *f, const json_t *v, const char *where, char *err, size_t errlen)
{
	char *dst = (char *)base + f->off;
	int idx;
	switch (f->type) {
	case F_STR: {
		if (!json_is_string(v)) {
			seterr(err, errlen, "%s.%s: must be a string", where, f->name);
			return TORIDE_EPARSE;
		}
		size_t len = json_string_length(v);
		const char *s = json_string_value(v);
		if (strlen(s) != len) {
			seterr(err, errlen, "%s.%s: contains a NUL byte", where, f->name);
			return TORIDE_EPARSE;
		}
		if (f->size == 0) /* comment: checked, not stored */
			return 0;
		if (len >= f->size) {
			seterr(err, errlen, "%s.%s: %zu bytes, longer than the limit of %zu", where, f->name, len,
			       f->size - 1);
			return TORIDE_ETOOBIG;
		}
		memcpy(dst, s, len + 1);
		return 0;
	}
	case F_BOOL:
		if (!json_is_boolean(v)) {
			seterr(err, errlen, "%s.%s: must be true or false", where, f->name);
			return TORIDE_EPARSE;
		}
		*(bool *)dst = json_is_true(v);
		return 0;
	case F_UINT:
	case F_U16: {
		json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
		json_int_t min = f->type == F_U16 ? 1 : 0;
		if (x < min || x > (json_int_t)f->max) {
			seterr(err, errlen, "%s.%s: must be an integer from %lld to %u", where, f->name, (long long)min,
			       f->max);
			return TORIDE_ERANGE;
		}
		if (f->type == F_U16)
			*(uint16_t *)dst = (uint16_t)x;
		else
			*(unsigned *)dst = (unsigned)x;
		return 0;
	}
	case F_PROTO:
	case F_POLICY:
	case F_HTTPAUTH: {
		const char *const *names = f->type == F_PROTO ? proto_names
		                           : f->type == F_POLICY ? policy_names : http_auth_names;
		size_t n = f->type == F_PROTO ? EMU_PROTO_COUNT
		           : f->type == F_POLICY ? EMU_POLICY_COUNT : EMU_HTTP_AUTH_COUNT;
		const char *s = json_string_value(v);
		idx = s != NULL ? name_index(names, n, s) : -1;
		if (idx < 0) {
			char list[128] = "";
			size_t used = 0;
			for (size_t i = 0; i < n && used < sizeof list; i++) {
				int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			seterr(err, errlen, "%s.%s: unknown value %s%s%s (%s)", where, f->name, s ? "\"" : "",
			       s ? s : "(not a string)", s ? "\"" : "", list);
			return TORIDE_EPARSE;
		}
		if (f->type == F_PROTO)
			*(enum emu_proto *)dst = (enum emu_proto)idx;
		else if (f->type == F_POLICY)
			*(enum emu_cred_policy *)dst = (enum emu_cred_policy)idx;
		else
			*(enum emu_http_auth *)dst = (enum emu_http_auth)idx;
		return 0;
	}
	case F_SERVICES:
		break;
	}
	return TORIDE_EINVAL;
}

/* Refuse members that no row names: a misspelt field would otherwise silently take its default. */
static int
check_members(const json_t *obj, const struct field *fields, size_t nf, const char *where, char *err,
	      size_t errlen)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool known = false;
		for (size_t i = 0; i < nf && !known; i++)
			known = strcmp(fields[i].name, key) == 0;
		if (!known) {
			seterr(err, errlen, "%s: unknown field \"%s\"", where, key);
			return TORIDE_EPARSE;
		}
	}
	return 0;
}

static int
fill(void *base, const json_t *obj, const struct field *fields, size_t nf, const char *where, char *err,
     size_t errlen)
{
	int rc = check_members(obj, fields, nf, where, err, errlen);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < nf; i++) {
		const json_t *v = json_object_get(obj, fields[i].name);
		if (v == NULL) {
			if (fields[i].required) {
				seterr(err, errlen, "%s: missing field \"%s\"", where, fields[i].name);
				return TORIDE_EPARSE;
			}
			continue;
		}
		if (fields[i].type == F_SERVICES)
			continue;
		if ((rc = set_field(base, &fields[i], v, where, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

static void
copy_default(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s);
}

/* Defaults a service gets before its own fields are read: what a busybox device prints. */
static void
service_defaults(struct emu_service *s, enum emu_cred_policy policy)
{
	memset(s, 0, sizeof *s);
	s->negotiate = true;
	copy_default(s->login_prompt, sizeof s->login_prompt, "login: ");
	copy_default(s->password_prompt, sizeof s->password_prompt, "Password: ");
	copy_default(s->fail_message, sizeof s->fail_message, "Login incorrect\r\n");
	copy_default(s->shell_prompt, sizeof s->shell_prompt, "# ");
	copy_default(s->route, sizeof s->route, "/");
	s->max_tries = 3;
	s->fail_delay_ms = 1000;
	s->http_auth = policy == EMU_CRED_NO_AUTH ? EMU_HTTP_AUTH_NONE : EMU_HTTP_AUTH_BASIC;
	s->anonymous = policy == EMU_CRED_NO_AUTH;
	s->ssh_publickey = policy == EMU_CRED_KEY_ONLY;
	s->ssh_password = policy != EMU_CRED_KEY_ONLY;
	s->ssh_kbdint = policy != EMU_CRED_KEY_ONLY;
}

/* A service must agree with the profile's policy: the policy is the truth the survey is judged by. */
static int
check_service(const struct emu_profile *p, const struct emu_service *s, const char *where, char *err,
	      size_t errlen)
{
	bool open = p->policy == EMU_CRED_NO_AUTH;
	if (s->max_tries == 0) {
		seterr(err, errlen, "%s.max_tries: must be at least 1", where);
		return TORIDE_ERANGE;
	}
	switch (s->proto) {
	case EMU_SSH:
		if (strncmp(s->banner, "SSH-2.0-", 8) != 0 && strncmp(s->banner, "SSH-1.99-", 9) != 0) {
			seterr(err, errlen, "%s.banner: an SSH version line must start with \"SSH-2.0-\"", where);
			return TORIDE_EPARSE;
		}
		if (strpbrk(s->banner, "\r\n") != NULL) {
			seterr(err, errlen, "%s.banner: the SSH version line is sent without CR LF", where);
			return TORIDE_EPARSE;
		}
		if (p->policy == EMU_CRED_KEY_ONLY && (s->ssh_password || s->ssh_kbdint || !s->ssh_publickey)) {
			seterr(err, errlen, "%s: a key-only profile offers publickey and neither password nor "
			       "keyboard-interactive", where);
			return TORIDE_EPARSE;
		}
		if (p->policy != EMU_CRED_KEY_ONLY && !s->ssh_password && !s->ssh_kbdint) {
			seterr(err, errlen, "%s: ssh needs ssh_password or ssh_kbdint unless the policy is key-only",
			       where);
			return TORIDE_EPARSE;
		}
		break;
	case EMU_HTTP:
	case EMU_RTSP:
		if (open != (s->http_auth == EMU_HTTP_AUTH_NONE)) {
			seterr(err, errlen, "%s.http_auth: \"%s\" contradicts policy \"%s\"", where,
			       http_auth_names[s->http_auth], policy_names[p->policy]);
			return TORIDE_EPARSE;
		}
		if (s->proto == EMU_RTSP && s->http_auth == EMU_HTTP_AUTH_FORM) {
			seterr(err, errlen, "%s.http_auth: RTSP has no form login", where);
			return TORIDE_EPARSE;
		}
		if ((s->http_auth == EMU_HTTP_AUTH_BASIC || s->http_auth == EMU_HTTP_AUTH_DIGEST) &&
		    s->realm[0] == '\0') {
			seterr(err, errlen, "%s.realm: Basic and Digest need a realm", where);
			return TORIDE_EPARSE;
		}
		if (strpbrk(s->realm, "\"\r\n") != NULL || strpbrk(s->server, "\r\n") != NULL) {
			seterr(err, errlen, "%s: realm and server are header values (no quote, CR or LF)", where);
			return TORIDE_EPARSE;
		}
		if (s->proto == EMU_RTSP && s->route[0] != '/') {
			seterr(err, errlen, "%s.route: must start with \"/\"", where);
			return TORIDE_EPARSE;
		}
		break;
	case EMU_MQTT:
	case EMU_FTP:
		if (open != s->anonymous) {
			seterr(err, errlen, "%s.anonymous: %s contradicts policy \"%s\"", where,
			       s->anonymous ? "true" : "false", policy_names[p->policy]);
			return TORIDE_EPARSE;
		}
		if (s->proto == EMU_FTP && strpbrk(s->banner, "\r\n") != NULL) {
			seterr(err, errlen, "%s.banner: the FTP 220 text is one line", where);
			return TORIDE_EPARSE;
		}
		break;
	case EMU_TELNET:
	case EMU_PROTO_COUNT:
		break;
	}
	return 0;
}

static bool
id_ok(const char *id)
{
	if (id[0] == '\0')
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

/* Parse one profile file into *p. */
static int
load_one(struct emu_profile *p, const char *path, const char *fname, char *err, size_t errlen)
{
	json_t *root = NULL;
	json_error_t jerr;
	char where[320];
	int rc;
	struct stat st;

	memset(p, 0, sizeof *p);
	if (stat(path, &st) != 0) {
		seterr(err, errlen, "%s: cannot read", fname);
		rc = TORIDE_EIO;
		goto out;
	}
	if (st.st_size > EMU_PROFILE_FILE_MAX) {
		seterr(err, errlen, "%s: %lld bytes, larger than the limit of %d", fname, (long long)st.st_size,
		       EMU_PROFILE_FILE_MAX);
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		seterr(err, errlen, "%s:%d:%d: not valid JSON: %s", fname, jerr.line, jerr.column, jerr.text);
		rc = TORIDE_EPARSE;
		goto out;
	}
	if (!json_is_object(root)) {
		seterr(err, errlen, "%s: a profile is one JSON object", fname);
		rc = TORIDE_EPARSE;
		goto out;
	}
	/* Policy first: service defaults depend on it. */
	const json_t *pol = json_object_get(root, "policy");
	snprintf(where, sizeof where, "%s", fname);
	static const struct field policy_field = {"policy", F_POLICY, offsetof(struct emu_profile, policy),
	                                          sizeof(enum emu_cred_policy), 0, true};
	if (pol != NULL && (rc = set_field(p, &policy_field, pol, where, err, errlen)) != 0)
		goto out;
	if ((rc = fill(p, root, profile_fields, sizeof profile_fields / sizeof profile_fields[0], where, err,
		       errlen)) != 0)
		goto out;
	if (!id_ok(p->id)) {
		seterr(err, errlen, "%s.id: \"%s\" must be non-empty lower-case letters, digits, '-', '_', '.'",
		       fname, p->id);
		rc = TORIDE_EPARSE;
		goto out;
	}
	if (p->vendor[0] == '\0' || p->product[0] == '\0' || p->type[0] == '\0' || p->source[0] == '\0') {
		seterr(err, errlen, "%s: vendor, product, type and source must not be empty", fname);
		rc = TORIDE_EPARSE;
		goto out;
	}
	/* Who logs in: the factory pair for default and forced change, the account name otherwise. */
	bool need_user = p->policy != EMU_CRED_NO_AUTH;
	bool need_pass = p->policy == EMU_CRED_FACTORY_DEFAULT || p->policy == EMU_CRED_FORCED_CHANGE;
	if ((need_user && json_object_get(root, "user") == NULL) ||
	    (need_pass && json_object_get(root, "pass") == NULL)) {
		seterr(err, errlen, "%s: policy \"%s\" needs %s", fname, policy_names[p->policy],
		       need_pass ? "\"user\" and \"pass\"" : "\"user\"");
		rc = TORIDE_EPARSE;
		goto out;
	}
	if (strlen(p->pass) >= sizeof(((struct emu_device *)0)->pass)) {
		seterr(err, errlen, "%s.pass: longer than a device password can be (%zu bytes)", fname,
		       sizeof(((struct emu_device *)0)->pass) - 1);
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	if (p->default_in_mirai && !need_pass) {
		seterr(err, errlen, "%s.default_in_mirai: true needs a factory pair (policy factory-default or "
		       "forced-change)", fname);
		rc = TORIDE_EPARSE;
		goto out;
	}
	if (p->hostname[0] == '\0')
		copy_default(p->hostname, sizeof p->hostname, "(none)");

	const json_t *svcs = json_object_get(root, "services");
	size_t n = json_array_size(svcs);
	if (!json_is_array(svcs) || n == 0) {
		seterr(err, errlen, "%s.services: must be a non-empty array", fname);
		rc = TORIDE_EPARSE;
		goto out;
	}
	if (n > EMU_MAX_SERVICES) {
		seterr(err, errlen, "%s.services: %zu services, more than the limit of %d", fname, n,
		       EMU_MAX_SERVICES);
		rc = TORIDE_ETOOBIG;
		goto out;
	}
	bool has_ssh = false;
	for (size_t i = 0; i < n; i++) {
		struct emu_service *s = &p->services[i];
		const json_t *o = json_array_get(svcs, i);
		snprintf(where, sizeof where, "%s: services[%zu]", fname, i);
		if (!json_is_object(o)) {
			seterr(err, errlen, "%s: must be an object", where);
			rc = TORIDE_EPARSE;
			goto out;
		}
		service_defaults(s, p->policy);
		if ((rc = fill(s, o, service_fields, sizeof service_fields / sizeof service_fields[0], where, err,
			       errlen)) != 0)
			goto out;
		if ((rc = check_service(p, s, where, err, errlen)) != 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (p->services[j].port == s->port) {
				seterr(err, errlen, "%s.port: %u already used by services[%zu]", where, s->port, j);
				rc = TORIDE_EEXIST;
				goto out;
			}
		}
		has_ssh = has_ssh || s->proto == EMU_SSH;
		p->nservices = i + 1;
	}
	if (p->policy == EMU_CRED_KEY_ONLY && !has_ssh) {
		seterr(err, errlen, "%s: policy \"key-only\" needs an ssh service", fname);
		rc = TORIDE_EPARSE;
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
emu_profiles_free(struct emu_profiles *p)
{
	if (p == NULL)
		return;
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int
emu_profiles_load_dir(struct emu_profiles *out, const char *dir, char *err, size_t errlen)
{
	DIR *d = NULL;
	char **names = NULL;
	size_t nnames = 0;
	struct emu_profile *v = NULL;
	char path[4096];
	int rc;

	seterr(err, errlen, "%s", "");
	if (out == NULL || dir == NULL) {
		rc = TORIDE_EINVAL;
		goto out;
	}
	out->v = NULL;
	out->n = 0;
	d = opendir(dir);
	if (d == NULL) {
		seterr(err, errlen, "%s: cannot open profile directory", dir);
		rc = TORIDE_EIO;
		goto out;
	}
	names = calloc(EMU_PROFILES_MAX, sizeof *names);
	if (names == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (nnames == EMU_PROFILES_MAX) {
			seterr(err, errlen, "%s: more than %d profiles", dir, EMU_PROFILES_MAX);
			rc = TORIDE_ETOOBIG;
			goto out;
		}
		if ((names[nnames] = strdup(e->d_name)) == NULL) {
			rc = TORIDE_ENOMEM;
			goto out;
		}
		nnames++;
	}
	if (nnames == 0) {
		seterr(err, errlen, "%s: no *.json profiles", dir);
		rc = TORIDE_ENOTFOUND;
		goto out;
	}
	/* Sorted by file name so that device i of a fleet gets the same profile on every run. */
	qsort(names, nnames, sizeof *names, cmp_names);
	v = calloc(nnames, sizeof *v);
	if (v == NULL) {
		rc = TORIDE_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (w < 0 || (size_t)w >= sizeof path) {
			seterr(err, errlen, "%s: path too long", names[i]);
			rc = TORIDE_ETOOBIG;
			goto out;
		}
		if ((rc = load_one(&v[i], path, names[i], err, errlen)) != 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(v[j].id, v[i].id) == 0) {
				seterr(err, errlen, "%s.id: \"%s\" already used by %s", names[i], v[i].id, names[j]);
				rc = TORIDE_EEXIST;
				goto out;
			}
		}
	}
	out->v = v;
	out->n = nnames;
	v = NULL;
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(v);
	return rc;
}

const struct emu_profile *
emu_profiles_find(const struct emu_profiles *p, const char *id)
{
	if (p == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].id, id) == 0)
			return &p->v[i];
	return NULL;
}
