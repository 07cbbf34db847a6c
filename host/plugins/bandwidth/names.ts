// The ifb's name: "bwp" + the first 12 hex digits of sha512(network name + container ID), as the reference.
import { hashWithPrefix } from '../../firewall/names.ts';

const MAX_IFB_NAME = 15;

export function ifbName(network: string, containerId: string): string {
  return hashWithPrefix(MAX_IFB_NAME, 'bwp', network + containerId);
}
