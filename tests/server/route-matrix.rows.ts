// The route × role table walked by route-matrix.test.ts: one row per route the app serves.
// Adding a route? Add its row here: the coverage test fails until you do.
//
// Callers: anonymous, admin, receptionist, and the clinician of doctor A acting on doctor B's
// data. Each cell is the exact status the call must answer: a success code shows the route
// worked for that caller (not merely that it was not refused), so every call is valid input
// and each write gets a slot of its own.
import { randomUUID } from 'node:crypto';
import { TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';

export type Who = 'anon' | 'admin' | 'receptionist' | 'clinicianA';
export type Expect = number;
export type Expectations = Record<Who, Expect>;
export const WHO: Who[] = ['anon', 'admin', 'receptionist', 'clinicianA'];

/** Needs no session: everyone gets `status`. */
const open = (status: number): Expectations => ({
  anon: status,
  admin: status,
  receptionist: status,
  clinicianA: status,
});
/** Any signed-in user. */
const staff = (ok: number): Expectations => ({ anon: 401, admin: ok, receptionist: ok, clinicianA: ok });
const adminOnly = (ok: number): Expectations => ({ anon: 401, admin: ok, receptionist: 403, clinicianA: 403 });
const frontDesk = (ok: number): Expectations => ({ anon: 401, admin: ok, receptionist: ok, clinicianA: 403 });
/** Rows of doctor B: a clinician of doctor A must not learn they exist. */
const notTheClinicians = (ok: number): Expectations => ({ anon: 401, admin: ok, receptionist: ok, clinicianA: 404 });

/** A slot no other call of the matrix uses (bookings and reschedules must not collide). */
let nextFreeSlot = 500;
const freeSlot = () => future(nextFreeSlot++).toISOString();

export interface Ctx {
  fx: Fixture;
  patientB: string;
  appointmentB: string;
  /** A fresh appointment of doctor B (for writes that change or consume it). */
  newAppointmentB(): Promise<string>;
  newUser(): Promise<string>;
  /** A fresh recurring series of doctor B (two weekly occurrences). */
  newSeriesB(): Promise<string>;
  /** A fresh waiting waitlist entry for doctor B. */
  newWaitlistEntryB(): Promise<string>;
}
export interface Call {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}
export interface Row {
  route: string; // 'METHOD /path/:param' exactly as the app registers it
  call: (ctx: Ctx) => Call | Promise<Call>;
  expect: Expectations;
  /** Log in afresh for this call (the call ends the session). */
  freshSession?: boolean;
}

let seriesSlot = 0;
/**
 * Mondays of January 2030, one 15-minute step each within the fixture's hours: apart from
 * `future`'s, and older than appointmentB, so the newest-first lists still show it.
 */
const seriesStart = () => {
  const n = seriesSlot++;
  return new Date(Date.UTC(2030, 0, 7 + 7 * Math.floor(n / 32), 8) + (n % 32) * 15 * 60_000).toISOString();
};

export const future = (slot: number) =>
  new Date(Date.UTC(2031, 0, 6 + 7 * Math.floor(slot / 16), 8) + (slot % 16) * 30 * 60_000);

export const ROWS: Row[] = [
  // Operations and the app shell
  { route: 'GET /healthz', call: () => ({ path: '/healthz' }), expect: open(200) },
  { route: 'GET /readyz', call: () => ({ path: '/readyz' }), expect: open(200) },
  { route: 'GET /app-config.json', call: () => ({ path: '/app-config.json' }), expect: open(200) },
  { route: 'GET /metrics', call: () => ({ path: '/metrics' }), expect: adminOnly(200) },
  { route: 'GET /api/openapi.json', call: () => ({ path: '/api/openapi.json' }), expect: staff(200) },

  // Auth
  {
    route: 'POST /api/auth/login',
    call: ({ fx }) => ({
      path: '/api/auth/login',
      body: { email: fx.users.receptionist.email, password: TEST_PASSWORD },
    }),
    expect: { anon: 200, admin: 200, receptionist: 200, clinicianA: 200 },
  },
  {
    route: 'POST /api/auth/logout',
    call: () => ({ path: '/api/auth/logout' }),
    expect: staff(204),
    freshSession: true,
  },
  {
    route: 'GET /api/auth/session',
    call: () => ({ path: '/api/auth/session' }),
    expect: { anon: 200, admin: 200, receptionist: 200, clinicianA: 200 },
  },
  {
    route: 'GET /api/auth/me',
    call: () => ({ path: '/api/auth/me' }),
    expect: staff(200),
  },
  {
    // A wrong current password: 422 shows the route ran for the caller without changing anything.
    route: 'POST /api/auth/password',
    call: () => ({
      path: '/api/auth/password',
      body: { current_password: 'not the password', new_password: 'irrelevant here' },
    }),
    expect: { anon: 401, admin: 422, receptionist: 422, clinicianA: 422 },
  },

  // Users (admin)
  { route: 'GET /api/users', call: () => ({ path: '/api/users' }), expect: adminOnly(200) },
  {
    route: 'POST /api/users',
    call: () => ({
      path: '/api/users',
      body: {
        email: `m${randomUUID().slice(0, 8)}@test.clinic`,
        full_name: 'Matrix',
        role: 'receptionist',
        password: 'long enough password',
      },
    }),
    expect: adminOnly(201),
  },
  {
    route: 'GET /api/users/:id',
    call: ({ fx }) => ({ path: `/api/users/${fx.users.clinicianB.id}` }),
    expect: adminOnly(200),
  },
  {
    route: 'PATCH /api/users/:id',
    call: async (ctx) => ({ path: `/api/users/${await ctx.newUser()}`, body: { full_name: 'Renamed' } }),
    expect: adminOnly(200),
  },

  // Doctors
  { route: 'GET /api/doctors', call: () => ({ path: '/api/doctors' }), expect: staff(200) },
  { route: 'GET /api/doctors/:id', call: ({ fx }) => ({ path: `/api/doctors/${fx.doctorB}` }), expect: staff(200) },
  {
    route: 'GET /api/doctors/:id/availability',
    call: ({ fx }) => ({ path: `/api/doctors/${fx.doctorB}/availability?date=2031-01-06&duration=30` }),
    expect: staff(200),
  },
  {
    route: 'POST /api/doctors',
    call: () => ({ path: '/api/doctors', body: { full_name: 'Dr. Matrix' } }),
    expect: adminOnly(201),
  },
  {
    route: 'PATCH /api/doctors/:id',
    call: ({ fx }) => ({ path: `/api/doctors/${fx.doctorB}`, body: { full_name: 'Dr. Bob Baker' } }),
    expect: adminOnly(200),
  },

  // Appointment types
  { route: 'GET /api/appointment-types', call: () => ({ path: '/api/appointment-types' }), expect: staff(200) },
  {
    route: 'POST /api/appointment-types',
    call: () => ({
      path: '/api/appointment-types',
      body: { name: `Matrix ${randomUUID()}`, default_duration_minutes: 20 },
      headers: { 'idempotency-key': randomUUID() },
    }),
    expect: adminOnly(201),
  },
  {
    // No such type: the admin passes the role check and gets the route's own 404.
    route: 'PATCH /api/appointment-types/:id',
    call: () => ({ path: `/api/appointment-types/${randomUUID()}`, body: { colour: '#112233' } }),
    expect: { anon: 401, admin: 404, receptionist: 403, clinicianA: 403 },
  },

  // Patients
  { route: 'GET /api/patients', call: () => ({ path: '/api/patients' }), expect: staff(200) },
  {
    route: 'GET /api/patients/:id',
    call: ({ patientB }) => ({ path: `/api/patients/${patientB}` }),
    expect: notTheClinicians(200),
  },
  {
    route: 'POST /api/patients',
    call: () => ({ path: '/api/patients', body: { full_name: 'Matrix Patient', date_of_birth: '1990-05-05' } }),
    expect: frontDesk(201),
  },
  {
    route: 'PATCH /api/patients/:id',
    call: ({ patientB }) => ({ path: `/api/patients/${patientB}`, body: { phone: '+1 555 0100' } }),
    expect: frontDesk(200),
  },
  {
    route: 'GET /api/patients/:id/contact-preferences',
    call: ({ patientB }) => ({ path: `/api/patients/${patientB}/contact-preferences` }),
    expect: notTheClinicians(200),
  },
  {
    route: 'PUT /api/patients/:id/contact-preferences',
    call: ({ patientB }) => ({
      path: `/api/patients/${patientB}/contact-preferences`,
      body: { email_opt_out: false, sms_opt_out: true },
    }),
    expect: frontDesk(200),
  },

  // Appointments: every row is doctor B's
  { route: 'GET /api/appointments', call: () => ({ path: '/api/appointments' }), expect: staff(200) },
  {
    route: 'GET /api/appointments/:id',
    call: ({ appointmentB }) => ({ path: `/api/appointments/${appointmentB}` }),
    expect: notTheClinicians(200),
  },
  {
    route: 'POST /api/appointments',
    call: ({ fx, patientB }) => ({
      path: '/api/appointments',
      body: {
        id: randomUUID(),
        patient_id: patientB,
        doctor_id: fx.doctorB,
        starts_at: freeSlot(),
        duration_minutes: 30,
        urgency: 'routine',
      },
    }),
    expect: frontDesk(201),
  },
  {
    route: 'POST /api/appointments/:id/reschedule',
    call: async (ctx) => ({
      path: `/api/appointments/${await ctx.newAppointmentB()}/reschedule`,
      body: { new_id: randomUUID(), starts_at: freeSlot() },
    }),
    expect: notTheClinicians(201),
  },
  {
    route: 'POST /api/appointments/:id/cancel',
    call: async (ctx) => ({
      path: `/api/appointments/${await ctx.newAppointmentB()}/cancel`,
      body: { reason: 'matrix' },
    }),
    expect: notTheClinicians(200),
  },
  {
    route: 'POST /api/appointments/:id/status',
    call: async (ctx) => ({
      path: `/api/appointments/${await ctx.newAppointmentB()}/status`,
      body: { status: 'confirmed' },
    }),
    expect: notTheClinicians(200),
  },
  {
    route: 'PATCH /api/appointments/:id',
    call: async (ctx) => ({
      path: `/api/appointments/${await ctx.newAppointmentB()}`,
      body: { reason: 'matrix', version: 1 },
    }),
    expect: notTheClinicians(200),
  },
  {
    route: 'DELETE /api/appointments/:id',
    call: async (ctx) => ({ path: `/api/appointments/${await ctx.newAppointmentB()}` }),
    expect: adminOnly(204),
  },

  // Devices, admin
  {
    route: 'POST /api/devices/heartbeat',
    call: () => ({
      path: '/api/devices/heartbeat',
      body: {
        device_id: randomUUID(),
        app_version: '0.1.0',
        online: true,
        outbox_pending: 0,
        outbox_rejected: 0,
        last_synced_at: null,
      },
    }),
    expect: staff(204),
  },
  { route: 'GET /api/admin/audit', call: () => ({ path: '/api/admin/audit' }), expect: adminOnly(200) },
  {
    route: 'GET /api/admin/audit/verify',
    call: () => ({ path: '/api/admin/audit/verify' }),
    expect: adminOnly(200),
  },
  { route: 'GET /api/admin/sync', call: () => ({ path: '/api/admin/sync' }), expect: adminOnly(200) },
  // Reminders
  {
    route: 'GET /api/reminders/unsubscribe',
    call: () => ({ path: '/api/reminders/unsubscribe?token=x.y' }),
    expect: open(400),
  },
  {
    route: 'POST /api/reminders/unsubscribe',
    call: () => ({ path: '/api/reminders/unsubscribe', body: { token: 'x.y' } }),
    expect: open(400),
  },
  {
    route: 'GET /api/reminders',
    call: ({ appointmentB }) => ({ path: `/api/reminders?appointment_id=${appointmentB}` }),
    expect: notTheClinicians(200),
  },
  {
    route: 'GET /api/admin/reminders/policy',
    call: () => ({ path: '/api/admin/reminders/policy' }),
    expect: adminOnly(200),
  },
  {
    route: 'PUT /api/admin/reminders/policy',
    call: () => ({
      path: '/api/admin/reminders/policy',
      body: {
        rules: [{ channel: 'email', minutes_before: 2880 }],
        quiet_start: '21:00',
        quiet_end: '08:00',
        clinic_name: 'Test clinic',
        clinic_address: '',
        how_to_cancel: 'Call us.',
        email_subject: 'Reminder',
        email_body: 'See you on {date} at {time}.',
        sms_body: 'See you on {date} at {time}.',
      },
    }),
    expect: adminOnly(200),
  },
  {
    route: 'GET /api/admin/reminders/messages',
    call: () => ({ path: '/api/admin/reminders/messages?status=failed' }),
    expect: adminOnly(200),
  },
  {
    route: 'POST /api/admin/reminders/messages/:id/resend',
    call: () => ({ path: `/api/admin/reminders/messages/${randomUUID()}/resend` }),
    expect: adminOnly(404),
  },
  {
    route: 'GET /api/admin/reminders/messages/:id/outbox-file',
    call: () => ({ path: `/api/admin/reminders/messages/${randomUUID()}/outbox-file` }),
    expect: adminOnly(404),
  },

  // Recurring series and the waitlist
  {
    route: 'POST /api/series',
    call: ({ fx, patientB }) => ({
      path: '/api/series',
      body: {
        id: randomUUID(),
        patient_id: patientB,
        doctor_id: fx.doctorB,
        starts_at: seriesStart(),
        duration_minutes: 15,
        rrule: 'FREQ=WEEKLY;COUNT=2',
      },
    }),
    expect: frontDesk(201),
  },
  {
    route: 'GET /api/series/:id',
    call: async (ctx) => ({ path: `/api/series/${await ctx.newSeriesB()}` }),
    expect: notTheClinicians(200),
  },
  {
    route: 'POST /api/series/:id/cancel',
    call: async (ctx) => ({ path: `/api/series/${await ctx.newSeriesB()}/cancel`, body: { scope: 'all' } }),
    expect: notTheClinicians(200),
  },
  {
    route: 'POST /api/series/:id/edit',
    call: async (ctx) => ({
      path: `/api/series/${await ctx.newSeriesB()}/edit`,
      body: { scope: 'all', reason: 'matrix' },
    }),
    expect: notTheClinicians(200),
  },
  { route: 'GET /api/waitlist', call: () => ({ path: '/api/waitlist' }), expect: staff(200) },
  {
    route: 'POST /api/waitlist',
    call: ({ fx, patientB }) => ({
      path: '/api/waitlist',
      body: {
        id: randomUUID(),
        patient_id: patientB,
        doctor_id: fx.doctorB,
        earliest_date: '2036-01-07',
        latest_date: '2036-01-11',
        duration_minutes: 30,
      },
    }),
    expect: frontDesk(201),
  },
  {
    route: 'POST /api/waitlist/:id/book',
    call: async (ctx) => ({
      path: `/api/waitlist/${await ctx.newWaitlistEntryB()}/book`,
      body: { appointment_id: randomUUID(), doctor_id: ctx.fx.doctorB, starts_at: seriesStart() },
    }),
    expect: frontDesk(201),
  },
  {
    route: 'POST /api/waitlist/:id/remove',
    call: async (ctx) => ({ path: `/api/waitlist/${await ctx.newWaitlistEntryB()}/remove`, body: {} }),
    expect: frontDesk(200),
  },

  // Sync (the server runs the replication service: real shape answers)
  { route: 'OPTIONS /v1/shape', call: () => ({ path: '/v1/shape' }), expect: open(204) },
  { route: 'GET /v1/health', call: () => ({ path: '/v1/health' }), expect: open(200) },
  {
    route: 'GET /v1/shape',
    call: () => ({ path: '/v1/shape?table=appointments&offset=-1' }),
    expect: staff(200),
  },
  {
    route: 'POST /v1/shape',
    call: () => ({ path: '/v1/shape?table=appointments&offset=-1&log=changes_only', body: { limit: 1 } }),
    expect: staff(200),
  },
  { route: 'DELETE /v1/shape', call: () => ({ path: '/v1/shape?table=appointments' }), expect: adminOnly(202) },
];

/** Routes that only serve the built client: outside the API's role model. */
export const STATIC_ROUTES = new Set(['GET /{*splat}']);
