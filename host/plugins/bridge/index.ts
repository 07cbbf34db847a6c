// The bridge plugin: a Linux bridge in the host namespace, a veth pair per container, optional L3 via IPAM.
import { delegateStatus } from '../../cni/delegate.ts';
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { cmdAdd } from './add.ts';
import { cmdCheck } from './check.ts';
import { ipamTypeOf } from './config.ts';
import { cmdDel } from './del.ts';
import { cmdGc } from './gc.ts';

export const handler = makeHandler({
  name: 'bridge',
  versions: [...SPEC_VERSIONS],
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc: cmdGc,
  async status(a) {
    const type = ipamTypeOf(a.conf);
    if (type !== '') await delegateStatus(a, type);
  },
});
