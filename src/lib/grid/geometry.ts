// Pure helpers of the schedule grid: where a tap or a drop lands, and what "now" books.

/** Drops and taps land on quarter hours (the clinic's booking step). */
export const SNAP_MINUTES = 15;

export function snapMinute(minute: number, mode: 'round' | 'floor' = 'round'): number {
  const steps = minute / SNAP_MINUTES;
  return (mode === 'floor' ? Math.floor(steps) : Math.round(steps)) * SNAP_MINUTES;
}

/** "HH:MM" of a minute of the day. */
export function minuteLabel(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/**
 * The time a new booking starts at when none was tapped: the next quarter hour inside the
 * doctor's working hours (from now on today), else the start of their first block.
 */
export function defaultStart(
  blocks: { start: number; end: number }[],
  nowMinute: number | null,
  minutes: number,
): number {
  const sorted = [...blocks].sort((a, b) => a.start - b.start);
  const from = nowMinute === null ? -1 : Math.ceil(nowMinute / SNAP_MINUTES) * SNAP_MINUTES;
  for (const b of sorted) {
    const start = Math.max(b.start, from);
    if (start + minutes <= b.end) return start;
  }
  return sorted[0]?.start ?? 9 * 60;
}
