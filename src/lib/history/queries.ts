// Reads of the stored earlier visits (local_history_appointments) for the patient page.
import type { SqlQuery } from '../db/queries/queryable';

export interface EarlierVisit {
  id: string;
  starts_at: Date;
  status: string;
  reason: string | null;
  clinical_notes: string | null;
  cancellation_reason: string | null;
  doctor_name: string | null;
  type_name: string | null;
}

export interface HistoryLoad {
  loaded_at: Date;
  loaded_count: number;
  complete: boolean;
}

/**
 * The patient's stored visits, newest first. A visit the synced window now holds is shown
 * there (with its live state), not twice.
 */
export function earlierVisitsQuery(patientId: string): SqlQuery {
  return {
    sql: `SELECT h.id, h.starts_at, h.status, h.reason, h.clinical_notes, h.cancellation_reason,
            (SELECT d.full_name FROM doctors d WHERE d.id = h.doctor_id) AS doctor_name,
            (SELECT t.name FROM appointment_types t WHERE t.id = h.type_id) AS type_name
          FROM local_history_appointments h
         WHERE h.patient_id = $1 AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = h.id)
         ORDER BY h.starts_at DESC, h.id DESC`,
    params: [patientId],
  };
}

export function historyLoadQuery(patientId: string): SqlQuery {
  return {
    sql: 'SELECT loaded_at, loaded_count, complete FROM local_history_loads WHERE patient_id = $1',
    params: [patientId],
  };
}
