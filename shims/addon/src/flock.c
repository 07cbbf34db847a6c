/* flock(2) locks (the kind the Go plugins take on host-local's lock file), exclusive or shared.
 * Waiting happens on a thread of its own with non-blocking attempts and a short backoff (200 µs
 * doubling to 10 ms), so a timeout is exact enough and neither the event loop nor libuv's pool is held. */
#include "flock.h"
#include "thread_job.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static int try_lock(int fd, int exclusive) {
  for (;;) {
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return 1;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_fd_mode(napi_env env, napi_callback_info info, size_t want, napi_value *argv, int64_t *fd,
                        int *exclusive) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    util_throw_type(env, "missing arguments");
    return -1;
  }
  if (util_arg_int(env, argv[0], "fd", fd)) return -1;
  if (util_arg_bool(env, argv[1], "exclusive", exclusive)) return -1;
  return 0;
}

/* tryLock(fd, exclusive) -> boolean (false: someone else holds a conflicting lock) */
napi_value flock_js_try(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd;
  int exclusive;
  if (read_fd_mode(env, info, 2, argv, &fd, &exclusive)) return NULL;
  int r = try_lock((int)fd, exclusive);
  if (r < 0) {
    util_throw_errno(env, errno, "flock", "flock");
    return NULL;
  }
  return util_bool(env, r);
}

typedef struct {
  int fd; /* a dup: same open file description, so the same lock, whatever the caller does with its fd */
  int exclusive;
  int64_t timeout_ms;
  int acquired;
  int err;
} lock_job;

/* Runs on a thread of its own, not on libuv's pool: waiters must never starve the pool, or a lock holder
 * whose file I/O needs the pool could not finish and release the lock. */
static void lock_run(thread_job *job, void *data) {
  lock_job *l = data;
  int64_t deadline = l->timeout_ms < 0 ? -1 : now_ms() + l->timeout_ms;
  long pause_us = 200;
  for (;;) {
    int r = try_lock(l->fd, l->exclusive);
    if (r < 0) {
      l->err = errno;
      break;
    }
    if (r == 1) {
      l->acquired = 1;
      break;
    }
    if (deadline >= 0 && now_ms() >= deadline) break;
    if (thread_job_abandoned(job)) break;
    struct timespec ts = {0, pause_us * 1000};
    nanosleep(&ts, NULL);
    if (pause_us < 10000) pause_us *= 2;
  }
  close(l->fd);
}

static napi_value lock_settle(napi_env env, void *data, napi_value *rejection) {
  lock_job *l = data;
  if (!l->err) return util_bool(env, l->acquired);
  *rejection = util_errno_error(env, l->err, "flock", "flock");
  return NULL;
}

/* lock(fd, exclusive, timeoutMs) -> Promise<boolean>: false when the timeout passed (timeoutMs < 0: wait forever) */
napi_value flock_js_wait(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t fd, timeout;
  int exclusive;
  if (read_fd_mode(env, info, 3, argv, &fd, &exclusive)) return NULL;
  if (util_arg_int(env, argv[2], "timeoutMs", &timeout)) return NULL;
  lock_job *l = calloc(1, sizeof *l);
  if (!l) {
    util_throw_errno(env, ENOMEM, "", "flock");
    return NULL;
  }
  l->fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
  if (l->fd < 0) {
    util_throw_errno(env, errno, "flock", "flock");
    free(l);
    return NULL;
  }
  l->exclusive = exclusive;
  l->timeout_ms = timeout;
  int dup_fd = l->fd;
  napi_value promise = thread_job_start(env, "flock", lock_run, lock_settle, l);
  if (!promise) close(dup_fd); /* not started (l is freed): the dup is ours to close */
  return promise;
}

/* unlock(fd) */
napi_value flock_js_unlock(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (util_only_int_arg(env, info, "fd", &fd)) return NULL;
  while (flock((int)fd, LOCK_UN) < 0) {
    if (errno == EINTR) continue;
    util_throw_errno(env, errno, "flock", "flock unlock");
    return NULL;
  }
  return util_undefined(env);
}
