// One pass of the sender: replays due entries in queue order and records each answer.
// State machine of an entry (docs/offline-writes.md):
//   pending ──send──► sending ──2xx──► accepted ──synced row arrives──► (deleted)
//                        │ 4xx ─────► rejected ──discard──► (deleted)
//                        │ net/5xx/408/429 ──► pending (next_attempt_at = backoff)
//                        └ 401 ─────► pending, sender paused until login
// An entry left in "sending" by a closed tab is sent again: the server answers a replay
// from its idempotency table, so it is applied once.
import { backoffDelay, classify, parseRetryAfter, waitDelay, type BackoffPolicy } from './classify';
import { ENTRY_COLUMNS, type OutboxDb, type OutboxEntry, type OutboxError } from './db';
import { confirmAccepted } from './confirm';

export interface OutboxRequest {
  method: string;
  path: string;
  body: unknown;
  idempotencyKey: string;
}

export interface OutboxResponse {
  status: number;
  retryAfter: string | null;
  json: unknown;
}

/** Sends one request; throws (any error) when no answer came back. */
export type Transport = (req: OutboxRequest) => Promise<OutboxResponse>;

export interface PassResult {
  sent: number;
  /** the sender must wait for a login before sending again */
  paused: 'auth' | null;
  /** when the next due entry may be sent (backoff), if one waits */
  nextAttemptAt: number | null;
}

export interface PassOptions {
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
}

/** After a crash or a closed tab: entries caught mid-flight are sent again (idempotent). */
export async function recoverInDoubt(db: OutboxDb): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE outbox SET state = 'pending', updated_at = now() WHERE state = 'sending' RETURNING id`,
  );
  return rows.length;
}

/** The network is back (or the user asked): entries in backoff are due now. */
export async function retryNow(db: OutboxDb): Promise<void> {
  await db.query(`UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending' AND next_attempt_at > now()`);
}

export async function hasAccepted(db: OutboxDb): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM outbox WHERE state = 'accepted' LIMIT 1`);
  return rows.length > 0;
}

async function nextPending(db: OutboxDb): Promise<OutboxEntry | undefined> {
  const { rows } = await db.query<OutboxEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT 1`,
  );
  return rows[0];
}

async function markRejected(db: OutboxDb, id: string, error: OutboxError): Promise<void> {
  await db.query(`UPDATE outbox SET state = 'rejected', last_error = $2, updated_at = now() WHERE id = $1`, [
    id,
    JSON.stringify(error),
  ]);
}

/** The kind of the rejected entry this one depends on, or null when it may go. */
async function rejectedDependency(db: OutboxDb, entry: OutboxEntry): Promise<string | null> {
  if (!entry.depends_on) return null;
  const { rows } = await db.query<{ state: string; kind: string }>('SELECT state, kind FROM outbox WHERE id = $1', [
    entry.depends_on,
  ]);
  return rows[0]?.state === 'rejected' ? rows[0].kind : null;
}

function errorOf(status: number | null, json: unknown): OutboxError {
  const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  if (status === null) return { status, code: 'network', message: 'No answer from the server.' };
  return {
    status,
    code: err?.code ?? 'http_error',
    message: err?.message ?? `Request failed (${status}).`,
    details: err?.details,
  };
}

interface AcceptedAnswer {
  appointment?: { id?: string; version?: number };
  patient?: { id?: string; updated_at?: string };
  /** a series request: the last occurrence it wrote confirms it (one transaction wrote them all) */
  occurrences?: { id: string; outcome: string; version?: number }[];
  txid?: number;
}

/** Accepted: remember which synced row (and which version of it) confirms the write. */
async function recordAccepted(db: OutboxDb, entry: OutboxEntry, json: unknown): Promise<void> {
  const answer = (json ?? {}) as AcceptedAnswer;
  const written = answer.occurrences?.filter((o) => o.outcome === 'booked' || o.outcome === 'changed').at(-1);
  if (written) answer.appointment = { id: written.id, version: written.version };
  const patient = answer.patient?.id ? answer.patient : null;
  await db.query(
    `UPDATE outbox SET state = 'accepted', txid = $2, confirm_table = $3, confirm_id = $4, confirm_version = $5,
       confirm_updated_at = $6, last_error = NULL, updated_at = now() WHERE id = $1`,
    [
      entry.id,
      answer.txid ?? null,
      patient ? 'patients' : 'appointments',
      patient?.id ?? answer.appointment?.id ?? entry.result_id ?? entry.entity_id,
      patient ? null : (answer.appointment?.version ?? 1),
      patient?.updated_at ?? null,
    ],
  );
}

/** Sends due entries in order until the queue is empty, one must wait, or auth is needed. */
export async function sendPass(db: OutboxDb, transport: Transport, opts: PassOptions = {}): Promise<PassResult> {
  const now = opts.now ?? Date.now;
  let sent = 0;
  for (;;) {
    const entry = await nextPending(db);
    if (!entry) break;
    const dueAt = new Date(entry.next_attempt_at).getTime();
    if (dueAt > now()) return { sent, paused: null, nextAttemptAt: dueAt };
    const rejectedKind = await rejectedDependency(db, entry);
    if (rejectedKind) {
      await markRejected(db, entry.id, {
        status: null,
        code: 'dependency_rejected',
        message:
          rejectedKind === 'patient_create'
            ? 'The new patient this change needs was rejected.'
            : 'The booking this change depends on was rejected.',
      });
      continue;
    }
    // Durable "sending" before the request: a crash from here on is resolved by a replay.
    await db.query(`UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = now() WHERE id = $1`, [
      entry.id,
    ]);
    let res: OutboxResponse | null = null;
    try {
      res = await transport({ method: entry.method, path: entry.path, body: entry.body, idempotencyKey: entry.id });
    } catch {
      res = null;
    }
    sent++;
    const retryAfterMs = parseRetryAfter(res?.retryAfter, now());
    const verdict = classify(res?.status ?? null, retryAfterMs !== null);
    if (verdict === 'accepted') {
      await recordAccepted(db, entry, res!.json);
    } else if (verdict === 'rejected') {
      await markRejected(db, entry.id, errorOf(res!.status, res!.json));
    } else if (verdict === 'auth') {
      await db.query(`UPDATE outbox SET state = 'pending', last_error = $2, updated_at = now() WHERE id = $1`, [
        entry.id,
        JSON.stringify(errorOf(401, res!.json)),
      ]);
      return { sent, paused: 'auth', nextAttemptAt: null };
    } else if (verdict === 'wait') {
      // Not a failure: the attempt is given back and the entry waits as long as it was told.
      const at = now() + waitDelay(retryAfterMs!, opts.random);
      await db.query(
        `UPDATE outbox SET state = 'pending', attempts = greatest(0, attempts - 1), next_attempt_at = $2, last_error = $3,
           updated_at = now() WHERE id = $1`,
        [entry.id, new Date(at).toISOString(), JSON.stringify(errorOf(res!.status, res!.json))],
      );
      return { sent, paused: null, nextAttemptAt: at };
    } else {
      const delay = backoffDelay(entry.attempts + 1, retryAfterMs, opts.backoff, opts.random);
      const at = now() + delay;
      await db.query(
        `UPDATE outbox SET state = 'pending', next_attempt_at = $2, last_error = $3, updated_at = now() WHERE id = $1`,
        [entry.id, new Date(at).toISOString(), JSON.stringify(errorOf(res?.status ?? null, res?.json ?? null))],
      );
      return { sent, paused: null, nextAttemptAt: at };
    }
  }
  await confirmAccepted(db);
  return { sent, paused: null, nextAttemptAt: null };
}
