// ADD: ingress = root tbf on the host veth; egress = ingress qdisc + u32 match-all mirred redirect to the ifb
// `bwp<hash>`, with the tbf there (containernetworking/plugins v1.9.1 plugins/meta/bandwidth/main.go, cmdAdd). Unlike
// the reference, an ADD repeated on the same veth re-applies the limits instead of failing with "file exists", and a
// failed ADD removes what it created.
import { annotate } from '../../errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';
import { NetHandle, openNetns, type Link } from '../../net/index.ts';
import { isErrno } from '../../net/nl/error.ts';
import { isZero, loadBandwidthConfig, shapesEgress, shapesIngress } from './config.ts';
import { findHostVeth } from './hostveth.ts';
import { ifbName } from './names.ts';
import { tbfFor } from './tbf.ts';

const TBF_HANDLE = 0x00010000; // 1:

/** Undo steps of a partly applied ADD, run in reverse order. */
type Undo = () => Promise<unknown>;

export async function add(a: CmdArgs): Promise<Result> {
  const cfg = loadBandwidthConfig(a.conf, a.name, a.cniVersion);
  const prev = cfg.prevResult;
  const bw = cfg.bandwidth;
  // The reference panics (nil prevResult) when there are no limits and no prevResult; we report it instead.
  if (!prev) throw new Error('must be called as chained plugin');
  if (!bw || isZero(bw)) return prev;

  const result: Result = { ...prev, interfaces: [...(prev.interfaces ?? [])] };
  // All numbers first, so that a rate the kernel cannot take fails before anything changes.
  const ingress = shapesIngress(bw) ? tbfFor(bw.ingressRate, bw.ingressBurst) : undefined;
  const egress = shapesEgress(bw) ? tbfFor(bw.egressRate, bw.egressBurst) : undefined;

  const pod = await openNetns(a.netns, a.caller);
  let host: NetHandle | undefined;
  const undo: Undo[] = [];
  try {
    host = await NetHandle.open(a.caller.netns);
    const veth = await findHostVeth(result.interfaces, a.ifName, pod, host);
    const ifb = ifbName(cfg.network, a.containerId);
    await clearPreviousShaping(host, veth, ifb);

    if (ingress) {
      await wrap('create qdisc', host.qdisc.addTbf(veth.index, ingress));
      undo.push(() => host!.qdisc.delete(veth.index, 'root', TBF_HANDLE));
    }
    if (egress) {
      const mac = await createIfb(host, ifb, veth.mtu);
      undo.push(() => host!.link.deleteIfExists(ifb));
      result.interfaces!.push({ name: ifb, mac });
      await wrap('create ingress qdisc', host.qdisc.addIngress(veth.index));
      undo.push(() => host!.qdisc.deleteIngress(veth.index));
      await wrap(
        'add filter',
        host.filter.addU32MirredRedirect(veth.index, { parent: 'ffff:', prio: 1, classId: '1:1', redirectTo: ifb }),
      );
      await wrap('create ifb qdisc: create qdisc', host.qdisc.addTbf(ifb, egress));
    }
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw e;
  } finally {
    host?.close();
    pod.close();
  }
  return result;
}

async function wrap<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw annotate(e, what);
  }
}

async function createIfb(host: NetHandle, name: string, mtu: number): Promise<string> {
  await wrap('adding link', host.link.addIfb({ name, mtu, txQueueLen: 0, up: true }));
  return (await host.link.get(name)).mac;
}

/**
 * Removes the shaping a previous ADD for this attachment left on the veth: our root tbf (handle 1:), the ingress
 * qdisc whose filters redirect to our ifb, and the ifb itself. Anything else (another root qdisc, a link of another
 * kind with the ifb's name) is left alone, so the ADD then fails as the reference does.
 */
async function clearPreviousShaping(host: NetHandle, veth: Link, ifb: string): Promise<void> {
  const qdiscs = await host.qdisc.list(veth.index);
  const existingIfb = await host.link.find(ifb);
  const ourIfb = existingIfb?.kind === 'ifb' ? existingIfb : undefined;
  if (qdiscs.some((q) => q.kind === 'ingress')) {
    const filters = await host.filter.list(veth.index, 'ffff:');
    const ours = filters.every((f) => f.mirred.every((m) => ourIfb !== undefined && m.ifindex === ourIfb.index));
    if (ours) await ignoreMissing(host.qdisc.deleteIngress(veth.index));
  }
  if (qdiscs.some((q) => q.kind === 'tbf' && q.handle === TBF_HANDLE && q.parent === 0xffffffff)) {
    await ignoreMissing(host.qdisc.delete(veth.index, 'root', TBF_HANDLE));
  }
  if (ourIfb) await host.link.deleteIfExists(ifb);
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isErrno(e, 'ENOENT') && !isErrno(e, 'EINVAL')) throw e;
  }
}
