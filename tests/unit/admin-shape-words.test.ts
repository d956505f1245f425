// Shapes on the fleet page are described in words: role, the doctor's name, the window in
// the clinic's zone; never the raw SQL or ids the sync service reports.
import { describe, expect, it } from 'vitest';
import { describeShape, doctorIdsIn } from '../../server/admin/shape-words.js';

const DOC = '3f6c1c2e-8a51-4c1e-9d7b-0a1b2c3d4e5f';
const names = new Map([[DOC, 'Dr Ana Ruiz']]);

describe('describeShape', () => {
  it("names a clinician's doctor and the window in the clinic's zone", () => {
    const scope = `clinician (doctor ${DOC}) · deleted_at IS NULL AND starts_at >= '2026-10-04T23:00:00.000Z' AND doctor_id = '${DOC}'`;
    expect(doctorIdsIn([scope])).toEqual([DOC]);
    const words = describeShape(scope, names, 'Europe/London');
    expect(words).toBe('Clinician · Dr Ana Ruiz · from Mon, 5 Oct 2026 on');
    expect(words).not.toMatch(/[0-9a-f]{8}-|deleted_at|>=/);
  });

  it("describes a clinician's patients and a receptionist's whole-clinic shapes", () => {
    expect(
      describeShape(
        `clinician (doctor ${DOC}) · deleted_at IS NULL AND id IN (SELECT patient_id FROM appointments WHERE doctor_id = '${DOC}' AND deleted_at IS NULL)`,
        names,
        'UTC',
      ),
    ).toBe('Clinician · Dr Ana Ruiz · patients with an appointment with this doctor');
    expect(
      describeShape(
        `clinician (doctor ${DOC}) · deleted_at IS NULL AND id IN (SELECT patient_id FROM appointments WHERE doctor_id = '${DOC}' AND deleted_at IS NULL) AND (full_name LIKE 'A%')`,
        names,
        'UTC',
      ),
    ).toBe(
      "Clinician · Dr Ana Ruiz · patients with an appointment with this doctor · narrowed by the app: full_name LIKE 'A%'",
    );
    expect(
      describeShape(`receptionist · deleted_at IS NULL AND starts_at >= '2026-10-05T00:00:00.000Z'`, names, 'UTC'),
    ).toBe('Receptionist · all doctors · from Mon, 5 Oct 2026 on');
    expect(describeShape('admin', names, 'UTC')).toBe('Admin · all doctors');
  });

  it('keeps what the app narrowed, and copes with an unknown doctor', () => {
    const other = '00000000-0000-4000-8000-000000000001';
    expect(
      describeShape(`clinician (doctor ${other}) · doctor_id = '${other}' AND (status = 'scheduled')`, names, 'UTC'),
    ).toBe("Clinician · a doctor no longer on the list · narrowed by the app: status = 'scheduled'");
  });
});
