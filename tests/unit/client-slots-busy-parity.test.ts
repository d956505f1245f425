// The live free-slot query spells out local_doctor_busy's held ranges (a live query watches the
// tables its statement names, and a function call would hide `appointments` from it). This test
// keeps the two equal: for many doctors, days, buffers and an excluded appointment, both must
// give the same held ranges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotInputsQuery, type SlotInputRow } from '../../src/lib/db/queries/slots.js';
import { ACTIVE_STATUSES } from '../../src/lib/db/schema/tables.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

describe('the live slot query and local_doctor_busy agree', () => {
  let db: LocalTestDb;
  const data = clinic({ doctors: 4, patients: 80, appointments: 600, now: new Date('2026-11-20T08:20:00Z') });

  beforeAll(async () => {
    db = await createLocalDbWith(data);
    // Buffers on about a third of the rows, some reaching over midnight's edge of a day.
    await db.query(
      `UPDATE appointments_synced
          SET buffer_before_minutes = (abs(hashtext(id::text)) % 4) * 15,
              buffer_after_minutes = (abs(hashtext(id::text || 'a')) % 3) * 10
        WHERE abs(hashtext(id::text)) % 3 = 0`,
    );
  }, 120_000);
  afterAll(() => db.close());

  it('gives the same held ranges for every doctor and busy day, with and without an excluded row', async () => {
    const days = new Map<string, string>(); // "doctor|date" → an appointment of that day
    for (const a of data.appointments) days.set(`${a.doctor_id}|${a.starts_at.toISOString().slice(0, 10)}`, a.id);
    const cases = [...days].slice(0, 60);
    expect(cases.length).toBeGreaterThan(20);
    let compared = 0;
    for (const [key, someId] of cases) {
      const [doctorId, date] = key.split('|') as [string, string];
      for (const excludeId of [null, someId]) {
        const q = slotInputsQuery({ doctorId, date, durationMinutes: 30, timeZone: 'UTC', excludeId });
        const live = (await db.query<SlotInputRow>(q.sql, q.params)).rows
          .filter((r) => r.kind === 'busy')
          .map((r) => [Number(r.start_ms), Number(r.end_ms)]);
        // The same window the query uses: its last two parameters are the window's end and start.
        const [to, from] = q.params.slice(-2) as [string, string];
        const viaFunction = (
          await db.query<{ from_ms: number; to_ms: number }>(
            `SELECT extract(epoch FROM held_from)::float8 * 1000 AS from_ms,
                    extract(epoch FROM held_to)::float8 * 1000 AS to_ms
               FROM local_doctor_busy($1::uuid, $2::timestamptz, $3::timestamptz, $4::uuid, $5::text[])`,
            [doctorId, from, to, excludeId, [...ACTIVE_STATUSES]],
          )
        ).rows.map((r) => [Number(r.from_ms), Number(r.to_ms)]);
        const sort = (xs: number[][]) => [...xs].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
        expect(sort(live)).toEqual(sort(viaFunction));
        compared += viaFunction.length;
      }
    }
    expect(compared).toBeGreaterThan(50);
  }, 120_000);
});
