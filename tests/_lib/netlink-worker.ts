// The body of one worker thread for tests/net/stress.test.ts: veth create/check/delete cycles between two
// namespaces of its own, with dumps long enough to span several datagrams, while other workers do the same.
// Every reply must be the one this thread asked for (the addon's receive buffer is per thread).
import { parentPort, workerData } from 'node:worker_threads';
import { NetHandle } from '../../host/net/index.ts';

export interface NetlinkWorkerTask {
  id: number;
  prefix: string;
  /** the worker's namespace and the one its veth peers go to */
  ns: string;
  peerNs: string;
  cycles: number;
  /** ifb links created first, so that a link dump takes several datagrams */
  fillers: number;
}

export interface NetlinkWorkerResult {
  id: number;
  cycles: number;
  dumps: number;
  problems: string[];
}

async function runTask(t: NetlinkWorkerTask): Promise<NetlinkWorkerResult> {
  const result: NetlinkWorkerResult = { id: t.id, cycles: 0, dumps: 0, problems: [] };
  const home = await NetHandle.open(t.ns, { timeoutMs: 5000 });
  const peer = await NetHandle.open(t.peerNs, { timeoutMs: 5000 });
  const own = (n: string) => `${t.prefix}${t.id}${n}`;
  const fillers = Array.from({ length: t.fillers }, (_, i) => own(`f${i}`));
  try {
    for (const f of fillers) await home.link.addIfb({ name: f });
    for (let c = 0; c < t.cycles; c++) {
      const name = own(`v${c}`);
      const peerName = own(`p${c}`);
      try {
        await home.link.addVeth({ name, peer: { name: peerName, netns: peer } });
        const [mine, theirs, listed, peerListed] = await Promise.all([
          home.link.get(name),
          peer.link.get(peerName),
          home.link.list(),
          peer.link.list(),
        ]);
        result.dumps += 2;
        if (mine.name !== name || theirs.name !== peerName)
          result.problems.push(`cycle ${c}: got ${mine.name}/${theirs.name}`);
        if (theirs.parentIndex !== mine.index)
          result.problems.push(`cycle ${c}: ${peerName} is not the peer of ${name}`);
        const want = ['lo', ...fillers, name].sort();
        const got = listed.map((l) => l.name).sort();
        if (got.join() !== want.join()) result.problems.push(`cycle ${c}: ${t.ns} lists ${got.join(',')}`);
        const peerGot = peerListed.map((l) => l.name).sort();
        if (peerGot.join() !== ['lo', peerName].join())
          result.problems.push(`cycle ${c}: ${t.peerNs} lists ${peerGot.join(',')}`);
        await home.link.delete(name);
        if ((await home.link.find(name)) || (await peer.link.find(peerName)))
          result.problems.push(`cycle ${c}: ${name} survived delete`);
        result.cycles++;
      } catch (e) {
        result.problems.push(`cycle ${c}: ${(e as Error).message}`);
      }
    }
    for (const f of fillers) await home.link.delete(f);
  } finally {
    home.close();
    peer.close();
  }
  return result;
}

const port = parentPort!;
port.postMessage(await runTask(workerData as NetlinkWorkerTask));
