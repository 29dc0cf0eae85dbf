/*
 * SSH protocol version exchange (RFC 4253 4.2), sans-IO: find the server's identification line
 * "SSH-protoversion-softwareversion SP comments CRLF", which other lines may precede.
 */
#ifndef TORIDE_PROTO_SSHBANNER_H
#define TORIDE_PROTO_SSHBANNER_H

#include <stddef.h>
#include <stdint.h>

/* RFC 4253 4.2: the identification line is at most 255 bytes including CR LF; we apply the same
 * bound to the lines before it. */
#define TORIDE_SSH_MAX_LINE 255
/* Bytes of other lines we skip before giving up: real servers send none or a short notice;
 * OpenSSH's client stops after 1024 lines, 8 KiB is plenty for a survey. */
#define TORIDE_SSH_MAX_PREAMBLE (8 * 1024)

/* Find the identification line in data (everything received so far; no state is kept). Returns 0
 * with the line without CR LF in out and *consumed = bytes up to and including its LF (what
 * follows is the key exchange); TORIDE_EINCOMPLETE if more bytes are needed; TORIDE_EPARSE if a line
 * exceeds TORIDE_SSH_MAX_LINE, the preamble exceeds TORIDE_SSH_MAX_PREAMBLE, a NUL byte appears, or
 * the "SSH-" line is malformed (protoversion empty or not printable ASCII without '-', or
 * softwareversion empty or holding control bytes); TORIDE_ETOOBIG if outlen is too small. On any
 * failure out is "" (when outlen > 0). A bare LF ending is accepted (RFC 4253 5.1 compatibility
 * with old servers). */
int toride_ssh_parse_banner(const uint8_t *data, size_t len, size_t *consumed, char *out, size_t outlen);

/* Split an identification line into its protoversion ("2.0", "1.99"), softwareversion
 * ("OpenSSH_7.4") and comments ("" if none); each output may be NULL. Returns 0, TORIDE_EPARSE (not
 * an "SSH-" line) or TORIDE_ETOOBIG (a field does not fit; outputs cut). */
int toride_ssh_banner_fields(const char *line, char *proto, size_t protolen, char *software, size_t softlen,
                             char *comments, size_t commentslen);

#endif
