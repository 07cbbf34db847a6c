// A CRI RuntimeService client over gRPC for tests: the pod-sandbox calls a kubelet makes, on our subset of
// runtime.v1 (runtime-v1-subset.proto), as typed promises.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const PROTO = fileURLToPath(new URL('./runtime-v1-subset.proto', import.meta.url));

export interface PortMapping {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  container_port: number;
  host_port: number;
  host_ip?: string;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  port_mappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: { cgroup_parent?: string };
}

export interface PodSandboxStatusResponse {
  status: {
    id: string;
    state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
    network: { ip: string; additional_ips: Array<{ ip: string }> } | null;
    annotations: Record<string, string>;
  };
  info: Record<string, string>;
}

/** The parts of containerd's verbose sandbox info (info["info"], containerd 1.6) the tests read. */
export interface ContainerdSandboxInfo {
  pid: number;
  runtimeSpec?: { linux?: { namespaces?: Array<{ type: string; path?: string }> } };
  cniResult?: { Interfaces?: Record<string, { IPConfigs?: Array<{ IP: string }>; Mac?: string; Sandbox?: string }> };
}

type Unary = (
  req: unknown,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (e: Error | null, r: unknown) => void,
) => void;

export class CriRuntime {
  private readonly client: grpc.Client & Record<string, Unary>;

  constructor(socketPath: string) {
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: { v1: { RuntimeService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client } };
    };
    this.client = new pkg.runtime.v1.RuntimeService(
      `unix://${socketPath}`,
      grpc.credentials.createInsecure(),
    ) as grpc.Client & Record<string, Unary>;
  }

  private call<T>(method: string, req: unknown, timeoutMs = 120_000): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method]!.call(
        this.client,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(new Error(`CRI ${method}: ${err.message}`)) : resolve(res as T)),
      );
    });
  }

  version(): Promise<{ version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.call('Version', { version: 'v1' }, 10_000);
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const r = await this.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
    return r.pod_sandbox_id;
  }

  podSandboxStatus(id: string): Promise<PodSandboxStatusResponse> {
    return this.call('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  }

  /** containerd's verbose info, parsed. */
  async sandboxInfo(id: string): Promise<ContainerdSandboxInfo> {
    const r = await this.podSandboxStatus(id);
    const raw = r.info.info;
    if (!raw) throw new Error(`PodSandboxStatus ${id}: no verbose info (keys: ${Object.keys(r.info).join(', ')})`);
    return JSON.parse(raw) as ContainerdSandboxInfo;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call('StopPodSandbox', { pod_sandbox_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('RemovePodSandbox', { pod_sandbox_id: id });
  }

  close(): void {
    this.client.close();
  }
}
