// 50 link create/delete cycles in parallel across 10 namespaces (some with the peer in the next namespace):
// every link appears only where it was asked for, and the calling thread never leaves its own namespace.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsIdentity } from '../../host/native/netns.ts';
import { NetHandle } from '../../host/net/index.ts';
import { sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const NS = 10;
const CYCLES_PER_NS = 5;
const sb = new Sandbox();
const spaces: TestNetns[] = [];
const handles: NetHandle[] = [];
let host: NetHandle;

const ipNames = async (netns?: string): Promise<string[]> =>
  (
    JSON.parse(await sh('ip', [...(netns ? ['-n', netns] : []), '-j', 'link', 'show'])) as Array<{ ifname: string }>
  ).map((l) => l.ifname);

const T = suite('net: concurrency');
T.before(async () => {
  for (let i = 0; i < NS; i++) spaces.push(await sb.netns(`c${i}`));
  for (const s of spaces) handles.push(await NetHandle.open(s.path));
  host = await NetHandle.open();
});
T.after(async () => {
  for (const h of handles) h.close();
  host?.close();
  await sb.cleanup();
});

T(`${NS * CYCLES_PER_NS} parallel create/delete cycles across ${NS} namespaces without crosstalk`, async () => {
  const home = netnsIdentity('/proc/thread-self/ns/net');
  const hostBefore = (await host.link.list()).map((l) => l.name).sort();
  const seen: string[] = [];

  await Promise.all(
    spaces.flatMap((_, i) =>
      Array.from({ length: CYCLES_PER_NS }, async (__, j) => {
        const h = handles[i];
        const a = sb.name(`${i}c${j}a`);
        const b = sb.name(`${i}c${j}b`);
        const crossNs = j % 2 === 1;
        const next = (i + 1) % NS;
        await h.link.addVeth({ name: a, peer: { name: b, netns: crossNs ? spaces[next].path : undefined } });
        const mine = await h.link.get(a);
        assert.is(mine.name, a);
        for (const l of await h.link.list()) {
          if (l.name === 'lo') continue;
          // everything in namespace i was created by cycles of namespace i, or is a peer sent from namespace i-1
          const owner = Number(l.name.slice(sb.prefix.length).split('c')[0]);
          const isPeerFromPrev = l.name.endsWith('b') && owner === (i + NS - 1) % NS;
          assert.ok(owner === i || isPeerFromPrev, `${l.name} must not appear in namespace ${i}`);
        }
        const peerHandle = crossNs ? handles[next] : h;
        const peer = await peerHandle.link.get(b);
        assert.is(peer.parentIndex, mine.index);
        seen.push(a);
        await h.link.delete(a);
        assert.is(await h.link.find(a), undefined);
        assert.is(await peerHandle.link.find(b), undefined);
      }),
    ),
  );

  assert.is(seen.length, NS * CYCLES_PER_NS);
  for (const s of spaces) assert.equal(await ipNames(s.name), ['lo'], `${s.name} is empty again`);
  assert.equal(
    (await host.link.list()).map((l) => l.name).filter((n) => n.startsWith(sb.prefix)),
    [],
  );
  assert.equal(
    (await ipNames()).filter((n) => n.startsWith(sb.prefix)),
    [],
  );
  assert.equal(
    hostBefore.filter((n) => n.startsWith(sb.prefix)),
    [],
  );
  const after = netnsIdentity('/proc/thread-self/ns/net');
  assert.equal(after, home);
});

T.run();
