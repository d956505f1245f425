// The server's patient search ignores accents, case and word order ("jose" finds José,
// "Yamamoto José" finds José Yamamoto) and stays on the trigram index of migration 0110.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic({ patients: 30 });
  await clinic.db.pool.query(
    `INSERT INTO patients (full_name, date_of_birth, mrn, phone) VALUES
       ('José Yamamoto', '1980-01-01', 'ACC-1', '+34 600 111 222'),
       ('Joseph Müller', '1981-01-01', 'ACC-2', NULL),
       ('Zoë Öztürk', '1982-01-01', 'ACC-3', NULL)`,
  );
});
afterAll(() => clinic?.close());

const search = async (term: string) =>
  (await clinic.receptionist.get(`/api/patients?search=${encodeURIComponent(term)}`)).body.results
    .map((p: { full_name: string }) => p.full_name)
    .sort();

describe('accent-insensitive patient search', () => {
  it('ignores accents, case and word order', async () => {
    expect(await search('jose')).toEqual(['Joseph Müller', 'José Yamamoto']);
    expect(await search('JOSÉ')).toEqual(['Joseph Müller', 'José Yamamoto']);
    expect(await search('Yamamoto José')).toEqual(['José Yamamoto']);
    expect(await search('yamamoto jose')).toEqual(['José Yamamoto']);
    expect(await search('muller')).toEqual(['Joseph Müller']);
    expect(await search('ozturk zoe')).toEqual(['Zoë Öztürk']);
    expect(await search('jose nobody')).toEqual([]);
    expect(await search('600111222')).toEqual(['José Yamamoto']);
    expect(await search('acc-3')).toEqual(['Zoë Öztürk']);
  });

  it('uses the folded trigram index', async () => {
    // Enough rows that an index is worth it at all.
    await clinic.db.pool.query(
      `INSERT INTO patients (full_name, date_of_birth, mrn, phone)
       SELECT 'Bulk ' || md5(i::text), date '1950-01-01' + i, 'BLK' || i, NULL FROM generate_series(1, 5000) i`,
    );
    await clinic.db.pool.query('ANALYZE patients');
    const client = await clinic.db.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM patients p WHERE p.deleted_at IS NULL
            AND patient_search_haystack(p.full_name, p.mrn, p.phone) LIKE $1
            AND patient_search_haystack(p.full_name, p.mrn, p.phone) LIKE $2`,
        ['%yamamoto%', '%jose%'],
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan, plan).toContain('patients_search_haystack_trgm_idx');
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });
});
