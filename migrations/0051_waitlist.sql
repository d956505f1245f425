-- The waitlist: patients waiting for an earlier slot. When an active, future appointment
-- stops holding its slot (cancelled, rescheduled, no-show, deleted), the trigger below adds
-- the freed slot to `offers` of every waiting entry it matches, in the same transaction, so
-- the offer reaches every device through sync with the change that freed it.
CREATE TABLE waitlist_entries (
  id uuid PRIMARY KEY, -- chosen by the client: it is also the request's idempotency key
  patient_id uuid NOT NULL REFERENCES patients (id),
  doctor_id uuid REFERENCES doctors (id),
  specialization_id uuid REFERENCES specializations (id),
  earliest_date date NOT NULL,
  latest_date date NOT NULL,
  time_of_day text NOT NULL DEFAULT 'any' CHECK (time_of_day IN ('any', 'morning', 'afternoon', 'evening')),
  urgency text NOT NULL DEFAULT 'routine' CHECK (urgency IN ('routine', 'urgent', 'emergency')),
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
  note text CHECK (length(note) <= 2000),
  -- the clinic's zone when the entry was made: dates and times of day are read in it
  time_zone text NOT NULL,
  status text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'booked', 'removed')),
  -- freed slots that match: [{doctor_id, starts_at, ends_at, freed_at}], newest last
  offers jsonb NOT NULL DEFAULT '[]',
  booked_appointment_id uuid REFERENCES appointments (id),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  CONSTRAINT waitlist_doctor_or_specialization CHECK ((doctor_id IS NULL) <> (specialization_id IS NULL)),
  CONSTRAINT waitlist_dates CHECK (earliest_date <= latest_date),
  CONSTRAINT waitlist_closed CHECK ((status = 'waiting') = (closed_at IS NULL))
);
CREATE INDEX waitlist_entries_waiting_idx ON waitlist_entries (latest_date) WHERE status = 'waiting';

-- Rank for "urgency first": emergency, urgent, routine.
CREATE FUNCTION waitlist_urgency_rank(u text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE u WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END
$$;

CREATE FUNCTION waitlist_offer_freed_slot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress') AND OLD.deleted_at IS NULL
     AND (NEW.status NOT IN ('scheduled', 'confirmed', 'checked_in', 'in_progress') OR NEW.deleted_at IS NOT NULL)
     AND OLD.starts_at > now() THEN
    UPDATE waitlist_entries e
       SET offers = (
             SELECT coalesce(jsonb_agg(o ORDER BY ord), '[]') FROM (
               SELECT o, ord FROM jsonb_array_elements(e.offers) WITH ORDINALITY AS x(o, ord)
               UNION ALL
               SELECT jsonb_build_object('doctor_id', OLD.doctor_id,
                        'starts_at', to_char(OLD.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                        'ends_at', to_char((OLD.starts_at + make_interval(mins => e.duration_minutes)) AT TIME ZONE 'UTC',
                                           'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                        'freed_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), 1000000
               -- the 20 newest offers are kept
               ORDER BY ord DESC LIMIT 20) kept),
           updated_at = now()
     WHERE e.status = 'waiting'
       AND e.patient_id <> OLD.patient_id
       AND e.duration_minutes <= OLD.duration_minutes
       AND (e.doctor_id = OLD.doctor_id OR e.specialization_id IN
             (SELECT specialization_id FROM doctor_specializations WHERE doctor_id = OLD.doctor_id))
       AND (OLD.starts_at AT TIME ZONE e.time_zone)::date BETWEEN e.earliest_date AND e.latest_date
       AND CASE e.time_of_day
             WHEN 'morning' THEN (OLD.starts_at AT TIME ZONE e.time_zone)::time < '12:00'
             WHEN 'afternoon' THEN (OLD.starts_at AT TIME ZONE e.time_zone)::time >= '12:00'
                               AND (OLD.starts_at AT TIME ZONE e.time_zone)::time < '17:00'
             WHEN 'evening' THEN (OLD.starts_at AT TIME ZONE e.time_zone)::time >= '17:00'
             ELSE true END
       AND NOT e.offers @> jsonb_build_array(jsonb_build_object('doctor_id', OLD.doctor_id,
             'starts_at', to_char(OLD.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER appointments_waitlist_offer AFTER UPDATE OF status, deleted_at ON appointments
  FOR EACH ROW EXECUTE FUNCTION waitlist_offer_freed_slot();

-- Synced to devices (the Waitlist screen reads it offline).
ALTER TABLE waitlist_entries REPLICA IDENTITY FULL;
ALTER PUBLICATION clinic_sync ADD TABLE waitlist_entries;
