#ifndef WASM_CNI_FLOCK_H
#define WASM_CNI_FLOCK_H
#include <node_api.h>
napi_value flock_js_try(napi_env env, napi_callback_info info);
napi_value flock_js_wait(napi_env env, napi_callback_info info);
napi_value flock_js_unlock(napi_env env, napi_callback_info info);
#endif
