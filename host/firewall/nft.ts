// Whether the `nft` executable is installed (for `wasm-cni doctor`). The plugins never run it: nftables is
// written and read over netlink (./nft, ./nftables.ts).
import { toolPath } from './tools.ts';

export function nftInstalled(): boolean {
  return toolPath('nft') !== null;
}
