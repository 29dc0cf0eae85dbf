/*
 * A busybox-like shell for emulated devices (telnet and SSH sessions of `toride lab`, later the
 * honeypot). It is sans-IO and never executes anything on the host: every command is interpreted
 * here against a small virtual filesystem held in memory, with caps on everything a client can
 * grow (line length, output per line, files, bytes, variables, loop iterations, nesting).
 *
 * It answers what the Mirai scanner and loader send (data/credentials/mirai_telnet_sequences.tsv):
 * enable/system/shell/sh, "/bin/busybox MIRAI" -> "MIRAI: applet not found", the /proc/mounts
 * read, the ".nippon" write test, cp /bin/echo, the echo -ne dropper upload, wget/tftp (recorded,
 * never fetched), chmod and ./dvrHelper (recorded, never run).
 */
#ifndef TORIDE_EMU_SHELL_H
#define TORIDE_EMU_SHELL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "emu/emu.h"

/* Why these sizes: a real login shell takes longer lines, but every command the Mirai loader
 * sends (an echo of 128 dropper bytes as \xHH) is < 1 KiB; 8 KiB leaves room for humans. */
#define EMU_SHELL_LINE_MAX 8192
/* Terminal output of one command line; a `cat` of anything our filesystem can hold fits. */
#define EMU_SHELL_OUT_MAX (64u * 1024u)
/* Iterations of all while/for loops of one command line together (`while true` must end). */
#define EMU_SHELL_LOOP_MAX 1000
/* Simple commands run for one line (loops times commands; bounds CPU per line). */
#define EMU_SHELL_CMDS_MAX 10000
/* Shell variables per session (a real environment has ~20). */
#define EMU_SHELL_VARS_MAX 64
/* Bytes of all files clients write, and files they create: enough for a Mirai dropper and bot
 * binary (~100 KiB) several times over, small enough for thousands of sessions. */
#define EMU_SHELL_FS_BYTES (1024u * 1024u)
#define EMU_SHELL_FS_FILES 256
/* Absolute path length after normalisation (device paths are short; PATH_MAX is not needed). */
#define EMU_SHELL_PATH_MAX 256
/* Nesting of (), {}, if/while/for, $(...) and `sh` sessions: enough for any real script,
 * bounded stack for hostile ones. */
#define EMU_SHELL_DEPTH_MAX 16

struct emu_shell;

/* Events for evidence: kind is "command" (every line run, detail = the line), "download"
 * (a URL given to wget/tftp/curl/ftpget, or "tcp://HOST:PORT" for nc; nothing is fetched or
 * connected), "write" (a file written through a redirection, cp, dd or touch; detail = absolute
 * path) or "execute" (an uploaded file run; detail = path and arguments; an ELF is never run, a
 * script is interpreted by this shell). detail is NUL-terminated and may hold any other byte.
 * Besides, the device observer's `file` callback gets the bytes of a client-written file when it
 * is executed (before its "execute" event) and, in emu_shell_free, of every non-empty
 * client-written file still present; each version of a file once. */
typedef void (*emu_shell_event_cb)(void *arg, const char *kind, const char *detail);

/* Create a shell for one session on dev (kept by pointer: dev must outlive the shell). The
 * virtual filesystem, host name, uname, BusyBox banner, CPU and memory come from dev and its
 * profile (dev->profile may be NULL: generic defaults). Returns 0 or TORIDE_ENOMEM. */
int emu_shell_new(struct emu_shell **out, const struct emu_device *dev);
void emu_shell_free(struct emu_shell *sh);

/* Run one command line (no newline; a ^C in it discards what precedes it, like a terminal).
 * Output is appended to out with "\r\n" line ends, at most EMU_SHELL_OUT_MAX bytes per line
 * (the rest is dropped, as a terminal would scroll it away). Returns EMU_CONTINUE, EMU_CLOSE
 * (exit/logout of the outermost shell), TORIDE_ETOOBIG when out cannot hold the output (what
 * fits is appended), or TORIDE_ENOMEM. */
int emu_shell_exec(struct emu_shell *sh, const char *line, struct toride_buf *out);

/* The prompt: the template set with emu_shell_set_prompt(), else the shell_prompt of the
 * profile's first telnet or SSH service that has one, else "# "; "%h" expands to the host name,
 * "%w" to the working directory, "%%" to "%". Always NUL-terminated (outlen > 0). */
void emu_shell_prompt(const struct emu_shell *sh, char *out, size_t outlen);

/* Use this prompt template (e.g. the shell_prompt of the service the session came in on). A
 * template longer than EMU_STR_MAX is truncated. */
void emu_shell_set_prompt(struct emu_shell *sh, const char *tmpl);

/* The logged-in user shown by whoami/id/$USER (default "root"; at most 63 bytes kept). */
void emu_shell_set_user(struct emu_shell *sh, const char *user);

void emu_shell_set_event_cb(struct emu_shell *sh, emu_shell_event_cb cb, void *arg);

/* Contents of a file of the virtual filesystem (absolute path or relative to the working
 * directory), e.g. to keep an uploaded dropper as evidence. *data stays valid until the next
 * emu_shell_exec(). Returns 0, TORIDE_ENOTFOUND, or TORIDE_EINVAL (a directory). */
int emu_shell_read_file(struct emu_shell *sh, const char *path, const uint8_t **data, size_t *len);

#endif
