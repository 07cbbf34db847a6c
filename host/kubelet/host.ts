// A NetworkHost for callers that know their sandboxes directly (the CLI, the demo, tests): sandbox ID →
// netns path and port mappings. dockershim reads the same from docker and its sandbox checkpoints.
import type { NetworkHost, PortMapping } from './types.ts';

export interface SandboxInfo {
  netns: string;
  ports?: PortMapping[];
}

export class SandboxTable implements NetworkHost {
  private readonly sandboxes = new Map<string, SandboxInfo>();

  set(sandboxId: string, info: SandboxInfo): this {
    this.sandboxes.set(sandboxId, info);
    return this;
  }
  delete(sandboxId: string): void {
    this.sandboxes.delete(sandboxId);
  }
  get(sandboxId: string): SandboxInfo | undefined {
    return this.sandboxes.get(sandboxId);
  }

  async getNetNS(sandboxId: string): Promise<string> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) throw new Error(`container "${sandboxId}" not found`);
    return s.netns;
  }

  async getPodPortMappings(sandboxId: string): Promise<PortMapping[]> {
    return [...(this.sandboxes.get(sandboxId)?.ports ?? [])];
  }
}

/** `8080:80/tcp`, `127.0.0.1:8080:80/udp`, `[::1]:8080:80`, `8080:80` (TCP) → a PortMapping. */
export function parsePortSpec(spec: string): PortMapping {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+):(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new Error(`invalid port "${spec}": want [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp|sctp]`);
  const hostPort = Number(m[2]);
  const containerPort = Number(m[3]);
  if (hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535)
    throw new Error(`invalid port "${spec}": ports are 1..65535`);
  return {
    hostIP: m[1] ? m[1].replace(/^\[|\]$/g, '') : '',
    hostPort,
    containerPort,
    protocol: (m[4] ?? 'tcp').toUpperCase() as PortMapping['protocol'],
  };
}
