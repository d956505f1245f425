import type { Request } from 'express';
import { unauthenticated } from '../http/errors.js';
import type { Role } from '../../src/lib/shared/roles.js';
import type { Viewer } from './queries.js';

/** The logged-in user as the appointment rules need them. */
export interface Actor {
  id: string;
  role: Role;
  /** The clinician's own doctor; null for other roles. */
  doctorId: string | null;
}

export function actorOf(req: Request): Actor {
  const user = req.user;
  if (!user) throw unauthenticated();
  return { id: user.id, role: user.role, doctorId: user.role === 'clinician' ? user.doctor_id : null };
}

/** Clinicians see only their doctor's rows; receptionists never see clinical notes. */
export function viewerOf(actor: Actor): Viewer {
  return { doctorId: actor.doctorId, seesNotes: actor.role !== 'receptionist' };
}
