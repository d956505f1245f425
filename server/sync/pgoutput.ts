// A reader of PostgreSQL's pgoutput protocol (version 1), keeping every value as PostgreSQL's
// text output: the sync service needs exactly those strings (they are what Electric's clients
// parse). It plugs into pg-logical-replication through its public plugin interface (name,
// start, parse), so no private part of that library is touched.
// Format: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
import type { LogicalReplicationService } from 'pg-logical-replication';

export type TextRow = Record<string, string | null | undefined>;

export interface RelationInfo {
  id: number;
  schema: string;
  name: string;
  columns: string[];
  /** Columns of the replica identity (flag 1 in the Relation message). */
  keyColumns: string[];
}

export type PgoutputMessage =
  | { tag: 'begin'; commitLsn: string; commitTimeUs: bigint; xid: number }
  | { tag: 'commit'; commitLsn: string; endLsn: string; commitTimeUs: bigint }
  | { tag: 'relation'; relation: RelationInfo }
  | { tag: 'insert'; relation: RelationInfo; new: TextRow }
  | { tag: 'update'; relation: RelationInfo; old: TextRow | null; new: TextRow }
  | { tag: 'delete'; relation: RelationInfo; old: TextRow }
  | { tag: 'truncate'; relations: RelationInfo[] }
  | { tag: 'other'; code: string }
  | { tag: 'error'; error: Error };

/** Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_US = 946_684_800_000_000n;

function lsnText(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  u8() {
    return this.buf.readUInt8(this.pos++);
  }
  i16() {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32() {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32() {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64() {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  str() {
    const end = this.buf.indexOf(0, this.pos);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number) {
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

export class PgoutputReader {
  private relations = new Map<number, RelationInfo>();

  parse(buf: Buffer): PgoutputMessage {
    const r = new Reader(buf);
    const code = String.fromCharCode(r.u8());
    switch (code) {
      case 'B': {
        const commitLsn = lsnText(r.u64());
        const commitTimeUs = r.u64() + PG_EPOCH_US;
        return { tag: 'begin', commitLsn, commitTimeUs, xid: r.u32() };
      }
      case 'C': {
        r.u8(); // flags
        const commitLsn = lsnText(r.u64());
        const endLsn = lsnText(r.u64());
        return { tag: 'commit', commitLsn, endLsn, commitTimeUs: r.u64() + PG_EPOCH_US };
      }
      case 'R': {
        const id = r.u32();
        const schema = r.str();
        const name = r.str();
        r.u8(); // replica identity
        const n = r.i16();
        const columns: string[] = [];
        const keyColumns: string[] = [];
        for (let i = 0; i < n; i++) {
          const flags = r.u8();
          const column = r.str();
          columns.push(column);
          if (flags & 1) keyColumns.push(column);
          r.i32(); // type oid
          r.i32(); // type modifier
        }
        const relation = { id, schema, name, columns, keyColumns };
        this.relations.set(id, relation);
        return { tag: 'relation', relation };
      }
      case 'I': {
        const relation = this.relation(r.u32());
        r.u8(); // 'N'
        return { tag: 'insert', relation, new: this.tuple(r, relation) };
      }
      case 'U': {
        const relation = this.relation(r.u32());
        let kind = String.fromCharCode(r.u8());
        let old: TextRow | null = null;
        if (kind === 'K' || kind === 'O') {
          old = this.tuple(r, relation);
          if (kind === 'K') old = keyOnly(old, relation);
          kind = String.fromCharCode(r.u8());
        }
        if (kind !== 'N') throw new Error(`pgoutput: unexpected update part ${kind}`);
        // An unchanged TOASTed value is not sent again: with a full old row, it is the old one.
        return { tag: 'update', relation, old, new: this.tuple(r, relation, old) };
      }
      case 'D': {
        const relation = this.relation(r.u32());
        const kind = String.fromCharCode(r.u8());
        const old = this.tuple(r, relation);
        return { tag: 'delete', relation, old: kind === 'K' ? keyOnly(old, relation) : old };
      }
      case 'T': {
        const n = r.i32();
        r.u8(); // options
        const relations: RelationInfo[] = [];
        for (let i = 0; i < n; i++) relations.push(this.relation(r.u32()));
        return { tag: 'truncate', relations };
      }
      default:
        // Origin, Type, logical decoding Message: nothing the sync service uses.
        return { tag: 'other', code };
    }
  }

  private relation(id: number): RelationInfo {
    const rel = this.relations.get(id);
    if (!rel) throw new Error(`pgoutput: change for unknown relation ${id}`);
    return rel;
  }

  private tuple(r: Reader, rel: RelationInfo, unchangedFrom?: TextRow | null): TextRow {
    const n = r.i16();
    const row: TextRow = {};
    for (let i = 0; i < n; i++) {
      const name = rel.columns[i]!;
      const kind = String.fromCharCode(r.u8());
      if (kind === 'n') row[name] = null;
      else if (kind === 'u') row[name] = unchangedFrom?.[name];
      else if (kind === 't') row[name] = r.bytes(r.i32());
      else throw new Error(`pgoutput: unexpected value kind ${kind}`);
    }
    return row;
  }
}

/** A key-only old tuple carries NULL for every other column: those NULLs are not values. */
function keyOnly(row: TextRow, rel: RelationInfo): TextRow {
  const key: TextRow = {};
  for (const c of rel.keyColumns) key[c] = row[c];
  return key;
}

type Plugin = Parameters<LogicalReplicationService['subscribe']>[0];

/** The pgoutput plugin for LogicalReplicationService.subscribe, with text values. */
export function textPgoutputPlugin(publication: string): Plugin {
  const reader = new PgoutputReader();
  const plugin = {
    options: { publication },
    get name() {
      return 'pgoutput';
    },
    start(client: { query(sql: string): Promise<unknown> }, slotName: string, lastLsn: string) {
      const pub = publication.replace(/'/g, "''");
      const slot = slotName.replace(/"/g, '""');
      return client.query(
        `START_REPLICATION SLOT "${slot}" LOGICAL ${lastLsn} (proto_version '1', publication_names '${pub}')`,
      );
    },
    // A message that can't be read must not throw inside the connection's event handler.
    parse: (buffer: Buffer): PgoutputMessage => {
      try {
        return reader.parse(buffer);
      } catch (error) {
        return { tag: 'error', error: error as Error };
      }
    },
  };
  return plugin as unknown as Plugin;
}
