/*
 * Device emulation shared by `toride lab` (a fleet with known truth) and, later, the honeypot.
 *
 * A profile (data/profiles/NAME.json) describes a real device model: its services, what each
 * prints, and its credential policy. A device is one instance of a profile at one address with
 * its own state (unique password, changed password, host name, MAC, uptime). Each emulated
 * protocol is a sans-IO server: bytes in, bytes out, no sockets; the fleet engine (fleet.c)
 * owns the sockets, timeouts and caps. Nothing a client sends is ever executed on the host.
 */
#ifndef TORIDE_EMU_EMU_H
#define TORIDE_EMU_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/buf.h"

enum emu_proto { EMU_TELNET, EMU_SSH, EMU_HTTP, EMU_MQTT, EMU_RTSP, EMU_FTP, EMU_PROTO_COUNT };

enum emu_cred_policy {
	EMU_CRED_FACTORY_DEFAULT,   /* the factory pair works (fails JP-34-10-2 when the pair is listed) */
	EMU_CRED_UNIQUE,            /* a per-device random password (compliant) */
	EMU_CRED_FORCED_CHANGE,     /* the factory pair works only to set a new password (compliant) */
	EMU_CRED_NO_AUTH,           /* management without any login (fails JP-34-10-1) */
	EMU_CRED_KEY_ONLY,          /* SSH public key only, no password login (compliant) */
};

enum emu_http_auth { EMU_HTTP_AUTH_NONE, EMU_HTTP_AUTH_BASIC, EMU_HTTP_AUTH_DIGEST, EMU_HTTP_AUTH_FORM };

/* Why these sizes: profile strings are banners and prompts of real devices (< 300 bytes); a
 * longer value in a profile is a data error the loader reports. */
#define EMU_STR_MAX 512
#define EMU_MAX_SERVICES 8

struct emu_service {
	enum emu_proto proto;
	uint16_t port;
	/* telnet */
	bool negotiate;                 /* send IAC WILL ECHO / WILL SGA / DO NAWS ... first */
	char banner[EMU_STR_MAX];       /* telnet pre-login text; SSH version line; FTP 220 text */
	char login_prompt[EMU_STR_MAX];
	char password_prompt[EMU_STR_MAX];
	char fail_message[EMU_STR_MAX];
	char motd[EMU_STR_MAX];
	char shell_prompt[EMU_STR_MAX]; /* may contain "%h" (host name) and "%w" (cwd) */
	unsigned max_tries;             /* logins per connection before hanging up (busybox: 3) */
	unsigned fail_delay_ms;         /* pause before the failure message */
	/* http / rtsp */
	char server[EMU_STR_MAX];       /* Server header */
	enum emu_http_auth http_auth;
	char realm[EMU_STR_MAX];
	char title[EMU_STR_MAX];
	char route[EMU_STR_MAX];        /* RTSP stream path, e.g. "/live" */
	/* mqtt / ftp */
	bool anonymous;                 /* MQTT anonymous CONNECT or anonymous FTP accepted */
	/* ssh */
	bool ssh_password, ssh_kbdint, ssh_publickey;
};

struct emu_profile {
	char id[64];
	char vendor[64], product[96], type[48];
	char source[EMU_STR_MAX];       /* where the banners and credentials come from */
	enum emu_cred_policy policy;
	char user[128], pass[128];      /* factory default pair */
	char hostname[64];              /* default host name ("%m" = last 3 MAC bytes) */
	char uname[EMU_STR_MAX];        /* `uname -a` output */
	char busybox[EMU_STR_MAX];      /* BusyBox banner line, "" if not busybox */
	char arch[32];                  /* armv7l, mips, ... */
	size_t nservices;
	struct emu_service services[EMU_MAX_SERVICES];
	bool default_in_mirai;          /* the factory pair is in data/credentials/mirai.tsv (survey truth) */
};

struct emu_profiles {
	struct emu_profile *v;
	size_t n;
};

/* Load every *.json in dir (one profile per file, schema in docs/emu.md). Refuses duplicate ids,
 * unknown fields' types, over-long strings, no services, ports 0; err names file and field. */
int emu_profiles_load_dir(struct emu_profiles *out, const char *dir, char *err, size_t errlen);
void emu_profiles_free(struct emu_profiles *p);
const struct emu_profile *emu_profiles_find(const struct emu_profiles *p, const char *id);
const char *emu_proto_name(enum emu_proto p);
const char *emu_cred_policy_name(enum emu_cred_policy p);

