// The series actions screens call: written locally (durably), then the sender is woken.
// Edits of several occurrences at once need the server (POST /api/series/:id/edit).
import { api } from '../api/client';
import { context, kickSender } from '../outbox/device';
import type { CancelSeriesInput, EditSeriesInput } from '../shared/series';
import { bookSeriesLocally, cancelSeriesLocally, type SeriesRequest } from './writes';

export async function bookSeries(input: SeriesRequest, timeZone: string, opts: { force?: boolean } = {}) {
  const { db, userId } = await context();
  const result = await bookSeriesLocally(db, userId, input, timeZone, opts);
  kickSender();
  return result;
}

export async function cancelSeries(seriesId: string, input: CancelSeriesInput): Promise<string[]> {
  const { db, userId } = await context();
  const ids = await cancelSeriesLocally(db, userId, seriesId, input);
  kickSender();
  return ids;
}

export function editSeriesOnline(seriesId: string, input: EditSeriesInput) {
  return api<{ occurrences: { id: string; outcome: string }[] }>('POST', `/api/series/${seriesId}/edit`, input);
}
