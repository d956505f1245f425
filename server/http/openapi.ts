// The OpenAPI 3.1 description of the clinic-data and appointment API, generated from the
// same zod schemas the server validates with and the client imports (z.toJSONSchema), so it
// can't drift from what the server accepts. Served behind a session like every API route:
// the contract is no secret (docs/booking.md describes it), but nothing under /api is public
// except login, and keeping that rule simple is worth more than an anonymous spec.
import { Router } from 'express';
import { z } from 'zod';
import { SESSION_COOKIE } from '../auth/cookies.js';
import { requireUser } from '../auth/middleware.js';
import * as appointments from '../../src/lib/shared/appointment-schemas.js';
import * as appointmentTypes from '../../src/lib/shared/appointment-type-schemas.js';
import * as doctors from '../../src/lib/shared/doctor-schemas.js';
import { pageSchema } from '../../src/lib/shared/pagination-schemas.js';
import * as patients from '../../src/lib/shared/patient-schemas.js';
import * as series from '../../src/lib/shared/series.js';
import * as waitlist from '../../src/lib/shared/waitlist-schemas.js';
import * as reminders from '../../src/lib/shared/reminder-schemas.js';
import { reminderPolicyOutputSchema, reminderPolicySchema } from '../reminders/policy.js';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const COMPONENTS: Record<string, { schema: z.ZodType; io: 'input' | 'output' }> = {
  Appointment: { schema: appointments.appointmentSchema, io: 'output' },
  AppointmentWriteResult: { schema: appointments.appointmentWriteResultSchema, io: 'output' },
  AppointmentPage: { schema: pageSchema(appointments.appointmentSchema), io: 'output' },
  CreateAppointment: { schema: appointments.createAppointmentSchema, io: 'input' },
  RescheduleAppointment: { schema: appointments.rescheduleAppointmentSchema, io: 'input' },
  CancelAppointment: { schema: appointments.cancelAppointmentSchema, io: 'input' },
  StatusChange: { schema: appointments.statusChangeSchema, io: 'input' },
  UpdateAppointment: { schema: appointments.updateAppointmentSchema, io: 'input' },
  ConflictDetails: { schema: appointments.conflictDetailsSchema, io: 'output' },
  AppointmentType: { schema: appointmentTypes.appointmentTypeSchema, io: 'output' },
  AppointmentTypeList: { schema: z.object({ results: z.array(appointmentTypes.appointmentTypeSchema) }), io: 'output' },
  AppointmentTypeWriteResult: {
    schema: z.object({ appointment_type: appointmentTypes.appointmentTypeSchema, txid: z.number().int() }),
    io: 'output',
  },
  CreateAppointmentType: { schema: appointmentTypes.createAppointmentTypeSchema, io: 'input' },
  UpdateAppointmentType: { schema: appointmentTypes.updateAppointmentTypeSchema, io: 'input' },
  Doctor: { schema: doctors.doctorSchema, io: 'output' },
  DoctorPage: { schema: pageSchema(doctors.doctorSchema), io: 'output' },
  CreateDoctor: { schema: doctors.createDoctorSchema, io: 'input' },
  UpdateDoctor: { schema: doctors.updateDoctorSchema, io: 'input' },
  Availability: { schema: doctors.availabilitySchema, io: 'output' },
  Patient: { schema: patients.patientSchema, io: 'output' },
  PatientPage: { schema: pageSchema(patients.patientSchema), io: 'output' },
  CreatePatient: { schema: patients.createPatientSchema, io: 'input' },
  UpdatePatient: { schema: patients.updatePatientSchema, io: 'input' },
  CreateSeries: { schema: series.createSeriesSchema, io: 'input' },
  CancelSeries: { schema: series.cancelSeriesSchema, io: 'input' },
  EditSeries: { schema: series.editSeriesSchema, io: 'input' },
  SeriesBookResult: { schema: series.seriesBookResultSchema, io: 'output' },
  SeriesChangeResult: { schema: series.seriesChangeResultSchema, io: 'output' },
  SeriesConflictDetails: { schema: series.seriesConflictDetailsSchema, io: 'output' },
  Series: {
    schema: z.object({ series: series.seriesSchema, appointments: z.array(appointments.appointmentSchema) }),
    io: 'output',
  },
  CreateWaitlistEntry: { schema: waitlist.createWaitlistEntrySchema, io: 'input' },
  BookWaitlistOffer: { schema: waitlist.bookWaitlistOfferSchema, io: 'input' },
  RemoveWaitlistEntry: { schema: waitlist.removeWaitlistEntrySchema, io: 'input' },
  WaitlistList: { schema: waitlist.waitlistListSchema, io: 'output' },
  WaitlistWriteResult: { schema: waitlist.waitlistWriteResultSchema, io: 'output' },
  WaitlistBookResult: {
    schema: z.object({
      appointment: appointments.appointmentSchema,
      entry: waitlist.waitlistEntrySchema,
      txid: z.number().int(),
    }),
    io: 'output',
  },
  AppointmentReminders: { schema: reminders.appointmentRemindersSchema, io: 'output' },
  ContactPreferencesInput: { schema: reminders.contactPreferencesInputSchema, io: 'input' },
  ContactPreferencesResult: { schema: z.object({ preferences: reminders.contactPreferencesSchema }), io: 'output' },
  OutgoingMessagePage: { schema: pageSchema(reminders.outgoingMessageSchema), io: 'output' },
  ReminderPolicy: { schema: reminderPolicySchema, io: 'input' },
  ReminderPolicyResult: { schema: z.object({ policy: reminderPolicyOutputSchema }), io: 'output' },
  Error: {
    schema: z.object({
      error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
    }),
    io: 'output',
  },
};

