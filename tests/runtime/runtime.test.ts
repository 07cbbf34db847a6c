// The libcni-equivalent runtime with recording plugins run in-process (what each plugin receives is
// asserted), plus exec of real executables for failures and VERSION probing of the reference binaries.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHandler } from '../../host/cni/skel.ts';
import { CniError } from '../../host/cni/errors.ts';
import type { PluginHandler, PluginRequest } from '../../host/cni/handler.ts';
import type { Result } from '../../host/cni/types.ts';
import { parseConfList, type NetworkConfigList } from '../../host/runtime/config.ts';
import { decodeCacheEntry, writeCacheEntry } from '../../host/runtime/cache.ts';
import { CniRuntime, type RuntimeConf } from '../../host/runtime/runtime.ts';
import { inProcessExecutor } from '../../host/plugins/dispatch.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const sb = new Sandbox();

interface Call {
  type: string;
  command: string;
  env: Record<string, string | undefined>;
  stdin: Record<string, unknown>;
  text: string;
}
let calls: Call[] = [];
const failures: Record<string, CniError | undefined> = {};

/** A plugin that records its input; ADD returns prevResult plus one interface named after it. */
function recorder(
  type: string,
  versions = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
): () => Promise<PluginHandler> {
  const inner = makeHandler({
    name: type,
    versions,
    async add(a) {
      const prev: Result = a.netconf.prevResult ?? {
        cniVersion: '1.1.0',
        ips: [{ address: '10.200.20.9/24', gateway: '10.200.20.1' }],
      };
      return { ...prev, interfaces: [...(prev.interfaces ?? []), { name: `${type}-if` }] };
    },
    async del() {},
    async check() {},
    async gc() {},
    async status() {},
  });
  return async () => async (req: PluginRequest) => {
    const text = new TextDecoder().decode(req.stdin);
    calls.push({
      type,
      command: req.env.CNI_COMMAND ?? '',
      env: { ...req.env },
      stdin: text ? JSON.parse(text) : {},
      text,
    });
    const f = failures[`${type}/${req.env.CNI_COMMAND}`];
    if (f) return { exitCode: 1, stdout: JSON.stringify(f.toJSON()), stderr: 'log line\n' };
    return inner(req);
  };
}

const table = { p1: recorder('p1'), p2: recorder('p2'), p3: recorder('p3'), old: recorder('old', ['0.1.0', '0.2.0']) };
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

function chain(version: string, extra: Record<string, unknown> = {}): NetworkConfigList {
  return parseConfList(
    enc({
      cniVersion: version,
      name: `${sb.prefix}net`,
      ...extra,
      plugins: [
        { type: 'p1', name: 'ignored', cniVersion: '0.0.1', ipam: { type: 'host-local' } },
        { type: 'p2', capabilities: { portMappings: true, bandwidth: false, mac: true } },
        { type: 'p3', runtimeConfig: { static: 1 } },
      ],
    }),
  );
}

let cacheDir = '';
let runtime: CniRuntime;
const att: RuntimeConf = {
  containerId: 'ctr-1',
  netns: '/var/run/netns/w2-none',
  ifName: 'eth0',
  args: [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAME', 'p'],
  ],
  capabilityArgs: {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { ingressRate: 1 },
  },
};

const R = suite('runtime');
R.before(() => {
  cacheDir = sb.dir('cache');
  runtime = new CniRuntime({
    path: ['/nonexistent'],
    cacheDir,
    env: { KEEP: 'me' },
    exec: inProcessExecutor(table),
    onStderr: () => {},
  });
});
R.before.each(() => {
  calls = [];
  for (const k of Object.keys(failures)) delete failures[k];
});
R.after(() => sb.cleanup());

