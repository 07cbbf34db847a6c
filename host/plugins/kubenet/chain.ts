// Running the delegates kubenet is made of (bridge with host-local, then portmap and bandwidth) the way a
// runtime chains them: same environment, each plugin's stdin = its config + name/cniVersion (+ prevResult,
// runtimeConfig). Our plugins run in this process; others are executed from CNI_PATH (cni/delegate.ts).
import { delegate } from '../../cni/delegate.ts';
import { readPluginResult, stdoutOrThrow } from '../../cni/invoke.ts';
import { resultToWire } from '../../cni/result.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';
import { pickMtu } from '../../core/index.ts';
import { hostInterfaces } from '../../node/interfaces.ts';
import { kubenetBridgeConfigText } from '../../node/kubenet-config.ts';
import type { KubenetConfig } from './config.ts';

export type Command = 'ADD' | 'DEL' | 'CHECK';

export interface Delegate {
  type: string;
  conf: Record<string, unknown>;
}

/** The bridge config kubenet generates, named and versioned like the kubenet network. Without a configured MTU,
 * the smallest of the caller's host interfaces (its network namespace, not the daemon's). */
export async function bridgeDelegate(c: KubenetConfig, hostNetns: string | null): Promise<Delegate> {
  const mtu = c.mtu > 0 ? c.mtu : pickMtu(await hostInterfaces(hostNetns)).mtu;
  const conf = JSON.parse(
    kubenetBridgeConfigText({
      podCidrs: c.podCidrs,
      mtu,
      hairpinVeth: c.hairpinMode === 'hairpin-veth',
      bridge: c.bridge,
      dataDir: c.dataDir,
      name: c.name,
    }),
  ) as Record<string, unknown>;
  return { type: 'bridge', conf };
}

export function portmapDelegate(c: KubenetConfig): Delegate {
  return {
    type: 'portmap',
    conf: {
      type: 'portmap',
      snat: true,
      capabilities: { portMappings: true },
      runtimeConfig: { portMappings: c.portMappings },
    },
  };
}

export function bandwidthDelegate(c: KubenetConfig): Delegate {
  const conf: Record<string, unknown> = { type: 'bandwidth', capabilities: { bandwidth: true } };
  if (c.bandwidth) conf.runtimeConfig = { bandwidth: c.bandwidth };
  return { type: 'bandwidth', conf };
}

/** One delegate call; returns its result on ADD. Errors come back unchanged (code, msg, details). */
export async function runDelegate(
  a: CmdArgs,
  c: KubenetConfig,
  d: Delegate,
  command: Command,
  prev?: Result,
): Promise<Result | undefined> {
  const stdin: Record<string, unknown> = { ...d.conf, name: c.name, cniVersion: c.cniVersion };
  if (prev) stdin.prevResult = resultToWire(prev, c.cniVersion);
  const call: CmdArgs = { ...a, stdin: new TextEncoder().encode(JSON.stringify(stdin)) };
  const stdout = stdoutOrThrow(await delegate(call, d.type, command));
  return command === 'ADD' ? readPluginResult(stdout, c.cniVersion).result : undefined;
}
