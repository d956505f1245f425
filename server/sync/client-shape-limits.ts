// Bounds on shapes that clients define themselves (their own where/columns on top of the role's
// shape). Each distinct definition costs a snapshot copy and a log in the database and memory
// in the service, so a user may keep only a few live at once, a table only so many in all, and
// such shapes expire after a short idle time (service.ts); the shared role shapes are not
// limited.
import { definitionKey, type ShapeDef } from './shape-def.js';
import type { ShapeRegistry } from './shape-registry.js';

export interface ClientShapeLimitOptions {
  perUser: number;
  perTable: number;
  /** A user's definition stops counting this long after its last request. */
  idleMs: number;
}

export class ClientShapeLimitError extends Error {
  constructor(
    readonly status: 429,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class ClientShapeLimits {
  /** userId → definition key → last request (ms). */
  private used = new Map<string, Map<string, number>>();

  constructor(private readonly opts: ClientShapeLimitOptions) {}

  /**
   * Records a user's request for a narrowed definition, or throws when it would be one too
   * many. A definition the user already has, or one that already exists for the table (shared
   * with another user), is always allowed for the table limit.
   */
  admit(userId: string, def: ShapeDef, registry: ShapeRegistry, now = Date.now()): void {
    if (!def.narrowed) return;
    const key = definitionKey(def);
    let mine = this.used.get(userId);
    if (!mine) this.used.set(userId, (mine = new Map()));
    // Only live shapes count: expired, deleted or never created (a 400) ones are forgotten.
    for (const [k, at] of mine) if (now - at > this.opts.idleMs || !registry.byDef.has(k)) mine.delete(k);
    if (!mine.has(key)) {
      if (mine.size >= this.opts.perUser) {
        throw new ClientShapeLimitError(
          429,
          'where',
          `You have ${mine.size} custom shapes in use, the most allowed; reuse one or wait for one to expire.`,
        );
      }
      if (!registry.byDef.has(key)) {
        const onTable = registry
          .all()
          .filter((s) => s.runtime.shape.narrowed && s.runtime.shape.table === def.table).length;
        if (onTable >= this.opts.perTable) {
          throw new ClientShapeLimitError(
            429,
            'where',
            `The table ${def.table} has ${onTable} custom shapes in use, the most allowed; try again later.`,
          );
        }
      }
    }
    mine.set(key, now);
  }
}
