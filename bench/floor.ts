// The floor of a row: the same kernel and firewall changes made with the fewest processes (one `ip -batch`
// per namespace, one `tc -batch`, one `iptables-restore` per direction), minus those processes' own start-up.
// What is left is the kernel's cost, which no implementation avoids. The processes are started as the runtime
// starts plugins (a vfork-style clone), so the start-up taken off is small next to what is measured.
import { spawnSync } from 'node:child_process';
import type { BenchHost } from './host.ts';
import { cmd, timedRun } from './host.ts';
import { median } from './stats.ts';

type Tool = 'ip' | 'tc' | 'iptables-restore';

const timed = (tool: Tool, args: string[], input: string) => timedRun(tool, args, input);

const batch = (tool: Tool, ns?: string) =>
  tool === 'iptables-restore' ? ['--noflush', '--wait'] : [...(ns ? ['-n', ns] : []), '-batch', '-'];

/** Start-up of each tool doing nothing, to subtract. */
async function startup(tool: Tool): Promise<number> {
  const input = tool === 'iptables-restore' ? '*nat\nCOMMIT\n' : '';
  const xs: number[] = [];
  for (let i = 0; i < 21; i++) xs.push(await timed(tool, batch(tool), input));
  return median(xs);
}

export interface FloorMs {
  bridge: number;
  ipMasq: number;
  portmap: number;
  bandwidth: number;
  loopback: number;
}

export async function measureFloor(host: BenchHost, iterations: number): Promise<FloorMs> {
  const start = { ip: await startup('ip'), tc: await startup('tc'), ipt: await startup('iptables-restore') };
  const nsName = `${host.prefix}-floor`;
  host.netns('floor');
  const br = host.name('fbr'),
    veth = host.name('fv'),
    ifb = host.name('fifb');
  const chain = `CNI-${host.prefix}-MASQ`,
    dn = `CNI-DN-${host.prefix}`,
    hp = `CNI-${host.prefix}-HP`;
  const podIp = '10.200.40.250',
    gw = '10.200.40.193';
  cmd('ip', ['-batch', '-'], `link add ${br} type bridge\naddr add ${gw}/26 dev ${br}\nlink set ${br} up\n`);
  await timed('iptables-restore', batch('iptables-restore'), `*nat\n:${hp} - [0:0]\nCOMMIT\n`);

  const samples: Record<keyof FloorMs, number[]> = { bridge: [], ipMasq: [], portmap: [], bandwidth: [], loopback: [] };
  try {
    for (let i = 0; i < iterations; i++) {
      // bridge: veth into the pod, enslave, address and default route inside; DEL removes the pod end.
      const vethUp = await timed(
        'ip',
        batch('ip'),
        `link add ${veth} type veth peer name eth0 netns ${nsName}\nlink set ${veth} master ${br}\nlink set ${veth} up\n`,
      );
      const podUp = await timed(
        'ip',
        batch('ip', nsName),
        `addr add ${podIp}/26 dev eth0\nlink set eth0 up\nroute add default via ${gw}\n`,
      );
      // bandwidth (while the veth exists): ifb, tbf on both, ingress + mirred redirect.
      const ifbUp = await timed('ip', batch('ip'), `link add ${ifb} type ifb\nlink set ${ifb} up\n`);
      const shaping = await timed(
        'tc',
        batch('tc'),
        [
          `qdisc add dev ${veth} root tbf rate 10mbit burst 1mb latency 25ms`,
          `qdisc add dev ${veth} ingress`,
          `filter add dev ${veth} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
          `qdisc add dev ${ifb} root tbf rate 20mbit burst 1mb latency 25ms`,
          '',
        ].join('\n'),
      );
      const ifbDown = await timed('ip', batch('ip'), `link del ${ifb}\n`);
      const masqAdd = await timed(
        'iptables-restore',
        batch('iptables-restore'),
        `*nat\n:${chain} - [0:0]\n-A ${chain} -d 10.200.40.192/26 -j ACCEPT\n-A ${chain} ! -d 224.0.0.0/4 -j MASQUERADE\n-A POSTROUTING -s ${podIp}/32 -j ${chain}\nCOMMIT\n`,
      );
      const masqDel = await timed(
        'iptables-restore',
        batch('iptables-restore'),
        `*nat\n-D POSTROUTING -s ${podIp}/32 -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`,
      );
      const pmAdd = await timed(
        'iptables-restore',
        batch('iptables-restore'),
        `*nat\n:${dn} - [0:0]\n-A ${dn} -s ${podIp}/32 -p tcp --dport 48080 -j MARK --set-xmark 0x2000/0x2000\n-A ${dn} -p tcp --dport 48080 -j DNAT --to-destination ${podIp}:80\n-A ${hp} -p tcp -m multiport --dports 48080 -j ${dn}\nCOMMIT\n`,
      );
      const pmDel = await timed(
        'iptables-restore',
        batch('iptables-restore'),
        `*nat\n-D ${hp} -p tcp -m multiport --dports 48080 -j ${dn}\n-F ${dn}\n-X ${dn}\nCOMMIT\n`,
      );
      const podDown = await timed('ip', batch('ip', nsName), 'link del eth0\n');
      const loUpDown = await timed('ip', batch('ip', nsName), 'link set lo down\nlink set lo up\n');
      samples.bridge.push(vethUp + podUp + podDown - 3 * start.ip);
      samples.bandwidth.push(ifbUp + shaping + ifbDown - 2 * start.ip - start.tc);
      samples.ipMasq.push(masqAdd + masqDel - 2 * start.ipt);
      samples.portmap.push(pmAdd + pmDel - 2 * start.ipt);
      samples.loopback.push(loUpDown - start.ip);
    }
  } finally {
    spawnSync('iptables-restore', batch('iptables-restore'), { input: `*nat\n-F ${hp}\n-X ${hp}\nCOMMIT\n` });
    spawnSync('ip', ['link', 'del', br]);
  }
  const floor = (xs: number[]) => Math.max(0, median(xs));
  return {
    bridge: floor(samples.bridge),
    ipMasq: floor(samples.ipMasq),
    portmap: floor(samples.portmap),
    bandwidth: floor(samples.bandwidth),
    loopback: floor(samples.loopback),
  };
}
