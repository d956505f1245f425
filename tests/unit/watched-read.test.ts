// The reads under the appointments list and patient search (src/lib/db/watched-read.ts) on an
// in-memory PGlite with the real local schema: only the latest query's answer is shown, a
// failed read never loses the query queued behind it, and one change watch per statement
// re-reads on a change (and is built again when its creation fails).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appointmentPageQuery,
  countAppointmentsQuery,
  type AppointmentFilters,
} from '../../src/lib/db/queries/appointments.js';
import { searchPatientsQuery } from '../../src/lib/db/queries/patients.js';
import type { SqlQuery } from '../../src/lib/db/queries/queryable.js';
import { watchSql } from '../../src/lib/db/queries/watch.js';
import { LatestRead, watchTables, type WatchableDb } from '../../src/lib/db/watched-read.js';
import type { GeneratedClinic } from '../../server/seed/generate.js';
import { clinic, createLocalDb, loadGeneratedClinic, type LocalTestDb } from './client-local-db.js';

let db: LocalTestDb;
let data: GeneratedClinic;

beforeAll(async () => {
  db = await createLocalDb();
  data = clinic({ appointments: 1_234 });
  await loadGeneratedClinic(db, data);
}, 120_000);
afterAll(() => db.close());

/** The error PGliteWorker gives every call in flight when the tab's leader changes. */
const leaderChanged = () => new Error('Leader changed, pending operation in indeterminate state');

/**
 * The real database, except that the reads `hold` picks wait for a gate the test opens, and
 * then fail or go through.
 */
function gatedDb(hold: (sql: string, params: unknown[]) => 'fail' | 'pass' | null) {
  const gates: { open: () => void }[] = [];
  const wrapped: WatchableDb = {
    async query<T>(sql: string, params: unknown[] = []) {
      const held = hold(sql, params);
      if (held) {
        await new Promise<void>((open) => gates.push({ open }));
        if (held === 'fail') throw leaderChanged();
      }
      return db.query<T>(sql, params);
    },
    live: db.live,
  };
  return { db: wrapped, gates, openAll: () => gates.splice(0).forEach((g) => g.open()) };
}

/** What a screen would show: every answer in order, and errors. */
function screen<T>(source: WatchableDb) {
  const shown: { query: SqlQuery; rows: T[] }[] = [];
  const errors: unknown[] = [];
  const reader = new LatestRead<T>(
    source,
    (query, rows) => shown.push({ query, rows }),
    (_q, err) => errors.push(err),
  );
  return { reader, shown, errors };
}

const until = async (check: () => boolean) => expect.poll(check, { timeout: 4_000 }).toBe(true);
const count = async (f: AppointmentFilters) => {
  const q = countAppointmentsQuery(f);
  return (await db.query<{ n: number }>(q.sql, q.params)).rows[0]!.n;
};

