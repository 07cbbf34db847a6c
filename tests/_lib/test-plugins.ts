// Test-only plugins (never in the product registry), served by the fixture daemon next to the real ones:
//   echo  — answers with its env and stdin as JSON; CNI_ARGS "EXIT=n" sets the exit code, "STDERR=text" its stderr
//   sleep — waits CNI_ARGS "MS=n" milliseconds, answers with its start and end times and its thread
//   flood — answers with CNI_ARGS "BYTES=n" bytes of stdout
//   block — holds its thread CNI_ARGS "MS=n" milliseconds without yielding (like a synchronous netlink request)
//   crash — ends its worker thread mid-call (only ever called on a daemon with worker threads)
// Exported as `plugins` so daemon worker threads can load the table by module URL.
import { threadId } from 'node:worker_threads';
import type { PluginHandler } from '../../host/cni/handler.ts';
import { plugins as registered } from '../../host/plugins/registry.ts';

function cniArg(env: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  return (env.CNI_ARGS ?? '')
    .split(';')
    .find((kv) => kv.startsWith(`${key}=`))
    ?.slice(key.length + 1);
}

const echo: PluginHandler = async (req) => ({
  exitCode: Number(cniArg(req.env, 'EXIT') ?? 0),
  stdout: JSON.stringify({ env: req.env, stdin: Buffer.from(req.stdin).toString() }),
  stderr: cniArg(req.env, 'STDERR') ?? '',
});

const sleep: PluginHandler = async (req) => {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, Number(cniArg(req.env, 'MS') ?? 100)));
  return { exitCode: 0, stdout: JSON.stringify({ start, end: Date.now(), pid: process.pid, threadId }), stderr: '' };
};

const flood: PluginHandler = async (req) => ({
  exitCode: 0,
  stdout: 'x'.repeat(Number(cniArg(req.env, 'BYTES') ?? 0)),
  stderr: '',
});

const block: PluginHandler = async (req) => {
  const start = Date.now();
  while (Date.now() - start < Number(cniArg(req.env, 'MS') ?? 100)) {
    /* busy: the thread cannot serve anything else */
  }
  return { exitCode: 0, stdout: JSON.stringify({ start, end: Date.now(), threadId }), stderr: '' };
};

const crash: PluginHandler = async () => process.exit(7);

export const plugins: Record<string, () => Promise<PluginHandler>> = {
  ...registered,
  echo: async () => echo,
  sleep: async () => sleep,
  flood: async () => flood,
  block: async () => block,
  crash: async () => crash,
};
