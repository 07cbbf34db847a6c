// CHECK: the tbf on the host veth (ingress) and on the ifb (egress) carry the rate, limit and buffer the config asks
// for (containernetworking/plugins v1.9.1 plugins/meta/bandwidth/main.go, cmdCheck). Without limits it succeeds (the
// Debian 1.1.1 plugin panics there, #1221).
import type { CmdArgs } from '../../cni/skel.ts';
import { NetHandle, openNetns, type Qdisc, type TbfParams } from '../../net/index.ts';
import { isZero, loadBandwidthConfig, shapesEgress, shapesIngress } from './config.ts';
import { findHostVeth } from './hostveth.ts';
import { ifbName } from './names.ts';
import { tbfFor } from './tbf.ts';

export async function check(a: CmdArgs): Promise<void> {
  const cfg = loadBandwidthConfig(a.conf, a.name, a.cniVersion);
  const prev = cfg.prevResult;
  if (!prev) throw new Error('must be called as a chained plugin');

  const pod = await openNetns(a.netns, a.caller);
  let host: NetHandle | undefined;
  try {
    host = await NetHandle.open(a.caller.netns);
    const veth = await findHostVeth(prev.interfaces, a.ifName, pod, host);
    const bw = cfg.bandwidth;
    if (!bw || isZero(bw)) return;

    if (shapesIngress(bw)) verifyTbf(await host.qdisc.list(veth.index), tbfFor(bw.ingressRate, bw.ingressBurst));
    if (shapesEgress(bw)) {
      const ifb = await host.link.find(ifbName(cfg.network, a.containerId));
      if (!ifb) throw new Error('get ifb device: Link not found');
      verifyTbf(await host.qdisc.list(ifb.index), tbfFor(bw.egressRate, bw.egressBurst));
    }
  } finally {
    host?.close();
    pod.close();
  }
}

/** The reference's loop: every qdisc up to the first non-tbf one must match (pfifo_fast ignored). */
function verifyTbf(qdiscs: Qdisc[], want: TbfParams): void {
  const list = qdiscs.filter((q) => q.kind !== 'pfifo_fast');
  if (list.length === 0) throw new Error('Failed to find qdisc');
  for (const q of list) {
    if (q.kind !== 'tbf' || !q.tbf) break;
    if (q.tbf.rate !== BigInt(want.rate)) throw new Error("Rate doesn't match");
    if (q.tbf.limit !== want.limit) throw new Error("Limit doesn't match");
    if (q.tbf.buffer !== want.buffer) throw new Error("Buffer doesn't match");
  }
}
