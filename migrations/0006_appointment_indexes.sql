-- migrate: no-transaction
-- The old system's five partial indexes (live rows only), plus the keyset order of the lists.
-- CONCURRENTLY so that adding them to a populated database does not block bookings.
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_doctor_starts_idx
  ON appointments (doctor_id, starts_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_patient_status_idx
  ON appointments (patient_id, status) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_status_created_idx
  ON appointments (status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_urgency_starts_idx
  ON appointments (urgency, starts_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_active_id_idx
  ON appointments (id) WHERE deleted_at IS NULL AND status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress');
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_starts_id_idx
  ON appointments (starts_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS appointments_rescheduled_from_idx
  ON appointments (rescheduled_from) WHERE rescheduled_from IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_name_trgm_idx
  ON patients USING gin (full_name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_mrn_trgm_idx
  ON patients USING gin (mrn gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_phone_trgm_idx
  ON patients USING gin (phone gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_name_idx
  ON patients (full_name, id) WHERE deleted_at IS NULL;
