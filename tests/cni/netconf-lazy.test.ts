// skel reads only what the reference's skel reads (name, cniVersion); each plugin decodes the rest itself. So a
// malformed common field (dns, capabilities, prevResult) that a plugin does not have is ignored (host-local), and one
// it has is reported with the plugin's struct name and prefix. Differential: same exit code, same parsed stdout,
// and for host-local the same files in a private data directory, against /usr/lib/cni (Debian 1.1.1).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../_lib/sandbox.ts';
import {
  callPlugin,
  impls,
  parsedOutput,
  referenceStateAsV191,
  stateOf,
  type Call,
  type Impl,
} from '../plugins/host-local/harness.ts';

const sb = new Sandbox();
/** host-local never opens CNI_NETNS; a path that does not exist is accepted by both (and is not our own netns). */
const noNetns = `/var/run/netns/${sb.prefix}-none`;

type Conf = Record<string, unknown>;

interface Outcome {
  code: number;
  out: unknown;
  state?: Record<string, string>;
}

type DataDirs = Record<Impl, string>;

function dataDirs(): DataDirs {
  return { reference: sb.dir('reference-data'), ours: sb.dir('ours-data') };
}

/** One call per implementation, each with its own data directory (fresh unless given); `withDataDir` compares its files. */
async function both(
  call: (impl: Impl, dataDir: string) => Call,
  withDataDir: boolean,
  dirs = dataDirs(),
): Promise<Record<Impl, Outcome>> {
  const res = {} as Record<Impl, Outcome>;
  for (const impl of impls) {
    const dataDir = dirs[impl];
    const r = await callPlugin(impl, call(impl, dataDir));
    const out: Outcome = { code: r.code, out: parsedOutput(r.stdout) };
    if (withDataDir) out.state = impl === 'reference' ? referenceStateAsV191(stateOf(dataDir)) : stateOf(dataDir);
    res[impl] = out;
  }
  return res;
}

function assertSame(r: Record<Impl, Outcome>, label: string, wantCode: number): void {
  assert.equal(r.ours, r.reference, label);
  assert.is(
    r.reference.code,
    wantCode,
    `${label}: reference exit ${r.reference.code}: ${JSON.stringify(r.reference.out)}`,
  );
}

// ---- host-local: fields it does not have are ignored, its own ipam wording ------------------------------

const HL = suite('lazy netconf: host-local vs reference');
HL.after(async () => {
  await sb.cleanup();
});

const hlConf = (dataDir: string, extra: Conf, version = '1.0.0'): Conf => ({
  cniVersion: version,
  name: 'lazynet',
  type: 'host-local',
  ipam: { type: 'host-local', subnet: '10.200.20.0/24', dataDir },
  ...extra,
});

