// The plugin entry: environment validation, config checks, version negotiation, VERSION, GC/STATUS,
// error propagation. Protocol-level failures are compared byte for byte with the reference bridge
// binary (they happen before the plugin touches anything).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeHandler, type CmdArgs, type PluginSpec } from '../../host/cni/skel.ts';
import { CniError } from '../../host/cni/errors.ts';
import { spawnPlugin } from '../../host/cni/invoke.ts';
import type { PluginResponse } from '../../host/cni/handler.ts';
import { prevResultOf, validAttachmentsOf } from '../../host/cni/netconf.ts';

const REF_BRIDGE = '/usr/lib/cni/bridge';
const DEBIAN_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];
const ALL = [...DEBIAN_VERSIONS, '1.1.0'];

interface Calls {
  add: CmdArgs[];
  del: CmdArgs[];
  check: CmdArgs[];
  gc: CmdArgs[];
  status: CmdArgs[];
}

function toy(versions: string[], extra: Partial<PluginSpec> = {}): { spec: PluginSpec; calls: Calls } {
  const calls: Calls = { add: [], del: [], check: [], gc: [], status: [] };
  const spec: PluginSpec = {
    name: 'bridge',
    versions,
    async add(a) {
      calls.add.push(a);
      return {
        cniVersion: '1.1.0',
        interfaces: [{ name: a.ifName, sandbox: a.netns }],
        ips: [{ address: '10.200.20.5/24', gateway: '10.200.20.1', interface: 0 }],
      };
    },
    async del(a) {
      calls.del.push(a);
    },
    async check(a) {
      calls.check.push(a);
    },
    ...extra,
  };
  return { spec, calls };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const env = (o: Record<string, string>): Record<string, string> => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: '/var/run/netns/none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/usr/lib/cni',
  ...o,
});
const without = (e: Record<string, string>, ...keys: string[]): Record<string, string> => {
  const out = { ...e };
  for (const k of keys) delete out[k];
  return out;
};
const conf = (o: Record<string, unknown> = {}): string =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'w2net', type: 'bridge', ...o });

function errorOf(r: PluginResponse): { code: number; msg: string; details?: string } {
  assert.is(r.exitCode, 1, `expected failure, got ${r.exitCode}: ${r.stdout}`);
  return JSON.parse(r.stdout);
}

// ---- differential against the reference binary --------------------------------------------------------

const D = suite('skel vs reference bridge (protocol errors)');

const cases: Array<[string, Record<string, string>, string]> = [
  ['all attachment variables missing', { CNI_COMMAND: 'ADD' }, conf()],
  [
    'DEL does not need CNI_NETNS',
    without(env({ CNI_COMMAND: 'DEL', CNI_IFNAME: 'eth0' }), 'CNI_NETNS', 'CNI_PATH'),
    conf(),
  ],
  ['CHECK needs everything', { CNI_COMMAND: 'CHECK' }, conf()],
  ['containerID with a slash', env({ CNI_CONTAINERID: '../x' }), conf()],
  ['containerID starting with a dot', env({ CNI_CONTAINERID: '.abc' }), conf()],
  ['ifname too long', env({ CNI_IFNAME: 'a23456789012345x' }), conf()],
  ['ifname .', env({ CNI_IFNAME: '.' }), conf()],
  ['ifname ..', env({ CNI_IFNAME: '..' }), conf()],
  ['ifname with /', env({ CNI_IFNAME: 'a/b' }), conf()],
  ['ifname with :', env({ CNI_IFNAME: 'a:b' }), conf()],
  ['ifname with a space', env({ CNI_IFNAME: 'a b' }), conf()],
  ['ifname with a tab', env({ CNI_IFNAME: 'a\tb' }), conf()],
  ['truncated JSON', env({}), '{"cniVersion":"1.0.0","name":"n"'],
  ['empty stdin', env({}), ''],
  ['bad literal', env({}), '{"name":"n","x":tru}'],
  ['garbage after the value', env({}), '{"name":"n"} x'],
  ['bad escape', env({}), '{"name":"n\\q"}'],
  ['array config', env({}), '[1]'],
  ['byte order mark', env({}), '\ufeff{"name":"n"}'],
  ['control character in a string', env({}), '{"name":"a\u0001"}'],
  ['single quotes', env({}), "{'name':'n'}"],
  ['name missing', env({}), '{"cniVersion":"1.0.0"}'],
  ['name empty', env({}), conf({ name: '' })],
  ['name is a number', env({}), conf({ name: 5 })],
  ['name is path-like', env({}), conf({ name: '../x' })],
  ['name with non-UTF-8 bytes', env({}), '{"cniVersion":"1.0.0","name":"a\xff"}'],
  ['cniVersion is a number', env({}), conf({ cniVersion: 1 })],
  ['cniVersion not supported', env({}), conf({ cniVersion: '9.9.9' })],
  ['cniVersion 1.0 is not 1.0.0', env({}), conf({ cniVersion: '1.0' })],
  ['unknown command with a valid config', env({ CNI_COMMAND: 'FOO' }), conf()],
  ['unknown command with {}', env({ CNI_COMMAND: 'FOO' }), '{}'],
  ['CHECK on 0.3.1', env({ CNI_COMMAND: 'CHECK' }), conf({ cniVersion: '0.3.1' })],
  ['CHECK without cniVersion (0.1.0)', env({ CNI_COMMAND: 'CHECK' }), '{"name":"n"}'],
  ['CHECK with an unparsable version', env({ CNI_COMMAND: 'CHECK' }), conf({ cniVersion: '1.0.f' })],
  ['CHECK with a 4-part version', env({ CNI_COMMAND: 'CHECK' }), conf({ cniVersion: '1.0.0.0' })],
  ['ADD with an unparsable version is an exact-match failure', env({}), conf({ cniVersion: '1.0.f' })],
];

