// Deleting conntrack entries (the reference uses netlink; we run `conntrack -D`, one process per port, in parallel).
import { runTool, toolPath } from './tools.ts';

/**
 * Deletes the conntrack entries of `protocol` whose original destination port is one of `ports`, in the IPv4 or
 * IPv6 table. Resolves to the errors met (the caller only logs them, like the reference); "0 flow entries" is
 * not an error. Without the conntrack tool installed this is one error and nothing is deleted.
 */
export async function deleteConntrackForDstPorts(
  protocol: 'udp' | 'tcp' | 'sctp',
  ports: number[],
  family: 4 | 6,
): Promise<string[]> {
  if (ports.length === 0) return [];
  if (!toolPath('conntrack')) return ['conntrack not found in $PATH: stale entries not flushed'];
  const unique = [...new Set(ports)];
  const results = await Promise.all(
    unique.map((p) =>
      runTool('conntrack', ['-D', '-p', protocol, '--orig-port-dst', String(p), '-f', family === 4 ? 'ipv4' : 'ipv6']),
    ),
  );
  return results
    .map((r, i) =>
      r.code === 0 || /0 flow entries have been deleted/.test(r.stderr)
        ? ''
        : `conntrack -D port ${unique[i]}: ${r.stderr.trim()}`,
    )
    .filter((e) => e !== '');
}
