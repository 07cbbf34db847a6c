/* See thread_job.h. Two owners share a job: its thread and the JS thread's loop (the uv_async handle);
 * whichever lets go last frees it. A thread-safe function would be the obvious tool, but on a worker's
 * teardown Node frees it while a thread may still be about to call it. */
#include "thread_job.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <uv.h>

struct thread_job {
  pthread_mutex_t lock;
  int owners;    /* the thread and the loop side */
  int abandoned; /* the environment is shutting down: the async handle is closed or closing */
  uv_async_t async;
  napi_env env;
  napi_deferred deferred;
  napi_ref resource;
  napi_async_context context;
  napi_async_cleanup_hook_handle teardown;
  thread_job_run run;
  thread_job_settle settle;
  void *data;
};

static void let_go(thread_job *job) {
  pthread_mutex_lock(&job->lock);
  int left = --job->owners;
  pthread_mutex_unlock(&job->lock);
  if (left) return;
  pthread_mutex_destroy(&job->lock);
  free(job->data);
  free(job);
}

int thread_job_abandoned(thread_job *job) {
  pthread_mutex_lock(&job->lock);
  int a = job->abandoned;
  pthread_mutex_unlock(&job->lock);
  return a;
}

static void *thread_main(void *arg) {
  thread_job *job = arg;
  job->run(job, job->data);
  pthread_mutex_lock(&job->lock);
  if (!job->abandoned) uv_async_send(&job->async);
  pthread_mutex_unlock(&job->lock);
  let_go(job);
  return NULL;
}

static void on_closed(uv_handle_t *h) {
  thread_job *job = h->data;
  if (job->teardown) napi_remove_async_cleanup_hook(job->teardown);
  job->teardown = NULL;
  let_go(job);
}

/* The thread is done: settle the promise in a callback scope, so its reactions run as after any I/O. */
static void on_done(uv_async_t *a) {
  thread_job *job = a->data;
  napi_env env = job->env;
  napi_remove_async_cleanup_hook(job->teardown); /* settled now: a teardown from here on has nothing to do */
  job->teardown = NULL;
  napi_handle_scope hs;
  napi_callback_scope cs = NULL;
  napi_value resource, rejection = NULL;
  napi_open_handle_scope(env, &hs);
  if (napi_get_reference_value(env, job->resource, &resource) == napi_ok)
    napi_open_callback_scope(env, resource, job->context, &cs);
  napi_value value = job->settle(env, job->data, &rejection);
  if (value) napi_resolve_deferred(env, job->deferred, value);
  else napi_reject_deferred(env, job->deferred, rejection);
  if (cs) napi_close_callback_scope(env, cs);
  napi_async_destroy(env, job->context);
  napi_delete_reference(env, job->resource);
  napi_close_handle_scope(env, hs);
  pthread_mutex_lock(&job->lock);
  job->abandoned = 1; /* nothing more to send; the thread has already sent */
  pthread_mutex_unlock(&job->lock);
  uv_close((uv_handle_t *)&job->async, on_closed);
}

/* The environment is going away before the thread finished: close the handle; the promise stays pending. */
static void on_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  thread_job *job = arg;
  pthread_mutex_lock(&job->lock);
  job->abandoned = 1;
  pthread_mutex_unlock(&job->lock);
  job->teardown = handle;
  uv_close((uv_handle_t *)&job->async, on_closed);
}

napi_value thread_job_start(napi_env env, const char *name, thread_job_run run, thread_job_settle settle, void *data) {
  uv_loop_t *loop;
  thread_job *job = calloc(1, sizeof *job);
  if (!job || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_async_init(loop, &job->async, on_done) != 0) {
    free(job);
    free(data);
    util_throw_errno(env, ENOMEM, "", name);
    return NULL;
  }
  pthread_mutex_init(&job->lock, NULL);
  job->owners = 1; /* the loop side; the thread joins once started */
  job->async.data = job;
  job->env = env;
  job->run = run;
  job->settle = settle;
  job->data = data;

  napi_value promise, resource, resource_name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_reference(env, resource, 1, &job->resource) != napi_ok ||
      napi_async_init(env, resource, resource_name, &job->context) != napi_ok) {
    if (job->resource) napi_delete_reference(env, job->resource);
    job->abandoned = 1;
    uv_close((uv_handle_t *)&job->async, on_closed);
    util_throw_napi(env, name);
    return NULL;
  }
  napi_add_async_cleanup_hook(env, on_teardown, job, &job->teardown);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  job->owners = 2;
  int err = pthread_create(&thread, &attr, thread_main, job);
  pthread_attr_destroy(&attr);
  if (err) {
    job->owners = 1;
    napi_reject_deferred(env, job->deferred, util_errno_error(env, err, "pthread_create", name));
    napi_async_destroy(env, job->context);
    napi_delete_reference(env, job->resource);
    if (job->teardown) napi_remove_async_cleanup_hook(job->teardown);
    job->teardown = NULL;
    job->abandoned = 1;
    uv_close((uv_handle_t *)&job->async, on_closed);
  }
  return promise;
}
