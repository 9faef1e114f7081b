/*
 * peerCredentials(fd): the pid, uid and gid of the process at the other end of
 * a connected Unix socket, as the kernel recorded them at connect() time
 * (getsockopt SO_PEERCRED, Linux).
 *
 * Hand-written because Node.js exposes no SO_PEERCRED and no well-kept npm
 * package does this one call (none in the registry list we checked); it is
 * one getsockopt, so a dependency would add more than it saves. storaged uses
 * it for STORAGED_SOCKET_AUTH=peercred: the caller's client id comes from its
 * Unix user, which the caller cannot forge, instead of from what it says.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

#define CHECK(call)                                               \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      napi_throw_error(env, NULL, "peerCredentials: N-API call failed: " #call); \
      return NULL;                                                \
    }                                                             \
  } while (0)

static napi_value throw_errno(napi_env env, int fd, int err) {
  char message[256];
  snprintf(message, sizeof message, "peerCredentials: getsockopt(%d, SO_PEERCRED) failed: %s", fd, strerror(err));
  napi_value code, msg, error;
  /* The errno name (EBADF, ENOTSOCK, ...) as .code, as Node's own errors carry it. */
  const char *name = err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == EINVAL ? "EINVAL" : err == ENOPROTOOPT ? "ENOPROTOOPT" : "EPEERCRED";
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) CHECK(napi_typeof(env, argv[0], &type));
  if (type != napi_number) {
    napi_throw_type_error(env, NULL, "peerCredentials: expected a file descriptor (a non-negative integer)");
    return NULL;
  }
  double value;
  CHECK(napi_get_value_double(env, argv[0], &value));
  if (!(value >= 0 && value <= 2147483647.0) || value != (double)(int)value) {
    napi_throw_range_error(env, NULL, "peerCredentials: expected a file descriptor (a non-negative integer)");
    return NULL;
  }
  int fd = (int)value;

  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, fd, errno);
  if (len != sizeof cred) return throw_errno(env, fd, EINVAL);

  napi_value result, pid, uid, gid;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, cred.pid, &pid));
  CHECK(napi_create_uint32(env, cred.uid, &uid));
  CHECK(napi_create_uint32(env, cred.gid, &gid));
  CHECK(napi_set_named_property(env, result, "pid", pid));
  CHECK(napi_set_named_property(env, result, "uid", uid));
  CHECK(napi_set_named_property(env, result, "gid", gid));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok) return NULL;
  return exports;
}
