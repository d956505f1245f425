// PostgreSQL persistence of shape logs (migrations/0030). Why PostgreSQL and not files in
// DATA_DIR: a batch of entries, the membership counts and the processed LSN commit in one
// transaction, so after any crash the logs and the slot position agree exactly; backups
// carry the logs; and each test database is isolated for free.
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Pool } from '../db/pool.js';
import type { LogEntry, MemberChanges } from './convert.js';
import type { Members } from './subqueries.js';
import { DISPLAY_SETTINGS, type Row } from './replication.js';
import { andWhere, type CompiledShape, type ShapeDef } from './shape-def.js';
import type { Expr } from './where-parser.js';
import { lsnFromText, parseSnapshot, type Offset, type XidSnapshot } from './offsets.js';
import { toSql, whereColumns } from './where-eval.js';

export interface StoredShape {
  id: number;
  handle: string;
  defKey: string;
  definition: ShapeDef;
  snapshotRows: number;
  logRows: number;
  logBytes: number;
  lastLsn: bigint;
  lastOp: number;
  lastChangeAt: Date | null;
  /** What the snapshot saw, and the WAL position bounding it (null for shapes stored before 0130). */
  snapshot: XidSnapshot | null;
  snapshotWalLsn: bigint | null;
}

const MAX_OP = 2 ** 31 - 1;

export async function loadProcessedLsn(pool: Pool, slot: string): Promise<bigint> {
  await pool.query('INSERT INTO sync_state (slot_name) VALUES ($1) ON CONFLICT DO NOTHING', [slot]);
  const { rows } = await pool.query<{ processed_lsn: string }>(
    'SELECT processed_lsn::text FROM sync_state WHERE slot_name = $1',
    [slot],
  );
  return BigInt(rows[0]!.processed_lsn);
}

/** Forgets every shape of the slot (the slot was recreated: old offsets mean nothing). */
export async function purgeShapes(pool: Pool, slot: string): Promise<void> {
  await pool.query('DELETE FROM sync_shapes WHERE slot_name = $1', [slot]);
  await pool.query('UPDATE sync_state SET processed_lsn = 0, updated_at = now() WHERE slot_name = $1', [slot]);
}

export async function loadShapes(pool: Pool, slot: string): Promise<Array<StoredShape & { members: Members[] }>> {
  // Shapes whose snapshot never finished are useless: drop them.
  await pool.query(`DELETE FROM sync_shapes WHERE slot_name = $1 AND state = 'creating'`, [slot]);
  const { rows } = await pool.query(
    `SELECT id, handle, def_key, definition, snapshot_rows, log_rows, log_bytes, last_lsn::text, last_op, last_change_at,
            snapshot_xmin, snapshot_xmax, snapshot_xip, snapshot_wal_lsn::text
       FROM sync_shapes WHERE slot_name = $1 AND state = 'ready' ORDER BY id`,
    [slot],
  );
  const members = await pool.query<{ shape_id: string; subquery: number; member: string; n: number }>(
    `SELECT m.shape_id, m.subquery, m.member, m.n FROM sync_shape_members m JOIN sync_shapes s ON s.id = m.shape_id
      WHERE s.slot_name = $1`,
    [slot],
  );
  const byShape = new Map<number, Members[]>();
  for (const m of members.rows) {
    let list = byShape.get(Number(m.shape_id));
    if (!list) byShape.set(Number(m.shape_id), (list = []));
    (list[m.subquery] ??= new Map()).set(m.member, m.n);
  }
  return rows.map((r) => ({
    id: Number(r.id),
    handle: r.handle,
    defKey: r.def_key,
    definition: r.definition,
    snapshotRows: r.snapshot_rows,
    logRows: r.log_rows,
    logBytes: Number(r.log_bytes),
    lastLsn: BigInt(r.last_lsn),
    lastOp: r.last_op,
    lastChangeAt: r.last_change_at,
    snapshot:
      r.snapshot_xmin === null
        ? null
        : parseSnapshot(`${r.snapshot_xmin}:${r.snapshot_xmax}:${(r.snapshot_xip ?? []).join(',')}`),
    snapshotWalLsn: r.snapshot_wal_lsn === null ? null : BigInt(r.snapshot_wal_lsn),
    members: byShape.get(Number(r.id)) ?? [],
  }));
}

