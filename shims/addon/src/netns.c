/* Namespace scoping, identity (device + inode), and named namespaces bind-mounted under /var/run/netns
 * the way `ip netns add|delete` makes them. */
#include "netns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define NETNS_RUN_DIR "/var/run/netns"

int netns_enter(const char *path, netns_scope *scope, const char **syscall, char *what, size_t what_cap) {
  scope->saved_fd = -1;
  if (!path || !path[0]) return 0;
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    int e = errno;
    *syscall = "open";
    snprintf(what, what_cap, "open current netns");
    errno = e;
    return -1;
  }
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(saved);
    *syscall = "open";
    snprintf(what, what_cap, "failed to open netns \"%s\"", path);
    errno = e;
    return -1;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(target);
    close(saved);
    *syscall = "setns";
    if (e == EINVAL) snprintf(what, what_cap, "\"%s\" is not a network namespace", path);
    else snprintf(what, what_cap, "failed to enter netns \"%s\"", path);
    errno = e;
    return -1;
  }
  close(target);
  scope->saved_fd = saved;
  return 0;
}

void netns_leave(netns_scope *scope) {
  if (scope->saved_fd < 0) return;
  int e = errno; /* keep the caller's errno for its error report */
  if (setns(scope->saved_fd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "wasm_cni: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(scope->saved_fd);
  scope->saved_fd = -1;
  errno = e;
}

/* identity(path) -> { dev, ino } (numbers; nsfs inode numbers fit a double exactly). */
napi_value netns_js_identity(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_MAX];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || util_arg_string(env, argv[0], "path", path, sizeof path)) return NULL;
  struct stat st;
  if (stat(path, &st) < 0) {
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "failed to stat netns \"%s\"", path);
    util_throw_errno(env, errno, "stat", what);
    return NULL;
  }
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  napi_set_named_property(env, obj, "dev", util_int(env, (int64_t)st.st_dev));
  napi_set_named_property(env, obj, "ino", util_int(env, (int64_t)st.st_ino));
  return obj;
}

static int valid_netns_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > NAME_MAX) return 0;
  if (strchr(name, '/')) return 0;
  if (!strcmp(name, ".") || !strcmp(name, "..")) return 0;
  return 1;
}

/* Makes /var/run/netns a shared mount point so namespace mounts propagate to other mount namespaces. */
static int prepare_run_dir(void) {
  if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) return -1;
  for (int tries = 0; tries < 2; tries++) {
    if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
    if (errno != EINVAL || tries > 0) return -1;
    if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0) return -1;
  }
  return -1;
}

/* The call's namespace name (checked like `ip netns`) and its /var/run/netns path: 0, or -1 having thrown. */
static int read_netns_name(napi_env env, napi_callback_info info, char name[NAME_MAX + 1], char path[PATH_MAX]) {
  napi_value arg;
  if (util_first_arg(env, info, &arg) || util_arg_string(env, arg, "name", name, NAME_MAX + 1)) return -1;
  if (!valid_netns_name(name)) {
    char what[NAME_MAX + 64];
    snprintf(what, sizeof what, "invalid netns name \"%s\"", name);
    util_throw_errno(env, EINVAL, "", what);
    return -1;
  }
  snprintf(path, PATH_MAX, NETNS_RUN_DIR "/%s", name);
  return 0;
}

/* create(name) -> path. A new network namespace kept alive by a bind mount at /var/run/netns/<name>. */
napi_value netns_js_create(napi_env env, napi_callback_info info) {
  char name[NAME_MAX + 1];
  char path[PATH_MAX];
  char what[PATH_MAX + 64];
  if (read_netns_name(env, info, name, path)) return NULL;
  if (prepare_run_dir() < 0) {
    util_throw_errno(env, errno, "mount", "prepare " NETNS_RUN_DIR);
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(what, sizeof what, "cannot create namespace file \"%s\"", path);
    util_throw_errno(env, errno, "open", what);
    return NULL;
  }
  close(fd);

  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    int e = errno;
    unlink(path);
    util_throw_errno(env, e, "open", "open current netns");
    return NULL;
  }
  netns_scope scope = {saved};
  const char *syscall = NULL;
  int err = 0;
  if (unshare(CLONE_NEWNET) < 0) {
    err = errno;
    syscall = "unshare";
    close(saved);
  } else {
    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
      err = errno;
      syscall = "mount";
    }
    netns_leave(&scope);
  }
  if (err) {
    unlink(path);
    snprintf(what, sizeof what, "failed to create netns \"%s\"", name);
    util_throw_errno(env, err, syscall, what);
    return NULL;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* remove(name): unmount and delete /var/run/netns/<name> (the namespace dies with its last user). */
napi_value netns_js_remove(napi_env env, napi_callback_info info) {
  char name[NAME_MAX + 1];
  char path[PATH_MAX];
  char what[PATH_MAX + 64];
  if (read_netns_name(env, info, name, path)) return NULL;
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL) {
    snprintf(what, sizeof what, "cannot unmount netns \"%s\"", path);
    util_throw_errno(env, errno, "umount2", what);
    return NULL;
  }
  if (unlink(path) < 0) {
    snprintf(what, sizeof what, "cannot remove netns \"%s\"", path);
    util_throw_errno(env, errno, "unlink", what);
    return NULL;
  }
  return util_undefined(env);
}
