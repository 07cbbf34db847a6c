// Delegation (host/cni/delegate.ts): exec of a binary on CNI_PATH when the caller gave no in-process plugins
// (the reference host-local, IPAM-only: no namespace is touched) and the in-process path through the lookup the
// caller passes down; same stdin and env, errors passed through unchanged.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHandler, type CmdArgs, type PluginSpec } from '../../host/cni/skel.ts';
import { delegate, delegateAdd, delegateCheck, delegateDel } from '../../host/cni/delegate.ts';
import { callPlugin, pluginLookup } from '../../host/plugins/dispatch.ts';
import { readPluginResult, stdoutOrThrow } from '../../host/cni/invoke.ts';
import type { PluginHandler, PluginRequest } from '../../host/cni/handler.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let dataDir = '';

/** A main plugin that only delegates to its IPAM plugin (what bridge does with its ipam section). */
function delegatingPlugin(versions: string[]): PluginSpec {
  return {
    name: 'w2main',
    versions,
    async add(a: CmdArgs) {
      return delegateAdd(a, a.netconf.ipam!.type!);
    },
    async del(a: CmdArgs) {
      return delegateDel(a, a.netconf.ipam!.type!);
    },
    async check(a: CmdArgs) {
      return delegateCheck(a, a.netconf.ipam!.type!);
    },
  };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const baseEnv = (cmd: string, extra: Record<string, string> = {}): Record<string, string> => ({
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: `${sb.prefix}-c1`,
  CNI_NETNS: '/var/run/netns/unused',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/usr/lib/cni',
  ...extra,
});
const conf = (version: string, ipam: Record<string, unknown>): string =>
  JSON.stringify({
    cniVersion: version,
    name: `${sb.prefix}net`,
    type: 'w2main',
    ipam: { type: 'host-local', dataDir, ...ipam },
  });

const I = suite('delegation');

I.before(() => {
  dataDir = sb.dir('ipam');
});
I.after(() => sb.cleanup());

I('exec: the reference host-local allocates, our plugin returns its result in the config version', async () => {
  const h = makeHandler(delegatingPlugin(['0.3.1', '0.4.0', '1.0.0']));
  const stdin = conf('0.4.0', {
    ranges: [[{ subnet: '10.200.20.0/24', rangeStart: '10.200.20.40', rangeEnd: '10.200.20.49' }]],
    routes: [{ dst: '0.0.0.0/0' }],
  });
  const r = await h({ env: baseEnv('ADD'), stdin: enc(stdin) });
  assert.is(r.exitCode, 0, r.stdout);
  assert.equal(JSON.parse(r.stdout), {
    cniVersion: '0.4.0',
    ips: [{ version: '4', address: '10.200.20.40/24', gateway: '10.200.20.1' }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  });
  const netDir = join(dataDir, `${sb.prefix}net`);
  assert.is(readFileSync(join(netDir, '10.200.20.40'), 'utf8'), `${sb.prefix}-c1\r\neth0`);

  const check = await h({ env: baseEnv('CHECK'), stdin: enc(stdin) });
  assert.is(check.exitCode, 0, check.stdout);
  const del = await h({ env: baseEnv('DEL'), stdin: enc(stdin) });
  assert.is(del.exitCode, 0, del.stdout);
  assert.not.ok(existsSync(join(netDir, '10.200.20.40')));
});

I("exec: the delegate's typed error comes back unchanged (code, msg, details)", async () => {
  // Debian's host-local stops at 1.0.0: a 1.1.0 config is its code-1 version error, not ours.
  const h = makeHandler(delegatingPlugin(['1.0.0', '1.1.0']));
  const r = await h({ env: baseEnv('ADD'), stdin: enc(conf('1.1.0', { ranges: [[{ subnet: '10.200.20.0/24' }]] })) });
  assert.is(r.exitCode, 1);
  const e = JSON.parse(r.stdout);
  assert.is(e.code, 1);
  assert.is(e.msg, 'incompatible CNI versions');
  assert.match(e.details, /^config is "1\.1\.0", plugin supports \["0\.1\.0" .*"1\.0\.0"\]$/);
  const bad = await h({ env: baseEnv('ADD'), stdin: enc(conf('1.0.0', { ranges: [[{ subnet: '10.200.20.0/33' }]] })) });
  assert.equal(JSON.parse(bad.stdout), { code: 999, msg: 'invalid CIDR address: 10.200.20.0/33' });
  assert.equal(
    readdirSync(dataDir).filter((f) => f.includes('20.0')),
    [],
  );
});

I('exec: a missing IPAM binary is reported like libcni', async () => {
  const h = makeHandler(delegatingPlugin(['1.0.0']));
  const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'w2main', ipam: { type: 'w2-no-such-ipam' } });
  const r = await h({ env: baseEnv('ADD', { CNI_PATH: '/usr/lib/cni:/nonexistent' }), stdin: enc(stdin) });
  assert.equal(JSON.parse(r.stdout), {
    code: 999,
    msg: 'failed to find plugin "w2-no-such-ipam" in path [/usr/lib/cni /nonexistent]',
  });
  const slash = await h({
    env: baseEnv('ADD'),
    stdin: enc(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'w2main', ipam: { type: '../x' } })),
  });
  assert.equal(JSON.parse(slash.stdout), { code: 999, msg: 'invalid plugin name: ../x' });
});

