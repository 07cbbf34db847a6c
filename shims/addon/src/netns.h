/* Network namespace scoping: enter a namespace on the calling thread and always come back. */
#ifndef WASM_CNI_NETNS_H
#define WASM_CNI_NETNS_H

#include <node_api.h>

/* A namespace entered by netns_enter(); saved_fd < 0 means nothing was entered (no path given). */
typedef struct {
  int saved_fd;
} netns_scope;

/* Enters the network namespace at path (NULL or "" = stay). On failure returns -1, sets errno and
 * writes the failing step ("open", "setns") and a message into syscall/what; the thread is unchanged. */
int netns_enter(const char *path, netns_scope *scope, const char **syscall, char *what, size_t what_cap);
/* Returns the thread to the namespace it was in before netns_enter(). Aborts the process if that is
 * impossible: continuing on a thread stuck in a foreign namespace would corrupt later work. */
void netns_leave(netns_scope *scope);

napi_value netns_js_identity(napi_env env, napi_callback_info info);
napi_value netns_js_create(napi_env env, napi_callback_info info);
napi_value netns_js_remove(napi_env env, napi_callback_info info);

#endif
