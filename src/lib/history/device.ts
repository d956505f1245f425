// The patient page's "Earlier visits" on this device: load a page from the server into the
// local database (where it stays for offline use).
import { currentDb } from '../db/client';
import { session } from '../session/session.svelte';
import { fetchHistoryPage, storeHistoryPage, type HistoryDb, type HistoryPage } from './load';

export { historyErrorMessage, isNoConnection } from './plan';

export async function loadEarlierVisits(patientId: string, offset: number): Promise<HistoryPage> {
  const dbPromise = currentDb();
  if (!dbPromise) throw new Error('The local database is not open.');
  const db = (await dbPromise) as unknown as HistoryDb;
  const values = await fetchHistoryPage(
    `${location.origin}/v1/shape`,
    patientId,
    offset,
    session.config.clinic_timezone,
  );
  return storeHistoryPage(db, patientId, offset, values);
}
