// Waitlist writes need the server: it decides what is free and books through its booking
// checks. The answer's rows reach this device through sync.
import { api } from '../api/client';
import {
  bookWaitlistOfferSchema,
  createWaitlistEntrySchema,
  type CreateWaitlistEntryInput,
  type WaitlistOffer,
} from '../shared/waitlist-schemas';
import type { z } from '../shared/zod';

/** The form is checked with the server's schema first: the problem names the field. */
export function checkEntry(input: z.input<typeof createWaitlistEntrySchema>): CreateWaitlistEntryInput {
  const parsed = createWaitlistEntrySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${String(issue.path[0] ?? 'entry')}: ${issue.message}`);
  }
  return parsed.data;
}

export function addToWaitlist(input: CreateWaitlistEntryInput) {
  return api<{ entry: { id: string } }>('POST', '/api/waitlist', input);
}

export function bookOffer(entryId: string, offer: WaitlistOffer) {
  const body = bookWaitlistOfferSchema.parse({
    appointment_id: crypto.randomUUID(),
    doctor_id: offer.doctor_id,
    starts_at: offer.starts_at,
  });
  return api<{ appointment: { id: string } }>('POST', `/api/waitlist/${entryId}/book`, body);
}

export function removeFromWaitlist(entryId: string, reason: string | null) {
  return api('POST', `/api/waitlist/${entryId}/remove`, { reason });
}
