// The sync engine decides membership of a row in a shape twice: in JavaScript for replicated
// changes, and in PostgreSQL (the SQL it emits) for snapshots. This property test generates
// where clauses and rows (integers at the edges of their types, numeric/float specials, text
// with ß, combining marks, emoji, case pairs, timestamps and dates incl. BC and infinity,
// uuids, arrays, NULLs) and requires both to decide every (clause, row) alike, also with an
// accepted clause as a subquery's where (membership counts vs `IN (SELECT …)`). Refused
// clauses (400) are not counted. A longer run: `npm run bench:where-diff -- --cases N --seed S`.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { differential } from '../setup/where-differential.js';

const SEED = 20261130;

describe('where clauses: live evaluation equals PostgreSQL', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('agrees on at least 10,000 (clause, row) cases with a fixed seed', async () => {
    const r = await differential(client, { seed: SEED, rows: 48, cases: 10_000 });
    expect(r.postgresErrors.slice(0, 5)).toEqual([]);
    expect(r.disagreements.slice(0, 5)).toEqual([]);
    expect(r.cases).toBeGreaterThanOrEqual(10_000);
    expect(r.subqueryCases).toBeGreaterThan(1_000);
    // The generator must exercise both sides: most clauses accepted, some refused.
    expect(r.accepted).toBeGreaterThan(r.refused / 2);
    expect(r.refused).toBeGreaterThan(0);
  });
});
