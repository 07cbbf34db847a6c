// loopback: brings `lo` up in the pod's namespace on ADD and down on DEL.
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { add } from './add.ts';
import { check } from './check.ts';
import { del } from './del.ts';

export const handler = makeHandler({ name: 'loopback', versions: [...SPEC_VERSIONS], add, del, check });
