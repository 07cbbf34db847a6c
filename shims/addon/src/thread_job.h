/* A promise settled by blocking work on a thread of its own (never libuv's pool, which the waits of
 * parallel pods would exhaust). The result comes back to the JS thread that started it through a
 * uv_async handle on that thread's loop; a worker thread torn down meanwhile just abandons the job. */
#ifndef WASM_CNI_THREAD_JOB_H
#define WASM_CNI_THREAD_JOB_H

#include <node_api.h>

typedef struct thread_job thread_job;

/* Runs on the job's thread; data is the caller's, owned by the job from thread_job_start on. */
typedef void (*thread_job_run)(thread_job *job, void *data);
/* Runs on the JS thread after run(): returns the value to resolve with, or NULL having set *rejection. */
typedef napi_value (*thread_job_settle)(napi_env env, void *data, napi_value *rejection);

/* Starts run(data) on a new thread and returns the promise settle() settles. data must come from malloc
 * and is freed when the job is over. On failure, throws, frees data and returns NULL. */
napi_value thread_job_start(napi_env env, const char *name, thread_job_run run, thread_job_settle settle, void *data);

/* True once the starting thread's environment is shutting down: nobody waits for the result any more,
 * so a long run() may stop early. Callable from the job's thread. */
int thread_job_abandoned(thread_job *job);

#endif
