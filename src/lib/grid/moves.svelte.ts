// Moves made from the schedule grid in this tab: when the server refuses one (the time was
// taken meanwhile), the grid puts the appointment back (discards the refused write) and offers
// the server's suggested times in place. Other refused writes stay on the Outbox page.
import type { SqlQuery } from '../db/queries/queryable';

class GridMoves {
  /** New appointment ids of moves sent from the grid, not yet settled. */
  tracked = $state<string[]>([]);

  track(newId: string): void {
    this.tracked = [...this.tracked, newId];
  }

  forget(newId: string): void {
    this.tracked = this.tracked.filter((id) => id !== newId);
  }
}

export const gridMoves = new GridMoves();

export interface RefusedMoveRow {
  id: string;
  entity_id: string;
  result_id: string;
  body: { starts_at: string; duration_minutes: number; doctor_id?: string | null };
  last_error: { code: string; message: string; details?: { suggestions?: { starts_at: string; ends_at: string }[] } };
}

/** Refused reschedules among the grid's own moves (a live query: it re-runs on outbox changes). */
export function refusedMovesQuery(ids: string[]): SqlQuery | null {
  if (!ids.length) return null;
  return {
    sql: `SELECT id, entity_id, result_id, body, last_error FROM outbox
           WHERE kind = 'reschedule' AND state = 'rejected' AND result_id = ANY($1::uuid[])`,
    params: [ids],
  };
}
