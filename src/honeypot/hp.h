/*
 * The honeypot's internal interfaces (docs/honeypot.md). The sensor (engine.c, a sandboxed child)
 * serves emulated devices and records sessions; the collector (collector.c, the parent) turns
 * the sensor's frames into events, samples and classifications; export (campaign.c, stix.c,
 * misp.c) reads the database back.
 */
#ifndef TORIDE_HONEYPOT_HP_H
#define TORIDE_HONEYPOT_HP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/scope.h"

/* ---------------------------------------------------------------- sessions (engine.c) */

/* Why 64 KiB: the whole Mirai scanner + loader conversation with an echo upload of a dropper is
 * ~25 KiB in both directions; more is cut and flagged (transcript_truncated). */
#define HP_TRANSCRIPT_MAX (64u * 1024u)
/* Entries per array of a session record (logins, commands, downloads, files, executions): a bot
 * session has tens; a hostile client cannot make a record grow without bound. */
#define HP_RECORD_ITEMS_MAX 512

/* ---------------------------------------------------------------- IPC (ipc.c) */

/* Frames from the sensor to the collector over a pipe: an 8-byte header (magic "TH", type u16
 * little-endian, payload length u32 little-endian) then the payload. */
enum hp_frame_type {
	HP_FRAME_SESSION = 1, /* payload: one hp_session event, JSON text */
	HP_FRAME_FILE = 2,    /* payload: session id (16 hex) NUL path NUL bytes */
	HP_FRAME_STATS = 3,   /* payload: JSON object of counters */
};
/* Why 1.5 MiB: a file frame carries at most one file of the shell's filesystem (EMU_SHELL_FS_BYTES,
 * 1 MiB) plus its path; a session frame is < 1 MiB (TORIDE_EVENT_LINE_MAX). */
#define HP_FRAME_MAX (1536u * 1024u)

/* Frame encoder: appends one frame to out. Returns 0, TORIDE_ETOOBIG or TORIDE_ENOMEM. */
int hp_frame_put(struct toride_buf *out, enum hp_frame_type type, const void *payload, size_t len);

/* Streaming frame decoder: feed bytes as they arrive; each complete frame is handed to cb.
 * A frame with a bad magic, an unknown type or a length over HP_FRAME_MAX makes the decoder
 * return TORIDE_EPARSE (the collector then stops trusting the sensor). */
struct hp_frame_reader {
	struct toride_buf buf;
};
typedef int (*hp_frame_cb)(void *arg, enum hp_frame_type type, const uint8_t *payload, size_t len);
void hp_frame_reader_init(struct hp_frame_reader *r);
void hp_frame_reader_free(struct hp_frame_reader *r);
int hp_frame_feed(struct hp_frame_reader *r, const uint8_t *p, size_t n, hp_frame_cb cb, void *arg);

/* Parse a FILE frame payload. session and path point into payload (NUL-terminated there).
 * Returns 0 or TORIDE_EPARSE. */
int hp_file_frame_parse(const uint8_t *payload, size_t len, const char **session, const char **path,
                        const uint8_t **data, size_t *datalen);

/* ---------------------------------------------------------------- download URLs (url.c) */

/* Why these sizes: URLs in droppers are short (http://198.51.100.7/bins/mirai.arm7); a longer
 * host or path is cut rather than refused, the full URL stays in the record. */
#define HP_URL_HOST_MAX 256
#define HP_URL_PATH_MAX 1024

struct hp_url {
	char scheme[16];                 /* "http", "https", "ftp", "tftp" (lower case) */
	char host[HP_URL_HOST_MAX];      /* without brackets for IPv6 literals */
	uint16_t port;                   /* explicit or the scheme's default */
	char path[HP_URL_PATH_MAX];      /* starts with "/" */
};

/* Parse a URL as a dropper writes it (scheme optional: "1.2.3.4/x.sh" is http). Returns 0,
 * TORIDE_EPARSE (no host, bad port, unknown scheme). Bounded; never allocates. */
int hp_url_parse(const char *url, struct hp_url *out);

/* ---------------------------------------------------------------- classification (classify.c) */

struct hp_yara;

/* Compile every *.yar file of dir (data/yara). Each rule should carry meta `family` (lower-case
 * family name, e.g. "mirai") and `target` ("sample", "session" or "any"). err names the file and
 * line of a compile error. Returns 0, TORIDE_EPARSE, TORIDE_EIO or TORIDE_ENOMEM. */
