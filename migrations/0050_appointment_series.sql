-- Recurring series: one row per booking request made from a recurrence rule. Its occurrences
-- are ordinary appointments that carry the series' id.
CREATE TABLE appointment_series (
  id uuid PRIMARY KEY, -- chosen by the client: it is also the request's idempotency key
  patient_id uuid NOT NULL REFERENCES patients (id),
  doctor_id uuid NOT NULL REFERENCES doctors (id),
  rrule text NOT NULL CHECK (length(rrule) <= 500),
  first_starts_at timestamptz NOT NULL,
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE appointments ADD COLUMN series_id uuid REFERENCES appointment_series (id);
CREATE INDEX appointments_series_starts_idx ON appointments (series_id, starts_at) WHERE series_id IS NOT NULL;

-- A rescheduled occurrence stays in its series, whichever path moved it.
CREATE FUNCTION appointments_keep_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.series_id IS NULL AND NEW.rescheduled_from IS NOT NULL THEN
    SELECT series_id INTO NEW.series_id FROM appointments WHERE id = NEW.rescheduled_from;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER appointments_keep_series BEFORE INSERT ON appointments
  FOR EACH ROW EXECUTE FUNCTION appointments_keep_series();
