// The official clients, pointed at a test server with a user's session cookie.
import { Shape, ShapeStream, type Row } from '@electric-sql/client';
import { PGlite } from '@electric-sql/pglite';
import { electricSync } from '@electric-sql/pglite-sync';

export function cookieFetch(cookie: string, counter?: { requests: string[] }): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('cookie', cookie);
    counter?.requests.push(String(input instanceof Request ? input.url : input));
    return fetch(input, { ...init, headers });
  };
}

export function shapeOf(
  baseUrl: string,
  cookie: string,
  params: Record<string, string>,
  counter?: { requests: string[] },
) {
  const stream = new ShapeStream<Row>({
    url: `${baseUrl}/v1/shape`,
    params: params as never,
    fetchClient: cookieFetch(cookie, counter),
    onError: (err) => {
      console.error('shape stream error', err);
    },
  });
  return { stream, shape: new Shape(stream) };
}

export const APPOINTMENTS_DDL = `CREATE TABLE appointments (
  id uuid PRIMARY KEY, patient_id uuid, doctor_id uuid, starts_at timestamptz, ends_at timestamptz,
  duration_minutes integer, status text, urgency text, reason text, clinical_notes text,
  cancelled_by uuid, cancelled_at timestamptz, cancellation_reason text, rescheduled_from uuid,
  created_by uuid, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz, version integer,
  type_id uuid, buffer_before_minutes integer, buffer_after_minutes integer, series_id uuid)`;
export const PATIENTS_DDL = `CREATE TABLE patients (
  id uuid PRIMARY KEY, full_name text, date_of_birth date, mrn text, phone text, email text,
  created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)`;

export async function pgliteReplica(baseUrl: string, cookie: string, tables: Array<{ table: string; ddl: string }>) {
  const db = await PGlite.create({ extensions: { electric: electricSync() } });
  for (const t of tables) await db.exec(t.ddl);
  const subs: Array<{ unsubscribe(): void }> = [];
  for (const t of tables) {
    subs.push(
      await db.electric.syncShapeToTable({
        shape: { url: `${baseUrl}/v1/shape`, params: { table: t.table }, fetchClient: cookieFetch(cookie) } as never,
        table: t.table,
        primaryKey: ['id'],
        shapeKey: null,
      }),
    );
  }
  return {
    db,
    async close() {
      for (const s of subs) s.unsubscribe();
      await db.close();
    },
  };
}
