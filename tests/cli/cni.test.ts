// The `wasm-cni` command line, run as a process: help texts, one-line errors with non-zero exits and nothing
// written for malformed input, and cnitool-style add/check/gc/del with the reference plugins in a netns.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { projectRoot } from '../../host/paths.ts';
import { run, type RunResult } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
const MAIN = join(projectRoot, 'host/cli/main.ts');
let netd = '';
let netdTypes = '';
let cacheDir = '';
let pod: TestNetns;

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: projectRoot,
    env: {
      CNI_PATH: '/usr/lib/cni',
      NETCONFPATH: netd,
      WASM_CNI_CACHE_DIR: cacheDir,
      CNI_ARGS: undefined,
      CAP_ARGS: undefined,
      CNI_IFNAME: undefined,
      ...env,
    },
    timeoutMs: 60_000,
  });
}

/** A failure as the CLI must report it: non-zero, one line on stderr, no stack trace, nothing on stdout. */
function assertOneLineError(r: RunResult, re: RegExp): void {
  assert.is.not(r.code, 0, r.stdout);
  assert.is(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
  assert.not.match(r.stderr, /\n\s+at /);
}

const C = suite('wasm-cni CLI');

C.before(async () => {
  netd = sb.dir('netd');
  cacheDir = sb.dir('cache');
  pod = await sb.netns('pod');
  writeFileSync(
    join(netd, '10-br.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `${sb.prefix}br`,
      plugins: [
        {
          type: 'bridge',
          bridge: sb.name('br'),
          isGateway: true,
          ipam: {
            type: 'host-local',
            dataDir: sb.dir('ipam'),
            ranges: [[{ subnet: '10.200.20.0/24', rangeStart: '10.200.20.20', rangeEnd: '10.200.20.29' }]],
          },
        },
      ],
    }),
  );
  writeFileSync(join(netd, '20-truncated.conflist.bad'), '{'); // wrong extension: never read
  writeFileSync(join(netd, '30-path.conf'), JSON.stringify({ cniVersion: '1.0.0', name: '../x', type: 'bridge' }));
  const big = {
    cniVersion: '1.0.0',
    name: `${sb.prefix}big`,
    type: 'host-local',
    padding: 'x'.repeat(1 << 20),
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.200.20.0/24', rangeStart: '10.200.20.40', rangeEnd: '10.200.20.40' }]],
      dataDir: sb.dir('ipam-big'),
    },
  };
  writeFileSync(join(netd, '40-big.conf'), JSON.stringify(big));
  // A file that fails to parse stops every search that reaches it (libcni), so it lives in its own directory.
  netdTypes = sb.dir('netd-types');
  writeFileSync(
    join(netdTypes, '50-types.json'),
    JSON.stringify({ cniVersion: '1.0.0', name: `${sb.prefix}types`, type: 'bridge', capabilities: { mac: 'yes' } }),
  );
  writeFileSync(
    join(netd, '60-utf8.conf'),
    Buffer.concat([
      Buffer.from('{"cniVersion":"1.0.0","type":"bridge","name":"bad'),
      Buffer.from([0xff]),
      Buffer.from('"}'),
    ]),
  );
});
C.after(() => sb.cleanup());

C('help: the dispatcher, `cni --help`, `version --help`; unknown commands fail', async () => {
  const top = await cli(['--help']);
  assert.is(top.code, 0);
  assert.match(top.stdout, /^usage: wasm-cni <command>/);
  assert.match(top.stdout, /\n {2}cni +add\|check\|del\|gc\|status/);
  const cniHelp = await cli(['cni', '--help']);
  assert.is(cniHelp.code, 0);
  assert.match(cniHelp.stdout, /^usage: wasm-cni cni <add\|check\|del\|gc\|status> <network-name> <netns-path>/);
  for (const v of ['CNI_PATH', 'NETCONFPATH', 'CNI_IFNAME', 'CNI_ARGS', 'CAP_ARGS'])
    assert.ok(cniHelp.stdout.includes(v), v);
  const addHelp = await cli(['cni', 'add', '--help']);
  assert.is(addHelp.stdout, cniHelp.stdout);
  const vHelp = await cli(['version', '--help']);
  assert.match(vHelp.stdout, /^usage: wasm-cni version/);
  assertOneLineError(await cli(['frobnicate']), /^wasm-cni: unknown command "frobnicate"/);
});

