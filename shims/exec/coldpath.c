/* The cold path: no daemon answered, so run the plugin in a fresh JavaScript runtime from the kit
 * (`<runtime> <kit>/js/cni-plugin.mjs <plugin>`), as slow as any runtime start but needing nothing from the host.
 * Also the `wasm-cni` command itself (the same executable under that name runs the CLI bundle). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

/* Runtimes pass their whole environment through; these slow every Node start (or change its behaviour). */
char **runtime_environment(void) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 1, sizeof *env);
  if (!env) return environ;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "NODE_OPTIONS=", 13) == 0) continue;
    if (strncmp(environ[i], "NODE_EXTRA_CA_CERTS=", 20) == 0) continue;
    env[k++] = environ[i];
  }
  env[k] = NULL;
  return env;
}

/* V8 flags the daemon runs with under Node (host/daemon/runtime-flags.ts has the same list; a test compares
 * them): a small young generation and size-first heap growth keep a long-lived daemon's RSS flat. Other
 * runtimes (the kit's bun) get none. */
static const char *const node_daemon_flags[] = {"--max-semi-space-size=1", "--optimize-for-size", NULL};
static const char *const no_flags[] = {NULL};

const char *const *daemon_runtime_flags(const struct kit *k) {
  const char *slash = strrchr(k->runtime, '/');
  const char *base = slash ? slash + 1 : k->runtime;
  return strcmp(base, "node") == 0 ? node_daemon_flags : no_flags;
}

static int replace_stdin(const uint8_t *bytes, size_t len) {
  int fd = memfd_create("cni-stdin", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (write_all(fd, bytes, len) != 0 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

/* Nothing can run the call here: CNI error 11, so the runtime retries (a daemon may be back by then). */
_Noreturn static void nothing_can_run(const char *missing) {
  cni_fail(CNI_ERR_TRY_AGAIN, "wasm-cni: no daemon answered and the cold path cannot run here; try again later",
           missing);
}

void cold_exec(const struct kit *k, const char *plugin, const uint8_t *stdin_copy, size_t stdin_len) {
  if (!k->root[0] || !k->runtime[0]) nothing_can_run(k->missing);
  char entry[PATH_MAX + 32];
  snprintf(entry, sizeof entry, "%s/js/cni-plugin.mjs", k->root);
  if (stdin_copy && replace_stdin(stdin_copy, stdin_len) != 0)
    cni_fail(CNI_ERR_IO, "wasm-cni: cannot hand stdin to the cold path", strerror(errno));
  char *argv[] = {(char *)k->runtime, entry, (char *)plugin, NULL};
  execve(k->runtime, argv, runtime_environment());
  char details[PATH_MAX + 64];
  snprintf(details, sizeof details, "cannot exec %s: %s", k->runtime, strerror(errno));
  nothing_can_run(details);
}

void cli_exec(const struct kit *k, int argc, char **argv) {
  if (!k->root[0] || !k->runtime[0]) {
    fprintf(stderr, "wasm-cni: cannot run: %s\n", k->missing);
    exit(127);
  }
  char entry[PATH_MAX + 32];
  snprintf(entry, sizeof entry, "%s/js/wasm-cni.mjs", k->root);
  const char *const *flags = argc > 1 && strcmp(argv[1], "daemon") == 0 ? daemon_runtime_flags(k) : no_flags;
  size_t nflags = 0;
  while (flags[nflags]) nflags++;
  char **args = calloc((size_t)argc + nflags + 2, sizeof *args);
  if (!args) exit(127);
  size_t n = 0;
  args[n++] = (char *)k->runtime;
  for (size_t i = 0; i < nflags; i++) args[n++] = (char *)flags[i];
  args[n++] = entry;
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  execve(k->runtime, args, runtime_environment());
  fprintf(stderr, "wasm-cni: cannot exec %s: %s\n", k->runtime, strerror(errno));
  exit(127);
}
