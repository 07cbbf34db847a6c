// Import boundaries of host/ (see CONTRIBUTING.md, "Layers"). Run by `npm run check`.
//
// Lower layers: core (pure logic, Wasm), native (the addon), net (netlink), firewall (nftables/iptables),
// cni (the CNI contract: skel, results, invoke, delegate), runtime (libcni), node (node-wide pieces shared by
// the kubelet and the kubenet plugin), and the two files at host/'s top.
// Upper layers: plugins, kubelet, daemon, cli, demo. An upper layer may import a lower one, never the reverse.
const LOWER = '^host/(core|native|net|firewall|cni|runtime|node)/|^host/[^/]+[.]ts$';
const UPPER = '^host/(plugins|kubelet|daemon|cli|demo)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lower-layer-imports-upper',
      severity: 'error',
      comment:
        'core, native, net, firewall, cni, runtime and node sit below plugins, kubelet, daemon, cli and demo: ' +
        'pass what they need down (e.g. a plugin lookup) instead of importing up.',
      from: { path: LOWER },
      to: { path: UPPER },
    },
    {
      name: 'plugin-imports-kubelet-or-above',
      severity: 'error',
      comment:
        'A plugin runs alone in a CNI call or a daemon worker: it may use the lower layers (node-wide pieces ' +
        'live in host/node), never the kubelet layer, the daemon or the CLI.',
      from: { path: '^host/plugins/' },
      to: { path: '^host/(kubelet|daemon|cli|demo)/' },
    },
    {
      name: 'kubelet-imports-plugins-or-above',
      severity: 'error',
      comment:
        'The kubelet layer runs CNI plugins through host/runtime (exec, or an in-process executor it is given), ' +
        'never by importing them, and never imports the daemon or the CLI.',
      from: { path: '^host/kubelet/' },
      to: { path: '^host/(plugins|daemon|cli|demo)/' },
    },
    {
      name: 'plugin-spawns-or-dials',
      severity: 'error',
      comment:
        'Plugins never start processes or open sockets themselves: host/firewall (nft, iptables) and ' +
        'host/cni/invoke.ts (exec of another plugin) are the only spawners.',
      from: { path: '^host/plugins/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(child_process|net)$' },
    },
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Import cycles in host/ (a lazy import() counts too).',
      from: { path: '^host/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: { path: '^host/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