for (const [label, e, stdin] of cases) {
  D(label, async () => {
    const input = label.includes('non-UTF-8') ? Buffer.from(stdin, 'latin1') : enc(stdin);
    const ref = await spawnPlugin(REF_BRIDGE, input, e);
    const ours = await makeHandler(toy(DEBIAN_VERSIONS).spec)({ env: e, stdin: input });
    assert.is(ours.exitCode, ref.exitCode);
    assert.is(ours.stdout, ref.stdout);
  });
}

D('no CNI_COMMAND: about text on stderr, exit 0, nothing on stdout', async () => {
  const ref = await spawnPlugin(REF_BRIDGE, enc(''), {});
  const ours = await makeHandler(toy(DEBIAN_VERSIONS).spec)({ env: {}, stdin: enc('') });
  assert.is(ours.exitCode, 0);
  assert.is(ref.exitCode, 0);
  assert.is(ours.stdout, '');
  assert.is(ref.stdout, '');
  assert.match(
    ours.stderr,
    /^CNI bridge plugin .+\nCNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0\n$/,
  );
  assert.is(ours.stderr.split('\n')[1], ref.stderr.split('\n')[1]);
});

D(
  'VERSION lists the supported versions (stdin ignored); cniVersion is our library version 1.1.0, Debian 1.1.1 says 1.0.0',
  async () => {
    const e = { CNI_COMMAND: 'VERSION' };
    const ref = JSON.parse((await spawnPlugin(REF_BRIDGE, enc('garbage'), e)).stdout);
    const r = await makeHandler(toy(DEBIAN_VERSIONS).spec)({ env: e, stdin: enc('garbage') });
    assert.is(r.exitCode, 0);
    assert.ok(r.stdout.endsWith('}\n'));
    const ours = JSON.parse(r.stdout);
    assert.equal(ours.supportedVersions, ref.supportedVersions);
    assert.is(ref.cniVersion, '1.0.0');
    assert.is(ours.cniVersion, '1.1.0');
  },
);

D(
  'v1.9.1 order: an invalid ifname is reported before a later missing variable (Debian 1.1.1 reports the missing one)',
  async () => {
    const e = without(env({ CNI_IFNAME: 'a/b' }), 'CNI_PATH');
    const ref = errorOf(await spawnPlugin(REF_BRIDGE, enc(conf()), e));
    assert.is(ref.msg, 'required env variables [CNI_PATH] missing');
    const ours = errorOf(await makeHandler(toy(ALL).spec)({ env: e, stdin: enc(conf()) }));
    assert.equal(ours, { code: 4, msg: 'interface name contains / or : or whitespace characters' });
  },
);

// ---- our behaviour ---------------------------------------------------------------------------------------

const S = suite('skel');

