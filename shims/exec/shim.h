/* Shared pieces of the CNI executable: error output and the cold path. */
#ifndef WASM_CNI_SHIM_H
#define WASM_CNI_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "kit.h"

/* CNI error codes the shim itself reports (same numbers as host/cni/errors.ts). */
#define CNI_ERR_IO 5
#define CNI_ERR_TRY_AGAIN 11
#define CNI_ERR_INTERNAL 999

/* Print the CNI error JSON on stdout (the reference layout) and exit 1. */
_Noreturn void cni_fail(int code, const char *msg, const char *details);

/* Write all of buf to fd (retrying on EINTR/short writes); 0 on success. */
int write_all(int fd, const void *buf, size_t len);

/* Exec the kit's runtime with the bundled plugin entry. When stdin_copy is not NULL, stdin was already consumed
 * and is replaced by a memfd holding those bytes. Never returns: when nothing can run, CNI error 11 names what is
 * missing (the runtime retries; a daemon may be back by then). */
_Noreturn void cold_exec(const struct kit *k, const char *plugin, const uint8_t *stdin_copy, size_t stdin_len);

/* The executable under the name `wasm-cni`: the CLI bundle on the kit's runtime, with our arguments. */
_Noreturn void cli_exec(const struct kit *k, int argc, char **argv);

/* The caller's environment without NODE_OPTIONS/NODE_EXTRA_CA_CERTS. */
char **runtime_environment(void);
/* Runtime flags for `daemon` (NULL-terminated; empty unless the runtime is node). */
const char *const *daemon_runtime_flags(const struct kit *k);

/* Starts a daemon on demand (see ondemand.c); a connected socket, or -1 with the reason in why. */
int ondemand_connect(const char *socket_path, const struct kit *k, const struct settings *s, char *why,
                     size_t why_len);

/* A connected socket to the daemon at path, or -1 with errno (ENOENT/ECONNREFUSED: nobody listens). */
int connect_daemon(const char *path, long timeout_ms);

int64_t now_ms(void);

#endif
