// Staff set a patient's reminder channels: reading and writing is role-checked and audited,
// turning a channel off stops its pending reminders, turning it back on plans them again (once).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let patient: string;
let appointment: string;

const prefsPath = (id: string) => `/api/patients/${id}/contact-preferences`;
const remindersOf = async (appointmentId: string) =>
  (
    await clinic.db.pool.query(
      `SELECT r.channel, r.status, r.last_error,
              (SELECT count(*)::int FROM pgboss.job j WHERE j.name = 'reminder-send' AND j.data->>'reminderId' = r.id::text) AS jobs
         FROM reminders r WHERE r.appointment_id = $1 AND r.kind = 'reminder' ORDER BY r.channel, r.created_at`,
      [appointmentId],
    )
  ).rows;

beforeAll(async () => {
  clinic = await openClinic({ patients: 4 });
  const { updated_at: _, ...policy } = (await clinic.admin.request('GET', '/api/admin/reminders/policy')).body.policy;
  const put = await clinic.admin.request('PUT', '/api/admin/reminders/policy', {
    ...policy,
    rules: [
      { channel: 'email', minutes_before: 60 },
      { channel: 'sms', minutes_before: 60 },
    ],
    quiet_start: null,
    quiet_end: null,
  });
  expect(put.status).toBe(200);
  patient = clinic.fixture.patients[0]!;
  await clinic.db.pool.query(`UPDATE patients SET email = 'pref@mail.test', phone = '+441000000001' WHERE id = $1`, [
    patient,
  ]);
  // A doctor of its own (no other appointment of the patient's is with doctor A or B), booked
  // as an emergency three hours ahead, so the one-hour reminders are still to come.
  const { rows } = await clinic.db.pool.query(`INSERT INTO doctors (full_name) VALUES ('Dr. Prefs') RETURNING id`);
  appointment = randomUUID();
  const booked = await clinic.receptionist.post('/api/appointments', {
    id: appointment,
    patient_id: patient,
    doctor_id: rows[0].id,
    starts_at: new Date(Date.now() + 3 * 3_600_000).toISOString(),
    duration_minutes: 15,
    urgency: 'emergency',
  });
  expect(booked.status).toBe(201);
});
afterAll(() => clinic?.close());

describe('contact preferences set by staff', () => {
  it('reads both channels on, with whether the patient can be reached at all', async () => {
    const res = await clinic.receptionist.get(prefsPath(patient));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.preferences).toEqual({
      email_opt_out: false,
      sms_opt_out: false,
      updated_via: null,
      updated_at: null,
      has_email: true,
      has_phone: true,
    });
    expect((await remindersOf(appointment)).map((r) => [r.channel, r.status])).toEqual([
      ['email', 'pending'],
      ['sms', 'pending'],
    ]);
  });

  it('turning SMS off stops its pending reminder; the email stays; the change is audited', async () => {
    const res = await clinic.receptionist.request('PUT', prefsPath(patient), {
      email_opt_out: false,
      sms_opt_out: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.preferences).toMatchObject({ email_opt_out: false, sms_opt_out: true, updated_via: 'staff' });
    expect((await remindersOf(appointment)).map((r) => [r.channel, r.status, r.last_error])).toEqual([
      ['email', 'pending', null],
      ['sms', 'cancelled', 'patient opted out of SMS'],
    ]);
    const { rows } = await clinic.db.pool.query(
      `SELECT actor_id, details FROM audit_log WHERE action = 'reminders.preferences' AND entity_id = $1`,
      [patient],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].actor_id).toBe(clinic.fixture.users.receptionist.id);
    expect(rows[0].details).toMatchObject({
      before: { email_opt_out: false, sms_opt_out: false },
      after: { email_opt_out: false, sms_opt_out: true },
      sms_cancelled: 1,
    });
  });

  it('turning SMS back on plans its reminder again, with its job; saving the same again plans nothing', async () => {
    const on = await clinic.admin.request('PUT', prefsPath(patient), { email_opt_out: false, sms_opt_out: false });
    expect(on.status).toBe(200);
    const after = await remindersOf(appointment);
    expect(after.map((r) => [r.channel, r.status])).toEqual([
      ['email', 'pending'],
      ['sms', 'cancelled'],
      ['sms', 'pending'],
    ]);
    expect(after.filter((r) => r.status === 'pending').every((r) => r.jobs === 1)).toBe(true);
    const again = await clinic.admin.request('PUT', prefsPath(patient), { email_opt_out: false, sms_opt_out: false });
    expect(again.status).toBe(200);
    expect(await remindersOf(appointment)).toHaveLength(3);
  });

  it('refuses bad input by field, other roles and other scopes', async () => {
    const wrongType = await clinic.receptionist.request('PUT', prefsPath(patient), {
      email_opt_out: 'yes',
      sms_opt_out: false,
    });
    expect(wrongType.status).toBe(422);
    expect(JSON.stringify(wrongType.body)).toContain('email_opt_out');
    const extra = await clinic.receptionist.request('PUT', prefsPath(patient), {
      email_opt_out: false,
      sms_opt_out: false,
      phone: '+1',
    });
    expect(extra.status).toBe(422);
    const missing = await clinic.receptionist.request('PUT', prefsPath(patient), { email_opt_out: true });
    expect(missing.status).toBe(422);
    expect(JSON.stringify(missing.body)).toContain('sms_opt_out');
    // A clinician may not change them, and does not see another doctor's patient.
    expect(
      (await clinic.clinicianA.request('PUT', prefsPath(patient), { email_opt_out: true, sms_opt_out: true })).status,
    ).toBe(403);
    expect((await clinic.clinicianA.get(prefsPath(patient))).status).toBe(404);
    expect((await clinic.receptionist.get(prefsPath(randomUUID()))).status).toBe(404);
    expect((await clinic.receptionist.get(prefsPath('not-a-uuid'))).status).toBe(404);
    // Nothing of the refused writes landed.
    expect((await clinic.receptionist.get(prefsPath(patient))).body.preferences).toMatchObject({
      email_opt_out: false,
      sms_opt_out: false,
    });
  });
});
