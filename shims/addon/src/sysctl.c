/* /proc/sys/<key> read and written from inside a network namespace: the net.* entries a thread sees
 * are those of its namespace at open time, so the file is opened while the thread is inside. */
#include "sysctl.h"
#include "netns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
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

static int read_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, char *ns, int *has_ns,
                     char *key, size_t key_cap) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    util_throw_type(env, "missing arguments");
    return -1;
  }
  if (util_arg_opt_string(env, argv[0], "nsPath", ns, PATH_MAX, has_ns)) return -1;
  if (util_arg_string(env, argv[1], "key", key, key_cap)) return -1;
  if (!valid_key(key)) {
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "invalid sysctl key \"%s\"", key);
    util_throw_errno(env, EINVAL, "", what);
    return -1;
  }
  return 0;
}

/* Opens a /proc/sys file as seen from inside netns `ns` (NULL: ours). The open file stays bound to that
 * namespace after we return to our own, so the read or write needs no second switch. -1 = thrown. */
static int open_in_netns(napi_env env, const char *ns, const char *path, int flags) {
  char what[PATH_MAX + 64];
  netns_scope scope;
  const char *syscall = "";
  if (netns_enter(ns, &scope, &syscall, what, sizeof what) < 0) {
    util_throw_errno(env, errno, syscall, what);
    return -1;
  }
  int fd = open(path, flags | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  netns_leave(&scope);
  if (fd < 0) {
    snprintf(what, sizeof what, "open %s", path);
    util_throw_errno(env, err, "open", what);
  }
  return fd;
}

/* read(nsPath | null, key) -> string (key relative to /proc/sys, with slashes; trailing newline removed) */
napi_value sysctl_js_read(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char ns[PATH_MAX], key[PATH_MAX - 16], path[PATH_MAX], what[PATH_MAX + 64];
  int has_ns = 0;
  if (read_args(env, info, 2, argv, ns, &has_ns, key, sizeof key)) return NULL;
  snprintf(path, sizeof path, "/proc/sys/%s", key);

  int fd = open_in_netns(env, has_ns ? ns : NULL, path, O_RDONLY);
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

/* write(nsPath | null, key, value) */
napi_value sysctl_js_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char ns[PATH_MAX], key[PATH_MAX - 16], path[PATH_MAX], what[PATH_MAX + 64], value[4096];
  int has_ns = 0;
  if (read_args(env, info, 3, argv, ns, &has_ns, key, sizeof key)) return NULL;
  if (util_arg_string(env, argv[2], "value", value, sizeof value)) return NULL;
  snprintf(path, sizeof path, "/proc/sys/%s", key);

  int fd = open_in_netns(env, has_ns ? ns : NULL, path, O_WRONLY);
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
