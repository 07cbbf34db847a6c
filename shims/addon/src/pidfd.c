/* Process file descriptors: the daemon pins the process on the other end of a call, so a pid that is
 * recycled during the call can never be mistaken for the caller (pidfd_open(2), pidfd_send_signal(2)). */
#include "pidfd.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* peerPidfd(socketFd) -> fd of the process that connected (Linux 6.5+), or null where the kernel has no
 * SO_PEERPIDFD (the caller then pins the SO_PEERCRED pid with pidfdOpen). */
napi_value pidfd_js_peer(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (util_only_int_arg(env, info, "fd", &fd)) return NULL;
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  if (getsockopt((int)fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
    if (errno == ENOPROTOOPT) return util_null(env);
    util_throw_errno(env, errno, "getsockopt", "SO_PEERPIDFD");
    return NULL;
  }
  return util_int(env, pidfd);
}

/* pidfdOpen(pid) -> fd (close-on-exec, like every pidfd). */
napi_value pidfd_js_open(napi_env env, napi_callback_info info) {
  int64_t pid;
  if (util_only_int_arg(env, info, "pid", &pid)) return NULL;
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) {
    util_throw_errno(env, errno, "pidfd_open", "pin the caller process");
    return NULL;
  }
  return util_int(env, fd);
}

/* pidfdAlive(fd) -> whether the process the pidfd names is still running (signal 0 sends nothing). */
napi_value pidfd_js_alive(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (util_only_int_arg(env, info, "fd", &fd)) return NULL;
  if (syscall(SYS_pidfd_send_signal, (int)fd, 0, NULL, 0) == 0) return util_bool(env, 1);
  if (errno == ESRCH) return util_bool(env, 0);
  util_throw_errno(env, errno, "pidfd_send_signal", "check the caller process");
  return NULL;
}
