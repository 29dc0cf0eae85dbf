/*
 * Internals of the survey engine shared by engine.c and the per-protocol check modules
 * (check_*.c). Not a public interface.
 *
 * Objects: a survey has hosts (one per address with open services), a host has services (one per
 * open port), a service runs conversations (one TCP connection each) driven by a protocol module.
 * A service's work is: identify (first conversation), then checks: a no-auth check and, if the
 * service asks for credentials, one conversation per login step. Login conversations of one host
 * never overlap (lockout safety): they take the host's login slot.
 */
#ifndef TORIDE_SURVEY_ENGINE_H
#define TORIDE_SURVEY_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/addr.h"
#include "core/buf.h"
#include "survey/creds.h"
#include "survey/survey.h"

/* Why 4 KiB: one read of a device banner or response fits. One buffer per survey loop, shared by
 * all connections: libuv calls read_cb right after alloc_cb on the loop's thread, and every
 * on_data handler copies what it keeps before returning (it never holds on to the bytes). */
#define CONV_READ_BUF 4096
/* Why 16 KiB: a login transcript with banner, prompts and the marker echo is < 2 KiB on real
 * devices; the cap bounds evidence from chatty or hostile peers. */
#define CONV_TRANSCRIPT_MAX (16 * 1024)
/* Why: a service that needs more conversations than this is misbehaving (e.g. closes at once). */
#define SERVICE_MAX_CONVS 4096
/* Why 2: a login connection that ends before one pair could be tried (no prompt, garbage) may be
 * bad luck once; twice in a row means the service will never take a credential. */
#define SERVICE_MAX_STALLS 2

enum proto {
	PROTO_UNKNOWN = 0,
	PROTO_TELNET,
	PROTO_SSH,
	PROTO_HTTP,
	PROTO_RTSP,
	PROTO_MQTT,
	PROTO_FTP,
};

const char *proto_name(enum proto p);

enum verdict { VERDICT_NONE = 0, VERDICT_PASS, VERDICT_FAIL, VERDICT_UNKNOWN };

struct survey;
struct host;
struct service;
struct conv;

struct conv_ops {
	const char *name;
	void (*on_connect)(struct conv *c);
	void (*on_data)(struct conv *c, const uint8_t *p, size_t n);
	void (*on_timeout)(struct conv *c);
	void (*on_eof)(struct conv *c);
	/* Release module state. Called exactly once, when the connection is gone. */
	void (*on_free)(struct conv *c);
};

/* Every live connection (plain or module-owned like SSH) is on the survey's list so that a stop
 * request can abort it. */
struct live_node {
	struct live_node *prev, *next;
	void (*abort)(struct live_node *n);
};

struct conv {
	struct live_node live;     /* first member */
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	struct survey *survey;
	struct service *svc;       /* NULL while a discovery probe is connecting */
	struct toride_addr target;
	uint16_t port;
	const struct conv_ops *ops;
	void *mod;                 /* module state */
	bool is_login;             /* counts as a login conversation of its host */
	bool connected, closing, timed_out, eof, transcript_full;
	bool local_failure;        /* the connect failed on our side (EMFILE, no port): not probed */
	char last_dir;
	int open_handles;
	int connect_status;
	unsigned tries;            /* connect attempts so far */
	size_t cred_mark;          /* service's next_cred when this login conversation started */
	double started;
	struct toride_buf transcript;
};

struct service {
	struct host *host;
	uint16_t port;
	enum proto proto;
	char banner[512];          /* escaped first bytes / version line / Server header */
	char fp_vendor[64], fp_product[96], fp_type[48];
	bool fp_done;
	struct toride_creds_walk creds; /* vendor defaults, then the survey's base list (shared) */
	bool creds_ready;
	size_t next_cred;          /* index of the next pair to try */
	unsigned attempts;
	bool found_cred;           /* a pair was accepted: stop */
	bool noauth_fail;          /* JP-34-10-1 failed */
	bool needs_auth;           /* service asked for credentials */
	bool password_only;        /* telnet asks for a password but no user name */
	bool form_login;           /* HTTP login form (not tested: JP-34-10-2 unknown) */
	bool follow_redirect;      /* HTTP: fetch http_path next (a same-host redirect) */
	unsigned redirects;
	size_t retried_cred;       /* 1 + index of a pair given back once after a dropped connection */
	char unknown_note[160];    /* why a verdict stays unknown */
	bool inconclusive;         /* some step could not be completed */
	bool waiting_login;        /* queued for the host's login slot */
	bool has_slot;             /* holds the host's login slot */
	bool budget_exhausted;     /* the host's attempt budget ran out */
	bool verdicts_done;        /* final verdicts emitted */
	bool done;
	unsigned convs;            /* conversations started */
	unsigned stalls;           /* login conversations in a row that used no pair */
	unsigned live_convs;
	int probe_state;           /* 0 open */
	/* protocol-specific facts learned during identification */
	char http_path[256];       /* path that answered (HTTP "/" or an RTSP stream route) */
	int auth_scheme;           /* enum toride_auth_scheme of the first challenge */
	char ssh_methods[128];
	bool ssh_none_done, ssh_none_tried;
	void *service_data;        /* json_t: what identification learned (banner, options, ...) */
	struct service *next_waiting;
	struct service *next_in_host;
};

