// Local queries of the PWA against an in-memory PGlite with the real local schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appointmentDetailQuery,
  appointmentPage,
  appointmentPageQuery,
  appointmentsBetweenQuery,
  countAppointments,
  countAppointmentsQuery,
  rescheduledToQuery,
  type AppointmentFilters,
  type AppointmentRow,
} from '../../src/lib/db/queries/appointments.js';
import { patientByIdQuery, searchPatients, searchPatientsQuery } from '../../src/lib/db/queries/patients.js';
import { slotInputsQuery } from '../../src/lib/db/queries/slots.js';
import type { GeneratedClinic } from '../../server/seed/generate.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

let db: LocalTestDb;
let data: GeneratedClinic;

beforeAll(async () => {
  data = clinic({ appointments: 1_234 });
  db = await createLocalDbWith(data);
}, 120_000);
afterAll(() => db.close());

/** What a list must show: the generated rows, filtered, newest first, ties by id descending. */
function expected(filter: (a: GeneratedClinic['appointments'][number]) => boolean) {
  return data.appointments
    .filter(filter)
    .sort((x, y) => y.starts_at.getTime() - x.starts_at.getTime() || (x.id < y.id ? 1 : -1))
    .map((a) => a.id);
}

async function walkForward(filters: AppointmentFilters) {
  const ids: string[] = [];
  let page = await appointmentPage(db, filters, { kind: 'first' });
  while (page.length) {
    ids.push(...page.map((r) => r.id));
    page = await appointmentPage(db, filters, { kind: 'next', after: page[page.length - 1]! });
  }
  return ids;
}

describe('appointment list paging (keyset on starts_at, id)', () => {
  it('pages forward through every row exactly once, in order, 50 at a time', async () => {
    const first = await appointmentPage(db, {}, { kind: 'first' });
    expect(first).toHaveLength(50);
    expect(await walkForward({})).toEqual(expected(() => true));
  });

  it('pages backward from the last page to the first', async () => {
    const total = await countAppointments(db, {});
    expect(total).toBe(data.appointments.length);
    const all = expected(() => true);
    let page: AppointmentRow[] = await appointmentPage(db, {}, { kind: 'last', total });
    expect(page.map((r) => r.id)).toEqual(all.slice(Math.floor((total - 1) / 50) * 50));
    const ids = [...page.map((r) => r.id)];
    while (true) {
      page = await appointmentPage(db, {}, { kind: 'previous', before: page[0]! });
      if (!page.length) break;
      expect(page).toHaveLength(50);
      ids.unshift(...page.map((r) => r.id));
    }
    expect(ids).toEqual(all);
  });

  it('applies doctor, status, urgency and date range filters, and counts them', async () => {
    const doctor = data.doctors[1]!.id;
    const from = data.appointments[300]!.starts_at;
    const to = data.appointments[900]!.starts_at;
    const filters: AppointmentFilters = {
      doctorId: doctor,
      statuses: ['completed', 'scheduled'],
      urgency: 'routine',
      from: from.toISOString(),
      to: to.toISOString(),
    };
    const want = expected(
      (a) =>
        a.doctor_id === doctor &&
        ['completed', 'scheduled'].includes(a.status) &&
        a.urgency === 'routine' &&
        a.starts_at >= from &&
        a.starts_at < to,
    );
    expect(want.length).toBeGreaterThan(0);
    expect(await walkForward(filters)).toEqual(want);
    expect(await countAppointments(db, filters)).toBe(want.length);
  });

  it('filters by patient name through the search haystack', async () => {
    const patient = data.patients.find((p) => data.appointments.some((a) => a.patient_id === p.id))!;
    const ids = await walkForward({ patientSearch: patient.mrn });
    expect(ids).toEqual(expected((a) => a.patient_id === patient.id));
  });

  it('joins patient and doctor names into each row', async () => {
    const [row] = await appointmentPage(db, {}, { kind: 'first' }, 1);
    const a = data.appointments.find((x) => x.id === row!.id)!;
    expect(row!.patient_name).toBe(data.patients.find((p) => p.id === a.patient_id)!.full_name);
    expect(row!.doctor_name).toBe(data.doctors.find((d) => d.id === a.doctor_id)!.full_name);
    expect(row!.pending).toBe(false);
  });

  it('reads a page from the index, never sorting or scanning the whole table', async () => {
    const first = await appointmentPage(db, {}, { kind: 'first' });
    const q = appointmentPageQuery({}, { kind: 'next', after: first[49]! });
    const plan = (await db.query<{ 'QUERY PLAN': string }>('EXPLAIN ' + q.sql, q.params)).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).toMatch(/Index Scan (Backward )?using appointments_synced_starts_id_idx/);
    expect(plan).not.toMatch(/Seq Scan on appointments_synced/);
  });
});

