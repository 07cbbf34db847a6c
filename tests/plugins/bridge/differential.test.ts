// bridge, differentially: the same scenario on the reference (/usr/lib/cni/bridge + host-local, Debian 1.1.1)
// and on ours; results, links, addresses, routes, VLANs, sysctls, nat rules, nft spoof-check rules and
// host-local files must be the same after every step (random MACs and veth names masked).
// Subnets: 10.200.70-75.0/24, fd00:200:70::/64.
import { removeUnusedBridgeNftTables } from '../../_lib/firewall.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../_lib/run.ts';
import {
  assertSameAsReference,
  assertSameErrors,
  bridgeConf,
  hostSysctls,
  newIds,
  podSysctls,
  stepOf,
} from './scenarios.ts';

const test = suite('bridge: same as the reference');
test.after(removeUnusedBridgeNftTables);

test('IPv4 gateway, ipMasq, hairpin: ADD, CHECK, DEL', async () => {
  await assertSameAsReference({
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.70.0/24'],
          dataDir,
          routes: [{ dst: '0.0.0.0/0' }],
          extra: { isGateway: true, ipMasq: true, hairpinMode: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir, sysctls: hostSysctls(), podSysctls },
      };
    },
  });
});

test('IPv6 isDefaultGateway: ADD, CHECK, DEL', async () => {
  await assertSameAsReference({
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['fd00:200:70::/64'],
          dataDir,
          extra: { isDefaultGateway: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir, sysctls: [...hostSysctls(), 'net/ipv6/conf/all/forwarding'], podSysctls },
      };
    },
  });
});

test('dual stack isDefaultGateway, ipMasq: ADD, CHECK, DEL', async () => {
  await assertSameAsReference({
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.71.0/24', 'fd00:200:70::/64'],
          dataDir,
          extra: { isDefaultGateway: true, ipMasq: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir, sysctls: [...hostSysctls(), 'net/ipv6/conf/all/forwarding'], podSysctls },
      };
    },
  });
});

test('three subnets (1 IPv4 + 2 IPv6), isDefaultGateway: ADD, CHECK, DEL', async () => {
  await assertSameAsReference({
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.71.0/24', 'fd00:200:70::/80', 'fd00:200:70:0:1::/80'],
          dataDir,
          extra: { isDefaultGateway: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir, sysctls: [...hostSysctls(), 'net/ipv6/conf/all/forwarding'], podSysctls },
      };
    },
  });
});

test('L2 (no ipam): ADD, DEL', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      return {
        config: bridgeConf({ bridge, network }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { sysctls: hostSysctls(), podSysctls },
      };
    },
  });
});

// This VM's kernel has no CONFIG_BRIDGE_VLAN_FILTERING: both fail alike creating the bridge; elsewhere the
// snapshots compare the port VLANs (`bridge vlan`) and vlan_filtering.
test('L2 with vlan 100: port in VLAN 100 only, vlan_filtering on the new bridge', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      return {
        config: bridgeConf({ bridge, network, extra: { vlan: 100 } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
      };
    },
  });
});

test('L3 with vlan 100: gateway on <bridge>.100 (4th interface), ADD, CHECK, DEL', async () => {
  await assertSameAsReference({
    prepare: async ({ sb, token }) => {
      const { network, containerId } = newIds(sb, token);
      const bridge = sb.name('v'); // <bridge>.100 must fit 15 characters
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.72.0/24'],
          dataDir,
          extra: { vlan: 100, isGateway: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir, hostLinks: [`${bridge}.100`] },
      };
    },
  });
});

