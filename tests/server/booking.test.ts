// The booking write path under concurrency: real concurrent HTTP requests over separate
// connections against the real server and PostgreSQL.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { createPool } from '../../server/db/pool.js';
import { startTestServer } from '../setup/server.js';
import { ApiClient } from '../setup/server.js';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';
import { createHttpServer } from '../../server/http/listen.js';

// A loaded CI machine can be several times slower than a quiet one: give the big runs room.
const HEAVY_TIMEOUT_MS = 300_000;

let clinic: Clinic;
let bigPoolServer: Awaited<ReturnType<typeof startTestServer>>;
let wideListener: http.Server;
let fast: ApiClient;
beforeAll(async () => {
  clinic = await openClinic({ patients: 1000 });
  // A second instance of the server on the same database, with a pool big enough that the
  // 1,000 requests really are concurrent in PostgreSQL; it also shows keys work across instances.
  // It listens with a backlog that takes 1,000 simultaneous connects (Node's default is 511).
  const pool = createPool(clinic.db.url, { max: 80 });
  bigPoolServer = await startTestServer(clinic.db, {}, (deps) => ({ ...deps, pool }));
  wideListener = createHttpServer(createApp(bigPoolServer.deps));
  await new Promise<void>((resolve) => wideListener.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, resolve));
  fast = new ApiClient(`http://127.0.0.1:${(wideListener.address() as AddressInfo).port}`);
  fast.cookie = clinic.receptionist.cookie;
});
afterAll(async () => {
  wideListener?.closeAllConnections();
  await new Promise((resolve) => wideListener?.close(resolve));
  await bigPoolServer?.close();
  await bigPoolServer?.deps.pool.end();
  await clinic?.close();
});

/**
 * A POST as the app's outbox sends it: a network error (a reset connection on a loaded
 * machine) is retried with the same body, which idempotency makes safe.
 */
async function postAsOutbox(client: ApiClient, path: string, body: unknown) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.post(path, body);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

const count = async (sql: string, params: unknown[] = []) =>
  Number((await clinic.db.pool.query<{ n: number }>(sql, params)).rows[0]!.n);

describe('booking one slot', () => {
  it('books, returns the appointment with its embeds and a txid', async () => {
    const body = booking(clinic.fixture, { starts_at: at('08:00'), reason: 'check-up' });
    const res = await clinic.receptionist.post('/api/appointments', body);
    expect(res.status).toBe(201);
    expect(res.body.txid).toEqual(expect.any(Number));
    const a = res.body.appointment;
    expect(a).toMatchObject({
      id: body.id,
      status: 'scheduled',
      starts_at: '2030-01-07T08:00:00.000Z',
      ends_at: '2030-01-07T08:30:00.000Z',
      version: 1,
      reason: 'check-up',
      patient: { id: clinic.fixture.patients[0], mrn: 'TST00001' },
      doctor: { id: clinic.fixture.doctorA, specializations: ['Cardiology'] },
      // The default reminder policy: the patient has a phone, no email, so one SMS 3 h before;
      // 05:00 is in the quiet hours (21:00-08:00) and their end is too late, so it goes just before them.
      reminders: [expect.objectContaining({ channel: 'sms', status: 'pending', send_at: '2030-01-06T20:59:00.000Z' })],
    });
    expect(a).not.toHaveProperty('clinical_notes');
    // The txid is the writing transaction's: the row's xmin.
    const { rows } = await clinic.db.pool.query(`SELECT xmin::text AS xmin FROM appointments WHERE id = $1`, [body.id]);
    expect(Number(rows[0].xmin)).toBe(res.body.txid);
  });

  it(
    '1,000 concurrent requests for one slot: exactly one 201, all others 409 slot_conflict',
    async () => {
      const slot = at('14:00', '2030-01-08');
      const requests = clinic.fixture.patients
        .slice(0, 1000)
        .map((patient_id) =>
          postAsOutbox(
            fast,
            '/api/appointments',
            booking(clinic.fixture, { patient_id, starts_at: slot, doctor_id: clinic.fixture.doctorB }),
          ),
        );
      const answers = await Promise.all(requests);
      const byStatus = new Map<number, number>();
      for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
      expect(Object.fromEntries(byStatus)).toEqual({ 201: 1, 409: 999 });
      const conflicts = answers.filter((a) => a.status === 409);
      expect(new Set(conflicts.map((a) => a.body.error.code))).toEqual(new Set(['slot_conflict']));
      const winner = answers.find((a) => a.status === 201)!.body.appointment;
      expect(conflicts[0]!.body.error.details.conflicts).toEqual([
        { id: winner.id, starts_at: winner.starts_at, ends_at: winner.ends_at },
      ]);
      expect(
        await count(`SELECT count(*) AS n FROM appointments WHERE doctor_id = $1 AND starts_at = $2`, [
          clinic.fixture.doctorB,
          slot,
        ]),
      ).toBe(1);
    },
    HEAVY_TIMEOUT_MS,
  );
});

