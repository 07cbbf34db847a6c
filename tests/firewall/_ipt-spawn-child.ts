// Child process of nft-iptables-spawns.test.ts, run inside a private namespace: portmap (iptables backend) ADD,
// CHECK, DEL, DEL again in process, printing how many times each firewall tool was started per step (JSON).
import { toolRuns } from '../../host/firewall/tools.ts';
import { handler } from '../../host/plugins/portmap/index.ts';

import { spawnSync } from 'node:child_process';
import { dnatChainName } from '../../host/plugins/portmap/chains.ts';

const [netns, cid, mode] = process.argv.slice(2) as [string, string, string | undefined];
const conf = {
  cniVersion: '1.0.0',
  name: 'spawns',
  type: 'portmap',
  backend: 'iptables',
  runtimeConfig: { portMappings: [{ hostPort: 18950, containerPort: 80, protocol: 'tcp' }] },
  prevResult: {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: netns }],
    ips: [
      { address: '10.200.218.5/24', interface: 0 },
      { address: 'fd00:200:210::218:5/64', interface: 0 },
    ],
  },
};
const call = (cmd: string) =>
  handler({
    env: {
      PATH: process.env.PATH,
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: cid,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/nonexistent',
    },
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
  });
if (mode === 'damaged') {
  // CHECK over netlink must see a flushed pod chain, and a missing one
  await call('ADD');
  spawnSync('iptables', ['-t', 'nat', '-F', dnatChainName('spawns', cid)]);
  const flushed = await call('CHECK');
  await call('DEL');
  const gone = await call('CHECK');
  process.stdout.write(`${JSON.stringify([JSON.parse(flushed.stdout).msg, JSON.parse(gone.stdout).msg])}\n`);
  process.exit(0);
}
const steps: Record<string, Record<string, number>> = {};
for (const cmd of ['ADD', 'CHECK', 'DEL', 'DEL again']) {
  const before = new Map(toolRuns());
  const r = await handler({
    env: {
      PATH: process.env.PATH,
      CNI_COMMAND: cmd.split(' ')[0],
      CNI_CONTAINERID: cid,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/nonexistent',
    },
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
  });
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stdout} ${r.stderr}`);
  steps[cmd] = Object.fromEntries(
    [...toolRuns()].map(([t, n]) => [t, n - (before.get(t) ?? 0)]).filter(([, n]) => n !== 0),
  );
}
process.stdout.write(`${JSON.stringify(steps)}\n`);
