// The nftables rows: the same chains as rows.ts with ipMasqBackend/backend "nftables" (written over netlink, no
// process), each with its nft floor: the same rules applied by one `nft -f` per direction inside a scratch
// namespace, minus `nft`'s own start-up there (as floor.ts does for iptables-restore). Also the parallel floor of
// the 100-pods row: the same link/address/route operations with one `ip -batch` per namespace and step, 8 pods at
// a time, minus the processes' start-up spread over the 8 lanes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FloorMs } from './floor.ts';
import { bandwidthArgs, bridgeConf, chainRow, portmapRow, type Row } from './rows.ts';
import { median } from './stats.ts';
import { timedRun } from './host.ts';

const SUBNET = (slot: number) => ({
  subnet: `10.200.219.${64 * slot}/26`,
  gw: `10.200.219.${64 * slot + 1}`,
  pod: `10.200.219.${64 * slot + 10}`,
});

const timedNft = (ns: string, input: string) =>
  timedRun('nsenter', [`--net=/var/run/netns/${ns}`, 'nft', '-f', '-'], input);

function handles(ns: string, family: string, table: string, comment: string): Array<{ chain: string; handle: number }> {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', family, table], { encoding: 'utf8' });
  const doc = JSON.parse(r.stdout) as {
    nftables: Array<{ rule?: { chain: string; handle: number; comment?: string } }>;
  };
  return doc.nftables.filter((o) => o.rule?.comment === comment).map((o) => o.rule!);
}

interface NftFloor {
  masq: number;
  portmap: number;
}
let nftFloorMs: NftFloor | undefined;

