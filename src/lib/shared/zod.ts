// The zod every shared schema uses. In a browser, zod must not probe `new Function` for its
// JIT: the app's Content-Security-Policy has no 'unsafe-eval', and even a caught probe is
// reported as a CSP violation. The server keeps the JIT.
import { z } from 'zod';

if (
  typeof window !== 'undefined' ||
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined'
) {
  z.config({ jitless: true });
}

export { z };

/**
 * Characters PostgreSQL text cannot hold: NUL (it refuses it, SQLSTATE 22021) and an unpaired
 * UTF-16 surrogate (it has no UTF-8 form; the driver would silently store U+FFFD instead).
 */
const UNREPRESENTABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const UNREPRESENTABLE_MESSAGE = 'must not contain NUL or unpaired surrogate characters';

export function isRepresentableText(s: string): boolean {
  return !UNREPRESENTABLE.test(s);
}

/** A string field that will be stored or searched in PostgreSQL: use it for every free text. */
export function text() {
  return z.string().refine(isRepresentableText, UNREPRESENTABLE_MESSAGE);
}
