/* Where the executable finds what it runs besides itself, all relative to its own file (/proc/self/exe), never
 * through PATH: the kit (bundles, core.wasm, addon, a JavaScript runtime) and the settings file.
 *
 *   installed:  <bin-dir>/<plugin>, <bin-dir>/wasm-cni.conf, <bin-dir>/.wasm-cni/build/{js,runtime/bun,...}
 *   build tree: build/cni/<plugin> (or build/native/cni-shim), build/{js,...}; the runtime is the developer's
 *               node ($WASM_CNI_NODE, PATH), since the tests run under it. */
#ifndef WASM_CNI_KIT_H
#define WASM_CNI_KIT_H

#include <limits.h>

#define KIT_DIR ".wasm-cni"        /* host/daemon/kit.ts: kitDirName */
#define KIT_RUNTIME "runtime/bun"  /* host/daemon/kit.ts: runtimeRel, under the kit's build/ */
#define SETTINGS_FILE "wasm-cni.conf"

struct kit {
  char exe_dir[PATH_MAX];    /* the directory of this executable's real file */
  char root[PATH_MAX];       /* the build/ directory holding js/, core.wasm, native/ ("" when none) */
  char runtime[PATH_MAX + 32]; /* the JavaScript runtime to exec ("" when none) */
  int installed;             /* root is an installed kit (<bin-dir>/.wasm-cni/build) */
  char missing[2 * PATH_MAX + 256]; /* what is missing when root or runtime is "" */
};

struct settings {
  int on_demand;      /* start a daemon when none answers (default 1) */
  long idle_exit_s;   /* the on-demand daemon exits after this many idle seconds (default 60) */
  char socket[108];   /* daemon socket ("" = $WASM_CNI_SOCKET or the default) */
};

/* Fills k; never fails (what is missing is in k->missing). */
void kit_find(struct kit *k);

/* Reads <exe_dir>/wasm-cni.conf (lines "key = value", '#' comments); $WASM_CNI_ON_DEMAND overrides on-demand. */
void settings_read(const char *exe_dir, struct settings *s);

#endif
