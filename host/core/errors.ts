/** An error from the core: `message` is the text the reference prints; `reason` says what was wrong. */
export class CoreError extends Error {
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.name = 'CoreError';
    this.reason = reason;
  }
}

/** Reason codes the Wasm parsers return (assembly/ip.ts). */
const PARSE_REASONS: Record<number, string> = {
  [-1]: 'empty',
  [-2]: 'unexpected character',
  [-3]: 'bad IPv4 field',
  [-4]: 'bad IPv6 group',
  [-5]: 'bad IPv6 layout',
  [-6]: 'zone not allowed',
  [-7]: 'missing prefix length',
  [-8]: 'bad prefix length',
  [-100]: 'too long',
};

export function parseReason(code: number): string {
  return PARSE_REASONS[code] ?? `code ${code}`;
}