struct host {
	struct survey *survey;
	struct toride_addr addr;
	char addr_str[64];
	bool login_busy;
	unsigned attempts;        /* budget used */
	double last_attempt;
	struct service *wait_head, *wait_tail;
	struct service *services;
	unsigned refs;            /* live services */
	uv_timer_t pace;          /* pacing between login attempts */
	bool pace_init, pace_armed, dead;
	struct host *hnext;       /* hash chain */
};

/* ---- engine services for the modules ---- */
struct survey *conv_survey(struct conv *c);
const struct toride_survey_config *survey_config(struct survey *s);
uv_loop_t *survey_loop(struct survey *s);

/* Queue bytes to send; copies them. Records them in the transcript. */
void conv_write(struct conv *c, const void *p, size_t n);
/* (Re)arm the idle timeout for this conversation. */
void conv_set_timeout(struct conv *c, unsigned ms);
/* Close the conversation; on_free runs when libuv has released it, then the service moves on. */
void conv_close(struct conv *c);
/* Switch the module that drives an open conversation (identify -> protocol module). The new
 * module's state is `mod`; the old module's on_free has NOT been called: the caller frees it. */
void conv_switch(struct conv *c, const struct conv_ops *ops, void *mod);

/* Start a new conversation for a service with the given module (login conversations take the
 * host's slot: see service_login_start). Returns NULL if the service hit its conversation cap. */
struct conv *service_conv_start(struct service *svc, const struct conv_ops *ops, void *mod, bool is_login);
/* Take the host's login slot for this service. Returns true if it is ours now; otherwise the
 * service is queued and its planner runs again when the slot is free (and pacing allows). A
 * service keeps the slot until its live conversations are gone. */
bool service_take_login(struct service *svc);
/* The planners' common gate for a credential conversation: the service asked for credentials,
 * has neither failed nor found one, has pairs and budget left, and holds the login slot (or is
 * now queued for it: false). */
bool service_ready_for_login(struct service *svc);
/* Give the login slot back. */
void host_login_release(struct host *h);
/* Give back the pair just taken (the connection dropped before an answer), once per pair.
 * Returns false if it was given back before. */
bool service_retry_cred(struct service *svc, const struct toride_cred *cred);
/* Are there untried pairs? (prepares the list: vendor defaults + base list) */
bool service_creds_left(struct service *svc);
/* Module-owned connections (SSH through libssh): count them as live conversations. */
void service_ext_begin(struct service *svc, struct live_node *n);
void service_ext_end(struct service *svc, struct live_node *n);
/* Is another login attempt allowed on this service's host right now (budget, found)? */
bool service_may_attempt(struct service *svc);
/* Count one login attempt. */
void service_count_attempt(struct service *svc);
/* Next credential to try, or NULL when the list is exhausted. */
const struct toride_cred *service_next_cred(struct service *svc);
/* The pair service_next_cred would return, without taking it (NULL when none is left). */
const struct toride_cred *service_peek_cred(struct service *svc);

/* ---- events ---- */
void svc_observe(struct service *svc, const char *kind, void *json_data /* json_t*, stolen */);
void svc_login_attempt(struct service *svc, const struct toride_cred *cred, const char *result, const char *detail);
void svc_finding(struct service *svc, const char *requirement, enum verdict v, const char *proof,
                 const char *summary, const struct toride_cred *cred, struct conv *evidence, const char *marker,
                 const char *note);
/* Identification done: protocol and banner known; runs the fingerprint on (kind, text). */
/* Add a fact about the service (stolen json value) and re-emit its "service" observation. */
void svc_detail(struct service *svc, const char *key, void *json_value);
void svc_identified(struct service *svc, enum proto p, const char *banner_text, size_t banner_len);
void svc_fingerprint(struct service *svc, int fp_kind, const char *text, size_t len);

/* Random lowercase hex (libsodium), for telnet markers and digest cnonces. */
void random_hex(char *out, size_t nhex);

/* ---- protocol modules ---- */
extern const struct conv_ops ident_ops;
extern const struct conv_ops telnet_ops;
extern const struct conv_ops http_ops;   /* HTTP and RTSP */
extern const struct conv_ops mqtt_ops;
extern const struct conv_ops ftp_ops;

/* Per-protocol planners: called when the service has no live conversation and its login slot
 * (if needed) is ours. Start the next conversation or mark the service done. */
void telnet_next(struct service *svc);
void http_next(struct service *svc);
void mqtt_next(struct service *svc);
void ftp_next(struct service *svc);
void ssh_next(struct service *svc);

/* Hand an identify conversation's buffered bytes over to a protocol module. */
void telnet_take_over(struct conv *c, const uint8_t *p, size_t n);
void ftp_take_over(struct conv *c, const uint8_t *p, size_t n);
void http_take_over(struct conv *c, enum proto p, const uint8_t *data, size_t n, const char *path);
void mqtt_take_over(struct conv *c, const uint8_t *p, size_t n);

/* Service finished all its work: emit pass/unknown verdicts and release it. */
void service_finish(struct service *svc);

#endif
