// portmap's backends behind one interface (as containernetworking/plugins v1.9.1 plugins/meta/portmap has its
// PortMapper): add, del, check and gc call these and never ask which backend they have (backends.ts picks one).
import type { PortMapConfig } from './config.ts';

export interface PortMapper {
  /** ADD: forward the host ports to the container addresses of conf (contIPv4, contIPv6). */
  forward(conf: PortMapConfig, containerId: string): Promise<void>;
  /** CHECK: every rule forward() writes for these addresses is present. */
  check(conf: PortMapConfig, containerId: string): Promise<void>;
  /** DEL (and ADD's rollback): this pod's rules gone in both families; idempotent. */
  unforward(conf: PortMapConfig, containerId: string): Promise<void>;
  /** GC: this network's rules of attachments not listed removed (where the backend can tell them apart). */
  gc(network: string, validContainerIds: readonly string[]): Promise<void>;
}