R(
  'ADD: in order, name/version injected, prevResult chained, runtimeConfig only for declared+supplied, result cached',
  async () => {
    const list = chain('1.0.0');
    const { result } = await runtime.addNetworkList(list, att);
    assert.equal(
      calls.map((c) => `${c.type}:${c.command}`),
      ['p1:ADD', 'p2:ADD', 'p3:ADD'],
    );
    const [c1, c2, c3] = calls as [Call, Call, Call];
    assert.is(c1.stdin.name, `${sb.prefix}net`);
    assert.is(c1.stdin.cniVersion, '1.0.0');
    assert.not.ok('prevResult' in c1.stdin);
    assert.not.ok('runtimeConfig' in c1.stdin);
    // Keys sorted, compact, like libcni's Go map marshalling.
    assert.is(
      c1.text,
      JSON.stringify({ cniVersion: '1.0.0', ipam: { type: 'host-local' }, name: `${sb.prefix}net`, type: 'p1' }),
    );
    assert.equal(c2.stdin.prevResult, {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'p1-if' }],
      ips: [{ address: '10.200.20.9/24', gateway: '10.200.20.1' }],
    });
    assert.equal(c2.stdin.runtimeConfig, { portMappings: att.capabilityArgs!.portMappings });
    assert.equal(c2.stdin.capabilities, { bandwidth: false, mac: true, portMappings: true }); // not stripped
    assert.equal(c3.stdin.runtimeConfig, { static: 1 }); // nothing declared: the file's value passes through
    assert.equal((c3.stdin.prevResult as Result).interfaces, [{ name: 'p1-if' }, { name: 'p2-if' }]);
    for (const c of calls) {
      assert.equal(
        [c.env.CNI_CONTAINERID, c.env.CNI_NETNS, c.env.CNI_IFNAME, c.env.CNI_ARGS, c.env.CNI_PATH, c.env.KEEP],
        ['ctr-1', '/var/run/netns/w2-none', 'eth0', 'IgnoreUnknown=1;K8S_POD_NAME=p', '/nonexistent', 'me'],
      );
    }
    assert.equal(
      result.interfaces!.map((i) => i.name),
      ['p1-if', 'p2-if', 'p3-if'],
    );
    const entry = decodeCacheEntry(readFileSync(join(cacheDir, 'results', `${sb.prefix}net-ctr-1-eth0`)))!;
    assert.equal(entry.result, {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'p1-if' }, { name: 'p2-if' }, { name: 'p3-if' }],
      ips: [{ address: '10.200.20.9/24', gateway: '10.200.20.1' }],
    });
    assert.equal(entry.config, list.bytes);
    assert.equal(entry.cniArgs, att.args);
    assert.equal(entry.capabilityArgs, att.capabilityArgs);
    assert.is(entry.netns, att.netns);
    assert.equal(runtime.cachedAttachment(`${sb.prefix}net`, att), entry);
    assert.equal(
      runtime.cachedAttachments('ctr-1').map((e) => e.networkName),
      [`${sb.prefix}net`],
    );
  },
);

R('CHECK: forward order, every plugin gets the cached result; disableCheck skips; < 0.4.0 refused', async () => {
  await runtime.checkNetworkList(chain('1.0.0'), att);
  assert.equal(
    calls.map((c) => `${c.type}:${c.command}`),
    ['p1:CHECK', 'p2:CHECK', 'p3:CHECK'],
  );
  for (const c of calls) assert.equal((c.stdin.prevResult as Result).interfaces!.length, 3);
  failures['p2/CHECK'] = new CniError(999, 'veth gone');
  calls = [];
  await runtime.checkNetworkList(chain('1.0.0'), att).then(
    () => assert.unreachable(),
    (e: CniError) => {
      assert.is(e.message, 'veth gone'); // not wrapped, like libcni
      assert.is(e.code, 999);
    },
  );
  assert.equal(
    calls.map((c) => c.type),
    ['p1', 'p2'],
  );
  calls = [];
  await runtime.checkNetworkList(chain('1.0.0', { disableCheck: 'true' }), att);
  assert.is(calls.length, 0);
  await runtime.checkNetworkList(chain('0.3.1'), att).then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, 'configuration version "0.3.1" does not support the CHECK command'),
  );
});

