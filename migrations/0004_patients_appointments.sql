CREATE TABLE patients (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  full_name text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
  date_of_birth date NOT NULL CHECK (date_of_birth BETWEEN '1900-01-01' AND '2200-01-01'),
  mrn text NOT NULL UNIQUE CHECK (mrn ~ '^[A-Za-z0-9-]{1,32}$'),
  phone text CHECK (length(phone) <= 40),
  email text CHECK (length(email) <= 254),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE appointments (
  id uuid PRIMARY KEY, -- chosen by the client: it is also the booking's idempotency key
  patient_id uuid NOT NULL REFERENCES patients (id),
  doctor_id uuid NOT NULL REFERENCES doctors (id),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN
    ('scheduled', 'confirmed', 'checked_in', 'in_progress', 'completed', 'cancelled', 'no_show', 'rescheduled')),
  urgency text NOT NULL DEFAULT 'routine' CHECK (urgency IN ('routine', 'urgent', 'emergency')),
  reason text CHECK (length(reason) <= 2000),
  clinical_notes text CHECK (length(clinical_notes) <= 20000),
  cancelled_by uuid REFERENCES users (id),
  cancelled_at timestamptz,
  cancellation_reason text CHECK (length(cancellation_reason) <= 2000),
  rescheduled_from uuid REFERENCES appointments (id),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT appointments_ends_at_matches_duration CHECK (ends_at = starts_at + make_interval(mins => duration_minutes)),
  CONSTRAINT appointments_cancel_fields CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
  -- The last line of defence against double booking: even a write that bypasses the API's
  -- lock-and-check can't make two active, live appointments of one doctor overlap...
  CONSTRAINT appointments_no_doctor_overlap EXCLUDE USING gist (
    doctor_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
  ) WHERE (status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress') AND deleted_at IS NULL),
  -- ...nor put one patient in two places at once.
  CONSTRAINT appointments_no_patient_overlap EXCLUDE USING gist (
    patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
  ) WHERE (status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress') AND deleted_at IS NULL)
);

CREATE TABLE reminders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  send_at timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error text CHECK (length(last_error) <= 2000)
);
CREATE INDEX reminders_appointment_idx ON reminders (appointment_id);
CREATE INDEX reminders_due_idx ON reminders (send_at) WHERE status = 'pending';
