// Tests of the differential harness itself (tests/_lib/oracle.ts): it calls plugins exactly as cni-exec.sh
// (libcni) does, and two runs of the reference on the same scenario snapshot identically.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../_lib/sandbox.ts';
import { run } from '../_lib/run.ts';
import {
  OracleRun,
  cniExecScript,
  compareWithReference,
  diffSnapshots,
  referenceNames,
  type OracleCase,
} from '../_lib/oracle.ts';

const test = suite('oracle');
const sb = new Sandbox();
test.after(() => sb.cleanup());

// A plugin that records its stdin and CNI_* env and answers with its prevResult (or a fixed result).
const CAPTURE = `#!/bin/sh
dir=$(dirname "$0")/../calls
n=$(ls "$dir" | wc -l)
f="$dir/$(printf %03d "$n")-$CNI_COMMAND-$(basename "$0")"
cat > "$f.stdin"
env | grep '^CNI_' | sort > "$f.env"
if [ "$CNI_COMMAND" = ADD ]; then
  jq -c '.prevResult // {"cniVersion":.cniVersion,"interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.200.81.9/24","interface":0}]}' "$f.stdin"
fi
`;

function captureDir(label: string): { bin: string; calls: string } {
  const root = sb.dir(label);
  const bin = join(root, 'bin');
  const calls = join(root, 'calls');
  for (const d of [bin, calls]) mkdirSync(d, { recursive: true });
  return { bin, calls };
}

test('calls plugins with the same stdin and env as cni-exec.sh (ADD, CHECK, DEL of a conflist)', async () => {
  const conflist = {
    cniVersion: '1.0.0',
    name: `oracle-${sb.prefix}`,
    plugins: [
      { type: 'capa', someField: 1 },
      { type: 'capb', capabilities: { portMappings: true, bandwidth: false } },
      { type: 'capc', capabilities: { bandwidth: true }, runtimeConfig: { kept: true } },
    ],
  };
  const caps = { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }], bandwidth: { ingressRate: 8 } };
  const captured: Record<string, string[]> = {};
  for (const who of ['sh', 'ts']) {
    const { bin, calls } = captureDir(who);
    for (const t of ['capa', 'capb', 'capc']) {
      writeFileSync(join(bin, t), CAPTURE);
      chmodSync(join(bin, t), 0o755);
    }
    const cache = sb.dir(`cache${who}`);
    const c: OracleCase = {
      config: conflist,
      netns: '/var/run/netns/none',
      containerId: 'cid1',
      ifName: 'eth0',
      capabilityArgs: caps,
      cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=p',
    };
    if (who === 'sh') {
      const conf = join(sb.dir('conf'), 'net.conflist');
      writeFileSync(conf, JSON.stringify(conflist));
      const env = { CNI_PATH: bin, CNI_CACHE_DIR: cache, CNI_ARGS: c.cniArgs };
      for (const cmd of ['ADD', 'CHECK', 'DEL']) {
        const r = await run(cniExecScript, [cmd, c.netns, c.containerId, c.ifName, conf, JSON.stringify(caps)], {
          env: env as Record<string, string>,
        });
        assert.is(r.code, 0, r.stderr);
      }
    } else {
      const runner = new OracleRun('reference', sb, { cniPath: bin });
      for (const cmd of ['ADD', 'CHECK', 'DEL'] as const) {
        const o = await runner.exec(cmd, c);
        assert.is(o.exitCode, 0, JSON.stringify(o.error));
      }
    }
    const files = readdirSync(calls).sort();
    captured[who] = files.map((f) => {
      const text = readFileSync(join(calls, f), 'utf8');
      if (f.endsWith('.stdin')) return `${f}: ${JSON.stringify(JSON.parse(text))}`;
      return `${f}: ${text
        .split('\n')
        .filter((l) => !l.startsWith('CNI_PATH=') && !l.startsWith('CNI_CACHE_DIR='))
        .join(';')}`;
    });
  }
  assert.equal(captured.ts!.length, 18); // 3 commands × 3 plugins × (stdin, env)
  assert.equal(captured.ts, captured.sh);
  const addB = JSON.parse(
    captured
      .ts!.find((l) => l.includes('ADD-capb.stdin'))!
      .split(': ')
      .slice(1)
      .join(': '),
  );
  assert.equal(addB.runtimeConfig, { portMappings: caps.portMappings });
});

test('two reference runs of bridge+portmap+bandwidth snapshot identically (random names and MACs masked)', async () => {
  const cmp = await compareWithReference({
    impls: ['reference', 'reference'],
    prepare: async ({ sb: box, token }) => {
      const pod = await box.netns('pod');
      const dataDir = box.dir('ipam');
      return {
        config: {
          cniVersion: '1.0.0',
          name: `orc-${token}`,
          plugins: [
            {
              type: 'bridge',
              bridge: box.name('br'),
              isGateway: true,
              ipMasq: true,
              hairpinMode: true,
              ipam: {
                type: 'host-local',
                dataDir,
                ranges: [[{ subnet: '10.200.81.0/24' }]],
                routes: [{ dst: '0.0.0.0/0' }],
              },
            },
            { type: 'portmap', capabilities: { portMappings: true }, snat: true },
            { type: 'bandwidth', capabilities: { bandwidth: true } },
          ],
        },
        netns: pod.path,
        containerId: `orc-${token}`,
        ifName: 'eth0',
        capabilityArgs: {
          portMappings: [{ hostPort: 18180, containerPort: 8080, protocol: 'tcp' }],
          bandwidth: { ingressRate: 10000000, ingressBurst: 1000000, egressRate: 20000000, egressBurst: 1000000 },
        },
        scope: { dataDir, sysctls: ['net/ipv4/conf/*/route_localnet'], podSysctls: ['net/ipv4/conf/*/arp_notify'] },
      };
    },
  });
  assert.is(cmp.diff, '', cmp.diff);
  const [add, check, del] = cmp.records.reference;
  assert.is(add!.outcome.exitCode, 0, JSON.stringify(add!.outcome.error));
  // Debian 1.1.1 portmap CHECK fails for IPv4-only pods (containernetworking/plugins#819).
  assert.match(String(check!.outcome.error?.msg), /could not check ipv6 dnat/);
  assert.is(del!.outcome.exitCode, 0, JSON.stringify(del!.outcome.error));
  const text = JSON.stringify(add!.snapshot);
  const names = referenceNames(`orc-${cmp.token}`, `orc-${cmp.token}`);
  for (const needle of [
    '<veth1>',
    '<mac1>',
    '<sb>br',
    names.ifb,
    names.masqChain,
    names.dnatChain,
    '"tbf"',
    'mirred',
    '10.200.81.2/24',
    '"route_localnet"'.slice(1, -1),
  ]) {
    assert.ok(text.includes(needle), `snapshot after ADD mentions ${needle}`);
  }
  const after = JSON.stringify(del!.snapshot);
  for (const gone of [names.ifb, names.masqChain, names.dnatChain])
    assert.not.ok(after.includes(gone), `gone after DEL: ${gone}`);
  const state = del!.snapshot.state as Record<string, unknown>;
  assert.equal(Object.keys(state).sort(), [`orc-${cmp.token}/last_reserved_ip.0`, `orc-${cmp.token}/lock`]);
});

test('diffSnapshots shows what differs', () => {
  assert.is(diffSnapshots({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }), '');
  const d = diffSnapshots({ a: 1, b: 'x' }, { a: 2, b: 'x' });
  assert.ok(d.includes('-   "a": 1') && d.includes('+   "a": 2'), d);
});

test.run();
