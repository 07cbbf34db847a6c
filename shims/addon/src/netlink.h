#ifndef WASM_CNI_NETLINK_H
#define WASM_CNI_NETLINK_H
#include <node_api.h>

/* Large enough for any single datagram a dump produces (the kernel caps dump skbs at 32 KiB). */
#define NL_RECV_CAP (64 * 1024)

typedef struct nl_wait nl_wait;

/* What the netlink functions keep per JS thread (the addon's instance data: the main thread and every
 * worker thread get their own): the receive buffer and the readiness waits pending on that thread's loop. */
typedef struct {
  unsigned char recv_buf[NL_RECV_CAP];
  nl_wait *waits;
} nl_env;

/* Called once per environment from the addon's init. Returns napi_ok or the failing status. */
napi_status netlink_env_setup(napi_env env);
/* The calling thread's state; throws and returns NULL if the addon was not initialised on this thread. */
nl_env *netlink_env(napi_env env);

napi_value netlink_js_open(napi_env env, napi_callback_info info);
napi_value netlink_js_send(napi_env env, napi_callback_info info);
napi_value netlink_js_send_async(napi_env env, napi_callback_info info);
napi_value netlink_js_recv(napi_env env, napi_callback_info info);
napi_value netlink_js_close(napi_env env, napi_callback_info info);

/* netlink_wait.c: waiting for readability on the calling thread's event loop. */
napi_value netlink_js_wait(napi_env env, napi_callback_info info);
/* Rejects (ECANCELED) and tears down every wait pending on fd; called before the fd is closed. */
void netlink_wait_cancel_fd(napi_env env, nl_env *state, int fd);
#endif
