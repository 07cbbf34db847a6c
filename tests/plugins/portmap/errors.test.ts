// Bad input: the reference's error JSON (code and message), exit 1, and no rule made or removed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../../_lib/sandbox.ts';
import {
  callPortmap,
  natLinesMentioning,
  removeNatChains,
  removeUnusedHostportChains,
  type Impl,
} from '../../_lib/firewall.ts';
import { dnatChainName } from '../../../host/plugins/portmap/chains.ts';

const test = suite('portmap: bad input');
const sb = new Sandbox();
const network = () => `${sb.prefix}-pmerr`;
const CID = 'errcid';
let nsPath = '';

test.before(async () => {
  nsPath = (await sb.netns('err')).path;
});
test.after(async () => {
  await removeNatChains([dnatChainName(network(), CID)]);
  await removeUnusedHostportChains(); // the reference makes the shared chains before it fails
  await sb.cleanup();
});

const prevResult = () => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: nsPath }],
  ips: [{ interface: 0, address: '10.200.56.2/24', gateway: '10.200.56.1' }],
});

function conf(
  extra: Record<string, unknown>,
  mappings: unknown = [{ hostPort: 18500, containerPort: 80, protocol: 'tcp' }],
): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: network(),
    type: 'portmap',
    runtimeConfig: { portMappings: mappings },
    prevResult: prevResult(),
    ...extra,
  };
}

async function outcome(impl: Impl, command: string, c: Record<string, unknown>) {
  const before = await natLinesMentioning(4, [dnatChainName(network(), CID), network()]);
  const r = await callPortmap(impl, command, c, { containerId: CID, netns: nsPath });
  assert.equal(
    await natLinesMentioning(4, [dnatChainName(network(), CID), network()]),
    before,
    `${impl} ${command} changed rules`,
  );
  return { code: r.code, error: r.stdout ? (JSON.parse(r.stdout) as unknown) : undefined };
}

/** Both implementations fail the same way (and change nothing). */
function same(name: string, command: string, c: () => Record<string, unknown>, expectMsg: string) {
  test(`${name} (${command}) → the reference's error`, async () => {
    const ref = await outcome('reference', command, c());
    const ours = await outcome('ours', command, c());
    assert.equal(ours, ref);
    assert.equal(ours, { code: 1, error: { code: 999, msg: expectMsg } });
  });
}

same(
  'host port 0',
  'ADD',
  () => conf({}, [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]),
  'failed to parse config: Invalid host port number: 0',
);
same(
  'container port -1',
  'ADD',
  () => conf({}, [{ hostPort: 18501, containerPort: -1, protocol: 'tcp' }]),
  'failed to parse config: Invalid container port number: -1',
);
same(
  'a null port mapping is a zero one (Go decodes null into a struct element as its zero value)',
  'ADD',
  () => conf({}, [null]),
  'failed to parse config: Invalid container port number: 0',
);
same(
  'host port 0 also fails DEL',
  'DEL',
  () => conf({}, [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]),
  'failed to parse config: Invalid host port number: 0',
);
same(
  'markMasqBit 32',
  'ADD',
  () => conf({ markMasqBit: 32 }),
  'failed to parse config: MasqMarkBit must be between 0 and 31',
);
same(
  'markMasqBit -1',
  'ADD',
  () => conf({ markMasqBit: -1 }),
  'failed to parse config: MasqMarkBit must be between 0 and 31',
);
same(
  'externalSetMarkChain with markMasqBit',
  'ADD',
  () => conf({ markMasqBit: 5, externalSetMarkChain: 'X' }),
  'failed to parse config: Cannot specify externalSetMarkChain and markMasqBit',
);
same(
  'no prevResult',
  'ADD',
  () => {
    const c = conf({});
    delete c.prevResult;
    return c;
  },
  'must be called as chained plugin',
);
same(
  'CHECK without prevResult',
  'CHECK',
  () => {
    const c = conf({});
    delete c.prevResult;
    return c;
  },
  'Required prevResult missing',
);
same(
  'snat of the wrong type',
  'ADD',
  () => conf({ snat: 'yes' }),
  'failed to parse config: failed to parse network configuration: json: cannot unmarshal string into Go struct field PortMapConf.snat of type bool',
);
same(
  'hostPort of the wrong type',
  'ADD',
  () => conf({}, [{ hostPort: '80', containerPort: 80, protocol: 'tcp' }]),
  'failed to parse config: failed to parse network configuration: json: cannot unmarshal string into Go struct field PortMapEntry.runtimeConfig.portMappings.hostPort of type int',
);

// v1.9.1 only (Debian 1.1.1 has no `backend` field and ignores it): our errors are v1.9.1's text.
function ours(name: string, c: () => Record<string, unknown>, expectMsg: string) {
  test(`${name} → v1.9.1's error (not in Debian 1.1.1)`, async () => {
    assert.equal(await outcome('ours', 'ADD', c()), { code: 1, error: { code: 999, msg: expectMsg } });
  });
}
ours('unknown backend', () => conf({ backend: 'pf' }), 'failed to parse config: unrecognized backend "pf"');
ours(
  'nftables conditions with backend iptables',
  () => conf({ backend: 'iptables', conditionsV4: ['ip', 'saddr', '10.0.0.0/8'] }),
  'failed to parse config: iptables backend was requested but configuration contains nftables-specific options [conditionsV4]',
);
ours(
  'iptables options with backend nftables',
  () => conf({ backend: 'nftables', externalSetMarkChain: 'X', conditionsV6: ['-s', '::1'] }),
  'failed to parse config: nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain conditionsV6]',
);

test('a rule iptables rejects (hostPort 70000): error from both, ours leaves nothing, the reference an empty chain', async () => {
  const c = () => conf({}, [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }]);
  const chain = dnatChainName(network(), CID);
  const ref = await callPortmap('reference', 'ADD', c(), { containerId: CID, netns: nsPath });
  assert.is(ref.code, 1);
  assert.equal(await natLinesMentioning(4, [chain]), [`:${chain} - [0:0]`], 'reference: half-applied');
  await removeNatChains([chain]);
  const ours = await callPortmap('ours', 'ADD', c(), { containerId: CID, netns: nsPath });
  assert.is(ours.code, 1);
  assert.match(
    JSON.parse(ours.stdout).msg,
    /^unable to setup DNAT: running \[iptables-restore --noflush --wait\]: exit status \d+: .*70000/s,
  );
  assert.equal(await natLinesMentioning(4, [chain]), []);
});

test('a failure in the second family rolls back the first (the reference keeps the IPv4 rules)', async () => {
  const c = conf({ conditionsV6: ['-m', 'nosuchmatch-xyz'] });
  (c.prevResult as { ips: unknown[] }).ips.push({ interface: 0, address: 'fd00:200:56::2/64' });
  const chain = dnatChainName(network(), CID);
  const r = await callPortmap('ours', 'ADD', c, { containerId: CID, netns: nsPath });
  assert.is(r.code, 1);
  assert.equal([...(await natLinesMentioning(4, [chain])), ...(await natLinesMentioning(6, [chain]))], []);
});

test('ADD with no mappings prints prevResult and makes no rules', async () => {
  const r = await callPortmap('ours', 'ADD', conf({}, []), { containerId: CID, netns: nsPath });
  assert.is(r.code, 0);
  assert.equal((JSON.parse(r.stdout) as { ips: unknown[] }).ips, prevResult().ips);
  assert.equal(await natLinesMentioning(4, [dnatChainName(network(), CID)]), []);
});

test.run();
