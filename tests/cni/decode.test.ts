// Go-json-like config decoding (host/cni/decode.ts) and CNI_ARGS parsing (host/cni/args.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DecodeError,
  bool,
  custom,
  decode,
  dict,
  getField,
  int,
  list,
  parseJson,
  ptr,
  str,
  struct,
  typeError,
  uint8,
  uint16,
  uint32,
  uint64,
  float64,
} from '../../host/cni/decode.ts';
import { argString, parseArgBool, parseCniArgs, splitCniArgs } from '../../host/cni/args.ts';

const Route = struct('types.Route', { dst: str, gw: str });
const Ipam = struct('allocator.IPAMConfig', { type: str, routes: list(ptr(Route)), dataDir: str });
const Bandwidth = struct('main.BandwidthEntry', {
  ingressRate: uint64,
  ingressBurst: uint64,
  egressRate: uint64,
  egressBurst: uint64,
});
const Conf = struct('main.NetConf', {
  name: str,
  mtu: int,
  isGateway: bool,
  ipam: ptr(Ipam),
  runtimeConfig: struct('main.RuntimeConfig', { bandwidth: ptr(Bandwidth) }),
  labels: dict(str),
});

const D = suite('decode');

D('keys match case-insensitively; typed output', () => {
  const c = decode(Conf, {
    NAME: 'n',
    Mtu: 1400,
    isgateway: true,
    IPAM: { Type: 'host-local', ROUTES: [{ DST: '0.0.0.0/0' }], DataDir: '/x' },
  });
  assert.equal(c, {
    name: 'n',
    mtu: 1400,
    isGateway: true,
    ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], dataDir: '/x' },
  });
});

D("containerd's capitalised bandwidth keys decode (go-cni has no json tags)", () => {
  const c = decode(Conf, {
    RuntimeConfig: {
      bandwidth: { IngressRate: 10000000, IngressBurst: 4294967295, EgressRate: 20000000, EgressBurst: 4294967295 },
    },
  });
  assert.equal(c?.runtimeConfig?.bandwidth, {
    ingressRate: 10000000,
    ingressBurst: 4294967295,
    egressRate: 20000000,
    egressBurst: 4294967295,
  });
});

D('unknown keys are ignored, null leaves a field unset, the last matching key wins', () => {
  assert.equal(decode(Conf, { name: 'a', bogus: { deep: 1 }, mtu: null }), { name: 'a' });
  assert.equal(decode(Conf, { name: 'a', NAME: 'b' }), { name: 'b' });
  assert.equal(decode(Conf, { NAME: 'b', name: 'a' }), { name: 'a' });
  assert.equal(decode(Conf, { name: 'a', Name: null }), { name: 'a' });
  assert.equal(parseJson('{"name":"a","name":"b"}'), { name: 'b' });
  assert.is(decode(Conf, null), undefined);
});

