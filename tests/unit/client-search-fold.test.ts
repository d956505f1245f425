// Patient search on the device ignores accents, case and word order, with the same folding
// table as the server's migration; the search stays on the trigram index.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchPatients, searchPatientsQuery } from '../../src/lib/db/queries/patients.js';
import { FOLD_FROM, FOLD_TO, foldForSearch, searchWords } from '../../src/lib/shared/search-fold.js';
import { createLocalDb, type LocalTestDb } from './client-local-db.js';

describe('foldForSearch', () => {
  it('lower-cases and drops accents, one plain letter per accented one', () => {
    expect([...FOLD_FROM]).toHaveLength([...FOLD_TO].length);
    expect(foldForSearch('José ÑÚÑEZ Łukasz Søren Ærø')).toBe('jose nunez lukasz soren aro');
    expect(searchWords('  Yamamoto   José ')).toEqual(['yamamoto', 'jose']);
  });

  it("is the table of the server's migration", () => {
    const sql = readFileSync('migrations/0110_patient_search_fold.sql', 'utf8');
    expect(sql).toContain(`'${FOLD_FROM}', '${FOLD_TO}'`);
  });
});

describe('device patient search', () => {
  let db: LocalTestDb;
  const ids = {
    jose: '00000000-0000-4000-8000-000000000001',
    joseph: '00000000-0000-4000-8000-000000000002',
    zoe: '00000000-0000-4000-8000-000000000003',
    offline: '00000000-0000-4000-8000-000000000004',
  };
  beforeAll(async () => {
    db = await createLocalDb();
    const rows = [
      [ids.jose, 'José Yamamoto', 'MRN-1001', '+1 555-0101'],
      [ids.joseph, 'Joseph Müller', 'MRN-1002', null],
      [ids.zoe, 'Zoë Öztürk', 'MRN-1003', null],
    ];
    for (const [id, name, mrn, phone] of rows) {
      await db.query(
        `INSERT INTO patients_synced (id, full_name, date_of_birth, mrn, phone, created_at, updated_at)
         VALUES ($1, $2, '1980-01-01', $3, $4, now(), now())`,
        [id, name, mrn, phone],
      );
    }
    // A patient created offline (overlay) is found the same way.
    await db.query(
      `INSERT INTO patients_overlay (id, full_name, date_of_birth, mrn, created_at, updated_at)
       VALUES ($1, 'Chloé Dupré', '1990-02-02', 'MRN-2001', now(), now())`,
      [ids.offline],
    );
  }, 60_000);
  afterAll(() => db?.close());

  const found = async (text: string) => (await searchPatients(db, text)).map((r) => r.id).sort();

  it('ignores accents and case', async () => {
    expect(await found('jose')).toEqual([ids.jose, ids.joseph].sort());
    expect(await found('JOSÉ')).toEqual([ids.jose, ids.joseph].sort());
    expect(await found('muller')).toEqual([ids.joseph]);
    expect(await found('zoe ozturk')).toEqual([ids.zoe]);
    expect(await found('chloe dupre')).toEqual([ids.offline]);
  });

  it('ignores word order, and every word must match', async () => {
    expect(await found('Yamamoto José')).toEqual([ids.jose]);
    expect(await found('yamamoto jose')).toEqual([ids.jose]);
    expect(await found('jose muller')).toEqual([ids.joseph]);
    expect(await found('jose nobody')).toEqual([]);
  });

  it('still finds by MRN and phone, with wildcards taken literally', async () => {
    expect(await found('mrn-1003')).toEqual([ids.zoe]);
    expect(await found('5550101')).toEqual([ids.jose]);
    expect(await found('555-0101')).toEqual([ids.jose]);
    expect(await found('%')).toEqual([]);
  });

  it('is served by the trigram index of the folded haystack', async () => {
    await db.exec('SET enable_seqscan = off');
    const q = searchPatientsQuery('yamamoto jose');
    const plan = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.sql}`, q.params)).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    await db.exec('RESET enable_seqscan');
    expect(plan).toContain('patients_synced_search_idx');
  });
});
