// Scenarios (ids: docs/reference-notes.md §5) A1 (plugin selection, noop, PluginManager, metrics) and B1 (selection
// errors, hairpin rule, error wrapping), against host/kubelet.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NoopNetworkPlugin,
  NetworkPluginMetrics,
  PluginManager,
  effectiveHairpinMode,
  initNetworkPlugin,
  parseNetworkFlags,
  formatNetworkFlags,
  parsePortSpec,
  DEFAULT_FLAGS,
  type NetworkPlugin,
} from '../../host/kubelet/index.ts';
import { FakeSysctl, ScriptedPlugin, fakeHost } from '../_lib/kubelet-fakes.ts';

const IPT = 'net/bridge/bridge-nf-call-iptables';
const IP6T = 'net/bridge/bridge-nf-call-ip6tables';

const A1 = suite('kubelet A1: selection, noop, PluginManager');

A1('A1.1 empty plugin name selects the noop plugin', async () => {
  const sysctl = new FakeSysctl();
  const { plugin, error } = await initNetworkPlugin(
    [],
    '',
    fakeHost(),
    'none',
    '10.0.0.0/8',
    0,
    () => new NoopNetworkPlugin(sysctl),
  );
  assert.is(error, null);
  assert.ok(plugin);
  assert.is(plugin!.name(), 'kubernetes.io/no-op');
  assert.is(await plugin!.getPodNetworkStatus('ns', 'n', 'id'), null);
});

A1('A1.2 noop Init: iptables key set; ip6tables only when readable', async () => {
  const s1 = new FakeSysctl(new Map([[IPT, 0]]));
  await new NoopNetworkPlugin(s1).init(fakeHost(), 'none', '10.0.0.0/8', 0);
  assert.is(s1.settings.get(IPT), 1);
  assert.is(s1.settings.size, 1);
  const s2 = new FakeSysctl(new Map([[IP6T, 0]]));
  await new NoopNetworkPlugin(s2).init(fakeHost(), 'none', '10.0.0.0/8', 0);
  assert.is(s2.settings.get(IP6T), 1);
  assert.is(s2.settings.get(IPT), 1);
  assert.is(s2.settings.size, 2);
});

A1('A1.2b noop Init never fails, even when every sysctl write fails', async () => {
  const logs: string[] = [];
  const broken = {
    get: () => {
      throw new Error('nope');
    },
    set: () => {
      throw new Error('read-only');
    },
  };
  await new NoopNetworkPlugin(broken, (m) => logs.push(m)).init(fakeHost(), 'none', '10.0.0.0/8', 0);
  assert.ok(logs.some((l) => l.includes("can't set sysctl bridge-nf-call-iptables")));
});

A1('A1.3 PluginManager: 10 pods x 4 workers, same-pod operations never overlap', async () => {
  const plugin = new ScriptedPlugin();
  const pm = new PluginManager(plugin);
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const work: Promise<void>[] = [];
  for (let p = 0; p < 10; p++) {
    for (let w = 0; w < 4; w++) {
      work.push(
        (async () => {
          await gate;
          const pod = `pod${p}`;
          await pm.setUpPod('', pod, pod);
          const st = await pm.getPodNetworkStatus('', pod, pod);
          assert.is(st?.ip, '1.2.3.4');
          await pm.tearDownPod('', pod, pod);
        })(),
      );
    }
  }
  release();
  await Promise.all(work);
  for (let p = 0; p < 10; p++) {
    const calls = plugin.calls.filter((c) => c.pod === `pod${p}`).sort((a, b) => a.start - b.start);
    for (const op of ['setUp', 'status', 'tearDown'])
      assert.is(calls.filter((c) => c.op === op).length, 4, `pod${p} ${op}`);
    for (let i = 1; i < calls.length; i++)
      assert.ok(calls[i]!.start >= calls[i - 1]!.end, `pod${p}: operations overlap`);
  }
  assert.is(pm.lockedPods, 0, 'lock entries are dropped when the refcount returns to 0');
  assert.is(pm.metrics.operations('set_up_pod'), 40);
});

A1('A1.4 different pods do not block each other', async () => {
  const plugin = new ScriptedPlugin();
  const pm = new PluginManager(plugin);
  let runnerDone!: () => void;
  const runnerFinished = new Promise<void>((r) => {
    runnerDone = r;
  });
  let waiterSaw = false;
  plugin.hooks.setUp = async (pod) => {
    if (pod === 'waiter') {
      await runnerFinished;
      waiterSaw = true;
    }
  };
  const waiter = pm.setUpPod('', 'waiter', 'waiter');
  const runner = (async () => {
    await pm.setUpPod('', 'runner', 'runner');
    await pm.tearDownPod('', 'runner', 'runner');
    runnerDone();
  })();
  await Promise.all([waiter, runner]);
  assert.ok(waiterSaw);
});

A1('A1.5 metrics exposition', () => {
  const m = new NetworkPluginMetrics();
  m.recordOperation('test_operation');
  m.recordError('test_operation');
  const text = m.expose();
  assert.ok(
    text.includes(
      '# HELP kubelet_network_plugin_operations_total [ALPHA] Cumulative number of network plugin operations by operation type.',
    ),
  );
  assert.ok(text.includes('# TYPE kubelet_network_plugin_operations_total counter'));
  assert.ok(text.includes('kubelet_network_plugin_operations_total{operation_type="test_operation"} 1'));
  assert.ok(
    text.includes(
      '# HELP kubelet_network_plugin_operations_errors_total [ALPHA] Cumulative number of network plugin operation errors by operation type.',
    ),
  );
  assert.ok(text.includes('kubelet_network_plugin_operations_errors_total{operation_type="test_operation"} 1'));
});

