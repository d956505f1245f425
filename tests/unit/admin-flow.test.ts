import { describe, expect, it } from 'vitest';
import { splitFlow, todayRange, waitLevel, type FlowRow } from '../../src/routes/admin/flow/flow';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');
function row(id: string, status: FlowRow['status'], minutesAgo: number, urgency = 'routine'): FlowRow {
  return {
    id,
    status,
    starts_at: '2026-12-01T09:30:00.000Z',
    updated_at: new Date(NOW - minutesAgo * 60_000).toISOString(),
    urgency,
    pending: false,
    patient_name: `Patient ${id}`,
    doctor_name: 'Dr. A',
  };
}

describe('flow board', () => {
  it("takes today in the clinic's time zone", () => {
    expect(todayRange(NOW, 'UTC')).toEqual({ from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' });
    // 01:00 UTC on Dec 1 is still Nov 30 in New York (UTC-5).
    expect(todayRange(Date.parse('2026-12-01T01:00:00Z'), 'America/New_York')).toEqual({
      from: '2026-11-30T05:00:00.000Z',
      to: '2026-12-01T05:00:00.000Z',
    });
  });

  it('colours waits by minutes since check-in', () => {
    expect(waitLevel(0)).toBe('ok');
    expect(waitLevel(14)).toBe('ok');
    expect(waitLevel(15)).toBe('long');
    expect(waitLevel(30)).toBe('too-long');
  });

  it('lists emergencies first, then the longest waits; in progress apart', () => {
    const { waiting, inProgress } = splitFlow(
      [
        row('a', 'checked_in', 5),
        row('b', 'checked_in', 40),
        row('c', 'checked_in', 2, 'emergency'),
        row('d', 'in_progress', 12),
      ],
      NOW,
    );
    expect(waiting.map((r) => [r.id, r.minutes])).toEqual([
      ['c', 2],
      ['b', 40],
      ['a', 5],
    ]);
    expect(inProgress.map((r) => r.id)).toEqual(['d']);
  });
});
