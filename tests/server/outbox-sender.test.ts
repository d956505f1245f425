// The outbox sender against the real server and PostgreSQL: a local in-memory PGlite with
// the real local schema queues writes "offline" and replays them. The arrival of a synced
// row is reproduced by copying the server's row (GET) into appointments_synced.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { confirmAccepted } from '../../src/lib/outbox/confirm.js';
import { sendPass, type Transport } from '../../src/lib/outbox/sender.js';
import { bookLocally, changeStatusLocally, rescheduleLocally } from '../../src/lib/outbox/writes.js';
import { TEST_PASSWORD } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { at, openClinic, type Clinic } from './appointments-helpers.js';

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
const offline: Transport = async () => {
  throw new TypeError('Failed to fetch');
};

/** Stands in for sync: the server's current rows land in the local synced table. */
async function syncFromServer(db: PGlite, ids: string[]): Promise<void> {
  for (const id of ids) {
    const body = (await clinic.admin.request('GET', `/api/appointments/${id}`)).body.appointment;
    await db.query(
      `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, reason, rescheduled_from, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version`,
      [
        body.id,
        body.patient_id,
        body.doctor_id,
        body.starts_at,
        body.ends_at,
        body.duration_minutes,
        body.status,
        body.urgency,
        body.reason,
        body.rescheduled_from,
        body.version,
      ],
    );
  }
}

async function serverRows(where: string, params: unknown[]): Promise<{ id: string; status: string }[]> {
  return (await clinic.db.pool.query(`SELECT id, status FROM appointments WHERE ${where} ORDER BY starts_at`, params))
    .rows;
}

const userId = () => clinic.fixture.users.receptionist.id;
const input = (patient: number, time: string, date?: string) => ({
  patient_id: clinic.fixture.patients[patient]!,
  doctor_id: clinic.fixture.doctorA,
  starts_at: at(time, date),
  duration_minutes: 30,
});

