/*
 * toride error codes. Every function that can fail returns 0 on success or one of these negative
 * codes. Numbers are never reused or renumbered: they appear in logs and in the database.
 */
#ifndef TORIDE_CORE_ERROR_H
#define TORIDE_CORE_ERROR_H

enum toride_error {
	TORIDE_OK = 0,
	TORIDE_ENOMEM = -1,      /* allocation failed */
	TORIDE_EINVAL = -2,      /* bad argument or bad user input */
	TORIDE_EIO = -3,         /* read/write/socket failure */
	TORIDE_EPARSE = -4,      /* malformed outside input; the parser refuses it */
	TORIDE_EINCOMPLETE = -5, /* streaming parser: need more bytes (not a failure) */
	TORIDE_ETOOBIG = -6,     /* a bounded quantity hit its cap */
	TORIDE_ENOTFOUND = -7,   /* lookup found nothing */
	TORIDE_ERANGE = -8,      /* value out of range */
	TORIDE_EDB = -9,         /* database error */
	TORIDE_ESCOPE = -10,     /* target outside the survey's scope */
	TORIDE_ETIMEOUT = -11,   /* peer did not answer in time */
	TORIDE_EPROTO = -12,     /* peer broke the protocol */
	TORIDE_EEXIST = -13,     /* already exists */
	TORIDE_EUNSUPPORTED = -14, /* feature or variant not supported */
	TORIDE_ECLOSED = -15,    /* peer closed the connection */
	TORIDE_ESTATE = -16,     /* call not valid in the current state */
};

/* Static English text for an error code; never NULL. */
const char *toride_strerror(int err);

#endif
