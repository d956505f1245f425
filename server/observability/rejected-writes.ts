// The last writes the server refused (4xx answers to data changes), kept in memory for the
// admin sync page: enough to see "what failed, for whom, why" at a glance. Process-wide and
// not durable on purpose: devices keep their own rejected entries until the user resolves
// them, and report the count in every heartbeat.
export interface RejectedWrite {
  at: string;
  user_id: string;
  method: string;
  route: string;
  status: number;
  code: string;
}

const LIMIT = 200;
const recent: RejectedWrite[] = [];

export function recordRejectedWrite(entry: RejectedWrite): void {
  recent.push(entry);
  if (recent.length > LIMIT) recent.splice(0, recent.length - LIMIT);
}

/** Newest first. */
export function recentRejectedWrites(limit = 50): RejectedWrite[] {
  return recent.slice(-limit).reverse();
}
