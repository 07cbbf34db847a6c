#ifndef WASM_CNI_PIDFD_H
#define WASM_CNI_PIDFD_H
#include <node_api.h>
napi_value pidfd_js_peer(napi_env env, napi_callback_info info);
napi_value pidfd_js_open(napi_env env, napi_callback_info info);
napi_value pidfd_js_alive(napi_env env, napi_callback_info info);
#endif
