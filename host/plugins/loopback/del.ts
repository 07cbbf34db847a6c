// loopback DEL: set `lo` down and remove the 127.0.0.1/8 the kernel gave it. An empty CNI_NETNS or a namespace that is already gone is success.
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
  await withNetHandle(real, async (h) => {
    await h.link.set('lo', { up: false });
    // The kernel adds 127.0.0.1/8 when lo comes up and keeps it when lo goes down (::1 goes): remove it, so
    // that ADD then DEL — or a failed ADD that delegated to loopback and rolled back — leaves lo as it was.
    // (The reference leaves it.)
    await h.addr.delete('lo', '127.0.0.1/8').catch(() => undefined);
  });
}
