// Recurring series over HTTP against the real server and PostgreSQL: one request books every
// occurrence through the single-booking path, all or none or the free ones; edits and
// cancels act on this one, this and following, or the whole series; a replay is a no-op.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { occurrenceId } from '../../src/lib/shared/series.js';
import { booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic();
});
afterAll(async () => {
  await clinic?.close();
});

// Mondays of 2031 (the fixture's hours: Mon–Fri 08–17 UTC).
const monday = (week: number, time = '09:00') =>
  new Date(Date.UTC(2031, 0, 6 + 7 * week, +time.slice(0, 2), +time.slice(3))).toISOString();

function series(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    patient_id: clinic.fixture.patients[0],
    doctor_id: clinic.fixture.doctorA,
    starts_at: monday(0),
    duration_minutes: 30,
    rrule: 'FREQ=WEEKLY;COUNT=4',
    ...overrides,
  };
}

const rowsOf = async (seriesId: string) =>
  (
    await clinic.db.pool.query<{ id: string; starts_at: Date; status: string; reason: string | null }>(
      'SELECT id, starts_at, status, reason FROM appointments WHERE series_id = $1 ORDER BY starts_at, status',
      [seriesId],
    )
  ).rows;

describe('booking a series', () => {
  it('books every occurrence of a weekly rule as ordinary appointments linked by series_id', async () => {
    const body = series({ starts_at: monday(0, '10:00'), rrule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=5' });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(201);
    expect(res.body.series).toMatchObject({ id: body.id, rrule: body.rrule, duration_minutes: 30 });
    expect(res.body.occurrences.map((o: { starts_at: string }) => o.starts_at)).toEqual([
      '2031-01-06T10:00:00.000Z',
      '2031-01-08T10:00:00.000Z',
      '2031-01-20T10:00:00.000Z',
      '2031-01-22T10:00:00.000Z',
      '2031-02-03T10:00:00.000Z',
    ]);
    expect(res.body.occurrences.every((o: { outcome: string }) => o.outcome === 'booked')).toBe(true);
    expect(typeof res.body.txid).toBe('number');
    const rows = await rowsOf(body.id);
    expect(rows.map((r) => r.id)).toEqual(res.body.occurrences.map((o: { id: string }) => o.id));
    expect(rows[0]!.id).toBe(occurrenceId(body.id, '2031-01-06T10:00:00.000Z'));
    // An occurrence is an ordinary appointment: the single-appointment API shows it.
    const one = await clinic.receptionist.get(`/api/appointments/${rows[1]!.id}`);
    expect(one.body.appointment).toMatchObject({ series_id: body.id, status: 'scheduled' });
    const audit = await clinic.db.pool.query(
      `SELECT details FROM audit_log WHERE action = 'series.book' AND entity_id = $1`,
      [body.id],
    );
    expect(audit.rows[0].details.booked).toHaveLength(5);
  });

  it('UNTIL is a clinic date, inclusive', async () => {
    const body = series({ starts_at: monday(10, '11:00'), rrule: 'FREQ=WEEKLY;UNTIL=20310331' });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(201);
    // 2031-03-17, 24, 31
    expect(res.body.occurrences).toHaveLength(3);
    expect(res.body.occurrences[2].starts_at).toBe('2031-03-31T11:00:00.000Z');
  });

  it('all-or-none: one taken occurrence refuses the whole series with reasons and suggestions', async () => {
    const taken = booking(clinic.fixture, { starts_at: monday(22, '09:00'), patient_id: clinic.fixture.patients[3] });
    expect((await clinic.receptionist.post('/api/appointments', taken)).status).toBe(201);
    const body = series({ starts_at: monday(20, '09:00'), rrule: 'FREQ=WEEKLY;COUNT=4', mode: 'all_or_none' });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('series_conflict');
    const occ = res.body.error.details.occurrences;
    expect(occ.map((o: { outcome: string }) => o.outcome)).toEqual(['free', 'free', 'refused', 'free']);
    expect(occ[2].error.code).toBe('slot_conflict');
    expect(occ[2].suggestions.length).toBeGreaterThan(0);
    // Suggestions are free: not the taken slot, and not another occurrence of the series.
    for (const s of occ[2].suggestions) expect(s.starts_at).not.toBe(monday(22, '09:00'));
    expect(await rowsOf(body.id)).toEqual([]);
    const s = await clinic.db.pool.query('SELECT 1 FROM appointment_series WHERE id = $1', [body.id]);
    expect(s.rowCount).toBe(0);
  });

  it('book the free ones: the free occurrences are booked, the others say why', async () => {
    const taken = booking(clinic.fixture, { starts_at: monday(31, '09:00'), patient_id: clinic.fixture.patients[3] });
    expect((await clinic.receptionist.post('/api/appointments', taken)).status).toBe(201);
    // The patient is busy elsewhere in week 32.
    const busy = booking(clinic.fixture, {
      doctor_id: clinic.fixture.doctorB,
      starts_at: monday(32, '09:15'),
      patient_id: clinic.fixture.patients[0],
    });
    expect((await clinic.receptionist.post('/api/appointments', busy)).status).toBe(201);
    const body = series({ starts_at: monday(30, '09:00'), rrule: 'FREQ=WEEKLY;COUNT=4', mode: 'free_ones' });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(201);
    const occ = res.body.occurrences;
    expect(occ.map((o: { outcome: string }) => o.outcome)).toEqual(['booked', 'refused', 'refused', 'booked']);
    expect(occ[1].error.code).toBe('slot_conflict');
    expect(occ[1].suggestions.length).toBeGreaterThan(0);
    expect(occ[2].error.code).toBe('patient_conflict');
    const rows = await rowsOf(body.id);
    expect(rows.map((r) => r.starts_at.toISOString())).toEqual([monday(30), monday(33)]);
  });

  it('refuses occurrences outside working hours by the booking rules (a Saturday)', async () => {
    const body = series({
      starts_at: monday(40, '09:00'),
      rrule: 'FREQ=WEEKLY;BYDAY=MO,SA;COUNT=4',
      mode: 'free_ones',
    });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(201);
    const codes = res.body.occurrences.map((o: { error?: { code: string } }) => o.error?.code ?? 'ok');
    expect(codes).toEqual(['ok', 'outside_working_hours', 'ok', 'outside_working_hours']);
  });

  it('nothing free at all is a 409 even for "the free ones"', async () => {
    const body = series({ starts_at: monday(44, '07:00'), rrule: 'FREQ=WEEKLY;COUNT=2', mode: 'free_ones' });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(409);
    expect(res.body.error.details.occurrences.every((o: { outcome: string }) => o.outcome === 'refused')).toBe(true);
  });

  it('a replay of the same request is answered from the idempotency table, byte for byte, and books once', async () => {
    const body = series({ starts_at: monday(50, '13:00'), rrule: 'FREQ=WEEKLY;COUNT=3', mode: 'free_ones' });
    const [a, b, c] = await Promise.all([
      clinic.receptionist.post('/api/series', body),
      clinic.receptionist.post('/api/series', body),
      clinic.receptionist.post('/api/series', body),
    ]);
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect(JSON.stringify(b.body)).toBe(JSON.stringify(a.body));
    expect(JSON.stringify(c.body)).toBe(JSON.stringify(a.body));
    expect([a, b, c].filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(2);
    expect(await rowsOf(body.id)).toHaveLength(3);
    const audits = await clinic.db.pool.query(
      `SELECT 1 FROM audit_log WHERE action = 'series.book' AND entity_id = $1`,
      [body.id],
    );
    expect(audits.rowCount).toBe(1);
    // The same key with another body is refused.
    const other = await clinic.receptionist.post('/api/series', { ...body, duration_minutes: 45 });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_mismatch');
  });

  it('rejects bad rules and bodies naming the field', async () => {
    for (const rrule of ['FREQ=DAILY;COUNT=3', 'FREQ=WEEKLY', 'FREQ=WEEKLY;COUNT=60', 'FREQ=WEEKLY;BYHOUR=9;COUNT=2']) {
      const res = await clinic.receptionist.post('/api/series', series({ rrule }));
      expect(res.status).toBe(422);
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain('rrule');
    }
    const res = await clinic.receptionist.post('/api/series', { ...series(), mode: 'some', extra: 1 });
    expect(res.status).toBe(422);
    const paths = res.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['mode', 'extra']));
    const unknownPatient = await clinic.receptionist.post('/api/series', series({ patient_id: randomUUID() }));
    expect(unknownPatient.status).toBe(422);
    expect(unknownPatient.body.error.details.issues[0].path).toBe('patient_id');
  });

  it('roles: a clinician books only for their own doctor and sees only their series', async () => {
    const other = await clinic.clinicianA.post('/api/series', series({ doctor_id: clinic.fixture.doctorB }));
    expect(other.status).toBe(403);
    const own = series({ starts_at: monday(60, '15:00'), rrule: 'FREQ=WEEKLY;COUNT=2' });
    expect((await clinic.clinicianA.post('/api/series', own)).status).toBe(201);
    expect((await clinic.clinicianA.get(`/api/series/${own.id}`)).status).toBe(200);
    expect((await clinic.clinicianB.get(`/api/series/${own.id}`)).status).toBe(404);
    const cancel = await clinic.clinicianB.post(`/api/series/${own.id}/cancel`, { scope: 'all' });
    expect(cancel.status).toBe(404);
    const anon = await fetch(`${clinic.server.url}/api/series/${own.id}`);
    expect(anon.status).toBe(401);
  });
});

describe('editing and cancelling a series', () => {
  async function bookWeekly(week: number, count = 5, time = '14:00') {
    const body = series({ starts_at: monday(week, time), rrule: `FREQ=WEEKLY;COUNT=${count}` });
    const res = await clinic.receptionist.post('/api/series', body);
    expect(res.status).toBe(201);
    return { id: body.id, occ: res.body.occurrences as { id: string; starts_at: string }[] };
  }

  it('cancels this one, then this and following, then the whole series', async () => {
    const s = await bookWeekly(70);
    const one = await clinic.receptionist.post(`/api/series/${s.id}/cancel`, {
      scope: 'this',
      appointment_id: s.occ[1]!.id,
      reason: 'holiday',
    });
    expect(one.status).toBe(200);
    expect(one.body.occurrences.map((o: { id: string }) => o.id)).toEqual([s.occ[1]!.id]);
    let rows = await rowsOf(s.id);
    expect(rows.map((r) => r.status)).toEqual(['scheduled', 'cancelled', 'scheduled', 'scheduled', 'scheduled']);

    const following = await clinic.receptionist.post(`/api/series/${s.id}/cancel`, {
      scope: 'following',
      appointment_id: s.occ[3]!.id,
    });
    expect(following.status).toBe(200);
    expect(following.body.occurrences).toHaveLength(2);
    rows = await rowsOf(s.id);
    expect(rows.map((r) => r.status)).toEqual(['scheduled', 'cancelled', 'scheduled', 'cancelled', 'cancelled']);

    const all = await clinic.receptionist.post(`/api/series/${s.id}/cancel`, { scope: 'all' });
    expect(all.status).toBe(200);
    expect(all.body.occurrences).toHaveLength(2); // the two still active
    rows = await rowsOf(s.id);
    expect(rows.every((r) => r.status === 'cancelled')).toBe(true);
    // "this" on an occurrence that can no longer be cancelled: 409 naming it, nothing written.
    const again = await clinic.receptionist.post(`/api/series/${s.id}/cancel`, {
      scope: 'this',
      appointment_id: s.occ[0]!.id,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.details.occurrences[0].error.code).toBe('invalid_transition');
  });

  it('edits the reason of this and following, then moves the whole series to another time', async () => {
    const s = await bookWeekly(80);
    const edit = await clinic.receptionist.post(`/api/series/${s.id}/edit`, {
      scope: 'following',
      appointment_id: s.occ[2]!.id,
      reason: 'physio block B',
    });
    expect(edit.status).toBe(200);
    let rows = await rowsOf(s.id);
    expect(rows.map((r) => r.reason)).toEqual([null, null, 'physio block B', 'physio block B', 'physio block B']);

    const key = randomUUID();
    const move = await clinic.receptionist.post(
      `/api/series/${s.id}/edit`,
      { scope: 'all', start_time: '15:30', duration_minutes: 45 },
      { 'Idempotency-Key': key },
    );
    expect(move.status).toBe(200);
    rows = (await rowsOf(s.id)).filter((r) => r.status === 'scheduled');
    expect(rows.map((r) => r.starts_at.toISOString().slice(11, 16))).toEqual([
      '15:30',
      '15:30',
      '15:30',
      '15:30',
      '15:30',
    ]);
    // Moved occurrences stay in the series and keep their reason; the old rows are `rescheduled`.
    expect(rows.map((r) => r.reason)).toEqual([null, null, 'physio block B', 'physio block B', 'physio block B']);
    expect((await rowsOf(s.id)).filter((r) => r.status === 'rescheduled')).toHaveLength(5);
    // A replay with the same key changes nothing more.
    const replay = await clinic.receptionist.post(
      `/api/series/${s.id}/edit`,
      { scope: 'all', start_time: '15:30', duration_minutes: 45 },
      { 'Idempotency-Key': key },
    );
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await rowsOf(s.id)).toHaveLength(10);
  });

  it('a move that collides for one occurrence refuses the whole edit', async () => {
    const s = await bookWeekly(90, 3, '09:00');
    const blocker = booking(clinic.fixture, { starts_at: monday(91, '11:00'), patient_id: clinic.fixture.patients[4] });
    expect((await clinic.receptionist.post('/api/appointments', blocker)).status).toBe(201);
    const res = await clinic.receptionist.post(`/api/series/${s.id}/edit`, { scope: 'all', start_time: '11:00' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('series_conflict');
    expect(res.body.error.details.occurrences.map((o: { outcome: string }) => o.outcome)).toEqual([
      'free',
      'refused',
      'free',
    ]);
    const rows = await rowsOf(s.id);
    expect(rows.map((r) => r.status)).toEqual(['scheduled', 'scheduled', 'scheduled']);
  });

  it('a single occurrence rescheduled through the appointments API stays in the series', async () => {
    const s = await bookWeekly(100, 2, '09:00');
    const res = await clinic.receptionist.post(`/api/appointments/${s.occ[0]!.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: monday(100, '10:00'),
    });
    expect(res.status).toBe(201);
    expect(res.body.appointment.series_id).toBe(s.id);
    const read = await clinic.receptionist.get(`/api/series/${s.id}`);
    expect(read.status).toBe(200);
    expect(read.body.appointments.map((a: { status: string }) => a.status)).toEqual([
      'rescheduled',
      'scheduled',
      'scheduled',
    ]);
  });

  it('validates scope and anchor', async () => {
    const s = await bookWeekly(110, 2);
    const noAnchor = await clinic.receptionist.post(`/api/series/${s.id}/cancel`, { scope: 'following' });
    expect(noAnchor.status).toBe(422);
    expect(noAnchor.body.error.details.issues[0].path).toBe('appointment_id');
    const stranger = await clinic.receptionist.post(`/api/series/${s.id}/cancel`, {
      scope: 'this',
      appointment_id: randomUUID(),
    });
    expect(stranger.status).toBe(422);
    const empty = await clinic.receptionist.post(`/api/series/${s.id}/edit`, { scope: 'all' });
    expect(empty.status).toBe(422);
    expect((await clinic.receptionist.post(`/api/series/not-a-uuid/cancel`, { scope: 'all' })).status).toBe(404);
    expect((await clinic.receptionist.post(`/api/series/${randomUUID()}/cancel`, { scope: 'all' })).status).toBe(404);
  });
});
