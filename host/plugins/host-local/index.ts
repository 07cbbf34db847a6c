// host-local IPAM: allocates IPv4/IPv6 addresses from range sets, with state in <dataDir>/<network>/
// shared with (and interchangeable with) the reference plugin.
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { add } from './add.ts';
import { check } from './check.ts';
import { del } from './del.ts';
import { gc } from './gc.ts';

export const handler = makeHandler({
  name: 'host-local',
  versions: [...SPEC_VERSIONS],
  add,
  del,
  check,
  gc,
});
