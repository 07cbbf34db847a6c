// bandwidth: a chained plugin that shapes a pod's traffic with tbf qdiscs on its host veth (ingress) and on an ifb the
// veth's ingress is redirected to (egress). Drop-in for containernetworking/plugins v1.9.1 plugins/meta/bandwidth.
import { makeHandler } from '../../cni/skel.ts';
import { versionsFrom } from '../../cni/version.ts';
import { add } from './add.ts';
import { check } from './check.ts';
import { del } from './del.ts';

export const handler = makeHandler({
  name: 'bandwidth',
  versions: versionsFrom('0.3.0'),
  add,
  del,
  check,
});
