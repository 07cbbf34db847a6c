// The result cache against a libcni-format fixture: decode, re-encode byte for byte, and use by the runtime.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cacheFilePath,
  decodeCacheEntry,
  encodeCacheEntry,
  listCachedAttachments,
  readCacheFile,
  writeCacheEntry,
} from '../../host/runtime/cache.ts';
import { parseConfList } from '../../host/runtime/config.ts';
import { CniRuntime } from '../../host/runtime/runtime.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const fixturePath = new URL('./fixtures/libcni-cache-v1.json', import.meta.url);
const sb = new Sandbox();
const K = suite('result cache (libcni cniCacheV1)');
K.after(() => sb.cleanup());

K('decodes a libcni entry', () => {
  const text = readFileSync(fixturePath, 'utf8');
  const e = decodeCacheEntry(text)!;
  assert.is(e.containerId, 'cnitool-77bd2ee8b7a2b1a1c9d0');
  assert.is(e.ifName, 'eth0');
  assert.is(e.networkName, 'refnet');
  assert.is(e.netns, '/var/run/netns/ref-pod-a');
  assert.equal(e.cniArgs, [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', 'default'],
    ['K8S_POD_NAME', 'pod-a'],
  ]);
  assert.equal(e.capabilityArgs, { portMappings: [{ containerPort: 8080, hostPort: 18080, protocol: 'tcp' }] });
  const conf = parseConfList(e.config);
  assert.is(conf.name, 'refnet');
  assert.ok(new TextDecoder().decode(e.config).endsWith(']}\n'));
  assert.is((e.result as { ips: Array<{ address: string }> }).ips[0]!.address, '10.77.1.2/24');
});

K('re-encodes byte for byte (libcni field order, sorted maps, base64 config)', () => {
  const text = readFileSync(fixturePath, 'utf8');
  assert.is(encodeCacheEntry(decodeCacheEntry(text)!), text);
});

K('optional fields are omitted when empty, like omitempty', () => {
  const text = encodeCacheEntry({
    containerId: 'c',
    config: new TextEncoder().encode('{}'),
    ifName: 'eth0',
    networkName: 'n',
    cniArgs: [],
    capabilityArgs: {},
  });
  assert.is(text, '{"kind":"cniCacheV1","containerId":"c","config":"e30=","ifName":"eth0","networkName":"n"}');
});

K('written files: <dir>/results/<net>-<cid>-<if>, dir 0700, file 0600; listed as attachments', () => {
  const dir = join(sb.dir('cache'), 'nested');
  const e = decodeCacheEntry(readFileSync(fixturePath, 'utf8'))!;
  const file = writeCacheEntry(dir, e);
  assert.is(file, join(dir, 'results', 'refnet-cnitool-77bd2ee8b7a2b1a1c9d0-eth0'));
  assert.is(statSync(join(dir, 'results')).mode & 0o777, 0o700);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(readFileSync(file, 'utf8'), readFileSync(fixturePath, 'utf8'));
  writeFileSync(join(dir, 'results', 'junk'), 'not json');
  writeFileSync(join(dir, 'results', 'legacy-c2-eth0'), '{"cniVersion":"0.4.0"}');
  assert.equal(
    listCachedAttachments(dir).map((a) => [a.networkName, a.containerId, a.ifName]),
    [['refnet', 'cnitool-77bd2ee8b7a2b1a1c9d0', 'eth0']],
  );
  assert.is(listCachedAttachments(dir, 'cnitool-77bd2ee8b7a2b1a1c9d0').length, 1);
  assert.is(listCachedAttachments(dir, 'other').length, 0);
  assert.throws(
    () => cacheFilePath(dir, 'n', '', 'eth0'),
    /cache file path requires network name \("n"\), container ID \(""\), and interface name \("eth0"\)/,
  );
});

K('the runtime reads a libcni entry and a legacy raw-result entry, converted to the list version', () => {
  const dir = sb.dir('cache-rt');
  mkdirSync(join(dir, 'results'), { recursive: true });
  writeFileSync(join(dir, 'results', 'refnet-cnitool-77bd2ee8b7a2b1a1c9d0-eth0'), readFileSync(fixturePath));
  const rt = new CniRuntime({ path: [], cacheDir: dir });
  const list = parseConfList(
    new TextEncoder().encode(JSON.stringify({ cniVersion: '1.0.0', name: 'refnet', plugins: [{ type: 'bridge' }] })),
  );
  const att = { containerId: 'cnitool-77bd2ee8b7a2b1a1c9d0', netns: '/var/run/netns/ref-pod-a', ifName: 'eth0' };
  const r = rt.cachedResult(list, att)!;
  assert.equal(r.ips, [{ address: '10.77.1.2/24', gateway: '10.77.1.1', interface: 2 }]);
  assert.is(r.interfaces!.length, 3);

  writeFileSync(
    join(dir, 'results', 'refnet-legacy-eth0'),
    JSON.stringify({ cniVersion: '0.2.0', ip4: { ip: '10.77.1.9/24' }, dns: {} }),
  );
  assert.equal(rt.cachedResult(list, { ...att, containerId: 'legacy' })!.ips, [{ address: '10.77.1.9/24' }]);
  assert.is(rt.cachedResult(list, { ...att, containerId: 'absent' }), undefined);
  assert.ok(readCacheFile(dir, 'refnet', 'legacy', 'eth0'));

  const l02 = parseConfList(
    new TextEncoder().encode(JSON.stringify({ cniVersion: '0.2.0', name: 'refnet', plugins: [{ type: 'bridge' }] })),
  );
  writeFileSync(
    join(dir, 'results', 'refnet-l2only-eth0'),
    JSON.stringify({
      kind: 'cniCacheV1',
      containerId: 'l2only',
      ifName: 'eth0',
      networkName: 'refnet',
      config: '',
      result: { cniVersion: '1.0.0', interfaces: [{ name: 'br0' }] },
    }),
  );
  assert.throws(
    () => rt.cachedResult(l02, { ...att, containerId: 'l2only' }),
    /^failed to convert cached result to config version "0\.2\.0": cannot convert: no valid IP addresses$/,
  );
});

K.run();
