/* The cold path: no daemon answered, so run the plugin in a fresh Node process
 * (`node <home>/build/js/cni-plugin.mjs <plugin>`), as slow as any Node start but always available. */
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

#define ENTRY_IN_BUILD "/../js/cni-plugin.mjs"        /* build/cni/<plugin> -> build/js/ */
#define ENTRY_INSTALLED "/.wasm-cni/build/js/cni-plugin.mjs" /* <bin-dir>/<plugin> -> <bin-dir>/.wasm-cni/ */

static int is_file(const char *p) { return access(p, R_OK) == 0; }

/* The plugin entry: $WASM_CNI_HOME/build/js/…, else next to this executable's real path. */
static int find_entry(char *out, size_t cap) {
  const char *home = getenv("WASM_CNI_HOME");
  if (home && *home) {
    snprintf(out, cap, "%s/build/js/cni-plugin.mjs", home);
    return is_file(out) ? 0 : -1;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return -1;
  *slash = '\0';
  const char *candidates[] = {ENTRY_IN_BUILD, ENTRY_INSTALLED};
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
    char joined[PATH_MAX + 64];
    snprintf(joined, sizeof joined, "%s%s", exe, candidates[i]);
    if (is_file(joined) && realpath(joined, out)) return 0;
  }
  return -1;
}

/* $WASM_CNI_NODE, else `node` on PATH, else the usual places. */
static int find_node(char *out, size_t cap) {
  const char *explicit_node = getenv("WASM_CNI_NODE");
  if (explicit_node && *explicit_node) {
    snprintf(out, cap, "%s", explicit_node);
    return access(out, X_OK) == 0 ? 0 : -1;
  }
  const char *path = getenv("PATH");
  if (path) {
    const char *p = path;
    while (*p) {
      const char *end = strchr(p, ':');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      if (len > 0 && len < cap - 6) {
        snprintf(out, cap, "%.*s/node", (int)len, p);
        if (access(out, X_OK) == 0) return 0;
      }
      if (!end) break;
      p = end + 1;
    }
  }
  const char *fallbacks[] = {"/usr/bin/node", "/usr/local/bin/node"};
  for (size_t i = 0; i < sizeof fallbacks / sizeof *fallbacks; i++) {
    snprintf(out, cap, "%s", fallbacks[i]);
    if (access(out, X_OK) == 0) return 0;
  }
  return -1;
}

/* Runtimes pass their whole environment through; these two slow every Node start (or change its behaviour). */
static char **plugin_environment(void) {
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

void cold_exec(const char *plugin, const uint8_t *stdin_copy, size_t stdin_len) {
  char entry[PATH_MAX], node[PATH_MAX];
  if (find_entry(entry, sizeof entry) != 0)
    cni_fail(CNI_ERR_INTERNAL, "wasm-cni: no daemon answered and the cold-path entry cni-plugin.mjs was not found",
             "looked in $WASM_CNI_HOME/build/js, ../js and .wasm-cni/build/js next to this executable");
  if (find_node(node, sizeof node) != 0)
    cni_fail(CNI_ERR_INTERNAL, "wasm-cni: no daemon answered and no node executable was found",
             "set WASM_CNI_NODE, put node on PATH, or start the daemon (wasm-cni daemon)");
  if (stdin_copy && replace_stdin(stdin_copy, stdin_len) != 0)
    cni_fail(CNI_ERR_IO, "wasm-cni: cannot hand stdin to the cold path", strerror(errno));
  char *argv[] = {node, entry, (char *)plugin, NULL};
  execve(node, argv, plugin_environment());
  cni_fail(CNI_ERR_INTERNAL, "wasm-cni: cannot exec node for the cold path", strerror(errno));
}
