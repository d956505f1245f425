// The booking form's series path, kept out of the form: book the series from the chosen slot
// and the "Repeat" choice, and say in words what the device refused.
import { formatDateTime } from '../format';
import { bookSeries } from './device';
import { ruleOf, type RepeatChoice } from './rule';
import { SeriesLocalConflictError, SeriesValidationError } from './writes';

interface FormValues {
  patient_id: string;
  doctor_id: string;
  duration_minutes: number;
  reason: string | null;
}

/** Books (locally, queued) and returns the page to open: the first occurrence shown. */
export async function bookSeriesFromForm(
  form: FormValues,
  slot: { starts_at: string },
  repeat: RepeatChoice,
  timeZone: string,
  force: boolean,
): Promise<string> {
  const { shown } = await bookSeries(
    { ...form, starts_at: slot.starts_at, rrule: ruleOf(repeat), mode: repeat.mode },
    timeZone,
    { force },
  );
  return shown[0] ? `/appointments/${shown[0].id}` : '/outbox';
}

/** This device already shows a conflict for some occurrence ("Book anyway" applies). */
export const isSeriesConflict = (err: unknown) => err instanceof SeriesLocalConflictError;

/** A sentence for a refused series, or null when the error is not a series refusal. */
export function seriesProblem(err: unknown, timeZone: string): string | null {
  if (err instanceof SeriesValidationError) return err.message;
  if (err instanceof SeriesLocalConflictError) {
    const taken = err.occurrences
      .filter((o) => o.conflicts.length > 0)
      .map((o) => formatDateTime(o.starts_at, timeZone));
    return `This device already shows appointments at ${taken.join(', ')}. Choose "Book the free ones", or book anyway and let the server decide.`;
  }
  return null;
}
