// deploy/daemonset.yaml as a test runs it: the pod template's host settings, containers (args, env,
// privileged, mounts) and hostPath volumes, turned into `podman run` arguments. Host paths are relocated under a
// private directory ("host root") so a test never writes the node's real /opt/cni/bin or /run/wasm-cni.
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseYaml, type YamlValue } from './yaml-subset.ts';

export interface HostPathVolume {
  name: string;
  path: string;
  type: string;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly: boolean;
  mountPropagation?: string;
}

export interface ContainerSpec {
  name: string;
  args: string[];
  env: Record<string, string>;
  privileged: boolean;
  volumeMounts: VolumeMount[];
  /** The exec liveness probe's command, when there is one. */
  livenessCommand: string[] | null;
}

export interface DaemonSetPod {
  hostNetwork: boolean;
  hostPID: boolean;
  initContainers: ContainerSpec[];
  containers: ContainerSpec[];
  volumes: HostPathVolume[];
}

type Obj = { [key: string]: YamlValue };
const obj = (v: YamlValue | undefined, what: string): Obj => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`daemonset: ${what} is not a mapping`);
  return v;
};
const list = (v: YamlValue | undefined): YamlValue[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

function container(v: YamlValue): ContainerSpec {
  const c = obj(v, 'container');
  const env: Record<string, string> = {};
  for (const e of list(c.env)) {
    const kv = obj(e, 'env entry');
    env[String(kv.name)] = kv.value == null ? '' : String(kv.value);
  }
  const sc = c.securityContext ? obj(c.securityContext, 'securityContext') : {};
  const probe = c.livenessProbe ? obj(c.livenessProbe, 'livenessProbe') : {};
  const probeExec = probe.exec ? obj(probe.exec, 'livenessProbe.exec') : null;
  return {
    livenessCommand: probeExec ? list(probeExec.command).map(String) : null,
    name: String(c.name),
    args: list(c.args).map(String),
    env,
    privileged: sc.privileged === true,
    volumeMounts: list(c.volumeMounts).map((m) => {
      const o = obj(m, 'volumeMount');
      return {
        name: String(o.name),
        mountPath: String(o.mountPath),
        readOnly: o.readOnly === true,
        mountPropagation: o.mountPropagation == null ? undefined : String(o.mountPropagation),
      };
    }),
  };
}

export function readDaemonSet(path: string): DaemonSetPod {
  const doc = obj(parseYaml(readFileSync(path, 'utf8')), 'document');
  if (doc.kind !== 'DaemonSet') throw new Error(`${path}: kind ${String(doc.kind)}, not DaemonSet`);
  const spec = obj(obj(obj(doc.spec, 'spec').template, 'spec.template').spec, 'spec.template.spec');
  return {
    hostNetwork: spec.hostNetwork === true,
    hostPID: spec.hostPID === true,
    initContainers: list(spec.initContainers).map(container),
    containers: list(spec.containers).map(container),
    volumes: list(spec.volumes).map((v) => {
      const o = obj(v, 'volume');
      if (!o.hostPath) throw new Error(`daemonset: volume ${String(o.name)} is not a hostPath (only hostPath is run)`);
      const hp = obj(o.hostPath, 'hostPath');
      return { name: String(o.name), path: String(hp.path), type: hp.type == null ? '' : String(hp.type) };
    }),
  };
}

/** Where a manifest host path lives under the test's host root. */
export function relocated(hostRoot: string, path: string): string {
  return join(hostRoot, path);
}

/** Creates the host side of every hostPath volume the way the kubelet would for its `type`. */
export function prepareHostPaths(pod: DaemonSetPod, hostRoot: string): void {
  for (const v of pod.volumes) {
    const p = relocated(hostRoot, v.path);
    if (v.type === 'FileOrCreate') {
      mkdirSync(dirname(p), { recursive: true });
      closeSync(openSync(p, 'a'));
    } else mkdirSync(p, { recursive: true });
  }
}

export interface PodmanRunPlan {
  /** `podman run` arguments up to (not including) the rootfs and command. */
  options: string[];
  /** The container's command: the image entrypoint then the manifest's args. */
  command: string[];
}

/** `podman run` options for one container of the pod, as the kubelet would run it (the image supplies the entrypoint). */
export function podmanRunPlan(
  pod: DaemonSetPod,
  c: ContainerSpec,
  hostRoot: string,
  name: string,
  entrypoint: string[],
  imageEnv: Record<string, string>,
): PodmanRunPlan {
  const options = ['--name', name];
  if (pod.hostNetwork) options.push('--network', 'host');
  if (pod.hostPID) options.push('--pid', 'host');
  if (c.privileged) options.push('--privileged');
  for (const [k, v] of Object.entries({ ...imageEnv, ...c.env })) options.push('--env', `${k}=${v}`);
  for (const m of c.volumeMounts) {
    const vol = pod.volumes.find((v) => v.name === m.name);
    if (!vol) throw new Error(`daemonset: container ${c.name} mounts unknown volume ${m.name}`);
    const opts = [m.readOnly ? 'ro' : 'rw'];
    if (m.mountPropagation === 'HostToContainer') opts.push('rslave');
    else if (m.mountPropagation === 'Bidirectional') opts.push('rshared');
    options.push('--volume', `${relocated(hostRoot, vol.path)}:${m.mountPath}:${opts.join(',')}`);
  }
  return { options, command: [...entrypoint, ...c.args] };
}