/** Query parameters from an object schema, one entry per key. */
function queryParameters(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(json.properties).map(([name, s]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: s,
  }));
}

const idPath = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', format: 'uuid' },
};
const jsonBody = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
const answer = (status: string, name: string | null, description: string) => ({
  [status]: name ? { description, content: { 'application/json': { schema: ref(name) } } } : { description },
});
const errors = (...statuses: string[]) =>
  Object.assign({}, ...statuses.map((s) => answer(s, 'Error', 'error body; see `error.code`')));

function op(summary: string, options: { parameters?: Json[]; body?: string; responses: Json }): Json {
  return {
    summary,
    ...(options.parameters ? { parameters: options.parameters } : {}),
    ...(options.body ? { requestBody: jsonBody(options.body) } : {}),
    responses: { ...options.responses, ...errors('401', '422') },
  };
}

function paths(): Json {
  const write = (
    summary: string,
    body: string | undefined,
    status: string,
    result: string | null,
    extra: string[] = [],
  ) =>
    op(summary, {
      parameters: [idPath, idempotencyHeader],
      body,
      responses: { ...answer(status, result, 'done'), ...errors('404', '409', ...extra) },
    });
  return {
    '/api/auth/session': {
      get: {
        summary: 'Who is signed in: {user} or {user: null} (never 401; the app probes with it on start)',
        security: [],
        responses: { '200': { description: '{user: {id, email, full_name, role, doctor_id} | null}' } },
      },
    },
    '/api/appointments': {
      get: op('List appointments (newest first)', {
        parameters: queryParameters(appointments.appointmentListQuerySchema),
        responses: answer('200', 'AppointmentPage', 'a page'),
      }),
      post: op(
        'Book (the body id is the idempotency key). 422 in_past: starts more than 5 minutes ago (an admin may ' +
          'back-fill with backfill_reason); 422 outside_working_hours; 422 type_not_offered; 409 slot_conflict ' +
          '(buffers of the appointment types count) / patient_conflict',
        {
          body: 'CreateAppointment',
          responses: { ...answer('201', 'AppointmentWriteResult', 'booked'), ...errors('403', '409') },
        },
      ),
    },
    '/api/appointments/{id}': {
      get: op('One appointment', {
        parameters: [idPath],
        responses: { ...answer('200', 'Appointment', '{appointment}'), ...errors('404') },
      }),
      patch: write(
        'Edit reason, clinical notes, urgency (version required)',
        'UpdateAppointment',
        '200',
        'AppointmentWriteResult',
        ['403'],
      ),
      delete: write('Soft delete (admin); the txid is in the X-Txid header', undefined, '204', null, ['403']),
    },
    '/api/appointments/{id}/reschedule': {
      post: op('Reschedule into a new appointment (new_id is the idempotency key); 422 in_past as for booking', {
        parameters: [idPath],
        body: 'RescheduleAppointment',
        responses: { ...answer('201', 'AppointmentWriteResult', 'rescheduled'), ...errors('403', '404', '409') },
      }),
    },
    '/api/appointments/{id}/cancel': {
      post: write(
        'Cancel; a reason is required (stored as cancellation_reason)',
        'CancelAppointment',
        '200',
        'AppointmentWriteResult',
      ),
    },
    '/api/appointments/{id}/status': {
      post: write(
        'Change status (state machine, docs/booking.md). 422 not_appointment_day: check-in, start or a revert ' +
          '(checked_in/no_show → scheduled) outside the clinic day; 422 check_in_too_early: before the check-in ' +
          'window (CHECK_IN_EARLY_MINUTES); 422 not_started: no-show before the start',
        'StatusChange',
        '200',
        'AppointmentWriteResult',
      ),
    },
    '/api/appointment-types': {
      get: op('All appointment types (any role)', {
        responses: answer('200', 'AppointmentTypeList', '{results}'),
      }),
      post: op('Create an appointment type (admin)', {
        body: 'CreateAppointmentType',
        responses: { ...answer('201', 'AppointmentTypeWriteResult', 'created'), ...errors('403', '409') },
      }),
    },
    '/api/appointment-types/{id}': {
      patch: write('Edit an appointment type (admin)', 'UpdateAppointmentType', '200', 'AppointmentTypeWriteResult', [
        '403',
      ]),
    },
    '/api/doctors': {
      get: op('List doctors', {
        parameters: queryParameters(doctors.doctorListQuerySchema),
        responses: answer('200', 'DoctorPage', 'a page'),
      }),
      post: op('Create a doctor (admin)', {
        body: 'CreateDoctor',
        responses: { ...answer('201', null, '{doctor, txid}'), ...errors('403', '409') },
      }),
    },
    '/api/doctors/{id}': {
      get: op('One doctor', {
        parameters: [idPath],
        responses: { ...answer('200', null, '{doctor}'), ...errors('404') },
      }),
      patch: write('Edit a doctor (admin)', 'UpdateDoctor', '200', null, ['403']),
    },
    '/api/doctors/{id}/availability': {
      get: op('Free slots of a clinic day', {
        parameters: [idPath, ...queryParameters(doctors.availabilityQuerySchema)],
        responses: { ...answer('200', 'Availability', 'free slots'), ...errors('404') },
      }),
    },
    '/api/patients': {
      get: op('List / search patients', {
        parameters: queryParameters(patients.patientListQuerySchema),
        responses: answer('200', 'PatientPage', 'a page'),
      }),
      post: op('Create a patient', {
        body: 'CreatePatient',
        responses: { ...answer('201', null, '{patient, txid}'), ...errors('403', '409') },
      }),
    },
    '/api/patients/{id}': {
      get: op('One patient', {
        parameters: [idPath],
        responses: { ...answer('200', null, '{patient}'), ...errors('404') },
      }),
      patch: write('Edit a patient', 'UpdatePatient', '200', null, ['403']),
    },
    '/api/patients/{id}/contact-preferences': {
      get: op("A patient's reminder channels (staff; clinicians for their doctor's patients)", {
        parameters: [idPath],
        responses: { ...answer('200', 'ContactPreferencesResult', '{preferences}'), ...errors('404') },
      }),
      put: op(
        'Set the reminder channels (reception, admin): turning one off stops its pending reminders, turning it on plans them',
        {
          parameters: [idPath],
          body: 'ContactPreferencesInput',
          responses: { ...answer('200', 'ContactPreferencesResult', '{preferences}'), ...errors('403', '404') },
        },
      ),
    },
    '/api/series': {
      post: op(
        'Book a recurring series from an RRULE (the body id is the series id and the idempotency key). 409 series_conflict (details: SeriesConflictDetails) when all-or-none meets a refused occurrence or nothing is free',
        {
          body: 'CreateSeries',
          responses: {
            ...answer('201', 'SeriesBookResult', 'each occurrence booked or refused'),
            ...errors('403', '409'),
          },
        },
      ),
    },
    '/api/series/{id}': {
      get: op('A series and its occurrences', {
        parameters: [idPath],
        responses: { ...answer('200', 'Series', '{series, appointments}'), ...errors('404') },
      }),
    },
    '/api/series/{id}/cancel': {
      post: write(
        'Cancel this one, this and following, or the whole series',
        'CancelSeries',
        '200',
        'SeriesChangeResult',
      ),
    },
    '/api/series/{id}/edit': {
      post: write(
        'Edit reason, urgency, start time or length of this one, this and following, or the whole series (all or none)',
        'EditSeries',
        '200',
        'SeriesChangeResult',
      ),
    },
    '/api/waitlist': {
      get: op('Waiting entries with their current offers (urgency first, then oldest)', {
        responses: answer('200', 'WaitlistList', '{entries}'),
      }),
      post: op('Add a patient to the waitlist (admin, receptionist; the body id is the idempotency key)', {
        body: 'CreateWaitlistEntry',
        responses: { ...answer('201', 'WaitlistWriteResult', 'added'), ...errors('403', '409') },
      }),
    },
    '/api/waitlist/{id}/book': {
      post: op("Book a slot for the entry's patient and close the entry (appointment_id is the idempotency key)", {
        parameters: [idPath],
        body: 'BookWaitlistOffer',
        responses: { ...answer('201', 'WaitlistBookResult', 'booked'), ...errors('403', '404', '409') },
      }),
    },
    '/api/waitlist/{id}/remove': {
      post: write('Remove an entry (admin, receptionist)', 'RemoveWaitlistEntry', '200', 'WaitlistWriteResult', [
        '403',
      ]),
    },
    '/api/reminders': {
      get: op("An appointment's reminders and their states (docs/reminders.md)", {
        parameters: queryParameters(reminders.appointmentRemindersQuerySchema),
        responses: { ...answer('200', 'AppointmentReminders', '{reminders}'), ...errors('404') },
      }),
    },
    '/api/reminders/unsubscribe': {
      get: {
        summary: 'Opt-out page for a signed link (no session); its form POSTs here',
        security: [],
        parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'HTML page' }, '400': { description: 'HTML page: link not valid' } },
      },
      post: {
        summary: 'Opt out (form field `token`; no session)',
        security: [],
        responses: { '200': { description: 'HTML page' }, '400': { description: 'HTML page: link not valid' } },
      },
    },
    '/api/admin/reminders/policy': {
      get: op('The reminder policy (admin)', {
        responses: { ...answer('200', 'ReminderPolicyResult', '{policy}'), ...errors('403') },
      }),
      put: op('Replace the reminder policy (admin)', {
        body: 'ReminderPolicy',
        responses: { ...answer('200', 'ReminderPolicyResult', '{policy}'), ...errors('403') },
      }),
    },
    '/api/admin/reminders/messages': {
      get: op('Outgoing messages, newest first (admin)', {
        parameters: queryParameters(reminders.outgoingListQuerySchema),
        responses: { ...answer('200', 'OutgoingMessagePage', 'a page'), ...errors('403') },
      }),
    },
    '/api/admin/reminders/messages/{id}/resend': {
      post: op('Resend a failed message or one in review (admin); keeps its Message-ID', {
        parameters: [idPath],
        responses: { ...answer('200', null, '{reminder}'), ...errors('403', '404', '409') },
      }),
    },
    '/api/admin/reminders/messages/{id}/outbox-file': {
      get: op('The .eml / .json written for a message when no provider is set (admin)', {
        parameters: [idPath],
        responses: { '200': { description: 'message/rfc822 or application/json' }, ...errors('403', '404') },
      }),
    },
  };
}

let cached: Json | undefined;
export function openApiDocument(): Json {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Clinic appointments API',
      version: '1',
      description: 'Clinic data and appointments; see docs/booking.md.',
    },
    servers: [{ url: '/' }],
    components: {
      schemas: Object.fromEntries(
        Object.entries(COMPONENTS).map(([name, c]) => [
          name,
          z.toJSONSchema(c.schema, { io: c.io, unrepresentable: 'any', target: 'draft-2020-12' }),
        ]),
      ),
      securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } },
    },
    security: [{ session: [] }],
    paths: paths(),
  };
  return cached;
}

export function createOpenApiRouter(): Router {
  const router = Router();
  router.get('/openapi.json', requireUser, (_req, res) => {
    res.json(openApiDocument());
  });
  return router;
}
