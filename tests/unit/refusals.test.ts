// A refusal in words: known codes become sentences, unknown ones keep the server's message,
// and no text is ever a bare code.
import { describe, expect, it } from 'vitest';
import { refusalReason, suggestedSlots } from '../../src/lib/refusals.js';

describe('refusalReason', () => {
  it('words the booking refusals', () => {
    expect(refusalReason({ code: 'slot_conflict', message: 'x' })).toBe(
      'The doctor already has another appointment at that time.',
    );
    expect(refusalReason({ code: 'patient_conflict', message: 'x' })).toContain('patient');
    expect(refusalReason({ code: 'outside_working_hours', message: 'x' })).toContain('working hours');
  });

  it("falls back to the server's message, then to a sentence", () => {
    expect(
      refusalReason({ code: 'invalid_transition', message: "A completed appointment can't be rescheduled." }),
    ).toBe("A completed appointment can't be rescheduled.");
    expect(refusalReason({ code: 'whatever', message: '' })).toBe('The server refused this change.');
    expect(refusalReason(null)).toBe('The server refused this change.');
  });
});

describe('suggestedSlots', () => {
  it('reads the suggestions of a 409 and caps them', () => {
    const suggestions = Array.from({ length: 9 }, (_, i) => ({ starts_at: `s${i}`, ends_at: `e${i}` }));
    expect(suggestedSlots({ details: { suggestions } })).toHaveLength(6);
    expect(suggestedSlots({ details: { conflicts: [] } })).toEqual([]);
    expect(suggestedSlots(null)).toEqual([]);
  });
});
