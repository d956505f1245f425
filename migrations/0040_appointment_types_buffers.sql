-- Appointment types (name, default duration, colour, buffers, the doctors who offer them) and
-- the buffers they give a booking. An appointment keeps the buffers its type had when it was
-- booked, so editing a type never makes existing bookings overlap.
CREATE TABLE appointment_types (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  default_duration_minutes integer NOT NULL CHECK (default_duration_minutes BETWEEN 5 AND 480),
  colour text NOT NULL DEFAULT '#4a7bd0' CHECK (colour ~ '^#[0-9a-f]{6}$'),
  buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 120),
  buffer_after_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 120),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE appointment_type_doctors (
  type_id uuid NOT NULL REFERENCES appointment_types (id) ON DELETE CASCADE,
  doctor_id uuid NOT NULL REFERENCES doctors (id),
  PRIMARY KEY (type_id, doctor_id)
);
CREATE INDEX appointment_type_doctors_doctor_idx ON appointment_type_doctors (doctor_id);

ALTER TABLE appointments
  ADD COLUMN type_id uuid REFERENCES appointment_types (id),
  ADD COLUMN buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 120),
  ADD COLUMN buffer_after_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 120);

-- The one server-side definition of the range an appointment holds its doctor for: itself
-- plus its buffers. IMMUTABLE is true here (whole minutes never depend on the session's time
-- zone, unlike days or months), and the exclusion constraint needs it.
CREATE FUNCTION appointment_occupied(starts timestamptz, ends timestamptz, before_minutes integer, after_minutes integer)
RETURNS tstzrange LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT tstzrange(starts - make_interval(mins => before_minutes), ends + make_interval(mins => after_minutes), '[)')
$$;

-- The doctor's double-booking guard now counts buffers (existing rows have none: same rows pass).
ALTER TABLE appointments DROP CONSTRAINT appointments_no_doctor_overlap;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_doctor_overlap EXCLUDE USING gist (
  doctor_id WITH =,
  appointment_occupied(starts_at, ends_at, buffer_before_minutes, buffer_after_minutes) WITH &&
) WHERE (status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress') AND deleted_at IS NULL);

ALTER TABLE appointment_types REPLICA IDENTITY FULL;
ALTER TABLE appointment_type_doctors REPLICA IDENTITY FULL;
ALTER PUBLICATION clinic_sync ADD TABLE appointment_types, appointment_type_doctors;
