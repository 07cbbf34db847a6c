// JSON text as Go's encoding/json writes it: like JSON.stringify, except that `<`, `>`, `&`, U+2028 and U+2029
// are escaped (Go's default HTML-safe encoding), so a result or an error prints the reference's exact bytes.

const htmlUnsafe = /[<>&\u2028\u2029]/g;

function escapeHtml(text: string): string {
  return text.replace(htmlUnsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.Marshal: compact. */
export function goMarshal(v: unknown): string {
  return escapeHtml(JSON.stringify(v));
}

/** json.MarshalIndent(v, "", "    "), as plugins print results and errors. */
export function goMarshalIndent(v: unknown): string {
  return escapeHtml(JSON.stringify(v, null, 4));
}
