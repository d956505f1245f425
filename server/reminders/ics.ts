// The calendar invite of an appointment (iCalendar, RFC 5545 / iTIP RFC 5546), built with the
// `ics` package. One UID for the whole life of an appointment, across reschedules (the UID of
// the first appointment of the chain); SEQUENCE counts the reschedules, and a cancellation
// goes one higher with METHOD:CANCEL. Times are wall-clock times in the clinic's zone
// (DTSTART;TZID=...), with a VTIMEZONE for that year so calendar apps place them right.
import { createEvent } from 'ics';
import { wallClock, zoneOffsetMs } from '../../src/lib/shared/time.js';

export interface InviteInput {
  uid: string;
  sequence: number;
  method: 'REQUEST' | 'CANCEL';
  startsAt: Date;
  endsAt: Date;
  timeZone: string;
  title: string;
  description: string;
  location: string;
  organizer: { name: string; email: string };
  attendeeEmail: string;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const local = (at: Date, tz: string) => {
  const w = wallClock(at, tz);
  return `${w.year}${pad(w.month)}${pad(w.day)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second)}`;
};
const offset = (ms: number) => {
  const sign = ms < 0 ? '-' : '+';
  const m = Math.abs(ms) / 60_000;
  return `${sign}${pad(Math.floor(m / 60))}${pad(m % 60)}`;
};

/** The instants in `year` where the zone's UTC offset changes (hour resolution, then minutes). */
function transitions(year: number, tz: string): number[] {
  const found: number[] = [];
  const HOUR = 3_600_000;
  let t = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  let prev = zoneOffsetMs(t, tz);
  for (t += HOUR; t <= end; t += HOUR) {
    const cur = zoneOffsetMs(t, tz);
    if (cur !== prev) {
      let lo = t - HOUR;
      let hi = t;
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (zoneOffsetMs(mid, tz) === prev) lo = mid;
        else hi = mid;
      }
      found.push(hi);
      prev = cur;
    }
  }
  return found;
}

/** A VTIMEZONE valid for the year of `at`: its offset changes that year, or one STANDARD. */
export function vtimezone(tz: string, at: Date): string {
  const year = wallClock(at, tz).year;
  const lines = ['BEGIN:VTIMEZONE', `TZID:${tz}`];
  const changes = transitions(year, tz);
  if (changes.length === 0) {
    const o = offset(zoneOffsetMs(at.getTime(), tz));
    lines.push('BEGIN:STANDARD', `DTSTART:${year}0101T000000`, `TZOFFSETFROM:${o}`, `TZOFFSETTO:${o}`, 'END:STANDARD');
  } else {
    const max = Math.max(...changes.map((c) => zoneOffsetMs(c, tz)));
    for (const c of changes) {
      const from = zoneOffsetMs(c - 60_000, tz);
      const to = zoneOffsetMs(c, tz);
      const part = to === max && to > from ? 'DAYLIGHT' : 'STANDARD';
      // DTSTART of a transition is the local time before it (RFC 5545 3.6.5).
      const before = new Date(c + from).toISOString().replace(/[-:]/g, '').slice(0, 15);
      lines.push(
        `BEGIN:${part}`,
        `DTSTART:${before}`,
        `TZOFFSETFROM:${offset(from)}`,
        `TZOFFSETTO:${offset(to)}`,
        `END:${part}`,
      );
    }
  }
  lines.push('END:VTIMEZONE');
  return lines.join('\r\n');
}

export function buildInvite(input: InviteInput): string {
  const { error, value } = createEvent({
    productId: '-//Clinic appointments//Reminders//EN',
    method: input.method,
    uid: input.uid,
    sequence: input.sequence,
    // Placeholders: the real DTSTART/DTEND (with TZID) replace these lines below.
    start: input.startsAt.getTime(),
    end: input.endsAt.getTime(),
    title: input.title,
    description: input.description,
    location: input.location || undefined,
    status: input.method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED',
    organizer: { name: input.organizer.name, email: input.organizer.email },
    attendees: [{ name: 'Patient', email: input.attendeeEmail, rsvp: false, role: 'REQ-PARTICIPANT' }],
  });
  if (error || !value) throw error ?? new Error('invite could not be built');
  const tz = input.timeZone;
  return value
    .replace(/^DTSTART[^\r\n]*/m, `DTSTART;TZID=${tz}:${local(input.startsAt, tz)}`)
    .replace(/^DTEND[^\r\n]*/m, `DTEND;TZID=${tz}:${local(input.endsAt, tz)}`)
    .replace(/^BEGIN:VEVENT/m, `${vtimezone(tz, input.startsAt)}\r\nBEGIN:VEVENT`);
}
