// Helpers for the deployment tests: daemons found by the socket they serve (on-demand and socket-activated
// daemons are nobody's child), and a bridge + host-local call made as a runtime makes it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../_lib/run.ts';

/** Pids of `wasm-cni daemon` processes whose command line names this socket. */
export function daemonsServing(socket: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.includes('daemon') && args.includes(socket)) pids.push(Number(e));
  }
  return pids;
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills every daemon serving the socket and waits until they are gone. */
export async function killDaemons(socket: string): Promise<void> {
  for (const pid of daemonsServing(socket)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await waitFor(`daemons on ${socket} to exit`, () => daemonsServing(socket).length === 0);
}

export interface BridgeNet {
  binDir: string;
  netns: string;
  bridge: string;
  subnet: string;
  dataDir: string;
}

export function bridgeConfig(n: BridgeNet): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `${n.bridge}-net`,
    type: 'bridge',
    bridge: n.bridge,
    isGateway: true,
    ipam: { type: 'host-local', subnet: n.subnet, dataDir: n.dataDir },
  });
}

/** One bridge call (host-local delegated through CNI_PATH), like a runtime execs it. */
export function bridgeCall(
  n: BridgeNet,
  command: 'ADD' | 'CHECK' | 'DEL',
  containerId: string,
  env: Record<string, string | undefined> = {},
  prevResult?: unknown,
): Promise<RunResult> {
  const conf = JSON.parse(bridgeConfig(n));
  if (prevResult) conf.prevResult = prevResult;
  return run(join(n.binDir, 'bridge'), [], {
    input: JSON.stringify(conf),
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: n.netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: n.binDir,
      ...env,
    },
    timeoutMs: 60_000,
  });
}

/** The IPs host-local has reserved in a network's data dir. */
export function reservations(dataDir: string, network: string): string[] {
  try {
    return readdirSync(join(dataDir, network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  } catch {
    return [];
  }
}
