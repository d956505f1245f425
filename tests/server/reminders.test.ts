// Reminders end to end: booking creates rows and pg-boss jobs in its own transaction, the job
// workers send through a real SMTP server and a real webhook receiver, and reschedule, cancel,
// quiet hours, opt-out, a down SMTP server and a permanent refusal all end in the right state.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../server/db/transaction.js';
import { bookAppointment } from '../../server/appointments/service.js';
import { startJobRunner, type JobRunner } from '../../server/jobs/runner.js';
import { ALL_WORKERS } from '../../server/jobs/workers.js';
import { createLogger } from '../../server/logger.js';
import { wallClock, zonedToUtc, clinicDate } from '../../src/lib/shared/time.js';
import { openClinic, type Clinic } from './appointments-helpers.js';
import { icsLine, startSmtpPeer, startWebhookPeer, type SmtpPeer, type WebhookPeer } from './reminders-peers.js';

const TZ = 'Europe/London';
const SECRET = 'webhook-secret-0123456789';
let clinic: Clinic;
let smtp: SmtpPeer;
let webhook: WebhookPeer;
let runner: JobRunner;

const POLICY = {
  rules: [
    { channel: 'email', minutes_before: 5 },
    { channel: 'sms', minutes_before: 5 },
  ],
  quiet_start: null,
  quiet_end: null,
  clinic_name: 'Riverside Clinic',
  clinic_address: '1 River Road',
  how_to_cancel: 'Call 0100 000 000 to cancel.',
  email_subject: 'Reminder: {date} at {time}',
  email_body: 'See {doctor} at {clinic} on {date} at {time}. {how_to_cancel}',
  sms_body: '{clinic}: {doctor} {date} {time}',
};

beforeAll(async () => {
  smtp = await startSmtpPeer();
  webhook = await startWebhookPeer(SECRET);
  clinic = await openClinic({
    patients: 20,
    env: {
      CLINIC_TIMEZONE: TZ,
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      MAIL_FROM: 'Riverside Clinic <reminders@riverside.test>',
      SMS_WEBHOOK_URL: webhook.url,
      SMS_WEBHOOK_SECRET: SECRET,
      REMINDER_RETRY_BASE_SECONDS: '1',
    },
  });
  const put = await clinic.admin.request('PUT', '/api/admin/reminders/policy', POLICY);
  expect(put.status).toBe(200);
  runner = await startJobRunner({
    databaseUrl: clinic.db.url,
    pool: clinic.db.pool,
    config: clinic.server.config,
    logger: createLogger('silent'),
    workers: ALL_WORKERS,
    runWorkers: true,
  });
});
afterAll(async () => {
  await runner?.stop();
  await clinic?.close();
  await smtp?.close();
  await webhook?.close();
});

let nextPatient = 0;
/** A patient with an email and a phone (the fixture's have neither). */
async function reachablePatient(email = `p${nextPatient}@mail.test`): Promise<string> {
  const id = clinic.fixture.patients[nextPatient++]!;
  await clinic.db.pool.query(`UPDATE patients SET email = $2, phone = '+441000000000' WHERE id = $1`, [id, email]);
  return id;
}

let doctors = 0;
/** A doctor of its own for each booking, so bookings close to now never overlap. */
async function newDoctor(): Promise<string> {
  const { rows } = await clinic.db.pool.query(`INSERT INTO doctors (full_name) VALUES ($1) RETURNING id`, [
    `Dr. Test ${++doctors}`,
  ]);
  return rows[0].id;
}

/** An emergency booking (no working hours) starting `minutes` (+ a few seconds) from now. */
async function soon(patientId: string, minutes = 5) {
  const doctorId = await newDoctor();
  return {
    id: randomUUID(),
    patient_id: patientId,
    doctor_id: doctorId,
    starts_at: new Date(Date.now() + minutes * 60_000 + 3_000).toISOString(),
    duration_minutes: 15,
    urgency: 'emergency',
    reason: 'confidential-clinical-reason',
  };
}

const reminders = async (appointmentId: string) =>
  (
    await clinic.db.pool.query(
      `SELECT id, channel, kind, status, attempts, last_error, send_at FROM reminders WHERE appointment_id = $1 ORDER BY kind, channel`,
      [appointmentId],
    )
  ).rows;
const statusOf = async (id: string) =>
  (await clinic.db.pool.query(`SELECT status FROM reminders WHERE id = $1`, [id])).rows[0]?.status;
