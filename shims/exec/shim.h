/* Shared pieces of the CNI executable: error output and the cold path. */
#ifndef WASM_CNI_SHIM_H
#define WASM_CNI_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* CNI error codes the shim itself reports (same numbers as host/cni/errors.ts). */
#define CNI_ERR_IO 5
#define CNI_ERR_TRY_AGAIN 11
#define CNI_ERR_INTERNAL 999

/* Print the CNI error JSON on stdout (the reference layout) and exit 1. */
_Noreturn void cni_fail(int code, const char *msg, const char *details);

/* Write all of buf to fd (retrying on EINTR/short writes); 0 on success. */
int write_all(int fd, const void *buf, size_t len);

/* Exec Node with the bundled plugin entry. When stdin_copy is not NULL, stdin was already consumed and is
 * replaced by a memfd holding those bytes. Only returns by failing (then it reports a CNI error). */
_Noreturn void cold_exec(const char *plugin, const uint8_t *stdin_copy, size_t stdin_len);

#endif
