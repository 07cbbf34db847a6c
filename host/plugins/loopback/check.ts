// loopback CHECK: `lo` must be up (prevResult is not needed).
import type { CmdArgs } from '../../cni/skel.ts';
import { withNetHandle } from '../../net/handle.ts';
import { checkNetnsPath } from '../../native/netns.ts';

export async function check(a: CmdArgs): Promise<void> {
  const real = checkNetnsPath(a.netns, a.caller);
  const lo = await withNetHandle(real, (h) => h.link.get('lo'));
  if (!lo.up) throw new Error('loopback interface is down');
}
