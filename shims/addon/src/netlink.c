/* Netlink sockets created inside a network namespace (they stay bound to it), non-blocking send/recv,
 * and an async readiness wait so a slow kernel reply never blocks the event loop. */
#include "netlink.h"
#include "netns.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
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

/* Large enough for any single datagram a dump produces (the kernel caps dump skbs at 32 KiB). */
#define RECV_CAP (64 * 1024)
static unsigned char recv_buf[RECV_CAP];

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

/* send(fd, bytes) -> number of bytes sent */
napi_value netlink_js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd;
  void *data = NULL;
  size_t len = 0;
  bool is_typed = false;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || util_arg_int(env, argv[0], "fd", &fd)) return NULL;
  NAPI_CALL(env, napi_is_typedarray(env, argv[1], &is_typed));
  if (!is_typed) {
    util_throw_type(env, "bytes must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t count;
  napi_value ab;
  size_t offset;
  NAPI_CALL(env, napi_get_typedarray_info(env, argv[1], &type, &count, &data, &ab, &offset));
  if (type != napi_uint8_array) {
    util_throw_type(env, "bytes must be a Uint8Array");
    return NULL;
  }
  len = count;

  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  for (;;) {
    n = sendto((int)fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      /* The socket buffer toward the kernel is full only under extreme pressure: wait briefly. */
      struct pollfd p = {(int)fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    util_throw_errno(env, errno, "sendto", "netlink send");
    return NULL;
  }
  return util_int(env, n);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref bytes_ref;
  int fd;
  void *data;
  size_t len;
  ssize_t sent;
  int err;
} send_job;

static void send_execute(napi_env env, void *data) {
  (void)env;
  send_job *job = data;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    job->sent = sendto(job->fd, job->data, job->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (job->sent >= 0) return;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd p = {job->fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    job->err = errno;
    return;
  }
}

static void send_complete(napi_env env, napi_status status, void *data) {
  send_job *job = data;
  if (status != napi_ok) napi_reject_deferred(env, job->deferred, util_errno_error(env, ECANCELED, "sendto", "netlink send"));
  else if (job->err) napi_reject_deferred(env, job->deferred, util_errno_error(env, job->err, "sendto", "netlink send"));
  else napi_resolve_deferred(env, job->deferred, util_int(env, job->sent));
  napi_delete_reference(env, job->bytes_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

/* sendAsync(fd, bytes) -> Promise<number>. The kernel handles an rtnetlink request inside the sender's
 * sendmsg(); some (deleting a link waits for RCU grace periods) take tens of ms, so send from a worker. */
napi_value netlink_js_send_async(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd;
  bool is_typed = false;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || util_arg_int(env, argv[0], "fd", &fd)) return NULL;
  NAPI_CALL(env, napi_is_typedarray(env, argv[1], &is_typed));
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  napi_value ab;
  size_t offset;
  if (is_typed) NAPI_CALL(env, napi_get_typedarray_info(env, argv[1], &type, &count, &data, &ab, &offset));
  if (!is_typed || type != napi_uint8_array) {
    util_throw_type(env, "bytes must be a Uint8Array");
    return NULL;
  }
  send_job *job = calloc(1, sizeof *job);
  if (!job) {
    util_throw_errno(env, ENOMEM, "", "netlink send");
    return NULL;
  }
  job->fd = (int)fd;
  job->data = data;
  job->len = count;
  napi_value promise, name;
  NAPI_CALL(env, napi_create_reference(env, argv[1], 1, &job->bytes_ref)); /* keeps the bytes alive */
  NAPI_CALL(env, napi_create_promise(env, &job->deferred, &promise));
  NAPI_CALL(env, napi_create_string_utf8(env, "wasm_cni.netlinkSend", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_create_async_work(env, NULL, name, send_execute, send_complete, job, &job->work));
  NAPI_CALL(env, napi_queue_async_work(env, job->work));
  return promise;
}

/* recv(fd) -> Buffer | null (null when nothing is queued yet) */
napi_value netlink_js_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || util_arg_int(env, argv[0], "fd", &fd)) return NULL;
  ssize_t n;
  struct sockaddr_nl from;
  socklen_t fromlen;
  for (;;) {
    fromlen = sizeof from;
    n = recvfrom((int)fd, recv_buf, RECV_CAP, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return util_null(env);
    util_throw_errno(env, errno, "recvfrom", "netlink receive");
    return NULL;
  }
  if (n > RECV_CAP) {
    util_throw_errno(env, EMSGSIZE, "recvfrom", "netlink receive: message truncated");
    return NULL;
  }
  if (from.nl_pid != 0) return util_null(env); /* not from the kernel: ignore */
  napi_value out;
  void *dst;
  NAPI_CALL(env, napi_create_buffer_copy(env, (size_t)n, recv_buf, &dst, &out));
  return out;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int timeout_ms;
  int ready;
  int err;
} wait_job;

static void wait_execute(napi_env env, void *data) {
  (void)env;
  wait_job *job = data;
  struct pollfd p = {job->fd, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, job->timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) job->err = errno;
    else job->ready = r > 0;
    break;
  }
}

static void wait_complete(napi_env env, napi_status status, void *data) {
  wait_job *job = data;
  if (status != napi_ok) {
    napi_value e = util_errno_error(env, ECANCELED, "poll", "netlink wait");
    napi_reject_deferred(env, job->deferred, e);
  } else if (job->err) {
    napi_reject_deferred(env, job->deferred, util_errno_error(env, job->err, "poll", "netlink wait"));
  } else {
    napi_resolve_deferred(env, job->deferred, util_bool(env, job->ready));
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/* wait(fd, timeoutMs) -> Promise<boolean>: true when a datagram is ready, false on timeout */
napi_value netlink_js_wait(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd, timeout;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || util_arg_int(env, argv[0], "fd", &fd) || util_arg_int(env, argv[1], "timeoutMs", &timeout))
    return NULL;
  wait_job *job = calloc(1, sizeof *job);
  if (!job) {
    util_throw_errno(env, ENOMEM, "", "netlink wait");
    return NULL;
  }
  job->fd = (int)fd;
  job->timeout_ms = timeout < 0 ? -1 : (timeout > INT_MAX ? INT_MAX : (int)timeout);
  napi_value promise, name;
  NAPI_CALL(env, napi_create_promise(env, &job->deferred, &promise));
  NAPI_CALL(env, napi_create_string_utf8(env, "wasm_cni.netlinkWait", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_create_async_work(env, NULL, name, wait_execute, wait_complete, job, &job->work));
  NAPI_CALL(env, napi_queue_async_work(env, job->work));
  return promise;
}

napi_value netlink_js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || util_arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (close((int)fd) < 0 && errno != EINTR) {
    util_throw_errno(env, errno, "close", "netlink close");
    return NULL;
  }
  return util_undefined(env);
}
