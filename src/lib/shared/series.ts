// Recurring series, shared by the server (the authority) and the device (offline preview and
// optimistic rows): the request schemas, the recurrence rule's expansion into occurrences in
// clinic time, and the occurrence ids both sides derive from the series id.
//
// A rule is an RFC 5545 RRULE limited to what a clinic books: FREQ=WEEKLY, an optional
// INTERVAL (every N weeks), optional BYDAY (which weekdays), and COUNT or UNTIL (a series
// always ends). It is expanded on the clinic's wall clock: a 09:00 series stays at 09:00
// across a daylight-saving change, and BYDAY names clinic days.
import * as rruleModule from 'rrule';
import { sha1 } from '@oslojs/crypto/sha1';
import { z } from './zod';
import { URGENCIES } from './appointment-schemas';
import { clinicDate, wallClock, zonedToUtc } from './time';

// rrule ships CommonJS for Node and ESM for bundlers: take whichever namespace this is.
// (Reflect.get: a bundler would warn that the ESM build has no default export.)
const rrule = (Reflect.get(rruleModule, 'default') ?? rruleModule) as typeof rruleModule;

/** The most occurrences one request may book. */
export const SERIES_MAX_OCCURRENCES = 52;

const ALLOWED_PARTS = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'COUNT', 'UNTIL', 'WKST']);
const WEEKDAY = /^(MO|TU|WE|TH|FR|SA|SU)$/;

/** The rule's parts, or the sentence that says what is wrong with it. */
export function parseSeriesRule(text: string): { parts: Record<string, string> } | { error: string } {
  const body = text.trim().replace(/^RRULE:/i, '');
  const parts: Record<string, string> = {};
  for (const piece of body.split(';').filter(Boolean)) {
    const [key, value, ...rest] = piece.split('=');
    if (!key || value === undefined || rest.length) return { error: `"${piece}" is not KEY=VALUE` };
    const name = key.toUpperCase();
    if (!ALLOWED_PARTS.has(name))
      return { error: `${name} is not supported (use FREQ, INTERVAL, BYDAY, COUNT, UNTIL)` };
    parts[name] = value.toUpperCase();
  }
  if (parts.FREQ !== 'WEEKLY') return { error: 'FREQ must be WEEKLY' };
  if (parts.INTERVAL !== undefined && !(/^\d{1,2}$/.test(parts.INTERVAL) && +parts.INTERVAL >= 1)) {
    return { error: 'INTERVAL must be a whole number of weeks from 1 to 99' };
  }
  if (parts.BYDAY !== undefined && !parts.BYDAY.split(',').every((d) => WEEKDAY.test(d))) {
    return { error: 'BYDAY must list weekdays (MO,TU,WE,TH,FR,SA,SU)' };
  }
  if ((parts.COUNT === undefined) === (parts.UNTIL === undefined))
    return { error: 'give exactly one of COUNT or UNTIL' };
  if (parts.COUNT !== undefined && !(/^\d{1,3}$/.test(parts.COUNT) && +parts.COUNT >= 1)) {
    return { error: 'COUNT must be a whole number' };
  }
  if (parts.COUNT !== undefined && +parts.COUNT > SERIES_MAX_OCCURRENCES) {
    return { error: `at most ${SERIES_MAX_OCCURRENCES} occurrences` };
  }
  if (parts.UNTIL !== undefined && !/^\d{8}(T\d{6}Z?)?$/.test(parts.UNTIL)) {
    return { error: 'UNTIL must be a date (YYYYMMDD)' };
  }
  return { parts };
}

/**
 * The occurrences' start instants (UTC ISO strings), in order. The first is `startsAt` itself
 * when it matches the rule (RFC 5545: DTSTART is the first occurrence only if it matches).
 * UNTIL is a clinic calendar date, inclusive. Throws on a rule parseSeriesRule refuses.
 */
export function expandSeries(ruleText: string, startsAt: string, timeZone: string): string[] {
  const parsed = parseSeriesRule(ruleText);
  if ('error' in parsed) throw new Error(parsed.error);
  const { parts } = parsed;
  // Expand on a "floating" clock: the wall-clock time written as if it were UTC, so the rule's
  // arithmetic never meets a zone transition; each result is then placed in the clinic's zone.
  const wall = wallClock(new Date(startsAt), timeZone);
  const floating = new Date(Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second));
  const rule = Object.entries(parts)
    .map(([k, v]) => (k === 'UNTIL' ? `UNTIL=${v.slice(0, 8)}T235959Z` : `${k}=${v}`))
    .join(';');
  const dates = rrule.rrulestr(`RRULE:${rule}`, { dtstart: floating }).all((_, i) => i < SERIES_MAX_OCCURRENCES + 1);
  return dates.map((d) => {
    const iso = d.toISOString();
    return zonedToUtc(iso.slice(0, 10), iso.slice(11, 19), timeZone).toISOString();
  });
}

/** The clinic date and wall-clock time 'HH:MM' of an instant. */
export function clinicDateTime(instant: string | Date, timeZone: string): { date: string; time: string } {
  const w = wallClock(new Date(instant), timeZone);
  return {
    date: clinicDate(new Date(instant), timeZone),
    time: `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`,
  };
}

