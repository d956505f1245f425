// Formatting and ordering for the sync status page: plain functions, testable without a DOM.
import type { DeviceHealth, DeviceStatus } from '$lib/shared/admin-sync';

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** "3 min ago" for an ISO time, relative to `nowMs`. */
export function ago(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return 'never';
  return `${formatSeconds(Math.max(0, (nowMs - Date.parse(iso)) / 1000))} ago`;
}

/**
 * The state in words. "Behind" only for a device that is open and lagging; a closed app says
 * so (its last-seen time is next to it), an open one without network says "Offline".
 */
export function stateLabel(d: Pick<DeviceStatus, 'health' | 'presence' | 'online'>): string {
  if (d.health === 'red') return 'Needs attention';
  if (d.presence === 'closed') return 'Closed';
  if (!d.online) return 'Offline';
  return d.health === 'green' ? 'In sync' : 'Behind';
}

/**
 * A count the device reported: as is while it is open and online, with the report's age when
 * it is closed or offline (its outbox may have grown since).
 */
export function reportedCount(
  count: number,
  d: Pick<DeviceStatus, 'presence' | 'online' | 'last_seen_at'>,
  nowMs: number,
): string {
  if (d.presence === 'open' && d.online) return String(count);
  return `${count} · as of ${ago(d.last_seen_at, nowMs)}`;
}

const SEVERITY: Record<DeviceHealth, number> = { red: 0, amber: 1, green: 2 };

export type DeviceSort = 'health' | 'user' | 'last_seen' | 'behind' | 'pending';

/** Worst first by default, so the devices that need attention are at the top. */
export function sortDevices(devices: DeviceStatus[], by: DeviceSort): DeviceStatus[] {
  const byLastSeen = (a: DeviceStatus, b: DeviceStatus) => Date.parse(b.last_seen_at) - Date.parse(a.last_seen_at);
  const compare: Record<DeviceSort, (a: DeviceStatus, b: DeviceStatus) => number> = {
    health: (a, b) => SEVERITY[a.health] - SEVERITY[b.health] || Number(a.stale) - Number(b.stale) || byLastSeen(a, b),
    user: (a, b) => a.user.email.localeCompare(b.user.email) || byLastSeen(a, b),
    last_seen: byLastSeen,
    behind: (a, b) => (b.behind_seconds ?? Infinity) - (a.behind_seconds ?? Infinity),
    pending: (a, b) => b.outbox_rejected - a.outbox_rejected || b.outbox_pending - a.outbox_pending,
  };
  return [...devices].sort(compare[by]);
}

export function matchesFilter(device: DeviceStatus, text: string, health: DeviceHealth | 'all'): boolean {
  if (health !== 'all' && device.health !== health) return false;
  const q = text.trim().toLowerCase();
  if (!q) return true;
  return [device.user.email, device.user.full_name, device.app_version, device.device_id].some((s) =>
    s.toLowerCase().includes(q),
  );
}

/** Short browser description from a user agent string. */
export function describeAgent(ua: string | null): string {
  if (!ua) return '—';
  const browser = /(Edg|Chrome|Firefox|Safari)\/(\d+)/.exec(ua);
  const os = /(Android|iPad|iPhone|Windows|Mac OS X|Linux)/.exec(ua);
  return (
    [browser ? `${browser[1] === 'Edg' ? 'Edge' : browser[1]} ${browser[2]}` : null, os?.[1]]
      .filter(Boolean)
      .join(' · ') || ua.slice(0, 30)
  );
}
