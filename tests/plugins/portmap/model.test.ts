// portmap without I/O: config parsing and the iptables chain model, against the reference's own test expectations
// (portmap_test.go / portmap_iptables_test.go in containernetworking/plugins).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPortMapConfig, type PortMapConfig } from '../../../host/plugins/portmap/config.ts';
import {
  dnatChain,
  dnatChainName,
  markMasqChain,
  setMarkChain,
  topLevelDnatChain,
} from '../../../host/plugins/portmap/chains.ts';
import { setupPlan } from '../../../host/plugins/portmap/iptables.ts';
import { parseIpNet } from '../../../host/firewall/addr.ts';
import type { Result } from '../../../host/cni/types.ts';

const test = suite('portmap: config and chain model');
const LONG_ID =
  'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';

function load(conf: Record<string, unknown>, prevResult?: Result, ifName = 'container'): PortMapConfig {
  return loadPortMapConfig(
    { cniVersion: '1.0.0', type: 'portmap', ...conf, ...(prevResult ? { prevResult } : {}) },
    '1.0.0',
    ifName,
  );
}

test('an ADD config: picks the addresses on CNI_IFNAME in a sandbox, skips the host-side one', () => {
  const c = load(
    {
      name: 'test',
      backend: 'iptables',
      snat: false,
      conditionsV4: ['-s', '1.2.3.4'],
      conditionsV6: ['!', '-s', '12::34'],
      runtimeConfig: {
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostPort: 8081, containerPort: 81, protocol: 'udp' },
        ],
      },
    },
    {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'host' }, { name: 'container', sandbox: 'netns' }],
      ips: [
        { address: '10.0.0.1/24', gateway: '10.0.0.1', interface: 0 },
        { address: '2001:db8:1::2/64', gateway: '2001:db8:1::1', interface: 1 },
        { address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 1 },
      ],
    },
  );
  assert.is(c.snat, false);
  assert.equal(c.conditionsV4, ['-s', '1.2.3.4']);
  assert.equal(c.conditionsV6, ['!', '-s', '12::34']);
  assert.is(c.contIPv4?.ip, '10.0.0.2');
  assert.is(c.contIPv4?.prefix, 24);
  assert.is(c.contIPv6?.ip, '2001:db8:1::2');
});

test('a DEL config without runtimeConfig or prevResult; defaults: snat true, bit 13, iptables', () => {
  const c = load({ name: 'test' });
  assert.equal([c.snat, c.markMasqBit, c.backend, c.portMappings, c.contIPv4], [true, 13, 'iptables', [], undefined]);
});

