/*
 * Fuzz target: hostile telnet peers. Input byte 0 picks client or server role and byte 1 the
 * size of the pieces the rest is fed in (so IAC sequences straddle calls); the decoded text is
 * then classified, and the raw input too. Must never crash, hang or grow without bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "proto/telnet.h"

/* Caps like the survey engine's: enough for any login screen. */
#define FUZZ_APP_MAX (64u * 1024u)
#define FUZZ_REPLY_MAX (64u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	bool server = data[0] & 1;
	size_t piece = 1 + data[1] % 64;
	const uint8_t *in = data + 2;
	size_t n = size - 2;

	struct toride_telnet *t = NULL;
	int r = server ? toride_telnet_server_new(&t) : toride_telnet_client_new(&t);
	if (r != 0)
		return 0;
	struct toride_buf app, reply;
	toride_buf_init(&app, FUZZ_APP_MAX);
	toride_buf_init(&reply, FUZZ_REPLY_MAX);
	if (server)
		(void)toride_telnet_server_start(t, &reply);
	for (size_t off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		if (toride_telnet_recv(t, in + off, k, &app, &reply) != 0)
			break;
	}
	(void)toride_telnet_negotiated(t);
	char sum[64];
	(void)toride_telnet_options_summary(t, sum, sizeof sum);
	(void)toride_telnet_peer_ttype(t);

	const char *text = (const char *)app.data;
	(void)toride_telnet_classify(text, app.len);
	(void)toride_telnet_classify_prompt(text, app.len);
	(void)toride_telnet_text_has_failure(text, app.len);
	(void)toride_telnet_classify((const char *)in, n);

	/* The start of the input as a line to send (stops at the first NUL). */
	char line[65];
	size_t ll = n < sizeof line - 1 ? n : sizeof line - 1;
	memcpy(line, in, ll);
	line[ll] = '\0';
	toride_buf_reset(&reply);
	(void)toride_telnet_send_line(t, line, &reply);

	toride_buf_free(&app);
	toride_buf_free(&reply);
	toride_telnet_free(t);
	return 0;
}
