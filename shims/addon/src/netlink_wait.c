/* Waiting for a netlink reply on the calling thread's own event loop: a uv_poll on the socket plus a
 * uv_timer for the timeout, settling a promise. No thread (and so no libuv pool slot) is held while
 * waiting, however many requests are in flight; worker threads use their own loops. */
#include "netlink.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <uv.h>

struct nl_wait {
  uv_poll_t poll;
  uv_timer_t timer;
  int has_timer;
  int open_handles; /* freed when the last handle's close callback has run */
  int fd;
  napi_env env;
  nl_env *owner;
  nl_wait *prev, *next; /* in owner->waits while pending */
  napi_deferred deferred;
  napi_ref resource;
  napi_async_context context;
  napi_async_cleanup_hook_handle teardown; /* set while the environment may still tear down under us */
};

static void unlink_wait(nl_wait *w) {
  if (!w->owner) return;
  if (w->prev) w->prev->next = w->next;
  else w->owner->waits = w->next;
  if (w->next) w->next->prev = w->prev;
  w->prev = w->next = NULL;
  w->owner = NULL;
}

static void on_handle_closed(uv_handle_t *h) {
  nl_wait *w = h->data;
  if (--w->open_handles > 0) return;
  if (w->teardown) napi_remove_async_cleanup_hook(w->teardown);
  free(w);
}

/* Stops watching: afterwards the fd may be closed, or waited on again, right away. */
static void stop_watching(nl_wait *w) {
  unlink_wait(w);
  uv_poll_stop(&w->poll);
  if (w->has_timer) uv_timer_stop(&w->timer);
}

static void close_handles(nl_wait *w) {
  uv_close((uv_handle_t *)&w->poll, on_handle_closed);
  if (w->has_timer) uv_close((uv_handle_t *)&w->timer, on_handle_closed);
}

/* Settles the promise: ready (1/0), or rejected with err (> 0). The wait is detached first, since the
 * promise's reactions may close the fd or wait on it again. from_loop: called from a libuv callback, so
 * the reactions run in a callback scope (as after any I/O callback). */
static void settle(nl_wait *w, int ready, int err, int from_loop) {
  napi_env env = w->env;
  stop_watching(w);
  napi_remove_async_cleanup_hook(w->teardown);
  w->teardown = NULL;
  napi_handle_scope hs = NULL;
  napi_callback_scope cs = NULL;
  if (from_loop) {
    napi_value resource;
    napi_open_handle_scope(env, &hs);
    if (napi_get_reference_value(env, w->resource, &resource) == napi_ok)
      napi_open_callback_scope(env, resource, w->context, &cs);
  }
  if (err) napi_reject_deferred(env, w->deferred, util_errno_error(env, err, "poll", "netlink wait"));
  else napi_resolve_deferred(env, w->deferred, util_bool(env, ready));
  if (cs) napi_close_callback_scope(env, cs);
  napi_async_destroy(env, w->context);
  napi_delete_reference(env, w->resource);
  if (hs) napi_close_handle_scope(env, hs);
  close_handles(w);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)events;
  nl_wait *w = p->data;
  settle(w, 1, status < 0 ? -status : 0, 1);
}

static void on_timeout(uv_timer_t *t) {
  settle(t->data, 0, 0, 1);
}

/* The environment (a worker thread, the process) is shutting down with this wait pending: nothing can be
 * settled any more, only the handles closed; on_handle_closed then removes this hook. */
static void on_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  nl_wait *w = arg;
  w->teardown = handle;
  stop_watching(w);
  close_handles(w);
}

static napi_value settled_promise(napi_env env, int ready) {
  napi_deferred d;
  napi_value promise;
  NAPI_CALL(env, napi_create_promise(env, &d, &promise));
  napi_resolve_deferred(env, d, util_bool(env, ready));
  return promise;
}

/* wait(fd, timeoutMs) -> Promise<boolean>: true when a datagram is ready, false after timeoutMs (< 0: no
 * timeout). Rejects with EBUSY if another wait on the same fd is pending, ECANCELED if the fd is closed. */
napi_value netlink_js_wait(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd, timeout;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || util_arg_int(env, argv[0], "fd", &fd) || util_arg_int(env, argv[1], "timeoutMs", &timeout))
    return NULL;
  nl_env *state = netlink_env(env);
  if (!state) return NULL;

  struct pollfd now = {(int)fd, POLLIN, 0};
  int r;
  while ((r = poll(&now, 1, 0)) < 0 && errno == EINTR) {}
  if (r < 0 || (now.revents & POLLNVAL)) {
    util_throw_errno(env, r < 0 ? errno : EBADF, "poll", "netlink wait");
    return NULL;
  }
  if (r > 0) return settled_promise(env, 1);
  if (timeout == 0) return settled_promise(env, 0);

  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  nl_wait *w = calloc(1, sizeof *w);
  if (!w) {
    util_throw_errno(env, ENOMEM, "", "netlink wait");
    return NULL;
  }
  int uerr = uv_poll_init(loop, &w->poll, (int)fd);
  if (uerr) {
    free(w);
    util_throw_errno(env, uerr == UV_EEXIST ? EBUSY : -uerr, "poll", "netlink wait");
    return NULL;
  }
  w->poll.data = w;
  w->open_handles = 1;
  w->fd = (int)fd;
  w->env = env;
  if (timeout > 0) {
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->has_timer = 1;
    w->open_handles++;
  }

  napi_value promise, resource, name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "wasm_cni.netlinkWait", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, resource, 1, &w->resource) != napi_ok ||
      napi_async_init(env, resource, name, &w->context) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, w, &w->teardown) != napi_ok) {
    /* Not reachable short of running out of memory; the promise (if made) is simply never settled. */
    if (w->teardown) napi_remove_async_cleanup_hook(w->teardown);
    w->teardown = NULL;
    if (w->context) napi_async_destroy(env, w->context);
    if (w->resource) napi_delete_reference(env, w->resource);
    close_handles(w);
    util_throw_napi(env, "netlink wait: set-up");
    return NULL;
  }

  w->owner = state;
  w->next = state->waits;
  if (w->next) w->next->prev = w;
  state->waits = w;

  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  if (w->has_timer) uv_timer_start(&w->timer, on_timeout, timeout > INT_MAX ? INT_MAX : (uint64_t)timeout, 0);
  return promise;
}

void netlink_wait_cancel_fd(napi_env env, nl_env *state, int fd) {
  (void)env;
  nl_wait *w = state->waits;
  while (w) {
    nl_wait *next = w->next;
    if (w->fd == fd) settle(w, 0, ECANCELED, 0);
    w = next;
  }
}
