// Errors that mean "the database cannot be reached right now" rather than "this request is
// wrong": the server answers them 503 database_unavailable with Retry-After, so clients (the
// device outbox) wait and retry instead of recording a failure.
import { sqlState } from './sqlstate.js';

/** Socket-level failures while connecting to or talking with PostgreSQL. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is going away or not there yet: class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or
 * shutting down), 53300 too_many_connections.
 */
const UNAVAILABLE_STATE = /^(08...|57P0[123]|53300)$/;

/** node-postgres reports a dropped or timed-out connection only in the message. */
const DRIVER_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
];

export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = sqlState(err);
  if (code && (NETWORK_CODES.has(code) || UNAVAILABLE_STATE.test(code))) return true;
  const message = err instanceof Error ? err.message : '';
  if (DRIVER_MESSAGES.some((m) => message.includes(m))) return true;
  // AggregateError (a connect to several addresses failing) and wrapped causes.
  const inner = (err as { errors?: unknown[]; cause?: unknown }).errors ?? [(err as { cause?: unknown }).cause];
  return inner.some((e) => e !== undefined && e !== err && isDatabaseUnavailable(e));
}

/** Seconds a client should wait before retrying while the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
