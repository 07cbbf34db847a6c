// Which PortMapper serves a config's `backend`.
import type { Backend } from '../../firewall/backend.ts';
import { iptablesMapper } from './iptables.ts';
import type { PortMapper } from './mapper.ts';
import { nftablesMapper } from './nftables.ts';

export function portMapper(backend: Backend): PortMapper {
  return backend === 'nftables' ? nftablesMapper : iptablesMapper;
}