/*
 * An observer of one device (the honeypot's session recorder; the lab sets none). Every callback
 * may be NULL. Servers and the shell call them from the thread that serves the session (an SSH
 * session's own thread), with arg = the device's obs_arg.
 */
struct emu_device;
struct emu_observer {
	/* Decide whether user/pass logs in, instead of the profile's policy (honeypot credentials). */
	bool (*accept_login)(void *arg, const struct emu_device *d, const char *user, const char *pass);
	/* Every login attempt through any service, with its outcome (after accept_login/policy). */
	void (*login)(void *arg, const char *user, const char *pass, bool ok);
	/* Shell evidence, as emu_shell_event_cb (kind "command", "download", "write", "execute"). */
	void (*shell_event)(void *arg, const char *kind, const char *detail);
	/* A file the client wrote through the shell, with its contents: when it is executed, and for
	 * every non-empty client-written file still present when the shell ends. */
	void (*file)(void *arg, const char *path, const uint8_t *data, size_t len);
	/* Application bytes of a session the fleet engine does not see (SSH channel data): dir 'i'
	 * from the client, 'o' to it. */
	void (*io)(void *arg, char dir, const uint8_t *p, size_t n);
};

/* One emulated device: a profile at an address, with per-device state. */
struct emu_device {
	const struct emu_profile *profile;
	struct toride_addr addr;
	char addr_str[TORIDE_ADDR_STRLEN];
	char hostname[64];
	uint8_t mac[6];
	char pass[64];        /* current password: factory default, unique random, or changed */
	bool pass_changed;    /* FORCED_CHANGE: the owner (or a client) set a new one */
	uint64_t boot_time;   /* unix seconds: uptime shown by the shell */
	uint64_t seed;        /* per-device randomness (derived from fleet seed and index) */
	const struct emu_observer *obs; /* NULL: nobody watches (lab) */
	void *obs_arg;
};

/* Does user/pass log in to this device right now? (policy-aware; constant-time compare; an
 * observer's accept_login decides instead, and its login callback hears every attempt) */
bool emu_device_check_login(const struct emu_device *d, const char *user, const char *pass);

/* Make device number `index` of a fleet: d gets profile p, address a, a host name (profile host
 * name with "%m" replaced by the last three MAC bytes in lower-case hex), a MAC (vendor OUI when the
 * vendor is known, else a locally administered one), boot_time (now minus 1..90 days), seed and
 * pass (factory password for FACTORY_DEFAULT, FORCED_CHANGE and NO_AUTH; a random 16-character
 * password for UNIQUE and KEY_ONLY). Everything but boot_time's base "now" is a pure function of
 * (fleet_seed, index). Returns 0, TORIDE_EINVAL (bad argument or address) or TORIDE_EIO (libsodium
 * failed to initialise). */
int emu_device_init(struct emu_device *d, const struct emu_profile *p, const struct toride_addr *a,
                    uint64_t fleet_seed, uint64_t index);

/*
 * Sans-IO servers. The fleet calls open() when a client connects (greeting goes to out), input()
 * with every chunk the client sends (replies go to out), and close() when the connection ends.
 * input() returns EMU_CONTINUE, EMU_CLOSE (flush out, then hang up) or a negative TORIDE_E* code
 * (hang up at once). A server may ask for a delay before its next output is sent (fail_delay):
 * it sets *delay_ms; the fleet holds the output back that long. Servers keep their own caps.
 */
#define EMU_CONTINUE 0
#define EMU_CLOSE 1

struct emu_server_ops {
	enum emu_proto proto;
	void *(*open)(const struct emu_device *dev, const struct emu_service *svc, struct toride_buf *out,
	              unsigned *delay_ms);
	int (*input)(void *st, const uint8_t *in, size_t n, struct toride_buf *out, unsigned *delay_ms);
	void (*close)(void *st);
};

extern const struct emu_server_ops emu_telnet_server;
extern const struct emu_server_ops emu_http_server;
extern const struct emu_server_ops emu_rtsp_server;
extern const struct emu_server_ops emu_mqtt_server;
extern const struct emu_server_ops emu_ftp_server;
/* SSH is not sans-IO (libssh owns its socket): see emu/ssh.h. */

#endif