S('required variables: all missing ones at once, in the reference order', async () => {
  const h = makeHandler(toy(ALL).spec);
  assert.equal(errorOf(await h({ env: { CNI_COMMAND: 'ADD' }, stdin: enc(conf()) })), {
    code: 4,
    msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing',
  });
  assert.equal(errorOf(await h({ env: { CNI_COMMAND: 'DEL' }, stdin: enc(conf()) })), {
    code: 4,
    msg: 'required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing',
  });
  assert.equal(errorOf(await h({ env: { CNI_COMMAND: 'GC' }, stdin: enc(conf({ cniVersion: '1.1.0' })) })), {
    code: 4,
    msg: 'required env variables [CNI_PATH] missing',
  });
  assert.equal(errorOf(await h({ env: { CNI_COMMAND: 'STATUS' }, stdin: enc(conf({ cniVersion: '1.1.0' })) })), {
    code: 4,
    msg: 'required env variables [CNI_PATH] missing',
  });
});

S('interface name rules', async () => {
  const h = makeHandler(toy(ALL).spec);
  const msg = async (ifname: string): Promise<string> =>
    errorOf(await h({ env: env({ CNI_IFNAME: ifname }), stdin: enc(conf()) })).msg;
  assert.is(await msg('123456789012345678'), 'interface name is too long');
  assert.is(await msg('ééééééé✓'), 'interface name is too long'); // 8 characters, 17 bytes
  assert.is(await msg('a\u00a0b'), 'interface name contains / or : or whitespace characters');
  assert.is(await msg('a\u2003b'), 'interface name contains / or : or whitespace characters');
  const ok = await h({ env: env({ CNI_IFNAME: '123456789012345' }), stdin: enc(conf()) });
  assert.is(ok.exitCode, 0, ok.stdout);
});

S(
  'ADD: CmdArgs carry env, parsed config, cniVersion, name and (lazily) netconf; result printed in the config version',
  async () => {
    const { spec, calls } = toy(ALL);
    const e = env({ CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p', CNI_PATH: '/a::/b', EXTRA: 'x' });
    const r = await makeHandler(spec)({
      env: e,
      stdin: enc(
        conf({
          cniVersion: '0.4.0',
          IPAM: { type: 'host-local' },
          capabilities: { portMappings: true },
          RuntimeConfig: { portMappings: [] },
          args: { cni: { ips: ['10.0.0.1'] } },
        }),
      ),
    });
    assert.is(r.exitCode, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout), {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/none' }],
      ips: [{ version: '4', interface: 0, address: '10.200.20.5/24', gateway: '10.200.20.1' }],
      dns: {},
    });
    const a = calls.add[0]!;
    assert.is(a.command, 'ADD');
    assert.is(a.containerId, 'ctr1');
    assert.is(a.args, 'IgnoreUnknown=1;K8S_POD_NAME=p');
    assert.equal(a.path, ['/a', '/b']);
    assert.is(a.env.EXTRA, 'x');
    assert.is(a.cniVersion, '0.4.0');
    assert.is(a.name, 'w2net');
    assert.is(a.netconf.cniVersion, '0.4.0');
    assert.equal(a.netconf.ipam, { type: 'host-local' });
    assert.equal(a.netconf.capabilities, { portMappings: true });
    assert.equal(a.netconf.runtimeConfig, { portMappings: [] });
    assert.equal(a.netconf.args, { cni: { ips: ['10.0.0.1'] } });
    assert.is((a.conf as { IPAM: { type: string } }).IPAM.type, 'host-local');
  },
);

S('a config without cniVersion is 0.1.0 and gets a 0.1.0 result', async () => {
  const { spec, calls } = toy(ALL);
  const r = await makeHandler(spec)({ env: env({}), stdin: enc('{"name":"n","type":"bridge"}') });
  assert.equal(JSON.parse(r.stdout), {
    cniVersion: '0.1.0',
    ip4: { ip: '10.200.20.5/24', gateway: '10.200.20.1' },
    dns: {},
  });
  assert.is(calls.add[0]!.cniVersion, '0.1.0');
});

S('ADD whose result cannot be expressed in the config version fails with code 999', async () => {
  const { spec } = toy(ALL, {
    async add() {
      return { cniVersion: '1.0.0', interfaces: [{ name: 'br0' }] };
    },
  });
  assert.equal(errorOf(await makeHandler(spec)({ env: env({}), stdin: enc(conf({ cniVersion: '0.2.0' })) })), {
    code: 999,
    msg: 'cannot convert: no valid IP addresses',
  });
});

S('prevResult: parsed only when the plugin reads it, into the 1.x model; another family rejected then', async () => {
  const { spec, calls } = toy(ALL);
  const h = makeHandler(spec);
  const prev04 = {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'eth0' }],
    ips: [{ version: '4', interface: 0, address: '10.0.0.2/24' }],
    dns: {},
  };
  const r = await h({
    env: env({ CNI_COMMAND: 'DEL' }),
    stdin: enc(conf({ cniVersion: '0.4.0', prevResult: prev04 })),
  });
  assert.is(r.exitCode, 0, r.stdout);
  const parsed = {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'eth0' }],
    ips: [{ address: '10.0.0.2/24', interface: 0 }],
  };
  assert.equal(prevResultOf(calls.del[0]!), parsed);
  assert.equal(calls.del[0]!.netconf.prevResult, parsed);
  // a plugin that never reads prevResult (host-local) is not affected by one it cannot parse
  const other = enc(conf({ cniVersion: '1.0.0', prevResult: prev04 }));
  assert.is((await h({ env: env({ CNI_COMMAND: 'DEL' }), stdin: other })).exitCode, 0);
  const msg = 'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.3.1"';
  assert.throws(
    () => prevResultOf(calls.del[1]!),
    (e: Error) => e.message === msg,
  );
  const reading = toy(ALL, {
    async del(a) {
      void a.netconf.prevResult;
    },
  }).spec;
  assert.equal(errorOf(await makeHandler(reading)({ env: env({ CNI_COMMAND: 'DEL' }), stdin: other })), {
    code: 999,
    msg,
  });
  // the other netconf fields can be read without touching prevResult
  const fields = toy(ALL, {
    async del(a) {
      if (a.netconf.name !== 'w2net') throw new Error('name');
    },
  }).spec;
  assert.is((await makeHandler(fields)({ env: env({ CNI_COMMAND: 'DEL' }), stdin: other })).exitCode, 0);
});

