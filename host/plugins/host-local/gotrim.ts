// Go's strings.TrimSpace, which the reference applies to container ids and reservation file contents.
// (String.prototype.trim differs: it also strips U+FEFF and keeps U+0085.)
const goSpace =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export function goTrimSpace(s: string): string {
  return s.replace(goSpace, '');
}
