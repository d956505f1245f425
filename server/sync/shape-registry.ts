// In-memory view of the shapes: handles, definitions, log positions and the live requests
// waiting on each. The durable truth is in PostgreSQL (store.ts); this is rebuilt from it.
import { randomBytes } from 'node:crypto';
import type { ReplicatedTransaction } from './replication.js';
import type { ShapeRuntime } from './convert.js';
import type { CompiledShape } from './shape-def.js';
import type { XidSnapshot } from './offsets.js';
import { ChangeRouter } from './change-routing.js';
import { newCompactionMarks, type CompactionMarks } from './compaction.js';

export interface ShapeState {
  id: number;
  handle: string;
  defKey: string;
  runtime: ShapeRuntime;
  status: 'creating' | 'ready' | 'deleted';
  /** Settles when the snapshot is stored (or failed). */
  ready: Promise<void>;
  /** Transactions processed while the snapshot was being taken. */
  pending: ReplicatedTransaction[];
  /** Snapshot visibility, applied until the stream has passed the snapshot's WAL position. */
  snapshotFilter?: { snapshot: XidSnapshot; untilLsn: bigint };
  snapshotRows: number;
  logRows: number;
  logBytes: number;
  lastLsn: bigint;
  lastOp: number;
  lastChangeAt: Date | null;
  waiters: Set<() => void>;
  liveRequests: number;
  /** Last request for it (ms; in memory, set to the load time after a restart). */
  lastUsedAt: number;
  /** Memo of reads at the log's current end, shared by the requests of one wake-up. */
  readCache: Map<string, Promise<unknown>>;
  /** Where the log was folded (compaction.ts). */
  compaction: CompactionMarks;
}

/** Electric-style handle: an opaque, never reused `<hash>-<µs timestamp>`. */
export function newHandle(): string {
  return `${randomBytes(4).readUInt32BE(0)}-${Date.now()}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
}

export function newShapeState(id: number, handle: string, defKey: string, shape: CompiledShape): ShapeState {
  return {
    id,
    handle,
    defKey,
    runtime: { shape, members: [], moveInFilters: new Map() },
    status: 'creating',
    ready: Promise.resolve(),
    pending: [],
    snapshotRows: 0,
    logRows: 0,
    logBytes: 0,
    lastLsn: 0n,
    lastOp: 0,
    lastChangeAt: null,
    waiters: new Set(),
    liveRequests: 0,
    lastUsedAt: Date.now(),
    readCache: new Map(),
    compaction: newCompactionMarks(),
  };
}

export class ShapeRegistry {
  readonly byId = new Map<number, ShapeState>();
  readonly byHandle = new Map<string, ShapeState>();
  /** The current handle of each definition. */
  readonly byDef = new Map<string, ShapeState>();
  /** Which shapes a replicated change can affect (change-routing.ts). */
  readonly router = new ChangeRouter<ShapeState>();

  add(s: ShapeState) {
    this.byId.set(s.id, s);
    this.byHandle.set(s.handle, s);
    this.byDef.set(s.defKey, s);
    this.router.add(s, s.runtime.shape);
  }

  /** A new handle for the shape; the old one keeps leading to it (compaction.ts). */
  rename(s: ShapeState, handle: string) {
    s.compaction.oldHandles.push(s.handle);
    s.handle = handle;
    this.byHandle.set(handle, s);
  }

  remove(s: ShapeState) {
    s.status = 'deleted';
    this.byId.delete(s.id);
    this.byHandle.delete(s.handle);
    for (const h of s.compaction.oldHandles) this.byHandle.delete(h);
    if (this.byDef.get(s.defKey) === s) this.byDef.delete(s.defKey);
    this.router.remove(s);
    this.wake(s);
  }

  /** Wakes every live request of the shape exactly once. */
  wake(s: ShapeState) {
    s.readCache.clear();
    const waiters = [...s.waiters];
    s.waiters.clear();
    for (const w of waiters) w();
  }

  all(): ShapeState[] {
    return [...this.byId.values()];
  }
}

/** Read through a function so TypeScript does not narrow the status across awaits. */
export function isDeleted(s: ShapeState): boolean {
  return s.status === 'deleted';
}
