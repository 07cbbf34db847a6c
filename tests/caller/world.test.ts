// The daemon acts in the caller's world. The daemon runs in a mount namespace of its own (its own tmpfs over
// the caller's directory), the caller in another private mount namespace whose tmpfs holds the pod's netns
// bind mount, the IPAM dataDir, resolv.conf, the config and the result cache: paths that exist only where the
// caller runs. The bridge+portmap+bandwidth chain (ADD, then DEL) through the daemon must give exactly what
// the cold path gives in the caller's place: results, links, qdiscs, nat rules and state files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { buildDir, cniBinDir } from '../../host/paths.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('caller world: daemon in its own mount namespace vs cold');
let world = '';
let socket = '';
let pod: TestNetns;
let daemon: FixtureDaemon | undefined;
const bridge = box.name('br');
const network = `${box.prefix}-net`;

// The caller: a private mount namespace with a tmpfs over $W. It builds its world there, runs the chain with
// the cnitool-like runtime, and reports what it sees: sections that start with "@@ name" lines.
const CALLER = String.raw`
set -u
W=$1 NETNS=$2 NODE=$3 CLI=$4 BR=$5 NET=$6
mount -t tmpfs caller-world "$W"
touch "$W/netns" && mount --bind "$NETNS" "$W/netns"
mkdir -p "$W/conf" "$W/cache"
printf 'nameserver 10.200.172.53\nsearch caller.example\n' > "$W/resolv.conf"
cat > "$W/conf/10-world.conflist" <<CONF
{"cniVersion":"1.0.0","name":"$NET","plugins":[
 {"type":"bridge","bridge":"$BR","isGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.200.171.0/24"}]],"dataDir":"$W/ipam","resolvConf":"$W/resolv.conf"}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"bandwidth","capabilities":{"bandwidth":true}}]}
CONF
export NETCONFPATH="$W/conf"
export CAP_ARGS='{"portMappings":[{"hostPort":18171,"containerPort":80,"protocol":"tcp"}],"bandwidth":{"ingressRate":8000000,"ingressBurst":80000,"egressRate":8000000,"egressBurst":80000}}'
snapshot() {
  echo "@@ state-$1"; (cd "$W/ipam/$NET" 2>/dev/null && for f in $(ls | sort); do echo "$f=$(cat "$f")"; done)
  echo "@@ links-$1"; ip -o link show master "$BR" 2>/dev/null | wc -l; ip -o link show "$BR" >/dev/null 2>&1 && echo bridge
  echo "@@ qdisc-$1"
  for v in $(ip -o link show master "$BR" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    tc qdisc show dev "$v"
    # the pod's ifb: where the veth's ingress filter redirects to
    for b in $(tc filter show dev "$v" parent ffff: | grep -o 'to device [a-z0-9]*' | awk '{print $3}'); do
      echo "ifb"; tc qdisc show dev "$b"
    done
  done
  echo "@@ nat-$1"; iptables-save -t nat | grep -F "$NET" | sort
}
echo "@@ add"; "$NODE" "$CLI" cni add "$NET" "$W/netns" --cache-dir "$W/cache"; echo "exit=$?"
snapshot added
echo "@@ del"; "$NODE" "$CLI" cni del "$NET" "$W/netns" --cache-dir "$W/cache"; echo "exit=$?"
snapshot deleted
`;

async function runChain(sock: string): Promise<Record<string, string>> {
  const r = await run(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'bash',
      '-c',
      CALLER,
      'caller',
      world,
      pod.path,
      process.execPath,
      join(buildDir, 'js', 'wasm-cni.mjs'),
      bridge,
      network,
    ],
    { env: { CNI_PATH: cniBinDir, WASM_CNI_SOCKET: sock }, timeoutMs: 120_000 },
  );
  assert.is(r.code, 0, r.stderr);
  const sections: Record<string, string> = {};
  for (const part of r.stdout.split(/^@@ /m).slice(1)) {
    const nl = part.indexOf('\n');
    sections[part.slice(0, nl)] = normalize(part.slice(nl + 1).trim());
  }
  return sections;
}

/** What differs from run to run whoever runs the call: random veth names, MAC addresses, qdisc handles. */
function normalize(text: string): string {
  return text
    .replace(/veth[0-9a-f]{8}/g, 'vethX')
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/qdisc (\w+) [0-9a-f]+:/g, 'qdisc $1 H:')
    .replace(/parent [0-9a-f]+:[0-9a-f]*/g, 'parent P');
}

test.before(async () => {
  world = box.dir('world');
  socket = join(box.dir('sock'), 'd.sock');
  pod = await box.netns('pod');
  // the daemon's own mount namespace: the caller's directory is an empty tmpfs there, /usr/sbin too
  daemon = await spawnFixtureDaemon(
    socket,
    [],
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      // and no firewall tools of its own: the ones that run must be the caller's (the host's)
      'mount -t tmpfs daemon-world "$0" && mount -t tmpfs daemon-sbin /usr/sbin && exec "$@"',
      world,
    ],
  );
});

test.after(async () => {
  await daemon?.stop();
  await run('ip', ['link', 'delete', bridge]);
  await box.cleanup();
});

test('bridge+portmap+bandwidth: the same results, links, qdiscs, rules and state files as cold', async () => {
  const before = await requestStatus(socket);
  const warm = await runChain(socket);
  const after = await requestStatus(socket);
  assert.is(after.served - before.served, 6, `the daemon served all six calls: ${JSON.stringify(after.rejections)}`);
  await run('ip', ['link', 'delete', bridge]); // the bridge stays after DEL (as the reference's); start cold afresh
  const coldRun = await runChain(join(box.dir('none'), 'no-daemon.sock'));

  assert.match(warm.add!, /"10\.200\.171\.2\/24"/);
  assert.match(warm.add!, /exit=0/);
  assert.match(warm.add!, /10\.200\.172\.53/, "the caller's resolv.conf was read");
  assert.match(warm.del!, /exit=0/);
  assert.match(warm['state-added']!, /10\.200\.171\.2=/, "the reservation is in the caller's dataDir");
  assert.match(warm['nat-added']!, /18171/);
  assert.match(warm['qdisc-added']!, /tbf/);
  assert.match(warm['qdisc-added']!, /ifb/);
  assert.equal(Object.keys(warm).sort(), Object.keys(coldRun).sort());
  for (const key of Object.keys(coldRun)) assert.fixture(warm[key] ?? '', coldRun[key]!, key);
  assert.is(warm['nat-deleted'], '', 'no rule left');
});

test.run();
