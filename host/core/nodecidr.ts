// Node pod-CIDR allocation as kube-controller-manager does it with --allocate-node-cidrs --cluster-cidr.
import { CoreError } from './errors.ts';
import { Cidr, slotText, type Family } from './ip.ts';
import { core, slot, writeWords } from './wasm.ts';

const registry = new FinalizationRegistry<number>((h) => core().ncidr_delete(h));

export function defaultNodeMaskSize(family: Family): number {
  return family === 4 ? 24 : 64;
}

export class NodeCidrAllocator {
  readonly cluster: Cidr;
  readonly nodeMaskSize: number;
  private handle: number;

  constructor(clusterCidr: string, nodeMaskSize?: number) {
    this.cluster = Cidr.parse(clusterCidr);
    this.nodeMaskSize = nodeMaskSize ?? defaultNodeMaskSize(this.cluster.family);
    writeWords(slot(0), this.cluster.words);
    const h = core().ncidr_new(slot(0), this.cluster.family, this.cluster.prefix, this.nodeMaskSize);
    if (h === -1) throw new CoreError('New CIDR set failed; the node CIDR size is too big', 'too big');
    if (h === -2)
      throw new CoreError(
        `node CIDR mask size ${this.nodeMaskSize} is shorter than the cluster CIDR ${this.cluster}`,
        'mask too small',
      );
    if (h < 0) throw new CoreError(`invalid node CIDR mask size ${this.nodeMaskSize}`, 'mask invalid');
    this.handle = h;
    registry.register(this, h, this);
  }

  private h(): number {
    if (this.handle === 0) throw new Error('NodeCidrAllocator used after dispose()');
    return this.handle;
  }

  get capacity(): number {
    return core().ncidr_capacity(this.h());
  }
  get allocatedCount(): number {
    return core().ncidr_allocated(this.h());
  }

  /** The next free node subnet, round robin after the last one handed out. */
  allocate(): string {
    if (core().ncidr_alloc(this.h(), slot(1)) !== 1) {
      throw new CoreError(
        'CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range',
        'exhausted',
      );
    }
    return `${slotText(1, this.cluster.family)}/${this.nodeMaskSize}`;
  }

  private mark(cidr: string, mode: number): number {
    const c = Cidr.parse(cidr);
    writeWords(slot(0), c.words);
    const r = core().ncidr_mark(this.h(), slot(0), c.family, c.prefix, mode);
    if (r < 0) throw new CoreError(`cidr ${c} is out the range of cluster cidr ${this.cluster}`, 'out of range');
    return r;
  }

  /** Mark every node subnet the CIDR covers as used (e.g. podCIDRs already on Node objects). */
  occupy(cidr: string): void {
    this.mark(cidr, 1);
  }
  release(cidr: string): void {
    this.mark(cidr, 0);
  }
  /** Whether any node subnet the CIDR covers is allocated. */
  isAllocated(cidr: string): boolean {
    return this.mark(cidr, 2) > 0;
  }

  dispose(): void {
    if (this.handle === 0) return;
    registry.unregister(this);
    core().ncidr_delete(this.handle);
    this.handle = 0;
  }
}