int hp_yara_load(struct hp_yara **out, const char *dir, char *err, size_t errlen);
void hp_yara_free(struct hp_yara *y);
/* Scan a buffer (a sample, or a session's transcript text when is_session). Appends the names of
 * matched rules to `rules` and their families to `families` (JSON arrays of strings, no
 * duplicates). Bounded in time (YARA timeout). Returns 0 or a TORIDE_E* code. */
int hp_yara_scan(struct hp_yara *y, const uint8_t *p, size_t n, bool is_session, json_t *rules, json_t *families);

/* ---------------------------------------------------------------- samples (samples.c) */

struct hp_sample_info {
	char sha256[65], sha1[41], md5[33];
	size_t size;
	char arch[24];    /* ELF e_machine ("ARM", "MIPS", "x86-64", ...) or "" */
	char path[4096];  /* file in the samples directory */
};

struct hp_samples;
/* Open (create 0700) the samples directory. */
int hp_samples_open(struct hp_samples **out, const char *dir, char *err, size_t errlen);
void hp_samples_close(struct hp_samples *s);
/* Store bytes under their SHA-256 (temp + fsync + rename, mode 0400; never executable). *is_new
 * is false when the sample was already there. Fills info. */
int hp_samples_put(struct hp_samples *s, const uint8_t *p, size_t n, struct hp_sample_info *info, bool *is_new);
/* ELF machine name of p, or "" if p is not ELF. */
const char *hp_elf_arch(const uint8_t *p, size_t n);

/* ---------------------------------------------------------------- fetching samples (fetch.c) */

/* Why 8 MiB: IoT bot binaries are 50-500 KiB; a larger answer is not a sample. */
#define HP_FETCH_MAX_BYTES_DEFAULT (8u * 1024u * 1024u)
#define HP_FETCH_TIMEOUT_MS_DEFAULT 20000

struct hp_fetch_config {
	const struct toride_scope *scope; /* only addresses inside it are contacted (required) */
	size_t max_bytes;
	unsigned timeout_ms;
};
/* Fetch url (http, ftp, tftp; https without certificate checks) into body. The address is
 * checked against scope after resolution, at connect time, for every connection (redirects are
 * not followed). Returns 0, TORIDE_ESCOPE (address outside scope: nothing was sent), TORIDE_ETOOBIG,
 * TORIDE_ETIMEOUT, TORIDE_EIO (with a reason in err) or TORIDE_EPARSE (bad URL). */
int hp_fetch_url(const struct hp_fetch_config *cfg, const char *url, struct toride_buf *body, char *err,
                 size_t errlen);

/* ---------------------------------------------------------------- export (campaign.c, stix.c, misp.c) */

/* Why 120 s: Phype's telnet-iot-honeypot links a scanner's report and the loader's login within
 * two minutes; Mirai's loader logs in seconds after the report. */
#define HP_CAMPAIGN_CRED_WINDOW_S 120

/* Link sessions (array of hp_session events) into campaigns. Returns a new array of campaign
 * objects: {id, first_seen, last_seen, sessions[], sources[], credentials[], download_hosts[],
 * urls[], samples[], families[]}, ordered by first_seen; ids are "campaign--" + a UUID derived from
 * the earliest session id. Returns 0 or TORIDE_ENOMEM / TORIDE_EINVAL. */
int hp_campaigns_build(const json_t *sessions, const json_t *samples, json_t **campaigns_out);

struct hp_export_opts {
	const char *sensor_name;  /* identity name, e.g. host name */
	double now;               /* "created"/"modified" of generated objects (unix seconds) */
};
/* STIX 2.1 bundle of sessions, samples and campaigns (docs/honeypot.md). *bundle_out is a new
 * reference. Deterministic for the same input and opts (UUIDv5 ids). */
int hp_export_stix(const json_t *sessions, const json_t *samples, const json_t *campaigns,
                   const struct hp_export_opts *o, json_t **bundle_out);
/* MISP feed directory (manifest.json, hashes.csv, one <uuid>.json per campaign event). dir is
 * created if missing; files are written atomically. */
int hp_export_misp(const json_t *sessions, const json_t *samples, const json_t *campaigns,
                   const struct hp_export_opts *o, const char *dir, char *err, size_t errlen);

#endif
