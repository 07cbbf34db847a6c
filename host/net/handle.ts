// A handle bound to one network namespace: its own netlink socket, opened inside that namespace, and the
// object-kind operations on top of it (h.link, h.addr, h.route, h.neigh, h.vlan, h.qdisc, h.filter, h.sysctl).
import { errorMessage } from '../errors.ts';
import { checkNetnsPath, netnsOpenError, type PathView } from '../native/netns.ts';
import { AddrOps } from './addr.ts';
import type { NetContext } from './context.ts';
import { FilterOps } from './filter.ts';
import { LinkOps } from './link.ts';
import { NeighOps } from './neigh.ts';
import { NETLINK_ROUTE } from './nl/constants.ts';
import { NetlinkSocket } from './nl/socket.ts';
import { QdiscOps } from './qdisc.ts';
import { RouteOps } from './route.ts';
import { SysctlOps } from './sysctl.ts';
import { BridgeVlanOps } from './vlan.ts';

export interface NetHandleOptions {
  /** per-request reply timeout (default 10 s) */
  timeoutMs?: number;
}

export class NetHandle implements NetContext {
  readonly link: LinkOps;
  readonly addr: AddrOps;
  readonly route: RouteOps;
  readonly neigh: NeighOps;
  readonly vlan: BridgeVlanOps;
  readonly qdisc: QdiscOps;
  readonly filter: FilterOps;
  readonly sysctl: SysctlOps;

  private constructor(
    readonly sock: NetlinkSocket,
    readonly nsPath: string | null,
  ) {
    this.link = new LinkOps(this);
    this.addr = new AddrOps(this, this.link);
    this.route = new RouteOps(this, this.link);
    this.neigh = new NeighOps(this, this.link);
    this.vlan = new BridgeVlanOps(this, this.link);
    this.qdisc = new QdiscOps(this, this.link);
    this.filter = new FilterOps(this, this.link);
    this.sysctl = new SysctlOps(nsPath);
  }

  /** A handle for the namespace at nsPath (/var/run/netns/x, /proc/<pid>/ns/net); none = this process's.
   * A bad path fails here: `failed to open netns "<path>": no such file or directory` (code ENOENT). */
  static async open(nsPath?: string | null, opts: NetHandleOptions = {}): Promise<NetHandle> {
    const path = nsPath || null;
    return new NetHandle(NetlinkSocket.open(path, NETLINK_ROUTE, opts.timeoutMs), path);
  }

  close(): void {
    this.sock.close();
  }
}

/** Opens a handle, runs fn, and always closes it. */
export async function withNetHandle<T>(
  nsPath: string | null | undefined,
  fn: (h: NetHandle) => Promise<T>,
): Promise<T> {
  const h = await NetHandle.open(nsPath);
  try {
    return await fn(h);
  } finally {
    h.close();
  }
}

/**
 * A handle in a pod's namespace, opened the way the reference's plugins open CNI_NETNS: ns.GetNS's check first
 * (checkNetnsPath), and any failure as `failed to open netns "<path>": <why>`. Unlike NetHandle.open, an empty
 * path is an error, never this process's namespace.
 */
export async function openNetns(path: string, view?: PathView): Promise<NetHandle> {
  try {
    return await NetHandle.open(checkNetnsPath(path, view));
  } catch (e) {
    const text = errorMessage(e);
    const theirs = view ? view.inCallerTerms(text) : text;
    throw netnsOpenError(
      path,
      theirs === text ? e : Object.assign(new Error(theirs, { cause: e }), { code: (e as { code?: unknown }).code }),
    );
  }
}
