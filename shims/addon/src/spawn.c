/* Running a short-lived process to completion: cloned with CLONE_VM|CLONE_VFORK (as glibc's posix_spawn and
 * Go's os/exec start processes), then stdin written and stdout/stderr collected on a thread of its own.
 * Node's child_process forks the whole process first, which costs milliseconds per call in a daemon of tens of
 * MB; the firewall tools and delegated plugins are started on every pod's hot path.
 * The child can first enter another world (the daemon's caller's): its network and mount namespaces, its root,
 * its uid and gid — what util-linux nsenter does, without a second exec. */
#include "spawn.h"
#include "thread_job.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *data;
  size_t len, cap;
} growbuf;

/* Where the child runs: paths this process can open (NULL: ours), and ids (-1: ours). */
typedef struct {
  char *netns, *mntns, *root;
  int64_t uid, gid;
} spawn_world;

typedef struct {
  char *file;
  char **argv;
  char **envp;
  spawn_world world;
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
  free(j->world.netns);
  free(j->world.mntns);
  free(j->world.root);
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

/* What the child needs; it shares our memory until it execs (CLONE_VM|CLONE_VFORK), so it reports a failure
 * by writing err/step here before it exits. */
typedef struct {
  const spawn_job *j;
  int in_fd, out_fd, err_fd;
  int net_fd, mnt_fd, root_fd;
  int err;
  const char *step;
} child_args;

/* Runs in the child, on a stack of its own, with every signal blocked: only plain system calls until execve. */
static int child_main(void *arg) {
  child_args *c = arg;
  const spawn_job *j = c->j;
  /* Default dispositions (Node ignores SIGPIPE, and an ignored signal survives exec); our handlers are no good
   * here. The handler table is the child's own (no CLONE_SIGHAND). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  if (dup2(c->in_fd, 0) < 0 || dup2(c->out_fd, 1) < 0 || dup2(c->err_fd, 2) < 0) {
    c->step = "dup2";
    goto fail;
  }
  if (c->net_fd >= 0 && setns(c->net_fd, CLONE_NEWNET) < 0) {
    c->step = "setns (network)";
    goto fail;
  }
  if (c->mnt_fd >= 0 && setns(c->mnt_fd, CLONE_NEWNS) < 0) {
    c->step = "setns (mount)";
    goto fail;
  }
  if (c->root_fd >= 0 && (fchdir(c->root_fd) < 0 || chroot(".") < 0)) {
    c->step = "chroot";
    goto fail;
  }
  /* Raw system calls: glibc's setuid/setgid/setgroups would change every thread of the process (they signal
   * each one), and this child still runs in the daemon's memory. */
  if (j->world.gid >= 0 && (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setgid, (gid_t)j->world.gid) < 0)) {
    c->step = "setgid";
    goto fail;
  }
  if (j->world.uid >= 0 && syscall(SYS_setuid, (uid_t)j->world.uid) < 0) {
    c->step = "setuid";
    goto fail;
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(j->file, j->argv, j->envp);
  c->step = "execve";
fail:
  c->err = errno;
  _exit(127);
}

static int open_world_fd(const char *path, int flags, int *fd, spawn_job *j, const char *what) {
  *fd = -1;
  if (!path) return 0;
  *fd = open(path, flags | O_CLOEXEC);
  if (*fd >= 0) return 0;
  j->err_no = errno;
  j->syscall = what;
  return -1;
}

#define CHILD_STACK (64 * 1024)

static void spawn_run(thread_job *job, void *data) {
  (void)job;
  spawn_job *j = data;
  /* A write to a process that closed stdin raises SIGPIPE on this thread; it must only fail the write. */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  child_args c = {.j = j, .net_fd = -1, .mnt_fd = -1, .root_fd = -1};
  void *stack = MAP_FAILED;
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    j->err_no = errno;
    j->syscall = "pipe2";
    goto done;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  if (open_world_fd(j->world.netns, O_RDONLY, &c.net_fd, j, "open network namespace") ||
      open_world_fd(j->world.mntns, O_RDONLY, &c.mnt_fd, j, "open mount namespace") ||
      open_world_fd(j->world.root, O_RDONLY | O_DIRECTORY, &c.root_fd, j, "open root"))
    goto done;
  stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    j->err_no = errno;
    j->syscall = "mmap";
    goto done;
  }
  c.in_fd = in[0];
  c.out_fd = out[1];
  c.err_fd = err[1];
  /* Every signal blocked across the clone: a handler of ours must never run on the child's side. */
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&err[1]);
  if (pid < 0) {
    j->err_no = clone_errno;
    j->syscall = "clone";
    goto done;
  }
  if (c.err) { /* it never ran the program: reap it and report the step that failed */
    while (waitpid(pid, &j->status, 0) < 0 && errno == EINTR) {
    }
    j->err_no = c.err;
    j->syscall = c.step;
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
  if (stack != MAP_FAILED) munmap(stack, CHILD_STACK);
  close_fd(&c.net_fd);
  close_fd(&c.mnt_fd);
  close_fd(&c.root_fd);
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

/* A property of the world object: 1 with *v set, 0 when absent or null, -1 having thrown. */
static int world_property(napi_env env, napi_value world, const char *key, napi_value *v) {
  bool has = false;
  napi_valuetype t;
  if (napi_has_named_property(env, world, key, &has) != napi_ok ||
      (has && (napi_get_named_property(env, world, key, v) != napi_ok || napi_typeof(env, *v, &t) != napi_ok))) {
    util_throw_napi(env, key);
    return -1;
  }
  return has && t != napi_null && t != napi_undefined ? 1 : 0;
}

static int world_string(napi_env env, napi_value world, const char *key, char **out) {
  napi_value v;
  *out = NULL;
  int r = world_property(env, world, key, &v);
  return r <= 0 ? r : (*out = dup_js_string(env, v, key)) ? 0 : -1;
}

static int world_id(napi_env env, napi_value world, const char *key, int64_t *out) {
  napi_value v;
  *out = -1;
  int r = world_property(env, world, key, &v);
  return r <= 0 ? r : util_arg_int(env, v, key, out);
}

static int read_world(napi_env env, napi_value world, spawn_world *w) {
  w->uid = w->gid = -1;
  napi_valuetype t;
  if (napi_typeof(env, world, &t) != napi_ok) return -1;
  if (t == napi_null || t == napi_undefined) return 0;
  return world_string(env, world, "netns", &w->netns) || world_string(env, world, "mntns", &w->mntns) ||
                 world_string(env, world, "root", &w->root) || world_id(env, world, "uid", &w->uid) ||
                 world_id(env, world, "gid", &w->gid)
             ? -1
             : 0;
}

/* spawnCollect(file, args, env, stdin, world?) -> Promise<{status, signal, stdout, stderr}>
 * file is an absolute path (no $PATH search; in the world's root when it has one); args exclude argv[0], which
 * is file; env is ["K=V", ...]; world is {netns?, mntns?, root?, uid?, gid?}. */
napi_value spawn_js_collect(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    util_throw_type(env, "spawnCollect(file, args, env, stdin, world?)");
    return NULL;
  }
  spawn_job *j = calloc(1, sizeof *j);
  if (!j) {
    util_throw_errno(env, ENOMEM, "", "spawnCollect");
    return NULL;
  }
  j->world.uid = j->world.gid = -1;
  if (argc > 4 && read_world(env, argv[4], &j->world)) goto fail;
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
