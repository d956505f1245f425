// Green / amber / red for one device, from its last heartbeat. Pure, so the rules are easy to
// test and read. The idea: red means "something is wrong that an admin should act on" (writes
// the server refused, or writes stuck while the device could be syncing); amber means "behind
// or out of touch, but nothing is lost yet"; a closed app with nothing pending is at most amber.
// Presence is told apart from lag: a device whose heartbeats stopped is "closed" (the app was
// closed, or the device is out of reach) and its last report is shown with its age; "behind"
// is only said of a device that is open and lagging.
import type { DeviceHealth, DevicePresence } from '../../src/lib/shared/admin-sync.js';

const MINUTE = 60_000;
export const DEVICE_THRESHOLDS = Object.freeze({
  /** Heartbeats come every ~60 s while the app is open. */
  heartbeatLateMs: 3 * MINUTE,
  syncBehindAmberMs: 2 * MINUTE,
  syncBehindRedMs: 15 * MINUTE,
  staleMs: 24 * 60 * MINUTE,
});

export interface DeviceFacts {
  online: boolean;
  outbox_pending: number;
  outbox_rejected: number;
  last_seen_at: Date;
  last_synced_at: Date | null;
}

export interface DeviceVerdict {
  health: DeviceHealth;
  /** open: heartbeats arrive; closed: none for a while, what we know is from last_seen_at. */
  presence: DevicePresence;
  stale: boolean;
  behind_seconds: number | null;
  reasons: string[];
}

function minutes(ms: number): string {
  return ms < 2 * MINUTE
    ? `${Math.round(ms / 1000)} s`
    : ms < 120 * MINUTE
      ? `${Math.round(ms / MINUTE)} min`
      : `${Math.round(ms / (60 * MINUTE))} h`;
}

export function classifyDevice(d: DeviceFacts, nowMs: number): DeviceVerdict {
  const t = DEVICE_THRESHOLDS;
  const sinceSeen = Math.max(0, nowMs - d.last_seen_at.getTime());
  const behindMs = d.last_synced_at ? Math.max(0, nowMs - d.last_synced_at.getTime()) : null;
  const inTouch = sinceSeen <= t.heartbeatLateMs;
  const stale = sinceSeen > t.staleMs;
  const red: string[] = [];
  const amber: string[] = [];

  // What a closed device last reported is a fact about the past: say how old it is.
  const asOf = inTouch ? '' : ` as of ${minutes(sinceSeen)} ago`;
  if (d.outbox_rejected > 0)
    red.push(`${d.outbox_rejected} rejected write${d.outbox_rejected === 1 ? '' : 's'}${asOf}`);
  if (d.outbox_pending > 0) {
    const stuck = behindMs === null || behindMs > t.syncBehindRedMs;
    (stuck ? red : amber).push(`${d.outbox_pending} pending write${d.outbox_pending === 1 ? '' : 's'}${asOf}`);
  }
  if (behindMs === null) amber.push('never synced');
  else if (inTouch && behindMs > t.syncBehindAmberMs) {
    // Open, online and still not syncing: sync is broken for this device.
    const broken = d.online && behindMs > t.syncBehindRedMs;
    (broken ? red : amber).push(`last synced ${minutes(behindMs)} ago`);
  }
  if (stale) amber.push(`closed, not seen for ${minutes(sinceSeen)} (stale)`);
  else if (!inTouch) amber.push(`closed, last seen ${minutes(sinceSeen)} ago`);
  else if (!d.online) amber.push('offline');

  const health: DeviceHealth = red.length ? 'red' : amber.length ? 'amber' : 'green';
  return {
    health,
    presence: inTouch ? 'open' : 'closed',
    stale,
    // "Behind" is measured only while the app is open: a closed app is not lagging, it is closed.
    behind_seconds: behindMs === null || !inTouch ? null : Math.round(behindMs / 1000),
    reasons: [...red, ...amber],
  };
}

/** The log position in an offset `<lsn>_<op>`; null for -1 / now / garbage. */
export function offsetPosition(offset: string | null | undefined): number | null {
  const m = /^(\d{1,20})_/.exec(offset ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * How many WAL bytes the device's shapes are behind the newest entries of the same tables'
 * shape logs (the largest gap over its tables). Null when the sync service reported nothing.
 */
export function behindBytes(deviceShapes: Record<string, string>, newestByTable: Map<string, number>): number | null {
  let worst: number | null = null;
  for (const [table, offset] of Object.entries(deviceShapes)) {
    const newest = newestByTable.get(table);
    const position = offsetPosition(offset);
    if (newest === undefined || position === null) continue;
    worst = Math.max(worst ?? 0, newest - position);
  }
  return worst;
}
