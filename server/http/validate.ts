import type { z } from 'zod';
import { isRepresentableText, UNREPRESENTABLE_MESSAGE } from '../../src/lib/shared/zod.js';
import { validationFailed, type ValidationIssue } from './errors.js';

/** Parses input with a zod schema; a failure becomes 422 validation_failed naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
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
  // The shared schemas check free text with `text()`; this net catches any string a schema
  // lets through unchecked (a record's keys, a JSON value) before PostgreSQL refuses it as a 500.
  const unrepresentable: ValidationIssue[] = [];
  findUnrepresentable(result.data, [], unrepresentable);
  if (unrepresentable.length) throw validationFailed(unrepresentable);
  return result.data;
}

function findUnrepresentable(value: unknown, path: string[], out: ValidationIssue[]): void {
  if (typeof value === 'string') {
    if (!isRepresentableText(value)) out.push({ path: path.join('.'), message: UNREPRESENTABLE_MESSAGE });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findUnrepresentable(v, [...path, String(i)], out));
  } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      if (!isRepresentableText(k)) out.push({ path: [...path, k].join('.'), message: UNREPRESENTABLE_MESSAGE });
      else findUnrepresentable(v, [...path, k], out);
    }
  }
}
