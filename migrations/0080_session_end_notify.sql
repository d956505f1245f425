-- Every ended session (logout, deactivation, password change, expiry) is announced on the
-- session_ended channel with its id, so the sync service ends that session's open live shape
-- requests at once (server/sync/session-ends.ts). NOTIFY is delivered at commit, so a rolled
-- back deletion announces nothing.
CREATE FUNCTION notify_session_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('session_ended', OLD.id);
  RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_notify_end
  AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION notify_session_ended();
