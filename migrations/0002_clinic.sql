-- Doctors, their specializations and working hours. Working hours are wall-clock times in
-- the clinic's time zone (CLINIC_TIMEZONE); weekday follows ISO 8601: 1 = Monday … 7 = Sunday.
CREATE TABLE specializations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 100)
);

CREATE TABLE doctors (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  full_name text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE doctor_specializations (
  doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
  specialization_id uuid NOT NULL REFERENCES specializations (id) ON DELETE CASCADE,
  PRIMARY KEY (doctor_id, specialization_id)
);
CREATE INDEX doctor_specializations_specialization_idx ON doctor_specializations (specialization_id);

CREATE TABLE doctor_hours (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
  weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
  start_time time NOT NULL,
  end_time time NOT NULL,
  CHECK (start_time < end_time),
  -- Two blocks of one doctor on one weekday may not overlap.
  EXCLUDE USING gist (doctor_id WITH =, weekday WITH =, tsrange('2000-01-01'::date + start_time, '2000-01-01'::date + end_time) WITH &&)
);
