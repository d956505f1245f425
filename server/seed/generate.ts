// Builds a realistic clinic in memory, deterministically from a seed: doctors with working
// hours Mon–Fri 08:00–17:00 clinic time, patients, and appointments that never overlap for
// a doctor or a patient, with statuses that fit their time (past: completed / no_show /
// cancelled; future: scheduled / confirmed).
import { addDays, clinicDate, isoWeekday, zonedToUtc } from '../../src/lib/shared/time.js';
import { FIRST_NAMES, LAST_NAMES, REASONS, SPECIALIZATIONS } from './names.js';
import { createRandom } from './random.js';

export const DURATIONS = [15, 20, 30, 45, 60] as const;
export const DAY_START = '08:00';
export const DAY_END_MINUTES = 9 * 60; // 08:00 → 17:00

export interface ClinicSpec {
  doctors: number;
  patients: number;
  appointments: number;
  seed: number;
  timeZone: string;
  now?: Date;
}

export interface GeneratedClinic {
  specializations: { id: string; name: string }[];
  doctors: { id: string; full_name: string }[];
  doctorSpecializations: { doctor_id: string; specialization_id: string }[];
  doctorHours: { id: string; doctor_id: string; weekday: number; start_time: string; end_time: string }[];
  patients: { id: string; full_name: string; date_of_birth: string; mrn: string; phone: string; email: string }[];
  appointments: {
    id: string;
    patient_id: string;
    doctor_id: string;
    starts_at: Date;
    duration_minutes: number;
    status: string;
    urgency: string;
    reason: string;
    cancelled_at: Date | null;
    cancellation_reason: string | null;
  }[];
}

const SLOT_FILL = 9; // appointments a doctor gets on an average working day

export function generateClinic(spec: ClinicSpec): GeneratedClinic {
  const rnd = createRandom(spec.seed);
  const now = spec.now ?? new Date();
  const specializations = SPECIALIZATIONS.map((name) => ({ id: rnd.uuid(), name }));
  const doctors = Array.from({ length: spec.doctors }, (_, i) => ({
    id: rnd.uuid(),
    full_name: `Dr. ${rnd.pick(FIRST_NAMES)} ${rnd.pick(LAST_NAMES)}${spec.doctors > 40 ? ` ${i + 1}` : ''}`,
  }));
  const doctorSpecializations = doctors.flatMap((d, i) => {
    const first = specializations[i % specializations.length]!;
    const second = specializations[(i * 7 + 3) % specializations.length]!;
    return [first, ...(second.id !== first.id && i % 3 === 0 ? [second] : [])].map((s) => ({
      doctor_id: d.id,
      specialization_id: s.id,
    }));
  });
  const doctorHours = doctors.flatMap((d) =>
    [1, 2, 3, 4, 5].map((weekday) => ({
      id: rnd.uuid(),
      doctor_id: d.id,
      weekday,
      start_time: '08:00',
      end_time: '17:00',
    })),
  );
  const patients = Array.from({ length: spec.patients }, (_, i) => {
    const first = rnd.pick(FIRST_NAMES);
    const last = rnd.pick(LAST_NAMES);
    const year = rnd.int(1935, 2024);
    return {
      id: rnd.uuid(),
      full_name: `${first} ${last}`,
      date_of_birth: `${year}-${String(rnd.int(1, 12)).padStart(2, '0')}-${String(rnd.int(1, 28)).padStart(2, '0')}`,
      mrn: `MRN${String(i + 1).padStart(7, '0')}`,
      phone: `+1-555-${String(rnd.int(100, 999))}-${String(rnd.int(1000, 9999))}`,
      email: `${first}.${last}${i}@example.org`.toLowerCase().replace(/[^a-z0-9.@]/g, ''),
    };
  });

  // Working days around today: about 70% of the history in the past, 30% ahead.
  const perDoctor = Math.ceil(spec.appointments / Math.max(1, spec.doctors));
  const workingDaysNeeded = Math.max(1, Math.ceil(perDoctor / SLOT_FILL));
  const today = clinicDate(now, spec.timeZone);
  const days = workingDaysAround(today, Math.ceil(workingDaysNeeded * 0.7), Math.ceil(workingDaysNeeded * 0.3) + 1);
  const dayStarts = days.map((d) => zonedToUtc(d, DAY_START, spec.timeZone).getTime());

  const slots: { doctor_id: string; start: number; duration: number }[] = [];
  for (const doctor of doctors) {
    let made = 0;
    for (const dayStart of dayStarts) {
      if (made >= perDoctor) break;
      let cursor = 0;
      while (made < perDoctor) {
        const gap = rnd.pick([0, 0, 0, 15, 30]);
        const duration = rnd.pick(DURATIONS);
        if (cursor + gap + duration > DAY_END_MINUTES) break;
        slots.push({ doctor_id: doctor.id, start: dayStart + (cursor + gap) * 60_000, duration });
        cursor += gap + duration;
        made++;
      }
    }
  }
  slots.sort((a, b) => a.start - b.start);
  const total = Math.min(spec.appointments, slots.length);

  // Give each slot a patient who is free then: slots are in start order, so a patient's
  // "busy until" is all it takes to keep anyone from being in two places at once.
  const busyUntil = new Float64Array(patients.length);
  const appointments: GeneratedClinic['appointments'] = [];
  for (let i = 0; i < total && patients.length > 0; i++) {
    const slot = slots[i]!;
    let p = rnd.int(0, patients.length - 1);
    let tries = 0;
    while (busyUntil[p]! > slot.start && tries < patients.length) {
      p = (p + 1) % patients.length;
      tries++;
    }
    if (tries >= patients.length) continue; // everyone busy at that moment: skip the slot
    const end = slot.start + slot.duration * 60_000;
    const past = end <= now.getTime();
    const status = past
      ? rnd.pick(['completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'no_show', 'cancelled'])
      : rnd.pick(['scheduled', 'scheduled', 'scheduled', 'confirmed', 'confirmed']);
    // Cancelled appointments don't hold their slot, so they don't keep the patient busy.
    if (status !== 'cancelled') busyUntil[p] = end;
    appointments.push({
      id: rnd.uuid(),
      patient_id: patients[p]!.id,
      doctor_id: slot.doctor_id,
      starts_at: new Date(slot.start),
      duration_minutes: slot.duration,
      status,
      urgency: rnd.pick(['routine', 'routine', 'routine', 'routine', 'routine', 'routine', 'urgent', 'emergency']),
      reason: rnd.pick(REASONS),
      cancelled_at: status === 'cancelled' ? new Date(slot.start - 86_400_000) : null,
      cancellation_reason: status === 'cancelled' ? 'Patient asked to cancel' : null,
    });
  }
  return { specializations, doctors, doctorSpecializations, doctorHours, patients, appointments };
}

/** Mon–Fri dates: `before` working days before today (inclusive of today) and `after` after it. */
function workingDaysAround(today: string, before: number, after: number): string[] {
  const past: string[] = [];
  for (let d = today; past.length < before; d = addDays(d, -1)) if (isoWeekday(d) <= 5) past.push(d);
  const future: string[] = [];
  for (let d = addDays(today, 1); future.length < after; d = addDays(d, 1)) if (isoWeekday(d) <= 5) future.push(d);
  return [...past.reverse(), ...future];
}
