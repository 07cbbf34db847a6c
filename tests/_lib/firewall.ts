// Test helpers for iptables / nftables: read the nat table, list what a test touched, and clean up — removing the
// shared portmap chains (CNI-HOSTPORT-*) and nft tables only when no other pod's rules are in them, atomically,
// because other test files run concurrently.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { run } from './run.ts';

export type Family = 4 | 6;
const save = (f: Family) => (f === 4 ? 'iptables-save' : 'ip6tables-save');
const restore = (f: Family) => (f === 4 ? 'iptables-restore' : 'ip6tables-restore');

/** `ip(6)tables-save -t nat` without the comment/COMMIT lines. */
export async function natSave(family: Family = 4): Promise<string[]> {
  const r = await run(save(family), ['-t', 'nat']);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#') && l !== 'COMMIT' && l !== '*nat');
}

/** The nat lines that mention any of `markers` (chain names, comments), in save order. */
export async function natLinesMentioning(family: Family, markers: string[]): Promise<string[]> {
  return (await natSave(family)).filter((l) => markers.some((m) => l.includes(m)));
}

/** Whether a nat chain exists. */
export async function natChainExists(family: Family, chain: string): Promise<boolean> {
  return (await natSave(family)).some((l) => l.startsWith(`:${chain} `));
}

/** The rules of one nat chain as `-A` lines ([] when missing). */
export async function natChainRules(family: Family, chain: string): Promise<string[]> {
  return (await natSave(family)).filter((l) => l.startsWith(`-A ${chain} `));
}

async function tryRestore(family: Family, lines: string[]): Promise<boolean> {
  if (lines.length === 0) return true;
  const r = await run(restore(family), ['--noflush', '--wait'], { input: ['*nat', ...lines, 'COMMIT', ''].join('\n') });
  return r.code === 0;
}

/** Removes nat chains (and every rule that jumps to them), in both families; missing chains are fine. */
export async function removeNatChains(chains: string[], families: Family[] = [4, 6]): Promise<void> {
  for (const f of families) {
    const lines = await natSave(f);
    const present = chains.filter((c) => lines.some((l) => l.startsWith(`:${c} `)));
    if (present.length === 0) continue;
    const jumps = lines
      .filter((l) => l.startsWith('-A ') && present.some((c) => l.endsWith(` -j ${c}`)))
      .map((l) => `-D ${l.slice(3)}`);
    await tryRestore(f, [...jumps, ...present.map((c) => `-F ${c}`), ...present.map((c) => `-X ${c}`)]);
  }
}

/**
 * Removes the shared portmap skeleton of a family when it is unused: CNI-HOSTPORT-DNAT (and its PREROUTING/OUTPUT
 * jumps) only when it holds no rule; SETMARK and MASQ (and the POSTROUTING jump) only when no CNI-DN-* chain is
 * left to use them. Each removal is one restore, so it fails harmlessly when another test just started using it.
 */
