// Which shapes a device syncs and how their rows map onto the local *_synced tables. The
// server decides rows and columns by role (a receptionist's appointments carry no
// clinical_notes); the client only names tables.
import type { ChangeMessage } from '@electric-sql/client';
import { SYNCED_TABLES, SYNCED_TABLE_NAMES, type SyncedTableName } from '../db/schema/tables';

/** pglite-sync's subscription key: a reload resumes from the offsets stored under it. */
export const SUBSCRIPTION_KEY = 'clinic-v1';

/**
 * Keeps only the columns the local table has. Inserts list the columns they carry (so a
 * column the role may not see stays NULL) and updates carry the key plus changed columns, so
 * a plain pick is right for both; a column the server adds later is ignored until a local
 * migration adds it.
 */
export function pickKnownColumns(table: SyncedTableName) {
  const known: readonly string[] = SYNCED_TABLES[table].columns;
  return (message: ChangeMessage<Record<string, unknown>>): Record<string, unknown> => {
    const row: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(message.value)) if (known.includes(key)) row[key] = value;
    return row;
  };
}

/**
 * One shape per synced table. `fetchClient` lets Node tests send a session cookie or delay one
 * shape's answers (the browser sends its cookie by itself); the engine waits for the network
 * (online-fetch.ts) and holds back some shapes' live requests while the outbox sends (live-gate.ts).
 */
export function shapeDefinitions(
  shapeUrl: string,
  onError: (table: SyncedTableName, error: unknown) => void,
  fetchClient?: (table: SyncedTableName) => typeof fetch,
) {
  return Object.fromEntries(
    SYNCED_TABLE_NAMES.map((name) => {
      const t = SYNCED_TABLES[name];
      return [
        name,
        {
          shape: {
            url: shapeUrl,
            params: { table: t.shape },
            ...(fetchClient ? { fetchClient: fetchClient(name) } : {}),
            onError: (error: unknown) => {
              onError(name, error);
            },
          },
          table: t.local,
          primaryKey: [...t.primaryKey],
          mapColumns: pickKnownColumns(name),
        },
      ];
    }),
  );
}
