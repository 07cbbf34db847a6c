// `wasm-cni <command> ...`: one table of commands, each a module loaded only when used.
// A command module exports `run(argv: string[]): Promise<number>` (argv without the command name),
// prints its own output, and returns the exit code; it never calls process.exit.
// To add a command: one line in COMMANDS.
import { errorMessage } from '../errors.ts';

export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  cni: {
    summary: 'add|check|del|gc|status a network for a netns (cnitool-compatible)',
    load: () => import('./cni.ts'),
  },
  daemon: {
    summary: 'serve the CNI executables from a warm process (`daemon status`: calls, errors, latency)',
    load: () => import('../daemon/cli.ts'),
  },
  demo: {
    summary: 'a throw-away kubenet node: three pods, traffic, a hostPort, shaping, pod status, clean teardown',
    load: () => import('./demo.ts'),
  },
  doctor: {
    summary:
      'check this node for pod networking: plugins, config, kernel, iptables, MTU, daemon, IPAM (--bin-dir: as deployed)',
    load: () => import('./doctor.ts'),
  },
  install: {
    summary: 'copy the CNI executables and the cold-path kit into a CNI bin dir (--bin-dir DIR)',
    load: () => import('../daemon/install.ts'),
  },
  pod: {
    summary: "up|down|status: a pod's network through the kubelet plugin layer (cni, kubenet, noop)",
    load: () => import('./pod.ts'),
  },
  version: {
    summary: 'print the wasm-cni version and the CNI spec versions it speaks',
    load: () => import('./version.ts'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: wasm-cni <command> [args...]\n\ncommands:\n${lines.join('\n')}\n\nRun 'wasm-cni <command> --help' for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version') return (await COMMANDS.version!.load()).run([]);
  const entry = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!entry) {
    process.stderr.write(`wasm-cni: unknown command "${cmd}" (try 'wasm-cni --help')\n`);
    return 2;
  }
  try {
    return await (await entry.load()).run(rest);
  } catch (e) {
    process.stderr.write(`wasm-cni ${cmd}: ${errorMessage(e)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
