// Reads of the outbox for the UI (live queries: they re-run when the outbox changes).
import type { SqlQuery } from '../db/queries/queryable';

export interface OutboxCounts {
  pending: number;
  rejected: number;
}

/** Header counter: writes not yet confirmed (pending, sending, accepted) and rejected ones. */
export function outboxCountsQuery(): SqlQuery {
  return {
    sql: `SELECT count(*) FILTER (WHERE state <> 'rejected')::int AS pending,
                 count(*) FILTER (WHERE state = 'rejected')::int AS rejected FROM outbox`,
    params: [],
  };
}

export interface OutboxListRow {
  id: string;
  kind: string;
  state: string;
  entity_id: string;
  result_id: string | null;
  body: Record<string, unknown>;
  attempts: number;
  last_error: { status: number | null; code: string; message: string; details?: unknown } | null;
  created_at: string;
  next_attempt_at: string;
  patient_name: string | null;
  doctor_name: string | null;
  starts_at: string | null;
  doctor_id: string | null;
  patient_id: string | null;
  duration_minutes: number | null;
}

export function outboxListQuery(): SqlQuery {
  return {
    sql: `SELECT o.id, o.kind, o.state, o.entity_id, o.result_id, o.body, o.attempts, o.last_error,
                 o.created_at, o.next_attempt_at, a.starts_at, a.doctor_id, a.patient_id, a.duration_minutes,
                 (SELECT full_name FROM patients p WHERE p.id = coalesce(a.patient_id,
                    CASE WHEN o.kind IN ('patient_create', 'patient_update') THEN o.entity_id END)) AS patient_name,
                 (SELECT full_name FROM doctors d WHERE d.id = a.doctor_id) AS doctor_name
            FROM outbox o
            LEFT JOIN appointments a ON a.id = coalesce(o.result_id, o.entity_id)
           ORDER BY o.seq`,
    params: [],
  };
}

export interface RowWriteState {
  state: string;
  created_at: string;
  last_error: OutboxListRow['last_error'];
  id: string;
}

/** The latest outbox entry touching one appointment (detail page: pending / rejected). */
export function rowWriteStateQuery(appointmentId: string): SqlQuery {
  return {
    sql: `SELECT id, state, created_at, last_error FROM outbox
           WHERE entity_id = $1 OR result_id = $2 ORDER BY (state = 'rejected') DESC, seq DESC LIMIT 1`,
    params: [appointmentId, appointmentId],
  };
}

export interface RefusedSlotWriteRow {
  id: string;
  kind: 'book' | 'reschedule';
  entity_id: string;
  body: Record<string, unknown>;
  last_error: OutboxListRow['last_error'];
}

/**
 * The refused booking or reschedule that made this appointment row (its `result_id`): the
 * row exists only on this device, so the page shows it as refused, not as booked.
 */
export function refusedSlotWriteQuery(appointmentId: string): SqlQuery {
  return {
    sql: `SELECT id, kind, entity_id, body, last_error FROM outbox
           WHERE result_id = $1 AND state = 'rejected' AND kind IN ('book', 'reschedule') ORDER BY seq DESC LIMIT 1`,
    params: [appointmentId],
  };
}
