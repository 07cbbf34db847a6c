// The input limits every path applies, so that the daemon and a cold process give the same answer to the
// same call (skel checks the size, decode.ts's parseJson the depth; the native shim applies the same size
// limit before it sends stdin to the daemon).
//
// Size: stdin over 2 MiB fails with code 5 on every path. The daemon's wire carries at most 4 MiB each way and
// a result can echo its input (prevResult), so half of it is kept for the input; real configurations are a few
// KiB. The reference reads any size (Go's io.ReadAll); the one answer on both of our paths matters more.
// Depth: JSON nested deeper than 10,000 fails like Go's encoding/json (scanner.go maxNestingDepth), found by a
// scan of the bytes before anything is parsed: nothing on any path pays for a deep document.
import { CniError, ErrCode } from './errors.ts';

/** shims/exec/wire.h WIRE_MAX_PAYLOAD / 2. */
export const MAX_STDIN_BYTES = 2 << 20;
/** Go's encoding/json maxNestingDepth. */
export const MAX_JSON_DEPTH = 10_000;

/** Throws the error the native shim prints (shims/exec/cni-shim.c read_stdin) when stdin is over the limit. */
export function checkStdinSize(stdin: Uint8Array): void {
  if (stdin.length > MAX_STDIN_BYTES) {
    throw new CniError(
      ErrCode.IOFailure,
      'wasm-cni: the network configuration on stdin is too large',
      `the limit is ${MAX_STDIN_BYTES} bytes`,
    );
  }
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Go's error text (`invalid character '[' exceeded max depth`) when an object or array opens deeper than
 * 10,000 levels, else undefined. Counts brackets outside strings; a malformed document is left to the parser.
 */
export function nestingDepthError(text: string): string | undefined {
  if (text.length <= MAX_JSON_DEPTH) return undefined; // cannot be that deep
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return `invalid character '${text[i]}' exceeded max depth`;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}
