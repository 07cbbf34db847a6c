/* /proc/sys/<key> read and written from inside a network namespace: the net.* entries a thread sees
 * are those of its namespace at open time, so the file is opened while the thread is inside. The sys
 * directory can be another procfs's (a caller's /proc/sys, seen through its root): the daemon in an
 * unprivileged container has its own /proc/sys mounted read-only. */
#include "sysctl.h"
#include "netns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

static int valid_key(const char *key) {
  if (!key[0] || key[0] == '/') return 0;
  const char *p = key;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    p += n;
    if (*p == '/') p++;
  }
  return 1;
}

/* Reads (nsPath, key, [value,] sysDir?): want counts the required ones; argv has room for want + 1. */
static int read_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, char *ns, int *has_ns,
                     char *key, size_t key_cap, char *dir, int *has_dir) {
  size_t argc = want + 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    util_throw_type(env, "missing arguments");
    return -1;
  }
  if (util_arg_opt_string(env, argv[0], "nsPath", ns, PATH_MAX, has_ns)) return -1;
  if (util_arg_string(env, argv[1], "key", key, key_cap)) return -1;
  *has_dir = 0;
  if (argc > want && util_arg_opt_string(env, argv[want], "sysDir", dir, PATH_MAX, has_dir)) return -1;
  if (!valid_key(key)) {
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "invalid sysctl key \"%s\"", key);
    util_throw_errno(env, EINVAL, "", what);
    return -1;
  }
  return 0;
}

/* key opened beneath the directory dfd, never through a symlink (a sysctl tree has none). */
static int open_beneath(int dfd, const char *key, int flags) {
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int)syscall(SYS_openat2, dfd, key, &how, sizeof how);
  /* Kernels before 5.6, or a seccomp profile without openat2: the last component at least is not followed. */
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) fd = openat(dfd, key, flags | O_CLOEXEC | O_NOFOLLOW);
  return fd;
}

/* Opens <dir>/<key> (dir NULL: /proc/sys; else the sys directory of a procfs, checked) as seen from inside
 * netns `ns` (NULL: ours), path being that name for messages. The open file stays bound to that namespace
 * after we return to our own, so the read or write needs no second switch. -1 = thrown. */
static int open_in_netns(napi_env env, const char *ns, const char *dir, const char *key, const char *path,
                         int flags) {
  char what[2 * PATH_MAX + 64];
  int dfd = -1;
  if (dir) {
    struct statfs sf;
    dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int err = dfd < 0 ? errno : fstatfs(dfd, &sf) < 0 ? errno : sf.f_type != PROC_SUPER_MAGIC ? EXDEV : 0;
    if (err) {
      if (dfd >= 0) close(dfd);
      snprintf(what, sizeof what, "open %s%s", dir, err == EXDEV ? " (not a procfs)" : "");
      util_throw_errno(env, err, "open", what);
      return -1;
    }
  }
  netns_scope scope;
  const char *syscall = "";
  if (netns_enter(ns, &scope, &syscall, what, sizeof what) < 0) {
    int err = errno;
    if (dfd >= 0) close(dfd);
    util_throw_errno(env, err, syscall, what);
    return -1;
  }
  int fd = dfd >= 0 ? open_beneath(dfd, key, flags) : open(path, flags | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  netns_leave(&scope);
  if (dfd >= 0) close(dfd);
  if (fd < 0) {
    snprintf(what, sizeof what, "open %s", path);
    util_throw_errno(env, err, "open", what);
  }
  return fd;
}

/* read(nsPath | null, key, sysDir?) -> string (key relative to /proc/sys, with slashes; trailing newline
 * removed; sysDir: the procfs sys directory to use instead of /proc/sys) */
napi_value sysctl_js_read(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char ns[PATH_MAX], key[PATH_MAX - 16], dir[PATH_MAX], path[2 * PATH_MAX], what[2 * PATH_MAX + 64];
  int has_ns = 0, has_dir = 0;
  if (read_args(env, info, 2, argv, ns, &has_ns, key, sizeof key, dir, &has_dir)) return NULL;
  snprintf(path, sizeof path, "%s/%s", has_dir ? dir : "/proc/sys", key);

  int fd = open_in_netns(env, has_ns ? ns : NULL, has_dir ? dir : NULL, key, path, O_RDONLY);
  if (fd < 0) return NULL;
  int err;
  char buf[4096];
  ssize_t n;
  do n = read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  err = n < 0 ? errno : 0;
  close(fd);
  if (n < 0) {
    snprintf(what, sizeof what, "read %s", path);
    util_throw_errno(env, err, "read", what);
    return NULL;
  }
  while (n > 0 && (buf[n - 1] == '\n')) n--;
  buf[n] = 0;
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, buf, (size_t)n, &out));
  return out;
}

/* write(nsPath | null, key, value, sysDir?) */
napi_value sysctl_js_write(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char ns[PATH_MAX], key[PATH_MAX - 16], dir[PATH_MAX], path[2 * PATH_MAX], what[2 * PATH_MAX + 64], value[4096];
  int has_ns = 0, has_dir = 0;
  if (read_args(env, info, 3, argv, ns, &has_ns, key, sizeof key, dir, &has_dir)) return NULL;
  if (util_arg_string(env, argv[2], "value", value, sizeof value)) return NULL;
  snprintf(path, sizeof path, "%s/%s", has_dir ? dir : "/proc/sys", key);

  int fd = open_in_netns(env, has_ns ? ns : NULL, has_dir ? dir : NULL, key, path, O_WRONLY);
  if (fd < 0) return NULL;
  int err;
  size_t len = strlen(value);
  ssize_t n;
  do n = write(fd, value, len);
  while (n < 0 && errno == EINTR);
  err = n < 0 ? errno : 0;
  close(fd);
  if (n < 0) {
    snprintf(what, sizeof what, "write %s", path);
    util_throw_errno(env, err, "write", what);
    return NULL;
  }
  return util_undefined(env);
}
