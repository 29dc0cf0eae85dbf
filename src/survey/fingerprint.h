/*
 * Data-driven device fingerprints. The patterns come from Rapid7 Recog XML files (BSD-2-Clause,
 * data/fingerprints/recog/) loaded at run time: the C code holds no patterns. A banner (telnet
 * greeting, SSH version line, HTTP Server / WWW-Authenticate header, HTML <title>, RTSP Server
 * header, FTP greeting) is matched against the fingerprints of its kind in file order and the first
 * one that names a vendor, product or device type wins, as in Recog. The result names the device in
 * the report and chooses the vendor default credentials to try. See docs/fingerprints.md.
 */
#ifndef TORIDE_SURVEY_FINGERPRINT_H
#define TORIDE_SURVEY_FINGERPRINT_H

#include <stddef.h>

/*
 * Only the first TORIDE_FP_INPUT_MAX bytes of a banner are matched. Every Recog kind describes one
 * short line or header (the longest example in the data is well under 1 KiB); telnet banners with a
 * multi-line greeting are the largest and still fit. The cap bounds the regex work a hostile peer can
 * cause per pattern, whatever the size of the banner it sends.
 */
#define TORIDE_FP_INPUT_MAX 4096

enum toride_fp_kind {
	TORIDE_FP_TELNET_BANNER, /* telnet_banners.xml: greeting / login prompt */
	TORIDE_FP_SSH_BANNER,    /* ssh_banners.xml: identification line, "SSH-2.0-" prefix optional */
	TORIDE_FP_HTTP_SERVER,   /* http_servers.xml: value of the Server header */
	TORIDE_FP_HTTP_WWWAUTH,  /* http_wwwauth.xml: value of the WWW-Authenticate header */
	TORIDE_FP_HTML_TITLE,    /* html_title.xml: text of the HTML <title> element */
	TORIDE_FP_RTSP_SERVER,   /* rtsp_servers.xml: value of the RTSP Server header */
	TORIDE_FP_FTP_BANNER,    /* ftp_banners.xml: greeting, "220 " reply code optional */
	TORIDE_FP_KIND_COUNT
};

struct toride_fp_match {
	char vendor[64];        /* hw.vendor, else os.vendor, else service.vendor */
	char product[96];       /* hw.product, else os.product, else service.product */
	char type[48];          /* hw.device (e.g. "IP Camera", "DVR", "Router"), else os.device, else "" */
	char version[64];       /* service.version, else os.version, else hw.version, if captured */
	char description[160];  /* the fingerprint's <description> */
	const char *source;     /* static name of the XML file the match came from */
	int certainty_permille; /* fingerprint certainty, else the file's preference, else 1000 */
};

struct toride_fpdb;

/*
 * Load every known Recog XML file (telnet_banners.xml, ssh_banners.xml, http_servers.xml,
 * http_wwwauth.xml, html_title.xml, rtsp_servers.xml, ftp_banners.xml) from dir; the file name
 * decides the kind. A known file that is absent leaves its kind empty. A pattern PCRE2 cannot compile
 * is skipped and counted (toride_fpdb_skipped), never failing the load. Returns 0 and sets *out, or
 * TORIDE_ENOTFOUND (dir missing or holds none of the files), TORIDE_EPARSE (a file is not readable
 * Recog XML) or TORIDE_ENOMEM, with a one-line explanation in err (if err is not NULL).
 */
int toride_fpdb_load_dir(struct toride_fpdb **out, const char *dir, char *err, size_t errlen);

/* Free a database from toride_fpdb_load_dir; NULL is allowed. */
void toride_fpdb_free(struct toride_fpdb *db);

/* Number of usable (compiled) fingerprints of a kind; 0 for an unknown kind. */
size_t toride_fpdb_count(const struct toride_fpdb *db, enum toride_fp_kind kind);

/* Number of fingerprints skipped at load because their pattern did not compile. */
size_t toride_fpdb_skipped(const struct toride_fpdb *db);

/*
 * Name the device behind a banner. text is any bytes (len given, need not be NUL-terminated); only
 * its first TORIDE_FP_INPUT_MAX bytes are used, after the per-kind normalisation Recog expects:
 * surrounding whitespace/NUL bytes trimmed, the "SSH-x.y-" prefix of an SSH line and the reply code
 * of an FTP greeting removed. Fingerprints are tried in file order; the first that matches and
 * asserts a vendor, product or device type fills *out and wins. "Assert nothing" entries (e.g. a bare
 * "login:") never count. Each regex runs under PCRE2 match/depth/heap limits, so hostile input costs
 * bounded time; a pattern that hits a limit counts as not matching. Thread-safe on a shared db.
 * Returns 0, TORIDE_ENOTFOUND (nothing matched), TORIDE_EINVAL or TORIDE_ENOMEM.
 */
int toride_fpdb_match(const struct toride_fpdb *db, enum toride_fp_kind kind, const char *text, size_t len,
                      struct toride_fp_match *out);

/* ---- Test and diagnostics hooks (not for survey code) ---- */

/* Number of fingerprints of a kind in file order, including skipped ones. */
size_t toride_fpdb_size(const struct toride_fpdb *db, enum toride_fp_kind kind);

/*
 * Write a one-line description of the i-th skipped pattern (file, index, PCRE2 error, pattern) into
 * buf. Returns 0 or TORIDE_ENOTFOUND when i >= toride_fpdb_skipped(db).
 */
int toride_fpdb_skipped_info(const struct toride_fpdb *db, size_t i, char *buf, size_t buflen);

/* Called once per <param> of a fingerprint with its resolved value (NULL when its capture group did
 * not participate); value is value_len bytes, not NUL-terminated. */
typedef void (*toride_fp_param_cb)(void *ctx, const char *name, const char *value, size_t value_len);

/*
 * Match text (raw: no normalisation, but the input cap applies) against the index-th fingerprint of
 * kind only, whether or not it asserts anything. On a match fills *out (if not NULL), reports every
 * param to cb (if not NULL) and returns 0. Returns TORIDE_ENOTFOUND on no match, TORIDE_ERANGE for a
 * bad index, TORIDE_EUNSUPPORTED for a skipped fingerprint.
 */
int toride_fpdb_match_one(const struct toride_fpdb *db, enum toride_fp_kind kind, size_t index, const char *text,
                          size_t len, struct toride_fp_match *out, toride_fp_param_cb cb, void *ctx);

#endif
