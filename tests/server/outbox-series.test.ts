// A series queued offline on a device (in-memory PGlite, the real local schema) and replayed
// against the real server: one outbox entry per series request, applied exactly once under
// its key, its occurrences shown at once and confirmed by sync row for row.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { confirmAccepted, discardEntry } from '../../src/lib/outbox/confirm.js';
import { sendPass, type Transport } from '../../src/lib/outbox/sender.js';
import { bookLocally } from '../../src/lib/outbox/writes.js';
import {
  bookSeriesLocally,
  cancelSeriesLocally,
  SeriesLocalConflictError,
  SeriesValidationError,
} from '../../src/lib/series/writes.js';
import { ApiClient } from '../setup/server.js';
import { openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let local: PGlite;
beforeAll(async () => {
  clinic = await openClinic({ patients: 12 });
  local = await PGlite.create({ extensions: { pg_trgm } });
  await migrateLocal(local);
});
afterAll(async () => {
  await local?.close();
  await clinic?.close();
});
beforeEach(async () => {
  await local.exec('DELETE FROM outbox; DELETE FROM appointments_overlay; DELETE FROM appointments_synced;');
});

function transportOf(client: ApiClient): Transport {
  return async (req) => {
    const res = await client.request(req.method, req.path, req.body, { 'idempotency-key': req.idempotencyKey });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: res.body };
  };
}

/** Stands in for sync: the server's rows of the series land in the local synced table. */
async function syncSeries(seriesId: string): Promise<void> {
  const { rows } = await clinic.db.pool.query('SELECT * FROM appointments WHERE series_id = $1', [seriesId]);
  for (const r of rows) {
    await local.query(
      `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency,
         reason, cancelled_at, cancellation_reason, rescheduled_from, version, series_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
         cancelled_at = EXCLUDED.cancelled_at`,
      [
        r.id,
        r.patient_id,
        r.doctor_id,
        r.starts_at,
        r.ends_at,
        r.duration_minutes,
        r.status,
        r.urgency,
        r.reason,
        r.cancelled_at,
        r.cancellation_reason,
        r.rescheduled_from,
        r.version,
        r.series_id,
      ],
    );
  }
}

const userId = () => clinic.fixture.users.receptionist.id;
const monday = (week: number, time = '09:00') =>
  new Date(Date.UTC(2031, 0, 6 + 7 * week, +time.slice(0, 2), +time.slice(3))).toISOString();
const request = (overrides: Record<string, unknown> = {}) => ({
  patient_id: clinic.fixture.patients[0]!,
  doctor_id: clinic.fixture.doctorA,
  starts_at: monday(0),
  duration_minutes: 30,
  rrule: 'FREQ=WEEKLY;COUNT=4',
  mode: 'all_or_none' as const,
  ...overrides,
});
const localRows = async (seriesId: string) =>
  (
    await local.query<{ id: string; status: string; pending: boolean }>(
      'SELECT id, status, pending FROM appointments WHERE series_id = $1 ORDER BY starts_at',
      [seriesId],
    )
  ).rows;
const outbox = async () =>
  (
    await local.query<{ kind: string; state: string; path: string }>(
      'SELECT kind, state, path FROM outbox ORDER BY seq',
    )
  ).rows;

