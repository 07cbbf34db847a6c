/* Running a short-lived process to completion: posix_spawn (glibc clones with CLONE_VM|CLONE_VFORK, the way
 * Go's os/exec starts plugins), then stdin written and stdout/stderr collected on a thread of its own.
 * Node's child_process forks the whole process first, which costs milliseconds per call in a daemon of
 * tens of MB; the firewall tools and delegated plugins are started on every pod's hot path. */
#include "spawn.h"
#include "thread_job.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *data;
  size_t len, cap;
} growbuf;

typedef struct {
  char *file;
  char **argv;
  char **envp;
  char *input;
  size_t input_len;
  growbuf out, err;
  int status;     /* waitpid status */
  int err_no;     /* set when the process could not be started or collected */
  const char *syscall;
} spawn_job;

static void free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

static void spawn_job_free_fields(spawn_job *j) {
  free(j->file);
  free_strv(j->argv);
  free_strv(j->envp);
  free(j->input);
  free(j->out.data);
  free(j->err.data);
}

static char *dup_js_string(napi_env env, napi_value v, const char *name) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    util_throw_type(env, name);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    util_throw_errno(env, ENOMEM, "", name);
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* an embedded NUL would silently cut the string */
    free(s);
    util_throw_type(env, name);
    return NULL;
  }
  return s;
}

/* A JS array of strings as a NULL-terminated vector (first, when given, goes in front). */
static char **strv_from_array(napi_env env, napi_value arr, const char *first, const char *name) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array || napi_get_array_length(env, arr, &n) != napi_ok) {
    util_throw_type(env, name);
    return NULL;
  }
  size_t lead = first ? 1 : 0;
  char **v = calloc(n + lead + 1, sizeof *v);
  if (!v) {
    util_throw_errno(env, ENOMEM, "", name);
    return NULL;
  }
  if (first && !(v[0] = strdup(first))) {
    free(v);
    util_throw_errno(env, ENOMEM, "", name);
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, arr, i, &e) != napi_ok) {
      util_throw_type(env, name);
      free_strv(v);
      return NULL;
    }
    if (!(v[lead + i] = dup_js_string(env, e, name))) {
      free_strv(v);
      return NULL;
    }
  }
  return v;
}

static int append(growbuf *b, const char *src, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, src, n);
  b->len += n;
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Feeds stdin and drains stdout/stderr until both reach end of file. */
static int pump(spawn_job *j, int in_fd, int out_fd, int err_fd) {
  size_t written = 0;
  if (j->input_len == 0) close_fd(&in_fd);
  char chunk[16384];
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    struct pollfd p[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (in_fd >= 0 && p[0].revents) {
      ssize_t w = write(in_fd, j->input + written, j->input_len - written);
      if (w > 0) written += (size_t)w;
      /* EPIPE: the process exited or closed stdin without reading all of it, which is its business */
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == j->input_len) close_fd(&in_fd);
    }
    int *fds[2] = {&out_fd, &err_fd};
    growbuf *bufs[2] = {&j->out, &j->err};
    for (int k = 0; k < 2; k++) {
      if (*fds[k] < 0 || !p[k + 1].revents) continue;
      ssize_t r = read(*fds[k], chunk, sizeof chunk);
      if (r > 0) {
        if (append(bufs[k], chunk, (size_t)r)) return ENOMEM;
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(fds[k]);
      }
    }
  }
  return 0;
}

static void spawn_run(thread_job *job, void *data) {
  (void)job;
  spawn_job *j = data;
  /* A write to a process that closed stdin raises SIGPIPE on this thread; it must only fail the write. */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    j->err_no = errno;
    j->syscall = "pipe2";
    goto done;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_init(&attr);
  /* The child starts as if from a clean shell: default dispositions (Node ignores SIGPIPE, and an ignored
   * signal survives exec) and no blocked signals. */
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int rc = posix_spawn(&pid, j->file, &fa, &attr, j->argv, j->envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&err[1]);
  if (rc) {
    j->err_no = rc;
    j->syscall = "posix_spawn";
    goto done;
  }
  int perr = pump(j, in[1], out[0], err[0]);
  in[1] = out[0] = err[0] = -1; /* pump closed them */
  while (waitpid(pid, &j->status, 0) < 0) {
    if (errno != EINTR) {
      j->err_no = errno;
      j->syscall = "waitpid";
      break;
    }
  }
  if (perr && !j->err_no) {
    j->err_no = perr;
    j->syscall = "poll";
  }
done:
  close_fd(&in[0]);
  close_fd(&in[1]);
  close_fd(&out[0]);
  close_fd(&out[1]);
  close_fd(&err[0]);
  close_fd(&err[1]);
}

static napi_value buffer_of(napi_env env, const growbuf *b) {
  napi_value v;
  void *unused;
  napi_create_buffer_copy(env, b->len, b->len ? b->data : "", &unused, &v);
  return v;
}

static napi_value spawn_settle(napi_env env, void *data, napi_value *rejection) {
  spawn_job *j = data;
  napi_value result = NULL;
  if (j->err_no) {
    *rejection = util_errno_error(env, j->err_no, j->syscall, j->file);
  } else {
    napi_create_object(env, &result);
    int exited = WIFEXITED(j->status);
    napi_set_named_property(env, result, "status", exited ? util_int(env, WEXITSTATUS(j->status)) : util_null(env));
    napi_set_named_property(env, result, "signal",
                            WIFSIGNALED(j->status) ? util_int(env, WTERMSIG(j->status)) : util_null(env));
    napi_set_named_property(env, result, "stdout", buffer_of(env, &j->out));
    napi_set_named_property(env, result, "stderr", buffer_of(env, &j->err));
  }
  spawn_job_free_fields(j);
  return result;
}

/* spawnCollect(file, args, env, stdin) -> Promise<{status, signal, stdout, stderr}>
 * file is an absolute path (no $PATH search); args exclude argv[0], which is file; env is ["K=V", ...]. */
napi_value spawn_js_collect(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    util_throw_type(env, "spawnCollect(file, args, env, stdin)");
    return NULL;
  }
  spawn_job *j = calloc(1, sizeof *j);
  if (!j) {
    util_throw_errno(env, ENOMEM, "", "spawnCollect");
    return NULL;
  }
  void *in_data = NULL;
  size_t in_len = 0;
  bool is_typed = false;
  if (!(j->file = dup_js_string(env, argv[0], "file must be a string")) ||
      !(j->argv = strv_from_array(env, argv[1], j->file, "args must be strings")) ||
      !(j->envp = strv_from_array(env, argv[2], NULL, "env must be strings")))
    goto fail;
  if (napi_is_typedarray(env, argv[3], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[3], NULL, &in_len, &in_data, NULL, NULL) != napi_ok) {
    util_throw_type(env, "stdin must be a Uint8Array");
    goto fail;
  }
  if (in_len) {
    if (!(j->input = malloc(in_len))) {
      util_throw_errno(env, ENOMEM, "", "spawnCollect");
      goto fail;
    }
    memcpy(j->input, in_data, in_len);
    j->input_len = in_len;
  }
  return thread_job_start(env, "spawnCollect", spawn_run, spawn_settle, j);
fail:
  spawn_job_free_fields(j);
  free(j);
  return NULL;
}
