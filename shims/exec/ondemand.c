/* Start on demand: no daemon answers, so start one and hand the call to it. One daemon only, however many
 * calls race: an exclusive flock on <socket>.lock covers "is one listening? else start it and wait until it
 * listens" (the pattern of netavark/aardvark-dns). The daemon runs detached: its own session, stdio on
 * <socket>.log (the previous log kept as .log.1), no descriptor of the caller kept open (a runtime waits for its
 * plugin's stdout to close), inside a systemd scope of its own when systemd runs the host (so it does not live
 * in the runtime's cgroup), and it exits by itself after idle-exit seconds without calls.
 * Readiness: the daemon writes one line to fd 3 (WASM_CNI_READY_FD) once it listens; end of file first means it
 * exited, and its log says why. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define LOCK_WAIT_MS 30000  /* a racing caller waits this long for the one starting the daemon */
#define READY_WAIT_MS 20000 /* a daemon start (runtime start, bundle load, addon, core) on a loaded node */

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}

static int mkdir_parents(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(dir, 0755);
    *p = '/';
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
  return 0;
}

static int lock_exclusive(int fd) {
  int64_t deadline = now_ms() + LOCK_WAIT_MS;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (now_ms() >= deadline) {
      errno = ETIMEDOUT;
      return -1;
    }
    sleep_ms(5);
  }
  return 0;
}

static void close_from(int first) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
#endif
  for (int fd = first; fd < 1024; fd++) close(fd);
}

static const char *systemd_run(void) {
  struct stat st;
  if (stat("/run/systemd/system", &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
  const char *candidates[] = {"/usr/bin/systemd-run", "/bin/systemd-run"};
  for (size_t i = 0; i < 2; i++)
    if (access(candidates[i], X_OK) == 0) return candidates[i];
  return NULL;
}

/* In the grandchild: exec the daemon (through systemd-run --scope when asked). Never returns. */
_Noreturn static void exec_daemon(const char *socket_path, const struct kit *k, const struct settings *s,
                                  const char *scope_runner, int ready_fd, int log_fd) {
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  dup2(ready_fd, 3);
  close_from(4);
  char entry[PATH_MAX + 32], idle[24], unit[64];
  snprintf(entry, sizeof entry, "%s/js/wasm-cni.mjs", k->root);
  snprintf(idle, sizeof idle, "%ld", s->idle_exit_s);
  snprintf(unit, sizeof unit, "wasm-cni-on-demand-%ld", (long)getpid());
  char *daemon_argv[24] = {(char *)k->runtime};
  size_t d = 1;
  for (const char *const *f = daemon_runtime_flags(k); *f && d < 8; f++) daemon_argv[d++] = (char *)*f;
  const char *rest[] = {entry, "daemon", "--socket", socket_path, "--idle-exit", idle, "--started-by", "on-demand", NULL};
  for (size_t i = 0; rest[i]; i++) daemon_argv[d++] = (char *)rest[i];
  daemon_argv[d] = NULL;
  char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "WASM_CNI_READY_FD=3", NULL};
  if (scope_runner) {
    char *argv[32] = {(char *)scope_runner, "--scope", "--quiet", "--collect", "--unit", unit,
                      "--description", "wasm-cni daemon started on demand", "--"};
    size_t n = 9;
    for (size_t i = 0; daemon_argv[i]; i++) argv[n++] = daemon_argv[i];
    argv[n] = NULL;
    execve(scope_runner, argv, env);
  } else {
    execve(k->runtime, daemon_argv, env);
  }
  fprintf(stderr, "wasm-cni on-demand: cannot exec %s: %s\n", scope_runner ? scope_runner : k->runtime,
          strerror(errno));
  _exit(127);
}

/* Starts the daemon and waits for its ready line: 0 ready, -1 (why filled) when it exited or never got ready. */
static int start_and_wait(const char *socket_path, const struct kit *k, const struct settings *s,
                          const char *scope_runner, char *why, size_t why_len) {
  char log_path[PATH_MAX], old_path[PATH_MAX + 8];
  snprintf(log_path, sizeof log_path, "%s.log", socket_path);
  snprintf(old_path, sizeof old_path, "%s.1", log_path);
  rename(log_path, old_path);
  int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    snprintf(why, why_len, "cannot open the daemon log %s: %s", log_path, strerror(errno));
    return -1;
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    snprintf(why, why_len, "pipe: %s", strerror(errno));
    close(log_fd);
    return -1;
  }
  pid_t child = fork();
  if (child < 0) {
    snprintf(why, why_len, "fork: %s", strerror(errno));
    close(log_fd);
    close(ready[0]);
    close(ready[1]);
    return -1;
  }
  if (child == 0) {
    setsid();
    signal(SIGHUP, SIG_IGN);
    if (fork() != 0) _exit(0); /* the daemon is nobody's child here: init (or a subreaper) adopts it */
    exec_daemon(socket_path, k, s, scope_runner, ready[1], log_fd);
  }
  close(ready[1]);
  close(log_fd);
  waitpid(child, NULL, 0);
  int64_t deadline = now_ms() + READY_WAIT_MS;
  char line[16];
  ssize_t got = -1;
  for (;;) {
    int64_t left = deadline - now_ms();
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    int r = left > 0 ? poll(&p, 1, (int)left) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got = read(ready[0], line, sizeof line);
    if (got < 0 && errno == EINTR) continue;
    break;
  }
  close(ready[0]);
  if (got > 0) return 0;
  snprintf(why, why_len, "%s; see %s", got == 0 ? "the daemon exited before listening" : "the daemon did not listen in time",
           log_path);
  return -1;
}

int ondemand_connect(const char *socket_path, const struct kit *k, const struct settings *s, char *why,
                     size_t why_len) {
  if (!s->on_demand) return snprintf(why, why_len, "on-demand start is off"), -1;
  if (geteuid() != 0) return snprintf(why, why_len, "only root starts the daemon"), -1;
  if (!k->root[0] || !k->runtime[0]) return snprintf(why, why_len, "%s", k->missing), -1;
  char lock_path[PATH_MAX];
  snprintf(lock_path, sizeof lock_path, "%s.lock", socket_path);
  if (mkdir_parents(socket_path) != 0)
    return snprintf(why, why_len, "cannot create the socket directory: %s", strerror(errno)), -1;
  int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return snprintf(why, why_len, "cannot open %s: %s", lock_path, strerror(errno)), -1;
  if (lock_exclusive(lock) != 0) {
    snprintf(why, why_len, "waiting for %s: %s", lock_path, strerror(errno));
    close(lock);
    return -1;
  }
  int fd = connect_daemon(socket_path, 1000); /* a racing caller may have started it meanwhile */
  if (fd < 0) {
    const char *scope_runner = systemd_run();
    int ok = start_and_wait(socket_path, k, s, scope_runner, why, why_len);
    if (ok != 0 && scope_runner) ok = start_and_wait(socket_path, k, s, NULL, why, why_len); /* no D-Bus, ... */
    if (ok == 0) {
      fd = connect_daemon(socket_path, 1000);
      if (fd < 0) snprintf(why, why_len, "the daemon started but %s does not answer: %s", socket_path, strerror(errno));
    }
  }
  close(lock); /* releases the flock: the callers waiting on it now find the daemon listening */
  return fd;
}
