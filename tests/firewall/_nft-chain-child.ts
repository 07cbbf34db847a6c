// Child process of nft-noprocess.test.ts, started inside the test's "host" namespace: one pod through the whole
// nftables chain (bridge with ipMasq, portmap, bandwidth) ADD, CHECK, DEL via the executables in build/cni, which
// hand the calls to the daemon at $WASM_CNI_SOCKET. Prints "ok" or the error.
import { cniBinDir } from '../../host/paths.ts';
import { parseConfList } from '../../host/runtime/config.ts';
import { CniRuntime, execExecutor } from '../../host/runtime/runtime.ts';

const [name, bridge, subnet, netns, cacheDir, dataDir] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const list = parseConfList(
  Buffer.from(
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: true,
          ipMasqBackend: 'nftables',
          macspoofchk: true,
          ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]] },
        },
        { type: 'portmap', backend: 'nftables', capabilities: { portMappings: true }, snat: true },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    }),
  ),
);
const rt = new CniRuntime({
  path: [cniBinDir],
  cacheDir,
  env: { ...process.env } as Record<string, string>,
  exec: execExecutor,
  onStderr: () => {},
});
const conf = {
  containerId: `${name}-pod`,
  netns,
  ifName: 'eth0',
  capabilityArgs: {
    portMappings: [{ hostPort: 18900, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 20_000_000, egressBurst: 1_000_000 },
  },
};
try {
  await rt.addNetworkList(list, conf);
  await rt.checkNetworkList(list, conf);
  await rt.delNetworkList(list, conf);
  process.stdout.write('ok\n');
} catch (e) {
  process.stdout.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
