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

async function markRejected(db: OutboxDb, id: string, error: OutboxError): Promise<void> {
  await db.query(`UPDATE outbox SET state = 'rejected', last_error = $2, updated_at = now() WHERE id = $1`, [
    id,
    JSON.stringify(error),
  ]);
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

/** What an accepted entry records: which synced row (and which version of it) confirms the write. */
interface AcceptedRecord {
  id: string;
  txid: number | null;
  confirm_table: 'appointments' | 'patients';
  confirm_id: string | null;
  confirm_version: number | null;
  confirm_updated_at: string | null;
}

function acceptedRecord(entry: OutboxEntry, json: unknown): AcceptedRecord {
  const answer = (json ?? {}) as AcceptedAnswer;
  const written = answer.occurrences?.filter((o) => o.outcome === 'booked' || o.outcome === 'changed').at(-1);
  if (written) answer.appointment = { id: written.id, version: written.version };
  const patient = answer.patient?.id ? answer.patient : null;
  return {
    id: entry.id,
    txid: answer.txid ?? null,
    confirm_table: patient ? 'patients' : 'appointments',
    confirm_id: patient?.id ?? answer.appointment?.id ?? entry.result_id ?? entry.entity_id,
    confirm_version: patient ? null : (answer.appointment?.version ?? 1),
    confirm_updated_at: patient?.updated_at ?? null,
  };
}

/**
 * One statement for a step of the pass: the accepted answers received since the last step
 * are recorded, and the entries about to leave are marked `sending` (durably, before their
 * requests: a crash from there on is resolved by a replay under the same key). Every
 * statement waits its turn in the database worker behind the sync stream's writes and the
 * screens' queries; one per step instead of two per entry is what lets a replay keep up with
 * answers that arrive several at a time.
 */
async function recordStep(db: OutboxDb, accepted: AcceptedRecord[], sending: string[]): Promise<void> {
  await db.query(
    `WITH accepted AS (
       UPDATE outbox o SET state = 'accepted', txid = a.txid, confirm_table = a.confirm_table,
              confirm_id = a.confirm_id, confirm_version = a.confirm_version,
              confirm_updated_at = a.confirm_updated_at, last_error = NULL, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS a(id uuid, txid bigint, confirm_table text, confirm_id uuid,
                                                  confirm_version integer, confirm_updated_at timestamptz)
        WHERE o.id = a.id
        RETURNING o.id)
     UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = now() WHERE id = ANY($2::uuid[])`,
    [JSON.stringify(accepted), sending],
  );
}

/**
 * How many independent entries may be in flight at once. Chromium opens at most six HTTP/1.1
 * connections per host and the sync long-polls use some of them; more would only queue in
 * the browser. Tests pass 1 where their server-side clock is shared by all requests.
 */
export const SEND_WINDOW = 4;

/** Statuses a one-tap step moves between without freeing or taking a slot (all active). */
const SLOT_NEUTRAL_STATUSES = ['confirmed', 'checked_in', 'in_progress'];

interface QueuedEntry extends OutboxEntry {
  /** doctors and patients of the rows the entry is about (appointments view), if any */
  doctors: string[] | null;
  patients: string[] | null;
  dependency_state: string | null;
  dependency_kind: string | null;
}

/**
 * What an entry's outcome on the server may depend on: entries sharing a key are sent one
 * after the other in queue order, entries sharing none may be in flight together (their
 * answers cannot depend on each other's). '*' = everything (an entry of a kind not analysed
 * here, or whose rows are no longer on the device): sent alone, in order.
 *  - the rows it is about or creates: two changes of one appointment (or patient) keep order;
 *  - writes that take or free a slot (book, reschedule, cancel, no-show, completion, a revert
 *    to scheduled): the doctor and the patient, because the server's overlap checks read the
 *    other active appointments of both (a cancel may free the slot a later booking needs);
 *  - patient writes: one key for all of them (MRNs are unique across patients).
 */
function sendKeys(e: QueuedEntry): string[] | '*' {
  const rows = [`row:${e.entity_id}`, ...(e.result_id ? [`row:${e.result_id}`] : [])];
  if (e.kind === 'patient_create' || e.kind === 'patient_update') return [...rows, 'patients'];
  if (e.kind === 'update') return rows;
  const status = (e.body as { status?: string }).status;
  if (e.kind === 'status' && status && SLOT_NEUTRAL_STATUSES.includes(status)) return rows;
  if (e.kind !== 'book' && e.kind !== 'reschedule' && e.kind !== 'cancel' && e.kind !== 'status') return '*';
  const body = e.body as { doctor_id?: string; patient_id?: string };
  const doctors = [...(e.doctors ?? []), ...(body.doctor_id ? [body.doctor_id] : [])];
  const patients = [...(e.patients ?? []), ...(body.patient_id ? [body.patient_id] : [])];
  if (!doctors.length || !patients.length) return '*';
  return [...rows, ...doctors.map((d) => `doctor:${d}`), ...patients.map((p) => `patient:${p}`)];
}

async function pendingEntries(db: OutboxDb): Promise<QueuedEntry[]> {
  const cols = ENTRY_COLUMNS.split(', ')
    .map((c) => `o.${c}`)
    .join(', ');
  const { rows } = await db.query<QueuedEntry>(
    `SELECT ${cols},
            (SELECT array_agg(DISTINCT a.doctor_id) FROM appointments a WHERE a.id IN (o.entity_id, o.result_id)) AS doctors,
            (SELECT array_agg(DISTINCT a.patient_id) FROM appointments a WHERE a.id IN (o.entity_id, o.result_id)) AS patients,
            d.state AS dependency_state, d.kind AS dependency_kind
       FROM outbox o LEFT JOIN outbox d ON d.id = o.depends_on
      WHERE o.state = 'pending' ORDER BY o.seq`,
  );
  return rows;
}

type Answer = { entry: QueuedEntry; res: OutboxResponse | null };

/**
 * Sends due entries in queue order until the queue is empty, one must wait, or auth is
 * needed. Entries whose outcomes cannot depend on each other (`sendKeys`) are in flight
 * together, up to `window`; an entry goes only once every earlier entry sharing a key with
 * it, and the entry it depends on, has its answer. An entry waiting out a backoff holds every
 * entry queued after it that has not left yet.
 */
export async function sendPass(
  db: OutboxDb,
  transport: Transport,
  opts: PassOptions & { window?: number } = {},
): Promise<PassResult> {
  const now = opts.now ?? Date.now;
  const window = Math.max(1, opts.window ?? SEND_WINDOW);
  let sent = 0;
  let paused: 'auth' | null = null;
  let nextAttemptAt: number | null = null;
  /** entry id → its request while in flight */
  const inFlight = new Map<string, Promise<unknown>>();
  /** answers received and not handled yet */
  const settled: Answer[] = [];
  /** accepted answers handled and not recorded yet: they go with the next step's statement */
  const toRecord: AcceptedRecord[] = [];
  /** outcome of entries answered in this pass (a dependent one is rejected with its parent) */
  const answered = new Map<string, 'accepted' | 'rejected'>();

  for (;;) {
    const queue = await pendingEntries(db);
    let progressed = false;
    // Schedule, send, record answers, until nothing more of this snapshot of the queue can go.
    for (;;) {
      const launch: QueuedEntry[] = [];
      if (!paused && nextAttemptAt === null) {
        const busy = new Set<string>();
        let barrier = false;
        for (const e of queue) {
          if (answered.has(e.id)) continue;
          const flying = inFlight.has(e.id);
          const dueAt = new Date(e.next_attempt_at).getTime();
          if (!flying && dueAt > now()) {
            // Not due: it holds the queue behind it (later entries may build on it).
            if (inFlight.size === 0 && launch.length === 0 && !progressed) nextAttemptAt = dueAt;
            break;
          }
          const parentState = e.depends_on ? (answered.get(e.depends_on) ?? e.dependency_state) : null;
          if (!flying && parentState === 'rejected') {
            await markRejected(db, e.id, {
              status: null,
              code: 'dependency_rejected',
              message:
                (e.dependency_kind ?? queue.find((q) => q.id === e.depends_on)?.kind) === 'patient_create'
                  ? 'The new patient this change needs was rejected.'
                  : 'The booking this change depends on was rejected.',
            });
            answered.set(e.id, 'rejected');
            progressed = true;
            continue;
          }
          const keys = sendKeys(e);
          const parentOpen = !!e.depends_on && parentState !== 'accepted' && parentState !== null;
          const free =
            !barrier &&
            !parentOpen &&
            (keys === '*' ? busy.size === 0 && inFlight.size === 0 : !keys.some((k) => busy.has(k)));
          if (keys === '*') barrier = true;
          else for (const k of keys) busy.add(k);
          if (flying || !free) continue;
          if (inFlight.size + launch.length >= window) break;
          launch.push(e);
          if (barrier) break;
        }
      }
      if (launch.length || toRecord.length) {
        await recordStep(
          db,
          toRecord.splice(0),
          launch.map((e) => e.id),
        );
        for (const entry of launch) {
          sent++;
          inFlight.set(
            entry.id,
            transport({ method: entry.method, path: entry.path, body: entry.body, idempotencyKey: entry.id }).then(
              (res) => settled.push({ entry, res }),
              () => settled.push({ entry, res: null }),
            ),
          );
        }
      }
      if (inFlight.size === 0) break;
      // Every answer in by now is handled in this step, not only the first.
      if (!settled.length) await Promise.race(inFlight.values());
      for (const { entry, res } of settled.splice(0)) {
        inFlight.delete(entry.id);
        progressed = true;
        const outcome = await recordAnswer(db, entry, res, now, opts);
        if (typeof outcome === 'object' && 'accepted' in outcome) {
          toRecord.push(outcome.accepted);
          answered.set(entry.id, 'accepted');
        } else if (outcome === 'rejected') answered.set(entry.id, outcome);
        else if (outcome === 'auth') paused = 'auth';
        else nextAttemptAt = Math.min(nextAttemptAt ?? Infinity, outcome.at);
      }
    }
    if (paused) return { sent, paused, nextAttemptAt: null };
    if (nextAttemptAt !== null) return { sent, paused: null, nextAttemptAt };
    // Entries queued while this snapshot was being sent go in the same pass.
    if (!progressed) break;
  }
  await confirmAccepted(db);
  return { sent, paused: null, nextAttemptAt: null };
}

/**
 * Records one answer; says how the entry ended up. An acceptance is returned, not written: the
 * pass records it with its next step (`recordStep`).
 */
async function recordAnswer(
  db: OutboxDb,
  entry: OutboxEntry,
  res: OutboxResponse | null,
  now: () => number,
  opts: PassOptions,
): Promise<{ accepted: AcceptedRecord } | 'rejected' | 'auth' | { at: number }> {
  const retryAfterMs = parseRetryAfter(res?.retryAfter, now());
  const verdict = classify(res?.status ?? null, retryAfterMs !== null);
  if (verdict === 'accepted') return { accepted: acceptedRecord(entry, res!.json) };
  if (verdict === 'rejected') {
    await markRejected(db, entry.id, errorOf(res!.status, res!.json));
    return 'rejected';
  }
  if (verdict === 'auth') {
    await db.query(`UPDATE outbox SET state = 'pending', last_error = $2, updated_at = now() WHERE id = $1`, [
      entry.id,
      JSON.stringify(errorOf(401, res!.json)),
    ]);
    return 'auth';
  }
  if (verdict === 'wait') {
    // Not a failure: the attempt is given back and the entry waits as long as it was told.
    const at = now() + waitDelay(retryAfterMs!, opts.random);
    await db.query(
      `UPDATE outbox SET state = 'pending', attempts = greatest(0, attempts - 1), next_attempt_at = $2, last_error = $3,
         updated_at = now() WHERE id = $1`,
      [entry.id, new Date(at).toISOString(), JSON.stringify(errorOf(res!.status, res!.json))],
    );
    return { at };
  }
  const delay = backoffDelay(entry.attempts + 1, retryAfterMs, opts.backoff, opts.random);
  const at = now() + delay;
  await db.query(
    `UPDATE outbox SET state = 'pending', next_attempt_at = $2, last_error = $3, updated_at = now() WHERE id = $1`,
    [entry.id, new Date(at).toISOString(), JSON.stringify(errorOf(res?.status ?? null, res?.json ?? null))],
  );
  return { at };
}
