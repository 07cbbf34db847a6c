// Reading and wrapping thrown values, for every layer (the CNI-specific boundary is host/cni/errors.ts).
// `annotate` is the shape of containernetworking/plugins v1.9.1 pkg/errors Annotate: `<context>: <cause>`, with
// the cause kept on `cause` so a caller can still look at what failed underneath.

/** The message of any thrown value: an Error's (or error-like object's) `message`, anything else as text. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') {
    return (e as { message: string }).message;
  }
  return String(e);
}

/** A new Error reading `<context>: <cause's message>` whose `cause` is `e`. */
export function annotate(e: unknown, context: string): Error {
  return new Error(`${context}: ${errorMessage(e)}`, { cause: e });
}

/** Runs one step; its failure comes back annotated with `context` (what a Go `if err != nil` wrap does). */
export async function withContext<T>(context: string, step: () => Promise<T> | T): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw annotate(e, context);
  }
}
