// Pure parts of loading a patient's earlier visits: the subset request for a page, the row as
// stored locally, and which stored rows a page proves gone. No I/O, unit-tested.
import { appointmentWindowStart } from '../shared/appointment-window';
import { HISTORY_COLUMNS } from './local-schema';

export const HISTORY_PAGE_SIZE = 50;

/** What `ShapeStream.fetchSnapshot` sends: the patient's rows before the window, newest first. */
export interface HistorySubset {
  where: string;
  params: Record<string, string>;
  orderBy: string;
  limit: number;
  offset: number;
}

/**
 * The subset for one page. Before the device's window only: the visits inside it are synced
 * already. Ordered by (starts_at, id) so pages never overlap or skip a row at equal times.
 */
export function historySubset(patientId: string, now: Date, timeZone: string, offset: number): HistorySubset {
  return {
    where: 'patient_id = $1 AND starts_at < $2',
    params: { '1': patientId, '2': appointmentWindowStart(now, timeZone) },
    orderBy: 'starts_at DESC, id DESC',
    limit: HISTORY_PAGE_SIZE,
    offset,
  };
}

export type HistoryRow = Record<(typeof HISTORY_COLUMNS)[number], unknown>;

/**
 * The local row from a snapshot row: the local table's columns only, NULL for those the role
 * may not see (a receptionist's rows carry no clinical_notes).
 */
export function historyRow(value: Record<string, unknown>): HistoryRow {
  return Object.fromEntries(HISTORY_COLUMNS.map((c) => [c, value[c] ?? null])) as HistoryRow;
}

/**
 * Which stored rows of the patient a page shows the server no longer has (soft-deleted, moved
 * to another patient or doctor): those not in the page whose start lies inside the span the
 * page covers. The first page covers everything up to the window (no upper bound), the last
 * one (shorter than the limit) everything before its oldest row (no lower bound); otherwise
 * the bounds are the page's own oldest and newest starts, exclusive (rows at an edge time may
 * belong to the next page). An empty first page means no history at all; an empty later page
 * proves nothing (`null`). The bounds are compared in SQL: snapshot times are PostgreSQL text,
 * which not every browser's Date parses.
 */
export function staleSpan(
  pageLength: number,
  { offset, limit }: { offset: number; limit: number },
): { belowNewest: boolean; aboveOldest: boolean } | null {
  const first = offset === 0;
  if (!pageLength) return first ? { belowNewest: false, aboveOldest: false } : null;
  return { belowNewest: !first, aboveOldest: pageLength >= limit };
}

/** The next page's offset and whether the history is complete, after a page at `offset`. */
export function afterPage(
  pageLength: number,
  { offset, limit, loadedBefore }: { offset: number; limit: number; loadedBefore: number },
): { loadedCount: number; complete: boolean } {
  const reached = offset + pageLength;
  const complete = pageLength < limit;
  // A refreshed first page keeps the pages loaded after it (the next "load more" goes on from
  // there); the last page ends the history where it ends.
  return { loadedCount: complete ? reached : Math.max(reached, loadedBefore), complete };
}

/** fetch() rejects with a TypeError when no answer came at all (offline, server unreachable). */
export function isNoConnection(err: unknown): boolean {
  return err instanceof TypeError || (err as { name?: unknown } | null)?.name === 'TypeError';
}

/** What the user reads when a load fails (the library's FetchError carries the status). */
export function historyErrorMessage(err: unknown): string {
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 401) return 'Your session has ended: log in again to load earlier visits.';
  if (status === 403) return 'You may not load earlier visits.';
  if (typeof status === 'number' && status >= 500) return 'The server could not load earlier visits; try again.';
  if (typeof status === 'number') return `Earlier visits could not be loaded (error ${status}).`;
  if (isNoConnection(err)) return 'No connection to the server: earlier visits could not be loaded.';
  return 'Earlier visits could not be loaded; try again.';
}