function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** RFC 9562 version 5 (name-based, SHA-1) uuid of `name` in the namespace `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const nameBytes = new TextEncoder().encode(name);
  const input = new Uint8Array(16 + nameBytes.length);
  input.set(uuidBytes(namespace));
  input.set(nameBytes, 16);
  const hash = sha1(input).slice(0, 16);
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * An occurrence's appointment id: derived from the series id and its start, so a device
 * that queued the series offline shows rows with the ids the server will give them.
 */
export const occurrenceId = (seriesId: string, startsAt: string) => uuidV5(seriesId, new Date(startsAt).toISOString());

// An instant with an explicit offset (as in appointment-schemas).
const instant = z.iso
  .datetime({ offset: true })
  .refine((s) => {
    const t = Date.parse(s);
    return Number.isFinite(t) && t >= Date.UTC(2000, 0, 1) && t < Date.UTC(2200, 0, 1);
  }, 'must be a date-time between 2000 and 2200')
  .describe('ISO 8601 with an offset, e.g. 2026-12-01T09:00:00Z');
const duration = z.number().int().min(5).max(480);

const ruleText = z
  .string()
  .max(500)
  .superRefine((text, ctx) => {
    const parsed = parseSeriesRule(text);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  })
  .describe('RFC 5545 RRULE: FREQ=WEEKLY, optional INTERVAL and BYDAY, COUNT or UNTIL (a clinic date)');

export const SERIES_MODES = ['all_or_none', 'free_ones'] as const;
export type SeriesMode = (typeof SERIES_MODES)[number];

export const createSeriesSchema = z.strictObject({
  id: z.uuid().describe('chosen by the client: the series id and the idempotency key'),
  patient_id: z.uuid(),
  doctor_id: z.uuid(),
  starts_at: instant.describe('the first occurrence (its clinic wall-clock time is kept)'),
  duration_minutes: duration,
  urgency: z.enum(URGENCIES).default('routine'),
  reason: z.string().max(2000).nullish(),
  rrule: ruleText,
  mode: z
    .enum(SERIES_MODES)
    .default('all_or_none')
    .describe('all_or_none: book every occurrence or none; free_ones: book those that are free'),
});
export type CreateSeriesInput = z.output<typeof createSeriesSchema>;

export const SERIES_SCOPES = ['this', 'following', 'all'] as const;
export type SeriesScope = (typeof SERIES_SCOPES)[number];

const scoped = {
  scope: z.enum(SERIES_SCOPES),
  appointment_id: z.uuid().optional().describe('the occurrence "this" and "following" count from'),
};
const needsAnchor = (v: { scope: SeriesScope; appointment_id?: string }) =>
  v.scope === 'all' || v.appointment_id !== undefined;
const anchorIssue = { message: 'required for scope "this" and "following"', path: ['appointment_id'] };

export const cancelSeriesSchema = z
  .strictObject({ ...scoped, reason: z.string().max(2000).nullish() })
  .refine(needsAnchor, anchorIssue);
export type CancelSeriesInput = z.output<typeof cancelSeriesSchema>;

export const editSeriesSchema = z
  .strictObject({
    ...scoped,
    reason: z.string().max(2000).nullish(),
    urgency: z.enum(URGENCIES).optional(),
    start_time: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM')
      .optional()
      .describe('new clinic wall-clock start, same day'),
    duration_minutes: duration.optional(),
  })
  .refine(needsAnchor, anchorIssue)
  .refine(
    (v) =>
      v.reason !== undefined ||
      v.urgency !== undefined ||
      v.start_time !== undefined ||
      v.duration_minutes !== undefined,
    { message: 'give at least one of reason, urgency, start_time, duration_minutes', path: ['reason'] },
  );
export type EditSeriesInput = z.output<typeof editSeriesSchema>;

const slot = z.object({ starts_at: z.iso.datetime(), ends_at: z.iso.datetime() });

export const OCCURRENCE_OUTCOMES = ['booked', 'free', 'refused', 'changed'] as const;
export const occurrenceResultSchema = z.object({
  id: z.uuid(),
  starts_at: z.iso.datetime(),
  ends_at: z.iso.datetime(),
  outcome: z
    .enum(OCCURRENCE_OUTCOMES)
    .describe('booked/changed: written; free: would have been, but all-or-none failed; refused: see error'),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  suggestions: z.array(slot).optional().describe('free slots near a refused occurrence'),
  version: z.number().int().optional().describe("the written row's version (booked/changed)"),
});
export type OccurrenceResult = z.infer<typeof occurrenceResultSchema>;

export const seriesSchema = z.object({
  id: z.uuid(),
  patient_id: z.uuid(),
  doctor_id: z.uuid(),
  rrule: z.string(),
  first_starts_at: z.iso.datetime(),
  duration_minutes: z.number().int(),
  created_at: z.iso.datetime(),
});

export const seriesBookResultSchema = z.object({
  series: seriesSchema,
  occurrences: z.array(occurrenceResultSchema),
  txid: z.number().int(),
});

export const seriesChangeResultSchema = z.object({
  series_id: z.uuid(),
  occurrences: z.array(occurrenceResultSchema),
  txid: z.number().int(),
});

/** details of a 409 series_conflict: nothing was written. */
export const seriesConflictDetailsSchema = z.object({ occurrences: z.array(occurrenceResultSchema) });