I('in-process: a plugin of the table gets the same stdin bytes and env with only CNI_COMMAND changed', async () => {
  const seen: PluginRequest[] = [];
  const toyIpam: PluginHandler = makeHandler({
    name: 'w2ipam',
    versions: ['1.0.0'],
    async add() {
      return { cniVersion: '1.0.0', ips: [{ address: '10.200.20.77/24' }] };
    },
    async del() {
      throw new Error('release failed');
    },
    async check() {},
  });
  const table = {
    'w2-ipam': async () => async (req: PluginRequest) => {
      seen.push(req);
      return toyIpam(req);
    },
  };
  const stdin = enc(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'w2main', ipam: { type: 'w2-ipam' } }));
  const a = {
    env: baseEnv('ADD'),
    stdin,
    cniVersion: '1.0.0',
    netconf: { cniVersion: '1.0.0' },
    plugins: pluginLookup(table),
  } as unknown as CmdArgs;
  const res = await delegate(a, 'w2-ipam', 'ADD');
  assert.equal(readPluginResult(stdoutOrThrow(res), '1.0.0').result, {
    cniVersion: '1.0.0',
    ips: [{ address: '10.200.20.77/24' }],
  });
  assert.is(seen[0]!.stdin, stdin);
  assert.equal(seen[0]!.env, { ...a.env, CNI_COMMAND: 'ADD' });
  assert.is(seen[0]!.plugins, a.plugins, 'the delegate gets the same lookup for its own delegates');
  const del = await delegate(a, 'w2-ipam', 'DEL');
  assert.throws(
    () => stdoutOrThrow(del),
    (e: Error & { code?: number }) => e.code === 999 && e.message === 'release failed',
  );
  // Without a lookup the same type is executed from CNI_PATH (which has no binary of that name).
  const noLookup = { ...a, plugins: undefined } as CmdArgs;
  await delegate(noLookup, 'w2-ipam', 'ADD').then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /failed to find plugin "w2-ipam"/),
  );
  assert.is(seen.length, 2);
});

I(
  'dispatch passes its table down: a plugin called through callPlugin delegates to a plugin of the same table',
  async () => {
    const toyIpam = makeHandler({
      name: 'w2ipam',
      versions: ['1.0.0'],
      async add() {
        return { cniVersion: '1.0.0', ips: [{ address: '10.200.20.78/24' }] };
      },
      async del() {},
      async check() {},
    });
    const table = { w2main: async () => makeHandler(delegatingPlugin(['1.0.0'])), 'w2-ipam': async () => toyIpam };
    const stdin = enc(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'w2main', ipam: { type: 'w2-ipam' } }));
    // CNI_PATH has no w2-ipam: only the in-process lookup can answer.
    const r = await callPlugin('w2main', { env: baseEnv('ADD', { CNI_PATH: '/nonexistent' }), stdin }, table);
    assert.is(r.exitCode, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout).ips, [{ address: '10.200.20.78/24' }]);
  },
);

I.run();