A1.run();

const B1 = suite('kubelet B1: selection errors, hairpin, wrapping');

B1('unknown plugin names are not found (noop is not selectable by name)', async () => {
  for (const name of ['foo', 'kubernetes.io/no-op']) {
    const { error } = await initNetworkPlugin([new ScriptedPlugin('cni')], name, fakeHost(), 'none', '10.0.0.0/8', 0);
    assert.is(error?.message, `network plugin "${name}" not found`);
  }
});

B1('invalid and duplicate names are errors even when the chosen plugin is fine', async () => {
  const r = await initNetworkPlugin(
    [new ScriptedPlugin('cni'), new ScriptedPlugin('cni'), new ScriptedPlugin('bad name!')],
    'cni',
    fakeHost(),
    'none',
    '10.0.0.0/8',
    0,
  );
  assert.ok(r.plugin);
  assert.match(r.error!.message, /network plugin "cni" was registered more than once/);
  assert.match(r.error!.message, /network plugin has invalid name: "bad name!"/);
});

B1('Init failure is wrapped', async () => {
  const p = new ScriptedPlugin('cni');
  p.init = async () => {
    throw new Error('failed to find nsenter binary');
  };
  const r = await initNetworkPlugin([p], 'cni', fakeHost(), 'none', '10.0.0.0/8', 0);
  assert.is(r.error?.message, 'network plugin "cni" failed init: failed to find nsenter binary');
});

B1('effective hairpin mode', () => {
  assert.is(effectiveHairpinMode('promiscuous-bridge', 'cni'), 'hairpin-veth');
  assert.is(effectiveHairpinMode('promiscuous-bridge', ''), 'hairpin-veth');
  assert.is(effectiveHairpinMode('promiscuous-bridge', 'kubenet'), 'promiscuous-bridge');
  assert.is(effectiveHairpinMode('hairpin-veth', 'kubenet'), 'hairpin-veth');
  assert.is(effectiveHairpinMode('none', 'cni'), 'none');
  assert.throws(() => effectiveHairpinMode('bogus', 'cni'), /unknown value: "bogus"/);
});

B1('PluginManager wraps errors and counts them per operation', async () => {
  const p: NetworkPlugin = new ScriptedPlugin('cni');
  const boom = async () => {
    throw new Error('boom');
  };
  Object.assign(p, { setUpPod: boom, tearDownPod: boom, getPodNetworkStatus: boom });
  const pm = new PluginManager(p);
  await pm.setUpPod('ns', 'n', 'id').then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, 'networkPlugin cni failed to set up pod "n_ns" network: boom'),
  );
  await pm.tearDownPod('ns', 'n', 'id').then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, 'networkPlugin cni failed to teardown pod "n_ns" network: boom'),
  );
  await pm.getPodNetworkStatus('ns', 'n', 'id').then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, 'networkPlugin cni failed on the status hook for pod "n_ns": boom'),
  );
  for (const op of ['set_up_pod', 'tear_down_pod', 'get_pod_network_status']) {
    assert.is(pm.metrics.errorCount(op), 1);
    assert.is(pm.metrics.operations(op), 1);
  }
  assert.is(pm.lockedPods, 0);
});

B1('flags: kubelet names and defaults, comma bin dirs, both spellings', () => {
  const { flags, rest } = parseNetworkFlags([
    '--network-plugin=kubenet',
    '--cni-bin-dir',
    '/a,,/b',
    '--pod-cidr=10.1.0.0/24,fd00::/64',
    'x',
    '--network-plugin-mtu',
    '1400',
  ]);
  assert.is(flags.networkPlugin, 'kubenet');
  assert.equal(flags.cniBinDirs, ['/a', '', '/b']);
  assert.is(flags.networkPluginMtu, 1400);
  assert.is(flags.nonMasqueradeCidr, '10.0.0.0/8');
  assert.is(flags.hairpinMode, 'promiscuous-bridge');
  assert.is(flags.cniConfDir, '/etc/cni/net.d');
  assert.is(flags.cniCacheDir, '/var/lib/cni/cache');
  assert.equal(rest, ['x']);
  assert.equal(parseNetworkFlags(formatNetworkFlags(flags)).flags, flags);
  assert.equal(DEFAULT_FLAGS.cniBinDirs, ['/opt/cni/bin']);
  assert.throws(() => parseNetworkFlags(['--network-plugin-mtu', 'abc']), /invalid argument "abc"/);
  assert.throws(() => parseNetworkFlags(['--pod-cidr']), /flag needs an argument/);
});

B1('port specs for the CLI', () => {
  assert.equal(parsePortSpec('8080:80'), { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'TCP' });
  assert.equal(parsePortSpec('127.0.0.1:53:5353/udp'), {
    hostIP: '127.0.0.1',
    hostPort: 53,
    containerPort: 5353,
    protocol: 'UDP',
  });
  assert.equal(parsePortSpec('[::1]:9000:9000/SCTP'), {
    hostIP: '::1',
    hostPort: 9000,
    containerPort: 9000,
    protocol: 'SCTP',
  });
  for (const bad of ['80', '0:80', '70000:80', '8080:80/icmp', 'x:80:80'])
    assert.throws(() => parsePortSpec(bad), /invalid port/, bad);
});

B1.run();
