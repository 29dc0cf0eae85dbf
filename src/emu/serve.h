/*
 * The connection engine of the emulated servers: listening sockets and sessions on one libuv loop,
 * driving the sans-IO servers of emu.h (telnet, HTTP, RTSP, MQTT, FTP). It holds a device's output
 * back for its fail delay, ends idle and over-long sessions and caps how many run at once. Hooks
 * let the owner choose the device of each session (the lab: the listener's; the honeypot: per
 * connection), see every byte, and end a session (its own caps). Used by the lab fleet
 * (fleet.c) and the honeypot's sensor (src/honeypot/engine.c).
 */
#ifndef TORIDE_EMU_SERVE_H
#define TORIDE_EMU_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "emu/emu.h"

/* Why a session ended. */
enum emu_end {
	EMU_END_CLOSED,   /* the client closed or the connection broke */
	EMU_END_SERVER,   /* the emulated server hung up (logout, too many tries, protocol error) */
	EMU_END_IDLE,     /* nothing from the client for idle_timeout_ms */
	EMU_END_TIME,     /* the session lived session_ms */
	EMU_END_LIMIT,    /* the io hook ended it (the owner's byte caps) */
	EMU_END_SHUTDOWN, /* emu_serve_shutdown */
};
const char *emu_end_name(enum emu_end e);

struct emu_serve_hooks {
	/* A client connected to the listener with context lctx. Set *dev and *svc to the device and
	 * service that serve it (must stay valid until close) and *sess to the owner's session
	 * context; return false to hang up at once (counted as refused, close is not called). */
	bool (*open)(void *arg, void *lctx, const struct sockaddr_storage *peer, const struct emu_device **dev,
	             const struct emu_service **svc, void **sess);
	/* Bytes from ('i') or to ('o') the client, before they are handled or sent. Return false to
	 * end the session (EMU_END_LIMIT). NULL = no tap. */
	bool (*io)(void *arg, void *sess, char dir, const uint8_t *p, size_t n);
	/* The session ended; the server's state is already freed. */
	void (*close)(void *arg, void *sess, enum emu_end why);
	void *arg;
};

struct emu_serve_config {
	unsigned max_sessions;    /* sessions at once; more are hung up at once */
	unsigned idle_timeout_ms; /* > 0 */
	unsigned session_ms;      /* 0 = a session may live as long as it is not idle */
	bool no_delays;           /* ignore the devices' fail delays (tests) */
};

struct emu_serve_stats {
	uint64_t listeners, sessions, refused, live, bytes_in, bytes_out;
};

struct emu_serve;

/* A non-blocking, close-on-exec TCP socket bound to sa (SO_REUSEADDR) and listening. Returns 0,
 * or TORIDE_EIO with errno set (EACCES for a port < 1024 without privilege, EADDRINUSE ...). */
int emu_listen_socket(const struct sockaddr *sa, socklen_t sl, int backlog, int *fd_out);

/* Raise the soft descriptor limit to the hard one: every session is a descriptor. */
void emu_raise_fd_limit(void);

/* A server on loop. hooks.open and hooks.close are required. */
int emu_serve_new(struct emu_serve **out, uv_loop_t *loop, const struct emu_serve_config *cfg,
                  const struct emu_serve_hooks *hooks);
/* Serve proto (not SSH) on a listening socket; the server owns fd from now on, also on error.
 * Returns 0, TORIDE_EINVAL, TORIDE_ENOMEM or TORIDE_EIO. */
int emu_serve_listen_fd(struct emu_serve *s, int fd, enum emu_proto proto, void *lctx);
void emu_serve_stats(const struct emu_serve *s, struct emu_serve_stats *st);
/* End every session (close hooks run with EMU_END_SHUTDOWN) and close the listeners. Run the loop
 * once more afterwards so libuv finishes closing the handles, then emu_serve_free. */
void emu_serve_shutdown(struct emu_serve *s);
void emu_serve_free(struct emu_serve *s);

#endif