describe('the latest query is what a screen shows', () => {
  it('a failed read does not lose the newer query queued behind it (the total after From, then To)', async () => {
    const days = data.appointments.map((a) => a.starts_at.getTime()).sort((a, b) => a - b);
    const from = new Date(days[Math.floor(days.length / 3)]!).toISOString();
    const to = new Date(days[Math.floor(days.length / 2)]!).toISOString();
    const all = countAppointmentsQuery({});
    const fromOnly = countAppointmentsQuery({ from });
    const fromTo = countAppointmentsQuery({ from, to });
    // The read of "From only" is in flight when "To" is set, and then fails.
    const gated = gatedDb((_sql, params) => (params.length === 3 ? 'fail' : null));
    const s = screen<{ n: number }>(gated.db);
    s.reader.request(all);
    await s.reader.idle;
    expect(s.shown.at(-1)!.rows[0]!.n).toBe(data.appointments.length);

    s.reader.request(fromOnly);
    await until(() => gated.gates.length === 1);
    s.reader.request(fromTo);
    gated.openAll();
    await until(() => s.shown.at(-1)!.query === fromTo);
    await s.reader.idle;
    expect(s.shown.at(-1)!.rows[0]!.n).toBe(await count({ from, to }));
    expect(s.shown.at(-1)!.rows[0]!.n).toBeLessThan(data.appointments.length);
    expect(s.shown.map((x) => x.query)).not.toContain(fromOnly);
    expect(s.errors).toEqual([]);
  });

  it('never shows a late answer to an earlier query', async () => {
    const firstPage = appointmentPageQuery({}, { kind: 'first' });
    const byDoctor = appointmentPageQuery({ doctorId: data.doctors[1]!.id }, { kind: 'first' });
    const gated = gatedDb((_sql, params) => (params.length === 0 ? 'pass' : null));
    const s = screen<{ id: string; doctor_id: string }>(gated.db);
    s.reader.request(firstPage);
    await until(() => gated.gates.length === 1);
    s.reader.request(byDoctor);
    gated.openAll();
    await until(() => s.shown.length > 0);
    await s.reader.idle;
    expect(s.shown.map((x) => x.query)).toEqual([byDoctor]);
    expect(s.shown[0]!.rows.every((r) => r.doctor_id === data.doctors[1]!.id)).toBe(true);
  });

  it('tries a failed read again, and reports an error only when it keeps failing', async () => {
    const q = searchPatientsQuery('a', 50);
    let failures = 1;
    const flaky: WatchableDb = {
      async query<T>(sql: string, params: unknown[] = []) {
        if (failures-- > 0) throw leaderChanged();
        return db.query<T>(sql, params);
      },
      live: db.live,
    };
    const s = screen(flaky);
    s.reader.request(q);
    await s.reader.idle;
    expect(s.shown).toHaveLength(1);
    expect(s.shown[0]!.rows).toHaveLength(50);
    expect(s.errors).toEqual([]);

    failures = Infinity;
    s.reader.request(searchPatientsQuery('b', 50));
    await s.reader.idle;
    expect(s.shown).toHaveLength(1);
    expect(s.errors).toHaveLength(1);
  });
});

describe('one change watch per statement', () => {
  it('runs for every statement the list and search read', async () => {
    const [first] = (await db.query<{ starts_at: Date; id: string }>(appointmentPageQuery({}, { kind: 'first' }).sql))
      .rows;
    const f: AppointmentFilters = { doctorId: data.doctors[0]!.id, statuses: ['scheduled'], patientSearch: 'a' };
    for (const q of [
      appointmentPageQuery(f, { kind: 'first' }),
      appointmentPageQuery(f, { kind: 'next', after: first! }),
      appointmentPageQuery(f, { kind: 'previous', before: first! }),
      appointmentPageQuery(f, { kind: 'last', total: 120 }),
      countAppointmentsQuery(f),
      searchPatientsQuery('mrn'),
    ]) {
      const watch = await db.live.query(watchSql(q.sql), q.params);
      expect(watch.initialResults.rows).toEqual([]);
      await watch.unsubscribe();
    }
  });

  it('is shared by readers of the same statement, fires on synced and overlay changes, and is rebuilt after a failed creation', async () => {
    const q = countAppointmentsQuery({ urgency: 'urgent' });
    let builds = 0;
    const source: WatchableDb = {
      query: (sql, params) => db.query(sql, params),
      live: {
        query(sql, params, callback) {
          if (++builds === 1) return Promise.reject(leaderChanged());
          return db.live.query(sql, params, callback);
        },
      },
    };
    let a = 0;
    let b = 0;
    const releaseA = watchTables(source, q.sql, q.params, () => a++, Promise.resolve());
    const releaseB = watchTables(
      source,
      q.sql,
      countAppointmentsQuery({ urgency: 'routine' }).params,
      () => b++,
      Promise.resolve(),
    );
    // Built again after the failure; once in place it calls its readers once.
    await until(() => a > 0 && b > 0);
    expect(builds).toBe(2);
    const [row] = (await db.query<{ id: string }>('SELECT id FROM appointments_synced LIMIT 1')).rows;
    const [beforeA, beforeB] = [a, b];
    await db.query(`UPDATE appointments_synced SET reason = reason WHERE id = $1`, [row!.id]);
    await until(() => a > beforeA && b > beforeB);
    const afterSynced = a;
    await db.query(`DELETE FROM appointments_overlay WHERE id = $1`, [row!.id]);
    await until(() => a > afterSynced);
    releaseA();
    releaseB();
    expect(builds).toBe(2);
  });
});
