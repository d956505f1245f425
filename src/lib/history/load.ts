// Loads one page of a patient's visits before the appointment window from the server (a
// subset snapshot of the appointments shape through the official client's fetchSnapshot)
// into local_history_appointments, for reading offline later. The server keeps the role's
// scope: a clinician gets only their doctor's visits, a receptionist no clinical notes.
import type { Queryable } from '../db/queries/queryable';
import { HISTORY_COLUMNS } from './local-schema';
import { afterPage, historyRow, historySubset, HISTORY_PAGE_SIZE, staleSpan } from './plan';

/** The database calls used here: PGlite in Node tests, PGliteWorker in the browser. */
export interface HistoryDb extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

export interface HistoryPage {
  rows: number;
  complete: boolean;
}

/** Fetches the subset (POST: the patient id stays out of URLs and request logs). */
export async function fetchHistoryPage(
  shapeUrl: string,
  patientId: string,
  offset: number,
  timeZone: string,
  now = new Date(),
  fetchClient?: typeof fetch,
): Promise<Record<string, unknown>[]> {
  // Loaded when first needed: the schedule and lists never pay for the client library.
  const { ShapeStream } = await import('@electric-sql/client');
  // Never subscribed: it only carries the shape (the role's appointments) for the subset.
  const stream = new ShapeStream<Record<string, unknown>>({
    url: shapeUrl,
    params: { table: 'appointments' },
    log: 'changes_only',
    // A clinician waits on this: a few quick retries, then an answer (the library's default
    // retries forever, right for a stream, not for a button).
    backoffOptions: { initialDelay: 300, maxDelay: 1_500, multiplier: 2, maxRetries: 2 },
    ...(fetchClient ? { fetchClient } : {}),
  });
  const { data } = await stream.fetchSnapshot({ ...historySubset(patientId, now, timeZone, offset), method: 'POST' });
  return data.map((m) => m.value);
}

/** Stores a fetched page: upserts its rows, drops the ones it proves gone, records the load. */
export async function storeHistoryPage(
  db: HistoryDb,
  patientId: string,
  offset: number,
  values: Record<string, unknown>[],
): Promise<HistoryPage> {
  const rows = values.map(historyRow).filter((r) => r.patient_id === patientId);
  const cols = HISTORY_COLUMNS.join(', ');
  const updates = HISTORY_COLUMNS.filter((c) => c !== 'id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  const ids = rows.map((r) => r.id as string);
  const stale = staleSpan(values.length, { offset, limit: HISTORY_PAGE_SIZE });
  return db.transaction(async (tx) => {
    if (rows.length)
      await tx.query(
        `INSERT INTO local_history_appointments (${cols}, loaded_at)
         SELECT ${cols}, now() FROM json_populate_recordset(NULL::local_history_appointments, $1::json)
         ON CONFLICT (id) DO UPDATE SET ${updates}, loaded_at = now()`,
        [JSON.stringify(rows)],
      );
    if (stale)
      await tx.query(
        `WITH page AS (SELECT min(starts_at) AS oldest, max(starts_at) AS newest
                         FROM local_history_appointments WHERE id = ANY($2::uuid[]))
         DELETE FROM local_history_appointments h USING page
          WHERE h.patient_id = $1 AND NOT (h.id = ANY($2::uuid[]))
            AND (NOT $3::boolean OR h.starts_at < page.newest)
            AND (NOT $4::boolean OR h.starts_at > page.oldest)`,
        [patientId, ids, stale.belowNewest, stale.aboveOldest],
      );
    const before = await tx.query<{ loaded_count: number }>(
      'SELECT loaded_count FROM local_history_loads WHERE patient_id = $1',
      [patientId],
    );
    const next = afterPage(values.length, {
      offset,
      limit: HISTORY_PAGE_SIZE,
      loadedBefore: before.rows[0]?.loaded_count ?? 0,
    });
    await tx.query(
      `INSERT INTO local_history_loads (patient_id, loaded_at, loaded_count, complete) VALUES ($1, now(), $2, $3)
       ON CONFLICT (patient_id) DO UPDATE SET loaded_at = now(), loaded_count = $2, complete = $3`,
      [patientId, next.loadedCount, next.complete],
    );
    return { rows: rows.length, complete: next.complete };
  });
}