describe('replays', () => {
  it('the same booking sent 20 times concurrently: one row, 20 identical answers, one audit row', async () => {
    const body = booking(clinic.fixture, {
      patient_id: clinic.fixture.patients[5],
      starts_at: at('10:00', '2030-01-09'),
    });
    const auditBefore = await count(`SELECT count(*) AS n FROM audit_log WHERE action = 'appointment.book'`);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? fast : clinic.receptionist).post('/api/appointments', body)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    const first = JSON.stringify(answers[0]!.body);
    for (const a of answers) expect(JSON.stringify(a.body)).toBe(first);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(await count(`SELECT count(*) AS n FROM appointments WHERE id = $1`, [body.id])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM audit_log WHERE action = 'appointment.book'`)).toBe(auditBefore + 1);

    // Later, and on the other server instance: still the same answer, nothing written.
    const again = await fast.post('/api/appointments', body);
    expect(again.status).toBe(201);
    expect(JSON.stringify(again.body)).toBe(first);
  });

  it('a used id with another body is refused with idempotency_mismatch', async () => {
    const body = booking(clinic.fixture, {
      patient_id: clinic.fixture.patients[6],
      starts_at: at('11:00', '2030-01-09'),
    });
    expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
    const changed = await clinic.receptionist.post('/api/appointments', {
      ...body,
      starts_at: at('12:00', '2030-01-09'),
    });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('idempotency_mismatch');
    // Another user replaying someone else's key is a different request too.
    const otherUser = await clinic.admin.post('/api/appointments', body);
    expect(otherUser.body.error.code).toBe('idempotency_mismatch');
  });

  it('Idempotency-Key makes a status change safe to replay, and a rejected request is judged afresh', async () => {
    const body = booking(clinic.fixture, {
      patient_id: clinic.fixture.patients[7],
      starts_at: at('13:00', '2030-01-09'),
    });
    await clinic.receptionist.post('/api/appointments', body);
    const key = randomUUID();
    const confirm = () =>
      clinic.receptionist.post(
        `/api/appointments/${body.id}/status`,
        { status: 'confirmed' },
        { 'idempotency-key': key },
      );
    const [a, b] = await Promise.all([confirm(), confirm()]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body).toEqual(a.body);
    expect(a.body.appointment.version).toBe(2);
    const other = await clinic.receptionist.post(
      `/api/appointments/${body.id}/status`,
      { status: 'no_show' },
      { 'idempotency-key': key },
    );
    expect(other.body.error.code).toBe('idempotency_mismatch');
    const bad = await clinic.receptionist.post(
      `/api/appointments/${body.id}/status`,
      { status: 'confirmed' },
      { 'idempotency-key': 'nope' },
    );
    expect(bad.status).toBe(422);
  });
});

describe('a randomized storm of bookings, reschedules and cancellations', () => {
  it(
    'leaves no overlap per doctor or patient, and every 201 exactly once',
    async () => {
      const { fixture } = clinic;
      const doctors = [fixture.doctorA, fixture.doctorB];
      const patients = fixture.patients.slice(100, 140);
      const day = '2030-01-10';
      const clients = [clinic.receptionist, clinic.admin, fast];
      const created: string[] = [];
      const statuses: number[] = [];
      const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
      const randomStart = () => {
        const minutes = 8 * 60 + 15 * Math.floor(Math.random() * 16); // 08:00 … 11:45
        return `${day}T${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}:00Z`;
      };
      async function worker(w: number, ops: number) {
        const mine: string[] = [];
        const client = clients[w % clients.length]!;
        for (let i = 0; i < ops; i++) {
          const roll = Math.random();
          let res;
          if (roll < 0.6 || mine.length === 0) {
            res = await client.post('/api/appointments', {
              id: randomUUID(),
              patient_id: pick(patients),
              doctor_id: pick(doctors),
              starts_at: randomStart(),
              duration_minutes: pick([15, 30, 45]),
              urgency: 'routine',
            });
          } else if (roll < 0.8) {
            res = await client.post(`/api/appointments/${pick(mine)}/reschedule`, {
              new_id: randomUUID(),
              starts_at: randomStart(),
              doctor_id: pick(doctors),
            });
          } else {
            res = await client.post(`/api/appointments/${pick(mine)}/cancel`, { reason: 'storm' });
          }
          statuses.push(res.status);
          if (res.status === 201) {
            mine.push(res.body.appointment.id);
            created.push(res.body.appointment.id);
          }
        }
      }
      await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w, 50)));
      expect(statuses).toHaveLength(2500);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(new Set(statuses)).toEqual(new Set(statuses.filter((s) => [200, 201, 409].includes(s))));
      expect(created.length).toBeGreaterThan(20);

      const overlaps = (column: string) =>
        count(
          `SELECT count(*) AS n FROM appointments x JOIN appointments y
           ON x.${column} = y.${column} AND x.id < y.id AND tstzrange(x.starts_at, x.ends_at) && tstzrange(y.starts_at, y.ends_at)
         WHERE x.deleted_at IS NULL AND y.deleted_at IS NULL
           AND x.status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress')
           AND y.status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress')`,
        );
      expect(await overlaps('doctor_id')).toBe(0);
      expect(await overlaps('patient_id')).toBe(0);
      expect(new Set(created).size).toBe(created.length);
      expect(await count(`SELECT count(*) AS n FROM appointments WHERE id = ANY($1::uuid[])`, [created])).toBe(
        created.length,
      );
      // Every reschedule left its old appointment `rescheduled`, linked from exactly one new one.
      expect(
        await count(
          `SELECT count(*) AS n FROM appointments o WHERE o.status = 'rescheduled'
           AND (SELECT count(*) FROM appointments n WHERE n.rescheduled_from = o.id) <> 1`,
        ),
      ).toBe(0);
    },
    HEAVY_TIMEOUT_MS,
  );
});
