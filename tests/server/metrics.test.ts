// GET /metrics: Prometheus text, refused without the token or an admin session, and counting
// bookings, conflicts and rejections exactly after a scripted run against the real booking API.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
let db: TestDatabase;
let server: TestServer;
let fx: Fixture;
let admin: ApiClient;
let reception: ApiClient;

type Samples = Map<string, number>;

/** Parses the text format strictly: every sample line must be well formed and declared. */
function parsePrometheus(text: string): Samples {
  const samples: Samples = new Map();
  const declared = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        declared.add(meta[2]!);
      }
      continue;
    }
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|Nan|\+Inf|-Inf)$/.exec(
        line,
      );
    expect(m, `malformed line: ${line}`).not.toBeNull();
    const base = m![1]!.replace(/_(bucket|sum|count|total|created)$/, '');
    expect(declared.has(m![1]!) || declared.has(base) || declared.has(m![1]!.replace(/_(bucket|sum|count)$/, ''))).toBe(
      true,
    );
    samples.set(m![1]! + (m![2] ?? ''), Number(m![3]));
  }
  return samples;
}

async function scrape(): Promise<Samples> {
  const res = await admin.get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.body as string);
}

const value = (s: Samples, key: string) => s.get(key) ?? 0;

/** The next Monday at least a week ahead, at hh:mm UTC (the test clinic's zone). */
function mondayAt(hour: number, minute = 0): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 7 + ((8 - d.getUTCDay()) % 7));
  d.setUTCHours(hour, minute, 0, 0);
  return d.toISOString();
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db, { METRICS_TOKEN });
  admin = new ApiClient(server.url);
  await admin.login(fx.users.admin.email, TEST_PASSWORD);
  reception = new ApiClient(server.url);
  await reception.login(fx.users.receptionist.email, TEST_PASSWORD);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('GET /metrics', () => {
  it('is refused without the token or an admin session', async () => {
    const anon = new ApiClient(server.url);
    expect((await anon.get('/metrics')).status).toBe(401);
    expect((await anon.get('/metrics', { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await anon.get('/metrics', { authorization: `Basic ${METRICS_TOKEN}` })).status).toBe(401);
    const refused = await reception.get('/metrics');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
  });

  it('answers the bearer token and admins with Prometheus text, process metrics included', async () => {
    const res = await new ApiClient(server.url).get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(res.status).toBe(200);
    const samples = parsePrometheus(res.body as string);
    expect([...samples.keys()].some((k) => k.startsWith('clinic_process_resident_memory_bytes'))).toBe(true);
    expect([...samples.keys()].some((k) => k.startsWith('clinic_nodejs_eventloop_lag'))).toBe(true);
    expect(samples.has('clinic_replication_slot_active')).toBe(true);
  });

  it('counts bookings, conflicts and rejections of a scripted run exactly', async () => {
    const before = await scrape();
    const book = (patient: string, startsAt: string, extra: Record<string, unknown> = {}) => {
      const body = {
        id: randomUUID(),
        patient_id: patient,
        doctor_id: fx.doctorA,
        starts_at: startsAt,
        duration_minutes: 30,
        urgency: 'routine',
        ...extra,
      };
      return reception.post('/api/appointments', body).then((res) => ({ res, body }));
    };
    // 4 bookings in free slots.
    const created = [];
    for (let i = 0; i < 4; i++) created.push(await book(fx.patients[i]!, mondayAt(9 + i)));
    for (const { res } of created) expect(res.status).toBe(201);
    // 3 attempts on a taken slot (other patients): slot conflicts.
    for (let i = 0; i < 3; i++) expect((await book(fx.patients[4 + (i % 2)]!, mondayAt(9, 15))).res.status).toBe(409);
    // The same patient in two places at once: a patient conflict (other doctor, same time).
    const patientClash = await book(fx.patients[0]!, mondayAt(9), { doctor_id: fx.doctorB });
    expect(patientClash.res.status).toBe(409);
    expect(patientClash.res.body.error.code).toBe('patient_conflict');
    // Outside working hours, twice.
    for (let i = 0; i < 2; i++)
      expect((await book(fx.patients[5]!, mondayAt(3, i * 30))).res.body.error.code).toBe('outside_working_hours');
    // Invalid input.
    expect((await book(fx.patients[5]!, mondayAt(12), { duration_minutes: 1 })).res.status).toBe(422);
    // A replay of the first booking: the same answer, not a new booking.
    const replay = await reception.post('/api/appointments', created[0]!.body);
    expect(replay.status).toBe(201);

    const after = await scrape();
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('clinic_booking_outcomes_total{outcome="created",reason=""}')).toBe(4);
    expect(delta('clinic_booking_outcomes_total{outcome="replayed",reason=""}')).toBe(1);
    expect(delta('clinic_booking_outcomes_total{outcome="conflict",reason="slot_conflict"}')).toBe(3);
    expect(delta('clinic_booking_outcomes_total{outcome="conflict",reason="patient_conflict"}')).toBe(1);
    expect(delta('clinic_booking_outcomes_total{outcome="rejected",reason="outside_working_hours"}')).toBe(2);
    expect(delta('clinic_booking_outcomes_total{outcome="rejected",reason="validation_failed"}')).toBe(1);
    // Durations are by route pattern and status, never by raw URL.
    expect(
      delta('clinic_http_request_duration_seconds_count{method="POST",route="/api/appointments",status="201"}'),
    ).toBe(5);
    expect(
      delta('clinic_http_request_duration_seconds_count{method="POST",route="/api/appointments",status="409"}'),
    ).toBe(4);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM appointments');
    expect(rows[0].n).toBe(4);
  });

  it('labels parameterised routes by pattern and unknown paths as unmatched', async () => {
    const before = await scrape();
    await reception.get(`/api/appointments/${randomUUID()}`);
    await reception.get(`/api/appointments/${randomUUID()}`);
    await reception.get(`/api/no-such-thing/${randomUUID()}`);
    const after = await scrape();
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(
      delta('clinic_http_request_duration_seconds_count{method="GET",route="/api/appointments/:id",status="404"}'),
    ).toBe(2);
    expect(delta('clinic_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect([...after.keys()].some((k) => k.includes('no-such-thing'))).toBe(false);
  });

  it('counts outbox rejects that devices report, once per new reject', async () => {
    const before = await scrape();
    const device = {
      device_id: randomUUID(),
      app_version: '1',
      online: true,
      outbox_pending: 0,
      last_synced_at: null,
      shapes: {},
      storage: {},
    };
    for (const rejected of [1, 1, 3, 0, 2]) {
      expect((await reception.post('/api/devices/heartbeat', { ...device, outbox_rejected: rejected })).status).toBe(
        204,
      );
    }
    const after = await scrape();
    // 0→1 (+1), 1→1, 1→3 (+2), 3→0 (resolved), 0→2 (+2)
    expect(
      value(after, 'clinic_device_outbox_rejects_total') - value(before, 'clinic_device_outbox_rejects_total'),
    ).toBe(5);
    expect(value(after, 'clinic_device_heartbeats_total') - value(before, 'clinic_device_heartbeats_total')).toBe(5);
  });

  it('lists rejected writes with their reasons on the admin sync page', async () => {
    const res = await admin.get('/api/admin/sync');
    expect(res.status).toBe(200);
    const codes = res.body.rejected_writes.map((r: { code: string }) => r.code);
    expect(codes).toEqual(
      expect.arrayContaining(['slot_conflict', 'patient_conflict', 'outside_working_hours', 'validation_failed']),
    );
    expect(res.body.rejected_writes[0]).toMatchObject({
      user_email: fx.users.receptionist.email,
      route: '/api/appointments',
      method: 'POST',
    });
  });

  it('counts rate-limit refusals by limiter', async () => {
    const limited = await startTestServer(db, { METRICS_TOKEN, RATE_LIMIT_ANON_PER_HOUR: '3' });
    try {
      const anon = new ApiClient(limited.url);
      const scrapeLimited = async () =>
        parsePrometheus((await anon.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).body as string);
      const before = await scrapeLimited();
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await anon.get('/api/auth/me')).status);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2);
      const after = await scrapeLimited();
      const key = 'clinic_rate_limit_hits_total{limiter="anon"}';
      expect(value(after, key) - value(before, key)).toBe(2);
    } finally {
      await limited.close();
    }
  });
});