C('version', async () => {
  const v = await cli(['version']);
  assert.is(v.code, 0);
  assert.match(
    v.stdout,
    /^wasm-cni \d+\.\d+\.\d+\nCNI spec 1\.1\.0 \(supports 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\)\nrevision \S+, runtime (node|bun) \S+\n$/,
  );
  const j = JSON.parse((await cli(['version', '--json'])).stdout);
  assert.equal(j.supportedVersions, ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
});

C('usage and input errors: one line, non-zero, nothing written, nothing created', async () => {
  const ns = pod.path;
  const fails: Array<[string[], Record<string, string>, RegExp]> = [
    [['cni'], {}, /^wasm-cni cni: missing command/],
    [['cni', 'add', `${sb.prefix}br`], {}, /^wasm-cni cni: network name and namespace are required/],
    [['cni', 'frob', 'a', 'b'], {}, /^wasm-cni cni: unknown command "frob"/],
    [['cni', 'add', 'a', 'b', '--bogus'], {}, /^wasm-cni cni: unknown option --bogus/],
    [
      ['cni', 'add', 'nonet', ns],
      {},
      new RegExp(`^wasm-cni cni add: no net configuration with name "nonet" in ${netd}$`),
    ],
    [
      ['cni', 'add', 'nonet', ns],
      { NETCONFPATH: join(netd, 'missing') },
      /^wasm-cni cni add: no net configurations found in /,
    ],
    [
      ['cni', 'add', `${sb.prefix}br`, ns],
      { CAP_ARGS: '{"portMappings":[' },
      /^wasm-cni cni add: CAP_ARGS: unexpected end of JSON input$/,
    ],
    [['cni', 'add', `${sb.prefix}br`, ns], { CAP_ARGS: '[1]' }, /^wasm-cni cni add: CAP_ARGS: .*JSON object/],
    [
      ['cni', 'add', `${sb.prefix}br`, ns],
      { CNI_ARGS: 'IgnoreUnknown=1;;X=1' },
      /^wasm-cni cni add: invalid CNI_ARGS pair ""$/,
    ],
    [
      ['cni', 'add', `${sb.prefix}br`, ns],
      { CNI_IFNAME: '../x' },
      /^wasm-cni cni add: interface name contains \/ or : or whitespace characters$/,
    ],
    [
      ['cni', 'add', `${sb.prefix}br`, ns, '-i', 'a123456789012345'],
      {},
      /^wasm-cni cni add: interface name is too long; interface name should be less than 16 characters$/,
    ],
    [['cni', 'add', '../x', ns], {}, /^wasm-cni cni add: invalid characters found in network name; \.\.\/x$/],
    [['cni', 'del', '../x', ns], {}, /^wasm-cni cni del: invalid characters found in network name; \.\.\/x$/],
    [
      ['cni', 'add', `${sb.prefix}types`, ns],
      { NETCONFPATH: netdTypes },
      /^wasm-cni cni add: error parsing configuration: json: cannot unmarshal string into Go struct field NetConf\.capabilities of type bool$/,
    ],
    [['cni', 'add', 'bad\ufffd', ns], {}, /^wasm-cni cni add: invalid characters found in network name; bad\ufffd$/],
    [
      ['cni', 'add', `${sb.prefix}br`, ns],
      { CNI_PATH: '' },
      /^wasm-cni cni add: plugin type="bridge" failed \(add\): no paths provided$/,
    ],
  ];
  for (const [args, env, re] of fails) assertOneLineError(await cli(args, env), re);
  // A malformed list stops the search, like libcni.
  writeFileSync(join(netd, '00-trunc.conflist'), '{"name":"t","plugins":[{"type":"bridge"');
  assertOneLineError(
    await cli(['cni', 'add', `${sb.prefix}br`, ns]),
    /^wasm-cni cni add: error parsing configuration list: unexpected end of JSON input$/,
  );
  writeFileSync(join(netd, '00-trunc.conflist'), '{"name":"t","plugins":"bridge"}');
  assertOneLineError(
    await cli(['cni', 'add', `${sb.prefix}br`, ns]),
    /^wasm-cni cni add: error parsing configuration list: invalid 'plugins' type string$/,
  );
  writeFileSync(
    join(netd, '00-trunc.conflist'),
    Buffer.concat([Buffer.from('{"name":"t",'), Buffer.from([0xc3, 0x28]), Buffer.from('}')]),
  );
  assertOneLineError(
    await cli(['cni', 'add', `${sb.prefix}br`, ns]),
    /^wasm-cni cni add: error parsing configuration list: invalid character/,
  );
  rmSync(join(netd, '00-trunc.conflist'));

  assert.equal(readdirSync(cacheDir), []);
  const links = (await run('ip', ['-n', pod.name, '-o', 'link', 'show'])).stdout.trim().split('\n');
  assert.is(links.length, 1, links.join('\n')); // only lo
});

C('a 1 MB config goes through to the plugin and back', async () => {
  const add = await cli(['cni', 'add', `${sb.prefix}big`, pod.path]);
  assert.is(add.code, 0, add.stderr);
  assert.equal(JSON.parse(add.stdout).ips, [{ address: '10.200.20.40/24', gateway: '10.200.20.1' }]);
  const del = await cli(['cni', 'del', `${sb.prefix}big`, pod.path]);
  assert.is(del.code, 0, del.stderr);
  assert.equal(readdirSync(join(cacheDir, 'results')), []);
});

C(
  'cnitool flow with the reference bridge: add prints the result, check, status, gc removes the stale attachment, del',
  async () => {
    const net = `${sb.prefix}br`;
    const add = await cli(['cni', 'add', net, pod.path], { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p' });
    assert.is(add.code, 0, add.stderr);
    const result = JSON.parse(add.stdout);
    assert.is(result.cniVersion, '1.0.0');
    assert.equal(result.ips, [{ address: '10.200.20.20/24', gateway: '10.200.20.1', interface: 2 }]);
    assert.equal(result.interfaces[2], { mac: result.interfaces[2].mac, name: 'eth0', sandbox: pod.path });
    const cid = `cnitool-${createHash('sha512').update(pod.path).digest('hex').slice(0, 20)}`;
    const cacheFile = join(cacheDir, 'results', `${net}-${cid}-eth0`);
    const entry = JSON.parse(readFileSync(cacheFile, 'utf8'));
    assert.equal(entry.cniArgs, [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'p'],
    ]);
    assert.is(entry.containerId, cid);
    assert.is((await run('ip', ['-n', pod.name, 'addr', 'show', 'eth0'])).stdout.includes('10.200.20.20/24'), true);

    const check = await cli(['cni', 'check', net, pod.path]);
    assert.is(check.code, 0, check.stderr);
    const status = await cli(['cni', 'status', net, pod.path]); // a 1.0.0 list: nothing to ask
    assert.is(status.code, 0, status.stderr);
    const again = await cli(['cni', 'add', net, pod.path]);
    assertOneLineError(
      again,
      /^wasm-cni cni add: plugin type="bridge" failed \(add\): container veth name provided \(eth0\) already exists$/,
    );

    // gc without --keep: every cached attachment of the network is stale (cnitool semantics).
    const keep = await cli(['cni', 'gc', net, pod.path, '--keep', `${cid}/eth0`]);
    assert.is(keep.code, 0, keep.stderr);
    assert.ok(existsSync(cacheFile));
    const gc = await cli(['cni', 'gc', net, pod.path]);
    assert.is(gc.code, 0, gc.stderr);
    assert.not.ok(existsSync(cacheFile));
    assert.is((await run('ip', ['-n', pod.name, 'link', 'show', 'eth0'])).code, 1);

    const del = await cli(['cni', 'del', net, pod.path]);
    assert.is(del.code, 0, del.stderr);
  },
);

C.run();
