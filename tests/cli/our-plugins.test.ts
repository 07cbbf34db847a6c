// `wasm-cni cni add|check|del` driving OUR plugins as a runtime would: the built CLI bundle
// (build/js/wasm-cni.mjs) with CNI_PATH=build/cni (the native executables), a 1.0.0 list bridge + host-local +
// portmap (portMappings through CAP_ARGS) in a prefixed netns on 10.200.21.0/24. WASM_CNI_SOCKET points at a
// socket that never exists, so every plugin takes the cold path (node build/js/cni-plugin.mjs) whatever daemon
// may run on the machine.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, isIP, type Server } from 'node:net';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { cliEntryPath, cniBinDir, projectRoot } from '../../host/paths.ts';
import { chainName } from '../../host/firewall/names.ts';
import { run, type RunResult } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import {
  askFromPod,
  askTcpFromHost,
  natChainRules,
  natLinesMentioning,
  removeNatChains,
  removeUnusedHostportChains,
  startResponder,
} from '../_lib/firewall.ts';

const SUBNET_PREFIX = '10.200.21';
const HOST_PORT = 42021;
const CONTAINER_PORT = 8080;
const CAP_ARGS = JSON.stringify({
  portMappings: [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: 'tcp' }],
});

const sb = new Sandbox();
let pod: TestNetns;
let net = '';
let netd = '';
let cacheDir = '';
let dataDir = '';
let conflist = '';
let cid = '';
let added: { interfaces: Array<{ name: string; mac?: string; sandbox?: string }>; [k: string]: unknown } | undefined;

function cli(sub: 'add' | 'check' | 'del', env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run(process.execPath, [cliEntryPath, 'cni', sub, net, pod.path], {
    cwd: projectRoot,
    env: {
      CNI_PATH: cniBinDir,
      NETCONFPATH: netd,
      WASM_CNI_CACHE_DIR: cacheDir,
      CAP_ARGS,
      WASM_CNI_SOCKET: join(netd, 'no-daemon.sock'),
      CNI_ARGS: undefined,
      CNI_IFNAME: undefined,
      ...env,
    },
    timeoutMs: 60_000,
  });
}

const cacheFile = () => join(cacheDir, 'results', `${net}-${cid}-eth0`);
const masqChain = () => chainName(net, cid);
const dnatChain = () => chainName(net, cid, 'DN-');

const C = suite('wasm-cni cni with our plugins (build/cni, cold path)');