export async function removeUnusedHostportChains(families: Family[] = [4, 6]): Promise<void> {
  for (const f of families) {
    let lines = await natSave(f);
    if (
      lines.some((l) => l.startsWith(':CNI-HOSTPORT-DNAT ')) &&
      !lines.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '))
    ) {
      const jumps = lines
        .filter((l) => /^-A (PREROUTING|OUTPUT) .*-j CNI-HOSTPORT-DNAT$/.test(l))
        .map((l) => `-D ${l.slice(3)}`);
      await tryRestore(f, [...jumps, '-X CNI-HOSTPORT-DNAT']);
      lines = await natSave(f);
    }
    if (!lines.some((l) => l.startsWith(':CNI-DN-'))) {
      const jumps = lines
        .filter((l) => /^-A POSTROUTING .*-j CNI-HOSTPORT-MASQ$/.test(l))
        .map((l) => `-D ${l.slice(3)}`);
      const chains = ['CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'].filter((c) =>
        lines.some((l) => l.startsWith(`:${c} `)),
      );
      if (chains.length)
        await tryRestore(f, [...jumps, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`)]);
    }
  }
}

export interface NftRuleJson {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

/** The rules of an nft table as JSON objects (null when the table does not exist). */
export async function nftRules(family: string, table: string): Promise<NftRuleJson[] | null> {
  const r = await run('nft', ['-j', 'list', 'table', family, table]);
  if (r.code !== 0) return null;
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ rule?: NftRuleJson }> };
  return doc.nftables.flatMap((x) => (x.rule ? [x.rule] : []));
}

/** `nft list table` text (empty when the table does not exist). */
export async function nftText(family: string, table: string): Promise<string> {
  const r = await run('nft', ['list', 'table', family, table]);
  return r.code === 0 ? r.stdout : '';
}

/** Deletes nft rules whose comment satisfies `mine` in a table (missing table is fine). */
export async function removeNftRules(family: string, table: string, mine: (comment: string) => boolean): Promise<void> {
  const rules = (await nftRules(family, table)) ?? [];
  const cmds = rules
    .filter((r) => r.comment !== undefined && mine(r.comment))
    .map((r) => `delete rule ${family} ${table} ${r.chain} handle ${r.handle}`);
  if (cmds.length) await run('nft', ['-f', '-'], { input: `${cmds.join('\n')}\n` });
}

/**
 * Deletes an nft table only when none of its rules carries a comment (comments mark per-pod rules; the shared
 * jump/return rules have none). Racy only against a concurrent ADD that lands between the look and the delete.
 */
export async function removeNftTableIfUnused(family: string, table: string): Promise<void> {
  const rules = await nftRules(family, table);
  if (rules === null || rules.some((r) => r.comment !== undefined)) return;
  await run('nft', ['delete', 'table', family, table]);
}

/** The nft tables the bridge plugin (ipMasq nftables backend, macspoofchk) leaves in place, removed once unused. */
export async function removeUnusedBridgeNftTables(): Promise<void> {
  await removeNftTableIfUnused('inet', 'cni_plugins_masquerade');
  await removeNftTableIfUnused('bridge', 'nat');
}

// ---- pod plumbing without any plugin: a bridge with the gateway addresses and veth-attached pods ----------------

export interface BridgedPod {
  ns: string;
  nsPath: string;
  hostVeth: string;
  ip4: string;
  ip6: string;
}
export interface BridgedNet {
  bridge: string;
  gw4: string;
  gw6: string;
  prefix4: string;
  prefix6: string;
  pods: BridgedPod[];
}

interface SandboxLike {
  name(suffix: string): string;
  netns(suffix: string): Promise<{ name: string; path: string }>;
}

async function ip(args: string[]): Promise<void> {
  const r = await run('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * A bridge `<prefix>br` holding 10.200.<octet>.1/24 and fd00:200:<octet>::1/64, and `count` pods (netns
 * `<prefix>-pod<i>`, eth0 = .<i+2> / ::<i+2>, default routes via the bridge, hairpin on each port).
 * Everything carries the sandbox prefix, so Sandbox.cleanup() removes it.
 */
export async function bridgedPods(sb: SandboxLike, octet: number, count: number): Promise<BridgedNet> {
  const bridge = sb.name('br');
  const net: BridgedNet = {
    bridge,
    gw4: `10.200.${octet}.1`,
    gw6: `fd00:200:${octet}::1`,
    prefix4: `10.200.${octet}.0/24`,
    prefix6: `fd00:200:${octet}::/64`,
    pods: [],
  };
  await ip(['link', 'add', bridge, 'type', 'bridge']);
  await ip(['addr', 'add', `${net.gw4}/24`, 'dev', bridge]);
  await ip(['addr', 'add', `${net.gw6}/64`, 'dev', bridge, 'nodad']);
  await ip(['link', 'set', bridge, 'up']);
  for (let i = 0; i < count; i++) {
    const ns = await sb.netns(`pod${i}`);
    const hostVeth = sb.name(`v${i}`);
    const pod: BridgedPod = {
      ns: ns.name,
      nsPath: ns.path,
      hostVeth,
      ip4: `10.200.${octet}.${i + 2}`,
      ip6: `fd00:200:${octet}::${i + 2}`,
    };
    await ip(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await ip(['link', 'set', hostVeth, 'master', bridge, 'up']);
    await ip(['link', 'set', 'dev', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
    await ip(['-n', ns.name, 'addr', 'add', `${pod.ip4}/24`, 'dev', 'eth0']);
    await ip(['-n', ns.name, 'addr', 'add', `${pod.ip6}/64`, 'dev', 'eth0', 'nodad']);
    await ip(['-n', ns.name, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', ns.name, 'route', 'add', 'default', 'via', net.gw4]);
    await ip(['-n', ns.name, '-6', 'route', 'add', 'default', 'via', net.gw6]);
    net.pods.push(pod);
  }
  return net;
}

/** A prevResult (1.0.0) as the bridge plugin would return it for a pod of bridgedPods(). */
export function prevResultFor(net: BridgedNet, pod: BridgedPod, dual = false): Record<string, unknown> {
  const ips: Array<Record<string, unknown>> = [{ interface: 2, address: `${pod.ip4}/24`, gateway: net.gw4 }];
  if (dual) ips.push({ interface: 2, address: `${pod.ip6}/64`, gateway: net.gw6 });
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: net.bridge }, { name: pod.hostVeth }, { name: 'eth0', sandbox: pod.nsPath }],
    ips,
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };
}

// ---- calling portmap: the reference binary or ours in-process, same env and stdin ---------------------------------

export type Impl = 'reference' | 'ours';
export interface PluginOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function callPortmap(
  impl: Impl,
  command: string,
  conf: Record<string, unknown>,
  env: { containerId: string; netns: string; ifName?: string },
): Promise<PluginOutcome> {
  const vars: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: env.containerId,
    CNI_NETNS: env.netns,
    CNI_IFNAME: env.ifName ?? 'eth0',
    CNI_PATH: '/usr/lib/cni',
  };
  const stdin = JSON.stringify(conf);
  if (impl === 'reference') {
    const r = await run('/usr/lib/cni/portmap', [], { input: stdin, env: vars });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }
  const { handler } = await import('../../host/plugins/portmap/index.ts');
  const r = await handler({ env: { PATH: process.env.PATH, ...vars }, stdin: new TextEncoder().encode(stdin) });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

// ---- traffic: a TCP+UDP responder inside a pod, and clients from the host or from a pod -------------------------

/** Answers every TCP connection and UDP datagram on `port` (v4 and v6) with "<proto> <peer address> <tag>". */
const RESPONDER = `
import socket, sys, threading
port, tag = int(sys.argv[1]), sys.argv[2]
def sock(kind):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    return s
t, u = sock(socket.SOCK_STREAM), sock(socket.SOCK_DGRAM)
t.listen(16)
peer = lambda a: a[0].replace("::ffff:", "")
def tcp():
    while True:
        c, a = t.accept()
        c.sendall(("tcp %s %s\\n" % (peer(a), tag)).encode()); c.close()
threading.Thread(target=tcp, daemon=True).start()
print("ready", flush=True)
while True:
    d, a = u.recvfrom(512)
    u.sendto(("udp %s %s\\n" % (peer(a), tag)).encode(), a)
`;

const CLIENT = `
import socket, sys
host, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(2)
try:
    if proto == "tcp":
        s.connect((host, port)); print(s.recv(512).decode().strip())
    else:
        s.sendto(b"hi", (host, port)); print(s.recvfrom(512)[0].decode().strip())
except Exception as e:
    print("error " + type(e).__name__)
`;

/** Starts the responder in a netns; resolves once it listens. Kill it with `.kill()`. */
/** A TCP port free on this host right now (for a hostPort). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export function startResponder(ns: string, port: number, tag: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-u', '-c', RESPONDER, String(port), tag], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`responder in ${ns} did not start: ${err}`));
    }, 5000);
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`responder in ${ns} exited: ${err}`));
    });
  });
}

/** One request from inside a netns; the answer line or "error <Kind>". */
export async function askFromPod(ns: string, host: string, port: number, proto: 'tcp' | 'udp'): Promise<string> {
  const r = await run('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-c', CLIENT, host, String(port), proto]);
  return r.stdout.trim() || `error ${r.stderr.trim()}`;
}

/** One TCP request from the host (this process's namespace). */
export function askTcpFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    let data = '';
    const done = (v: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done('error timeout'), 2000);
    sock.on('data', (b) => {
      data += b.toString();
    });
    sock.on('end', () => done(data.trim()));
    sock.on('error', (e: NodeJS.ErrnoException) => done(`error ${e.code ?? e.message}`));
  });
}

/** A UDP client socket on the host with a fixed source port, so conntrack sees the same flow on each ask. */
export async function udpClient(
  family: 4 | 6 = 4,
): Promise<{ ask(host: string, port: number): Promise<string>; close(): void }> {
  const sock: UdpSocket = createSocket(family === 4 ? 'udp4' : 'udp6');
  await new Promise<void>((res) => sock.bind(0, res));
  return {
    ask: (host, port) =>
      new Promise((resolve) => {
        const onMsg = (m: Buffer) => {
          clearTimeout(timer);
          sock.off('message', onMsg);
          resolve(m.toString().trim());
        };
        const timer = setTimeout(() => {
          sock.off('message', onMsg);
          resolve('error timeout');
        }, 2000);
        sock.on('message', onMsg);
        sock.send('hi', port, host);
      }),
    close: () => sock.close(),
  };
}
