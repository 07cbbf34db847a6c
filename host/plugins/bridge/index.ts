// The bridge plugin: a Linux bridge in the host namespace, a veth pair per container, optional L3 via IPAM.
import { ipamGc, ipamStatus } from '../../cni/ipam.ts';
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { cmdAdd } from './add.ts';
import { cmdCheck } from './check.ts';
import { loadBridgeConfig } from './config.ts';
import { cmdDel } from './del.ts';

export const handler = makeHandler({
  name: 'bridge',
  versions: [...SPEC_VERSIONS],
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  // The reference has no GC; handing it to the IPAM plugin lets it drop allocations of vanished attachments.
  async gc(a) {
    const type = loadBridgeConfig(a.conf, a.netconf, '').ipamType;
    if (type !== '') await ipamGc(a, type);
  },
  async status(a) {
    const type = a.netconf.ipam?.type ?? '';
    if (type !== '') await ipamStatus(a, type);
  },
});
