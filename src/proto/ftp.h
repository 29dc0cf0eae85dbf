/*
 * FTP control-connection replies (RFC 959 4.2), sans-IO: the survey reads the 220 greeting and the
 * answers to USER/PASS (331, 230, 530).
 */
#ifndef TORIDE_PROTO_FTP_H
#define TORIDE_PROTO_FTP_H

#include <stddef.h>
#include <stdint.h>

/* Longest reply we wait for, all lines together: greetings with legal banners reach 2-3 KiB;
 * 8 KiB bounds a server that never sends the final line. */
#define TORIDE_FTP_MAX_REPLY (8 * 1024)

/* Parse one complete reply at the start of data, single-line ("220 text") or multi-line
 * ("220-first" ... "220 last", RFC 959 4.2). data holds everything received so far (the parser
 * keeps no state; call again with more bytes on TORIDE_EINCOMPLETE). On 0: *code is 100..599,
 * *consumed the reply's length, and text (if not NULL) the lines' text joined with '\n': the first
 * line after "ddd-", middle lines with a repeated "ddd-" prefix removed, the last after "ddd ";
 * CR/LF removed, cut to textlen - 1 bytes. Bare LF line ends are accepted. Returns
 * TORIDE_EINCOMPLETE until the final line arrives; TORIDE_EPARSE if the reply does not start with
 * three digits and ' ' or '-' (checked as soon as those bytes arrive), the code is out of range,
 * or a NUL byte appears; TORIDE_ETOOBIG if TORIDE_FTP_MAX_REPLY bytes pass without the end. */
int toride_ftp_parse_reply(const uint8_t *data, size_t len, size_t *consumed, int *code, char *text,
                           size_t textlen);

#endif
