// The state of local changes to a shown row, for lists and the schedule: 'pending' (an outbox
// entry not yet confirmed: pending_since is when the oldest was saved), 'rejected' (the server
// refused one: the row stays as the user left it until they resolve it on the Outbox page),
// 'confirmed' (the server's row replaced the local one a moment ago), or null (nothing local);
// `refused_new` marks a row that a refused booking or move created (it is not booked).
// Evaluated on the outer query, after LIMIT: a few primary-key lookups per shown row.

/** Extra select-list columns for a query whose rows are aliased `alias` and have an `id`. */
export function writeStateColumns(alias: string): string {
  const touches = `(o.entity_id = ${alias}.id OR o.result_id = ${alias}.id)`;
  return `coalesce(
      (SELECT CASE WHEN bool_or(o.state = 'rejected') THEN 'rejected' ELSE 'pending' END
         FROM outbox o WHERE ${touches} HAVING count(*) > 0),
      (SELECT 'confirmed' FROM recent_confirmations c WHERE c.entity_id = ${alias}.id)) AS write_state,
    (SELECT min(o.created_at) FROM outbox o WHERE ${touches} AND o.state <> 'rejected') AS pending_since,
    EXISTS (SELECT 1 FROM outbox o WHERE o.result_id = ${alias}.id AND o.state = 'rejected'
                AND o.kind IN ('book', 'reschedule')) AS refused_new`;
}

export type WriteState = 'pending' | 'rejected' | 'confirmed' | null;

export interface RowWrite {
  write_state: WriteState;
  pending_since: Date | string | null;
  /** The row exists only because of a booking or move the server refused: not booked. */
  refused_new?: boolean;
}