test('a prevResult interface index out of range does not fail and the address is used', () => {
  const c = load({ name: 'test' }, { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24', interface: 7 }] });
  assert.is(c.contIPv4?.ip, '10.0.0.2');
});

test('nftables conditions are fine with backend nftables; keys match case-insensitively', () => {
  const c = load({
    name: 'test',
    Backend: 'nftables',
    conditionsv4: ['ip', 'saddr', '1.2.3.4'],
    RuntimeConfig: { PortMappings: [{ HostPort: 1, containerport: 2, protocol: 'tcp' }] },
  });
  assert.is(c.backend, 'nftables');
  assert.equal(c.portMappings, [{ hostPort: 1, containerPort: 2, protocol: 'tcp', hostIP: '' }]);
});

const referenceMappings = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8082, containerPort: 82, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
  { hostPort: 8086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
];

test('the standard container chain (v4, v6, snat off) has the reference rules', () => {
  assert.is(dnatChainName('testNetName', LONG_ID), 'CNI-DN-bfd599665540dd91d5d28');
  const conf = load({
    name: 'test',
    snat: true,
    conditionsV4: ['-a', 'b'],
    conditionsV6: ['-c', 'd'],
    runtimeConfig: { portMappings: referenceMappings },
  });
  const v4 = dnatChain(conf, LONG_ID, parseIpNet('10.0.0.2/24'));
  assert.is(v4.name, 'CNI-DN-67e92b96e692a494b6b85');
  assert.equal(v4.entryChains, ['CNI-HOSTPORT-DNAT']);
  const comment = `dnat name: "test" id: "${LONG_ID}"`;
  assert.equal(v4.entryRules, [
    [
      '-m',
      'comment',
      '--comment',
      comment,
      '-m',
      'multiport',
      '-p',
      'tcp',
      '--destination-ports',
      '8080,8081,8083,8084,8085,8086',
      '-a',
      'b',
    ],
    [
      '-m',
      'comment',
      '--comment',
      comment,
      '-m',
      'multiport',
      '-p',
      'udp',
      '--destination-ports',
      '8080,8082',
      '-a',
      'b',
    ],
  ]);
  const mark = (p: string, port: string, src: string, d: string[] = []) => [
    '-p',
    p,
    '--dport',
    port,
    ...d,
    '-s',
    src,
    '-j',
    'CNI-HOSTPORT-SETMARK',
  ];
  const dnat = (p: string, port: string, to: string, d: string[] = []) => [
    '-p',
    p,
    '--dport',
    port,
    ...d,
    '-j',
    'DNAT',
    '--to-destination',
    to,
  ];
  assert.equal(v4.rules, [
    mark('tcp', '8080', '10.0.0.2/24'),
    mark('tcp', '8080', '127.0.0.1'),
    dnat('tcp', '8080', '10.0.0.2:80'),
    mark('tcp', '8081', '10.0.0.2/24'),
    mark('tcp', '8081', '127.0.0.1'),
    dnat('tcp', '8081', '10.0.0.2:80'),
    mark('udp', '8080', '10.0.0.2/24'),
    mark('udp', '8080', '127.0.0.1'),
    dnat('udp', '8080', '10.0.0.2:81'),
    mark('udp', '8082', '10.0.0.2/24'),
    mark('udp', '8082', '127.0.0.1'),
    dnat('udp', '8082', '10.0.0.2:82'),
    mark('tcp', '8083', '10.0.0.2/24', ['-d', '192.168.0.2']),
    mark('tcp', '8083', '127.0.0.1', ['-d', '192.168.0.2']),
    dnat('tcp', '8083', '10.0.0.2:83', ['-d', '192.168.0.2']),
    mark('tcp', '8084', '10.0.0.2/24'),
    mark('tcp', '8084', '127.0.0.1'),
    dnat('tcp', '8084', '10.0.0.2:84'),
  ]);
  const v6 = dnatChain(conf, LONG_ID, parseIpNet('2001:db8::2/64'));
  assert.equal(v6.rules, [
    mark('tcp', '8080', '2001:db8::2/64'),
    dnat('tcp', '8080', '[2001:db8::2]:80'),
    mark('tcp', '8081', '2001:db8::2/64'),
    dnat('tcp', '8081', '[2001:db8::2]:80'),
    mark('udp', '8080', '2001:db8::2/64'),
    dnat('udp', '8080', '[2001:db8::2]:81'),
    mark('udp', '8082', '2001:db8::2/64'),
    dnat('udp', '8082', '[2001:db8::2]:82'),
    mark('tcp', '8085', '2001:db8::2/64', ['-d', '2001:db8:a::1']),
    dnat('tcp', '8085', '[2001:db8::2]:85', ['-d', '2001:db8:a::1']),
    mark('tcp', '8086', '2001:db8::2/64'),
    dnat('tcp', '8086', '[2001:db8::2]:86'),
  ]);
  assert.equal(v6.entryRules[0]!.slice(-2), ['-c', 'd']);
  const noSnat = dnatChain({ ...conf, snat: false }, LONG_ID, parseIpNet('10.0.0.2/24'));
  assert.equal(noSnat.rules, [
    dnat('tcp', '8080', '10.0.0.2:80'),
    dnat('tcp', '8081', '10.0.0.2:80'),
    dnat('udp', '8080', '10.0.0.2:81'),
    dnat('udp', '8082', '10.0.0.2:82'),
    dnat('tcp', '8083', '10.0.0.2:83', ['-d', '192.168.0.2']),
    dnat('tcp', '8084', '10.0.0.2:84'),
  ]);
});

test('external mark chain, top-level chain and mark chains (bit 5 → 0x20/0x20)', () => {
  const conf = load({
    name: 'test',
    externalSetMarkChain: 'PLZ-SET-MARK',
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
  });
  assert.equal(dnatChain(conf, LONG_ID, parseIpNet('10.0.0.2/24')).rules, [
    ['-p', 'tcp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'PLZ-SET-MARK'],
    ['-p', 'tcp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'PLZ-SET-MARK'],
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
  ]);
  assert.equal(topLevelDnatChain(), {
    name: 'CNI-HOSTPORT-DNAT',
    entryChains: ['PREROUTING', 'OUTPUT'],
    entryRules: [['-m', 'addrtype', '--dst-type', 'LOCAL']],
    rules: [],
    prependEntry: false,
  });
  assert.equal(setMarkChain(5).rules, [
    ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', '0x20/0x20'],
  ]);
  const masq = markMasqChain(5);
  assert.equal(
    [masq.entryChains, masq.entryRules, masq.rules, masq.prependEntry],
    [
      ['POSTROUTING'],
      [['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade']],
      [['-m', 'mark', '--mark', '0x20/0x20', '-j', 'MASQUERADE']],
      true,
    ],
  );
  assert.equal(setMarkChain(31).rules[0]!.at(-1), '0x80000000/0x80000000');
  // with an external mark chain, the shared SETMARK/MASQ chains are not part of the plan
  assert.not.ok(
    setupPlan(conf, LONG_ID, parseIpNet('10.0.0.2/24')).chains.some((c) => c.name.startsWith('CNI-HOSTPORT-SETMARK')),
  );
});

test('the ADD plan only creates the pod chain and appends its rules; the shared part is only checked', () => {
  const conf = load({
    name: 'test',
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
  });
  const plan = setupPlan(conf, 'cid', parseIpNet('10.0.0.2/24'));
  assert.equal(
    plan.chains.filter((c) => c.own).map((c) => c.name),
    [dnatChainName('test', 'cid')],
  );
  const own = plan.rules.filter((r) => r.own);
  assert.ok(
    own.every(
      (r) =>
        r.chain === dnatChainName('test', 'cid') ||
        (r.chain === 'CNI-HOSTPORT-DNAT' && r.rule.at(-1) === dnatChainName('test', 'cid')),
    ),
  );
  assert.is(plan.rules.filter((r) => !r.own).length, 5, 'SETMARK rule, MASQ rule, POSTROUTING/PREROUTING/OUTPUT jumps');
});

test.run();
