// A patient's earlier visits on the device: the subset a page asks for, which stored rows a
// page proves gone, and storing pages in local_history_appointments of the real local schema
// (in-memory PGlite), apart from the synced appointments the schedule reads.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storeHistoryPage } from '../../src/lib/history/load.js';
import {
  afterPage,
  historyErrorMessage,
  historyRow,
  historySubset,
  HISTORY_PAGE_SIZE,
  isNoConnection,
  staleSpan,
} from '../../src/lib/history/plan.js';
import { earlierVisitsQuery, historyLoadQuery, type HistoryLoad } from '../../src/lib/history/queries.js';
import { appointmentWindowStart } from '../../src/lib/shared/appointment-window.js';
import { createLocalDb, type LocalTestDb } from './client-local-db.js';

describe('the subset for a page', () => {
  it('asks for the patient’s visits before the device’s window, newest first', () => {
    const now = new Date('2026-11-30T08:00:00Z'); // a Monday
    const s = historySubset('p-1', now, 'Europe/Paris', 100);
    expect(s.where).toBe('patient_id = $1 AND starts_at < $2');
    // Monday 00:00 Paris time, 8 weeks before this week's Monday.
    expect(s.params).toEqual({ '1': 'p-1', '2': '2026-10-04T22:00:00.000Z' });
    expect(s.params['2']).toBe(appointmentWindowStart(now, 'Europe/Paris'));
    expect(s).toMatchObject({ orderBy: 'starts_at DESC, id DESC', limit: HISTORY_PAGE_SIZE, offset: 100 });
  });

  it('keeps only the local columns, NULL for those the role may not see', () => {
    const row = historyRow({ id: 'a', patient_id: 'p', starts_at: 'x', version: 3, created_by: 'u' });
    expect(row.clinical_notes).toBeNull();
    expect(row).not.toHaveProperty('version');
    expect(row).toMatchObject({ id: 'a', patient_id: 'p', starts_at: 'x' });
  });
});

describe('what a page proves', () => {
  it('a first page bounds stale rows from below only when full; a last one from above only when not first', () => {
    expect(staleSpan(50, { offset: 0, limit: 50 })).toEqual({ belowNewest: false, aboveOldest: true });
    expect(staleSpan(7, { offset: 0, limit: 50 })).toEqual({ belowNewest: false, aboveOldest: false });
    expect(staleSpan(50, { offset: 50, limit: 50 })).toEqual({ belowNewest: true, aboveOldest: true });
    expect(staleSpan(3, { offset: 50, limit: 50 })).toEqual({ belowNewest: true, aboveOldest: false });
    expect(staleSpan(0, { offset: 0, limit: 50 })).toEqual({ belowNewest: false, aboveOldest: false });
    expect(staleSpan(0, { offset: 50, limit: 50 })).toBeNull();
  });

  it('the next offset keeps later pages across a refresh of the first; a short page completes', () => {
    expect(afterPage(50, { offset: 0, limit: 50, loadedBefore: 0 })).toEqual({ loadedCount: 50, complete: false });
    expect(afterPage(50, { offset: 0, limit: 50, loadedBefore: 120 })).toEqual({ loadedCount: 120, complete: false });
    expect(afterPage(20, { offset: 100, limit: 50, loadedBefore: 100 })).toEqual({ loadedCount: 120, complete: true });
    expect(afterPage(4, { offset: 0, limit: 50, loadedBefore: 120 })).toEqual({ loadedCount: 4, complete: true });
  });
});

describe('a failed load in words', () => {
  it('tells no answer from a refusal', () => {
    const noAnswer = new TypeError('Failed to fetch');
    expect(isNoConnection(noAnswer)).toBe(true);
    expect(historyErrorMessage(noAnswer)).toMatch(/^No connection/);
    const refused = Object.assign(new Error('HTTP 401'), { status: 401 });
    expect(isNoConnection(refused)).toBe(false);
    expect(historyErrorMessage(refused)).toMatch(/log in again/);
    expect(historyErrorMessage({ status: 403 })).toBe('You may not load earlier visits.');
    expect(historyErrorMessage({ status: 503 })).toMatch(/try again/);
    expect(historyErrorMessage({ status: 400 })).toContain('error 400');
    expect(historyErrorMessage(new Error('database closed'))).toBe('Earlier visits could not be loaded; try again.');
  });
});

