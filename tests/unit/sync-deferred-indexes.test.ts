// The first sync inserts into index-free synced tables and gets the very same indexes back
// afterwards; tables that already hold rows never lose theirs.
import { afterEach, describe, expect, it } from 'vitest';
import {
  deferIndexesForFirstSync,
  prepareIndexesOnStart,
  restoreDeferredIndexes,
} from '../../src/lib/sync/deferred-indexes.js';
import { clinic, createLocalDb, loadGeneratedClinic, type LocalTestDb } from './client-local-db.js';

const INDEXES_SQL = `SELECT c.relname AS tbl, i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' ORDER BY 2`;

async function indexes(db: LocalTestDb) {
  return (await db.query<{ tbl: string; name: string; def: string }>(INDEXES_SQL)).rows;
}

let db: LocalTestDb | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

// Each test opens a fresh PGlite (a few seconds on a busy machine).
describe('deferred indexes of the first sync', { timeout: 120_000 }, () => {
  it('drops only the synced tables’ secondary indexes, then rebuilds exactly the same ones', async () => {
    db = await createLocalDb();
    const before = await indexes(db);
    const secondary = before.filter((i) => i.tbl.endsWith('_synced') && !i.name.endsWith('_pkey'));
    expect(secondary.map((i) => i.name)).toContain('patients_synced_search_idx');

    expect(await deferIndexesForFirstSync(db)).toBe(secondary.length);
    const during = await indexes(db);
    expect(during.filter((i) => secondary.some((s) => s.name === i.name))).toEqual([]);
    // Primary keys and every other table's indexes stay.
    expect(during).toEqual(before.filter((i) => !secondary.some((s) => s.name === i.name)));

    // The rows land with no secondary index to maintain; the queries still answer right.
    await loadGeneratedClinic(db, clinic());
    expect(await restoreDeferredIndexes(db)).toBe(secondary.length);
    expect(await indexes(db)).toEqual(before);
    const meta = await db.query(`SELECT 1 FROM local_meta WHERE key = 'deferred_indexes'`);
    expect(meta.rows).toEqual([]);
    // Nothing left to restore: a second call changes nothing.
    expect(await restoreDeferredIndexes(db)).toBe(0);
    expect(await indexes(db)).toEqual(before);
  });

  it('keeps the indexes of tables that already hold rows', async () => {
    db = await createLocalDb();
    await loadGeneratedClinic(db, clinic());
    const before = await indexes(db);
    expect(await deferIndexesForFirstSync(db)).toBe(0);
    expect(await indexes(db)).toEqual(before);
  });

  it('on start: defers before a first sync, rebuilds once rows are there or the sync is done', async () => {
    db = await createLocalDb();
    const before = await indexes(db);
    await prepareIndexesOnStart(db, false);
    expect((await indexes(db)).length).toBeLessThan(before.length);
    // Started again before the first commit: still deferred, the saved list intact.
    await prepareIndexesOnStart(db, false);
    expect((await indexes(db)).length).toBeLessThan(before.length);
    // The first commit landed, then the app closed before the rebuild.
    await loadGeneratedClinic(db, clinic());
    await prepareIndexesOnStart(db, false);
    expect(await indexes(db)).toEqual(before);

    const fresh = await createLocalDb();
    try {
      await deferIndexesForFirstSync(fresh);
      await prepareIndexesOnStart(fresh, true);
      expect(await indexes(fresh)).toEqual(before);
    } finally {
      await fresh.close();
    }
  });

  it('rebuilds an index a migration already created meanwhile without failing', async () => {
    db = await createLocalDb();
    const before = await indexes(db);
    await deferIndexesForFirstSync(db);
    const one = before.find((i) => i.name === 'appointments_synced_doctor_starts_idx')!;
    await db.exec(one.def);
    expect(await restoreDeferredIndexes(db)).toBeGreaterThan(0);
    expect(await indexes(db)).toEqual(before);
  });
});
