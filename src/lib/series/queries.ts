// Series reads from the local replica.
import type { SqlQuery } from '../db/queries/queryable';

export interface SeriesOccurrence {
  id: string;
  series_id: string;
  starts_at: Date;
  status: string;
  pending: boolean;
}

/** Every occurrence of the series the appointment belongs to (none if it belongs to none). */
export function seriesOfAppointmentQuery(appointmentId: string): SqlQuery {
  return {
    sql: `SELECT a.id, a.series_id, a.starts_at, a.status, a.pending FROM appointments a
           WHERE a.series_id = (SELECT series_id FROM appointments WHERE id = $1)
           ORDER BY a.starts_at, a.id`,
    params: [appointmentId],
  };
}
