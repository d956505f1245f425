// A DATA_DIR the embedded PostgreSQL's own OS user cannot reach is found before initdb runs,
// and the message says which directory blocks and what to change.
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccessProblem } from '../../server/db/data-dir-access.js';

let base: string;
const stranger = { name: 'postgres', uid: 4_000_000, gid: 4_000_000 };

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'clinic-access-'));
  await chmod(base, 0o755);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('findAccessProblem', () => {
  it('names a private (0700) directory on the way to DATA_DIR and how to fix it', async () => {
    const privateDir = path.join(base, 'private');
    await mkdir(path.join(privateDir, 'data'), { recursive: true });
    await chmod(privateDir, 0o700);
    const problem = findAccessProblem(path.join(privateDir, 'data'), base, stranger);
    expect(problem).toContain(`cannot enter ${privateDir} (mode 700)`);
    expect(problem).toContain(`chmod o+x ${privateDir}`);
    expect(problem).toContain('DATA_DIR=');
  });

  it('names a private directory on the way to the PostgreSQL programs', async () => {
    const bin = path.join(base, 'checkout', 'node_modules', 'bin');
    await mkdir(bin, { recursive: true });
    await chmod(path.join(base, 'checkout'), 0o700);
    const problem = findAccessProblem(path.join(base, 'open-data'), bin, stranger);
    expect(problem).toContain(`cannot enter ${path.join(base, 'checkout')}`);
    expect(problem).toContain('node_modules');
  });

  it('accepts directories the user may pass through, including a DATA_DIR not created yet', async () => {
    const open = path.join(base, 'open');
    await mkdir(open, { recursive: true });
    await chmod(open, 0o711);
    expect(findAccessProblem(path.join(open, 'not-yet', 'data'), open, stranger)).toBeNull();
    // The owner needs only its own bits.
    const owned = path.join(base, 'owned');
    await mkdir(owned);
    await chmod(owned, 0o700);
    expect(findAccessProblem(owned, base, { ...stranger, uid: process.getuid!() })).toBeNull();
  });
});
