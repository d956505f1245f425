// Patient create and edit on the local write path: validated with the server's own schemas
// first (bad input never enters the queue), then the overlay row the UI shows at once and
// the outbox entry in one local transaction, made durable before the caller says "saved".
import { SYNCED_TABLES } from '../db/schema/tables';
import type { Queryable } from '../db/queries/queryable';
import {
  createPatientSchema,
  updatePatientSchema,
  type CreatePatientInput,
  type UpdatePatientInput,
} from '../shared/patient-schemas';
import { z } from '../shared/zod';
import type { OutboxDb } from './db';
import { commitLocalWrite, enqueue } from './enqueue';
import { LocalWriteError } from './writes';

/** The input breaks the server's rules: one message per field, for the form to show. */
export class PatientInputError extends Error {
  constructor(readonly fields: Record<string, string>) {
    super(`Please check: ${Object.keys(fields).join(', ')}.`);
    this.name = 'PatientInputError';
  }
}

const PATIENT_COLS = SYNCED_TABLES.patients.columns.join(', ');

/** The schema's message, in words a receptionist reads (a missing or blank field is "required"). */
function friendly(issue: z.core.$ZodIssue, given: unknown): string {
  if (issue.code === 'unrecognized_keys') return `Unknown field: ${issue.keys.join(', ')}.`;
  if (given === undefined || (typeof given === 'string' && given.trim() === '')) return 'Required.';
  if (issue.code === 'invalid_format' && issue.format === 'date') return 'Enter a date (YYYY-MM-DD).';
  return issue.message;
}

function parsed<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    const given = issue.path.length ? (input as Record<string, unknown>)[field] : input;
    fields[field] ??= friendly(issue, given);
  }
  throw new PatientInputError(fields);
}

/** The replica already has another live patient with this MRN: the server would refuse it. */
async function checkMrnFree(db: Queryable, mrn: string | undefined, self: string): Promise<void> {
  if (!mrn) return;
  const { rows } = await db.query('SELECT 1 FROM patients WHERE mrn = $1 AND id <> $2 LIMIT 1', [mrn, self]);
  if (rows.length) throw new PatientInputError({ mrn: 'Another patient already has this MRN.' });
}

/** Queues a new patient; returns its id (client-chosen: also the idempotency key). */
export async function createPatientLocally(db: OutboxDb, userId: string, input: unknown): Promise<string> {
  const data: CreatePatientInput = parsed(createPatientSchema, input);
  const id = data.id ?? crypto.randomUUID();
  const body = { ...data, id };
  await checkMrnFree(db, data.mrn, id);
  await commitLocalWrite(db, async (tx) => {
    // MRN stays empty when none was given: the server assigns one and sync brings it.
    await tx.query(
      `INSERT INTO patients_overlay (id, full_name, date_of_birth, mrn, phone, email, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now(), now())`,
      [id, data.full_name, data.date_of_birth, data.mrn ?? null, data.phone ?? null, data.email ?? null],
    );
    await enqueue(tx, userId, {
      kind: 'patient_create',
      key: id,
      entityId: id,
      resultId: id,
      method: 'POST',
      path: '/api/patients',
      body,
    });
  });
  return id;
}

/** The fields a PATCH may set (names from the schema: safe to use as column names). */
const EDITABLE = ['full_name', 'date_of_birth', 'mrn', 'phone', 'email'] as const;

/**
 * Queues an edit of a patient (synced, or created on this device and maybe not sent yet:
 * then the edit waits for the create). Returns false when there is nothing to change.
 */
export async function updatePatientLocally(
  db: OutboxDb,
  userId: string,
  id: string,
  changes: unknown,
): Promise<boolean> {
  const data: UpdatePatientInput = parsed(updatePatientSchema, changes);
  const fields = EDITABLE.filter((f) => data[f] !== undefined);
  if (!fields.length) return false;
  await checkMrnFree(db, data.mrn, id);
  await commitLocalWrite(db, async (tx) => {
    const { rows } = await tx.query('SELECT 1 FROM patients WHERE id = $1', [id]);
    if (!rows.length) throw new LocalWriteError('This patient is not on this device.');
    await tx.query(
      `INSERT INTO patients_overlay (${PATIENT_COLS})
       SELECT ${PATIENT_COLS} FROM patients_synced WHERE id = $1 ON CONFLICT (id) DO NOTHING`,
      [id],
    );
    const sets = fields.map((f, i) => `${f} = $${i + 2}`);
    await tx.query(`UPDATE patients_overlay SET ${sets.join(', ')}, local_updated_at = now() WHERE id = $1`, [
      id,
      ...fields.map((f) => data[f] ?? null),
    ]);
    await enqueue(tx, userId, {
      kind: 'patient_update',
      key: crypto.randomUUID(),
      entityId: id,
      resultId: null,
      method: 'PATCH',
      path: `/api/patients/${id}`,
      body: Object.fromEntries(fields.map((f) => [f, data[f] ?? null])),
    });
  });
  return true;
}

/** Form text to API input: trimmed; an empty optional field means "none". */
export function patientFormInput(form: {
  full_name: string;
  date_of_birth: string;
  mrn: string;
  phone: string;
  email: string;
}): Record<string, string | null | undefined> {
  const text = (v: string) => v.trim();
  return {
    full_name: text(form.full_name),
    date_of_birth: text(form.date_of_birth),
    mrn: text(form.mrn) || undefined,
    phone: text(form.phone) || null,
    email: text(form.email) || null,
  };
}

/** The fields of `input` that differ from the patient as shown: what an edit sends. */
export function patientChanges(
  current: {
    full_name: string;
    date_of_birth: string | null;
    mrn: string | null;
    phone: string | null;
    email: string | null;
  },
  input: Record<string, string | null | undefined>,
): Record<string, string | null> {
  const changes: Record<string, string | null> = {};
  for (const f of EDITABLE) {
    const value = input[f];
    if (value !== undefined && value !== (current[f] ?? null)) changes[f] = value;
  }
  return changes;
}
