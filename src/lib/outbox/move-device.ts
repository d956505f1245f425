// The grid's move action: saved on this device, then the sender is woken.
import { context, kickSender } from './device';
import { moveLocally, type MoveTarget } from './move-writes';

/** The screens' action: move, then wake the sender. Answers the new appointment's id. */
export async function move(id: string, to: MoveTarget, opts: { force?: boolean } = {}): Promise<string> {
  const { db, userId } = await context();
  const newId = await moveLocally(db, userId, id, to, opts);
  kickSender();
  return newId;
}