D('wrong types are errors worded like Go', () => {
  const err = (v: unknown): string => {
    try {
      decode(Conf, v);
    } catch (e) {
      assert.instance(e, DecodeError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  assert.is(
    err({ ipam: { routes: 'x' } }),
    'json: cannot unmarshal string into Go struct field IPAMConfig.ipam.routes of type []*types.Route',
  );
  assert.is(
    err({ isGateway: 'true' }),
    'json: cannot unmarshal string into Go struct field NetConf.isGateway of type bool',
  );
  assert.is(err({ mtu: '1400' }), 'json: cannot unmarshal string into Go struct field NetConf.mtu of type int');
  assert.is(err({ mtu: 1.5 }), 'json: cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int');
  assert.is(err({ name: ['x'] }), 'json: cannot unmarshal array into Go struct field NetConf.name of type string');
  assert.is(err({ name: {} }), 'json: cannot unmarshal object into Go struct field NetConf.name of type string');
  assert.is(
    err({ ipam: { routes: [{ dst: 1 }] } }),
    'json: cannot unmarshal number into Go struct field Route.ipam.routes.dst of type string',
  );
  assert.is(
    err({ runtimeConfig: { bandwidth: { ingressRate: -1 } } }),
    'json: cannot unmarshal number -1 into Go struct field BandwidthEntry.runtimeConfig.bandwidth.ingressRate of type uint64',
  );
  assert.is(
    err({ labels: { a: 1 } }),
    'json: cannot unmarshal number into Go struct field NetConf.labels of type string',
  );
  assert.is(err([]), 'json: cannot unmarshal array into Go value of type main.NetConf');
  assert.is(err('x'), 'json: cannot unmarshal string into Go value of type main.NetConf');
});

D('integer ranges', () => {
  assert.is(decode(uint8, 255), 255);
  assert.throws(() => decode(uint8, 256), /number 256 into Go value of type uint8/);
  assert.throws(() => decode(uint16, -1), /number -1/);
  assert.is(decode(uint32, 4294967295), 4294967295);
  assert.throws(() => decode(uint32, 4294967296), /uint32/);
  assert.throws(() => decode(uint64, 2 ** 60), /uint64/); // beyond exact JavaScript integers: rejected, never rounded
  assert.is(decode(float64, 1.5), 1.5);
  assert.throws(() => decode(float64, true), /cannot unmarshal bool into Go value of type float64/);
});

D('lists drop null elements; custom decoders report through typeError', () => {
  assert.equal(decode(list(str), ['a', null, 'b']), ['a', 'b']);
  const boolOrString = custom('bool', (v, at) =>
    typeof v === 'boolean' ? v : typeof v === 'string' ? v === 'true' : typeError('number', 'bool', at),
  );
  assert.is(decode(boolOrString, 'true'), true);
  assert.throws(() => decode(struct('x.T', { f: boolOrString }), { f: 1 }), /Go struct field T\.f of type bool/);
});

D('getField: Go-style lookup on raw objects', () => {
  assert.is(getField({ RuntimeConfig: 1 }, 'runtimeConfig'), 1);
  assert.is(getField({ runtimeconfig: 1, RUNTIMECONFIG: 2 }, 'runtimeConfig'), 2);
  assert.is(getField({ a: 1 }, 'b'), undefined);
});

D('syntax errors are worded like Go', () => {
  const msg = (t: string): string => {
    try {
      parseJson(t);
    } catch (e) {
      return (e as Error).message;
    }
    return 'parsed';
  };
  assert.is(msg('{"a":1'), 'unexpected end of JSON input');
  assert.is(msg(''), 'unexpected end of JSON input');
  assert.is(msg('{"a" 1}'), "invalid character '1' after object key");
  assert.is(msg('{"a":1 "b":2}'), "invalid character '\"' after object key:value pair");
  assert.is(msg('{a:1}'), "invalid character 'a' looking for beginning of object key string");
  assert.is(msg('[1 2]'), "invalid character '2' after array element");
  assert.is(msg('{"a":01}'), "invalid character '1' after object key:value pair");
  assert.is(msg('{"a":-}'), "invalid character '}' in numeric literal");
  assert.is(msg('{"a":nul}'), "invalid character '}' in literal null (expecting 'l')");
  assert.is(msg('\ufeff{}'), "invalid character 'ï' looking for beginning of value"); // Go reports the BOM's first byte
  assert.is(msg('{"a":"\u0001"}'), "invalid character '\\x01' in string literal");
  assert.is(msg('{"a":"\t"}'), "invalid character '\\t' in string literal");
  assert.is(msg("{'a':1}"), "invalid character '\\'' looking for beginning of object key string");
});

const A = suite('CNI_ARGS');

const ipArg = (v: string): string => {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(v)) throw new Error(`invalid IP address: ${v}`);
  return v;
};

A('known keys parse, case-sensitively; empty is nothing', () => {
  assert.equal(parseCniArgs('', { IP: ipArg }), {});
  assert.equal(parseCniArgs('IP=10.1.2.3', { IP: ipArg }), { IP: '10.1.2.3' });
  assert.throws(() => parseCniArgs('ip=10.1.2.6', { IP: ipArg }), /^ARGS: unknown args \["ip=10\.1\.2\.6"\]$/);
});

A('unknown keys fail unless IgnoreUnknown is 1/true (any case)', () => {
  const k8s = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=abc';
  assert.throws(
    () => parseCniArgs(k8s, { IP: ipArg }),
    /^ARGS: unknown args \["K8S_POD_NAMESPACE=default" "K8S_POD_NAME=p" "K8S_POD_INFRA_CONTAINER_ID=abc"\]$/,
  );
  for (const t of ['1', 'true', 'TRUE', 'True'])
    assert.equal(parseCniArgs(`IgnoreUnknown=${t};${k8s};IP=10.0.0.9`, { IP: ipArg }), {
      IgnoreUnknown: true,
      IP: '10.0.0.9',
    });
  for (const f of ['0', 'false']) assert.throws(() => parseCniArgs(`IgnoreUnknown=${f};${k8s}`, {}), /unknown args/);
  assert.throws(
    () => parseCniArgs('IgnoreUnknown=yes', {}),
    /^ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes$/,
  );
  // The order does not matter: IgnoreUnknown may come last.
  assert.equal(parseCniArgs('FOO=bar;IgnoreUnknown=1', {}), { IgnoreUnknown: true });
});

A('every piece must be exactly K=V', () => {
  for (const bad of ['IP=10.0.0.1;', 'none', 'IP=a=b', ';IP=1.2.3.4', 'IgnoreUnknown=1;;IP=1.2.3.4']) {
    assert.throws(() => parseCniArgs(bad, { IP: ipArg }), /^ARGS: invalid pair "/, bad);
  }
  assert.throws(() => parseCniArgs('IgnoreUnknown=1;X', {}), /^ARGS: invalid pair "X"$/);
});

A('value errors name the pair', () => {
  assert.throws(
    () => parseCniArgs('IP=nope', { IP: ipArg }),
    /^ARGS: error parsing value of pair "IP=nope": invalid IP address: nope$/,
  );
  assert.equal(parseCniArgs('MAC=c2:11:22:33:44:55', { MAC: argString }), { MAC: 'c2:11:22:33:44:55' });
  assert.is(parseArgBool('TrUe'), true);
});

A('splitCniArgs keeps the pairs in order for the runtime', () => {
  assert.equal(splitCniArgs('IgnoreUnknown=1;K8S_POD_NAME=p'), [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAME', 'p'],
  ]);
  assert.equal(splitCniArgs(''), []);
});

D.run();
A.run();