const hlSucceeds: Array<[string, Conf]> = [
  ['dns is a number', { dns: 5 }],
  ['dns.nameservers is a string', { dns: { nameservers: 'x' } }],
  ['capabilities is an array', { capabilities: [] }],
  ['capabilities value is a string', { capabilities: { portMappings: 'yes' } }],
  ['prevResult is a number', { prevResult: 5 }],
  [
    'prevResult of another version family',
    { prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.200.20.9/24' }] } },
  ],
  ['prevResult with an unparsable address', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
  ['cni.dev/valid-attachments is a string', { 'cni.dev/valid-attachments': 'x' }],
];

for (const [label, extra] of hlSucceeds) {
  HL(`ADD, CHECK, DEL succeed like the reference: ${label}`, async () => {
    const dirs = dataDirs();
    for (const command of ['ADD', 'CHECK', 'DEL'] as const) {
      const r = await both(
        (_, dataDir) => ({
          command,
          conf: hlConf(dataDir, extra),
          containerId: 'ctr-lazy',
          ifName: 'eth0',
          netns: noNetns,
        }),
        true,
        dirs,
      );
      assertSame(r, `${command} ${label}`, 0);
      if (command === 'ADD')
        assert.ok(
          Object.keys(r.ours.state!).some((f) => f.endsWith('/10.200.20.2')),
          'ADD reserved an address',
        );
    }
  });
}

HL('ADD succeeds with a 0.4.0 result printed byte-equal (malformed dns and prevResult together)', async () => {
  const out = {} as Record<Impl, string>;
  for (const impl of impls) {
    const r = await callPlugin(impl, {
      command: 'ADD',
      conf: hlConf(sb.dir(`${impl}-04`), { dns: [], prevResult: { cniVersion: '1.0.0' } }, '0.4.0'),
      containerId: 'ctr-lazy',
      ifName: 'eth0',
      netns: noNetns,
    });
    assert.is(r.code, 0, `${impl}: ${r.stdout}`);
    out[impl] = r.stdout;
  }
  assert.is(out.ours, out.reference);
});

const hlFails: Array<[string, Conf]> = [
  ['ipam is a number', { ipam: 5 }],
  ['ipam is a string', { ipam: 'host-local' }],
  ['ipam is an array', { ipam: [] }],
  ['ipam.type is a number', { ipam: { type: 5, subnet: '10.200.20.0/24' } }],
  ['ipam.type is an object', { ipam: { type: {}, subnet: '10.200.20.0/24' } }],
];

for (const [label, extra] of hlFails) {
  HL(`ADD/DEL fail with the reference's error and write nothing: ${label}`, async () => {
    for (const command of ['ADD', 'DEL'] as const) {
      const r = await both((_, dataDir) => {
        const conf = hlConf(dataDir, {});
        return { command, conf: { ...conf, ...extra }, containerId: 'ctr-lazy', ifName: 'eth0', netns: noNetns };
      }, true);
      assertSame(r, `${command} ${label}`, 1);
      assert.equal(r.ours.state, {}, label);
    }
  });
}

// ---- plugins whose struct embeds types.NetConf: their own prefix and struct name --------------------------

const E = suite(
  'lazy netconf: bridge, portmap, bandwidth, loopback vs reference (decode errors before anything is touched)',
);

E.after(async () => {
  await sb.cleanup();
});

const plain = (type: string, extra: Conf, version = '1.0.0'): Conf => ({
  cniVersion: version,
  name: 'lazynet',
  type,
  ...extra,
});

const embedded: Array<[string, 'ADD' | 'DEL' | 'CHECK', Conf]> = [
  ['bridge', 'ADD', { ipam: 5 }],
  ['bridge', 'ADD', { ipam: { type: 5 } }],
  ['bridge', 'ADD', { dns: 5 }],
  ['bridge', 'ADD', { dns: { search: [1] } }],
  ['bridge', 'ADD', { capabilities: [] }],
  ['bridge', 'ADD', { prevResult: 5 }],
  ['bridge', 'ADD', { mtu: 'x', ipam: 5 }], // Go reports the first bad key in document order
  ['bridge', 'ADD', { ipam: 5, mtu: 'x' }],
  ['bridge', 'DEL', { ipam: { type: 5 } }],
  ['portmap', 'ADD', { ipam: 5 }],
  ['portmap', 'ADD', { capabilities: { portMappings: 1 } }],
  ['portmap', 'ADD', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
  ['portmap', 'DEL', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
  ['portmap', 'CHECK', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
  ['bandwidth', 'ADD', { ipam: 5 }],
  ['bandwidth', 'ADD', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
  ['bandwidth', 'DEL', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
  ['bandwidth', 'ADD', { ingressRate: 'x', ipam: 5 }],
  ['loopback', 'ADD', { dns: 5 }],
  ['loopback', 'ADD', { ipam: { type: 5 } }],
  ['loopback', 'ADD', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }],
];

for (const [type, command, extra] of embedded) {
  E(`${type} ${command} ${JSON.stringify(extra)}`, async () => {
    const r = await both(
      () => ({ type, command, conf: plain(type, extra), containerId: 'ctr-lazy', ifName: 'eth0', netns: noNetns }),
      false,
    );
    assertSame(r, `${type} ${command}`, 1);
  });
}

const succeeding: Array<[string, string, 'DEL', Conf]> = [
  // the reference's bridge DEL never parses prevResult; without a netns and IPAM it does nothing
  [
    'bridge DEL ignores a prevResult of another version family',
    'bridge',
    'DEL',
    { prevResult: { cniVersion: '0.4.0' } },
  ],
  [
    'bridge DEL ignores a prevResult that does not parse',
    'bridge',
    'DEL',
    { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } },
  ],
  // loopback's DEL reads no config at all
  ['loopback DEL ignores a malformed config', 'loopback', 'DEL', { dns: 5, prevResult: 5 }],
];

for (const [label, type, command, extra] of succeeding) {
  E(label, async () => {
    const r = await both(
      () => ({ type, command, conf: plain(type, extra), containerId: 'ctr-lazy', ifName: 'eth0', netns: '' }),
      false,
    );
    assertSame(r, label, 0);
  });
}

E(
  'Debian 1.1.1 names only its own versions in a wrong-family prevResult error; the rest of the message is equal',
  async () => {
    const conf = plain('loopback', { prevResult: { cniVersion: '0.4.0' } });
    const out = {} as Record<Impl, { msg: string }>;
    for (const impl of impls) {
      const r = await callPlugin(impl, {
        type: 'loopback',
        command: 'ADD',
        conf,
        containerId: 'ctr-lazy',
        ifName: 'eth0',
        netns: noNetns,
      });
      assert.is(r.code, 1, impl);
      out[impl] = JSON.parse(r.stdout) as { msg: string };
    }
    const prefix = 'failed to parse prevResult: could not parse prevResult: result type supports ';
    assert.is(out.reference.msg, `${prefix}[1.0.0] but unmarshalled CNIVersion is "0.4.0"`);
    assert.is(out.ours.msg, `${prefix}[1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"`);
  },
);

HL.run();
E.run();
