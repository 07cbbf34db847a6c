// kubenet as a CNI plugin (`"type": "kubenet"`): kubenet's node network for runtimes without dockershim.
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { cmdAdd } from './add.ts';
import { cmdCheck } from './check.ts';
import { cmdDel } from './del.ts';

export const handler = makeHandler({
  name: 'kubenet',
  versions: [...SPEC_VERSIONS.filter((v) => v !== '0.1.0' && v !== '0.2.0')],
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
});
