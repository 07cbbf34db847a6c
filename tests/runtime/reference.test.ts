// Integration in a network namespace: the reference plugins (bridge + host-local, portmap, bandwidth) driven by
// our runtime, compared with the same calls made by tests/_lib/cni-exec.sh (libcni's call semantics in bash):
// the final result, the result cache entry, and what DEL leaves behind.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfList, loadConfFile } from '../../host/runtime/config.ts';
import { decodeCacheEntry } from '../../host/runtime/cache.ts';
import { CniRuntime, type RuntimeConf } from '../../host/runtime/runtime.ts';
import { cniExecScript, referenceNames } from '../_lib/oracle.ts';
import { natLinesMentioning, removeNatChains, removeUnusedHostportChains } from '../_lib/firewall.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const CNI_EXEC = cniExecScript;
const sb = new Sandbox();
let pod: TestNetns;
let confFile = '';
let network = '';
let containerId = '';
let cacheDir = '';
const capabilityArgs = {
  portMappings: [{ hostPort: 18921, containerPort: 8080, protocol: 'tcp' }],
  bandwidth: { ingressRate: 10000000, ingressBurst: 1000000, egressRate: 20000000, egressBurst: 1000000 },
};
const cniArgs = `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${'p'}`;

/** MACs and the random host veth name vary between runs; Debian 1.1.1 prints an empty 1.x dns that v1.9.1 omits. */
function normalize(result: Record<string, unknown>): Record<string, unknown> {
  const r = JSON.parse(JSON.stringify(result));
  for (const i of r.interfaces ?? []) {
    if (i.mac) i.mac = '<mac>';
    if (/^veth[0-9a-f]{8}$/.test(i.name)) i.name = '<veth>';
  }
  if (r.dns && Object.keys(r.dns).length === 0) delete r.dns;
  return r;
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  return v;
}

async function ourLeftovers(): Promise<string[]> {
  const names = referenceNames(network, containerId);
  const lines = await natLinesMentioning(4, [names.masqChain, names.dnatChain, network, containerId]);
  const ifb = (await run('ip', ['link', 'show', names.ifb])).code === 0 ? [names.ifb] : [];
  return [...lines, ...ifb];
}

const I = suite('runtime with the reference plugins (netns)');

I.before(async () => {
  pod = await sb.netns('pod');
  network = `${sb.prefix}ref`;
  containerId = `${sb.prefix}-ctr`;
  cacheDir = sb.dir('cache');
  const confDir = sb.dir('netd');
  confFile = join(confDir, '10-ref.conflist');
  // One address only (rangeStart = rangeEnd), so both runs get the same IP.
  writeFileSync(
    confFile,
    `${JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        {
          type: 'bridge',
          bridge: sb.name('br'),
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: sb.dir('ipam'),
            ranges: [[{ subnet: '10.200.20.0/24', rangeStart: '10.200.20.10', rangeEnd: '10.200.20.10' }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    })}\n`,
  );
});

I.after(async () => {
  const names = referenceNames(network, containerId);
  await removeNatChains([names.masqChain, names.dnatChain]);
  await removeUnusedHostportChains();
  await run('ip', ['link', 'delete', names.ifb]);
  await sb.cleanup();
});

I('ADD/CHECK/DEL through our runtime equal cni-exec.sh: result, cache entry, nothing left', async () => {
  const list = loadConfFile(confFile);
  const rt: RuntimeConf = {
    containerId,
    netns: pod.path,
    ifName: 'eth0',
    args: cniArgs.split(';').map((p) => p.split('=') as [string, string]),
    capabilityArgs,
  };
  const runtime = new CniRuntime({ path: ['/usr/lib/cni'], cacheDir, env: cleanEnv(), onStderr: () => {} });

  // Ours.
  const ours = await runtime.addNetworkList(list, rt);
  const ourCacheFile = join(cacheDir, 'results', `${network}-${containerId}-eth0`);
  const ourCache = decodeCacheEntry(readFileSync(ourCacheFile))!;
  assert.ok(ourCache, 'a cniCacheV1 entry was written');
  // The reference portmap 1.1.1 fails CHECK for IPv4-only pods (upstream #819): check it reports exactly that.
  await runtime.checkNetworkList(list, rt).then(
    () => assert.unreachable('portmap 1.1.1 CHECK should fail'),
    (e: Error) =>
      assert.match(e.message, /^could not check ipv6 dnat: chain CNI-DN-[0-9a-f]+ not found in iptables table nat$/),
  );
  assert.ok((await ourLeftovers()).length > 0, 'ADD installed rules');
  await runtime.delNetworkList(list, rt);
  assert.not.ok(existsSync(ourCacheFile), 'DEL removed the cache entry');
  assert.equal(await ourLeftovers(), [], 'DEL removed the masquerade/portmap chains and the ifb');

  // The harness.
  const refResults = join(sb.dir('ref-cache'), 'results');
  const env = cleanEnv({ CNI_PATH: '/usr/lib/cni', CNI_ARGS: cniArgs, CNI_CACHE_DIR: refResults });
  const add = await run(CNI_EXEC, ['ADD', pod.path, containerId, 'eth0', confFile, JSON.stringify(capabilityArgs)], {
    env,
  });
  assert.is(add.code, 0, add.stderr);
  const refCache = JSON.parse(readFileSync(join(refResults, `${network}-${containerId}-eth0`), 'utf8'));
  const del = await run(CNI_EXEC, ['DEL', pod.path, containerId, 'eth0', confFile, JSON.stringify(capabilityArgs)], {
    env,
  });
  assert.is(del.code, 0, del.stderr);
  assert.equal(await ourLeftovers(), []);

  // Final result: equal up to MACs and the random veth name.
  const refResult = JSON.parse(add.stdout);
  assert.equal(sorted(normalize(ours.raw)), sorted(normalize(refResult)));
  assert.equal(ours.result.ips, [{ address: '10.200.20.10/24', gateway: '10.200.20.1', interface: 2 }]);
  assert.equal(
    ours.result.interfaces!.map((i) => i.name).filter((n) => !n.startsWith('veth')),
    [sb.name('br'), 'eth0', referenceNames(network, containerId).ifb],
  );

  // Cache entry: same fields; cni-exec.sh keeps CNI_ARGS as a string, libcni (and we) keep [key, value] pairs;
  // libcni also records netns.
  assert.is(refCache.kind, 'cniCacheV1');
  assert.equal(
    [ourCache.containerId, ourCache.ifName, ourCache.networkName],
    [refCache.containerId, refCache.ifName, refCache.networkName],
  );
  assert.is(new TextDecoder().decode(ourCache.config), Buffer.from(refCache.config, 'base64').toString('utf8'));
  assert.equal(ourCache.cniArgs!.map(([k, v]) => `${k}=${v}`).join(';'), refCache.cniArgs);
  assert.equal(ourCache.capabilityArgs, refCache.capabilityArgs);
  assert.equal(sorted(normalize(ourCache.result!)), sorted(normalize(refCache.result)));
  assert.is(ourCache.netns, pod.path);
  assert.equal(
    parseConfList(ourCache.config).plugins.map((p) => p.network.type),
    ['bridge', 'portmap', 'bandwidth'],
  );
  assert.equal(readdirSync(join(cacheDir, 'results')), []);
});

I.run();
