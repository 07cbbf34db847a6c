// The demo's vocabulary: the node it builds and the pods it runs there.
export interface DemoOptions {
  podCidr: string;
  bridge: string;
  hostPort: number;
  /** Seconds of iperf3 per direction for the shaped pod. */
  shapeSeconds: number;
  stateDir: string;
  netnsPrefix: string;
}

export interface DemoPod {
  namespace: string;
  name: string;
  /** The pod's network namespace (named, under /var/run/netns). */
  netnsName: string;
  netnsPath: string;
  sandboxId: string;
  ports: Array<{ hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }>;
  annotations: Record<string, string>;
  /** Filled by DemoNode.up. */
  ip?: string;
}

/** A node running kubenet, as the demo drives it. */
export interface DemoNode {
  /** One line: plugin, bridge, pod CIDR, MTU, plugin dir. */
  readonly summary: string;
  up(pod: DemoPod): Promise<string[]>;
  down(pod: DemoPod): Promise<void>;
  /** The `wasm-cni pod status` table for these pods. */
  statusTable(pods: DemoPod[]): Promise<string>;
  /** Node-level teardown: what kubenet keeps between pods (bridge, masquerade rule). */
  shutdown(): Promise<void>;
}
