/* SO_PEERCRED of a connected unix socket: who is on the other end (the daemon authorises callers). */
#include "peercred.h"
#include "util.h"

#include <errno.h>
#include <sys/socket.h>

/* peerCred(fd) -> { pid, uid, gid } */
napi_value peercred_js_get(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (util_only_int_arg(env, info, "fd", &fd)) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    util_throw_errno(env, errno, "getsockopt", "SO_PEERCRED");
    return NULL;
  }
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  napi_set_named_property(env, obj, "pid", util_int(env, cred.pid));
  napi_set_named_property(env, obj, "uid", util_int(env, cred.uid));
  napi_set_named_property(env, obj, "gid", util_int(env, cred.gid));
  return obj;
}
