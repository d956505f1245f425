// The booking form's "Repeat" choice as an RFC 5545 rule (the subset the server takes).
import type { SeriesMode } from '../shared/series';

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface RepeatChoice {
  enabled: boolean;
  /** every N weeks */
  interval: number;
  /** empty: the weekday of the chosen slot */
  weekdays: Weekday[];
  end: 'count' | 'until';
  count: number;
  /** YYYY-MM-DD, a clinic date, inclusive */
  until: string;
  mode: SeriesMode;
}

export const noRepeat = (): RepeatChoice => ({
  enabled: false,
  interval: 1,
  weekdays: [],
  end: 'count',
  count: 6,
  until: '',
  mode: 'all_or_none',
});

export function ruleOf(choice: RepeatChoice): string {
  const parts = ['FREQ=WEEKLY'];
  if (choice.interval > 1) parts.push(`INTERVAL=${choice.interval}`);
  if (choice.weekdays.length) parts.push(`BYDAY=${WEEKDAYS.filter((d) => choice.weekdays.includes(d)).join(',')}`);
  parts.push(choice.end === 'count' ? `COUNT=${choice.count}` : `UNTIL=${choice.until.replaceAll('-', '')}`);
  return parts.join(';');
}