describe('stored pages', () => {
  let db: LocalTestDb;
  const patient = randomUUID();
  const doctor = randomUUID();
  const DAY = 86_400_000;
  const base = Date.parse('2026-01-01T09:00:00Z');

  /** A snapshot row as the client parses it: times as PostgreSQL prints them. */
  function visit(daysBefore: number, extra: Record<string, unknown> = {}) {
    const start = new Date(base - daysBefore * DAY);
    const pgText = (d: Date) =>
      d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '+00');
    return {
      id: randomUUID(),
      patient_id: patient,
      doctor_id: doctor,
      starts_at: pgText(start),
      ends_at: pgText(new Date(start.getTime() + 30 * 60_000)),
      duration_minutes: 30,
      status: 'completed',
      urgency: 'routine',
      reason: `visit ${daysBefore}`,
      clinical_notes: `notes ${daysBefore}`,
      version: 1,
      ...extra,
    };
  }
  const storedIds = async () =>
    (await db.query<{ id: string }>(earlierVisitsQuery(patient).sql, earlierVisitsQuery(patient).params)).rows.map(
      (r) => r.id,
    );
  const load = async () =>
    (await db.query<HistoryLoad>(historyLoadQuery(patient).sql, historyLoadQuery(patient).params)).rows[0];

  beforeAll(async () => {
    db = await createLocalDb();
    await db.query(`INSERT INTO doctors_synced (id, full_name, active) VALUES ($1, 'Dr. Old', true)`, [doctor]);
  }, 60_000);
  afterAll(() => db.close());
  beforeEach(async () => {
    await db.exec('DELETE FROM local_history_appointments; DELETE FROM local_history_loads;');
  });

  it('a page is stored newest first with its doctor, and recorded as loaded', async () => {
    const rows = [visit(10), visit(400), visit(40)];
    expect(await storeHistoryPage(db, patient, 0, rows)).toEqual({ rows: 3, complete: true });
    expect(await storedIds()).toEqual([rows[0]!.id, rows[2]!.id, rows[1]!.id]);
    const q = earlierVisitsQuery(patient);
    const first = (await db.query<{ doctor_name: string; clinical_notes: string }>(q.sql, q.params)).rows[0]!;
    expect(first).toMatchObject({ doctor_name: 'Dr. Old', clinical_notes: 'notes 10' });
    expect(await load()).toMatchObject({ loaded_count: 3, complete: true, loaded_at: expect.any(Date) });
  });

  it('a reloaded first page drops the visits the server no longer has, and keeps older pages', async () => {
    const page1 = Array.from({ length: HISTORY_PAGE_SIZE }, (_, i) => visit(i + 1));
    const page2 = [visit(100), visit(101)];
    await storeHistoryPage(db, patient, 0, page1);
    await storeHistoryPage(db, patient, HISTORY_PAGE_SIZE, page2);
    expect(await load()).toMatchObject({ loaded_count: HISTORY_PAGE_SIZE + 2, complete: true });
    // The server deleted the visit of day 5; the first page now ends one visit further back.
    const gone = page1[4]!;
    const moved = visit(60);
    const refreshed = [...page1.filter((v) => v !== gone), moved];
    expect(await storeHistoryPage(db, patient, 0, refreshed)).toEqual({ rows: HISTORY_PAGE_SIZE, complete: false });
    const ids = await storedIds();
    expect(ids).not.toContain(gone.id);
    expect(ids).toContain(moved.id);
    expect(ids).toEqual(expect.arrayContaining(page2.map((v) => v.id)));
    expect(ids).toHaveLength(HISTORY_PAGE_SIZE + 2);
    expect(await load()).toMatchObject({ loaded_count: HISTORY_PAGE_SIZE + 2, complete: false });
  });

  it('an edited visit is updated; an empty first page clears the patient’s history', async () => {
    const v = visit(20);
    await storeHistoryPage(db, patient, 0, [v]);
    await storeHistoryPage(db, patient, 0, [{ ...v, status: 'no_show', clinical_notes: null }]);
    const q = earlierVisitsQuery(patient);
    expect((await db.query(q.sql, q.params)).rows).toMatchObject([{ status: 'no_show', clinical_notes: null }]);
    await storeHistoryPage(db, patient, 0, []);
    expect(await storedIds()).toEqual([]);
    expect(await load()).toMatchObject({ loaded_count: 0, complete: true });
  });

  it('history never reaches the schedule’s appointments, and a visit the window holds shows there only', async () => {
    const v = visit(30);
    await storeHistoryPage(db, patient, 0, [v]);
    const inView = await db.query('SELECT 1 FROM appointments WHERE id = $1', [v.id]);
    expect(inView.rows).toEqual([]);
    await db.query(
      `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
       VALUES ($1, $2, $3, $4, $5, 30, 'completed', 'routine', 1)`,
      [v.id, patient, doctor, v.starts_at, v.ends_at],
    );
    expect(await storedIds()).toEqual([]);
    await db.query('DELETE FROM appointments_synced WHERE id = $1', [v.id]);
    // A truncate of the synced table (a must-refetch) leaves the history as it was.
    await db.exec('TRUNCATE appointments_synced');
    expect(await storedIds()).toEqual([v.id]);
  });
});