R(
  'DEL: reverse order with the cached result converted to the list version; cache removed; second DEL has none',
  async () => {
    const list04 = chain('0.4.0');
    await runtime.delNetworkList(list04, att);
    assert.equal(
      calls.map((c) => `${c.type}:${c.command}`),
      ['p3:DEL', 'p2:DEL', 'p1:DEL'],
    );
    for (const c of calls) {
      const prev = c.stdin.prevResult as { cniVersion: string; ips: Array<{ version: string }> };
      assert.is(prev.cniVersion, '0.4.0');
      assert.is(prev.ips[0]!.version, '4');
    }
    assert.equal(readdirSync(join(cacheDir, 'results')), []);
    calls = [];
    await runtime.delNetworkList(list04, att);
    assert.is(calls.length, 3);
    for (const c of calls) assert.not.ok('prevResult' in c.stdin);
  },
);

R('DEL below 0.4.0 sends no prevResult; an unreadable cache entry is dropped and DEL goes on', async () => {
  await runtime.addNetworkList(chain('0.3.1'), att);
  calls = [];
  await runtime.delNetworkList(chain('0.3.1'), att);
  for (const c of calls) assert.not.ok('prevResult' in c.stdin);

  await runtime.addNetworkList(chain('1.0.0'), att);
  const file = join(cacheDir, 'results', `${sb.prefix}net-ctr-1-eth0`);
  writeFileSync(file, '{"kind":"cniCacheV1","result":{"cniVersion":"1.0.0","ips":[{"address":"bogus"}]}}');
  calls = [];
  await runtime.delNetworkList(chain('1.0.0'), att);
  assert.is(calls.length, 3);
  for (const c of calls) assert.not.ok('prevResult' in c.stdin);
  assert.not.ok(existsSync(file));
});

R('a failing ADD stops the chain, is wrapped like libcni, and writes no cache', async () => {
  failures['p2/ADD'] = new CniError(11, 'try again', 'busy');
  const other = { ...att, containerId: 'ctr-fail' };
  await runtime.addNetworkList(chain('1.0.0'), other).then(
    () => assert.unreachable(),
    (e: CniError) => {
      assert.is(e.message, 'plugin type="p2" failed (add): try again; busy');
      assert.is(e.code, 11);
    },
  );
  assert.equal(
    calls.map((c) => c.type),
    ['p1', 'p2'],
  );
  assert.not.ok(existsSync(join(cacheDir, 'results', `${sb.prefix}net-ctr-fail-eth0`)));
  failures['p1/DEL'] = new CniError(999, 'boom');
  await runtime.delNetworkList(chain('1.0.0'), other).then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, 'plugin type="p1" name="ignored" failed (delete): boom'),
  ); // the plugin object's own name, like libcni
});

R('path-like ids and names are refused before anything runs or is written', async () => {
  const bad: Array<[NetworkConfigList, RuntimeConf, RegExp]> = [
    [chain('1.0.0'), { ...att, containerId: '../x' }, /^invalid characters in containerID$/],
    [chain('1.0.0'), { ...att, containerId: '' }, /^missing containerID$/],
    [chain('1.0.0'), { ...att, ifName: '../x' }, /^interface name contains/],
    [
      parseConfList(enc({ cniVersion: '1.0.0', name: '../x', plugins: [{ type: 'p1' }] })),
      att,
      /^invalid characters found in network name$/,
    ],
  ];
  for (const [list, rt, re] of bad) {
    for (const op of ['add', 'check', 'del'] as const) {
      const run =
        op === 'add'
          ? runtime.addNetworkList(list, rt)
          : op === 'check'
            ? runtime.checkNetworkList(list, rt)
            : runtime.delNetworkList(list, rt);
      await run.then(
        () => assert.unreachable(),
        (e: Error) => assert.match(e.message, re),
      );
    }
  }
  assert.is(calls.length, 0);
  assert.not.ok(readdirSync(join(cacheDir, 'results')).some((f) => f.includes('..')));
  assert.not.ok(existsSync(join(cacheDir, 'x-ctr-1-eth0')));
});

