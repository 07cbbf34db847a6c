// bridge config decoding, defaults and validation (pure: no namespaces, no links).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectTrunkVlans, loadBridgeConfig, validateForAdd } from '../../../host/plugins/bridge/config.ts';
import type { NetConf } from '../../../host/cni/types.ts';

const test = suite('bridge config');

function load(conf: Record<string, unknown>, cniArgs = '', netconf: Partial<NetConf> = {}) {
  return loadBridgeConfig(
    { cniVersion: '1.0.0', name: 'n', type: 'bridge', ...netconf, ...conf },
    netconf.cniVersion ?? '1.0.0',
    cniArgs,
  );
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

test('defaults', () => {
  const c = load({});
  assert.is(c.bridge, 'cni0');
  assert.is(c.mtu, 0);
  assert.is(c.vlan, 0);
  assert.equal(c.trunkVlans, []);
  assert.is(c.vlanTrunk, undefined);
  assert.is(c.ipamType, '');
  for (const k of [
    'isGateway',
    'isDefaultGateway',
    'forceAddress',
    'ipMasq',
    'hairpinMode',
    'promiscMode',
    'preserveDefaultVlan',
    'macspoofchk',
    'enabledad',
    'disableContainerInterface',
    'portIsolation',
  ] as const)
    assert.is(c[k], false, k);
  assert.is(c.ipMasqBackend, undefined);
  assert.is(c.mac, undefined);
  assert.is(c.dns, undefined);
});

test('isDefaultGateway implies isGateway; keys match case-insensitively (Go encoding/json)', () => {
  const c = load({ IsDefaultGateway: true, BRIDGE: 'br9', Mtu: 1400 });
  assert.is(c.isGateway, true);
  assert.is(c.bridge, 'br9');
  assert.is(c.mtu, 1400);
});

test('MAC precedence: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC', () => {
  assert.is(load({}, 'MAC=0a:00:00:00:00:01').mac, '0a:00:00:00:00:01');
  assert.is(load({ args: { cni: { mac: '0a:00:00:00:00:02' } } }, 'MAC=0a:00:00:00:00:01').mac, '0a:00:00:00:00:02');
  assert.is(
    load(
      { args: { cni: { mac: '0a:00:00:00:00:02' } }, runtimeConfig: { mac: '0a:00:00:00:00:03' } },
      'MAC=0a:00:00:00:00:01',
    ).mac,
    '0a:00:00:00:00:03',
  );
});

test('CNI_ARGS: unknown keys fail unless IgnoreUnknown', () => {
  assert.is(
    errorOf(() => load({}, 'K8S_POD_NAME=x')),
    'ARGS: unknown args ["K8S_POD_NAME=x"]',
  );
  assert.is(load({}, 'IgnoreUnknown=1;K8S_POD_NAME=x').mac, undefined);
  assert.is(
    errorOf(() => load({}, 'none')),
    'ARGS: invalid pair "none"',
  );
});

test('wrong value types are Go-worded load errors', () => {
  assert.is(
    errorOf(() => load({ isGateway: 'yes' })),
    'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.isGateway of type bool',
  );
  assert.is(
    errorOf(() => load({ mtu: 1.5 })),
    'failed to load netconf: json: cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int',
  );
});

test('vlan range and trunk rules', () => {
  assert.is(
    errorOf(() => load({ vlan: 4095 })),
    'invalid VLAN ID 4095 (must be between 0 and 4094)',
  );
  assert.is(
    errorOf(() => load({ vlan: -1 })),
    'invalid VLAN ID -1 (must be between 0 and 4094)',
  );
  assert.equal(collectTrunkVlans([{ id: 5 }, { minID: 3, maxID: 6 }, { id: 4 }]), [3, 4, 5, 6]);
  assert.equal(collectTrunkVlans([]), []);
  assert.equal(load({ vlanTrunk: [] }).vlanTrunk, []);
  assert.is(load({ vlanTrunk: null }).vlanTrunk, undefined);
  assert.equal(load({ vlanTrunk: [{ id: 7 }, { minID: 1, maxID: 2 }] }).trunkVlans, [1, 2, 7]);
});

test('config dns counts only when a field is set', () => {
  assert.is(load({}, '', { dns: {} }).dns, undefined);
  assert.equal(load({}, '', { dns: { nameservers: ['10.0.0.53'] } }).dns, { nameservers: ['10.0.0.53'] });
  assert.equal(load({}, '', { dns: { domain: 'x.test' } }).dns, { domain: 'x.test' });
});

test('ADD-only checks, before anything is created', () => {
  const l3 = { ipam: { type: 'host-local' } };
  assert.is(
    errorOf(() => validateForAdd(load({ disableContainerInterface: true }, '', l3))),
    'cannot use IPAM when DisableContainerInterface flag is set',
  );
  assert.is(
    errorOf(() => validateForAdd(load({ hairpinMode: true, promiscMode: true }))),
    'cannot set hairpin mode and promiscuous mode at the same time',
  );
  assert.is(
    errorOf(() => validateForAdd(load({ ipMasq: true, ipMasqBackend: 'x' }, '', l3))),
    'unknown ipmasq backend "x"',
  );
  assert.is(
    errorOf(() => validateForAdd(load({ ipMasq: true, ipMasqBackend: 'nftables' }, '', l3))),
    '',
  );
  assert.is(
    errorOf(() => validateForAdd(load({}, '', { cniVersion: '0.2.0' }))),
    'cannot convert: no valid IP addresses',
  );
  assert.is(
    errorOf(() => validateForAdd(load({ runtimeConfig: { mac: 'zz' } }))),
    'failed to make veth pair: address zz: invalid MAC address',
  );
});

test.run();
