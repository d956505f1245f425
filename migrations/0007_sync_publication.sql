-- The sync service streams these tables through one publication. REPLICA IDENTITY FULL puts
-- the old row in every UPDATE/DELETE, so a change that moves a row out of a shape (and
-- unchanged TOASTed columns) can be computed from the WAL alone.
ALTER TABLE doctors REPLICA IDENTITY FULL;
ALTER TABLE specializations REPLICA IDENTITY FULL;
ALTER TABLE doctor_specializations REPLICA IDENTITY FULL;
ALTER TABLE doctor_hours REPLICA IDENTITY FULL;
ALTER TABLE patients REPLICA IDENTITY FULL;
ALTER TABLE appointments REPLICA IDENTITY FULL;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'clinic_sync') THEN
    CREATE PUBLICATION clinic_sync FOR TABLE
      doctors, specializations, doctor_specializations, doctor_hours, patients, appointments;
  END IF;
END $$;
