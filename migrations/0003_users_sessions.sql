CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email = btrim(email) AND email LIKE '%_@_%' AND length(email) <= 254),
  full_name text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('admin', 'receptionist', 'clinician')),
  password_hash text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  -- A clinician is tied to exactly one doctor; other roles to none.
  doctor_id uuid UNIQUE REFERENCES doctors (id),
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'clinician') = (doctor_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Lucia-style sessions: the id is the SHA-256 (hex) of the token; the token itself is never stored.
CREATE TABLE sessions (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
