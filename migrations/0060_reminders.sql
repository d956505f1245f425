-- Reminders: the clinic's policy (one row), patients' contact preferences, and the states of
-- an outgoing message. The policy row exists from the start so `npm start` shows the flow.
CREATE TABLE reminder_policy (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- [{ "channel": "email" | "sms", "minutes_before": n }, ...]
  rules jsonb NOT NULL DEFAULT '[{"channel": "email", "minutes_before": 2880}, {"channel": "sms", "minutes_before": 180}]',
  -- Wall-clock times in the clinic's zone; no reminder goes out in [quiet_start, quiet_end).
  -- NULL in both: no quiet hours. The window may cross midnight (21:00 to 08:00).
  quiet_start time DEFAULT '21:00',
  quiet_end time DEFAULT '08:00',
  clinic_name text NOT NULL DEFAULT 'The clinic' CHECK (length(btrim(clinic_name)) BETWEEN 1 AND 200),
  clinic_address text NOT NULL DEFAULT '' CHECK (length(clinic_address) <= 500),
  how_to_cancel text NOT NULL DEFAULT 'To cancel or move your appointment, call the clinic.'
    CHECK (length(how_to_cancel) <= 500),
  email_subject text NOT NULL DEFAULT 'Reminder: your appointment on {date} at {time}'
    CHECK (length(email_subject) BETWEEN 1 AND 200),
  email_body text NOT NULL DEFAULT E'This is a reminder of your appointment at {clinic} with {doctor} on {date} at {time}.\n\nPlace: {place}\n\n{how_to_cancel}'
    CHECK (length(email_body) BETWEEN 1 AND 5000),
  sms_body text NOT NULL DEFAULT '{clinic}: appointment with {doctor} on {date} at {time}. {how_to_cancel}'
    CHECK (length(sms_body) BETWEEN 1 AND 640),
  -- Signs unsubscribe links; made by the server on first use (gen_random_bytes needs pgcrypto).
  link_key bytea CHECK (link_key IS NULL OR length(link_key) = 32),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid REFERENCES users (id),
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);
INSERT INTO reminder_policy DEFAULT VALUES;

CREATE TABLE patient_contact_preferences (
  patient_id uuid PRIMARY KEY REFERENCES patients (id) ON DELETE CASCADE,
  email_opt_out boolean NOT NULL DEFAULT false,
  sms_opt_out boolean NOT NULL DEFAULT false,
  updated_via text NOT NULL CHECK (updated_via IN ('staff', 'link')),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- pending → sending → sent | failed; pending → cancelled. A row left in `sending` by a crash
-- goes to `review`: it may or may not have gone out, so it is never re-sent blindly.
ALTER TABLE reminders DROP CONSTRAINT reminders_status_check;
ALTER TABLE reminders ADD CONSTRAINT reminders_status_check
  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'review'));
ALTER TABLE reminders
  -- reminder: per the policy; update: the time moved; cancel: the appointment was cancelled.
  ADD COLUMN kind text NOT NULL DEFAULT 'reminder' CHECK (kind IN ('reminder', 'update', 'cancel')),
  ADD COLUMN message_id text CHECK (length(message_id) <= 300),
  ADD COLUMN recipient text CHECK (length(recipient) <= 254),
  ADD COLUMN outbox_file text CHECK (length(outbox_file) <= 300),
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN sending_at timestamptz,
  ADD COLUMN sent_at timestamptz;
CREATE INDEX reminders_state_idx ON reminders (status, send_at);
