// Why the server refused a change, in words a receptionist reads at a glance. The server's
// error codes (slot_conflict, …) stay in data attributes for support, never in the text.
import type { OutboxError } from './outbox/db';

const REASONS: Record<string, string> = {
  slot_conflict: 'The doctor already has another appointment at that time.',
  patient_conflict: 'The patient already has another appointment at that time.',
  outside_working_hours: "That time is outside the doctor's working hours.",
  version_conflict: 'Someone else edited this appointment first.',
  dependency_rejected: 'An earlier change this one builds on was refused.',
  not_found: 'The appointment no longer exists on the server.',
  forbidden: 'Your account may not make this change.',
  validation_failed: 'The server found a value it could not accept.',
  idempotency_mismatch: 'A different change was already sent under the same key.',
  mrn_taken: 'Another patient already has this MRN.',
};

/** A sentence saying why; falls back to the server's own message, never to a bare code. */
export function refusalReason(error: Pick<OutboxError, 'code' | 'message'> | null | undefined): string {
  if (!error) return 'The server refused this change.';
  return REASONS[error.code] ?? (error.message || 'The server refused this change.');
}

/** Suggested free slots a refusal carried (409 slot_conflict), at most `max`. */
export function suggestedSlots(
  error: Pick<OutboxError, 'details'> | null | undefined,
  max = 6,
): { starts_at: string; ends_at: string }[] {
  const details = error?.details as { suggestions?: { starts_at: string; ends_at: string }[] } | undefined;
  return (details?.suggestions ?? []).slice(0, max);
}
