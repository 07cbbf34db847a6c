// The benchmark rows. Each row runs the same operations on every side, exec'ing plugins as processes:
// chains through a libcni-like runtime (host/runtime, exec executor), single plugins directly.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnPlugin } from '../host/cni/invoke.ts';
import { CniRuntime, execExecutor, type RuntimeConf } from '../host/runtime/runtime.ts';
import { parseConfList } from '../host/runtime/config.ts';
import { cmd, type BenchHost } from './host.ts';
import type { FloorMs } from './floor.ts';
import type { Side } from './sides.ts';

export interface BenchCase {
  /** One timed repetition (ms). */
  once(i: number): Promise<number>;
  close(): Promise<void>;
}

export interface RowContext {
  host: BenchHost;
  /** 0, 1, 2 for the three sides: picks a private /26 of 10.200.40.0/24 and private link names. */
  slot: number;
}

export interface Row {
  id: string;
  title: string;
  /** Plugin types this row execs (it runs only when ours has them all). */
  needs: string[];
  iterations: number;
  /** Sides one after another (prepare, all repetitions, close) instead of interleaved. */
  sequential?: boolean;
  prepare(side: Side, ctx: RowContext): Promise<BenchCase>;
  floor?(f: FloorMs): number | Promise<number>;
  target: string;
}

export const bandwidthArgs = {
  ingressRate: 10_000_000,
  ingressBurst: 1_000_000,
  egressRate: 20_000_000,
  egressBurst: 1_000_000,
};

function subnet(slot: number): { subnet: string; gw: string; pod: string } {
  const base = 64 * slot;
  return { subnet: `10.200.40.${base}/26`, gw: `10.200.40.${base + 1}`, pod: `10.200.40.${base + 10}` };
}

export function bridgeConf(
  ctx: RowContext,
  bridge: string,
  ipMasq: boolean,
  dataDir: string,
  range = subnet(ctx.slot).subnet,
) {
  return {
    type: 'bridge',
    bridge,
    isGateway: true,
    ipMasq,
    hairpinMode: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: range }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
}

export function runtimeFor(side: Side, ctx: RowContext): CniRuntime {
  return new CniRuntime({
    path: [side.binDir],
    cacheDir: ctx.host.dir(`cache-${side.id}`),
    env: side.env,
    exec: execExecutor,
    onStderr: () => {},
  });
}

/** ADD then DEL of a conflist for one pod, timed together. */
export function chainRow(
  id: string,
  title: string,
  needs: string[],
  plugins: (ctx: RowContext, side: Side, dataDir: string, bridge: string) => unknown[],
  floor: (f: FloorMs) => number | Promise<number>,
  target: string,
  caps: Record<string, unknown> = {},
): Row {
  return {
    id,
    title,
    needs,
    iterations: 12,
    floor,
    target,
    async prepare(side, ctx) {
      const rt = runtimeFor(side, ctx);
      const dataDir = ctx.host.dir(`ipam-${side.id}`);
      const bridge = ctx.host.name(`b${id}${ctx.slot}`);
      const list = parseConfList(
        Buffer.from(
          JSON.stringify({
            cniVersion: '1.0.0',
            name: `${ctx.host.prefix}-${id}-${side.id}`,
            plugins: plugins(ctx, side, dataDir, bridge),
          }),
        ),
      );
      const netns = ctx.host.netns(`${id}-${side.id}`);
      return {
        async once(i) {
          const conf: RuntimeConf = {
            containerId: `${ctx.host.prefix}-${side.id}-${i}`,
            netns,
            ifName: 'eth0',
            capabilityArgs: caps,
          };
          const t0 = performance.now();
          await rt.addNetworkList(list, conf);
          await rt.delNetworkList(list, conf);
          return performance.now() - t0;
        },
        async close() {
          cmd('ip', ['link', 'del', bridge]);
        },
      };
    },
  };
}

