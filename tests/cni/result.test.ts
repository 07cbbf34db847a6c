// Result parsing, conversion between every pair of spec versions, and the printed shape of each version
// (also checked against what the reference host-local prints).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { convertResult, formatResult, parsePrevResult, parseResult, resultToWire } from '../../host/cni/result.ts';
import { SPEC_VERSIONS } from '../../host/cni/version.ts';
import type { Result } from '../../host/cni/types.ts';
import { spawnPlugin } from '../../host/cni/invoke.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const full: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'veth1', mac: '55:44:33:22:11:11', mtu: 1400 },
    { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue', socketPath: '/s', pciID: '0000:00:01.0' },
  ],
  ips: [
    { address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 2 },
    { address: 'fd00::5/64', gateway: 'fd00::1', interface: 0 },
  ],
  routes: [
    { dst: '0.0.0.0/0' },
    { dst: '10.9.0.0/16', gw: '10.1.0.254', mtu: 1300, advmss: 1200, priority: 5, table: 0, scope: 253 },
    { dst: '::/0', gw: 'fd00::1' },
  ],
  dns: { nameservers: ['10.1.0.53'], domain: 'example', search: ['a.example'], options: ['ndots:2'] },
};

const T = suite('result');

T('1.x prints keys sorted at every level and keeps interface: 0', () => {
  const text = formatResult(full, '1.1.0');
  assert.ok(!text.endsWith('\n'));
  assert.ok(text.startsWith('{\n    "cniVersion": "1.1.0",\n    "dns": {'));
  const w = JSON.parse(text);
  assert.equal(Object.keys(w), ['cniVersion', 'dns', 'interfaces', 'ips', 'routes']);
  assert.equal(Object.keys(w.ips[0]), ['address', 'gateway', 'interface']);
  assert.is(w.ips[1].interface, 0);
  assert.equal(Object.keys(w.routes[1]), ['advmss', 'dst', 'gw', 'mtu', 'priority', 'scope', 'table']);
  assert.is(w.routes[1].table, 0);
  assert.equal(w.interfaces[2], {
    mac: '99:88:77:66:55:44',
    name: 'eth0',
    pciID: '0000:00:01.0',
    sandbox: '/var/run/netns/blue',
    socketPath: '/s',
  });
  assert.not.ok('version' in w.ips[0]);
});

T('1.x omits an empty dns; 0.x always prints dns: {}', () => {
  const bare: Result = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
  assert.not.ok('dns' in (resultToWire(bare, '1.0.0') as object));
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '0.1.0', '0.2.0'])
    assert.equal((resultToWire(bare, v) as { dns: object }).dns, {}, v);
});

T('0.3.x/0.4.0 shape: version first, interface kept, 1.x-only interface fields dropped', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
    const w = JSON.parse(formatResult(full, v));
    assert.equal(Object.keys(w), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
    assert.equal(w.ips[0], { version: '4', interface: 2, address: '10.1.0.5/16', gateway: '10.1.0.1' });
    assert.equal(Object.keys(w.ips[0]), ['version', 'interface', 'address', 'gateway']);
    assert.equal(w.ips[1], { version: '6', interface: 0, address: 'fd00::5/64', gateway: 'fd00::1' });
    assert.equal(w.interfaces[1], { name: 'veth1', mac: '55:44:33:22:11:11' });
    assert.equal(w.interfaces[2], { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' });
    assert.equal(Object.keys(w.routes[1]), ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']);
    assert.equal(Object.keys(w.dns), ['nameservers', 'domain', 'search', 'options']);
  }
});

T('an IPAM result (no interface index) prints no interface key', () => {
  const ipam: Result = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }] };
  assert.equal(JSON.parse(formatResult(ipam, '0.4.0')).ips[0], {
    version: '4',
    address: '10.0.0.2/24',
    gateway: '10.0.0.1',
  });
  assert.equal(JSON.parse(formatResult(ipam, '1.0.0')).ips[0], { address: '10.0.0.2/24', gateway: '10.0.0.1' });
});

