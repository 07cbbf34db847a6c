/* wasm_cni: what Node lacks for pod networking — netlink sockets inside a netns, setns-scoped sysctl,
 * flock, named netns, SO_PEERCRED, pidfds. The typed face is host/native/addon.ts. */
#include <node_api.h>

#include "flock.h"
#include "netlink.h"
#include "netns.h"
#include "peercred.h"
#include "pidfd.h"
#include "spawn.h"
#include "sysctl.h"
#include "util.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"netlinkOpen", NULL, netlink_js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkSend", NULL, netlink_js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkSendAsync", NULL, netlink_js_send_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkRecv", NULL, netlink_js_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkWait", NULL, netlink_js_wait, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkClose", NULL, netlink_js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sysctlRead", NULL, sysctl_js_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sysctlWrite", NULL, sysctl_js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flockTry", NULL, flock_js_try, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flockWait", NULL, flock_js_wait, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flockUnlock", NULL, flock_js_unlock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsIdentity", NULL, netns_js_identity, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsCreate", NULL, netns_js_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsRemove", NULL, netns_js_remove, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errnoText", NULL, util_js_errno_text, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerCred", NULL, peercred_js_get, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerPidfd", NULL, pidfd_js_peer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pidfdOpen", NULL, pidfd_js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pidfdAlive", NULL, pidfd_js_alive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spawnCollect", NULL, spawn_js_collect, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (netlink_env_setup(env) != napi_ok) {
    napi_throw_error(env, NULL, "wasm_cni addon: cannot set up per-thread state");
    return NULL;
  }
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
