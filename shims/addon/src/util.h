/* Shared helpers of the wasm_cni addon: argument reading and errors shaped like Node's system errors. */
#ifndef WASM_CNI_UTIL_H
#define WASM_CNI_UTIL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define NAPI_CALL(env, call)                                          \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      util_throw_napi(env, #call);                                    \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

/* Throws an Error whose message is "<what>: <strerror lowercased>" and whose code/errno/syscall follow Node. */
void util_throw_errno(napi_env env, int err, const char *syscall, const char *what);
/* Builds (without throwing) the same Error value, for rejecting promises. */
napi_value util_errno_error(napi_env env, int err, const char *syscall, const char *what);
void util_throw_napi(napi_env env, const char *what);
void util_throw_type(napi_env env, const char *msg);
/* errnoText(n) -> strerror(n) lower-cased at the start, the way Go prints a syscall.Errno. */
napi_value util_js_errno_text(napi_env env, napi_callback_info info);

/* Argument readers: return 0 on success, else have thrown a TypeError. */
int util_arg_int(napi_env env, napi_value v, const char *name, int64_t *out);
int util_arg_bool(napi_env env, napi_value v, const char *name, int *out);
/* A string into a caller buffer; returns -1 (thrown) when missing, not a string, or too long. */
int util_arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap);
/* An optional string: null/undefined gives *present = 0. */
int util_arg_opt_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap, int *present);

/* The call's first argument into *out: 0, or -1 having thrown (none given). */
int util_first_arg(napi_env env, napi_callback_info info, napi_value *out);
/* The call's one integer argument (an fd, a pid): 0, or -1 having thrown a TypeError. */
int util_only_int_arg(napi_env env, napi_callback_info info, const char *name, int64_t *out);

napi_value util_int(napi_env env, int64_t v);
napi_value util_bool(napi_env env, int v);
napi_value util_undefined(napi_env env);
napi_value util_null(napi_env env);

#endif
