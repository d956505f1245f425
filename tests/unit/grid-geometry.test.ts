// Where taps and drops land on the schedule grid, and the start a new booking is offered.
import { describe, expect, it } from 'vitest';
import { defaultStart, minuteLabel, snapMinute } from '../../src/lib/grid/geometry.js';

describe('grid geometry', () => {
  it('snaps drops to the nearest quarter hour and taps to the quarter they fall in', () => {
    expect(snapMinute(9 * 60 + 7)).toBe(9 * 60);
    expect(snapMinute(9 * 60 + 8)).toBe(9 * 60 + 15);
    expect(snapMinute(9 * 60 + 14, 'floor')).toBe(9 * 60);
    expect(minuteLabel(9 * 60 + 5)).toBe('09:05');
  });

  it('offers the next quarter hour inside working hours, else the first block', () => {
    const blocks = [
      { start: 13 * 60, end: 17 * 60 },
      { start: 8 * 60, end: 12 * 60 },
    ];
    expect(defaultStart(blocks, null, 30)).toBe(8 * 60);
    expect(defaultStart(blocks, 9 * 60 + 1, 30)).toBe(9 * 60 + 15);
    // 11:50: nothing of 30 min fits before noon, the afternoon block does.
    expect(defaultStart(blocks, 11 * 60 + 50, 30)).toBe(13 * 60);
    expect(defaultStart(blocks, 18 * 60, 30)).toBe(8 * 60);
    expect(defaultStart([], null, 30)).toBe(9 * 60);
  });
});