C.before(async () => {
  const build = await run('bash', ['build.sh'], { cwd: projectRoot, timeoutMs: 300_000 });
  if (build.code !== 0) throw new Error(`bash build.sh failed:\n${build.stderr}${build.stdout}`);
  netd = sb.dir('netd');
  cacheDir = sb.dir('cache');
  dataDir = sb.dir('ipam');
  pod = await sb.netns('pod');
  net = `${sb.prefix}ours`;
  cid = `cnitool-${createHash('sha512').update(pod.path).digest('hex').slice(0, 20)}`;
  conflist = JSON.stringify({
    cniVersion: '1.0.0',
    name: net,
    plugins: [
      {
        type: 'bridge',
        bridge: sb.name('br'),
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: `${SUBNET_PREFIX}.0/24` }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  writeFileSync(join(netd, '10-ours.conflist'), conflist);
  // On failure: undo the attachment through the CLI, then sweep the chains it would have left.
  sb.defer(async () => {
    await removeNatChains([masqChain(), dnatChain()]);
    await removeUnusedHostportChains();
  });
  sb.defer(async () => {
    if (existsSync(cacheFile())) await cli('del');
  });
});
C.after(() => sb.cleanup());

C(
  'add prints the 1.0.0 result, caches it with the config and CAP_ARGS, reserves the address; check passes',
  async () => {
    const add = await cli('add');
    assert.is(add.code, 0, add.stderr + add.stdout);
    const result = JSON.parse(add.stdout);
    added = result;
    assert.is(result.cniVersion, '1.0.0');
    assert.equal(result.ips, [{ address: `${SUBNET_PREFIX}.2/24`, gateway: `${SUBNET_PREFIX}.1`, interface: 2 }]);
    assert.is(result.interfaces.length, 3);
    const [br, hostVeth, eth0] = result.interfaces;
    assert.is(br.name, sb.name('br'));
    assert.match(hostVeth.name, /^veth[0-9a-f]{8}$/);
    assert.equal(eth0, { name: 'eth0', mac: eth0.mac, sandbox: pod.path });
    assert.is(result.routes, undefined);
    assert.is(result.dns, undefined);

    const podLink = JSON.parse((await run('ip', ['-n', pod.name, '-j', 'addr', 'show', 'eth0'])).stdout)[0];
    assert.is(podLink.address, eth0.mac);
    assert.ok(
      podLink.addr_info.some(
        (a: { local: string; prefixlen: number }) => a.local === `${SUBNET_PREFIX}.2` && a.prefixlen === 24,
      ),
    );

    const file = cacheFile();
    assert.is(statSync(file).mode & 0o777, 0o600);
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    assert.is(entry.kind, 'cniCacheV1');
    assert.is(entry.containerId, cid);
    assert.is(entry.ifName, 'eth0');
    assert.is(entry.networkName, net);
    assert.is(entry.netns, pod.path);
    assert.is(Buffer.from(entry.config, 'base64').toString(), conflist);
    assert.equal(entry.capabilityArgs, JSON.parse(CAP_ARGS));
    assert.equal(entry.result, result);

    assert.is(readFileSync(join(dataDir, net, `${SUBNET_PREFIX}.2`), 'utf8'), `${cid}\r\neth0`);
    assert.ok((await natChainRules(4, masqChain())).length > 0, 'ipMasq chain');
    assert.ok(
      (await natChainRules(4, dnatChain())).some((r) =>
        r.endsWith(`-j DNAT --to-destination ${SUBNET_PREFIX}.2:${CONTAINER_PORT}`),
      ),
    );

    const check = await cli('check');
    assert.is(check.code, 0, check.stderr + check.stdout);
    assert.is(check.stdout, '');
  },
);

C('the pod reaches its gateway over TCP; the host reaches the pod through the mapped port', async () => {
  let server: Server | undefined;
  let responder: ChildProcess | undefined;
  try {
    server = createServer((s) => s.end('gateway answers\n'));
    const port = await new Promise<number>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen({ host: `${SUBNET_PREFIX}.1`, port: 0 }, () =>
        resolve((server!.address() as { port: number }).port),
      );
    });
    assert.is(await askFromPod(pod.name, `${SUBNET_PREFIX}.1`, port, 'tcp'), 'gateway answers');

    responder = await startResponder(pod.name, CONTAINER_PORT, 'cli-pod');
    assert.match(await askTcpFromHost(`${SUBNET_PREFIX}.1`, HOST_PORT), /^tcp \S+ cli-pod$/);
  } finally {
    responder?.kill('SIGKILL');
    await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
  }
});

C(
  'del leaves nothing: no veth, no pod interface, no chain or rule of the attachment, no reservation, no cache entry',
  async () => {
    assert.ok(added, 'needs the add test');
    const hostVeth = added!.interfaces[1]!.name;
    const del = await cli('del');
    assert.is(del.code, 0, del.stderr + del.stdout);
    assert.is(del.stdout, '');

    assert.not.ok(existsSync(cacheFile()));
    assert.equal(readdirSync(join(cacheDir, 'results')), []);
    assert.equal(
      readdirSync(join(dataDir, net)).filter((n) => isIP(n) !== 0),
      [],
    );

    const podLinks = (await run('ip', ['-n', pod.name, '-o', 'link', 'show'])).stdout.trim().split('\n');
    assert.is(podLinks.length, 1, podLinks.join('\n'));
    assert.match(podLinks[0]!, /^1: lo:/);
    assert.is.not((await run('ip', ['link', 'show', hostVeth])).code, 0, `${hostVeth} still exists`);
    assert.is((await run('ip', ['-o', 'link', 'show', 'master', sb.name('br')])).stdout.trim(), '');

    for (const family of [4, 6] as const) {
      assert.equal(await natLinesMentioning(family, [cid, masqChain(), dnatChain()]), [], `ipv${family} nat`);
    }

    // A second DEL of an attachment that is gone succeeds and changes nothing (spec: DEL is idempotent).
    const again = await cli('del');
    assert.is(again.code, 0, again.stderr + again.stdout);
  },
);

C.run();
