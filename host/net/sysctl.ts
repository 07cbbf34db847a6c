// Sysctls of the handle's namespace (read and written from inside it), plus the ones pod networking needs.
import { currentCaller } from '../cni/caller.ts';
import { addon } from '../native/addon.ts';

export type IpFamily = 4 | 6;

/** "net.ipv4.ip_forward" → "net/ipv4/ip_forward"; keys that already contain a slash are kept as they are
 * (interface names may contain dots: use slashes for per-interface keys). */
export function sysctlPath(key: string): string {
  return key.includes('/') ? key.replace(/^\/proc\/sys\//, '') : key.replace(/\./g, '/');
}

/**
 * Runs fn with the /proc/sys to go through: for a caller with a root other than ours (a call the daemon serves
 * for a runtime in another mount namespace), the caller's own /proc/sys, looked up in its root, so the daemon
 * writes sysctls where the caller itself could, and does where its own /proc/sys is read-only (an unprivileged
 * container's); null (this process's /proc/sys) otherwise. Errors name the caller's path.
 */
function inCallersProc<T>(fn: (sysDir: string | null) => T): T {
  const caller = currentCaller();
  if (caller.root === '/') return fn(null);
  try {
    return fn(caller.resolve('/proc/sys'));
  } catch (e) {
    if (e instanceof Error) e.message = caller.inCallerTerms(e.message);
    throw e;
  }
}

export class SysctlOps {
  constructor(private readonly nsPath: string | null) {}

  get(key: string): string {
    return inCallersProc((dir) => addon().sysctlRead(this.nsPath, sysctlPath(key), dir));
  }

  set(key: string, value: string | number): void {
    inCallersProc((dir) => addon().sysctlWrite(this.nsPath, sysctlPath(key), String(value), dir));
  }

  /** Writes only when the value differs; returns the previous value. */
  ensure(key: string, value: string | number): string {
    const before = this.get(key);
    if (before !== String(value)) this.set(key, value);
    return before;
  }

  /** net/ipv4/ip_forward or net/ipv6/conf/all/forwarding */
  setIpForward(family: IpFamily, on = true): void {
    this.ensure(family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding', on ? 1 : 0);
  }

  setInterfaceForwarding(ifName: string, family: IpFamily, on = true): void {
    this.set(`net/ipv${family}/conf/${ifName}/forwarding`, on ? 1 : 0);
  }

  setRouteLocalnet(ifName: string, on = true): void {
    this.set(`net/ipv4/conf/${ifName}/route_localnet`, on ? 1 : 0);
  }

  /** 0 = no DAD, 1 = DAD, 2 = DAD and disable IPv6 on a duplicate MAC-based address */
  setAcceptDad(ifName: string, value: 0 | 1 | 2): void {
    this.set(`net/ipv6/conf/${ifName}/accept_dad`, value);
  }

  setAcceptRa(ifName: string, value: 0 | 1 | 2): void {
    this.set(`net/ipv6/conf/${ifName}/accept_ra`, value);
  }

  setArpNotify(ifName: string, on = true): void {
    this.set(`net/ipv4/conf/${ifName}/arp_notify`, on ? 1 : 0);
  }

  /** net/bridge/bridge-nf-call-{iptables,ip6tables,arptables}; these exist only with br_netfilter loaded. */
  setBridgeNfCall(table: 'iptables' | 'ip6tables' | 'arptables', on = true): void {
    this.set(`net/bridge/bridge-nf-call-${table}`, on ? 1 : 0);
  }
}
