// Taking one of the server's suggested slots instead of a refused booking or reschedule: the
// refused change is discarded and the same booking (or move) is queued at the new time. The
// suggestion came from the server, so the replica's overlap check does not second-guess it.
import { book, discard, reschedule } from './device';

export interface RefusedSlotWrite {
  id: string;
  kind: string;
  entity_id: string;
  body: Record<string, unknown>;
}

/** Returns the id of the appointment that now holds the slot (to open it). */
export async function takeSuggestedSlot(entry: RefusedSlotWrite, startsAt: string): Promise<string> {
  const body = entry.body as {
    patient_id: string;
    doctor_id: string;
    duration_minutes: number;
    urgency?: 'routine' | 'urgent' | 'emergency';
    reason?: string | null;
  };
  await discard(entry.id);
  if (entry.kind === 'book') {
    return book(
      {
        patient_id: body.patient_id,
        doctor_id: body.doctor_id,
        duration_minutes: body.duration_minutes,
        urgency: body.urgency,
        reason: body.reason,
        starts_at: startsAt,
      },
      { force: true },
    );
  }
  return reschedule(entry.entity_id, { starts_at: startsAt, duration_minutes: body.duration_minutes }, { force: true });
}
