// Reads for offline edits (live queries: they re-run when the outbox changes).
import type { SqlQuery } from '../db/queries/queryable';
import type { OutboxError } from './db';
import type { AppointmentEdit } from './edit-writes';

export interface RejectedEditRow {
  id: string;
  entity_id: string;
  body: AppointmentEdit & { version: number };
  last_error: OutboxError | null;
  created_at: string;
}

/** Edits of one appointment the server refused, oldest first (the detail page resolves them). */
export function rejectedEditsQuery(appointmentId: string): SqlQuery {
  return {
    sql: `SELECT id, entity_id, body, last_error, created_at FROM outbox
           WHERE entity_id = $1 AND kind = 'update' AND state = 'rejected' ORDER BY seq`,
    params: [appointmentId],
  };
}
