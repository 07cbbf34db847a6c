#ifndef WASM_CNI_SYSCTL_H
#define WASM_CNI_SYSCTL_H
#include <node_api.h>
napi_value sysctl_js_read(napi_env env, napi_callback_info info);
napi_value sysctl_js_write(napi_env env, napi_callback_info info);
#endif
