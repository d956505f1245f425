// Series writes on the device: ONE outbox entry per series request (the server books, edits
// or cancels every occurrence in one transaction and answers the list), plus the overlay rows
// the screens show at once. The occurrences are expanded here with the server's own code
// (src/lib/shared/series.ts), and their ids are the ones the server will give them, so the
// synced rows replace the local ones row for row.
import { ACTIVE_STATUSES, canTransition, type AppointmentStatus } from '../shared/appointment-schemas';
import {
  cancelSeriesSchema,
  createSeriesSchema,
  expandSeries,
  occurrenceId,
  type CancelSeriesInput,
  type SeriesMode,
} from '../shared/series';
import type { Queryable } from '../db/queries/queryable';
import type { OutboxDb } from '../outbox/db';
import { commitLocalWrite, enqueue } from '../outbox/enqueue';
import { LocalWriteError, localConflicts, type LocalConflict } from '../outbox/writes';

export interface SeriesRequest {
  id?: string;
  patient_id: string;
  doctor_id: string;
  starts_at: string;
  duration_minutes: number;
  urgency?: 'routine' | 'urgent' | 'emergency';
  reason?: string | null;
  rrule: string;
  mode: SeriesMode;
}

export interface PlannedOccurrence {
  id: string;
  starts_at: string;
  ends_at: string;
  /** active appointments on this device that overlap (the doctor's or the patient's) */
  conflicts: LocalConflict[];
}

/** The request is invalid (the server's schema says why, naming the field). */
export class SeriesValidationError extends Error {
  constructor(
    message: string,
    readonly fields: string[],
  ) {
    super(message);
    this.name = 'SeriesValidationError';
  }
}

/** All-or-none and this device already shows a conflict for some occurrence. */
export class SeriesLocalConflictError extends Error {
  constructor(readonly occurrences: PlannedOccurrence[]) {
    super('This device shows a conflict for some occurrences of the series.');
    this.name = 'SeriesLocalConflictError';
  }
}

function validated(input: SeriesRequest) {
  const parsed = createSeriesSchema.safeParse({ ...input, id: input.id ?? crypto.randomUUID() });
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'series')))];
    throw new SeriesValidationError(`Invalid ${fields.join(', ')}: ${parsed.error.issues[0]!.message}`, fields);
  }
  return parsed.data;
}

/** The occurrences the rule gives, each with what this device knows about its slot. */
export async function planSeries(db: Queryable, input: SeriesRequest, timeZone: string): Promise<PlannedOccurrence[]> {
  const body = validated(input);
  const plan: PlannedOccurrence[] = [];
  for (const startsAt of expandSeries(body.rrule, body.starts_at, timeZone)) {
    const endsAt = new Date(new Date(startsAt).getTime() + body.duration_minutes * 60_000).toISOString();
    plan.push({
      id: occurrenceId(body.id, startsAt),
      starts_at: startsAt,
      ends_at: endsAt,
      conflicts: await localConflicts(db, {
        doctor_id: body.doctor_id,
        patient_id: body.patient_id,
        starts_at: startsAt,
        ends_at: endsAt,
      }),
    });
  }
  return plan;
}

/**
 * Queues the series request and shows its occurrences: all of them for all-or-none (unless
 * this device already sees a conflict: then nothing is written, unless forced), the locally
 * free ones for "book the free ones". Returns the series id (the request's key).
 */