export async function insertShape(
  pool: Pool,
  slot: string,
  handle: string,
  defKey: string,
  def: ShapeDef,
): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO sync_shapes (handle, def_key, definition, slot_name) VALUES ($1, $2, $3, $4) RETURNING id`,
    [handle, defKey, JSON.stringify(def), slot],
  );
  return Number(rows[0]!.id);
}

export async function deleteShape(pool: Pool, id: number): Promise<void> {
  await pool.query('DELETE FROM sync_shapes WHERE id = $1', [id]);
}

async function setDisplaySettings(client: pg.PoolClient) {
  for (const [name, value] of Object.entries(DISPLAY_SETTINGS))
    await client.query('SELECT set_config($1, $2, true)', [name, value]);
}

/** What a snapshot's SQL needs of a shape (subqueries are written into the where's SQL). */
type SelectableShape = Pick<CompiledShape, 'schema' | 'table' | 'columns' | 'where' | 'info' | 'subqueries'>;

/** SQL selecting the shape's rows as ready-to-serve JSON insert messages. */
function snapshotSelect(shape: SelectableShape, bind: (v: string) => string, orderBy?: string): string {
  const table = `${pg.escapeIdentifier(shape.schema)}.${pg.escapeIdentifier(shape.table)}`;
  const quotePart = (s: string) => `"${s.replace(/\./g, '..').replace(/\//g, '//')}"`;
  const keyParts = shape.info.keyColumns
    .map((c) => `coalesce('/"' || replace(${pg.escapeIdentifier(c)}::text, '/', '//') || '"', '/_')`)
    .join(' || ');
  const key = `${bind(`${quotePart(shape.schema)}.${quotePart(shape.table)}`)}::text || ${keyParts}`;
  const value = `json_build_object(${shape.columns.map((c) => `${bind(c)}::text, ${pg.escapeIdentifier(c)}::text`).join(', ')})`;
  const headers = `json_build_object('operation', 'insert', 'relation', json_build_array(${bind(shape.schema)}::text, ${bind(shape.table)}::text))`;
  const where = shape.where ? `WHERE ${toSql(shape.where, {}, bind, whereColumns(shape.info, shape.subqueries))}` : '';
  return `SELECT json_build_object('key', ${key}, 'value', ${value}, 'headers', ${headers})::text AS body FROM ${table} ${where}${orderBy ? ` ORDER BY ${orderBy}` : ''}`;
}

function binder() {
  const values: string[] = [];
  return {
    values,
    bind: (v: string) => {
      values.push(v);
      return `$${values.length}`;
    },
  };
}

/** Checks a shape's SQL against the database (types, operators) without reading rows. */
export async function validateShapeSql(pool: Pool, shape: SelectableShape): Promise<void> {
  const b = binder();
  await pool.query(`${snapshotSelect(shape, b.bind)} LIMIT 0`, b.values);
}

/**
 * Takes the shape's snapshot and stores it as log entries at LSN 0, all in one REPEATABLE
 * READ transaction whose pg_current_snapshot() tells which replicated transactions it saw.
 */
export async function storeSnapshot(
  pool: Pool,
  id: number,
  shape: CompiledShape,
): Promise<{ snapshot: XidSnapshot; walLsn: bigint; rows: number; bytes: number; members: Members[] }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // The insert position bounds every commit this snapshot can see.
    const snap = await client.query<{ s: string; lsn: string }>(
      'SELECT pg_current_snapshot()::text AS s, pg_current_wal_insert_lsn()::text AS lsn',
    );
    await setDisplaySettings(client);
    const b = binder();
    const idParam = b.bind(String(id));
    // Counted as it is stored: the snapshot is most of a shape's storage (status page, /metrics).
    const insert = await client.query<{ rows: number; bytes: string }>(
      `WITH ins AS (
         INSERT INTO sync_shape_log (shape_id, lsn, op, body)
         SELECT ${idParam}::bigint, 0, (row_number() OVER ()) - 1, body FROM (${snapshotSelect(shape, b.bind)}) s
         RETURNING octet_length(body) AS n)
       SELECT count(*)::int AS rows, coalesce(sum(n), 0)::text AS bytes FROM ins`,
      b.values,
    );
    const rows = insert.rows[0]!.rows;
    const snapshot = parseSnapshot(snap.rows[0]!.s);
    const end = {
      headers: {
        control: 'snapshot-end',
        xmin: String(snapshot.xmin),
        xmax: String(snapshot.xmax),
        xip_list: snapshot.xip.map(String),
      },
    };
    const endBody = JSON.stringify(end);
    await client.query('INSERT INTO sync_shape_log (shape_id, lsn, op, body) VALUES ($1, 0, $2, $3)', [
      id,
      rows,
      endBody,
    ]);
    const bytes = Number(insert.rows[0]!.bytes) + Buffer.byteLength(endBody);
    const walLsn = lsnFromText(snap.rows[0]!.lsn);
    // Each subquery's counts, from the same snapshot as the rows.
    const members: Members[] = [];
    for (const sq of shape.subqueries) {
      const mb = binder();
      const select = pg.escapeIdentifier(sq.select);
      const inner = `${pg.escapeIdentifier(sq.schema)}.${pg.escapeIdentifier(sq.table)}`;
      const where = sq.where ? `(${toSql(sq.where, {}, mb.bind, whereColumns(sq.info))}) AND ` : '';
      const m = await client.query<{ member: string; n: number }>(
        `INSERT INTO sync_shape_members (shape_id, subquery, member, n)
         SELECT ${mb.bind(String(id))}::bigint, ${mb.bind(String(sq.index))}::int, ${select}::text, count(*)
           FROM ${inner} WHERE ${where}${select} IS NOT NULL GROUP BY ${select}
         RETURNING member, n`,
        mb.values,
      );
      members[sq.index] = new Map(m.rows.map((r) => [r.member, r.n]));
    }
    await client.query(
      `UPDATE sync_shapes SET state = 'ready', snapshot_xmin = $2, snapshot_xmax = $3, snapshot_xip = $4, snapshot_rows = $5,
              last_lsn = 0, last_op = $5, log_bytes = log_bytes + $6, snapshot_wal_lsn = $7 WHERE id = $1`,
      [id, String(snapshot.xmin), String(snapshot.xmax), snapshot.xip.map(String), rows, bytes, walLsn.toString()],
    );
    await client.query('COMMIT');
    return { snapshot, walLsn, rows, bytes, members };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Reads a shape's current rows whose `column` has one of the values (move-ins of subquery
 * shapes), with the snapshot seen and the WAL position bounding what it can have seen.
 */
export async function fetchRowsByColumn(
  pool: Pool,
  shape: CompiledShape,
  column: string,
  values: string[],
): Promise<{ rows: Row[]; snapshot: XidSnapshot; untilLsn: bigint }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await client.query<{ s: string; lsn: string }>(
      'SELECT pg_current_snapshot()::text AS s, pg_current_wal_insert_lsn()::text AS lsn',
    );
    await setDisplaySettings(client);
    const cols = shape.info.columns
      .map((c) => `${pg.escapeIdentifier(c.name)}::text AS ${pg.escapeIdentifier(c.name)}`)
      .join(', ');
    const table = `${pg.escapeIdentifier(shape.schema)}.${pg.escapeIdentifier(shape.table)}`;
    // Compared in the column's own type (its index serves it); the type name is the catalog's.
    const col = pg.escapeIdentifier(column);
    const type = pg.escapeIdentifier(shape.info.types.get(column)!);
    const { rows } = await client.query<Row>(
      `SELECT ${cols} FROM ${table} WHERE ${col} = ANY($1::${type}[]) ORDER BY ${col}`,
      [values],
    );
    await client.query('COMMIT');
    return { rows, snapshot: parseSnapshot(snap.rows[0]!.s), untilLsn: lsnFromText(snap.rows[0]!.lsn) };
  } finally {
    client.release();
  }
}

/** What a batch stored for one shape: its entries' count, size and last position. */
export interface ShapeAppend {
  shapeId: number;
  rows: number;
  bytes: number;
  lastLsn: bigint;
  lastOp: number;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES = /[\\\t\n\r]/g;
const copyEscape = (c: string) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r');

/** Rows and bytes of one COPY of log entries. */
const SLICE_ROWS = 5_000;
const SLICE_BYTES = 4 * 1024 * 1024;
/** Entries sent to PostgreSQL but not yet stored, at most (the converter waits beyond it). */
const IN_FLIGHT_BYTES = 32 * 1024 * 1024;

/**
 * One batch's storing transaction, written while the caller converts. Entries go by COPY in
 * slices of at most 5,000 rows / 4 MiB: one INSERT of a 100k-row transaction's entries for every
 * shape it reaches was hundreds of megabytes of array parameters, escaped and copied in memory
 * several times over (and past PostgreSQL's 1 GB value limit a little further on); COPY's text
 * lines need no quoting of the JSON. A slice takes the entries of as many shapes as fit (a
 * batch of small transactions for a hundred shapes is one COPY, not a hundred). Each slice is
 * sent as soon as it is full and the previous one is stored,
 * so PostgreSQL stores while the caller converts the next shape, and the caller waits only when
 * 32 MiB are in flight. Counters, membership counts and the processed LSN are
 * written by commit(), in the same transaction: after a crash the logs and the slot position
 * still agree exactly.
 */
export class LogWriter {
  /** The slices, one after another on the connection (pg runs one query at a time). */
  private tail: Promise<void> = Promise.resolve();
  private inFlight: Array<{ done: Promise<void>; bytes: number }> = [];
  private inFlightBytes = 0;
  private failure: { err: unknown } | undefined;
  private broken = false;

  private constructor(private readonly client: pg.PoolClient) {}

  static async open(pool: Pool): Promise<LogWriter> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
    } catch (err) {
      client.release();
      throw err;
    }
    return new LogWriter(client);
  }

  /** Lines of the slice being filled (entries of several shapes share a slice). */
  private lines: string[] = [];
  private lineBytes = 0;

  /** Queues a shape's entries (in commit order); waits only while too much is in flight. */
  async append(shapeId: number, entries: readonly LogEntry[]): Promise<void> {
    for (const e of entries) {
      // COPY's text format: one line per entry. Only a backslash, tab, newline or carriage
      // return needs escaping; a JSON body has no raw control character, and usually no
      // backslash either (the test is one native search per body).
      const body = COPY_SPECIAL.test(e.body) ? e.body.replace(COPY_ESCAPES, copyEscape) : e.body;
      this.lines.push(`${shapeId}\t${e.lsn}\t${e.op}\t${body}\n`);
      this.lineBytes += e.body.length;
      if (this.lines.length >= SLICE_ROWS || this.lineBytes >= SLICE_BYTES) await this.flush();
    }
  }

  /** Sends the slice being filled as one COPY, after the ones before it. */
  private async flush(): Promise<void> {
    if (!this.lines.length) return;
    const data = Buffer.from(this.lines.join(''));
    const bytes = this.lineBytes;
    this.lines = [];
    this.lineBytes = 0;
    const copy = () =>
      this.failure
        ? undefined
        : new Promise<void>((resolve, reject) => {
            const stream = this.client.query(copyFrom('COPY sync_shape_log (shape_id, lsn, op, body) FROM STDIN'));
            stream.on('error', reject);
            stream.on('finish', resolve);
            stream.end(data);
          });
    const done = this.tail.then(copy).then(
      () => {},
      (err: unknown) => void (this.failure ??= { err }),
    );
    this.tail = done;
    this.inFlight.push({ done, bytes });
    this.inFlightBytes += bytes;
    while (this.inFlightBytes > IN_FLIGHT_BYTES) await this.settleOldest();
    if (this.failure) throw this.failure.err;
  }

  private async settleOldest() {
    const oldest = this.inFlight.shift()!;
    await oldest.done;
    this.inFlightBytes -= oldest.bytes;
  }

  /**
   * Waits for every slice, writes the shapes' counters, the membership counts and the processed
   * LSN, and commits. Returns the snapshot the storing transaction saw: replicated transactions
   * not yet visible in it may be missed by shape snapshots taken next (see SyncService.unseen).
   */
  async commit(
    slot: string,
    appended: readonly ShapeAppend[],
    memberChanges: ReadonlyArray<{ shapeId: number; changes: MemberChanges }>,
    processedLsn: bigint,
  ): Promise<XidSnapshot> {
    const client = this.client;
    await this.flush();
    while (this.inFlight.length) await this.settleOldest();
    if (this.failure) throw this.failure.err;
    // One statement for every shape's counters: a batch can touch hundreds of shapes.
    const touched = appended.filter((a) => a.rows);
    if (touched.length) {
      await client.query(
        `UPDATE sync_shapes s SET log_rows = s.log_rows + u.n, log_bytes = s.log_bytes + u.bytes,
                last_lsn = u.lsn, last_op = u.op, last_change_at = now()
           FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::int[]) AS u(id, n, bytes, lsn, op)
          WHERE s.id = u.id`,
        [
          touched.map((a) => a.shapeId),
          touched.map((a) => a.rows),
          touched.map((a) => a.bytes),
          touched.map((a) => a.lastLsn.toString()),
          touched.map((a) => a.lastOp),
        ],
      );
    }
    // Membership counts as they stand after the batch: set the positive ones, drop the zeros.
    const counts = memberChanges.flatMap((b) => [...b.changes.values()].map((c) => ({ ...c, shapeId: b.shapeId })));
    const columns = (list: typeof counts) => [
      list.map((c) => c.shapeId),
      list.map((c) => c.subquery),
      list.map((c) => c.member),
      list.map((c) => c.n),
    ];
    const set = counts.filter((c) => c.n > 0);
    const gone = counts.filter((c) => c.n <= 0);
    if (set.length)
      await client.query(
        `INSERT INTO sync_shape_members (shape_id, subquery, member, n)
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[])
         ON CONFLICT (shape_id, subquery, member) DO UPDATE SET n = EXCLUDED.n`,
        columns(set),
      );
    if (gone.length)
      await client.query(
        `DELETE FROM sync_shape_members m USING unnest($1::bigint[], $2::int[], $3::text[]) AS g(shape_id, subquery, member)
          WHERE m.shape_id = g.shape_id AND m.subquery = g.subquery AND m.member = g.member`,
        columns(gone).slice(0, 3),
      );
    const state = await client.query<{ s: string }>(
      'UPDATE sync_state SET processed_lsn = $2, updated_at = now() WHERE slot_name = $1 RETURNING pg_current_snapshot()::text AS s',
      [slot, processedLsn.toString()],
    );
    await client.query('COMMIT');
    return parseSnapshot(state.rows[0]!.s);
  }

  /** Ends the transaction without storing anything (after a failure) and gives the connection back. */
  async rollback(): Promise<void> {
    // Slices still queued fail on the aborted transaction; they are only waited for here.
    await Promise.all(this.inFlight.map((f) => f.done));
    this.inFlight = [];
    await this.client.query('ROLLBACK').catch(() => (this.broken = true));
  }

  release(): void {
    // A connection that could not even roll back is closed rather than handed to the next user.
    this.client.release(this.broken || undefined);
  }
}

export interface ReadResult {
  entries: Array<{ lsn: bigint; op: number; body: string }>;
}

/** Entries after `from`, up to about `maxBytes`; `snapshotOnly` stops at the end of the snapshot. */
export async function readLog(
  pool: Pool,
  shapeId: number,
  from: Offset,
  maxBytes: number,
  snapshotOnly: boolean,
): Promise<ReadResult> {
  const entries: ReadResult['entries'] = [];
  let bytes = 0;
  let cursor = { lsn: from.lsn < 0n ? -1n : from.lsn, op: from.op === Infinity ? MAX_OP : from.op };
  for (;;) {
    // ORDER BY names the table's column: a bare `lsn` would sort by the text output column of
    // the same name, and 99999999 would come after 100000000 (pages then end at a wrong offset).
    const { rows } = await pool.query<{ lsn: string; op: number; body: string }>(
      `SELECT lsn::text, op, body FROM sync_shape_log
        WHERE shape_id = $1 AND (lsn, op) > ($2::bigint, $3::int) ${snapshotOnly ? 'AND lsn = 0' : ''}
        ORDER BY sync_shape_log.lsn, sync_shape_log.op LIMIT 2000`,
      [shapeId, cursor.lsn.toString(), cursor.op],
    );
    for (const r of rows) {
      entries.push({ lsn: BigInt(r.lsn), op: r.op, body: r.body });
      bytes += r.body.length + 1;
    }
    if (rows.length < 2000 || bytes >= maxBytes) return { entries };
    const last = entries[entries.length - 1]!;
    cursor = { lsn: last.lsn, op: last.op };
  }
}

/** Marks use of a shape (retention drops shapes nobody asked for in a long time). */
export async function touchShapes(pool: Pool, ids: number[]): Promise<void> {
  if (ids.length) await pool.query('UPDATE sync_shapes SET last_used_at = now() WHERE id = ANY($1::bigint[])', [ids]);
}

/** Shapes nobody has requested for `days`: removed with their logs. */
export async function expireIdleShapes(pool: Pool, slot: string, days: number): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `DELETE FROM sync_shapes WHERE slot_name = $1 AND last_used_at < now() - make_interval(days => $2) RETURNING id`,
    [slot, days],
  );
  return rows.map((r) => Number(r.id));
}

export interface SubsetQuery {
  where: Expr | undefined;
  /** Validated ORDER BY items: column + direction + nulls. */
  orderBy: Array<{ column: string; desc: boolean; nullsFirst?: boolean }>;
  limit?: number;
  offset?: number;
}

export interface SubsetResult {
  metadata: { xmin: string; xmax: string; xip_list: string[]; snapshot_mark: number; database_lsn: string };
  /** Insert messages, ready-made JSON. */
  bodies: string[];
}

/**
 * A subset snapshot: the shape's rows that also match the subset's filter, ordered and paged,
 * read in one REPEATABLE READ transaction whose xmin/xmax/xip let the client drop stream
 * changes the rows already include.
 */
export async function subsetSnapshot(pool: Pool, shape: SelectableShape, q: SubsetQuery): Promise<SubsetResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The insert position, not pg_current_wal_lsn() (written WAL): a commit made with
    // synchronous_commit = off is visible before its record is written, and the client keeps
    // filtering with this snapshot only until the stream passes database_lsn.
    const snap = await client.query<{ s: string; lsn: string }>(
      `SELECT pg_current_snapshot()::text AS s, (pg_current_wal_insert_lsn() - '0/0')::text AS lsn`,
    );
    await setDisplaySettings(client);
    const b = binder();
    const narrowed: SelectableShape = { ...shape, where: andWhere(shape.where, q.where) };
    const order = q.orderBy
      .map(
        (o) =>
          `${pg.escapeIdentifier(o.column)} ${o.desc ? 'DESC' : 'ASC'}${o.nullsFirst === undefined ? '' : o.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST'}`,
      )
      .join(', ');
    let sql = snapshotSelect(narrowed, b.bind, order || undefined);
    if (q.limit !== undefined) sql += ` LIMIT ${b.bind(String(q.limit))}::bigint`;
    if (q.offset !== undefined) sql += ` OFFSET ${b.bind(String(q.offset))}::bigint`;
    const { rows } = await client.query<{ body: string }>(sql, b.values);
    await client.query('COMMIT');
    const snapshot = parseSnapshot(snap.rows[0]!.s);
    return {
      metadata: {
        xmin: String(snapshot.xmin),
        xmax: String(snapshot.xmax),
        xip_list: snapshot.xip.map(String),
        snapshot_mark: Math.floor(Math.random() * 2 ** 31),
        database_lsn: snap.rows[0]!.lsn,
      },
      bodies: rows.map((r) => r.body),
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