/** One plugin exec'd directly with a prepared stdin; returns the wall time, throws on failure. */
export async function execPlugin(
  side: Side,
  type: string,
  command: string,
  env: Record<string, string>,
  stdin: unknown,
): Promise<number> {
  const t0 = performance.now();
  const r = await spawnPlugin(join(side.binDir, type), Buffer.from(JSON.stringify(stdin)), {
    ...side.env,
    CNI_COMMAND: command,
    CNI_PATH: side.binDir,
    ...env,
  });
  const t = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${side.id} ${type} ${command} exited ${r.exitCode}: ${r.stdout} ${r.stderr}`);
  return t;
}

/** host-local ADD with `existing` reservations already on disk (DEL afterwards, untimed). */
function hostLocalRow(existing: number): Row {
  return {
    id: `hl${existing}`,
    title: `host-local ADD, ${existing.toLocaleString('en')} existing reservations`,
    needs: ['host-local'],
    iterations: existing >= 10_000 ? 6 : 15,
    target: existing ? 'flat: within 1.5× of the row at 0' : '',
    async prepare(side, ctx) {
      const dataDir = ctx.host.dir(`hl-${side.id}`);
      const name = `${ctx.host.prefix}-hl`;
      const netDir = join(dataDir, name);
      mkdirSync(netDir, { recursive: true });
      // on-disk state only (no addresses are configured anywhere): a /16 of the bench range
      for (let k = 0; k < existing; k++) {
        const n = k + 2;
        writeFileSync(join(netDir, `10.200.${n >> 8}.${n & 255}`), `fill-${k}\r\neth0`);
      }
      if (existing)
        writeFileSync(join(netDir, 'last_reserved_ip.0'), `10.200.${(existing + 1) >> 8}.${(existing + 1) & 255}`);
      const conf = {
        cniVersion: '1.0.0',
        name,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.0.0/16' }]] },
      };
      const env = (i: number) => ({
        CNI_CONTAINERID: `${ctx.host.prefix}-${side.id}-${i}`,
        CNI_NETNS: '/var/run/netns/none',
        CNI_IFNAME: 'eth0',
      });
      return {
        async once(i) {
          const t = await execPlugin(side, 'host-local', 'ADD', env(i), conf);
          await execPlugin(side, 'host-local', 'DEL', env(i), conf);
          return t;
        },
        async close() {},
      };
    },
  };
}

/** portmap ADD then DEL of one mapping for a pod given as prevResult (no bridge: the rules only). */
export function portmapRow(
  id: string,
  title: string,
  floor: (f: FloorMs) => number | Promise<number>,
  target: string,
  hostPort: number,
  pick: (slot: number) => { pod: string; gw: string },
  extra: Record<string, unknown> = {},
): Row {
  return {
    id,
    title,
    needs: ['portmap'],
    iterations: 12,
    target,
    floor,
    async prepare(side, ctx) {
      const { pod, gw } = pick(ctx.slot);
      const netns = ctx.host.netns(`${id}-${side.id}`);
      const conf = {
        cniVersion: '1.0.0',
        name: `${ctx.host.prefix}-${id}-${side.id}`,
        type: 'portmap',
        ...extra,
        snat: true,
        runtimeConfig: { portMappings: [{ hostPort: hostPort + ctx.slot, containerPort: 80, protocol: 'tcp' }] },
        prevResult: {
          cniVersion: '1.0.0',
          interfaces: [{ name: 'eth0', sandbox: netns }],
          ips: [{ address: `${pod}/26`, gateway: gw, interface: 0 }],
        },
      };
      return {
        async once(i) {
          const env = { CNI_CONTAINERID: `${ctx.host.prefix}-${side.id}-${i}`, CNI_NETNS: netns, CNI_IFNAME: 'eth0' };
          return (
            (await execPlugin(side, 'portmap', 'ADD', env, conf)) +
            (await execPlugin(side, 'portmap', 'DEL', env, conf))
          );
        },
        async close() {},
      };
    },
  };
}

export const rows: Row[] = [
  chainRow(
    'full',
    'full conflist bridge(ipMasq)+portmap+bandwidth ADD+DEL',
    ['bridge', 'host-local', 'portmap', 'bandwidth'],
    (ctx, _side, dataDir, bridge) => [
      bridgeConf(ctx, bridge, true, dataDir),
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
    (f) => f.bridge + f.ipMasq + f.portmap + f.bandwidth,
    '≤ 1.4× floor (≈ 0.18× reference)',
    { portMappings: [{ hostPort: 48080, containerPort: 80, protocol: 'tcp' }], bandwidth: bandwidthArgs },
  ),
  chainRow(
    'br',
    'bridge+host-local ADD+DEL, no ipMasq',
    ['bridge', 'host-local'],
    (ctx, _side, dataDir, bridge) => [bridgeConf(ctx, bridge, false, dataDir)],
    (f) => f.bridge,
    '≤ 1.3× floor',
  ),
  chainRow(
    'brm',
    'bridge+host-local ADD+DEL, ipMasq',
    ['bridge', 'host-local'],
    (ctx, _side, dataDir, bridge) => [bridgeConf(ctx, bridge, true, dataDir)],
    (f) => f.bridge + f.ipMasq,
    '≤ 1.3× floor',
  ),
  portmapRow('pm', 'portmap ADD+DEL, 1 mapping', (f) => f.portmap, '≤ 1.5× floor', 48081, subnet),
  hostLocalRow(0),
  hostLocalRow(1000),
  hostLocalRow(60_000),
  {
    id: 'lo',
    title: 'one plugin invocation (loopback ADD)',
    needs: ['loopback'],
    iterations: 15,
    target: 'cold ≤ 1.5× reference',
    floor: (f) => f.loopback,
    async prepare(side, ctx) {
      const netns = ctx.host.netns(`lo-${side.id}`);
      const conf = { cniVersion: '1.0.0', name: 'lo', type: 'loopback' };
      return {
        once: (i) =>
          execPlugin(
            side,
            'loopback',
            'ADD',
            { CNI_CONTAINERID: `${ctx.host.prefix}-${i}`, CNI_NETNS: netns, CNI_IFNAME: 'lo' },
            conf,
          ),
        async close() {},
      };
    },
  },
  {
    id: 'pods',
    title: '100 pods ADD, 8 in parallel, then DEL (bridge+host-local): total wall',
    needs: ['bridge', 'host-local'],
    iterations: 1,
    sequential: true,
    target: '≤ 0.3× reference',
    async prepare(side, ctx) {
      const pods = Number(process.env.BENCH_PODS ?? 100);
      const rt = runtimeFor(side, ctx);
      const bridge = ctx.host.name('bpods');
      const list = parseConfList(
        Buffer.from(
          JSON.stringify({
            cniVersion: '1.0.0',
            name: `${ctx.host.prefix}-pods-${side.id}`,
            plugins: [bridgeConf(ctx, bridge, false, ctx.host.dir(`pods-${side.id}`), '10.200.40.0/24')],
          }),
        ),
      );
      const netns = Array.from({ length: pods }, (_, k) => ctx.host.netns(`p${side.id}${k}`));
      const confs = netns.map(
        (ns, k): RuntimeConf => ({ containerId: `${ctx.host.prefix}-${side.id}-pod${k}`, netns: ns, ifName: 'eth0' }),
      );
      const eightAtATime = async (fn: (c: RuntimeConf) => Promise<unknown>) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < confs.length) await fn(confs[next++]!);
          }),
        );
      };
      return {
        async once() {
          const t0 = performance.now();
          await eightAtATime((c) => rt.addNetworkList(list, c));
          await eightAtATime((c) => rt.delNetworkList(list, c));
          return performance.now() - t0;
        },
        async close() {
          for (const ns of netns) cmd('ip', ['netns', 'delete', ns.split('/').pop()!]);
          cmd('ip', ['link', 'del', bridge]);
        },
      };
    },
  },
];