R('GC: DEL of stale cached attachments of this network (with their cached args), then GC to every plugin', async () => {
  const list = chain('1.1.0');
  await runtime.addNetworkList(list, { ...att, containerId: 'keep' });
  await runtime.addNetworkList(list, { ...att, containerId: 'stale', args: [['K8S_POD_NAME', 'stale']] });
  writeCacheEntry(cacheDir, {
    containerId: 'foreign',
    ifName: 'eth0',
    networkName: 'othernet',
    config: new Uint8Array(),
  });
  calls = [];
  await runtime.gcNetworkList(list, [{ containerID: 'keep', ifname: 'eth0' }]);
  assert.equal(
    calls.map((c) => `${c.type}:${c.command}:${c.env.CNI_CONTAINERID}`),
    ['p3:DEL:stale', 'p2:DEL:stale', 'p1:DEL:stale', 'p1:GC:', 'p2:GC:', 'p3:GC:'],
  );
  assert.is(calls[0]!.env.CNI_ARGS, 'K8S_POD_NAME=stale');
  const gc = calls[3]!;
  assert.equal(gc.stdin['cni.dev/valid-attachments'], [{ containerID: 'keep', ifname: 'eth0' }]);
  assert.equal(gc.stdin['cni.dev/attachments'], [{ containerID: 'keep', ifname: 'eth0' }]);
  assert.not.ok('prevResult' in gc.stdin);
  assert.equal([gc.env.CNI_NETNS, gc.env.CNI_IFNAME], ['', '']);
  const left = readdirSync(join(cacheDir, 'results')).sort();
  assert.equal(left, [`${sb.prefix}net-keep-eth0`, 'othernet-foreign-eth0'].sort());

  calls = [];
  await runtime.gcNetworkList(chain('1.1.0', { disableGC: true }));
  assert.is(calls.length, 0);
  // Below 1.1.0: stale attachments are still deleted, but no GC is sent.
  await runtime.gcNetworkList(chain('1.0.0'));
  assert.equal(
    calls.map((c) => `${c.type}:${c.command}:${c.env.CNI_CONTAINERID}`),
    ['p3:DEL:keep', 'p2:DEL:keep', 'p1:DEL:keep'],
  );
  // Errors are collected, not stopping the other plugins.
  calls = [];
  failures['p1/GC'] = new CniError(999, 'gc one');
  failures['p3/GC'] = new CniError(999, 'gc three');
  await runtime.gcNetworkList(list, []).then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, 'failed to GC plugin p1: gc one\nfailed to GC plugin p3: gc three'),
  );
  assert.equal(
    calls.map((c) => c.type),
    ['p1', 'p2', 'p3'],
  );
});

R('STATUS: 1.1.0 only, in order, first error as is', async () => {
  await runtime.statusNetworkList(chain('1.0.0'));
  assert.is(calls.length, 0);
  await runtime.statusNetworkList(chain('1.1.0'));
  assert.equal(
    calls.map((c) => `${c.type}:${c.command}:${c.stdin.name}`),
    [`p1:STATUS:${sb.prefix}net`, `p2:STATUS:${sb.prefix}net`, `p3:STATUS:${sb.prefix}net`],
  );
  calls = [];
  failures['p2/STATUS'] = new CniError(50, 'not available');
  await runtime.statusNetworkList(chain('1.1.0')).then(
    () => assert.unreachable(),
    (e: CniError) => assert.equal([e.code, e.message], [50, 'not available']),
  );
  assert.is(calls.length, 2);
});

R('cache failures are reported like libcni', async () => {
  const list = chain('1.0.0');
  const other = { ...att, containerId: 'ctr-cache' };
  const file = join(cacheDir, 'results', `${sb.prefix}net-ctr-cache-eth0`);
  writeFileSync(file, 'not json at all');
  await runtime.checkNetworkList(list, other).then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.is(
        e.message,
        `failed to get network "${sb.prefix}net" cached result: invalid character 'o' in literal null (expecting 'u')`,
      ),
  );
  await runtime.delNetworkList(list, other); // DEL tolerates it and drops the entry
  assert.not.ok(existsSync(file));
  const blocked = new CniRuntime({
    path: ['/nonexistent'],
    onStderr: () => {},
    cacheDir: join(cacheDir, 'results', `${sb.prefix}net-ctr-1-eth0`, 'x'),
    exec: inProcessExecutor(table),
  });
  writeFileSync(join(cacheDir, 'results', `${sb.prefix}net-ctr-1-eth0`), '{}');
  await blocked.addNetworkList(list, other).then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.match(
        e.message,
        new RegExp(`^failed to set network "${sb.prefix}net" cached result: ENOTDIR: not a directory`),
        e.message,
      ),
  );
});

