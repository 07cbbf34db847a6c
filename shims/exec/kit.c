/* Finding the kit and reading the settings file beside the executables (see kit.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"

static int readable(const char *p) { return access(p, R_OK) == 0; }

static int executable(const char *p) { return access(p, X_OK) == 0; }

static int exe_dir_of_self(char *out, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0) return -1;
  out[n] = '\0';
  char *slash = strrchr(out, '/');
  if (!slash) return -1;
  *slash = '\0';
  return 0;
}

/* $WASM_CNI_NODE, else `node` on PATH, else the usual places: the build tree's runtime. */
static int developer_node(char *out, size_t cap) {
  const char *explicit_node = getenv("WASM_CNI_NODE");
  if (explicit_node && *explicit_node) {
    snprintf(out, cap, "%s", explicit_node);
    return executable(out) ? 0 : -1;
  }
  const char *path = getenv("PATH");
  for (const char *p = path; p && *p;) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0 && len < cap - 6) {
      snprintf(out, cap, "%.*s/node", (int)len, p);
      if (executable(out)) return 0;
    }
    if (!end) break;
    p = end + 1;
  }
  const char *fallbacks[] = {"/usr/bin/node", "/usr/local/bin/node"};
  for (size_t i = 0; i < sizeof fallbacks / sizeof *fallbacks; i++) {
    snprintf(out, cap, "%s", fallbacks[i]);
    if (executable(out)) return 0;
  }
  return -1;
}

void kit_find(struct kit *k) {
  memset(k, 0, sizeof *k);
  char probe[PATH_MAX + 64];
  const char *home = getenv("WASM_CNI_HOME");
  if (exe_dir_of_self(k->exe_dir, sizeof k->exe_dir) != 0) k->exe_dir[0] = '\0';
  if (home && *home) {
    snprintf(probe, sizeof probe, "%s/build", home);
  } else {
    snprintf(probe, sizeof probe, "%s/" KIT_DIR "/build", k->exe_dir);
    char entry[PATH_MAX + 96];
    snprintf(entry, sizeof entry, "%s/js/cni-plugin.mjs", probe);
    if (readable(entry)) {
      k->installed = 1;
    } else {
      snprintf(probe, sizeof probe, "%s/..", k->exe_dir); /* build/cni/ or build/native/ -> build/ */
    }
  }
  char entry[PATH_MAX + 96];
  snprintf(entry, sizeof entry, "%s/js/cni-plugin.mjs", probe);
  if (!readable(entry) || !realpath(probe, k->root)) {
    k->root[0] = '\0';
    snprintf(k->missing, sizeof k->missing, "no kit beside %s: %s/" KIT_DIR "/build/js/cni-plugin.mjs is missing",
             k->exe_dir, k->exe_dir);
    return;
  }
  if (k->installed && !(getenv("WASM_CNI_NODE") && *getenv("WASM_CNI_NODE"))) {
    snprintf(k->runtime, sizeof k->runtime, "%s/" KIT_RUNTIME, k->root);
    if (!executable(k->runtime)) {
      snprintf(k->missing, sizeof k->missing, "the kit's JavaScript runtime %s is missing or not executable",
               k->runtime);
      k->runtime[0] = '\0';
    }
    return;
  }
  if (developer_node(k->runtime, sizeof k->runtime) != 0) {
    k->runtime[0] = '\0';
    snprintf(k->missing, sizeof k->missing, "no node for the build tree %s (set WASM_CNI_NODE or put node on PATH)",
             k->root);
  }
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *end = s + strlen(s);
  while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
  return s;
}

static int truthy(const char *v) {
  return strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0 || strcmp(v, "1") == 0;
}

void settings_read(const char *exe_dir, struct settings *s) {
  s->on_demand = 1;
  s->idle_exit_s = 60;
  s->socket[0] = '\0';
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/" SETTINGS_FILE, exe_dir);
  FILE *f = fopen(path, "re");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      char *hash = strchr(line, '#');
      if (hash) *hash = '\0';
      char *eq = strchr(line, '=');
      if (!eq) continue;
      *eq = '\0';
      char *key = trim(line), *value = trim(eq + 1);
      if (strcmp(key, "on-demand") == 0) s->on_demand = truthy(value);
      else if (strcmp(key, "idle-exit") == 0) {
        char *end;
        long v = strtol(value, &end, 10);
        if (*end == '\0' && v >= 0) s->idle_exit_s = v;
      } else if (strcmp(key, "socket") == 0 && strlen(value) < sizeof s->socket) {
        snprintf(s->socket, sizeof s->socket, "%s", value);
      }
    }
    fclose(f);
  }
  const char *env = getenv("WASM_CNI_ON_DEMAND");
  if (env && *env) s->on_demand = truthy(env);
}
