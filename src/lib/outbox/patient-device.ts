// What the patient screens call: write locally (durably), then wake the sender.
import type { SessionUser } from '../shared/roles';
import { context, kickSender } from './device';
import { createPatientLocally, updatePatientLocally } from './patient-writes';

export async function createPatient(input: Record<string, unknown>): Promise<string> {
  const { db, userId } = await context();
  const id = await createPatientLocally(db, userId, input);
  kickSender();
  return id;
}

/** Queues the changed fields; false when nothing changed (nothing is queued). */
export async function updatePatient(id: string, changes: Record<string, unknown>): Promise<boolean> {
  const { db, userId } = await context();
  const queued = await updatePatientLocally(db, userId, id, changes);
  if (queued) kickSender();
  return queued;
}

/** Who may create and edit patients (the server checks the same: POST/PATCH /api/patients). */
export function canEditPatients(user: SessionUser | null | undefined): boolean {
  return user?.role === 'admin' || user?.role === 'receptionist';
}