describe('a series booked offline', () => {
  it('shows every occurrence at once, sends ONE request, is applied once despite a lost answer, confirmed by sync', async () => {
    const { id } = await bookSeriesLocally(local, userId(), request(), 'UTC');
    const shown = await localRows(id);
    expect(shown).toHaveLength(4);
    expect(shown.every((r) => r.pending && r.status === 'scheduled')).toBe(true);
    expect(await outbox()).toEqual([{ kind: 'series_book', state: 'pending', path: '/api/series' }]);

    // The server applies it but the answer is lost; the next pass replays under the same key.
    const api = transportOf(clinic.receptionist);
    let calls = 0;
    await sendPass(local, async (req) => {
      calls++;
      await api(req);
      throw new TypeError('network connection lost');
    });
    expect((await outbox())[0]!.state).toBe('pending');
    await local.query('UPDATE outbox SET next_attempt_at = now()');
    await sendPass(local, async (req) => {
      calls++;
      return api(req);
    });
    expect(calls).toBe(2);
    expect((await outbox())[0]!.state).toBe('accepted');
    const onServer = await clinic.db.pool.query('SELECT id FROM appointments WHERE series_id = $1 ORDER BY starts_at', [
      id,
    ]);
    // The server's rows carry the ids the device showed.
    expect(onServer.rows.map((r) => r.id)).toEqual(shown.map((r) => r.id));
    const keys = await clinic.db.pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [id]);
    expect(keys.rowCount).toBe(1);

    // Not confirmed before sync brings the rows; then the overlay makes way for them.
    expect(await confirmAccepted(local)).toBe(0);
    expect((await localRows(id)).every((r) => r.pending)).toBe(true);
    await syncSeries(id);
    expect(await confirmAccepted(local)).toBe(1);
    expect(await outbox()).toEqual([]);
    expect((await localRows(id)).map((r) => r.pending)).toEqual([false, false, false, false]);
  });

  it('all-or-none with a conflict this device already sees: nothing is queued', async () => {
    await bookLocally(local, userId(), {
      patient_id: clinic.fixture.patients[5]!,
      doctor_id: clinic.fixture.doctorA,
      starts_at: monday(12),
      duration_minutes: 30,
    });
    const before = await outbox();
    const err = await bookSeriesLocally(local, userId(), request({ starts_at: monday(10) }), 'UTC').catch((e) => e);
    expect(err).toBeInstanceOf(SeriesLocalConflictError);
    expect((err as SeriesLocalConflictError).occurrences.map((o) => o.conflicts.length > 0)).toEqual([
      false,
      false,
      true,
      false,
    ]);
    expect(await outbox()).toEqual(before);
  });

  it('"book the free ones" offline: the server books the free ones and refuses the taken one with suggestions', async () => {
    // Taken on the server while the device was offline.
    const taken = await clinic.receptionist.post('/api/appointments', {
      id: crypto.randomUUID(),
      patient_id: clinic.fixture.patients[6],
      doctor_id: clinic.fixture.doctorA,
      starts_at: monday(21),
      duration_minutes: 30,
    });
    expect(taken.status).toBe(201);
    const { id } = await bookSeriesLocally(
      local,
      userId(),
      request({ starts_at: monday(20), mode: 'free_ones' }),
      'UTC',
    );
    expect(await localRows(id)).toHaveLength(4);
    let answer: { occurrences: { outcome: string; error?: { code: string }; suggestions?: unknown[] }[] } | null = null;
    const api = transportOf(clinic.receptionist);
    await sendPass(local, async (req) => {
      const res = await api(req);
      answer = res.json as typeof answer;
      return res;
    });
    expect((await outbox())[0]!.state).toBe('accepted');
    expect(answer!.occurrences.map((o) => o.outcome)).toEqual(['booked', 'refused', 'booked', 'booked']);
    expect(answer!.occurrences[1]!.error!.code).toBe('slot_conflict');
    expect(answer!.occurrences[1]!.suggestions!.length).toBeGreaterThan(0);
    await syncSeries(id);
    expect(await confirmAccepted(local)).toBe(1);
    // The refused occurrence's local row went with the overlay: the device shows the server's three.
    expect((await localRows(id)).map((r) => r.pending)).toEqual([false, false, false]);
  });

  it("all-or-none refused by the server: rejected with the server's words, discard removes the rows", async () => {
    const taken = await clinic.receptionist.post('/api/appointments', {
      id: crypto.randomUUID(),
      patient_id: clinic.fixture.patients[7],
      doctor_id: clinic.fixture.doctorA,
      starts_at: monday(31),
      duration_minutes: 30,
    });
    expect(taken.status).toBe(201);
    const { id } = await bookSeriesLocally(local, userId(), request({ starts_at: monday(30) }), 'UTC');
    await sendPass(local, transportOf(clinic.receptionist));
    const entry = (
      await local.query<{ id: string; state: string; last_error: { code: string; message: string } }>(
        'SELECT id, state, last_error FROM outbox',
      )
    ).rows[0]!;
    expect(entry.state).toBe('rejected');
    expect(entry.last_error.code).toBe('series_conflict');
    expect(entry.last_error.message).toBe('Not every occurrence of the series can be changed as asked.');
    expect(await localRows(id)).toHaveLength(4);
    await discardEntry(local, entry.id);
    expect(await localRows(id)).toEqual([]);
    expect((await clinic.db.pool.query('SELECT 1 FROM appointments WHERE series_id = $1', [id])).rowCount).toBe(0);
  });

  it('invalid input is refused on the device naming the field, nothing queued', async () => {
    const err = await bookSeriesLocally(local, userId(), request({ rrule: 'FREQ=DAILY;COUNT=3' }), 'UTC').catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(SeriesValidationError);
    expect((err as SeriesValidationError).fields).toEqual(['rrule']);
    expect(await outbox()).toEqual([]);
  });

  it('booked offline, then "this and following" cancelled offline: two entries in order, both applied, confirmed', async () => {
    const { id, shown } = await bookSeriesLocally(local, userId(), request({ starts_at: monday(40) }), 'UTC');
    const cancelled = await cancelSeriesLocally(local, userId(), id, {
      scope: 'following',
      appointment_id: shown[2]!.id,
      reason: 'moving away',
    });
    expect(cancelled).toEqual([shown[2]!.id, shown[3]!.id]);
    expect((await localRows(id)).map((r) => r.status)).toEqual(['scheduled', 'scheduled', 'cancelled', 'cancelled']);
    expect((await outbox()).map((e) => e.kind)).toEqual(['series_book', 'series_cancel']);
    await sendPass(local, transportOf(clinic.receptionist));
    expect((await outbox()).map((e) => e.state)).toEqual(['accepted', 'accepted']);
    const server = await clinic.db.pool.query(
      'SELECT status, cancellation_reason FROM appointments WHERE series_id = $1 ORDER BY starts_at',
      [id],
    );
    expect(server.rows.map((r) => r.status)).toEqual(['scheduled', 'scheduled', 'cancelled', 'cancelled']);
    expect(server.rows[3].cancellation_reason).toBe('moving away');
    await syncSeries(id);
    expect(await confirmAccepted(local)).toBe(2);
    expect((await localRows(id)).map((r) => `${r.status}/${r.pending}`)).toEqual([
      'scheduled/false',
      'scheduled/false',
      'cancelled/false',
      'cancelled/false',
    ]);
  });
});
