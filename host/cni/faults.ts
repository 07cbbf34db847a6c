// Test-only fault injection: with WASM_CNI_FAULT=<point> in this process's environment, reaching <point>
// kills the process with SIGKILL (a crash at an exact step, which a test then checks leaves nothing behind).
// Unset, it costs one environment read.

/** Kills this process at once when WASM_CNI_FAULT names `point`. */
export function faultPoint(point: string): void {
  if (process.env.WASM_CNI_FAULT === point) process.kill(process.pid, 'SIGKILL');
}
