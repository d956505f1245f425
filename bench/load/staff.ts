// Staff at work through the REST API, at a human pace (a think time between actions): page
// through appointments, search patients, open an appointment, book, reschedule, cancel and
// step statuses. Each answer is timed and tallied; a booking's or a step's 409 (someone was
// faster) is an expected outcome, anything else non-2xx is an error.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Person } from './clinic.js';
import type { OpStats } from './stats.js';

export interface StaffWorld {
  url: string;
  doctors: string[];
  patients: string[];
  /** Known appointments (seeded and booked), by doctor. */
  appointments: Map<string, string[]>;
  /** Doctor → ISO weekdays with hours (the seed's: Mon–Fri 08–17 in clinic time = UTC). */
  stats: OpStats;
  /** 2xx writes that create an appointment row: id and when the answer arrived. */
  created: Array<{ id: string; at: number }>;
  /** Every 2xx write, for the consistency check. */
  acknowledged: Array<{ op: string; id: string }>;
  thinkMs: [number, number];
  /** How requests reach the server (the chaos suite puts a bad link in between). */
  fetch?: typeof fetch;
  /** The Origin header the CSRF check wants (the server's PUBLIC_ORIGIN); default: url. */
  origin?: string;
}

export async function loadWorld(pool: pg.Pool, url: string, stats: OpStats, thinkMs: [number, number]) {
  const doctors = (await pool.query<{ id: string }>('SELECT id FROM doctors WHERE active ORDER BY id')).rows.map(
    (r) => r.id,
  );
  const patients = (await pool.query<{ id: string }>('SELECT id FROM patients ORDER BY id LIMIT 5000')).rows.map(
    (r) => r.id,
  );
  const appointments = new Map<string, string[]>(doctors.map((d) => [d, []]));
  const { rows } = await pool.query<{ id: string; doctor_id: string }>(
    `SELECT id, doctor_id FROM appointments WHERE starts_at > now() AND deleted_at IS NULL ORDER BY starts_at LIMIT 20000`,
  );
  for (const r of rows) appointments.get(r.doctor_id)?.push(r.id);
  const world: StaffWorld = { url, doctors, patients, appointments, stats, created: [], acknowledged: [], thinkMs };
  return world;
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** A free-looking slot: a weekday 3–10 weeks ahead, 08:00–16:30 UTC on the quarter hour. */
function slot(): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + 21 + Math.floor(Math.random() * 49));
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  d.setUTCMinutes(8 * 60 + 15 * Math.floor(Math.random() * 34));
  return d.toISOString();
}

const WEIGHTS: Array<[string, number]> = [
  ['list_appointments', 25],
  ['search_patients', 20],
  ['read_appointment', 15],
  ['book', 15],
  ['status_step', 10],
  ['reschedule', 8],
  ['cancel', 7],
];
const TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);
function chooseOp(): string {
  let x = Math.random() * TOTAL;
  for (const [op, w] of WEIGHTS) if ((x -= w) < 0) return op;
  return 'list_appointments';
}

interface Call {
  method: string;
  path: string;
  body?: unknown;
  /** Non-2xx statuses that are a normal outcome of this call. */
  expected?: number[];
}

async function call(world: StaffWorld, person: Person, op: string, c: Call) {
  const started = performance.now();
  let status: number | 'net' = 'net';
  let json: any = null;
  try {
    const res = await (world.fetch ?? fetch)(world.url + c.path, {
      method: c.method,
      headers: {
        cookie: person.cookie,
        origin: world.origin ?? world.url,
        ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: c.body === undefined ? undefined : JSON.stringify(c.body),
      signal: AbortSignal.timeout(30_000),
    });
    status = res.status;
    json = await res.json().catch(() => null);
  } catch {
    status = 'net';
  }
  const ok = typeof status === 'number' && status >= 200 && status < 300;
  const expected = ok || (typeof status === 'number' && (c.expected ?? []).includes(status));
  world.stats.record(op, performance.now() - started, status, expected);
  return { status, ok, json };
}

export async function staffAction(world: StaffWorld, person: Person): Promise<void> {
  const doctor = person.doctorId ?? pick(world.doctors);
  const known = world.appointments.get(doctor) ?? [];
  let op = chooseOp();
  if (!known.length && ['read_appointment', 'status_step', 'reschedule', 'cancel'].includes(op)) op = 'book';
  switch (op) {
    case 'list_appointments': {
      const page = 1 + Math.floor(Math.random() * 5);
      const filter = person.role === 'clinician' ? '' : `&doctor_id=${doctor}`;
      await call(world, person, op, { method: 'GET', path: `/api/appointments?page=${page}&page_size=50${filter}` });
      return;
    }
    case 'search_patients': {
      const q = pick(['an', 'mar', 'son', 'li', 'el', 'jo', '555', 'MRN']);
      await call(world, person, op, { method: 'GET', path: `/api/patients?search=${q}&page_size=20` });
      return;
    }
    case 'read_appointment': {
      await call(world, person, op, { method: 'GET', path: `/api/appointments/${pick(known)}` });
      return;
    }
    case 'book': {
      const id = randomUUID();
      const body = { id, patient_id: pick(world.patients), doctor_id: doctor, starts_at: slot(), duration_minutes: 30 };
      const r = await call(world, person, op, { method: 'POST', path: '/api/appointments', body, expected: [409] });
      if (r.ok) {
        world.created.push({ id, at: Date.now() });
        world.acknowledged.push({ op, id });
        known.push(id);
      }
      return;
    }
    case 'reschedule': {
      const from = pick(known);
      const newId = randomUUID();
      const r = await call(world, person, op, {
        method: 'POST',
        path: `/api/appointments/${from}/reschedule`,
        body: { new_id: newId, starts_at: slot() },
        expected: [409],
      });
      if (r.ok) {
        world.created.push({ id: newId, at: Date.now() });
        world.acknowledged.push({ op, id: newId });
        known.push(newId);
      }
      return;
    }
    case 'cancel': {
      const id = pick(known);
      const r = await call(world, person, op, {
        method: 'POST',
        path: `/api/appointments/${id}/cancel`,
        body: { reason: 'load test' },
        expected: [409],
      });
      if (r.ok) world.acknowledged.push({ op, id });
      return;
    }
    case 'status_step': {
      const id = pick(known);
      const r = await call(world, person, op, {
        method: 'POST',
        path: `/api/appointments/${id}/status`,
        // The staff book days ahead; check-in is only open on the appointment's day (a 422 by
        // the scheduling rules), so the step a receptionist takes on such rows is confirming.
        body: { status: 'confirmed' },
        expected: [409],
      });
      if (r.ok) world.acknowledged.push({ op, id });
      return;
    }
  }
}

/** One staff member working until `until` (ms epoch). */
export async function staffLoop(world: StaffWorld, person: Person, until: number): Promise<void> {
  // Start spread over the first think time, so staff do not act in lock-step.
  await new Promise((r) => setTimeout(r, Math.random() * world.thinkMs[1]));
  while (Date.now() < until) {
    await staffAction(world, person);
    const [lo, hi] = world.thinkMs;
    await new Promise((r) => setTimeout(r, lo + Math.random() * (hi - lo)));
  }
}