test('mtu 1400 on a new bridge and both veth ends', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({ bridge, network, subnets: ['10.200.73.0/24'], dataDir, extra: { mtu: 1400 } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

test('an existing bridge keeps its MTU (no change by a config mtu)', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      await run('ip', ['link', 'add', bridge, 'mtu', '1450', 'type', 'bridge']);
      const pod = await sb.netns('pod');
      return {
        config: bridgeConf({ bridge, network, extra: { mtu: 1500 } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
      };
    },
  });
});

test('promiscMode: ADD, CHECK, DEL', async () => {
  await assertSameAsReference({
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.73.0/24'],
          dataDir,
          extra: { promiscMode: true, isGateway: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

for (const [how, extra, cniArgs] of [
  ['CNI_ARGS MAC=', {}, 'IgnoreUnknown=1;MAC=0a:58:0a:c8:4a:07'],
  ['args.cni.mac', { args: { cni: { mac: '0a:58:0a:c8:4a:07' } } }, ''],
  [
    'runtimeConfig.mac (beats args and CNI_ARGS)',
    { args: { cni: { mac: '0a:58:0a:c8:4a:08' } }, runtimeConfig: { mac: '0a:58:0a:c8:4a:07' } },
    'IgnoreUnknown=1;MAC=0a:58:0a:c8:4a:09',
  ],
] as const) {
  test(`explicit container MAC from ${how}`, async () => {
    const cmp = await assertSameAsReference({
      steps: ['ADD', 'DEL'],
      prepare: async ({ sb, token }) => {
        const { network, containerId, bridge } = newIds(sb, token);
        const pod = await sb.netns('pod');
        const dataDir = sb.dir('ipam');
        return {
          config: bridgeConf({ bridge, network, subnets: ['10.200.74.0/24'], dataDir, extra }),
          netns: pod.path,
          containerId,
          ifName: 'eth0',
          cniArgs,
          scope: { dataDir },
        };
      },
    });
    const result = stepOf(cmp.records.ours, 'ADD').outcome.result as { interfaces: Array<{ mac: string }> };
    assert.is(result.interfaces[2]!.mac, '0a:58:0a:c8:4a:07');
  });
}

test('macspoofchk: nft bridge nat chains after ADD, gone after DEL', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({ bridge, network, subnets: ['10.200.74.0/24'], dataDir, extra: { macspoofchk: true } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir, nftTables: ['bridge nat'] },
      };
    },
  });
});

async function bridgeWithAddress(_sb: { name(s: string): string }, bridge: string, cidr: string): Promise<void> {
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', cidr, 'dev', bridge, ...(cidr.includes(':') ? ['nodad'] : [])]);
}

// A failed ADD differs on purpose (we remove the veth the reference leaves, see beyond.test.ts): compare the errors.
test('forceAddress off: a different bridge IPv4 address is a conflict (same error)', async () => {
  await assertSameErrors({
    steps: ['ADD'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      await bridgeWithAddress(sb, bridge, '10.200.75.200/24');
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({ bridge, network, subnets: ['10.200.75.0/24'], dataDir, extra: { isGateway: true } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

test('forceAddress on: the conflicting bridge address is replaced', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      await bridgeWithAddress(sb, bridge, '10.200.75.200/24');
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.75.0/24'],
          dataDir,
          extra: { isGateway: true, forceAddress: true },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

test('IPv6: a non-overlapping bridge address stays next to the gateway', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      await bridgeWithAddress(sb, bridge, 'fd00:200:70:1::1/64');
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({ bridge, network, subnets: ['fd00:200:70::/64'], dataDir, extra: { isGateway: true } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

test('IPv6: an overlapping bridge address is a conflict (same error)', async () => {
  await assertSameErrors({
    steps: ['ADD'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      await bridgeWithAddress(sb, bridge, 'fd00:200:70::99/64');
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({ bridge, network, subnets: ['fd00:200:70::/64'], dataDir, extra: { isGateway: true } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

test('config dns replaces the result DNS', async () => {
  await assertSameAsReference({
    steps: ['ADD', 'DEL'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({
          bridge,
          network,
          subnets: ['10.200.74.0/24'],
          dataDir,
          extra: { dns: { nameservers: ['10.200.74.53'], search: ['example.test'] } },
        }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

for (const cniVersion of ['0.3.1', '0.4.0']) {
  test(`cniVersion ${cniVersion}: result shape (ips[].version), CHECK where allowed, DEL`, async () => {
    await assertSameAsReference({
      steps: cniVersion === '0.4.0' ? ['ADD', 'CHECK', 'DEL'] : ['ADD', 'DEL'],
      prepare: async ({ sb, token }) => {
        const { network, containerId, bridge } = newIds(sb, token);
        const pod = await sb.netns('pod');
        const dataDir = sb.dir('ipam');
        return {
          config: bridgeConf({
            bridge,
            network,
            cniVersion,
            subnets: ['10.200.74.0/24'],
            dataDir,
            extra: { isDefaultGateway: true },
          }),
          netns: pod.path,
          containerId,
          ifName: 'eth0',
          scope: { dataDir },
        };
      },
    });
  });
}

test('cniVersion 0.2.0 L2: "cannot convert: no valid IP addresses" (same error; ours creates nothing first)', async () => {
  const cmp = await assertSameErrors({
    steps: ['ADD'],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      return {
        config: bridgeConf({ bridge, network, cniVersion: '0.2.0' }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
      };
    },
  });
  assert.is(stepOf(cmp.records.ours, 'ADD').outcome.error?.msg, 'cannot convert: no valid IP addresses');
  const ours = JSON.stringify(stepOf(cmp.records.ours, 'ADD').snapshot);
  assert.not.match(ours, /<veth/, 'no veth pair made by ours');
  assert.match(
    JSON.stringify(stepOf(cmp.records.reference, 'ADD').snapshot),
    /<veth/,
    'the reference leaves its veth pair',
  );
});

test('DEL: without a prior ADD, twice, and with CNI_NETNS empty all succeed', async () => {
  await assertSameAsReference({
    steps: [
      { command: 'DEL', label: 'DEL before ADD' },
      'ADD',
      { command: 'DEL', label: 'DEL without netns', change: (c) => ({ ...c, netns: '' }) },
      { command: 'DEL', label: 'DEL again' },
    ],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: bridgeConf({ bridge, network, subnets: ['10.200.75.0/24'], dataDir, extra: { isGateway: true } }),
        netns: pod.path,
        containerId,
        ifName: 'eth0',
        scope: { dataDir },
      };
    },
  });
});

test('errors: bridge name taken by a non-bridge; bad config types; unknown CNI_ARGS; bad VLAN also fails DEL', async () => {
  await assertSameAsReference({
    steps: [
      { command: 'ADD', label: 'wrong type', change: (c) => ({ ...c, config: { ...c.config, isGateway: 'yes' } }) },
      { command: 'ADD', label: 'vlan out of range', change: (c) => ({ ...c, config: { ...c.config, vlan: 5000 } }) },
      { command: 'DEL', label: 'DEL vlan out of range', change: (c) => ({ ...c, config: { ...c.config, vlan: -1 } }) },
      { command: 'ADD', label: 'unknown CNI_ARGS', change: (c) => ({ ...c, cniArgs: 'K8S_POD_NAME=x' }) },
      { command: 'ADD', label: 'not a bridge' },
    ],
    prepare: async ({ sb, token }) => {
      const { network, containerId, bridge } = newIds(sb, token);
      await run('ip', ['link', 'add', bridge, 'type', 'dummy']);
      const pod = await sb.netns('pod');
      return { config: bridgeConf({ bridge, network }), netns: pod.path, containerId, ifName: 'eth0' };
    },
  });
});

test.run();