S('thrown errors: CniError passes unchanged (delegated IPAM), anything else is 999 with its message', async () => {
  const typed = toy(ALL, {
    async add() {
      throw new CniError(11, 'try later', 'busy');
    },
  }).spec;
  assert.equal(errorOf(await makeHandler(typed)({ env: env({}), stdin: enc(conf()) })), {
    code: 11,
    msg: 'try later',
    details: 'busy',
  });
  const plain = toy(ALL, {
    async add() {
      throw new Error('no IP addresses available');
    },
  }).spec;
  assert.equal(errorOf(await makeHandler(plain)({ env: env({}), stdin: enc(conf()) })), {
    code: 999,
    msg: 'no IP addresses available',
  });
  const weird = toy(ALL, {
    async add() {
      throw 'a string';
    },
  }).spec; // eslint-disable-line no-throw-literal
  assert.equal(errorOf(await makeHandler(weird)({ env: env({}), stdin: enc(conf()) })), { code: 999, msg: 'a string' });
});

S(
  'skel does not decode the common fields; reading a.netconf reports wrong types as 999 with types.NetConf wording',
  async () => {
    const bad = [
      conf({ capabilities: { portMappings: 'yes' } }),
      conf({ ipam: 'host-local' }),
      conf({ dns: 5 }),
      conf({ prevResult: [] }),
    ];
    for (const stdin of bad)
      assert.is((await makeHandler(toy(ALL).spec)({ env: env({}), stdin: enc(stdin) })).exitCode, 0, stdin);
    const h = makeHandler(
      toy(ALL, {
        async add(a) {
          void a.netconf;
          return { cniVersion: '1.0.0', ips: [{ address: '10.200.20.5/24' }] };
        },
      }).spec,
    );
    assert.equal(errorOf(await h({ env: env({}), stdin: enc(bad[0]!) })), {
      code: 999,
      msg: 'json: cannot unmarshal string into Go struct field NetConf.capabilities of type bool',
    });
    assert.equal(errorOf(await h({ env: env({}), stdin: enc(bad[1]!) })), {
      code: 999,
      msg: 'json: cannot unmarshal string into Go struct field NetConf.ipam of type types.IPAM',
    });
    assert.equal(errorOf(await h({ env: env({}), stdin: enc(bad[3]!) })), {
      code: 999,
      msg: 'json: cannot unmarshal array into Go struct field NetConf.prevResult of type map[string]interface {}',
    });
  },
);

