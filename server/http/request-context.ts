import type { SessionUser } from '../../src/lib/shared/roles.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The logged-in user, set by loadSession when the cookie holds a valid session. */
    user?: SessionUser;
    /** SHA-256 id of the current session. */
    sessionId?: string;
  }
}
export {};
