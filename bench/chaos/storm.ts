// The write storm every chaos scenario runs through its fault: writers book appointments the
// way the device outbox sends them (one id per booking, the same id again after no answer, a
// 5xx or a 503/429 wait, until a definitive answer), while a few devices hold live shapes.
import { randomUUID } from 'node:crypto';
import type { Person } from '../load/clinic.js';

export interface StormWriter {
  person: Person;
  doctorId: string;
}

export interface StormResult {
  attempts: number;
  acknowledged: Array<{ op: string; id: string }>;
  refused: number;
  /** Bookings given up without a definitive answer (retries exhausted at the end). */
  unanswered: string[];
  statuses: Record<string, number>;
}

/**
 * A slot unique to (storm, writer, n): no two writers collide, and each storm starts on a
 * random far week (scenarios share a clinic), so every booking should succeed.
 */
function slotFor(writer: number, n: number, baseWeek: number): string {
  const day = new Date(Date.UTC(2032, 0, 5)); // a Monday
  const week = baseWeek + Math.floor(n / 90);
  const dayOfWeek = Math.floor(n / 18) % 5;
  day.setUTCDate(day.getUTCDate() + week * 7 + dayOfWeek + writer * 70);
  day.setUTCMinutes(8 * 60 + 30 * (n % 18));
  return day.toISOString();
}

export async function storm(opts: {
  url: string;
  writers: StormWriter[];
  patients: string[];
  until: number;
  /** Give up retrying a booking this long after `until`. */
  graceMs?: number;
  fetch?: typeof fetch;
  pauseMs?: number;
  origin?: string;
}): Promise<StormResult> {
  const result: StormResult = { attempts: 0, acknowledged: [], refused: 0, unanswered: [], statuses: {} };
  const giveUpAt = opts.until + (opts.graceMs ?? 60_000);
  const doFetch = opts.fetch ?? fetch;
  const baseWeek = 2 * Math.floor(Math.random() * 100); // 2032–2036
  await Promise.all(
    opts.writers.map(async (w, wi) => {
      for (let n = 0; Date.now() < opts.until; n++) {
        const id = randomUUID();
        const body = {
          id,
          patient_id: opts.patients[(wi * 997 + n) % opts.patients.length],
          doctor_id: w.doctorId,
          starts_at: slotFor(wi, n, baseWeek),
          duration_minutes: 30,
        };
        for (;;) {
          result.attempts++;
          let status: number | 'net' = 'net';
          let retryAfter = 0;
          try {
            const res = await doFetch(`${opts.url}/api/appointments`, {
              method: 'POST',
              headers: {
                cookie: w.person.cookie,
                origin: opts.origin ?? opts.url,
                'content-type': 'application/json',
                'idempotency-key': id,
              },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(15_000),
            });
            status = res.status;
            retryAfter = Number(res.headers.get('retry-after') ?? 0);
            await res.text();
          } catch {
            status = 'net';
          }
          result.statuses[String(status)] = (result.statuses[String(status)] ?? 0) + 1;
          if (typeof status === 'number' && status >= 200 && status < 300) {
            result.acknowledged.push({ op: 'book', id });
            break;
          }
          if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) {
            result.refused++;
            break;
          }
          if (Date.now() > giveUpAt) {
            result.unanswered.push(id);
            break;
          }
          // Like the outbox: the server's Retry-After (capped for a short run), else a short pause.
          await new Promise((r) => setTimeout(r, Math.min(2_000, retryAfter * 1000) || 250 + Math.random() * 250));
        }
        await new Promise((r) => setTimeout(r, opts.pauseMs ?? 100));
      }
    }),
  );
  return result;
}