export async function bookSeriesLocally(
  db: OutboxDb,
  userId: string,
  input: SeriesRequest,
  timeZone: string,
  { force = false } = {},
): Promise<{ id: string; shown: PlannedOccurrence[] }> {
  const body = validated(input);
  const plan = await planSeries(db, body, timeZone);
  if (plan.length === 0) throw new SeriesValidationError('Invalid rrule: the rule gives no occurrence', ['rrule']);
  const clashing = plan.filter((o) => o.conflicts.length > 0);
  if (body.mode === 'all_or_none' && clashing.length > 0 && !force) throw new SeriesLocalConflictError(plan);
  const shown = body.mode === 'all_or_none' ? plan : plan.filter((o) => o.conflicts.length === 0);
  if (shown.length === 0 && !force) throw new SeriesLocalConflictError(plan);
  await commitLocalWrite(db, async (tx) => {
    for (const o of shown) {
      await tx.query(
        `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status,
           urgency, reason, created_by, created_at, updated_at, version, series_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8, $9, now(), now(), 1, $10)`,
        [
          o.id,
          body.patient_id,
          body.doctor_id,
          o.starts_at,
          o.ends_at,
          body.duration_minutes,
          body.urgency,
          body.reason ?? null,
          userId,
          body.id,
        ],
      );
    }
    await enqueue(tx, userId, {
      kind: 'series_book',
      key: body.id,
      entityId: body.id,
      resultId: body.id,
      method: 'POST',
      path: '/api/series',
      body: { ...body, reason: body.reason ?? null },
      needs: [body.patient_id],
    });
  });
  return { id: body.id, shown };
}

interface LocalOccurrence {
  id: string;
  starts_at: Date;
  status: AppointmentStatus;
}

/** The series' occurrences on this device that the scope names (the server's rule). */
async function scopedLocally(db: Queryable, seriesId: string, input: CancelSeriesInput): Promise<LocalOccurrence[]> {
  const { rows } = await db.query<LocalOccurrence>(
    'SELECT id, starts_at, status FROM appointments WHERE series_id = $1 ORDER BY starts_at, id',
    [seriesId],
  );
  if (input.scope === 'all') return rows.filter((r) => new Date(r.starts_at).getTime() >= Date.now());
  const anchor = rows.find((r) => r.id === input.appointment_id);
  if (!anchor) throw new LocalWriteError('This appointment is not an occurrence of the series on this device.');
  if (input.scope === 'this') return [anchor];
  return rows.filter((r) => new Date(r.starts_at).getTime() >= new Date(anchor.starts_at).getTime());
}

/**
 * Cancels this one / this and following / the whole series: the overlay shows the
 * occurrences cancelled at once, and one entry carries the request. An occurrence that can't
 * be cancelled any more refuses "this"; the wider scopes skip it, as the server does.
 */
export async function cancelSeriesLocally(
  db: OutboxDb,
  userId: string,
  seriesId: string,
  request: CancelSeriesInput,
): Promise<string[]> {
  const parsed = cancelSeriesSchema.safeParse(request);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'scope')))];
    throw new SeriesValidationError(`Invalid ${fields.join(', ')}: ${parsed.error.issues[0]!.message}`, fields);
  }
  const input = parsed.data;
  const rows = await scopedLocally(db, seriesId, input);
  const cancellable = rows.filter((r) => canTransition(r.status, 'cancelled'));
  if (input.scope === 'this' && cancellable.length === 0) {
    throw new LocalWriteError(`An appointment that is ${rows[0]!.status} cannot become cancelled.`);
  }
  if (cancellable.length === 0) throw new LocalWriteError('No occurrence of the series can be cancelled.');
  const key = crypto.randomUUID();
  await commitLocalWrite(db, async (tx) => {
    for (const r of cancellable) {
      await tx.query('SELECT local_overlay_copy($1)', [r.id]);
      await tx.query(
        `UPDATE appointments_overlay SET status = 'cancelled', version = version + 1, local_updated_at = now(),
           cancelled_at = now(), cancelled_by = $2, cancellation_reason = $3
          WHERE id = $1 AND status = ANY($4)`,
        [r.id, userId, input.reason ?? null, [...ACTIVE_STATUSES]],
      );
    }
    await enqueue(tx, userId, {
      kind: 'series_cancel',
      key,
      entityId: input.appointment_id ?? cancellable[0]!.id,
      resultId: seriesId,
      method: 'POST',
      path: `/api/series/${seriesId}/cancel`,
      body: { ...input, reason: input.reason ?? null },
      needs: cancellable.map((r) => r.id),
    });
  });
  return cancellable.map((r) => r.id);
}
