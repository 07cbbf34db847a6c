// The kubenet CNI meta-plugin (`"type": "kubenet"`), black-box: our native executable under the name `kubenet`
// in a private plugin dir, driven through the runtime like containerd/CRI-O would. Pod CIDR from the config or
// from the ipRanges capability; hostPorts and shaping delegated to portmap and bandwidth; bad configs change
// nothing. Subnets 10.200.108-109.0/24, fd00:200:108::/64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CniError } from '../../host/cni/errors.ts';
import { parseConfList } from '../../host/runtime/config.ts';
import { CniRuntime, type RuntimeConf } from '../../host/runtime/runtime.ts';
import { cniBinDir } from '../../host/paths.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { natSave, removeUnusedHostportChains } from '../_lib/firewall.ts';

const sb = new Sandbox();
const T = suite('kubenet CNI meta-plugin');
let bin = '';
let rt: CniRuntime;
let ns: TestNetns;
let ipam = '';
const leases = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => /^[0-9a-f.:]+$/.test(f) && /[.:]/.test(f)) : [];
const list = (conf: Record<string, unknown>) =>
  parseConfList(
    new TextEncoder().encode(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: `${sb.prefix}kn`,
        plugins: [
          {
            type: 'kubenet',
            bridge: sb.name('kb'),
            dataDir: ipam,
            nonMasqueradeCIDR: '0.0.0.0/0',
            hairpinMode: 'none',
            ...conf,
          },
        ],
      }),
    ),
  );
const att = (id: string, extra: Partial<RuntimeConf> = {}): RuntimeConf => ({
  containerId: `${sb.prefix}${id}`,
  netns: ns.path,
  ifName: 'eth0',
  ...extra,
});

T.before(async () => {
  bin = sb.dir('bin');
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth'])
    symlinkSync(join(cniBinDir, p), join(bin, p));
  symlinkSync(join(cniBinDir, 'bridge'), join(bin, 'kubenet')); // the executable dispatches on its name
  ipam = sb.dir('ipam');
  rt = new CniRuntime({ path: [bin], cacheDir: sb.dir('cache'), env: cleanEnv(), onStderr: () => {} });
  ns = await sb.netns('m');
});
T.after(async () => {
  for (const b of ['kb', 'kc']) await run('ip', ['link', 'delete', sb.name(b)]);
  await removeUnusedHostportChains();
  await sb.cleanup();
});

T('VERSION: chaining versions only', async () => {
  const info = await rt.versionInfo('kubenet');
  assert.ok(info.supportedVersions.includes('1.0.0'));
  assert.not.ok(info.supportedVersions.includes('0.2.0'));
});

T('pod CIDR from the config: dual-stack ADD, CHECK, DEL, repeated DEL', async () => {
  const l = list({ podCIDR: '10.200.108.0/24,fd00:200:108::/64' });
  const r = await rt.addNetworkList(l, att('a'));
  assert.equal(
    r.result.ips!.map((i) => i.address),
    ['10.200.108.2/24', 'fd00:200:108::2/64'],
  );
  assert.equal(
    r.result.ips!.map((i) => i.gateway),
    ['10.200.108.1', 'fd00:200:108::1'],
  );
  assert.equal(
    r.result.routes!.map((x) => x.dst),
    ['0.0.0.0/0', '::/0'],
  );
  assert.is((await run('ip', ['netns', 'exec', ns.name, 'ping', '-c1', '-W2', '10.200.108.1'])).code, 0);
  await rt.checkNetworkList(l, att('a'));
  await rt.delNetworkList(l, att('a'));
  await rt.delNetworkList(l, att('a'));
  assert.equal(leases(join(ipam, `${sb.prefix}kn`)), []);
  assert.is((await run('ip', ['-n', ns.name, 'link', 'show', 'eth0'])).code !== 0, true);
});

T('pod CIDR, host ports and shaping from capabilities (as a kubelet cni plugin would send them)', async () => {
  const l = list({ bridge: sb.name('kc'), capabilities: { ipRanges: true, portMappings: true, bandwidth: true } }); // a bridge keeps its first gateway address
  const a = att('b', {
    capabilityArgs: {
      ipRanges: [[{ subnet: '10.200.109.0/24' }]],
      portMappings: [{ hostPort: 30908, containerPort: 80, protocol: 'tcp', hostIP: '' }],
      bandwidth: { ingressRate: 8_000_000, ingressBurst: 2147483647 },
    },
  });
  const r = await rt.addNetworkList(l, a);
  assert.equal(
    r.result.ips!.map((i) => i.address),
    ['10.200.109.2/24'],
  );
  assert.ok((await natSave(4)).some((x) => x.includes('--dport 30908') && x.includes('10.200.109.2:80')));
  const veth = r.result.interfaces!.find((i) => !i.sandbox && i.name.startsWith('veth'))!.name;
  assert.match((await run('tc', ['qdisc', 'show', 'dev', veth])).stdout, /tbf .* rate 8Mbit/);
  await rt.delNetworkList(l, a);
  assert.not.ok((await natSave(4)).some((x) => x.includes('--dport 30908')));
  assert.equal(leases(join(ipam, `${sb.prefix}kn`)), []);
});

T('bad configs are errors that change nothing', async () => {
  const before = (await run('ip', ['-o', 'link'])).stdout.split('\n').length;
  for (const [conf, msg] of [
    [{}, /no pod CIDR/],
    [{ podCIDR: 'garbage' }, /invalid CIDR address: garbage/],
    [{ podCIDR: '10.200.108.0/24', hairpinMode: 'sideways' }, /unknown value: "sideways"/],
    [{ podCIDR: '10.200.108.0/24', mtu: 'big' }, /cannot unmarshal string/],
  ] as const) {
    try {
      await rt.addNetworkList(list(conf), att('c'));
      assert.unreachable(JSON.stringify(conf));
    } catch (e) {
      assert.instance(e, CniError);
      assert.match((e as Error).message, msg);
    }
  }
  assert.is((await run('ip', ['-o', 'link'])).stdout.split('\n').length, before);
  assert.is((await run('ip', ['-n', ns.name, 'link', 'show', 'eth0'])).code !== 0, true);
});

T.run();
