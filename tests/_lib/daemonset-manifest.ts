// deploy/daemonset.yaml as a test runs it: the pod template's host settings, containers (args, env,
// securityContext, mounts) and hostPath volumes, turned into `podman run` arguments. Host paths are relocated under a
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

/** The part of a container's securityContext a test runs. */
export interface SecurityContext {
  privileged: boolean;
  /** capabilities.add and .drop, as Kubernetes spells them (no CAP_ prefix; ALL in drop: every one). */
  capAdd: string[];
  capDrop: string[];
  /** seccompProfile.type and appArmorProfile.type; null when the manifest sets none. */
  seccompProfile: 'RuntimeDefault' | 'Unconfined' | null;
  appArmorProfile: 'RuntimeDefault' | 'Unconfined' | null;
}

export interface ContainerSpec {
  name: string;
  args: string[];
  env: Record<string, string>;
  securityContext: SecurityContext;
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

function profileType(v: YamlValue | undefined, what: string): SecurityContext['seccompProfile'] {
  if (v == null) return null;
  const t = obj(v, what).type;
  if (t === 'RuntimeDefault' || t === 'Unconfined') return t;
  throw new Error(`daemonset: ${what}.type ${String(t)} is not run by the test (only RuntimeDefault, Unconfined)`);
}

function capName(v: YamlValue): string {
  const c = String(v).toUpperCase();
  return c.startsWith('CAP_') ? c.slice(4) : c;
}

/** A securityContext mapping (a container's, or the alternative the manifest documents in a comment). */
export function securityContextOf(v: YamlValue | undefined): SecurityContext {
  const sc = v == null ? {} : obj(v, 'securityContext');
  const caps = sc.capabilities == null ? {} : obj(sc.capabilities, 'securityContext.capabilities');
  return {
    privileged: sc.privileged === true,
    capAdd: list(caps.add).map(capName),
    capDrop: list(caps.drop).map(capName),
    seccompProfile: profileType(sc.seccompProfile, 'seccompProfile'),
    appArmorProfile: profileType(sc.appArmorProfile, 'appArmorProfile'),
  };
}

/**
 * The securityContext the manifest documents in a comment as the alternative to the one it sets: the one comment
 * line of the form `#   securityContext: { ... }` (a one-line flow mapping), read like the manifest itself.
 */
export function readCommentedSecurityContext(path: string): SecurityContext {
  const found = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => /^\s*#\s*(securityContext:\s*\{.*\})\s*$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
  if (found.length !== 1)
    throw new Error(`${path}: ${found.length} commented \`securityContext: { ... }\` lines, not 1`);
  return securityContextOf(obj(parseYaml(found[0]!), 'comment').securityContext);
}

function container(v: YamlValue): ContainerSpec {
  const c = obj(v, 'container');
  const env: Record<string, string> = {};
  for (const e of list(c.env)) {
    const kv = obj(e, 'env entry');
    env[String(kv.name)] = kv.value == null ? '' : String(kv.value);
  }
  const probe = c.livenessProbe ? obj(c.livenessProbe, 'livenessProbe') : {};
  const probeExec = probe.exec ? obj(probe.exec, 'livenessProbe.exec') : null;
  return {
    livenessCommand: probeExec ? list(probeExec.command).map(String) : null,
    name: String(c.name),
    args: list(c.args).map(String),
    env,
    securityContext: securityContextOf(c.securityContext),
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

/**
 * The capabilities a container gets when its securityContext adds and drops none: CRI-O's default set, the
 * narrower of the two CRI runtimes' (containerd's adds MKNOD, NET_RAW, SYS_CHROOT and AUDIT_WRITE; podman's own
 * default adds SYS_CHROOT and SETFCAP). A securityContext that works from this set works on either runtime.
 */
export const RUNTIME_DEFAULT_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'KILL',
];

/** The capability set a container without `privileged` runs with: the runtime's default, less drop, plus add. */
export function effectiveCaps(sc: SecurityContext): string[] {
  const base = sc.capDrop.includes('ALL') ? [] : RUNTIME_DEFAULT_CAPS.filter((c) => !sc.capDrop.includes(c));
  return [...new Set([...base, ...sc.capAdd])].sort();
}

/**
 * `podman run` options for a securityContext, as a kubelet with containerd or CRI-O would run it:
 * - privileged: `--privileged` (every capability, no seccomp or AppArmor profile, /proc/sys and /sys writable);
 * - otherwise exactly effectiveCaps() (`--cap-drop ALL`, then `--cap-add` each), with /proc/sys and /sys
 *   read-only as podman and both runtimes mount them for an unprivileged container;
 * - seccomp: a kubelet asks for Unconfined when the pod sets no seccompProfile (unless it runs with
 *   --seccomp-default), so no seccompProfile is `seccomp=unconfined` here, and RuntimeDefault is podman's
 *   default profile (/usr/share/containers/seccomp.json; it and containerd's and CRI-O's RuntimeDefault all
 *   derive from moby's, allowing setns, mount and pidfd_getfd only with the capabilities that go with them);
 * - AppArmor: none or RuntimeDefault keeps podman's default (its containers-default profile where AppArmor is
 *   enabled, as the runtimes apply theirs); Unconfined is `apparmor=unconfined`.
 */
export function securityOptions(sc: SecurityContext): string[] {
  if (sc.privileged) return ['--privileged'];
  const options = ['--cap-drop', 'ALL'];
  for (const c of effectiveCaps(sc)) options.push('--cap-add', c);
  if (sc.seccompProfile !== 'RuntimeDefault') options.push('--security-opt', 'seccomp=unconfined');
  if (sc.appArmorProfile === 'Unconfined') options.push('--security-opt', 'apparmor=unconfined');
  return options;
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
  options.push(...securityOptions(c.securityContext));
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