T('0.1.0/0.2.0 shape: first address per family, routes split by family, only dst/gw', () => {
  const r: Result = {
    cniVersion: '1.0.0',
    ips: [
      { address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 0 },
      { address: '10.2.0.5/16' },
      { address: 'fd00::5/64', gateway: 'fd00::1' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400 }, { dst: '::/0' }],
  };
  for (const v of ['0.1.0', '0.2.0']) {
    const w = JSON.parse(formatResult(r, v));
    assert.equal(w, {
      cniVersion: v,
      ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
      ip6: { ip: 'fd00::5/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] },
      dns: {},
    });
    assert.equal(Object.keys(w), ['cniVersion', 'ip4', 'ip6', 'dns']);
  }
});

T('to 0.2.0, routes of a family without an address are dropped', () => {
  const r: Result = {
    cniVersion: '1.0.0',
    ips: [{ address: '10.1.0.5/16' }],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
  };
  const w = JSON.parse(formatResult(r, '0.2.0'));
  assert.equal(w, { cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/16', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} });
});

T('an IP-less result cannot become 0.1.0/0.2.0 (L2-only bridge)', () => {
  const l2: Result = { cniVersion: '1.0.0', interfaces: [{ name: 'br0' }] };
  for (const v of ['0.1.0', '0.2.0'])
    assert.throws(() => resultToWire(l2, v), /^cannot convert: no valid IP addresses$/);
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) resultToWire(l2, v);
});

T('an unknown target version has no converter', () => {
  assert.throws(() => resultToWire(full, '9.9.9'), /no converter for CNI result version 1.1.0 to 9.9.9/);
});

T('parse: each version is read with its own shape', () => {
  const r02 = parseResult(
    {
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd00::2/64' },
      dns: {},
    },
    '0.2.0',
  );
  assert.equal(r02, {
    cniVersion: '0.2.0',
    ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }, { address: 'fd00::2/64' }],
    routes: [{ dst: '0.0.0.0/0' }],
  });
  const r04 = parseResult(
    {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }],
      ips: [{ version: '4', interface: 0, address: '10.0.0.2/24' }],
      dns: {},
    },
    '0.4.0',
  );
  assert.equal(r04, {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'eth0', sandbox: '/x' }],
    ips: [{ address: '10.0.0.2/24', interface: 0 }],
  });
  // A 0.1.0 result may lack cniVersion.
  assert.is(parseResult({ ip4: { ip: '10.0.0.2/24' } }, '0.1.0').cniVersion, '0.1.0');
});

T('parse: IPv6 text is normalised like Go prints it, host bits kept', () => {
  const r = parseResult(
    {
      cniVersion: '1.0.0',
      ips: [{ address: 'FD00:0:0::5/64', gateway: 'fd00:0::1' }],
      routes: [{ dst: '10.1.2.3/8' }],
    },
    '1.0.0',
  );
  assert.equal(r.ips, [{ address: 'fd00::5/64', gateway: 'fd00::1' }]);
  assert.equal(r.routes, [{ dst: '10.1.2.3/8' }]);
});

T('parse: a result of another family is rejected with the reference wording', () => {
  assert.throws(
    () => parseResult({ cniVersion: '0.4.0' }, '1.0.0'),
    /^result type supports \[1\.0\.0 1\.1\.0\] but unmarshalled CNIVersion is "0\.4\.0"$/,
  );
  assert.throws(
    () => parseResult({ cniVersion: '1.0.0' }, '0.3.1'),
    /result type supports \[0\.3\.0 0\.3\.1 0\.4\.0\]/,
  );
  assert.throws(() => parseResult({ cniVersion: '1.0.0' }, '0.2.0'), /result type supports \[ 0\.1\.0 0\.2\.0\]/);
  assert.throws(() => parseResult({}, '7.0.0'), /^unsupported CNI result version "7\.0\.0"$/);
});

T('parse: bad addresses and types fail like Go', () => {
  assert.throws(
    () => parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.300/24' }] }, '1.0.0'),
    /^invalid CIDR address: 10\.0\.0\.300\/24$/,
  );
  assert.throws(
    () => parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.3/24', gateway: 'x' }] }, '1.0.0'),
    /^invalid IP address: x$/,
  );
  assert.throws(
    () => parseResult({ cniVersion: '1.0.0', routes: 'x' }, '1.0.0'),
    /json: cannot unmarshal string into Go struct field Result\.routes of type \[\]\*types\.route/,
  );
  assert.throws(
    () => parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.3/24', interface: -1.5 }] }, '1.0.0'),
    /cannot unmarshal number -1\.5/,
  );
});

