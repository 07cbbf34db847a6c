// The environment for processes we launch as plugins or benchmark: Node's start-up variables removed
// (NODE_EXTRA_CA_CERTS alone adds ~40 ms to every Node start; runtimes pass their environment through).
export const NODE_STARTUP_VARS = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'] as const;

export function childEnv(
  base: Readonly<Record<string, string | undefined>> = process.env,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...base, ...extra })) {
    if (v === undefined || (NODE_STARTUP_VARS as readonly string[]).includes(k)) continue;
    env[k] = v;
  }
  return env;
}
