/*
 * HTTP/1.x and RTSP/1.0 messages (RFC 9112, RFC 2326): a sans-IO streaming parser for responses
 * and requests, and a request builder. RTSP shares the message syntax, so one parser serves both.
 * No sockets here: bytes in, structured results out. Every quantity a peer can grow is capped.
 */
#ifndef TORIDE_PROTO_HTTP_H
#define TORIDE_PROTO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Device admin UIs send < 2 KiB of headers; 16 KiB leaves room for cookies and caps hostile growth. */
#define TORIDE_HTTP_MAX_HEAD (16 * 1024)
/* Header lines (including folded continuation lines) per head; real devices send < 20. */
#define TORIDE_HTTP_MAX_HEADERS 64
/* Body bytes we keep: enough for a login page's <title> and forms; the rest is consumed unkept. */
#define TORIDE_HTTP_MAX_BODY (64 * 1024)
/* A chunk-size line is hex digits plus rare extensions; 1 KiB is generous, more is an attack. */
#define TORIDE_HTTP_MAX_CHUNK_LINE 1024
/* Longest title we return (bytes, without NUL): titles name the device, they are short. */
#define TORIDE_HTTP_MAX_TITLE 256

struct toride_http_msg;

/* Allocate a parser for one message: a response (status line) when is_response, else a request
 * (request line). Returns 0 and *out, or TORIDE_ENOMEM. Free with toride_http_msg_free(). */
int toride_http_msg_new(struct toride_http_msg **out, int is_response);
/* Free the parser and everything it holds. NULL is accepted. */
void toride_http_msg_free(struct toride_http_msg *m);
/* Forget the current message (and any sticky error) so the next bytes start a new one; keeps
 * the direction and the memory. */
void toride_http_msg_reset(struct toride_http_msg *m);
/* Declare that the response has no body whatever its headers say (the answer to a HEAD request).
 * Call before the head completes. */
void toride_http_msg_expect_no_body(struct toride_http_msg *m);

/* Feed len bytes. Returns 0 when the message is complete, TORIDE_EINCOMPLETE when more bytes are
 * needed (all len were used), TORIDE_EPARSE on bytes that are not an HTTP/RTSP message (checked as
 * early as the first bytes allow), TORIDE_ETOOBIG if the head exceeds TORIDE_HTTP_MAX_HEAD or
 * TORIDE_HTTP_MAX_HEADERS lines, or a chunk line exceeds its cap. *consumed is the number of bytes
 * used; on 0 the rest belongs to the next message. Body framing: no body for 1xx/204/304 and
 * bodiless requests; chunked (HTTP only), then Content-Length; an RTSP message without
 * Content-Length has none (RFC 2326 12.14); otherwise a response body runs until EOF (call
 * toride_http_msg_eof()). Body bytes beyond TORIDE_HTTP_MAX_BODY are consumed but not kept
 * (toride_http_msg_body_truncated()). Accepts HTTP/1.0, HTTP/1.1 and RTSP/1.0 start lines, bare LF
 * line ends, obsolete folded headers and empty lines before the start line. Errors are sticky until
 * reset; after completion further calls consume nothing and return 0. */
int toride_http_msg_parse(struct toride_http_msg *m, const uint8_t *data, size_t len, size_t *consumed);
/* The peer closed the connection. Returns 0 if that completes the message (an until-EOF body, or
 * the message was already complete), TORIDE_EINCOMPLETE if nothing at all had arrived, and
 * TORIDE_EPARSE for a message cut short. The head accessors keep working when the head was
 * complete. */
int toride_http_msg_eof(struct toride_http_msg *m);

/* True once the start line and all headers have been parsed (accessors below become valid). */
bool toride_http_msg_head_done(const struct toride_http_msg *m);
/* Status code of a response (e.g. 401), or -1 before the head is done or for a request. */
int toride_http_msg_status(const struct toride_http_msg *m);
/* "HTTP/1.1", "HTTP/1.0" or "RTSP/1.0" as sent; "" before the head is done. Never NULL. */
const char *toride_http_msg_protocol(const struct toride_http_msg *m);
/* True when the protocol is RTSP. */
bool toride_http_msg_is_rtsp(const struct toride_http_msg *m);
/* Reason phrase of a response (may be ""); "" otherwise. Never NULL. */
const char *toride_http_msg_reason(const struct toride_http_msg *m);
/* Method and target of a request; "" otherwise. Never NULL. */
const char *toride_http_msg_method(const struct toride_http_msg *m);
const char *toride_http_msg_target(const struct toride_http_msg *m);
/* Value of the nth (0-based) header called name (case-insensitive), leading and trailing
 * whitespace removed, folded lines joined with one space; NULL if absent. */
const char *toride_http_msg_header(const struct toride_http_msg *m, const char *name, size_t nth);
/* Number of headers, and the ith one in arrival order (0 / TORIDE_ENOTFOUND). */
size_t toride_http_msg_header_count(const struct toride_http_msg *m);
int toride_http_msg_header_at(const struct toride_http_msg *m, size_t i, const char **name, const char **value);
/* Kept body bytes (never NULL; NUL-terminated after *len for convenience; may contain NULs). */
const uint8_t *toride_http_msg_body(const struct toride_http_msg *m, size_t *len);
/* True if body bytes were dropped because of TORIDE_HTTP_MAX_BODY. */
bool toride_http_msg_body_truncated(const struct toride_http_msg *m);
/* Total body bytes seen so far, kept or not. */
uint64_t toride_http_msg_body_total(const struct toride_http_msg *m);

/* Text of the first <title> element in the body (tag case-insensitive, whitespace runs collapsed
 * to one space and trimmed, &amp; &lt; &gt; &quot; &apos; &#39; &nbsp; and numeric entities
 * decoded, control bytes dropped), cut at TORIDE_HTTP_MAX_TITLE bytes or outlen - 1 without
 * splitting a UTF-8 sequence. Returns 0, TORIDE_ENOTFOUND (no title tag), TORIDE_EINVAL (outlen 0). */
int toride_http_msg_title(const struct toride_http_msg *m, char *out, size_t outlen);
/* True if the body holds a <form> followed by an <input> whose type is password: a login page,
 * meaning access control is present. */
bool toride_http_msg_has_password_form(const struct toride_http_msg *m);

/* Append a request head to out: "<method> <target> <proto>\r\n", then "Host: <host>\r\n" for HTTP
 * (when host is not NULL) or "CSeq: <cseq>\r\n" for RTSP (when cseq > 0), then
 * "User-Agent: <user_agent>\r\n" (when not NULL), then extra_headers (complete CRLF-terminated
 * lines, may be NULL), then "\r\n". Returns 0, TORIDE_EINVAL (a field holds CR/LF or spaces where
 * the syntax forbids them, or extra_headers does not end in CRLF), or a toride_buf error. */
int toride_http_build_request(struct toride_buf *out, const char *method, const char *target, const char *proto,
                              const char *host, unsigned cseq, const char *user_agent, const char *extra_headers);

#endif