T("prevResult: same family accepted, missing cniVersion means the config's", () => {
  assert.is(
    parsePrevResult({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/24' }] }, '0.4.0').cniVersion,
    '0.3.1',
  );
  assert.is(parsePrevResult({ cniVersion: '1.1.0' }, '1.0.0').cniVersion, '1.1.0');
  assert.is(parsePrevResult({ ips: [{ address: '10.0.0.2/24' }] }, '1.0.0').cniVersion, '1.0.0');
  assert.throws(
    () => parsePrevResult({ cniVersion: '0.4.0' }, '1.0.0'),
    /^could not parse prevResult: result type supports \[1\.0\.0 1\.1\.0\] but unmarshalled CNIVersion is "0\.4\.0"$/,
  );
});

// The full matrix: every version to every version and back, on a result each version can express.
const dual: Result = {
  cniVersion: '1.1.0',
  ips: [
    { address: '10.1.0.5/16', gateway: '10.1.0.1' },
    { address: 'fd00::5/64', gateway: 'fd00::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.1.0.1' },
    { dst: '::/0', gw: 'fd00::1' },
  ],
  dns: { nameservers: ['10.1.0.53'], search: ['example'] },
};

T('conversion matrix: every pair of versions, both ways, keeps what both versions can express', () => {
  for (const from of SPEC_VERSIONS) {
    const src = convertResult(dual, from);
    assert.is(src.cniVersion, from);
    for (const to of SPEC_VERSIONS) {
      const there = convertResult(src, to);
      assert.is(there.cniVersion, to, `${from}->${to}`);
      assert.equal(there.ips, dual.ips, `${from}->${to} ips`);
      assert.equal(there.routes, dual.routes, `${from}->${to} routes`);
      assert.equal(there.dns, dual.dns, `${from}->${to} dns`);
      const back = convertResult(there, from);
      assert.equal(back, src, `${from}->${to}->${from}`);
      // The wire form re-parses as its own version.
      assert.equal(parseResult(resultToWire(there, to), to), there);
    }
  }
});

T('conversion matrix: interfaces survive among 0.3.0-1.1.0 and are dropped for 0.1.0/0.2.0', () => {
  const withIfs: Result = {
    ...dual,
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/ns' }],
    ips: dual.ips!.map((ip) => ({ ...ip, interface: 0 })),
  };
  const modern = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
  for (const from of modern) {
    for (const to of modern) {
      const r = convertResult(convertResult(withIfs, from), to);
      assert.equal(r.interfaces, withIfs.interfaces, `${from}->${to}`);
      assert.equal(r.ips, withIfs.ips, `${from}->${to}`);
    }
    for (const to of ['0.1.0', '0.2.0']) {
      const r = convertResult(convertResult(withIfs, from), to);
      assert.is(r.interfaces, undefined);
      assert.equal(r.ips, dual.ips); // the index is gone too
    }
  }
  // 1.x-only interface fields only live between 1.0.0 and 1.1.0.
  const rich: Result = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mtu: 9000, socketPath: '/s', pciID: 'p' }],
    ips: [{ address: '10.0.0.2/24' }],
  };
  assert.equal(convertResult(rich, '1.1.0').interfaces, rich.interfaces);
  assert.equal(convertResult(rich, '0.4.0').interfaces, [{ name: 'eth0' }]);
});

T('conversion from 0.2.0 up: ips without interface, routes ip4 then ip6', () => {
  const src = parseResult(
    {
      cniVersion: '0.2.0',
      ip6: { ip: 'fd00::2/64', routes: [{ dst: '::/0' }] },
      ip4: { ip: '10.0.0.2/24', routes: [{ dst: '0.0.0.0/0' }] },
      dns: { domain: 'x' },
    },
    '0.2.0',
  );
  const w = JSON.parse(formatResult(src, '0.4.0'));
  assert.equal(w, {
    cniVersion: '0.4.0',
    ips: [
      { version: '4', address: '10.0.0.2/24' },
      { version: '6', address: 'fd00::2/64' },
    ],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    dns: { domain: 'x' },
  });
});

T.run();

// What the reference prints, version by version (host-local, IPAM-only: no namespace is touched), against
// our parse + print of the same document.
const sb = new Sandbox();
const O = suite('result output vs the reference host-local');
let dataDir = '';
O.before(() => {
  dataDir = sb.dir('ipam');
});
O.after(() => sb.cleanup());

O(
  '0.1.0-0.4.0 byte for byte; 1.0.0 equal as JSON (Debian 1.1.1 prints struct order and an empty dns, v1.9.1 sorts and omits it)',
  async () => {
    for (const v of ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
      const conf = JSON.stringify({
        cniVersion: v,
        name: `${sb.prefix}out`,
        type: 'w2main',
        ipam: {
          type: 'host-local',
          dataDir,
          ranges: [
            [{ subnet: '10.200.20.0/24', rangeStart: '10.200.20.80', rangeEnd: '10.200.20.89' }],
            [{ subnet: 'fd00:200:20::/64' }],
          ],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00:200:20::1' }],
          ...(v === '0.1.0' || v === '0.2.0' ? {} : { dns: { nameservers: ['10.200.20.53'] } }),
        },
      });
      const env = {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: `${sb.prefix}-${v}`,
        CNI_NETNS: '/var/run/netns/unused',
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/usr/lib/cni',
      };
      const ref = await spawnPlugin('/usr/lib/cni/host-local', new TextEncoder().encode(conf), env);
      assert.is(ref.exitCode, 0, ref.stdout);
      const model = parseResult(JSON.parse(ref.stdout), v);
      if (v !== '1.0.0') {
        assert.is(formatResult(model, v), ref.stdout, v);
      } else {
        const refDoc = JSON.parse(ref.stdout);
        if (Object.keys(refDoc.dns).length === 0) delete refDoc.dns;
        assert.equal(JSON.parse(formatResult(model, v)), refDoc);
      }
      await spawnPlugin('/usr/lib/cni/host-local', new TextEncoder().encode(conf), { ...env, CNI_COMMAND: 'DEL' });
    }
  },
);

O.run();