const jobsFor = async (reminderIds: string[]) =>
  (
    await clinic.db.pool.query(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'reminder-send' AND data->>'reminderId' = ANY($1)`,
      [reminderIds],
    )
  ).rows[0].n;
const mailTo = (address: string) =>
  smtp.messages.filter((m) => m.parsed.to && JSON.stringify(m.parsed.to).includes(address));

describe('reminders', () => {
  it('a booking that rolls back leaves no reminder and no job; one that commits has both', async () => {
    const patient = await reachablePatient();
    const input = (await soon(patient, 60)) as any;
    const actor = { id: clinic.fixture.users.admin.id, role: 'admin' as const, doctorId: null };
    let seenInside: string[] = [];
    await expect(
      withTransaction(clinic.db.pool, async (tx) => {
        await bookAppointment(tx, 0, actor, input, TZ);
        const { rows } = await tx.query(`SELECT id FROM reminders WHERE appointment_id = $1`, [input.id]);
        seenInside = rows.map((r) => r.id);
        const { rows: jobs } = await tx.query(
          `SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'reminderId' = ANY($1)`,
          [seenInside],
        );
        expect(jobs[0].n).toBe(2);
        throw new Error('forced rollback');
      }),
    ).rejects.toThrow('forced rollback');
    expect(seenInside).toHaveLength(2);
    expect(await reminders(input.id)).toEqual([]);
    expect(await jobsFor(seenInside)).toBe(0);

    const res = await clinic.receptionist.post('/api/appointments', { ...input, id: randomUUID() });
    expect(res.status).toBe(201);
    const rows = await reminders(res.body.appointment.id);
    expect(rows.map((r) => [r.channel, r.kind, r.status])).toEqual([
      ['email', 'reminder', 'pending'],
      ['sms', 'reminder', 'pending'],
    ]);
    expect(await jobsFor(rows.map((r) => r.id))).toBe(2);
    expect(res.body.appointment.reminders).toHaveLength(2);
  });

  it('sends the email with an invite (UID, SEQUENCE, METHOD, DTSTART in the clinic zone) and the signed SMS', async () => {
    const email = 'due@mail.test';
    const patient = await reachablePatient(email);
    const body = await soon(patient);
    expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
    const [mailRow, smsRow] = await reminders(body.id);
    await expect.poll(() => statusOf(mailRow.id), { timeout: 30_000 }).toBe('sent');
    await expect.poll(() => statusOf(smsRow.id), { timeout: 30_000 }).toBe('sent');

    const [mail] = mailTo(email);
    expect(mail).toBeDefined();
    expect(mail!.parsed.messageId).toBe(`<reminder.${mailRow.id}@riverside.test>`);
    expect(mail!.parsed.subject).toMatch(/^Reminder: /);
    expect(mail!.raw.replace(/\r\n[ \t]+/g, ' ')).toMatch(
      /^List-Unsubscribe: <http:\/\/clinic\.test\/api\/reminders\/unsubscribe\?token=/m,
    );
    // No clinical detail anywhere in the message.
    expect(mail!.raw).not.toContain('confidential-clinical-reason');
    expect(mail!.parsed.text).toMatch(/See Dr\. Test \d+ at Riverside Clinic/);
    expect(mail!.parsed.text).toContain('Riverside Clinic');
    expect(icsLine(mail!.ics, 'METHOD')).toBe('REQUEST');
    expect(icsLine(mail!.ics, 'UID')).toBe(`appointment.${body.id}@riverside.test`);
    expect(icsLine(mail!.ics, 'SEQUENCE')).toBe('0');
    const w = wallClock(new Date(body.starts_at), TZ);
    const local = `${w.year}${String(w.month).padStart(2, '0')}${String(w.day).padStart(2, '0')}T${String(w.hour).padStart(2, '0')}${String(w.minute).padStart(2, '0')}${String(w.second).padStart(2, '0')}`;
    expect(icsLine(mail!.ics, 'DTSTART')).toBe(`;TZID=${TZ}:${local}`);
    expect(mail!.ics).toContain(`TZID:${TZ}`);

    const sms = webhook.received.find((r) => r.idempotencyKey === smsRow.id);
    expect(sms?.body).toMatchObject({
      id: smsRow.id,
      to: '+441000000000',
      message_id: `<reminder.${smsRow.id}@riverside.test>`,
    });
    expect(sms!.body.text).toContain('Riverside Clinic');
    expect(sms!.body.text).not.toContain('confidential');
    expect(webhook.badSignatures).toBe(0);

    // The appointment page's route shows them with their state.
    const list = await clinic.receptionist.get(`/api/reminders?appointment_id=${body.id}`);
    expect(list.status).toBe(200);
    expect(list.body.reminders.map((r: any) => r.status)).toEqual(['sent', 'sent']);
  });

  it('reschedule: pending reminders of the old slot stop, the invite moves (same UID, SEQUENCE 1)', async () => {
    const email = 'moved@mail.test';
    const patient = await reachablePatient(email);
    const first = await soon(patient, 120);
    expect((await clinic.receptionist.post('/api/appointments', first)).status).toBe(201);
    const newId = randomUUID();
    const moved = await clinic.receptionist.post(`/api/appointments/${first.id}/reschedule`, {
      new_id: newId,
      starts_at: new Date(Date.now() + 180 * 60_000).toISOString(),
    });
    expect(moved.status).toBe(201);
    expect((await reminders(first.id)).map((r) => [r.status, r.last_error])).toEqual([
      ['cancelled', 'rescheduled'],
      ['cancelled', 'rescheduled'],
    ]);
    const fresh = await reminders(newId);
    expect(fresh.map((r) => [r.channel, r.kind])).toEqual([
      ['email', 'reminder'],
      ['sms', 'reminder'],
      ['email', 'update'],
    ]);
    const update = fresh.find((r) => r.kind === 'update')!;
    await expect.poll(() => statusOf(update.id), { timeout: 30_000 }).toBe('sent');
    const [mail] = mailTo(email);
    expect(mail!.parsed.subject).toMatch(/^Changed:/);
    expect(icsLine(mail!.ics, 'UID')).toBe(`appointment.${first.id}@riverside.test`);
    expect(icsLine(mail!.ics, 'SEQUENCE')).toBe('1');
    expect(icsLine(mail!.ics, 'METHOD')).toBe('REQUEST');
  });

  it('cancel: pending reminders stop and the calendar cancel goes out (METHOD:CANCEL, next SEQUENCE)', async () => {
    const email = 'cancel@mail.test';
    const patient = await reachablePatient(email);
    const body = await soon(patient, 120);
    expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
    const res = await clinic.receptionist.post(
      `/api/appointments/${body.id}/cancel`,
      { reason: 'Patient request' },
      { 'idempotency-key': randomUUID() },
    );
    expect(res.status).toBe(200);
    const rows = await reminders(body.id);
    expect(rows.filter((r) => r.kind === 'reminder').map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
    const cancel = rows.find((r) => r.kind === 'cancel')!;
    await expect.poll(() => statusOf(cancel.id), { timeout: 30_000 }).toBe('sent');
    const [mail] = mailTo(email);
    expect(icsLine(mail!.ics, 'METHOD')).toBe('CANCEL');
    expect(icsLine(mail!.ics, 'STATUS')).toBe('CANCELLED');
    expect(icsLine(mail!.ics, 'SEQUENCE')).toBe('1');
    expect(icsLine(mail!.ics, 'UID')).toBe(`appointment.${body.id}@riverside.test`);
  });

  it('no-show and delete stop pending reminders without a message', async () => {
    const patient = await reachablePatient();
    const body = await soon(patient, 120);
    expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
    const del = await clinic.admin.delete(`/api/appointments/${body.id}`, { 'idempotency-key': randomUUID() });
    expect(del.status).toBe(204);
    expect((await reminders(body.id)).map((r) => [r.kind, r.status, r.last_error])).toEqual([
      ['reminder', 'cancelled', 'deleted'],
      ['reminder', 'cancelled', 'deleted'],
    ]);
    const other = await soon(await reachablePatient(), 120);
    expect((await clinic.receptionist.post('/api/appointments', other)).status).toBe(201);
    // A no-show is recorded once the start has passed: the server's clock is moved there.
    clinic.setNow(new Date(Date.parse(other.starts_at) + 5 * 60_000));
    const noShow = await clinic.receptionist.post(
      `/api/appointments/${other.id}/status`,
      { status: 'no_show' },
      { 'idempotency-key': randomUUID() },
    );
    clinic.setNow(null);
    expect(noShow.status).toBe(200);
    expect((await reminders(other.id)).map((r) => [r.kind, r.status, r.last_error])).toEqual([
      ['reminder', 'cancelled', 'no_show'],
      ['reminder', 'cancelled', 'no_show'],
    ]);
  });

  it('quiet hours defer a reminder to their end, in clinic time', async () => {
    const now = new Date();
    const w = wallClock(now, TZ);
    const hhmm = (m: number) =>
      `${String(Math.floor((((m % 1440) + 1440) % 1440) / 60)).padStart(2, '0')}:${String((((m % 1440) + 1440) % 1440) % 60).padStart(2, '0')}`;
    const nowMin = w.hour * 60 + w.minute;
    const quiet = { quiet_start: hhmm(nowMin - 60), quiet_end: hhmm(nowMin + 60) };
    await clinic.admin.request('PUT', '/api/admin/reminders/policy', {
      ...POLICY,
      rules: [{ channel: 'email', minutes_before: 150 }],
      ...quiet,
    });
    try {
      const patient = await reachablePatient();
      const body = await soon(patient, 180); // its reminder would be due in ~30 min: inside quiet hours
      expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
      const [row] = await reminders(body.id);
      const end = zonedToUtc(clinicDate(new Date(now.getTime() + 60 * 60_000), TZ), quiet.quiet_end, TZ);
      expect(row.send_at.toISOString()).toBe(end.toISOString());
    } finally {
      await clinic.admin.request('PUT', '/api/admin/reminders/policy', POLICY);
    }
  });

  it('opt-out through the signed link stops reminders; a forged link does nothing', async () => {
    const email = 'optout@mail.test';
    const patient = await reachablePatient(email);
    const body = await soon(patient);
    expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
    const [mailRow] = await reminders(body.id);
    await expect.poll(() => statusOf(mailRow.id), { timeout: 30_000 }).toBe('sent');
    const link = /https?:\/\/\S+\/api\/reminders\/unsubscribe\?token=[\w.-]+/.exec(mailTo(email)[0]!.parsed.text!)![0];
    const path = link.replace(/^https?:\/\/[^/]+/, '');
    const token = new URL(link).searchParams.get('token')!;

    const anon = new (clinic.admin.constructor as any)(clinic.server.url);
    const forged = `${token.split('.')[0]}.${Buffer.alloc(32).toString('base64url')}`;
    expect((await anon.get(`/api/reminders/unsubscribe?token=${forged}`)).status).toBe(400);
    const pageRes = await anon.get(path);
    expect(pageRes.status).toBe(200);
    expect(pageRes.body).toContain('<form method="post"');
    const done = await anon.request('POST', '/api/reminders/unsubscribe', `token=${encodeURIComponent(token)}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(done.status).toBe(200);

    // A new booking gets only the SMS; an email already pending is dropped when due.
    const next = await soon(patient, 30);
    expect((await clinic.receptionist.post('/api/appointments', next)).status).toBe(201);
    expect((await reminders(next.id)).map((r) => r.channel)).toEqual(['sms']);
    await clinic.db.pool.query(`UPDATE patient_contact_preferences SET email_opt_out = false WHERE patient_id = $1`, [
      patient,
    ]);
    const later = await soon(patient, 60);
    expect((await clinic.receptionist.post('/api/appointments', later)).status).toBe(201);
    await clinic.db.pool.query(`UPDATE patient_contact_preferences SET email_opt_out = true WHERE patient_id = $1`, [
      patient,
    ]);
    const [pendingMail] = (await reminders(later.id)).filter((r) => r.channel === 'email');
    await clinic.db.pool.query(`UPDATE reminders SET send_at = now() WHERE id = $1`, [pendingMail.id]);
    await runner.boss.send('reminder-send', { reminderId: pendingMail.id });
    await expect.poll(() => statusOf(pendingMail.id), { timeout: 30_000 }).toBe('cancelled');
    expect(mailTo(email)).toHaveLength(1);
  });

  it('a permanent refusal (550) fails at once, is listed for the admin, and can be resent', async () => {
    const email = 'nobody@mail.test';
    smtp.rejectRecipients.add(email);
    const patient = await reachablePatient(email);
    const body = await soon(patient);
    expect((await clinic.receptionist.post('/api/appointments', body)).status).toBe(201);
    const mailRow = (await reminders(body.id)).find((r) => r.channel === 'email')!;
    await expect.poll(() => statusOf(mailRow.id), { timeout: 30_000 }).toBe('failed');
    const failed = await clinic.admin.get('/api/admin/reminders/messages?status=failed&channel=email');
    expect(failed.status).toBe(200);
    const listed = failed.body.results.find((r: any) => r.id === mailRow.id);
    expect(listed).toMatchObject({ attempts: 1, recipient: email });
    expect(listed.last_error).toMatch(/550/);
    expect((await clinic.admin.get('/api/admin/reminders/messages?status=bogus')).status).toBe(422);

    smtp.rejectRecipients.delete(email);
    const resend = await clinic.admin.post(`/api/admin/reminders/messages/${mailRow.id}/resend`);
    expect(resend.status).toBe(200);
    await expect.poll(() => statusOf(mailRow.id), { timeout: 30_000 }).toBe('sent');
    expect(mailTo(email)).toHaveLength(1);
    expect(mailTo(email)[0]!.parsed.messageId).toBe(`<reminder.${mailRow.id}@riverside.test>`);
    expect((await clinic.admin.post(`/api/admin/reminders/messages/${mailRow.id}/resend`)).status).toBe(409);
  });
});
