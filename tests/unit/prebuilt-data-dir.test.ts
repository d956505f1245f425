// The data directory the login page prepares: a database created from it is initialised and
// fully migrated (the migrations then have nothing to do), and the entry count that sizes the
// OPFS handle pool matches what tar itself lists.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { afterAll, describe, expect, it } from 'vitest';
import { prebuildDataDir, tarEntryCount } from '../../src/lib/db/prebuilt-data-dir.js';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { LOCAL_MIGRATIONS } from '../../src/lib/db/schema/migrations.js';

const run = promisify(execFile);
let db: PGlite | undefined;
afterAll(async () => {
  await db?.close();
});

// Two PGlite starts (a few seconds each on a busy machine).
describe('prebuilt data directory', { timeout: 180_000 }, () => {
  it('opens as a migrated database, and its entry count is the one tar lists', async () => {
    const prepared = await prebuildDataDir();
    expect(prepared).not.toBeNull();
    const { tar, entries } = prepared!;

    const dir = await mkdtemp(path.join(os.tmpdir(), 'prebuilt-'));
    try {
      const file = path.join(dir, 'pgdata.tar');
      await writeFile(file, new Uint8Array(await tar.arrayBuffer()));
      const { stdout } = await run('tar', ['-tf', file], { maxBuffer: 16 * 1024 * 1024 });
      const listed = stdout.split('\n').filter(Boolean).length;
      expect(entries).toBe(listed);
      expect(await tarEntryCount(tar)).toBe(listed);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    db = await PGlite.create({ loadDataDir: tar, extensions: { pg_trgm } });
    const { rows } = await db.query<{ v: number }>('SELECT max(version) AS v FROM local_schema_version');
    expect(rows[0]?.v).toBe(LOCAL_MIGRATIONS.at(-1)!.version);
    expect(await migrateLocal(db)).toEqual([]);
    // Only the app's database: the templates (CREATE DATABASE only) are left out.
    const dbs = await db.query<{ datname: string }>('SELECT datname FROM pg_database');
    expect(dbs.rows.map((r) => r.datname)).toEqual(['postgres']);
    // The schema is usable as it is: the patients' trigram index is there and answers.
    const idx = await db.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'patients_synced_search_idx'`);
    expect(idx.rows).toHaveLength(1);
    const sim = await db.query<{ s: number }>(`SELECT similarity('yamamoto', 'yamamoto') AS s`);
    expect(sim.rows[0]?.s).toBe(1);
  });
});
