// How a booking waits for a doctor another request is booking right now. Queueing on the
// doctor's row lock (FOR UPDATE) serializes everyone behind it: with 1,000 requests for one
// slot, 999 losers would each hold the lock in turn just to find the slot taken. Instead a
// booking first tries the lock with NOWAIT; if it is held, it waits for the holder to finish
// without queueing for the lock itself (waitForDoctor: all waiters wake together), checks
// again whether the slot is still free (precheckBooking, in parallel for everyone), and only
// then queues for the lock like any other writer. One such round only: for a doctor who is
// merely busy with other slots, more rounds would be wasted work, and queueing can't starve.
// The check under the lock stays the authority.
import type { Pool } from '../db/pool.js';
import { SQLSTATE, sqlState } from '../db/sqlstate.js';
import type { CreateAppointmentInput } from '../../src/lib/shared/appointment-schemas.js';
import type { Actor } from './actor.js';
import { waitForDoctor } from './queries.js';
import { precheckBooking } from './service.js';

const NOWAIT_ROUNDS = 1;

export async function bookWhenDoctorFree(
  pool: Pool,
  actor: Actor,
  input: CreateAppointmentInput,
  attempt: (options: { nowait: boolean }) => Promise<void>,
  now: Date = new Date(),
): Promise<void> {
  for (let round = 1; ; round++) {
    await precheckBooking(pool, actor, input, now);
    const nowait = round <= NOWAIT_ROUNDS;
    try {
      return await attempt({ nowait });
    } catch (err) {
      if (!nowait || sqlState(err) !== SQLSTATE.lockNotAvailable) throw err;
    }
    await waitForDoctor(pool, input.doctor_id);
  }
}
