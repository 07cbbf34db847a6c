// V8 flags the daemon runs with under Node: a small young generation and size-first heap growth, so a daemon
// that serves pods for months keeps its RSS flat (bench row `soak`). shims/exec/coldpath.c starts the daemon
// with the same list (tests/shim/runtime-flags.test.ts compares them, and deploy/Dockerfile's ENTRYPOINT).
// V8 reads them when an isolate's heap is set up, so they must be on the command line, not set at run time.
export const nodeDaemonFlags: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];
