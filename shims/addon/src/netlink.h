#ifndef WASM_CNI_NETLINK_H
#define WASM_CNI_NETLINK_H
#include <node_api.h>
napi_value netlink_js_open(napi_env env, napi_callback_info info);
napi_value netlink_js_send(napi_env env, napi_callback_info info);
napi_value netlink_js_send_async(napi_env env, napi_callback_info info);
napi_value netlink_js_recv(napi_env env, napi_callback_info info);
napi_value netlink_js_wait(napi_env env, napi_callback_info info);
napi_value netlink_js_close(napi_env env, napi_callback_info info);
#endif
