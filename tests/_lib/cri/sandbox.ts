// What the runtime and the kernel say about a pod sandbox that RunPodSandbox made, for tests that then look at
// it from the host: its address, its pause process, its netns (also named in /run/netns, so `ip netns exec` and
// the shared firewall helpers reach it) and the host end of its veth.
import type { ChildProcess } from 'node:child_process';
import { sh } from '../run.ts';
import type { CriRuntime } from './client.ts';

export interface SandboxFacts {
  ip: string;
  pid: number;
  netnsPath: string;
  hostVeth: string;
}

/** A pod sandbox a test started with a hostPort, and the responder it may run behind it. */
export interface HostPortPod extends SandboxFacts {
  id: string;
  name: string;
  /** A name in the host's /run/netns for the pod netns (the responder helper runs in it). */
  alias: string;
  hostPort: number;
  responder: ChildProcess | null;
}

/** Reads a sandbox back (it must be SANDBOX_READY) and attaches its netns as /run/netns/<alias>. */
export async function readySandbox(cri: CriRuntime, id: string, alias: string): Promise<SandboxFacts> {
  const status = await cri.podSandboxStatus(id);
  if (status.status.state !== 'SANDBOX_READY') throw new Error(`sandbox ${id} is ${status.status.state}`);
  const info = await cri.sandboxInfo(id);
  const ifaces = info.cniResult?.Interfaces ?? {};
  const facts: SandboxFacts = {
    ip: status.status.network?.ip ?? '',
    pid: info.pid,
    netnsPath: info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path ?? '',
    hostVeth: Object.keys(ifaces).find((n) => n.startsWith('veth') && !ifaces[n]!.Sandbox) ?? '',
  };
  await sh('ip', ['netns', 'attach', alias, String(facts.pid)]);
  return facts;
}
