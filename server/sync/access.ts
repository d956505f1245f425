// The engine's access policy: everything it needs to know about who may see what. The engine
// itself knows no table: the app (server/clinic-sync/) and the standalone service
// (standalone-app.ts) each hand it one of these. Documented in docs/sync.md ("Modes").
import type { Request, RequestHandler } from 'express';
import type { ClientShapeLimitOptions } from './client-shape-limits.js';
import type { CachePolicy, ShapeRequest } from './protocol.js';
import type { DeliveredAnswer } from './serve.js';
import type { ShapeDef } from './shape-def.js';
import type { TableInfo } from './table-info.js';

/**
 * The tables a router serves: a list of `schema.table` names (others: 403, or 400 when they do
 * not exist), or every table the database role can read, added to the publication with
 * REPLICA IDENTITY FULL on its first request and resolved again on every request.
 */
export type TableScope = readonly string[] | 'any-readable';

/**
 * Records what is sent. Called before each answer that carries messages (`answer` set; if it
 * throws, nothing is sent) or, when forwarding to an upstream whose answers are not seen here,
 * once per request (`answer` undefined).
 */
export type ShapeAuditor = (answer: DeliveredAnswer | undefined) => Promise<void>;

export interface ShapeAccess {
  /**
   * Runs first on GET and POST /shape, before the request is parsed: answers the refusal
   * itself (401 with the caller's body) or calls next().
   */
  reader: RequestHandler;
  /** Runs first on DELETE /shape (dropping shapes is an administrator's act). */
  admin: RequestHandler;
  /**
   * The shape the request gets: the server's scope for the caller, narrowed by the client's
   * where/columns (shape-request.ts has the checks). Throws ShapeRequestError to refuse: 400
   * answers Electric's body naming the field, 403 goes to the error handler as `forbidden`.
   */
  authorize(req: Request, request: ShapeRequest, table: TableInfo): ShapeDef | Promise<ShapeDef>;
  /**
   * The rows a subset snapshot may read when they are wider than the shape's own (e.g. the
   * clinic's history before the appointment window, within every other rule of the role);
   * undefined: the shape's rows. The answer still names the shape's handle.
   */
  subsetScope?(req: Request, request: ShapeRequest, table: TableInfo, def: ShapeDef): ShapeDef | undefined;
  /** Added to every shape answer's Vary header (e.g. Cookie when answers depend on the session). */
  vary?: string;
  /** How answers of a shape may be cached: Electric's `public` headers when unset. */
  cache?(def: ShapeDef): CachePolicy;
  /**
   * The auditor of a request's answers, or undefined when nothing of it is recorded. For a
   * subset snapshot `def` is the scope it reads (subsetScope's, when given).
   */
  auditor?(req: Request, def: ShapeDef, request: ShapeRequest): ShapeAuditor | undefined;
  /**
   * Bounds on shapes clients narrow themselves, per caller (`caller` names them) and per table;
   * past them the answer is 429. Unset: no bounds.
   */
  limits?: ClientShapeLimitOptions & { caller(req: Request): string };
  /**
   * Ties a request to the caller's access: when the signal aborts (a session ended) a waiting
   * request answers 401 at once and no further change is sent. `release` when it is done.
   */
  track?(req: Request): { signal: AbortSignal; release(): void };
}
