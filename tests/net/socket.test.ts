// The netlink socket against a real kernel: batches (one ACK per request, failures don't stop the rest),
// dumps spanning many datagrams, and a handle that keeps working after an error.
import { performance } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NetHandle, NetlinkError } from '../../host/net/index.ts';
import { PayloadWriter } from '../../host/net/nl/attrs.ts';
import {
  AF_INET,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RT_SCOPE_LINK,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_OIF,
  RTA_TABLE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_BOOT,
} from '../../host/net/nl/constants.ts';
import { rtMsg } from '../../host/net/nl/structs.ts';
import { sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
let h: NetHandle;

const T = suite('net: socket');
T.before(async () => {
  ns = await sb.netns('s');
  h = await NetHandle.open(ns.path);
  await h.link.addVeth({ name: 'eth0', up: true, peer: { name: 'peer0' } });
  await h.addr.add('eth0', '10.200.36.2/24');
});
T.after(async () => {
  h?.close();
  await sb.cleanup();
});

function routeRequest(dst: number[], oif: number) {
  const w = new PayloadWriter()
    .raw(
      rtMsg({
        family: AF_INET,
        dstLen: 32,
        table: RT_TABLE_MAIN,
        protocol: RTPROT_BOOT,
        scope: RT_SCOPE_LINK,
        type: RTN_UNICAST,
      }),
    )
    .u32(RTA_TABLE, RT_TABLE_MAIN)
    .attr(RTA_DST, Buffer.from(dst))
    .u32(RTA_OIF, oif);
  return { type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL, payload: w.bytes(), name: 'RTM_NEWROUTE' };
}

T('a batch of 1200 route requests, one failing in the middle; the dump comes back in many datagrams', async () => {
  const oif = (await h.link.get('eth0')).index;
  const reqs = Array.from({ length: 1200 }, (_, i) => routeRequest([10, 201, (i >> 8) & 0xff, i & 0xff], oif));
  reqs.splice(600, 0, reqs[10]); // a duplicate: EEXIST, and the rest still runs
  const results = await h.sock.batch(reqs);
  const failed = results.map((r, i) => [i, r] as const).filter(([, r]) => r instanceof NetlinkError);
  assert.equal(
    failed.map(([i, r]) => [i, (r as NetlinkError).code]),
    [[600, 'EEXIST']],
  );

  const routes = await h.route.list({ family: AF_INET });
  assert.is(routes.filter((r) => r.dst.startsWith('10.201.')).length, 1200);
  const ipCount = (await sh('ip', ['-n', ns.name, 'route', 'show'])).trim().split('\n').length;
  assert.is(routes.length, ipCount);
});

T('parallel requests on one handle are serialised and each gets its own answer', async () => {
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0
        ? h.link.get(`nosuch${i}`).then(
            () => 'found',
            (e: NetlinkError) => e.code,
          )
        : h.link.get('eth0').then((l) => l.name),
    ),
  );
  for (const [i, r] of results.entries()) assert.is(r, i % 4 === 0 ? 'ENODEV' : 'eth0');
});

T('deleting a link (slow in the kernel) does not block the event loop', async () => {
  await h.link.addBridge({ name: 'br9' });
  await h.link.addVeth({ name: 'p9', master: 'br9', up: true, peer: { name: 'q9' } });
  await h.link.setUp('br9');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  await h.link.delete('br9');
  await h.link.delete('p9');
  const took = performance.now() - t0;
  clearInterval(timer);
  if (took > 10) assert.ok(ticks >= 2, `timers ran during ${took.toFixed(1)} ms of deletion (${ticks} ticks)`);
  assert.is(await h.link.find('br9'), undefined);
});

T('a closed handle refuses further requests', async () => {
  const other = await NetHandle.open(ns.path);
  other.close();
  other.close();
  const err = await other.link.list().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(String(err?.message), /closed/);
});

T.run();
