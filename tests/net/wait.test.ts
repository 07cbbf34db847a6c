// The addon's netlink waits run on the calling thread's event loop (a poll handle and a timer, no pool
// thread): timeouts, readiness, one wait per socket, cancellation by close, and worker threads that go
// away with waits, sends and lock waits still pending.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { addon } from '../../host/native/addon.ts';
import { PayloadWriter } from '../../host/net/nl/attrs.ts';
import {
  IFLA_IFNAME,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_REQUEST,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../host/net/nl/constants.ts';
import { decodeMessages, encodeMessage } from '../../host/net/nl/message.ts';
import { ifInfoMsg } from '../../host/net/nl/structs.ts';
import { addonPath } from '../../host/paths.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
const getLo = (seq: number) =>
  encodeMessage(
    RTM_GETLINK,
    NLM_F_REQUEST | NLM_F_ACK,
    seq,
    new PayloadWriter().raw(ifInfoMsg()).str(IFLA_IFNAME, 'lo').bytes(),
  );

const T = suite('addon: netlink waits');
T.before(async () => {
  ns = await sb.netns('wait');
});
T.after(() => sb.cleanup());

T('a wait times out with false, resolves true once a reply is queued, and at once when one already is', async () => {
  const a = addon();
  const fd = a.netlinkOpen(ns.path, NETLINK_ROUTE);
  try {
    const t0 = Date.now();
    assert.is(await a.netlinkWait(fd, 60), false);
    assert.ok(Date.now() - t0 >= 50, `waited ${Date.now() - t0} ms`);
    assert.is(await a.netlinkWait(fd, 0), false);

    const pending = a.netlinkWait(fd, 5000);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.not.ok(settled, 'nothing to read yet');
    a.netlinkSend(fd, getLo(7));
    assert.is(await pending, true);
    const msgs = decodeMessages(a.netlinkRecv(fd)!);
    assert.equal([msgs[0].type, msgs[0].seq], [RTM_NEWLINK, 7]);
    assert.is(await a.netlinkWait(fd, 5000), true, 'the ACK is still queued');
    while (a.netlinkRecv(fd)) {
      /* drain */
    }
  } finally {
    a.netlinkClose(fd);
  }
});

T(
  'one wait per socket at a time (EBUSY); closing the socket rejects its wait (ECANCELED) and frees the fd',
  async () => {
    const a = addon();
    const fd = a.netlinkOpen(ns.path, NETLINK_ROUTE);
    const first = a.netlinkWait(fd, 5000);
    let busy: NodeJS.ErrnoException | undefined;
    try {
      void a.netlinkWait(fd, 5000);
    } catch (e) {
      busy = e as NodeJS.ErrnoException;
    }
    assert.is(busy?.code, 'EBUSY');
    a.netlinkClose(fd);
    const cancelled = await first.then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    assert.is(cancelled?.code, 'ECANCELED');
    // The number is reused by the next socket, which can be waited on.
    const again = a.netlinkOpen(ns.path, NETLINK_ROUTE);
    try {
      a.netlinkSend(again, getLo(8));
      assert.is(await a.netlinkWait(again, 5000), true);
    } finally {
      a.netlinkClose(again);
    }
  },
);

T('worker threads terminated with waits, slow sends and lock waits pending leave the process healthy', async () => {
  const lockFile = join(sb.dir('lock'), 'lock');
  writeFileSync(lockFile, '');
  const held = openSync(lockFile, 'r');
  const a = addon();
  assert.ok(a.flockTry(held, true));
  const body = `
    const { openSync } = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    const a = require(workerData.addonPath);
    const quiet = a.netlinkOpen(workerData.ns, ${NETLINK_ROUTE});
    const busy = a.netlinkOpen(workerData.ns, ${NETLINK_ROUTE});
    a.netlinkWait(quiet, -1);
    a.netlinkWait(busy, 60000);
    a.netlinkSendAsync(busy, Buffer.from(workerData.request)).catch(() => {});
    a.flockWait(openSync(workerData.lockFile, 'r'), true, -1);
    parentPort.postMessage('waiting');`;
  try {
    for (let i = 0; i < 4; i++) {
      const w = new Worker(body, { eval: true, workerData: { addonPath, ns: ns.path, request: getLo(9), lockFile } });
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
      assert.is(await w.terminate(), 1);
    }
  } finally {
    a.flockUnlock(held);
    closeSync(held);
  }
  // This thread still waits, receives and locks.
  const fd = a.netlinkOpen(ns.path, NETLINK_ROUTE);
  try {
    a.netlinkSend(fd, getLo(10));
    assert.is(await a.netlinkWait(fd, 5000), true);
  } finally {
    a.netlinkClose(fd);
  }
  const again = openSync(lockFile, 'r');
  try {
    assert.is(await a.flockWait(again, true, 2000), true);
  } finally {
    closeSync(again);
  }
});

T.run();
