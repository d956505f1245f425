// The sync engine (server/sync/) knows no clinic table: the clinic plugs its tables, rules,
// audit and holds in from server/clinic-sync/. This reads the engine's source (comments left
// out) for the clinic's table and role names, and for imports of the app's wiring.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = path.resolve(import.meta.dirname, '../../server/sync');
const CLINIC_WORDS = /\b(appointments|patients|doctors|clinician|receptionist)\b/;

/** The source with comments blanked out (line numbers kept); strings and templates stay. */
function withoutComments(source: string): string {
  let out = '';
  let i = 0;
  let quote: string | null = null;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (quote) {
      out += c;
      if (c === '\\') out += source[++i] ?? '';
      else if (c === quote) quote = null;
      i++;
    } else if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

const files = readdirSync(CORE).filter((f) => f.endsWith('.ts'));

describe('the sync engine is generic', () => {
  it('reads every file of the core', () => {
    expect(files).toEqual(expect.arrayContaining(['engine.ts', 'service.ts', 'shape-router.ts', 'access.ts']));
  });

  it('strips comments but keeps strings', () => {
    const code = withoutComments("const a = 'x // y'; // patients\n/* doctors */ const b = `appointments`;");
    expect(code).toMatch(/'x \/\/ y'/);
    expect(code).not.toMatch(/patients|doctors/);
    expect(code).toMatch(/`appointments`/);
  });

  it.each(files)('%s names no clinic table or role outside comments', (file) => {
    const lines = withoutComments(readFileSync(path.join(CORE, file), 'utf8')).split('\n');
    const hits = lines
      .map((text, n) => ({ line: n + 1, text: text.trim() }))
      .filter(({ text }) => CLINIC_WORDS.test(text));
    expect(hits).toEqual([]);
  });

  it.each(files)('%s does not import the clinic plug-in or the app wiring', (file) => {
    const source = readFileSync(path.join(CORE, file), 'utf8');
    expect(source).not.toMatch(/from '\.\.\/(clinic-sync\/|deps\.js|auth\/|audit\/)/);
  });
});
