// bandwidth config decoding and validation (no privileges): which entry wins, key spelling, the reference's errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadBandwidthConfig } from '../../../host/plugins/bandwidth/config.ts';
import { ifbName } from '../../../host/plugins/bandwidth/names.ts';

const test = suite('bandwidth config');
const base = { cniVersion: '1.0.0', name: 'net', type: 'bandwidth' };
const load = (extra: Record<string, unknown>) => loadBandwidthConfig({ ...base, ...extra }, 'net', '1.0.0');
const fails = (extra: Record<string, unknown>, msg: string) =>
  assert.throws(
    () => load(extra),
    (e: Error) => e.message === msg,
    msg,
  );

test('static limits', () => {
  assert.equal(load({ ingressRate: 8000, ingressBurst: 16000 }).bandwidth, {
    ingressRate: 8000,
    ingressBurst: 16000,
    egressRate: 0,
    egressBurst: 0,
  });
  assert.is(load({}).bandwidth, undefined);
});

test('runtimeConfig.bandwidth, with the capitalised keys containerd sends', () => {
  const caps = { IngressRate: 10000000, IngressBurst: 4294967295, EgressRate: 20000000, EgressBurst: 4294967295 };
  assert.equal(load({ RuntimeConfig: { bandWidth: caps } }).bandwidth, {
    ingressRate: 10000000,
    ingressBurst: 4294967295,
    egressRate: 20000000,
    egressBurst: 4294967295,
  });
});

test('static config beats runtimeConfig, even when invalid or null', () => {
  const runtimeConfig = { bandwidth: { ingressRate: 8000, ingressBurst: 8000 } };
  assert.equal(load({ egressRate: 16000, egressBurst: 800, runtimeConfig }).bandwidth, {
    ingressRate: 0,
    ingressBurst: 0,
    egressRate: 16000,
    egressBurst: 800,
  });
  fails({ ingressBurst: 8000, runtimeConfig }, 'if burst is set, rate must also be set');
  assert.equal(load({ ingressRate: null, runtimeConfig }).bandwidth, {
    ingressRate: 0,
    ingressBurst: 0,
    egressRate: 0,
    egressBurst: 0,
  });
});

test('rate and burst go together; burst below 4 GB (reference "Should allow only 4GB burst rate")', () => {
  fails({ ingressRate: 8000 }, 'if rate is set, burst must also be set');
  fails({ egressBurst: 8000 }, 'if burst is set, rate must also be set');
  fails({ runtimeConfig: { bandwidth: { egressRate: 1, egressBurst: 0 } } }, 'if rate is set, burst must also be set');
  assert.ok(load({ ingressRate: 100, ingressBurst: 34359738352 }));
  assert.ok(load({ ingressRate: 100, ingressBurst: 34359738359 }));
  fails({ ingressRate: 100, ingressBurst: 34359738360 }, 'burst cannot be more than 4GB');
  fails({ ingressRate: 100, ingressBurst: 34359738368 }, 'burst cannot be more than 4GB');
  fails({ ingressRate: 0, ingressBurst: 1 }, 'if burst is set, rate must also be set');
  fails({ ingressRate: 1, ingressBurst: 0 }, 'if rate is set, burst must also be set');
  assert.equal(load({ ingressRate: 0, ingressBurst: 0 }).bandwidth, {
    ingressRate: 0,
    ingressBurst: 0,
    egressRate: 0,
    egressBurst: 0,
  });
});

test('wrong types: Go json errors (texts observed from Debian 1.1.1)', () => {
  const p = 'failed to parse network configuration: json: cannot unmarshal ';
  fails({ ingressRate: 'x' }, `${p}string into Go struct field PluginConf.ingressRate of type uint64`);
  fails({ ingressRate: -1 }, `${p}number -1 into Go struct field PluginConf.ingressRate of type uint64`);
  fails({ ingressRate: 1.5 }, `${p}number 1.5 into Go struct field PluginConf.ingressRate of type uint64`);
  fails(
    { runtimeConfig: { bandwidth: { ingressRate: 'x' } } },
    `${p}string into Go struct field BandwidthEntry.runtimeConfig.bandwidth.ingressRate of type uint64`,
  );
  fails(
    { runtimeConfig: { bandwidth: 'x' } },
    `${p}string into Go struct field .runtimeConfig.bandwidth of type main.BandwidthEntry`,
  );
  fails(
    { runtimeConfig: 'x' },
    `${p}string into Go struct field PluginConf.runtimeConfig of type struct { Bandwidth *main.BandwidthEntry "json:\\"bandwidth,omitempty\\"" }`,
  );
});

test('ifb name: bwp + 12 hex of sha512(network + containerID) (docs/reference-notes.md §2.6)', () => {
  assert.is(ifbName('refnet', 'refpod-a'), 'bwp720ff4d3e3bd');
});

test.run();
