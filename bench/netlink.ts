// host/net in one process vs the same steps as `ip` commands: a bridge with an address, a veth pair into a
// namespace, the pod address and default route, then removal. Prints medians per round and the ratio.
import { performance } from 'node:perf_hooks';
import { NetHandle } from '../host/net/index.ts';
import { BenchHost, cmd } from './host.ts';
import { median, ms, ratio, table } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const GW = '10.200.38.1';
const POD = '10.200.38.2';

const host = new BenchHost();
const nodePath = host.netns('node');
const podPath = host.netns('pod');
const nodeNs = `${host.prefix}-node`;
const podNs = `${host.prefix}-pod`;
const br = host.name('br');
const veth = host.name('v0');

interface Round {
  setup: number;
  teardown: number;
}

async function viaHostNet(): Promise<Round> {
  const t0 = performance.now();
  const node = await NetHandle.open(nodePath);
  const pod = await NetHandle.open(podPath);
  try {
    await node.link.addBridge({ name: br, mtu: 1500, up: true });
    await node.addr.add(br, `${GW}/24`);
    await node.link.addVeth({ name: veth, master: br, up: true, peer: { name: 'eth0', netns: pod } });
    await pod.link.setUp('eth0');
    await pod.addr.add('eth0', `${POD}/24`);
    await pod.route.add({ dst: 'default', gw: GW, dev: 'eth0' });
    const t1 = performance.now();
    await node.link.delete(veth);
    await node.link.delete(br);
    return { setup: t1 - t0, teardown: performance.now() - t1 };
  } finally {
    node.close();
    pod.close();
  }
}

function viaIp(): Round {
  const t0 = performance.now();
  cmd('ip', ['-n', nodeNs, 'link', 'add', br, 'mtu', '1500', 'type', 'bridge']);
  cmd('ip', ['-n', nodeNs, 'link', 'set', br, 'up']);
  cmd('ip', ['-n', nodeNs, 'addr', 'add', `${GW}/24`, 'dev', br]);
  cmd('ip', ['-n', nodeNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs]);
  cmd('ip', ['-n', nodeNs, 'link', 'set', veth, 'master', br, 'up']);
  cmd('ip', ['-n', podNs, 'link', 'set', 'eth0', 'up']);
  cmd('ip', ['-n', podNs, 'addr', 'add', `${POD}/24`, 'dev', 'eth0']);
  cmd('ip', ['-n', podNs, 'route', 'add', 'default', 'via', GW, 'dev', 'eth0']);
  const t1 = performance.now();
  cmd('ip', ['-n', nodeNs, 'link', 'delete', veth]);
  cmd('ip', ['-n', nodeNs, 'link', 'delete', br]);
  return { setup: t1 - t0, teardown: performance.now() - t1 };
}

try {
  await viaHostNet(); // warm-up: loads the addon, compiles the code paths
  viaIp();
  const ours: Round[] = [];
  const theirs: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(await viaHostNet());
    theirs.push(viaIp());
  }
  const med = (rs: Round[], f: (r: Round) => number) => median(rs.map(f));
  const rows: Array<[string, (r: Round) => number]> = [
    ['set-up (bridge, addr, veth, pod addr + route)', (r) => r.setup],
    ['tear-down (veth pair, bridge)', (r) => r.teardown],
    ['whole round', (r) => r.setup + r.teardown],
  ];
  console.log(`netlink: host/net in one process vs 10 ip commands (${ROUNDS} rounds, median ms)\n`);
  console.log(
    table([
      ['step', 'host/net', 'ip', 'ip / host/net'],
      ...rows.map(([label, f]) => [label, ms(med(ours, f)), ms(med(theirs, f)), ratio(med(theirs, f), med(ours, f))]),
    ]),
  );
  console.log('\nTear-down is the kernel unregistering the links (it waits for RCU grace periods inside the');
  console.log('request); both paths pay it in full, so the whole-round ratio is bounded by it.');
} finally {
  host.sweep();
}
