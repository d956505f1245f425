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
