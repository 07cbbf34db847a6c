#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void lower_first(char *s) {
  if (s[0]) s[0] = (char)tolower((unsigned char)s[0]);
}

napi_value util_errno_error(napi_env env, int err, const char *syscall, const char *what) {
  char reason[256];
  char msg[1024];
  const char *name = strerrorname_np(err);
  snprintf(reason, sizeof reason, "%s", strerror(err));
  lower_first(reason);
  if (what && what[0]) snprintf(msg, sizeof msg, "%s: %s", what, reason);
  else snprintf(msg, sizeof msg, "%s", reason);

  napi_value message, error, code, errnum, sc;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_create_string_utf8(env, syscall ? syscall : "", NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_value reason_v;
  napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &reason_v);
  napi_set_named_property(env, error, "reason", reason_v);
  return error;
}

void util_throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  napi_throw(env, util_errno_error(env, err, syscall, what));
}

void util_throw_napi(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    char msg[256];
    snprintf(msg, sizeof msg, "wasm_cni addon: N-API call failed: %s", what);
    napi_throw_error(env, NULL, msg);
  }
}

void util_throw_type(napi_env env, const char *msg) { napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg); }

int util_arg_int(napi_env env, napi_value v, const char *name, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    util_throw_type(env, msg);
    return -1;
  }
  napi_get_value_int64(env, v, out);
  return 0;
}

int util_arg_bool(napi_env env, napi_value v, const char *name, int *out) {
  napi_valuetype t;
  bool b = false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a boolean", name);
    util_throw_type(env, msg);
    return -1;
  }
  napi_get_value_bool(env, v, &b);
  *out = b ? 1 : 0;
  return 0;
}

int util_arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap) {
  napi_valuetype t;
  size_t len = 0;
  char msg[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    snprintf(msg, sizeof msg, "%s must be a string", name);
    util_throw_type(env, msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len + 1 > cap) {
    snprintf(msg, sizeof msg, "%s is too long (%zu bytes, at most %zu)", name, len, cap - 1);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  if (strlen(buf) != len) {
    snprintf(msg, sizeof msg, "%s must not contain NUL bytes", name);
    util_throw_type(env, msg);
    return -1;
  }
  return 0;
}

int util_arg_opt_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap, int *present) {
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  if (t == napi_undefined || t == napi_null) {
    *present = 0;
    buf[0] = 0;
    return 0;
  }
  *present = 1;
  return util_arg_string(env, v, name, buf, cap);
}

napi_value util_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

napi_value util_bool(napi_env env, int v) {
  napi_value r;
  napi_get_boolean(env, v != 0, &r);
  return r;
}

napi_value util_undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

napi_value util_null(napi_env env) {
  napi_value r;
  napi_get_null(env, &r);
  return r;
}

napi_value util_js_errno_text(napi_env env, napi_callback_info info) {
  int64_t n;
  char reason[256];
  if (util_only_int_arg(env, info, "errno", &n)) return NULL;
  snprintf(reason, sizeof reason, "%s", strerror((int)n));
  lower_first(reason);
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &out));
  return out;
}

int util_first_arg(napi_env env, napi_callback_info info, napi_value *out) {
  size_t argc = 1;
  if (napi_get_cb_info(env, info, &argc, out, NULL, NULL) != napi_ok) {
    util_throw_napi(env, "napi_get_cb_info");
    return -1;
  }
  if (argc < 1) {
    util_throw_type(env, "missing arguments");
    return -1;
  }
  return 0;
}

int util_only_int_arg(napi_env env, napi_callback_info info, const char *name, int64_t *out) {
  napi_value arg;
  return util_first_arg(env, info, &arg) ? -1 : util_arg_int(env, arg, name, out);
}