S('CHECK: needs config >= 0.4.0 and a plugin version >= the config', async () => {
  const old = makeHandler(toy(['0.1.0', '0.2.0', '0.3.0', '0.3.1']).spec);
  assert.equal(errorOf(await old({ env: env({ CNI_COMMAND: 'CHECK' }), stdin: enc(conf({ cniVersion: '0.4.0' })) })), {
    code: 1,
    msg: 'plugin version does not allow CHECK',
  });
  const { spec, calls } = toy(ALL);
  const r = await makeHandler(spec)({ env: env({ CNI_COMMAND: 'CHECK' }), stdin: enc(conf({ cniVersion: '0.4.0' })) });
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, '');
  assert.is(calls.check.length, 1);
});

S('GC and STATUS: 1.1.0 only; a plugin without a handler succeeds; valid attachments reach the plugin', async () => {
  const e = { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' };
  const noop = makeHandler(toy(ALL).spec);
  assert.equal(errorOf(await noop({ env: e, stdin: enc(conf()) })), {
    code: 1,
    msg: 'config version does not allow GC',
  });
  assert.equal(errorOf(await noop({ env: { ...e, CNI_COMMAND: 'STATUS' }, stdin: enc(conf()) })), {
    code: 1,
    msg: 'config version does not allow STATUS',
  });
  assert.is((await noop({ env: e, stdin: enc(conf({ cniVersion: '1.1.0' })) })).exitCode, 0);
  assert.is(
    (await noop({ env: { ...e, CNI_COMMAND: 'STATUS' }, stdin: enc(conf({ cniVersion: '1.1.0' })) })).exitCode,
    0,
  );
  const older = makeHandler(toy(DEBIAN_VERSIONS).spec);
  assert.equal(errorOf(await older({ env: e, stdin: enc(conf({ cniVersion: '1.1.0' })) })), {
    code: 1,
    msg: 'plugin version does not allow GC',
  });

  const { spec, calls } = toy(ALL, {
    async gc(a) {
      calls.gc.push(a);
    },
    async status() {
      throw new CniError(50, 'not ready');
    },
  });
  const h = makeHandler(spec);
  const valid = [{ containerID: 'c1', ifname: 'eth0' }];
  assert.is(
    (await h({ env: e, stdin: enc(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid })) })).exitCode,
    0,
  );
  assert.equal(validAttachmentsOf(calls.gc[0]!), valid);
  assert.equal(calls.gc[0]!.netconf.validAttachments, valid);
  assert.equal(errorOf(await h({ env: { ...e, CNI_COMMAND: 'STATUS' }, stdin: enc(conf({ cniVersion: '1.1.0' })) })), {
    code: 50,
    msg: 'not ready',
  });
});

S("ADD/DEL into the plugin's own netns is refused up front unless CNI_NETNS_OVERRIDE", async () => {
  const { spec, calls } = toy(ALL);
  const h = makeHandler(spec);
  const own = env({ CNI_NETNS: '/proc/self/ns/net' });
  assert.equal(errorOf(await h({ env: own, stdin: enc(conf()) })), {
    code: 8,
    msg: "plugin's netns and netns from CNI_NETNS should not be the same",
  });
  assert.is(calls.add.length, 0);
  for (const v of ['1', 'true', 'TRUE']) {
    const r = await h({ env: { ...own, CNI_NETNS_OVERRIDE: v }, stdin: enc(conf()) });
    assert.is(r.exitCode, 0, v);
  }
});

S('malformed input never throws out of the handler: 1 MB config, deep nesting, non-UTF-8', async () => {
  const h = makeHandler(toy(ALL).spec);
  const big = conf({ padding: 'x'.repeat(1 << 20) });
  assert.is((await h({ env: env({}), stdin: enc(big) })).exitCode, 0);
  const truncatedBig = big.slice(0, big.length - 10);
  assert.equal(errorOf(await h({ env: env({}), stdin: enc(truncatedBig) })), {
    code: 6,
    msg: 'error unmarshall network config: unexpected end of JSON input',
  });
  const deep = `{"name":"n","x":${'['.repeat(100000)}${']'.repeat(100000)}}`;
  const r = await h({ env: env({}), stdin: enc(deep) });
  assert.ok(r.exitCode === 0 || JSON.parse(r.stdout).code > 0);
  const bad = new Uint8Array([...enc('{"name":"n","type":"b'), 0xc3, 0x28, ...enc('"}')]);
  assert.is((await h({ env: env({}), stdin: bad })).exitCode, 0);
});

D.run();
S.run();
