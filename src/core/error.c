#include "core/error.h"

const char *
toride_strerror(int err)
{
	switch (err) {
	case TORIDE_OK: return "success";
	case TORIDE_ENOMEM: return "out of memory";
	case TORIDE_EINVAL: return "invalid argument";
	case TORIDE_EIO: return "input/output error";
	case TORIDE_EPARSE: return "malformed input";
	case TORIDE_EINCOMPLETE: return "incomplete input";
	case TORIDE_ETOOBIG: return "input exceeds a limit";
	case TORIDE_ENOTFOUND: return "not found";
	case TORIDE_ERANGE: return "value out of range";
	case TORIDE_EDB: return "database error";
	case TORIDE_ESCOPE: return "target outside scope";
	case TORIDE_ETIMEOUT: return "timed out";
	case TORIDE_EPROTO: return "protocol violation by peer";
	case TORIDE_EEXIST: return "already exists";
	case TORIDE_EUNSUPPORTED: return "not supported";
	case TORIDE_ECLOSED: return "connection closed by peer";
	case TORIDE_ESTATE: return "invalid state";
	}
	return "unknown error";
}
