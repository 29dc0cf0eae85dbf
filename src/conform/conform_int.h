/*
 * Internals shared by the conform checks (not a public interface). Everything that touches the
 * network goes through these helpers, and every helper checks the target against a scope of
 * exactly the description's address first: a check cannot reach any other host.
 */
#ifndef TORIDE_CONFORM_INT_H
#define TORIDE_CONFORM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conform/conform.h"
#include "core/buf.h"
#include "proto/telnet.h"
#include "survey/creds.h"

/* Why 8 KiB: a step's evidence is a transcript a reviewer reads; longer ones are cut (the head
 * holds the banner and prompts that matter). */
#define CONFORM_EVIDENCE_MAX (8 * 1024)
/* Why 64 KiB: hook output is a version string or a short log; the cap bounds a chatty command. */
#define CONFORM_HOOK_OUT_MAX (64 * 1024)
/* Default description values (docs/conform.md). */
#define CONFORM_DEFAULT_PORTS "1-65535"
#define CONFORM_DEFAULT_HOOK_TIMEOUT 60
#define CONFORM_DEFAULT_SETTLE 5
#define CONFORM_DEFAULT_BRUTE_SECONDS 60
#define CONFORM_DEFAULT_SCAN_RATE 2000

/* Data directory: $TORIDE_DATA_DIR, else the compiled-in one. */
const char *conform_data_dir(void);

/* Parse a ports spec ("1-65535", "22,80,8000-8100": decimal, no spaces, ascending ranges, 1..65535)
 * into a malloc'd array without duplicates (caller frees). *ports may be NULL to only validate.
 * 0 or TORIDE_EPARSE (message in err), TORIDE_ENOMEM. */
int conform_ports_parse(const char *spec, uint16_t **ports, size_t *n, char *err, size_t err_cap);

/* Random lowercase hex (libsodium), n characters plus NUL. */
void conform_random_hex(char *out, size_t n);
/* Monotonic milliseconds, and a sleep that survives signals. */
uint64_t conform_now_ms(void);
void conform_sleep_ms(unsigned ms);
/* The description asks for the built-in toride-deviced HTTP adapter (and names its URL). */
bool conform_use_adapter(const struct conform_run *run);
/* A fresh strong password (mixed classes, 20 characters) for the change the examiner makes. */
void conform_random_password(char *out, size_t cap);

/* Escape bytes and cut at CONFORM_EVIDENCE_MAX for a step's evidence (malloc'd, NULL on ENOMEM). */
char *conform_evidence(const void *p, size_t n);

/* Progress line through run->progress (no-op without a callback). */
void conform_progress(struct conform_run *run, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Blocking TCP connect to the description's address (scope-checked), with a timeout. Returns a
 * connected socket (>= 0) or TORIDE_ESCOPE / TORIDE_ETIMEOUT / TORIDE_EIO. */
int conform_connect(struct conform_run *run, uint16_t port, unsigned timeout_ms);

/* ---- survey engine as a black box (scope of exactly the one address) ---- */
struct conform_survey_opts {
	const uint16_t *ports;
	size_t nports;
	const struct toride_creds *creds; /* NULL: no login attempts (identification + no-auth) */
	bool vendor_defaults;             /* add vendor defaults chosen by fingerprint */
	unsigned attempt_delay_ms;        /* pacing between logins */
	unsigned max_attempts;            /* per host, 0 = unlimited */
	unsigned read_timeout_ms;         /* default 4000 */
	double rate;                      /* new connections per second, 0 = default 2000 */
	double max_seconds;               /* stop after this long (0 = run to completion) */
};
/* Run the survey engine over the description's address and return every event it emitted (a
 * JSON array, caller owns) in *events. *stopped says whether max_seconds cut it short. */
int conform_survey(struct conform_run *run, const struct conform_survey_opts *o, json_t **events,
                   bool *stopped);

/* ---- telnet session (proto/telnet: negotiation and the survey's screen classifier) ---- */
struct conform_tn;
int conform_tn_open(struct conform_run *run, uint16_t port, struct conform_tn **out);
/* Read until the screen settles (300 ms quiet after a classifiable screen) or timeout_ms; returns
 * the screen class of the text received since the last send. Text/transcript accessors below. */
enum toride_tn_screen conform_tn_wait(struct conform_tn *t, unsigned timeout_ms);
int conform_tn_send(struct conform_tn *t, const char *line);
/* Text received since the last send (decoded), and the whole transcript (both directions). */
const char *conform_tn_text(struct conform_tn *t, size_t *len);
const char *conform_tn_transcript(struct conform_tn *t, size_t *len);
bool conform_tn_closed(const struct conform_tn *t);
void conform_tn_close(struct conform_tn *t);

/* Log in over telnet with user/password following the survey's rules (prompt classification,
 * marker echo). result: 1 = a shell proven by the echoed marker, 2 = logged in (prompt, no echo),
 * 0 = refused, 3 = a password-change prompt was shown, -1 = inconclusive. The open session is kept
 * in *keep if keep is not NULL and the login got somewhere (caller closes), and the transcript is
 * copied (escaped) into evidence (malloc'd) if evidence is not NULL. */
int conform_telnet_login(struct conform_run *run, uint16_t port, const char *user, const char *pass,
                         bool send_marker, struct conform_tn **keep, char **evidence, char *detail,
                         size_t detail_cap);

/* ---- minimal HTTP/1.1 client for adapters (one request per connection) ---- */
struct conform_http_resp {
	int status;
	struct toride_buf head; /* status line + headers */
	struct toride_buf body;
};
void conform_http_resp_free(struct conform_http_resp *r);
/* port and path come from the caller (admin_url parsed by conform_url_port); extra_headers are
 * full lines with CRLF. 0 or a negative code; *resp always initialised. */
int conform_http(struct conform_run *run, uint16_t port, const char *method, const char *path,
                 const char *extra_headers, const char *ctype, const void *body, size_t body_len,
                 unsigned timeout_ms, struct conform_http_resp *resp);
/* Port of an "http://ADDR:PORT[/...]" admin URL whose host must be the description's address. */
int conform_url_port(const struct conform_run *run, const char *url, uint16_t *port);
/* Value of a response header (first, case-insensitive name) copied into out; 0 or TORIDE_ENOTFOUND. */
int conform_http_header(const struct conform_http_resp *r, const char *name, char *out, size_t cap);

/* Services from the access check (run->services) that take a password: telnet, ssh with a
 * password method, http with auth, ftp, mqtt, rtsp asking for credentials. */
bool conform_service_takes_password(const struct conform_run *run, const struct conform_service *s);

/* Fill run->services by the access check's scan when it has not run (e.g. --only credentials);
 * records one step in item. */
int conform_services_ensure(struct conform_run *run, json_t *item);

/* Is password in a known list (Mirai's table, any vendor default, the device banned list)? The
 * list's name goes into which (static). */
bool conform_password_listed(const char *password, const char **which);

/* The catalog (loaded once per run_all; NULL if it cannot be read). */
const struct toride_catalog *conform_catalog(void);

#endif
