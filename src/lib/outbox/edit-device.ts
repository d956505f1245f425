// What screens call to edit an appointment offline, and to resolve an edit the server
// refused: each writes locally (durably) and then wakes the sender.
import { context, kickSender } from './device';
import { editAppointmentLocally, reapplyEdit, type AppointmentEdit } from './edit-writes';

export async function editAppointment(id: string, changes: AppointmentEdit): Promise<string> {
  const { db, userId } = await context();
  const key = await editAppointmentLocally(db, userId, id, changes);
  kickSender();
  return key;
}

/** "Apply my edit again": the same changes on top of the server's current version. */
export async function applyEditAgain(entryId: string): Promise<string> {
  const { db, userId } = await context();
  const key = await reapplyEdit(db, userId, entryId);
  kickSender();
  return key;
}
