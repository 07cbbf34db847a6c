// The core's range validation and first allocation against the reference host-local binary
// (Debian's containernetworking-plugins in /usr/lib/cni): pure config paths, a private dataDir, no namespaces.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { run } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { parseRangeSets, Allocator, CoreError, type RangeConfig } from '../../host/core/index.ts';

const HOST_LOCAL = '/usr/lib/cni/host-local';
const sandbox = new Sandbox();
const s = suite('core: ranges and first allocation vs the reference host-local');
s.after(() => sandbox.cleanup());

async function reference(sets: RangeConfig[][], n: number): Promise<{ msg?: string; ips?: string[] }> {
  const conf = {
    cniVersion: '1.0.0',
    name: `corechk${n}`,
    ipam: { type: 'host-local', dataDir: sandbox.dir('ipam'), ranges: sets },
  };
  const env = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: `core${n}`,
    CNI_NETNS: '/proc/self/ns/net',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
  };
  const r = await run(HOST_LOCAL, [], { input: JSON.stringify(conf), env, timeoutMs: 10_000 });
  const out = JSON.parse(r.stdout);
  return r.code === 0 ? { ips: out.ips.map((x: { address: string }) => x.address.split('/')[0]) } : { msg: out.msg };
}

function ours(sets: RangeConfig[][]): { msg?: string; ips?: string[] } {
  try {
    const parsed = parseRangeSets(sets);
    return {
      ips: parsed.map((set) => {
        const a = new Allocator(set);
        const ip = a.nextFree();
        a.dispose();
        return ip!;
      }),
    };
  } catch (e) {
    assert.instance(e, CoreError);
    return { msg: (e as Error).message };
  }
}

const cases: Array<[string, RangeConfig[][]]> = [
  ['/31 too small', [[{ subnet: '10.0.0.1/31' }]]],
  ['IPv6 host bits', [[{ subnet: '2001:db8:1::1/64' }]]],
  ['start after end', [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.40' }]]],
  ['rangeEnd outside', [[{ subnet: '10.0.0.0/24', rangeEnd: '10.0.1.1' }]]],
  ['overlap inside a set', [[{ subnet: '10.1.0.0/22' }, { subnet: '10.1.3.0/24' }]]],
  ['overlap between sets', [[{ subnet: '10.2.0.0/24' }], [{ subnet: '10.2.0.0/16' }]]],
  ['mixed families', [[{ subnet: '10.1.0.0/24' }, { subnet: '2001:db8:5::/64' }]]],
  ['IPv4-mapped subnet', [[{ subnet: '::ffff:10.0.0.0/120' }]]],
  ['IPv4-mapped rangeStart outside', [[{ subnet: '10.0.0.0/24', rangeStart: '::ffff:10.0.1.5' }]]],
  ['bad CIDR text', [[{ subnet: '10.0.0.0/33' }]]],
  ['prefix with a leading zero', [[{ subnet: '10.3.0.0/024' }]]],
  ['custom gateway .254', [[{ subnet: '10.4.0.0/24', gateway: '10.4.0.254' }]]],
  ['gateway of the other family', [[{ subnet: '10.5.0.0/29', gateway: '::a00:2' }]]],
  [
    'dual stack, several ranges',
    [
      [{ subnet: '10.6.0.0/30' }, { subnet: '10.6.1.0/24' }],
      [{ subnet: 'fd00:200::/64', rangeStart: 'fd00:200::1:0' }],
    ],
  ],
  ['rangeStart = network', [[{ subnet: '10.7.0.0/24', rangeStart: '10.7.0.0', gateway: '10.7.0.9' }]]],
];
cases.forEach(([name, sets], i) => {
  s(name, async () => {
    if (!existsSync(HOST_LOCAL)) throw new Error(`${HOST_LOCAL} is missing (scripts/setup.sh installs it)`);
    assert.equal(ours(sets), await reference(sets, i));
  });
});

s.run();