describe('overlay rows (local writes) merge into reads', () => {
  it('replaces, hides and adds rows, flagged pending', async () => {
    const [a, b] = data.appointments;
    await db.query(
      `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, reason)
       SELECT id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, 'cancelled', urgency, 'changed locally'
         FROM appointments_synced WHERE id = $1`,
      [a!.id],
    );
    await db.query(
      `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, local_deleted)
       SELECT id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, true
         FROM appointments_synced WHERE id = $1`,
      [b!.id],
    );
    try {
      const ids = await walkForward({});
      expect(ids).toHaveLength(data.appointments.length - 1);
      expect(ids).not.toContain(b!.id);
      expect(await countAppointments(db, {})).toBe(data.appointments.length - 1);
      const changed = (await walkForward({ statuses: ['cancelled'] })).includes(a!.id);
      expect(changed).toBe(true);
      const { rows } = await db.query<{ pending: boolean; reason: string }>(
        'SELECT pending, reason FROM appointments WHERE id = $1',
        [a!.id],
      );
      expect(rows).toEqual([{ pending: true, reason: 'changed locally' }]);
    } finally {
      await db.exec('DELETE FROM appointments_overlay');
    }
  });
});

describe('patient search', () => {
  it('matches name substrings case-insensitively, ordered by name', async () => {
    const target = data.patients[17]!;
    const part = target.full_name.split(' ')[1]!.slice(0, 4).toUpperCase();
    const rows = await searchPatients(db, part, 500);
    const want = data.patients
      .filter(
        (p) =>
          p.full_name.toLowerCase().includes(part.toLowerCase()) ||
          p.mrn.toLowerCase().includes(part.toLowerCase()) ||
          p.phone.toLowerCase().includes(part.toLowerCase()),
      )
      .map((p) => p.id);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(want));
    const names = rows.map((r) => r.full_name.toLowerCase());
    expect(names).toEqual([...names].sort());
  });

  it('finds by MRN and by phone digits or formatted phone', async () => {
    const target = data.patients[42]!;
    expect((await searchPatients(db, target.mrn.toLowerCase())).map((r) => r.id)).toEqual([target.id]);
    const digits = target.phone.replace(/\D/g, '');
    expect((await searchPatients(db, digits)).map((r) => r.id)).toContain(target.id);
    expect((await searchPatients(db, target.phone)).map((r) => r.id)).toContain(target.id);
  });

  it('treats LIKE wildcards literally and limits results', async () => {
    expect(await searchPatients(db, '%')).toEqual([]);
    expect(await searchPatients(db, '_')).toEqual([]);
    expect(await searchPatients(db, '', 10)).toHaveLength(10);
  });
});

describe('live queries (what the screens run)', () => {
  it('run every screen query with filters and cursors, and re-run on a change', async () => {
    const [first] = await appointmentPage(db, {}, { kind: 'first' }, 1);
    const filters: AppointmentFilters = {
      doctorId: data.doctors[0]!.id,
      statuses: ['scheduled', 'completed'],
      urgency: 'routine',
      from: '2020-01-01T00:00:00Z',
      to: '2100-01-01T00:00:00Z',
      patientSearch: 'a',
    };
    const queries = [
      appointmentPageQuery(filters, { kind: 'first' }),
      appointmentPageQuery(filters, { kind: 'next', after: first! }),
      appointmentPageQuery(filters, { kind: 'previous', before: first! }),
      appointmentPageQuery(filters, { kind: 'last', total: 120 }),
      countAppointmentsQuery(filters),
      appointmentsBetweenQuery('2020-01-01T00:00:00Z', '2100-01-01T00:00:00Z', [data.doctors[0]!.id]),
      appointmentDetailQuery(first!.id),
      searchPatientsQuery('mrn'),
      patientByIdQuery(data.patients[0]!.id),
      slotInputsQuery({
        doctorId: data.doctors[0]!.id,
        date: first!.starts_at.toISOString().slice(0, 10),
        durationMinutes: 30,
        timeZone: 'UTC',
        excludeId: first!.id,
      }),
      rescheduledToQuery(first!.id),
    ];
    for (const q of queries) {
      const direct = await db.query(q.sql, q.params);
      const live = await db.live.query(q.sql, q.params);
      expect(live.initialResults.rows).toEqual(direct.rows);
      await live.unsubscribe();
    }
    const counted = countAppointmentsQuery({});
    const seen: number[] = [];
    const live = await db.live.query<{ n: number }>(counted.sql, counted.params, (r) => seen.push(r.rows[0]!.n));
    await db.query(`UPDATE appointments_synced SET deleted_at = now() WHERE id = $1`, [first!.id]);
    await expect.poll(() => seen.at(-1)).toBe(data.appointments.length - 1);
    await db.query(`UPDATE appointments_synced SET deleted_at = NULL WHERE id = $1`, [first!.id]);
    await live.unsubscribe();
  }, 60_000);
});
