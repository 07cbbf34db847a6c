// The portmap plugin: DNAT host ports to the pod's addresses (chained after the interface plugin).
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { cmdAdd } from './add.ts';
import { cmdCheck } from './check.ts';
import { cmdDel } from './del.ts';
import { cmdGc } from './gc.ts';

export const handler = makeHandler({
  name: 'portmap',
  versions: [...SPEC_VERSIONS],
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc: cmdGc,
});