R('plugin output without cniVersion is read as the config version', async () => {
  const quiet = {
    quiet: async () => async () => ({
      exitCode: 0,
      stdout: '{"ips":[{"version":"4","address":"10.200.20.3/24"}],"dns":{}}',
      stderr: '',
    }),
  };
  const rt = new CniRuntime({ path: [], cacheDir, exec: inProcessExecutor(quiet) });
  const list = parseConfList(enc({ cniVersion: '0.4.0', name: `${sb.prefix}q`, plugins: [{ type: 'quiet' }] }));
  const { raw, result } = await rt.addNetworkList(list, { ...att, containerId: 'q' });
  assert.is(raw.cniVersion, '0.4.0');
  assert.equal(result.ips, [{ address: '10.200.20.3/24' }]);
  await rt.delNetworkList(list, { ...att, containerId: 'q' });
});

const E = suite('runtime exec');
let binDir = '';
E.before(() => {
  binDir = sb.dir('bin');
  const script = (name: string, body: string): void => {
    writeFileSync(join(binDir, name), `#!/bin/sh\ncat >/dev/null\n${body}\n`);
    chmodSync(join(binDir, name), 0o755);
  };
  script('w2-stderr', 'echo "no luck" >&2; exit 3');
  script('w2-silent', 'exit 1');
  script('w2-garbage', 'echo "not json"; exit 1');
  script('w2-novers', 'echo \'{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}\'; exit 1');
  script('w2-v020', 'echo \'{"cniVersion":"0.2.0"}\'');
});
E.after(() => sb.cleanup());

E('failures without error JSON are synthesised like libcni (code 0)', async () => {
  const rt = new CniRuntime({ path: ['/nonexistent', binDir], cacheDir: sb.dir('c2'), env: {} });
  const one = (type: string): NetworkConfigList =>
    parseConfList(enc({ cniVersion: '1.0.0', name: 'n', plugins: [{ type }] }));
  const msg = async (type: string): Promise<string> =>
    rt.addNetworkList(one(type), att).then(
      () => 'ok',
      (e: Error) => e.message,
    );
  assert.is(
    await msg('w2-stderr'),
    'plugin type="w2-stderr" failed (add): netplugin failed: "no luck\\n": exit status 3',
  );
  assert.is(
    await msg('w2-silent'),
    'plugin type="w2-silent" failed (add): netplugin failed with no error message: exit status 1',
  );
  assert.match(
    await msg('w2-garbage'),
    /^plugin type="w2-garbage" failed \(add\): netplugin failed but error parsing its diagnostic message "not json\\n": invalid character 'o' in literal null \(expecting 'u'\)$/,
  );
  assert.is(
    await msg('w2-absent'),
    `plugin type="w2-absent" failed (add): failed to find plugin "w2-absent" in path [/nonexistent ${binDir}]`,
  );
  assert.is(await msg('a/b'), 'plugin type="a/b" failed (add): invalid plugin name: a/b');
});

E('VERSION probing: the reference binaries, an old plugin, a 0.2.0-only answer', async () => {
  const rt = new CniRuntime({ path: ['/usr/lib/cni', binDir], env: {} });
  assert.equal(await rt.versionInfo('bridge'), {
    cniVersion: '1.0.0',
    supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'],
  });
  assert.equal((await rt.versionInfo('bandwidth')).supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0']);
  assert.equal(await rt.versionInfo('w2-novers'), { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] });
  assert.equal(await rt.versionInfo('w2-v020'), { cniVersion: '0.2.0', supportedVersions: ['0.1.0', '0.2.0'] });
  const old = parseConfList(
    enc({
      cniVersion: '0.2.0',
      name: 'n',
      plugins: [
        { type: 'bridge', capabilities: { mac: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    }),
  );
  await rt.validateNetworkList(old).then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, '[plugin bandwidth does not support config version "0.2.0"]'),
  );
  const good = parseConfList(
    enc({
      cniVersion: '1.0.0',
      name: 'n',
      plugins: [
        { type: 'bridge', capabilities: { mac: true } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  assert.equal(await rt.validateNetworkList(good), ['mac', 'portMappings']);
});

R.run();
E.run();
