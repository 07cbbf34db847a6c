/* Netlink sockets created inside a network namespace (they stay bound to it), non-blocking send/recv
 * into a per-thread buffer, and sends that block in the kernel moved to a thread of their own.
 * Waiting for a reply happens on the event loop (netlink_wait.c). */
#include "netlink.h"
#include "netns.h"
#include "thread_job.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

static void env_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

napi_status netlink_env_setup(napi_env env) {
  nl_env *state = calloc(1, sizeof *state);
  if (!state) return napi_generic_failure;
  napi_status s = napi_set_instance_data(env, state, env_finalize, NULL);
  if (s != napi_ok) free(state);
  return s;
}

nl_env *netlink_env(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok || !data) {
    napi_throw_error(env, NULL, "wasm_cni addon: not initialised on this thread");
    return NULL;
  }
  return data;
}

/* open(nsPath | null, protocol) -> fd */
napi_value netlink_js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[PATH_MAX];
  char what[PATH_MAX + 64];
  int has_path = 0;
  int64_t proto = 0;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    util_throw_type(env, "open(nsPath, protocol) needs 2 arguments");
    return NULL;
  }
  if (util_arg_opt_string(env, argv[0], "nsPath", path, sizeof path, &has_path)) return NULL;
  if (util_arg_int(env, argv[1], "protocol", &proto)) return NULL;

  netns_scope scope;
  const char *syscall = "";
  if (netns_enter(has_path ? path : NULL, &scope, &syscall, what, sizeof what) < 0) {
    util_throw_errno(env, errno, syscall, what);
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, (int)proto);
  int err = fd < 0 ? errno : 0;
  netns_leave(&scope);
  if (fd < 0) {
    util_throw_errno(env, err, "socket", "open netlink socket");
    return NULL;
  }

  int one = 1;
  int bufsize = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);

  struct sockaddr_nl local;
  memset(&local, 0, sizeof local);
  local.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    err = errno;
    close(fd);
    util_throw_errno(env, err, "bind", "bind netlink socket");
    return NULL;
  }
  return util_int(env, fd);
}

/* Reads (fd, bytes: Uint8Array); returns 0, or -1 having thrown. */
static int read_fd_bytes(napi_env env, napi_callback_info info, int64_t *fd, void **data, size_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  napi_value ab;
  size_t offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    util_throw_type(env, "(fd, bytes) needs 2 arguments");
    return -1;
  }
  if (util_arg_int(env, argv[0], "fd", fd)) return -1;
  if (napi_is_typedarray(env, argv[1], &is_typed) == napi_ok && is_typed)
    napi_get_typedarray_info(env, argv[1], &type, len, data, &ab, &offset);
  if (!is_typed || type != napi_uint8_array) {
    util_throw_type(env, "bytes must be a Uint8Array");
    return -1;
  }
  return 0;
}

/* sendto the kernel; returns bytes sent or -1 with errno. A full socket buffer toward the kernel happens
 * only under extreme pressure: wait briefly for room. */
static ssize_t send_to_kernel(int fd, const void *data, size_t len) {
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    return -1;
  }
}

/* send(fd, bytes) -> number of bytes sent */
napi_value netlink_js_send(napi_env env, napi_callback_info info) {
  int64_t fd;
  void *data = NULL;
  size_t len = 0;
  if (read_fd_bytes(env, info, &fd, &data, &len)) return NULL;
  ssize_t n = send_to_kernel((int)fd, data, len);
  if (n < 0) {
    util_throw_errno(env, errno, "sendto", "netlink send");
    return NULL;
  }
  return util_int(env, n);
}

typedef struct {
  int fd; /* a dup: the socket outlives a close() of the caller's fd while the thread sends */
  ssize_t sent;
  int err;
  size_t len;
  unsigned char data[];
} send_job;

static void send_run(thread_job *job, void *data) {
  (void)job;
  send_job *s = data;
  s->sent = send_to_kernel(s->fd, s->data, s->len);
  if (s->sent < 0) s->err = errno;
  close(s->fd);
}

static napi_value send_settle(napi_env env, void *data, napi_value *rejection) {
  send_job *s = data;
  if (!s->err) return util_int(env, s->sent);
  *rejection = util_errno_error(env, s->err, "sendto", "netlink send");
  return NULL;
}

/* sendAsync(fd, bytes) -> Promise<number>. The kernel runs an rtnetlink request inside the sender's
 * sendmsg(), whatever the socket's O_NONBLOCK; some requests (deleting a link, moving one to another
 * namespace: RCU grace periods, waiting for references to drop) take tens of ms there. They are sent from
 * a thread of their own; the reply is then waited for on the event loop like any other. */
napi_value netlink_js_send_async(napi_env env, napi_callback_info info) {
  int64_t fd;
  void *data = NULL;
  size_t len = 0;
  if (read_fd_bytes(env, info, &fd, &data, &len)) return NULL;
  send_job *s = calloc(1, sizeof *s + len);
  if (!s) {
    util_throw_errno(env, ENOMEM, "", "netlink send");
    return NULL;
  }
  memcpy(s->data, data, len);
  s->len = len;
  s->fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
  if (s->fd < 0) {
    util_throw_errno(env, errno, "sendto", "netlink send");
    free(s);
    return NULL;
  }
  int dup_fd = s->fd;
  napi_value promise = thread_job_start(env, "netlink send", send_run, send_settle, s);
  if (!promise) close(dup_fd); /* not started (s is freed): the dup is ours to close */
  return promise;
}

/* recv(fd) -> Buffer | null (null when nothing is queued yet) */
napi_value netlink_js_recv(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (util_only_int_arg(env, info, "fd", &fd)) return NULL;
  nl_env *state = netlink_env(env);
  if (!state) return NULL;
  ssize_t n;
  struct sockaddr_nl from;
  socklen_t fromlen;
  for (;;) {
    fromlen = sizeof from;
    n = recvfrom((int)fd, state->recv_buf, NL_RECV_CAP, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return util_null(env);
    util_throw_errno(env, errno, "recvfrom", "netlink receive");
    return NULL;
  }
  if (n > NL_RECV_CAP) {
    util_throw_errno(env, EMSGSIZE, "recvfrom", "netlink receive: message truncated");
    return NULL;
  }
  if (from.nl_pid != 0) return util_null(env); /* not from the kernel: ignore */
  napi_value out;
  void *dst;
  NAPI_CALL(env, napi_create_buffer_copy(env, (size_t)n, state->recv_buf, &dst, &out));
  return out;
}

/* close(fd): pending waits on it are rejected first (an fd must not be closed under a live poll handle). */
napi_value netlink_js_close(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (util_only_int_arg(env, info, "fd", &fd)) return NULL;
  nl_env *state = netlink_env(env);
  if (!state) return NULL;
  netlink_wait_cancel_fd(env, state, (int)fd);
  if (close((int)fd) < 0 && errno != EINTR) {
    util_throw_errno(env, errno, "close", "netlink close");
    return NULL;
  }
  return util_undefined(env);
}
