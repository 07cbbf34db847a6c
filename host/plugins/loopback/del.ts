// loopback DEL: set `lo` down. An empty CNI_NETNS or a namespace that is already gone is success.
import type { CmdArgs } from '../../cni/skel.ts';
import { withNetHandle } from '../../net/handle.ts';
import { NetnsNotFoundError, checkNetnsPath } from '../../native/netns.ts';

export async function del(a: CmdArgs): Promise<void> {
  if (a.netns === '') return;
  let real: string;
  try {
    real = checkNetnsPath(a.netns, a.caller);
  } catch (e) {
    if (e instanceof NetnsNotFoundError) return;
    throw e;
  }
  await withNetHandle(real, (h) => h.link.set('lo', { up: false }));
}