/** The nft floor, measured once (20 rounds) in a scratch namespace of its own. */
async function nftFloor(): Promise<NftFloor> {
  if (nftFloorMs) return nftFloorMs;
  const ns = `wbnft${randomBytes(3).toString('hex')}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const starts: number[] = [];
    for (let i = 0; i < 21; i++) starts.push(await timedNft(ns, '\n'));
    const start = median(starts);
    const pod = '10.200.219.250';
    const masqTable = 'inet cni_plugins_masquerade';
    const masqAdd = (c: string) =>
      [
        `add table ${masqTable} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
        `add chain ${masqTable} masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
        `add chain ${masqTable} postrouting { type nat hook postrouting priority 100 ; }`,
        `flush chain ${masqTable} postrouting`,
        `add rule ${masqTable} postrouting ip daddr == 224.0.0.0/4 return`,
        `add rule ${masqTable} postrouting ip6 daddr == ff00::/8 return`,
        `add rule ${masqTable} postrouting goto masq_checks`,
        `add rule ${masqTable} masq_checks ip saddr == ${pod} ip daddr != 10.200.219.192/26 masquerade comment "${c}"`,
        '',
      ].join('\n');
    const pmAdd = (c: string) =>
      [
        'add table ip cni_hostport { comment "CNI portmap plugin" ; }',
        'add chain ip cni_hostport hostports',
        'add chain ip cni_hostport hostip_hostports',
        'add chain ip cni_hostport hostports_all',
        'flush chain ip cni_hostport hostports_all',
        'add rule ip cni_hostport hostports_all jump hostip_hostports',
        'add rule ip cni_hostport hostports_all jump hostports',
        'add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }',
        'flush chain ip cni_hostport prerouting',
        'add rule ip cni_hostport prerouting fib daddr type local jump hostports_all',
        'add chain ip cni_hostport output { type nat hook output priority -100 ; }',
        'flush chain ip cni_hostport output',
        'add rule ip cni_hostport output fib daddr type local jump hostports_all',
        'add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }',
        `add rule ip cni_hostport hostports tcp dport 47180 dnat to ${pod}:80 comment "${c}"`,
        `add rule ip cni_hostport masquerading ip saddr ${pod} ip daddr ${pod} masquerade comment "${c}"`,
        `add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr ${pod} masquerade comment "${c}"`,
        '',
      ].join('\n');
    const del = (family: string, table: string, c: string) =>
      `${handles(ns, family, table, c)
        .map((r) => `delete rule ${family} ${table} ${r.chain} handle ${r.handle}`)
        .join('\n')}\n`;
    const masq: number[] = [];
    const pm: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = `pod${i}`;
      const a = await timedNft(ns, masqAdd(c));
      masq.push(a + (await timedNft(ns, del('inet', 'cni_plugins_masquerade', c))) - 2 * start);
      const b = await timedNft(ns, pmAdd(c));
      pm.push(b + (await timedNft(ns, del('ip', 'cni_hostport', c))) - 2 * start);
    }
    nftFloorMs = { masq: Math.max(0, median(masq)), portmap: Math.max(0, median(pm)) };
    return nftFloorMs;
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}

let parallelFloorMs: number | undefined;

/**
 * The 100-pods row's floor: per pod a veth into its namespace on one bridge, address, up and default route, then
 * the pod end deleted, with `ip -batch` (one per namespace and direction), 8 pods at a time (8 shell lanes); the
 * start-up of those processes (measured alone) is taken off, spread over the 8 lanes.
 */
function parallelFloor(): number {
  if (parallelFloorMs !== undefined) return parallelFloorMs;
  const pods = Number(process.env.BENCH_PODS ?? 100);
  const tag = `wbp${randomBytes(2).toString('hex')}`;
  const br = `${tag}br`;
  const ns = (k: number) => `${tag}-${k}`;
  for (let k = 0; k < pods; k++) spawnSync('ip', ['netns', 'add', ns(k)]);
  spawnSync('ip', ['-batch', '-'], {
    input: `link add ${br} type bridge\naddr add 10.200.218.1/24 dev ${br}\nlink set ${br} up\n`,
  });
  // Start-up as the lanes pay it: a pipeline of printf and ip started by bash.
  const t1 = performance.now();
  spawnSync('bash', ['-c', "for i in $(seq 40); do printf '' | ip -batch -; done"]);
  const startOne = (performance.now() - t1) / 40;
  const lanes = (step: (k: number) => string) =>
    `${Array.from({ length: 8 }, (_, lane) => {
      const mine = Array.from({ length: pods }, (_, k) => k).filter((k) => k % 8 === lane);
      return `( ${mine.map(step).join(' && ')} ) &`;
    }).join('\n')}\nwait\n`;
  const up = (k: number) =>
    `printf 'link add ${tag}v${k} type veth peer name eth0 netns ${ns(k)}\\nlink set ${tag}v${k} master ${br}\\nlink set ${tag}v${k} up\\n' | ip -batch - && ` +
    `printf 'addr add 10.200.218.${(k % 240) + 10}/24 dev eth0\\nlink set eth0 up\\nroute add default via 10.200.218.1\\n' | ip -n ${ns(k)} -batch -`;
  const down = (k: number) => `printf 'link del eth0\\n' | ip -n ${ns(k)} -batch -`;
  try {
    const t0 = performance.now();
    const a = spawnSync('bash', ['-c', lanes(up)], { encoding: 'utf8' });
    const b = spawnSync('bash', ['-c', lanes(down)], { encoding: 'utf8' });
    const wall = performance.now() - t0;
    if (a.status !== 0 || b.status !== 0) throw new Error(`parallel floor failed: ${a.stderr}${b.stderr}`);
    parallelFloorMs = Math.max(0, wall - (3 * pods * startOne) / 8);
  } finally {
    for (let k = 0; k < pods; k++) spawnSync('ip', ['netns', 'delete', ns(k)]);
    spawnSync('ip', ['link', 'del', br]);
  }
  return parallelFloorMs;
}

const nftMasqConf = (ctx: Parameters<Row['prepare']>[1], dataDir: string, bridge: string) => ({
  ...bridgeConf(ctx, bridge, true, dataDir, SUBNET(ctx.slot).subnet),
  ipMasqBackend: 'nftables',
});

/** The nftables rows, and the parallel floor given to the 100-pods row of `rows`. */
export function nftRows(rows: Row[]): Row[] {
  const pods = rows.find((r) => r.id === 'pods');
  if (pods) {
    pods.floor = () => parallelFloor();
    pods.target = `${pods.target}; ≤ 1.2× parallel floor`;
  }
  return [
    chainRow(
      'fullnft',
      'full conflist, nftables: bridge(ipMasq)+portmap+bandwidth ADD+DEL',
      ['bridge', 'host-local', 'portmap', 'bandwidth'],
      (ctx, _side, dataDir, bridge) => [
        nftMasqConf(ctx, dataDir, bridge),
        { type: 'portmap', backend: 'nftables', capabilities: { portMappings: true }, snat: true },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
      async (f: FloorMs) => {
        const nft = await nftFloor();
        return f.bridge + f.bandwidth + nft.masq + nft.portmap;
      },
      '≤ 1.15× floor',
      { portMappings: [{ hostPort: 47180, containerPort: 80, protocol: 'tcp' }], bandwidth: bandwidthArgs },
    ),
    chainRow(
      'brmnft',
      'bridge+host-local ADD+DEL, ipMasq nftables',
      ['bridge', 'host-local'],
      (ctx, _side, dataDir, bridge) => [nftMasqConf(ctx, dataDir, bridge)],
      async (f: FloorMs) => f.bridge + (await nftFloor()).masq,
      '≤ 1.15× floor',
    ),
    portmapRow(
      'pmnft',
      'portmap ADD+DEL, 1 mapping, nftables',
      async () => (await nftFloor()).portmap,
      '≤ 1.3× floor',
      47181,
      SUBNET,
      { backend: 'nftables' },
    ),
  ];
}
