// SMTP down, then back: a refused connection delivered nothing, so the reminder goes back to
// pending and is retried with backoff; once the server listens again it is sent, once.
// Also: the sent/failed counters and the due-but-late gauge on /metrics.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJobRunner, type JobRunner } from '../../server/jobs/runner.js';
import { ALL_WORKERS } from '../../server/jobs/workers.js';
import { createLogger } from '../../server/logger.js';
import { openClinic, type Clinic } from './appointments-helpers.js';
import { startSmtpPeer, type SmtpPeer } from './reminders-peers.js';

let clinic: Clinic;
let runner: JobRunner;
let smtp: SmtpPeer | undefined;
let port: number;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  port = await freePort();
  clinic = await openClinic({
    env: { SMTP_URL: `smtp://127.0.0.1:${port}`, REMINDER_RETRY_BASE_SECONDS: '1', REMINDER_MAX_ATTEMPTS: '50' },
  });
  await clinic.db.pool.query(
    `UPDATE reminder_policy SET rules = '[{"channel": "email", "minutes_before": 5}]', quiet_start = NULL, quiet_end = NULL`,
  );
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
});

const row = async (id: string) =>
  (await clinic.db.pool.query(`SELECT status, attempts, last_error FROM reminders WHERE id = $1`, [id])).rows[0];

it('retries while SMTP is down and sends exactly once when it is back', async () => {
  const patient = clinic.fixture.patients[0]!;
  await clinic.db.pool.query(`UPDATE patients SET email = 'retry@mail.test' WHERE id = $1`, [patient]);
  const id = randomUUID();
  const res = await clinic.receptionist.post('/api/appointments', {
    id,
    patient_id: patient,
    doctor_id: clinic.fixture.doctorA,
    starts_at: new Date(Date.now() + 5 * 60_000 + 3_000).toISOString(),
    duration_minutes: 15,
    urgency: 'emergency',
  });
  expect(res.status).toBe(201);
  const [reminder] = res.body.appointment.reminders;
  // Two refused attempts: still pending, with the error kept.
  await expect
    .poll(
      async () => {
        const r = await row(reminder.id);
        return r.attempts >= 2 && r.status === 'pending' ? r.last_error : null;
      },
      { timeout: 60_000 },
    )
    .toMatch(/ECONNREFUSED/);

  smtp = await startSmtpPeer(port);
  await expect.poll(async () => (await row(reminder.id)).status, { timeout: 60_000 }).toBe('sent');
  expect(smtp.messages).toHaveLength(1);
  expect(smtp.messages[0]!.parsed.messageId).toBe(`<reminder.${reminder.id}@clinic.test>`);

  const metrics = await clinic.admin.get('/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.body).toMatch(/clinic_reminders_total\{channel="email",outcome="sent"\} [1-9]/);
  expect(metrics.body).toMatch(/clinic_reminders_total\{channel="email",outcome="retry"\} [1-9]/);
  expect(metrics.body).toMatch(/clinic_reminders_due_late \d+/);
});
