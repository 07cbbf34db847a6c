#ifndef WASM_CNI_SPAWN_H
#define WASM_CNI_SPAWN_H
#include <node_api.h>
napi_value spawn_js_collect(napi_env env, napi_callback_info info);
#endif
