import type { z } from 'zod';
import { validationFailed } from './errors.js';

/** Parses input with a zod schema; a failure becomes 422 validation_failed naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(
    result.error.issues.map((i) => {
      const base = i.path.map(String).join('.');
      // For unknown keys zod reports them in `keys` with an empty path: name them.
      const keys = (i as { keys?: string[] }).keys;
      const path = keys?.length ? keys.map((k) => (base ? `${base}.${k}` : k)).join(',') : base;
      return { path, message: i.message };
    }),
  );
}