describe('outbox sender against the real server', () => {
  it('offline booking: retried while offline, applied once when online, confirmed by sync', async () => {
    const id = await bookLocally(local, userId(), input(0, '08:00'));
    const off = await sendPass(local, offline, { random: () => 0 });
    expect(off.nextAttemptAt).not.toBeNull();
    await local.query('UPDATE outbox SET next_attempt_at = now()');
    await sendPass(local, transportOf(clinic.receptionist));
    expect(await serverRows('id = $1', [id])).toEqual([{ id, status: 'scheduled' }]);
    // A replay of the same entry (e.g. the answer got lost) is answered by idempotency.
    await local.query(`UPDATE outbox SET state = 'pending'`);
    await sendPass(local, transportOf(clinic.receptionist));
    expect(await serverRows('patient_id = $1', [clinic.fixture.patients[0]])).toHaveLength(1);
    await syncFromServer(local, [id]);
    expect(await confirmAccepted(local)).toBe(1);
    expect((await local.query('SELECT pending FROM appointments WHERE id = $1', [id])).rows).toEqual([
      { pending: false },
    ]);
  });

  it('answer lost after the server applied it: the retry is a replay, one row', async () => {
    const id = await bookLocally(local, userId(), input(1, '08:00', '2030-01-08'));
    const api = transportOf(clinic.receptionist);
    const lossy: Transport = async (req) => {
      await api(req);
      throw new TypeError('network connection lost');
    };
    await sendPass(local, lossy);
    expect((await local.query<{ state: string }>('SELECT state FROM outbox')).rows[0]!.state).toBe('pending');
    await local.query('UPDATE outbox SET next_attempt_at = now()');
    await sendPass(local, api);
    expect((await local.query<{ state: string }>('SELECT state FROM outbox')).rows[0]!.state).toBe('accepted');
    expect(await serverRows('id = $1', [id])).toHaveLength(1);
  });

  it('two devices book the same slot: one accepted, the other rejected with suggestions; a suggestion books', async () => {
    const other = await PGlite.create({ extensions: { pg_trgm } });
    await migrateLocal(other);
    try {
      const mine = await bookLocally(local, userId(), input(2, '10:00'));
      const theirs = await bookLocally(other, userId(), input(3, '10:00'));
      await sendPass(local, transportOf(clinic.receptionist));
      expect((await local.query('SELECT state, last_error FROM outbox WHERE id = $1', [mine])).rows).toEqual([
        { state: 'accepted', last_error: null },
      ]);
      await sendPass(other, transportOf(clinic.receptionist));
      const rejected = (
        await other.query<{
          state: string;
          last_error: { status: number; code: string; details: { suggestions: { starts_at: string }[] } };
        }>('SELECT state, last_error FROM outbox WHERE id = $1', [theirs])
      ).rows[0]!;
      expect(rejected.state).toBe('rejected');
      expect(rejected.last_error).toMatchObject({ status: 409, code: 'slot_conflict' });
      const suggestion = rejected.last_error.details.suggestions[0]!;
      expect(suggestion).toBeDefined();
      const rebooked = await bookLocally(other, userId(), { ...input(3, '10:00'), starts_at: suggestion.starts_at });
      await sendPass(other, transportOf(clinic.receptionist));
      expect(await serverRows('id = ANY($1::uuid[])', [[mine, theirs, rebooked]])).toEqual(
        expect.arrayContaining([
          { id: mine, status: 'scheduled' },
          { id: rebooked, status: 'scheduled' },
        ]),
      );
      expect(await serverRows('id = $1', [theirs])).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('a status change on a booking the server rejected is rejected with it and never sent', async () => {
    const taken = await bookLocally(local, userId(), input(4, '11:00'));
    await sendPass(local, transportOf(clinic.receptionist));
    const loser = await bookLocally(local, userId(), input(5, '11:00'), { force: true });
    await changeStatusLocally(local, userId(), loser, 'checked_in');
    const sentPaths: string[] = [];
    const api = transportOf(clinic.receptionist);
    await sendPass(local, (req) => (sentPaths.push(req.path), api(req)));
    expect(sentPaths).toEqual(['/api/appointments']);
    const rows = (
      await local.query<{ kind: string; state: string; code: string }>(
        `SELECT kind, state, last_error->>'code' AS code FROM outbox WHERE id <> $1 ORDER BY seq`,
        [taken],
      )
    ).rows;
    expect(rows).toEqual([
      { kind: 'book', state: 'rejected', code: 'slot_conflict' },
      { kind: 'status', state: 'rejected', code: 'dependency_rejected' },
    ]);
  });

  it('an expired session pauses the sender; after login the writes go', async () => {
    const device = new ApiClient(clinic.server.url);
    await device.login(clinic.fixture.users.receptionist.email, TEST_PASSWORD);
    const id = await bookLocally(local, userId(), input(6, '13:00'));
    await device.request('POST', '/api/auth/logout');
    const pass = await sendPass(local, transportOf(device));
    expect(pass.paused).toBe('auth');
    expect((await local.query<{ state: string }>('SELECT state FROM outbox')).rows[0]!.state).toBe('pending');
    expect(await serverRows('id = $1', [id])).toEqual([]);
    await device.login(clinic.fixture.users.receptionist.email, TEST_PASSWORD);
    await sendPass(local, transportOf(device));
    expect(await serverRows('id = $1', [id])).toEqual([{ id, status: 'scheduled' }]);
  });

  it('50 mixed offline writes are applied in order, none duplicated; local equals server', async () => {
    const date = '2030-01-09';
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const hh = String(8 + Math.floor(i / 4)).padStart(2, '0');
      const mm = String((i % 4) * 15).padStart(2, '0');
      ids.push(
        await bookLocally(local, userId(), {
          ...input(i % 12, `${hh}:${mm}`, date),
          duration_minutes: 15,
          doctor_id: i % 2 ? clinic.fixture.doctorB : clinic.fixture.doctorA,
        }),
      );
    }
    for (let i = 0; i < 10; i++) await changeStatusLocally(local, userId(), ids[i]!, 'checked_in');
    for (let i = 0; i < 10; i++) await changeStatusLocally(local, userId(), ids[i]!, 'in_progress');
    for (let i = 10; i < 15; i++) await changeStatusLocally(local, userId(), ids[i]!, 'cancelled', 'ill');
    const moved: string[] = [];
    for (let i = 15; i < 20; i++)
      moved.push(
        await rescheduleLocally(local, userId(), ids[i]!, {
          starts_at: at(`16:${String((i - 15) * 10).padStart(2, '0')}`, date),
          duration_minutes: 10,
        }),
      );
    expect((await local.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n).toBe(50);
    // The day's steps reach the server on the appointments' day (the time rules): its clock
    // reads 10:15 that day for the status changes, real time for bookings and moves.
    const api = transportOf(clinic.receptionist);
    // One request at a time: the server's clock set here is shared by every request in flight.
    await sendPass(
      local,
      async (req) => {
        clinic.setNow(req.path.endsWith('/status') ? at('10:15', date) : null);
        return api(req);
      },
      { window: 1 },
    );
    clinic.setNow(null);
    const states = (
      await local.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM outbox GROUP BY state')
    ).rows;
    expect(states).toEqual([{ state: 'accepted', n: 50 }]);
    await syncFromServer(local, [...ids, ...moved]);
    expect(await confirmAccepted(local)).toBe(50);
    expect((await local.query('SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay')).rows).toEqual([]);
    const localRows = (
      await local.query<{ id: string; status: string }>(
        'SELECT id, status FROM appointments WHERE id = ANY($1::uuid[]) ORDER BY id',
        [[...ids, ...moved]],
      )
    ).rows;
    const remote = (
      await clinic.db.pool.query('SELECT id, status FROM appointments WHERE id = ANY($1::uuid[]) ORDER BY id', [
        [...ids, ...moved],
      ])
    ).rows;
    expect(localRows).toEqual(remote);
    expect(remote.filter((r: { status: string }) => r.status === 'in_progress')).toHaveLength(10);
    expect(remote.filter((r: { status: string }) => r.status === 'rescheduled')).toHaveLength(5);
  });

  it('writes on different rows go side by side: each applied and audited once, replays included', async () => {
    const date = '2030-01-10';
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push(
        await bookLocally(local, userId(), {
          ...input(i, `${String(8 + Math.floor(i / 2)).padStart(2, '0')}:00`, date),
          doctor_id: i % 2 ? clinic.fixture.doctorB : clinic.fixture.doctorA,
        }),
      );
    for (const id of ids) await changeStatusLocally(local, userId(), id, 'confirmed');
    const api = transportOf(clinic.receptionist);
    let inFlight = 0;
    let maxInFlight = 0;
    const lost = new Set<string>();
    const pipelined: Transport = async (req) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        const res = await api(req);
        // The first answer to every fourth confirmation is lost after the server applied it.
        const row = req.path.split('/')[3]!;
        if (req.path.endsWith('/status') && ids.indexOf(row) % 4 === 0 && !lost.has(row)) {
          lost.add(row);
          throw new TypeError('network connection lost');
        }
        return res;
      } finally {
        inFlight--;
      }
    };
    for (let pass = 0; pass < 10; pass++) {
      const result = await sendPass(local, pipelined);
      if (result.nextAttemptAt === null) break;
      await local.query(`UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'`);
    }
    expect(lost.size).toBe(3);
    // Bookings of one doctor go one at a time; the two doctors' and the confirmations side by side.
    expect(maxInFlight).toBeGreaterThan(1);
    expect((await local.query('SELECT 1 FROM outbox WHERE state <> $1', ['accepted'])).rows).toEqual([]);
    const remote = await clinic.db.pool.query<{ status: string; version: number }>(
      'SELECT status, version FROM appointments WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(remote.rows).toEqual(Array(12).fill({ status: 'confirmed', version: 2 }));
    const audited = await clinic.db.pool.query<{ entity_id: string; n: number }>(
      `SELECT entity_id, count(*)::int AS n FROM audit_log
        WHERE entity_id = ANY($1::text[]) AND action IN ('appointment.book', 'appointment.status') GROUP BY 1`,
      [ids],
    );
    expect(audited.rows.map((r) => r.n)).toEqual(Array(12).fill(2));
  });
});
