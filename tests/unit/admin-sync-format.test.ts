import { describe, expect, it } from 'vitest';
import type { DeviceStatus } from '../../src/lib/shared/admin-sync';
import {
  ago,
  formatBytes,
  formatSeconds,
  matchesFilter,
  reportedCount,
  sortDevices,
  stateLabel,
} from '../../src/routes/admin/sync/format';

function device(id: string, health: DeviceStatus['health'], extra: Partial<DeviceStatus> = {}): DeviceStatus {
  return {
    device_id: id,
    user: { id: 'u', email: `${id}@clinic.test`, full_name: `User ${id}`, role: 'clinician' },
    app_version: '1.0.0',
    online: true,
    user_agent: null,
    first_seen_at: '2026-01-01T00:00:00.000Z',
    last_seen_at: '2026-01-01T10:00:00.000Z',
    last_synced_at: '2026-01-01T10:00:00.000Z',
    behind_seconds: 0,
    behind_bytes: null,
    outbox_pending: 0,
    outbox_rejected: 0,
    shapes: {},
    storage: {},
    health,
    presence: 'open',
    stale: false,
    reasons: [],
    ...extra,
  };
}

describe('device state in words', () => {
  it('says Behind only of an open device that lags; a closed app is Closed, an open one without network Offline', () => {
    expect(stateLabel({ health: 'amber', presence: 'open', online: true })).toBe('Behind');
    expect(stateLabel({ health: 'amber', presence: 'closed', online: true })).toBe('Closed');
    expect(stateLabel({ health: 'amber', presence: 'open', online: false })).toBe('Offline');
    expect(stateLabel({ health: 'green', presence: 'open', online: true })).toBe('In sync');
    expect(stateLabel({ health: 'red', presence: 'closed', online: false })).toBe('Needs attention');
  });

  it("shows a closed or offline device's pending count as of its last report", () => {
    const now = Date.parse('2026-01-01T12:00:00.000Z');
    const seen = { last_seen_at: '2026-01-01T10:00:00.000Z' };
    expect(reportedCount(3, { ...seen, presence: 'open', online: true }, now)).toBe('3');
    expect(reportedCount(3, { ...seen, presence: 'closed', online: true }, now)).toBe('3 · as of 2 h ago');
    expect(reportedCount(0, { ...seen, presence: 'open', online: false }, now)).toBe('0 · as of 2 h ago');
  });
});

describe('sync page formatting', () => {
  it('formats bytes and durations for people', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatSeconds(0.012)).toBe('12 ms');
    expect(formatSeconds(45)).toBe('45 s');
    expect(formatSeconds(600)).toBe('10 min');
    expect(formatSeconds(3 * 3600)).toBe('3 h');
    expect(ago(null, 0)).toBe('never');
    expect(ago('2026-01-01T10:00:00.000Z', Date.parse('2026-01-01T10:05:00.000Z'))).toBe('5 min ago');
  });

  it('puts the devices that need attention first', () => {
    const list = [device('a', 'green'), device('b', 'red'), device('c', 'amber'), device('d', 'red', { stale: true })];
    expect(sortDevices(list, 'health').map((d) => d.device_id)).toEqual(['b', 'd', 'c', 'a']);
    const pending = [
      device('a', 'amber', { outbox_pending: 5 }),
      device('b', 'red', { outbox_rejected: 1 }),
      device('c', 'green'),
    ];
    expect(sortDevices(pending, 'pending').map((d) => d.device_id)).toEqual(['b', 'a', 'c']);
    const behind = [
      device('a', 'green', { behind_seconds: 5 }),
      device('b', 'amber', { behind_seconds: null }),
      device('c', 'amber', { behind_seconds: 900 }),
    ];
    expect(sortDevices(behind, 'behind').map((d) => d.device_id)).toEqual(['b', 'c', 'a']);
  });

  it('filters by state and by text', () => {
    const d = device('tablet7', 'amber');
    expect(matchesFilter(d, '', 'all')).toBe(true);
    expect(matchesFilter(d, 'TABLET7@', 'all')).toBe(true);
    expect(matchesFilter(d, '', 'red')).toBe(false);
    expect(matchesFilter(d, 'nobody', 'amber')).toBe(false);
  });
});
