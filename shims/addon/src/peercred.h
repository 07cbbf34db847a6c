#ifndef WASM_CNI_PEERCRED_H
#define WASM_CNI_PEERCRED_H
#include <node_api.h>
napi_value peercred_js_get(napi_env env, napi_callback_info info);
#endif
